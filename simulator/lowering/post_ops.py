"""What the chip does to a layer's outputs after the crossbars: pooling and activation.

Counted on one input through the model in eval mode, module by module, and charged to the
Conv2d / Linear layer called last before them (in call order, as the dataflow's fallback does):

- pooling (MaxPool, AvgPool and their adaptive forms, any number of spatial axes): per pooled
  value, the elements of its window that lie inside the map, less one: the comparisons of a max
  pool (a 2 x 2 pool of a 32 x 32 map: 3 per value, 16 x 16 values per channel) or the additions
  of an average pool. An adaptive pool's windows are torch's: rows floor(i H / O) .. ceil((i + 1) H / O).
- activation (ReLU and its variants, sigmoid, tanh, ...): one per value the module outputs.

Only modules are seen: an activation or pooling written as a function call in `forward`
(torch.nn.functional) is not counted, nor one applied to the raw input before the first layer.
The zoo's networks use modules throughout.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch
    from torch import nn


@dataclass(frozen=True)
class PostOps:
    """Per inference, what follows one layer's crossbars."""

    pool_ops: int = 0          # comparisons (max) or additions (average) of the pools after it
    activations: int = 0       # values passed through an activation function after it


def _axis_counts(size: int, out: int, kernel: int, stride: int, padding: int, dilation: int) -> list[int]:
    """Elements inside the map of each of the `out` windows along one axis."""
    return [sum(1 for j in range(kernel) if 0 <= o * stride - padding + j * dilation < size) for o in range(out)]


def _adaptive_counts(size: int, out: int) -> list[int]:
    return [math.ceil((o + 1) * size / out) - (o * size) // out for o in range(out)]


def _tuple(value: int | tuple[int, ...], n: int) -> tuple[int, ...]:
    return (value,) * n if isinstance(value, int) else tuple(int(v) for v in value)


def pool_ops(module: nn.Module, inputs: torch.Tensor, output: torch.Tensor) -> int:
    """Comparisons (or additions) of one pooling call: per output value, its window's elements
    inside the map less one, summed over channels."""
    from torch import nn

    spatial_in, spatial_out = tuple(inputs.shape[2:]), tuple(output.shape[2:])
    n = len(spatial_in)
    if isinstance(module, (nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d,
                           nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d)):
        counts = [_adaptive_counts(i, o) for i, o in zip(spatial_in, spatial_out)]
    else:
        kernel = _tuple(module.kernel_size, n)                       # type: ignore[arg-type]
        stride = _tuple(module.stride or module.kernel_size, n)      # type: ignore[arg-type]
        padding = _tuple(module.padding, n)                          # type: ignore[arg-type]
        dilation = _tuple(getattr(module, "dilation", 1), n)
        counts = [_axis_counts(i, o, k, s, p, d)
                  for i, o, k, s, p, d in zip(spatial_in, spatial_out, kernel, stride, padding, dilation)]
    elements = math.prod(sum(c) for c in counts)        # windows are separable across axes
    windows = math.prod(spatial_out)
    channels = int(output.shape[0] * output.shape[1])
    return channels * max(elements - windows, 0)


def post_layer_ops(model: nn.Module, input_shape: tuple[int, int, int]) -> dict[str, PostOps]:
    """Per Conv2d / Linear (by module name), the pooling and activation work that follows it."""
    from torch import nn

    pools = (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d,
             nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d, nn.AdaptiveAvgPool1d,
             nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d)
    activations = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.RReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU,
                   nn.SiLU, nn.Mish, nn.Hardswish, nn.Hardsigmoid, nn.Hardtanh, nn.Sigmoid, nn.Tanh, nn.Softplus,
                   nn.LogSigmoid, nn.Softsign, nn.Tanhshrink)
    names = {module: name for name, module in model.named_modules()}
    last: list[str] = []
    pooled: dict[str, int] = {}
    activated: dict[str, int] = {}

    def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            last.append(names[module])
        elif not last:
            return
        elif isinstance(module, pools):
            pooled[last[-1]] = pooled.get(last[-1], 0) + pool_ops(module, inputs[0], output)
        else:
            activated[last[-1]] = activated.get(last[-1], 0) + int(output.numel())

    from simulator.lowering.tracing import trace_forward

    trace_forward(model, input_shape, (nn.Conv2d, nn.Linear) + pools + activations, hook)
    return {name: PostOps(pooled.get(name, 0), activated.get(name, 0)) for name in set(pooled) | set(activated)}
