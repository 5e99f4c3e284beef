"""Hardware-stage benchmark (issue #5): VGG16 at seed 004's 7.5 % on its 32x32 design.

    python bench/bench_hardware.py [--data-dir ../shared/data] [--repeat 5]

1. Warms the caches (`resim run workloads/vgg16_sparse.yaml --no-accuracy` once: data set id,
   network, the three mappings).
2. Times the whole command again with the mappings cached, in fresh processes: median wall time
   and peak resident memory (target: under 2.2 s and 1 GB on 2 cores).
3. Times the hardware stage alone in-process (placement, event simulation, energy) for the
   workload's mapping from the cache (target: under 0.5 s).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WORKLOAD = REPO / "workloads" / "vgg16_sparse.yaml"


def command(data_dir: Path, out: Path) -> list[str]:
    resim = shutil.which("resim") or sys.executable
    head = [resim] if resim != sys.executable else [sys.executable, "-m", "simulator.cli"]
    return [*head, "run", str(WORKLOAD), "--data-dir", str(data_dir), "--no-accuracy", "--quiet", "--out", str(out)]


def whole_run(data_dir: Path, repeat: int) -> tuple[float, float, dict]:
    """Median wall seconds and peak RSS (GB) of the cached hardware-only run, and its report."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        subprocess.run(command(data_dir, out), check=True, capture_output=True)   # warm the caches
        times, peaks = [], []
        for _ in range(repeat):
            start = time.perf_counter()
            child = subprocess.Popen(command(data_dir, out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            # wait4 gives this child's own peak RSS; RUSAGE_CHILDREN would include the warm-up run.
            _, status, usage = os.wait4(child.pid, 0)
            child.returncode = os.waitstatus_to_exitcode(status)
            times.append(time.perf_counter() - start)
            if child.returncode:
                raise subprocess.CalledProcessError(child.returncode, command(data_dir, out))
            peaks.append(usage.ru_maxrss)
        report = json.loads((out / "report.json").read_text())
    return statistics.median(times), max(peaks) / 1024**2, report


def hardware_stage(data_dir: Path, repeat: int) -> tuple[float, dict]:
    """Median seconds of placement + event simulation + energy for the cached workload mapping."""
    from simulator.config import load_workload
    from simulator.hardware import study

    workload = load_workload(WORKLOAD)
    identity = study.cached_identity(workload, data_dir)
    request = study.requests(workload, None)[0]
    stored = study.load_mapping(workload, identity, request)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = study.evaluate_request(workload, request, stored)
        times.append(time.perf_counter() - start)
    return statistics.median(times), result.summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"machine: {platform.platform()}, {platform.processor() or 'cpu'}, python {platform.python_version()}")
    wall, peak_gb, report = whole_run(args.data_dir, args.repeat)
    print(f"resim run vgg16_sparse --no-accuracy, cached mappings: {wall:.2f} s wall (median of {args.repeat}), "
          f"peak {peak_gb:.2f} GB")
    seconds, summary = hardware_stage(args.data_dir, args.repeat)
    print(f"hardware stage alone (placement + events + energy): {seconds:.3f} s; "
          f"{summary['simulation_events']} simpy events, {summary['energy_per_inference_pj'] / 1e6:.4g} uJ, "
          f"{summary['latency_ns'] / 1e3:.4g} us per inference")
    hw = report["hardware"]
    for label in ("dense", "baseline"):
        if label in hw:
            print(f"versus {label}: {hw[label]['versus']}")


if __name__ == "__main__":
    main()
