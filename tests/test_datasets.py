"""Tests of simulator.data.datasets: real shared data where present, synthetic files otherwise.

The real data sets are read from ../shared/data next to the repository (or $RESIM_TEST_DATA);
tests that need them skip, saying where they looked, when it is absent. Every format reader is
also exercised on small files written here in the canonical layouts, so the suite never needs
the network (an autouse fixture makes any network attempt fail the test).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import struct
import tarfile
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from conftest import shared_data_dir

from simulator.data import datasets
from simulator.data.datasets import DATASETS, DataError, load_dataset, resolve_data_dir

SHARED_DATA = shared_data_dir()
IDX_NAMES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


def shared(name: str) -> Path:
    """The shared copy of data set `name`, or a visible skip when it is not there."""
    folder = SHARED_DATA / name
    if not folder.is_dir():
        pytest.skip(
            f"shared data not found at {folder} "
            "(set RESIM_TEST_DATA to the folder that holds mnist/, fashion-mnist/, cifar10/)"
        )
    return folder


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(url: str, *args: object, **kwargs: object) -> None:
        raise AssertionError(f"test tried to reach the network: {url}")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)


@pytest.fixture(scope="module")
def cifar10_shared() -> datasets.Arrays:
    """The real CIFAR-10 npz (~170 MB) loaded once for the module."""
    return load_dataset("cifar10", shared("cifar10").parent, download=False)


# ----------------------------------------------------------------------------- writers

def random_images(rng: np.random.Generator, n: int, size: int, channels: int) -> np.ndarray:
    return rng.integers(0, 256, size=(n, size, size, channels), dtype=np.uint8)


def idx_bytes(array: np.ndarray, magic: int) -> bytes:
    return struct.pack(f">I{array.ndim}I", magic, *array.shape) + array.astype(np.uint8).tobytes()


def write_idx_set(folder: Path, rng: np.random.Generator, n_train: int = 5, n_test: int = 3,
                  gz: bool = True) -> dict[str, np.ndarray]:
    """The four MNIST-style IDX files in `folder`; returns the arrays they hold."""
    arrays = {
        "x_train": random_images(rng, n_train, 28, 1)[..., 0],
        "y_train": rng.integers(0, 10, n_train, dtype=np.uint8),
        "x_test": random_images(rng, n_test, 28, 1)[..., 0],
        "y_test": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for name, key in zip(IDX_NAMES, ("x_train", "y_train", "x_test", "y_test")):
        payload = idx_bytes(arrays[key], 2051 if key.startswith("x") else 2049)
        if gz:
            (folder / name).write_bytes(gzip.compress(payload))
        else:
            (folder / name.removesuffix(".gz")).write_bytes(payload)
    return arrays


def cifar_batch(images: np.ndarray, labels: np.ndarray, label_key: bytes) -> dict:
    """A batch in the canonical layout: rows of 3072 bytes in CHW order, labels as a list."""
    return {
        b"batch_label": b"synthetic batch",
        label_key: [int(v) for v in labels],
        b"data": images.transpose(0, 3, 1, 2).reshape(len(images), -1).copy(),
        b"filenames": [f"img_{i}.png".encode() for i in range(len(images))],
    }


CIFAR_LAYOUTS = {
    # name: (folder, train members, test member, label key, classes)
    "cifar10": ("cifar-10-batches-py", [f"data_batch_{i}" for i in range(1, 6)], "test_batch",
                b"labels", 10),
    "cifar100": ("cifar-100-python", ["train"], "test", b"fine_labels", 100),
}


def cifar_members(name: str, rng: np.random.Generator) -> tuple[dict[str, bytes], dict]:
    """Pickled members (protocol 2, like the originals) and the HWC arrays they should load as."""
    folder, train_members, test_member, label_key, classes = CIFAR_LAYOUTS[name]
    members, xs, ys = {}, [], []
    for member in train_members:
        x, y = random_images(rng, 3, 32, 3), rng.integers(0, classes, 3)
        xs.append(x)
        ys.append(y)
        batch = cifar_batch(x, y, label_key)
        if name == "cifar100":
            batch[b"coarse_labels"] = [int(v) % 20 for v in y]
        members[f"{folder}/{member}"] = pickle.dumps(batch, protocol=2)
    x_test, y_test = random_images(rng, 2, 32, 3), rng.integers(0, classes, 2)
    y_test[0] = classes - 1  # the top class must be accepted
    test_batch = cifar_batch(x_test, y_test, label_key)
    members[f"{folder}/{test_member}"] = pickle.dumps(test_batch, protocol=2)
    members[f"{folder}/batches.meta"] = pickle.dumps({b"label_names": [b"a"]}, protocol=2)
    expected = {"x_train": np.concatenate(xs), "y_train": np.concatenate(ys),
                "x_test": x_test, "y_test": y_test}
    return members, expected


def write_folder(root: Path, members: dict[str, bytes]) -> None:
    for name, payload in members.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(payload)


def write_tar_gz(path: Path, members: dict[str, bytes]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as archive:
        for name, payload in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            archive.addfile(info, io.BytesIO(payload))


def pixel_stats(pixels: np.ndarray) -> tuple[float, float]:
    """Mean and std of uint8 pixels scaled to [0, 1], from a histogram: exact and cheap."""
    counts = np.bincount(pixels.ravel(), minlength=256)
    values = np.arange(256) / 255.0
    mean = counts @ values / counts.sum()
    return float(mean), float(np.sqrt(counts @ (values - mean) ** 2 / counts.sum()))


def assert_loaded(arrays: datasets.Arrays, expected: dict) -> None:
    for key, value in expected.items():
        got = getattr(arrays, key)
        if key.startswith("x") and value.ndim == 3:
            value = value[..., np.newaxis]
        np.testing.assert_array_equal(got, value, err_msg=key)
    assert arrays.y_train.dtype == np.int64 and arrays.y_test.dtype == np.int64
    assert arrays.x_train.dtype == np.uint8 and arrays.x_train.flags.c_contiguous


# ----------------------------------------------------------------------------- real data

@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_shared_idx_data_sets(name: str) -> None:
    folder = shared(name)
    arrays = load_dataset(name, folder.parent, download=False)
    assert arrays.source == str(folder)
    assert arrays.x_train.shape == (60000, 28, 28, 1) and arrays.x_test.shape == (10000, 28, 28, 1)
    assert arrays.x_train.dtype == np.uint8
    assert arrays.y_train.shape == (60000,) and arrays.y_test.shape == (10000,)
    for labels in (arrays.y_train, arrays.y_test):
        assert labels.dtype == np.int64 and set(np.unique(labels)) == set(range(10))
    assert pixel_stats(arrays.x_train) == pytest.approx(
        (arrays.spec.mean[0], arrays.spec.std[0]), abs=1e-4
    )


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_shared_idx_files_have_the_canonical_md5(name: str) -> None:
    folder = shared(name)
    for file in DATASETS[name].files:
        assert hashlib.md5((folder / file.name).read_bytes()).hexdigest() == file.md5


def test_shared_cifar10_npz(cifar10_shared: datasets.Arrays) -> None:
    arrays = cifar10_shared
    assert arrays.source.endswith("cifar10.npz")
    assert arrays.x_train.shape == (50000, 32, 32, 3) and arrays.x_test.shape == (10000, 32, 32, 3)
    assert arrays.x_train.dtype == np.uint8
    assert arrays.y_train.dtype == np.int64 and arrays.y_train.shape == (50000,)
    assert set(np.unique(arrays.y_test)) == set(range(10))
    assert np.bincount(arrays.y_train).tolist() == [5000] * 10
    for channel in range(3):
        assert pixel_stats(arrays.x_train[..., channel]) == pytest.approx(
            (arrays.spec.mean[channel], arrays.spec.std[channel]), abs=1e-4
        )


def test_shared_cifar10_subset_and_id(cifar10_shared: datasets.Arrays) -> None:
    subset = load_dataset("cifar10", shared("cifar10").parent, train_samples=100, test_samples=10)
    np.testing.assert_array_equal(subset.x_train, cifar10_shared.x_train[:100])
    assert subset.dataset_id.endswith(":train=100:test=10")
    assert subset.dataset_id != cifar10_shared.dataset_id


def test_dataset_id_is_stable_across_loads() -> None:
    root = shared("mnist").parent
    first = load_dataset("mnist", root, download=False)
    second = load_dataset("mnist", root, download=False)
    assert first.dataset_id == second.dataset_id
    assert first.dataset_id.startswith("mnist:")
    assert first.dataset_id.endswith(":train=60000:test=10000")
    fashion = load_dataset("fashion-mnist", root, download=False, train_samples=60000)
    assert fashion.dataset_id.split(":")[1] != first.dataset_id.split(":")[1]


def test_download_path_verifies_and_writes_atomically(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The download branch end to end, served from the shared canonical files instead of the web."""
    source = shared("mnist")
    requested = []

    def serve(url: str, timeout: float) -> io.BytesIO:
        requested.append(url)
        return io.BytesIO((source / url.rsplit("/", 1)[1]).read_bytes())

    monkeypatch.setattr(urllib.request, "urlopen", serve)
    arrays = load_dataset("mnist", tmp_path, test_samples=5)
    assert requested == [file.url for file in DATASETS["mnist"].files]
    assert sorted(p.name for p in (tmp_path / "mnist").iterdir()) == sorted(IDX_NAMES)
    assert arrays.x_test.shape == (5, 28, 28, 1)


# ----------------------------------------------------------------------------- downloads (fake)

def test_md5_mismatch_discards_the_download(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout: io.BytesIO(b"not mnist"))
    with pytest.raises(DataError, match="md5") as info:
        load_dataset("mnist", tmp_path)
    assert "Download failed" in str(info.value)
    assert not (tmp_path / "mnist").exists()  # neither the file nor a .part, nor the folder, remains


def test_unreachable_download_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def offline(url: str, timeout: float) -> None:
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(DataError, match="Download failed: .*Name or service not known"):
        load_dataset("cifar100", tmp_path)


def test_offline_error_says_what_to_put_where(tmp_path: Path) -> None:
    with pytest.raises(DataError) as info:
        load_dataset("mnist", tmp_path / "data", download=False)
    message = str(info.value)
    for name in IDX_NAMES:
        assert name in message
    assert f"into {tmp_path / 'data' / 'mnist'}/" in message
    assert (f"searched {tmp_path / 'data' / 'mnist'}, {tmp_path / 'data'} (data directory {tmp_path / 'data'}, "
            "given by --data-dir") in message
    assert "RESIM_DATA" in message and "--data-dir" in message and "mnist.npz" in message
    assert "download=False" in message
    assert not (tmp_path / "data").exists()


def test_offline_error_says_where_the_data_directory_came_from(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue #29: an installed resim run from any folder says which data directory it searched,
    where that came from, and both ways of naming another (--data-dir, RESIM_DATA)."""
    monkeypatch.setenv("RESIM_DATA", str(tmp_path / "env"))
    with pytest.raises(DataError) as info:
        load_dataset("mnist", None, download=False)
    assert f"(data directory {tmp_path / 'env'}, from RESIM_DATA)" in str(info.value)
    monkeypatch.delenv("RESIM_DATA")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with pytest.raises(DataError) as info:
        load_dataset("cifar10", None, download=False)
    message = str(info.value)
    assert f"(data directory {tmp_path / 'home' / '.cache' / 'resim' / 'data'}, the default: neither --data-dir " \
           "nor RESIM_DATA is set)" in message
    assert "in a cifar10/ folder (as a shared data folder lays them out) with --data-dir DIR or RESIM_DATA=DIR" \
        in message


def test_offline_error_lists_system_dir_and_archive(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="/usr/share/datasets/fashion-mnist"):
        load_dataset("fashion-mnist", tmp_path, download=False)
    with pytest.raises(DataError, match=r"cifar-10-python\.tar\.gz \(or its extracted folder "
                                        r"cifar-10-batches-py/\)"):
        load_dataset("cifar10", tmp_path, download=False)


def test_unknown_name_lists_known_ones(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cifar10, cifar100, fashion-mnist, imagenet-shape, mnist"):
        load_dataset("imagenet", tmp_path)


# ----------------------------------------------------------------------------- IDX (synthetic)

def test_idx_gzipped_and_uncompressed(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    expected = write_idx_set(tmp_path / "mnist", rng)
    assert_loaded(load_dataset("mnist", tmp_path, download=False), expected)
    expected = write_idx_set(tmp_path / "plain", rng, gz=False)  # in <data_dir> itself
    arrays = load_dataset("fashion-mnist", tmp_path / "plain", download=False)
    assert_loaded(arrays, expected)
    assert arrays.source == str(tmp_path / "plain")


@pytest.mark.parametrize(
    "corrupt",
    [
        pytest.param(lambda raw: raw[:-7], id="truncated"),
        pytest.param(lambda raw: struct.pack(">I", 2049) + raw[4:], id="label-magic-on-images"),
        pytest.param(lambda raw: raw[:10], id="shorter-than-header"),
    ],
)
def test_corrupt_idx_names_the_file(tmp_path: Path, corrupt) -> None:
    write_idx_set(tmp_path / "mnist", np.random.default_rng(1))
    path = tmp_path / "mnist" / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(corrupt(gzip.decompress(path.read_bytes()))))
    with pytest.raises(DataError, match=f"{path}: corrupt IDX file"):
        load_dataset("mnist", tmp_path, download=False)


def test_broken_gzip_names_the_file(tmp_path: Path) -> None:
    write_idx_set(tmp_path / "mnist", np.random.default_rng(2))
    path = tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-12])
    with pytest.raises(DataError, match=f"{path}: cannot read"):
        load_dataset("mnist", tmp_path, download=False)


def test_idx_count_mismatch(tmp_path: Path) -> None:
    folder = tmp_path / "mnist"
    write_idx_set(folder, np.random.default_rng(3))
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(
        gzip.compress(idx_bytes(np.zeros(2, np.uint8), 2049))
    )
    with pytest.raises(DataError, match="3 images but .*t10k-labels-idx1-ubyte.gz 2 labels"):
        load_dataset("mnist", tmp_path, download=False)


def test_label_out_of_range(tmp_path: Path) -> None:
    folder = tmp_path / "mnist"
    write_idx_set(folder, np.random.default_rng(4))
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(
        gzip.compress(idx_bytes(np.array([1, 10, 2], np.uint8), 2049))
    )
    with pytest.raises(DataError, match="y_test holds labels 1..10, outside 0..9"):
        load_dataset("mnist", tmp_path, download=False)


# ----------------------------------------------------------------------------- npz

def test_npz_grey_gets_a_channel_axis(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    expected = {"x_train": random_images(rng, 4, 28, 1)[..., 0], "y_train": np.arange(4),
                "x_test": random_images(rng, 2, 28, 1)[..., 0], "y_test": np.array([9, 0])}
    np.savez(tmp_path / "fashion-mnist.npz", **expected)
    arrays = load_dataset("fashion-mnist", tmp_path, download=False)
    assert arrays.x_train.shape == (4, 28, 28, 1)
    assert arrays.source == str(tmp_path / "fashion-mnist.npz")
    assert_loaded(arrays, expected)


def test_lookup_order(tmp_path: Path) -> None:
    """<data_dir>/<name>/ before <data_dir>; in one directory, <name>.npz before IDX files."""
    folder = tmp_path / "mnist"
    from_idx = write_idx_set(folder, np.random.default_rng(6))
    np.savez(tmp_path / "mnist.npz", **write_idx_set(tmp_path / "other", np.random.default_rng(7)))
    assert load_dataset("mnist", tmp_path, download=False).source == str(folder)
    np.savez(folder / "mnist.npz", **from_idx)
    assert load_dataset("mnist", tmp_path, download=False).source == str(folder / "mnist.npz")


def test_dataset_id_hashes_content_not_files(tmp_path: Path) -> None:
    """The same data read from IDX or npz may share a cache entry; different data may not."""
    expected = write_idx_set(tmp_path / "idx" / "mnist", np.random.default_rng(6))
    (tmp_path / "npz").mkdir()
    np.savez(tmp_path / "npz" / "mnist.npz", **expected)
    from_idx = load_dataset("mnist", tmp_path / "idx", download=False)
    from_npz = load_dataset("mnist", tmp_path / "npz", download=False)
    assert from_idx.source != from_npz.source
    assert from_npz.dataset_id == from_idx.dataset_id
    write_idx_set(tmp_path / "other" / "mnist", np.random.default_rng(7))
    other = load_dataset("mnist", tmp_path / "other", download=False)
    assert other.dataset_id != from_idx.dataset_id


@pytest.mark.parametrize(
    ("arrays", "match"),
    [
        pytest.param(
            {"x_train": np.zeros((2, 28, 28, 3), np.uint8)}, r"x_train is uint8 \(2, 28, 28, 3\)",
            id="wrong-shape",
        ),
        pytest.param({"x_train": np.zeros((2, 32, 32, 3), np.float32)}, "x_train is float32",
                     id="wrong-dtype"),
        pytest.param(
            {"y_train": np.zeros(3, np.int64)}, "expected 2 integer labels", id="wrong-count"
        ),
    ],
)
def test_npz_validation(tmp_path: Path, arrays: dict, match: str) -> None:
    content = {"x_train": np.zeros((2, 32, 32, 3), np.uint8), "y_train": np.zeros(2, np.int64),
               "x_test": np.zeros((1, 32, 32, 3), np.uint8), "y_test": np.zeros(1, np.int64)}
    np.savez(tmp_path / "cifar10.npz", **{**content, **arrays})
    with pytest.raises(DataError, match=match):
        load_dataset("cifar10", tmp_path, download=False)


def test_npz_missing_array(tmp_path: Path) -> None:
    np.savez(tmp_path / "mnist.npz", x_train=np.zeros((1, 28, 28), np.uint8))
    with pytest.raises(DataError, match="missing arrays y_train, x_test, y_test"):
        load_dataset("mnist", tmp_path, download=False)


# ----------------------------------------------------------------------------- CIFAR pickles

@pytest.mark.parametrize("name", ["cifar10", "cifar100"])
def test_cifar_folder_is_read_pixel_exactly(tmp_path: Path, name: str) -> None:
    members, expected = cifar_members(name, np.random.default_rng(8))
    # The originals name numpy 1's module path (numpy 2 renamed it to numpy._core).
    members = {k: v.replace(b"numpy._core.multiarray\n", b"numpy.core.multiarray\n")
               for k, v in members.items()}
    write_folder(tmp_path / name, members)
    arrays = load_dataset(name, tmp_path, download=False)
    assert arrays.source == str(tmp_path / name / CIFAR_LAYOUTS[name][0])
    assert_loaded(arrays, expected)
    # Independently of the writer: byte c*1024 + r*32 + col of a row is pixel (r, col), channel c.
    folder, _, test_member, _, _ = CIFAR_LAYOUTS[name]
    row = pickle.loads(members[f"{folder}/{test_member}"], encoding="bytes")[b"data"][1]
    for r, col, c in [(0, 0, 0), (0, 1, 1), (5, 31, 2), (31, 7, 1)]:
        assert arrays.x_test[1, r, col, c] == row[c * 1024 + r * 32 + col]


@pytest.mark.parametrize("name", ["cifar10", "cifar100"])
def test_cifar_archive_is_read_without_extracting(tmp_path: Path, name: str) -> None:
    members, expected = cifar_members(name, np.random.default_rng(9))
    archive = tmp_path / DATASETS[name].files[0].name  # in <data_dir> itself
    write_tar_gz(archive, members)
    arrays = load_dataset(name, tmp_path, download=False)
    assert arrays.source == str(archive)
    assert_loaded(arrays, expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == [archive.name]


def test_cifar_archive_missing_member(tmp_path: Path) -> None:
    members, _ = cifar_members("cifar10", np.random.default_rng(10))
    del members["cifar-10-batches-py/data_batch_3"]
    write_tar_gz(tmp_path / "cifar10" / "cifar-10-python.tar.gz", members)
    with pytest.raises(DataError, match="archive lacks cifar-10-batches-py/data_batch_3"):
        load_dataset("cifar10", tmp_path, download=False)


class Exploit:
    """Unpickling this would run a shell command: the reader must refuse it."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_restricted_unpickler_refuses_code(tmp_path: Path) -> None:
    members, _ = cifar_members("cifar10", np.random.default_rng(11))
    marker = tmp_path / "pwned"
    batch = {b"data": Exploit(marker), b"labels": [0]}
    members["cifar-10-batches-py/test_batch"] = pickle.dumps(batch, protocol=2)
    write_folder(tmp_path / "cifar10", members)
    with pytest.raises(DataError, match=r"test_batch: refusing to unpickle (posix|nt|os)\.system"):
        load_dataset("cifar10", tmp_path, download=False)
    assert not marker.exists()


def test_garbage_pickle_is_a_data_error(tmp_path: Path) -> None:
    members, _ = cifar_members("cifar100", np.random.default_rng(12))
    members["cifar-100-python/train"] = b"\x80\x02garbage"
    write_tar_gz(tmp_path / "cifar-100-python.tar.gz", members)
    with pytest.raises(DataError, match="python/train: not a readable pickled CIFAR batch"):
        load_dataset("cifar100", tmp_path, download=False)


def test_cifar100_needs_fine_labels(tmp_path: Path) -> None:
    members, _ = cifar_members("cifar100", np.random.default_rng(13))
    members["cifar-100-python/test"] = pickle.dumps(
        {b"data": np.zeros((1, 3072), np.uint8), b"coarse_labels": [0]}, protocol=2
    )
    write_folder(tmp_path, members)
    with pytest.raises(DataError, match="expected a dict with b'data' and b'fine_labels'"):
        load_dataset("cifar100", tmp_path, download=False)


# ----------------------------------------------------------------------------- subsets, data dir

def test_subsets_take_the_first_samples(tmp_path: Path) -> None:
    expected = write_idx_set(tmp_path / "mnist", np.random.default_rng(14))
    full = load_dataset("mnist", tmp_path, download=False)
    subset = load_dataset("mnist", tmp_path, download=False, train_samples=2, test_samples=1)
    np.testing.assert_array_equal(subset.x_train[..., 0], expected["x_train"][:2])
    np.testing.assert_array_equal(subset.y_test, expected["y_test"][:1])
    ids = {full.dataset_id, subset.dataset_id,
           load_dataset("mnist", tmp_path, download=False, train_samples=3).dataset_id}
    assert len(ids) == 3
    assert subset.dataset_id.endswith(":train=2:test=1")
    assert subset.dataset_id == load_dataset(
        "mnist", tmp_path, download=False, train_samples=2, test_samples=1
    ).dataset_id


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"train_samples": 0}, r"train_samples=0 is out of range: this split has 5 samples"),
        ({"test_samples": 4}, r"test_samples=4 is out of range: this split has 3 samples"),
        ({"train_samples": True}, "train_samples must be an integer"),
        ({"test_samples": 1.5}, "test_samples must be an integer"),
    ],
)
def test_bad_subset_sizes(tmp_path: Path, kwargs: dict, match: str) -> None:
    write_idx_set(tmp_path / "mnist", np.random.default_rng(15))
    with pytest.raises(DataError, match=match):
        load_dataset("mnist", tmp_path, download=False, **kwargs)


def test_resolve_data_dir_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("RESIM_DATA", raising=False)
    assert resolve_data_dir(None) == tmp_path / "home" / ".cache" / "resim" / "data"
    monkeypatch.setenv("RESIM_DATA", str(tmp_path / "env"))
    assert resolve_data_dir(None) == tmp_path / "env"
    assert resolve_data_dir(tmp_path / "explicit") == tmp_path / "explicit"
    assert resolve_data_dir("~/x") == tmp_path / "home" / "x"


def test_load_uses_resim_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = write_idx_set(tmp_path / "env" / "mnist", np.random.default_rng(16))
    monkeypatch.setenv("RESIM_DATA", str(tmp_path / "env"))
    assert_loaded(load_dataset("mnist", download=False), expected)


def test_specs_are_consistent() -> None:
    assert set(DATASETS) == {"mnist", "fashion-mnist", "cifar10", "cifar100", "imagenet-shape"}
    for name, spec in DATASETS.items():
        assert spec.name == name
        assert len(spec.mean) == len(spec.std) == spec.channels
        assert spec.size == (28 if "mnist" in name else 224 if name == "imagenet-shape" else 32)
        assert all(len(file.md5) == 32 and file.url.endswith(file.name) for file in spec.files)
    assert DATASETS["cifar100"].num_classes == 100


def test_shape_only_data_set_has_the_shape_and_no_images(tmp_path: Path) -> None:
    from simulator.data.datasets import has_images

    arrays = load_dataset("imagenet-shape", tmp_path / "absent")
    assert arrays.x_train.shape == (0, 224, 224, 3) and arrays.spec.num_classes == 1000
    assert not has_images(arrays) and not (tmp_path / "absent").exists()
    assert arrays.dataset_id == load_dataset("imagenet-shape").dataset_id
