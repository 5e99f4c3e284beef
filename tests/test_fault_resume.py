"""`resim faults` resumes (issue #25 item 5): finished draws are kept, keyed by their values, and an
interrupted study continues where it stopped, giving the table an uninterrupted one gives.

The interruption is injected, not timed: the store's `put` raises KeyboardInterrupt (what Ctrl-C
raises) once it has kept k draws."""

from __future__ import annotations

from pathlib import Path

import mapped as mapping
import pandas as pd
import pytest
import torch
from torch import nn
from typer.testing import CliRunner

from simulator.cli import app
from simulator.config.faults import FaultSpec
from simulator.faults import montecarlo
from simulator.faults.draw_store import DrawStore
from simulator.faults.study import study_faults
from simulator.network.train import TensorData

REPO = Path(__file__).resolve().parents[1]
LENET = REPO / "workloads" / "lenet5_mnist_sparse.yaml"


def tiny() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(2, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 4 * 4, 3))


def data() -> TensorData:
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(64, 2, 6, 6, generator=g), torch.randint(0, 3, (64,), generator=g)
    return TensorData(x, y, x, y)


SPEC = FaultSpec(rates=[0.1, 0.3], encodings=["two-column", "differential"], runs=3)
DRAWS = 2 * 2 * 3


def study(spec: FaultSpec = SPEC, model: nn.Module | None = None) -> pd.DataFrame:
    model = model if model is not None else tiny()
    return study_faults(model, mapping.mapped(model, (2, 6, 6), 4, "compact"), data(), spec, None,
                        progress=False).draws


class Stop(KeyboardInterrupt):
    """The injected interruption."""


def interrupt_after(monkeypatch: pytest.MonkeyPatch, kept: int) -> None:
    """Make DrawStore.put raise once `kept` draws are stored (the draw being stored is kept)."""
    put = DrawStore.put
    calls = [0]

    def stopping(self: DrawStore, index: montecarlo.DrawIndex, row: dict) -> None:
        put(self, index, row)
        calls[0] += 1
        if calls[0] == kept:
            raise Stop

    monkeypatch.setattr(DrawStore, "put", stopping)


def count_evaluations(monkeypatch: pytest.MonkeyPatch, module: object = montecarlo,
                      name: str = "accuracy") -> list[int]:
    """How many times `module.name` runs (montecarlo.accuracy: once per computed draw)."""
    calls = [0]
    accuracy = getattr(module, name)

    def counted(*args: object, **kwargs: object) -> float:
        calls[0] += 1
        return accuracy(*args, **kwargs)  # type: ignore[no-any-return]

    monkeypatch.setattr(module, name, counted)
    return calls


def test_an_interrupted_study_resumed_gives_the_uninterrupted_table(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESIM_CACHE", str(tmp_path / "clean"))
    clean = study()
    monkeypatch.setenv("RESIM_CACHE", str(tmp_path / "resumed"))
    with monkeypatch.context() as patch:
        interrupt_after(patch, 5)
        with pytest.raises(Stop):
            study()
    evaluated = count_evaluations(monkeypatch)
    resumed = study()
    assert evaluated[0] == DRAWS - 5          # the 5 finished draws were not computed again
    pd.testing.assert_frame_equal(resumed, clean)
    evaluated[0] = 0
    pd.testing.assert_frame_equal(study(), clean)   # all kept now: nothing is computed
    assert evaluated[0] == 0


def test_draws_are_found_by_their_values_not_their_positions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("RESIM_CACHE", str(tmp_path / "cache"))
    study(FaultSpec(rates=[0.3], encodings=["differential"], runs=2))
    evaluated = count_evaluations(monkeypatch)
    # Another order, another rate and one more run: only the draws not seen before are computed.
    more = study(FaultSpec(rates=[0.3, 0.1], encodings=["two-column", "differential"], runs=3))
    assert evaluated[0] == 2 * 2 * 3 - 2
    assert "2 finished draw(s) kept" in capsys.readouterr().err
    monkeypatch.setenv("RESIM_CACHE", str(tmp_path / "fresh"))
    pd.testing.assert_frame_equal(more, study(FaultSpec(rates=[0.3, 0.1], encodings=["two-column", "differential"],
                                                        runs=3)))


def test_what_decides_a_draw_is_in_its_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Other weights or other fault options are another study: nothing is taken from the first."""
    monkeypatch.setenv("RESIM_CACHE", str(tmp_path / "cache"))
    spec = FaultSpec(rates=[0.3], encodings=["two-column"], runs=2)
    study(spec)
    evaluated = count_evaluations(monkeypatch)
    other = tiny()
    with torch.no_grad():
        other[0].weight[0, 0, 0, 0] += 0.5
    study(spec, other)
    assert evaluated[0] == 2
    study(spec.model_copy(update={"ratio": (1.0, 1.0)}))
    assert evaluated[0] == 4


def test_a_damaged_entry_is_named_and_computed_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("RESIM_CACHE", str(tmp_path / "cache"))
    spec = FaultSpec(rates=[0.3], encodings=["two-column"], runs=2)
    clean = study(spec)
    entries = sorted((tmp_path / "cache" / "fault_draws").rglob("*.json"))
    assert len(entries) == 2
    entries[0].write_text(entries[0].read_text()[:20])      # a half-written file, as a crash might leave
    evaluated = count_evaluations(monkeypatch)
    pd.testing.assert_frame_equal(study(spec), clean)
    assert evaluated[0] == 1
    assert f"{entries[0]}: cached fault draw is unreadable" in capsys.readouterr().err


def _faults(tmp_path: Path, name: str, shared_data: Path) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    out = tmp_path / name
    result = CliRunner().invoke(app, ["faults", str(LENET), "--data-dir", str(shared_data), "--encodings",
                                      "two-column", "--rates", "1e-2,3e-2", "--runs", "2", "--quiet", "--out",
                                      str(out)])
    assert result.exit_code == 0, result.output
    return pd.read_csv(out / "faults.csv"), pd.read_csv(out / "faults_summary.csv"), result.output


def test_resim_faults_killed_then_resumed_gives_the_same_table(tmp_path: Path, shared_data: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The issue's acceptance: `resim faults` stopped after 2 of its 4 draws, run again, writes the
    table an uninterrupted `resim faults` writes, computing only the 2 draws left."""
    monkeypatch.setenv("RESIM_CACHE", str(tmp_path / "clean"))
    draws, summary, _ = _faults(tmp_path, "clean", shared_data)
    monkeypatch.setenv("RESIM_CACHE", str(tmp_path / "resumed"))
    with monkeypatch.context() as patch:
        interrupt_after(patch, 2)
        result = CliRunner().invoke(app, ["faults", str(LENET), "--data-dir", str(shared_data), "--encodings",
                                          "two-column", "--rates", "1e-2,3e-2", "--runs", "2", "--quiet", "--out",
                                          str(tmp_path / "resumed")])
        assert result.exit_code == 130 and not (tmp_path / "resumed" / "faults.csv").exists()
        assert "the finished fault draws are kept; rerun the same command to continue" in result.output
    evaluated = count_evaluations(monkeypatch)
    resumed_draws, resumed_summary, output = _faults(tmp_path, "resumed", shared_data)
    assert "2 finished draw(s) kept" in output
    assert evaluated[0] == 4 - 2 + 1           # + 1: the fault-free accuracy (clean_accuracy) is not kept
    pd.testing.assert_frame_equal(resumed_draws, draws)
    pd.testing.assert_frame_equal(resumed_summary, summary)


def test_a_bit_true_study_resumes_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The bit-true study keeps its draws (all three accuracies) under a key that adds the chip's
    periphery and the calibration images."""
    from simulator.api import hardware_config

    prime = hardware_config("prime")
    spec = FaultSpec(rates=[0.0, 0.2], encodings=["differential"], runs=2, bit_true=True)

    def bit_true() -> pd.DataFrame:
        model = tiny()
        return study_faults(model, mapping.mapped(model, (2, 6, 6), 4, "compact"), data(), spec, prime,
                            progress=False).draws

    monkeypatch.setenv("RESIM_CACHE", str(tmp_path / "clean"))
    clean = bit_true()
    assert "accuracy_bit_true" in clean
    monkeypatch.setenv("RESIM_CACHE", str(tmp_path / "resumed"))
    with monkeypatch.context() as patch:
        interrupt_after(patch, 3)
        with pytest.raises(Stop):
            bit_true()
    assert len(list((tmp_path / "resumed" / "fault_draws").rglob("*.json"))) == 3
    from simulator.faults import bit_true as emulation

    calls = count_evaluations(monkeypatch, emulation, "_accuracy")
    pd.testing.assert_frame_equal(bit_true(), clean)
    assert calls[0] == 3          # one draw left, three accuracies of it


def test_a_network_with_batch_norm_has_a_key() -> None:
    """Batch norm's step counter is a 0-d integer tensor: the network's digest reads it too (a
    resumed ResNet's fault study failed on it), and a changed counter is another network."""
    from simulator.faults.draw_store import network_digest

    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))
    before = network_digest(model)
    model[1].num_batches_tracked += 1
    assert network_digest(model) != before
