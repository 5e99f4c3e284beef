"""The body of `resim explore` (simulator.cli registers it): run the search, print where its
tables and report are, and turn user errors and interruptions into one line and an exit code."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import typer

from simulator.errors import describe, user_errors
from simulator.explore.search import run_explore
from simulator.explore.space import load_space
from simulator.sweep.executors import ExecutorError


def explore_command(workload: Path, space_file: Path, *, workers: int, scheduler: str | None, out: Path | None,
                    data_dir: Path | None, quiet: bool, echo: Callable[..., None],
                    fail: Callable[[str], NoReturn]) -> None:
    from simulator.pipeline import run as run_workload

    def notify(line: str) -> None:
        # -q: no generation lines; set-aside rows are still named.
        if not (quiet and line.startswith("explore: ")):
            echo(line, err=True)

    try:
        space = load_space(space_file, workload)
        echo(f"explore: {space.describe()}")
        result = run_explore(space, run=run_workload, out=out, data_dir=data_dir, workers=workers,
                             executor="dask" if scheduler else "local", scheduler=scheduler,
                             notify=notify)
    except user_errors() + (ExecutorError,) as exc:
        fail(describe(exc))
    except KeyboardInterrupt as exc:
        signum = getattr(exc, "signum", signal.SIGINT)
        echo(f"interrupted ({signal.Signals(signum).name}): finished designs are in the explore folder's designs.csv "
             "and accuracy.csv and its report; rerun the same command to go on", err=True)
        raise typer.Exit(128 + signum) from None
    echo(f"{result.mode}: {len(result.ran)} designs and {len(result.studied)} fault studies ran, "
         f"{len(result.hardware_rows)} designs and {len(result.fault_rows)} fault studies in the tables, "
         f"{len(result.failures)} failed, {result.seconds:.1f} s")
    for name, message in result.failures.items():
        echo(f"{name} failed: {' '.join(message.split())[:300]}", err=True)
    echo(f"tables: {result.folder / 'designs.csv'}, {result.folder / 'accuracy.csv'}")
    echo(f"report: {result.folder / 'explore.md'} (also {result.folder / 'report.html'})")
