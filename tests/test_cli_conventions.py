"""Command-line conventions (issue #18 item 5): --version, -h, -q, --verbose, clean boolean flags
in help, and Ctrl-C exiting 130 with one line wherever it lands (issue #25 item 6)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

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


# Ctrl-C at named points (simulator.interrupts' test hook RESIM_INTERRUPT_AT): the process
# interrupts itself there, as a terminal's Ctrl-C would, so no test waits for a moment to come.
ENTRY = [sys.executable, "-m", "simulator"]      # the console script's entry (simulator.entry)


@dataclass
class Ended:
    pid: int
    returncode: int
    stdout: str
    stderr: str


def interrupted_at(where: str, *args: str, tmp_path: Path, session: bool = False) -> Ended:
    env = dict(os.environ, RESIM_CACHE=str(tmp_path / "cache"), RESIM_INTERRUPT_AT=where)
    child = subprocess.Popen([*ENTRY, *args], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, start_new_session=session)
    out, err = child.communicate(timeout=300)
    return Ended(child.pid, child.returncode, out, err)


@pytest.mark.parametrize("where", ["import:typer", "import:torch._C", "import:torch.nn.modules"])
def test_ctrl_c_during_an_import_exits_130_with_one_line(where: str, shared_data: Path, tmp_path: Path) -> None:
    """Before the command line is loaded, and half-way through torch's import (the issue's crash)."""
    done = interrupted_at(where, "faults", str(REPO / "workloads" / "lenet5_mnist_sparse.yaml"), "--data-dir",
                          str(shared_data), "--rates", "0.01", "--runs", "1", "-q", "--out", str(tmp_path / "out"),
                          tmp_path=tmp_path)
    assert (done.returncode, done.stderr, done.stdout) == (130, "interrupted\n", "")


def test_ctrl_c_at_a_sweeps_start_exits_130_with_one_line(shared_data: Path, tmp_path: Path) -> None:
    """Ctrl-C to the whole process group (as a terminal sends it) just after the sweep started its
    worker processes, while they are still importing: one line, exit 130, and no process left."""
    doc = yaml.safe_load((REPO / "workloads" / "lenet5_mnist_sparse.yaml").read_text())
    base = REPO / "workloads"
    doc["hardware"] = str((base / doc["hardware"]).resolve())
    doc["model"]["checkpoint"] = str((base / doc["model"]["checkpoint"]).resolve())
    doc["hardware_study"] = {"compare_dense": False}
    doc.pop("faults", None)
    workload = tmp_path / "lenet.yaml"
    workload.write_text(yaml.safe_dump(doc))
    done = interrupted_at("sweep-start", "sweep", str(workload), "--set", "mapping.crossbar.size=32,64",
                          "--no-accuracy", "--workers", "2", "--data-dir", str(shared_data), "-q", "--out",
                          str(tmp_path / "sweep"), tmp_path=tmp_path, session=True)
    assert done.returncode == 130, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("interrupted (SIGINT): finished points are in"), done.stderr
    # The sweep process led its own group: every process it started leaves with it (multiprocessing's
    # resource tracker a moment after, when it reads the end of its pipe).
    assert not left_in_group(done.pid, within=20), "a process of the sweep outlived it"


def left_in_group(pgid: int, within: float) -> list[int]:
    """Live processes of group `pgid`, once none is left or after `within` seconds."""
    import time

    deadline = time.monotonic() + within
    while True:
        live = []
        for entry in Path("/proc").iterdir():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split() if entry.name.isdigit() else []
            except OSError:
                continue
            if fields and int(fields[2]) == pgid and fields[0] != "Z":
                live.append(int(entry.name))
        if not live or time.monotonic() > deadline:
            return live
        time.sleep(0.2)


def test_forked_workers_end_quietly_on_sigterm() -> None:
    """A pool ends its workers (the sensitivity study's) with SIGTERM, which must neither print a
    traceback per worker into the run's log nor leave a worker that never ends (a hung run)."""
    code = ("import multiprocessing as mp, os, signal\n"
            "from simulator import cli\n"
            "cli._install_sigterm()\n"
            # the first handler printed on most pools' ends; the second hung in about one in twenty
            "for _ in range(20):\n"
            "    with mp.get_context('fork').Pool(2) as pool:\n"
            "        print(sum(pool.map(abs, [-1, -2, -3])))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert proc.returncode == 0 and proc.stdout.split() == ["6"] * 20, proc.stderr
    assert "Traceback" not in proc.stderr and "_Terminated" not in proc.stderr, proc.stderr


def test_a_process_started_while_ctrl_c_is_held_cannot_be_interrupted_until_it_says_so() -> None:
    """simulator.interrupts.held: a sweep's worker starts with SIGINT blocked, so a Ctrl-C that
    reaches it during its start (its imports) is not taken; here one is sent at once and the child
    still ends normally, having found SIGINT blocked."""
    from simulator import interrupts

    code = "import signal; print(signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, []))"
    with interrupts.held():
        child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True)
        child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=60)
    assert (child.returncode, out.strip(), err) == (0, "True", "")


def test_an_interruption_inside_an_import_ends_the_process_at_once(tmp_path: Path) -> None:
    """Not unwound as KeyboardInterrupt through the half-run import (torch's leaves registrations
    behind that crash the interpreter later): the process ends there, running no exit handler, with
    the one line and 130. The same interruption outside an import is a KeyboardInterrupt."""
    (tmp_path / "halfway.py").write_text("import os, signal\nos.kill(os.getpid(), signal.SIGINT)\n"
                                         "print('the import went on')\n")
    code = ("import atexit, os, signal, sys\n"
            "from simulator import interrupts\n"
            "interrupts.install()\n"
            "try:\n"
            "    os.kill(os.getpid(), signal.SIGINT)\n"
            "except KeyboardInterrupt:\n"
            "    print('outside an import: KeyboardInterrupt')\n"
            "atexit.register(lambda: print('exit handlers ran'))\n"
            f"sys.path.insert(0, {str(tmp_path)!r})\n"
            "import halfway\n"
            "print('after the import')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (130, "outside an import: KeyboardInterrupt\n",
                                                           "interrupted\n")


def test_forked_workers_leave_ctrl_c_to_the_process_that_started_them() -> None:
    """A terminal's Ctrl-C reaches a forked pool's workers too (the sensitivity study's): they
    inherit the handler and must not print a KeyboardInterrupt traceback each; the process that
    started them is interrupted and ends its pool. Here a worker sends the Ctrl-C to the group."""
    code = ("import multiprocessing as mp, os, signal\n"
            "from simulator import interrupts\n"
            "interrupts.install()\n"
            "def work(n):\n"
            "    if n == 0:\n"
            "        os.killpg(os.getpgrp(), signal.SIGINT)\n"
            "    return n\n"
            "try:\n"
            "    with mp.get_context('fork').Pool(2) as pool:\n"
            "        pool.map(work, range(4), chunksize=1)\n"
            "        signal.pause()\n"       # the parent's own SIGINT may land after map returns
            "except KeyboardInterrupt:\n"
            "    print('interrupted')\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60,
                          start_new_session=True)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "interrupted\n", "")
