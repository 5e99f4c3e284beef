"""The hardware stage: mapped layers -> placement -> event simulation -> energy, latency, area.

`evaluate` runs the event model and the closed form side by side and returns tables per layer
and per component (design.md stage 6; the report's energy, latency and area come from here).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from simulator.config.hardware import HardwareConfig
from simulator.hardware.closed_form import closed_form
from simulator.hardware.components import EVENTS, chip_components, geometry
from simulator.hardware.costs import layer_cost
from simulator.hardware.demand import LayerDemand
from simulator.hardware.events import simulate
from simulator.hardware.placement import place, replicate


@dataclass
class HardwareResult:
    """Energy, latency and area of one mapped network on one chip."""

    summary: dict[str, Any]
    layers: pd.DataFrame          # one row per layer
    components: pd.DataFrame      # one row per component: events, dynamic and static energy, area
    timings: dict[str, float] = field(default_factory=dict)


def evaluate(demands: list[LayerDemand], hw: HardwareConfig, *, encoding: str, weight_bits: int, cell_bits: int,
             size: int, images: int | None = None, replicate_layers: bool | None = None) -> HardwareResult:
    """Place, simulate and cost `demands` on the chip `hw` built from N x N arrays (N = `size`).

    `images`: images simulated (default 1 layer-sequential, 2 pipelined, so the steady-state
    interval is measured)."""
    clock = time.perf_counter()
    execution = hw.chip.execution
    images = images or (2 if execution == "pipelined" else 1)
    geo = geometry(hw, size)
    costs = [layer_cost(d, hw, geo, encoding, weight_bits, cell_bits) for d in demands]
    counts = replicate(costs, geo.arrays, execution, hw.chip.replicate if replicate_layers is None else replicate_layers)
    replicas = place(costs, counts, geo.arrays_per_tile)
    placed_s = time.perf_counter() - clock

    clock = time.perf_counter()
    sim = simulate(costs, replicas, geo.tiles, execution, images)
    simulated_s = time.perf_counter() - clock

    clock = time.perf_counter()
    closed = closed_form(costs, counts, execution, images)
    latency_ns = sim.image_done_ns[0]
    interval_ns = (sim.image_done_ns[-1] - sim.image_done_ns[-2]) if images > 1 else latency_ns
    if execution == "pipelined" and images > 1:
        per_image_ns = interval_ns
    else:
        per_image_ns = latency_ns
    # Event counts per inference, from what the event model executed.
    per_layer_events = []
    for i, cost in enumerate(costs):
        ops, vectors = sim.ops[i] / images, sim.vectors[i] / images
        per_layer_events.append({e: ops * cost.per_op.get(e, 0.0) + vectors * cost.per_vector.get(e, 0.0)
                                 for e in EVENTS})
    stored_index_bits = int(sum(d.index_bits * n for d, n in zip(demands, counts)))
    components = chip_components(hw, geo, stored_index_bits)
    seconds = per_image_ns * 1e-9

    layer_rows = []
    for i, (cost, demand, n) in enumerate(zip(costs, demands, counts)):
        events = per_layer_events[i]
        energies = {f"energy_{c.name}_pj": c.energy(events[c.event]) for c in components}
        layer_rows.append({
            "layer": cost.name, "tiles": cost.tiles, "arrays": cost.arrays, "replicas": n,
            "arrays_with_replicas": cost.arrays * n, "vectors": cost.vectors, "phases": cost.phases,
            "array_ops": float(sim.ops[i] / images), **events, **energies,
            "energy_pj": float(sum(energies.values())),
            "latency_event_ns": sim.layer_ns[i], "latency_closed_ns": closed.layer_ns[i],
            "latency_event_cycles": sim.layer_ns[i] / hw.cycle_ns,
            "read_ns": cost.read_ns, "adc_ns": cost.adc_ns, "vector_ns": cost.vector_ns,
            "macs": cost.macs, "nonzeros": demand.nonzeros,
        })
    layers = pd.DataFrame(layer_rows)

    component_rows = []
    for c in components:
        events = float(sum(e[c.event] for e in per_layer_events))
        component_rows.append({"component": c.name, "event": c.event, "events": events,
                               "energy_per_event_pj": c.energy_pj, "dynamic_pj": c.energy(events),
                               "static_pj": c.static_energy(seconds), "instances": c.instances,
                               "area_um2": c.area_total_um2})
    table = pd.DataFrame(component_rows)
    table["energy_pj"] = table["dynamic_pj"] + table["static_pj"]
    energy_pj = float(table["energy_pj"].sum())
    dense_ops = 2.0 * float(sum(c.macs for c in costs))
    sparse_ops = 2.0 * float(sum(d.nonzeros * d.vectors for d in demands))
    used_arrays = int(sum(c.arrays * n for c, n in zip(costs, counts)))
    busy_array_ns = float(sum(sim.ops[i] / images * c.read_ns * c.arrays for i, c in enumerate(costs)))
    busy_adc_ns = float(sum(sim.ops[i] / images * c.adc_ns * c.adcs for i, c in enumerate(costs)))
    summary = {
        "hardware": hw.name, "execution": execution, "crossbar_size": size, "images_simulated": images,
        "tiles": geo.tiles, "arrays_per_tile": geo.arrays_per_tile, "arrays_chip": geo.arrays,
        "arrays_mapped": int(sum(c.arrays for c in costs)), "arrays_with_replicas": used_arrays,
        "energy_per_inference_pj": energy_pj,
        "dynamic_energy_pj": float(table["dynamic_pj"].sum()), "static_energy_pj": float(table["static_pj"].sum()),
        "latency_ns": latency_ns, "latency_cycles": latency_ns / hw.cycle_ns,
        "interval_ns": interval_ns, "inferences_per_second": 1e9 / per_image_ns if per_image_ns else float("inf"),
        "latency_closed_form_ns": closed.latency_ns, "interval_closed_form_ns": closed.interval_ns,
        "contention_wait_ns": sim.wait_ns, "simulation_events": sim.events,
        "tops_per_watt_dense_equivalent": dense_ops / energy_pj if energy_pj else 0.0,   # ops/pJ = TOPS/W
        "tops_per_watt_nonzero": sparse_ops / energy_pj if energy_pj else 0.0,
        "area_mm2": float(table["area_um2"].sum()) * 1e-6,
        "array_utilization": busy_array_ns / (per_image_ns * geo.arrays) if per_image_ns else 0.0,
        "adc_utilization": busy_adc_ns / (per_image_ns * geo.arrays * geo.adcs_per_array) if per_image_ns else 0.0,
    }
    timings = {"placement_seconds": placed_s, "simulation_seconds": simulated_s,
               "energy_seconds": time.perf_counter() - clock}
    return HardwareResult(summary, layers, table, timings)
