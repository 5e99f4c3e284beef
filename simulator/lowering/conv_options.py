"""Which options of a Conv2d or Linear layer resim models (issue #25 item 8), decided in one place.

Modelled: numeric zero padding, `padding="valid"` (no padding), `padding="same"` where it pads
evenly (torch allows it with stride 1 only; then it is the numeric padding dilation * (k - 1) / 2 on
each side), any stride, dilation and groups (each group its own weight matrix,
simulator.lowering.layers), bias. Refused, in one line naming the layer: `padding="same"` that pads
one side more than the other (an even effective kernel), a `padding_mode` other than "zeros" (the
padded inputs would carry values that the DAC activity and the bit-true emulation take as 0), and
layers resim does not map at all but that a network could be expected to compute on the chip
(Conv1d, Conv3d, transposed convolutions): none of their work would be counted.
"""

from __future__ import annotations

from torch import nn
from torch.nn.modules.conv import _ConvNd


class UnmodelledLayer(ValueError):
    """A layer uses an option resim does not model; the message names the layer and the option."""


def zero_padding(conv: nn.Conv2d) -> tuple[int, int]:
    """The numeric zero padding (rows, columns) on each side that `conv`'s padding amounts to;
    `UnmodelledLayer` for one that resim does not model (`unmodelled`)."""
    reason = _conv2d_problem(conv)
    if reason:
        raise UnmodelledLayer(f"Conv2d {reason}")
    if conv.padding == "valid":
        return (0, 0)
    if conv.padding == "same":
        return (conv.dilation[0] * (conv.kernel_size[0] - 1) // 2, conv.dilation[1] * (conv.kernel_size[1] - 1) // 2)
    padding = conv.padding
    return (int(padding[0]), int(padding[1]))


def _conv2d_problem(conv: nn.Conv2d) -> str | None:
    if conv.padding_mode != "zeros":
        return (f"padding_mode={conv.padding_mode!r} is not modelled: resim models zero padding "
                "(padding_mode='zeros')")
    if conv.padding == "same":
        uneven = [axis for axis, (k, d) in enumerate(zip(conv.kernel_size, conv.dilation)) if d * (k - 1) % 2]
        if uneven:
            return (f"padding='same' with kernel {tuple(conv.kernel_size)} and dilation {tuple(conv.dilation)} pads "
                    "one side more than the other, which resim does not model; give numeric padding instead")
    return None


def unmodelled(name: str, module: nn.Module) -> str | None:
    """Why layer `name` cannot be simulated as it is, in one line naming it, or None."""
    if isinstance(module, nn.Conv2d):
        reason = _conv2d_problem(module)
        return f"layer {name} (Conv2d): {reason}" if reason else None
    if isinstance(module, _ConvNd):
        return (f"layer {name} ({type(module).__name__}): resim maps Conv2d and Linear layers only; this layer's "
                "work would not be counted")
    return None


def check_modelled(model: nn.Module) -> None:
    """`UnmodelledLayer` naming the first layer of `model` with an option resim does not model."""
    for name, module in model.named_modules():
        reason = unmodelled(name, module)
        if reason:
            raise UnmodelledLayer(reason)
