"""An address decoder: the row decoder of an array, or the decoder of a column multiplexer.

NeuroSim V1.4 `RowDecoder.cpp` (REGULAR_ROW, not parallel), for k address bits: 2-bit predecoding
into NAND2 gates, then one NOR of ceil(k / 2) inputs per output, then an output stage:

    k input inverters           W_n = 2 F, W_p = pn x 2 F (MIN_NMOS_SIZE; pn = pnSizeRatio)
    4 floor(k / 2) NAND2        W_n = 2 x 2 F, W_p = pn x 2 F
    2^k NORs (only if k > 2)    W_n = 2 F, W_p = ceil(k / 2) x pn x 2 F
    per output: a wordline driver (2 inverters, W_n = 2 x 2 F, W_p = pn x 2 x 2 F, Param.cpp
    sizingfactor_WLdecoder = 1) or, for a multiplexer, a NAND2 and 2 inverters (RowDecoder
    MUX = true, sizingfactor_MUX = 1 above 22 nm)

Leakage (RowDecoder::CalculatePower): every gate's CalculateGateLeakage x Vdd (cmos.py; a NOR of
m inputs: 0.95 (m = 2) or 0.62 (m > 2) x m x W_n I_off,n, constant.h AVG_RATIO_LEAK_*_NOR).
Energy of one decode (the same function, "rough calculation assuming all addr from 0 to 1"): the
input inverters and the NAND2 inputs they drive, one NAND2 output in four and the NOR inputs it
drives, one NOR output and its driver, each C Vdd^2. Gate outputs are taken as the drain
capacitance of an inverter of the gate's widths (the stacked transistors' extra drains are
neglected). The load the decoder's outputs drive (a multiplexer's pass gates) is booked by that
load. Latency: the output driver charging its own output, 0.69 R_on C (first order). Area: the gates'
standard cells (CalculateGateArea, cmos.py), NAND and NOR as one cell per input.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from simulator.hardware.chip.cmos import MIN_NMOS_F, CmosNode

NOR2_LEAK_RATIO, NOR3_LEAK_RATIO = 0.95, 0.62     # constant.h AVG_RATIO_LEAK_2INPUT_NOR / _3INPUT_NOR


@dataclass(frozen=True)
class Decoder:
    """A decoder of `address_bits` bits; `for_mux`: the multiplexer enable stage (RowDecoder MUX)."""

    node: CmosNode
    address_bits: int
    for_mux: bool

    def _widths(self) -> dict[str, tuple[float, float]]:
        f, pn, k = self.node.feature_m, self.node.pn_ratio, self.address_bits
        w = MIN_NMOS_F * f
        return {"inv": (w, pn * w), "nand": (2 * w, pn * w), "nor": (w, math.ceil(k / 2) * pn * w),
                "driver": (2 * w, 2 * pn * w)}

    def _counts(self) -> dict[str, int]:
        k = self.address_bits
        nors = 2 ** k if k > 2 else 0
        return {"inv": k, "nand": 4 * (k // 2), "nor": nors}

    def _cap_in(self, gate: str) -> float:
        w_n, w_p = self._widths()[gate]
        return self.node.gate_cap_f(w_n) + self.node.gate_cap_f(w_p)

    def _cap_out(self, gate: str) -> float:
        return self.node.drain_cap_f(*self._widths()[gate])

    def decode_energy_pj(self) -> float:
        if self.address_bits < 1:
            return 0.0
        k, n = self.address_bits, self._counts()
        nor_in, nand_in, inv_in = self._cap_in("nor"), self._cap_in("nand"), self._cap_in("inv")
        c = (inv_in + 2 * nand_in) * 2 * (k // 2) + (inv_in + nor_in * n["nor"] / 2) * (k % 2)
        c += (self._cap_out("nand") + nor_in * n["nor"] / 4) * n["nand"] / 4
        c += self._cap_out("nor") + (nand_in if self.for_mux else inv_in)
        drv_in, drv_out = self._cap_in("driver"), self._cap_out("driver")
        c += (self._cap_out("nand") + drv_in + drv_out + drv_in + drv_out) if self.for_mux else 2 * (drv_in + drv_out)
        return c * self.node.vdd ** 2 * 1e12

    def leakage_mw(self) -> float:
        if self.address_bits < 1:
            return 0.0
        t, w, n = self.node, self._widths(), self._counts()
        m = math.ceil(self.address_bits / 2)
        nor_ratio = NOR2_LEAK_RATIO if m == 2 else NOR3_LEAK_RATIO
        watts = n["inv"] * t.inverter_leakage_w(*w["inv"]) + n["nand"] * t.nand2_leakage_w(w["nand"][1])
        watts += n["nor"] * nor_ratio * m * w["nor"][0] * t.off_current_n * t.vdd
        if self.for_mux:
            watts += n["nor"] * (t.nand2_leakage_w(w["nand"][1]) + 2 * t.inverter_leakage_w(*w["inv"]))
        else:
            watts += n["nor"] * 2 * t.inverter_leakage_w(*w["driver"])
        return watts * 1e3

    def latency_ns(self) -> float:
        w_n, _ = self._widths()["driver"]
        return 0.69 * self.node.on_resistance_ohm(w_n, "n") * self._cap_out("driver") * 1e9

    def area_um2(self) -> float:
        if self.address_bits < 1:
            return 0.0
        t, w, n = self.node, self._widths(), self._counts()
        m = math.ceil(self.address_bits / 2)
        area = n["inv"] * t.gate_area_um2(*w["inv"]) + n["nand"] * 2 * t.gate_area_um2(*w["nand"])
        area += n["nor"] * m * t.gate_area_um2(*w["nor"])
        stage = 2 * t.gate_area_um2(*w["nand"]) + 2 * t.gate_area_um2(*w["inv"]) if self.for_mux \
            else 2 * t.gate_area_um2(*w["driver"])
        return area + n["nor"] * stage
