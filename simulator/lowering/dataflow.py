"""Which outputs of which layers each window of a layer reads (the inter-layer pipeline's
dependencies, design.md stage 6).

A window of a Conv2d layer reads a band of rows of its input map (its receptive field); that band
comes from the rows of the producing layers' output maps, through whatever sits between them
(ReLU, batch norm and additions keep the rows, pooling by k maps k rows to one). A Linear layer
after a flatten reads the whole map. Windows run in raster order (row by row), so "rows r0..r1 of
the producer" is "producer windows r0 x W .. (r1 + 1) x W - 1".

Producers come from the module graph (torch.fx): the nearest Conv2d / Linear layers upstream of a
layer's input. Where a model cannot be traced (data-dependent control flow in a user's model),
every layer reads the layer called before it, which is exact for chains and says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:   # torch only where a network is traced: the mapping cache's copy needs none
    import torch
    from torch import nn


@dataclass(frozen=True)
class LayerGeometry:
    """One Conv2d / Linear as the pipeline sees it."""

    name: str
    kind: str                              # "conv" or "linear"
    in_hw: tuple[int, int]                 # input map rows, columns (linear: 1, 1)
    out_hw: tuple[int, int]                # output map rows, columns: windows = rows x columns
    kernel: tuple[int, int] = (1, 1)
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    dilation: tuple[int, int] = (1, 1)

    @property
    def windows(self) -> int:
        return self.out_hw[0] * self.out_hw[1]


@dataclass(frozen=True)
class Dataflow:
    """Every layer's geometry and producers, in call order; `traced` says whether the producers
    come from the module graph (True) or stand in as "the layer called before" (False)."""

    layers: tuple[LayerGeometry, ...]
    producers: tuple[tuple[int, ...], ...]
    traced: bool

    def as_dict(self) -> dict[str, object]:
        """Plain JSON-able content (the mapping cache stores it beside the mapping)."""
        return {"traced": self.traced, "producers": [list(p) for p in self.producers],
                "layers": [{"name": g.name, "kind": g.kind, "in_hw": list(g.in_hw), "out_hw": list(g.out_hw),
                            "kernel": list(g.kernel), "stride": list(g.stride), "padding": list(g.padding),
                            "dilation": list(g.dilation)} for g in self.layers]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Dataflow:
        def pair(values: list[int]) -> tuple[int, int]:
            return int(values[0]), int(values[1])

        layers = tuple(LayerGeometry(str(g["name"]), str(g["kind"]), pair(g["in_hw"]), pair(g["out_hw"]),
                                     pair(g["kernel"]), pair(g["stride"]), pair(g["padding"]), pair(g["dilation"]))
                       for g in data["layers"])
        return cls(layers, tuple(tuple(int(i) for i in p) for p in data["producers"]), bool(data["traced"]))


def _pair(value: int | tuple[int, ...] | Any) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[-1]))


class GeometryRecorder:
    """A forward hook, called after every Conv2d / Linear (simulator.lowering.layers.run_with_layer_hooks),
    that records each one's geometry on its first call; so that the lowering's own pass of the
    network can record it too."""

    def __init__(self, model: nn.Module) -> None:
        self._names = {module: name for name, module in model.named_modules()}
        self._found: dict[str, LayerGeometry] = {}

    def __call__(self, module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        from torch import nn

        from simulator.lowering.conv_options import zero_padding

        name = self._names[module]
        if name in self._found:
            return
        if isinstance(module, nn.Conv2d):
            self._found[name] = LayerGeometry(
                name, "conv", (int(inputs[0].shape[2]), int(inputs[0].shape[3])),
                (int(output.shape[2]), int(output.shape[3])), _pair(module.kernel_size), _pair(module.stride),
                zero_padding(module), _pair(module.dilation))
        else:
            positions = int(np.prod(output.shape[1:-1])) if output.dim() > 2 else 1
            self._found[name] = LayerGeometry(name, "linear", (1, 1), (positions, 1))

    def result(self) -> list[LayerGeometry]:
        """Every layer seen, in call order."""
        return list(self._found.values())


def layer_geometry(model: nn.Module, input_shape: tuple[int, int, int]) -> list[LayerGeometry]:
    """Geometry of every Conv2d / Linear of `model` for one input of shape (C, H, W), in call order
    (the order of simulator.lowering.layers.lower_network)."""
    from simulator.lowering.layers import run_with_layer_hooks

    recorder = GeometryRecorder(model)
    run_with_layer_hooks(model, input_shape, recorder)
    return recorder.result()


def traced_producers(model: nn.Module, names: list[str]) -> list[tuple[int, ...]] | None:
    """Per layer (by `names`, call order), the indices of the nearest Conv2d / Linear layers
    upstream of its input in the module graph; None when the model cannot be traced."""
    import torch.fx

    try:
        graph = torch.fx.symbolic_trace(model).graph
    except Exception:   # noqa: BLE001 - any tracing failure means: fall back to call order
        return None
    index = {name: i for i, name in enumerate(names)}
    nodes = {node.target: node for node in graph.nodes if node.op == "call_module" and node.target in index}
    if set(nodes) != set(index):
        return None
    out: list[tuple[int, ...]] = []
    for name in names:
        found: set[int] = set()
        stack = list(nodes[name].all_input_nodes)
        seen = set()
        while stack:
            node = stack.pop()
            if node in seen:
                continue
            seen.add(node)
            if node.op == "call_module" and node.target in index:
                found.add(index[str(node.target)])
            else:
                stack.extend(node.all_input_nodes)
        out.append(tuple(sorted(found)))
    return out


def dataflow(model: nn.Module, input_shape: tuple[int, int, int],
             geometry: list[LayerGeometry] | None = None) -> Dataflow:
    """The geometry and producers of every Conv2d / Linear layer of `model`; `geometry`: the
    layers' layer_geometry where a pass of the network has recorded it already."""
    layers = layer_geometry(model, input_shape) if geometry is None else geometry
    names = [g.name for g in layers]
    found = traced_producers(model, names)
    if found is not None and all(p < i for i, ps in enumerate(found) for p in ps):
        return Dataflow(tuple(layers), tuple(found), True)
    return Dataflow(tuple(layers), tuple((i - 1,) if i else () for i in range(len(layers))), False)


def window_needs(consumer: LayerGeometry, producer: LayerGeometry) -> tuple[np.ndarray, np.ndarray]:
    """(first, last) producer window that each window of `consumer` reads, in raster order.

    A conv window at output row y reads input rows y*s - p .. y*s - p + d*(k - 1) (clipped to the
    map); input row r comes from producer rows floor(r * Hp / Hin) .. ceil((r + 1) * Hp / Hin) - 1
    (pooling by Hp / Hin in between). Anything else (a linear layer, a flatten in between) reads
    the producer's whole output."""
    n_prod = producer.windows
    n_cons = consumer.windows
    whole = (np.zeros(n_cons, dtype=np.int64), np.full(n_cons, n_prod - 1, dtype=np.int64))
    if consumer.kind != "conv" or producer.kind != "conv":
        return whole
    h_in = consumer.in_hw[0]
    hp, wp = producer.out_hw
    if h_in <= 0 or hp <= 0:
        return whole
    out_h, out_w = consumer.out_hw
    y = np.arange(out_h)
    top = y * consumer.stride[0] - consumer.padding[0]
    bottom = top + consumer.dilation[0] * (consumer.kernel[0] - 1)
    top = np.clip(top, 0, h_in - 1)
    bottom = np.clip(bottom, 0, h_in - 1)
    scale = hp / h_in
    row_lo = np.floor(top * scale).astype(np.int64)
    row_hi = np.minimum(np.ceil((bottom + 1) * scale).astype(np.int64) - 1, hp - 1)
    lo = np.repeat(row_lo * wp, out_w)
    hi = np.repeat((row_hi + 1) * wp - 1, out_w)
    return np.clip(lo, 0, n_prod - 1), np.clip(hi, 0, n_prod - 1)
