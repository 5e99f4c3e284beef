"""The column ADC: resolution for N rows, energy and area per conversion, sample rate, leakage.

Resolution: simulator.converters (one rule for the energy and the accuracy side), summarised here.
ISAAC (Shafiee et al., ISCA 2016, Sec. V, eqs. 1-2): a column of R rows, v-bit inputs
and w-bit cells needs

    A = log2(R) + v + w        if v > 1 and w > 1
    A = log2(R) + v + w - 1    otherwise

(for R = 128, v = 1, w = 2: 9 bits; ISAAC's flipped-weight encoding saves one, "Without the
encoding scheme, we would either need a 9-bit ADC or half as many rows"). Both cases are
ceil(log2(R (2^v - 1)(2^w - 1) + 1)), the bits of the largest column sum, for power-of-two R.

Derived here for seed 004's analog composition tree (Sec. V, Fig. 7): the tree adds the S slice
columns of one weight with weights 2^(w j), so its largest output is
R (2^v - 1)(2^w - 1) sum_j 2^(w j) = R (2^v - 1)(2^(w S) - 1): the composed value is read like one
cell of w S bits, so w becomes the composed bits (S x cell bits). Analog subtraction of a positive
and a negative column (PRIME Sec. III) spans [-M, M] instead of [0, M]: one more bit. A converter
that spans only `range_fraction` of the largest sum (ISAAC's encoding: 1/2) needs log2(1 /
range_fraction) bits fewer. The result is capped at `adc.max_bits` (PRIME's 6-bit sense amplifiers).

Energy and area, two models:

- `table`: energy_pj_by_bits / area_um2_by_bits of the hardware file at the resolution. The shipped
  table is Accelergy's scaling of ISAAC's 8-bit ADC (`hwcomponents-library isaac.py` L305-314,
  "scaled versions based on M. Saberi ... 2011"); its energy does not depend on the sample rate.
- `murmann`: the fit of Murmann's ADC survey in Accelergy's hwcomponents-adc (Andrulis et al.,
  arXiv 2404.06553; `hwcomponents_adc/model.py` get_energy / get_area, constants in
  `adc_data/model.yaml` @ 246af7e), with b the bits (ENOB), f the sample rate of one ADC in Hz and
  T the node in nm:

      SNDR = 6.0206 b + 1.7609 dB                          (headers.py bits2sndr)
      FoMS = min(213.7806687 - 2.8719030 ln f, 128.3068287 + 3.2205115 ceil(b))  dB
      E0   = 1 / (2 x 10^((FoMS - SNDR) / 10))
      E    = E0 exp(26.0496216 + 1.8800369 ln T - 2.8291256 ln b - 1.4702022)   pJ
      A    = exp(1.3461916 + 0.9932795 ln T + 0.1807154 ln f + 0.2991243 ln E)   um^2

  hwcomponents-adc asserts b >= 4; a smaller converter is priced as 4 bits here (an upper bound).
  Above 10 GHz (ln f > 23.0258509) the fit extrapolates, as hwcomponents-adc does when allowed.

Leakage: hwcomponents-adc main.py, "Assume leakage is 20% of the total energy": leakage =
share x E x f and a conversion costs (1 - share) x E (base.py), share = the file's leakage_share.
Latency of one conversion: 1 / sample rate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from simulator.converters import isaac_bits, required_bits, resolve_bits
from simulator.hardware.chip.base import OperatingSplit

# The resolution rule lives with the chip's other converter settings (simulator.converters), where
# the bit-true emulation reads it too; named here for the component's readers.
__all__ = ["Adc", "isaac_bits", "murmann_area_um2", "murmann_energy_pj", "required_bits", "resolve_bits"]

# hwcomponents-adc @ 246af7e, adc_data/model.yaml (Accelergy; Andrulis et al., arXiv 2404.06553).
FOMS_INTERCEPT = 213.7806687
FOMS_PER_LN_HZ = -2.8719030
MAX_FOMS_INTERCEPT = 128.3068287    # maxFoM[k] = 128.3068287 + 3.2205115 k, k = 0..20
MAX_FOMS_PER_BIT = 3.2205115
MAX_FOMS_LAST = 20
TECH_INTERCEPT = 26.0496216
TECH_SLOPE = 1.8800369              # per ln(nm)
ENOB_SLOPE = -2.8291256             # per ln(bits)
ENERGY_RESIDUAL = -1.4702022
AREA_INTERCEPT = 1.3461916
AREA_PER_LN_TECH = 0.9932795
AREA_PER_LN_HZ = 0.1807154
AREA_PER_LN_PJ = 0.2991243
MIN_BITS = 4                        # hwcomponents-adc main.py: assert n_bits >= 4


def murmann_energy_pj(bits: float, sample_rate_hz: float, technology_nm: float) -> float:
    """Energy of one conversion (pJ), the whole operating energy before the leakage split."""
    b = max(bits, MIN_BITS)
    foms = min(FOMS_INTERCEPT + FOMS_PER_LN_HZ * math.log(sample_rate_hz),
               MAX_FOMS_INTERCEPT + MAX_FOMS_PER_BIT * min(math.ceil(b), MAX_FOMS_LAST))
    sndr = 6.0206 * b + 1.7609
    e0 = 1.0 / (2.0 * 10 ** ((foms - sndr) / 10))
    return e0 * math.exp(TECH_INTERCEPT + TECH_SLOPE * math.log(technology_nm) + ENOB_SLOPE * math.log(b)
                         + ENERGY_RESIDUAL)


def murmann_area_um2(bits: float, sample_rate_hz: float, technology_nm: float) -> float:
    energy = murmann_energy_pj(bits, sample_rate_hz, technology_nm)
    return math.exp(AREA_INTERCEPT + AREA_PER_LN_TECH * math.log(technology_nm)
                    + AREA_PER_LN_HZ * math.log(sample_rate_hz) + AREA_PER_LN_PJ * math.log(energy))


@dataclass(frozen=True)
class Adc:
    """One column ADC at `bits` converting `sample_rate_gsps` values per ns at most."""

    bits: int
    sample_rate_gsps: float
    model: Literal["table", "murmann"]
    technology_nm: int
    leakage_share: float
    energy_table_pj: dict[int, float]
    area_table_um2: dict[int, float]

    def __post_init__(self) -> None:
        if self.model == "table":
            for name, table in (("energy_pj_by_bits", self.energy_table_pj), ("area_um2_by_bits", self.area_table_um2)):
                if self.bits not in table:
                    raise ValueError(f"adc.{name} has no entry for the {self.bits}-bit ADC this crossbar size needs "
                                     f"(it has {sorted(table)}); add one with its source, cap adc.max_bits, or use "
                                     f"adc.energy_model murmann")

    def operating_energy_pj(self) -> float:
        """Energy per conversion before the leakage split (the model's figure)."""
        if self.model == "table":
            return self.energy_table_pj[self.bits]
        return murmann_energy_pj(self.bits, self.sample_rate_gsps * 1e9, self.technology_nm)

    def operating(self) -> OperatingSplit:
        return OperatingSplit.of(self.operating_energy_pj(), self.sample_rate_gsps, self.leakage_share)

    def convert_energy_pj(self) -> float:
        return self.operating().energy_pj

    def convert_latency_ns(self) -> float:
        return 1.0 / self.sample_rate_gsps

    def area_um2(self) -> float:
        if self.model == "table":
            return self.area_table_um2[self.bits]
        return murmann_area_um2(self.bits, self.sample_rate_gsps * 1e9, self.technology_nm)

    def leakage_mw(self) -> float:
        return self.operating().leakage_mw
