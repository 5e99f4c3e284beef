"""Digital shift-and-add: adds each converted value into its output at its bit weight.

ISAAC Table I: 4 S+A units per IMA (8 arrays) draw 0.2 mW in 0.00024 mm^2: 0.05 mW and 60 um^2 per
unit. Accelergy (`hwcomponents-library isaac.py` L466-471) prices one operation at
0.2 mW / (1.2 GS/s x 8) = 0.021 pJ, one operation per ADC conversion. resim's files give the unit
count per array (ISAAC: one unit's half-share, 30 um^2, per array). Full activity: one operation per
conversion of the tile's ADCs, shared among its units; static power: that operating power split by
`leakage_share` (base.py). Latency: an operation keeps pace with the ADC feeding it (one per
conversion), so it takes one conversion period; ISAAC's pipeline (Fig. 4b) gives S+A its own cycle.
"""

from __future__ import annotations

from dataclasses import dataclass

from simulator.hardware.chip.base import OperatingSplit


@dataclass(frozen=True)
class ShiftAdd:
    energy_per_op_pj: float
    area_each_um2: float
    ops_per_ns: float            # per unit at full activity
    leakage_share: float

    def operating(self) -> OperatingSplit:
        return OperatingSplit.of(self.energy_per_op_pj, self.ops_per_ns, self.leakage_share)

    def op_energy_pj(self) -> float:
        return self.operating().energy_pj

    def op_latency_ns(self) -> float:
        return 1.0 / self.ops_per_ns if self.ops_per_ns else 0.0

    def area_um2(self) -> float:
        return self.area_each_um2

    def leakage_mw(self) -> float:
        return self.operating().leakage_mw
