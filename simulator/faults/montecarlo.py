"""Accuracy under stuck-at faults, Monte-Carlo over fault draws (seed 003: 100-run averages).

The network is mapped once (tiles do not depend on the sign encoding); every draw decodes the
faulty cells of every placed tile into effective weights, writes them into one working copy of
the network and evaluates it. No model copy per draw.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from simulator.faults.cells import FaultRates
from simulator.faults.effective import faulty_matrix
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


@torch.no_grad()
def faulty_weights(layers: list[MappedLayer], model: nn.Module, encoding: str, weight_bits: int,
                   cell_bits: int, rates: FaultRates, rng: np.random.Generator, per_column: bool,
                   slice_index: int | None = None) -> dict[str, torch.Tensor]:
    """Effective weights of every mapped layer for one fault draw."""
    modules = dict(model.named_modules())
    out = {}
    for layer in layers:
        effective = [faulty_matrix(m, tiles, encoding, weight_bits, cell_bits, rates, rng, per_column, slice_index)
                     for m, tiles in zip(layer.matrices, layer.tiles)]
        out[layer.name] = to_weight(effective, modules[layer.name].weight)
    return out


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
                batch_size: int = 1000, progress: bool = True) -> pd.DataFrame:
    """One row per draw: encoding, total fault rate, run, test accuracy.

    Each draw's generator is seeded from (seed, encoding, rate, run), so any single point can be
    recomputed alone and adding rates or encodings does not change the others."""
    from rich.progress import Progress

    work = copy.deepcopy(model)
    modules = dict(work.named_modules())
    rows = []
    with Progress(disable=not progress) as bar:
        task = bar.add_task("fault draws", total=len(rates) * len(encodings) * runs)
        for e, encoding in enumerate(encodings):
            for r, rate in enumerate(rates):
                fault_rates = FaultRates.from_total(rate)
                for run in range(runs):
                    rng = np.random.default_rng([seed, e, r, run])
                    weights = faulty_weights(layers, model, encoding, weight_bits, cell_bits, fault_rates, rng,
                                             per_column, slice_index)
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
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from simulator.report.atomic import atomic_replace

    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
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
    fig.tight_layout()
    with atomic_replace(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)


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
