"""What was missing from the chip (issue #23 item 5): the max-pool and activation units and the
input and output registers as components priced from ISAAC Table I, their events counted from the
network (pooling after a layer, activations per output, register bits per window), weight
programming apart from the per-inference figures, and the dead hardware keys rejected."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import simulator
from simulator.config.errors import ConfigError
from simulator.config.loader import load_hardware
from simulator.hardware.chip.spec import chip_spec
from simulator.hardware.chip_model import Sizing
from simulator.hardware.model import ChipSetup, evaluate
from simulator.lowering.dataflow import Dataflow, LayerGeometry
from simulator.lowering.layers import lower_network
from simulator.lowering.post_ops import post_layer_ops
from simulator.mapping.demand import LayerDemand, load_demands, save_demands
from simulator.report.model import HardwareSection, RunReport

REPO = Path(__file__).resolve().parents[1]
ISAAC = load_hardware(REPO / "hwconfigs" / "isaac.yaml")
PRIME = load_hardware(REPO / "hwconfigs" / "prime.yaml")
SMALL = load_hardware(REPO / "hwconfigs" / "sparse_small.yaml")
NEW = ("max_pool", "activation", "input_registers", "output_registers")


# Components against ISAAC Table I -------------------------------------------------------------


def test_new_components_derive_from_isaac_table_one() -> None:
    """Per tile (Table I): MaxPool 0.4 mW, 2 Sigmoid 0.52 mW, 12 IRs of 1.24 mW, 12 ORs of 0.23 mW and
    the tile's 1.68 mW OR; each at the file's stated rate, 20 % of it leakage (leakage_share)."""
    spec = chip_spec(ISAAC, 128)
    pool, act = spec.max_pool, spec.activation
    # One comparison / activation per clock of the 1.2 GHz tile: energy = power / rate.
    assert pool.compare_energy_pj() + pool.leakage_mw() / 1.2 == pytest.approx(0.4 / 1.2)
    assert pool.compare_energy_pj() == pytest.approx(0.8 * 0.4 / 1.2) and pool.leakage_mw() == pytest.approx(0.08)
    assert act.activate_energy_pj() + act.leakage_mw() / 1.2 == pytest.approx(0.26 / 1.2)
    # Registers: 1024 bits in and out per 100 ns per IMA x 12; outputs 1536 x 16 bits per 1.6 us.
    ir, out = spec.input_registers, spec.output_registers
    assert ir.bit_energy_pj() + ir.leakage_mw() / ir.bits_per_ns == pytest.approx(12 * 1.24 / (12 * 1024 / 100))
    assert ir.bit_energy_pj() / 0.8 == pytest.approx(0.121, rel=2e-3)        # the index registers' figure
    assert out.bit_energy_pj() + out.leakage_mw() / out.bits_per_ns == pytest.approx(
        (12 * 0.23 + 1.68) / (1536 * 16 / 1600))
    assert (pool.area_um2(), act.area_um2()) == (240.0, 300.0)
    assert (ir.area_um2(), out.area_um2()) == pytest.approx((12 * 2100.0, 12 * 770.0 + 3200.0))
    power = {k: v / spec.tiles for k, v in spec.full_activity_power_mw().items()}
    assert power["max_pool"] + power["activation"] + power["input_registers"] + power["output_registers"] == \
        pytest.approx(20.24)                                      # Table I's 20.29 mW less the tile S+A's 0.05
    rows = {c.name: c for c in spec.components()}
    assert [c.name for c in spec.components()][-4:] == list(NEW)
    assert (rows["max_pool"].instances, rows["activation"].instances) == (168, 336)
    assert spec.area_by_component_um2["input_registers"] == pytest.approx(168 * 25200.0)


def test_programming_energy_per_cell_is_mnsims_write_model() -> None:
    """MNSIM 2.0 Device.py: V = (0 + 3) / 2 V across sqrt(R_on R_off), for Write_Latency 10 ns."""
    prog = chip_spec(PRIME, 256).programming
    assert prog.cell_energy_pj() == pytest.approx(1.5 ** 2 / math.sqrt(1e3 * 20e3) * 10e-9 * 1e12)
    assert prog.array_time_ns(256) == pytest.approx(2560.0)


# Events from the network -----------------------------------------------------------------------


def cnn(pool: bool) -> nn.Module:
    layers: list[nn.Module] = [nn.Conv2d(1, 4, 3, padding=1), nn.ReLU()]
    if pool:
        layers.append(nn.MaxPool2d(2))
    layers += [nn.Flatten(), nn.Linear(4 * (4 if pool else 8) ** 2, 10)]
    return nn.Sequential(*layers)


def test_pooling_and_activations_are_counted_from_the_layer_geometry() -> None:
    """conv 4 x 8 x 8, ReLU, 2 x 2 max pool to 4 x 4: 4 x 16 x 3 comparisons, 256 activations,
    charged to the conv; the classifier has neither. Without the pool, no comparisons."""
    pooled = {layer.name: (layer.pool_ops, layer.activations) for layer in lower_network(cnn(True), (1, 8, 8))}
    plain = {layer.name: (layer.pool_ops, layer.activations) for layer in lower_network(cnn(False), (1, 8, 8))}
    assert pooled == {"0": (4 * 16 * 3, 4 * 64), "4": (0, 0)}
    assert plain == {"0": (0, 4 * 64), "3": (0, 0)}


@pytest.mark.parametrize(("pool", "size", "comparisons"), [
    # ceil mode, 5 x 5 to 3 x 3: windows of 4 4 2 / 4 4 2 / 2 2 1 elements, one comparison fewer each
    (nn.MaxPool2d(2, ceil_mode=True), 5, (3 + 3 + 1) * 2 + (1 + 1 + 0)),
    (nn.MaxPool2d(3, stride=1, padding=1), 4, None),
    (nn.AdaptiveAvgPool2d(1), 8, 63),
    (nn.AvgPool2d(2), 4, 4 * 3),
])
def test_pool_windows_count_only_elements_inside_the_map(pool: nn.Module, size: int, comparisons: int | None) -> None:
    model = nn.Sequential(nn.Conv2d(1, 1, 1), pool)
    counted = post_layer_ops(model, (1, size, size))["0"].pool_ops
    if comparisons is None:   # a 3 x 3 stride-1 pool with padding: each window's elements inside the map
        inside = [min(o + 1, size - 1) - max(o - 1, 0) + 1 for o in range(size)]
        comparisons = sum(inside) ** 2 - size * size
    assert counted == comparisons


def geometry(demand: LayerDemand) -> LayerGeometry:
    return LayerGeometry(demand.name, "linear", (1, 1), (demand.vectors, 1))


FIT = Sizing(policy="fit")


def run(demands: list[LayerDemand], hw=PRIME, size: int = 8, sizing: Sizing = FIT):
    flow = Dataflow(tuple(geometry(d) for d in demands), tuple((i - 1,) if i else () for i in range(len(demands))),
                    True)
    setup = ChipSetup(encoding="two-column", weight_bits=8, cell_bits=hw.array.cell_bits, size=size, sizing=sizing)
    return evaluate(demands, flow, hw, setup)


def layer(name: str, vectors: int, tiles: list[tuple[int, int]], pool_ops: int = 0, activations: int = 0):
    r = np.array([t[0] for t in tiles], dtype=np.int64)
    c = np.array([t[1] for t in tiles], dtype=np.int64)
    return LayerDemand(name, vectors, r, c, np.full(len(tiles), -1, np.int64), int(r.max()), int(c.sum()), 0,
                       macs=int(r.max() * c.sum()) * vectors, nonzeros=int((r * c).sum()),
                       pool_ops=pool_ops, activations=activations)


def test_the_chip_books_pooling_activation_and_register_events_by_hand_count() -> None:
    """PRIME at N = 8: two-column 8-bit weights in 4-bit cells, 4 arrays per tile, 6-bit inputs
    through 3-bit drivers in 2 phases. A 4 x 3 tile, 2 windows, 30 comparisons and 60 activations
    after it: input registers 4 arrays x 4 rows x 3 bits x 2 phases x 2 windows, halved since a
    polarity pair's two arrays share one input port (prime.yaml, PRIME Sec. III-A1), output
    registers 3 outputs x 6 bits x 2 windows."""
    result = run([layer("a", 2, [(4, 3)], pool_ops=30, activations=60)])
    rows = {c.component: c for c in result.components}
    assert rows["max_pool"].events == pytest.approx(30) and rows["activation"].events == pytest.approx(60)
    assert rows["input_registers"].events == pytest.approx(4 * 4 * 3 * 2 * 2 / 2)
    assert rows["output_registers"].events == pytest.approx(3 * 6 * 2)
    spec = chip_spec(PRIME, 8)
    assert rows["max_pool"].dynamic_pj == pytest.approx(30 * spec.max_pool.compare_energy_pj())
    for name in NEW:   # in the per-inference energy, dynamic and static, and in the area
        assert rows[name].dynamic_pj > 0 and rows[name].static_pj > 0 and rows[name].area_um2 > 0
    assert result.summary.energy_per_inference_pj == pytest.approx(sum(c.energy_pj for c in result.components))
    assert result.summary.area_mm2 == pytest.approx(sum(c.area_um2 for c in result.components) * 1e-6)
    layers = result.layers.set_index("layer")
    assert layers.loc["a", "pool_comparisons"] == pytest.approx(30)
    assert layers.loc["a", "energy_max_pool_pj"] == pytest.approx(rows["max_pool"].dynamic_pj)
    # Without pooling after it, the layer books no comparison.
    plain = {c.component: c for c in run([layer("a", 2, [(4, 3)], activations=60)]).components}
    assert plain["max_pool"].events == 0 and plain["max_pool"].dynamic_pj == 0


def test_programming_scales_with_the_placed_cells_and_stays_out_of_the_inference_energy() -> None:
    """Every placed cell of every copy is written once: 4 physical arrays of a 4 x 3 tile hold
    4 x 3 x 4 cells; twice the tiles, twice the cells and the energy."""
    one = run([layer("a", 2, [(4, 3)])]).summary
    two = run([layer("a", 2, [(4, 3), (4, 3)])]).summary
    cell_pj = chip_spec(PRIME, 8).programming.cell_energy_pj()
    assert one.programmed_cells == 4 * 3 * 4
    assert one.programming_energy_uj == pytest.approx(48 * cell_pj * 1e-6)
    assert two.programmed_cells == 2 * one.programmed_cells
    assert two.programming_energy_uj == pytest.approx(2 * one.programming_energy_uj)
    assert one.programming_time_ms == pytest.approx(4 * 4 * 10.0 * 1e-6)    # one tile: 4 arrays x 4 rows in turn
    assert two.programming_time_ms == pytest.approx(2 * one.programming_time_ms)
    # Replicas are programmed too; none of it is in the per-inference energy.
    replicated = run([layer("a", 64, [(4, 3)])], sizing=Sizing(policy="fit", replica_budget=1.0)).summary
    assert replicated.arrays_with_replicas > replicated.arrays_mapped
    assert replicated.programmed_cells == pytest.approx(
        48 * replicated.arrays_with_replicas / replicated.arrays_mapped)
    result = run([layer("a", 2, [(4, 3)])])
    assert "programming" not in {c.component for c in result.components}


def test_programming_time_is_the_busiest_tiles_rows() -> None:
    """Copies fill tiles in layer order; a tile writes its arrays one at a time, tiles at once: two
    copies of a (4 arrays of 4 rows) and one of b (4 of 3) on tiles of 4 arrays hold 16, 16 and 12
    rows -> 160 ns; on tiles of 8, a and b share one: 28 rows."""
    from dataclasses import replace

    from simulator.hardware.chip_model import plan_layer, programming_time_ns

    spec = replace(chip_spec(PRIME, 8), arrays_per_tile=4)
    plans = [plan_layer(layer(name, 1, [(rows, 3)]), spec, encoding="two-column", weight_bits=8,
                        packing="across-arrays", polarity="analog", r_on_ohm=1e3, r_off_ohm=20e3)
             for name, rows in (("a", 4), ("b", 3))]
    assert [list(p.array_rows) for p in plans] == [[4] * 4, [3] * 4]
    assert programming_time_ns(plans, [2, 1], spec) == pytest.approx(16 * 10.0)
    assert programming_time_ns(plans, [1, 2], spec) == pytest.approx(16 * 10.0)     # 4 4 4 4 | 3 3 3 3 | 3 3 3 3
    assert programming_time_ns(plans, [1, 1], replace(spec, arrays_per_tile=8)) == pytest.approx(28 * 10.0)


def test_demands_keep_pooling_and_activations_through_the_mapping_cache(tmp_path: Path) -> None:
    demands = [layer("a", 2, [(4, 3)], pool_ops=30, activations=60), layer("b", 1, [(3, 2)])]
    save_demands(tmp_path / "m.npz", demands, {})
    loaded = load_demands(tmp_path / "m.npz")
    assert [(d.pool_ops, d.activations) for d in loaded] == [(30, 60), (0, 0)]


# Reports ---------------------------------------------------------------------------------------


def test_report_json_carries_the_new_figures_per_chip() -> None:
    """report.json's chips (the workload's, the dense mapping's, the baseline's) are ChipSummary:
    programming beside the per-inference figures; their component tables list the new parts."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(4 * 8 * 8, 10))
    sim = simulator.simulate(model, (1, 16, 16), hardware="sparse_small", mapping={"crossbar_size": 32},
                             baseline="prime")
    data = sim.to_dict()
    for label, chip in data["chips"].items():
        assert chip["programming_energy_uj"] > 0 and chip["programming_time_ms"] > 0, label
        assert chip["programmed_cells"] > 0, label
        parts = {c["component"]: c for c in data["components"][label]}
        assert parts["max_pool"]["events"] == pytest.approx(4 * 64 * 3), label
        assert parts["activation"]["events"] == pytest.approx(4 * 256), label
        assert parts["input_registers"]["events"] > 0 and parts["output_registers"]["events"] > 0, label
    schema = str(RunReport.model_json_schema())
    assert all(key in schema for key in ("programming_energy_uj", "programming_time_ms", "programmed_cells"))
    # report.md: a line per chip.
    from simulator.report.markdown import programming_lines

    hardware = sim.hardware
    assert hardware is not None
    from simulator.report.model import OtherChip

    others = {label: OtherChip(summary=result.summary, components=result.components,
                               versus=hardware.workload.versus(result))
              for label, result in hardware.others().items()}
    section = HardwareSection(summary=hardware.workload.summary, components=hardware.workload.components,
                              timings={}, **others)
    lines = [line for line in programming_lines(section) if line.startswith("- ")]
    assert len(lines) == 3 and all(" uJ, " in line and line.endswith(" ms") for line in lines)
    from simulator.hardware.model import chip_facts

    assert any(name.startswith("weight programming") for name, _ in chip_facts(sim.chip))   # notebook summary


# Dead keys -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("block", "line"), [
    ("dac", "  leakage_mw: 0.0"), ("dac", "  energy_pj: 2.734"), ("dac", "  reference_columns: 128"),
    ("sample_hold", "  leakage_mw: 0.0"), ("bus", "  leakage_mw: 0.0"), ("network", "  area_um2: 37750.0"),
])
def test_keys_the_model_never_read_are_rejected(tmp_path: Path, block: str, line: str) -> None:
    """The v1 model's keys are gone from the schema: a file still carrying one is refused, naming it."""
    text = (REPO / "hwconfigs" / "prime.yaml").read_text()
    text = text.replace(f"\n{block}:\n", f"\n{block}:\n{line}\n", 1)
    path = tmp_path / "hw.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=f"{block}.{line.split(':')[0].strip()}"):
        load_hardware(path)


def test_adc_rate_is_needed_only_by_the_fixed_rule() -> None:
    with pytest.raises(ValueError, match="sample_rate_gsps"):
        SMALL.adc.model_validate({**SMALL.adc.model_dump(exclude={"source"}), "sample_rate_rule": "fixed"})
    assert SMALL.adc.sample_rate_gsps is None and chip_spec(SMALL, 32).adc.sample_rate_gsps > 0
