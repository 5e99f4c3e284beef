"""The hardware stage against hand computation (issue #5 acceptance: a two-layer network whose every
event count and energy equals the hand count), the closed form against the event model, and the
shipped hardware files against their sources' totals."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from simulator.config.errors import ConfigError
from simulator.config.loader import load_hardware
from simulator.hardware.components import chip_components, geometry
from simulator.hardware.demand import LayerDemand, load_demands, save_demands
from simulator.hardware.model import evaluate

REPO = Path(__file__).resolve().parents[1]
PRIME = load_hardware(REPO / "hwconfigs" / "prime.yaml")


def demand(name, vectors, tiles, rows_used, cols_used, index_bits=0):
    r = np.array([t[0] for t in tiles], dtype=np.int64)
    c = np.array([t[1] for t in tiles], dtype=np.int64)
    return LayerDemand(name, vectors, r, c, np.full(len(tiles), -1, np.int64), rows_used, cols_used, index_bits,
                       macs=rows_used * cols_used * vectors, nonzeros=int((r * c).sum()))


def two_layers():
    # Layer a: one 4x3 tile, 2 input vectors. Layer b: tiles 2x2 and 3x1, one vector, 10 index bits.
    return [demand("a", 2, [(4, 3)], 4, 3), demand("b", 1, [(2, 2), (3, 1)], 4, 3, index_bits=10)]


def no_replicas(hw):
    return hw.model_copy(update={"chip": hw.chip.model_copy(update={"replicate": False})})


def test_two_layer_network_matches_the_hand_count() -> None:
    hw = no_replicas(PRIME)
    # two-column, 8-bit weights in 4-bit cells: 2 polarities x ceil(7/4) = 2 slices -> 4 arrays per tile;
    # 6-bit inputs through 3-bit DACs -> 2 phases; PRIME subtracts polarities digitally? no: analog.
    result = evaluate(two_layers(), hw, encoding="two-column", weight_bits=8, cell_bits=4, size=8)
    layers = result.layers.set_index("layer")
    # Layer a: 2 vectors x 2 phases = 4 array operations.
    #   drives 4 arrays x 4 rows = 16 per op; cells 4 rows x 3 cols x 4 arrays = 48; samples 3 x 4 = 12;
    #   conversions: polarity subtracted in analog -> 3 cols x 2 slices = 6 per op.
    hand_a = {"array_ops": 4, "dac_drives": 64, "array_cell_reads": 192, "sample_holds": 48,
              "adc_conversions": 24, "shift_adds": 24, "tree_compositions": 0,
              # per vector: 4 x 6 = 24 bits in (1 access), 3 x 6 = 18 bits out (1 access)
              "buffer_accesses": 4, "bus_bits": 48, "network_bits": 36, "index_bits": 0}
    # Layer b: 1 vector x 2 phases; drives 4 x (2 + 3) = 20; cells (4 + 3) x 4 = 28; samples 3 x 4 = 12;
    #   conversions 3 x 2 = 6; the bus broadcasts the 4 used rows: 4 x 6 = 24 bits; 10 index bits per vector.
    hand_b = {"array_ops": 2, "dac_drives": 40, "array_cell_reads": 56, "sample_holds": 24,
              "adc_conversions": 12, "shift_adds": 12, "tree_compositions": 0,
              "buffer_accesses": 2, "bus_bits": 24, "network_bits": 18, "index_bits": 10}
    for name, hand in (("a", hand_a), ("b", hand_b)):
        for key, value in hand.items():
            assert layers.loc[name, key] == value, (name, key)
    # A drive charges a wordline of N = 8 cells; prime.yaml's 2.734 pJ is for 128 cells.
    per_event = {"array_cell_reads": 0.001831, "dac_drives": 2.734 * 8 / 128, "sample_holds": 0.000977,
                 "adc_conversions": 1.20, "shift_adds": 0.021, "tree_compositions": 0.0, "index_bits": 0.121,
                 "buffer_accesses": 20.45, "bus_bits": 0.054, "network_bits": 0.081}
    components = result.components_table().set_index("event")
    for event, energy in per_event.items():
        events = hand_a[event] + hand_b[event]
        assert components.loc[event, "events"] == events
        assert components.loc[event, "dynamic_pj"] == pytest.approx(events * energy, rel=1e-12)
    assert result.summary.static_energy_pj == 0.0   # every leakage in prime.yaml is 0
    total = sum((hand_a[e] + hand_b[e]) * v for e, v in per_event.items())
    assert result.summary.energy_per_inference_pj == pytest.approx(total, rel=1e-12)

    # Latency by hand: per vector fetch (bits / bandwidth), 2 phases of 100 ns reads overlapping the
    # conversions of the busiest ADC (3 values of one array at 1.28 GS/s), then the write.
    conv_a = 3 / 1.28
    vec_a = 24 / 256 + 24 / 129.6 + (100 + conv_a + 100) + 18 / 129.6 + 18 / 256
    conv_b = 2 / 1.28
    vec_b = 24 / 256 + 24 / 129.6 + (100 + conv_b + 100) + 18 / 129.6 + 18 / 256
    assert layers.loc["a", "latency_closed_ns"] == pytest.approx(2 * vec_a, rel=1e-12)
    assert layers.loc["b", "latency_closed_ns"] == pytest.approx(vec_b, rel=1e-12)
    # Nothing contends (one copy per layer, layers in turn): the event model agrees cycle for cycle.
    assert result.summary.latency_ns == pytest.approx(2 * vec_a + vec_b, rel=1e-12)
    assert result.summary.latency_closed_form_ns == pytest.approx(result.summary.latency_ns, rel=1e-12)
    assert result.summary.contention_wait_ns == 0.0


def test_slow_adc_sets_the_pace_of_the_phases() -> None:
    hw = no_replicas(PRIME)
    hw = hw.model_copy(update={"adc": hw.adc.model_copy(update={"sample_rate_gsps": 0.01})})  # 100 ns / value
    result = evaluate([demand("a", 1, [(4, 3)], 4, 3)], hw, encoding="two-column", weight_bits=8, cell_bits=4, size=8)
    row = result.layers.iloc[0]
    assert row["adc_ns"] == pytest.approx(300.0)
    # r + a + (phases - 1) max(r, a) = 100 + 300 + 300
    assert row["vector_ns"] - (24 / 256 + 24 / 129.6 + 18 / 129.6 + 18 / 256) == pytest.approx(700.0)
    assert result.summary.latency_ns == pytest.approx(row["vector_ns"], rel=1e-12)


def test_replicas_share_vectors_and_contention_never_beats_the_closed_form() -> None:
    layers = [demand("a", 64, [(4, 3)], 4, 3), demand("b", 16, [(8, 8), (8, 8)], 8, 8)]
    single = evaluate(layers, no_replicas(PRIME), encoding="two-column", weight_bits=8, cell_bits=4, size=8)
    many = evaluate(layers, PRIME, encoding="two-column", weight_bits=8, cell_bits=4, size=8)
    assert (many.layers["replicas"] > 1).all()
    assert many.summary.latency_ns < single.summary.latency_ns
    # Copies on one tile wait for its buffer: the event model is never below the closed form.
    assert many.summary.latency_ns >= many.summary.latency_closed_form_ns - 1e-9
    # Replicas change where events happen, not how many.
    assert np.allclose(many.components_table()["events"], single.components_table()["events"])


def test_pipeline_interval_is_the_slowest_layer() -> None:
    hw = no_replicas(PRIME)
    # Four 256x256 arrays per tile: layer a fills tile 0, layer b tiles 1-2, so no buffer is shared.
    hw = hw.model_copy(update={"chip": hw.chip.model_copy(update={"execution": "pipelined"}),
                               "tile": hw.tile.model_copy(update={"arrays": 4})})
    result = evaluate(two_layers(), hw, encoding="two-column", weight_bits=8, cell_bits=4, size=256, images=3)
    assert result.summary.contention_wait_ns == 0.0
    closed = result.layers["latency_closed_ns"]
    assert result.summary.interval_ns == pytest.approx(closed.max(), rel=1e-9)
    assert result.summary.latency_ns == pytest.approx(closed.sum(), rel=1e-9)


def test_analog_tree_converts_one_value_per_weight_column() -> None:
    hw = no_replicas(load_hardware(REPO / "hwconfigs" / "sparse_small.yaml"))
    # 8-bit two-column weights in 2-bit cells: 2 polarities x 4 slices = 8 physical columns per weight column.
    result = evaluate([demand("a", 1, [(32, 8)], 32, 8)], hw, encoding="two-column", weight_bits=8, cell_bits=2,
                      size=32)
    row = result.layers.iloc[0]
    assert row["arrays"] == 2                      # 8 x 8 = 64 columns in arrays of 32
    assert row["sample_holds"] == 2 * 64           # every physical column, both phases
    assert row["adc_conversions"] == 2 * 8         # one composed value per weight column per phase
    assert row["tree_compositions"] == 2 * 8


def test_conductance_model_charges_low_resistance_cells() -> None:
    array = PRIME.array.model_copy(update={"read_energy_model": "conductance", "read_voltage_v": 0.2,
                                           "read_pulse_ns": 10.0})
    hw = no_replicas(PRIME.model_copy(update={"array": array}))
    base = demand("a", 1, [(2, 2)], 2, 2)
    # 2x2 tile, 4 arrays (16 cells); levels sum 0 (all high resistance) vs 16 x 15 (all low resistance).
    low, high = (LayerDemand(**{**base.__dict__, "tile_levels": np.array([s])}) for s in (0, 16 * 15))
    e_low, e_high = (evaluate([d], hw, encoding="two-column", weight_bits=8, cell_bits=4, size=8)
                     .components_table().set_index("component").loc["array"] for d in (low, high))
    per_us = 0.2 ** 2 * 10.0 * 1e-3          # pJ per microsiemens read
    assert e_low["dynamic_pj"] == pytest.approx(2 * 16 * (1e6 / 20000) * per_us)     # 2 phases
    assert e_high["dynamic_pj"] == pytest.approx(2 * 16 * (1e6 / 1000) * per_us)
    with pytest.raises(ValueError, match="cell levels"):
        evaluate([base], hw, encoding="two-column", weight_bits=8, cell_bits=4, size=8)


def test_chip_too_small_is_a_clear_error() -> None:
    hw = PRIME.model_copy(update={"chip": PRIME.chip.model_copy(update={"tiles": 1}),
                                  "tile": PRIME.tile.model_copy(update={"arrays": 1})})
    with pytest.raises(ValueError, match="needs 8 arrays; the chip has 1"):
        evaluate(two_layers()[1:], hw, encoding="two-column", weight_bits=8, cell_bits=4, size=256)


def test_demands_round_trip_through_the_cache_file(tmp_path: Path) -> None:
    layers = two_layers()
    save_demands(tmp_path / "m.npz", layers, {"note": "x"})
    back = load_demands(tmp_path / "m.npz")
    for a, b in zip(layers, back):
        assert a.name == b.name and a.vectors == b.vectors and a.index_bits == b.index_bits
        assert np.array_equal(a.tile_rows, b.tile_rows) and np.array_equal(a.tile_cols, b.tile_cols)


def test_isaac_components_add_up_to_its_tile() -> None:
    """ISAAC Table I: a tile draws 330 mW in 0.372 mm^2. Our components at full activity (every
    array read each 100 ns cycle, every ADC converting at 1.28 GS/s, buffer, bus and router at
    their bandwidth) must come close; what is missing are ISAAC's input/output registers, max-pool
    and sigmoid units (about 20 mW and 0.04 mm^2), which resim does not model."""
    hw = load_hardware(REPO / "hwconfigs" / "isaac.yaml")
    geo = geometry(hw, 128)
    parts = {c.name: c for c in chip_components(hw, geo, 0)}
    arrays = hw.tile.arrays
    per_cycle_s = hw.cycle_ns * 1e-9
    mw = {
        "array": arrays * 128 * 128 * parts["array"].energy_pj * 1e-12 / per_cycle_s * 1e3,
        "dac": arrays * 128 * parts["dac"].energy_pj * 1e-12 / per_cycle_s * 1e3,
        "adc": arrays * hw.adc.sample_rate_gsps * 1e9 * parts["adc"].energy_pj * 1e-12 * 1e3,
        "buffer": hw.buffer.bits_per_ns * 1e9 / hw.buffer.access_bits * hw.buffer.energy_pj * 1e-12 * 1e3,
        "bus": hw.bus.bits_per_ns * 1e9 * hw.bus.energy_pj_per_bit * 1e-12 * 1e3,
        "network": hw.network.bits_per_ns * 1e9 * hw.network.energy_pj_per_bit * 1e-12 * 1e3,
    }
    assert 0.85 * 330 <= sum(mw.values()) <= 330
    area_mm2 = sum(c.area_total_um2 for c in parts.values()) / geo.tiles * 1e-6
    assert 0.85 * 0.372 <= area_mm2 <= 0.372


def test_adc_resolution_must_be_in_its_table(tmp_path: Path) -> None:
    text = (REPO / "hwconfigs" / "prime.yaml").read_text().replace("  bits: 6\n", "  bits: 11\n")
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=r"bits = 11 is not in energy_pj_by_bits"):
        load_hardware(path)


def test_analog_tree_needs_adjacent_columns(tmp_path: Path) -> None:
    text = (REPO / "hwconfigs" / "sparse_small.yaml").read_text().replace(
        "packing: adjacent-columns", "packing: across-arrays")
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match="analog-tree"):
        load_hardware(path)


def test_every_hardware_file_cites_every_number() -> None:
    from simulator.config.hardware import SourcedBlock

    def blocks(block: SourcedBlock, prefix: str):
        yield prefix, block
        for name in type(block).model_fields:
            child = getattr(block, name)
            if isinstance(child, SourcedBlock):
                yield from blocks(child, f"{prefix}.{name}" if prefix else name)

    for name in ("prime", "isaac", "sparse_small"):
        hw = load_hardware(REPO / "hwconfigs" / f"{name}.yaml")
        cited = 0
        for where, block in blocks(hw, ""):
            for field in block.numeric_fields():
                value = getattr(block, field)
                numbers = value.values() if isinstance(value, dict) else [value]
                assert all(math.isfinite(v) for v in numbers), f"{name}: {where}.{field}"
                assert block.source.get(field, "").strip(), f"{name}: {where}.{field} has no source"
                cited += 1
        # The energies the model charges are among the cited numbers, not defaults.
        assert cited >= 10, f"{name}: only {cited} numbers written"
        assert "energy_pj" in hw.adc.numeric_fields() or "energy_pj_by_bits" in hw.adc.numeric_fields(), name


def test_baseline_mapping_is_shared_across_the_workloads_crossbar_sizes(tmp_path: Path) -> None:
    """A sweep over the workload's size reuses one baseline (dense PRIME) mapping, while the
    workload's own mapping and a crossbar-grained-pruned network's baseline change with the size."""
    import yaml

    from simulator.config import load_workload
    from simulator.hardware import study

    repo = Path(__file__).resolve().parents[1]
    doc = yaml.safe_load((repo / "workloads" / "vgg16_sparse.yaml").read_text())
    doc["hardware"] = str(repo / "hwconfigs" / "sparse_small.yaml")
    doc["hardware_study"]["baseline"] = str(repo / "hwconfigs" / "prime.yaml")
    if doc["model"].get("checkpoint"):   # the copy lives elsewhere: point at the shipped file
        doc["model"]["checkpoint"] = str((repo / "workloads" / doc["model"]["checkpoint"]).resolve())
    from simulator.data.identity import DataIdentity
    from simulator.preparation import network_identity

    data = DataIdentity(spec=None, dataset_id="cifar10-test")

    def keys(size: int, crossbar_prune: bool) -> dict[str, str]:
        doc["mapping"]["crossbar"]["size"] = size
        if crossbar_prune:
            doc["mapping"]["crossbar_prune"] = {"target_tiles": 100}
        else:
            doc["mapping"].pop("crossbar_prune", None)
        path = tmp_path / f"w{size}{crossbar_prune}.yaml"
        path.write_text(yaml.safe_dump(doc))
        workload = load_workload(path)
        requests = study.requests(workload, study.baseline_hardware(workload))
        return {r.label: study.mapping_key(workload, network_identity(workload, data), r) for r in requests}

    small, large = keys(32, False), keys(64, False)
    assert small["baseline"] == large["baseline"]
    assert small["workload"] != large["workload"] and small["dense"] != large["dense"]
    assert keys(32, True)["baseline"] != keys(64, True)["baseline"]
