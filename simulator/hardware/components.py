"""The component library: one class per hardware component (Accelergy hwcomponents style).

Each component knows the energy of its action (per event, pJ), its area and static power per
instance, and, where it takes time, the latency of its action. Every figure comes from the hardware
description, whose `source:` entries cite the paper and table or the derivation; the crossbar size
N of a study may differ from the file's array size, in which case per-array figures scale with the
cell count (documented per class). The events themselves are counted in
simulator.hardware.costs; energy = events x energy per event + static power x time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from simulator.config.hardware import HardwareConfig

# Event names, one per action of one component; the layer cost tables and reports use these keys.
EVENTS = ("array_cell_reads", "array_conductance_us", "dac_drives", "sample_holds", "adc_conversions",
          "shift_adds", "tree_compositions", "index_bits", "buffer_accesses", "bus_bits", "network_bits")


@dataclass(frozen=True)
class Component:
    """Energy per event, area and static power per instance, instances on the chip."""

    name: str
    event: str            # the event key (EVENTS) whose count drives this component's energy
    energy_pj: float      # per event
    area_um2: float       # per instance
    leakage_mw: float     # per instance
    instances: int        # on the chip

    def energy(self, events: float) -> float:
        """Dynamic energy (pJ) of `events` events."""
        return events * self.energy_pj

    def static_energy(self, seconds: float) -> float:
        """Static energy (pJ) of every instance on the chip over `seconds`: mW x s = mJ = 1e9 pJ."""
        return self.leakage_mw * self.instances * seconds * 1e9

    @property
    def area_total_um2(self) -> float:
        return self.area_um2 * self.instances


@dataclass(frozen=True)
class Geometry:
    """The chip at crossbar size N: arrays of N x N, the file's cell budget per tile kept."""

    size: int
    tiles: int
    arrays_per_tile: int
    adcs_per_array: int

    @property
    def arrays(self) -> int:
        return self.tiles * self.arrays_per_tile


def geometry(hw: HardwareConfig, size: int) -> Geometry:
    """Arrays of N x N: arrays per tile scale so a tile keeps the cells of the described tile
    (seed 004's crossbar-size sweep compares chips of one cell budget); one ADC per
    `columns_per_adc` bitlines, at least one per array."""
    cells = hw.array.rows * hw.array.cols * hw.tile.arrays
    per_tile = max(1, cells // (size * size))
    return Geometry(size, hw.chip.tiles, per_tile, max(1, math.ceil(size / hw.adc.columns_per_adc)))


class ReramArray(Component):
    """An N x N ReRAM crossbar. Energy per cell of a driven row per read (per-cell model, ISAAC's
    array power spread over its cells), or V^2 G t per microsiemens of driven cells (conductance
    model). Area scales with the cell count from the described array."""

    @classmethod
    def build(cls, hw: HardwareConfig, geo: Geometry) -> "ReramArray":
        a = hw.array
        scale = geo.size * geo.size / (a.rows * a.cols)
        if a.read_energy_model == "per-cell":
            event, energy = "array_cell_reads", a.read_energy_pj_per_cell
        else:
            # V^2 [V^2] x 1 uS x t [ns] = 1e-6 W x 1e-9 s x V^2 = V^2 fJ = V^2 * 1e-3 pJ
            event, energy = "array_conductance_us", a.read_voltage_v ** 2 * a.read_pulse_ns * 1e-3
        return cls("array", event, energy, a.area_um2 * scale, a.leakage_mw * scale, geo.arrays)

    @staticmethod
    def read_ns(hw: HardwareConfig) -> float:
        """One read: drive, settle and sample in one crossbar cycle (ISAAC Sec. 6: 100 ns)."""
        return hw.cycle_ns


class Dac(Component):
    """One wordline driver per row; one drive per row per input phase. A drive charges the
    wordline (C grows with its N cells, E = C V^2), so the file's energy, given for a wordline of
    `reference_columns` cells, scales by N / reference_columns."""

    @classmethod
    def build(cls, hw: HardwareConfig, geo: Geometry) -> "Dac":
        d = hw.dac
        energy = d.energy_pj * geo.size / d.reference_columns
        return cls("dac", "dac_drives", energy, d.area_um2, d.leakage_mw, geo.arrays * geo.size)


class SampleHold(Component):
    """One per bitline; one sample per read column per phase."""

    @classmethod
    def build(cls, hw: HardwareConfig, geo: Geometry) -> "SampleHold":
        s = hw.sample_hold
        return cls("sample_hold", "sample_holds", s.energy_pj, s.area_um2, s.leakage_mw, geo.arrays * geo.size)


class Adc(Component):
    """Converters shared by `columns_per_adc` bitlines; energy and area from the file's resolution
    table at the ADC's bits, never a per-bit formula."""

    @classmethod
    def build(cls, hw: HardwareConfig, geo: Geometry) -> "Adc":
        a = hw.adc
        return cls("adc", "adc_conversions", a.energy_pj, a.area_um2, a.leakage_mw, geo.arrays * geo.adcs_per_array)

    @staticmethod
    def convert_ns(hw: HardwareConfig, conversions: int) -> float:
        """Time for one ADC to convert `conversions` values in turn."""
        return conversions / hw.adc.sample_rate_gsps


class ShiftAdd(Component):
    """Digital shift-and-add: one operation per converted value."""

    @classmethod
    def build(cls, hw: HardwareConfig, geo: Geometry) -> "ShiftAdd":
        s = hw.shift_add
        return cls("shift_add", "shift_adds", s.energy_pj, s.area_um2, s.leakage_mw, geo.arrays * s.units_per_array)


class CompositionTree(Component):
    """Seed 004 section V's analog bit-composition tree, one per array when the design has it."""

    @classmethod
    def build(cls, hw: HardwareConfig, geo: Geometry) -> "CompositionTree":
        c = hw.composition
        instances = geo.arrays if c.slices == "analog-tree" else 0
        return cls("composition_tree", "tree_compositions", c.tree_energy_pj, c.tree_area_um2, c.tree_leakage_mw,
                   instances)


class IndexRegisterFile(Component):
    """Row and column index registers of reordered tiles, sized to the mapping (stored bits)."""

    @classmethod
    def build(cls, hw: HardwareConfig, stored_bits: int) -> "IndexRegisterFile":
        r = hw.index_registers
        return cls("index_registers", "index_bits", r.energy_pj_per_bit, r.area_um2_per_bit, 0.0, stored_bits)


class Buffer(Component):
    """The tile's eDRAM activation buffer: `access_bits` per access."""

    @classmethod
    def build(cls, hw: HardwareConfig, geo: Geometry) -> "Buffer":
        b = hw.buffer
        return cls("buffer", "buffer_accesses", b.energy_pj, b.area_um2, b.leakage_mw, geo.tiles)

    @staticmethod
    def accesses(hw: HardwareConfig, bits: int) -> int:
        return math.ceil(bits / hw.buffer.access_bits)

    @staticmethod
    def transfer_ns(hw: HardwareConfig, bits: int) -> float:
        return bits / hw.buffer.bits_per_ns


class Bus(Component):
    """The tile bus from the buffer to the arrays (index registers route each tile's rows)."""

    @classmethod
    def build(cls, hw: HardwareConfig, geo: Geometry) -> "Bus":
        b = hw.bus
        return cls("bus", "bus_bits", b.energy_pj_per_bit, b.area_um2, b.leakage_mw, geo.tiles)

    @staticmethod
    def transfer_ns(hw: HardwareConfig, bits: int) -> float:
        return bits / hw.bus.bits_per_ns


class Router(Component):
    """The chip network: outputs of a layer travel to the tile of the next."""

    @classmethod
    def build(cls, hw: HardwareConfig, geo: Geometry) -> "Router":
        n = hw.network
        return cls("network", "network_bits", n.energy_pj_per_bit, n.area_um2, n.leakage_mw, geo.tiles)

    @staticmethod
    def transfer_ns(hw: HardwareConfig, bits: int) -> float:
        return bits / hw.network.bits_per_ns


def chip_components(hw: HardwareConfig, geo: Geometry, index_bits_stored: int) -> list[Component]:
    """Every component of the chip at this geometry."""
    return [ReramArray.build(hw, geo), Dac.build(hw, geo), SampleHold.build(hw, geo), Adc.build(hw, geo),
            ShiftAdd.build(hw, geo), CompositionTree.build(hw, geo), IndexRegisterFile.build(hw, index_bits_stored),
            Buffer.build(hw, geo), Bus.build(hw, geo), Router.build(hw, geo)]
