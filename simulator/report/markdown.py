"""report.md: the tables a paper would print, from the report dict and the layer table."""

from __future__ import annotations

from typing import Any

import pandas as pd

from simulator.report.results import markdown_table


def _layer_rows(layers: pd.DataFrame, totals: dict[str, Any]) -> pd.DataFrame:
    """Seed 001's per-layer format (layer, shape, nonzero / total, density, tiles) plus a sum row."""
    table = pd.DataFrame({
        "layer": layers["layer"],
        "type": layers["type"],
        "weight shape": layers["weight_shape"],
        "(R, C)": [f"({r}, {c})" + (f" x{g}" if g > 1 else "") for r, c, g in
                   zip(layers["R"], layers["C"], layers["groups"])],
        "vectors": layers["vectors"],
        "nonzero / total": [f"{n}/{t}" for n, t in zip(layers["nonzeros"], layers["total"])],
        "density": layers["density"].map(lambda d: f"{d:.4f}"),
        "nz cols": [f"{n}/{t}" for n, t in zip(layers["nz_cols"], layers["total_cols"])],
        "nz rows": [f"{n}/{t}" for n, t in zip(layers["nz_rows"], layers["total_rows"])],
        "tiles dense": layers["tiles_dense"],
        "tiles placed": layers["tiles_placed"],
        "saved": layers["tiles_saved"],
        "bound": layers["lower_bound"],
        "arrays": layers["arrays_placed"],
        "index regs": layers["index_registers"],
    })
    total_row = {
        "layer": "**Sum**", "type": "", "weight shape": "", "(R, C)": "", "vectors": "",
        "nonzero / total": f"{totals['nonzeros']}/{totals['total']}",
        "density": f"{totals['density']:.4f}", "nz cols": "", "nz rows": "",
        "tiles dense": totals["tiles_dense"], "tiles placed": totals["tiles_placed"],
        "saved": totals["tiles_saved"], "bound": totals["lower_bound"], "arrays": totals["arrays_placed"],
        "index regs": totals["index_registers"],
    }
    return pd.concat([table, pd.DataFrame([total_row])], ignore_index=True)


def render_run(report: dict[str, Any], layers: pd.DataFrame) -> str:
    """The Markdown report of one run."""
    mapping = report["mapping"]
    acc = report["accuracy"]
    net = report["network"] or {}
    skipped = report.get("skipped", {})
    data = report["data"]
    lines = [
        f"# resim report: {report['workload']}",
        "",
        f"- workload: `{report['workload_file']}` (config hash `{report['config_hash']}`, seed {report['seed']})",
        f"- hardware: `{report['hardware_file']}`",
        (f"- data: {data['dataset']} ({data['train_images']} train / {data['test_images']} test images), "
         f"id `{data['dataset_id']}`" if data["test_images"] is not None else
         f"- data: {data['dataset']}, id `{data['dataset_id']}` (not loaded)"),
        (f"- checkpoint: `{net['checkpoint']}` ({'reused' if net['reused_checkpoint'] else 'trained now'})"
         if net else f"- network: not loaded ({skipped.get('network', '')})"),
        (f"- **test accuracy: {acc['test_accuracy']:.2%}** on {acc['test_images']} images" if acc else
         f"- test accuracy: skipped ({skipped.get('accuracy', '')})"),
        *[f"- skipped {stage}: {why}" for stage, why in skipped.items() if stage not in ("accuracy", "network")],
        f"- mapping: {mapping['crossbar_size']}x{mapping['crossbar_size']} tiles, strategy "
        f"`{mapping['reorder']}`, {mapping['encoding']} encoding, {mapping['weight_bits']}-bit weights "
        f"in {mapping['cell_bits']}-bit cells",
        f"- not built yet: {', '.join(report['stages_not_built'])}",
        "",
        "## Layers",
        "",
        markdown_table(_layer_rows(layers, report["totals"])),
        "",
        "Shapes in torch order; (R, C) is the crossbar weight matrix (rows = inputs, columns = outputs, "
        "design.md); vectors = input vectors per inference; nz cols / nz rows = column segments of N rows "
        "and row segments of N columns holding a nonzero (seed 001); tiles at the crossbar size above; "
        "bound = lower bound on placed tiles; arrays = physical arrays (polarities x bit slices per tile).",
        "",
    ]
    lines += render_hardware(report.get("hardware"), layers)
    hist = report.get("utilization_histogram")
    if hist:
        frame = pd.DataFrame({
            "tile utilisation": [f"<= {edge:.0%}" for edge in hist["bin_upper_edges"]],
            "dense grid (share of tiles)": [f"{v:.1%}" for v in hist["dense"]],
            f"{mapping['reorder']} (share of tiles)": [f"{v:.1%}" for v in hist["mapped"]],
        })
        lines += ["## Tile utilisation (seed 004 Fig. 4)", "", markdown_table(frame), ""]
    faults = report.get("faults")
    if faults:
        frame = pd.DataFrame(faults)[["encoding", "rate", "runs", "mean", "std", "ci95_low", "ci95_high"]]
        lines += ["## Accuracy under stuck-at faults (seed 003 Fig. 6)", "",
                  "Cell fault rate p_sa0 + p_sa1 with stuck-off : stuck-on = 1 : 5.2; mean over the draws "
                  "with a 95 % confidence interval; one row per draw in accuracy.csv, plot in "
                  "accuracy_vs_fault_rate.png.", "", markdown_table(frame), ""]
    steps = report.get("crossbar_pruning")
    if steps:
        frame = pd.DataFrame(steps)[["step", "groups_removed", "params_pruned", "params_pruned_fraction",
                                     "tiles_placed", "tiles_saved_fraction", "test_accuracy", "reverted"]]
        lines += ["## Crossbar-grained pruning (seed 004 IV, Fig. 11)", "",
                  "Parameters pruned and crossbars saved, both relative to the network before this stage.",
                  "", markdown_table(frame), ""]
    prune = net.get("training", {}).get("prune")
    if prune:
        lines += [f"## Pruning: {prune['method']}, target density {prune['target_density']:.4%}, "
                  f"reached {prune['density']:.4%}", "", markdown_table(pd.DataFrame(prune["rounds"])), ""]
    history = net.get("training", {}).get("history") or []
    if history:
        frame = pd.DataFrame(history)[["epoch", "lr", "train_loss", "train_accuracy", "test_accuracy", "seconds"]]
        lines += ["## Training", "", markdown_table(frame), ""]
    return "\n".join(lines)


def _summary_rows(label: str, summary: dict[str, Any]) -> dict[str, Any]:
    per_image = summary["interval_ns"] if summary["execution"] == "pipelined" else summary["latency_ns"]
    return {
        "mapping": label, "chip": summary["hardware"], "N": summary["crossbar_size"],
        "arrays mapped": summary["arrays_mapped"], "with replicas": summary["arrays_with_replicas"],
        "of chip": summary["arrays_chip"],
        "energy (uJ)": summary["energy_per_inference_pj"] / 1e6,
        "latency (us)": summary["latency_ns"] / 1e3, "time per image (us)": per_image / 1e3,
        "inferences/s": summary["inferences_per_second"],
        "TOPS/W (dense ops)": summary["tops_per_watt_dense_equivalent"],
        "area (mm^2)": summary["area_mm2"],
    }


def render_hardware(hardware: dict[str, Any] | None, layers: pd.DataFrame) -> list[str]:
    """Energy, latency and area: chip summary, comparisons, components, per layer."""
    if not hardware:
        return []
    mine = hardware["summary"]
    rows = [_summary_rows("this workload", mine)]
    notes = []
    for label, name in (("dense", "dense mapping, same chip"), ("baseline", "dense baseline chip")):
        if label in hardware:
            rows.append(_summary_rows(name, hardware[label]["summary"]))
            versus = hardware[label]["versus"]
            notes.append(f"- versus the {name}: **{versus['energy_efficiency']:.2f}x energy efficiency, "
                         f"{versus['speedup']:.2f}x speed-up**")
    components = pd.DataFrame(hardware["components"])
    components = components[components["instances"] > 0]
    comp = pd.DataFrame({
        "component": components["component"], "events / inference": components["events"],
        "pJ / event": components["energy_per_event_pj"], "dynamic (nJ)": components["dynamic_pj"] / 1e3,
        "static (nJ)": components["static_pj"] / 1e3, "instances": components["instances"],
        "area (mm^2)": components["area_um2"] / 1e6,
    })
    per_layer = pd.DataFrame({
        "layer": layers["layer"], "arrays": layers["arrays"], "replicas": layers["replicas"],
        "array ops": layers["array_ops"], "ADC conversions": layers["adc_conversions"],
        "energy (nJ)": layers["energy_pj"] / 1e3,
        "latency event (us)": layers["latency_event_ns"] / 1e3,
        "latency closed form (us)": layers["latency_closed_ns"] / 1e3,
    })
    return [
        "## Energy, latency and area (design.md stage 6)", "",
        f"{mine['execution']} execution; event model: {mine['simulation_events']} simpy events, "
        f"{mine['contention_wait_ns'] / 1e3:.3g} us spent waiting for shared buffers, buses and network ports; "
        f"closed-form latency {mine['latency_closed_form_ns'] / 1e3:.4g} us (event model "
        f"{mine['latency_ns'] / 1e3:.4g} us). Array utilisation {mine['array_utilization']:.2%}, ADC utilisation "
        f"{mine['adc_utilization']:.2%}.", "",
        markdown_table(pd.DataFrame(rows)), "", *notes, "",
        "### By component (per inference)", "", markdown_table(comp), "",
        "### By layer (per inference; plot: energy_by_layer.png)", "", markdown_table(per_layer), "",
    ]
