"""Bar charts drawn with Pillow, for the plots every `resim run` writes.

matplotlib takes most of a second to import and draw, more than the whole hardware stage; the two
run plots are plain bar charts (stacked energy by layer, the utilisation histogram), so they are
drawn here on Pillow (already a dependency) with its scalable default font: a title, a labelled
y axis with a grid, rotated x labels and a legend, written as PNG atomically. Sweep, fault and map
plots, with lines and log axes, stay on matplotlib (simulator/report/plots.py).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from simulator.atomic import atomic_replace

# matplotlib's default colour cycle ("tab10"), so the run plots look like the others, then the
# lighter halves of "tab20": a chip has more than ten energy components, and two series of one
# colour could not be told apart.
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#c7c7c7",
           "#dbdb8d", "#9edae5")


@dataclass(frozen=True)
class Series:
    """One named row of values, one per category."""

    name: str
    values: Sequence[float]


def nice_step(top: float, ticks: int = 5) -> float:
    """A round tick step (1, 2 or 5 x 10^k) giving about `ticks` ticks up to `top`."""
    if top <= 0:
        return 1.0
    raw = top / ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * power:
            return factor * power
    return 10 * power


def bar_chart(path: Path, categories: Sequence[str], series: Sequence[Series], *, title: str, x_label: str,
              y_label: str, stacked: bool) -> None:
    """Write a bar chart of `series` over `categories` (stacked, or side by side) as PNG; a chart
    drawn before from the same values is copied from resim's cache instead (issue #25: drawing the
    two run plots was a tenth of a cached hardware-only run)."""
    drawn = _drawn_before(path, "bar", list(map(str, categories)),
                          [(s.name, [float(v) for v in s.values]) for s in series], title, x_label, y_label, stacked)
    if drawn is None:
        return
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=13)
    small = ImageFont.load_default(size=11)
    n = max(len(categories), 1)
    slot = 34 if stacked else 18 * max(len(series), 1) + 14
    plot_w = max(560, n * slot)
    # Room for the longest rotated category label, and as many legend columns as its longest entry allows.
    label_room = max(110, min(240, 6 * max((len(c) for c in categories), default=0) + 16))
    left, right, top = 78, 24, 44
    legend_cols = max(1, min(4, int(max(560, n * slot) // (6.5 * max((len(s.name) for s in series), default=1) + 30))))
    legend_rows = math.ceil(len(series) / legend_cols)
    height = top + 300 + label_room + 18 * legend_rows + 12
    width = left + plot_w + right
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    bottom = top + 300
    totals = [sum(s.values[i] for s in series) if stacked else max((s.values[i] for s in series), default=0.0)
              for i in range(len(categories))]
    peak = max(totals, default=0.0)
    step = nice_step(peak)
    y_max = step * max(1, math.ceil(peak / step)) if peak > 0 else 1.0

    def y_of(value: float) -> float:
        return bottom - 300 * value / y_max

    draw.text((width / 2, 8), title, fill="black", font=font, anchor="ma")
    tick = 0.0
    while tick <= y_max * 1.0001:
        y = y_of(tick)
        draw.line([(left, y), (left + plot_w, y)], fill="#e6e6e6")
        draw.text((left - 6, y), f"{tick:g}", fill="black", font=small, anchor="rm")
        tick += step
    draw.line([(left, top), (left, bottom), (left + plot_w, bottom)], fill="black")
    label = Image.new("RGBA", (300, 16), (255, 255, 255, 0))
    ImageDraw.Draw(label).text((150, 8), y_label, fill="black", font=small, anchor="mm")
    rotated = label.rotate(90, expand=True)
    image.paste(rotated, (6, int(top + 150 - rotated.height / 2)), rotated)
    cell = plot_w / n
    for i, name in enumerate(categories):
        x0 = left + i * cell
        base = 0.0
        for k, s in enumerate(series):
            value = float(s.values[i])
            colour = PALETTE[k % len(PALETTE)]
            if stacked:
                x_a, x_b = x0 + cell * 0.15, x0 + cell * 0.85
                if value > 0:
                    draw.rectangle([x_a, y_of(base + value), x_b, y_of(base)], fill=colour)
                base += value
            else:
                bar = cell * 0.8 / len(series)
                x_a = x0 + cell * 0.1 + k * bar
                if value > 0:
                    draw.rectangle([x_a, y_of(value), x_a + bar - 1, bottom], fill=colour)
        text = Image.new("RGBA", (label_room, 14), (255, 255, 255, 0))
        ImageDraw.Draw(text).text((label_room - 2, 7), name, fill="black", font=small, anchor="rm")
        turned = text.rotate(60, expand=True)
        image.paste(turned, (int(x0 + cell / 2 - turned.width + 4), bottom + 4), turned)
    draw.text((left + plot_w / 2, bottom + label_room - 4), x_label, fill="black", font=small, anchor="ma")
    legend_y = bottom + label_room + 12
    for k, s in enumerate(series):
        x = left + (k % legend_cols) * (plot_w / legend_cols)
        y = legend_y + (k // legend_cols) * 18
        draw.rectangle([x, y, x + 12, y + 12], fill=PALETTE[k % len(PALETTE)])
        draw.text((x + 18, y + 6), s.name, fill="black", font=small, anchor="lm")
    with atomic_replace(path) as tmp:
        image.save(tmp, format="PNG")
    _keep(path, drawn)


def _drawn_before(path: Path, *what: object) -> Path | None:
    """None when the chart of `what` was drawn before and is now copied to `path`; else where to
    keep it once drawn: a file of resim's cache, keyed by `what`, this module's code and Pillow's
    version (a chart is a function of these alone)."""
    import hashlib
    import importlib.metadata
    import shutil

    from simulator.cache import cache_dir, stable_key

    try:
        pillow = importlib.metadata.version("pillow")
    except importlib.metadata.PackageNotFoundError:
        pillow = "unknown"
    code = hashlib.sha1(Path(__file__).read_bytes(), usedforsecurity=False).hexdigest()
    key = stable_key({"chart": list(what), "code": code, "pillow": pillow})
    kept = cache_dir() / "charts" / f"{key}.png"
    if kept.is_file():
        try:
            with atomic_replace(path) as tmp:
                shutil.copyfile(kept, tmp)
            return None
        except OSError:
            pass
    return kept


def _keep(path: Path, kept: Path) -> None:
    """A copy of the chart just drawn at `path` in the cache (where it can be written)."""
    import shutil

    try:
        kept.parent.mkdir(parents=True, exist_ok=True)
        with atomic_replace(kept) as tmp:
            shutil.copyfile(path, tmp)
    except OSError:
        pass


@dataclass(frozen=True)
class Panel:
    """One panel of a tornado chart: a quantity's value as it stands (`base`) and, per row, the
    lowest and highest value it takes over that row's alternatives."""

    x_label: str
    base: float
    rows: Sequence[tuple[str, float, float]]    # (label, low, high), drawn top to bottom
    marker: float | None = None                 # a value to mark with a dashed line (1x: a verdict flips)


def tornado_chart(path: Path, panels: Sequence[Panel], *, title: str, columns: int = 2) -> None:
    """Write a tornado chart, one panel per quantity, as PNG: per row a bar from its low to its
    high value, blue below the value as it stands and orange above it, that value as a solid line
    and `marker` as a dashed red one. Copied from resim's cache when drawn before from the same
    values, as `bar_chart` is (a rerun takes the sensitivity study from its cache too)."""
    drawn = _drawn_before(path, "tornado", [(p.x_label, float(p.base), [[str(label), float(low), float(high)]
                                                                         for label, low, high in p.rows],
                                             None if p.marker is None else float(p.marker)) for p in panels],
                          title, columns)
    if drawn is None:
        return
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=13)
    small = ImageFont.load_default(size=11)
    label_w, plot_w, row_h, head, foot = 240, 360, 22, 30, 48
    panel_w = label_w + plot_w + 24
    most = max((len(p.rows) for p in panels), default=0)
    panel_h = head + max(most, 1) * row_h + foot
    columns = max(1, min(columns, len(panels)))
    grid_rows = math.ceil(len(panels) / columns) if panels else 1
    top = 52
    image = Image.new("RGB", (panel_w * columns, top + panel_h * grid_rows), "white")
    draw = ImageDraw.Draw(image)
    draw.text((image.width / 2, 8), title, fill="black", font=font, anchor="ma")
    draw.text((image.width / 2, 28), "blue: alternatives below the value as written, orange: above; black line: as "
              "written; dashed red: 1x, where the verdict flips", fill="#444444", font=small, anchor="ma")
    for index, panel in enumerate(panels):
        x0 = (index % columns) * panel_w + label_w
        y0 = top + (index // columns) * panel_h + head
        values = [panel.base, *[v for _, low, high in panel.rows for v in (low, high)]]
        if panel.marker is not None:
            values.append(panel.marker)
        lo, hi = min(values), max(values)
        pad = (hi - lo) * 0.06 or abs(hi) * 0.05 or 1.0
        lo, hi = lo - pad, hi + pad

        def x_of(value: float, lo: float = lo, hi: float = hi, x0: int = x0) -> float:
            return x0 + plot_w * (value - lo) / (hi - lo)

        bottom = y0 + max(len(panel.rows), 1) * row_h
        step = nice_step(hi - lo)
        tick = math.ceil(lo / step) * step
        while tick <= hi:
            x = x_of(tick)
            draw.line([(x, y0), (x, bottom)], fill="#e6e6e6")
            draw.text((x, bottom + 4), f"{tick:.4g}", fill="black", font=small, anchor="ma")
            tick += step
        for k, (label, low, high) in enumerate(panel.rows):
            y = y0 + k * row_h
            if low < panel.base:
                draw.rectangle([x_of(low), y + 4, x_of(panel.base), y + row_h - 4], fill=PALETTE[0])
            if high > panel.base:
                draw.rectangle([x_of(panel.base), y + 4, x_of(high), y + row_h - 4], fill=PALETTE[1])
            draw.text((x0 - 6, y + row_h / 2), label, fill="black", font=small, anchor="rm")
        if not panel.rows:
            draw.text((x0 + plot_w / 2, y0 + row_h / 2), "no alternative moves it", fill="#444444", font=small,
                      anchor="mm")
        draw.line([(x0, y0), (x0, bottom), (x0 + plot_w, bottom)], fill="black")
        base_x = x_of(panel.base)
        draw.line([(base_x, y0 - 4), (base_x, bottom)], fill="black", width=2)
        draw.text((base_x, y0 - 6), f"{panel.base:.4g}x", fill="black", font=small, anchor="md")
        if panel.marker is not None:
            x = x_of(panel.marker)
            for y in range(int(y0), int(bottom), 8):
                draw.line([(x, y), (x, min(y + 4, bottom))], fill=PALETTE[3], width=1)
        draw.text((x0 + plot_w / 2, bottom + 22), panel.x_label, fill="black", font=small, anchor="ma")
    with atomic_replace(path) as tmp:
        image.save(tmp, format="PNG")
    _keep(path, drawn)
