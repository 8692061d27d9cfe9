"""Prize-collecting team orienteering: which patrol stops to visit, by which team, in what order.

The problem (*team orienteering with time windows*): node 0 is the post (đồn, trạm) every team
leaves from and returns to; every other node is a target with a prize (its risk), a dwell
(service) time and optionally a time window for the start of the dwell. Each team has the same
time budget. Pick and order stops for each team so that the total prize of the visited targets
is as large as possible, every team is back at the post within the budget, and every window is
kept (a team that arrives early waits). A target may have a *revisit copy*: a second node that
counts only when the first visit happened and starts at least ``gap`` minutes after it.

Two solvers share one problem and one solution type:

- :func:`solve_ortools` — OR-Tools' routing solver: one vehicle per team, a time dimension
  (travel + dwell, waiting as slack, capacity = budget), one disjunction per target whose penalty
  is its prize (so dropping a target costs its risk), guided local search within a time limit,
  started from the greedy solution so it never ends worse than the fallback.
- :func:`solve_greedy` — the fallback when OR-Tools is missing, fails or times out: best-ratio
  insertion (prize / added time, checked against windows with Savelsbergh's *max shift*), then
  2-opt on each route to win time back, then insertion again, until nothing improves.

:func:`solve` picks between them. Every solution is re-timed here in floating-point minutes
(:func:`schedule`) and checked (:func:`check`) before it is returned.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Literal, Sequence

import numpy as np

try:  # OR-Tools is optional: without it the greedy + 2-opt fallback plans alone
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2
except ImportError:  # pragma: no cover - exercised only where OR-Tools is not installed
    pywrapcp = None
    routing_enums_pb2 = None

Method = Literal["auto", "ortools", "greedy"]

_EPS = 1e-6
# OR-Tools works in integers: seconds for time, and prizes scaled so that the smallest
# meaningful prize difference outweighs any saving in travel time (arc cost = seconds).
_PRIZE_SCALE = 1e9
_BIG_S = 10**8  # "cannot get there" in seconds (unreachable legs)


class RoutingError(ValueError):
    """A routing problem that cannot be posed (bad shapes, budget ≤ 0 …)."""


def ortools_available() -> bool:
    """Whether OR-Tools' routing solver can be imported."""
    return pywrapcp is not None


@dataclass(frozen=True)
class RoutingProblem:
    """One day's routing problem, in minutes.

    Parameters
    ----------
    travel_min : (n, n) array
        Travel time between nodes in minutes; node 0 is the post. ``inf`` = unreachable.
    prize : (n,) array
        What visiting each node is worth (risk); ``prize[0]`` is ignored.
    service_min : (n,) array
        Dwell at each node in minutes (``service_min[0]`` is ignored).
    budget_min : float
        Time each team has from leaving the post to being back, in minutes (> 0).
    n_teams : int
        Number of teams (≥ 1), all leaving at minute 0.
    open_min, close_min : (n,) arrays, optional
        Earliest and latest start of the dwell, minutes after departure (``nan`` = no limit).
    revisit_of : (n,) int array, optional
        For a revisit copy, the node of the first visit; ``-1`` elsewhere.
    revisit_gap_min : (n,) array, optional
        Least time between the start of the first visit and the start of the revisit.
    """

    travel_min: np.ndarray
    prize: np.ndarray
    service_min: np.ndarray
    budget_min: float
    n_teams: int = 1
    open_min: np.ndarray | None = None
    close_min: np.ndarray | None = None
    revisit_of: np.ndarray | None = None
    revisit_gap_min: np.ndarray | None = None

    def __post_init__(self) -> None:
        t = np.asarray(self.travel_min, dtype=float)
        n = t.shape[0] if t.ndim == 2 else -1
        if t.ndim != 2 or t.shape != (n, n) or n < 1:
            raise RoutingError(f"travel_min must be a square matrix, got shape {t.shape}")
        if np.isnan(t).any() or (t < 0).any():
            raise RoutingError("travel_min has negative or missing (nan) times")
        if not (isinstance(self.budget_min, (int, float)) and math.isfinite(self.budget_min)
                and self.budget_min > 0):
            raise RoutingError(f"budget_min must be a positive number of minutes, "
                               f"got {self.budget_min!r}")
        if int(self.n_teams) != self.n_teams or self.n_teams < 1:
            raise RoutingError(f"n_teams must be a whole number ≥ 1, got {self.n_teams!r}")
        object.__setattr__(self, "travel_min", t)
        object.__setattr__(self, "n_teams", int(self.n_teams))
        for name in ("prize", "service_min"):
            v = np.asarray(getattr(self, name), dtype=float)
            if v.shape != (n,) or not np.isfinite(v).all() or (v < 0).any():
                raise RoutingError(f"{name} must be {n} finite values ≥ 0")
            object.__setattr__(self, name, v)
        opens = (np.zeros(n) if self.open_min is None
                 else np.nan_to_num(np.asarray(self.open_min, dtype=float), nan=0.0))
        closes = (np.full(n, np.inf) if self.close_min is None
                  else np.nan_to_num(np.asarray(self.close_min, dtype=float), nan=np.inf))
        if opens.shape != (n,) or closes.shape != (n,):
            raise RoutingError(f"open_min and close_min must have {n} values")
        bad = np.flatnonzero(opens > closes)
        if len(bad):
            raise RoutingError(f"node {int(bad[0])}: time window opens at {opens[bad[0]]:g} min "
                               f"after it closes ({closes[bad[0]]:g} min)")
        object.__setattr__(self, "open_min", opens)
        object.__setattr__(self, "close_min", closes)
        rev = (np.full(n, -1, dtype=int) if self.revisit_of is None
               else np.asarray(self.revisit_of, dtype=int))
        gap = (np.zeros(n) if self.revisit_gap_min is None
               else np.nan_to_num(np.asarray(self.revisit_gap_min, dtype=float), nan=0.0))
        if rev.shape != (n,) or gap.shape != (n,):
            raise RoutingError(f"revisit_of and revisit_gap_min must have {n} values")
        for j in np.flatnonzero(rev >= 0):
            i = rev[j]
            if i == 0 or i >= n or i == j or rev[i] >= 0:
                raise RoutingError(f"node {j}: revisit_of must name another first-visit target, "
                                   f"got {i}")
        object.__setattr__(self, "revisit_of", rev)
        object.__setattr__(self, "revisit_gap_min", gap)

    @property
    def n_nodes(self) -> int:
        return self.travel_min.shape[0]


@dataclass
class RoutingSolution:
    """Routes (node lists without the post), their timetable and what they collect.

    ``arrive_min[t][i]`` is when team ``t`` starts its dwell at ``routes[t][i]`` (after any
    waiting), ``return_min[t]`` when it is back at the post.
    """

    routes: list[list[int]]
    arrive_min: list[list[float]]
    return_min: list[float]
    prize: float
    method: str
    status: str
    solve_s: float
    notes: list[str] = field(default_factory=list)

    @property
    def visited(self) -> set[int]:
        return {k for r in self.routes for k in r}


# --- timing and checking ----------------------------------------------------------------

def _route_times(p: RoutingProblem, route: Sequence[int],
                 earliest: dict[int, float]) -> tuple[list[float], float, bool]:
    """Start of dwell at each stop and return time; ``earliest`` adds revisit waits."""
    t, prev, starts, ok = 0.0, 0, [], True
    for k in route:
        t += p.travel_min[prev, k]
        start = max(t, p.open_min[k], earliest.get(k, 0.0))
        if start > p.close_min[k] + _EPS:
            ok = False
        starts.append(start)
        t = start + p.service_min[k]
        prev = k
    t += p.travel_min[prev, 0]
    return starts, t, ok and t <= p.budget_min + _EPS


def schedule(p: RoutingProblem, routes: Sequence[Sequence[int]]
             ) -> tuple[list[list[float]], list[float], bool]:
    """Time the routes: start of each dwell, return times, and whether everything holds.

    Teams leave at minute 0 and wait when early. A revisit cannot start before its first
    visit started plus the gap, so a team waits for that too; as first visits may sit on
    other routes, the timetable is iterated until it stops moving.
    """
    earliest: dict[int, float] = {}
    for _ in range(max(2, p.n_nodes + 1)):
        timed = [_route_times(p, r, earliest) for r in routes]
        start_of = {k: s for r, (starts, _, _) in zip(routes, timed) for k, s in zip(r, starts)}
        new = {j: start_of[int(p.revisit_of[j])] + p.revisit_gap_min[j]
               for j in start_of if p.revisit_of[j] >= 0 and int(p.revisit_of[j]) in start_of}
        if all(abs(new[j] - earliest.get(j, 0.0)) < _EPS for j in new):
            break
        earliest = new
    ok = all(t[2] for t in timed)
    for j in start_of:
        i = int(p.revisit_of[j])
        if i >= 0 and (i not in start_of
                       or start_of[j] + _EPS < start_of[i] + p.revisit_gap_min[j]):
            ok = False
    return [list(t[0]) for t in timed], [t[1] for t in timed], ok


def check(p: RoutingProblem, routes: Sequence[Sequence[int]]) -> list[str]:
    """Every broken rule of a set of routes, in words (empty when the routes are valid)."""
    problems = []
    if len(routes) > p.n_teams:
        problems.append(f"{len(routes)} routes for {p.n_teams} team(s)")
    seen: dict[int, int] = {}
    for t, r in enumerate(routes):
        for k in r:
            if not 0 < k < p.n_nodes:
                problems.append(f"team {t + 1}: node {k} is not a target")
            elif k in seen:
                problems.append(f"node {k} visited by team {seen[k] + 1} and team {t + 1}")
            seen.setdefault(k, t)
    if problems:
        return problems
    starts, returns, _ = schedule(p, routes)
    start_of = {}
    for t, (r, s, back) in enumerate(zip(routes, starts, returns)):
        if back > p.budget_min + _EPS:
            problems.append(f"team {t + 1} is back after {back:.1f} min, budget "
                            f"{p.budget_min:g} min")
        for k, a in zip(r, s):
            start_of[k] = a
            if a > p.close_min[k] + _EPS:
                problems.append(f"team {t + 1}: node {k} starts at {a:.1f} min, window closes "
                                f"at {p.close_min[k]:g} min")
    for j, a in start_of.items():
        i = int(p.revisit_of[j])
        if i < 0:
            continue
        if i not in start_of:
            problems.append(f"node {j} revisits node {i}, which is not visited")
        elif a + _EPS < start_of[i] + p.revisit_gap_min[j]:
            problems.append(f"node {j} revisits node {i} after {a - start_of[i]:.1f} min, "
                            f"gap {p.revisit_gap_min[j]:g} min")
    return problems


def _solution(p: RoutingProblem, routes: list[list[int]], method: str, status: str,
              solve_s: float, notes: list[str] | None = None) -> RoutingSolution:
    routes = [list(map(int, r)) for r in routes]
    routes += [[] for _ in range(p.n_teams - len(routes))]
    starts, returns, _ = schedule(p, routes)
    prize = float(sum(p.prize[k] for r in routes for k in r))
    return RoutingSolution(routes, starts, returns, prize, method, status, solve_s,
                           list(notes or []))


# --- greedy insertion + 2-opt -----------------------------------------------------------

def _insert_best(p: RoutingProblem, routes: list[list[int]], unvisited: set[int],
                 alpha: float) -> bool:
    """Insert the single best (prize^alpha / added minutes) feasible target; False if none."""
    starts, _, _ = schedule(p, routes)
    start_of = {k: s for r, st in zip(routes, starts) for k, s in zip(r, st)}
    cand = np.array(sorted(k for k in unvisited
                           if p.revisit_of[k] < 0 or int(p.revisit_of[k]) in start_of), dtype=int)
    if not len(cand):
        return False
    opens = p.open_min[cand].copy()
    for n, k in enumerate(cand):
        if p.revisit_of[k] >= 0:
            opens[n] = max(opens[n], start_of[int(p.revisit_of[k])] + p.revisit_gap_min[k])
    closes, svc = p.close_min[cand], p.service_min[cand]
    best = (-1.0, None)
    for t, (route, st) in enumerate(zip(routes, starts)):
        nodes = [0] + route + [0]
        # Start of service (s), waiting (w) and max shift (m) of every node on the route;
        # the return to the post has no wait and may move up to the budget.
        m = len(nodes)
        s = np.zeros(m)
        w = np.zeros(m)
        s[1:-1] = st
        arrive = 0.0
        for i in range(1, m):
            arrive = (s[i - 1] + (p.service_min[nodes[i - 1]] if i > 1 else 0.0)
                      + p.travel_min[nodes[i - 1], nodes[i]])
            if i == m - 1:
                s[i] = arrive
            w[i] = max(0.0, s[i] - arrive)
        max_shift = np.zeros(m)
        max_shift[-1] = p.budget_min - s[-1]
        for i in range(m - 2, 0, -1):
            max_shift[i] = min(p.close_min[nodes[i]] - s[i], w[i + 1] + max_shift[i + 1])
        a_nodes = np.array(nodes[:-1])
        b_nodes = np.array(nodes[1:])
        depart = s[:-1] + np.where(np.arange(m - 1) > 0, p.service_min[a_nodes], 0.0)
        # positions × candidates
        arrive_k = depart[:, None] + p.travel_min[np.ix_(a_nodes, cand)]
        start_k = np.maximum(arrive_k, opens[None, :])
        old_arrive_b = depart + p.travel_min[a_nodes, b_nodes]
        new_arrive_b = start_k + svc[None, :] + p.travel_min[np.ix_(cand, b_nodes)].T
        shift = new_arrive_b - old_arrive_b[:, None]
        ok = (start_k <= closes[None, :] + _EPS) & (shift <= (w[1:] + max_shift[1:])[:, None] + _EPS)
        if not ok.any():
            continue
        added = np.maximum(new_arrive_b - depart[:, None]
                           - p.travel_min[a_nodes, b_nodes][:, None], _EPS)
        score = np.where(ok, (p.prize[cand][None, :] ** alpha) / added, -1.0)
        pos, c = np.unravel_index(int(np.argmax(score)), score.shape)
        if score[pos, c] > best[0]:
            best = (float(score[pos, c]), (t, int(pos), int(cand[c])))
    if best[1] is None:
        return False
    t, pos, k = best[1]
    routes[t].insert(pos, k)
    if not schedule(p, routes)[2]:  # revisit waits may cascade; never keep a broken plan
        routes[t].pop(pos)
        unvisited.discard(k)  # do not try the same insertion forever
        return True
    unvisited.discard(k)
    return True


def _two_opt(p: RoutingProblem, routes: list[list[int]], t: int) -> bool:
    """Shorten route ``t`` by reversing segments while the plan stays valid."""
    improved_any = False
    improved = True
    while improved:
        improved = False
        route = routes[t]
        nodes = [0] + route + [0]
        for i in range(1, len(nodes) - 2):
            for j in range(i + 1, len(nodes) - 1):
                a, b, c, d = nodes[i - 1], nodes[i], nodes[j], nodes[j + 1]
                delta = (p.travel_min[a, c] + p.travel_min[b, d]
                         - p.travel_min[a, b] - p.travel_min[c, d])
                if delta < -1e-9:
                    trial = route[:i - 1] + route[i - 1:j][::-1] + route[j:]
                    before = schedule(p, routes)[1][t]
                    routes[t] = trial
                    starts, returns, ok = schedule(p, routes)
                    if ok and returns[t] < before - 1e-9:
                        improved = improved_any = True
                        break
                    routes[t] = route
            if improved:
                break
    return improved_any


def _drop_broken_revisits(p: RoutingProblem, routes: list[list[int]]) -> None:
    while not schedule(p, routes)[2]:
        starts, _, _ = schedule(p, routes)
        start_of = {k: s for r, st in zip(routes, starts) for k, s in zip(r, st)}
        bad = [j for j in start_of if p.revisit_of[j] >= 0 and (
            int(p.revisit_of[j]) not in start_of
            or start_of[j] + _EPS < start_of[int(p.revisit_of[j])] + p.revisit_gap_min[j])]
        if not bad:
            raise RuntimeError("greedy produced an invalid plan")  # pragma: no cover
        for r in routes:
            if bad[0] in r:
                r.remove(bad[0])


def _greedy_once(p: RoutingProblem, alpha: float) -> list[list[int]]:
    routes: list[list[int]] = [[] for _ in range(p.n_teams)]
    unvisited = set(range(1, p.n_nodes)) - {k for k in range(1, p.n_nodes) if p.prize[k] <= 0}
    for _ in range(p.n_nodes + 5):
        while _insert_best(p, routes, unvisited, alpha):
            pass
        improved = False
        for t in range(p.n_teams):
            improved |= _two_opt(p, routes, t)
        if not improved:
            break
    _drop_broken_revisits(p, routes)
    return routes


def solve_greedy(p: RoutingProblem, *, alphas: Sequence[float] = (1.0, 2.0)) -> RoutingSolution:
    """Greedy best-ratio insertion + 2-opt, once per ``alpha``; the best plan wins.

    ``alpha`` weighs prize against added time in the insertion ratio ``prize**alpha / Δt``
    (1 favours cheap stops, 2 favours high-risk ones, as in Vansteenwegen et al.'s ILS).

    Examples
    --------
    >>> import numpy as np
    >>> t = np.array([[0, 10, 10], [10, 0, 30], [10, 30, 0]])
    >>> p = RoutingProblem(t, prize=np.array([0, 5, 3]), service_min=np.zeros(3), budget_min=25)
    >>> solve_greedy(p).routes
    [[1]]
    """
    t0 = time.perf_counter()
    best: list[list[int]] | None = None
    best_prize = -1.0
    for alpha in alphas:
        routes = _greedy_once(p, alpha)
        prize = float(sum(p.prize[k] for r in routes for k in r))
        if prize > best_prize + 1e-12:
            best, best_prize = routes, prize
    return _solution(p, best or [[] for _ in range(p.n_teams)], "greedy", "heuristic",
                     time.perf_counter() - t0)


# --- OR-Tools -----------------------------------------------------------------------------

def _seconds(p: RoutingProblem) -> tuple[int, np.ndarray]:
    """The budget and the transit matrix (dwell at ``i`` + leg ``i → j``) in whole seconds.

    Times are rounded *up*, so every OR-Tools plan also holds in minutes.
    """
    budget_s = int(math.floor(p.budget_min * 60 + 1e-6))
    travel_s = np.where(np.isfinite(p.travel_min), np.ceil(p.travel_min * 60 - 1e-6), _BIG_S)
    travel_s = np.minimum(travel_s, _BIG_S).astype(np.int64)
    service_s = np.ceil(p.service_min * 60 - 1e-6).astype(np.int64)
    service_s[0] = 0
    transit = travel_s + service_s[:, None]  # leaving i costs its dwell, then the leg
    np.fill_diagonal(transit, 0)
    return budget_s, transit


def _ortools_model(p: RoutingProblem):
    """The OR-Tools routing model: time dimension, windows, prizes, revisit gaps."""
    budget_s, transit = _seconds(p)
    manager = pywrapcp.RoutingIndexManager(p.n_nodes, p.n_teams, 0)
    routing = pywrapcp.RoutingModel(manager)
    cb = routing.RegisterTransitMatrix(transit.tolist())
    routing.SetArcCostEvaluatorOfAllVehicles(cb)
    routing.AddDimension(cb, budget_s, budget_s, True, "time")
    dim = routing.GetDimensionOrDie("time")
    top = max(float(p.prize[1:].max(initial=0.0)), 1e-12)
    for k in range(1, p.n_nodes):
        idx = manager.NodeToIndex(k)
        lo = int(math.ceil(p.open_min[k] * 60 - 1e-6))
        hi = budget_s if not math.isfinite(p.close_min[k]) else \
            min(budget_s, int(math.floor(p.close_min[k] * 60 + 1e-6)))
        if lo > hi:
            routing.AddDisjunction([idx], 0)
            routing.solver().Add(routing.ActiveVar(idx) == 0)
            continue
        dim.CumulVar(idx).SetRange(lo, hi)
        routing.AddDisjunction([idx], int(round(p.prize[k] / top * _PRIZE_SCALE)))
    solver = routing.solver()
    for j in np.flatnonzero(p.revisit_of >= 0):
        i = int(p.revisit_of[j])
        ij, ii = manager.NodeToIndex(int(j)), manager.NodeToIndex(i)
        gap = int(math.ceil(p.revisit_gap_min[j] * 60 - 1e-6))
        solver.Add(routing.ActiveVar(ij) <= routing.ActiveVar(ii))
        # big-M: the gap binds only when the revisit is made
        solver.Add(dim.CumulVar(ij) - dim.CumulVar(ii)
                   >= gap * routing.ActiveVar(ij) - 2 * budget_s * (1 - routing.ActiveVar(ij)))
    for v in range(p.n_teams):
        routing.AddVariableMinimizedByFinalizer(dim.CumulVar(routing.End(v)))
    return manager, routing


def _search_parameters(time_limit_s: float, metaheuristic: str):
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = getattr(
        routing_enums_pb2.LocalSearchMetaheuristic, metaheuristic)
    whole = max(float(time_limit_s), 0.05)
    params.time_limit.seconds = int(whole)
    params.time_limit.nanos = int((whole - int(whole)) * 1e9)
    return params


def _routes_of(manager, routing, solution, n_teams: int) -> list[list[int]]:
    routes = []
    for v in range(n_teams):
        route = []
        idx = solution.Value(routing.NextVar(routing.Start(v)))
        while not routing.IsEnd(idx):
            route.append(manager.IndexToNode(idx))
            idx = solution.Value(routing.NextVar(idx))
        routes.append(route)
    return routes


_STATUS = {0: "not_solved", 1: "success", 2: "partial_success", 3: "fail", 4: "timeout",
           5: "invalid", 6: "infeasible", 7: "optimal"}


def solve_ortools(p: RoutingProblem, *, time_limit_s: float = 10.0,
                  initial: RoutingSolution | None = None,
                  metaheuristic: str = "GUIDED_LOCAL_SEARCH") -> RoutingSolution | None:
    """OR-Tools routing model of the problem; ``None`` when no solution came back in time.

    Times become whole seconds rounded *up*, so every OR-Tools plan also holds in minutes.
    ``initial`` (usually the greedy plan) is where the local search starts.
    """
    if pywrapcp is None:
        raise RoutingError("OR-Tools is not installed (pip install ortools)")
    t0 = time.perf_counter()
    manager, routing = _ortools_model(p)
    params = _search_parameters(time_limit_s, metaheuristic)
    routing.CloseModelWithParameters(params)
    solution = None
    if initial is not None and any(initial.routes):
        start = routing.ReadAssignmentFromRoutes(
            [[manager.NodeToIndex(k) for k in r] for r in initial.routes], True)
        if start is not None:
            solution = routing.SolveFromAssignmentWithParameters(start, params)
    if solution is None:
        solution = routing.SolveWithParameters(params)
    elapsed = time.perf_counter() - t0
    if solution is None:
        return None
    routes = _routes_of(manager, routing, solution, p.n_teams)
    status = _STATUS.get(int(routing.status()), str(routing.status()))
    return _solution(p, routes, "ortools", status, elapsed)


def solve(p: RoutingProblem, *, method: Method = "auto", time_limit_s: float = 10.0
          ) -> RoutingSolution:
    """Solve with OR-Tools when available (``auto``), else greedy + 2-opt; always valid.

    The greedy plan is computed first and handed to OR-Tools as its starting point; if
    OR-Tools is absent, returns nothing in time or returns a plan that fails :func:`check`,
    the greedy plan is returned with a note saying why.

    Parameters
    ----------
    method : {"auto", "ortools", "greedy"}
        ``ortools`` raises :class:`RoutingError` when OR-Tools is not installed.
    time_limit_s : float
        Wall-clock limit for the whole solve. Small problems stop earlier: OR-Tools gets
        ``max(1 s, 0.02 s × nodes × teams)`` when that is less.
    """
    if method not in ("auto", "ortools", "greedy"):
        raise RoutingError(f"unknown method {method!r}; use auto, ortools or greedy")
    if method == "ortools" and pywrapcp is None:
        raise RoutingError("OR-Tools is not installed (pip install ortools); use method=greedy")
    if time_limit_s is None or not time_limit_s > 0:
        raise RoutingError(f"time_limit_s must be > 0, got {time_limit_s!r}")
    greedy = solve_greedy(p)
    if method == "greedy" or p.n_nodes == 1:
        return greedy
    if pywrapcp is None:
        greedy.notes.append("OR-Tools not installed: greedy + 2-opt plan")
        return greedy
    # Guided local search runs until its time limit; small problems do not need the whole
    # limit (a dozen targets are settled well within a second).
    limit = min(float(time_limit_s), max(1.0, 0.02 * p.n_nodes * p.n_teams))
    remaining = max(0.05, limit - greedy.solve_s)
    try:
        best = solve_ortools(p, time_limit_s=remaining, initial=greedy)
    except Exception as exc:  # a solver crash must not cost the commander the plan
        greedy.notes.append(f"OR-Tools failed ({exc}): greedy + 2-opt plan")
        return greedy
    if best is None:
        greedy.notes.append(f"OR-Tools found no plan within {remaining:.1f} s: "
                            "greedy + 2-opt plan")
        return greedy
    problems = check(p, best.routes)
    if problems:
        greedy.notes.append(f"OR-Tools plan rejected ({problems[0]}): greedy + 2-opt plan")
        return greedy
    best.solve_s += greedy.solve_s
    if best.prize + 1e-9 < greedy.prize:
        greedy.notes.append("greedy plan collects more risk than OR-Tools' in the time limit")
        greedy.solve_s = best.solve_s
        return greedy
    best.notes.append(f"greedy + 2-opt start: {greedy.prize:.2f}; OR-Tools: {best.prize:.2f}")
    return best
