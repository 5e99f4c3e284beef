"""`resim faults` writes a self-contained report.html into a folder of its own per set of options
(issue #18, items 3 and 4), its tables in percent."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import chromium
import pytest

REPO = Path(__file__).resolve().parents[1]
LENET = REPO / "workloads" / "lenet5_mnist_sparse_1.8.yaml"
PNG_URI = "data:image/png;base64,"


def _faults(cwd: Path, data: Path, *options: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "simulator.cli", "faults", str(LENET), "--data-dir", str(data),
                           "--encodings", "two-column,differential", "--runs", "2", "--quiet", *options],
                          capture_output=True, text=True, timeout=600, cwd=cwd, env=env, check=False)


@pytest.fixture(scope="module")
def studies(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[subprocess.CompletedProcess[str]]]:
    from conftest import shared_data_dir

    data = shared_data_dir()
    if not (data / "mnist").is_dir():
        pytest.skip(f"shared data not found at {data} (set RESIM_TEST_DATA)")
    cwd = tmp_path_factory.mktemp("faults")
    return cwd, [_faults(cwd, data, "--rates", "0,0.01"), _faults(cwd, data, "--rates", "0,0.003")]


def test_each_set_of_options_gets_its_own_folder(studies: tuple[Path, list[subprocess.CompletedProcess[str]]]) -> None:
    cwd, procs = studies
    assert all(proc.returncode == 0 for proc in procs), [proc.stderr for proc in procs]
    folders = sorted((cwd / "results").iterdir())
    assert len(folders) == 2 and all(re.fullmatch(r"lenet5_mnist_sparse_1\.8-[0-9a-f]{10}-faults-[0-9a-f]{8}", f.name)
                                     for f in folders)
    for proc in procs:   # each run names its own folder
        named = re.search(r"also (\S+report\.html)", proc.stdout)
        assert named and (cwd / named.group(1)).is_file()


def test_report_html_is_self_contained_and_in_percent(
        studies: tuple[Path, list[subprocess.CompletedProcess[str]]]) -> None:
    cwd, procs = studies
    for folder in (cwd / "results").iterdir():
        page = (folder / "report.html").read_text(encoding="utf-8")
        sources = re.findall(r'(?:src|href)="([^"]*)"', page)
        assert sources and all(src.startswith(PNG_URI) for src in sources)   # no request but for itself
        assert "mean accuracy (%)" in page and "std (points)" in page and "fault options" in page
        means = [float(m) for m in re.findall(r'<td class="num">(\d+\.\d+)</td>', page)]
        assert any(m > 90 for m in means)   # percent, not 0.986
    assert "mean accuracy (%)" in procs[0].stdout and "| 98." in procs[0].stdout


@pytest.mark.slow
@pytest.mark.browser
def test_faults_report_renders_in_headless_chromium(studies: tuple[Path, list[subprocess.CompletedProcess[str]]],
                                                    tmp_path: Path) -> None:
    """The third browser check (run, sweep, faults): the page opens in headless Chromium with its
    plot rendered and requests nothing but itself. RESIM_FAULTS_SCREENSHOT=path keeps the screenshot."""
    cwd, _ = studies
    html = next((cwd / "results").iterdir()) / "report.html"
    shot = tmp_path / "faults.png"
    requests, images = chromium.render(html, shot)
    assert requests == [html.as_uri()]
    assert len(images) == 1 and all(done and width > 0 and height > 0 for done, width, height in images)
    if target := os.environ.get("RESIM_FAULTS_SCREENSHOT"):
        shutil.copy(shot, target)


def test_the_report_stage_writes_the_folder_from_the_typed_study(tmp_path: Path) -> None:
    """The files of `resim faults` come from the report stage's writer of the typed FaultStudy (the
    command only prints what it returns); a run's folder takes its draws and plot from the same
    writer, under the run's file name."""
    import json

    import pandas as pd

    from simulator.config import load_workload
    from simulator.config.faults import FaultSpec
    from simulator.faults.study import FaultStudy
    from simulator.faults.summary import summarise
    from simulator.report.faults import PLOT_NAME, fault_options_text, write_fault_draws, write_fault_report

    workload = load_workload(LENET)
    spec = FaultSpec(rates=[0.001, 0.01], encodings=["two-column", "differential"], runs=2)
    draws = pd.DataFrame({"encoding": ["two-column"] * 4 + ["differential"] * 4,
                          "rate": [0.001, 0.001, 0.01, 0.01] * 2, "run": [0, 1] * 4,
                          "accuracy": [0.97, 0.96, 0.40, 0.50, 0.985, 0.98, 0.90, 0.92]})
    study = FaultStudy(spec, draws, summarise(draws))
    report = write_fault_report(workload, study, 0.986, tmp_path / "faults", "net.pt")
    folder = tmp_path / "faults"
    assert {p.name for p in folder.iterdir()} == {"faults.csv", "faults_summary.csv", PLOT_NAME,
                                                  "tolerable_rates.json", "report.html"}
    assert (folder / "faults.csv").read_text() == draws.to_csv(index=False)
    assert pd.read_csv(folder / "faults_summary.csv")["mean"].tolist() == pytest.approx([0.965, 0.45, 0.9825, 0.91])
    tolerable = json.loads((folder / "tolerable_rates.json").read_text())
    assert tolerable["tolerable_rate"] == {"two-column": "< 0.001", "differential": tolerable["tolerable_rate"]
                                           ["differential"]} and tolerable["drop"] == 0.01
    assert float(tolerable["tolerable_rate"]["differential"]) == pytest.approx(0.001, rel=0.5)
    assert report.lines[0] == "fault-free (quantized) accuracy: 98.60%" and len(report.tables) == 1
    assert report.summary_file == folder / "faults_summary.csv" and report.html_file == folder / "report.html"
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert fault_options_text(spec).startswith("--rates 0.001,0.01 --encodings two-column,differential --runs 2 ")
    assert fault_options_text(spec) in page and "net.pt" in page and PNG_URI in page

    plot = write_fault_draws(study, tmp_path / "run", draws_name="accuracy.csv", title="lenet")
    assert plot == tmp_path / "run" / PLOT_NAME and plot.is_file()
    assert (tmp_path / "run" / "accuracy.csv").read_text() == draws.to_csv(index=False)
