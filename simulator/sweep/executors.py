"""Where a sweep's points run: this process, local worker processes, or a Dask distributed
cluster (issue #7). Each executor yields PointOutcomes in the order the points finish, so the
caller can append each one to the table at once.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from simulator import interrupts
from simulator.sweep.point import PointOutcome, PointTask, run_point, start_worker

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor

EXECUTORS = ("local", "dask")

# What runs one task where the executor puts it: `run_point` (a sweep's point through `resim run`)
# unless a caller hands another module-level function (resim explore's fault study of a design).
Work = Callable[[PointTask], PointOutcome]


class ExecutorError(Exception):
    """The executor cannot start (Dask missing, scheduler unreachable)."""


def run_serial(tasks: list[PointTask], work: Work = run_point) -> Iterator[PointOutcome]:
    """One point after the other in this process (workers = 1): no start-up cost, and the torch
    threads are left as the user set them."""
    for task in tasks:
        yield work(task)


def run_local(tasks: list[PointTask], workers: int, work: Work = run_point) -> Iterator[PointOutcome]:
    """The points over `workers` local processes. Spawned, not forked: the parent runs a rich
    progress thread, and forking a threaded process can deadlock the child."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    if workers <= 1 or len(tasks) <= 1:
        yield from run_serial(tasks, work)
        return
    pool = ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=multiprocessing.get_context("spawn"),
                               initializer=start_worker, initargs=(os.getpid(),))
    try:
        # The workers start here (one per submit): they inherit Ctrl-C blocked until their
        # initializer ignores it, so one that reaches them mid-import prints nothing.
        with interrupts.held():
            submitted = {pool.submit(work, task): task for task in tasks}
        interrupts.point("sweep-start")
        pending = set(submitted)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                yield _outcome(future, submitted[future])
    except BaseException:
        # Interrupted (Ctrl-C, or the consumer stopped): points in flight are lost, as issue #7
        # allows, rather than waited for; the table already holds every finished one.
        _stop_workers(pool)
        raise
    else:
        pool.shutdown(wait=True)


def _outcome(future: Future[PointOutcome], task: PointTask) -> PointOutcome:
    """The future's outcome; a worker killed under it (out of memory, a signal) fails the point
    instead of the sweep, so the finished rows stay and a rerun retries it."""
    from concurrent.futures.process import BrokenProcessPool

    try:
        return future.result()
    except BrokenProcessPool as exc:
        return PointOutcome(task.point_id, None, f"BrokenProcessPool: a worker process died ({exc})")


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Cancel what has not started and end the worker processes now, waiting (briefly) until they
    are gone, so none outlives the sweep."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    terminate = getattr(pool, "terminate_workers", None)  # Python 3.14+
    if terminate is not None:
        terminate()
    else:
        for process in processes:
            process.terminate()
    for process in processes:
        process.join(timeout=5)
        if process.is_alive():
            process.kill()
            process.join(timeout=5)


def run_dask(tasks: list[PointTask], scheduler: str, work: Work = run_point) -> Iterator[PointOutcome]:
    """The points on the Dask distributed cluster at `scheduler` (e.g. tcp://host:8786). The
    workers must see the sweep folder, the data and the cache at the same paths (a shared file
    system), since the points' workload copies and results live there."""
    try:
        from dask.distributed import Client, as_completed
    except ImportError:
        raise ExecutorError("--executor dask needs Dask distributed: pip install 'resim[dask]'") from None
    try:
        client = Client(scheduler, timeout="20s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise ExecutorError(f"--scheduler {scheduler}: cannot reach the Dask scheduler ({exc})") from None
    try:
        # pure=False: a point is a side effect (its results folder), never deduplicated by Dask.
        futures = [client.submit(work, task, pure=False) for task in tasks]
        for future in as_completed(futures):
            yield future.result()
    finally:
        client.close()


def run_points(tasks: list[PointTask], executor: str, workers: int, scheduler: str | None,
               work: Work = run_point) -> Iterator[PointOutcome]:
    """Dispatch to the chosen executor; `work` runs each task (default: a sweep point)."""
    if executor == "local":
        return run_local(tasks, workers, work)
    if executor == "dask":
        if not scheduler:
            raise ExecutorError("--executor dask needs --scheduler ADDRESS (e.g. tcp://127.0.0.1:8786)")
        return run_dask(tasks, scheduler, work)
    raise ExecutorError(f"--executor: unknown {executor!r}; allowed: {', '.join(EXECUTORS)}")
