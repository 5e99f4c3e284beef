"""A wordline or bitline as a distributed RC wire of N cells.

Capacitance: NeuroSim V1.4 (`Inference_pytorch/NeuroSIM/SubArray.cpp`, capRow/capCol =
length x 0.2e-15 / 1e-6) takes 0.2 fF per um of wire; the length is N cells x the cell pitch
(lengthRow = numCol x cell width, lengthCol = numRow x cell height). Charging a line from 0 to V
draws C V^2 from the supply.

Resistance: NeuroSim V1.4 `Param.cpp` derives the wire resistance per length from the wire width of
the node, its aspect ratio, resistivity and barrier thickness (unitLengthWireResistance =
Rho / (wireWidth^2 x AR), Rho corrected for the barrier).

Delay: the 50 % step response of a distributed RC line is 0.38 R C (Rabaey, Chandrakasan and
Nikolic, Digital Integrated Circuits, 2nd ed., 2003, Sec. 4.4.4), with R and C the whole line's.
"""

from __future__ import annotations

from dataclasses import dataclass

DISTRIBUTED_RC_50 = 0.38   # Rabaey et al. Sec. 4.4.4: t_50% of a distributed RC line = 0.38 RC


@dataclass(frozen=True)
class Line:
    """One line of `cells` cells at `pitch_um`."""

    cells: int
    pitch_um: float
    capacitance_ff_per_um: float
    resistance_ohm_per_um: float | None   # None: the RC term is neglected

    @property
    def length_um(self) -> float:
        return self.cells * self.pitch_um

    @property
    def capacitance_ff(self) -> float:
        return self.capacitance_ff_per_um * self.length_um

    def charge_energy_pj(self, volts: float) -> float:
        """C V^2 of one charge to `volts` (fF x V^2 = fJ = 1e-3 pJ)."""
        return self.capacitance_ff * volts * volts * 1e-3

    def delay_ns(self) -> float:
        """0.38 R C of the whole line (ohm x fF = 1e-15 s = 1e-6 ns); 0 when no resistance is given."""
        if self.resistance_ohm_per_um is None:
            return 0.0
        return DISTRIBUTED_RC_50 * self.resistance_ohm_per_um * self.length_um * self.capacitance_ff * 1e-6
