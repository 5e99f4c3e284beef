"""Fault draws keyed by value (issue #16): every draw is seeded by (workload seed, encoding name,
rate value, run index), so the draws of a rate do not depend on which other rates or encodings a
study lists, and `resim run` and `resim faults` agree; intervals are Student's t with their n."""

from __future__ import annotations

from pathlib import Path

import mapped as mapping
import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from torch import nn
from typer.testing import CliRunner

from simulator.cli import app
from simulator.config.faults import FaultSpec
from simulator.faults.montecarlo import draw_key, fault_study
from simulator.faults.summary import CI_COLUMN, FaultPoint, shown, summarise

REPO = Path(__file__).resolve().parents[1]
LENET = REPO / "workloads" / "lenet5_mnist_sparse.yaml"


def tiny() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(2, 4, 3, groups=2), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 4 * 4, 3))


def draws(rates: list[float], encodings: list[str], runs: int = 3) -> pd.DataFrame:
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(64, 2, 6, 6, generator=g), torch.randint(0, 3, (64,), generator=g)
    model = tiny()
    layers = mapping.mapped(model, (2, 6, 6), 4, "compact")
    return fault_study(model, layers, x, y, FaultSpec(rates=rates, encodings=encodings, runs=runs), progress=False)


def at(table: pd.DataFrame, encoding: str, rate: float) -> list[float]:
    return table[(table["encoding"] == encoding) & (table["rate"] == rate)].sort_values("run")["accuracy"].tolist()


def test_draw_key_is_made_of_values() -> None:
    key = draw_key(0, "two-column", 0.01, 2)
    assert key == draw_key(0, "two-column", 1e-2, 2) and key[0] == 0 and key[-1] == 2
    assert draw_key(0, "two-column", 0.0, 0) == draw_key(0, "two-column", -0.0, 0)
    others = [draw_key(1, "two-column", 0.01, 2), draw_key(0, "differential", 0.01, 2),
              draw_key(0, "two-column", 0.03, 2), draw_key(0, "two-column", 0.01, 3)]
    assert all(other != key for other in others)


def test_adding_a_rate_or_an_encoding_leaves_the_other_draws_unchanged() -> None:
    alone = draws([0.3], ["two-column"])
    more = draws([0.1, 0.3, 0.5], ["differential", "two-column"])
    assert at(alone, "two-column", 0.3) == at(more, "two-column", 0.3)
    assert len(set(at(more, "two-column", 0.3))) > 1          # the draws differ from run to run
    reordered = draws([0.5, 0.1], ["two-column", "differential"])
    assert at(reordered, "differential", 0.1) == at(more, "differential", 0.1)


def _faults_csv(tmp_path: Path, name: str, shared_data: Path, *flags: str, workload: Path = LENET) -> pd.DataFrame:
    out = tmp_path / name
    result = CliRunner().invoke(app, ["faults", str(workload), "--data-dir", str(shared_data), "--encodings",
                                      "two-column", "--runs", "2", "--quiet", "--out", str(out), *flags])
    assert result.exit_code == 0, result.output
    return pd.read_csv(out / "faults.csv")


def test_resim_faults_gives_the_same_draws_at_a_rate_whatever_else_is_listed(tmp_path: Path, shared_data: Path,
                                                                           cache: Path) -> None:
    """The issue's case: shipped LeNet-5, two-column, 1e-2, alone and among 1e-3 and 3e-2."""
    alone = _faults_csv(tmp_path, "alone", shared_data, "--rates", "1e-2")
    among = _faults_csv(tmp_path, "among", shared_data, "--rates", "1e-3,1e-2,3e-2")
    assert at(alone, "two-column", 0.01) == at(among, "two-column", 0.01)
    assert len(at(alone, "two-column", 0.01)) == 2


def test_resim_run_and_resim_faults_draw_the_same_faults(tmp_path: Path, shared_data: Path, cache: Path) -> None:
    doc = yaml.safe_load(LENET.read_text())
    doc["hardware"] = str((LENET.parent / doc["hardware"]).resolve())
    doc["model"]["checkpoint"] = str((LENET.parent / doc["model"]["checkpoint"]).resolve())
    doc["hardware_study"] = {"compare_dense": False}
    doc["data"]["test_samples"] = 1000
    doc["faults"] = {"rates": [0.01], "encodings": ["differential", "two-column"], "runs": 2}
    workload = tmp_path / "w.yaml"
    workload.write_text(yaml.safe_dump(doc))
    result = CliRunner().invoke(app, ["run", str(workload), "--data-dir", str(shared_data), "--quiet",
                                      "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    from_run = pd.read_csv(tmp_path / "run" / "accuracy.csv")
    from_faults = _faults_csv(tmp_path, "faults", shared_data, "--rates", "3e-2,1e-2", workload=workload)
    assert at(from_run, "two-column", 0.01) == at(from_faults, "two-column", 0.01)


# ----------------------------------------------------------------------------- intervals

def test_intervals_are_students_t_with_their_n() -> None:
    from scipy import stats

    table = pd.DataFrame({"encoding": ["e"] * 3 + ["f"], "rate": [0.1] * 4, "accuracy": [0.5, 0.6, 0.8, 0.7]})
    summary = summarise(table)
    row = summary.iloc[0]
    assert row["runs"] == 3
    assert row["ci95_high"] - row["mean"] == pytest.approx(stats.t.ppf(0.975, 2) * row["std"] / np.sqrt(3))
    assert row["ci95_high"] - row["mean"] > 2 * 1.96 * row["std"] / np.sqrt(3)   # 4.30, not 1.96
    one = FaultPoint(**summary.iloc[1].to_dict())
    assert one.runs == 1 and one.ci95_low is None and one.ci95_high is None
    text = shown(summary)
    assert "ci95_low" not in text and list(text.columns)[5] == CI_COLUMN
    assert text[CI_COLUMN].iloc[0].endswith("(n = 3)") and text[CI_COLUMN].iloc[1] == "none (n = 1)"
