"""Tiling strategies (`mapping.reorder`), all behind `TilingStrategy.tile(mask, size, seed)`.

Strategies are imported on first use so that loading one does not pay for the others.
"""

from __future__ import annotations

import importlib

from simulator.mapping.tiles import TilingStrategy

# name -> "module:class" (module under simulator.mapping.strategies)
_REGISTRY: dict[str, str] = {
    "none": "dense:DenseTiling",
    "skip-empty": "dense:SkipEmptyTiling",
    "compact": "compact:CompactTiling",
    "kmeans": "kmeans:KMeansTiling",
    "rcm": "rcm:RCMTiling",
    "graph": "graph:GraphTiling",
    "best": "best:BestTiling",
}

STRATEGY_NAMES: tuple[str, ...] = tuple(_REGISTRY)


def get_strategy(name: str) -> TilingStrategy:
    """An instance of the strategy called `name`."""
    if name not in _REGISTRY:
        raise ValueError(f"unknown tiling strategy {name!r}; allowed: {', '.join(_REGISTRY)}")
    module, cls = _REGISTRY[name].split(":")
    return getattr(importlib.import_module(f"{__name__}.{module}"), cls)()
