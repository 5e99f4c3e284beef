"""The ReRAM cell of one chip as a device, resolved once from its hardware file (issue #24).

The accuracy emulation (simulator.faults.device_draws) and the array's read energy
(simulator.hardware.chip_model, `array.read_energy_model: conductance`) both read a cell's
conductance through this module, so a level means the same conductance on both sides.

Conductances (microsiemens). A cell of ``b`` bits has ``L + 1 = 2**b`` levels evenly spaced between
G_off = 1 / array.r_off_ohm (level 0) and G_on = 1 / array.r_on_ohm (level L):
``G(l) = G_off + l (G_on - G_off) / L``. The periphery reads a column against the G_off baseline
(a reference column, or the differential pair's other column), so a conductance G reads as the
level ``(G - G_off) / step``; with no device effect that is the programmed level exactly.

Device effects (`device:` block of the hardware file; Wan et al., Nature 608 (2022), via IBM
aihwkit's ReRamWan2022NoiseModel; NeuroSim V1.4's `vari` and `Retention` are the same shapes):

- programming: the programmed conductance strays from its target G by a state-dependent spread
  ``sigma(G) = G_on sum_k c_k (G / G_on)**k`` (normal: ``G + s sigma e``; lognormal:
  ``G exp(s sigma / G e)``, ``s`` the study's `variation_scale`), clipped at 0;
- relaxation: ``t`` seconds after programming the spread has grown to ``sigma(G, t)``; the growth
  ``sqrt(sigma(G, t)**2 - sigma(G)**2)`` is a spread of its own (the cells relax independently of
  how they were programmed). ``sigma(G, t)`` is state-dependent, a polynomial of G per published
  time (Wan's fits at 1 day and 2 days, as aihwkit keeps them), linear in ln t between t0 (the
  programming polynomial) and those times and past the last one (assumptions: Wan publishes no
  time between or after); or, in the older form, ``sigma(G) (t / t0)**nu_r`` with one exponent
  for every conductance;
- drift of the mean: ``G (t / t0)**(-nu_d)`` (NeuroSim V1.4 wage_quantizer.Retention's power law);
- read noise: ``+ read_noise_sigma G_on e`` per read;
- line resistance per cell segment: array.wire_resistance_ohm_per_um x the cell pitch (the file's
  cell_pitch_um, else sqrt(area_um2 / (rows x cols)) as the chip model derives it).

Stuck cells (simulator.faults.cells) sit at G_off or G_on unprogrammed: no programming spread, no
relaxation, no drift; read noise and IR drop reach them as any cell.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:
    from simulator.config.hardware import HardwareConfig


class NoDeviceModelError(ValueError):
    """The hardware file has no `device:` block (or no wire resistance for IR drop)."""


@dataclass(frozen=True)
class Conductances:
    """The levels of a cell in conductance: ``G(l) = G_off + l step``, microsiemens."""

    g_on_us: float
    g_off_us: float
    cell_bits: int

    @classmethod
    def of_resistances(cls, r_on_ohm: float, r_off_ohm: float, cell_bits: int) -> Conductances:
        return cls(1e6 / r_on_ohm, 1e6 / r_off_ohm, cell_bits)

    @property
    def top(self) -> int:
        """L = 2**cell_bits - 1, the highest level."""
        return 2**self.cell_bits - 1

    @property
    def step_us(self) -> float:
        return (self.g_on_us - self.g_off_us) / self.top

    def conductance_us(self, levels: np.ndarray) -> np.ndarray:
        """The programmed (target) conductance of every level in `levels`."""
        return self.g_off_us + self.step_us * np.asarray(levels, dtype=np.float64)

    def level_of(self, g_us: np.ndarray) -> np.ndarray:
        """The level a read conductance stands for, against the G_off baseline (real-valued)."""
        return (np.asarray(g_us, dtype=np.float64) - self.g_off_us) / self.step_us

    def summed_us(self, cells: float, level_sum: float) -> float:
        """Total conductance of `cells` cells whose levels add up to `level_sum`: what V^2 G t
        charges one read of them (the conductance read-energy model)."""
        return cells * self.g_off_us + self.step_us * level_sum


@dataclass(frozen=True)
class Device:
    """One chip's cell as a device at one cell width (module docstring)."""

    conductances: Conductances
    sigma_by_power: tuple[tuple[int, float], ...]   # (k, c_k): sigma / G_on = sum c_k (G / G_on)**k
    distribution: Literal["normal", "lognormal"]
    read_noise_sigma: float                          # of G_on
    drift_nu: float
    relaxation_nu: float
    t0_s: float
    line_ohm: float | None                           # wire resistance per cell segment; None: not given
    # (t_s, ((k, c_k), ...)) ascending in t, all after t0: the spread polynomial at each time; empty:
    # relaxation by the one exponent relaxation_nu.
    relaxed_sigma_by_time: tuple[tuple[float, tuple[tuple[int, float], ...]], ...] = ()

    def _polynomial_us(self, by_power: tuple[tuple[int, float], ...], g_us: np.ndarray) -> np.ndarray:
        g_on = self.conductances.g_on_us
        x = np.asarray(g_us, dtype=np.float64) / g_on
        total = np.zeros_like(x)
        for k, c in by_power:
            total += c * x**k
        return np.maximum(total, 0.0) * g_on

    def programming_sigma_us(self, g_us: np.ndarray) -> np.ndarray:
        """State-dependent programming spread at target conductances `g_us` (>= 0)."""
        return self._polynomial_us(self.sigma_by_power, g_us)

    def relaxed_sigma_us(self, g_us: np.ndarray, t_s: float) -> np.ndarray:
        """The whole spread (programming and relaxation) at conductances `g_us`, `t_s` after
        programming: the programming spread until t0; then the per-time polynomials, linear in
        ln t between neighbouring times (t0's being the programming spread) and the last
        interval's line continued past the last time, floored at 0; or, without them,
        ``sigma(G) (t / t0)**nu_r``."""
        sigma0 = self.programming_sigma_us(g_us)
        if t_s <= self.t0_s:
            return sigma0
        if not self.relaxed_sigma_by_time:
            return sigma0 * (t_s / self.t0_s) ** self.relaxation_nu
        times = [self.t0_s] + [t for t, _ in self.relaxed_sigma_by_time]
        sigmas = [sigma0] + [self._polynomial_us(p, g_us) for _, p in self.relaxed_sigma_by_time]
        i = next((j for j in range(1, len(times)) if t_s <= times[j]), len(times) - 1)
        share = math.log(t_s / times[i - 1]) / math.log(times[i] / times[i - 1])
        return np.maximum(sigmas[i - 1] + share * (sigmas[i] - sigmas[i - 1]), 0.0)

    def relaxation_sigma_us(self, g_us: np.ndarray, t_s: float) -> np.ndarray:
        """The spread relaxation adds at conductances `g_us` by `t_s` after programming, beside the
        programming spread: ``sqrt(max(sigma(G, t)**2 - sigma(G)**2, 0))``."""
        if not self.relaxed_sigma_by_time:
            # The one-exponent form as it always was (the same floats).
            return self.programming_sigma_us(g_us) * self.relaxation_factor(t_s)
        sigma0 = self.programming_sigma_us(g_us)
        return np.sqrt(np.maximum(self.relaxed_sigma_us(g_us, t_s) ** 2 - sigma0**2, 0.0))

    def relaxes(self, t_s: float) -> bool:
        """Whether any level of the cell has relaxed by `t_s` after programming."""
        if t_s <= self.t0_s:
            return False
        if not self.relaxed_sigma_by_time:
            return self.relaxation_factor(t_s) > 0
        levels = self.conductances.conductance_us(np.arange(self.conductances.top + 1))
        return bool((self.relaxation_sigma_us(levels, t_s) > 0).any())

    def programmed_us(self, g_us: np.ndarray, e: np.ndarray, scale: float) -> np.ndarray:
        """Programmed conductances of targets `g_us` with standard normals `e`, spread x `scale`."""
        sigma = scale * self.programming_sigma_us(g_us)
        if self.distribution == "lognormal":
            relative = np.divide(sigma, g_us, out=np.zeros_like(sigma), where=g_us > 0)
            return g_us * np.exp(relative * e)
        return np.maximum(g_us + sigma * e, 0.0)

    def relaxation_factor(self, t_s: float) -> float:
        """sqrt((t / t0)**(2 nu_r) - 1): the one-exponent form's relaxation spread in units of the
        programming spread (0 when the device relaxes by its per-time polynomials instead)."""
        if self.relaxed_sigma_by_time:
            return 0.0
        ratio = max(t_s, self.t0_s) / self.t0_s
        return math.sqrt(max(ratio ** (2 * self.relaxation_nu) - 1.0, 0.0))

    def drift_factor(self, t_s: float) -> float:
        """(t / t0)**(-nu_d) (1 before t0: nothing has drifted at the first read)."""
        return float((max(t_s, self.t0_s) / self.t0_s) ** (-self.drift_nu))

    @property
    def read_sigma_us(self) -> float:
        return self.read_noise_sigma * self.conductances.g_on_us

    def line_resistance_ohm(self) -> float:
        """The wire resistance of one cell segment; NoDeviceModelError when the file gives none."""
        if self.line_ohm is None:
            raise NoDeviceModelError("IR drop needs the line resistance per cell: the hardware file gives no "
                                     "array.wire_resistance_ohm_per_um")
        return self.line_ohm


def nominal_conductances(hw: HardwareConfig, cell_bits: int | None = None) -> Conductances:
    """The level conductances of `hw`'s cells (the array's R_on / R_off) at `cell_bits` (default
    the file's array.cell_bits): all the energy side needs, with or without a `device:` block."""
    a = hw.array
    return Conductances.of_resistances(a.r_on_ohm, a.r_off_ohm, cell_bits or a.cell_bits)


def cell_pitch_um(hw: HardwareConfig) -> float:
    """The file's cell pitch, else sqrt(area_um2 / (rows x cols)) (the chip model's derivation)."""
    a = hw.array
    return a.cell_pitch_um if a.cell_pitch_um is not None else math.sqrt(a.area_um2 / (a.rows * a.cols))


def resolve_device(hw: HardwareConfig, cell_bits: int | None = None) -> Device:
    """The device of `hw` at `cell_bits` (default the file's array.cell_bits); NoDeviceModelError
    naming the missing block when the file has no `device:` section."""
    d = hw.device
    if d is None:
        raise NoDeviceModelError(f"hardware {hw.name!r} has no device: block (programming spread, read noise, "
                                 "drift); hwconfigs/prime.yaml shows one")
    wire = hw.array.wire_resistance_ohm_per_um
    return Device(
        conductances=nominal_conductances(hw, cell_bits),
        sigma_by_power=tuple(sorted((int(k), float(c)) for k, c in d.programming_sigma_by_power.items())),
        distribution=d.programming_distribution, read_noise_sigma=d.read_noise_sigma, drift_nu=d.drift_nu,
        relaxation_nu=d.relaxation_nu or 0.0, t0_s=d.drift_t0_s,
        line_ohm=None if wire is None else wire * cell_pitch_um(hw),
        relaxed_sigma_by_time=tuple(
            (float(t), tuple(sorted((int(k), float(c)) for k, c in by_power.items())))
            for t, by_power in sorted((d.relaxation_sigma_by_power or {}).items())))
