"""Binary masks on every prunable layer (Conv2d, Linear).

A mask is a bool tensor shaped like the layer's weight. While a network trains under masks, the
weights' gradients are masked and the weights re-masked after every optimizer step (as the seed
code does), so a pruned weight stays exactly zero through momentum and weight decay.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import nn

Masks = dict[str, torch.Tensor]
# The layers that hold a weight matrix: those pruned here, lowered and mapped downstream.
WeightLayer = nn.Conv2d | nn.Linear


def prunable(model: nn.Module) -> dict[str, WeightLayer]:
    """Conv2d and Linear layers by name, in module order."""
    return {name: m for name, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))}


def full_masks(model: nn.Module) -> Masks:
    """All-ones masks: the dense network."""
    return {name: torch.ones_like(m.weight, dtype=torch.bool) for name, m in prunable(model).items()}


@torch.no_grad()
def apply_masks(model: nn.Module, masks: Masks) -> None:
    """Zero the pruned weights in place."""
    layers = prunable(model)
    for name, mask in masks.items():
        layers[name].weight.mul_(mask.to(layers[name].weight.dtype))


class MaskedTraining:
    """Context that keeps `model` inside `masks` while it trains: gradient hooks on entry."""

    def __init__(self, model: nn.Module, masks: Masks | None) -> None:
        self.model, self.masks = model, masks or {}
        self._handles: list[torch.utils.hooks.RemovableHandle] = []

    def __enter__(self) -> MaskedTraining:
        layers = prunable(self.model)
        for name, mask in self.masks.items():
            weight_mask = mask.to(layers[name].weight.dtype)
            self._handles.append(layers[name].weight.register_hook(lambda g, m=weight_mask: g * m))
        apply_masks(self.model, self.masks)
        return self

    def after_step(self) -> None:
        """Re-mask after an optimizer step (weight decay and momentum act on zeros too)."""
        if self.masks:
            apply_masks(self.model, self.masks)

    def __exit__(self, *exc: object) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()


def weights(model: nn.Module, masks: Masks | None = None) -> Iterator[tuple[str, torch.Tensor]]:
    """(name, weight) of each prunable layer, restricted to `masks` names when given."""
    for name, module in prunable(model).items():
        if masks is None or name in masks:
            yield name, module.weight.detach()


def density(masks: Masks) -> float:
    """Global density of a set of masks."""
    kept = sum(int(m.sum()) for m in masks.values())
    total = sum(m.numel() for m in masks.values())
    return kept / total if total else 0.0


def density_table(model: nn.Module) -> list[dict]:
    """Seed 001's table: layer, shape, nonzero / total, density (from the weights themselves)."""
    rows = []
    for name, weight in weights(model):
        nonzero = int(torch.count_nonzero(weight))
        rows.append({"layer": name, "shape": tuple(weight.shape), "nonzero": nonzero,
                     "total": weight.numel(), "density": nonzero / weight.numel()})
    return rows
