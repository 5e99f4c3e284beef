"""The converters of one chip at crossbar size N, resolved once from its hardware file.

The energy side (simulator.hardware.chip.spec) and the accuracy side (simulator.faults.bit_true)
both read a chip's DAC and ADC through `resolve_converters`, so a hardware file is never read two
ways: the ADC resolution the energy model prices is the one the bit-true emulation rounds with.

ADC resolution (ISAAC, Shafiee et al., ISCA 2016, Sec. V, eqs. 1-2): a column of R rows, v-bit
inputs and w-bit cells needs

    A = log2(R) + v + w        if v > 1 and w > 1
    A = log2(R) + v + w - 1    otherwise

(for R = 128, v = 1, w = 2: 9 bits; ISAAC's flipped-weight encoding saves one). Both cases are
ceil(log2(R (2^v - 1)(2^w - 1) + 1)), the bits of the largest column sum, for power-of-two R.

Seed 004's analog composition tree (Sec. V, Fig. 7) adds the S slice columns of one weight with
weights 2^(w j), so its largest output is R (2^v - 1)(2^(w S) - 1): the composed value is read like
one cell of w S bits. Analog subtraction of a positive and a negative column (PRIME Sec. III)
spans [-M, M]: one more bit. A converter that spans only `range_fraction` of the largest sum needs
log2(1 / range_fraction) bits fewer. The result is capped at `adc.max_bits`. With
`adc.resolution: fixed` the chip has `adc.bits` at every N.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from simulator.config.hardware import HardwareConfig


def isaac_bits(rows: int, dac_bits: int, cell_bits: int) -> int:
    """ISAAC Sec. V eqs. 1-2 (log2 of the rows rounded up for rows that are not a power of two)."""
    log_rows = math.ceil(math.log2(rows))
    if dac_bits > 1 and cell_bits > 1:
        return log_rows + dac_bits + cell_bits
    return log_rows + dac_bits + cell_bits - 1


def required_bits(rows: int, dac_bits: int, cell_bits: int, *, composed_bits: int | None = None,
                  analog_polarity: bool = False, range_fraction: float = 1.0) -> int:
    """Bits a column converter needs before any cap (module docstring).

    `composed_bits`: the analog tree's composed value (slices x cell bits) in place of cell_bits."""
    bits = isaac_bits(rows, dac_bits, composed_bits if composed_bits is not None else cell_bits)
    bits += 1 if analog_polarity else 0
    return bits - math.floor(math.log2(1.0 / range_fraction))


def resolve_bits(required: int, max_bits: int | None) -> int:
    return required if max_bits is None else min(required, max_bits)


@dataclass(frozen=True)
class Converters:
    """A chip's DACs and ADCs at one crossbar size and cell width."""

    size: int                                   # N: rows (= columns) of an array
    cell_bits: int
    input_bits: int
    dac_bits: int
    adc_bits_rule: int                          # what ISAAC's rule asks for at N (before the cap)
    adc_bits: int                               # what the chip has
    range_fraction: float
    slices: Literal["digital", "analog-tree"]
    polarity: Literal["digital", "analog"]
    span: int                                   # slice columns one analog tree composes (1: none)

    @property
    def phases(self) -> int:
        """ceil(input_bits / dac_bits): bit-serial input phases per product (design.md)."""
        return math.ceil(self.input_bits / self.dac_bits)

    @property
    def analog_tree(self) -> bool:
        return self.slices == "analog-tree"


def resolve_converters(hw: HardwareConfig, size: int, cell_bits: int | None = None) -> Converters:
    """The converters of `hw` built from `size` x `size` arrays of `cell_bits`-bit cells (default:
    the file's array.cell_bits)."""
    cell_bits = cell_bits or hw.array.cell_bits
    c = hw.composition
    analog_tree = c.slices == "analog-tree"
    span = math.ceil(c.composed_bits / cell_bits) if analog_tree else 1
    rule = required_bits(size, hw.dac.bits, cell_bits, composed_bits=span * cell_bits if analog_tree else None,
                         analog_polarity=c.polarity == "analog", range_fraction=hw.adc.range_fraction)
    bits = resolve_bits(rule, hw.adc.max_bits) if hw.adc.resolution == "isaac-rule" else hw.adc.bits
    return Converters(size=size, cell_bits=cell_bits, input_bits=hw.input_bits, dac_bits=hw.dac.bits,
                      adc_bits_rule=rule, adc_bits=bits, range_fraction=hw.adc.range_fraction, slices=c.slices,
                      polarity=c.polarity, span=span)
