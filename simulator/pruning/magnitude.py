"""Magnitude pruning: global (seed 001's one-shot), global with per-layer lower bounds (seeds
000/001's one-shot-improved) and per-layer (the usual baseline).

All selections are exact: the kept count is round(density * weights), ties broken by position, so
the same weights give the same masks bit for bit.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from simulator.config.workload import BoundSpec
from simulator.pruning.masks import Masks, prunable


def _top_k_mask(scores: torch.Tensor, k: int) -> torch.Tensor:
    """Bool mask of the k largest scores (stable: earlier positions win ties)."""
    flat = scores.flatten()
    mask = torch.zeros_like(flat, dtype=torch.bool)
    if k > 0:
        order = torch.sort(flat, descending=True, stable=True).indices
        mask[order[:k]] = True
    return mask.view_as(scores)


def _scores(model: nn.Module, masks: Masks | None) -> dict[str, torch.Tensor]:
    """|w| per prunable layer; already-pruned weights score -1 so they are never chosen."""
    out = {}
    for name, module in prunable(model).items():
        score = module.weight.detach().abs().float()
        if masks is not None and name in masks:
            score = torch.where(masks[name], score, torch.full_like(score, -1.0))
        out[name] = score
    return out


def _keep_count(total: int, density: float) -> int:
    return int(round(density * total))


def global_magnitude(model: nn.Module, density: float, masks: Masks | None = None,
                     guaranteed: Masks | None = None) -> Masks:
    """Keep the globally largest |w| so that exactly round(density * total) weights survive.

    `masks`: weights already pruned stay pruned (IMP); `guaranteed`: weights kept regardless,
    counted inside the budget (the lower bounds of one-shot-improved)."""
    scores = _scores(model, masks)
    names = list(scores)
    total = sum(s.numel() for s in scores.values())
    keep = _keep_count(total, density)
    flat = torch.cat([scores[n].flatten() for n in names])
    if guaranteed:
        forced = torch.cat([guaranteed.get(n, torch.zeros_like(scores[n], dtype=torch.bool)).flatten()
                            for n in names])
        if int(forced.sum()) > keep:
            raise ValueError(f"lower bounds keep {int(forced.sum())} weights, more than the "
                             f"{keep} that density {density} allows")
        flat = torch.where(forced, torch.full_like(flat, math.inf), flat)
    available = int((flat >= 0).sum())
    if keep > available:
        raise ValueError(f"density {density} needs {keep} weights but only {available} remain")
    chosen = _top_k_mask(flat, keep)
    out, start = {}, 0
    for n in names:
        size = scores[n].numel()
        out[n] = chosen[start:start + size].view_as(scores[n]).clone()
        start += size
    return out


def layer_bounds(model: nn.Module, bounds: BoundSpec) -> Masks:
    """The weights one-shot-improved keeps in every layer whatever the global threshold.

    fixed: each layer's top ceil(bound * n) weights (0.5 % of a Linear, 1.2 % of a Conv2d by
    default, seeds 000/001); adaptive: also each output unit's largest weight, so that no output
    channel or neuron is cut off entirely."""
    out = {}
    for name, module in prunable(model).items():
        score = module.weight.detach().abs().float()
        share = bounds.linear if isinstance(module, nn.Linear) else bounds.conv
        forced = _top_k_mask(score, math.ceil(share * score.numel()))
        if bounds.rule == "adaptive":
            per_output = score.flatten(1)
            best = torch.zeros_like(per_output, dtype=torch.bool)
            best[torch.arange(per_output.shape[0]), per_output.argmax(1)] = True
            forced |= best.view_as(score)
        out[name] = forced
    return out


def bounded_global_magnitude(model: nn.Module, density: float, bounds: BoundSpec) -> Masks:
    """one-shot-improved: global magnitude pruning that never takes a layer under its bound;
    the global density target is still met exactly by pruning other layers harder."""
    return global_magnitude(model, density, guaranteed=layer_bounds(model, bounds))


def layerwise_magnitude(model: nn.Module, density: float) -> Masks:
    """The same density in every layer: each layer keeps its own largest |w|."""
    return {name: _top_k_mask(score, _keep_count(score.numel(), density))
            for name, score in _scores(model, None).items()}
