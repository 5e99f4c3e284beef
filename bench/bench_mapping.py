"""Tiling benchmark: tiles placed per strategy and crossbar size on globally pruned VGG masks.

    python bench/bench_mapping.py --models vgg16 --densities 0.01 --sizes 8 16 32 64 128 256 \
        --strategies best kmeans

Prints one table per (model, density): tiles placed per strategy and size, the lower bound, wall
time per strategy, and the process's peak resident memory.

Masks without trained networks (`global_magnitude_masks`): the zoo model is built after
`torch.manual_seed(seed)`, every Conv2d / Linear is lowered to its (R, C) matrices, and the
globally largest |w| are kept so that the density over all layers is d (seed 001: "global density
= 1 %"). `--weights init` ranks the zoo's initial weights as they are. Their Kaiming-uniform
bound shrinks as 1/sqrt(fan-in) and has no tail, so at 1-2 % global density every 4608 x 512 layer
of VGG16 comes out empty, unlike a trained network. `--weights normal` (the default) first redraws
each layer from a normal law with that layer's own standard deviation (seeded): the large layers
then keep the thin tail a trained network keeps. For VGG19 at 4 / 2 / 1 % this gives
conv13 densities 0.015 / 0.0036 / 0.0005 against seed 001's measured 0.025 / 0.008 / 0.0006
("VGG19-CIFAR10 ... Layer13 density"), where `init` gives 0 / 0 / 0. (`resim map --method
layerwise` takes the other way out: every layer at density d.)
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import time
from dataclasses import dataclass

import numpy as np

from simulator.mapping.bounds import lower_bound
from simulator.mapping.strategies import STRATEGY_NAMES, get_strategy
from simulator.mapping.tiles import check_tiling

WEIGHTS = ("normal", "init")


@dataclass(frozen=True)
class LayerMask:
    """One lowered weight matrix of a pruned network: its layer name and nonzero mask (R, C)."""

    name: str
    mask: np.ndarray


def layer_weights(model_name: str, seed: int = 0, weights: str = "normal") -> list[tuple[str, np.ndarray]]:
    """(layer name, W (R, C)) for every group of every Conv2d / Linear of a CIFAR-10 zoo model.

    `weights`: "init" keeps the zoo's initial weights (after `torch.manual_seed(seed)`);
    "normal" redraws each matrix from N(0, std of that layer's initial weights), seeded."""
    import torch

    from simulator.lowering.layers import lower_network, weight_matrices
    from simulator.network.zoo import build_zoo_model

    if weights not in WEIGHTS:
        raise ValueError(f"weights must be one of {WEIGHTS}, got {weights!r}")
    torch.manual_seed(seed)
    model = build_zoo_model(model_name, in_channels=3, num_classes=10, input_size=32)
    modules = dict(model.named_modules())
    generator = np.random.default_rng(seed)
    out = []
    for layer in lower_network(model, (3, 32, 32)):
        for matrix in weight_matrices(modules[layer.name]):
            if weights == "normal":
                matrix = generator.standard_normal(matrix.shape, dtype=np.float32) * matrix.std()
            out.append((layer.name, matrix))
    return out


def global_magnitude_masks(model_name: str, density: float, seed: int = 0,
                           weights: str = "normal") -> list[LayerMask]:
    """Masks keeping the round(d * total) largest |w| over all layers of the model (see module doc)."""
    if not 0 < density <= 1:
        raise ValueError(f"density must be in (0, 1], got {density}")
    layers = layer_weights(model_name, seed, weights)
    magnitudes = np.concatenate([np.abs(w).ravel() for _, w in layers])
    keep = max(1, round(density * magnitudes.size))
    threshold = np.partition(magnitudes, magnitudes.size - keep)[magnitudes.size - keep]
    return [LayerMask(name, np.abs(w) >= threshold) for name, w in layers]


def run_strategy(name: str, masks: list[LayerMask], size: int, seed: int, check: bool) -> tuple[int, float]:
    """Tiles placed by strategy `name` over all masks, and its wall time in seconds (the
    optional check_tiling is not timed)."""
    strategy = get_strategy(name)
    total, seconds = 0, 0.0
    for layer in masks:
        start = time.perf_counter()
        tiles = strategy.tile(layer.mask, size, seed)
        seconds += time.perf_counter() - start
        if check:
            check_tiling(layer.mask, tiles, size)
        total += len(tiles)
    return total, seconds


def peak_memory_mb() -> float:
    """Peak resident memory of this process in MB (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench(model: str, density: float, sizes: list[int], strategies: list[str], seed: int,
          weights: str, check: bool) -> None:
    """Print the table of one (model, density): tiles per strategy and size, bound, times."""
    masks = global_magnitude_masks(model, density, seed, weights)
    nonzeros = sum(int(m.mask.sum()) for m in masks)
    largest = max(masks, key=lambda m: m.mask.size)
    print(f"\n{model}, global density {density:g} ({weights} weights): {len(masks)} matrices, "
          f"{nonzeros} nonzeros, largest {largest.mask.shape} at density {largest.mask.mean():.4f}")
    header = ["strategy", *[f"N={n}" for n in sizes], "total", "seconds"]
    rows = [["lower bound", *[sum(lower_bound(m.mask, n) for m in masks) for n in sizes]]]
    rows[0] += [sum(rows[0][1:]), ""]
    for name in strategies:
        results = [run_strategy(name, masks, n, seed, check) for n in sizes]
        rows.append([name, *[tiles for tiles, _ in results], sum(t for t, _ in results),
                     " ".join(f"{s:.1f}" for _, s in results)])
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(cell).rjust(width) for cell, width in zip(row, widths)))
    print(f"peak memory: {peak_memory_mb():.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["vgg16"])
    parser.add_argument("--densities", nargs="+", type=float, default=[0.01])
    parser.add_argument("--sizes", nargs="+", type=int, default=[8, 16, 32, 64, 128, 256])
    parser.add_argument("--strategies", nargs="+", default=list(STRATEGY_NAMES), choices=STRATEGY_NAMES)
    parser.add_argument("--weights", choices=WEIGHTS, default="normal")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--check", action="store_true", help="also run check_tiling on every result")
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    for model in args.models:
        for density in args.densities:
            bench(model, density, args.sizes, args.strategies, args.seed, args.weights, args.check)


if __name__ == "__main__":
    main()
