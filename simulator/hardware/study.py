"""The hardware stage of a workload: its mapping (cached) on its chip, beside the dense mapping on
the same chip and an optional dense baseline chip (seed 004 compares with dense PRIME).

The mappings it evaluates come from the mapping stage's cache (simulator.mapping.cache), keyed by
the network's typed identity and the mapping; with a warm cache and no accuracy asked for, `resim
run` needs neither the data set nor torch (nor pandas: the per-layer figures are typed records).

The study reads a workload through `StudyInputs` (its chip, mapping and hardware_study sections
and seed), so the Python API (simulator.api) runs the same study on a network held in memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from simulator.config import Workload
from simulator.config.hardware import HardwareConfig
from simulator.config.workload import HardwareStudySpec, MappingSpec
from simulator.hardware.chip_model import Simulations, Sizing
from simulator.hardware.model import ChipSetup, HardwareResult, evaluate
from simulator.lowering.dataflow import Dataflow
from simulator.mapping import cache
from simulator.mapping.cache import NetworkIdentity, StoredMapping
from simulator.mapping.demand import layer_demand
from simulator.mapping.network import MappedNetwork
from simulator.mapping.setup import MappingSetup


@dataclass(frozen=True)
class StudyInputs:
    """What the study reads of a workload: its chip, its mapping and hardware_study sections, and
    the seed of randomised tiling strategies."""

    hardware: HardwareConfig
    mapping: MappingSpec
    study: HardwareStudySpec
    seed: int

    @classmethod
    def of(cls, source: Workload | StudyInputs) -> StudyInputs:
        """The inputs of a workload file (or `source` itself)."""
        if isinstance(source, StudyInputs):
            return source
        cfg = source.config
        return cls(source.hardware, cfg.mapping, cfg.hardware_study, cfg.seed)

    @property
    def crossbar_size(self) -> int:
        """Tile size N: the mapping's, else the chip's array rows (as `Workload.crossbar_size`)."""
        return self.mapping.crossbar.size or self.hardware.array.rows


@dataclass(frozen=True)
class MappingRequest:
    """One mapping the study needs: on which chip, at which size, by which strategy."""

    label: str                 # "workload", "dense", "baseline"
    hardware: HardwareConfig
    size: int
    reorder: str
    # Record the cell levels even on a per-cell chip: the sensitivity study runs the
    # conductance read model on the study's mappings (an alternative of a hardware file).
    with_levels: bool = False

    def setup(self, workload: Workload | StudyInputs) -> MappingSetup:
        """The workload's mapping on this request's chip, size and strategy."""
        inputs = StudyInputs.of(workload)
        return MappingSetup.from_spec(inputs.mapping, self.hardware, inputs.seed, size=self.size,
                                      reorder=self.reorder)

    @property
    def levels(self) -> bool:
        """Whether the mapping records the tiles' cell levels: the chip's read energy needs them
        (conductance model) or the sensitivity study will (`with_levels`)."""
        return self.with_levels or self.hardware.array.read_energy_model == "conductance"


# The alternative that makes the sensitivity study read the tiles' cell levels.
READ_ENERGY_KEY = "array.read_energy_model"


def varies_read_energy(*chips: HardwareConfig | None) -> bool:
    """Whether a file lists the conductance read model among its alternatives (the sensitivity
    study then needs the cell levels of every mapping it runs the chips on)."""
    return any(option.value == "conductance" for chip in chips if chip is not None
               for option in chip.alternatives.get(READ_ENERGY_KEY, []))


def requests(workload: Workload | StudyInputs, baseline: HardwareConfig | None, *,
             sensitivity: bool | None = None) -> list[MappingRequest]:
    """The workload's mapping, the dense one on the same chip, the dense baseline chip.
    `sensitivity` (None: the workload's hardware_study.sensitivity): the sensitivity study runs,
    so where a file lists the conductance read model as an alternative every mapping records its
    cell levels."""
    inputs = StudyInputs.of(workload)
    chip, size = inputs.hardware, inputs.crossbar_size
    varied = inputs.study.sensitivity if sensitivity is None else sensitivity
    levels = varied and varies_read_energy(chip, baseline)
    out = [MappingRequest("workload", chip, size, inputs.mapping.reorder, levels)]
    if inputs.study.compare_dense and inputs.mapping.reorder != "none":
        out.append(MappingRequest("dense", chip, size, "none", levels))
    if baseline is not None:
        out.append(MappingRequest("baseline", baseline, baseline.array.rows, "none", levels))
    return out


def baseline_hardware(workload: Workload) -> HardwareConfig | None:
    from simulator.config.loader import load_hardware

    name = workload.config.hardware_study.baseline
    return None if name is None else load_hardware((workload.path.parent / name).resolve())


# ----------------------------------------------------------------------------- mapping cache

def mapping_key(workload: Workload | StudyInputs, network: NetworkIdentity, request: MappingRequest) -> str:
    """The mapping cache's key (simulator.mapping.cache) of `request` on `network`."""
    return cache.mapping_key(network, StudyInputs.of(workload).mapping, request.setup(workload), request.levels)


def load_mapping(workload: Workload | StudyInputs, network: NetworkIdentity,
                 request: MappingRequest) -> StoredMapping | None:
    """The cached mapping of `request` on `network`, if any (simulator.mapping.cache.load_mapping)."""
    return cache.load_mapping(network, mapping_key(workload, network, request))


def save_mapping(workload: Workload | StudyInputs, network: NetworkIdentity, request: MappingRequest,
                 stored: StoredMapping) -> None:
    cache.save_mapping(network, mapping_key(workload, network, request), stored,
                       {"label": request.label, "hardware": request.hardware.name, "size": request.size,
                        "reorder": request.reorder})


def summarise_mapping(mapped: MappedNetwork, flow: Dataflow, request: MappingRequest) -> StoredMapping:
    """What the study and the report read of a network mapped for `request` (what the cache holds)."""
    return cache.summarise_mapping(mapped, flow, request.levels)


# Measured input-digit activity (simulator.lowering.activity): per (input_bits, dac_bits), per layer.
ActivityTable = dict[tuple[int, int], dict[str, float]]


def coding_of(hardware: HardwareConfig) -> tuple[int, int]:
    """(input_bits, dac_bits): how `hardware` drives its rows, the key of an ActivityTable."""
    return hardware.input_bits, hardware.dac.bits


def chip_setup(workload: Workload | StudyInputs, request: MappingRequest, sizing: Sizing,
               activity: ActivityTable | None = None) -> ChipSetup:
    """How the mapping of `request` meets its chip under the study's sizing and execution, with
    the measured DAC activity of the chip's input coding where there is one."""
    setup = request.setup(workload)
    study = StudyInputs.of(workload).study
    return ChipSetup(encoding=setup.encoding, weight_bits=setup.weight_bits, cell_bits=setup.cell_bits,
                     size=request.size, sizing=sizing, execution=study.execution, images=study.images,
                     dac_activity=activity[coding_of(request.hardware)] if activity is not None else None)


def evaluate_request(workload: Workload | StudyInputs, request: MappingRequest, stored: StoredMapping,
                     sizing: Sizing | None = None, activity: ActivityTable | None = None,
                     simulations: Simulations | None = None) -> HardwareResult:
    """Energy, latency and area of one mapping on its chip (default sizing: the study's, for fit
    and fixed; iso-area needs the baseline's area, see hardware_study). `simulations`: event-model
    results to reuse and add to (simulator.hardware.chip_model.simulated)."""
    return evaluate(stored.demands, stored.flow, request.hardware,
                    chip_setup(workload, request, sizing or study_sizing(workload), activity), simulations=simulations)


def study_sizing(workload: Workload | StudyInputs, area_um2: float | None = None) -> Sizing:
    """The study's sizing rule; iso-area takes the area to fill, and the baseline chip of an
    iso-area study is sized by fit."""
    study = StudyInputs.of(workload).study
    policy = study.sizing if study.sizing != "iso-area" or area_um2 is not None else "fit"
    return Sizing(policy=policy, replica_budget=study.replica_budget, area_um2=area_um2, replicate=study.replicate)


@dataclass(frozen=True)
class HardwareStudy:
    """The hardware stage's result: the workload's mapping on its chip, and, where the workload
    asks for them, the dense mapping on the same chip and the dense baseline chip."""

    workload: HardwareResult
    dense: HardwareResult | None = None
    baseline: HardwareResult | None = None

    def others(self) -> dict[str, HardwareResult]:
        """The comparisons present, by label ("dense", "baseline")."""
        return {label: result for label, result in (("dense", self.dense), ("baseline", self.baseline))
                if result is not None}


def hardware_study(workload: Workload | StudyInputs, mappings: list[tuple[MappingRequest, StoredMapping]],
                   activity: ActivityTable | None = None, simulations: Simulations | None = None) -> HardwareStudy:
    """Evaluate every requested mapping on its chip (`requests` order: the workload's first). Under
    iso-area the baseline chip is sized first (fit) and the others get its area. With `activity`
    (hardware_study.dac_activity: measured) every chip's drives follow the measured activity of its
    own input coding, the same network inputs for all. `simulations` keeps the event-model runs
    (the sensitivity study reuses them)."""
    by_label = dict((request.label, (request, stored)) for request, stored in mappings)
    results: dict[str, HardwareResult] = {}
    area = None
    if StudyInputs.of(workload).study.sizing == "iso-area" and "baseline" in by_label:
        request, stored = by_label["baseline"]
        results["baseline"] = evaluate_request(workload, request, stored, study_sizing(workload), activity,
                                               simulations)
        area = results["baseline"].summary.area_mm2 * 1e6
    for label, (request, stored) in by_label.items():
        if label not in results:
            results[label] = evaluate_request(workload, request, stored, study_sizing(workload, area), activity,
                                              simulations)
    return HardwareStudy(results["workload"], results.get("dense"), results.get("baseline"))


def codings(requests: list[MappingRequest]) -> list[tuple[int, int]]:
    """The input codings of the study's chips, each once (what activity is measured for)."""
    return list(dict.fromkeys(coding_of(request.hardware) for request in requests))


def layer_rows(stored: StoredMapping, result: HardwareResult) -> list[dict[str, Any]]:
    """Per layer, the mapping's row with its figures on the chip beside it (report.json's layers)."""
    figures = {row.layer: row.chip_columns() for row in result.rows}
    return [{**row.as_dict(), **figures.get(row.layer, {})} for row in stored.rows]


def energy_by_layer(mapped: MappedNetwork, hardware: HardwareConfig, flow: Dataflow) -> list[dict[str, Any]]:
    """Per layer of `mapped`: its energy per inference (its events' energy plus its share of the
    chip's buffer, network and static energy, in proportion to its dynamic energy), its event-model
    time and its arrays on `hardware` built from arrays of the mapping's tile size, sized to fit
    (seed 004 Fig. 8, `resim map --energy`)."""
    levels = hardware.array.read_energy_model == "conductance"
    setup = mapped.setup
    result = evaluate([layer_demand(layer, setup, levels=levels) for layer in mapped.layers], flow, hardware,
                      ChipSetup(encoding=setup.encoding, weight_bits=setup.weight_bits, cell_bits=setup.cell_bits,
                                size=setup.size, sizing=Sizing(policy="fit")))
    summary = result.summary
    own = sum(row.energy_pj for row in result.rows)
    rest = summary.energy_per_inference_pj - own
    return [{"energy_pj": row.energy_pj + rest * (row.energy_pj / max(own, 1e-30)),
             "latency_ns": row.latency_event_ns, "arrays": row.arrays}
            for row in result.rows]
