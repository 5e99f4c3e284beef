"""Issue #23 item 1: one resolved chip for both sides. The bit-true accuracy emulation's periphery
(DAC bits, ADC bits and range, composition) is built from the same resolution the energy side
prices, so changing the ADC rule or its cap moves both together."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.config.loader import load_hardware
from simulator.converters import resolve_converters
from simulator.faults.bit_true import Periphery
from simulator.hardware.chip import chip_spec

REPO = Path(__file__).resolve().parents[1]


def _with_adc(name: str, **adc: object):
    hw = load_hardware(REPO / "hwconfigs" / name)
    return hw.model_copy(update={"adc": hw.adc.model_copy(update=adc)})


@pytest.mark.parametrize("name, size", [("sparse_small.yaml", 32), ("prime.yaml", 256), ("isaac.yaml", 128)])
def test_shipped_chips_read_alike_on_both_sides(name: str, size: int) -> None:
    hw = load_hardware(REPO / "hwconfigs" / name)
    spec = chip_spec(hw, size)
    periphery = Periphery.from_hardware(hw, size)
    assert periphery.adc_bits == spec.adc_bits == spec.converters.adc_bits
    assert (periphery.dac_bits, periphery.input_bits, periphery.phases) == (spec.dac_bits, spec.input_bits,
                                                                          spec.phases)
    assert (periphery.slices, periphery.polarity) == (hw.composition.slices, hw.composition.polarity)


@pytest.mark.parametrize("cap", [5, 6, 7, 10])
def test_the_adc_cap_moves_both_sides_together(cap: int) -> None:
    # sparse_small: ISAAC's rule asks for 17 bits at 32 rows; the cap decides what the chip has.
    hw = _with_adc("sparse_small.yaml", max_bits=cap, resolution="isaac-rule", energy_model="murmann")
    assert chip_spec(hw, 32).adc_bits == cap
    assert Periphery.from_hardware(hw, 32).adc_bits == cap


def test_the_resolution_rule_moves_both_sides_together() -> None:
    # A file whose fixed `bits` differs from what the rule gives: both sides follow the rule when
    # it is chosen and `bits` when `fixed` is (the accuracy side once read `bits` either way).
    rule = _with_adc("sparse_small.yaml", resolution="isaac-rule", max_bits=None, energy_model="murmann")
    fixed = _with_adc("sparse_small.yaml", resolution="fixed", bits=8)
    for size in (16, 32, 64):
        expected = resolve_converters(rule, size).adc_bits
        assert expected != 8
        assert chip_spec(rule, size).adc_bits == Periphery.from_hardware(rule, size).adc_bits == expected
        assert chip_spec(fixed, size).adc_bits == Periphery.from_hardware(fixed, size).adc_bits == 8


def test_cell_width_of_the_mapping_enters_the_resolution() -> None:
    hw = _with_adc("prime.yaml", resolution="isaac-rule", max_bits=None, energy_model="murmann")
    narrow, wide = Periphery.from_hardware(hw, 256, 1), Periphery.from_hardware(hw, 256, 4)
    assert narrow.adc_bits == chip_spec(hw, 256, cell_bits=1).adc_bits
    assert wide.adc_bits == chip_spec(hw, 256, cell_bits=4).adc_bits
    assert wide.adc_bits > narrow.adc_bits
