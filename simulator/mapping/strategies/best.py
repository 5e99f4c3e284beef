"""`best`: our own tiling, greedy rectangle growth, and never worse than any other strategy.

The problem. A tiling covers W's nonzeros by combinatorial rectangles (a row set times a column
set, at most N of each), every nonzero assigned to one rectangle; a row may be split over several
tiles (its input is driven into each), a column too (partial sums added digitally). The number
of tiles T is the objective. Every tile offers N row places, so T >= (sum over rows of the tiles
a row appears in) / N: a tiling is good when rows are split rarely, i.e. when the columns a tile
takes contain whole rows. Seed 001's `compact` fixes one partition of the columns into bands of
N and splits every row at every band it touches; seed 004's `kmeans` chooses the partition by
clustering columns. Neither lets two tiles take overlapping column sets, which is what sparse
rows need: at 1 % density a 4608 x 512 layer (seed 001's VGG19 layer 7) has rows of about 2.7
nonzeros over 512 columns, so a fixed 4-band partition splits a row into about 2 pieces, while
some 128-column set contains it whole.

Greedy rectangle growth (`greedy_tiles`), one tile at a time over the nonzeros not yet held:

1. Seed: the row with the most remaining nonzeros (ties: lowest index); its columns start the
   tile's column set C (if it has more than N, its N columns with the most remaining nonzeros).
2. Grow C up to N columns: add the column c maximising
       gain(c) = sum over remaining rows r through c (c not in C) of (k_r / m_r)^3,
   k_r = remaining nonzeros of r, m_r = those outside C. A row not touching C credits 1 (with C
   empty the gain is the column's count); a row one column short credits k_r^3, so heavy rows
   are completed first: rows with a single nonzero fit into any tile holding their column and
   are best kept as fillers. A row farther from completion credits less, which looks ahead to
   the rows that the next columns complete. The gains are kept incrementally: adding a column
   changes the credit of the rows through it only.
3. Rows: the rows whose remaining nonzeros all lie in C (heaviest first), then, while places
   are left, the rows with the most nonzeros inside C (each leaves a shorter remainder).
4. Refine by alternation: re-pick C as the N columns that carry most of the chosen rows
   (weighted 1/k_r, so a column completing rows counts), re-pick the rows, and keep the change
   while the tile's row completion (sum of held / remaining nonzeros over its rows) grows. This
   lifts dense layers, where no row fits whole and the tile should hold an N x N block as dense
   as possible.
5. The tile holds every remaining nonzero in rows x C; columns that hold none are dropped.

The greedy packs the side of W with more nonzero lines: rows, or (on W^T, the problem being
symmetric) columns. Running it on the other side too saved 9 of 20800 tiles on the VGG masks
of bench/bench_mapping.py at N = 8 and none at N = 16, 64, 128, for half again the time, so it
does not.
Every step is integer bookkeeping or sequential float sums with ties broken by index, so the
result is deterministic and does not depend on BLAS threads; the seed is only passed on to the
other strategies.

`BestTiling` guarantees "never worse": it returns the fewest tiles among the greedy's and every
other registered strategy's (`none` aside: it never beats `skip-empty`), and stops early once a
tiling meets `simulator.mapping.bounds.lower_bound`, which nothing can beat. It is time-aware
without looking at the clock: the millisecond strategies run first, and the greedy is abandoned
as soon as it has placed as many tiles as the best so far (on dense layers the grid wins).
On seed 001's example (random 4608 x 512, density 0.0052, N = 128: skip-empty 144, compact 71)
the greedy places 34 tiles, the lower bound.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from simulator.mapping.bounds import lower_bound
from simulator.mapping.strategies import STRATEGY_NAMES, get_strategy
from simulator.mapping.strategies.dense import validated
from simulator.mapping.tiles import Tile

# Step 2: a row's credit is (remaining / missing)^p. Of p = 2, 2.5, 3, 4, 6 (and k / m^2), p = 3 and 4
# placed the fewest tiles on the VGG masks of bench/bench_mapping.py; on seed 001's example every
# (k / m)^p placed 34 tiles, k / m^2 placed 36.
_CREDIT_POWER = 3
# Step 4: alternation rounds per tile at most (it stops earlier when a round does not help).
_REFINE_ROUNDS = 3
# Strategies tried before the greedy: they take milliseconds and bound the greedy's effort.
_FIRST = ("skip-empty", "compact")
_GREEDY = "greedy"


def _ranges(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Concatenated aranges [starts[i], ends[i]) without a Python loop."""
    lengths = ends - starts
    offsets = np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
    return offsets + np.arange(int(lengths.sum()))


class _Remaining:
    """The nonzeros no tile holds yet: W's CSR positions with an `alive` flag, plus a CSC index.

    Keeps per row its remaining count `k` and per column its remaining count `col_k` (step 2's
    gain of a column while C is empty), both updated as tiles take nonzeros."""

    def __init__(self, mask: np.ndarray) -> None:
        csr = sp.csr_array(mask, dtype=np.int8)
        csr.sort_indices()
        self.shape = mask.shape
        self.indptr = csr.indptr.astype(np.int64)
        self.indices = csr.indices.astype(np.int64)
        self.row_of = np.repeat(np.arange(mask.shape[0], dtype=np.int64), np.diff(self.indptr))
        self.by_column = np.argsort(self.indices, kind="stable")
        self.col_ptr = np.concatenate([[0], np.cumsum(np.bincount(self.indices, minlength=mask.shape[1]))])
        self.alive = np.ones(len(self.indices), dtype=bool)
        self.k = np.diff(self.indptr)
        self.col_k = np.bincount(self.indices, minlength=mask.shape[1])
        self.left = len(self.indices)

    def positions(self, rows: np.ndarray) -> np.ndarray:
        """Remaining CSR positions of `rows`."""
        positions = _ranges(self.indptr[rows], self.indptr[rows + 1])
        return positions[self.alive[positions]]

    def column(self, col: int) -> np.ndarray:
        """Remaining CSR positions of column `col`."""
        positions = self.by_column[self.col_ptr[col] : self.col_ptr[col + 1]]
        return positions[self.alive[positions]]

    def take(self, positions: np.ndarray) -> None:
        """Mark `positions` held and update the row and column counts."""
        self.alive[positions] = False
        self.left -= len(positions)
        self.k -= np.bincount(self.row_of[positions], minlength=self.shape[0])
        self.col_k -= np.bincount(self.indices[positions], minlength=self.shape[1])


class _TileBuilder:
    """Steps 1-4 for one tile: grows a column set, picks rows, refines by alternation."""

    def __init__(self, remaining: _Remaining, size: int) -> None:
        self.rem = remaining
        self.size = size
        rows, cols = remaining.shape
        self.in_cols = np.zeros(cols, dtype=bool)
        self.inside = np.zeros(rows, dtype=np.int64)
        self.gain = remaining.col_k.astype(np.float64)
        self.cols: list[int] = []
        self.touched: list[np.ndarray] = []

    def _add_column(self, col: int) -> None:
        """Put `col` into C; update the credit (k_r / m_r)^p of the rows through it (step 2)."""
        rem = self.rem
        rows = rem.row_of[rem.column(col)]
        k = rem.k[rows].astype(np.float64)
        old = (k / (k - self.inside[rows])) ** _CREDIT_POWER
        self.inside[rows] += 1
        self.in_cols[col] = True
        self.cols.append(col)
        self.touched.append(rows)
        missing = k - self.inside[rows]
        new = np.divide(k, missing, out=np.zeros(len(rows)), where=missing > 0) ** _CREDIT_POWER
        # positions() lists each row's k_r remaining nonzeros, row after row.
        cols = rem.indices[rem.positions(rows)]
        outside = ~self.in_cols[cols]
        weights = np.repeat(new - old, rem.k[rows])[outside]
        self.gain += np.bincount(cols[outside], weights=weights, minlength=rem.shape[1])

    def grow(self) -> None:
        """Steps 1-2: seed row's columns, then the best-gain column until N or nothing gains."""
        rem = self.rem
        seed = int(np.argmax(rem.k))
        seed_cols = rem.indices[rem.positions(np.array([seed]))]
        seed_cols = seed_cols[np.lexsort((seed_cols, -rem.col_k[seed_cols]))][: self.size]
        for col in seed_cols.tolist():
            self._add_column(col)
        while len(self.cols) < self.size:
            masked = np.where(self.in_cols, -np.inf, self.gain)
            col = int(np.argmax(masked))
            if masked[col] <= 0:
                break
            self._add_column(col)

    def pick_rows(self, inside: np.ndarray, candidates: np.ndarray) -> np.ndarray:
        """Step 3: whole rows (heaviest first), then rows with the most nonzeros inside C."""
        k = self.rem.k[candidates]
        got = inside[candidates]
        whole = candidates[got == k]
        whole = whole[np.lexsort((whole, -self.rem.k[whole]))]
        if len(whole) >= self.size:
            return whole[: self.size]
        part = candidates[(got > 0) & (got < k)]
        part = part[np.lexsort((part, -inside[part]))]
        return np.concatenate([whole, part[: self.size - len(whole)]])

    def _completion(self, inside: np.ndarray, rows: np.ndarray) -> float:
        return float((inside[rows] / self.rem.k[rows]).sum())

    def refine(self) -> np.ndarray:
        """Step 4: alternate columns <- rows <- columns while the row completion grows; the
        tile's rows (sorted), with `in_cols` left at its columns."""
        rem = self.rem
        candidates = np.unique(np.concatenate(self.touched))
        inside = self.inside
        rows = self.pick_rows(inside, candidates)
        score = self._completion(inside, rows)
        for _ in range(_REFINE_ROUNDS):
            positions = rem.positions(rows)
            weight = np.bincount(rem.indices[positions], weights=1.0 / rem.k[rem.row_of[positions]],
                                 minlength=rem.shape[1])
            order = np.lexsort((np.arange(len(weight)), ~self.in_cols, -weight))
            new_cols = order[: self.size]
            new_cols = new_cols[weight[new_cols] > 0]
            positions = np.concatenate([rem.column(c) for c in new_cols.tolist()])
            new_inside = np.bincount(rem.row_of[positions], minlength=rem.shape[0])
            new_candidates = np.unique(rem.row_of[positions])
            new_rows = self.pick_rows(new_inside, new_candidates)
            new_score = self._completion(new_inside, new_rows)
            if new_score <= score:
                break
            inside, rows, score = new_inside, new_rows, new_score
            self.in_cols[:] = False
            self.in_cols[new_cols] = True
        return np.sort(rows)

    def build(self) -> Tile:
        """Steps 1-5: the tile, with its nonzeros taken from the remaining ones."""
        self.grow()
        rows = self.refine()
        rem = self.rem
        positions = rem.positions(rows)
        positions = positions[self.in_cols[rem.indices[positions]]]
        rem.take(positions)
        tile_rows, row_index = np.unique(rem.row_of[positions], return_inverse=True)
        tile_cols, col_index = np.unique(rem.indices[positions], return_inverse=True)
        held = np.zeros((len(tile_rows), len(tile_cols)), dtype=bool)
        held[row_index, col_index] = True
        return Tile(tile_rows, tile_cols, held)


def greedy_tiles(mask: np.ndarray, size: int, limit: int | None = None) -> list[Tile] | None:
    """Tiles of the greedy rectangle growth (module docstring), in W's orientation.

    None as soon as `limit` tiles are placed with nonzeros left: the caller already has a tiling
    with `limit` tiles, so the rest of the run could not win."""
    remaining = _Remaining(mask)
    tiles: list[Tile] = []
    while remaining.left:
        if limit is not None and len(tiles) >= limit:
            return None
        tiles.append(_TileBuilder(remaining, size).build())
    return tiles


def _transposed(tiles: list[Tile]) -> list[Tile]:
    """Tiles of W^T as tiles of W."""
    return [Tile(tile.cols, tile.rows, np.ascontiguousarray(tile.held.T)) for tile in tiles]


def _flipped(mask: np.ndarray) -> bool:
    """Whether the greedy runs on W^T: it packs the side with more nonzero lines (the lines are
    what fills the N places of a tile); ties keep W."""
    return bool(np.count_nonzero(mask.any(axis=0)) > np.count_nonzero(mask.any(axis=1)))


class BestTiling:
    """`best`: greedy rectangle growth, or another strategy where that places fewer tiles."""

    name = "best"

    def tile(self, mask: np.ndarray, size: int, seed: int) -> list[Tile]:
        """The fewest tiles of every candidate, tried in this order (ties keep the earlier):

        1. the cheap strategies `_FIRST` (milliseconds), which bound the greedy's effort;
        2. the greedy, abandoned once it cannot beat the best so far;
        3. every other registered strategy but `none` (never better than `skip-empty`).

        It stops as soon as the best so far meets the lower bound, which nothing can beat."""
        mask = validated(mask, size)
        bound = lower_bound(mask, size)
        later = [name for name in STRATEGY_NAMES if name not in (*_FIRST, "none", self.name)]
        best = get_strategy(_FIRST[0]).tile(mask, size, seed)
        for step in [*_FIRST[1:], _GREEDY, *later]:
            if len(best) <= bound:
                break
            if step == _GREEDY:
                tiles = _greedy(mask, size, limit=len(best) - 1)
            else:
                tiles = get_strategy(step).tile(mask, size, seed)
            if tiles is not None and len(tiles) < len(best):
                best = tiles
        return best


def _greedy(mask: np.ndarray, size: int, limit: int) -> list[Tile] | None:
    """`greedy_tiles` in the orientation `_flipped` picks, as tiles of W (None past `limit`)."""
    if not _flipped(mask):
        return greedy_tiles(mask, size, limit)
    tiles = greedy_tiles(mask.T, size, limit)
    return None if tiles is None else _transposed(tiles)
