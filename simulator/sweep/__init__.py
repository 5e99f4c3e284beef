"""`resim sweep`: a workload over a grid of overrides, resumable, over local processes or Dask."""

from simulator.sweep.grid import (
    Grid,
    build_points,
    grid_from_file,
    grid_from_sets,
    is_sweep_file,
)
from simulator.sweep.runner import SweepResult, run_sweep

__all__ = ["Grid", "SweepResult", "build_points", "grid_from_file", "grid_from_sets", "is_sweep_file", "run_sweep"]
