"""A sweep's grid: dotted workload keys with lists of values, from `--set` options or a sweep YAML,
checked against the workload model, and the grid points (design.md "Results": one row per point).

Every point is the base workload with its overrides applied and validated through WorkloadConfig,
so a value the workload rejects is an error before anything runs.
"""

from __future__ import annotations

import copy
import itertools
import json
import math
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from simulator import shipped
from simulator.cache import stable_key
from simulator.config import safe_yaml
from simulator.config.errors import ConfigError, Problem
from simulator.config.loader import named_file, read_yaml, reference, validate
from simulator.config.workload import WorkloadConfig

# Workload keys holding paths relative to the workload file (simulator/config/workload.py); a
# point's copy lives in the sweep folder, so they are made absolute there.
# Points a sweep runs unless `--max-points` allows more (a grid of 10**6 points would spend
# minutes only validating its points before the first one runs).
MAX_POINTS = 1000

PATH_KEYS = ("hardware", "model.checkpoint", "data.dir", "hardware_study.baseline")
# The path keys that may name a shipped file instead (simulator.shipped).
_SHIPPED_KINDS: dict[str, shipped.Kind] = {"hardware": "hardware", "hardware_study.baseline": "hardware",
                                           "model.checkpoint": "checkpoint"}


@dataclass(frozen=True)
class Grid:
    """The base workload file and, per dotted key, the values swept (in the order given)."""

    workload: Path
    axes: dict[str, list[Any]]
    source: Path | str           # where the grid came from, for error messages

    @property
    def size(self) -> int:
        """How many points the grid has (counted, not built)."""
        return math.prod(len(values) for values in self.axes.values())

    def describe(self) -> str:
        """'N points (a x b over key1, key2)'."""
        counts = " x ".join(str(len(values)) for values in self.axes.values())
        return f"{self.size} point{'s' if self.size != 1 else ''} ({counts} over {', '.join(self.axes)})"

    def check_size(self, max_points: int) -> None:
        """ConfigError when the grid has more than `max_points` points: a typo (one value too many
        on each of a few axes) multiplies a sweep into days, so a large one must be asked for."""
        if self.size > max_points:
            raise ConfigError([Problem(Path(str(self.source)), "grid", f"{self.describe()}: more than the "
                                       f"{max_points} a sweep runs unless asked; give --max-points {self.size} to "
                                       "run them all, or fewer values")])

    def points(self) -> list[dict[str, Any]]:
        """Every combination of the axes' values, the last key varying fastest."""
        keys = list(self.axes)
        return [dict(zip(keys, values)) for values in itertools.product(*self.axes.values())]


@dataclass(frozen=True)
class Point:
    """One grid point: its overrides, its id and its validated workload document."""

    overrides: dict[str, Any]
    point_id: str
    document: dict[str, Any]     # the workload YAML with the overrides applied, paths absolute


def point_id(overrides: dict[str, Any]) -> str:
    """Short hash of a point's overrides: the same overrides give the same id in every sweep."""
    return stable_key({"overrides": overrides})[:12]


# ----------------------------------------------------------------------------- reading the grid

def parse_set(option: str) -> tuple[str, list[Any]]:
    """`key=v1,v2,...` -> (key, [v1, v2, ...]); every value is read as YAML (8 -> int, 0.04 ->
    float, kmeans -> text, null -> none)."""
    key, sep, values = option.partition("=")
    key = key.strip()
    if not sep or not key or not values.strip():
        raise ConfigError([Problem(Path("--set"), option, "expected KEY=V1,V2,... (e.g. mapping.crossbar.size=16,32)")])
    parsed = []
    for text in values.split(","):
        try:
            parsed.append(safe_yaml.load(text.strip()))
        except safe_yaml.YamlLimitError as exc:
            raise ConfigError([Problem(Path("--set"), key, exc.message, text)]) from None
        except yaml.YAMLError:
            raise ConfigError([Problem(Path("--set"), key, "value is not a YAML scalar", text)]) from None
    return key, parsed


def grid_from_sets(workload: Path, options: list[str]) -> Grid:
    """The grid of `resim sweep WORKLOAD --set key=v1,v2 ...`."""
    axes: dict[str, list[Any]] = {}
    for option in options:
        key, values = parse_set(option)
        if key in axes:
            raise ConfigError([Problem(Path("--set"), key, "key given twice; give all its values in one --set")])
        axes[key] = values
    grid = Grid(named_file(workload), axes, "--set")
    check_grid(grid)
    return grid


def is_sweep_file(path: Path) -> bool:
    """A sweep YAML has top-level `grid:` (a workload has `model:` and `data:`); a file that is
    not readable YAML within the limits raises ConfigError saying why."""
    data = read_yaml(named_file(path))
    return "grid" in data and "model" not in data


def grid_from_file(path: Path, extra_sets: Sequence[str] = ()) -> Grid:
    """A sweep YAML: `workload:` (relative to the sweep file) and `grid: {dotted.key: [values]}`;
    `--set` options add keys or replace a key's values."""
    path = Path(path)
    data = read_yaml(path)
    problems = [Problem(path, key, "unknown key; allowed keys here: workload, grid")
                for key in data if key not in ("workload", "grid")]
    workload = data.get("workload")
    if not isinstance(workload, str) or not workload.strip():
        problems.append(Problem(path, "workload", "required: the workload file, relative to this sweep file",
                                *([workload] if workload is not None else [])))
    elif shipped.find("workload", workload, path.parent) is None:
        problems.append(Problem(path, "workload", f"file not found at {path.parent / workload}, and "
                                f"{shipped.unknown('workload', workload)}", workload))
    axes = data.get("grid")
    if not isinstance(axes, dict) or not axes:
        problems.append(Problem(path, "grid", "required: a mapping of dotted workload keys to lists of values "
                                "(e.g. mapping.crossbar.size: [16, 32])", *([axes] if axes is not None else [])))
        axes = {}
    for key, values in axes.items():
        if not isinstance(values, list) or not values:
            problems.append(Problem(path, f"grid.{key}", "must be a non-empty list of values", values))
    if problems or not isinstance(workload, str):   # a workload that is no string is a problem above
        raise ConfigError(problems)
    merged = {str(k): list(v) for k, v in axes.items()}
    for option in extra_sets:
        key, values = parse_set(option)
        merged[key] = values
    grid = Grid(reference(path, "workload", workload), merged, path)
    check_grid(grid)
    return grid


# ----------------------------------------------------------------------------- checking keys

def _block_type(annotation: Any) -> Any:
    """The BaseModel (or dict) inside an annotation like `X | None`, else None."""
    if isinstance(annotation, type) and (issubclass(annotation, BaseModel) or annotation is dict):
        return annotation
    if typing.get_origin(annotation) is dict:
        return dict
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        for member in typing.get_args(annotation):
            found = _block_type(member)
            if found is not None:
                return found
    return None


def key_problem(key: str) -> str | None:
    """Why `key` is not a dotted path to a workload field, or None when it is one."""
    current: Any = WorkloadConfig
    parts = key.split(".")
    for depth, part in enumerate(parts):
        if current is dict:
            return None  # free-form mapping (model.kwargs.*): the builder checks its arguments
        fields = {info.alias or name: info for name, info in current.model_fields.items()}
        if part not in fields:
            where = ".".join(parts[:depth]) or "the top level"
            return f"unknown workload key {part!r}; allowed keys at {where}: {', '.join(fields)}"
        inner = _block_type(fields[part].annotation)
        last = depth == len(parts) - 1
        if last:
            return None
        if inner is None:
            return f"{'.'.join(parts[:depth + 1])} is a value, not a block: nothing below it to set"
        current = inner
    return None


def key_unit(key: str) -> str | None:
    """The unit the workload model gives the field at dotted `key` ("1" for dimensionless), or
    None for a key inside a free-form mapping or not in the model."""
    current: Any = WorkloadConfig
    info = None
    for part in key.split("."):
        if current is None or current is dict:
            return None
        fields = {field.alias or name: field for name, field in current.model_fields.items()}
        if part not in fields:
            return None
        info = fields[part]
        current = _block_type(info.annotation)
    extra = info.json_schema_extra if info is not None else None
    return extra.get("unit") if isinstance(extra, dict) else None


def check_grid(grid: Grid) -> None:
    """Every key a workload field, every axis non-empty; ConfigError listing each problem."""
    problems = []
    prefix = "grid." if isinstance(grid.source, Path) else ""
    for key, values in grid.axes.items():
        reason = key_problem(key)
        if reason:
            problems.append(Problem(Path(str(grid.source)), f"{prefix}{key}", reason))
        elif not values:
            problems.append(Problem(Path(str(grid.source)), f"{prefix}{key}", "give at least one value"))
        elif len({json.dumps(v, sort_keys=True, default=str) for v in values}) != len(values):
            problems.append(Problem(Path(str(grid.source)), f"{prefix}{key}", "a value is listed twice", values))
    if problems:
        raise ConfigError(problems)


# ----------------------------------------------------------------------------- building points

def set_key(document: dict[str, Any], key: str, value: Any) -> None:
    """Set a dotted key, creating the blocks on the way (a workload may lack `prune:`)."""
    *blocks, last = key.split(".")
    node = document
    for part in blocks:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[last] = value


def _get(document: dict[str, Any], key: str) -> Any:
    node: Any = document
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _absolute_paths(document: dict[str, Any], base: Path) -> None:
    """Paths in a workload are relative to its file; the point's copy lives elsewhere. A shipped
    file named by its name (hardware: prime) becomes its path too."""
    for key in PATH_KEYS:
        value = _get(document, key)
        if isinstance(value, str):
            kind = _SHIPPED_KINDS.get(key)
            found = shipped.find(kind, value, base) if kind is not None else None
            set_key(document, key, str((found or base / value).resolve()))


def overridden_workload(workload: Path, options: list[str]) -> dict[str, Any]:
    """The workload document of `resim run WORKLOAD --set key=value ...`: the sweep's grammar with
    one value per key, validated as a sweep point is (paths made absolute); ConfigError naming
    the option otherwise."""
    for option in options:
        key, values = parse_set(option)
        if len(values) != 1:
            raise ConfigError([Problem(Path("--set"), key, "resim run takes one value per key (several values make a "
                                       "grid: use resim sweep)", option.partition("=")[2])])
    grid = grid_from_sets(workload, options)
    (point,) = build_points(grid, runs_in="the run's results folder")
    return point.document


def build_points(grid: Grid, runs_in: str = "the sweep folder") -> list[Point]:
    """Validate every grid point through WorkloadConfig; ConfigError naming the source, the key
    and the rejected value for each point the workload model rejects."""
    base = read_yaml(grid.workload)
    if _get(base, "model.import") is not None:
        raise ConfigError([Problem(grid.workload, "model.import", f"a copy of the workload runs from {runs_in}, "
                                   "where a user's module next to the workload is not importable; use a zoo model "
                                   "(model.name) instead")])
    points, problems = [], []
    for overrides in grid.points():
        document = copy.deepcopy(base)
        for key, value in overrides.items():
            set_key(document, key, value)
        try:
            validate(WorkloadConfig, document, grid.workload)
        except ConfigError as exc:
            on_file = isinstance(grid.source, Path)
            problems += [Problem(Path(str(grid.source)),
                                 f"grid.{p.path}" if on_file and p.path in overrides else p.path,
                                 f"the workload {grid.workload} with this sweep's values rejects it: {p.message}",
                                 p.value)
                         for p in exc.problems]
            continue
        _absolute_paths(document, grid.workload.parent)
        points.append(Point(overrides, point_id(overrides), document))
    if problems:
        # One line per distinct problem: a bad value repeats at every point of the other axes.
        unique = list({str(p): p for p in problems}.values())
        raise ConfigError(unique)
    return points
