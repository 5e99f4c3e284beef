"""Event counts and stage times of one layer on the chip (design.md, "The hardware model").

The unit of work is an **array operation**: one input phase of one input vector applied to every
array of one copy of the layer (they share the vector and work in lockstep). Per operation the
drivers drive each tile's rows, the arrays are read (one crossbar cycle), the sample-and-holds
latch the read columns and the ADCs convert them in turn (columns_per_adc per ADC), the converted
values are shifted and added (or composed first by the analog tree). Per input vector, the inputs
come from the tile buffer over the bus (index registers route each reordered tile's rows) and the
outputs go over the network into a buffer. The bus broadcasts each input to every tile. Inputs enter bit-serially in
ceil(input_bits / dac.bits) phases.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from simulator.config.hardware import HardwareConfig
from simulator.hardware.components import Adc, Buffer, Bus, Geometry, ReramArray, Router
from simulator.hardware.demand import LayerDemand
from simulator.mapping.encoding import get_encoding
from simulator.mapping.slicing import top_level


@dataclass(frozen=True)
class LayerCost:
    """Per-operation and per-vector event counts and stage times of one copy of a layer."""

    name: str
    vectors: int
    phases: int
    arrays: int                      # physical arrays of one copy
    tiles: int
    per_op: dict[str, float]         # events per array operation
    per_vector: dict[str, float]     # events per input vector
    read_ns: float                   # array read (drive, settle, sample)
    adc_ns: float                    # conversions of the busiest ADC per operation
    fetch_buffer_ns: float           # inputs out of the buffer, per vector
    fetch_bus_ns: float              # inputs over the bus to the arrays, per vector
    write_network_ns: float          # outputs over the network, per vector
    write_buffer_ns: float           # outputs into the buffer, per vector
    macs: int
    nonzeros: int
    adcs: int = field(default=0)     # ADCs of one copy

    @property
    def compute_ns(self) -> float:
        """Reads and conversions of one vector: the sample-and-hold lets the next phase's read
        overlap this phase's conversions, so the slower of the two sets the pace."""
        r, a, p = self.read_ns, self.adc_ns, self.phases
        return r + a + (p - 1) * max(r, a)

    @property
    def vector_ns(self) -> float:
        """One input vector through one copy of the layer when nothing else contends."""
        return self.fetch_buffer_ns + self.fetch_bus_ns + self.compute_ns + self.write_network_ns + self.write_buffer_ns

    def time_ns(self, replicas: int) -> float:
        """The layer's time with `replicas` copies sharing its vectors."""
        return math.ceil(self.vectors / replicas) * self.vector_ns


def phases(hw: HardwareConfig) -> int:
    """Bit-serial input phases: ceil(input_bits / dac.bits)."""
    return math.ceil(hw.input_bits / hw.dac.bits)


def tile_arrays(cols: np.ndarray, polarities: int, slices: int, size: int, packing: str) -> np.ndarray:
    """Physical arrays of every logical tile (simulator.mapping.tiling.physical_arrays, per tile)."""
    if packing == "across-arrays":
        return np.full(cols.shape, polarities * slices, dtype=np.int64)
    return -(-cols * polarities * slices // size)


def layer_cost(demand: LayerDemand, hw: HardwareConfig, geo: Geometry, encoding: str, weight_bits: int,
               cell_bits: int) -> LayerCost:
    """Count the events of one array operation and of one vector for `demand` on this chip."""
    scheme = get_encoding(encoding)
    pol, slices = scheme.polarities, scheme.slices(weight_bits, cell_bits)
    r, c = demand.tile_rows, demand.tile_cols
    arrays_t = tile_arrays(c, pol, slices, geo.size, hw.array.packing)
    physical_cols = c * pol * slices
    # Values that reach an ADC: analog polarity subtraction halves them, the analog tree reads one
    # composed value per weight column instead of one per slice.
    conv_t = c * (pol if hw.composition.polarity == "digital" else 1) \
        * (slices if hw.composition.slices == "digital" else 1)
    cells = int((r * physical_cols).sum())
    per_op = {
        "array_cell_reads": float(cells),
        "array_conductance_us": 0.0,
        "dac_drives": float((arrays_t * r).sum()),
        "sample_holds": float(physical_cols.sum()),
        "adc_conversions": float(conv_t.sum()),
        "shift_adds": float(conv_t.sum()),
        "tree_compositions": float(conv_t.sum()) if hw.composition.slices == "analog-tree" else 0.0,
    }
    if hw.array.read_energy_model == "conductance":
        if (demand.tile_levels < 0).any():
            raise ValueError(f"layer {demand.name}: the conductance read model needs the tiles' cell levels")
        g_off, g_on = 1e6 / hw.array.r_off_ohm, 1e6 / hw.array.r_on_ohm   # microsiemens
        level = top_level(cell_bits)
        per_op["array_conductance_us"] = float(cells * g_off + (g_on - g_off) / level * demand.tile_levels.sum())
        per_op["array_cell_reads"] = 0.0
    # Across arrays, each array (or each analog-subtracted pair) converts its tile's c columns;
    # in adjacent columns a tile's values spread over its arrays.
    if hw.array.packing == "across-arrays":
        per_array = c
    else:
        per_array = -(-conv_t // np.maximum(arrays_t, 1))
    per_adc = -(-per_array // geo.adcs_per_array)
    busiest = int(per_adc.max()) if per_adc.size else 0
    input_bits = hw.input_bits
    read_bits = demand.rows_used * input_bits
    write_bits = demand.cols_used * input_bits
    # The bus broadcasts each input once; every tile's index registers (or grid position) pick
    # the rows it needs, so the bus carries the layer's used rows, not one copy per tile.
    bus_bits = read_bits
    per_vector = {
        "index_bits": float(demand.index_bits),
        "buffer_accesses": float(Buffer.accesses(hw, read_bits) + Buffer.accesses(hw, write_bits)),
        "bus_bits": float(bus_bits),
        "network_bits": float(write_bits),
    }
    return LayerCost(
        name=demand.name, vectors=demand.vectors, phases=phases(hw), arrays=int(arrays_t.sum()),
        tiles=demand.tiles, per_op=per_op, per_vector=per_vector,
        read_ns=ReramArray.read_ns(hw) if demand.tiles else 0.0,
        adc_ns=Adc.convert_ns(hw, busiest),
        fetch_buffer_ns=Buffer.transfer_ns(hw, read_bits), fetch_bus_ns=Bus.transfer_ns(hw, bus_bits),
        write_network_ns=Router.transfer_ns(hw, write_bits), write_buffer_ns=Buffer.transfer_ns(hw, write_bits),
        macs=demand.macs, nonzeros=demand.nonzeros, adcs=int(arrays_t.sum()) * geo.adcs_per_array,
    )
