"""Results folders never mix two runs with other options (issue #18, item 4): `resim map` names its
default folder by the workload's config hash and a hash of its options, like `resim faults`."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LENET = REPO / "workloads" / "lenet5_mnist_sparse.yaml"


def _map(cwd: Path, data: Path, *options: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "simulator.cli", "map", str(LENET), "--data-dir", str(data), "-q",
                           *options], capture_output=True, text=True, timeout=600, cwd=cwd, env=env, check=False)


def test_map_options_get_their_own_folders(tmp_path: Path, shared_data: Path) -> None:
    runs = [_map(tmp_path, shared_data, "--sizes", "16"), _map(tmp_path, shared_data, "--sizes", "32"),
            _map(tmp_path, shared_data, "--sizes", "16")]
    assert all(proc.returncode == 0 for proc in runs), [proc.stderr for proc in runs]
    folders = sorted(p.name for p in (tmp_path / "results").iterdir())
    assert len(folders) == 2, folders          # the same options again: the same folder
    assert all(re.fullmatch(r"lenet5_mnist_sparse-[0-9a-f]{10}-map-[0-9a-f]{8}", name) for name in folders)
    sizes = {name: (tmp_path / "results" / name / "map_summary.csv").read_text() for name in folders}
    assert len(set(sizes.values())) == 2
