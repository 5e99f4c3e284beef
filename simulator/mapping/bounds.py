"""How many tiles a sparse W needs at least, whatever the strategy; and how many a dense one uses.

A reordering strategy is judged against two numbers: the dense grid (`dense_tiles`, seed 001's
"The whole rectangular has 4*36 = 144 crossbars") and a lower bound no valid tiling can beat
(`lower_bound`), so a report can say how far a strategy is from the best possible.

Valid tiling (simulator/mapping/tiles.py): every tile takes <= N distinct rows and <= N distinct
columns, and every nonzero of W is held by exactly one tile, at its own row and column. Let
T be the number of tiles, k_r the nonzeros of row r and k_c those of column c.

Proofs of the terms of `bound_terms` (each is <= T for every valid tiling):

- nonzeros: a tile holds at most N * N nonzeros, all nonzeros are held, so N^2 T >= nnz.
- row appearances: a tile holds at most N nonzeros of one row (it has <= N columns), so row r
  appears in at least ceil(k_r / N) tiles. Each tile offers at most N row places, hence
  N T >= sum_r ceil(k_r / N), i.e. T >= ceil(sum_r ceil(k_r / N) / N). This is at least the
  plain "nonzero rows" bound ceil(#{r: k_r > 0} / N), since ceil(k_r / N) >= 1 for k_r > 0.
- widest row: row r appears in ceil(k_r / N) distinct tiles (a row occurs at most once per tile),
  so T >= max_r ceil(k_r / N). Neither this nor the previous term implies the other (one long
  row: the max wins; many short rows: the sum wins).
- the same three arguments with rows and columns exchanged.

`lower_bound` is the largest term. It is not always attained: the true minimum is a hard
partition problem (W's nonzeros into bicliques of at most N x N), which no strategy solves.
"""

from __future__ import annotations

import math

import numpy as np


def dense_tiles(rows: int, cols: int, size: int) -> int:
    """ceil(R/N) * ceil(C/N): the tiles of a dense mapping of an (R, C) matrix."""
    return math.ceil(rows / size) * math.ceil(cols / size)


def _ceil_div(values: np.ndarray, size: int) -> np.ndarray:
    return -(-values // size)


def bound_terms(mask: np.ndarray, size: int) -> dict[str, int]:
    """Every lower-bound term of the module docstring, by name (all are valid lower bounds)."""
    mask = np.asarray(mask, dtype=bool)
    row_nnz, col_nnz = mask.sum(axis=1), mask.sum(axis=0)
    row_tiles, col_tiles = _ceil_div(row_nnz, size), _ceil_div(col_nnz, size)
    return {
        "nonzeros": math.ceil(int(row_nnz.sum()) / size**2),
        "nonzero_rows": math.ceil(int(np.count_nonzero(row_nnz)) / size),
        "nonzero_cols": math.ceil(int(np.count_nonzero(col_nnz)) / size),
        "row_appearances": math.ceil(int(row_tiles.sum()) / size),
        "col_appearances": math.ceil(int(col_tiles.sum()) / size),
        "widest_row": int(row_tiles.max(initial=0)),
        "widest_col": int(col_tiles.max(initial=0)),
    }


def lower_bound(mask: np.ndarray, size: int) -> int:
    """The fewest tiles any valid tiling of `mask` with crossbar size `size` can use."""
    if size < 1:
        raise ValueError(f"crossbar size must be >= 1, got {size}")
    return max(bound_terms(mask, size).values())
