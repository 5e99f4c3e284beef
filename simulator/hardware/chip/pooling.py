"""Max-pool unit: compares the outputs of a layer followed by pooling, one comparison per action.

ISAAC Table I (tile): one MaxPool unit per tile, 0.4 mW in 0.00024 mm^2. ISAAC gives no rate; the
hardware file states one (shipped: one comparison per clock of ISAAC's 1.2 GHz tile, Table I's
header), so a comparison costs power / rate (0.4 mW / 1.2 per ns = 0.333 pJ). A k x k max pool
compares each output's window: (window elements - 1) comparisons per pooled value (counted from
the layer geometry by simulator.lowering.post_ops); average pooling's additions are charged to the
same unit, as the only pooling hardware the chip has. Static power: the operating power split by
`leakage_share` (base.py); the unit sits outside the array periphery and leaks all the time.
"""

from __future__ import annotations

from dataclasses import dataclass

from simulator.hardware.chip.base import OperatingSplit


@dataclass(frozen=True)
class MaxPoolUnit:
    power_mw: float              # operating power at full activity
    ops_per_ns: float            # comparisons per ns at full activity
    area_each_um2: float
    leakage_share: float

    def operating(self) -> OperatingSplit:
        return OperatingSplit.of(self.power_mw / self.ops_per_ns, self.ops_per_ns, self.leakage_share)

    def compare_energy_pj(self) -> float:
        return self.operating().energy_pj

    def area_um2(self) -> float:
        return self.area_each_um2

    def leakage_mw(self) -> float:
        return self.operating().leakage_mw
