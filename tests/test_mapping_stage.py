"""The mapping stage's one result (issue #13): `resim run`, `resim map` and crossbar-grained pruning
place the same tiles, per-column quantization scales included; the stages keep their layers."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from simulator.cli import app
from simulator.config import load_workload
from simulator.data.load import input_shape, load_data
from simulator.mapping.network import map_network
from simulator.mapping.setup import MappingSetup
from simulator.pipeline import run
from simulator.preparation import prepare_network

REPO = Path(__file__).resolve().parents[1]


def per_column_workload(folder: Path, data: Path, **mapping: object) -> Path:
    """The shipped 1.8 % LeNet-5 with per-column scales at 3-bit weights on 16 x 16 tiles, where one
    scale per layer would flush other weights to zero and place 42 tiles instead of 45."""
    doc = yaml.safe_load((REPO / "workloads" / "lenet5_mnist_sparse_1.8.yaml").read_text())
    doc["hardware"] = str(REPO / "hwconfigs" / "sparse_small.yaml")
    doc["model"]["checkpoint"] = str(REPO / "checkpoints" / "lenet5_mnist_imp_1.8.pt")
    doc["data"] = {"dataset": "mnist", "dir": str(data), "test_samples": 500}
    doc["mapping"] = {"crossbar": {"size": 16}, "reorder": "compact", "weight_bits": 3, "per_column_scale": True,
                      **mapping}
    doc["hardware_study"] = {"compare_dense": False}
    doc.pop("faults", None)
    path = folder / f"per_column{len(mapping)}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_run_map_and_crossbar_pruning_place_the_same_tiles_with_per_column_scales(
        tmp_path: Path, shared_data: Path, cache: Path) -> None:
    path = per_column_workload(tmp_path, shared_data)
    _, report = run(path, out=tmp_path / "run", progress=False, accuracy=False)
    by_run = {layer.layer: layer.tiles_placed for layer in report.layers}

    done = CliRunner().invoke(app, ["map", str(path), "--sizes", "16", "--reorder", "compact", "--quiet",
                                    "--out", str(tmp_path / "map")])
    assert done.exit_code == 0, done.output
    by_map = pd.read_csv(tmp_path / "map" / "map.csv").set_index("layer")["tiles_placed"].to_dict()
    assert by_map == by_run

    pruned = per_column_workload(tmp_path, shared_data, crossbar_prune={"max_steps": 1, "finetune_epochs": 0})
    _, steps = run(pruned, out=tmp_path / "pruned", progress=False, accuracy=False)
    assert steps.crossbar_pruning[0].tiles_placed == sum(by_run.values()) == report.totals.tiles_placed

    # The check can fail: one scale per layer places other tiles here.
    workload = load_workload(path)
    arrays = load_data(workload, None)
    model = prepare_network(workload, arrays, progress=False).model
    per_layer = dataclasses.replace(MappingSetup.of(workload), per_column=False)
    assert map_network(model, input_shape(arrays), per_layer).tiles_placed != sum(by_run.values())


def test_mapping_setup_resolves_the_cell_bits_default_once(tmp_path: Path) -> None:
    doc = yaml.safe_load((REPO / "workloads" / "vgg16_sparse.yaml").read_text())
    doc["hardware"] = str(REPO / "hwconfigs" / "sparse_small.yaml")
    doc["hardware_study"]["baseline"] = str(REPO / "hwconfigs" / "prime.yaml")
    doc["model"]["checkpoint"] = str((REPO / "workloads" / doc["model"]["checkpoint"]).resolve())
    path = tmp_path / "w.yaml"
    path.write_text(yaml.safe_dump(doc))
    workload = load_workload(path)
    prime = load_workload(REPO / "workloads" / "vgg19_sparse.yaml").hardware
    own = MappingSetup.of(workload)
    assert own.cell_bits == workload.hardware.array.cell_bits and own.size == 32 and own.reorder == "kmeans"
    baseline = MappingSetup.of(workload, prime, size=prime.array.rows, reorder="none")
    assert baseline.cell_bits == prime.array.cell_bits and baseline.size == prime.array.rows
    assert workload.resolved()["cell_bits"] == own.cell_bits
    doc["mapping"]["cell_bits"] = 1
    path.write_text(yaml.safe_dump(doc))
    fixed = load_workload(path)
    assert MappingSetup.of(fixed).cell_bits == MappingSetup.of(fixed, prime).cell_bits == 1


def test_stages_never_import_the_orchestrator_or_the_command_line() -> None:
    """Issue #13's acceptance grep: only the entry points, cli.py, the console script (entry.py),
    the body of `resim explore` (explore/cli.py, which runs designs as `resim run` does) and the
    Python API (api.py), name them."""
    found = subprocess.run(["grep", "-rln", r"from simulator.pipeline\|from simulator import pipeline\|simulator.cli",
                            str(REPO / "simulator"), "--include=*.py"], capture_output=True, text=True)
    assert sorted(Path(p).relative_to(REPO).as_posix() for p in found.stdout.split()) == [
        "simulator/api.py", "simulator/cli.py", "simulator/entry.py", "simulator/explore/cli.py"]


def test_layer_contract_is_kept() -> None:
    """The import-linter contract of pyproject.toml (.ci/run runs it too)."""
    pytest.importorskip("importlinter", reason="the lint extra is not installed (pip install -e '.[lint]')")
    command = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(command)], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 kept, 0 broken" in done.stdout


def test_hardware_only_run_with_cached_mappings_imports_no_torch(tmp_path: Path, shared_data: Path,
                                                                   cache: Path) -> None:
    """With cached mappings `resim run --no-accuracy` needs neither the data nor torch."""
    path = per_column_workload(tmp_path, shared_data)
    code = ("import sys; from simulator.pipeline import run; "
            f"_, report = run({str(path)!r}, out={str(tmp_path / 'out')!r}, progress=False, accuracy=False); "
            "print(report.stages_run, 'torch' in sys.modules)")
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert first.stdout.split("]")[-1].strip() == "True", first.stderr        # mapped now: torch needed
    again = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert again.stdout.strip() == "['mapping', 'hardware'] False", again.stderr
