"""`resim run` with its accuracy pass cached (issue #25 items 3 and 7): a rerun that changed
nothing takes the figure from the cache and says so; anything that decides the figure (the
checkpoint's bytes, the test images) misses it; `--set`, `--json`, `-q` and `-v` after `run`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from simulator.cli import app
from simulator.config import load_workload
from simulator.data.identity import DataIdentity
from simulator.pipeline import _accuracy_key, run

REPO = Path(__file__).resolve().parents[1]
LENET = REPO / "workloads" / "lenet5_mnist_sparse.yaml"


def small_lenet(folder: Path, checkpoint: Path | None = None, name: str = "w.yaml", **data: object) -> Path:
    """The shipped sparse LeNet-5 on a few test images, without its fault study."""
    doc = yaml.safe_load(LENET.read_text())
    doc["hardware"] = str((LENET.parent / doc["hardware"]).resolve())
    doc["model"]["checkpoint"] = str(checkpoint or (LENET.parent / doc["model"]["checkpoint"]).resolve())
    doc["hardware_study"]["baseline"] = str((LENET.parent / doc["hardware_study"]["baseline"]).resolve())
    doc["data"].update({"train_samples": 256, "test_samples": 300, **data})
    doc.pop("faults", None)
    path = folder / name
    path.write_text(yaml.safe_dump(doc))
    return path


def test_second_run_takes_the_accuracy_from_the_cache(tmp_path: Path, shared_data: Path, cache: Path) -> None:
    workload = small_lenet(tmp_path)
    _, first = run(workload, data_dir=shared_data, out=tmp_path / "a", progress=False)
    assert first.accuracy is not None and "accuracy" in first.stages_run and "accuracy" not in first.skipped
    _, second = run(workload, data_dir=shared_data, out=tmp_path / "b", progress=False)
    assert second.accuracy == first.accuracy
    assert "from the cache" in second.skipped["accuracy"] and "accuracy" not in second.stages_run
    # Nothing else needed them: neither the data set nor the network was loaded.
    assert "network" in second.skipped and "data" in second.skipped
    assert "taken from the cache" in (tmp_path / "b" / "report.md").read_text()
    same = json.loads((tmp_path / "a" / "report.json").read_text())
    again = json.loads((tmp_path / "b" / "report.json").read_text())
    assert again["accuracy"] == same["accuracy"] and again["hardware"]["summary"] == same["hardware"]["summary"]

    # Other test images: the pass runs again, and its figure is cached under their key.
    other = small_lenet(tmp_path, name="other.yaml", test_samples=200)
    _, third = run(other, data_dir=shared_data, out=tmp_path / "c", progress=False)
    assert third.accuracy is not None and third.accuracy.test_images == 200 and "accuracy" in third.stages_run

    # --force tests again.
    _, forced = run(workload, data_dir=shared_data, out=tmp_path / "d", progress=False, force=True)
    assert "accuracy" in forced.stages_run and forced.accuracy == first.accuracy


def test_the_key_covers_the_checkpoint_bytes_and_the_test_set(tmp_path: Path) -> None:
    shipped = tmp_path / "net.pt"
    shutil.copy(REPO / "checkpoints" / "lenet5_mnist_sparse_8.pt", shipped)
    workload = load_workload(small_lenet(tmp_path, shipped))
    identity = DataIdentity(None, "mnist-0123")
    path, key = _accuracy_key(workload, identity)
    assert path.name.endswith(f"{key}.json")
    assert _accuracy_key(workload, DataIdentity(None, "mnist-4567"))[1] != key
    shipped.write_bytes(shipped.read_bytes() + b"\0")        # another checkpoint file
    assert _accuracy_key(workload, identity)[1] != key
    exact = load_workload(small_lenet(tmp_path, shipped, name="exact.yaml", test_set="exact-head"))
    assert _accuracy_key(exact, identity)[1] != _accuracy_key(workload, identity)[1]


def test_cli_run_set_json_quiet_and_verbose_after_the_command(tmp_path: Path, shared_data: Path, cache: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESIM_VERBOSE", "0")      # restored after the test: -v sets it in this process
    monkeypatch.chdir(tmp_path)
    workload = small_lenet(tmp_path)
    runner = CliRunner()
    result = runner.invoke(app, ["run", str(workload), "--data-dir", str(shared_data), "--set",
                                 "mapping.crossbar.size=16", "--json", "-q"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["mapping"]["crossbar_size"] == 16 and doc["config"]["workload"]["mapping"]["crossbar"]["size"] == 16
    assert doc["accuracy"]["test_images"] == 300 and doc["hardware"]["summary"]["energy_per_inference_pj"] > 0
    folder = Path(doc["results_folder"])
    assert (folder / "report.json").is_file() and (folder / "w.yaml").is_file()
    assert json.loads((folder / "report.json").read_text())["config_hash"] == doc["config_hash"]
    assert result.stderr == ""                      # -q after the command: no stage or progress lines
    assert yaml.safe_load(workload.read_text())["mapping"]["crossbar"]["size"] == 32   # the file is unchanged

    verbose = runner.invoke(app, ["run", str(workload), "--data-dir", str(shared_data), "-v", "--out",
                                  str(tmp_path / "v")])
    assert verbose.exit_code == 0, verbose.output
    assert "reused from the cache" in verbose.stderr or "mapped now into the cache" in verbose.stderr
    assert "test accuracy:" in verbose.stdout

    two = runner.invoke(app, ["run", str(workload), "--set", "mapping.crossbar.size=16,32"])
    assert two.exit_code == 1 and "one value per key" in two.stderr
