"""ISAAC's and PRIME's published figures beside what the chip model computes for their hardware files
(issue #15 item 1; tests/test_validation.py checks them, bench/peers/published_chips.py prints them).

ISAAC (Shafiee et al., ISCA 2016). Table I, as transcribed in dyigitpolat/mimarsinan @ 5c65ecb,
docs/research/physics/isaac_constants_research.md from the corrected PDF (banner "October 5th 2016:
This version corrects some of the results for the ISAAC-PE and ISAAC-SE configurations"). Its power
and area columns are group totals per IMA (12 per tile) or per tile. Peak efficiencies count ISAAC's
way (Sec. VII, "Metrics"): 16-bit operations, a multiply-accumulate is 2, every array busy; one array
does 128 rows x 16 weights of 8 2-bit cells per 16 cycles of 100 ns, so the chip's 16 128 arrays do
41 288 GOPS (the Nature Communications 2024 review, s41467-024-45670-9 Table 3, lists 41.3 TOPS).
Table IV's PE and CE include the HyperTransport links ("HyperTransport overhead is included"), a
chip-to-chip interface resim does not model: its Table I power and area are added to the chip
model's, as published.

The figures the issue first quoted, 380.7 GOPS/W and 644.7 GOPS/(s mm^2), are in no source found:
neither follows from Table I (41 288 / 380.7 would need 108 W; 644.7 x 85.4 mm^2, 55 TOPS). Table I
gives 627.5 GOPS/W and 483.5 GOPS/(s mm^2); corrected Table IV prints ISAAC-CE 478.95 and 627.5
(and ISAAC-PE a PE of 644.2 GOPS/W, the nearest printed number to "644.7").

PRIME (Chi et al., ISCA 2016) publishes structure and relative results only: no energy, power,
latency, area or node (mimarsinan's docs/research/physics/prime_constants_research.md). What it
publishes is compared here; `PRIME_STAND_INS` lists what stands in for the rest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from simulator.hardware.chip.spec import ChipSpec
from simulator.hardware.chip_model import plan_layer
from simulator.mapping.demand import LayerDemand
from simulator.mapping.encoding import get_encoding

# ISAAC Table I per tile (mW, mm^2): the IMA rows x 12 IMAs, the tile rows as printed; the router
# is shared by 4 tiles. The chip model's component names; `array` includes the bitlines' C V^2.
ISAAC_IMAS_PER_TILE = 12
ISAAC_TILE_POWER_MW = {
    "dac": 12 * 4.0, "array": 12 * 2.4, "sample_hold": 12 * 0.010, "adc": 12 * 16.0, "shift_add": 12 * 0.2,
    "buffer": 20.7, "bus": 7.0, "router": 42.0 / 4, "max_pool": 0.4, "activation": 0.52,
    "input_registers": 12 * 1.24, "output_registers": 12 * 0.23 + 1.68,
}
ISAAC_TILE_AREA_MM2 = {
    "dac": 12 * 0.00017, "array": 12 * 0.0002, "sample_hold": 12 * 0.00004, "adc": 12 * 0.0096,
    "shift_add": 12 * 0.00024, "buffer": 0.083, "bus": 0.090, "router": 0.151 / 4, "max_pool": 0.00024,
    "activation": 0.0006, "input_registers": 12 * 0.0021, "output_registers": 12 * 0.00077 + 0.0032,
}
# Table I rows the chip model has no component for (the tile's shift-and-add, which adds the
# partial sums of IMAs sharing an output; the IMA's S+A units are `shift_add`).
ISAAC_UNMODELLED_POWER_MW = {"tile_shift_add": 0.05}
ISAAC_UNMODELLED_AREA_MM2 = {"tile_shift_add": 0.00006}
ISAAC_TILE_TOTAL = (330.0, 0.372)               # mW, mm^2 (Table I "1 Tile Total")
ISAAC_168_TILES = (55.4e3, 62.5)                # mW, mm^2 ("168 Tile Total")
ISAAC_HYPERTRANSPORT = (10.4e3, 22.88)          # mW, mm^2 (4 links at 1.6 GHz, "Hyper Tr")
ISAAC_CHIP_TOTAL = (65.8e3, 85.4)               # mW, mm^2 ("Chip Total")
ISAAC_WEIGHT_BITS = 16                          # Sec. V: 16-bit weights in 8 2-bit cells of one row
# Sec. VIII-B: "the ADCs account for 58 % of tile power and 31 % of tile area".
ISAAC_ADC_SHARE = (0.58, 0.31)
# Peak efficiencies: (GOPS/W, GOPS/(s mm^2)).
ISAAC_TABLE_IV_CE = (627.5, 478.95)             # corrected Table IV, ISAAC-CE
ISAAC_TABLE_I_DERIVED = (627.5, 483.5)          # 41 288 GOPS / 65.8 W, / 85.4 mm^2
ISAAC_ISSUE_QUOTED = (380.7, 644.7)             # issue #15's figures: no source found


@dataclass(frozen=True)
class Comparison:
    """One published figure and the chip model's value for it."""

    quantity: str
    published: float
    model: float
    source: str

    @property
    def ratio(self) -> float:
        return self.model / self.published if self.published else math.inf


def peak_ops_per_ns(spec: ChipSpec, cells_per_weight: int, polarities: int = 1) -> float:
    """Dense operations per ns (= GOPS) with every array busy, 2 per multiply-accumulate: each read
    multiplies N rows by N // cells_per_weight weights (polarities arrays hold one weight column);
    a whole input takes spec.phases reads of spec.cycle_ns."""
    weights = spec.size * (spec.size // cells_per_weight)
    return 2.0 * spec.arrays / polarities * weights / (spec.phases * spec.cycle_ns)


def isaac_peak(spec: ChipSpec) -> dict[str, float]:
    """ISAAC's peak throughput, power, area and efficiencies from the chip model's full-activity
    power and area, with and without Table I's HyperTransport."""
    gops = peak_ops_per_ns(spec, math.ceil(ISAAC_WEIGHT_BITS / spec.cell_bits))
    watts = sum(spec.full_activity_power_mw().values()) / 1e3
    mm2 = spec.chip_area_um2 / 1e6
    ht_w, ht_mm2 = ISAAC_HYPERTRANSPORT[0] / 1e3, ISAAC_HYPERTRANSPORT[1]
    return {"gops": gops, "watts": watts, "mm2": mm2, "pe": gops / (watts + ht_w), "ce": gops / (mm2 + ht_mm2),
            "pe_without_ht": gops / watts, "ce_without_ht": gops / mm2}


def isaac_comparisons(spec: ChipSpec) -> list[Comparison]:
    """ISAAC's published figures against the chip model at its configuration."""
    peak = isaac_peak(spec)
    power = {k: v / spec.tiles for k, v in spec.full_activity_power_mw().items()}
    power["array"] += power.pop("bitline")
    area = {k: v / spec.tiles * 1e-6 for k, v in spec.area_by_component_um2.items()}
    table_i = "ISAAC Table I"
    rows = [
        Comparison("peak GOPS (16-bit ops, 2 per MAC)", 41288.0, peak["gops"],
                   "Table I counts: 16 128 arrays x 2.56 GOPS; Nat. Commun. 2024 review: 41.3 TOPS"),
        Comparison("PE, GOPS/W (HyperTransport included)", ISAAC_TABLE_IV_CE[0], peak["pe"],
                   "corrected Table IV, ISAAC-CE (= Table I: 41 288 / 65.8 W)"),
        Comparison("CE, GOPS/(s mm^2) (HyperTransport included)", ISAAC_TABLE_IV_CE[1], peak["ce"],
                   "corrected Table IV, ISAAC-CE"),
        Comparison("CE, GOPS/(s mm^2), from Table I", ISAAC_TABLE_I_DERIVED[1], peak["ce"],
                   "Table I: 41 288 / 85.4 mm^2"),
        Comparison("PE without HyperTransport, GOPS/W", ISAAC_TABLE_I_DERIVED[0] * 65.8 / 55.4,
                   peak["pe_without_ht"], "Table I: 41 288 / 55.4 W"),
        Comparison("CE without HyperTransport, GOPS/(s mm^2)", ISAAC_TABLE_I_DERIVED[1] * 85.4 / 62.5,
                   peak["ce_without_ht"], "Table I: 41 288 / 62.5 mm^2"),
        Comparison("168 tiles, W", ISAAC_168_TILES[0] / 1e3, peak["watts"], table_i),
        Comparison("168 tiles, mm^2", ISAAC_168_TILES[1], peak["mm2"], table_i),
        Comparison("tile power, mW", ISAAC_TILE_TOTAL[0], sum(power.values()), table_i),
        Comparison("tile area, mm^2", ISAAC_TILE_TOTAL[1], sum(area.values()), table_i),
        Comparison("ADC share of tile power", ISAAC_ADC_SHARE[0], power["adc"] / sum(power.values()),
                   "ISAAC Sec. VIII-B"),
        Comparison("ADC share of tile area", ISAAC_ADC_SHARE[1], area["adc"] / sum(area.values()),
                   "ISAAC Sec. VIII-B"),
    ]
    for name, value in ISAAC_TILE_POWER_MW.items():
        rows.append(Comparison(f"{name} power per tile, mW", value, power[name], table_i))
    for name, value in ISAAC_TILE_AREA_MM2.items():
        rows.append(Comparison(f"{name} area per tile, mm^2", value, area[name], table_i))
    return rows


# PRIME --------------------------------------------------------------------------------------

PRIME_SOURCE = "PRIME (ISCA 2016)"
# What PRIME publishes that no resim figure can be set against, and what stands in (prime.yaml).
PRIME_STAND_INS = (
    ("energy per operation, driver, SA, array read", "not published",
     "driver: NeuroSim V1.4's row switch matrix sized to its 256 cells (dac.model neurosim-load); SA: Murmann-survey "
     "fit (hwcomponents-adc) at 6 b and the read's pace, behind a NeuroSim column multiplexer; cell read: ISAAC "
     "Table I"),
    ("compute read latency, cycle", "not published",
     "ISAAC's 100 ns crossbar read (Sec. IV) as the sensing time, plus NeuroSim's line terms (rc-sense)"),
    ("technology node", "not published (its 65 nm is the NPU baselines')", "32 nm, ISAAC's (assumption)"),
    ("mats per FF subarray", "not published", "64 (prime.yaml tile.arrays, assumption)"),
    ("buffers, on-chip network", "Buffer subarrays and the banks' data bus; no figure",
     "ISAAC's eDRAM (Accelergy's 20.45 pJ / 256 b), ISAAC's router and mesh"),
    ("leakage, power gating", "not published; mats switch between memory and compute mode",
     "drivers, decoders, multiplexers: NeuroSim transistor leakage; S+H: the cited cell's 9.77 nW; the rest "
     "leakage_share 0.2 (hwcomponents-adc's ADC assumption); idle-arrays gating"),
    ("peak GOPS, chip power, die area", "'a tradeoff between peak GOPS and area overhead', no value",
     "resim's figures are its own (bench/peers/published_chips.py)"),
    ("area breakdown of a modified mat (Fig. 12)", "drivers 11 % + 23 %, SA and sigmoid 15 % + 29 %, "
     "decoder 6 %, misc and control 16 %", "not reproduced: see docs/validation.md"),
    ("area overhead 5.76 % of the memory chip", "relative to an unmodelled ReRAM main memory", "no counterpart"),
)


def prime_conversions_per_mac(spec: ChipSpec, *, encoding: str, weight_bits: int, packing: str,
                              polarity: str) -> float:
    """ADC conversions per multiply-accumulate of one full N x N tile, from the chip model's count."""
    n = spec.size
    demand = LayerDemand("full", 1, np.array([n]), np.array([n]), np.array([-1]), n, n, 0, n * n, n * n)
    plan = plan_layer(demand, spec, encoding=encoding, weight_bits=weight_bits, packing=packing,
                      polarity=polarity, r_on_ohm=1.0, r_off_ohm=2.0)
    return plan.per_phase["adc_conversions"] * plan.phases / (n * n)


def prime_comparisons(spec: ChipSpec, *, encoding: str, weight_bits: int, packing: str, polarity: str,
                      r_on_ohm: float, r_off_ohm: float) -> list[Comparison]:
    """PRIME's published structure against the chip model at prime.yaml's configuration (N = 256)."""
    scheme = get_encoding(encoding)
    return [
        Comparison("mat rows = columns", 256, spec.size, f"{PRIME_SOURCE} Sec. V-A: 256x256 cells per mat"),
        Comparison("sense amplifiers per mat", 8, spec.adcs_per_array, f"{PRIME_SOURCE} Sec. V-A: eight 6-bit SAs"),
        Comparison("bitlines per sense amplifier", 32, spec.columns_per_adc, "derived: 256 / 8"),
        Comparison("SA resolution, bits", 6, spec.adc_bits, f"{PRIME_SOURCE} Sec. V-A ('the target output precision "
                                                            "is 6-bit')"),
        Comparison("cell bits (compute)", 4, spec.cell_bits, f"{PRIME_SOURCE} Sec. V-A: 4-bit MLC"),
        Comparison("input driver bits", 3, spec.dac_bits, f"{PRIME_SOURCE} Sec. V-A: 8 input levels"),
        Comparison("input passes (6-bit inputs)", 2, spec.phases, f"{PRIME_SOURCE} Sec. III-D1: two 3-bit halves"),
        Comparison("cells per 8-bit weight (per polarity)", 2, scheme.slices(weight_bits, spec.cell_bits),
                   f"{PRIME_SOURCE} Sec. III-D1: two 4-bit cells"),
        Comparison("arrays per signed weight column", 2, scheme.polarities if packing == "across-arrays" else 1,
                   f"{PRIME_SOURCE} Sec. III-A1: positive and negative crossbars"),
        Comparison("conversions per MAC x 256 (all four partial products)", 4.0,
                   256 * prime_conversions_per_mac(spec, encoding=encoding, weight_bits=weight_bits, packing=packing,
                                                   polarity=polarity),
                   f"{PRIME_SOURCE} Sec. III-A2 (analog subtraction before the SA), III-D1 (4 partial products, "
                   "3 carry bits: 3 to 4 per 256 MACs)"),
        Comparison("R_on, ohm", 1e3, r_on_ohm, f"{PRIME_SOURCE} Sec. V-A"),
        Comparison("R_off, ohm", 20e3, r_off_ohm, f"{PRIME_SOURCE} Sec. V-A"),
        Comparison("FF subarrays (tiles)", 128, spec.tiles,
                   f"{PRIME_SOURCE} Sec. V-A, Table IV: 2 per bank x 8 banks x 8 chips"),
    ]


def mat_area_shares(spec: ChipSpec) -> dict[str, float]:
    """Share of one array and its periphery (drivers, row decoder, sample-and-holds, column
    multiplexers, ADCs, shift-and-add) by component, for PRIME's Fig. 12 (the modified mat's area
    breakdown)."""
    per_adc = spec.adcs_per_tile / spec.arrays_per_tile
    # A shared polarity pair has one set of drivers and sample-and-holds for its two mats.
    per_port = 1.0 / spec.arrays_per_port
    area = {"array": spec.array.area_um2(), "drivers": per_port * spec.size * spec.dac.area_um2(),
            "decoder": spec.row_decoder.area_um2() if spec.row_decoder else 0.0,
            "sample_hold": per_port * spec.size * spec.sample_hold.area_um2(),
            "column_mux": per_adc * spec.column_mux.area_um2() if spec.column_mux else 0.0,
            "sense_amplifiers": per_adc * spec.adc.area_um2(),
            "shift_add": spec.shift_add_units_per_tile * spec.shift_add.area_um2() / spec.arrays_per_tile}
    total = sum(area.values())
    return {k: v / total for k, v in area.items()}
