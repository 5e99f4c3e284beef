"""Physical arrays behind logical tiles (design.md, "physical array")."""

from __future__ import annotations

import math

from simulator.mapping.encoding import get_encoding
from simulator.mapping.tiles import Tile


def arrays_per_tile(encoding: str, weight_bits: int, cell_bits: int) -> int:
    """Physical arrays behind one logical tile: polarities x bit slices (design.md).

    Two-column and differential slice only the magnitude (weight_bits - 1 bits; the sign costs
    the second polarity, not a slice), offset slices the whole unsigned code (simulator.mapping.encoding)."""
    scheme = get_encoding(encoding)
    return scheme.polarities * scheme.slices(weight_bits, cell_bits)


def physical_arrays(tiles: list[Tile], encoding: str, weight_bits: int, cell_bits: int, array_cols: int,
                    packing: str) -> int:
    """Physical arrays the logical tiles occupy.

    across-arrays: every polarity and slice of a tile in an array of its own. adjacent-columns: a
    tile's c weight columns become c x polarities x slices physical columns side by side, in as
    few arrays of `array_cols` columns as hold them (its rows share the wordlines); arrays are not
    shared between tiles, since each tile's inputs are its own rows."""
    per_tile = arrays_per_tile(encoding, weight_bits, cell_bits)
    if packing == "across-arrays":
        return len(tiles) * per_tile
    if packing != "adjacent-columns":
        raise ValueError(f"unknown packing {packing!r}; allowed: across-arrays, adjacent-columns")
    return sum(math.ceil(len(tile.cols) * per_tile / array_cols) for tile in tiles)
