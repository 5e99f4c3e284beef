"""Data sets in parts (issue #8): `resim data split` writes compressed chunks plus a manifest, and
loading the chunks gives exactly the arrays (and dataset_id, hence the cached checkpoints) of the
whole file; damaged, missing or mixed-up parts are clear errors naming the file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from simulator.cli import app
from simulator.data import datasets
from simulator.data.datasets import DataError, load_dataset, read_data_file, write_parts

KEYS = ("x_train", "y_train", "x_test", "y_test")


def write_npz(folder: Path, name: str = "cifar10", n_train: int = 10, n_test: int = 7, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.npz"
    np.savez(path, x_train=rng.integers(0, 256, (n_train, 32, 32, 3), dtype=np.uint8),
             y_train=rng.integers(0, 10, n_train), x_test=rng.integers(0, 256, (n_test, 32, 32, 3), dtype=np.uint8),
             y_test=rng.integers(0, 10, n_test))
    return path


def assert_same(a: datasets.Arrays, b: datasets.Arrays) -> None:
    for key in KEYS:
        x, y = getattr(a, key), getattr(b, key)
        assert x.dtype == y.dtype and x.shape == y.shape and np.array_equal(x, y), key
    assert a.dataset_id == b.dataset_id


@pytest.mark.parametrize("parts", [1, 3, 10])
def test_parts_reassemble_the_whole_file(tmp_path: Path, parts: int) -> None:
    whole = read_data_file(write_npz(tmp_path / "whole"))
    folder = write_parts(whole, tmp_path / "moved" / "cifar10-parts", parts)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert [e["file"] for e in manifest["parts"]] == [f"part-{i:03d}-of-{parts:03d}.npz" for i in range(1, parts + 1)]
    assert sum(e["train"][1] - e["train"][0] for e in manifest["parts"]) == 10
    loaded = load_dataset("cifar10", tmp_path / "moved", download=False)
    assert loaded.source == str(folder)
    assert_same(whole, loaded)
    # A data directory pointed straight at the parts folder works too, subsets included.
    subset = load_dataset("cifar10", folder, train_samples=4, test_samples=3, download=False)
    reference = load_dataset("cifar10", tmp_path / "whole", train_samples=4, test_samples=3, download=False)
    assert_same(reference, subset)


def test_real_cifar10_subset_survives_the_split(tmp_path: Path, shared_data: Path) -> None:
    whole = load_dataset("cifar10", shared_data, train_samples=3000, test_samples=1000, download=False)
    folder = write_parts(whole, tmp_path / "cifar10-parts", 4)
    assert_same(whole, load_dataset("cifar10", folder, download=False))


def test_whole_file_wins_over_parts_beside_it(tmp_path: Path) -> None:
    npz = write_npz(tmp_path)
    write_parts(read_data_file(write_npz(tmp_path / "other", seed=1)), tmp_path / "cifar10-parts", 2)
    assert load_dataset("cifar10", tmp_path, download=False).source == str(npz)


def test_damaged_part_names_the_file(tmp_path: Path) -> None:
    folder = write_parts(read_data_file(write_npz(tmp_path / "whole")), tmp_path / "cifar10-parts", 2)
    part = folder / "part-002-of-002.npz"
    part.write_bytes(part.read_bytes()[:-10])
    with pytest.raises(DataError, match=r"part-002-of-002\.npz: md5 \w+ does not match .*part 2 of 2"):
        load_dataset("cifar10", folder, download=False)


def test_missing_part_names_the_file(tmp_path: Path) -> None:
    folder = write_parts(read_data_file(write_npz(tmp_path / "whole")), tmp_path / "cifar10-parts", 3)
    (folder / "part-001-of-003.npz").unlink()
    with pytest.raises(DataError, match=r"part-001-of-003\.npz: missing \(part 1 of 3 listed in"):
        load_dataset("cifar10", folder, download=False)


def test_parts_of_two_splits_mixed_up_are_refused(tmp_path: Path) -> None:
    a = write_parts(read_data_file(write_npz(tmp_path / "a", seed=1)), tmp_path / "a-parts" / "cifar10-parts", 2)
    b = write_parts(read_data_file(write_npz(tmp_path / "b", seed=2)), tmp_path / "b-parts" / "cifar10-parts", 2)
    manifest = json.loads((a / "manifest.json").read_text())
    manifest["parts"][1] = json.loads((b / "manifest.json").read_text())["parts"][1]
    (a / "manifest.json").write_text(json.dumps(manifest))
    (a / "part-002-of-002.npz").write_bytes((b / "part-002-of-002.npz").read_bytes())
    with pytest.raises(DataError, match="the parts reassemble cifar10:.* but .* promises"):
        load_dataset("cifar10", a, download=False)


def test_manifest_of_another_data_set_is_not_taken(tmp_path: Path) -> None:
    folder = write_parts(read_data_file(write_npz(tmp_path / "whole")), tmp_path / "cifar10-parts", 2)
    with pytest.raises(DataError, match="data set 'cifar100' not found"):
        load_dataset("cifar100", folder, download=False)
    with pytest.raises(DataError, match="holds parts of 'cifar10', not 'cifar100'"):
        datasets._read_parts(datasets.DATASETS["cifar100"], folder)


def test_manifest_entries_cannot_point_outside_the_folder(tmp_path: Path) -> None:
    folder = write_parts(read_data_file(write_npz(tmp_path / "whole")), tmp_path / "cifar10-parts", 2)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["parts"][0]["file"] = "../whole/cifar10.npz"
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(DataError, match="plain 'file' name"):
        load_dataset("cifar10", folder, download=False)


def test_split_into_an_existing_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    with pytest.raises(DataError, match="already exists"):
        write_parts(read_data_file(write_npz(tmp_path / "whole")), tmp_path / "out", 2)


@pytest.mark.parametrize("parts", [0, 11])
def test_part_count_out_of_range(tmp_path: Path, parts: int) -> None:
    with pytest.raises(DataError, match=rf"parts={parts} is out of range: give 1\.\.10"):
        write_parts(read_data_file(write_npz(tmp_path / "whole")), tmp_path / "out", parts)


def test_a_failed_split_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    whole = read_data_file(write_npz(tmp_path / "whole"))
    calls = []
    original = np.savez_compressed

    def fail_on_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise OSError("disk full")
        return original(*args, **kwargs)

    monkeypatch.setattr(np, "savez_compressed", fail_on_second)
    with pytest.raises(OSError, match="disk full"):
        write_parts(whole, tmp_path / "moved" / "cifar10-parts", 3)
    assert list((tmp_path / "moved").iterdir()) == []


def test_the_data_set_is_told_from_the_file_name(tmp_path: Path) -> None:
    assert read_data_file(write_npz(tmp_path)).spec.name == "cifar10"
    odd = write_npz(tmp_path / "odd").rename(tmp_path / "odd" / "mine.npz")
    with pytest.raises(DataError, match=r"mine\.npz: cannot tell which data set .* --dataset"):
        read_data_file(odd)
    assert read_data_file(odd, "cifar10").spec.name == "cifar10"


def test_cli_data_split(tmp_path: Path) -> None:
    npz = write_npz(tmp_path / "whole")
    out = tmp_path / "moved" / "cifar10-parts"
    result = CliRunner().invoke(app, ["data", "split", str(npz), "--parts", "3", "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "cifar10: 10 train + 7 test images in 3 parts" in result.output
    assert_same(read_data_file(npz), load_dataset("cifar10", tmp_path / "moved", download=False))
    again = CliRunner().invoke(app, ["data", "split", str(npz), "--out", str(out)])
    assert again.exit_code == 1 and "already exists" in again.output and "Traceback" not in again.output
