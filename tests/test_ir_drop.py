"""IR drop (simulator.ir_drop): the exact nodal solve against hand-solved circuits, the fast model
against the exact solve on 8..64-line arrays at realistic wire and cell resistances (issue #24
item 3), and the attenuation's growth with the line length."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.ir_drop import attenuation, column_currents_exact, column_currents_fast

# NeuroSim V1.4 Param.cpp at 22 nm: ~0.9 Ohm per 2F crossbar segment, 1.9-5.6 Ohm per 1T1R
# segment; R_on 100 kOhm (V1.4) or 6 kOhm (earlier), on/off 17. The grid spans 1-3 Ohm and
# R_on 10-100 kOhm (docs/faults.md, "IR drop").
ON_OFF = 17.0
REALISTIC = [(r, r_on) for r in (1.0, 3.0) for r_on in (10e3, 100e3)]


def random_array(rng: np.random.Generator, rows: int, cols: int, r_on: float) -> tuple[np.ndarray, np.ndarray]:
    g = rng.uniform(1 / (r_on * ON_OFF), 1 / r_on, (rows, cols))
    return g, rng.uniform(0.0, 0.2, rows)


def test_no_wire_resistance_is_the_ideal_product() -> None:
    rng = np.random.default_rng(0)
    g, v = random_array(rng, 16, 12, 10e3)
    np.testing.assert_allclose(column_currents_exact(g, v, 0.0), g.T @ v, rtol=1e-12)
    np.testing.assert_allclose(column_currents_fast(g, v, 0.0), g.T @ v, rtol=1e-12)
    np.testing.assert_array_equal(attenuation(g, 0.0), np.ones_like(g))


def test_one_cell_by_hand() -> None:
    # Driver segment, cell, sense segment in series.
    r, g, v = 2.0, 1e-4, 0.3
    expected = v / (2 * r + 1 / g)
    assert column_currents_exact(np.array([[g]]), np.array([v]), r)[0] == pytest.approx(expected, rel=1e-12)
    assert column_currents_fast(np.array([[g]]), np.array([v]), r)[0] == pytest.approx(expected, rel=1e-9)


def test_two_rows_one_column_by_hand() -> None:
    # Row k: v_k -> r -> cell g_k -> bitline node b_k; b_0 -> r -> b_1 -> r -> sense (0 V).
    # With R_k = r + 1/g_k: i_0 = (v_0 - b_1) / (R_0 + r) and KCL at b_1,
    # b_1 (1/r + 1/(R_0 + r) + 1/R_1) = v_0 / (R_0 + r) + v_1 / R_1; the column current is b_1 / r.
    r, g0, g1, v0, v1 = 2.0, 1e-4, 5e-5, 0.3, 0.2
    r0, r1 = r + 1 / g0, r + 1 / g1
    b1 = (v0 / (r0 + r) + v1 / r1) / (1 / r + 1 / (r0 + r) + 1 / r1)
    g, v = np.array([[g0], [g1]]), np.array([v0, v1])
    assert column_currents_exact(g, v, r)[0] == pytest.approx(b1 / r, rel=1e-12)
    assert column_currents_fast(g, v, r)[0] == pytest.approx(b1 / r, rel=1e-9)


def test_one_row_two_columns_by_hand() -> None:
    # v -> r -> a_0 -> r -> a_1; cell k from a_k to its bitline, which reaches the sense through r.
    # Cell branches R_k = 1/g_k + r; KCL at a_1: i_1 = a_1 / R_1; at a_0:
    # (v - a_0)/r = a_0/R_0 + (a_0 - a_1)/r with a_1 = a_0 R_1 / (R_1 + r).
    r, g0, g1, v = 3.0, 1e-4, 2e-5, 0.25
    r0, r1 = 1 / g0 + r, 1 / g1 + r
    a0 = (v / r) / (1 / r + 1 / r0 + 1 / (r1 + r))
    a1 = a0 * r1 / (r1 + r)
    expected = np.array([a0 / r0, a1 / r1])
    g = np.array([[g0, g1]])
    np.testing.assert_allclose(column_currents_exact(g, np.array([v]), r), expected, rtol=1e-12)
    np.testing.assert_allclose(column_currents_fast(g, np.array([v]), r), expected, rtol=1e-9)


@pytest.mark.parametrize("lines", [8, 16, 32, 64])
@pytest.mark.parametrize(("r_wire", "r_on"), REALISTIC)
def test_fast_model_within_one_percent_of_the_nodal_solve(lines: int, r_wire: float, r_on: float) -> None:
    rng = np.random.default_rng(lines * 1000 + int(r_wire) * 7 + int(r_on // 1000))
    for _ in range(3):
        g, v = random_array(rng, lines, lines, r_on)
        exact = column_currents_exact(g, v, r_wire)
        fast = column_currents_fast(g, v, r_wire)
        assert np.max(np.abs(fast - exact) / exact) < 0.01
        # The effective conductances reproduce the same currents where every row is driven.
        np.testing.assert_allclose((g * attenuation(g, r_wire, v)).T @ v, fast, rtol=1e-6)


def test_the_one_percent_test_sees_ir_drop() -> None:
    """At 64 lines, 3 Ohm and 10 kOhm neither the ideal product nor the first-order correction
    (one sweep) holds 1 %, so the test above checks the model, not a negligible effect."""
    rng = np.random.default_rng(5)
    g, v = random_array(rng, 64, 64, 10e3)
    exact = column_currents_exact(g, v, 3.0)
    assert np.max(np.abs(g.T @ v - exact) / exact) > 0.2
    first_order = column_currents_fast(g, v, 3.0, sweeps=1, tolerance=0.0)
    assert np.max(np.abs(first_order - exact) / exact) > 0.01


def test_rectangular_and_undriven_rows() -> None:
    rng = np.random.default_rng(3)
    g, v = random_array(rng, 24, 40, 10e3)
    v[::3] = 0.0        # rows at 0 V sink current from the raised bitlines
    exact = column_currents_exact(g, v, 2.0)
    np.testing.assert_allclose(column_currents_fast(g, v, 2.0), exact, rtol=1e-6)


def test_batched_arrays_match_one_by_one() -> None:
    rng = np.random.default_rng(4)
    g = rng.uniform(1 / 170e3, 1 / 10e3, (3, 16, 16))
    v = rng.uniform(0, 1, (3, 16))
    together = column_currents_fast(g, v, 2.0)
    factors = attenuation(g, 2.0)
    for k in range(3):
        np.testing.assert_allclose(together[k], column_currents_exact(g[k], v[k], 2.0), rtol=1e-6)
        np.testing.assert_allclose(factors[k], attenuation(g[k], 2.0), rtol=1e-9)


def test_attenuation_grows_with_the_line_length_and_the_wire() -> None:
    worst, mean = [], []
    for lines in (8, 16, 32, 64, 128):
        factor = attenuation(np.full((lines, lines), 1 / 50e3), 2.0)
        assert (factor > 0).all() and (factor < 1).all()
        # The corner farthest from driver and sense (row 0, last column) loses most.
        assert factor[0, -1] == factor.min()
        worst.append(factor.min())
        mean.append(factor.mean())
    assert all(np.diff(worst) < 0) and all(np.diff(mean) < 0)
    g = np.full((32, 32), 1 / 50e3)
    assert (attenuation(g, 3.0) < attenuation(g, 1.0)).all()


def test_bad_input_is_named() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        attenuation(-np.ones((2, 2)), 1.0)
    with pytest.raises(ValueError, match="rows"):
        column_currents_fast(np.ones((3, 2)), np.ones(2), 1.0)
    with pytest.raises(ValueError, match="r_wire_ohm"):
        column_currents_exact(np.ones((2, 2)), np.ones(2), -1.0)


def test_device_draws_attenuate_in_siemens() -> None:
    """The device model reads conductances in microsiemens; its IR drop must hand simulator.ir_drop
    siemens (a 1e6 too large conductance would leave the far cells almost nothing)."""
    from simulator.device import Conductances, Device
    from simulator.faults.device_draws import DeviceEffects, _with_ir_drop

    device = Device(Conductances(50.0, 2.5, 4), ((0, 0.0),), "normal", 0.0, 0.0, 0.0, 1.0, 2.0)
    g_us = np.full((2, 1, 32, 32), 50.0)
    effects = DeviceEffects(device, ir_drop=True, size=32)
    expected = g_us[0, 0] * attenuation(g_us[0, 0] * 1e-6, 2.0)
    np.testing.assert_allclose(_with_ir_drop(g_us, effects)[1, 0], expected, rtol=1e-12)
    assert 0.9 < (expected / g_us[0, 0]).min() < 0.99
    wide = DeviceEffects(device, ir_drop=True, packing="adjacent-columns", size=32)
    assert 0.9 < (_with_ir_drop(g_us, wide) / g_us).min() < 0.99


def test_device_draws_ir_drop_after_negative_reads() -> None:
    """Read noise can take a read below 0 S (a cell at G_off near 0 plus a negative draw); IR drop
    attenuates the cells as programmed, clipped at 0, instead of refusing the array."""
    from simulator.device import Conductances, Device
    from simulator.faults.device_draws import DeviceEffects, DeviceStreams, read_levels

    device = Device(Conductances(100.0, 0.1, 2), ((0, 0.0),), "normal", 0.05, 0.0, 0.0, 1.0, 1.0)
    effects = DeviceEffects(device, read_noise=True, ir_drop=True, size=16)
    levels = np.zeros((2, 1, 16, 16), dtype=np.int64)
    read = read_levels(levels, np.zeros(levels.shape, dtype=np.int8), effects, DeviceStreams.of([7], effects))
    assert (read < 0).any() and np.isfinite(read).all()
