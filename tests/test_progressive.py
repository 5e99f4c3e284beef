"""Hierarchical progressive pruning (seed 003 Algorithm 1): exact ratios per step, masks that only
shrink, the pop-and-retry rule, M_best, determinism, and the `hpp` method through the pipeline."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml
from torch import nn

from simulator.config import ConfigError, load_workload
from simulator.config.workload import HppSpec, PruneSpec, TrainSpec
from simulator.mapping.setup import MappingSetup
from simulator.network.train import TensorData, train
from simulator.pruning.masks import density, full_masks, prunable
from simulator.pruning.methods import prune
from simulator.pruning.progressive import (
    Crossbars,
    FaultObjective,
    blocks_of,
    candidate_ratios,
    fault_accuracy,
    hierarchical_progressive,
    prune_block,
)

REPO = Path(__file__).resolve().parents[1]
SETUP = Crossbars(MappingSetup(size=16, reorder="skip-empty", weight_bits=8, cell_bits=2, encoding="two-column",
                                per_column=False, seed=0), (1, 8, 8))
RECIPE = TrainSpec(epochs=3, batch_size=16, lr=0.05, schedule="none", eval_batch_size=64)


def tiny_model(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 16), nn.ReLU(),
                         nn.Linear(16, 3))


def tiny_data(n: int = 192) -> TensorData:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 1, 8, 8, generator=g)
    y = (x[:, 0, :4].sum(dim=(1, 2)) > 0).long() + (x[:, 0, 4:].sum(dim=(1, 2)) > 1).long()
    return TensorData(x, y, x[:64], y[:64])


@pytest.fixture(scope="module")
def trained() -> dict:
    model = tiny_model()
    train(model, RECIPE, tiny_data(), 0, progress=False)
    return model.state_dict()


def fresh(state: dict) -> nn.Module:
    model = tiny_model()
    model.load_state_dict(state)
    return model


def spec(density: float = 0.2, **hpp) -> PruneSpec:
    settings = {"ratio_step": 0.2, "draws": 2, "eval_samples": 96, "fault_rate": 0.01, **hpp}
    return PruneSpec(method="hpp", density=density, finetune_epochs=1, hpp=HppSpec(**settings))


class Recorder:
    """A fine-tuning stand-in that records each candidate's masks (and can ruin chosen steps)."""

    def __init__(self, ruin: set[int] = frozenset()):
        self.masks: dict[int, dict] = {}
        self.ruin = ruin

    def __call__(self, model: nn.Module, masks: dict, step: int) -> None:
        self.masks[step] = {k: v.clone() for k, v in masks.items()}
        if step in self.ruin:
            with torch.no_grad():
                for module in prunable(model).values():
                    module.weight.zero_()
                    module.bias.zero_()


def test_candidate_ratios_end_exactly_at_the_target() -> None:
    assert candidate_ratios(0.1, 0.75) == [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.75]
    assert candidate_ratios(0.25, 0.5) == [0.25, 0.5]
    assert candidate_ratios(0.5, 0.2) == [0.2]


def test_blocks_group_by_channels_smallest_first() -> None:
    model = nn.Sequential(nn.Conv2d(1, 8, 3), nn.Conv2d(8, 8, 3), nn.Flatten(), nn.Linear(8, 4), nn.Linear(4, 4))
    # conv 0 + conv 1 (8 channels: 72 + 576 weights), linear 3 (4 units: 32 + 16): one block each
    assert blocks_of(model, "channels") == [["3", "4"], ["0", "1"]]
    assert blocks_of(model, "layer") == [["4"], ["3"], ["0"], ["1"]]


def test_prune_block_is_exact_and_keeps_pruned_weights_pruned(trained: dict) -> None:
    model = fresh(trained)
    masks = full_masks(model)
    first = prune_block(model, ["0", "5"], 0.5, masks)
    second = prune_block(model, ["0", "5"], 0.25, first)
    total = model[0].weight.numel() + model[5].weight.numel()
    for share, m in ((0.5, first), (0.25, second)):
        assert int(m["0"].sum() + m["5"].sum()) == round(share * total)
        assert bool(m["3"].all())                      # outside the block: untouched
    assert all(bool((second[n] <= first[n]).all()) for n in second)


def test_search_invariants(trained: dict) -> None:
    model, recorder = fresh(trained), Recorder()
    # threshold 1: every candidate is accepted, so the search walks all ratios on all blocks
    masks, log = hierarchical_progressive(model, spec(threshold=1.0), RECIPE, tiny_data(), 0, False, SETUP,
                                          finetune=recorder)
    steps = [e for e in log if "ratio" in e and e["round"] > 0]
    assert [e["ratio"] for e in steps] == [0.2, 0.4, 0.6, 0.8] and all(e["accepted"] for e in steps)
    total = sum(m.numel() for m in masks.values())
    previous = full_masks(model)
    for entry in steps:
        step_masks = recorder.masks[entry["round"]]
        # target reached exactly on every active block, and masks only shrink
        for block in entry["blocks"]:
            kept = sum(int(step_masks[n].sum()) for n in block)
            size = sum(step_masks[n].numel() for n in block)
            assert kept == round((1 - entry["ratio"]) * size)
        assert all(bool((step_masks[n] <= previous[n]).all()) for n in step_masks)
        previous = step_masks
    assert abs(steps[-1]["density"] - 0.2) * total <= len(blocks_of(model, "channels"))
    # M_best: the most accurate model under faults of the search, left in the model
    scored = [e for e in log if "ratio" in e]
    best = max(scored, key=lambda e: e["fault_accuracy"])
    assert log[-1]["fault_accuracy"] == best["fault_accuracy"] and log[-1]["density"] == best["density"]
    assert log[-1]["density"] >= 0.2 - 1e-9 and density(masks) == log[-1]["density"]
    for name, module in prunable(model).items():
        assert not bool(module.weight[~masks[name]].any())


def test_rejected_step_drops_the_smallest_block_and_retries_the_ratio(trained: dict) -> None:
    model = fresh(trained)
    # fault rate 0 turns the objective into plain accuracy; zeroed weights at step 1 must fail
    _, log = hierarchical_progressive(model, spec(threshold=0.01, fault_rate=0.0), RECIPE, tiny_data(), 0, False,
                                      SETUP, finetune=Recorder(ruin={1}))
    first, second = log[1], log[2]
    assert not first["accepted"] and first["ratio"] == second["ratio"] == 0.2
    assert second["blocks"] == first["blocks"][1:]
    # the smallest block (the conv, 36 weights) kept all its weights in M_best
    assert log[-1]["block_ratios"]["0"] == 0.0


def test_result_last_returns_the_last_accepted_model(trained: dict) -> None:
    model, recorder = fresh(trained), Recorder(ruin={2})
    masks, log = hierarchical_progressive(model, spec(threshold=0.01, fault_rate=0.0, result="last"), RECIPE,
                                          tiny_data(), 0, False, SETUP, finetune=recorder)
    accepted = [e for e in log[1:-1] if e["accepted"]]
    assert accepted and log[-1]["result"] == "M_cur" and log[-1]["density"] == accepted[-1]["density"]
    assert all(torch.equal(masks[n], recorder.masks[accepted[-1]["round"]][n]) for n in masks)
    assert density(masks) < 1.0


def test_search_stops_when_every_block_is_dropped(trained: dict) -> None:
    model = fresh(trained)
    _, log = hierarchical_progressive(model, spec(threshold=0.01, fault_rate=0.0), RECIPE, tiny_data(), 0, False,
                                      SETUP, finetune=Recorder(ruin={1, 2, 3}))
    assert [e["accepted"] for e in log[1:-1]] == [False, False, False]
    assert log[-1]["density"] == 1.0     # nothing accepted: M_best is M_init


def test_same_seed_same_search(trained: dict) -> None:
    def run() -> tuple[dict, list]:
        model = fresh(trained)
        result = prune(model, spec(threshold=0.02), RECIPE, tiny_data(), 3, False, initial=tiny_model, state_dir=None,
                       crossbars=SETUP)
        return result.masks, result.rounds, model.state_dict()
    (m1, log1, s1), (m2, log2, s2) = run(), run()
    assert log1 == log2
    assert all(torch.equal(m1[n], m2[n]) for n in m1) and all(torch.equal(s1[k], s2[k]) for k in s1)
    assert log1[-1]["test_accuracy"] is not None


def test_fault_draws_hurt_and_are_seeded(trained: dict) -> None:
    model, data = fresh(trained), tiny_data()
    clean = FaultObjective.of(HppSpec(fault_rate=0.0, draws=1))
    heavy = FaultObjective.of(HppSpec(fault_rate=0.2, fault_mix="stuck-on", draws=3))
    exact = fault_accuracy(model, SETUP, clean, data.x_test, data.y_test, 0)
    assert fault_accuracy(model, SETUP, heavy, data.x_test, data.y_test, 0) < exact
    assert (fault_accuracy(model, SETUP, heavy, data.x_test, data.y_test, 5)
            == fault_accuracy(model, SETUP, heavy, data.x_test, data.y_test, 5))


def test_hpp_needs_crossbars(trained: dict) -> None:
    with pytest.raises(ValueError, match="crossbars"):
        prune(fresh(trained), spec(), RECIPE, tiny_data(), 0, False, initial=tiny_model, state_dir=None)


@pytest.mark.parametrize("prune_block_doc, key_path, words", [
    ({"method": "hpp", "density": 1.0}, "prune", "density must be < 1"),
    ({"method": "hpp", "density": 0.1, "hpp": {"fault_mix": "both"}}, "prune.hpp.fault_mix", "'stuck-off'"),
    ({"method": "hpp", "density": 0.1, "hpp": {"ratio_step": 1.5}}, "prune.hpp.ratio_step", "less than 1"),
    ({"method": "hpp", "density": 0.1, "hpp": {"draw": 5}}, "prune.hpp.draw", "unknown key"),
])
def test_bad_hpp_block_names_the_key(tmp_path: Path, prune_block_doc: dict, key_path: str, words: str) -> None:
    doc = yaml.safe_load((REPO / "workloads" / "lenet5_mnist.yaml").read_text())
    doc["hardware"] = str(REPO / "hwconfigs" / "prime.yaml")
    doc["prune"] = prune_block_doc
    path = tmp_path / "w.yaml"
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(ConfigError) as info:
        load_workload(path)
    line = str(info.value)
    assert line.startswith(str(path)) and key_path in line and words in line


def test_pipeline_runs_and_caches_hpp(tmp_path: Path, shared_data: Path, cache: Path) -> None:
    from simulator.data.load import load_data
    from simulator.preparation import prepare_network

    doc = yaml.safe_load((REPO / "workloads" / "lenet5_mnist.yaml").read_text())
    doc["hardware"] = str(REPO / "hwconfigs" / "prime.yaml")
    doc["data"] = {"dataset": "mnist", "dir": str(shared_data), "train_samples": 2000, "test_samples": 300}
    doc["train"].update({"epochs": 1, "batch_size": 64})
    doc["prune"] = {"method": "hpp", "density": 0.5, "finetune_epochs": 0,
                    "hpp": {"ratio_step": 0.25, "draws": 2, "eval_samples": 300, "threshold": 0.05}}
    path = tmp_path / "hpp.yaml"
    path.write_text(yaml.safe_dump(doc))
    workload = load_workload(path)
    arrays = load_data(workload, None)
    first = prepare_network(workload, arrays, progress=False)
    assert not first.reused and first.metrics["prune"]["method"] == "hpp"
    assert first.metrics["prune"]["density"] >= 0.5 - 1e-4
    again = prepare_network(workload, arrays, progress=False)
    assert again.reused and again.checkpoint == first.checkpoint
    # the objective's crossbars are part of the cache key
    doc["mapping"]["weight_bits"] = 6
    path.write_text(yaml.safe_dump(doc))
    changed = prepare_network(load_workload(path), arrays, progress=False)
    assert changed.checkpoint != first.checkpoint
