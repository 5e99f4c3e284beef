"""Sweep folders under stress (issue #16): rows of results.csv that are not a finished point's are
set aside and their points rerun, one row per point id, the folder locked while a sweep runs, the
data set checked before the folder is made, SIGTERM handled as Ctrl-C."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from simulator.cli import app
from simulator.sweep.runner import LOCK_NAME, Terminated, _terminate_as_interrupt
from simulator.sweep.table import FIGURES, ResultsTable, SweepRow, columns

REPO = Path(__file__).resolve().parents[1]
LENET = REPO / "workloads" / "lenet5_mnist_sparse_1.8.yaml"
KEYS = ["mapping.crossbar.size"]


def row(size: int, point: str, energy: float = 0.25) -> dict:
    figures = SweepRow(point_id=point, config_hash="0123456789", energy_per_inference_uj=energy, latency_us=2.5,
                       inferences_per_second=4e5, tops_per_watt=3.0, static_energy_uj=0.01, area_mm2=2.0,
                       power_mw=100.0, adc_bits=8, tiles_placed=35, tiles_dense=73,
                       arrays_placed=179, density=0.08, test_accuracy=None, energy_efficiency_vs_dense=1.03,
                       speedup_vs_dense=None, energy_efficiency_vs_baseline=None, speedup_vs_baseline=None,
                       area_vs_baseline=None, power_vs_baseline=None,
                       results="/r", seconds=1.5)
    return {"mapping.crossbar.size": size, **figures.model_dump()}


def test_rows_that_are_not_finished_points_are_set_aside(tmp_path: Path) -> None:
    table = ResultsTable(tmp_path / "results.csv", columns(KEYS))
    assert table.finished() == {}
    good, second = row(16, "aaaaaaaaaaaa"), row(32, "bbbbbbbbbbbb")
    table.append(good)
    table.append(second)
    text = table.path.read_text()
    lines = text.splitlines(keepends=True)
    bad_figure = lines[2].replace("0.25", "lots", 1)
    table.path.write_text(lines[0] + lines[1] + "\x00garbage, not a row\n" + bad_figure + lines[1] + "16,torn")
    finished = table.finished()
    assert list(finished) == ["aaaaaaaaaaaa"]          # the second point runs again
    assert [note.split(": ", 1)[1].split(";")[0] for note in table.set_aside] == [
        f"not a row of this table (2 fields where the header has {len(columns(KEYS))})",
        "energy_per_inference_uj is 'lots', not a number",
        "a second row of point aaaaaaaaaaaa",
        "a row cut short (the sweep stopped while writing it)"]
    assert all(f"{table.path} line" in note and "results.rejected.csv" in note for note in table.set_aside)
    assert table.path.read_text() == lines[0] + lines[1]
    assert table.rejected_path.read_text() == "\x00garbage, not a row\n" + bad_figure + lines[1] + "16,torn\n"
    assert table.finished() == finished and table.set_aside == []
    assert len(columns(KEYS)) == 1 + len(FIGURES)


def test_a_resumed_sweep_says_what_it_set_aside_and_reruns_that_point(tmp_path: Path, shared_data: Path,
                                                                      cache: Path) -> None:
    out = tmp_path / "sweep"
    args = ["sweep", str(LENET), "--set", "mapping.crossbar.size=64,128", "--no-accuracy", "--workers", "1",
            "--quiet", "--out", str(out), "--data-dir", str(shared_data)]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    table = out / "results.csv"
    header, one, two = table.read_text().splitlines(keepends=True)
    table.write_text(header + one + "garbage in the middle\n" + two.replace(two.split(",")[3], "oops", 1))
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0, again.output
    notes = again.stderr.strip().splitlines()
    assert len(notes) == 2 and all(f"{table} line" in note and "set aside" in note for note in notes), notes
    assert "points: 1 run, 1 already in the table, 0 failed" in again.stdout
    header2, *rows = table.read_text().splitlines(keepends=True)
    assert header2 == header and len(rows) == 2 and rows[0] == one
    assert sorted(r.split(",")[1] for r in rows) == sorted(r.split(",")[1] for r in (one, two))
    assert "2 finished" in (out / "sweep.md").read_text()


def test_a_sweep_into_a_locked_folder_stops_at_once(tmp_path: Path, shared_data: Path, cache: Path) -> None:
    from filelock import FileLock

    out = tmp_path / "sweep"
    out.mkdir()
    with FileLock(out / LOCK_NAME):
        result = CliRunner().invoke(app, ["sweep", str(LENET), "--set", "mapping.crossbar.size=64", "--no-accuracy",
                                          "--workers", "1", "--out", str(out), "--data-dir", str(shared_data)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1 and str(out) in message and "another resim sweep" in message
    assert sorted(p.name for p in out.iterdir()) == [LOCK_NAME]


def test_sigterm_raises_terminated_only_while_a_sweep_runs() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(Terminated) as info, _terminate_as_interrupt():
        signal.raise_signal(signal.SIGTERM)
    assert info.value.signum == signal.SIGTERM and isinstance(info.value, KeyboardInterrupt)
    assert signal.getsignal(signal.SIGTERM) == before
