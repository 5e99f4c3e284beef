"""Tiling strategies: validity on random masks, seed 001's example and model, bounds, registers."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.mapping.bounds import bound_terms, dense_tiles, lower_bound
from simulator.mapping.index_registers import IndexRegisters, index_registers, summarise
from simulator.mapping.strategies import STRATEGY_NAMES, get_strategy
from simulator.mapping.tiles import Tile, check_tiling, full_tile, rebuild


def strategy_or_skip(name: str):
    """The strategy, or a visible skip when its module is not written yet (kmeans, best)."""
    try:
        return get_strategy(name)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("simulator.mapping.strategies."):
            pytest.skip(f"strategy {name!r}: module {exc.name} does not exist yet")
        raise


@pytest.fixture(scope="module", params=STRATEGY_NAMES)
def strategy(request: pytest.FixtureRequest):
    """Each registered strategy in turn (module scope, so Hypothesis examples share it)."""
    return strategy_or_skip(request.param)


@st.composite
def masks(draw) -> np.ndarray:
    """Random (R, C) masks up to 70 x 70, densities 0..1 (edges 0 and 1 included), with some
    rows and columns pruned whole (the structure `compact` exploits)."""
    rows = draw(st.integers(1, 70))
    cols = draw(st.integers(1, 70))
    density = draw(st.sampled_from([0.0, 0.01, 0.05, 0.2, 0.6, 1.0]) | st.floats(0.0, 1.0))
    kept_rows, kept_cols = draw(st.sampled_from([1.0, 0.5, 0.1])), draw(st.sampled_from([1.0, 0.5, 0.1]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    mask = rng.random((rows, cols)) < density
    return mask & (rng.random((rows, 1)) < kept_rows) & (rng.random((1, cols)) < kept_cols)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mask=masks(), size=st.sampled_from([1, 4, 8, 16]), seed=st.integers(0, 3))
def test_strategy_tiles_every_nonzero_once(strategy, mask: np.ndarray, size: int, seed: int) -> None:
    tiles = strategy.tile(mask, size, seed)
    check_tiling(mask, tiles, size)
    weights = np.where(mask, np.random.default_rng(seed).standard_normal(mask.shape), 0.0)
    assert np.array_equal(rebuild(weights, tiles), weights)
    if strategy.name == "none":
        assert len(tiles) == dense_tiles(*mask.shape, size)
    else:
        assert all(tile.held.any() for tile in tiles)
        assert len(tiles) >= lower_bound(mask, size)
    assert len(strategy.tile(mask, size, seed)) == len(tiles)  # deterministic


def test_strategy_rejects_bad_input(strategy) -> None:
    with pytest.raises(ValueError):
        strategy.tile(np.ones((4, 4), dtype=bool), 0, 0)
    with pytest.raises(ValueError):
        strategy.tile(np.ones(4, dtype=bool), 4, 0)


def test_dense_grid_tiles_are_the_grid_in_order() -> None:
    mask = np.zeros((10, 7), dtype=bool)
    mask[9, 6] = True
    tiles = get_strategy("none").tile(mask, 4, 0)
    assert [(t.rows.tolist(), t.cols.tolist()) for t in tiles[:2]] == [
        ([0, 1, 2, 3], [0, 1, 2, 3]),
        ([0, 1, 2, 3], [4, 5, 6]),
    ]
    assert len(tiles) == 6 and tiles[-1].held.shape == (2, 3)
    kept = get_strategy("skip-empty").tile(mask, 4, 0)
    assert [(t.rows.tolist(), t.cols.tolist()) for t in kept] == [([8, 9], [4, 5, 6])]


def test_compact_packs_nonzero_rows_per_band_of_kept_columns() -> None:
    # 8 x 6, N = 2: columns 1 and 4 are all zero; kept columns 0,2 | 3,5 form two bands.
    mask = np.zeros((8, 6), dtype=bool)
    mask[[0, 5, 7], 0] = True  # band (0, 2): rows 0, 5, 7 -> 2 tiles
    mask[[5], 2] = True
    mask[[1, 2], 3] = True  # band (3, 5): rows 1, 2 -> 1 tile
    mask[[2], 5] = True
    tiles = get_strategy("compact").tile(mask, 2, 0)
    check_tiling(mask, tiles, 2)
    assert sorted((t.rows.tolist(), t.cols.tolist()) for t in tiles) == [
        ([0, 5], [0, 2]),
        ([1, 2], [3, 5]),
        ([7], [0, 2]),
    ]


def test_compact_takes_the_row_variant_when_it_is_smaller() -> None:
    # N = 2. Column bands (0,1) and (2,3) are each touched by three rows: 2 + 2 tiles.
    # Row bands (0,1) and (2,3) each touch two columns: 1 + 1 tiles, so the row variant wins.
    mask = np.zeros((4, 4), dtype=bool)
    mask[[0, 1], 0] = mask[[0, 1], 2] = True
    mask[2, 1] = mask[3, 3] = True
    tiles = get_strategy("compact").tile(mask, 2, 0)
    check_tiling(mask, tiles, 2)
    assert sorted((t.rows.tolist(), t.cols.tolist()) for t in tiles) == [([0, 1], [0, 2]), ([2, 3], [1, 3])]


def test_rcm_recovers_a_shuffled_band() -> None:
    band = np.eye(300, dtype=bool) | np.eye(300, k=1, dtype=bool)
    rng = np.random.default_rng(2)
    shuffled = band[np.ix_(rng.permutation(300), rng.permutation(300))]
    size = 16
    assert len(get_strategy("skip-empty").tile(shuffled, size, 0)) > 200
    assert len(get_strategy("rcm").tile(shuffled, size, 0)) <= 2 * math.ceil(300 / size) + 1


def test_graph_keeps_disjoint_blocks_in_one_tile_each() -> None:
    # Four dense 3 x 3 blocks on a shuffled diagonal: the bounded search finds each block.
    mask = np.kron(np.eye(4, dtype=bool), np.ones((3, 3), dtype=bool))
    rng = np.random.default_rng(5)
    shuffled = mask[np.ix_(rng.permutation(12), rng.permutation(12))]
    tiles = get_strategy("graph").tile(shuffled, 3, 0)
    check_tiling(shuffled, tiles, 3)
    assert len(tiles) == 4 == lower_bound(shuffled, 3)


SEED001_SHAPE, SEED001_DENSITY, SEED001_SIZE = (4608, 512), 0.0052, 128


def test_seed001_example_counts() -> None:
    """Seed 001's VGG19 layer 7 (4608 inputs x 512 outputs at ~1 % density), N = 128, as a
    random mask: skip-empty saves nothing, compact saves about half, and nobody beats the bound."""
    mask = np.random.default_rng(0).random(SEED001_SHAPE) < SEED001_DENSITY
    counts, seconds = {}, {}
    for name in ("skip-empty", "compact", "rcm", "graph"):
        start = time.perf_counter()
        tiles = get_strategy(name).tile(mask, SEED001_SIZE, 0)
        seconds[name] = time.perf_counter() - start
        check_tiling(mask, tiles, SEED001_SIZE)
        counts[name] = len(tiles)
    terms = bound_terms(mask, SEED001_SIZE)
    bound = lower_bound(mask, SEED001_SIZE)
    print(f"\nseed 001 example: {counts}, lower bound {bound} {terms}, seconds {seconds}")
    assert dense_tiles(*SEED001_SHAPE, SEED001_SIZE) == 144
    assert counts["skip-empty"] == 144
    assert terms["nonzero_rows"] == 34
    assert counts["compact"] < counts["skip-empty"]
    assert all(count >= bound for count in counts.values())


@pytest.mark.parametrize("density", [0.025, 0.008, 0.0006])
@pytest.mark.parametrize("length", [8, 64, 128])
def test_independence_model_predicts_zero_column_segments(density: float, length: int) -> None:
    """Seed 001: with nonzeros independent at density d, a column segment of N cells is all zero
    with probability (1 - d)^N (its table: (1-0.025)^8 = 81.6 %, (1-0.008)^64 = 59.8 %,
    (1-0.0006)^128 = 92.6 %)."""
    mask = np.random.default_rng(1).random(SEED001_SHAPE) < density
    segments = mask.reshape(SEED001_SHAPE[0] // length, length, SEED001_SHAPE[1]).any(axis=1)
    assert abs((1 - segments.mean()) - (1 - density) ** length) < 0.01


def test_lower_bound_by_hand() -> None:
    size = 2
    assert lower_bound(np.zeros((3, 3), dtype=bool), size) == 0
    assert lower_bound(np.ones((4, 4), dtype=bool), size) == 4  # nonzeros: 16 / 4
    diagonal = np.eye(6, dtype=bool)  # 6 rows of one nonzero: 6 row places / 2
    assert bound_terms(diagonal, size)["row_appearances"] == 3
    assert lower_bound(diagonal, size) == 3
    wide = np.zeros((5, 9), dtype=bool)
    wide[0] = True  # a 9-long row needs ceil(9/2) = 5 tiles, more than any other term
    assert bound_terms(wide, size) == {
        "nonzeros": 3,
        "nonzero_rows": 1,
        "nonzero_cols": 5,
        "row_appearances": 3,
        "col_appearances": 5,
        "widest_row": 5,
        "widest_col": 1,
    }
    assert lower_bound(wide, size) == 5
    short_rows = np.zeros((8, 8), dtype=bool)
    short_rows[:, 0] = short_rows[:, 1] = short_rows[:, 2] = True  # rows of 3: 2 places each
    assert bound_terms(short_rows, size)["row_appearances"] == 8 > bound_terms(short_rows, size)["nonzeros"]
    assert dense_tiles(10, 7, 4) == 6


def test_index_registers_of_grid_and_packed_tiles() -> None:
    mask = np.ones((300, 20), dtype=bool)
    grid = full_tile(mask, np.arange(128, 256), np.arange(0, 20))
    assert index_registers(grid, 300, 20, dense_grid=True) == IndexRegisters(0, 0, 0, 0)
    assert index_registers(grid, 300, 20, dense_grid=False) == IndexRegisters(128, 9, 20, 5)
    packed = full_tile(mask, np.array([3, 7, 8]), np.arange(4, 8))
    registers = index_registers(packed, 300, 20, dense_grid=True)
    assert registers == IndexRegisters(3, 9, 0, 0)  # ceil(log2(300)) = 9
    assert (registers.registers, registers.bits) == (3, 27)
    shuffled = Tile(np.array([0]), np.array([5, 4]), np.ones((1, 2), dtype=bool))
    assert index_registers(shuffled, 1, 16, dense_grid=True) == IndexRegisters(0, 0, 2, 4)
    assert summarise([grid, packed, shuffled], 300, 20) == {
        "tiles": 3,
        "row_registers": 3,
        "col_registers": 2,
        "registers": 5,
        "row_register_bits": 27,
        "col_register_bits": 10,
        "bits": 37,
    }


def test_dense_strategies_need_no_index_registers() -> None:
    mask = np.random.default_rng(3).random((50, 40)) < 0.3
    for name in ("none", "skip-empty"):
        assert summarise(get_strategy(name).tile(mask, 16, 0), 50, 40)["registers"] == 0
