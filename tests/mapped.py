"""A network mapped for tests: `map_network` with a hand-written `MappingSetup`."""

from __future__ import annotations

from torch import nn

from simulator.mapping.network import MappedNetwork, map_network
from simulator.mapping.setup import MappingSetup


def mapped(model: nn.Module, shape: tuple[int, int, int], size: int, reorder: str, weight_bits: int = 8, *,
           seed: int = 0, cell_bits: int = 2, per_column: bool = False, encoding: str = "two-column") -> MappedNetwork:
    setup = MappingSetup(size=size, reorder=reorder, weight_bits=weight_bits, cell_bits=cell_bits, encoding=encoding,
                         per_column=per_column, seed=seed)
    return map_network(model, shape, setup)
