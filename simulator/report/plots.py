"""Plots of the results folder: readable at a glance, axes labelled with units, legends."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from simulator.atomic import atomic_replace
from simulator.mapping.network import UtilizationHistogram


def pyplot():
    """matplotlib.pyplot on the Agg backend (files only, no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: Path) -> None:
    """Lay out `fig`, write it as PNG atomically (never a half-written plot) and close it."""
    fig.tight_layout()
    with atomic_replace(path) as tmp:
        fig.savefig(tmp, format="png")
    pyplot().close(fig)


def saved_vs_size(totals: pd.DataFrame, path: Path, title: str) -> None:
    """Saved share of crossbars vs crossbar size, one line per strategy (and density)."""
    plt = pyplot()

    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    for (density, strategy), group in totals.groupby(["density", "strategy"], dropna=False, sort=False):
        label = strategy if pd.isna(density) else f"{strategy}, density {density:.1%}"
        ax.plot(group["size"], 100 * group["saved_fraction"], marker="o", label=label)
    ax.set_xscale("log", base=2)
    sizes = sorted(totals["size"].unique())
    ax.set_xticks(sizes, [str(s) for s in sizes])
    ax.set_xlabel("crossbar size N (rows = columns)")
    ax.set_ylabel("crossbars saved vs dense mapping (%)")
    ax.set_ylim(0, 100)
    ax.grid(True, alpha=0.3)
    ax.set_title(title)
    ax.legend(fontsize=8)
    save_figure(fig, path)


def energy_by_layer_plot(layers: pd.DataFrame, path: Path, title: str) -> None:
    """Dynamic energy per inference of every layer, stacked by component (nJ)."""
    plt = pyplot()

    columns = [c for c in layers.columns if c.startswith("energy_") and c.endswith("_pj") and c != "energy_pj"]
    columns = [c for c in columns if layers[c].sum() > 0]
    fig, ax = plt.subplots(figsize=(max(6.4, 0.45 * len(layers) + 2), 4.2), dpi=120)
    bottom = pd.Series(0.0, index=layers.index)
    for column in columns:
        values = layers[column] / 1e3
        ax.bar(layers["layer"], values, bottom=bottom, label=column[len("energy_"):-len("_pj")])
        bottom = bottom + values
    ax.set_xlabel("layer")
    ax.set_ylabel("dynamic energy per inference (nJ)")
    ax.tick_params(axis="x", rotation=60)
    ax.grid(True, axis="y", alpha=0.3)
    ax.set_title(title)
    ax.legend(fontsize=7, ncol=2)
    save_figure(fig, path)


def energy_vs_size(totals: pd.DataFrame, path: Path, title: str) -> None:
    """Energy per inference and latency vs crossbar size, one line per strategy (seed 004 Fig. 8)."""
    plt = pyplot()

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2), dpi=120)
    for (density, strategy), group in totals.groupby(["density", "strategy"], dropna=False, sort=False):
        label = strategy if pd.isna(density) else f"{strategy}, density {density:.1%}"
        left.plot(group["size"], group["energy_uj"], marker="o", label=label)
        right.plot(group["size"], group["latency_us"], marker="o", label=label)
    sizes = sorted(totals["size"].unique())
    for ax, ylabel in ((left, "energy per inference (uJ)"), (right, "latency per inference (us)")):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(sizes, [str(s) for s in sizes])
        ax.set_xlabel("crossbar size N (rows = columns)")
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.3, which="both")
        ax.legend(fontsize=8)
    fig.suptitle(title)
    save_figure(fig, path)


def utilization_histogram_plot(histogram: UtilizationHistogram, path: Path, title: str, strategy: str) -> None:
    """Seed 004 Fig. 4: share of tiles per utilisation decile (share of a tile's cells holding a
    nonzero weight), the dense grid beside the strategy's placed tiles."""
    import numpy as np

    plt = pyplot()

    upper = np.asarray(histogram.bin_upper_edges, dtype=float)
    lower = np.concatenate([[0.0], upper[:-1]])
    labels = [f"{100 * lo:.0f}-{100 * hi:.0f}" for lo, hi in zip(lower, upper)]
    x = np.arange(len(labels))
    width = 0.4
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    ax.bar(x - width / 2, 100 * np.asarray(histogram.dense), width, label="dense grid")
    ax.bar(x + width / 2, 100 * np.asarray(histogram.mapped), width, label=f"{strategy} (placed tiles)")
    ax.set_xticks(x, labels, rotation=45)
    ax.set_xlabel("tile utilisation: nonzero weights / N x N cells (%)")
    ax.set_ylabel("share of tiles (%)")
    ax.grid(True, axis="y", alpha=0.3)
    ax.set_title(title)
    ax.legend()
    save_figure(fig, path)


def accuracy_vs_rate_plot(summary: pd.DataFrame, path: Path, title: str) -> None:
    """Seed 003 Fig. 6: accuracy against fault rate per encoding, log rate axis, 95 % bands of the
    mean (Student's t, their n in the legend)."""
    fig, ax = pyplot().subplots(figsize=(6.4, 4.2), dpi=120)
    for encoding, group in summary.groupby("encoding", sort=False):
        runs = sorted({int(n) for n in group["runs"]})
        n = f"n = {runs[0]}" if len(runs) == 1 else f"n = {runs[0]}-{runs[-1]}"
        ax.plot(group["rate"], 100 * group["mean"], marker="o", label=f"{encoding} (95 % CI, Student's t, {n})")
        ax.fill_between(group["rate"], 100 * group["ci95_low"].astype(float), 100 * group["ci95_high"].astype(float),
                        alpha=0.2)
    if (summary["rate"] > 0).all():
        ax.set_xscale("log")
    ax.set_xlabel("cell fault rate p_sa0 + p_sa1 (stuck-off : stuck-on = 1 : 5.2)")
    ax.set_ylabel("test accuracy (%)")
    ax.grid(True, alpha=0.3, which="both")
    ax.set_title(title)
    ax.legend()
    save_figure(fig, path)
