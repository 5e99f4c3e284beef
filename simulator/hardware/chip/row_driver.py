"""The wordline driver sized to its load (model `neurosim-load`): a row switch matrix.

NeuroSim V1.4 drives a cross-point array's rows in a parallel read through a row switch matrix,
one transmission gate (TG) per row sized to what the row carries (`SubArray.cpp`,
SubArray::Initialize, cross-point conventionalParallel: `wlSwitchMatrix.Initialize(ROW_MODE, numRow,
resTg * numRow / numCol, ...)` with resTg = resMemCellAvg / numRowParallel). NVSim sizes its
wordline driver to the wordline's load the same way (SubArray.cpp, wordline length = columns x
cell width). With every row driven (numRowParallel = N) the row's load is its N cells in parallel:

    R_avg  = 2 / (1 / R_on + 1 / R_off)               (resMemCellAvg)
    R_load = R_avg / N
    R_tg   = R_load x 0.1                              (SwitchMatrix::Initialize; Param.cpp
                                                        switchmatrixsizeratio 0.1, 0.2 at 22 nm)
    W_n    = R_on,n(F) x F x 0.2 / (2 R_tg)            (LINEAR_REGION_RATIO 0.2; R_on,n(F) =
    W_p    = R_on,p(F) x F x 0.2 / (2 R_tg)             Vdd / (I_on F)), each at least F

so the gate widens, and its capacitance grows, with the N cells it drives. One drive of one row
(SwitchMatrix::CalculatePower, neuro ROW_MODE read):

    E_switch = 3 C_drain V_read^2 + (C_g,n + C_g,p) Vdd^2

plus the wordline wire charged to the read voltage, C_WL V_read^2 (wires.py), plus the input
register: the switch matrix holds each row's input in a flip-flop (SwitchMatrix: `dff.Initialize
(numOutput)`), here `bits` of them clocked once per drive (flip_flop.py).

A `bits`-bit driver: NeuroSim applies a multi-bit input one bit per read pulse, each pulse one
switch-matrix drive; a b-bit driver applies one of 2^b levels in one drive, and the row's load is
the same, so the pass gate and the line cost what one pulse costs. The levels come from voltage
sources shared by a mat's drivers (PRIME, ISCA 2016, Sec. III-B); their own energy has no cited
figure and is not modelled here.

Latency (SwitchMatrix::CalculateLatency, no repeaters): 0.69 R_tg C_out + C_line (0.69 R_tg + 0.38
R_line), C_out = 2 C_drain + (C_g,n + C_g,p) / 2. Leakage: "Only DFF has leakage" (SwitchMatrix::
CalculatePower): `bits` flip-flops. Area: two pass gates per row (SwitchMatrix::CalculateArea, wTg x
2) and the flip-flops.
"""

from __future__ import annotations

from dataclasses import dataclass

from simulator.hardware.chip.cmos import CmosNode
from simulator.hardware.chip.flip_flop import FlipFlop
from simulator.hardware.chip.wires import Line

LINEAR_REGION_RATIO = 0.20      # NeuroSim constant.h


def switch_size_ratio(node_nm: int) -> float:
    """Param.cpp: switchmatrixsizeratio = 0.1, set to 0.2 for the 22 nm node and below."""
    return 0.2 if node_nm <= 22 else 0.1


def average_cell_ohm(r_on_ohm: float, r_off_ohm: float) -> float:
    """SubArray.cpp resMemCellAvg with half the cells on and half off, per cell."""
    return 2.0 / (1.0 / r_on_ohm + 1.0 / r_off_ohm)


@dataclass(frozen=True)
class LoadSizedDriver:
    """One row's switch-matrix driver, sized to its N cells."""

    node: CmosNode
    bits: int
    cells: int                 # N: cells on the wordline
    r_on_ohm: float
    r_off_ohm: float
    wordline: Line
    read_voltage_v: float

    def target_ohm(self) -> float:
        load = average_cell_ohm(self.r_on_ohm, self.r_off_ohm) / self.cells
        return load * switch_size_ratio(self.node.node_nm)

    def widths_m(self) -> tuple[float, float]:
        f, target = self.node.feature_m, self.target_ohm()
        w_n = self.node.on_resistance_ohm(f, "n") * f * LINEAR_REGION_RATIO / (2 * target)
        w_p = self.node.on_resistance_ohm(f, "p") * f * LINEAR_REGION_RATIO / (2 * target)
        return max(w_n, f), max(w_p, f)

    def gate_cap_f(self) -> float:
        w_n, w_p = self.widths_m()
        return self.node.gate_cap_f(w_n) + self.node.gate_cap_f(w_p)

    def drain_cap_f(self) -> float:
        return self.node.drain_cap_f(*self.widths_m())

    def tg_ohm(self) -> float:
        w_n, w_p = self.widths_m()
        return 1.0 / (1.0 / self.node.on_resistance_ohm(w_n, "n") + 1.0 / self.node.on_resistance_ohm(w_p, "p"))

    def switch_energy_pj(self) -> float:
        return (3 * self.drain_cap_f() * self.read_voltage_v ** 2 + self.gate_cap_f() * self.node.vdd ** 2) * 1e12

    def register_energy_pj(self) -> float:
        return self.bits * FlipFlop(self.node).clock_energy_pj()

    def wordline_energy_pj(self) -> float:
        return self.wordline.charge_energy_pj(self.read_voltage_v)

    def drive_energy_pj(self) -> float:
        """One drive of one wordline."""
        return self.switch_energy_pj() + self.register_energy_pj() + self.wordline_energy_pj()

    def latency_ns(self) -> float:
        r_tg = self.tg_ohm()
        c_out = 2 * self.drain_cap_f() + self.gate_cap_f() / 2
        c_line = self.wordline.capacitance_ff * 1e-15
        r_line = (self.wordline.resistance_ohm_per_um or 0.0) * self.wordline.length_um
        return (0.69 * r_tg * c_out + c_line * (0.69 * r_tg + 0.38 * r_line)) * 1e9

    def area_um2(self) -> float:
        return 2 * self.node.gate_area_um2(*self.widths_m()) + self.bits * FlipFlop(self.node).area_um2()

    def leakage_mw(self) -> float:
        return self.bits * FlipFlop(self.node).leakage_mw()
