"""A patrol plan as stored rows (``patrol_plans``, ``patrol_stops``) and as GeoJSON, both ways.

Pure conversions: reading and writing the store is :mod:`geo_pcmt.runs.patrol`'s.
"""
from __future__ import annotations

import json
import re
import uuid
from datetime import date
from typing import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd

from geo_pcmt.analysis.patrol.model import PatrolPlan, Post, as_date, clock
from geo_pcmt.crs import STORAGE_CRS
from geo_pcmt.values import text

PLAN_SOURCE = "geo_pcmt.patrol"


def new_plan_id(post: Post, plan_date: date | str) -> str:
    """A fresh plan id: ``PT-<yyyymmdd>-<post id>-<random>``."""
    day = as_date(plan_date) or date.today()
    slug = re.sub(r"[^A-Za-z0-9]+", "", post.id)[:12] or "post"
    return f"PT-{day:%Y%m%d}-{slug}-{uuid.uuid4().hex[:6]}"


def plan_records(p: PatrolPlan, *, plan_id: str, created_by: str
                 ) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    """The ``patrol_plans`` row and the ``patrol_stops`` rows of a plan.

    Every row carries the plan's confidentiality (the strictest of its targets, at least
    *restricted*), so a plan made from a secret record is stored as secret.
    """
    from geo_pcmt.outputs.export import _clean, rfc7946_geometries
    routes = p.routes[~p.routes.geometry.isna()]
    route_fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": f"route:{int(r['team'])}", "geometry": json.loads(g),
         "properties": {k: _clean(v) for k, v in r.items() if k != "geometry"}}
        for r, g in zip(routes.to_dict("records"), rfc7946_geometries(routes.geometry.values))]}
    rep = p.report
    plans = pd.DataFrame([{
        "id": plan_id, "source": PLAN_SOURCE, "confidentiality": p.confidentiality,
        "post": p.post.name, "post_id": p.post.id, "unit": p.post.unit or None,
        "plan_date": rep["plan_date"], "start_time": rep["start_time"],
        "teams": rep["n_teams"], "mode": rep["mode"], "hours": rep["hours"],
        "seed": rep["seed"], "randomised": rep["randomised"], "method": rep["method"],
        "created_by": created_by, "params": json.dumps(p.params, ensure_ascii=False),
        "summary": json.dumps(rep, ensure_ascii=False, default=str),
        "risk_covered": rep["risk_covered"], "risk_total": rep["risk_total"],
        "n_stops": rep["n_stops"], "routes": json.dumps(route_fc, ensure_ascii=False),
    }])
    cols = ["team", "seq", "target_id", "target_kind", "name", "arrive_min", "depart_min",
            "arrive_at", "dwell_min", "travel_min", "distance_m", "risk", "reason_vi",
            "lao_counterpart", "forced", "revisit"]
    stops = p.stops.copy()
    if len(stops):
        stops = stops[cols + ["geometry"]].copy()
        stops.insert(0, "id", [f"{plan_id}-{t}-{s:02d}" for t, s in zip(stops["team"],
                                                                          stops["seq"])])
        stops.insert(1, "plan_id", plan_id)
        stops["source"] = PLAN_SOURCE
        stops["confidentiality"] = p.confidentiality
    else:
        stops = gpd.GeoDataFrame({"id": [], "plan_id": []},
                                 geometry=gpd.GeoSeries([], crs=STORAGE_CRS), crs=STORAGE_CRS)
    return plans, gpd.GeoDataFrame(stops, geometry="geometry", crs=STORAGE_CRS)


def plan_from_records(row: Mapping, stops: pd.DataFrame) -> PatrolPlan:
    """The plan stored as ``row`` (of ``patrol_plans``) and its ``stops`` (of ``patrol_stops``)."""
    report = json.loads(row["summary"] or "{}")
    params = json.loads(row["params"] or "{}")
    if len(stops):
        stops = stops.sort_values(["team", "seq"]).reset_index(drop=True)
        stops["depart_at"] = [clock(report.get("start_time", "07:00"), m)
                              for m in stops["depart_min"].astype(float)]
    fc = json.loads(row["routes"] or '{"features": []}')
    if fc["features"]:
        routes = gpd.GeoDataFrame.from_features(fc["features"], crs=STORAGE_CRS)
    else:
        routes = gpd.GeoDataFrame({"team": []}, geometry=gpd.GeoSeries([], crs=STORAGE_CRS),
                                  crs=STORAGE_CRS)
    post_info = report.get("post", {})
    post = Post(str(row["post_id"] or post_info.get("id", "")), str(row["post"]),
                float(post_info.get("lon", np.nan)), float(post_info.get("lat", np.nan)),
                text(row["unit"], ""))
    return PatrolPlan(post, stops, routes, report, params, None, str(row["id"]),
                      text(row["created_by"], ""))


def plan_geojson(p: PatrolPlan) -> dict:
    """The plan as one RFC 7946 FeatureCollection: the post, the stops and a line per team."""
    from geo_pcmt.outputs.export import _clean, rfc7946_geometries
    feats = [{"type": "Feature", "id": f"post:{p.post.id}",
              "geometry": {"type": "Point", "coordinates": [round(p.post.lon, 6),
                                                            round(p.post.lat, 6)]},
              "properties": {"kind": "post", "name": p.post.name, "unit": p.post.unit}}]
    for frame, kind in ((p.stops, "stop"), (p.routes, "route")):
        if not len(frame):
            continue
        frame = frame[~frame.geometry.isna()]
        geoms = rfc7946_geometries(frame.geometry.values)
        props = frame.drop(columns=frame.geometry.name).to_dict("records")
        for rec, g in zip(props, geoms):
            rec = {k: _clean(v) for k, v in rec.items()}
            fid = (f"stop:{rec['team']}-{rec['seq']}" if kind == "stop" else f"route:{rec['team']}")
            feats.append({"type": "Feature", "id": fid, "geometry": json.loads(g),
                          "properties": {"kind": kind, **rec}})
    return {"type": "FeatureCollection", "name": f"patrol {p.post.name} {p.report['plan_date']}",
            "features": feats}
