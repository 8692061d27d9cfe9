"""The Viet Nam–Laos corridor summarised by Lao province segment, border post and distance band.

:func:`border` counts communes (class, drug-free share against the border target) and
records (retail points, opium plots, cases, crossings) where they lie: in the band of their
distance from the border line, in the segment their nearest stretch of border faces, at the
post responsible for their commune; plus chainage bins for a strip chart (:func:`border`'s
``strip``). :func:`border_layer` turns the result into rows of the ``border_progress`` layer.
Pure functions over frames; distances in EPSG:32648, results in EPSG:4326.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date
from typing import Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely import ops

from geo_pcmt.analysis.chainage import (
    DEFAULT_BANDS_KM,
    border_axis,
    commune_stretches,
    distance_bands,
    locate_along_border,
    segment_at,
    segment_ranges,
)
from geo_pcmt.analysis.lineage import period_bounds
from geo_pcmt.analysis.records import (
    between,
    commune_codes,
    iso_dates,
    point_active_on,
    reemerged_in,
)
from geo_pcmt.analysis.targets import border_expected_pct, target_pct
from geo_pcmt.crs import METRIC_CRS, STORAGE_CRS
from geo_pcmt.layers import COMPUTED_CLASSES, area_codes, get_layer

CLASS_COLUMNS = COMPUTED_CLASSES
FEATURE_LAYERS = ("retail_points", "opium_plots", "cases", "border_crossings", "border_posts")


def _posts_of_communes(corridor: gpd.GeoDataFrame, posts: gpd.GeoDataFrame | None
                       ) -> dict[str, list[str]]:
    """Commune code → names of the border posts responsible (listed, else the nearest).

    A post's ``area_of_responsibility`` is read by :func:`geo_pcmt.layers.area_codes`.
    """
    if posts is None or not len(posts):
        return {}
    listed: dict[str, list[str]] = {}
    for name, aor in zip(posts["name"], posts.get("area_of_responsibility",
                                                  pd.Series(None, index=posts.index))):
        for code in area_codes(aor):
            listed.setdefault(code, []).append(str(name))
    pm = posts.to_crs(METRIC_CRS)
    cm = corridor.to_crs(METRIC_CRS)
    out = {}
    for code, geom in zip(cm["code"], cm.geometry):
        if code in listed:
            out[code] = listed[code]
        else:
            d = shapely.distance(pm.geometry.values, geom)
            out[code] = [str(pm["name"].iloc[int(np.argmin(d))])]
    return out


@dataclass
class BorderSummary:
    """Everything :func:`border` computes; each frame is ready for the map (EPSG:4326).

    Attributes
    ----------
    year : int
    as_of : str
        The day status, recognitions and active points are read on.
    segments : GeoDataFrame
        One row per Lao province segment; geometry = the border segment (MultiLineString).
    posts : GeoDataFrame
        One row per border post; geometry = union of its communes (area of responsibility).
    bands : GeoDataFrame
        One row per distance band; geometry = the band polygon inside the province.
    strip : GeoDataFrame
        Chainage bins (``bin_km`` long) along the line; geometry = that stretch of line.
    communes : GeoDataFrame
        Corridor communes (within the last band edge): code, name, status, drug_free,
        ``dist_border_km`` (nearest approach), ``chainage_km``, ``chainage_from_km``/
        ``chainage_to_km`` (stretch of border they touch, border communes only),
        ``segment``, ``band``, ``posts``.
    features : GeoDataFrame
        Points, plots, cases, crossings and posts within the corridor with ``layer``, ``active``,
        ``in_year``, ``dist_border_km``, ``chainage_km``, ``segment``, ``band``, ``post``.
    crossings : GeoDataFrame
        Crossings with ``cases_nearby`` and ``points_active_nearby`` (within
        ``crossing_radius_km``) and ``active``.
    totals : dict
        The same figures for the whole corridor (its border communes).
    line_length_km : float

    Columns of ``segments``, ``posts``, ``bands`` and ``strip``: ``scope`` (segment / post /
    band / strip), ``key``, ``name``, ``year``; segments and bands also ``from_km``/``to_km``
    (chainage along the line, resp. distance from it), bands ``area_km2``, posts ``communes``
    (';'-joined codes). Figures (:data:`SUMMARY_COLUMNS`, strip bins a subset):

    ``n_communes`` and ``n_<class>`` (computed class: loai_I, loai_II, loai_III,
    co_te_nan_ma_tuy, khong_trong_diem, chua_danh_gia); ``n_drug_free`` (national recognition in force),
    ``n_sach_ve_ma_tuy``; ``share_drug_free_pct``; ``target_pct`` (border target of the year,
    else the province's); ``on_track`` (share ≥ the straight-line expectation for the day);
    ``points_active`` (on the day), ``points_cleared`` / ``points_reemerged`` (in the year);
    ``plots_found`` / ``plots_eradicated`` and ``plot_area_m2`` / ``plot_area_eradicated_m2``
    (in the year); ``crossings``, ``crossings_active`` (a case of the year or an active point
    within the radius); ``cases`` (in the year). Strip bins add ``segment``, ``commune_code``,
    ``commune_name`` and ``status`` of the border commune holding most of the stretch.
    """

    year: int
    as_of: str
    segments: gpd.GeoDataFrame
    posts: gpd.GeoDataFrame
    bands: gpd.GeoDataFrame
    strip: gpd.GeoDataFrame
    communes: gpd.GeoDataFrame
    features: gpd.GeoDataFrame
    crossings: gpd.GeoDataFrame
    totals: dict
    line_length_km: float


SUMMARY_COLUMNS = ["n_communes", *(f"n_{c}" for c in CLASS_COLUMNS), "n_drug_free",
                   "n_sach_ve_ma_tuy", "share_drug_free_pct",
                   "target_pct", "on_track", "points_active", "points_cleared",
                   "points_reemerged", "plots_found", "plots_eradicated", "plot_area_m2",
                   "plot_area_eradicated_m2", "crossings", "crossings_active", "cases"]


def status_on(status: pd.DataFrame, day: date) -> pd.DataFrame:
    """Each commune's status row for the latest period that has started by ``day``."""
    if not len(status):
        return status
    started = status["period"].map(lambda p: period_bounds(p)[0] <= day)
    st = status[started.to_numpy()]
    return st.sort_values("period").groupby("commune_code", as_index=False).tail(1)


def _summarise(communes: pd.DataFrame, feats: pd.DataFrame, target: float | None,
               expected: float | None) -> dict:
    """:data:`SUMMARY_COLUMNS` of some corridor communes and the features that go with them."""
    n = len(communes)
    out = {"n_communes": n}
    for c in CLASS_COLUMNS:
        out[f"n_{c}"] = int((communes["computed_class"] == c).sum()) if n else 0
    out["n_drug_free"] = int(communes["drug_free"].sum()) if n else 0
    out["n_sach_ve_ma_tuy"] = int(communes["sach_ve_ma_tuy"].sum()) if n else 0
    share = 100.0 * out["n_drug_free"] / n if n else None
    out["share_drug_free_pct"] = None if share is None else round(share, 1)
    out["target_pct"] = target
    out["on_track"] = None if target is None or share is None else bool(
        share >= (expected if expected is not None else target))
    f = feats
    lay = f["layer"] if len(f) else pd.Series(dtype=object)

    def count(layer, col=None):
        m = (lay == layer) & (f[col] if col else True) if len(f) else pd.Series(dtype=bool)
        return int(m.sum())

    out["points_active"] = count("retail_points", "active")
    out["points_cleared"] = count("retail_points", "cleared_in_year")
    out["points_reemerged"] = count("retail_points", "reemerged_in_year")
    out["plots_found"] = count("opium_plots", "in_year")
    out["plots_eradicated"] = count("opium_plots", "cleared_in_year")
    if len(f):
        plots = f[lay == "opium_plots"]
        out["plot_area_m2"] = round(float(plots.loc[plots["in_year"], "area_m2"].sum()), 1)
        out["plot_area_eradicated_m2"] = round(float(
            plots.loc[plots["cleared_in_year"], "area_m2"].sum()), 1)
    else:
        out["plot_area_m2"] = out["plot_area_eradicated_m2"] = 0.0
    out["crossings"] = count("border_crossings")
    out["crossings_active"] = count("border_crossings", "active")
    out["cases"] = count("cases", "in_year")
    return out


def border(communes: gpd.GeoDataFrame, border_line: gpd.GeoDataFrame, province: gpd.GeoDataFrame,
           status: pd.DataFrame, *, year: int, today: date | None = None,
           retail_points: gpd.GeoDataFrame | None = None,
           opium_plots: gpd.GeoDataFrame | None = None,
           border_crossings: gpd.GeoDataFrame | None = None,
           border_posts: gpd.GeoDataFrame | None = None, cases: gpd.GeoDataFrame | None = None,
           targets: pd.DataFrame | None = None, bands_km: Sequence[float] = DEFAULT_BANDS_KM,
           bin_km: float = 10.0, crossing_radius_km: float = 5.0) -> BorderSummary:
    """Summarise the Viet Nam–Laos corridor by Lao province segment, border post and distance band.

    Communes: a **segment** counts the border communes (``is_border``) facing that Lao
    province; a **band** counts every commune whose nearest point to the border lies in it
    (border communes are all in 0–5 km); a **border post** counts the communes its
    ``area_of_responsibility`` lists, and a corridor commune no post lists goes to the nearest
    post. Points, plots, cases and crossings within the last band edge count where they lie:
    in the band of their own distance, in the segment their nearest stretch of border faces,
    at the post of their commune.

    Figures for ``year`` (read on 31 Dec or ``today`` if earlier): commune classes from the
    latest period started by then; drug-free share vs the border target of the year (scope
    ``border``, else the province's) and ``on_track`` against the straight-line expectation;
    retail points active on the day, cleared and re-emerged in the year; opium plots found and
    eradicated in the year (count and m²); crossings and how many had a case or an active
    point within ``crossing_radius_km`` in the year; cases in the year.

    Parameters
    ----------
    communes, border_line, province : GeoDataFrame
        Base layers (EPSG:4326).
    status : DataFrame
        From :func:`geo_pcmt.analysis.status.commune_status`.
    year : int
    retail_points, opium_plots, border_crossings, border_posts, cases : GeoDataFrame, optional
    targets : DataFrame, optional
    bands_km : sequence of float
        Band edges (default 0, 5, 15, 30 km).
    bin_km : float
        Length of a strip-chart bin along the border.
    crossing_radius_km : float
        Radius within which cases and active points make a crossing "active".

    Returns
    -------
    BorderSummary
        Frames for segments, posts, bands, strip bins, corridor communes, features and
        crossings; figure columns are :data:`SUMMARY_COLUMNS`.
    """
    today = today or date.today()
    as_of_day = min(date(year, 12, 31), today)
    edges = [float(b) for b in bands_km]
    axis = border_axis(border_line)
    ranges = segment_ranges(border_line, axis)
    corridor = _corridor_communes(communes, border_line, status, as_of_day, edges, axis)
    post_of = _posts_of_communes(corridor, border_posts)
    corridor["posts"] = [";".join(post_of.get(c, [])) or None for c in corridor["code"]]
    # the segment a border commune faces is its own attribute (the longest shared stretch)
    corridor["segment"] = corridor["lao_province"].where(
        corridor["is_border"] & corridor["lao_province"].notna(), corridor["segment"])
    records = {"retail_points": retail_points, "opium_plots": opium_plots, "cases": cases,
               "border_crossings": border_crossings, "border_posts": border_posts}
    feats = _corridor_features(records, communes, border_line, edges, year, as_of_day.isoformat(),
                               crossing_radius_km=crossing_radius_km, post_of=post_of)
    goal = _border_goal(targets, year, as_of_day)
    segments = _segment_rows(corridor, feats, ranges, border_line, year, goal)
    posts = _post_rows(corridor, feats, border_posts, post_of, year, goal, communes.crs)
    bands = _band_rows(corridor, feats, distance_bands(province, border_line, bands_km=edges),
                       year, goal)
    strip = _strip(axis, ranges, corridor, feats, year, bin_km)
    totals = _summarise(corridor[corridor["is_border"]], feats, *goal)
    totals.update({"corridor_communes": int(len(corridor)), "expected_pct": goal[1],
                   "as_of": as_of_day.isoformat(), "year": year})
    return BorderSummary(year, as_of_day.isoformat(), segments, posts, bands, strip,
                         gpd.GeoDataFrame(corridor, geometry="geometry", crs=communes.crs),
                         feats, feats[feats["layer"] == "border_crossings"].copy(), totals,
                         round(axis.length / 1000, 1))


def _border_goal(targets: pd.DataFrame | None, year: int, on: date
                 ) -> tuple[float | None, float | None]:
    """The border target of ``year`` (else the province's) and the expectation on ``on``."""
    target = target_pct(targets, year, "border")
    if target is None:
        target = target_pct(targets, year, "province")
    return target, border_expected_pct(targets, year, on, target)


def _corridor_communes(communes: gpd.GeoDataFrame, border_line: gpd.GeoDataFrame,
                       status: pd.DataFrame, day: date, edges: list[float],
                       axis: shapely.LineString) -> gpd.GeoDataFrame:
    """Communes within the last band edge with their place along the border and status on ``day``."""
    st = status_on(status, day)
    st_by = st.set_index("commune_code") if len(st) else None
    loc = locate_along_border(communes, border_line, bands_km=edges, max_km=edges[-1])
    com = communes[["code", "name", "is_border", "lao_province", "geometry"]].copy()
    com = pd.concat([com, loc], axis=1)
    corridor = com[com["dist_border_km"] <= edges[-1]].copy()
    for col, default in (("status", "chua_danh_gia"), ("computed_class", "chua_danh_gia"),
                         ("drug_free", False), ("sach_ve_ma_tuy", False), ("period", None)):
        corridor[col] = [st_by[col].get(c, default) if st_by is not None and col in st_by
                         else default for c in corridor["code"]]
    corridor["drug_free"] = corridor["drug_free"].astype(bool)
    corridor["sach_ve_ma_tuy"] = corridor["sach_ve_ma_tuy"].astype(bool)
    # stretch of border each border commune touches, for the strip chart: every straight
    # piece of the line goes to the border commune nearest its midpoint (within 100 m)
    lo, hi = commune_stretches(axis, corridor)
    corridor["chainage_from_km"] = lo
    corridor["chainage_to_km"] = hi
    return corridor


def _segment_rows(corridor: pd.DataFrame, feats: pd.DataFrame, ranges: pd.DataFrame,
                  border_line: gpd.GeoDataFrame, year: int, goal: tuple) -> gpd.GeoDataFrame:
    """One row per Lao province segment: its border communes and the records it faces."""
    seg_geom = border_line.set_index("segment").geometry
    rows = []
    for seg in ranges.itertuples():
        cs = corridor[corridor["is_border"] & (corridor["segment"] == seg.segment)]
        fs = feats[feats["segment"] == seg.segment] if len(feats) else feats
        rows.append({"scope": "segment", "key": seg.segment, "name": seg.segment,
                     "year": year, "from_km": round(seg.from_km, 2),
                     "to_km": round(seg.to_km, 2), **_summarise(cs, fs, *goal),
                     "geometry": seg_geom.get(seg.segment)})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=border_line.crs)


def _post_rows(corridor: pd.DataFrame, feats: pd.DataFrame, border_posts: pd.DataFrame | None,
               post_of: dict[str, list[str]], year: int, goal: tuple, crs) -> gpd.GeoDataFrame:
    """One row per border post: the communes it is responsible for and their records."""
    rows = []
    if border_posts is not None and len(border_posts):
        for name in border_posts["name"].astype(str):
            codes = [c for c, names in post_of.items() if name in names]
            cs = corridor[corridor["code"].isin(codes)]
            fs = feats[feats["post"].map(lambda p: isinstance(p, str) and name in p.split(";"))
                       .to_numpy(dtype=bool)] if len(feats) else feats
            geom = shapely.union_all(cs.geometry.values) if len(cs) else None
            rows.append({"scope": "post", "key": name, "name": name, "year": year,
                         "communes": ";".join(sorted(codes)),
                         **_summarise(cs, fs, *goal), "geometry": geom})
    if rows:
        return gpd.GeoDataFrame(rows, geometry="geometry", crs=crs)
    return gpd.GeoDataFrame({"scope": [], "key": [], "geometry": []}, geometry="geometry",
                            crs=crs)


def _band_rows(corridor: pd.DataFrame, feats: pd.DataFrame, band_polys: gpd.GeoDataFrame,
               year: int, goal: tuple) -> gpd.GeoDataFrame:
    """One row per distance band: the communes and records whose distance falls in it."""
    rows = []
    for b in band_polys.itertuples():
        cs = corridor[corridor["band"] == b.band]
        fs = feats[feats["band"] == b.band] if len(feats) else feats
        rows.append({"scope": "band", "key": b.band, "name": b.band_label, "year": year,
                     "from_km": b.from_km, "to_km": b.to_km, "area_km2": b.area_km2,
                     **_summarise(cs, fs, *goal), "geometry": b.geometry})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=STORAGE_CRS)


def _feature_part(layer: str, frame: gpd.GeoDataFrame, communes: gpd.GeoDataFrame,
                  as_of: str, y0: str, y1: str) -> gpd.GeoDataFrame:
    """One record layer as corridor features: where, and active / in the year / cleared."""
    geom = shapely.point_on_surface(frame.geometry.values)
    part = gpd.GeoDataFrame({"layer": layer, "id": frame["id"].astype(str).to_numpy(),
                             "commune_code": commune_codes(frame, communes)},
                            geometry=geom, crs=frame.crs)
    if layer == "retail_points":
        part["active"] = point_active_on(frame, as_of)
        part["in_year"] = between(iso_dates(frame, "first_seen"), y0, y1)
        part["cleared_in_year"] = between(iso_dates(frame, "cleared_on"), y0, y1)
        part["reemerged_in_year"] = reemerged_in(frame, y0, y1)
        part["type"] = frame["type"].to_numpy() if "type" in frame else None
    elif layer == "opium_plots":
        det, era = iso_dates(frame, "detected_on"), iso_dates(frame, "eradicated_on")
        part["in_year"] = between(det, y0, y1)
        part["cleared_in_year"] = between(era, y0, y1)
        part["active"] = np.array([d is not None and d <= as_of and (e is None or e > as_of)
                                   for d, e in zip(det, era)], dtype=bool)
        part["area_m2"] = pd.to_numeric(frame["area_m2"], errors="coerce").fillna(0).to_numpy()
    elif layer == "cases":
        part["in_year"] = between(iso_dates(frame, "date"), y0, y1)
        part["active"] = part["in_year"]
    else:  # crossings and posts: places, not events
        part["kind"] = frame["kind"].to_numpy() if "kind" in frame else None
        part["name"] = frame["name"].to_numpy() if "name" in frame else None
        part["in_year"] = True
    return part


def _corridor_features(records: Mapping[str, gpd.GeoDataFrame | None],
                       communes: gpd.GeoDataFrame, border_line: gpd.GeoDataFrame,
                       edges: list[float], year: int, as_of: str, *,
                       crossing_radius_km: float, post_of: dict[str, list[str]]
                       ) -> gpd.GeoDataFrame:
    """Records within the last band edge, placed along the border and at their post."""
    y0, y1 = f"{year}-01-01", f"{year}-12-31"
    parts = [_feature_part(layer, records[layer], communes, as_of, y0, y1)
             for layer in FEATURE_LAYERS
             if records.get(layer) is not None and len(records[layer])]
    if not parts:
        return gpd.GeoDataFrame({"layer": [], "segment": [], "band": [], "post": []},
                                geometry=[], crs=STORAGE_CRS)
    feats = pd.concat(parts, ignore_index=True)
    for col in ("active", "in_year", "cleared_in_year", "reemerged_in_year"):
        feats[col] = feats[col].fillna(False).astype(bool) if col in feats else False
    if "area_m2" in feats:
        feats["area_m2"] = feats["area_m2"].fillna(0.0)
    else:
        feats["area_m2"] = 0.0
    feats = gpd.GeoDataFrame(feats, geometry="geometry", crs=STORAGE_CRS)
    loc = locate_along_border(feats, border_line, bands_km=edges, max_km=edges[-1])
    feats = pd.concat([feats, loc], axis=1)
    feats = feats[feats["dist_border_km"] <= edges[-1]].copy()
    feats["post"] = [";".join(post_of.get(c, [])) or None for c in feats["commune_code"]]
    _mark_active_crossings(feats, crossing_radius_km)
    return gpd.GeoDataFrame(feats, geometry="geometry", crs=STORAGE_CRS)


def _mark_active_crossings(feats: pd.DataFrame, radius_km: float) -> None:
    """A crossing is active when a case of the year or an active point lies within the radius.

    Adds ``cases_nearby`` and ``points_active_nearby`` and sets ``active`` of crossings, in place.
    """
    cross = feats["layer"] == "border_crossings"
    if not cross.any():
        return
    m = gpd.GeoSeries(feats.geometry, crs=STORAGE_CRS).to_crs(METRIC_CRS).values
    case_pts = m[((feats["layer"] == "cases") & feats["in_year"]).to_numpy()]
    point_pts = m[((feats["layer"] == "retail_points") & feats["active"]).to_numpy()]
    tree_c, tree_p = shapely.STRtree(case_pts), shapely.STRtree(point_pts)
    radius = radius_km * 1000
    idx = np.flatnonzero(cross.to_numpy())
    n_cases = np.zeros(len(idx), dtype=int)
    n_points = np.zeros(len(idx), dtype=int)
    for j, i in enumerate(idx):
        n_cases[j] = len(tree_c.query(m[i], predicate="dwithin", distance=radius))
        n_points[j] = len(tree_p.query(m[i], predicate="dwithin", distance=radius))
    feats["cases_nearby"] = 0
    feats["points_active_nearby"] = 0
    feats.loc[feats.index[idx], "cases_nearby"] = n_cases
    feats.loc[feats.index[idx], "points_active_nearby"] = n_points
    feats.loc[feats.index[idx], "active"] = (n_cases + n_points) > 0


def _strip(axis: shapely.LineString, ranges: pd.DataFrame, corridor: pd.DataFrame,
           feats: pd.DataFrame, year: int, bin_km: float) -> gpd.GeoDataFrame:
    length_km = axis.length / 1000
    n_bins = max(int(math.ceil(length_km / bin_km)), 1)
    rows = []
    ch = feats["chainage_km"].to_numpy() if len(feats) else np.zeros(0)
    lay = feats["layer"].to_numpy() if len(feats) else np.zeros(0, dtype=object)
    for i in range(n_bins):
        a, b = i * bin_km, min((i + 1) * bin_km, length_km)
        inside = (ch >= a) & ((ch < b) if i < n_bins - 1 else (ch <= b))
        f = feats[inside] if len(feats) else feats
        # the border commune holding most of this stretch
        bc = corridor[corridor["is_border"] & corridor["chainage_from_km"].notna()]
        overlap = (np.minimum(bc["chainage_to_km"].astype(float), b)
                   - np.maximum(bc["chainage_from_km"].astype(float), a)).clip(lower=0)
        main = bc.loc[overlap.idxmax()] if len(bc) and overlap.max() > 0 else None
        seg = segment_at(np.array([(a + b) / 2]), ranges)[0] if main is None \
            else main["segment"]
        rows.append({
            "scope": "strip", "key": f"{a:g}-{b:g}", "name": f"km {a:g}–{b:g}", "year": year,
            "from_km": round(a, 2), "to_km": round(b, 2), "segment": seg,
            "commune_code": None if main is None else main["code"],
            "commune_name": None if main is None else main["name"],
            "status": None if main is None else main["status"],
            "points_active": int(((lay[inside] == "retail_points") & f["active"].to_numpy()).sum())
            if len(feats) else 0,
            "plots_found": int(((lay[inside] == "opium_plots") & f["in_year"].to_numpy()).sum())
            if len(feats) else 0,
            "cases": int(((lay[inside] == "cases") & f["in_year"].to_numpy()).sum())
            if len(feats) else 0,
            "crossings": int((lay[inside] == "border_crossings").sum()) if len(feats) else 0,
            "geometry": ops.substring(axis, a * 1000, b * 1000),
        })
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=METRIC_CRS).to_crs(STORAGE_CRS)


def border_layer(summary: BorderSummary, *, run_id: str, params: Mapping | None = None
                 ) -> gpd.GeoDataFrame:
    """Segments, posts, bands and strip bins as rows of the derived ``border_progress`` layer."""
    spec = get_layer("border_progress")
    frames = [summary.segments, summary.posts, summary.bands, summary.strip]
    rows = pd.concat([f for f in frames if len(f)], ignore_index=True)
    rows["id"] = rows["scope"] + ":" + rows["key"].astype(str) + f":{summary.year}"
    rows["run_id"] = run_id
    rows["params"] = json.dumps(params or {}, ensure_ascii=False, default=str)
    cols = [c for c in spec.field_names if c in rows.columns]
    return gpd.GeoDataFrame(rows[cols], geometry=rows.geometry.values, crs=STORAGE_CRS)

