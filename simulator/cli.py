"""The `resim` command line. Heavy modules (torch, pandas) are imported inside the commands so
that `resim --help` and `resim validate` answer quickly."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import List, Optional

import typer

app = typer.Typer(
    name="resim",
    help="Simulate sparse neural networks on PRIME-like ReRAM crossbar accelerators.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

DATA_DIR_HELP = "Data directory (overrides the workload's data.dir; else RESIM_DATA, else ~/.cache/resim/data)"


def _fail(message: str) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(1)


def _user_errors():
    """The error types a user can cause; they print as plain lines, not tracebacks."""
    from simulator.config.errors import ConfigError
    from simulator.data.datasets import DataError
    from simulator.pipeline import NotTrainedError

    return (ConfigError, DataError, NotTrainedError)


@app.command()
def validate(files: List[Path] = typer.Argument(..., help="Workload or hardware YAML files")) -> None:
    """Check workload and hardware files; one line per problem, exit 1 on any."""
    from simulator.config.errors import ConfigError
    from simulator.config.loader import validate_file

    failed = False
    for path in files:
        try:
            kind = validate_file(path)
        except ConfigError as exc:
            failed = True
            for problem in exc.problems:
                typer.echo(str(problem), err=True)
        else:
            typer.echo(f"{path}: ok ({kind})")
    if failed:
        raise typer.Exit(1)


@app.command()
def schema(kind: str = typer.Argument(..., help="workload or hardware")) -> None:
    """Print the JSON schema of workload or hardware files (for editors)."""
    from simulator.config.hardware import HardwareConfig
    from simulator.config.workload import WorkloadConfig

    models = {"workload": WorkloadConfig, "hardware": HardwareConfig}
    if kind not in models:
        _fail(f"resim schema: unknown kind {kind!r}; allowed: workload, hardware")
    typer.echo(json.dumps(models[kind].model_json_schema(by_alias=True), indent=2))


@app.command()
def run(
    workload: Path = typer.Argument(..., help="Workload YAML file"),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help=DATA_DIR_HELP),
    out: Optional[Path] = typer.Option(None, "--out", help="Results folder (default results/<workload>-<hash>/)"),
    force: bool = typer.Option(False, "--force", help="Retrain even if a cached checkpoint exists"),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bars"),
) -> None:
    """Run every stage on a workload and write its results folder."""
    from simulator.pipeline import run as run_pipeline

    try:
        out_dir, report = run_pipeline(workload, data_dir=data_dir, out=out, force=force, progress=not quiet)
    except _user_errors() as exc:
        _fail(str(exc))
    typer.echo(f"test accuracy: {report['accuracy']['test_accuracy']:.2%} "
               f"({report['accuracy']['test_images']} images)")
    totals = report["totals"]
    typer.echo(f"tiles: {totals['tiles_placed']} placed of {totals['tiles_dense']} dense "
               f"({report['mapping']['crossbar_size']}x{report['mapping']['crossbar_size']}, "
               f"{report['mapping']['reorder']})")
    typer.echo(f"report: {out_dir / 'report.md'}")


@app.command()
def train(
    workload: Path = typer.Argument(..., help="Workload YAML file"),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help=DATA_DIR_HELP),
    force: bool = typer.Option(False, "--force", help="Retrain even if a cached checkpoint exists"),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bars"),
    export: Optional[Path] = typer.Option(
        None, "--export", help="Also write a compact checkpoint (float16 values + packed masks) to ship"),
) -> None:
    """Train (and prune) the workload's network from its recipe, ignoring a shipped model.checkpoint; cached."""
    from simulator.pipeline import sparse_producer

    wl, arrays, net = _load(workload, data_dir, quiet, force=force, use_shipped=False)
    state = "reused" if net.reused else "trained"
    typer.echo(f"{state}: {net.checkpoint} (test accuracy {net.metrics['test_accuracy']:.2%})")
    if export is not None:
        from simulator.network.compact import export_compact

        info = {"workload": wl.config.name, "producer": sparse_producer(wl, arrays),
                "metrics": net.metrics,
                "reproduce": f"resim train {workload}" + (f" --data-dir {data_dir}" if data_dir else "")
                + f" --export {export}"}
        export_compact(export, net.model.state_dict(), net.masks, info)
        typer.echo(f"exported: {export} ({export.stat().st_size / 1024:.1f} KiB)")


@app.command("eval")
def evaluate(
    workload: Path = typer.Argument(..., help="Workload YAML file"),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help=DATA_DIR_HELP),
) -> None:
    """Print the test accuracy of the workload's trained network (shipped or cached; never trains)."""
    from simulator.pipeline import evaluate_network

    wl, arrays, net = _load(workload, data_dir, True, train=False)
    accuracy = evaluate_network(net.model, arrays, wl.config.train.eval_batch_size)
    typer.echo(f"test accuracy: {accuracy:.2%} ({len(arrays.y_test)} images, {net.checkpoint})")


@app.command()
def faults(
    workload: Path = typer.Argument(..., help="Workload YAML file"),
    rates: str = typer.Option("1e-4,3e-4,1e-3,3e-3,1e-2,3e-2", "--rates",
                              help="Total cell fault rates p_sa0 + p_sa1 (stuck-off : stuck-on = 1 : 5.2)"),
    encodings: str = typer.Option("two-column,offset,differential", "--encodings", help="Sign encodings"),
    runs: int = typer.Option(100, "--runs", min=1, help="Fault draws per point"),
    slice_index: Optional[int] = typer.Option(None, "--slice", min=0, help="Confine faults to one bit slice"),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON"),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help=DATA_DIR_HELP),
    out: Optional[Path] = typer.Option(None, "--out", help="Folder for faults.csv, faults_summary.csv and the plot"),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bars"),
) -> None:
    """Accuracy under stuck-at faults per rate and sign encoding (seed 003 Fig. 6)."""
    from simulator.faults.montecarlo import accuracy_vs_rate_plot, tolerable_rates
    from simulator.pipeline import run_fault_study
    from simulator.report.atomic import write_text
    from simulator.report.results import markdown_table

    rate_list = _numbers(rates, float, "--rates")
    if any(not 0 <= r <= 1 for r in rate_list):
        _fail(f"--rates: fault rates must lie in [0, 1], got {rates}")
    encoding_list = [e.strip() for e in encodings.split(",") if e.strip()]
    allowed = ("two-column", "differential", "offset")
    if not encoding_list or any(e not in allowed for e in encoding_list):
        _fail(f"--encodings: {encodings!r}; allowed: {', '.join(allowed)}")
    wl, arrays, net = _load(workload, data_dir, quiet)
    draws, summary = run_fault_study(wl, net, arrays, rates=rate_list, encodings=encoding_list, runs=runs,
                                     slice_index=slice_index, progress=not quiet)
    clean = run_fault_study(wl, net, arrays, rates=[0.0], encodings=encoding_list[:1], runs=1,
                            progress=False)[1]["mean"].iloc[0]
    # 0 and inf mean "below the lowest / above the highest rate measured": say so.
    tolerable = {enc: (f"< {min(rate_list):g}" if rate == 0 else f"> {max(rate_list):g}" if rate == float("inf")
                       else f"{rate:.3g}")
                 for enc, rate in tolerable_rates(summary, clean).items()}
    out_dir = out or Path("results") / f"{wl.config.name}-faults"
    out_dir.mkdir(parents=True, exist_ok=True)
    write_text(out_dir / "faults.csv", draws.to_csv(index=False))
    write_text(out_dir / "faults_summary.csv", summary.to_csv(index=False))
    accuracy_vs_rate_plot(summary, out_dir / "accuracy_vs_fault_rate.png", f"{wl.config.name}: stuck-at faults")
    write_text(out_dir / "tolerable_rates.json",
               json.dumps({"fault_free_accuracy": clean, "drop": 0.01, "tolerable_rate": tolerable}, indent=2))
    if as_json:
        typer.echo(summary.to_json(orient="records"))
    else:
        typer.echo(markdown_table(summary))
        typer.echo(f"fault-free (quantized) accuracy: {clean:.2%}")
        for encoding, rate in tolerable.items():
            typer.echo(f"tolerable fault rate (1 point below fault-free), {encoding}: {rate}")
        typer.echo(f"faults: {out_dir / 'faults_summary.csv'}")


def _load(workload: Path, data_dir: Optional[Path], quiet: bool, **prepare):
    """(workload, data, prepared network), user errors printed as one line and exit 1."""
    from simulator.config import load_workload
    from simulator.pipeline import load_data, prepare_network

    try:
        wl = load_workload(workload)
        arrays = load_data(wl, data_dir)
        return wl, arrays, prepare_network(wl, arrays, progress=not quiet, **prepare)
    except _user_errors() as exc:
        _fail(str(exc))


def _numbers(text: str, kind: type, option: str) -> list:
    try:
        values = [kind(part) for part in text.split(",") if part.strip()]
    except ValueError:
        _fail(f"{option}: {text!r} is not a comma-separated list of {kind.__name__} values")
    if not values:
        _fail(f"{option}: give at least one value")
    return values


def _strategies(text: str) -> list[str]:
    from simulator.mapping.strategies import STRATEGY_NAMES

    names = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [n for n in names if n not in STRATEGY_NAMES]
    if unknown or not names:
        _fail(f"--reorder: unknown strategy {', '.join(unknown) or '(none)'}; allowed: {', '.join(STRATEGY_NAMES)}")
    return names


@app.command("map")
def map_network(
    workload: Path = typer.Argument(..., help="Workload YAML file"),
    sizes: str = typer.Option("8,16,32,64,128,256", "--sizes", help="Crossbar sizes N, comma-separated"),
    reorder: str = typer.Option("skip-empty", "--reorder", help="Tiling strategies, comma-separated"),
    density: Optional[str] = typer.Option(
        None, "--density", help="Global magnitude pruning of the network's weights to these densities "
        "before mapping (comma-separated); default: the network as it is"),
    method: str = typer.Option(
        "global", "--method", help="With --density: 'global' magnitude pruning (seed 001) or 'layerwise' "
        "(every layer at the density; use it for untrained weights, where global pruning empties whole layers)"),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help=DATA_DIR_HELP),
    out: Optional[Path] = typer.Option(None, "--out", help="Folder for map.csv, map_summary.csv, map.md, saved_vs_size.png"),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bars"),
) -> None:
    """Map the workload's network at several crossbar sizes and strategies: tiles, bound, time."""
    import pandas as pd

    from simulator.mapping.sweep import seed_table, summary, sweep
    from simulator.pipeline import input_shape
    from simulator.pruning.magnitude import global_magnitude, layerwise_magnitude
    from simulator.pruning.masks import apply_masks
    from simulator.report.atomic import write_text
    from simulator.report.plots import saved_vs_size
    from simulator.report.results import markdown_table

    size_list = _numbers(sizes, int, "--sizes")
    if any(s < 1 for s in size_list):
        _fail(f"--sizes: crossbar sizes must be positive, got {sizes}")
    strategy_list = _strategies(reorder)
    densities = _numbers(density, float, "--density") if density else [None]
    if any(d is not None and not 0 < d <= 1 for d in densities):
        _fail(f"--density: densities must lie in (0, 1], got {density}")
    pruners = {"global": global_magnitude, "layerwise": layerwise_magnitude}
    if method not in pruners:
        _fail(f"--method: unknown {method!r}; allowed: global, layerwise")
    wl, arrays, net = _load(workload, data_dir, quiet)
    original = {k: v.clone() for k, v in net.model.state_dict().items()}
    parts = []
    for d in densities:
        net.model.load_state_dict(original)
        if d is not None:
            apply_masks(net.model, pruners[method](net.model, d))
        parts.append(sweep(net.model, input_shape(arrays), size_list, strategy_list,
                           wl.config.mapping.weight_bits, wl.config.seed, d))
    per_layer = pd.concat(parts, ignore_index=True)
    totals = summary(per_layer)
    shown = totals if density else totals.drop(columns="density")
    out_dir = out or Path("results") / f"{wl.config.name}-map"
    out_dir.mkdir(parents=True, exist_ok=True)
    write_text(out_dir / "map.csv", per_layer.to_csv(index=False))
    write_text(out_dir / "map_summary.csv", totals.to_csv(index=False))
    saved_vs_size(totals, out_dir / "saved_vs_size.png", f"{wl.config.name}: crossbars saved")
    lines = [f"# Crossbar mapping of {wl.config.name}", "", markdown_table(shown), ""]
    if density:
        for size in size_list:
            for strategy in strategy_list:
                lines += [f"## Saved crossbars, {size}x{size}, {strategy} (seed 001's format)", "",
                          markdown_table(seed_table(per_layer, size, strategy)), ""]
    write_text(out_dir / "map.md", "\n".join(lines))
    typer.echo(markdown_table(shown))
    typer.echo(f"map: {out_dir / 'map.md'}")


@app.command("map-matrix")
def map_matrix_command(
    matrix: Path = typer.Argument(..., help=".npy file with a 2-D matrix (rows = inputs, columns = outputs)"),
    size: int = typer.Option(128, "--size", min=1, help="Crossbar size N"),
    reorder: str = typer.Option("best", "--reorder", help="Tiling strategy"),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of randomised strategies"),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object"),
) -> None:
    """Map one raw matrix: tiles placed, dense tiles, lower bound and time."""
    import numpy as np

    from simulator.mapping.mapper import map_matrix

    names = _strategies(reorder)
    if len(names) != 1:
        _fail(f"--reorder: give one strategy, got {reorder!r}")
    strategy = names[0]
    try:
        values = np.load(matrix, allow_pickle=False)
    except (OSError, ValueError) as exc:
        _fail(f"{matrix}: cannot read a .npy matrix: {exc}")
    if values.ndim != 2:
        _fail(f"{matrix}: expected a 2-D matrix, got shape {values.shape}")
    mapped = map_matrix(values != 0, size, strategy, seed)
    result = {"file": str(matrix), "shape": list(values.shape), "nonzeros": int(np.count_nonzero(values)),
              "size": size, "strategy": strategy, "tiles_dense": mapped.dense, "tiles_placed": mapped.placed,
              "lower_bound": mapped.bound, "seconds": round(mapped.seconds, 4), **mapped.registers}
    if as_json:
        typer.echo(json.dumps(result))
    else:
        for key, value in result.items():
            typer.echo(f"{key}: {value}")


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    sys.exit(main())
