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


class PostOpsRecorder:
    """A forward hook (simulator.lowering.tracing) that counts, per Conv2d / Linear, the pooling
    and activation work after it; to be called after every module of a `watched` type, in call
    order, so that the lowering's own pass of the network can count them too."""

    def __init__(self, model: nn.Module) -> None:
        from torch import nn

        self._layers = (nn.Conv2d, nn.Linear)
        self._pools = (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d,
                       nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d, nn.AdaptiveAvgPool1d,
                       nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d)
        activations = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.RReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU,
                       nn.SiLU, nn.Mish, nn.Hardswish, nn.Hardsigmoid, nn.Hardtanh, nn.Sigmoid, nn.Tanh,
                       nn.Softplus, nn.LogSigmoid, nn.Softsign, nn.Tanhshrink)
        self.watched: tuple[type[nn.Module], ...] = self._layers + self._pools + activations
        self._names = {module: name for name, module in model.named_modules()}
        self._last: list[str] = []
        self._pooled: dict[str, int] = {}
        self._activated: dict[str, int] = {}

    def __call__(self, module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        if isinstance(module, self._layers):
            self._last.append(self._names[module])
        elif not self._last or not isinstance(module, self.watched):
            return
        elif isinstance(module, self._pools):
            last = self._last[-1]
            self._pooled[last] = self._pooled.get(last, 0) + pool_ops(module, inputs[0], output)
        else:
            last = self._last[-1]
            self._activated[last] = self._activated.get(last, 0) + int(output.numel())

    def result(self) -> dict[str, PostOps]:
        """Per Conv2d / Linear (by module name) that any pooling or activation follows, its work."""
        return {name: PostOps(self._pooled.get(name, 0), self._activated.get(name, 0))
                for name in set(self._pooled) | set(self._activated)}


def post_layer_ops(model: nn.Module, input_shape: tuple[int, int, int]) -> dict[str, PostOps]:
    """Per Conv2d / Linear (by module name), the pooling and activation work that follows it."""
    from simulator.lowering.tracing import trace_forward

    recorder = PostOpsRecorder(model)
    trace_forward(model, input_shape, recorder.watched, recorder)
    return recorder.result()
