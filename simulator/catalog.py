"""`resim list` and `resim init`: what ships with resim, and a shipped workload copied for editing.

`resim list` prints one line per shipped design and workload, read from the files themselves (the
hardware file's array and chip, the workload's network, data set, density and crossbar, and the
test accuracy its shipped checkpoint was exported with), so a new file is listed as it is.
`resim init NAME` writes the shipped workload NAME into a folder; its references to shipped files
become their names (`hardware: sparse_small`, `checkpoint: vgg16_cifar_sparse_7.5.pt`), which
resolve wherever resim is installed, or with `--hardware` the hardware files are copied beside it
and named by their file names, ready to edit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from simulator import shipped

if TYPE_CHECKING:
    from simulator.config.loader import Workload


@dataclass(frozen=True)
class Design:
    """One shipped hardware design, as `resim list` shows it."""

    name: str
    rows: int
    cols: int
    cell_bits: int
    input_bits: int
    technology_nm: int
    tiles: int
    arrays_per_tile: int
    execution: str

    def line(self) -> str:
        return (f"{self.rows}x{self.cols} arrays of {self.cell_bits}-bit cells, {self.input_bits}-bit inputs, "
                f"{self.tiles} tiles x {self.arrays_per_tile} arrays, {self.execution}, {self.technology_nm} nm")


@dataclass(frozen=True)
class ShippedWorkload:
    """One shipped workload, as `resim list` shows it."""

    name: str
    network: str
    dataset: str
    density: float | None          # None: the dense network (no prune: section)
    crossbar: int                  # tile size N of its mapping
    hardware: str                  # the design it maps onto
    baseline: str | None           # the dense baseline chip it is compared with
    trained: str                   # how its weights come about
    accuracy: float | None         # test accuracy its shipped checkpoint was exported with

    def line(self) -> str:
        density = "dense" if self.density is None else f"density {self.density * 100:.3g} %"
        versus = f" vs {self.baseline}" if self.baseline else ""
        accuracy = f", test accuracy {self.accuracy * 100:.2f} % at export" if self.accuracy is not None else ""
        return (f"{self.network} / {self.dataset}, {density}, {self.crossbar}x{self.crossbar} crossbars on "
                f"{self.hardware}{versus}, {self.trained}{accuracy}")


def designs() -> list[Design]:
    """Every shipped hardware design, by name."""
    from simulator.config.loader import load_hardware

    found = []
    for name in shipped.names("hardware"):
        path = shipped.path_of("hardware", name)
        assert path is not None
        chip = load_hardware(path)
        found.append(Design(name, chip.array.rows, chip.array.cols, chip.array.cell_bits, chip.input_bits,
                            chip.technology_nm, chip.chip.tiles, chip.tile.arrays, chip.chip.execution))
    return found


def workloads() -> list[ShippedWorkload]:
    """Every shipped workload, by name, with what its files say about it."""
    from simulator.config.loader import load_workload

    return [_describe(name, load_workload(shipped.path_of("workload", name) or name))
            for name in shipped.names("workload")]


def _describe(name: str, workload: Workload) -> ShippedWorkload:
    config = workload.config
    checkpoint = workload.checkpoint_path
    accuracy = None
    if checkpoint is not None:
        trained = "trained (shipped checkpoint)"
        accuracy = _exported_accuracy(checkpoint)
    elif config.data.dataset == "imagenet-shape":
        trained = "untrained (shapes only, no images)"
    elif config.train.epochs == 0:
        trained = "untrained (initial weights)"
    else:
        trained = f"trains on its first run ({config.train.epochs} epochs{', then pruned' if config.prune else ''})"
    baseline = config.hardware_study.baseline
    return ShippedWorkload(
        name=name, network=config.model.name or config.model.import_ or "?", dataset=config.data.dataset,
        density=config.prune.density if config.prune is not None else None, crossbar=workload.crossbar_size,
        hardware=workload.hardware.name,
        baseline=None if baseline is None else _design_name(workload.path, baseline),
        trained=trained, accuracy=accuracy)


def _design_name(workload: Path, given: str) -> str:
    from simulator.config.loader import load_hardware, reference

    return load_hardware(reference(workload, "hardware", given)).name


def _exported_accuracy(checkpoint: Path) -> float | None:
    """metrics.test_accuracy of a compact checkpoint's info, as `resim train --export` wrote it."""
    from simulator.network.compact import read_info

    metrics = read_info(checkpoint).get("metrics")
    value = metrics.get("test_accuracy") if isinstance(metrics, dict) else None
    return float(value) if isinstance(value, (int, float)) else None


# ----------------------------------------------------------------------------- resim init

# Workload keys that name other files: (key path, kind of shipped file).
_REFERENCES: tuple[tuple[tuple[str, ...], shipped.Kind], ...] = (
    (("hardware",), "hardware"), (("hardware_study", "baseline"), "hardware"), (("model", "checkpoint"), "checkpoint"))


@dataclass(frozen=True)
class Copied:
    """What `init` wrote: the workload and the hardware files beside it."""

    workload: Path
    hardware: list[Path]


def init(name: str, folder: Path, *, hardware: bool = False, force: bool = False) -> Copied:
    """Write the shipped workload `name` into `folder` as <its file name>, its references to
    shipped files rewritten to their names, or with `hardware` its hardware files copied too and
    named by file name. Comments and layout are kept. A file already there is an error unless
    `force`. Raises ConfigError for an unknown name (listing the shipped ones) or a file in the way."""
    import yaml

    from simulator.atomic import write_text
    from simulator.config.errors import ConfigError, Problem
    from simulator.config.loader import read_yaml, reference

    source = shipped.path_of("workload", name)
    if source is None:
        raise ConfigError([Problem(Path(name), "", shipped.unknown("workload", name))])
    text = source.read_text(encoding="utf-8")
    document = read_yaml(source)
    copies: dict[Path, Path] = {}          # hardware file shipped -> its copy
    for keys, kind in _REFERENCES:
        value = _get(document, keys)
        if not isinstance(value, str):
            continue
        target = reference(source, kind, value)
        if hardware and kind == "hardware":
            copies[target] = folder / target.name
            new = target.name
        else:
            new = target.relative_to(shipped.folder(kind).resolve()).as_posix()
            new = new if kind == "checkpoint" else new.removesuffix(target.suffix)
        text = _replace_value(text, keys, value, new, source)
        _set(document, keys, new)
    if yaml.safe_load(text) != document:     # the line edits changed exactly these values
        raise RuntimeError(f"resim init: rewriting the references of {source} went wrong; please report it")
    written = folder / source.name
    for path in [written, *copies.values()]:
        if path.exists() and not force:
            raise ConfigError([Problem(path, "", "is already there; pass --force to overwrite it, or run resim init "
                                                 "in another folder")])
    header = (f"# Copied by `resim init {name}` from the workload shipped with resim; hardware, baseline and "
              "checkpoint\n# name shipped files (`resim list`) unless a file of that name is beside this one.\n")
    write_text(written, header + text)
    for original, copy in copies.items():
        write_text(copy, original.read_text(encoding="utf-8"))
    return Copied(written, list(copies.values()))


def _get(document: dict[str, Any], keys: tuple[str, ...]) -> Any:
    node: Any = document
    for key in keys:
        node = node.get(key) if isinstance(node, dict) else None
    return node


def _set(document: dict[str, Any], keys: tuple[str, ...], value: str) -> None:
    node = document
    for key in keys[:-1]:
        node = node[key]
    node[keys[-1]] = value


def _replace_value(text: str, keys: tuple[str, ...], old: str, new: str, source: Path) -> str:
    """`text` with the one line `<key>: <old>` (comment kept) reading `<key>: <new>`."""
    pattern = re.compile(rf"^(\s*{re.escape(keys[-1])}:\s*)(['\"]?){re.escape(old)}\2(\s*(#.*)?)$", re.MULTILINE)
    found = pattern.findall(text)
    if len(found) != 1:
        raise RuntimeError(f"resim init: {'.'.join(keys)} of {source} is not on one line of its own; please report it")
    return pattern.sub(lambda match: f"{match.group(1)}{new}{match.group(3)}", text)


# ----------------------------------------------------------------------------- the commands

def list_command() -> None:
    """Print the shipped hardware designs and workloads, one line each; run one by name
    (resim run NAME), name a design in a workload (hardware: NAME) or copy a workload here to edit
    it (resim init NAME)."""
    listed_designs = designs()
    listed_workloads = workloads()
    typer.echo("designs (hardware: NAME in a workload; simulate(..., hardware=\"NAME\")):")
    width = max(len(d.name) for d in listed_designs)
    for design in listed_designs:
        typer.echo(f"  {design.name:<{width}}  {design.line()}")
    typer.echo("workloads (resim run NAME; resim init NAME copies one here to edit):")
    width = max(len(w.name) for w in listed_workloads)
    for workload in listed_workloads:
        typer.echo(f"  {workload.name:<{width}}  {workload.line()}")


def init_command(
    name: str = typer.Argument(..., help="A shipped workload's name (resim list)"),
    hardware: bool = typer.Option(False, "--hardware", help="Copy its hardware files too (and name them by file "
                                  "name in the copy), to edit them as well"),
    folder: Path = typer.Option(Path("."), "--to", help="Folder to write into (default: the current folder)"),
    force: bool = typer.Option(False, "--force", help="Overwrite files already there"),
) -> None:
    """Copy a shipped workload (and with --hardware its hardware files) into a folder for editing."""
    copied = init(name, folder, hardware=hardware, force=force)
    typer.echo(f"workload: {copied.workload} (resim run {copied.workload})")
    for path in copied.hardware:
        typer.echo(f"hardware: {path}")


def register(app: typer.Typer) -> None:
    """Add `resim list` and `resim init` to the command line."""
    app.command("list")(list_command)
    app.command("init")(init_command)

