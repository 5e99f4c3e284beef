"""`resim sweep`: every grid point of a workload run through the pipeline, in parallel, each
finished point appended to `results.csv` at once; a rerun skips the points already there
(issue #7, design.md "Results")."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from simulator.atomic import write_text
from simulator.cache import stable_key
from simulator.config.errors import ConfigError, Problem
from simulator.config.loader import load_workload
from simulator.sweep.executors import run_points
from simulator.sweep.grid import Grid, Point, build_points
from simulator.sweep.point import PointTask, RunWorkload
from simulator.sweep.report import write_report
from simulator.sweep.table import ResultsTable, columns


@dataclass
class SweepResult:
    """What a sweep did: its folder, the table in grid order, and which points ran."""

    folder: Path
    table: pd.DataFrame
    ran: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)


def default_folder(grid: Grid) -> Path:
    """results/<workload>-sweep-<hash>/: the hash covers the base workload's config and the grid
    keys, so adding values to an axis resumes the same folder and editing the workload does not."""
    workload = load_workload(grid.workload)
    key = stable_key({"config": workload.config_hash(), "keys": list(grid.axes)})[:8]
    return Path("results") / f"{workload.config.name}-sweep-{key}"


def prepare_task(point: Point, folder: Path, data_dir: Path | None, accuracy: bool, run: RunWorkload) -> PointTask:
    """Write the point's workload copy into its results folder and load it back (its hardware
    files included), so the worker runs exactly what was validated here."""
    out = (folder / "points" / point.point_id).resolve()
    copy = out / "workload.yaml"
    write_text(copy, yaml.safe_dump(point.document, sort_keys=False))
    workload = load_workload(copy)
    return PointTask(point.point_id, point.overrides, workload.config_hash(), copy, out,
                     Path(data_dir).resolve() if data_dir is not None else None, accuracy, run)


def _check_not_stale(table: ResultsTable, finished: dict[str, dict[str, str]], tasks: list[PointTask]) -> None:
    """A finished row of a point must come from the same resolved workload, else resuming would
    mix results of two different workloads in one table."""
    problems = [Problem(table.path, f"point_id {task.point_id}",
                        f"this row was computed from another workload configuration (config_hash "
                        f"{finished[task.point_id]['config_hash']}, now {task.config_hash}); use another --out "
                        "or delete the row", finished[task.point_id]["config_hash"])
                for task in tasks
                if task.point_id in finished and finished[task.point_id]["config_hash"] != task.config_hash]
    if problems:
        raise ConfigError(problems)


@contextlib.contextmanager
def _progress_bar(total: int, enabled: bool) -> Iterator[Callable[[], None]]:
    """A rich progress bar over the points (a no-op advance when disabled)."""
    if not enabled:
        yield lambda: None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(TextColumn("sweep"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()) as bar:
        task = bar.add_task("points", total=total)
        yield lambda: bar.advance(task)


def run_sweep(grid: Grid, *, run: RunWorkload, out: Path | None = None, data_dir: Path | None = None,
              accuracy: bool = True, workers: int = 1, executor: str = "local", scheduler: str | None = None,
              progress: bool = True) -> SweepResult:
    """Run every point of `grid` not yet in the sweep folder's results.csv through `run` (`resim
    run` on one workload: simulator.pipeline.run); write sweep.md, report.html and the plots (also
    when interrupted, from the points finished so far)."""
    points = build_points(grid)
    folder = Path(out) if out is not None else default_folder(grid)
    folder.mkdir(parents=True, exist_ok=True)
    keys = list(grid.axes)
    table = ResultsTable(folder / "results.csv", columns(keys))
    finished = table.finished()
    tasks = [prepare_task(p, folder, data_dir, accuracy, run) for p in points]
    _check_not_stale(table, finished, tasks)
    todo = [t for t in tasks if t.point_id not in finished]
    result = SweepResult(folder, pd.DataFrame(), skipped=[t.point_id for t in tasks if t.point_id in finished])
    title = f"Sweep of {load_workload(grid.workload).config.name}: {', '.join(keys)}"

    def report() -> pd.DataFrame:
        return write_report(folder, keys, [p.point_id for p in points], title, result.failures,
                            axes=grid.axes, workload=grid.workload)

    try:
        with _progress_bar(len(todo), progress) as advance:
            for outcome in run_points(todo, executor, workers, scheduler):
                if outcome.row is not None:
                    table.append(outcome.row)
                    result.ran.append(outcome.point_id)
                else:
                    result.failures[outcome.point_id] = outcome.error or "failed"
                advance()
    except BaseException:
        # Interrupted (Ctrl-C, an executor error): the report shows what finished, and the
        # original error goes on; a report that cannot be written must not hide it.
        with contextlib.suppress(Exception):
            report()
        raise
    result.table = report()
    return result
