"""Index registers of reordered tiles.

Seed 004 (Sec. III end, Fig. 3): "The index registers are only added for the output vectors
because ... we can schedule the corresponding input voltages after NN mapping. ... the index units
are needed for ReRAM crossbars but not every matrix element. Besides, Due to the pre-splitting
procedure, we do not need to index among the huge matrix but inside the split small block." So a
reordered tile stores one register per output (column) it holds, ceil(log2(span)) bits wide, where
span is the width it indexes into (N by default: the crossbar's own columns; a mapping that
pre-splits into wider blocks passes the block width), and reads them when the tile's outputs are
routed to their places. Mode `rows-and-columns` keeps resim v1's upper bound: a register per used
row and per used column, every one read for every input vector.

Energy per bit read and area per bit are the file's (shipped: ISAAC Table I's 2 KB input register,
1.24 mW and 0.0021 mm^2, as 0.121 pJ per bit read for 8 x 128 bits per 100 ns and 0.128 um^2 per
bit). Full activity, as in that derivation: 1024 of the register's 16 384 bits read per 100 ns, so a
stored bit is read 1024 / 16384 / 100 times per ns; static power per stored bit: that operating
power split by `leakage_share` (base.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from simulator.hardware.chip.base import OperatingSplit


def entry_bits(span: int) -> int:
    """ceil(log2(span)): bits naming one of `span` positions."""
    return max(span - 1, 0).bit_length()


@dataclass(frozen=True)
class IndexRegisters:
    mode: Literal["rows-and-columns", "output-columns"]
    size: int
    energy_per_bit_pj: float
    area_per_bit_um2: float
    reads_per_bit_per_ns: float   # full activity of one stored bit
    leakage_share: float

    def operating(self) -> OperatingSplit:
        return OperatingSplit.of(self.energy_per_bit_pj, self.reads_per_bit_per_ns, self.leakage_share)

    def stored_bits(self, rows_used: int, cols_used: int, span: int | None = None) -> int:
        """Register bits one reordered tile stores."""
        width = entry_bits(span or self.size)
        if self.mode == "output-columns":
            return cols_used * width
        return (rows_used + cols_used) * width

    def stored_bits_total(self, rows_used: np.ndarray, cols_used: np.ndarray) -> int:
        """Register bits of reordered tiles with these used rows and columns, summed: `stored_bits`
        is linear in the counts, so it is `stored_bits` of the summed counts (one call per layer,
        not one per tile: the sensitivity study costs layers x chips x alternatives of them)."""
        return self.stored_bits(int(np.sum(rows_used)), int(np.sum(cols_used)))

    def bits_read_per_output_vector(self, rows_used: int, cols_used: int, span: int | None = None) -> int:
        """Bits read when one output vector of the tile is routed (output-columns), or per input
        vector (rows-and-columns): every stored bit once either way."""
        return self.stored_bits(rows_used, cols_used, span)

    def bit_read_energy_pj(self) -> float:
        return self.operating().energy_pj

    def area_um2_per_bit(self) -> float:
        return self.area_per_bit_um2

    def leakage_mw_per_bit(self) -> float:
        return self.operating().leakage_mw
