"""resim: a simulator of PRIME-like ReRAM crossbar accelerators for sparse neural networks.

The import package is light on purpose: `resim --help` must not pay for importing torch. The
Python API (simulator.api: `simulate`, the stage entry points, their results) is imported on
first use of one of its names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["__version__", "simulate", "map_network", "dataflow", "evaluate_hardware", "fault_study", "Simulation",
           "ArgumentError"]
# The names of simulator.api that `simulator.<name>` gives.
_API = frozenset(__all__) - {"__version__"}

if TYPE_CHECKING:
    from simulator.api import (
        ArgumentError,
        Simulation,
        dataflow,
        evaluate_hardware,
        fault_study,
        map_network,
        simulate,
    )


def __getattr__(name: str) -> Any:
    if name in _API:
        from simulator import api

        return getattr(api, name)
    raise AttributeError(f"module 'simulator' has no attribute {name!r}")
