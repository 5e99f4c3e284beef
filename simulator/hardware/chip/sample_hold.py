"""Sample-and-hold: one per bitline; holds a column's value while the ADC converts it.

ISAAC Table I: 8 x 128 S+H per IMA draw 10 uW in 0.00004 mm^2, so 9.77 nW and 0.039 um^2 each,
and one sample per 100 ns read: 10 uW x 100 ns / 1024 = 0.977 fJ per sample. The circuit ISAAC
cites is O'Halloran & Sarpeshkar, "A 10-nW 12-bit Accurate Analog Storage Cell" (ISAAC ref. [48]).
Static power: the operating power split by `leakage_share` at one sample per read (base.py); no
published S+H leakage exists. Latency: the sample is taken within the crossbar read (ISAAC Fig. 4b),
so it adds no stage of its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from simulator.hardware.chip.base import OperatingSplit


@dataclass(frozen=True)
class SampleHold:
    energy_per_sample_pj: float
    area_each_um2: float
    samples_per_ns: float       # full activity: one sample per read
    leakage_share: float

    def operating(self) -> OperatingSplit:
        return OperatingSplit.of(self.energy_per_sample_pj, self.samples_per_ns, self.leakage_share)

    def sample_energy_pj(self) -> float:
        return self.operating().energy_pj

    def latency_ns(self) -> float:
        """Inside the crossbar read: no stage of its own."""
        return 0.0

    def area_um2(self) -> float:
        return self.area_each_um2

    def leakage_mw(self) -> float:
        return self.operating().leakage_mw
