"""Synthetic masks for networks without checkpoints (simulator/pruning/synthetic.py)."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.mapping.mapper import segment_counts
from simulator.pruning.synthetic import (
    channel_mask,
    global_magnitude_masks,
    layer_shapes,
    random_mask,
    random_masks,
)


def test_random_mask_density_is_exact_and_seeded() -> None:
    for density in (0.0, 0.0006, 0.0105, 0.5, 1.0):
        mask = random_mask((4608, 512), density, np.random.default_rng(3))
        assert mask.shape == (4608, 512) and mask.dtype == bool
        assert int(mask.sum()) == round(density * mask.size)
    first = random_mask((100, 30), 0.1, np.random.default_rng(7))
    assert np.array_equal(first, random_mask((100, 30), 0.1, np.random.default_rng(7)))
    assert not np.array_equal(first, random_mask((100, 30), 0.1, np.random.default_rng(8)))
    with pytest.raises(ValueError):
        random_mask((4, 4), 1.5, np.random.default_rng(0))


def test_random_masks_by_name_or_position() -> None:
    shapes = [("a", (50, 20)), ("b", (30, 40))]
    by_position = random_masks(shapes, [0.2, 0.05], seed=1)
    by_name = random_masks(shapes, {"b": 0.05, "a": 0.2}, seed=1)
    assert [m.name for m in by_position] == ["a", "b"]
    assert [int(m.mask.sum()) for m in by_position] == [200, 60]
    assert all(np.array_equal(p.mask, n.mask) for p, n in zip(by_position, by_name))
    with pytest.raises(KeyError):
        random_masks(shapes, {"a": 0.2}, seed=1)
    with pytest.raises(ValueError):
        random_masks(shapes, [0.2], seed=1)


def test_random_mask_zero_segments_follow_the_independence_model() -> None:
    """Seed 001's VGG19 layer 13 argument: the share of all-zero column segments of N rows is
    (1 - d)^N for independent positions (within 1 point on 18 432 to 294 912 segments)."""
    mask = random_mask((4608, 512), 0.008, np.random.default_rng(0))
    for size in (8, 64, 128):
        segments = segment_counts(mask, size)
        zero_share = 1 - segments["nz_cols"] / segments["total_cols"]
        assert zero_share == pytest.approx((1 - 0.008) ** size, abs=0.01)


def test_global_magnitude_masks_meet_the_global_density() -> None:
    masks = global_magnitude_masks("lenet5", 0.044, seed=0, input_shape=(1, 28, 28))
    shapes = layer_shapes("lenet5", (1, 28, 28))
    assert [(m.name, m.mask.shape) for m in masks] == shapes
    assert shapes[0] == ("conv1", (25, 6)) and shapes[2] == ("fc1", (400, 120))
    total = sum(m.mask.size for m in masks)
    assert sum(int(m.mask.sum()) for m in masks) == round(0.044 * total)
    again = global_magnitude_masks("lenet5", 0.044, seed=0, input_shape=(1, 28, 28))
    assert all(np.array_equal(a.mask, b.mask) for a, b in zip(masks, again))


@pytest.mark.parametrize(("shape", "per_channel", "density"), [
    ((4608, 512), 9, 0.075), ((27, 64), 9, 0.075), ((512, 10), 1, 0.04), ((2304, 256), 9, 0.25)])
def test_channel_mask_keeps_whole_channels_near_the_density(shape, per_channel, density) -> None:
    mask = channel_mask(shape, per_channel, density, np.random.default_rng(3))
    rows = mask.any(axis=1)
    cols = mask.any(axis=0)
    # One dense block: every kept row holds every kept column, and rows come in whole channels.
    assert np.array_equal(mask, np.outer(rows, cols))
    by_channel = rows.reshape(-1, per_channel)
    assert (by_channel.all(axis=1) | ~by_channel.any(axis=1)).all()
    # Whole channels round the density (a first conv keeps 1 of its 3 channels and 14 of 64 outputs).
    assert mask.mean() == pytest.approx(density, rel=0.05)
    again = channel_mask(shape, per_channel, density, np.random.default_rng(3))
    assert np.array_equal(mask, again)


def test_channel_mask_rejects_partial_channels() -> None:
    with pytest.raises(ValueError, match="whole channels"):
        channel_mask((10, 4), 9, 0.5, np.random.default_rng(0))
