"""The hardware stage's typed result: one mapped network on one chip (design.md stage 6).

`evaluate` resolves the chip at the mapping's crossbar size (simulator.hardware.chip.spec), sizes
it by the study's policy, runs the event model (simulator.hardware.chip_model, engine) and returns
the summary, the components and the layers; the report's energy, latency and area come from here.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field

from simulator.config.hardware import HardwareConfig
from simulator.hardware.chip.spec import chip_spec
from simulator.hardware.chip_model import ChipResult, Simulations, Sizing
from simulator.hardware.chip_model import evaluate as run_chip
from simulator.hardware.engine import WAIT_CLASSES
from simulator.lowering.dataflow import Dataflow
from simulator.mapping.demand import LayerDemand

if TYPE_CHECKING:   # pandas only where a table is built: the hardware stage itself never imports it
    import pandas as pd


class ChipSummary(BaseModel):
    """One mapped network on one chip, per inference (design.md stage 6)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    hardware: str = Field(description="Hardware description's name")
    execution: str = Field(description="layer-sequential or pipelined")
    sizing: str = Field(description="How the chip was sized: fixed, fit or iso-area")
    crossbar_size: int = Field(description="Array size N (cells per side)")
    images_simulated: int = Field(description="Images the event model ran")
    tiles: int = Field(description="Tiles on the chip")
    arrays_per_tile: int = Field(description="N x N arrays per tile")
    arrays_chip: int = Field(description="Arrays on the chip")
    arrays_mapped: int = Field(description="Arrays the mapping occupies (one copy of every layer)")
    arrays_with_replicas: int = Field(description="Arrays occupied with the layers' replicas")
    adc_bits: int = Field(description="ADC resolution at this N (ISAAC's rule, capped, or the file's)")
    cycle_ns: float = Field(description="Slowest per-phase stage: max(array read, conversions of one read) (ns)")
    energy_per_inference_pj: float = Field(description="Dynamic plus static energy per inference (pJ)")
    dynamic_energy_pj: float = Field(description="Energy of the events that ran (pJ)")
    static_energy_pj: float = Field(description="Leakage over the time per image: buffers, routers, bus, registers "
                                                "always; array periphery as chip.power_gating says (pJ)")
    latency_ns: float = Field(description="One image through every layer, event model (ns)")
    latency_cycles: float = Field(description="latency_ns in cycles of cycle_ns")
    interval_ns: float = Field(description="Between finished images in steady state (ns)")
    inferences_per_second: float = Field(description="1 / time per image")
    latency_closed_form_ns: float = Field(description="Closed form without contention: sequential latency or "
                                                      "pipeline interval, as the chip executes (ns)")
    interval_closed_form_ns: float = Field(description="Closed-form pipeline interval (slowest layer) (ns)")
    contention_wait_ns: float = Field(description="Time windows spent waiting for shared resources, all classes (ns)")
    waits_ns: dict[str, float] = Field(description="Waiting per resource class: arrays, adcs, buffer_ports, "
                                                   "buffer_space, network (ns, summed over windows)")
    simulation_events: int = Field(description="simpy events processed")
    power_mw: float = Field(description="Average power: energy per inference / time per image (mW)")
    edp_uj_us: float = Field(description="Energy-delay product: energy per inference x latency (uJ x us)")
    tops_per_watt_dense_equivalent: float = Field(description="Dense operations per pJ (= TOPS/W)")
    tops_per_watt_nonzero: float = Field(description="Nonzero operations per pJ (= TOPS/W)")
    tops_per_mm2: float = Field(description="Dense operations per second per mm^2 of chip (TOPS/mm^2)")
    area_mm2: float = Field(description="Chip area (mm^2)")
    array_utilization: float = Field(description="Busy array time / (time per image x arrays)")
    adc_utilization: float = Field(description="Busy ADC time / (time per image x ADCs), an upper bound")
    peak_buffer_bytes: float = Field(description="Most bytes one input buffer held (pipelined chips: a layer's "
                                                 "copies share one line buffer)")
    buffer_bytes_per_tile: float = Field(description="eDRAM per tile, shared by the copies on it (bytes)")
    dataflow_traced: bool = Field(description="Layer producers from the module graph (else: the layer called before)")
    dac_activity: float | None = Field(
        None, description="Share of wordline drives that fired, from input-digit activity measured on test images "
                          "(hardware_study.dac_activity: measured); none: every placed row driven in every phase")
    dac_energy_per_drive_pj: float | None = Field(
        None, description="Dynamic energy of one wordline drive at this chip's N: driver and wordline (the "
                          "hardware file's dac.model) (pJ)")
    adcs: int | None = Field(None, description="Converters (ADCs or sense amplifiers) on the chip")
    bitlines_per_adc: float | None = Field(
        None, description="Bitlines one converter reads through its multiplexer (both arrays of a shared polarity "
                          "pair counted): adc.columns_per_adc x adc.arrays_per_adc at this N")
    adc_group_arrays: int | None = Field(
        None, description="Arrays whose conversions one converter group takes (copies placed in one group "
                          "contend for it in the event model)")
    pair_periphery_shared: bool | None = Field(
        None, description="A polarity pair's two arrays share drivers, sample-and-holds and converters "
                          "(composition.pair_periphery: shared, PRIME Sec. III-A1)")

    @computed_field(description="Static share of the energy per inference: static_energy_pj / energy_per_inference_pj")  # type: ignore[prop-decorator]
    @property
    def static_share(self) -> float:
        return self.static_energy_pj / self.energy_per_inference_pj if self.energy_per_inference_pj else 0.0
    programmed_cells: float | None = Field(
        None, description="Cells written to load the network once: every placed cell of every copy (replicas too)")
    programming_energy_uj: float | None = Field(
        None, description="Writing those cells once before inference (MNSIM 2.0's write model: pulses x V^2 / "
                          "sqrt(R_on R_off) x pulse per cell), apart from the per-inference energy (uJ)")
    programming_time_ms: float | None = Field(
        None, description="Writing them: each tile's arrays one at a time and their rows in turn, the tiles at "
                          "once (ms)")

    @property
    def per_image_ns(self) -> float:
        """Time per inference: the pipeline interval, or the latency when layers run in turn."""
        return self.interval_ns if self.execution == "pipelined" else self.latency_ns


class ComponentEnergy(BaseModel):
    """One component of the chip per inference: events, energies, leakage and area."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    component: str = Field(description="Component name")
    event: str = Field(description="The event whose count drives its energy")
    events: float = Field(description="Events per inference")
    energy_per_event_pj: float = Field(description="pJ per event")
    dynamic_pj: float = Field(description="events x energy per event (pJ)")
    static_pj: float = Field(description="Leakage of every instance over the time per inference (pJ)")
    leakage_mw: float = Field(description="Static power of every instance on the chip (mW)")
    instances: int = Field(description="Instances on the chip")
    area_um2: float = Field(description="Area of every instance (um^2)")
    energy_pj: float = Field(description="dynamic_pj + static_pj")


class Comparison(BaseModel):
    """One chip result against another, per inference; area and power beside every ratio."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    energy_efficiency: float = Field(description="The other's energy / this one's (x, higher is better)")
    speedup: float = Field(description="The other's time per image / this one's (x, higher is better)")
    edp_improvement: float = Field(description="The other's energy-delay product / this one's (x)")
    area_ratio: float = Field(description="This chip's area / the other's")
    power_ratio: float = Field(description="This chip's average power / the other's")


@dataclass(frozen=True)
class LayerFigures:
    """One layer's figures on the chip: its arrays and copies, event counts and energies per
    component (by the chip's component names, so the set varies with the chip), and its timing."""

    layer: str
    tiles: int
    arrays: int
    replicas: int
    arrays_with_replicas: int
    vectors: int
    array_ops: float
    events: Mapping[str, float]          # event name -> count per inference
    energies_pj: Mapping[str, float]     # component -> energy per inference (pJ)
    energy_pj: float
    latency_event_ns: float
    latency_closed_ns: float
    start_ns: float
    end_ns: float
    read_ns: float
    adc_ns: float
    window_ns: float
    macs: int
    nonzeros: int

    def as_dict(self) -> dict[str, Any]:
        """The flat row of the layer table: events by name, energies as energy_<component>_pj."""
        return {"layer": self.layer, "tiles": self.tiles, "arrays": self.arrays, "replicas": self.replicas,
                "arrays_with_replicas": self.arrays_with_replicas, "vectors": self.vectors,
                "array_ops": self.array_ops, **self.events,
                **{f"energy_{name}_pj": value for name, value in self.energies_pj.items()},
                "energy_pj": self.energy_pj, "latency_event_ns": self.latency_event_ns,
                "latency_closed_ns": self.latency_closed_ns, "start_ns": self.start_ns, "end_ns": self.end_ns,
                "read_ns": self.read_ns, "adc_ns": self.adc_ns, "window_ns": self.window_ns,
                "macs": self.macs, "nonzeros": self.nonzeros}

    def chip_columns(self) -> dict[str, Any]:
        """The figures the mapping's own row does not hold (the report's merged layer row)."""
        return {k: v for k, v in self.as_dict().items() if k not in ("layer", "tiles", "vectors", "macs", "nonzeros")}


@dataclass(frozen=True)
class HardwareResult:
    """Energy, latency and area of one mapped network on one chip."""

    summary: ChipSummary
    rows: list[LayerFigures]          # one per layer, in the network's order
    components: list[ComponentEnergy]
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def layers(self) -> pd.DataFrame:
        """The layer rows as a table: tiles, arrays, replicas, events, energy per component, timing."""
        import pandas as pd

        return pd.DataFrame([row.as_dict() for row in self.rows])

    def versus(self, other: HardwareResult) -> Comparison:
        """Energy efficiency (other's energy / mine) and speed-up (other's time / mine) per inference."""
        me, them = self.summary, other.summary
        return Comparison(
            energy_efficiency=them.energy_per_inference_pj / me.energy_per_inference_pj,
            speedup=them.per_image_ns / me.per_image_ns,
            edp_improvement=them.edp_uj_us / me.edp_uj_us if me.edp_uj_us else 0.0,
            area_ratio=me.area_mm2 / them.area_mm2 if them.area_mm2 else 0.0,
            power_ratio=me.power_mw / them.power_mw if them.power_mw else 0.0)

    def components_table(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame([c.model_dump() for c in self.components])

    def to_frame(self) -> pd.DataFrame:
        """One row per layer: tiles, arrays, replicas, events, energy per component, timing."""
        return self.layers

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able content: the summary, the components, the layers' rows and the timings."""
        return {"summary": self.summary.model_dump(mode="json"),
                "components": [c.model_dump(mode="json") for c in self.components],
                "layers": json.loads(self.layers.to_json(orient="records")), "timings": dict(self.timings)}

    def _repr_html_(self) -> str:
        import pandas as pd

        from simulator.html_summary import percent, summary_html

        s = self.summary
        components = self.components_table()
        total = float(components["energy_pj"].sum()) if not components.empty else 0.0
        shown = components.sort_values("energy_pj", ascending=False)[["component", "energy_pj", "area_um2"]]
        shown = pd.DataFrame({"component": shown["component"],
                              "energy per inference (nJ)": shown["energy_pj"].map(lambda pj: f"{pj / 1e3:,.3f}"),
                              "share": shown["energy_pj"].map(lambda pj: percent(pj / total) if total else "-"),
                              "area (mm^2)": shown["area_um2"].map(lambda um2: f"{um2 / 1e6:,.4f}")})
        return summary_html(f"{s.hardware}: {s.crossbar_size}x{s.crossbar_size} arrays, {s.execution}, "
                            f"sized {s.sizing}", chip_facts(s), [("energy by component", shown)])


def chip_facts(s: ChipSummary) -> list[tuple[str, str]]:
    """The headline figures of one chip, as a notebook summary shows them."""
    return [("energy per inference", f"{s.energy_per_inference_pj / 1e6:,.4f} uJ"),
            ("latency", f"{s.latency_ns / 1e3:,.3f} us"),
            ("time per image", f"{s.per_image_ns / 1e3:,.3f} us ({s.inferences_per_second:,.0f} images/s)"),
            ("area", f"{s.area_mm2:,.3f} mm^2"),
            ("chip tiles", f"{s.tiles:,} ({s.arrays_per_tile:,} arrays each); the mapping occupies "
                           f"{s.arrays_mapped:,} arrays, {s.arrays_with_replicas:,} with replicas"),
            ("power", f"{s.power_mw:,.2f} mW"),
            ("TOPS/W (dense equivalent)", f"{s.tops_per_watt_dense_equivalent:,.3f}"),
            *([("weight programming (once, not per inference)",
                f"{s.programming_energy_uj:,.4g} uJ, {s.programming_time_ms:,.4g} ms")]
              if s.programming_energy_uj is not None and s.programming_time_ms is not None else [])]


@dataclass(frozen=True)
class ChipSetup:
    """How one mapped network meets one chip: the mapping's encoding and bits, the array size, and
    the study's sizing, execution and images."""

    encoding: str
    weight_bits: int
    cell_bits: int
    size: int
    sizing: Sizing = Sizing()
    execution: Literal["file", "layer-sequential", "pipelined"] = "file"
    images: int | None = None
    dac_activity: Mapping[str, float] | None = None   # per layer, measured; None: every row driven


def evaluate(demands: list[LayerDemand], flow: Dataflow, hw: HardwareConfig, setup: ChipSetup, *,
             aggregate: bool = True, simulations: Simulations | None = None) -> HardwareResult:
    """Resolve the chip at `setup.size`, size it, place, simulate and cost `demands` on it
    (`simulations`: event-model results of this mapping to reuse, simulator.hardware.chip_model)."""
    clock = time.perf_counter()
    result = chip_result(demands, flow, hw, setup, aggregate=aggregate, simulations=simulations)
    seconds = time.perf_counter() - clock
    return _typed(result, flow.traced, seconds)


def chip_result(demands: list[LayerDemand], flow: Dataflow, hw: HardwareConfig, setup: ChipSetup, *,
                aggregate: bool = True, simulations: Simulations | None = None) -> ChipResult:
    """`evaluate`'s figures before they are typed (no tables built: what the sensitivity study,
    which needs only the energy and the time per image, reads)."""
    spec = chip_spec(hw, setup.size, cell_bits=setup.cell_bits)
    if setup.execution != "file":
        spec = replace(spec, execution=setup.execution)
    return run_chip(demands, flow, spec, encoding=setup.encoding, weight_bits=setup.weight_bits,
                    packing=hw.array.packing, polarity=hw.composition.polarity, r_on_ohm=hw.array.r_on_ohm,
                    r_off_ohm=hw.array.r_off_ohm, sizing=setup.sizing, images=setup.images, aggregate=aggregate,
                    power_gating=hw.chip.power_gating, activity=setup.dac_activity, simulations=simulations)


def _typed(r: ChipResult, traced: bool, seconds: float) -> HardwareResult:
    waits = {k: float(r.waits_ns.get(k, 0.0)) for k in WAIT_CLASSES}
    summary = ChipSummary(
        hardware=r.hardware, execution=r.execution, sizing=r.sizing, crossbar_size=r.crossbar_size,
        images_simulated=r.images_simulated, tiles=r.tiles, arrays_per_tile=r.arrays_per_tile,
        arrays_chip=r.arrays_chip, arrays_mapped=r.arrays_mapped, arrays_with_replicas=r.arrays_with_replicas,
        adc_bits=r.adc_bits, cycle_ns=r.cycle_ns, energy_per_inference_pj=r.energy_pj,
        dynamic_energy_pj=r.dynamic_pj, static_energy_pj=r.static_pj, latency_ns=r.latency_ns,
        latency_cycles=r.latency_ns / r.cycle_ns if r.cycle_ns else 0.0, interval_ns=r.interval_ns,
        inferences_per_second=r.inferences_per_second,
        latency_closed_form_ns=r.closed_form_ns, interval_closed_form_ns=max((row.closed_form_ns for row in r.layers),
                                                                            default=0.0),
        contention_wait_ns=float(sum(waits.values())), waits_ns=waits, simulation_events=r.events,
        power_mw=r.power_mw, edp_uj_us=r.energy_pj * 1e-6 * r.latency_ns * 1e-3,
        tops_per_watt_dense_equivalent=r.tops_per_watt,
        tops_per_watt_nonzero=r.nonzero_ops / r.energy_pj if r.energy_pj else 0.0,
        tops_per_mm2=r.tops_per_mm2, area_mm2=r.area_mm2,
        array_utilization=float(r.utilization["arrays"]), adc_utilization=float(r.utilization["adcs"]),
        peak_buffer_bytes=r.peak_buffer_bytes, buffer_bytes_per_tile=r.buffer_bytes_per_tile,
        dataflow_traced=traced, dac_activity=r.dac_activity, programmed_cells=r.programmed_cells,
        programming_energy_uj=r.programming_energy_pj * 1e-6, programming_time_ms=r.programming_time_ns * 1e-6,
        dac_energy_per_drive_pj=next((c.energy_per_event_pj for c in r.components if c.name == "dac"), None),
        adcs=r.adcs_chip, bitlines_per_adc=r.bitlines_per_adc, adc_group_arrays=r.adc_group_arrays,
        pair_periphery_shared=r.pair_shared)
    components = [ComponentEnergy(component=c.name, event=c.event, events=c.events,
                                  energy_per_event_pj=c.energy_per_event_pj, dynamic_pj=c.dynamic_pj,
                                  static_pj=c.static_pj, leakage_mw=c.leakage_mw, instances=c.instances,
                                  area_um2=c.area_um2, energy_pj=c.energy_pj) for c in r.components]
    rows = [LayerFigures(layer=row.name, tiles=row.tiles, arrays=row.arrays, replicas=row.copies,
                         arrays_with_replicas=row.arrays * row.copies, vectors=row.windows,
                         array_ops=float(row.array_reads), events=dict(row.events), energies_pj=dict(row.energies),
                         energy_pj=row.energy_pj, latency_event_ns=row.end_ns - row.start_ns,
                         latency_closed_ns=row.closed_form_ns, start_ns=row.start_ns, end_ns=row.end_ns,
                         read_ns=row.read_ns, adc_ns=row.adc_ns, window_ns=row.window_ns, macs=row.macs,
                         nonzeros=row.nonzeros)
            for row in r.layers]
    return HardwareResult(summary, rows, components, {"hardware_seconds": seconds})
