"""The fault stage's files (issue #25 item 1: the stages own their work, the commands only print):
every draw and the accuracy-against-rate plot of a fault study, which `resim run` (and so a sweep's
points and `simulator.simulate` on a workload file) writes into its results folder; and the whole
folder of `resim faults`: draws, summary, plot, tolerable rates, the device-effect comparison and
report.html, or, with --aware, the fine-tuning strategies' draws, summary and page. Each writer
takes the typed result of the stage and returns what the command prints, so the page and the
terminal show the same tables.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from simulator.config import Workload
    from simulator.config.faults import FaultSpec
    from simulator.faults.study import FaultStudy
    from simulator.report.faults_html import Section

PLOT_NAME = "accuracy_vs_fault_rate.png"
# The drop below the fault-free accuracy at which a fault rate stops being tolerable.
TOLERABLE_DROP = 0.01


@dataclass(frozen=True)
class FaultReport:
    """A fault study's folder and what the command prints of it: the summary (--json), the tables
    as the page shows them, the lines of figures, and the summary's file ("faults: FILE")."""

    out_dir: Path
    summary: pd.DataFrame
    tables: list[pd.DataFrame] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    kind: str = "faults"
    summary_name: str = "faults_summary.csv"

    @property
    def summary_file(self) -> Path:
        return self.out_dir / self.summary_name

    @property
    def html_file(self) -> Path:
        from simulator.report.faults_html import HTML_NAME

        return self.out_dir / HTML_NAME


def write_fault_draws(study: FaultStudy, out_dir: Path, *, draws_name: str, title: str) -> Path:
    """Every draw of `study` as `draws_name` (CSV) and its accuracy against fault rate per encoding
    (PLOT_NAME) in `out_dir`; the plot's path."""
    from simulator.atomic import write_text
    from simulator.report.plots import accuracy_vs_rate_plot

    out_dir.mkdir(parents=True, exist_ok=True)
    write_text(out_dir / draws_name, study.draws.to_csv(index=False))
    plot = out_dir / PLOT_NAME
    accuracy_vs_rate_plot(study.summary, plot, title)
    return plot


def fault_options_text(spec: FaultSpec) -> str:
    """The fault options as the flags that give them, e.g. '--rates 0.001,0.01 --runs 10'."""
    from simulator.config.faults import FaultSpec

    parts = []
    for name, flag in FaultSpec.flags().items():
        value = getattr(spec, name)
        if value is None or value is False:
            continue
        if isinstance(value, (list, tuple)):
            value = ",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
        flag = flag.split("/")[0]   # --read-noise of --read-noise/--no-read-noise
        parts.append(flag if value is True else f"{flag} {value}")
    return " ".join(parts)


def write_fault_report(workload: Workload, study: FaultStudy, clean: float, out_dir: Path,
                       checkpoint: str) -> FaultReport:
    """`resim faults`' folder: every draw (faults.csv), the summary (faults_summary.csv), the plot,
    the tolerable rates against the fault-free accuracy `clean` (tolerable_rates.json), the
    device-effect comparison where the study made one, and report.html."""
    from simulator.atomic import write_text
    from simulator.faults.summary import CI_COLUMN, shown
    from simulator.report.faults_html import HTML_NAME, Section, render_faults_html

    rates, summary = study.spec.rates, study.summary
    plot = write_fault_draws(study, out_dir, draws_name="faults.csv", title=f"{workload.config.name}: stuck-at faults")
    write_text(out_dir / "faults_summary.csv", summary.to_csv(index=False))
    # 0 and inf mean "below the lowest / above the highest rate measured": say so.
    lowest = min((r for r in rates if r > 0), default=0.0)
    tolerable = {enc: (f"< {lowest:g}" if rate == 0 else f"> {max(rates):g}" if rate == float("inf")
                       else f"{rate:.3g}")
                 for enc, rate in study.tolerable_rates(clean, TOLERABLE_DROP).items()}
    write_text(out_dir / "tolerable_rates.json",
               json.dumps({"fault_free_accuracy": clean, "drop": TOLERABLE_DROP, "tolerable_rate": tolerable,
                           "fault_options": study.spec.as_dict()}, indent=2))
    lines = [f"fault-free (quantized) accuracy: {clean:.2%}",
             *[f"tolerable fault rate (1 point below fault-free), {encoding}: {rate}"
               for encoding, rate in tolerable.items()]]
    if study.bit_true:
        lines += [f"ADC-induced accuracy loss (bit-true vs quantized inputs, mean over rates), {encoding}: "
                  f"{100 * loss:.2f} points"
                  for encoding, loss in summary.groupby("encoding", sort=False)["adc_loss"].mean().items()]
    facts = [("workload", f"{workload.path} (config hash {workload.config_hash()}, seed {workload.config.seed})"),
             ("checkpoint", checkpoint), ("fault options", fault_options_text(study.spec)),
             *[(label, text) for label, text in (line.split(": ", 1) for line in lines)]]
    notes = ["Cells stuck off (p_sa0) and stuck on (p_sa1) at the given total rate, split by the ratio above; "
             "accuracies are means over the draws in percent with their 95 % interval (" + CI_COLUMN + "); "
             "the spread is in percentage points. Draws: faults.csv; summary: faults_summary.csv."]
    sections = [Section("results", "Accuracy under stuck-at faults (seed 003 Fig. 6)"
                        + (" and the device model" if study.spec.device_effects else ""), shown(summary), notes, plot,
                        "Test accuracy against cell fault rate per encoding")]
    if study.by_effect is not None:
        sections.append(_device_effects_section(workload, study, out_dir))
    write_text(out_dir / HTML_NAME, render_faults_html(f"resim faults: {workload.config.name}", facts, sections))
    return FaultReport(out_dir, summary, [section.frame for section in sections], lines)


def _device_effects_section(workload: Workload, study: FaultStudy, out_dir: Path) -> Section:
    """Issue #24 item 5: which encoding survives what, the encodings under stuck-at faults only,
    each device effect alone and all of them (by_device_effect.csv, a table and a plot)."""
    from simulator.atomic import write_text
    from simulator.faults.study import EFFECT_COLUMN, effects_table
    from simulator.report.faults_html import Section
    from simulator.report.plots import device_effects_plot

    frame = study.by_effect
    assert frame is not None
    write_text(out_dir / "by_device_effect.csv", frame.to_csv(index=False))
    plot = out_dir / "accuracy_by_device_effect.png"
    device_effects_plot(frame, plot, f"{workload.config.name}: encodings under each device effect", EFFECT_COLUMN)
    device = workload.hardware.device
    notes = [f"The same draws (seeded by workload seed, encoding, rate and run) under stuck-at faults only, each "
             f"device effect alone and all together, at weight level: mean accuracy in percent with its 95 % "
             f"interval (Student's t, {study.spec.runs} draws). Device: {workload.hardware.name}'s device: block"
             + (f" ({device.source.get('programming_sigma_by_power', '')[:120]}...)" if device is not None else "")
             + ". Rows: by_device_effect.csv."]
    return Section("device-effects", "Which encoding survives what (issue #24)", effects_table(frame), notes, plot,
                   "Test accuracy against fault rate per encoding and device effect")


def write_aware_report(workload: Workload, draws: pd.DataFrame, spec: FaultSpec, strategies: Sequence[str],
                       epochs: int, lr: float | None, out_dir: Path, checkpoint: str) -> FaultReport:
    """`resim faults --aware`' folder: the fine-tuning strategies' draws (aware.csv), their summary
    (aware_summary.csv) and report.html."""
    from simulator.atomic import write_text
    from simulator.faults.aware_training import summarise_aware
    from simulator.faults.summary import AWARE_COLUMNS, readable
    from simulator.report.faults_html import HTML_NAME, Section, render_faults_html

    summary = summarise_aware(draws)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_text(out_dir / "aware.csv", draws.to_csv(index=False))
    write_text(out_dir / "aware_summary.csv", summary.to_csv(index=False))
    shown = readable(summary, AWARE_COLUMNS, keep_all=False)
    caption = (f"accuracy on the chip before fine-tuning and after {epochs} epoch(s) of it, mean of {spec.runs} "
               "draw(s), in percent; \"after, as trained\" is the network as fine-tuning saw it")
    facts = [("workload", f"{workload.path} (config hash {workload.config_hash()}, seed {workload.config.seed})"),
             ("checkpoint", checkpoint), ("fault options", fault_options_text(spec)),
             ("fine-tuning", f"{', '.join(strategies)}; {epochs} epoch(s), learning rate "
                             f"{lr if lr is not None else workload.config.train.lr / 10:g}")]
    section = Section("results", "Fault-aware fine-tuning (seed 001)", shown,
                      [caption[0].upper() + caption[1:] + ". Draws: aware.csv; summary: aware_summary.csv."])
    write_text(out_dir / HTML_NAME, render_faults_html(f"resim faults --aware: {workload.config.name}", facts,
                                                       [section]))
    return FaultReport(out_dir, summary, [shown], [caption], kind="aware", summary_name="aware_summary.csv")
