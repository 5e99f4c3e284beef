"""Bit slicing of integer weights into multi-level cells (``cell_bits`` bits per cell).

A cell holds a level ``0..L`` with ``L = 2**cell_bits - 1`` (design.md); slice ``k`` holds bits
``k*cell_bits .. (k+1)*cell_bits - 1``, least significant slice first, and is worth
``2**(k*cell_bits)`` when the columns' currents are shifted and added.

Slice counts, one convention per encoding (see ``encoding.SignEncoding.slices``):

- two-column and differential store the **magnitude** (the sign picks the column), so they need
  ``magnitude_slices = ceil(magnitude_bits / cell_bits)`` slices, ``magnitude_bits = bits - 1``;
- offset stores the whole unsigned code ``q + offset`` of ``bits`` bits, so it needs
  ``ceil(bits / cell_bits)`` slices (``design_slices``).

design.md writes ``slices = ceil(weight_bits / cell_bits)`` for every encoding. That is exact for
offset and for the polarity encodings whenever ``cell_bits`` does not divide ``weight_bits - 1``;
otherwise it counts one slice too many for them (16-bit weights on 1-bit cells: 15 magnitude
slices, not 16; the sign bit costs a second polarity, not a slice).
"""

from __future__ import annotations

import math

import numpy as np

from simulator.mapping.quantize import check_range, magnitude_bits

MAX_WEIGHT_BITS = 16  # the workload schema's bound; |q| <= 2**15 - 1 fits int16
MAX_CELL_BITS = 8  # the hardware schema's bound; levels 0..255 fit uint8


def top_level(cell_bits: int) -> int:
    """``L = 2**cell_bits - 1``: the stuck-on (low resistance) level of a ``cell_bits`` cell."""
    if not 1 <= cell_bits <= MAX_CELL_BITS:
        raise ValueError(f"cell bits must be in 1..{MAX_CELL_BITS}, got {cell_bits}")
    return 2**cell_bits - 1


def magnitude_slices(weight_bits: int, cell_bits: int) -> int:
    """Slices of a sign-magnitude weight's magnitude: ``ceil(magnitude_bits / cell_bits)``."""
    return math.ceil(magnitude_bits(weight_bits) / cell_bits)


def design_slices(weight_bits: int, cell_bits: int) -> int:
    """design.md's ``ceil(weight_bits / cell_bits)``: exact for offset, an upper bound otherwise."""
    return math.ceil(weight_bits / cell_bits)


def slice_signed(q: np.ndarray, weight_bits: int, cell_bits: int) -> np.ndarray:
    """Signed slices ``s_k = sign(q) * ((|q| >> k*cell_bits) & L)``, shape ``(S, *q.shape)``.

    Each ``|s_k| <= L``; ``compose`` inverts it exactly. ``q`` must lie in the symmetric range of
    ``weight_bits`` (``quantize.qmax``).
    """
    if not 1 <= weight_bits <= MAX_WEIGHT_BITS:
        raise ValueError(f"weight bits must be in 1..{MAX_WEIGHT_BITS}, got {weight_bits}")
    level = top_level(cell_bits)
    q = np.asarray(q)
    check_range(q, weight_bits)
    count = magnitude_slices(weight_bits, cell_bits)
    shifts = (np.arange(count, dtype=np.int16) * cell_bits).reshape((count,) + (1,) * q.ndim)
    out = (np.abs(q).astype(np.int16) >> shifts) & level
    out *= np.sign(q).astype(np.int16)
    return out


def slice_unsigned(u: np.ndarray, bits: int, cell_bits: int) -> np.ndarray:
    """Cell levels of unsigned ``bits``-bit codes ``u``: ``(u >> k*cell_bits) & L``, LSB first.

    Shape ``(ceil(bits / cell_bits), *u.shape)``, dtype uint8 (levels ``0..L``).
    """
    level = top_level(cell_bits)
    u = np.asarray(u)
    if u.size and (u.min() < 0 or u.max() >= 2**bits):
        raise ValueError(f"unsigned codes must lie in 0..{2**bits - 1}")
    count = design_slices(bits, cell_bits)
    shifts = (np.arange(count, dtype=np.int32) * cell_bits).reshape((count,) + (1,) * u.ndim)
    return ((u.astype(np.int32) >> shifts) & level).astype(np.uint8)


def compose(slices: np.ndarray, cell_bits: int) -> np.ndarray:
    """``sum_k slices[k] * 2**(k*cell_bits)`` as int64: the shift-and-add of the slice columns.

    Accepts any integer slice values (a faulty slice may exceed ``L`` in magnitude after a
    polarity subtraction), so it is the decoder of every encoding, faulty or not.
    """
    slices = np.asarray(slices)
    out = np.zeros(slices.shape[1:], dtype=np.int64)
    for k, part in enumerate(slices):
        out += np.int64(2 ** (k * cell_bits)) * part
    return out
