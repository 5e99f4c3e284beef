"""What the mapping stage needs to know, resolved once from a workload (design.md, stage 4).

Every consumer of a mapping (`resim run`, `resim map`, `resim faults`, crossbar-grained pruning,
hpp, fault-aware training, the hardware study) builds a `MappingSetup` and hands it to
`simulator.mapping.network.map_network`, so no two of them can map the same network differently.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from simulator.config.hardware import HardwareConfig
from simulator.config.loader import Workload
from simulator.config.workload import MappingSpec


@dataclass(frozen=True)
class MappingSetup:
    """How weight matrices become tiles and physical arrays."""

    size: int              # tile size N (rows = weight columns), cells
    reorder: str           # tiling strategy (mapping.reorder)
    weight_bits: int       # quantized weight precision, sign included
    cell_bits: int         # bits per cell, the hardware's default already resolved
    encoding: str          # sign encoding (mapping.encoding)
    per_column: bool       # one quantization scale per output column instead of per layer
    seed: int              # seed of randomised strategies (the workload's seed)
    array_cols: int = 128  # bitlines of one physical array (packing: adjacent-columns)
    packing: str = "across-arrays"   # how a tile's polarities and slices share physical arrays

    @classmethod
    def of(cls, workload: Workload, hardware: HardwareConfig | None = None, *, size: int | None = None,
           reorder: str | None = None) -> MappingSetup:
        """The setup of `workload`'s mapping section on `hardware` (default: the workload's own
        chip), at `size` and `reorder` when given (the dense and baseline mappings of the
        hardware study, `resim map`'s sweep)."""
        return cls.from_spec(workload.config.mapping, hardware if hardware is not None else workload.hardware,
                             workload.config.seed, size=size if size is not None else workload.crossbar_size,
                             reorder=reorder)

    @classmethod
    def from_spec(cls, mapping: MappingSpec, hardware: HardwareConfig, seed: int, *, size: int | None = None,
                  reorder: str | None = None) -> MappingSetup:
        """The setup of a mapping section on `hardware` without a workload file (the Python API's
        in-memory networks); `size` defaults to the mapping's crossbar size, else the array's rows."""
        return cls(size=size if size is not None else mapping.crossbar.size or hardware.array.rows,
                   reorder=reorder if reorder is not None else mapping.reorder,
                   weight_bits=mapping.weight_bits, cell_bits=mapping.cell_bits_on(hardware),
                   encoding=mapping.encoding, per_column=mapping.per_column_scale, seed=seed,
                   array_cols=hardware.array.cols, packing=hardware.array.packing)

    def at(self, *, size: int | None = None, reorder: str | None = None) -> MappingSetup:
        """The same setup at another tile size or strategy."""
        return dataclasses.replace(self, size=self.size if size is None else size,
                                   reorder=self.reorder if reorder is None else reorder)


@dataclass(frozen=True)
class Crossbars:
    """The crossbars a network sits on: its mapping for inputs of `input_shape` (where hpp's
    objective draws its faults)."""

    setup: MappingSetup
    input_shape: tuple[int, int, int]

    def key(self) -> dict[str, Any]:
        """As the crossbars enter the pruned network's cache key and hpp's log (the field names
        they had before MappingSetup existed, so cached hpp checkpoints stay valid)."""
        setup = self.setup
        return {"input_shape": list(self.input_shape), "size": setup.size, "strategy": setup.reorder,
                "weight_bits": setup.weight_bits, "cell_bits": setup.cell_bits, "per_column": setup.per_column}
