"""A design space file (`resim explore WORKLOAD --space space.yaml`, issue #28): the axes (dotted
workload keys, the grammar of `resim sweep --set`, each with a list of values or a range), the
objectives (each min or max), the constraints that prune, how accuracy under faults is measured,
the search's budget and seed, and the reference designs the report marks.

Every key is checked against the workload model (simulator.sweep.grid.key_problem) and every
value is validated through the workload it overrides, so a device setting the workload model
gains (faults.read_noise, ...) is an axis without a change here. A problem is one line naming the
file, the key path, the value and what is allowed.
"""

from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simulator.config.errors import ConfigError, Problem
from simulator.config.loader import read_yaml
from simulator.sweep.grid import Grid, build_points, key_problem, set_key
from simulator.sweep.table import FIGURES

# The figure a fault study adds: mean test accuracy under stuck-at faults at the stated rate.
FAULT_ACCURACY = "accuracy_under_faults"
# Short names for the figures a space usually names.
ALIASES = {"energy": "energy_per_inference_uj", "latency": "latency_us", "area": "area_mm2",
           "accuracy": FAULT_ACCURACY, "clean_accuracy": "test_accuracy"}
# The per-design figures an objective or a constraint may name: the sweep's numeric columns and
# the fault study's accuracy.
_NOT_FIGURES = {"point_id", "config_hash", "results", "seconds"}
OBJECTIVE_FIGURES: tuple[str, ...] = (*[f for f in FIGURES if f not in _NOT_FIGURES], FAULT_ACCURACY)
# Figures that are fractions: a constraint may give them in percent ("accuracy_under_faults >= 85 %").
FRACTIONS = {FAULT_ACCURACY, "test_accuracy", "density"}
SENSES = ("min", "max")
OPERATORS = ("<=", ">=", "<", ">")

# The most values one range may expand to (a typo in a step must not make a million designs).
MAX_AXIS_VALUES = 1000
TOP_KEYS = ("workload", "axes", "objectives", "constraints", "faults", "search", "references")


@dataclass(frozen=True)
class Objective:
    """One figure to minimise or maximise."""

    figure: str
    sense: str          # min | max

    def signed(self, value: float) -> float:
        """The value in minimisation form (a max objective negated)."""
        return value if self.sense == "min" else -value


@dataclass(frozen=True)
class Constraint:
    """`figure op bound`, e.g. area_mm2 <= 30; `text` as written in the space file."""

    figure: str
    op: str
    bound: float
    text: str

    def holds(self, value: float) -> bool:
        return {"<=": value <= self.bound, ">=": value >= self.bound, "<": value < self.bound,
                ">": value > self.bound}[self.op]

    def may_hold(self, optimistic: float) -> bool:
        """Whether a figure known only by its optimistic bound may still meet the constraint
        (the bound is an upper one: accuracy)."""
        return self.holds(optimistic) if self.op in (">=", ">") else True


@dataclass(frozen=True)
class FaultSettings:
    """How `accuracy_under_faults` is measured: the workload's fault study at one total rate
    (stuck-off : stuck-on as the workload's faults.ratio, else seed 003's 1 : 5.2), `runs` draws,
    on the first `test_samples` test images, with `settings` as further faults.* keys (the device
    model's, when the workload model has them)."""

    rate: float = 1e-3
    runs: int = 2
    test_samples: int | None = 1000
    settings: dict[str, Any] = field(default_factory=dict)
    bound_margin: float = 0.01

    def overrides(self) -> dict[str, Any]:
        """The dotted workload keys every design's fault study runs with."""
        keys: dict[str, Any] = {f"faults.{k}": v for k, v in self.settings.items()}
        keys.update({"faults.rates": [self.rate], "faults.runs": self.runs, "faults.encodings": None})
        if self.test_samples is not None:
            keys["data.test_samples"] = self.test_samples
        return keys


@dataclass(frozen=True)
class SearchSettings:
    """The search's budget: `designs` distinct designs evaluated (all of them when the space has
    at most `exhaustive_up_to`), NSGA-II generations of `population`, seeded by `seed`."""

    designs: int = 200
    seed: int = 0
    population: int = 20
    exhaustive_up_to: int = 64


@dataclass(frozen=True)
class Space:
    """A validated design space over one workload."""

    path: Path
    workload: Path
    axes: dict[str, list[Any]]
    objectives: list[Objective]
    constraints: list[Constraint]
    faults: FaultSettings
    search: SearchSettings
    references: dict[str, dict[str, Any]]

    @property
    def size(self) -> int:
        return math.prod(len(values) for values in self.axes.values())

    @property
    def needs_faults(self) -> bool:
        """Whether any design needs a fault study (an objective or a constraint on its accuracy)."""
        return any(o.figure == FAULT_ACCURACY for o in self.objectives) or any(
            c.figure == FAULT_ACCURACY for c in self.constraints)

    @property
    def bundles(self) -> list[str]:
        """The axes whose values each set several keys (lists of mappings under a free name)."""
        return [name for name, values in self.axes.items() if key_problem(name) and isinstance(values[0], dict)]

    def overrides(self, assignment: dict[str, Any]) -> dict[str, Any]:
        """The dotted workload keys of one value per axis (a bundle's keys spread out)."""
        out: dict[str, Any] = {}
        for name, value in assignment.items():
            if name in self.bundles:
                out.update(value)
            else:
                out[name] = value
        return out

    @property
    def keys(self) -> list[str]:
        """The table's key columns: the axes (a bundle's keys in its place), then keys only
        references set."""
        keys: list[str] = []
        for name, values in self.axes.items():
            keys += list(values[0]) if name in self.bundles else [name]
        extra = [k for overrides in self.references.values() for k in overrides]
        return list(dict.fromkeys([*keys, *extra]))

    def describe(self) -> str:
        counts = " x ".join(str(len(v)) for v in self.axes.values())
        return f"{self.size} designs ({counts} over {', '.join(self.axes)})"


def _allowed(names: Any) -> str:
    return ", ".join(str(n) for n in names)


def _expand_range(path: Path, key: str, spec: dict[str, Any]) -> tuple[list[Any], list[Problem]]:
    """`{low, high, step}` (arithmetic) or `{low, high, factor}` (geometric), both ends included."""
    where = f"axes.{key}"
    unknown = [k for k in spec if k not in ("low", "high", "step", "factor")]
    if unknown:
        return [], [Problem(path, f"{where}.{unknown[0]}", "unknown range key; allowed: low, high, and step or factor")]
    numbers = {k: v for k, v in spec.items()}
    for name in ("low", "high"):
        value = numbers.get(name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return [], [Problem(path, f"{where}.{name}", "required: a finite number", *([value] if value is not None
                                                                                       else []))]
    low, high = numbers["low"], numbers["high"]
    if high < low:
        return [], [Problem(path, f"{where}.high", f"must be >= low ({low})", high)]
    if ("step" in numbers) == ("factor" in numbers):
        return [], [Problem(path, where, "a range gives exactly one of step (low, low + step, ...) or factor "
                            "(low, low * factor, ...)", spec)]
    integral = all(isinstance(v, int) for v in numbers.values())
    values: list[Any] = []
    if "step" in numbers:
        step = numbers["step"]
        if isinstance(step, bool) or not isinstance(step, (int, float)) or not step > 0:
            return [], [Problem(path, f"{where}.step", "must be a number > 0", step)]
        count = math.floor((high - low) / step + 1e-9) + 1
        if count > MAX_AXIS_VALUES:
            return [], [Problem(path, where, f"expands to {count} values; allowed: at most {MAX_AXIS_VALUES}", spec)]
        values = [low + i * step if integral else round(low + i * step, 12) for i in range(count)]
    else:
        factor = numbers["factor"]
        if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not factor > 1 or not low > 0:
            return [], [Problem(path, f"{where}.factor", "must be a number > 1, with low > 0", factor)]
        value = low
        while value <= high * (1 + 1e-12):
            values.append(int(round(value)) if integral else round(value, 12))
            value *= factor
            if len(values) > MAX_AXIS_VALUES:
                return [], [Problem(path, where, f"expands to more than {MAX_AXIS_VALUES} values", spec)]
    return values, []


def _axes(path: Path, raw: Any) -> tuple[dict[str, list[Any]], list[Problem]]:
    if not isinstance(raw, dict) or not raw:
        return {}, [Problem(path, "axes", "required: a mapping of dotted workload keys to a list of values or a range "
                            "{low, high, step|factor} (e.g. mapping.crossbar.size: [16, 32, 64])",
                            *([raw] if raw is not None else []))]
    axes: dict[str, list[Any]] = {}
    problems: list[Problem] = []
    for key, spec in raw.items():
        key = str(key)
        if isinstance(spec, list) and spec and all(isinstance(v, dict) for v in spec) and key_problem(key):
            # A bundle: each value sets several keys at once (a shipped checkpoint and its density).
            found = [Problem(path, f"axes.{key}[{i}]", "a bundle's value must be a non-empty mapping of dotted "
                             "workload keys to values", v) for i, v in enumerate(spec) if not v]
            found += [Problem(path, f"axes.{key}[{i}].{k}", reason) for i, v in enumerate(spec) for k in v
                      if (reason := key_problem(str(k)))]
            if not found and len({tuple(sorted(v)) for v in spec}) != 1:
                found.append(Problem(path, f"axes.{key}", "every value of a bundle sets the same keys", spec))
            problems += found
            if not found:
                axes[key] = [{str(k): x for k, x in v.items()} for v in spec]
            continue
        reason = key_problem(key)
        if reason:
            problems.append(Problem(path, f"axes.{key}", reason + " (or, to set several keys together, a list of "
                                    "mappings: a bundle)"))
            continue
        if isinstance(spec, dict):
            values, found = _expand_range(path, key, spec)
            problems += found
        elif isinstance(spec, list) and spec:
            values = list(spec)
        else:
            problems.append(Problem(path, f"axes.{key}", "must be a non-empty list of values or a range "
                                    "{low, high, step|factor}", spec))
            continue
        if values and len({repr(v) for v in values}) != len(values):
            problems.append(Problem(path, f"axes.{key}", "a value is listed twice", values))
        elif values:
            axes[key] = values
    return axes, problems


def _objectives(path: Path, raw: Any) -> tuple[list[Objective], list[Problem]]:
    if not isinstance(raw, dict) or not raw:
        return [], [Problem(path, "objectives", "required: a mapping of figures to min or max (e.g. energy: min, "
                            f"accuracy: max); figures: {_allowed(OBJECTIVE_FIGURES)}",
                            *([raw] if raw is not None else []))]
    objectives: list[Objective] = []
    problems: list[Problem] = []
    for name, sense in raw.items():
        figure = ALIASES.get(str(name), str(name))
        if figure not in OBJECTIVE_FIGURES:
            problems.append(Problem(path, f"objectives.{name}", "unknown figure; allowed: "
                                    f"{_allowed([*ALIASES, *OBJECTIVE_FIGURES])}", name))
        elif sense not in SENSES:
            problems.append(Problem(path, f"objectives.{name}", "allowed: min, max", sense))
        elif any(o.figure == figure for o in objectives):
            problems.append(Problem(path, f"objectives.{name}", f"{figure} is named twice"))
        else:
            objectives.append(Objective(figure, str(sense)))
    return objectives, problems


_CONSTRAINT = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(<=|>=|<|>)\s*([-+0-9.eE]+)\s*(%?)\s*$")


def _constraints(path: Path, raw: Any) -> tuple[list[Constraint], list[Problem]]:
    if raw is None:
        return [], []
    if not isinstance(raw, list):
        return [], [Problem(path, "constraints", "must be a list of 'FIGURE OP NUMBER' (e.g. 'area <= 30', "
                            "'accuracy >= 85 %')", raw)]
    constraints: list[Constraint] = []
    problems: list[Problem] = []
    for index, text in enumerate(raw):
        where = f"constraints[{index}]"
        match = _CONSTRAINT.match(text) if isinstance(text, str) else None
        if match is None:
            problems.append(Problem(path, where, "not 'FIGURE OP NUMBER' with OP one of <=, >=, <, > (e.g. "
                                    "'area_mm2 <= 30', 'accuracy >= 85 %')", text))
            continue
        name, op, number, percent = match.groups()
        figure = ALIASES.get(name, name)
        try:
            bound = float(number)
        except ValueError:
            problems.append(Problem(path, where, "the bound is not a number", number))
            continue
        if figure not in OBJECTIVE_FIGURES:
            problems.append(Problem(path, where, f"unknown figure {name!r}; allowed: "
                                    f"{_allowed([*ALIASES, *OBJECTIVE_FIGURES])}", text))
        elif percent and figure not in FRACTIONS:
            problems.append(Problem(path, where, f"% applies to fractions only ({_allowed(sorted(FRACTIONS))})", text))
        else:
            constraints.append(Constraint(figure, op, bound / 100 if percent else bound, text))
    return constraints, problems


def _number(path: Path, where: str, value: Any, *, integer: bool, low: float, high: float | None = None,
            none_ok: bool = False) -> tuple[Any, list[Problem]]:
    if value is None and none_ok:
        return None, []
    kind = int if integer else (int, float)
    allowed = f"{'a whole number' if integer else 'a number'} in [{low:g}, {high:g}]" if high is not None else \
        f"{'a whole number' if integer else 'a number'} >= {low:g}"
    if isinstance(value, bool) or not isinstance(value, kind) or not math.isfinite(value) or value < low or (
            high is not None and value > high):
        return None, [Problem(path, where, f"allowed: {allowed}{' or null' if none_ok else ''}", value)]
    return value, []


def _faults(path: Path, raw: Any) -> tuple[FaultSettings, list[Problem]]:
    if raw is None:
        return FaultSettings(), []
    if not isinstance(raw, dict):
        return FaultSettings(), [Problem(path, "faults", "must be a mapping (rate, runs, test_samples, settings, "
                                         "bound_margin)", raw)]
    problems = [Problem(path, f"faults.{k}", "unknown key; allowed: rate, runs, test_samples, settings, bound_margin")
                for k in raw if k not in ("rate", "runs", "test_samples", "settings", "bound_margin")]
    defaults = FaultSettings()
    rate, p1 = _number(path, "faults.rate", raw.get("rate", defaults.rate), integer=False, low=0, high=1)
    runs, p2 = _number(path, "faults.runs", raw.get("runs", defaults.runs), integer=True, low=1, high=100000)
    samples, p3 = _number(path, "faults.test_samples", raw.get("test_samples", defaults.test_samples), integer=True,
                          low=1, none_ok=True)
    margin, p4 = _number(path, "faults.bound_margin", raw.get("bound_margin", defaults.bound_margin), integer=False,
                         low=0, high=1)
    settings = raw.get("settings", {}) or {}
    p5 = []
    if not isinstance(settings, dict):
        p5 = [Problem(path, "faults.settings", "must be a mapping of faults.* workload keys to one value each",
                      settings)]
        settings = {}
    for key in settings:
        reason = key_problem(f"faults.{key}")
        if reason:
            p5.append(Problem(path, f"faults.settings.{key}", reason))
        elif key in ("rates", "runs", "encodings"):
            p5.append(Problem(path, f"faults.settings.{key}", "set by faults.rate / faults.runs (the design's own "
                              "encoding is studied); allowed here: the other faults.* keys"))
    problems += p1 + p2 + p3 + p4 + p5
    if problems:
        return defaults, problems
    return FaultSettings(float(rate), int(runs), samples, dict(settings), float(margin)), []


def _search(path: Path, raw: Any) -> tuple[SearchSettings, list[Problem]]:
    if raw is None:
        return SearchSettings(), []
    if not isinstance(raw, dict):
        return SearchSettings(), [Problem(path, "search", "must be a mapping (designs, seed, population, "
                                          "exhaustive_up_to)", raw)]
    problems = [Problem(path, f"search.{k}", "unknown key; allowed: designs, seed, population, exhaustive_up_to")
                for k in raw if k not in ("designs", "seed", "population", "exhaustive_up_to")]
    defaults = SearchSettings()
    designs, p1 = _number(path, "search.designs", raw.get("designs", defaults.designs), integer=True, low=1,
                          high=100000)
    seed, p2 = _number(path, "search.seed", raw.get("seed", defaults.seed), integer=True, low=0, high=2**32 - 1)
    population, p3 = _number(path, "search.population", raw.get("population", defaults.population), integer=True,
                             low=2, high=10000)
    exhaustive, p4 = _number(path, "search.exhaustive_up_to", raw.get("exhaustive_up_to", defaults.exhaustive_up_to),
                             integer=True, low=0, high=100000)
    problems += p1 + p2 + p3 + p4
    if problems:
        return defaults, problems
    return SearchSettings(designs, seed, population, exhaustive), []


def _references(path: Path, raw: Any) -> tuple[dict[str, dict[str, Any]], list[Problem]]:
    if raw is None:
        return {}, []
    if not isinstance(raw, dict):
        return {}, [Problem(path, "references", "must be a mapping of names to {dotted.key: value} (designs the "
                            "report marks)", raw)]
    references: dict[str, dict[str, Any]] = {}
    problems: list[Problem] = []
    for name, overrides in raw.items():
        if not isinstance(overrides, dict):
            problems.append(Problem(path, f"references.{name}", "must be a mapping of dotted workload keys to one "
                                    "value each", overrides))
            continue
        for key in overrides:
            reason = key_problem(str(key))
            if reason:
                problems.append(Problem(path, f"references.{name}.{key}", reason))
        references[str(name)] = {str(k): v for k, v in overrides.items()}
    return references, problems


def _check_values(space: Space) -> list[Problem]:
    """Every axis value and every reference, each alone on the workload, through WorkloadConfig:
    a value the workload rejects is named once (combinations are checked as designs are made)."""
    problems: list[Problem] = []
    fixed = space.faults.overrides()
    for key, values in space.axes.items():
        if key in space.bundles:
            for index, bundle in enumerate(values):
                axes = {k: [v] for k, v in fixed.items() if k not in bundle}
                axes.update({k: [v] for k, v in bundle.items()})
                problems += _rejected(space, Grid(space.workload, axes, space.path),
                                      {k: f"axes.{key}[{index}].{k}" for k in bundle})
            continue
        axes = {k: [v] for k, v in fixed.items() if k != key}
        axes[key] = values
        problems += _rejected(space, Grid(space.workload, axes, space.path), {key: f"axes.{key}"})
    for name, overrides in space.references.items():
        axes = {k: [v] for k, v in fixed.items()}
        axes.update({k: [v] for k, v in overrides.items()})
        problems += _rejected(space, Grid(space.workload, axes, space.path),
                              {k: f"references.{name}.{k}" for k in overrides})
    return problems


def _rejected(space: Space, grid: Grid, where: dict[str, str]) -> list[Problem]:
    try:
        build_points(grid, runs_in="the explore folder")
    except ConfigError as exc:
        out = []
        for p in exc.problems:
            key = p.path.removeprefix("grid.")
            out.append(Problem(space.path, where.get(key, key if key.startswith("faults.") else p.path),
                               p.message.replace("this sweep's values", "this space's values"), p.value))
        return out
    return []


def load_space(path: Path, workload: Path) -> Space:
    """Read and validate a space file for `workload`; ConfigError listing every problem."""
    path = Path(path)
    read_yaml(Path(workload))   # the workload first: a missing or unreadable one is named as itself
    data = read_yaml(path)
    problems = [Problem(path, str(key), f"unknown key; allowed keys here: {_allowed(TOP_KEYS)}")
                for key in data if key not in TOP_KEYS]
    if "workload" in data:
        given = data["workload"]
        if not isinstance(given, str) or not (path.parent / given).resolve() == Path(workload).resolve():
            problems.append(Problem(path, "workload", f"names another workload than the command's {workload} "
                                    "(a space file may name the workload it was written for; allowed: that one)",
                                    given))
    axes, found = _axes(path, data.get("axes"))
    problems += found
    objectives, found = _objectives(path, data.get("objectives"))
    problems += found
    constraints, found = _constraints(path, data.get("constraints"))
    problems += found
    faults, found = _faults(path, data.get("faults"))
    problems += found
    search, found = _search(path, data.get("search"))
    problems += found
    references, found = _references(path, data.get("references"))
    problems += found
    if problems:
        raise ConfigError(problems)
    space = Space(path, Path(workload).resolve(), axes, objectives, constraints, faults, search, references)
    problems = _check_values(space)
    if problems:
        raise ConfigError(list({str(p): p for p in problems}.values()))
    return space


def with_overrides(document: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """A copy of `document` with dotted `overrides` set (blocks created on the way)."""
    out = copy.deepcopy(document)
    for key, value in overrides.items():
        set_key(out, key, value)
    return out
