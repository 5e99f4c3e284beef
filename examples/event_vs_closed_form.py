"""Where the event model and the closed form part (issue #23 item 6).

The closed form (simulator/hardware/engine.py closed_form) times a pipelined chip by its slowest
layer: that layer's windows divided among its copies, times one window's fetch, compute and
output transfers, nothing waiting for anything else. The event model runs the same windows with
the chip's shared resources: tile buffer ports, network links, converter groups, and input
buffers of bounded room (ISAAC-style line buffers sized to the layer, docs/hardware.md
"Execution"). This script runs two pipelined chips with replicas (sized `fit`, half the mapping's
arrays again for replicas) and asks the event model which resource class made the difference, by
running it again with each class made unlimited (engine.relieved): the class whose relief brings
the event model back to the closed form is the one.

1. ResNet-20 on seed 004's 32 x 32 design (hwconfigs/sparse_small.yaml), the chip of
   workloads/resnet20_cifar_sparse.yaml, with the share of tiles its k-means mapping places (261 of
   284): the whole network fits two tiles, whose 128 KB of eDRAM must hold every layer's line
   buffer and the skip connections' outputs; the two part.
2. VGG-16 dense on dense PRIME (hwconfigs/prime.yaml, 256 x 256): the two agree.

The mappings are grids of the lowered matrices (every tile full, or a seeded share of them), built
from the networks' shapes without a checkpoint or a mapping run.

    python examples/event_vs_closed_form.py [--images 4] [--json out.json]

Output: per case both times per image, the waits per resource class, the time per image with each
class relieved, and the class that made the difference (docs/hardware.md holds the figures).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from simulator.config.hardware import HardwareConfig
from simulator.config.loader import load_hardware
from simulator.hardware.chip.spec import chip_spec
from simulator.hardware.chip_model import Sizing, evaluate
from simulator.hardware.demand import LayerDemand
from simulator.hardware.engine import RELIEVABLE, WAIT_CLASSES, EngineResult, closed_form, relieved, simulate
from simulator.lowering.dataflow import Dataflow, dataflow
from simulator.lowering.layers import lower_network
from simulator.network.zoo import build_zoo_model

REPO = Path(__file__).resolve().parents[1]
AGREE = 1.05          # the event model within 5 % of the closed form: they agree


def grid_mapping(model_name: str, size: int, kept: float = 1.0, seed: int = 0) -> tuple[list[LayerDemand], Dataflow]:
    """A zoo network (CIFAR-10 shapes) as size x size tiles of its lowered matrices, `kept` of the
    tiles placed (seeded draw; 1: the dense mapping, reorder none), and its dataflow."""
    model = build_zoo_model(model_name, in_channels=3, num_classes=10, input_size=32)
    rng = np.random.default_rng(seed)
    demands = []
    for layer in lower_network(model, (3, 32, 32)):
        rows = [min(size, layer.rows - r) for r in range(0, layer.rows, size)]
        cols = [min(size, layer.cols - c) for c in range(0, layer.cols, size)]
        r = np.array([a for a in rows for _ in cols] * layer.groups, dtype=np.int64)
        c = np.array([b for _ in rows for b in cols] * layer.groups, dtype=np.int64)
        keep = rng.random(r.size) < kept if kept < 1.0 else np.ones(r.size, dtype=bool)
        keep[0] = True
        r, c = r[keep], c[keep]
        demands.append(LayerDemand(layer.name, layer.vectors, r, c, np.full(r.size, -1, np.int64),
                                   layer.rows * layer.groups, layer.cols * layer.groups, 0,
                                   macs=layer.macs, nonzeros=int((r * c).sum())))
    return demands, dataflow(model, (3, 32, 32))


def steady_interval_ns(result: EngineResult) -> float:
    """Mean time between finished images after the first two (the pipeline filling): replicas in
    bands can alternate long and short gaps, so one gap is not the rate."""
    done = result.image_done_ns
    gaps = np.diff(done[1:]) if len(done) > 2 else np.diff(done)
    return float(np.mean(gaps)) if gaps.size else float(done[0])


def study(demands: list[LayerDemand], flow: Dataflow, hw: HardwareConfig, *, size: int, budget: float = 0.5,
          images: int = 4) -> dict[str, Any]:
    """The chip pipelined with replicas: closed form, event model, waits, and each class relieved."""
    spec = replace(chip_spec(hw, size, cell_bits=hw.array.cell_bits), execution="pipelined")
    chip = evaluate(demands, flow, spec, encoding="two-column", weight_bits=8, packing=hw.array.packing,
                    polarity=hw.composition.polarity, r_on_ohm=hw.array.r_on_ohm, r_off_ohm=hw.array.r_off_ohm,
                    sizing=Sizing(policy="fit", replica_budget=budget), images=images)
    engine = chip.engine
    assert engine is not None
    sim = simulate(engine)
    event = steady_interval_ns(sim)
    closed = closed_form(engine).interval_ns
    relief = {}
    for resource in RELIEVABLE:
        case = relieved(engine, resource)
        relief[resource] = steady_interval_ns(simulate(case))
    # The class whose relief closes most of the gap made the difference (none where they agree).
    made = min(relief, key=lambda k: relief[k]) if event > AGREE * closed else None
    return {"chip": hw.name, "crossbar_size": size, "tiles": chip.tiles, "images": images,
            "replicas": chip.arrays_with_replicas - chip.arrays_mapped,
            "copies": {layer.name: layer.copies for layer in chip.layers if layer.copies > 1},
            "closed_form_interval_ns": closed, "event_interval_ns": event,
            "waits_ns": {k: sim.waits_ns[k] / images for k in WAIT_CLASSES},
            "relieved_interval_ns": relief, "made_the_difference": made,
            "gap_closed": (event - relief[made]) / (event - closed) if made is not None else 0.0}


CASES = (("ResNet-20", "resnet20", "sparse_small", 32, 261 / 284),
         ("VGG-16", "vgg16_bn", "prime", 256, 1.0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=4, help="images the event model runs (at least 3)")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    if args.images < 3:
        sys.exit(f"--images {args.images}: the steady-state interval needs at least 3 images")
    start = time.perf_counter()
    results = {}
    for title, model, chip, size, kept in CASES:
        hw = load_hardware(REPO / "hwconfigs" / f"{chip}.yaml")
        out = results[title] = study(*grid_mapping(model, size, kept), hw, size=size, images=args.images)
        print(f"## {title} / CIFAR-10 on {out['chip']} ({size}x{size} arrays, {out['tiles']} tiles, {kept:.0%} of the "
              f"grid's tiles), pipelined, fit with replica_budget 0.5: {out['replicas']} arrays of replicas "
              f"({', '.join(f'{k} x{v}' for k, v in out['copies'].items())})\n")
        print(f"time per image, closed form: {out['closed_form_interval_ns'] / 1e3:9.2f} us (slowest layer, no waits)")
        print(f"time per image, event model: {out['event_interval_ns'] / 1e3:9.2f} us "
              f"(mean gap after the first two of {out['images']} images)\n")
        print("| resource class | waits per image (us, summed over windows) | time per image with it unlimited (us) |")
        print("| --- | --- | --- |")
        for k in WAIT_CLASSES:
            relief = out["relieved_interval_ns"].get(k)
            print(f"| {k} | {out['waits_ns'][k] / 1e3:,.2f} | {'-' if relief is None else f'{relief / 1e3:,.2f}'} |")
        made = out["made_the_difference"]
        print(f"\nmade the difference: {made} (unlimited, it closes {out['gap_closed']:.0%} of the gap)\n" if made
              else f"\nthe two agree within {AGREE - 1:.0%}\n")
    print(f"{time.perf_counter() - start:.1f} s")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
