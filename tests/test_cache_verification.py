"""Caches that verify themselves (issue #16): every entry (checkpoint, mapping, data set id) stores
the key of what produced it and is checked on load; an unreadable, empty, truncated, foreign or
mismatched entry is named in one line and rebuilt (or the command says how to rebuild it)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from simulator.cache import read_entry, table_from_record, table_record
from simulator.cli import app

REPO = Path(__file__).resolve().parents[1]


def tiny_workload(folder: Path) -> Path:
    """LeNet-5 trained for one epoch on 256 MNIST images and pruned at once: seconds to rebuild."""
    doc = {
        "name": "tiny_cache", "seed": 0, "hardware": str(REPO / "hwconfigs" / "sparse_small.yaml"),
        "model": {"name": "lenet5"},
        "data": {"dataset": "mnist", "train_samples": 256, "test_samples": 200},
        "train": {"epochs": 1, "batch_size": 64, "lr": 0.05},
        "prune": {"method": "one-shot", "density": 0.2, "finetune_epochs": 0},
        "mapping": {"crossbar": {"size": 32}, "reorder": "skip-empty"},
        "hardware_study": {"compare_dense": False},
    }
    path = folder / "tiny.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def invoke(*args: str):
    return CliRunner().invoke(app, [*map(str, args)])


def damage(path: Path, how: str, other: Path | None = None) -> None:
    if how == "truncated":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "foreign":
        path.write_text("# not a cache entry\n")
    elif how == "swapped":
        assert other is not None
        shutil.copyfile(other, path)
    else:
        raise AssertionError(how)


# ----------------------------------------------------------------------------- the helper

def test_read_entry_names_what_it_cannot_use(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "entry.json"

    def read(p: Path) -> tuple[str, str | None]:
        record = json.loads(p.read_text())
        return record["value"], record.get("cache_key")

    assert read_entry(path, "k1", read, what="thing") is None and capsys.readouterr().err == ""   # absent: silent
    path.write_text(json.dumps({"value": "v", "cache_key": "k1"}))
    assert read_entry(path, "k1", read, what="thing") == "v" and capsys.readouterr().err == ""
    for content, words in ((json.dumps({"value": "v", "cache_key": "k2"}), "made by something else"),
                           (json.dumps({"value": "v"}), "carries no key"),
                           ('{"value": ', "unreadable"), ("", "unreadable")):
        path.write_text(content)
        assert read_entry(path, "k1", read, what="thing") is None
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and str(path) in err and words in err and "rebuilding it" in err


def test_tables_keep_full_precision_and_column_order() -> None:
    table = pd.DataFrame({"layer": ["conv1", "fc1"], "tiles": [3, 5], "density": [118 / 150, 2804 / 48000],
                          "C": [6, 120], "A": [None, 0.1 + 0.2], "replicated": [True, False]})
    back = table_from_record(json.loads(json.dumps(table_record(table), sort_keys=True)))
    pd.testing.assert_frame_equal(back, table)
    assert list(back.columns) == ["layer", "tiles", "density", "C", "A", "replicated"]
    assert back["density"].iloc[0] == 118 / 150


# ----------------------------------------------------------------------------- checkpoints

def test_a_damaged_checkpoint_is_named_and_rebuilt(tmp_path: Path, shared_data: Path, cache: Path) -> None:
    workload = tiny_workload(tmp_path)
    first = invoke("train", workload, "--data-dir", shared_data, "--quiet")
    assert first.exit_code == 0, first.output
    sparse = next((cache / "checkpoints").glob("tiny_cache-sparse-*.pt"))
    dense = next((cache / "checkpoints").glob("lenet5-dense-*.pt"))
    # "swapped": the dense checkpoint copied over the sparse one's name (the case).
    for how, words in (("truncated", "unreadable"), ("empty", "unreadable"), ("foreign", "unreadable"),
                       ("swapped", "made by something else")):
        damage(sparse, how, other=dense)
        again = invoke("train", workload, "--data-dir", shared_data, "--quiet")
        assert again.exit_code == 0, again.output
        assert "Traceback" not in again.output
        named = [line for line in again.stderr.splitlines() if str(sparse) in line]
        assert len(named) == 1 and words in named[0] and "rebuilding it" in named[0], (how, again.stderr)
        # Trained again from the same start: the same network.
        assert "trained:" in again.stdout and first.stdout.split("(")[1] == again.stdout.split("(")[1], how
    reused = invoke("train", workload, "--data-dir", shared_data, "--quiet")
    assert "reused:" in reused.stdout and reused.stderr == ""
    # Where training is not allowed (eval), the line says how to rebuild it.
    damage(sparse, "truncated")
    result = invoke("eval", workload, "--data-dir", shared_data)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"{sparse}: cached checkpoint is unreadable" in result.stderr
    assert f"run `resim train {workload}` to rebuild it" in result.stderr


# ----------------------------------------------------------------------------- mappings and data set ids

def _run(workload: Path, shared_data: Path, out: Path):
    result = invoke("run", workload, "--data-dir", shared_data, "--no-accuracy", "--quiet", "--out", out)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return result, json.loads((out / "report.json").read_text())


def test_a_damaged_mapping_or_data_set_id_is_named_and_rebuilt(tmp_path: Path, shared_data: Path,
                                                               cache: Path) -> None:
    workload = tiny_workload(tmp_path)
    _, cold = _run(workload, shared_data, tmp_path / "cold")
    (mapping,) = (cache / "mappings").glob("tiny_cache-*.npz")
    for how in ("truncated", "empty", "foreign"):
        damage(mapping, how)
        result, again = _run(workload, shared_data, tmp_path / how)
        named = [line for line in result.stderr.splitlines() if str(mapping) in line]
        assert len(named) == 1 and "unreadable" in named[0], result.stderr
        assert again["totals"] == cold["totals"] and again["hardware"]["summary"] == cold["hardware"]["summary"]
    _, warm = _run(workload, shared_data, tmp_path / "warm")
    assert "data" in warm["skipped"]                   # the id came from the cache: no data loaded
    (record,) = (cache / "dataset_ids").glob("mnist-*.json")
    good = json.loads(record.read_text())
    for how in ("truncated", "foreign", "other data set", "other key"):
        if how in ("truncated", "foreign"):
            damage(record, how)
        elif how == "other data set":
            record.write_text(json.dumps({**good, "dataset_id": "cifar10:0123456789ab:train=256:test=200"}))
        else:
            record.write_text(json.dumps({**good, "cache_key": "0" * 16}))
        result, again = _run(workload, shared_data, tmp_path / how.replace(" ", "_"))
        named = [line for line in result.stderr.splitlines() if str(record) in line]
        assert len(named) == 1 and "rebuilding it" in named[0], (how, result.stderr)
        assert "data" in again["stages_run"]           # loaded again, so its id is known for sure
        assert json.loads(record.read_text()) == good   # and recorded again


# ----------------------------------------------------------------------------- the mapping cache


def test_a_warm_cache_report_equals_a_cold_one(tmp_path: Path, shared_data: Path, cache: Path) -> None:
    workload = tiny_workload(tmp_path)
    _, cold = _run(workload, shared_data, tmp_path / "cold")
    _, warm = _run(workload, shared_data, tmp_path / "warm")
    assert "data" in warm["skipped"]
    assert (tmp_path / "warm" / "layers.csv").read_text() == (tmp_path / "cold" / "layers.csv").read_text()
    assert warm["layers"] == cold["layers"] and warm["totals"] == cold["totals"]


def test_swapped_mapping_files_are_found_out(tmp_path: Path, shared_data: Path, cache: Path) -> None:
    """The issue's case: the workload's kmeans mapping and the dense one swapped made the report
    say "73 placed of 73"; each file carries its key, so both are named and mapped again."""
    doc = yaml.safe_load(tiny_workload(tmp_path).read_text())
    doc["mapping"]["reorder"] = "kmeans"
    doc["hardware_study"] = {"compare_dense": True}
    workload = tmp_path / "kmeans.yaml"
    workload.write_text(yaml.safe_dump(doc))
    _, cold = _run(workload, shared_data, tmp_path / "cold")
    first, second = sorted((cache / "mappings").glob("tiny_cache-*.npz"))
    swap = tmp_path / "swap.npz"
    shutil.move(first, swap)
    shutil.move(second, first)
    shutil.move(swap, second)
    result, again = _run(workload, shared_data, tmp_path / "again")
    assert str(first) in result.stderr and str(second) in result.stderr
    assert again["totals"] == cold["totals"]
