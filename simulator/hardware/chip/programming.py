"""Weight programming: writing every placed cell once, before the chip runs any inference.

MNSIM 2.0 (thu-nics/MNSIM-2.0 @ ca39ccb), its device write model: `Device.py`
calculate_device_write_power gives a cell V^2 / R with V the mean of SimConfig.ini's Write_Voltage
(0 and 3 V: 1.5 V) and R = sqrt(R_on x R_off); `Crossbar.py` writes the cells of one row at once
(calculate_xbar_write_power: columns x cell power; calculate_xbar_write_energy: that power x the
device write latency, Write_Latency = 10 ns) and the rows in turn (calculate_xbar_write_latency:
write latency x rows written). resim takes the voltage, pulse and pulses per cell from the hardware
file and R_on / R_off from its array block:

    energy per cell = pulses x V^2 / sqrt(R_on R_off) x pulse        (W x ns = 1e3 pJ)
    time per array  = rows written x pulses x pulse

Chip time (chip_model.programming_time_ns), an assumption: a tile writes one array at a time (its
write drivers shared by its arrays, as its bus is) and the tiles write at once, so the time is the
most rows any tile holds x pulses x pulse. One row at a time per tile keeps the write current to
one row's cells (a 256-cell row at 1.5 V over 4.47 kOhm: 0.13 W). Moving the weights onto the
chip is not counted. Reported apart from the per-inference figures: the network is loaded once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class CellProgramming:
    write_voltage_v: float
    write_pulse_ns: float
    pulses_per_cell: int
    r_on_ohm: float
    r_off_ohm: float

    def cell_energy_pj(self) -> float:
        """pulses x V^2 / R (W) x pulse (ns); W x ns = 1e3 pJ (shipped: 1.5^2 / 4472 ohm x 10 ns = 5.03 pJ)."""
        resistance = math.sqrt(self.r_on_ohm * self.r_off_ohm)
        return self.pulses_per_cell * self.write_voltage_v ** 2 / resistance * self.write_pulse_ns * 1e3

    def array_time_ns(self, rows: int) -> float:
        """Rows written in turn, the cells of a row at once."""
        return rows * self.pulses_per_cell * self.write_pulse_ns
