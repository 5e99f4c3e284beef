"""How far each verdict moves with the assumptions it rests on (issue #23 item 7).

Every hardware file lists, in its `alternatives:` block, values its assumed numbers and model
choices could take instead, each with a source. The study takes them one at a time: the chip runs
with that one value in place of the file's, on the mappings the hardware study already holds (only
the chip changes, nothing is mapped again), and the four headline ratios are recorded: energy
efficiency and speed-up of the workload's mapping against the dense mapping on the same chip and
against the baseline chip.

Which chips take an alternative (a fair comparison applies a shared assumption to both chips):

- an assumption of the workload's chip whose field holds the same value in the baseline's file,
  where it is an assumption too (its source says "Assumption" or "Stand-in", or the baseline lists
  alternatives for it), is one assumption of both chips: each alternative (the two files' lists
  joined) is applied to both;
- otherwise an alternative of the workload's chip changes that chip alone (its mapping and the
  dense mapping on it), and one of the baseline's file changes the baseline chip alone.

An alternative is skipped, with the reason, where it would change a mapping (cell bits, array
size or packing: the mappings are the study's), where it needs cell levels the mappings do not
record (the conductance read model; simulator.hardware.study.requests records them wherever a file
lists that alternative and the study runs), where it changes the input coding of a study whose
DAC activity was measured on that coding, or where the chip model rejects the chip it gives.
Event-model runs are shared between alternatives that change only what an event costs
(simulator.hardware.chip_model.simulated), so the study costs little more than the chips whose
timing an alternative changes.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from simulator.cache import cache_dir, read_json_entry, stable_key, write_json_entry
from simulator.config.hardware import Alternative, HardwareConfig, SourcedBlock, is_assumption, varied_fields
from simulator.hardware.chip_model import Simulations, Sizing
from simulator.hardware.model import chip_result
from simulator.hardware.study import (
    ActivityTable,
    HardwareStudy,
    MappingRequest,
    StoredMapping,
    StudyInputs,
    chip_setup,
    coding_of,
    study_sizing,
)

if TYPE_CHECKING:   # pandas where the table is built: the study itself needs none
    import pandas as pd

# The headline ratios, by field of `Ratios`, as the report names them.
HEADLINES: dict[str, str] = {
    "energy_vs_dense": "energy efficiency vs the dense mapping",
    "speedup_vs_dense": "speed-up vs the dense mapping",
    "energy_vs_baseline": "energy efficiency vs the baseline chip",
    "speedup_vs_baseline": "speed-up vs the baseline chip",
}

Value = int | float | str


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Ratios(_Model):
    """The headline ratios of one hardware study (higher: the workload's mapping is better)."""

    energy_vs_dense: float | None = Field(None, description="Dense mapping's energy / the workload's (x); null: "
                                                            "no dense comparison")
    speedup_vs_dense: float | None = Field(None, description="Dense mapping's time per image / the workload's (x)")
    energy_vs_baseline: float | None = Field(None, description="Baseline chip's energy / the workload's (x); null: "
                                                               "no baseline")
    speedup_vs_baseline: float | None = Field(None, description="Baseline chip's time per image / the workload's (x)")

    @classmethod
    def of(cls, study: HardwareStudy) -> Ratios:
        return cls.of_figures({label: (result.summary.energy_per_inference_pj, result.summary.per_image_ns)
                               for label, result in (("workload", study.workload), *study.others().items())})

    @classmethod
    def of_figures(cls, figures: dict[str, tuple[float, float]]) -> Ratios:
        """From (energy per inference, time per image) by chip label ("workload", "dense",
        "baseline"), as HardwareResult.versus divides them."""
        energy, time = figures["workload"]
        ratios: dict[str, float] = {}
        for label in ("dense", "baseline"):
            if label in figures:
                ratios[f"energy_vs_{label}"] = figures[label][0] / energy
                ratios[f"speedup_vs_{label}"] = figures[label][1] / time
        return cls(**ratios)

    def present(self) -> dict[str, float]:
        """The ratios this study has, by field name."""
        return {name: value for name in HEADLINES if (value := getattr(self, name)) is not None}


class Variation(_Model):
    """One alternative of one assumption and the ratios it gives (none where it was skipped)."""

    value: Value = Field(description="The value taken instead of the file's")
    source: str = Field(description="Its source, as the hardware file gives it")
    ratios: Ratios | None = Field(None, description="The headline ratios with this value; null: skipped")
    skipped: str | None = Field(None, description="Why this alternative was not run")


class AssumptionSensitivity(_Model):
    """One assumption varied over its alternatives."""

    key: str = Field(description="Key path of the field in the hardware file ('adc.max_bits')")
    varied_in: Literal["both", "chip", "baseline"] = Field(
        description="both: the workload's chip and the baseline chip (a shared assumption); chip: the workload's "
                    "chip (its mapping and the dense mapping on it); baseline: the baseline chip")
    chips: list[str] = Field(description="Names of the hardware files varied")
    value: Value | None = Field(description="The value the file uses")
    source: str = Field(description="The file's source for that value")
    variations: list[Variation]
    ranges: dict[str, tuple[float, float]] = Field(
        default_factory=dict, description="Per headline ratio: (lowest, highest) over the alternatives that ran "
                                          "(report.md's table)")
    largest_swing: float = Field(0.0, description="Widest range of any headline ratio, the value as written "
                                                  "included, relative to that value")

    @property
    def label(self) -> str:
        """The key, with the file it was varied in unless both chips share it."""
        return self.key if self.varied_in == "both" else f"{self.key} ({self.chips[0]})"

    def values(self, headline: str) -> list[float]:
        """The ratio `headline` under every alternative that ran."""
        return [v for variation in self.variations if variation.ratios is not None
                and (v := getattr(variation.ratios, headline)) is not None]

    def swing(self, headline: str, base: float) -> float:
        """(highest - lowest) / `base` over the file's value and the alternatives' (0 without them)."""
        values = [base, *self.values(headline)]
        return (max(values) - min(values)) / base if base else 0.0


class Sensitivity(_Model):
    """Every assumption of the study's hardware files varied one at a time, largest swing first."""

    headline: Ratios = Field(description="The study's ratios with every file as written")
    assumptions: list[AssumptionSensitivity] = Field(description="One per assumption with alternatives, sorted by "
                                                                 "the largest relative swing of any headline ratio")
    not_varied: list[str] = Field(description="'file: key' of numbers marked Assumption or Stand-in that list no "
                                              "alternatives (not varied)")
    seconds: float = Field(description="Wall time of the study (s)")

    def swing(self, row: AssumptionSensitivity) -> float:
        """The row's largest relative swing over the headline ratios."""
        return max((row.swing(name, base) for name, base in self.headline.present().items()), default=0.0)

    def flips(self) -> list[tuple[str, str, Value]]:
        """(assumption, headline, value) for every alternative that moves a ratio across 1.0 (the
        verdict 'better' or 'worse' flips)."""
        out = []
        for row in self.assumptions:
            for variation in row.variations:
                if variation.ratios is None:
                    continue
                for name, base in self.headline.present().items():
                    value = getattr(variation.ratios, name)
                    if value is not None and (value - 1.0) * (base - 1.0) < 0:
                        out.append((row.label, name, variation.value))
        return out

    def table(self) -> pd.DataFrame:
        """`records` as a table."""
        import pandas as pd

        return pd.DataFrame(self.records())

    def records(self) -> list[dict[str, object]]:
        """One row per assumption: what was varied, its value and alternatives, each headline
        ratio's range over them (low - high) and the largest swing."""
        present = self.headline.present()
        rows = []
        for row in self.assumptions:
            ran = [v for v in row.variations if v.ratios is not None]
            skipped = [f"{_shown(v.value)} skipped: {v.skipped}" for v in row.variations if v.ratios is None]
            line: dict[str, object] = {
                "assumption": row.key, "varied in": " and ".join(row.chips), "value used": _shown(row.value),
                "alternatives": ", ".join(_shown(v.value) for v in row.variations)}
            for name, base in present.items():
                values = row.values(name)
                line[f"{HEADLINES[name]} (now {base:.4g}x)"] = (
                    f"{min(values):.4g} - {max(values):.4g}" if values else "-")
            swing = self.swing(row)
            line["largest swing"] = f"{swing:.1%}" if ran else "-"
            line["note"] = "; ".join(skipped) if skipped else ("no effect on the chip model" if ran and swing < 1e-9
                                                              else "")
            rows.append(line)
        return rows

    def verdict(self) -> str:
        """One paragraph: the assumption the verdicts rest on most, and whether any alternative
        flips one (moves a ratio across 1.0)."""
        present = self.headline.present()
        if not self.assumptions or not present:
            return "No assumption of the hardware files lists alternatives: nothing was varied."
        top = self.assumptions[0]
        name = max(present, key=lambda h: top.swing(h, present[h]))
        values = top.values(name)
        if not values or self.swing(top) == 0:
            return "No alternative of the hardware files' assumptions moves a headline ratio."
        text = (f"The verdicts rest most on {top.key} ({' and '.join(top.chips)}, {_shown(top.value)} in use): over "
                f"its alternatives the {HEADLINES[name]} moves from {present[name]:.4g}x to "
                f"{min(values):.4g}x - {max(values):.4g}x.")
        flips = self.flips()
        if not flips:
            return text + " No alternative moves a headline ratio across 1.0: every verdict holds."
        by_key: dict[str, list[str]] = {}
        for key, headline, value in flips:
            by_key.setdefault(key, []).append(f"{HEADLINES[headline]} at {_shown(value)}")
        return text + " Verdicts flip (a ratio crosses 1.0) under: " + "; ".join(
            f"{key} ({', '.join(items)})" for key, items in by_key.items()) + "."


def _shown(value: Value | None) -> str:
    return "-" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


# ----------------------------------------------------------------------------- the study

def assumed_fields(hardware: HardwareConfig) -> Iterator[str]:
    """Key paths of the numeric and enum fields whose source marks them as an assumption."""
    def walk(block: SourcedBlock, prefix: str) -> Iterator[str]:
        for name in varied_fields(type(block)):
            if getattr(block, name) is not None and is_assumption(block.source.get(name, "")):
                yield prefix + name
        for name in type(block).model_fields:
            child = getattr(block, name)
            if isinstance(child, SourcedBlock):
                yield from walk(child, f"{prefix}{name}.")

    return walk(hardware, "")


def shared(chip: HardwareConfig, baseline: HardwareConfig, key: str) -> bool:
    """Whether `key` is one assumption of both chips: the same value in both files, an assumption
    (or a field with alternatives) in the baseline's too."""
    try:
        same = baseline.value_at(key) == chip.value_at(key)
    except KeyError:
        return False
    return same and (is_assumption(baseline.source_of(key)) or key in baseline.alternatives)


def plans(chip: HardwareConfig, baseline: HardwareConfig | None
          ) -> list[tuple[str, Literal["both", "chip", "baseline"], list[Alternative]]]:
    """(key, which chips, alternatives) for every assumption the study varies."""
    out: list[tuple[str, Literal["both", "chip", "baseline"], list[Alternative]]] = []
    for key, options in chip.alternatives.items():
        if baseline is not None and shared(chip, baseline, key):
            values = {option.value for option in options}
            extra = [o for o in baseline.alternatives.get(key, []) if o.value not in values]
            out.append((key, "both", [*options, *extra]))
        else:
            out.append((key, "chip", list(options)))
    if baseline is not None:
        out += [(key, "baseline", list(options)) for key, options in baseline.alternatives.items()
                if not (key in chip.alternatives and shared(chip, baseline, key))]
    return out


def sensitivity(inputs: StudyInputs, mappings: list[tuple[MappingRequest, StoredMapping]], base: HardwareStudy,
                activity: ActivityTable | None = None, simulations: Simulations | None = None,
                workers: int | None = None) -> Sensitivity | None:
    """Vary every assumption with alternatives of the study's chips one at a time (module doc);
    None when the study has no comparison (no dense mapping, no baseline) to take ratios of.
    `simulations`: the event-model runs of the study itself (study.hardware_study's), reused.
    `workers`: processes sharing the alternatives (default: two where `parallel` allows)."""
    clock = time.perf_counter()
    headline = Ratios.of(base)
    if not headline.present():
        return None
    by_label = {request.label: (request, stored) for request, stored in mappings}
    baseline = by_label["baseline"][0].hardware if "baseline" in by_label else None
    chip = inputs.hardware
    memo: Simulations = simulations if simulations is not None else {}
    planned = plans(chip, baseline)
    owners = [baseline if varied_in == "baseline" and baseline is not None else chip for _, varied_in, _ in planned]
    jobs: list[Job] = [(key, option.value, varied_in) for (key, varied_in, options), owner in zip(planned, owners)
                       for option in options if option.value != owner.value_at(key)]
    done = _run(jobs, (inputs, by_label, base, activity, memo), workers)
    rows = []
    for (key, varied_in, options), owner in zip(planned, owners):
        variations = []
        for option in options:
            ratios, why = done.get((key, option.value, varied_in), (None, "the value the file uses"))
            variations.append(Variation(value=option.value, source=option.source, ratios=ratios, skipped=why))
        names = [chip.name, baseline.name] if varied_in == "both" and baseline is not None else [owner.name]
        rows.append(AssumptionSensitivity(key=key, varied_in=varied_in, chips=names, value=owner.value_at(key),
                                          source=owner.source_of(key), variations=variations))
    files = [chip, *([baseline] if baseline is not None else [])]
    not_varied = [f"{hw.name}: {key}" for hw in files for key in assumed_fields(hw) if key not in hw.alternatives]
    result = Sensitivity(headline=headline, assumptions=rows, not_varied=not_varied, seconds=0.0)
    rows = [row.model_copy(update={
        "ranges": {name: (min(values), max(values)) for name in headline.present() if (values := row.values(name))},
        "largest_swing": result.swing(row)}) for row in rows]
    ordered = sorted(rows, key=result.swing, reverse=True)
    return result.model_copy(update={"assumptions": ordered, "seconds": time.perf_counter() - clock})


# ----------------------------------------------------------------------------- the cache

# What a cached study holds and the code that made it: bump it when the study computes or records
# anything differently (this module, or a chip-model change that leaves the base study's figures
# as they were, which the key holds), so a cached study runs again instead of being read.
SENSITIVITY_CACHE_VERSION = 1


def study_key(inputs: StudyInputs, mappings: list[tuple[MappingRequest, str]], base: HardwareStudy,
              activity: ActivityTable | None) -> str:
    """The sensitivity cache's key: everything that decides the study. The workload's chip file
    as resolved (its numbers, sources and alternatives), its mapping and hardware_study sections
    and seed; per mapping the request (its chip file, the baseline's included, size, strategy,
    cell levels) and the mapping cache's key of what it maps (the network's identity and the
    mapping's setup); the measured DAC activity; the base study's figures (a changed chip model
    misses the cache) and the code's version. The event-model runs shared with the hardware
    stage and the worker count change no figure and are left out."""
    from simulator import __version__

    return stable_key({
        "study": "sensitivity",
        "hardware": inputs.hardware.model_dump(mode="json"),
        "mapping": inputs.mapping.model_dump(mode="json"),
        # Whether the study was asked for in the file or on the command line changes nothing in it.
        "hardware_study": inputs.study.model_dump(mode="json", exclude={"sensitivity"}),
        "seed": inputs.seed,
        "requests": [{"label": request.label, "hardware": request.hardware.model_dump(mode="json"),
                      "size": request.size, "reorder": request.reorder, "levels": request.levels,
                      "mapping_key": key} for request, key in mappings],
        "activity": None if activity is None else [[bits, dac, by_layer] for (bits, dac), by_layer
                                                   in sorted(activity.items())],
        "base": {label: result.summary.model_dump(mode="json")
                 for label, result in (("workload", base.workload), *base.others().items())},
        "resim": __version__,
        "stored": SENSITIVITY_CACHE_VERSION,
    })


def cache_path(name: str, key: str) -> Path:
    """Where the study of key `key` is cached; `name` (the workload's) names the file."""
    return cache_dir() / "sensitivity" / f"{name}-{key}.json"


def load_cached(path: Path, key: str) -> Sensitivity | None:
    """The study cached at `path` under `key`, or None (never run, or an entry that cannot be
    used: named on stderr, removed, and the study runs and writes it again)."""
    def parse(doc: dict[str, Any]) -> Sensitivity:
        return Sensitivity.model_validate(doc["sensitivity"])

    return read_json_entry(path, key, parse, what="sensitivity study")


def save_cached(path: Path, key: str, result: Sensitivity) -> None:
    """Cache `result` at `path`, stamped with `key`, whole or not at all (json writes every float
    by repr, so the study read back is equal to this one)."""
    write_json_entry(path, key, {"sensitivity": result.model_dump(mode="json")})


# ----------------------------------------------------------------------------- running the alternatives

Job = tuple[str, Value, str]                       # (key, value, which chips)
Outcome = tuple[Ratios | None, str | None]
_Context = tuple[StudyInputs, dict[str, tuple[MappingRequest, StoredMapping]], HardwareStudy,
                 ActivityTable | None, Simulations]

# What a forked worker reads: set in the parent before the fork, so nothing large is pickled.
_SHARED: tuple[_Context, list[Job]] | None = None

# Fewer alternatives than this run in the calling process: starting workers would cost more.
PARALLEL_FROM = 16


def parallel(workers: int | None) -> int:
    """How many processes may share the alternatives: `workers` (default 2, at most the cores),
    and 1 where a fork is not safe or not allowed: no fork start method, a daemonic process (a
    sweep's worker may be one; it has no children), or torch loaded (its thread pools do not
    survive a fork)."""
    wanted = workers if workers is not None else min(2, os.cpu_count() or 1)
    if (wanted <= 1 or "fork" not in multiprocessing.get_all_start_methods() or sys.platform != "linux"
            or multiprocessing.current_process().daemon or "torch" in sys.modules):
        return 1
    return wanted


def _run(jobs: list[Job], context: _Context, workers: int | None) -> dict[Job, Outcome]:
    """Every job's outcome, in this process or shared among forked workers (each with its own copy
    of the event-model runs so far; their own runs stay theirs)."""
    global _SHARED
    count = parallel(workers) if len(jobs) >= PARALLEL_FROM else 1
    if count == 1:
        return {job: _vary(*_job_args(context, job)) for job in jobs}
    _SHARED = (context, jobs)
    try:
        with multiprocessing.get_context("fork").Pool(count) as pool:
            # Interleaved, so both workers get their share of the alternatives that run the engine.
            outcomes = pool.map(_job_at, range(len(jobs)), chunksize=1)
    finally:
        _SHARED = None
    return dict(zip(jobs, outcomes))


def _job_at(index: int) -> Outcome:
    assert _SHARED is not None, "set before the workers fork"
    context, jobs = _SHARED
    return _vary(*_job_args(context, jobs[index]))


def _job_args(context: _Context, job: Job) -> tuple[StudyInputs, dict[str, tuple[MappingRequest, StoredMapping]],
                                                    HardwareStudy, str, Value, str, ActivityTable | None, Simulations]:
    inputs, by_label, base, activity, memo = context
    key, value, varied_in = job
    return inputs, by_label, base, key, value, varied_in, activity, memo


def _vary(inputs: StudyInputs, by_label: dict[str, tuple[MappingRequest, StoredMapping]], base: HardwareStudy,
          key: str, value: Value, varied_in: str, activity: ActivityTable | None,
          memo: Simulations) -> tuple[Ratios | None, str | None]:
    """The headline ratios with `key` = `value` on the chips `varied_in` names, or why not."""
    try:
        chip = inputs.hardware.with_value(key, value) if varied_in != "baseline" else inputs.hardware
        changed = {"workload", "dense"} if varied_in != "baseline" else set()
        requests = {label: request for label, (request, _) in by_label.items()}
        if varied_in != "baseline":
            requests["workload"] = replace(requests["workload"], hardware=chip)
            if "dense" in requests:
                requests["dense"] = replace(requests["dense"], hardware=chip)
        if varied_in != "chip" and "baseline" in requests:
            requests["baseline"] = replace(requests["baseline"],
                                           hardware=requests["baseline"].hardware.with_value(key, value))
            changed.add("baseline")
    except ValueError as exc:
        return None, f"not a valid chip with the rest of the file: {exc}"
    varied = replace(inputs, hardware=chip)
    for label in changed & set(requests):
        old, new = by_label[label][0], requests[label]
        if new.setup(varied) != old.setup(inputs):
            return None, "changes the mapping (the study's mappings are kept)"
        if new.levels and not old.levels:
            return None, "needs the tiles' cell levels (conductance read model), which the study's mappings lack"
        if activity is not None and coding_of(new.hardware) != coding_of(old.hardware):
            return None, "changes the input coding whose DAC activity was measured"
    # (energy per inference, time per image, area) of every chip; the ones left alone as they were.
    results = {label: (r.summary.energy_per_inference_pj, r.summary.per_image_ns, r.summary.area_mm2)
               for label, r in (("workload", base.workload), *base.others().items())}
    try:
        area = None
        if varied.study.sizing == "iso-area" and "baseline" in requests:
            if "baseline" in changed:
                results["baseline"] = _evaluate(varied, requests["baseline"], by_label["baseline"][1],
                                                study_sizing(varied), activity, memo)
                changed = changed | {"workload", "dense"}
            area = results["baseline"][2] * 1e6
        for label in sorted(changed & set(requests) - ({"baseline"} if area is not None else set())):
            results[label] = _evaluate(varied, requests[label], by_label[label][1], study_sizing(varied, area),
                                       activity, memo)
    except (ValueError, ArithmeticError) as exc:
        return None, f"the chip model rejects it: {exc}"
    if not all(math.isfinite(x) and x > 0 for figures in results.values() for x in figures[:2]):
        return None, "gives no finite, positive energy or time"
    return Ratios.of_figures({label: figures[:2] for label, figures in results.items()}), None


def _evaluate(inputs: StudyInputs, request: MappingRequest, stored: StoredMapping, sizing: Sizing,
              activity: ActivityTable | None, memo: Simulations) -> tuple[float, float, float]:
    """(energy per inference, time per image, area) of one chip, as the hardware study's summary
    gives them (simulator.hardware.model._typed)."""
    result = chip_result(stored.demands, stored.flow, request.hardware, chip_setup(inputs, request, sizing, activity),
                         simulations=memo)
    return result.energy_pj, result.per_image_ns, result.area_mm2
