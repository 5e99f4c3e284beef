"""The discrete-event chip (design.md stage 6): layer copies, tile buffers, converters and links
as simpy resources, layers as an inter-layer pipeline or one after another.

The unit of work is one **window**: one input vector of one layer (a conv output pixel, a linear
layer's input) on one copy of the layer. A copy is a set of arrays that hold the whole layer once;
copies of a layer share its windows (copy j takes windows j, j + n, ...). Per window a copy

1. waits until its producers have made every output the window reads (pipelined: the rows of the
   producer's output map under the window's receptive field; layer-sequential: the whole map),
2. reads its inputs from the eDRAM buffer that holds the layer's input map (the buffer's port is a
   resource) and, when the copy sits on another tile, has them sent over the network,
3. computes: `phases` bit-serial input phases, each an array read (drivers, crossbar, sample and
   hold) followed by conversions; the sample-and-holds let the next read overlap this phase's
   conversions, so a window takes read + adc + (phases - 1) x max(read, adc) plus the shift-and-add
   (or composition-tree) step. Where the copy's converters are its own this is one event (the
   same time as the phase-by-phase events, a test checks it); where converters are shared between
   copies (an ADC group), every phase asks for the group, so copies wait for each other,
4. sends its outputs over the network to the buffer of every consumer layer, where they take
   room: a consumer's buffer holds `capacity` bits, and a producer whose consumer's buffer is full
   stalls until the consumer has finished the windows that read the oldest outputs.

Links are held wormhole-style: a transfer takes every link of its route at once for
hops x hop_ns + bits / link bandwidth. Waits are recorded per resource class: arrays (a window
ready while its copy was busy), adcs, buffer ports, buffer space (a stalled producer) and network.

The engine knows nothing of hardware files or mappings: simulator.hardware.chip_model builds its
setup from the mapped network and the chip.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
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
    out_bits: float                           # bits written to each consumer's buffer per window
    read_ns: float                            # one array read (drive, settle, sample)
    adc_ns: float                             # one phase's conversions on the copy's busiest converter
    phases: int                               # bit-serial input phases per window
    post_ns: float = 0.0                      # shift-and-add or composition after the last conversion

    @property
    def compute_ns(self) -> float:
        """A window's reads and conversions when the converters are the copy's own."""
        r, a, p = self.read_ns, self.adc_ns, self.phases
        return (r + a + (p - 1) * max(r, a) if p else 0.0) + self.post_ns


@dataclass(frozen=True)
class CopyPlan:
    """One copy of a layer: the tile whose buffer port and network port it uses, and the converter
    group it shares with other copies (None: converters of its own)."""

    layer: int
    index: int
    copies: int                               # copies of this layer (windows index, index + copies, ...)
    tile: int
    adc_group: int | None = None


@dataclass(frozen=True)
class EngineSetup:
    """Everything the event model needs; built by simulator.hardware.chip_model."""

    layers: Sequence[LayerWork]
    copies: Sequence[CopyPlan]
    buffer_tile: Sequence[int]                    # per layer: the tile holding its input map
    buffer_capacity_bits: Sequence[float | None]  # per layer: room for its input map (None: unbounded)
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
    peak_buffer_bits: list[float]             # per layer input buffer
    events: int
    end_ns: float


class BufferTooSmall(ValueError):
    """A layer's input buffer cannot hold what one of its windows reads at once."""


class _Progress:
    """Windows finished by one layer, in order: `done` counts the finished prefix (global window
    index over images); waiters are woken when the prefix passes their threshold."""

    def __init__(self, env: simpy.Environment, total: int) -> None:
        self.env = env
        self.finished = np.zeros(total, dtype=bool)
        self.done = 0
        self.prefix_ns = np.full(total, np.nan)     # when the finished prefix first covered window i
        self._waiters: list[tuple[int, int, simpy.Event]] = []
        self._count = 0

    def finish(self, index: int) -> None:
        self.finished[index] = True
        while self.done < self.finished.size and self.finished[self.done]:
            self.prefix_ns[self.done] = self.env.now
            self.done += 1
        while self._waiters and self._waiters[0][0] < self.done:
            heapq.heappop(self._waiters)[2].succeed()

    def reached(self, index: int) -> simpy.Event | None:
        """An event that fires once window `index` and every one before it have finished."""
        if index < self.done:
            return None
        event = self.env.event()
        self._count += 1
        heapq.heappush(self._waiters, (index, self._count, event))
        return event


def simulate(setup: EngineSetup) -> EngineResult:
    """Run the chip on `setup.images` images and measure it."""
    env = simpy.Environment()
    layers, images = setup.layers, setup.images
    n_layers = len(layers)
    consumers: list[list[int]] = [[] for _ in layers]
    for c, layer in enumerate(layers):
        for p in layer.producers:
            consumers[p].append(c)
    pipelined = setup.execution == "pipelined"
    capacity = list(setup.buffer_capacity_bits) if pipelined else [None] * n_layers
    for c, layer in enumerate(layers):
        if capacity[c] is None or not layer.producers:
            continue
        span = max((float(((hi - lo + 1) * layers[p].out_bits).max()) if hi.size else 0.0)
                   for p, hi, lo in zip(layer.producers, layer.need_hi, layer.need_lo))
        if len(layer.producers) > 1:
            span = float(sum(((hi - lo + 1) * layers[p].out_bits)
                             for p, hi, lo in zip(layer.producers, layer.need_hi, layer.need_lo)).max())
        if span > capacity[c] + 1e-9:
            raise BufferTooSmall(f"layer {layer.name}: one window reads {span / 8:.0f} bytes of its inputs at once, "
                                 f"its buffer holds {capacity[c] / 8:.0f} bytes")

    progress = [_Progress(env, layer.windows * images) for layer in layers]
    tiles = {t for t in setup.buffer_tile} | {c.tile for c in setup.copies}
    ports = {t: simpy.Resource(env, capacity=1) for t in tiles}
    space = [simpy.Container(env, capacity=cap, init=cap) if cap is not None else None for cap in capacity]
    freed = [[0] * len(layer.producers) for layer in layers]      # producer windows released, per consumer
    holds = [[np.zeros(layers[p].windows * images, dtype=bool) for p in layer.producers] for layer in layers]
    slot = {(c, p): i for c, layer in enumerate(layers) for i, p in enumerate(layer.producers)}
    peak = [0.0] * n_layers
    links: dict[int, simpy.Resource] = {}
    groups: dict[int, simpy.Resource] = {}
    waits = dict.fromkeys(WAIT_CLASSES, 0.0)
    busy = dict.fromkeys(WAIT_CLASSES, 0.0)
    counts = {"read": 0.0, "written": 0.0, "bit_hops": 0.0, "bits": 0.0, "events": 0}
    windows = np.zeros(n_layers, dtype=np.int64)
    phases_done = np.zeros(n_layers, dtype=np.int64)
    started = [np.nan] * n_layers
    ended = [np.nan] * n_layers
    image_done = [0.0] * images
    layer_image_left = [[layer.windows for _ in range(images)] for layer in layers]
    image_layers_left = [n_layers] * images
    # Layer-sequential: one layer at a time, in order; layer l of image i starts when layer l - 1
    # (or, for l = 0, the last layer of image i - 1) has finished image i.
    gate = [[env.event() for _ in range(images)] for _ in layers]

    def hold(resource: simpy.Resource, duration: float, kind: str) -> Generator[Any, Any, None]:
        asked = env.now
        with resource.request() as request:
            yield request
            waits[kind] += env.now - asked
            busy[kind] += duration
            yield env.timeout(duration)
        counts["events"] += 2

    routes: dict[tuple[int, int], tuple[int, ...]] = {}

    def transfer(src: int, dst: int, bits: float) -> Generator[Any, Any, None]:
        if src == dst or bits <= 0:
            return
        route = routes.get((src, dst))
        if route is None:
            route = routes[src, dst] = tuple(sorted(setup.route(src, dst)))
        if not route:
            return
        asked = env.now
        requests = []
        # Every transfer takes its links in increasing id order: one global order, so no two
        # transfers can each hold a link the other waits for.
        for link in route:
            resource = links.get(link)
            if resource is None:
                resource = links[link] = simpy.Resource(env, capacity=1)
            request = resource.request()
            requests.append((resource, request))
            yield request
        waits["network"] += env.now - asked
        duration = len(route) * setup.hop_ns + bits / setup.link_bits_per_ns
        busy["network"] += duration * len(route)
        counts["bit_hops"] += bits * len(route)
        counts["bits"] += bits
        counts["events"] += len(route) + 1
        yield env.timeout(duration)
        for resource, request in requests:
            resource.release(request)

    def release_inputs(c: int) -> None:
        """Give back the buffer room of producer outputs that no unfinished window of c reads."""
        box = space[c]
        if box is None:
            return
        layer = layers[c]
        image, k = divmod(progress[c].done, layer.windows)
        for i, p in enumerate(layer.producers):
            per_image = layers[p].windows
            keep_from = images * per_image if image >= images else image * per_image + int(layer.need_lo[i][k])
            if keep_from <= freed[c][i]:
                continue
            held = holds[c][i][freed[c][i]:keep_from]
            room = int(held.sum()) * layers[p].out_bits
            held[:] = False
            freed[c][i] = keep_from
            if room > 0:
                box.put(room)

    def copy_process(plan: CopyPlan) -> Generator[Any, Any, None]:
        c = plan.layer
        layer = layers[c]
        home = plan.tile
        buffer_home = setup.buffer_tile[c]
        per_image = layer.windows
        group = None
        if plan.adc_group is not None:
            group = groups.get(plan.adc_group)
            if group is None:
                group = groups[plan.adc_group] = simpy.Resource(env, capacity=1)
        phase_events = group is not None or not setup.aggregate
        for image in range(images):
            if not pipelined:
                yield gate[c][image]
            for k in range(plan.index, per_image, plan.copies):
                g = image * per_image + k
                reached = env.now
                ready = 0.0
                for i, p in enumerate(layer.producers):
                    needed = image * layers[p].windows + int(layer.need_hi[i][k])
                    event = progress[p].reached(needed)
                    if event is not None:
                        yield event
                        counts["events"] += 1
                    ready = max(ready, float(progress[p].prefix_ns[needed]))
                if pipelined and layer.producers and ready < reached:
                    # The window's inputs were there before its copy was free: it queued for the arrays.
                    waits["arrays"] += reached - ready
                if np.isnan(started[c]) and image == 0:
                    started[c] = env.now
                # Inputs: the buffer port of the tile holding the layer's input map, then the network.
                yield from hold(ports[buffer_home], layer.in_bits / setup.port_bits_per_ns, "buffer_ports")
                counts["read"] += layer.in_bits
                yield from transfer(buffer_home, home, layer.in_bits)
                # Compute.
                if not phase_events:
                    yield env.timeout(layer.compute_ns)
                    counts["events"] += 1
                    busy["arrays"] += layer.phases * layer.read_ns
                    busy["adcs"] += layer.phases * layer.adc_ns
                else:
                    yield from phased(layer, group)
                windows[c] += 1
                phases_done[c] += layer.phases
                # Outputs: into every consumer's buffer (room first: a full buffer stalls us).
                for consumer in consumers[c] or [None]:
                    target = setup.buffer_tile[consumer] if consumer is not None else home
                    box = space[consumer] if consumer is not None else None
                    # An output no unfinished window of the consumer reads any more takes no room.
                    if box is not None and g >= freed[consumer][slot[consumer, c]]:
                        asked = env.now
                        yield box.get(layer.out_bits)
                        waits["buffer_space"] += env.now - asked
                        holds[consumer][slot[consumer, c]][g] = True
                        peak[consumer] = max(peak[consumer], box.capacity - box.level)
                    yield from transfer(home, target, layer.out_bits)
                    yield from hold(ports[target], layer.out_bits / setup.port_bits_per_ns, "buffer_ports")
                    counts["written"] += layer.out_bits
                progress[c].finish(g)
                release_inputs(c)
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

    def phased(layer: LayerWork, group: simpy.Resource | None) -> Generator[Any, Any, None]:
        """The window's phases one by one: a read, then its conversions on the (shared) converters;
        the next read overlaps them, but its sample waits until they are done."""
        converting: simpy.Process | None = None

        def convert() -> Generator[Any, Any, None]:
            if group is None:
                yield env.timeout(layer.adc_ns)
                busy["adcs"] += layer.adc_ns
                counts["events"] += 1
            else:
                yield from hold(group, layer.adc_ns, "adcs")

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

    for plan in setup.copies:
        env.process(copy_process(plan))
    if not pipelined and images:
        gate[0][0].succeed()
    env.run()
    if image_layers_left and any(left > 0 for left in image_layers_left):
        stuck = [layers[c].name for c in range(n_layers) if layer_image_left[c][-1] > 0]
        raise RuntimeError(f"the event model stopped with layers unfinished: {', '.join(stuck[:5])}")
    return EngineResult(
        image_done_ns=image_done, layer_start_ns=[float(s) for s in started], layer_end_ns=[float(e) for e in ended],
        windows=windows, phases=phases_done, waits_ns=waits, busy_ns=busy,
        buffer_bits_read=counts["read"], buffer_bits_written=counts["written"],
        network_bit_hops=counts["bit_hops"], network_bits=counts["bits"], peak_buffer_bits=peak,
        events=int(counts["events"]), end_ns=float(env.now))


@dataclass(frozen=True)
class ClosedFormTimes:
    """The same chip without contention: per-layer busy time, sequential latency, pipelined interval."""

    layer_ns: list[float]
    sequential_ns: float
    interval_ns: float
    window_ns: list[float] = field(default_factory=list)


def closed_form(setup: EngineSetup) -> ClosedFormTimes:
    """Layer time = ceil(windows / copies) x (fetch + network in + compute + outputs), nothing
    waiting for anything else; layer-sequential latency is their sum, a pipeline's interval in
    steady state their maximum (the slowest stage sets the pace)."""
    copies_of = [0] * len(setup.layers)
    hops_in = [0] * len(setup.layers)
    for plan in setup.copies:
        copies_of[plan.layer] += 1
        hops_in[plan.layer] = max(hops_in[plan.layer], len(setup.route(setup.buffer_tile[plan.layer], plan.tile))
                                  if setup.buffer_tile[plan.layer] != plan.tile else 0)
    consumers: list[list[int]] = [[] for _ in setup.layers]
    for c, layer in enumerate(setup.layers):
        for p in layer.producers:
            consumers[p].append(c)
    tile_of = {plan.layer: plan.tile for plan in setup.copies if plan.index == 0}
    per_window, layer_ns = [], []
    for c, layer in enumerate(setup.layers):
        def move(hops: int, bits: float) -> float:
            return hops * setup.hop_ns + bits / setup.link_bits_per_ns if hops and bits > 0 else 0.0

        t = layer.in_bits / setup.port_bits_per_ns + move(hops_in[c], layer.in_bits) + layer.compute_ns
        for consumer in consumers[c] or [None]:
            target = setup.buffer_tile[consumer] if consumer is not None else tile_of.get(c, 0)
            src = tile_of.get(c, 0)
            hops = len(setup.route(src, target)) if src != target else 0
            t += move(hops, layer.out_bits) + layer.out_bits / setup.port_bits_per_ns
        per_window.append(t)
        layer_ns.append(-(-layer.windows // max(copies_of[c], 1)) * t)
    return ClosedFormTimes(layer_ns, float(sum(layer_ns)), float(max(layer_ns, default=0.0)), per_window)
