"""The hardware stage: mapped layers -> placement -> event simulation -> energy, latency, area.

`evaluate` runs the event model and the closed form side by side and returns tables per layer
and per component (design.md stage 6; the report's energy, latency and area come from here).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from simulator.config.hardware import HardwareConfig
from simulator.hardware.closed_form import closed_form
from simulator.hardware.components import EVENTS, chip_components, geometry
from simulator.hardware.costs import layer_cost
from simulator.hardware.demand import LayerDemand
from simulator.hardware.events import simulate
from simulator.hardware.placement import place, replicate


class ChipSummary(BaseModel):
    """One mapped network on one chip, per inference (design.md stage 6)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    hardware: str = Field(description="Hardware description's name")
    execution: str = Field(description="layer-sequential or pipelined")
    crossbar_size: int = Field(description="Array size N (cells per side)")
    images_simulated: int = Field(description="Images the event model ran")
    tiles: int = Field(description="Tiles on the chip")
    arrays_per_tile: int = Field(description="N x N arrays per tile")
    arrays_chip: int = Field(description="Arrays on the chip")
    arrays_mapped: int = Field(description="Arrays the mapping occupies (one copy of every layer)")
    arrays_with_replicas: int = Field(description="Arrays occupied with the layers' replicas")
    energy_per_inference_pj: float = Field(description="Dynamic plus static energy per inference (pJ)")
    dynamic_energy_pj: float = Field(description="Energy of the events (pJ)")
    static_energy_pj: float = Field(description="Leakage over the time per inference (pJ)")
    latency_ns: float = Field(description="One image through every layer, event model (ns)")
    latency_cycles: float = Field(description="latency_ns in chip cycles")
    interval_ns: float = Field(description="Between finished images in steady state (ns)")
    inferences_per_second: float = Field(description="1 / time per image")
    latency_closed_form_ns: float = Field(description="Latency of the closed form (ns)")
    interval_closed_form_ns: float = Field(description="Interval of the closed form (ns)")
    contention_wait_ns: float = Field(description="Time spent waiting for shared buffers, buses and ports (ns)")
    simulation_events: int = Field(description="simpy events processed")
    tops_per_watt_dense_equivalent: float = Field(description="Dense operations per pJ (= TOPS/W)")
    tops_per_watt_nonzero: float = Field(description="Nonzero operations per pJ (= TOPS/W)")
    area_mm2: float = Field(description="Chip area (mm^2)")
    array_utilization: float = Field(description="Busy array time / (time per image x arrays)")
    adc_utilization: float = Field(description="Busy ADC time / (time per image x ADCs)")

    @property
    def per_image_ns(self) -> float:
        """Time per inference: the pipeline interval, or the latency when layers run in turn."""
        return self.interval_ns if self.execution == "pipelined" else self.latency_ns


class ComponentEnergy(BaseModel):
    """One component of the chip per inference: events, energies and area."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    component: str = Field(description="Component name")
    event: str = Field(description="The event whose count drives its energy")
    events: float = Field(description="Events per inference")
    energy_per_event_pj: float = Field(description="pJ per event")
    dynamic_pj: float = Field(description="events x energy per event (pJ)")
    static_pj: float = Field(description="Leakage of every instance over the time per inference (pJ)")
    instances: int = Field(description="Instances on the chip")
    area_um2: float = Field(description="Area of every instance (um^2)")
    energy_pj: float = Field(description="dynamic_pj + static_pj")


class Comparison(BaseModel):
    """One chip result against another, per inference."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    energy_efficiency: float = Field(description="The other's energy / this one's (x, higher is better)")
    speedup: float = Field(description="The other's time per image / this one's (x, higher is better)")


@dataclass(frozen=True)
class HardwareResult:
    """Energy, latency and area of one mapped network on one chip."""

    summary: ChipSummary
    layers: pd.DataFrame          # one row per layer
    components: list[ComponentEnergy]
    timings: dict[str, float] = field(default_factory=dict)

    def versus(self, other: HardwareResult) -> Comparison:
        """Energy efficiency (other's energy / mine) and speed-up (other's time / mine) per inference."""
        return Comparison(
            energy_efficiency=other.summary.energy_per_inference_pj / self.summary.energy_per_inference_pj,
            speedup=other.summary.per_image_ns / self.summary.per_image_ns)

    def components_table(self) -> pd.DataFrame:
        return pd.DataFrame([c.model_dump() for c in self.components])


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
        count = float(sum(e[c.event] for e in per_layer_events))
        component_rows.append({"component": c.name, "event": c.event, "events": count,
                               "energy_per_event_pj": c.energy_pj, "dynamic_pj": c.energy(count),
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
    summary = ChipSummary(**{
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
    })
    timings = {"placement_seconds": placed_s, "simulation_seconds": simulated_s,
               "energy_seconds": time.perf_counter() - clock}
    return HardwareResult(summary, layers, [ComponentEnergy(**row) for row in table.to_dict(orient="records")],
                          timings)
