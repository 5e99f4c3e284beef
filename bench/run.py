"""resim benchmarks: start-up time of the CLI and LeNet-5 training throughput.

    python bench/run.py [--data-dir ../shared/data] [--repeat 7]

Prints one line per figure; copy them with the machine description into bench/RESULTS.md.
Targets: `resim --help` under 0.5 s (torch is imported only where needed).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def cli_startup(repeat: int) -> float:
    """Median wall time of `resim --help` in a fresh process."""
    resim = shutil.which("resim")
    command = [resim, "--help"] if resim else [sys.executable, "-m", "simulator.cli", "--help"]
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def lenet_throughput(data_dir: Path, epochs: int) -> tuple[float, float]:
    """LeNet-5 training images/s on full MNIST (batch 64, the shipped recipe) and test accuracy."""

    from simulator.config import load_workload
    from simulator.data.load import load_data
    from simulator.network.build import build_network
    from simulator.network.train import to_tensors, train

    workload = load_workload(REPO / "workloads" / "lenet5_mnist.yaml")
    recipe = workload.config.train.model_copy(update={"epochs": epochs})
    arrays = load_data(workload, data_dir)
    model = build_network(workload, arrays)
    result = train(model, recipe, to_tensors(arrays), workload.config.seed, progress=False)
    return result.images_per_second, result.test_accuracy or 0.0


def imp_round_seconds(data_dir: Path) -> tuple[float, int]:
    """Wall time of one IMP round of the shipped LeNet-5 recipe (prune, rewind, retrain under masks)."""
    import time

    from simulator.config import load_workload
    from simulator.data.load import load_data
    from simulator.network.build import build_network
    from simulator.network.train import to_tensors, train
    from simulator.pruning.magnitude import global_magnitude

    workload = load_workload(REPO / "workloads" / "lenet5_mnist_sparse_1.8.yaml")
    spec = workload.config.prune
    recipe = workload.config.train.model_copy(update={"epochs": spec.round_epochs})
    arrays = load_data(workload, data_dir)
    tensors = to_tensors(arrays)
    model = build_network(workload, arrays)
    initial = {k: v.clone() for k, v in model.state_dict().items()}
    start = time.perf_counter()
    masks = global_magnitude(model, 1 - spec.rate)
    model.load_state_dict(initial)
    train(model, recipe, tensors, workload.config.seed, progress=False, masks=masks)
    return time.perf_counter() - start, spec.round_epochs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--epochs", type=int, default=1)
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    print(f"resim --help: {cli_startup(args.repeat):.3f} s (median of {args.repeat})")
    ips, acc = lenet_throughput(args.data_dir, args.epochs)
    print(f"LeNet-5 training: {ips:.0f} images/s over {args.epochs} epoch(s) of 60000 "
          f"(test accuracy after: {acc:.2%})")
    seconds, epochs = imp_round_seconds(args.data_dir)
    print(f"LeNet-5 IMP round (workloads/lenet5_mnist_sparse_1.8.yaml, {epochs} epochs): {seconds:.1f} s")


if __name__ == "__main__":
    main()
