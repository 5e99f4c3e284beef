"""Command-line conventions (issue #18 item 5): --version, -h, -q, --verbose, clean boolean flags
in help, and Ctrl-C exiting 130."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
RESIM = [sys.executable, "-c", "import sys; from simulator.cli import main; sys.exit(main())"]


def resim(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*RESIM, *args], capture_output=True, text=True, cwd=REPO, **kwargs)   # type: ignore


def test_version_and_short_help() -> None:
    from simulator import __version__

    assert resim("--version").stdout.strip() == f"resim {__version__}"
    top, run = resim("-h"), resim("run", "-h")
    assert top.returncode == 0 and run.returncode == 0
    assert "--verbose" in top.stdout and "-q, --quiet" in run.stdout
    # Flags read as flags: no type label after them.
    assert "<bool>" not in top.stdout + run.stdout + resim("sweep", "-h").stdout + resim("faults", "-h").stdout


def test_every_quiet_flag_has_its_short_form() -> None:
    for command in ("run", "sweep", "explore", "train", "faults", "map", "data split"):
        text = resim(*command.split(), "-h").stdout
        if "--quiet" in text:
            assert "-q, --quiet" in text, command


def test_ctrl_c_exits_130(shared_data: Path, tmp_path: Path) -> None:
    env = dict(os.environ, RESIM_CACHE=str(tmp_path / "cache"))   # nothing cached: the run trains
    child = subprocess.Popen([*RESIM, "run", str(REPO / "workloads" / "lenet5_mnist.yaml"), "--data-dir",
                              str(shared_data), "--out", str(tmp_path / "out"), "-q"],
                             cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(4)
    if child.poll() is not None:
        pytest.fail(f"the run ended before Ctrl-C: {child.stderr.read() if child.stderr else ''}")
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=60)
    assert child.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err


def test_forked_workers_end_quietly_on_sigterm() -> None:
    """A pool's workers (the sensitivity study's) inherit resim's SIGTERM handler; a pool ends them
    with SIGTERM, which must not print a traceback per worker into the run's log."""
    code = ("import multiprocessing as mp, os, signal\n"
            "from simulator import cli\n"
            "cli._MAIN_PID[:] = [os.getpid()]\n"
            "signal.signal(signal.SIGTERM, cli._terminate)\n"
            "for _ in range(5):\n"      # the old handler printed on most pools' ends, not on all
            "    with mp.get_context('fork').Pool(2) as pool:\n"
            "        print(sum(pool.map(abs, [-1, -2, -3])))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert proc.returncode == 0 and proc.stdout.split() == ["6"] * 5, proc.stderr
    assert "Traceback" not in proc.stderr and "_Terminated" not in proc.stderr, proc.stderr
