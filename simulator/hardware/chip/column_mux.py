"""The column multiplexer in front of a shared ADC, with its decoder.

NeuroSim V1.4 `Mux.cpp` (Mux::Initialize, not FPGA), as SubArray.cpp instantiates it for a
parallel read (`mux.Initialize(ceil(numCol / numColMuxed), numColMuxed, resTg, ...)` with resTg =
resMemCellAvg / numRowParallel): each input is a transmission gate sized to carry its column,
whose N driven cells conduct in parallel:

    R_tg = R_avg / N x 0.25                 (IR_DROP_TOLERANCE 0.25, constant.h)
    W_n  = R_on,n(F) x F / (2 R_tg),  W_p = R_on,p(F) x F / (2 R_tg), each at least F

with R_avg the average cell resistance (row_driver.py). One selection (Mux::CalculatePower, per
multiplexer and read): C_g,n Vdd^2 + 2 C_drain V_read^2, plus one decode of its
ceil(log2 inputs)-bit decoder (decoder.py, RowDecoder MUX mode; SubArray.cpp `muxDecoder.Initialize
(REGULAR_ROW, ceil(log2(numColMuxed)), true, false)`). Leakage: NeuroSim books none for the pass
gates (Mux::CalculatePower sets leakage = 0); the decoder's. Latency (Mux::CalculateLatency): 2.3 R_tg
(C_drain + (C_g,n + C_g,p) / 2), "charging from 0% to 90%", after the decoder's. Area: `inputs`
pass gates and the decoder. One input (no sharing): no multiplexer (SubArray.cpp `if
(numColMuxed > 1)`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from simulator.hardware.chip.cmos import CmosNode
from simulator.hardware.chip.decoder import Decoder
from simulator.hardware.chip.row_driver import average_cell_ohm

IR_DROP_TOLERANCE = 0.25        # NeuroSim constant.h


@dataclass(frozen=True)
class ColumnMux:
    """One `inputs`-to-1 multiplexer of columns of `rows` driven cells."""

    node: CmosNode
    inputs: int
    rows: int
    r_on_ohm: float
    r_off_ohm: float
    read_voltage_v: float

    @property
    def present(self) -> bool:
        return self.inputs > 1

    def decoder(self) -> Decoder:
        return Decoder(self.node, math.ceil(math.log2(self.inputs)) if self.present else 0, for_mux=True)

    def widths_m(self) -> tuple[float, float]:
        f = self.node.feature_m
        target = average_cell_ohm(self.r_on_ohm, self.r_off_ohm) / self.rows * IR_DROP_TOLERANCE
        w_n = self.node.on_resistance_ohm(f, "n") * f / (2 * target)
        w_p = self.node.on_resistance_ohm(f, "p") * f / (2 * target)
        return max(w_n, f), max(w_p, f)

    def select_energy_pj(self) -> float:
        if not self.present:
            return 0.0
        w_n, w_p = self.widths_m()
        gate = self.node.gate_cap_f(w_n) * self.node.vdd ** 2
        drain = 2 * self.node.drain_cap_f(w_n, w_p) * self.read_voltage_v ** 2
        return (gate + drain) * 1e12 + self.decoder().decode_energy_pj()

    def latency_ns(self) -> float:
        if not self.present:
            return 0.0
        w_n, w_p = self.widths_m()
        r_tg = 1.0 / (1.0 / self.node.on_resistance_ohm(w_n, "n") + 1.0 / self.node.on_resistance_ohm(w_p, "p"))
        c = self.node.drain_cap_f(w_n, w_p) + (self.node.gate_cap_f(w_n) + self.node.gate_cap_f(w_p)) / 2
        return 2.3 * r_tg * c * 1e9 + self.decoder().latency_ns()

    def area_um2(self) -> float:
        if not self.present:
            return 0.0
        return self.inputs * self.node.gate_area_um2(*self.widths_m()) + self.decoder().area_um2()

    def leakage_mw(self) -> float:
        return self.decoder().leakage_mw() if self.present else 0.0
