"""A D flip-flop: one input bit latched per read (the row switch matrix's input register).

NeuroSim V1.4 `DFF.cpp`: a master-slave flip-flop of minimum transistors (W_n = 2 F, W_p =
pnSizeRatio x 2 F; DFF::Initialize). Per clock (DFF::CalculatePower, "the energy of CLK INV and CLK
TG are for 1 clock cycles"): (C_inv,in + C_inv,out) Vdd^2 x 4 + (C_g,n + C_g,p) Vdd^2 x 2 of its
transmission gates. Leakage: 8 minimum inverters' CalculateGateLeakage x Vdd. Area
(DFF::CalculateArea): 12 minimum inverters' widths in one standard-cell row.
"""

from __future__ import annotations

from dataclasses import dataclass

from simulator.hardware.chip.cmos import CmosNode


@dataclass(frozen=True)
class FlipFlop:
    node: CmosNode

    def clock_energy_pj(self) -> float:
        t = self.node
        w_n, w_p = t.min_inverter()
        c_in = t.gate_cap_f(w_n) + t.gate_cap_f(w_p)
        c_out = t.drain_cap_f(w_n, w_p)
        return ((c_in + c_out) * 4 + c_in * 2) * t.vdd ** 2 * 1e12

    def leakage_mw(self) -> float:
        return 8 * self.node.inverter_leakage_w(*self.node.min_inverter()) * 1e3

    def area_um2(self) -> float:
        return 12 * self.node.gate_area_um2(*self.node.min_inverter())
