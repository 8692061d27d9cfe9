"""Planned against done: a GPS track recorded on patrol compared with the plan's stops."""
from __future__ import annotations

from typing import Any, Sequence

import geopandas as gpd
import numpy as np
import shapely

from geo_pcmt.analysis.patrol.model import PatrolError, PatrolPlan
from geo_pcmt.crs import METRIC_CRS, STORAGE_CRS


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
