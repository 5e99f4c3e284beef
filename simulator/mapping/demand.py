"""What a mapped layer asks of the hardware, per input vector (design.md stages 4 -> 6).

The hardware model never needs the tiles' cells, only their shapes: per logical tile its rows r_t
(wordlines driven) and weight columns c_t (outputs sensed), and for the conductance read model the
sum of its cell levels. This summary is small, so it is what the mapping cache stores.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from simulator.mapping.encoding import get_encoding
from simulator.mapping.network import MappedLayer
from simulator.mapping.quantize import quantize
from simulator.mapping.setup import MappingSetup
from simulator.mapping.tiles import Tile


@dataclass(frozen=True)
class LayerDemand:
    """One Conv2d/Linear layer as the hardware sees it."""

    name: str
    vectors: int               # input vectors per inference (H_out * W_out for a conv)
    tile_rows: np.ndarray      # r_t of every placed tile (all groups), int64
    tile_cols: np.ndarray      # c_t of every placed tile, int64
    tile_levels: np.ndarray    # sum of cell levels of every placed tile (all polarities and slices), int64
    rows_used: int             # distinct wordline inputs fed per vector (over groups)
    cols_used: int             # distinct outputs produced per vector (over groups)
    index_bits: int            # index-register bits read once per vector (0 for grid strategies)
    macs: int                  # dense multiply-accumulates per inference
    nonzeros: int
    pool_ops: int = 0          # pooling comparisons (or additions) after the layer, per inference
    activations: int = 0       # values through an activation function after the layer, per inference

    @property
    def tiles(self) -> int:
        return int(self.tile_rows.size)


def tile_level_sums(matrix: np.ndarray, tiles: list[Tile], encoding: str, weight_bits: int, cell_bits: int,
                    per_column: bool) -> np.ndarray:
    """Sum of programmed cell levels per tile: held weights encoded, covered-but-not-held positions
    encoded as zero (design.md: a zero is (0, 0) in two-column, (L, L) in differential)."""
    scheme = get_encoding(encoding)
    q = quantize(matrix, weight_bits, per_column=per_column).q
    out = np.zeros(len(tiles), dtype=np.int64)
    for i, tile in enumerate(tiles):
        sub = np.where(tile.held, q[np.ix_(tile.rows, tile.cols)], 0)
        out[i] = int(scheme.encode(sub, weight_bits, cell_bits).sum())
    return out


def layer_demand(layer: MappedLayer, setup: MappingSetup, *, levels: bool = False) -> LayerDemand:
    """Summarise a mapped layer for the hardware; with `levels`, also the cells' level sums
    (needed only by the conductance read-energy model)."""
    rows: list[int] = []
    cols: list[int] = []
    sums: list[np.ndarray] = []
    rows_used = cols_used = 0
    for matrix, group in zip(layer.matrices, layer.layout.groups):
        rows.extend(len(t.rows) for t in group.tiles)
        cols.extend(len(t.cols) for t in group.tiles)
        if group.tiles:
            rows_used += int(np.unique(np.concatenate([t.rows for t in group.tiles])).size)
            cols_used += int(np.unique(np.concatenate([t.cols for t in group.tiles])).size)
        if levels:
            sums.append(tile_level_sums(matrix, group.tiles, setup.encoding, setup.weight_bits, setup.cell_bits,
                                        setup.per_column))
    tile_levels = np.concatenate(sums) if sums else np.full(len(rows), -1, dtype=np.int64)
    lowered = layer.lowered
    return LayerDemand(lowered.name, lowered.vectors, np.asarray(rows, dtype=np.int64),
                       np.asarray(cols, dtype=np.int64), tile_levels.astype(np.int64), rows_used, cols_used,
                       layer.index_register_bits, lowered.macs, lowered.nonzeros, lowered.pool_ops,
                       lowered.activations)


_SCALARS = ("vectors", "rows_used", "cols_used", "index_bits", "macs", "nonzeros", "pool_ops", "activations")


def save_demands(path: Path, demands: list[LayerDemand], meta: dict[str, Any]) -> None:
    """Write the layer demands (the mapping as the hardware sees it) atomically to one .npz."""
    import json

    from simulator.atomic import atomic_replace

    arrays = {"meta": np.frombuffer(json.dumps(meta, sort_keys=True, default=str).encode(), dtype=np.uint8),
              "names": np.array([d.name for d in demands]),
              "scalars": np.array([[getattr(d, k) for k in _SCALARS] for d in demands],
                                  dtype=np.int64).reshape(-1, len(_SCALARS)),
              "offsets": np.cumsum([0] + [d.tiles for d in demands]).astype(np.int64)}
    for key in ("tile_rows", "tile_cols", "tile_levels"):
        arrays[key] = np.concatenate([getattr(d, key) for d in demands]) if demands else np.zeros(0, np.int64)
    with atomic_replace(path) as tmp:
        with open(tmp, "wb") as handle:
            np.savez(handle, **arrays)   # type: ignore[arg-type]  # numpy's stub types **kwds as bool


def load_demands(path: Path) -> list[LayerDemand]:
    """Read layer demands written by save_demands (no pickles)."""
    with np.load(path, allow_pickle=False) as data:
        names, scalars, offsets = data["names"], data["scalars"], data["offsets"]
        rows, cols, levels = data["tile_rows"], data["tile_cols"], data["tile_levels"]
        out = []
        for i, name in enumerate(names):
            lo, hi = offsets[i], offsets[i + 1]
            values = dict(zip(_SCALARS, (int(v) for v in scalars[i])))
            out.append(LayerDemand(str(name), values["vectors"], rows[lo:hi].copy(), cols[lo:hi].copy(),
                                   levels[lo:hi].copy(), values["rows_used"], values["cols_used"],
                                   values["index_bits"], values["macs"], values["nonzeros"],
                                   values["pool_ops"], values["activations"]))
        return out
