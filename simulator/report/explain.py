"""What a report says about itself: why the workload's chip wins or loses against each comparison,
and the caveats a reader must know before quoting a figure. Both are derived from the report's
fields, never written by hand."""

from __future__ import annotations

from typing import Any

from simulator.hardware.model import ChipSummary, ComponentEnergy
from simulator.report.model import HardwareSection, RunReport
from simulator.report.table import Rows

# The comparisons of a report, by label, as the tables name them.
COMPARISON_NAMES = {"dense": "dense mapping, same chip", "baseline": "dense baseline chip"}


def _energies(components: list[ComponentEnergy]) -> dict[str, tuple[float, float]]:
    return {c.component: (c.dynamic_pj, c.static_pj) for c in components}


def why_rows(hardware: HardwareSection, top: int = 5) -> Rows:
    """Per comparison, the components whose energy per inference differs most between the
    workload's chip and the other (dynamic and static apart), largest first: what the energy
    efficiency is made of. Positive differences cost the workload's chip energy."""
    mine = _energies(hardware.components)
    rows: list[dict[str, Any]] = []
    for label, other in hardware.others().items():
        theirs = _energies(other.components)
        terms = []
        for name in sorted(set(mine) | set(theirs)):
            for kind, index in (("dynamic", 0), ("static", 1)):
                a = mine.get(name, (0.0, 0.0))[index]
                b = theirs.get(name, (0.0, 0.0))[index]
                if a != b:
                    terms.append((abs(a - b), name, kind, a, b))
        total = other.summary.energy_per_inference_pj - hardware.summary.energy_per_inference_pj
        for _, name, kind, a, b in sorted(terms, reverse=True)[:top]:
            rows.append({"versus": COMPARISON_NAMES.get(label, label), "component": f"{name} ({kind})",
                         "this chip (uJ)": a / 1e6, "the other (uJ)": b / 1e6,
                         "difference (uJ)": (a - b) / 1e6,
                         "share of the energy gap": f"{(b - a) / total:.0%}" if total else "-"})
    return Rows(records=rows)


def why_lines(hardware: HardwareSection) -> list[str]:
    """One sentence per comparison: the structural differences behind the time and energy."""
    me = hardware.summary
    lines = []
    for label, other in hardware.others().items():
        them = other.summary
        v = other.versus
        lines.append(
            f"versus the {COMPARISON_NAMES.get(label, label)}: {v.energy_efficiency:.2f}x energy efficiency, "
            f"{v.speedup:.2f}x speed-up. This chip: {_shape(me)}; the other: {_shape(them)}. "
            + _time_reason(me, them))
    return lines


def _shape(s: ChipSummary) -> str:
    return (f"{s.arrays_with_replicas} arrays of {s.crossbar_size}x{s.crossbar_size} on {s.tiles} tiles "
            f"({s.area_mm2:.3g} mm^2), {s.adc_bits}-bit ADCs{_sharing(s)}, {s.cycle_ns:.3g} ns cycle, {s.execution}, "
            f"{s.static_energy_pj / max(s.energy_per_inference_pj, 1e-30):.0%} of its energy static")


def _sharing(s: ChipSummary) -> str:
    """How the chip shares its converters (and a polarity pair its periphery)."""
    if not s.bitlines_per_adc:
        return ""
    pair = ", a polarity pair sharing drivers and converters" if s.pair_periphery_shared else ""
    return f" ({s.adcs} of them, {s.bitlines_per_adc:.0f} bitlines each{pair})"


def _time_reason(me: ChipSummary, them: ChipSummary) -> str:
    if me.arrays_with_replicas > me.arrays_mapped or them.arrays_with_replicas > them.arrays_mapped:
        return ("Replicas share the slowest layers' windows (this chip: "
                f"{me.arrays_with_replicas - me.arrays_mapped} arrays of replicas, the other: "
                f"{them.arrays_with_replicas - them.arrays_mapped}).")
    if abs(me.cycle_ns - them.cycle_ns) > 1e-6 * max(me.cycle_ns, them.cycle_ns):
        return "Without replicas the time follows the cycle and the windows, which sparsity does not change."
    return ("Without replicas and at the same cycle, both run the same windows one read after another: "
            "sparsity changes the energy, not the time.")


def activity_text(report: RunReport) -> str:
    """How the report counts DAC drives (hardware_study.dac_activity), as one sentence."""
    study = report.config.get("workload", {}).get("hardware_study", {}) if isinstance(
        report.config.get("workload"), dict) else {}
    mine = report.hardware.summary.dac_activity
    if mine is None:
        return ("DAC drives: every placed row in every input phase (hardware_study.dac_activity: full; zero input "
                "digits are charged as drives).")
    others = ", ".join(f"{COMPARISON_NAMES.get(label, label)} {other.summary.dac_activity:.1%}"
                       for label, other in report.hardware.others().items() if other.summary.dac_activity is not None)
    return (f"DAC drives follow input-digit activity measured on {study.get('activity_images', '?')} test images "
            f"(hardware_study.dac_activity: measured): {mine:.1%} of this chip's row drives fire"
            + (f" ({others})" if others else "") + "; a zero digit drives nothing.")


# Components whose leakage the chip model takes as hardware.leakage_share of their operating power
# (no published figure, no circuit model); the others leak by cited figures or circuit models.
ASSUMED_LEAKAGE = ("adc", "shift_add", "composition_tree", "index_registers", "bus", "router")


def assumed_leakage(hardware: dict[str, Any]) -> tuple[str, ...]:
    """ASSUMED_LEAKAGE, with the driver and the sample-and-hold where the file chose their
    operating-power models (dac.model isaac-constant, sample_hold.model operating-split)."""
    extra: tuple[str, ...] = ("dac",) if hardware.get("dac", {}).get("model", "isaac-constant") == "isaac-constant" \
        else ()
    if hardware.get("sample_hold", {}).get("model", "operating-split") == "operating-split":
        extra += ("sample_hold",)
    return ASSUMED_LEAKAGE + extra


def caveats(report: RunReport) -> list[str]:
    """What a reader must know before quoting this report's figures."""
    out = []
    workload = report.config.get("workload", {})
    train = workload.get("train", {}) if isinstance(workload, dict) else {}
    model = workload.get("model", {}) if isinstance(workload, dict) else {}
    if train.get("epochs") == 0 and not model.get("checkpoint"):
        out.append("The network is untrained (train.epochs 0, no checkpoint): its accuracy is chance and its "
                   "masks are those of initial weights (random-like), not of a trained network.")
    if report.network is not None and report.network.training.get("checkpoint_matches_workload") is False:
        out.append("The shipped checkpoint was made by another recipe or data set than this workload's.")
    if report.data.dataset == "imagenet-shape":
        out.append("The data set has shapes only (no images): hardware figures only.")
    if report.data.dataset == "cifar10" and report.accuracy is not None:
        out.append("CIFAR-10 accuracy is on the shared test set, whose images are JPEG-recovered "
                   "(data.test_set exact-head: its 1017 exact images).")
    hw = report.hardware.summary
    if not hw.dataflow_traced:
        out.append("The network could not be traced: each layer's producer is taken as the layer called before.")
    share = report.config.get("hardware", {}).get("leakage_share") if isinstance(report.config.get("hardware"),
                                                                                   dict) else None
    if share:
        names = assumed_leakage(report.config["hardware"])
        assumed = sum(c.static_pj for c in report.hardware.components if c.component in names)
        assumed_share = assumed / max(hw.static_energy_pj, 1e-30)
        out.append(f"Static energy is {hw.static_share:.0%} of this chip's; {assumed_share:.0%} "
                   f"of it rests on an assumption: leakage is {share:.0%} of the full-activity power of the components "
                   f"without a published or circuit-model figure ({', '.join(names)}; hwcomponents-adc's ADC "
                   "assumption).")
    return out
