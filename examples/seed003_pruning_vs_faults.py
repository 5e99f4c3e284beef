"""Pruning ratio against fault tolerance on LeNet-5 / MNIST (seed 003 Fig. 3), and hierarchical
progressive pruning (seed 003 Algorithm 1) against plain pruning at the same density.

Seed 003 IV.B, Fig. 3(a): the accuracy drop caused by stuck-off faults (rate 0.016) first falls as
the pruning ratio rises (more stuck-off cells land on pruned zeros, eq. 3), reaches a minimum (0.6
for ResNet18 / CIFAR-10) and rises again (the few weights left each matter more): a U shape.

Here the dense LeNet-5 of workloads/lenet5_mnist.yaml (cached by the pipeline) is pruned by
one-shot global magnitude pruning at each ratio and fine-tuned (cached too); each network is
mapped as the workload maps it (128 x 128 tiles, skip-empty, 8-bit weights in 4-bit cells) and its
test accuracy averaged over fault draws for
  - stuck-off faults alone at Fig. 3(a)'s rate 0.016 and at a higher rate (default 0.1; Fig. 3(b)
    varies the stuck-off rate), since LeNet-5 barely notices 0.016,
  - seed 003's defect model: stuck-off : stuck-on = 1 : 5.2 at a total rate (default 1e-3),
each under two-column and differential encoding. Then `prune.method: hpp` runs once for the
higher stuck-off rate and once for the 1 : 5.2 mix (objective: that condition under two-column,
measured on training images). Its steps and M_best are printed; its last accepted model (`result:
last`) is compared, under every condition, with one-shot pruning at the same global density,
fine-tuned as long as one HPP step and as long as HPP's whole accepted path.

    python examples/seed003_pruning_vs_faults.py --data-dir ../shared/data

Writes <out>/pruning_vs_faults.csv, <out>/hpp_vs_one_shot.csv and <out>/pruning_vs_faults.png.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import pandas as pd
import torch

from simulator.atomic import atomic_replace, write_text
from simulator.config import load_workload
from simulator.config.faults import RATIO_PRESETS
from simulator.config.workload import HppSpec, PruneSpec
from simulator.data.load import load_data
from simulator.faults.cells import FaultRates
from simulator.network.tensors import tensors_of
from simulator.preparation import hpp_crossbars, prune_dense, train_dense
from simulator.pruning.masks import prunable
from simulator.pruning.progressive import Crossbars, FaultObjective, fault_accuracy

REPO = Path(__file__).resolve().parents[1]
RATIOS = (0.0, 0.2, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98)
ENCODINGS = ("two-column", "differential")
FIG3_RATE = 0.016          # seed 003 Fig. 3(a): stuck-off fault rate


def variant(workload, prune: PruneSpec, name: str):
    """The dense workload with a prune section (its own cache key, so every network is cached)."""
    config = workload.config.model_copy(update={"name": name, "prune": prune})
    return dataclasses.replace(workload, config=config)


def pruned(workload, arrays, prune: PruneSpec | None, name: str, progress: bool):
    """The dense network (prune None) or the cached / freshly pruned one."""
    dense = train_dense(workload, arrays, force=False, progress=progress)
    if prune is None:
        return dense.model, dense.metrics
    net = prune_dense(variant(workload, prune, name), arrays, dense, force=False, progress=progress)
    return net.model, net.metrics


def global_density(model: torch.nn.Module) -> float:
    weights = [m.weight.detach() for m in prunable(model).values()]
    return sum(int(torch.count_nonzero(w)) for w in weights) / sum(w.numel() for w in weights)


def conditions(off_rate: float, mixed_rate: float) -> dict[str, tuple[str, float]]:
    """Label -> (fault_mix, total rate); HPP runs for all but the first."""
    return {f"stuck-off {FIG3_RATE:g}": ("stuck-off", FIG3_RATE), f"stuck-off {off_rate:g}": ("stuck-off", off_rate),
            f"1:5.2 {mixed_rate:g}": ("seed003", mixed_rate)}


def measure(model, setup: Crossbars, tensors, seed: int, draws: int, cases: dict[str, tuple[str, float]],
            progress: bool) -> dict[str, float]:
    """Quantized fault-free accuracy and mean accuracy per (condition, encoding) on the test set."""
    x, y = tensors.x_test, tensors.y_test
    clean = FaultObjective(FaultRates(0.0, 0.0), "two-column", 1)
    out = {"clean": fault_accuracy(model, setup, clean, x, y, seed)}
    for label, (mix, rate) in cases.items():
        for encoding in ENCODINGS:
            objective = FaultObjective(FaultRates.from_total(rate, RATIO_PRESETS[mix]), encoding, draws)
            out[f"{label} {encoding}"] = fault_accuracy(model, setup, objective, x, y, seed, progress=progress,
                                                        label=f"{label} {encoding}")
    return out


def plot(table: pd.DataFrame, labels: list[str], path: Path) -> None:
    """Seed 003 Fig. 3(a) layout: accuracy drop against pruning ratio, one panel per condition."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(labels) + 1, figsize=(4.2 * (len(labels) + 1), 3.8), dpi=120)
    axes[0].plot(table["ratio"], 100 * table["clean"], marker="o", color="k")
    axes[0].set_title("fault-free (8-bit quantized)")
    axes[0].set_ylabel("test accuracy (%)")
    for ax, label in zip(axes[1:], labels):
        for encoding in ENCODINGS:
            ax.plot(table["ratio"], 100 * (table["clean"] - table[f"{label} {encoding}"]), marker="o", label=encoding)
        ax.set_title(f"drop under {label}")
        # Drops span 0.1 (two-column) to 90 points (differential under stuck-off).
        ax.set_yscale("symlog", linthresh=0.1)
        ax.set_ylabel("accuracy drop (points, symlog)")
        ax.legend()
    for ax in axes:
        ax.set_xlabel("pruning ratio (1 - density)")
        ax.grid(True, alpha=0.3)
    fig.suptitle("LeNet-5 / MNIST, one-shot pruning + fine-tuning (seed 003 Fig. 3)")
    fig.tight_layout()
    with atomic_replace(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)


def percent(table: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    shown = table.copy()
    for c in columns:
        shown[c] = shown[c].map(lambda a: f"{100 * a:.2f}")
    return shown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--workload", type=Path, default=REPO / "workloads" / "lenet5_mnist.yaml")
    parser.add_argument("--draws", type=int, default=20, help="fault draws per point")
    parser.add_argument("--off-rate", type=float, default=0.1, help="the higher stuck-off rate")
    parser.add_argument("--mixed-rate", type=float, default=1e-3, help="total rate of the 1 : 5.2 condition")
    parser.add_argument("--finetune-epochs", type=int, default=3)
    parser.add_argument("--hpp-draws", type=int, default=10, help="fault draws per HPP evaluation")
    parser.add_argument("--out", type=Path, default=REPO / "results" / "seed003_pruning_vs_faults")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    progress = not args.quiet

    workload = load_workload(args.workload)
    arrays = load_data(workload, args.data_dir)
    tensors = tensors_of(arrays)
    setup = hpp_crossbars(workload, arrays)
    seed = workload.config.seed
    base = workload.config.name
    cases = conditions(args.off_rate, args.mixed_rate)

    rows = []
    for ratio in RATIOS:
        prune = None if ratio == 0 else PruneSpec(method="one-shot", density=round(1 - ratio, 6),
                                                  finetune_epochs=args.finetune_epochs)
        model, _ = pruned(workload, arrays, prune, f"{base}_oneshot_{ratio:g}", progress)
        rows.append({"ratio": ratio, "density": global_density(model),
                     **measure(model, setup, tensors, seed, args.draws, cases, progress)})
        print(f"ratio {ratio:g}: " + ", ".join(f"{k} {v:.4f}" for k, v in rows[-1].items() if k != "ratio"), flush=True)
    table = pd.DataFrame(rows)
    accuracy_columns = [c for c in table.columns if c not in ("ratio", "density")]
    args.out.mkdir(parents=True, exist_ok=True)
    write_text(args.out / "pruning_vs_faults.csv", table.to_csv(index=False))
    plot(table, list(cases), args.out / "pruning_vs_faults.png")
    drops = table[["ratio", "density", "clean"]].copy()
    for column in accuracy_columns[1:]:
        drops[f"drop {column}"] = table["clean"] - table[column]
    print(f"\nAccuracy (%) under faults, {args.draws} draws per point, and drop from fault-free (points):")
    print(percent(table, accuracy_columns).to_markdown(index=False))
    print(percent(drops, list(drops.columns[2:])).to_markdown(index=False))

    comparison = []
    for label, (mix, rate) in list(cases.items())[1:]:
        # result "last": the search is the same as the paper's; its M_best is read from the log.
        hpp = PruneSpec(method="hpp", density=round(1 - max(RATIOS), 6), finetune_epochs=args.finetune_epochs,
                        hpp=HppSpec(fault_rate=rate, fault_mix=mix, encoding="two-column", draws=args.hpp_draws,
                                    result="last"))
        model, metrics = pruned(workload, arrays, hpp, f"{base}_hpp_{mix}_{rate:g}", progress)
        rounds = metrics["prune"]["rounds"]
        steps = [e for e in rounds if "ratio" in e]
        best = [e for e in steps if e["best"]][-1]
        print(f"\nhpp ({label}): step, ratio, active blocks, density, fault accuracy on training images, accepted")
        for e in steps:
            print(f"  {e['round']:2d}  {e['ratio']:.2f}  {len(e['blocks'])}  {e['density']:.4f}  "
                  f"{100 * e['fault_accuracy']:.2f}  {e['accepted']}")
        print(f"  M_best: step {best['round']} (density {best['density']:.4f}); M_cur (returned): "
              f"density {rounds[-1]['density']:.4f}", flush=True)
        chosen = global_density(model)
        tuned = args.finetune_epochs * sum(1 for e in steps if e["accepted"] and e["round"] > 0)
        comparison.append({"model": f"hpp M_cur ({label}, two-column objective)", "density": chosen,
                           "finetune epochs": tuned,
                           "block ratios": ", ".join(f"{k}: {v:.2f}" for k, v in rounds[-1]["block_ratios"].items()),
                           **measure(model, setup, tensors, seed, args.draws, cases, progress)})
        for epochs in (args.finetune_epochs, tuned):
            one_shot = PruneSpec(method="one-shot", density=round(chosen, 6), finetune_epochs=epochs)
            model, _ = pruned(workload, arrays, one_shot, f"{base}_oneshot_{chosen:.6f}_{epochs}", progress)
            comparison.append({"model": "one-shot, same density", "density": global_density(model),
                               "finetune epochs": epochs, "block ratios": "",
                               **measure(model, setup, tensors, seed, args.draws, cases, progress)})
    versus = pd.DataFrame(comparison)
    write_text(args.out / "hpp_vs_one_shot.csv", versus.to_csv(index=False))
    print(f"\nHPP against one-shot at the same density (accuracy %, {args.draws} draws per point):")
    print(percent(versus, accuracy_columns).to_markdown(index=False))
    print(f"\nresults: {args.out}")


if __name__ == "__main__":
    main()
