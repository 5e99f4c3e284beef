"""Stuck-at cell faults and the effective weights of mapped matrices (design.md stage 5, seed 003)."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.faults import FaultRates, TileDraw, apply_faults, draw_cell_faults, faulty_matrix
from simulator.faults.cells import HEALTHY, STUCK_OFF, STUCK_ON
from simulator.mapping.encoding import ENCODINGS, get_encoding
from simulator.mapping.mapper import map_matrix
from simulator.mapping.quantize import dequantize, quantize
from simulator.mapping.tiles import Tile

STRATEGIES = ("skip-empty", "compact", "none")


class FixedDraws:
    """Stands in for a Generator: ``random(shape)`` returns preset uniforms, one array per call."""

    def __init__(self, *draws: np.ndarray) -> None:
        self._draws = list(draws)

    def random(self, shape: tuple[int, ...]) -> np.ndarray:
        u = self._draws.pop(0)
        assert u.shape == shape
        return u


def sparse_weights(rows: int, cols: int, density: float, seed: int) -> np.ndarray:
    """Random weights with about ``density`` nonzeros and an all-zero top-left 8 x 8 block."""
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(rows, cols)) * (rng.random((rows, cols)) < density)
    W[:8, :8] = 0.0
    return W


def tiles_for(W: np.ndarray, size: int, strategy: str) -> list[Tile]:
    return map_matrix(W != 0, size, strategy, seed=0).tiles


# ---------------------------------------------------------------- rates


def test_from_total_uses_seed_003_ratio() -> None:
    rates = FaultRates.from_total(0.062)
    assert rates.p_sa0 == pytest.approx(0.062 / 6.2)
    assert rates.p_sa1 == pytest.approx(0.062 * 5.2 / 6.2)
    assert rates.p_sa1 / rates.p_sa0 == pytest.approx(5.2)
    assert rates.total == pytest.approx(0.062)
    assert FaultRates.from_total(1.0).total == pytest.approx(1.0)
    assert FaultRates.from_total(0.3, ratio=(1.0, 1.0)) == FaultRates(0.15, 0.15)


@pytest.mark.parametrize("p_sa0, p_sa1", [(-0.1, 0.0), (0.0, 1.5), (0.6, 0.5), (float("nan"), 0.0)])
def test_invalid_rates_rejected(p_sa0: float, p_sa1: float) -> None:
    with pytest.raises(ValueError):
        FaultRates(p_sa0, p_sa1)


def test_from_total_rejects_bad_rate_and_ratio() -> None:
    with pytest.raises(ValueError):
        FaultRates.from_total(1.5)
    with pytest.raises(ValueError):
        FaultRates.from_total(0.1, ratio=(0.0, 0.0))


# ---------------------------------------------------------------- cell draws


def test_fault_shares_match_rates() -> None:
    rates = FaultRates(0.04, 0.2)
    faults = draw_cell_faults((2, 4, 100, 125), rates, np.random.default_rng(7))
    assert faults.dtype == np.int8
    n = faults.size
    for code, p in ((STUCK_OFF, rates.p_sa0), (STUCK_ON, rates.p_sa1)):
        count = np.count_nonzero(faults == code)
        assert abs(count - n * p) < 5 * np.sqrt(n * p * (1 - p))
    assert set(np.unique(faults)) <= {HEALTHY, STUCK_OFF, STUCK_ON}


def test_draws_are_deterministic_per_seed() -> None:
    rates = FaultRates.from_total(0.1)
    a = draw_cell_faults((2, 3, 20, 20), rates, np.random.default_rng(1))
    b = draw_cell_faults((2, 3, 20, 20), rates, np.random.default_rng(1))
    c = draw_cell_faults((2, 3, 20, 20), rates, np.random.default_rng(2))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_slice_confinement_of_draws() -> None:
    faults = draw_cell_faults((2, 4, 30, 30), FaultRates(0.2, 0.5), np.random.default_rng(3),
                              slice_index=2)
    assert np.count_nonzero(faults[:, 2]) > 0
    assert np.count_nonzero(np.delete(faults, 2, axis=1)) == 0
    with pytest.raises(ValueError):
        draw_cell_faults((2, 4, 3, 3), FaultRates(0.1, 0.1), np.random.default_rng(0),
                         slice_index=4)


def test_apply_faults_copies_and_sets_extreme_levels() -> None:
    levels = np.array([1, 2, 1, 0], dtype=np.uint8)
    faults = np.array([HEALTHY, STUCK_OFF, STUCK_ON, STUCK_ON], dtype=np.int8)
    out = apply_faults(levels, faults, cell_bits=2)
    assert out.tolist() == [1, 0, 3, 3]
    assert levels.tolist() == [1, 2, 1, 0]
    with pytest.raises(ValueError):
        apply_faults(levels, faults[:3], cell_bits=2)


# ---------------------------------------------------------------- effective matrix


@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("per_column", [False, True])
def test_zero_rates_give_dequantized_weights(encoding: str, strategy: str, per_column: bool) -> None:
    W = sparse_weights(37, 29, 0.3, seed=11)
    tiles = tiles_for(W, 8, strategy)
    for weight_bits, cell_bits in ((8, 2), (4, 1), (1, 1), (16, 4)):
        out = faulty_matrix(W, tiles, TileDraw(encoding, weight_bits, cell_bits, FaultRates(0.0, 0.0),
                                                     np.random.default_rng(0), per_column=per_column))
        expected = dequantize(quantize(W, weight_bits, per_column=per_column))
        assert np.array_equal(out, expected)


def test_faulty_matrix_is_deterministic_per_seed() -> None:
    W = sparse_weights(40, 40, 0.3, seed=5)
    tiles = tiles_for(W, 16, "compact")
    rates = FaultRates.from_total(0.05)
    a, b, c = (faulty_matrix(W, tiles, TileDraw("differential", 8, 2, rates, np.random.default_rng(s)))
               for s in (1, 1, 2))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_slice_confinement_in_matrix() -> None:
    """Faults in slice k only move an integer weight by multiples of 2**(k*cell_bits)."""
    W = sparse_weights(32, 32, 0.5, seed=2)
    tiles = tiles_for(W, 32, "none")  # one tile: each position has one set of cells
    q = quantize(W, 8)
    for k in (0, 6):
        out = faulty_matrix(W, tiles, TileDraw("two-column", 8, 1, FaultRates(0.2, 0.2),
                                                     np.random.default_rng(4), slice_index=k))
        err = np.rint(out / q.scale).astype(np.int64) - q.q
        assert np.count_nonzero(err) > 0
        assert np.all(err % 2**k == 0)
        assert np.abs(err).max() <= 2 * 2**k


def test_unplaced_tile_stays_zero_at_full_stuck_on() -> None:
    W = sparse_weights(24, 24, 0.4, seed=3)  # the 8 x 8 block at the origin is all zero
    tiles = tiles_for(W, 8, "skip-empty")
    assert len(tiles) == 8
    for encoding in ENCODINGS:
        out = faulty_matrix(W, tiles, TileDraw(encoding, 8, 2, FaultRates(0.0, 1.0), np.random.default_rng(0)))
        assert np.all(out[:8, :8] == 0.0)


@pytest.mark.parametrize("fault, shielded, exposed", [
    ("stuck-on", "differential", "two-column"),
    ("stuck-off", "two-column", "differential"),
])
def test_pruning_shields_by_encoding(fault: str, shielded: str, exposed: str) -> None:
    """Seed 003 IV: a pruned (zero, covered) weight is immune to stuck-off under two-column and
    to stuck-on under differential, and exposed to the other kind."""
    W = sparse_weights(32, 32, 0.4, seed=9)
    W[:8, :8] = np.random.default_rng(1).normal(size=(8, 8))  # every tile placed
    tiles = tiles_for(W, 8, "skip-empty")
    pruned = quantize(W, 8).q == 0
    rates = FaultRates(0.0, 0.1) if fault == "stuck-on" else FaultRates(0.1, 0.0)
    safe = faulty_matrix(W, tiles, TileDraw(shielded, 8, 2, rates, np.random.default_rng(6)))
    hurt = faulty_matrix(W, tiles, TileDraw(exposed, 8, 2, rates, np.random.default_rng(6)))
    assert np.all(safe[pruned] == 0.0)
    assert np.count_nonzero(hurt[pruned]) > 0
    assert np.count_nonzero(safe[~pruned] != dequantize(quantize(W, 8))[~pruned]) > 0


def _one_stuck_on(shape: tuple[int, ...], cell: tuple[int, ...]) -> np.ndarray:
    """Uniform draws that make exactly ``cell`` stuck-on under FaultRates(0, 0.5)."""
    u = np.full(shape, 0.9)
    u[cell] = 0.1
    return u


def test_stuck_on_top_slice_of_pruned_zero_two_column() -> None:
    """4-bit weights, 2-bit cells: L = 3, 3 magnitude bits -> 2 slices; a stuck-on positive cell
    of the most significant slice turns a pruned zero into +3 * 4 = 12 integer steps."""
    W = np.array([[7.0, 0.0], [0.0, -7.0]])  # scale 1: q == W
    tile = Tile(np.arange(2), np.arange(2), W != 0)
    assert get_encoding("two-column").slices(4, 2) == 2
    rng = FixedDraws(_one_stuck_on((2, 2, 2, 2), (0, 1, 0, 1)))
    out = faulty_matrix(W, [tile], TileDraw("two-column", 4, 2, FaultRates(0.0, 0.5), rng))
    assert out.tolist() == [[7.0, 12.0], [0.0, -7.0]]


def test_covered_not_held_cells_add_to_the_holder() -> None:
    """A nonzero held by tile B and covered (as zero) by tile A gets A's faulty cells added."""
    W = np.array([[7.0, -5.0]])
    a = Tile(np.array([0]), np.array([0, 1]), np.array([[True, False]]))
    b = Tile(np.array([0]), np.array([1]), np.array([[True]]))
    rng = FixedDraws(_one_stuck_on((2, 2, 1, 2), (0, 1, 0, 1)), np.full((2, 2, 1, 1), 0.9))
    out = faulty_matrix(W, [a, b], TileDraw("two-column", 4, 2, FaultRates(0.0, 0.5), rng))
    assert out.tolist() == [[7.0, -5.0 + 12.0]]
    # No faults: the covering zero decodes to 0, so the sum is just the held value.
    clean = faulty_matrix(W, [a, b], TileDraw("two-column", 4, 2, FaultRates(0.0, 0.0), np.random.default_rng(0)))
    assert clean.tolist() == [[7.0, -5.0]]


def test_uncovered_positions_are_zero() -> None:
    W = np.array([[1.0, 2.0], [3.0, 4.0]])
    tile = Tile(np.array([0]), np.array([0, 1]), np.array([[True, True]]))
    out = faulty_matrix(W, [tile], TileDraw("differential", 4, 2, FaultRates(0.5, 0.5), np.random.default_rng(0)))
    assert out[1].tolist() == [0.0, 0.0]


def test_zero_rates_skip_the_draw_but_advance_the_generator_alike() -> None:
    """At rate 0 no cell can fail: the draw is skipped, the generator advanced past it (PCG64
    takes one step per double), so what it draws next is what it would have drawn."""
    drawn, skipped = np.random.default_rng(7), np.random.default_rng(7)
    drawn.random((2, 3, 5, 4))
    codes = draw_cell_faults((2, 3, 5, 4), FaultRates(0.0, 0.0), skipped, slice_index=1)
    assert codes.dtype == np.int8 and not codes.any()
    assert np.array_equal(drawn.random(9), skipped.random(9))
    with pytest.raises(ValueError, match="slice_index must be in 0..2"):
        draw_cell_faults((2, 3, 5, 4), FaultRates(0.0, 0.0), skipped, slice_index=3)
