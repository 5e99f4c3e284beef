"""Monte-Carlo accuracy under faults: weights round-trip, zero rate = fault-free, determinism,
summary statistics, and the `resim faults` command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import mapped as mapping
import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from simulator.config.faults import FaultSpec
from simulator.faults.montecarlo import fault_study, to_weight
from simulator.faults.summary import summarise
from simulator.lowering.layers import weight_matrices

REPO = Path(__file__).resolve().parents[1]


def tiny() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(2, 4, 3, groups=2), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 4 * 4, 3))


def data() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return torch.randn(64, 2, 6, 6, generator=g), torch.randint(0, 3, (64,), generator=g)


def test_to_weight_inverts_weight_matrices() -> None:
    model = tiny()
    for module in (model[0], model[3]):
        assert torch.equal(to_weight(weight_matrices(module), module.weight), module.weight.detach())


def study(model: nn.Module, rates: list[float], runs: int = 3, seed: int = 0) -> pd.DataFrame:
    x, y = data()
    layers = mapping.mapped(model, (2, 6, 6), 4, "compact", seed=seed)
    return fault_study(model, layers, x, y, FaultSpec(rates=rates, encodings=["two-column", "differential"], runs=runs),
                       progress=False)


def test_zero_rate_gives_the_quantized_network_and_leaves_the_model_alone() -> None:
    model = tiny()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    draws = study(model, [0.0])
    assert draws["accuracy"].nunique() == 1  # no fault: every draw and encoding the same network
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key])


def test_draws_are_deterministic_and_faults_hurt() -> None:
    a, b = study(tiny(), [0.0, 0.3]), study(tiny(), [0.0, 0.3])
    pd.testing.assert_frame_equal(a, b)
    assert len(a) == 2 * 2 * 3 and set(a["run"]) == {0, 1, 2}
    faulty = a[a["rate"] == 0.3]
    assert faulty["p_sa1"].iloc[0] == pytest.approx(0.3 * 5.2 / 6.2)
    assert study(tiny(), [0.3], seed=1)["accuracy"].tolist() != faulty["accuracy"].tolist()


def test_faults_lower_the_accuracy_of_a_network_that_fits_its_data() -> None:
    # Labels from the network itself: fault-free it is (nearly) always right, so a drop is the faults'.
    model = tiny()
    x, _ = data()
    with torch.no_grad():
        y = model(x).argmax(1)
    layers = mapping.mapped(model, (2, 6, 6), 4, "compact")
    draws = fault_study(model, layers, x, y, FaultSpec(rates=[0.0, 0.01, 0.3], encodings=["two-column", "differential"],
                                                       runs=3), progress=False)
    mean = draws.groupby(["encoding", "rate"])["accuracy"].mean()
    for encoding in ("two-column", "differential"):
        assert mean[(encoding, 0.0)] >= 0.95, encoding      # only 8-bit quantization in the way
        assert mean[(encoding, 0.3)] < mean[(encoding, 0.0)] - 0.2, encoding
        assert mean[(encoding, 0.3)] <= mean[(encoding, 0.01)], encoding


def test_summary_statistics() -> None:
    draws = pd.DataFrame({"encoding": ["e"] * 4, "rate": [0.1] * 4, "accuracy": [0.5, 0.6, 0.7, 0.8]})
    row = summarise(draws).iloc[0]
    assert row["runs"] == 4 and row["mean"] == pytest.approx(0.65)
    assert row["std"] == pytest.approx(np.std([0.5, 0.6, 0.7, 0.8], ddof=1))
    # Student's t with 3 degrees of freedom (issue #16), not the normal 1.96.
    assert row["ci95_high"] - row["mean"] == pytest.approx(3.182446305284263 * row["std"] / 2)


def test_cli_faults_json(tmp_path: Path, shared_data: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "simulator.cli", "faults",
                           str(REPO / "workloads" / "lenet5_mnist_sparse_1.8.yaml"), "--data-dir", str(shared_data),
                           "--rates", "0,0.01", "--encodings", "two-column,differential", "--runs", "2", "--json",
                           "--quiet", "--out", str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    summary = pd.DataFrame(json.loads(proc.stdout))
    clean = summary[summary["rate"] == 0]["mean"]
    assert clean.nunique() == 1 and clean.iloc[0] > 0.97
    by = summary[summary["rate"] == 0.01].set_index("encoding")["mean"]
    assert by["differential"] > by["two-column"]  # stuck-on dominates: zeros shielded only in differential
    assert {p.name for p in tmp_path.iterdir()} == {"faults.csv", "faults_summary.csv", "accuracy_vs_fault_rate.png",
                                                    "tolerable_rates.json", "report.html"}
    tolerable = json.loads((tmp_path / "tolerable_rates.json").read_text())["tolerable_rate"]
    assert tolerable["two-column"] == "< 0.01"   # 98.6 % fault-free, far below at 1 %: not "0.01"
    bad = subprocess.run([sys.executable, "-m", "simulator.cli", "faults",
                          str(REPO / "workloads" / "lenet5_mnist.yaml"), "--encodings", "ternary"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and "allowed: two-column" in bad.stderr


def test_tolerable_rate_interpolates_in_log_rate() -> None:
    from simulator.faults.summary import tolerable_rate

    rates = np.array([1e-4, 1e-3, 1e-2])
    assert tolerable_rate(rates, np.array([0.99, 0.98, 0.90]), clean=0.99) == pytest.approx(1e-3)
    # halfway (in accuracy) between 1e-3 and 1e-2 -> geometric mean
    assert tolerable_rate(rates, np.array([0.99, 0.985, 0.975]), clean=0.99) == pytest.approx(np.sqrt(1e-5))
    assert tolerable_rate(rates, np.array([0.99, 0.99, 0.99]), clean=0.99) == float("inf")
    assert tolerable_rate(rates, np.array([0.5, 0.4, 0.3]), clean=0.99) == 0.0
    # A fault-free point (rate 0) then a rate that loses too much: below that rate, not at it.
    assert tolerable_rate(np.array([0.0, 1e-2]), np.array([0.99, 0.5]), clean=0.99) == 0.0
