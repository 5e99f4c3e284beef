"""A sweep's report (issue #7 item 3): sweep.md, the plots and a self-contained report.html."""

from __future__ import annotations

import base64
import itertools
import os
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import chromium
import pandas as pd
import pytest

from simulator.sweep.grid import point_id
from simulator.sweep.report import SIZE_KEY, axis_label, write_report
from simulator.sweep.table import ResultsTable, columns

REPO = Path(__file__).resolve().parents[1]
LENET = REPO / "workloads" / "lenet5_mnist_sparse_1.8.yaml"
PNG_URI = "data:image/png;base64,"
TITLE = "Sweep of test_net"


class Page(HTMLParser):
    """Every reference the page makes (src, href, link tags) and its table rows."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.images: list[str] = []
        self.references: list[str] = []
        self.tags: set[str] = set()
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        values = dict(attrs)
        if tag == "img":
            self.images.append(values.get("src") or "")
        self.references += [value or "" for name, value in attrs if name in ("src", "href", "srcset", "action")]
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _results(folder: Path, axes: dict[str, list], accuracy: bool = False, skip: int = 0) -> list[str]:
    """results.csv of a sweep over `axes` with made-up but plausible figures, written as the
    runner writes it (finishing order reversed, the last `skip` points missing); the point ids
    in grid order."""
    keys = list(axes)
    points = [dict(zip(keys, values)) for values in itertools.product(*axes.values())]
    table = ResultsTable(folder / "results.csv", columns(keys))
    table.finished()
    for i, overrides in reversed(list(enumerate(points[: len(points) - skip]))):
        size = overrides.get(SIZE_KEY, 32)
        density = overrides.get("prune.density", 0.05)
        dense = (4096 // size) ** 2
        placed = max(1, round(dense * min(1.0, density * size / 4)))
        table.append({**overrides, "point_id": point_id(overrides), "config_hash": f"h{i}",
                      "energy_per_inference_uj": 10 + placed / 50, "latency_us": 5 + size / 8,
                      "inferences_per_second": 1e6 / (5 + size / 8), "tops_per_watt": 3.0 + i,
                      "tiles_placed": placed, "tiles_dense": dense, "arrays_placed": 4 * placed, "density": density,
                      "test_accuracy": 0.9 + density if accuracy else None,
                      "energy_efficiency_vs_dense": dense / placed, "speedup_vs_dense": 1 + 1 / size,
                      "energy_efficiency_vs_baseline": 0.5 * dense / placed, "speedup_vs_baseline": 0.9,
                      "results": str(folder / "points" / point_id(overrides)), "seconds": 1.5})
    return [point_id(o) for o in points]


def _report(folder: Path, axes: dict[str, list], failures: dict[str, str] | None = None, **kwargs) -> pd.DataFrame:
    order = _results(folder, axes, **kwargs)
    return write_report(folder, list(axes), order, TITLE, failures or {}, axes=axes, workload="workloads/test.yaml")


def _assert_self_contained(text: str) -> Page:
    page = Page(text)
    assert not {"link", "script", "iframe", "object", "embed", "base"} & page.tags
    for external in ("url(", "@import", "http://", "https://"):
        assert external not in text
    assert all(ref.startswith((PNG_URI, "#")) for ref in page.references), page.references
    return page


def _embedded(folder: Path, page: Page, names: list[str]) -> None:
    """The page's images are exactly the named PNG files of the folder, in that order."""
    assert [src[:len(PNG_URI)] for src in page.images] == [PNG_URI] * len(names)
    assert [base64.b64decode(src[len(PNG_URI):]) for src in page.images] == [(folder / n).read_bytes() for n in names]
    assert sorted(p.name for p in folder.glob("*.png")) == sorted(names)


def test_sweep_report_html_is_self_contained_with_table_and_plots(tmp_path: Path) -> None:
    axes = {SIZE_KEY: [16, 32, 64], "prune.density": [0.075, 0.02]}
    table = _report(tmp_path, axes, accuracy=True)
    text = (tmp_path / "report.html").read_text(encoding="utf-8")
    page = _assert_self_contained(text)
    plots = ["energy_latency_vs_size.png", "crossbars_vs_size.png", "efficiency_vs_size.png",
             "accuracy_vs_prune_density.png"]
    _embedded(tmp_path, page, plots)
    header, *rows = page.rows
    # Readable headers with units; results.csv keeps the machine names.
    assert header[:3] == [SIZE_KEY, "prune.density", "energy / inference (uJ)"]
    # Grid order, although results.csv holds the rows in reverse.
    assert [(int(r[0]), float(r[1])) for r in rows] == list(itertools.product(*axes.values()))
    assert [r[header.index("point")] for r in rows] == table["point_id"].tolist()
    assert "6 finished, 0 failed, 0 not run yet" in text and "workloads/test.yaml" in text
    markdown = (tmp_path / "sweep.md").read_text()
    assert all(f"]({name})" in markdown for name in plots) and "report.html" in markdown
    assert sum(line.startswith("|") for line in markdown.splitlines()) == 1 + 1 + 6  # header, rule, 6 points


def test_grid_without_crossbar_size_plots_against_its_first_numeric_key(tmp_path: Path) -> None:
    axes = {"mapping.reorder": ["kmeans", "none"], "prune.density": [0.1, 0.04, 0.005]}
    _report(tmp_path, axes)
    page = _assert_self_contained((tmp_path / "report.html").read_text(encoding="utf-8"))
    _embedded(tmp_path, page, ["energy_latency_vs_prune_density.png", "crossbars_vs_prune_density.png",
                               "efficiency_vs_prune_density.png"])
    assert len(page.rows) == 1 + 6


def test_grid_of_categories_only_still_gets_plots(tmp_path: Path) -> None:
    _report(tmp_path, {"mapping.reorder": ["kmeans", "none", "skip-empty"]}, accuracy=True)
    page = _assert_self_contained((tmp_path / "report.html").read_text(encoding="utf-8"))
    _embedded(tmp_path, page, ["energy_latency_vs_mapping_reorder.png", "crossbars_vs_mapping_reorder.png",
                               "efficiency_vs_mapping_reorder.png", "accuracy_vs_mapping_reorder.png"])


def test_unfinished_sweep_counts_failed_and_pending_points(tmp_path: Path) -> None:
    axes = {SIZE_KEY: [16, 32, 64, 128]}
    failed = point_id({SIZE_KEY: 128})
    _report(tmp_path, axes, failures={failed: "ConfigError: <b>cannot map</b>\ntraceback"}, skip=2)
    text = (tmp_path / "report.html").read_text(encoding="utf-8")
    page = _assert_self_contained(text)
    assert "4 in the grid: 2 finished, 1 failed, 1 not run yet" in text
    assert failed in text and "&lt;b&gt;cannot map&lt;/b&gt;" in text and "traceback" not in text
    assert [r[0] for r in page.rows[1:]] == ["16", "32"]
    assert len(page.images) == 3 and "Failed points" in (tmp_path / "sweep.md").read_text()


def test_no_finished_point_gives_a_report_without_plots(tmp_path: Path) -> None:
    axes = {SIZE_KEY: [16, 32]}
    (tmp_path / "crossbars_vs_size.png").write_bytes(b"stale")
    _report(tmp_path, axes, skip=2)
    text = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "No point finished yet." in text and Page(text).images == []
    assert not list(tmp_path.glob("*.png")) and "(no point finished)" in (tmp_path / "sweep.md").read_text()


def test_axis_labels_carry_units() -> None:
    assert axis_label(SIZE_KEY) == "crossbar size N (rows = columns)"
    assert axis_label("mapping.weight_bits") == "mapping.weight_bits (bit)"
    assert axis_label("train.epochs") == "train.epochs (epoch)"
    assert axis_label("mapping.reorder") == "mapping.reorder"


# ----------------------------------------------------------------------------- headless Chromium

@pytest.fixture
def sweep_folder(tmp_path: Path, shared_data: Path, cache: Path) -> Path:
    """RESIM_SWEEP_FOLDER (a finished sweep to check), else a LeNet-5 sweep over three crossbar
    sizes with accuracy, so all four plots are drawn."""
    if folder := os.environ.get("RESIM_SWEEP_FOLDER"):
        return Path(folder)
    from simulator.pipeline import run
    from simulator.sweep import grid_from_sets, run_sweep

    grid = grid_from_sets(LENET, ["mapping.crossbar.size=16,32,64"])
    return run_sweep(grid, run=run, out=tmp_path / "sweep", data_dir=shared_data, workers=1, progress=False).folder


@pytest.mark.slow
@pytest.mark.browser
def test_sweep_report_renders_every_plot_in_headless_chromium(sweep_folder: Path, tmp_path: Path) -> None:
    """Issue #7's acceptance for sweeps: report.html opens in headless Chromium with every plot
    rendered and requests nothing but itself. RESIM_SWEEP_SCREENSHOT=path keeps the screenshot."""
    html = sweep_folder / "report.html"
    expected = html.read_text(encoding="utf-8").count(f'src="{PNG_URI}')
    shot = tmp_path / "sweep.png"
    requests, images = chromium.render(html, shot)
    assert requests == [html.as_uri()]
    assert expected >= 3 and len(images) == expected
    assert all(done and width > 0 and height > 0 for done, width, height in images)
    assert shot.stat().st_size > 10_000
    if target := os.environ.get("RESIM_SWEEP_SCREENSHOT"):
        shutil.copy(shot, target)


def test_markdown_names_match_files(tmp_path: Path) -> None:
    _report(tmp_path, {SIZE_KEY: [16, 32]})
    named = re.findall(r"\]\(([^)]+\.png)\)", (tmp_path / "sweep.md").read_text())
    assert sorted(named) == sorted(p.name for p in tmp_path.glob("*.png"))
