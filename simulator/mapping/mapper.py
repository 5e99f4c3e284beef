"""Mapping a network's weight matrices onto crossbar tiles (design.md, stage 4).

Per layer: quantize W to weight_bits (the programmed nonzero pattern is that of the quantized
weights), tile the nonzero mask of each group's (R, C) matrix with the chosen strategy, and record
tiles placed, the lower bound, index registers, tile utilisation and seed 001's row/column
segment counts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from simulator.mapping.bounds import dense_tiles, lower_bound
from simulator.mapping.index_registers import summarise
from simulator.mapping.quantize import programmed
from simulator.mapping.strategies import get_strategy
from simulator.mapping.tiles import Tile

# Strategies that keep the dense grid need no index registers for grid-aligned sides.
_GRID_STRATEGIES = {"none", "skip-empty"}


@dataclass
class MatrixMapping:
    """One (R, C) matrix on crossbars of size N by one strategy."""

    rows: int
    cols: int
    size: int
    strategy: str
    tiles: list[Tile]
    dense: int
    bound: int
    seconds: float
    registers: dict[str, int] = field(default_factory=dict)

    @property
    def placed(self) -> int:
        return len(self.tiles)

    def utilizations(self) -> np.ndarray:
        """Held nonzeros / N^2 of every placed tile (seed 004 Fig. 4)."""
        return np.array([t.nonzeros for t in self.tiles], dtype=float) / self.size**2


def grid_utilizations(mask: np.ndarray, size: int) -> np.ndarray:
    """Nonzeros / N^2 of every tile of the dense grid, without building tiles."""
    rows, cols = mask.shape
    pr, pc = -(-rows // size) * size, -(-cols // size) * size
    padded = np.zeros((pr, pc), dtype=bool)
    padded[:rows, :cols] = mask
    counts = padded.reshape(pr // size, size, pc // size, size).sum(axis=(1, 3))
    return counts.ravel() / size**2


def segment_counts(mask: np.ndarray, size: int) -> dict[str, int]:
    """Seed 001's nonzero columns / rows: column segments of N rows (and row segments of N
    columns) of the dense grid that hold a nonzero, with their totals."""
    rows, cols = mask.shape
    pr, pc = -(-rows // size) * size, -(-cols // size) * size
    padded = np.zeros((pr, pc), dtype=bool)
    padded[:rows, :cols] = mask
    col_segments = np.any(padded.reshape(pr // size, size, pc), axis=1)[:, :cols]
    row_segments = np.any(padded.reshape(pr, pc // size, size), axis=2)[:rows]
    return {"nz_cols": int(col_segments.sum()), "total_cols": int(col_segments.size),
            "nz_rows": int(row_segments.sum()), "total_rows": int(row_segments.size)}


def map_matrix(mask: np.ndarray, size: int, strategy: str, seed: int = 0) -> MatrixMapping:
    """Tile one boolean mask (rows = inputs) with `strategy`; time it."""
    mask = np.asarray(mask, dtype=bool)
    started = time.perf_counter()
    tiles = get_strategy(strategy).tile(mask, size, seed)
    seconds = time.perf_counter() - started
    rows, cols = mask.shape
    return MatrixMapping(rows, cols, size, strategy, tiles, dense_tiles(rows, cols, size),
                         lower_bound(mask, size), seconds,
                         summarise(tiles, rows, cols, dense_grid=strategy in _GRID_STRATEGIES))


@dataclass
class LayerMapping:
    """A layer's groups mapped; sums over groups."""

    name: str
    groups: list[MatrixMapping]
    segments: dict[str, int]
    flushed: int   # nonzero weights that quantized to zero (not programmed)
    grid_utilizations: np.ndarray   # held / N^2 of every dense-grid tile (the baseline of Fig. 4)
    scales: list[np.ndarray] = field(default_factory=list)   # quantization scale of each group matrix

    def total(self, attribute: str) -> int:
        return int(sum(getattr(g, attribute) for g in self.groups))

    def registers(self, key: str) -> int:
        return sum(g.registers.get(key, 0) for g in self.groups)


@dataclass(frozen=True)
class LayerQuantization:
    """A layer's group matrices quantized: the programmed nonzero masks, the scale of each group
    matrix (0-d, or (1, C) per output column) and the nonzero weights flushed to zero."""

    masks: list[np.ndarray]
    scales: list[np.ndarray]
    flushed: int


def quantize_layer(matrices: list[np.ndarray], weight_bits: int, per_column: bool = False) -> LayerQuantization:
    """Quantize a layer's group matrices with one scale per layer (shared by its groups) or one
    per output column."""
    if per_column:
        kept = [programmed(m, weight_bits, per_column=True) for m in matrices]
        return LayerQuantization([mask for mask, _, _ in kept], [scale for _, scale, _ in kept],
                                 sum(flushed for _, _, flushed in kept))
    stacked = np.concatenate([m.reshape(-1) for m in matrices])
    whole, scale, flushed = programmed(stacked, weight_bits)
    masks, start = [], 0
    for m in matrices:
        masks.append(whole[start:start + m.size].reshape(m.shape))
        start += m.size
    return LayerQuantization(masks, [scale] * len(matrices), flushed)


def programmed_masks(matrices: list[np.ndarray], weight_bits: int,
                     per_column: bool = False) -> tuple[list[np.ndarray], int]:
    """Nonzero masks after quantization (one scale per layer, or per output column), and how
    many nonzero weights it flushed to zero."""
    quantized = quantize_layer(matrices, weight_bits, per_column)
    return quantized.masks, quantized.flushed


def map_layer(name: str, matrices: list[np.ndarray], size: int, strategy: str, weight_bits: int,
              seed: int, per_column: bool = False) -> LayerMapping:
    """Map every group matrix of one layer (simulator.mapping.network.map_network calls it for
    each layer of a network)."""
    quantized = quantize_layer(matrices, weight_bits, per_column)
    groups = [map_matrix(mask, size, strategy, seed) for mask in quantized.masks]
    segments: dict[str, int] = {}
    for mask in quantized.masks:
        for key, value in segment_counts(mask, size).items():
            segments[key] = segments.get(key, 0) + value
    grid = np.concatenate([grid_utilizations(mask, size) for mask in quantized.masks])
    return LayerMapping(name, groups, segments, quantized.flushed, grid, quantized.scales)
