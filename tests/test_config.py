"""Configuration validation: each broken file gives one readable line with file, key path, value."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from simulator.config import ConfigError, load_hardware, load_workload, validate_file
from simulator.config.fields import StrictModel
from simulator.config.hardware import HardwareConfig
from simulator.config.workload import WorkloadConfig

REPO = Path(__file__).resolve().parents[1]
GOOD = {
    "name": "t",
    "hardware": "hw.yaml",
    "model": {"name": "lenet5"},
    "data": {"dataset": "mnist"},
    "mapping": {"crossbar": {"size": 64}},
}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "hw.yaml").write_text((REPO / "hwconfigs" / "prime.yaml").read_text())
    return tmp_path


def write(folder: Path, doc, name: str = "w.yaml") -> Path:
    path = folder / name
    path.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc))
    return path


def with_change(path: list, value) -> dict:
    doc = json.loads(json.dumps(GOOD))
    node = doc
    for key in path[:-1]:
        node = node.setdefault(key, {})
    if value is DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return doc


DELETE = object()

BROKEN = [
    # (id, document, expected key path, words expected in the message)
    ("yaml-syntax", "name: t\nmodel: {name: lenet5\n", "line", "YAML syntax error"),
    ("unknown-key", with_change(["mapping", "crossbar", "sise"], 64),
     "mapping.crossbar.sise", "allowed keys here: size"),
    ("unknown-top-key", with_change(["epochs"], 3), "epochs", "unknown key"),
    ("wrong-type", with_change(["train", "lr"], "fast"), "train.lr", "valid number"),
    ("negative-size", with_change(["mapping", "crossbar", "size"], -128),
     "mapping.crossbar.size", "greater than or equal to 8"),
    ("fractional-size", with_change(["mapping", "crossbar", "size"], 128.5), "mapping.crossbar.size", "whole number"),
    ("size-too-big", with_change(["mapping", "crossbar", "size"], 512),
     "mapping.crossbar.size", "less than or equal to 256"),
    ("missing-hardware-file", with_change(["hardware"], "nope.yaml"), "hardware", "hardware file not found"),
    ("unknown-model", with_change(["model", "name"], "lenet7"), "model.name", "'lenet5'"),
    ("unknown-dataset", with_change(["data", "dataset"], "imagenet"), "data.dataset", "'cifar10'"),
    ("missing-data", with_change(["data"], DELETE), "data", "required key is missing"),
    ("model-both", with_change(["model", "import"], "json:loads"), "model", "exactly one"),
    ("model-import-missing-module", {**GOOD, "model": {"import": "no_such_pkg_xyz.mod:build"}},
     "model.import", "not found"),
    ("bad-encoding", with_change(["mapping", "encoding"], "twos"), "mapping.encoding", "'differential'"),
    ("string-epochs", with_change(["train", "epochs"], "10"), "train.epochs", "valid integer"),
    ("negative-seed", with_change(["seed"], -1), "seed", "greater than or equal to 0"),
    ("bad-name", with_change(["name"], "my run/1"), "name", "pattern"),
    ("not-a-mapping", "- just\n- a list\n", "", "mapping of keys"),
]


@pytest.mark.parametrize("case", BROKEN, ids=[c[0] for c in BROKEN])
def test_broken_workload_gives_one_line_with_key_path(folder: Path, case) -> None:
    _, doc, key_path, words = case
    path = write(folder, doc)
    with pytest.raises(ConfigError) as info:
        load_workload(path)
    problems = info.value.problems
    assert len(problems) == 1, [str(p) for p in problems]
    line = str(problems[0])
    assert "\n" not in line
    assert line.startswith(str(path))
    assert key_path in line
    assert words in line


def test_several_problems_are_all_reported(folder: Path) -> None:
    doc = with_change(["train", "lr"], -1)
    doc["mapping"]["crossbar"]["size"] = 3
    with pytest.raises(ConfigError) as info:
        load_workload(write(folder, doc))
    paths = sorted(p.path for p in info.value.problems)
    assert paths == ["mapping.crossbar.size", "train.lr"]


def test_value_appears_in_the_line(folder: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_workload(write(folder, with_change(["mapping", "crossbar", "size"], -128)))
    assert "(got -128)" in str(info.value)


def test_good_workload_resolves_paths_relative_to_itself(folder: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(REPO)  # the current folder must not matter
    workload = load_workload(write(folder, GOOD))
    assert workload.hardware_path == (folder / "hw.yaml").resolve()
    assert workload.crossbar_size == 64
    assert workload.config.mapping.cell_bits_on(workload.hardware) == workload.hardware.array.cell_bits


def test_crossbar_size_defaults_to_hardware_array(folder: Path) -> None:
    workload = load_workload(write(folder, with_change(["mapping"], DELETE)))
    assert workload.crossbar_size == workload.hardware.array.rows


def test_config_hash_changes_with_config(folder: Path) -> None:
    a = load_workload(write(folder, GOOD, "a.yaml"))
    b = load_workload(write(folder, with_change(["mapping", "crossbar", "size"], 32), "b.yaml"))
    assert a.config_hash() != b.config_hash()
    assert a.config_hash() == load_workload(folder / "a.yaml").config_hash()


def test_user_model_import_is_found_beside_the_workload(folder: Path) -> None:
    (folder / "mynets.py").write_text("def tiny(**kw):\n    return None\n")
    workload = load_workload(write(folder, {**GOOD, "model": {"import": "mynets:tiny"}}))
    assert workload.config.model.import_ == "mynets:tiny"


# Hardware files ---------------------------------------------------------------------------


def hardware_doc() -> dict:
    return yaml.safe_load((REPO / "hwconfigs" / "prime.yaml").read_text())


def test_shipped_hardware_files_are_valid() -> None:
    paths = sorted((REPO / "hwconfigs").glob("*.yaml"))
    # A glob that finds nothing would pass vacuously: the designs the workloads name must be there.
    assert {p.stem for p in paths} >= {"prime", "isaac", "sparse_small"}
    for path in paths:
        hardware = load_hardware(path)
        assert hardware.name and hardware.array.rows >= 8 and hardware.array.cell_bits >= 1, path


def test_hardware_number_without_source_is_rejected(tmp_path: Path) -> None:
    doc = hardware_doc()
    del doc["adc"]["source"]["bits"]
    with pytest.raises(ConfigError) as info:
        load_hardware(write(tmp_path, doc, "hw.yaml"))
    assert [p.path for p in info.value.problems] == ["adc.source.bits"]


def test_hardware_source_for_unknown_field_is_rejected(tmp_path: Path) -> None:
    doc = hardware_doc()
    doc["array"]["source"]["colour"] = "made up"
    with pytest.raises(ConfigError) as info:
        load_hardware(write(tmp_path, doc, "hw.yaml"))
    assert [p.path for p in info.value.problems] == ["array.source.colour"]


def test_hardware_resistances_must_be_ordered(tmp_path: Path) -> None:
    doc = hardware_doc()
    doc["array"]["r_off_ohm"] = 10.0
    with pytest.raises(ConfigError) as info:
        load_hardware(write(tmp_path, doc, "hw.yaml"))
    assert "array" in str(info.value) and "r_off_ohm" in str(info.value)


def test_broken_hardware_file_named_by_workload_is_reported_with_its_own_name(folder: Path) -> None:
    doc = hardware_doc()
    doc["array"]["rows"] = "many"
    write(folder, doc, "hw.yaml")
    with pytest.raises(ConfigError) as info:
        load_workload(write(folder, GOOD))
    line = str(info.value)
    assert line.startswith(str(folder / "hw.yaml")) and "array.rows" in line


def test_validate_file_detects_kind(folder: Path) -> None:
    assert validate_file(folder / "hw.yaml") == "hardware"
    assert validate_file(write(folder, GOOD)) == "workload"
    with pytest.raises(ConfigError, match="cannot tell the kind"):
        validate_file(write(folder, {"foo": 1}, "x.yaml"))


def _all_models(model: type[StrictModel], seen: set) -> None:
    if model in seen:
        return
    seen.add(model)
    for info in model.model_fields.values():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, StrictModel):
            _all_models(annotation, seen)


@pytest.mark.parametrize("root", [WorkloadConfig, HardwareConfig])
def test_every_field_has_description_and_unit(root) -> None:
    models: set = set()
    _all_models(root, models)
    for model in models:
        for name, info in model.model_fields.items():
            assert info.description, f"{model.__name__}.{name} has no description"
            assert (info.json_schema_extra or {}).get("unit"), f"{model.__name__}.{name} has no unit"


def test_shipped_workloads_are_valid() -> None:
    paths = sorted((REPO / "workloads").glob("*.yaml"))
    assert {p.stem for p in paths} >= {"lenet5_mnist", "lenet5_mnist_sparse", "vgg16_sparse"}
    for path in paths:
        workload = load_workload(path)
        # Each shipped workload names its results after its file, and its hardware file exists.
        assert workload.config.name == path.stem, path
        assert workload.hardware_path.is_file() and workload.crossbar_size >= 8, path


def test_cli_validate_prints_one_line_per_problem_and_exits_1(folder: Path) -> None:
    bad = write(folder, with_change(["mapping", "crossbar", "size"], -8), "bad.yaml")
    good = write(folder, GOOD, "good.yaml")
    proc = subprocess.run([sys.executable, "-m", "simulator.cli", "validate", str(good), str(bad)],
                          capture_output=True, text=True)
    assert proc.returncode == 1
    assert f"{good}: ok (workload)" in proc.stdout
    assert proc.stderr.strip().count("\n") == 0 and "mapping.crossbar.size" in proc.stderr


def test_cli_schema_lists_units() -> None:
    proc = subprocess.run([sys.executable, "-m", "simulator.cli", "schema", "workload"],
                          capture_output=True, text=True, check=True)
    schema = json.loads(proc.stdout)
    crossbar = schema["$defs"]["CrossbarSpec"]["properties"]["size"]
    assert crossbar["unit"] == "cells" and "description" in crossbar


def test_config_names_agree_with_the_implementations() -> None:
    from typing import get_args

    from simulator.config.workload import DatasetName
    from simulator.data.datasets import DATASETS

    assert set(get_args(DatasetName)) == set(DATASETS)
