"""Stage 5 of the data flow (design.md): stuck-at cell faults and the effective weights they give."""

from simulator.faults.cells import FaultRates, apply_faults, draw_cell_faults
from simulator.faults.effective import TileDraw, faulty_matrix

__all__ = ["FaultRates", "TileDraw", "apply_faults", "draw_cell_faults", "faulty_matrix"]
