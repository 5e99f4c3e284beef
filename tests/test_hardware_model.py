"""The hardware stage (simulator.hardware.model, chip_model, engine) against hand computation: a
two-layer network whose every event count and energy equals the hand count from the chip's
components, the closed form against the event model when nothing contends, contention where it
must appear, sizing, and the shipped hardware files against their sources."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from simulator.config.errors import ConfigError
from simulator.config.loader import load_hardware
from simulator.hardware.chip.spec import chip_spec
from simulator.hardware.chip_model import Sizing
from simulator.hardware.model import ChipSetup, evaluate
from simulator.hardware.placement import ChipTooSmall
from simulator.lowering.dataflow import Dataflow, LayerGeometry
from simulator.mapping.demand import LayerDemand, load_demands, save_demands

REPO = Path(__file__).resolve().parents[1]
# The hand counts give every array its own drivers and sense amplifiers; prime.yaml shares them
# within a polarity pair (PRIME Sec. III-A1), tested in tests/test_shared_converters.py.
PRIME = load_hardware(REPO / "hwconfigs" / "prime.yaml")
PRIME = PRIME.model_copy(update={"composition": PRIME.composition.model_copy(update={"pair_periphery": "separate"})})
SMALL = load_hardware(REPO / "hwconfigs" / "sparse_small.yaml")


def demand(name, vectors, tiles, rows_used, cols_used, index_bits=0, levels=0):
    """A layer's demand; its tiles' cells all at `levels` summed per tile (0: every cell at G_off, what
    the conductance read model needs; -1: not known)."""
    r = np.array([t[0] for t in tiles], dtype=np.int64)
    c = np.array([t[1] for t in tiles], dtype=np.int64)
    return LayerDemand(name, vectors, r, c, np.full(len(tiles), levels, np.int64), rows_used, cols_used, index_bits,
                       macs=rows_used * cols_used * vectors, nonzeros=int((r * c).sum()))


def chain(layers: list[LayerDemand]) -> Dataflow:
    """Linear layers one after another (each reads the whole output of the one before)."""
    geometry = tuple(LayerGeometry(d.name, "linear", (1, 1), (d.vectors, 1)) for d in layers)
    return Dataflow(geometry, tuple((i - 1,) if i else () for i in range(len(layers))), True)


def two_layers():
    # Layer a: one 4x3 tile, 2 input vectors. Layer b: tiles 2x2 and 3x1, one vector, reordered (registers).
    return [demand("a", 2, [(4, 3)], 4, 3), demand("b", 1, [(2, 2), (3, 1)], 4, 3, index_bits=10)]


FIT = Sizing(policy="fit")


def run(layers, hw=PRIME, size=8, sizing=FIT, execution="file", images=None, aggregate=True):
    setup = ChipSetup(encoding="two-column", weight_bits=8, cell_bits=hw.array.cell_bits, size=size, sizing=sizing,
                      execution=execution, images=images)
    return evaluate(layers, chain(layers), hw, setup, aggregate=aggregate)


def test_two_layer_network_matches_the_hand_count() -> None:
    result = run(two_layers())
    spec = chip_spec(PRIME, 8)
    layers = result.layers.set_index("layer")
    # two-column, 8-bit weights in 4-bit cells: 2 polarities x ceil(7/4) = 2 slices -> 4 arrays per tile
    # (across arrays); 6-bit inputs through 3-bit DACs -> 2 phases. Layer a: 2 vectors x 2 phases = 4 reads;
    # per read 4 arrays x 4 rows driven, 4 x 3 x 4 cells, 3 x 4 bitlines sampled, and PRIME subtracts the
    # polarities in analog: 3 columns x 2 slices converted.
    hand_a = {"array_ops": 4, "dac_drives": 64, "array_cell_reads": 192, "sample_holds": 48, "bitline_charges": 48,
              "adc_conversions": 24, "shift_adds": 24, "tree_compositions": 0, "index_bits": 0,
              "bus_bits": 2 * 4 * 6}
    # Layer b: 1 vector x 2 phases; drives 4 x (2 + 3); cells (4 + 3) x 4; 3 bitlines x 4; registers: PRIME
    # keeps a register per used row and column of each reordered tile, ceil(log2 8) = 3 bits each.
    hand_b = {"array_ops": 2, "dac_drives": 40, "array_cell_reads": 56, "sample_holds": 24, "bitline_charges": 24,
              "adc_conversions": 12, "shift_adds": 12, "tree_compositions": 0, "index_bits": (2 + 2 + 3 + 1) * 3,
              "bus_bits": 4 * 6}
    for name, hand in (("a", hand_a), ("b", hand_b)):
        for key, value in hand.items():
            assert layers.loc[name, key] == value, (name, key)
    # Energy: the hand counts times the chip's energy per event, nothing else dynamic but the buffer
    # (bits in and out of every window) and no network (both layers on one tile).
    per_event = {c.event: c.energy_pj for c in spec.components()}
    components = result.components_table().set_index("component")
    for event in ("dac_drives", "array_cell_reads", "sample_holds", "adc_conversions", "shift_adds", "bus_bits"):
        row = components[components["event"] == event].iloc[0]
        assert row["events"] == hand_a[event] + hand_b[event], event
        assert row["dynamic_pj"] == pytest.approx(row["events"] * per_event[event], rel=1e-12), event
    # Bits read: 2 windows x 4 rows + 1 x 4, 6 bits each. Written: a's outputs (2 x 3 values) into b's
    # buffer, which keeps b's input vector (4 values: a linear consumer keeps its inputs out of the
    # producer's map), and b's 3 outputs into its own.
    buffer_bits = (2 * 4 + 4) * 6 + 4 * 6 + 3 * 6
    assert components.loc["buffer", "events"] == pytest.approx(buffer_bits / 8)
    assert components.loc["router", "events"] == 0
    # Latency by hand: per window the input read from the buffer, two phases of reads overlapping the
    # conversions of the busiest ADC (an ADC serves 32 // 8 = 4 arrays, a tile's 4: layer a's 6 conversions per
    # read, layer b's 2 x 2 tile 4), the shift-and-add, the output write.
    port = spec.buffer.bits_per_ns
    convert = spec.adc.convert_latency_ns()
    post = spec.shift_add.op_latency_ns()

    def window(conversions: int, written: float) -> float:
        a = conversions * convert
        r = spec.read_ns
        return 24 / port + (r + a + max(r, a)) + post + written / port

    assert layers.loc["a", "adc_ns"] == pytest.approx(6 * convert)
    # a writes what b's buffer keeps of its 18 output bits (b reads 24 of a's 36 bits), b its own 18
    assert layers.loc["a", "latency_closed_ns"] == pytest.approx(2 * window(6, 18 * 24 / 36), rel=1e-12)
    assert layers.loc["b", "latency_closed_ns"] == pytest.approx(window(4, 18), rel=1e-12)
    # Nothing contends (one copy per layer, layers in turn): the event model agrees to the picosecond.
    assert result.summary.latency_ns == pytest.approx(2 * window(6, 12) + window(4, 18), rel=1e-12)
    assert result.summary.latency_closed_form_ns == pytest.approx(result.summary.latency_ns, rel=1e-12)
    assert result.summary.contention_wait_ns == 0.0
    # Static energy: buffers, routers, bus and registers of the whole chip for the whole time, the
    # array periphery only while its layer runs (PRIME: power_gating idle-arrays).
    assert result.summary.static_energy_pj > 0
    whole_time = components.loc["dac", "leakage_mw"] * result.summary.latency_ns * 1e-9 * 1e9
    assert components.loc["dac", "static_pj"] < whole_time


def test_every_component_leaks_for_the_whole_time_without_power_gating() -> None:
    hw = PRIME.model_copy(update={"chip": PRIME.chip.model_copy(update={"power_gating": "none"})})
    result = run(two_layers(), hw)
    seconds = result.summary.latency_ns * 1e-9
    for row in result.components:
        assert row.static_pj == pytest.approx(row.leakage_mw * seconds * 1e9, rel=1e-9), row.component
    assert result.summary.static_energy_pj > run(two_layers()).summary.static_energy_pj


def test_halving_the_adcs_slows_an_adc_bound_layer_by_the_predicted_amount() -> None:
    # Slow converters (100 ns a value) make the phases ADC-bound: a window takes r + a + (p - 1) a.
    def chip(columns_per_adc: int):
        adc = SMALL.adc.model_copy(update={"columns_per_adc": columns_per_adc, "sample_rate_rule": "fixed",
                                           "sample_rate_gsps": 0.01})
        return SMALL.model_copy(update={"adc": adc})

    layers = [demand("a", 4, [(32, 32)], 32, 32)]
    full = run(layers, chip(32), size=32)       # one ADC per 32x32 array
    half = run(layers, chip(64), size=32)       # one ADC per two arrays: half the converters
    a_full, a_half = full.layers.iloc[0]["adc_ns"], half.layers.iloc[0]["adc_ns"]
    assert a_half == pytest.approx(2 * a_full) and a_full > full.layers.iloc[0]["read_ns"]
    phases = full.layers.iloc[0]["array_ops"] / 4
    read = full.layers.iloc[0]["read_ns"]
    for result, a in ((full, a_full), (half, a_half)):
        row = result.layers.iloc[0]
        # ADC-bound phases: r + a + (p - 1) x a, then the shift-and-add (one step at the converters' pace)
        assert row["window_ns"] == pytest.approx(read + phases * a + a / 4, rel=1e-9)
        # nothing contends: the closed form and the event model agree
        assert result.summary.latency_ns == pytest.approx(result.summary.latency_closed_form_ns, rel=1e-9)
    assert half.summary.latency_ns - full.summary.latency_ns == pytest.approx(4 * (phases + 0.25) * (a_half - a_full))


def test_replicas_share_windows_and_change_where_events_happen_not_how_many() -> None:
    layers = [demand("a", 64, [(4, 3)], 4, 3), demand("b", 16, [(8, 8), (8, 8)], 8, 8)]
    single = run(layers, sizing=Sizing(policy="fit"))
    many = run(layers, sizing=Sizing(policy="fit", replica_budget=8.0))
    assert (many.layers["replicas"] > 1).any()
    assert many.summary.latency_ns < single.summary.latency_ns
    assert many.summary.latency_ns >= many.summary.latency_closed_form_ns - 1e-6
    events = ["dac_drives", "adc_conversions", "array_cell_reads"]
    assert np.allclose(many.layers[events].sum(), single.layers[events].sum())


def test_pipeline_interval_is_the_slowest_layer() -> None:
    layers = two_layers()
    result = run(layers, execution="pipelined", images=4)
    closed = result.layers["latency_closed_ns"]
    assert result.summary.interval_ns == pytest.approx(closed.max(), rel=0.01)
    assert result.summary.execution == "pipelined"


def test_analog_tree_converts_one_value_per_weight_column() -> None:
    # 8-bit two-column weights in 2-bit cells: 2 polarities x 4 slices = 8 physical columns per weight column.
    result = run([demand("a", 1, [(32, 8)], 32, 8)], SMALL, size=32)
    row = result.layers.iloc[0]
    assert row["arrays"] == 2                      # 8 x 8 = 64 columns in arrays of 32
    assert row["sample_holds"] == 2 * 64           # every physical column, both phases
    # the tree composes a weight's 4 slices; analog subtraction pairs the polarities: one value per column
    assert row["adc_conversions"] == 2 * 8
    assert row["tree_compositions"] == 2 * 8


def test_conductance_model_charges_low_resistance_cells() -> None:
    array = PRIME.array.model_copy(update={"read_energy_model": "conductance", "read_voltage_v": 0.2,
                                           "read_pulse_ns": 10.0})
    hw = PRIME.model_copy(update={"array": array})
    base = demand("a", 1, [(2, 2)], 2, 2, levels=-1)
    # 2x2 tile, 4 arrays (16 cells); levels sum 0 (all high resistance) vs 16 x 15 (all low resistance).
    low, high = (LayerDemand(**{**base.__dict__, "tile_levels": np.array([s])}) for s in (0, 16 * 15))
    e_low, e_high = (run([d], hw).components_table().set_index("component").loc["array"] for d in (low, high))
    assert e_high["dynamic_pj"] / e_low["dynamic_pj"] == pytest.approx(20000 / 1000)
    with pytest.raises(ValueError, match="cell levels"):
        run([base], hw)


def test_chip_too_small_says_by_how_much() -> None:
    hw = PRIME.model_copy(update={"chip": PRIME.chip.model_copy(update={"tiles": 1}),
                                  "tile": PRIME.tile.model_copy(update={"arrays": 1})})
    with pytest.raises(ChipTooSmall, match=r"needs 8 arrays of 256x256 \(8 tiles of 1\); .* short by 7 tiles"):
        run(two_layers()[1:], hw, size=256, sizing=Sizing(policy="fixed"))


def test_fit_sizes_the_chip_to_the_mapping_and_iso_area_to_an_area() -> None:
    layers = [demand("a", 64, [(32, 32)] * 40, 32, 32)]
    fit = run(layers, SMALL, size=32, sizing=Sizing(policy="fit"))
    assert fit.summary.tiles == 1 and fit.summary.arrays_with_replicas == fit.summary.arrays_mapped
    bigger = run(layers, SMALL, size=32, sizing=Sizing(policy="iso-area", area_um2=fit.summary.area_mm2 * 3e6))
    assert bigger.summary.tiles == 3
    assert bigger.summary.arrays_with_replicas > fit.summary.arrays_mapped
    assert bigger.summary.area_mm2 == pytest.approx(3 * fit.summary.area_mm2, rel=0.05)
    # An area smaller than one tile holds no iso-area chip (it gave a one-tile chip before #15).
    with pytest.raises(ChipTooSmall, match=r"one tile of 32x32 arrays .* more than the .* mm\^2 to fill"):
        run(layers, SMALL, size=32, sizing=Sizing(policy="iso-area", area_um2=fit.summary.area_mm2 * 0.5e6))


def test_demands_round_trip_through_the_cache_file(tmp_path: Path) -> None:
    layers = two_layers()
    save_demands(tmp_path / "m.npz", layers, {"note": "x"})
    back = load_demands(tmp_path / "m.npz")
    for a, b in zip(layers, back):
        assert a.name == b.name and a.vectors == b.vectors and a.index_bits == b.index_bits
        assert np.array_equal(a.tile_rows, b.tile_rows) and np.array_equal(a.tile_cols, b.tile_cols)


def test_analog_tree_needs_adjacent_columns(tmp_path: Path) -> None:
    text = (REPO / "hwconfigs" / "sparse_small.yaml").read_text().replace(
        "packing: adjacent-columns", "packing: across-arrays")
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match="analog-tree"):
        load_hardware(path)


def test_every_hardware_file_cites_every_number() -> None:
    from simulator.config.hardware import SourcedBlock

    def numbers_in(value: object) -> list[float]:
        # A table of tables (device.relaxation_sigma_by_power: a polynomial per time) holds numbers too.
        if isinstance(value, dict):
            return [v for child in value.values() for v in numbers_in(child)]
        return [float(value)]  # type: ignore[arg-type]

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
                assert all(math.isfinite(v) for v in numbers_in(value)), f"{name}: {where}.{field}"
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
