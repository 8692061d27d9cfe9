"""Patrol targets: what is worth a visit, with a risk weight (0–10) and a reason in Vietnamese.

:func:`collect_targets` turns analysis results and records (frames, as the store returns them)
into targets; :func:`targets_for_post` keeps those in a post's area (:func:`post_area`). Every
target carries the strictest ``confidentiality`` of the rows it comes from, so a plan made
from it can be marked as strictly as its inputs. The weights are documented in
:data:`RISK_WEIGHTS` and ``docs/patrol.md``.
"""
from __future__ import annotations

from datetime import date
from typing import Any, Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import Point

from geo_pcmt.analysis import calendar
from geo_pcmt.analysis.patrol.model import (
    DWELL_MIN_DEFAULT,
    TARGET_COLUMNS,
    PatrolError,
    Post,
    as_date,
    highest_confidentiality,
)
from geo_pcmt.crs import METRIC_CRS, STORAGE_CRS
from geo_pcmt.formatting import fmt_number
from geo_pcmt.ingest.gazetteer import normalize
from geo_pcmt.values import text

#: Risk weights on a 0–10 scale, one entry per kind of target (see docs/patrol.md).
RISK_WEIGHTS: dict[str, Any] = {
    # complex places: 4 for the lowest score in the list, up to 10 for the highest
    "complex_place_min": 4.0, "complex_place_max": 10.0,
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
    "complex_place": "Địa bàn, tụ điểm phức tạp",
    "hotspot_cluster": "Cụm điểm nóng", "border_crossing": "Cửa khẩu, lối mở, đường mòn",
    "opium_plot": "Nương thuốc phiện", "opium_area": "Khu vực từng trồng thuốc phiện",
    "target": "Mục tiêu",
}
CROSSING_KINDS_VI = {"international": "Cửa khẩu quốc tế", "main": "Cửa khẩu chính",
                     "secondary": "Cửa khẩu phụ", "opening": "Lối mở", "trail": "Đường mòn"}


def _vi_int(x: float) -> str:
    """A whole number the Vietnamese way: 1.200 (dot between thousands), by Babel."""
    return fmt_number(x, 0)


def season_of(day: date) -> tuple[date, date] | None:
    """The opium season (1 Sep – 31 Mar, :mod:`geo_pcmt.analysis.calendar`) that ``day``
    falls in, or None outside the season."""
    season = calendar.opium_season(day)
    return None if season is None else (season.start, season.end)


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


def _levels(frame: pd.DataFrame) -> list[str]:
    """Each row's confidentiality; a row without one counts as *restricted*."""
    values = frame["confidentiality"] if "confidentiality" in frame.columns else [None] * len(frame)
    return [highest_confidentiality([v], at_least="public") for v in values]


def _rows(kind: str, layer: str, frame: gpd.GeoDataFrame, ids, names, risks, reasons,
          extra: Mapping[str, Sequence] | None = None) -> gpd.GeoDataFrame:
    n = len(frame)
    data = {"target_id": [f"{kind}:{i}" for i in ids], "target_kind": [kind] * n,
            "name": list(names), "risk": np.asarray(risks, dtype=float),
            "reason_vi": list(reasons), "source_layer": [layer] * n,
            "source_ids": [str(i) for i in frame["id"]]}
    for k, v in (extra or {}).items():
        data[k] = list(v)
    data.setdefault("commune_code", [text(c, '') or None for c in frame.get(
        "commune_code", pd.Series([None] * n, index=frame.index))])
    data["confidentiality"] = _levels(frame)
    return gpd.GeoDataFrame(data, geometry=_points(frame), crs=STORAGE_CRS)


def _places(frame, w) -> gpd.GeoDataFrame | None:
    """One target per complex place, at the place (the centroid of its evidence)."""
    from geo_pcmt.analysis.places import level_text
    frame = _latest_run(frame)
    if frame is None or not len(frame):
        return None
    score = frame["score"].astype(float).to_numpy()
    lo, hi = np.nanmin(score), np.nanmax(score)
    share = np.ones_like(score) if hi - lo < 1e-12 else (score - lo) / (hi - lo)
    risk = w["complex_place_min"] + share * (w["complex_place_max"] - w["complex_place_min"])
    reasons = []
    for lvl, s, why in zip(frame["level"], score, frame.get("reasons_vi", [None] * len(frame))):
        why = text(why, '').replace("\n", "; ")
        why = why[:300] + ("…" if len(why) > 300 else "")
        reasons.append(f"Địa bàn, tụ điểm phức tạp ({level_text(text(lvl, ''), s)})"
                       + (f": {why}" if why else ""))
    ids = [text(p, '') or text(i, '') for p, i in
           zip(frame.get("place_id", frame["id"]), frame["id"])]
    return _rows("complex_place", "complex_places", frame, ids, frame["name"], risk, reasons)


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
    names = [f"Cụm điểm nóng số {text(c, '')}" for c in frame.get("cluster", frame["id"])]
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
        reasons.append(why + (f"; phía Lào: {text(lao, '')}" if text(lao, '') else ""))
    lao = [text(v, '') for v in frame.get("lao_counterpart", [None] * len(frame))]
    return _rows("border_crossing", "border_crossings", frame, frame["id"], frame["name"], risk,
                 reasons, {"lao_counterpart": lao})


def _standing_plots(frame: gpd.GeoDataFrame, w, detected: list) -> gpd.GeoDataFrame:
    """Plots standing on the plan date: base risk plus a bonus growing with the area."""
    area = frame["area_m2"].astype(float).fillna(0).to_numpy()
    risk = w["opium_standing"] + w["opium_area_bonus"] * np.minimum(
        area / w["opium_area_full_m2"], 1.0)
    reasons = [f"Nương thuốc phiện chưa triệt phá ({fmt_number(a, 0)} m², phát hiện {d})"
               + (f", {text(v, '')}" if text(v, '') else "")
               for a, d, v in zip(area, detected, frame.get("village", [None] * len(frame)))]
    names = [f"Nương {text(v, '') or text(i, '')}" for v, i in
             zip(frame.get("village", frame["id"]), frame["id"])]
    return _rows("opium_plot", "opium_plots", frame, frame["id"], names, risk, reasons)


def _opium_areas(frame: gpd.GeoDataFrame, w, detected: list) -> gpd.GeoDataFrame:
    """One target per village with plots in past seasons, at the mean of its plots."""
    f = frame.copy()
    f["_village"] = [text(v, '') or f"khu {text(i, '')}" for v, i in
                     zip(f.get("village", f["id"]), f["id"])]
    f["_commune"] = [text(c, '') for c in f.get("commune_code", [None] * len(f))]
    pts = gpd.GeoSeries(_points(f), crs=STORAGE_CRS).to_crs(METRIC_CRS)
    f["_x"], f["_y"] = pts.x.to_numpy(), pts.y.to_numpy()
    f["_area"] = f["area_m2"].astype(float).fillna(0)
    f["_season"] = [calendar.season_year(d) for d in detected]
    f["_level"] = _levels(f)
    rows = []
    for (commune, village), g in f.groupby(["_commune", "_village"], sort=True):
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
            "confidentiality": highest_confidentiality(g["_level"], at_least="public"),
            "geometry": Point(g["_x"].mean(), g["_y"].mean()),
        })
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=METRIC_CRS).to_crs(STORAGE_CRS)


def _opium(frame, w, plan_date: date, lookback_seasons: int) -> list[gpd.GeoDataFrame]:
    season = season_of(plan_date)
    if frame is None or not len(frame) or season is None:
        return []
    detected = [as_date(v) for v in frame["detected_on"]]
    eradicated = [as_date(v) for v in frame.get("eradicated_on", [None] * len(frame))]
    standing = np.array([d is not None and season[0] <= d <= plan_date
                         and (e is None or e > plan_date) for d, e in zip(detected, eradicated)])
    out = []
    if standing.any():
        out.append(_standing_plots(frame[standing], w,
                                   list(np.array(detected, dtype=object)[standing])))
    # Villages with plots in the last seasons (eradicated or harvested): growers come back,
    # so the season's patrols check them for re-planting (DOMAIN.md §4: repeated sweeps).
    earliest = calendar.opium_season_of_year(season[0].year - lookback_seasons).start
    past = np.array([d is not None and earliest <= d < season[0] for d in detected])
    if lookback_seasons > 0 and past.any():
        out.append(_opium_areas(frame[past], w, list(np.array(detected, dtype=object)[past])))
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
        Any of ``complex_places`` (one stop per place, at the place), ``hotspot_clusters``
        (only without places: a cluster is part of a place), ``border_crossings``,
        ``opium_plots`` (EPSG:4326 frames as the store returns them). Missing or empty layers
        are skipped. Derived layers holding several runs contribute their latest run.
    plan_date : date
        Decides the opium season (1 Sep – 31 Mar): standing plots (detected this season, not
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
    places = _places(sources.get("complex_places"), w)
    parts: list[gpd.GeoDataFrame | None] = [
        places,
        # a cluster is part of a place: with a list of places it is not a stop of its own
        _clusters(sources.get("hotspot_clusters"), w) if places is None else None,
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
    unnamed = (out["target_kind"] == "hotspot_cluster") & name.notna()
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
            lao = [v for v in members["lao_counterpart"] if text(v, '')]
            head["lao_counterpart"] = lao[0] if lao else head.get("lao_counterpart")
            head["confidentiality"] = highest_confidentiality(members["confidentiality"],
                                                              at_least="public")
        rows.append(head)
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=STORAGE_CRS)


TARGET_SOURCE_LAYERS = ("complex_places", "hotspot_clusters", "border_crossings",
                        "opium_plots")


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


def own_crossings(crossings: pd.DataFrame | None, post: Post) -> pd.DataFrame | None:
    """The crossings ``post`` patrols: its own and those assigned to no post (a crossing
    assigned to a neighbouring post is that post's to patrol)."""
    if crossings is None or not len(crossings) or "border_post" not in crossings.columns:
        return crossings
    own = [not text(b, '') or normalize(b) == normalize(post.name)
           for b in crossings["border_post"]]
    return crossings[np.asarray(own, dtype=bool)]


def targets_for_post(sources: Mapping[str, pd.DataFrame | None], post: Post, *,
                     plan_date: date, communes: gpd.GeoDataFrame | None = None,
                     radius_km: float | None = None, weights: Mapping[str, Any] | None = None,
                     dwell_min: float = DWELL_MIN_DEFAULT) -> gpd.GeoDataFrame:
    """The targets of ``post``: :func:`collect_targets` inside :func:`post_area`.

    Without ``radius_km`` the post's area of responsibility is used, and crossings assigned
    to another post are left to it (:func:`own_crossings`).

    Examples
    --------
    >>> post = Post("BP-1", "Đồn BP Nậm Cắn", 104.12, 19.48)
    >>> trail = gpd.GeoDataFrame({"id": ["BC-1"], "kind": ["trail"], "name": ["Đường mòn 01"],
    ...                           "border_post": ["Đồn BP Keng Đu"]},
    ...                          geometry=[Point(104.13, 19.49)], crs="EPSG:4326")
    >>> len(targets_for_post({"border_crossings": trail}, post, plan_date=date(2026, 7, 1)))
    0
    """
    area = post_area(post, communes, radius_km=radius_km)
    sources = dict(sources)
    if radius_km is None:
        sources["border_crossings"] = own_crossings(sources.get("border_crossings"), post)
    return collect_targets(sources, plan_date=plan_date, area=area, communes=communes,
                           weights=weights, dwell_min=dwell_min)
