"""The hardware stage of a workload: its mapping (cached) on its chip, beside the dense mapping on
the same chip and an optional dense baseline chip (seed 004 compares with dense PRIME).

The mapping cache holds what the hardware model needs (simulator.hardware.demand) plus the
mapping's layer table, keyed by everything that produced them: the network (model, recipe, seed,
data set, pruning, shipped checkpoint bytes) and the mapping (size, strategy, encoding, bits). With
a warm cache and no accuracy asked for, `resim run` needs neither the data set nor torch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from simulator.cache import cache_dir, stable_key
from simulator.config import Workload
from simulator.config.hardware import HardwareConfig
from simulator.hardware.chip_model import Sizing
from simulator.hardware.demand import LayerDemand, layer_demand, load_demands, save_demands
from simulator.hardware.model import ChipSetup, HardwareResult, evaluate
from simulator.lowering.dataflow import Dataflow, dataflow
from simulator.mapping.network import MappedNetwork, UtilizationHistogram, map_network
from simulator.mapping.setup import MappingSetup

if TYPE_CHECKING:
    from torch import nn


@dataclass(frozen=True)
class MappingRequest:
    """One mapping the study needs: on which chip, at which size, by which strategy."""

    label: str                 # "workload", "dense", "baseline"
    hardware: HardwareConfig
    size: int
    reorder: str

    def setup(self, workload: Workload) -> MappingSetup:
        """The workload's mapping on this request's chip, size and strategy."""
        return MappingSetup.of(workload, self.hardware, size=self.size, reorder=self.reorder)

    @property
    def levels(self) -> bool:
        """Whether the chip's read energy needs the tiles' cell levels (conductance model)."""
        return self.hardware.array.read_energy_model == "conductance"


def requests(workload: Workload, baseline: HardwareConfig | None) -> list[MappingRequest]:
    """The workload's mapping, the dense one on the same chip, the dense baseline chip."""
    cfg = workload.config
    out = [MappingRequest("workload", workload.hardware, workload.crossbar_size, cfg.mapping.reorder)]
    if cfg.hardware_study.compare_dense and cfg.mapping.reorder != "none":
        out.append(MappingRequest("dense", workload.hardware, workload.crossbar_size, "none"))
    if baseline is not None:
        out.append(MappingRequest("baseline", baseline, baseline.array.rows, "none"))
    return out


def baseline_hardware(workload: Workload) -> HardwareConfig | None:
    from simulator.config.loader import load_hardware

    name = workload.config.hardware_study.baseline
    return None if name is None else load_hardware((workload.path.parent / name).resolve())


# ----------------------------------------------------------------------------- mapping cache

def mapping_key(workload: Workload, network: dict[str, Any], request: MappingRequest) -> str:
    """Hash of what produced the mapping of `request`: `network`, the identity of the mapped
    network (simulator.preparation.network_identity), and the mapping."""
    cfg = workload.config
    mapping = cfg.mapping.model_dump(mode="json")
    if cfg.mapping.crossbar_prune is None:
        # The request carries the size and strategy it maps at; without crossbar-grained pruning
        # (which prunes the network at the workload's size and strategy) the workload's own size and
        # strategy do not change this mapping, so a sweep over them reuses the baseline's.
        mapping.pop("crossbar")
        mapping.pop("reorder")
    return stable_key({"network": network, "mapping": mapping, "size": request.size, "reorder": request.reorder,
                       "cell_bits": request.setup(workload).cell_bits, "levels": request.levels,
                       "stored": MAPPING_CACHE_VERSION})


# What a cached mapping holds; a new version maps again instead of reading an entry without it.
# 2: the network's dataflow (layer geometry and producers) for the event model's pipeline.
MAPPING_CACHE_VERSION = 2


def mapping_path(workload: Workload, key: str) -> Path:
    return cache_dir() / "mappings" / f"{workload.config.name}-{key}.npz"


@dataclass(frozen=True)
class StoredMapping:
    """A mapped network as the hardware and the report need it (what the mapping cache holds):
    the layers' demands on the chip, the mapping's layer table and its utilisation histogram."""

    demands: list[LayerDemand]
    table: pd.DataFrame            # MappedNetwork.table()
    histogram: UtilizationHistogram
    flow: Dataflow                 # which outputs each layer's windows read (the pipeline)


def load_mapping(workload: Workload, network: dict[str, Any], request: MappingRequest) -> StoredMapping | None:
    """The cached mapping of `request`, if any."""
    path = mapping_path(workload, mapping_key(workload, network, request))
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as stored:
        meta = json.loads(stored["meta"].tobytes().decode())
    if "dataflow" not in meta:
        return None
    return StoredMapping(load_demands(path), pd.DataFrame(meta["layers"]), UtilizationHistogram(**meta["histogram"]),
                         Dataflow.from_dict(meta["dataflow"]))


def compute_mapping(workload: Workload, network: dict[str, Any], request: MappingRequest, model: nn.Module,
                    input_shape: tuple[int, int, int]) -> StoredMapping:
    """Map the network for `request`, summarise it for the hardware and cache it."""
    mapped = map_network(model, input_shape, request.setup(workload))
    table, histogram = mapped.table(), mapped.histogram()
    demands = [layer_demand(layer, mapped.setup, levels=request.levels) for layer in mapped.layers]
    flow = dataflow(model, input_shape)
    save_demands(mapping_path(workload, mapping_key(workload, network, request)), demands,
                 {"layers": json.loads(table.to_json(orient="records")), "histogram": histogram.as_dict(),
                  "dataflow": flow.as_dict(),
                  "request": {"label": request.label, "hardware": request.hardware.name, "size": request.size,
                              "reorder": request.reorder}})
    return StoredMapping(demands, table, histogram, flow)


def chip_setup(workload: Workload, request: MappingRequest, sizing: Sizing) -> ChipSetup:
    """How the mapping of `request` meets its chip under the study's sizing and execution."""
    setup = request.setup(workload)
    study = workload.config.hardware_study
    return ChipSetup(encoding=setup.encoding, weight_bits=setup.weight_bits, cell_bits=setup.cell_bits,
                     size=request.size, sizing=sizing, execution=study.execution, images=study.images)


def evaluate_request(workload: Workload, request: MappingRequest, stored: StoredMapping,
                     sizing: Sizing | None = None) -> HardwareResult:
    """Energy, latency and area of one mapping on its chip (default sizing: the study's, for fit
    and fixed; iso-area needs the baseline's area, see hardware_study)."""
    return evaluate(stored.demands, stored.flow, request.hardware,
                    chip_setup(workload, request, sizing or study_sizing(workload)))


def study_sizing(workload: Workload, area_um2: float | None = None) -> Sizing:
    """The study's sizing rule; iso-area takes the area to fill, and the baseline chip of an
    iso-area study is sized by fit."""
    study = workload.config.hardware_study
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


def hardware_study(workload: Workload, mappings: list[tuple[MappingRequest, StoredMapping]]) -> HardwareStudy:
    """Evaluate every requested mapping on its chip (`requests` order: the workload's first). Under
    iso-area the baseline chip is sized first (fit) and the others get its area."""
    by_label = dict((request.label, (request, stored)) for request, stored in mappings)
    results: dict[str, HardwareResult] = {}
    area = None
    if workload.config.hardware_study.sizing == "iso-area" and "baseline" in by_label:
        request, stored = by_label["baseline"]
        results["baseline"] = evaluate_request(workload, request, stored, study_sizing(workload))
        area = results["baseline"].summary.area_mm2 * 1e6
    for label, (request, stored) in by_label.items():
        if label not in results:
            results[label] = evaluate_request(workload, request, stored, study_sizing(workload, area))
    return HardwareStudy(results["workload"], results.get("dense"), results.get("baseline"))


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
    own = float(result.layers["energy_pj"].sum())
    rest = summary.energy_per_inference_pj - own
    return [{"energy_pj": row["energy_pj"] + rest * (row["energy_pj"] / max(own, 1e-30)),
             "latency_ns": row["latency_event_ns"], "arrays": row["arrays"]}
            for _, row in result.layers.iterrows()]
