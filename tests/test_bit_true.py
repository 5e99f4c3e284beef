"""Bit-true crossbar emulation (simulator/faults/bit_true.py): exactness against the weight-level
product with a wide ADC, hand-worked narrow-ADC and DAC-phase cases, faulty cells, layers, the
accuracy study, and NeuroSim's VGG8 in the zoo."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import mapped as mapping
import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
import yaml
from torch import nn

from simulator.config.faults import FaultSpec
from simulator.config.loader import load_hardware
from simulator.faults.bit_true import (
    CrossbarLayer,
    Periphery,
    adc_for,
    bit_true_study,
    compile_matrix,
    crossbar_product,
    quantize_inputs,
    signed_product,
    split_phases,
)
from simulator.faults.cells import HEALTHY, STUCK_OFF, FaultRates, apply_faults
from simulator.faults.effective import TileDraw, faulty_levels, faulty_matrix
from simulator.faults.montecarlo import fault_study
from simulator.lowering.layers import weight_matrices
from simulator.mapping.encoding import ENCODINGS, get_encoding
from simulator.mapping.mapper import map_matrix
from simulator.mapping.tiles import Tile

REPO = Path(__file__).resolve().parents[1]
COMPOSITIONS = list(itertools.product(("digital", "analog-tree"), ("digital", "analog")))


def decoded(shape, tiles, levels, encoding, weight_bits, cell_bits) -> torch.Tensor:
    """Integer weights the levels stand for: the weight-level model's W."""
    enc = get_encoding(encoding)
    total = np.zeros(shape, dtype=np.int64)
    for tile, tile_levels in zip(tiles, levels):
        total[np.ix_(tile.rows, tile.cols)] += enc.decode(tile_levels, weight_bits, cell_bits)
    return torch.from_numpy(total).double()


def one_tile(W_int: np.ndarray) -> list[Tile]:
    rows, cols = W_int.shape
    return [Tile(np.arange(rows), np.arange(cols), W_int != 0)]


# ---------------------------------------------------------------- exactness with a wide ADC


@pytest.mark.parametrize("strategy", ["skip-empty", "compact"])
@pytest.mark.parametrize("encoding", list(ENCODINGS))
@pytest.mark.parametrize("slices, polarity", COMPOSITIONS)
def test_wide_adc_equals_weight_level_product_exactly(strategy, encoding, slices, polarity) -> None:
    rng = np.random.default_rng(0)
    W = rng.normal(size=(70, 45)) * (rng.random((70, 45)) < 0.3)
    tiles = map_matrix(W != 0, 16, strategy, 0).tiles
    _, levels = faulty_levels(W, tiles, TileDraw(encoding, 8, 2, FaultRates.from_total(0.05),
                                                 np.random.default_rng(1)))
    codes = torch.randint(-63, 64, (33, 70), generator=torch.Generator().manual_seed(2)).double()
    reference = codes @ decoded(W.shape, tiles, levels, encoding, 8, 2)
    # 16 rows x 3 x the largest (composed) level fits 15 magnitude bits; 24 leaves room for the sign.
    periphery = Periphery(input_bits=6, dac_bits=2, adc_bits=24, slices=slices, polarity=polarity)
    matrix = compile_matrix(W.shape, tiles, levels, encoding, 8, 2, periphery, 16, dtype=torch.float64)
    assert matrix.adc.exact
    assert torch.equal(signed_product(codes, matrix), reference)


def test_float32_products_match_to_rounding() -> None:
    rng = np.random.default_rng(3)
    W = rng.normal(size=(300, 40))
    tiles = map_matrix(W != 0, 128, "skip-empty", 0).tiles
    _, levels = faulty_levels(W, tiles, TileDraw("differential", 8, 4, FaultRates(0.0, 0.0),
                                                 np.random.default_rng(0)))
    codes = torch.randint(0, 64, (20, 300), generator=torch.Generator().manual_seed(0)).float()
    matrix = compile_matrix(W.shape, tiles, levels, "differential", 8, 4, Periphery(6, 3, None), 128)
    assert matrix.dtype == torch.float32
    reference = codes.double() @ decoded(W.shape, tiles, levels, "differential", 8, 4)
    torch.testing.assert_close(crossbar_product(codes, matrix).double(), reference, rtol=1e-6, atol=0)


# ---------------------------------------------------------------- the ADC range rule, by hand


def test_adc_range_rule_for_the_shipped_chips() -> None:
    # ISAAC: 128 rows x 1-bit inputs x 2-bit cells reach 384 (9 bits); 8 unsigned bits step by 2.
    isaac = adc_for(Periphery(16, 1, 8), rows=128, level=3, signed=False)
    assert (isaac.step, isaac.top, isaac.exact) == (2, 255, False)
    # PRIME: 256 rows x 3-bit inputs x 4-bit cells reach 26880 (15 bits); a signed 6-bit
    # conversion (polarities subtracted in analog) keeps 5 magnitude bits: step 2**10.
    prime = adc_for(Periphery(6, 3, 6, polarity="analog"), rows=256, level=15, signed=True)
    assert (prime.step, prime.top) == (1024, 31)
    # hwconfigs/isaac.yaml stands for ISAAC's inverted-weight encoding with a clipping range: the
    # top code need only reach half of 384, so the step is 1 and sums above 255 clip.
    shipped = Periphery.from_hardware(load_hardware(REPO / "hwconfigs" / "isaac.yaml"), 128)
    clipped = adc_for(shipped, rows=128, level=3, signed=False)
    assert (shipped.range_fraction, clipped.step, clipped.top, clipped.exact) == (0.5, 1, 255, False)
    assert adc_for(Periphery(16, 1, 9), rows=128, level=3, signed=False).exact


def test_hand_worked_2x2_with_a_narrow_adc() -> None:
    # W (rows = inputs) [[3, -1], [2, 0]] in 2-bit cells, two-column: positive array [[3, 0], [2, 0]],
    # negative array [[0, 1], [0, 0]]. Inputs x = [3, 2] in one 2-bit phase.
    W_int = np.array([[3, -1], [2, 0]])
    tiles = one_tile(W_int)
    _, levels = faulty_levels(W_int.astype(float), tiles, TileDraw("two-column", 3, 2, FaultRates(0.0, 0.0),
                                                                        np.random.default_rng(0)))
    x = torch.tensor([[3.0, 2.0]])

    def product(adc_bits, fraction=1.0, polarity="digital"):
        periphery = Periphery(2, 2, adc_bits, range_fraction=fraction, polarity=polarity)
        return crossbar_product(x, compile_matrix((2, 2), tiles, levels, "two-column", 3, 2, periphery, 2,
                                                  dtype=torch.float64)).tolist()[0]

    # Column sums: positive 3*3 + 2*2 = 13 and 0; negative 0 and 3*1 = 3.
    assert product(None) == [13, -3]
    # Largest sum 2 rows x 3 x 3 = 18 needs 5 bits; 3 bits step by 4: 13 -> 12, 3 -> 4.
    assert product(3) == [12, -4]
    # Range fraction 1/4: the top code need only reach 4, so step 1 and codes 0..7 clip 13 to 7.
    assert product(3, fraction=0.25) == [7, -3]
    # Polarities subtracted before a signed 3-bit ADC (2 magnitude bits, step 8): 13 -> 16, -3 -> 0.
    assert product(3, polarity="analog") == [16, 0]


def test_dac_phases_split_and_compose() -> None:
    codes = torch.tensor([[5.0, 3.0]])
    assert split_phases(codes, 1, 4)[:, 0].tolist() == [[1, 1], [0, 1], [1, 0], [0, 0]]
    assert split_phases(codes, 2, 2)[:, 0].tolist() == [[1, 3], [1, 0]]
    # W = [[1], [3]] in 2-bit cells; 4-bit inputs one bit per phase: phase sums 4, 3, 1, 0.
    W_int = np.array([[1], [3]])
    tiles = one_tile(W_int)
    _, levels = faulty_levels(W_int.astype(float), tiles, TileDraw("two-column", 3, 2, FaultRates(0.0, 0.0),
                                                                        np.random.default_rng(0)))

    def product(adc_bits, dac_bits=1):
        periphery = Periphery(4, dac_bits, adc_bits)
        return crossbar_product(codes, compile_matrix((2, 1), tiles, levels, "two-column", 3, 2, periphery, 2,
                                                      dtype=torch.float64)).item()

    assert product(None) == 5 * 1 + 3 * 3 == product(None, dac_bits=2) == product(3)
    # Largest phase sum 2 x 1 x 3 = 6 (3 bits): a 2-bit ADC steps by 2, ties to even:
    # 4 -> 4, 3 -> 4, 1 -> 0, 0 -> 0, shifted by 1, 2, 4, 8: 4 + 8 + 0 + 0 = 12.
    assert product(2) == 12


# ---------------------------------------------------------------- faulty cells


def _converted_by_hand(x: torch.Tensor, levels: np.ndarray, periphery: Periphery, cell_bits: int,
                       rows: int) -> torch.Tensor:
    """Every (phase, polarity, slice) column sum of real-valued levels converted on its own, in
    float64 straight from the module docstring: round(sum / step), clipped to the codes."""
    signed = periphery.polarity == "analog"
    adc = adc_for(periphery, rows, 2**cell_bits - 1, signed)
    composed = levels[:1] - levels[1:] if signed else levels
    signs = [1.0] if signed else [1.0, -1.0]
    out = torch.zeros(x.shape[0], levels.shape[3], dtype=torch.float64)
    radix = 2**periphery.dac_bits
    for phase in range(periphery.phases):
        digits = torch.floor(x.double() / radix**phase) % radix
        for a, sign in enumerate(signs):
            for k in range(levels.shape[1]):
                sums = digits @ torch.from_numpy(composed[a, k])
                codes = torch.round(sums / adc.step).clamp(-adc.top if signed else 0, adc.top)
                out += radix**phase * sign * 2.0 ** (k * cell_bits) * adc.step * codes
    return out


@pytest.mark.parametrize("polarity, fraction, low, high, clips", [
    ("analog", 1.0, -0.1, 2.0, False),    # small signed sums: no code can clip, the clamp is skipped
    ("digital", 1.0, -1.0, 0.5, True),    # reads below 0 meet an unsigned converter: clipped to 0
    ("analog", 0.25, -0.5, 12.0, True),   # a quarter of the range: large sums clip at the top
])
def test_real_levels_convert_as_by_hand_with_or_without_the_clamp(polarity, fraction, low, high, clips) -> None:
    rng = np.random.default_rng(7)
    # Device-model levels: real-valued, some below 0 (reads of G_off cells with noise).
    levels = rng.uniform(low, high, size=(2, 2, 8, 5))
    W = np.ones((8, 5))
    periphery = Periphery(4, 2, 6, range_fraction=fraction, polarity=polarity)
    matrix = compile_matrix(W.shape, one_tile(W), [levels], "two-column", 4, 2, periphery, 8, dtype=torch.float64)
    assert [group.clips for group in matrix.groups] == [clips]
    x = torch.randint(0, 16, (40, 8), generator=torch.Generator().manual_seed(3)).double()
    by_hand = _converted_by_hand(x, levels, periphery, 2, 8)
    assert torch.equal(crossbar_product(x, matrix), by_hand)
    if clips:   # the case does clip: without the clamp the product differs
        matrix.groups[0].clips = False
        assert not torch.equal(crossbar_product(x, matrix), by_hand)


def test_faulty_cells_reach_the_columns() -> None:
    # Differential, 3-bit weights in 2-bit cells (L = 3): 2 -> (3, 1), a covered zero -> (3, 3).
    # The zero's negative cell stuck off reads 3 - 0 = 3.
    W_int = np.array([[2, 0]])
    tiles = one_tile(W_int)
    enc = get_encoding("differential")
    levels = enc.encode(W_int, 3, 2)
    faults = np.full(levels.shape, HEALTHY, dtype=np.int8)
    faults[1, 0, 0, 1] = STUCK_OFF
    faulty = apply_faults(levels, faults, 2)
    for adc_bits in (None, 8):
        periphery = Periphery(2, 2, adc_bits)
        matrix = compile_matrix((1, 2), tiles, [faulty], "differential", 3, 2, periphery, 1, dtype=torch.float64)
        assert crossbar_product(torch.tensor([[1.0]]), matrix).tolist() == [[2, 3]]


def test_faulty_levels_decode_to_the_weight_level_matrix() -> None:
    rng = np.random.default_rng(5)
    W = rng.normal(size=(40, 24)) * (rng.random((40, 24)) < 0.4)
    tiles = map_matrix(W != 0, 8, "compact", 0).tiles
    rates = FaultRates.from_total(0.1)
    for encoding in ENCODINGS:
        quantized, levels = faulty_levels(W, tiles, TileDraw(encoding, 8, 2, rates, np.random.default_rng(9)))
        expected = faulty_matrix(W, tiles, TileDraw(encoding, 8, 2, rates, np.random.default_rng(9)))
        got = decoded(W.shape, tiles, levels, encoding, 8, 2).numpy() * quantized.scale
        np.testing.assert_array_equal(got, expected)


# ---------------------------------------------------------------- layers


def test_crossbar_layers_equal_quantized_inputs_with_an_ideal_adc() -> None:
    torch.manual_seed(0)
    conv = nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2)
    linear = nn.Linear(12, 5)
    x = torch.randn(3, 4, 7, 7)
    periphery = Periphery(8, 2, None)
    for module, inputs in ((conv, x), (linear, torch.randn(2, 3, 12))):
        layer = CrossbarLayer(module, 0.05, periphery)
        matrices, scales, effective = [], [], []
        for W in weight_matrices(module):
            tiles = map_matrix(W != 0, 8, "skip-empty", 0).tiles
            quantized, levels = faulty_levels(W, tiles, TileDraw("offset", 8, 2, FaultRates.from_total(0.02),
                                                                       np.random.default_rng(1)))
            matrices.append(compile_matrix(W.shape, tiles, levels, "offset", 8, 2, periphery, 8))
            scales.append(quantized.scale)
            effective.append(decoded(W.shape, tiles, levels, "offset", 8, 2).float() * float(quantized.scale))
        layer.load(matrices, scales)
        weight = torch.cat([m.T for m in effective]).reshape(module.weight.shape)
        inputs_q = quantize_inputs(inputs, 0.05, 8) * 0.05
        if isinstance(module, nn.Conv2d):
            expected = F.conv2d(inputs_q, weight, module.bias, stride=2, padding=1, groups=2)
        else:
            expected = F.linear(inputs_q, weight, module.bias)
        with torch.no_grad():
            torch.testing.assert_close(layer(inputs), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("slices, polarity", COMPOSITIONS)
def test_plain_convolutions_run_as_convolutions_with_the_unfolded_products(slices, polarity) -> None:
    """A plain Conv2d's row groups run as convolutions of the digit images (`_conv_kernels`):
    the same numbers as the unfold and matrix product, to the bit with integer levels (a narrow
    ADC, signed inputs, row groups that split a channel's kernel), within float32 rounding before
    the ADC with the device model's real-valued ones."""
    torch.manual_seed(0)
    conv = nn.Conv2d(5, 7, 3, stride=1, padding=1, dilation=1)
    W = weight_matrices(conv)[0]                       # 45 rows: groups of 16 split channels' kernels
    tiles = map_matrix(np.ones_like(W, dtype=bool), 16, "skip-empty", 0).tiles
    _, levels = faulty_levels(W, tiles, TileDraw("two-column", 8, 2, FaultRates.from_total(0.05),
                                                 np.random.default_rng(1)))
    periphery = Periphery(input_bits=6, dac_bits=2, adc_bits=5, slices=slices, polarity=polarity)
    x = torch.randn(3, 5, 6, 6)
    real = [lv + np.random.default_rng(2).normal(0, 0.05, lv.shape) for lv in levels]
    for tile_levels, exact in ((levels, True), (real, False)):
        layer = CrossbarLayer(conv, 0.05, periphery)
        layer.load([compile_matrix(W.shape, tiles, tile_levels, "two-column", 8, 2, periphery, 16)], [np.array(0.1)])
        assert layer.kernels is not None and len(layer.kernels) == 3
        with torch.no_grad():
            by_convolution = layer(x)
            layer.kernels = None
            by_unfold = layer(x)
        if exact:
            assert torch.equal(by_convolution, by_unfold)
        else:
            # An ADC code can flip where a sum sits within rounding of a threshold: compare codes.
            assert (by_convolution != by_unfold).float().mean() < 0.01


def test_unsupported_padding_is_named() -> None:
    with pytest.raises(ValueError, match="padding_mode='reflect' is not modelled"):
        CrossbarLayer(nn.Conv2d(2, 2, 3, padding=1, padding_mode="reflect"), 1.0, Periphery(8, 1, 8))
    with pytest.raises(ValueError, match="pads one side more than the other"):
        CrossbarLayer(nn.Conv2d(2, 2, 4, padding="same"), 1.0, Periphery(8, 1, 8))
    with pytest.raises(ValueError, match="analog-tree"):
        Periphery(8, 1, 8, slices="tree")


# ---------------------------------------------------------------- accuracy study


def tiny() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(2, 4, 3, groups=2), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 4 * 4, 3))


def test_study_shares_the_weight_level_draws_and_a_wide_adc_loses_nothing() -> None:
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(48, 2, 6, 6, generator=g), torch.randint(0, 3, (48,), generator=g)
    model = tiny()
    layers = mapping.mapped(model, (2, 6, 6), 4, "compact")
    spec = FaultSpec(rates=[0.0, 0.2], encodings=["two-column", "differential"], runs=2)
    plain = fault_study(model, layers, x, y, spec, progress=False)
    wide = bit_true_study(model, layers, x, y, x, spec, Periphery(8, 2, 16), progress=False)
    narrow = bit_true_study(model, layers, x, y, x, spec, Periphery(8, 2, 3), progress=False)
    assert wide["accuracy"].tolist() == plain["accuracy"].tolist()
    assert wide["accuracy_bit_true"].tolist() == wide["accuracy_quantized_inputs"].tolist()
    assert (wide["adc_loss"] == 0).all()
    assert narrow["accuracy_quantized_inputs"].tolist() == wide["accuracy_quantized_inputs"].tolist()
    assert narrow["accuracy_bit_true"].tolist() != wide["accuracy_bit_true"].tolist()
    pd.testing.assert_frame_equal(narrow, bit_true_study(model, layers, x, y, x, spec, Periphery(8, 2, 3),
                                                         progress=False))


def test_cli_faults_bit_true(tmp_path: Path, shared_data: Path) -> None:
    # The shipped LeNet-5 on the first 1000 test images (the workload's paths made absolute).
    spec = yaml.safe_load((REPO / "workloads" / "lenet5_mnist_sparse_1.8.yaml").read_text())
    spec["hardware"] = str(REPO / "hwconfigs" / "prime.yaml")
    spec["model"]["checkpoint"] = str(REPO / "checkpoints" / "lenet5_mnist_imp_1.8.pt")
    spec["data"]["test_samples"] = 1000
    workload = tmp_path / "lenet5.yaml"
    workload.write_text(yaml.safe_dump(spec))
    proc = subprocess.run([sys.executable, "-m", "simulator.cli", "faults", str(workload), "--data-dir",
                           str(shared_data), "--rates", "0", "--encodings", "two-column", "--runs", "1", "--bit-true",
                           "--json", "--quiet", "--out", str(tmp_path)], check=False, capture_output=True, text=True,
                           timeout=300)
    assert proc.returncode == 0, proc.stderr
    row = json.loads(proc.stdout)[0]
    assert {"mean_quantized_inputs", "mean_bit_true", "adc_loss"} <= set(row)
    assert row["adc_loss"] == pytest.approx(row["mean_quantized_inputs"] - row["mean_bit_true"])
    assert "accuracy_bit_true" in (tmp_path / "faults.csv").read_text()


# ---------------------------------------------------------------- VGG8 (the benchmark's network)


def test_vgg8_is_neurosims() -> None:
    from simulator.network.zoo import build_zoo_model

    model = build_zoo_model("vgg8", in_channels=3, num_classes=10, input_size=32)
    shapes = [(n, tuple(m.weight.shape), m.bias is None) for n, m in model.named_modules()
              if isinstance(m, (nn.Conv2d, nn.Linear))]
    convs = [(128, 3), (128, 128), (256, 128), (256, 256), (512, 256), (512, 512)]
    assert shapes == ([(f"conv{i}", (o, c, 3, 3), True) for i, (o, c) in enumerate(convs, start=1)]
                      + [("fc1", (1024, 8192), True), ("fc2", (10, 1024), True)])
