"""Running one grid point where an executor puts it (this process, a local worker process or a
Dask worker): the point's workload copy through the task's `run` (`resim run`'s orchestrator, which
the command line hands in) into its own folder.

The outcome travels back as plain data: exceptions such as ConfigError do not survive pickling
with their message intact, so a failure comes back as its text.
"""

from __future__ import annotations

import contextlib
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
    """One torch thread per worker, since the workers already fill the cores (two torch pools
    per core wait on each other; bench/RESULTS.md, VGG8 under faults)."""
    import os

    os.environ["OMP_NUM_THREADS"] = "1"
    os.environ["MKL_NUM_THREADS"] = "1"


def start_worker(parent: int) -> None:
    """Initializer of a local worker process: single-threaded, deaf to Ctrl-C (the sweep process
    stops its workers itself, after writing what finished) and never outliving the sweep process
    `parent`, even when that is killed outright (SIGKILL runs no handler)."""
    from simulator import interrupts

    single_threaded()
    interrupts.deaf()     # blocked since the worker started (interrupts.held): now ignored for good
    die_with(parent)


def die_with(parent: int) -> None:
    """End this process when process `parent` ends: Linux's parent-death signal, and everywhere a
    daemon thread that watches the parent's id (it changes when the parent is gone)."""
    import os
    import sys
    import threading

    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))   # PR_SET_PDEATHSIG = 1
    if os.getppid() != parent:   # the parent died before the signal was armed
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="resim-parent-watch", daemon=True).start()


def run_point(task: PointTask) -> PointOutcome:
    """Run one point; never raises for the point's own failures (they come back as text)."""
    from simulator.errors import describe, user_errors
    from simulator.sweep.table import row_of

    started = time.perf_counter()
    try:
        out_dir, report = task.run(task.workload, data_dir=task.data_dir, out=task.out, progress=False,
                                   accuracy=task.accuracy)
    except Exception as exc:  # noqa: BLE001 - reported per point; the sweep goes on with the others
        detail = describe(exc) if isinstance(exc, user_errors()) else traceback.format_exc()
        return PointOutcome(task.point_id, None, f"{type(exc).__name__}: {detail}")
    row = row_of(task.overrides, task.point_id, task.config_hash, report, Path(out_dir),
                 time.perf_counter() - started)
    return PointOutcome(task.point_id, row)
