"""Logical tiles: the unit every tiling strategy returns (design.md, "logical tile").

A tile takes up to N rows and up to N columns of a weight matrix W (rows = inputs, columns =
outputs). Its crossbar holds W[rows][:, cols] restricted to `held`: the nonzeros this tile is
responsible for. Every nonzero of W is held by exactly one tile; a position a tile covers but does
not hold is programmed as zero there (another tile, sharing the row or column, holds it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True, eq=False)
class Tile:
    """One logical tile: which rows and columns of W it takes, and which nonzeros it holds."""

    rows: np.ndarray  # int64, distinct row indices of W, in wordline order, len <= N
    cols: np.ndarray  # int64, distinct column indices of W, in bitline order, len <= N
    held: np.ndarray  # bool (len(rows), len(cols)): positions whose nonzero this tile holds

    @property
    def nonzeros(self) -> int:
        return int(self.held.sum())


def full_tile(mask: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> Tile:
    """A tile holding every nonzero inside rows x cols (the case when tiles do not overlap)."""
    rows = np.asarray(rows, dtype=np.int64)
    cols = np.asarray(cols, dtype=np.int64)
    return Tile(rows, cols, mask[np.ix_(rows, cols)].astype(bool))


class TilingStrategy(Protocol):
    """How a strategy turns a nonzero mask into tiles (CrossSim-style interchangeable cores)."""

    name: str

    def tile(self, mask: np.ndarray, size: int, seed: int) -> list[Tile]:
        """Tiles for boolean `mask` (R, C) with at most `size` rows and columns each.

        Deterministic for a given `seed`. Tiles without a held nonzero are returned only by the
        dense baseline `none`."""
        ...


def check_tiling(mask: np.ndarray, tiles: list[Tile], size: int) -> None:
    """Raise ValueError unless the tiles hold every nonzero exactly once within N x N bounds."""
    count = np.zeros(mask.shape, dtype=np.int64)
    for i, tile in enumerate(tiles):
        if len(tile.rows) > size or len(tile.cols) > size:
            raise ValueError(f"tile {i}: {len(tile.rows)} rows x {len(tile.cols)} columns exceeds {size}")
        if len(np.unique(tile.rows)) != len(tile.rows) or len(np.unique(tile.cols)) != len(tile.cols):
            raise ValueError(f"tile {i}: repeated row or column index")
        if tile.held.shape != (len(tile.rows), len(tile.cols)):
            raise ValueError(f"tile {i}: held has shape {tile.held.shape}")
        sub = mask[np.ix_(tile.rows, tile.cols)]
        if np.any(tile.held & ~sub):
            raise ValueError(f"tile {i}: holds a position that is zero in W")
        r, c = np.nonzero(tile.held)
        np.add.at(count, (tile.rows[r], tile.cols[c]), 1)
    if np.any(count[mask] != 1):
        bad = int(np.sum(count[mask] != 1))
        raise ValueError(f"{bad} nonzeros are held by zero or several tiles")


def rebuild(weights: np.ndarray, tiles: list[Tile]) -> np.ndarray:
    """W rebuilt from the tiles' held values (equals `weights` for a valid tiling)."""
    out = np.zeros_like(weights)
    for tile in tiles:
        r, c = np.nonzero(tile.held)
        out[tile.rows[r], tile.cols[c]] = weights[tile.rows[r], tile.cols[c]]
    return out
