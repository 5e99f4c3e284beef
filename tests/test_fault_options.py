"""Fault-model options of issue #6: whole stuck lines, per-layer rates, the stuck-off : stuck-on
split, frozen fault maps, and how the workload and `resim faults` take them."""

from __future__ import annotations

import json
from pathlib import Path

import mapped as mapping
import numpy as np
import pytest
import torch
from torch import nn

from simulator.config.errors import ConfigError
from simulator.config.faults import FaultModel, FaultOptionError, FaultSpec, UnknownLayerError
from simulator.faults.cells import (
    HEALTHY,
    STUCK_OFF,
    STUCK_ON,
    FaultRates,
    LineRates,
    draw_line_faults,
)
from simulator.faults.effective import (
    FaultMap,
    TileDraw,
    draw_fault_map,
    faulty_matrix,
    tile_fault_codes,
)
from simulator.faults.montecarlo import Draw, DrawPlan, fault_study, faulty_weights, line_rates
from simulator.mapping.encoding import get_encoding
from simulator.mapping.mapper import map_matrix
from simulator.mapping.quantize import dequantize, quantize

REPO = Path(__file__).resolve().parents[1]


class FixedDraws:
    """Stands in for a Generator: ``random(shape)`` returns preset uniforms, one array per call."""

    def __init__(self, *draws: np.ndarray) -> None:
        self._draws = list(draws)

    def random(self, shape: tuple[int, ...]) -> np.ndarray:
        u = self._draws.pop(0)
        assert u.shape == tuple(shape)
        return u


# ---------------------------------------------------------------- stuck lines


def test_a_stuck_wordline_takes_exactly_its_cells_of_one_array() -> None:
    lines = LineRates(rows=0.01, cols=0.01, ratio=(1.0, 5.2))  # stuck-off below 0.01 / 6.2
    rows = np.full((2, 3, 4), 0.99)
    rows[1, 2, 3] = 0.001
    codes = draw_line_faults((2, 3, 4, 5), lines, FixedDraws(rows, np.full((2, 3, 5), 0.99)))
    assert np.all(codes[1, 2, 3, :] == STUCK_OFF)
    codes[1, 2, 3, :] = HEALTHY
    assert np.all(codes == HEALTHY)


def test_a_stuck_bitline_takes_its_column_and_wins_where_lines_cross() -> None:
    lines = LineRates(rows=0.01, cols=0.01, ratio=(1.0, 5.2))
    rows = np.full((2, 3, 4), 0.99)
    rows[0, 1, 2] = 0.001                   # wordline 2 of array (0, 1): stuck-off
    cols = np.full((2, 3, 5), 0.99)
    cols[0, 1, 4] = 0.005                   # bitline 4 of the same array: stuck-on
    codes = draw_line_faults((2, 3, 4, 5), lines, FixedDraws(rows, cols))
    assert np.all(codes[0, 1, :, 4] == STUCK_ON)
    assert np.all(codes[0, 1, 2, :4] == STUCK_OFF)
    assert np.count_nonzero(codes) == 4 + 4


def test_line_draws_are_confined_to_a_slice_and_seeded() -> None:
    lines = LineRates(rows=0.3, cols=0.3)
    a = draw_line_faults((2, 4, 8, 8), lines, np.random.default_rng(5), slice_index=1)
    b = draw_line_faults((2, 4, 8, 8), lines, np.random.default_rng(5), slice_index=1)
    assert np.array_equal(a, b) and np.count_nonzero(a[:, 1]) > 0
    assert np.count_nonzero(np.delete(a, 1, axis=1)) == 0
    with pytest.raises(ValueError):
        LineRates(rows=1.5)


def test_stuck_wordline_through_the_matrix_by_hand() -> None:
    """4-bit weights in 1-bit cells, two-column: wordline 0 of the (a, top slice) array stuck-on adds
    4 to every weight of row 0 whose a-cell there was 0."""
    W = np.array([[3.0, 0.0, -2.0], [1.0, 0.0, 0.0]])   # scale 3/7: q = [[7, 0, -5], [2, 0, 0]]
    tiles = map_matrix(W != 0, 4, "none").tiles
    assert len(tiles) == 1
    rows = np.full((2, 3, 2), 0.99)
    rows[0, 2, 0] = 0.1                               # polarity a, slice 2 (worth 4), wordline 0
    out = faulty_matrix(W, tiles, TileDraw("two-column", 4, 1, FaultRates(0.0, 0.0), np.random.default_rng(0),
                                           lines=LineRates(rows=0.5, cols=0.0, ratio=(0.0, 1.0)),
                                           line_rng=FixedDraws(rows, np.full((2, 3, 3), 0.99))))
    assert np.allclose(out, np.array([[7, 4, -1], [2, 0, 0]]) * 3 / 7)


def test_line_faults_do_not_move_cell_faults() -> None:
    W = np.random.default_rng(1).normal(size=(20, 12))
    tiles = map_matrix(W != 0, 8, "skip-empty").tiles
    rates = FaultRates.from_total(0.05)
    plain = tile_fault_codes(tiles, TileDraw("differential", 8, 2, rates, np.random.default_rng(3)))
    with_lines = tile_fault_codes(tiles, TileDraw("differential", 8, 2, rates, np.random.default_rng(3),
                                                     lines=LineRates(0.0, 0.0), line_rng=np.random.default_rng(4)))
    assert all(np.array_equal(a, b) for a, b in zip(plain, with_lines))


# ---------------------------------------------------------------- frozen fault maps


def reference_matrix(W, tiles, encoding, weight_bits, cell_bits, rates, rng, per_column=False):
    """The fault model as first written (decode every tile, add into the covered positions)."""
    from simulator.faults.cells import apply_faults, draw_cell_faults

    enc = get_encoding(encoding)
    quantized = quantize(W, weight_bits, per_column=per_column)
    total = np.zeros(W.shape, dtype=np.int64)
    for tile in tiles:
        where = np.ix_(tile.rows, tile.cols)
        levels = enc.encode(np.where(tile.held, quantized.q[where], 0), weight_bits, cell_bits)
        faults = draw_cell_faults(levels.shape, rates, rng, slice_axis=1)
        total[where] += enc.decode(apply_faults(levels, faults, cell_bits), weight_bits, cell_bits)
    return total * quantized.scale


@pytest.mark.parametrize("encoding", ["two-column", "differential", "offset"])
@pytest.mark.parametrize("strategy", ["skip-empty", "compact"])
def test_fault_map_equals_the_reference_model_in_any_memory_order(encoding: str, strategy: str) -> None:
    rng = np.random.default_rng(2)
    W = rng.normal(size=(30, 21)) * (rng.random((30, 21)) < 0.4)
    tiles = map_matrix(W != 0, 8, strategy, seed=0).tiles
    rates = FaultRates.from_total(0.2)
    expected = reference_matrix(W, tiles, encoding, 8, 2, rates, np.random.default_rng(9), per_column=True)
    for weights in (W, np.asfortranarray(W), W.T.copy().T):   # weight_matrices gives transposes
        fault_map = draw_fault_map(weights, tiles, TileDraw(encoding, 8, 2, rates, np.random.default_rng(9),
                                                            per_column=True))
        assert np.array_equal(fault_map.effective(weights), expected)
        assert np.array_equal(faulty_matrix(weights, tiles, TileDraw(encoding, 8, 2, rates, np.random.default_rng(9),
                                                                     per_column=True)), expected)
        positions = np.arange(W.size)
        assert np.array_equal(fault_map.values_at(positions, W.reshape(-1)), expected.reshape(-1))


def test_fault_map_puts_new_weights_through_the_same_cells() -> None:
    """Stuck-on top cell of polarity a at (0, 0): +4 steps whatever is programmed there; scale fixed."""
    W = np.array([[0.1, 0.7], [0.0, -0.3]])   # scale 0.1 at 4 bits
    tiles = map_matrix(W != 0, 2, "none").tiles
    codes = np.zeros((2, 3, 2, 2), dtype=np.int8)
    codes[0, 2, 0, 0] = STUCK_ON
    codes[1, 0, 1, 0] = STUCK_ON               # b, slice 0 at the pruned (1, 0): a zero reads -1
    fault_map = FaultMap.build(W, tiles, [codes], "two-column", 4, 1)
    assert fault_map.held.tolist() == [[True, True], [False, True]]
    assert fault_map.faulty.tolist() == [[True, False], [True, False]]
    assert np.allclose(fault_map.effective(W), [[0.5, 0.7], [-0.1, -0.3]])
    trained = np.array([[0.2, 0.9], [0.4, -0.3]])   # 0.9 clips to the range 0.7; (1, 0) holds no weight
    assert np.allclose(fault_map.effective(trained), [[0.6, 0.7], [-0.1, -0.3]])
    assert np.allclose(fault_map.values_at(np.array([0, 2]), np.array([0.2, 0.4])), [0.6, -0.1])


# ---------------------------------------------------------------- per-layer rates


def tiny() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(2, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 4 * 4, 3))


def test_layer_multiplier_zero_leaves_that_layer_untouched_and_the_others_as_drawn() -> None:
    model = tiny()
    layers = mapping.mapped(model, (2, 6, 6), 4, "skip-empty")
    rates, lines = FaultRates.from_total(0.2), LineRates(0.1, 0.1)

    def draw(multipliers):
        generators = np.random.default_rng(7), np.random.default_rng(8)
        return faulty_weights(layers, model, Draw("two-column", rates, *generators),
                              DrawPlan(multipliers=multipliers, lines=lines))

    every, conv_off = draw(None), draw({"0": 0.0, "3": 1.0})
    clean = dequantize(quantize(layers.layers[0].matrices[0], 8))
    assert torch.equal(conv_off["0"], torch.from_numpy(clean.T.copy()).reshape(model[0].weight.shape).float())
    assert not torch.equal(every["0"], conv_off["0"])
    assert torch.equal(every["3"], conv_off["3"])


def test_options_multipliers_only_layers_and_unknown_names() -> None:
    names = ["conv1", "fc1", "fc2"]
    assert FaultModel().multipliers(names) == {"conv1": 1.0, "fc1": 1.0, "fc2": 1.0}
    options = FaultModel(layers={"fc1": 2.0, "fc2": 0.5}, only_layers=["fc1", "conv1"])
    assert options.multipliers(names) == {"conv1": 1.0, "fc1": 2.0, "fc2": 0.0}
    with pytest.raises(UnknownLayerError, match="unknown layer 'conv9'; allowed: conv1, fc1, fc2") as err:
        FaultModel(only_layers=["conv9"]).multipliers(names)
    assert err.value.key == "only_layers"
    with pytest.raises(ValueError):
        FaultModel(layers={"fc1": -1.0})
    with pytest.raises(FaultOptionError) as err:
        FaultModel(stuck_rows_rate=0.1).check_chip("adjacent-columns")
    assert err.value.key == "stuck_rows_rate"
    FaultModel(stuck_cols_rate=0.1).check_chip("adjacent-columns")
    # hpp's fault_mix names the same ratios
    assert FaultModel(ratio="stuck-on").ratio == (0.0, 1.0) and FaultModel(ratio="seed003").ratio == (1.0, 5.2)


def test_study_takes_the_split_and_scaled_rates_must_stay_probabilities() -> None:
    model = tiny()
    layers = mapping.mapped(model, (2, 6, 6), 4, "skip-empty")
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(32, 2, 6, 6, generator=g), torch.randint(0, 3, (32,), generator=g)
    kw = {"rates": [0.1], "encodings": ["two-column"], "runs": 2}
    on_only = fault_study(model, layers, x, y, FaultSpec(ratio=(0.0, 1.0), **kw), progress=False)
    assert on_only["p_sa0"].eq(0.0).all() and on_only["p_sa1"].eq(0.1).all()
    default = fault_study(model, layers, x, y, FaultSpec(**kw), progress=False)
    assert default.equals(fault_study(model, layers, x, y, FaultSpec(ratio="seed003", **kw), progress=False))
    with pytest.raises(ValueError, match="multiplier 20 of layer '3' exceeds 1"):
        fault_study(model, layers, x, y, FaultSpec(layers={"3": 20.0}, **kw), progress=False)


# ---------------------------------------------------------------- workload and command line


def workload_file(tmp_path: Path, faults: str, name: str = "wl.yaml") -> Path:
    source = (REPO / "workloads" / "lenet5_mnist_sparse_1.8.yaml").read_text()
    source = source.replace("../hwconfigs/", f"{REPO}/hwconfigs/").replace("../checkpoints/", f"{REPO}/checkpoints/")
    path = tmp_path / name
    path.write_text(source + faults)
    return path


def test_workload_fault_options_validate(tmp_path: Path) -> None:
    from simulator.config import load_workload

    spec = load_workload(workload_file(tmp_path, "faults:\n  ratio: [0, 1]\n  layers: {conv1: 2}\n"
                                                 "  only_layers: [conv1]\n  stuck_cols_rate: 0.01\n")).config.faults
    assert spec is not None
    assert spec.ratio == (0.0, 1.0) and spec.layers == {"conv1": 2.0} and spec.only_layers == ["conv1"]
    assert line_rates(spec) == LineRates(0.0, 0.01, (0.0, 1.0))
    with pytest.raises(ConfigError, match=r"faults.layers: rate multipliers must be finite numbers >= 0"):
        load_workload(workload_file(tmp_path, "faults:\n  layers: {conv1: -1}\n"))
    with pytest.raises(ConfigError, match=r"faults.stuck_rows_rate: Input should be less than or equal to 1"):
        load_workload(workload_file(tmp_path, "faults:\n  stuck_rows_rate: 2\n"))


def test_unknown_layer_in_a_workload_names_file_and_key(tmp_path: Path, shared_data: Path) -> None:
    from simulator.config import load_workload
    from simulator.data.load import input_shape, load_data
    from simulator.faults.study import run_fault_study
    from simulator.mapping.network import map_network
    from simulator.mapping.setup import MappingSetup
    from simulator.network.tensors import tensors_of
    from simulator.preparation import prepare_network

    path = workload_file(tmp_path, "faults:\n  only_layers: [conv9]\n  rates: [0.0]\n  runs: 1\n")
    workload = load_workload(path)
    arrays = load_data(workload, shared_data)
    expected = f"{path}: faults.only_layers: unknown layer 'conv9'; allowed: conv1, conv2, fc1, fc2, fc3 (got 'conv9')"
    # The network stage checks the names before it trains or loads anything (issue #26) ...
    with pytest.raises(ConfigError) as err:
        prepare_network(workload, arrays, progress=False)
    assert str(err.value) == expected
    # ... and the fault stage, given a network prepared without the check, names them alike.
    good = load_workload(workload_file(tmp_path, "faults:\n  rates: [0.0]\n  runs: 1\n", name="good.yaml"))
    net = prepare_network(good, arrays, progress=False)
    mapped = map_network(net.model, input_shape(arrays), MappingSetup.of(workload))
    assert workload.config.faults is not None
    with pytest.raises(ConfigError) as err:
        run_fault_study(workload, net.model, mapped, tensors_of(arrays), workload.config.faults, progress=False,
                        from_workload=True)
    assert str(err.value) == expected


def test_cli_fault_options(tmp_path: Path, shared_data: Path) -> None:
    from typer.testing import CliRunner

    from simulator.cli import app

    command = ["faults", str(REPO / "workloads" / "lenet5_mnist_sparse_1.8.yaml"), "--data-dir", str(shared_data),
               "--encodings", "two-column", "--runs", "1", "--quiet"]
    runner = CliRunner()
    done = runner.invoke(app, command + ["--rates", "0", "--only-layers", "fc1", "--stuck-rows", "0.05", "--ratio",
                                         "0:1", "--layers", "fc1=2", "--json", "--out", str(tmp_path)])
    assert done.exit_code == 0, done.output
    summary = json.loads(done.stdout)
    clean = json.loads((tmp_path / "tolerable_rates.json").read_text())
    assert summary[0]["mean"] < clean["fault_free_accuracy"]   # only stuck wordlines of fc1, yet they hurt
    assert clean["fault_options"] == {"ratio": [0.0, 1.0], "layers": {"fc1": 2.0}, "only_layers": ["fc1"],
                                      "stuck_rows_rate": 0.05, "stuck_cols_rate": 0.0, "variation_scale": 0.0,
                                      "read_noise": False, "time_since_programming_s": 0.0, "ir_drop": False}
    bad = runner.invoke(app, command + ["--only-layers", "conv9"])
    assert bad.exit_code == 1
    assert "--only-layers: unknown layer 'conv9'; allowed: conv1, conv2, fc1, fc2, fc3" in bad.output
    assert "--ratio: '1' is not OFF:ON" in runner.invoke(app, command + ["--ratio", "1"]).output
