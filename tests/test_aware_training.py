"""Fault-aware fine-tuning (seed 001's keep_weight, keep_bit, mask, clip), worked by hand on one
Linear layer of 4-bit weights in 1-bit cells (two-column: polarities a, b; slices worth 1, 2, 4)."""

from __future__ import annotations

import mapped as mapping
import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from simulator.config.faults import FaultSpec
from simulator.config.workload import TrainSpec
from simulator.faults.aware_training import (
    aware_study,
    fine_tune,
    layer_faults,
    make_strategy,
    summarise_aware,
)
from simulator.faults.cells import STUCK_ON
from simulator.faults.effective import FaultMap
from simulator.faults.montecarlo import chip_weights, fault_study
from simulator.network.train import TensorData

# out x in = 3 x 4; scale = 0.7 / 7 = 0.1. (0, 1) is 0.1 = code 1; (2, 3) is pruned.
WEIGHT = torch.tensor([[0.7, 0.1, 0.2, -0.2],
                       [0.2, -0.2, 0.2, 0.2],
                       [0.2, 0.2, -0.2, 0.0]])
FAULTY = (0, 1)        # out 0, in 1: polarity a, top slice stuck-on -> code 1 + 4 = 5, value 0.5
STUCK_ZERO = (2, 3)    # pruned: polarity b, slice 0 stuck-on -> a zero reads -1, value -0.1


def layer() -> nn.Module:
    model = nn.Sequential(nn.Linear(4, 3, bias=False))
    with torch.no_grad():
        model[0].weight.copy_(WEIGHT)
    return model


def frozen_faults(model: nn.Module, clip_quantile: float = 0.99):
    layers = mapping.mapped(model, (1, 1, 4), 4, "none", 4)              # one tile: W is (in 4, out 3)
    codes = np.zeros((2, 3, 4, 3), dtype=np.int8)                        # (polarity, slice, in, out)
    codes[0, 2, FAULTY[1], FAULTY[0]] = STUCK_ON
    codes[1, 0, STUCK_ZERO[1], STUCK_ZERO[0]] = STUCK_ON
    maps = {"0": [FaultMap.build(layers.layers[0].matrices[0], layers.layers[0].tiles[0], [codes], "two-column", 4,
                                 1)]}
    return layers, maps, layer_faults(model, layers, maps, clip_quantile)


def data(n: int = 32) -> TensorData:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 1, 1, 4, generator=g)
    y = torch.randint(0, 3, (n,), generator=g)
    return TensorData(x.flatten(1), y, x.flatten(1), y)


RECIPE = TrainSpec(epochs=1, batch_size=8, lr=0.05, momentum=0.0, weight_decay=0.0, schedule="none")


def test_faults_seen_in_the_weight_shape() -> None:
    model = layer()
    _, _, (faults,) = frozen_faults(model)
    assert faults.faulty.nonzero().tolist() == [list(FAULTY)]
    assert faults.stuck_zero.nonzero().tolist() == [list(STUCK_ZERO)]
    assert faults.chip[FAULTY].item() == pytest.approx(0.5)
    assert faults.chip[STUCK_ZERO].item() == pytest.approx(-0.1)
    assert torch.allclose(faults.limit, torch.full((3, 4), 0.7))


def test_keep_bit_keeps_the_stuck_bit_after_optimizer_steps() -> None:
    model = layer()
    _, _, faults = frozen_faults(model)
    strategy = make_strategy("keep_bit", faults)
    strategy.start()
    weight = model[0].weight
    assert weight[FAULTY].item() == pytest.approx(0.5)            # the chip's value of 0.1
    with torch.no_grad():                                          # an optimizer step of +0.1 there
        weight[FAULTY] += 0.1
        weight[1, 1] += 0.05
    strategy.on_step(1)
    assert weight[FAULTY].item() == pytest.approx(0.6)            # latent 0.2 = code 2, + stuck 4
    assert weight[1, 1].item() == pytest.approx(-0.15)            # healthy: as the optimizer left it
    assert weight[STUCK_ZERO].item() == pytest.approx(-0.1)       # pruned cell stuck: fixed
    with torch.no_grad():
        weight[FAULTY] -= 0.27
    strategy.on_step(2)
    assert weight[FAULTY].item() == pytest.approx(0.3)            # latent -0.07 -> code -1 in b; a's 4 stays
    assert strategy.programmed()["0"][FAULTY].item() == pytest.approx(-0.07)


def test_keep_bit_fine_tunes_through_the_chip() -> None:
    model = layer()
    layers, maps, faults = frozen_faults(model)
    strategy = make_strategy("keep_bit", faults)
    fine_tune(strategy, model, RECIPE, data(), seed=0, progress=False)
    programmed = strategy.programmed()["0"]
    assert programmed[FAULTY].item() != pytest.approx(0.1)         # the faulty weight trained
    chip = chip_weights(layers, maps, {"0": programmed})["0"]
    # What fine-tuning computed with is what the chip computes, to half a quantization step.
    assert torch.allclose(chip, model[0].weight.detach(), atol=0.05 + 1e-6)
    assert chip[FAULTY].item() == pytest.approx(faults[0].chip_at_faulty(programmed[faults[0].faulty]).item())


def test_mask_zeroes_exactly_the_faulty_weights() -> None:
    model = layer()
    _, _, faults = frozen_faults(model)
    fine_tune(make_strategy("mask", faults), model, RECIPE, data(), seed=0, progress=False)
    weight = model[0].weight.detach()
    zero = weight == 0
    assert zero.nonzero().tolist() == [list(FAULTY), list(STUCK_ZERO)]   # the faulty one and the pruned one
    assert not torch.equal(weight[~zero], WEIGHT[~zero])                # the others trained


def test_keep_weight_fixes_the_faulty_value_and_programs_the_original() -> None:
    model = layer()
    layers, maps, faults = frozen_faults(model)
    strategy = make_strategy("keep_weight", faults)
    fine_tune(strategy, model, RECIPE, data(), seed=0, progress=False)
    weight = model[0].weight.detach()
    assert weight[FAULTY].item() == pytest.approx(0.5) and weight[STUCK_ZERO].item() == pytest.approx(-0.1)
    assert weight.abs().max().item() <= 0.7 + 1e-6                   # the chip's range
    programmed = strategy.programmed()["0"]
    assert programmed[FAULTY].item() == pytest.approx(0.1) and programmed[STUCK_ZERO].item() == 0.0
    chip = chip_weights(layers, maps, {"0": programmed})["0"]
    assert torch.allclose(chip, weight, atol=0.05 + 1e-6)


def test_clip_bounds_the_faulty_value_by_the_healthy_weights() -> None:
    model = layer()
    _, _, faults = frozen_faults(model, clip_quantile=0.5)   # healthy |w|: 0.7 and nine 0.2 -> median 0.2
    assert faults[0].healthy_clip == pytest.approx(0.2)
    strategy = make_strategy("clip", faults)
    strategy.start()
    weight = model[0].weight
    assert weight[FAULTY].item() == pytest.approx(0.2)        # 0.5 clipped
    assert weight[STUCK_ZERO].item() == pytest.approx(-0.1)   # within the bound
    with torch.no_grad():
        weight += 0.01
    strategy.on_step(1)
    assert weight[FAULTY].item() == pytest.approx(0.2)
    assert strategy.programmed()["0"][FAULTY].item() == pytest.approx(0.1)


def test_unknown_strategy() -> None:
    with pytest.raises(ValueError, match="allowed: keep_weight, keep_bit, mask, clip"):
        make_strategy("freeze", [])


def test_study_is_deterministic_and_starts_from_the_fault_study_draw() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    layers = mapping.mapped(model, (1, 1, 4), 4, "skip-empty", seed=3)
    spec = FaultSpec(rates=[0.05], encodings=["two-column", "differential"], runs=2)
    d = data(48)
    first = aware_study(model, layers, d, RECIPE, strategies=["keep_bit", "mask"], spec=spec, progress=False)
    again = aware_study(model, layers, d, RECIPE, strategies=["keep_bit", "mask"], spec=spec, progress=False)
    pd.testing.assert_frame_equal(first.drop(columns="finetune_seconds"), again.drop(columns="finetune_seconds"))
    plain = fault_study(model, layers, d.x_test, d.y_test, spec, progress=False)
    before = first[first["strategy"] == "mask"].reset_index(drop=True)
    assert before["before"].tolist() == plain["accuracy"].tolist()
    summary = summarise_aware(first)
    assert len(summary) == 4 and summary["runs"].eq(2).all()
    assert set(summary.columns) >= {"before", "after_as_trained", "after_on_chip", "after_on_chip_std", "faulty_share"}
