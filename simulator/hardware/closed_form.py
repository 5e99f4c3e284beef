"""The closed-form model of the same counts as the event model (design.md: "must agree with it
when nothing contends"). It ignores the shared buffers, buses and network ports, so it equals the
event model when no two copies share a tile's resources at once and is never above it otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

from simulator.hardware.costs import LayerCost


@dataclass(frozen=True)
class ClosedForm:
    layer_ns: list[float]   # per layer, its copies sharing its vectors
    latency_ns: float       # one image through every layer
    interval_ns: float      # between finished images in steady state
    total_ns: float         # `images` images


def closed_form(costs: list[LayerCost], counts: list[int], execution: str, images: int = 1) -> ClosedForm:
    """Layer time = ceil(vectors / copies) x vector time; vector time = fetch + reads and
    conversions (r + a + (phases - 1) max(r, a)) + write. Sequential images add up; a pipeline of
    identical images finishes in sum + (images - 1) x max (flow shop with identical jobs)."""
    layer_ns = [cost.time_ns(n) for cost, n in zip(costs, counts)]
    latency = sum(layer_ns)
    if execution == "pipelined":
        interval = max(layer_ns, default=0.0)
        return ClosedForm(layer_ns, latency, interval, latency + (images - 1) * interval)
    return ClosedForm(layer_ns, latency, latency, images * latency)
