"""Seed 003's differential mapping against two-column (and offset) under stuck-at faults (Fig. 6).

Seed 003 (Sec. V, Fig. 6; ResNet18 / CIFAR-10, stuck-off : stuck-on = 1 : 5.2, 100 draws per
point) claims that its pruned network in differential mapping "can tolerate almost an order of
magnitude higher failure rate than the traditional two-column method": at a cell fault rate of
1e-3 its accuracy drops 0.2 points where the unpruned two-column network drops 1.2; two-column
collapses by 5e-3 while differential holds up to 1e-2. Fig. 6 compares the *unpruned* network in
two-column with the *pruned* one in differential; the encodings on one network are compared too.

This script measures, with the library behind `resim faults` (`simulator.faults.study.run_fault_study`,
`simulator.faults.montecarlo`: every cell of every placed tile stuck-off or stuck-on, 1 : 5.2):
  - the shipped pruned LeNet-5 (IMP, 1.8 %, workloads/lenet5_mnist_sparse_1.8.yaml) in
    two-column, offset and differential encoding,
  - the dense LeNet-5 of workloads/lenet5_mnist.yaml in two-column (Fig. 6's baseline; trained
    in about 30 s when not cached; `--no-dense` leaves it out), on the same tiles and cell draws
    as the pruned network's two-column points,
  - with `--vgg`, the CPU-trained narrow VGG-11 at 4 % on CIFAR-10
    (workloads/vgg11_narrow_cifar_sparse_4.yaml) in the three encodings: slow, about 5 s a draw
    (35 draws at 8 rates x 3 encodings took about 70 minutes); `--vgg-runs` sets its draws.
For each: mean accuracy per rate, the tolerable fault rate (mean accuracy 1 point below the
fault-free quantized accuracy, log-interpolated, as `resim faults` reports it) and the ratios
differential / two-column and pruned differential / dense two-column.

    OMP_NUM_THREADS=1 python examples/seed003_encodings.py --data-dir ../shared/data [--runs 30] [--vgg]

Writes results/seed003_encodings/{draws.csv, summary.csv, tolerable.csv,
accuracy_vs_fault_rate_<network>.png} atomically.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd
import torch

from simulator.atomic import write_text
from simulator.config import load_workload
from simulator.config.faults import FaultSpec
from simulator.data.load import input_shape, load_data
from simulator.faults.study import clean_accuracy, run_fault_study
from simulator.faults.summary import tolerable_rates
from simulator.mapping.network import map_network
from simulator.mapping.setup import MappingSetup
from simulator.network.tensors import tensors_of
from simulator.preparation import prepare_network
from simulator.report.plots import accuracy_vs_rate_plot

REPO = Path(__file__).resolve().parents[1]
ENCODINGS = ("two-column", "offset", "differential")   # `resim faults`' order: the same draw seeds
LENET_RATES = "1e-5,3e-5,1e-4,3e-4,1e-3,3e-3,1e-2"
VGG_RATES = "1e-6,3e-6,1e-5,3e-5,1e-4,3e-4,1e-3,3e-3"
DROP = 0.01   # the tolerable rate's accuracy drop (1 point)

# Seed 003, Sec. V / Fig. 6 (ResNet18, CIFAR-10, 100 runs per point): fault-free accuracy, and the
# accuracy drop at a 1e-3 cell fault rate of its pruned differential and the unpruned two-column
# network, in points; the claimed ratio of tolerable fault rates.
SEED_003_CLEAN = 94.1
SEED_003_DROP_1E3 = {"pruned, differential": 0.2, "unpruned, two-column": 1.2}
SEED_003_TOLERANCE_RATIO = "almost an order of magnitude (about 10x)"


def study(path: Path, data_dir: Path | None, rates: list[float], encodings: list[str], runs: int, label: str,
          progress: bool) -> tuple[pd.DataFrame, pd.DataFrame, float, str]:
    """Draws and summary of `resim faults` for one workload (seed 003's 1 : 5.2 split), its
    fault-free quantized accuracy, and the checkpoint it used."""
    workload = load_workload(path)
    arrays = load_data(workload, data_dir)
    net = prepare_network(workload, arrays, progress=progress)
    # 1 : 5.2, every layer, no stuck lines
    spec = FaultSpec(rates=rates, encodings=encodings, runs=runs)
    mapped = map_network(net.model, input_shape(arrays), MappingSetup.of(workload))
    tensors = tensors_of(arrays)
    result = run_fault_study(workload, net.model, mapped, tensors, spec, progress=progress)
    draws, summary = result.draws, result.summary
    # The fault-free (quantized) accuracy, exactly as `resim faults` takes it.
    clean = clean_accuracy(net.model, mapped, tensors, encodings[0], workload.config.train.eval_batch_size)
    for frame in (draws, summary):
        frame.insert(0, "network", label)
    return draws, summary, float(clean), str(net.checkpoint)


def rate_text(rate: float, rates: list[float]) -> str:
    """tolerable_rate's 0 / inf mean below the lowest / above the highest rate measured."""
    if rate == 0:
        return f"< {min(rates):g}"
    if rate == float("inf"):
        return f"> {max(rates):g}"
    return f"{rate:.2g}"


def accuracy_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Mean accuracy (%) per rate, one column per (network, encoding)."""
    table = summary.assign(column=summary["network"] + ", " + summary["encoding"])
    wide = table.pivot(index="rate", columns="column", values="mean")[table["column"].unique()]
    wide = wide.map(lambda a: f"{100 * a:.2f}")
    wide.index = [f"{r:g}" for r in wide.index]
    return wide.rename_axis("fault rate").reset_index()


def report(summary: pd.DataFrame, tolerable: pd.DataFrame) -> None:
    """Print the accuracy tables, the tolerable rates and their ratios (from the study or, with
    --report, from the CSVs of an earlier run)."""
    print("\nMean test accuracy (%) under stuck-at faults, stuck-off : stuck-on = 1 : 5.2:\n")
    for network, part in summary.groupby("network", sort=False):
        print(f"{network}:")
        print(accuracy_table(part).to_markdown(index=False, disable_numparse=True))
        widest = 100 * (part["ci95_high"] - part["mean"]).max()
        print(f"(widest 95 % confidence half-width of a mean: {widest:.2f} points)\n")

    print(f"Tolerable fault rate (mean accuracy {100 * DROP:g} point below fault-free) and drop at 1e-3:\n")
    shown = tolerable[["network", "encoding", "runs", "fault-free", "shown", "drop at 1e-3 (points)"]].copy()
    shown["fault-free"] = shown["fault-free"].map(lambda a: f"{100 * a:.2f}%")
    shown["drop at 1e-3 (points)"] = shown["drop at 1e-3 (points)"].map(lambda d: "" if pd.isna(d) else f"{d:.2f}")
    shown = shown.rename(columns={"shown": "tolerable rate"})
    print(shown.to_markdown(index=False, disable_numparse=True))

    def tolerated(network: str, encoding: str) -> float | None:
        row = tolerable[(tolerable["network"] == network) & (tolerable["encoding"] == encoding)]
        rate = float(row["tolerable rate"].iloc[0]) if len(row) else None
        return rate if rate is not None and 0 < rate < float("inf") else None

    print(f"\nSeed 003 (ResNet18 / CIFAR-10, {SEED_003_CLEAN} % fault-free): drop at 1e-3 "
          + ", ".join(f"{k} {v} points" for k, v in SEED_003_DROP_1E3.items())
          + f"; tolerable rate {SEED_003_TOLERANCE_RATIO} higher with differential.")
    ratios = []
    for network in tolerable["network"].unique():
        base = tolerated(network, "two-column")
        for encoding in ("differential", "offset"):
            other = tolerated(network, encoding)
            if base and other:
                ratios.append(f"{network}: {encoding} / two-column = {other / base:.1f}x")
    pruned_diff, dense_two = tolerated("LeNet-5 1.8 %", "differential"), tolerated("LeNet-5 dense", "two-column")
    if pruned_diff and dense_two:
        ratios.append(f"LeNet-5: pruned differential / dense two-column (Fig. 6's comparison) = "
                      f"{pruned_diff / dense_two:.1f}x")
    print("Ours: " + ("; ".join(ratios) if ratios else "no ratio (a tolerable rate lies outside the rates measured)"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--runs", type=int, default=30, help="fault draws per LeNet-5 point (seed 003: 100)")
    parser.add_argument("--rates", default=LENET_RATES, help="LeNet-5 cell fault rates p_sa0 + p_sa1")
    parser.add_argument("--no-dense", action="store_true", help="leave out the dense LeNet-5 in two-column")
    parser.add_argument("--vgg", action="store_true", help="also the narrow VGG-11 at 4 %% on CIFAR-10 (slow)")
    parser.add_argument("--vgg-runs", type=int, default=10, help="fault draws per VGG-11 point")
    parser.add_argument("--vgg-rates", default=VGG_RATES)
    parser.add_argument("--out", type=Path, default=REPO / "results" / "seed003_encodings")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--report", action="store_true",
                        help="no fault draws: print the tables of the summary.csv and tolerable.csv in --out")
    args = parser.parse_args()
    if args.report:
        report(pd.read_csv(args.out / "summary.csv"), pd.read_csv(args.out / "tolerable.csv"))
        return
    torch.set_num_threads(1)
    progress = not args.quiet
    lenet_rates = [float(r) for r in args.rates.split(",") if r.strip()]
    vgg_rates = [float(r) for r in args.vgg_rates.split(",") if r.strip()]

    # (plot, label, workload, rates, encodings, runs)
    plan = [("lenet5", "LeNet-5 1.8 %", REPO / "workloads" / "lenet5_mnist_sparse_1.8.yaml", lenet_rates,
             list(ENCODINGS), args.runs)]
    if not args.no_dense:
        plan.append(("lenet5", "LeNet-5 dense", REPO / "workloads" / "lenet5_mnist.yaml", lenet_rates,
                     ["two-column"], args.runs))
    if args.vgg:
        plan.append(("vgg11", "VGG-11 narrow 4 %", REPO / "workloads" / "vgg11_narrow_cifar_sparse_4.yaml",
                     vgg_rates, list(ENCODINGS), args.vgg_runs))

    all_draws, summaries, tolerable = [], [], []
    plots: dict[str, list[pd.DataFrame]] = {}
    for plot, label, path, rates, encodings, runs in plan:
        started = time.perf_counter()
        draws, summary, clean, checkpoint = study(path, args.data_dir, rates, encodings, runs, label, progress)
        seconds = time.perf_counter() - started
        print(f"{label}: {Path(path).name}, {runs} draws per point, fault-free quantized accuracy {clean:.2%}, "
              f"{seconds:.0f} s ({checkpoint})", flush=True)
        for encoding, rate in tolerable_rates(summary[["encoding", "rate", "mean"]], clean, DROP).items():
            at = summary[(summary["encoding"] == encoding) & (summary["rate"] == 1e-3)]["mean"]
            tolerable.append({"network": label, "encoding": encoding, "runs": runs, "fault-free": clean,
                              "tolerable rate": rate, "shown": rate_text(rate, rates),
                              "drop at 1e-3 (points)": 100 * (clean - float(at.iloc[0])) if len(at) else None,
                              "seconds": round(seconds, 1)})
        summary.insert(2, "fault_free", clean)
        all_draws.append(draws)
        summaries.append(summary)
        plots.setdefault(plot, []).append(summary.assign(encoding=label + ", " + summary["encoding"]))

    for plot, parts in plots.items():   # seed 003 Fig. 6: one panel per network family
        accuracy_vs_rate_plot(pd.concat(parts, ignore_index=True), args.out / f"accuracy_vs_fault_rate_{plot}.png",
                              "stuck-at faults, mean of the draws with 95 % bands")

    summary = pd.concat(summaries, ignore_index=True)
    tolerable = pd.DataFrame(tolerable)
    report(summary, tolerable)
    write_text(args.out / "draws.csv", pd.concat(all_draws, ignore_index=True).to_csv(index=False))
    write_text(args.out / "summary.csv", summary.to_csv(index=False))
    write_text(args.out / "tolerable.csv", tolerable.to_csv(index=False))
    print(f"\nresults in {args.out}")


if __name__ == "__main__":
    main()
