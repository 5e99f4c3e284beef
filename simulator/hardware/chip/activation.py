"""Activation unit: applies the network's activation function to a layer's outputs, one value per action.

ISAAC Table I (tile): two Sigmoid units per tile, 0.52 mW in 0.0006 mm^2: 0.26 mW and 300 um^2
each. ISAAC gives no rate; the hardware file states one (shipped: one value per clock of ISAAC's
1.2 GHz tile, Table I's header), so an activation costs power / rate (0.26 mW / 1.2 per ns =
0.217 pJ). ISAAC has no separate ReLU unit: every activated value (ReLU, sigmoid, tanh, ...,
counted per output by simulator.lowering.post_ops) is charged one operation of this unit, an upper
bound for a ReLU, which is a sign test. Static power: the operating power split by
`leakage_share` (base.py); the unit sits outside the array periphery and leaks all the time.
"""

from __future__ import annotations

from dataclasses import dataclass

from simulator.hardware.chip.base import OperatingSplit


@dataclass(frozen=True)
class ActivationUnit:
    power_mw: float              # operating power at full activity
    ops_per_ns: float            # activated values per ns at full activity
    area_each_um2: float
    leakage_share: float

    def operating(self) -> OperatingSplit:
        return OperatingSplit.of(self.power_mw / self.ops_per_ns, self.ops_per_ns, self.leakage_share)

    def activate_energy_pj(self) -> float:
        return self.operating().energy_pj

    def area_um2(self) -> float:
        return self.area_each_um2

    def leakage_mw(self) -> float:
        return self.operating().leakage_mw
