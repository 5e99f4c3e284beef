"""The explore folder's report, rewritten whenever a search ends (finished or interrupted):

- `front.csv`: the Pareto front's designs, their keys and objectives;
- `explore.md`: the space, the search, the front table, the reference designs (on the front, or
  dominated by which front designs and by how much), the failures;
- `report.html`: the same in one self-contained page (inline CSS, SVG and script; no request leaves
  the page) with one scatter plot per pair of objectives: front designs in colour, dominated ones
  grey, the references as labelled diamonds; hovering a design marks it in every plot and shows its
  figures, clicking it opens its own report (designs/<id>/report.html; the fault study's full report
  is faults/<group>/report.html, linked from the tables).

Every file is written atomically.
"""

from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulator.atomic import write_text
from simulator.explore.pareto import Entry, Margin, feasibility, front, margins, open_designs, violated
from simulator.explore.space import FAULT_ACCURACY, Objective, Space

HTML_NAME = "report.html"
MARKDOWN_NAME = "explore.md"
FRONT_NAME = "front.csv"

LABELS = {"energy_per_inference_uj": "energy per inference (uJ)", "latency_us": "latency (us)",
          "area_mm2": "area (mm^2)", FAULT_ACCURACY: "accuracy under faults (%)", "test_accuracy": "test accuracy (%)",
          "power_mw": "power (mW)", "tops_per_watt": "TOPS/W", "inferences_per_second": "inferences/s"}
PERCENT = {FAULT_ACCURACY, "test_accuracy", "density"}


@dataclass(frozen=True)
class Status:
    """A design's place: front, dominated, infeasible, closed (never studied: the candidate rule)
    or pending (its fault study did not finish)."""

    kind: str
    note: str = ""


def _label(figure: str) -> str:
    return LABELS.get(figure, figure)


def _shown(figure: str, value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return ""
    if figure in PERCENT:
        return f"{value * 100:.2f}"
    return f"{value:.4g}"


def statuses(space: Space, entries: list[Entry],
             failures: dict[str, str] | None = None) -> tuple[list[Entry], dict[str, Status]]:
    """The front and every design's status (`failures`: by design or accuracy group id)."""
    failures = failures or {}
    objectives, constraints = space.objectives, space.constraints
    best = front(entries, objectives, constraints)
    on_front = {e.design_id for e in best}
    still_open = {e.design_id for e in open_designs(entries, objectives, constraints)} if space.needs_faults else set()
    out: dict[str, Status] = {}
    for e in entries:
        broken = violated(e, constraints)
        if e.design_id in on_front:
            out[e.design_id] = Status("front")
        elif broken:
            out[e.design_id] = Status("infeasible", "; ".join(broken))
        elif e.design_id in still_open and e.group in failures:
            out[e.design_id] = Status("pending", f"its fault study failed (group {e.group}, in Failed)")
        elif e.design_id in still_open:
            out[e.design_id] = Status("pending", "its fault study has not finished")
        elif space.needs_faults and not e.measured:
            out[e.design_id] = Status("closed", "dominated even at its optimistic accuracy bound; not studied")
        elif feasibility(e, constraints) is True:
            out[e.design_id] = Status("dominated")
        else:
            out[e.design_id] = Status("pending")
    return best, out


def _margin_text(margin: Margin, objectives: list[Objective]) -> str:
    parts = []
    for o in objectives:
        change = margin.changes[o.figure]
        unit = " pp" if o.figure in PERCENT else " %"
        parts.append(f"{_label(o.figure).split(' (')[0]} {change:+.1f}{unit}")
    return ", ".join(parts)


def reference_lines(space: Space, entries: list[Entry], best: list[Entry],
                    status: dict[str, Status]) -> list[tuple[str, str, str]]:
    """(reference name, design id, verdict) per reference design."""
    out = []
    by_id = {e.design_id: e for e in entries}
    names = {e.reference: e.design_id for e in entries if e.reference}
    for name in space.references:
        design_id = names.get(name)
        if design_id is None:
            out.append((name, "", "not evaluated (failed or interrupted)"))
            continue
        entry, state = by_id[design_id], status[design_id]
        if state.kind == "front":
            out.append((name, design_id, "on the front"))
        elif state.kind == "pending":
            out.append((name, design_id, f"pending: {state.note}"))
        elif state.kind == "infeasible":
            found = margins(entry, best, space.objectives)[:3]
            beaten = ("; and dominated by " + "; ".join(f"{m.by} ({_margin_text(m, space.objectives)})"
                                                         for m in found)) if found else ""
            out.append((name, design_id, f"infeasible: {state.note}{beaten}"))
        else:
            found = margins(entry, best, space.objectives)[:3]
            if not found:
                out.append((name, design_id, "dominated"))
            else:
                out.append((name, design_id, "dominated by " + "; ".join(
                    f"{m.by} ({_margin_text(m, space.objectives)})" for m in found)))
    return out


def _interval(fault: dict[str, str] | None) -> str:
    """A fault study's 95 % interval of the mean accuracy, in percent ("" without one)."""
    if fault is None or not fault.get("ci95_low") or not fault.get("ci95_high"):
        return ""
    low, high = max(0.0, float(fault["ci95_low"])), min(1.0, float(fault["ci95_high"]))
    return f"{low * 100:.1f}-{high * 100:.1f}"


def _row(space: Space, design: Any, entry: Entry, state: Status, fault: dict[str, str] | None) -> dict[str, Any]:
    record: dict[str, Any] = {"design": entry.design_id, "reference": entry.reference or "", "status": state.kind,
                              "note": state.note}
    record.update({k: design.values.get(k) for k in space.keys})
    for o in space.objectives:
        record[o.figure] = entry.value(o.figure)
        if o.figure == FAULT_ACCURACY:
            # Two draws give a wide interval: the reader sees which accuracy differences are noise.
            record["accuracy_ci95"] = _interval(fault)
    record["report"] = f"designs/{entry.design_id}/report.html"
    record["fault_report"] = f"faults/{entry.group}/report.html" if entry.measured else ""
    return record


def write_report(space: Space, result: Any, entries: list[Entry]) -> None:
    """front.csv, explore.md and report.html of the search `result` (simulator.explore.search)."""
    import pandas as pd

    folder = Path(result.folder)
    best, status = statuses(space, entries, result.failures)
    rows = [_row(space, result.designs[e.design_id], e, status[e.design_id], result.fault_rows.get(e.group))
            for e in entries]
    table = pd.DataFrame(rows)
    first = space.objectives[0].figure
    front_rows = [r for r in rows if r["status"] == "front"]
    front_rows.sort(key=lambda r: (r[first] if r[first] is not None else math.inf) * (
        1 if space.objectives[0].sense == "min" else -1))
    write_text(folder / FRONT_NAME, pd.DataFrame(front_rows, columns=table.columns if len(table) else None)
               .to_csv(index=False))
    refs = reference_lines(space, entries, best, status)
    counts = {kind: sum(1 for s in status.values() if s.kind == kind)
              for kind in ("front", "dominated", "closed", "infeasible", "pending")}
    summary = _summary(space, result, entries, counts)
    write_text(folder / MARKDOWN_NAME, _markdown(space, summary, front_rows, refs, result.failures))
    write_text(folder / HTML_NAME, _html(space, summary, rows, front_rows, refs, result.failures))


def _summary(space: Space, result: Any, entries: list[Entry], counts: dict[str, int]) -> list[tuple[str, str]]:
    studied = sum(1 for e in entries if e.measured)
    facts = [("workload", str(space.workload)), ("space", f"{space.path}: {space.describe()}"),
             ("search", result.mode or "interrupted before the search began"),
             ("objectives", ", ".join(f"{o.sense} {o.figure}" for o in space.objectives)),
             ("constraints", ", ".join(c.text for c in space.constraints) or "none"),
             ("designs evaluated", f"{len(entries)} (hardware stage), {studied} with a measured accuracy under faults "
                                   f"({len(result.fault_rows)} fault studies)"),
             ("status", ", ".join(f"{n} {k}" for k, n in counts.items() if n))]
    if space.needs_faults:
        f = space.faults
        settings = ", ".join(f"faults.{k}={v}" for k, v in f.settings.items())
        facts.append(("accuracy under faults", f"mean over {f.runs} draws at total stuck-at rate {f.rate:g} "
                      f"(stuck-off : stuck-on as the workload's faults.ratio), on "
                      f"{f.test_samples if f.test_samples else 'all'} test images"
                      + (f", with {settings}" if settings else "")))
        facts.append(("candidate rule", "a design gets a fault study unless a design of its accuracy group (same "
                      "settings but hardware_study.*) beats it on the hardware objectives, or a studied feasible "
                      "design beats it with its accuracy at the optimistic bound (its fault-free test accuracy + "
                      f"{f.bound_margin:.0%}); see simulator/explore/pareto.py"))
    if result.seconds:
        facts.append(("time", f"{result.seconds:.1f} s this run ({len(result.ran)} hardware stages and "
                              f"{len(result.studied)} fault studies ran now)"))
    return facts


def _cell(figure: str, value: Any) -> str:
    if isinstance(value, float):
        return _shown(figure, value)
    if value is None:
        return ""
    return json.dumps(value) if isinstance(value, (list, dict)) else str(value)


def _markdown(space: Space, summary: list[tuple[str, str]], front_rows: list[dict[str, Any]],
              refs: list[tuple[str, str, str]], failures: dict[str, str]) -> str:
    lines = [f"# Design-space exploration of {space.workload.stem}", ""]
    lines += [f"- **{k}**: {v}" for k, v in summary]
    interval = ["accuracy 95 % interval (%)"] if any(o.figure == FAULT_ACCURACY for o in space.objectives) else []
    header = ["design", *space.keys, *[_label(o.figure) + f" [{o.sense}]" for o in space.objectives], *interval,
              "report"]
    lines += ["", f"## Pareto front ({len(front_rows)} designs)", "", "| " + " | ".join(header) + " |",
              "|" + "---|" * len(header)]
    for r in front_rows:
        cells = [r["design"] + (f" ({r['reference']})" if r["reference"] else ""),
                 *[_cell(k, r[k]) for k in space.keys], *[_cell(o.figure, r[o.figure]) for o in space.objectives],
                 *([r.get("accuracy_ci95", "")] if interval else []), f"[report]({r['report']})"]
        lines.append("| " + " | ".join(cells) + " |")
    if refs:
        lines += ["", "## Reference designs", ""]
        lines += [f"- **{name}** ({design or 'no design'}): {verdict}" for name, design, verdict in refs]
    if failures:
        lines += ["", "## Failed", ""] + [f"- {k}: {' '.join(v.split())[:300]}" for k, v in failures.items()]
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- HTML

_CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222;max-width:1400px}
table{border-collapse:collapse;font-size:13px;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 6px}
th{background:#f3f3f3}td.n{text-align:right}tr.front td{background:#eef6ff}
.plots{display:flex;flex-wrap:wrap;gap:12px}.plot{border:1px solid #ddd}
circle.dominated,circle.closed,circle.pending,circle.infeasible{fill:#bbb;opacity:.55}
circle.front{fill:#1f77b4}path.ref{fill:#d62728;stroke:#000;stroke-width:.6}
.hl{stroke:#ff7f0e !important;stroke-width:3px !important;opacity:1 !important}
#info{position:fixed;right:12px;top:12px;background:#fff;border:1px solid #999;padding:6px 10px;font-size:12px;
max-width:360px;white-space:pre-wrap;display:none}
text{font-size:10px}
"""

_SCRIPT = """
const info=document.getElementById('info');
document.querySelectorAll('[data-design]').forEach(el=>{
 el.addEventListener('mouseenter',()=>{const id=el.dataset.design;
  document.querySelectorAll('[data-design="'+id+'"]').forEach(x=>x.classList.add('hl'));
  info.textContent=el.dataset.info;info.style.display='block';});
 el.addEventListener('mouseleave',()=>{document.querySelectorAll('.hl').forEach(x=>x.classList.remove('hl'));
  info.style.display='none';});
});
"""


def _ticks(low: float, high: float) -> list[float]:
    if high <= low:
        return [low]
    step = 10 ** math.floor(math.log10((high - low) / 4))
    for factor in (1, 2, 5, 10):
        if (high - low) / (step * factor) <= 6:
            step *= factor
            break
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step) + 1)]


def _scatter(rows: list[dict[str, Any]], x: Objective, y: Objective, keys: list[str]) -> str:
    """One pairwise plot as inline SVG (every point a link to its design's report)."""
    width, height, pad = 380, 300, 48
    scale = {f: (100.0 if f in PERCENT else 1.0) for f in (x.figure, y.figure)}
    points = [(r, r[x.figure] * scale[x.figure], r[y.figure] * scale[y.figure]) for r in rows
              if isinstance(r[x.figure], float) and isinstance(r[y.figure], float)
              and math.isfinite(r[x.figure]) and math.isfinite(r[y.figure])]
    if not points:
        return ""
    xs, ys = [p[1] for p in points], [p[2] for p in points]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    xm, ym = (x1 - x0) * 0.05 or abs(x0) * 0.05 or 1, (y1 - y0) * 0.05 or abs(y0) * 0.05 or 1
    x0, x1, y0, y1 = x0 - xm, x1 + xm, y0 - ym, y1 + ym

    def px(v: float) -> float:
        return pad + (v - x0) / (x1 - x0) * (width - pad - 10)

    def py(v: float) -> float:
        return height - pad + 10 - (v - y0) / (y1 - y0) * (height - pad - 10)

    parts = [f'<svg class="plot" width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">',
             f'<line x1="{pad}" y1="{height - pad + 10}" x2="{width - 10}" y2="{height - pad + 10}" stroke="#444"/>',
             f'<line x1="{pad}" y1="10" x2="{pad}" y2="{height - pad + 10}" stroke="#444"/>']
    for t in _ticks(x0, x1):
        parts.append(f'<text x="{px(t):.1f}" y="{height - pad + 22}" text-anchor="middle">{t:.4g}</text>')
    for t in _ticks(y0, y1):
        parts.append(f'<text x="{pad - 4}" y="{py(t) + 3:.1f}" text-anchor="end">{t:.4g}</text>')
    parts.append(f'<text x="{(pad + width) / 2:.0f}" y="{height - 8}" text-anchor="middle">'
                 f'{html.escape(_label(x.figure))} [{x.sense}]</text>')
    parts.append(f'<text transform="rotate(-90)" x="{-(height - pad) / 2:.0f}" y="12" text-anchor="middle">'
                 f'{html.escape(_label(y.figure))} [{y.sense}]</text>')
    # Grey first, the front over them, the references on top.
    order = sorted(points, key=lambda p: (p[0]["status"] == "front", bool(p[0]["reference"])))
    for r, vx, vy in order:
        info = "\n".join([f"design {r['design']}" + (f" ({r['reference']})" if r["reference"] else ""),
                          f"status: {r['status']}", *[f"{k}: {_cell(k, r[k])}" for k in keys],
                          *[f"{_label(f)}: {_cell(f, r[f])}" for f in (x.figure, y.figure)]])
        attrs = f'data-design="{r["design"]}" data-info="{html.escape(info)}"'
        if r["reference"]:
            cx, cy = px(vx), py(vy)
            shape = (f'<path class="ref" {attrs} d="M{cx:.1f},{cy - 7:.1f} L{cx + 7:.1f},{cy:.1f} '
                     f'L{cx:.1f},{cy + 7:.1f} L{cx - 7:.1f},{cy:.1f} Z"/>'
                     f'<text x="{cx + 8:.1f}" y="{cy - 6:.1f}">{html.escape(r["reference"])}</text>')
        else:
            shape = f'<circle class="{r["status"]}" {attrs} cx="{px(vx):.1f}" cy="{py(vy):.1f}" r="4"/>'
        parts.append(f'<a href="{html.escape(r["report"])}"><title>{html.escape(info)}</title>{shape}</a>')
    parts.append("</svg>")
    return "".join(parts)


def _html_table(space: Space, rows: list[dict[str, Any]]) -> str:
    interval = ["accuracy 95 % interval (%)"] if any(o.figure == FAULT_ACCURACY for o in space.objectives) else []
    header = ["design", "reference", "status", *space.keys, *[f"{_label(o.figure)} [{o.sense}]"
                                                              for o in space.objectives], *interval, "reports"]
    out = ["<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr>"]
    for r in rows:
        links = f'<a href="{html.escape(r["report"])}">design</a>'
        if r["fault_report"]:
            links += f' · <a href="{html.escape(r["fault_report"])}">fault study</a>'
        cells = [f"<td>{html.escape(r['design'])}</td>", f"<td>{html.escape(r['reference'])}</td>",
                 f"<td>{r['status']}" + (f"<br><small>{html.escape(r['note'])}</small>" if r["note"] else "")
                 + "</td>", *[f"<td>{html.escape(_cell(k, r[k]))}</td>" for k in space.keys],
                 *[f'<td class="n">{_cell(o.figure, r[o.figure])}</td>' for o in space.objectives],
                 *([f'<td class="n">{r.get("accuracy_ci95", "")}</td>'] if interval else []), f"<td>{links}</td>"]
        out.append(f'<tr class="{r["status"]}">' + "".join(cells) + "</tr>")
    out.append("</table>")
    return "".join(out)


def _html(space: Space, summary: list[tuple[str, str]], rows: list[dict[str, Any]], front_rows: list[dict[str, Any]],
          refs: list[tuple[str, str, str]], failures: dict[str, str]) -> str:
    title = f"Design-space exploration of {space.workload.stem}"
    plots = [_scatter(rows, a, b, space.keys) for i, a in enumerate(space.objectives)
             for b in space.objectives[i + 1:]]
    unstudied = sum(1 for r in rows if r["status"] == "closed")
    body = [f"<h1>{html.escape(title)}</h1>", "<table>" + "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in summary) + "</table>",
        f"<h2>Pareto front ({len(front_rows)} designs)</h2>", _html_table(space, front_rows)]
    if refs:
        body.append("<h2>Reference designs</h2><ul>" + "".join(
            f"<li><b>{html.escape(n)}</b> ({html.escape(d or 'no design')}): {html.escape(v)}</li>"
            for n, d, v in refs) + "</ul>")
    body.append("<h2>Objectives, pairwise</h2><p>Front designs in blue, dominated ones grey, reference designs as "
                "red diamonds; hover a design to mark it in every plot, click it to open its report."
                + (f" {unstudied} designs closed without a fault study have no accuracy and are left out of the "
                   "plots with accuracy on an axis." if unstudied else "") + "</p>")
    body.append('<div class="plots">' + "".join(p for p in plots if p) + "</div>")
    body.append(f"<h2>Every design ({len(rows)})</h2>" + _html_table(space, rows))
    if failures:
        body.append("<h2>Failed</h2><ul>" + "".join(f"<li>{html.escape(k)}: {html.escape(' '.join(v.split())[:400])}"
                                                     "</li>" for k, v in failures.items()) + "</ul>")
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>" + html.escape(title) + "</title><style>"
            + _CSS + "</style></head><body>" + "".join(body) + '<div id="info"></div><script>' + _SCRIPT
            + "</script></body></html>\n")
