"""`resim explore`: a multi-objective search of a design space (issue #28).

Two tables in the explore folder, each one row per evaluated item, appended the moment it finishes
(the sweep's `ResultsTable`: one write, flush and fsync; torn or foreign rows set aside), so a
killed search loses only the work in flight and a rerun of the same command resumes:

- `designs.csv`: one row per design, the hardware stage's figures (a sweep row: energy, latency,
  area, ...; with the fault-free test accuracy when accuracy under faults is asked for, which gives
  the optimistic bound of simulator.explore.pareto);
- `accuracy.csv`: one row per accuracy group studied under faults (simulator.explore.pareto).

Cheap objectives first: every design gets the hardware stage (`resim run --no-accuracy` with cached
mappings: a fraction of a second); a fault study runs only for designs the candidate rule leaves
open. The search is exhaustive when the space has at most `search.exhaustive_up_to` designs, else
optuna's NSGA-II over the axes (categorical), seeded, asked and told one generation at a time. A
rerun replays the same seeded search: the designs in the tables are told from their rows instead of
running again, so the same sequence of designs follows and the run continues where it stopped.
Designs and fault studies run where the sweep's executors put them (this process, local worker
processes, or a Dask cluster), under the sweep folder's lock.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from simulator.atomic import write_text
from simulator.cache import stable_key
from simulator.config.errors import ConfigError
from simulator.config.loader import load_workload, read_yaml, validate
from simulator.config.workload import WorkloadConfig
from simulator.explore.pareto import Entry, open_designs
from simulator.explore.space import FAULT_ACCURACY, Space, with_overrides
from simulator.sweep.executors import ExecutorError, Work, run_points
from simulator.sweep.grid import _absolute_paths, _get
from simulator.sweep.point import PointOutcome, PointTask, RunWorkload, run_point
from simulator.sweep.runner import _check_not_stale, _locked, _terminate_as_interrupt
from simulator.sweep.table import ResultsTable, columns

DESIGNS = "designs.csv"
ACCURACY = "accuracy.csv"
# Keys that change the chip's sizing and the study around it, never the fault study's network,
# mapping or draws: designs differing only here share one accuracy under faults.
HARDWARE_ONLY_BLOCKS = ("hardware_study",)


class FaultRow(BaseModel):
    """One accuracy group's fault study (accuracy.csv)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    point_id: str = Field(description="The accuracy group's id (hash of its designs' shared settings)")
    config_hash: str = Field(description="Hash of the studied workload")
    accuracy_under_faults: float = Field(description="Mean test accuracy over the fault draws (fraction)")
    ci95_low: float | None = Field(description="Lower end of the mean's 95 % interval; none from one draw")
    ci95_high: float | None = Field(description="Upper end of the mean's 95 % interval; none from one draw")
    fault_rate: float = Field(description="Total cell fault rate studied")
    fault_runs: int = Field(description="Fault draws")
    encoding: str = Field(description="The design's sign encoding, the one studied")
    results: str = Field(description="The studied design's results folder (full report with the fault study)")
    seconds: float = Field(description="Wall time of the study (s)")


def fault_point(task: PointTask) -> PointOutcome:
    """A worker's fault study of one accuracy group: `resim run` on the group's workload copy with
    accuracy (its faults: section has the space's rate and draws); never raises for the study's own
    failures."""
    from simulator.errors import describe, user_errors

    started = time.perf_counter()
    try:
        # No sensitivity study: the fault study's report is read for its accuracy.
        out_dir, report = task.run(task.workload, data_dir=task.data_dir, out=task.out, progress=False,
                                   accuracy=True, sensitivity=False)
        rate = float(yaml.safe_load(task.workload.read_text())["faults"]["rates"][0])
        point = next(p for p in report.faults or [] if p.encoding == report.mapping.encoding and p.rate == rate)
    except Exception as exc:  # noqa: BLE001 - reported per group; the search goes on
        detail = describe(exc) if isinstance(exc, user_errors()) else traceback.format_exc()
        return PointOutcome(task.point_id, None, f"{type(exc).__name__}: {detail}")
    row = FaultRow(point_id=task.point_id, config_hash=task.config_hash, accuracy_under_faults=point.mean,
                   ci95_low=point.ci95_low, ci95_high=point.ci95_high, fault_rate=point.rate, fault_runs=point.runs,
                   encoding=point.encoding, results=str(out_dir), seconds=round(time.perf_counter() - started, 3))
    return PointOutcome(task.point_id, row.model_dump())


@dataclass(frozen=True)
class Design:
    """One design: its values of the table's keys, its ids and its full workload document (the
    space's overrides and fault settings applied, paths absolute)."""

    design_id: str
    group: str
    values: dict[str, Any]
    document: dict[str, Any]
    reference: str | None = None


@dataclass
class ExploreResult:
    """What a search did: its folder, the designs it holds, which ran now, and the failures."""

    folder: Path
    designs: dict[str, Design] = field(default_factory=dict)
    hardware_rows: dict[str, dict[str, str]] = field(default_factory=dict)
    fault_rows: dict[str, dict[str, str]] = field(default_factory=dict)
    ran: list[str] = field(default_factory=list)            # designs whose hardware stage ran now
    studied: list[str] = field(default_factory=list)        # accuracy groups studied now
    failures: dict[str, str] = field(default_factory=dict)
    space_designs: list[str] = field(default_factory=list)  # the search's designs, in the order proposed
    mode: str = ""
    seconds: float = 0.0
    generations: int = 0                                    # NSGA-II generations asked


def default_folder(space: Space) -> Path:
    """results/<workload>-explore-<hash>/: the hash covers the workload's config and the space file's
    content, so rerunning the same command resumes the same folder."""
    workload = load_workload(space.workload)
    key = stable_key({"config": workload.config_hash(), "space": read_yaml(space.path)})[:8]
    return Path("results") / f"{workload.config.name}-explore-{key}"


class Explorer:
    """The search over one space into one folder (held locked by `run_explore`)."""

    def __init__(self, space: Space, folder: Path, *, run: RunWorkload, data_dir: Path | None, workers: int,
                 executor: str, scheduler: str | None, notify: Callable[[str], None],
                 on_row: Callable[[str, str], None] | None = None,
                 hardware_work: Work = run_point, fault_work: Work = fault_point):
        self.space, self.folder, self.run = space, folder, run
        self.data_dir = Path(data_dir).resolve() if data_dir is not None else None
        self.workers, self.executor, self.scheduler = workers, executor, scheduler
        self.notify, self.on_row = notify, on_row
        self.hardware_work, self.fault_work = hardware_work, fault_work
        self.base = read_yaml(space.workload)
        self.keys = space.keys
        self.designs_table = ResultsTable(folder / DESIGNS, columns(self.keys))
        self.faults_table = ResultsTable(folder / ACCURACY, list(FaultRow.model_fields), FaultRow)
        self.result = ExploreResult(folder)
        self.result.hardware_rows = self.designs_table.finished()
        self.result.fault_rows = self.faults_table.finished()
        for line in self.designs_table.set_aside + self.faults_table.set_aside:
            notify(line)

    # ------------------------------------------------------------------------- designs

    def design(self, overrides: dict[str, Any], reference: str | None = None, probe: bool = False) -> Design | None:
        """The design of `overrides` (every axis, or a reference's keys), None when the workload
        rejects the combination (recorded as a failure unless only probing)."""
        document = with_overrides(self.base, {**self.space.faults.overrides(), **overrides})
        try:
            config = validate(WorkloadConfig, document, self.space.workload)
        except ConfigError as exc:
            if not probe:
                name = reference or stable_key({"overrides": overrides})[:12]
                self.result.failures[name] = f"{overrides}: the workload rejects it: {exc}"
            return None
        dump = config.model_dump(mode="json")
        design_id = stable_key({"design": dump})[:12]
        group = stable_key({"group": {k: v for k, v in dump.items() if k not in HARDWARE_ONLY_BLOCKS}})[:12]
        _absolute_paths(document, self.space.workload.parent)
        # The table shows every key's value as the design resolves it (a default included).
        resolved = config.model_dump(mode="json", by_alias=True)
        values = {}
        for key in self.keys:
            value = _get(resolved, key)
            # A key the model leaves out of its dump when off (hardware_study.sensitivity): as given.
            values[key] = value if value is not None else _get(document, key)
        design = Design(design_id, group, values, document, reference)
        if probe:
            return self.result.designs.get(design_id, design)
        self.result.designs.setdefault(design_id, design)
        if reference is not None and self.result.designs[design_id].reference is None:
            self.result.designs[design_id] = design
        return self.result.designs[design_id]

    def _task(self, design: Design, kind: str) -> PointTask:
        """Write the design's workload copy (without faults: for the hardware stage; with them: the
        group's fault study) and its task."""
        if kind == "hardware":
            out = self.folder / "designs" / design.design_id
            document = {k: v for k, v in design.document.items() if k != "faults"}
            point, accuracy = design.design_id, self.space.needs_faults
        else:
            out = self.folder / "faults" / design.group
            # The group's designs differ only in hardware_study.*, which the fault study does not
            # read: it runs with the workload's own (no replica simulation for nothing), so every
            # design of the group writes the same workload copy.
            document = {k: v for k, v in design.document.items() if k not in HARDWARE_ONLY_BLOCKS}
            document.update(self.base_hardware_study())
            point, accuracy = design.group, True
        out = out.resolve()
        path = out / "workload.yaml"
        text = yaml.safe_dump(document, sort_keys=False)
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            write_text(path, text)
        workload = load_workload(path)
        return PointTask(point, design.values if kind == "hardware" else {}, workload.config_hash(), path, out,
                         self.data_dir, accuracy, self.run)

    def base_hardware_study(self) -> dict[str, Any]:
        """The workload's own hardware-only blocks, paths made absolute (a fault study's)."""
        document = copy.deepcopy({k: v for k, v in self.base.items() if k in HARDWARE_ONLY_BLOCKS})
        _absolute_paths(document, self.space.workload.parent)
        return document

    # ------------------------------------------------------------------------- evaluation

    def _execute(self, tasks: list[PointTask], table: ResultsTable, rows: dict[str, dict[str, str]], work: Work,
                 ran: list[str]) -> None:
        if not tasks:
            return
        _check_not_stale(table, rows, tasks)
        todo = [t for t in tasks if t.point_id not in rows]
        for outcome in run_points(todo, self.executor, self.workers, self.scheduler, work):
            if outcome.row is not None:
                if outcome.point_id not in rows:
                    table.append(outcome.row)
                    rows[outcome.point_id] = {k: "" if v is None else str(v) for k, v in outcome.row.items()}
                    ran.append(outcome.point_id)
                    if self.on_row is not None:
                        self.on_row(table.path.name, outcome.point_id)
            else:
                self.result.failures[outcome.point_id] = outcome.error or "failed"

    def hardware(self, designs: list[Design]) -> None:
        """The hardware stage of every design not yet in designs.csv (and not failed)."""
        seen: set[str] = set()
        todo = []
        for design in designs:
            if design.design_id in seen or design.design_id in self.result.failures:
                continue
            seen.add(design.design_id)
            todo.append(design)
        tasks = [self._task(d, "hardware") for d in todo]
        # A finished row must come from the same resolved workload (its config_hash).
        self._execute(tasks, self.designs_table, self.result.hardware_rows, self.hardware_work, self.result.ran)

    def study(self, designs: list[Design]) -> None:
        """The fault study of each design's accuracy group not yet in accuracy.csv."""
        groups: dict[str, Design] = {}
        for design in designs:
            if design.group not in self.result.fault_rows and design.group not in self.result.failures:
                groups.setdefault(design.group, design)
        tasks = [self._task(d, "faults") for d in groups.values()]
        self._execute(tasks, self.faults_table, self.result.fault_rows, self.fault_work, self.result.studied)

    def entries(self) -> list[Entry]:
        """Every design with a hardware row, as the candidate rule sees it."""
        out = []
        margin = self.space.faults.bound_margin
        for design in self.result.designs.values():
            row = self.result.hardware_rows.get(design.design_id)
            if row is None:
                continue
            figures = {k: float(v) for k, v in row.items() if k not in self.keys and _is_number(v)}
            fault = self.result.fault_rows.get(design.group)
            clean = figures.get("test_accuracy")
            bound = min(1.0, clean + margin) if clean is not None else 1.0
            out.append(Entry(design.design_id, design.group, figures,
                             float(fault[FAULT_ACCURACY]) if fault is not None else None, bound, design.reference))
        return out

    def study_candidates(self) -> None:
        """Fault studies for the open designs until none is left: a batch of groups (as many as
        workers) at a time, best on the hardware objectives first, since each study may close
        others."""
        if not self.space.needs_faults:
            return
        while True:
            candidates = open_designs(self.entries(), self.space.objectives, self.space.constraints)
            candidates = [c for c in candidates if c.group not in self.result.failures]
            if not candidates:
                return
            ranked = sorted(candidates, key=lambda e: (_rank(e, candidates, self.space), e.design_id))
            batch: list[Design] = []
            for entry in ranked:
                design = self.result.designs[entry.design_id]
                if all(d.group != design.group for d in batch):
                    batch.append(design)
                if len(batch) >= max(1, self.workers):
                    break
            self.study(batch)
            for design in batch:
                # An executor that loses a task (a Dask worker gone) must not make this loop spin.
                if design.group not in self.result.fault_rows:
                    self.result.failures.setdefault(design.group, "the fault study gave no result")

    # ------------------------------------------------------------------------- the search

    def run_search(self) -> ExploreResult:
        started = time.perf_counter()
        references = [d for name, o in self.space.references.items() if (d := self.design(o, name)) is not None]
        self.hardware(references)
        if self.space.needs_faults:
            self.study([r for r in references if r.design_id in self.result.hardware_rows])
        if self.space.size <= max(self.space.search.exhaustive_up_to, 0):
            self.result.mode = f"exhaustive ({self.space.size} designs <= search.exhaustive_up_to " \
                               f"{self.space.search.exhaustive_up_to})"
            self._exhaustive()
        else:
            self.result.mode = (f"NSGA-II (optuna), population {self.space.search.population}, seed "
                                f"{self.space.search.seed}, {self.space.search.designs} designs of {self.space.size}")
            self._nsga()
        self.result.seconds = time.perf_counter() - started
        return self.result

    def _exhaustive(self) -> None:
        keys = list(self.space.axes)
        designs = []
        for values in itertools.product(*self.space.axes.values()):
            design = self.design(self.space.overrides(dict(zip(keys, values))))
            if design is not None:
                designs.append(design)
                self.result.space_designs.append(design.design_id)
        self.hardware(designs)
        self.study_candidates()

    def _nsga(self) -> None:
        try:
            import optuna
        except ImportError:
            limit = self.space.search.exhaustive_up_to
            raise ExecutorError(f"{self.space.path}: a space of {self.space.size} designs (more than "
                                f"search.exhaustive_up_to {limit}) is searched by optuna's NSGA-II, and optuna is "
                                "not installed: pip install optuna (a dependency of resim)") from None
        from optuna.distributions import BaseDistribution, CategoricalDistribution
        from optuna.trial import TrialState

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        space, search = self.space, self.space.search
        constraints = space.constraints

        def constraint_values(trial: optuna.trial.FrozenTrial) -> list[float]:
            return list(trial.user_attrs["constraints"])

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # optuna's ExperimentalWarning for constraints_func
            sampler = optuna.samplers.NSGAIISampler(population_size=search.population, seed=search.seed,
                                                    constraints_func=constraint_values if constraints else None)
        study = optuna.create_study(directions=["minimize" if o.sense == "min" else "maximize"
                                                for o in space.objectives], sampler=sampler)
        distributions: dict[str, BaseDistribution] = {
            key: CategoricalDistribution(list(range(len(values)))) for key, values in space.axes.items()}
        seen: set[str] = set()
        asked, limit = 0, search.designs * 20
        while len(seen) < min(search.designs, space.size) and asked < limit:
            trials = [study.ask(distributions) for _ in range(search.population)]
            asked += len(trials)
            self.result.generations += 1
            proposed = [self.design(space.overrides({k: space.axes[k][int(t.params[k])] for k in space.axes}))
                        for t in trials]
            new: list[Design] = []
            for design in proposed:
                if design is None or design.design_id in seen:
                    continue
                if len(seen) >= search.designs:
                    break
                seen.add(design.design_id)
                new.append(design)
                self.result.space_designs.append(design.design_id)
            self.hardware(new)
            self.study_candidates()
            entries = {e.design_id: e for e in self.entries()}
            for trial, design in zip(trials, proposed):
                entry = entries.get(design.design_id) if design is not None else None
                if entry is None or design is None or design.design_id not in seen:
                    study.tell(trial, state=TrialState.FAIL)
                    continue
                values = [entry.value(o.figure, optimistic=True) for o in space.objectives]
                if any(v is None for v in values):
                    study.tell(trial, state=TrialState.FAIL)
                    continue
                trial.set_user_attr("constraints", [_violation(c, entry) for c in constraints])
                study.tell(trial, [float(v) for v in values if v is not None])
            self.notify(f"explore: {len(seen)} designs, {len(self.result.fault_rows)} fault studies, "
                        f"generation {asked // search.population}")
            if len(new) < max(1, search.population // 4):
                # The population has converged: its children are mostly designs already evaluated.
                # The next generation starts from designs not yet seen, drawn with the search's seed
                # (enqueued: optuna asks them first and tells them as trials).
                self._enqueue_unseen(study, seen, search.population - len(new), asked)

    def _enqueue_unseen(self, study: Any, seen: set[str], count: int, asked: int) -> None:
        import random

        rng = random.Random(self.space.search.seed * 1_000_003 + asked)
        keys = list(self.space.axes)
        picked = 0
        for _ in range(count * 50):
            if picked >= count:
                break
            params = {k: rng.randrange(len(self.space.axes[k])) for k in keys}
            design = self.design(self.space.overrides({k: self.space.axes[k][i] for k, i in params.items()}),
                                 probe=True)
            if design is not None and design.design_id not in seen:
                study.enqueue_trial(params, skip_if_exists=True)
                picked += 1


def _is_number(text: str) -> bool:
    try:
        float(text)
    except (TypeError, ValueError):
        return False
    return text != ""


def _violation(constraint: Any, entry: Entry) -> float:
    """optuna's constraint value (<= 0 when met) at the entry's known or optimistic figure."""
    value = entry.value(constraint.figure, optimistic=True)
    if value is None:
        return 0.0
    return value - constraint.bound if constraint.op in ("<=", "<") else constraint.bound - value


def _rank(entry: Entry, pool: list[Entry], space: Space) -> int:
    """How many designs of `pool` dominate `entry` on the hardware objectives (0: on their front)."""
    from simulator.explore.pareto import dominates, vector

    mine = vector(entry, space.objectives, without=FAULT_ACCURACY)
    if mine is None:
        return len(pool)
    count = 0
    for other in pool:
        theirs = vector(other, space.objectives, without=FAULT_ACCURACY)
        if theirs is not None and dominates(theirs, mine):
            count += 1
    return count


def run_explore(space: Space, *, run: RunWorkload, out: Path | None = None, data_dir: Path | None = None,
                workers: int = 1, executor: str = "local", scheduler: str | None = None,
                notify: Callable[[str], None] = lambda line: None,
                on_row: Callable[[str, str], None] | None = None,
                hardware_work: Work = run_point, fault_work: Work = fault_point) -> ExploreResult:
    """Search `space` into its folder (locked), then write its report (also when interrupted, from
    what finished). `on_row(table, id)` is called after each row is appended (a test's hook)."""
    from simulator.explore.report import write_report

    folder = Path(out) if out is not None else default_folder(space)
    folder.mkdir(parents=True, exist_ok=True)
    with _locked(folder, "resim explore"), _terminate_as_interrupt():
        explorer = Explorer(space, folder, run=run, data_dir=data_dir, workers=workers, executor=executor,
                            scheduler=scheduler, notify=notify, on_row=on_row, hardware_work=hardware_work,
                            fault_work=fault_work)
        try:
            result = explorer.run_search()
        except BaseException:
            with contextlib.suppress(Exception):
                write_report(space, explorer.result, explorer.entries())
            raise
        write_report(space, result, explorer.entries())
        return result


__all__ = ["Explorer", "ExploreResult", "FaultRow", "run_explore"]
