"""Fault-aware fine-tuning: the network is fine-tuned knowing one chip's stuck cells, then
programmed into that same chip (seed 001, the slides "Do not update weights SAF", "keep_weight /
keep_bit", "Mask error weight to 0 (Pruning)" and "Clip faults to lower values within sparse
network").

One fault draw is frozen as `FaultMap`s (simulator/faults/effective.py): the chip after a march
test has found its stuck cells. A weight is *faulty* when a cell under it, in any placed tile that
covers it, is stuck. The four strategies of seed 001 differ in what fine-tuning sees at a faulty
weight, whether it updates it, and what is then programmed:

- ``keep_weight`` (seed 001: "keep_weight means we do not update the weight that has stuck bit",
  "keep error weights as initial error value"): a faulty weight is fixed at the value the chip
  gives it and never updated; the healthy weights train around it. Its cells are not rewritten,
  so on the chip it shows that same value.
- ``keep_bit`` (seed 001: "we only do not update the stuck bit ... the normal case where we inject
  SAF"): a faulty weight trains. The forward pass sees the chip's value of its current programmed
  value (stuck cells forced, the other cells following training) and the gradient passes straight
  through to the programmed value, which is what gets programmed.
- ``mask`` (seed 001: "Mask error weight to 0 (Pruning)"): faulty weights are pruned, zero and kept
  zero. Their stuck cells remain, so on the chip they show the stuck cells' value of a zero (seed
  003: a two-column zero is harmed by stuck-on cells only, a differential zero by stuck-off only).
- ``clip`` (seed 001: "Clip faults to lower values"): like keep_weight, but the fixed faulty value
  is clipped to a bounded magnitude, the ``clip_quantile`` quantile of the layer's healthy weight
  magnitudes (our choice of bound: the slides give none). The chip does not clip: the cells are
  programmed as under keep_weight.

Every strategy keeps the programmed weights inside the chip's range, ``qmax * scale`` with the
quantization scale fixed when the chip was first programmed (it also fixes what a stuck cell is
worth): without that, the healthy weights grow past the range to make up for the faulty ones,
and the chip clips them.

Positions inside a placed tile that hold no weight (pruned ones) are not parameters, but their
stuck cells still add to the output: keep_weight, keep_bit and clip fine-tune against their chip
value (clipped for clip), fixed; mask, being pruning, sees them as zero.

After fine-tuning, accuracy is measured twice: as fine-tuning saw the network (what seed 001's
software experiments report) and on the chip (the fine-tuned weights programmed into the same
stuck cells). keep_weight and keep_bit see what the chip computes, up to the quantization of the
healthy weights; mask and clip do not, and the gap between their two figures is what that costs.
Every run starts from the same weights and uses the same training seed, so strategies differ only
in how they treat the faults.
"""

from __future__ import annotations

import copy
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from simulator.config.faults import FaultSpec
from simulator.config.workload import TrainSpec
from simulator.faults.effective import FaultMap
from simulator.faults.montecarlo import (
    chip_weights,
    fault_maps,
    study_draws,
    study_plan,
    take_draw,
    to_weight,
)
from simulator.mapping.network import MappedLayer, MappedNetwork
from simulator.mapping.quantize import qmax
from simulator.network.train import TensorData
from simulator.pruning.masks import WeightLayer, prunable

STRATEGIES = ("keep_weight", "keep_bit", "mask", "clip")

# Fine-tuning of draw `run` is seeded `seed + _TRAIN_SEED_OFFSET + run`: the same for every
# strategy, apart from the seeds of training, pruning and fault draws.
_TRAIN_SEED_OFFSET = 6000


def _as_weight(matrices: list[np.ndarray], weight: torch.Tensor) -> torch.Tensor:
    """(R, C) group matrices of any dtype back to the weight's shape (bool stays bool)."""
    per_group = [torch.from_numpy(np.ascontiguousarray(m.T)) for m in matrices]
    return torch.cat(per_group).reshape(weight.shape)


@dataclass
class LayerFaults:
    """One layer's frozen faults seen in the torch weight's shape."""

    name: str
    param: torch.Tensor          # the layer's weight Parameter, trained in place
    original: torch.Tensor       # the weights before fine-tuning
    held: torch.Tensor           # bool: weights the tiles hold (the trainable ones)
    faulty: torch.Tensor         # bool: held weights with a stuck cell (seed 001's faulty weights)
    stuck_zero: torch.Tensor     # bool: positions holding no weight whose stuck cells add a value
    chip: torch.Tensor           # the chip's value of every position for the original weights
    limit: torch.Tensor          # the largest magnitude the chip can be programmed with, per position
    healthy_clip: float          # clip's bound: the clip_quantile of healthy |weights|
    maps: list[FaultMap]
    _group: np.ndarray           # per faulty weight (in flat order): its group
    _position: np.ndarray        # per faulty weight: its flat position in the group matrix

    @classmethod
    def build(cls, module: WeightLayer, layer: MappedLayer, maps: list[FaultMap], clip_quantile: float) -> LayerFaults:
        weight = module.weight.detach().cpu()
        held = _as_weight([m.held for m in maps], weight)
        stuck = _as_weight([m.faulty for m in maps], weight)
        chip = to_weight([m.effective(matrix) for m, matrix in zip(maps, layer.matrices)], weight)
        limit = to_weight([np.broadcast_to(qmax(m.weight_bits) * m.scale, m.held.shape) for m in maps], weight)
        faulty = held & stuck
        healthy = weight[held & ~stuck].abs()
        if healthy.numel():
            bound = float(torch.quantile(healthy.double(), clip_quantile))
        else:
            bound = float(weight[held].abs().max()) if held.any() else 0.0
        # Group g holds outputs g*C .. (g+1)*C - 1; flat weight index = out * R + r.
        rows, cols = layer.matrices[0].shape
        flat = torch.nonzero(faulty.reshape(-1)).reshape(-1).numpy()
        out, r = flat // rows, flat % rows
        return cls(layer.name, module.weight, weight.clone(), held, faulty, ~held & stuck & (chip != 0), chip,
                   limit, bound, maps, out // cols, r * cols + out % cols)

    def chip_at_faulty(self, values: torch.Tensor) -> torch.Tensor:
        """The chip's value of each faulty weight (flat order) when programmed with ``values``."""
        source = values.detach().cpu().double().numpy()
        result = np.empty_like(source)
        for g, fault_map in enumerate(self.maps):
            pick = self._group == g
            if pick.any():
                result[pick] = fault_map.values_at(self._position[pick], source[pick])
        return torch.from_numpy(result).to(values.dtype)


class AwareStrategy(ABC):
    """How fine-tuning treats faulty weights. `start` sets the weights and returns the masks for
    `train`; `on_step` runs after every optimizer step; `programmed` gives the weights to program."""

    name = ""

    def __init__(self, layers: list[LayerFaults]):
        self.layers = layers
        self._fixed: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}  # name -> (where, values)

    @abstractmethod
    def start(self) -> dict[str, torch.Tensor]:
        """Reset the layers to their original weights, set what the strategy fixes, return the
        masks `train` keeps (positions outside them stay zero)."""

    @torch.no_grad()
    def on_step(self, iteration: int) -> None:
        for layer in self.layers:
            limit = layer.limit.to(layer.param.device)
            layer.param.data.copy_(torch.maximum(torch.minimum(layer.param.data, limit), -limit))
            self._restore(layer)

    def programmed(self) -> dict[str, torch.Tensor]:
        """The fine-tuned weights to program: zero where no tile holds a weight."""
        return {layer.name: (layer.param.detach().cpu() * layer.held).clone() for layer in self.layers}

    @torch.no_grad()
    def _fix(self, layer: LayerFaults, where: torch.Tensor, values: torch.Tensor) -> None:
        """Keep ``where`` at ``values`` through fine-tuning (restored after every step)."""
        self._fixed[layer.name] = (where, values)
        self._restore(layer)

    @torch.no_grad()
    def _restore(self, layer: LayerFaults) -> None:
        if layer.name not in self._fixed:
            return
        where, values = self._fixed[layer.name]
        device = layer.param.device
        if where.device != device:  # train() may move the model to a GPU
            where, values = where.to(device), values.to(device)
            self._fixed[layer.name] = (where, values)
        layer.param.data[where] = values[where]


def _reset(layer: LayerFaults) -> None:
    with torch.no_grad():
        layer.param.data.copy_(layer.original.to(layer.param.device))


class KeepWeight(AwareStrategy):
    """seed 001 keep_weight: faulty weights fixed at their chip value, not updated."""

    name = "keep_weight"

    def start(self) -> dict[str, torch.Tensor]:
        for layer in self.layers:
            _reset(layer)
            self._fix(layer, layer.faulty | layer.stuck_zero, layer.chip)
        return {layer.name: layer.held | layer.stuck_zero for layer in self.layers}

    def programmed(self) -> dict[str, torch.Tensor]:
        # The faulty weights' cells keep their first programming, which the chip reads as their value.
        out = super().programmed()
        for layer in self.layers:
            out[layer.name][layer.faulty] = layer.original[layer.faulty]
        return out


class Clip(KeepWeight):
    """seed 001 clip: as keep_weight, the fixed faulty values clipped to the healthy bound."""

    name = "clip"

    def start(self) -> dict[str, torch.Tensor]:
        masks = super().start()
        for layer in self.layers:
            self._fix(layer, layer.faulty | layer.stuck_zero,
                      layer.chip.clamp(-layer.healthy_clip, layer.healthy_clip))
        return masks


class Mask(AwareStrategy):
    """seed 001 mask: faulty weights pruned to zero (their stuck cells stay on the chip)."""

    name = "mask"

    def start(self) -> dict[str, torch.Tensor]:
        for layer in self.layers:
            _reset(layer)
        return {layer.name: layer.held & ~layer.faulty for layer in self.layers}


class KeepBit(AwareStrategy):
    """seed 001 keep_bit: faulty weights train through their stuck cells (straight-through).

    The model's weight at a faulty position always holds the chip's value of a latent programmed
    value; the optimizer's change to it (computed with the chip's value in the forward pass) is
    added to the latent value, and the chip's value of the new latent value written back."""

    name = "keep_bit"

    def start(self) -> dict[str, torch.Tensor]:
        self._latent: dict[str, torch.Tensor] = {}
        self._seen: dict[str, torch.Tensor] = {}
        for layer in self.layers:
            _reset(layer)
            self._fix(layer, layer.stuck_zero, layer.chip)
            latent = layer.original[layer.faulty].clone()
            self._latent[layer.name] = latent
            self._write(layer, latent)
        return {layer.name: layer.held | layer.stuck_zero for layer in self.layers}

    @torch.no_grad()
    def _write(self, layer: LayerFaults, latent: torch.Tensor) -> None:
        seen = layer.chip_at_faulty(latent)
        self._seen[layer.name] = seen
        layer.param.data[layer.faulty.to(layer.param.device)] = seen.to(layer.param.device)

    @torch.no_grad()
    def on_step(self, iteration: int) -> None:
        # The optimizer's change is read before the range clamp: a chip value may lie outside it.
        now = {layer.name: layer.param.data[layer.faulty.to(layer.param.device)].cpu() for layer in self.layers}
        super().on_step(iteration)
        for layer in self.layers:
            if not layer.faulty.any():
                continue
            limit = layer.limit[layer.faulty]
            latent = self._latent[layer.name] + now[layer.name] - self._seen[layer.name]
            self._latent[layer.name] = torch.maximum(torch.minimum(latent, limit), -limit)
            self._write(layer, self._latent[layer.name])

    def programmed(self) -> dict[str, torch.Tensor]:
        out = super().programmed()
        for layer in self.layers:
            out[layer.name][layer.faulty] = self._latent[layer.name]
        return out


_CLASSES = {cls.name: cls for cls in (KeepWeight, KeepBit, Mask, Clip)}


def make_strategy(name: str, layers: list[LayerFaults]) -> AwareStrategy:
    """The strategy called ``name`` over ``layers``."""
    if name not in _CLASSES:
        raise ValueError(f"unknown fault-aware strategy {name!r}; allowed: {', '.join(STRATEGIES)}")
    return _CLASSES[name](layers)


def layer_faults(model: nn.Module, mapped: MappedNetwork, maps: dict[str, list[FaultMap]],
                 clip_quantile: float = 0.99) -> list[LayerFaults]:
    """`LayerFaults` of every mapped layer of ``model`` for one frozen draw."""
    if not 0 <= clip_quantile <= 1:
        raise ValueError(f"clip_quantile must lie in [0, 1], got {clip_quantile}")
    modules = prunable(model)
    return [LayerFaults.build(modules[layer.name], layer, maps[layer.name], clip_quantile) for layer in mapped.layers]


def _load(model: nn.Module, weights: dict[str, torch.Tensor]) -> None:
    modules = dict(model.named_modules())
    with torch.no_grad():
        for name, weight in weights.items():
            modules[name].weight.copy_(weight)


def fine_tune(strategy: AwareStrategy, model: nn.Module, recipe: TrainSpec, data: TensorData, seed: int,
              progress: bool = True, label: str = "") -> None:
    """Fine-tune ``model`` in place under ``strategy`` with the project's training loop."""
    from simulator.network.train import train

    masks = strategy.start()
    train(model, recipe, data, seed, progress, masks=masks, on_step=strategy.on_step, label=label)


def aware_study(model: nn.Module, mapped: MappedNetwork, data: TensorData, recipe: TrainSpec, *,
                strategies: list[str], spec: FaultSpec, clip_quantile: float = 0.99, batch_size: int = 1000,
                progress: bool = True) -> pd.DataFrame:
    """One row per (encoding, rate, draw, strategy): accuracy on the chip before fine-tuning,
    after fine-tuning as fine-tuning saw the network, and after fine-tuning on the chip.

    Draw ``run`` of (encoding ``e``, rate ``r``) is the draw of `fault_study` with the same
    indices, so ``before`` equals its accuracy. ``recipe`` is the fine-tuning recipe (epochs, lr)."""
    from rich.console import Console

    from simulator.network.train import evaluate

    unknown = [s for s in strategies if s not in STRATEGIES]
    if unknown or not strategies:
        raise ValueError(f"unknown fault-aware strategy {', '.join(unknown) or '(none)'}; "
                         f"allowed: {', '.join(STRATEGIES)}")
    plan = study_plan(spec, mapped)
    seed = mapped.setup.seed
    work = copy.deepcopy(model).cpu()
    state = copy.deepcopy(work.state_dict())
    console = Console(stderr=True, quiet=not progress)
    rows = []
    for index in study_draws(spec, mapped):
        draw = take_draw(spec, mapped, plan, index)
        work.load_state_dict(state)
        maps = fault_maps(mapped, draw, plan)
        faults = layer_faults(work, mapped, maps, clip_quantile)
        _load(work, {f.name: f.chip for f in faults})
        before = evaluate(work, data.x_test, data.y_test, batch_size)
        where = f"{index.encoding}, rate {index.rate:g}, draw {index.run}"
        for name in strategies:
            work.load_state_dict(state)
            strategy = make_strategy(name, faults)
            started = time.perf_counter()
            fine_tune(strategy, work, recipe, data, seed + _TRAIN_SEED_OFFSET + index.run, progress,
                      label=f"{name} {index.encoding} rate {index.rate:g} draw {index.run}: ")
            seconds = time.perf_counter() - started
            trained = evaluate(work, data.x_test, data.y_test, batch_size)
            _load(work, chip_weights(mapped, maps, strategy.programmed()))
            chip = evaluate(work, data.x_test, data.y_test, batch_size)
            rows.append({"encoding": index.encoding, "rate": index.rate, "p_sa0": draw.rates.p_sa0,
                         "p_sa1": draw.rates.p_sa1, "run": index.run, "strategy": name,
                         "faulty_weights": int(sum(int(f.faulty.sum()) for f in faults)),
                         "weights_held": int(sum(int(f.held.sum()) for f in faults)),
                         "before": before, "after_as_trained": trained, "after_on_chip": chip,
                         "finetune_seconds": seconds})
            console.print(f"{name}, {where}: before {before:.2%}, after {trained:.2%} as trained, "
                          f"{chip:.2%} on the chip")
    return pd.DataFrame(rows)


def summarise_aware(draws: pd.DataFrame) -> pd.DataFrame:
    """Mean accuracies over the draws per (encoding, rate, strategy), with the chip figure's
    standard deviation."""
    keys = ["encoding", "rate", "strategy"]
    grouped = draws.groupby(keys, sort=False)
    out = grouped[["before", "after_as_trained", "after_on_chip"]].mean().reset_index()
    out.insert(3, "runs", grouped.size().to_numpy())
    out["after_on_chip_std"] = grouped["after_on_chip"].std().fillna(0.0).to_numpy()
    out["faulty_share"] = (grouped["faulty_weights"].sum() / grouped["weights_held"].sum()).to_numpy()
    return out
