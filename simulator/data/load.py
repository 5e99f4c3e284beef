"""A workload's data set (design.md stage 1 -> 2): its file found and read as the workload asks."""

from __future__ import annotations

import os
from pathlib import Path

from simulator.config.errors import ConfigError, Problem
from simulator.config.loader import Workload
from simulator.data.datasets import Arrays, TestSetError, load_dataset


def load_data(workload: Workload, data_dir: str | Path | None) -> Arrays:
    """The workload's data set, on its test set and subset as it asks; RESIM_OFFLINE=1 forbids
    downloads. A test set the data file lacks is a ConfigError naming `data.test_set`."""
    data = workload.config.data
    offline = os.environ.get("RESIM_OFFLINE", "").lower() in {"1", "true", "yes"}
    try:
        return load_dataset(data.dataset, workload.data_dir(data_dir), train_samples=data.train_samples,
                            test_samples=data.test_samples, test_set=data.test_set, download=not offline)
    except TestSetError as exc:
        raise ConfigError([Problem(workload.path, "data.test_set", str(exc), exc.value)]) from None


def input_shape(arrays: Arrays) -> tuple[int, int, int]:
    """(C, H, W) of one input image."""
    return (arrays.spec.channels, arrays.spec.size, arrays.spec.size)
