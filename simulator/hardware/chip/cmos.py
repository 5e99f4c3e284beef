"""CMOS transistors at a technology node: gate and drain capacitance, on-resistance, off-current.

The parameters are NeuroSim V1.4's (`Inference_pytorch/NeuroSIM/Technology.cpp`,
Technology::Initialize, conventional bulk transistors at 300 K: index 0 of the current tables), from
the PTM models it names, for the planar nodes resim ships or neighbours (45, 32, 22 nm), on both
roadmaps: LSTP (NeuroSim's default, Param.cpp `deviceroadmap = 2`) and HP. Units as there: gate
capacitances in F per m of width, currents in A per m of width (= uA/um).

    node roadmap  Vdd   C_ideal     C_fringe    R_mult  I_on,n  I_on,p  I_off,n    I_off,p   PTM card
    45   hp       1.0   4.091305e-10 4.957928e-10 1.54  1270    1080    100.00e-3  100.20e-3 45nm_HP.pm
    45   lstp     1.0   8.930709e-10 8.849901e-10 1.77   500.2   300.0  100.00e-6  100.20e-6 45nm_LP.pm
    32   hp       0.9   3.767721e-10 4.713762e-10 1.54  1410    1220    100.30e-3  100.10e-3 32nm_HP.pm
    32   lstp     0.9   8.375279e-10 6.856677e-10 1.77   600.2   400.0  100.10e-6  100.10e-6 32nm_LP.pm
    22   hp       0.85  3.287e-10    4.532e-10    1.54  1500    1320    100.20e-3  100.20e-3 22nm.pm
    22   lstp     0.85  5.245e-10    8.004e-10    1.77   791.9   600.2  100.00e-6  100.00e-6 22nm_LP.pm

Formulas, each NeuroSim V1.4 `formula.cpp` for bulk nodes (>= 22 nm):

- CalculateGateCap: C_g = (C_ideal + C_overlap + C_fringe) W, C_overlap = 0.2 C_ideal
  (Technology.cpp, "capOverlap = capIdealGate * 0.2" for >= 22 nm), capPolywire = 0.
- CalculateOnResistance_normal: R_on = Vdd / (I_on W); CalculateOnResistance multiplies it by
  the CACTI effective-resistance multiplier.
- CalculateGateLeakage (INV): I_leak = (W_n I_off,n + W_p I_off,p) / 2; static power = I_leak Vdd.
  NAND: AVG_RATIO_LEAK_2INPUT_NAND = 0.48 x inputs x W_p I_off,p (constant.h).
- CalculateGateCapacitance (output of an INV, drain cap): junction (bottom) C_j x drain width x
  drain height + sidewall C_sw x (2 x drain width + drain height) + drain-to-channel C_dc x drain
  height x folds, with drain width = ceil((folds + 1) / 2) x 2.8 F (MIN_GAP_BET_GATE_POLY) and a
  transistor folded into ceil(W / W_max) fingers of height W_max (W_max from the standard-cell
  height of 28 F, MAX_TRANSISTOR_HEIGHT, less the poly extensions 2 x (1 + 1.6 / 2) F and, for a
  pair, the 3.5 F n-p gap shared by width ratio). C_j = 1e-3 F/m^2 / (1 + Vdd / 0.9)^0.5,
  C_sw = 2.5e-10 F/m / (1 + Vdd / 0.9)^0.33, C_dc = 0.5e-10 F/m / (1 + Vdd / 0.9)^0.33
  (Technology.cpp, cjd, cjswd, cjswgd, built-in potential 0.9 V).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Roadmap = Literal["lstp", "hp"]

# Layout rules, NeuroSim V1.4 constant.h (in feature sizes F).
CELL_HEIGHT_F = 28.0            # MAX_TRANSISTOR_HEIGHT
DRAIN_WIDTH_F = 2.8             # MIN_GAP_BET_GATE_POLY
POLY_EXTENSIONS_F = 2 * (1.0 + 1.6 / 2)   # 2 x (MIN_POLY_EXT_DIFF + MIN_GAP_BET_FIELD_POLY / 2)
PN_GAP_F = 3.5                  # MIN_GAP_BET_P_AND_N_DIFFS
POLY_PITCH_F = 1.0 + 2.8         # POLY_WIDTH + MIN_GAP_BET_GATE_POLY
MIN_NMOS_F = 2.0                # MIN_NMOS_SIZE
NAND2_LEAK_RATIO = 0.48         # AVG_RATIO_LEAK_2INPUT_NAND
BUILT_IN_POTENTIAL_V = 0.9      # Technology.cpp buildInPotential


@dataclass(frozen=True)
class CmosNode:
    """Transistor parameters of one node and roadmap (NeuroSim V1.4 Technology.cpp, 300 K)."""

    node_nm: int
    roadmap: Roadmap
    vdd: float
    cap_ideal_gate: float       # F/m
    cap_fringe: float           # F/m
    resistance_multiplier: float
    on_current_n: float         # A/m
    on_current_p: float
    off_current_n: float        # A/m
    off_current_p: float

    @property
    def feature_m(self) -> float:
        return self.node_nm * 1e-9

    @property
    def pn_ratio(self) -> float:
        """PMOS width per NMOS width for equal drive (Technology.cpp pnSizeRatio)."""
        return self.on_current_n / self.on_current_p

    # Capacitance -------------------------------------------------------------------------

    def gate_cap_f(self, width_m: float) -> float:
        return (self.cap_ideal_gate * 1.2 + self.cap_fringe) * width_m

    def _junction(self) -> tuple[float, float, float]:
        grade = 1 + self.vdd / BUILT_IN_POTENTIAL_V
        return 1e-3 / grade ** 0.5, 2.5e-10 / grade ** 0.33, 0.5e-10 / grade ** 0.33

    def _fingers(self, width_n_m: float, width_p_m: float) -> list[tuple[float, int, float]]:
        """(width, folds, finger height) of each transistor of an inverter or pass-gate pair folded
        into the standard-cell height (a single transistor takes the whole height)."""
        f = self.feature_m
        height = CELL_HEIGHT_F * f
        if width_n_m > 0 and width_p_m > 0:
            ratio = width_p_m / (width_n_m + width_p_m)
            usable = height - PN_GAP_F * f - POLY_EXTENSIONS_F * f
            most = {"n": (1 - ratio) * usable, "p": ratio * usable}
        else:
            most = {"n": height - POLY_EXTENSIONS_F * f, "p": height - POLY_EXTENSIONS_F * f}
        out = []
        for width, limit in ((width_n_m, most["n"]), (width_p_m, most["p"])):
            if width > 0:
                folds = 1 if width <= limit else math.ceil(width / limit)
                out.append((width, folds, width if folds == 1 else limit))
        return out

    def drain_cap_f(self, width_n_m: float, width_p_m: float) -> float:
        """Output (drain) capacitance of an inverter or pass-gate pair of these widths."""
        c_j, c_sw, c_dc = self._junction()
        total = 0.0
        for _, folds, drain_h in self._fingers(width_n_m, width_p_m):
            drain_w = math.ceil((folds + 1) / 2) * DRAIN_WIDTH_F * self.feature_m
            sidewall = 2 * drain_w + drain_h * (1 + (folds + 1) % 2)
            total += c_j * drain_w * drain_h + c_sw * sidewall + c_dc * drain_h * folds
        return total

    def gate_area_um2(self, width_n_m: float, width_p_m: float) -> float:
        """CalculateGateArea (INV, bulk): the 28 F standard-cell height x (folds + 1) contacted poly
        pitches of 3.8 F (POLY_WIDTH + MIN_GAP_BET_GATE_POLY)."""
        f = self.feature_m
        folds = max((k for _, k, _ in self._fingers(width_n_m, width_p_m)), default=0)
        return CELL_HEIGHT_F * f * (folds + 1) * POLY_PITCH_F * f * 1e12

    # Resistance and leakage ----------------------------------------------------------------

    def on_resistance_ohm(self, width_m: float, kind: Literal["n", "p"]) -> float:
        """CalculateOnResistance_normal: Vdd / (I_on W)."""
        current = self.on_current_n if kind == "n" else self.on_current_p
        return self.vdd / (current * width_m)

    def inverter_leakage_w(self, width_n_m: float, width_p_m: float) -> float:
        """CalculateGateLeakage(INV) x Vdd: half the time each transistor is off."""
        return (width_n_m * self.off_current_n + width_p_m * self.off_current_p) / 2 * self.vdd

    def nand2_leakage_w(self, width_p_m: float) -> float:
        """CalculateGateLeakage(NAND, 2) x Vdd."""
        return NAND2_LEAK_RATIO * 2 * width_p_m * self.off_current_p * self.vdd

    def min_inverter(self) -> tuple[float, float]:
        """NeuroSim's minimum inverter: W_n = 2 F (MIN_NMOS_SIZE), W_p = pnSizeRatio x W_n."""
        w_n = MIN_NMOS_F * self.feature_m
        return w_n, self.pn_ratio * w_n


NODES: dict[tuple[int, Roadmap], CmosNode] = {
    (45, "hp"): CmosNode(45, "hp", 1.0, 4.091305e-10, 4.957928e-10, 1.54, 1.27e3, 1.08e3, 100.00e-3, 100.20e-3),
    (45, "lstp"): CmosNode(45, "lstp", 1.0, 8.930709e-10, 8.849901e-10, 1.77, 500.20, 300.00, 100.00e-6, 100.20e-6),
    (32, "hp"): CmosNode(32, "hp", 0.9, 3.767721e-10, 4.713762e-10, 1.54, 1.41e3, 1.22e3, 100.30e-3, 100.10e-3),
    (32, "lstp"): CmosNode(32, "lstp", 0.9, 8.375279e-10, 6.856677e-10, 1.77, 600.20, 400.00, 100.10e-6, 100.10e-6),
    (22, "hp"): CmosNode(22, "hp", 0.85, 3.287e-10, 4.532e-10, 1.54, 1.50e3, 1.32e3, 100.20e-3, 100.20e-3),
    (22, "lstp"): CmosNode(22, "lstp", 0.85, 5.245e-10, 8.004e-10, 1.77, 791.90, 600.20, 100.00e-6, 100.00e-6),
}


def cmos_node(node_nm: int, roadmap: Roadmap) -> CmosNode:
    node = NODES.get((node_nm, roadmap))
    if node is None:
        have = sorted({n for n, _ in NODES})
        raise ValueError(f"no NeuroSim transistor parameters for {node_nm} nm ({roadmap}); the circuit models "
                         f"cover {have} nm: set technology_nm to one of them or use the isaac-constant driver")
    return node
