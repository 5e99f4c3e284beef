"""report.html (issue #7 item 3): one self-contained file with report.md's sections and plots."""

from __future__ import annotations

import base64
import os
import shutil
from html.parser import HTMLParser
from pathlib import Path

import chromium
import pandas as pd
import pytest
import yaml
from conftest import shared_data_dir

from simulator.pipeline import run
from simulator.report.html import format_cell, render_html, table_of
from simulator.report.model import RunReport

REPO = Path(__file__).resolve().parents[1]
# Elements without an end tag in HTML5; every other start tag must be closed, in order.
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
PNG_URI = "data:image/png;base64,"


class Page(HTMLParser):
    """The parts of a page the tests look at, and every nesting error found while parsing."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.images: list[str] = []
        self.headings: list[str] = []
        self.tables: list[list[list[str]]] = []   # per table, rows of cell texts (header row first)
        self._heading: list[str] | None = None
        self._cell: list[str] | None = None
        self.feed(text)
        self.close()
        if self.stack:
            self.errors.append(f"never closed: {self.stack}")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.images.append(dict(attrs).get("src") or "")
        if tag in VOID:
            return
        self.stack.append(tag)
        if tag in ("h1", "h2", "h3"):
            self._heading = []
        elif tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> at line {self.getpos()[0]} closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()
        if tag in ("h1", "h2", "h3"):
            self.headings.append(" ".join("".join(self._heading).split()))
            self._heading = None
        elif tag in ("td", "th"):
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        for part in (self._heading, self._cell):
            if part is not None:
                part.append(data)


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, RunReport]:
    """One run of the shipped LeNet-5 checkpoint with every section: hardware, 32x32 tiles (so the
    utilisation histogram has several bars), a small fault study and the pruning log."""
    data = shared_data_dir()
    if not (data / "mnist").is_dir():
        pytest.skip(f"shared data not found at {data} (set RESIM_TEST_DATA)")
    folder = tmp_path_factory.mktemp("html")
    doc = yaml.safe_load((REPO / "workloads" / "lenet5_mnist_sparse_1.8.yaml").read_text())
    doc["hardware"] = str(REPO / "hwconfigs" / "prime.yaml")
    doc["model"]["checkpoint"] = str(REPO / "checkpoints" / "lenet5_mnist_imp_1.8.pt")
    doc["data"] = {"dataset": "mnist", "dir": str(data), "test_samples": 500}
    doc["mapping"]["crossbar"]["size"] = 32
    doc["faults"] = {"rates": [1e-3, 1e-2], "encodings": ["two-column"], "runs": 2}
    workload = folder / "lenet.yaml"
    workload.write_text(yaml.safe_dump(doc))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RESIM_CACHE", str(folder / "cache"))
        return run(workload, out=folder / "out", progress=False)


def test_report_html_is_self_contained_well_formed_and_embeds_every_png(results: tuple[Path, RunReport]) -> None:
    out, _ = results
    text = (out / "report.html").read_text(encoding="utf-8")
    for external in ('src="http', "src='http", "<link", "@import", "url(", "<script"):
        assert external not in text
    page = Page(text)
    assert page.errors == []
    assert all(src.startswith(PNG_URI) for src in page.images)
    embedded = sorted(base64.b64decode(src[len(PNG_URI):]) for src in page.images)
    pngs = sorted(out.glob("*.png"))
    assert {p.name for p in pngs} == {"energy_by_layer.png", "utilization_histogram.png", "accuracy_vs_fault_rate.png"}
    assert embedded == sorted(p.read_bytes() for p in pngs)


def test_report_html_has_report_md_sections_and_tables(results: tuple[Path, RunReport]) -> None:
    out, report = results
    page = Page((out / "report.html").read_text(encoding="utf-8"))
    markdown = (out / "report.md").read_text()
    for heading in ("Layers", "Energy, latency and area (docs/design.md, stage 6)", "By component (per inference)",
                    "Crossbar utilisation (seed 004 Fig. 4)", "Accuracy under stuck-at faults (seed 003 Fig. 6)"):
        assert heading in page.headings and f"# {heading}" in markdown
    assert any(h.startswith("Pruning: imp") for h in page.headings)
    for table in page.tables:
        assert len({len(row) for row in table}) == 1, "every row has as many cells as the header"
    layers = next(t for t in page.tables if t[0][:2] == ["layer", "type"])
    csv = pd.read_csv(out / "layers.csv")
    assert [row[0] for row in layers[1:]] == [*csv["layer"], "Sum"]
    assert layers[-1][layers[0].index("crossbars placed")] == str(report.totals.tiles_placed)
    faults = next(t for t in page.tables if t[0][:2] == ["encoding", "fault rate (p_sa0 + p_sa1)"])
    assert [(row[0], float(row[1])) for row in faults[1:]] == [("two-column", 1e-3), ("two-column", 1e-2)]
    mean = faults[0].index("mean accuracy (%)")   # percent, as the text around it says
    assert [float(row[mean]) for row in faults[1:]] == pytest.approx([100 * p.mean for p in report.faults], abs=0.01)
    # Energy by component for every chip side by side; each chip's column sums to its energy.
    assert "By component, every chip (per inference)" in page.headings
    by_chip = next(t for t in page.tables if t[0][:2] == ["component", "this workload: energy (uJ)"])
    hardware = report.hardware
    chips = {"this workload": hardware.summary, "dense mapping, same chip": hardware.dense.summary if hardware.dense
             else None, "dense baseline chip": hardware.baseline.summary if hardware.baseline else None}
    for chip, summary in chips.items():
        if summary is not None:
            total = float(by_chip[-1][by_chip[0].index(f"{chip}: energy (uJ)")])
            assert total == pytest.approx(summary.energy_per_inference_pj / 1e6, rel=1e-3)
    utilisation = next(t for t in page.tables if t[0][0] == "crossbar utilisation")
    assert len(utilisation) == 1 + len(report.utilization_histogram.bin_upper_edges)
    assert report.network is not None and report.network.prune is not None
    rounds = report.network.prune["rounds"]
    assert len(next(t for t in page.tables if t[0] == list(pd.DataFrame(rounds).columns))) == 1 + len(rounds)


def test_report_html_embeds_unknown_plots_and_notes_missing_ones(
    results: tuple[Path, RunReport], tmp_path: Path
) -> None:
    out, report = results
    folder = tmp_path / "copy"
    shutil.copytree(out, folder)
    (folder / "energy_by_layer.png").unlink()
    shutil.copy(out / "energy_by_layer.png", folder / "extra plot.png")
    text = render_html(report, folder)
    page = Page(text)
    assert page.errors == [] and "Other plots" in page.headings
    assert len(page.images) == 3
    assert "No plot in the results folder for this section." in text


def test_report_html_escapes_text_from_the_report(results: tuple[Path, RunReport]) -> None:
    out, report = results
    text = render_html(report.model_copy(update={"workload": "<b>net</b> & co"}), out)
    assert "<b>net</b>" not in text and "&lt;b&gt;net&lt;/b&gt; &amp; co" in text
    assert Page(text).errors == []


def test_cells_are_formatted_like_report_md() -> None:
    assert [format_cell(v) for v in (3, 0.000123456, 1234567.0, float("nan"), None, True, "a")] == \
        ["3", "0.0001235", "1.235e+06", "", "", "True", "a"]
    table = table_of(pd.DataFrame({"name": ["a", "Sum"], "n": [1, ""], "share": ["10.0%", "90.0%"]}), total_last=True)
    assert table.numeric == [False, True, True]
    assert table.rows == [["a", "1", "10.0%"], ["Sum", "", "90.0%"]]


@pytest.mark.slow
@pytest.mark.browser
def test_report_html_renders_every_plot_in_headless_chromium(results: tuple[Path, RunReport], tmp_path: Path) -> None:
    """Issue #7's acceptance: report.html opens in headless Chromium with every plot rendered and
    makes no request but for itself. RESIM_REPORT_SCREENSHOT=path keeps the full-page screenshot."""
    out, _ = results
    shot = tmp_path / "report.png"
    requests, images = chromium.render(out / "report.html", shot)
    assert requests == [(out / "report.html").as_uri()]
    assert len(images) == 3 and all(done and width > 0 and height > 0 for done, width, height in images)
    assert shot.stat().st_size > 10_000
    if target := os.environ.get("RESIM_REPORT_SCREENSHOT"):
        shutil.copy(shot, target)
