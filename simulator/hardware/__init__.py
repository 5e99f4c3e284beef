"""Stage 6 of design.md: the hardware model (components, placement, event simulation, energy)."""
