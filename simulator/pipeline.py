"""`resim run`: the stages of design.md in turn, config -> network -> lowering -> mapping ->
hardware / faults -> report, each stage's typed result handed to the next.

This module only orchestrates; every stage lives in its own package, and none imports this one.
"""

from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from simulator import __version__
from simulator.config import Workload, load_workload
from simulator.data.datasets import Arrays
from simulator.data.identity import DataIdentity, cached_identity, remember_identity
from simulator.hardware import study
from simulator.lowering.dataflow import Dataflow
from simulator.mapping.network import table_totals
from simulator.mapping.setup import MappingSetup
from simulator.report.model import (
    AccuracySection,
    DataSection,
    HardwareSection,
    Histogram,
    LayerRecord,
    MappingSection,
    NetworkSection,
    OtherChip,
    PruneStep,
    RunReport,
    Stage,
    Totals,
)

if TYPE_CHECKING:   # torch: a hardware-only run with cached mappings never imports it
    from simulator.faults.study import FaultStudy
    from simulator.hardware.sensitivity import Sensitivity
    from simulator.mapping.crossbar_pruning import CrossbarPruneStep
    from simulator.preparation import PreparedNetwork


@dataclass
class StageLog:
    """Which stages ran (and how long they took) and why the others did not."""

    ran: list[Stage] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    show: bool = False              # print each stage as it starts and ends, on stderr
    verbose: bool = False           # and the details: caches used, every chip's figures (resim --verbose)

    def say(self, text: str) -> None:
        if self.show:
            print(text, file=sys.stderr, flush=True)

    def detail(self, text: str) -> None:
        if self.verbose:
            print(f"  {text}", file=sys.stderr, flush=True)

    def start(self, stage: Stage, what: str) -> float:
        """Announce a stage; the clock to hand to `done`."""
        self.say(f"{stage}: {what} ...")
        return time.perf_counter()

    def done(self, stage: Stage, started: float) -> None:
        self.ran.append(stage)
        seconds = time.perf_counter() - started
        self.timings[f"{stage.replace(' ', '_')}_seconds"] = seconds
        self.say(f"{stage}: done in {seconds:.1f} s")

    def skip(self, stage: Stage, why: str) -> None:
        self.skipped[stage] = why
        self.say(f"{stage}: skipped ({why})")


def default_out_dir(workload: Workload, *, accuracy: bool = True) -> Path:
    """results/<workload>-<config hash>/ under the current folder; a hardware-only run (no
    accuracy, no fault study) writes results/<workload>-<config hash>-hardware/, so it never
    overwrites the folder of a full run of the same workload."""
    suffix = "" if accuracy else "-hardware"
    return Path("results") / f"{workload.config.name}-{workload.config_hash()}{suffix}"


def run(workload_path: str | Path, *, data_dir: str | Path | None = None, out: str | Path | None = None,
        force: bool = False, progress: bool = True, accuracy: bool = True,
        sensitivity: bool | None = None) -> tuple[Path, RunReport]:
    """Run every stage on one workload; return the results folder and the report.

    With `accuracy` off, neither the test-set accuracy nor the fault study runs, and when the
    mappings are cached (and `force` is off) neither the data set nor the network is loaded.
    `sensitivity` (None: the workload's hardware_study.sensitivity) adds the sensitivity study of
    the hardware files' assumptions (simulator.hardware.sensitivity)."""
    verbose = os.environ.get("RESIM_VERBOSE", "") not in ("", "0")
    log = StageLog(show=progress or verbose, verbose=verbose)
    log.say(f"resim run {workload_path}: reading the workload ...")
    workload = load_workload(workload_path)
    if workload.config.faults is not None and (workload.config.faults.layers or workload.config.faults.only_layers):
        from simulator.network.build import check_fault_layers_early

        check_fault_layers_early(workload)
    requests = study.requests(workload, study.baseline_hardware(workload), sensitivity=sensitivity)
    spec = workload.config.faults
    crossbar_spec = workload.config.mapping.crossbar_prune

    stored: list[study.StoredMapping] | None = None
    identity: DataIdentity | None = None
    measured = workload.config.hardware_study.dac_activity == "measured"
    activity: study.ActivityTable | None = None
    recorded: Provenance | None = None
    cached_accuracy: CachedAccuracy | None = None
    # With accuracy, the network and data set are still not loaded when its figure is cached and no
    # fault study needs them (issue #25: a rerun that changed nothing takes seconds).
    if not force and not measured and (not accuracy or spec is None):
        identity = cached_identity(workload, data_dir)
        if identity is not None and accuracy:
            cached_accuracy = _read_accuracy(workload, identity)
        if identity is not None and (not accuracy or cached_accuracy is not None):
            # The mappings are used only with the record of the run that made them, so the report
            # holds the same data set and network figures as that run's (issue #26).
            recorded = _read_provenance(workload, identity)
            stored = _cached_mappings(workload, identity, requests) if recorded is not None else None
    arrays: Arrays | None = None
    net: PreparedNetwork | None = None
    crossbar_steps: list[CrossbarPruneStep] = []
    test_accuracy = None
    test_images = 0
    clock = time.perf_counter()
    if stored is None:
        clock = log.start("data", f"loading {workload.config.data.dataset}")
        from simulator.data.datasets import has_images
        from simulator.data.load import input_shape, load_data
        from simulator.network.tensors import accuracy_on_test_set
        from simulator.preparation import crossbar_prune, network_identity, prepare_network

        arrays = load_data(workload, data_dir)
        identity = DataIdentity(arrays.spec, arrays.dataset_id)
        remember_identity(workload, data_dir, arrays.dataset_id)
        log.done("data", clock)

        clock = log.start("network", "loading, or training and pruning, the network")
        net = prepare_network(workload, arrays, force=force, progress=progress)
        log.done("network", clock)
        if crossbar_spec is not None:
            clock = log.start("crossbar pruning", "pruning whole crossbars")
            net, crossbar_steps = crossbar_prune(workload, arrays, net, force=force, progress=progress)
            log.done("crossbar pruning", clock)
        if accuracy and not has_images(arrays):
            log.skip("accuracy", f"the data set {arrays.spec.name} has shapes only, no images")
        elif accuracy:
            cached_accuracy = None if force else _read_accuracy(workload, identity)
            if cached_accuracy is not None:
                log.skip("accuracy", cached_accuracy.describe())
                test_accuracy, test_images = cached_accuracy.test_accuracy, cached_accuracy.test_images
            else:
                clock = log.start("accuracy", f"testing on {len(arrays.y_test)} images")
                test_accuracy = accuracy_on_test_set(net.model, arrays, workload.config.train.eval_batch_size,
                                                     progress=progress)
                test_images = len(arrays.y_test)
                _write_accuracy(workload, identity, test_accuracy, test_images)
                log.done("accuracy", clock)
        clock = log.start("mapping", f"mapping {len(requests)} ways (the workload's, and its comparisons)")
        network = network_identity(workload, arrays)
        stored = []
        for request in requests:
            cached = None if force else _load_mapping(workload, network, request)
            log.detail(f"{request.label} mapping ({request.hardware.name}, {request.size}x{request.size}, "
                       f"{request.reorder}): {'reused from' if cached else 'mapped now into'} the cache, "
                       f"{study.mapping_path(workload, study.mapping_key(workload, network, request))}")
            stored.append(cached or study.compute_mapping(workload, network, request, net.model, input_shape(arrays)))
        if measured:
            activity = _measured_activity(workload, net, arrays, requests, stored[0].flow, log)
        recorded = Provenance(_data_section(arrays),
                              NetworkSection(checkpoint=str(net.checkpoint), reused_checkpoint=net.reused,
                                             training=net.metrics),
                              [PruneStep(**vars(step)) for step in crossbar_steps])
        _write_provenance(workload, identity, recorded)
    else:
        if cached_accuracy is not None:
            log.skip("accuracy", cached_accuracy.describe())
            test_accuracy, test_images = cached_accuracy.test_accuracy, cached_accuracy.test_images
        log.say(f"mapping: {len(requests)} mappings reused from the cache")
        reused = "mappings reused from the cache; the network was not loaded"
        log.skip("data", "mappings reused from the cache; the data set was not loaded")
        log.skip("network", reused)
        if crossbar_spec is not None:
            log.skip("crossbar pruning", reused)
    if crossbar_spec is None:
        log.skip("crossbar pruning", "the workload has no mapping.crossbar_prune")
    if not accuracy:
        log.skip("accuracy", "not asked for (--no-accuracy)")
    log.done("mapping", clock)

    clock = log.start("hardware", f"simulating {len(requests)} chips")
    simulations: dict = {}
    hardware = _hardware_study(workload, requests, stored, activity, simulations)
    for label, result in (("workload", hardware.workload), *hardware.others().items()):
        c = result.summary
        log.detail(f"{label}: {c.hardware} {c.crossbar_size}x{c.crossbar_size}, {c.tiles} tiles ({c.sizing}), "
                   f"{c.energy_per_inference_pj / 1e6:.4g} uJ ({c.static_energy_pj / 1e6:.4g} static), "
                   f"{c.latency_ns / 1e3:.4g} us, {c.simulation_events} events, "
                   f"{c.contention_wait_ns / 1e3:.3g} us waited")
    varied = _sensitivity(workload, requests, stored, hardware, activity, simulations, sensitivity, log)
    log.done("hardware", clock)
    mine = hardware.workload
    layers = stored[0].table.merge(mine.layers.drop(columns=["tiles", "vectors", "macs", "nonzeros"]), on="layer",
                                   how="left")

    out_dir = Path(out) if out is not None else default_out_dir(workload, accuracy=accuracy)
    faults: FaultStudy | None = None
    if spec is None:
        log.skip("faults", "the workload has no faults: section")
    elif not accuracy:
        log.skip("faults", "not asked for (--no-accuracy)")
    else:
        assert net is not None and arrays is not None
        faults = _fault_study(workload, net, arrays, out_dir, progress=progress, log=log)

    clock = time.perf_counter()
    from simulator.report.plots import energy_by_layer_plot, utilization_histogram_plot

    setup = MappingSetup.of(workload)
    histogram = stored[0].histogram
    energy_by_layer_plot(mine.layers, out_dir / "energy_by_layer.png",
                         f"{workload.config.name} on {mine.summary.hardware}")
    utilization_histogram_plot(histogram, out_dir / "utilization_histogram.png",
                               f"{workload.config.name}, {setup.size}x{setup.size} tiles", setup.reorder)
    _sensitivity_plot(varied, out_dir, workload.config.name)
    plot_seconds = time.perf_counter() - clock
    assert recorded is not None     # loaded with the network, or read with the cached mappings
    report = RunReport(
        resim_version=__version__, workload=workload.config.name, workload_file=str(workload.path),
        hardware_file=str(workload.hardware_path), config_hash=workload.config_hash(), seed=workload.config.seed,
        config=workload.resolved(), versions=_versions(),
        data=recorded.data, network=recorded.network,
        accuracy=(AccuracySection(test_accuracy=test_accuracy, test_images=test_images)
                  if test_accuracy is not None else None),
        skipped=log.skipped,
        mapping=MappingSection(crossbar_size=setup.size, reorder=setup.reorder, encoding=setup.encoding,
                               weight_bits=setup.weight_bits, cell_bits=setup.cell_bits),
        totals=Totals(**table_totals(layers)),
        utilization_histogram=Histogram(**histogram.as_dict()),
        hardware=HardwareSection(
            summary=mine.summary, components=mine.components, timings=mine.timings,
            **{label: OtherChip(summary=other.summary, components=other.components, versus=mine.versus(other))
               for label, other in hardware.others().items()}),
        crossbar_pruning=recorded.crossbar_pruning,
        faults=faults.points() if faults is not None else None,
        sensitivity=varied,
        layers=[LayerRecord.model_validate(row) for row in layers.to_dict(orient="records")],
        stages_run=log.ran,
        timings={**log.timings, "plot_seconds": plot_seconds},
    )
    _write_report(out_dir, report, layers)
    return out_dir, report


@dataclass(frozen=True)
class Provenance:
    """What the report says of the data set and the network (and crossbar pruning), recorded when
    they are loaded so that a run reusing the cached mappings reports the same figures."""

    data: DataSection
    network: NetworkSection
    crossbar_pruning: list[PruneStep]

    def record(self) -> dict[str, object]:
        return {"data": self.data.model_dump(mode="json"), "network": self.network.model_dump(mode="json"),
                "crossbar_pruning": [step.model_dump(mode="json") for step in self.crossbar_pruning]}


def _network_key(workload: Workload, identity: DataIdentity) -> dict[str, object]:
    """What decides the network a run tests and maps: its identity and its crossbar pruning."""
    from simulator.preparation import network_identity

    spec = workload.config.mapping.crossbar_prune
    return {"network": network_identity(workload, identity),
            "crossbar_prune": spec.model_dump(mode="json") if spec is not None else None}


def _provenance_key(workload: Workload, identity: DataIdentity) -> tuple[Path, str]:
    from simulator.cache import cache_dir, stable_key

    key = stable_key({**_network_key(workload, identity), "data": workload.config.data.model_dump(mode="json")})
    return cache_dir() / "provenance" / f"{workload.config.name}-{key}.json", key


def _write_provenance(workload: Workload, identity: DataIdentity | None, record: Provenance) -> None:
    from simulator.cache import write_json_entry

    assert identity is not None
    write_json_entry(*_provenance_key(workload, identity), record.record())


def _read_provenance(workload: Workload, identity: DataIdentity) -> Provenance | None:
    """The recorded provenance of this workload's network and data, or None (never recorded, or
    unreadable: then the run loads them, and records it again)."""
    from simulator.cache import read_json_entry

    def parse(doc: dict[str, Any]) -> Provenance:
        network = NetworkSection.model_validate(doc["network"])
        # Loaded from its record, the checkpoint is reused by definition.
        return Provenance(DataSection.model_validate(doc["data"]),
                          network.model_copy(update={"reused_checkpoint": True}),
                          [PruneStep.model_validate(step) for step in doc["crossbar_pruning"]])

    return read_json_entry(*_provenance_key(workload, identity), parse, what="provenance record")


@dataclass(frozen=True)
class CachedAccuracy:
    """The accuracy pass's figure as an earlier run recorded it, and where."""

    test_accuracy: float
    test_images: int
    path: Path

    def describe(self) -> str:
        return (f"its figure, {self.test_accuracy:.2%} on {self.test_images} test images, taken from the cache "
                f"({self.path})")


def _accuracy_key(workload: Workload, identity: DataIdentity) -> tuple[Path, str]:
    """Where the accuracy pass's figure is cached, and its key: everything that decides it. The
    pass tests the network with its float weights (no quantisation or crossbar emulation: those
    are the fault study's), so the key is the network (its producer, for a shipped checkpoint the
    file's bytes, and crossbar pruning), the data set (its id, which covers test_set, and the data
    block: test_samples), and the evaluation batch size."""
    from simulator.cache import cache_dir, stable_key

    data = workload.config.data.model_dump(mode="json", exclude={"dir"})
    key = stable_key({"pass": "float test accuracy", **_network_key(workload, identity),
                      "dataset_id": identity.dataset_id,
                      "data": {**data, "test_set": workload.config.data.test_set},
                      "eval_batch_size": workload.config.train.eval_batch_size})
    return cache_dir() / "accuracy" / f"{workload.config.name}-{key}.json", key


def _write_accuracy(workload: Workload, identity: DataIdentity | None, test_accuracy: float, images: int) -> None:
    from simulator.cache import write_json_entry

    assert identity is not None
    write_json_entry(*_accuracy_key(workload, identity), {"test_accuracy": test_accuracy, "test_images": images})


def _read_accuracy(workload: Workload, identity: DataIdentity | None) -> CachedAccuracy | None:
    """The cached figure of the accuracy pass, or None (never tested, or an entry that cannot be
    used: then the pass runs and writes it again)."""
    from simulator.cache import read_json_entry

    if identity is None:
        return None
    path, key = _accuracy_key(workload, identity)

    def parse(doc: dict[str, Any]) -> CachedAccuracy:
        figure, images = doc["test_accuracy"], doc["test_images"]
        if not isinstance(figure, float) or not 0 <= figure <= 1 or not isinstance(images, int) or images < 1:
            raise ValueError(f"test_accuracy {figure!r}, test_images {images!r}")
        return CachedAccuracy(figure, images, path)

    return read_json_entry(path, key, parse, what="test accuracy")


def _cached_mappings(workload: Workload, identity: DataIdentity,
                     requests: list[study.MappingRequest]) -> list[study.StoredMapping] | None:
    """Every requested mapping from the cache, or None when one is missing."""
    from simulator.preparation import network_identity

    network = network_identity(workload, identity)
    found = [_load_mapping(workload, network, r) for r in requests]
    return None if any(m is None for m in found) else [m for m in found if m is not None]


def _load_mapping(workload: Workload, network: dict, request: study.MappingRequest) -> study.StoredMapping | None:
    """The cached mapping of `request`; an entry that cannot be read (empty, truncated, foreign) is
    named in one line and taken as absent, so it is mapped again and its file replaced."""
    from simulator.cache import report_bad_entry

    try:
        return study.load_mapping(workload, network, request)
    except Exception as exc:  # noqa: BLE001 - however a cache file fails to read, it is rebuilt
        path = study.mapping_path(workload, study.mapping_key(workload, network, request))
        reason = (str(exc).strip().splitlines() or [""])[0][:120]
        report_bad_entry(path, "mapping", f"is unreadable ({type(exc).__name__}: {reason})")
        return None


def _measured_activity(workload: Workload, net: PreparedNetwork, arrays: Arrays, requests: list[study.MappingRequest],
                       flow: Dataflow, log: StageLog) -> study.ActivityTable:
    """hardware_study.dac_activity measured: the input-digit activity of every layer on the first
    activity_images test images, for each input coding of the study's chips."""
    from simulator.config.errors import ConfigError, Problem
    from simulator.data.datasets import has_images
    from simulator.lowering.activity import input_activity
    from simulator.network.train import normalised_images

    if not has_images(arrays):
        raise ConfigError([Problem(workload.path, "hardware_study.dac_activity", f"the data set {arrays.spec.name} "
                                   "has shapes only, no images to measure activity on; allowed here: full",
                                   "measured")])
    count = min(workload.config.hardware_study.activity_images, len(arrays.y_test))
    log.say(f"hardware: measuring DAC activity on {count} test images ...")
    names = [layer.name for layer in flow.layers]     # the layers the chip runs
    from simulator.faults.bit_true import CALIBRATION_IMAGES

    # The scales of the bit-true emulation: the largest input over its calibration training images.
    calibration = normalised_images(arrays.x_train[:CALIBRATION_IMAGES], arrays) if len(arrays.x_train) else None
    table = input_activity(net.model, names, normalised_images(arrays.x_test[:count], arrays),
                           study.codings(requests), calibration)
    for (bits, dac), by_layer in table.items():
        log.detail(f"DAC activity, {bits}-bit inputs in {dac}-bit digits: "
                   + ", ".join(f"{name} {share:.0%}" for name, share in by_layer.items()))
    return table


def _hardware_study(workload: Workload, requests: list[study.MappingRequest],
                    stored: list[study.StoredMapping], activity: study.ActivityTable | None = None,
                    simulations: dict | None = None) -> study.HardwareStudy:
    """The hardware stage; a chip too small for its mapping, or hardware numbers that give no
    finite figure, are ConfigErrors naming the hardware file and the chip."""
    from simulator.config.errors import ConfigError, Problem
    from simulator.hardware.placement import ChipTooSmall

    baseline = workload.config.hardware_study.baseline
    files = {"workload": workload.hardware_path, "dense": workload.hardware_path,
             "baseline": (workload.path.parent / baseline).resolve() if baseline else workload.hardware_path}
    try:
        # Overflow is checked below (every figure finite), not warned about line by line.
        with np.errstate(over="ignore", invalid="ignore"):
            result = study.hardware_study(workload, list(zip(requests, stored)), activity, simulations)
    except (ChipTooSmall, ZeroDivisionError, OverflowError) as exc:
        # Which chip: the first whose own evaluation fails the same way (only on this error path).
        label = next((r.label for r, m in zip(requests, stored) if _fails(workload, r, m)), requests[0].label)
        if isinstance(exc, ChipTooSmall):
            raise ConfigError([Problem(files[label], "chip.tiles", f"too small for the {label} mapping: {exc} "
                                       "(chip.tiles x tile.arrays); give more tiles or arrays per tile")]) from None
        raise ConfigError([Problem(files[label], "", f"its numbers give no finite result for the {label} mapping "
                                   f"({type(exc).__name__}: {exc}); is one absurdly large or small?")]) from None
    for label, chip in (("workload", result.workload), *result.others().items()):
        summary = chip.summary.model_dump()
        bad = [name for name, value in summary.items() if isinstance(value, float) and not math.isfinite(value)]
        if bad:
            raise ConfigError([Problem(files[label], "", f"its numbers give a non-finite {bad[0]} "
                                       f"({summary[bad[0]]}) for the {label} mapping; is one absurdly large or "
                                       "small?")])
    return result


def _sensitivity(workload: Workload, requests: list[study.MappingRequest], stored: list[study.StoredMapping],
                 result: study.HardwareStudy, activity: study.ActivityTable | None, simulations: dict,
                 asked: bool | None, log: StageLog) -> Sensitivity | None:
    """The sensitivity study when asked for (`asked`, else hardware_study.sensitivity), on the
    hardware stage's mappings and event-model runs."""
    if not (asked if asked is not None else workload.config.hardware_study.sensitivity):
        return None
    from simulator.hardware.sensitivity import sensitivity

    log.say("hardware: varying the hardware files' assumptions one at a time ...")
    with np.errstate(over="ignore", invalid="ignore"):
        varied = sensitivity(study.StudyInputs.of(workload), list(zip(requests, stored)), result, activity,
                             simulations)
    if varied is None:
        log.say("hardware: no sensitivity study (no dense mapping or baseline chip to take ratios against)")
        return None
    log.timings["sensitivity_seconds"] = varied.seconds
    log.detail(f"sensitivity: {len(varied.assumptions)} assumptions in {varied.seconds:.2f} s; {varied.verdict()}")
    return varied


def _sensitivity_plot(varied: Sensitivity | None, out_dir: Path, name: str) -> None:
    """The tornado plot of the sensitivity study; without one, a plot left by an earlier run is
    removed (report.html embeds every plot of the folder)."""
    from simulator.report.plots import SENSITIVITY_PLOT, tornado_plot

    if varied is None:
        (out_dir / SENSITIVITY_PLOT).unlink(missing_ok=True)
    else:
        tornado_plot(varied, out_dir / SENSITIVITY_PLOT, f"{name}: headline ratios over the assumptions' alternatives")


def _fails(workload: Workload, request: study.MappingRequest, mapping: study.StoredMapping) -> bool:
    try:
        study.evaluate_request(workload, request, mapping)
    except (ValueError, ArithmeticError):
        return True
    return False


def _fault_study(workload: Workload, net: PreparedNetwork, arrays: Arrays, out_dir: Path, *, progress: bool,
                 log: StageLog) -> FaultStudy:
    """The workload's own fault study, its draws in accuracy.csv and its plot."""
    from simulator.atomic import write_text
    from simulator.data.load import input_shape
    from simulator.faults.study import run_fault_study
    from simulator.mapping.network import map_network
    from simulator.network.tensors import tensors_of
    from simulator.report.plots import accuracy_vs_rate_plot

    assert workload.config.faults is not None
    clock = log.start("faults", "drawing stuck-at faults and testing under them")
    mapped = map_network(net.model, input_shape(arrays), MappingSetup.of(workload))
    faults = run_fault_study(workload, net.model, mapped, tensors_of(arrays), workload.config.faults,
                             progress=progress, from_workload=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_text(out_dir / "accuracy.csv", faults.draws.to_csv(index=False))
    accuracy_vs_rate_plot(faults.summary, out_dir / "accuracy_vs_fault_rate.png", workload.config.name)
    log.done("faults", clock)
    return faults


def _data_section(arrays: Arrays) -> DataSection:
    return DataSection(dataset=arrays.spec.name, dataset_id=arrays.dataset_id, source=arrays.source,
                       train_images=len(arrays.y_train), test_images=len(arrays.y_test))


def _versions() -> dict[str, str]:
    from simulator.report.results import versions

    return versions()


def _write_report(out_dir: Path, report: RunReport, layers: pd.DataFrame) -> None:
    from simulator.atomic import write_text
    from simulator.report.html import render_html
    from simulator.report.markdown import render_run
    from simulator.report.results import write_results

    write_text(out_dir / "report.html", render_html(report, out_dir))
    write_results(out_dir, report, layers, render_run(report))
