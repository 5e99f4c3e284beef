"""Issue #23 item 3: converters shared between arrays, and between a PRIME polarity pair, with the
event model's converters as resources that copies contend for."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from simulator.config.errors import ConfigError
from simulator.config.loader import load_hardware
from simulator.hardware.chip.spec import chip_spec
from simulator.hardware.chip_model import Sizing, converter_loads
from simulator.hardware.demand import LayerDemand
from simulator.hardware.model import ChipSetup, evaluate
from simulator.lowering.dataflow import Dataflow, LayerGeometry

REPO = Path(__file__).resolve().parents[1]
PRIME = load_hardware(REPO / "hwconfigs" / "prime.yaml")
SMALL = load_hardware(REPO / "hwconfigs" / "sparse_small.yaml")


def demand(name: str, vectors: int, tiles: list[tuple[int, int]]) -> LayerDemand:
    r = np.array([t[0] for t in tiles], dtype=np.int64)
    c = np.array([t[1] for t in tiles], dtype=np.int64)
    return LayerDemand(name, vectors, r, c, np.zeros(len(tiles), np.int64), int(r.max()), int(c.sum()), 0,
                       macs=int(r.max() * c.sum()) * vectors, nonzeros=int((r * c).sum()))


def chain(layers: list[LayerDemand]) -> Dataflow:
    geometry = tuple(LayerGeometry(d.name, "linear", (1, 1), (d.vectors, 1)) for d in layers)
    return Dataflow(geometry, tuple((i - 1,) if i else () for i in range(len(layers))), True)


def slow_small(arrays_per_adc: int):
    """sparse_small with slow fixed-rate converters (ADC-bound phases) shared by `arrays_per_adc` arrays."""
    adc = SMALL.adc.model_copy(update={"arrays_per_adc": arrays_per_adc, "sample_rate_rule": "fixed",
                                       "sample_rate_gsps": 0.02})
    return SMALL.model_copy(update={"adc": adc})


FIT = Sizing(policy="fit")


def run(layers, hw, *, size=32, sizing=FIT, encoding="two-column"):
    setup = ChipSetup(encoding=encoding, weight_bits=8, cell_bits=hw.array.cell_bits, size=size, sizing=sizing)
    return evaluate(layers, chain(layers), hw, setup)


def test_converter_groups_never_cross_a_tile() -> None:
    loads = converter_loads(np.ones(6), start=2, group=4, arrays_per_tile=6)
    # arrays 2..7: arrays 2, 3 in tile 0's first group, 4, 5 in its second, 6, 7 in tile 1's first
    assert loads == {0: 2.0, 1: 2.0, 2: 2.0}


def test_halving_the_converters_lengthens_the_window_as_the_closed_form_predicts() -> None:
    # One 32 x 32 tile of 8-bit weights in 2-bit cells, two polarities side by side: 8 arrays, one
    # conversion per column pair (analog polarity), 4 per array. One copy, so nothing contends.
    layer = [demand("a", 6, [(32, 32)])]
    own, shared = run(layer, slow_small(1)), run(layer, slow_small(2))
    row_own, row_shared = own.layers.iloc[0], shared.layers.iloc[0]
    assert row_own["adc_ns"] > row_own["read_ns"]                       # ADC-bound
    assert row_shared["adc_ns"] == pytest.approx(2 * row_own["adc_ns"])  # each ADC converts two arrays' values
    for result in (own, shared):
        assert result.summary.latency_ns == pytest.approx(result.summary.latency_closed_form_ns, rel=1e-9)
        assert result.summary.waits_ns["adcs"] == 0.0
    # r + a + (p - 1) a per window plus the shift-and-add at the converters' pace (a / 4 here, as in
    # test_hardware_model), 6 windows: the latency grows by 6 (p + 1/4) (a' - a), as the closed form says.
    phases = 2
    grown = 6 * (phases + 0.25) * (row_shared["adc_ns"] - row_own["adc_ns"])
    assert shared.summary.latency_ns - own.summary.latency_ns == pytest.approx(grown, rel=1e-6)
    assert (shared.summary.latency_closed_form_ns - own.summary.latency_closed_form_ns) == pytest.approx(grown)
    assert shared.summary.area_mm2 < own.summary.area_mm2


def test_copies_that_share_a_converter_wait_for_it() -> None:
    # A tile whose copy takes 4 arrays (offset encoding: one polarity, 4 slices side by side in
    # 128 columns), converters shared by 8 arrays: two replicas sit in one ADC group and take turns.
    layer = [demand("a", 64, [(32, 32)])]
    hw = slow_small(8)
    single = run(layer, hw, encoding="offset")
    many = run(layer, hw, encoding="offset", sizing=Sizing(policy="fit", replica_budget=1.0))
    assert many.layers.iloc[0]["replicas"] == 2
    assert many.summary.waits_ns["adcs"] > 0
    # The closed form knows no contention: the event model is slower by what the shared converter adds.
    assert many.summary.latency_ns > many.summary.latency_closed_form_ns * 1.2
    # Sharing one converter, the replicas gain only the overlap of their reads, far from half the time.
    assert 0.75 * single.summary.latency_ns < many.summary.latency_ns < single.summary.latency_ns
    # With converters of their own, the replicas halve the time.
    alone = run(layer, slow_small(1), encoding="offset", sizing=Sizing(policy="fit", replica_budget=1.0))
    assert alone.summary.waits_ns["adcs"] == 0.0
    assert alone.summary.latency_ns == pytest.approx(run(layer, slow_small(1), encoding="offset")
                                                     .summary.latency_ns / 2, rel=0.05)


def test_arrays_per_adc_needs_whole_arrays(tmp_path: Path) -> None:
    text = (REPO / "hwconfigs" / "prime.yaml").read_text().replace("columns_per_adc: 32",
                                                                    "columns_per_adc: 32\n  arrays_per_adc: 2", 1)
    path = tmp_path / "prime_shared.yaml"
    path.write_text(text.replace("source:\n", "source:\n    arrays_per_adc: test\n", 1))
    with pytest.raises(ConfigError, match="arrays_per_adc"):
        load_hardware(path)


def test_prime_polarity_pair_shares_drivers_and_sense_amplifiers() -> None:
    shared_hw = PRIME.model_copy(update={"composition": PRIME.composition.model_copy(
        update={"pair_periphery": "shared"})})
    separate_hw = PRIME.model_copy(update={"composition": PRIME.composition.model_copy(
        update={"pair_periphery": "separate"})})
    shared, separate = chip_spec(shared_hw, 256), chip_spec(separate_hw, 256)
    assert shared.adcs_per_tile * 2 == separate.adcs_per_tile
    comps = {c.name: c for c in shared.components()}
    sep = {c.name: c for c in separate.components()}
    assert comps["dac"].instances * 2 == sep["dac"].instances
    assert comps["sample_hold"].instances * 2 == sep["sample_hold"].instances
    # One drive charges both arrays' wordlines, through a driver sized to both rows' cells.
    assert shared.dac.cells == 2 * separate.dac.cells == 512
    assert comps["dac"].energy_pj == pytest.approx(shared.dac.drive_energy_pj() + shared.dac.wordline_energy_pj())
    assert sep["dac"].energy_pj < comps["dac"].energy_pj < 2 * sep["dac"].energy_pj
    layer = [demand("a", 4, [(256, 256), (256, 100)])]
    a, b = run(layer, shared_hw, size=256), run(layer, separate_hw, size=256)
    assert a.layers.iloc[0]["dac_drives"] * 2 == b.layers.iloc[0]["dac_drives"]
    assert a.layers.iloc[0]["adc_conversions"] == b.layers.iloc[0]["adc_conversions"]
    # A load-sized driver carrying two rows costs what two did: sharing saves converters and input
    # registers, not drives.
    assert a.layers.iloc[0]["energy_dac_pj"] == pytest.approx(b.layers.iloc[0]["energy_dac_pj"], rel=0.02)
    assert a.summary.energy_per_inference_pj < b.summary.energy_per_inference_pj
    # ISAAC's constant driver, shared, is paid once per pair.
    constant = {"model": "isaac-constant"}
    a = run(layer, shared_hw.model_copy(update={"dac": shared_hw.dac.model_copy(update=constant)}), size=256)
    b = run(layer, separate_hw.model_copy(update={"dac": separate_hw.dac.model_copy(update=constant)}), size=256)
    assert a.summary.energy_per_inference_pj < 0.9 * b.summary.energy_per_inference_pj
    assert a.summary.area_mm2 < b.summary.area_mm2


def test_a_shared_pair_needs_analog_pairs() -> None:
    with pytest.raises(ValueError, match="pair_periphery"):
        SMALL.model_validate(SMALL.model_dump() | {
            "composition": SMALL.composition.model_dump() | {"pair_periphery": "shared"}})


def test_the_summary_says_what_each_chip_shares() -> None:
    layer = [demand("a", 2, [(32, 32)])]
    small = run(layer, SMALL).summary
    assert (small.bitlines_per_adc, small.adc_group_arrays, small.pair_periphery_shared) == (128, 4, False)
    assert small.adcs == small.tiles * 4096 // 4
    prime = run([demand("a", 2, [(256, 256)])], PRIME, size=256).summary
    # Eight SAs per pair of 256-column mats: 64 bitlines each, the pair one converter group.
    assert (prime.bitlines_per_adc, prime.adc_group_arrays, prime.pair_periphery_shared) == (64, 2, True)
