"""Image data sets (MNIST, Fashion-MNIST, CIFAR-10, CIFAR-100) as plain numpy arrays.

Every loader returns the same thing, `Arrays`: uint8 images in (N, H, W, C) order and int64
labels, so the training and evaluation stages never care which file format a user happened to
have. The formats read are the ones users actually own:

* the canonical distributions (IDX files for the MNIST family, the pickled
  `cifar-*-python.tar.gz` archives or their extracted folders for CIFAR), read in place;
* a plain `<name>.npz` holding `x_train, y_train, x_test, y_test` (any data set), optionally
  with `x_test_exact_head`: exact copies of the first test images where `x_test` holds lossy
  (JPEG-recovered) ones, as in the shared CIFAR-10 copy; `test_set="exact-head"` tests on them;
* the same arrays in parts: a folder `<name>-parts/` of compressed `.npz` chunks plus a
  `manifest.json` with their md5s, written by `resim data split` (`write_parts`) so that a large
  data set can be moved to another machine piece by piece. Loading the parts gives arrays
  identical to the whole file, hence the same `dataset_id` and the same cached checkpoints.

This module is numpy-only on purpose: the CLI imports it without paying for torch.
"""

from __future__ import annotations

import codecs
import functools
import hashlib
import json
import os
import pickle
import shutil
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any

import numpy as np

DATA_DIR_ENV = "RESIM_DATA"
DEFAULT_DATA_DIR = Path("~/.cache/resim/data")
DOWNLOAD_TIMEOUT_S = 10.0
NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")
EXACT_HEAD_KEY = "x_test_exact_head"
TEST_SETS = ("all", "exact-head")
PARTS_MANIFEST = "manifest.json"
PARTS_FORMAT = "resim-data-parts"
PARTS_VERSION = 1


class DataError(Exception):
    """A data set cannot be found, downloaded or parsed; the message says what to do about it."""


class TestSetError(DataError):
    """The requested test set (`test_set`) does not exist in the data set's file; `value` is the
    request, so a caller can name the configuration key it came from."""

    __test__ = False  # not a pytest test class, whatever its name

    def __init__(self, message: str, value: object) -> None:
        super().__init__(message)
        self.value = value


@dataclass(frozen=True)
class CanonicalFile:
    """One file of a data set's official distribution, with the md5 that proves a download whole."""

    name: str
    md5: str
    url: str


@dataclass(frozen=True)
class DatasetSpec:
    """What a data set is (shape, classes, normalisation) and where its canonical files come from.

    `mean` and `std` are per-channel statistics of the training images scaled to [0, 1], the
    well-known values everyone normalises with (checked against the real training sets).
    `system_dirs` are extra places a distribution package installs the canonical files.
    """

    name: str
    num_classes: int
    channels: int
    size: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    files: tuple[CanonicalFile, ...]
    system_dirs: tuple[Path, ...] = ()

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(H, W, C) of one image, the layout `Arrays` always uses."""
        return (self.size, self.size, self.channels)


_IDX_STEMS = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
_IDX_LABELS_MAGIC = 2049  # 0x0801: unsigned bytes, 1 dimension
_IDX_IMAGES_MAGIC = 2051  # 0x0803: unsigned bytes, 3 dimensions
_MNIST_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"  # yann.lecun.com is often down
_FASHION_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
_CIFAR_URL = "https://www.cs.toronto.edu/~kriz/"


def _idx_files(base_url: str, md5s: tuple[str, str, str, str]) -> tuple[CanonicalFile, ...]:
    return tuple(
        CanonicalFile(f"{stem}.gz", md5, f"{base_url}{stem}.gz")
        for stem, md5 in zip(_IDX_STEMS, md5s)
    )


def _archive(name: str, md5: str) -> tuple[CanonicalFile, ...]:
    return (CanonicalFile(name, md5, _CIFAR_URL + name),)


DATASETS: dict[str, DatasetSpec] = {
    "mnist": DatasetSpec(
        name="mnist", num_classes=10, channels=1, size=28, mean=(0.1307,), std=(0.3081,),
        files=_idx_files(_MNIST_URL, (
            "f68b3c2dcbeaaa9fbdd348bbdeb94873", "d53e105ee54ea40749a09fcbcd1e9432",
            "9fb629c4189551a2d022fa330f9573f3", "ec29112dd5afa0611ce80d1b7f02629c",
        )),
    ),
    "fashion-mnist": DatasetSpec(
        name="fashion-mnist", num_classes=10, channels=1, size=28, mean=(0.2860,), std=(0.3530,),
        files=_idx_files(_FASHION_URL, (
            "8d4fb7e6c68d591d4c3dfef9ec88bf0d", "25c81989df183df01b3e8a0aad5dffbe",
            "bef4ecab320f06d8554ea6380940ec79", "bb300cfdad3c16e7a12a480ee83cd310",
        )),
        # Debian/Ubuntu package dataset-fashion-mnist (same content, recompressed .gz).
        system_dirs=(Path("/usr/share/datasets/fashion-mnist"),),
    ),
    "cifar10": DatasetSpec(
        name="cifar10", num_classes=10, channels=3, size=32,
        mean=(0.4914, 0.4822, 0.4465), std=(0.2470, 0.2435, 0.2616),
        files=_archive("cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a"),
    ),
    "cifar100": DatasetSpec(
        name="cifar100", num_classes=100, channels=3, size=32,
        mean=(0.5071, 0.4865, 0.4409), std=(0.2673, 0.2564, 0.2762),
        files=_archive("cifar-100-python.tar.gz", "eb9058c3a382ffc7106e4002c42a8d85"),
    ),
    # Shape only: no images. For hardware studies of ImageNet-size networks (untrained weights
    # pruned layer by layer); training and accuracy need a data set with images. Normalisation:
    # the usual ImageNet statistics (unused without images).
    "imagenet-shape": DatasetSpec(
        name="imagenet-shape", num_classes=1000, channels=3, size=224, mean=(0.485, 0.456, 0.406),
        std=(0.229, 0.224, 0.225), files=()),
}


@dataclass(frozen=True)
class _CifarLayout:
    """Where the pickled batches sit in a CIFAR python distribution and which key holds labels."""

    folder: str
    train_members: tuple[str, ...]
    test_member: str
    label_key: bytes

    @property
    def members(self) -> tuple[str, ...]:
        return (*self.train_members, self.test_member)


_CIFAR_LAYOUTS = {
    "cifar10": _CifarLayout(
        folder="cifar-10-batches-py",
        train_members=tuple(f"data_batch_{i}" for i in range(1, 6)),
        test_member="test_batch",
        label_key=b"labels",
    ),
    "cifar100": _CifarLayout(
        folder="cifar-100-python",
        train_members=("train",),
        test_member="test",
        label_key=b"fine_labels",
    ),
}


@dataclass(eq=False)  # element-wise array comparison makes `==` meaningless; identity it is
class Arrays:
    """A loaded data set: images (N, H, W, C) uint8 and labels (N,) int64 for each split.

    `x_test_exact_head`, when the file has one, holds exact copies of the first test images
    (labels `y_test[:len(head)]`) where `x_test` holds lossy ones; it is not part of
    `dataset_id`, which hashes what training and testing use. `test_set` says which test images
    `x_test` holds: "all" (the file's `x_test`) or "exact-head" (the exact head in their place).

    The arrays are treated as read-only by convention: `dataset_id` hashes their content, so
    transform copies rather than editing them in place.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    spec: DatasetSpec
    source: str
    x_test_exact_head: np.ndarray | None = None
    test_set: str = "all"

    @functools.cached_property
    def dataset_id(self) -> str:
        """Short stable identifier of the loaded content, for cache keys.

        SHA-1 over the full label and image bytes (with dtypes and shapes) of both splits, so
        a checkpoint is reused exactly when the data is the same, whatever file format or
        location it came from, and never for another subset. Computed once per `Arrays` (about
        0.1 s for CIFAR-10, and a run asks for it half a dozen times: issue #25); the arrays are
        read-only by convention and `replace` makes a new `Arrays`, which hashes its own content.
        """
        digest = hashlib.sha1(usedforsecurity=False)
        for array in (self.y_train, self.x_train, self.y_test, self.x_test):
            digest.update(f"{array.dtype.str}{array.shape};".encode())
            digest.update(np.ascontiguousarray(array).data)
        train, test = len(self.y_train), len(self.y_test)
        return f"{self.spec.name}:{digest.hexdigest()[:12]}:train={train}:test={test}"

    def __repr__(self) -> str:
        head = "" if self.x_test_exact_head is None else f", exact_head={len(self.x_test_exact_head)}"
        return (
            f"Arrays({self.spec.name}, train={len(self.y_train)}, test={len(self.y_test)}, "
            f"test_set={self.test_set!r}{head}, source={self.source!r})"
        )


def resolve_data_dir(explicit: str | Path | None) -> Path:
    """The data directory: `explicit` (--data-dir or the workload), else $RESIM_DATA, else
    ~/.cache/resim/data. The directory need not exist yet (downloads create it)."""
    if explicit is not None and str(explicit) != "":
        return Path(explicit).expanduser()
    from_env = os.environ.get(DATA_DIR_ENV)
    if from_env:
        return Path(from_env).expanduser()
    return DEFAULT_DATA_DIR.expanduser()


def data_dir_origin(explicit: str | Path | None) -> str:
    """Where `resolve_data_dir(explicit)` took the data directory from, for messages."""
    if explicit is not None and str(explicit) != "":
        return "given by --data-dir, the API's data_dir= or the workload's data.dir"
    if os.environ.get(DATA_DIR_ENV):
        return f"from {DATA_DIR_ENV}"
    return f"the default: neither --data-dir nor {DATA_DIR_ENV} is set"


def load_dataset(
    name: str,
    data_dir: str | Path | None = None,
    *,
    train_samples: int | None = None,
    test_samples: int | None = None,
    test_set: str = "all",
    download: bool = True,
) -> Arrays:
    """Load data set `name` from the data directory, downloading the canonical files if allowed.

    Looks in `<data_dir>/<name>/`, then `<data_dir>`, then the spec's system directories; in
    each, `<name>.npz` first, then the canonical format. `test_set` picks the test images:
    "all" (the file's `x_test`) or "exact-head" (its `x_test_exact_head` with the matching first
    labels; a TestSetError when the file has none). `train_samples` / `test_samples` then keep
    the first n samples of a split (deterministic, so runs are comparable).
    """
    spec = _spec(name)
    if test_set not in TEST_SETS:
        raise TestSetError(f"test_set {test_set!r} is not one of {', '.join(map(repr, TEST_SETS))}", test_set)
    if not spec.files:
        return shape_only(spec)
    root = resolve_data_dir(data_dir)
    searched = _search_dirs(spec, root)
    path, read = _locate(spec, searched) or _download_and_locate(
        spec, searched, root / spec.name, download, data_dir_origin(data_dir)
    )
    arrays = select_test_set(read(spec, path), test_set)
    n_train = _count(train_samples, len(arrays.y_train), "train_samples")
    n_test = _count(test_samples, len(arrays.y_test), "test_samples",
                    f" (test_set {test_set!r})" if test_set != "all" else "")
    head = arrays.x_test_exact_head
    return replace(
        arrays,
        x_train=arrays.x_train[:n_train],
        y_train=arrays.y_train[:n_train],
        x_test=arrays.x_test[:n_test],
        y_test=arrays.y_test[:n_test],
        x_test_exact_head=None if head is None else head[:n_test],
    )


def locate_dataset(name: str, data_dir: str | Path | None = None, *, download: bool = True) -> Path | None:
    """Where data set `name` is (downloading its canonical files first if it is nowhere and
    `download` allows), without reading it: a DataError saying what to put where otherwise; None
    for a shape-only data set, which has no files."""
    spec = _spec(name)
    if not spec.files:
        return None   # a shape-only data set has no files to find
    root = resolve_data_dir(data_dir)
    searched = _search_dirs(spec, root)
    path, _ = _locate(spec, searched) or _download_and_locate(spec, searched, root / spec.name, download,
                                                               data_dir_origin(data_dir))
    return path


def shape_only(spec: DatasetSpec) -> Arrays:
    """A data set of `spec`'s image shape and classes with no images (hardware studies only)."""
    empty = np.zeros((0, *spec.image_shape), dtype=np.uint8)
    labels = np.zeros(0, dtype=np.int64)
    return Arrays(empty, labels, empty, labels, spec, "shape only: no images")


def has_images(arrays: Arrays) -> bool:
    """Whether `arrays` holds test images (a shape-only data set does not)."""
    return len(arrays.y_test) > 0


def select_test_set(arrays: Arrays, test_set: str) -> Arrays:
    """`arrays` testing on `test_set`: "all" leaves them as read, "exact-head" puts the exact head
    in place of the test split (labels: the first `len(head)` test labels)."""
    if test_set == "all":
        return arrays
    if test_set != "exact-head":
        raise TestSetError(f"test_set {test_set!r} is not one of {', '.join(map(repr, TEST_SETS))}", test_set)
    head = arrays.x_test_exact_head
    if head is None:
        raise TestSetError(_no_head_message(arrays), test_set)
    return replace(arrays, x_test=head, y_test=arrays.y_test[: len(head)], test_set=test_set)


def _no_head_message(arrays: Arrays) -> str:
    source = Path(arrays.source)
    if source.suffix == ".npz":
        what = f"{source} holds no array {EXACT_HEAD_KEY!r}"
    elif (source / PARTS_MANIFEST).is_file():
        what = (f"the parts in {source} hold no array {EXACT_HEAD_KEY!r} (a split written before resim "
                f"kept it? split the .npz again with `resim data split`)")
    elif arrays.spec.name in _CIFAR_LAYOUTS:
        what = (f"{source} is the canonical {arrays.spec.name} distribution, whose test images are exact "
                f"already; it has no {EXACT_HEAD_KEY!r}, so test on 'all'")
    else:
        what = f"{source} ({arrays.spec.name} in its canonical files) has no {EXACT_HEAD_KEY!r}"
    return (f"test_set 'exact-head' needs exact copies of the first test images, but {what}; "
            f"allowed: 'all' (the file's x_test), or 'exact-head' with a {arrays.spec.name}.npz or "
            f"{arrays.spec.name}-parts/ holding {EXACT_HEAD_KEY!r}")


def _spec(name: str) -> DatasetSpec:
    spec = DATASETS.get(name.lower())
    if spec is None:
        raise DataError(f"unknown data set {name!r}; known: {', '.join(sorted(DATASETS))}")
    return spec


def _count(requested: int | None, available: int, what: str, split: str = "") -> int:
    """How many leading samples to keep; a bad request is an error, not a silent clamp."""
    if requested is None:
        return available
    if isinstance(requested, bool) or not isinstance(requested, (int, np.integer)):
        raise DataError(f"{what} must be an integer, got {requested!r}")
    if not 1 <= requested <= available:
        raise DataError(f"{what}={requested} is out of range: this split{split} has {available} samples")
    return int(requested)


def _search_dirs(spec: DatasetSpec, root: Path) -> list[Path]:
    return list(dict.fromkeys((root / spec.name, root, *spec.system_dirs)))


# ----------------------------------------------------------------------------- locating files

_Reader = Callable[[DatasetSpec, Path], Arrays]
_Finder = Callable[[DatasetSpec, Path], Path | None]


def _locate(spec: DatasetSpec, dirs: Iterable[Path]) -> tuple[Path, _Reader] | None:
    """First (path, reader) that some format finds, directories in order, npz before canonical."""
    for directory in dirs:
        for find, read in _formats(spec):
            path = find(spec, directory)
            if path is not None:
                return path, read
    return None


def _formats(spec: DatasetSpec) -> tuple[tuple[_Finder, _Reader], ...]:
    canonical: tuple[tuple[_Finder, _Reader], ...]
    if spec.name in _CIFAR_LAYOUTS:
        canonical = (
            (_find_cifar_folder, _read_cifar_folder),
            (_find_cifar_archive, _read_cifar_archive),
        )
    else:
        canonical = ((_find_idx_dir, _read_idx_dir),)
    return ((_find_npz, _read_npz), (_find_parts, _read_parts), *canonical)


def _find_npz(spec: DatasetSpec, directory: Path) -> Path | None:
    path = directory / f"{spec.name}.npz"
    return path if path.is_file() else None


def _find_parts(spec: DatasetSpec, directory: Path) -> Path | None:
    """`<name>-parts/` beside the other formats, or `directory` itself when it is that folder
    (a data directory pointed straight at the parts, as on a machine that received only them)."""
    named = directory / f"{spec.name}-parts"
    if (named / PARTS_MANIFEST).is_file():
        return named
    manifest = directory / PARTS_MANIFEST
    if manifest.is_file():
        try:
            found = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None  # some other tool's manifest: not ours to judge
        if isinstance(found, dict) and found.get("format") == PARTS_FORMAT and found.get("dataset") == spec.name:
            return directory
    return None


def _idx_path(directory: Path, stem: str) -> Path | None:
    """An IDX file is accepted gzipped (canonical) or uncompressed (what `gunzip` leaves)."""
    for path in (directory / f"{stem}.gz", directory / stem):
        if path.is_file():
            return path
    return None


def _find_idx_dir(spec: DatasetSpec, directory: Path) -> Path | None:
    return directory if all(_idx_path(directory, stem) for stem in _IDX_STEMS) else None


def _find_cifar_folder(spec: DatasetSpec, directory: Path) -> Path | None:
    layout = _CIFAR_LAYOUTS[spec.name]
    folder = directory / layout.folder
    return folder if all((folder / member).is_file() for member in layout.members) else None


def _find_cifar_archive(spec: DatasetSpec, directory: Path) -> Path | None:
    path = directory / spec.files[0].name
    return path if path.is_file() else None


def _not_found_message(spec: DatasetSpec, searched: list[Path], target: Path, reason: str, origin: str) -> str:
    if spec.name in _CIFAR_LAYOUTS:
        folder = _CIFAR_LAYOUTS[spec.name].folder
        wanted = f"{spec.files[0].name} (or its extracted folder {folder}/)"
    else:
        names = [f.name for f in spec.files]
        wanted = f"{', '.join(names[:-1])} and {names[-1]} (gzipped or not)"
    folders = _folders_named_like_files(spec, searched)
    files = [directory for directory in searched if directory.exists() and not directory.is_dir()]
    # A folder where a data file belongs, or a file where the data folder belongs: say so first.
    hint = (f" {', '.join(map(str, folders))} {'is a folder' if len(folders) == 1 else 'are folders'}, where the "
            "data file of that name was expected;" if folders else "")
    hint += f" {', '.join(map(str, files))} is a file, not a data folder;" if files else ""
    return (
        f"data set {spec.name!r} not found;{hint} searched {', '.join(map(str, searched))} (data directory "
        f"{target.parent}, {origin}). Put {wanted}, or {spec.name}.npz with arrays {', '.join(NPZ_KEYS)}, into "
        f"{target}/, or name the data directory that holds them in a {spec.name}/ folder (as a shared data folder "
        f"lays them out) with --data-dir DIR or {DATA_DIR_ENV}=DIR. "
        f"Canonical files: {' '.join(f.url for f in spec.files)}. {reason}"
    )


def _folders_named_like_files(spec: DatasetSpec, searched: list[Path]) -> list[Path]:
    """Paths in `searched` that bear a data file's name but are folders."""
    names = [f"{spec.name}.npz", *(f.name for f in spec.files), *(f.name.removesuffix(".gz") for f in spec.files)]
    if spec.name in _CIFAR_LAYOUTS:
        layout = _CIFAR_LAYOUTS[spec.name]
        names += [f"{layout.folder}/{member}" for member in layout.members]
    return [directory / name for directory in searched for name in dict.fromkeys(names)
            if (directory / name).is_dir()]


# ----------------------------------------------------------------------------- downloading

def _download_and_locate(
    spec: DatasetSpec, searched: list[Path], target: Path, download: bool, origin: str
) -> tuple[Path, _Reader]:
    """Last resort when nothing was found: fetch the canonical files into `target`, or raise
    the one error that tells the user what to put where (and why the download did not help)."""
    reason = "Downloading is disabled (download=False)."
    if download:
        import http.client  # here, not at the top: with the files present (every run but the first)
                                # the HTTP client and its ssl and email imports are dead weight
        try:
            _download_missing(spec, target)
        except (OSError, http.client.HTTPException, DataError) as exc:
            reason = f"Download failed: {exc}"
        else:
            found = _locate(spec, [target])
            if found is not None:
                return found
            reason = f"The downloaded files were not found in {target} afterwards."
    raise DataError(_not_found_message(spec, searched, target, reason, origin))


def _download_missing(spec: DatasetSpec, target: Path) -> None:
    """Fetch the canonical files `target` lacks; an IDX file present uncompressed counts."""
    for file in spec.files:
        if spec.name in _CIFAR_LAYOUTS:
            present = (target / file.name).is_file()
        else:
            present = _idx_path(target, file.name.removesuffix(".gz")) is not None
        if not present:
            _download_file(file, target / file.name)


def _download_file(file: CanonicalFile, dest: Path) -> None:
    """Stream `file.url` to `dest` through a temporary file, so an interrupted or corrupt
    download never leaves a file that a later run would take for the real one. The temporary
    file sits beside `dest` when its folder exists, else in the system's temporary folder: the
    data folder is created only once a whole, verified file is there to fill it (issue #16: a
    failed download must not leave an empty folder, say under /etc)."""
    import urllib.request

    staging = dest.parent if dest.parent.is_dir() else Path(tempfile.gettempdir())
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=staging)
    try:
        digest = hashlib.md5(usedforsecurity=False)
        with (
            os.fdopen(fd, "wb") as out,
            urllib.request.urlopen(file.url, timeout=DOWNLOAD_TIMEOUT_S) as response,
        ):
            while chunk := response.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != file.md5:
            raise DataError(
                f"{file.url}: md5 {digest.hexdigest()} does not match the expected {file.md5}; "
                "the download was discarded"
            )
        _move_into(Path(tmp_name), dest)
    finally:
        Path(tmp_name).unlink(missing_ok=True)


def _move_into(tmp: Path, dest: Path) -> None:
    """Put the finished file `tmp` at `dest` atomically, creating `dest`'s folder now."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    if tmp.parent == dest.parent:
        os.replace(tmp, dest)
        return
    fd, beside = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    os.close(fd)
    try:
        shutil.copyfile(tmp, beside)
        os.replace(beside, dest)
    finally:
        Path(beside).unlink(missing_ok=True)


# ----------------------------------------------------------------------------- validation

def _arrays(
    spec: DatasetSpec,
    source: Path,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    exact_head: np.ndarray | None = None,
) -> Arrays:
    """Check what a reader produced against the spec, so every format fails the same clear way."""
    if exact_head is not None:
        exact_head = _images(spec, source, EXACT_HEAD_KEY, exact_head)
        if len(exact_head) > len(x_test):
            raise DataError(f"{source}: {EXACT_HEAD_KEY} holds {len(exact_head)} images, more than the "
                            f"{len(x_test)} of x_test whose head it is")
    return Arrays(
        x_train=_images(spec, source, "x_train", x_train),
        y_train=_labels(spec, source, "y_train", y_train, len(x_train)),
        x_test=_images(spec, source, "x_test", x_test),
        y_test=_labels(spec, source, "y_test", y_test, len(x_test)),
        spec=spec,
        source=str(source),
        x_test_exact_head=exact_head,
    )


def _images(spec: DatasetSpec, source: Path, key: str, x: np.ndarray) -> np.ndarray:
    if x.ndim == 3 and spec.channels == 1:
        x = x[..., np.newaxis]  # grey images are often stored without a channel axis
    if x.dtype != np.uint8 or x.ndim != 4 or x.shape[1:] != spec.image_shape:
        height, width, channels = spec.image_shape
        raise DataError(
            f"{source}: {key} is {x.dtype} {x.shape}, "
            f"expected uint8 (N, {height}, {width}, {channels}) images"
        )
    return x


def _labels(spec: DatasetSpec, source: Path, key: str, y: np.ndarray, count: int) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1 or y.dtype.kind not in "iu" or len(y) != count:
        raise DataError(f"{source}: {key} is {y.dtype} {y.shape}, expected {count} integer labels")
    if count and (y.min() < 0 or y.max() >= spec.num_classes):
        raise DataError(
            f"{source}: {key} holds labels {y.min()}..{y.max()}, outside 0..{spec.num_classes - 1}"
        )
    return y.astype(np.int64)


# ----------------------------------------------------------------------------- npz

def _read_npz(spec: DatasetSpec, path: Path) -> Arrays:
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = [key for key in NPZ_KEYS if key not in archive.files]
            if missing:
                raise DataError(
                    f"{path}: missing arrays {', '.join(missing)} (has {', '.join(archive.files)})"
                )
            x_train, y_train, x_test, y_test = (archive[key] for key in NPZ_KEYS)
            head = archive[EXACT_HEAD_KEY] if EXACT_HEAD_KEY in archive.files else None
    except (OSError, ValueError, zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise DataError(f"{path}: not a readable .npz file ({exc})") from exc
    return _arrays(spec, path, x_train, y_train, x_test, y_test, exact_head=head)


# ----------------------------------------------------------------------------- parts

def read_data_file(path: str | Path, dataset: str | None = None) -> Arrays:
    """Read one data set from `path`: a `.npz`, a canonical CIFAR archive or extracted folder, a
    parts folder, or a folder holding any of these (IDX files too). `dataset` names the data set;
    by default it is told from the file name (`cifar10.npz`, `cifar-10-python.tar.gz`, ...)."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    spec = _spec(dataset) if dataset is not None else _spec_of_file(path)
    if path.is_file() and path.suffix == ".npz":
        return _read_npz(spec, path)
    if path.is_file() and spec.name in _CIFAR_LAYOUTS:
        return _read_cifar_archive(spec, path)
    if path.is_dir():
        if spec.name in _CIFAR_LAYOUTS and path.name == _CIFAR_LAYOUTS[spec.name].folder:
            return _read_cifar_folder(spec, path)
        found = _locate(spec, [path])
        if found is not None:
            return found[1](spec, found[0])
    raise DataError(f"{path}: holds no {spec.name} data set in a format resim reads "
                    f"({spec.name}.npz, {spec.name}-parts/, or the canonical files)")


def _spec_of_file(path: Path) -> DatasetSpec:
    """The data set a file or folder name belongs to (its npz, parts, canonical or folder name)."""
    name = path.name
    for spec in DATASETS.values():
        names = {f"{spec.name}.npz", f"{spec.name}-parts", spec.name, *(f.name for f in spec.files)}
        if spec.name in _CIFAR_LAYOUTS:
            names.add(_CIFAR_LAYOUTS[spec.name].folder)
        if name in names:
            return spec
    raise DataError(f"{path}: cannot tell which data set this is from its name; "
                    f"name it with --dataset ({', '.join(sorted(DATASETS))})")


def write_parts(arrays: Arrays, out: str | Path, parts: int, *, progress: bool = False) -> Path:
    """Split `arrays` into `parts` compressed `.npz` chunks plus a manifest in the new folder `out`.

    Part i holds the i-th contiguous slice of each split (train and test alike), and of the exact
    test head, if any, the rows of that test slice it covers (so the first part holds all of a
    short head). The manifest records every part's md5, rows and the whole set's `dataset_id`
    (plus the head's rows and content id), which loading checks. The folder is built under a
    temporary name and renamed into place, so it is complete or absent."""
    from simulator.progress import progress_bar

    out = Path(out)
    n_train, n_test = len(arrays.y_train), len(arrays.y_test)
    head = arrays.x_test_exact_head
    if isinstance(parts, bool) or not isinstance(parts, int) or not 1 <= parts <= n_train:
        raise DataError(f"parts={parts!r} is out of range: give 1..{n_train} (the training images)")
    if out.exists():
        raise DataError(f"{out} already exists; give a new folder (a split is written whole or not at all)")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent))
    try:
        with progress_bar(disable=not progress, transient=True) as bar:
            task = bar.add_task(f"writing {parts} parts", total=parts)
            train_cuts = [n_train * i // parts for i in range(parts + 1)]
            test_cuts = [n_test * i // parts for i in range(parts + 1)]
            entries = []
            for i in range(parts):
                rows = {"train": [train_cuts[i], train_cuts[i + 1]], "test": [test_cuts[i], test_cuts[i + 1]]}
                name = f"part-{i + 1:03d}-of-{parts:03d}.npz"
                (a, b), (c, d) = rows["train"], rows["test"]
                # Any: numpy's stub would match ** against savez_compressed's own allow_pickle flag.
                extra: dict[str, Any] = {}
                if head is not None:
                    rows["test_exact_head"] = [min(c, len(head)), min(d, len(head))]
                    extra[EXACT_HEAD_KEY] = head[slice(*rows["test_exact_head"])]
                np.savez_compressed(tmp / name, x_train=arrays.x_train[a:b], y_train=arrays.y_train[a:b],
                                    x_test=arrays.x_test[c:d], y_test=arrays.y_test[c:d], **extra)
                entries.append({"file": name, "md5": _md5(tmp / name), "bytes": (tmp / name).stat().st_size, **rows})
                bar.advance(task)
        manifest = {"format": PARTS_FORMAT, "version": PARTS_VERSION, "dataset": arrays.spec.name,
                    "dataset_id": arrays.dataset_id, "source": arrays.source,
                    "train": n_train, "test": n_test, "parts": entries}
        if head is not None:
            manifest.update({"test_exact_head": len(head), "test_exact_head_id": _content_id(head)})
        (tmp / PARTS_MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes the folder private; a data set is not
        os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _content_id(array: np.ndarray) -> str:
    """SHA-1 of an array's dtype, shape and bytes (the exact head's check in a parts manifest)."""
    digest = hashlib.sha1(usedforsecurity=False)
    digest.update(f"{array.dtype.str}{array.shape};".encode())
    digest.update(np.ascontiguousarray(array).data)
    return digest.hexdigest()[:12]


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _read_manifest(spec: DatasetSpec, path: Path) -> dict:
    """The parts manifest at `path`, checked enough that every later error can name a part."""
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: not a readable parts manifest ({exc})") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != PARTS_FORMAT:
        raise DataError(f"{path}: not a resim parts manifest (format should be {PARTS_FORMAT!r})")
    if manifest.get("version") != PARTS_VERSION:
        raise DataError(f"{path}: parts manifest version {manifest.get('version')!r}, "
                        f"this resim reads version {PARTS_VERSION}")
    if manifest.get("dataset") != spec.name:
        raise DataError(f"{path}: holds parts of {manifest.get('dataset')!r}, not {spec.name!r}")
    entries = manifest.get("parts")
    if not isinstance(entries, list) or not entries or not all(
        isinstance(e, dict) and isinstance(e.get("file"), str) and Path(e["file"]).name == e["file"]
        and isinstance(e.get("md5"), str) for e in entries
    ):
        raise DataError(f"{path}: 'parts' must list entries with a plain 'file' name and its 'md5'")
    return manifest


def _read_parts(spec: DatasetSpec, folder: Path) -> Arrays:
    """Reassemble a parts folder, checking each part's md5 and the whole set's id."""
    manifest_path = folder / PARTS_MANIFEST
    manifest = _read_manifest(spec, manifest_path)
    entries = manifest["parts"]
    pieces: list[Arrays] = []
    for number, entry in enumerate(entries, start=1):
        path = folder / entry["file"]
        where = f"part {number} of {len(entries)} listed in {manifest_path}"
        if not path.is_file():
            raise DataError(f"{path}: missing ({where}); copy every part of the split into {folder}")
        md5 = _md5(path)
        if md5 != entry["md5"]:
            raise DataError(f"{path}: md5 {md5} does not match {entry['md5']} ({where}); "
                            "the part is damaged or incomplete, copy it again")
        pieces.append(_read_npz(spec, path))
    with_head = [p.x_test_exact_head is not None for p in pieces]
    if not all(with_head) and ("test_exact_head" in manifest or any(with_head)):
        lacking = [entry["file"] for entry, has in zip(entries, with_head) if not has]
        raise DataError(f"{folder}: {', '.join(lacking)} lack the exact test head ({EXACT_HEAD_KEY}) that "
                        f"{manifest_path} or the other parts have; the split is incomplete or mixed up")
    head = np.concatenate([p.x_test_exact_head for p in pieces]) if all(with_head) else None
    x_train, y_train, x_test, y_test = (np.concatenate([getattr(p, key) for p in pieces]) for key in NPZ_KEYS)
    whole = _arrays(spec, folder, x_train, y_train, x_test, y_test, exact_head=head)
    if whole.dataset_id != manifest.get("dataset_id"):
        raise DataError(f"{folder}: the parts reassemble {whole.dataset_id}, but {manifest_path} "
                        f"promises {manifest.get('dataset_id')}; the split is incomplete or mixed up")
    if head is not None and (len(head), _content_id(head)) != (
        manifest.get("test_exact_head"), manifest.get("test_exact_head_id")
    ):
        raise DataError(f"{folder}: the parts reassemble an exact test head of {len(head)} images, id "
                        f"{_content_id(head)}, but {manifest_path} promises {manifest.get('test_exact_head')} "
                        f"images, id {manifest.get('test_exact_head_id')}; the split is incomplete or mixed up")
    return whole


# ----------------------------------------------------------------------------- IDX

def _read_idx_dir(spec: DatasetSpec, directory: Path) -> Arrays:
    paths = []
    for stem in _IDX_STEMS:
        path = _idx_path(directory, stem)
        if path is None:   # `_find_idx_dir` saw them all; this one has gone since
            raise DataError(f"{directory}: {stem}.gz (or {stem}) not found")
        paths.append(path)
    x_train, y_train, x_test, y_test = (
        _read_idx(path, _IDX_IMAGES_MAGIC if "images" in path.name else _IDX_LABELS_MAGIC)
        for path in paths
    )
    for images, labels, image_path, label_path in (
        (x_train, y_train, paths[0], paths[1]),
        (x_test, y_test, paths[2], paths[3]),
    ):
        if len(images) != len(labels):
            raise DataError(
                f"{image_path} holds {len(images)} images but {label_path} {len(labels)} labels"
            )
    return _arrays(spec, directory, x_train, y_train, x_test, y_test)


def _read_idx(path: Path, magic: int) -> np.ndarray:
    """Parse one IDX file (big-endian magic and dimensions, then raw bytes), strictly, since a
    truncated download would otherwise surface later as a baffling reshape error."""
    import gzip  # here, as tarfile below: a run whose data set's id is cached reads no file

    try:
        with (gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")) as f:
            data = f.read()
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{path}: cannot read ({exc})") from exc
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{path}: corrupt IDX file, {len(data)} bytes is shorter than its header")
    (found,) = struct.unpack(">I", data[:4])
    if found != magic:
        raise DataError(
            f"{path}: corrupt IDX file, magic number {found} where {magic} was expected"
        )
    dims = struct.unpack(f">{ndim}I", data[4:header])
    expected = header + int(np.prod(dims))
    if len(data) != expected:
        raise DataError(
            f"{path}: corrupt IDX file, {len(data)} bytes where its header promises {expected}"
        )
    # Copy: frombuffer over bytes is read-only, and torch.from_numpy warns on read-only arrays.
    return np.frombuffer(data, np.uint8, offset=header).reshape(dims).copy()


# ----------------------------------------------------------------------------- CIFAR pickles

# The canonical batches hold dicts of bytes, ints, lists and one numpy array. Unpickling them
# needs exactly these globals: numpy's array reconstructor (its module moved in numpy 2),
# ndarray, dtype, and _codecs.encode, which Python 3 writes for bytes in protocols <= 2.
_RECONSTRUCT = np.ndarray((0,), np.uint8).__reduce__()[0]
_PICKLE_GLOBALS: dict[tuple[str, str], object] = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): codecs.encode,
}


class _RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that resolves only `_PICKLE_GLOBALS`, so a tampered batch cannot run code."""

    def __init__(self, file: IO[bytes], source: str) -> None:
        super().__init__(file, encoding="bytes")  # the batches were pickled by Python 2
        self._source = source

    def find_class(self, module: str, name: str) -> object:
        try:
            return _PICKLE_GLOBALS[(module, name)]
        except KeyError:
            raise DataError(
                f"{self._source}: refusing to unpickle {module}.{name}; "
                "a CIFAR batch only needs numpy arrays"
            ) from None


def _unpickle(file: IO[bytes], source: str) -> object:
    try:
        return _RestrictedUnpickler(file, source).load()
    except DataError:
        raise
    except Exception as exc:  # a corrupt pickle can fail in many ways; all mean the same here
        raise DataError(f"{source}: not a readable pickled CIFAR batch ({exc})") from exc


def _batch(spec: DatasetSpec, batch: object, source: str) -> tuple[np.ndarray, np.ndarray]:
    """(images HWC, labels) of one batch; rows are 3072 bytes: all R, then G, then B, row-major."""
    label_key = _CIFAR_LAYOUTS[spec.name].label_key
    if not isinstance(batch, dict) or b"data" not in batch or label_key not in batch:
        raise DataError(
            f"{source}: not a CIFAR batch (expected a dict with b'data' and {label_key!r})"
        )
    data, labels = batch[b"data"], np.asarray(batch[label_key])
    row = spec.channels * spec.size * spec.size
    if not (isinstance(data, np.ndarray) and data.dtype == np.uint8 and data.shape[1:] == (row,)):
        raise DataError(f"{source}: b'data' must be a uint8 array of shape (N, {row})")
    images = data.reshape(-1, spec.channels, spec.size, spec.size).transpose(0, 2, 3, 1)
    return images, labels


def _cifar_arrays(
    spec: DatasetSpec, source: Path, batches: dict[str, tuple[np.ndarray, np.ndarray]]
) -> Arrays:
    layout = _CIFAR_LAYOUTS[spec.name]
    train = [batches[member] for member in layout.train_members]
    x_test, y_test = batches[layout.test_member]
    return _arrays(
        spec, source,
        np.ascontiguousarray(np.concatenate([x for x, _ in train])),
        np.concatenate([y for _, y in train]),
        np.ascontiguousarray(x_test),
        y_test,
    )


def _read_cifar_folder(spec: DatasetSpec, folder: Path) -> Arrays:
    batches = {}
    for member in _CIFAR_LAYOUTS[spec.name].members:
        path = folder / member
        try:
            with open(path, "rb") as f:
                batches[member] = _batch(spec, _unpickle(f, str(path)), str(path))
        except OSError as exc:
            raise DataError(f"{path}: cannot read ({exc})") from exc
    return _cifar_arrays(spec, folder, batches)


def _read_cifar_archive(spec: DatasetSpec, path: Path) -> Arrays:
    """Read the batches straight out of the .tar.gz in one pass: no extraction to disk."""
    layout = _CIFAR_LAYOUTS[spec.name]
    import tarfile

    wanted = {f"{layout.folder}/{member}": member for member in layout.members}
    batches = {}
    try:
        with tarfile.open(path, "r:*") as archive:
            for info in archive:
                member = wanted.get(info.name.removeprefix("./"))
                if member is not None and info.isfile():
                    source = f"{path}:{info.name}"
                    stream = archive.extractfile(info)
                    assert stream is not None, "a regular member (isfile) always has a stream"
                    with stream as f:
                        batches[member] = _batch(spec, _unpickle(f, source), source)
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{path}: not a readable archive ({exc})") from exc
    missing = [name for name, member in wanted.items() if member not in batches]
    if missing:
        raise DataError(f"{path}: archive lacks {', '.join(missing)}")
    return _cifar_arrays(spec, path, batches)
