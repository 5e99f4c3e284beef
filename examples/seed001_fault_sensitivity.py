"""Seed 001's stuck-at-fault observations on LeNet-5 / MNIST, reproduced or refuted with numbers.

Seed 001 (slides "SAF and CNN", "Apply SAF to the sparse networks"; seed 000 "SAF and CNN")
quantizes every weight to 16 bits and sets bits stuck. Here that is the cell model with 16-bit
weights in 1-bit cells (design.md "Words and conventions"), mapped on 128 x 128 tiles with
skip-empty, as the shipped workloads map. Three questions:

(a) "For both VGG11 and Lenet5, the first layer is less sensitive to bit error": faults in one
    layer at a time (the fault model's only_layers), every bit, stuck-off : stuck-on = 1 : 5.2.
(b) "The test accuracy will become random guess even for only 5 percentage of weights are stuck at
    fault for a particular layer" (the slides' fault being "Set q% of weights' the most significant
    bit as 1"): the top slice stuck-on (fault ratio 0:1, slice_index) at the cell rate that
    leaves 5 % of the layer's weight positions with a stuck most significant bit.
(c) "For vgg11 the sparse network, resistance to faults is similar to network without pruning when
    bit is stuck at 0. But it become more sensitive when bit is stuck at 1" (LeNet5: "similar to
    network without pruning"); seed 000: "sparse networks are much more sensitive to SAF faults
    than dense network": all layers, stuck-at-1 only vs stuck-at-0 only, dense vs the shipped 1.8 %
    network. Seed 001 injected faults "to remaining weights" of the sparse network only; on a chip
    the pruned positions inside a placed tile are cells too. Both are measured: "chip" (every cell
    of every placed tile) and "remaining" (the cells of held weights only).

Every configuration uses the same fault draws, run k seeded (seed, k), so differences between
layers, networks and kinds are not draw noise. Run (about 10 minutes on one core):

    python examples/seed001_fault_sensitivity.py --data-dir ../shared/data

Writes <out>/seed001_fault_sensitivity.csv (one row per configuration) and prints the tables that
examples/README.md records.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from simulator.atomic import write_text
from simulator.config import load_workload
from simulator.data.load import input_shape, load_data
from simulator.faults.cells import FaultRates
from simulator.faults.montecarlo import Draw, DrawPlan, accuracy, chip_weights, fault_maps
from simulator.mapping.encoding import get_encoding
from simulator.mapping.network import map_network
from simulator.mapping.setup import MappingSetup
from simulator.network.tensors import tensors_of
from simulator.preparation import prepare_network
from simulator.report.results import markdown_table

REPO = Path(__file__).resolve().parents[1]
WORKLOADS = {"dense": REPO / "workloads" / "lenet5_mnist.yaml",
             "sparse 1.8 %": REPO / "workloads" / "lenet5_mnist_sparse_1.8.yaml"}
WEIGHT_BITS, CELL_BITS, SIZE, STRATEGY = 16, 1, 128, "skip-empty"  # seed 001: 16-bit weights
SEED_003_SPLIT = (1.0, 5.2)
STUCK_AT_1, STUCK_AT_0 = (0.0, 1.0), (1.0, 0.0)


def msb_rate(encoding: str, share: float) -> float:
    """Cell rate that leaves ``share`` of the weight positions with a stuck top slice: the
    polarity encodings have one top cell per polarity, so a position has two chances."""
    polarities = get_encoding(encoding).polarities
    return 1.0 - (1.0 - share) ** (1.0 / polarities)


def top_slice(encoding: str) -> int:
    """Index of the most significant slice: 14 for 16-bit sign-magnitude, 15 for offset's code."""
    return get_encoding(encoding).slices(WEIGHT_BITS, CELL_BITS) - 1


class Network:
    """A trained LeNet-5, its tiles and the test set."""

    def __init__(self, label: str, workload: Path, data_dir: Path | None):
        self.label = label
        self.workload = load_workload(workload)
        arrays = load_data(self.workload, data_dir)
        self.model = prepare_network(self.workload, arrays).model
        self.data = tensors_of(arrays)
        setup = dataclasses.replace(MappingSetup.of(self.workload, size=SIZE, reorder=STRATEGY),
                                    weight_bits=WEIGHT_BITS, cell_bits=CELL_BITS, per_column=False)
        self.layers = map_network(self.model, input_shape(arrays), setup)
        self.names = self.layers.names
        self.work = copy.deepcopy(self.model)

    def accuracy_under(self, *, encoding: str, rate: float, split: tuple[float, float], runs: int, seed: int,
                       only: str | None = None, slice_index: int | None = None,
                       remaining_only: bool = False) -> list[float]:
        """Test accuracy of every draw; ``only`` confines faults to one layer, ``remaining_only``
        drops the stuck cells of positions that hold no weight (seed 001's injection)."""
        multipliers = {name: float(only is None or name == only) for name in self.names}
        modules = dict(self.work.named_modules())
        out = []
        for run in range(runs):
            maps = fault_maps(self.layers, Draw(encoding, FaultRates.from_total(rate, split),
                                                np.random.default_rng([seed, run])),
                              DrawPlan(slice_index, multipliers))
            if remaining_only:
                maps = {name: [dataclasses.replace(m, offset=np.zeros_like(m.offset)) for m in group]
                        for name, group in maps.items()}
            weights = chip_weights(self.layers, maps, {n: modules[n].weight for n in self.names})
            with torch.no_grad():
                for name, weight in weights.items():
                    modules[name].weight.copy_(weight)
            out.append(accuracy(self.work, self.data.x_test, self.data.y_test, 1000))
        with torch.no_grad():
            self.work.load_state_dict(self.model.state_dict())
        return out


def study(networks: list[Network], runs: int, seed: int) -> pd.DataFrame:
    """Every configuration of (a), (b) and (c): one row each with mean and std over the draws."""
    from rich.progress import Progress

    plans = []
    for net in networks:
        plans.append(("clean", net, {"encoding": "two-column", "rate": 0.0, "split": SEED_003_SPLIT}, 1))
        for layer in net.names:
            for rate in (1e-3, 1e-2):
                options = {"encoding": "two-column", "rate": rate, "split": SEED_003_SPLIT, "only": layer}
                plans.append(("a", net, options, runs))
            for encoding in ("two-column", "offset"):
                plans.append(("b", net, {"encoding": encoding, "rate": msb_rate(encoding, 0.05), "split": STUCK_AT_1,
                                         "only": layer, "slice_index": top_slice(encoding)}, runs))
        for encoding in ("two-column", "differential"):
            for rate in (1e-3, 1e-2):
                for split in (STUCK_AT_1, STUCK_AT_0):
                    for remaining in ((False, True) if net.label != "dense" else (False,)):
                        plans.append(("c", net, {"encoding": encoding, "rate": rate, "split": split,
                                                 "remaining_only": remaining}, runs))
    rows = []
    with Progress() as bar:
        task = bar.add_task("fault draws", total=sum(n for *_, n in plans))
        for part, net, config, n in plans:
            accuracies = net.accuracy_under(runs=n, seed=seed, **config)
            bar.advance(task, n)
            rows.append({"part": part, "network": net.label, "encoding": config["encoding"],
                         "layer": config.get("only") or "all", "rate": config["rate"],
                         "stuck": {STUCK_AT_1: "at-1", STUCK_AT_0: "at-0"}.get(config["split"], "1:5.2"),
                         "slice": config.get("slice_index"),
                         "cells": "remaining" if config.get("remaining_only") else "chip",
                         "runs": n, "mean": float(np.mean(accuracies)),
                         "std": float(np.std(accuracies, ddof=1)) if n > 1 else 0.0})
    return pd.DataFrame(rows)


def percent(series: pd.Series) -> pd.Series:
    return series.map(lambda v: f"{100 * v:.2f}%")


def tables(results: pd.DataFrame) -> str:
    """The three Markdown tables of examples/README.md."""
    out = []
    clean = results[results["part"] == "clean"].set_index("network")["mean"]
    out.append("Fault-free accuracy at 16-bit weights: " + ", ".join(f"{k} {100 * v:.2f} %" for k, v in clean.items()))
    a = results[results["part"] == "a"].copy()
    a["column"] = a["network"] + ", rate " + a["rate"].map(lambda r: f"{r:g}")
    out += ["", "(a) faults in one layer only, every bit, stuck-off : stuck-on = 1 : 5.2, two-column:", "",
            markdown_table(a.pivot(index="layer", columns="column", values="mean").pipe(
                lambda t: t.apply(percent)).reindex(a["layer"].unique()).reset_index())]
    b = results[results["part"] == "b"].copy()
    b["column"] = b["network"] + ", " + b["encoding"]
    out += ["", "(b) most significant bit stuck at 1 in 5 % of one layer's weight positions (chance = 10 %):", "",
            markdown_table(b.pivot(index="layer", columns="column", values="mean").pipe(
                lambda t: t.apply(percent)).reindex(b["layer"].unique()).reset_index())]
    c = results[results["part"] == "c"].copy()
    c["column"] = c["network"] + " (" + c["cells"] + ")"
    c["row"] = c["encoding"] + ", stuck-" + c["stuck"] + ", rate " + c["rate"].map(lambda r: f"{r:g}")
    out += ["", ("(c) faults in every layer, one kind only; dense vs sparse (chip: every cell of the placed "
                 "tiles; remaining: held weights' cells only, seed 001's injection):"), "",
            markdown_table(c.pivot(index="row", columns="column", values="mean").pipe(
                lambda t: t.apply(percent)).reindex(c["row"].unique()).reset_index())]
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="Data directory (else RESIM_DATA, ~/.cache/resim/data)"
    )
    parser.add_argument("--runs", type=int, default=10, help="Fault draws per configuration")
    parser.add_argument("--seed", type=int, default=0, help="Seed of the fault draws")
    parser.add_argument("--out", type=Path, default=REPO / "results" / "seed001_fault_sensitivity")
    args = parser.parse_args()
    if args.runs < 2:
        parser.error("--runs must be at least 2 (the tables give a mean over draws)")
    torch.set_num_threads(1)
    networks = [Network(label, path, args.data_dir) for label, path in WORKLOADS.items()]
    results = study(networks, args.runs, args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    write_text(args.out / "seed001_fault_sensitivity.csv", results.to_csv(index=False))
    print(tables(results))
    print(f"\nrates: (b) two-column {msb_rate('two-column', 0.05):.5f} per top cell, offset "
          f"{msb_rate('offset', 0.05):.5f}; {args.runs} draws per configuration; {args.out}")


if __name__ == "__main__":
    main()
