"""examples/seed004_energy_speedup.py on the shipped LeNet-5 (seconds): the waterfall's variants add
up to the shipped design, its step factors multiply to the total, masks keep each layer's density,
and iso-area never builds a chip larger than the baseline (issue #15 items 3-4)."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest
import torch

from simulator.pruning.masks import prunable

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def example():
    sys.path.insert(0, str(REPO / "examples"))
    try:
        import seed004_energy_speedup
    finally:
        sys.path.remove(str(REPO / "examples"))
    return seed004_energy_speedup


@pytest.fixture
def lenet(example, shared_data: Path, cache: Path):
    return example.load_network("lenet5_mnist_sparse", shared_data)


def test_waterfall_steps_multiply_to_the_shipped_design(example, lenet) -> None:
    fall = example.waterfall_part(lenet)       # raises if the index-register step is not sparse_small.yaml
    steps = fall["steps"]
    # One step per short name (chip model v3 added the ADC-sharing step: 10 rows, v2 had 9), so the
    # summary table's labels stay on their rows.
    assert steps[0]["energy_efficiency"] == 1.0 and len(steps) == len(example.SHORT_STEPS)
    assert steps[example.SHIPPED_STEP]["step"].endswith("= sparse_small.yaml")
    product = math.prod(s["step_energy"] for s in steps)
    assert product == pytest.approx(steps[-1]["energy_efficiency"], rel=1e-9)
    assert math.prod(s["step_speed"] for s in steps) == pytest.approx(steps[-1]["speedup"], rel=1e-9)
    info = fall["crossbar_pruning"]
    assert info["tiles_after"] <= info["tiles_before"] and info["images"] > 0


def test_mask_kinds_keep_each_layers_density_and_iso_area_keeps_the_area(example, lenet) -> None:
    for kind in ("random", "channel"):
        model = example.variant(lenet, kind)
        for (name, trained), (_, masked) in zip(prunable(lenet.model).items(), prunable(model).items()):
            density = float((trained.weight != 0).float().mean())
            got = float((masked.weight != 0).float().mean())
            # Random masks keep the count; whole channels round it (LeNet's conv1 has one input channel).
            assert got == pytest.approx(density, abs=0.01 if kind == "random" else 0.1), (kind, name)
    again = example.masked_variant(lenet, "channel")
    assert all(torch.equal(a.weight, b.weight) for a, b in zip(prunable(again).values(),
                                                               prunable(example.variant(lenet, "channel")).values()))
    rows = example.sizing_part(lenet)
    assert {(r["masks"], r["sizing"]) for r in rows} == {(m, s) for m in example.MASK_KINDS for s in example.POLICIES}
    for row in rows:
        if row["sizing"] == "iso-area":
            assert row.get("fits") is False or row["area_ratio"] <= 1.0 + 1e-9
