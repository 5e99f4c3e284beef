"""Building the workload's network: a zoo model or the user's own `module:function`."""

from __future__ import annotations

import functools
import importlib
import inspect
import sys
from collections.abc import Callable
from pathlib import Path

from torch import nn

from simulator.config.errors import ConfigError, Problem
from simulator.config.loader import Workload
from simulator.config.workload import ModelSpec
from simulator.data.datasets import Arrays
from simulator.data.identity import DataIdentity
from simulator.network.zoo import build_zoo_model


def build_model(spec: ModelSpec, *, in_channels: int, num_classes: int, input_size: int,
                base_dir: Path, source: Path | None = None) -> nn.Module:
    """Instantiate the network named by `spec` for the data set's input shape and classes. A
    module that cannot be imported, or a builder that rejects `spec.kwargs`, raises ConfigError on
    `source` (the workload file) naming model.import or model.kwargs."""
    where = source if source is not None else base_dir
    shape = {"in_channels": in_channels, "num_classes": num_classes, "input_size": input_size}
    if spec.name is not None:
        builder: Callable[..., nn.Module] = functools.partial(build_zoo_model, spec.name)
        label = f"zoo model {spec.name!r}"
    else:
        assert spec.import_ is not None
        builder, label = _import_builder(spec.import_, base_dir, where), spec.import_
        try:
            inspect.signature(builder).bind(**shape, **spec.kwargs)
        except TypeError as exc:
            raise ConfigError([Problem(where, "model.kwargs", f"{label} does not take them: {exc}",
                                       spec.kwargs)]) from None
        except ValueError:
            pass   # no signature to check (a builtin): the call below tells
    try:
        return builder(**shape, **spec.kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError([Problem(where, "model.kwargs", f"{label} rejects them: {_first_line(exc)}",
                                   spec.kwargs)]) from None


def _first_line(exc: BaseException, limit: int = 200) -> str:
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _import_builder(target: str, base_dir: Path, where: Path) -> Callable[..., nn.Module]:
    # The workload's folder goes first on the path so that a user's model file beside the
    # workload is found without installing it. Importing runs the user's package: only here,
    # when a command builds the network (never in `resim validate`).
    module_name, func_name = target.split(":")
    base = str(base_dir)
    if base not in sys.path:
        sys.path.insert(0, base)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError([Problem(where, "model.import", f"cannot import {module_name}: {_first_line(exc)}",
                                   target)]) from None
    builder = getattr(module, func_name, None)
    if not callable(builder):
        raise ConfigError([Problem(where, "model.import", f"{module_name} has no callable {func_name!r}", target)])
    return builder


def build_network(workload: Workload, arrays: Arrays | DataIdentity, seed: int | None = None) -> nn.Module:
    """The workload's network freshly initialised for its data set (the loaded one, or its
    identity: only its shape and classes are read); its initial weights come from `seed`
    (default: the workload's)."""
    import torch

    spec = arrays.spec
    assert spec is not None, "the data set's shape"
    torch.manual_seed(workload.config.seed if seed is None else seed)
    return build_model(workload.config.model, in_channels=spec.channels,
                       num_classes=spec.num_classes, input_size=spec.size,
                       base_dir=workload.path.parent, source=workload.path)


def zoo_layer_names(workload: Workload) -> list[str] | None:
    """The Conv2d and Linear layer names of a workload's zoo network, built on torch's meta device
    (shapes, no memory, no data set), or None for a user's model.import (`resim validate` never
    imports it)."""
    import torch

    from simulator.data.datasets import _spec
    from simulator.pruning.masks import prunable

    spec = workload.config.model
    if spec.name is None:
        return None
    data = _spec(workload.config.data.dataset)
    with torch.device("meta"):
        model = build_model(spec, in_channels=data.channels, num_classes=data.num_classes, input_size=data.size,
                            base_dir=workload.path.parent, source=workload.path)
    return list(prunable(model))


def check_fault_layers(workload: Workload, names: list[str]) -> None:
    """ConfigError on faults.layers or faults.only_layers when one names a layer not in `names`."""
    from simulator.config.faults import UnknownLayerError

    spec = workload.config.faults
    if spec is None:
        return
    try:
        spec.multipliers(names)
    except UnknownLayerError as exc:
        raise ConfigError([Problem(workload.path, f"faults.{exc.key}", str(exc), exc.name)]) from None


def check_fault_layers_early(workload: Workload) -> None:
    """`check_fault_layers` before any work, where the layer names are known without the weights
    (a zoo network); costs nothing (no torch import) when the workload names no layer."""
    spec = workload.config.faults
    if spec is None or (not spec.layers and spec.only_layers is None):
        return
    names = zoo_layer_names(workload)
    if names is not None:
        check_fault_layers(workload, names)
