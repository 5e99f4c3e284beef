"""Hardware component library of the cycle-level chip model (issue #14): one module per component,
each number with its source beside it, and `chip_spec` resolving a whole chip at crossbar size N."""

from simulator.hardware.chip.base import ChipComponent
from simulator.hardware.chip.spec import ChipSpec, chip_spec

__all__ = ["ChipComponent", "ChipSpec", "chip_spec"]
