"""The patrol run: read a post's inputs as a role may see them, plan (pure), store the plans.

The one implementation behind ``geo-pcmt patrol`` and the web form ``POST /patrol/``:

- :func:`read_inputs` reads the post, the communes, the target layers (within the post's
  area) and this week's earlier plans through :func:`geo_pcmt.access.read`, so a plan made
  for a commander is never shaped by a record above the commander's clearance;
- :func:`run` builds the targets and plans the day (or the week) with
  :mod:`geo_pcmt.analysis.patrol` — no store, no files;
- :func:`write` stores each plan (:func:`save_plan`: ``patrol_plans`` + ``patrol_stops``,
  audited under the user), with the strictest confidentiality of its targets.

:func:`load_plan`, :func:`list_plans` and :func:`visits_this_week` read stored plans back, as
a role may see them.

Examples
--------
>>> params = PatrolParams(post="Nậm Cắn", hours=6, teams=2, randomise=True, seed=7)
>>> result = run(read_inputs(store, params), params)       # doctest: +SKIP
>>> write(store, result, user="chi_huy_1")                  # doctest: +SKIP
['PT-20260115-BP001-1a2b3c']
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, timedelta

import geopandas as gpd
import pandas as pd

from geo_pcmt import access
from geo_pcmt.analysis.patrol import (
    TARGET_SOURCE_LAYERS,
    PatrolError,
    PatrolPlan,
    Post,
    WeekPlan,
    count_visits,
    find_post,
    plan,
    plan_from_records,
    plan_records,
    plan_week,
    post_area,
    targets_for_post,
    travel,
    week_start,
)
from geo_pcmt.analysis.patrol.records import new_plan_id

#: Patrol plans are read and made by these roles (the ``min_role`` of those layers).
DEFAULT_ROLE = "commander"
PLAN_LIST_COLUMNS = ["id", "post", "post_id", "unit", "plan_date", "start_time", "teams",
                     "mode", "hours", "seed", "randomised", "method", "created_by",
                     "risk_covered", "risk_total", "n_stops", "created_at"]


@dataclass(frozen=True)
class PatrolParams:
    """What a commander asks for (all recorded with the plan).

    Attributes
    ----------
    post : name or id of the border post, with or without diacritics.
    hours : time per team, out and back (h).
    teams, mode, start_time, dwell_min : teams leaving together, ``foot`` / ``motorbike`` /
        ``vehicle``, departure ``HH:MM``, minutes at each stop (default: the targets' own).
    plan_date : the patrol day (default today).
    radius_km : targets within this radius instead of the post's area of responsibility.
    network_file : road/trail lines (GeoJSON, GPKG, OSM) for shortest paths.
    randomise, seed, visits_per_week : the risk-proportional draw with a weekly guarantee;
        without a seed one is drawn and recorded.
    week : plan the seven days of ``plan_date``'s week (needs ``randomise``).
    method, time_limit_s : the solver and its time limit per plan (s).
    role : whose clearance the targets are read with: ``commander`` (default) or ``admin``.
    """

    post: str
    hours: float
    teams: int = 1
    mode: str = "foot"
    plan_date: date | None = None
    start_time: str = "07:00"
    dwell_min: float | None = None
    radius_km: float | None = None
    network_file: str | None = None
    randomise: bool = False
    seed: int | None = None
    visits_per_week: int = 2
    week: bool = False
    method: str = "auto"
    time_limit_s: float = 10.0
    role: str = DEFAULT_ROLE

    @property
    def day(self) -> date:
        return self.plan_date or date.today()


@dataclass
class PatrolInputs:
    """What :func:`read_inputs` read: the post, communes, target layers (layer → frame, or
    ``None`` when the role may not read it), this week's visits (randomised days only) and
    the network."""

    post: Post
    communes: gpd.GeoDataFrame
    sources: dict[str, pd.DataFrame | None]
    visits_so_far: dict[str, int] | None
    network: travel.Network | None
    role: str


@dataclass
class PatrolRun:
    """What a patrol run made: one plan, or seven with the week's coverage."""

    plans: list[PatrolPlan]
    week: WeekPlan | None
    role: str


def check_role(role: str | None) -> str:
    """``role`` if it may make and read patrol plans; :class:`geo_pcmt.access.AccessDenied`
    otherwise."""
    if not access.can_read_layer_for(role, "patrol_plans"):
        raise access.AccessDenied(f"patrol plans are for commanders and admins, not for role "
                                  f"{role or 'anonymous'!r}")
    return role


def _read_or_none(store, layer: str, role: str, **kwargs) -> pd.DataFrame | None:
    try:
        return access.read(store, layer, role=role, **kwargs)
    except (access.AccessDenied, KeyError):  # not for this role, or a layer not installed
        return None


def read_inputs(store, params: PatrolParams, role: str | None = None) -> PatrolInputs:
    """Everything a plan is made from, read as ``role`` (default ``params.role``) may see it.

    Raises
    ------
    geo_pcmt.access.AccessDenied
        The role may not make patrol plans.
    PatrolError
        The post is unknown or ambiguous.
    geo_pcmt.analysis.patrol.travel.TravelError
        The network file cannot be read.
    """
    role = check_role(params.role if role is None else role)
    post = find_post(access.read(store, "border_posts", role=role), params.post)
    communes = access.read(store, "communes", role=role)
    bbox = tuple(post_area(post, communes, radius_km=params.radius_km).bounds)
    sources = {name: _read_or_none(store, name, role, bbox=bbox) for name in TARGET_SOURCE_LAYERS}
    network = travel.load_network(params.network_file) if params.network_file else None
    visits = (visits_this_week(store, post, params.day, role=role)
              if params.randomise and not params.week else None)
    return PatrolInputs(post, communes, sources, visits, network, role)


def run(inputs: PatrolInputs, params: PatrolParams) -> PatrolRun:
    """Targets of the post, then the day's plan or the week's seven (pure).

    Raises
    ------
    PatrolError
        Nothing to patrol, nothing reachable within the hours, a bad parameter.
    """
    if params.week and not params.randomise:
        raise PatrolError("a week is planned with the randomised draw: set randomise")
    day = params.day
    targets = targets_for_post(inputs.sources, inputs.post, plan_date=day,
                               communes=inputs.communes, radius_km=params.radius_km)
    seed = params.seed
    if params.randomise and seed is None:
        seed = secrets.randbelow(2**31)  # recorded in the plan, so the day can be replayed
    kwargs = dict(budget_min=params.hours * 60, n_teams=params.teams, mode=params.mode,
                  start_time=params.start_time, dwell_min=params.dwell_min,
                  communes=inputs.communes, network=inputs.network, method=params.method,
                  time_limit_s=params.time_limit_s, visits_per_week=params.visits_per_week)
    week = None
    if params.week:
        week = plan_week(targets, inputs.post, week_of=day, seed=seed, **kwargs)
        plans = week.days
    else:
        plans = [plan(targets, inputs.post, plan_date=day, randomise=params.randomise,
                      seed=seed, visits_so_far=inputs.visits_so_far, **kwargs)]
    for p in plans:
        p.params["role"] = inputs.role
    return PatrolRun(plans, week, inputs.role)


def write(store, result: PatrolRun, *, user: str) -> list[str]:
    """Store every plan of the run under ``user``; returns their ids, in order."""
    return [save_plan(store, p, user=user) for p in result.plans]


# --- stored plans -----------------------------------------------------------------------------

def save_plan(store, p: PatrolPlan, *, user: str) -> str:
    """Store a plan and its stops under ``user`` (audited); returns the plan id.

    The stops are written first and removed again if the plan row is refused, so a plan is
    never stored half-way.
    """
    if not user:
        raise PatrolError("a stored plan needs the name of who made it")
    plan_id = new_plan_id(p.post, p.report["plan_date"])
    plans, stops = plan_records(p, plan_id=plan_id, created_by=user)
    if len(stops):
        store.write("patrol_stops", stops, mode="append", user=user)
    try:
        store.write("patrol_plans", plans, mode="append", user=user)
    except Exception:
        if len(stops):
            store.delete("patrol_stops", list(stops["id"]), user=user)
        raise
    rep = p.report
    store.audit(user, "patrol:plan", "patrol_plans", [plan_id],
                {"post": p.post.name, "plan_date": rep["plan_date"], "teams": rep["n_teams"],
                 "mode": rep["mode"], "seed": rep["seed"], "randomised": rep["randomised"],
                 "risk_covered": rep["risk_covered"], "stops": rep["n_stops"],
                 "confidentiality": p.confidentiality})
    p.plan_id, p.created_by = plan_id, user
    return plan_id


def load_plan(store, plan_id: str, *, role: str) -> PatrolPlan:
    """A stored plan (stops, routes, report) by id, if ``role`` may see it.

    Raises
    ------
    PatrolError
        No plan with that id within the role's clearance (a secret plan is not there for a
        commander).
    geo_pcmt.access.AccessDenied
        The role may not read patrol plans at all.
    """
    rows = access.read(store, "patrol_plans", role=check_role(role), where={"id": str(plan_id)})
    if not len(rows):
        raise PatrolError(f"no patrol plan with id {plan_id!r}")
    stops = access.read(store, "patrol_stops", role=role, where={"plan_id": str(plan_id)})
    return plan_from_records(rows.iloc[0].to_dict(), stops)


def list_plans(store, *, role: str, post: str | None = None, limit: int = 50) -> pd.DataFrame:
    """Stored plans ``role`` may see, newest first (no stops), optionally of one post (id or
    name)."""
    frame = access.read(store, "patrol_plans", role=check_role(role), columns=PLAN_LIST_COLUMNS)
    if post is not None and len(frame):
        frame = frame[(frame["post_id"] == post) | (frame["post"] == post)]
    return frame.sort_values(["plan_date", "created_at"], ascending=False).head(limit)


def visits_this_week(store, post: Post, plan_date: date, *, role: str) -> dict[str, int]:
    """Days on which each target was visited by stored plans of ``post`` earlier this week
    (:func:`geo_pcmt.analysis.patrol.count_visits`), of the plans ``role`` may see."""
    monday = week_start(plan_date)
    if plan_date == monday:
        return {}
    days = slice(monday.isoformat(), (plan_date - timedelta(days=1)).isoformat())
    plans = access.read(store, "patrol_plans", role=check_role(role),
                        columns=["id", "post_id", "plan_date", "created_at"],
                        where={"post_id": post.id, "plan_date": days})
    if not len(plans):
        return {}
    stops = access.read(store, "patrol_stops", role=role,
                        columns=["id", "plan_id", "target_id", "revisit"],
                        where={"plan_id": list(plans["id"])})
    return count_visits(plans, stops)


__all__ = ["DEFAULT_ROLE", "PatrolInputs", "PatrolParams", "PatrolRun", "check_role",
           "list_plans", "load_plan", "read_inputs", "run", "save_plan", "visits_this_week",
           "write"]
