"""ChipSpec: everything about one chip built from N x N arrays, resolved from a hardware file.

`chip_spec(hw, N)` keeps resim's geometry rule (a tile keeps the described tile's cell budget:
arrays per tile = rows x cols x tile.arrays / N^2) and builds one object per component
(simulator/hardware/chip/*.py, each with its sources) at that N. The event model counts events; a
ChipSpec says what each event costs, how long the stages take, and what the chip occupies and
leaks.

ADC sharing: one ADC serves `adc.columns_per_adc x adc.arrays_per_adc` bitlines. Below N an array
has ceil(N / bitlines) ADCs; at or above N one ADC serves bitlines // N whole arrays
(`arrays_per_adc`), and a tile has ceil(arrays / arrays_per_adc) of them. A shared polarity pair
(`composition.pair_periphery: shared`, PRIME Sec. III-A1) counts as one array here: its two arrays
have one set of drivers, sample-and-holds and converters between them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal, TypeVar

from simulator.config.hardware import HardwareConfig
from simulator.converters import Converters, resolve_converters
from simulator.hardware.chip.activation import ActivationUnit
from simulator.hardware.chip.adc import Adc
from simulator.hardware.chip.array import Crossbar
from simulator.hardware.chip.base import ChipComponent
from simulator.hardware.chip.buffer import Bus, EdramBuffer
from simulator.hardware.chip.cmos import CmosNode, cmos_node
from simulator.hardware.chip.column_mux import ColumnMux
from simulator.hardware.chip.composition import CompositionTree
from simulator.hardware.chip.dac import WordlineDriver
from simulator.hardware.chip.decoder import Decoder
from simulator.hardware.chip.index_registers import IndexRegisters
from simulator.hardware.chip.network import Network
from simulator.hardware.chip.pooling import MaxPoolUnit
from simulator.hardware.chip.programming import CellProgramming
from simulator.hardware.chip.registers import TileRegisters
from simulator.hardware.chip.row_driver import LoadSizedDriver
from simulator.hardware.chip.sample_hold import HoldCell, SampleHold
from simulator.hardware.chip.shift_add import ShiftAdd

# ISAAC Table I's input register, the source of the shipped per-bit figures: 1024 of its 16 384
# bits are read per 100 ns cycle (8 arrays x 128 rows, one bit each), so a stored bit is read
# 1024 / 16384 / 100 times per ns at full activity.
REGISTER_READS_PER_BIT_PER_NS = 1024 / 16384 / 100.0

# Fields the chip model needs that the v1 model did not (optional in the schema).
REQUIRED = {
    "array": ("read_voltage_v",),
    "dac": ("one_bit_energy_pj", "one_bit_area_um2"),
    "buffer": ("capacity_bytes", "leakage_mw_per_mbit", "leakage_node_nm"),
    "network": ("hop_latency_ns", "link_bits_per_ns", "router_energy_pj_per_bit", "router_area_um2",
                "router_ports", "wire_energy_pj_per_bit_mm"),
}


@dataclass(frozen=True)
class ChipSpec:
    """One chip of `tiles` tiles of N x N arrays, every component resolved at N."""

    name: str
    technology_nm: int
    size: int                      # N: rows = columns of every array
    tiles: int
    arrays_per_tile: int
    cell_bits: int
    input_bits: int
    dac_bits: int
    phases: int                    # ceil(input_bits / dac_bits)
    columns_per_adc: int           # bitlines sharing one ADC (the file's)
    adcs_per_array: int            # 0 when one ADC serves several arrays
    arrays_per_adc: int            # 1 unless one ADC serves several arrays
    adcs_per_tile: int
    pair_shared: bool              # a polarity pair's two arrays share drivers and converters
    conversions_per_read: int      # values one ADC converts per array read
    adc_bits_rule: int             # what ISAAC's rule asks for at N (before the cap)
    adc_bits: int                  # what the chip has
    shift_add_units_per_tile: int
    analog_tree: bool
    execution: Literal["layer-sequential", "pipelined"]
    array: Crossbar
    dac: WordlineDriver | LoadSizedDriver
    sample_hold: SampleHold | HoldCell
    adc: Adc
    shift_add: ShiftAdd
    tree: CompositionTree | None
    index_registers: IndexRegisters
    buffer: EdramBuffer
    bus: Bus
    network: Network
    converters: Converters         # DAC and ADC settings, as the bit-true emulation reads them
    max_pool: MaxPoolUnit
    max_pool_units_per_tile: int
    activation: ActivationUnit
    activation_units_per_tile: int
    input_registers: TileRegisters
    output_registers: TileRegisters
    programming: CellProgramming
    row_decoder: Decoder | None = None     # array.decoder_model none: not modelled
    column_mux: ColumnMux | None = None    # adc.mux_model none: not modelled

    # Geometry ------------------------------------------------------------------------------

    @property
    def arrays(self) -> int:
        return self.tiles * self.arrays_per_tile

    @property
    def adcs(self) -> int:
        return self.tiles * self.adcs_per_tile

    @property
    def arrays_per_port(self) -> int:
        """Arrays one set of drivers, sample-and-holds and converters serves (2: a shared pair)."""
        return 2 if self.pair_shared else 1

    @property
    def adc_group_arrays(self) -> int:
        """Arrays whose conversions one ADC takes when ADCs are shared between arrays (else 1)."""
        return self.arrays_per_adc * self.arrays_per_port if not self.adcs_per_array else self.arrays_per_port

    def drive_energy_pj(self) -> float:
        """One drive of one input port: the driver once and every wordline it charges."""
        return self.dac.drive_energy_pj() + (self.arrays_per_port - 1) * self.dac.wordline_energy_pj()

    # Time ----------------------------------------------------------------------------------

    @property
    def read_ns(self) -> float:
        return self.array.read_latency_ns()

    @property
    def convert_ns(self) -> float:
        """One ADC's conversions of one array read."""
        return self.conversions_per_read * self.adc.convert_latency_ns()

    @property
    def stage_ns(self) -> dict[str, float]:
        """Stages every input phase passes (buffer and network stages depend on the layer's data)."""
        return {"read": self.read_ns, "convert": self.convert_ns}

    @property
    def cycle_ns(self) -> float:
        """The slowest per-phase stage: with sample-and-hold, reads and conversions overlap."""
        return max(self.stage_ns.values())

    # Components ------------------------------------------------------------------------------

    def components(self, index_bits_stored: int = 0) -> list[ChipComponent]:
        """Every component of the chip: energy per event, area and leakage per instance, instances.
        Index registers are sized by the mapping: pass the stored bits."""
        n, arrays = self.size, self.arrays
        if self.array.read_model == "per-cell":
            array_event, array_energy = "array_cell_reads", self.array.cell_energy_pj()
        else:
            array_event, array_energy = "array_conductance_us", self.array.conductance_energy_pj_per_us()
        tree = self.tree
        regs = self.index_registers
        net = self.network
        dec, mux = self.row_decoder, self.column_mux
        return [
            ChipComponent("array", array_event, array_energy, self.array.area_um2(), self.array.leakage_mw(), arrays),
            ChipComponent("bitline", "bitline_charges", self.array.bitline_energy_pj(), 0.0, 0.0, arrays * n),
            ChipComponent("dac", "dac_drives", self.drive_energy_pj(), self.dac.area_um2(), self.dac.leakage_mw(),
                          arrays * n // self.arrays_per_port),
            ChipComponent("sample_hold", "sample_holds", self.sample_hold.sample_energy_pj(),
                          self.sample_hold.area_um2(), self.sample_hold.leakage_mw(),
                          arrays * n // self.arrays_per_port),
            # A parallel read drives every row through the drivers' input registers: no row is decoded.
            ChipComponent("row_decoder", "row_decodes", dec.decode_energy_pj() if dec else 0.0,
                          dec.area_um2() if dec else 0.0, dec.leakage_mw() if dec else 0.0, arrays if dec else 0),
            ChipComponent("column_mux", "mux_selections", mux.select_energy_pj() if mux else 0.0,
                          mux.area_um2() if mux else 0.0, mux.leakage_mw() if mux else 0.0,
                          self.adcs if mux and mux.present else 0),
            ChipComponent("adc", "adc_conversions", self.adc.convert_energy_pj(), self.adc.area_um2(),
                          self.adc.leakage_mw(), self.adcs),
            ChipComponent("shift_add", "shift_adds", self.shift_add.op_energy_pj(), self.shift_add.area_um2(),
                          self.shift_add.leakage_mw(), self.tiles * self.shift_add_units_per_tile),
            ChipComponent("composition_tree", "tree_compositions",
                          tree.compose_energy_pj() if tree else 0.0, tree.area_um2() if tree else 0.0,
                          tree.leakage_mw() if tree else 0.0, arrays if tree else 0),
            ChipComponent("index_registers", "index_bits", regs.bit_read_energy_pj(), regs.area_um2_per_bit(),
                          regs.leakage_mw_per_bit(), index_bits_stored),
            ChipComponent("buffer", "buffer_bytes", self.buffer.byte_energy_pj(), self.buffer.area_um2(),
                          self.buffer.leakage_mw(), self.tiles),
            ChipComponent("bus", "bus_bits", self.bus.bit_energy_pj(), self.bus.area_um2(), self.bus.leakage_mw(),
                          self.tiles),
            ChipComponent("router", "network_bit_hops", net.router_bit_energy_pj(), net.router_area_um2(),
                          net.router_leakage_mw(), net.routers()),
            # Link wires: energy per bit per mm; their area and static power are not modelled.
            ChipComponent("network_wire", "network_bit_mm", net.wire_bit_energy_pj_per_mm(), 0.0, 0.0, 0),
            ChipComponent("max_pool", "pool_comparisons", self.max_pool.compare_energy_pj(),
                          self.max_pool.area_um2(), self.max_pool.leakage_mw(),
                          self.tiles * self.max_pool_units_per_tile),
            ChipComponent("activation", "activations", self.activation.activate_energy_pj(),
                          self.activation.area_um2(), self.activation.leakage_mw(),
                          self.tiles * self.activation_units_per_tile),
            ChipComponent("input_registers", "input_register_bits", self.input_registers.bit_energy_pj(),
                          self.input_registers.area_um2(), self.input_registers.leakage_mw(), self.tiles),
            ChipComponent("output_registers", "output_register_bits", self.output_registers.bit_energy_pj(),
                          self.output_registers.area_um2(), self.output_registers.leakage_mw(), self.tiles),
        ]

    # Totals --------------------------------------------------------------------------------

    @property
    def area_by_component_um2(self) -> dict[str, float]:
        return {c.name: c.area_total_um2 for c in self.components()}

    @property
    def chip_area_um2(self) -> float:
        return sum(self.area_by_component_um2.values())

    @property
    def tile_area_um2(self) -> float:
        """One tile's share of the chip (routers shared by several tiles counted by share)."""
        return self.chip_area_um2 / self.tiles

    @property
    def leakage_by_component_mw(self) -> dict[str, float]:
        return {c.name: c.leakage_total_mw for c in self.components()}

    @property
    def leakage_mw(self) -> float:
        return sum(self.leakage_by_component_mw.values())

    def full_activity_power_mw(self) -> dict[str, float]:
        """Chip power per component with every instance at its full-activity rate (every array
        read each read_ns with all rows and columns, every ADC at its sample rate, buffer and bus
        at their bandwidth, every router port busy): the figure ISAAC's Table I quotes."""
        n, read = self.size, self.read_ns
        per_ns = {
            "array": self.arrays * (n * n * self._cell_energy_full_pj()) / read,
            "bitline": self.arrays * n * self.array.bitline_energy_pj() / read,
            "dac": self.arrays * n // self.arrays_per_port * self.drive_energy_pj() / read,
            "sample_hold": self.arrays * n // self.arrays_per_port * self.sample_hold.sample_energy_pj() / read,
            "row_decoder": 0.0,
            "column_mux": (self.adcs * self.adc.sample_rate_gsps * self.column_mux.select_energy_pj()
                           if self.column_mux else 0.0),
            "adc": self.adcs * self.adc.sample_rate_gsps * self.adc.convert_energy_pj(),
            "shift_add": (self.tiles * self.shift_add_units_per_tile * self.shift_add.ops_per_ns
                          * self.shift_add.op_energy_pj()),
            "composition_tree": (self.arrays * self.tree.compositions_per_ns * self.tree.compose_energy_pj()
                                 if self.tree else 0.0),
            "index_registers": 0.0,
            "buffer": self.tiles * self.buffer.bits_per_ns / 8 * self.buffer.byte_energy_pj(),
            "bus": self.tiles * self.bus.bits_per_ns * self.bus.bit_energy_pj(),
            "router": self.network.routers() * self.network.router_ports * self.network.link_bits_per_ns
            * self.network.router_bit_energy_pj(),
            # Each busy port drives one mesh link (an H-tree's links vary in length; the mesh link stands in).
            "network_wire": self.network.routers() * self.network.router_ports * self.network.link_bits_per_ns
            * self.network.mesh_link_mm() * self.network.wire_bit_energy_pj_per_mm(),
            "max_pool": self.tiles * self.max_pool_units_per_tile * self.max_pool.ops_per_ns
            * self.max_pool.compare_energy_pj(),
            "activation": self.tiles * self.activation_units_per_tile * self.activation.ops_per_ns
            * self.activation.activate_energy_pj(),
            "input_registers": self.tiles * self.input_registers.bits_per_ns * self.input_registers.bit_energy_pj(),
            "output_registers": self.tiles * self.output_registers.bits_per_ns * self.output_registers.bit_energy_pj(),
        }
        leak = self.leakage_by_component_mw
        return {name: value + leak.get(name, 0.0) for name, value in per_ns.items()}

    def _cell_energy_full_pj(self) -> float:
        if self.array.read_model == "per-cell":
            return self.array.cell_energy_pj()
        # Conductance model at full activity: every cell at its lowest resistance (an upper bound).
        return self.array.conductance_energy_pj_per_us() * self.array.on_conductance_us()

    def index_register_area_um2(self, stored_bits: int) -> float:
        return stored_bits * self.index_registers.area_um2_per_bit()


def _missing(hw: HardwareConfig) -> list[str]:
    return [f"{block}.{name}" for block, names in REQUIRED.items() for name in names
            if getattr(getattr(hw, block), name) is None]


T = TypeVar("T")


def _given(value: T | None) -> T:
    """A chip-model field that `_missing` (or the schema's validators) has already checked."""
    if value is None:
        raise AssertionError("checked by _missing or the schema")
    return value


def _adc_sharing(size: int, columns_per_adc: int, arrays_per_tile: int) -> tuple[int, int, int, int]:
    """(ADCs per array, arrays per ADC, ADCs per tile, columns one ADC serves)."""
    if columns_per_adc < size:
        per_array = math.ceil(size / columns_per_adc)
        return per_array, 1, arrays_per_tile * per_array, columns_per_adc
    arrays_per_adc = columns_per_adc // size
    return 0, arrays_per_adc, math.ceil(arrays_per_tile / arrays_per_adc), arrays_per_adc * size


def _crossbar(hw: HardwareConfig, size: int) -> Crossbar:
    a = hw.array
    return Crossbar(
        size=size, pitch_um=a.cell_pitch_um or Crossbar.pitch_from_area(a.area_um2, a.rows, a.cols),
        wire_capacitance_ff_per_um=a.wire_capacitance_ff_per_um,
        wire_resistance_ohm_per_um=a.wire_resistance_ohm_per_um, read_voltage_v=_given(a.read_voltage_v),
        base_read_ns=a.read_latency_ns or hw.cycle_ns, read_model=a.read_energy_model,
        cell_energy_pj_per_cell=a.read_energy_pj_per_cell, read_pulse_ns=a.read_pulse_ns, r_on_ohm=a.r_on_ohm,
        reference_area_um2=a.area_um2, reference_cells=a.rows * a.cols, leakage_per_array_mw=a.leakage_mw,
        latency_model=a.read_latency_model, sense_ns=a.sense_ns, r_off_ohm=a.r_off_ohm)


def _adc(hw: HardwareConfig, bits: int, conversions_per_read: int, read_ns: float) -> Adc:
    fixed = hw.adc.sample_rate_gsps
    rate = conversions_per_read / read_ns if hw.adc.sample_rate_rule == "keep-pace" else _given(fixed)
    return Adc(bits=bits, sample_rate_gsps=rate, model=hw.adc.energy_model, technology_nm=hw.technology_nm,
               leakage_share=hw.leakage_share, energy_table_pj=dict(hw.adc.energy_pj_by_bits),
               area_table_um2=dict(hw.adc.area_um2_by_bits))


def _node(hw: HardwareConfig) -> CmosNode:
    return cmos_node(hw.technology_nm, hw.device_roadmap)


def _driver(hw: HardwareConfig, crossbar: Crossbar) -> WordlineDriver | LoadSizedDriver:
    """The file's wordline driver at N; the isaac-constant one splits its power at one drive per read."""
    d = hw.dac
    if d.model == "neurosim-load":
        # A shared polarity pair's driver carries both arrays' rows: sized to 2N cells.
        c = hw.composition
        ports = 2 if (c.pair_periphery == "shared" and c.polarity == "analog"
                      and hw.array.packing == "across-arrays") else 1
        return LoadSizedDriver(_node(hw), d.bits, crossbar.size * ports, hw.array.r_on_ohm, hw.array.r_off_ohm,
                               crossbar.line(), crossbar.read_voltage_v)
    return WordlineDriver(d.bits, _given(d.one_bit_energy_pj), _given(d.one_bit_area_um2),
                          1.0 / crossbar.read_latency_ns(), hw.leakage_share, crossbar.line(), crossbar.read_voltage_v)


def _sample_hold(hw: HardwareConfig, read_ns: float) -> SampleHold | HoldCell:
    s = hw.sample_hold
    if s.model == "hold-cell":
        return HoldCell(_node(hw), _given(s.hold_power_nw), s.area_um2, _given(hw.array.read_voltage_v))
    return SampleHold(s.energy_pj, s.area_um2, 1.0 / read_ns, hw.leakage_share)


def _buffer(hw: HardwareConfig) -> EdramBuffer:
    b = hw.buffer
    return EdramBuffer(_given(b.capacity_bytes), b.access_bits, b.energy_pj, b.bits_per_ns, b.area_um2,
                       _given(b.leakage_mw_per_mbit), _given(b.leakage_node_nm), hw.technology_nm)


def _network(hw: HardwareConfig, tiles: int, tile_pitch_mm: float) -> Network:
    n = hw.network
    return Network(topology=n.topology, tiles=tiles, tiles_per_router=n.tiles_per_router,
                   tile_pitch_mm=tile_pitch_mm, hop_latency_ns=_given(n.hop_latency_ns),
                   link_bits_per_ns=_given(n.link_bits_per_ns),
                   router_energy_per_bit_pj=_given(n.router_energy_pj_per_bit), router_ports=_given(n.router_ports),
                   router_area_each_um2=_given(n.router_area_um2),
                   wire_energy_per_bit_mm_pj=_given(n.wire_energy_pj_per_bit_mm), leakage_share=hw.leakage_share)


def chip_spec(hw: HardwareConfig, size: int, tiles: int | None = None, *, cell_bits: int | None = None) -> ChipSpec:
    """The chip of `tiles` tiles (default: the file's chip.tiles) built from `size` x `size` arrays.

    `cell_bits` overrides the file's array.cell_bits (a workload may map other cells)."""
    missing = _missing(hw)
    if missing:
        raise ValueError(f"hardware {hw.name!r} lacks what the chip model needs: {', '.join(missing)}")
    if size < 2:
        raise ValueError(f"crossbar size must be at least 2 (got {size})")
    tiles = hw.chip.tiles if tiles is None else tiles
    if tiles < 1:
        raise ValueError(f"a chip needs at least one tile (got {tiles})")
    a, c, share = hw.array, hw.composition, hw.leakage_share
    converters = resolve_converters(hw, size, cell_bits)
    cell_bits = converters.cell_bits
    arrays_per_tile = max(1, a.rows * a.cols * hw.tile.arrays // (size * size))
    # (The schema refuses `shared` without analog pairs across arrays; a chip assembled in code, as
    # the seed 004 waterfall does, gets separate periphery where no such pair exists.)
    pair_shared = (c.pair_periphery == "shared" and c.polarity == "analog" and a.packing == "across-arrays")
    ports_per_tile = arrays_per_tile // 2 if pair_shared else arrays_per_tile
    adcs_per_array, arrays_per_adc, adcs_per_tile, columns_served = _adc_sharing(
        size, hw.adc.bitlines_per_adc, max(1, ports_per_tile))
    analog_tree = converters.analog_tree
    conversions = math.ceil(columns_served / converters.span)
    rule, adc_bits = converters.adc_bits_rule, converters.adc_bits

    crossbar = _crossbar(hw, size)
    if crossbar.latency_model == "rc-sense":
        # The drive's latency does not depend on the driver's activity, which depends on the read.
        crossbar = replace(crossbar, drive_ns=_driver(hw, replace(crossbar, latency_model="fixed")).latency_ns())
    read_ns = crossbar.read_latency_ns()
    adc = _adc(hw, adc_bits, conversions, read_ns)
    conversions_per_ns_tile = adcs_per_tile * adc.sample_rate_gsps
    units = arrays_per_tile * hw.shift_add.units_per_array
    tree = CompositionTree(c.tree_energy_pj, c.tree_area_um2, conversions_per_ns_tile / arrays_per_tile, share,
                           c.composed_bits, cell_bits) if analog_tree else None
    spec = ChipSpec(
        name=hw.name, technology_nm=hw.technology_nm, size=size, tiles=tiles, arrays_per_tile=arrays_per_tile,
        cell_bits=cell_bits, input_bits=hw.input_bits, dac_bits=hw.dac.bits,
        phases=converters.phases, columns_per_adc=hw.adc.columns_per_adc,
        adcs_per_array=adcs_per_array, arrays_per_adc=arrays_per_adc, adcs_per_tile=adcs_per_tile,
        pair_shared=pair_shared,
        conversions_per_read=conversions, adc_bits_rule=rule, adc_bits=adc_bits, shift_add_units_per_tile=units,
        analog_tree=analog_tree, execution=hw.chip.execution, array=crossbar, dac=_driver(hw, crossbar),
        sample_hold=_sample_hold(hw, read_ns),
        adc=adc, shift_add=ShiftAdd(hw.shift_add.energy_pj, hw.shift_add.area_um2, conversions_per_ns_tile / units,
                                    share),
        tree=tree,
        index_registers=IndexRegisters(hw.index_registers.mode, size, hw.index_registers.energy_pj_per_bit,
                                       hw.index_registers.area_um2_per_bit, REGISTER_READS_PER_BIT_PER_NS, share),
        buffer=_buffer(hw), bus=Bus(hw.bus.energy_pj_per_bit, hw.bus.bits_per_ns, hw.bus.area_um2, share),
        network=_network(hw, tiles, tile_pitch_mm=0.0), converters=converters,
        row_decoder=Decoder(_node(hw), math.ceil(math.log2(size)), for_mux=False)
        if hw.array.decoder_model == "neurosim" else None,
        column_mux=ColumnMux(_node(hw), columns_served, size, a.r_on_ohm, a.r_off_ohm,
                             _given(a.read_voltage_v)) if hw.adc.mux_model == "neurosim" else None,
        max_pool=MaxPoolUnit(hw.pooling.power_mw, hw.pooling.ops_per_ns, hw.pooling.area_um2, share),
        max_pool_units_per_tile=hw.pooling.units_per_tile,
        activation=ActivationUnit(hw.activation.power_mw, hw.activation.ops_per_ns, hw.activation.area_um2, share),
        activation_units_per_tile=hw.activation.units_per_tile,
        input_registers=TileRegisters(hw.registers.input_power_mw, hw.registers.input_bits_per_ns,
                                      hw.registers.input_area_um2, share),
        output_registers=TileRegisters(hw.registers.output_power_mw, hw.registers.output_bits_per_ns,
                                       hw.registers.output_area_um2, share),
        programming=CellProgramming(hw.programming.write_voltage_v, hw.programming.write_pulse_ns,
                                    hw.programming.pulses_per_cell, a.r_on_ohm, a.r_off_ohm),
    )
    # A link is one tile pitch (the square root of the tile's area) long; the area does not depend
    # on the link energy, so the network is resolved once the rest of the tile is.
    return replace(spec, network=_network(hw, tiles, math.sqrt(spec.tile_area_um2) * 1e-3))
