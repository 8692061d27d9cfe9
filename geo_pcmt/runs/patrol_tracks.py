"""The patrol-track run: a stored plan against the tracks recorded for it, and the week's
coverage from the stops done.

- :func:`read_inputs` reads the plan (:func:`geo_pcmt.runs.patrol.load_plan`, within the
  role's clearance and unit), its ``patrol_tracks`` rows and the week's plans, stops and
  tracks of the same post, all through :func:`geo_pcmt.access.read`;
- :func:`run` compares (pure: :func:`geo_pcmt.analysis.patrol.compare_tracks`,
  :func:`geo_pcmt.analysis.patrol.done_coverage`);
- :func:`write` records the check in the audit log under the user (the comparison is
  computed from stored rows each time, so nothing else is stored).

Shown on the plan's page (``/patrol/<id>``) and in its printable brief.

Examples
--------
>>> params = TrackParams(plan_id="PT-20260115-BP001-1a2b3c")
>>> result = run(read_inputs(store, params, role="commander"), params)   # doctest: +SKIP
>>> result.comparison.summary["done"]                                      # doctest: +SKIP
3
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import geopandas as gpd
import pandas as pd

from geo_pcmt import access
from geo_pcmt.analysis.patrol import (
    PatrolPlan,
    TrackComparison,
    compare_tracks,
    done_coverage,
    week_start,
)
from geo_pcmt.analysis.patrol.model import HIGH_RISK_MIN, as_date, highest_confidentiality
from geo_pcmt.analysis.patrol.track import DEVIATION_M, VISIT_RADIUS_M
from geo_pcmt.runs import patrol as patrol_run

TRACK_READ_COLUMNS = ["id", "plan_id", "team", "started_at", "ended_at", "stops_done",
                      "findings", "device", "recorded_by", "confidentiality"]


@dataclass(frozen=True)
class TrackParams:
    """Which plan to check and how: ``visit_radius_m`` (a stop is reached within it),
    ``deviation_m`` (farther than this from the planned route is a deviation), the role and
    unit it is read as."""

    plan_id: str
    visit_radius_m: float = VISIT_RADIUS_M
    deviation_m: float = DEVIATION_M
    role: str = patrol_run.DEFAULT_ROLE
    unit: str = "province"


@dataclass
class TrackInputs:
    """The plan, its tracks, and the week's plans, stops and tracks of its post."""

    plan: PatrolPlan
    tracks: gpd.GeoDataFrame
    week_plans: pd.DataFrame
    week_stops: gpd.GeoDataFrame
    week_tracks: gpd.GeoDataFrame | None
    role: str


@dataclass
class TrackRun:
    """The comparison of the plan with its tracks, the week's coverage from done stops, and
    the confidentiality the result carries (the strictest of the plan and the tracks)."""

    plan: PatrolPlan
    comparison: TrackComparison
    coverage: pd.DataFrame
    confidentiality: str
    findings: list[dict]


def read_inputs(store, params: TrackParams, role: str | None = None) -> TrackInputs:
    """The plan and every track recorded for it, and the post's week, as ``role`` sees them.

    Raises
    ------
    geo_pcmt.access.AccessDenied
        The role may not read patrol plans.
    geo_pcmt.analysis.patrol.PatrolError
        No such plan within the role's clearance and unit.
    """
    role = patrol_run.check_role(params.role if role is None else role)
    posts = patrol_run.unit_post_ids(store, params.unit, role)
    plan = patrol_run.load_plan(store, params.plan_id, role=role, posts=posts)
    tracks = access.read(store, "patrol_tracks", role=role, columns=TRACK_READ_COLUMNS,
                         where={"plan_id": str(params.plan_id)})
    day = as_date(plan.report.get("plan_date"))
    monday = week_start(day)
    plans, stops, week_tracks = patrol_run.week_rows(
        store, plan.post.id, monday, monday + timedelta(days=6), role=role)
    return TrackInputs(plan, tracks, plans, stops, week_tracks, role)


def run(inputs: TrackInputs, params: TrackParams) -> TrackRun:
    """Compare the plan with its tracks; count the week's coverage from done stops (pure)."""
    comparison = compare_tracks(inputs.plan, inputs.tracks, visit_radius_m=params.visit_radius_m,
                                deviation_m=params.deviation_m)
    done = patrol_run.stops_done(inputs.week_stops, inputs.week_tracks)
    coverage = done_coverage(inputs.week_plans, inputs.week_stops,
                             [bool(d) for d in done] if len(done) else [],
                             visits_per_week=int(inputs.plan.report.get("visits_per_week")
                                                 or 2),
                             high_risk_min=HIGH_RISK_MIN)
    level = highest_confidentiality([inputs.plan.confidentiality,
                                     *inputs.tracks.get("confidentiality", [])])
    findings = [{"track_id": str(r["id"]), "team": r.get("team"), "findings": r["findings"]}
                for r in inputs.tracks.to_dict("records")
                if isinstance(r.get("findings"), str) and r["findings"].strip()]
    return TrackRun(inputs.plan, comparison, coverage, level, findings)


def write(store, result: TrackRun, *, user: str) -> dict:
    """Record the check in the audit log under ``user``; returns the summary."""
    summary = result.comparison.summary
    store.audit(user, "patrol:track_check", "patrol_tracks",
                list(result.comparison.tracks["track_id"]),
                {"plan_id": result.plan.plan_id, **summary,
                 "confidentiality": result.confidentiality})
    return summary


__all__ = ["TrackInputs", "TrackParams", "TrackRun", "read_inputs", "run", "write"]
