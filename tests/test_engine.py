"""The event model (simulator/hardware/engine.py) on small hand-built chips: aggregated and
phase-by-phase runs agree, the closed form matches when nothing contends, and contention appears
where it must, by the amount a bottleneck predicts."""

from __future__ import annotations

import numpy as np
import pytest
from torch import nn

from simulator.hardware.engine import (
    BufferTooSmall,
    CopyPlan,
    EngineSetup,
    LayerWork,
    closed_form,
    simulate,
)
from simulator.lowering.dataflow import dataflow, window_needs


def small_net() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.Flatten(),
                         nn.Linear(16 * 4 * 4, 10))


def works(read_ns: float = 100.0, adc_ns: float = 25.0, phases: int = 8, bits: float = 64.0) -> list[LayerWork]:
    flow = dataflow(small_net(), (3, 8, 8))
    out = []
    for i, geo in enumerate(flow.layers):
        needs = [window_needs(geo, flow.layers[p]) for p in flow.producers[i]]
        out.append(LayerWork(geo.name, geo.windows, flow.producers[i], tuple(n[1] for n in needs),
                             tuple(n[0] for n in needs), in_bits=bits, out_bits=bits, read_ns=read_ns,
                             adc_ns=adc_ns, phases=phases, post_ns=2.0))
    return out


def line_route(a: int, b: int) -> tuple[int, ...]:
    """Tiles on a line, one link per direction between neighbours (ids 2i: i -> i+1, 2i+1: back)."""
    if a < b:
        return tuple(2 * i for i in range(a, b))
    return tuple(2 * i + 1 for i in range(b, a))


def setup(layers: list[LayerWork], execution: str = "pipelined", *, copies: list[int] | None = None,
          capacity: float | list[float | None] | None = 1e12, link: float = 1e6, port: float = 1e6, images: int = 1,
          aggregate: bool = True, groups: dict[int, int] | None = None, one_tile: bool = False) -> EngineSetup:
    copies = copies or [1] * len(layers)
    plans, tile = [], 0
    for i, n in enumerate(copies):
        for j in range(n):
            plans.append(CopyPlan(i, j, n, 0 if one_tile else tile, (groups or {}).get(i)))
            tile += 1
    rooms = [capacity[p.layer] if isinstance(capacity, list) else capacity for p in plans]
    return EngineSetup(layers, plans, rooms,
                       port_bits_per_ns=port, link_bits_per_ns=link, hop_ns=1.0, route=line_route,
                       execution=execution, images=images, aggregate=aggregate)


@pytest.mark.parametrize("execution", ["pipelined", "layer-sequential"])
def test_aggregated_windows_equal_phase_by_phase_events(execution: str) -> None:
    layers = works()
    fast = simulate(setup(layers, execution, copies=[2, 1, 3, 1], images=2))
    slow = simulate(setup(layers, execution, copies=[2, 1, 3, 1], images=2, aggregate=False))
    assert slow.events > fast.events
    assert fast.image_done_ns == pytest.approx(slow.image_done_ns, rel=1e-12)
    assert fast.layer_end_ns == pytest.approx(slow.layer_end_ns, rel=1e-12)
    assert np.array_equal(fast.windows, slow.windows)


def test_layer_sequential_matches_the_closed_form_when_nothing_contends() -> None:
    layers = works()
    chip = setup(layers, "layer-sequential", copies=[1, 1, 1, 1], link=64.0, port=128.0)
    sim = simulate(chip)
    closed = closed_form(chip)
    assert sum(sim.waits_ns.values()) == pytest.approx(0.0, abs=1e-9)
    assert sim.image_done_ns[0] == pytest.approx(closed.sequential_ns, rel=0.01)


def test_pipeline_interval_is_the_slowest_stage_when_nothing_contends() -> None:
    layers = works()
    chip = setup(layers, "pipelined", copies=[1, 1, 1, 1], images=6)
    sim = simulate(chip)
    closed = closed_form(chip)
    interval = sim.image_done_ns[-1] - sim.image_done_ns[-2]
    assert interval == pytest.approx(closed.interval_ns, rel=0.01)
    # the pipeline overlaps layers: one image takes less than the layers one after another
    assert sim.image_done_ns[0] < closed.sequential_ns


def test_halving_converters_slows_the_adc_bound_layer_by_the_predicted_amount() -> None:
    # Conversions longer than reads: the ADC sets the pace of every phase.
    layers = works(read_ns=10.0, adc_ns=40.0)
    alone = simulate(setup(layers, "layer-sequential", copies=[1, 2, 1, 1], one_tile=True))
    # The two copies of layer 1 now share one converter group (half the converters).
    shared = simulate(setup(layers, "layer-sequential", copies=[1, 2, 1, 1], one_tile=True, groups={1: 7}))
    assert shared.waits_ns["adcs"] > 0
    span = [e - s for s, e in zip(alone.layer_start_ns, alone.layer_end_ns)]
    span_shared = [e - s for s, e in zip(shared.layer_start_ns, shared.layer_end_ns)]
    # Shared: 64 windows x 8 phases x 40 ns of conversions on one group, against 32 x 8 x 40 per copy.
    adc_work = layers[1].windows * layers[1].phases * layers[1].adc_ns
    assert span_shared[1] == pytest.approx(adc_work, rel=0.02)
    assert span[1] == pytest.approx(adc_work / 2, rel=0.05)
    assert span_shared[0] == pytest.approx(span[0]) and span_shared[2] == pytest.approx(span[2])


def test_a_buffer_of_one_window_stalls_the_producer() -> None:
    layers = works()
    roomy = simulate(setup(layers, "pipelined", images=1))
    lo, hi = layers[1].need_lo[0], layers[1].need_hi[0]
    one_window = float(((hi - lo + 1) * layers[0].out_bits).max())   # layer 1 has one copy here
    rooms: list[float | None] = [None, one_window, None, None]
    tight = simulate(setup(layers, "pipelined", images=1, capacity=rooms))
    assert tight.waits_ns["buffer_space"] > 0 and roomy.waits_ns["buffer_space"] == 0
    assert tight.image_done_ns[0] > roomy.image_done_ns[0]
    assert tight.peak_buffer_bits[1] == pytest.approx(one_window)   # copy 1 is layer 1's only copy
    with pytest.raises(BufferTooSmall, match="one window reads"):
        simulate(setup(layers, "pipelined", capacity=[None, one_window / 2, None, None]))


def test_a_narrow_link_makes_the_transfers_the_bottleneck() -> None:
    layers = works(bits=4096.0)
    link = 1.0   # bit/ns: a 4096-bit window takes 4096 ns on every link, far more than its compute
    chip = setup(layers, "layer-sequential", copies=[1, 1, 1, 1], link=link)
    sim = simulate(chip)
    closed = closed_form(chip)
    assert sim.image_done_ns[0] == pytest.approx(closed.sequential_ns, rel=0.01)
    # Outputs cross one link to the next layer's tile: at least windows x bits / bandwidth per layer.
    transfers = sum(layer.windows * layer.out_bits / link for layer in layers[:-1])
    assert sim.image_done_ns[0] > transfers
    assert sim.network_bit_hops == pytest.approx(sum(layer.windows * layer.out_bits for layer in layers[:-1]))
    # Two copies of layer 0 on tiles 0 and 1 send to layer 1 on tile 2 over the link 1 -> 2: they wait.
    shared = simulate(setup(layers, "pipelined", copies=[2, 1, 1, 1], link=link, capacity=None))
    assert shared.waits_ns["network"] > 0


def test_windows_and_reads_are_counted_per_image() -> None:
    layers = works()
    sim = simulate(setup(layers, "pipelined", copies=[3, 1, 2, 1], images=3))
    assert list(sim.windows) == [3 * layer.windows for layer in layers]
    assert list(sim.phases) == [3 * layer.windows * layer.phases for layer in layers]
    assert sim.image_done_ns == sorted(sim.image_done_ns)
