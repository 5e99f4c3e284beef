"""How often a layer's DAC drives a row: input-bit activity measured from real activations
(issue #14, item 2; `hardware_study.dac_activity: measured`).

A crossbar row is driven once per input phase with one `dac_bits`-wide digit of the row's input
code (design.md: `ceil(input_bits / dac_bits)` phases, least significant digit first). A digit of
0 applies no voltage, so the driver does not fire: the row costs no drive in that phase (ISAAC
Sec. 4 and PRIME Sec. 3.3 drive rows with the input's bits or digits; a zero drives nothing). The
activity of a layer is the share of (row, phase) pairs of its lowered input vectors whose digit is
not 0, averaged over the windows of `images` test images:

    activity = sum over windows, rows, phases of [digit != 0] / (windows x rows x phases)

Inputs are coded as the bit-true emulation codes them (simulator.faults.bit_true, item 1): per
layer the scale `max |x| / (2**input_bits - 1)` over its calibration images (the first 512
training images), codes `round(|x| / scale)` clipped to the top code;
a negative input is driven as the magnitude of its own pass (the pass of the other sign drives a
zero digit), so it counts as `|code|`. A Conv2d's rows are its input channels x kernel positions
(zero padding included: a padded position is a row holding 0), counted per window with a
convolution of the per-pixel counts, so no unfolded matrix is built. The figure is one mean per
layer: every row of the layer is taken as active as the layer's average row.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from simulator.lowering.conv_options import zero_padding


@dataclass(frozen=True)
class Coding:
    """How inputs reach the rows: `input_bits` per input code in digits of `dac_bits`."""

    input_bits: int
    dac_bits: int

    @property
    def phases(self) -> int:
        return math.ceil(self.input_bits / self.dac_bits)


def nonzero_digits(codes: torch.Tensor, coding: Coding) -> torch.Tensor:
    """Per code, how many of its `phases` digits (base 2**dac_bits) are not 0."""
    radix = 2**coding.dac_bits
    rest = codes.to(torch.int64)
    count = torch.zeros_like(rest)
    for _ in range(coding.phases):
        count += (rest % radix != 0).to(torch.int64)
        rest = torch.div(rest, radix, rounding_mode="floor")
    return count


def _layer_counts(module: nn.Module, x: torch.Tensor, scale: float, coding: Coding) -> tuple[float, float]:
    """(nonzero digits, digit slots) of one batch of inputs `x` to `module`, over its windows."""
    top = 2**coding.input_bits - 1
    codes = torch.mul(x.abs(), 1.0 / scale).round_().clamp_(0, top)
    digits = nonzero_digits(codes, coding).to(torch.float32)
    if isinstance(module, nn.Conv2d):
        padding = zero_padding(module)
        per_pixel = digits.sum(dim=1, keepdim=True)           # (B, 1, H, W): all channels of a pixel
        kh, kw = module.kernel_size
        per_window = F.conv2d(per_pixel, torch.ones(1, 1, kh, kw), stride=module.stride, padding=padding,
                              dilation=module.dilation)
        rows = x.shape[1] * kh * kw
        slots = per_window.numel() * rows * coding.phases
        return float(per_window.sum()), float(slots)
    flat = digits.reshape(digits.shape[0], -1)
    return float(flat.sum()), float(flat.numel() * coding.phases)


@torch.no_grad()
def input_activity(model: nn.Module, names: list[str], images: torch.Tensor, codings: Iterable[tuple[int, int]],
                   calibration: torch.Tensor | None = None,
                   batch_size: int = 64) -> dict[tuple[int, int], dict[str, float]]:
    """Per coding (input_bits, dac_bits) and per layer of `names` (Conv2d / Linear modules of
    `model`) that runs: the share of its rows' input digits that are not 0 over `images` (module
    docstring). Each layer's scale comes from its largest input over `calibration` (the bit-true
    emulation's 512 training images; default `images` themselves). A layer called more than once
    per forward counts its first call, as lowering does (simulator.lowering.layers); a layer whose
    inputs are all 0 has activity 0; a layer that never runs is left out."""
    kinds = [Coding(*pair) for pair in dict.fromkeys(codings)]
    modules = dict(model.named_modules())
    was_training = model.training
    model.eval()
    peaks = dict.fromkeys(names, 0.0)
    counts = {coding: {name: [0.0, 0.0] for name in names} for coding in kinds}
    seen: set[str] = set()      # layers already counted in the current forward

    def run(record: Callable[[str], Callable[..., None]], batches: torch.Tensor) -> None:
        handles = [modules[name].register_forward_pre_hook(record(name)) for name in names]
        try:
            for start in range(0, len(batches), batch_size):
                seen.clear()
                model(batches[start:start + batch_size])
        finally:
            for handle in handles:
                handle.remove()

    def peak(name: str) -> Callable[..., None]:
        def hook(_module: nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
            peaks[name] = max(peaks[name], float(inputs[0].abs().max()))
        return hook

    def count(name: str) -> Callable[..., None]:
        def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
            if name in seen:
                return
            seen.add(name)
            for coding in kinds:
                scale = peaks[name] / (2**coding.input_bits - 1) if peaks[name] > 0 else 1.0
                ones, slots = _layer_counts(module, inputs[0], scale, coding)
                counts[coding][name][0] += ones
                counts[coding][name][1] += slots
        return hook

    try:
        run(peak, calibration if calibration is not None else images)   # each layer's scale
        run(count, images)
    finally:
        model.train(was_training)
    return {(coding.input_bits, coding.dac_bits): {name: (ones / slots if slots else 0.0)
                                                   for name, (ones, slots) in by_name.items() if slots}
            for coding, by_name in counts.items()}
