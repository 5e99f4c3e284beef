"""Progress that never goes silent (issue #25 item 4): when stderr is not a terminal, each task
writes a plain line at most every PLAIN_EVERY_S seconds and once at its end; -q silences it."""

from __future__ import annotations

import io
import threading
import time

import pytest

from simulator.progress import progress_bar


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_plain_lines_every_interval_and_at_the_end() -> None:
    clock, out = FakeClock(), io.StringIO()
    with progress_bar(plain=True, every=10, clock=clock, stream=out, watch=False) as bar:
        task = bar.add_task("accuracy", total=10000, unit="images")
        for _ in range(10):
            clock.now += 4       # a batch of 1000 images every 4 s: a line every third batch
            bar.advance(task, 1000)
    assert out.getvalue().splitlines() == [
        "accuracy: 3000/10000 images (30 %), 12 s",
        "accuracy: 6000/10000 images (60 %), 24 s",
        "accuracy: 9000/10000 images (90 %), 36 s",
        "accuracy: 10000/10000 images (100 %), 40 s",
    ]


def test_a_task_left_unfinished_says_where_it_stopped() -> None:
    clock, out = FakeClock(), io.StringIO()
    with progress_bar(plain=True, every=10, clock=clock, stream=out, watch=False) as bar:
        task = bar.add_task("[bold]train", total=98)
        clock.now = 3
        bar.update(task, completed=50)
    assert out.getvalue().splitlines() == ["train: 50/98 (51 %), 3 s"]


def test_a_slow_step_is_reported_from_the_watch_thread() -> None:
    out = io.StringIO()
    with progress_bar(plain=True, every=0.02, stream=out) as bar:
        bar.add_task("accuracy", total=5, unit="images")
        deadline = time.monotonic() + 5
        while "accuracy: 0/5 images" not in out.getvalue() and time.monotonic() < deadline:
            time.sleep(0.01)     # one step that outlasts the interval; the line comes without an advance
    assert "accuracy: 0/5 images (0 %)" in out.getvalue()
    assert not any(t.name == "progress lines" for t in threading.enumerate())


def test_not_a_terminal_means_plain_lines_and_quiet_means_none(monkeypatch: pytest.MonkeyPatch) -> None:
    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("FORCE_TERMINAL", raising=False)
    monkeypatch.delenv("TTY_COMPATIBLE", raising=False)
    with progress_bar(disable=True) as bar:
        bar.advance(bar.add_task("quiet", total=2), 2)
    with progress_bar() as bar:
        bar.advance(bar.add_task("faults", total=2, unit="draws"), 2)
    assert err.getvalue().splitlines() == ["faults: 2/2 draws (100 %), 0 s"]
