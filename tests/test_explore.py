"""`resim explore` (issue #28): the space file's validation, the Pareto front and the candidate rule
on a space whose figures are set by hand, resuming after an interruption with nothing lost, the
seeded NSGA-II search, and one real design through the pipeline (hardware stage and fault study)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from simulator import pipeline
from simulator.cli import app
from simulator.config.errors import ConfigError
from simulator.explore import load_space, run_explore
from simulator.explore.pareto import Entry, dominates, front, margins
from simulator.explore.space import Objective
from simulator.sweep.point import PointOutcome, PointTask
from simulator.sweep.table import FIGURES

REPO = Path(__file__).resolve().parents[1]
LENET = REPO / "workloads" / "lenet5_mnist_sparse_1.8.yaml"

# ----------------------------------------------------------------------------- figures by hand
# Energy falls with the crossbar size, differential costs 0.5 uJ and a replica budget 0.1 uJ; the
# accuracy under faults falls with the size, differential adds 5 points; area grows with the size.
ENERGY = {16: 3.0, 32: 2.0, 64: 1.0}
ACCURACY = {16: 0.90, 32: 0.85, 64: 0.70}
AREA = {16: 1.0, 32: 2.0, 64: 4.0}
DIFFERENTIAL = (0.5, 0.05)
REPLICAS = 0.1
HARDWARE_CALLS: list[dict[str, Any]] = []
FAULT_CALLS: list[str] = []


def _by_hand(size: int, encoding: str, budget: float) -> tuple[float, float, float]:
    energy = ENERGY[size] + (DIFFERENTIAL[0] if encoding == "differential" else 0) + (REPLICAS if budget else 0)
    accuracy = ACCURACY[size] + (DIFFERENTIAL[1] if encoding == "differential" else 0)
    return energy, accuracy, AREA[size]


def hardware_by_hand(task: PointTask) -> PointOutcome:
    """A design's hardware row from the table above (no simulation)."""
    document = yaml.safe_load(task.workload.read_text())
    size, encoding = document["mapping"]["crossbar"]["size"], document["mapping"]["encoding"]
    budget = float(document.get("hardware_study", {}).get("replica_budget", 0))
    HARDWARE_CALLS.append(dict(task.overrides))
    energy, accuracy, area = _by_hand(size, encoding, budget)
    row: dict[str, Any] = {name: 1.0 for name in FIGURES}
    row.update(task.overrides)
    row.update(point_id=task.point_id, config_hash=task.config_hash, energy_per_inference_uj=energy, area_mm2=area,
               adc_bits=6, tiles_placed=1, tiles_dense=1, arrays_placed=1, test_accuracy=accuracy,
               results=str(task.out), seconds=0.0)
    return PointOutcome(task.point_id, row)


def faults_by_hand(task: PointTask) -> PointOutcome:
    document = yaml.safe_load(task.workload.read_text())
    size, encoding = document["mapping"]["crossbar"]["size"], document["mapping"]["encoding"]
    FAULT_CALLS.append(task.point_id)
    _, accuracy, _ = _by_hand(size, encoding, 0)
    return PointOutcome(task.point_id, {"point_id": task.point_id, "config_hash": task.config_hash,
                                        "accuracy_under_faults": accuracy, "ci95_low": None, "ci95_high": None,
                                        "fault_rate": 0.001, "fault_runs": 1, "encoding": encoding,
                                        "results": str(task.out), "seconds": 0.0})


def _space(tmp_path: Path, **changes: Any) -> Path:
    document: dict[str, Any] = {
        "axes": {"mapping.crossbar.size": [16, 32, 64], "mapping.encoding": ["two-column", "differential"],
                 "hardware_study.replica_budget": [0, 1]},
        "objectives": {"energy": "min", "accuracy": "max"},
        "constraints": ["area <= 3"],
        # The bound is the clean accuracy itself here (the rows above make it exact).
        "faults": {"rate": 0.001, "runs": 1, "test_samples": 100, "bound_margin": 0},
        "references": {"ref32": {"mapping.crossbar.size": 32, "mapping.encoding": "two-column",
                                 "hardware_study.replica_budget": 1}},
    }
    document.update(changes)
    path = tmp_path / "space.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def _explore(space: Path, folder: Path, **kwargs: Any):
    HARDWARE_CALLS.clear()
    FAULT_CALLS.clear()
    return run_explore(load_space(space, LENET), run=pipeline.run, out=folder, workers=1,
                       hardware_work=hardware_by_hand, fault_work=faults_by_hand, **kwargs)


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def _key(row: dict[str, str]) -> tuple[int, str, float]:
    return int(row["mapping.crossbar.size"]), row["mapping.encoding"], float(row["hardware_study.replica_budget"])


def test_front_and_candidates_of_a_space_known_by_hand(tmp_path):
    result = _explore(_space(tmp_path), tmp_path / "out")
    assert "exhaustive" in result.mode and not result.failures
    # Every design has its hardware row: the 12 of the space (the reference is one of them).
    designs = {_key(r): r for r in _rows(tmp_path / "out" / "designs.csv")}
    assert len(designs) == 12 and len(HARDWARE_CALLS) == 12
    # By hand: 64 breaks area <= 3; a replica budget costs energy for nothing; 16/two-column
    # (3.0 uJ, 90 %) is beaten by 32/differential (2.5 uJ, 90 %). The front is the rest.
    front_rows = _rows(tmp_path / "out" / "front.csv")
    assert sorted((int(r["mapping.crossbar.size"]), r["mapping.encoding"], float(r["hardware_study.replica_budget"]))
                  for r in front_rows) == [(16, "differential", 0.0), (32, "differential", 0.0),
                                           (32, "two-column", 0.0)]
    # Fault studies: the reference's group first, then best energy first; 32/differential's study
    # (2.5 uJ, 90 %) closes 16/two-column (3.0 uJ, at most 90 %) before it is studied; 64 never is.
    assert len(_rows(tmp_path / "out" / "accuracy.csv")) == 3 == len(FAULT_CALLS)
    markdown = (tmp_path / "out" / "explore.md").read_text()
    closed_id = designs[(16, "two-column", 0.0)]["point_id"]
    html = (tmp_path / "out" / "report.html").read_text()
    assert f'<tr class="closed"><td>{closed_id}</td>' in html
    assert "3 front" in markdown
    # The reference (32, two-column, budget 1) is dominated by the same design without the budget:
    # 0.1 uJ of 2.1 (-4.8 %) and no accuracy change.
    best = designs[(32, "two-column", 0.0)]["point_id"]
    assert f"**ref32** ({designs[(32, 'two-column', 1.0)]['point_id']}): dominated by {best} (energy per " \
           "inference -4.8 %, accuracy under faults +0.0 pp)" in markdown
    assert 'class="ref"' in html and "designs/" + best + "/report.html" in html


def test_resume_after_an_interruption_loses_nothing(tmp_path):
    space = _space(tmp_path)
    whole = _explore(space, tmp_path / "whole")
    expected = {r["point_id"]: r for r in _rows(tmp_path / "whole" / "designs.csv")}
    written: list[str] = []

    def stop_after_five(table: str, design: str) -> None:
        written.append(design)
        if len(written) == 5:
            raise KeyboardInterrupt   # the machine goes down after the fifth row is on disk

    with pytest.raises(KeyboardInterrupt):
        _explore(space, tmp_path / "cut", on_row=stop_after_five)
    kept = _rows(tmp_path / "cut" / "designs.csv")
    studied = _rows(tmp_path / "cut" / "accuracy.csv")
    # Every row reported written is on disk, in either table.
    assert sorted(r["point_id"] for r in kept + studied) == sorted(written)
    resumed = _explore(space, tmp_path / "cut")
    # Nothing that finished runs again, and the tables end as an uninterrupted search's.
    assert len(HARDWARE_CALLS) == 12 - len(kept)
    assert {r["point_id"] for r in kept}.isdisjoint(resumed.ran)
    final = {r["point_id"]: r for r in _rows(tmp_path / "cut" / "designs.csv")}
    assert final.keys() == expected.keys()
    assert all(final[k]["energy_per_inference_uj"] == expected[k]["energy_per_inference_uj"] for k in final)
    assert len(FAULT_CALLS) == 3 - len(studied)
    assert sorted(r["design"] for r in _rows(tmp_path / "cut" / "front.csv")) == sorted(
        r["design"] for r in _rows(tmp_path / "whole" / "front.csv"))
    assert whole.fault_rows.keys() == resumed.fault_rows.keys()


def test_nsga_search_is_seeded_and_resumes_on_the_same_path(tmp_path):
    space = _space(tmp_path, search={"designs": 8, "population": 4, "seed": 3, "exhaustive_up_to": 0},
                   references=None)
    first = _explore(space, tmp_path / "a")
    assert first.mode.startswith("NSGA-II") and len(first.space_designs) == 8
    again = _explore(space, tmp_path / "b")
    assert again.space_designs == first.space_designs
    calls: list[str] = []

    def stop(table: str, design: str) -> None:
        calls.append(design)
        if len(calls) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _explore(space, tmp_path / "c", on_row=stop)
    before = len(_rows(tmp_path / "c" / "designs.csv"))
    resumed = _explore(space, tmp_path / "c")
    assert resumed.space_designs == first.space_designs
    assert len(HARDWARE_CALLS) == 8 - before
    assert {r["point_id"] for r in _rows(tmp_path / "c" / "designs.csv")} == set(first.hardware_rows)


def test_dominance_and_margins_by_hand():
    objectives = [Objective("energy_per_inference_uj", "min"), Objective("accuracy_under_faults", "max")]
    a = Entry("a", "g1", {"energy_per_inference_uj": 1.0}, accuracy=0.9)
    b = Entry("b", "g2", {"energy_per_inference_uj": 2.0}, accuracy=0.8)
    c = Entry("c", "g3", {"energy_per_inference_uj": 0.5}, accuracy=0.5)
    assert dominates((1.0, -0.9), (2.0, -0.8)) and not dominates((1.0, -0.9), (1.0, -0.9))
    assert [e.design_id for e in front([a, b, c], objectives, [])] == ["a", "c"]
    (margin,) = margins(b, [a, c], objectives)
    assert margin.by == "a" and margin.changes == pytest.approx({"energy_per_inference_uj": -50.0,
                                                                 "accuracy_under_faults": 10.0})


# ----------------------------------------------------------------------------- validation

@pytest.mark.parametrize("change, where, value, allowed", [
    ({"axes": {"mapping.crossbar.sise": [16]}}, "axes.mapping.crossbar.sise", "'sise'", "allowed keys"),
    ({"axes": {"mapping.crossbar.size": [16, 300]}}, "axes.mapping.crossbar.size", "300", "256"),
    ({"axes": {"mapping.encoding": ["two-column", "fancy"]}}, "axes.mapping.encoding", "'fancy'", "differential"),
    ({"axes": {"mapping.crossbar.size": {"low": 16, "high": 8, "step": 8}}}, "axes.mapping.crossbar.size.high", "8",
     "must be >= low"),
    ({"axes": {"mapping.crossbar.size": {"low": 16, "high": 64}}}, "axes.mapping.crossbar.size", "'low'",
     "exactly one of step"),
    ({"objectives": {"speed": "max"}}, "objectives.speed", "'speed'", "energy_per_inference_uj"),
    ({"objectives": {"energy": "lowest"}}, "objectives.energy", "'lowest'", "min, max"),
    ({"constraints": ["area =< 3"]}, "constraints[0]", "'area =< 3'", "<=, >="),
    ({"constraints": ["area <= 3 %"]}, "constraints[0]", "'area <= 3 %'", "fractions only"),
    ({"faults": {"rate": 2}}, "faults.rate", "2", "a number in [0, 1]"),
    ({"faults": {"settings": {"read_nois": 0.1}}}, "faults.settings.read_nois", "'read_nois'", "allowed keys"),
    ({"search": {"designs": 0}}, "search.designs", "0", "a whole number"),
    ({"references": {"r": {"mapping.reorder": "fastest"}}}, "references.r.mapping.reorder", "'fastest'", "kmeans"),
    ({"extra": 1}, "extra", None, "allowed keys here: workload, axes"),
])
def test_bad_space_files_name_file_key_value_and_what_is_allowed(tmp_path, change, where, value, allowed):
    path = _space(tmp_path, **change)
    with pytest.raises(ConfigError) as info:
        load_space(path, LENET)
    lines = str(info.value).splitlines()
    line = next((line for line in lines if f"{path}: {where}" in line), None)
    assert line is not None, lines
    assert allowed in line and (value is None or value in line)


def test_a_missing_workload_or_space_file_is_named_as_itself(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_space(_space(tmp_path), tmp_path / "missing.yaml")
    assert str(info.value).startswith(f"{tmp_path / 'missing.yaml'}: ") and "space.yaml" not in str(info.value)
    with pytest.raises(ConfigError) as info:
        load_space(tmp_path / "none.yaml", LENET)
    assert str(info.value).startswith(f"{tmp_path / 'none.yaml'}: ")


def test_ranges_expand_and_device_settings_are_plain_axes(tmp_path):
    space = load_space(_space(tmp_path, axes={"mapping.crossbar.size": {"low": 16, "high": 128, "factor": 2},
                                              "hardware_study.replica_budget": {"low": 0, "high": 1, "step": 0.25}}),
                       LENET)
    assert space.axes == {"mapping.crossbar.size": [16, 32, 64, 128],
                          "hardware_study.replica_budget": [0.0, 0.25, 0.5, 0.75, 1.0]}
    # Any faults.* field of the workload model is an axis (the device model's, when it has them).
    space = load_space(_space(tmp_path, axes={"faults.stuck_cols_rate": [0.0, 0.001]}), LENET)
    assert space.axes == {"faults.stuck_cols_rate": [0.0, 0.001]}


# ----------------------------------------------------------------------------- one real design

def test_a_real_design_through_the_hardware_stage_and_its_fault_study(tmp_path, shared_data, cache):
    space = tmp_path / "space.yaml"
    space.write_text(yaml.safe_dump({
        "axes": {"mapping.crossbar.size": [64], "mapping.encoding": ["differential"]},
        "objectives": {"energy": "min", "latency": "min", "accuracy": "max"},
        "faults": {"rate": 0.001, "runs": 1, "test_samples": 100}}))
    result = CliRunner().invoke(app, ["explore", str(LENET), "--space", str(space), "--out", str(tmp_path / "x"),
                                      "--data-dir", str(shared_data), "--workers", "1"])
    assert result.exit_code == 0, result.output
    (row,) = _rows(tmp_path / "x" / "accuracy.csv")
    assert row["encoding"] == "differential" and 0.5 < float(row["accuracy_under_faults"]) <= 1
    (design,) = _rows(tmp_path / "x" / "designs.csv")
    assert float(design["energy_per_inference_uj"]) > 0 and 0 < float(design["test_accuracy"]) <= 1
    assert (tmp_path / "x" / "designs" / design["point_id"] / "report.html").is_file()
    assert (tmp_path / "x" / "faults" / row["point_id"] / "report.html").is_file()
    assert (tmp_path / "x" / "front.csv").read_text().count("\n") == 2
    # A second run finds everything in the tables and runs nothing.
    again = CliRunner().invoke(app, ["explore", str(LENET), "--space", str(space), "--out", str(tmp_path / "x"),
                                     "--data-dir", str(shared_data), "--workers", "1"])
    assert again.exit_code == 0 and "0 designs and 0 fault studies ran" in again.output


# ----------------------------------------------------------------------------- the page in a browser

@pytest.mark.browser
def test_report_html_in_headless_chromium(tmp_path):
    """report.html requests nothing but itself, draws every pairwise plot with the front in colour
    and the rest grey, and hovering a design marks it in every plot and names it."""
    import chromium

    result = _explore(_space(tmp_path, objectives={"energy": "min", "area": "min", "accuracy": "max"},
                             constraints=None), tmp_path / "out")
    page_file = result.folder / "report.html"
    try:
        from playwright import sync_api
    except ImportError:
        chromium._unavailable("no playwright: pip install -e '.[browser]'")
    with sync_api.sync_playwright() as playwright:
        executable = chromium._executable(playwright)
        if executable is None:
            chromium._unavailable("no Chromium: apt-get install chromium")
        browser = playwright.chromium.launch(executable_path=executable)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            requests: list[str] = []
            page.on("request", lambda request: requests.append(request.url))
            page.goto(page_file.as_uri(), wait_until="load")
            plots = page.evaluate("Array.from(document.querySelectorAll('svg.plot'), s => "
                                  "[s.getBoundingClientRect().width, s.querySelectorAll('circle, path.ref').length])")
            colours = page.evaluate("Array.from(document.querySelectorAll('svg.plot')[0].querySelectorAll('circle'), "
                                    "c => [c.getAttribute('class'), getComputedStyle(c).fill])")
            front_circle = page.locator("svg.plot circle.front").first
            design = front_circle.get_attribute("data-design")
            front_circle.hover()
            marked = page.evaluate(f"document.querySelectorAll('[data-design=\"{design}\"].hl').length")
            info = page.locator("#info").inner_text()
            link = page.locator(f'svg.plot a:has([data-design="{design}"])').first.get_attribute("href")
        finally:
            browser.close()
    assert requests == [page_file.as_uri()]
    # Three objectives: three pairs, each drawing the 12 designs (the one reference as a diamond).
    assert len(plots) == 3 and all(width > 300 and count == 12 for width, count in plots)
    fills = {cls: fill for cls, fill in colours}
    assert fills["front"] == "rgb(31, 119, 180)" and fills["dominated"] == "rgb(187, 187, 187)"
    assert marked == 3 and design in info and "status: front" in info
    assert link == f"designs/{design}/report.html"


def test_dask_scheduler_gives_the_local_tables(tmp_path):
    """--scheduler: the designs and fault studies run on a Dask cluster, into the same tables as
    local workers fill."""
    distributed = pytest.importorskip("dask.distributed")
    space = _space(tmp_path)
    local = _explore(space, tmp_path / "local")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp://",
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        remote = _explore(space, tmp_path / "dask", executor="dask", scheduler=cluster.scheduler_address)
    assert remote.hardware_rows.keys() == local.hardware_rows.keys()
    assert remote.fault_rows.keys() == local.fault_rows.keys()
    # The same front, row for row (the links are relative to each folder).
    assert _rows(tmp_path / "dask" / "front.csv") == _rows(tmp_path / "local" / "front.csv") != []


def test_nsga_search_reaches_its_budget_when_the_population_converges(tmp_path):
    """Asking for every design of the space: once the children are mostly designs already seen,
    unseen ones are enqueued, so the budget is met within a few generations."""
    space = _space(tmp_path, search={"designs": 12, "population": 4, "seed": 1, "exhaustive_up_to": 0},
                   references=None)
    result = _explore(space, tmp_path / "all")
    assert sorted(result.space_designs) == sorted(result.hardware_rows) and len(result.space_designs) == 12
    assert len(HARDWARE_CALLS) == 12
    # Without the unseen designs enqueued, seed 1 takes the 60-generation limit and misses one.
    assert result.generations <= 10


def test_a_second_search_into_a_locked_folder_stops_at_once(tmp_path):
    from filelock import FileLock

    space = _space(tmp_path)
    (tmp_path / "busy").mkdir()
    with FileLock(tmp_path / "busy" / ".sweep.lock"):
        with pytest.raises(ConfigError) as info:
            _explore(space, tmp_path / "busy")
    assert "another resim explore is running into this folder" in str(info.value)
    assert HARDWARE_CALLS == [] and not (tmp_path / "busy" / "designs.csv").exists()


def faults_fail_for_differential(task: PointTask) -> PointOutcome:
    document = yaml.safe_load(task.workload.read_text())
    if document["mapping"]["encoding"] == "differential":
        FAULT_CALLS.append(task.point_id)
        return PointOutcome(task.point_id, None, "RuntimeError: the study broke")
    return faults_by_hand(task)


def test_a_failed_fault_study_is_named_and_the_search_goes_on(tmp_path):
    HARDWARE_CALLS.clear()
    FAULT_CALLS.clear()
    result = run_explore(load_space(_space(tmp_path, references=None), LENET), run=pipeline.run,
                         out=tmp_path / "out", workers=1, hardware_work=hardware_by_hand,
                         fault_work=faults_fail_for_differential)
    # The two differential groups within the area constraint fail once each and are not retried;
    # the front is what the two-column studies leave: 32/two-column alone beats 16/two-column.
    assert sorted(result.failures.values()).count("RuntimeError: the study broke") == 2
    front_rows = _rows(tmp_path / "out" / "front.csv")
    assert [(r["mapping.crossbar.size"], r["mapping.encoding"]) for r in front_rows] == [("32", "two-column"),
                                                                                         ("16", "two-column")]
    assert "its fault study failed" in (tmp_path / "out" / "report.html").read_text()
