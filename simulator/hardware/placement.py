"""Placing the mapped layers on the chip: copies of layers into free arrays, copies onto tiles.

Every layer's arrays stay programmed for the whole run (weights are written once, as in PRIME and
ISAAC). Arrays the mapping leaves free hold **replicas** of layers; the replicas of a layer share
its input vectors, so they divide its time (seed 004 Sec. VI.C: "the speedup is mainly brought by
the data re-using in those ReRAM crossbar we saved"). Replicas are chosen greedily with the
closed-form layer times: layer-sequential execution minimises the sum of the layer times (each
step buys the largest time saved per array), pipelined execution the slowest layer.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


class LayerCost(Protocol):
    """What placement needs of a layer: its arrays per copy, its windows and its time with n copies."""

    @property
    def arrays(self) -> int: ...

    @property
    def vectors(self) -> int: ...

    def time_ns(self, replicas: int) -> float: ...


class ChipTooSmall(ValueError):
    """The mapped network needs more arrays than the chip has."""


@dataclass(frozen=True)
class Replica:
    """One copy of a layer: its arrays start on `home` tile, whose buffer, bus and network port it uses."""

    layer: int
    index: int
    home: int
    vectors: int
    buffer_tiles: int = 1                   # tiles whose eDRAM its input buffer takes (pipelined chips)
    last_tile: int = 0                      # the last tile its arrays or its buffer occupy
    start: int = 0                          # the chip's index of its first array (converter groups)


def _next_useful(vectors: int, replicas: int) -> int | None:
    """The fewest replicas above `replicas` that shorten ceil(vectors / replicas), if any."""
    per = math.ceil(vectors / replicas)
    if per <= 1:
        return None
    return math.ceil(vectors / (per - 1))


def replicate(costs: Sequence[LayerCost], budget: int, execution: str, enabled: bool = True) -> list[int]:
    """Replicas per layer (at least one) under the chip's array budget."""
    needed = sum(c.arrays for c in costs)
    if needed > budget:
        raise ChipTooSmall(f"the mapped network needs {needed} arrays; the chip has {budget}")
    counts = [1] * len(costs)
    if not enabled:
        return counts
    free = budget - needed
    if execution == "layer-sequential":
        heap: list[tuple[float, int, int, int]] = []

        def push(i: int) -> None:
            cost = costs[i]
            target = _next_useful(cost.vectors, counts[i]) if cost.arrays else None
            if target is None:
                return
            extra = (target - counts[i]) * cost.arrays
            saved = cost.time_ns(counts[i]) - cost.time_ns(target)
            heapq.heappush(heap, (-saved / extra, i, target, extra))

        for i in range(len(costs)):
            push(i)
        while heap:
            _, i, target, extra = heapq.heappop(heap)
            if extra > free:
                continue   # this layer's next step does not fit; cheaper ones may
            free -= extra
            counts[i] = target
            push(i)
        return counts
    # Pipelined: the slowest layer sets the pace; shorten it while it fits.
    while True:
        slowest = max(range(len(costs)), key=lambda i: costs[i].time_ns(counts[i]))
        cost = costs[slowest]
        step = _next_useful(cost.vectors, counts[slowest]) if cost.arrays else None
        if step is None or (step - counts[slowest]) * cost.arrays > free:
            return counts
        free -= (step - counts[slowest]) * cost.arrays
        counts[slowest] = step


def place(costs: Sequence[LayerCost], counts: list[int], arrays_per_tile: int,
          buffer_needs: Sequence[float] | None = None, tile_buffer: float = 0.0) -> list[Replica]:
    """Copies onto tiles in layer order, filling each tile's arrays before the next; a copy's
    vectors are its share of the layer's (the first copies take one more when they do not divide).

    With `buffer_needs` (per copy, in placement order: the input buffer one copy cannot run without,
    pipelined chips) a tile is also full when its eDRAM (`tile_buffer`) is: a copy whose need does
    not fit what is left of its tile's eDRAM starts on the next tile (the arrays left on this one
    stay empty), and a copy that needs more than one tile's eDRAM takes the eDRAM of as many whole
    tiles as it needs, from the one its arrays start on (their arrays hold later copies only as far
    as its own arrays reach)."""
    replicas, cursor = [], 0
    left: dict[int, float] = {}             # eDRAM not yet promised, per tile
    q = 0
    for i, (cost, n) in enumerate(zip(costs, counts)):
        base, extra = divmod(cost.vectors, n)
        for j in range(n):
            need = float(buffer_needs[q]) if buffer_needs is not None else 0.0
            q += 1
            tiles = 1
            if need > 0:
                tile = cursor // arrays_per_tile
                if need > tile_buffer:
                    tiles = math.ceil(need / tile_buffer) if tile_buffer > 0 else 1
                    if left.get(tile, tile_buffer) < tile_buffer:   # it takes whole tiles: start a fresh one
                        tile += 1
                        cursor = tile * arrays_per_tile
                    for t in range(tile, tile + tiles):
                        left[t] = 0.0
                else:
                    while left.get(tile, tile_buffer) < need:
                        tile += 1
                        cursor = tile * arrays_per_tile
                    left[tile] = left.get(tile, tile_buffer) - need
            home = cursor // arrays_per_tile
            last = max((cursor + max(cost.arrays, 1) - 1) // arrays_per_tile, home + tiles - 1)
            replicas.append(Replica(i, j, home, base + (1 if j < extra else 0), tiles, last, cursor))
            cursor += cost.arrays
            if tiles > 1:
                cursor = max(cursor, (home + tiles) * arrays_per_tile)
    return replicas
