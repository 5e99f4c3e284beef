"""Plots of the results folder: readable at a glance, axes labelled with units, legends."""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from numbers import Real
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from simulator.atomic import atomic_replace
from simulator.mapping.network import UtilizationHistogram

if TYPE_CHECKING:   # matplotlib is imported where a plot is drawn, pandas by the callers of its plots
    import pandas as pd
    from matplotlib.figure import Figure

    from simulator.hardware.model import HardwareResult
    from simulator.hardware.sensitivity import Sensitivity
    from simulator.report.bars import Series

# The sensitivity study's tornado plot in the results folder (report.html embeds it).
SENSITIVITY_PLOT = "sensitivity.png"


def pyplot() -> ModuleType:
    """matplotlib.pyplot on the Agg backend (files only, no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Figure, path: Path) -> None:
    """Lay out `fig`, write it as PNG atomically (never a half-written plot) and close it."""
    fig.tight_layout()
    with atomic_replace(path) as tmp:
        fig.savefig(tmp, format="png")
    pyplot().close(fig)


def _line_label(strategy: Hashable, density: Hashable) -> str:
    """A sweep line's legend: the strategy, with the density where the sweep set one (else NaN)."""
    if isinstance(density, Real) and not math.isnan(density):
        return f"{strategy}, density {density:.1%}"
    return str(strategy)


def saved_vs_size(totals: pd.DataFrame, path: Path, title: str) -> None:
    """Saved share of crossbars vs crossbar size, one line per strategy (and density)."""
    plt = pyplot()

    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    for (density, strategy), group in totals.groupby(["density", "strategy"], dropna=False, sort=False):
        label = _line_label(strategy, density)
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


# The chips of a run as the plot names them (report.md's COMPARISONS say the same in full), by
# their hardware file's name.
CHIP_LABELS = {"workload": "{}", "dense": "dense on {}", "baseline": "baseline {}"}
SHARED_BAR = "whole chip"
STATIC_SERIES = "static (leakage)"


def energy_by_layer_plot(chips: Mapping[str, HardwareResult], path: Path, title: str) -> None:
    """Energy per inference of every chip of the run (the workload's chip, and the dense mapping
    and dense baseline where the run has them), in nJ, as `energy_by_layer_bars` lays it out."""
    from simulator.report.bars import bar_chart

    categories, series = energy_by_layer_bars(chips)
    bar_chart(path, categories, series, title=title,
              x_label=f"{'each chip: ' if len(chips) > 1 else ''}its layers (dynamic energy), then the whole chip "
              "(static, buffer + network)",
              y_label="energy per inference (nJ)", stacked=True)


def energy_by_layer_bars(chips: Mapping[str, HardwareResult]) -> tuple[list[str], list[Series]]:
    """The bars of `energy_by_layer_plot` (nJ): per chip one bar per layer with its dynamic
    energy stacked by component, and one "whole chip" bar with what belongs to no single layer:
    the static (leakage) energy and the dynamic energy of the shared buffer and network. A chip's
    bars add up to its energy per inference."""
    from simulator.report.bars import Series

    # Each chip's layer rows as flat dicts (no pandas on the report path).
    tables = {label: [row.as_dict() for row in chip.rows] for label, chip in chips.items()}
    columns = list(dict.fromkeys(c for rows in tables.values() for row in rows for c in row
                                 if c.startswith("energy_") and c.endswith("_pj") and c != "energy_pj"))
    columns = [c for c in columns if any(sum(row.get(c, 0.0) for row in rows) > 0 for rows in tables.values())]
    categories: list[str] = []
    values: dict[str, list[float]] = {name: [] for name in [*columns, "static", "shared"]}
    several = len(chips) > 1
    for label, chip in chips.items():
        rows = tables[label]
        prefix = f"{CHIP_LABELS.get(label, label + ' {}').format(chip.summary.hardware)}: " if several else ""
        for row in rows:
            categories.append(f"{prefix}{row['layer']}")
            for c in columns:
                values[c].append(float(row.get(c, 0.0)) / 1e3)
            values["static"].append(0.0)
            values["shared"].append(0.0)
        categories.append(f"{prefix}{SHARED_BAR}")
        for c in columns:
            values[c].append(0.0)
        summary = chip.summary
        values["static"].append(summary.static_energy_pj / 1e3)
        layers_pj = sum(float(row["energy_pj"]) for row in rows)
        values["shared"].append(max(summary.dynamic_energy_pj - layers_pj, 0.0) / 1e3)
    names = {**{c: c[len("energy_"):-len("_pj")] for c in columns},
             "static": STATIC_SERIES, "shared": "buffer + network"}
    return categories, [Series(names[key], values[key]) for key in values if any(values[key])]


def energy_vs_size(totals: pd.DataFrame, path: Path, title: str) -> None:
    """Energy per inference and latency vs crossbar size, one line per strategy (seed 004 Fig. 8)."""
    plt = pyplot()

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2), dpi=120)
    for (density, strategy), group in totals.groupby(["density", "strategy"], dropna=False, sort=False):
        label = _line_label(strategy, density)
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
    """Seed 004 Fig. 4: share of crossbars per utilisation decile (share of a crossbar's cells holding a
    nonzero weight), the dense grid beside the strategy's placed crossbars."""
    from simulator.report.bars import Series, bar_chart

    upper = list(histogram.bin_upper_edges)
    lower = [0.0, *upper[:-1]]
    labels = [f"{100 * lo:.0f}-{100 * hi:.0f} %" for lo, hi in zip(lower, upper)]
    bar_chart(path, labels, [Series("dense grid", [100 * v for v in histogram.dense]),
                             Series(f"{strategy} (placed crossbars)", [100 * v for v in histogram.mapped])],
              title=title, x_label="crossbar utilisation: nonzero weights / N x N cells",
              y_label="share of crossbars (%)", stacked=False)


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


def device_effects_plot(frame: pd.DataFrame, path: Path, title: str, effect_column: str = "device effects") -> None:
    """Issue #24 item 5, which encoding survives what: one panel per sign encoding, mean accuracy
    against fault rate for stuck-at faults only, each device effect alone and all of them, with
    95 % bands of the mean (Student's t); one legend of the effects under the panels."""
    plt = pyplot()
    encodings = list(dict.fromkeys(frame["encoding"]))
    effects = list(dict.fromkeys(frame[effect_column]))
    legend_in = 0.2 * len(effects) + 0.7          # inches under the panels for the legend and x labels
    height = 3.3 + legend_in
    fig, axes = plt.subplots(1, len(encodings), figsize=(3.6 * len(encodings), height), dpi=120, sharey=True,
                             squeeze=False)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    log = bool((frame["rate"] > 0).all())
    for ax, encoding in zip(axes[0], encodings):
        for i, effect in enumerate(effects):
            rows = frame[(frame["encoding"] == encoding) & (frame[effect_column] == effect)].sort_values("rate")
            colour = colours[i % len(colours)]
            ax.plot(rows["rate"], 100 * rows["mean"], marker="o", color=colour, label=effect)
            ax.fill_between(rows["rate"], 100 * rows["ci95_low"].astype(float).fillna(rows["mean"]),
                            100 * rows["ci95_high"].astype(float).fillna(rows["mean"]), color=colour, alpha=0.15)
        if log:
            ax.set_xscale("log")
        ax.set_title(encoding)
        ax.set_xlabel("cell fault rate")
        ax.tick_params(axis="x", labelrotation=30)
        ax.grid(True, alpha=0.3, which="both")
    axes[0][0].set_ylabel("test accuracy (%)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=1, fontsize="small", frameon=False)
    fig.suptitle(title)
    fig.subplots_adjust(bottom=legend_in / height + 0.02, top=1 - 0.75 / height, wspace=0.08)
    # Laid out by hand (save_figure's tight_layout would pull the panels over the legend).
    with atomic_replace(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)


def tornado_plot(sensitivity: Sensitivity, path: Path, title: str, top: int = 12) -> None:
    """One panel per headline ratio: for the `top` assumptions that move it most, a bar from its
    lowest to its highest value over the assumption's alternatives around the value with the files
    as written; a dashed line at 1x, where the verdict flips (drawn with Pillow, as the run's
    other plots: simulator/report/bars.py)."""
    from simulator.hardware.sensitivity import HEADLINES
    from simulator.report.bars import Panel, tornado_chart

    panels = []
    for name, base in sensitivity.headline.present().items():
        moved = [row for row in sensitivity.assumptions if row.values(name) and row.swing(name, base) > 1e-9]
        moved = sorted(moved, key=lambda row: row.swing(name, base), reverse=True)[:top]
        rows = [(row.label, min(row.values(name)), max(row.values(name))) for row in moved]
        panels.append(Panel(f"{HEADLINES[name]} (x)", base, rows, marker=1.0))
    tornado_chart(path, panels, title=title)
