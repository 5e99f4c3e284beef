"""Bit-true crossbar emulation: Conv2d/Linear layers computed through their mapped tiles with the
DAC input phases and the ADC quantization of every converted column (design.md, "The hardware
model"; issue #6).

The weight-level fault model (simulator/faults/effective.py) hands the network effective weights;
that is exact only for an ideal periphery. Here every product goes the way the hardware takes it:

1. **Inputs.** A layer's input is quantized to ``input_bits`` unsigned codes
   ``round(|x| / s)``, clipped at ``2**input_bits - 1``. The scale ``s`` is fixed per layer by a
   calibration pass of the fault-free network (largest ``|x|`` over the calibration images /
   top code), so it is the same for every fault draw and every batch. A **signed** input (the
   first layer of a network fed normalised images) is split into its positive and negative parts,
   each driven as unsigned codes in a pass of its own, and the two results subtract digitally:
   the two-column idea of seed 003 IV.D applied on the input side. It costs a second pass only
   where a negative input occurs; a part that is all zero contributes exactly zero, so the result
   never depends on whether the pass ran.
2. **DAC phases.** Codes enter bit-serially, ``dac.bits`` per phase, least significant first:
   ``ceil(input_bits / dac.bits)`` phases (design.md; PRIME's 6-bit inputs in two 3-bit halves).
3. **Arrays.** Per tile, per polarity array and per bit slice, the column partial sums of the
   tile's rows are integers: ``sum_r x_r * level_rc`` with the tile's programmed levels, stuck-at
   faults included (``effective.faulty_levels``).
4. **Analog composition before the ADC** (hardware ``composition``): ``slices: analog-tree``
   weights the slice columns by ``2**(k*cell_bits)`` before one conversion (seed 004, section V,
   Fig. 7); ``polarity: analog`` subtracts the negative array's current from the positive one
   before sensing (PRIME Sec. 3.3), so the converter sees a signed sum. Otherwise every slice and
   polarity column is converted on its own.
5. **ADC.** Each converted sum ``v`` becomes ``round(v / step)`` (ties to even: the integer
   model meets a threshold exactly where real currents almost never do, and ties to even keeps
   that unbiased) clipped to the converter's codes (``0..2**m - 1`` with ``m = adc.bits``, or
   ``+-(2**m - 1)`` with ``m = adc.bits - 1`` for a signed sum) and is read back as
   ``code * step``. The **range rule**: the largest sum a converted column can carry is
   ``M = N x (2**dac.bits - 1) x its largest level`` (``N`` = crossbar rows, the largest level
   ``L = 2**cell_bits - 1``, or ``2**(S*cell_bits) - 1`` after the analog tree). Sums up to
   ``R = floor(adc.range_fraction x M)`` have ``n`` bits; the converter keeps their top ``m``:
   ``step = 2**max(0, n - m)``, and larger sums clip. A power-of-two step is what lets the digital
   shift-and-add stay an integer shift. With ``range_fraction = 1`` and ``m >= n`` the step is 1,
   nothing clips, and the result equals the weight-level product of the quantized inputs exactly.
6. **Digital composition.** Shift-and-add over phases and slices, polarity subtraction, and for
   the offset encoding the subtraction of ``offset x sum(inputs of the tile's rows)`` (done from
   the digital input sum, not a converted reference column); then dequantization by the input
   and weight scales and the (digital) bias.

Everything runs as batched tensor products: the tiles of a matrix that share their rows (a dense
grid column of tiles, say) form one group, gathered once and multiplied by the concatenation of
their levels, all phases and images in one matrix product. A plain convolution multiplies image
patches instead of an unfolded copy, a block of images at a time (about a megabyte of sums per
phase), and converts and composes each block while it is in cache. The loops are over row groups
and those blocks, never over single images.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from simulator.config.faults import FaultSpec
from simulator.converters import Converters, resolve_converters
from simulator.device import Device
from simulator.faults.device_draws import decoded_matrix, device_tile_levels
from simulator.faults.effective import faulty_levels
from simulator.faults.montecarlo import Draw, DrawPlan, layer_draw, study_draws, study_plan, take_draw, to_weight
from simulator.faults.summary import summarise
from simulator.mapping.encoding import get_encoding
from simulator.mapping.network import MappedNetwork
from simulator.mapping.slicing import top_level
from simulator.mapping.tiles import Tile
from simulator.network.tensors import CALIBRATION_HEAD
from simulator.pruning.masks import WeightLayer

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from simulator.config.hardware import HardwareConfig
    from simulator.faults.draw_store import DrawStore

# Integers up to 2**24 are exact in float32: input codes and the partial sums of one converted
# column stay below it for all but the widest inputs and largest arrays, which switch to float64.
_FLOAT32_EXACT = 2**24

# Converted sums per phase a convolution computes, converts and composes at once
# (`CrossbarLayer._conv_products`): 1 MB of float32, which stays in a core's cache between the
# matrix product that writes it and the rounding and shift-and-add that read it (all sums of a
# layer at once went to memory and back for each of those passes).
_SUMS_PER_BLOCK = 2**18

# Images whose activations set the input scales (a fixed slice of the training set: the head that
# simulator.network.tensors.test_tensors_of keeps when nothing trains).
CALIBRATION_IMAGES = CALIBRATION_HEAD


@dataclass(frozen=True)
class Periphery:
    """The converters between digital activations and the arrays (hardware description)."""

    input_bits: int
    dac_bits: int
    adc_bits: int | None           # None: an ideal converter (no rounding, no clipping)
    range_fraction: float = 1.0
    slices: str = "digital"        # "digital" | "analog-tree"
    polarity: str = "digital"      # "digital" | "analog"

    def __post_init__(self) -> None:
        if self.slices not in ("digital", "analog-tree"):
            raise ValueError(f"slices composition {self.slices!r}; allowed: digital, analog-tree")
        if self.polarity not in ("digital", "analog"):
            raise ValueError(f"polarity composition {self.polarity!r}; allowed: digital, analog")
        if not 0 < self.range_fraction <= 1:
            raise ValueError(f"range_fraction must lie in (0, 1], got {self.range_fraction}")
        if self.input_bits < 1 or self.dac_bits < 1 or (self.adc_bits is not None and self.adc_bits < 1):
            raise ValueError("input, DAC and ADC bits must be >= 1")

    @classmethod
    def from_converters(cls, converters: Converters) -> Periphery:
        """The periphery of a resolved chip: the ADC resolution its energy model prices."""
        return cls(input_bits=converters.input_bits, dac_bits=converters.dac_bits, adc_bits=converters.adc_bits,
                   range_fraction=converters.range_fraction, slices=converters.slices,
                   polarity=converters.polarity)

    @classmethod
    def from_hardware(cls, hardware: HardwareConfig, size: int, cell_bits: int | None = None) -> Periphery:
        """The periphery of a `HardwareConfig` (hwconfigs/*.yaml) built from `size` x `size` arrays,
        resolved as the chip model resolves it (simulator.converters)."""
        return cls.from_converters(resolve_converters(hardware, size, cell_bits))

    @property
    def phases(self) -> int:
        """``ceil(input_bits / dac_bits)``: input phases per product (design.md)."""
        return math.ceil(self.input_bits / self.dac_bits)

    @property
    def input_top(self) -> int:
        """Largest input code of one pass."""
        return 2**self.input_bits - 1


@dataclass(frozen=True)
class Adc:
    """One converter setting: sums become ``clip(round(v / step)) * step``."""

    step: int
    top: int          # largest code magnitude
    signed: bool
    exact: bool       # step 1 and no reachable sum clips: conversion changes nothing

    def convert(self, sums: torch.Tensor) -> torch.Tensor:
        """Codes of integer-valued ``sums`` (modified in place); ``exact`` converters pass them on."""
        if self.exact:
            return sums
        if self.step != 1:                     # x 1.0 changes no float
            sums.mul_(1.0 / self.step)
        return sums.round_().clamp_(-self.top if self.signed else 0, self.top)

    def convert_steps(self, sums: torch.Tensor, clips: bool = True) -> torch.Tensor:
        """`convert` of sums already counted in steps (products of levels divided by ``step``,
        `compile_matrix`): the step is a power of two, so dividing the levels instead of every
        sum gives the same floats and saves a pass over the (large) sums; without `clips` (no sum
        can leave the codes, `_may_clip`) the clamp, another pass, is skipped."""
        if self.exact:
            return sums
        sums.round_()
        return sums.clamp_(-self.top if self.signed else 0, self.top) if clips else sums


def adc_for(periphery: Periphery, rows: int, level: int, signed: bool) -> Adc:
    """The converter of columns of `rows` cells whose largest (composed) level is `level`.

    Range rule (module docstring, item 5): ``M = rows x (2**dac_bits - 1) x level``; the converter
    keeps the top ``m`` (magnitude) bits of the ``n``-bit sums up to ``floor(range_fraction x M)``:
    ``step = 2**max(0, n - m)``."""
    largest = rows * (2**periphery.dac_bits - 1) * level
    if periphery.adc_bits is None:
        return Adc(step=1, top=largest, signed=signed, exact=True)
    magnitude_bits = periphery.adc_bits - 1 if signed else periphery.adc_bits
    if magnitude_bits < 1:
        raise ValueError(f"a signed sum needs an ADC of at least 2 bits, got {periphery.adc_bits}")
    top = 2**magnitude_bits - 1
    reach = max(math.floor(periphery.range_fraction * largest), 1)
    shift = max(0, reach.bit_length() - magnitude_bits)
    return Adc(step=2**shift, top=top, signed=signed, exact=shift == 0 and top >= largest)


# ---------------------------------------------------------------- one matrix on its tiles


@dataclass
class RowGroup:
    """Tiles that share their rows, multiplied together."""

    rows: torch.Tensor      # (r,) long: rows of W (wordlines) driven
    start: int | None       # rows are start, start + 1, ...: a slice, no gather needed
    cols: torch.Tensor      # (Cg,) long: the column of W each converted column adds into
    col_start: int | None   # cols are col_start, col_start + 1, ...: added as a slice
    clips: bool             # whether some sum of these levels can leave the converter's codes
    levels: torch.Tensor    # (K * Cg, r): K converted channels (polarity x slice) per column, by rows,
                            # divided by the ADC step (Adc.convert_steps)


@dataclass
class CrossbarMatrix:
    """One (R, C) weight matrix as placed tiles of (faulty) levels, ready for bit-true products."""

    shape: tuple[int, int]
    groups: list[RowGroup]
    channels: int               # K: converted columns per weight column
    weights: list[list[float]]  # [phase][K]: 2**(p*dac) x polarity sign x 2**(k*cell) x ADC step
    adc: Adc
    offset: int                 # offset encoding: subtracted per unit of input; 0 otherwise
    periphery: Periphery
    dtype: torch.dtype          # of the products: float32 where every partial sum is exact in it


def _analog_channels(levels: np.ndarray, cell_bits: int, periphery: Periphery) -> np.ndarray:
    """A tile's ``(P, S, r, c)`` levels composed as the analog periphery composes them before the
    ADC: ``(P', S', r, c)``, the slices weighted and summed by the tree, the polarities subtracted.
    Levels read through the device model are real-valued and stay so: the tree sums in float64;
    the polarity subtraction alone runs in the levels' own float (the difference of two float32
    numbers, rounded once, is the float64 difference rounded to float32); nothing composes, they
    are returned as they are."""
    polarities, slices = levels.shape[:2]
    tree = periphery.slices == "analog-tree"
    subtract = periphery.polarity == "analog" and polarities == 2
    if not tree and not subtract:
        return levels
    if not np.issubdtype(levels.dtype, np.floating):
        levels = levels.astype(np.int64)
    elif tree:
        levels = levels.astype(np.float64, copy=False)
    if tree:
        weights = 2 ** (cell_bits * np.arange(slices, dtype=np.int64)).reshape(1, slices, 1, 1)
        levels = (levels * weights).sum(axis=1, keepdims=True)
    if subtract:
        levels = levels[:1] - levels[1:]
    return levels


def _digital_weights(
    polarities: int, slices: int, cell_bits: int, periphery: Periphery, step: int
) -> list[list[float]]:
    """``[phase][channel]``: what each converted code is worth in the digital shift-and-add:
    ``2**(p*dac_bits)`` for its phase, the sign of its polarity, ``2**(k*cell_bits)`` for its
    slice (channels that `_analog_channels` left, polarity-major), times the ADC step."""
    signs = [1] if periphery.polarity == "analog" or polarities == 1 else [1, -1]
    shifts = [0] if periphery.slices == "analog-tree" else [k * cell_bits for k in range(slices)]
    return [[2.0 ** (p * periphery.dac_bits) * sign * 2.0**shift * step for sign in signs for shift in shifts]
            for p in range(periphery.phases)]


def compile_matrix(shape: tuple[int, int], tiles: list[Tile], levels: list[np.ndarray], encoding: str,
                   weight_bits: int, cell_bits: int, periphery: Periphery, rows_per_array: int,
                   dtype: torch.dtype = torch.float32) -> CrossbarMatrix:
    """Group `tiles` by their rows and lay out their (faulty) `levels` for `crossbar_columns`.

    `rows_per_array` is the crossbar size N that sets the ADC range; `levels` are
    ``effective.faulty_levels`` (one ``(polarities, S, rows, cols)`` array per tile). In float32
    every partial sum is exact; only the composed result rounds (relative 6e-8)."""
    enc = get_encoding(encoding)
    polarities, slices = enc.polarities, enc.slices(weight_bits, cell_bits)
    signed = periphery.polarity == "analog" and polarities == 2
    level = 2 ** (slices * cell_bits) - 1 if periphery.slices == "analog-tree" else top_level(cell_bits)
    adc = adc_for(periphery, rows_per_array, level, signed)
    if periphery.adc_bits is not None and any(np.issubdtype(np.asarray(t).dtype, np.floating) for t in levels):
        # Device-model levels are real: their sums are no integers, so even a converter with bits
        # to spare rounds them to its codes (and clips what strays below 0 or past its top).
        adc = Adc(step=adc.step, top=adc.top, signed=adc.signed, exact=False)
    exact_in_float32 = (rows_per_array * (2**periphery.dac_bits - 1) * level < _FLOAT32_EXACT
                        and periphery.input_top < _FLOAT32_EXACT)
    if dtype == torch.float32 and not exact_in_float32:
        dtype = torch.float64
    by_rows: dict[bytes, list[int]] = {}
    for i, tile in enumerate(tiles):
        by_rows.setdefault(np.asarray(tile.rows, dtype=np.int64).tobytes(), []).append(i)
    groups = []
    np_dtype = np.float32 if dtype == torch.float32 else np.float64
    for members in by_rows.values():
        channels = [_analog_channels(np.asarray(levels[i]), cell_bits, periphery) for i in members]
        k, r = channels[0].shape[0] * channels[0].shape[1], channels[0].shape[2]
        widths = [tile_levels.shape[3] for tile_levels in channels]
        # (K, Cg, r): channel-major, the members' columns side by side, each written once from the
        # tile's levels divided by the step (a power of two: exact) and rounded to the product's
        # dtype in the same step, as the float64 quotient then a cast would.
        laid = np.empty((k, sum(widths), r), dtype=np_dtype)
        col = 0
        for tile_levels, width in zip(channels, widths):
            np.multiply(tile_levels.reshape(k, r, width).transpose(0, 2, 1), 1.0 / adc.step,
                        out=laid[:, col:col + width], casting="same_kind")
            col += width
        rows = np.array(tiles[members[0]].rows, dtype=np.int64)
        contiguous = bool(rows.size) and np.array_equal(rows, np.arange(rows[0], rows[0] + rows.size))
        cols = np.concatenate([np.asarray(tiles[i].cols, dtype=np.int64) for i in members])
        in_order = bool(cols.size) and np.array_equal(cols, np.arange(cols[0], cols[0] + cols.size))
        groups.append(RowGroup(
            rows=torch.from_numpy(rows), start=int(rows[0]) if contiguous else None,
            cols=torch.from_numpy(cols), col_start=int(cols[0]) if in_order else None,
            clips=_may_clip(laid, adc, 2**periphery.dac_bits - 1),
            levels=torch.from_numpy(laid.reshape(k * sum(widths), r))))
    weights = _digital_weights(polarities, slices, cell_bits, periphery, adc.step)
    offset = enc.input_offset(weight_bits)
    return CrossbarMatrix(shape=(shape[0], shape[1]), groups=groups, channels=len(weights[0]), weights=weights,
                          adc=adc, offset=offset, periphery=periphery, dtype=dtype)


def _may_clip(laid: np.ndarray, adc: Adc, digit_top: int) -> bool:
    """Whether a column of `laid` (levels in steps, ``(K, Cg, r)``) can sum to a code the
    converter clips: its largest ``digit_top x sum |level|`` past ``top``, or for an unsigned
    converter a negative level (the device model's reads of G_off cells). The float sums differ
    from the exact ones by far less than the half step rounding leaves, so where this says no,
    the clip would change no code and is skipped."""
    if adc.exact or laid.size == 0:
        return False
    if not adc.signed and float(laid.min()) < 0:
        return True
    return float(np.abs(laid).sum(axis=2, dtype=np.float64).max()) * digit_top > adc.top


def split_phases(codes: torch.Tensor, dac_bits: int, phases: int) -> torch.Tensor:
    """``(phases, *codes.shape)``: the ``dac_bits``-wide digit of every code per phase, least
    significant first (the DAC drives one digit per phase)."""
    radix = float(2**dac_bits)
    out = codes.new_empty((phases, *codes.shape))
    if phases == 1:
        return out.copy_(codes.unsqueeze(0))
    rest = codes
    for p in range(phases - 1):
        # out[p + 1] holds what is left above digit p; codes < 2**(phases * dac_bits), so what is
        # left after the last split is the top digit.
        high = torch.mul(rest, 1.0 / radix, out=out[p + 1]).floor_()
        torch.sub(rest, high, alpha=radix, out=out[p])
        rest = high
    return out


def crossbar_columns(codes: torch.Tensor, matrix: CrossbarMatrix) -> torch.Tensor:
    """Bit-true products of unsigned integer input codes laid out as columns, ``(N, R, L)`` (what
    ``F.unfold`` gives: N images, R rows, L input vectors each): ``(N, C, L)`` integers.

    Per row group: the digits of every phase meet the levels of every tile in one product, each
    converted column goes through the ADC, and the codes are shifted, signed and added into the
    tiles' columns."""
    rows, cols = matrix.shape
    if codes.shape[1] != rows:
        raise ValueError(f"input has {codes.shape[1]} rows, the matrix {rows}")
    codes = codes.to(matrix.dtype)
    images, vectors, phases = codes.shape[0], codes.shape[2], matrix.periphery.phases
    digits = split_phases(codes, matrix.periphery.dac_bits, phases).view(phases * images, rows, vectors)
    return digit_columns(digits, codes if matrix.offset else None, matrix)


def digit_columns(digits: torch.Tensor, codes: torch.Tensor | None, matrix: CrossbarMatrix) -> torch.Tensor:
    """`crossbar_columns` of codes already split into their DAC digits, ``(phases * N, R, L)``
    phase-major (`CrossbarLayer` splits before the unfold, a ninth of the work); `codes`, the
    undivided ``(N, R, L)``, only the offset encoding needs."""
    rows = matrix.shape[0]
    if digits.shape[1] != rows:
        raise ValueError(f"input has {digits.shape[1]} rows, the matrix {rows}")
    return _converted_columns(matrix, digits.shape[0] // matrix.periphery.phases, digits.shape[2],
                              lambda _i, group: torch.matmul(group.levels, _rows(digits, group)), codes,
                              digits.dtype)


def _converted_columns(matrix: CrossbarMatrix, images: int, vectors: int,
                       sums_of: Callable[[int, RowGroup], torch.Tensor], codes: torch.Tensor | None,
                       dtype: torch.dtype, vectors_first: bool = False) -> torch.Tensor:
    """Per row group: its column sums of every phase and image (``sums_of(i, group)``,
    ``(phases * images, K * Cg, vectors)``, or ``(phases * images, vectors, K * Cg)`` when
    `vectors_first`) through the ADC, shifted, signed and added into the tiles' columns:
    ``(images, C, vectors)`` (a transposed view when `vectors_first`)."""
    phases = matrix.periphery.phases
    cols = matrix.shape[1]
    out = torch.zeros((images, vectors, cols) if vectors_first else (images, cols, vectors), dtype=dtype)
    integer = _integer_composition(matrix, dtype)
    for i, group in enumerate(matrix.groups):
        sums = matrix.adc.convert_steps(sums_of(i, group), group.clips)
        # [phase, image, channel] of the sums: (Cg, vectors), or (vectors, Cg) when vectors_first.
        converted = (sums.view(phases, images, vectors, matrix.channels, -1).movedim(3, 2) if vectors_first
                     else sums.view(phases, images, matrix.channels, -1, vectors))
        composed, factor = _compose_integers(converted, matrix) if integer else (_compose(converted, matrix), 1.0)
        if matrix.offset:
            if codes is None:
                raise ValueError("the offset encoding subtracts the sum of the inputs: pass the codes")
            composed = composed * factor - matrix.offset * _rows(codes, group).sum(1, keepdim=True)
            factor = 1.0
        _add_columns(out, 2 if vectors_first else 1, group, composed, factor)
    return out.transpose(1, 2) if vectors_first else out


def _add_columns(out: torch.Tensor, dim: int, group: RowGroup, composed: torch.Tensor, factor: float) -> None:
    """``factor x composed`` added into the group's columns (dimension `dim`) of `out`."""
    if group.col_start is not None:
        out.narrow(dim, group.col_start, len(group.cols)).add_(composed, alpha=factor)
    else:
        out.index_add_(dim, group.cols, composed, alpha=factor)


def _compose(converted: torch.Tensor, matrix: CrossbarMatrix) -> torch.Tensor:
    """The digital shift-and-add of one group's converted sums ``[phase, image, channel]``, term
    by term in (phase, channel) order."""
    composed = None
    for p, per_channel in enumerate(matrix.weights):
        for k, weight in enumerate(per_channel):
            term = converted[p, :, k]
            composed = term * weight if composed is None else composed.add_(term, alpha=weight)
    assert composed is not None, "a crossbar matrix has at least one phase and one channel"
    return composed


def _integer_composition(matrix: CrossbarMatrix, dtype: torch.dtype) -> bool:
    """Whether the shift-and-add only adds integers that `dtype` holds exactly: a converter that
    rounds, and every partial sum (at most top x the sum of the |weights|) below 2**24 (float32)
    or 2**53. Then any order of the additions gives the same floats (`_compose_integers`)."""
    exact_below = 2.0**24 if dtype == torch.float32 else 2.0**53
    bound = matrix.adc.top * sum(abs(w) for per_channel in matrix.weights for w in per_channel)
    return not matrix.adc.exact and bound < exact_below


def _compose_integers(converted: torch.Tensor, matrix: CrossbarMatrix) -> tuple[torch.Tensor, float]:
    """`_compose` of integer codes (`_integer_composition`) as ``(composed, factor)``, their
    product the composed sums: phases first (each phase's weight is ``2**(p * dac_bits)`` times
    that of phase 0, so the phases add as whole contiguous blocks into phase 0's block, which the
    sums own), then the channels into channel 0 by their weights over channel 0's, and the weight
    of (phase 0, channel 0) left to the one addition into the columns. Every ratio is a signed
    power of two and every partial sum an integer below the float's exact range, so these are the
    same floats as `_compose` in three passes fewer, none of them strided by channel."""
    weights = matrix.weights
    acc = converted[0]
    for p in range(1, len(weights)):
        acc.add_(converted[p], alpha=weights[p][0] / weights[0][0])
    composed = acc[:, 0]
    for k in range(1, len(weights[0])):
        composed.add_(acc[:, k], alpha=weights[0][k] / weights[0][0])
    return composed, weights[0][0]


def _rows(x: torch.Tensor, group: RowGroup) -> torch.Tensor:
    """The group's rows (dimension 1) of ``x``: a view where they are contiguous."""
    if group.start is not None:
        return x[:, group.start:group.start + len(group.rows)]
    return x.index_select(1, group.rows)


def signed_columns(codes: torch.Tensor, matrix: CrossbarMatrix) -> torch.Tensor:
    """`crossbar_columns` of signed codes: positive and negative parts in passes of their own,
    subtracted (module docstring, item 1); the negative pass runs only where a code is negative."""
    if codes.numel() == 0 or float(codes.min()) >= 0:
        return crossbar_columns(codes, matrix)
    images = codes.shape[0]
    out = crossbar_columns(torch.cat([codes.clamp(min=0), codes.neg().clamp_(min=0)]), matrix)
    return out[:images] - out[images:]


def signed_product(codes: torch.Tensor, matrix: CrossbarMatrix) -> torch.Tensor:
    """Bit-true ``codes @ W_int`` for signed integer codes as row vectors ``(B, R)``: ``(B, C)``."""
    return signed_columns(codes.T.unsqueeze(0), matrix)[0].T


def crossbar_product(codes: torch.Tensor, matrix: CrossbarMatrix) -> torch.Tensor:
    """Bit-true ``codes @ W_int`` for unsigned integer codes as row vectors ``(B, R)``: ``(B, C)``."""
    return crossbar_columns(codes.T.unsqueeze(0), matrix)[0].T


def quantize_inputs(x: torch.Tensor, scale: float, bits: int) -> torch.Tensor:
    """Signed integer codes ``round(x / scale)`` clipped to ``+-(2**bits - 1)`` (as floats; ties to
    even, so the rounding has no bias either side of zero)."""
    top = 2**bits - 1
    return torch.mul(x, 1.0 / scale).round_().clamp_(-top, top)


# ---------------------------------------------------------------- layers and networks


def _zero_padding(conv: nn.Conv2d) -> tuple[int, ...]:
    """The numeric zero padding of `conv` ("same" and "valid" resolved; another padding mode
    raises UnmodelledLayer, simulator.lowering.conv_options)."""
    from simulator.lowering.conv_options import zero_padding

    return zero_padding(conv)


def _check_supported(module: nn.Module) -> WeightLayer:
    if isinstance(module, nn.Conv2d):
        _zero_padding(module)
    if not isinstance(module, (nn.Conv2d, nn.Linear)):
        raise TypeError(f"bit-true emulation maps Conv2d and Linear layers, not {type(module).__name__}")
    return module


class CrossbarLayer(nn.Module):
    """A Conv2d or Linear computed bit-true through its mapped tiles (module docstring).

    `load` sets the crossbar matrices (one per group) and their weight scales for one fault draw;
    the input scale stays from calibration."""

    def __init__(self, module: nn.Module, input_scale: float, periphery: Periphery) -> None:
        super().__init__()
        self.module = _check_supported(module)
        self.input_scale = float(input_scale)
        self.periphery = periphery
        self.matrices: list[CrossbarMatrix] = []
        self.weight_scales: list[torch.Tensor] = []
        self.kernels: list[tuple[int, int, torch.Tensor]] | None = None

    def load(self, matrices: list[CrossbarMatrix], weight_scales: list[np.ndarray]) -> None:
        """The tiles of one fault draw: a matrix and its quantization scale (0-d or (1, C)) per group."""
        self.matrices = matrices
        self.weight_scales = [torch.as_tensor(np.asarray(s, dtype=np.float64)).reshape(-1) for s in weight_scales]
        self.kernels = self._conv_kernels()

    def _conv_kernels(self) -> list[tuple[int, int, torch.Tensor]] | None:
        """A plain convolution's row groups as matrices over image patches: per group, the input
        channels its rows span and its levels laid out ``(kh * kw * channels, K * Cg)`` in the
        patches' (kernel row, kernel column, channel) order, zero at the rows of those channels the
        group does not drive. The products are then matrix products of patches gathered from the
        padded digit images in channels-last layout (`_conv_products`): no unfold, and a third
        less time than oneDNN's convolution of the same digits on VGG-8's 16 x 16 and 8 x 8 layers.
        None where a layer is grouped, a group's rows are gathered, or the offset encoding needs
        input sums.

        The sums are the same numbers added in another order: exact for integer levels, within
        float32 rounding (relative 6e-8) for the device model's real-valued ones."""
        m = self.module
        if not isinstance(m, nn.Conv2d) or m.groups != 1 or len(self.matrices) != 1 or self.matrices[0].offset:
            return None
        kh, kw = m.kernel_size
        per = kh * kw
        kernels = []
        for group in self.matrices[0].groups:
            if group.start is None:
                return None
            first = group.start // per
            end = -(-(group.start + len(group.rows)) // per)
            flat = group.levels.new_zeros(group.levels.shape[0], (end - first) * per)
            flat[:, group.start - first * per:group.start - first * per + len(group.rows)] = group.levels
            # (K * Cg, c, kh, kw), unfold's row order -> (kh, kw, c, K * Cg), the patches' order.
            kernels.append((first, end, flat.view(flat.shape[0], end - first, kh, kw).permute(2, 3, 1, 0)
                            .reshape(per * (end - first), flat.shape[0]).contiguous()))
        return kernels

    def _conv_products(self, digits: torch.Tensor, kernels: list[tuple[int, int, torch.Tensor]]) -> torch.Tensor:
        """`digit_columns` of a plain convolution, ``(N, C_out, vectors)``: the digit images
        ``(phases * N, C, H, W)`` zero-padded in channels-last layout once, then per group and per
        block of images the patches of every phase (strided views, copied) times the group's
        matrix (`_conv_kernels`), converted and composed at once: a block's sums (about
        `_SUMS_PER_BLOCK` per phase) are rounded, shifted and added while they are still in
        cache instead of in passes over all the sums from memory."""
        m = self.module
        assert isinstance(m, nn.Conv2d)
        matrix = self.matrices[0]
        phases = matrix.periphery.phases
        pad_h, pad_w = _zero_padding(m)
        count, channels, height_in, width_in = digits.shape
        images = count // phases
        # Only the border needs zeros: the digits overwrite the rest (a zero fill of the whole
        # buffer was a pass of its own).
        padded = digits.new_empty((count, height_in + 2 * pad_h, width_in + 2 * pad_w, channels), dtype=matrix.dtype)
        padded[:, :pad_h].zero_()
        padded[:, pad_h + height_in:].zero_()
        padded[:, pad_h:pad_h + height_in, :pad_w].zero_()
        padded[:, pad_h:pad_h + height_in, pad_w + width_in:].zero_()
        padded[:, pad_h:pad_h + height_in, pad_w:pad_w + width_in].copy_(digits.permute(0, 2, 3, 1))
        height, width = (
            (size + 2 * pad - dil * (k - 1) - 1) // st + 1
            for size, pad, dil, k, st in zip(digits.shape[2:], (pad_h, pad_w), m.dilation, m.kernel_size, m.stride))
        vectors = height * width
        s_image, s_row, s_col, s_channel = padded.stride()
        out = torch.zeros((images, vectors, matrix.shape[1]), dtype=matrix.dtype)
        integer = _integer_composition(matrix, matrix.dtype)
        blocks = [max(1, _SUMS_PER_BLOCK // max(vectors * kernel.shape[1], 1)) for _first, _end, kernel in kernels]
        # One buffer each for the patches and the sums of a block, all phases, reused by every
        # group and block (fresh ones per block cost their pages' first touch every time).
        rows = phases * min(max(blocks), images) * vectors
        patch_buffer = padded.new_empty(rows * max(kernel.shape[0] for _f, _e, kernel in kernels))
        sum_buffer = padded.new_empty(max(phases * min(block, images) * vectors * kernel.shape[1]
                                          for block, (_f, _e, kernel) in zip(blocks, kernels)))
        for group, (first, end, kernel), block in zip(matrix.groups, kernels, blocks):
            converted_columns = kernel.shape[1]
            for start in range(0, images, block):
                n = min(block, images - start)
                # Every phase's patches of the block in one copy and one product.
                patches = padded.as_strided(
                    (phases, n, height, width, *m.kernel_size, end - first),
                    (images * s_image, s_image, s_row * m.stride[0], s_col * m.stride[1], s_row * m.dilation[0],
                     s_col * m.dilation[1], s_channel),
                    padded.storage_offset() + start * s_image + first * s_channel)
                laid = patch_buffer[:phases * n * vectors * kernel.shape[0]].view(patches.shape)
                laid.copy_(patches)
                sums = sum_buffer[:phases * n * vectors * converted_columns].view(phases, n * vectors,
                                                                                  converted_columns)
                torch.mm(laid.view(phases * n * vectors, -1), kernel, out=sums.view(phases * n * vectors, -1))
                part = matrix.adc.convert_steps(sums, group.clips)
                converted = part.view(phases, n, vectors, matrix.channels, -1).movedim(3, 2)
                composed, factor = (_compose_integers(converted, matrix) if integer
                                    else (_compose(converted, matrix), 1.0))
                _add_columns(out[start:start + n], 2, group, composed, factor)
        return out.transpose(1, 2)

    def _columns(self, x: torch.Tensor, images: int = 1) -> torch.Tensor:
        """Input vectors as columns ``(N, R_total, L)``: unfold order for a conv (any leading
        dimensions become images); for a Linear, every row vector of each of `images` leading
        blocks is a column of that block's one image."""
        m = self.module
        if isinstance(m, nn.Linear):
            return x.reshape(images, -1, m.in_features).transpose(1, 2)
        return F.unfold(x.reshape(-1, *x.shape[-3:]), m.kernel_size, dilation=m.dilation,
                        padding=_zero_padding(m), stride=m.stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.matrices:
            raise RuntimeError("CrossbarLayer has no tiles loaded; call load() first")
        # Quantized and split into DAC digits before the unfold (all elementwise, and the
        # unfold's padding is a code 0 either way): a ninth of the work on the unfolded copies. A
        # signed input splits into its passes here too (`signed_columns`; a matrix whose slice
        # has no negative code gets an all-zero second pass, which contributes exactly 0).
        p = self.periphery
        codes = quantize_inputs(x, self.input_scale, p.input_bits)
        signed = codes.numel() > 0 and float(codes.min()) < 0
        passes = torch.stack([codes.clamp(min=0), codes.neg().clamp_(min=0)]) if signed else codes.unsqueeze(0)
        split = split_phases(passes, p.dac_bits, p.phases)
        kernels = self.kernels
        if kernels is not None:
            products = [self._conv_products(split.reshape(-1, *x.shape[-3:]), kernels)]
        else:
            digits = self._columns(split, p.phases * len(passes))
            plain = self._columns(passes, len(passes)) if any(m.offset for m in self.matrices) else None
            products, start = [], 0
            for matrix in self.matrices:
                rows = matrix.shape[0]
                products.append(digit_columns(
                    digits[:, start:start + rows].to(matrix.dtype),
                    None if plain is None else plain[:, start:start + rows].to(matrix.dtype), matrix))
                start += rows
        parts = []
        for product, scale in zip(products, self.weight_scales):
            if signed:
                half = product.shape[0] // 2
                product = product[:half] - product[half:]
            parts.append(product * (scale.to(product.dtype) * self.input_scale).view(1, -1, 1))
        y = (parts[0] if len(parts) == 1 else torch.cat(parts, 1)).to(x.dtype)            # (N, C_out, L)
        bias = self.module.bias
        if isinstance(bias, torch.Tensor):   # a Parameter, or None without bias
            y = y + bias.view(1, -1, 1)
        if isinstance(self.module, nn.Linear):
            return y[0].T.reshape(*x.shape[:-1], -1)
        m = self.module
        height, width = (
            (size + 2 * pad - dil * (k - 1) - 1) // st + 1
            for size, pad, dil, k, st in zip(x.shape[2:], _zero_padding(m), m.dilation, m.kernel_size, m.stride))
        return y.view(x.shape[0], -1, height, width)


@torch.no_grad()
def calibrate_input_scales(model: nn.Module, names: list[str], images: torch.Tensor, bits: int,
                           batch_size: int = 256) -> dict[str, float]:
    """Per layer: the input scale ``max |x| / (2**bits - 1)`` over `images` through the float
    network (eval mode); 1.0 for a layer whose inputs are all zero."""
    modules = dict(model.named_modules())
    peaks = {name: 0.0 for name in names}

    def hook(name: str) -> Callable[[nn.Module, tuple[torch.Tensor, ...], torch.Tensor], None]:
        def record(_module: nn.Module, inputs: tuple[torch.Tensor, ...], _output: torch.Tensor) -> None:
            peaks[name] = max(peaks[name], float(inputs[0].abs().max()))
        return record

    handles = [modules[name].register_forward_hook(hook(name)) for name in names]
    was_training = model.training
    model.eval()
    try:
        for start in range(0, len(images), batch_size):
            model(images[start:start + batch_size])
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    top = 2**bits - 1
    return {name: (peak / top if peak > 0 else 1.0) for name, peak in peaks.items()}


def crossbar_network(model: nn.Module, scales: dict[str, float], periphery: Periphery) -> nn.Module:
    """A copy of `model` whose layers named in `scales` are `CrossbarLayer`s (tiles not loaded)."""
    net = copy.deepcopy(model)
    for name, scale in scales.items():
        parent_name, _, child = name.rpartition(".")
        parent = net.get_submodule(parent_name) if parent_name else net
        setattr(parent, child, CrossbarLayer(getattr(parent, child), scale, periphery))
    return net.eval()


def quantize_inputs_of(model: nn.Module, scales: dict[str, float], bits: int) -> list[Any]:
    """Forward pre-hooks that hand each named layer its input quantized as `CrossbarLayer` does
    (the weight-level network with the crossbars' input precision); remove them when done."""
    modules = dict(model.named_modules())

    def hook(scale: float) -> Callable[[nn.Module, tuple[torch.Tensor, ...]], tuple[torch.Tensor, ...]]:
        return lambda _module, args: (quantize_inputs(args[0], scale, bits) * scale, *args[1:])

    return [modules[name].register_forward_pre_hook(hook(scale)) for name, scale in scales.items()]


# ---------------------------------------------------------------- accuracy under faults


@torch.no_grad()
def _accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int,
              bar: Progress | None = None, task: TaskID | None = None) -> float:
    model.eval()
    correct = 0
    for start in range(0, len(x), batch_size):
        correct += int((model(x[start:start + batch_size]).argmax(1) == y[start:start + batch_size]).sum())
        if bar is not None and task is not None:
            bar.advance(task, min(batch_size, len(x) - start))
    return correct / max(len(x), 1)


def _decode(shape: tuple[int, int], tiles: list[Tile], levels: list[np.ndarray], encoding: str,
            weight_bits: int, cell_bits: int) -> np.ndarray:
    """Integer effective weights: every tile's decoded levels added into the positions it covers
    (as `effective.faulty_matrix`)."""
    enc = get_encoding(encoding)
    total = np.zeros(shape, dtype=np.int64)
    for tile, tile_levels in zip(tiles, levels):
        total[np.ix_(tile.rows, tile.cols)] += enc.decode(tile_levels, weight_bits, cell_bits)
    return total


@torch.no_grad()
def load_draw(mapped: MappedNetwork, work: nn.Module, crossbars: nn.Module, draw: Draw, plan: DrawPlan,
              periphery: Periphery) -> None:
    """Draw one fault map over every mapped layer and load it twice: decoded into the weights of
    `work` (weight level) and as tile levels into the `CrossbarLayer`s of `crossbars`.

    Draws as `montecarlo.fault_maps` does (same generators, layers and groups in the same order,
    rates scaled per layer), so both see the very cells the weight-level study sees."""
    setup = mapped.setup
    work_modules, crossbar_modules = dict(work.named_modules()), dict(crossbars.named_modules())
    for layer in mapped.layers:
        tile_draw = layer_draw(draw, plan, setup, layer.name)
        effective, matrices, weight_scales = [], [], []
        for W, tiles in zip(layer.matrices, layer.tiles):
            if plan.effects is not None and draw.device is not None:
                # Real-valued levels read through the device model (simulator.faults.device_draws).
                quantized, levels = device_tile_levels(W, tiles, tile_draw, plan.effects, draw.device)
                decoded = decoded_matrix(W.shape, tiles, levels, draw.encoding, setup.weight_bits, setup.cell_bits)
            else:
                quantized, levels = faulty_levels(W, tiles, tile_draw)
                decoded = _decode(W.shape, tiles, levels, draw.encoding, setup.weight_bits, setup.cell_bits)
            effective.append(decoded * quantized.scale)
            matrices.append(compile_matrix(W.shape, tiles, levels, draw.encoding, setup.weight_bits, setup.cell_bits,
                                           periphery, setup.size))
            weight_scales.append(quantized.scale)
        module = work_modules[layer.name]
        module.weight.copy_(to_weight(effective, module.weight))
        crossbar_modules[layer.name].load(matrices, weight_scales)


def bit_true_study(model: nn.Module, mapped: MappedNetwork, x: torch.Tensor, y: torch.Tensor,
                   calibration: torch.Tensor, spec: FaultSpec, periphery: Periphery, *, batch_size: int = 1000,
                   bit_true_batch_size: int = 16, progress: bool = True,
                   store: DrawStore | None = None, device: Device | None = None,
                   packing: str | None = None) -> pd.DataFrame:
    """One row per fault draw of `spec` with three accuracies of the same faulty cells:

    - ``accuracy``: weight level (effective weights, float inputs), equal to
      `montecarlo.fault_study` with the same arguments: draws are seeded alike from
      (seed, encoding, rate, run) and taken in the same order (`load_draw`);
    - ``accuracy_quantized_inputs``: weight level with inputs quantized to ``input_bits`` (an ideal
      converter: what the bit-true emulation gives with enough ADC bits);
    - ``accuracy_bit_true``: the bit-true emulation (DAC phases, ADC per converted column);

    and ``adc_loss = accuracy_quantized_inputs - accuracy_bit_true``, what the converters cost.
    The ADC range follows the mapping's crossbar size N; `calibration` are the images that set the
    input scales. With a `store`, draws it holds are taken from it and each draw computed is kept
    in it (`montecarlo.fault_study`). With the spec's device options on, the cells are read through
    `device` in both (real-valued levels into the same arrays, converters and shift-and-add)."""
    from simulator.progress import progress_bar

    plan = study_plan(spec, mapped, device, packing)
    scales = calibrate_input_scales(model, mapped.names, calibration, periphery.input_bits)
    work = copy.deepcopy(model).eval()
    crossbars = crossbar_network(model, scales, periphery)
    rows = []
    indices = study_draws(spec, mapped)
    kept = store.kept_rows(indices) if store is not None else {}
    with progress_bar(disable=not progress) as bar:
        draws = bar.add_task("bit-true fault draws", total=len(indices))
        images = bar.add_task("bit-true images", total=len(x))
        for index in indices:
            if index in kept:
                rows.append(kept[index])
                bar.advance(draws)
                continue
            draw = take_draw(spec, mapped, plan, index)
            load_draw(mapped, work, crossbars, draw, plan, periphery)
            weight_level = _accuracy(work, x, y, batch_size)
            hooks = quantize_inputs_of(work, scales, periphery.input_bits)
            try:
                quantized_inputs = _accuracy(work, x, y, batch_size)
            finally:
                for handle in hooks:
                    handle.remove()
            bar.reset(images)
            bit_true = _accuracy(crossbars, x, y, bit_true_batch_size, bar, images)
            rows.append({"encoding": index.encoding, "rate": index.rate, "p_sa0": draw.rates.p_sa0,
                         "p_sa1": draw.rates.p_sa1, "run": index.run, "accuracy": weight_level,
                         "accuracy_quantized_inputs": quantized_inputs, "accuracy_bit_true": bit_true,
                         "adc_loss": quantized_inputs - bit_true})
            if store is not None:
                store.put(index, rows[-1])
            bar.advance(draws)
    return pd.DataFrame(rows)


def summarise_bit_true(draws: pd.DataFrame) -> pd.DataFrame:
    """`montecarlo.summarise` of the weight-level accuracy plus, per (encoding, rate), the mean
    accuracy with quantized inputs, the mean bit-true accuracy and the mean ADC-induced loss."""
    means = (draws.groupby(["encoding", "rate"], sort=False)[["accuracy_quantized_inputs", "accuracy_bit_true",
                                                              "adc_loss"]]
             .mean().reset_index()
             .rename(columns={"accuracy_quantized_inputs": "mean_quantized_inputs",
                              "accuracy_bit_true": "mean_bit_true"}))
    return summarise(draws).merge(means, on=["encoding", "rate"], how="left")
