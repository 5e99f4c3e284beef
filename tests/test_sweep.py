"""`resim sweep` (issue #7): grid checking, resumable results table, local and Dask executors."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from simulator import pipeline
from simulator.cli import app
from simulator.config.errors import ConfigError, Problem
from simulator.sweep import build_points, grid_from_file, grid_from_sets, run_sweep
from simulator.sweep.grid import parse_set, point_id

REPO = Path(__file__).resolve().parents[1]
LENET = REPO / "workloads" / "lenet5_mnist_sparse_1.8.yaml"
VGG = REPO / "workloads" / "vgg16_sparse.yaml"
SIZES = "mapping.crossbar.size=16,32"


def _error(call) -> str:
    with pytest.raises(ConfigError) as info:
        call()
    return str(info.value)


# ----------------------------------------------------------------------------- the grid

def test_set_values_are_read_as_yaml_scalars():
    assert parse_set("mapping.crossbar.size=8, 16") == ("mapping.crossbar.size", [8, 16])
    assert parse_set("prune.density=0.04,0.02") == ("prune.density", [0.04, 0.02])
    assert parse_set("mapping.reorder=kmeans,none") == ("mapping.reorder", ["kmeans", "none"])


def test_points_cover_the_product_with_stable_distinct_ids():
    grid = grid_from_sets(VGG, [SIZES, "prune.density=0.04,0.02,0.01"])
    points = build_points(grid)
    assert [p.overrides for p in points][:2] == [{"mapping.crossbar.size": 16, "prune.density": 0.04},
                                                 {"mapping.crossbar.size": 16, "prune.density": 0.02}]
    assert len({p.point_id for p in points}) == 6
    assert points[0].point_id == point_id({"mapping.crossbar.size": 16, "prune.density": 0.04})
    assert points[0].document["mapping"]["crossbar"]["size"] == 16
    assert points[0].document["prune"]["density"] == 0.04


def test_point_documents_hold_absolute_paths():
    document = build_points(grid_from_sets(VGG, [SIZES]))[0].document
    for path in (document["hardware"], document["hardware_study"]["baseline"]):
        assert Path(path).is_absolute() and Path(path).is_file()


@pytest.mark.parametrize("option, expected", [
    ("mapping.crossbar.sise=8", ["--set: mapping.crossbar.sise", "'sise'", "allowed keys at mapping.crossbar: size"]),
    ("mapping.size=8", ["'size'", "crossbar", "weight_bits"]),
    ("seed.x=1", ["seed is a value, not a block"]),
    ("mapping.crossbar.size", ["expected KEY=V1,V2"]),
])
def test_unknown_or_malformed_keys_are_named(option, expected):
    message = _error(lambda: grid_from_sets(VGG, [option]))
    for part in expected:
        assert part in message


def test_values_the_workload_rejects_are_named_with_the_key_and_value():
    message = _error(lambda: build_points(grid_from_sets(VGG, ["mapping.crossbar.size=32,300"])))
    assert "--set: mapping.crossbar.size" in message and "(got 300)" in message and "256" in message
    assert "32" not in message.split("(got")[1]  # the valid value is not reported
    message = _error(lambda: build_points(grid_from_sets(VGG, ["mapping.reorder=kmeans,fastest"])))
    assert "mapping.reorder" in message and "'fastest'" in message and "skip-empty" in message


def test_sweep_file_is_read_relative_to_itself(tmp_path):
    sweep = tmp_path / "grid.yaml"
    sweep.write_text(yaml.safe_dump({"workload": os.path.relpath(VGG, tmp_path),
                                     "grid": {"mapping.crossbar.size": [16, 32]}}))
    grid = grid_from_file(sweep, ["prune.density=0.02"])
    assert grid.workload == VGG
    assert grid.axes == {"mapping.crossbar.size": [16, 32], "prune.density": [0.02]}


@pytest.mark.parametrize("document, expected", [
    ({"grid": {"mapping.crossbar.size": [16]}}, "workload: required"),
    ({"workload": "missing.yaml", "grid": {"mapping.crossbar.size": [16]}}, "workload: file not found"),
    ({"workload": "W", "grid": {"mapping.crossbar.size": 16}}, "grid.mapping.crossbar.size: must be a non-empty list"),
    ({"workload": "W", "grid": {"mapping.crossbar.size": [16]}, "extra": 1}, "extra: unknown key"),
    ({"workload": "W", "grid": {"train.epochz": [1]}}, "grid.train.epochz: unknown workload key 'epochz'"),
])
def test_bad_sweep_files_name_file_and_key(tmp_path, document, expected):
    if document.get("workload") == "W":
        document["workload"] = str(VGG)
    sweep = tmp_path / "bad.yaml"
    sweep.write_text(yaml.safe_dump(document))
    message = _error(lambda: grid_from_file(sweep))
    assert str(sweep) in message and expected in message


# ----------------------------------------------------------------------------- running

def _values(table: pd.DataFrame) -> pd.DataFrame:
    """The table without what legitimately differs between runs (folder, time), in grid order."""
    return table.drop(columns=["results", "seconds"]).sort_values("point_id").reset_index(drop=True)


def test_resume_runs_only_the_unfinished_point(tmp_path, shared_data, cache):
    calls: list[int] = []
    armed = [True]
    real = pipeline.run

    def interrupted(workload, **kwargs):
        calls.append(yaml.safe_load(Path(workload).read_text())["mapping"]["crossbar"]["size"])
        if calls[-1] == 32 and armed.pop() if armed else False:
            raise KeyboardInterrupt  # the machine goes down while this point is in flight
        return real(workload, **kwargs)

    grid = grid_from_sets(LENET, [SIZES])
    out = tmp_path / "sweep"
    with pytest.raises(KeyboardInterrupt):
        run_sweep(grid, run=interrupted, out=out, data_dir=shared_data, accuracy=False, workers=1, progress=False)
    assert calls == [16, 32]
    first = pd.read_csv(out / "results.csv")
    assert first["mapping.crossbar.size"].tolist() == [16]
    # The interrupted sweep still wrote its report, of the point that finished.
    assert "2 in the grid: 1 finished, 0 failed, 1 not run yet" in (out / "report.html").read_text()

    result = run_sweep(grid, run=interrupted, out=out, data_dir=shared_data, accuracy=False, workers=1,
                       progress=False)
    assert calls == [16, 32, 32]  # 16 was not run again
    assert len(result.skipped) == 1 and len(result.ran) == 1
    assert sorted(result.table["mapping.crossbar.size"]) == [16, 32]
    assert (out / "sweep.md").read_text().count("| ") > 3 and (out / "energy_latency_vs_size.png").is_file()
    assert "2 finished, 0 failed, 0 not run yet" in (out / "report.html").read_text()

    # A row torn by a crash mid-write: only its point runs again.
    lines = (out / "results.csv").read_text().splitlines(keepends=True)
    (out / "results.csv").write_text(lines[0] + lines[1] + lines[2][: len(lines[2]) // 2])
    calls.clear()
    again = run_sweep(grid, run=interrupted, out=out, data_dir=shared_data, accuracy=False, workers=1, progress=False)
    assert calls == [32] and len(again.skipped) == 1
    with open(out / "results.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2 and len({r["point_id"] for r in rows}) == 2
    assert _values(again.table).equals(_values(result.table))


def test_a_failing_point_is_reported_and_left_out_of_the_table(tmp_path, shared_data, cache):
    real = pipeline.run

    def broken_at_32(workload, **kwargs):
        if yaml.safe_load(Path(workload).read_text())["mapping"]["crossbar"]["size"] == 32:
            raise ConfigError([Problem(Path(workload), "mapping", "cannot map here")])
        return real(workload, **kwargs)

    out = tmp_path / "sweep"
    result = run_sweep(grid_from_sets(LENET, [SIZES]), run=broken_at_32, out=out, data_dir=shared_data,
                       accuracy=False, workers=1, progress=False)
    assert len(result.ran) == 1 and len(result.failures) == 1
    assert "ConfigError" in next(iter(result.failures.values()))
    assert "cannot map here" in next(iter(result.failures.values()))
    assert result.table["mapping.crossbar.size"].tolist() == [16]
    assert "Failed points" in (out / "sweep.md").read_text()
    html = (out / "report.html").read_text()
    assert "1 finished, 1 failed, 0 not run yet" in html and "cannot map here" in html


def test_dask_executor_gives_the_local_table(tmp_path, shared_data, cache):
    distributed = pytest.importorskip("dask.distributed")
    grid = grid_from_sets(LENET, [SIZES])
    local = run_sweep(grid, run=pipeline.run, out=tmp_path / "local", data_dir=shared_data, accuracy=False, workers=2,
                      progress=False)
    # Threads in one process, but the client talks to the scheduler over TCP on loopback.
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp://",
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        remote = run_sweep(grid, run=pipeline.run, out=tmp_path / "dask", data_dir=shared_data, accuracy=False,
                           executor="dask",
                           scheduler=cluster.scheduler_address, progress=False)
    assert len(local.ran) == len(remote.ran) == 2
    assert _values(remote.table).equals(_values(local.table))
    assert remote.table["results"].str.startswith(str(tmp_path / "dask")).all()


def test_cli_sweep_runs_and_names_bad_keys(tmp_path, shared_data, cache):
    runner = CliRunner()
    bad = runner.invoke(app, ["sweep", str(LENET), "--set", "mapping.crossbar.size=16,512", "--quiet"])
    assert bad.exit_code == 1 and "mapping.crossbar.size" in bad.output and "512" in bad.output
    no_grid = runner.invoke(app, ["sweep", str(LENET)])
    assert no_grid.exit_code == 1 and "--set" in no_grid.output
    dask = runner.invoke(app, ["sweep", str(LENET), "--set", SIZES, "--executor", "dask"])
    assert dask.exit_code == 1 and "--scheduler" in dask.output
    out = tmp_path / "cli"
    good = runner.invoke(app, ["sweep", str(LENET), "--set", "mapping.crossbar.size=32", "--no-accuracy",
                               "--workers", "1", "--quiet", "--out", str(out), "--data-dir", str(shared_data)])
    assert good.exit_code == 0, good.output
    assert "1 run, 0 already in the table" in good.output and (out / "results.csv").is_file()
    again = runner.invoke(app, ["sweep", str(LENET), "--set", "mapping.crossbar.size=32", "--no-accuracy",
                                "--quiet", "--out", str(out), "--data-dir", str(shared_data)])
    assert "0 run, 1 already in the table" in again.output


def test_a_dead_worker_fails_its_points_not_the_sweep(tmp_path):
    from concurrent.futures import Future
    from concurrent.futures.process import BrokenProcessPool

    from simulator.sweep.executors import _outcome
    from simulator.sweep.point import PointTask

    future = Future()
    future.set_exception(BrokenProcessPool("terminated abruptly"))
    task = PointTask("abc", {"mapping.crossbar.size": 16}, "hash", tmp_path / "w.yaml", tmp_path, None, False,
                     pipeline.run)
    outcome = _outcome(future, task)
    assert outcome.point_id == "abc" and outcome.row is None
    assert "worker process died" in outcome.error and "terminated abruptly" in outcome.error
