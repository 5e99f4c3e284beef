"""Finished fault draws kept on disk, so that an interrupted fault study continues where it stopped
(issue #25 item 5), as a sweep does.

A draw's accuracy is decided by values only: the network (its architecture and every weight), its
mapping (setup and tiles), the test images, the fault options other than the study's lists
(ratio, layer multipliers, stuck lines, slice, ...), for a bit-true study the chip's periphery and
calibration images, and the draw itself: encoding, rate and run, which seed its generators
(`montecarlo.draw_key`). The study's identity hashes the first group; each draw is one JSON entry
under it, named by the draw's values and stamped with both (simulator.cache), written atomically.
A draw is therefore found again whatever else a study lists (other rates, more runs, another
order), never by its position in a list, and an entry that is damaged or made for another study
is named and recomputed.

Entries live in the cache (RESIM_CACHE): cache_dir()/fault_draws/<study key>/<draw key>.json.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from simulator.cache import cache_dir, read_json_entry, stable_key, write_json_entry
from simulator.config.faults import FaultSpec
from simulator.faults.montecarlo import DrawIndex, draw_key
from simulator.mapping.network import MappedNetwork

# 2: the device model's normals are float32 from torch (device_draws.NormalStream); a draw kept
# by format 1 came from float64 numpy normals and is drawn again.
FORMAT = 2

# FaultSpec fields that list what a study draws; every other field decides each draw's outcome.
_STUDY_LISTS = frozenset({"rates", "encodings", "runs"})


class _Digest:
    """BLAKE2b over arrays and text (fast on the tens of MB of a VGG's weights and test set)."""

    def __init__(self) -> None:
        self._hash = hashlib.blake2b(digest_size=16)

    def text(self, value: str) -> None:
        data = value.encode()
        self._hash.update(len(data).to_bytes(8, "little") + data)

    def array(self, value: np.ndarray) -> None:
        value = np.ascontiguousarray(value)
        self.text(f"{value.dtype.str}{value.shape}")
        self._hash.update(value.tobytes())

    def tensor(self, value: torch.Tensor) -> None:
        value = value.detach().cpu().contiguous()
        self.text(f"{value.dtype}{tuple(value.shape)}")
        # Through bytes, not numpy: bfloat16 has no numpy dtype.
        # Flattened first: a 0-d tensor (batch norm's num_batches_tracked) has no byte view.
        self._hash.update(value.reshape(-1).view(torch.uint8).numpy().tobytes() if value.numel() else b"")

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def network_digest(model: nn.Module) -> str:
    """The network by value: its architecture (module tree and options) and every parameter and
    buffer."""
    digest = _Digest()
    digest.text(repr(model))
    for name, value in model.state_dict().items():
        digest.text(name)
        digest.tensor(value)
    return digest.hexdigest()


def mapping_digest(mapped: MappedNetwork) -> str:
    """The mapping by value: its setup and, per layer, the matrices and every tile's rows,
    columns and held cells (what a fault map is drawn over)."""
    digest = _Digest()
    digest.text(json.dumps(asdict(mapped.setup), sort_keys=True, default=str))
    for layer in mapped.layers:
        digest.text(layer.name)
        for matrix, tiles in zip(layer.matrices, layer.tiles):
            digest.array(matrix)
            for tile in tiles:
                digest.array(tile.rows)
                digest.array(tile.cols)
                digest.array(tile.held)
    return digest.hexdigest()


def tensors_digest(*tensors: torch.Tensor) -> str:
    digest = _Digest()
    for tensor in tensors:
        digest.tensor(tensor)
    return digest.hexdigest()


def options_of(spec: FaultSpec) -> dict[str, Any]:
    """The fault options that decide each draw's outcome: the spec without its lists of rates,
    encodings and runs (a new option is covered without a change here)."""
    return {k: v for k, v in spec.model_dump(mode="json").items() if k not in _STUDY_LISTS}


@dataclass
class DrawStore:
    """The finished draws of one study identity (`key`, from `study_key`), in `folder`."""

    key: str
    folder: Path
    kept: int = 0                 # draws this study took from the store
    computed: int = 0             # draws it computed (and stored)

    @classmethod
    def for_study(cls, identity: Mapping[str, Any]) -> DrawStore:
        key = stable_key(dict(identity), FORMAT)
        return cls(key, cache_dir() / "fault_draws" / key)

    def _entry(self, index: DrawIndex) -> tuple[Path, str]:
        # The draw's values as `draw_key` writes them (the rate by its bits: 0.01 from YAML or a flag
        # alike); the seed is the mapping's, already in the study key, so 0 here.
        values = {"study": self.key, "draw": draw_key(0, index.encoding, index.rate, index.run)}
        key = stable_key(values, FORMAT)
        return self.folder / f"{key}.json", key

    def get(self, index: DrawIndex) -> dict[str, Any] | None:
        """The row of a finished draw (as `put` stored it, values exact), or None."""
        path, key = self._entry(index)

        def parse(doc: dict[str, Any]) -> dict[str, Any]:
            row = dict(zip(doc["columns"], doc["values"], strict=True))
            if (row["encoding"], row["rate"], row["run"]) != (index.encoding, float(index.rate), index.run):
                raise ValueError(f"holds draw {row['encoding']}, {row['rate']}, {row['run']}")
            return row

        row = read_json_entry(path, key, parse, what="fault draw")
        if row is not None:
            self.kept += 1
        return row

    def put(self, index: DrawIndex, row: Mapping[str, Any]) -> None:
        """Keep one finished draw's row (written whole or not at all)."""
        path, key = self._entry(index)
        plain = {name: (value.item() if isinstance(value, np.generic) else value) for name, value in row.items()}
        plain["rate"] = float(plain["rate"])
        # Columns and values as two lists: the entry's JSON is written with sorted keys, and a
        # table rebuilt from these rows must keep the study's column order.
        write_json_entry(path, key, {"columns": list(plain), "values": list(plain.values())})
        self.computed += 1

    def kept_rows(self, indices: Iterable[DrawIndex]) -> dict[DrawIndex, dict[str, Any]]:
        """The finished draws among `indices`; one line on stderr when there are any."""
        found = {index: row for index in indices if (row := self.get(index)) is not None}
        if found:
            print(f"fault study: {len(found)} finished draw(s) kept from an earlier run ({self.folder})",
                  file=sys.stderr, flush=True)
        return found


def study_key(model: nn.Module, mapped: MappedNetwork, x: torch.Tensor, y: torch.Tensor, spec: FaultSpec,
              batch_size: int, **more: Any) -> dict[str, Any]:
    """Everything but the draw that decides a draw's row: `more` adds what a kind of study
    needs beside (the bit-true study's periphery and calibration images)."""
    from simulator import __version__

    return {"resim": __version__, "network": network_digest(model), "mapping": mapping_digest(mapped),
            "test_set": tensors_digest(x, y), "options": options_of(spec), "batch_size": batch_size, **more}
