"""A sweep's report: `sweep.md` (the results table in grid order) and, when the grid sweeps the
crossbar size, energy and latency per inference vs crossbar size (seed 004 Fig. 8), one line per
combination of the other grid values."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from simulator.report.atomic import atomic_replace, write_text
from simulator.report.results import markdown_table

SIZE_KEY = "mapping.crossbar.size"
SHOWN = ("energy_per_inference_uj", "latency_us", "inferences_per_second", "tops_per_watt", "tiles_placed",
         "tiles_dense", "arrays_placed", "test_accuracy", "energy_efficiency_vs_dense", "speedup_vs_dense",
         "energy_efficiency_vs_baseline", "speedup_vs_baseline", "seconds", "point_id")


def read_table(path: Path) -> pd.DataFrame:
    """results.csv as a frame (empty cells as NaN)."""
    return pd.read_csv(path)


def in_grid_order(table: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    """The rows sorted as the grid lists the points (the table holds them as they finished)."""
    rank = {point: i for i, point in enumerate(order)}
    return table.assign(_rank=table["point_id"].map(rank)).sort_values("_rank", na_position="last").drop(columns="_rank")


def markdown(table: pd.DataFrame, grid_keys: list[str], title: str, failures: dict[str, str]) -> str:
    """sweep.md: the grid values and the figures of every finished point, then failed points."""
    shown = [c for c in (*grid_keys, *SHOWN) if c in table and table[c].notna().any()]
    lines = [f"# {title}", "", f"{len(table)} point(s) finished; every figure is per inference.", "",
             markdown_table(table[shown]) if len(table) else "(no point finished)", ""]
    if failures:
        lines += ["## Failed points (not in results.csv; a rerun tries them again)", ""]
        lines += [f"- `{point}`: {message.splitlines()[0] if message else ''}" for point, message in failures.items()]
        lines.append("")
    return "\n".join(lines)


def energy_latency_vs_size(table: pd.DataFrame, grid_keys: list[str], path: Path, title: str) -> bool:
    """Energy and latency per inference vs crossbar size, one line per combination of the other
    grid keys (seed 004 Fig. 8); False (nothing written) without a size axis or rows."""
    if SIZE_KEY not in grid_keys or table.empty:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    others = [k for k in grid_keys if k != SIZE_KEY]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2), dpi=120)
    groups = table.groupby(others, sort=True, dropna=False) if others else [((), table)]
    for values, group in groups:
        values = values if isinstance(values, tuple) else (values,)
        label = ", ".join(f"{k.split('.')[-1]} {v:g}" if isinstance(v, float) else f"{k.split('.')[-1]} {v}"
                          for k, v in zip(others, values)) or "workload"
        group = group.sort_values(SIZE_KEY)
        left.plot(group[SIZE_KEY], group["energy_per_inference_uj"], marker="o", label=label)
        right.plot(group[SIZE_KEY], group["latency_us"], marker="o", label=label)
    sizes = sorted(table[SIZE_KEY].unique())
    for ax, column, ylabel in ((left, "energy_per_inference_uj", "energy per inference (uJ)"),
                               (right, "latency_us", "latency per inference (us)")):
        ax.set_xscale("log", base=2)
        if table[column].max() > 10 * table[column].min() > 0:  # log only where values span decades
            ax.set_yscale("log")
        ax.set_xticks(sizes, [str(s) for s in sizes])
        ax.set_xlabel("crossbar size N (rows = columns)")
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.3, which="both")
        ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    with atomic_replace(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return True


def write_report(folder: Path, grid_keys: list[str], order: list[str], title: str,
                 failures: dict[str, str]) -> pd.DataFrame:
    """Write sweep.md (and the size plot when it applies) from results.csv; return the table."""
    table = in_grid_order(read_table(folder / "results.csv"), order)
    write_text(folder / "sweep.md", markdown(table, grid_keys, title, failures))
    energy_latency_vs_size(table, grid_keys, folder / "energy_latency_vs_size.png", title)
    return table
