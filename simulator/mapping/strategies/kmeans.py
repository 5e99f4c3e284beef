"""`kmeans`: seed 004's k-means based column exchanging (Lin et al., ASPDAC'19, section III, Alg. 1).

The seed's idea: exchange the columns (outputs) of W so that columns whose nonzeros sit in the same
rows share a crossbar; every row that is then all-zero inside a group of L columns needs no
wordline there, "the size of the split matrix will shrink as we eliminate the all-zero parts".

Algorithm 1, line by line, as implemented here (L = crossbar size N):

- Line 1, padding: W gets zero columns up to a multiple of L (the seed writes ext = y mod L zero
  columns; a multiple of L needs (-y) mod L). A zero column is the zero vector
  of every block, it only ever fills a group that holds nothing, so we leave all-zero columns of a
  block (the padding included) out of the clustering; the groups of nonzero columns are the same.
- Line 2, pre-splitting: W is cut into blocks of consecutive rows, `f_split` rows each (the full
  width: columns are exchanged inside a block only). The seed's `f_split` interpolates split sizes
  it found best by experiment; ours (see `f_split`) comes from the same kind of experiment on
  the VGG masks of bench/bench_mapping.py: blocks of 4N rows where N <= 16 and a column has a
  few nonzeros per N rows, otherwise the whole height (capped for memory).
- Lines 3-16, column exchanging inside a block: U = the block's nonzero columns (binary vectors
  over the block's rows). While U is not empty, cluster U into ceil(|U| / L) clusters with
  k-means (Lloyd iterations after k-means++ seeding; between binary vectors the squared Euclidean
  distance is the Hamming distance); every cluster with at least L members gives its L members
  nearest to its centroid as one column group, removed from U. The seed leaves open what happens
  when no cluster reaches L members (its loop would not end): we then take the L columns of U
  nearest to the centroid of the largest cluster. When |U| <= L the rest is one group. The whole
  block is clustered `restarts` times from different seeds ("k-means is sensitive to initial
  value, we choose to repeat our algorithm") and the grouping needing the fewest tiles is kept.
- Lines 17-20, shrink and map: inside a group, the rows with no nonzero are dropped and the
  remaining rows are packed L at a time, in row order, into tiles; a tile keeps only its columns
  that hold a nonzero. A group touching r rows of its block needs ceil(r / L) tiles.

Deterministic for a given seed: every random draw comes from numpy's Generator seeded by
(seed, block index, restart).
"""

from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_limits

from simulator.mapping.strategies.dense import validated
from simulator.mapping.tiles import Tile, full_tile

# f_split: short blocks only pay where N is small and a column has about 0.35-2.5 nonzeros per N rows.
_SHORT_BLOCK_CROSSBARS = 4
_SHORT_BLOCK_MAX_SIZE = 16
_SHORT_BLOCK_PER_COLUMN = (0.35, 2.5)
# A block's column vectors are clustered as a dense (columns x rows) array: at most this many cells.
_MAX_BLOCK_CELLS = 1 << 24


def f_split(mask: np.ndarray, size: int) -> int:
    """Rows per pre-split block: our version of the seed's interpolated f_split.

    Let `per_column` be the mean nonzeros of a nonzero column over N rows. On the VGG16 / VGG19
    global-magnitude masks of bench/bench_mapping.py (4 / 2 / 1 % density; N = 8, 16, 32, 64, 128;
    heights N to 32N and the whole matrix), blocks of 4N rows beat taller ones only for N <= 16
    and `per_column` in [0.35, 2.5]: k-means then finds columns sharing rows inside a short block.
    Sparser columns have too few nonzeros in a short block to be clustered (the whole height
    was best, by up to 5x on the sparsest layers); denser ones touch nearly every row of any
    block, and there the whole height saves the half-empty last tile of every block. The height
    is capped so that a block's dense column vectors stay under 16 M cells (128 MB): the seed
    too pre-splits because "clustering the extremely large matrix ... is never a wise decision"."""
    rows, cols = mask.shape
    nonzero_cols = max(int(mask.any(axis=0).sum()), 1)
    per_column = float(mask.sum()) / nonzero_cols * size / max(rows, 1)
    low, high = _SHORT_BLOCK_PER_COLUMN
    if size <= _SHORT_BLOCK_MAX_SIZE and low <= per_column <= high:
        return min(rows, _SHORT_BLOCK_CROSSBARS * size)
    return max(min(rows, _MAX_BLOCK_CELLS // max(cols, 1)), 1)


def _distances(points: np.ndarray, sq_norms: np.ndarray, sums: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Squared distances (n, k) from 0/1 points to centroids sums / counts.

    `points @ sums.T` multiplies integer-valued float64 arrays, so it is exact whatever order BLAS
    adds in; the rest is elementwise. Labels therefore do not depend on the BLAS thread count."""
    counts = np.maximum(counts, 1).astype(np.float64)
    return sq_norms[:, None] - 2 * (points @ sums.T) / counts + (sums * sums).sum(axis=1) / counts**2


def _kmeans(
    points: np.ndarray, clusters: int, rng: np.random.Generator, iterations: int
) -> tuple[np.ndarray, np.ndarray]:
    """Lloyd's k-means with k-means++ seeding on 0/1 points (n, d).

    Returns the labels (n,) and the squared distances (n, k) to the final centroids."""
    sq_norms = points.sum(axis=1)
    sums = np.empty((clusters, points.shape[1]))
    counts = np.ones(clusters)  # k-means++ seeds each centroid with one point
    sums[0] = points[rng.integers(len(points))]
    nearest = _distances(points, sq_norms, sums[:1], counts[:1])[:, 0]
    for j in range(1, clusters):
        total = nearest.sum()
        pick = rng.choice(len(points), p=nearest / total) if total > 0 else rng.integers(len(points))
        sums[j] = points[pick]
        nearest = np.minimum(nearest, _distances(points, sq_norms, sums[j : j + 1], counts[j : j + 1])[:, 0])
    labels = np.full(len(points), -1)
    for _ in range(iterations):
        new_labels = _distances(points, sq_norms, sums, counts).argmin(axis=1)
        if np.array_equal(new_labels, labels):
            break
        labels = new_labels
        members = np.bincount(labels, minlength=clusters)
        filled = members > 0
        one_hot = np.zeros((clusters, len(points)))
        one_hot[labels, np.arange(len(points))] = 1.0
        counts[filled] = members[filled]
        sums[filled] = (one_hot @ points)[filled]
    return labels, _distances(points, sq_norms, sums, counts)


def _column_groups(
    vectors: np.ndarray, size: int, rng: np.random.Generator, iterations: int
) -> list[np.ndarray]:
    """Lines 5-15 of Algorithm 1: positions into `vectors` (n, rows) grouped L at a time."""
    unclustered = np.arange(len(vectors))
    groups: list[np.ndarray] = []
    while len(unclustered) > size:
        clusters = -(-len(unclustered) // size)
        labels, distances = _kmeans(vectors[unclustered], clusters, rng, iterations)
        counts = np.bincount(labels, minlength=clusters)
        full = np.nonzero(counts >= size)[0]
        if len(full) == 0:
            largest = int(np.argmax(counts))
            taken = [np.argsort(distances[:, largest], kind="stable")[:size]]
        else:
            taken = []
            for j in full:
                members = np.nonzero(labels == j)[0]
                taken.append(members[np.argsort(distances[members, j], kind="stable")[:size]])
        groups.extend(unclustered[t] for t in taken)
        keep = np.ones(len(unclustered), dtype=bool)
        keep[np.concatenate(taken)] = False
        unclustered = unclustered[keep]
    if len(unclustered):
        groups.append(unclustered)
    return groups


def _tiles_needed(sub: np.ndarray, groups: list[np.ndarray], size: int) -> int:
    """sum over groups of ceil(rows of the block touched by the group / L); `sub` is the block
    restricted to its nonzero columns, which the groups index."""
    return sum(-(-int(sub[:, g].any(axis=1).sum()) // size) for g in groups)


def _map_block(
    mask: np.ndarray, rows: np.ndarray, cols: np.ndarray, groups: list[np.ndarray], size: int
) -> list[Tile]:
    """Lines 17-20: per group, drop its all-zero rows and pack the rest L at a time."""
    tiles = []
    for group in groups:
        sub = mask[np.ix_(rows, cols[group])]
        touched = rows[sub.any(axis=1)]
        for start in range(0, len(touched), size):
            tile_rows = touched[start : start + size]
            tile_cols = cols[group][mask[np.ix_(tile_rows, cols[group])].any(axis=0)]
            tiles.append(full_tile(mask, tile_rows, tile_cols))
    return tiles


class KMeansTiling:
    """`kmeans`: seed 004 Algorithm 1 (pre-split, k-means column exchange, shrink, map)."""

    name = "kmeans"

    def __init__(self, restarts: int = 3, iterations: int = 20) -> None:
        self.restarts = restarts
        self.iterations = iterations

    def tile(self, mask: np.ndarray, size: int, seed: int) -> list[Tile]:
        """Tiles of every row block, blocks top to bottom; deterministic for `seed`.

        BLAS runs single-threaded here: the products are small, and on shared cores BLAS threads
        spin-waiting on each other cost up to 20x the single-thread time."""
        mask = validated(mask, size)
        height = f_split(mask, size)
        tiles: list[Tile] = []
        with threadpool_limits(limits=1, user_api="blas"):
            for index, start in enumerate(range(0, mask.shape[0], height)):
                rows = np.arange(start, min(start + height, mask.shape[0]), dtype=np.int64)
                tiles.extend(self._block_tiles(mask, rows, size, [seed, index]))
        return tiles

    def _block_tiles(self, mask: np.ndarray, rows: np.ndarray, size: int, seed: list[int]) -> list[Tile]:
        """One pre-split block: the best of `restarts` column groupings, shrunk and mapped."""
        block = mask[rows]
        cols = np.nonzero(block.any(axis=0))[0]
        if len(cols) == 0:
            return []
        # All-zero rows of the block add nothing to any Hamming distance: leave them out.
        sub = block[:, cols]
        vectors = np.ascontiguousarray(sub[sub.any(axis=1)].T, dtype=np.float64)
        restarts = self.restarts if len(cols) > size else 1
        best: list[np.ndarray] = []
        best_count = -1
        for restart in range(restarts):
            groups = _column_groups(vectors, size, np.random.default_rng([*seed, restart]), self.iterations)
            count = _tiles_needed(sub, groups, size)
            if best_count < 0 or count < best_count:
                best, best_count = groups, count
        return _map_block(mask, rows, cols, best, size)
