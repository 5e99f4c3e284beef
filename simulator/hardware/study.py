"""The hardware stage of a workload: its mapping (cached) on its chip, beside the dense mapping on
the same chip and an optional dense baseline chip (seed 004 compares with dense PRIME).

The mapping cache holds what the hardware model needs (simulator.hardware.demand) plus the
mapping's layer table, keyed by everything that produced them: the network (model, recipe, seed,
data set, pruning, shipped checkpoint bytes) and the mapping (size, strategy, encoding, bits). With
a warm cache and no accuracy asked for, `resim run` needs neither the data set nor torch.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulator.cache import cache_dir, stable_key
from simulator.config import Workload
from simulator.config.hardware import HardwareConfig
from simulator.report.atomic import write_text


@dataclass(frozen=True)
class DataIdentity:
    """What the cache keys need of a data set: its spec and content id (duck-types Arrays)."""

    spec: Any
    dataset_id: str


@dataclass(frozen=True)
class MappingRequest:
    """One mapping the study needs: on which chip, at which size, by which strategy."""

    label: str                 # "workload", "dense", "baseline"
    hardware: HardwareConfig
    size: int
    reorder: str


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


# ----------------------------------------------------------------------------- data set ids

def _fingerprint(path: Path) -> str:
    """Cheap identity of a data file or folder: names, sizes and modification times."""
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    blob = json.dumps([(str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files]).encode()
    return hashlib.sha1(blob, usedforsecurity=False).hexdigest()


def _data_location(workload: Workload, data_dir) -> tuple[Any, Path | None]:
    from simulator.data.datasets import _locate, _search_dirs, _spec, resolve_data_dir

    spec = _spec(workload.config.data.dataset)
    found = _locate(spec, _search_dirs(spec, resolve_data_dir(workload.data_dir(data_dir))))
    return spec, (found[0] if found else None)


def _id_file(workload: Workload, path: Path) -> Path:
    data = workload.config.data
    # test_set only where it is not the default, so the records written before it existed still match.
    chosen = {"test_set": data.test_set} if data.test_set != "all" else {}
    key = stable_key({"fingerprint": _fingerprint(path), "train": data.train_samples, "test": data.test_samples,
                      **chosen})
    return cache_dir() / "dataset_ids" / f"{workload.config.data.dataset}-{key}.json"


def cached_identity(workload: Workload, data_dir) -> DataIdentity | None:
    """The data set's id from the cache, without loading it, when it was loaded before unchanged."""
    spec, path = _data_location(workload, data_dir)
    if path is None:
        return None
    record = _id_file(workload, path)
    if not record.is_file():
        return None
    return DataIdentity(spec, json.loads(record.read_text())["dataset_id"])


def remember_identity(workload: Workload, data_dir, dataset_id: str) -> None:
    _, path = _data_location(workload, data_dir)
    if path is not None:
        write_text(_id_file(workload, path), json.dumps({"dataset_id": dataset_id}))


# ----------------------------------------------------------------------------- mapping cache

def mapping_key(workload: Workload, data: Any, request: MappingRequest) -> str:
    """Hash of what produced the mapping of `request`."""
    from simulator.pipeline import sparse_producer

    cfg = workload.config
    made_by = sparse_producer(workload, data)
    if cfg.model.checkpoint is not None:
        shipped = (workload.path.parent / cfg.model.checkpoint).resolve()
        made_by["shipped_sha1"] = hashlib.sha1(shipped.read_bytes(), usedforsecurity=False).hexdigest()
    mapping = cfg.mapping.model_dump(mode="json")
    if cfg.mapping.crossbar_prune is None:
        # The request carries the size and strategy it maps at; without crossbar-grained pruning
        # (which prunes the network at the workload's size and strategy) the workload's own size and
        # strategy do not change this mapping, so a sweep over them reuses the baseline's.
        mapping.pop("crossbar")
        mapping.pop("reorder")
    levels = request.hardware.array.read_energy_model == "conductance"
    return stable_key({"network": made_by, "mapping": mapping, "size": request.size, "reorder": request.reorder,
                       "cell_bits": request.hardware.array.cell_bits if cfg.mapping.cell_bits is None else cfg.mapping.cell_bits,
                       "levels": levels})


def mapping_path(workload: Workload, key: str) -> Path:
    return cache_dir() / "mappings" / f"{workload.config.name}-{key}.npz"


def cell_bits_for(workload: Workload, hardware: HardwareConfig) -> int:
    return workload.config.mapping.cell_bits or hardware.array.cell_bits


@dataclass
class StoredMapping:
    """A mapping as the hardware and the report need it."""

    demands: list
    layers: Any                # pandas DataFrame: the mapping's layer table (pipeline.layer_table)
    histogram: dict[str, list]


def load_mapping(workload: Workload, data: Any, request: MappingRequest) -> StoredMapping | None:
    """The cached mapping of `request`, if any."""
    import pandas as pd

    from simulator.hardware.demand import load_demands

    path = mapping_path(workload, mapping_key(workload, data, request))
    if not path.is_file():
        return None
    import numpy as np

    with np.load(path, allow_pickle=False) as stored:
        meta = json.loads(stored["meta"].tobytes().decode())
    return StoredMapping(load_demands(path), pd.DataFrame(meta["layers"]), meta["histogram"])


def compute_mapping(workload: Workload, data: Any, request: MappingRequest, model, shape) -> StoredMapping:
    """Map the network for `request`, summarise it for the hardware and cache it."""
    from simulator import pipeline
    from simulator.hardware.demand import layer_demand, save_demands
    from simulator.lowering.layers import weight_matrices

    cfg = workload.config.mapping
    mapped = pipeline.map_network(workload, model, shape, size=request.size, reorder=request.reorder)
    layers = pipeline.layer_table(workload, mapped)
    histogram = pipeline.utilization_histogram(mapped)
    levels = request.hardware.array.read_energy_model == "conductance"
    modules = dict(model.named_modules())
    demands = [layer_demand(layer, layout, weight_matrices(modules[layer.name]) if levels else None,
                            encoding=cfg.encoding, weight_bits=cfg.weight_bits,
                            cell_bits=cell_bits_for(workload, request.hardware), per_column=cfg.per_column_scale)
               for layer, layout in mapped]
    save_demands(mapping_path(workload, mapping_key(workload, data, request)), demands,
                 {"layers": json.loads(layers.to_json(orient="records")), "histogram": histogram,
                  "request": {"label": request.label, "hardware": request.hardware.name, "size": request.size,
                              "reorder": request.reorder}})
    return StoredMapping(demands, layers, histogram)


def evaluate_request(workload: Workload, request: MappingRequest, stored: StoredMapping):
    """Energy, latency and area of one mapping on its chip."""
    from simulator.hardware.model import evaluate

    cfg = workload.config
    return evaluate(stored.demands, request.hardware, encoding=cfg.mapping.encoding,
                    weight_bits=cfg.mapping.weight_bits, cell_bits=cell_bits_for(workload, request.hardware),
                    size=request.size, images=cfg.hardware_study.images)


def per_image_ns(summary: dict[str, Any]) -> float:
    """Time per inference: the pipeline interval, or the latency when layers run in turn."""
    return summary["interval_ns"] if summary["execution"] == "pipelined" else summary["latency_ns"]


def comparison(mine: dict[str, Any], other: dict[str, Any]) -> dict[str, float]:
    """Energy efficiency (other's energy / mine) and speed-up (other's time / mine) per inference."""
    return {"energy_efficiency": other["energy_per_inference_pj"] / mine["energy_per_inference_pj"],
            "speedup": per_image_ns(other) / per_image_ns(mine)}
