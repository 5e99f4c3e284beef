"""One forward pass of a zero input with hooks on chosen modules: how the lowering stage watches a
network run without changing it (its mode and hooks are as before afterwards)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

Hook = Callable[[nn.Module, tuple[torch.Tensor, ...], torch.Tensor], None]


def trace_forward(model: nn.Module, input_shape: tuple[int, int, int], watched: tuple[type[nn.Module], ...],
                  hook: Hook) -> None:
    """One zero input of shape (C, H, W) through `model` in eval mode without gradients,
    `hook(module, inputs, output)` called after every module of a `watched` type."""
    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, watched)]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(torch.zeros(1, *input_shape))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
