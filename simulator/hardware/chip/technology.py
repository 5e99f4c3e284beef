"""Carrying a figure from one CMOS node to another.

Stillmaker & Baas, "Scaling equations for the accurate prediction of CMOS device performance from
180nm to 7nm", Integration 58 (2017), as tabulated in Accelergy's hwcomponents
(`hwcomponents/scaling/techscaling.py`, ENERGY_SCALING): the energy of a node is a V^2 + b V + c at
supply V (0.8 V there by default), and energy moves between nodes by the ratio of the two
polynomials. hwcomponents scales leakage power by the same factor (`tech_node_leak`). Between two
tabulated nodes the polynomial values are interpolated linearly, as there.
"""

from __future__ import annotations

# node (nm) -> (a, b, c), from hwcomponents techscaling.py ENERGY_SCALING (Stillmaker & Baas 2017).
ENERGY_POLYNOMIAL: dict[int, tuple[float, float, float]] = {
    130: (7.171, -6.709, 2.904),
    90: (4.762, -4.781, 2.092),
    65: (3.755, -4.398, 1.975),
    45: (1.103, -0.362, 0.2767),
    32: (0.9559, -0.7823, 0.471),
    20: (0.373, -0.1582, 0.04104),
    16: (0.2958, -0.1241, 0.03024),
    14: (0.2363, -0.09675, 0.02239),
    10: (0.2068, -0.09311, 0.02375),
    7: (0.1776, -0.09097, 0.02447),
}
DEFAULT_VDD = 0.8   # hwcomponents tech_node_energy: "If not provided, 0.8V is used"


def _energy_at(node_nm: float, vdd: float) -> float:
    nodes = sorted(ENERGY_POLYNOMIAL)
    if not nodes[0] <= node_nm <= nodes[-1]:
        raise ValueError(f"technology node {node_nm} nm is outside the scaling table ({nodes[0]}-{nodes[-1]} nm)")

    def value(node: int) -> float:
        a, b, c = ENERGY_POLYNOMIAL[node]
        return a * vdd * vdd + b * vdd + c

    if node_nm in ENERGY_POLYNOMIAL:
        return value(int(node_nm))
    above = min(n for n in nodes if n > node_nm)
    below = max(n for n in nodes if n < node_nm)
    t = (node_nm - below) / (above - below)
    return value(below) * (1 - t) + value(above) * t


def energy_factor(to_nm: float, from_nm: float, vdd: float = DEFAULT_VDD) -> float:
    """Multiply an energy (or, as hwcomponents does, a leakage power) at `from_nm` by this for `to_nm`."""
    return _energy_at(to_nm, vdd) / _energy_at(from_nm, vdd)
