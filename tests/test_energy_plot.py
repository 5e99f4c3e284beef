"""The energy-by-layer plot shows dynamic and static energy for every chip of a run (issue #25
item 8): static energy was left out (41 % of the total on the issue's run) and only the
workload's chip was drawn."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

import simulator
from simulator.report.plots import SHARED_BAR, STATIC_SERIES, energy_by_layer_bars, energy_by_layer_plot


def lenet_like() -> nn.Module:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(6 * 12 * 12, 10))
    with torch.no_grad():
        model[0].weight[model[0].weight.abs() < 0.1] = 0        # sparse, so the dense mapping differs
    return model


@pytest.fixture(scope="module")
def run() -> simulator.Simulation:
    return simulator.simulate(lenet_like(), (1, 28, 28), baseline="prime")


def test_every_chip_has_its_layers_and_a_whole_chip_bar_adding_up_to_its_energy(run: simulator.Simulation) -> None:
    assert run.hardware is not None
    chips = {"workload": run.hardware.workload, **run.hardware.others()}
    assert set(chips) == {"workload", "dense", "baseline"}
    categories, series = energy_by_layer_bars(chips)
    names = [s.name for s in series]
    assert STATIC_SERIES in names and {"dac", "adc", "array"} <= set(names)
    start = 0
    for label, chip in chips.items():
        layers = list(chip.layers["layer"])
        count = len(layers) + 1
        mine = categories[start:start + count]
        assert mine[-1].endswith(SHARED_BAR) and [c.split(": ", 1)[1] for c in mine[:-1]] == layers, label
        total = sum(s.values[i] for s in series for i in range(start, start + count))
        assert total == pytest.approx(chip.summary.energy_per_inference_pj / 1e3, rel=1e-9), label
        static = next(s for s in series if s.name == STATIC_SERIES).values[start + count - 1]
        assert static == pytest.approx(chip.summary.static_energy_pj / 1e3) and static > 0
        start += count
    assert start == len(categories)


def test_one_chip_keeps_plain_layer_names_and_the_plot_is_written(run: simulator.Simulation, tmp_path: Path) -> None:
    assert run.hardware is not None
    categories, _ = energy_by_layer_bars({"workload": run.hardware.workload})
    assert categories == [*run.hardware.workload.layers["layer"], SHARED_BAR]
    path = tmp_path / "energy_by_layer.png"
    energy_by_layer_plot({"workload": run.hardware.workload, **run.hardware.others()}, path, "test")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
