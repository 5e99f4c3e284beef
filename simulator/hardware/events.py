"""The simpy discrete-event model of the chip (design.md stage 6).

One event per array operation (one input phase of one vector on one copy of a layer, whose arrays
work in lockstep), never one per cycle. A copy's arrays and ADCs are its own; the tile buffer, the
tile bus and the tile's network port are simpy resources shared by every copy whose home is that
tile, so contention shows up as waiting. Execution is layer-sequential (a layer starts when the
previous one has finished the image) or pipelined (each layer works on its own image; layer l takes
image i once layer l-1 has finished it and l has finished image i-1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import simpy

from simulator.hardware.costs import LayerCost
from simulator.hardware.placement import Replica


@dataclass
class SimulationResult:
    """What the event model measured."""

    layer_ns: list[float]          # per layer: time from its first start to its last finish, first image
    image_done_ns: list[float]     # completion time of every simulated image
    ops: np.ndarray                # array operations per layer (all images)
    vectors: np.ndarray            # input vectors per layer (all images)
    wait_ns: float                 # total time copies waited for a shared resource
    events: int                    # simpy events processed


def simulate(costs: list[LayerCost], replicas: list[Replica], tiles: int, execution: str,
             images: int = 1) -> SimulationResult:
    env = simpy.Environment()
    buffers = [simpy.Resource(env, capacity=1) for _ in range(tiles)]
    buses = [simpy.Resource(env, capacity=1) for _ in range(tiles)]
    ports = [simpy.Resource(env, capacity=1) for _ in range(tiles)]
    ops = np.zeros(len(costs), dtype=np.int64)
    vectors = np.zeros(len(costs), dtype=np.int64)
    waited = [0.0]
    events = [0]
    by_layer: list[list[Replica]] = [[] for _ in costs]
    for replica in replicas:
        by_layer[replica.layer].append(replica)

    def hold(resource: simpy.Resource, duration: float):
        asked = env.now
        request = resource.request()
        yield request
        waited[0] += env.now - asked
        yield env.timeout(duration)
        resource.release(request)
        events[0] += 2

    def copy_of(cost: LayerCost, replica: Replica):
        home = replica.home
        # Zero-time stages (a layer with nothing to move) take no event at all.
        stages_in = [(r, d) for r, d in ((buffers[home], cost.fetch_buffer_ns), (buses[home], cost.fetch_bus_ns)) if d > 0]
        stages_out = [(r, d) for r, d in ((ports[home], cost.write_network_ns), (buffers[home], cost.write_buffer_ns))
                      if d > 0]
        read, convert, phases = cost.read_ns, cost.adc_ns, cost.phases
        for _ in range(replica.vectors):
            for resource, duration in stages_in:
                yield from hold(resource, duration)
            adc_free = env.now
            for _ in range(phases):
                yield env.timeout(read)          # one array operation
                adc_free = max(env.now, adc_free) + convert
            ops[replica.layer] += phases
            events[0] += phases
            if adc_free > env.now:
                yield env.timeout(adc_free - env.now)
                events[0] += 1
            for resource, duration in stages_out:
                yield from hold(resource, duration)
            vectors[replica.layer] += 1

    done = [[env.event() for _ in range(images)] for _ in costs]
    spans = [[0.0, 0.0] for _ in costs]
    finished = [0.0] * images

    def finish(i: int, image: int, started: float) -> None:
        if image == 0:
            spans[i] = [started, env.now]
        if i == len(costs) - 1:
            finished[image] = env.now
        done[i][image].succeed()

    def layer(i: int):
        for image in range(images):
            if i > 0:
                yield done[i - 1][image]
            started = env.now
            yield env.all_of([env.process(copy_of(costs[i], r)) for r in by_layer[i] if r.vectors])
            finish(i, image, started)

    def sequential():
        for image in range(images):
            for i, cost in enumerate(costs):
                started = env.now
                yield env.all_of([env.process(copy_of(cost, r)) for r in by_layer[i] if r.vectors])
                finish(i, image, started)

    if execution == "pipelined":
        for i in range(len(costs)):
            env.process(layer(i))
    else:
        env.process(sequential())
    env.run()
    return SimulationResult([end - start for start, end in spans], finished, ops, vectors, waited[0], events[0])
