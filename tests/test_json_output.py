"""Machine-readable output stays clean (issue #16): every `--json` command writes its data alone to
stdout, progress bars and log lines to stderr, so its output pipes into a JSON reader. Run as real
processes (or in this process with stdout and stderr captured apart), with progress bars on."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import yaml
from typer.testing import CliRunner

from simulator.cli import app

REPO = Path(__file__).resolve().parents[1]
LENET = REPO / "workloads" / "lenet5_mnist_sparse.yaml"


def piped(*args: str, cwd: Path) -> object:
    """`resim ARGS` with stdout piped into json.loads (progress bars left on)."""
    proc = subprocess.run([sys.executable, "-m", "simulator.cli", *args], capture_output=True, text=True,
                          timeout=600, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def small_lenet(folder: Path) -> Path:
    """The shipped sparse LeNet-5 on a few images (its checkpoint is loaded, not trained)."""
    doc = yaml.safe_load(LENET.read_text())
    doc["hardware"] = str((LENET.parent / doc["hardware"]).resolve())
    doc["model"]["checkpoint"] = str((LENET.parent / doc["model"]["checkpoint"]).resolve())
    doc["hardware_study"]["baseline"] = str((LENET.parent / doc["hardware_study"]["baseline"]).resolve())
    doc["data"].update({"train_samples": 256, "test_samples": 300})
    path = folder / "w.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_faults_json_pipes_with_its_progress_bar_on(tmp_path: Path, shared_data: Path, cache: Path) -> None:
    summary = piped("faults", str(small_lenet(tmp_path)), "--data-dir", str(shared_data), "--rates", "1e-3,1e-2",
                    "--encodings", "two-column", "--runs", "2", "--json", "--out", str(tmp_path / "f"), cwd=tmp_path)
    assert [row["rate"] for row in summary] == [0.001, 0.01] and all(row["runs"] == 2 for row in summary)


def in_process(*args: str) -> object:
    """`resim ARGS` in this process: stdout and stderr are captured apart, as a pipe would see
    them (rich draws on whichever stream its console was given)."""
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_faults_aware_json_pipes(tmp_path: Path, shared_data: Path, cache: Path) -> None:
    summary = in_process("faults", str(small_lenet(tmp_path)), "--data-dir", str(shared_data), "--aware",
                         "keep_weight", "--rates", "1e-2", "--runs", "1", "--json", "--out", str(tmp_path / "a"))
    assert [row["strategy"] for row in summary] == ["keep_weight"]


def test_map_matrix_json_pipes(tmp_path: Path) -> None:
    matrix = np.zeros((40, 24), dtype=np.float32)
    matrix[::3, ::2] = 1.0
    np.save(tmp_path / "m.npy", matrix)
    result = in_process("map-matrix", str(tmp_path / "m.npy"), "--size", "8", "--reorder", "kmeans", "--json")
    assert isinstance(result, dict) and result["nonzeros"] == int(np.count_nonzero(matrix))
