"""A sweep's report, rewritten from results.csv whenever the sweep ends (finished or interrupted):

- `sweep.md`: the workload, the grid, how many points finished / failed / are still to run, the
  results table in grid order, the failed points and the plots by name;
- `report.html`: the same in one self-contained page (inline CSS, every plot a base64 data URI);
- the plots, against the crossbar size when the grid sweeps `mapping.crossbar.size`, else against
  the first numeric grid key (else the first key, as categories), one line per combination of the
  other grid values:
  `energy_latency_vs_<x>.png` (energy and latency per inference, seed 004 Fig. 8),
  `crossbars_vs_<x>.png` (tiles placed vs dense tiles and the share saved, seed 001's tables),
  `efficiency_vs_<x>.png` (energy efficiency and speed-up over the dense mapping and the baseline
  chip) and, when the points measured accuracy, `accuracy_vs_<key>.png` (against the first numeric
  key other than the crossbar size, e.g. prune.density). `<x>` is `size` for the crossbar size, else
  the key with dots as underscores.

Every file is written atomically, so a reader never sees half a report.
"""

from __future__ import annotations

import importlib.metadata
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from simulator.atomic import write_text
from simulator.report.html import Plot, data_uri, render_template, table_of
from simulator.report.plots import pyplot, save_figure
from simulator.report.results import markdown_table
from simulator.sweep.grid import key_unit
from simulator.sweep.table import figure_columns

if TYPE_CHECKING:   # matplotlib is imported where a plot is drawn
    from matplotlib.axes import Axes
    from matplotlib.typing import LineStyleType

SIZE_KEY = "mapping.crossbar.size"
SHOWN = figure_columns("energy_per_inference_uj", "static_energy_uj", "latency_us", "inferences_per_second",
                       "tops_per_watt", "area_mm2", "power_mw", "adc_bits", "tiles_placed", "tiles_dense",
                       "arrays_placed", "test_accuracy", "fault_accuracy", "fault_ci95_low", "fault_ci95_high",
                       "energy_efficiency_vs_dense", "speedup_vs_dense",
                       "energy_efficiency_vs_baseline", "speedup_vs_baseline", "area_vs_baseline",
                       "power_vs_baseline", "seconds", "point_id")
# The results.csv columns the plots read (SweepRow's fields).
(ENERGY, LATENCY, AREA, TILES_PLACED, TILES_DENSE, ACCURACY, POINT_ID, EFFICIENCY_DENSE, EFFICIENCY_BASELINE,
 SPEEDUP_DENSE, SPEEDUP_BASELINE, AREA_BASELINE, POWER_BASELINE) = figure_columns(
    "energy_per_inference_uj", "latency_us", "area_mm2", "tiles_placed", "tiles_dense", "test_accuracy", "point_id",
    "energy_efficiency_vs_dense", "energy_efficiency_vs_baseline", "speedup_vs_dense", "speedup_vs_baseline",
    "area_vs_baseline", "power_vs_baseline")
HTML_NAME = "report.html"
TEMPLATE = "sweep.html.j2"

# Axis labels of the keys sweeps usually vary; any other key is labelled with its name and the
# unit the workload model gives it.
LABELS = {
    SIZE_KEY: "crossbar size N (rows = columns)",
    "prune.density": "weight density (nonzeros / weights)",
}
# The same in captions.
NAMES = {SIZE_KEY: "crossbar size N", "prune.density": "weight density (prune.density)"}
# Units that say nothing on an axis.
_NO_UNIT = {None, "1", "text", "block", "path"}


def read_table(path: Path) -> pd.DataFrame:
    """results.csv as a frame (empty cells as NaN)."""
    return pd.read_csv(path)


def in_grid_order(table: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    """The rows sorted as the grid lists the points (the table holds them as they finished)."""
    rank = {point: i for i, point in enumerate(order)}
    return table.assign(_rank=table[POINT_ID].map(rank)).sort_values("_rank", na_position="last").drop(columns="_rank")


# ----------------------------------------------------------------------------- axes

def axis_label(key: str) -> str:
    """What an axis over the grid key `key` shows, with its unit."""
    if key in LABELS:
        return LABELS[key]
    unit = key_unit(key)
    return key if unit in _NO_UNIT else f"{key} ({unit})"


def _category(value: Any) -> str:
    """A grid value as a category label; 16 and 16.0 (as read back from the CSV) agree."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "none"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _is_numeric(values: list[Any]) -> bool:
    """Grid values an axis can place by value: numbers, none of them missing or true/false."""
    return bool(values) and all(isinstance(v, (int, float)) and not isinstance(v, bool) and not
                                (isinstance(v, float) and math.isnan(v)) for v in values)


def _slug(key: str) -> str:
    return "size" if key == SIZE_KEY else re.sub(r"[^A-Za-z0-9]+", "_", key).strip("_")


@dataclass(frozen=True)
class Axis:
    """An x axis over one grid key: numeric (log2 for the crossbar size, log10 when the values
    span a decade) or categories in grid order."""

    key: str
    categories: tuple[str, ...] | None      # None: numeric

    @property
    def label(self) -> str:
        return axis_label(self.key)

    @property
    def name(self) -> str:
        return NAMES.get(self.key, self.key)

    @property
    def slug(self) -> str:
        return _slug(self.key)

    def positions(self, column: pd.Series) -> pd.Series:
        categories = self.categories
        if categories is None:
            return column.astype(float)
        return column.map(lambda v: float(categories.index(_category(v)))
                          if _category(v) in categories else math.nan)

    def style(self, ax: Axes, values: pd.Series) -> None:
        """Scale, ticks at the swept values, label."""
        if self.categories is not None:
            ax.set_xticks(range(len(self.categories)), self.categories)
            ax.set_xlim(-0.5, len(self.categories) - 0.5)
        else:
            ticks = sorted(values.dropna().unique())
            if ticks and ticks[0] > 0 and (self.key == SIZE_KEY or ticks[-1] >= 10 * ticks[0]):
                ax.set_xscale("log", base=2 if self.key == SIZE_KEY else 10)
                ax.minorticks_off()
            if len(ticks) <= 12:
                ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
        ax.set_xlabel(self.label)


def x_axis(grid_keys: list[str], axes: dict[str, list[Any]], exclude: tuple[str, ...] = ()) -> Axis | None:
    """The crossbar size when swept (and not excluded), else the first numeric grid key, else the
    first grid key as categories in grid order."""
    keys = [k for k in grid_keys if k not in exclude]
    if not keys:
        return None
    if SIZE_KEY in keys and _is_numeric(axes.get(SIZE_KEY, [])):
        return Axis(SIZE_KEY, None)
    for key in keys:
        if _is_numeric(axes.get(key, [])):
            return Axis(key, None)
    return Axis(keys[0], tuple(dict.fromkeys(_category(v) for v in axes.get(keys[0], []))))


def _value_text(value: Any) -> str:
    if isinstance(value, float) and not math.isnan(value):
        return f"{value:g}"
    return _category(value)


def _combinations(table: pd.DataFrame, others: list[str]) -> list[tuple[str, pd.DataFrame]]:
    """(legend label, rows) per combination of the other grid keys' values."""
    if not others:
        return [("", table)]
    out = []
    for values, group in table.groupby(others, sort=True, dropna=False):
        values = values if isinstance(values, tuple) else (values,)
        out.append((", ".join(f"{k.split('.')[-1]} {_value_text(v)}" for k, v in zip(others, values)), group))
    return out


def _log_if_decades(ax: Axes, values: list[float]) -> None:
    """Log y only where the values span a decade or more, labelled in plain numbers (1, 2, 5 per
    decade while there are few decades) so every axis has several readable ticks."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    finite = [v for v in values if v is not None and not math.isnan(v)]
    if not finite or min(finite) <= 0 or max(finite) < 10 * min(finite):
        return
    ax.set_yscale("log")
    decades = math.log10(max(finite) / min(finite))
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0) if decades < 3 else (1.0,)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_formatter(NullFormatter())


# ----------------------------------------------------------------------------- plots

def _has(table: pd.DataFrame, *columns: str) -> bool:
    return any(c in table and table[c].notna().any() for c in columns)


def _lines(ax: Axes, table: pd.DataFrame, axis: Axis, others: list[str], column: str, label: str = "",
           linestyle: LineStyleType = "-", marker: str = "o", shared_colours: bool = False) -> list[float]:
    """One line of `column` vs the axis per combination of the other keys, labelled by the
    combination (else `label`); the values drawn."""
    drawn: list[float] = []
    for i, (combo, group) in enumerate(_combinations(table, others)):
        if column not in group:
            continue
        x = axis.positions(group[axis.key])
        frame = pd.DataFrame({"x": x, "y": group[column]}).dropna().sort_values("x")
        if frame.empty:
            continue
        if shared_colours:
            # The colour names the combination, the line style (legend entry of its own) the series.
            text = combo or "_nolegend_"
        else:
            text = combo or label or column
        ax.plot(frame["x"], frame["y"], color=f"C{i % 10}", linestyle=linestyle, marker=marker, label=text)
        drawn += frame["y"].tolist()
    return drawn


def _style_legend(ax: Axes, extra: Sequence[tuple[LineStyleType, str, str]] = ()) -> None:
    """The legend: one entry per line, or, with `extra` (style, marker, meaning) entries, one
    plain colour entry per combination of the other keys, then one entry per line style."""
    from matplotlib.lines import Line2D

    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    if extra:
        unique = {label: Line2D([], [], color=handle.get_color(), linewidth=2.5) for label, handle in unique.items()}
        for style, marker, meaning in extra:
            unique[meaning] = Line2D([], [], color="0.35", linestyle=style, marker=marker)
    if unique:
        ax.legend(unique.values(), unique.keys(), fontsize=8)


def energy_latency_plot(table: pd.DataFrame, axis: Axis, others: list[str], path: Path, title: str) -> bool:
    """Energy and latency per inference (seed 004 Fig. 8) and the chip's area vs the axis: a
    figure that falls with a bigger chip is read beside what the chip costs in silicon."""
    if not _has(table, ENERGY, LATENCY):
        return False
    plt = pyplot()
    fig, panels = plt.subplots(1, 3, figsize=(14, 4.2), dpi=120)
    for ax, column, ylabel in zip(panels, (ENERGY, LATENCY, AREA),
                                  ("energy per inference (uJ)", "latency per inference (us)", "chip area (mm^2)")):
        _log_if_decades(ax, _lines(ax, table, axis, others, column))
        axis.style(ax, table[axis.key])
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.3, which="both")
        if others:
            _style_legend(ax)
    fig.suptitle(title)
    save_figure(fig, path)
    return True


def crossbars_plot(table: pd.DataFrame, axis: Axis, others: list[str], path: Path, title: str) -> bool:
    """Tiles placed vs dense tiles, and the share of crossbars saved, vs the axis (seed 001)."""
    if not _has(table, TILES_PLACED) or not _has(table, TILES_DENSE):
        return False
    plt = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2), dpi=120)
    drawn = _lines(left, table, axis, others, TILES_PLACED, shared_colours=True)
    drawn += _lines(left, table, axis, others, TILES_DENSE, linestyle="--", marker="s", shared_colours=True)
    _log_if_decades(left, drawn)
    left.set_ylabel("crossbars per network (N x N tiles)")
    _style_legend(left, [("-", "o", "placed by the mapping"), ("--", "s", "dense (every tile)")])
    saved = table.assign(_saved=100 * (1 - table[TILES_PLACED] / table[TILES_DENSE]))
    shares = _lines(right, saved, axis, others, "_saved", "saved")
    right.set_ylim(min(0.0, *shares) if shares else 0.0, 100)
    right.set_ylabel("crossbars saved vs dense (%)")
    if others:
        _style_legend(right)
    for ax in (left, right):
        axis.style(ax, table[axis.key])
        ax.grid(True, alpha=0.3, which="both")
    fig.suptitle(title)
    save_figure(fig, path)
    return True


def efficiency_plot(table: pd.DataFrame, axis: Axis, others: list[str], path: Path, title: str) -> bool:
    """Energy efficiency and speed-up over the dense mapping (same chip) and the dense baseline
    chip vs the axis; 1x drawn as the break-even line."""
    pairs = ((EFFICIENCY_DENSE, EFFICIENCY_BASELINE), (SPEEDUP_DENSE, SPEEDUP_BASELINE))
    if not _has(table, *pairs[0], *pairs[1]):
        return False
    plt = pyplot()
    cost = _has(table, AREA_BASELINE, POWER_BASELINE)
    fig, panels = plt.subplots(1, 3 if cost else 2, figsize=(14 if cost else 10, 4.2), dpi=120)
    for ax, (dense, baseline), ylabel in zip(panels, pairs, ("energy efficiency (x, higher is better)",
                                                             "speed-up (x, higher is better)")):
        _ratio_panel(ax, table, axis, others, ylabel, ((dense, "vs dense mapping, same chip"),
                                                       (baseline, "vs dense baseline chip")))
    if cost:   # what the ratios beside it cost
        _ratio_panel(panels[2], table, axis, others, "cost vs baseline chip (x, lower is cheaper)",
                     ((AREA_BASELINE, "area / baseline chip's"), (POWER_BASELINE, "power / baseline chip's")))
    fig.suptitle(title)
    save_figure(fig, path)
    return True


def _ratio_panel(ax: Axes, table: pd.DataFrame, axis: Axis, others: list[str], ylabel: str,
                 series: tuple[tuple[str, str], tuple[str, str]]) -> None:
    """Two ratio columns (column, meaning) in one panel, solid then dashed, colour per combination
    of the other keys, with 1x drawn as the break-even line."""
    styles: list[tuple[LineStyleType, str, str]] = []
    drawn: list[float] = []
    looks: tuple[tuple[LineStyleType, str], ...] = (("-", "o"), ("--", "s"))
    for (column, meaning), (linestyle, marker) in zip(series, looks):
        if _has(table, column):
            drawn += _lines(ax, table, axis, others, column, linestyle=linestyle, marker=marker, shared_colours=True)
            styles.append((linestyle, marker, meaning))
    ax.axhline(1.0, color="0.5", linestyle=":", linewidth=1)
    _log_if_decades(ax, [*drawn, 1.0])
    axis.style(ax, table[axis.key])
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3, which="both")
    _style_legend(ax, styles)


def accuracy_plot(table: pd.DataFrame, axis: Axis, others: list[str], path: Path, title: str) -> bool:
    """Test accuracy vs the axis (e.g. the pruned density), one line per combination of the
    other keys (lines coincide where those keys do not change the network, e.g. the crossbar size)."""
    if not _has(table, ACCURACY):
        return False
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    percent = table.assign(_accuracy=100 * table[ACCURACY])
    markers = "osD^vP*X"
    for i, (combo, group) in enumerate(_combinations(percent, others)):
        frame = pd.DataFrame({"x": axis.positions(group[axis.key]), "y": group["_accuracy"]}).dropna().sort_values("x")
        if not frame.empty:
            ax.plot(frame["x"], frame["y"], color=f"C{i % 10}", marker=markers[i % len(markers)],
                    markerfacecolor="none", label=combo or "test accuracy")
    axis.style(ax, table[axis.key])
    ax.set_ylabel("test accuracy (%)")
    ax.grid(True, alpha=0.3, which="both")
    _style_legend(ax)
    ax.set_title(title, fontsize=10)
    save_figure(fig, path)
    return True


@dataclass(frozen=True)
class SweepPlot:
    """A plot of the sweep folder: file name and caption."""

    name: str
    caption: str


def write_plots(table: pd.DataFrame, grid_keys: list[str], axes: dict[str, list[Any]], folder: Path,
                title: str) -> list[SweepPlot]:
    """Every plot that applies to the finished rows; a plot that no longer applies is removed,
    so the folder shows what the report shows."""
    axis = x_axis(grid_keys, axes)
    if axis is None:
        return []
    others = [k for k in grid_keys if k != axis.key]
    on = axis.name
    fig8 = " (seed 004 Fig. 8)" if axis.key == SIZE_KEY else ""
    planned = [
        (energy_latency_plot, f"energy_latency_vs_{axis.slug}.png", axis, others,
         f"Energy and latency per inference{fig8} and chip area vs {on}"),
        (crossbars_plot, f"crossbars_vs_{axis.slug}.png", axis, others,
         f"Crossbars placed and dense, and the share saved, vs {on} (seed 001's tables)"),
        (efficiency_plot, f"efficiency_vs_{axis.slug}.png", axis, others,
         f"Energy efficiency and speed-up over the dense mapping and the dense baseline chip, with the area "
         f"and power they cost over the baseline chip, vs {on}"),
    ]
    accuracy_axis = x_axis(grid_keys, axes, exclude=(SIZE_KEY,)) or axis
    if accuracy_axis.categories is not None and axis.categories is None:
        accuracy_axis = axis   # a numeric axis reads better than categories
    planned.append((accuracy_plot, f"accuracy_vs_{accuracy_axis.slug}.png", accuracy_axis,
                    [k for k in grid_keys if k != accuracy_axis.key],
                    f"Test accuracy vs {accuracy_axis.name}"))
    written = []
    for draw, name, on_axis, by, caption in planned:
        if not table.empty and draw(table, on_axis, by, folder / name, title):
            written.append(SweepPlot(name, caption))
        else:
            (folder / name).unlink(missing_ok=True)
    return written


# ----------------------------------------------------------------------------- sweep.md, report.html

@dataclass(frozen=True)
class Counts:
    total: int          # points in the grid
    finished: int       # rows of grid points in results.csv
    failed: int
    not_run: int
    outside: int        # rows of points no longer in the grid (an axis shortened since)


def counts(table: pd.DataFrame, order: list[str], failures: dict[str, str]) -> Counts:
    in_grid = set(order)
    finished = int(table[POINT_ID].isin(in_grid).sum()) if len(table) else 0
    failed = len([p for p in failures if p in in_grid])
    return Counts(len(order), finished, failed, max(0, len(order) - finished - failed), len(table) - finished)


def _shown(table: pd.DataFrame, grid_keys: list[str]) -> list[str]:
    return [c for c in (*grid_keys, *SHOWN) if c in table and table[c].notna().any()]


# results.csv's figures as a reader names them, with their units (the HTML table's headers).
HEADERS = {
    "energy_per_inference_uj": "energy / inference (uJ)", "static_energy_uj": "of it static (uJ)",
    "latency_us": "latency (us)", "inferences_per_second": "inferences / s", "tops_per_watt": "TOPS/W",
    "area_mm2": "area (mm^2)", "power_mw": "power (mW)", "adc_bits": "ADC bits", "tiles_placed": "tiles placed",
    "tiles_dense": "tiles of the dense grid", "arrays_placed": "arrays", "test_accuracy": "test accuracy (%)",
    "fault_accuracy": "accuracy under faults / device model (%)", "fault_ci95_low": "its 95 % CI, low (%)",
    "fault_ci95_high": "its 95 % CI, high (%)",
    "energy_efficiency_vs_dense": "energy efficiency vs dense mapping (x)",
    "speedup_vs_dense": "speed-up vs dense mapping (x)",
    "energy_efficiency_vs_baseline": "energy efficiency vs baseline chip (x)",
    "speedup_vs_baseline": "speed-up vs baseline chip (x)", "area_vs_baseline": "area vs baseline chip (x)",
    "power_vs_baseline": "power vs baseline chip (x)", "seconds": "wall time (s)", "point_id": "point",
}


def readable(table: pd.DataFrame) -> pd.DataFrame:
    """The table with readable headers and accuracy in percent, for people rather than scripts."""
    out = table.copy()
    for column in ("test_accuracy", "fault_accuracy", "fault_ci95_low", "fault_ci95_high"):
        if column in out:
            out[column] = out[column] * 100
    return out.rename(columns={c: HEADERS.get(c, c) for c in out.columns})


def _grid_text(axes: dict[str, list[Any]]) -> list[tuple[str, str]]:
    return [(key, ", ".join(_value_text(v) for v in values)) for key, values in axes.items()]


def _count_text(n: Counts) -> str:
    text = f"{n.total} point(s) in the grid: {n.finished} finished, {n.failed} failed, {n.not_run} not run yet"
    if n.outside:
        text += f"; {n.outside} finished row(s) of values no longer in the grid are listed last"
    return text


def markdown(table: pd.DataFrame, grid_keys: list[str], title: str, failures: dict[str, str], *,
             order: list[str] | None = None, axes: dict[str, list[Any]] | None = None,
             workload: str | None = None, plots: Sequence[SweepPlot] = ()) -> str:
    """sweep.md: the workload and grid, the figures of every finished point, failed points, plots."""
    lines = [f"# {title}", ""]
    if workload:
        lines.append(f"- workload: `{workload}`")
    for key, values in _grid_text(axes or {}):
        lines.append(f"- `{key}`: {values}")
    if order is not None:
        lines.append(f"- points: {_count_text(counts(table, order, failures))}")
    lines += ["", f"{len(table)} point(s) finished; every figure is per inference (energy in uJ, latency in us).", "",
              markdown_table(table[_shown(table, grid_keys)]) if len(table) else "(no point finished)", ""]
    if failures:
        lines += ["## Failed points (not in results.csv; a rerun tries them again)", ""]
        lines += [f"- `{point}`: {message.splitlines()[0] if message else ''}" for point, message in failures.items()]
        lines.append("")
    if plots:
        lines += ["## Plots", "", f"Also embedded in `{HTML_NAME}` (one self-contained file).", ""]
        for plot in plots:
            lines += [f"### {plot.caption}", "", f"![{plot.caption}]({plot.name})", ""]
    return "\n".join(lines)


def render_sweep_html(table: pd.DataFrame, grid_keys: list[str], title: str, failures: dict[str, str], *,
                      order: list[str], axes: dict[str, list[Any]], workload: str, plots: list[SweepPlot],
                      folder: Path) -> str:
    """report.html of the sweep: summary, table in grid order, failed points and every plot as a
    data URI, so the page makes no request when opened."""
    try:
        version = importlib.metadata.version("resim")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    return render_template(
        TEMPLATE, title=title, version=version, workload=workload, grid=_grid_text(axes),
        counts=counts(table, order, failures),
        results=table_of(readable(table[_shown(table, grid_keys)])) if len(table) else None,
        failures=[(p, m.splitlines()[0] if m else "") for p, m in failures.items()],
        plots=[(Plot(p.name, data_uri(folder / p.name)), p.caption) for p in plots])


def write_report(folder: Path, grid_keys: list[str], order: list[str], title: str,
                 failures: dict[str, str], *, axes: dict[str, list[Any]] | None = None,
                 workload: str | Path | None = None) -> pd.DataFrame:
    """Write the plots, sweep.md and report.html from results.csv; return the table in grid order."""
    folder = Path(folder)
    table = in_grid_order(read_table(folder / "results.csv"), order)
    if axes is None:
        axes = {k: table[k].drop_duplicates().tolist() for k in grid_keys if k in table}
    workload = str(workload) if workload is not None else ""
    plots = write_plots(table, grid_keys, axes, folder, title)
    write_text(folder / "sweep.md", markdown(table, grid_keys, title, failures, order=order, axes=axes,
                                             workload=workload, plots=plots))
    write_text(folder / HTML_NAME, render_sweep_html(table, grid_keys, title, failures, order=order, axes=axes,
                                                     workload=workload, plots=plots, folder=folder))
    return table
