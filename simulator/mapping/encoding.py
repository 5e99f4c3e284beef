"""Sign encodings: signed integer weights <-> non-negative cell levels (seed 003, sections III-IV).

A cell conductance is never negative, so a signed weight is stored one of three ways, each behind
the same small interface (like CrossSim's balanced and offset cores) so mapping, fault injection
and decoding never branch on the encoding name:

- ``two-column``: per slice ``s``, ``a = max(s, 0)``, ``b = max(-s, 0)``; value ``a - b``.
  A zero is ``(0, 0)``: level 0 is stuck-off, so a pruned weight is shielded from stuck-off faults
  (seed 003 IV.A, eq. 3) but any stuck-on cell turns it into ``+-L * 2**(k*cell_bits)``.
- ``differential`` (seed 003 IV.D): ``a = L if s >= 0 else L - |s|``, ``b = L - s if s > 0 else L``;
  value ``a - b``. A zero is ``(L, L)``, so pruning now shields from stuck-on faults, the more
  frequent kind (5.2x stuck-off in seed 003's defect model), and exposes zeros to stuck-off ones.
- ``offset``: one polarity holding the unsigned code ``u = q + 2**(weight_bits-1)`` sliced into
  levels; value ``compose(levels) - offset``. A zero is the code of ``offset`` (a single 1 bit at
  the top), neither all-0 nor all-L, so a pruned weight is exposed to both fault kinds: stuck-on
  in any lower slice and stuck-off or stuck-on in the top one (seed 003 III: offset tolerates
  faults worst).

Levels are ``(polarities, S, *q.shape)`` uint8 arrays (``cell_bits <= 8``), least significant
slice first. ``decode`` takes any level array, faulty ones included, and returns the effective
integer weight, which may leave the normal range: that is what fault modelling measures.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Protocol

import numpy as np

from simulator.mapping.quantize import check_range, qmax
from simulator.mapping.slicing import (
    compose,
    design_slices,
    magnitude_slices,
    slice_signed,
    slice_unsigned,
    top_level,
)


class SignEncoding(Protocol):
    """How signed integer weights become cell levels and how cell levels read back."""

    name: str
    polarities: int  # physical columns (or arrays) per logical column: 2 or 1

    def slices(self, weight_bits: int, cell_bits: int) -> int:
        """Cells per weight and polarity."""
        ...

    def encode(self, q: np.ndarray, weight_bits: int, cell_bits: int) -> np.ndarray:
        """Levels ``(polarities, S, *q.shape)``, ints in ``0..L``."""
        ...

    def decode(self, levels: np.ndarray, weight_bits: int, cell_bits: int) -> np.ndarray:
        """Effective integer weights; the exact inverse of ``encode`` when no cell is faulty."""
        ...

    def input_offset(self, weight_bits: int) -> int:
        """The constant every decoded weight carries, subtracted digitally per unit of input
        (``offset x sum(inputs)``, simulator/faults/bit_true.py); 0 when decoding needs none."""
        ...


def _check_levels(levels: np.ndarray, shape: tuple[int, int], level: int) -> np.ndarray:
    """Reject level arrays of the wrong leading shape or outside ``0..L``."""
    levels = np.asarray(levels)
    if levels.shape[:2] != shape:
        raise ValueError(
            f"levels must have shape (polarities, slices, ...) = {shape} + ..., got {levels.shape}"
        )
    if levels.size and (levels.min() < 0 or levels.max() > level):
        raise ValueError(f"cell levels must lie in 0..{level}")
    return levels


class _Polar(ABC):
    """Two-polarity encodings of the sliced magnitude: the value of a slice is ``a - b``."""

    name: str
    polarities = 2

    def slices(self, weight_bits: int, cell_bits: int) -> int:
        """The sign picks the polarity, so only the magnitude is sliced."""
        return magnitude_slices(weight_bits, cell_bits)

    @staticmethod
    @abstractmethod
    def _split(s: np.ndarray, level: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``(a, b)`` levels of signed slices ``s`` with ``|s| <= L``."""

    def encode(self, q: np.ndarray, weight_bits: int, cell_bits: int) -> np.ndarray:
        s = slice_signed(q, weight_bits, cell_bits)
        return np.stack(self._split(s, top_level(cell_bits))).astype(np.uint8)

    def decode(self, levels: np.ndarray, weight_bits: int, cell_bits: int) -> np.ndarray:
        """``sum_k (a_k - b_k) * 2**(k*cell_bits)``: what the subtractor and shift-add read."""
        shape = (2, self.slices(weight_bits, cell_bits))
        levels = _check_levels(levels, shape, top_level(cell_bits))
        return compose(levels[0].astype(np.int16) - levels[1], cell_bits)

    def input_offset(self, weight_bits: int) -> int:
        """The polarity subtraction leaves no constant to remove."""
        return 0


class TwoColumn(_Polar):
    """Positive part in column a, negative part in column b; zero = (0, 0)."""

    name = "two-column"

    @staticmethod
    def _split(s: np.ndarray, level: int) -> tuple[np.ndarray, np.ndarray]:
        return np.maximum(s, 0), np.maximum(-s, 0)


class Differential(_Polar):
    """Seed 003 IV.D: both cells start at L and one is lowered by |s|; zero = (L, L)."""

    name = "differential"

    @staticmethod
    def _split(s: np.ndarray, level: int) -> tuple[np.ndarray, np.ndarray]:
        # a = L if s >= 0 else L - |s|;  b = L - s if s > 0 else L
        return level + np.minimum(s, 0), level - np.maximum(s, 0)


class Offset:
    """One polarity holding ``q + 2**(weight_bits-1)`` as unsigned cell levels."""

    name = "offset"
    polarities = 1

    @staticmethod
    def offset(weight_bits: int) -> int:
        """``2**(weight_bits-1)``: shifts the symmetric range ``[-qmax, qmax]`` to ``>= 0``."""
        return 2 ** (weight_bits - 1)

    @classmethod
    def code_bits(cls, weight_bits: int) -> int:
        """Bits of the largest code ``qmax + offset``: ``weight_bits``, but 2 for ternary 1-bit."""
        return (qmax(weight_bits) + cls.offset(weight_bits)).bit_length()

    def slices(self, weight_bits: int, cell_bits: int) -> int:
        """The whole code is sliced: ``ceil(weight_bits / cell_bits)`` (design.md's count)."""
        return design_slices(self.code_bits(weight_bits), cell_bits)

    def encode(self, q: np.ndarray, weight_bits: int, cell_bits: int) -> np.ndarray:
        q = np.asarray(q)
        check_range(q, weight_bits)
        u = q.astype(np.int32) + self.offset(weight_bits)
        return slice_unsigned(u, self.code_bits(weight_bits), cell_bits)[np.newaxis]

    def decode(self, levels: np.ndarray, weight_bits: int, cell_bits: int) -> np.ndarray:
        """``compose(levels) - offset``: the offset circuitry subtracts a constant column."""
        shape = (1, self.slices(weight_bits, cell_bits))
        levels = _check_levels(levels, shape, top_level(cell_bits))
        return compose(levels[0], cell_bits) - self.offset(weight_bits)

    def input_offset(self, weight_bits: int) -> int:
        """Every stored code is ``q + offset``: ``offset`` per unit of input is subtracted."""
        return self.offset(weight_bits)


ENCODINGS: dict[str, type[SignEncoding]] = {
    cls.name: cls for cls in (TwoColumn, Differential, Offset)
}

# The names the workload schema and `resim faults --encodings` accept (simulator.config.faults).
ENCODING_NAMES: tuple[str, ...] = tuple(ENCODINGS)


def get_encoding(name: str | SignEncoding) -> SignEncoding:
    """The encoding called ``name`` (an encoding object passes through unchanged)."""
    if not isinstance(name, str):
        return name
    if name not in ENCODINGS:
        raise ValueError(f"unknown sign encoding {name!r}; allowed: {', '.join(ENCODINGS)}")
    return ENCODINGS[name]()


def zero_levels(encoding: str | SignEncoding, weight_bits: int, cell_bits: int) -> np.ndarray:
    """Levels ``(polarities, S)`` of a zero (pruned) weight: which fault kind can harm it.

    Two-column: all 0 (immune to stuck-off); differential: all L (immune to stuck-on); offset: the
    code of ``2**(weight_bits-1)``, which depends on both bit widths, not only on L.
    """
    return get_encoding(encoding).encode(np.zeros((), dtype=np.int32), weight_bits, cell_bits)


def effective_weights(
    levels: np.ndarray,
    encoding: str | SignEncoding,
    weight_bits: int,
    cell_bits: int,
    scale: np.ndarray | float,
) -> np.ndarray:
    """Float weights the crossbar computes with: ``decode(levels) * scale``, faults included."""
    return get_encoding(encoding).decode(levels, weight_bits, cell_bits) * np.asarray(scale)
