"""Quantization, bit slicing and sign encodings, fault-free and with stuck cells (seed 003 IV)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from simulator.mapping.encoding import (
    ENCODINGS,
    effective_weights,
    get_encoding,
    zero_levels,
)
from simulator.mapping.quantize import dequantize, magnitude_bits, qmax, quantize
from simulator.mapping.slicing import (
    compose,
    design_slices,
    magnitude_slices,
    slice_signed,
    top_level,
)

FAST = settings(max_examples=60, deadline=None)
weight_bits = st.integers(1, 16)
cell_bits = st.integers(1, 4)


def q_arrays(bits: int) -> st.SearchStrategy[np.ndarray]:
    """Integer weights of the symmetric ``bits``-bit range, zeros (pruned weights) included."""
    top = qmax(bits)
    values = st.one_of(st.just(0), st.integers(-top, top), st.sampled_from([-top, top]))
    return arrays(np.int32, st.tuples(st.integers(1, 4), st.integers(1, 5)), elements=values)


# ---------------------------------------------------------------- quantize


def test_bit_widths_count_the_sign_bit_and_1_bit_is_ternary() -> None:
    assert [magnitude_bits(b) for b in (1, 2, 4, 8, 16)] == [1, 1, 3, 7, 15]
    assert [qmax(b) for b in (1, 2, 4, 8, 16)] == [1, 1, 7, 127, 32767]


def test_quantize_hand_worked() -> None:
    W = np.array([[0.5, -1.0], [0.2, 0.0]])
    layer = quantize(W, 3)  # qmax 3, scale 1/3: 0.5 -> 1.5 -> 2 (half away from 0), 0.2 -> 0.6 -> 1
    np.testing.assert_array_equal(layer.q, [[2, -3], [1, 0]])
    assert layer.scale == pytest.approx(1 / 3) and layer.flushed == 0
    column = quantize(W, 3, per_column=True)  # scales 0.5/3 and 1/3: 0.2 / (1/6) = 1.2 -> 1
    np.testing.assert_array_equal(column.q, [[3, -3], [1, 0]])
    np.testing.assert_allclose(column.scale, [[1 / 6, 1 / 3]])
    np.testing.assert_allclose(dequantize(column), [[0.5, -1.0], [1 / 6, 0.0]])


def test_quantize_counts_weights_flushed_below_half_a_step() -> None:
    # 3 bits, scale 1/3, half a step 1/6: 0.1 and -0.05 round to zero, 1/6 exactly does not.
    result = quantize(np.array([1.0, 0.1, -0.05, 1 / 6, 0.0]), 3)
    np.testing.assert_array_equal(result.q, [3, 0, 0, 1, 0])
    assert result.flushed == 2


def test_quantize_1_bit_is_ternary_and_all_zero_columns_get_scale_1() -> None:
    result = quantize(np.array([1.0, 0.4, -0.5, 0.0]), 1)  # scale 1, half step 0.5
    np.testing.assert_array_equal(result.q, [1, 0, -1, 0])
    assert result.flushed == 1
    zeros = quantize(np.array([[0.0, 2.0], [0.0, -1.0]]), 4, per_column=True)
    np.testing.assert_allclose(zeros.scale, [[1.0, 2 / 7]])
    np.testing.assert_array_equal(zeros.q, [[0, 7], [0, -4]])
    assert quantize(np.zeros((2, 3)), 8).scale == 1.0


def test_quantize_rejects_nan_and_per_column_on_vectors() -> None:
    with pytest.raises(ValueError, match="finite"):
        quantize(np.array([1.0, np.nan]), 8)
    with pytest.raises(ValueError, match=r"\(R, C\)"):
        quantize(np.ones(3), 8, per_column=True)


magnitudes = st.floats(1e-6, 1e3)
weights = st.one_of(st.just(0.0), magnitudes, magnitudes.map(lambda x: -x))


@FAST
@given(
    W=arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(1, 6)), elements=weights),
    bits=weight_bits,
    per_column=st.booleans(),
)
def test_quantize_keeps_zeros_and_stays_within_half_a_step(
    W: np.ndarray, bits: int, per_column: bool
) -> None:
    result = quantize(W, bits, per_column=per_column)
    assert np.abs(result.q).max() <= qmax(bits)
    np.testing.assert_array_equal(result.q[W == 0], 0)
    step = np.broadcast_to(result.scale, W.shape)
    assert np.all(np.abs(dequantize(result) - W) <= step / 2 * (1 + 1e-9))
    flushed = (W != 0) & (result.q == 0)
    assert result.flushed == np.count_nonzero(flushed)
    assert np.all(np.abs(W[flushed]) <= step[flushed] / 2 * (1 + 1e-9))
    assert not np.any((W != 0) & (np.abs(W) < step / 2 * (1 - 1e-9)) & ~flushed)
    peak = np.abs(W).max(axis=0) if per_column else np.abs(W).max()
    expected = np.where(peak > 0, peak / qmax(bits), 1.0)
    np.testing.assert_allclose(np.ravel(result.scale), np.ravel(expected))


# ---------------------------------------------------------------- slicing


def test_slice_counts() -> None:
    # (weight_bits, cell_bits) -> magnitude slices, design.md's count
    cases = {(8, 2): (4, 4), (4, 2): (2, 2), (16, 1): (15, 16), (9, 2): (4, 5), (1, 1): (1, 1)}
    for (w, c), expected in cases.items():
        assert (magnitude_slices(w, c), design_slices(w, c)) == expected


def test_slice_signed_hand_worked() -> None:
    # 8-bit weight -83 = -(0b1010011) on 2-bit cells: magnitude slices 3, 0, 1, 1 (LSB first)
    np.testing.assert_array_equal(slice_signed(np.array(-83), 8, 2), [-3, 0, -1, -1])
    with pytest.raises(ValueError, match="exceeds 7"):
        slice_signed(np.array([8]), 4, 2)


@FAST
@given(data=st.data(), bits=weight_bits, cells=cell_bits)
def test_slices_compose_back_exactly(data: st.DataObject, bits: int, cells: int) -> None:
    q = data.draw(q_arrays(bits))
    s = slice_signed(q, bits, cells)
    assert s.shape == (magnitude_slices(bits, cells), *q.shape)
    assert np.abs(s).max() <= top_level(cells)
    np.testing.assert_array_equal(compose(s, cells), q)


# ---------------------------------------------------------------- encodings, no faults


def test_registry() -> None:
    assert set(ENCODINGS) == {"two-column", "differential", "offset"}
    assert {name: get_encoding(name).polarities for name in ENCODINGS} == {
        "two-column": 2,
        "differential": 2,
        "offset": 1,
    }
    with pytest.raises(ValueError, match="allowed: two-column, differential, offset"):
        get_encoding("twos")


@pytest.mark.parametrize(
    ("name", "s", "expected"),
    [
        # L = 3 (2-bit cells), one slice (3-bit weights): (a, b) per slice value
        ("two-column", -2, (0, 2)),
        ("two-column", 2, (2, 0)),
        ("two-column", 0, (0, 0)),
        ("differential", 2, (3, 1)),
        ("differential", -2, (1, 3)),
        ("differential", 0, (3, 3)),
        ("differential", 3, (3, 0)),
        ("differential", -3, (0, 3)),
    ],
)
def test_polar_levels_hand_worked(name: str, s: int, expected: tuple[int, int]) -> None:
    levels = get_encoding(name).encode(np.array(s), 3, 2)
    assert tuple(levels[:, 0].tolist()) == expected


def test_offset_levels_hand_worked() -> None:
    offset = get_encoding("offset")
    # 8-bit: u = -5 + 128 = 123 = 0b01_11_10_11 -> [3, 2, 3, 1], LSB first
    np.testing.assert_array_equal(offset.encode(np.array(-5), 8, 2), [[3, 2, 3, 1]])
    # 1-bit ternary: offset 1, codes 0..2 need 2 bits, hence 2 one-bit slices
    ternary = offset.encode(np.array([-1, 0, 1]), 1, 1)
    np.testing.assert_array_equal(ternary, [[[0, 1, 0], [0, 0, 1]]])


def test_zero_levels() -> None:
    np.testing.assert_array_equal(zero_levels("two-column", 8, 2), np.zeros((2, 4)))
    np.testing.assert_array_equal(zero_levels("differential", 8, 2), np.full((2, 4), 3))
    np.testing.assert_array_equal(zero_levels("offset", 8, 2), [[0, 0, 0, 2]])  # 128
    np.testing.assert_array_equal(zero_levels("offset", 8, 1), [[0] * 7 + [1]])


@FAST
@given(data=st.data(), name=st.sampled_from(sorted(ENCODINGS)), bits=weight_bits, cells=cell_bits)
def test_encode_decode_round_trip(data: st.DataObject, name: str, bits: int, cells: int) -> None:
    encoding = get_encoding(name)
    q = data.draw(q_arrays(bits))
    levels = encoding.encode(q, bits, cells)
    assert levels.shape == (encoding.polarities, encoding.slices(bits, cells), *q.shape)
    assert levels.min() >= 0 and levels.max() <= top_level(cells)
    np.testing.assert_array_equal(encoding.decode(levels, bits, cells), q)


def test_effective_weights_scale_per_column() -> None:
    q = np.array([[3, -2], [0, 1]])
    levels = get_encoding("differential").encode(q, 4, 2)
    scale = np.array([[0.5, 0.25]])
    np.testing.assert_allclose(effective_weights(levels, "differential", 4, 2, scale), q * scale)


def test_decode_rejects_bad_levels() -> None:
    with pytest.raises(ValueError, match="0..3"):
        get_encoding("two-column").decode(np.full((2, 2, 1), 4), 4, 2)
    with pytest.raises(ValueError, match="shape"):
        get_encoding("offset").decode(np.zeros((2, 2, 1)), 4, 2)


# ---------------------------------------------------------------- encodings with faults


def stuck(levels: np.ndarray, polarity: int, slice_: int, value: int) -> np.ndarray:
    """A copy of one weight's levels with cell (polarity, slice) stuck at ``value``."""
    faulty = levels.copy()
    faulty[polarity, slice_] = value
    return faulty


@pytest.mark.parametrize(
    ("name", "q", "cell", "value", "effective"),
    [
        # 4-bit weights (3 magnitude bits) on 2-bit cells (L = 3): 2 slices worth 1 and 4.
        # q = +3: slices [3, 0]. Two-column a = [3, 0], b = [0, 0].
        ("two-column", 3, (1, 1), 3, 3 - 3 * 4),  # b of the top slice stuck-on: -9
        ("two-column", 3, (0, 0), 0, 0),  # a of the low slice stuck-off: 3 lost
        # q = -5 = -(0b101): slices [-1, -1]. Two-column a = [0, 0], b = [1, 1].
        ("two-column", -5, (0, 1), 3, -1 + (3 - 1) * 4),  # a top stuck-on: 7
        ("two-column", -5, (1, 0), 0, -1 * 4),  # b low stuck-off: -4
        # Differential q = +3: a = [3, 3], b = [0, 3].
        ("differential", 3, (1, 1), 3, 3),  # b top already L: stuck-on is harmless
        ("differential", 3, (0, 0), 0, 0 + 0 * 4),  # a low stuck-off: (0 - 0) + (3 - 3) * 4 = 0
        ("differential", 3, (1, 1), 0, 3 + 3 * 4),  # b top stuck-off: 15
        # Differential q = -5: a = [2, 2], b = [3, 3].
        ("differential", -5, (0, 0), 3, 0 + (2 - 3) * 4),  # a low stuck-on: -4
        ("differential", -5, (1, 1), 0, (2 - 3) + (2 - 0) * 4),  # b top stuck-off: 7
        # Zeros: two-column (0, 0) per slice, differential (3, 3) per slice.
        ("two-column", 0, (0, 1), 3, 12),
        ("two-column", 0, (1, 0), 3, -3),
        ("differential", 0, (0, 1), 0, -12),
        ("differential", 0, (1, 0), 0, 3),
        # Offset: offset 8. q = -5 -> u = 3 = [3, 0]; zero -> u = 8 = [0, 2].
        ("offset", -5, (0, 1), 3, 3 + 3 * 4 - 8),  # top stuck-on: 7
        ("offset", 0, (0, 0), 3, 3 + 2 * 4 - 8),  # low stuck-on: 3
        ("offset", 0, (0, 1), 0, -8),  # top stuck-off: -8
        ("offset", 0, (0, 0), 0, 0),  # low slice already at 0: stuck-off harmless
    ],
)
def test_faulty_cells_hand_worked(
    name: str, q: int, cell: tuple[int, int], value: int, effective: int
) -> None:
    encoding = get_encoding(name)
    faulty = stuck(encoding.encode(np.array(q), 4, 2), *cell, value)
    assert encoding.decode(faulty, 4, 2) == effective


def test_stuck_magnitude_msb_of_a_16_bit_weight() -> None:
    # Seed 001's "most significant bit set to 1" on 1-bit cells: 15 magnitude slices,
    # so the magnitude MSB is slice 14 and is worth 2**14.
    levels = get_encoding("two-column").encode(np.array(1), 16, 1)
    assert levels.shape == (2, 15)
    assert get_encoding("two-column").decode(stuck(levels, 0, 14, 1), 16, 1) == 1 + 2**14


@FAST
@given(data=st.data(), bits=st.integers(2, 16), cells=cell_bits)
def test_pruning_shields_zeros_from_one_fault_kind(
    data: st.DataObject, bits: int, cells: int
) -> None:
    """Seed 003 IV: zeros survive stuck-off under two-column and stuck-on under differential."""
    q = np.array([0, 0, 0, 1, -qmax(bits), qmax(bits)])  # three pruned, three live weights
    hit = data.draw(arrays(np.bool_, (2, magnitude_slices(bits, cells), q.size)))  # faulty cells
    top = top_level(cells)
    outcomes = {}
    for name in ("two-column", "differential"):
        encoding = get_encoding(name)
        levels = encoding.encode(q, bits, cells)
        for kind, value in (("off", 0), ("on", top)):
            outcomes[name, kind] = encoding.decode(np.where(hit, value, levels), bits, cells)[:3]
    np.testing.assert_array_equal(outcomes["two-column", "off"], 0)
    np.testing.assert_array_equal(outcomes["differential", "on"], 0)
    # The other kind harms a zero unless it hits both or neither cell of every slice: per slice
    # it adds +-L * 2**(k*cell_bits), and no sum of such terms cancels unless all are 0.
    harmed = (hit[0, :, :3] != hit[1, :, :3]).any(axis=0)
    for name, kind in (("two-column", "on"), ("differential", "off")):
        np.testing.assert_array_equal(outcomes[name, kind] != 0, harmed)
