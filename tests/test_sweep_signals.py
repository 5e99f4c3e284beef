"""A running sweep stopped by SIGINT, SIGTERM and SIGKILL, each followed by a rerun (issue #16,
acceptance): no finished point is lost or written twice, INT and TERM write the report of what
finished and stop the workers, and no process outlives the sweep, not even after SIGKILL.

One sweep folder goes through all three signals in turn (each run resumes the last), then a rerun
finishes it. Its points are hardware-only LeNet-5 runs on mappings cached beforehand, a second or
two each, so the whole test stays short on 2 cores.
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
SIZES = (32, 64)
GRID = ["--set", f"mapping.crossbar.size={','.join(map(str, SIZES))}",
        "--set", "hardware_study.images=20,21,22,23,24"]
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


def light_lenet(folder: Path, size: int | None = None) -> Path:
    """The shipped sparse LeNet-5 with only its own mapping on the chip (no dense or baseline
    comparison), at crossbar `size` when given."""
    doc = yaml.safe_load(LENET.read_text())
    doc["hardware"] = str((LENET.parent / doc["hardware"]).resolve())
    doc["model"]["checkpoint"] = str((LENET.parent / doc["model"]["checkpoint"]).resolve())
    doc["hardware_study"] = {"compare_dense": False}
    doc.pop("faults", None)
    if size is not None:
        doc["mapping"]["crossbar"]["size"] = size
    path = folder / ("lenet.yaml" if size is None else f"lenet-{size}.yaml")
    path.write_text(yaml.safe_dump(doc))
    return path


def prime(folder: Path, data: Path) -> None:
    """Map the network at each grid size once (in this process, RESIM_CACHE set by the `cache`
    fixture), so that every point is a hardware-only run: no torch in the workers, a second or two
    of event simulation per point (hardware_study.images sets how many images it simulates)."""
    from simulator.pipeline import run

    for size in SIZES:
        run(light_lenet(folder, size), data_dir=data, out=folder / f"prime-{size}", progress=False, accuracy=False)


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
                                                        shared_data: Path, cache: Path) -> None:
    prime(tmp_path, shared_data)
    env = {**os.environ, "RESIM_CACHE": str(cache), "PYTHONPATH": str(REPO)}
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
