"""LeNet-5 on MNIST pruned by the seeds' methods, side by side (seed 001's LeNet5 tables).

one-shot (global magnitude) and one-shot-improved (per-layer lower bounds: 1.2 % of each conv,
0.5 % of each fully-connected layer) at 1.8 % and 1 % global density, each fine-tuned 4 epochs
from the dense LeNet-5 of workloads/lenet5_mnist.yaml; plus the shipped IMP checkpoints
(workloads/lenet5_mnist_sparse_1.8.yaml and _4.4.yaml). Prints accuracy and per-layer densities.

    python examples/seed001_lenet5_pruning.py --data-dir ../shared/data

Seed 001: dense LeNet5 99.13 %, best accuracy 96.5 % at 1.8 % density.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
import yaml

from simulator.config import load_workload
from simulator.data.load import load_data
from simulator.network.tensors import accuracy_on_test_set
from simulator.preparation import prepare_network
from simulator.pruning.masks import density_table

REPO = Path(__file__).resolve().parents[1]
METHODS = ("one-shot", "one-shot-improved")
DENSITIES = (0.018, 0.01)
SHIPPED = ("lenet5_mnist_sparse_1.8", "lenet5_mnist_sparse_4.4")


def variant(method: str, density: float, folder: Path) -> Path:
    """workloads/lenet5_mnist.yaml with a prune section, written beside the other workloads."""
    doc = yaml.safe_load((REPO / "workloads" / "lenet5_mnist.yaml").read_text())
    doc["name"] = f"lenet5_mnist_{method}_{density}"
    doc["hardware"] = str(REPO / "hwconfigs" / "prime.yaml")
    doc["prune"] = {"method": method, "density": density, "finetune_epochs": 4}
    path = folder / f"{doc['name']}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def row(label: str, workload_path: Path, data_dir: Path | None) -> dict:
    workload = load_workload(workload_path)
    arrays = load_data(workload, data_dir)
    net = prepare_network(workload, arrays, progress=False)
    layers = {r["layer"]: r for r in density_table(net.model)}
    kept = sum(r["nonzero"] for r in layers.values())
    total = sum(r["total"] for r in layers.values())
    out = {"method": label, "density": kept / total,
           "test accuracy": accuracy_on_test_set(net.model, arrays, workload.config.train.eval_batch_size)}
    out.update({f"{name} nz": r["nonzero"] for name, r in layers.items()})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--work", type=Path, default=REPO / "results" / "lenet5_pruning_study")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    rows = [row(f"{m} {d:.1%}", variant(m, d, args.work), args.data_dir) for d in DENSITIES for m in METHODS]
    rows += [row(f"imp (shipped) {name.rsplit('_', 1)[1]}%", REPO / "workloads" / f"{name}.yaml", args.data_dir)
             for name in SHIPPED if (REPO / "workloads" / f"{name}.yaml").is_file()]
    table = pd.DataFrame(rows)
    table["density"] = table["density"].map(lambda d: f"{d:.3%}")
    table["test accuracy"] = table["test accuracy"].map(lambda a: f"{a:.2%}")
    print(table.to_markdown(index=False))


if __name__ == "__main__":
    main()
