"""Seed 004's claims decomposed (Lin et al., ASP-DAC 2019, Sec. VI, Figs. 8-10; issue #15 item 3-4).

Seed 004 claims 3-5x energy efficiency and 2.5-6x speed-up over dense PRIME for sparse networks
mapped by k-means onto its 32x32-crossbar design, and that 32x32 is the best crossbar size (16x16
worse again). This script measures every claim on the cycle-level chip model, for every trained
network the project ships, and attributes the total factor to each design step.

Parts (`--parts`, default all):

- `sizing`: energy efficiency and speed-up over dense PRIME (hwconfigs/prime.yaml, 256x256, reorder
  none) of the sparse design (hwconfigs/sparse_small.yaml, 32x32, kmeans) for each sizing policy
  (`fixed`: the files' 128 tiles each, replicas fill both; `fit`: the fewest tiles; `iso-area`: the
  sparse chip gets dense PRIME's fit area and fills it with replicas, or does not fit) and mask kind
  (`trained`: the shipped checkpoint; `random`: uniform masks at each layer's trained density,
  simulator/pruning/synthetic.py random_mask; `channel`: whole input x output channels at each
  layer's density, synthetic.py channel_mask).
- `waterfall`: from dense PRIME to seed 004's design one change at a time, the factor after each:
  smaller arrays, tiles skipped by reordering, crossbar-grained pruning, 2-bit cells side by side,
  the composition tree, ADC sharing, index registers, replication into freed arrays, cycle time.
- `sensitivity`: the sparse design against dense PRIME (both `fit`) with one assumption changed on
  both chips at a time: the driver energy per drive, the ADC energy model, leakage_share,
  power_gating, the tree's energy, the read cycle.
- `fig8`: seed 004 Fig. 8, energy efficiency over dense PRIME against crossbar size at several
  densities, with the terms that move and two alternative driver / cycle assumptions.

    python examples/seed004_energy_speedup.py --data-dir ../shared/data \
        [--networks vgg16_sparse,...] [--parts sizing,waterfall,sensitivity,fig8] [--json out.json]

Output: Markdown tables on stdout; every figure in `--json` (written atomically). docs/fidelity.md
holds the output and what it means.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import sys
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from simulator.atomic import atomic_replace, write_text
from simulator.config import Workload, load_workload
from simulator.config.hardware import HardwareConfig
from simulator.config.loader import load_hardware
from simulator.data.datasets import Arrays
from simulator.data.load import input_shape, load_data
from simulator.hardware.chip_model import Sizing
from simulator.hardware.demand import LayerDemand, layer_demand
from simulator.hardware.model import ChipSetup, HardwareResult, evaluate
from simulator.hardware.placement import ChipTooSmall
from simulator.lowering.dataflow import Dataflow, dataflow
from simulator.lowering.layers import lower_network
from simulator.mapping.crossbar_pruning import crossbar_grained_prune
from simulator.mapping.network import map_lowered
from simulator.mapping.setup import MappingSetup
from simulator.network.tensors import tensors_of
from simulator.network.train import evaluate as accuracy
from simulator.preparation import prepare_network
from simulator.pruning.masks import Masks, full_masks, prunable
from simulator.pruning.synthetic import channel_mask, random_mask

REPO = Path(__file__).resolve().parents[1]
NETWORKS = ("vgg16_sparse", "lenet5_mnist_sparse", "resnet20_cifar_sparse", "vgg11_narrow_cifar_sparse_4",
            "vgg16_sparse_4", "vgg19_sparse", "vgg19_sparse_2", "resnet18_sparse", "alexnet_sparse")
FIG8_NETWORKS = ("vgg16_sparse", "vgg16_sparse_4", "vgg19_sparse", "vgg19_sparse_2")
MASK_KINDS = ("trained", "random", "channel")
POLICIES = ("fixed", "fit", "iso-area")
PARTS = ("sizing", "waterfall", "sensitivity", "fig8")
SMALL_N, PRIME_N = 32, 256
# Crossbar-grained pruning step of the waterfall: one step of seed 004 Sec. IV's procedure removing
# this share of the crossbar-row grains, without fine-tuning (a CPU cannot fine-tune VGG-16 here);
# the accuracy before and after is measured on the first ACCURACY_IMAGES test images.
CROSSBAR_PRUNE_FRACTION = 0.05
ACCURACY_IMAGES = 2000


# ----------------------------------------------------------------------------- hardware variants

def vary(hw: HardwareConfig, name: str | None = None, **changes: Any) -> HardwareConfig:
    """`hw` with top-level fields or blocks replaced, or (a dict) fields of a block: vary(hw,
    leakage_share=0.0), vary(hw, dac={"one_bit_energy_pj": 0.0}), vary(hw, composition=other.composition)."""
    update: dict[str, Any] = {}
    for key, value in changes.items():
        block = getattr(hw, key)
        update[key] = block.model_copy(update=value) if isinstance(value, dict) else value
    if name is not None:
        update["name"] = name
    return hw.model_copy(update=update)


PRIME = load_hardware(REPO / "hwconfigs" / "prime.yaml")
SMALL = load_hardware(REPO / "hwconfigs" / "sparse_small.yaml")
NO_REGISTERS = {"energy_pj_per_bit": 0.0, "area_um2_per_bit": 0.0}


def read_scaled_with_n(hw: HardwareConfig, size: int) -> HardwareConfig:
    """Assumption (seed 004's "faster time-cycle for smaller crossbar", no figure given): the read
    takes 100 ns x N / 256, as if the whole read were a line's RC settling, which grows with the
    line length (NeuroSim's bitline model says the settling does not grow with N when all rows are
    driven; no source gives a read time that falls with N)."""
    base = hw.array.read_latency_ns or hw.cycle_ns
    return vary(hw, array={"read_latency_model": "fixed", "read_latency_ns": base * size / PRIME_N})


def driver_scaled_with_n(hw: HardwareConfig, size: int) -> HardwareConfig:
    """resim v1's `reference_columns` rule: a drive costs ISAAC's 1-bit driver energy x N / 128, the
    driver's own energy growing with the wordline it drives (NVSim and NeuroSim V1.4 size the driver
    to its row; the shipped `neurosim-load` driver computes that growth from NeuroSim's formulas)."""
    scaled = (hw.dac.one_bit_energy_pj or 0.0) * size / 128
    return vary(hw, dac={"model": "isaac-constant", "one_bit_energy_pj": scaled})


def separate_pair(hw: HardwareConfig, size: int) -> HardwareConfig:
    """PRIME's positive and negative crossbars with drivers and sense amplifiers of their own, as
    resim's chip model had them before issue #23 (prime.yaml now shares them: PRIME Sec. III-A1)."""
    if hw.composition.pair_periphery != "shared":
        return hw
    return vary(hw, composition={"pair_periphery": "separate"})


# MNSIM 2.0's DAC table (MNSIM/Hardware_Model/DAC.py, "Data reference: ISAAC"): the 3-bit DAC draws
# 0.0156 mW for (3 + 2) ns per conversion at 1 GS/s = 0.078 pJ per drive, a quarter of that per
# 1-bit equivalent under Accelergy's x2-per-bit scaling.
MNSIM_DRIVER_ONE_BIT_PJ = 0.0156e-3 * 5e-9 / 4 * 1e12

# Each: (label, change applied to both chips, source of the alternative figure).
SENSITIVITY: list[tuple[str, Callable[[HardwareConfig, int], HardwareConfig], str]] = [
    ("as shipped", lambda hw, n: hw, "hwconfigs/*.yaml"),
    ("driver: ISAAC's 1.25 pJ per 3-bit drive at every N (chip model v2)",
     lambda hw, n: vary(hw, dac={"model": "isaac-constant"}),
     "ISAAC Table I 1-bit DAC x 4 (Accelergy IsaacDAC pow_base(2)), dac.model isaac-constant"),
    ("driver: MNSIM's 0.078 pJ per 3-bit drive",
     lambda hw, n: vary(hw, dac={"model": "isaac-constant", "one_bit_energy_pj": MNSIM_DRIVER_ONE_BIT_PJ}),
     "MNSIM 2.0 DAC.py: 0.0156 mW x (3 + 2) ns (ISAAC's 1-bit DAC x 4, over 5 ns, not 100 ns)"),
    ("driver: wordline C V^2 only",
     lambda hw, n: vary(hw, dac={"model": "isaac-constant", "one_bit_energy_pj": 0.0}),
     "NeuroSim V1.4 SubArray.cpp: a row costs capRow V^2 (wire and gates), no driver term"),
    ("driver: ISAAC's x N / 128", driver_scaled_with_n,
     "resim v1's reference_columns rule; the growth with N is NVSim's and NeuroSim V1.4's (SubArray.cpp)"),
    ("ADC: Accelergy's ISAAC table", lambda hw, n: vary(hw, adc={"energy_model": "table"}),
     "hwcomponents-library isaac.py L305-314 (6 b 1.20 pJ / 627 um^2, 8 b 1.67 pJ / 1200 um^2)"),
    ("leakage_share 0", lambda hw, n: vary(hw, leakage_share=0.0),
     "hwcomponents-library isaac.py: leakage 0 for every ISAAC component"),
    ("power_gating none", lambda hw, n: vary(hw, chip={"power_gating": "none"}),
     "ISAAC's Table I: every instance powered"),
    ("tree energy x 10", lambda hw, n: vary(hw, composition={"tree_energy_pj": hw.composition.tree_energy_pj * 10}),
     "no published figure (seed 004 Sec. V); a stress value"),
    ("read 100 ns x N / 256 (sparse chip)", lambda hw, n: read_scaled_with_n(hw, n) if n < PRIME_N else hw,
     "assumption, no source (seed 004: 'faster time-cycle for smaller crossbar')"),
    ("PRIME's polarity pair with periphery of its own", separate_pair,
     "against PRIME Sec. III-A1 (the two crossbars 'share the same input port'; 'a pair ... require one set "
     "of such peripheral circuits'), which prime.yaml follows: resim's reading before issue #23"),
    ("all favourable: driver C V^2 only, ADC table, leakage 0",
     lambda hw, n: vary(hw, dac={"model": "isaac-constant", "one_bit_energy_pj": 0.0}, adc={"energy_model": "table"},
                        leakage_share=0.0),
     "the most favourable published figures together"),
]


# ----------------------------------------------------------------------------- networks and masks

@dataclass
class Network:
    """One shipped workload's network with everything the hardware needs, and its mask variants."""

    name: str
    workload: Workload
    arrays: Arrays
    model: nn.Module
    shape: tuple[int, int, int]
    flow: Dataflow
    variants: dict[str, nn.Module] = field(default_factory=dict)
    demands: dict[tuple[str, int, str], list[LayerDemand]] = field(default_factory=dict)

    def density(self, model: nn.Module | None = None) -> float:
        layers = prunable(model or self.model)
        nonzero = sum(int((m.weight != 0).sum()) for m in layers.values())
        return nonzero / sum(m.weight.numel() for m in layers.values())


def load_network(name: str, data_dir: Path | None) -> Network:
    workload = load_workload(REPO / "workloads" / f"{name}.yaml")
    arrays = load_data(workload, data_dir)
    net = prepare_network(workload, arrays, progress=False, train=False)
    shape = input_shape(arrays)
    return Network(name, workload, arrays, net.model.eval(), shape, dataflow(net.model, shape))


def layer_rng(workload: Workload, kind: str, layer: str) -> np.random.Generator:
    """Seeded from the workload's seed, the mask kind and the layer (guide: seeded by the values)."""
    return np.random.default_rng([workload.config.seed, zlib.crc32(kind.encode()), zlib.crc32(layer.encode())])


def masked_variant(net: Network, kind: str) -> nn.Module:
    """The network with `kind` masks at each layer's trained density; kept weights get random signs
    and magnitudes in [0.5, 1] x the layer's largest, so quantization keeps every one of them (the
    hardware reads positions, not values)."""
    model = copy.deepcopy(net.model)
    with torch.no_grad():
        for name, module in prunable(model).items():
            weight = module.weight
            if getattr(module, "groups", 1) != 1:
                raise ValueError(f"{net.name}: {name} is a grouped layer; masks here are drawn per whole matrix")
            out = weight.shape[0]
            matrix_shape = (weight[0].numel(), out)            # (R, C): rows inputs, columns outputs
            density = float((weight != 0).sum()) / weight.numel()
            rng = layer_rng(net.workload, kind, name)
            if kind == "random":
                mask = random_mask(matrix_shape, density, rng)
            else:
                per_channel = int(np.prod(weight.shape[2:])) if weight.dim() > 2 else 1
                mask = channel_mask(matrix_shape, per_channel, density, rng)
            values = rng.uniform(0.5, 1.0, matrix_shape) * rng.choice([-1.0, 1.0], matrix_shape)
            scale = float(weight.abs().max()) or 1.0
            w = (mask * values * scale).T.reshape(weight.shape)
            weight.copy_(torch.as_tensor(w, dtype=weight.dtype))
    return model


def variant(net: Network, kind: str) -> nn.Module:
    if kind not in net.variants:
        net.variants[kind] = net.model if kind == "trained" else masked_variant(net, kind)
    return net.variants[kind]


def demands_of(net: Network, model_key: str, model: nn.Module, size: int, reorder: str) -> list[LayerDemand]:
    """The layer demands of `model` mapped at `size` by `reorder` (cached: they do not depend on the
    chip's cells or packing)."""
    key = (model_key, size, reorder)
    if key not in net.demands:
        setup = MappingSetup.of(net.workload, SMALL, size=size, reorder=reorder)
        mapped = map_lowered(model, lower_network(model, net.shape), setup)
        net.demands[key] = [layer_demand(layer, setup) for layer in mapped.layers]
    return net.demands[key]


def chip(net: Network, demands: list[LayerDemand], hw: HardwareConfig, size: int, sizing: Sizing) -> HardwareResult:
    mapping = net.workload.config.mapping
    cells = mapping.cell_bits_on(hw)
    setup = ChipSetup(encoding=mapping.encoding, weight_bits=mapping.weight_bits, cell_bits=cells, size=size,
                      sizing=sizing)
    return evaluate(demands, net.flow, hw, setup)


def baseline(net: Network, hw: HardwareConfig = PRIME, sizing: Sizing | None = None) -> HardwareResult:
    """Dense PRIME: the network at 256x256, reorder none."""
    return chip(net, demands_of(net, "trained", net.model, PRIME_N, "none"), hw, PRIME_N, sizing or Sizing("fit"))


def figures(result: HardwareResult, base: HardwareResult) -> dict[str, float]:
    s, versus = result.summary, result.versus(base)
    return {"energy_uj": s.energy_per_inference_pj / 1e6, "static_uj": s.static_energy_pj / 1e6,
            "time_us": s.per_image_ns / 1e3, "area_mm2": s.area_mm2, "tiles": s.tiles,
            "arrays_mapped": s.arrays_mapped, "arrays_with_replicas": s.arrays_with_replicas,
            "adc_bits": s.adc_bits, "cycle_ns": s.cycle_ns,
            "energy_efficiency": versus.energy_efficiency, "speedup": versus.speedup,
            "area_ratio": versus.area_ratio}


def component_energy(result: HardwareResult) -> dict[str, float]:
    """uJ per inference by component: dynamic, and all static energy together."""
    out = {f"{c.component}_dynamic_uj": c.dynamic_pj / 1e6 for c in result.components}
    out["static_uj"] = result.summary.static_energy_pj / 1e6
    return out


# ----------------------------------------------------------------------------- parts

def sizing_part(net: Network) -> list[dict[str, Any]]:
    """Energy efficiency and speed-up over dense PRIME per sizing policy and mask kind."""
    rows = []
    base_fit = baseline(net)
    for kind in MASK_KINDS:
        model = variant(net, kind)
        demands = demands_of(net, kind, model, SMALL_N, "kmeans")
        tiles = sum(d.tiles for d in demands)
        dense_tiles = sum(d.tiles for d in demands_of(net, "trained", net.model, SMALL_N, "none"))
        for policy in POLICIES:
            row: dict[str, Any] = {"network": net.name, "masks": kind, "sizing": policy, "density": net.density(model),
                                   "tiles placed": tiles, "tiles dense": dense_tiles}
            if policy == "fixed":
                base, sizing = baseline(net, sizing=Sizing("fixed")), Sizing("fixed")
            elif policy == "fit":
                base, sizing = base_fit, Sizing("fit")
            else:
                base, sizing = base_fit, Sizing("iso-area", area_um2=base_fit.summary.area_mm2 * 1e6)
            try:
                row.update(figures(chip(net, demands, SMALL, SMALL_N, sizing), base))
            except ChipTooSmall:
                fit = chip(net, demands, SMALL, SMALL_N, Sizing("fit"))
                row.update({"fits": False, "area_needed_ratio": fit.summary.area_mm2 / base.summary.area_mm2})
            rows.append(row)
    return rows


def crossbar_pruned(net: Network, setup: MappingSetup) -> tuple[nn.Module, dict[str, Any]]:
    """One step of seed 004 Sec. IV's crossbar-grained pruning on the network as `setup` maps it,
    without fine-tuning, and the test accuracy before and after (first ACCURACY_IMAGES images)."""
    model = copy.deepcopy(net.model)
    masks: Masks = {name: m.weight != 0 for name, m in prunable(model).items()} or full_masks(model)
    tensors = tensors_of(net.arrays)
    x, y = tensors.x_test[:ACCURACY_IMAGES], tensors.y_test[:ACCURACY_IMAGES]
    with torch.no_grad():
        before = accuracy(model, x, y)
        _, steps = crossbar_grained_prune(model, masks, net.shape, setup, step_fraction=CROSSBAR_PRUNE_FRACTION,
                                          max_steps=1)
        after = accuracy(model, x, y)
    last = steps[-1]
    return model, {"grains_removed": last.groups_removed, "params_pruned_fraction": last.params_pruned_fraction,
                   "tiles_before": steps[0].tiles_placed, "tiles_after": last.tiles_placed,
                   "accuracy_before": before, "accuracy_after": after, "images": len(y)}


def waterfall_part(net: Network) -> dict[str, Any]:
    """From dense PRIME to seed 004's design one change at a time (every chip `fit` but step 7)."""
    base = baseline(net)
    prime_small = vary(PRIME, "prime_at_32")
    free_registers = vary(prime_small, index_registers=NO_REGISTERS)
    small_cells = vary(free_registers, array={"cell_bits": SMALL.array.cell_bits, "packing": SMALL.array.packing})
    tree = vary(small_cells, composition=SMALL.composition,
                adc={"max_bits": SMALL.adc.max_bits, "bits": SMALL.adc.bits})
    # Chip model v3: sparse_small shares one ADC between adc.arrays_per_adc arrays (they contend).
    shared_adc = vary(tree, adc={"arrays_per_adc": SMALL.adc.arrays_per_adc})
    with_registers = vary(shared_adc, index_registers=SMALL.index_registers)
    dense_demands = demands_of(net, "trained", net.model, SMALL_N, "none")
    sparse_demands = demands_of(net, "trained", net.model, SMALL_N, "kmeans")
    setup = MappingSetup.of(net.workload, SMALL, size=SMALL_N, reorder="kmeans")
    pruned, prune_info = crossbar_pruned(net, setup)
    pruned_demands = demands_of(net, "crossbar_pruned", pruned, SMALL_N, "kmeans")
    # Freed arrays: the sparse design's chip sized for the dense mapping, the sparse mapping on it.
    dense_on_small = chip(net, dense_demands, SMALL, SMALL_N, Sizing("fit"))
    replicas_hw = vary(with_registers, chip={"tiles": dense_on_small.summary.tiles})
    fast = read_scaled_with_n(replicas_hw, SMALL_N)
    steps: list[tuple[str, Callable[[], HardwareResult]]] = [
        ("smaller arrays: PRIME rebuilt from 32x32 arrays, dense mapping",
         lambda: chip(net, dense_demands, prime_small, SMALL_N, Sizing("fit"))),
        ("tiles skipped by reordering (kmeans; index registers not yet charged)",
         lambda: chip(net, sparse_demands, free_registers, SMALL_N, Sizing("fit"))),
        (f"crossbar-grained pruning ({CROSSBAR_PRUNE_FRACTION:.0%} of the grains, one step, no fine-tuning)",
         lambda: chip(net, pruned_demands, free_registers, SMALL_N, Sizing("fit"))),
        ("2-bit cells, a weight's slices in adjacent columns",
         lambda: chip(net, pruned_demands, small_cells, SMALL_N, Sizing("fit"))),
        ("composition tree (one 8-bit conversion per composed value)",
         lambda: chip(net, pruned_demands, tree, SMALL_N, Sizing("fit"))),
        (f"ADC shared by {SMALL.adc.arrays_per_adc} arrays (sparse_small's adc.arrays_per_adc)",
         lambda: chip(net, pruned_demands, shared_adc, SMALL_N, Sizing("fit"))),
        ("index registers (seed 004's output-column registers): = sparse_small.yaml",
         lambda: chip(net, pruned_demands, with_registers, SMALL_N, Sizing("fit"))),
        ("replication into freed arrays (chip sized for the dense mapping)",
         lambda: chip(net, pruned_demands, replicas_hw, SMALL_N, Sizing("fixed"))),
        ("cycle time: read 100 ns x 32 / 256 = 12.5 ns (assumption)",
         lambda: chip(net, pruned_demands, fast, SMALL_N, Sizing("fixed"))),
    ]
    rows = [{"step": "dense PRIME (256x256, reorder none)", **figures(base, base), "step_energy": 1.0,
             "step_speed": 1.0, **component_energy(base)}]
    for label, run in steps:
        result = run()
        row = {"step": label, **figures(result, base), **component_energy(result)}
        row["step_energy"] = rows[-1]["energy_uj"] / row["energy_uj"]
        row["step_speed"] = rows[-1]["time_us"] / row["time_us"]
        rows.append(row)
    # The index-register step must land exactly on the shipped design: a check on the variants.
    shipped = chip(net, pruned_demands, SMALL, SMALL_N, Sizing("fit"))
    if not math.isclose(shipped.summary.energy_per_inference_pj, rows[SHIPPED_STEP]["energy_uj"] * 1e6, rel_tol=1e-9):
        raise AssertionError(f"{net.name}: the waterfall's variants do not add up to sparse_small.yaml")
    return {"network": net.name, "steps": rows, "crossbar_pruning": prune_info}


def sensitivity_part(net: Network) -> list[dict[str, Any]]:
    demands = demands_of(net, "trained", net.model, SMALL_N, "kmeans")
    rows = []
    for label, change, source in SENSITIVITY:
        base = baseline(net, change(PRIME, PRIME_N))
        result = chip(net, demands, change(SMALL, SMALL_N), SMALL_N, Sizing("fit"))
        rows.append({"network": net.name, "assumption": label, "source": source, **figures(result, base),
                     "prime_energy_uj": base.summary.energy_per_inference_pj / 1e6})
    return rows


def fig8_part(net: Network, sizes: list[int]) -> list[dict[str, Any]]:
    """Energy efficiency over dense PRIME against N (sparse_small rebuilt from N x N arrays, same
    cells per tile, kmeans, fit), with the terms that move and two alternative assumptions."""
    rows = []
    base = baseline(net)
    assumptions: list[tuple[str, Callable[[HardwareConfig, int], HardwareConfig]]] = [
        ("as shipped", lambda hw, n: hw), ("driver x N / 128", driver_scaled_with_n),
        ("read 100 ns x N / 256", read_scaled_with_n)]
    for n in sizes:
        sparse = demands_of(net, "trained", net.model, n, "kmeans")
        dense = demands_of(net, "trained", net.model, n, "none")
        for label, change in assumptions:
            result = chip(net, sparse, change(SMALL, n), n, Sizing("fit"))
            dense_result = chip(net, dense, change(SMALL, n), n, Sizing("fit"))
            energy = component_energy(result)
            rows.append({"network": net.name, "density": net.density(), "N": n, "assumption": label,
                         "tiles placed": sum(d.tiles for d in sparse), "tiles dense": sum(d.tiles for d in dense),
                         **figures(result, base), "vs dense same chip": result.versus(dense_result).energy_efficiency,
                         "dac_dynamic_uj": energy["dac_dynamic_uj"], "adc_dynamic_uj": energy["adc_dynamic_uj"]})
    return rows


# ----------------------------------------------------------------------------- output

def fig8_plot(rows: list[dict[str, Any]], path: Path) -> None:
    """Energy efficiency over dense PRIME against N, one line per network and assumption."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frame = pd.DataFrame(rows)
    labels = list(dict.fromkeys(frame["assumption"]))
    fig, axes = plt.subplots(1, len(labels), figsize=(4.2 * len(labels), 3.6), sharey=True)
    for ax, label in zip(np.atleast_1d(axes), labels):
        for network, group in frame[frame["assumption"] == label].groupby("network", sort=False):
            ax.plot(group["N"], group["energy_efficiency"], marker="o",
                    label=f"{network} ({group['density'].iloc[0]:.1%})")
        ax.set_xscale("log", base=2)
        ax.set_xticks(sorted(frame["N"].unique()), [str(n) for n in sorted(frame["N"].unique())])
        ax.axhline(1.0, color="grey", lw=0.8, ls=":")
        ax.set_title(label)
        ax.set_xlabel("crossbar size N")
    np.atleast_1d(axes)[0].set_ylabel("energy efficiency over dense PRIME")
    np.atleast_1d(axes)[0].legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_replace(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


def table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    frame = pd.DataFrame(rows)
    present = [c for c in columns if c in frame.columns]
    return frame[present].to_markdown(index=False, floatfmt=".3g")


SHORT_STEPS = ("dense PRIME", "smaller arrays", "reordering", "crossbar pruning", "2-bit cells", "tree",
               "ADC sharing", "index registers", "replication", "cycle time")
SHIPPED_STEP = SHORT_STEPS.index("index registers")   # the step that lands on sparse_small.yaml


def summaries(out: dict[str, Any]) -> str:
    """The condensed tables of docs/fidelity.md: one row per network (and mask kind, or assumption)."""
    parts = []
    if out["sizing"]:
        rows: dict[tuple[str, str], dict[str, Any]] = {}
        for r in out["sizing"]:
            row = rows.setdefault((r["network"], r["masks"]), {"network": r["network"], "masks": r["masks"],
                                                                "tiles placed / dense": f"{r['tiles placed']} / "
                                                                                        f"{r['tiles dense']}"})
            if r.get("fits", True) is False or "energy_efficiency" not in r:
                row[r["sizing"]] = f"does not fit ({r['area_needed_ratio']:.2f}x area)"
            else:
                row[r["sizing"]] = (f"{r['energy_efficiency']:.2f}x / {r['speedup']:.2f}x "
                                    f"({r['area_ratio']:.2f}x area)")
        parts.append("Energy efficiency / speed-up over dense PRIME (sparse chip's area over PRIME's):\n\n"
                     + pd.DataFrame(rows.values()).to_markdown(index=False))
    if out["waterfall"]:
        frame = {}
        for fall in out["waterfall"]:
            steps = fall["steps"]
            # Found by its label, so that a --from-json of an earlier run (chip model v2's waterfall
            # had no ADC-sharing step) still prints.
            shipped = next(i for i, s in enumerate(steps) if s["step"].endswith("= sparse_small.yaml"))
            frame[fall["network"]] = [f"{s['step_energy']:.2f} / {s['step_speed']:.2f}" for s in steps[1:]] + [
                f"{steps[shipped]['energy_efficiency']:.2f} / {steps[shipped]['speedup']:.2f}",
                f"{steps[-1]['energy_efficiency']:.2f} / {steps[-1]['speedup']:.2f} "
                f"({steps[-1]['area_ratio']:.1f}x area)"]
        first = out["waterfall"][0]["steps"]
        names = SHORT_STEPS if len(first) == len(SHORT_STEPS) else [s["step"].split(" (")[0] for s in first]
        index = list(names[1:]) + ["= sparse_small, fit (total)", "all steps (total)"]
        parts.append("Waterfall, factor of each step on energy efficiency / speed-up:\n\n"
                     + pd.DataFrame(frame, index=index).to_markdown())
    if out["sensitivity"]:
        frame_s = pd.DataFrame(out["sensitivity"])
        cell = frame_s.apply(lambda r: f"{r['energy_efficiency']:.2f}", axis=1)
        pivot = frame_s.assign(cell=cell).pivot(index="assumption", columns="network", values="cell")
        pivot = pivot.loc[list(dict.fromkeys(frame_s["assumption"]))][list(dict.fromkeys(frame_s["network"]))]
        parts.append("Energy efficiency over dense PRIME (both fit) with one assumption changed:\n\n"
                     + pivot.to_markdown())
    if out["fig8"]:
        frame_f = pd.DataFrame(out["fig8"])
        frame_f["curve"] = frame_f["network"] + ", " + frame_f["assumption"]
        pivot = frame_f.pivot(index="curve", columns="N", values="energy_efficiency")
        pivot = pivot.loc[list(dict.fromkeys(frame_f["curve"]))]
        parts.append("Seed 004 Fig. 8, energy efficiency over dense PRIME against N:\n\n"
                     + pivot.to_markdown(floatfmt=".3f"))
    return "\n\n".join(parts)


def report(out: dict[str, Any]) -> None:
    if out["sizing"]:
        print("Sparse design (sparse_small, 32x32, kmeans) over dense PRIME, by sizing policy and mask kind:\n")
        print(table(out["sizing"], ["network", "masks", "sizing", "density", "tiles placed", "tiles dense", "tiles",
                                    "energy_efficiency", "speedup", "area_ratio", "fits", "area_needed_ratio"]))
    for fall in out["waterfall"]:
        info = fall["crossbar_pruning"]
        print(f"\nWaterfall, {fall['network']} (crossbar pruning: {info['tiles_before']} -> "
              f"{info['tiles_after']} tiles, accuracy {info['accuracy_before']:.2%} -> "
              f"{info['accuracy_after']:.2%} on {info['images']} images):\n")
        print(table(fall["steps"], ["step", "energy_uj", "time_us", "area_mm2", "step_energy", "step_speed",
                                    "energy_efficiency", "speedup", "area_ratio"]))
    if out["sensitivity"]:
        print("\nSensitivity (both chips fit, one assumption changed on both):\n")
        print(table(out["sensitivity"], ["network", "assumption", "energy_uj", "prime_energy_uj",
                                         "energy_efficiency", "speedup", "area_ratio"]))
    if out["fig8"]:
        print("\nSeed 004 Fig. 8: energy efficiency over dense PRIME against crossbar size:\n")
        print(table(out["fig8"], ["network", "density", "assumption", "N", "tiles placed", "tiles dense",
                                  "energy_uj", "dac_dynamic_uj", "adc_dynamic_uj", "static_uj", "energy_efficiency",
                                  "speedup", "vs dense same chip"]))
    print("\n## Summary\n")
    print(summaries(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--networks", default=",".join(NETWORKS))
    parser.add_argument("--parts", default=",".join(PARTS))
    parser.add_argument("--sizes", default="16,32,64,128,256", help="crossbar sizes of the fig8 part")
    parser.add_argument("--json", type=Path, default=None, help="write every figure here (atomically)")
    parser.add_argument("--plot", type=Path, default=None, help="write the fig8 part's figure here (PNG)")
    parser.add_argument("--from-json", type=Path, default=None,
                        help="print (and plot) the figures of an earlier run's --json instead of running")
    args = parser.parse_args()
    if args.from_json is not None:
        out = json.loads(args.from_json.read_text())
        if out["fig8"] and args.plot:
            fig8_plot(out["fig8"], args.plot)
        report(out)
        return
    parts = args.parts.split(",")
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        parser.error(f"--parts: unknown {', '.join(unknown)}; allowed: {', '.join(PARTS)}")
    sizes = [int(s) for s in args.sizes.split(",")]
    torch.set_num_threads(1)
    out: dict[str, Any] = {"sizing": [], "waterfall": [], "sensitivity": [], "fig8": [], "seconds": {}}
    for name in args.networks.split(","):
        clock = time.perf_counter()
        net = load_network(name, args.data_dir)
        if "sizing" in parts:
            out["sizing"] += sizing_part(net)
        if "waterfall" in parts:
            out["waterfall"].append(waterfall_part(net))
        if "sensitivity" in parts:
            out["sensitivity"] += sensitivity_part(net)
        if "fig8" in parts and name in FIG8_NETWORKS:
            out["fig8"] += fig8_part(net, sizes)
        out["seconds"][name] = time.perf_counter() - clock
        print(f"{name}: {out['seconds'][name]:.0f} s", file=sys.stderr, flush=True)
        if args.json:
            write_text(args.json, json.dumps(out, indent=1, default=float))
    if out["fig8"] and args.plot:
        fig8_plot(out["fig8"], args.plot)
    report(out)


if __name__ == "__main__":
    main()
