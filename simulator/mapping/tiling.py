"""Dense tiling of weight matrices into N x N logical tiles (design.md, "logical tile").

Only the two trivial strategies live here for now: `none` places every dense tile, `skip-empty`
places only tiles holding a nonzero. Reordering strategies come with the mapping stage (#4).
"""

from __future__ import annotations

import math

import numpy as np

from simulator.mapping.encoding import get_encoding


def dense_tile_count(rows: int, cols: int, size: int) -> int:
    """ceil(R/N) * ceil(C/N): tiles of a dense mapping of one (R, C) matrix."""
    return math.ceil(rows / size) * math.ceil(cols / size)


def nonempty_tile_count(matrix: np.ndarray, size: int) -> int:
    """Tiles of the dense grid that hold at least one nonzero."""
    rows, cols = matrix.shape
    pad = np.zeros((math.ceil(rows / size) * size, math.ceil(cols / size) * size), dtype=bool)
    pad[:rows, :cols] = matrix != 0
    blocks = pad.reshape(pad.shape[0] // size, size, pad.shape[1] // size, size)
    return int(blocks.any(axis=(1, 3)).sum())


def placed_tiles(matrix: np.ndarray, size: int, reorder: str) -> int:
    """Tiles a strategy places for one matrix."""
    if reorder == "none":
        return dense_tile_count(*matrix.shape, size)
    if reorder == "skip-empty":
        return nonempty_tile_count(matrix, size)
    raise ValueError(f"unknown tiling strategy {reorder!r}; allowed: none, skip-empty")


def arrays_per_tile(encoding: str, weight_bits: int, cell_bits: int) -> int:
    """Physical arrays behind one logical tile: polarities x bit slices (design.md).

    Two-column and differential slice only the magnitude (weight_bits - 1 bits; the sign costs
    the second polarity, not a slice), offset slices the whole unsigned code (simulator.mapping.encoding)."""
    scheme = get_encoding(encoding)
    return scheme.polarities * scheme.slices(weight_bits, cell_bits)
