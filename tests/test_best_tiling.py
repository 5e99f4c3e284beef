"""`best` and `kmeans`: valid tilings, never worse than the others, seed 001's example, VGG masks."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.mapping.bounds import lower_bound
from simulator.mapping.strategies import STRATEGY_NAMES, get_strategy
from simulator.mapping.strategies.best import greedy_tiles
from simulator.mapping.strategies.kmeans import KMeansTiling, f_split
from simulator.mapping.tiles import Tile, check_tiling, rebuild

BENCH = Path(__file__).resolve().parents[1] / "bench"

OTHERS = [name for name in STRATEGY_NAMES if name != "best"]


@st.composite
def small_masks(draw) -> np.ndarray:
    """Random masks up to 48 x 48 from empty to dense, some rows and columns pruned whole."""
    rows, cols = draw(st.integers(1, 48)), draw(st.integers(1, 48))
    density = draw(st.sampled_from([0.0, 0.02, 0.08, 0.3, 1.0]) | st.floats(0.0, 1.0))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kept_rows, kept_cols = rng.random((rows, 1)) < 0.7, rng.random((1, cols)) < 0.7
    return (rng.random((rows, cols)) < density) & (kept_rows | draw(st.booleans())) & kept_cols


def same_tiles(a: list[Tile], b: list[Tile]) -> bool:
    return len(a) == len(b) and all(
        np.array_equal(x.rows, y.rows) and np.array_equal(x.cols, y.cols) and np.array_equal(x.held, y.held)
        for x, y in zip(a, b)
    )


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mask=small_masks(), size=st.sampled_from([4, 8, 16]), seed=st.integers(0, 3))
def test_best_is_valid_and_never_worse_than_any_other_strategy(
    mask: np.ndarray, size: int, seed: int
) -> None:
    tiles = get_strategy("best").tile(mask, size, seed)
    check_tiling(mask, tiles, size)
    weights = np.where(mask, np.random.default_rng(seed).standard_normal(mask.shape), 0.0)
    assert np.array_equal(rebuild(weights, tiles), weights)
    assert all(tile.held.any() for tile in tiles)
    assert len(tiles) >= lower_bound(mask, size)
    for name in OTHERS:
        assert len(tiles) <= len(get_strategy(name).tile(mask, size, seed)), name
    for oriented in (mask, mask.T):
        check_tiling(oriented, greedy_tiles(oriented, size), size)
    # best runs the greedy on the side with more nonzero lines (W on a tie)
    packed = mask.T if mask.any(axis=0).sum() > mask.any(axis=1).sum() else mask
    assert len(tiles) <= len(greedy_tiles(packed, size))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mask=small_masks(), size=st.sampled_from([4, 8, 16]), seed=st.integers(0, 3))
def test_kmeans_is_valid_and_deterministic(mask: np.ndarray, size: int, seed: int) -> None:
    tiles = KMeansTiling().tile(mask, size, seed)
    check_tiling(mask, tiles, size)
    assert all(tile.held.any() for tile in tiles)
    assert same_tiles(tiles, KMeansTiling().tile(mask, size, seed))


def test_seed001_example_best_places_at_most_45() -> None:
    """Seed 001's VGG19 layer 7 as a random 4608 x 512 mask at density 0.0052, N = 128:
    skip-empty places 144, the nonzero-row bound is 34; the greedy meets it."""
    mask = np.random.default_rng(0).random((4608, 512)) < 0.0052
    tiles = get_strategy("best").tile(mask, 128, 0)
    check_tiling(mask, tiles, 128)
    assert lower_bound(mask, 128) == 34
    assert len(tiles) <= 45
    for name in ("compact", "kmeans", "graph"):
        assert len(tiles) < len(get_strategy(name).tile(mask, 128, 0)), name
    assert greedy_tiles(mask, 128, limit=len(tiles) - 1) is None  # gives up once it cannot win


def test_planted_blocks_reach_the_lower_bound() -> None:
    """Four dense N x N blocks with shuffled rows and columns: one tile each, for both."""
    size = 8
    mask = np.kron(np.eye(4, dtype=bool), np.ones((size, size), dtype=bool))
    rng = np.random.default_rng(1)
    mask = mask[np.ix_(rng.permutation(4 * size), rng.permutation(4 * size))]
    for strategy in (get_strategy("best"), KMeansTiling()):
        tiles = strategy.tile(mask, size, 0)
        check_tiling(mask, tiles, size)
        assert len(tiles) == 4 == lower_bound(mask, size)


def test_best_falls_back_to_the_grid_on_a_dense_matrix() -> None:
    """A full 48 x 40 matrix at N = 16: the 9 grid tiles meet the bound, so best returns 9."""
    mask = np.ones((48, 40), dtype=bool)
    assert len(get_strategy("best").tile(mask, 16, 0)) == 9 == lower_bound(mask, 16)


def test_overlapping_column_sets_beat_any_column_partition() -> None:
    """Row kinds {0,1}, {1,2}, {0,2}, two rows each, N = 2: three tiles with the column sets
    {0,1}, {1,2}, {0,2} (overlapping) hold every row whole. A partition of the columns into
    bands of 2 splits two kinds (5 tiles), and so do bands of 2 consecutive rows."""
    size = 2
    kinds = np.array([[1, 1, 0], [0, 1, 1], [1, 0, 1]], dtype=bool)
    mask = np.tile(kinds, (2, 1))
    tiles = get_strategy("best").tile(mask, size, 0)
    check_tiling(mask, tiles, size)
    assert len(tiles) == lower_bound(mask, size) == 3
    assert len(get_strategy("compact").tile(mask, size, 0)) == 5


def test_kmeans_split_height_follows_column_density() -> None:
    rng = np.random.default_rng(0)
    sparse = rng.random((2304, 256)) < 0.002  # about 0.02 nonzeros per column per 8 rows
    mid = rng.random((2304, 256)) < 0.1  # about 0.8 per column per 8 rows
    assert f_split(sparse, 8) == 2304
    assert f_split(mid, 8) == 32
    assert f_split(mid, 64) == 2304


def test_vgg16_global_masks_best_beats_every_strategy_in_total() -> None:
    """VGG16 at 1 % global density (global magnitude pruning), N = 128: the masks have the
    requested density, and best places fewer tiles in total than every other strategy."""
    sys.path.insert(0, str(BENCH))
    from bench_mapping import global_magnitude_masks

    masks = global_magnitude_masks("vgg16", 0.01)
    assert [m.mask.shape for m in masks][-3:] == [(512, 512), (512, 256), (256, 10)]
    total = sum(m.mask.size for m in masks)
    assert sum(int(m.mask.sum()) for m in masks) == round(0.01 * total)
    best = sum(len(get_strategy("best").tile(m.mask, 128, 0)) for m in masks)
    for name in OTHERS:
        assert best < sum(len(get_strategy(name).tile(m.mask, 128, 0)) for m in masks), name
