"""Building the workload's network: a zoo model or the user's own `module:function`."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from pathlib import Path

from torch import nn

from simulator.config.loader import Workload
from simulator.config.workload import ModelSpec
from simulator.data.datasets import Arrays
from simulator.network.zoo import build_zoo_model


def build_model(spec: ModelSpec, *, in_channels: int, num_classes: int, input_size: int,
                base_dir: Path) -> nn.Module:
    """Instantiate the network named by `spec` for the data set's input shape and classes."""
    shape = {"in_channels": in_channels, "num_classes": num_classes, "input_size": input_size}
    if spec.name is not None:
        return build_zoo_model(spec.name, **shape, **spec.kwargs)
    assert spec.import_ is not None, "ModelSpec holds exactly one of name and import (its validator)"
    return _import_builder(spec.import_, base_dir)(**shape, **spec.kwargs)


def _import_builder(target: str, base_dir: Path) -> Callable[..., nn.Module]:
    # The workload's folder goes first on the path so that a user's model file beside the
    # workload is found without installing it.
    module_name, func_name = target.split(":")
    base = str(base_dir)
    if base not in sys.path:
        sys.path.insert(0, base)
    module = importlib.import_module(module_name)
    builder = getattr(module, func_name, None)
    if not callable(builder):
        raise ValueError(f"model.import: '{target}': {module_name} has no callable '{func_name}'")
    return builder


def build_network(workload: Workload, arrays: Arrays, seed: int | None = None) -> nn.Module:
    """The workload's network freshly initialised for its data set; its initial weights come from
    `seed` (default: the workload's)."""
    import torch

    torch.manual_seed(workload.config.seed if seed is None else seed)
    return build_model(workload.config.model, in_channels=arrays.spec.channels,
                       num_classes=arrays.spec.num_classes, input_size=arrays.spec.size,
                       base_dir=workload.path.parent)
