"""Measured DAC activity (issue #14, item 2; hardware_study.dac_activity: measured): the share of
input digits that are not 0, against a brute-force count over unfolded inputs, and its effect on
the chip: DAC drives scale with it, nothing else does."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import yaml
from test_hardware_model import FIT, PRIME, chain, run, two_layers
from torch import nn

from simulator.hardware.model import ChipSetup, evaluate
from simulator.lowering.activity import Coding, input_activity, nonzero_digits

REPO = Path(__file__).resolve().parents[1]


def test_nonzero_digits_counts_each_phase_digit() -> None:
    codes = torch.tensor([0, 1, 8, 9, 63, 7])
    # 6-bit codes in 3-bit digits: 1 = (1, 0), 8 = (0, 1), 9 = (1, 1), 63 = (7, 7), 7 = (7, 0)
    assert nonzero_digits(codes, Coding(6, 3)).tolist() == [0, 1, 1, 2, 2, 1]
    assert nonzero_digits(codes, Coding(6, 1)).tolist() == [0, 1, 1, 2, 6, 3]


class Tiny(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(2, 3, 3, padding=1)
        self.conv2 = nn.Conv2d(3, 4, 3, stride=2, padding=1, dilation=1)
        self.fc = nn.Linear(4 * 4 * 4, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        return self.fc(x.flatten(1))


def _brute_force(model: Tiny, images: torch.Tensor, coding: Coding) -> dict[str, float]:
    """Unfold every layer's inputs into its lowered vectors and count digits one by one."""
    inputs: dict[str, list[torch.Tensor]] = {"conv1": [], "conv2": [], "fc": []}
    handles = [getattr(model, name).register_forward_pre_hook(lambda m, i, n=name: inputs[n].append(i[0]))
               for name in inputs]
    with torch.no_grad():
        model(images)
    for handle in handles:
        handle.remove()
    out = {}
    top = 2**coding.input_bits - 1
    for name, (x,) in inputs.items():
        scale = float(x.abs().max()) / top
        codes = (x.abs() / scale).round().clamp(0, top)
        module = getattr(model, name)
        if isinstance(module, nn.Conv2d):
            vectors = F.unfold(codes, module.kernel_size, dilation=module.dilation, padding=module.padding,
                               stride=module.stride)              # (B, rows, windows)
        else:
            vectors = codes.flatten(1)
        digits = nonzero_digits(vectors, coding).double()
        out[name] = float(digits.sum() / (digits.numel() * coding.phases))
    return out


def test_activity_equals_the_count_over_unfolded_inputs() -> None:
    torch.manual_seed(0)
    model = Tiny().eval()
    images = torch.randn(6, 2, 8, 8)
    measured = input_activity(model, ["conv1", "conv2", "fc"], images, [(6, 3), (6, 1)], batch_size=4)
    for pair in ((6, 3), (6, 1)):
        expected = _brute_force(model, images, Coding(*pair))
        assert measured[pair] == pytest.approx(expected, rel=1e-9)
        assert all(0 < share < 1 for share in measured[pair].values())
    # ReLU zeros: the layers after a ReLU drive fewer digits than the signed first layer
    assert measured[(6, 3)]["conv2"] < measured[(6, 3)]["conv1"]


class Twice(nn.Module):
    """One Linear called twice per forward, the second time on zeros."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x) + self.fc(torch.zeros_like(x))


def test_a_layer_called_twice_counts_its_first_call_as_lowering_does() -> None:
    torch.manual_seed(2)
    x = torch.randn(8, 4)
    twice = input_activity(Twice(), ["fc"], x, [(6, 3)])[(6, 3)]["fc"]
    once = input_activity(nn.Sequential(nn.Linear(4, 4)), ["0"], x, [(6, 3)])[(6, 3)]["0"]
    assert twice == pytest.approx(once) and twice > 0.5


def test_calibration_images_set_the_scale() -> None:
    model = nn.Sequential(nn.Linear(4, 2))
    x = torch.full((2, 4), 1.0)
    # Scale from x itself: every code is the top code 63 = digits (7, 7); from inputs 8 times
    # larger: code round(63 / 8) = 8 = digits (0, 1), half the digits zero.
    assert input_activity(model, ["0"], x, [(6, 3)])[(6, 3)]["0"] == 1.0
    assert input_activity(model, ["0"], x, [(6, 3)], calibration=8 * x)[(6, 3)]["0"] == 0.5


def test_an_all_zero_input_drives_nothing() -> None:
    model = nn.Sequential(nn.Linear(4, 3))
    assert input_activity(model, ["0"], torch.zeros(2, 4), [(6, 3)]) == {(6, 3): {"0": 0.0}}


def test_activity_scales_the_drives_and_the_cells_they_read_and_nothing_else() -> None:
    layers = two_layers()
    full = run(layers)
    setup = ChipSetup(encoding="two-column", weight_bits=8, cell_bits=PRIME.array.cell_bits, size=8, sizing=FIT,
                      dac_activity={"a": 0.5, "b": 0.25})
    half = evaluate(layers, chain(layers), PRIME, setup)
    f, h = (r.components_table().set_index("component") for r in (full, half))
    # Layer a: 64 drives at half, layer b: 40 at a quarter (test_two_layer_network_matches_the_hand_count)
    assert h.loc["dac", "events"] == 64 * 0.5 + 40 * 0.25
    assert h.loc["dac", "dynamic_pj"] == pytest.approx(f.loc["dac", "dynamic_pj"] * 42 / 104)
    # A row whose digit is 0 gets no read voltage: its cells draw nothing. Cells: 192 at half, 56 at a quarter.
    assert h.loc["array", "events"] == 192 * 0.5 + 56 * 0.25
    assert h.loc["array", "dynamic_pj"] == pytest.approx(f.loc["array", "dynamic_pj"] * 110 / 248)
    others = [c for c in f.index if c not in ("dac", "array")]
    assert np.allclose(h.loc[others, "energy_pj"], f.loc[others, "energy_pj"])
    assert half.summary.latency_ns == full.summary.latency_ns          # a drive that does not fire takes no less time
    assert full.summary.dac_activity is None and half.summary.dac_activity == pytest.approx(42 / 104)
    with pytest.raises(ValueError, match="no measured DAC activity for layer"):
        evaluate(layers, chain(layers), PRIME, ChipSetup(encoding="two-column", weight_bits=8, cell_bits=4, size=8,
                                                          dac_activity={"a": 1.0}))


def test_measured_activity_in_a_run(tmp_path: Path, shared_data: Path) -> None:
    config = yaml.safe_load((REPO / "workloads" / "lenet5_mnist_sparse.yaml").read_text())
    config["hardware_study"] = {**config.get("hardware_study", {}), "dac_activity": "measured", "activity_images": 16}
    def absolute(path: str) -> str:   # paths in a workload resolve relative to its file
        return str((REPO / "workloads" / path).resolve())

    config["hardware"] = absolute(config["hardware"])
    if "baseline" in config["hardware_study"]:
        config["hardware_study"]["baseline"] = absolute(config["hardware_study"]["baseline"])
    config["model"]["checkpoint"] = absolute(config["model"]["checkpoint"])
    workload = tmp_path / "lenet_measured.yaml"
    workload.write_text(yaml.safe_dump(config))
    proc = subprocess.run([sys.executable, "-m", "simulator.cli", "run", str(workload), "--data-dir", str(shared_data),
                           "--no-accuracy", "-q", "--out", str(tmp_path / "out")], capture_output=True, text=True,
                          timeout=600, cwd=REPO, check=False)
    assert proc.returncode == 0, proc.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    share = report["hardware"]["summary"]["dac_activity"]
    assert 0 < share < 1
    assert "of this chip's row drives fire" in (tmp_path / "out" / "report.md").read_text()


def test_api_measures_activity_on_the_data_it_is_given() -> None:
    import simulator
    from simulator.api import ArgumentError

    torch.manual_seed(1)
    model = Tiny().eval()
    x, y = torch.randn(8, 2, 8, 8), torch.randint(0, 5, (8,))
    with pytest.raises(ArgumentError, match="dac_activity"):
        simulator.simulate(model, (2, 8, 8), study={"dac_activity": "measured"})
    full = simulator.simulate(model, (2, 8, 8), data=(x, y))
    measured = simulator.simulate(model, (2, 8, 8), data=(x, y), study={"dac_activity": "measured"})
    assert full.hardware is not None and measured.hardware is not None
    share = measured.hardware.workload.summary.dac_activity
    assert share is not None and 0 < share < 1
    dac = {run: r.hardware.workload.components_table().set_index("component").loc["dac", "dynamic_pj"]
           for run, r in (("full", full), ("measured", measured))}
    assert dac["measured"] == pytest.approx(dac["full"] * share)
