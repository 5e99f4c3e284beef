"""Progress bars for every stage, drawn on stderr: stdout carries a command's data (its --json
output, its tables), so a progress bar or a progress line never lands in a pipe (issue #16).

On a terminal a stage shows a rich bar. When stderr is not a terminal (a log file, a pipe, a batch
job) a bar would be drawn once at the end or not at all, so a long stage would go silent for
minutes; there each task writes a plain line instead, `accuracy: 3000/10000 images (30 %), 12 s`,
at most every PLAIN_EVERY_S seconds and once when it ends (issue #25). `disable=True` (-q)
silences both. Imports rich only when a bar is made."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from rich.progress import Progress

# Seconds between two plain progress lines of one task (issue #25: never silent for longer).
PLAIN_EVERY_S = 10.0


def progress_bar(*columns: Any, plain: bool | None = None, every: float | None = None,
                 clock: Callable[[], float] | None = None, stream: TextIO | None = None, watch: bool = True,
                 **options: Any) -> Progress:
    """A rich Progress (its `columns` and `options`, e.g. disable=, transient=) on stderr; when
    stderr is not a terminal (or `plain`), plain lines every `every` seconds (PLAIN_EVERY_S) of
    `clock` (time.monotonic) on `stream` (stderr) instead of the bar, from a thread too when
    `watch`. A task's `unit` field names what it counts (images, batches)."""
    from rich.console import Console

    console = Console(stderr=True)
    silenced = bool(options.pop("disable", False))
    plain = not silenced and (not console.is_terminal if plain is None else plain)
    bar = _progress_class()(*columns, console=console, disable=silenced or plain, **options)
    if plain:
        bar.plain_lines(PLAIN_EVERY_S if every is None else every, clock or time.monotonic, stream, watch)
    return bar


_CLASS: type | None = None


def _progress_class() -> type:
    """rich's Progress, writing plain lines when asked (made on first use: rich is imported late)."""
    global _CLASS
    if _CLASS is not None:
        return _CLASS
    from rich.progress import Progress, TaskID
    from rich.text import Text

    class LinesProgress(Progress):
        """A Progress that, once `plain_lines` is called, writes each task's progress as a plain line."""

        _every: float | None = None

        def plain_lines(self, every: float, clock: Callable[[], float], stream: TextIO | None,
                        watch: bool) -> None:
            self._every, self._clock, self._stream, self._watching = every, clock, stream, watch
            self._started_at: dict[TaskID, float] = {}
            self._said_at: dict[TaskID, float] = {}
            self._ended: set[TaskID] = set()
            self._saying = threading.Lock()
            self._stopping = threading.Event()
            self._watch: threading.Thread | None = None

        def start(self) -> None:
            super().start()
            if self._every is not None and self._watching and self._watch is None:
                # A stage whose steps each outlast `every` (a batch of a large network on a slow
                # CPU) still says how far it is, from this thread, every `every` seconds.
                self._watch = threading.Thread(target=self._heartbeat, name="progress lines", daemon=True)
                self._watch.start()

        def _heartbeat(self) -> None:
            assert self._every is not None
            while not self._stopping.wait(min(max(self._every / 4, 0.05), 2.5)):
                for task_id in list(self._started_at):
                    if task_id not in self._ended:
                        self._tick(task_id)

        def add_task(self, description: str, *args: Any, **kwargs: Any) -> TaskID:
            task = super().add_task(description, *args, **kwargs)
            if self._every is not None:
                self._started_at[task] = self._said_at[task] = self._clock()
            return task

        def update(self, task_id: TaskID, *args: Any, **kwargs: Any) -> None:
            super().update(task_id, *args, **kwargs)
            self._tick(task_id)

        def advance(self, task_id: TaskID, advance: float = 1) -> None:
            super().advance(task_id, advance)
            self._tick(task_id)

        def stop(self) -> None:
            if self._every is not None:
                self._stopping.set()
                if self._watch is not None:
                    self._watch.join()
                for task_id in list(self._started_at):
                    if task_id not in self._ended:
                        self._ended.add(task_id)
                        self._say(task_id, self._clock())
            super().stop()

        def _tick(self, task_id: TaskID) -> None:
            if self._every is None or task_id not in self._started_at:
                return
            with self._saying:
                now = self._clock()
                task = self._tasks[task_id]
                if task.total is not None and task.completed >= task.total and task_id not in self._ended:
                    self._ended.add(task_id)     # its last line, once (a task that is reset ends again)
                elif now - self._said_at[task_id] < self._every:
                    return
                self._say(task_id, now)

        def _say(self, task_id: TaskID, now: float) -> None:
            self._said_at[task_id] = now
            task = self._tasks[task_id]
            unit = task.fields.get("unit", "")
            try:
                name = Text.from_markup(task.description).plain
            except Exception:  # noqa: BLE001 - a description that is not rich markup is shown as it is
                name = task.description
            done = f"{task.completed:g}"
            if task.total:
                done += f"/{task.total:g}{' ' + unit if unit else ''} ({100 * task.completed / task.total:.0f} %)"
            elif unit:
                done += f" {unit}"
            print(f"{name}: {done}, {now - self._started_at[task_id]:.0f} s", file=self._stream or sys.stderr,
                  flush=True)

    _CLASS = LinesProgress
    return _CLASS
