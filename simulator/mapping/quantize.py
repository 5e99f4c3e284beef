"""Symmetric quantization of a weight matrix to signed integers (data flow stage 4, first step).

Conventions (design.md, "Words and conventions"):

- ``bits`` (the workload's ``weight_bits``) counts the sign bit: a ``bits``-bit weight is a sign
  and ``magnitude_bits(bits) = bits - 1`` magnitude bits, so ``q`` lies in the symmetric range
  ``[-qmax, qmax]`` with ``qmax = 2**(bits-1) - 1`` (the code ``-2**(bits-1)`` is never used; a
  symmetric range keeps ``q = 0`` exactly at ``W = 0``). The sign-magnitude view is what the
  two-column and differential encodings store: the sign picks the column, the magnitude is sliced
  into cells (``slicing.py``).
- 1-bit weights are **ternary**, ``q`` in ``{-1, 0, +1}``: with a single bit a symmetric code has
  no magnitude left (``qmax`` would be 0), yet a pruned weight must stay zero (seed 003 IV: pruning
  only helps fault tolerance because zeros are stored as zeros). So ``magnitude_bits(1) = 1``: the
  one bit is the magnitude and the sign lives in the polarity (which column / which array).
- Zero stays exactly zero: ``0 / scale`` rounds to 0, so a pruned weight never becomes nonzero.
  A nonzero weight rounds to zero only when it is below half a step; ``Quantized.flushed`` counts
  them, because such a weight silently joins the pruned ones (and their fault shielding).
- Rounding is half away from zero, so a weight exactly at half a step keeps a nonzero code.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def magnitude_bits(bits: int) -> int:
    """Magnitude bits of a ``bits``-bit sign-magnitude weight: ``bits - 1``; 1 for ternary 1-bit."""
    if bits < 1:
        raise ValueError(f"weight bits must be >= 1, got {bits}")
    return max(bits - 1, 1)


def qmax(bits: int) -> int:
    """Largest integer magnitude of a ``bits``-bit symmetric weight: ``2**magnitude_bits - 1``."""
    return 2 ** magnitude_bits(bits) - 1


def check_range(q: np.ndarray, bits: int) -> None:
    """Reject integer weights outside the symmetric ``bits``-bit range ``[-qmax, qmax]``."""
    if q.size and np.abs(q).max() > qmax(bits):
        raise ValueError(f"|q| exceeds {qmax(bits)}, the range of {bits}-bit weights")


@dataclass(frozen=True)
class Quantized:
    """Integer weights and the scale that maps them back: ``W ~= q * scale``.

    ``scale`` is a 0-d array (one scale per layer) or shape ``(1, C)`` (one per output column), so
    it broadcasts against ``q`` either way. ``flushed`` counts nonzero weights that rounded to 0.
    """

    q: np.ndarray
    scale: np.ndarray
    bits: int
    flushed: int


def quantize(W: np.ndarray, bits: int, per_column: bool = False) -> Quantized:
    """Quantize ``W`` symmetrically to ``bits``-bit signed integers (sign bit included).

    ``scale = max|W| / qmax(bits)`` over the whole layer, or over each column (axis 1: columns are
    outputs, rows are inputs, design.md stage 3) when ``per_column``; an all-zero layer or column
    gets scale 1 so nothing divides by zero and its weights stay 0.
    """
    W = np.asarray(W, dtype=np.float64)
    if per_column and W.ndim != 2:
        raise ValueError(f"per-column quantization needs an (R, C) matrix, got shape {W.shape}")
    top = qmax(bits)
    magnitude = np.abs(W)
    peak = (
        magnitude.max(axis=0, keepdims=True, initial=0.0)
        if per_column
        else magnitude.max(initial=0.0)
    )
    # The largest magnitude is NaN or inf exactly when some weight is (max propagates NaN).
    if not np.isfinite(peak).all():
        raise ValueError("weights must be finite (found NaN or inf)")
    scale = np.where(peak > 0, peak / top, 1.0)
    # sign(x) * floor(|x| + 0.5) with x = W / scale, in place on |W| (|W| / scale is |W / scale|
    # bit for bit): a third of the passes over the matrix, the same integers. A Monte-Carlo study
    # quantizes every layer again per draw (effective.faulty_tiles).
    magnitude /= scale
    magnitude += 0.5
    np.floor(magnitude, out=magnitude)
    q = magnitude.astype(np.int32)
    np.negative(q, out=q, where=W < 0)
    # A nonzero code needs a nonzero weight, so the flushed weights are the difference in counts.
    flushed = int(np.count_nonzero(W)) - int(np.count_nonzero(q))
    return Quantized(q=q, scale=scale, bits=bits, flushed=flushed)


def programmed(W: np.ndarray, bits: int, per_column: bool = False) -> tuple[np.ndarray, np.ndarray, int]:
    """What `quantize` decides of a matrix without its integers: the mask of weights that stay
    nonzero, the scale, and the nonzero weights flushed to zero. The same arithmetic (q is nonzero
    exactly when floor(|W / scale| + 0.5) >= 1), at a third of its cost: the mapping of a VGG-16
    spent most of its time building integers it only compared with 0 (issue #25)."""
    if isinstance(W, np.ndarray) and W.dtype == np.float32:
        found = _programmed_float32(W, bits, per_column)
        if found is not None:
            return found
    W = np.asarray(W, dtype=np.float64)
    if not np.isfinite(W).all():
        raise ValueError("weights must be finite (found NaN or inf)")
    if per_column and W.ndim != 2:
        raise ValueError(f"per-column quantization needs an (R, C) matrix, got shape {W.shape}")
    magnitude = np.abs(W)
    peak = magnitude.max(axis=0, keepdims=True, initial=0.0) if per_column else magnitude.max(initial=0.0)
    scale = np.where(peak > 0, peak / qmax(bits), 1.0)
    magnitude /= scale
    magnitude += 0.5
    kept = magnitude >= 1.0
    flushed = int(np.count_nonzero(W)) - int(np.count_nonzero(kept))
    return kept, scale, flushed


# Relative margin around half a level within which float32 comparisons cannot decide: far wider
# than float32's rounding of the threshold (2^-24) and float64's of the quotient (2^-53).
_MARGIN = 2.0 ** -20


def _programmed_float32(W: np.ndarray, bits: int, per_column: bool) -> tuple[np.ndarray, np.ndarray, int] | None:
    """programmed's result for a float32 matrix (a network's weights) without a float64 copy: a
    weight is kept when |W| / scale + 0.5 >= 1 in float64, that is when |W| is at least half the
    scale; |W| clear of half the scale by _MARGIN is decided in float32, the few weights within it
    by the float64 arithmetic itself. None where the thresholds are not normal float32 numbers (a
    layer whose peak is near float32's smallest or largest), for the float64 path to decide."""
    if per_column and W.ndim != 2:
        return None
    magnitude = np.abs(W)
    peak32 = magnitude.max(axis=0, keepdims=True, initial=0.0) if per_column else magnitude.max(initial=0.0)
    if not np.isfinite(peak32).all():      # a NaN or an infinity anywhere in W reaches its column's max
        return None
    peak = np.asarray(peak32, dtype=np.float64)
    scale = np.where(peak > 0, peak / qmax(bits), 1.0)
    half = 0.5 * scale
    low = (half * (1.0 - _MARGIN)).astype(np.float32)
    high = (half * (1.0 + _MARGIN)).astype(np.float32)
    tiny = np.finfo(np.float32).tiny
    if not (np.isfinite(high).all() and (low >= tiny).all()):
        return None
    kept = magnitude >= high
    unsure = (magnitude > low) & ~kept
    if unsure.any():
        near = np.asarray(magnitude[unsure], dtype=np.float64) / np.broadcast_to(scale, W.shape)[unsure]
        kept[unsure] = near + 0.5 >= 1.0
    flushed = int(np.count_nonzero(W)) - int(np.count_nonzero(kept))
    return kept, scale, flushed


def dequantize(quantized: Quantized) -> np.ndarray:
    """Float weights ``q * scale`` of a quantized matrix."""
    return quantized.q * quantized.scale
