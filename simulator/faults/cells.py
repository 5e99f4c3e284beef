"""Per-cell stuck-at faults (design.md stage 5; seed 003, sections III-IV).

A faulty cell is stuck at one of the two extreme levels (design.md, "Words and conventions"):
stuck-off = level 0 (high resistance state), stuck-on = level ``L = 2**cell_bits - 1`` (low
resistance state), whatever was programmed. Cells fail independently, stuck-off with probability
``p_sa0`` and stuck-on with ``p_sa1`` (seed 003 IV.A, eq. 2). Bit-level faults of the seeds are
this model with ``cell_bits = 1``; a fault confined to one bit position (seed 001) is a fault
confined to one slice (``slice_index``).

Fault codes in the arrays below: ``HEALTHY = 0``, ``STUCK_OFF = 1``, ``STUCK_ON = 2``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from simulator.mapping.slicing import top_level

HEALTHY, STUCK_OFF, STUCK_ON = 0, 1, 2

# Seed 003 (section I and III, citing its ref. [9]): stuck-on faults are 5.2x as frequent as
# stuck-off ones, so the default split of a total rate is stuck-off : stuck-on = 1 : 5.2.
SEED_003_RATIO = (1.0, 5.2)

# Float slack for p_sa0 + p_sa1 <= 1 (from_total(1.0) may sum to 1 + 1 ulp).
_SUM_TOLERANCE = 1e-12


@dataclass(frozen=True)
class FaultRates:
    """Per-cell probabilities of stuck-off (``p_sa0``, level 0) and stuck-on (``p_sa1``, level L).

    Seed 003 IV.A calls them ``P_sa0`` and ``P_sa1``; a cell is faulty with probability
    ``p_sa0 + p_sa1``, which therefore must not exceed 1.
    """

    p_sa0: float
    p_sa1: float

    def __post_init__(self) -> None:
        for name in ("p_sa0", "p_sa1"):
            value = getattr(self, name)
            if not (math.isfinite(value) and 0.0 <= value <= 1.0):
                raise ValueError(f"{name} must be a probability in [0, 1], got {value}")
        if self.p_sa0 + self.p_sa1 > 1.0 + _SUM_TOLERANCE:
            raise ValueError(
                f"p_sa0 + p_sa1 must be <= 1, got {self.p_sa0} + {self.p_sa1} = "
                f"{self.p_sa0 + self.p_sa1}"
            )

    @property
    def total(self) -> float:
        """Probability that a cell is faulty at all: ``p_sa0 + p_sa1`` (seed 003 eq. 2)."""
        return self.p_sa0 + self.p_sa1

    @classmethod
    def from_total(
        cls, rate: float, ratio: tuple[float, float] = SEED_003_RATIO
    ) -> FaultRates:
        """Split a total fault rate by the stuck-off : stuck-on ``ratio``.

        The default is seed 003's defect model, stuck-on 5.2x as frequent as stuck-off:
        ``p_sa0 = rate * 1/6.2`` and ``p_sa1 = rate * 5.2/6.2``.
        """
        off, on = ratio
        if not (math.isfinite(off) and math.isfinite(on) and off >= 0 and on >= 0 and off + on > 0):
            raise ValueError(f"ratio must be two non-negative numbers, not both 0, got {ratio}")
        if not (math.isfinite(rate) and 0.0 <= rate <= 1.0):
            raise ValueError(f"total fault rate must be in [0, 1], got {rate}")
        return cls(p_sa0=rate * off / (off + on), p_sa1=rate * on / (off + on))


def draw_cell_faults(
    shape: tuple[int, ...],
    rates: FaultRates,
    rng: np.random.Generator,
    slice_index: int | None = None,
    slice_axis: int = 1,
) -> np.ndarray:
    """Independent stuck-at faults for every cell of ``shape``: int8 codes 0/1/2.

    One uniform draw ``u`` per cell: ``u < p_sa0`` is stuck-off, ``p_sa0 <= u < p_sa0 + p_sa1``
    stuck-on, the rest healthy; so the same generator state gives the same faults, and the
    generator advances by exactly ``prod(shape)`` draws whatever the rates or the slice.

    With ``slice_index``, only cells whose index along ``slice_axis`` equals it may fail (seed
    001's faults confined to one bit position; with level arrays shaped ``(polarities, S, ...)``
    the slice axis is 1). The other cells are drawn too, then forced healthy.
    """
    shape = tuple(int(n) for n in shape)
    u = rng.random(shape)
    faults = np.where(
        u < rates.p_sa0,
        np.int8(STUCK_OFF),
        np.where(u < rates.p_sa0 + rates.p_sa1, np.int8(STUCK_ON), np.int8(HEALTHY)),
    )
    if slice_index is not None:
        if not -len(shape) <= slice_axis < len(shape):
            raise ValueError(f"slice_axis {slice_axis} out of range for shape {shape}")
        count = shape[slice_axis]
        if not 0 <= slice_index < count:
            raise ValueError(f"slice_index must be in 0..{count - 1}, got {slice_index}")
        keep = np.zeros(count, dtype=bool)
        keep[slice_index] = True
        view = [1] * len(shape)
        view[slice_axis] = count
        faults[~np.broadcast_to(keep.reshape(view), shape)] = HEALTHY
    return faults


def apply_faults(levels: np.ndarray, faults: np.ndarray, cell_bits: int) -> np.ndarray:
    """A copy of ``levels`` with stuck-off cells at level 0 and stuck-on cells at level L."""
    levels = np.asarray(levels)
    faults = np.asarray(faults)
    if levels.shape != faults.shape:
        raise ValueError(f"faults shape {faults.shape} differs from levels shape {levels.shape}")
    out = levels.copy()
    out[faults == STUCK_OFF] = 0
    out[faults == STUCK_ON] = top_level(cell_bits)
    return out
