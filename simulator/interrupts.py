"""Ctrl-C at any moment (issue #25 item 6): exit 130 with one line, never a traceback or a crash.

An interruption normally raises KeyboardInterrupt, so that what is running can stop cleanly (a
sweep writes the report of its finished points, an atomic write removes its temporary file).
Inside an import it does not: torch interrupted half-way through its initialisation leaves
registrations behind that crash the interpreter later (a torch registration error, then a
segfault), so an interruption that lands while a module is being imported ends the process at
once, with the same one line. Nothing is being written then: imports never hold results.

Worker processes a sweep spawns start with SIGINT blocked (`held`), so a Ctrl-C that reaches the
whole process group while they are still importing cannot print their tracebacks; their
initializer then ignores it (the sweep process stops them itself).

Kept free of any import beyond the standard library: it is installed before anything heavy.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from types import FrameType

# Test hook: make this process interrupt itself at a named point, so that tests of Ctrl-C do not
# depend on timing. "import:<module>": when <module> is about to be imported (e.g. import:torch._C,
# half-way through torch's import); "sweep-start": once a sweep's worker processes are started.
HOOK = "RESIM_INTERRUPT_AT"

_IMPORT_FILES = ("<frozen importlib._bootstrap>", "<frozen importlib._bootstrap_external>")


def message(signum: int) -> str:
    """The one line an interruption prints."""
    return "interrupted" if signum == signal.SIGINT else f"interrupted ({signal.Signals(signum).name})"


def importing(frame: FrameType | None) -> bool:
    """Whether `frame` (the main thread's, where a signal handler runs) is inside an import."""
    while frame is not None:
        if frame.f_code.co_filename in _IMPORT_FILES:
            return True
        frame = frame.f_back
    return False


def exit_now(signum: int) -> None:
    """Print the line and end the process without unwinding (no cleanup of a half-imported module)."""
    with contextlib.suppress(Exception):
        sys.stdout.flush()
    with contextlib.suppress(Exception):
        os.write(2, (message(signum) + "\n").encode())
    os._exit(128 + signum)


# The process that installed `on_interrupt`. A worker it forks (the sensitivity study's pool)
# inherits the handler; a terminal's Ctrl-C reaches it too, and it leaves the stopping to the
# installing process, which ends its pool, instead of printing a traceback of its own.
_MAIN_PID: list[int] = []


def on_interrupt(signum: int, frame: FrameType | None) -> None:
    """SIGINT: KeyboardInterrupt, or, inside an import, the process ends at once."""
    if _MAIN_PID and os.getpid() != _MAIN_PID[0]:
        return
    if importing(frame):
        exit_now(signum)
    raise KeyboardInterrupt


def install() -> None:
    """Take SIGINT as an interruption (also when the process inherited it ignored, as a process
    started in the background of a non-interactive shell does) and arm the test hook."""
    _MAIN_PID[:] = [os.getpid()]
    signal.signal(signal.SIGINT, on_interrupt)
    _arm_hook()


@contextlib.contextmanager
def held(signum: int = signal.SIGINT) -> Iterator[None]:
    """Block `signum` in this thread for the duration: processes started meanwhile inherit it
    blocked; one that arrives meanwhile is delivered when the block ends, not lost."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signum})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def deaf(signum: int = signal.SIGINT) -> None:
    """Ignore `signum` from now on and drop one pending (the worker side of `held`)."""
    signal.signal(signum, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signum})


def point(name: str) -> None:
    """A named point of the test hook: interrupt as a terminal's Ctrl-C does when RESIM_INTERRUPT_AT
    names it (the whole process group when this process leads one, else this process)."""
    if os.environ.get(HOOK) == name:
        _interrupt()


def _interrupt() -> None:
    if os.getpgrp() == os.getpid():
        os.killpg(os.getpgrp(), signal.SIGINT)
    else:
        os.kill(os.getpid(), signal.SIGINT)


class _InterruptOnImport:
    """A meta-path finder that interrupts the process when one module is about to be imported."""

    def __init__(self, module: str) -> None:
        self.module = module

    def find_spec(self, fullname: str, path: object, target: object = None) -> None:
        if fullname == self.module:
            sys.meta_path.remove(self)
            _interrupt()
        return None


def _arm_hook() -> None:
    where = os.environ.get(HOOK, "")
    if where.startswith("import:") and not any(isinstance(f, _InterruptOnImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _InterruptOnImport(where.split(":", 1)[1]))
