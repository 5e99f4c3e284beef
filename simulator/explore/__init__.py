"""`resim explore`: the Pareto front of a workload's design space (issue #28), searched with
optuna's NSGA-II (or exhaustively), accuracy under faults only for designs that can be on it."""

from simulator.explore.search import ExploreResult, run_explore
from simulator.explore.space import Space, load_space

__all__ = ["ExploreResult", "Space", "load_space", "run_explore"]
