"""Masks for networks without trained checkpoints: per-layer random masks and global magnitude
pruning of redrawn weights, on the lowered (R, C) matrices of a zoo model.

Seed 001's large CIFAR-10 networks (VGG-11/16/19, ResNet-18) need a GPU to train (issue #8).
Until their checkpoints exist, the mapping studies take their masks from here:

- `random_masks`: each layer keeps exactly round(d * R * C) positions drawn uniformly at random
  (seeded), at that layer's own density d. Seed 001 argues (VGG19 layer 13, "Assume weights are
  evenly distributed ... independent to each other") that its pruned layers behave like such
  masks: its measured share of all-zero column segments equals the theoretical (1 - d)^N. With the
  seed's own per-layer densities this isolates the mapping from the training. A fixed count
  rather than a Bernoulli draw per weight, so that the density is exact; the positions are those
  of a Bernoulli mask conditioned on its count.
- `global_magnitude_masks`: the globally largest |w| over all layers are kept so that the
  density over the whole network is d (seed 001: "global density = 1 %"). `weights="init"` ranks
  the zoo's initial weights as they are; their Kaiming-uniform bound shrinks as 1/sqrt(fan-in)
  and has no tail, so at 1-2 % global density every 4608 x 512 layer of VGG16 comes out empty,
  unlike a trained network. `weights="normal"` (the default) first redraws each layer from a
  normal law with that layer's own standard deviation (seeded): the large layers then keep the
  thin tail a trained network keeps. For VGG19 at 4 / 2 / 1 % this gives conv13 densities
  0.015 / 0.0036 / 0.0005 against seed 001's measured 0.025 / 0.008 / 0.0006 ("VGG19-CIFAR10 ...
  Layer13 density"), where `init` gives 0 / 0 / 0. (`resim map --method layerwise` takes another
  way out: every layer at density d.)

Rows are inputs and columns outputs, as everywhere in the mapper (`simulator.lowering.layers`);
one entry per group matrix of every Conv2d / Linear, in call order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:   # torch is imported where a zoo model is built, not on import
    from torch import nn

WEIGHTS = ("normal", "init")
CIFAR_SHAPE = (3, 32, 32)


@dataclass(frozen=True)
class LayerMask:
    """One lowered weight matrix of a pruned network: its layer name and nonzero mask (R, C)."""

    name: str
    mask: np.ndarray


def _zoo(model_name: str, input_shape: tuple[int, int, int], num_classes: int) -> nn.Module:
    from simulator.network.zoo import build_zoo_model

    return build_zoo_model(model_name, in_channels=input_shape[0], num_classes=num_classes,
                           input_size=input_shape[1])


def layer_shapes(model_name: str, input_shape: tuple[int, int, int] = CIFAR_SHAPE,
                 num_classes: int = 10) -> list[tuple[str, tuple[int, int]]]:
    """(layer name, (R, C)) of every group matrix of a zoo model, in call order."""
    from simulator.lowering.layers import lower_network

    model = _zoo(model_name, input_shape, num_classes)
    return [(layer.name, (layer.rows, layer.cols)) for layer in lower_network(model, input_shape)
            for _ in range(layer.groups)]


def random_mask(shape: tuple[int, int], density: float, rng: np.random.Generator) -> np.ndarray:
    """Bool mask of `shape` with exactly round(density * size) True positions, uniformly drawn."""
    if not 0 <= density <= 1:
        raise ValueError(f"density must be in [0, 1], got {density}")
    size = int(np.prod(shape))
    keep = round(density * size)
    flat = np.zeros(size, dtype=bool)
    flat[rng.choice(size, keep, replace=False)] = True
    return flat.reshape(shape)


def random_masks(shapes: Sequence[tuple[str, tuple[int, int]]], densities: Mapping[str, float] | Sequence[float],
                 seed: int = 0) -> list[LayerMask]:
    """A `random_mask` per (name, shape), at the density given for that name (a mapping) or
    position (a sequence). One seeded generator draws them in order, so the same arguments give
    the same masks bit for bit."""
    if isinstance(densities, Mapping):
        missing = [name for name, _ in shapes if name not in densities]
        if missing:
            raise KeyError(f"no density for layer(s) {', '.join(missing)}")
        values = [densities[name] for name, _ in shapes]
    else:
        values = list(densities)
        if len(values) != len(shapes):
            raise ValueError(f"{len(values)} densities for {len(shapes)} layers")
    rng = np.random.default_rng(seed)
    return [LayerMask(name, random_mask(shape, d, rng)) for (name, shape), d in zip(shapes, values)]


def layer_weights(model_name: str, seed: int = 0, weights: str = "normal",
                  input_shape: tuple[int, int, int] = CIFAR_SHAPE, num_classes: int = 10
                  ) -> list[tuple[str, np.ndarray]]:
    """(layer name, W (R, C)) for every group of every Conv2d / Linear of a zoo model.

    `weights`: "init" keeps the zoo's initial weights (after `torch.manual_seed(seed)`);
    "normal" redraws each matrix from N(0, std of that layer's initial weights), seeded."""
    import torch

    from simulator.lowering.layers import lower_network, weight_matrices
    from simulator.pruning.masks import prunable

    if weights not in WEIGHTS:
        raise ValueError(f"weights must be one of {WEIGHTS}, got {weights!r}")
    torch.manual_seed(seed)
    model = _zoo(model_name, input_shape, num_classes)
    modules = prunable(model)
    generator = np.random.default_rng(seed)
    out = []
    for layer in lower_network(model, input_shape):
        for matrix in weight_matrices(modules[layer.name]):
            if weights == "normal":
                matrix = generator.standard_normal(matrix.shape, dtype=np.float32) * matrix.std()
            out.append((layer.name, matrix))
    return out


def global_magnitude_masks(model_name: str, density: float, seed: int = 0, weights: str = "normal",
                           input_shape: tuple[int, int, int] = CIFAR_SHAPE, num_classes: int = 10
                           ) -> list[LayerMask]:
    """Masks keeping the round(d * total) largest |w| over all layers of the model (module doc)."""
    if not 0 < density <= 1:
        raise ValueError(f"density must be in (0, 1], got {density}")
    layers = layer_weights(model_name, seed, weights, input_shape, num_classes)
    magnitudes = np.concatenate([np.abs(w).ravel() for _, w in layers])
    keep = max(1, round(density * magnitudes.size))
    threshold = np.partition(magnitudes, magnitudes.size - keep)[magnitudes.size - keep]
    return [LayerMask(name, np.abs(w) >= threshold) for name, w in layers]
