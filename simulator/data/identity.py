"""A data set's identity without loading it: the content id `resim run` recorded the last time it
loaded the same files, so a hardware-only run with cached mappings needs neither the data set nor
torch (simulator.hardware.study's cache keys hold the id)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from simulator.atomic import write_text
from simulator.cache import KEY_FIELD, cache_dir, read_entry, stable_key
from simulator.config.loader import Workload
from simulator.data.datasets import DatasetSpec, _locate, _search_dirs, _spec, resolve_data_dir


@dataclass(frozen=True)
class DataIdentity:
    """What the cache keys need of a data set: its spec and content id (duck-types Arrays)."""

    spec: DatasetSpec | None
    dataset_id: str


def _fingerprint(path: Path) -> str:
    """Cheap identity of a data file or folder: names, sizes and modification times."""
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    blob = json.dumps([(str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files]).encode()
    return hashlib.sha1(blob, usedforsecurity=False).hexdigest()


def _data_location(workload: Workload, data_dir: str | Path | None) -> tuple[DatasetSpec, Path | None]:
    spec = _spec(workload.config.data.dataset)
    found = _locate(spec, _search_dirs(spec, resolve_data_dir(workload.data_dir(data_dir))))
    return spec, (found[0] if found else None)


def _id_key(workload: Workload, path: Path) -> str:
    data = workload.config.data
    # test_set only where it is not the default, so the records written before it existed still match.
    chosen = {"test_set": data.test_set} if data.test_set != "all" else {}
    return stable_key({"fingerprint": _fingerprint(path), "train": data.train_samples, "test": data.test_samples,
                       **chosen})


def _id_file(workload: Workload, key: str) -> Path:
    return cache_dir() / "dataset_ids" / f"{workload.config.data.dataset}-{key}.json"


def _read_record(dataset: str) -> Callable[[Path], tuple[str, str | None]]:
    """Reader of an id record: its data set id (checked to be one of `dataset`) and its key."""
    def read(path: Path) -> tuple[str, str | None]:
        record = json.loads(path.read_text(encoding="utf-8"))
        dataset_id = record["dataset_id"] if isinstance(record, dict) else None
        if not (isinstance(dataset_id, str) and _ID.match(dataset_id) and dataset_id.startswith(f"{dataset}:")):
            raise ValueError(f"holds no {dataset} data set id")
        return dataset_id, record.get(KEY_FIELD)
    return read


# Arrays.dataset_id: "<name>:<12 hex digits>:train=<n>:test=<n>".
_ID = re.compile(r"^[a-z0-9-]+:[0-9a-f]{12}:train=\d+:test=\d+$")


def cached_identity(workload: Workload, data_dir: str | Path | None) -> DataIdentity | None:
    """The data set's id from the cache, without loading it, when it was loaded before unchanged
    (a shape-only data set has no files: its id is known without any). A record that cannot be
    used (unreadable, or another key's) is named and None returned, so the run loads the data set
    and records its id again."""
    spec = _spec(workload.config.data.dataset)
    if not spec.files:
        from simulator.data.datasets import shape_only

        return DataIdentity(spec, shape_only(spec).dataset_id)
    spec, path = _data_location(workload, data_dir)
    if path is None:
        return None
    key = _id_key(workload, path)
    dataset_id = read_entry(_id_file(workload, key), key, _read_record(spec.name), what="data set id")
    return None if dataset_id is None else DataIdentity(spec, dataset_id)


def remember_identity(workload: Workload, data_dir: str | Path | None, dataset_id: str) -> None:
    _, path = _data_location(workload, data_dir)
    if path is not None:
        key = _id_key(workload, path)
        write_text(_id_file(workload, key), json.dumps({"dataset_id": dataset_id, KEY_FIELD: key}))
