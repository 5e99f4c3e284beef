"""Accuracy under the device model (issue #24): every placed cell of the real mapping read through
the chip's device (simulator.device) after its stuck-at faults.

Per tile, per (polarity, slice) array, per cell: the level the encoding programs (or the stuck
level, simulator.faults.cells) becomes its target conductance; a healthy cell gets its programming
spread and, after `time_since_programming_s`, its relaxation and drift; every cell gets its read
noise; IR drop attenuates each cell of a placed array by its position (simulator.ir_drop's fast
model); the conductance reads back as a real-valued level against the G_off baseline. The weight
level decodes those levels (shift-and-add, polarity subtraction, offset: all linear); the bit-true
emulation (simulator.faults.bit_true) takes them as the arrays' levels.

Seeding: each effect has a generator of its own, seeded like the stuck-at draw of the same
(workload seed, encoding, rate, run) with a stream index after it (cells: the key, lines: +[1],
programming: +[2], relaxation: +[3], read: +[4]); every generator advances per tile in list order
whatever the scale, so turning one effect on moves no draw of another, and the standard normals
of a draw are the same at every `variation_scale` (common random numbers: accuracy against sigma
is a smooth curve, not a new sample per point).

The normals are float32 from torch's generator (`NormalStream`): a draw of VGG-8's 54 million
cells takes two per cell, and torch's vectorised Box-Muller gives them at about 3.5 ns each
against numpy's float64 ziggurat at 12 ns (bench/RESULTS.md, issue #24). A float32 normal keeps
24 bits, far finer than any spread the device model draws. Two limits, both stated in
docs/faults.md: torch seeds its Mersenne Twister with 32 bits (of the key's SeedSequence, so two
keys share a stream with probability 2**-32 per pair), and its SIMD and scalar kernels (x86-64
with AVX2 against other CPUs) round the same uniforms' transforms differently in the last bits
(measured: at most 2e-6 apart), as the float32 matrix products already do.

Everything is vectorised over a tile's cells; the loops are over tiles and, for IR drop, over the
physical arrays of a tile.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from simulator.config.faults import FaultModel, FaultOptionError
from simulator.device import Device
from simulator.faults.cells import HEALTHY
from simulator.faults.effective import TileDraw, faulty_tiles
from simulator.mapping.encoding import get_encoding
from simulator.mapping.quantize import Quantized
from simulator.mapping.tiles import Tile

# Stream indices appended to a draw's key (the cell generator is the key, stuck lines + [1]).
PROGRAMMING_STREAM, RELAXATION_STREAM, READ_STREAM = 2, 3, 4
# Levels are read in microsiemens; simulator.ir_drop works in siemens and ohms.
SIEMENS_PER_US = 1e-6


@dataclass(frozen=True)
class DeviceEffects:
    """What of the device model a study switches on, on which device, and how the chip lays a
    tile's cells out in its arrays (for IR drop)."""

    device: Device
    variation_scale: float = 0.0
    read_noise: bool = False
    time_s: float = 0.0
    ir_drop: bool = False
    packing: str = "across-arrays"
    size: int = 128

    @classmethod
    def of(cls, model: FaultModel, device: Device | None, packing: str, size: int) -> DeviceEffects | None:
        """The effects `model` asks for on `device`, None when it asks for none; a FaultOptionError
        naming the first option when the chip has no device block."""
        if not model.device_effects:
            return None
        if device is None:
            key = next(name for name, on in (("variation_scale", model.variation_scale > 0),
                                             ("read_noise", model.read_noise),
                                             ("time_since_programming_s", model.time_since_programming_s > 0),
                                             ("ir_drop", model.ir_drop)) if on)
            raise FaultOptionError(key, "the device model needs a hardware file with a device: block "
                                        "(hwconfigs/prime.yaml has one)", getattr(model, key))
        if model.ir_drop and device.line_ohm is None:
            raise FaultOptionError("ir_drop", "IR drop needs the line resistance per cell: the hardware file gives "
                                              "no array.wire_resistance_ohm_per_um", True)
        return cls(device, model.variation_scale, model.read_noise, model.time_since_programming_s, model.ir_drop,
                   packing, size)

    @property
    def programs(self) -> bool:
        """Whether healthy cells stray from their target (programming spread or relaxation)."""
        return self.variation_scale > 0 or (self.time_s > 0 and self.device.relaxes(self.time_s))


class NormalStream:
    """Float32 standard normals from a torch generator seeded by `key` (a draw's key and the
    effect's stream index) through numpy's SeedSequence (module docstring: why torch, and its
    32-bit seed)."""

    def __init__(self, key: list[int]) -> None:
        seed = int(np.random.SeedSequence(key).generate_state(1, np.uint32)[0])
        self._generator = torch.Generator().manual_seed(seed)

    def standard_normal(self, shape: tuple[int, ...]) -> np.ndarray:
        """The next ``prod(shape)`` normals, as a float32 array of `shape` the caller may modify."""
        return torch.randn(shape, generator=self._generator, dtype=torch.float32).numpy()


@dataclass(frozen=True)
class DeviceStreams:
    """The generators of one draw's device effects (None: that effect is off)."""

    programming: NormalStream | None
    relaxation: NormalStream | None
    read: NormalStream | None

    @classmethod
    def of(cls, key: list[int], effects: DeviceEffects) -> DeviceStreams:
        relaxation = effects.time_s > 0 and effects.device.relaxes(effects.time_s)
        return cls(NormalStream(key + [PROGRAMMING_STREAM]) if effects.variation_scale > 0 else None,
                   NormalStream(key + [RELAXATION_STREAM]) if relaxation else None,
                   NormalStream(key + [READ_STREAM]) if effects.read_noise else None)


def read_levels(levels: np.ndarray, codes: np.ndarray, effects: DeviceEffects, streams: DeviceStreams) -> np.ndarray:
    """Real-valued levels ``(P, S, r, c)``, float32, the periphery reads from a tile's cells:
    programmed `levels` (stuck-at faults applied; `codes` says which cells are stuck) through the
    device.

    A cell's target conductance and its spread depend on its level alone, so both come from
    per-level tables (2**cell_bits entries, computed in float64 and rounded once to float32);
    every effect works in place on the draw's own float32 normals, and a tile without stuck cells
    skips the masks. The draw of 54 million cells is bound by its normals
    (bench/peers/aihwkit_compare.py)."""
    device = effects.device
    levels = np.asarray(levels)
    g_table64 = device.conductances.conductance_us(np.arange(device.conductances.top + 1))
    g_table = g_table64.astype(np.float32)
    sigma_table = device.programming_sigma_us(g_table64)
    stuck = np.asarray(codes) != HEALTHY
    stuck_cells = stuck if stuck.any() else None

    # Two gathers by the same index: a platform integer once instead of the cells' uint8 twice
    # (numpy's fancy indexing converts a narrow index on every use).
    index = levels.astype(np.intp)
    g = g_table[index]                           # the target conductances, a fresh array
    if streams.programming is not None:
        e = streams.programming.standard_normal(g.shape)
        if device.distribution == "normal":
            e *= (effects.variation_scale * sigma_table).astype(np.float32)[index]
            e += g
            programmed = np.maximum(e, np.float32(0.0), out=e)
        else:
            programmed = device.programmed_us(g, e, effects.variation_scale).astype(np.float32, copy=False)
        g = _on_healthy(programmed, g, stuck_cells)
    if streams.relaxation is not None:
        e = streams.relaxation.standard_normal(g.shape)
        # per level: state-dependent
        e *= device.relaxation_sigma_us(g_table64, effects.time_s).astype(np.float32)[index]
        e += g
        g = _on_healthy(np.maximum(e, np.float32(0.0), out=e), g, stuck_cells)
    if effects.time_s > 0 and device.drift_nu > 0:
        np.multiply(g, np.float32(device.drift_factor(effects.time_s)), out=g,
                    where=True if stuck_cells is None else ~stuck_cells)
    if streams.read is not None:
        noise = streams.read.standard_normal(g.shape)
        noise *= np.float32(device.read_sigma_us)
        g += noise
    if effects.ir_drop:
        g = _with_ir_drop(g, effects).astype(np.float32, copy=False)
    g -= np.float32(device.conductances.g_off_us)            # Conductances.level_of, in place
    g /= np.float32(device.conductances.step_us)
    return g


def _on_healthy(changed: np.ndarray, before: np.ndarray, stuck: np.ndarray | None) -> np.ndarray:
    """`changed` (a fresh array) where the cell is healthy, `before` where it is stuck."""
    if stuck is not None:
        np.copyto(changed, before, where=stuck)
    return changed


def _with_ir_drop(g: np.ndarray, effects: DeviceEffects) -> np.ndarray:
    """`g` ``(P, S, r, c)`` with every cell attenuated where it sits in its physical array:
    across-arrays packing puts each (polarity, slice) in an array of its own at the tile's
    (row, column); adjacent-columns puts a weight's polarities and slices side by side
    (column j of the tile -> physical columns j P S .. j P S + P S - 1), arrays of N columns."""
    from simulator.ir_drop import attenuation

    line = effects.device.line_resistance_ohm()

    def physical(g_us: np.ndarray) -> np.ndarray:
        # Siemens for simulator.ir_drop; read noise may push a read below 0, never the cell itself.
        return np.maximum(g_us, 0.0) * SIEMENS_PER_US
    p, s, r, c = g.shape
    if effects.packing == "across-arrays":
        flat = g.reshape(p * s, r, c)
        return (flat * attenuation(physical(flat), line)).reshape(g.shape)
    wide = g.transpose(2, 3, 0, 1).reshape(r, c * p * s)
    out = np.empty_like(wide)
    for start in range(0, wide.shape[1], effects.size):
        block = wide[:, start:start + effects.size]
        out[:, start:start + effects.size] = block * attenuation(physical(block), line)
    return out.reshape(r, c, p, s).transpose(2, 3, 0, 1)


def decode_levels(levels: np.ndarray, encoding: str, weight_bits: int, cell_bits: int) -> np.ndarray:
    """The weights real-valued `levels` ``(P, S, ...)`` stand for: polarity subtraction, slices
    shifted and added, the offset encoding's constant removed (`encode`'s inverse, linear)."""
    enc = get_encoding(encoding)
    signs = np.array([1.0, -1.0] if enc.polarities == 2 else [1.0])
    shifts = 2.0 ** (cell_bits * np.arange(levels.shape[1]))
    return np.tensordot(signs, np.tensordot(shifts, levels, axes=([0], [1])), axes=([0], [0])) \
        - enc.input_offset(weight_bits)


def device_tile_levels(W: np.ndarray, tiles: list[Tile], draw: TileDraw, effects: DeviceEffects,
                       streams: DeviceStreams) -> tuple[Quantized, list[np.ndarray]]:
    """`effective.faulty_levels` through the device: the same stuck-at draws (the same generators
    advanced the same way), then every tile's cells read as real-valued levels (`read_levels`)."""
    quantized, drawn = faulty_tiles(W, tiles, draw)
    return quantized, [read_levels(levels, codes, effects, streams) for levels, codes in drawn]


def decoded_matrix(shape: tuple[int, int], tiles: list[Tile], levels: list[np.ndarray], encoding: str,
                   weight_bits: int, cell_bits: int) -> np.ndarray:
    """Real-valued integer-scale weights of one matrix: every tile's decoded levels added into
    the positions it covers (a position no tile covers has no cells: exactly 0)."""
    total = np.zeros(shape, dtype=np.float64)
    for tile, tile_levels in zip(tiles, levels):
        total[np.ix_(tile.rows, tile.cols)] += decode_levels(tile_levels, encoding, weight_bits, cell_bits)
    return total
