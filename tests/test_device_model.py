"""The device model of issue #24: the hardware file's device: block resolved once (simulator.device),
accuracy through it per placed cell (simulator.faults.device_draws), weight level and bit-true, and
the defaults that keep every stuck-at draw as it was."""

from __future__ import annotations

import sys
import types
from dataclasses import replace
from pathlib import Path

import mapped as mapping
import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from torch import nn

from simulator.config.errors import ConfigError
from simulator.config.faults import FaultOptionError, FaultSpec
from simulator.config.loader import load_hardware
from simulator.device import nominal_conductances, resolve_device
from simulator.faults.cells import STUCK_OFF, STUCK_ON, FaultRates
from simulator.faults.device_draws import DeviceEffects, DeviceStreams, NormalStream, decode_levels, read_levels
from simulator.faults.montecarlo import Draw, DrawIndex, fault_study, faulty_weights, study_plan, take_draw
from simulator.mapping.encoding import ENCODING_NAMES, get_encoding

REPO = Path(__file__).resolve().parents[1]
HW = {name: REPO / "hwconfigs" / f"{name}.yaml" for name in ("prime", "sparse_small", "isaac")}
PRIME = load_hardware(HW["prime"])


def tiny() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(2, 4, 3, groups=2), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 4 * 4, 3))


def data() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return torch.randn(64, 2, 6, 6, generator=g), torch.randint(0, 3, (64,), generator=g)


# ---------------------------------------------------------------- the device block and its object


@pytest.mark.parametrize("name", list(HW))
def test_shipped_files_cite_every_device_number(name: str) -> None:
    hw = load_hardware(HW[name])
    assert hw.device is not None
    for field in ("programming_sigma_by_power", "read_noise_sigma", "drift_nu", "relaxation_sigma_by_power",
                  "drift_t0_s", "programming_distribution"):
        assert hw.device.source.get(field, "").strip(), f"{name}: device.{field} has no source"


def test_a_device_number_without_a_source_is_rejected(tmp_path: Path) -> None:
    doc = yaml.safe_load(HW["prime"].read_text())
    del doc["device"]["source"]["read_noise_sigma"]
    path = tmp_path / "hw.yaml"
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(ConfigError, match="read_noise_sigma"):
        load_hardware(path)


def test_the_device_reads_wans_spread_at_prime_conductances() -> None:
    device = resolve_device(PRIME)
    c = device.conductances
    assert (c.g_on_us, c.g_off_us, c.top) == (1000.0, 50.0, 15)       # 1 / 1 kOhm, 1 / 20 kOhm, 4-bit cells
    levels = np.arange(16)
    np.testing.assert_allclose(c.level_of(c.conductance_us(levels)), levels, atol=1e-12)
    # aihwkit ReRamWan2022NoiseModel coeff_dic[1.0] at x = G / g_max = 0.5: 2.023 uS of 40 uS.
    np.testing.assert_allclose(device.programming_sigma_us(np.array([500.0])) / 1000.0, [2.0232 / 40], rtol=1e-3)
    # Line resistance per cell: 5.70 ohm/um x sqrt(100 um^2 / 256^2) = 0.2227 ohm.
    assert device.line_resistance_ohm() == pytest.approx(5.70 * (100.0 / 256**2) ** 0.5)
    # At another cell width the levels follow it.
    assert resolve_device(PRIME, cell_bits=2).conductances.top == 3


def test_energy_and_accuracy_read_one_conductance_per_level() -> None:
    """The conductance read-energy model prices a tile's cells at the conductances the accuracy
    side programs (simulator.device.Conductances): V^2 t x (cells G_off + step x sum of levels)."""
    from simulator.hardware.chip.spec import chip_spec
    from simulator.hardware.chip_model import plan_layer
    from simulator.mapping.demand import LayerDemand

    # The shipped files read per cell and list V^2 G t as the alternative the sensitivity study runs.
    hw = load_hardware(HW["sparse_small"]).with_value("array.read_energy_model", "conductance")
    spec = chip_spec(hw, 32)
    levels = np.array([37])
    demand = LayerDemand("a", 1, np.array([4]), np.array([2]), levels, 4, 2, 0, 8, 8)
    plan = plan_layer(demand, spec, encoding="two-column", weight_bits=8, packing=hw.array.packing,
                      polarity=hw.composition.polarity, r_on_ohm=hw.array.r_on_ohm, r_off_ohm=hw.array.r_off_ohm)
    cells = 4 * 2 * 2 * 4                                     # rows x cols x polarities x slices (2-bit cells)
    c = nominal_conductances(hw)
    assert plan.per_phase["array_conductance_us"] == pytest.approx(c.summed_us(cells, 37))
    assert c.summed_us(cells, 37) == pytest.approx(cells * 50.0 + 37 * 950.0 / 3)
    assert resolve_device(hw).conductances == c


# ---------------------------------------------------------------- one tile's cells


def effects(**kw: object) -> DeviceEffects:
    return replace(DeviceEffects(resolve_device(PRIME)), **kw)  # type: ignore[arg-type]


def test_stuck_cells_get_no_programming_spread_and_healthy_ones_scale_with_it() -> None:
    levels = np.full((2, 2, 4, 5), 7, dtype=np.uint8)
    codes = np.zeros(levels.shape, dtype=np.int8)
    codes[0, 0, 0, 0], codes[1, 1, 3, 4] = STUCK_OFF, STUCK_ON
    levels[0, 0, 0, 0], levels[1, 1, 3, 4] = 0, 15
    key = [0, 1, 2, 3]

    def read(scale: float) -> np.ndarray:
        e = effects(variation_scale=scale)
        return read_levels(levels, codes, e, DeviceStreams.of(key, e))

    one, half = read(1.0), read(0.5)
    assert one[0, 0, 0, 0] == 0 and one[1, 1, 3, 4] == 15           # stuck: exactly their levels
    healthy = codes == 0
    assert np.all(one[healthy] != 7)
    # The same standard normals at every scale (common random numbers): half the deviation, to
    # float32 rounding of the levels (about 7 x 2**-24).
    np.testing.assert_allclose(half[healthy] - 7, (one[healthy] - 7) / 2, rtol=1e-4, atol=2e-6)


def test_each_effect_has_its_own_stream() -> None:
    levels = np.full((2, 1, 3, 3), 5, dtype=np.uint8)
    codes = np.zeros(levels.shape, dtype=np.int8)
    key = [0, 9, 9, 1]
    spread = effects(variation_scale=1.0)
    both = effects(variation_scale=1.0, read_noise=True)
    a = read_levels(levels, codes, spread, DeviceStreams.of(key, spread))
    b = read_levels(levels, codes, both, DeviceStreams.of(key, both))
    noise = NormalStream(key + [4]).standard_normal(levels.shape) * 0.01 * 1000.0 / (950.0 / 15)
    np.testing.assert_allclose(b - a, noise, rtol=1e-4, atol=2e-6)


def test_relaxation_grows_with_time_and_drift_lowers_the_mean() -> None:
    levels = np.full((1, 1, 64, 64), 8, dtype=np.uint8)
    codes = np.zeros(levels.shape, dtype=np.int8)
    spreads = []
    for t in (1.0, 3600.0, 86400.0):
        e = effects(time_s=t)
        spreads.append(float(read_levels(levels, codes, e, DeviceStreams.of([1], e)).std()))
    assert spreads[0] == 0 and 0 < spreads[1] < spreads[2]
    drifting = effects(time_s=1e4, device=replace(resolve_device(PRIME), drift_nu=0.05, relaxation_nu=0.0,
                                                  relaxed_sigma_by_time=()))
    read = read_levels(levels, codes, drifting, DeviceStreams.of([1], drifting))
    g = 50.0 + 8 * 950.0 / 15
    np.testing.assert_allclose(read, (g * 1e4**-0.05 - 50.0) / (950.0 / 15))


@pytest.mark.parametrize("encoding", ENCODING_NAMES)
def test_real_decode_is_the_integer_decode_on_integer_levels(encoding: str) -> None:
    enc = get_encoding(encoding)
    q = np.arange(-127, 128).reshape(15, 17)
    levels = enc.encode(q, 8, 2)
    np.testing.assert_array_equal(decode_levels(levels.astype(float), encoding, 8, 2), enc.decode(levels, 8, 2))


def test_ir_drop_attenuates_each_physical_array_where_its_cells_sit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Across arrays, each (polarity, slice) array is attenuated on its own; adjacent columns lay a
    weight's polarities and slices side by side, arrays of N columns. simulator.ir_drop gets siemens
    and the line resistance per cell."""
    calls: list[tuple[tuple[int, ...], float, float]] = []

    def attenuation(g: np.ndarray, r_wire_ohm: float) -> np.ndarray:
        calls.append((g.shape, float(g.max()), r_wire_ohm))
        rows, cols = np.indices(g.shape[-2:])
        return np.broadcast_to(1.0 - 0.01 * (rows + cols), g.shape)

    monkeypatch.setitem(sys.modules, "simulator.ir_drop", types.SimpleNamespace(attenuation=attenuation))
    levels = np.full((2, 2, 3, 4), 15, dtype=np.uint8)
    codes = np.zeros(levels.shape, dtype=np.int8)
    across = effects(ir_drop=True)
    out = read_levels(levels, codes, across, DeviceStreams.of([0], across))
    line = resolve_device(PRIME).line_resistance_ohm()
    assert calls == [((4, 3, 4), pytest.approx(1e-3), line)]          # 4 arrays of 3 x 4 cells at 1 mS
    rows, cols = np.indices((3, 4))
    np.testing.assert_allclose(out[1, 0], (1000.0 * (1 - 0.01 * (rows + cols)) - 50.0) / (950.0 / 15))
    calls.clear()
    adjacent = effects(ir_drop=True, packing="adjacent-columns", size=8)
    out = read_levels(levels, codes, adjacent, DeviceStreams.of([0], adjacent))
    assert [shape for shape, _, _ in calls] == [(3, 8), (3, 8)]   # 4 columns x 2 polarities x 2 slices = 16
    # Tile column 1, polarity 1, slice 0 sits at physical column 1 x 4 + 1 x 2 + 0 = 6 of the first array.
    np.testing.assert_allclose(out[1, 0, :, 1], (1000.0 * (1 - 0.01 * (np.arange(3) + 6)) - 50.0) / (950.0 / 15))


def test_ir_drop_costs_larger_arrays_more() -> None:
    """The real fast model: the same cells lose more of their read on longer lines."""
    device = resolve_device(PRIME)
    losses = []
    for n in (8, 32, 64):
        levels = np.full((1, 1, n, n), 15, dtype=np.uint8)
        e = effects(ir_drop=True)
        out = read_levels(levels, np.zeros(levels.shape, dtype=np.int8), e, DeviceStreams.of([0], e))
        losses.append(float(15 - out.mean()))
    assert 0 < losses[0] < losses[1] < losses[2]
    assert device.line_resistance_ohm() > 0


# ---------------------------------------------------------------- the study


def study(spec: FaultSpec, device: bool = True) -> pd.DataFrame:
    x, y = data()
    layers = mapping.mapped(tiny(), (2, 6, 6), 4, "compact", cell_bits=4)
    return fault_study(tiny(), layers, x, y, spec, progress=False,
                       device=resolve_device(PRIME, 4) if device else None)


def test_defaults_keep_every_stuck_at_draw() -> None:
    spec = FaultSpec(rates=[0.0, 0.2], encodings=["two-column", "offset"], runs=3)
    explicit = spec.model_copy(update={"variation_scale": 0.0, "read_noise": False, "time_since_programming_s": 0.0,
                                       "ir_drop": False})
    pd.testing.assert_frame_equal(study(spec, device=False), study(explicit))


def test_variation_costs_accuracy_and_combines_with_stuck_at_faults() -> None:
    model = tiny()
    layers = mapping.mapped(model, (2, 6, 6), 4, "compact", cell_bits=4)
    device = resolve_device(PRIME, 4)
    spec = FaultSpec(rates=[0.05], encodings=["differential"], runs=1, variation_scale=1.0)
    plan = study_plan(spec, layers, device)
    assert plan.effects is not None
    draw = take_draw(spec, layers, plan, DrawIndex("differential", 0.05, 0))
    stuck_only = study_plan(spec.model_copy(update={"variation_scale": 0.0}), layers, device)
    plain = take_draw(spec, layers, stuck_only, DrawIndex("differential", 0.05, 0))
    with_device = faulty_weights(layers, model, draw, plan)
    without = faulty_weights(layers, model, plain, stuck_only)
    for name in with_device:
        assert not torch.equal(with_device[name], without[name])
        # The spread is a few levels of the top slice at most, not a new network.
        assert float((with_device[name] - without[name]).abs().max()) < float(without[name].abs().max())
    assert isinstance(draw, Draw) and draw.device is not None and draw.rates == FaultRates.from_total(0.05)


def test_a_chip_without_a_device_block_is_named() -> None:
    layers = mapping.mapped(tiny(), (2, 6, 6), 4, "compact")
    with pytest.raises(FaultOptionError) as err:
        study_plan(FaultSpec(rates=[0.0], read_noise=True), layers, None)
    assert err.value.key == "read_noise" and "device: block" in str(err.value)


def test_options_are_flags() -> None:
    flags = FaultSpec.flags()
    assert flags["variation_scale"] == "--variation-scale" and flags["time_since_programming_s"] == \
        "--time-since-programming"
    assert flags["read_noise"] == "--read-noise/--no-read-noise" and flags["ir_drop"] == "--ir-drop/--no-ir-drop"
    spec = FaultSpec.from_flags({"variation_scale": "0.5", "time_since_programming_s": "3600", "read_noise": True})
    assert (spec.variation_scale, spec.time_since_programming_s, spec.read_noise) == (0.5, 3600.0, True)
    with pytest.raises(FaultOptionError, match="greater than or equal to 0"):
        FaultSpec.from_flags({"variation_scale": "-1"})


def test_bit_true_with_an_ideal_converter_equals_the_weight_level_with_quantized_inputs() -> None:
    from simulator.faults.bit_true import Periphery, bit_true_study

    model = tiny()
    x, y = data()
    layers = mapping.mapped(model, (2, 6, 6), 4, "compact", cell_bits=4)
    spec = FaultSpec(rates=[0.05], encodings=["offset"], runs=2, variation_scale=1.0, read_noise=True)
    draws = bit_true_study(model, layers, x, y, x, spec, Periphery(input_bits=8, dac_bits=2, adc_bits=None),
                           progress=False, device=resolve_device(PRIME, 4))
    np.testing.assert_allclose(draws["accuracy_bit_true"], draws["accuracy_quantized_inputs"], atol=1 / 64)
    weight_level = study(spec)
    np.testing.assert_array_equal(draws["accuracy"].to_numpy(), weight_level["accuracy"].to_numpy())


def test_lenet5_sparse_loses_accuracy_under_variation_and_keeps_it_at_sigma_zero(shared_data: Path) -> None:
    """Issue #24's acceptance on `resim faults workloads/lenet5_mnist_sparse_1.8.yaml` (1000 test
    images, 3 draws): the file's programming spread lowers the mean below the stuck-at-only study
    of the same seed (fault-free: the whole interval below); variation_scale 0 gives the stuck-at
    study's draws exactly."""
    from simulator.config import load_workload
    from simulator.data.load import input_shape, load_data
    from simulator.faults.study import run_fault_study
    from simulator.mapping.network import map_network
    from simulator.mapping.setup import MappingSetup
    from simulator.network.tensors import tensors_of
    from simulator.network.train import TensorData
    from simulator.preparation import prepare_network

    workload = load_workload(REPO / "workloads" / "lenet5_mnist_sparse_1.8.yaml")
    arrays = load_data(workload, shared_data)
    net = prepare_network(workload, arrays, progress=False)
    mapped = map_network(net.model, input_shape(arrays), MappingSetup.of(workload))
    full = tensors_of(arrays)
    data = TensorData(full.x_train[:64], full.y_train[:64], full.x_test[:1000], full.y_test[:1000])
    base = FaultSpec(rates=[0.0, 0.001], encodings=["two-column"], runs=3)

    def run(spec: FaultSpec) -> pd.DataFrame:
        return run_fault_study(workload, net.model, mapped, data, spec, progress=False).summary

    today = run(base)
    pd.testing.assert_frame_equal(run(base.model_copy(update={"variation_scale": 0.0})), today)
    varied = run(base.model_copy(update={"variation_scale": 1.0}))
    assert (varied["mean"] < today["mean"]).all()
    # Fault-free but for the spread: the whole interval below the fault-free accuracy.
    assert varied["ci95_high"].iloc[0] < today["ci95_low"].iloc[0] == today["mean"].iloc[0]


def test_a_sweep_row_carries_the_fault_studys_first_point() -> None:
    """`resim sweep` reports accuracy under the device model per point (issue #24 item 4): the
    first (encoding, rate) of the workload's faults: study with its interval, beside the chip's."""
    from types import SimpleNamespace

    from simulator.faults.summary import FaultPoint
    from simulator.sweep.table import SweepRow

    summary = SimpleNamespace(energy_per_inference_pj=2e6, latency_ns=3e3, inferences_per_second=1e3,
                              tops_per_watt_dense_equivalent=1.0, static_energy_pj=1e5, area_mm2=5.0, power_mw=9.0,
                              adc_bits=6)
    totals = SimpleNamespace(tiles_placed=9, tiles_dense=16, arrays_placed=36, density=0.02)
    point = FaultPoint(encoding="differential", rate=0.0, runs=5, mean=0.53, std=0.01, ci95_low=0.52, ci95_high=0.54)
    other = point.model_copy(update={"rate": 0.01, "mean": 0.1})
    report = SimpleNamespace(hardware=SimpleNamespace(summary=summary, dense=None, baseline=None), totals=totals,
                             accuracy=SimpleNamespace(test_accuracy=0.986), faults=[point, other])
    row = SweepRow.of("p", "h", report, Path("out"), 1.0)  # type: ignore[arg-type]
    assert (row.fault_accuracy, row.fault_ci95_low, row.fault_ci95_high) == (0.53, 0.52, 0.54)
    assert row.test_accuracy == 0.986 and row.energy_per_inference_uj == 2.0
    assert SweepRow.of("p", "h", SimpleNamespace(**{**vars(report), "faults": None}), Path("out"),  # type: ignore[arg-type]
                       1.0).fault_accuracy is None


def test_encodings_are_compared_under_each_effect_alone_and_together() -> None:
    """Issue #24 item 5: the same draws under stuck-at faults only, each device effect alone and
    all of them, one row per (effects, rate) and one column per encoding."""
    from simulator.faults.study import by_device_effect, effect_label, effect_specs, effects_table, study_faults
    from simulator.network.train import TensorData

    model = tiny()
    x, y = data()
    tensors = TensorData(x, y, x, y)
    layers = mapping.mapped(model, (2, 6, 6), 4, "compact", cell_bits=4)
    spec = FaultSpec(rates=[0.0, 0.1], encodings=["two-column", "differential"], runs=2, variation_scale=1.0,
                     read_noise=True)
    assert [effect_label(s) for s in effect_specs(spec)] == ["stuck-at only", "programming spread x1", "read noise"]
    study = study_faults(model, layers, tensors, spec, PRIME, progress=False)
    frame = by_device_effect(model, layers, tensors, spec, PRIME, study, progress=False)
    assert list(dict.fromkeys(frame["device effects"])) == [
        "stuck-at only", "programming spread x1", "read noise", "programming spread x1 + read noise"]
    stuck = study_faults(model, layers, tensors, FaultSpec(rates=[0.0, 0.1], encodings=["two-column", "differential"],
                                                           runs=2), PRIME, progress=False).summary
    np.testing.assert_array_equal(frame[frame["device effects"] == "stuck-at only"]["mean"], stuck["mean"])
    table = effects_table(frame)
    assert list(table.columns) == ["device effects", "fault rate", "two-column", "differential"] and len(table) == 8


def test_resim_faults_reports_the_device_options_and_the_encodings_under_each_effect(tmp_path: Path,
                                                                                     shared_data: Path) -> None:
    import json

    from typer.testing import CliRunner

    from simulator.cli import app

    done = CliRunner().invoke(app, [
        "faults", str(REPO / "workloads" / "lenet5_mnist_sparse_1.8.yaml"), "--data-dir", str(shared_data),
        "--encodings", "differential", "--rates", "0", "--runs", "2", "--variation-scale", "1", "--read-noise",
        "--quiet", "--out", str(tmp_path)])
    assert done.exit_code == 0, done.output
    effects = pd.read_csv(tmp_path / "by_device_effect.csv")
    assert list(dict.fromkeys(effects["device effects"])) == [
        "stuck-at only", "programming spread x1", "read noise", "programming spread x1 + read noise"]
    options = json.loads((tmp_path / "tolerable_rates.json").read_text())["fault_options"]
    assert options["variation_scale"] == 1.0 and options["read_noise"] is True
    page = (tmp_path / "report.html").read_text()
    assert "Which encoding survives what" in page and "--variation-scale 1.0 --read-noise" in page
    assert (tmp_path / "accuracy_by_device_effect.png").stat().st_size > 0


def test_device_reads_are_float32_from_one_seeded_stream_per_key() -> None:
    # The device draw runs in float32 on torch's normals (issue #24's bit-true time): the same key
    # gives the same reads, another key other reads.
    levels = np.full((2, 2, 8, 8), 3, dtype=np.uint8)
    codes = np.zeros(levels.shape, dtype=np.int8)
    e = effects(variation_scale=1.0, read_noise=True)
    a = read_levels(levels, codes, e, DeviceStreams.of([1, 2], e))
    assert a.dtype == np.float32
    np.testing.assert_array_equal(a, read_levels(levels, codes, e, DeviceStreams.of([1, 2], e)))
    assert not np.array_equal(a, read_levels(levels, codes, e, DeviceStreams.of([1, 3], e)))


def test_accuracy_cells_cut_their_interval_to_what_an_accuracy_can_take() -> None:
    # Three draws far apart give a Student's t interval past 0 and 100 %; the tables print it cut.
    from simulator.faults.study import mean_text

    assert mean_text(0.5851, -0.0755, 1.2458) == "58.51 % (0.00 to 100.00)"
    assert mean_text(0.9, 0.85, 0.95) == "90.00 % (85.00 to 95.00)"
    assert mean_text(0.9, float("nan"), float("nan")) == "90.00 %"
