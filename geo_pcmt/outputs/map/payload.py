"""The JSON the page gets: one compact entry per layer, drawn in the browser.

Points travel as columns of arrays (one array row each instead of one folium object each),
areas as rounded GeoJSON. Values from data are sent as text and escaped in the page, once.
"""
from __future__ import annotations

import json
import re
from typing import Any, Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo_pcmt import access
from geo_pcmt.analysis.density import kde
from geo_pcmt.crs import METRIC_CRS, STORAGE_CRS
from geo_pcmt.layers import RETAIL_POINT_STATUS, RETAIL_POINT_TYPES
from geo_pcmt.outputs.map import geometry
from geo_pcmt.outputs.map.frames import column, is_geo
from geo_pcmt.outputs.map.timeline import months_of
from geo_pcmt.values import dates, number, text

DERIVED_LAYERS: tuple[str, ...] = ("hotspot_clusters", "complex_hotspots", "gistar_cells",
                                   "emerging_hotspots")
# Fields of each derived layer that reach the page: what a popup shows, never a record id
# (``id``, ``area_ref``, ``run_id``): the page draws names, and ids are of no use to an officer.
_DERIVED_FIELDS: dict[str, tuple[str, ...]] = {
    "hotspot_clusters": ("method", "cluster", "n_points", "n_active", "n_cleared",
                         "n_re_emerged", "counts", "first_date", "last_date", "communes",
                         "commune_names", "nearest_crossing", "dist_crossing_km",
                         "dist_border_km"),
    "gistar_cells": ("cell", "value", "z", "p", "p_fdr", "hotspot_class", "confidence"),
    "emerging_hotspots": ("cell", "category", "label_vi", "label_en", "mk_tau", "mk_p",
                          "periods_hot"),
    "complex_hotspots": ("area_kind", "name", "score", "level", "commune_code"),
}
# Fields of each point layer that reach the page (no record id: see _DERIVED_FIELDS).
POINT_FIELDS: dict[str, tuple[str, ...]] = {
    "border_crossings": ("kind", "name", "lao_counterpart", "lao_province", "border_post",
                         "planned_kind", "planned_year", "position_quality"),
    "border_posts": ("name", "unit", "area_of_responsibility"),
    "facilities": ("kind", "name", "capacity", "opened_on"),
}
KDE_CELL_M = 1000.0


def split_reasons(value: Any) -> list[str]:
    """Reasons stored as one text, separated by newlines or `` | `` (both occur).

    Examples
    --------
    >>> split_reasons("5 điểm | cách cửa khẩu 2,1 km")
    ['5 điểm', 'cách cửa khẩu 2,1 km']
    """
    value = text(value)
    if not value:
        return []
    return [r.strip() for r in re.split(r"\n|\s\|\s", value) if r.strip()]


def gi_class(row: Mapping[str, Any]) -> str:
    """``hot99`` … ``cold90`` or ``ns`` from hotspot_class text, else from z and p."""
    label = (text(row.get("hotspot_class")) or "").lower()
    m = re.search(r"(hot|cold|nóng|lạnh)\D*(99|95|90)", label)
    if m:
        return ("hot" if m.group(1) in ("hot", "nóng") else "cold") + m.group(2)
    if label and re.search(r"not|ns|không", label):
        return "ns"
    z = number(row.get("z"), digits=6)
    conf = number(row.get("confidence"), digits=0)
    if conf is None:
        p = number(row.get("p_fdr"), digits=6)
        p = p if p is not None else number(row.get("p"), digits=6)
        conf = None if p is None else 99 if p < 0.01 else 95 if p < 0.05 else 90 if p < 0.1 else 0
    if z is None or not conf or int(conf) not in (90, 95, 99):
        return "ns"
    return ("hot" if z > 0 else "cold") + str(int(conf))


# ---------------------------------------------------------------- areas

def communes_payload(communes: gpd.GeoDataFrame, tolerance_m: float) -> dict:
    """Commune outlines with code, name, kind, border flag, Lao neighbour, former district."""
    props = [{"code": str(r.code), "name": text(r.name), "kind": text(getattr(r, "kind", None)),
              "border": bool(getattr(r, "is_border", False) or False),
              "lao": text(getattr(r, "lao_province", None)),
              "district": text(getattr(r, "district_pre2025", None))}
             for r in communes.itertuples(index=False)]
    return geometry.feature_collection(geometry.simplified(communes, tolerance_m), props)


def simple_layer(frame: gpd.GeoDataFrame, tolerance_m: float, fields: Sequence[str]) -> dict:
    """Simplified shapes with ``fields`` as text."""
    props = [{f: text(v) for f, v in zip(fields, vals)}
             for vals in zip(*[column(frame, f) for f in fields])] if fields else [{}] * len(frame)
    return geometry.feature_collection(geometry.simplified(frame, tolerance_m), props)


def basemap_payload(frames: Mapping[str, pd.DataFrame]) -> dict | None:
    """The base layer under the map: rivers (simplified 60 m, with their WDBII ``level``) and
    towns (``name`` Vietnamese where known, ``name_en``, ``country``); None without either."""
    out = {}
    rivers, places = frames.get("basemap_rivers"), frames.get("basemap_places")
    if rivers is not None and is_geo(rivers) and len(rivers):
        out["rivers"] = simple_layer(rivers, 60, ("level",))
    if places is not None and is_geo(places) and len(places):
        out["places"] = point_features(places, ("name", "name_en", "country"))
    return out or None


def derived_payload(name: str, frame: gpd.GeoDataFrame) -> dict:
    """A derived layer (clusters, flags, Gi* cells, emerging hot spots) as GeoJSON."""
    fields = _DERIVED_FIELDS[name]
    frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
    # cells with nothing to show would be drawn invisible: leave them out of the page
    if name == "gistar_cells":
        frame = frame[[gi_class(r) != "ns" for r in frame.to_dict("records")]]
    if name == "emerging_hotspots" and "category" in frame.columns:
        cat = frame["category"].astype("string").str.lower()
        frame = frame[~(cat.isna() | cat.str.contains("no_pattern|no pattern|none"))
                      .fillna(True).to_numpy()]
    props = []
    for rec in frame.to_dict("records"):
        p = {f: text(rec.get(f)) for f in fields}
        if name == "gistar_cells":
            p["gi"] = gi_class(rec)
        if name == "complex_hotspots":
            p["reasons_vi"] = split_reasons(rec.get("reasons_vi"))
            p["reasons_en"] = split_reasons(rec.get("reasons_en"))
        props.append(p)
    fc = geometry.feature_collection(geometry.round_geoms(frame.geometry.values, 5), props)
    if name == "complex_hotspots":  # a marker on every flag, whatever its geometry
        centres = geometry.round_geoms(frame.geometry.representative_point().values, 5)
        fc["centres"] = [list(shapely.get_coordinates(c)[0]) for c in centres]
    return fc


def counts_payload(counted: Mapping[str, pd.DataFrame], communes: gpd.GeoDataFrame
                   ) -> dict | None:
    """Per-commune counts of the layers the reader may not see, as the API gives them.

    ``counted`` maps a record layer to its public aggregate
    (:func:`geo_pcmt.access.read_counts`); records given instead are first made into that
    same aggregate (:func:`geo_pcmt.access.aggregate_counts`). Suppressed counts are sent as
    ``"<5"``, zero counts not at all.
    """
    keys = {"retail_points": "points", "cases": "cases", "opium_plots": "plots"}
    table: dict[str, dict[str, Any]] = {}
    for layer, short in keys.items():
        agg = counted.get(layer)
        if agg is None:
            continue
        if not access.is_aggregate_frame(agg):
            agg = access.aggregate_counts(agg, communes)
        for code, n, hidden in zip(agg["code"].astype(str), agg["count"], agg["suppressed"]):
            if hidden:
                table.setdefault(code, {})[short] = f"<{access.SMALL_COUNT}"
            elif not pd.isna(n) and int(n) > 0:
                table.setdefault(code, {})[short] = int(n)
    if not table:
        return None
    centres = communes.geometry.representative_point()
    where = {str(c): [round(p.x, 4), round(p.y, 4)] for c, p in zip(communes["code"], centres)}
    return {"counts": table, "at": {c: where[c] for c in table if c in where}}


# ---------------------------------------------------------------- points

def text_list(values: pd.Series) -> list[str | None]:
    """:func:`geo_pcmt.values.text` of each cell; plain strings pass as they are (a column of
    a million names is made in a fraction of a second)."""
    return [v if type(v) is str else text(v) for v in values.tolist()]


class _Texts:
    """Values → small integers, so repeated text is sent once."""

    def __init__(self) -> None:
        self.values: list[str | None] = []
        self._index: dict[str | None, int] = {}

    def codes(self, series: pd.Series) -> list[int]:
        out = []
        for t in text_list(series):
            i = self._index.get(t)
            if i is None:
                i = self._index[t] = len(self.values)
                self.values.append(t)
            out.append(i)
        return out


def _located(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return frame[frame.geometry.notna() & ~frame.geometry.is_empty]


def points_payload(points: gpd.GeoDataFrame, base_month: int, names: Mapping[str, str]) -> dict:
    """Retail points as columns of arrays (the page builds markers from them)."""
    pts = _located(points)
    xy = np.round(shapely.get_coordinates(pts.geometry.values), 5)
    texts = _Texts()
    first, cleared = dates(column(pts, "first_seen")), dates(column(pts, "cleared_on"))
    return {
        "x": xy[:, 0].tolist(), "y": xy[:, 1].tolist(),
        "type": [RETAIL_POINT_TYPES.index(t) if t in RETAIL_POINT_TYPES else 0
                 for t in column(pts, "type")],
        "status": [RETAIL_POINT_STATUS.index(s) if s in RETAIL_POINT_STATUS else 0
                   for s in column(pts, "status")],
        "m0": months_of(first, base_month), "m1": months_of(cleared, base_month),
        "name": text_list(column(pts, "name")),
        "address": text_list(column(pts, "address")),
        "commune": texts.codes(column(pts, "commune_code").astype("string").map(names)),
        "first": texts.codes(first.dt.strftime("%Y-%m-%d")),
        "last": texts.codes(dates(column(pts, "last_activity")).dt.strftime("%Y-%m-%d")),
        "cleared": texts.codes(cleared.dt.strftime("%Y-%m-%d")),
        "texts": texts.values,
    }


def cases_payload(cases: gpd.GeoDataFrame, base_month: int) -> dict:
    """Case locations and months (for the heat map over time)."""
    pts = _located(cases)
    pts = pts[pts.geometry.geom_type == "Point"]
    xy = np.round(shapely.get_coordinates(pts.geometry.values), 4)
    return {"x": xy[:, 0].tolist(), "y": xy[:, 1].tolist(),
            "m": months_of(dates(column(pts, "date")), base_month)}


def plots_payload(plots: gpd.GeoDataFrame, base_month: int, names: Mapping[str, str]) -> dict:
    """Opium plots: a marker each, their outlines, and the fields of their popups."""
    plots = _located(plots)
    xy = np.round(shapely.get_coordinates(plots.geometry.representative_point().values), 5)
    polys = plots[plots.geometry.geom_type.isin(["Polygon", "MultiPolygon"])]
    outlines = geometry.round_geoms(polys.geometry.values, 6)
    detected, eradicated = dates(column(plots, "detected_on")), dates(column(plots, "eradicated_on"))
    popup = zip(detected, column(plots, "detected_by"), eradicated,
                column(plots, "method"), column(plots, "village"),
                column(plots, "commune_code").astype("string").map(names))
    keys = ("detected_on", "detected_by", "eradicated_on", "method", "village", "commune")
    return {
        "x": xy[:, 0].tolist(), "y": xy[:, 1].tolist(),
        "area": [number(v, digits=0) for v in column(plots, "area_m2")],
        "plants": [number(v, digits=0) for v in column(plots, "plant_count")],
        "m0": months_of(detected, base_month), "m1": months_of(eradicated, base_month),
        "props": [{k: text(v) for k, v in zip(keys, vals)} for vals in popup],
        "outlines": geometry.feature_collection(outlines, [{}] * len(outlines)),
    }


def point_features(frame: gpd.GeoDataFrame, fields: Sequence[str]) -> dict:
    """A point layer (crossings, posts, facilities) as GeoJSON points with ``fields``.

    Only the fields the frame has: a field the reader may not see (dropped before) is not
    even named on the page."""
    frame = _located(frame)
    fields = [f for f in fields if f in frame.columns]
    centre = frame.geometry.representative_point() if len(frame) else frame.geometry
    return geometry.feature_collection(
        geometry.round_geoms(centre.values, 5),
        [{f: text(v) for f, v in zip(fields, vals)}
         for vals in zip(*[column(frame, f) for f in fields])])


def kde_payload(frames: Mapping[str, pd.DataFrame], province: gpd.GeoDataFrame | None
                ) -> dict | None:
    """Kernel density (EPSG:32648) of cases and live retail points for the all-time heat map.

    None (the page then draws the raw points) when there are fewer than three points or the
    points cannot carry a surface (e.g. all in one place: no bandwidth).
    """
    parts = []
    if "cases" in frames and is_geo(frames["cases"]):
        parts.append(frames["cases"].geometry)
    if "retail_points" in frames and is_geo(frames["retail_points"]):
        pts = frames["retail_points"]
        parts.append(pts.geometry[(column(pts, "status") != "cleared").to_numpy()])
    geoms = [g for g in parts if len(g)]
    if not geoms:
        return None
    points = gpd.GeoDataFrame(geometry=pd.concat(geoms, ignore_index=True), crs=STORAGE_CRS)
    points = points[points.geometry.notna() & ~points.geometry.is_empty]
    if len(points) < 3:
        return None
    try:
        surface = kde(points, cell_size_m=KDE_CELL_M,
                      area=None if province is None else province.to_crs(METRIC_CRS))
    except ValueError:
        return None
    return {"cell_m": KDE_CELL_M, "bandwidth_m": round(surface.bandwidth_m),
            "data": surface.heat_data(min_share=0.02, precision=4)}


# ---------------------------------------------------------------- places, methadone access

def places_payload(places: gpd.GeoDataFrame) -> dict | None:
    """The complex places list (``complex_places``) as the page draws and lists it, in rank
    order: name, communes by name, level, score, methods and status as codes the page puts in
    words, reasons in both languages, evidence counts and the place's extent. No place id."""
    places = _located(places)
    if not len(places):
        return None
    if "rank" in places.columns:
        places = places.sort_values("rank", na_position="last", kind="stable")
    xy = np.round(shapely.get_coordinates(places.geometry.representative_point().values), 5)
    out = []
    for (x, y), rec in zip(xy, places.to_dict("records")):
        out.append({
            "at": [float(x), float(y)], "rank": number(rec.get("rank"), digits=0),
            "name": text(rec.get("name")), "communes": text(rec.get("commune_names")),
            "village": text(rec.get("village")),
            "level": text(rec.get("level")), "score": number(rec.get("score"), digits=1),
            "methods": [m for m in re.split(r"[;,\s]+", text(rec.get("methods")) or "") if m],
            "status": text(rec.get("status")), "change_vi": text(rec.get("change_vi")),
            "change_en": text(rec.get("change_en")),
            "n_evidence": number(rec.get("n_evidence"), digits=0),
            "n_commune_only": number(rec.get("n_commune_only"), digits=0),
            "extent_m": number(rec.get("extent_m"), digits=0),
            "reasons_vi": [_unnumbered(r) for r in split_reasons(rec.get("reasons_vi"))],
            "reasons_en": [_unnumbered(r) for r in split_reasons(rec.get("reasons_en"))],
        })
    return {"places": out}


def _unnumbered(reason: str) -> str:
    """A reason without its stored number ("1. …"): the page numbers the list itself."""
    return re.sub(r"^\d+\.\s*", "", reason)


METHADONE_BANDS_MIN: tuple[float, float] = (30.0, 60.0)


def methadone_payload(rows: gpd.GeoDataFrame) -> dict | None:
    """The methadone access layer (``methadone_access``, the latest year): per commune code
    the motorbike minutes to the nearest dispensing point, the people with records and the band
    (0: within 30 min, 1: 30–60, 2: beyond 60), and the candidate sites in rank order with
    their gain."""
    if not len(rows):
        return None
    years = pd.to_numeric(column(rows, "year"), errors="coerce")
    if years.notna().any():
        rows = rows[(years == years.max()).to_numpy()]
    kind = column(rows, "kind").astype("string")
    communes, sites = rows[(kind == "commune").to_numpy()], rows[(kind == "candidate_site").to_numpy()]
    lo, hi = METHADONE_BANDS_MIN
    table = {}
    for rec in communes.to_dict("records"):
        minutes = number(rec.get("minutes"), digits=1)
        band = None if minutes is None else 0 if minutes <= lo else 1 if minutes <= hi else 2
        table[str(rec.get("commune_code"))] = {
            "min": minutes, "people": number(rec.get("people"), digits=0), "band": band,
            "nearest": text(rec.get("nearest_point"))}
    sites = _located(sites)
    if "rank" in sites.columns:
        sites = sites.sort_values("rank", kind="stable")
    xy = np.round(shapely.get_coordinates(sites.geometry.representative_point().values), 5)
    out_sites = [{"at": [float(x), float(y)], "rank": number(rec.get("rank"), digits=0),
                  "commune": text(rec.get("commune_name")),
                  "gain": number(rec.get("gain_people"), digits=0),
                  "communes_gained": number(rec.get("communes_gained"), digits=0)}
                 for (x, y), rec in zip(xy, sites.to_dict("records"))]
    year = years.max()
    return {"year": None if pd.isna(year) else int(year), "bands_min": list(METHADONE_BANDS_MIN),
            "reach_min": _run_param(rows, "threshold_min"), "communes": table,
            "sites": out_sites}


def _run_param(rows: pd.DataFrame, name: str) -> Any:
    """A parameter of the run that wrote ``rows`` (its ``params`` JSON), or None."""
    for value in column(rows, "params").dropna().head(1):
        try:
            return json.loads(value).get(name)
        except (TypeError, ValueError, AttributeError):
            return None
    return None
