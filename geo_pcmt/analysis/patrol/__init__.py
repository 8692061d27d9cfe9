"""Patrol planning for commanders: targets with risk weights, routes for teams, randomised days.

The flow (every step a function that can be called and tested on its own):

1. :func:`collect_targets` turns analysis results and records into patrol *targets*, each with a
   risk weight (documented in :data:`RISK_WEIGHTS` and ``docs/patrol.md``), a reason in
   Vietnamese, a dwell time (Koper curve: 15 min by default, DOMAIN.md §5) and optional time
   window and revisit gap. :func:`targets_from_store` reads what it needs from a store and keeps
   the targets in the post's area of responsibility.
2. :func:`plan` routes teams from a post (:func:`find_post`) over the targets within a time
   budget with :mod:`geo_pcmt.routing` on :mod:`geo_pcmt.travel` times, and returns a
   :class:`PatrolPlan` (stops, route lines, report).
3. With ``randomise=True`` the day's candidates are drawn with probabilities proportional to
   risk (:func:`daily_draw`, seeded, reproducible), and high-risk targets are spread over the
   week so that each is visited at least ``visits_per_week`` times (:func:`weekly_assignment`,
   :func:`plan_week`) — Stackelberg-style unpredictability with a coverage floor.
4. :func:`save_plan` / :func:`load_plan` keep plans (with their author) in the
   ``patrol_plans`` and ``patrol_stops`` layers; every write is audited by the store.
"""
from __future__ import annotations

import json
import math
import re
import secrets
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import LineString, Point

from geo_pcmt.analysis.patrol import routing
from geo_pcmt.analysis.patrol import travel
from geo_pcmt.crs import METRIC_CRS, STORAGE_CRS
from geo_pcmt.ingest.gazetteer import normalize

#: Koper curve: stops of about 10–16 minutes deter best (DOMAIN.md §5); 15 min by default.
DWELL_MIN_DEFAULT = 15.0
KOPER_DWELL_RANGE_MIN = (10, 16)
#: Opium poppy season in Nghệ An: planted from late autumn, harvested around March.
OPIUM_SEASON_MONTHS = (12, 1, 2, 3)
#: Risk at or above which a target is "high risk" for the weekly coverage guarantee.
HIGH_RISK_MIN = 7.0

#: Risk weights on a 0–10 scale, one entry per kind of target (see docs/patrol.md).
RISK_WEIGHTS: dict[str, Any] = {
    # complex-hotspot flags: 4 for the lowest score in the run, up to 10 for the highest
    "complex_hotspot_min": 4.0, "complex_hotspot_max": 10.0,
    # Gi* hot cells by confidence level (%)
    "gistar": {99: 6.0, 95: 4.5, 90: 3.0},
    # clusters: base + per active point, capped; a cluster with no active point left
    "cluster_base": 2.0, "cluster_per_active": 0.5, "cluster_max": 7.0, "cluster_inactive": 1.0,
    # border crossings: openings and trails are where patrols matter most; gates are staffed
    "crossing": {"opening": 8.0, "trail": 7.0, "international": 5.0, "main": 4.0,
                 "secondary": 4.0},
    # standing opium plot in season: base + up to `opium_area_bonus` for 600 m² and more
    "opium_standing": 6.0, "opium_area_bonus": 3.0, "opium_area_full_m2": 600.0,
    # villages with plots in recent seasons: check for re-planting during the season
    "opium_area": 3.0, "opium_area_bonus_per_1000m2": 1.0, "opium_area_max": 5.0,
}

TARGET_KINDS_VI = {
    "complex_hotspot": "Địa bàn phức tạp", "gistar_cell": "Điểm nóng Gi*",
    "hotspot_cluster": "Cụm điểm nóng", "border_crossing": "Cửa khẩu, lối mở, đường mòn",
    "opium_plot": "Nương thuốc phiện", "opium_area": "Khu vực từng trồng thuốc phiện",
    "target": "Mục tiêu",
}
CROSSING_KINDS_VI = {"international": "Cửa khẩu quốc tế", "main": "Cửa khẩu chính",
                     "secondary": "Cửa khẩu phụ", "opening": "Lối mở", "trail": "Đường mòn"}
MODE_VI = {k: m.label_vi for k, m in travel.MODES.items()}

TARGET_COLUMNS = ["target_id", "target_kind", "name", "risk", "reason_vi", "dwell_min",
                  "tw_open_min", "tw_close_min", "revisit_min", "lao_counterpart",
                  "commune_code", "source_layer", "source_ids"]


class PatrolError(ValueError):
    """A patrol request that cannot be planned, with a reason a commander can act on."""


# --- posts ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Post:
    """Where the teams leave from and come back to (đồn biên phòng, trạm)."""

    id: str
    name: str
    lon: float
    lat: float
    unit: str = ""
    area_codes: tuple[str, ...] = ()

    @property
    def point(self) -> Point:
        return Point(self.lon, self.lat)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> "Post":
        geom = row.get("geometry")
        if geom is None or geom.is_empty:
            raise PatrolError(f"post {row.get('name')!r} has no position")
        geom = geom if geom.geom_type == "Point" else geom.representative_point()
        codes = tuple(c.strip() for c in str(row.get("area_of_responsibility") or "")
                      .replace(",", ";").split(";") if c.strip())
        unit = row.get("unit")
        return cls(str(row["id"]), str(row["name"]), float(geom.x), float(geom.y),
                   "" if unit is None or (isinstance(unit, float) and math.isnan(unit))
                   else str(unit), codes)


def find_post(posts: pd.DataFrame, query: str) -> Post:
    """The border post whose name or id matches ``query``, with or without diacritics.

    ``"Nậm Cắn"``, ``"nam can"`` and ``"Đồn BP CKQT Nậm Cắn"`` all find *Đồn BP CKQT Nậm Cắn*.
    An exact name beats a name ending in the query, which beats a name containing it.

    Raises
    ------
    PatrolError
        No post matches (the message lists the known posts) or several match equally.

    Examples
    --------
    >>> posts = gpd.GeoDataFrame({"id": ["BP-1"], "name": ["Đồn BP CKQT Nậm Cắn"]},
    ...                          geometry=[Point(104.12, 19.48)], crs="EPSG:4326")
    >>> find_post(posts, "nam can").name
    'Đồn BP CKQT Nậm Cắn'
    """
    q = normalize(query)
    if not q:
        raise PatrolError("give the post's name, e.g. --post \"Nậm Cắn\"")
    if posts is None or len(posts) == 0:
        raise PatrolError("no border posts in the store (layer border_posts is empty)")
    names = [normalize(n) for n in posts["name"]]
    ids = [str(i).strip().lower() for i in posts["id"]]
    score = []
    for name, pid in zip(names, ids):
        if pid == query.strip().lower() or name == q:
            score.append(3)
        elif name.endswith(" " + q):
            score.append(2)
        elif f" {q} " in f" {name} ":
            score.append(1)
        else:
            score.append(0)
    best = max(score)
    if best == 0:
        known = ", ".join(sorted(map(str, posts["name"])))
        raise PatrolError(f"unknown post {query!r}; known posts: {known}")
    rows = [i for i, s in enumerate(score) if s == best]
    if len(rows) > 1:
        found = ", ".join(str(posts["name"].iloc[i]) for i in rows)
        raise PatrolError(f"post {query!r} is ambiguous: {found}; give the full name")
    return Post.from_row(posts.iloc[rows[0]].to_dict())


# --- targets ----------------------------------------------------------------------------------

def _text(value: Any) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def _num(value: Any, default: float = float("nan")) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return default
    return out if math.isfinite(out) else default


def _vi_int(x: float) -> str:
    """A whole number the Vietnamese way: 1.200 (dot between thousands)."""
    return f"{x:,.0f}".replace(",", ".")


def _as_date(value: Any) -> date | None:
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)[:10]
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def season_of(day: date) -> tuple[date, date] | None:
    """The opium season (1 Dec – 31 Mar) that ``day`` falls in, or None outside the season."""
    if day.month == 12:
        return date(day.year, 12, 1), date(day.year + 1, 3, 31)
    if day.month <= 3:
        return date(day.year - 1, 12, 1), date(day.year, 3, 31)
    return None


def _latest_run(frame: pd.DataFrame | None) -> pd.DataFrame | None:
    """Rows of the most recent analysis run only (derived layers may hold several runs)."""
    if frame is None or len(frame) == 0 or "run_id" not in frame.columns:
        return frame
    if frame["run_id"].nunique() <= 1:
        return frame
    stamp = frame.get("created_at")
    if stamp is None or stamp.isna().all():
        last = frame["run_id"].iloc[-1]
    else:
        last = frame.loc[stamp.astype(str).idxmax(), "run_id"]
    return frame[frame["run_id"] == last]


def _points(frame: gpd.GeoDataFrame) -> np.ndarray:
    """A point for each feature: itself, or a point inside the polygon/line."""
    geoms = frame.geometry.values
    if frame.crs is not None and not frame.crs.equals(STORAGE_CRS):
        geoms = frame.geometry.to_crs(STORAGE_CRS).values
    out = np.asarray(geoms, dtype=object).copy()
    not_point = shapely.get_type_id(out) != 0
    out[not_point] = shapely.point_on_surface(out[not_point])
    return out


def _rows(kind: str, layer: str, frame: gpd.GeoDataFrame, ids, names, risks, reasons,
          extra: Mapping[str, Sequence] | None = None) -> gpd.GeoDataFrame:
    n = len(frame)
    data = {"target_id": [f"{kind}:{i}" for i in ids], "target_kind": [kind] * n,
            "name": list(names), "risk": np.asarray(risks, dtype=float),
            "reason_vi": list(reasons), "source_layer": [layer] * n,
            "source_ids": [str(i) for i in frame["id"]]}
    for k, v in (extra or {}).items():
        data[k] = list(v)
    data.setdefault("commune_code", [_text(c) or None for c in frame.get(
        "commune_code", pd.Series([None] * n, index=frame.index))])
    return gpd.GeoDataFrame(data, geometry=_points(frame), crs=STORAGE_CRS)


def _complex(frame, w) -> gpd.GeoDataFrame | None:
    frame = _latest_run(frame)
    if frame is None or not len(frame):
        return None
    score = frame["score"].astype(float).to_numpy()
    lo, hi = np.nanmin(score), np.nanmax(score)
    share = np.ones_like(score) if hi - lo < 1e-12 else (score - lo) / (hi - lo)
    risk = w["complex_hotspot_min"] + share * (w["complex_hotspot_max"] - w["complex_hotspot_min"])
    names = [_text(n) or f"Địa bàn phức tạp {_text(a)}".strip()
             for n, a in zip(frame.get("name", [None] * len(frame)),
                             frame.get("area_ref", [None] * len(frame)))]
    reasons = []
    for lvl, s, why in zip(frame.get("level", [None] * len(frame)), score,
                           frame.get("reasons_vi", [None] * len(frame))):
        why = _text(why).replace("\n", "; ")
        why = why[:300] + ("…" if len(why) > 300 else "")
        reasons.append(f"Cảnh báo địa bàn phức tạp (mức {_text(lvl) or '?'}, điểm {s:.1f})"
                       + (f": {why}" if why else ""))
    ids = [_text(a) or _text(i) for a, i in zip(frame.get("area_ref", frame["id"]), frame["id"])]
    return _rows("complex_hotspot", "complex_hotspots", frame, ids, names, risk, reasons)


def _gistar(frame, w) -> gpd.GeoDataFrame | None:
    frame = _latest_run(frame)
    if frame is None or not len(frame):
        return None
    cls = frame["hotspot_class"].fillna("").astype(str)
    frame = frame[cls.str.startswith("hot").to_numpy()]
    if not len(frame):
        return None
    conf = frame.get("confidence")
    levels = []
    for c, k in zip(conf if conf is not None else [None] * len(frame), frame["hotspot_class"]):
        level = int(_num(c, 0)) or int(_num(re.sub(r"\D", "", str(k)), 90) or 90)
        levels.append(level if level in w["gistar"] else 90)
    risk = [w["gistar"][lv] for lv in levels]
    zs = frame.get("z", pd.Series([np.nan] * len(frame), index=frame.index))
    reasons = [f"Điểm nóng thống kê Gi*, độ tin cậy {lv} %" + (
        f" (z = {_num(z):.1f})" if math.isfinite(_num(z)) else "") for lv, z in zip(levels, zs)]
    cells = [_text(c) or _text(i) for c, i in zip(frame.get("cell", frame["id"]), frame["id"])]
    names = [f"Ô điểm nóng Gi* {lv} %" for lv in levels]  # the commune is added later
    return _rows("gistar_cell", "gistar_cells", frame, cells, names, risk, reasons)


def _clusters(frame, w) -> gpd.GeoDataFrame | None:
    frame = _latest_run(frame)
    if frame is None or not len(frame):
        return None
    active = frame.get("n_active", pd.Series(0, index=frame.index)).fillna(0).astype(int)
    points = frame.get("n_points", pd.Series(0, index=frame.index)).fillna(0).astype(int)
    risk = np.where(active > 0, np.minimum(w["cluster_base"] + w["cluster_per_active"] * active,
                                           w["cluster_max"]), w["cluster_inactive"])
    reasons = [f"Cụm {p} điểm ma túy, {a} điểm đang hoạt động"
               for p, a in zip(points, active)]
    names = [f"Cụm điểm nóng số {_text(c)}" for c in frame.get("cluster", frame["id"])]
    return _rows("hotspot_cluster", "hotspot_clusters", frame, frame["id"], names, risk, reasons)


def _crossings(frame, w) -> gpd.GeoDataFrame | None:
    if frame is None or not len(frame):
        return None
    kinds = frame["kind"].fillna("").astype(str)
    frame = frame[kinds.isin(list(w["crossing"])).to_numpy()]
    if not len(frame):
        return None
    risk = [w["crossing"][k] for k in frame["kind"]]
    reasons = []
    for k, lao in zip(frame["kind"], frame.get("lao_counterpart", [None] * len(frame))):
        why = {"opening": "Lối mở biên giới: tuyến vận chuyển ma túy qua biên giới",
               "trail": "Đường mòn qua biên giới: tuyến vận chuyển ma túy",
               }.get(k, f"{CROSSING_KINDS_VI.get(k, k)}: kiểm soát người, phương tiện qua lại")
        reasons.append(why + (f"; phía Lào: {_text(lao)}" if _text(lao) else ""))
    lao = [_text(v) for v in frame.get("lao_counterpart", [None] * len(frame))]
    return _rows("border_crossing", "border_crossings", frame, frame["id"], frame["name"], risk,
                 reasons, {"lao_counterpart": lao})


def _opium(frame, w, plan_date: date, lookback_seasons: int) -> list[gpd.GeoDataFrame]:
    season = season_of(plan_date)
    if frame is None or not len(frame) or season is None:
        return []
    detected = [_as_date(v) for v in frame["detected_on"]]
    eradicated = [_as_date(v) for v in frame.get("eradicated_on", [None] * len(frame))]
    standing = np.array([d is not None and season[0] <= d <= plan_date
                         and (e is None or e > plan_date) for d, e in zip(detected, eradicated)])
    out = []
    if standing.any():
        f = frame[standing]
        area = f["area_m2"].astype(float).fillna(0).to_numpy()
        risk = w["opium_standing"] + w["opium_area_bonus"] * np.minimum(
            area / w["opium_area_full_m2"], 1.0)
        reasons = [f"Nương thuốc phiện chưa triệt phá ({a:.0f} m², phát hiện {d})"
                   + (f", {_text(v)}" if _text(v) else "")
                   for a, d, v in zip(area, np.array(detected, dtype=object)[standing],
                                      f.get("village", [None] * len(f)))]
        names = [f"Nương {_text(v) or _text(i)}" for v, i in
                 zip(f.get("village", f["id"]), f["id"])]
        out.append(_rows("opium_plot", "opium_plots", f, f["id"], names, risk, reasons))
    # Villages with plots in the last seasons (eradicated or harvested): growers come back,
    # so the season's patrols check them for re-planting (DOMAIN.md §4: repeated sweeps).
    earliest = date(season[0].year - lookback_seasons, 12, 1)
    past = np.array([d is not None and earliest <= d < season[0] for d in detected])
    if lookback_seasons > 0 and past.any():
        f = frame[past].copy()
        f["_village"] = [_text(v) or f"khu {_text(i)}" for v, i in
                         zip(f.get("village", f["id"]), f["id"])]
        f["_commune"] = [_text(c) for c in f.get("commune_code", [None] * len(f))]
        pts = gpd.GeoSeries(_points(f), crs=STORAGE_CRS).to_crs(METRIC_CRS)
        f["_x"], f["_y"] = pts.x.to_numpy(), pts.y.to_numpy()
        f["_area"] = f["area_m2"].astype(float).fillna(0)
        f["_season"] = [(d.year if d.month == 12 else d.year - 1)
                        for d in np.array(detected, dtype=object)[past]]
        groups = f.groupby(["_commune", "_village"], sort=True)
        rows = []
        for (commune, village), g in groups:
            total = float(g["_area"].sum())
            risk = min(w["opium_area"] + w["opium_area_bonus_per_1000m2"] * total / 1000.0,
                       w["opium_area_max"])
            seasons = sorted({f"{s}–{s + 1}" for s in g["_season"]})
            rows.append({
                "target_id": f"opium_area:{commune}:{normalize(village).replace(' ', '-')}",
                "target_kind": "opium_area", "name": f"Khu vực trồng cũ – {village}",
                "risk": risk,
                "reason_vi": (f"Kiểm tra tái trồng: {len(g)} nương ({_vi_int(total)} m²) "
                              f"đã phát hiện mùa {', '.join(seasons)}"),
                "source_layer": "opium_plots", "source_ids": ";".join(map(str, g["id"])),
                "commune_code": commune or None,
                "geometry": Point(g["_x"].mean(), g["_y"].mean()),
            })
        area_targets = gpd.GeoDataFrame(rows, geometry="geometry", crs=METRIC_CRS)
        out.append(area_targets.to_crs(STORAGE_CRS))
    return out


def collect_targets(sources: Mapping[str, pd.DataFrame | None], *, plan_date: date,
                    area: shapely.Geometry | None = None,
                    communes: gpd.GeoDataFrame | None = None,
                    weights: Mapping[str, Any] | None = None,
                    dwell_min: float = DWELL_MIN_DEFAULT, merge_within_m: float = 150.0,
                    opium_lookback_seasons: int = 2) -> gpd.GeoDataFrame:
    """Patrol targets from analysis results and records, each with a risk and a reason.

    Parameters
    ----------
    sources : mapping layer name → frame
        Any of ``complex_hotspots``, ``gistar_cells`` (only ``hot…`` classes are used),
        ``hotspot_clusters``, ``border_crossings``, ``opium_plots`` (EPSG:4326 frames as the
        store returns them). Missing or empty layers are skipped. Derived layers holding
        several runs contribute their latest run.
    plan_date : date
        Decides the opium season (1 Dec – 31 Mar): standing plots (detected this season, not
        eradicated by ``plan_date``) and villages with plots in the last
        ``opium_lookback_seasons`` seasons (re-planting checks). Out of season: no opium target.
    area : shapely geometry (EPSG:4326), optional
        Keep only targets inside it (the post's area of responsibility).
    communes : GeoDataFrame, optional
        Commune polygons (``code``, ``name``): each target gets the ``commune_code`` it lies
        in, and grid cells and clusters, which have no name of their own, are named after it.
    weights : mapping, optional
        Overrides of :data:`RISK_WEIGHTS`.
    dwell_min : float
        Dwell at each target (Koper curve, 15 min).
    merge_within_m : float
        Targets closer than this become one stop: risks add up, reasons are joined.

    Returns
    -------
    GeoDataFrame (EPSG:4326 points) with :data:`TARGET_COLUMNS`, highest risk first.

    Examples
    --------
    >>> crossings = gpd.GeoDataFrame({"id": ["BC-1"], "kind": ["trail"], "name": ["Đường mòn 01"]},
    ...                              geometry=[Point(104.1, 19.4)], crs="EPSG:4326")
    >>> t = collect_targets({"border_crossings": crossings}, plan_date=date(2026, 7, 1))
    >>> t[["target_id", "risk"]].values.tolist()
    [['border_crossing:BC-1', 7.0]]
    """
    w = {**RISK_WEIGHTS, **dict(weights or {})}
    if not dwell_min > 0:
        raise PatrolError(f"dwell must be > 0 minutes, got {dwell_min!r}")
    parts: list[gpd.GeoDataFrame | None] = [
        _complex(sources.get("complex_hotspots"), w),
        _gistar(sources.get("gistar_cells"), w),
        _clusters(sources.get("hotspot_clusters"), w),
        _crossings(sources.get("border_crossings"), w),
        *_opium(sources.get("opium_plots"), w, plan_date, opium_lookback_seasons),
    ]
    parts = [p for p in parts if p is not None and len(p)]
    if not parts:
        return _empty_targets()
    out = pd.concat(parts, ignore_index=True)
    out = gpd.GeoDataFrame(out, geometry="geometry", crs=STORAGE_CRS)
    out = out[~out.geometry.isna() & ~out.geometry.is_empty].reset_index(drop=True)
    if area is not None:
        out = out[shapely.covers(area, out.geometry.values)].reset_index(drop=True)
    out["dwell_min"] = float(dwell_min)
    for col in TARGET_COLUMNS:
        if col not in out.columns:
            out[col] = np.nan if col.endswith("_min") else None
    if communes is not None and len(communes):
        out = _label_communes(out, communes)
    out = _merge_close(out, merge_within_m)
    out = out.sort_values(["risk", "target_id"], ascending=[False, True]).reset_index(drop=True)
    return out[TARGET_COLUMNS + ["geometry"]]


def _label_communes(targets: gpd.GeoDataFrame, communes: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    polys = communes[["code", "name", "geometry"]].to_crs(STORAGE_CRS)
    hit = gpd.sjoin(targets[["geometry"]], polys, how="left", predicate="within")
    hit = hit[~hit.index.duplicated(keep="first")]
    out = targets.copy()
    code = hit["code"].reindex(out.index)
    name = hit["name"].reindex(out.index)
    missing = out["commune_code"].isna() | (out["commune_code"].astype(str) == "")
    out.loc[missing, "commune_code"] = code[missing]
    unnamed = out["target_kind"].isin(["gistar_cell", "hotspot_cluster"]) & name.notna()
    out.loc[unnamed, "name"] = out.loc[unnamed, "name"] + " – " + name[unnamed].astype(str)
    return out


def _empty_targets() -> gpd.GeoDataFrame:
    data = {c: pd.Series([], dtype=float if c in ("risk", "dwell_min", "tw_open_min",
                                                   "tw_close_min", "revisit_min") else object)
            for c in TARGET_COLUMNS}
    return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries([], crs=STORAGE_CRS), crs=STORAGE_CRS)


def _merge_close(targets: gpd.GeoDataFrame, within_m: float) -> gpd.GeoDataFrame:
    """One stop for targets closer than ``within_m``: the riskiest names it, risks add up."""
    if within_m <= 0 or len(targets) < 2:
        return targets
    pts = targets.geometry.to_crs(METRIC_CRS).values
    tree = shapely.STRtree(pts)
    left, right = tree.query(pts, predicate="dwithin", distance=within_m)
    parent = list(range(len(targets)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in zip(left, right):
        ra, rb = root(int(a)), root(int(b))
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups = np.array([root(i) for i in range(len(targets))])
    if len(np.unique(groups)) == len(targets):
        return targets
    rows = []
    for g in np.unique(groups):
        members = targets[groups == g].sort_values("risk", ascending=False)
        head = members.iloc[0].to_dict()
        if len(members) > 1:
            head["risk"] = float(members["risk"].sum())
            head["reason_vi"] = "; ".join(dict.fromkeys(members["reason_vi"].astype(str)))
            head["source_ids"] = ";".join(members["source_ids"].astype(str))
            lao = [v for v in members["lao_counterpart"] if _text(v)]
            head["lao_counterpart"] = lao[0] if lao else head.get("lao_counterpart")
        rows.append(head)
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=STORAGE_CRS)


TARGET_SOURCE_LAYERS = ("complex_hotspots", "gistar_cells", "hotspot_clusters",
                        "border_crossings", "opium_plots")


def post_area(post: Post, communes: gpd.GeoDataFrame | None, *, radius_km: float | None = None,
              aor_buffer_m: float = 2000.0) -> shapely.Geometry:
    """The area a post patrols: its communes of responsibility (buffered, so trails and
    openings on the border line count) or, without them or when ``radius_km`` is given, a
    circle of ``radius_km`` (25 km by default) around the post. EPSG:4326."""
    metric_post = gpd.GeoSeries([post.point], crs=STORAGE_CRS).to_crs(METRIC_CRS).iloc[0]
    if radius_km is None and post.area_codes and communes is not None and len(communes):
        aor = communes[communes["code"].astype(str).isin(post.area_codes)]
        if len(aor):
            shape = aor.to_crs(METRIC_CRS).geometry.union_all().buffer(aor_buffer_m)
            return gpd.GeoSeries([shape], crs=METRIC_CRS).to_crs(STORAGE_CRS).iloc[0]
    if radius_km is not None and not radius_km > 0:
        raise PatrolError(f"radius must be > 0 km, got {radius_km!r}")
    circle = metric_post.buffer((radius_km or 25.0) * 1000.0, 64)
    return gpd.GeoSeries([circle], crs=METRIC_CRS).to_crs(STORAGE_CRS).iloc[0]


def targets_from_store(store, post: Post, *, plan_date: date, radius_km: float | None = None,
                       weights: Mapping[str, Any] | None = None,
                       dwell_min: float = DWELL_MIN_DEFAULT
                       ) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Read the target layers around ``post`` and build its targets; also returns the communes
    (for terrain detours). Layers the store does not have are skipped."""
    communes = store.read("communes")
    area = post_area(post, communes, radius_km=radius_km)
    bbox = tuple(area.bounds)
    sources = {}
    for name in TARGET_SOURCE_LAYERS:
        try:
            sources[name] = store.read(name, bbox=bbox)
        except KeyError:  # a derived layer whose module is not installed
            sources[name] = None
    crossings = sources.get("border_crossings")
    if radius_km is None and crossings is not None and len(crossings) \
            and "border_post" in crossings.columns:
        # a crossing assigned to a neighbouring post is that post's to patrol
        own = [not _text(b) or normalize(b) == normalize(post.name)
               for b in crossings["border_post"]]
        sources["border_crossings"] = crossings[np.asarray(own, dtype=bool)]
    targets = collect_targets(sources, plan_date=plan_date, area=area, communes=communes,
                              weights=weights, dwell_min=dwell_min)
    return targets, communes


# --- randomisation ----------------------------------------------------------------------------

def week_start(day: date) -> date:
    """Monday of the ISO week of ``day``."""
    return day - timedelta(days=day.weekday())


def weekly_assignment(targets: pd.DataFrame, *, week_of: date, seed: int,
                      visits_per_week: int = 2,
                      high_risk_min: float = HIGH_RISK_MIN) -> dict[str, tuple[date, ...]]:
    """Days of the week on which each high-risk target *must* be visited.

    Each target with ``risk ≥ high_risk_min`` gets ``visits_per_week`` distinct days, drawn at
    random but balanced so that no day carries more than ⌈k·H/7⌉ of the H high-risk targets.
    The draw depends only on ``seed`` and the ISO week, so every day of a week sees the same
    assignment.
    """
    if int(visits_per_week) != visits_per_week or not 0 <= visits_per_week <= 7:
        raise PatrolError(f"visits per week must be a whole number 0–7, got {visits_per_week!r}")
    monday = week_start(week_of)
    iso = monday.isocalendar()
    rng = np.random.default_rng([int(seed), iso.year, iso.week, 7])
    high = targets[targets["risk"].astype(float) >= high_risk_min]
    ids = sorted(map(str, high["target_id"]))
    load = np.zeros(7)
    out: dict[str, tuple[date, ...]] = {}
    for i in rng.permutation(len(ids)):
        order = np.lexsort((rng.random(7), load))  # least loaded days first, ties at random
        days = sorted(order[:int(visits_per_week)])
        load[days] += 1
        out[ids[i]] = tuple(monday + timedelta(days=int(d)) for d in days)
    return out


def inclusion_probabilities(risk: np.ndarray, expected: float) -> np.ndarray:
    """Probabilities proportional to ``risk``, capped at 1, summing to ``expected``.

    Examples
    --------
    >>> inclusion_probabilities(np.array([8.0, 2.0, 1.0, 1.0]), 2).round(3).tolist()
    [1.0, 0.5, 0.25, 0.25]
    """
    risk = np.clip(np.asarray(risk, dtype=float), 0, None)
    p = np.zeros_like(risk)
    free = risk > 0
    expected = min(float(expected), float(free.sum()))
    capped = 0
    while free.any() and expected - capped > 0:
        c = (expected - capped) / risk[free].sum()
        p[free] = c * risk[free]
        over = free & (p >= 1)
        if not over.any():
            break
        p[over] = 1.0
        capped += int(over.sum())
        free &= ~over
    return p


@dataclass
class DailyDraw:
    """The day's candidates in a randomised plan.

    ``forced`` targets carry the weekly guarantee today; ``drawn`` ones came from the
    risk-proportional draw with probability ``inclusion_p``; ``dwell_min`` is the day's
    random Koper dwell for each target.
    """

    forced: np.ndarray
    drawn: np.ndarray
    inclusion_p: np.ndarray
    dwell_min: np.ndarray
    assignment: dict[str, tuple[date, ...]]

    @property
    def candidates(self) -> np.ndarray:
        return self.forced | self.drawn


def daily_draw(targets: pd.DataFrame, *, plan_date: date, seed: int, visits_per_week: int = 2,
               high_risk_min: float = HIGH_RISK_MIN, draw_share: float = 0.6,
               visits_so_far: Mapping[str, int] | None = None,
               dwell_range_min: tuple[int, int] = KOPER_DWELL_RANGE_MIN) -> DailyDraw:
    """Draw the day's candidate targets (seeded by ``seed`` and the date).

    A high-risk target is *forced* today when the weekly assignment gives it more days up to
    today than it has had visits this week (``visits_so_far``; without it, only today's
    assigned targets are forced). Every other target enters with probability proportional to
    its risk, scaled so that about ``draw_share`` of them are drawn. Dwell times are drawn
    uniformly from the Koper range (10–16 min) unless a target sets its own.
    """
    if not 0 < draw_share <= 1:
        raise PatrolError(f"draw share must be in (0, 1], got {draw_share!r}")
    ids = targets["target_id"].astype(str).to_numpy()
    risk = targets["risk"].astype(float).to_numpy()
    assignment = weekly_assignment(targets, week_of=plan_date, seed=seed,
                                   visits_per_week=visits_per_week, high_risk_min=high_risk_min)
    forced = np.zeros(len(ids), dtype=bool)
    for n, tid in enumerate(ids):
        days = assignment.get(tid, ())
        if visits_so_far is None:
            forced[n] = plan_date in days
        else:
            due = sum(1 for d in days if d <= plan_date)
            forced[n] = due > int(visits_so_far.get(tid, 0))
    rng = np.random.default_rng([int(seed), plan_date.toordinal(), 1])
    p = np.zeros(len(ids))
    free = ~forced
    p[free] = inclusion_probabilities(risk[free], max(1.0, draw_share * free.sum()))
    drawn = free & (rng.random(len(ids)) < p)
    if not (forced | drawn).any() and (risk > 0).any():
        drawn[rng.choice(len(ids), p=risk / risk.sum())] = True
    lo, hi = dwell_range_min
    dwell = rng.integers(int(lo), int(hi) + 1, size=len(ids)).astype(float)
    if "dwell_min" in targets.columns:
        own = pd.to_numeric(targets["dwell_min"], errors="coerce").to_numpy(dtype=float)
        # a dwell a unit set itself is kept; the default 15 min is replaced by the random one
        keep = np.isfinite(own) & (own != DWELL_MIN_DEFAULT)
        dwell[keep] = own[keep]
    return DailyDraw(forced, drawn, p, dwell, assignment)


# --- the plan ---------------------------------------------------------------------------------

@dataclass
class PatrolPlan:
    """A patrol plan: ``stops`` (EPSG:4326 points, one per visit, in team order), ``routes``
    (one line per team), the ``post``, a ``report`` (JSON-able) and the ``params`` it was
    made with. ``targets`` are the targets (risk > 0) with flags ``reachable``, ``candidate``
    (in today's draw), ``forced``, ``visited`` and the draw's ``inclusion_p``."""

    post: Post
    stops: gpd.GeoDataFrame
    routes: gpd.GeoDataFrame
    report: dict
    params: dict
    targets: gpd.GeoDataFrame | None = None
    plan_id: str | None = None
    created_by: str | None = None

    @property
    def risk_covered(self) -> float:
        return float(self.report.get("risk_covered", 0.0))


def _parse_clock(text: str) -> int:
    m = re.fullmatch(r"\s*(\d{1,2})[:hg](\d{2})\s*", str(text))
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise PatrolError(f"start time must look like 07:30, got {text!r}")
    return int(m.group(1)) * 60 + int(m.group(2))


def clock(start_time: str, minutes: float) -> str:
    """``start_time`` plus ``minutes`` as HH:MM (24 h; ``+1`` marks the next day).

    Examples
    --------
    >>> clock("07:30", 95.4)
    '09:05'
    """
    total = _parse_clock(start_time) + int(round(minutes))
    day, rest = divmod(total, 24 * 60)
    return f"{rest // 60:02d}:{rest % 60:02d}" + (f" (+{day})" if day else "")


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
        if not (math.isfinite(_num(r)) and _num(r) >= 0):
            raise PatrolError(f"targets row {i} ({tid}), field 'risk': {r!r} is not a number ≥ 0")
    geom_types = targets.geometry.geom_type
    for i, (tid, t) in enumerate(zip(ids, geom_types)):
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
        From :func:`collect_targets` (or built by hand): ``target_id``, ``risk`` and optionally
        ``name``, ``target_kind``, ``reason_vi``, ``dwell_min``, ``tw_open_min`` /
        ``tw_close_min`` (window for the start of the dwell, minutes after departure),
        ``revisit_min`` (come back at least this long after the first visit),
        ``lao_counterpart``.
    post : Post
        Start and end of every team (:func:`find_post`).
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
        terrain of ``communes`` (:func:`geo_pcmt.travel.detour_factors`).
    network : travel.Network, optional
        Road/trail network for shortest paths.
    method, time_limit_s :
        Solver (``auto`` = OR-Tools with greedy fallback) and its time limit in seconds.
    randomise, seed, visits_per_week, high_risk_min, draw_share, visits_so_far :
        Risk-proportional daily draw with a weekly coverage guarantee (:func:`daily_draw`).
        Without a ``seed`` one is drawn and recorded in the plan.
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
    if budget_min is None or not (isinstance(budget_min, (int, float))
                                  and math.isfinite(budget_min)) or budget_min <= 0:
        raise PatrolError(f"the time budget must be more than 0 hours, got {budget_min!r} min")
    if int(n_teams) != n_teams or n_teams < 1:
        raise PatrolError(f"teams must be a whole number ≥ 1, got {n_teams!r}")
    try:
        mode_obj = travel.get_mode(mode)
    except travel.TravelError as exc:
        raise PatrolError(str(exc)) from None
    _parse_clock(start_time)
    day = _as_date(plan_date) if plan_date is not None else date.today()
    if day is None:
        raise PatrolError(f"plan date must be YYYY-MM-DD, got {plan_date!r}")
    if dwell_min is not None and not dwell_min > 0:
        raise PatrolError(f"dwell must be > 0 minutes, got {dwell_min!r}")
    _check_targets(targets)
    targets = targets.to_crs(STORAGE_CRS).reset_index(drop=True)
    if not len(targets):
        raise PatrolError(f"no targets around {post.name}: nothing to patrol (run the hotspot "
                          "analysis, or widen the area with a radius)")
    dwell = (pd.to_numeric(targets["dwell_min"], errors="coerce").fillna(DWELL_MIN_DEFAULT)
             .to_numpy(dtype=float, copy=True) if "dwell_min" in targets.columns
             else np.full(len(targets), DWELL_MIN_DEFAULT))
    if dwell_min is not None:
        dwell[:] = float(dwell_min)
    risk = targets["risk"].astype(float).to_numpy()
    t_open = (pd.to_numeric(targets["tw_open_min"], errors="coerce").to_numpy(dtype=float)
              if "tw_open_min" in targets.columns else np.full(len(targets), np.nan))
    t_close = (pd.to_numeric(targets["tw_close_min"], errors="coerce").to_numpy(dtype=float)
               if "tw_close_min" in targets.columns else np.full(len(targets), np.nan))

    # Travel between the post (point 0) and every target (point i + 1).
    pts = gpd.GeoSeries([post.point] + list(targets.geometry.values), crs=STORAGE_CRS)
    if detour is None:
        factors = travel.detour_factors(pts, communes)
    else:
        factors = np.broadcast_to(np.asarray(detour, dtype=float), (len(pts),))
    try:
        tm = travel.travel_matrix(pts, mode=mode_obj, detour=factors, network=network)
    except travel.TravelError as exc:
        raise PatrolError(str(exc)) from None

    # Which targets can be reached at all (there, dwell, back) within the budget? Only these
    # enter the day's draw and the weekly guarantee; the rest are reported as out of range.
    out_ = tm.minutes[0, 1:]
    back = tm.minutes[1:, 0]
    arrive = np.maximum(out_, np.nan_to_num(t_open, nan=0.0))
    reach = (np.isfinite(out_) & np.isfinite(back) & (risk > 0)
             & (np.isnan(t_close) | (arrive <= t_close))
             & (arrive + dwell + back <= budget_min))
    if not reach.any():
        how = MODE_VI[mode_obj.name].lower()
        positive = np.flatnonzero(risk > 0)
        if not len(positive):
            raise PatrolError(f"no target with a risk above 0 around {post.name}")
        need = out_ + dwell + back
        near = int(positive[np.argmin(need[positive])])
        if not math.isfinite(need[near]):
            raise PatrolError(f"no target can be reached from {post.name} ({how}): none is "
                              "connected to the post on the network")
        name = _text(targets["name"].iloc[near]) if "name" in targets.columns else ""
        raise PatrolError(
            f"no target can be reached from {post.name} and back within {budget_min / 60:g} h "
            f"({how}): the nearest, {name or targets['target_id'].iloc[near]}, is "
            f"{tm.distance_m[0, near + 1] / 1000:.1f} km away on the ground and needs "
            f"{need[near] / 60:.1f} h (there, {dwell[near]:g} min on site, and back)")

    forced = np.zeros(len(targets), dtype=bool)
    inclusion = np.where(reach, 1.0, 0.0)
    notes: list[str] = []
    if randomise:
        if seed is None:
            seed = secrets.randbelow(2**31)
        reach_idx = np.flatnonzero(reach)
        draw = daily_draw(targets.iloc[reach_idx], plan_date=day, seed=int(seed),
                          visits_per_week=visits_per_week, high_risk_min=high_risk_min,
                          draw_share=draw_share, visits_so_far=visits_so_far)
        if dwell_min is None:
            dwell[reach_idx] = draw.dwell_min
        keep = np.zeros(len(targets), dtype=bool)
        keep[reach_idx] = draw.candidates
        forced[reach_idx] = draw.forced
        inclusion[reach_idx] = np.where(draw.forced, 1.0, draw.inclusion_p)
    else:
        keep = reach
    cand_idx = np.flatnonzero(keep)

    # Nodes: 0 = post, 1..m = candidates, then revisit copies of candidates that ask for one.
    cand = targets.iloc[cand_idx].reset_index(drop=True)
    m = len(cand)
    revisit = (pd.to_numeric(cand["revisit_min"], errors="coerce").to_numpy(dtype=float)
               if "revisit_min" in cand.columns else np.full(m, np.nan))
    copies = [i for i in range(m) if math.isfinite(revisit[i]) and revisit[i] > 0]
    point_of = np.concatenate([[0], cand_idx + 1, cand_idx[np.array(copies, dtype=int)] + 1])
    n = len(point_of)
    minutes = tm.minutes[np.ix_(point_of, point_of)]
    prize = np.zeros(n)
    prize[1:m + 1] = risk[cand_idx]
    boost = 100.0 * max(float(prize.max()), 1.0)
    c_forced = forced[cand_idx]
    prize[1:m + 1] += np.where(c_forced, boost, 0.0)  # the weekly guarantee comes first
    service = np.zeros(n)
    service[1:m + 1] = dwell[cand_idx]
    opens = np.full(n, np.nan)
    closes = np.full(n, np.nan)
    opens[1:m + 1] = t_open[cand_idx]
    closes[1:m + 1] = t_close[cand_idx]
    rev_of = np.full(n, -1, dtype=int)
    gap = np.zeros(n)
    for k, i in enumerate(copies):
        node = m + 1 + k
        rev_of[node] = i + 1
        gap[node] = revisit[i]
        prize[node] = float(risk[cand_idx[i]]) * revisit_prize_share
        service[node] = dwell[cand_idx[i]]
        closes[node] = closes[i + 1]
    problem = routing.RoutingProblem(minutes, prize, service, float(budget_min), int(n_teams),
                                     opens, closes, rev_of, gap)
    try:
        sol = routing.solve(problem, method=method, time_limit_s=time_limit_s)
    except routing.RoutingError as exc:
        raise PatrolError(str(exc)) from None
    notes += sol.notes

    # --- frames ---
    stop_rows, route_rows = [], []
    for t, (route, starts, back) in enumerate(zip(sol.routes, sol.arrive_min, sol.return_min)):
        prev, depart_prev = 0, 0.0
        legs, dist_total, travel_total, dwell_total, wait_total, risk_team = [], 0.0, 0.0, 0.0, 0.0, 0.0
        for seq, (k, start) in enumerate(zip(route, starts), 1):
            i = int(point_of[k]) - 1
            leg_min = float(minutes[prev, k])
            leg_m = float(tm.distance_m[point_of[prev], point_of[k]])
            wait = max(0.0, start - depart_prev - leg_min)
            is_copy = rev_of[k] >= 0
            r = float(risk[i]) * (revisit_prize_share if is_copy else 1.0)
            row = targets.iloc[i]
            stop_rows.append({
                "team": t + 1, "seq": seq, "target_id": str(row["target_id"]),
                "target_kind": _text(row.get("target_kind")) or "target",
                "name": _text(row.get("name")) or str(row["target_id"]),
                "arrive_min": round(start, 1), "depart_min": round(start + service[k], 1),
                "arrive_at": clock(start_time, round(start, 1)),
                "depart_at": clock(start_time, round(start + service[k], 1)),
                "dwell_min": float(service[k]), "travel_min": round(leg_min, 1),
                "wait_min": round(wait, 1), "distance_m": round(leg_m, 0), "risk": round(r, 3),
                "reason_vi": (_text(row.get("reason_vi")) or "")
                + (" — quay lại lần 2" if is_copy else ""),
                "lao_counterpart": _text(row.get("lao_counterpart")) or None,
                "forced": bool(forced[i]) and not is_copy, "revisit": bool(is_copy),
                "inclusion_p": round(float(inclusion[i]), 3),
                "geometry": row.geometry,
            })
            legs.append(tm.leg(int(point_of[prev]), int(point_of[k])))
            dist_total += leg_m
            travel_total += leg_min
            dwell_total += service[k]
            wait_total += wait
            risk_team += r
            prev, depart_prev = k, start + service[k]
        if route:
            legs.append(tm.leg(int(point_of[prev]), 0))
            dist_total += float(tm.distance_m[point_of[prev], 0])
            travel_total += float(minutes[prev, 0])
            coords = []
            for leg in legs:
                c = list(leg.coords)
                coords.extend(c if not coords else c[1:])
            line = LineString(coords) if len(coords) > 1 else None
        else:
            line, back = None, 0.0
        route_rows.append({
            "team": t + 1, "n_stops": len(route), "distance_km": round(dist_total / 1000, 2),
            "travel_min": round(travel_total, 1), "dwell_min": round(dwell_total, 1),
            "wait_min": round(wait_total, 1), "duration_min": round(back, 1),
            "return_at": clock(start_time, back) if route else None,
            "risk": round(risk_team, 3), "geometry": line,
        })
    stops = gpd.GeoDataFrame(stop_rows, geometry="geometry", crs=STORAGE_CRS) if stop_rows else \
        gpd.GeoDataFrame({c: [] for c in ("team", "seq", "target_id", "arrive_min")},
                         geometry=gpd.GeoSeries([], crs=STORAGE_CRS), crs=STORAGE_CRS)
    routes_m = gpd.GeoDataFrame(route_rows, geometry="geometry", crs=METRIC_CRS)
    routes = routes_m.to_crs(STORAGE_CRS)

    visited = np.zeros(len(targets), dtype=bool)
    for k in sol.visited:
        visited[int(point_of[k]) - 1] = True
    cands = targets.copy()
    cands["candidate"] = keep
    cands["visited"] = visited
    cands["forced"] = forced
    cands["inclusion_p"] = inclusion
    cands["reachable"] = reach
    cands = cands[risk > 0]
    risk_covered = float(sum(r["risk"] for r in stop_rows))
    risk_targets = float(risk.sum())
    missed_forced = [str(t) for t, f, v in zip(cands["target_id"], cands["forced"],
                                               cands["visited"]) if f and not v]
    warnings = []
    if missed_forced:
        warnings.append(f"{len(missed_forced)} mục tiêu bắt buộc trong tuần chưa được bố trí "
                        f"(không đủ thời gian): {', '.join(missed_forced[:5])}")
    unreachable = int((~cands["reachable"]).sum())
    if unreachable:
        warnings.append(f"{unreachable} mục tiêu ngoài tầm: không thể đến và quay về trong "
                        f"{budget_min / 60:g} giờ (không tính vào lịch bắt buộc trong tuần)")
    dropped = cands[~cands["visited"]].sort_values("risk", ascending=False).head(10)
    report = {
        "post": {"id": post.id, "name": post.name, "unit": post.unit,
                 "lon": round(post.lon, 6), "lat": round(post.lat, 6)},
        "plan_date": day.isoformat(), "start_time": start_time, "mode": mode_obj.name,
        "mode_vi": MODE_VI[mode_obj.name], "speed_kmh": mode_obj.speed_kmh,
        "budget_min": float(budget_min), "hours": round(float(budget_min) / 60, 3),
        "n_teams": int(n_teams), "n_targets": int(len(targets)), "n_candidates": int(m),
        "n_stops": len(stop_rows), "risk_total": round(risk_targets, 3),
        "risk_candidates": round(float(risk[cand_idx].sum()), 3),
        "risk_covered": round(risk_covered, 3),
        "share_covered": round(risk_covered / risk_targets, 4) if risk_targets else 0.0,
        "distance_km": round(sum(r["distance_km"] for r in route_rows), 2),
        "teams": [{k: v for k, v in r.items() if k != "geometry"} for r in route_rows],
        "method": sol.method, "status": sol.status, "solve_s": round(sol.solve_s, 2),
        "network": network.source if network is not None else None,
        "randomised": bool(randomise), "seed": int(seed) if seed is not None else None,
        "visits_per_week": int(visits_per_week) if randomise else None,
        "high_risk_min": float(high_risk_min),
        "forced": [str(t) for t in cands.loc[cands["forced"], "target_id"]],
        "forced_missed": missed_forced,
        "dropped": [{"target_id": str(r.target_id), "name": _text(getattr(r, "name", "")),
                     "risk": round(float(r.risk), 3), "reachable": bool(r.reachable)}
                    for r in dropped.itertuples()],
        "crossings": _crossing_notes(stops),
        "notes": notes, "warnings": warnings,
    }
    params = {"budget_min": float(budget_min), "n_teams": int(n_teams), "mode": mode_obj.name,
              "plan_date": day.isoformat(), "start_time": start_time, "dwell_min": dwell_min,
              "method": method, "time_limit_s": time_limit_s, "randomise": bool(randomise),
              "seed": report["seed"], "visits_per_week": int(visits_per_week),
              "high_risk_min": float(high_risk_min), "draw_share": float(draw_share),
              "revisit_prize_share": float(revisit_prize_share),
              "detour": None if detour is None else np.asarray(detour, dtype=float).tolist()}
    return PatrolPlan(post, stops, routes, report, params, cands)


def _crossing_notes(stops: gpd.GeoDataFrame) -> list[dict]:
    """Crossings on the plan whose Lao counterpart should hear of it (Plan 180/KH-UBND asks
    border posts to coordinate with Lao forces)."""
    out = []
    if not len(stops) or "lao_counterpart" not in stops.columns:
        return out
    for r in stops.itertuples():
        if r.target_kind == "border_crossing" and not r.revisit:
            out.append({"team": int(r.team), "name": _text(r.name), "arrive_at": r.arrive_at,
                        "lao_counterpart": _text(r.lao_counterpart) or None})
    return out


# --- a week of randomised plans ---------------------------------------------------------------

@dataclass
class WeekPlan:
    """Seven daily plans and the coverage of each high-risk target against the guarantee."""

    days: list[PatrolPlan]
    coverage: pd.DataFrame

    @property
    def guarantee_met(self) -> bool:
        return bool(self.coverage["met"].all()) if len(self.coverage) else True


def plan_week(targets: gpd.GeoDataFrame, post: Post, *, week_of: date, seed: int,
              visits_per_week: int = 2, high_risk_min: float = HIGH_RISK_MIN,
              **plan_kwargs) -> WeekPlan:
    """Plan the seven days of ``week_of``'s ISO week with the randomised mode.

    Each day is planned with the visits of the days before it, so a high-risk target missed
    on its day is owed and forced again the next day. ``coverage`` lists every high-risk
    target with its required and planned visits; a target that cannot be reached and left
    within one day's budget is listed with ``reachable`` False and nothing required.
    """
    monday = week_start(week_of)
    visits: Counter[str] = Counter()
    days = []
    for d in range(7):
        day = monday + timedelta(days=d)
        p = plan(targets, post, plan_date=day, randomise=True, seed=seed,
                 visits_per_week=visits_per_week, high_risk_min=high_risk_min,
                 visits_so_far=dict(visits), **plan_kwargs)
        for tid in set(p.stops["target_id"]) if len(p.stops) else ():
            visits[str(tid)] += 1
        days.append(p)
    flags = days[0].targets
    reachable = dict(zip(flags["target_id"].astype(str), flags["reachable"]))
    high = targets[targets["risk"].astype(float) >= high_risk_min]
    ids = high["target_id"].astype(str).to_numpy()
    can = np.array([bool(reachable.get(t, False)) for t in ids], dtype=bool)
    coverage = pd.DataFrame({
        "target_id": ids,
        "name": high["name"].to_numpy() if "name" in high.columns else ids,
        "risk": high["risk"].astype(float).to_numpy(),
        "reachable": can,
        # out of range within a day's budget: no guarantee can be given, and none is claimed
        "required": np.where(can, int(visits_per_week), 0),
        "visits": [visits[t] for t in ids],
    })
    coverage["met"] = coverage["visits"] >= coverage["required"]
    return WeekPlan(days, coverage)


# --- GeoJSON ----------------------------------------------------------------------------------

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


# --- storage ----------------------------------------------------------------------------------

PLAN_SOURCE = "geo_pcmt.patrol"


def new_plan_id(post: Post, plan_date: date | str) -> str:
    """A fresh plan id: ``PT-<yyyymmdd>-<post id>-<random>``."""
    day = _as_date(plan_date) or date.today()
    slug = re.sub(r"[^A-Za-z0-9]+", "", post.id)[:12] or "post"
    return f"PT-{day:%Y%m%d}-{slug}-{uuid.uuid4().hex[:6]}"


def plan_records(p: PatrolPlan, *, plan_id: str, created_by: str
                 ) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    """The ``patrol_plans`` row and the ``patrol_stops`` rows of a plan."""
    from geo_pcmt.outputs.export import _clean, rfc7946_geometries
    routes = p.routes[~p.routes.geometry.isna()]
    route_fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": f"route:{int(r['team'])}", "geometry": json.loads(g),
         "properties": {k: _clean(v) for k, v in r.items() if k != "geometry"}}
        for r, g in zip(routes.to_dict("records"), rfc7946_geometries(routes.geometry.values))]}
    rep = p.report
    plans = pd.DataFrame([{
        "id": plan_id, "source": PLAN_SOURCE, "confidentiality": "restricted",
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
        stops["confidentiality"] = "restricted"
    else:
        stops = gpd.GeoDataFrame({"id": [], "plan_id": []},
                                 geometry=gpd.GeoSeries([], crs=STORAGE_CRS), crs=STORAGE_CRS)
    return plans, gpd.GeoDataFrame(stops, geometry="geometry", crs=STORAGE_CRS)


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
    store.audit(user, "patrol:plan", "patrol_plans", [plan_id],
                {"post": p.post.name, "plan_date": p.report["plan_date"],
                 "teams": p.report["n_teams"], "mode": p.report["mode"],
                 "seed": p.report["seed"], "randomised": p.report["randomised"],
                 "risk_covered": p.report["risk_covered"], "stops": p.report["n_stops"]})
    p.plan_id, p.created_by = plan_id, user
    return plan_id


def load_plan(store, plan_id: str) -> PatrolPlan:
    """A stored plan (stops, routes, report) by id; ``PatrolError`` if there is none."""
    rows = store.read("patrol_plans", where={"id": str(plan_id)})
    if not len(rows):
        raise PatrolError(f"no patrol plan with id {plan_id!r}")
    row = rows.iloc[0]
    report = json.loads(row["summary"] or "{}")
    params = json.loads(row["params"] or "{}")
    stops = store.read("patrol_stops", where={"plan_id": str(plan_id)})
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
                _text(row["unit"]))
    return PatrolPlan(post, stops, routes, report, params, None, str(plan_id),
                      _text(row["created_by"]))


def list_plans(store, *, post: str | None = None, limit: int = 50) -> pd.DataFrame:
    """Stored plans, newest first (no stops), optionally of one post (id or name)."""
    cols = ["post", "post_id", "unit", "plan_date", "start_time", "teams", "mode", "hours",
            "seed", "randomised", "method", "created_by", "risk_covered", "risk_total",
            "n_stops", "created_at"]
    frame = store.read("patrol_plans", columns=cols)
    if post is not None and len(frame):
        frame = frame[(frame["post_id"] == post) | (frame["post"] == post)]
    return frame.sort_values(["plan_date", "created_at"], ascending=False).head(limit)


def visits_this_week(store, post: Post, plan_date: date) -> dict[str, int]:
    """Days on which each target was visited by stored plans of ``post`` earlier this week.

    Only the latest plan of each day counts (a re-planned day replaces the first plan).
    """
    monday = week_start(plan_date)
    if plan_date == monday:
        return {}
    plans = store.read("patrol_plans", columns=["post_id", "plan_date", "created_at"],
                       where={"post_id": post.id,
                              "plan_date": slice(monday.isoformat(),
                                                 (plan_date - timedelta(days=1)).isoformat())})
    if not len(plans):
        return {}
    latest = plans.sort_values("created_at", kind="stable").groupby("plan_date").tail(1)
    stops = store.read("patrol_stops", columns=["plan_id", "target_id", "revisit"],
                       where={"plan_id": list(latest["id"])})
    counts: Counter[str] = Counter()
    for _, g in stops.groupby("plan_id"):
        for tid in set(g["target_id"].astype(str)):
            counts[tid] += 1
    return dict(counts)


# --- planned vs. done -------------------------------------------------------------------------

def compare_track(p: PatrolPlan, track: Sequence[tuple[float, float, Any]], *,
                  team: int | None = None, visit_radius_m: float = 100.0) -> dict:
    """Compare a recorded GPS track with the plan: which stops were visited, effort spent.

    Parameters
    ----------
    p : PatrolPlan
    track : sequence of (lon, lat, time or None)
        The recorded points in order (e.g. every segment of :func:`geo_pcmt.gpx.read_gpx`'s
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
    line = shapely.LineString(xy)
    out_stops = []
    if len(stops):
        stops_m = stops.to_crs(METRIC_CRS)
        for row, g in zip(stops.to_dict("records"), stops_m.geometry):
            near = float(shapely.distance(line, g))
            inside = np.hypot(xy[:, 0] - g.x, xy[:, 1] - g.y) <= visit_radius_m
            minutes = None
            if known and inside.any():
                stamps = [t for t, i in zip(times, inside) if i and t is not None]
                if len(stamps) >= 2:
                    minutes = round((max(stamps) - min(stamps)).total_seconds() / 60.0, 1)
            out_stops.append({"team": int(row["team"]), "seq": int(row["seq"]),
                              "target_id": str(row["target_id"]), "name": row.get("name"),
                              "risk": float(row["risk"]), "closest_m": round(near, 1),
                              "visited": near <= visit_radius_m, "minutes_on_site": minutes})
    risk_planned = sum(s["risk"] for s in out_stops)
    risk_visited = sum(s["risk"] for s in out_stops if s["visited"])
    return {"km_walked": round(km, 2), "hours": None if hours is None else round(hours, 2),
            "planned": len(out_stops), "visited": sum(s["visited"] for s in out_stops),
            "risk_planned": round(risk_planned, 3), "risk_visited": round(risk_visited, 3),
            "share_visited": round(risk_visited / risk_planned, 4) if risk_planned else 0.0,
            "stops": out_stops}
