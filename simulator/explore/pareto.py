"""Pareto dominance over a design space's objectives, the rule that decides which designs get a
fault study, and how far a dominated design lies behind the front.

The candidate rule (issue #28: accuracy under faults only for designs that can still be on the
front). A design's accuracy under faults is either measured, or bounded above by its optimistic
bound: the fault-free (float) test accuracy of its network on the same test images plus the space's
`faults.bound_margin` (stuck-at faults and quantisation cost accuracy; the margin covers the noise of
a few draws on a finite test set), or 1 when that accuracy is not known. A design without a
measured accuracy is *closed*, never studied, when

- a design of its accuracy group (the same workload apart from `hardware_study.*`: the same network,
  mapping, chip file and fault draws, hence the same accuracy under faults) is at least as good on
  every other objective and better on one, or
- a design with a measured accuracy that meets the constraints is at least as good on every
  objective, accuracy included, against the closed design's optimistic bound, and better on one.

Every other design is a candidate; its group is studied. A closed design cannot be on the front
whatever its accuracy (up to the bound), so the front of the studied designs is the front of all.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from simulator.explore.space import FAULT_ACCURACY, Constraint, Objective


@dataclass(frozen=True)
class Entry:
    """One evaluated design as the rule sees it: its hardware-stage figures (`figures`, without
    accuracy under faults), its accuracy group, and its accuracy under faults when measured."""

    design_id: str
    group: str
    figures: dict[str, float]
    accuracy: float | None = None          # accuracy under faults, measured
    bound: float = 1.0                     # optimistic accuracy under faults while not measured
    reference: str | None = None
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def measured(self) -> bool:
        return self.accuracy is not None

    def value(self, figure: str, optimistic: bool = False) -> float | None:
        """The figure, accuracy under faults at its bound when `optimistic` and not measured."""
        if figure == FAULT_ACCURACY:
            return self.accuracy if self.accuracy is not None else (self.bound if optimistic else None)
        return self.figures.get(figure)


def dominates(a: Sequence[float], b: Sequence[float]) -> bool:
    """`a` at least as good as `b` everywhere and better somewhere (minimisation form)."""
    return all(x <= y for x, y in zip(a, b)) and any(x < y for x, y in zip(a, b))


def vector(entry: Entry, objectives: Sequence[Objective], optimistic: bool = False,
           without: str | None = None) -> tuple[float, ...] | None:
    """The entry's objectives in minimisation form (None when one is unknown)."""
    out = []
    for objective in objectives:
        if objective.figure == without:
            continue
        value = entry.value(objective.figure, optimistic)
        if value is None or not math.isfinite(value):
            return None
        out.append(objective.signed(value))
    return tuple(out)


def hardware_feasible(entry: Entry, constraints: Sequence[Constraint]) -> bool:
    """Every constraint on a hardware-stage figure holds."""
    return all(c.holds(entry.figures[c.figure]) for c in constraints
               if c.figure != FAULT_ACCURACY and entry.figures.get(c.figure) is not None)


def feasibility(entry: Entry, constraints: Sequence[Constraint]) -> bool | None:
    """True: every constraint holds; False: one fails (for an unmeasured accuracy, even at its
    bound); None: it depends on an accuracy not yet measured."""
    if not hardware_feasible(entry, constraints):
        return False
    on_accuracy = [c for c in constraints if c.figure == FAULT_ACCURACY]
    if not on_accuracy:
        return True
    if entry.accuracy is not None:
        return all(c.holds(entry.accuracy) for c in on_accuracy)
    return None if all(c.may_hold(entry.bound) for c in on_accuracy) else False


def violated(entry: Entry, constraints: Sequence[Constraint]) -> list[str]:
    """The constraints the entry's known figures break (as written in the space file)."""
    out = []
    for c in constraints:
        value = entry.value(c.figure)
        if value is not None and not c.holds(value):
            shown = f"{value:.2%}" if c.figure in (FAULT_ACCURACY, "test_accuracy", "density") else f"{value:.4g}"
            out.append(f"{c.figure} {shown} breaks {c.text}")
        elif value is None and c.figure == FAULT_ACCURACY and not c.may_hold(entry.bound):
            out.append(f"{c.text} (its optimistic bound {entry.bound:.2%} already fails)")
    return out


def open_designs(entries: Sequence[Entry], objectives: Sequence[Objective],
                 constraints: Sequence[Constraint]) -> list[Entry]:
    """The unmeasured designs the module's rule leaves open (candidates for a fault study)."""
    feasible = {e.design_id: feasibility(e, constraints) for e in entries}
    hw_ok = {e.design_id: hardware_feasible(e, constraints) for e in entries}
    hardware = {e.design_id: vector(e, objectives, without=FAULT_ACCURACY) for e in entries}
    full = {e.design_id: vector(e, objectives) for e in entries if e.measured}
    out = []
    for d in entries:
        if d.measured or feasible[d.design_id] is False or hardware[d.design_id] is None:
            continue
        optimistic = vector(d, objectives, optimistic=True)
        closed = False
        for e in entries:
            if e.design_id == d.design_id:
                continue
            if e.group == d.group:
                theirs, mine = hardware[e.design_id], hardware[d.design_id]
                if hw_ok[e.design_id] and theirs is not None and mine is not None and dominates(theirs, mine):
                    closed = True
                    break
            elif e.measured and feasible[e.design_id] is True:
                theirs = full.get(e.design_id)
                if theirs is not None and optimistic is not None and dominates(theirs, optimistic):
                    closed = True
                    break
        if not closed:
            out.append(d)
    return out


def front(entries: Sequence[Entry], objectives: Sequence[Objective],
          constraints: Sequence[Constraint]) -> list[Entry]:
    """The non-dominated feasible designs with every objective known."""
    pool = [(e, vector(e, objectives)) for e in entries if feasibility(e, constraints) is True]
    known = [(e, v) for e, v in pool if v is not None]
    return [e for e, v in known if not any(dominates(w, v) for f, w in known if f.design_id != e.design_id)]


@dataclass(frozen=True)
class Margin:
    """How far `by` is ahead of a dominated design: per objective, the relative change in percent
    (accuracy: the difference in percentage points), and the least improvement over all objectives
    in the minimisation form (the additive epsilon the dominated design lacks, as a fraction)."""

    by: str
    changes: dict[str, float]
    least: float


def margins(entry: Entry, front_entries: Sequence[Entry], objectives: Sequence[Objective]) -> list[Margin]:
    """The front designs that dominate `entry`, the one ahead by the most (on its weakest objective)
    first."""
    mine = vector(entry, objectives)
    if mine is None:
        return []
    out = []
    for f in front_entries:
        theirs = vector(f, objectives)
        if theirs is None or f.design_id == entry.design_id or not dominates(theirs, mine):
            continue
        changes: dict[str, float] = {}
        gains = []
        for objective, a, b in zip(objectives, theirs, mine):
            if objective.figure in (FAULT_ACCURACY, "test_accuracy", "density"):
                changes[objective.figure] = (objective.signed(a) - objective.signed(b)) * 100
                gains.append(b - a)
            else:
                scale = abs(b) if b else 1.0
                changes[objective.figure] = (objective.signed(a) - objective.signed(b)) / scale * 100
                gains.append((b - a) / scale)
        out.append(Margin(f.design_id, changes, min(gains)))
    return sorted(out, key=lambda m: (-m.least, m.by))
