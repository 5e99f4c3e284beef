"""Sensitivity-study benchmark (issue #23 item 7): what the table adds to a hardware-only run.

    python bench/bench_sensitivity.py [--data-dir ../shared/data] [--repeat 3]

1. Warms the caches (`resim run workloads/vgg16_sparse.yaml --no-accuracy --no-sensitivity` once).
2. In-process on the cached mappings, `--repeat` times: the hardware study (three chips) and then
   the sensitivity study on its event-model runs, as `resim run` does (two forked workers), wall
   seconds; then the same study in one process (workers=1): wall and CPU seconds, and the count
   of assumptions, chip evaluations and event-model runs (target: the study adds <= 2 s).
3. `resim run ... --no-accuracy` with --sensitivity and with --no-sensitivity in fresh processes:
   wall and CPU (children's user + system) seconds of each, median.
"""

from __future__ import annotations

import argparse
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


def command(data_dir: Path, out: Path, flag: str) -> list[str]:
    resim = shutil.which("resim")
    head = [resim] if resim else [sys.executable, "-m", "simulator.cli"]
    return [*head, "run", str(MAIN), "--data-dir", str(data_dir), "--no-accuracy", "--quiet", flag, "--out", str(out)]


def fresh_process(data_dir: Path, flag: str) -> tuple[float, float]:
    """Wall and CPU seconds of one `resim run` in a fresh process."""
    with tempfile.TemporaryDirectory() as out:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        clock = time.perf_counter()
        subprocess.run(command(data_dir, Path(out), flag), check=True, capture_output=True)
        wall = time.perf_counter() - clock
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def in_process(data_dir: Path, repeat: int) -> list[dict[str, float]]:
    import simulator.hardware.chip_model as chip_model
    import simulator.hardware.model as model
    from simulator.hardware import study
    from simulator.hardware.sensitivity import sensitivity
    from simulator.pipeline import Session

    session = Session.open(MAIN, data_dir=data_dir, progress=False)
    inputs, requests = session.inputs, session.requests
    stored = session.cached_mappings()
    if stored is None:
        raise SystemExit("the mappings are not cached: run step 1 first")
    pairs = list(zip(requests, stored))
    counted = {"evaluations": 0, "simulations": 0}
    evaluate, simulate = model.run_chip, chip_model.simulate

    def counting_evaluate(*args, **kwargs):  # type: ignore[no-untyped-def]
        counted["evaluations"] += 1
        return evaluate(*args, **kwargs)

    def counting_simulate(*args, **kwargs):  # type: ignore[no-untyped-def]
        counted["simulations"] += 1
        return simulate(*args, **kwargs)

    rows = []
    for _ in range(repeat):
        memo: dict = {}
        wall, cpu = time.perf_counter(), time.process_time()
        result = study.hardware_study(inputs, pairs, None, memo)
        base_wall, base_cpu = time.perf_counter() - wall, time.process_time() - cpu
        model.run_chip = counting_evaluate        # type: ignore[assignment]
        chip_model.simulate = counting_simulate   # type: ignore[assignment]
        wall = time.perf_counter()
        sensitivity(inputs, pairs, result, None, dict(memo))
        forked = time.perf_counter() - wall
        counted.update(evaluations=0, simulations=0)
        wall, cpu = time.perf_counter(), time.process_time()
        varied = sensitivity(inputs, pairs, result, None, memo, workers=1)
        rows.append({"study_wall": base_wall, "study_cpu": base_cpu, "forked_wall": forked,
                     "wall": time.perf_counter() - wall,
                     "cpu": time.process_time() - cpu, "assumptions": len(varied.assumptions) if varied else 0,
                     "variations": sum(len(r.variations) for r in varied.assumptions) if varied else 0,
                     **counted})
        model.run_chip, chip_model.simulate = evaluate, simulate   # type: ignore[assignment]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as out:
        subprocess.run(command(args.data_dir, Path(out), "--no-sensitivity"), check=True, capture_output=True)
    print(f"# {platform.node()} {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.2f}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    rows = in_process(args.data_dir, args.repeat)
    for row in rows:
        print("in-process: " + ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                                         for k, v in row.items()))
    print(f"sensitivity study, median of {len(rows)}: two workers wall "
          f"{statistics.median(r['forked_wall'] for r in rows):.2f} s; one process wall "
          f"{statistics.median(r['wall'] for r in rows):.2f} s, "
          f"CPU {statistics.median(r['cpu'] for r in rows):.2f} s (hardware study alone: CPU "
          f"{statistics.median(r['study_cpu'] for r in rows):.3f} s)")
    for flag in ("--sensitivity", "--no-sensitivity"):
        runs = [fresh_process(args.data_dir, flag) for _ in range(args.repeat)]
        print(f"resim run --no-accuracy {flag}: median wall {statistics.median(w for w, _ in runs):.2f} s, "
              f"CPU {statistics.median(c for _, c in runs):.2f} s")
    print(f"# load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
