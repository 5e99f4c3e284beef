"""Physical arrays behind logical tiles (design.md, "physical array")."""

from __future__ import annotations

from simulator.mapping.encoding import get_encoding


def arrays_per_tile(encoding: str, weight_bits: int, cell_bits: int) -> int:
    """Physical arrays behind one logical tile: polarities x bit slices (design.md).

    Two-column and differential slice only the magnitude (weight_bits - 1 bits; the sign costs
    the second polarity, not a slice), offset slices the whole unsigned code (simulator.mapping.encoding)."""
    scheme = get_encoding(encoding)
    return scheme.polarities * scheme.slices(weight_bits, cell_bits)
