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
a role may see them; a plan's recorded tracks are compared with it by
:mod:`geo_pcmt.runs.patrol_tracks`, and the week's visits count only the stops done where
tracks were recorded.

Units (:mod:`geo_pcmt.units`): a commander plans for, and sees the plans of, the border posts
of their unit only (:func:`unit_post_ids`); planning for another unit's post is refused
(:class:`geo_pcmt.access.AccessDenied`), and another unit's plans are simply not there
(:func:`load_plan` says no such plan). Admins, and commanders of the province, see all.

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
import numpy as np
import pandas as pd

from geo_pcmt import access, units
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
    stops_done_by_tracks,
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
    unit : the maker's unit (:mod:`geo_pcmt.units`); a commander may plan only for its posts.
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
    unit: str = "province"

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


def unit_post_ids(store, unit: str | None, role: str | None) -> tuple[str, ...] | None:
    """Ids of the border posts whose plans ``role`` of ``unit`` sees and makes; ``None``
    for all (admins, the province). Posts and communes are read as ``role`` may see them.

    Raises
    ------
    geo_pcmt.units.UnitError
        ``unit`` is malformed (a user file edited by hand).
    """
    scope = units.parse_unit(unit)
    if scope.is_province or (role is not None and access.at_least(role, "admin")):
        return None
    posts = access.read(store, "border_posts", role=role,
                        columns=["id", "area_of_responsibility", "commune_code"])
    communes = None
    if scope.kind == "district":
        communes = access.read(store, "communes", role=role, columns=["code", "district_pre2025"])
    return units.unit_posts(scope, posts, communes)


def _unit_data(store, role: str) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The posts and communes units are resolved against (empty when not loaded)."""
    posts = _read_or_none(store, "border_posts", role,
                          columns=["id", "name", "area_of_responsibility", "commune_code"])
    communes = _read_or_none(store, "communes", role, columns=["code", "district_pre2025"])
    return (posts if posts is not None else pd.DataFrame(columns=["id", "name"])), communes


def resolve_unit(store, text: str | None, *, role: str = "admin") -> units.Unit:
    """The unit a person typed (post id or name, former district, province), checked against
    the store's posts and communes (:func:`geo_pcmt.units.resolve_unit`; ``UnitError``)."""
    posts, communes = _unit_data(store, role)
    return units.resolve_unit(text, posts, communes)


def unit_choices(store, *, role: str = "admin") -> list[tuple[str, str]]:
    """Every unit a user can be given, ``(stored, Vietnamese label)``, for a form."""
    posts, communes = _unit_data(store, role)
    return units.unit_choices(posts, communes)


def plan_scope(store, layer: str, posts: tuple[str, ...] | None, role: str | None) -> dict:
    """A ``where`` that keeps the rows of ``layer`` (``patrol_plans``, ``patrol_stops``) of
    the plans of ``posts`` (from :func:`unit_post_ids`); empty for every post or another
    layer. Stops are kept by their plan (they carry no post)."""
    if posts is None or layer not in ("patrol_plans", "patrol_stops"):
        return {}
    if layer == "patrol_plans":
        return {"post_id": list(posts)}
    ids = access.read(store, "patrol_plans", role=role, columns=["id"],
                      where={"post_id": list(posts)})["id"] if posts else []
    return {"plan_id": [str(i) for i in ids]}


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
    geo_pcmt.access.AccessDenied
        The post is not of ``params.unit`` (for a commander; admins plan for every post).
    """
    role = check_role(params.role if role is None else role)
    posts = access.read(store, "border_posts", role=role)
    post = find_post(posts, params.post)
    allowed = unit_post_ids(store, params.unit, role)
    if allowed is not None and str(post.id) not in allowed:
        raise access.AccessDenied(
            f"{post.name} không thuộc đơn vị của bạn ({units.unit_label(params.unit, posts)}) "
            f"/ post {post.name!r} is not of your unit")
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


def load_plan(store, plan_id: str, *, role: str,
              posts: tuple[str, ...] | None = None) -> PatrolPlan:
    """A stored plan (stops, routes, report) by id, if ``role`` may see it and it is of one
    of ``posts`` (:func:`unit_post_ids`; ``None``: any post).

    Raises
    ------
    PatrolError
        No plan with that id within the role's clearance and the posts (a secret plan is not
        there for a commander, another unit's plan not for a commander of this one).
    geo_pcmt.access.AccessDenied
        The role may not read patrol plans at all.
    """
    where = {"id": str(plan_id), **plan_scope(store, "patrol_plans", posts, role)}
    rows = access.read(store, "patrol_plans", role=check_role(role), where=where)
    if not len(rows):
        raise PatrolError(f"no patrol plan with id {plan_id!r}")
    stops = access.read(store, "patrol_stops", role=role, where={"plan_id": str(plan_id)})
    return plan_from_records(rows.iloc[0].to_dict(), stops)


def list_plans(store, *, role: str, post: str | None = None, limit: int = 50,
               posts: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Stored plans ``role`` may see, newest first (no stops), of ``posts`` (ids, from
    :func:`unit_post_ids`; ``None``: every post), optionally of one post (id or name)."""
    frame = access.read(store, "patrol_plans", role=check_role(role), columns=PLAN_LIST_COLUMNS,
                        where=plan_scope(store, "patrol_plans", posts, role) or None)
    if post is not None and len(frame):
        frame = frame[(frame["post_id"] == post) | (frame["post"] == post)]
    return frame.sort_values(["plan_date", "created_at"], ascending=False).head(limit)


def week_rows(store, post_id: str, first: date, last: date, *, role: str
              ) -> tuple[pd.DataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame | None]:
    """The stored plans of ``post_id`` dated ``first`` … ``last``, their stops and the
    tracks recorded for them (``None`` when ``role`` may not read tracks), as ``role`` sees
    them."""
    plans = access.read(store, "patrol_plans", role=check_role(role),
                        columns=["id", "post_id", "plan_date", "created_at"],
                        where={"post_id": post_id,
                               "plan_date": slice(first.isoformat(), last.isoformat())})
    if not len(plans):
        return plans, gpd.GeoDataFrame(), None
    ids = [str(i) for i in plans["id"]]
    stops = access.read(store, "patrol_stops", role=role,
                        columns=["id", "plan_id", "team", "seq", "target_id", "name", "risk",
                                 "revisit"], where={"plan_id": ids})
    tracks = _read_or_none(store, "patrol_tracks", role,
                           columns=["id", "plan_id", "team", "stops_done"],
                           where={"plan_id": ids})
    return plans, stops, tracks


def stops_done(stops: gpd.GeoDataFrame, tracks: gpd.GeoDataFrame | None) -> np.ndarray:
    """Whether each stop of a week's plans was done, from the tracks recorded for its plan
    (:func:`geo_pcmt.analysis.patrol.stops_done_by_tracks`); ``None`` for the stops of
    plans with no track recorded yet (nothing reported)."""
    out = np.full(len(stops), None, dtype=object)
    if tracks is None or not len(tracks) or not len(stops):
        return out
    for plan_id, mine in tracks.groupby("plan_id"):
        at = (stops["plan_id"] == plan_id).to_numpy()
        if at.any():
            out[at] = stops_done_by_tracks(stops[at], mine)["done"].to_numpy()
    return out


def visits_this_week(store, post: Post, plan_date: date, *, role: str) -> dict[str, int]:
    """Days on which each target was visited by stored plans of ``post`` earlier this week
    (:func:`geo_pcmt.analysis.patrol.count_visits`), of the plans ``role`` may see.

    A plan with tracks recorded (``patrol_tracks``) counts only its stops done (reached or
    marked done), so a high-risk target planned but not visited is owed again; a plan with
    no track yet counts as planned.
    """
    monday = week_start(plan_date)
    if plan_date == monday:
        return {}
    plans, stops, tracks = week_rows(store, post.id, monday, plan_date - timedelta(days=1),
                                     role=role)
    if not len(plans):
        return {}
    done = stops_done(stops, tracks)
    keep = np.array([d is None or bool(d) for d in done], dtype=bool)
    return count_visits(plans, stops[keep])


__all__ = ["DEFAULT_ROLE", "PatrolInputs", "PatrolParams", "PatrolRun", "check_role",
           "list_plans", "load_plan", "plan_scope", "read_inputs", "resolve_unit", "run",
           "save_plan", "stops_done", "unit_choices", "unit_post_ids", "visits_this_week",
           "week_rows", "write"]
