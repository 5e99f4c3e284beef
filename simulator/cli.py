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

    return (ConfigError, DataError)


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
    from simulator.config import load_workload
    from simulator.pipeline import load_data, prepare_network, producer

    try:
        wl = load_workload(workload)
        arrays = load_data(wl, data_dir)
        net = prepare_network(wl, arrays, force=force, progress=not quiet, use_shipped=False)
    except _user_errors() as exc:
        _fail(str(exc))
    state = "reused" if net.reused else "trained"
    typer.echo(f"{state}: {net.checkpoint} (test accuracy {net.metrics['test_accuracy']:.2%})")
    if export is not None:
        from simulator.network.compact import export_compact

        prune = wl.config.prune.model_dump(mode="json") if wl.config.prune else None
        info = {"workload": wl.config.name, "producer": {**producer(wl, arrays), "prune": prune},
                "metrics": net.metrics,
                "reproduce": f"resim train {workload} --export {export}"}
        export_compact(export, net.model.state_dict(), net.masks, info)
        typer.echo(f"exported: {export} ({export.stat().st_size / 1024:.1f} KiB)")


@app.command("eval")
def evaluate(
    workload: Path = typer.Argument(..., help="Workload YAML file"),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help=DATA_DIR_HELP),
) -> None:
    """Print the test accuracy of the workload's trained network (train it first)."""
    from simulator.config import load_workload
    from simulator.network.checkpoint import checkpoint_key, checkpoint_path, load_checkpoint
    from simulator.pipeline import build_network, evaluate_network, load_data, producer

    try:
        wl = load_workload(workload)
        arrays = load_data(wl, data_dir)
    except _user_errors() as exc:
        _fail(str(exc))
    path = checkpoint_path(wl.config.name, checkpoint_key(producer(wl, arrays)))
    if not path.is_file():
        _fail(f"{workload}: no trained checkpoint for this workload and data; run `resim train {workload}` first")
    model = build_network(wl, arrays)
    model.load_state_dict(load_checkpoint(path)["state_dict"])
    accuracy = evaluate_network(model, arrays, wl.config.train.eval_batch_size)
    typer.echo(f"test accuracy: {accuracy:.2%} ({len(arrays.y_test)} images)")


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    sys.exit(main())
