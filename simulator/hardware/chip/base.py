"""What every chip component shares: the split of an operating power into leakage and energy per action.

Most sources give one power per component, measured or estimated at full activity (ISAAC Table I;
Accelergy's per-action energies are that power over an assumed action rate), and no leakage. A
component's static power then has to be carved out of that figure. hwcomponents-adc (Accelergy,
`hwcomponents_adc/main.py`) does it for ADCs with the comment "Assume leakage is 20% of the total
energy": `leak_power = energy x throughput x 0.2` and the `convert` action costs `0.8 x energy`. resim
applies the same split, with the share from the hardware file's `leakage_share`, to every component
whose source gives only an operating power, so that at full activity the pair adds back up to the
cited power.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OperatingSplit:
    """One operating energy split into a dynamic part per action and a static power per instance."""

    energy_pj: float   # per action, dynamic part only
    leakage_mw: float  # per instance

    @classmethod
    def of(cls, energy_pj: float, actions_per_ns: float, share: float) -> OperatingSplit:
        """`energy_pj` per action at `actions_per_ns` per instance (full activity): pJ/ns = mW."""
        return cls((1.0 - share) * energy_pj, share * energy_pj * actions_per_ns)


@dataclass(frozen=True)
class ChipComponent:
    """One row of the chip's component list: what an event costs, what an instance occupies and leaks."""

    name: str
    event: str          # key of the event whose count drives this row's dynamic energy
    energy_pj: float    # per event
    area_um2: float     # per instance
    leakage_mw: float   # per instance
    instances: int      # on the chip

    @property
    def area_total_um2(self) -> float:
        return self.area_um2 * self.instances

    @property
    def leakage_total_mw(self) -> float:
        return self.leakage_mw * self.instances

    def static_energy_pj(self, seconds: float) -> float:
        """Static energy of every instance over `seconds` (mW x s = mJ = 1e9 pJ)."""
        return self.leakage_total_mw * seconds * 1e9
