"""A lowered layer's identity (design.md stage 3), torch-free: what a cached lowering holds, so
that a network can be mapped again from the cache without torch (simulator.mapping.cache)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LoweredLayer:
    """One Conv2d or Linear layer seen as crossbar weight matrices."""

    name: str
    kind: str                      # "conv" or "linear"
    weight_shape: tuple[int, ...]  # torch order: (out, in/groups, kh, kw) or (out, in)
    rows: int                      # R per group
    cols: int                      # C per group
    groups: int
    vectors: int                   # input vectors one inference feeds each group's matrix
    nonzeros: int
    total: int
    pool_ops: int = 0              # comparisons / additions of the pooling after it, per inference (post_ops)
    activations: int = 0           # values through an activation function after it, per inference

    @property
    def density(self) -> float:
        return self.nonzeros / self.total if self.total else 0.0

    @property
    def macs(self) -> int:
        """Multiply-accumulates per inference (dense count)."""
        return self.rows * self.cols * self.groups * self.vectors
