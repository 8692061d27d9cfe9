"""Planned against done: GPS tracks recorded on patrol compared with the plan's stops.

:func:`compare_track` compares one track given as points (with times) with a plan;
:func:`compare_tracks` compares the stored ``patrol_tracks`` rows of a plan with it (stops
reached and marked done, time, distance, deviations from the planned route), and
:func:`stops_done_by_tracks` says which planned stops were done, for the weekly coverage
(:func:`geo_pcmt.analysis.patrol.week.done_coverage`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo_pcmt.analysis.patrol.model import PatrolError, PatrolPlan
from geo_pcmt.crs import METRIC_CRS, STORAGE_CRS
from geo_pcmt.layers import stops_done as layer_stops_done
from geo_pcmt.values import is_missing


def _stop_visits(stops, xy: np.ndarray, times: list, radius_m: float) -> list[dict]:
    """Each planned stop: closest approach of the track (m), visited, minutes within reach."""
    if not len(stops):
        return []
    line = shapely.LineString(xy)
    known = any(t is not None for t in times)
    out = []
    for row, g in zip(stops.to_dict("records"), stops.to_crs(METRIC_CRS).geometry):
        near = float(shapely.distance(line, g))
        inside = np.hypot(xy[:, 0] - g.x, xy[:, 1] - g.y) <= radius_m
        minutes = None
        if known and inside.any():
            stamps = [t for t, i in zip(times, inside) if i and t is not None]
            if len(stamps) >= 2:
                minutes = round((max(stamps) - min(stamps)).total_seconds() / 60.0, 1)
        out.append({"team": int(row["team"]), "seq": int(row["seq"]),
                    "target_id": str(row["target_id"]), "name": row.get("name"),
                    "risk": float(row["risk"]), "closest_m": round(near, 1),
                    "visited": near <= radius_m, "minutes_on_site": minutes})
    return out


def compare_track(p: PatrolPlan, track: Sequence[tuple[float, float, Any]], *,
                  team: int | None = None, visit_radius_m: float = 100.0) -> dict:
    """Compare a recorded GPS track with the plan: which stops were visited, effort spent.

    Parameters
    ----------
    p : PatrolPlan
    track : sequence of (lon, lat, time or None)
        The recorded points in order (e.g. every segment of :func:`geo_pcmt.outputs.gpx.read_gpx`'s
        tracks, concatenated).
    team : int, optional
        Compare with this team's stops only (default: every stop of the plan).
    visit_radius_m : float
        A stop counts as visited when the track comes this close to it.

    Returns
    -------
    dict
        ``km_walked`` (track length, EPSG:32648), ``hours`` (first to last timestamp, if the
        track has times), ``stops`` (one entry per planned stop: visited, closest approach in
        metres, minutes spent within the radius when times are known), ``visited``,
        ``planned``, ``risk_planned``, ``risk_visited``, ``share_visited``.
    """
    if not visit_radius_m > 0:
        raise PatrolError(f"visit radius must be > 0 m, got {visit_radius_m!r}")
    pts = [(float(q[0]), float(q[1]), q[2] if len(q) > 2 else None) for q in track]
    if len(pts) < 2:
        raise PatrolError("the track has fewer than 2 points")
    metric = gpd.GeoSeries(shapely.points([q[0] for q in pts], [q[1] for q in pts]),
                           crs=STORAGE_CRS).to_crs(METRIC_CRS)
    xy = np.column_stack([metric.x.to_numpy(), metric.y.to_numpy()])
    km = float(np.hypot(*np.diff(xy, axis=0).T).sum() / 1000.0)
    times = [q[2] for q in pts]
    known = [t for t in times if t is not None]
    hours = ((max(known) - min(known)).total_seconds() / 3600.0) if len(known) >= 2 else None
    stops = p.stops if team is None else p.stops[p.stops["team"] == int(team)]
    out_stops = _stop_visits(stops, xy, times, visit_radius_m)
    risk_planned = sum(s["risk"] for s in out_stops)
    risk_visited = sum(s["risk"] for s in out_stops if s["visited"])
    return {"km_walked": round(km, 2), "hours": None if hours is None else round(hours, 2),
            "planned": len(out_stops), "visited": sum(s["visited"] for s in out_stops),
            "risk_planned": round(risk_planned, 3), "risk_visited": round(risk_visited, 3),
            "share_visited": round(risk_visited / risk_planned, 4) if risk_planned else 0.0,
            "stops": out_stops}


# --- stored tracks (patrol_tracks) against a stored plan ---------------------------------------

#: A stop counts as reached when a track of its team comes this close (m).
VISIT_RADIUS_M = 100.0
#: Parts of a track farther than this from the team's planned route are deviations (m).
DEVIATION_M = 300.0
STOP_COLUMNS = ["team", "seq", "target_id", "name", "risk", "closest_m", "reached", "marked",
                "marked_at", "done", "track_id"]
TRACK_COLUMNS = ["track_id", "team", "started_at", "ended_at", "hours", "hours_planned",
                 "km_walked", "km_planned", "planned", "reached", "marked", "done",
                 "deviation_km", "deviation_share", "excursions", "recorded_by"]


@dataclass
class TrackComparison:
    """A plan against the tracks recorded for it.

    ``stops``: one row per planned stop (:data:`STOP_COLUMNS`): ``closest_m`` (nearest
    approach of a track of its team), ``reached`` (within the visit radius), ``marked`` /
    ``marked_at`` (listed in a track's ``stops_done``), ``done`` (reached or marked) and the
    ``track_id`` that did it. ``tracks``: one row per track (:data:`TRACK_COLUMNS`): time and
    distance walked against the team's plan, stops reached, and the deviations (km and share
    of the track farther than ``deviation_m`` from the planned route, and in how many parts).
    """

    stops: pd.DataFrame
    tracks: pd.DataFrame
    visit_radius_m: float
    deviation_m: float

    @property
    def summary(self) -> dict:
        """Counts over the whole plan (JSON-able)."""
        s = self.stops
        risk = float(s["risk"].sum()) if len(s) else 0.0
        done_risk = float(s.loc[s["done"], "risk"].sum()) if len(s) else 0.0
        return {"tracks": int(len(self.tracks)), "planned": int(len(s)),
                "reached": int(s["reached"].sum()) if len(s) else 0,
                "marked": int(s["marked"].sum()) if len(s) else 0,
                "done": int(s["done"].sum()) if len(s) else 0,
                "risk_planned": round(risk, 3), "risk_done": round(done_risk, 3),
                "share_done": round(done_risk / risk, 4) if risk else 0.0,
                "km_walked": round(float(self.tracks["km_walked"].sum()), 2)
                if len(self.tracks) else 0.0,
                "visit_radius_m": self.visit_radius_m, "deviation_m": self.deviation_m}


def _metric(geoms) -> np.ndarray:
    return np.asarray(gpd.GeoSeries(list(geoms), crs=STORAGE_CRS).to_crs(METRIC_CRS).values,
                      dtype=object)


def _hours(start: Any, end: Any) -> float | None:
    if is_missing(start) or is_missing(end):
        return None
    a, b = pd.Timestamp(str(start)), pd.Timestamp(str(end))
    if (a.tzinfo is None) != (b.tzinfo is None):
        a, b = a.tz_localize(None), b.tz_localize(None)
    return round((b - a).total_seconds() / 3600.0, 2)


def _deviation(line, route, deviation_m: float, step_m: float = 10.0
               ) -> tuple[float | None, int | None]:
    """Distance walked (km) farther than ``deviation_m`` from ``route``, and in how many
    excursions (both metric); ``(None, None)`` without a route.

    The track is cut into pieces of at most ``step_m``; a piece whose middle is farther than
    ``deviation_m`` from the route is off it. Walked length, not ground covered: a detour out
    and back along one path counts twice, as it was walked.
    """
    if route is None or route.is_empty:
        return None, None
    xy = shapely.get_coordinates(shapely.segmentize(line, step_m))
    if len(xy) < 2:
        return 0.0, 0
    mid = shapely.points((xy[:-1] + xy[1:]) / 2)
    off = shapely.distance(mid, route) > deviation_m
    pieces = np.hypot(*np.diff(xy, axis=0).T)
    starts = int(off[0]) + int(np.count_nonzero(off[1:] & ~off[:-1]))
    return round(float(pieces[off].sum()) / 1000.0, 2), starts


def stops_done_by_tracks(stops: gpd.GeoDataFrame, tracks: gpd.GeoDataFrame, *,
                         visit_radius_m: float = VISIT_RADIUS_M) -> pd.DataFrame:
    """Which planned ``stops`` the ``tracks`` did (the rows of :data:`STOP_COLUMNS`).

    A track is compared with the stops of its ``team`` (every stop when its team is
    missing). A stop is *reached* when such a track passes within ``visit_radius_m`` of it
    (EPSG:32648), *marked* when a track lists its target in ``stops_done``
    (:func:`geo_pcmt.layers.stops_done`), and *done* when either holds.
    """
    if not visit_radius_m > 0:
        raise PatrolError(f"visit radius must be > 0 m, got {visit_radius_m!r}")
    n = len(stops)
    out = pd.DataFrame({
        "team": stops["team"].astype(int).to_numpy() if n else [],
        "seq": stops["seq"].astype(int).to_numpy() if n else [],
        "target_id": stops["target_id"].astype(str).to_numpy() if n else [],
        "name": stops["name"].to_numpy() if "name" in stops and n else [None] * n,
        "risk": stops["risk"].astype(float).to_numpy() if n else []})
    closest = np.full(n, np.inf)
    reached_by = np.full(n, None, dtype=object)
    marked_at = np.full(n, None, dtype=object)
    marked = np.zeros(n, dtype=bool)
    if n and len(tracks):
        stop_m = _metric(stops.geometry)
        lines = _metric(tracks.geometry)
        teams = tracks["team"] if "team" in tracks else pd.Series([None] * len(tracks))
        done_lists = tracks["stops_done"] if "stops_done" in tracks else [None] * len(tracks)
        for tid, team, line, listed in zip(tracks["id"].astype(str), teams, lines, done_lists):
            mine = np.ones(n, dtype=bool) if is_missing(team) else out["team"].eq(int(team)) \
                .to_numpy()
            d = np.where(mine, shapely.distance(line, stop_m), np.inf)
            newly = (d <= visit_radius_m) & (reached_by == None)  # noqa: E711 (object array)
            reached_by[newly] = tid
            closest = np.minimum(closest, d)
            for target, at in layer_stops_done(listed):
                hit = mine & (out["target_id"].to_numpy() == target) & ~marked
                marked_at[hit] = at
                reached_by[hit & (reached_by == None)] = tid  # noqa: E711
                marked |= hit
    out["closest_m"] = np.where(np.isfinite(closest), np.round(closest, 1), np.nan)
    out["reached"] = np.isfinite(closest) & (closest <= visit_radius_m)
    out["marked"] = marked
    out["marked_at"] = marked_at
    out["done"] = out["reached"] | out["marked"]
    out["track_id"] = reached_by
    return out[STOP_COLUMNS]


def compare_tracks(p: PatrolPlan, tracks: gpd.GeoDataFrame, *,
                   visit_radius_m: float = VISIT_RADIUS_M,
                   deviation_m: float = DEVIATION_M) -> TrackComparison:
    """Compare the ``patrol_tracks`` rows recorded for plan ``p`` with it (pure).

    Parameters
    ----------
    p : PatrolPlan
        The stored plan (its stops and one route line per team).
    tracks : GeoDataFrame
        Rows of ``patrol_tracks`` (LineStrings, EPSG:4326) with ``id``, ``team``,
        ``started_at``, ``ended_at``, ``stops_done`` (the others are optional).
    visit_radius_m, deviation_m : float
        How close a track must pass to reach a stop; how far from the planned route a part
        of a track is a deviation (metres, EPSG:32648).

    Returns
    -------
    TrackComparison
    """
    if not deviation_m > 0:
        raise PatrolError(f"deviation distance must be > 0 m, got {deviation_m!r}")
    stops = stops_done_by_tracks(p.stops, tracks, visit_radius_m=visit_radius_m)
    routes = {}
    if len(p.routes):
        for team, g in zip(p.routes["team"], _metric(p.routes.geometry)):
            routes[int(team)] = g
    planned = {int(t["team"]): t for t in p.report.get("teams", [])}
    rows = []
    for rec, line in zip(tracks.to_dict("records"), _metric(tracks.geometry)):
        team = None if is_missing(rec.get("team")) else int(rec["team"])
        mine = stops if team is None else stops[stops["team"] == team]
        by_me = mine["track_id"] == str(rec["id"])
        dev_km, parts = _deviation(line, routes.get(team), deviation_m)
        km = line.length / 1000.0
        plan_t = planned.get(team, {})
        rows.append({
            "track_id": str(rec["id"]), "team": team, "started_at": rec.get("started_at"),
            "ended_at": rec.get("ended_at"), "hours": _hours(rec.get("started_at"),
                                                             rec.get("ended_at")),
            "hours_planned": round(float(plan_t["duration_min"]) / 60, 2) if plan_t else None,
            "km_walked": round(km, 3),
            "km_planned": round(float(plan_t["distance_km"]), 3) if plan_t else None,
            "planned": int(len(mine)), "reached": int((mine["reached"] & by_me).sum()),
            "marked": int((mine["marked"] & by_me).sum()), "done": int((mine["done"] & by_me).sum()),
            "deviation_km": dev_km,
            "deviation_share": round(dev_km / km, 4) if dev_km is not None and km else None,
            "excursions": parts, "recorded_by": rec.get("recorded_by")})
    return TrackComparison(stops, pd.DataFrame(rows, columns=TRACK_COLUMNS),
                           visit_radius_m, deviation_m)
