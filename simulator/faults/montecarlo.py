"""Accuracy under stuck-at faults, Monte-Carlo over fault draws (seed 003: 100-run averages).

The network is mapped once (tiles do not depend on the sign encoding, simulator.mapping.network);
every draw decodes the faulty cells of every placed tile into effective weights, writes them into
one working copy of the network and evaluates it. No model copy per draw.

The fault model (simulator.config.faults.FaultModel, issue #6) scales the rates per layer (seed 001
puts faults in one layer at a time), chooses the stuck-off : stuck-on split (seed 001's stuck-at-1
/ stuck-at-0 studies) and adds whole stuck wordlines and bitlines. At its defaults every draw is
bit-identical to the plain model.
"""

from __future__ import annotations

import copy
import hashlib
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch
from torch import nn

from simulator.config.faults import FaultModel, FaultSpec
from simulator.device import Device
from simulator.faults.cells import FaultRates, LineRates
from simulator.faults.device_draws import DeviceEffects, DeviceStreams, decoded_matrix, device_tile_levels
from simulator.faults.effective import FaultMap, TileDraw, draw_fault_map
from simulator.mapping.network import MappedNetwork
from simulator.mapping.setup import MappingSetup

if TYPE_CHECKING:
    from simulator.faults.draw_store import DrawStore


def to_weight(matrices: list[np.ndarray], weight: torch.Tensor) -> torch.Tensor:
    """Inverse of `weight_matrices`: (R, C) group matrices back to the torch weight's shape."""
    per_group = [torch.from_numpy(np.ascontiguousarray(m.T)) for m in matrices]
    return torch.cat(per_group).reshape(weight.shape).to(weight.dtype)


def line_rates(model: FaultModel) -> LineRates | None:
    """The fault model's stuck-line rates, or None when no line can fail (then none is drawn)."""
    lines = LineRates(model.stuck_rows_rate, model.stuck_cols_rate, model.ratio)
    return lines if lines.active else None


@dataclass(frozen=True)
class Draw:
    """One fault draw: the sign encoding programmed, the per-cell rates and the generators (cells,
    and a stream of their own for stuck lines)."""

    encoding: str
    rates: FaultRates
    rng: np.random.Generator
    line_rng: np.random.Generator | None = None
    device: DeviceStreams | None = None     # the device model's generators, when it is on


@dataclass(frozen=True)
class DrawPlan:
    """What every draw of a study shares beyond its rate: faults confined to one slice, per-layer
    rate multipliers (default 1) and stuck lines."""

    slice_index: int | None = None
    multipliers: Mapping[str, float] | None = None
    lines: LineRates | None = None
    effects: DeviceEffects | None = None    # the device model (issue #24); None: stuck-at faults only

    @classmethod
    def of(cls, model: FaultModel, names: list[str], slice_index: int | None = None,
           effects: DeviceEffects | None = None) -> DrawPlan:
        """The plan of `model` over the layers `names` (an option naming another layer raises
        `UnknownLayerError`)."""
        return cls(slice_index, model.multipliers(names), line_rates(model), effects)

    def factor(self, name: str) -> float:
        return 1.0 if self.multipliers is None else self.multipliers.get(name, 1.0)


def layer_draw(draw: Draw, plan: DrawPlan, setup: MappingSetup, name: str) -> TileDraw:
    """What layer `name` draws over each of its group matrices: `draw`'s encoding and generators on
    the mapping's bit widths, its cell and line rates scaled by the layer's multiplier."""
    factor = plan.factor(name)
    lines = plan.lines.scaled(factor) if plan.lines is not None else None
    return TileDraw(draw.encoding, setup.weight_bits, setup.cell_bits, draw.rates.scaled(factor), draw.rng,
                    setup.per_column, plan.slice_index, lines, draw.line_rng)


def check_layer_rates(rate: float, multipliers: Mapping[str, float] | None) -> None:
    """Every layer's scaled rate must stay a probability."""
    for name, factor in (multipliers or {}).items():
        if rate * factor > 1.0:
            raise ValueError(f"fault rate {rate:g} x multiplier {factor:g} of layer {name!r} exceeds 1")


def fault_maps(mapped: MappedNetwork, draw: Draw, plan: DrawPlan = DrawPlan()) -> dict[str, list[FaultMap]]:
    """One fault draw over every mapped layer: a `FaultMap` per group matrix.

    A layer's cell and line rates are scaled by its multiplier (default 1). Every layer draws from
    the generators whatever its multiplier, so switching one layer's faults off leaves the other
    layers' faults exactly as they were."""
    setup = mapped.setup
    out = {}
    for layer in mapped.layers:
        tile_draw = layer_draw(draw, plan, setup, layer.name)
        out[layer.name] = [draw_fault_map(m, tiles, tile_draw) for m, tiles in zip(layer.matrices, layer.tiles)]
    return out


def chip_weights(mapped: MappedNetwork, maps: dict[str, list[FaultMap]],
                 weights: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """What the faulty chip computes for each layer when ``weights`` (torch-shaped) are programmed."""
    out = {}
    for layer in mapped.layers:
        weight = weights[layer.name]
        matrices = group_matrices(weight, len(layer.tiles))
        effective = [m.effective(matrix) for m, matrix in zip(maps[layer.name], matrices)]
        out[layer.name] = to_weight(effective, weight)
    return out


def group_matrices(weight: torch.Tensor, groups: int) -> list[np.ndarray]:
    """`weight_matrices` of a bare weight tensor (one (R, C) matrix per group)."""
    weight = weight.detach().cpu()
    per_group = weight.shape[0] // groups
    return [weight[g * per_group:(g + 1) * per_group].reshape(per_group, -1).T.numpy() for g in range(groups)]


@torch.no_grad()
def faulty_weights(mapped: MappedNetwork, model: nn.Module, draw: Draw,
                   plan: DrawPlan = DrawPlan()) -> dict[str, torch.Tensor]:
    """Effective weights of every mapped layer of `model` for one fault draw (see `fault_maps`);
    through the device model when the plan has one (`device_weights`)."""
    if plan.effects is not None:
        return device_weights(mapped, model, draw, plan)
    modules = dict(model.named_modules())
    maps = fault_maps(mapped, draw, plan)
    return chip_weights(mapped, maps, {layer.name: modules[layer.name].weight for layer in mapped.layers})


@torch.no_grad()
def device_weights(mapped: MappedNetwork, model: nn.Module, draw: Draw, plan: DrawPlan) -> dict[str, torch.Tensor]:
    """Effective weights of every mapped layer under stuck-at faults and the device model: every
    placed cell read through the device (simulator.faults.device_draws), decoded, each matrix
    scaled by its quantization scale. The stuck-at generators advance as in `fault_maps`."""
    if plan.effects is None or draw.device is None:
        raise ValueError("device_weights needs a plan with device effects and a draw with their generators")
    setup = mapped.setup
    modules = dict(model.named_modules())
    out = {}
    for layer in mapped.layers:
        tile_draw = layer_draw(draw, plan, setup, layer.name)
        weight = modules[layer.name].weight
        effective = []
        for W, tiles in zip(group_matrices(weight, len(layer.tiles)), layer.tiles):
            quantized, levels = device_tile_levels(W, tiles, tile_draw, plan.effects, draw.device)
            effective.append(decoded_matrix(W.shape, tiles, levels, draw.encoding, setup.weight_bits,
                                            setup.cell_bits) * quantized.scale)
        out[layer.name] = to_weight(effective, weight)
    return out


def draw_key(seed: int, encoding: str, rate: float, run: int) -> list[int]:
    """The seed of one draw: (workload seed, encoding name, rate value, run index), never the
    positions of the encoding and the rate in the study's lists, so the same draw comes out
    whatever else a study lists (issue #16): `resim run` and `resim faults` agree, and adding a
    rate leaves the other rates' draws unchanged. The name enters as the first 8 bytes of its
    SHA-256, the rate as the bits of its IEEE double (0.01 from YAML or the command line alike)."""
    name = int.from_bytes(hashlib.sha256(encoding.encode()).digest()[:8], "little")
    (bits,) = struct.unpack("<Q", struct.pack("<d", float(rate) + 0.0))   # + 0.0: -0.0 is 0.0
    return [seed, name, bits, run]


def draw_generators(seed: int, encoding: str, rate: float, run: int,
                    lines: LineRates | None) -> tuple[np.random.Generator, np.random.Generator | None]:
    """The cell generator of one draw, seeded by `draw_key`, and the line generator, a stream of
    its own, when lines can fail."""
    key = draw_key(seed, encoding, rate, run)
    return np.random.default_rng(key), (np.random.default_rng(key + [1]) if lines is not None else None)


@dataclass(frozen=True)
class DrawIndex:
    """Where one draw sits in a study: its encoding, rate and run (their values seed its
    generators, `draw_key`)."""

    encoding: str
    rate: float
    run: int


def study_draws(spec: FaultSpec, mapped: MappedNetwork) -> list[DrawIndex]:
    """Every draw of a study, encodings outermost, then rates, then runs (the order every study
    of this package takes them)."""
    return [DrawIndex(encoding, rate, run)
            for encoding in study_encodings(spec, mapped) for rate in spec.rates for run in range(spec.runs)]


def study_encodings(spec: FaultSpec, mapped: MappedNetwork) -> list[str]:
    """The spec's encodings, else the mapping's own."""
    return list(spec.encodings) if spec.encodings else [mapped.setup.encoding]


def study_plan(spec: FaultSpec, mapped: MappedNetwork, device: Device | None = None,
               packing: str | None = None) -> DrawPlan:
    """The draw plan of `spec` over `mapped`, its rates checked against the layer multipliers;
    the device model's effects on `device` (the chip's, simulator.device.resolve_device) when the
    spec asks for any, its arrays packed as `packing` (default the mapping's)."""
    effects = DeviceEffects.of(spec, device, packing or mapped.setup.packing, mapped.setup.size)
    plan = DrawPlan.of(spec, mapped.names, spec.slice_index, effects)
    for rate in spec.rates:
        check_layer_rates(rate, plan.multipliers)
    return plan


def take_draw(spec: FaultSpec, mapped: MappedNetwork, plan: DrawPlan, index: DrawIndex) -> Draw:
    """The draw at `index`, its generators seeded from the mapping's seed and the index's values."""
    rng, line_rng = draw_generators(mapped.setup.seed, index.encoding, index.rate, index.run, plan.lines)
    device = (DeviceStreams.of(draw_key(mapped.setup.seed, index.encoding, index.rate, index.run), plan.effects)
              if plan.effects is not None else None)
    return Draw(index.encoding, FaultRates.from_total(index.rate, spec.ratio), rng, line_rng, device)


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int) -> float:
    """Top-1 accuracy in eval mode."""
    model.eval()
    correct = 0
    for start in range(0, len(x), batch_size):
        correct += int((model(x[start:start + batch_size]).argmax(1) == y[start:start + batch_size]).sum())
    return correct / max(len(x), 1)


def fault_study(model: nn.Module, mapped: MappedNetwork, x: torch.Tensor, y: torch.Tensor, spec: FaultSpec, *,
                batch_size: int = 1000, progress: bool = True, store: DrawStore | None = None,
                device: Device | None = None, packing: str | None = None) -> pd.DataFrame:
    """One row per draw: encoding, total fault rate, run, test accuracy.

    Each draw's generator is seeded from the values (seed, encoding, rate, run) (`draw_key`), so
    any single point can be recomputed alone and adding rates or encodings does not change the
    others. The spec's fault
    model adds per-layer multipliers, the stuck-off : stuck-on split and stuck lines; with its
    device options on, every cell is read through `device` (the chip's cell, simulator.device).
    With a `store` (simulator.faults.draw_store), draws it holds are taken from it and each draw
    computed is kept in it, so an interrupted study resumes."""
    from simulator.progress import progress_bar

    plan = study_plan(spec, mapped, device, packing)
    work = copy.deepcopy(model)
    modules = dict(work.named_modules())
    rows = []
    indices = study_draws(spec, mapped)
    kept = store.kept_rows(indices) if store is not None else {}
    with progress_bar(disable=not progress) as bar:
        task = bar.add_task("fault draws", total=len(indices))
        for index in indices:
            if index in kept:
                rows.append(kept[index])
                bar.advance(task)
                continue
            draw = take_draw(spec, mapped, plan, index)
            weights = faulty_weights(mapped, model, draw, plan)
            with torch.no_grad():
                for name, weight in weights.items():
                    modules[name].weight.copy_(weight)
            rows.append({"encoding": index.encoding, "rate": index.rate, "p_sa0": draw.rates.p_sa0,
                         "p_sa1": draw.rates.p_sa1, "run": index.run, "accuracy": accuracy(work, x, y, batch_size)})
            if store is not None:
                store.put(index, rows[-1])
            bar.advance(task)
    return pd.DataFrame(rows)
