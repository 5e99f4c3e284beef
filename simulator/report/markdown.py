"""report.md: the tables a paper would print, read from the fields of a `RunReport`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulator.hardware.model import ChipSummary
from simulator.report.explain import activity_text, caveats, why_lines, why_rows
from simulator.report.model import HardwareSection, LayerRecord, RunReport, Totals
from simulator.report.results import markdown_table
from simulator.report.table import Rows

if TYPE_CHECKING:   # pandas for the fault table alone: a run with faults has it loaded already
    import pandas as pd

FAULT_COLUMNS = ("encoding", "rate", "runs", "mean", "std", "ci95_low", "ci95_high")
TRAINING_COLUMNS = ["epoch", "lr", "train_loss", "train_accuracy", "test_accuracy", "seconds"]


def layer_rows(layers: list[LayerRecord], totals: Totals) -> Rows:
    """Seed 001's per-layer format (layer, shape, nonzero / total, density, tiles) plus a sum row."""
    table = Rows({
        "layer": [r.layer for r in layers],
        "type": [r.type for r in layers],
        "weight shape": [r.weight_shape for r in layers],
        "(R, C)": [f"({r.R}, {r.C})" + (f" x{r.groups}" if r.groups > 1 else "") for r in layers],
        "vectors": [r.vectors for r in layers],
        "nonzero / total": [f"{r.nonzeros}/{r.total}" for r in layers],
        "density": [f"{r.density:.4f}" for r in layers],
        "nz cols": [f"{r.nz_cols}/{r.total_cols}" for r in layers],
        "nz rows": [f"{r.nz_rows}/{r.total_rows}" for r in layers],
        "crossbars dense": [r.tiles_dense for r in layers],
        "crossbars placed": [r.tiles_placed for r in layers],
        "saved": [r.tiles_saved for r in layers],
        "bound": [r.lower_bound for r in layers],
        "arrays": [r.arrays_placed for r in layers],
        "index regs": [r.index_registers for r in layers],
    })
    total_row = {
        "layer": "**Sum**", "type": "", "weight shape": "", "(R, C)": "", "vectors": "",
        "nonzero / total": f"{totals.nonzeros}/{totals.total}",
        "density": f"{totals.density:.4f}", "nz cols": "", "nz rows": "",
        "crossbars dense": totals.tiles_dense, "crossbars placed": totals.tiles_placed,
        "saved": totals.tiles_saved, "bound": totals.lower_bound, "arrays": totals.arrays_placed,
        "index regs": totals.index_registers,
    }
    return table.appended(total_row)


def summary_row(label: str, summary: ChipSummary) -> dict[str, object]:
    """One chip's line of the chips table: area and power beside energy and time."""
    return {
        "mapping": label, "chip": summary.hardware, "N": summary.crossbar_size, "sizing": summary.sizing,
        "tiles": summary.tiles, "arrays mapped": summary.arrays_mapped,
        "with replicas": summary.arrays_with_replicas, "ADC bits": summary.adc_bits,
        "energy (uJ)": summary.energy_per_inference_pj / 1e6,
        "static (uJ)": summary.static_energy_pj / 1e6, "static share": f"{summary.static_share:.0%}",
        "pJ / drive": summary.dac_energy_per_drive_pj,
        "latency (us)": summary.latency_ns / 1e3, "time per image (us)": summary.per_image_ns / 1e3,
        "EDP (uJ us)": summary.edp_uj_us,
        "area (mm^2)": summary.area_mm2, "power (mW)": summary.power_mw,
        "TOPS/W": summary.tops_per_watt_dense_equivalent, "TOPS/mm^2": summary.tops_per_mm2,
    }


def wait_rows(hardware: HardwareSection) -> Rows:
    """Contention: time windows waited, per resource class, for every chip, beside its time per
    image in the event model and in the closed form (no waits): where they part, the waits say why."""
    chips = [("this workload", hardware.summary)]
    chips += [(name, hardware.others()[label].summary) for label, name in COMPARISONS if label in hardware.others()]
    return Rows(records=[{"mapping": name, "execution": s.execution,
                          "time per image, event model (us)": s.per_image_ns / 1e3,
                          "closed form (us)": s.latency_closed_form_ns / 1e3,
                          **{f"{k} (us)": v / 1e3 for k, v in s.waits_ns.items()}}
                         for name, s in chips])


# The comparison chips of a report, by label, with their names in the tables.
COMPARISONS = (("dense", "dense mapping, same chip"), ("baseline", "dense baseline chip"))


def chip_rows(hardware: HardwareSection) -> Rows:
    """The workload's chip and its comparisons, one row each."""
    others = hardware.others()
    rows = [summary_row("this workload", hardware.summary)]
    rows += [summary_row(name, others[label].summary) for label, name in COMPARISONS if label in others]
    return Rows(records=rows)


def component_rows(hardware: HardwareSection) -> Rows:
    """Energy and area by component, the components the chip has."""
    present = [c for c in hardware.components if c.instances > 0 or c.dynamic_pj > 0]
    return Rows({
        "component": [c.component for c in present], "events / inference": [c.events for c in present],
        "pJ / event": [c.energy_per_event_pj for c in present],
        "dynamic (nJ)": [c.dynamic_pj / 1e3 for c in present], "static (nJ)": [c.static_pj / 1e3 for c in present],
        "leakage (mW)": [c.leakage_mw for c in present],
        "instances": [c.instances for c in present], "area (mm^2)": [c.area_um2 / 1e6 for c in present],
    })


def components_by_chip(hardware: HardwareSection) -> Rows | None:
    """Energy (of it static) and area per component, the workload's chip beside each comparison:
    one row per component any of them has; None without comparisons."""
    others = hardware.others()
    chips = [("this workload", hardware.components),
             *[(name, others[label].components) for label, name in COMPARISONS if label in others]]
    if len(chips) == 1:
        return None
    names = list(dict.fromkeys(c.component for _, parts in chips for c in parts if c.instances > 0 or c.dynamic_pj > 0))
    figures: dict[str, list[float]] = {}
    for chip, parts in chips:
        by = {c.component: c for c in parts}
        figures[f"{chip}: energy (uJ)"] = [by[n].energy_pj / 1e6 if n in by else 0.0 for n in names]
        figures[f"{chip}: static (uJ)"] = [by[n].static_pj / 1e6 if n in by else 0.0 for n in names]
        figures[f"{chip}: area (mm^2)"] = [by[n].area_um2 / 1e6 if n in by else 0.0 for n in names]
    total = {"component": "Sum", **{c: sum(values) for c, values in figures.items()}}
    return Rows({"component": names, **figures}).appended(total)


def hardware_layer_rows(layers: list[LayerRecord]) -> Rows:
    """Each layer on the chip: arrays, replicas, operations, energy, latency."""
    return Rows({
        "layer": [r.layer for r in layers], "arrays": [r.arrays for r in layers],
        "replicas": [r.replicas for r in layers], "array ops": [r.array_ops for r in layers],
        "ADC conversions": [r.adc_conversions for r in layers],
        "energy (nJ)": [r.energy_pj / 1e3 for r in layers],
        "latency event (us)": [r.latency_event_ns / 1e3 for r in layers],
        "latency closed form (us)": [r.latency_closed_ns / 1e3 for r in layers],
    })


def programming_lines(hardware: HardwareSection) -> list[str]:
    """Loading the network: one line per chip, apart from the per-inference figures."""
    others = hardware.others()
    chips = [("this workload", hardware.summary)]
    chips += [(name, others[label].summary) for label, name in COMPARISONS if label in others]
    lines = [f"- {name} ({s.hardware}): {s.programmed_cells:,.0f} cells, {s.programming_energy_uj:,.4g} uJ, "
             f"{s.programming_time_ms:,.4g} ms" for name, s in chips
             if s.programmed_cells is not None and s.programming_energy_uj is not None
             and s.programming_time_ms is not None]
    if not lines:
        return []
    return ["### Weight programming (once, before any inference; not in the per-inference figures)", "",
            "Every placed cell of every copy written once (MNSIM 2.0's write model: pulses x V^2 / sqrt(R_on R_off) "
            "x pulse per cell); time: each tile's arrays one at a time, their rows in turn, the tiles at once.", "",
            *lines, ""]


def _side_by_side(hardware: HardwareSection) -> list[str]:
    frame = components_by_chip(hardware)
    if frame is None:
        return []
    return ["### By component, every chip (per inference)", "", markdown_table(frame), ""]


def fault_rows(report: RunReport) -> pd.DataFrame | None:
    if not report.faults:
        return None
    import pandas as pd

    from simulator.faults.summary import shown

    return shown(pd.DataFrame([{c: getattr(point, c) for c in FAULT_COLUMNS} for point in report.faults]))


def pruning_rows(report: RunReport) -> Rows | None:
    if not report.crossbar_pruning:
        return None
    return Rows(records=[step.model_dump() for step in report.crossbar_pruning])


def device_text(report: RunReport) -> str:
    """The device-model options of the run's faults: section in words ('' when none is on)."""
    faults = (report.config.get("workload") or {}).get("faults") or {}
    parts = [text for on, text in (
        (faults.get("variation_scale", 0) > 0, f"programming spread x{faults.get('variation_scale', 0):g}"),
        (bool(faults.get("read_noise")), "read noise"),
        (faults.get("time_since_programming_s", 0) > 0,
         f"relaxation and drift after {faults.get('time_since_programming_s', 0):g} s"),
        (bool(faults.get("ir_drop")), "IR drop")) if on]
    return ", ".join(parts)


def render_run(report: RunReport) -> str:
    """The Markdown report of one run."""
    mapping, acc, net, data = report.mapping, report.accuracy, report.network, report.data
    skipped = report.skipped
    lines = [
        f"# resim report: {report.workload}",
        "",
        f"- workload: `{report.workload_file}` (config hash `{report.config_hash}`, seed {report.seed})",
        f"- hardware: `{report.hardware_file}`",
        (f"- data: {data.dataset} ({data.train_images} train / {data.test_images} test images), "
         f"id `{data.dataset_id}`" if data.test_images is not None else
         f"- data: {data.dataset}, id `{data.dataset_id}` (not loaded)"),
        (f"- checkpoint: `{net.checkpoint}` ({'reused' if net.reused_checkpoint else 'trained now'})"
         if net else f"- network: not loaded ({skipped.get('network', '')})"),
        (f"- **test accuracy: {acc.test_accuracy:.2%}** on {acc.test_images} images"
         + (" (taken from the cache: not tested again)" if "accuracy" in skipped else "") if acc else
         f"- test accuracy: skipped ({skipped.get('accuracy', '')})"),
        *[f"- skipped {stage}: {why}" for stage, why in skipped.items() if stage not in ("accuracy", "network")],
        f"- mapping: {mapping.crossbar_size}x{mapping.crossbar_size} crossbars, strategy "
        f"`{mapping.reorder}`, {mapping.encoding} encoding, {mapping.weight_bits}-bit weights "
        f"in {mapping.cell_bits}-bit cells",
        f"- stages run: {', '.join(report.stages_run)}",
        "",
        "## Layers",
        "",
        markdown_table(layer_rows(report.layers, report.totals)),
        "",
        "Shapes in torch order; (R, C) is the crossbar weight matrix (rows = inputs, columns = outputs, "
        "docs/design.md); vectors = input vectors per inference; nz cols / nz rows = column segments of N rows "
        "and row segments of N columns holding a nonzero (seed 001); crossbars of the size above; "
        "bound = lower bound on placed crossbars; arrays = physical arrays (polarities x bit slices per crossbar).",
        "",
    ]
    notes = caveats(report)
    if notes:
        lines[2:2] = ["**Read first:**", "", *[f"- {note}" for note in notes], ""]
    lines += render_hardware(report.hardware, report.layers, activity_text(report))
    lines += sensitivity_section(report)
    hist = report.utilization_histogram
    frame = Rows({
        "crossbar utilisation": [f"<= {edge:.0%}" for edge in hist.bin_upper_edges],
        "dense grid (share of crossbars)": [f"{v:.1%}" for v in hist.dense],
        f"{mapping.reorder} (share of crossbars)": [f"{v:.1%}" for v in hist.mapped],
    })
    lines += ["## Crossbar utilisation (seed 004 Fig. 4)", "", markdown_table(frame), ""]
    faults = fault_rows(report)
    if faults is not None:
        device = device_text(report)
        lines += ["## Accuracy under stuck-at faults (seed 003 Fig. 6)" + (" and the device model" if device else ""),
                  "",
                  "Cell fault rate p_sa0 + p_sa1 with stuck-off : stuck-on = 1 : 5.2; mean over the draws "
                  "with a 95 % confidence interval of the mean (Student's t over the n draws); one row per draw in "
                  "accuracy.csv, plot in "
                  "accuracy_vs_fault_rate.png." + (f" Device model (the hardware file's device: block): {device}."
                                                   if device else ""), "", markdown_table(faults), ""]
    steps = pruning_rows(report)
    if steps is not None:
        lines += ["## Crossbar-grained pruning (seed 004 IV, Fig. 11)", "",
                  "Parameters pruned and crossbars saved, both relative to the network before this stage.",
                  "", markdown_table(steps), ""]
    prune = net.prune if net else None
    if prune:
        lines += [f"## Pruning: {prune['method']}, target density {prune['target_density']:.4%}, "
                  f"reached {prune['density']:.4%}", "", markdown_table(Rows(records=prune["rounds"])), ""]
    history = net.history if net else []
    if history:
        lines += ["## Training", "", markdown_table(Rows(records=history, order=TRAINING_COLUMNS)), ""]
    return "\n".join(lines)


SENSITIVITY_INTRO = (
    "Every number a hardware file marks as an assumption (or a stand-in borrowed from another chip) and lists "
    "alternatives for (its `alternatives:` block, each alternative sourced) is set to each alternative in turn, one at "
    "a time, on the mappings above (only the chip changes). An assumption both chips share (same value, an assumption "
    "in both files) takes each alternative on both chips; one of the workload's chip alone moves that chip and the "
    "dense mapping on it; one of the baseline's file moves the baseline chip. Ranges are the lowest and highest ratio "
    "over the alternatives; the largest swing is the widest range, the value as written included, relative to that "
    "value. Sorted by it.")


def sensitivity_notes(report: RunReport) -> list[str]:
    """What report.md and report.html say beside the sensitivity table: the verdict, then what
    was not varied."""
    varied = report.sensitivity
    if varied is None:
        return []
    notes = [varied.verdict()]
    if varied.not_varied:
        notes.append("Assumptions without alternatives (not varied): " + ", ".join(varied.not_varied) + ".")
    notes.append(f"{len(varied.assumptions)} assumptions, {sum(len(r.variations) for r in varied.assumptions)} "
                 "alternatives; plot: sensitivity.png; the whole study with every alternative's source and ratios: "
                 "report.json's sensitivity.")
    return notes


def sensitivity_section(report: RunReport) -> list[str]:
    """"Sensitivity": every assumption with its alternatives and how far the headline ratios move."""
    varied = report.sensitivity
    if varied is None:
        return []
    verdict, *rest = sensitivity_notes(report)
    return ["## Sensitivity to the hardware files' assumptions", "", SENSITIVITY_INTRO, "", f"**{verdict}**", "",
            *[line for note in rest for line in (note, "")], markdown_table(Rows(records=varied.records())), ""]


def why_section(hardware: HardwareSection) -> list[str]:
    """"Why this result": the structure of each chip and the components that make the energy gap."""
    if not hardware.others():
        return []
    return ["### Why this result", "", *[f"- {line}" for line in why_lines(hardware)], "",
            "The components whose energy per inference differs most (positive: this chip spends more):", "",
            markdown_table(why_rows(hardware)), ""]


def render_hardware(hardware: HardwareSection, layers: list[LayerRecord], activity: str = "") -> list[str]:
    """Energy, latency and area: chip summary, comparisons, contention, components, per layer."""
    mine = hardware.summary
    others = hardware.others()
    per_image = "the pipeline's interval" if mine.execution == "pipelined" else "the latency"
    notes = []
    for label, name in COMPARISONS:
        if label in others:
            v = others[label].versus
            notes.append(f"- versus the {name}: **{v.energy_efficiency:.2f}x energy efficiency, {v.speedup:.2f}x "
                         f"speed-up**, {v.edp_improvement:.2f}x energy-delay product, with {v.area_ratio:.2f}x its "
                         f"area and {v.power_ratio:.2f}x its power")
    sizing = {"fixed": "each chip has the tiles its hardware file declares",
              "fit": "each chip has the fewest tiles that hold one copy of every layer (plus the replica budget; "
                     "pipelined, also the eDRAM of every copy's line buffer)",
              "iso-area": "the workload's chip and the dense mapping on it get the area of the baseline chip, "
                          "sized by fit"}.get(mine.sizing, mine.sizing)
    return [
        "## Energy, latency and area (docs/design.md, stage 6)", "",
        f"Sizing policy `{mine.sizing}`: {sizing}; replicas of the slowest layers fill what the policy leaves "
        f"free, alike on every chip. {mine.execution} execution, cycle {mine.cycle_ns:.4g} ns (the slower of an "
        f"array read and one read's conversions), {mine.adc_bits}-bit ADCs. Event model: "
        f"{mine.simulation_events} simpy events; time per image ({per_image}) in the closed form without contention "
        f"{mine.latency_closed_form_ns / 1e3:.4g} us against the event model's {mine.per_image_ns / 1e3:.4g} us. "
        "Array utilisation "
        f"{mine.array_utilization:.2%}, ADC utilisation {mine.adc_utilization:.2%}. Static energy is leakage: "
        f"buffers, routers, bus, registers, max-pool and activation units for the whole time, the arrays' "
        f"periphery as the hardware file's chip.power_gating says"
        + ("" if mine.dataflow_traced else "; layer producers taken as the layer called before (the model could "
                                           "not be traced)") + ". " + activity, "",
        markdown_table(chip_rows(hardware)), "", *notes, "",
        *why_section(hardware),
        "### Contention (time windows waited, per resource class, summed over windows)", "",
        markdown_table(wait_rows(hardware)), "",
        "arrays: a window's inputs were there while its copy was busy (pipelined chips); adcs: a converter "
        "group shared between copies; buffer_ports: a tile's eDRAM port; buffer_space: a producer stalled on a "
        "full consumer buffer (a line buffer takes its inputs in raster order and holds what its windows in "
        "flight read, docs/hardware.md); network: links. Where the event model's time per image exceeds the "
        "closed form's, examples/event_vs_closed_form.py shows how to find the class that made the difference "
        "(the event model again with that class unlimited, simulator.hardware.engine.relieved).", "",
        "### By component (per inference)", "", markdown_table(component_rows(hardware)), "",
        *_side_by_side(hardware),
        *programming_lines(hardware),
        "### By layer (per inference; plot: energy_by_layer.png)", "", markdown_table(hardware_layer_rows(layers)), "",
    ]
