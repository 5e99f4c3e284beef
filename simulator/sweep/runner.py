"""`resim sweep`: every grid point of a workload run through the pipeline, in parallel, each
finished point appended to `results.csv` at once; a rerun skips the points already there
(issue #7, design.md "Results")."""

from __future__ import annotations

import contextlib
import signal
import threading
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
from simulator.sweep.grid import MAX_POINTS, Grid, Point, build_points
from simulator.sweep.point import PointTask, RunWorkload
from simulator.sweep.report import write_report
from simulator.sweep.table import ResultsTable, columns

# The sweep folder's lock file (filelock), held while a sweep runs into the folder.
LOCK_NAME = ".sweep.lock"


@dataclass
class SweepResult:
    """What a sweep did: its folder, the table in grid order, and which points ran."""

    folder: Path
    table: pd.DataFrame
    ran: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)
    set_aside: list[str] = field(default_factory=list)   # rows of results.csv set aside, one line each


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
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn

    from simulator.progress import progress_bar

    with progress_bar(TextColumn("sweep"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()) as bar:
        task = bar.add_task("sweep", total=total, unit="points")
        yield lambda: bar.advance(task)


class Terminated(KeyboardInterrupt):
    """SIGTERM (`kill PID`, a batch system's stop) while a sweep runs: handled as Ctrl-C is, the
    workers stopped and the report written from the points finished; `signum` says which."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"signal {signum}")
        self.signum = signum


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM raises `Terminated` in the main thread for the duration (elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        raise Terminated(signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _locked(folder: Path, command: str = "resim sweep") -> Iterator[None]:
    """Hold the sweep folder's lock: a second sweep into the same folder stops at once instead of
    running every point a second time (`command` names what holds it: resim explore's folders too)."""
    from filelock import FileLock, Timeout

    lock = FileLock(folder / LOCK_NAME)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise ConfigError([Problem(folder, "", f"another {command} is running into this folder (it holds "
                                   f"{folder / LOCK_NAME}); wait for it to finish or give another --out")]) from None
    try:
        yield
    finally:
        lock.release()


def check_data(points: list[Point], data_dir: Path | None) -> None:
    """Every data set the points use is there (or downloads), checked once before any point runs
    and before the sweep folder is made: a missing one is one error, not one per point."""
    from simulator.data.load import locate_data

    wanted: dict[tuple[str, str | None], Path | str | None] = {}
    for point in points:
        data = point.document["data"]      # validated: every point has data.dataset
        folder = data_dir if data_dir is not None else data.get("dir")
        wanted[(str(data["dataset"]), str(folder) if folder is not None else None)] = folder
    for (dataset, _), folder in wanted.items():
        locate_data(dataset, folder)


def run_sweep(grid: Grid, *, run: RunWorkload, out: Path | None = None, data_dir: Path | None = None,
              accuracy: bool = True, workers: int = 1, executor: str = "local", scheduler: str | None = None,
              progress: bool = True, notify: Callable[[str], None] = lambda line: None,
              max_points: int = MAX_POINTS) -> SweepResult:
    """Run every point of `grid` not yet in the sweep folder's results.csv through `run` (`resim
    run` on one workload: simulator.pipeline.run); write sweep.md, report.html and the plots (also
    when interrupted, by Ctrl-C or SIGTERM, from the points finished so far). The folder is locked
    for the sweep's duration; rows of results.csv that are not finished points are set aside and
    each named through `notify`. A grid of more than `max_points` points is refused before any
    work."""
    grid.check_size(max_points)
    points = build_points(grid)
    check_data(points, data_dir)
    folder = Path(out) if out is not None else default_folder(grid)
    folder.mkdir(parents=True, exist_ok=True)
    with _locked(folder), _terminate_as_interrupt():
        return _run_locked(grid, points, folder, run=run, data_dir=data_dir, accuracy=accuracy, workers=workers,
                           executor=executor, scheduler=scheduler, progress=progress, notify=notify)


def _run_locked(grid: Grid, points: list[Point], folder: Path, *, run: RunWorkload, data_dir: Path | None,
                accuracy: bool, workers: int, executor: str, scheduler: str | None, progress: bool,
                notify: Callable[[str], None]) -> SweepResult:
    keys = list(grid.axes)
    table = ResultsTable(folder / "results.csv", columns(keys))
    finished = table.finished()
    for line in table.set_aside:
        notify(line)
    tasks = [prepare_task(p, folder, data_dir, accuracy, run) for p in points]
    _check_not_stale(table, finished, tasks)
    todo = [t for t in tasks if t.point_id not in finished]
    result = SweepResult(folder, pd.DataFrame(), skipped=[t.point_id for t in tasks if t.point_id in finished],
                         set_aside=list(table.set_aside))
    title = f"Sweep of {load_workload(grid.workload).config.name}: {', '.join(keys)}"

    def report() -> pd.DataFrame:
        return write_report(folder, keys, [p.point_id for p in points], title, result.failures,
                            axes=grid.axes, workload=grid.workload)

    try:
        with _progress_bar(len(todo), progress) as advance:
            for outcome in run_points(todo, executor, workers, scheduler):
                if outcome.row is not None:
                    if outcome.point_id not in finished:   # one row per point, whatever an executor yields
                        table.append(outcome.row)
                        finished[outcome.point_id] = outcome.row
                        result.ran.append(outcome.point_id)
                else:
                    result.failures[outcome.point_id] = outcome.error or "failed"
                advance()
    except BaseException:
        # Interrupted (Ctrl-C, SIGTERM, an executor error): the report shows what finished, and
        # the original error goes on; a report that cannot be written must not hide it.
        with contextlib.suppress(Exception):
            report()
        raise
    result.table = report()
    return result
