"""What a network must be before any figure is computed from it (issue #26): every tensor of its
state (weights, biases, buffers such as batch-norm statistics) finite and of a dtype resim computes
in, and at least one Conv2d or Linear weight not zero. Each check returns the one-line reason, or
None, so every caller (a checkpoint file, the cache, an API model) names its own source."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

# resim computes in float32; integer buffers (batch-norm's num_batches_tracked) and masks pass.
FLOAT_DTYPE = torch.float32


def bad_tensor(state: Mapping[str, object]) -> str | None:
    """The first tensor of `state` that resim cannot compute with, as 'tensor NAME holds ...', or
    None: a non-finite value (the first one's index and value), or a floating dtype other than
    float32."""
    for name, tensor in state.items():
        if not isinstance(tensor, torch.Tensor) or not tensor.is_floating_point() and not tensor.is_complex():
            continue
        if tensor.dtype != FLOAT_DTYPE:
            return (f"tensor {name} is {str(tensor.dtype).removeprefix('torch.')}; resim computes in float32 "
                    "(convert the model with .float())")
        # A NaN or infinity anywhere makes the sum non-finite, so a finite sum clears the tensor in
        # one pass with no mask (isfinite over every tensor was 0.2 s of a cold VGG-16 run); a sum of
        # finite values can still overflow, so a non-finite sum is only a reason to look closely.
        if bool(torch.isfinite(tensor.sum())):
            continue
        finite = torch.isfinite(tensor)
        if not bool(finite.all()):
            where = tuple(int(i) for i in (~finite).nonzero()[0])
            value = float(tensor[where]) if where else float(tensor)
            return (f"tensor {name} holds {value} at index {list(where)}; every weight, bias and buffer must be "
                    "finite")
    return None


def unmappable(model: nn.Module) -> str | None:
    """Why `model` has nothing to map onto crossbars, or None: a Conv2d or Linear layer without
    inputs or outputs (a weight of no element), or no non-zero weight in any such layer (only
    biases left, or every weight pruned): the chip would do no work and every ratio divide by 0."""
    from simulator.pruning.masks import prunable

    layers = prunable(model)
    empty = [name for name, layer in layers.items() if layer.weight.numel() == 0]
    if empty:
        shape = tuple(layers[empty[0]].weight.shape)
        return f"layer {empty[0]} has a weight of shape {shape}: a layer with no input or no output cannot be mapped"
    if layers and not any(bool(layer.weight.detach().ne(0).any()) for layer in layers.values()):
        return (f"no Conv2d or Linear weight is non-zero (of {len(layers)} layers): nothing to map onto crossbars, "
                "every weight pruned")
    return None
