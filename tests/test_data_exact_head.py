"""The exact test head (`data.test_set: exact-head`): a `.npz` may carry `x_test_exact_head`, exact
copies of the first test images where `x_test` holds lossy ones (the shared CIFAR-10 copy's test
images are all JPEG-recovered); resim tests on it when asked, through whole files and parts alike,
and a file without one is an error naming the file, the key, the value and what is allowed."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from simulator.cli import app
from simulator.config import ConfigError, load_workload
from simulator.data.datasets import DataError, TestSetError, load_dataset, read_data_file, write_parts
from simulator.data.load import load_data

REPO = Path(__file__).resolve().parents[1]
N_TRAIN, N_TEST, N_HEAD = 10, 7, 3


def write_npz(folder: Path, head: int | None = N_HEAD, seed: int = 0, **override: np.ndarray) -> Path:
    """A tiny cifar10.npz whose exact head differs from the first (lossy) test images."""
    rng = np.random.default_rng(seed)
    x_test = rng.integers(0, 256, (N_TEST, 32, 32, 3), dtype=np.uint8)
    arrays = {
        "x_train": rng.integers(0, 256, (N_TRAIN, 32, 32, 3), dtype=np.uint8),
        "y_train": rng.integers(0, 10, N_TRAIN),
        "x_test": x_test,
        "y_test": rng.integers(0, 10, N_TEST),
    }
    if head is not None:
        arrays["x_test_exact_head"] = (x_test[:head] ^ 1).astype(np.uint8)  # "exact" = not the lossy ones
    arrays.update(override)
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(folder / "cifar10.npz", **arrays)
    return folder / "cifar10.npz"


def raw(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as archive:
        return {key: archive[key] for key in archive.files}


def test_exact_head_replaces_the_test_split(tmp_path: Path) -> None:
    saved = raw(write_npz(tmp_path))
    every = load_dataset("cifar10", tmp_path, download=False)
    head = load_dataset("cifar10", tmp_path, test_set="exact-head", download=False)
    assert every.test_set == "all" and head.test_set == "exact-head"
    assert np.array_equal(every.x_test, saved["x_test"])
    assert np.array_equal(every.x_test_exact_head, saved["x_test_exact_head"])
    assert np.array_equal(head.x_test, saved["x_test_exact_head"])
    assert np.array_equal(head.y_test, saved["y_test"][:N_HEAD])
    assert np.array_equal(head.x_train, saved["x_train"]) and np.array_equal(head.y_train, saved["y_train"])
    # Different test images, different data set id (so different cache keys) ...
    assert head.dataset_id != every.dataset_id
    assert head.dataset_id.endswith(f":train={N_TRAIN}:test={N_HEAD}")
    # ... while the head itself is not hashed: "all" keeps the id the file had without it.
    write_npz(tmp_path / "without", head=None)
    assert load_dataset("cifar10", tmp_path / "without", download=False).dataset_id == every.dataset_id


def test_test_samples_counts_within_the_chosen_test_set(tmp_path: Path) -> None:
    saved = raw(write_npz(tmp_path))
    first = load_dataset("cifar10", tmp_path, test_set="exact-head", test_samples=2, download=False)
    assert np.array_equal(first.x_test, saved["x_test_exact_head"][:2])
    assert np.array_equal(first.y_test, saved["y_test"][:2])
    with pytest.raises(DataError, match=r"test_samples=4 is out of range: this split \(test_set 'exact-head'\) has 3"):
        load_dataset("cifar10", tmp_path, test_set="exact-head", test_samples=4, download=False)
    # On "all", a subset shorter than the head keeps the head's matching rows.
    short = load_dataset("cifar10", tmp_path, test_samples=2, download=False)
    assert np.array_equal(short.x_test, saved["x_test"][:2])
    assert np.array_equal(short.x_test_exact_head, saved["x_test_exact_head"][:2])


def test_file_without_exact_head_is_an_error_naming_it(tmp_path: Path) -> None:
    path = write_npz(tmp_path, head=None)
    with pytest.raises(TestSetError) as info:
        load_dataset("cifar10", tmp_path, test_set="exact-head", download=False)
    message = str(info.value)
    assert info.value.value == "exact-head"
    assert f"{path} holds no array 'x_test_exact_head'" in message
    assert "allowed: 'all'" in message
    with pytest.raises(TestSetError, match=r"test_set 'jpeg' is not one of 'all', 'exact-head'"):
        load_dataset("cifar10", tmp_path, test_set="jpeg", download=False)


def test_canonical_files_have_no_exact_head(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    folder = tmp_path / "cifar10" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for member in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"data": rng.integers(0, 256, (2, 3072), dtype=np.uint8), b"labels": [1, 2]}
        (folder / member).write_bytes(pickle.dumps(batch, protocol=2))
    assert load_dataset("cifar10", tmp_path, download=False).x_test_exact_head is None
    with pytest.raises(TestSetError, match=r"canonical cifar10 distribution, whose test images are exact already"):
        load_dataset("cifar10", tmp_path, test_set="exact-head", download=False)


@pytest.mark.parametrize(
    ("head", "match"),
    [
        (np.zeros((N_TEST + 1, 32, 32, 3), np.uint8), r"x_test_exact_head holds 8 images, more than the 7 of x_test"),
        (np.zeros((2, 32, 32), np.uint8), r"x_test_exact_head is uint8 \(2, 32, 32\), expected uint8"),
        (np.zeros((2, 32, 32, 3), np.float32), r"x_test_exact_head is float32"),
    ],
)
def test_bad_exact_head_names_the_file(tmp_path: Path, head: np.ndarray, match: str) -> None:
    path = write_npz(tmp_path, x_test_exact_head=head)
    with pytest.raises(DataError, match=f"{path}: {match}"):
        load_dataset("cifar10", tmp_path, download=False)


@pytest.mark.parametrize("parts", [1, 3, 7])
def test_parts_keep_the_exact_head(tmp_path: Path, parts: int) -> None:
    whole = read_data_file(write_npz(tmp_path / "whole"))
    folder = write_parts(whole, tmp_path / "moved" / "cifar10-parts", parts)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["test_exact_head"] == N_HEAD
    # Each part holds the head rows of its own test slice: a short head sits in the first parts.
    for entry in manifest["parts"]:
        (c, d), (e, f) = entry["test"], entry["test_exact_head"]
        assert (e, f) == (min(c, N_HEAD), min(d, N_HEAD))
    for test_set in ("all", "exact-head"):
        a = load_dataset("cifar10", tmp_path / "whole", test_set=test_set, download=False)
        b = load_dataset("cifar10", tmp_path / "moved", test_set=test_set, download=False)
        assert a.dataset_id == b.dataset_id
        assert np.array_equal(a.x_test, b.x_test) and np.array_equal(a.x_test_exact_head, b.x_test_exact_head)


def test_parts_without_the_head_say_to_split_again(tmp_path: Path) -> None:
    old = read_data_file(write_npz(tmp_path / "whole", head=None))
    folder = write_parts(old, tmp_path / "cifar10-parts", 2)
    assert "test_exact_head" not in json.loads((folder / "manifest.json").read_text())
    with pytest.raises(TestSetError,
                       match=rf"the parts in {folder} hold no array 'x_test_exact_head'.*resim data split"):
        load_dataset("cifar10", folder, test_set="exact-head", download=False)


def test_parts_that_lost_the_head_are_mixed_up(tmp_path: Path) -> None:
    with_head = write_parts(read_data_file(write_npz(tmp_path / "a")), tmp_path / "cifar10-parts", 2)
    without = write_parts(read_data_file(write_npz(tmp_path / "b", head=None)), tmp_path / "other-parts", 2)
    # Same train/test arrays, so only the head tells the two splits apart: swap a part in.
    manifest = json.loads((with_head / "manifest.json").read_text())
    (with_head / "part-002-of-002.npz").write_bytes((without / "part-002-of-002.npz").read_bytes())
    manifest["parts"][1]["md5"] = json.loads((without / "manifest.json").read_text())["parts"][1]["md5"]
    (with_head / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(DataError, match=r"part-002-of-002\.npz lack the exact test head \(x_test_exact_head\)"):
        load_dataset("cifar10", with_head, download=False)


def test_cli_split_keeps_the_exact_head(tmp_path: Path) -> None:
    npz = write_npz(tmp_path / "whole")
    result = CliRunner().invoke(app, ["data", "split", str(npz), "--parts", "2", "--out",
                                      str(tmp_path / "cifar10-parts"), "--quiet"])
    assert result.exit_code == 0, result.output
    loaded = load_dataset("cifar10", tmp_path / "cifar10-parts", test_set="exact-head", download=False)
    assert np.array_equal(loaded.x_test, raw(npz)["x_test_exact_head"])


def workload(folder: Path, data: dict) -> Path:
    (folder / "hw.yaml").write_text((REPO / "hwconfigs" / "prime.yaml").read_text())
    doc = {"name": "t", "hardware": "hw.yaml", "model": {"name": "resnet20"}, "data": {"dataset": "cifar10", **data}}
    path = folder / "w.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_workload_test_set_is_a_data_option(tmp_path: Path) -> None:
    write_npz(tmp_path / "data")
    plain = load_workload(workload(tmp_path, {"dir": "data"}))
    assert plain.config.data.test_set == "all"
    assert "test_set" not in plain.config.model_dump()["data"]  # default left out: config hashes unchanged
    head = load_workload(workload(tmp_path, {"dir": "data", "test_set": "exact-head", "test_samples": 2}))
    assert head.config.model_dump()["data"]["test_set"] == "exact-head"
    assert head.config_hash() != plain.config_hash()
    arrays = load_data(head, None)
    assert arrays.test_set == "exact-head" and len(arrays.y_test) == 2
    assert arrays.dataset_id != load_data(plain, None).dataset_id


def test_remembered_dataset_ids_keep_the_test_sets_apart(tmp_path: Path, monkeypatch) -> None:
    """`resim run --no-accuracy` reads the data set id from a record instead of loading the data:
    one record per test set, so one choice never picks up the other's id."""
    from simulator.data import identity as study

    monkeypatch.setenv("RESIM_CACHE", str(tmp_path / "cache"))
    write_npz(tmp_path / "data")
    plain = load_workload(workload(tmp_path, {"dir": "data"}))
    head = load_workload(workload(tmp_path, {"dir": "data", "test_set": "exact-head"}))
    study.remember_identity(plain, None, load_data(plain, None).dataset_id)
    assert study.cached_identity(head, None) is None
    study.remember_identity(head, None, load_data(head, None).dataset_id)
    assert study.cached_identity(head, None).dataset_id != study.cached_identity(plain, None).dataset_id


def test_workload_on_a_file_without_head_names_the_key(tmp_path: Path) -> None:
    npz = write_npz(tmp_path / "data", head=None)
    path = workload(tmp_path, {"dir": "data", "test_set": "exact-head"})
    with pytest.raises(ConfigError) as info:
        load_data(load_workload(path), None)
    (problem,) = info.value.problems
    line = str(problem)
    assert line.startswith(f"{path}: data.test_set: ")
    assert str(npz) in line and "'x_test_exact_head'" in line and "allowed: 'all'" in line
    assert line.endswith("(got 'exact-head')")


def test_workload_rejects_an_unknown_test_set(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_workload(workload(tmp_path, {"test_set": "exact"}))
    (problem,) = info.value.problems
    assert problem.path == "data.test_set" and "'exact-head'" in str(problem) and "(got 'exact')" in str(problem)


def test_shared_cifar10_exact_head(shared_data: Path) -> None:
    if not (shared_data / "cifar10" / "cifar10.npz").is_file():
        pytest.skip("no shared cifar10.npz")
    every = load_dataset("cifar10", shared_data, train_samples=10, download=False)
    head = load_dataset("cifar10", shared_data, train_samples=10, test_set="exact-head", download=False)
    assert head.x_test.shape == (1017, 32, 32, 3)
    assert np.array_equal(head.y_test, every.y_test[:1017])
    # Every test image of the copy is JPEG-recovered, the first 1017 included.
    lossy = every.x_test[:1017].astype(np.int16)
    assert not np.any(np.all(lossy == head.x_test, axis=(1, 2, 3)))
    assert 5 < np.abs(lossy - head.x_test).mean() < 7
