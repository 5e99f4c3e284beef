"""End to end on real MNIST: train, cache, reuse, report; plus the lowering and tiling it uses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from torch import nn

from simulator.atomic import atomic_replace, write_text
from simulator.config import load_workload
from simulator.lowering.layers import lower_network, weight_matrices
from simulator.mapping.mapper import map_matrix, programmed_masks, segment_counts
from simulator.mapping.tiling import arrays_per_tile
from simulator.network.checkpoint import load_checkpoint
from simulator.pipeline import run

REPO = Path(__file__).resolve().parents[1]


def quick_workload(folder: Path, data_dir: Path, **train) -> Path:
    doc = yaml.safe_load((REPO / "workloads" / "lenet5_mnist.yaml").read_text())
    doc["hardware"] = str(REPO / "hwconfigs" / "prime.yaml")
    doc["data"] = {"dataset": "mnist", "dir": str(data_dir), "train_samples": 4000, "test_samples": 500}
    doc["train"].update({"epochs": 2, "batch_size": 32, **train})
    path = folder / "quick.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_run_trains_caches_reuses_and_writes_results(tmp_path: Path, shared_data: Path, cache: Path) -> None:
    workload = quick_workload(tmp_path, shared_data)
    out = tmp_path / "out"
    out_dir, first = run(workload, out=out, progress=False)
    assert out_dir == out
    assert {p.name for p in out.iterdir()} == {"report.json", "layers.csv", "report.md", "report.html",
                                               "energy_by_layer.png", "utilization_histogram.png"}
    report = json.loads((out / "report.json").read_text())
    hardware = report["hardware"]["summary"]
    # The event model is never below the closed form (both sum the same times in other orders: a
    # last-bit difference is no contention).
    assert hardware["energy_per_inference_pj"] > 0
    assert hardware["latency_ns"] >= hardware["latency_closed_form_ns"] * (1 - 1e-12)
    assert "Energy, latency and area" in (out / "report.md").read_text()
    assert report["network"]["reused_checkpoint"] is False
    assert report["accuracy"]["test_images"] == 500
    assert report["accuracy"]["test_accuracy"] > 0.5  # two epochs on 4000 images
    assert report["seed"] == 0 and report["versions"]["torch"] == torch.__version__
    assert report["config"]["workload"]["mapping"]["crossbar"]["size"] == 128

    layers = pd.read_csv(out / "layers.csv")
    assert list(layers["layer"]) == ["conv1", "conv2", "fc1", "fc2", "fc3"]
    assert list(zip(layers["R"], layers["C"])) == [(25, 6), (150, 16), (400, 120), (120, 84), (84, 10)]
    assert list(layers["vectors"]) == [28 * 28, 10 * 10, 1, 1, 1]
    # seed 001's LeNet5 table at 128x128: 1 + 2 + 4 + 1 + 1 crossbars
    assert list(layers["tiles_dense"]) == [1, 2, 4, 1, 1]
    assert "| **Sum**" in (out / "report.md").read_text()

    _, second = run(workload, out=out, progress=False)
    assert second.network is not None and second.network.reused_checkpoint is True
    assert second.accuracy == first.accuracy

    _, third = run(workload, out=out, progress=False, force=True)
    assert third.network is not None and third.network.reused_checkpoint is False
    assert third.accuracy == first.accuracy  # same seed, same numbers

    # Hardware only, mappings cached: neither the data nor the network is loaded, same figures,
    # and the same record of the data set and the network as the run that loaded them (issue #26).
    _, fourth = run(workload, out=tmp_path / "hw", progress=False, accuracy=False)
    assert fourth.accuracy is None and "network" in fourth.skipped
    assert fourth.data == third.data and fourth.data.train_images == 4000
    assert fourth.network is not None and third.network is not None
    assert fourth.network.training == third.network.training and fourth.network.reused_checkpoint is True
    assert fourth.hardware.summary == third.hardware.summary
    # The stages it did not run are those it skipped, each with its reason.
    assert fourth.stages_run == ["mapping", "hardware"]
    assert set(fourth.skipped) == {"data", "network", "crossbar pruning", "accuracy", "faults"}
    assert "stages run: mapping, hardware" in (tmp_path / "hw" / "report.md").read_text()


def test_training_is_deterministic_and_checkpoint_is_safe_to_load(tmp_path: Path, shared_data: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    workload = quick_workload(tmp_path, shared_data, augment={"crop_padding": 2, "horizontal_flip": True})
    states = []
    for name in ("a", "b"):
        monkeypatch.setenv("RESIM_CACHE", str(tmp_path / name))
        _, report = run(workload, out=tmp_path / f"out-{name}", progress=False)
        assert report.network is not None and report.accuracy is not None
        saved = torch.load(report.network.checkpoint, weights_only=True)
        states.append(saved["state_dict"])
        loaded = load_checkpoint(Path(report.network.checkpoint))
        assert loaded["masks"] == {} and loaded["producer"]["seed"] == 0
        assert loaded["dataset_id"] == report.data.dataset_id
        assert loaded["metrics"]["test_accuracy"] == pytest.approx(report.accuracy.test_accuracy)
    assert states[0].keys() == states[1].keys()
    for key in states[0]:
        assert torch.equal(states[0][key], states[1][key]), key


def test_changed_recipe_does_not_reuse_checkpoint(tmp_path: Path, shared_data: Path, cache: Path) -> None:
    _, a = run(quick_workload(tmp_path, shared_data), out=tmp_path / "a", progress=False)
    _, b = run(quick_workload(tmp_path, shared_data, lr=0.01), out=tmp_path / "b", progress=False)
    assert a.network is not None and b.network is not None
    assert a.network.checkpoint != b.network.checkpoint
    assert b.network.reused_checkpoint is False


def test_cli_run_reports_missing_data_in_one_clear_error(tmp_path: Path, cache: Path) -> None:
    workload = quick_workload(tmp_path, tmp_path / "empty")
    doc = yaml.safe_load(workload.read_text())
    doc["data"].pop("dir")
    workload.write_text(yaml.safe_dump(doc))
    proc = subprocess.run([sys.executable, "-m", "simulator.cli", "run", str(workload), "--data-dir",
                           str(tmp_path / "empty"), "--quiet"], capture_output=True, text=True,
                          env={**__import__("os").environ, "RESIM_OFFLINE": "1"}, timeout=120)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "train-images-idx3-ubyte.gz" in proc.stderr


# Lowering ---------------------------------------------------------------------------------


@pytest.mark.parametrize("conv", [
    nn.Conv2d(4, 6, 3, padding=1),
    nn.Conv2d(4, 6, 3, stride=2, dilation=2, padding=2),
    nn.Conv2d(4, 8, 3, groups=2, padding=1),
    nn.Conv2d(4, 4, 3, groups=4),  # depthwise
])
def test_lowered_matrices_reproduce_the_convolution(conv: nn.Conv2d) -> None:
    torch.manual_seed(0)
    x = torch.randn(1, 4, 9, 9)
    (layer,) = lower_network(nn.Sequential(conv), (4, 9, 9))
    y = conv(x).detach()
    assert layer.vectors == y.shape[2] * y.shape[3]
    assert (layer.rows, layer.cols) == (4 // conv.groups * 9, conv.out_channels // conv.groups)
    cols = nn.functional.unfold(x, 3, dilation=conv.dilation, padding=conv.padding, stride=conv.stride)[0]
    in_per_group = 4 // conv.groups
    out = []
    for g, matrix in enumerate(weight_matrices(conv)):
        assert matrix.shape == (layer.rows, layer.cols)
        inputs = cols[g * in_per_group * 9:(g + 1) * in_per_group * 9]  # unfold order: channel, kh, kw
        out.append(torch.from_numpy(matrix).T @ inputs)
    got = torch.cat(out) + conv.bias.detach().view(-1, 1)
    assert torch.allclose(got, y.view(y.shape[1], -1), atol=1e-5)


def test_linear_lowering() -> None:
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 5))
    with torch.no_grad():
        model[1].weight[0].zero_()
    (layer,) = lower_network(model, (3, 2, 2))
    assert (layer.rows, layer.cols, layer.vectors, layer.kind) == (12, 5, 1, "linear")
    assert layer.nonzeros == 48 and layer.total == 60 and layer.density == pytest.approx(0.8)


# Tiling -----------------------------------------------------------------------------------


def test_tile_counts_by_hand() -> None:
    matrix = np.zeros((20, 10))
    matrix[0, 0] = 1     # tile (0, 0)
    matrix[19, 9] = -2   # tile (2, 1)
    mapped = map_matrix(matrix != 0, 8, "skip-empty")
    assert (mapped.dense, mapped.placed, mapped.bound) == (3 * 2, 2, 1)
    assert map_matrix(np.zeros((5, 5), dtype=bool), 8, "skip-empty").placed == 0
    # seed 001's nonzero column / row segments: 2 of 3*10 column segments, 2 of 20*2 row segments
    assert segment_counts(matrix != 0, 8) == {"nz_cols": 2, "total_cols": 30, "nz_rows": 2, "total_rows": 40}


def test_quantization_decides_what_is_programmed() -> None:
    matrix = np.array([[1.0, 0.001], [0.0, -0.5]])
    (mask,), flushed = programmed_masks([matrix], 4)  # step 1/7: 0.001 rounds to zero
    assert flushed == 1 and mask.tolist() == [[True, False], [False, True]]


def test_arrays_per_tile_follows_design() -> None:
    assert arrays_per_tile("two-column", 8, 2) == 2 * 4   # 7 magnitude bits in 2-bit cells
    assert arrays_per_tile("two-column", 9, 2) == 2 * 4   # 8 magnitude bits: 4 slices, not 5
    assert arrays_per_tile("offset", 8, 4) == 2
    assert arrays_per_tile("differential", 16, 1) == 2 * 15


# Atomic writes ----------------------------------------------------------------------------


def test_interrupted_write_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    write_text(target, "old")
    with pytest.raises(RuntimeError):
        with atomic_replace(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_workload_file_names_hardware_relative_to_itself(tmp_path: Path) -> None:
    workload = load_workload(REPO / "workloads" / "lenet5_mnist.yaml")
    assert workload.hardware_path == (REPO / "hwconfigs" / "prime.yaml").resolve()


def test_vgg19_dense_crossbars_match_seed_001_per_layer() -> None:
    sys.path.insert(0, str(REPO / "examples"))
    try:
        from seed001_dense_crossbars import dense_crossbars
    finally:
        sys.path.remove(str(REPO / "examples"))
    for size in (128, 64, 8):
        table = dense_crossbars(size)
        assert list(table["resim"]) == list(table["seed 001"]), size


def test_run_with_pruning_and_crossbar_pruning(tmp_path: Path, shared_data: Path, cache: Path) -> None:
    workload = quick_workload(tmp_path, shared_data)
    doc = yaml.safe_load(workload.read_text())
    doc["prune"] = {"method": "one-shot-improved", "density": 0.1, "finetune_epochs": 1}
    doc["mapping"] = {"crossbar": {"size": 16}, "reorder": "compact",
                      "crossbar_prune": {"step_fraction": 0.1, "max_steps": 2, "finetune_epochs": 0}}
    workload.write_text(yaml.safe_dump(doc))
    _, report = run(workload, out=tmp_path / "out", progress=False)
    assert report.network is not None and report.network.prune is not None
    prune = report.network.prune
    assert prune["method"] == "one-shot-improved" and abs(prune["density"] - 0.1) < 1e-4
    steps = report.crossbar_pruning
    assert [s.step for s in steps] == [0, 1, 2]
    assert steps[-1].tiles_placed <= steps[0].tiles_placed
    assert "crossbar pruning" in report.stages_run
    layers = pd.read_csv(tmp_path / "out" / "layers.csv")
    assert int(layers["tiles_placed"].sum()) == steps[-1].tiles_placed
    assert int(layers["nonzeros"].sum()) < prune["density"] * int(layers["total"].sum()) + 1
    md = (tmp_path / "out" / "report.md").read_text()
    assert "Crossbar-grained pruning" in md and "Pruning: one-shot-improved" in md


def test_physical_arrays_by_packing() -> None:
    from simulator.mapping.tiles import Tile
    from simulator.mapping.tiling import physical_arrays

    narrow = Tile(np.arange(4), np.arange(3), np.ones((4, 3), dtype=bool))   # 3 weight columns
    wide = Tile(np.arange(4), np.arange(16), np.ones((4, 16), dtype=bool))   # 16 weight columns
    # 8-bit weights, 2-bit cells, two-column: 2 polarities x 4 slices = 8 physical columns per weight column
    assert physical_arrays([narrow, wide], "two-column", 8, 2, 16, "across-arrays") == 2 * 8
    # adjacent: 3 x 8 = 24 columns -> 2 arrays of 16; 16 x 8 = 128 columns -> 8 arrays
    assert physical_arrays([narrow, wide], "two-column", 8, 2, 16, "adjacent-columns") == 2 + 8


def test_per_column_scale_keeps_small_columns() -> None:
    matrix = np.array([[1.0, 0.001], [0.5, 0.002]])
    (per_layer,), flushed_layer = programmed_masks([matrix], 4)
    (per_column,), flushed_column = programmed_masks([matrix], 4, per_column=True)
    assert flushed_layer == 2 and not per_layer[:, 1].any()
    assert flushed_column == 0 and per_column.all()


def test_cli_train_eval_and_export(tmp_path: Path, shared_data: Path, cache: Path) -> None:
    import os

    workload = quick_workload(tmp_path, shared_data)
    env = {**os.environ, "RESIM_CACHE": str(cache)}

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "simulator.cli", *args], capture_output=True, text=True,
                              env=env, timeout=300)

    missing = cli("eval", str(workload))
    assert missing.returncode == 1 and "resim train" in missing.stderr and "Traceback" not in missing.stderr
    trained = cli("train", str(workload), "--quiet", "--export", str(tmp_path / "net.pt"))
    assert trained.returncode == 0, trained.stderr
    assert trained.stdout.startswith("trained: ") and "exported: " in trained.stdout
    evaluated = cli("eval", str(workload))
    assert evaluated.returncode == 0 and evaluated.stdout.startswith("test accuracy: ")
    again = cli("train", str(workload), "--quiet")
    assert again.stdout.startswith("reused: ")


def test_cli_map_writes_tables_and_plot(tmp_path: Path, shared_data: Path, cache: Path) -> None:
    out = tmp_path / "map"
    proc = subprocess.run([sys.executable, "-m", "simulator.cli", "map",
                           str(REPO / "workloads" / "lenet5_mnist_sparse_1.8.yaml"), "--data-dir", str(shared_data),
                           "--sizes", "8,16", "--reorder", "skip-empty,compact", "--density", "0.05,0.01",
                           "--method", "layerwise", "--quiet", "--out", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert {p.name for p in out.iterdir()} == {"map.csv", "map_summary.csv", "map.md", "saved_vs_size.png"}
    summary = pd.read_csv(out / "map_summary.csv")
    assert len(summary) == 2 * 2 * 2
    for _, group in summary.groupby(["density", "size"]):
        placed = dict(zip(group["strategy"], group["tiles_placed"]))
        assert group["lower_bound"].iloc[0] <= placed["compact"] <= placed["skip-empty"]
    assert "Saved crossbars, 8x8, compact (seed 001's format)" in (out / "map.md").read_text()
    bad = subprocess.run([sys.executable, "-m", "simulator.cli", "map", str(REPO / "workloads" / "lenet5_mnist.yaml"),
                          "--reorder", "magic"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and "allowed: none, skip-empty" in bad.stderr


def test_cli_map_matrix_json(tmp_path: Path) -> None:
    matrix = np.zeros((20, 10))
    matrix[0, 0], matrix[19, 9] = 1.0, -2.0
    np.save(tmp_path / "m.npy", matrix)
    proc = subprocess.run([sys.executable, "-m", "simulator.cli", "map-matrix", str(tmp_path / "m.npy"), "--size", "8",
                           "--reorder", "skip-empty", "--json"], capture_output=True, text=True, timeout=120)
    result = json.loads(proc.stdout)
    assert (result["tiles_dense"], result["tiles_placed"], result["lower_bound"]) == (6, 2, 1)


def test_run_includes_the_workload_fault_study(tmp_path: Path, shared_data: Path, cache: Path) -> None:
    workload = quick_workload(tmp_path, shared_data)
    doc = yaml.safe_load(workload.read_text())
    doc["faults"] = {"rates": [0.0, 0.01], "encodings": ["differential"], "runs": 2}
    workload.write_text(yaml.safe_dump(doc))
    _, report = run(workload, out=tmp_path / "out", progress=False)
    assert [(p.encoding, p.rate, p.runs) for p in report.faults or []] == [("differential", 0.0, 2),
                                                                                ("differential", 0.01, 2)]
    draws = pd.read_csv(tmp_path / "out" / "accuracy.csv")
    assert len(draws) == 4
    assert "Accuracy under stuck-at faults" in (tmp_path / "out" / "report.md").read_text()
    assert (tmp_path / "out" / "accuracy_vs_fault_rate.png").is_file()


def test_cli_map_energy_per_crossbar_size(tmp_path: Path, shared_data: Path, cache: Path) -> None:
    out = tmp_path / "map"
    proc = subprocess.run([sys.executable, "-m", "simulator.cli", "map",
                           str(REPO / "workloads" / "lenet5_mnist_sparse_1.8.yaml"), "--data-dir", str(shared_data),
                           "--sizes", "16,64", "--reorder", "none,skip-empty", "--energy", "--quiet",
                           "--out", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert (out / "energy_vs_size.png").is_file()
    summary = pd.read_csv(out / "map_summary.csv").set_index(["strategy", "size"])
    assert (summary["energy_uj"] > 0).all() and (summary["latency_us"] > 0).all()
    # Skipping empty tiles removes their drives, conversions and reads: never more energy than dense.
    for size in (16, 64):
        assert summary.loc[("skip-empty", size), "energy_uj"] <= summary.loc[("none", size), "energy_uj"]
