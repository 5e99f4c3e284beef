"""The orchestrator: one `Session` runs the stages of design.md, config -> data -> network ->
lowering / mapping -> hardware | faults -> report, each stage's typed result handed to the next and
kept, for `resim run` (`run`), `resim faults`, a sweep's points and `simulator.simulate`.

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

from simulator import __version__
from simulator.config import Workload, load_workload
from simulator.config.hardware import HardwareConfig
from simulator.config.workload import TrainSpec
from simulator.data.identity import DataIdentity, cached_identity, remember_identity
from simulator.hardware import study
from simulator.lowering.dataflow import Dataflow
from simulator.mapping.cache import (
    LoweredNetwork,
    NetworkIdentity,
    load_lowered,
    lowered_key,
    mapping_path,
    save_lowered,
)
from simulator.mapping.network import MappedNetwork, table_totals
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
    from torch import nn

    from simulator.config.faults import FaultSpec
    from simulator.data.datasets import Arrays
    from simulator.faults.study import FaultStudy
    from simulator.hardware.sensitivity import Sensitivity
    from simulator.mapping.crossbar_pruning import CrossbarPruneStep
    from simulator.network.train import TensorData
    from simulator.preparation import PreparedNetwork

# The evaluation batch of a model's session: the workload schema's default.
_EVAL_BATCH: int = TrainSpec.model_fields["eval_batch_size"].default


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


class Session:
    """One run of design.md's stages: config -> data -> network -> lowering / mapping -> hardware |
    faults -> report. Each stage runs at most once, when a later one first asks for its typed
    result, and what it can take from the cache it takes from there; `resim run`, `resim faults`,
    a sweep's points (through `run`) and `simulator.simulate` are thin wrappers over it.

    A session is opened on a workload file (`open`: data set, network preparation and the caches)
    or on a network held in memory (`of_model`: the Python API; nothing cached, nothing trained).
    """

    def __init__(self, inputs: study.StudyInputs, baseline: HardwareConfig | None, *, workload: Workload | None = None,
                 data_dir: str | Path | None = None, force: bool = False, progress: bool = True,
                 log: StageLog | None = None, sensitivity: bool | None = None) -> None:
        self.inputs = inputs
        self.baseline = baseline
        self.workload = workload
        self.data_dir = data_dir
        self.force = force
        self.progress = progress
        self.log = log or StageLog()
        # Whether the sensitivity study runs decides whether the mappings record cell levels
        # (the conductance read model of `alternatives:` needs them; study.requests).
        self.requests = study.requests(inputs, baseline, sensitivity=sensitivity)
        self._identity: DataIdentity | None = None
        self._identity_looked = False
        self._arrays: Arrays | None = None
        self._network: PreparedNetwork | None = None
        self._model: nn.Module | None = None
        self._shape: tuple[int, int, int] | None = None
        self._tensors: TensorData | None = None
        self._crossbar_steps: list[CrossbarPruneStep] = []
        self._mapped: dict[str, MappedNetwork] = {}
        self._lowered: LoweredNetwork | None = None
        self._stored: list[study.StoredMapping] | None = None
        self._simulations: dict = {}
        self._activity: study.ActivityTable | None = None
        self._activity_done = False
        self._hardware: study.HardwareStudy | None = None

    # ------------------------------------------------------------------------- opening

    @classmethod
    def open(cls, workload_path: str | Path, *, data_dir: str | Path | None = None, force: bool = False,
             progress: bool = True, command: str = "resim run", sensitivity: bool | None = None) -> Session:
        """A session on a workload file: read and checked (fault layers named by a zoo network
        too), nothing loaded yet; `command` names it in the progress lines."""
        verbose = os.environ.get("RESIM_VERBOSE", "") not in ("", "0")
        log = StageLog(show=progress or verbose, verbose=verbose)
        log.say(f"{command} {workload_path}: reading the workload ...")
        workload = load_workload(workload_path)
        faults = workload.config.faults
        if faults is not None and (faults.layers or faults.only_layers):
            from simulator.network.build import check_fault_layers_early

            check_fault_layers_early(workload)
        return cls(study.StudyInputs.of(workload), study.baseline_hardware(workload), workload=workload,
                   data_dir=data_dir, force=force, progress=progress, log=log, sensitivity=sensitivity)

    @classmethod
    def of_model(cls, model: nn.Module, input_shape: tuple[int, int, int], inputs: study.StudyInputs,
                 baseline: HardwareConfig | None, tensors: TensorData | None = None, *,
                 progress: bool = False) -> Session:
        """A session on a network held in memory, as it is (its weights; nothing trained), with
        optional test data `tensors`; its mappings are made here, never cached."""
        session = cls(inputs, baseline, progress=progress)
        session._model, session._shape, session._tensors = model, input_shape, tensors
        return session

    def _file(self) -> Workload:
        assert self.workload is not None, "a stage of a workload file's session"
        return self.workload

    # ------------------------------------------------------------------------- data and network

    def identity(self) -> DataIdentity | None:
        """The data set's identity: of the loaded data set, else recorded by an earlier run of the
        same files (without loading them); None when neither (or `force`)."""
        if (self._identity is None and self._arrays is None and not self.force and self.workload is not None
                and not self._identity_looked):
            self._identity_looked = True
            self._identity = cached_identity(self.workload, self.data_dir)
        return self._identity

    def arrays(self) -> Arrays:
        """The data stage: the workload's data set, loaded once; its id recorded for later runs."""
        if self._arrays is None:
            from simulator.data.load import load_data

            workload = self._file()
            clock = self.log.start("data", f"loading {workload.config.data.dataset}")
            self.log.skipped.pop("data", None)     # read after all (a later stage needs its images)
            arrays = load_data(workload, self.data_dir)
            self._identity = DataIdentity(arrays.spec, arrays.dataset_id)
            remember_identity(workload, self.data_dir, arrays.dataset_id)
            self._arrays = arrays
            self.log.done("data", clock)
        return self._arrays

    def network(self) -> PreparedNetwork:
        """The network stage: loaded, or trained and pruned, then crossbar-pruned when the mapping
        asks for it (each step from its cache where it can)."""
        if self._network is None:
            from simulator.preparation import crossbar_prune, prepare_network

            workload = self._file()
            net = self._network_from_checkpoint()
            if net is not None:
                self._network = net
                return net
            arrays = self.arrays()
            clock = self.log.start("network", "loading, or training and pruning, the network")
            net = prepare_network(workload, arrays, force=self.force, progress=self.progress)
            self.log.done("network", clock)
            if workload.config.mapping.crossbar_prune is not None:
                clock = self.log.start("crossbar pruning", "pruning whole crossbars")
                net, self._crossbar_steps = crossbar_prune(workload, arrays, net, force=self.force,
                                                           progress=self.progress)
                self.log.done("crossbar pruning", clock)
            self._network = net
        return self._network

    def _network_from_checkpoint(self) -> PreparedNetwork | None:
        """The network from its shipped or cached checkpoint without reading the data set, when
        its identity is recorded and nothing would train (no crossbar-grained pruning, which
        fine-tunes); None otherwise, and the network stage loads the data set first."""
        from simulator.preparation import NotTrainedError, prepare_network

        workload = self._file()
        if self._arrays is not None or self.force or workload.config.mapping.crossbar_prune is not None:
            return None
        identity = self.identity()
        if identity is None or identity.spec is None:
            return None
        clock = self.log.start("network", "loading the network from its checkpoint (the data set is not read)")
        try:
            net = prepare_network(workload, identity, progress=self.progress, train=False)
        except NotTrainedError:
            self.log.say("network: no checkpoint yet; the data set is read to make one")
            return None
        self.log.done("network", clock)
        self.log.skip("data", "its id and the network's checkpoint are cached: the data set was not read")
        return net

    def model(self) -> nn.Module:
        return self._model if self._model is not None else self.network().model

    def input_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of one input: the data set's, known from its identity without reading it."""
        if self._shape is None:
            identity = self.identity() if self._arrays is None else None
            spec = identity.spec if identity is not None and identity.spec is not None else self.arrays().spec
            self._shape = (spec.channels, spec.size, spec.size)
        return self._shape

    def test_tensors(self) -> TensorData | None:
        """The test images as normalised tensors (with the head of the training split that
        calibrates converters): nothing trains here, so nothing else is prepared. None: a
        shape-only data set, or a model's session without data."""
        if self._tensors is None and self.workload is not None:
            from simulator.data.datasets import has_images
            from simulator.network.tensors import test_tensors_of

            if has_images(self.arrays()):
                self._tensors = test_tensors_of(self.arrays())
        return self._tensors

    def network_identity(self) -> NetworkIdentity:
        """The typed identity of the network every cache key of this run names."""
        from simulator.preparation import network_identity

        identity = self.identity() if self._arrays is None else DataIdentity(self._arrays.spec,
                                                                            self._arrays.dataset_id)
        if identity is None:
            self.arrays()
            identity = self._identity
        assert identity is not None
        return network_identity(self._file(), identity)

    # ------------------------------------------------------------------------- accuracy

    def cached_accuracy(self) -> CachedAccuracy | None:
        """The accuracy pass's figure from the cache (never with `force`)."""
        identity = self.identity()
        if self.force or identity is None:
            return None
        return _read_accuracy(self._file(), identity)

    def accuracy(self) -> AccuracySection | None:
        """The float network's accuracy on the test images: from the cache, or measured (and
        cached); None without test images."""
        if self.workload is None:
            if self._tensors is None:
                return None
            from simulator.network.train import evaluate

            figure = evaluate(self.model(), self._tensors.x_test, self._tensors.y_test, _EVAL_BATCH)
            return AccuracySection(test_accuracy=figure, test_images=len(self._tensors.y_test))
        if self.identity() is None and not self.force:
            self.arrays()       # its id not recorded yet (or for other files): the cache is keyed by it
        cached = self.cached_accuracy()
        if cached is not None:
            self.log.skip("accuracy", cached.describe())
            return AccuracySection(test_accuracy=cached.test_accuracy, test_images=cached.test_images)
        arrays = self.arrays()
        from simulator.data.datasets import has_images

        if not has_images(arrays):
            self.log.skip("accuracy", f"the data set {arrays.spec.name} has shapes only, no images")
            return None
        from simulator.network.tensors import accuracy_on_test_set

        model = self.model()
        identity = self.identity()
        clock = self.log.start("accuracy", f"testing on {len(arrays.y_test)} images")
        figure = accuracy_on_test_set(model, arrays, self._file().config.train.eval_batch_size,
                                      progress=self.progress)
        _write_accuracy(self._file(), identity, figure, len(arrays.y_test))
        self.log.done("accuracy", clock)
        return AccuracySection(test_accuracy=figure, test_images=len(arrays.y_test))

    # ------------------------------------------------------------------------- lowering and mapping

    def lowered(self) -> LoweredNetwork:
        """The lowering stage: every Conv2d / Linear as group matrices, and the dataflow, for the
        data set's input shape. A workload file's lowering is cached (by the network's identity),
        so an empty mapping cache maps again without torch; the network's own weights are read
        where it is loaded anyway."""
        if self._lowered is None:
            shape = self.input_shape() if self._shape is None else self._shape
            network = key = None
            workload = self.workload
            if workload is not None and workload.config.mapping.crossbar_prune is None:
                network = self.network_identity()
                key = lowered_key(network, shape)
                if not self.force and self._network is None:
                    self._lowered = load_lowered(network, key)
            if self._lowered is None:
                from simulator.lowering.layers import lower_with_dataflow, weight_matrices
                from simulator.pruning.masks import prunable

                model = self.model()
                layers, flow = lower_with_dataflow(model, shape)
                modules = prunable(model)
                self._lowered = LoweredNetwork(layers, {layer.name: weight_matrices(modules[layer.name])
                                                        for layer in layers}, flow)
                if network is not None and key is not None:
                    save_lowered(network, key, self._lowered)
        return self._lowered

    def flow(self) -> Dataflow:
        """The network's dataflow (every layer's geometry and producers), traced once."""
        return self.lowered().flow

    def mapped(self, request: study.MappingRequest | None = None) -> MappedNetwork:
        """The network mapped for `request` (default: the workload's own mapping), tiles and all;
        mapped once per session, whichever stage asks first (the mapping cache's entry, the fault
        study)."""
        request = request or self.requests[0]
        if request.label not in self._mapped:
            from simulator.mapping.network import map_matrices

            lowered = self.lowered()
            self._mapped[request.label] = map_matrices(lowered.layers, lowered.matrices, request.setup(self.inputs))
        return self._mapped[request.label]

    def cached_mappings(self) -> list[study.StoredMapping] | None:
        """Every mapping from the mapping stage's cache without loading the data set or the
        network, or None (one missing, the data set's id not recorded, or `force`)."""
        if self.workload is None or self.force or self.identity() is None:
            return None
        network = self.network_identity()
        found = [_load_mapping(self.inputs, network, r) for r in self.requests]
        return None if any(m is None for m in found) else [m for m in found if m is not None]

    def mappings(self) -> list[study.StoredMapping]:
        """The mapping stage: every mapping the hardware study requests, in `requests` order, from
        the cache where it holds them, else mapped (and cached, for a workload file)."""
        if self._stored is not None:
            return self._stored
        if self.workload is None:
            self._stored = [study.summarise_mapping(self.mapped(r), self.flow(), r) for r in self.requests]
            return self._stored
        network = self.network_identity()
        stored = []
        for request in self.requests:
            cached = None if self.force else _load_mapping(self.inputs, network, request)
            self.log.detail(f"{request.label} mapping ({request.hardware.name}, {request.size}x{request.size}, "
                            f"{request.reorder}): {'reused from' if cached else 'mapped now into'} the cache, "
                            f"{mapping_path(network, study.mapping_key(self.inputs, network, request))}")
            if cached is None:
                cached = study.summarise_mapping(self.mapped(request), self.flow(), request)
                study.save_mapping(self.inputs, network, request, cached)
            stored.append(cached)
        self._stored = stored
        return stored

    # ------------------------------------------------------------------------- hardware

    def activity(self) -> study.ActivityTable | None:
        """hardware_study.dac_activity measured: the input-digit activity of every layer the chip
        runs on the first activity_images test images, for each input coding of the study's
        chips; None when the study assumes every row driven."""
        if self._activity_done:
            return self._activity
        self._activity_done = True
        if self.inputs.study.dac_activity != "measured":
            return None
        tensors = self.test_tensors()
        if tensors is None:
            from simulator.config.errors import ConfigError, Problem

            workload = self._file()
            raise ConfigError([Problem(workload.path, "hardware_study.dac_activity",
                                       f"the data set {self.arrays().spec.name} has shapes only, no images to "
                                       "measure activity on; allowed here: full", "measured")])
        from simulator.faults.bit_true import CALIBRATION_IMAGES
        from simulator.lowering.activity import input_activity

        count = min(self.inputs.study.activity_images, len(tensors.y_test))
        self.log.say(f"hardware: measuring DAC activity on {count} test images ...")
        names = [layer.name for layer in self.mappings()[0].flow.layers]     # the layers the chip runs
        # The scales of the bit-true emulation: the largest input over its calibration training
        # images; tensors given as (x, y) have test images only, which then set the scales.
        calibration = tensors.x_train[:CALIBRATION_IMAGES] if len(tensors.x_train) else None
        table = input_activity(self.model(), names, tensors.x_test[:count], study.codings(self.requests),
                               calibration)
        for (bits, dac), by_layer in table.items():
            self.log.detail(f"DAC activity, {bits}-bit inputs in {dac}-bit digits: "
                            + ", ".join(f"{name} {share:.0%}" for name, share in by_layer.items()))
        self._activity = table
        return table

    def hardware(self) -> study.HardwareStudy:
        """The hardware stage: every requested mapping on its chip (a workload file's chip too small,
        or numbers that give no finite figure, are ConfigErrors naming its file)."""
        if self._hardware is None:
            stored, activity = self.mappings(), self.activity()
            if self.workload is None:
                self._hardware = study.hardware_study(self.inputs, list(zip(self.requests, stored)), activity,
                                                      self._simulations)
            else:
                self._hardware = _hardware_study(self.workload, self.requests, stored, activity, self._simulations)
        return self._hardware

    def sensitivity(self, asked: bool | None = None) -> Sensitivity | None:
        """The sensitivity study when asked for (`asked`, else hardware_study.sensitivity), on the
        hardware stage's mappings and event-model runs; a workload file's from the cache when it
        holds the study of everything that decides it (never with `force`), else run and cached."""
        if not (asked if asked is not None else self.inputs.study.sensitivity):
            return None
        from simulator.hardware import sensitivity as sensitivity_study

        result, activity = self.hardware(), self.activity()
        where: tuple[Path, str] | None = None
        if self.workload is not None:       # a workload file's mappings are cached, and so is its study
            network = self.network_identity()
            mapped = [(r, study.mapping_key(self.inputs, network, r)) for r in self.requests]
            key = sensitivity_study.study_key(self.inputs, mapped, result, activity)
            where = sensitivity_study.cache_path(self.workload.config.name, key), key
            cached = None if self.force else sensitivity_study.load_cached(*where)
            if cached is not None:
                self.log.say(f"hardware: the sensitivity study of {len(cached.assumptions)} assumptions taken from "
                             f"the cache ({where[0]})")
                self.log.detail(f"sensitivity: {cached.verdict()}")
                return cached
        self.log.say("hardware: varying the hardware files' assumptions one at a time ...")
        with np.errstate(over="ignore", invalid="ignore"):
            varied = sensitivity_study.sensitivity(self.inputs, list(zip(self.requests, self.mappings())), result,
                                                   activity, self._simulations)
        if varied is None:
            self.log.say("hardware: no sensitivity study (no dense mapping or baseline chip to take ratios against)")
            return None
        if where is not None:
            sensitivity_study.save_cached(*where, varied)
        self.log.timings["sensitivity_seconds"] = varied.seconds
        self.log.detail(f"sensitivity: {len(varied.assumptions)} assumptions in {varied.seconds:.2f} s; "
                        f"{varied.verdict()}")
        return varied

    def layer_rows(self) -> list[dict[str, Any]]:
        """Per layer, the workload mapping's row and its figures on its chip, columns in that order
        (layers.csv; report.json's layers as LayerRecords)."""
        return study.layer_rows(self.mappings()[0], self.hardware().workload)

    # ------------------------------------------------------------------------- faults

    def fault_study(self, spec: FaultSpec, *, from_workload: bool = False, by_effect: bool = False) -> FaultStudy:
        """Monte-Carlo accuracy under stuck-at faults on the workload mapping's tiles (the mapping
        stage's, not mapped again) on the test images. A fault option that does not fit raises
        FaultOptionError, or, for the workload's own section (`from_workload`), a ConfigError
        naming faults.<key> in its file."""
        from simulator.faults.study import run_fault_study, study_faults

        tensors = self.test_tensors()
        assert tensors is not None, "the fault study needs test images"
        if self.workload is None:
            return study_faults(self.model(), self.mapped(), tensors, spec, self.inputs.hardware,
                                batch_size=_EVAL_BATCH, progress=self.progress)
        return run_fault_study(self.workload, self.model(), self.mapped(), tensors, spec, progress=self.progress,
                               from_workload=from_workload, by_effect=by_effect)

    def clean_accuracy(self, spec: FaultSpec) -> float:
        """Test accuracy of the programmed, fault-free network (quantization only) under the
        study's first encoding: the reference line of `resim faults`' report."""
        from simulator.faults.study import clean_accuracy

        workload, tensors = self._file(), self.test_tensors()
        assert tensors is not None, "the fault-free accuracy needs test images"
        first = (spec.encodings or [workload.config.mapping.encoding])[0]
        return clean_accuracy(self.model(), self.mapped(), tensors, first, workload.config.train.eval_batch_size)

    # ------------------------------------------------------------------------- resim run

    def run(self, out: str | Path | None = None, *, accuracy: bool = True,
            sensitivity: bool | None = None) -> tuple[Path, RunReport]:
        """`resim run`: every stage, the report and its folder. With `accuracy` off, neither the
        test-set accuracy nor the fault study runs, and when the mappings are cached (and `force`
        is off) neither the data set nor the network is loaded; with it on, neither is loaded
        either when the accuracy is cached and no fault study or measured activity needs them."""
        workload, log = self._file(), self.log
        spec = workload.config.faults
        measured = self.inputs.study.dac_activity == "measured"
        crossbar_spec = workload.config.mapping.crossbar_prune
        recorded: Provenance | None = None
        accuracy_figure: AccuracySection | None = None
        if not self.force and not measured and (not accuracy or spec is None) and self.identity() is not None:
            # The mappings are used only with the record of the run that made them, so the report
            # holds the same data set and network figures as that run's (issue #26).
            if not accuracy or self.cached_accuracy() is not None:
                recorded = _read_provenance(workload, self._identity_now())
                self._stored = self.cached_mappings() if recorded is not None else None
        clock = time.perf_counter()
        if self._stored is None or recorded is None:
            self._stored = None
            if accuracy:
                accuracy_figure = self.accuracy()
            clock = log.start("mapping", f"mapping {len(self.requests)} ways (the workload's, and its comparisons)")
            self.mappings()         # the network is loaded only where its lowering is not cached
            if (self._arrays is None or self._network is None) and recorded is None and self.identity() is not None:
                recorded = _read_provenance(workload, self._identity_now())
            if self._network is None and (recorded is None or (accuracy and spec is not None)):
                self.network()      # nothing recorded of it, or the fault study needs it: load it now
            # The data set and the network as loaded now, else as the run that recorded them.
            assert recorded is not None or (self._arrays is not None or self._network is not None)
            data = (_data_section(self.arrays()) if self._arrays is not None or recorded is None
                    else recorded.data)
            if self._network is not None:
                net = self._network
                recorded = Provenance(data, NetworkSection(checkpoint=str(net.checkpoint),
                                                           reused_checkpoint=net.reused, training=net.metrics),
                                      [PruneStep(**vars(step)) for step in self._crossbar_steps])
            else:
                assert recorded is not None
                recorded = Provenance(data, recorded.network, recorded.crossbar_pruning)
                log.skip("network", "its lowering is cached: the network was not loaded")
            if self._arrays is None and "data" not in log.skipped:
                log.skip("data", "its id and the network's lowering are cached: the data set was not read")
            _write_provenance(workload, self._identity_now(), recorded)
        else:
            if accuracy:
                accuracy_figure = self.accuracy()       # the cached figure
            log.say(f"mapping: {len(self.requests)} mappings reused from the cache")
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

        clock = log.start("hardware", f"simulating {len(self.requests)} chips")
        self.activity()
        hardware = self.hardware()
        for label, result in (("workload", hardware.workload), *hardware.others().items()):
            c = result.summary
            log.detail(f"{label}: {c.hardware} {c.crossbar_size}x{c.crossbar_size}, {c.tiles} tiles ({c.sizing}), "
                       f"{c.energy_per_inference_pj / 1e6:.4g} uJ ({c.static_energy_pj / 1e6:.4g} static), "
                       f"{c.latency_ns / 1e3:.4g} us, {c.simulation_events} events, "
                       f"{c.contention_wait_ns / 1e3:.3g} us waited")
        varied = self.sensitivity(sensitivity)
        log.done("hardware", clock)
        mine = hardware.workload
        layers = self.layer_rows()

        out_dir = Path(out) if out is not None else default_out_dir(workload, accuracy=accuracy)
        faults: FaultStudy | None = None
        if spec is None:
            log.skip("faults", "the workload has no faults: section")
        elif not accuracy:
            log.skip("faults", "not asked for (--no-accuracy)")
        else:
            faults = self._workload_faults(out_dir)

        clock = time.perf_counter()
        from simulator.report.plots import energy_by_layer_plot, utilization_histogram_plot

        setup = MappingSetup.of(workload)
        histogram = self.mappings()[0].histogram
        energy_by_layer_plot({"workload": mine, **hardware.others()}, out_dir / "energy_by_layer.png",
                             f"{workload.config.name} on {mine.summary.hardware}")
        utilization_histogram_plot(histogram, out_dir / "utilization_histogram.png",
                                   f"{workload.config.name}, {setup.size}x{setup.size} crossbars", setup.reorder)
        _sensitivity_plot(varied, out_dir, workload.config.name)
        plot_seconds = time.perf_counter() - clock
        assert recorded is not None     # loaded with the network, or read with the cached mappings
        report = RunReport(
            resim_version=__version__, workload=workload.config.name, workload_file=str(workload.path),
            hardware_file=str(workload.hardware_path), config_hash=workload.config_hash(), seed=workload.config.seed,
            config=workload.resolved(), versions=_versions(),
            data=recorded.data, network=recorded.network, accuracy=accuracy_figure, skipped=log.skipped,
            mapping=MappingSection(crossbar_size=setup.size, reorder=setup.reorder, encoding=setup.encoding,
                                   weight_bits=setup.weight_bits, cell_bits=setup.cell_bits),
            totals=Totals(**table_totals(self.mappings()[0].rows)),
            utilization_histogram=Histogram(**histogram.as_dict()),
            hardware=HardwareSection(
                summary=mine.summary, components=mine.components, timings=mine.timings,
                **{label: OtherChip(summary=other.summary, components=other.components, versus=mine.versus(other))
                   for label, other in hardware.others().items()}),
            crossbar_pruning=recorded.crossbar_pruning,
            faults=faults.points() if faults is not None else None,
            sensitivity=varied,
            layers=[LayerRecord.model_validate(row) for row in layers],
            stages_run=log.ran,
            timings={**log.timings, "plot_seconds": plot_seconds},
        )
        _write_report(out_dir, report, layers)
        return out_dir, report

    def _identity_now(self) -> DataIdentity:
        identity = self.identity()
        assert identity is not None
        return identity

    def _workload_faults(self, out_dir: Path) -> FaultStudy:
        """The workload's own fault study, its draws in accuracy.csv and its plot (the report
        stage's writer, as `resim faults`' folder)."""
        from simulator.report.faults import write_fault_draws

        workload = self._file()
        assert workload.config.faults is not None
        clock = self.log.start("faults", "drawing stuck-at faults and testing under them")
        faults = self.fault_study(workload.config.faults, from_workload=True)
        write_fault_draws(faults, out_dir, draws_name="accuracy.csv", title=workload.config.name)
        self.log.done("faults", clock)
        return faults


def run(workload_path: str | Path, *, data_dir: str | Path | None = None, out: str | Path | None = None,
        force: bool = False, progress: bool = True, accuracy: bool = True,
        sensitivity: bool | None = None) -> tuple[Path, RunReport]:
    """`resim run` on one workload file (a sweep's point too): its results folder and report
    (`Session.run`). A module-level function, so that a sweep hands it to its workers by name."""
    session = Session.open(workload_path, data_dir=data_dir, force=force, progress=progress,
                           sensitivity=sensitivity)
    return session.run(out, accuracy=accuracy, sensitivity=sensitivity)


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
    return {"network": network_identity(workload, identity).record(),
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


def _load_mapping(inputs: study.StudyInputs, network: NetworkIdentity,
                  request: study.MappingRequest) -> study.StoredMapping | None:
    """The cached mapping of `request`; an entry that cannot be read (empty, truncated, foreign) is
    named in one line and taken as absent, so it is mapped again and its file replaced."""
    from simulator.cache import report_bad_entry

    try:
        return study.load_mapping(inputs, network, request)
    except Exception as exc:  # noqa: BLE001 - however a cache file fails to read, it is rebuilt
        path = mapping_path(network, study.mapping_key(inputs, network, request))
        reason = (str(exc).strip().splitlines() or [""])[0][:120]
        report_bad_entry(path, "mapping", f"is unreadable ({type(exc).__name__}: {reason})")
        return None


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


def _data_section(arrays: Arrays) -> DataSection:
    return DataSection(dataset=arrays.spec.name, dataset_id=arrays.dataset_id, source=arrays.source,
                       train_images=len(arrays.y_train), test_images=len(arrays.y_test))


def _versions() -> dict[str, str]:
    from simulator.report.results import versions

    return versions()


def _write_report(out_dir: Path, report: RunReport, layers: list[dict[str, Any]]) -> None:
    from simulator.atomic import write_text
    from simulator.report.html import render_html
    from simulator.report.markdown import render_run
    from simulator.report.results import write_results

    write_text(out_dir / "report.html", render_html(report, out_dir))
    write_results(out_dir, report, layers, render_run(report))
