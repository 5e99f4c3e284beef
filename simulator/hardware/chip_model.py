"""The hardware stage: a mapped network on a chip of N x N arrays, sized by a policy, run by the
event model (simulator.hardware.engine), its energy counted from what ran.

1. Per layer, what one copy of it costs (`plan_layer`): arrays, and per array read (one input
   phase of one window) the cells read, bitlines charged, wordlines driven, samples, conversions
   and shift-and-adds of the tiles the mapping placed, never of a dense grid, and the input
   register bits that feed their drivers; per window the index register bits read, the bits
   fetched and written, the output register bits, the pooling comparisons and activations after
   the layer (simulator.lowering.post_ops); the read and conversion times at N.
2. The chip (`size_chip`): `fixed` (the hardware file's tiles), `fit` (the fewest tiles that hold
   one copy of every layer, plus `replica_budget` more arrays for replicas) or `iso-area` (as many
   tiles as fit the area of another chip, the baseline's).
3. Replicas of the slowest layers into the arrays left free (placement.replicate), copies placed
   on tiles in layer order (placement.place).
4. The event model runs `images` images; energy = events that ran x energy per event (spec
   components) + leakage power of every instance on the chip x the time per image.
5. Apart from the per-inference figures: programming, every placed cell of every copy written once
   (chip/programming.py), and the time it takes (`programming_time_ns`).
"""

from __future__ import annotations

import math
import pickle
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from simulator.device import Conductances
from simulator.hardware.chip.network import htree_level
from simulator.hardware.chip.spec import ChipSpec
from simulator.hardware.engine import (
    CopyPlan,
    EngineResult,
    EngineSetup,
    LayerWork,
    closed_form,
    input_needs,
    simulate,
    simulation_key,
)
from simulator.hardware.placement import ChipTooSmall, Replica, place, replicate
from simulator.lowering.dataflow import Dataflow, LayerGeometry, window_needs
from simulator.mapping.demand import LayerDemand
from simulator.mapping.encoding import get_encoding

SizingPolicy = Literal["fixed", "fit", "iso-area"]
# Components that belong to an array (its periphery): power gating switches them off with it.
ARRAY_PERIPHERY = ("array", "bitline", "dac", "sample_hold", "row_decoder", "column_mux", "adc", "shift_add",
                   "composition_tree")
PHASE_EVENTS = ("array_cell_reads", "array_conductance_us", "bitline_charges", "dac_drives", "sample_holds",
                "row_decodes", "mux_selections", "adc_conversions", "shift_adds", "tree_compositions",
                "input_register_bits")
# Events once per window: pooling and activation of its outputs, its outputs through the output registers.
WINDOW_EVENTS = ("pool_comparisons", "activations", "output_register_bits")


@dataclass(frozen=True)
class Sizing:
    """How big the chip is: the same policy for a workload's chip and its baselines."""

    policy: SizingPolicy = "fixed"
    replica_budget: float = 0.0            # fit: extra arrays for replicas, as a share of the mapping's
    area_um2: float | None = None          # iso-area: the area to fill (the baseline chip's)
    replicate: bool = True                 # fill free arrays with replicas of the slowest layers


@dataclass(frozen=True)
class LayerPlan:
    """One copy of one layer on the chip."""

    name: str
    windows: int
    tiles: int                             # logical tiles of the mapping
    arrays: int                            # physical arrays of one copy
    per_phase: dict[str, float]            # events of one array read of every array of the copy
    index_bits: float                      # index register bits read per window
    index_bits_stored: int                 # index register bits one copy stores
    in_bits: float                         # inputs fetched per window
    out_bits: float                        # outputs written per window (to each consumer)
    read_ns: float
    adc_ns: float                          # one phase's conversions on the copy's busiest ADC
    post_ns: float
    phases: int
    macs: int
    nonzeros: int
    row_drives: float = 0.0                # wordline drives per array read with every row driven
    activity: float = 1.0                  # share of them that fire (measured input-digit activity)
    conversions: np.ndarray = field(default_factory=lambda: np.zeros(0))   # per array of the copy, per read
    per_window: dict[str, float] = field(default_factory=dict)   # WINDOW_EVENTS of one window
    cells: float = 0.0                     # cells of one copy's placed tiles (programmed once)
    array_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))   # rows of each physical array

    @property
    def window_ns(self) -> float:
        r, a, p = self.read_ns, self.adc_ns, self.phases
        return r + a + (p - 1) * max(r, a) + self.post_ns

    # What placement.replicate and place ask of a layer (placement.LayerCost).
    @property
    def vectors(self) -> int:
        return self.windows

    def time_ns(self, replicas: int) -> float:
        return math.ceil(self.windows / replicas) * self.window_ns


def tile_arrays(cols: np.ndarray, polarities: int, slices: int, size: int, packing: str) -> np.ndarray:
    """Physical arrays of every logical tile: one per polarity and slice across arrays, or the
    tile's columns x polarities x slices side by side in arrays of `size` columns."""
    if packing == "across-arrays":
        return np.full(cols.shape, polarities * slices, dtype=np.int64)
    return -(-cols * polarities * slices // size)


def plan_layer(demand: LayerDemand, spec: ChipSpec, *, encoding: str, weight_bits: int, packing: str,
               polarity: str, r_on_ohm: float, r_off_ohm: float, activity: float = 1.0) -> LayerPlan:
    """What one copy of `demand` costs on `spec`'s chip; `activity` is the share of row drives
    that fire (1: every row of every placed array driven in every phase)."""
    scheme = get_encoding(encoding)
    pol, slices = scheme.polarities, scheme.slices(weight_bits, spec.cell_bits)
    r, c = demand.tile_rows, demand.tile_cols
    arrays_t = tile_arrays(c, pol, slices, spec.size, packing)
    physical_cols = c * pol * slices
    # Values that reach an ADC: analog subtraction pairs the polarities, the analog tree composes
    # a weight's slices (in groups of the tree's span) before one conversion.
    per_pol = pol if polarity == "digital" else 1
    span = spec.tree.span_columns() if spec.tree is not None else 1
    conv_t = c * per_pol * math.ceil(slices / span)
    cells = float((r * physical_cols).sum())
    # A shared polarity pair (PRIME Sec. III-A1) drives both arrays' rows from one port and samples
    # the subtracted current once per column pair.
    ports = spec.arrays_per_port if pol == 2 and packing == "across-arrays" else 1
    row_drives = float((arrays_t * r).sum()) / ports
    per_phase = dict.fromkeys(PHASE_EVENTS, 0.0)
    per_phase.update({
        "bitline_charges": float(physical_cols.sum()),
        "dac_drives": row_drives * activity,
        "sample_holds": float(physical_cols.sum()) / ports,
        # Every row is driven at once through the drivers' input registers: the row decoder (memory
        # mode, writes) decodes nothing in a parallel read (NeuroSim V1.4 SubArray.cpp has no
        # wlDecoder in a cross-point conventionalParallel read).
        "row_decodes": 0.0,
        # One multiplexer selection in front of every conversion (NeuroSim Mux, numColMuxed > 1).
        "mux_selections": float(conv_t.sum()) if spec.column_mux is not None and spec.column_mux.present else 0.0,
        "adc_conversions": float(conv_t.sum()),
        "shift_adds": float(conv_t.sum()),
        "tree_compositions": float(conv_t.sum()) if spec.tree is not None else 0.0,
        # The input registers feed every placed row's digit to its driver in every phase, fired or not.
        "input_register_bits": row_drives * spec.dac_bits,
    })
    if spec.array.read_model == "conductance":
        if (demand.tile_levels < 0).any():
            raise ValueError(f"layer {demand.name}: the conductance read model needs the tiles' cell levels")
        # The level conductances the accuracy side programs too (simulator.device).
        conductances = Conductances.of_resistances(r_on_ohm, r_off_ohm, spec.cell_bits)
        # A row whose input digit is 0 gets no read voltage: its cells draw no current (the same
        # measured share as the drivers; found beside NeuroSim V1.4, docs/validation.md).
        per_phase["array_conductance_us"] = activity * conductances.summed_us(cells, float(demand.tile_levels.sum()))
    else:
        per_phase["array_cell_reads"] = cells * activity
    # The busiest ADC: a tile's conversions spread over its arrays (an analog-subtracted pair of
    # arrays converts once per column), gathered per converter group (the arrays one ADC serves, or
    # one array or shared pair and its ADCs), then over the group's ADCs. The copy is taken to start
    # on a group boundary; where placement puts it elsewhere, evaluate() works out what it shares.
    conversions = np.repeat(conv_t / np.maximum(arrays_t, 1), arrays_t)
    group = spec.adc_group_arrays
    loads = np.concatenate([conversions, np.zeros(-conversions.size % group)]).reshape(-1, group).sum(axis=1)
    busiest = int(np.ceil(float(loads.max(initial=0.0)) / max(spec.adcs_per_array, 1) - 1e-9))
    regs = spec.index_registers
    reordered = demand.index_bits > 0       # grid strategies place tiles where they are: no registers
    stored = regs.stored_bits_total(r, c) if reordered else 0
    bits = spec.input_bits
    windows = max(demand.vectors, 1)
    per_window = dict(zip(WINDOW_EVENTS, (demand.pool_ops / windows, demand.activations / windows,
                                          float(demand.cols_used * bits))))
    return LayerPlan(
        name=demand.name, windows=demand.vectors, tiles=demand.tiles, arrays=int(arrays_t.sum()),
        per_phase=per_phase, index_bits=float(stored), index_bits_stored=stored,
        in_bits=float(demand.rows_used * bits), out_bits=float(demand.cols_used * bits),
        read_ns=spec.read_ns if demand.tiles else 0.0, adc_ns=busiest * spec.adc.convert_latency_ns(),
        post_ns=(spec.shift_add.op_latency_ns() if demand.tiles else 0.0), phases=spec.phases,
        macs=demand.macs, nonzeros=demand.nonzeros, row_drives=row_drives, activity=activity,
        conversions=conversions, per_window=per_window, cells=cells, array_rows=np.repeat(r, arrays_t))


def converter_keys(count: int, start: int, group: int, arrays_per_tile: int) -> np.ndarray:
    """Converter group of each of arrays start .. start + count - 1 of the chip: groups of `group`
    consecutive arrays, never across a tile."""
    tile, local = np.divmod(start + np.arange(count), arrays_per_tile)
    return tile * -(-arrays_per_tile // group) + local // group


def _runs(*labels: np.ndarray) -> np.ndarray:
    """Starts of the runs of equal labels (arrays placed in order: a group's arrays are adjacent)."""
    change = np.zeros(labels[0].size, dtype=bool)
    change[0] = True
    for label in labels:
        change[1:] |= label[1:] != label[:-1]
    return np.flatnonzero(change)


def converter_loads(conversions: np.ndarray, start: int, group: int, arrays_per_tile: int) -> dict[int, float]:
    """Conversions per array read on each converter group that arrays start .. start + n - 1 of the
    chip use, keyed by group id."""
    if not conversions.size:
        return {}
    keys = converter_keys(conversions.size, start, group, arrays_per_tile)
    first = _runs(keys)
    return dict(zip(keys[first].tolist(), np.add.reduceat(conversions, first).tolist()))


def shared_converters(plans: list[LayerPlan], replicas: list[Replica],
                      spec: ChipSpec) -> list[tuple[float, tuple[tuple[int, float], ...]]]:
    """Per copy (placement.place's order): its busiest own converter's time per phase and the
    converters it shares with other copies, (group id, its conversions' time per phase). Copies
    placed back to back share the ADC of the group their boundary falls in. Copies contend only if
    they run at once: any two in a pipelined chip, replicas of one layer in a layer-sequential one."""
    group, adcs = spec.adc_group_arrays, max(spec.adcs_per_array, 1)
    convert_ns = spec.adc.convert_latency_ns()
    sizes = [plans[r.layer].conversions.size for r in replicas]
    if not sum(sizes):
        return [(0.0, ()) for _ in replicas]
    # Every placed array of every copy at once: its copy, its converter group, its conversions.
    copy = np.repeat(np.arange(len(replicas)), sizes)
    keys = np.concatenate([converter_keys(n, r.start, group, spec.arrays_per_tile)
                           for r, n in zip(replicas, sizes)])
    load = np.concatenate([plans[r.layer].conversions for r in replicas])
    first = _runs(copy, keys)
    per_pair = np.add.reduceat(load, first)                            # conversions of one copy on one group
    pair_copy, pair_key = copy[first], keys[first]
    # Copies that run at once: any two in a pipelined chip, else the replicas of one layer.
    slot = np.zeros_like(pair_copy) if spec.execution == "pipelined" else np.array(
        [r.layer for r in replicas], dtype=np.int64)[pair_copy]
    combined = slot * (int(pair_key.max()) + 1) + pair_key
    _, slot_inverse, users = np.unique(combined, return_inverse=True, return_counts=True)
    shared = users[slot_inverse] > 1
    ns = np.ceil(per_pair / adcs - 1e-9) * convert_ns
    own = np.zeros(len(replicas))
    np.maximum.at(own, pair_copy[~shared], ns[~shared])
    out: list[tuple[float, tuple[tuple[int, float], ...]]] = [(float(o), ()) for o in own]
    for q, key, t in zip(pair_copy[shared], pair_key[shared], ns[shared]):
        mine = out[int(q)]
        out[int(q)] = (mine[0], mine[1] + ((int(key), float(t)),))
    return out


def kept_share(consumer: LayerGeometry, producer: LayerGeometry, consumer_plan: LayerPlan,
               producer_plan: LayerPlan) -> float:
    """Share of a producer's outputs the consumer's buffer keeps: pooling between them reduces
    them as they arrive (k x k pooling keeps 1 / k^2, the buffer holds the pooled map, as ISAAC's
    line buffers do); a linear consumer keeps its input vector out of the producer's whole map."""
    if consumer.kind == "conv" and producer.kind == "conv":
        produced = producer.out_hw[0] * producer.out_hw[1]
        read = consumer.in_hw[0] * consumer.in_hw[1]
        return min(1.0, read / produced) if produced else 1.0
    produced_bits = producer_plan.windows * producer_plan.out_bits
    return min(1.0, consumer_plan.in_bits / produced_bits) if produced_bits else 1.0


def tiles_needed(plans: list[LayerPlan], arrays_per_tile: int) -> int:
    """Tiles one copy of every layer occupies (copies fill tiles in layer order)."""
    return max(1, math.ceil(sum(p.arrays for p in plans) / arrays_per_tile))


def sized_tiles(plans: list[LayerPlan], spec: ChipSpec, sizing: Sizing) -> int:
    """Tiles of the chip under the sizing policy."""
    need = tiles_needed(plans, spec.arrays_per_tile)
    if sizing.policy == "fixed":
        return spec.tiles
    if sizing.policy == "fit":
        arrays = sum(p.arrays for p in plans) * (1.0 + sizing.replica_budget)
        return max(need, math.ceil(arrays / spec.arrays_per_tile))
    if sizing.area_um2 is None:
        raise ValueError("iso-area sizing needs the area to fill (the baseline chip's)")
    tiles = int(sizing.area_um2 // spec.tile_area_um2)
    if tiles < 1:
        # Not even one tile fits: a one-tile chip would not be iso-area (it was, before issue #15).
        raise ChipTooSmall(
            f"one tile of {spec.size}x{spec.size} arrays on {spec.name!r} takes {spec.tile_area_um2 * 1e-6:.3g} "
            f"mm^2, more than the {sizing.area_um2 * 1e-6:.3g} mm^2 to fill; the mapping needs {need} tiles; "
            "use sizing `fit`")
    return tiles


def fit_check(plans: list[LayerPlan], spec: ChipSpec) -> None:
    """ChipTooSmall, saying by how much, when one copy of every layer does not fit."""
    need_arrays = sum(p.arrays for p in plans)
    if need_arrays > spec.arrays:
        need_tiles = tiles_needed(plans, spec.arrays_per_tile)
        raise ChipTooSmall(
            f"the mapped network needs {need_arrays} arrays of {spec.size}x{spec.size} ({need_tiles} tiles of "
            f"{spec.arrays_per_tile}); the chip {spec.name!r} has {spec.tiles} tiles ({spec.arrays} arrays): short by "
            f"{need_tiles - spec.tiles} tiles ({need_arrays / spec.arrays - 1:.0%} more arrays); use sizing `fit`")


def link_route(spec: ChipSpec) -> Callable[[int, int], tuple[int, ...]]:
    """Link ids between two tiles of the chip's network (each direction of a link its own id)."""
    net = spec.network
    routers = net.routers()

    if net.topology == "htree":
        leaves = max(1, math.ceil(spec.tiles / net.tiles_per_router))

        def route(a: int, b: int) -> tuple[int, ...]:
            ra, rb = net.router_of(a), net.router_of(b)
            level = htree_level(ra, rb)
            up = [((k * leaves + (ra >> k)) * 2) for k in range(level)]
            down = [((k * leaves + (rb >> k)) * 2 + 1) for k in range(level)]
            return tuple(up + down)
        return route

    side = math.ceil(math.sqrt(routers))

    def mesh_route(a: int, b: int) -> tuple[int, ...]:
        (ay, ax), (by, bx) = divmod(net.router_of(a), side), divmod(net.router_of(b), side)
        links = []
        x, y = ax, ay
        while x != bx:                                  # X first (dimension order)
            step = 1 if bx > x else -1
            links.append(((y * side + x) * 4) + (0 if step > 0 else 1))
            x += step
        while y != by:
            step = 1 if by > y else -1
            links.append(((y * side + x) * 4) + (2 if step > 0 else 3))
            y += step
        return tuple(links)
    return mesh_route


def route_key(spec: ChipSpec) -> tuple[object, ...]:
    """What `link_route` reads of the chip: two chips alike in it route every pair of tiles alike."""
    net = spec.network
    return net.topology, spec.tiles, net.tiles_per_router, net.routers()


# Event-model results by what the model read (simulated): evaluations of one mapping on chips that
# differ only in what an event costs (the sensitivity study) run the model once.
Simulations = MutableMapping[bytes, EngineResult]


def simulated(setup: EngineSetup, spec: ChipSpec, memo: Simulations | None) -> EngineResult:
    """The event model's result for `setup` on `spec`'s network, from `memo` where a setup it
    reads alike ran before (keyed by what the engine reads of the setup and the route's inputs)."""
    if memo is None:
        return simulate(setup)
    key = simulation_key(setup) + pickle.dumps(route_key(spec))
    if key not in memo:
        memo[key] = simulate(setup)
    return memo[key]


@dataclass
class ComponentRow:
    """One component of one chip: what ran and what it cost."""

    name: str
    event: str
    events: float
    energy_per_event_pj: float
    dynamic_pj: float
    static_pj: float
    leakage_mw: float
    instances: int
    area_um2: float

    @property
    def energy_pj(self) -> float:
        return self.dynamic_pj + self.static_pj


@dataclass
class LayerRow:
    """One layer on one chip."""

    name: str
    tiles: int
    arrays: int
    copies: int
    windows: int
    array_reads: int
    energy_pj: float
    start_ns: float
    end_ns: float
    closed_form_ns: float
    window_ns: float
    adc_ns: float
    read_ns: float
    macs: int
    nonzeros: int
    events: dict[str, float] = field(default_factory=dict)          # per inference, by event
    energies: dict[str, float] = field(default_factory=dict)        # dynamic pJ per inference, by component


@dataclass
class ChipResult:
    """A mapped network on one chip: energy, time, area and what the event model saw."""

    hardware: str
    execution: str
    sizing: str
    crossbar_size: int
    tiles: int
    arrays_per_tile: int
    arrays_chip: int
    arrays_mapped: int
    arrays_with_replicas: int
    adc_bits: int
    cycle_ns: float
    images_simulated: int
    latency_ns: float
    interval_ns: float
    energy_pj: float
    dynamic_pj: float
    static_pj: float
    area_mm2: float
    power_mw: float
    dense_ops: float
    nonzero_ops: float
    closed_form_ns: float
    waits_ns: dict[str, float]
    utilization: dict[str, float]
    events: int
    components: list[ComponentRow] = field(default_factory=list)
    layers: list[LayerRow] = field(default_factory=list)
    peak_buffer_bytes: float = 0.0
    buffer_bytes_per_tile: float = 0.0
    traced: bool = True
    dac_activity: float | None = None      # drives that fired / drives with every row driven; None: all
    adcs_chip: int = 0                     # converters on the chip
    bitlines_per_adc: float = 0.0          # bitlines (both arrays of a shared pair) one converter reads
    adc_group_arrays: int = 1              # arrays whose conversions one converter group takes
    pair_shared: bool = False              # a polarity pair shares drivers and converters
    programmed_cells: float = 0.0          # every placed cell of every copy, written once before inference
    programming_energy_pj: float = 0.0     # writing them (apart from the per-inference figures)
    programming_time_ns: float = 0.0
    engine: EngineSetup | None = None      # what the event model ran (engine.relieved asks what if)

    @property
    def per_image_ns(self) -> float:
        return self.interval_ns if self.execution == "pipelined" else self.latency_ns

    @property
    def inferences_per_second(self) -> float:
        return 1e9 / self.per_image_ns if self.per_image_ns else float("inf")

    @property
    def edp_pj_ns(self) -> float:
        """Energy-delay product of one inference."""
        return self.energy_pj * self.latency_ns

    @property
    def tops_per_watt(self) -> float:
        """Dense-equivalent operations (2 per multiply-accumulate) per energy: ops/pJ = TOPS/W."""
        return self.dense_ops / self.energy_pj if self.energy_pj else 0.0

    @property
    def tops_per_mm2(self) -> float:
        """Dense-equivalent TOPS per mm^2 at the chip's throughput."""
        seconds = self.per_image_ns * 1e-9
        return self.dense_ops / seconds / 1e12 / self.area_mm2 if seconds and self.area_mm2 else 0.0


def evaluate(demands: list[LayerDemand], flow: Dataflow, spec: ChipSpec, *, encoding: str, weight_bits: int,
             packing: str, polarity: str, r_on_ohm: float, r_off_ohm: float, sizing: Sizing = Sizing(),
             images: int | None = None, aggregate: bool = True, power_gating: str = "none",
             activity: Mapping[str, float] | None = None, simulations: Simulations | None = None) -> ChipResult:
    """Size the chip, place the copies, simulate, and cost what ran. `activity`: per layer, the
    share of row drives that fire (simulator.lowering.activity); None: every row, every phase.
    `simulations`: event-model results to reuse and add to (see `simulated`)."""
    if [d.name for d in demands] != [g.name for g in flow.layers]:
        raise ValueError("the mapped layers and the dataflow's layers differ")
    missing = [d.name for d in demands if activity is not None and d.name not in activity]
    if missing:
        raise ValueError(f"no measured DAC activity for layer(s) {', '.join(missing)}")
    plans = [plan_layer(d, spec, encoding=encoding, weight_bits=weight_bits, packing=packing, polarity=polarity,
                        r_on_ohm=r_on_ohm, r_off_ohm=r_off_ohm,
                        activity=activity[d.name] if activity is not None else 1.0) for d in demands]
    tiles = sized_tiles(plans, spec, sizing)
    if tiles != spec.tiles:
        spec = _resize(spec, tiles)
    fit_check(plans, spec)
    execution = spec.execution
    # Replicas fill the chip (fixed, iso-area), or exactly the budget fit granted: arrays left over
    # in fit's last tile stay empty, so fit chips of different tile sizes get the same replicas.
    needed = sum(p.arrays for p in plans)
    budget = spec.arrays if sizing.policy != "fit" else min(spec.arrays, int(needed * (1.0 + sizing.replica_budget)))
    counts = replicate(plans, budget, execution, sizing.replicate)
    images = images or (3 if execution == "pipelined" else 1)
    works = []
    for i, (plan, geo) in enumerate(zip(plans, flow.layers)):
        needs = [window_needs(geo, flow.layers[p]) for p in flow.producers[i]]
        kept = tuple(kept_share(geo, flow.layers[p], plan, plans[p]) for p in flow.producers[i])
        works.append(LayerWork(plan.name, plan.windows, flow.producers[i], tuple(n[1] for n in needs),
                               tuple(n[0] for n in needs), plan.in_bits, plan.out_bits, plan.read_ns, plan.adc_ns,
                               plan.phases, plan.post_ns, kept))

    pipelined = execution == "pipelined"
    tile_bits = spec.buffer.capacity_bytes * 8.0
    needs_by_counts: dict[tuple[int, ...], list[float]] = {}

    def needs_of(counts: list[int]) -> list[float]:
        """buffer_needs, once per replica count (placement and the buffers' rooms both read it)."""
        key = tuple(counts)
        if key not in needs_by_counts:
            needs_by_counts[key] = buffer_needs(works, counts)
        return needs_by_counts[key]

    def layout(counts: list[int]) -> tuple[list[Replica], int]:
        """The copies on tiles, and the tiles they occupy; a pipelined chip's copies take the eDRAM
        their line buffers need (buffer_needs, placement.place)."""
        needs = needs_of(counts) if pipelined else None
        replicas = place(plans, counts, spec.arrays_per_tile, needs, tile_bits)
        return replicas, max((r.last_tile for r in replicas), default=0) + 1

    replicas, used = layout(counts)
    if used > spec.tiles:
        if sizing.policy == "fit":
            # fit sizes the chip to what the copies occupy, their line buffers included.
            spec = _resize(spec, used)
        else:
            counts, replicas = _fewer_replicas(plans, counts, spec, budget, layout, sizing.replicate)

    def run(counts: list[int], replicas: list[Replica]) -> tuple[EngineResult, EngineSetup]:
        converters = shared_converters(plans, replicas, spec) if spec.adc_group_arrays > 1 else None
        copies = [CopyPlan(r.layer, r.index, counts[r.layer], r.home,
                           adc_ns=converters[k][0] if converters else None,
                           shared_adcs=converters[k][1] if converters else ())
                  for k, r in enumerate(replicas)]
        setup = EngineSetup(works, copies, buffer_rooms(replicas, tile_bits, needs_of(counts))
                            if pipelined else [None] * len(copies),
                            port_bits_per_ns=spec.buffer.bits_per_ns, link_bits_per_ns=spec.network.link_bits_per_ns,
                            hop_ns=spec.network.hop_latency_ns, route=link_route(spec), execution=execution,
                            images=images, aggregate=aggregate)
        return simulated(setup, spec, simulations), setup

    sim, setup = run(counts, replicas)
    if any(n > 1 for n in counts):
        # The planner chose replicas by the closed form, which knows no buffer, port or link
        # contention; keep them only if the event model confirms they pay.
        alone = [1] * len(plans)
        alone_replicas, alone_used = layout(alone)
        if alone_used <= spec.tiles:
            sim_alone, setup_alone = run(alone, alone_replicas)

            def per_image(result: EngineResult) -> float:
                done = result.image_done_ns
                return steady_interval(done) if execution == "pipelined" and len(done) > 1 else done[0]

            if per_image(sim_alone) < per_image(sim):
                counts, replicas, sim, setup = alone, alone_replicas, sim_alone, setup_alone
    closed = closed_form(setup)
    result = _cost(plans, counts, spec, sim, closed.sequential_ns if execution != "pipelined" else closed.interval_ns,
                   closed.layer_ns, sizing, images, power_gating, [r.start for r in replicas])
    result.engine = setup
    if activity is not None:
        full = sum(sim.phases[i] * p.row_drives for i, p in enumerate(plans))
        fired = sum(sim.phases[i] * p.row_drives * p.activity for i, p in enumerate(plans))
        result.dac_activity = fired / full if full else 0.0
    return result


def steady_interval(done: list[float]) -> float:
    """Time between finished images in steady state: the longest gap after the first image. The
    last gap alone can be shorter, since the last image's late layers no longer share converters
    or links with the early layers of a next one."""
    return max(b - a for a, b in zip(done, done[1:]))


def programming_time_ns(plans: list[LayerPlan], counts: list[int], spec: ChipSpec,
                        starts: list[int] | None = None) -> float:
    """Writing every placed array: a tile's arrays one at a time, the rows of an array in turn
    (MNSIM 2.0), the tiles at once. `starts`: each copy's first array as placement put it (layer
    order; default: back to back, as placement.place does without line buffers)."""
    copies = [p for p, n in zip(plans, counts) for _ in range(n)]
    if starts is None:
        starts = np.cumsum([0] + [p.array_rows.size for p in copies[:-1]]).tolist()
    if not copies or not sum(p.array_rows.size for p in copies):
        return 0.0
    tiles = np.concatenate([(start + np.arange(p.array_rows.size)) // spec.arrays_per_tile
                            for p, start in zip(copies, starts)])
    rows = np.concatenate([p.array_rows for p in copies])
    return spec.programming.array_time_ns(int(np.bincount(tiles, weights=rows).max()))


def buffer_needs(works: list[LayerWork], counts: list[int]) -> list[float]:
    """Per copy (layer order): its part of the input buffer its pipelined layer cannot run without,
    in bits. A layer's copies take its windows in turn and read one buffer, which holds what the
    windows in flight read at once (engine.input_needs): every producer's receptive field (ISAAC's
    line buffer: about kernel height - 1 rows of the producer's map and a kernel's width more) over
    as many neighbouring windows as there are copies, and where a residual path meets, the skip
    connection's outputs that wait for the other path. Each copy brings an equal part of it to its
    tile. Layers without producers read the chip's input and need none."""
    memo: dict[tuple[int, int], np.ndarray] = {}
    needs = []
    for c, n in enumerate(counts):
        need = float(sum(input_needs(works, c, n - 1, memo)))
        needs.extend([need / n] * n)
    return needs


def buffer_rooms(replicas: list[Replica], tile_bits: float, needs: list[float]) -> list[float | None]:
    """Per copy: the room its input buffer gets. A tile's eDRAM goes to the copies whose home it is
    in proportion to their needs (each gets at least its need: placement put no more on a tile than
    its eDRAM holds); a copy that took several tiles' eDRAM gets all of it; copies that need none
    (first layers) are not bounded."""
    share: dict[int, float] = {}
    for r, need in zip(replicas, needs):
        if r.buffer_tiles == 1:
            share[r.home] = share.get(r.home, 0.0) + need
    rooms: list[float | None] = []
    for r, need in zip(replicas, needs):
        if need <= 0:
            rooms.append(None)
        elif r.buffer_tiles > 1:
            rooms.append(r.buffer_tiles * tile_bits)
        else:
            rooms.append(tile_bits * need / share[r.home])
    return rooms


def _fewer_replicas(plans: list[LayerPlan], counts: list[int], spec: ChipSpec, budget: int,
                    layout: Callable[[list[int]], tuple[list[Replica], int]],
                    enabled: bool) -> tuple[list[int], list[Replica]]:
    """A chip of fixed tiles whose copies, with their line buffers, do not fit: replicas chosen on
    a smaller array budget until they do; ChipTooSmall where even one copy of every layer does not."""
    needed = sum(p.arrays for p in plans)
    while True:
        replicas, used = layout(counts)
        if used <= spec.tiles:
            return counts, replicas
        if all(n == 1 for n in counts):
            raise ChipTooSmall(
                f"pipelined, the layers' input (line) buffers need more eDRAM than the tiles that hold their arrays: "
                f"one copy of every layer takes {used} tiles of {spec.arrays_per_tile} arrays and "
                f"{spec.buffer.capacity_bytes:,.0f} bytes of eDRAM; the chip {spec.name!r} has {spec.tiles}; "
                "use sizing `fit`, or run layer-sequential (hardware_study.execution)")
        budget = max(needed, budget - (used - spec.tiles) * spec.arrays_per_tile)
        fewer = replicate(plans, budget, spec.execution, enabled)
        counts = fewer if fewer != counts else [1] * len(plans)


def _resize(spec: ChipSpec, tiles: int) -> ChipSpec:
    """The same chip with another tile count (the network's routers follow)."""
    return replace(spec, tiles=tiles, network=replace(spec.network, tiles=tiles))


def _cost(plans: list[LayerPlan], counts: list[int], spec: ChipSpec, sim: EngineResult, closed_ns: float,
          closed_layers: list[float], sizing: Sizing, images: int, power_gating: str,
          starts: list[int] | None = None) -> ChipResult:
    execution = spec.execution
    latency = sim.image_done_ns[0]
    interval = steady_interval(sim.image_done_ns) if images > 1 else latency
    per_image = interval if execution == "pipelined" else latency
    # Events per inference, from what the event model executed.
    events = dict.fromkeys(PHASE_EVENTS, 0.0)
    index_bits = bus_bits = 0.0
    for i, plan in enumerate(plans):
        reads = sim.phases[i] / images
        for key in PHASE_EVENTS:
            events[key] += reads * plan.per_phase[key]
        index_bits += sim.windows[i] / images * plan.index_bits
        bus_bits += sim.windows[i] / images * plan.in_bits
        for key, value in plan.per_window.items():
            events[key] = events.get(key, 0.0) + sim.windows[i] / images * value
    events["index_bits"] = index_bits
    events["bus_bits"] = bus_bits
    events["buffer_bytes"] = (sim.buffer_bits_read + sim.buffer_bits_written) / 8 / images
    events["network_bit_hops"] = sim.network_bit_hops / images
    events["network_bit_mm"] = sum(bits * spec.network.wire_mm(src, dst)
                                   for (src, dst), bits in sim.traffic.items()) / images
    stored = sum(p.index_bits_stored * n for p, n in zip(plans, counts))
    seconds = per_image * 1e-9
    # Array-instance-seconds that leak: every array for the whole time, or (power gating) the arrays
    # holding weights, while their layer runs (layer-sequential) or all the time (pipelined).
    if power_gating == "none":
        array_seconds = spec.arrays * seconds
    elif execution == "pipelined":
        array_seconds = sum(p.arrays * n for p, n in zip(plans, counts)) * seconds
    else:
        array_seconds = sum(p.arrays * n * (sim.layer_end_ns[i] - sim.layer_start_ns[i]) * 1e-9
                            for i, (p, n) in enumerate(zip(plans, counts)))
    rows = []
    for comp in spec.components(stored):
        n = float(events.get(comp.event, 0.0))
        if comp.name in ARRAY_PERIPHERY and spec.arrays:
            static = comp.leakage_mw * comp.instances / spec.arrays * array_seconds * 1e9
        else:
            static = comp.static_energy_pj(seconds)
        rows.append(ComponentRow(comp.name, comp.event, n, comp.energy_pj, n * comp.energy_pj,
                                 static, comp.leakage_total_mw, comp.instances, comp.area_total_um2))
    dynamic = sum(r.dynamic_pj for r in rows)
    static = sum(r.static_pj for r in rows)
    energy = dynamic + static
    area_mm2 = sum(r.area_um2 for r in rows) * 1e-6
    layer_rows = []
    by_name = {r.event: r for r in rows}
    for i, (plan, n) in enumerate(zip(plans, counts)):
        reads = sim.phases[i] / images
        windows = sim.windows[i] / images
        counted = {k: reads * plan.per_phase[k] for k in PHASE_EVENTS}
        counted["index_bits"] = windows * plan.index_bits
        counted["bus_bits"] = windows * plan.in_bits
        counted.update({key: windows * value for key, value in plan.per_window.items()})
        energies = {row.name: counted.get(row.event, 0.0) * row.energy_per_event_pj for row in by_name.values()
                    if row.event in counted}
        layer_rows.append(LayerRow(plan.name, plan.tiles, plan.arrays, n, plan.windows, int(reads),
                                   float(sum(energies.values())), sim.layer_start_ns[i], sim.layer_end_ns[i],
                                   closed_layers[i], plan.window_ns, plan.adc_ns, plan.read_ns, plan.macs,
                                   plan.nonzeros, counted, energies))

    def adcs_of(plan: LayerPlan) -> float:
        ports = math.ceil(plan.arrays / spec.arrays_per_port)
        if spec.adcs_per_array:
            return ports * spec.adcs_per_array
        return math.ceil(ports / spec.arrays_per_adc)

    busy_arrays = sum(sim.phases[i] / images * p.read_ns * p.arrays for i, p in enumerate(plans))
    # An upper bound: every ADC of a copy busy as long as its busiest one.
    busy_adcs = sum(sim.phases[i] / images * p.adc_ns * adcs_of(p) for i, p in enumerate(plans))
    adcs = max(spec.adcs, 1)
    used = sum(p.arrays * n for p, n in zip(plans, counts))
    cells = sum(p.cells * n for p, n in zip(plans, counts))
    return ChipResult(
        hardware=spec.name, execution=execution, sizing=sizing.policy, crossbar_size=spec.size, tiles=spec.tiles,
        arrays_per_tile=spec.arrays_per_tile, arrays_chip=spec.arrays, arrays_mapped=sum(p.arrays for p in plans),
        arrays_with_replicas=used, adc_bits=spec.adc_bits, cycle_ns=spec.cycle_ns, images_simulated=images,
        latency_ns=latency, interval_ns=interval, energy_pj=energy, dynamic_pj=dynamic, static_pj=static,
        area_mm2=area_mm2, power_mw=energy / per_image if per_image else 0.0,   # pJ/ns = mW
        dense_ops=2.0 * sum(p.macs for p in plans), nonzero_ops=2.0 * sum(p.nonzeros * p.windows for p in plans),
        closed_form_ns=closed_ns, waits_ns={k: v / images for k, v in sim.waits_ns.items()},
        utilization={"arrays": busy_arrays / (per_image * spec.arrays) if per_image else 0.0,
                     "adcs": busy_adcs / (per_image * adcs) if per_image else 0.0},
        events=sim.events, components=rows, layers=layer_rows,
        peak_buffer_bytes=max(sim.peak_buffer_bits, default=0.0) / 8,
        buffer_bytes_per_tile=float(spec.buffer.capacity_bytes), programmed_cells=cells,
        adcs_chip=spec.adcs, bitlines_per_adc=spec.arrays * spec.size / spec.adcs if spec.adcs else 0.0,
        adc_group_arrays=spec.adc_group_arrays, pair_shared=spec.pair_shared,
        programming_energy_pj=cells * spec.programming.cell_energy_pj(),
        programming_time_ns=programming_time_ns(plans, counts, spec, starts))
