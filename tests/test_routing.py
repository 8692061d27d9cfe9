"""The team-orienteering solvers: optimum on small instances, budgets, windows, revisits."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from geo_pcmt.analysis.patrol import routing
from geo_pcmt.analysis.patrol.routing import (
    RoutingError,
    RoutingProblem,
    check,
    solve,
    solve_greedy,
)

needs_ortools = pytest.mark.skipif(not routing.ortools_available(), reason="OR-Tools not installed")
ortools_run = [needs_ortools, pytest.mark.slow]  # OR-Tools searches to its time limit


def grid_problem(n: int, *, teams: int = 1, budget: float = 240.0, seed: int = 0,
                 service: float = 15.0, **kw) -> RoutingProblem:
    """n targets scattered in a 10 km square around the post at its centre; 60 m per minute."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 10_000, (n + 1, 2))
    xy[0] = 5_000
    travel = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)) / 60.0
    prize = np.round(rng.uniform(1, 10, n + 1), 1)
    prize[0] = 0
    svc = np.full(n + 1, service)
    svc[0] = 0
    return RoutingProblem(travel, prize, svc, budget, teams, **kw)


def brute_force_optimum(p: RoutingProblem) -> float:
    """Best prize over every split of the targets between the teams (no windows)."""
    n = p.n_nodes - 1
    full = 1 << n
    # Held–Karp: shortest closed tour (travel + dwell) through each subset
    best = np.full((full, n), np.inf)
    for j in range(n):
        best[1 << j, j] = p.travel_min[0, j + 1] + p.service_min[j + 1]
    for mask in range(full):
        for j in range(n):
            if not np.isfinite(best[mask, j]):
                continue
            for k in range(n):
                if mask & (1 << k):
                    continue
                cost = best[mask, j] + p.travel_min[j + 1, k + 1] + p.service_min[k + 1]
                if cost < best[mask | (1 << k), k]:
                    best[mask | (1 << k), k] = cost
    tour = np.array([0.0] + [min(best[m, j] + p.travel_min[j + 1, 0] for j in range(n)
                                 if m & (1 << j)) for m in range(1, full)])
    feasible = [m for m in range(full) if tour[m] <= p.budget_min + 1e-9]
    value = {m: sum(p.prize[j + 1] for j in range(n) if m & (1 << j)) for m in feasible}
    if p.n_teams == 1:
        return max(value.values())
    return max(value[a] + value[b] for a, b in itertools.product(feasible, feasible)
               if not a & b)


@pytest.mark.slow  # OR-Tools searches to its time limit
@needs_ortools
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_ortools_finds_the_brute_force_optimum_of_a_small_instance(seed):
    p = grid_problem(8, teams=2, budget=150.0, seed=seed)
    optimum = brute_force_optimum(p)
    sol = solve(p, method="ortools", time_limit_s=1.0)
    assert check(p, sol.routes) == []
    assert sol.prize == pytest.approx(optimum)
    # and the optimum is a real choice: not every target fits
    assert optimum < p.prize.sum()


def test_greedy_plan_is_valid_and_never_beats_the_optimum():
    p = grid_problem(8, teams=2, budget=150.0, seed=4)
    sol = solve_greedy(p)
    assert check(p, sol.routes) == []
    assert 0 < sol.prize <= brute_force_optimum(p) + 1e-9


@pytest.mark.parametrize("method", ["greedy", pytest.param("auto", marks=ortools_run)])
def test_every_team_is_back_within_the_budget(method):
    p = grid_problem(40, teams=3, budget=180.0, seed=5)
    sol = solve(p, method=method, time_limit_s=1.0)
    assert check(p, sol.routes) == []
    assert all(r <= 180.0 + 1e-6 for r in sol.return_min)
    assert sum(len(r) for r in sol.routes) < 40  # the budget binds
    for route, starts in zip(sol.routes, sol.arrive_min):
        t, prev = 0.0, 0
        for k, s in zip(route, starts):
            t += p.travel_min[prev, k]
            assert s == pytest.approx(t)  # no windows: nobody waits
            t = s + p.service_min[k]
            prev = k


@pytest.mark.parametrize("method", ["greedy", pytest.param("ortools", marks=ortools_run)])
def test_time_windows_are_kept_and_an_early_team_waits(method):
    base = grid_problem(10, teams=1, budget=300.0, seed=6)
    opens = np.full(11, np.nan)
    closes = np.full(11, np.nan)
    # node 3 only between 200 and 210 min, node 5 only in the first 40 min, both worth most
    opens[3], closes[3] = 200.0, 210.0
    closes[5] = 40.0
    prize = base.prize.copy()
    prize[3] = prize[5] = 50.0
    p = RoutingProblem(base.travel_min, prize, base.service_min, 300.0, 1, opens, closes)
    sol = solve(p, method=method, time_limit_s=1.0)
    assert check(p, sol.routes) == []
    start = {k: s for r, st in zip(sol.routes, sol.arrive_min) for k, s in zip(r, st)}
    assert 3 in start and 200.0 - 1e-6 <= start[3] <= 210.0 + 1e-6
    if 5 in start:
        assert start[5] <= 40.0 + 1e-6


@pytest.mark.slow  # OR-Tools searches to its time limit
def test_a_target_whose_window_cannot_be_met_is_left_out():
    base = grid_problem(5, teams=1, budget=300.0, seed=7)
    opens = np.full(6, np.nan)
    closes = np.full(6, np.nan)
    closes[2] = base.travel_min[0, 2] / 2  # closes before anyone can get there
    prize = base.prize.copy()
    prize[2] = 100.0
    p = RoutingProblem(base.travel_min, prize, base.service_min, 300.0, 1, opens, closes)
    for method in ["greedy"] + (["ortools"] if routing.ortools_available() else []):
        sol = solve(p, method=method, time_limit_s=1.0)
        assert 2 not in sol.visited and check(p, sol.routes) == []


@pytest.mark.parametrize("method", ["greedy", pytest.param("ortools", marks=ortools_run)])
def test_a_revisit_comes_at_least_the_gap_after_the_first_visit(method):
    # three targets 10–20 min from the post; node 4 revisits node 1 at least 120 min later
    travel = np.array([[0, 10, 15, 20, 10],
                       [10, 0, 12, 18, 0],
                       [15, 12, 0, 9, 12],
                       [20, 18, 9, 0, 18],
                       [10, 0, 12, 18, 0]], dtype=float)
    prize = np.array([0, 6.0, 4.0, 3.0, 3.0])
    svc = np.array([0, 15.0, 15.0, 15.0, 15.0])
    rev = np.array([-1, -1, -1, -1, 1])
    gap = np.array([0, 0, 0, 0, 120.0])
    p = RoutingProblem(travel, prize, svc, 240.0, 1, revisit_of=rev, revisit_gap_min=gap)
    sol = solve(p, method=method, time_limit_s=1.0)
    assert check(p, sol.routes) == []
    start = {k: s for r, st in zip(sol.routes, sol.arrive_min) for k, s in zip(r, st)}
    assert set(start) == {1, 2, 3, 4}  # 240 min leave room for everything, waiting included
    assert start[4] >= start[1] + 120.0 - 1e-6
    # without the gap the team would have been back long before: it waited for the revisit
    assert sol.return_min[0] >= 120.0 + 15.0 + 10.0


@pytest.mark.slow  # OR-Tools searches to its time limit
def test_unreachable_targets_are_never_routed():
    p0 = grid_problem(6, teams=2, budget=300.0, seed=9)
    travel = p0.travel_min.copy()
    travel[0, 4] = travel[4, 0] = np.inf
    for k in range(1, 7):
        travel[k, 4] = travel[4, k] = np.inf
    p = RoutingProblem(travel, p0.prize, p0.service_min, 600.0, 2)
    for method in ["greedy"] + (["ortools"] if routing.ortools_available() else []):
        sol = solve(p, method=method, time_limit_s=1.0)
        assert sol.visited == {1, 2, 3, 5, 6}  # all the others fit in 600 min


def test_without_ortools_the_greedy_fallback_plans_and_says_so(monkeypatch):
    monkeypatch.setattr(routing, "pywrapcp", None)
    p = grid_problem(12, teams=2, budget=150.0, seed=10)
    sol = solve(p, method="auto", time_limit_s=1.0)
    assert sol.method == "greedy" and check(p, sol.routes) == []
    assert any("OR-Tools not installed" in n for n in sol.notes)
    with pytest.raises(RoutingError, match="OR-Tools is not installed"):
        solve(p, method="ortools")


def test_when_ortools_finds_nothing_in_time_the_greedy_plan_is_kept(monkeypatch):
    monkeypatch.setattr(routing, "solve_ortools", lambda *a, **k: None)
    p = grid_problem(12, teams=2, budget=150.0, seed=11)
    sol = solve(p, method="auto", time_limit_s=1.0)
    assert sol.method == "greedy" and sol.prize > 0
    assert any("no plan within" in n for n in sol.notes)


@pytest.mark.slow  # OR-Tools searches to its time limit
@needs_ortools
def test_ortools_plan_is_never_worse_than_the_greedy_one():
    p = grid_problem(60, teams=2, budget=200.0, seed=12)
    greedy = solve_greedy(p)
    best = solve(p, method="auto", time_limit_s=1.5)
    assert check(p, best.routes) == []
    assert best.prize >= greedy.prize - 1e-9


@pytest.mark.parametrize("kwargs, words", [
    ({"budget_min": 0}, "budget_min must be a positive"),
    ({"budget_min": float("nan")}, "budget_min must be a positive"),
    ({"n_teams": 0}, "n_teams must be a whole number"),
    ({"travel_min": np.zeros((3, 2))}, "square matrix"),
    ({"travel_min": -np.ones((3, 3))}, "negative"),
    ({"prize": np.array([0, 1.0])}, "prize must be 3"),
    ({"open_min": np.array([0, 50, 0]), "close_min": np.array([0, 40, 10])},
     "node 1: time window opens"),
])
def test_bad_problems_are_refused_with_the_reason(kwargs, words):
    args = {"travel_min": np.ones((3, 3)), "prize": np.array([0, 1.0, 2.0]),
            "service_min": np.zeros(3), "budget_min": 60.0, "n_teams": 1}
    args.update(kwargs)
    with pytest.raises(RoutingError, match=words):
        RoutingProblem(**args)
