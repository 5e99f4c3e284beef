"""Per-cell stuck-at faults (design.md stage 5; seed 003, sections III-IV).

A faulty cell is stuck at one of the two extreme levels (design.md, "Words and conventions"):
stuck-off = level 0 (high resistance state), stuck-on = level ``L = 2**cell_bits - 1`` (low
resistance state), whatever was programmed. Cells fail independently, stuck-off with probability
``p_sa0`` and stuck-on with ``p_sa1`` (seed 003 IV.A, eq. 2). Bit-level faults of the seeds are
this model with ``cell_bits = 1``; a fault confined to one bit position (seed 001) is a fault
confined to one slice (``slice_index``).

Whole stuck lines (issue #6): a wordline (row) or bitline (column) of one physical array can fail
as a whole, every cell on it then stuck at one level. Each (polarity, slice) of a tile is a
physical array of its own (design.md "physical array", PRIME's ``across-arrays`` packing), so a
line is drawn per array: shape ``(polarities, S, rows)`` for wordlines, ``(polarities, S, cols)``
for bitlines. A stuck line overrides the cell draws on it (the line decides every cell it reaches).

Fault codes in the arrays below: ``HEALTHY = 0``, ``STUCK_OFF = 1``, ``STUCK_ON = 2``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from simulator.mapping.slicing import top_level

HEALTHY, STUCK_OFF, STUCK_ON = 0, 1, 2
# Bit generators whose Generator.random takes exactly one step per double (so `advance` skips draws).
_ONE_STEP_PER_DOUBLE = (np.random.PCG64, np.random.PCG64DXSM)

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
        off, on = check_ratio(ratio)
        if not (math.isfinite(rate) and 0.0 <= rate <= 1.0):
            raise ValueError(f"total fault rate must be in [0, 1], got {rate}")
        return cls(p_sa0=rate * off / (off + on), p_sa1=rate * on / (off + on))

    def scaled(self, factor: float) -> FaultRates:
        """Both rates times ``factor`` (a per-layer multiplier); ``factor == 1`` returns ``self``
        unchanged, so unscaled draws stay bit-identical."""
        if factor == 1:
            return self
        if not (math.isfinite(factor) and factor >= 0):
            raise ValueError(f"rate multiplier must be a finite number >= 0, got {factor}")
        return FaultRates(self.p_sa0 * factor, self.p_sa1 * factor)


def check_ratio(ratio: tuple[float, float]) -> tuple[float, float]:
    """A stuck-off : stuck-on split: two finite non-negative numbers, not both 0."""
    off, on = (float(x) for x in ratio)
    if not (math.isfinite(off) and math.isfinite(on) and off >= 0 and on >= 0 and off + on > 0):
        raise ValueError(f"ratio must be two non-negative numbers, not both 0, got {ratio}")
    return off, on


@dataclass(frozen=True)
class LineRates:
    """Probabilities that a whole wordline (``rows``) or bitline (``cols``) of a physical array is
    stuck, and the stuck-off : stuck-on split of a stuck line (default seed 003's 1 : 5.2)."""

    rows: float = 0.0
    cols: float = 0.0
    ratio: tuple[float, float] = SEED_003_RATIO

    def __post_init__(self) -> None:
        for name in ("rows", "cols"):
            value = getattr(self, name)
            if not (math.isfinite(value) and 0.0 <= value <= 1.0):
                raise ValueError(f"stuck {name} rate must be a probability in [0, 1], got {value}")
        check_ratio(self.ratio)

    @property
    def active(self) -> bool:
        """Whether any line can fail; callers draw no line at all when none can."""
        return self.rows > 0 or self.cols > 0

    def scaled(self, factor: float) -> LineRates:
        """Both line rates times ``factor`` (a per-layer multiplier)."""
        if factor == 1:
            return self
        return LineRates(self.rows * factor, self.cols * factor, self.ratio)


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
    if rates.p_sa0 == 0 and rates.p_sa1 == 0 and isinstance(rng.bit_generator, _ONE_STEP_PER_DOUBLE):
        # No u < 0 exists: every cell is healthy. Advance the generator past the draws it would
        # have made (one step per double), so the later tiles see the very same states.
        _check_slice(shape, slice_index, slice_axis)
        rng.bit_generator.advance(math.prod(shape))
        return np.zeros(shape, dtype=np.int8)
    u = rng.random(shape)
    faults = np.where(
        u < rates.p_sa0,
        np.int8(STUCK_OFF),
        np.where(u < rates.p_sa0 + rates.p_sa1, np.int8(STUCK_ON), np.int8(HEALTHY)),
    )
    if slice_index is not None:
        _check_slice(shape, slice_index, slice_axis)
        count = shape[slice_axis]
        keep = np.zeros(count, dtype=bool)
        keep[slice_index] = True
        view = [1] * len(shape)
        view[slice_axis] = count
        faults[~np.broadcast_to(keep.reshape(view), shape)] = HEALTHY
    return faults


def _check_slice(shape: tuple[int, ...], slice_index: int | None, slice_axis: int) -> None:
    if slice_index is None:
        return
    if not -len(shape) <= slice_axis < len(shape):
        raise ValueError(f"slice_axis {slice_axis} out of range for shape {shape}")
    count = shape[slice_axis]
    if not 0 <= slice_index < count:
        raise ValueError(f"slice_index must be in 0..{count - 1}, got {slice_index}")


def apply_faults(levels: np.ndarray, faults: np.ndarray, cell_bits: int) -> np.ndarray:
    """A copy of ``levels`` with stuck-off cells at level 0 and stuck-on cells at level L."""
    levels = np.asarray(levels)
    faults = np.asarray(faults)
    if levels.shape != faults.shape:
        raise ValueError(f"faults shape {faults.shape} differs from levels shape {levels.shape}")
    out = levels.copy()
    if faults.any():   # a draw without stuck cells (the device model alone) skips two masked passes
        out[faults == STUCK_OFF] = 0
        out[faults == STUCK_ON] = top_level(cell_bits)
    return out


def _line_codes(u: np.ndarray, rate: float, ratio: tuple[float, float]) -> np.ndarray:
    """Codes of lines from one uniform each: ``u < rate`` fails, stuck-off for the first
    ``off / (off + on)`` share of that interval, stuck-on for the rest."""
    off, on = check_ratio(ratio)
    p_off = rate * off / (off + on)
    return np.where(u < p_off, np.int8(STUCK_OFF),
                    np.where(u < rate, np.int8(STUCK_ON), np.int8(HEALTHY)))


def draw_line_faults(
    shape: tuple[int, ...],
    lines: LineRates,
    rng: np.random.Generator,
    slice_index: int | None = None,
) -> np.ndarray:
    """Whole stuck wordlines and bitlines of the arrays of one tile: int8 codes of ``shape``.

    ``shape`` is a tile's level shape ``(polarities, S, rows, cols)``: arrays are the leading two
    axes. One uniform per wordline (``(polarities, S, rows)``, drawn first) and one per bitline
    (``(polarities, S, cols)``), whatever the rates, so the generator advances the same way for
    every rate. Where a stuck wordline crosses a stuck bitline the bitline's level wins.
    ``slice_index`` confines line faults to the arrays of that slice, like cell faults.
    """
    shape = tuple(int(n) for n in shape)
    if len(shape) != 4:
        raise ValueError(f"line faults need a (polarities, slices, rows, cols) shape, got {shape}")
    rows = _line_codes(rng.random(shape[:3]), lines.rows, lines.ratio)
    cols = _line_codes(rng.random(shape[:2] + shape[3:]), lines.cols, lines.ratio)
    out = np.broadcast_to(rows[..., :, np.newaxis], shape).copy()
    col_view = np.broadcast_to(cols[..., np.newaxis, :], shape)
    out[col_view != HEALTHY] = col_view[col_view != HEALTHY]
    if slice_index is not None:
        if not 0 <= slice_index < shape[1]:
            raise ValueError(f"slice_index must be in 0..{shape[1] - 1}, got {slice_index}")
        keep = out[:, slice_index].copy()
        out[:] = HEALTHY
        out[:, slice_index] = keep
    return out


def merge_faults(cells: np.ndarray, lines: np.ndarray) -> np.ndarray:
    """Cell fault codes with the stuck lines laid over them: a stuck line decides its cells."""
    if cells.shape != lines.shape:
        raise ValueError(f"line faults shape {lines.shape} differs from cell faults shape {cells.shape}")
    return np.where(lines != HEALTHY, lines, cells)
