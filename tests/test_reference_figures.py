"""The shipped workloads keep their figures (issue #13, acceptance): energy, latency, tiles and
accuracy of `lenet5_mnist_sparse` (every stage, its fault study included) and of `vgg16_sparse
--no-accuracy`, compared with the values stored in tests/reference_figures.json.

The stored values were first produced on main at 367f7cc (before issue #13's redesign, which kept
them); issue #14's cycle-level chip model moved every hardware figure by design and they were
produced again, after it, by

    python tests/test_reference_figures.py --write

which runs `resim run` on both workloads into a fresh cache (RESIM_TEST_DATA names the data
directory) and writes the figures this test compares. Regenerate them only when a change is meant
to move a figure, and say why in the commit.
"""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
STORED = Path(__file__).with_name("reference_figures.json")

# Every figure is a deterministic function of the workload and its seed; the slack only absorbs
# float summation order, never a changed count or a different fault draw.
RELATIVE = 1e-9

RUNS = {
    "lenet5_mnist_sparse": {"accuracy": True},
    "vgg16_sparse": {"accuracy": False},
}

_CHIP = ("energy_per_inference_pj", "dynamic_energy_pj", "static_energy_pj", "latency_ns", "interval_ns",
         "latency_closed_form_ns", "inferences_per_second", "arrays_mapped", "arrays_with_replicas", "area_mm2",
         "tops_per_watt_dense_equivalent")   # not simulation_events: how many events the model needs is not a figure
_TOTALS = ("macs", "nonzeros", "total", "tiles_dense", "tiles_placed", "tiles_saved", "lower_bound",
           "arrays_placed", "index_registers", "index_register_bits", "density")
_LAYER = ("tiles_dense", "tiles_placed", "lower_bound", "arrays_placed", "index_registers", "energy_pj",
          "latency_event_ns", "replicas")


def figures(report: dict[str, Any]) -> dict[str, Any]:
    """The figures of a report.json this test holds fixed."""
    hardware = report["hardware"]
    chips = {"workload": hardware["summary"]}
    chips.update({label: hardware[label]["summary"] for label in ("dense", "baseline") if label in hardware})
    out: dict[str, Any] = {
        "totals": {k: report["totals"][k] for k in _TOTALS},
        "chips": {label: {k: summary[k] for k in _CHIP} for label, summary in chips.items()},
        "versus": {label: hardware[label]["versus"] for label in ("dense", "baseline") if label in hardware},
        "layers": {row["layer"]: {k: row[k] for k in _LAYER} for row in report["layers"]},
        "test_accuracy": (report["accuracy"] or {}).get("test_accuracy"),
        "faults": [{k: point[k] for k in ("encoding", "rate", "runs", "mean", "std")}
                   for point in report["faults"] or []],
    }
    return out


def run_workload(name: str, data_dir: Path, out: Path) -> dict[str, Any]:
    """`resim run workloads/<name>.yaml` (with --no-accuracy where RUNS says) into `out`; its report.json."""
    from simulator.pipeline import run

    run(REPO / "workloads" / f"{name}.yaml", data_dir=data_dir, out=out, progress=False,
        accuracy=RUNS[name]["accuracy"])
    return json.loads((out / "report.json").read_text())


def _same(actual: Any, expected: Any, where: str) -> None:
    if isinstance(expected, dict):
        assert isinstance(actual, dict) and set(actual) == set(expected), f"{where}: keys {actual} vs {expected}"
        for key in expected:
            _same(actual[key], expected[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), f"{where}: {actual} vs {expected}"
        for i, (a, e) in enumerate(zip(actual, expected)):
            _same(a, e, f"{where}[{i}]")
    elif isinstance(expected, float) and not isinstance(actual, bool):
        assert isinstance(actual, (int, float)), f"{where}: {actual!r} is not a number"
        assert math.isclose(actual, expected, rel_tol=RELATIVE, abs_tol=1e-12), f"{where}: {actual} vs {expected}"
    else:
        assert actual == expected, f"{where}: {actual!r} vs {expected!r}"


@pytest.mark.parametrize("name", list(RUNS))
def test_shipped_workload_keeps_its_reference_figures(name: str, tmp_path: Path, shared_data: Path,
                                                      cache: Path) -> None:
    if name == "vgg16_sparse" and not (shared_data / "cifar10").is_dir():
        pytest.skip("CIFAR-10 not in the shared data")
    stored = json.loads(STORED.read_text())[name]
    _same(figures(run_workload(name, shared_data, tmp_path / "out")), stored["figures"], name)


def test_reference_figures_compare_something() -> None:
    """The stored file holds real figures (a tiny or empty file would make the test above vacuous)."""
    stored = json.loads(STORED.read_text())
    assert set(stored) == set(RUNS)
    lenet = stored["lenet5_mnist_sparse"]["figures"]
    assert lenet["test_accuracy"] > 0.98 and len(lenet["faults"]) == 6
    for name in RUNS:
        figs = stored[name]["figures"]
        assert figs["totals"]["tiles_placed"] > 0 and figs["chips"]["workload"]["energy_per_inference_pj"] > 0
        assert set(figs["chips"]) == {"workload", "dense", "baseline"}


def _write() -> None:
    from conftest import shared_data_dir

    data = shared_data_dir()
    stored = {}
    with tempfile.TemporaryDirectory() as folder:
        os.environ["RESIM_CACHE"] = str(Path(folder) / "cache")
        for name, how in RUNS.items():
            report = run_workload(name, data, Path(folder) / name)
            command = f"resim run workloads/{name}.yaml --data-dir DATA" + ("" if how["accuracy"] else " --no-accuracy")
            stored[name] = {"command": command, "figures": figures(report)}
    STORED.write_text(json.dumps(stored, indent=1) + "\n")
    print(f"wrote {STORED}")


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python tests/test_reference_figures.py --write")
    sys.path.insert(0, str(Path(__file__).parent))
    _write()
