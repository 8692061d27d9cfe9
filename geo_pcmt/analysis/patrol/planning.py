"""One day's patrol plan: which targets, in what order, by which team, how long at each.

:func:`plan` runs the steps in order, each a function of its own: check the request, build
travel times (:mod:`~geo_pcmt.analysis.patrol.travel`), keep the targets that can be reached
within the budget, draw the day's candidates (:mod:`~geo_pcmt.analysis.patrol.draw`), route
the teams (:mod:`~geo_pcmt.analysis.patrol.routing`), then lay out the timetable, the route
lines and the report.
"""
from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from datetime import date
from typing import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import LineString

from geo_pcmt.formatting import fmt_number
from geo_pcmt.analysis.patrol import routing, travel
from geo_pcmt.analysis.patrol.draw import daily_draw
from geo_pcmt.analysis.patrol.model import (
    DWELL_MIN_DEFAULT,
    HIGH_RISK_MIN,
    PatrolError,
    PatrolPlan,
    Post,
    as_date,
    clock,
    highest_confidentiality,
    parse_clock,
)
from geo_pcmt.crs import METRIC_CRS, STORAGE_CRS
from geo_pcmt.values import number, text

MODE_VI = {k: m.label_vi for k, m in travel.MODES.items()}


# --- checks -----------------------------------------------------------------------------------

def _check_request(budget_min, n_teams, mode, plan_date, start_time, dwell_min
                   ) -> tuple[travel.Mode, date]:
    """The travel mode and the plan date, once every argument has been checked."""
    if budget_min is None or not (isinstance(budget_min, (int, float))
                                  and math.isfinite(budget_min)) or budget_min <= 0:
        raise PatrolError(f"the time budget must be more than 0 hours, got {budget_min!r} min")
    if int(n_teams) != n_teams or n_teams < 1:
        raise PatrolError(f"teams must be a whole number ≥ 1, got {n_teams!r}")
    try:
        mode_obj = travel.get_mode(mode)
    except travel.TravelError as exc:
        raise PatrolError(str(exc)) from None
    parse_clock(start_time)
    day = as_date(plan_date) if plan_date is not None else date.today()
    if day is None:
        raise PatrolError(f"plan date must be YYYY-MM-DD, got {plan_date!r}")
    if dwell_min is not None and not dwell_min > 0:
        raise PatrolError(f"dwell must be > 0 minutes, got {dwell_min!r}")
    return mode_obj, day


def _checked_targets(targets: pd.DataFrame, post: Post) -> gpd.GeoDataFrame:
    """The targets in EPSG:4326, numbered 0…n-1, once checked; ``PatrolError`` if none."""
    _check_targets(targets)
    targets = targets.to_crs(STORAGE_CRS).reset_index(drop=True)
    if not len(targets):
        raise PatrolError(
            f"Không có mục tiêu nào quanh {post.name}: chưa có gì để tuần tra (chạy phân tích "
            f"điểm nóng, hoặc mở rộng bán kính) / no targets around {post.name}: nothing to "
            "patrol (run the hotspot analysis, or widen the area with a radius)")
    return targets


def _check_targets(targets: pd.DataFrame) -> None:
    if not isinstance(targets, gpd.GeoDataFrame):
        raise PatrolError("targets must be a GeoDataFrame of points")
    for col in ("target_id", "risk"):
        if col not in targets.columns:
            raise PatrolError(f"targets: column {col!r} is missing")
    ids = targets["target_id"].astype(str)
    dup = ids[ids.duplicated()]
    if len(dup):
        raise PatrolError(f"targets: target_id {dup.iloc[0]!r} appears twice")
    for i, (tid, r) in enumerate(zip(ids, targets["risk"])):
        if not number(r, -1.0) >= 0:
            raise PatrolError(f"targets row {i} ({tid}), field 'risk': {r!r} is not a number ≥ 0")
    for i, (tid, t) in enumerate(zip(ids, targets.geometry.geom_type)):
        if t != "Point":
            raise PatrolError(f"targets row {i} ({tid}): geometry must be a Point, got {t}")
    for col in ("dwell_min", "tw_open_min", "tw_close_min", "revisit_min"):
        if col in targets.columns:
            vals = pd.to_numeric(targets[col], errors="coerce")
            bad = vals.notna() & (vals < 0) | (targets[col].notna() & vals.isna())
            if bad.any():
                i = int(np.flatnonzero(bad.to_numpy())[0])
                raise PatrolError(f"targets row {i} ({ids.iloc[i]}), field {col!r}: "
                                  f"{targets[col].iloc[i]!r} is not a number of minutes ≥ 0")


# --- the day's targets ------------------------------------------------------------------------

@dataclass
class _Day:
    """The working state of one day's planning; arrays are indexed like ``targets``."""

    targets: gpd.GeoDataFrame
    risk: np.ndarray
    dwell: np.ndarray
    t_open: np.ndarray
    t_close: np.ndarray
    tm: travel.TravelMatrix | None = None
    reach: np.ndarray | None = None
    keep: np.ndarray | None = None
    forced: np.ndarray | None = None
    inclusion: np.ndarray | None = None


def _column(targets: pd.DataFrame, name: str) -> np.ndarray:
    if name not in targets.columns:
        return np.full(len(targets), np.nan)
    return pd.to_numeric(targets[name], errors="coerce").to_numpy(dtype=float, copy=True)


def _day_state(targets: gpd.GeoDataFrame, dwell_min: float | None) -> _Day:
    dwell = _column(targets, "dwell_min")
    dwell[np.isnan(dwell)] = DWELL_MIN_DEFAULT
    if dwell_min is not None:
        dwell[:] = float(dwell_min)
    return _Day(targets, targets["risk"].astype(float).to_numpy(), dwell,
                _column(targets, "tw_open_min"), _column(targets, "tw_close_min"))


def _travel(d: _Day, post: Post, mode: travel.Mode, detour, communes, network
            ) -> travel.TravelMatrix:
    """Travel between the post (point 0) and every target (point i + 1)."""
    pts = gpd.GeoSeries([post.point] + list(d.targets.geometry.values), crs=STORAGE_CRS)
    if detour is None:
        factors = travel.detour_factors(pts, communes)
    else:
        factors = np.broadcast_to(np.asarray(detour, dtype=float), (len(pts),))
    try:
        return travel.travel_matrix(pts, mode=mode, detour=factors, network=network)
    except travel.TravelError as exc:
        raise PatrolError(str(exc)) from None


def _reachable(d: _Day, budget_min: float) -> np.ndarray:
    """Targets that can be reached at all (there, dwell, back) within the budget. Only these
    enter the day's draw and the weekly guarantee; the rest are reported as out of range."""
    out_, back = d.tm.minutes[0, 1:], d.tm.minutes[1:, 0]
    arrive = np.maximum(out_, np.nan_to_num(d.t_open, nan=0.0))
    return (np.isfinite(out_) & np.isfinite(back) & (d.risk > 0)
            & (np.isnan(d.t_close) | (arrive <= d.t_close))
            & (arrive + d.dwell + back <= budget_min))


def _unreachable(d: _Day, post: Post, budget_min: float, mode: travel.Mode) -> PatrolError:
    """Why no target can be planned: none with risk, none connected, or the nearest too far."""
    how = MODE_VI[mode.name].lower()
    positive = np.flatnonzero(d.risk > 0)
    if not len(positive):
        return PatrolError(f"Không có mục tiêu nào có mức rủi ro trên 0 quanh {post.name} / "
                           f"no target with a risk above 0 around {post.name}")
    need = d.tm.minutes[0, 1:] + d.dwell + d.tm.minutes[1:, 0]
    near = int(positive[np.argmin(need[positive])])
    if not math.isfinite(need[near]):
        return PatrolError(
            f"Không mục tiêu nào đi tới được từ {post.name} ({how}): không mục tiêu nào nối với "
            f"đồn trên mạng đường / no target can be reached from {post.name} ({how}): none is "
            "connected to the post on the network")
    name = text(d.targets["name"].iloc[near], "") if "name" in d.targets.columns else ""
    name = name or "mục tiêu gần nhất"
    km, hours = d.tm.distance_m[0, near + 1] / 1000, need[near] / 60
    return PatrolError(
        f"Không mục tiêu nào đi và về được từ {post.name} trong {fmt_number(budget_min / 60, 1)} "
        f"giờ ({how}): gần nhất là {name}, cách {fmt_number(km, 1)} km đường đi, cần "
        f"{fmt_number(hours, 1)} giờ (đi, {fmt_number(d.dwell[near])} phút tại chỗ, và về) / "
        f"no target can be reached from {post.name} and back within "
        f"{fmt_number(budget_min / 60, 1, 'en')} h ({how}): the nearest, {name}, is "
        f"{fmt_number(km, 1, 'en')} km away on the ground and needs {fmt_number(hours, 1, 'en')} h "
        f"(there, {fmt_number(d.dwell[near], 0, 'en')} min on site, and back)")


def _candidates(d: _Day, *, randomise: bool, seed: int | None, day: date, own_dwell: bool,
                draw_kwargs: Mapping) -> None:
    """Today's candidates: every reachable target, or the randomised draw among them."""
    d.forced = np.zeros(len(d.targets), dtype=bool)
    d.inclusion = np.where(d.reach, 1.0, 0.0)
    if not randomise:
        d.keep = d.reach
        return
    reach_idx = np.flatnonzero(d.reach)
    draw = daily_draw(d.targets.iloc[reach_idx], plan_date=day, seed=int(seed), **draw_kwargs)
    if not own_dwell:
        d.dwell[reach_idx] = draw.dwell_min
    d.keep = np.zeros(len(d.targets), dtype=bool)
    d.keep[reach_idx] = draw.candidates
    d.forced[reach_idx] = draw.forced
    d.inclusion[reach_idx] = np.where(draw.forced, 1.0, draw.inclusion_p)


# --- routing ----------------------------------------------------------------------------------

@dataclass
class _Nodes:
    """Routing nodes: 0 = post, 1..m = candidates, then revisit copies of candidates."""

    point_of: np.ndarray  # node → travel-matrix point (0 post, i + 1 target i)
    rev_of: np.ndarray    # node → node of its first visit, or -1
    minutes: np.ndarray
    service: np.ndarray
    problem: routing.RoutingProblem
    m: int
    cand_idx: np.ndarray


def _nodes(d: _Day, budget_min: float, n_teams: int, revisit_prize_share: float) -> _Nodes:
    cand_idx = np.flatnonzero(d.keep)
    m = len(cand_idx)
    revisit = _column(d.targets.iloc[cand_idx], "revisit_min")
    copies = [i for i in range(m) if math.isfinite(revisit[i]) and revisit[i] > 0]
    point_of = np.concatenate([[0], cand_idx + 1, cand_idx[np.array(copies, dtype=int)] + 1])
    n = len(point_of)
    minutes = d.tm.minutes[np.ix_(point_of, point_of)]
    prize, service = np.zeros(n), np.zeros(n)
    opens, closes = np.full(n, np.nan), np.full(n, np.nan)
    prize[1:m + 1] = d.risk[cand_idx]
    boost = 100.0 * max(float(prize.max()), 1.0)
    prize[1:m + 1] += np.where(d.forced[cand_idx], boost, 0.0)  # the weekly guarantee first
    service[1:m + 1] = d.dwell[cand_idx]
    opens[1:m + 1] = d.t_open[cand_idx]
    closes[1:m + 1] = d.t_close[cand_idx]
    rev_of, gap = np.full(n, -1, dtype=int), np.zeros(n)
    for k, i in enumerate(copies):
        node = m + 1 + k
        rev_of[node], gap[node] = i + 1, revisit[i]
        prize[node] = float(d.risk[cand_idx[i]]) * revisit_prize_share
        service[node] = d.dwell[cand_idx[i]]
        closes[node] = closes[i + 1]
    problem = routing.RoutingProblem(minutes, prize, service, float(budget_min), int(n_teams),
                                     opens, closes, rev_of, gap)
    return _Nodes(point_of, rev_of, minutes, service, problem, m, cand_idx)


# --- timetable --------------------------------------------------------------------------------

def _stop_risk(d: _Day, nodes: _Nodes, k: int, revisit_share: float) -> float:
    """What visiting node ``k`` is worth: the target's risk, a share of it for a revisit."""
    copy = nodes.rev_of[k] >= 0
    return float(d.risk[int(nodes.point_of[k]) - 1]) * (revisit_share if copy else 1.0)


def _stop_row(d: _Day, nodes: _Nodes, team: int, seq: int, k: int, start: float,
              leg_min: float, leg_m: float, wait: float, start_time: str,
              revisit_share: float) -> dict:
    i = int(nodes.point_of[k]) - 1
    is_copy = nodes.rev_of[k] >= 0
    row = d.targets.iloc[i]
    depart = start + nodes.service[k]
    return {
        "team": team, "seq": seq, "target_id": str(row["target_id"]),
        "target_kind": text(row.get("target_kind"), "") or "target",
        "name": text(row.get("name"), "") or str(row["target_id"]),
        "arrive_min": round(start, 1), "depart_min": round(depart, 1),
        "arrive_at": clock(start_time, round(start, 1)),
        "depart_at": clock(start_time, round(depart, 1)),
        "dwell_min": float(nodes.service[k]), "travel_min": round(leg_min, 1),
        "wait_min": round(wait, 1), "distance_m": round(leg_m, 0),
        "risk": round(_stop_risk(d, nodes, k, revisit_share), 3),
        "reason_vi": text(row.get("reason_vi"), "") + (" — quay lại lần 2" if is_copy else ""),
        "lao_counterpart": text(row.get("lao_counterpart"), "") or None,
        "forced": bool(d.forced[i]) and not is_copy, "revisit": bool(is_copy),
        "inclusion_p": round(float(d.inclusion[i]), 3), "geometry": row.geometry,
    }


def _joined(legs: list[LineString]) -> LineString | None:
    coords: list = []
    for leg in legs:
        c = list(leg.coords)
        coords.extend(c if not coords else c[1:])
    return LineString(coords) if len(coords) > 1 else None


def _team(d: _Day, nodes: _Nodes, team: int, route: list[int], starts: list[float],
          back: float, start_time: str, revisit_share: float) -> tuple[list[dict], dict]:
    """One team's stops and its route row (line in EPSG:32648, totals, return time)."""
    stops, legs = [], []
    prev, depart_prev, dist, travel_min, wait_total = 0, 0.0, 0.0, 0.0, 0.0
    for seq, (k, start) in enumerate(zip(route, starts), 1):
        a, b = int(nodes.point_of[prev]), int(nodes.point_of[k])
        leg_min, leg_m = float(nodes.minutes[prev, k]), float(d.tm.distance_m[a, b])
        wait = max(0.0, start - depart_prev - leg_min)
        stops.append(_stop_row(d, nodes, team, seq, k, start, leg_min, leg_m, wait, start_time,
                               revisit_share))
        legs.append(d.tm.leg(a, b))
        dist, travel_min, wait_total = dist + leg_m, travel_min + leg_min, wait_total + wait
        prev, depart_prev = k, start + nodes.service[k]
    if route:
        legs.append(d.tm.leg(int(nodes.point_of[prev]), 0))
        dist += float(d.tm.distance_m[nodes.point_of[prev], 0])
        travel_min += float(nodes.minutes[prev, 0])
        line = _joined(legs)
    else:
        line, back = None, 0.0
    return stops, {
        "team": team, "n_stops": len(route), "distance_km": round(dist / 1000, 2),
        "travel_min": round(travel_min, 1),
        "dwell_min": round(float(sum(nodes.service[k] for k in route)), 1),
        "wait_min": round(wait_total, 1), "duration_min": round(back, 1),
        "return_at": clock(start_time, back) if route else None,
        "risk": round(sum(_stop_risk(d, nodes, k, revisit_share) for k in route), 3),
        "geometry": line,
    }


def _timetable(d: _Day, nodes: _Nodes, sol: routing.RoutingSolution, start_time: str,
               revisit_share: float) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, list[dict]]:
    """The stops (EPSG:4326 points, in team order), one route line per team, and each team's
    totals as plain values (for the report)."""
    stop_rows, route_rows = [], []
    for t, (route, starts, back) in enumerate(zip(sol.routes, sol.arrive_min, sol.return_min)):
        rows, team = _team(d, nodes, t + 1, route, starts, back, start_time, revisit_share)
        stop_rows += rows
        route_rows.append(team)
    if stop_rows:
        stops = gpd.GeoDataFrame(stop_rows, geometry="geometry", crs=STORAGE_CRS)
    else:
        stops = gpd.GeoDataFrame({c: [] for c in ("team", "seq", "target_id", "arrive_min")},
                                 geometry=gpd.GeoSeries([], crs=STORAGE_CRS), crs=STORAGE_CRS)
    routes = gpd.GeoDataFrame(route_rows, geometry="geometry", crs=METRIC_CRS).to_crs(STORAGE_CRS)
    teams = [{k: v for k, v in r.items() if k != "geometry"} for r in route_rows]
    return stops, routes, teams


# --- report -----------------------------------------------------------------------------------

def _flagged(d: _Day, nodes: _Nodes, sol: routing.RoutingSolution) -> gpd.GeoDataFrame:
    """The targets with risk > 0 and what became of them today."""
    visited = np.zeros(len(d.targets), dtype=bool)
    for k in sol.visited:
        visited[int(nodes.point_of[k]) - 1] = True
    out = d.targets.copy()
    out["candidate"], out["visited"], out["forced"] = d.keep, visited, d.forced
    out["inclusion_p"], out["reachable"] = d.inclusion, d.reach
    return out[d.risk > 0]


def _warnings(cands: gpd.GeoDataFrame, missed_forced: list[str], budget_min: float) -> list[str]:
    out = []
    if missed_forced:
        out.append(f"{len(missed_forced)} mục tiêu bắt buộc trong tuần chưa được bố trí "
                   f"(không đủ thời gian): {', '.join(missed_forced[:5])}")
    unreachable = int((~cands["reachable"]).sum())
    if unreachable:
        out.append(f"{unreachable} mục tiêu ngoài tầm: không thể đến và quay về trong "
                   f"{budget_min / 60:g} giờ (không tính vào lịch bắt buộc trong tuần)")
    return out


def _crossing_notes(stops: gpd.GeoDataFrame) -> list[dict]:
    """Crossings on the plan whose Lao counterpart should hear of it (Plan 180/KH-UBND asks
    border posts to coordinate with Lao forces)."""
    out = []
    if not len(stops) or "lao_counterpart" not in stops.columns:
        return out
    for r in stops.itertuples():
        if r.target_kind == "border_crossing" and not r.revisit:
            out.append({"team": int(r.team), "name": text(r.name, ""), "arrive_at": r.arrive_at,
                        "lao_counterpart": text(r.lao_counterpart, "") or None})
    return out


def _outcome(d: _Day, nodes: _Nodes, sol: routing.RoutingSolution, stops: gpd.GeoDataFrame,
             teams: list[dict], budget_min: float) -> tuple[dict, gpd.GeoDataFrame]:
    """The report's part about the result, and the flagged targets."""
    cands = _flagged(d, nodes, sol)
    covered = float(sum(stops["risk"])) if len(stops) else 0.0
    total = float(d.risk.sum())
    missed = [str(t) for t, f, v in zip(cands["target_id"], cands["forced"], cands["visited"])
              if f and not v]
    dropped = cands[~cands["visited"]].sort_values("risk", ascending=False).head(10)
    return {
        "n_targets": int(len(d.targets)), "n_candidates": int(nodes.m),
        "n_stops": int(len(stops)), "risk_total": round(total, 3),
        "risk_candidates": round(float(d.risk[nodes.cand_idx].sum()), 3),
        "risk_covered": round(covered, 3),
        "share_covered": round(covered / total, 4) if total else 0.0,
        "distance_km": round(sum(t["distance_km"] for t in teams), 2), "teams": teams,
        "method": sol.method, "status": sol.status, "solve_s": round(sol.solve_s, 2),
        "forced": [str(t) for t in cands.loc[cands["forced"], "target_id"]],
        "forced_missed": missed,
        "dropped": [{"target_id": str(r.target_id), "name": text(getattr(r, "name", ""), ""),
                     "risk": round(float(r.risk), 3), "reachable": bool(r.reachable)}
                    for r in dropped.itertuples()],
        "crossings": _crossing_notes(stops), "notes": list(sol.notes),
        "warnings": _warnings(cands, missed, budget_min),
        # a plan reveals every target it was made from (stops, dropped, forced)
        "confidentiality": highest_confidentiality(d.targets.get("confidentiality", [])),
    }, cands


# --- the plan ---------------------------------------------------------------------------------

def plan(targets: gpd.GeoDataFrame, post: Post, *, budget_min: float, n_teams: int = 1,
         mode: str = "foot", plan_date: date | str | None = None, start_time: str = "07:00",
         dwell_min: float | None = None, detour: float | np.ndarray | None = None,
         communes: gpd.GeoDataFrame | None = None, network: travel.Network | None = None,
         method: routing.Method = "auto", time_limit_s: float = 10.0,
         randomise: bool = False, seed: int | None = None, visits_per_week: int = 2,
         high_risk_min: float = HIGH_RISK_MIN, draw_share: float = 0.6,
         visits_so_far: Mapping[str, int] | None = None,
         revisit_prize_share: float = 0.5) -> PatrolPlan:
    """Plan one day's patrol: which targets, in what order, by which team, how long at each.

    Parameters
    ----------
    targets : GeoDataFrame of points
        From :func:`~geo_pcmt.analysis.patrol.targets.collect_targets` (or built by hand):
        ``target_id``, ``risk`` and optionally ``name``, ``target_kind``, ``reason_vi``,
        ``dwell_min``, ``tw_open_min`` / ``tw_close_min`` (window for the start of the dwell,
        minutes after departure), ``revisit_min`` (come back at least this long after the
        first visit), ``lao_counterpart``, ``confidentiality`` (the plan carries the
        strictest, at least *restricted*).
    post : Post
        Start and end of every team (:func:`~geo_pcmt.analysis.patrol.model.find_post`).
    budget_min : float
        Time each team has, from leaving the post to being back, in minutes (> 0).
    n_teams : int
        Teams leaving together.
    mode : {"foot", "motorbike", "vehicle"}
    plan_date, start_time : date, "HH:MM"
        For the timetable and the randomisation; today and 07:00 by default.
    dwell_min : float, optional
        Dwell at every target, overriding the targets' own.
    detour : float or array, optional
        Detour factor for all points (or one per post + targets); by default from the
        terrain of ``communes`` (:func:`geo_pcmt.analysis.patrol.travel.detour_factors`).
    network : travel.Network, optional
        Road/trail network for shortest paths.
    method, time_limit_s :
        Solver (``auto`` = OR-Tools with greedy fallback) and its time limit in seconds.
    randomise, seed, visits_per_week, high_risk_min, draw_share, visits_so_far :
        Risk-proportional daily draw with a weekly coverage guarantee
        (:func:`~geo_pcmt.analysis.patrol.draw.daily_draw`). Without a ``seed`` one is drawn
        and recorded in the plan.
    revisit_prize_share : float
        What a revisit is worth, as a share of the target's risk.

    Returns
    -------
    PatrolPlan

    Raises
    ------
    PatrolError
        Budget ≤ 0, no targets, or no target can be reached and left within the budget.
    """
    mode_obj, day = _check_request(budget_min, n_teams, mode, plan_date, start_time, dwell_min)
    d = _day_state(_checked_targets(targets, post), dwell_min)
    d.tm = _travel(d, post, mode_obj, detour, communes, network)
    d.reach = _reachable(d, budget_min)
    if not d.reach.any():
        raise _unreachable(d, post, budget_min, mode_obj)
    if randomise and seed is None:
        seed = secrets.randbelow(2**31)
    params = {"budget_min": float(budget_min), "n_teams": int(n_teams), "mode": mode_obj.name,
              "plan_date": day.isoformat(), "start_time": start_time, "dwell_min": dwell_min,
              "method": method, "time_limit_s": time_limit_s, "randomise": bool(randomise),
              "seed": int(seed) if seed is not None else None,
              "visits_per_week": int(visits_per_week), "high_risk_min": float(high_risk_min),
              "draw_share": float(draw_share), "revisit_prize_share": float(revisit_prize_share),
              "detour": None if detour is None else np.asarray(detour, dtype=float).tolist()}
    _candidates(d, randomise=randomise, seed=seed, day=day, own_dwell=dwell_min is not None,
                draw_kwargs=dict(visits_per_week=visits_per_week, high_risk_min=high_risk_min,
                                 draw_share=draw_share, visits_so_far=visits_so_far))
    nodes = _nodes(d, budget_min, n_teams, revisit_prize_share)
    try:
        sol = routing.solve(nodes.problem, method=method, time_limit_s=time_limit_s)
    except routing.RoutingError as exc:
        raise PatrolError(str(exc)) from None
    stops, routes, teams = _timetable(d, nodes, sol, start_time, revisit_prize_share)
    outcome, cands = _outcome(d, nodes, sol, stops, teams, budget_min)
    report = _report(post, mode_obj, network, params, outcome)
    return PatrolPlan(post, stops, routes, report, params, cands)


def _report(post: Post, mode: travel.Mode, network: travel.Network | None, params: dict,
            outcome: dict) -> dict:
    """The plan's report (JSON-able), in the order a reader meets it."""
    head = {
        "post": {"id": post.id, "name": post.name, "unit": post.unit,
                 "lon": round(post.lon, 6), "lat": round(post.lat, 6)},
        "plan_date": params["plan_date"], "start_time": params["start_time"],
        "mode": mode.name, "mode_vi": MODE_VI[mode.name], "speed_kmh": mode.speed_kmh,
        "budget_min": params["budget_min"], "hours": round(params["budget_min"] / 60, 3),
        "n_teams": params["n_teams"],
    }
    tail = {
        "network": network.source if network is not None else None,
        "randomised": params["randomise"], "seed": params["seed"],
        "visits_per_week": params["visits_per_week"] if params["randomise"] else None,
        "high_risk_min": params["high_risk_min"],
    }
    result = dict(outcome)
    later = {k: result.pop(k) for k in ("forced", "forced_missed", "dropped", "crossings",
                                        "notes", "warnings", "confidentiality")}
    return {**head, **result, **tail, **later}
