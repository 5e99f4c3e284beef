"""Running one grid point where an executor puts it (this process, a local worker process or a
Dask worker): the point's workload copy through the task's `run` (`resim run`'s orchestrator, which
the command line hands in) into its own folder.

The outcome travels back as plain data: exceptions such as ConfigError do not survive pickling
with their message intact, so a failure comes back as its text.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulator.report.model import RunReport

# `resim run` on one workload file: (workload, *, data_dir, out, progress, accuracy) -> (folder,
# report). A module-level function (simulator.pipeline.run), so that it pickles to workers by name.
RunWorkload = Callable[..., tuple[Path, RunReport]]


@dataclass(frozen=True)
class PointTask:
    """What a worker needs to run one point (all picklable, paths absolute)."""

    point_id: str
    overrides: dict[str, Any]
    config_hash: str
    workload: Path              # the point's workload copy
    out: Path                   # the point's results folder
    data_dir: Path | None
    accuracy: bool
    run: RunWorkload


@dataclass(frozen=True)
class PointOutcome:
    """A finished point's table row, or why it failed."""

    point_id: str
    row: dict[str, Any] | None
    error: str | None = None


def single_threaded() -> None:
    """Worker initializer: one torch thread per worker, since the workers already fill the cores
    (two torch pools per core wait on each other; bench/RESULTS.md, VGG8 under faults)."""
    import os

    os.environ["OMP_NUM_THREADS"] = "1"
    os.environ["MKL_NUM_THREADS"] = "1"


def run_point(task: PointTask) -> PointOutcome:
    """Run one point; never raises for the point's own failures (they come back as text)."""
    from simulator.errors import user_errors
    from simulator.sweep.table import row_of

    started = time.perf_counter()
    try:
        out_dir, report = task.run(task.workload, data_dir=task.data_dir, out=task.out, progress=False,
                                   accuracy=task.accuracy)
    except Exception as exc:  # noqa: BLE001 - reported per point; the sweep goes on with the others
        detail = str(exc) if isinstance(exc, user_errors()) else traceback.format_exc()
        return PointOutcome(task.point_id, None, f"{type(exc).__name__}: {detail}")
    row = row_of(task.overrides, task.point_id, task.config_hash, report, Path(out_dir),
                 time.perf_counter() - started)
    return PointOutcome(task.point_id, row)
