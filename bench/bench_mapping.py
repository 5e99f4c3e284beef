"""Tiling benchmark: tiles placed per strategy and crossbar size on globally pruned VGG masks.

    python bench/bench_mapping.py --models vgg16 --densities 0.01 --sizes 8 16 32 64 128 256 \
        --strategies best kmeans

Prints one table per (model, density): tiles placed per strategy and size, the lower bound, wall
time per strategy, and the process's peak resident memory.

Masks without trained networks: `simulator.pruning.synthetic.global_magnitude_masks` (its module
doc says why `--weights normal`, the default, redraws each layer from a normal law before global
magnitude pruning, and what `--weights init` gives instead).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import time

from simulator.mapping.bounds import lower_bound
from simulator.mapping.strategies import STRATEGY_NAMES, get_strategy
from simulator.mapping.tiles import check_tiling
from simulator.pruning.synthetic import WEIGHTS, LayerMask, global_magnitude_masks


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
