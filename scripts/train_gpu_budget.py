#!/usr/bin/env python3
"""Train the seeds' CIFAR-10 networks (workloads/gpu/) on a GPU within a fixed time budget.

Issue #17: a GPU is lent for about 15 minutes in all, its start included, at most 10 minutes a
command, and only a few files come back per command. This driver runs `resim train ... --export`
for the pruned workloads in order of value, each in its own process, and

* before starting a job, estimates its time (the epochs it still has to train, dense parent
  included unless an earlier job trained it, times the seconds per epoch measured on the jobs
  done so far, scaled by the network's relative cost) and skips it when it would not end before
  `--time-limit`; a job that overruns anyway is stopped at the limit, so the driver always ends
  in time and every checkpoint written before stays whole;
* exports each compact checkpoint to `--out` as soon as its training ends (that folder is what
  comes back from the GPU machine), and appends the job's output, images/s and accuracy to
  `--out`/train_gpu_budget.log.

Every checkpoint is an ordinary `resim train` export: the same command reproduces it, and the
workload file it names is the recipe that made it (`resim eval` checks that).

Dry run on the CPU (a tiny subset, one epoch, float32), to test the whole path before a lease:
    python scripts/train_gpu_budget.py --dry-run --data-dir ../shared/data --out results/gpu-dry
On the GPU machine:
    python scripts/train_gpu_budget.py --data-dir ../shared/data --out "$OUT" --time-limit 540
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
GPU_DIR = REPO / "workloads" / "gpu"

# In order of value: issue #17 (VGG-16 7.5 % for the main job, VGG-16 4 %, VGG-19 4 %,
# ResNet-18 25 %), then issue #19 (VGG-19 2 % and 1 % for seed 001's tables, AlexNet 11 %).
JOBS = (
    "vgg16_cifar_sparse_7.5",
    "vgg16_cifar_sparse_4",
    "vgg19_cifar_sparse_4",
    "resnet18_cifar_sparse_25",
    "vgg19_cifar_sparse_2",
    "vgg19_cifar_sparse_1",
    "alexnet_cifar_sparse_11",
    # Only if time is left: VGG-16 at seed 001's lower densities, the other #8 recipes.
    "vgg16_cifar_sparse_2",
    "vgg16_cifar_sparse_1",
    "resnet18_cifar_sparse_4",
    "alexnet_cifar_sparse_4",
    "vgg11_cifar_sparse_4",
)

# Training time per epoch relative to VGG-16-BN: forward + backward of 64 CIFAR images on this
# project's 2-core CPU (766, 1096, 1380, 108 ms; `bench`-style timing, 2026-12-04). Used only to
# predict a job's time from the jobs already done, never for a result.
RELATIVE_COST = {"vgg16_bn": 1.0, "vgg19_bn": 1.43, "resnet18": 1.8, "alexnet": 0.14}
# Seconds per VGG-16-BN epoch assumed before the first job has measured one, and the fixed cost
# of one `resim train` process (start, data, JPEG copy, export).
PRIOR_EPOCH_SECONDS = {"cuda": 4.0, "cpu": 2.0}
PROCESS_SECONDS = 20.0
LOG_NAME = "train_gpu_budget.log"
# What comes back from the GPU machine: at most 8 files of at most 16 MiB each.
MAX_FILES, MAX_BUNDLE_BYTES = 8, 15 * 2**20


@dataclass(frozen=True)
class Job:
    """One pruned workload: its file, network and the epochs it trains."""

    name: str
    path: Path
    model: str
    dense_key: str           # the dense parent's recipe: jobs with the same key share its checkpoint
    dense_epochs: int
    finetune_epochs: int


def load_job(path: Path) -> Job:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    parent = json.dumps({k: doc.get(k) for k in ("model", "data", "train", "seed")}, sort_keys=True)
    return Job(doc["name"], path, doc["model"]["name"], parent, int(doc["train"]["epochs"]),
               int(doc["prune"]["finetune_epochs"]))


def dry_run_copy(path: Path, folder: Path) -> Path:
    """The workload with a CPU-sized recipe: 256 training and 200 test images, one epoch of
    each phase, float32 on the CPU; its hardware path made absolute so the copy loads anywhere."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["hardware"] = str((path.parent / doc["hardware"]).resolve())
    doc["data"].update(train_samples=256, test_samples=200)
    doc["train"].update(epochs=1, batch_size=64, eval_batch_size=100, device="cpu", mixed_precision="off",
                        channels_last=False)
    doc["prune"]["finetune_epochs"] = 1
    copy = folder / path.name
    copy.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return copy


def exported_info(path: Path) -> dict:
    """The `info` block of a compact checkpoint (metrics, producer, reproduce command)."""
    sys.path.insert(0, str(REPO))
    from simulator.network.compact import load_compact

    return load_compact(path)[2]


def epoch_seconds(info: dict, job: Job, trained_dense: bool) -> float | None:
    """Seconds per VGG-16-equivalent epoch measured by a finished job."""
    metrics = info.get("metrics", {})
    seconds = float(metrics.get("prune_seconds") or 0.0)
    epochs = job.finetune_epochs
    if trained_dense:
        seconds += float(metrics.get("dense", {}).get("train_seconds") or 0.0)
        epochs += job.dense_epochs
    if not epochs or not seconds:
        return None
    return seconds / epochs / RELATIVE_COST.get(job.model, 1.0)


def bundle_checkpoints(folder: Path, max_files: int) -> list[Path]:
    """Pack the smallest checkpoints of `folder` into tar files of at most MAX_BUNDLE_BYTES until
    no more than `max_files` files are left (`tar xf` unpacks them)."""
    files = sorted(folder.glob("*.pt"), key=lambda p: p.stat().st_size)
    bundles: list[Path] = []
    while len(files) + len(bundles) > max_files and len(files) >= 2:
        group, size = [], 0
        while files and size + files[0].stat().st_size <= MAX_BUNDLE_BYTES and (
                len(group) < 2 or len(files) + len(bundles) + 1 > max_files):
            size += files[0].stat().st_size
            group.append(files.pop(0))
        if len(group) < 2:
            files = group + files
            break
        bundle = folder / f"bundle-{len(bundles) + 1}.tar"
        with tarfile.open(bundle, "w") as tar:
            for path in group:
                tar.add(path, arcname=path.name)
        for path in group:
            path.unlink()
        bundles.append(bundle)
    return bundles


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default="../shared/data",
                        help="data directory (cifar10/cifar10.npz or cifar10-parts/)")
    parser.add_argument("--out", required=True, type=Path, help="folder for the compact checkpoints and the log")
    parser.add_argument("--time-limit", type=float, default=540.0,
                        help="seconds from start by which every job has ended")
    parser.add_argument("--jobs", nargs="*", default=list(JOBS),
                        help=f"workloads of workloads/gpu/ (default: {' '.join(JOBS)})")
    parser.add_argument("--dry-run", action="store_true", help="CPU, tiny subset, one epoch per phase")
    args = parser.parse_args(argv)

    started = time.monotonic()
    deadline = started + args.time_limit
    device = "cpu" if args.dry_run else "cuda"
    args.out.mkdir(parents=True, exist_ok=True)
    log = (args.out / LOG_NAME).open("a", encoding="utf-8")

    def say(line: str) -> None:
        stamped = f"[{time.monotonic() - started:6.1f} s] {line}"
        print(stamped, flush=True)
        log.write(stamped + "\n")
        log.flush()

    unknown = [name for name in args.jobs if not (GPU_DIR / f"{name}.yaml").is_file()]
    if unknown:
        parser.error(f"no workloads/gpu/<name>.yaml for: {', '.join(unknown)}")
    scratch = Path(tempfile.mkdtemp(prefix="resim-gpu-"))
    jobs = [load_job(GPU_DIR / f"{name}.yaml") for name in args.jobs]
    if args.dry_run:
        jobs = [Job(j.name, dry_run_copy(j.path, scratch), j.model, j.dense_key, 1, 1) for j in jobs]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env.setdefault("RESIM_CACHE", str(scratch / "cache"))   # dense parents shared between jobs
    measured: list[float] = []
    dense_done: set[str] = set()
    say(f"{len(jobs)} jobs on {device}, limit {args.time_limit:.0f} s, data {args.data_dir}, out {args.out}")
    for job in jobs:
        per_epoch = (sorted(measured)[len(measured) // 2] if measured else PRIOR_EPOCH_SECONDS[device])
        trains_dense = job.dense_key not in dense_done
        epochs = job.finetune_epochs + (job.dense_epochs if trains_dense else 0)
        estimate = PROCESS_SECONDS + epochs * per_epoch * RELATIVE_COST.get(job.model, 1.0)
        left = deadline - time.monotonic()
        if estimate > left:
            say(f"{job.name}: skipped, needs about {estimate:.0f} s ({epochs} epochs), {left:.0f} s left")
            continue
        export = args.out / f"{job.name}.pt"
        relative = job.path.relative_to(REPO) if job.path.is_relative_to(REPO) else job.path
        command = [sys.executable, "-c", "import sys; from simulator.cli import main; sys.exit(main())",
                   "train", str(relative), "--device", device, "--data-dir", args.data_dir, "--quiet",
                   "--export", f"checkpoints/{job.name}.pt"]
        say(f"{job.name}: start ({epochs} epochs, about {estimate:.0f} s, {left:.0f} s left): "
            f"resim {' '.join(command[3:])}")
        began = time.monotonic()
        try:
            done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True,
                                  timeout=max(deadline - time.monotonic(), 1.0))
        except subprocess.TimeoutExpired as exc:
            say(f"{job.name}: stopped at the time limit after {time.monotonic() - began:.0f} s")
            log.write(str(exc.stdout or "") + str(exc.stderr or ""))
            break
        log.write(done.stdout + done.stderr)
        if done.returncode != 0:
            say(f"{job.name}: failed (exit {done.returncode}): {done.stderr.strip().splitlines()[-1:]}")
            continue
        built = REPO / "checkpoints" / f"{job.name}.pt"
        if args.dry_run:
            shutil.move(built, export)
        else:
            shutil.copyfile(built, export)
        info = exported_info(export)
        metrics = info.get("metrics", {})
        dense = metrics.get("dense", {})
        measured_epoch = epoch_seconds(info, job, trains_dense)
        if measured_epoch is not None:
            measured.append(measured_epoch)
        dense_done.add(job.dense_key)
        say(f"{job.name}: done in {time.monotonic() - began:.0f} s; test accuracy {metrics.get('test_accuracy')}"
            f" (dense {dense.get('test_accuracy')}), density {metrics.get('prune', {}).get('density')}, "
            f"dense {dense.get('images_per_second', 0):.0f} images/s, "
            f"{measured_epoch or 0:.2f} s per VGG-16 epoch; {export} ({export.stat().st_size / 2**20:.1f} MiB)")
    say(f"finished: {sorted(p.name for p in args.out.glob('*.pt'))}")
    for bundle in bundle_checkpoints(args.out, MAX_FILES - 1):
        say(f"bundled into {bundle.name}: {', '.join(tarfile.open(bundle).getnames())}")
    log.close()
    shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
