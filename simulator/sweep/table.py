"""The sweep's results table, `results.csv`: one row per finished point, appended the moment the
point finishes (issue #7: an interrupted sweep loses only the points in flight).

Each row goes out in one write, then flush and fsync, so a crash leaves at most a last line
without its newline; reading drops such a line (its point simply runs again).
"""

from __future__ import annotations

import csv
import io
import math
import os
from pathlib import Path
from typing import Any

from simulator.config.errors import ConfigError, Problem
from simulator.report.atomic import write_text

# The figures of every row after the grid's own columns, in this order.
FIGURES = (
    "point_id", "config_hash", "energy_per_inference_uj", "latency_us", "inferences_per_second",
    "tops_per_watt", "tiles_placed", "tiles_dense", "arrays_placed", "density", "test_accuracy",
    "energy_efficiency_vs_dense", "speedup_vs_dense", "energy_efficiency_vs_baseline", "speedup_vs_baseline",
    "results", "seconds",
)


def columns(grid_keys: list[str]) -> list[str]:
    """The table's header: the grid keys (dotted, as given), then FIGURES."""
    return [*grid_keys, *FIGURES]


def row_of(overrides: dict[str, Any], point_id: str, config_hash: str, report: dict[str, Any],
           results: Path, seconds: float) -> dict[str, Any]:
    """One table row from a point's report (simulator.pipeline.run's second return value)."""
    hardware = report["hardware"]
    summary = hardware["summary"]
    totals = report["totals"]
    accuracy = report.get("accuracy") or {}
    row = {**overrides,
           "point_id": point_id, "config_hash": config_hash,
           "energy_per_inference_uj": summary["energy_per_inference_pj"] / 1e6,
           "latency_us": summary["latency_ns"] / 1e3,
           "inferences_per_second": summary["inferences_per_second"],
           "tops_per_watt": summary["tops_per_watt_dense_equivalent"],
           "tiles_placed": totals["tiles_placed"], "tiles_dense": totals["tiles_dense"],
           "arrays_placed": totals["arrays_placed"], "density": totals["density"],
           "test_accuracy": accuracy.get("test_accuracy"),
           "results": str(results), "seconds": round(seconds, 3)}
    for label in ("dense", "baseline"):
        versus = hardware.get(label, {}).get("versus", {})
        row[f"energy_efficiency_vs_{label}"] = versus.get("energy_efficiency")
        row[f"speedup_vs_{label}"] = versus.get("speedup")
    return row


def _cell(value: Any) -> str:
    """A CSV cell: empty for none; floats with repr so reading gives the same number back."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (dict, list)):
        import json

        return json.dumps(value, sort_keys=True)
    return str(value)


def _line(header: list[str], row: dict[str, Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([_cell(row.get(name)) for name in header])
    return buffer.getvalue()


class ResultsTable:
    """`results.csv` of one sweep folder: read what is finished, append rows durably."""

    def __init__(self, path: Path, header: list[str]):
        self.path = Path(path)
        self.header = header

    def finished(self) -> dict[str, dict[str, str]]:
        """point_id -> row (as text) of every complete row; creates the file (header only) when
        absent, drops a torn last line, and refuses a table of another grid."""
        if not self.path.is_file():
            write_text(self.path, _line(self.header, {h: h for h in self.header}))
            return {}
        text = self.path.read_text(encoding="utf-8")
        if text and not text.endswith("\n"):
            # A write cut short by a crash: the torn row's point runs again.
            text = text[: text.rfind("\n") + 1]
            write_text(self.path, text)
        reader = csv.reader(io.StringIO(text))
        found = next(reader, None)
        if found != self.header:
            raise ConfigError([Problem(self.path, "header", "this results table belongs to a sweep with other grid "
                                       f"keys; allowed: the columns {', '.join(self.header)}; use another --out",
                                       found)])
        return {row[found.index("point_id")]: dict(zip(found, row)) for row in reader if len(row) == len(found)}

    def append(self, row: dict[str, Any]) -> None:
        """Append one row in a single write and make it durable before returning."""
        line = _line(self.header, row)
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())
