"""The mapping stage's cache: a mapped network as the hardware and the report read it, keyed by
the typed identity of the network and everything of the mapping that produced it.

A cached entry holds the layers' demands on the hardware (simulator.mapping.demand), the typed
layer rows, the utilisation histogram and the network's dataflow, so a hardware-only run with a
warm cache needs neither the data set nor torch. The stages that need the tiles themselves (the
fault study) take the `MappedNetwork` of the run that mapped it (simulator.pipeline.Session), so a
network is mapped once per run whatever reads it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from simulator.cache import KEY_FIELD, cache_dir, read_entry, stable_key
from simulator.config.workload import MappingSpec
from simulator.lowering.dataflow import Dataflow
from simulator.lowering.lowered import LoweredLayer
from simulator.mapping.demand import LayerDemand, layer_demand, load_demands, save_demands
from simulator.mapping.network import LayerRow, MappedNetwork, UtilizationHistogram
from simulator.mapping.setup import MappingSetup

# What a cached mapping holds; a new version maps again instead of reading an entry without it.
# 2: the network's dataflow (layer geometry and producers) for the event model's pipeline.
# 3: stamped with its key; the layer table at full precision and in column order.
# 4: per layer, the pooling and activation work after it (simulator.lowering.post_ops).
# 5: the layer table as typed rows (LayerRow), read without pandas.
MAPPING_CACHE_VERSION = 5


@dataclass(frozen=True)
class NetworkIdentity:
    """What the network a run tests and maps was made from: the workload's model, training
    recipe, seed and data set content (its dense checkpoint's producer), its pruning (and, for
    hpp, the crossbars its objective faults), and, for a shipped checkpoint, the file's bytes.
    `name` (the workload's) names the cache files; it is not part of the identity."""

    name: str
    model: dict[str, Any]
    train: dict[str, Any]
    seed: int
    dataset_id: str
    prune: dict[str, Any] | None
    hpp_crossbars: dict[str, Any] | None = None
    shipped_sha1: str | None = None

    def record(self) -> dict[str, Any]:
        """The identity as the cache keys hash it (the keys written before it was typed)."""
        record: dict[str, Any] = {"model": self.model, "train": self.train, "seed": self.seed,
                                  "dataset_id": self.dataset_id, "prune": self.prune}
        if self.hpp_crossbars is not None:
            record["hpp_crossbars"] = self.hpp_crossbars
        if self.shipped_sha1 is not None:
            record["shipped_sha1"] = self.shipped_sha1
        return record


@dataclass(frozen=True)
class StoredMapping:
    """A mapped network as the hardware and the report need it (what the mapping cache holds):
    the layers' demands on the chip, the typed layer rows and the utilisation histogram, and the
    dataflow (which outputs each layer's windows read: the pipeline)."""

    demands: list[LayerDemand]
    rows: list[LayerRow]
    histogram: UtilizationHistogram
    flow: Dataflow


def mapping_key(network: NetworkIdentity, spec: MappingSpec, setup: MappingSetup, levels: bool) -> str:
    """Hash of what produced a mapping: the network, the workload's mapping section, the size and
    strategy it maps at, the cells' bits and whether the tiles' cell levels are summed."""
    mapping = spec.model_dump(mode="json")
    if spec.crossbar_prune is None:
        # The setup carries the size and strategy it maps at; without crossbar-grained pruning
        # (which prunes the network at the workload's size and strategy) the workload's own size and
        # strategy do not change this mapping, so a sweep over them reuses the baseline's.
        mapping.pop("crossbar")
        mapping.pop("reorder")
    return stable_key({"network": network.record(), "mapping": mapping, "size": setup.size,
                       "reorder": setup.reorder, "cell_bits": setup.cell_bits, "levels": levels,
                       "stored": MAPPING_CACHE_VERSION})


def mapping_path(network: NetworkIdentity, key: str) -> Path:
    return cache_dir() / "mappings" / f"{network.name}-{key}.npz"


def load_mapping(network: NetworkIdentity, key: str) -> StoredMapping | None:
    """The cached mapping of `key`, if any: an entry stamped with another key, unreadable or
    written before the current format is named on stderr, removed and mapped again."""
    return read_entry(mapping_path(network, key), key, _read_stored, what="mapping")


def _read_stored(path: Path) -> tuple[StoredMapping | None, str | None]:
    with np.load(path, allow_pickle=False) as stored:
        meta = json.loads(stored["meta"].tobytes().decode())
    if KEY_FIELD not in meta or "dataflow" not in meta or "rows" not in meta:
        return None, None
    names = [f.name for f in fields(LayerRow)]
    rows = [LayerRow(**dict(zip(names, values, strict=True))) for values in meta["rows"]]
    return (StoredMapping(load_demands(path), rows, UtilizationHistogram(**meta["histogram"]),
                          Dataflow.from_dict(meta["dataflow"])),
            meta[KEY_FIELD])


def save_mapping(network: NetworkIdentity, key: str, stored: StoredMapping, about: dict[str, Any]) -> None:
    """Cache `stored` under `key` (stamped with it; the rows at full precision, in field order);
    `about` says which request it was (for a reader of the cache folder)."""
    save_demands(mapping_path(network, key), stored.demands,
                 {KEY_FIELD: key, "rows": [list(row.as_dict().values()) for row in stored.rows],
                  "histogram": stored.histogram.as_dict(), "dataflow": stored.flow.as_dict(), "request": about})


def summarise_mapping(mapped: MappedNetwork, flow: Dataflow, levels: bool) -> StoredMapping:
    """What the hardware and the report read of a mapped network (what the cache holds); `levels`:
    sum the tiles' cell levels (the conductance read-energy model needs them)."""
    demands = [layer_demand(layer, mapped.setup, levels=levels) for layer in mapped.layers]
    return StoredMapping(demands, mapped.rows(), mapped.histogram(), flow)


# ----------------------------------------------------------------------------- the lowered network

# What a cached lowering holds; a new version lowers again.
LOWERED_CACHE_VERSION = 1


@dataclass(frozen=True)
class LoweredNetwork:
    """A network lowered for one input shape: its layers, their group matrices (the weights as
    the mapping reads them) and its dataflow. Cached, it lets an empty mapping cache map again
    without torch or the network's checkpoint (issue #25: MNSIM 2.0 maps VGG-16 every run)."""

    layers: list[LoweredLayer]
    matrices: dict[str, list[np.ndarray]]
    flow: Dataflow


def lowered_key(network: NetworkIdentity, input_shape: tuple[int, int, int]) -> str:
    return stable_key({"network": network.record(), "input_shape": list(input_shape),
                       "stored": LOWERED_CACHE_VERSION})


def lowered_path(network: NetworkIdentity, key: str) -> Path:
    return cache_dir() / "lowered" / f"{network.name}-{key}.npz"


def save_lowered(network: NetworkIdentity, key: str, lowered: LoweredNetwork) -> None:
    """Cache `lowered` under `key`, atomically (the matrices as stored, float32 for a float32 network)."""
    from simulator.atomic import atomic_replace

    meta = {KEY_FIELD: key, "layers": [asdict(layer) for layer in lowered.layers], "dataflow": lowered.flow.as_dict(),
            "groups": {name: len(matrices) for name, matrices in lowered.matrices.items()}}
    arrays = {"meta": np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8)}
    for layer in lowered.layers:       # in the layers' order, as they are read back
        for matrix in lowered.matrices[layer.name]:
            arrays[f"w{len(arrays)}"] = matrix
    with atomic_replace(lowered_path(network, key)) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **arrays)   # type: ignore[arg-type]  # numpy's stub types **kwds as bool


def load_lowered(network: NetworkIdentity, key: str) -> LoweredNetwork | None:
    """The cached lowering of `key`, if any (an unusable entry is named, removed and lowered again)."""
    return read_entry(lowered_path(network, key), key, _read_lowered, what="lowered network")


def _read_lowered(path: Path) -> tuple[LoweredNetwork | None, str | None]:
    with np.load(path, allow_pickle=False) as stored:
        meta = json.loads(stored["meta"].tobytes().decode())
        layers = [LoweredLayer(**{**layer, "weight_shape": tuple(layer["weight_shape"])}) for layer in meta["layers"]]
        matrices: dict[str, list[np.ndarray]] = {}
        index = 1
        for layer in layers:
            matrices[layer.name] = []
            for _ in range(meta["groups"][layer.name]):
                matrices[layer.name].append(stored[f"w{index}"])
                index += 1
    return LoweredNetwork(layers, matrices, Dataflow.from_dict(meta["dataflow"])), meta.get(KEY_FIELD)
