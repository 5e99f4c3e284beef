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
    net = report["network"]
    lines = [
        f"# resim report: {report['workload']}",
        "",
        f"- workload: `{report['workload_file']}` (config hash `{report['config_hash']}`, seed {report['seed']})",
        f"- hardware: `{report['hardware_file']}`",
        f"- data: {report['data']['dataset']} ({report['data']['train_images']} train / "
        f"{report['data']['test_images']} test images), id `{report['data']['dataset_id']}`",
        f"- checkpoint: `{net['checkpoint']}` ({'reused' if net['reused_checkpoint'] else 'trained now'})",
        f"- **test accuracy: {acc['test_accuracy']:.2%}** on {acc['test_images']} images",
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
    prune = net["training"].get("prune")
    if prune:
        lines += [f"## Pruning: {prune['method']}, target density {prune['target_density']:.4%}, "
                  f"reached {prune['density']:.4%}", "", markdown_table(pd.DataFrame(prune["rounds"])), ""]
    history = net["training"].get("history") or []
    if history:
        frame = pd.DataFrame(history)[["epoch", "lr", "train_loss", "train_accuracy", "test_accuracy", "seconds"]]
        lines += ["## Training", "", markdown_table(frame), ""]
    return "\n".join(lines)
