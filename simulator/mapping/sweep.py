"""Crossbar-size and strategy sweeps of one network's mapping (`resim map`), and seed 001's
saved-crossbar tables for several global densities."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pandas as pd
from torch import nn

from simulator.lowering.layers import lower_network
from simulator.mapping.network import MappedNetwork, map_lowered
from simulator.mapping.setup import MappingSetup

# Extra columns per layer for one mapped network (`resim map --energy`: its energy and latency on
# a chip built from arrays of the network's tile size), one dict per layer in layer order.
LayerColumns = Callable[[MappedNetwork], list[dict[str, Any]]]


def sweep(model: nn.Module, shape: tuple[int, int, int], setup: MappingSetup, sizes: Iterable[int],
          strategies: Iterable[str], density: float | None = None,
          columns: LayerColumns | None = None) -> pd.DataFrame:
    """One row per (strategy, size, layer): tiles dense / placed, lower bound, seconds, with
    `columns`' figures of each layer added; the network is lowered once and mapped by `setup`
    at every size and strategy."""
    lowered = lower_network(model, shape)
    rows = []
    for strategy in strategies:
        for size in sizes:
            mapped = map_lowered(model, lowered, setup.at(size=size, reorder=strategy))
            extra = columns(mapped) if columns is not None else [{} for _ in mapped.layers]
            for layer, more in zip(mapped.layers, extra, strict=True):
                rows.append({"density": density, "strategy": strategy, "size": size, "layer": layer.name,
                             "tiles_dense": layer.tiles_dense, "tiles_placed": layer.tiles_placed,
                             "lower_bound": layer.layout.total("bound"),
                             "seconds": sum(g.seconds for g in layer.layout.groups), **more})
    return pd.DataFrame(rows)


def summary(per_layer: pd.DataFrame) -> pd.DataFrame:
    """Network totals per (density, strategy, size) with the saved fraction and gap to the bound."""
    keys = ["density", "strategy", "size"]
    columns = ["tiles_dense", "tiles_placed", "lower_bound", "seconds"]
    columns += [c for c in ("arrays", "energy_pj", "latency_ns") if c in per_layer.columns]
    totals = per_layer.groupby(keys, dropna=False, sort=False)[columns].sum().reset_index()
    totals["saved_fraction"] = 1 - totals["tiles_placed"] / totals["tiles_dense"]
    totals["gap_to_bound"] = totals["tiles_placed"] - totals["lower_bound"]
    if "energy_pj" in totals.columns:
        totals["energy_uj"] = totals.pop("energy_pj") / 1e6
        totals["latency_us"] = totals.pop("latency_ns") / 1e3
    return totals


def seed_table(per_layer: pd.DataFrame, size: int, strategy: str) -> pd.DataFrame:
    """Seed 001's format at one crossbar size: layer, total crossbars, saved at each density,
    with a sum row and the saved share."""
    part = per_layer[(per_layer["size"] == size) & (per_layer["strategy"] == strategy)]
    first = part[part["density"] == part["density"].iloc[0]]
    table = pd.DataFrame({"layer": first["layer"].to_list(), "total": first["tiles_dense"].to_list()})
    for density, group in part.groupby("density", sort=False):
        table[f"saved at {density:.0%}"] = (group["tiles_dense"] - group["tiles_placed"]).to_list()
    counts = {c: int(table[c].sum()) for c in table.columns if c != "layer"}
    sums = {"layer": "**Sum**", **counts}
    share = {"layer": "saved share", "total": ""}
    share.update({c: f"{counts[c] / counts['total']:.1%}" for c in table.columns if c.startswith("saved")})
    return pd.concat([table, pd.DataFrame([sums, share])], ignore_index=True)
