"""Chip model v3 (issue #23 items 2 and 4): periphery that follows its load, and leakage from the
components. The wordline driver, row decoder, column multiplexer, sample-and-hold and read latency
against NeuroSim V1.4's formulas worked by hand, and the chip's static energy by component."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from simulator.config.errors import ConfigError
from simulator.config.hardware import HardwareConfig
from simulator.config.loader import load_hardware
from simulator.hardware.chip.cmos import cmos_node
from simulator.hardware.chip.column_mux import ColumnMux
from simulator.hardware.chip.decoder import Decoder
from simulator.hardware.chip.spec import chip_spec
from simulator.hardware.chip_model import Sizing
from simulator.hardware.model import ChipSetup, evaluate
from simulator.lowering.dataflow import Dataflow, LayerGeometry
from simulator.mapping.demand import LayerDemand

REPO = Path(__file__).resolve().parents[1]
PRIME = load_hardware(REPO / "hwconfigs" / "prime.yaml")
SMALL = load_hardware(REPO / "hwconfigs" / "sparse_small.yaml")


def with_models(hw: HardwareConfig, **blocks: dict[str, object]) -> HardwareConfig:
    """`hw` with fields of its blocks (or, under key "top", of the file) replaced."""
    update: dict[str, object] = dict(blocks.pop("top", {}))
    for block, fields in blocks.items():
        update[block] = getattr(hw, block).model_copy(update=fields)
    return hw.model_copy(update=update)


# The circuit checks drive one array's row: PRIME with a driver per array (prime.yaml shares one
# between the two arrays of a polarity pair, tests/test_shared_converters.py).
PRIME = with_models(PRIME, composition={"pair_periphery": "separate"})
CONSTANT = with_models(PRIME, dac={"model": "isaac-constant"})


# The wordline driver -------------------------------------------------------------------------


def test_driver_energy_per_drive_grows_with_the_columns_it_drives() -> None:
    drive = [chip_spec(PRIME, n).dac.drive_energy_pj() for n in (16, 32, 64, 128, 256)]
    assert all(a < b for a, b in zip(drive, drive[1:]))
    # The pass gate's width, and so its capacitance, is linear in N: 8x the columns, ~8x the switch.
    switch = [chip_spec(PRIME, n).dac.switch_energy_pj() for n in (32, 256)]
    assert switch[1] / switch[0] == pytest.approx(8, rel=0.01)


def test_the_32_and_256_chips_pay_different_energies_per_drive() -> None:
    small, prime = chip_spec(SMALL, 32).dac.drive_energy_pj(), chip_spec(PRIME, 256).dac.drive_energy_pj()
    assert prime / small > 5
    # Under ISAAC's constant driver both paid the same 1.25 pJ plus a wordline of femtojoules.
    old_small = chip_spec(with_models(SMALL, dac={"model": "isaac-constant"}), 32).dac.drive_energy_pj()
    old_prime = chip_spec(CONSTANT, 256).dac.drive_energy_pj()
    assert old_prime - old_small < 0.001


def test_the_constant_model_keeps_isaacs_driver() -> None:
    for n in (32, 128, 256):
        dac = chip_spec(CONSTANT, n).dac
        assert dac.driver_energy_pj() == pytest.approx(0.8 * 0.3906 * 4)     # 1.25 pJ: 2^(3 - 1) x 0.8 x 0.3906
        assert dac.leakage_mw() == pytest.approx(0.2 * 0.3906 * 4 / chip_spec(CONSTANT, n).read_ns)


def test_driver_sized_by_neurosim_worked_by_hand() -> None:
    """NeuroSim V1.4 at 32 nm LSTP (Technology.cpp: Vdd 0.9 V, I_on 600.2 / 400.0 A/m, C_ideal
    8.375279e-10, C_fringe 6.856677e-10 F/m), PRIME's cells (1 kOhm / 20 kOhm), a 128-cell row:

    R_avg = 2 / (1/1000 + 1/20000) = 1904.76 ohm; R_tg = R_avg / 128 x 0.1 = 1.48810 ohm
    W_n = (0.9 / (600.2 x 32e-9)) x 32e-9 x 0.2 / (2 x 1.48810) = 100.77 um; W_p = 151.20 um
    C_g = (1.2 x 8.375279e-10 + 6.856677e-10) x (W_n + W_p) = 1.69070e-9 x 251.97e-6 = 426.0 fF
    C_g Vdd^2 = 0.34506 pJ
    """
    dac = chip_spec(PRIME, 128).dac
    w_n, w_p = dac.widths_m()
    assert w_n * 1e6 == pytest.approx(100.77, rel=1e-4)
    assert w_p * 1e6 == pytest.approx(151.20, rel=1e-4)
    assert dac.gate_cap_f() * 1e15 == pytest.approx(426.0, rel=1e-3)
    gate_pj = dac.gate_cap_f() * 0.81 * 1e12
    assert gate_pj == pytest.approx(0.34506, rel=1e-3)
    # The drive: the gate swing, 3 drains at the read voltage, 3 input flip-flops, the wordline.
    assert dac.drive_energy_pj() == pytest.approx(gate_pj + 3 * dac.drain_cap_f() * 0.25e12
                                                  + dac.register_energy_pj() + dac.wordline_energy_pj())


def test_flip_flop_leakage_worked_by_hand() -> None:
    """DFF.cpp: 8 minimum inverters (W_n = 2 F = 64 nm, W_p = 600.2 / 400 x 64 nm = 96.03 nm), each
    (W_n I_off,n + W_p I_off,p) / 2 x Vdd with I_off = 100.1e-6 A/m: 8 x 7.2086e-12 W."""
    dac = chip_spec(PRIME, 128).dac
    assert dac.leakage_mw() == pytest.approx(3 * 8 * 7.2086e-12 * 1e3, rel=1e-4)   # 3 bits: 3 flip-flops


# Leakage follows the transistors, not leakage_share -------------------------------------------


def test_leakage_comes_from_the_circuit_model() -> None:
    base = chip_spec(PRIME, 256)
    shared = chip_spec(with_models(PRIME, top={"leakage_share": 0.5}), 256)
    for name in ("dac", "row_decoder", "column_mux", "sample_hold"):
        assert shared.leakage_by_component_mw[name] == base.leakage_by_component_mw[name]
    # ... where the constant driver's followed the share.
    assert (chip_spec(with_models(CONSTANT, top={"leakage_share": 0.5}), 256).dac.leakage_mw()
            == pytest.approx(2.5 * chip_spec(CONSTANT, 256).dac.leakage_mw()))
    # High-performance transistors leak ~1000x what low-standby-power ones do (Technology.cpp I_off;
    # the minimum inverter's W_p follows each card's pn ratio): (64 x 100.3e-3 + 64 x 1410 / 1220 x
    # 100.1e-3) / (64 x 100.1e-6 + 96.03 x 100.1e-6) = 863.
    hp = chip_spec(with_models(PRIME, top={"device_roadmap": "hp"}), 256)
    assert hp.dac.leakage_mw() / base.dac.leakage_mw() == pytest.approx(863, rel=2e-3)
    # Another node: other transistors, another leakage and another drive.
    at_45 = chip_spec(with_models(PRIME, top={"technology_nm": 45}), 256)
    assert at_45.dac.leakage_mw() != pytest.approx(base.dac.leakage_mw(), rel=0.05)
    assert at_45.dac.drive_energy_pj() > base.dac.drive_energy_pj()


def test_a_node_without_transistor_data_is_refused() -> None:
    with pytest.raises(ValueError, match="no NeuroSim transistor parameters for 65 nm"):
        chip_spec(with_models(PRIME, top={"technology_nm": 65}), 256)
    # The constant driver needs none (with the other circuit models off).
    plain = with_models(CONSTANT, top={"technology_nm": 65}, adc={"mux_model": "none"},
                        array={"decoder_model": "none"}, sample_hold={"model": "operating-split"})
    assert chip_spec(plain, 256).dac.drive_energy_pj() > 1.0


def test_hold_cell_leaks_the_cited_cells_power() -> None:
    sh = chip_spec(PRIME, 256).sample_hold
    assert sh.leakage_mw() == pytest.approx(9.77e-6)          # 9.77 nW
    # A sample: a minimum pass gate (W_n = 64 nm) swung at Vdd, its drain charged twice to 0.5 V.
    t = cmos_node(32, "lstp")
    w_n, w_p = 64e-9, 64e-9 * 600.2 / 400.0
    assert sh.sample_energy_pj() == pytest.approx((t.gate_cap_f(w_n) * 0.81 + 2 * t.drain_cap_f(w_n, w_p) * 0.25)
                                                  * 1e12)
    assert t.gate_cap_f(w_n) == pytest.approx(1.69070e-9 * 64e-9, rel=1e-5)


# Decoders and the column multiplexer ----------------------------------------------------------


def test_decoder_gate_counts_follow_neurosim() -> None:
    """RowDecoder.cpp: k inverters, 4 floor(k / 2) NAND2, 2^k NORs for k > 2, two driver inverters
    per output; leakage is their CalculateGateLeakage x Vdd."""
    t = cmos_node(32, "lstp")
    dec = Decoder(t, 5, for_mux=False)
    w = 64e-9
    pn = 600.2 / 400.0
    inv = t.inverter_leakage_w(w, pn * w) * 5
    nand = 8 * 0.48 * 2 * pn * w * t.off_current_p * t.vdd
    nor = 32 * 0.62 * 3 * w * t.off_current_n * t.vdd
    driver = 32 * 2 * t.inverter_leakage_w(2 * w, 2 * pn * w)
    assert dec.leakage_mw() == pytest.approx((inv + nand + nor + driver) * 1e3)
    assert Decoder(t, 8, for_mux=False).leakage_mw() > 7 * dec.leakage_mw()


def test_column_mux_is_sized_to_its_column() -> None:
    t = cmos_node(32, "lstp")
    small, big = ColumnMux(t, 32, 32, 1e3, 2e4, 0.5), ColumnMux(t, 32, 256, 1e3, 2e4, 0.5)
    # Mux.cpp: R_tg = R_avg / N x 0.25, W_n = R_on,n(F) F / (2 R_tg); at N = 256: 1.8601 ohm, 403.1 um.
    assert big.widths_m()[0] * 1e6 == pytest.approx(0.9 / 600.2 / (2 * 1904.762 / 256 * 0.25) * 1e6, rel=1e-5)
    assert big.widths_m()[0] * 1e6 == pytest.approx(403.1, rel=1e-3)
    assert big.select_energy_pj() > 5 * small.select_energy_pj() > 0
    assert ColumnMux(t, 1, 256, 1e3, 2e4, 0.5).select_energy_pj() == 0.0      # one column per ADC: no mux
    assert small.decoder().address_bits == 5


def one_layer() -> tuple[list[LayerDemand], Dataflow]:
    r, c = np.array([16, 16]), np.array([16, 8])
    layer = LayerDemand("a", 3, r, c, np.full(2, -1, np.int64), 32, 24, 0, macs=32 * 24 * 3,
                        nonzeros=int((r * c).sum()))
    return [layer], Dataflow((LayerGeometry("a", "linear", (1, 1), (3, 1)),), ((),), True)


def run(hw: HardwareConfig, size: int = 32):
    layers, flow = one_layer()
    setup = ChipSetup(encoding="two-column", weight_bits=8, cell_bits=hw.array.cell_bits, size=size,
                      sizing=Sizing(policy="fit"), execution="file", images=None)
    return evaluate(layers, flow, hw, setup)


def test_the_chip_model_counts_a_mux_selection_per_conversion_and_no_row_decode() -> None:
    result = run(PRIME)
    rows = {c.component: c for c in result.components}
    assert rows["column_mux"].events == rows["adc"].events > 0
    assert rows["column_mux"].dynamic_pj == pytest.approx(rows["column_mux"].events
                                                          * chip_spec(PRIME, 32).column_mux.select_energy_pj())
    assert rows["row_decoder"].events == 0 and rows["row_decoder"].static_pj > 0


def test_report_gives_the_static_share_and_the_energy_per_drive() -> None:
    result = run(PRIME)
    s = result.summary
    assert s.static_share == pytest.approx(s.static_energy_pj / s.energy_per_inference_pj)
    assert s.dac_energy_per_drive_pj == pytest.approx(chip_spec(PRIME, 32).dac.drive_energy_pj())
    assert "static_share" in s.model_dump()
    static = {c.component: c.static_pj for c in result.components}
    assert sum(static.values()) == pytest.approx(s.static_energy_pj)


# Read latency -------------------------------------------------------------------------------


def test_read_latency_follows_the_lines_under_rc_sense_and_not_under_fixed() -> None:
    reads = [chip_spec(PRIME, n).read_ns for n in (32, 128, 256, 512)]
    assert all(a < b for a, b in zip(reads, reads[1:]))
    spec = chip_spec(PRIME, 256)
    assert spec.read_ns == pytest.approx(100.0 + spec.array.drive_ns + spec.array.settle_ns()
                                         + spec.array.line().delay_ns())
    # NeuroSim colDelay by hand: 0.2 x (0.2 fF/um x 256 x 0.0390625 um) x 1904.76 ohm / 128 = 5.953e-6 ns.
    assert spec.array.settle_ns() == pytest.approx(0.2 * 2.0e-15 * 1904.762 / 128 * 1e9, rel=1e-5)
    fixed = with_models(PRIME, array={"read_latency_model": "fixed", "wire_resistance_ohm_per_um": None})
    assert {chip_spec(fixed, n).read_ns for n in (32, 128, 256, 512)} == {100.0}
    # A fast sense makes the lines visible: the drive is the load-sized gate charging its line.
    fast = with_models(PRIME, array={"sense_ns": 1.0})
    assert chip_spec(fast, 256).read_ns - 1.0 == pytest.approx(chip_spec(fast, 256).dac.latency_ns()
                                                               + spec.array.settle_ns() + spec.array.line().delay_ns())


def test_circuit_models_need_their_fields(tmp_path: Path) -> None:
    text = (REPO / "hwconfigs" / "prime.yaml").read_text()
    path = tmp_path / "no_sense.yaml"
    path.write_text(text.replace("  sense_ns: 100.0\n", ""))
    with pytest.raises(ConfigError, match="rc-sense needs sense_ns"):
        load_hardware(path)
    path = tmp_path / "no_hold.yaml"
    path.write_text(text.replace("  hold_power_nw: 9.77\n", ""))
    with pytest.raises(ConfigError, match="hold-cell needs hold_power_nw"):
        load_hardware(path)
    path = tmp_path / "bad_model.yaml"
    path.write_text(text.replace("model: neurosim-load", "model: nvsim"))
    with pytest.raises(ConfigError, match="dac.model"):
        load_hardware(path)


def test_every_periphery_figure_is_finite() -> None:
    """The shipped small design's periphery at N = 32: every circuit figure positive and finite."""
    spec = chip_spec(SMALL, 32)
    for c in spec.components(0):
        assert math.isfinite(c.energy_pj) and math.isfinite(c.leakage_mw) and c.energy_pj >= 0
    assert spec.column_mux is not None and spec.row_decoder is not None
