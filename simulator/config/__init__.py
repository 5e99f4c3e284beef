"""Stage 1 of the data flow: YAML files -> validated, typed configuration objects."""

from simulator.config.errors import ConfigError, Problem
from simulator.config.loader import Workload, load_hardware, load_workload, validate_file

__all__ = ["ConfigError", "Problem", "Workload", "load_hardware", "load_workload", "validate_file"]
