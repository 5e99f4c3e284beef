"""Hostile and broken inputs (issue #16, acceptance): every case feeds one bad input to a `resim`
command and asserts its exit code, a single-line message naming the offending key or file, no
traceback, and that nothing was left behind (no results folder, no half-written file, no empty
data or sweep folder). The cache folder is left out of that comparison: entries of stages that
finished before the failure are valid and reused by the next run.

The cases cover the issue's classes (hostile YAML, non-finite numbers, map-matrix inputs, side
effects, errors that were tracebacks, sweep folders) and more of the same kind.
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from simulator.cli import app

REPO = Path(__file__).resolve().parents[1]
LENET = REPO / "workloads" / "lenet5_mnist_sparse.yaml"
HARDWARE = REPO / "hwconfigs" / "sparse_small.yaml"


# ----------------------------------------------------------------------------- inputs

def lenet_doc() -> dict:
    """The shipped sparse LeNet-5 workload with its paths made absolute (its copy lives in tmp)."""
    doc = yaml.safe_load(LENET.read_text())
    doc["hardware"] = str(HARDWARE)
    doc["model"]["checkpoint"] = str((LENET.parent / doc["model"]["checkpoint"]).resolve())
    doc["hardware_study"]["baseline"] = str((LENET.parent / doc["hardware_study"]["baseline"]).resolve())
    return doc


def write_doc(folder: Path, doc: dict, name: str = "w.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def with_changes(folder: Path, **changes: object) -> Path:
    """The LeNet-5 workload with dotted keys set (a value None deletes the key)."""
    doc = lenet_doc()
    for key, value in changes.items():
        *blocks, last = key.replace("__", ".").split(".")
        node = doc
        for part in blocks:
            node = node.setdefault(part, {})
        if value is None:
            node.pop(last, None)
        else:
            node[last] = value
    return write_doc(folder, doc)


def hardware_text() -> str:
    return HARDWARE.read_text()


def hardware_with(folder: Path, old: str, new: str) -> Path:
    text = hardware_text()
    assert old in text, old
    path = folder / "hw.yaml"
    path.write_text(text.replace(old, new, 1))
    return path


def bomb(indent: str = "") -> str:
    """A billion-laughs block: 9 levels of 9 aliases each (9**9 values when expanded)."""
    lines = [f"{indent}a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, 10):
        prev, name = chr(96 + i), chr(97 + i)
        lines.append(f"{indent}{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]")
    return "\n".join(lines) + "\n"


def workload_text_with_kwargs(block: str) -> str:
    doc = lenet_doc()
    doc["model"].pop("kwargs", None)
    text = yaml.safe_dump(doc, sort_keys=False)
    return text.replace("model:\n", "model:\n  kwargs:\n" + block, 1)


def npy(folder: Path, name: str, array: np.ndarray) -> Path:
    path = folder / name
    np.save(path, array, allow_pickle=array.dtype == object)
    return path


# ----------------------------------------------------------------------------- the cases

@dataclass(frozen=True)
class Case:
    """One hostile input: `setup` writes the inputs into a folder and returns the command line;
    the message must name every string in `names` (the offending key or file). Commands that
    announce their stages on stderr run with --quiet, so stderr holds the message alone."""

    setup: Callable[[Path], list[str]]
    names: tuple[str, ...]
    exit_code: int = 1
    data: bool = False          # needs the shared data set (passed as --data-dir where the command takes one)


def _validate(path: Path) -> list[str]:
    return ["validate", str(path)]


def _alias_bomb_kwargs(d: Path) -> list[str]:
    path = d / "w.yaml"
    path.write_text(workload_text_with_kwargs(bomb("    ")))
    return _validate(path)


def _alias_bomb_run(d: Path) -> list[str]:
    path = d / "w.yaml"
    path.write_text(workload_text_with_kwargs(bomb("    ")))
    return ["run", str(path), "--no-accuracy", "--quiet"]


def _alias_bomb_hardware(d: Path) -> list[str]:
    path = d / "hw.yaml"
    path.write_text(hardware_text() + "extra:\n" + bomb("  "))
    return _validate(path)


def _deep_flow(d: Path) -> list[str]:
    path = d / "w.yaml"
    path.write_text("name: x\nmodel: " + "[" * 5000 + "]" * 5000 + "\n")
    return _validate(path)


def _deep_block(d: Path) -> list[str]:
    path = d / "w.yaml"
    path.write_text("name: x\nmodel:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 400)) + "  " * 400 + "v: 1\n")
    return _validate(path)


def _recursive_alias(d: Path) -> list[str]:
    path = d / "w.yaml"
    path.write_text(workload_text_with_kwargs("    loop: &loop [1, *loop]\n"))
    return _validate(path)


def _duplicate_workload_key(d: Path) -> list[str]:
    path = d / "w.yaml"
    text = yaml.safe_dump(lenet_doc(), sort_keys=False)
    path.write_text(text.replace("train:\n", "train:\n  epochs: 3\n", 1))
    return _validate(path)


def _duplicate_top_key(d: Path) -> list[str]:
    path = d / "w.yaml"
    path.write_text(yaml.safe_dump(lenet_doc(), sort_keys=False) + "seed: 5\n")
    return _validate(path)


def _duplicate_flow_key(d: Path) -> list[str]:
    path = d / "w.yaml"
    doc = lenet_doc()
    doc.pop("data")
    path.write_text(yaml.safe_dump(doc, sort_keys=False) + "data: {dataset: mnist, dataset: cifar10}\n")
    return _validate(path)


def _duplicate_hardware_key(d: Path) -> list[str]:
    path = d / "hw.yaml"
    path.write_text(hardware_text().replace("cycle_ns:", "cycle_ns: 50\ncycle_ns:", 1))
    return _validate(path)


def _duplicate_sweep_key(d: Path) -> list[str]:
    path = d / "sweep.yaml"
    path.write_text(f"workload: {write_doc(d, lenet_doc())}\ngrid:\n  mapping.crossbar.size: [16]\n"
                    "  mapping.crossbar.size: [32]\n")
    return ["sweep", str(path), "--no-accuracy", "--workers", "1", "--out", str(d / "sweep")]


def _huge_file(d: Path) -> list[str]:
    path = d / "w.yaml"
    path.write_text("name: x\ndescription: " + "x" * (1 << 21) + "\n")
    return _validate(path)


def _folder_as_workload(d: Path) -> list[str]:
    (d / "w.yaml").mkdir()
    return _validate(d / "w.yaml")


def _not_utf8(d: Path) -> list[str]:
    path = d / "w.yaml"
    path.write_bytes(b"name: \xff\xfe\n")
    return _validate(path)


def _syntax_error(d: Path) -> list[str]:
    path = d / "w.yaml"
    path.write_text("name: [unclosed\n")
    return _validate(path)


def _not_a_mapping(d: Path) -> list[str]:
    path = d / "w.yaml"
    path.write_text("- just\n- a list\n")
    return _validate(path)


def _adc_table_nan(d: Path) -> list[str]:
    return _validate(hardware_with(d, "energy_pj_by_bits: {4: 0.79,", "energy_pj_by_bits: {4: .nan,"))


def _hardware_value(old: str, new: str) -> Callable[[Path], list[str]]:
    def setup(d: Path) -> list[str]:
        return _validate(hardware_with(d, old, new))
    return setup


def _workload_value(**changes: object) -> Callable[[Path], list[str]]:
    def setup(d: Path) -> list[str]:
        return _validate(with_changes(d, **changes))
    return setup


def _workload_raw(old: str, new: str) -> Callable[[Path], list[str]]:
    def setup(d: Path) -> list[str]:
        text = yaml.safe_dump(lenet_doc(), sort_keys=False)
        assert old in text, old
        path = d / "w.yaml"
        path.write_text(text.replace(old, new, 1))
        return _validate(path)
    return setup


def _overflowing_hardware(d: Path) -> list[str]:
    hw = d / "hw.yaml"
    # Every per-event energy near the largest double: their sums overflow to inf.
    hw.write_text(re.sub(r"(?m)^(  (?:energy_pj|one_bit_energy_pj|energy_pj_per_bit)): .*$", r"\1: 1.0e+308",
                         hardware_text()))
    return ["run", str(with_changes(d, hardware=str(hw), faults=None)), "--no-accuracy", "--quiet"]


def _matrix(name: str, make: Callable[[], np.ndarray]) -> Callable[[Path], list[str]]:
    def setup(d: Path) -> list[str]:
        return ["map-matrix", str(npy(d, name, make())), "--size", "8", "--json"]
    return setup


def _structured() -> np.ndarray:
    return np.zeros((4, 4), dtype=[("a", "f4"), ("b", "i4")])


def _npz_matrix(d: Path) -> list[str]:
    path = d / "m.npz"
    np.savez(path, w=np.ones((4, 4)))
    return ["map-matrix", str(path), "--size", "8"]


def _truncated_npy(d: Path) -> list[str]:
    path = npy(d, "m.npy", np.ones((64, 64)))
    path.write_bytes(path.read_bytes()[:100])
    return ["map-matrix", str(path), "--size", "8"]


def _folder_matrix(d: Path) -> list[str]:
    (d / "m.npy").mkdir()
    return ["map-matrix", str(d / "m.npy"), "--size", "8"]


def _missing_data_dir(d: Path) -> list[str]:
    return ["eval", str(with_changes(d, **{"data.dir": str(d / "nowhere" / "data")}))]


def _import_not_found(d: Path) -> list[str]:
    return _validate(with_changes(d, **{"model.name": None, "model.import": "no_such_pkg.nets:build"}))


def _import_bad_syntax(d: Path) -> list[str]:
    return _validate(with_changes(d, **{"model.name": None, "model.import": "nets.build"}))


def _baseline_is_workload(d: Path) -> list[str]:
    return _validate(with_changes(d, **{"hardware_study.baseline": str(LENET)}))


def _hardware_is_workload(d: Path) -> list[str]:
    return _validate(with_changes(d, hardware=str(LENET)))


def _long_name(d: Path) -> list[str]:
    return _validate(with_changes(d, name="n" * 300))


def _long_out(d: Path) -> list[str]:
    return ["sweep", str(write_doc(d, lenet_doc())), "--set", "mapping.crossbar.size=16", "--no-accuracy",
            "--workers", "1", "--out", str(d / ("o" * 300))]


def _checkpoint_not_a_checkpoint(d: Path) -> list[str]:
    fake = d / "weights.pt"
    fake.write_text("these are not weights\n")
    return ["eval", str(with_changes(d, **{"model.checkpoint": str(fake)}))]


def _checkpoint_of_another_network(d: Path) -> list[str]:
    other = REPO / "checkpoints" / "resnet20_cifar_sparse_25.pt"
    return ["eval", str(with_changes(d, **{"model.checkpoint": str(other)}))]


def _zoo_rejects_kwargs(d: Path) -> list[str]:
    return ["eval", str(with_changes(d, **{"model.kwargs": {"depth": 3}}))]


def _user_builder_rejects_kwargs(d: Path) -> list[str]:
    (d / "mynets.py").write_text("def build(in_channels, num_classes, input_size):\n    raise AssertionError\n")
    return ["eval", str(with_changes(d, **{"model.name": None, "model.import": "mynets:build",
                                            "model.checkpoint": None, "model.kwargs": {"width": 2}}))]


def _chip_too_small(d: Path) -> list[str]:
    hw = hardware_with(d, "  tiles: 128", "  tiles: 1")
    hw.write_text(hw.read_text().replace("  arrays: 4096", "  arrays: 8", 1))
    # sizing fixed: the chip has the tiles its file declares (fit would grow it to the mapping).
    return ["run", str(with_changes(d, hardware=str(hw), faults=None, **{"hardware_study.baseline": None,
                                                                         "hardware_study.sizing": "fixed"})),
            "--no-accuracy", "--quiet"]


def _data_file_is_a_folder(d: Path) -> list[str]:
    (d / "data" / "mnist" / "mnist.npz").mkdir(parents=True)
    return ["eval", str(write_doc(d, lenet_doc())), "--data-dir", str(d / "data")]


def _data_dir_is_a_file(d: Path) -> list[str]:
    (d / "data").write_text("not a folder\n")
    return ["eval", str(write_doc(d, lenet_doc())), "--data-dir", str(d / "data")]


def _sweep_missing_data(d: Path) -> list[str]:
    return ["sweep", str(write_doc(d, lenet_doc())), "--set", "mapping.crossbar.size=16,32", "--no-accuracy",
            "--workers", "1", "--out", str(d / "sweep"), "--data-dir", str(d / "empty")]


def _sweep_bomb(d: Path) -> list[str]:
    path = d / "sweep.yaml"
    path.write_text(f"workload: {write_doc(d, lenet_doc())}\ngrid:\n  mapping.crossbar.size: [16]\n" + bomb())
    return ["sweep", str(path), "--no-accuracy", "--out", str(d / "sweep")]


def _set_recursive_alias(d: Path) -> list[str]:
    return ["sweep", str(write_doc(d, lenet_doc())), "--set", "model.kwargs.x=&a [*a]", "--out", str(d / "sweep")]


def _set_nan(d: Path) -> list[str]:
    return ["sweep", str(write_doc(d, lenet_doc())), "--set", "prune.density=0.1,.nan", "--out", str(d / "sweep")]


def _faults_flag(*flags: str) -> Callable[[Path], list[str]]:
    def setup(d: Path) -> list[str]:
        return ["faults", str(write_doc(d, lenet_doc())), *flags]
    return setup


# ----------------------------------------------------------------------------- issue #26's kinds

def _tampered_checkpoint(folder: Path, change: Callable[[dict], None], name: str = "ck.pt") -> Path:
    """The shipped LeNet-5 compact checkpoint with `change` applied to its payload."""
    import torch

    payload = torch.load(LENET.parent / lenet_doc()["model"]["checkpoint"], weights_only=True)
    change(payload)
    path = folder / name
    torch.save(payload, path)
    return path


def _first_values(payload: dict, value: float) -> None:
    payload["sparse"]["conv1.weight"]["values"][0] = value


def _bias(payload: dict, value: float) -> None:
    payload["dense"]["fc2.bias"][3] = value


def _no_weights(payload: dict) -> None:
    for entry in payload["sparse"].values():
        entry["values"].zero_()


def _no_weights_or_biases(payload: dict) -> None:
    _no_weights(payload)
    for tensor in payload["dense"].values():
        tensor.zero_()


def _with_checkpoint(command: str, change: Callable[[dict], None], *extra: str) -> Callable[[Path], list[str]]:
    def setup(d: Path) -> list[str]:
        checkpoint = _tampered_checkpoint(d, change)
        return [command, str(with_changes(d, **{"model.checkpoint": str(checkpoint)})), *extra]
    return setup


def _special(kind: str) -> Path:
    return Path({"zero": "/dev/zero", "urandom": "/dev/urandom", "null": "/dev/null"}[kind])


def _fifo(d: Path, name: str) -> Path:
    path = d / name
    os.mkfifo(path)
    return path


def _validate_special(kind: str) -> Callable[[Path], list[str]]:
    def setup(d: Path) -> list[str]:
        return _validate(_fifo(d, "w.yaml") if kind == "fifo" else _special(kind))
    return setup


def _workload_naming(key: str, kind: str) -> Callable[[Path], list[str]]:
    def setup(d: Path) -> list[str]:
        target = _fifo(d, "named") if kind == "fifo" else _special(kind)
        return _validate(with_changes(d, **{key: str(target)}))
    return setup


def _map_matrix_special(kind: str) -> Callable[[Path], list[str]]:
    def setup(d: Path) -> list[str]:
        return ["map-matrix", str(_fifo(d, "m.npy") if kind == "fifo" else _special(kind)), "--size", "8"]
    return setup


def _sweep_file_fifo(d: Path) -> list[str]:
    return ["sweep", str(_fifo(d, "sweep.yaml")), "--no-accuracy", "--out", str(d / "sweep")]


def _npy_header(shape: tuple[int, ...], data_bytes: int, descr: str = "<f8") -> Callable[[Path], list[str]]:
    """A .npy file whose header claims `shape` with only `data_bytes` of data after it."""
    def setup(d: Path) -> list[str]:
        from numpy.lib import format as npy

        path = d / "m.npy"
        with path.open("wb") as handle:
            npy.write_array_header_1_0(handle, {"descr": descr, "fortran_order": False, "shape": shape})
            handle.write(b"\0" * data_bytes)
        return ["map-matrix", str(path), "--size", "8"]
    return setup


def _long_number_in_hardware(d: Path) -> list[str]:
    return _validate(hardware_with(d, "  tiles: 128", "  tiles: " + "7" * 5000))


def _long_number_in_kwargs(d: Path) -> list[str]:
    path = d / "w.yaml"
    path.write_text(workload_text_with_kwargs("    width: " + "3" * 4400 + "\n"))
    return _validate(path)


def _long_float(d: Path) -> list[str]:
    return _workload_raw("lr: 0.05", "lr: 0." + "5" * 300)(d)


def _long_set(d: Path) -> list[str]:
    return ["sweep", str(write_doc(d, lenet_doc())), "--set", "seed=1," + "9" * 5000, "--out", str(d / "sweep")]


def _sweep_grid_file(axes: dict[str, int], *flags: str) -> Callable[[Path], list[str]]:
    def setup(d: Path) -> list[str]:
        lines = [f"workload: {write_doc(d, lenet_doc())}", "grid:"]
        for key, count in axes.items():
            start = 8 if key == "mapping.crossbar.size" else 0
            lines.append(f"  {key}: [{', '.join(str(start + i) for i in range(count))}]")
        path = d / "sweep.yaml"
        path.write_text("\n".join(lines) + "\n")
        return ["sweep", str(path), "--no-accuracy", "--workers", "1", "--out", str(d / "sweep"), *flags]
    return setup


def _sweep_sets(*flags: str) -> Callable[[Path], list[str]]:
    def setup(d: Path) -> list[str]:
        return ["sweep", str(write_doc(d, lenet_doc())), "--no-accuracy", "--workers", "1",
                "--out", str(d / "sweep"), *flags]
    return setup


def _export(target: str) -> Callable[[Path], list[str]]:
    def setup(d: Path) -> list[str]:
        (d / "afile").write_text("a file\n")
        where = {"folder": str(d), "device": "/dev/null", "under a file": str(d / "afile" / "x.pt"),
                 "long name": str(d / ("x" * 300 + ".pt"))}[target]
        return ["train", str(write_doc(d, lenet_doc())), "--export", where, "--quiet"]
    return setup


def _run_with(**changes: object) -> Callable[[Path], list[str]]:
    def setup(d: Path) -> list[str]:
        return ["run", str(with_changes(d, **changes)), "--no-accuracy", "--quiet"]
    return setup


NEW_CASES: dict[str, Case] = {
    # 1. non-finite numbers in a checkpoint, from every command that loads one
    "checkpoint: NaN weight (run)": Case(_with_checkpoint("run", lambda p: _first_values(p, float("nan")),
                                                          "--no-accuracy", "--quiet"),
                                         ("w.yaml", "model.checkpoint", "ck.pt", "conv1.weight", "nan"), data=True),
    "checkpoint: NaN bias (run --no-accuracy)": Case(_with_checkpoint("run", lambda p: _bias(p, float("nan")),
                                                                      "--no-accuracy", "--quiet"),
                                                     ("ck.pt", "fc2.bias", "nan", "finite"), data=True),
    "checkpoint: inf bias (eval)": Case(_with_checkpoint("eval", lambda p: _bias(p, float("inf"))),
                                        ("ck.pt", "fc2.bias", "inf"), data=True),
    "checkpoint: -inf weight (eval)": Case(_with_checkpoint("eval", lambda p: _first_values(p, float("-inf"))),
                                           ("ck.pt", "conv1.weight", "-inf"), data=True),
    "checkpoint: NaN weight (map)": Case(_with_checkpoint("map", lambda p: _first_values(p, float("nan")),
                                                          "--sizes", "16", "--quiet"),
                                         ("ck.pt", "conv1.weight"), data=True),
    "checkpoint: NaN weight (faults)": Case(_with_checkpoint("faults", lambda p: _first_values(p, float("nan")),
                                                             "--runs", "1", "--quiet"),
                                            ("ck.pt", "conv1.weight"), data=True),
    # 2. degenerate networks
    "checkpoint: every weight zero (run)": Case(_with_checkpoint("run", _no_weights, "--no-accuracy", "--quiet"),
                                                ("ck.pt", "non-zero"), data=True),
    "checkpoint: only biases left (eval)": Case(_with_checkpoint("eval", _no_weights), ("ck.pt", "non-zero"),
                                                data=True),
    "checkpoint: all zero (map)": Case(_with_checkpoint("map", _no_weights_or_biases, "--sizes", "16", "--quiet"),
                                       ("ck.pt", "non-zero"), data=True),
    # 3. limits checked before work
    "5000-digit seed": Case(_workload_raw("seed: 0", "seed: " + "9" * 5000), ("w.yaml", "seed", "5000 characters")),
    "5000-digit chip.tiles": Case(_long_number_in_hardware, ("hw.yaml", "chip.tiles", "characters")),
    "4400-digit number in model.kwargs": Case(_long_number_in_kwargs, ("w.yaml", "model.kwargs.width", "characters")),
    "300-digit learning rate": Case(_long_float, ("w.yaml", "train.lr", "characters")),
    "5000-digit --set value": Case(_long_set, ("--set", "seed", "characters")),
    ".npy header claims 10^12 values": Case(_npy_header((10**6, 10**6), 800), ("m.npy", "header", "1000000")),
    ".npy header claims more bytes than the file": Case(_npy_header((1000, 1000), 800), ("m.npy", "800 bytes")),
    ".npy header claims int64 beyond the file": Case(_npy_header((64, 64), 16, "<i8"), ("m.npy", "truncated")),
    "sweep grid of 10^6 points": Case(_sweep_grid_file({"seed": 1000, "mapping.crossbar.size": 1000}),
                                      ("sweep.yaml", "1000000 points", "--max-points")),
    "sweep grid of 1200 points (--set)": Case(_sweep_sets("--set", "seed=" + ",".join(map(str, range(40))),
                                                          "--set", "mapping.crossbar.size="
                                                          + ",".join(map(str, range(8, 38)))),
                                              ("1200 points", "--max-points 1200")),
    "sweep grid beyond --max-points": Case(_sweep_sets("--set", "seed=1,2,3", "--max-points", "2"),
                                           ("3 points", "--max-points 3")),
    "train --export a folder": Case(_export("folder"), ("--export", "is a folder")),
    "train --export /dev/null": Case(_export("device"), ("--export", "/dev/null", "character device")),
    "train --export under a file": Case(_export("under a file"), ("--export", "afile", "is a file")),
    "train --export a 300-character name": Case(_export("long name"), ("--export", "255 bytes")),
    # 4. inconsistent settings
    "cells wider than weights": Case(_workload_value(**{"mapping.weight_bits": 2, "mapping.cell_bits": 4}),
                                     ("w.yaml", "mapping.cell_bits", "mapping.weight_bits", "wider")),
    "weights narrower than the array's cells": Case(_workload_value(**{"mapping.weight_bits": 1}),
                                                    ("w.yaml", "mapping.weight_bits", "array.cell_bits")),
    "weights narrower than the baseline's cells": Case(_workload_value(**{"mapping.weight_bits": 3}),
                                                       ("w.yaml", "mapping.weight_bits", "array.cell_bits",
                                                        "hardware_study.baseline")),
    "faults.only_layers names no layer (validate)": Case(_workload_value(**{"faults.only_layers": ["conv9"]}),
                                                         ("w.yaml", "faults.only_layers", "conv9", "allowed")),
    "faults.layers names no layer (validate)": Case(_workload_value(**{"faults.layers": {"fc1": 2.0, "fc7": 1.0}}),
                                                    ("w.yaml", "faults.layers", "fc7")),
    "faults.only_layers names no layer (run --no-accuracy)": Case(_run_with(**{"faults.only_layers": ["nope"]}),
                                                                  ("w.yaml", "faults.only_layers", "nope")),
    "faults.only_layers names no layer (train, before training)": Case(
        lambda d: ["train", str(with_changes(d, **{"faults.only_layers": ["conv1", "conv3"]})), "--quiet"],
        ("w.yaml", "faults.only_layers", "conv3")),
    "faults.layers names no layer (eval)": Case(
        lambda d: ["eval", str(with_changes(d, **{"faults.layers": {"fc4": 0.5}}))],
        ("w.yaml", "faults.layers", "fc4")),
    "quoted cycle_ns in a hardware file": Case(_hardware_value("cycle_ns: 100.0", "cycle_ns: '100.0'"),
                                               ("hw.yaml", "cycle_ns", "without quotes")),
    "quoted number in the ADC table": Case(_hardware_value("energy_pj_by_bits: {4: 0.79,",
                                                           "energy_pj_by_bits: {4: '0.79',"),
                                           ("hw.yaml", "adc.energy_pj_by_bits", "without quotes")),
    "quoted chip.tiles": Case(_hardware_value("  tiles: 128", "  tiles: '128'"), ("hw.yaml", "chip.tiles")),
    "quoted learning rate": Case(_workload_value(**{"train.lr": "0.05"}), ("w.yaml", "train.lr", "without quotes")),
    "quoted prune density": Case(_workload_value(**{"prune.density": "0.08"}), ("w.yaml", "prune.density")),
    "seed 1:30 (YAML 1.1 base 60)": Case(_workload_raw("seed: 0", "seed: 1:30"), ("w.yaml", "seed", "1:30")),
    "seed 010 (YAML 1.1 octal)": Case(_workload_raw("seed: 0", "seed: 010"), ("w.yaml", "seed", "010")),
    "epochs 1_000": Case(_workload_raw("epochs: 8", "epochs: 1_000"), ("w.yaml", "train.epochs", "1_000")),
    "chip.tiles 0x80": Case(_hardware_value("  tiles: 128", "  tiles: 0x80"), ("hw.yaml", "chip.tiles", "0x80")),
    "horizontal_flip: on": Case(_workload_raw("train:\n", "train:\n  augment: {horizontal_flip: on}\n"),
                                ("w.yaml", "train.augment.horizontal_flip", "on")),
    "cycle_ns 1:40 (YAML 1.1 base 60)": Case(_hardware_value("cycle_ns: 100.0", "cycle_ns: 1:40"),
                                             ("hw.yaml", "cycle_ns", "1:40")),
    # 5. special files
    "/dev/zero as the workload": Case(_validate_special("zero"), ("/dev/zero", "character device")),
    "/dev/urandom as the workload": Case(_validate_special("urandom"), ("/dev/urandom", "character device")),
    "a FIFO as the workload": Case(_validate_special("fifo"), ("w.yaml", "named pipe")),
    "/dev/urandom as the workload (run)": Case(lambda d: ["run", "/dev/urandom", "--no-accuracy", "--quiet"],
                                               ("/dev/urandom", "character device")),
    "a FIFO as the hardware file": Case(_workload_naming("hardware", "fifo"), ("w.yaml", "hardware", "named pipe")),
    "/dev/zero as model.checkpoint": Case(_workload_naming("model.checkpoint", "zero"),
                                          ("w.yaml", "model.checkpoint", "character device")),
    "/dev/null as the baseline": Case(_workload_naming("hardware_study.baseline", "null"),
                                      ("hardware_study.baseline", "character device")),
    "/dev/zero as the matrix": Case(_map_matrix_special("zero"), ("/dev/zero", "character device")),
    "a FIFO as the matrix": Case(_map_matrix_special("fifo"), ("m.npy", "named pipe")),
    "a FIFO as the sweep file": Case(_sweep_file_fifo, ("sweep.yaml", "named pipe")),
}


CASES: dict[str, Case] = {
    # 1. hostile YAML
    "alias bomb in model.kwargs (validate)": Case(_alias_bomb_kwargs, ("w.yaml", "model.kwargs", "alias")),
    "alias bomb in model.kwargs (run)": Case(_alias_bomb_run, ("w.yaml", "model.kwargs", "alias")),
    "alias bomb in a hardware file": Case(_alias_bomb_hardware, ("hw.yaml", "extra", "alias")),
    "alias bomb in a sweep file": Case(_sweep_bomb, ("sweep.yaml", "alias")),
    "5000-deep flow nesting": Case(_deep_flow, ("w.yaml", "line 2", "nested deeper")),
    "400-deep block nesting": Case(_deep_block, ("w.yaml", "nested deeper")),
    "recursive alias": Case(_recursive_alias, ("w.yaml", "model.kwargs.loop", "recursive alias")),
    "duplicate key in a workload block": Case(_duplicate_workload_key, ("w.yaml", "train.epochs", "lines")),
    "duplicate top-level key": Case(_duplicate_top_key, ("w.yaml", "seed:", "duplicate key at lines")),
    "duplicate key on one line": Case(_duplicate_flow_key, ("w.yaml", "data.dataset", "columns")),
    "duplicate key in a hardware file": Case(_duplicate_hardware_key, ("hw.yaml", "cycle_ns", "lines")),
    "duplicate key in a sweep file": Case(_duplicate_sweep_key, ("sweep.yaml", "grid.mapping.crossbar.size", "lines")),
    "file of 2 MB": Case(_huge_file, ("w.yaml", "bytes")),
    "folder given as the workload": Case(_folder_as_workload, ("w.yaml", "folder")),
    "not UTF-8": Case(_not_utf8, ("w.yaml", "UTF-8")),
    "YAML syntax error": Case(_syntax_error, ("w.yaml", "line 2")),
    "document is a list": Case(_not_a_mapping, ("w.yaml", "mapping")),
    # 2. non-finite and absurd numbers
    "NaN in the ADC energy table": Case(_adc_table_nan, ("hw.yaml", "adc.energy_pj_by_bits", "finite")),
    "infinite read energy": Case(_hardware_value("read_energy_pj_per_cell: 0.001831", "read_energy_pj_per_cell: .inf"),
                                 ("hw.yaml", "array.read_energy_pj_per_cell", "finite")),
    "infinite cycle_ns": Case(_hardware_value("cycle_ns: 100.0", "cycle_ns: .inf"), ("hw.yaml", "cycle_ns", "finite")),
    "negative cycle_ns": Case(_hardware_value("cycle_ns: 100.0", "cycle_ns: -5"), ("hw.yaml", "cycle_ns")),
    "NaN learning rate": Case(_workload_value(**{"train.lr": float("nan")}), ("w.yaml", "train.lr", "finite")),
    "NaN fault rate": Case(_workload_value(**{"faults.rates": [0.01, float("nan")]}), ("w.yaml", "faults.rates")),
    "infinite prune density": Case(_workload_value(**{"prune.density": float("inf")}), ("w.yaml", "prune.density")),
    "infinite number in model.kwargs": Case(_workload_value(**{"model.kwargs": {"dropout": float("inf")}}),
                                            ("w.yaml", "model.kwargs", "dropout")),
    "seed .inf": Case(_workload_raw("seed: 0", "seed: .inf"), ("w.yaml", "seed")),
    "absurd epochs": Case(_workload_value(**{"prune.finetune_epochs": 10**12}), ("w.yaml", "prune.finetune_epochs")),
    "overflowing hardware energies": Case(_overflowing_hardware, ("hw.yaml", "non-finite"), data=True),
    # map-matrix
    "map-matrix NaN": Case(_matrix("m.npy", lambda: np.array([[1.0, np.nan], [0.0, 2.0]])), ("m.npy", "finite")),
    "map-matrix inf": Case(_matrix("m.npy", lambda: np.array([[1.0, np.inf], [0.0, 2.0]])), ("m.npy", "finite")),
    "map-matrix strings": Case(_matrix("m.npy", lambda: np.array([["a", "0"], ["", "b"]])), ("m.npy", "<U1")),
    "map-matrix structured dtype": Case(_matrix("m.npy", _structured), ("m.npy", "numbers")),
    "map-matrix complex": Case(_matrix("m.npy", lambda: np.ones((3, 3), dtype=complex)), ("m.npy", "complex")),
    "map-matrix pickled objects": Case(_matrix("m.npy", lambda: np.array([[None, 1]], dtype=object)), ("m.npy",)),
    "map-matrix 3-D": Case(_matrix("m.npy", lambda: np.ones((2, 2, 2))), ("m.npy", "2-D")),
    "map-matrix empty": Case(_matrix("m.npy", lambda: np.ones((0, 4))), ("m.npy", "empty")),
    "map-matrix .npz": Case(_npz_matrix, ("m.npz", ".npz archive")),
    "map-matrix truncated": Case(_truncated_npy, ("m.npy",)),
    "map-matrix folder": Case(_folder_matrix, ("m.npy", "folder")),
    # 5. side effects
    "missing data.dir is not created": Case(_missing_data_dir, ("nowhere", "mnist")),
    "model.import not found (never imported)": Case(_import_not_found, ("w.yaml", "model.import", "no_such_pkg")),
    "model.import syntax": Case(_import_bad_syntax, ("w.yaml", "model.import", "package.module:function")),
    "baseline is a workload file": Case(_baseline_is_workload, ("w.yaml", "hardware_study.baseline", "workload file")),
    "hardware is a workload file": Case(_hardware_is_workload, ("w.yaml", "hardware:", "workload file")),
    # 6. one line instead of a traceback
    "name longer than the file system allows": Case(_long_name, ("w.yaml", "name", "200")),
    "--out longer than the file system allows": Case(_long_out, ("ooo", "too long"), data=True),
    "model.checkpoint is not a checkpoint": Case(_checkpoint_not_a_checkpoint, ("w.yaml", "model.checkpoint",
                                                                               "weights.pt"), data=True),
    "model.checkpoint of another network": Case(_checkpoint_of_another_network, ("w.yaml", "model.checkpoint",
                                                                                "another network"), data=True),
    "zoo builder rejects its kwargs": Case(_zoo_rejects_kwargs, ("w.yaml", "model.kwargs", "depth"), data=True),
    "user builder rejects its kwargs": Case(_user_builder_rejects_kwargs, ("w.yaml", "model.kwargs", "width"),
                                            data=True),
    "chip too small for the mapping": Case(_chip_too_small, ("hw.yaml", "chip.tiles", "too small"), data=True),
    "data file path is a folder": Case(_data_file_is_a_folder, ("mnist.npz", "is a folder")),
    "data dir is a file": Case(_data_dir_is_a_file, ("mnist", "is a file, not a data folder")),
    # 4. sweeps
    "sweep on a missing data set": Case(_sweep_missing_data, ("mnist", "empty")),
    "--set with a recursive alias": Case(_set_recursive_alias, ("--set", "recursive alias")),
    "--set with NaN": Case(_set_nan, ("--set", "prune.density", "finite")),
    # fault options
    "--rates nan": Case(_faults_flag("--rates", "nan"), ("--rates",)),
    "--ratio inf:1": Case(_faults_flag("--ratio", "inf:1"), ("--ratio", "finite")),
    "--slice 99": Case(_faults_flag("--slice", "99"), ("--slice", "15")),
    **NEW_CASES,
}


def files_under(root: Path, skip: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if skip not in p.parents and p != skip}


@pytest.fixture
def hostile_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """A folder for the inputs, a working folder, a private cache; no downloads (one case lets
    a download fail instead)."""
    folders = {name: tmp_path / name for name in ("inputs", "cwd", "cache")}
    for folder in folders.values():
        folder.mkdir()
    monkeypatch.chdir(folders["cwd"])
    monkeypatch.setenv("RESIM_CACHE", str(folders["cache"]))
    monkeypatch.setenv("RESIM_OFFLINE", "1")
    monkeypatch.delenv("RESIM_DATA", raising=False)
    return folders


def test_there_are_at_least_40_cases() -> None:
    assert len(CASES) >= 40
    assert len(NEW_CASES) >= 40      # issue #26's kinds


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_input_fails_in_one_line(name: str, hostile_env: dict[str, Path], tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from conftest import shared_data_dir

    case = CASES[name]
    args = case.setup(hostile_env["inputs"])
    if case.data:
        data = shared_data_dir()
        if not (data / "mnist").is_dir():
            pytest.skip(f"shared data not found at {data} (set RESIM_TEST_DATA)")
        if args[0] in ("run", "eval", "sweep", "map", "faults") and "--data-dir" not in args:
            args += ["--data-dir", str(data)]
    if name == "missing data.dir is not created":
        # Downloads allowed, but the network is down: the folder must not appear.
        monkeypatch.delenv("RESIM_OFFLINE")

        def offline(url: str, timeout: float) -> None:
            raise urllib.error.URLError("Name or service not known")

        monkeypatch.setattr(urllib.request, "urlopen", offline)
    before = files_under(tmp_path, hostile_env["cache"])
    result = CliRunner().invoke(app, args)
    message = result.stderr.strip()
    assert result.exit_code == case.exit_code, (result.exit_code, result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output and "Traceback" not in message
    assert len(message.splitlines()) == 1, message
    for part in case.names:
        assert part in message, f"{part!r} not in {message!r}"
    assert len(message) < 2000
    assert files_under(tmp_path, hostile_env["cache"]) == before


# ----------------------------------------------------------------------------- side effects that pass

def test_validate_never_imports_the_users_package(tmp_path: Path) -> None:
    """model.import is checked by its file alone: the package's __init__ does not run."""
    package = tmp_path / "mynets"
    package.mkdir()
    marker = tmp_path / "imported"
    (package / "__init__.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    (package / "nets.py").write_text("def build(in_channels, num_classes, input_size):\n    pass\n")
    doc = lenet_doc()
    doc["model"] = {"import": "mynets.nets:build"}
    path = write_doc(tmp_path, doc)
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert not marker.exists()
    doc["model"] = {"import": "mynets.other:build"}
    result = CliRunner().invoke(app, ["validate", str(write_doc(tmp_path, doc))])
    assert result.exit_code == 1 and "mynets.other" in result.stderr and not marker.exists()
    assert "without importing it" in CliRunner().invoke(app, ["validate", "--help"]).output


def test_merge_keys_and_plain_aliases_still_load(tmp_path: Path) -> None:
    """The limits refuse bombs and duplicates, not YAML's ordinary anchors and merge keys."""
    from simulator.config.loader import read_yaml

    path = tmp_path / "a.yaml"
    path.write_text("base: &b {x: 1, y: [1, 2]}\nother:\n  <<: *b\n  x: 2\nsame: *b\n")
    assert read_yaml(path) == {"base": {"x": 1, "y": [1, 2]}, "other": {"x": 2, "y": [1, 2]},
                               "same": {"x": 1, "y": [1, 2]}}


def test_error_values_are_shown_without_building_their_repr() -> None:
    """A value that expands to 10**9 items (shared references, as an alias bomb builds) prints at
    once: the message never builds its full repr (an alarm turns a hang into a failure)."""
    import signal

    from simulator.config.errors import Problem

    value: list = ["lol"] * 10
    for _ in range(8):
        value = [value] * 10

    def hang(signum: int, frame: object) -> None:
        raise AssertionError("the message built the value's full repr")

    previous = signal.signal(signal.SIGALRM, hang)
    signal.alarm(10)
    try:
        line = str(Problem(Path("w.yaml"), "model.kwargs", "too big", value))
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert len(line) < 200 and "..." in line and "\n" not in line


def test_json_of_the_bad_matrix_case_is_not_printed(tmp_path: Path) -> None:
    """map-matrix --json on a bad file prints nothing on stdout (only the error on stderr)."""
    path = npy(tmp_path, "m.npy", np.array([[np.nan]]))
    result = CliRunner().invoke(app, ["map-matrix", str(path), "--json"])
    assert result.exit_code == 1 and result.stdout == ""
    good = npy(tmp_path, "g.npy", np.eye(16, dtype=np.float32))
    result = CliRunner().invoke(app, ["map-matrix", str(good), "--size", "8", "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["nonzeros"] == 16


def test_the_downloading_case_really_downloads_into_a_new_folder(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The other side of "never create a data folder a download will not fill": one that does is made."""
    from conftest import shared_data_dir

    from simulator.data.datasets import DATASETS, load_dataset

    source = shared_data_dir() / "mnist"
    if not source.is_dir():
        pytest.skip("shared MNIST not found")
    monkeypatch.setattr(urllib.request, "urlopen",
                        lambda url, timeout: open(source / url.rsplit("/", 1)[1], "rb"))  # noqa: SIM115
    target = tmp_path / "new" / "data"
    arrays = load_dataset("mnist", target, test_samples=3)
    assert len(arrays.y_test) == 3
    assert sorted(p.name for p in (target / "mnist").iterdir()) == sorted(f.name for f in DATASETS["mnist"].files)
    assert not [p for p in (target / "mnist").iterdir() if p.name.startswith(".")]
    assert os.listdir(tmp_path / "new") == ["data"]


# ----------------------------------------------------------------------------- issue #26 through the API

def _api_net(kind: str) -> object:
    """A small network made hostile or degenerate in one way."""
    import torch
    from torch import nn

    class Unused(nn.Module):        # its Linear is never called: no layer runs
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.flatten(1)[:, :10]

    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 26 * 26, 10))
    with torch.no_grad():
        if kind == "nan weight":
            net[0].weight[1, 0, 2, 2] = float("nan")
        elif kind == "inf bias":
            net[4].bias[7] = float("inf")
        elif kind == "nan buffer":
            net[1].running_var[2] = float("nan")
        elif kind == "float16":
            net.half()
        elif kind == "float64":
            net.double()
        elif kind in ("all zero", "only biases"):
            for layer in (net[0], net[4]):
                layer.weight.zero_()
                if kind == "all zero":
                    layer.bias.zero_()
        elif kind == "empty layer":
            net = nn.Sequential(nn.Flatten(), nn.Linear(784, 0), nn.Linear(0, 10))
        elif kind == "no layer runs":
            return Unused()
    return net


API_CASES = {
    "nan weight": ("model", "0.weight", "nan", "[1, 0, 2, 2]"),
    "inf bias": ("model", "4.bias", "inf", "[7]"),
    "nan buffer": ("model", "1.running_var", "nan"),
    "float16": ("model", "0.weight", "float16", ".float()"),
    "float64": ("model", "float64"),
    "all zero": ("model", "non-zero"),
    "only biases": ("model", "non-zero"),
    "empty layer": ("model", "layer 1", "(0, 784)"),
    "no layer runs": ("model", "Unused", "none of its 1"),
}


@pytest.mark.parametrize("kind", list(API_CASES))
def test_the_api_refuses_hostile_networks_in_one_line(kind: str) -> None:
    """simulate, map_network and dataflow refuse the network before any figure, in one line
    naming the tensor or the reason (never a ZeroDivisionError or torch's dtype text)."""
    import warnings

    import simulator
    from simulator.api import ArgumentError

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")       # torch warns about initialising a zero-element tensor
        net = _api_net(kind)
    for call in (lambda: simulator.simulate(net, (1, 28, 28), hardware="sparse_small"),
                 lambda: simulator.map_network(net, (1, 28, 28), hardware="sparse_small")):
        with pytest.raises(ArgumentError) as info:
            call()
        message = str(info.value)
        assert "\n" not in message
        for part in API_CASES[kind]:
            assert part in message, (part, message)


@pytest.mark.parametrize("mapping, hardware, names", [
    ({"crossbar_size": 16, "crossbar": {"size": 64}}, "sparse_small", ("crossbar_size", "crossbar", "16", "64")),
    ({"weight_bits": 2, "cell_bits": 4}, "sparse_small", ("mapping.cell_bits", "mapping.weight_bits")),
    ({"weight_bits": 2}, "prime", ("mapping.weight_bits", "array.cell_bits", "prime")),
])
def test_the_api_refuses_inconsistent_mappings(mapping: dict, hardware: str, names: tuple[str, ...]) -> None:
    import simulator
    from simulator.api import ArgumentError

    net = _api_net("plain")
    with pytest.raises(ArgumentError) as info:
        simulator.simulate(net, (1, 28, 28), hardware=hardware, mapping=mapping)
    assert "\n" not in str(info.value) and all(part in str(info.value) for part in names), str(info.value)
    # The same network and a consistent mapping simulate (what is refused is the setting).
    assert simulator.simulate(net, (1, 28, 28), hardware="sparse_small",
                              mapping={"crossbar_size": 16}).tiles_placed > 0


def test_a_degenerate_layer_among_others_still_simulates() -> None:
    """One layer with every weight zero is a result, not an error: only a network with nothing at
    all to map is refused."""
    import torch

    import simulator

    net = _api_net("plain")
    with torch.no_grad():
        net[0].weight.zero_()
    sim = simulator.simulate(net, (1, 28, 28), hardware="sparse_small")
    assert sim.chip.energy_per_inference_pj > 0 and all(v.energy_efficiency > 0 for v in sim.versus.values())


# ----------------------------------------------------------------------------- YAML scalars, caches, signals

@pytest.mark.parametrize("text, value", [
    ("1:30", "1:30"), ("1:5.2", "1:5.2"), ("010", "010"), ("1_000", "1_000"), ("0x1F", "0x1F"), ("0o17", "0o17"),
    ("yes", "yes"), ("off", "off"), ("y", "y"), ("2024-01-01", "2024-01-01"), ("true", True), ("False", False),
    ("7", 7), ("-0", 0), ("1e-3", 0.001), ("5.0e-4", 0.0005), (".5", 0.5), ("1.", 1.0), ("~", None),
])
def test_yaml_scalars_are_read_by_the_core_schema(text: str, value: object) -> None:
    """YAML 1.2's core schema in both loaders: base-60, octal, underscores, hex, yes/no/on/off and
    dates stay text (a number field then refuses them), decimal numbers are numbers."""
    from simulator.config import safe_yaml

    for loaded in (safe_yaml.load(f"a: {text}\n"), yaml.load(f"a: {text}\n", Loader=safe_yaml.LimitedLoader)):  # noqa: S506
        assert loaded == {"a": value} and type(loaded["a"]) is type(value), (text, loaded)


def test_a_diverged_cached_checkpoint_is_refused_naming_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cached checkpoint holding NaN (training that diverged) is a one-line error naming the
    cache file and the tensor, never loaded into a network."""
    import torch
    from torch import nn

    from simulator.config.errors import ConfigError
    from simulator.network.checkpoint import checkpoint_key, save_checkpoint
    from simulator.preparation import _from_cache

    net = nn.Linear(4, 2)
    state = {k: v.clone() for k, v in net.state_dict().items()}
    state["weight"][1, 3] = float("nan")
    made_by = {"model": "test"}
    path = tmp_path / f"x-{checkpoint_key(made_by)}.pt"
    save_checkpoint(path, state_dict=state, masks={}, producer=made_by, dataset_id="d", metrics={})
    before = net.weight.detach().clone()
    with pytest.raises(ConfigError) as info:
        _from_cache(path, net, force=False, made_by=made_by)
    assert str(path) in str(info.value) and "tensor weight holds nan at index [1, 3]" in str(info.value)
    assert torch.equal(net.weight.detach(), before)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_every_non_finite_value_is_found_and_a_sum_that_overflows_is_not_one(value: float) -> None:
    """bad_tensor's quick test is the tensor's sum: a NaN or infinity anywhere (beside values whose
    sum overflows too) is still named at its index, and finite values whose float32 sum overflows
    pass."""
    import torch

    from simulator.network.checks import bad_tensor

    big = torch.full((3, 5), 3.0e38)
    assert not torch.isfinite(big.sum()) and bad_tensor({"w": big, "b": -big}) is None
    for base in (torch.zeros(3, 5), big.clone()):
        base[2, 1] = value
        assert bad_tensor({"ok": torch.ones(2), "w": base}) == (
            f"tensor w holds {value} at index [2, 1]; every weight, bias and buffer must be finite")


def test_report_json_holds_the_same_fields_whatever_the_cache_held(tmp_path: Path, hostile_env: dict[str, Path]
                                                                   ) -> None:
    """A --no-accuracy run that reuses the cached mappings reports the same data set and network
    figures (sizes, dense accuracy, pruning record) as the run that made them."""
    from conftest import shared_data_dir

    data = shared_data_dir()
    if not (data / "mnist").is_dir():
        pytest.skip("shared MNIST not found")
    path = with_changes(hostile_env["inputs"], faults=None)
    reports = []
    for out in ("first", "second"):
        result = CliRunner().invoke(app, ["run", str(path), "--no-accuracy", "--quiet", "--data-dir", str(data),
                                          "--out", str(tmp_path / out)])
        assert result.exit_code == 0, result.output
        reports.append(json.loads((tmp_path / out / "report.json").read_text()))
    first, second = reports
    assert "network" not in second["stages_run"]          # the second run reused the mappings
    assert second["data"] == first["data"] and second["data"]["train_images"] == 60000
    assert second["network"]["training"] == first["network"]["training"]
    assert second["crossbar_pruning"] == first["crossbar_pruning"]
    assert second["network"]["checkpoint"] == first["network"]["checkpoint"]


def test_sigterm_ends_a_run_in_one_line(tmp_path: Path) -> None:
    """SIGTERM to `resim run` exits 143 with one line, as Ctrl-C exits 130 with one."""
    import signal
    import subprocess
    import sys
    import time

    from conftest import shared_data_dir

    env = {**os.environ, "RESIM_CACHE": str(tmp_path / "cache"), "PYTHONPATH": str(REPO)}
    code = "import sys; from simulator.cli import main; sys.argv[0] = 'resim'; main()"
    process = subprocess.Popen([sys.executable, "-c", code, "run", str(write_doc(tmp_path, lenet_doc())),
                                "--data-dir", str(shared_data_dir()), "--out", str(tmp_path / "out")],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    assert process.stderr is not None
    first = process.stderr.readline()   # the run has started: its handlers are in place
    time.sleep(0.5)
    process.send_signal(signal.SIGTERM)
    _, rest = process.communicate(timeout=60)
    lines = (first + rest).strip().splitlines()
    assert process.returncode == 143, lines
    assert lines[-1] == "interrupted (SIGTERM)" and "Traceback" not in rest, lines
    assert not (tmp_path / "out").exists()
