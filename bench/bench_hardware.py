"""Hardware-stage benchmark (issue #14): the cycle-level chip on three network sizes.

    python bench/bench_hardware.py [--data-dir ../shared/data] [--repeat 5]

1. Warms the caches (`resim run WORKLOAD --no-accuracy` once per workload: data set id, network,
   mappings with their dataflow).
2. Times `resim run workloads/vgg16_sparse.yaml --no-accuracy` again with the mappings cached, in
   fresh processes: median wall time and peak resident memory (targets: under 1.0 s and 0.5 GB on
   an idle 2-core machine).
3. Times the hardware stage in-process on the cached mappings (every chip of the study: the
   workload's, the dense mapping on it, dense PRIME), for LeNet-5 / MNIST, VGG-16 / CIFAR-10 and
   VGG-16 at 224 x 224 (targets: VGG-16 CIFAR-10 under 0.5 s; ImageNet size under 20 s and 2 GB):
   events and wall time, how the cost grows with the network.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MAIN = REPO / "workloads" / "vgg16_sparse.yaml"
SCALING = ("lenet5_mnist_sparse", "vgg16_sparse", "vgg16_imagenet_shape")


def command(workload: Path, data_dir: Path, out: Path) -> list[str]:
    resim = shutil.which("resim")
    head = [resim] if resim else [sys.executable, "-m", "simulator.cli"]
    # --no-sensitivity: vgg16_sparse.yaml turns the sensitivity study on; bench_sensitivity.py times it.
    return [*head, "run", str(workload), "--data-dir", str(data_dir), "--no-accuracy", "--quiet", "--no-sensitivity",
            "--out", str(out)]


def whole_run(data_dir: Path, repeat: int) -> tuple[float, float, float, dict]:
    """Median wall and CPU (user + system) seconds and peak RSS (GB) of the cached hardware-only
    main job, and its report. CPU time is what an idle machine's wall time would be (one thread);
    wall time on a shared machine also holds the waits for a core."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        subprocess.run(command(MAIN, data_dir, out), check=True, capture_output=True)   # warm the caches
        times, cpus, peaks = [], [], []
        for _ in range(repeat):
            start = time.perf_counter()
            child = subprocess.Popen(command(MAIN, data_dir, out), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
            # wait4 gives this child's own peak RSS; RUSAGE_CHILDREN would include the warm-up run.
            _, status, usage = os.wait4(child.pid, 0)
            times.append(time.perf_counter() - start)
            if os.waitstatus_to_exitcode(status):
                raise subprocess.CalledProcessError(os.waitstatus_to_exitcode(status), command(MAIN, data_dir, out))
            peaks.append(usage.ru_maxrss)
            cpus.append(usage.ru_utime + usage.ru_stime)
        report = json.loads((out / "report.json").read_text())
    return statistics.median(times), statistics.median(cpus), max(peaks) / 1024**2, report


def hardware_stage(name: str, data_dir: Path, repeat: int) -> tuple[float, int, int, float]:
    """Median seconds of the whole hardware study on the cached mappings, windows per inference,
    simpy events of the workload's chip, and the stage's peak memory (GB, whole process)."""
    from simulator.config import load_workload
    from simulator.data.identity import cached_identity
    from simulator.hardware import study
    from simulator.preparation import network_identity

    workload = load_workload(REPO / "workloads" / f"{name}.yaml")
    with tempfile.TemporaryDirectory() as tmp:    # warm: data set id, network, mappings
        subprocess.run(command(workload.path, data_dir, Path(tmp) / "out"), check=True, capture_output=True)
    identity = cached_identity(workload, data_dir)
    assert identity is not None
    network = network_identity(workload, identity)
    requests = study.requests(workload, study.baseline_hardware(workload))
    stored = [study.load_mapping(workload, network, r) for r in requests]
    assert all(s is not None for s in stored)
    mappings = list(zip(requests, stored))
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = study.hardware_study(workload, mappings)   # type: ignore[arg-type]
        times.append(time.perf_counter() - start)
    windows = sum(g.windows for g in stored[0].flow.layers)   # type: ignore[union-attr]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    return statistics.median(times), windows, result.workload.summary.simulation_events, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"machine: {platform.platform()}, {os.cpu_count()} cores, python {platform.python_version()}")
    wall, cpu, peak_gb, report = whole_run(args.data_dir, args.repeat)
    summary = report["hardware"]["summary"]
    print(f"load average {os.getloadavg()[0]:.1f}; resim run vgg16_sparse --no-accuracy, cached mappings: "
          f"{wall:.2f} s wall, {cpu:.2f} s CPU (medians of {args.repeat}), "
          f"peak {peak_gb:.2f} GB; {summary['energy_per_inference_pj'] / 1e6:.4g} uJ, "
          f"{summary['latency_ns'] / 1e3:.4g} us per inference")
    print("\n| workload | windows / inference | simpy events (workload chip) | hardware study, 3 chips (s) "
          "| peak (GB) |")
    print("| --- | --- | --- | --- | --- |")
    for name in SCALING:
        seconds, windows, events, peak = hardware_stage(name, args.data_dir, 1 if "imagenet" in name else args.repeat)
        print(f"| {name} | {windows} | {events} | {seconds:.3f} | {peak:.2f} |", flush=True)


if __name__ == "__main__":
    main()
