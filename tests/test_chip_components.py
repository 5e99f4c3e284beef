"""The chip model's component library (simulator/hardware/chip) against its sources: ISAAC Table I's
per-instance figures, the Murmann-survey ADC fit's values, ISAAC's ADC resolution rule, the
NeuroSim capacitance model's growth with N, hop counts of both topologies, and ISAAC's tile totals."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml

from simulator.config.errors import ConfigError
from simulator.config.hardware import HardwareConfig, SourcedBlock
from simulator.config.loader import load_hardware
from simulator.hardware.chip import chip_spec
from simulator.hardware.chip.adc import isaac_bits, murmann_area_um2, murmann_energy_pj, required_bits
from simulator.hardware.chip.index_registers import entry_bits
from simulator.hardware.chip.network import Network, htree_hops, htree_wire_pitches, mesh_hops
from simulator.hardware.chip.technology import energy_factor

REPO = Path(__file__).resolve().parents[1]
ISAAC = load_hardware(REPO / "hwconfigs" / "isaac.yaml")
PRIME = load_hardware(REPO / "hwconfigs" / "prime.yaml")
SMALL = load_hardware(REPO / "hwconfigs" / "sparse_small.yaml")
READ_NS = 100.0


def operating_power_reading(hw: HardwareConfig) -> HardwareConfig:
    """The file with the component models that read ISAAC Table I's operating powers as they are
    (chip model v2): ISAAC's constant driver, the S+H's power split by leakage_share, no decoder or
    multiplexer model, the fixed 100 ns read. Table I's cross-checks are checks of that reading."""
    return hw.model_copy(update={
        "dac": hw.dac.model_copy(update={"model": "isaac-constant"}),
        "sample_hold": hw.sample_hold.model_copy(update={"model": "operating-split"}),
        "adc": hw.adc.model_copy(update={"mux_model": "none"}),
        "array": hw.array.model_copy(update={"read_latency_model": "fixed", "decoder_model": "none"})})


ISAAC_T1 = operating_power_reading(ISAAC)
PRIME_V2 = operating_power_reading(PRIME)


def per_instance_mw(energy_pj: float, leakage_mw: float, actions_per_ns: float) -> float:
    """Power of one instance at `actions_per_ns`: dynamic + static."""
    return energy_pj * actions_per_ns + leakage_mw


# ISAAC Table I, one instance at a time -------------------------------------------------------


def test_isaac_per_instance_figures_match_table_one() -> None:
    spec = chip_spec(ISAAC_T1, 128)
    per_read = 1 / spec.read_ns
    # DAC: 8 x 128 per IMA draw 4 mW in 0.00017 mm^2 (the wordline's C V^2 adds 0.25 fJ per drive).
    dac_mw = per_instance_mw(spec.dac.driver_energy_pj(), spec.dac.leakage_mw(), per_read)
    assert dac_mw == pytest.approx(4.0 / 1024, rel=1e-3)
    assert spec.dac.area_um2() == pytest.approx(170 / 1024, rel=1e-2)
    # S+H: 8 x 128 per IMA, 10 uW, 0.00004 mm^2.
    sh_mw = per_instance_mw(spec.sample_hold.sample_energy_pj(), spec.sample_hold.leakage_mw(), per_read)
    assert sh_mw == pytest.approx(0.010 / 1024, rel=1e-3)
    assert spec.sample_hold.area_um2() == pytest.approx(40 / 1024, rel=1e-2)
    # Array: 8 per IMA, 2.4 mW, 0.0002 mm^2; non-volatile, no leakage.
    array_mw = spec.array.read_energy_pj(128, 128) / spec.read_ns
    assert array_mw == pytest.approx(2.4 / 8, rel=2e-3)                # + 0.1 %: 128 bitlines' C V^2
    assert spec.array.area_um2() == pytest.approx(0.0002e6 / 8)
    assert spec.array.leakage_mw() == 0.0
    # ADC: 8 per IMA, 16 mW at Table I's 1.2 GS/s, 0.0096 mm^2; 8 bits, 1.28 GS/s per Sec. V.
    assert spec.adc_bits == 8
    assert spec.adc.sample_rate_gsps == pytest.approx(1.28, rel=1e-6)
    whole = spec.adc.convert_energy_pj() + spec.adc.leakage_mw() / spec.adc.sample_rate_gsps
    assert whole * 1.2 == pytest.approx(16.0 / 8, rel=3e-3)          # 1.67 pJ (Accelergy's rounding of 1.6667)
    assert spec.adc.area_um2() == pytest.approx(0.0096e6 / 8)
    assert spec.adc.convert_latency_ns() == pytest.approx(1 / 1.28, rel=1e-6)
    # S+A: Accelergy's 0.021 pJ per operation; 4 units of 60 um^2 per 8 arrays.
    sa = spec.shift_add
    assert sa.op_energy_pj() + sa.leakage_mw() / sa.ops_per_ns == pytest.approx(0.021)
    assert sa.area_um2() * spec.shift_add_units_per_tile == pytest.approx(12 * 0.00024e6)
    # Router: 42 mW with its 8 ports busy at 32 bit/ns, 0.151 mm^2, one per 4 tiles.
    net = spec.network
    assert per_instance_mw(net.router_bit_energy_pj(), net.router_leakage_mw(), 8 * 32) == pytest.approx(42, rel=2e-3)
    assert net.router_area_um2() == pytest.approx(0.151e6)
    assert net.routers() == 168 // 4
    # eDRAM: 64 KB, 0.083 mm^2; 20.45 pJ per 256 bits at 256 bit/ns = 20.45 mW (Table I: 20.7 mW).
    assert spec.buffer.capacity_bytes == 64 * 1024
    assert spec.buffer.byte_energy_pj() == pytest.approx(20.45 / 32)
    assert spec.buffer.area_um2() == pytest.approx(0.083e6)
    assert spec.buffer.bits_per_ns / 8 * spec.buffer.byte_energy_pj() == pytest.approx(20.7, rel=0.02)
    # Bus: 7 mW, 0.090 mm^2 per tile.
    bus_mw = per_instance_mw(spec.bus.bit_energy_pj(), spec.bus.leakage_mw(), spec.bus.bits_per_ns)
    assert bus_mw == pytest.approx(7.0, rel=1e-3)
    assert spec.bus.area_um2() == pytest.approx(0.090e6)


def test_leakage_is_the_stated_share_of_full_activity_power() -> None:
    spec = chip_spec(ISAAC_T1, 128)
    # hwcomponents-adc: leak = 0.2 E f, convert = 0.8 E.
    e = 1.67
    assert spec.adc.convert_energy_pj() == pytest.approx(0.8 * e)
    assert spec.adc.leakage_mw() == pytest.approx(0.2 * e * spec.adc.sample_rate_gsps)
    assert spec.dac.leakage_mw() == pytest.approx(0.2 * 0.3906 / spec.read_ns)
    # eDRAM: 381 uW/Mbit at 16 nm x Stillmaker & Baas 16 -> 32 nm, for 0.5 Mbit.
    poly = {16: (0.2958, -0.1241, 0.03024), 32: (0.9559, -0.7823, 0.471)}
    value = {n: a * 0.64 + b * 0.8 + c for n, (a, b, c) in poly.items()}
    assert energy_factor(32, 16) == pytest.approx(value[32] / value[16])
    assert energy_factor(32, 16) == pytest.approx(3.799, rel=1e-3)
    assert spec.buffer.leakage_mw() == pytest.approx(0.381 * value[32] / value[16] * 0.5)
    with pytest.raises(ValueError, match="outside the scaling table"):
        energy_factor(3, 32)


def test_isaac_tile_totals_land_near_table_one() -> None:
    """Table I: 330 mW and 0.372 mm^2 per tile. The chip model leaves out ISAAC's tile S+A (0.05 mW,
    0.00006 mm^2: its one Table I row without a component), and adds what Table I does not carry:
    the ADC table's 1.67 pJ (a 1.2 GS/s figure) run at Sec. V's 1.28 GS/s (+12.8 mW), the eDRAM's
    published leakage (+0.72 mW) and link wires at 0.098 pJ/bit/mm (+7.7 mW)."""
    spec = chip_spec(ISAAC_T1, 128)
    power = {k: v / spec.tiles for k, v in spec.full_activity_power_mw().items()}
    # Per group against Table I (IMA rows x 12 IMAs).
    assert power["dac"] == pytest.approx(12 * 4.0, rel=1e-3)
    assert power["array"] + power["bitline"] == pytest.approx(12 * 2.4, rel=2e-3)
    assert power["sample_hold"] == pytest.approx(12 * 0.010, rel=1e-3)
    assert power["adc"] == pytest.approx(12 * 16.0 * 1.28 / 1.2 * 1.67 / (16 / 9.6), rel=1e-3)
    assert power["shift_add"] == pytest.approx(12 * 0.2 * 1.28 / 1.2, rel=1e-2)
    assert power["bus"] == pytest.approx(7.0, rel=1e-3)
    assert power["router"] == pytest.approx(42 / 4, rel=2e-3)
    assert power["max_pool"] == pytest.approx(0.4, rel=1e-9) and power["activation"] == pytest.approx(0.52, rel=1e-9)
    assert power["input_registers"] == pytest.approx(12 * 1.24, rel=1e-9)
    assert power["output_registers"] == pytest.approx(12 * 0.23 + 1.68, rel=1e-9)
    unmodelled_mw, unmodelled_mm2 = 0.05, 0.00006
    total = sum(power.values())
    assert total == pytest.approx(351.3, rel=0.01)   # 330 + 12.8 + 0.7 + 7.7 - 0.05
    explained = 330 - unmodelled_mw + 12.83 + 0.72 + power["network_wire"]
    assert total == pytest.approx(explained, rel=0.01)
    assert power["network_wire"] == pytest.approx(7.65, rel=0.02)
    area_mm2 = spec.tile_area_um2 * 1e-6
    assert area_mm2 == pytest.approx(0.372 - unmodelled_mm2, rel=2e-3)   # 0.3722 mm^2


# ADC -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("bits", "tech", "rate", "energy", "area"), [
    (8, 32, 1.28e9, 1.93, 6469), (4, 32, 1.28e9, 0.924, 5190), (10, 32, 1.28e9, 16.4, 12275),
    (6, 32, 0.32e9, 1.07, 4216), (9, 32, 0.32e9, 2.34, 5335), (8, 32, 0.04e9, 1.71, 3338),
    (10, 32, 0.04e9, 3.31, 4064), (8, 45, 1.28e9, 3.66, 10995), (10, 45, 0.32e9, 12.5, 12344),
])
def test_murmann_fit_reproduces_the_computed_table(bits, tech, rate, energy, area) -> None:
    """Values computed from hwcomponents-adc's formulas and constants (adc_data/model.yaml @ 246af7e)."""
    assert murmann_energy_pj(bits, rate, tech) == pytest.approx(energy, rel=5e-3)
    assert murmann_area_um2(bits, rate, tech) == pytest.approx(area, rel=1e-3)


def test_murmann_fit_shape() -> None:
    # Speed-limited above the knee, resolution-limited below; T^1.88 between nodes; 4-bit floor.
    assert murmann_energy_pj(8, 1.28e9, 32) > murmann_energy_pj(8, 0.32e9, 32) == pytest.approx(
        murmann_energy_pj(8, 0.04e9, 32))
    assert murmann_energy_pj(8, 1e8, 45) / murmann_energy_pj(8, 1e8, 32) == pytest.approx((45 / 32) ** 1.8800369)
    assert murmann_energy_pj(2, 1e9, 32) == murmann_energy_pj(4, 1e9, 32)


def test_isaac_resolution_rule() -> None:
    # ISAAC Sec. V: 128 rows, 1-bit DACs, 2-bit cells -> 9 bits before the encoding trick, 8 after.
    assert isaac_bits(128, 1, 2) == 9
    assert required_bits(128, 1, 2, range_fraction=0.5) == 8
    assert chip_spec(ISAAC, 128).adc_bits == 8
    assert chip_spec(ISAAC, 256).adc_bits == 9 and chip_spec(ISAAC, 32).adc_bits == 6
    # Both cases of eqs. 1-2 are the bits of the largest column sum, for power-of-two rows.
    for rows in (8, 32, 128, 1024):
        for v in range(1, 5):
            for w in range(1, 5):
                assert isaac_bits(rows, v, w) == math.ceil(math.log2(rows * (2 ** v - 1) * (2 ** w - 1) + 1))
    # PRIME: 256 rows, 3-bit drivers, 4-bit cells, analog polarity subtraction -> 15 + 1 = 16, capped at its 6-bit SAs.
    prime = chip_spec(PRIME, 256)
    assert (prime.adc_bits_rule, prime.adc_bits) == (16, 6)
    # Seed 004's tree composes 4 slices of 2-bit cells: the composed value reads like one 8-bit cell.
    largest = 32 * (2 ** 3 - 1) * sum((2 ** 2 - 1) * 2 ** (2 * j) for j in range(4))
    assert required_bits(32, 3, 2, composed_bits=8) == math.ceil(math.log2(largest + 1)) == 16
    small = chip_spec(SMALL, 32)
    assert (small.adc_bits_rule, small.adc_bits) == (17, 8)


def test_fixed_resolution_and_table_limits(tmp_path: Path) -> None:
    fixed = ISAAC.model_copy(update={"adc": ISAAC.adc.model_copy(update={"resolution": "fixed"})})
    assert chip_spec(fixed, 256).adc_bits == 8
    # The table stops at 10 bits; 1024 rows need 11.
    with pytest.raises(ValueError, match="no entry for the 11-bit ADC"):
        chip_spec(ISAAC, 1024)
    capped = ISAAC.model_copy(update={"adc": ISAAC.adc.model_copy(update={"max_bits": 10})})
    assert chip_spec(capped, 1024).adc_bits == 10


def test_keep_pace_sizes_the_adc_to_the_read() -> None:
    for hw in (ISAAC, PRIME, SMALL):
        for n in (32, 128, 256):
            spec = chip_spec(hw, n)
            assert spec.convert_ns == pytest.approx(spec.read_ns)
            assert spec.cycle_ns == pytest.approx(spec.read_ns)
    # PRIME: 32 bitlines per SA -> 0.32 GS/s; seed 004's tree: an ADC of four 32-column arrays,
    # 128 columns / 4 slices = 32 values per read.
    assert chip_spec(PRIME, 256).adc.sample_rate_gsps == pytest.approx(0.32, rel=1e-4)   # the read: 100 ns + lines
    assert chip_spec(SMALL, 32).conversions_per_read == 32
    # A fixed-rate ADC slower than the read sets the cycle.
    slow = ISAAC.model_copy(update={"adc": ISAAC.adc.model_copy(update={"sample_rate_rule": "fixed",
                                                                       "sample_rate_gsps": 0.64})})
    spec = chip_spec(slow, 128)
    assert spec.cycle_ns == pytest.approx(200.0)


# Geometry -------------------------------------------------------------------------------------


def test_geometry_keeps_the_cell_budget_and_represents_adc_sharing() -> None:
    isaac = chip_spec(ISAAC, 128)
    assert (isaac.tiles, isaac.arrays_per_tile, isaac.adcs_per_tile, isaac.phases) == (168, 96, 96, 16)
    assert (isaac.cell_bits, isaac.dac_bits, isaac.input_bits) == (2, 1, 16)
    # At N = 32 an ISAAC ADC (128 bitlines) serves four arrays.
    small_isaac = chip_spec(ISAAC, 32)
    assert (small_isaac.arrays_per_tile, small_isaac.adcs_per_array, small_isaac.arrays_per_adc,
            small_isaac.adcs_per_tile) == (1536, 0, 4, 384)
    prime = chip_spec(PRIME, 256)
    # PRIME: eight SAs per mat, shared by a polarity pair's two mats (PRIME Sec. III-A1).
    assert (prime.arrays_per_tile, prime.adcs_per_array, prime.adcs_per_tile, prime.phases) == (64, 8, 256, 2)
    assert prime.pair_shared and prime.adc_group_arrays == 2
    assert chip_spec(PRIME, 256, tiles=3).tiles == 3
    assert chip_spec(SMALL, 32).arrays_per_tile == 4096


def test_components_list_adds_up() -> None:
    spec = chip_spec(SMALL, 32)
    rows = {c.name: c for c in spec.components(index_bits_stored=1000)}
    assert set(rows) == {"array", "bitline", "dac", "sample_hold", "row_decoder", "column_mux", "adc", "shift_add",
                         "composition_tree", "index_registers", "buffer", "bus", "router", "network_wire", "max_pool",
                         "activation", "input_registers", "output_registers"}
    assert rows["row_decoder"].instances == spec.arrays
    assert rows["column_mux"].instances == rows["adc"].instances
    assert rows["max_pool"].instances == spec.tiles and rows["activation"].instances == 2 * spec.tiles
    assert rows["input_registers"].instances == rows["output_registers"].instances == spec.tiles
    assert rows["dac"].instances == rows["sample_hold"].instances == spec.arrays * 32
    assert rows["adc"].instances == spec.tiles * spec.adcs_per_tile
    assert rows["composition_tree"].instances == spec.arrays
    assert rows["index_registers"].instances == 1000
    assert rows["router"].instances == 128 // 4
    assert spec.chip_area_um2 == pytest.approx(sum(c.area_total_um2 for c in rows.values())
                                               - rows["index_registers"].area_total_um2)
    assert spec.leakage_mw == pytest.approx(sum(spec.leakage_by_component_mw.values()))
    assert all(v > 0 for k, v in spec.leakage_by_component_mw.items() if k not in {"array", "bitline",
                                                                                     "index_registers", "network_wire"})
    assert chip_spec(PRIME, 256).tree is None


# Scaling with N: the capacitance model ----------------------------------------------------------


@pytest.mark.parametrize("n", [32, 128, 256])
def test_wire_energies_follow_the_capacitance_model(n: int) -> None:
    spec = chip_spec(ISAAC_T1, n)
    pitch = math.sqrt(25.0 / 128 ** 2)                 # um, from ISAAC's 25 um^2 per 128 x 128 array
    c_ff = 0.2 * n * pitch                             # NeuroSim: 0.2 fF/um
    line_pj = c_ff * 0.5 ** 2 * 1e-3                   # C V^2 at NeuroSim's 0.5 V read voltage
    assert spec.dac.wordline_energy_pj() == pytest.approx(line_pj)
    assert spec.array.bitline_energy_pj() == pytest.approx(line_pj)
    assert spec.dac.drive_energy_pj() == pytest.approx(0.8 * 0.3906 + line_pj)
    assert spec.array.read_energy_pj(n, n) == pytest.approx(n * n * 0.001831 + n * line_pj)
    # Wire RC: 0.38 r c L^2 per line (wordline, then bitline), r = 5.70 ohm/um.
    length = n * pitch
    assert spec.read_ns - 100.0 == pytest.approx(2 * 0.38 * 5.70 * length * 0.2 * length * 1e-6)
    assert spec.array.area_um2() == pytest.approx(25.0 * n * n / 128 ** 2)


def test_dac_and_array_energy_grow_with_n() -> None:
    specs = [chip_spec(PRIME_V2, n) for n in (32, 128, 256)]
    wordline = [s.dac.wordline_energy_pj() for s in specs]
    assert wordline[1] / wordline[0] == pytest.approx(4) and wordline[2] / wordline[1] == pytest.approx(2)
    drive = [s.dac.drive_energy_pj() for s in specs]
    assert drive[0] < drive[1] < drive[2]
    # 3-bit drivers: 2^(3 - 1) x ISAAC's 1-bit driver (Accelergy IsaacDAC pow_base(2)).
    assert specs[0].dac.driver_energy_pj() == pytest.approx(0.8 * 0.3906 * 4)
    assert specs[0].dac.area_um2() == pytest.approx(0.166 * 4)
    read = [s.array.read_energy_pj(s.size, s.size) for s in specs]
    assert read[0] < read[1] < read[2]
    # Without a wire resistance the RC term is neglected and the read takes the cited 100 ns.
    no_r = PRIME_V2.model_copy(update={"array": PRIME_V2.array.model_copy(update={"wire_resistance_ohm_per_um": None})})
    assert chip_spec(no_r, 256).read_ns == 100.0


# Network -----------------------------------------------------------------------------------------


def test_mesh_hops_are_manhattan_distances() -> None:
    assert [mesh_hops(0, b, 9) for b in range(9)] == [0, 1, 2, 1, 2, 3, 2, 3, 4]
    assert mesh_hops(2, 6, 9) == 4 and mesh_hops(5, 5, 9) == 0
    assert mesh_hops(0, 4, 5) == 2     # 5 routers on a 3 x 3 grid: router 4 sits at (1, 1)


def test_htree_hops_go_up_to_the_common_ancestor() -> None:
    assert [htree_hops(0, b) for b in range(8)] == [0, 2, 4, 4, 6, 6, 6, 6]
    assert htree_hops(5, 4) == 2 and htree_hops(3, 4) == 6
    # Links: half a pitch at levels 1 and 2, one pitch at 3 and 4, two at 5 and 6.
    assert htree_wire_pitches(0, 1) == 1.0 and htree_wire_pitches(0, 2) == 2.0 and htree_wire_pitches(0, 4) == 4.0


def net(topology: str, tiles: int, tiles_per_router: int) -> Network:
    return Network(topology, tiles, tiles_per_router, tile_pitch_mm=0.5, hop_latency_ns=4.0, link_bits_per_ns=32.0,
                   router_energy_per_bit_pj=0.164, router_ports=8, router_area_each_um2=1.0,
                   wire_energy_per_bit_mm_pj=0.098, leakage_share=0.2)


def test_network_transfers() -> None:
    mesh = net("mesh", 16, 4)          # 4 routers on a 2 x 2 grid, 4 tiles each
    assert mesh.routers() == 4
    assert mesh.hops(0, 3) == 0 and mesh.hops(0, 4) == 1 and mesh.hops(0, 15) == 2
    assert mesh.wire_mm(0, 15) == pytest.approx(2 * 2 * 0.5)    # a router pitch is 2 tile pitches
    assert mesh.transfer_ns(64, 0, 15) == pytest.approx(2 * 4.0 + 64 / 32)
    assert mesh.transfer_energy_pj(10, 0, 15) == pytest.approx(10 * 2 * (0.8 * 0.164 + 0.098 * 1.0))
    assert mesh.bit_hop_energy_pj() == pytest.approx(0.8 * 0.164 + 0.098 * 1.0)
    tree = net("htree", 8, 1)
    assert tree.routers() == 7 and net("htree", 5, 1).routers() == 3 + 2 + 1
    assert tree.transfer_energy_pj(1, 0, 4) == pytest.approx(6 * 0.8 * 0.164 + 4 * 0.5 * 0.098)
    with pytest.raises(ValueError, match="tile 8 is not on a chip of 8 tiles"):
        tree.hops(0, 8)
    # ISAAC: 168 tiles, 42 routers on a 7 x 7 grid.
    isaac = chip_spec(ISAAC, 128).network
    assert isaac.hops(0, 167) == mesh_hops(0, 41, 42) == 5 + 6


def test_htree_cannot_be_concentrated(tmp_path: Path) -> None:
    doc = yaml.safe_load((REPO / "hwconfigs" / "prime.yaml").read_text())
    doc["network"]["topology"] = "htree"
    path = tmp_path / "hw.yaml"
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(ConfigError, match="tiles_per_router must be 1"):
        load_hardware(path)
    doc["network"]["tiles_per_router"] = 1
    doc["network"]["source"]["tiles_per_router"] = "test"
    path.write_text(yaml.safe_dump(doc))
    spec = chip_spec(load_hardware(path), 256)
    assert spec.network.routers() == 127


# Index registers -------------------------------------------------------------------------------


def test_index_registers_as_seed_004_uses_them() -> None:
    small = chip_spec(SMALL, 32).index_registers
    assert small.mode == "output-columns" and entry_bits(32) == 5
    # A reordered tile using 20 rows and 30 columns stores and reads only its 30 output indices.
    assert small.stored_bits(20, 30) == 30 * 5
    assert small.bits_read_per_output_vector(20, 30) == 150
    assert small.stored_bits(20, 30, span=4096) == 30 * 12     # indexing inside a wider split block
    legacy = chip_spec(PRIME, 256).index_registers
    assert legacy.mode == "rows-and-columns"
    assert legacy.stored_bits(20, 30) == 50 * 8
    assert small.bit_read_energy_pj() == pytest.approx(0.8 * 0.121)
    assert small.leakage_mw_per_bit() == pytest.approx(0.2 * 1.24 / 16384, rel=0.01)   # ISAAC's 2 KB IR


# Files -----------------------------------------------------------------------------------------


def _cited(block: dict, where: str):
    """(path, cited?) for every number written in `block` and its sub-blocks; a table of numbers
    (energy_pj_by_bits), or a table of tables keyed by numbers (relaxation_sigma_by_power: a
    polynomial per time), is cited by its own key."""
    for key, value in block.items():
        if key == "source":
            continue
        if isinstance(value, dict) and value and all(isinstance(k, (int, float)) for k in value):
            yield f"{where}{key}", bool(str(block.get("source", {}).get(key, "")).strip())
        elif isinstance(value, dict):
            yield from _cited(value, f"{where}{key}.")
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            yield f"{where}{key}", bool(str(block.get("source", {}).get(key, "")).strip())


@pytest.mark.parametrize("name", ["isaac", "prime", "sparse_small"])
def test_every_hwconfig_loads_and_cites_every_number(name: str) -> None:
    path = REPO / "hwconfigs" / f"{name}.yaml"
    hardware = load_hardware(path)
    numbers = list(_cited(yaml.safe_load(path.read_text()), ""))
    # The walk over the file sees every number the schema read from it (a count fixed in advance
    # would only say how many keys the file happens to have).
    blocks = [hardware, *(getattr(hardware, f) for f in type(hardware).model_fields
                          if isinstance(getattr(hardware, f), SourcedBlock))]
    assert len(numbers) == sum(len(b.numeric_fields()) for b in blocks) > 0
    assert [where for where, cited in numbers if not cited] == []
    for n in (8, 16, 32, 64, 128, 256, 512):
        spec = chip_spec(load_hardware(path), n)
        assert spec.chip_area_um2 > 0 and spec.leakage_mw > 0


def test_a_new_number_without_source_is_rejected(tmp_path: Path) -> None:
    doc = yaml.safe_load((REPO / "hwconfigs" / "isaac.yaml").read_text())
    del doc["network"]["source"]["hop_latency_ns"]
    path = tmp_path / "hw.yaml"
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(ConfigError) as info:
        load_hardware(path)
    assert [p.path for p in info.value.problems] == ["network.source.hop_latency_ns"]


def test_a_v1_file_without_chip_fields_says_what_is_missing(tmp_path: Path) -> None:
    doc = yaml.safe_load((REPO / "hwconfigs" / "prime.yaml").read_text())
    for block, key in (("dac", "one_bit_energy_pj"), ("buffer", "capacity_bytes"), ("network", "hop_latency_ns")):
        del doc[block][key]
        del doc[block]["source"][key]
    path = tmp_path / "hw.yaml"
    path.write_text(yaml.safe_dump(doc))
    hw = load_hardware(path)      # the v1 model still loads it
    with pytest.raises(ValueError, match=r"lacks what the chip model needs: dac.one_bit_energy_pj, "
                                         r"buffer.capacity_bytes, network.hop_latency_ns"):
        chip_spec(hw, 256)
