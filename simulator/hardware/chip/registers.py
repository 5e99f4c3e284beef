"""A tile's input or output registers, priced per bit that passes through them.

ISAAC Table I (per IMA, 12 IMAs per tile): the input register (IR), 2 KB, 1.24 mW, 0.0021 mm^2,
holds one 16-bit input for each row of the IMA's 8 arrays of 128 rows, consumed bit by bit by the
1-bit drivers in 16 cycles of 100 ns: 1024 bits written and read per 100 ns. The output register
(OR), 256 B, 0.23 mW, 0.00077 mm^2, holds the IMA's 128 16-bit outputs of one input; the tile's
3 KB OR (1.68 mW, 0.0032 mm^2) the 1536 outputs of its 12 IMAs, passed on to activation, pooling
and the eDRAM. So per tile: inputs 14.88 mW for 122.88 bit/ns (0.121 pJ per bit), outputs 4.44 mW
for 15.36 bit/ns (0.289 pJ per output bit through both ORs). The hardware file gives the power,
bit rate and area per tile; a bit costs power / rate, each written once and read once. Events
(chip_model.plan_layer): input bits = every placed row's input digit read in every phase (the
register feeds each array's drivers); output bits = the layer's outputs at input_bits per window.
A tile keeps its registers at every crossbar size, as it keeps its cell budget and its eDRAM.
Static power: the operating power split by `leakage_share` (base.py), all the time.
"""

from __future__ import annotations

from dataclasses import dataclass

from simulator.hardware.chip.base import OperatingSplit


@dataclass(frozen=True)
class TileRegisters:
    power_mw: float              # one tile's registers at full activity
    bits_per_ns: float           # bits they pass at full activity
    area_each_um2: float         # one tile's registers
    leakage_share: float

    def operating(self) -> OperatingSplit:
        return OperatingSplit.of(self.power_mw / self.bits_per_ns, self.bits_per_ns, self.leakage_share)

    def bit_energy_pj(self) -> float:
        return self.operating().energy_pj

    def area_um2(self) -> float:
        return self.area_each_um2

    def leakage_mw(self) -> float:
        return self.operating().leakage_mw
