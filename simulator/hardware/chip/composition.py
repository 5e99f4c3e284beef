"""Seed 004's analog precision-composition tree (Lin et al., ASP-DAC 2019, Sec. V, Fig. 7).

"a tree circuits to make each current from different digital columns multiply their binary
coefficients, and through a trans-impedance amplifier": the slice columns of one weight, side by
side in one crossbar, are added with weights 2^(w j) before a single ADC conversion. Seed 004
publishes no energy, area or latency for it. The hardware file's figures are assumptions (the
shipped ones: one ISAAC shift-and-add operation per composed value, the digital work it replaces,
and one S+A unit's area per crossbar); static power is that operating power split by
`leakage_share` at one composition per conversion. The tree spans ceil(composed_bits / cell_bits)
columns. Latency: the tree settles with the bitline currents inside the crossbar read (an
assumption: seed 004 adds no cycle for it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from simulator.hardware.chip.base import OperatingSplit


@dataclass(frozen=True)
class CompositionTree:
    energy_per_composition_pj: float
    area_each_um2: float          # one tree per crossbar
    compositions_per_ns: float    # per tree at full activity
    leakage_share: float
    composed_bits: int
    cell_bits: int

    def span_columns(self) -> int:
        """Slice columns one composed value reads."""
        return math.ceil(self.composed_bits / self.cell_bits)

    def operating(self) -> OperatingSplit:
        return OperatingSplit.of(self.energy_per_composition_pj, self.compositions_per_ns, self.leakage_share)

    def compose_energy_pj(self) -> float:
        return self.operating().energy_pj

    def latency_ns(self) -> float:
        """Inside the crossbar read (assumption, see the module docstring)."""
        return 0.0

    def area_um2(self) -> float:
        return self.area_each_um2

    def leakage_mw(self) -> float:
        return self.operating().leakage_mw
