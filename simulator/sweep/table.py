"""The sweep's results table, `results.csv`: one row per finished point, appended the moment the
point finishes (issue #7: an interrupted sweep loses only the points in flight).

Each row goes out in one write, then flush and fsync, so a crash leaves at most a last line
without its newline; reading sets such a line aside (its point simply runs again), and so any row
that is not a finished point's (garbage, a second row of a point).
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from simulator.atomic import write_text
from simulator.config.errors import ConfigError, Problem
from simulator.report.model import RunReport


class SweepRow(BaseModel):
    """The figures of one finished point, after the grid's own columns (results.csv), from the
    point's `RunReport`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    point_id: str = Field(description="The point's id (hash of its overrides)")
    config_hash: str = Field(description="Hash of the point's resolved workload")
    energy_per_inference_uj: float = Field(description="Energy per inference on the workload's chip (uJ)")
    latency_us: float = Field(description="Latency of one inference (us)")
    inferences_per_second: float = Field(description="Inferences per second")
    tops_per_watt: float = Field(description="Dense-equivalent TOPS/W")
    static_energy_uj: float = Field(description="Leakage share of the energy per inference (uJ)")
    area_mm2: float = Field(description="Area of the workload's chip (mm^2)")
    power_mw: float = Field(description="Average power of the workload's chip (mW)")
    adc_bits: int = Field(description="ADC resolution at this crossbar size")
    tiles_placed: int = Field(description="Tiles the mapping places")
    tiles_dense: int = Field(description="Tiles of the dense grid")
    arrays_placed: int = Field(description="Physical arrays of the placed tiles")
    density: float = Field(description="Weight density of the mapped network")
    test_accuracy: float | None = Field(description="Test accuracy; empty when not measured")
    fault_accuracy: float | None = Field(
        None, description="Mean test accuracy of the workload's faults: study (stuck-at faults and, where its keys "
                          "ask, the device model: variation, read noise, drift, IR drop) at its first point (first "
                          "encoding, first rate); empty without a faults: section or with --no-accuracy")
    fault_ci95_low: float | None = Field(None, description="Lower end of that mean's 95 % interval (Student's t)")
    fault_ci95_high: float | None = Field(None, description="Upper end of that mean's 95 % interval (Student's t)")
    energy_efficiency_vs_dense: float | None = Field(description="Over the dense mapping on the same chip (x)")
    speedup_vs_dense: float | None = Field(description="Over the dense mapping on the same chip (x)")
    energy_efficiency_vs_baseline: float | None = Field(description="Over the dense baseline chip (x)")
    speedup_vs_baseline: float | None = Field(description="Over the dense baseline chip (x)")
    area_vs_baseline: float | None = Field(description="The workload's chip area / the dense baseline chip's (x)")
    power_vs_baseline: float | None = Field(description="The workload's chip average power / the dense baseline "
                                                        "chip's (x)")
    results: str = Field(description="The point's results folder")
    seconds: float = Field(description="Wall time of the point (s)")

    @classmethod
    def of(cls, point_id: str, config_hash: str, report: RunReport, results: Path, seconds: float) -> SweepRow:
        summary, totals = report.hardware.summary, report.totals
        dense, baseline = report.hardware.dense, report.hardware.baseline
        fault = report.faults[0] if report.faults else None
        return cls(point_id=point_id, config_hash=config_hash,
                   energy_per_inference_uj=summary.energy_per_inference_pj / 1e6,
                   latency_us=summary.latency_ns / 1e3, inferences_per_second=summary.inferences_per_second,
                   tops_per_watt=summary.tops_per_watt_dense_equivalent,
                   static_energy_uj=summary.static_energy_pj / 1e6, area_mm2=summary.area_mm2,
                   power_mw=summary.power_mw, adc_bits=summary.adc_bits,
                   tiles_placed=totals.tiles_placed, tiles_dense=totals.tiles_dense,
                   arrays_placed=totals.arrays_placed, density=totals.density,
                   test_accuracy=report.accuracy.test_accuracy if report.accuracy else None,
                   fault_accuracy=fault.mean if fault else None, fault_ci95_low=fault.ci95_low if fault else None,
                   fault_ci95_high=fault.ci95_high if fault else None,
                   energy_efficiency_vs_dense=dense.versus.energy_efficiency if dense else None,
                   speedup_vs_dense=dense.versus.speedup if dense else None,
                   energy_efficiency_vs_baseline=baseline.versus.energy_efficiency if baseline else None,
                   speedup_vs_baseline=baseline.versus.speedup if baseline else None,
                   area_vs_baseline=baseline.versus.area_ratio if baseline else None,
                   power_vs_baseline=baseline.versus.power_ratio if baseline else None,
                   results=str(results), seconds=round(seconds, 3))


# The figures of every row after the grid's own columns, in this order.
FIGURES: tuple[str, ...] = tuple(SweepRow.model_fields)


def figure_columns(*names: str) -> tuple[str, ...]:
    """`names`, each checked to be a column of `SweepRow` (readers of results.csv name their
    columns through this, so a renamed figure fails on import, not in a plot)."""
    unknown = [name for name in names if name not in SweepRow.model_fields]
    if unknown:
        raise KeyError(f"not a results.csv figure: {', '.join(unknown)}; figures: {', '.join(FIGURES)}")
    return names


def columns(grid_keys: list[str]) -> list[str]:
    """The table's header: the grid keys (dotted, as given), then FIGURES."""
    return [*grid_keys, *FIGURES]


def row_of(overrides: dict[str, Any], point_id: str, config_hash: str, report: RunReport,
           results: Path, seconds: float) -> dict[str, Any]:
    """One table row from a point's report (`resim run`'s `RunReport`)."""
    return {**overrides, **SweepRow.of(point_id, config_hash, report, results, seconds).model_dump()}


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
    """`results.csv` of one sweep folder: read what is finished, append rows durably. The sweep
    holds the folder's lock (simulator.sweep.runner) while it reads and appends."""

    def __init__(self, path: Path, header: list[str]):
        self.path = Path(path)
        self.header = header
        self.set_aside: list[str] = []     # one line per row set aside by the last `finished()`

    @property
    def rejected_path(self) -> Path:
        """Where rows that are not results go (results.rejected.csv beside the table)."""
        return self.path.with_name(self.path.stem + ".rejected.csv")

    def finished(self) -> dict[str, dict[str, str]]:
        """point_id -> row (as text) of every complete, valid row; creates the file (header only)
        when absent and refuses a table of another grid. A torn last line (a crash mid-write), a
        garbage row and a second row of a point are set aside: moved to results.rejected.csv and
        named in `set_aside`, so the sweep says so and their points run again."""
        self.set_aside = []
        if not self.path.is_file():
            write_text(self.path, _line(self.header, {h: h for h in self.header}))
            return {}
        raw = self.path.read_bytes().decode("utf-8", errors="replace")
        lines = raw.splitlines(keepends=True)
        if not lines or _fields(lines[0]) != self.header:
            raise ConfigError([Problem(self.path, "header", "this results table has other columns (a sweep with other "
                                       "grid keys, or one written by a resim with other figures); allowed: the "
                                       f"columns {', '.join(self.header)}; use another --out",
                                       _fields(lines[0]) if lines else "")])
        kept, rejected = [lines[0]], []
        found: dict[str, dict[str, str]] = {}
        for number, line in enumerate(lines[1:], start=2):
            why = self._invalid(line, found)
            if why is None:
                row = dict(zip(self.header, _fields(line) or []))
                found[row["point_id"]] = row
                kept.append(line)
            else:
                rejected.append(line if line.endswith("\n") else line + "\n")
                self.set_aside.append(f"{self.path} line {number}: {why}; set aside in {self.rejected_path.name}, "
                                      "its point runs again")
        if rejected:
            previous = self.rejected_path.read_text(encoding="utf-8") if self.rejected_path.is_file() else ""
            write_text(self.rejected_path, previous + "".join(rejected))
            write_text(self.path, "".join(kept))
        return found

    def _invalid(self, line: str, found: dict[str, dict[str, str]]) -> str | None:
        """Why `line` is not a finished point's row, or None when it is one."""
        if not line.endswith("\n"):
            return "a row cut short (the sweep stopped while writing it)"
        fields = _fields(line)
        if fields is None:
            return "not a row of this table (not CSV)"
        if len(fields) != len(self.header):
            return f"not a row of this table ({len(fields)} fields where the header has {len(self.header)})"
        row = dict(zip(self.header, fields))
        if not _POINT_ID.match(row["point_id"]) or not _HASH.match(row["config_hash"]):
            return f"not a row of this table (point_id {row['point_id'][:20]!r})"
        if row["point_id"] in found:
            return f"a second row of point {row['point_id']}"
        try:
            SweepRow.model_validate({name: (row[name] if row[name] != "" else None) for name in FIGURES})
        except ValidationError as exc:
            error = exc.errors()[0]
            name = error["loc"][0] if error["loc"] else "a figure"
            return f"{name} is {str(error.get('input'))[:20]!r}, not a number"
        return None

    def append(self, row: dict[str, Any]) -> None:
        """Append one row in a single write and make it durable before returning."""
        line = _line(self.header, row)
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())


_POINT_ID = re.compile(r"^[0-9a-f]{12}$")
_HASH = re.compile(r"^[0-9a-f]{10}$")


def _fields(line: str) -> list[str] | None:
    """The CSV fields of one line, or None when it does not parse (a NUL byte, a stray quote)."""
    try:
        return next(csv.reader([line.rstrip("\r\n")]), [])
    except csv.Error:
        return None
