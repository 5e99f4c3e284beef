"""Data sets: readers of the canonical distribution files, with download and md5 checks."""

from simulator.data.datasets import DATASETS, Arrays, DataError, DatasetSpec, load_dataset, resolve_data_dir

__all__ = ["DATASETS", "Arrays", "DataError", "DatasetSpec", "load_dataset", "resolve_data_dir"]
