"""Hierarchical progressive pruning (seed 003, section IV.C, Algorithm 1), with the mean accuracy
under stuck-at faults on the mapped crossbars as its objective.

The algorithm as the paper gives it (line numbers of Algorithm 1):

- lines 2-7: start from the trained model, ``M_cur = M_best = M_init``; blocks ``B`` of layers of
  similar size, smallest first; candidate pruning ratios ``R_range`` in ascending order;
- lines 8-10: prune the blocks still in ``B`` of ``M_cur`` to the next ratio ``p``, giving ``M``;
- lines 11-15: add stuck-at faults to ``M`` and evaluate it, many times; ``Acc(M)`` is the mean;
- lines 16-20: if ``Acc(M_cur) - Acc(M) < th``, ``M`` becomes the current model (and the best one
  if it is more accurate);
- lines 21-26: otherwise the first (smallest) block leaves ``B`` and the same ratio is tried again
  on the blocks left (the text of IV.C: "remove the first block ... and test the accuracy with the
  same pruning ratio again"); the search stops when ``B`` is empty;
- line 28: return ``M_best``.

Where the paper is silent, resim chooses (each choice is a field of ``prune.hpp``):

- Blocks (IV.C, "layers with similar layer size (e.g., layers with 64 channels)"): layers with the
  same number of output channels / units form one block (``blocks: channels``), or one block per
  layer (``blocks: layer``); blocks are ordered by their number of weights, smallest first.
- Candidate ratios: ``ratio_step, 2 * ratio_step, ...`` up to ``1 - prune.density``, the last one
  exactly ``1 - prune.density``; ``prune.density`` is therefore the sparsest the search may go,
  and the result is that density or denser.
- Pruning a block to ratio ``p`` (line 9; the paper uses ADMM, "any pruning algorithm can be
  used"): magnitude pruning across the block's layers (one threshold per block), keeping weights
  already pruned pruned, so the masks only ever shrink; then ``prune.finetune_epochs`` epochs of
  fine-tuning under the masks (lr ``prune.finetune_lr``, default train.lr / 10).
- The objective: ``draws`` Monte-Carlo draws at one total fault rate, split by ``fault_mix``, on
  the crossbars of the workload's mapping (tile size, tiling strategy, weight and cell bits); the
  draws of every evaluation use the same generator seeds (common random numbers), so two
  candidates are compared on the same fault patterns wherever their tiles coincide. Accuracy is
  measured on a seeded random subset of the *training* images, so the test set never steers the
  search and the test accuracy reported for the result is not selected on.
- Line 17 compares ``Acc(M)`` with ``Acc(M_cur)``; resim compares with ``Acc(M_best)`` instead, so
  that ``M_best`` is, as line 28's comment says, the model with the highest accuracy (with the
  paper's test a candidate recovering from an accepted dip would replace a better ``M_best``).
- ``result: last`` (not in the paper) returns the last accepted ``M_cur`` instead of ``M_best``:
  when no pruned model beats the dense one under faults, ``M_best`` is ``M_init`` and the search
  has pruned nothing, while ``M_cur`` is the sparsest model whose every step stayed within ``th``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from simulator.config.faults import FaultModel
from simulator.config.workload import HppSpec, PruneSpec, TrainSpec
from simulator.faults.cells import FaultRates
from simulator.faults.montecarlo import Draw, accuracy, faulty_weights
from simulator.mapping.network import map_network
from simulator.mapping.setup import Crossbars
from simulator.network.train import TensorData, evaluate, train
from simulator.pruning.masks import Masks, apply_masks, density, full_masks, prunable


@dataclass(frozen=True)
class FaultObjective:
    """Mean accuracy over `draws` stuck-at fault draws (Algorithm 1 lines 11-15)."""

    rates: FaultRates
    encoding: str
    draws: int

    @classmethod
    def of(cls, spec: HppSpec) -> FaultObjective:
        """`prune.hpp`'s objective: `fault_mix` is a named ratio of the one fault model."""
        model = FaultModel(ratio=spec.fault_mix)
        return cls(FaultRates.from_total(spec.fault_rate, model.ratio), spec.encoding, spec.draws)


def blocks_of(model: nn.Module, rule: str) -> list[list[str]]:
    """Seed 003 IV.C: the prunable layers grouped into blocks of similar size, smallest block
    first (ties keep module order). `rule`: "channels" groups layers with the same number of
    output channels / units; "layer" makes every layer its own block."""
    layers = prunable(model)
    groups: dict[Any, list[str]] = {}
    for name, module in layers.items():
        groups.setdefault(module.weight.shape[0] if rule == "channels" else name, []).append(name)
    blocks = list(groups.values())
    return sorted(blocks, key=lambda names: sum(layers[n].weight.numel() for n in names))


def candidate_ratios(step: float, last: float) -> list[float]:
    """R_range of Algorithm 1 line 5: step, 2 step, ... below `last`, then exactly `last`."""
    ratios, i = [], 1
    while step * i < last - 1e-9:
        ratios.append(round(step * i, 12))
        i += 1
    return ratios + [last]


def prune_block(model: nn.Module, names: list[str], keep_share: float, masks: Masks) -> Masks:
    """`masks` with the block `names` cut to `keep_share` of its weights by magnitude (one
    threshold for the block, earlier positions win ties); pruned weights stay pruned."""
    layers = prunable(model)
    scores = [torch.where(masks[n], layers[n].weight.detach().abs().float(), torch.tensor(-1.0)).flatten()
              for n in names]
    flat = torch.cat(scores)
    keep = int(round(keep_share * flat.numel()))
    available = int((flat >= 0).sum())
    if keep > available:
        raise ValueError(f"block {names} holds {available} weights, fewer than the {keep} of share {keep_share}")
    chosen = torch.zeros_like(flat, dtype=torch.bool)
    chosen[torch.sort(flat, descending=True, stable=True).indices[:keep]] = True
    out, start = dict(masks), 0
    for n, s in zip(names, scores):
        out[n] = chosen[start:start + s.numel()].view_as(masks[n]).clone()
        start += s.numel()
    return out


def fault_accuracy(model: nn.Module, crossbars: Crossbars, objective: FaultObjective, x: torch.Tensor,
                   y: torch.Tensor, seed: int, *, batch_size: int = 1000, progress: bool = False,
                   label: str = "fault draws") -> float:
    """Mean accuracy of `model` on (x, y) over the objective's fault draws on its crossbars.

    Draw k uses the generator seeded (seed, k) whatever the model, so every evaluation of a
    search sees the same fault draws (common random numbers)."""
    from simulator.progress import progress_bar

    mapped = map_network(model, crossbars.input_shape, crossbars.setup)
    work = copy.deepcopy(model)
    modules = dict(work.named_modules())
    total = 0.0
    with progress_bar(disable=not progress, transient=True) as bar:
        task = bar.add_task(label, total=objective.draws)
        for draw in range(objective.draws):
            rng = np.random.default_rng([seed, draw])
            weights = faulty_weights(mapped, model, Draw(objective.encoding, objective.rates, rng))
            with torch.no_grad():
                for name, weight in weights.items():
                    modules[name].weight.copy_(weight)
            total += accuracy(work, x, y, batch_size)
            bar.advance(task)
    return total / objective.draws


def eval_subset(data: TensorData, samples: int | None, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The training images the objective is measured on: a seeded random subset, in order."""
    n = len(data.x_train)
    if samples is None or samples >= n:
        return data.x_train, data.y_train
    index = torch.randperm(n, generator=torch.Generator().manual_seed(seed))[:samples].sort().values
    return data.x_train[index], data.y_train[index]


@dataclass
class _Candidate:
    """A model of the search: its weights, masks and mean accuracy under faults."""

    state: dict[str, torch.Tensor]
    masks: Masks
    fault_accuracy: float


def _snapshot(model: nn.Module, masks: Masks, score: float) -> _Candidate:
    return _Candidate({k: v.detach().clone() for k, v in model.state_dict().items()},
                      {k: v.clone() for k, v in masks.items()}, score)


def hierarchical_progressive(model: nn.Module, spec: PruneSpec, recipe: TrainSpec, data: TensorData, seed: int,
                             progress: bool, crossbars: Crossbars,
                             finetune: Callable[[nn.Module, Masks, int], None] | None = None
                             ) -> tuple[Masks, list[dict[str, Any]]]:
    """Seed 003 Algorithm 1 on the trained `model` (left holding the result: M_best, or M_cur
    with `hpp.result` last), its objective on `crossbars`; returns its masks and one log entry
    per candidate tried (`best` marks each new M_best) plus a last entry for the result.

    `finetune(model, masks, step)` replaces the default fine-tuning (tests)."""
    from simulator.pruning.methods import finetune_recipe

    hpp = spec.hpp
    objective = FaultObjective.of(hpp)
    x_eval, y_eval = eval_subset(data, hpp.eval_samples, seed)
    blocks = blocks_of(model, hpp.blocks)                      # line 4
    ratios = candidate_ratios(hpp.ratio_step, 1.0 - spec.density)   # line 5
    tune_recipe = finetune_recipe(recipe, spec, spec.finetune_epochs)

    def tune(masks: Masks, step: int) -> None:
        if finetune is not None:
            finetune(model, masks, step)
        elif spec.finetune_epochs:
            train(model, tune_recipe, data, seed + 1 + step, progress, masks=masks, label=f"hpp step {step} ")

    def score(label: str) -> float:
        return fault_accuracy(model, crossbars, objective, x_eval, y_eval, seed, batch_size=recipe.eval_batch_size,
                              progress=progress, label=label)

    masks = full_masks(model)
    current = _snapshot(model, masks, score("hpp: M_init fault draws"))        # lines 6-7
    best = current
    active = list(blocks)
    log: list[dict[str, Any]] = [{"round": 0, "ratio": 0.0, "blocks": [list(b) for b in active],
                                  "density": 1.0, "fault_accuracy": current.fault_accuracy,
                                  "test_accuracy": evaluate(model, data.x_test, data.y_test, recipe.eval_batch_size),
                                  "accepted": True, "best": True}]
    index, step = 0, 0
    while index < len(ratios) and active:                                   # line 8
        p = ratios[index]
        step += 1
        model.load_state_dict(current.state)
        masks = dict(current.masks)
        for block in active:                                                # lines 9-10
            masks = prune_block(model, block, 1.0 - p, masks)
        apply_masks(model, masks)
        tune(masks, step)
        candidate = _snapshot(model, masks, score(f"hpp step {step}: ratio {p:.3g}, {len(active)} blocks"))  # 11-15
        accepted = current.fault_accuracy - candidate.fault_accuracy < hpp.threshold  # line 16
        improved = accepted and candidate.fault_accuracy > best.fault_accuracy       # line 17 (see module doc)
        log.append({"round": step, "ratio": p, "blocks": [list(b) for b in active], "density": density(masks),
                    "fault_accuracy": candidate.fault_accuracy,
                    "test_accuracy": evaluate(model, data.x_test, data.y_test, recipe.eval_batch_size),
                    "accepted": accepted, "best": improved})
        if accepted:
            if improved:
                best = candidate                                            # line 18
            current = candidate                                             # line 20
            index += 1
        else:
            active.pop(0)                                                   # line 22
    chosen = best if hpp.result == "best" else current
    model.load_state_dict(chosen.state)                                     # line 28
    log.append({"round": step + 1, "result": "M_best" if hpp.result == "best" else "M_cur",
                "density": density(chosen.masks), "fault_accuracy": chosen.fault_accuracy,
                "test_accuracy": evaluate(model, data.x_test, data.y_test, recipe.eval_batch_size),
                "block_ratios": {" ".join(b): block_ratio(chosen.masks, b) for b in blocks},
                "objective": {"fault_rate": hpp.fault_rate, "fault_mix": hpp.fault_mix,
                              "encoding": hpp.encoding, "draws": hpp.draws,
                              "eval_images": len(y_eval), "crossbars": crossbars.key()}})
    return chosen.masks, log


def block_ratio(masks: Masks, names: list[str]) -> float:
    """Pruning ratio of one block: pruned / weights over its layers."""
    kept = sum(int(masks[n].sum()) for n in names)
    total = sum(masks[n].numel() for n in names)
    return 1.0 - kept / total
