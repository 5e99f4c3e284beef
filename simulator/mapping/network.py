"""The mapping stage's result: a whole network lowered and mapped (design.md, stages 3-4).

`map_network` is the one place that walks a network's Conv2d / Linear layers, lowers each to its
(R, C) group matrices and maps them by a `MappingSetup`. Everything downstream reads the
`MappedNetwork`: the layer table and the utilisation histogram of the report, the hardware
study's demands, the faults' tiles, the crossbar-row grains of crossbar-grained pruning.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from simulator.mapping.mapper import LayerMapping, map_layer
from simulator.mapping.setup import MappingSetup
from simulator.mapping.tiles import Tile
from simulator.mapping.tiling import physical_arrays

if TYPE_CHECKING:   # torch only where a network is mapped: reading a cached mapping needs none
    import pandas as pd
    from torch import nn

    from simulator.lowering.lowered import LoweredLayer

# The whole-network sums of the layer table (`MappedNetwork.totals`, `table_totals`).
TOTAL_COLUMNS = ("macs", "nonzeros", "total", "tiles_dense", "tiles_placed", "tiles_saved", "lower_bound",
                 "arrays_placed", "index_registers", "index_register_bits")


@dataclass(frozen=True)
class MappedLayer:
    """One Conv2d / Linear layer mapped: the lowered matrix's identity, its group matrices as
    mapped (views of the network's weights), their tiles, quantization scales and index
    registers, and the physical arrays the tiles occupy."""

    lowered: LoweredLayer
    matrices: list[np.ndarray]       # (R, C) per group
    layout: LayerMapping             # tiles, dense tiles, lower bound, registers per group
    arrays: int                      # physical arrays (polarities x slices, or packed columns)

    @property
    def name(self) -> str:
        return self.lowered.name

    @property
    def tiles(self) -> list[list[Tile]]:
        """The placed tiles of each group matrix."""
        return [group.tiles for group in self.layout.groups]

    @property
    def scales(self) -> list[np.ndarray]:
        """The quantization scale of each group matrix (0-d, or (1, C) per output column)."""
        return self.layout.scales

    @property
    def tiles_placed(self) -> int:
        return self.layout.total("placed")

    @property
    def tiles_dense(self) -> int:
        return self.layout.total("dense")

    @property
    def index_registers(self) -> int:
        return self.layout.registers("registers")

    @property
    def index_register_bits(self) -> int:
        return self.layout.registers("bits")

    def utilizations(self) -> np.ndarray:
        """Held nonzeros / N^2 of every placed tile."""
        parts = [group.utilizations() for group in self.layout.groups]
        return np.concatenate(parts) if parts else np.zeros(0)


@dataclass(frozen=True)
class LayerRow:
    """One Conv2d / Linear of a mapped network as the report's layer table shows it: the lowered
    matrix (shape, R x C per group, input vectors, weights kept) and its mapping (tiles, arrays,
    index registers, utilisation). What the mapping cache keeps of every layer."""

    layer: str
    type: str                   # conv or linear
    weight_shape: str           # torch order joined by "x"
    R: int                      # rows per group matrix
    C: int                      # columns per group matrix
    groups: int
    vectors: int                # input vectors per inference
    macs: int
    nonzeros: int
    total: int
    density: float
    quantized_to_zero: int      # nonzero weights that quantized to zero (not programmed)
    nz_cols: int                # column segments of N rows holding a nonzero (seed 001)
    total_cols: int
    nz_rows: int                # row segments of N columns holding a nonzero
    total_rows: int
    tiles_dense: int
    tiles_placed: int
    tiles_saved: int
    lower_bound: int
    arrays_placed: int
    index_registers: int
    index_register_bits: int
    utilization_mean: float
    mapping_seconds: float

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def rows_table(rows: list[LayerRow]) -> pd.DataFrame:
    """Layer rows as a pandas table (where one is written or handed to a notebook)."""
    import pandas as pd

    return pd.DataFrame([row.as_dict() for row in rows], columns=[f.name for f in dataclasses.fields(LayerRow)])


@dataclass(frozen=True)
class UtilizationHistogram:
    """Share of tiles per utilisation bin: the dense grid's tiles and the strategy's placed
    tiles (seed 004 Fig. 4)."""

    bin_upper_edges: list[float]
    dense: list[float]
    mapped: list[float]

    def as_dict(self) -> dict[str, list[float]]:
        return {"bin_upper_edges": self.bin_upper_edges, "dense": self.dense, "mapped": self.mapped}


@dataclass(frozen=True)
class MappedNetwork:
    """Every Conv2d / Linear of a network, in call order, mapped by one setup."""

    setup: MappingSetup
    layers: list[MappedLayer]

    def layer(self, name: str) -> MappedLayer:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(f"no mapped layer {name!r}; the network has {', '.join(self.names)}")

    @property
    def names(self) -> list[str]:
        return [layer.name for layer in self.layers]

    @property
    def tiles_placed(self) -> int:
        return sum(layer.tiles_placed for layer in self.layers)

    @property
    def tiles_dense(self) -> int:
        return sum(layer.tiles_dense for layer in self.layers)

    @property
    def arrays(self) -> int:
        return sum(layer.arrays for layer in self.layers)

    def rows(self) -> list[LayerRow]:
        """One typed row per Conv2d / Linear: shape, (R, C), vectors, nonzeros, density, and its
        mapping (tiles dense / placed / saved, lower bound, arrays, index registers, utilisation)."""
        rows = []
        for mapped in self.layers:
            layer, layout = mapped.lowered, mapped.layout
            utilization = mapped.utilizations()
            rows.append(LayerRow(
                layer=layer.name, type=layer.kind, weight_shape="x".join(map(str, layer.weight_shape)),
                R=layer.rows, C=layer.cols, groups=layer.groups, vectors=layer.vectors, macs=layer.macs,
                nonzeros=layer.nonzeros, total=layer.total, density=layer.density,
                quantized_to_zero=layout.flushed, **layout.segments,
                tiles_dense=mapped.tiles_dense, tiles_placed=mapped.tiles_placed,
                tiles_saved=mapped.tiles_dense - mapped.tiles_placed, lower_bound=layout.total("bound"),
                arrays_placed=mapped.arrays, index_registers=mapped.index_registers,
                index_register_bits=mapped.index_register_bits,
                utilization_mean=float(utilization.mean()) if utilization.size else 0.0,
                mapping_seconds=sum(g.seconds for g in layout.groups)))
        return rows

    def table(self) -> pd.DataFrame:
        """The layer rows (`rows`) as a table."""
        return rows_table(self.rows())

    def to_frame(self) -> pd.DataFrame:
        """The layer table (`table`): one row per Conv2d / Linear."""
        return self.table()

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able content: the setup, the whole-network totals, the utilisation histogram
        and the layer table's rows."""
        rows = self.rows()
        return {"setup": dataclasses.asdict(self.setup), "totals": table_totals(rows),
                "histogram": self.histogram().as_dict(),
                "layers": json.loads(rows_table(rows).to_json(orient="records"))}

    def _repr_html_(self) -> str:
        from simulator.html_summary import percent, summary_html

        rows = self.rows()
        table = rows_table(rows)
        totals = table_totals(rows)
        setup = self.setup
        saved = totals["tiles_saved"] / totals["tiles_dense"] if totals["tiles_dense"] else 0.0
        facts = [("layers", str(len(self.layers))),
                 ("weights kept", f"{totals['nonzeros']:,} of {totals['total']:,} ({percent(totals['density'])})"),
                 ("tiles placed", f"{totals['tiles_placed']:,} of {totals['tiles_dense']:,} dense "
                                  f"({percent(saved)} saved)"),
                 ("physical arrays", f"{totals['arrays_placed']:,}"),
                 ("index registers", f"{totals['index_registers']:,} ({totals['index_register_bits']:,} bits)")]
        shown = table[["layer", "type", "R", "C", "density", "tiles_dense", "tiles_placed", "utilization_mean"]].copy()
        shown["density"] = shown["density"].map(percent)
        shown["utilization_mean"] = shown["utilization_mean"].map(percent)
        shown.columns = ["layer", "type", "rows R", "columns C", "density", "crossbars dense", "crossbars placed",
                         "mean crossbar utilisation"]
        return summary_html(f"Mapped network: {setup.size}x{setup.size} crossbars, {setup.reorder}, {setup.encoding}, "
                            f"{setup.weight_bits}-bit weights in {setup.cell_bits}-bit cells", facts,
                            [("per layer", shown)])

    def histogram(self, bins: int = 10) -> UtilizationHistogram:
        """Share of tiles per utilisation decile: the dense grid against the placed tiles."""
        edges = np.linspace(0.0, 1.0, bins + 1)
        shares = []
        for values in ([layer.layout.grid_utilizations for layer in self.layers],
                       [layer.utilizations() for layer in self.layers]):
            util = np.concatenate(values) if values else np.zeros(0)
            counts, _ = np.histogram(util, bins=edges)
            shares.append((counts / max(util.size, 1)).tolist())
        return UtilizationHistogram(edges[1:].tolist(), shares[0], shares[1])


def map_lowered(model: nn.Module, lowered: list[LoweredLayer], setup: MappingSetup) -> MappedNetwork:
    """Map the already lowered layers of `model` (one lowering serves several setups)."""
    from simulator.lowering.layers import weight_matrices
    from simulator.pruning.masks import prunable

    modules = prunable(model)
    return map_matrices(lowered, {layer.name: weight_matrices(modules[layer.name]) for layer in lowered}, setup)


def map_matrices(lowered: list[LoweredLayer], weights: dict[str, list[np.ndarray]],
                 setup: MappingSetup) -> MappedNetwork:
    """Map lowered layers given their group matrices by name (a network held in memory, or its
    lowering read back from the cache: then no torch is needed)."""
    layers = []
    for layer in lowered:
        matrices = weights[layer.name]
        layout = map_layer(layer.name, matrices, setup.size, setup.reorder, setup.weight_bits, setup.seed,
                           setup.per_column)
        arrays = sum(physical_arrays(g.tiles, setup.encoding, setup.weight_bits, setup.cell_bits, setup.array_cols,
                                     setup.packing) for g in layout.groups)
        layers.append(MappedLayer(layer, matrices, layout, arrays))
    return MappedNetwork(setup, layers)


def map_network(model: nn.Module, input_shape: tuple[int, int, int], setup: MappingSetup) -> MappedNetwork:
    """Lower every Conv2d / Linear of `model` for inputs of `input_shape` (C, H, W) and map it."""
    from simulator.lowering.layers import lower_network

    return map_lowered(model, lower_network(model, input_shape), setup)


def table_totals(rows: list[LayerRow]) -> dict[str, int | float]:
    """Whole-network sums of the layer rows (`MappedNetwork.rows`), with the overall density."""
    sums: dict[str, int | float] = {k: int(sum(getattr(row, k) for row in rows)) for k in TOTAL_COLUMNS}
    sums["density"] = sums["nonzeros"] / sums["total"] if sums["total"] else 0.0
    return sums
