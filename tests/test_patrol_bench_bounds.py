"""The benchmark's independent references (benchmarks/patrol_bounds.py, issue #21): on small
instances the MIP optimum equals exhaustive search, and the bounds are never below it."""
from __future__ import annotations

import itertools
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.patrol import instance  # noqa: E402
from benchmarks.patrol_bounds import cpsat_optimum, lp_bound, milp_optimum  # noqa: E402
from geo_pcmt.analysis.patrol import routing  # noqa: E402


def brute_force(p: routing.RoutingProblem) -> float:
    """The best prize of one team by trying every ordered subset (tiny instances only)."""
    best, targets = 0.0, range(1, p.n_nodes)
    for k in range(1, p.n_nodes):
        for subset in itertools.permutations(targets, k):
            if not routing.check(p, [list(subset)]):
                best = max(best, float(p.prize[list(subset)].sum()))
    return best


@pytest.mark.slow  # exhaustive search over 7 targets: ~3 s
@pytest.mark.parametrize("seed", [1, 2])
def test_the_exact_references_match_exhaustive_search_and_bounds_lie_above(seed):
    p = instance(7, 1, seed=seed, side_km=10.0, budget_min=150.0)
    truth = brute_force(p)
    mip = milp_optimum(p, time_limit_s=30)
    assert mip.optimal and mip.value == pytest.approx(truth, abs=1e-6)
    cp = cpsat_optimum(p, time_limit_s=30)
    assert cp.optimal and cp.best == pytest.approx(truth, abs=1e-6)
    assert lp_bound(p).value >= truth - 1e-6
    assert routing.solve(p, time_limit_s=2).prize <= truth + 1e-6


@pytest.mark.slow  # over ~0.5 s: out of the quick loop
def test_a_bound_stopped_early_is_still_above_the_planner():
    p = instance(30, 2, seed=5)
    planner = routing.solve(p, time_limit_s=1).prize
    assert lp_bound(p, max_rounds=1).value >= planner - 1e-6  # the plain LP, no cuts
    assert np.isfinite(planner) and planner > 0
