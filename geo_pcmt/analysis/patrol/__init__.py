"""Patrol planning for commanders: targets with risk weights, routes for teams, randomised days.

The flow, one module per step (all pure: frames in, frames out; the store is read and written
by :mod:`geo_pcmt.runs.patrol`):

1. :mod:`.targets` — :func:`collect_targets` turns analysis results and records into patrol
   *targets*, each with a risk weight (:data:`RISK_WEIGHTS`, ``docs/patrol.md``), a reason in
   Vietnamese, a dwell time (Koper curve: 15 min by default, DOMAIN.md §5), optional time
   window and revisit gap, and the strictest confidentiality of the rows it comes from;
   :func:`targets_for_post` keeps the targets in a post's area of responsibility.
2. :mod:`.planning` — :func:`plan` routes teams from a post (:class:`Post`, :func:`find_post`
   in :mod:`.model`) over the targets within a time budget with :mod:`.routing` on
   :mod:`.travel` times, and returns a :class:`PatrolPlan` (stops, route lines, report).
3. :mod:`.draw` — with ``randomise=True`` the day's candidates are drawn with probabilities
   proportional to risk (:func:`daily_draw`, seeded, reproducible), and high-risk targets are
   spread over the week so that each is visited at least ``visits_per_week`` times
   (:func:`weekly_assignment`; :func:`plan_week` in :mod:`.week`) — Stackelberg-style
   unpredictability with a coverage floor.
4. :mod:`.records` — a plan as ``patrol_plans`` / ``patrol_stops`` rows and as GeoJSON;
   :mod:`.track` — recorded GPS tracks (``patrol_tracks``) against the plan: stops reached,
   time, distance, deviations; :func:`done_coverage` (:mod:`.week`) counts the weekly
   guarantee from the stops done.
"""
from __future__ import annotations

from geo_pcmt.analysis.patrol import routing, travel
from geo_pcmt.analysis.patrol.draw import (
    DailyDraw,
    count_visits,
    daily_draw,
    inclusion_probabilities,
    week_start,
    weekly_assignment,
)
from geo_pcmt.analysis.patrol.model import (
    DWELL_MIN_DEFAULT,
    HIGH_RISK_MIN,
    KOPER_DWELL_RANGE_MIN,
    OPIUM_SEASON_MONTHS,
    TARGET_COLUMNS,
    PatrolError,
    PatrolPlan,
    Post,
    clock,
    find_post,
    highest_confidentiality,
)
from geo_pcmt.analysis.patrol.planning import MODE_VI, plan
from geo_pcmt.analysis.patrol.records import (
    PLAN_SOURCE,
    new_plan_id,
    plan_from_records,
    plan_geojson,
    plan_records,
)
from geo_pcmt.analysis.patrol.targets import (
    CROSSING_KINDS_VI,
    RISK_WEIGHTS,
    TARGET_KINDS_VI,
    TARGET_SOURCE_LAYERS,
    collect_targets,
    own_crossings,
    post_area,
    season_of,
    targets_for_post,
)
from geo_pcmt.analysis.patrol.track import (
    TrackComparison,
    compare_track,
    compare_tracks,
    stops_done_by_tracks,
)
from geo_pcmt.analysis.patrol.week import WeekPlan, done_coverage, plan_week

__all__ = [
    "CROSSING_KINDS_VI", "DWELL_MIN_DEFAULT", "DailyDraw", "HIGH_RISK_MIN",
    "KOPER_DWELL_RANGE_MIN", "MODE_VI", "OPIUM_SEASON_MONTHS", "PLAN_SOURCE", "PatrolError",
    "PatrolPlan", "Post", "RISK_WEIGHTS", "TARGET_COLUMNS", "TARGET_KINDS_VI",
    "TARGET_SOURCE_LAYERS", "TrackComparison", "WeekPlan", "clock", "collect_targets",
    "compare_track", "compare_tracks", "count_visits", "daily_draw", "done_coverage", "find_post", "highest_confidentiality",
    "inclusion_probabilities", "new_plan_id", "own_crossings", "plan", "plan_from_records",
    "plan_geojson", "plan_records", "plan_week", "post_area", "routing", "season_of",
    "stops_done_by_tracks",
    "targets_for_post", "travel", "week_start", "weekly_assignment",
]
