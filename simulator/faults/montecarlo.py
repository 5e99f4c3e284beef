"""Accuracy under stuck-at faults, Monte-Carlo over fault draws (seed 003: 100-run averages).

The network is mapped once (tiles do not depend on the sign encoding); every draw decodes the
faulty cells of every placed tile into effective weights, writes them into one working copy of
the network and evaluates it. No model copy per draw.

`FaultOptions` (issue #6) scale the rates per layer (seed 001 puts faults in one layer at a time),
choose the stuck-off : stuck-on split (seed 001's stuck-at-1 / stuck-at-0 studies) and add whole
stuck wordlines and bitlines. Unset, they leave every draw bit-identical to the plain model.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from simulator.faults.cells import SEED_003_RATIO, FaultRates, LineRates, check_ratio
from simulator.faults.effective import FaultMap, draw_fault_map
from simulator.lowering.layers import lower_network, weight_matrices
from simulator.mapping.mapper import map_layer
from simulator.mapping.tiles import Tile


@dataclass
class MappedLayer:
    """One layer's group matrices and the tiles that hold them."""

    name: str
    matrices: list[np.ndarray]
    tiles: list[list[Tile]]


def map_for_faults(model: nn.Module, shape: tuple[int, int, int], size: int, strategy: str,
                   weight_bits: int, seed: int, per_column: bool) -> list[MappedLayer]:
    """Map every Conv2d/Linear once: the tiles whose cells can fail."""
    modules = dict(model.named_modules())
    out = []
    for layer in lower_network(model, shape):
        matrices = weight_matrices(modules[layer.name])
        mapped = map_layer(layer.name, matrices, size, strategy, weight_bits, seed, per_column)
        out.append(MappedLayer(layer.name, matrices, [g.tiles for g in mapped.groups]))
    return out


def to_weight(matrices: list[np.ndarray], weight: torch.Tensor) -> torch.Tensor:
    """Inverse of `weight_matrices`: (R, C) group matrices back to the torch weight's shape."""
    per_group = [torch.from_numpy(np.ascontiguousarray(m.T)) for m in matrices]
    return torch.cat(per_group).reshape(weight.shape).to(weight.dtype)


class FaultOptionError(ValueError):
    """A fault option that does not fit the network or the chip; ``key`` names the option
    (FaultSpec's field name), ``value`` what was given."""

    def __init__(self, key: str, message: str, value):
        self.key, self.value = key, value
        super().__init__(message)


class UnknownLayerError(FaultOptionError):
    """A fault option (``key``: layers or only_layers) names a layer the network does not have."""

    def __init__(self, key: str, name: str, allowed: list[str]):
        self.name, self.allowed = name, list(allowed)
        super().__init__(key, f"unknown layer {name!r}; allowed: {', '.join(allowed)}", name)


@dataclass(frozen=True)
class FaultOptions:
    """The fault model beyond one total rate: its stuck-off : stuck-on split, per-layer rate
    multipliers and whole stuck lines. The defaults are the plain model of seed 003."""

    ratio: tuple[float, float] = SEED_003_RATIO
    layers: Mapping[str, float] | None = None     # multiplier per layer; unlisted layers keep 1
    only_layers: tuple[str, ...] | None = None    # only these layers fail; the others get 0
    stuck_rows_rate: float = 0.0                  # per wordline of a physical array
    stuck_cols_rate: float = 0.0                  # per bitline of a physical array

    def __post_init__(self) -> None:
        check_ratio(self.ratio)
        for name, factor in (self.layers or {}).items():
            if not (math.isfinite(factor) and factor >= 0):
                raise ValueError(f"rate multiplier of layer {name!r} must be a finite number >= 0, got {factor}")
        LineRates(self.stuck_rows_rate, self.stuck_cols_rate, self.ratio)

    @classmethod
    def from_spec(cls, spec) -> FaultOptions:
        """The options of a workload's ``faults:`` section (simulator.config.workload.FaultSpec);
        the defaults when it has none."""
        if spec is None:
            return cls()
        return cls(ratio=tuple(spec.ratio), layers=spec.layers,
                   only_layers=tuple(spec.only_layers) if spec.only_layers is not None else None,
                   stuck_rows_rate=spec.stuck_rows_rate, stuck_cols_rate=spec.stuck_cols_rate)

    def check_chip(self, packing: str) -> None:
        """Stuck wordlines are drawn per (polarity, slice) array; with ``adjacent-columns``
        packing one wordline crosses several of them, which this model does not place."""
        if self.stuck_rows_rate > 0 and packing != "across-arrays":
            raise FaultOptionError(
                "stuck_rows_rate", f"stuck wordlines are modelled for array packing 'across-arrays' only "
                f"(each polarity and bit slice in its own array); the hardware packs '{packing}'",
                self.stuck_rows_rate)

    def multipliers(self, names: list[str]) -> dict[str, float]:
        """Rate multiplier of every layer in ``names``; an option naming another layer raises
        `UnknownLayerError`."""
        for key, given in (("layers", self.layers or {}), ("only_layers", self.only_layers or ())):
            for name in given:
                if name not in names:
                    raise UnknownLayerError(key, name, names)
        layers = self.layers or {}
        return {name: (0.0 if self.only_layers is not None and name not in self.only_layers else 1.0)
                * float(layers.get(name, 1.0)) for name in names}

    @property
    def lines(self) -> LineRates | None:
        """The stuck-line rates, or None when no line can fail (then none is drawn)."""
        lines = LineRates(self.stuck_rows_rate, self.stuck_cols_rate, self.ratio)
        return lines if lines.active else None

    def as_dict(self) -> dict:
        """JSON-ready record of the options (for result files)."""
        return {"ratio": list(self.ratio), "layers": dict(self.layers) if self.layers else None,
                "only_layers": list(self.only_layers) if self.only_layers is not None else None,
                "stuck_rows_rate": self.stuck_rows_rate, "stuck_cols_rate": self.stuck_cols_rate}


def check_layer_rates(rate: float, multipliers: dict[str, float]) -> None:
    """Every layer's scaled rate must stay a probability."""
    for name, factor in multipliers.items():
        if rate * factor > 1.0:
            raise ValueError(f"fault rate {rate:g} x multiplier {factor:g} of layer {name!r} exceeds 1")


def fault_maps(layers: list[MappedLayer], encoding: str, weight_bits: int, cell_bits: int, rates: FaultRates,
               rng: np.random.Generator, per_column: bool, slice_index: int | None = None,
               multipliers: dict[str, float] | None = None, lines: LineRates | None = None,
               line_rng: np.random.Generator | None = None) -> dict[str, list[FaultMap]]:
    """One fault draw over every mapped layer: a `FaultMap` per group matrix.

    A layer's cell and line rates are scaled by its multiplier (default 1). Every layer draws from
    the generators whatever its multiplier, so switching one layer's faults off leaves the other
    layers' faults exactly as they were."""
    out = {}
    for layer in layers:
        factor = 1.0 if multipliers is None else multipliers.get(layer.name, 1.0)
        layer_rates = rates.scaled(factor)
        layer_lines = lines.scaled(factor) if lines is not None else None
        out[layer.name] = [draw_fault_map(m, tiles, encoding, weight_bits, cell_bits, layer_rates, rng, per_column,
                                          slice_index, layer_lines, line_rng)
                           for m, tiles in zip(layer.matrices, layer.tiles)]
    return out


def chip_weights(layers: list[MappedLayer], maps: dict[str, list[FaultMap]],
                 weights: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """What the faulty chip computes for each layer when ``weights`` (torch-shaped) are programmed."""
    out = {}
    for layer in layers:
        weight = weights[layer.name]
        effective = [m.effective(matrix) for m, matrix in zip(maps[layer.name], group_matrices(weight, len(layer.tiles)))]
        out[layer.name] = to_weight(effective, weight)
    return out


def group_matrices(weight: torch.Tensor, groups: int) -> list[np.ndarray]:
    """`weight_matrices` of a bare weight tensor (one (R, C) matrix per group)."""
    weight = weight.detach().cpu()
    per_group = weight.shape[0] // groups
    return [weight[g * per_group:(g + 1) * per_group].reshape(per_group, -1).T.numpy() for g in range(groups)]


@torch.no_grad()
def faulty_weights(layers: list[MappedLayer], model: nn.Module, encoding: str, weight_bits: int,
                   cell_bits: int, rates: FaultRates, rng: np.random.Generator, per_column: bool,
                   slice_index: int | None = None, multipliers: dict[str, float] | None = None,
                   lines: LineRates | None = None,
                   line_rng: np.random.Generator | None = None) -> dict[str, torch.Tensor]:
    """Effective weights of every mapped layer for one fault draw (see `fault_maps`)."""
    modules = dict(model.named_modules())
    maps = fault_maps(layers, encoding, weight_bits, cell_bits, rates, rng, per_column, slice_index, multipliers,
                      lines, line_rng)
    return chip_weights(layers, maps, {layer.name: modules[layer.name].weight for layer in layers})


def draw_generators(seed: int, encoding: int, rate: int, run: int,
                    lines: LineRates | None) -> tuple[np.random.Generator, np.random.Generator | None]:
    """The cell generator of one draw, seeded (seed, encoding, rate, run), and the line generator,
    a stream of its own, when lines can fail."""
    key = [seed, encoding, rate, run]
    return np.random.default_rng(key), (np.random.default_rng(key + [1]) if lines is not None else None)


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int) -> float:
    """Top-1 accuracy in eval mode."""
    model.eval()
    correct = 0
    for start in range(0, len(x), batch_size):
        correct += int((model(x[start:start + batch_size]).argmax(1) == y[start:start + batch_size]).sum())
    return correct / max(len(x), 1)


def fault_study(model: nn.Module, layers: list[MappedLayer], x: torch.Tensor, y: torch.Tensor, *,
                rates: list[float], encodings: list[str], runs: int, weight_bits: int, cell_bits: int,
                seed: int, per_column: bool = False, slice_index: int | None = None,
                batch_size: int = 1000, progress: bool = True,
                options: FaultOptions | None = None) -> pd.DataFrame:
    """One row per draw: encoding, total fault rate, run, test accuracy.

    Each draw's generator is seeded from (seed, encoding, rate, run), so any single point can be
    recomputed alone and adding rates or encodings does not change the others. ``options`` add
    per-layer multipliers, the stuck-off : stuck-on split and stuck lines (`FaultOptions`)."""
    from rich.progress import Progress

    options = options or FaultOptions()
    multipliers = options.multipliers([layer.name for layer in layers])
    for rate in rates:
        check_layer_rates(rate, multipliers)
    lines = options.lines
    work = copy.deepcopy(model)
    modules = dict(work.named_modules())
    rows = []
    with Progress(disable=not progress) as bar:
        task = bar.add_task("fault draws", total=len(rates) * len(encodings) * runs)
        for e, encoding in enumerate(encodings):
            for r, rate in enumerate(rates):
                fault_rates = FaultRates.from_total(rate, options.ratio)
                for run in range(runs):
                    rng, line_rng = draw_generators(seed, e, r, run, lines)
                    weights = faulty_weights(layers, model, encoding, weight_bits, cell_bits, fault_rates, rng,
                                             per_column, slice_index, multipliers, lines, line_rng)
                    with torch.no_grad():
                        for name, weight in weights.items():
                            modules[name].weight.copy_(weight)
                    rows.append({"encoding": encoding, "rate": rate, "p_sa0": fault_rates.p_sa0,
                                 "p_sa1": fault_rates.p_sa1, "run": run,
                                 "accuracy": accuracy(work, x, y, batch_size)})
                    bar.advance(task)
    return pd.DataFrame(rows)


def summarise(draws: pd.DataFrame) -> pd.DataFrame:
    """Mean, standard deviation and 95 % confidence interval of the mean per (encoding, rate)."""
    grouped = draws.groupby(["encoding", "rate"], sort=False)["accuracy"]
    out = grouped.agg(["count", "mean", "std"]).reset_index().rename(columns={"count": "runs"})
    out["std"] = out["std"].fillna(0.0)
    half = 1.96 * out["std"] / np.sqrt(out["runs"])
    out["ci95_low"], out["ci95_high"] = out["mean"] - half, out["mean"] + half
    return out


def accuracy_vs_rate_plot(summary: pd.DataFrame, path, title: str) -> None:
    """Seed 003 Fig. 6: accuracy against fault rate per encoding, log rate axis, 95 % bands."""
    from simulator.report.plots import pyplot, save_figure

    fig, ax = pyplot().subplots(figsize=(6.4, 4.2), dpi=120)
    for encoding, group in summary.groupby("encoding", sort=False):
        ax.plot(group["rate"], 100 * group["mean"], marker="o", label=encoding)
        ax.fill_between(group["rate"], 100 * group["ci95_low"], 100 * group["ci95_high"], alpha=0.2)
    if (summary["rate"] > 0).all():
        ax.set_xscale("log")
    ax.set_xlabel("cell fault rate p_sa0 + p_sa1 (stuck-off : stuck-on = 1 : 5.2)")
    ax.set_ylabel("test accuracy (%)")
    ax.grid(True, alpha=0.3, which="both")
    ax.set_title(title)
    ax.legend()
    save_figure(fig, path)


def tolerable_rate(rates: np.ndarray, means: np.ndarray, clean: float, drop: float = 0.01) -> float:
    """The fault rate at which mean accuracy falls `drop` below the fault-free accuracy, by
    log-linear interpolation between the measured rates (seed 003's tolerance measure).

    Returns 0.0 when the first measured rate already loses more, inf when none does."""
    order = np.argsort(rates)
    rates, means = np.asarray(rates, float)[order], np.asarray(means, float)[order]
    floor = clean - drop
    below = np.nonzero(means < floor)[0]
    if below.size == 0:
        return float("inf")
    i = int(below[0])
    if i == 0 or rates[i - 1] <= 0:
        return 0.0 if i == 0 else float(rates[i])
    lo, hi = np.log(rates[i - 1]), np.log(rates[i])
    t = (means[i - 1] - floor) / (means[i - 1] - means[i])
    return float(np.exp(lo + t * (hi - lo)))


def tolerable_rates(summary: pd.DataFrame, clean: float, drop: float = 0.01) -> dict[str, float]:
    """tolerable_rate per encoding of a fault-study summary."""
    return {encoding: tolerable_rate(group["rate"].to_numpy(), group["mean"].to_numpy(), clean, drop)
            for encoding, group in summary.groupby("encoding", sort=False)}
