"""The dense grid: `none` and `skip-empty` (design.md, "logical tile").

W (R, C) is cut into the grid of ceil(R/N) x ceil(C/N) tiles of N consecutive rows and N
consecutive columns (smaller at the right and bottom edges). `none` places every grid tile, as a
dense mapping does (seed 001: "The whole rectangular has 4*36 = 144 crossbars"); `skip-empty`
drops the tiles without a nonzero (seed 001, "Sparse network mapped to crossbar ... we cannot save
any crossbar" at 1 % density: almost no 128 x 128 block is empty).

The grid helpers also take a row and a column order, so reordering strategies (`rcm`) can tile a
permuted matrix with the same code and still return tiles in W's own indices.
"""

from __future__ import annotations

import numpy as np

from simulator.mapping.tiles import Tile


def validated(mask: np.ndarray, size: int) -> np.ndarray:
    """`mask` as a 2-D boolean array; ValueError for another rank or a crossbar size below 1."""
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 2:
        raise ValueError(f"mask must be 2-D (rows = inputs, columns = outputs), got shape {mask.shape}")
    if size < 1:
        raise ValueError(f"crossbar size must be >= 1, got {size}")
    return mask


def index_order(order: np.ndarray | None, length: int) -> np.ndarray:
    """An index order as int64 (identity when None)."""
    return np.arange(length, dtype=np.int64) if order is None else np.asarray(order, dtype=np.int64)


def _bands(order: np.ndarray, size: int) -> list[np.ndarray]:
    """`order` cut into runs of `size`; read-only, since many tiles share one run."""
    bands = [order[start : start + size] for start in range(0, len(order), size)]
    for band in bands:
        band.flags.writeable = False
    return bands


def _permuted(mask: np.ndarray, row_order: np.ndarray | None, col_order: np.ndarray | None) -> np.ndarray:
    """A fresh boolean copy of W[row_order][:, col_order] (a plain copy when both are None)."""
    if row_order is None and col_order is None:
        return np.array(mask, dtype=bool)
    rows, cols = index_order(row_order, mask.shape[0]), index_order(col_order, mask.shape[1])
    return mask[np.ix_(rows, cols)].astype(bool)


def occupied_blocks(permuted: np.ndarray, size: int) -> np.ndarray:
    """Boolean (ceil(R/N), ceil(C/N)): which grid blocks of `permuted` hold a nonzero."""
    rows, cols = permuted.shape
    if rows == 0 or cols == 0:
        return np.zeros((-(-rows // size), -(-cols // size)), dtype=bool)
    band_rows = np.logical_or.reduceat(permuted, np.arange(0, rows, size), axis=0)
    return np.logical_or.reduceat(band_rows, np.arange(0, cols, size), axis=1)


def occupied_count(
    mask: np.ndarray, size: int, row_order: np.ndarray | None = None, col_order: np.ndarray | None = None
) -> int:
    """Tiles `skip-empty` places for W permuted by the orders, without building them."""
    return int(occupied_blocks(_permuted(mask, row_order, col_order), size).sum())


def grid_tiles(
    mask: np.ndarray,
    size: int,
    row_order: np.ndarray | None = None,
    col_order: np.ndarray | None = None,
    keep_empty: bool = False,
) -> list[Tile]:
    """Grid tiles of W[row_order][:, col_order], row-major, in W's own indices.

    Tiles share their row and column index arrays and view one read-only permuted mask, so the
    dense baseline's tens of thousands of tiles cost one small object each, not a copy."""
    permuted = _permuted(mask, row_order, col_order)
    permuted.flags.writeable = False
    row_bands = _bands(index_order(row_order, mask.shape[0]), size)
    col_bands = _bands(index_order(col_order, mask.shape[1]), size)
    if keep_empty:
        blocks_r, blocks_c = np.divmod(np.arange(len(row_bands) * len(col_bands)), max(len(col_bands), 1))
    else:
        blocks_r, blocks_c = np.nonzero(occupied_blocks(permuted, size))
    return [
        Tile(row_bands[i], col_bands[j], permuted[i * size : (i + 1) * size, j * size : (j + 1) * size])
        for i, j in zip(blocks_r.tolist(), blocks_c.tolist())
    ]


class DenseTiling:
    """`none`: every tile of the dense grid, empty ones included (the dense-mapping baseline)."""

    name = "none"

    def tile(self, mask: np.ndarray, size: int, seed: int) -> list[Tile]:
        """ceil(R/N) * ceil(C/N) tiles, row-major; `seed` is unused (nothing is random)."""
        return grid_tiles(validated(mask, size), size, keep_empty=True)


class SkipEmptyTiling:
    """`skip-empty`: the dense grid without the tiles that hold no nonzero."""

    name = "skip-empty"

    def tile(self, mask: np.ndarray, size: int, seed: int) -> list[Tile]:
        """The occupied grid tiles, row-major; `seed` is unused (nothing is random)."""
        return grid_tiles(validated(mask, size), size)
