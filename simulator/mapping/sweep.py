"""Crossbar-size and strategy sweeps of one network's mapping (`resim map`), and seed 001's
saved-crossbar tables for several global densities."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
from torch import nn

from simulator.lowering.layers import lower_network, weight_matrices
from simulator.mapping.mapper import map_layer


def _layers(model: nn.Module, shape: tuple[int, int, int]) -> list[tuple[str, list]]:
    modules = dict(model.named_modules())
    return [(layer.name, weight_matrices(modules[layer.name])) for layer in lower_network(model, shape)]


def sweep(model: nn.Module, shape: tuple[int, int, int], sizes: Iterable[int], strategies: Iterable[str],
          weight_bits: int, seed: int, density: float | None = None, hardware=None, encoding: str = "two-column",
          cell_bits: int | None = None) -> pd.DataFrame:
    """One row per (strategy, size, layer): tiles dense / placed, lower bound, seconds; with a
    `hardware` description also the layer's energy per inference and its latency on that chip
    built from arrays of the size (seed 004 Fig. 8)."""
    from simulator.hardware.demand import layer_demand
    from simulator.hardware.model import evaluate

    lowered = lower_network(model, shape)
    modules = dict(model.named_modules())
    layers = [(layer, weight_matrices(modules[layer.name])) for layer in lowered]
    rows = []
    for strategy in strategies:
        for size in sizes:
            demands, first = [], len(rows)
            for layer, matrices in layers:
                mapped = map_layer(layer.name, matrices, size, strategy, weight_bits, seed)
                rows.append({"density": density, "strategy": strategy, "size": size, "layer": layer.name,
                             "tiles_dense": mapped.total("dense"), "tiles_placed": mapped.total("placed"),
                             "lower_bound": mapped.total("bound"),
                             "seconds": sum(g.seconds for g in mapped.groups)})
                if hardware is not None:
                    demands.append(layer_demand(layer, mapped))
            if hardware is not None:
                result = evaluate(demands, hardware, encoding=encoding, weight_bits=weight_bits,
                                  cell_bits=cell_bits or hardware.array.cell_bits, size=size)
                for row, (_, hw_row) in zip(rows[first:], result.layers.iterrows()):
                    row["energy_pj"] = hw_row["energy_pj"] + result.summary["static_energy_pj"] * (
                        hw_row["energy_pj"] / max(result.summary["dynamic_energy_pj"], 1e-30))
                    row["latency_ns"] = hw_row["latency_event_ns"]
                    row["arrays"] = hw_row["arrays"]
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
    sums = {"layer": "**Sum**", **{c: int(table[c].sum()) for c in table.columns if c != "layer"}}
    share = {"layer": "saved share", "total": ""}
    share.update({c: f"{sums[c] / sums['total']:.1%}" for c in table.columns if c.startswith("saved")})
    return pd.concat([table, pd.DataFrame([sums, share])], ignore_index=True)
