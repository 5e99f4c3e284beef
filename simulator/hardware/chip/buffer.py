"""The tile's eDRAM buffer and the bus from it to the arrays.

eDRAM (ISAAC Table I: 64 KB, 2 banks, 256-bit bus, 20.7 mW, 0.083 mm^2 per tile). Energy per
byte read or written: Accelergy's derivation, 20.45 pJ per 256-bit access (`hwcomponents-library
isaac.py` L20-26: Table I's power over the traffic of DACs and ADCs consuming the 16 KB input
buffer, every byte crossing IMA, eDRAM and network) = 0.639 pJ/B. The other derivation in the
notes (20.7 mW x 100 ns / 1 KB = 2.02 pJ/B, mimarsinan) assumes 1 KB per 100 ns; resim uses
Accelergy's, read and write alike. Bandwidth: the file's bits_per_ns. Leakage: the only published
eDRAM figure, 381 uW per Mbit at 16 nm (Giterman et al., IEEE SSC-L 2020, 1 Mbit 3T gain cell:
105 uW leakage + 276 uW refresh; `hwcomponents-library misc.py` RaaamEDRAM), scaled to the chip's
node with Stillmaker & Baas's energy factor (technology.py), as hwcomponents scales leakage. Table
I's 20.7 mW already holds ISAAC's own static power, so this adds at most 3.5 % at 32 nm.

Bus (ISAAC Table I eDRAM-to-IMA bus: 384 wires, 7 mW, 0.090 mm^2 per tile): Accelergy's 0.054 pJ
per bit (`isaac.py` L548-557); static power is the operating power split by `leakage_share` at the
file's bandwidth (base.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from simulator.hardware.chip.base import OperatingSplit
from simulator.hardware.chip.technology import energy_factor

MBIT = 2 ** 20


@dataclass(frozen=True)
class EdramBuffer:
    capacity_bytes: int
    access_bits: int
    energy_per_access_pj: float
    bits_per_ns: float
    area_each_um2: float
    leakage_mw_per_mbit: float
    leakage_node_nm: int
    technology_nm: int

    def byte_energy_pj(self) -> float:
        """One byte read or written."""
        return self.energy_per_access_pj * 8 / self.access_bits

    def transfer_ns(self, nbytes: float) -> float:
        return nbytes * 8 / self.bits_per_ns

    def area_um2(self) -> float:
        return self.area_each_um2

    def leakage_mw(self) -> float:
        per_mbit = self.leakage_mw_per_mbit * energy_factor(self.technology_nm, self.leakage_node_nm)
        return per_mbit * self.capacity_bytes * 8 / MBIT


@dataclass(frozen=True)
class Bus:
    energy_per_bit_pj: float
    bits_per_ns: float
    area_each_um2: float          # per tile
    leakage_share: float

    def operating(self) -> OperatingSplit:
        return OperatingSplit.of(self.energy_per_bit_pj, self.bits_per_ns, self.leakage_share)

    def bit_energy_pj(self) -> float:
        return self.operating().energy_pj

    def transfer_ns(self, bits: float) -> float:
        return bits / self.bits_per_ns

    def area_um2(self) -> float:
        return self.area_each_um2

    def leakage_mw(self) -> float:
        return self.operating().leakage_mw
