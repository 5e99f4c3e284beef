"""The `resim` command line. Heavy modules (torch, pandas) are imported inside the commands so
that `resim --help` and `resim validate` answer quickly."""

from __future__ import annotations

import inspect
import json
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, List, NoReturn, Optional

if __name__ == "__main__":      # `python -m simulator.cli`; the console script (simulator.entry) does the same
    from simulator.entry import collect_less

    collect_less()

# resim uses no pydantic plugin, and pydantic looks for them when it builds its first model by
# reading the entry points of every installed distribution (0.02 s of each command); set
# PYDANTIC_DISABLE_PLUGINS to an empty value to have them loaded.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

# After the two settings above, which must come before the first import of pydantic.
import typer  # noqa: E402
from typer.core import TyperGroup  # noqa: E402

from simulator import catalog  # noqa: E402


class _OneLineErrors(TyperGroup):
    """The command group: an error a user can cause (simulator.errors) raised from any command
    prints as one plain line on stderr and exits 1, never as a traceback."""

    def invoke(self, ctx: Any) -> Any:  # typer vendors click: its Context type is private
        from simulator.errors import describe, user_errors

        try:
            return super().invoke(ctx)
        except user_errors() as exc:
            typer.echo(describe(exc), err=True)
            raise typer.Exit(1) from None


if TYPE_CHECKING:   # the commands import these where they run (module docstring)
    from simulator.config.loader import Workload
    from simulator.data.datasets import Arrays
    from simulator.pipeline import Session
    from simulator.preparation import PreparedNetwork
    from simulator.report.faults import FaultReport

# Plain click help (no rich boxes): flags read `--force`, not `--force <bool>`; -h is --help.
HELP = {"help_option_names": ["-h", "--help"]}

app = typer.Typer(
    name="resim",
    help="Simulate sparse neural networks on PRIME-like ReRAM crossbar accelerators.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=_OneLineErrors,
    rich_markup_mode=None,
    context_settings=HELP,
)


def _show_version(value: bool) -> None:
    if value:
        from simulator import __version__

        typer.echo(f"resim {__version__}")
        raise typer.Exit()


VERBOSE_HELP = "Say more as commands run: caches used, every chip's figures (stderr)"


def _verbose(on: bool) -> None:
    """-v / --verbose, before or after the command's name."""
    if on:
        os.environ["RESIM_VERBOSE"] = "1"


@app.callback()
def _options(
    version: bool = typer.Option(False, "--version", callback=_show_version, is_eager=True,
                                 help="Print resim's version and exit"),
    verbose: bool = typer.Option(False, "--verbose", "-v", help=VERBOSE_HELP),
) -> None:
    """Simulate sparse neural networks on PRIME-like ReRAM crossbar accelerators."""
    _verbose(verbose)

DATA_DIR_HELP = "Data directory (overrides the workload's data.dir; else RESIM_DATA, else ~/.cache/resim/data)"


def _fail(message: str) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(1)


def _user_errors() -> tuple[type[Exception], ...]:
    """The error types a user can cause; they print as plain lines, not tracebacks."""
    from simulator.errors import user_errors

    return user_errors()


def _describe(exc: BaseException) -> str:
    from simulator.errors import describe

    return describe(exc)


@app.command()
def validate(files: List[Path] = typer.Argument(..., help="Workload or hardware YAML files")) -> None:
    """Check workload and hardware files; one line per problem, exit 1 on any. A workload's own
    model (model.import) is checked without importing it: its 'module:function' syntax and that
    the module's file is there. Only commands that build the network (run, train, eval, map,
    faults, sweep) import it, which runs its package's code."""
    from simulator.config.errors import ConfigError
    from simulator.config.loader import validate_file

    failed = False
    for path in files:
        try:
            kind = validate_file(path)
            if kind == "workload":
                from simulator.config import load_workload

                _check_layer_names(load_workload(path))
        except ConfigError as exc:
            failed = True
            for problem in exc.problems:
                typer.echo(str(problem), err=True)
        else:
            typer.echo(f"{path}: ok ({kind})")
    if failed:
        raise typer.Exit(1)


def _check_layer_names(workload: Workload) -> None:
    """The layers a workload's fault options name exist in its (zoo) network."""
    faults = workload.config.faults
    if faults is not None and (faults.layers or faults.only_layers is not None):
        from simulator.network.build import check_fault_layers_early

        check_fault_layers_early(workload)


@app.command()
def schema(kind: str = typer.Argument(..., help="workload, hardware or report")) -> None:
    """Print the JSON schema of workload or hardware files (for editors), or of report.json."""
    from pydantic import BaseModel

    from simulator.config.hardware import HardwareConfig
    from simulator.config.workload import WorkloadConfig
    from simulator.report.model import RunReport

    models: dict[str, type[BaseModel]] = {"workload": WorkloadConfig, "hardware": HardwareConfig,
                                          "report": RunReport}
    if kind not in models:
        _fail(f"resim schema: unknown kind {kind!r}; allowed: {', '.join(models)}")
    typer.echo(json.dumps(models[kind].model_json_schema(by_alias=True), indent=2))


@app.command()
def run(
    workload: Path = typer.Argument(..., help="Workload YAML file"),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help=DATA_DIR_HELP),
    out: Optional[Path] = typer.Option(
        None, "--out", help="Results folder (default results/<workload>-<hash>/, with -hardware for --no-accuracy)"),
    force: bool = typer.Option(False, "--force", help="Retrain and remap even if cached results exist"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars or progress lines"),
    verbose: bool = typer.Option(False, "--verbose", "-v", help=VERBOSE_HELP),
    no_accuracy: bool = typer.Option(False, "--no-accuracy",
                                     help="Skip test accuracy and the fault study (hardware figures only)"),
    sensitivity: Optional[bool] = typer.Option(
        None, "--sensitivity/--no-sensitivity",
        help="Vary every assumption of the hardware files with alternatives, one at a time, and report how the "
             "headline ratios move (default: the workload's hardware_study.sensitivity)"),
    sets: Optional[List[str]] = typer.Option(
        None, "--set", help="Override one dotted workload key, KEY=VALUE (the sweep's grammar, one value), e.g. "
        "mapping.crossbar.size=16; repeat for more keys. The run's copy of the workload is its results folder's "
        "workload.yaml"),
    as_json: bool = typer.Option(False, "--json", help="Print the run's report (report.json) as one JSON document "
                                 "on stdout instead of the summary lines"),
) -> None:
    """Run every stage on a workload and write its results folder."""
    from simulator.pipeline import run as run_pipeline

    _verbose(verbose)
    try:
        if sets:
            workload, out = _overridden(workload, sets, out, accuracy=not no_accuracy)
        out_dir, report = run_pipeline(workload, data_dir=data_dir, out=out, force=force, progress=not quiet,
                                       accuracy=not no_accuracy, sensitivity=sensitivity)
    except _user_errors() as exc:
        _fail(_describe(exc))
    if as_json:
        typer.echo(json.dumps({"results_folder": str(out_dir), **report.model_dump(mode="json")}))
        return
    if report.accuracy:
        cached = ", from the cache" if "accuracy" in report.skipped else ""
        typer.echo(f"test accuracy: {report.accuracy.test_accuracy:.2%} ({report.accuracy.test_images} images{cached})")
    totals, size = report.totals, report.mapping.crossbar_size
    typer.echo(f"crossbars: {totals.tiles_placed} placed of {totals.tiles_dense} dense "
               f"({size}x{size}, {report.mapping.reorder})")
    hw = report.hardware.summary
    typer.echo(f"energy: {hw.energy_per_inference_pj / 1e6:.4g} uJ per inference, latency "
               f"{hw.latency_ns / 1e3:.4g} us, {hw.inferences_per_second:.4g} inferences/s on {hw.hardware}")
    others = report.hardware.others()
    for label, name in (("dense", "dense mapping on the same chip"), ("baseline", "the dense baseline chip")):
        if label in others:
            versus = others[label].versus
            typer.echo(f"versus {name}: {versus.energy_efficiency:.2f}x energy efficiency, "
                       f"{versus.speedup:.2f}x speed-up")
    if report.sensitivity is not None:
        typer.echo(f"sensitivity: {report.sensitivity.verdict()}")
    typer.echo(f"report: {out_dir / 'report.md'} (also {out_dir / 'report.html'})")


def _overridden(workload: Path, sets: list[str], out: Optional[Path], *, accuracy: bool) -> tuple[Path, Path]:
    """`resim run WORKLOAD --set ...`: the workload with its overrides, written into its results
    folder (the default one is named by the overridden config's hash), and that folder."""
    import tempfile

    import yaml

    from simulator.atomic import write_text
    from simulator.config import load_workload
    from simulator.config.loader import named_file
    from simulator.pipeline import default_out_dir
    from simulator.sweep.grid import overridden_workload

    workload = named_file(workload)   # a shipped workload's name: its file, whose name the copy keeps
    text = yaml.safe_dump(overridden_workload(workload, sets), sort_keys=False)
    if out is None:
        with tempfile.TemporaryDirectory() as folder:
            # Its hash names the folder: read it back from a copy first.
            probe = Path(folder) / workload.name
            probe.write_text(text, encoding="utf-8")
            out = default_out_dir(load_workload(probe), accuracy=accuracy)
    copy = Path(out) / workload.name
    write_text(copy, text)
    return copy, Path(out)


@app.command()
def sweep(
    source: Path = typer.Argument(..., help="Workload YAML (with --set) or sweep YAML (workload: + grid:)"),
    sets: Optional[List[str]] = typer.Option(
        None, "--set", help="A grid axis KEY=V1,V2,... over a dotted workload key, e.g. mapping.crossbar.size=16,32; "
        "repeat for more axes (every combination runs)"),
    no_accuracy: bool = typer.Option(False, "--no-accuracy", help="Hardware figures only at every point"),
    workers: Optional[int] = typer.Option(None, "--workers", min=1, help="Local worker processes (default: the "
                                          "number of cores; 1 runs the points in this process)"),
    executor: str = typer.Option("local", "--executor", help="local (processes on this machine) or dask"),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Dask scheduler address, e.g. tcp://host:8786 "
                                            "(with --executor dask)"),
    out: Optional[Path] = typer.Option(None, "--out", help="Sweep folder (default results/<workload>-sweep-<hash>/)"),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help=DATA_DIR_HELP),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar"),
    verbose: bool = typer.Option(False, "--verbose", "-v", help=VERBOSE_HELP),
    max_points: int = typer.Option(1000, "--max-points", min=1, help="Refuse a grid of more points than this"),
) -> None:
    """Run a workload over a grid of overrides; one row per point in results.csv, written as each
    point finishes, so a rerun skips finished points."""
    import os
    import signal

    from simulator.pipeline import run as run_workload
    from simulator.sweep import grid_from_file, grid_from_sets, is_sweep_file, run_sweep
    from simulator.sweep.executors import EXECUTORS, ExecutorError

    _verbose(verbose)
    if executor not in EXECUTORS:
        _fail(f"--executor: unknown {executor!r}; allowed: {', '.join(EXECUTORS)}")
    if executor == "dask" and not scheduler:
        _fail("--executor dask: give --scheduler ADDRESS (e.g. tcp://127.0.0.1:8786)")
    try:
        if is_sweep_file(source):
            grid = grid_from_file(source, sets or [])
        elif not sets:
            _fail(f"{source}: a workload file needs at least one --set KEY=V1,V2 (or give a sweep YAML with grid:)")
        else:
            grid = grid_from_sets(source, sets)
        grid.check_size(max_points)
        typer.echo(f"sweep: {grid.describe()}")
        result = run_sweep(grid, run=run_workload, out=out, data_dir=data_dir, accuracy=not no_accuracy,
                           workers=workers or os.cpu_count() or 1, executor=executor, scheduler=scheduler,
                           progress=not quiet, notify=lambda line: typer.echo(line, err=True),
                           max_points=max_points)
    except _user_errors() + (ExecutorError,) as exc:
        _fail(_describe(exc))
    except KeyboardInterrupt as exc:
        # Ctrl-C or SIGTERM (runner.Terminated): the workers are stopped and the report written.
        signum = getattr(exc, "signum", signal.SIGINT)
        typer.echo(f"interrupted ({signal.Signals(signum).name}): finished points are in the sweep folder's "
                   "results.csv and its report; rerun the same command to run the others", err=True)
        _SAID.append(signum)
        raise typer.Exit(128 + signum) from None
    typer.echo(f"points: {len(result.ran)} run, {len(result.skipped)} already in the table, "
               f"{len(result.failures)} failed")
    for point, message in result.failures.items():
        typer.echo(f"point {point} failed: {message}", err=True)
    typer.echo(f"table: {result.folder / 'results.csv'}")
    typer.echo(f"report: {result.folder / 'sweep.md'} (also {result.folder / 'report.html'})")
    if result.failures:
        raise typer.Exit(1)


@app.command()
def explore(
    workload: Path = typer.Argument(..., help="Workload YAML file"),
    space: Path = typer.Option(..., "--space", help="Design space YAML: axes, objectives, constraints, faults, "
                               "search, references (docs/explore.md)"),
    workers: Optional[int] = typer.Option(None, "--workers", min=1, help="Local worker processes (default: the "
                                          "number of cores; 1 runs the designs in this process)"),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Dask scheduler address, e.g. tcp://host:8786: "
                                            "the designs run on that cluster"),
    out: Optional[Path] = typer.Option(None, "--out", help="Explore folder (default results/<workload>-explore-"
                                       "<hash>/)"),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help=DATA_DIR_HELP),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress lines (one per generation)"),
    verbose: bool = typer.Option(False, "--verbose", "-v", help=VERBOSE_HELP),
) -> None:
    """Search a design space for the Pareto front of energy, latency, area and accuracy under
    faults; one row per design in designs.csv, so a rerun resumes."""
    from simulator.explore.cli import explore_command

    _verbose(verbose)
    explore_command(workload, space, workers=workers or os.cpu_count() or 1, scheduler=scheduler, out=out,
                    data_dir=data_dir, quiet=quiet, echo=typer.echo, fail=_fail)


@app.command()
def train(
    workload: Path = typer.Argument(..., help="Workload YAML file"),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help=DATA_DIR_HELP),
    force: bool = typer.Option(False, "--force", help="Retrain even if a cached checkpoint exists"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars"),
    export: Optional[Path] = typer.Option(
        None, "--export", help="Also write a compact checkpoint (float16 values + packed masks) to ship"),
    device: Optional[str] = typer.Option(
        None, "--device", help="Where to train: auto (CUDA when present, else CPU), cpu or cuda; "
        "overrides the workload's train.device"),
) -> None:
    """Train (and prune) the workload's network from its recipe, ignoring a shipped model.checkpoint; cached."""
    from simulator.files import unwritable
    from simulator.network.train import DEVICES, DeviceError, resolve_device
    from simulator.preparation import sparse_producer

    if export is not None:     # before training: its result must have somewhere to go
        reason = unwritable(export, "the compact checkpoint file to write, e.g. lenet5.pt")
        if reason:
            _fail(f"--export {export}: {reason}")
    if device is not None:
        if device not in DEVICES:
            _fail(f"--device: {device!r} is not allowed; allowed: {', '.join(DEVICES)}")
        try:
            resolve_device(device)  # fail before the data set is loaded
        except DeviceError as exc:
            _fail(f"--device {device}: {exc}")
    wl, arrays, net = _load(workload, data_dir, quiet, device=device, force=force, use_shipped=False)
    state = "reused" if net.reused else "trained"
    typer.echo(f"{state}: {net.checkpoint} (test accuracy {net.metrics['test_accuracy']:.2%})")
    if export is not None:
        from simulator.network.compact import export_compact

        info = {"workload": wl.config.name, "producer": sparse_producer(wl, arrays),
                "metrics": net.metrics,
                "reproduce": f"resim train {workload}" + (f" --data-dir {data_dir}" if data_dir else "")
                + (f" --device {device}" if device else "") + f" --export {export}"}
        export_compact(export, net.model.state_dict(), net.masks, info)
        typer.echo(f"exported: {export} ({export.stat().st_size / 1024:.1f} KiB)")


@app.command("eval")
def evaluate(
    workload: Path = typer.Argument(..., help="Workload YAML file"),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help=DATA_DIR_HELP),
) -> None:
    """Print the test accuracy of the workload's trained network (shipped or cached; never trains)."""
    from simulator.network.tensors import accuracy_on_test_set

    wl, arrays, net = _load(workload, data_dir, True, train=False)
    accuracy = accuracy_on_test_set(net.model, arrays, wl.config.train.eval_batch_size)
    typer.echo(f"test accuracy: {accuracy:.2%} ({len(arrays.y_test)} images, {net.checkpoint})")


def _with_fault_flags(command: Callable[..., None]) -> Callable[..., None]:
    """Give `command` one option per field of the fault study's definition
    (simulator.config.faults.FaultSpec, each field naming its flag), passed to it in `**flags`
    by field name: a new fault option is one field there, not one here."""
    from simulator.config.faults import FaultSpec

    signature = inspect.signature(command)
    fixed = [p for p in signature.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    added = []
    annotation: Any
    for name, flag in FaultSpec.flags().items():
        info = FaultSpec.model_fields[name]
        help_text = f"{info.description} (workload key faults.{name})"
        if info.annotation is bool:
            default, annotation = typer.Option(False, flag, help=help_text), bool
        else:
            default, annotation = typer.Option(None, flag, help=help_text), Optional[str]
        added.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation))
    command.__signature__ = signature.replace(parameters=fixed + added)  # type: ignore[attr-defined]
    return command


@app.command()
@_with_fault_flags
def faults(
    workload: Path = typer.Argument(..., help="Workload YAML file"),
    aware: Optional[str] = typer.Option(
        None, "--aware", help="Instead of the rate study, fine-tune under one fault draw with these strategies "
        "(keep_weight,keep_bit,mask,clip; seed 001) and compare accuracy on the chip before and after"),
    aware_epochs: int = typer.Option(1, "--aware-epochs", min=1, help="Fine-tuning epochs per strategy and draw"),
    aware_lr: Optional[float] = typer.Option(
        None, "--aware-lr", min=0.0, help="Fine-tuning learning rate (default train.lr / 10)"),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON"),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help=DATA_DIR_HELP),
    out: Optional[Path] = typer.Option(
        None, "--out", help="Folder for the CSVs, the plot and report.html (default results/<workload>-<hash>-faults-"
        "<hash of the options>/, -aware- with --aware)"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars"),
    **flags: Any,
) -> None:
    """Accuracy under stuck-at faults per rate and sign encoding (seed 003 Fig. 6), or, with
    --aware, fault-aware fine-tuning strategies compared under the same fault draws (seed 001).
    The fault options are the keys of a workload's faults: section; the workload's own section
    is not read here, except that its bit_true turns the bit-true study on. Every finished draw is
    kept in the cache: an interrupted study continues where it stopped when run again, and more
    rates or runs compute only the new draws."""
    from simulator.config.faults import ENCODING_NAMES, FaultOptionError, FaultSpec
    from simulator.report.faults import write_fault_report

    given = {name: value for name, value in flags.items() if value not in (None, False)}
    try:
        spec = FaultSpec.from_flags(given)
    except FaultOptionError as exc:
        _fail(f"{FaultSpec.flags()[exc.key]}: {exc} (got {exc.value!r})")
    if aware is not None and "rates" not in given:
        _fail("--aware: give --rates, the fault rate(s) to fine-tune against (each costs a fine-tuning per draw)")
    if aware is not None and spec.bit_true:
        _fail("--bit-true: not with --aware (fine-tuning is compared at weight level)")
    session = _session(workload, data_dir, quiet)
    wl = session.workload
    assert wl is not None
    # Defaults of this command where they differ from a workload's faults: section.
    defaults: dict[str, Any] = {"runs": 3 if aware is not None else spec.runs,
                                "encodings": spec.encodings or ([wl.config.mapping.encoding] if aware is not None
                                                                else list(ENCODING_NAMES)),
                                "bit_true": spec.bit_true or bool(wl.config.faults and wl.config.faults.bit_true)}
    spec = spec.model_copy(update={k: v for k, v in defaults.items() if k not in spec.model_fields_set})
    try:
        net = session.network()
        mapped = session.mapped()       # the workload's mapping, as `resim run` maps it
        if aware is not None:           # fine-tuning trains: the whole training split
            from simulator.network.tensors import tensors_of

            chip = _Chip(wl, net.model, mapped, tensors_of(session.arrays()), str(net.checkpoint))
        else:
            study = session.fault_study(spec, by_effect=True)
    except FaultOptionError as exc:
        _fail(f"{FaultSpec.flags()[exc.key]}: {exc}")
    except KeyboardInterrupt as exc:      # Ctrl-C or SIGTERM: every finished draw is kept (simulator.faults.draw_store)
        signum = getattr(exc, "signum", signal.SIGINT)
        typer.echo(f"interrupted ({signal.Signals(signum).name}): the finished fault draws are kept; rerun the same "
                   "command to continue where it stopped", err=True)
        _SAID.append(signum)
        raise typer.Exit(128 + signum) from None
    except _user_errors() as exc:
        _fail(_describe(exc))
    if aware is not None:
        _faults_aware(chip, spec, aware, aware_epochs, aware_lr, as_json=as_json, out=out, quiet=quiet)
        return
    clean = session.clean_accuracy(spec)
    _print_fault_report(write_fault_report(wl, study, clean, out or _faults_dir(wl, "faults", spec),
                                           str(net.checkpoint)), as_json)


def _faults_dir(wl: Any, kind: str, spec: Any, **options: Any) -> Path:
    """The folder of a fault study: its fault options and `options` in the hash."""
    return _options_dir(wl, kind, fault=spec.model_dump(mode="json"), **options)


def _options_dir(wl: Any, kind: str, **options: Any) -> Path:
    """results/<workload>-<config hash>-<kind>-<hash of every option that changes the content>/:
    two runs of a command on the same workload with other options never share a folder."""
    import hashlib

    digest = hashlib.sha256(json.dumps(options, sort_keys=True).encode()).hexdigest()[:8]
    return Path("results") / f"{wl.config.name}-{wl.config_hash()}-{kind}-{digest}"


def _input_shape(arrays: Any) -> tuple[int, int, int]:
    from simulator.data.load import input_shape

    return input_shape(arrays)


def _print_fault_report(report: FaultReport, as_json: bool) -> None:
    """What `resim faults` prints of the folder the report stage wrote (simulator.report.faults)."""
    from simulator.report.results import markdown_table

    if as_json:
        typer.echo(report.summary.to_json(orient="records"))
        return
    for table in report.tables:
        typer.echo(markdown_table(table))
    for line in report.lines:
        typer.echo(line)
    typer.echo(f"{report.kind}: {report.summary_file} (also {report.html_file})")


@dataclass(frozen=True)
class _Chip:
    """What `resim faults` works on: the workload, its network, the network mapped, the data."""

    workload: Any
    model: Any
    mapped: Any
    tensors: Any
    checkpoint: str


def _faults_aware(chip: _Chip, spec: Any, aware: str, epochs: int, lr: Optional[float], *, as_json: bool,
                  out: Optional[Path], quiet: bool) -> None:
    """`resim faults --aware`: seed 001's fault-aware fine-tuning strategies, one table and CSVs."""
    from simulator.config.faults import FaultOptionError, FaultSpec
    from simulator.faults.aware_training import STRATEGIES
    from simulator.faults.study import run_aware_study
    from simulator.report.faults import write_aware_report

    if lr is not None and lr <= 0:
        _fail(f"--aware-lr: the learning rate must be > 0, got {lr}")
    strategies = [s.strip() for s in aware.split(",") if s.strip()]
    unknown = [s for s in strategies if s not in STRATEGIES]
    if unknown or not strategies:
        _fail(f"--aware: unknown strategy {', '.join(unknown) or '(none)'}; allowed: {', '.join(STRATEGIES)}")
    try:
        draws = run_aware_study(chip.workload, chip.model, chip.mapped, chip.tensors, spec, strategies=strategies,
                                epochs=epochs, lr=lr, progress=not quiet)
    except FaultOptionError as exc:
        _fail(f"{FaultSpec.flags()[exc.key]}: {exc}")
    wl = chip.workload
    out_dir = out or _faults_dir(wl, "faults-aware", spec, strategies=strategies, epochs=epochs, lr=lr)
    _print_fault_report(write_aware_report(wl, draws, spec, strategies, epochs, lr, out_dir, chip.checkpoint), as_json)


def _session(workload: Path, data_dir: Optional[Path], quiet: bool) -> Session:
    """A session on the workload (simulator.pipeline.Session), its layer names checked before the
    data set, training or anything else; user errors printed as one line and exit 1."""
    from simulator.pipeline import Session

    try:
        session = Session.open(workload, data_dir=data_dir, progress=not quiet, command="resim faults")
        assert session.workload is not None
        _check_layer_names(session.workload)
        return session
    except _user_errors() as exc:
        _fail(_describe(exc))


def _load(workload: Path, data_dir: Optional[Path], quiet: bool, device: Optional[str] = None,
          **prepare: bool) -> tuple[Workload, Arrays, PreparedNetwork]:
    """(workload, data, prepared network), user errors printed as one line and exit 1; `device`
    replaces the workload's train.device."""
    from dataclasses import replace

    from simulator.config import load_workload
    from simulator.data.load import load_data
    from simulator.preparation import prepare_network

    try:
        wl = load_workload(workload)
        _check_layer_names(wl)      # before the data set, training or anything else
        if device is not None:  # not part of any checkpoint key (TrainSpec's dump leaves it out)
            recipe = wl.config.train.model_copy(update={"device": device})
            wl = replace(wl, config=wl.config.model_copy(update={"train": recipe}))
        arrays = load_data(wl, data_dir)
        return wl, arrays, prepare_network(wl, arrays, progress=not quiet, **prepare)
    except _user_errors() as exc:
        _fail(_describe(exc))


def _numbers(text: str, kind: type, option: str) -> list:
    try:
        values = [kind(part) for part in text.split(",") if part.strip()]
    except ValueError:
        shown = text if len(text) <= 80 else text[:77] + "..."
        _fail(f"{option}: {shown!r} is not a comma-separated list of {kind.__name__} values")
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
    out: Optional[Path] = typer.Option(
        None, "--out", help="Folder for map.csv, map_summary.csv, map.md, saved_vs_size.png (default "
        "results/<workload>-<hash>-map-<hash of the options>/)"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars"),
    energy: bool = typer.Option(False, "--energy", help="Also energy per inference and latency on the workload's "
                                "chip built from arrays of each size (seed 004 Fig. 8); plot energy_vs_size.png"),
) -> None:
    """Map the workload's network at several crossbar sizes and strategies: crossbars, bound, time."""
    import pandas as pd

    from simulator.atomic import write_text
    from simulator.hardware.study import energy_by_layer
    from simulator.lowering.dataflow import dataflow
    from simulator.mapping.network import MappedNetwork
    from simulator.mapping.setup import MappingSetup
    from simulator.mapping.sweep import seed_table, summary, sweep
    from simulator.pruning.magnitude import global_magnitude, layerwise_magnitude
    from simulator.pruning.masks import apply_masks
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
    flow = dataflow(net.model, _input_shape(arrays)) if energy else None

    def on_chip(mapped: MappedNetwork) -> list[dict[str, Any]]:
        assert flow is not None
        return energy_by_layer(mapped, wl.hardware, flow)

    original = {k: v.clone() for k, v in net.model.state_dict().items()}
    parts = []
    for d in densities:
        net.model.load_state_dict(original)
        if d is not None:
            apply_masks(net.model, pruners[method](net.model, d))
        parts.append(sweep(net.model, _input_shape(arrays), MappingSetup.of(wl), size_list, strategy_list, d,
                           columns=on_chip if energy else None))
    per_layer = pd.concat(parts, ignore_index=True)
    totals = summary(per_layer)
    shown = totals if density else totals.drop(columns="density")
    out_dir = out or _options_dir(wl, "map", sizes=size_list, reorder=strategy_list, density=densities,
                                  method=method if density else None, energy=energy)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_text(out_dir / "map.csv", per_layer.to_csv(index=False))
    write_text(out_dir / "map_summary.csv", totals.to_csv(index=False))
    saved_vs_size(totals, out_dir / "saved_vs_size.png", f"{wl.config.name}: crossbars saved")
    if energy:
        from simulator.report.plots import energy_vs_size

        energy_vs_size(totals, out_dir / "energy_vs_size.png", f"{wl.config.name} on {wl.hardware.name}")
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
    """Map one raw matrix: crossbars placed, dense crossbars, lower bound and time."""
    import numpy as np

    from simulator.mapping.mapper import map_matrix

    names = _strategies(reorder)
    if len(names) != 1:
        _fail(f"--reorder: give one strategy, got {reorder!r}")
    strategy = names[0]
    values = _read_matrix(matrix)
    mapped = map_matrix(values != 0, size, strategy, seed)
    result = {"file": str(matrix), "shape": list(values.shape), "nonzeros": int(np.count_nonzero(values)),
              "size": size, "strategy": strategy, "tiles_dense": mapped.dense, "tiles_placed": mapped.placed,
              "lower_bound": mapped.bound, "seconds": round(mapped.seconds, 4), **mapped.registers}
    if as_json:
        typer.echo(json.dumps(result))
    else:
        for key, value in result.items():
            typer.echo(f"{key}: {value}")


def _read_matrix(path: Path) -> Any:
    """The 2-D numeric matrix in the .npy file `path`, every value finite; anything else (an .npz
    archive, a pickle, strings, a structured dtype, NaN or inf) exits with one line naming the file."""
    import numpy as np

    from simulator.files import special_kind

    if path.is_dir():
        _fail(f"{path}: is a folder; give a .npy file holding one 2-D matrix")
    kind = special_kind(path)
    if kind:
        _fail(f"{path}: is {kind}, not a .npy file; give a .npy file holding one 2-D matrix")
    _check_npy_header(path)
    try:
        values = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        _fail(f"{path}: not a readable .npy matrix ({_describe(exc)[:160]}); give a .npy file from numpy.save")
    if isinstance(values, np.lib.npyio.NpzFile):
        names = ", ".join(values.files[:5])
        values.close()
        _fail(f"{path}: is an .npz archive (arrays {names}); give one matrix as a .npy file (numpy.save)")
    if values.dtype.names is not None or values.dtype.kind not in "biuf":
        _fail(f"{path}: holds {values.dtype} values; allowed: a matrix of numbers (bool, integer or float)")
    if values.ndim != 2:
        _fail(f"{path}: expected a 2-D matrix, got shape {values.shape}")
    if values.dtype.kind == "f" and not np.isfinite(values).all():
        bad = np.argwhere(~np.isfinite(values))[0]
        _fail(f"{path}: holds {values[tuple(bad)]} at row {bad[0]}, column {bad[1]}; every value must be finite")
    if 0 in values.shape:
        _fail(f"{path}: the matrix is empty (shape {values.shape}); give at least one row and column")
    return values


# Elements map-matrix reads: twice VGG-16's largest layer (fc6, 25088 x 4096), 1.6 GB as float64.
MAX_MATRIX_ELEMENTS = 2 * 10**8


def _check_npy_header(path: Path) -> None:
    """The shape and dtype a .npy file's header claims, checked before numpy allocates them: at
    most MAX_MATRIX_ELEMENTS values, and no more bytes than the file holds (a 900-byte file may
    claim a terabyte). Files that are not .npy (an .npz archive) are left to numpy.load."""
    import math

    import numpy as np
    from numpy.lib import format as npy

    try:
        with path.open("rb") as handle:
            version = npy.read_magic(handle)
            read = npy.read_array_header_1_0 if version == (1, 0) else npy.read_array_header_2_0
            shape, _, dtype = read(handle)
            data_bytes = path.stat().st_size - handle.tell()
    except (ValueError, OSError, EOFError, SyntaxError):
        return    # not a .npy header numpy reads: numpy.load names what it is
    count = math.prod(shape)
    if count > MAX_MATRIX_ELEMENTS:
        _fail(f"{path}: its header claims shape {tuple(shape)} ({count:.3g} values); map-matrix reads at most "
              f"{MAX_MATRIX_ELEMENTS:.0e} values")
    if not dtype.hasobject and count * np.dtype(dtype).itemsize > data_bytes:
        _fail(f"{path}: its header claims shape {tuple(shape)} of {dtype} ({count * dtype.itemsize} bytes), the file "
              f"holds {data_bytes} bytes of data (truncated?)")


data_app = typer.Typer(help="Data set files: split one into parts to move it piece by piece.",
                       rich_markup_mode=None, context_settings=HELP,
                       no_args_is_help=True)
app.add_typer(data_app, name="data")


@data_app.command("split")
def data_split(
    source: Path = typer.Argument(..., help="The data set: <name>.npz, a canonical archive or extracted folder, "
                                  "or a folder holding one"),
    out: Path = typer.Option(..., "--out", help="New folder for the parts and manifest.json (must not exist); "
                             "name it <name>-parts inside a data directory so that --data-dir finds it"),
    parts: int = typer.Option(4, "--parts", min=1, help="Number of parts (CIFAR-10 in 4: about 42 MB each)"),
    dataset: Optional[str] = typer.Option(None, "--dataset", help="Data set name; default: told from the file name"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar"),
) -> None:
    """Write a data set as compressed .npz parts plus a manifest with md5s; loading the parts gives
    the same arrays (and dataset_id, so the same cached checkpoints) as the whole file."""
    from simulator.data.datasets import DataError, read_data_file, write_parts

    try:
        arrays = read_data_file(source, dataset)
        folder = write_parts(arrays, out, parts, progress=not quiet)
    except DataError as exc:
        _fail(str(exc))
    typer.echo(f"{arrays.spec.name}: {len(arrays.y_train)} train + {len(arrays.y_test)} test images "
               f"in {parts} parts, {arrays.dataset_id}")
    typer.echo(f"parts: {folder}")


catalog.register(app)   # resim list, resim init: the shipped designs and workloads (simulator/catalog.py)


class _Terminated(KeyboardInterrupt):
    """SIGTERM (`kill PID`, a batch system's stop), taken as Ctrl-C is; `signum` says which."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"signal {signum}")
        self.signum = signum


# Signals taken as an interruption, in order (typer reports any interruption as exit code 130).
_SIGNALS: list[int] = []

# Interruptions a command has already reported in its own line (one line per interruption).
_SAID: list[int] = []


# The process that installed `_terminate`: a worker it forks (the sensitivity study's pool)
# inherits the handler, and a pool ends its workers with SIGTERM, which must end them quietly.
_MAIN_PID: list[int] = []


def _terminate(signum: int, frame: object) -> None:
    if _MAIN_PID and os.getpid() != _MAIN_PID[0]:
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    from types import FrameType

    from simulator import interrupts

    if isinstance(frame, FrameType) and interrupts.importing(frame):   # as Ctrl-C there (simulator.interrupts)
        interrupts.exit_now(signum)
    _SIGNALS.append(signum)
    raise _Terminated(signum)


def _default_sigterm() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


_FORK_HOOK: list[bool] = []


def _install_sigterm() -> None:
    """SIGTERM as an interruption in this process; a child it forks starts with SIGTERM's default,
    so a pool's terminate ends its workers at once and without a word. Left to `_terminate` in the
    child, about one pool in twenty hung in Pool.terminate's join (a worker that took the signal in
    the middle of its own work never ran the handler's exit): seen 8 times in 40 runs of five pools."""
    _MAIN_PID[:] = [os.getpid()]
    signal.signal(signal.SIGTERM, _terminate)
    if not _FORK_HOOK:
        os.register_at_fork(after_in_child=_default_sigterm)
        _FORK_HOOK.append(True)


def main() -> None:
    """Console-script entry point: Ctrl-C exits 130 (128 + SIGINT) and SIGTERM 143, each with one
    line saying so, as shells expect."""
    from typer._click.exceptions import ClickException  # typer vendors click; its errors are these
    from typer.exceptions import Abort, Exit

    from simulator import interrupts

    # Ctrl-C (and `kill -INT`) as an interruption, also when SIGINT was inherited ignored; one that
    # lands inside an import ends the process at once (the console script, simulator.entry, has
    # installed this before importing this module).
    interrupts.install()
    # SIGTERM's default ends the process without a word (and without running cleanup code).
    _install_sigterm()
    _SAID.clear()
    signum: int | None = None
    try:
        # Outside standalone mode typer returns the exit code of typer.Exit (Ctrl-C: 130).
        code = app(standalone_mode=False)
    except (Abort, KeyboardInterrupt) as exc:
        signum = getattr(exc.__cause__ or exc, "signum", signal.SIGINT)
        code = 128 + signum
    except Exit as exc:
        code = exc.exit_code
    except ClickException as exc:         # a usage error (unknown option, missing argument)
        exc.show()
        code = exc.exit_code
    if code == 130 and _SIGNALS:          # typer's 130 for the SIGTERM that interrupted the command
        signum = _SIGNALS[-1]
        code = 128 + signum
    if (signum is not None or code == 130) and not _SAID:
        typer.echo(interrupts.message(signum if signum is not None else signal.SIGINT), err=True)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
