"""`graph`: seed 001's crossbar-bounded graph reordering ("Implementing Reordering Algorithm in
SPARA", Fig. 3 "Crossbar-bounded graph reordering").

The seed's algorithm (input: CSR and CSC of W, THRESHOLD = crossbar size) grows a set of source
vertices (rows, read through CSR) and destination vertices (columns, read through CSC) by
alternately adding the unvisited columns of the current rows (`GetDstVertex`) and the unvisited
rows of the current columns (`GetSrcVertex`); when the column set reaches THRESHOLD the pair
(rows, columns) is appended to the output order as one crossbar and both sets restart. Rows and
columns are thus grouped so that most nonzeros of a row fall inside its own group's columns.

Our reading, so that each group is one valid N x N tile:

- The graph is bipartite: vertex r < R is row r, vertex R + c is column c, edges are W's
  nonzeros. Its adjacency [[0, W], [W^T, 0]] in CSR holds both of the seed's structures: the
  first R rows are W's CSR (row -> columns), the last C rows are W's CSC (column -> rows).
- A group grows breadth-first from its start vertex: each newly added vertex queues its unvisited
  neighbours, i.e. rows bring in their columns and columns their rows, as the seed alternates.
  A group takes at most N rows and at most N columns (the seed bounds columns only; a crossbar
  bounds both). Once one side is full, the breadth-first search goes on adding only vertices of
  the other side, which are all adjacent to the group, until that side is full too or no adjacent
  vertex is left; then the group closes.
- When the search runs out of vertices while both sides still have room (a connected component
  is used up), the group is not closed: it goes on from the next start vertex, so that small
  components share a crossbar instead of each taking one.
- Start vertices are taken in order of increasing degree (ties: rows before columns, lower index
  first), as Cuthill-McKee does; the seed starts at v0 and walks i upwards.
- Each group gives the tile (its rows) x (its columns) holding every nonzero inside. Nonzeros
  between two groups (a row of one group, a column of another: the edges the bounded search
  cut) are then placed by `compact` on the permuted matrix (rows and columns in group order),
  which groups them by column band and packs their rows.

Groups are disjoint in rows and in columns, so no nonzero is held twice. We measured the seed's
literal "close as soon as one side reaches N" too: it needed more tiles (on a random
4608 x 512 mask of density 0.0052 at N = 128: 81 against 75; at 2304 x 256, density 0.08: 54
against 36), because a group closed early leaves most of its row's nonzeros to the leftovers.
The search is deterministic; the seed argument is unused.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import scipy.sparse as sp

from simulator.mapping.strategies.compact import compact_tiles
from simulator.mapping.strategies.dense import validated
from simulator.mapping.tiles import Tile, full_tile


def bipartite_adjacency(mask: np.ndarray) -> sp.csr_array:
    """[[0, W], [W^T, 0]]: rows' neighbours are W's CSR, columns' neighbours W's CSC."""
    w = sp.csr_array(mask, dtype=np.int8)
    return sp.block_array([[None, w], [w.T, None]], format="csr")


class _GroupBuilder:
    """The bounded breadth-first search: assigns a group id to every vertex with an edge."""

    def __init__(self, mask: np.ndarray, size: int) -> None:
        graph = bipartite_adjacency(mask)
        self.rows = mask.shape[0]
        self.size = size
        self.indptr, self.indices = graph.indptr, graph.indices
        self.group = np.full(graph.shape[0], -1, dtype=np.int64)
        self.current = 0
        self.room = [size, size]  # rows, columns still free in the current group
        self.queue: deque[int] = deque()

    def start_vertices(self) -> list[int]:
        """Vertices with an edge, by increasing degree (stable: rows first, then by index)."""
        degree = np.diff(self.indptr)
        order = np.argsort(degree, kind="stable")
        return order[degree[order] > 0].tolist()

    def _close(self) -> None:
        self.current += 1
        self.room = [self.size, self.size]
        self.queue.clear()

    def _add(self, vertex: int) -> None:
        """Put `vertex` in the current group if its side has room; queue its unvisited neighbours."""
        side = int(vertex >= self.rows)
        if self.group[vertex] >= 0 or self.room[side] == 0:
            return
        self.group[vertex] = self.current
        self.room[side] -= 1
        neighbours = self.indices[self.indptr[vertex] : self.indptr[vertex + 1]]
        self.queue.extend(neighbours[self.group[neighbours] < 0].tolist())
        if self.room == [0, 0]:
            self._close()

    def run(self) -> np.ndarray:
        """Group id per vertex (-1 for rows and columns without a nonzero)."""
        for start in self.start_vertices():
            if self.group[start] >= 0:
                continue
            self.queue.append(start)
            while self.queue:
                self._add(self.queue.popleft())
            if 0 in self.room:
                self._close()
        return self.group


def _group_tiles(mask: np.ndarray, row_group: np.ndarray, col_group: np.ndarray) -> list[Tile]:
    """One tile per group with a nonzero inside its own rows x columns."""
    row_order = np.argsort(row_group, kind="stable")
    col_order = np.argsort(col_group, kind="stable")
    groups = np.arange(max(row_group.max(initial=-1), col_group.max(initial=-1)) + 1)
    row_runs = np.split(row_order, np.searchsorted(row_group[row_order], groups[1:]))
    col_runs = np.split(col_order, np.searchsorted(col_group[col_order], groups[1:]))
    tiles = []
    for rows, cols in zip(row_runs, col_runs):
        rows, cols = rows[row_group[rows] >= 0], cols[col_group[cols] >= 0]
        tile = full_tile(mask, rows, cols)
        if tile.held.any():
            tiles.append(tile)
    return tiles


def graph_tiles(mask: np.ndarray, size: int) -> list[Tile]:
    """Group tiles of the bounded search, then `compact` for the nonzeros between groups."""
    group = _GroupBuilder(mask, size).run()
    row_group, col_group = group[: mask.shape[0]], group[mask.shape[0] :]
    leftovers = mask & (row_group[:, None] != col_group[None, :])
    order = (np.argsort(row_group, kind="stable"), np.argsort(col_group, kind="stable"))
    return _group_tiles(mask, row_group, col_group) + compact_tiles(leftovers, size, *order)


class GraphTiling:
    """`graph`: crossbar-bounded breadth-first grouping of rows and columns (seed 001, Fig. 3)."""

    name = "graph"

    def tile(self, mask: np.ndarray, size: int, seed: int) -> list[Tile]:
        """Deterministic; `seed` is unused."""
        return graph_tiles(validated(mask, size), size)
