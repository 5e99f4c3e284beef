"""Lowering Conv2d and Linear layers to crossbar weight matrices (design.md, stage 3).

A layer becomes `W` of shape (R, C): R = in_channels/groups * kh * kw rows (wordlines, inputs,
in `torch.nn.functional.unfold` order) and C = out_channels/groups columns (bitlines, outputs),
one such matrix per group, fed H_out * W_out input vectors per inference.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from simulator.lowering.lowered import LoweredLayer
from simulator.lowering.post_ops import PostOps, PostOpsRecorder
from simulator.lowering.tracing import trace_forward
from simulator.pruning.masks import WeightLayer, prunable

if TYPE_CHECKING:
    from simulator.lowering.dataflow import Dataflow

LayerHook = Callable[[nn.Module, tuple[torch.Tensor, ...], torch.Tensor], None]


def weight_matrices(module: WeightLayer) -> list[np.ndarray]:
    """The (R, C) matrix of each group: rows in unfold order (channel, kh, kw), columns = outputs."""
    weight = module.weight.detach().cpu()
    groups = getattr(module, "groups", 1)
    out_per_group = weight.shape[0] // groups
    return [
        weight[g * out_per_group:(g + 1) * out_per_group].reshape(out_per_group, -1).T.numpy()
        for g in range(groups)
    ]


def lower_network(model: nn.Module, input_shape: tuple[int, int, int]) -> list[LoweredLayer]:
    """Lower every Conv2d and Linear of `model` for one input of shape (C, H, W), in call order."""
    return _lower_traced(model, input_shape, [])


def lower_with_dataflow(model: nn.Module, input_shape: tuple[int, int, int]) -> tuple[list[LoweredLayer], Dataflow]:
    """lower_network and simulator.lowering.dataflow.dataflow of `model` from one forward pass
    (they took three: the lowering's, the pooling and activation count's and the geometry's)."""
    from simulator.lowering.dataflow import GeometryRecorder, dataflow

    geometry = GeometryRecorder(model)
    layers = _lower_traced(model, input_shape, [geometry])
    return layers, dataflow(model, input_shape, geometry.result())


def _lower_traced(model: nn.Module, input_shape: tuple[int, int, int], more: list[LayerHook]) -> list[LoweredLayer]:
    """The lowered layers, counting the pooling and activations after each in the same pass, and
    `more` hooks called after every Conv2d / Linear."""
    vectors: dict[str, int] = {}
    order: list[str] = []
    names = {module: name for name, module in model.named_modules()}
    post = PostOpsRecorder(model)

    def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            name = names[module]
            if name not in vectors:
                order.append(name)
                # Conv: one input vector per output pixel; Linear: one per leading position.
                vectors[name] = int(np.prod(output.shape[2:])) if isinstance(module, nn.Conv2d) \
                    else int(np.prod(output.shape[1:-1]))
            for other in more:
                other(module, inputs, output)
        post(module, inputs, output)
    run_with_layer_hooks(model, input_shape, hook, also=post.watched)
    modules = prunable(model)
    found = post.result()
    none = PostOps()
    return [replace(_lower(name, modules[name], vectors[name]), pool_ops=found.get(name, none).pool_ops,
                    activations=found.get(name, none).activations) for name in order]


class NothingToMap(ValueError):
    """The network's forward pass runs no Conv2d or Linear layer: no crossbar would do any work
    (and the chip's figures would divide by zero)."""


def run_with_layer_hooks(model: nn.Module, input_shape: tuple[int, int, int], hook: LayerHook,
                         also: tuple[type[nn.Module], ...] = ()) -> None:
    """One zero input of shape (C, H, W) through `model` in eval mode, `hook(module, inputs, output)`
    called after every Conv2d and Linear, and after every module of an `also` type; the model's
    mode and hooks are as before afterwards. NothingToMap when no Conv2d or Linear runs;
    UnmodelledLayer (simulator.lowering.conv_options) for a layer option resim does not model."""
    from simulator.lowering.conv_options import check_modelled

    check_modelled(model)
    layer_types = (nn.Conv2d, nn.Linear)
    ran: list[nn.Module] = []

    def counted(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        if isinstance(module, layer_types):
            ran.append(module)
        hook(module, inputs, output)

    trace_forward(model, input_shape, layer_types + also, counted)
    if not ran:
        raise NothingToMap(f"{type(model).__name__}'s forward pass on one input of shape {tuple(input_shape)} runs "
                           f"none of its {sum(isinstance(m, layer_types) for m in model.modules())} Conv2d "
                           "or Linear layers: nothing to map onto crossbars")


def _lower(name: str, module: WeightLayer, vectors: int) -> LoweredLayer:
    weight = module.weight.detach()
    groups = getattr(module, "groups", 1)
    rows = int(np.prod(weight.shape[1:]))
    return LoweredLayer(
        name=name,
        kind="conv" if isinstance(module, nn.Conv2d) else "linear",
        weight_shape=tuple(weight.shape),
        rows=rows,
        cols=weight.shape[0] // groups,
        groups=groups,
        vectors=max(vectors, 1),
        nonzeros=int(torch.count_nonzero(weight)),
        total=weight.numel(),
    )
