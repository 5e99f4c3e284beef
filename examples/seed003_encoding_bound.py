"""The bound the 1 : 5.2 stuck-off : stuck-on split puts on differential's gain over two-column
(seed 003's "almost an order of magnitude"; issue #15 item 5; derivation in docs/fidelity.md).

Differential (seed 003 IV.D) stores every cell at the mirrored level of two-column: a = L - b_two,
b = L - a_two (simulator/mapping/encoding.py), so the value a - b is the same and a stuck-off fault
of one is a stuck-on fault of the other. Differential at stuck-off : stuck-on = s0 : s1 is therefore
exactly two-column at s1 : s0. If a network's accuracy depends on its faults through an additive
damage D = p (s0 A + s1 B), with A the damage summed over the cells if each were stuck off and B if
stuck on, the tolerable rates p* are inversely proportional to D and

    G = p*_differential / p*_two-column = (s0 A + s1 B) / (s1 A + s0 B)  <=  s1 / s0 = 5.2,

equal to 5.2 only when A = 0 (every cell at level 0: nothing stored). This script measures A and B
on the placed tiles of the shipped networks of docs/faults.md (held weights and the
covered zeros, two-column levels), for three damage measures of one faulty cell at level l of
slice k (cells of w bits, L = 2^w - 1): a count (any change), the error |delta| 2^(k w) and its
square, and prints the predicted G beside the bound.

    python examples/seed003_encoding_bound.py --data-dir ../shared/data
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from simulator.config import load_workload
from simulator.data.load import input_shape, load_data
from simulator.mapping.encoding import get_encoding
from simulator.mapping.network import map_network
from simulator.mapping.quantize import quantize
from simulator.mapping.setup import MappingSetup
from simulator.preparation import prepare_network

REPO = Path(__file__).resolve().parents[1]
WORKLOADS = ("lenet5_mnist_sparse_1.8", "vgg11_narrow_cifar_sparse_4")
SPLIT = (1.0, 5.2)          # seed 003: stuck-off : stuck-on
MEASURED = {"lenet5_mnist_sparse_1.8": "about 4x (1-point drop)",
            "vgg11_narrow_cifar_sparse_4": "4.4x (1 point), 5.0x (5 points), 3.9x (10 points)"}


def damages(workload_name: str, data_dir: Path | None) -> dict[str, float]:
    """A and B (see the module docstring) over every cell of every placed tile, two-column levels."""
    workload = load_workload(REPO / "workloads" / f"{workload_name}.yaml")
    arrays = load_data(workload, data_dir)
    net = prepare_network(workload, arrays, progress=False, train=False)
    setup = MappingSetup.of(workload)
    mapped = map_network(net.model, input_shape(arrays), setup)
    two = get_encoding("two-column")
    top = 2 ** setup.cell_bits - 1
    out = {"cells": 0.0}
    for measure in ("count", "error", "squared"):
        out[f"A_{measure}"] = out[f"B_{measure}"] = 0.0
    for layer in mapped.layers:
        for matrix, group in zip(layer.matrices, layer.layout.groups):
            q = quantize(matrix, setup.weight_bits, per_column=setup.per_column).q
            for tile in group.tiles:
                sub = np.where(tile.held, q[np.ix_(tile.rows, tile.cols)], 0)
                levels = two.encode(sub, setup.weight_bits, setup.cell_bits).astype(np.float64)  # (P, S, r, c)
                weight = (2.0 ** (setup.cell_bits * np.arange(levels.shape[1])))[None, :, None, None]
                off, on = levels, top - levels            # |change| if the cell sticks at 0 / at L
                out["cells"] += levels.size
                out["A_count"] += float((off > 0).sum())
                out["B_count"] += float((on > 0).sum())
                out["A_error"] += float((off * weight).sum())
                out["B_error"] += float((on * weight).sum())
                out["A_squared"] += float(((off * weight) ** 2).sum())
                out["B_squared"] += float(((on * weight) ** 2).sum())
    return out


def gain(a: float, b: float, split: tuple[float, float] = SPLIT) -> float:
    s0, s1 = split[0] / sum(split), split[1] / sum(split)
    return (s0 * a + s1 * b) / (s1 * a + s0 * b)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    rows = []
    for name in WORKLOADS:
        d = damages(name, args.data_dir)
        row = {"network": name, "cells": int(d["cells"]), "bound s1/s0": SPLIT[1] / SPLIT[0]}
        for measure in ("count", "error", "squared"):
            row[f"A/B {measure}"] = d[f"A_{measure}"] / d[f"B_{measure}"]
            row[f"G {measure}"] = gain(d[f"A_{measure}"], d[f"B_{measure}"])
        row["measured (faults.md)"] = MEASURED[name]
        rows.append(row)
    print(pd.DataFrame(rows).to_markdown(index=False, floatfmt=".3g"))


if __name__ == "__main__":
    main()
