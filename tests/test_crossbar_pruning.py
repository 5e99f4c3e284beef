"""Crossbar-grained pruning (seed 004 section IV): grains cover the programmed nonzeros, removal hits
exactly their weights (grouped convolutions included), least salient first, tiles never grow,
target and accuracy-floor stops with rollback, no layer emptied."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from simulator.lowering.layers import weight_matrices
from simulator.mapping.crossbar_pruning import (
    crossbar_grained_prune,
    crossbar_row_groups,
    lowest_groups,
    remove_groups,
)
from simulator.mapping.setup import MappingSetup
from simulator.pruning.masks import Masks, apply_masks, prunable

SHAPE = (2, 6, 6)


def setup(strategy: str) -> MappingSetup:
    return MappingSetup(size=4, reorder=strategy, weight_bits=8, cell_bits=2, encoding="two-column", per_column=False,
                        seed=0)


def sparse_net(conv_groups: int = 1, seed: int = 0) -> tuple[nn.Module, Masks]:
    """Conv2d(2 or 4 -> 4, 3x3) + Linear(64 -> 6) on 6x6 inputs, ~half the weights masked away.
    Magnitudes in [0.1, 1] so no weight quantizes to zero at 8 bits."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Conv2d(2, 4, 3, groups=conv_groups), nn.ReLU(), nn.Flatten(),
                          nn.Linear(4 * 4 * 4, 6))
    masks = {}
    with torch.no_grad():
        for name, module in prunable(model).items():
            w = module.weight
            w.copy_(torch.sign(torch.randn_like(w)) * (0.1 + 0.9 * torch.rand_like(w)))
            masks[name] = torch.rand_like(w) < 0.5
    apply_masks(model, masks)
    return model, masks


def matrices(model: nn.Module) -> dict[str, list[np.ndarray]]:
    return {name: [m.copy() for m in weight_matrices(module)] for name, module in prunable(model).items()}


def nonzeros(model: nn.Module) -> int:
    return sum(int(torch.count_nonzero(m.weight)) for m in prunable(model).values())


def positions(groups) -> set[tuple[str, int, int, int]]:
    return {(gr.layer, gr.group, gr.row, int(c)) for gr in groups for c in gr.cols}


def outside_masks_zero(model: nn.Module, masks: Masks) -> bool:
    return all(not torch.any(m.weight[~masks[name]]) for name, m in prunable(model).items())


@pytest.mark.parametrize("strategy", ["skip-empty", "compact"])
@pytest.mark.parametrize("conv_groups", [1, 2])
def test_groups_partition_the_held_nonzeros(strategy: str, conv_groups: int) -> None:
    model, masks = sparse_net(conv_groups)
    groups = crossbar_row_groups(model, masks, SHAPE, setup(strategy))
    assert sum(g.size for g in groups) == nonzeros(model) == len(positions(groups))
    W = matrices(model)
    for g in groups:
        assert np.all(W[g.layer][g.group][g.row, g.cols] != 0)
        assert g.saliency == pytest.approx(np.abs(W[g.layer][g.group][g.row, g.cols]).sum())
    keys = [(list(masks).index(g.layer), g.group, g.tile, g.row) for g in groups]
    assert keys == sorted(keys)


@pytest.mark.parametrize("conv_groups", [1, 2])
def test_remove_groups_zeroes_exactly_their_weights(conv_groups: int) -> None:
    model, masks = sparse_net(conv_groups)
    groups = crossbar_row_groups(model, masks, SHAPE, setup("compact"))
    chosen = groups[::3]
    expected = matrices(model)
    for g in chosen:
        expected[g.layer][g.group][g.row, g.cols] = 0
    new = remove_groups(model, masks, chosen)
    after = matrices(model)
    for name in expected:
        for want, got in zip(expected[name], after[name]):
            np.testing.assert_array_equal(got, want)
    assert outside_masks_zero(model, new)
    removed = sum(int(masks[n].sum() - new[n].sum()) for n in masks)
    assert removed == sum(g.size for g in chosen)
    assert all(torch.equal(masks[n] & new[n], new[n]) for n in masks)  # only removals


def test_grouped_conv_index_mapping() -> None:
    model, masks = sparse_net(conv_groups=2)
    conv = model[0]                               # out_pg = 2, 1 input channel per group: r = kh*3 + kw
    groups = [g for g in crossbar_row_groups(model, masks, SHAPE, setup("skip-empty"))
              if g.layer == "0" and g.group == 1]
    g = groups[0]
    before = conv.weight.detach().clone()
    remove_groups(model, masks, [g])
    for c in g.cols:
        assert conv.weight[2 + c, 0, g.row // 3, g.row % 3] == 0
        assert before[2 + c, 0, g.row // 3, g.row % 3] != 0
    assert torch.count_nonzero(before) - torch.count_nonzero(conv.weight) == g.size


def test_lowest_saliency_groups_go_first() -> None:
    model, masks = sparse_net()
    groups = crossbar_row_groups(model, masks, SHAPE, setup("skip-empty"))
    _, steps = crossbar_grained_prune(model, masks, SHAPE, setup("skip-empty"), step_fraction=0.25,
                                      max_steps=1)
    removed = {(n, g, r, c) for n, ws in matrices(model).items() for g, w in enumerate(ws)
               for r, c in zip(*np.nonzero(w == 0))}
    removed &= positions(groups)
    count = steps[1].groups_removed
    assert count == len(groups) // 4
    ranked = sorted(groups, key=lambda g: g.saliency)
    assert removed == positions(ranked[:count])
    assert ranked[count - 1].saliency <= ranked[count].saliency


def test_lowest_groups_never_take_a_layers_last_grain() -> None:
    model, masks = sparse_net()
    groups = crossbar_row_groups(model, masks, SHAPE, setup("skip-empty"))
    chosen = lowest_groups(groups, len(groups))
    assert len(chosen) == len(groups) - len(masks)


def test_steps_record_and_tiles_never_grow() -> None:
    model, masks = sparse_net()
    start = nonzeros(model)
    new, steps = crossbar_grained_prune(model, masks, SHAPE, setup("compact"), step_fraction=0.2,
                                        max_steps=4, finetune=lambda m, k: None, evaluate=lambda m: 0.5)
    assert [s.step for s in steps] == list(range(5))
    assert steps[0].groups_removed == steps[0].params_pruned == 0 and steps[0].tiles_saved_fraction == 0
    tiles = [s.tiles_placed for s in steps]
    assert tiles == sorted(tiles, reverse=True) and tiles[-1] < tiles[0]
    assert steps[-1].params_pruned == start - nonzeros(model)
    assert steps[-1].params_pruned_fraction == pytest.approx(steps[-1].params_pruned / start)
    assert steps[-1].tiles_saved_fraction == pytest.approx(1 - tiles[-1] / tiles[0])
    assert all(s.test_accuracy == 0.5 and not s.reverted for s in steps)
    assert outside_masks_zero(model, new)


def test_target_tiles_stops_early() -> None:
    model, masks = sparse_net()
    _, probe = crossbar_grained_prune(model, masks, SHAPE, setup("skip-empty"), step_fraction=0.1,
                                      max_steps=0)
    target = probe[0].tiles_placed - 3
    _, steps = crossbar_grained_prune(model, masks, SHAPE, setup("skip-empty"), step_fraction=0.1,
                                      max_steps=50, target_tiles=target)
    assert steps[-1].tiles_placed <= target < steps[-2].tiles_placed
    assert len(steps) < 51


def test_accuracy_floor_rolls_back_the_last_step() -> None:
    model, masks = sparse_net()
    accuracies = iter([0.9, 0.8, 0.7, 0.5, 0.4])
    seen: list[tuple[dict, Masks]] = []

    def finetune(m: nn.Module, k: Masks) -> None:
        with torch.no_grad():
            for layer in prunable(m).values():
                layer.weight.mul_(1.01)
        seen.append(({n: t.clone() for n, t in m.state_dict().items()}, {n: t.clone() for n, t in k.items()}))

    new, steps = crossbar_grained_prune(model, masks, SHAPE, setup("skip-empty"), step_fraction=0.1,
                                        max_steps=10, accuracy_floor=0.6, finetune=finetune,
                                        evaluate=lambda m: next(accuracies))
    assert [s.reverted for s in steps] == [False, False, False, True]
    assert steps[-1].test_accuracy == 0.5
    state, kept = seen[1]                         # after step 2, the last accepted one
    assert all(torch.equal(new[n], kept[n]) for n in kept)
    assert all(torch.equal(model.state_dict()[n], state[n]) for n in state)
    assert outside_masks_zero(model, new)


def test_no_layer_is_emptied() -> None:
    model, masks = sparse_net()
    new, steps = crossbar_grained_prune(model, masks, SHAPE, setup("skip-empty"), step_fraction=1.0,
                                        max_steps=3)
    assert len(steps) == 2                        # step 2 finds nothing it may remove
    groups = crossbar_row_groups(model, new, SHAPE, setup("skip-empty"))
    assert sorted(g.layer for g in groups) == sorted(masks)
    assert all(int(m.sum()) > 0 for m in new.values())
