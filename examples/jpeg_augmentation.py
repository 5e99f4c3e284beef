"""Does JPEG augmentation (train.augment.jpeg_quality) help on the JPEG-recovered CIFAR-10 test set?

The project's CIFAR-10 has exact training images but a test set `x_test` recovered from JPEG
(quality 75) copies; `x_test_exact_head` holds the first 1017 test images exact (data README).
Networks trained on exact images lose points on the JPEG ones. This script starts from the shipped
sparse ResNet-20 of workloads/resnet20_cifar_sparse.yaml (25 % density, loaded as `resim eval`
loads it), fine-tunes it with its masks kept (pruned weights stay zero) for --epochs epochs at
lr --lr with a cosine schedule, once per variant, every variant from the same weights and the
same seed, and reports top-1 accuracy on `x_test` (JPEG) and on the exact head:

  - crop+flip:           crop 4 + flip, the workload's own augmentation;
  - crop+flip+jpegQ pP:  the same plus JPEG re-encoding at quality Q of a share P of the images.

    OMP_NUM_THREADS=1 python examples/jpeg_augmentation.py --data-dir ../shared/data --epochs 2

Writes results/jpeg_augmentation/jpeg_augmentation.csv (atomically, rewritten after every
variant, so a stopped run keeps the variants it finished): one row for the shipped network and
one per variant, with the JPEG-test accuracy after each epoch.
"""

from __future__ import annotations

import argparse
import copy
import io
import time
from dataclasses import replace
from pathlib import Path

import torch

from simulator.atomic import write_text
from simulator.config.loader import load_workload
from simulator.config.workload import AugmentSpec
from simulator.data.load import load_data
from simulator.network.train import _normalise, evaluate, to_tensors, train
from simulator.preparation import load_shipped

REPO = Path(__file__).resolve().parents[1]
WORKLOAD = REPO / "workloads" / "resnet20_cifar_sparse.yaml"
FIELDS = ("variant", "jpeg_quality", "jpeg_probability", "epochs", "lr", "seed", "test_jpeg",
          "test_exact_head", "test_jpeg_head", "jpeg_per_epoch", "seconds")


def parse_variant(text: str) -> tuple[int | None, float]:
    """'none' -> (None, 1.0); 'Q' or 'Q:P' -> JPEG quality Q for a share P of the images."""
    if text == "none":
        return None, 1.0
    quality, _, probability = text.partition(":")
    try:
        return int(quality), float(probability) if probability else 1.0
    except ValueError:
        raise argparse.ArgumentTypeError(f"variant {text!r}: give none, Q or Q:P (e.g. 75:0.5)") from None


def variant_name(quality: int | None, probability: float) -> str:
    return "crop+flip" if quality is None else f"crop+flip+jpeg{quality} p{probability:g}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=None, help="Data directory (default: RESIM_DATA)")
    parser.add_argument("--epochs", type=int, default=2, help="Fine-tuning epochs per variant (default 2)")
    parser.add_argument("--lr", type=float, default=0.01, help="Initial learning rate, cosine to 0 (default 0.01)")
    parser.add_argument("--seed", type=int, default=0, help="Seed of every variant's draws (default 0)")
    parser.add_argument("--variants", default="none,75,75:0.5",
                        help="Comma-separated: none, Q or Q:P (JPEG quality Q for a share P; default none,75,75:0.5)")
    parser.add_argument("--train-samples", type=int, default=None, help="Fine-tune on the first n training images only")
    parser.add_argument("--out", type=Path, default=REPO / "results" / "jpeg_augmentation" / "jpeg_augmentation.csv")
    args = parser.parse_args()
    variants = [parse_variant(v.strip()) for v in args.variants.split(",") if v.strip()]

    torch.set_num_threads(1)
    workload = load_workload(WORKLOAD)
    arrays = load_data(workload, args.data_dir)
    if arrays.x_test_exact_head is None:
        parser.error(f"{arrays.source}: no x_test_exact_head; this study needs the shared CIFAR-10 .npz")
    if args.train_samples:
        arrays = replace(arrays, x_train=arrays.x_train[:args.train_samples],
                         y_train=arrays.y_train[:args.train_samples])
    data = to_tensors(arrays)
    n_head = len(arrays.x_test_exact_head)
    x_head = _normalise(arrays.x_test_exact_head, data.mean, data.std)
    y_head = data.y_test[:n_head]
    shipped = load_shipped(workload, arrays)
    base_recipe = workload.config.train
    batch = base_recipe.eval_batch_size

    def accuracies(model: torch.nn.Module) -> tuple[float, float, float]:
        return (evaluate(model, data.x_test, data.y_test, batch), evaluate(model, x_head, y_head, batch),
                evaluate(model, data.x_test[:n_head], y_head, batch))

    rows: list[dict[str, object]] = []

    def write() -> None:
        buffer = io.StringIO()
        buffer.write(",".join(FIELDS) + "\n")
        for row in rows:
            buffer.write(",".join(str(row[f]) for f in FIELDS) + "\n")
        write_text(args.out, buffer.getvalue())

    jpeg, head, jpeg_head = accuracies(shipped.model)
    rows.append({"variant": "shipped", "jpeg_quality": "", "jpeg_probability": "", "epochs": 0, "lr": "",
                 "seed": "", "test_jpeg": f"{jpeg:.4f}", "test_exact_head": f"{head:.4f}",
                 "test_jpeg_head": f"{jpeg_head:.4f}", "jpeg_per_epoch": "", "seconds": 0})
    print(f"shipped: x_test (JPEG) {jpeg:.2%}, exact head {head:.2%}, JPEG head {jpeg_head:.2%}", flush=True)
    write()
    for quality, probability in variants:
        name = variant_name(quality, probability)
        augment = AugmentSpec.model_validate(base_recipe.augment.model_dump() | {
            "jpeg_quality": quality, "jpeg_probability": probability})
        recipe = base_recipe.model_copy(update={"epochs": args.epochs, "lr": args.lr, "schedule": "cosine",
                                                "augment": augment, "device": "cpu"})
        model = copy.deepcopy(shipped.model)
        start = time.perf_counter()
        result = train(model, recipe, data, args.seed, progress=False, masks=shipped.masks, label=f"{name}: ")
        seconds = time.perf_counter() - start
        jpeg, head, jpeg_head = accuracies(model)
        per_epoch = " ".join(f"{r.test_accuracy:.4f}" for r in result.history)
        rows.append({"variant": name, "jpeg_quality": quality or "",
                     "jpeg_probability": probability if quality else "", "epochs": args.epochs, "lr": args.lr,
                     "seed": args.seed, "test_jpeg": f"{jpeg:.4f}", "test_exact_head": f"{head:.4f}",
                     "test_jpeg_head": f"{jpeg_head:.4f}", "jpeg_per_epoch": per_epoch, "seconds": f"{seconds:.0f}"})
        print(f"{name}: x_test (JPEG) {jpeg:.2%}, exact head {head:.2%}, JPEG head {jpeg_head:.2%} "
              f"(per epoch on x_test: {per_epoch}; {seconds:.0f} s)", flush=True)
        write()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
