"""A running sweep stopped by SIGINT, SIGTERM and SIGKILL, each followed by a rerun (issue #16,
acceptance): no finished point is lost or written twice, INT and TERM write the report of what
finished and stop the workers, and no process outlives the sweep, not even after SIGKILL.

One sweep folder goes through all three signals in turn (each run resumes the last), then a rerun
finishes it; LeNet-5 points with --no-accuracy and no comparison chips keep it short on 2 cores.
"""

from __future__ import annotations

import csv
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
LENET = REPO / "workloads" / "lenet5_mnist_sparse.yaml"
GRID = ["--set", "mapping.crossbar.size=8,16,32,64,128", "--set", "mapping.reorder=skip-empty,none"]
POINTS = 10


def rows(table: Path) -> dict[str, str]:
    """point_id -> the row's text, for every row of results.csv (a point twice fails the test)."""
    if not table.is_file():
        return {}
    found: dict[str, str] = {}
    lines = table.read_text().splitlines()
    header = next(csv.reader([lines[0]]))
    for line in lines[1:]:
        point = dict(zip(header, next(csv.reader(io.StringIO(line)))))["point_id"]
        assert point not in found, f"point {point} twice in {table}"
        found[point] = line
    return found


def descendants(pid: int) -> set[int]:
    """Every live process below `pid` (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its parent's wait() counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def light_lenet(folder: Path) -> Path:
    """The shipped sparse LeNet-5 with only its own mapping on the chip (no dense or baseline
    comparison): a point takes a second or two."""
    doc = yaml.safe_load(LENET.read_text())
    doc["hardware"] = str((LENET.parent / doc["hardware"]).resolve())
    doc["model"]["checkpoint"] = str((LENET.parent / doc["model"]["checkpoint"]).resolve())
    doc["hardware_study"] = {"compare_dense": False}
    doc.pop("faults", None)
    path = folder / "lenet.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def start(folder: Path, data: Path, env: dict[str, str]) -> subprocess.Popen:
    workload = light_lenet(folder.parent)
    return subprocess.Popen([sys.executable, "-m", "simulator.cli", "sweep", str(workload), *GRID, "--no-accuracy",
                             "--workers", "2", "--out", str(folder), "--data-dir", str(data), "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def interrupt(folder: Path, data: Path, env: dict[str, str], signum: int) -> tuple[dict[str, str], dict[str, str]]:
    """Start the sweep, send `signum` once it has finished a point more than before, wait for it
    to end; the rows before and after, checked: nothing lost, nothing twice, no process left."""
    table = folder / "results.csv"
    before = rows(table)
    report = folder / "sweep.md"
    report.unlink(missing_ok=True)
    process = start(folder, data, env)
    children: set[int] = set()
    deadline = time.monotonic() + 240
    while len(rows(table)) <= len(before):
        assert process.poll() is None, f"the sweep ended before {signal.Signals(signum).name}: {process.stderr.read()}"
        assert time.monotonic() < deadline, "no point finished in time"
        children |= descendants(process.pid)
        time.sleep(0.1)
    children |= descendants(process.pid)
    assert children, "the sweep started no worker processes"
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=120)
    after = rows(table)
    assert len(after) < POINTS, "the signal came after the sweep had finished"
    assert all(after.get(point) == line for point, line in before.items()), "a finished point was lost or changed"
    if signum == signal.SIGKILL:
        assert process.returncode == -signal.SIGKILL
    else:
        assert process.returncode == 128 + signum, stderr
        assert f"interrupted ({signal.Signals(signum).name})" in stderr and "Traceback" not in stderr
        assert report.is_file(), "no report written on the signal"
        assert f"{len(after)} finished" in report.read_text()
    deadline = time.monotonic() + 15
    while any(alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in children if alive(pid)], "a worker outlived the sweep"
    return before, after


@pytest.mark.parametrize("signals", [(signal.SIGINT, signal.SIGTERM, signal.SIGKILL)])
def test_signals_then_rerun_lose_and_duplicate_nothing(signals: tuple[int, ...], tmp_path: Path,
                                                        shared_data: Path) -> None:
    env = {**os.environ, "RESIM_CACHE": str(tmp_path / "cache"), "PYTHONPATH": str(REPO)}
    folder = tmp_path / "sweep"
    finished: dict[str, str] = {}
    for signum in signals:
        before, after = interrupt(folder, shared_data, env, signum)
        assert before == finished and len(after) > len(before)
        finished = after
    process = start(folder, shared_data, env)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr
    final = rows(folder / "results.csv")
    assert len(final) == POINTS
    assert all(final[point] == line for point, line in finished.items())
    assert f"{POINTS} finished" in (folder / "sweep.md").read_text()
