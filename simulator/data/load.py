"""A workload's data set (design.md stage 1 -> 2): its file found and read as the workload asks."""

from __future__ import annotations

import os
from pathlib import Path

from simulator.config.errors import ConfigError, Problem
from simulator.config.loader import Workload
from simulator.data.datasets import Arrays, TestSetError, load_dataset, locate_dataset


def _offline() -> bool:
    """RESIM_OFFLINE=1 forbids downloads."""
    return os.environ.get("RESIM_OFFLINE", "").lower() in {"1", "true", "yes"}


def locate_data(dataset: str, data_dir: str | Path | None) -> Path | None:
    """Where data set `dataset` is, in `data_dir` (else RESIM_DATA, else the default), downloading
    it unless RESIM_OFFLINE is set; a DataError saying what to put where when it is not there
    (None for a shape-only data set, which has no files)."""
    return locate_dataset(dataset, data_dir, download=not _offline())


def load_data(workload: Workload, data_dir: str | Path | None) -> Arrays:
    """The workload's data set, on its test set and subset as it asks; RESIM_OFFLINE=1 forbids
    downloads. A test set the data file lacks is a ConfigError naming `data.test_set`."""
    data = workload.config.data
    try:
        return load_dataset(data.dataset, workload.data_dir(data_dir), train_samples=data.train_samples,
                            test_samples=data.test_samples, test_set=data.test_set, download=not _offline())
    except TestSetError as exc:
        raise ConfigError([Problem(workload.path, "data.test_set", str(exc), exc.value)]) from None


def input_shape(arrays: Arrays) -> tuple[int, int, int]:
    """(C, H, W) of one input image."""
    return (arrays.spec.channels, arrays.spec.size, arrays.spec.size)
