"""The wordline driver (DAC) of model `isaac-constant`: ISAAC's driver at every N.

One per wordline, one drive per driven row per input phase. The load-following alternative,
`neurosim-load`, is row_driver.py.

Energy of one drive = the driver's own operating energy + charging the wordline.

- Driver: ISAAC Table I, 8 x 128 1-bit DACs per IMA draw 4 mW; over one 100 ns read each drives
  once: 4 mW x 100 ns / 1024 = 0.3906 pJ per drive, 3.906 uW and 0.166 um^2 (0.00017 mm^2 / 1024)
  each. ISAAC publishes no multi-bit DAC ("we use the power/area model in [59]", no numbers).
  A `bits`-bit driver costs 2**(bits - 1) times the 1-bit one, in energy and in area: Accelergy's
  extrapolation (`hwcomponents-library isaac.py`, class IsaacDAC, resolution scaling pow_base(2));
  MNSIM 2.0's DAC table (`MNSIM/Hardware_Model/DAC.py`, "Data reference: ISAAC") doubles per bit
  as well. It is that source's extrapolation, not a measurement.
- Static power: the operating power split by `leakage_share` (base.py), at one drive per read.
- Wordline: C_WL(N) V^2 with C_WL = 0.2 fF/um x N x pitch (NeuroSim V1.4 SubArray.cpp), V the read
  voltage the driver puts on the line. The driver itself costs the same at every N: ISAAC's figure
  is for its own 128-cell rows. NVSim (SubArray.cpp, wordline length = columns x cell width) and
  NeuroSim V1.4 (SubArray.cpp, the row switch matrix sized to the row's load) size the driver to
  the row instead, so that its energy grows with the columns it drives: row_driver.py.

Latency: the drive settles within the crossbar read (ISAAC Fig. 4b: the input is applied during
the crossbar cycles); the wordline's own RC is reported here and counted in the array's read.
"""

from __future__ import annotations

from dataclasses import dataclass

from simulator.hardware.chip.base import OperatingSplit
from simulator.hardware.chip.wires import Line


@dataclass(frozen=True)
class WordlineDriver:
    """One `bits`-bit wordline driver and the wordline of N cells it charges."""

    bits: int
    one_bit_energy_pj: float
    one_bit_area_um2: float
    drives_per_ns: float          # full activity: one drive per read
    leakage_share: float
    wordline: Line
    read_voltage_v: float

    def bit_scale(self) -> float:
        """Accelergy IsaacDAC pow_base(2): x2 per bit above one."""
        return 2.0 ** (self.bits - 1)

    def operating(self) -> OperatingSplit:
        return OperatingSplit.of(self.one_bit_energy_pj * self.bit_scale(), self.drives_per_ns, self.leakage_share)

    def driver_energy_pj(self) -> float:
        return self.operating().energy_pj

    def wordline_energy_pj(self) -> float:
        return self.wordline.charge_energy_pj(self.read_voltage_v)

    def drive_energy_pj(self) -> float:
        """One drive of one wordline."""
        return self.driver_energy_pj() + self.wordline_energy_pj()

    def latency_ns(self) -> float:
        return self.wordline.delay_ns()

    def area_um2(self) -> float:
        return self.one_bit_area_um2 * self.bit_scale()

    def leakage_mw(self) -> float:
        return self.operating().leakage_mw
