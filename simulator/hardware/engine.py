"""The discrete-event chip (design.md stage 6): layer copies, tile buffers, converters and links
as simpy resources, layers as an inter-layer pipeline or one after another.

The unit of work is one **window**: one input vector of one layer (a conv output pixel, a linear
layer's input) on one copy of the layer. A copy is a set of arrays that hold the whole layer once.
In the layer-sequential chip the copies of a layer split its windows into contiguous bands (copy k
of n takes windows floor(k V / n) .. floor((k + 1) V / n) - 1 in raster order) and each has an input
buffer in its tile's eDRAM, holding the rows of its producers' maps under its band. In the pipelined
chip they take the windows in turn (copy k: k, k + n, k + 2n, ...; ISAAC's replicas work on
neighbouring windows) and read one buffer, the layer's, which gives back what the layer's oldest
unfinished window no longer reads. Per window a copy

1. waits until its producers have made every output the window reads (pipelined: the rows of the
   producer's output map under the window's receptive field; layer-sequential: the whole map of
   the previous layer, one layer at a time),
2. reads its inputs from its buffer (the tile's buffer port is a resource shared by the copies on
   the tile),
3. computes: `phases` bit-serial input phases, each an array read (drivers, crossbar, sample and
   hold) followed by conversions; the sample-and-holds let the next read overlap this phase's
   conversions, so a window takes read + adc + (phases - 1) x max(read, adc) plus the shift-and-add
   (or composition-tree) step. Where the copy's converters are its own this is one event (the same
   time as the phase-by-phase events, a test checks it); where converters are shared with other
   copies (an ADC serving arrays of two copies, `CopyPlan.shared_adcs`, or a whole converter group,
   `CopyPlan.adc_group`), each shared converter is a resource every phase asks for, for as long as
   this copy's conversions on it take, so copies wait for each other,
4. sends its outputs over the network to the buffer of every consumer copy whose band reads them,
   where they take room: in the pipelined chip a copy's buffer holds `capacity` bits, shared
   between its producers in proportion to what each must hold (`input_needs`: the receptive field,
   and where a residual path meets, the skip's outputs that wait for the other path), and fills in
   raster order like a line buffer; a producer whose consumer's buffer is full (or whose earlier
   outputs have not arrived there yet) stalls until the consumer has finished the windows that read
   the oldest outputs. The layer-sequential chip keeps whole maps (no room limit).

A transfer reserves every link of its route for one span, hops x hop_ns + bits / link
bandwidth, starting when the last of them is free (circuit-style: it never holds one link while
waiting for another). Ports and links are first-come first-served servers kept as "free from"
times, one event per use. Waits are recorded per resource class: arrays (a window's inputs
were there while its copy was busy; pipelined only: in a layer-sequential chip every window of a
layer is ready when the layer starts), adcs, buffer ports, buffer space (a stalled producer) and
network.

The engine knows nothing of hardware files or mappings: simulator.hardware.chip_model builds its
setup from the mapped network and the chip.
"""

from __future__ import annotations

import heapq
import math
import pickle
from collections import deque
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

import numpy as np
import simpy

Execution = Literal["pipelined", "layer-sequential"]
WAIT_CLASSES = ("arrays", "adcs", "buffer_ports", "buffer_space", "network")


@dataclass(frozen=True)
class LayerWork:
    """What one window of a layer asks of the chip, and which producer outputs it reads."""

    name: str
    windows: int                              # input vectors per image
    producers: tuple[int, ...]                # indices of the layers whose outputs it reads
    need_hi: tuple[np.ndarray, ...]           # per producer: last producer window read by window k
    need_lo: tuple[np.ndarray, ...]           # per producer: first producer window read by window k
    in_bits: float                            # bits fetched from the input buffer per window
    out_bits: float                           # bits written to each consumer copy's buffer per window
    read_ns: float                            # one array read (drive, settle, sample)
    adc_ns: float                             # one phase's conversions on the copy's busiest converter
    phases: int                               # bit-serial input phases per window
    post_ns: float = 0.0                      # shift-and-add or composition after the last conversion
    kept: tuple[float, ...] = ()              # per producer: share of its outputs this layer's buffer
                                              # keeps (1 / k^2 where k x k pooling lies between; default 1)

    def kept_share(self, slot: int) -> float:
        return self.kept[slot] if slot < len(self.kept) else 1.0

    @property
    def compute_ns(self) -> float:
        """A window's reads and conversions when the converters are the copy's own."""
        return self.compute_ns_at(self.adc_ns)

    def compute_ns_at(self, adc_ns: float) -> float:
        """A window's reads and conversions with `adc_ns` of conversions per phase."""
        r, a, p = self.read_ns, adc_ns, self.phases
        return (r + a + (p - 1) * max(r, a) if p else 0.0) + self.post_ns


@dataclass(frozen=True)
class CopyPlan:
    """One copy of a layer: its band of windows, the tile whose buffer and ports it uses, and the
    converters it shares with other copies."""

    layer: int
    index: int
    copies: int                               # copies of this layer
    tile: int
    adc_group: int | None = None              # all its converters in one group shared with other copies
    adc_ns: float | None = None               # one phase on its busiest own converter (None: the layer's)
    shared_adcs: tuple[tuple[int, float], ...] = ()   # (converter id, ns of this copy's conversions per phase)

    def own_adc_ns(self, layer: LayerWork) -> float:
        return layer.adc_ns if self.adc_ns is None else self.adc_ns

    def slowest_adc_ns(self, layer: LayerWork) -> float:
        """One phase's conversions if no converter waited for another copy."""
        return max([self.own_adc_ns(layer)] + [ns for _, ns in self.shared_adcs])

    def band(self, windows: int) -> tuple[int, int]:
        """First and one-past-last window of this copy (layer-sequential: a contiguous band)."""
        return self.index * windows // self.copies, (self.index + 1) * windows // self.copies

    def windows_of(self, windows: int, interleaved: bool) -> range:
        """The windows this copy runs: its band, or (interleaved, pipelined chips) every
        `copies`-th window from its index, as ISAAC's replicas work on neighbouring windows."""
        if interleaved:
            return range(self.index, windows, self.copies)
        first, last = self.band(windows)
        return range(first, last)


@dataclass(frozen=True)
class EngineSetup:
    """Everything the event model needs; built by simulator.hardware.chip_model."""

    layers: Sequence[LayerWork]
    copies: Sequence[CopyPlan]
    buffer_capacity_bits: Sequence[float | None]  # per copy: room for its inputs (None: unbounded)
    port_bits_per_ns: float                       # one tile buffer port
    link_bits_per_ns: float                       # one network link
    hop_ns: float                                 # router and wire delay per hop
    route: Callable[[int, int], tuple[int, ...]]  # link ids between two tiles (empty on the same tile)
    execution: Execution
    images: int = 1
    aggregate: bool = True                        # one event per window where converters are private


@dataclass
class EngineResult:
    """What the event model measured (times in ns, over all simulated images)."""

    image_done_ns: list[float]
    layer_start_ns: list[float]               # first image: first window started
    layer_end_ns: list[float]                 # first image: last window finished
    windows: np.ndarray                       # windows executed per layer
    phases: np.ndarray                        # array reads executed per layer
    waits_ns: dict[str, float]                # per resource class, summed over waiting windows
    busy_ns: dict[str, float]                 # per resource class, summed over resources
    buffer_bits_read: float
    buffer_bits_written: float
    network_bit_hops: float                   # bits x hops moved over links
    network_bits: float
    traffic: dict[tuple[int, int], float]     # bits sent from tile to tile
    peak_buffer_bits: list[float]             # per copy
    events: int
    end_ns: float


class BufferTooSmall(ValueError):
    """A copy's input buffer cannot hold what one of its windows reads at once."""


class _Counter:
    """A count that only grows; waiters are woken when it passes their threshold."""

    def __init__(self, env: simpy.Environment) -> None:
        self.env = env
        self.value = 0
        self._waiters: list[tuple[int, int, simpy.Event]] = []
        self._serial = 0

    def advance(self, value: int) -> None:
        self.value = value
        while self._waiters and self._waiters[0][0] < value:
            heapq.heappop(self._waiters)[2].succeed()

    def passing(self, index: int) -> simpy.Event | None:
        """An event that fires once the count exceeds `index` (None: it already does)."""
        if index < self.value:
            return None
        event = self.env.event()
        self._serial += 1
        heapq.heappush(self._waiters, (index, self._serial, event))
        return event


class _Progress(_Counter):
    """Windows finished by one layer: the count is the finished prefix (global window index over
    images), with the time the prefix first covered each window."""

    def __init__(self, env: simpy.Environment, total: int) -> None:
        super().__init__(env)
        self.finished = np.zeros(total, dtype=bool)
        self.prefix_ns = np.full(total, np.nan)

    def finish(self, index: int) -> None:
        self.finished[index] = True
        done = self.value
        while done < self.finished.size and self.finished[done]:
            self.prefix_ns[done] = self.env.now
            done += 1
        if done != self.value:
            self.advance(done)


class _Room:
    """Room in a buffer, taken first-come first-served (as a simpy Container, whose every get is an
    event): a request that fits while nobody waits takes the room at once, without an event."""

    def __init__(self, env: simpy.Environment, capacity: float) -> None:
        self.env = env
        self.capacity = capacity
        self.level = capacity
        self._waiting: deque[tuple[float, simpy.Event]] = deque()

    def take(self, bits: float) -> simpy.Event | None:
        """None where the room was there; else an event that fires when it has been taken."""
        if not self._waiting and self.level >= bits - 1e-9:
            self.level -= bits
            return None
        event = self.env.event()
        self._waiting.append((bits, event))
        return event

    def give(self, bits: float) -> None:
        self.level += bits
        while self._waiting and self.level >= self._waiting[0][0] - 1e-9:
            taken, event = self._waiting.popleft()
            self.level -= taken
            event.succeed()


@dataclass
class _Inbox:
    """A consumer copy's buffer for one producer: the producer windows it reads (per image, lo..hi),
    which of them hold room, how far room has been given back, and the in-order arrivals."""

    lo: int
    hi: int
    per_image: int                            # producer windows per image
    holds: np.ndarray
    freed: int = 0
    arrived: _Counter | None = None           # in-order arrivals (bounded buffers only)

    def ordinal(self, window: int) -> int:
        """Position of global producer window `window` among the windows this copy reads."""
        image, j = divmod(window, self.per_image)
        return image * (self.hi - self.lo + 1) + (j - self.lo)


def _reach(layers: Sequence[LayerWork], x: int, y: int, memo: dict[tuple[int, int], np.ndarray]) -> np.ndarray:
    """Per window of layer x: the last window of layer y it needs, through any path (-1: none)."""
    if (x, y) in memo:
        return memo[x, y]
    layer = layers[x]
    out = np.full(layer.windows, -1, dtype=np.int64)
    for p, hi in zip(layer.producers, layer.need_hi):
        via = hi if p == y else _reach(layers, p, y, memo)[hi]
        out = np.maximum(out, via)
    memo[x, y] = out
    return out


def input_needs(layers: Sequence[LayerWork], c: int, ahead: int = 0,
                memo: dict[tuple[int, int], np.ndarray] | None = None) -> list[float]:
    """Per producer of layer c: the bits its input buffer cannot run without, with `ahead` more
    windows in flight after the oldest unfinished one (a layer of n interleaved copies: n - 1).
    One window reads its receptive field (need_lo .. need_hi) of every producer at once; where two
    producers meet (a residual add), a producer that also feeds the other's path has delivered up
    to what that path needs before the window can run, and its outputs in between wait here too
    (the skip connection's buffer), for the window and the next (a window's inputs are held until
    its outputs are delivered)."""
    layer = layers[c]
    if not layer.windows or not layer.producers:
        return [0.0] * len(layer.producers)
    memo = {} if memo is None else memo
    later = np.minimum(np.arange(layer.windows) + ahead + (1 if len(layer.producers) > 1 else 0),
                       layer.windows - 1)
    needs = []
    for slot, (p, hi, lo) in enumerate(zip(layer.producers, layer.need_hi, layer.need_lo)):
        top = hi
        for other, o_hi in zip(layer.producers, layer.need_hi):
            if other != p:
                top = np.maximum(top, _reach(layers, other, p, memo)[o_hi])
        # top is nondecreasing in raster order: the windows in flight reach as far as the last one
        needs.append(float(np.max(top[later] - lo + 1)) * layers[p].out_bits * layer.kept_share(slot))
    return needs


def _slot_rooms(setup: EngineSetup, rooms: Sequence[float | None]) -> list[list[float | None]]:
    """Per copy and producer: the room of the buffer it reads, in proportion to what each producer
    needs (a producer cannot take the room another's outputs need). A pipelined layer's copies read
    one buffer (the first copy's entry holds it: the copies' rooms together); BufferTooSmall where
    it holds less than its oldest window needs."""
    layers = setup.layers
    memo: dict[tuple[int, int], np.ndarray] = {}
    pooled: dict[int, float | None] = {}
    for plan, room in zip(setup.copies, rooms):
        held = pooled.get(plan.layer, 0.0)
        pooled[plan.layer] = None if room is None or held is None else held + room
    out: list[list[float | None]] = []
    for plan in setup.copies:
        layer = layers[plan.layer]
        room = pooled[plan.layer]
        if room is None or not layer.producers or plan.index:
            out.append([None] * len(layer.producers))
            continue
        least = input_needs(layers, plan.layer, 0, memo)
        if sum(least) > room + 1e-9:
            raise BufferTooSmall(f"layer {layer.name}: one window reads {sum(least) / 8:.0f} bytes of its inputs at "
                                 f"once, the buffer of its {plan.copies} copies holds {room / 8:.0f} bytes")
        needs = input_needs(layers, plan.layer, plan.copies - 1, memo)
        total = sum(needs)
        out.append([room * need / total if total else room for need in needs])
    return out


def rooms_of(setup: EngineSetup) -> list[float | None]:
    """Each copy's input-buffer room as the model reads it: only a pipelined chip's buffers fill
    (a layer-sequential chip runs one layer at a time, its inputs all there)."""
    return list(setup.buffer_capacity_bits) if setup.execution == "pipelined" else [None] * len(setup.copies)


def simulation_key(setup: EngineSetup) -> bytes:
    """What `simulate` reads of `setup`, the route aside (a function: the caller keys it): two
    setups with one key simulate alike (simulator.hardware.chip_model.simulated)."""
    read = {f.name: getattr(setup, f.name) for f in fields(setup) if f.name not in ("route", "buffer_capacity_bits")}
    return pickle.dumps((read, rooms_of(setup)))


def simulate(setup: EngineSetup) -> EngineResult:
    """Run the chip on `setup.images` images and measure it."""
    env = simpy.Environment()
    layers, images = setup.layers, setup.images
    n_layers = len(layers)
    pipelined = setup.execution == "pipelined"
    rooms = rooms_of(setup)
    slot_rooms = _slot_rooms(setup, rooms)
    consumers: list[list[tuple[int, int]]] = [[] for _ in layers]      # (consumer layer, producer slot)
    for c, layer in enumerate(layers):
        for slot, p in enumerate(layer.producers):
            consumers[p].append((c, slot))
    copies_of: list[list[int]] = [[] for _ in layers]
    for q, plan in enumerate(setup.copies):
        copies_of[plan.layer].append(q)

    progress = [_Progress(env, layer.windows * images) for layer in layers]
    port_free = {t: 0.0 for t in {plan.tile for plan in setup.copies}}   # when each port is next free
    # boxes[q][slot]: consumer copy q's room for the outputs of its producer in `slot`.
    boxes = [[_Room(env, room) if room is not None else None for room in copy]
             for copy in slot_rooms]
    # inbox[q][slot]: what consumer copy q reads of its producer in `slot`.
    inbox: list[list[_Inbox]] = []
    # receivers[(c, slot)]: consumer copies of layer c sorted by band, with their lo / hi arrays.
    receivers: dict[tuple[int, int], tuple[list[int], np.ndarray, np.ndarray]] = {}
    # Pipelined, a layer's copies share one buffer, the first copy's (owner); else each its own.
    owner = list(range(len(setup.copies)))
    if pipelined:
        first_copy = {plan.layer: q for q, plan in enumerate(setup.copies) if plan.index == 0}
        owner = [first_copy[plan.layer] for plan in setup.copies]
    for q, plan in enumerate(setup.copies):
        layer = layers[plan.layer]
        first, last = (0, layer.windows) if pipelined else plan.band(layer.windows)
        entries = []
        for slot, p in enumerate(layer.producers):
            lo = int(layer.need_lo[slot][first]) if first < last else 0
            hi = int(layer.need_hi[slot][last - 1]) if first < last else -1
            entries.append(_Inbox(lo, hi, layers[p].windows, np.zeros(layers[p].windows * images, dtype=bool),
                                  arrived=_Counter(env) if slot_rooms[q][slot] is not None else None))
        inbox.append(entries)
    for c, layer in enumerate(layers):
        for slot in range(len(layer.producers)):
            qs = sorted(copies_of[c], key=lambda q: setup.copies[q].index)
            if pipelined:
                qs = qs[:1]
            receivers[c, slot] = (qs, np.array([inbox[q][slot].lo for q in qs]),
                                  np.array([inbox[q][slot].hi for q in qs]))
    # readers[(c, slot)][k]: the consumer copies whose band reads producer window k, for every k at
    # once (one search per layer, not one per window).
    readers: dict[tuple[int, int], list[list[int]]] = {}
    for (c, slot), (qs, lows, highs) in receivers.items():
        produced = np.arange(layers[layers[c].producers[slot]].windows)
        starts, stops = np.searchsorted(highs, produced, side="left"), np.searchsorted(lows, produced, side="right")
        readers[c, slot] = [qs[a:b] for a, b in zip(starts.tolist(), stops.tolist())]

    peak = [0.0] * len(setup.copies)
    occupied = [0.0] * len(setup.copies)      # bits in each copy's buffer
    link_free: dict[int, float] = {}            # when each link is next free
    groups: dict[int, simpy.Resource] = {}
    shared_adcs: dict[int, simpy.Resource] = {}
    waits = dict.fromkeys(WAIT_CLASSES, 0.0)
    busy = dict.fromkeys(WAIT_CLASSES, 0.0)
    counts = {"read": 0.0, "written": 0.0, "bit_hops": 0.0, "bits": 0.0, "events": 0}
    routes: dict[tuple[int, int], tuple[int, ...]] = {}
    traffic: dict[tuple[int, int], float] = {}
    windows = np.zeros(n_layers, dtype=np.int64)
    phases_done = np.zeros(n_layers, dtype=np.int64)
    started = [np.nan] * n_layers
    ended = [np.nan] * n_layers
    image_done = [0.0] * images
    layer_image_left = [[layer.windows for _ in range(images)] for layer in layers]
    image_layers_left = [n_layers] * images
    # Layer-sequential: layer l of image i starts when layer l - 1 (or, for l = 0, the last layer
    # of image i - 1) has finished image i.
    gate = [[env.event() for _ in range(images)] for _ in layers]

    def hold(resource: simpy.Resource, duration: float, kind: str) -> Generator[Any, Any, None]:
        asked = env.now
        with resource.request() as request:
            yield request
            waits[kind] += env.now - asked
            busy[kind] += duration
            yield env.timeout(duration)
        counts["events"] += 2

    def use_port(tile: int, duration: float) -> Generator[Any, Any, None]:
        """The tile's buffer port as a first-come first-served server: service starts when it is
        free (the same times as a simpy Resource of capacity 1, in one event instead of two)."""
        start = max(env.now, port_free[tile])
        waits["buffer_ports"] += start - env.now
        busy["buffer_ports"] += duration
        port_free[tile] = start + duration
        counts["events"] += 1
        yield env.timeout(start + duration - env.now)

    def transfer(src: int, dst: int, bits: float) -> Generator[Any, Any, None]:
        """Reserve every link of the route for one span, from when the last of them is free."""
        if src == dst or bits <= 0:
            return
        route = routes.get((src, dst))
        if route is None:
            route = routes[src, dst] = tuple(setup.route(src, dst))
        if not route:
            return
        duration = len(route) * setup.hop_ns + bits / setup.link_bits_per_ns
        start = max(env.now, max(link_free.get(link, 0.0) for link in route))
        for link in route:
            link_free[link] = start + duration
        waits["network"] += start - env.now
        busy["network"] += duration * len(route)
        counts["bit_hops"] += bits * len(route)
        counts["bits"] += bits
        traffic[src, dst] = traffic.get((src, dst), 0.0) + bits
        counts["events"] += 1
        yield env.timeout(start + duration - env.now)

    def deliver(q: int, slot: int, window: int, src: int, bits: float) -> Generator[Any, Any, None]:
        """Producer window `window` (global) into consumer copy q's buffer: in raster order and
        with room where the buffer is bounded."""
        entry = inbox[q][slot]
        box = boxes[q][slot]
        if box is not None:
            asked = env.now
            turn = entry.arrived.passing(entry.ordinal(window) - 1) if entry.arrived is not None else None
            if turn is not None:
                yield turn
            if window >= entry.freed:
                taking = box.take(bits)
                if taking is not None:
                    yield taking
                entry.holds[window] = True
                occupied[q] += bits
                peak[q] = max(peak[q], occupied[q])
            waits["buffer_space"] += env.now - asked
        target = setup.copies[q].tile
        yield from transfer(src, target, bits)
        yield from use_port(target, bits / setup.port_bits_per_ns)
        counts["written"] += bits
        if entry.arrived is not None:
            entry.arrived.advance(entry.ordinal(window) + 1)

    def release(q: int, next_window: int | None, image: int) -> None:
        """Give back the room of producer outputs no later window of copy q reads."""
        layer = layers[setup.copies[q].layer]
        for slot, entry in enumerate(inbox[q]):
            box = boxes[q][slot]
            if box is None:
                continue
            if next_window is None:
                keep_from = (image + 1) * entry.per_image
            else:
                keep_from = image * entry.per_image + int(layer.need_lo[slot][next_window])
            if keep_from <= entry.freed:
                continue
            held = entry.holds[entry.freed:keep_from]
            room = float(held.sum()) * layers[layer.producers[slot]].out_bits * layer.kept_share(slot)
            held[:] = False
            entry.freed = keep_from
            if room > 0:
                box.give(room)
                occupied[q] -= room

    def phased(layer: LayerWork, plan: CopyPlan, group: simpy.Resource | None) -> Generator[Any, Any, None]:
        """A window's phases one by one: a read, then its conversions on its own and on shared
        converters at once; the next read overlaps them, but its sample waits until they are done."""
        converting: simpy.Process | None = None
        own_ns = plan.own_adc_ns(layer)
        shared = [(shared_adcs[adc], ns) for adc, ns in plan.shared_adcs]

        def own() -> Generator[Any, Any, None]:
            if group is None:
                yield env.timeout(own_ns)
                busy["adcs"] += own_ns
                counts["events"] += 1
            else:
                yield from hold(group, own_ns, "adcs")

        def convert() -> Generator[Any, Any, None]:
            if not shared:
                yield from own()
                return
            parts = [env.process(own())] + [env.process(hold(resource, ns, "adcs")) for resource, ns in shared]
            yield simpy.AllOf(env, parts)

        for _ in range(layer.phases):
            yield env.timeout(layer.read_ns)
            busy["arrays"] += layer.read_ns
            counts["events"] += 1
            if converting is not None and not converting.triggered:
                yield converting
            converting = env.process(convert())
        if converting is not None and not converting.triggered:
            yield converting
        if layer.post_ns:
            yield env.timeout(layer.post_ns)

    def copy_process(q: int) -> Generator[Any, Any, None]:
        plan = setup.copies[q]
        c = plan.layer
        layer = layers[c]
        mine = plan.windows_of(layer.windows, pipelined)
        last = mine[-1] if len(mine) else -1
        total = layer.windows * images
        home = plan.tile
        group = None
        if plan.adc_group is not None:
            group = groups.get(plan.adc_group)
            if group is None:
                group = groups[plan.adc_group] = simpy.Resource(env, capacity=1)
        for adc, _ in plan.shared_adcs:
            if adc not in shared_adcs:
                shared_adcs[adc] = simpy.Resource(env, capacity=1)
        phase_events = group is not None or bool(plan.shared_adcs) or not setup.aggregate
        own_compute_ns = layer.compute_ns_at(plan.own_adc_ns(layer))
        for image in range(images):
            if not pipelined:
                yield gate[c][image]
            for k in mine:
                g = image * layer.windows + k
                reached = env.now
                ready = 0.0
                for slot, p in enumerate(layer.producers):
                    needed = image * layers[p].windows + int(layer.need_hi[slot][k])
                    event = progress[p].passing(needed)
                    if event is not None:
                        yield event
                        counts["events"] += 1
                    ready = max(ready, float(progress[p].prefix_ns[needed]))
                if pipelined and layer.producers and ready < reached:
                    waits["arrays"] += reached - ready
                if np.isnan(started[c]) and image == 0:
                    started[c] = env.now
                yield from use_port(home, layer.in_bits / setup.port_bits_per_ns)
                counts["read"] += layer.in_bits
                if not phase_events:
                    yield env.timeout(own_compute_ns)
                    counts["events"] += 1
                    busy["arrays"] += layer.phases * layer.read_ns
                    busy["adcs"] += layer.phases * plan.own_adc_ns(layer)
                else:
                    yield from phased(layer, plan, group)
                windows[c] += 1
                phases_done[c] += layer.phases
                sent = False
                for consumer, slot in consumers[c]:
                    for target in readers[consumer, slot][k]:
                        sent = True
                        yield from deliver(target, slot, g, home,
                                           layer.out_bits * layers[consumer].kept_share(slot))
                if not sent:   # the network's outputs (or outputs nobody reads) go to the own buffer
                    yield from use_port(home, layer.out_bits / setup.port_bits_per_ns)
                    counts["written"] += layer.out_bits
                progress[c].finish(g)
                if pipelined:
                    # The layer's buffer keeps what its oldest unfinished window reads.
                    oldest = progress[c].value
                    if oldest >= total:
                        release(owner[q], None, images - 1)
                    else:
                        release(owner[q], oldest % layer.windows, oldest // layer.windows)
                else:
                    release(q, k + 1 if k < last else None, image)
                left = layer_image_left[c]
                left[image] -= 1
                if left[image] == 0:
                    if image == 0:
                        ended[c] = env.now
                    image_layers_left[image] -= 1
                    if image_layers_left[image] == 0:
                        image_done[image] = env.now
                    if not pipelined:
                        if c + 1 < n_layers:
                            gate[c + 1][image].succeed()
                        elif image + 1 < images:
                            gate[0][image + 1].succeed()

    for q in range(len(setup.copies)):
        env.process(copy_process(q))
    if not pipelined and images:
        gate[0][0].succeed()
    env.run()
    if any(left > 0 for left in image_layers_left):
        stuck = [layers[c].name for c in range(n_layers) if layer_image_left[c][-1] > 0]
        raise RuntimeError(f"the event model stopped with layers unfinished (buffers too small for the "
                           f"order the producers deliver in?): {', '.join(stuck[:5])}")
    return EngineResult(
        image_done_ns=image_done, layer_start_ns=[float(s) for s in started], layer_end_ns=[float(e) for e in ended],
        windows=windows, phases=phases_done, waits_ns=waits, busy_ns=busy,
        buffer_bits_read=counts["read"], buffer_bits_written=counts["written"],
        network_bit_hops=counts["bit_hops"], network_bits=counts["bits"], traffic=traffic, peak_buffer_bits=peak,
        events=int(counts["events"]), end_ns=float(env.now))


RELIEVABLE = ("adcs", "buffer_ports", "buffer_space", "network")


def relieved(setup: EngineSetup, resource: str) -> EngineSetup:
    """The same chip with one resource class made unlimited, to ask what it cost: buffer_space
    (input buffers without a room limit, as the layer-sequential chip keeps them), network (links
    of infinite bandwidth and no hop delay), buffer_ports (ports of infinite bandwidth), adcs
    (every copy its own converters). `arrays` waits are the pipeline's imbalance, not a resource
    one can add."""
    if resource == "buffer_space":
        return replace(setup, buffer_capacity_bits=[None] * len(setup.copies))
    if resource == "network":
        return replace(setup, link_bits_per_ns=math.inf, hop_ns=0.0)
    if resource == "buffer_ports":
        return replace(setup, port_bits_per_ns=math.inf)
    if resource == "adcs":
        return replace(setup, copies=[replace(plan, adc_group=None) for plan in setup.copies])
    raise ValueError(f"resource {resource!r}: allowed {', '.join(RELIEVABLE)}")


def per_image_ns(setup: EngineSetup, result: EngineResult) -> float:
    """Time per image: between the last two finished images of a pipeline, else the first's latency."""
    done = result.image_done_ns
    return done[-1] - done[-2] if setup.execution == "pipelined" and len(done) > 1 else done[0]


@dataclass(frozen=True)
class ClosedFormTimes:
    """The same chip without contention: per-layer busy time, sequential latency, pipelined interval."""

    layer_ns: list[float]
    sequential_ns: float
    interval_ns: float
    window_ns: list[float] = field(default_factory=list)


def closed_form(setup: EngineSetup) -> ClosedFormTimes:
    """Layer time = the widest band x (fetch + compute + outputs to the consumer copies that read
    them), nothing waiting for anything else; layer-sequential latency is their sum, a pipeline's
    interval in steady state their maximum (the slowest stage sets the pace)."""
    layers = setup.layers
    consumers: list[list[tuple[int, int]]] = [[] for _ in layers]
    for c, layer in enumerate(layers):
        for slot, p in enumerate(layer.producers):
            consumers[p].append((c, slot))
    first_copy = {plan.layer: plan for plan in setup.copies if plan.index == 0}
    copies = [first_copy[c].copies if c in first_copy else 1 for c in range(len(layers))]
    # The slowest copy's conversions, as if no shared converter were ever busy with another copy.
    slowest: dict[int, float] = {}
    for plan in setup.copies:
        slowest[plan.layer] = max(slowest.get(plan.layer, 0.0), plan.slowest_adc_ns(layers[plan.layer]))
    adc_ns = [slowest.get(c, layer.adc_ns) for c, layer in enumerate(layers)]

    def move(src: int, dst: int, bits: float) -> float:
        hops = len(setup.route(src, dst)) if src != dst else 0
        return (hops * setup.hop_ns + bits / setup.link_bits_per_ns if hops and bits > 0 else 0.0) \
            + bits / setup.port_bits_per_ns

    per_window, layer_ns = [], []
    for c, layer in enumerate(layers):
        src = first_copy[c].tile if c in first_copy else 0
        t = layer.in_bits / setup.port_bits_per_ns + layer.compute_ns_at(adc_ns[c])
        targets = [(first_copy[d].tile, layer.out_bits * layers[d].kept_share(slot))
                   for d, slot in consumers[c] if d in first_copy] or [(src, layer.out_bits)]
        t += sum(move(src, dst, bits) for dst, bits in targets)
        per_window.append(t)
        layer_ns.append(-(-layer.windows // max(copies[c], 1)) * t)
    return ClosedFormTimes(layer_ns, float(sum(layer_ns)), float(max(layer_ns, default=0.0)), per_window)
