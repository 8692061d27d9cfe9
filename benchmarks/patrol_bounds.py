"""Independent optimum and upper bounds for the patrol routing problem (benchmarks only).

The planner (:mod:`geo_pcmt.analysis.patrol.routing`) is judged against numbers it did not
make itself:

- :func:`cpsat_optimum` — the team orienteering problem as a CP-SAT model (OR-Tools' CP-SAT,
  not the routing library the planner uses): a ``MultipleCircuit`` (routes through the post,
  a self-loop = target skipped), at most ``teams`` routes, arrival-time variables per
  target with ``travel + dwell`` enforced on the arcs used, and every target's dwell ending
  early enough to walk back within the budget. Times are rounded *down* to whole seconds,
  so its optimum, and the bound it proves when stopped early, are upper bounds of the real
  problem; when its best plan also passes :func:`routing.check` on the real times, it is the
  real optimum.
- :func:`lp_bound` — the LP relaxation of the arc formulation (``x_ij`` arcs, ``y_i``
  visits: in = out = ``y_i``, at most ``teams`` arcs leave the post, total travel + dwell
  ≤ ``teams × budget``) solved with HiGHS (:func:`scipy.optimize.linprog`), tightened by
  rounds of subtour cuts (a set ``S`` of targets away from the post must be entered at
  least ``y_k`` for each ``k`` in ``S``). Every solution of the real problem satisfies every
  constraint, so the LP optimum is an upper bound of the optimum.

Only the benchmark imports this module; it holds no planner code.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog
from scipy.sparse.csgraph import connected_components

from geo_pcmt.analysis.patrol import routing

PRIZE_SCALE = 1000  # CP-SAT works in integers: prizes in thousandths


@dataclass
class Bound:
    """``value``: the proven optimum (``optimal``) or an upper bound; ``best``: the best plan
    the bounding solver itself found (CP-SAT only, ``nan`` otherwise)."""

    value: float
    optimal: bool
    best: float
    method: str
    seconds: float
    note: str = ""


def _reachable(p: routing.RoutingProblem) -> np.ndarray:
    """Targets a team can reach, dwell at and come back from within the budget."""
    t, s = p.travel_min, p.service_min
    ok = t[0, :] + s + t[:, 0] <= p.budget_min + 1e-9
    ok[0] = False
    return ok & (p.prize > 0)


def cpsat_optimum(p: routing.RoutingProblem, *, time_limit_s: float = 60.0,
                  workers: int = 2) -> Bound:
    """The optimum (or, when stopped at ``time_limit_s``, CP-SAT's proven upper bound)."""
    from ortools.sat.python import cp_model
    t0 = time.perf_counter()
    nodes = [0] + [int(k) for k in np.flatnonzero(_reachable(p))]
    sec = np.floor(p.travel_min * 60.0 + 1e-9).astype(np.int64)
    dwell = np.floor(p.service_min * 60.0 + 1e-9).astype(np.int64)
    budget = int(np.floor(p.budget_min * 60.0 + 1e-9))
    m = cp_model.CpModel()
    arrive = {k: m.NewIntVar(int(sec[0, k]), budget - int(dwell[k] + sec[k, 0]), f"t{k}")
              for k in nodes[1:]}
    arcs, lit, skip = [], {}, {}
    pos = {k: i for i, k in enumerate(nodes)}  # the circuit wants nodes numbered 0 … n-1
    for k in nodes[1:]:
        skip[k] = m.NewBoolVar(f"skip{k}")
        arcs.append((pos[k], pos[k], skip[k]))
    for i in nodes:
        for j in nodes:
            if i == j:
                continue
            if i and j and sec[0, i] + dwell[i] + sec[i, j] + dwell[j] + sec[j, 0] > budget:
                continue
            x = m.NewBoolVar(f"x{i}_{j}")
            lit[i, j] = x
            arcs.append((pos[i], pos[j], x))
            if i and j:
                m.Add(arrive[j] >= arrive[i] + int(dwell[i] + sec[i, j])).OnlyEnforceIf(x)
    m.AddMultipleCircuit(arcs)
    # all teams' travel and dwell together within teams × budget: redundant for the model,
    # but it gives CP-SAT's LP relaxation the budget (and its bound the knapsack structure)
    m.Add(sum(int(sec[i, j] + (dwell[i] if i else 0)) * x for (i, j), x in lit.items())
          <= p.n_teams * budget)
    m.Add(sum(lit[0, j] for j in nodes[1:] if (0, j) in lit) <= p.n_teams)
    gain = {k: int(round(p.prize[k] * PRIZE_SCALE)) for k in nodes[1:]}
    m.Maximize(sum(gain[k] * (1 - skip[k]) for k in nodes[1:]))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = float(time_limit_s)
    solver.parameters.num_workers = int(workers)
    status = solver.Solve(m)
    seconds = time.perf_counter() - t0
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return Bound(float("nan"), False, float("nan"), "CP-SAT", seconds,
                     solver.StatusName(status))
    routes = _routes(lit, solver, p.n_teams)
    feasible = not routing.check(p, routes)
    best = float(sum(p.prize[k] for r in routes for k in r)) if feasible else float("nan")
    # prizes were rounded to thousandths: the real optimum is at most the proven bound plus
    # the rounding the visited targets can hide
    bound = solver.BestObjectiveBound() / PRIZE_SCALE + 0.0005 * (len(nodes) - 1)
    optimal = status == cp_model.OPTIMAL and feasible
    note = "" if feasible else "CP-SAT's plan is infeasible on the unrounded times: bound only"
    return Bound(min(bound, best + 0.0005 * (len(nodes) - 1)) if optimal else bound, optimal,
                 best, "CP-SAT", seconds, note)


def _routes(lit: dict, solver, teams: int) -> list[list[int]]:
    """The routes of CP-SAT's best solution (lists of target nodes)."""
    succ = {i: j for (i, j), x in lit.items() if solver.Value(x)}
    starts = [j for (i, j), x in lit.items() if i == 0 and solver.Value(x)]
    routes = []
    for first in starts:
        route, k = [], first
        while k != 0:
            route.append(k)
            k = succ[k]
        routes.append(route)
    return routes + [[] for _ in range(teams - len(routes))]


@dataclass
class ArcModel:
    """The arc formulation over the reachable targets (``nodes[0]`` is the post): arcs
    ``ii → jj`` (local indices), then the variables ``x`` (arcs) and ``y`` (visits)."""

    nodes: np.ndarray
    t: np.ndarray
    s: np.ndarray
    ii: np.ndarray
    jj: np.ndarray
    cost: np.ndarray
    a_eq: sp.csr_matrix
    ub_rows: list
    b_ub: list

    @property
    def n(self) -> int:
        return len(self.nodes)

    @property
    def m(self) -> int:
        return len(self.ii)


def arc_model(p: routing.RoutingProblem) -> ArcModel:
    """Degrees (in = out = ``y``), at most ``teams`` routes leave the post and all come back,
    and all travel and dwell within ``teams × budget``; arcs no team can use are left out."""
    nodes = np.concatenate([[0], np.flatnonzero(_reachable(p))])
    n = len(nodes)
    t = p.travel_min[np.ix_(nodes, nodes)]
    s = p.service_min[nodes]
    ii, jj = np.nonzero(~np.eye(n, dtype=bool))
    keep = (ii == 0) | (jj == 0) | (t[0, ii] + s[ii] + t[ii, jj] + s[jj] + t[jj, 0]
                                   <= p.budget_min + 1e-9)
    ii, jj = ii[keep], jj[keep]
    m, ny = len(ii), n - 1
    cost = np.concatenate([np.zeros(m), -p.prize[nodes[1:]]])
    rows, cols, vals = [], [], []
    for r, who in enumerate((ii, jj)):
        tgt = who > 0
        rows += [r * ny + who[tgt] - 1, r * ny + np.arange(ny)]
        cols += [np.flatnonzero(tgt), m + np.arange(ny)]
        vals += [np.ones(tgt.sum()), -np.ones(ny)]
    a_eq = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                         shape=(2 * ny, m + ny))
    out0, in0 = (ii == 0).astype(float), (jj == 0).astype(float)
    budget = np.concatenate([t[ii, jj] + np.where(ii > 0, s[ii], 0.0), np.zeros(ny)])
    ub_rows = [sp.csr_matrix(np.concatenate([out0, np.zeros(ny)])[None, :]),
               sp.csr_matrix(np.concatenate([out0 - in0, np.zeros(ny)])[None, :]),
               sp.csr_matrix(budget[None, :])]
    return ArcModel(nodes, t, s, ii, jj, cost, a_eq, ub_rows,
                    [float(p.n_teams), 0.0, float(p.n_teams * p.budget_min)])


def lp_bound(p: routing.RoutingProblem, *, time_limit_s: float = 60.0,
             max_rounds: int = 50, model: ArcModel | None = None) -> Bound:
    """The LP relaxation bound, with subtour cuts added (to ``model``) while time remains."""
    t0 = time.perf_counter()
    mod = model or arc_model(p)
    rounds, value, cuts = 0, float("nan"), 0
    b_eq = np.zeros(mod.a_eq.shape[0])
    while True:
        res = linprog(mod.cost, A_ub=sp.vstack(mod.ub_rows).tocsr(), b_ub=np.array(mod.b_ub),
                      A_eq=mod.a_eq, b_eq=b_eq, bounds=(0, 1), method="highs")
        if res.status != 0:
            raise RuntimeError(f"LP relaxation failed: {res.message}")
        value = -res.fun
        rounds += 1
        if rounds >= max_rounds or time.perf_counter() - t0 > time_limit_s:
            break
        new = _subtour_cuts(mod.ii, mod.jj, res.x[:mod.m], res.x[mod.m:], mod.n, mod.m)
        if not new:
            break
        mod.ub_rows += new
        mod.b_ub += [0.0] * len(new)
        cuts += len(new)
    return Bound(value, False, float("nan"), "LP (HiGHS)", time.perf_counter() - t0,
                 f"{rounds} LP rounds, {cuts} subtour cuts")


def milp_optimum(p: routing.RoutingProblem, *, time_limit_s: float = 120.0) -> Bound:
    """The optimum by HiGHS branch and bound (:func:`scipy.optimize.milp`) on the arc
    formulation with arrival-time variables (each team's budget exactly: a target's dwell
    must end early enough to walk back) and the LP's subtour cuts; stopped at the time
    limit it gives HiGHS' proven dual bound instead."""
    from scipy.optimize import Bounds, LinearConstraint, milp
    t0 = time.perf_counter()
    mod = arc_model(p)
    lp_bound(p, time_limit_s=min(30.0, time_limit_s / 4), model=mod)  # cuts into mod
    n, m, ny = mod.n, mod.m, mod.n - 1
    t, s, B = mod.t, mod.s, p.budget_min
    lo = t[0, 1:]                           # earliest start of dwell at each target
    hi = B - s[1:] - t[1:, 0]               # latest, to be back in time
    inner = (mod.ii > 0) & (mod.jj > 0)
    ia, ja = mod.ii[inner], mod.jj[inner]
    big = hi[ia - 1] + s[ia] + t[ia, ja] - lo[ja - 1]
    r = np.arange(inner.sum())
    # u_i - u_j + M x_ij <= M - s_i - t_ij  (x_ij = 1: u_j >= u_i + s_i + t_ij)
    rows = np.concatenate([r, r, r])
    cols = np.concatenate([np.flatnonzero(inner), m + ny + ia - 1, m + ny + ja - 1])
    vals = np.concatenate([big, np.ones(len(r)), -np.ones(len(r))])
    nv = m + 2 * ny
    mtz = sp.csr_matrix((vals, (rows, cols)), shape=(len(r), nv))
    pad = sp.csr_matrix((0, ny))
    a_ub = sp.hstack([sp.vstack(mod.ub_rows), sp.csr_matrix((len(mod.ub_rows), ny))]).tocsr()
    a_eq = sp.hstack([mod.a_eq, sp.csr_matrix((mod.a_eq.shape[0], ny))]).tocsr()
    del pad
    cons = [LinearConstraint(a_ub, -np.inf, np.array(mod.b_ub)),
            LinearConstraint(a_eq, 0.0, 0.0),
            LinearConstraint(mtz, -np.inf, big - s[ia] - t[ia, ja])]
    cost = np.concatenate([mod.cost, np.zeros(ny)])
    integ = np.concatenate([np.ones(m + ny), np.zeros(ny)])
    bounds = Bounds(np.concatenate([np.zeros(m + ny), lo]),
                    np.concatenate([np.ones(m + ny), hi]))
    left = max(1.0, time_limit_s - (time.perf_counter() - t0))
    res = milp(cost, constraints=cons, integrality=integ, bounds=bounds,
               options={"time_limit": left, "disp": False})
    seconds = time.perf_counter() - t0
    if res.x is None:
        return Bound(float("nan"), False, float("nan"), "MIP (HiGHS)", seconds, res.message)
    routes = _arc_routes(mod, res.x[:m] > 0.5, p.n_teams)
    feasible = not routing.check(p, routes)
    best = float(sum(p.prize[k] for rt in routes for k in rt)) if feasible else float("nan")
    bound = -float(getattr(res, "mip_dual_bound", np.nan))
    optimal = res.status == 0 and feasible
    return Bound(best if optimal else bound, optimal, best, "MIP (HiGHS)", seconds,
                 "" if feasible else "MIP plan fails the planner's check: bound only")


def _arc_routes(mod: ArcModel, used: np.ndarray, teams: int) -> list[list[int]]:
    """Routes (original node numbers) from the arcs of a MIP solution."""
    succ = dict(zip(mod.ii[used], mod.jj[used]))
    routes = []
    for first in mod.jj[used & (mod.ii == 0)]:
        route, k = [], int(first)
        while k != 0 and len(route) <= mod.n:
            route.append(int(mod.nodes[k]))
            k = int(succ.get(k, 0))
        routes.append(route)
    return routes + [[] for _ in range(teams - len(routes))]


def _subtour_cuts(ii, jj, x, y, n, m) -> list:
    """For each connected set S of targets (arcs with x > 0) apart from the post, the cut
    ``y_k − Σ_{i∈S, j∉S} x_ij ≤ 0`` for the most visited ``k`` in S, when it is violated."""
    use = x > 1e-6
    graph = sp.coo_matrix((np.ones(use.sum()), (ii[use], jj[use])), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    out = []
    for comp in np.unique(label):
        members = np.flatnonzero(label == comp)
        if label[0] == comp or len(members) < 2:
            continue
        inside = np.zeros(n, dtype=bool)
        inside[members] = True
        leaving = inside[ii] & ~inside[jj]
        k = members[np.argmax(y[members - 1])]
        if y[k - 1] - x[leaving].sum() <= 1e-6:
            continue
        row = np.zeros(m + n - 1)
        row[:m][leaving] = -1.0
        row[m + k - 1] = 1.0
        out.append(sp.csr_matrix(row[None, :]))
    return out
