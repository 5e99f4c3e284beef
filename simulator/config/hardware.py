"""Hardware description: the structure of a PRIME-like chip, every number with its source.

Each block carries a `source` mapping from its field names to a citation (paper and table, or the
derivation). The loader rejects a number without a source, so a reader finds where any figure
comes from in one step.
"""

from __future__ import annotations

import functools
from typing import Annotated, Any, Literal, cast, get_args, get_origin

from pydantic import StrictInt, TypeAdapter, ValidationError, model_validator

from simulator.config.fields import StrictModel, field

SOURCE_DESCRIPTION = (
    "Citation of every number in this block: field name -> paper and table, or the derivation"
)


class SourcedBlock(StrictModel):
    """A block whose numeric fields must each be cited in `source`."""

    source: dict[str, str] = field(
        default_factory=dict, description=SOURCE_DESCRIPTION, unit="text"
    )

    def numeric_fields(self) -> list[str]:
        """Names of fields written in the file holding a number or a table of numbers (the ones
        that need a source; a default left unwritten is documented in the schema instead)."""
        def numeric(value: object) -> bool:
            # A table of tables (e.g. a polynomial per time) is numbers too, and needs its source.
            if isinstance(value, dict):
                return bool(value) and all(numeric(v) for v in value.values())
            return isinstance(value, (int, float)) and not isinstance(value, bool)

        return [
            name
            for name in type(self).model_fields
            if name != "source" and name in self.model_fields_set
            and numeric(getattr(self, name))
        ]


class ArrayConfig(SourcedBlock):
    """One ReRAM crossbar array."""

    rows: StrictInt = field(description="Wordlines per array (inputs)", unit="1", ge=8, le=1024)
    cols: StrictInt = field(description="Bitlines per array (outputs)", unit="1", ge=8, le=1024)
    cell_bits: StrictInt = field(
        description="Bits stored per ReRAM cell (levels = 2**cell_bits)", unit="bit", ge=1, le=8
    )
    r_on_ohm: float = field(description="Low-resistance state (level L)", unit="ohm", gt=0)
    r_off_ohm: float = field(description="High-resistance state (level 0)", unit="ohm", gt=0)
    packing: Literal["across-arrays", "adjacent-columns"] = field(
        "across-arrays",
        description=(
            "Where a weight's polarities and bit slices go: each in its own array (PRIME keeps "
            "positive and negative weights in separate arrays), or side by side in adjacent "
            "columns of one array (seed 004's composition tree reads the slices of one crossbar)"
        ),
        unit="text",
    )
    read_energy_model: Literal["per-cell", "conductance"] = field(
        "per-cell",
        description=(
            "Crossbar read energy: a fixed energy per cell in a driven row (per-cell), or V^2 G t "
            "summed over the cells of the driven rows at their programmed levels (conductance), so "
            "that many low-resistance cells (differential mapping's zeros) cost what they cost"
        ),
        unit="text",
    )
    read_energy_pj_per_cell: float = field(
        description="Energy of one cell in a driven row during one read (per-cell model)", unit="pJ", ge=0
    )
    read_voltage_v: float | None = field(
        None, description="Read voltage on a driven wordline (conductance model; the chip model charges wordlines and "
                          "bitlines to it)", unit="V", gt=0)
    read_pulse_ns: float | None = field(None, description="Duration of the read pulse (conductance model)",
                                        unit="ns", gt=0)
    area_um2: float = field(description="Area of one rows x cols array (scaled by cell count for other sizes)",
                            unit="um^2", ge=0)
    leakage_mw: float = field(0.0, description="Static power of one array", unit="mW", ge=0)
    # Chip model (simulator/hardware/chip): wires of the array and its read latency.
    read_latency_ns: float | None = field(
        None, description="Chip model: one crossbar read (drive, settle, sample) before the wire RC term; "
                          "unset: the file's cycle_ns", unit="ns", gt=0)
    cell_pitch_um: float | None = field(
        None, description="Chip model: cell pitch along a wordline or bitline; unset: derived from the array's area "
                          "as sqrt(area_um2 / (rows x cols))", unit="um", gt=0)
    wire_capacitance_ff_per_um: float = field(
        0.2, description="Chip model: capacitance of a wordline or bitline per length (default 0.2 fF/um: NeuroSim "
                         "V1.4 SubArray.cpp, capRow/capCol = length x 0.2e-15 / 1e-6)", unit="fF/um", gt=0)
    wire_resistance_ohm_per_um: float | None = field(
        None, description="Chip model: resistance of a wordline or bitline per length, for the wire RC term of the "
                          "read latency; unset: the wire RC term is neglected", unit="ohm/um", ge=0)
    read_latency_model: Literal["fixed", "rc-sense"] = field(
        "fixed",
        description=(
            "Chip model: one crossbar read at size N. fixed: read_latency_ns (else cycle_ns) at every N plus the "
            "lines' wire RC (ISAAC Sec. IV, MNSIM 2.0); rc-sense: the row driver charging its wordline + the column "
            "settling (NeuroSim V1.4 SubArray.cpp colDelay = 0.2 C_col R_avg / (N / 2)) + the bitline's wire RC + "
            "sense_ns (simulator/hardware/chip/array.py)"
        ),
        unit="text",
    )
    sense_ns: float | None = field(
        None, description="Chip model, rc-sense read latency: time to sense the settled columns (sample-and-hold "
                          "acquisition or sense amplifier)", unit="ns", gt=0)
    decoder_model: Literal["none", "neurosim"] = field(
        "none",
        description=(
            "Chip model: the array's row decoder. none: not modelled; neurosim: NeuroSim V1.4 RowDecoder.cpp at "
            "technology_nm and device_roadmap, ceil(log2 N) address bits (area and leakage; a parallel read drives "
            "every row through the drivers' input registers, so inference decodes no row)"
        ),
        unit="text",
    )

    @model_validator(mode="after")
    def _off_above_on(self) -> ArrayConfig:
        if self.r_off_ohm <= self.r_on_ohm:
            raise ValueError(
                f"r_off_ohm ({self.r_off_ohm}) must exceed r_on_ohm ({self.r_on_ohm})"
            )
        if self.read_energy_model == "conductance" and (self.read_voltage_v is None or self.read_pulse_ns is None):
            raise ValueError("read_energy_model conductance needs read_voltage_v and read_pulse_ns")
        if self.read_latency_model == "rc-sense" and self.sense_ns is None:
            raise ValueError("read_latency_model rc-sense needs sense_ns (the sensing time after the lines settle)")
        return self


class DeviceConfig(SourcedBlock):
    """The ReRAM cell as a device (issue #24): how far a programmed and read conductance strays from
    its level, beside the stuck-at faults of the fault study. The conductance range is the array's
    (G_on = 1 / array.r_on_ohm, G_off = 1 / array.r_off_ohm) and the levels per cell are
    2**array.cell_bits, evenly spaced in conductance; the line resistance per cell segment is
    array.wire_resistance_ohm_per_um x the cell pitch. Resolved once by simulator.device for the
    accuracy emulation (simulator/faults) and the array's read energy (simulator/hardware)."""

    programming_sigma_by_power: dict[int, float] = field(
        description="State-dependent programming spread: the standard deviation of a programmed conductance around "
                    "its target G, as a fraction of G_on, is the polynomial sum_k c_k x**k of x = G / G_on "
                    "(power k -> c_k)",
        unit="1 (of G_on)", min_length=1)
    programming_distribution: Literal["normal", "lognormal"] = field(
        "normal",
        description="Shape of the programming spread: normal (G + sigma(G) e) or lognormal (G exp(sigma(G) / G e)), "
                    "e a standard normal per cell",
        unit="text")
    read_noise_sigma: float = field(
        description="Standard deviation of one read's conductance around the programmed value (short-term read "
                    "noise), as a fraction of G_on", unit="1 (of G_on)", ge=0, le=1)
    drift_nu: float = field(
        description="Power-law exponent of the mean conductance after programming: G(t) = G(t0) (t / t0)**(-nu)",
        unit="1", ge=0, le=1)
    relaxation_nu: float | None = field(
        None,
        description="Relaxation as one power law for every conductance: the programming spread grows to "
                    "sigma(t) = sigma(t0) (t / t0)**nu, the growth added as an independent spread (give this or "
                    "relaxation_sigma_by_power)",
        unit="1", ge=0, le=1)
    relaxation_sigma_by_power: dict[float, dict[int, float]] | None = field(
        None,
        description="State-dependent relaxation: time since programming -> the polynomial (power k -> c_k) of the "
                    "spread at that time, sigma(G, t) / G_on = sum_k c_k (G / G_on)**k, like "
                    "programming_sigma_by_power (the spread at drift_t0_s); between the times the spread is "
                    "linear in ln t, past the last the last interval's line goes on; the growth over the "
                    "programming spread is added as an independent spread (give this or relaxation_nu)",
        unit="s -> 1 (of G_on)")
    drift_t0_s: float = field(
        description="Reference time t0 of drift and relaxation: the first read after programming, where the "
                    "programming spread is measured", unit="s", gt=0)

    @model_validator(mode="after")
    def _powers_non_negative(self) -> DeviceConfig:
        if any(k < 0 or k > 8 for k in self.programming_sigma_by_power):
            raise ValueError("programming_sigma_by_power: powers must be whole numbers 0..8, got "
                             f"{sorted(self.programming_sigma_by_power)}")
        if (self.relaxation_nu is None) == (self.relaxation_sigma_by_power is None):
            raise ValueError("give one of relaxation_nu (one exponent for every conductance) or "
                             "relaxation_sigma_by_power (a spread polynomial per time), got "
                             + ("both" if self.relaxation_nu is not None else "neither"))
        for t_s, by_power in (self.relaxation_sigma_by_power or {}).items():
            if t_s <= self.drift_t0_s:
                raise ValueError(f"relaxation_sigma_by_power: time {t_s:g} s must come after drift_t0_s "
                                 f"({self.drift_t0_s:g} s, where programming_sigma_by_power gives the spread)")
            if not by_power or any(k < 0 or k > 8 for k in by_power):
                raise ValueError(f"relaxation_sigma_by_power[{t_s:g}]: powers must be whole numbers 0..8, got "
                                 f"{sorted(by_power)}")
        return self


class DacConfig(SourcedBlock):
    """Wordline driver: inputs enter bit-serially, dac.bits per phase."""

    bits: StrictInt = field(description="Input bits applied per phase", unit="bit", ge=1, le=8)
    one_bit_energy_pj: float | None = field(
        None, description="Chip model: operating energy of one 1-bit driver per drive, without the wordline wire "
                          "(multi-bit drivers scale it by 2**(bits - 1), Accelergy's IsaacDAC pow_base(2))",
        unit="pJ", ge=0)
    one_bit_area_um2: float | None = field(
        None, description="Chip model: area of one 1-bit driver (multi-bit: x 2**(bits - 1), as the energy)",
        unit="um^2", ge=0)
    model: Literal["isaac-constant", "neurosim-load"] = field(
        "isaac-constant",
        description=(
            "Chip model: the wordline driver. isaac-constant: ISAAC Table I's 1-bit DAC energy x 2**(bits - 1) at "
            "every N, leakage split off by leakage_share, plus the wordline's C V^2 (simulator/hardware/chip/dac.py); "
            "neurosim-load: NeuroSim V1.4's row switch matrix, its pass gate sized to the N cells it drives, with "
            "its input flip-flops, at technology_nm and device_roadmap (simulator/hardware/chip/row_driver.py)"
        ),
        unit="text",
    )


class AdcConfig(SourcedBlock):
    """Column sensing: one ADC shared by columns_per_adc bitlines."""

    bits: StrictInt = field(description="ADC resolution", unit="bit", ge=1, le=16)
    columns_per_adc: StrictInt = field(
        description="Bitlines of one array that share one ADC through a column multiplexer (converted in turn); "
                    "with arrays_per_adc, an ADC serves columns_per_adc x arrays_per_adc bitlines, spanning whole "
                    "arrays where that exceeds the crossbar size N", unit="1", ge=1, le=1024
    )
    arrays_per_adc: StrictInt = field(
        1, description="Chip model: arrays whose multiplexers feed one ADC (1: every array has its own). Arrays of "
                       "different layer copies that share an ADC contend for it in the event model",
        unit="1", ge=1, le=1024)
    energy_pj_by_bits: dict[int, float] = field(
        description="Energy of one conversion per resolution (a table; the ADC's bits must be in it)",
        unit="pJ", min_length=1,
    )
    area_um2_by_bits: dict[int, float] = field(
        description="Area of one ADC per resolution (a table; the ADC's bits must be in it)", unit="um^2",
        min_length=1,
    )
    sample_rate_gsps: float | None = field(
        None, description="Conversions per second of one ADC (read by sample_rate_rule fixed only)", unit="GS/s",
        gt=0)
    range_fraction: float = field(
        1.0,
        description=(
            "Share of the largest sum a converted column can carry (rows x (2**dac.bits - 1) x its "
            "largest level) that the converter spans: it keeps the top bits of sums up to this "
            "share (a power-of-two step) and larger sums clip. 1.0: no sum ever clips. Read by the "
            "bit-true emulation (simulator/faults/bit_true.py)"
        ),
        unit="1", gt=0, le=1,
    )
    resolution: Literal["fixed", "isaac-rule"] = field(
        "fixed",
        description=(
            "Chip model: ADC bits at crossbar size N. fixed: `bits`; isaac-rule: ISAAC (ISCA 2016) Sec. V eqs. 1-2 "
            "for N rows, dac.bits and cell_bits (the analog tree's composed bits in place of cell_bits, one more bit "
            "for analog polarity subtraction), less log2(1 / range_fraction), capped at max_bits"
        ),
        unit="text",
    )
    max_bits: StrictInt | None = field(None, description="Chip model: cap on the resolution the rule asks for",
                                       unit="bit", ge=1, le=16)
    energy_model: Literal["table", "murmann"] = field(
        "table",
        description=(
            "Chip model: energy and area per conversion. table: energy_pj_by_bits / area_um2_by_bits at the "
            "resolution; murmann: the fit of Murmann's ADC survey in Accelergy's hwcomponents-adc (Andrulis et al., "
            "arXiv 2404.06553) over bits, sample rate and technology_nm"
        ),
        unit="text",
    )
    mux_model: Literal["none", "neurosim"] = field(
        "none",
        description=(
            "Chip model: the column multiplexer in front of each ADC. none: not modelled; neurosim: NeuroSim V1.4 "
            "Mux.cpp pass gates sized to a column of N driven cells, columns_per_adc inputs, with its RowDecoder "
            "(simulator/hardware/chip/column_mux.py), one selection per conversion"
        ),
        unit="text",
    )
    sample_rate_rule: Literal["fixed", "keep-pace"] = field(
        "fixed",
        description=(
            "Chip model: conversions per second of one ADC. fixed: sample_rate_gsps; keep-pace: the values one ADC "
            "converts per array read / the read latency (ISAAC Sec. V: 128 columns per 100 ns read -> 1.28 GS/s)"
        ),
        unit="text",
    )

    @property
    def bitlines_per_adc(self) -> int:
        """Bitlines one ADC serves, over all the arrays it is shared by."""
        return self.columns_per_adc * self.arrays_per_adc

    @model_validator(mode="after")
    def _bits_in_tables(self) -> AdcConfig:
        for name in ("energy_pj_by_bits", "area_um2_by_bits"):
            table = getattr(self, name)
            if self.bits not in table:
                raise ValueError(f"bits = {self.bits} is not in {name} (it has {sorted(table)})")
            if any(v < 0 for v in table.values()):
                raise ValueError(f"{name} holds a negative value")
        if self.sample_rate_rule == "fixed" and self.sample_rate_gsps is None:
            raise ValueError("sample_rate_rule fixed needs sample_rate_gsps")
        return self


class SampleHoldConfig(SourcedBlock):
    """Sample-and-hold on every bitline: holds a column's current while the ADC converts."""

    energy_pj: float = field(description="Energy of one sample", unit="pJ", ge=0)
    area_um2: float = field(description="Area of one sample-and-hold (one per bitline)", unit="um^2", ge=0)
    model: Literal["operating-split", "hold-cell"] = field(
        "operating-split",
        description=(
            "Chip model: operating-split: energy_pj at one sample per read is an operating power, split by "
            "leakage_share; hold-cell: hold_power_nw is the cell's static power and a sample costs its minimum pass "
            "gate's switching (simulator/hardware/chip/sample_hold.py)"
        ),
        unit="text",
    )
    hold_power_nw: float | None = field(None, description="Chip model, hold-cell: static power of one holding cell",
                                        unit="nW", ge=0)

    @model_validator(mode="after")
    def _hold_cell_has_power(self) -> SampleHoldConfig:
        if self.model == "hold-cell" and self.hold_power_nw is None:
            raise ValueError("sample_hold model hold-cell needs hold_power_nw")
        return self


class ShiftAddConfig(SourcedBlock):
    """Digital shift-and-add: accumulates each converted value into its output at its weight."""

    energy_pj: float = field(description="Energy of one shift-and-add operation", unit="pJ", ge=0)
    area_um2: float = field(description="Area of one unit", unit="um^2", ge=0)
    units_per_array: StrictInt = field(1, description="Shift-and-add units per array", unit="1", ge=1, le=1024)


class CompositionConfig(SourcedBlock):
    """How bit slices and polarities of a weight are combined before or after the ADC."""

    slices: Literal["digital", "analog-tree"] = field(
        "digital",
        description=(
            "digital: every slice column is converted and shifted-and-added (ISAAC, PRIME); "
            "analog-tree: seed 004 section V's current tree weights adjacent slice columns by their "
            "binary coefficients and one ADC conversion reads the composed value (needs "
            "array.packing adjacent-columns)"
        ),
        unit="text",
    )
    polarity: Literal["digital", "analog"] = field(
        "digital",
        description=(
            "digital: positive and negative columns converted separately and subtracted after; analog: "
            "subtracted before sensing (PRIME Sec. 3.3), one conversion per pair"
        ),
        unit="text",
    )
    pair_periphery: Literal["separate", "shared"] = field(
        "separate",
        description=(
            "Chip model: the periphery of a positive and a negative array holding one tile's two polarities "
            "(array.packing across-arrays, polarity analog). separate: each array has its own wordline drivers "
            "and converters; shared: the pair shares one input port, whose driver charges both wordlines, and one "
            "set of sense amplifiers that reads the subtracted current (PRIME, ISCA 2016, Sec. III-A1)"
        ),
        unit="text",
    )
    tree_energy_pj: float = field(0.0, description="Energy of one composition by the analog tree (per composed output)",
                                  unit="pJ", ge=0)
    tree_area_um2: float = field(0.0, description="Area of the analog tree of one array", unit="um^2", ge=0)
    composed_bits: StrictInt = field(
        8, description="Chip model: bits of the weight value one analog tree composes from adjacent slice columns "
                       "(default 8: seed 004 Sec. V maps an 8-bit value into adjacent columns and finds 8 bits "
                       "enough)", unit="bit", ge=1, le=32)


class IndexRegisterConfig(SourcedBlock):
    """Index registers: the row and column lists of reordered tiles (seed 004 Fig. 5)."""

    energy_pj_per_bit: float = field(description="Energy of reading one stored index bit", unit="pJ", ge=0)
    area_um2_per_bit: float = field(description="Area of one stored index bit", unit="um^2", ge=0)
    mode: Literal["rows-and-columns", "output-columns"] = field(
        "rows-and-columns",
        description=(
            "Chip model: which registers a reordered tile has and when they are read. rows-and-columns: a register "
            "per used row and column, all read once per input vector (resim's v1 model, an upper bound); "
            "output-columns: seed 004 Sec. III and Fig. 3, registers only for the output (column) indices, "
            "ceil(log2 N)-bit entries indexing inside the split block, read when the tile's outputs are routed"
        ),
        unit="text",
    )


class BufferConfig(SourcedBlock):
    """The tile's eDRAM buffer holding input and output activations."""

    access_bits: StrictInt = field(description="Bits moved per access", unit="bit", ge=1, le=65536)
    energy_pj: float = field(description="Energy of one access", unit="pJ", ge=0)
    bits_per_ns: float = field(description="Bandwidth of the buffer", unit="bit/ns", gt=0)
    area_um2: float = field(description="Area of one tile's buffer", unit="um^2", ge=0)
    capacity_bytes: StrictInt | None = field(None, description="Chip model: capacity of one tile's buffer",
                                             unit="B", ge=1, le=2**34)
    leakage_mw_per_mbit: float | None = field(
        None, description="Chip model: static power (leakage and refresh) per Mbit (2**20 bits) at leakage_node_nm",
        unit="mW/Mbit", ge=0)
    leakage_node_nm: StrictInt | None = field(
        None, description="Chip model: technology node leakage_mw_per_mbit was measured at; scaled to technology_nm "
                          "with Stillmaker & Baas's energy factors (leakage scales as energy, Accelergy hwcomponents "
                          "techscaling.py)", unit="nm", ge=7, le=130)


class LinkConfig(SourcedBlock):
    """The tile's bus from the buffer to the arrays."""

    energy_pj_per_bit: float = field(description="Operating energy of moving one bit (static share split off by "
                                                 "leakage_share)", unit="pJ", ge=0)
    bits_per_ns: float = field(description="Bandwidth of one link", unit="bit/ns", gt=0)
    area_um2: float = field(description="Area per tile", unit="um^2", ge=0)


class NetworkConfig(SourcedBlock):
    """The chip network between tiles: routers joined by links in an H-tree or a 2D mesh."""

    topology: Literal["mesh", "htree"] = field(
        "mesh",
        description=(
            "Chip model: mesh: routers on a ceil(sqrt(routers)) grid, XY routing (hops = Manhattan distance); "
            "htree: a binary tree with tiles at the leaves (hops = up to the lowest common ancestor and down)"
        ),
        unit="text",
    )
    tiles_per_router: StrictInt = field(
        1, description="Chip model: tiles sharing one router (a concentrated mesh); 1 for an H-tree",
        unit="1", ge=1, le=64)
    hop_latency_ns: float | None = field(None, description="Chip model: time for a flit to cross one router and link",
                                         unit="ns", ge=0)
    link_bits_per_ns: float | None = field(None, description="Chip model: bandwidth of one link", unit="bit/ns", gt=0)
    router_energy_pj_per_bit: float | None = field(
        None, description="Chip model: operating energy of one bit through one router (static share split off by "
                          "leakage_share)", unit="pJ", ge=0)
    router_area_um2: float | None = field(None, description="Chip model: area of one router", unit="um^2", ge=0)
    router_ports: StrictInt | None = field(
        None, description="Chip model: ports of one router; ports x link bandwidth is its full-activity traffic",
        unit="1", ge=2, le=64)
    wire_energy_pj_per_bit_mm: float | None = field(
        None, description="Chip model: energy of one bit over one mm of link wire (C V^2)", unit="pJ/mm", ge=0)

    @model_validator(mode="after")
    def _htree_has_no_concentration(self) -> NetworkConfig:
        if self.topology == "htree" and self.tiles_per_router != 1:
            raise ValueError("an htree has one tile per leaf: tiles_per_router must be 1 "
                             f"(got {self.tiles_per_router})")
        return self


class DigitalUnitConfig(SourcedBlock):
    """A digital unit of the tile known by its operating power at a stated operation rate."""

    power_mw: float = field(description="Operating power of one unit at full activity (ops_per_ns), static share "
                                        "included (split off by leakage_share)", unit="mW", ge=0)
    ops_per_ns: float = field(description="Operations one unit performs per ns at full activity: energy per "
                                          "operation = power_mw / ops_per_ns", unit="1/ns", gt=0)
    area_um2: float = field(description="Area of one unit", unit="um^2", ge=0)
    units_per_tile: StrictInt = field(description="Units per tile", unit="1", ge=1, le=65536)


class PoolingConfig(DigitalUnitConfig):
    """Max-pool unit (ISAAC Table I 'MaxPool'): one operation is one comparison of two values;
    average pooling's additions are charged to it as well."""


class ActivationConfig(DigitalUnitConfig):
    """Activation unit (ISAAC Table I 'Sigmoid'): one operation is one output value passed through
    the network's activation function (ReLU, sigmoid, ...)."""


class RegisterConfig(SourcedBlock):
    """A tile's input registers (feeding the drivers) and output registers (collecting shift-and-add
    results before activation, pooling and the buffer), each known by its operating power at a
    stated bit rate."""

    input_power_mw: float = field(description="Operating power of one tile's input registers at full activity",
                                  unit="mW", ge=0)
    input_bits_per_ns: float = field(description="Input bits one tile's input registers pass (each written once "
                                                 "and read once) per ns at full activity", unit="bit/ns", gt=0)
    input_area_um2: float = field(description="Area of one tile's input registers", unit="um^2", ge=0)
    output_power_mw: float = field(description="Operating power of one tile's output registers at full activity",
                                   unit="mW", ge=0)
    output_bits_per_ns: float = field(description="Output bits one tile's output registers pass (each written "
                                                  "once and read once) per ns at full activity", unit="bit/ns",
                                      gt=0)
    output_area_um2: float = field(description="Area of one tile's output registers", unit="um^2", ge=0)


class ProgrammingConfig(SourcedBlock):
    """Writing the weights into the cells once, before inference (MNSIM 2.0's device write model:
    a pulse of write_voltage_v for write_pulse_ns through the cell's mean resistance
    sqrt(r_on x r_off), the cells of one row written together, rows in turn)."""

    write_voltage_v: float = field(description="Voltage across a cell during a write pulse", unit="V", gt=0)
    write_pulse_ns: float = field(description="Duration of one write pulse", unit="ns", gt=0)
    pulses_per_cell: StrictInt = field(description="Write pulses that program one cell", unit="1", ge=1, le=1024)


class TileConfig(SourcedBlock):
    """A tile: arrays with their peripherals and a local buffer."""

    arrays: StrictInt = field(description="Crossbar arrays per tile", unit="1", ge=1, le=65536)


class ChipConfig(SourcedBlock):
    """The chip: tiles connected by a bus or network."""

    tiles: StrictInt = field(description="Tiles per chip", unit="1", ge=1, le=1_000_000)
    execution: Literal["layer-sequential", "pipelined"] = field(
        "layer-sequential",
        description=(
            "layer-sequential: one layer at a time, all its arrays and replicas at work (PRIME); "
            "pipelined: every layer works on its own image at once, an image moves on when the "
            "slowest layer is done (ISAAC's inter-layer pipeline)"
        ),
        unit="text",
    )
    replicate: bool = field(
        True,
        description="Fill arrays left free by the mapping with replicas of the slowest layers (seed 004's speed-up)",
        unit="bool",
    )
    power_gating: Literal["none", "idle-arrays"] = field(
        "idle-arrays",
        description=(
            "Chip model: which arrays' periphery (drivers, sample-and-holds, ADCs, shift-and-add, tree) leaks. "
            "none: every instance on the chip for the whole time per image; idle-arrays: only the arrays holding "
            "weights, and only while their layer runs (a layer-sequential chip powers one layer at a time; a "
            "pipelined chip runs every layer at once, so there it is the arrays in use for the whole time). "
            "Buffers, routers, bus and index registers always leak"
        ),
        unit="text",
    )


class Alternative(StrictModel):
    """A value an assumed number (or a model choice) of the file could take instead, with its source:
    another paper's figure, another simulator's default, or a stated range labelled as an assumption.
    The sensitivity study (simulator.hardware.sensitivity) runs the chip with it in place of the file's."""

    value: StrictInt | float | str = field(description="The value the field takes instead (a number in the field's "
                                                       "unit, or one of an enum field's choices)", unit="field's unit")
    source: str = field(description="Where the value comes from (paper and table, a simulator's file and line), or "
                                    "'Assumption: ...' for a stated range", unit="text", min_length=1)


class HardwareConfig(SourcedBlock):
    """A hardware description file (hwconfigs/*.yaml)."""

    name: str = field(description="Short name of the design", unit="text", min_length=1)
    description: str = field("", description="What this design is and where it comes from", unit="text")
    technology_nm: StrictInt = field(description="CMOS technology node", unit="nm", ge=1, le=1000)
    cycle_ns: float = field(description="Crossbar read cycle", unit="ns", gt=0)
    input_bits: StrictInt = field(
        description="Activation precision fed to the arrays", unit="bit", ge=1, le=32
    )
    leakage_share: float = field(
        0.2,
        description=(
            "Chip model: share of a component's full-activity power that is static, for components whose source "
            "gives only an operating power (DAC, sample-and-hold, ADC, shift-and-add, tree, index registers, bus, "
            "router): leakage = share x energy x full-activity rate, energy per action = (1 - share) x energy "
            "(default 0.2: hwcomponents-adc main.py, 'Assume leakage is 20% of the total energy', an assumption there)"
        ),
        unit="1", ge=0, lt=1,
    )
    device_roadmap: Literal["lstp", "hp"] = field(
        "lstp",
        description=(
            "Chip model: transistors of the circuit models (neurosim-load driver, decoders, multiplexers, hold-cell "
            "sampling gate): NeuroSim V1.4 Technology.cpp's low-standby-power (lstp, NeuroSim's default) or "
            "high-performance (hp) PTM cards at technology_nm"
        ),
        unit="text",
    )
    array: ArrayConfig = field(description="The ReRAM crossbar array", unit="block")
    dac: DacConfig = field(description="Input drivers", unit="block")
    adc: AdcConfig = field(description="Column converters", unit="block")
    sample_hold: SampleHoldConfig = field(description="Bitline sample-and-hold", unit="block")
    shift_add: ShiftAddConfig = field(description="Digital shift-and-add", unit="block")
    composition: CompositionConfig = field(description="Slice and polarity composition", unit="block")
    index_registers: IndexRegisterConfig = field(description="Index registers of reordered tiles", unit="block")
    buffer: BufferConfig = field(description="Tile eDRAM buffer", unit="block")
    bus: LinkConfig = field(description="Tile bus from the buffer to the arrays", unit="block")
    network: NetworkConfig = field(description="Chip network between tiles (routers)", unit="block")
    pooling: PoolingConfig = field(description="Max-pool unit", unit="block")
    activation: ActivationConfig = field(description="Activation unit", unit="block")
    registers: RegisterConfig = field(description="Input and output registers", unit="block")
    programming: ProgrammingConfig = field(description="Writing the weights into the cells", unit="block")
    device: DeviceConfig | None = field(
        None, description="The cell as a device: programming spread, read noise, drift and relaxation (accuracy "
                          "under the device model, `resim faults --variation-scale`); absent: only stuck-at faults",
        unit="block")
    tile: TileConfig = field(description="Tile organisation", unit="block")
    chip: ChipConfig = field(description="Chip organisation", unit="block")
    alternatives: dict[str, list[Alternative]] = field(
        default_factory=dict,
        description="Sourced alternatives of the file's assumed numbers and model choices, for the sensitivity study: "
                    "key path of a numeric or enum field ('leakage_share', 'adc.max_bits') -> the values it could "
                    "take instead, each with its source", unit="block")

    @model_validator(mode="after")
    def _shared_pair_needs_analog_pairs(self) -> HardwareConfig:
        if self.composition.pair_periphery == "shared" and (self.composition.polarity != "analog"
                                                             or self.array.packing != "across-arrays"):
            raise ValueError("composition.pair_periphery shared joins the periphery of a positive and a negative "
                             "array: it needs composition.polarity analog and array.packing across-arrays (got "
                             f"{self.composition.polarity!r} and {self.array.packing!r})")
        return self

    @model_validator(mode="after")
    def _shared_adcs_take_whole_arrays(self) -> HardwareConfig:
        if self.adc.arrays_per_adc > 1 and self.adc.columns_per_adc < self.array.cols:
            raise ValueError(f"adc.arrays_per_adc = {self.adc.arrays_per_adc} shares one ADC between arrays: each "
                             f"array then sends all its columns (adc.columns_per_adc = {self.adc.columns_per_adc} "
                             f"must be at least array.cols = {self.array.cols})")
        return self

    @model_validator(mode="after")
    def _tree_needs_adjacent_columns(self) -> HardwareConfig:
        if self.composition.slices == "analog-tree" and self.array.packing != "adjacent-columns":
            raise ValueError("composition.slices analog-tree composes the slice columns of one array: "
                             "it needs array.packing adjacent-columns")
        return self

    # Alternatives ------------------------------------------------------------------------------

    def value_at(self, key: str) -> Any:
        """The value of the field at key path `key` ('adc.max_bits'); KeyError naming what is allowed."""
        block, name = self._field_at(key)
        return getattr(block, name)

    def source_of(self, key: str) -> str:
        """The source text the file gives for the field at `key` ('' when none)."""
        block, name = self._field_at(key)
        return block.source.get(name, "")

    def with_value(self, key: str, value: Any) -> HardwareConfig:
        """This chip with the field at `key` set to `value`, validated as the file would be (its
        alternatives left out); ValueError saying why the value is not allowed there."""
        self._field_at(key)
        *path, name = key.split(".")

        def changed(block: SourcedBlock, path: list[str]) -> dict[str, Any]:
            # Blocks off the path stay the validated instances they are (pydantic takes them as
            # they are), so one alternative costs one block's validation, not the file's.
            data = {field: getattr(block, field) for field in block.model_fields_set | {"source"}
                    if field != "alternatives"}
            if path:
                data[path[0]] = changed(getattr(block, path[0]), path[1:])
            else:
                data[name] = value
            return data

        try:
            return HardwareConfig.model_validate(changed(self, path))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"] if not str(part).startswith(("literal[", "function-")))
            message = first["msg"].removeprefix("Value error, ")
            raise ValueError(f"{message}" + (f" (at {where})" if where and where != key else "")) from None

    def _field_at(self, key: str) -> tuple[SourcedBlock, str]:
        """The block holding the numeric or enum field at `key` and the field's name."""
        *path, name = key.split(".")
        block: SourcedBlock = self
        for depth, part in enumerate(path):
            child = getattr(block, part, None) if part in type(block).model_fields else None
            if not isinstance(child, SourcedBlock):
                blocks = [n for n in type(block).model_fields if isinstance(getattr(block, n), SourcedBlock)]
                raise KeyError(f"{'.'.join(path[:depth + 1])} is no block of a hardware file; blocks here: "
                               f"{', '.join(blocks)}")
            block = child
        allowed = varied_fields(type(block))
        if name not in allowed:
            where = ".".join(path) or "the top level"
            raise KeyError(f"{name} is no numeric or enum field of {where}; fields there: {', '.join(allowed)}")
        return block, name


def varied_fields(block: type[SourcedBlock]) -> list[str]:
    """The fields of `block` an alternative may set: numbers and enum choices (not text, flags,
    tables or blocks)."""
    def scalar(annotation: Any) -> bool:
        if get_origin(annotation) is Annotated:
            return scalar(get_args(annotation)[0])
        if get_origin(annotation) is Literal:
            return True
        if annotation in (int, float) or annotation is StrictInt:
            return True
        members = get_args(annotation)
        return bool(members) and get_origin(annotation) is not dict and all(
            scalar(m) or m is type(None) for m in members) and any(m is not type(None) for m in members)

    return [name for name, info in block.model_fields.items() if name != "source" and scalar(info.annotation)]


def is_assumption(source: str) -> bool:
    """Whether a source text marks its number as an assumption: 'Assumption: ...', or a figure
    borrowed from another chip because this one publishes none ('Stand-in: ...')."""
    return source.strip().lower().startswith(("assumption", "stand-in"))


@functools.cache
def _field_values(block: type[SourcedBlock], name: str) -> TypeAdapter[Any]:
    """What the field `name` of `block` accepts on its own: its type and constraints."""
    info = block.model_fields[name]
    return TypeAdapter(cast(Any, Annotated[info.annotation, info]))


def alternative_problems(hardware: HardwareConfig) -> list[tuple[str, str, Any]]:
    """Every problem of the file's `alternatives:` block, as (key path, what is wrong, value): a
    key that names no numeric or enum field, a list without values, or a value the field does not
    take (its type, range or choices). A value that only clashes with the rest of the file (an
    ADC resolution its energy table lacks, say) or equals the value in use is no error here: a
    file edited elsewhere keeps loading, and the sensitivity study skips that value, saying why
    (tests/test_sensitivity.py holds the shipped files to both)."""
    problems: list[tuple[str, str, Any]] = []
    for key, options in hardware.alternatives.items():
        where = f"alternatives.{key}"
        try:
            block, name = hardware._field_at(key)
        except KeyError as exc:
            problems.append((where, str(exc.args[0]), None))
            continue
        if not options:
            problems.append((where, "lists no alternative; give at least one {value, source}", None))
        for i, option in enumerate(options):
            try:
                _field_values(type(block), name).validate_python(option.value)
            except ValidationError as exc:
                message = exc.errors()[0]["msg"].removeprefix("Value error, ")
                problems.append((f"{where}[{i}].value", f"is not allowed for {key}: {message}", option.value))
    return problems
