"""The N x N ReRAM crossbar: cell reads, bitline charging, read latency, area.

Read energy of one array operation = cell term + bitline term:

- cell term, per cell of a driven row on a read column: either ISAAC's per-cell figure (Table I:
  8 arrays draw 2.4 mW, so 0.3 mW x 100 ns = 30 pJ per 128 x 128 read, 1.831 fJ per cell; carried
  to other N per cell, an assumption no source checks) or V^2 G t summed over the cells at their
  programmed conductances (the `conductance` model);
- bitline term, per read column: C_BL(N) V^2, C_BL = 0.2 fF/um x N x pitch (NeuroSim V1.4
  SubArray.cpp). The driven wordlines' C_WL V^2 is booked at the driver that charges them
  (simulator/hardware/chip/dac.py), so the array does not count it twice.

Read latency, two models (`array.read_latency_model`):

- `fixed`: ISAAC's 100 ns per read (Sec. IV, "a cycle is the time required to perform one crossbar
  read operation, which for most of our analysis is 100 ns") at every N, as MNSIM 2.0 keeps it,
  plus the wordline's and bitline's own wire RC (0.38 r c L^2 each, wires.py), a fraction of a
  picosecond at ISAAC's density. resim's reading before chip model v3.
- `rc-sense`: NeuroSim V1.4's parallel read of a cross-point array (SubArray.cpp,
  SubArray::CalculateLatency, conventionalParallel), the sum of
  the row drive: the driver charging its wordline (row_driver.py, SwitchMatrix::CalculateLatency;
  for the isaac-constant driver, the wordline's 0.38 RC);
  the column settling: tau = C_col x R_avg / (N / 2), colDelay = 0.2 tau ("assume the 15~20%
  voltage drop is enough for sensing"), C_col the bitline's wire capacitance (a cross-point column
  has no access transistors), R_avg the average cell resistance (row_driver.py), half the N
  driven cells conducting; plus the bitline wire's own 0.38 RC;
  the sense time `array.sense_ns` of the file (NeuroSim's voltage-mode multilevel sense amplifier
  takes 1 ns per column, MultilevelSenseAmp::CalculateLatency; resim's shipped files keep ISAAC's
  100 ns read as the sensing time, an assumption, so that only the line terms follow N).
  Seed 004 ("faster time-cycle for smaller crossbar") and NVSim (line RC and sense time) both let
  the read follow N; this model does, by what the lines and the sensing take.

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
    latency_model: Literal["fixed", "rc-sense"] = "fixed"
    sense_ns: float | None = None         # rc-sense
    r_off_ohm: float | None = None        # rc-sense: the average cell of the settling column
    drive_ns: float = 0.0                 # rc-sense: the row driver's drive of its wordline

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

    def settle_ns(self) -> float:
        """NeuroSim colDelay: 0.2 x C_col x R_avg / (N / 2)."""
        if self.r_off_ohm is None:
            raise ValueError("the rc-sense read latency needs the cells' off resistance")
        r_avg = 2.0 / (1.0 / self.r_on_ohm + 1.0 / self.r_off_ohm)
        return 0.2 * self.line().capacitance_ff * 1e-15 * r_avg / (self.size / 2) * 1e9

    def read_latency_ns(self) -> float:
        if self.latency_model == "fixed":
            return self.base_read_ns + self.wire_delay_ns()
        if self.sense_ns is None:
            raise ValueError("the rc-sense read latency needs array.sense_ns")
        return self.drive_ns + self.settle_ns() + self.line().delay_ns() + self.sense_ns

    def area_um2(self) -> float:
        """The described array's area scaled by the cell count."""
        return self.reference_area_um2 * self.size * self.size / self.reference_cells

    def leakage_mw(self) -> float:
        return self.leakage_per_array_mw * self.size * self.size / self.reference_cells
