"""Effective weights of a mapped matrix under stuck-at faults (design.md stages 4-5, seed 003).

Every placed tile is a crossbar of ``polarities x S`` arrays (design.md, "physical array") over its
``rows x cols`` of W. Each of its cells exists physically and can fail, whether it holds a nonzero
or the encoding of zero: a position the tile covers but does not hold (a pruned weight, or a
nonzero another tile holds) still sits under a driven wordline and a read bitline. So:

- seed 003's shielding appears here: a covered zero is ``(0, 0)`` in two-column (harmed only by
  stuck-on) and ``(L, L)`` in differential (harmed only by stuck-off);
- a position covered by several tiles gets the sum of their decoded cells, because the tiles'
  partial sums are added;
- a position no placed tile covers has no cells at all, so it is exactly zero whatever the rates
  (tiles skipped by sparse mapping are honoured).

Cells of a tile's N x N array beyond its rows and columns are neither driven nor read, so they do
not contribute and are not drawn.
"""

from __future__ import annotations

import numpy as np

from simulator.faults.cells import FaultRates, apply_faults, draw_cell_faults
from simulator.mapping.encoding import get_encoding
from simulator.mapping.quantize import quantize
from simulator.mapping.tiles import Tile


def faulty_matrix(
    W: np.ndarray,
    tiles: list[Tile],
    encoding: str,
    weight_bits: int,
    cell_bits: int,
    rates: FaultRates,
    rng: np.random.Generator,
    per_column: bool = False,
    slice_index: int | None = None,
) -> np.ndarray:
    """Float (R, C) weights the crossbars compute with after stuck-at faults.

    Quantizes ``W`` (``quantize(W, weight_bits, per_column)``), programs each tile's cells (held
    positions with their weight, other covered positions with zero), draws faults for every cell
    of the tile (shape ``(polarities, S, len(rows), len(cols))``, one draw per tile, tiles in list
    order, so a seeded ``rng`` gives the same result), decodes, adds the integer values into the
    covered positions and multiplies by the quantization scale. With zero rates the result equals
    ``dequantize(quantize(W))`` exactly provided every nonzero is held by some tile.
    ``slice_index`` confines faults to one slice (seed 001's single bit position).
    """
    W = np.asarray(W, dtype=np.float64)
    if W.ndim != 2:
        raise ValueError(f"W must be an (R, C) matrix, got shape {W.shape}")
    enc = get_encoding(encoding)
    quantized = quantize(W, weight_bits, per_column=per_column)
    total = np.zeros(W.shape, dtype=np.int64)
    for tile in tiles:
        where = np.ix_(tile.rows, tile.cols)
        programmed = np.where(tile.held, quantized.q[where], 0)
        levels = enc.encode(programmed, weight_bits, cell_bits)
        faults = draw_cell_faults(levels.shape, rates, rng, slice_index=slice_index, slice_axis=1)
        total[where] += enc.decode(apply_faults(levels, faults, cell_bits), weight_bits, cell_bits)
    return total * quantized.scale
