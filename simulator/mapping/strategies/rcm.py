"""`rcm`: reverse Cuthill-McKee reordering, then the skip-empty grid (seed 001, "RCM algorithm").

RCM permutes a graph's vertices so that edges stay near the diagonal (small bandwidth); a banded
matrix leaves the grid blocks far from the diagonal empty, which `skip-empty` then drops. Seed 001
tried two versions and found that RCM "only works for symmetric matrix and it creates an
undirected graph for it" (512 x 512: 16 -> 10 crossbars; VGG11 layer 8 as one (512, 4608)
rectangle: 144 -> 143 crossbars with `symmetric_mode=True`, 144 -> 1169 with
`symmetric_mode=False`; per (512, 512) square block: 16 -> 15 each). We implement both versions
that are well defined:

- square: for a square W, the RCM order of the symmetrised pattern W | W^T, applied to rows and
  columns alike (scipy's `reverse_cuthill_mckee(..., symmetric_mode=True)` on W | W^T, which is
  what the seed's `symmetric_mode=True` runs on a square matrix);
- bipartite: for any W, the RCM order of the bipartite graph [[0, W], [W^T, 0]] whose first R
  vertices are rows and last C are columns; the order restricted to row vertices orders the rows,
  restricted to column vertices the columns. This is the rectangular generalisation: rows and
  columns are different signals (inputs, outputs), so they get independent orders.

A square W tries both and keeps the one with fewer tiles (the square one on a tie); a
rectangular W has only the bipartite one. RCM is deterministic: the seed argument is unused.
The result may be worse than `skip-empty` (as in the seed); `rcm` reports what RCM gives.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import reverse_cuthill_mckee

from simulator.mapping.strategies.dense import grid_tiles, occupied_count, validated
from simulator.mapping.tiles import Tile

Orders = tuple[np.ndarray, np.ndarray]


def square_orders(mask: np.ndarray) -> Orders:
    """The RCM order of W | W^T for rows and columns alike (W square)."""
    pattern = sp.csr_array(mask | mask.T, dtype=np.int8)
    order = reverse_cuthill_mckee(pattern, symmetric_mode=True).astype(np.int64)
    return order, order


def bipartite_orders(mask: np.ndarray) -> Orders:
    """Row and column orders from the RCM order of the bipartite graph [[0, W], [W^T, 0]]."""
    rows = mask.shape[0]
    w = sp.csr_array(mask, dtype=np.int8)
    graph = sp.block_array([[None, w], [w.T, None]], format="csr")
    order = reverse_cuthill_mckee(graph, symmetric_mode=True).astype(np.int64)
    return order[order < rows], order[order >= rows] - rows


def rcm_orders(mask: np.ndarray, size: int) -> Orders:
    """The orders of the variant that leaves fewer occupied grid tiles."""
    candidates = [bipartite_orders(mask)]
    if mask.shape[0] == mask.shape[1]:
        candidates.insert(0, square_orders(mask))
    return min(candidates, key=lambda orders: occupied_count(mask, size, *orders))


class RCMTiling:
    """`rcm`: reverse Cuthill-McKee (square or bipartite), then the skip-empty grid."""

    name = "rcm"

    def tile(self, mask: np.ndarray, size: int, seed: int) -> list[Tile]:
        """The occupied grid tiles of the RCM-permuted W, in W's indices; `seed` is unused."""
        mask = validated(mask, size)
        if mask.size == 0:
            return []
        return grid_tiles(mask, size, *rcm_orders(mask, size))
