"""report.html: one self-contained page with report.md's sections (issue #7, item 3).

Self-contained means the file makes no request when opened: the CSS is inline, every plot of the
results folder is embedded as a base64 `data:` URI and every table is an HTML table, so the page
can be mailed, archived or opened offline as one file.
"""

from __future__ import annotations

import base64
import functools
import math
from dataclasses import dataclass
from numbers import Integral, Real
from pathlib import Path
from typing import TYPE_CHECKING, Any

# report.md's own frames for these tables, so the two reports cannot disagree on a column.
from simulator.report.explain import activity_text, caveats, why_lines, why_rows
from simulator.report.markdown import (
    COMPARISONS,
    TRAINING_COLUMNS,
    chip_rows,
    component_rows,
    components_by_chip,
    fault_rows,
    hardware_layer_rows,
    layer_rows,
    pruning_rows,
    sensitivity_notes,
    wait_rows,
)
from simulator.report.model import RunReport
from simulator.report.table import Rows

if TYPE_CHECKING:
    import jinja2
    import pandas as pd

# The plot each section shows, as `resim run` names it in the results folder.
SECTION_PLOTS = {
    "hardware": "energy_by_layer.png",
    "utilization": "utilization_histogram.png",
    "faults": "accuracy_vs_fault_rate.png",
    "sensitivity": "sensitivity.png",
}


@dataclass(frozen=True)
class Table:
    """A table as report.html (and the sweep's and fault study's templates) prints it: header,
    formatted cells, which columns are numeric, and whether the last row is a sum row."""

    columns: list[str]
    rows: list[list[str]]
    numeric: list[bool]
    total_last: bool = False


@dataclass(frozen=True)
class Plot:
    """One embedded PNG: its file name (for the caption) and its data URI."""

    name: str
    uri: str


def format_cell(value: Any, floatfmt: str = ".4g") -> str:
    """A cell as report.md's tables print it (floats to 4 significant digits); empty when missing."""
    if value is None or (isinstance(value, Real) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, Integral):
        return str(int(value))
    if isinstance(value, Real):
        return format(float(value), floatfmt)
    return str(value)


def _is_number(cell: str) -> bool:
    try:
        float(cell.removesuffix("%"))
    except ValueError:
        return False
    return True


def table_of(frame: pd.DataFrame | Rows, total_last: bool = False) -> Table:
    """`frame` formatted for report.html or a template. A column whose filled cells are all numbers (or
    percentages) is right-aligned there; the check runs on the formatted cells because report.md's
    frames carry numbers preformatted as text (densities, shares) and blank cells in sum rows."""
    rows = [[format_cell(v) for v in record] for record in frame.itertuples(index=False, name=None)]
    numeric = []
    for j in range(frame.shape[1]):
        filled = [row[j] for row in rows if row[j] != ""]
        numeric.append(bool(filled) and all(_is_number(cell) for cell in filled))
    return Table([str(c) for c in frame.columns], rows, numeric, total_last)


def data_uri(path: Path) -> str:
    """The PNG at `path` as a base64 data URI."""
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def _plot(folder: Path, name: str) -> Plot | None:
    path = folder / name
    return Plot(name, data_uri(path)) if path.is_file() else None


def _summary(report: RunReport) -> list[tuple[str, str]]:
    """The bullet list at the top of report.md, as (label, text) pairs."""
    mapping, acc, data, net = report.mapping, report.accuracy, report.data, report.network
    skipped = report.skipped
    if data.test_images is not None:
        data_text = (f"{data.dataset} ({data.train_images} train / {data.test_images} test images), "
                     f"id {data.dataset_id}")
    else:
        data_text = f"{data.dataset}, id {data.dataset_id} (not loaded)"
    if net:
        network_text = f"{net.checkpoint} ({'reused' if net.reused_checkpoint else 'trained now'})"
    else:
        network_text = f"not loaded ({skipped.get('network', '')})"
    if acc:
        accuracy_text = f"{acc.test_accuracy:.2%} on {acc.test_images} images"
    else:
        accuracy_text = f"skipped ({skipped.get('accuracy', '')})"
    size = mapping.crossbar_size
    mapping_text = (f"{size}x{size} crossbars, strategy {mapping.reorder}, {mapping.encoding} encoding, "
                    f"{mapping.weight_bits}-bit weights in {mapping.cell_bits}-bit cells")
    return [
        ("workload", f"{report.workload_file} (config hash {report.config_hash}, seed {report.seed})"),
        ("hardware", report.hardware_file),
        ("data", data_text),
        ("checkpoint", network_text),
        ("test accuracy", accuracy_text),
        *[(f"skipped {stage}", why) for stage, why in skipped.items() if stage not in ("accuracy", "network")],
        ("mapping", mapping_text),
        ("stages run", ", ".join(report.stages_run)),
    ]


def _layers(report: RunReport) -> Table:
    frame = layer_rows(report.layers, report.totals)
    # report.md bolds its sum row with Markdown; here the page styles it.
    frame.rows[-1][frame.columns.index("layer")] = "Sum"
    return table_of(frame, total_last=True)


def _hardware(report: RunReport) -> dict[str, Any]:
    """Chip summary with its comparisons, energy by component and by layer (report.md's
    "Energy, latency and area" section)."""
    hardware = report.hardware
    others = hardware.others()
    versus = [(name, others[label].versus) for label, name in COMPARISONS if label in others]
    return {"summary": hardware.summary, "chips": table_of(chip_rows(hardware)), "versus": versus,
            "waits": table_of(wait_rows(hardware)),
            "why": why_lines(hardware), "why_table": table_of(why_rows(hardware)) if hardware.others() else None,
            "components": table_of(component_rows(hardware)),
            "by_chip": _by_chip(hardware), "layers": table_of(hardware_layer_rows(report.layers))}


def _by_chip(hardware: Any) -> Table | None:
    frame = components_by_chip(hardware)
    return table_of(frame, total_last=True) if frame is not None else None


def _utilization(report: RunReport) -> Table:
    hist = report.utilization_histogram
    upper = hist.bin_upper_edges
    lower = [0.0, *upper[:-1]]
    return table_of(Rows({
        "crossbar utilisation": [f"{lo:.0%} - {hi:.0%}" for lo, hi in zip(lower, upper)],
        "dense grid (share of crossbars)": [f"{v:.1%}" for v in hist.dense],
        f"{report.mapping.reorder} (share of crossbars)": [f"{v:.1%}" for v in hist.mapped],
    }))


def _sensitivity(report: RunReport) -> dict[str, Any] | None:
    """report.md's sensitivity section: the verdict and notes, the table."""
    if report.sensitivity is None:
        return None
    from simulator.report.markdown import SENSITIVITY_INTRO

    return {"intro": SENSITIVITY_INTRO.replace("`", ""), "notes": sensitivity_notes(report),
            "table": table_of(Rows(records=report.sensitivity.records()))}


def _optional_table(frame: pd.DataFrame | Rows | None) -> Table | None:
    return table_of(frame) if frame is not None else None


def _training(report: RunReport) -> tuple[dict[str, Any] | None, Table | None]:
    net = report.network
    prune = net.prune if net else None
    pruning = ({"method": prune["method"], "target": prune["target_density"], "reached": prune["density"],
                "rounds": table_of(Rows(records=prune["rounds"]))} if prune else None)
    history = net.history if net else []
    return pruning, table_of(Rows(records=history, order=TRAINING_COLUMNS)) if history else None


@functools.lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).with_name("templates")),
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        bytecode_cache=_compiled_templates())


def _compiled_templates() -> Any:
    """Jinja's cache of compiled templates in resim's cache folder (checked against each template's
    source): compiling the run's page template was a quarter of writing a cached run's reports before
    the page was written in Python (issue #25).
    None where the folder cannot be made (then every run compiles)."""
    import jinja2

    from simulator.cache import cache_dir

    folder = cache_dir() / "templates"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return jinja2.FileSystemBytecodeCache(str(folder))


def render_template(name: str, **context: Any) -> str:
    """Any template of simulator/report/templates with this module's environment (autoescaped,
    strict about undefined names), e.g. the sweep report's sweep.html.j2."""
    return _environment().get_template(name).render(**context)


def render_html(report: RunReport, folder: Path) -> str:
    """The self-contained HTML report of one run whose plots lie in `folder`.

    Each section shows its plot when the file exists; any other PNG of the folder is embedded at
    the end, so no plot of the results folder is missing from the page."""
    folder = Path(folder)
    plots = {section: _plot(folder, name) for section, name in SECTION_PLOTS.items()}
    others = [Plot(p.name, data_uri(p)) for p in sorted(folder.glob("*.png"))
              if p.name not in SECTION_PLOTS.values()]
    pruning, training = _training(report)
    return _page(
        report=report, summary=_summary(report), caveats=caveats(report), layers=_layers(report),
        activity=activity_text(report),
        hardware=_hardware(report), sensitivity=_sensitivity(report), utilization=_utilization(report),
        faults=_optional_table(fault_rows(report)), crossbar_pruning=_optional_table(pruning_rows(report)),
        pruning=pruning, training=training, plots=plots, other_plots=others)


# ----------------------------------------------------------------------------- the page
# Written out in Python rather than with a template engine: jinja2's import was 0.03 s of a
# hardware-only `resim run` with cached mappings (issue #25), a twentieth of the whole run.

def escape(value: object) -> str:
    """`value` as text inside HTML, with markupsafe's (Jinja's autoescape) entities."""
    return (str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("'", "&#39;").replace('"', "&#34;"))


_NUM, _HIGHLIGHT = ' class="num"', ' class="highlight"'


def _table_html(t: Table) -> str:
    """A table in its scrolling box; numeric columns right-aligned, a sum row styled."""
    head = "".join(f"<th>{escape(c)}</th>" for c in t.columns)
    body = []
    for i, row in enumerate(t.rows):
        total = ' class="total"' if t.total_last and i == len(t.rows) - 1 else ""
        cells = "".join(f"<td{_NUM if t.numeric[j] else ''}>{escape(cell)}</td>" for j, cell in enumerate(row))
        body.append(f"<tr{total}>{cells}</tr>\n")
    return (f'<div class="scroll">\n<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{"".join(body)}</tbody>\n'
            "</table>\n</div>\n")


def _figure_html(plot: Plot | None, caption: str) -> str:
    if plot is None:
        return '<p class="note">No plot in the results folder for this section.</p>\n'
    return (f'<figure>\n<img src="{escape(plot.uri)}" alt="{escape(caption)}">\n'
            f"<figcaption>{escape(caption)} ({escape(plot.name)})</figcaption>\n</figure>\n")


_STYLE = "\n".join((
    '<style>',
    'body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2em auto; '
    'max-width: 1200px; padding: 0 1em; color: #1b1b1b; line-height: 1.4; }',
    'h1 { border-bottom: 2px solid #444; padding-bottom: .2em; }',
    'h2 { margin-top: 2em; border-bottom: 1px solid #bbb; }',
    'nav ul { columns: 2; }',
    'dl.summary { display: grid; grid-template-columns: max-content 1fr; gap: .2em 1em; }',
    'dl.summary dt { font-weight: 600; }',
    'dl.summary dd { margin: 0; }',
    '.scroll { overflow-x: auto; }',
    'table { border-collapse: collapse; font-size: .85em; margin: .5em 0 1em; }',
    'th, td { border: 1px solid #ccc; padding: .25em .5em; }',
    'th { background: #f0f0f0; text-align: left; }',
    'td.num { text-align: right; font-variant-numeric: tabular-nums; }',
    'tr.total td { font-weight: 700; border-top: 2px solid #444; }',
    'tbody tr:nth-child(even) { background: #fafafa; }',
    'figure { margin: 1em 0; }',
    'figure img { max-width: 100%; height: auto; border: 1px solid #ddd; }',
    'figcaption, .note { color: #555; font-size: .9em; }',
    '.highlight { font-weight: 700; }',
    '</style>',
))

_NAV = (("hardware", "Energy, latency and area"), ("sensitivity", "Sensitivity to the assumptions"),
        ("utilization", "Crossbar utilisation"), ("faults", "Accuracy under stuck-at faults"),
        ("crossbar_pruning", "Crossbar-grained pruning"), ("pruning", "Pruning"), ("training", "Training"),
        ("other_plots", "Other plots"))


def _page(*, report: RunReport, summary: list[tuple[str, str]], caveats: list[str], layers: Table, activity: str,
          hardware: dict[str, Any] | None, sensitivity: dict[str, Any] | None, utilization: Table | None,
          faults: Table | None, crossbar_pruning: Table | None, pruning: dict[str, Any] | None,
          training: Table | None, plots: dict[str, Plot | None], other_plots: list[Plot]) -> str:
    """report.html's text: the summary, then one section per part of the report that is there."""
    present = {"hardware": hardware, "sensitivity": sensitivity, "utilization": utilization, "faults": faults,
               "crossbar_pruning": crossbar_pruning, "pruning": pruning, "training": training,
               "other_plots": other_plots}
    out = ['<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
           '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
           f'<meta name="generator" content="resim {escape(report.resim_version)}">\n'
           f"<title>resim report: {escape(report.workload)}</title>\n{_STYLE}\n</head>\n<body>\n"
           f"<h1>resim report: {escape(report.workload)}</h1>\n<nav>\n<ul>\n"
           '<li><a href="#summary">Summary</a></li>\n<li><a href="#layers">Layers</a></li>\n']
    out += [f'<li><a href="#{key.replace("_", "-")}">{title}</a></li>' for key, title in _NAV if present[key]]
    out.append('</ul>\n</nav>\n\n<section id="summary">\n<h2>Summary</h2>\n')
    if caveats:
        out.append('<p><strong>Read first:</strong></p>\n<ul class="caveats">\n')
        out += [f"<li>{escape(note)}</li>\n" for note in caveats]
        out.append("</ul>\n")
    out.append('<dl class="summary">\n')
    for label, text in summary:
        mark = _HIGHLIGHT if label == "test accuracy" and report.accuracy else ""
        out.append(f"<dt>{escape(label)}</dt><dd{mark}>{escape(text)}</dd>\n")
    out.append('</dl>\n</section>\n\n<section id="layers">\n<h2>Layers</h2>\n')
    out.append(_table_html(layers) + "\n")
    out.append(LAYERS_NOTE + "</section>\n\n")
    if hardware:
        out.append(_hardware_html(hardware, activity, plots))
    out.append("\n")
    if sensitivity:
        out.append('<section id="sensitivity">\n<h2>Sensitivity to the hardware files\' assumptions</h2>\n'
                   f"<p>{escape(sensitivity['intro'])}</p>\n")
        out += [f"<p{_HIGHLIGHT if i == 0 else ''}>{escape(note)}</p>\n"
                for i, note in enumerate(sensitivity["notes"])]
        out.append(_table_html(sensitivity["table"]) + "\n")
        out.append(_figure_html(plots["sensitivity"],
                                "Tornado plot: each headline ratio over the assumptions' alternatives") + "\n")
        out.append("</section>\n")
    out.append("\n")
    if utilization:
        out.append('<section id="utilization">\n<h2>Crossbar utilisation (seed 004 Fig. 4)</h2>\n'
                   "<p>Share of crossbars whose nonzero weights fill the given share of the N x N cells, the dense "
                   "grid beside the\nplaced crossbars of the mapping strategy.</p>\n")
        out.append(_table_html(utilization) + "\n")
        out.append(_figure_html(plots["utilization"],
                                "Share of crossbars per utilisation decile, dense grid vs mapped") + "\n")
        out.append("</section>\n")
    out.append("\n")
    if faults:
        out.append('<section id="faults">\n<h2>Accuracy under stuck-at faults (seed 003 Fig. 6)</h2>\n'
                   "<p>Cell fault rate p_sa0 + p_sa1 with stuck-off : stuck-on = 1 : 5.2; mean over the draws "
                   "with a 95 %\nconfidence interval of the mean (Student's t over the n draws); one row per draw "
                   "in accuracy.csv.</p>\n")
        out.append(_table_html(faults) + "\n")
        out.append(_figure_html(plots["faults"], "Test accuracy against cell fault rate per encoding") + "\n")
        out.append("</section>\n")
    out.append("\n")
    if crossbar_pruning:
        out.append('<section id="crossbar-pruning">\n<h2>Crossbar-grained pruning (seed 004 IV, Fig. 11)</h2>\n'
                   "<p>Parameters pruned and crossbars saved, both relative to the network before this stage.</p>\n")
        out.append(_table_html(crossbar_pruning) + "\n</section>\n")
    out.append("\n")
    if pruning:
        out.append(f'<section id="pruning">\n<h2>Pruning: {escape(pruning["method"])}, target density '
                   f'{"%.4f" % (100 * pruning["target"])} %,\nreached {"%.4f" % (100 * pruning["reached"])} %</h2>\n')
        out.append(_table_html(pruning["rounds"]) + "\n</section>\n")
    out.append("\n")
    if training:
        out.append('<section id="training">\n<h2>Training</h2>\n' + _table_html(training) + "\n</section>\n")
    out.append("\n")
    if other_plots:
        out.append('<section id="other-plots">\n<h2>Other plots</h2>\n')
        out += [_figure_html(plot, plot.name) + "\n" for plot in other_plots]
        out.append("</section>\n")
    out.append("</body>\n</html>")
    return "".join(out)


LAYERS_NOTE = ("<p class=\"note\">Shapes in torch order; (R, C) is the crossbar weight matrix (rows = inputs, columns "
               "= outputs,\ndocs/design.md); vectors = input vectors per inference; nz cols / nz rows = column "
               "segments of N rows and row\nsegments of N columns holding a nonzero (seed 001); crossbars of the "
               "size above; bound = lower bound on\nplaced crossbars; arrays = physical arrays (polarities x bit "
               "slices per crossbar).</p>\n")


def _hardware_html(hardware: dict[str, Any], activity: str, plots: dict[str, Plot | None]) -> str:
    """The "Energy, latency and area" section."""
    s = hardware["summary"]
    out = ['<section id="hardware">\n<h2>Energy, latency and area (docs/design.md, stage 6)</h2>\n'
           f"<p>Sizing policy <code>{escape(s.sizing)}</code> (fixed: the tiles of the hardware file; fit: the "
           "fewest tiles that\nhold one copy of every layer plus the replica budget; iso-area: the baseline chip's "
           "area), the same for every\nchip; replicas of the slowest layers fill what it leaves free. "
           f"{escape(s.execution)} execution, cycle\n{'%.4g' % s.cycle_ns} ns, {escape(s.adc_bits)}-bit ADCs; "
           f"event model: {escape(s.simulation_events)} simpy\nevents; closed form without contention "
           f"{'%.4g' % (s.latency_closed_form_ns / 1e3)} us against the\nevent model's {'%.4g' % (s.latency_ns / 1e3)}"
           f" us. Array utilisation\n{'%.2f' % (100 * s.array_utilization)} %, ADC utilisation "
           f"{'%.2f' % (100 * s.adc_utilization)} %.\nStatic energy is leakage: buffers, routers, bus and registers "
           "for the whole time, the arrays' periphery as the\nhardware file's chip.power_gating says. "
           f"{escape(activity)}</p>\n",
           _table_html(hardware["chips"]) + "\n"]
    if hardware["versus"]:
        out.append("<ul>\n")
        for name, versus in hardware["versus"]:
            out.append(f"<li>versus the {escape(name)}: <strong>{'%.2f' % versus.energy_efficiency}x energy "
                       f"efficiency,\n{'%.2f' % versus.speedup}x speed-up</strong>, {'%.2f' % versus.edp_improvement}x"
                       f"\nenergy-delay product, with {'%.2f' % versus.area_ratio}x its area and\n"
                       f"{'%.2f' % versus.power_ratio}x its power</li>\n")
        out.append("</ul>\n")
    if hardware["why"]:
        out.append("<h3>Why this result</h3>\n<ul>\n")
        out += [f"<li>{escape(line)}</li>\n" for line in hardware["why"]]
        out.append("</ul>\n<p>The components whose energy per inference differs most (positive: this chip spends "
                   "more):</p>\n" + _table_html(hardware["why_table"]) + "\n")
    out.append("<h3>Contention (time windows waited per resource class)</h3>\n" + _table_html(hardware["waits"]) + "\n")
    out.append("<h3>By component (per inference)</h3>\n" + _table_html(hardware["components"]) + "\n")
    if hardware["by_chip"]:
        out.append("<h3>By component, every chip (per inference)</h3>\n" + _table_html(hardware["by_chip"]) + "\n")
    out.append("<h3>By layer (per inference)</h3>\n" + _table_html(hardware["layers"]) + "\n")
    out.append(_figure_html(plots["hardware"], "Dynamic energy per inference by layer, stacked by component") + "\n")
    out.append("</section>\n")
    return "".join(out)
