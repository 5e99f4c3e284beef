"""The pruning methods of `prune.method`, each turning a trained dense network into a sparse one.

one-shot / one-shot-improved / layerwise: prune the trained weights once, then fine-tune under the
masks. imp: lottery-ticket rounds (train, prune `rate` of the survivors globally, rewind, repeat;
seed 001 "Recap"). ssl: group lasso on filters and channels (seed 001 eq. 2), then whole groups
removed and the rest fine-tuned. hpp: seed 003's hierarchical progressive pruning under faults
(simulator/pruning/progressive.py).
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from simulator.atomic import atomic_replace
from simulator.cache import report_bad_entry
from simulator.config.workload import PruneSpec, TrainSpec
from simulator.network.train import TensorData, evaluate, train
from simulator.pruning.magnitude import bounded_global_magnitude, global_magnitude, layerwise_magnitude
from simulator.pruning.masks import Masks, apply_masks, density, prunable

if TYPE_CHECKING:
    from simulator.pruning.progressive import Crossbars


@dataclass
class PruneResult:
    """Masks of the sparse network and the log of how they were found (one entry per round)."""

    masks: Masks
    rounds: list[dict[str, Any]] = field(default_factory=list)


def finetune_recipe(recipe: TrainSpec, spec: PruneSpec, epochs: int) -> TrainSpec:
    """The training recipe for fine-tuning: fewer epochs, lr / 10 unless given."""
    return recipe.model_copy(update={"epochs": epochs, "lr": spec.finetune_lr or recipe.lr / 10})


def _finetune(model: nn.Module, masks: Masks, spec: PruneSpec, recipe: TrainSpec, data: TensorData,
              seed: int, progress: bool, label: str) -> dict[str, Any]:
    apply_masks(model, masks)
    before = evaluate(model, data.x_test, data.y_test, recipe.eval_batch_size)
    result = train(model, finetune_recipe(recipe, spec, spec.finetune_epochs), data, seed + 1, progress,
                   masks=masks, label=label)
    after = result.test_accuracy if result.history else before
    return {"round": 1, "density": density(masks), "accuracy_after_pruning": before,
            "test_accuracy": after, "epochs": spec.finetune_epochs}


def one_shot(model: nn.Module, spec: PruneSpec, recipe: TrainSpec, data: TensorData, seed: int,
             progress: bool, select: Callable[[nn.Module], Masks]) -> PruneResult:
    """Prune the trained weights once with `select`, then fine-tune under the masks."""
    masks = select(model)
    log = _finetune(model, masks, spec, recipe, data, seed, progress, "finetune ")
    return PruneResult(masks, [log])


def imp_schedule(target: float, rate: float) -> list[float]:
    """Round densities (1 - rate)^i, the last one clipped to exactly `target`."""
    rounds = max(1, math.ceil(math.log(target) / math.log(1 - rate) - 1e-9))
    return [max((1 - rate) ** i, target) for i in range(1, rounds + 1)]


def imp(model: nn.Module, spec: PruneSpec, recipe: TrainSpec, data: TensorData, seed: int,
        progress: bool, initial: Callable[[int], nn.Module], state_dir: Path | None) -> PruneResult:
    """Iterative magnitude pruning with rewinding (lottery tickets).

    `model` arrives trained (round 0). `initial(seed)` builds the network's initial weights
    (rewinding target, or a fresh draw for the `reinit` control). With `rewind_iteration` k > 0
    round 0 is trained again to capture the weights after k iterations (late rewinding).
    Each round's state is saved in `state_dir`, so an interrupted run resumes at its last round."""
    round_recipe = recipe.model_copy(update={"epochs": spec.round_epochs or recipe.epochs})
    rewind_to = initial(seed).state_dict()
    if spec.rewind_iteration > 0:
        model.load_state_dict(rewind_to)
        snapshot: dict[str, dict] = {}

        def capture(iteration: int) -> None:
            if iteration == spec.rewind_iteration:
                snapshot["state"] = copy.deepcopy(model.state_dict())
        train(model, round_recipe, data, seed, progress, on_step=capture, label="imp round 0 ")
        if "state" not in snapshot:
            raise ValueError(f"prune.rewind_iteration {spec.rewind_iteration} exceeds the iterations of one round")
        rewind_to = snapshot["state"]

    masks: Masks | None = None
    log: list[dict[str, Any]] = []
    schedule = imp_schedule(spec.density, spec.rate)
    start = 0
    if state_dir is not None:
        start, masks, log = _resume(model, state_dir, len(schedule))
    for index in range(start, len(schedule)):
        masks = global_magnitude(model, schedule[index], masks)
        source = initial(seed + 1000 + index).state_dict() if spec.reinit else rewind_to
        model.load_state_dict(source)
        result = train(model, round_recipe, data, seed + index + 1, progress, masks=masks,
                       label=f"imp round {index + 1}/{len(schedule)} ")
        log.append({"round": index + 1, "density": density(masks), "test_accuracy": result.test_accuracy,
                    "epochs": round_recipe.epochs})
        if state_dir is not None:
            _save_round(state_dir, index + 1, model, masks, log)
    return PruneResult(masks or {}, log)


def _round_file(state_dir: Path, index: int) -> Path:
    return state_dir / f"round-{index:03d}.pt"


def _save_round(state_dir: Path, index: int, model: nn.Module, masks: Masks, log: list) -> None:
    with atomic_replace(_round_file(state_dir, index)) as tmp:
        torch.save({"state_dict": model.state_dict(), "masks": masks, "log": json.dumps(log)}, tmp)


def _resume(model: nn.Module, state_dir: Path, rounds: int) -> tuple[int, Masks | None, list]:
    """The last finished round saved in `state_dir`, loaded into `model`."""
    for index in range(rounds, 0, -1):
        path = _round_file(state_dir, index)
        if path.is_file():
            try:
                saved = torch.load(path, map_location="cpu", weights_only=True)
                log = json.loads(saved["log"])
                shapes = {k: tuple(v.shape) for k, v in saved["state_dict"].items()}
                if shapes != {k: tuple(v.shape) for k, v in model.state_dict().items()}:
                    raise ValueError("the tensors of another network")
            except Exception as exc:  # noqa: BLE001 - a damaged round is redone, never trusted
                report_bad_entry(path, "pruning round", f"is unreadable ({type(exc).__name__}: {exc})"[:200],
                                 "resuming from the round before it")
                continue
            model.load_state_dict(saved["state_dict"])
            return index, saved["masks"], log
    return 0, None, []


def group_lasso(filter_decay: float, channel_decay: float) -> Callable[[nn.Module], torch.Tensor]:
    """Seed 001 eq. 2: lambda_n * sum of filter norms + lambda_c * sum of channel norms."""
    def penalty(model: nn.Module) -> torch.Tensor:
        total = torch.zeros(())
        for module in prunable(model).values():
            w = module.weight.flatten(2) if module.weight.dim() > 2 else module.weight.unsqueeze(2)
            total = total + filter_decay * w.pow(2).sum(dim=(1, 2)).add(1e-12).sqrt().sum()
            total = total + channel_decay * w.pow(2).sum(dim=(0, 2)).add(1e-12).sqrt().sum()
        return total
    return penalty


def structured_masks(model: nn.Module, target: float, threshold: float) -> Masks:
    """Remove whole filters and channels whose RMS weight is below `threshold`, weakest first,
    stopping once the global density reaches `target`."""
    layers = prunable(model)
    masks = {name: torch.ones_like(m.weight, dtype=torch.bool) for name, m in layers.items()}
    total = sum(m.numel() for m in masks.values())
    groups = []
    for name, module in layers.items():
        w = module.weight.detach()
        for axis in (0, 1):
            dims = tuple(d for d in range(w.dim()) if d != axis)
            rms = w.pow(2).mean(dim=dims).sqrt()
            groups += [(float(r), name, axis, i) for i, r in enumerate(rms) if float(r) < threshold]
    kept = total
    for _, name, axis, index in sorted(groups):
        if kept / total <= target:
            break
        view = masks[name].select(axis, index)
        kept -= int(view.sum())
        view.fill_(False)
    return masks


def ssl(model: nn.Module, spec: PruneSpec, recipe: TrainSpec, data: TensorData, seed: int,
        progress: bool) -> PruneResult:
    """Train with the group-lasso regulariser, remove weak groups, fine-tune under the masks."""
    regulariser = group_lasso(spec.ssl.filter_decay, spec.ssl.channel_decay)
    result = train(model, finetune_recipe(recipe, spec, spec.ssl.epochs), data, seed + 1, progress,
                   regularizer=regulariser, label="ssl ")
    masks = structured_masks(model, spec.density, spec.ssl.threshold)
    log = _finetune(model, masks, spec, recipe, data, seed + 1, progress, "ssl finetune ")
    log["accuracy_with_regulariser"] = result.test_accuracy
    return PruneResult(masks, [log])


def hpp(model: nn.Module, spec: PruneSpec, recipe: TrainSpec, data: TensorData, seed: int,
        progress: bool, crossbars: Crossbars | None) -> PruneResult:
    """Seed 003's hierarchical progressive pruning, its objective measured on `crossbars`."""
    from simulator.pruning.progressive import hierarchical_progressive

    if crossbars is None:
        raise ValueError("prune.method 'hpp' measures accuracy under faults on crossbars: pass crossbars=Crossbars")
    masks, log = hierarchical_progressive(model, spec, recipe, data, seed, progress, crossbars)
    return PruneResult(masks, log)


def prune(model: nn.Module, spec: PruneSpec, recipe: TrainSpec, data: TensorData, seed: int,
          progress: bool, initial: Callable[[int], nn.Module], state_dir: Path | None,
          crossbars: Crossbars | None = None) -> PruneResult:
    """Run `spec.method` on the trained `model` (in place); `crossbars` (the workload's mapping,
    simulator.pruning.progressive.Crossbars) is where hpp's objective draws faults."""
    if spec.method == "imp":
        return imp(model, spec, recipe, data, seed, progress, initial, state_dir)
    if spec.method == "ssl":
        return ssl(model, spec, recipe, data, seed, progress)
    if spec.method == "hpp":
        return hpp(model, spec, recipe, data, seed, progress, crossbars)
    select = {
        "one-shot": lambda m: global_magnitude(m, spec.density),
        "one-shot-improved": lambda m: bounded_global_magnitude(m, spec.density, spec.bounds),
        "layerwise": lambda m: layerwise_magnitude(m, spec.density),
    }[spec.method]
    return one_shot(model, spec, recipe, data, seed, progress, select)
