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

TEMPLATE = "report.html.j2"

# The plot each section shows, as `resim run` names it in the results folder.
SECTION_PLOTS = {
    "hardware": "energy_by_layer.png",
    "utilization": "utilization_histogram.png",
    "faults": "accuracy_vs_fault_rate.png",
    "sensitivity": "sensitivity.png",
}


@dataclass(frozen=True)
class Table:
    """A table as the template prints it: header, formatted cells, which columns are numeric, and
    whether the last row is a sum row."""

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
    """`frame` formatted for the template. A column whose filled cells are all numbers (or
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
    # report.md bolds its sum row with Markdown; here the template styles it.
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
    source): compiling report.html.j2 was a quarter of writing a cached run's reports (issue #25).
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
    return _environment().get_template(TEMPLATE).render(
        report=report, summary=_summary(report), caveats=caveats(report), layers=_layers(report),
        activity=activity_text(report),
        hardware=_hardware(report), sensitivity=_sensitivity(report), utilization=_utilization(report),
        faults=_optional_table(fault_rows(report)), crossbar_pruning=_optional_table(pruning_rows(report)),
        pruning=pruning, training=training, plots=plots, other_plots=others)
