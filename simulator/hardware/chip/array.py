"""The N x N ReRAM crossbar: cell reads, bitline charging, read latency, area.

Read energy of one array operation = cell term + bitline term:

- cell term, per cell of a driven row on a read column: either ISAAC's per-cell figure (Table I:
  8 arrays draw 2.4 mW, so 0.3 mW x 100 ns = 30 pJ per 128 x 128 read, 1.831 fJ per cell; carried
  to other N per cell, an assumption no source checks) or V^2 G t summed over the cells at their
  programmed conductances (the `conductance` model);
- bitline term, per read column: C_BL(N) V^2, C_BL = 0.2 fF/um x N x pitch (NeuroSim V1.4
  SubArray.cpp). The driven wordlines' C_WL V^2 is booked at the driver that charges them
  (simulator/hardware/chip/dac.py), so the array does not count it twice.

Read latency: ISAAC's 100 ns per read (Sec. IV, "a cycle is the time required to perform one
crossbar read operation, which for most of our analysis is 100 ns") does not change with N.
NeuroSim's bitline model shows why to first order: with all N rows driven, the column settles with
tau = C_col x R_cell / (N/2) (SubArray.cpp, colDelay = 0.2 tau), and C_col grows with N while the
parallel cell resistance falls as 1/N. What does grow with N is the wire's own RC (0.38 r c L^2 per
line, wires.py), added for the wordline and the bitline when the file gives a wire resistance; at
ISAAC's density it is a fraction of a picosecond (see docs/hardware.md, "Component library").

Leakage: ReRAM cells are non-volatile and draw nothing when not read; NeuroSim V1.4 books no cell
leakage for RRAM (its leakage is the periphery's, which resim books at the driver, sample-and-hold
and ADC). The file's `array.leakage_mw` (0 in the shipped files) is used as is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from simulator.hardware.chip.wires import Line


@dataclass(frozen=True)
class Crossbar:
    """One N x N array."""

    size: int
    pitch_um: float
    wire_capacitance_ff_per_um: float
    wire_resistance_ohm_per_um: float | None
    read_voltage_v: float
    base_read_ns: float
    read_model: Literal["per-cell", "conductance"]
    cell_energy_pj_per_cell: float       # per-cell model
    read_pulse_ns: float | None          # conductance model
    r_on_ohm: float
    reference_area_um2: float
    reference_cells: int
    leakage_per_array_mw: float

    @staticmethod
    def pitch_from_area(area_um2: float, rows: int, cols: int) -> float:
        """Cell pitch of a square cell from a cited array area: sqrt(area / cells)."""
        return math.sqrt(area_um2 / (rows * cols))

    def line(self) -> Line:
        """A wordline or bitline: N cells at the pitch (square cells: both are alike)."""
        return Line(self.size, self.pitch_um, self.wire_capacitance_ff_per_um, self.wire_resistance_ohm_per_um)

    def cell_energy_pj(self) -> float:
        """Per-cell model: energy of one cell of a driven row on a read column."""
        return self.cell_energy_pj_per_cell

    def conductance_energy_pj_per_us(self) -> float:
        """Conductance model: V^2 t per microsiemens read (V^2 x 1e-6 S x t ns = V^2 t fJ = 1e-3 pJ)."""
        if self.read_pulse_ns is None:
            raise ValueError("the conductance read model needs array.read_pulse_ns")
        return self.read_voltage_v ** 2 * self.read_pulse_ns * 1e-3

    def on_conductance_us(self) -> float:
        """Conductance of a cell at its lowest resistance, in microsiemens."""
        return 1e6 / self.r_on_ohm

    def bitline_energy_pj(self) -> float:
        """Charging one read bitline to the read voltage: C_BL(N) V^2."""
        return self.line().charge_energy_pj(self.read_voltage_v)

    def read_energy_pj(self, rows: int, cols: int) -> float:
        """Per-cell model: one read with `rows` driven rows and `cols` read columns (cells + bitlines)."""
        return rows * cols * self.cell_energy_pj() + cols * self.bitline_energy_pj()

    def wire_delay_ns(self) -> float:
        """RC settling of the wordline and of the bitline, one after the other."""
        return 2 * self.line().delay_ns()

    def read_latency_ns(self) -> float:
        return self.base_read_ns + self.wire_delay_ns()

    def area_um2(self) -> float:
        """The described array's area scaled by the cell count."""
        return self.reference_area_um2 * self.size * self.size / self.reference_cells

    def leakage_mw(self) -> float:
        return self.leakage_per_array_mw * self.size * self.size / self.reference_cells
