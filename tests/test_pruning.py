"""Pruning: exact densities, lower bounds, masks that hold through training, IMP rounds and resume,
structured sparsity, compact checkpoints."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from torch import nn

from simulator.config.workload import BoundSpec, PruneSpec, TrainSpec
from simulator.network.compact import export_compact, load_compact
from simulator.network.train import TensorData, train
from simulator.pruning import methods
from simulator.pruning.magnitude import bounded_global_magnitude, global_magnitude, layer_bounds, layerwise_magnitude
from simulator.pruning.masks import apply_masks, density, density_table, prunable
from simulator.pruning.methods import group_lasso, imp, imp_schedule, prune, structured_masks


def tiny_model(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 16), nn.ReLU(),
                         nn.Linear(16, 3))


def tiny_data(n: int = 96) -> TensorData:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 1, 8, 8, generator=g)
    y = (x[:, 0, :4].sum(dim=(1, 2)) > 0).long() + (x[:, 0, 4:].sum(dim=(1, 2)) > 1).long()
    return TensorData(x, y, x[:32], y[:32])


RECIPE = TrainSpec(epochs=2, batch_size=16, lr=0.05, schedule="none", eval_batch_size=32)


def total_weights(model: nn.Module) -> int:
    return sum(m.weight.numel() for m in prunable(model).values())


@pytest.mark.parametrize("d", [0.5, 0.1, 0.018, 0.01])
def test_global_magnitude_keeps_exactly_the_largest(d: float) -> None:
    model = tiny_model()
    masks = global_magnitude(model, d)
    kept = sum(int(m.sum()) for m in masks.values())
    assert kept == round(d * total_weights(model))
    smallest_kept = min(float(m.weight.detach().abs()[masks[n]].min()) for n, m in prunable(model).items()
                        if masks[n].any())
    largest_pruned = max(float(m.weight.detach().abs()[~masks[n]].max()) for n, m in prunable(model).items())
    assert smallest_kept >= largest_pruned


def test_one_shot_improved_respects_bounds_and_hits_density() -> None:
    model = tiny_model()
    # Scale one layer down so plain global pruning would empty it.
    with torch.no_grad():
        model[5].weight.mul_(1e-3)
    assert int(global_magnitude(model, 0.05)["5"].sum()) == 0
    bounds = BoundSpec(linear=0.02, conv=0.1)
    masks = bounded_global_magnitude(model, 0.05, bounds)
    for name, module in prunable(model).items():
        share = bounds.linear if isinstance(module, nn.Linear) else bounds.conv
        assert int(masks[name].sum()) >= math.ceil(share * module.weight.numel())
    # exact to one weight: within 0.01 percentage points for any network over 10 000 weights
    assert sum(int(m.sum()) for m in masks.values()) == round(0.05 * total_weights(model))


def test_infeasible_bounds_are_an_error() -> None:
    with pytest.raises(ValueError, match="lower bounds keep"):
        bounded_global_magnitude(tiny_model(), 0.01, BoundSpec(linear=0.5, conv=0.5))


def test_adaptive_bounds_keep_every_output_unit() -> None:
    model = tiny_model()
    forced = layer_bounds(model, BoundSpec(linear=0.0, conv=0.0, rule="adaptive"))
    for name, mask in forced.items():
        assert bool(mask.flatten(1).any(dim=1).all()), name


def test_layerwise_gives_each_layer_the_density() -> None:
    masks = layerwise_magnitude(tiny_model(), 0.25)
    for mask in masks.values():
        assert int(mask.sum()) == round(0.25 * mask.numel())


def test_masked_training_keeps_pruned_weights_zero() -> None:
    model = tiny_model()
    masks = global_magnitude(model, 0.2)
    apply_masks(model, masks)
    train(model, RECIPE.model_copy(update={"weight_decay": 0.01, "momentum": 0.9}), tiny_data(), 0, False,
          masks=masks)
    for name, module in prunable(model).items():
        assert torch.all(module.weight.detach()[~masks[name]] == 0), name
        assert torch.all(module.weight.grad[~masks[name]] == 0), name
    assert sum(row["nonzero"] for row in density_table(model)) == sum(int(m.sum()) for m in masks.values())


def test_imp_schedule_ends_exactly_at_target() -> None:
    schedule = imp_schedule(0.018, 0.2)
    assert schedule[-1] == 0.018 and len(schedule) == math.ceil(math.log(0.018) / math.log(0.8))
    assert all(a > b for a, b in zip(schedule, schedule[1:]))


def run_imp(state_dir: Path | None, **spec) -> methods.PruneResult:
    model = tiny_model()
    train(model, RECIPE, tiny_data(), 0, False)
    return imp(model, PruneSpec(method="imp", density=0.2, rate=0.5, **spec), RECIPE, tiny_data(), 0, False,
               initial=tiny_model, state_dir=state_dir)


def test_imp_is_deterministic_and_logs_every_round(tmp_path: Path) -> None:
    a, b = run_imp(None), run_imp(None)
    assert [r["round"] for r in a.rounds] == [1, 2, 3]
    assert [round(r["density"], 3) for r in a.rounds] == [0.5, 0.25, 0.2]
    for name in a.masks:
        assert torch.equal(a.masks[name], b.masks[name])


def test_imp_resumes_from_its_last_round(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reference = run_imp(None)
    calls = {"n": 0}
    real_train = methods.train

    def dying_train(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real_train(*args, **kwargs)

    monkeypatch.setattr(methods, "train", dying_train)
    with pytest.raises(KeyboardInterrupt):
        run_imp(tmp_path)  # rounds 1 and 2 finish, round 3 is interrupted
    assert sorted(p.name for p in tmp_path.iterdir()) == ["round-001.pt", "round-002.pt"]
    calls["n"] = -100
    resumed = run_imp(tmp_path)
    assert calls["n"] == -99  # only round 3 trained again
    assert resumed.rounds == reference.rounds
    for name in reference.masks:
        assert torch.equal(resumed.masks[name], reference.masks[name])


def test_late_rewinding_and_reinit_run() -> None:
    late = run_imp(None, rewind_iteration=3)
    reinit = run_imp(None, reinit=True)
    assert late.rounds[-1]["density"] == pytest.approx(0.2, abs=1e-3)
    assert reinit.rounds[-1]["density"] == pytest.approx(0.2, abs=1e-3)
    with pytest.raises(ValueError, match="rewind_iteration"):
        run_imp(None, rewind_iteration=10_000)


def test_group_lasso_by_hand() -> None:
    layer = nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[3.0, 4.0], [0.0, 0.0]]))
    value = group_lasso(1.0, 10.0)(nn.Sequential(layer))
    # filters (rows): 5 + 0; channels (columns): 3 + 4
    assert float(value.detach()) == pytest.approx(5.0 + 10.0 * 7.0, rel=1e-5)


def test_structured_masks_remove_whole_groups() -> None:
    model = tiny_model()
    with torch.no_grad():
        model[3].weight[:5].mul_(1e-6)  # five weak neurons
    masks = structured_masks(model, target=0.0, threshold=1e-4)
    assert not masks["3"][:5].any() and masks["3"][5:].all()


def test_ssl_end_to_end_reaches_structured_sparsity() -> None:
    model = tiny_model()
    train(model, RECIPE, tiny_data(), 0, False)
    spec = PruneSpec(method="ssl", density=0.5, finetune_epochs=1,
                     ssl={"filter_decay": 0.05, "channel_decay": 0.05, "epochs": 3, "threshold": 0.05})
    result = prune(model, spec, RECIPE, tiny_data(), 0, False, initial=tiny_model, state_dir=None)
    assert density(result.masks) < 1.0
    assert result.rounds[0]["density"] == pytest.approx(density(result.masks))


def test_compact_checkpoint_round_trip(tmp_path: Path) -> None:
    model = tiny_model()
    masks = global_magnitude(model, 0.1)
    with torch.no_grad():
        model[0].weight.view(-1)[masks["0"].view(-1).nonzero()[0]] = 1e-9  # would underflow in float16
    apply_masks(model, masks)
    path = tmp_path / "net.pt"
    export_compact(path, model.state_dict(), masks, {"note": "test"})
    state, loaded, info = load_compact(path)
    assert info == {"note": "test"}
    for name in masks:
        assert torch.equal(loaded[name], masks[name])
        assert torch.equal(state[f"{name}.weight"] != 0, masks[name])  # no survivor lost
    for key, tensor in model.state_dict().items():
        assert torch.allclose(state[key], tensor.float(), rtol=1e-3, atol=1e-7)
    assert torch.load(path, weights_only=True)["format"] == "resim-compact"


def test_training_with_dropout_does_not_depend_on_the_global_generator() -> None:
    """Dropout draws from torch's global generator: a dense network trained in this process
    leaves it in another state than one loaded from the cache, and the pruning's fine-tuning
    then differed with the cache's content. train() seeds it from its own seed and leaves the
    caller's state as it was."""
    g = torch.Generator().manual_seed(3)
    x, y = torch.randn(64, 12, generator=g), torch.randint(0, 3, (64,), generator=g)
    data = TensorData(x, y, x[:16], y[:16])

    def trained(global_seed: int) -> dict[str, torch.Tensor]:
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(12, 32), nn.ReLU(), nn.Dropout(0.5), nn.Linear(32, 3))
        torch.manual_seed(global_seed)
        before = torch.random.get_rng_state()
        train(model, RECIPE, data, seed=7, progress=False)
        assert torch.equal(torch.random.get_rng_state(), before)
        return {name: t.clone() for name, t in model.state_dict().items()}

    first, second = trained(1), trained(2)
    assert all(torch.equal(first[name], second[name]) for name in first)
