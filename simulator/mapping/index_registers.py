"""Index registers a tile needs to find its inputs and outputs (design.md, "The hardware model").

Seed 004 (section "system skeleton", Fig. 3) adds "extra indexing units, since we disorder the
columns and rows of a regular matrix": a crossbar whose bitlines hold shuffled columns of W must
store, per bitline, which output it adds into (the seed's registers are "only added for the output
vectors", because its k-means exchange moves columns only). Reordering rows as well (seed 001's
"move all nonzero rows together", `compact`, `graph`, `rcm`) means the crossbar's wordlines carry
inputs from anywhere in W, so it also needs one input index per wordline.

A register holds one index: ceil(log2(R)) bits for a row of W, ceil(log2(C)) bits for a column.
A tile whose rows are one contiguous ascending run of W's rows (as in every dense-grid tile) is
addressed like a dense crossbar and needs no row register, with `dense_grid=True`; the same for
columns. With `dense_grid=False` the chip has no such grid addressing and every row and column of
every tile needs its register (the upper end of the cost).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator.mapping.tiles import Tile


@dataclass(frozen=True)
class IndexRegisters:
    """Registers of one tile: how many, and the width of each, for rows and for columns."""

    row_count: int
    row_bits: int  # width of one row register: ceil(log2(R)) (0 when there is none)
    col_count: int
    col_bits: int  # width of one column register: ceil(log2(C)) (0 when there is none)

    @property
    def registers(self) -> int:
        return self.row_count + self.col_count

    @property
    def bits(self) -> int:
        """Total register bits of the tile."""
        return self.row_count * self.row_bits + self.col_count * self.col_bits


def index_width(length: int) -> int:
    """ceil(log2(length)): bits to name one of `length` rows or columns (0 for length 1)."""
    return max(length - 1, 0).bit_length()


def is_contiguous_run(indices: np.ndarray) -> bool:
    """True for consecutive ascending indices (i, i+1, ..., i+k), which grid addressing covers."""
    return bool(np.all(np.diff(indices) == 1))


def _registers(indices: np.ndarray, length: int, dense_grid: bool) -> tuple[int, int]:
    """(count, width) of the registers for one side of a tile."""
    if dense_grid and is_contiguous_run(indices):
        return 0, 0
    return len(indices), index_width(length)


def index_registers(tile: Tile, rows: int, cols: int, dense_grid: bool) -> IndexRegisters:
    """Registers `tile` of an (R, C) matrix needs; see the module docstring for `dense_grid`."""
    row_count, row_bits = _registers(tile.rows, rows, dense_grid)
    col_count, col_bits = _registers(tile.cols, cols, dense_grid)
    return IndexRegisters(row_count, row_bits, col_count, col_bits)


def summarise(tiles: list[Tile], rows: int, cols: int, dense_grid: bool = True) -> dict[str, int]:
    """Totals over `tiles`: registers and register bits, for rows, columns and both."""
    each = [index_registers(tile, rows, cols, dense_grid) for tile in tiles]
    row_registers = sum(r.row_count for r in each)
    col_registers = sum(r.col_count for r in each)
    row_register_bits = sum(r.row_count * r.row_bits for r in each)
    col_register_bits = sum(r.col_count * r.col_bits for r in each)
    return {
        "tiles": len(tiles),
        "row_registers": row_registers,
        "col_registers": col_registers,
        "registers": row_registers + col_registers,
        "row_register_bits": row_register_bits,
        "col_register_bits": col_register_bits,
        "bits": row_register_bits + col_register_bits,
    }
