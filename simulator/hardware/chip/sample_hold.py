"""Sample-and-hold: one per bitline; holds a column's value while the ADC converts it.

ISAAC Table I: 8 x 128 S+H per IMA draw 10 uW in 0.00004 mm^2, so 9.77 nW and 0.039 um^2 each,
and one sample per 100 ns read: 10 uW x 100 ns / 1024 = 0.977 fJ per sample. The circuit ISAAC
cites is O'Halloran & Sarpeshkar, "A 10-nW 12-bit Accurate Analog Storage Cell" (ISAAC ref. [48]).
Two models (`sample_hold.model`): `operating-split` (SampleHold) splits that operating power by
`leakage_share` at one sample per read (base.py); `hold-cell` (HoldCell) reads the cited cell's
power as what it is, a static hold power. Latency: the sample is taken within the crossbar read (ISAAC Fig. 4b),
so it adds no stage of its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from simulator.hardware.chip.base import OperatingSplit
from simulator.hardware.chip.cmos import CmosNode


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


@dataclass(frozen=True)
class HoldCell:
    """Sample-and-hold model `hold-cell`: the cited cell's power is its static hold power.

    The S+H ISAAC cites (O'Halloran & Sarpeshkar, "A 10-nW 12-bit Accurate Analog Storage Cell with
    10-aA Leakage", IEEE JSSC 39(11), 2004; ISAAC ref. [48]) is a storage cell whose 10 nW is drawn
    while it holds, whatever the sampling rate; ISAAC's Table I figure, 10 uW per 1024 S+H = 9.77 nW
    each, is that cell's power. So the whole figure is static power (no leakage_share split), and a
    sample costs the switching of its sampling pass gate: a minimum transmission gate (W_n = 2 F,
    W_p = pnSizeRatio x 2 F, as NeuroSim V1.4's digital pass gates, Mux.cpp FPGA mode) switched
    at Vdd with its drain charged to the read voltage, C_g,n Vdd^2 + 2 C_drain V_read^2 (the
    per-selection energy of NeuroSim's Mux::CalculatePower).
    """

    node: CmosNode
    hold_power_nw: float
    area_each_um2: float
    read_voltage_v: float

    def sample_energy_pj(self) -> float:
        w_n, w_p = self.node.min_inverter()
        gate = self.node.gate_cap_f(w_n) * self.node.vdd ** 2
        return (gate + 2 * self.node.drain_cap_f(w_n, w_p) * self.read_voltage_v ** 2) * 1e12

    def latency_ns(self) -> float:
        """Inside the crossbar read: no stage of its own."""
        return 0.0

    def area_um2(self) -> float:
        return self.area_each_um2

    def leakage_mw(self) -> float:
        return self.hold_power_nw * 1e-6
