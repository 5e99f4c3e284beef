"""Plots of the results folder: readable at a glance, axes labelled with units, legends."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from simulator.report.atomic import atomic_replace


def saved_vs_size(totals: pd.DataFrame, path: Path, title: str) -> None:
    """Saved share of crossbars vs crossbar size, one line per strategy (and density)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

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
    fig.tight_layout()
    with atomic_replace(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
