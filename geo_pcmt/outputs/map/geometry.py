"""Geometry for the page: simplified and rounded shapes as GeoJSON, distance bands, post areas.

Boundaries are the same on every page view: their simplified forms and the distance bands are
remembered by content (a pure function of the geometries, so the cache cannot go stale).
"""
from __future__ import annotations

import json
from functools import lru_cache
from typing import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo_pcmt.analysis.progress import distance_bands as progress_distance_bands
from geo_pcmt.crs import METRIC_CRS, STORAGE_CRS
from geo_pcmt.layers import area_codes
from geo_pcmt.outputs.map.overlays import DISTANCE_BANDS_KM
from geo_pcmt.values import text


def round_geoms(geoms: np.ndarray, decimals: int) -> np.ndarray:
    """Coordinates rounded to ``decimals`` (5 ≈ 1 m in lon/lat): a smaller page."""
    return shapely.transform(geoms, lambda xy: np.round(xy, decimals))


def feature_collection(geoms: Sequence, props: Sequence[dict]) -> dict:
    """A GeoJSON FeatureCollection; missing and empty geometries are left out."""
    feats = []
    for g, p in zip(geoms, props):
        if g is None or shapely.is_empty(g):
            continue
        feats.append({"type": "Feature", "geometry": json.loads(shapely.to_geojson(g)),
                      "properties": p})
    return {"type": "FeatureCollection", "features": feats}


def _wkb(frame: gpd.GeoDataFrame) -> tuple[bytes | None, ...]:
    return tuple(shapely.to_wkb(frame.to_crs(STORAGE_CRS).geometry.values))


def simplified(frame: gpd.GeoDataFrame, tolerance_m: float) -> np.ndarray:
    """Geometries simplified in metres (EPSG:32648) and returned in lon/lat, rounded to ~1 m."""
    return _simplified_wkb(_wkb(frame), float(tolerance_m))


@lru_cache(maxsize=32)
def _simplified_wkb(wkb: tuple[bytes | None, ...], tolerance_m: float) -> np.ndarray:
    geoms = gpd.GeoSeries(shapely.from_wkb(np.array(wkb, dtype=object)), crs=STORAGE_CRS)
    if tolerance_m > 0:
        geoms = geoms.to_crs(METRIC_CRS).simplify(tolerance_m, preserve_topology=True)
        geoms = geoms.to_crs(STORAGE_CRS)
    return round_geoms(geoms.values, 5)


def distance_bands(border: gpd.GeoDataFrame, province: gpd.GeoDataFrame) -> dict:
    """Bands 0–5, 5–15, 15–30 km from the border line inside the province, as GeoJSON.

    The bands are :func:`geo_pcmt.analysis.progress.distance_bands`, drawn at province scale.
    """
    return json.loads(_bands_wkb(_wkb(border), _wkb(province)))


@lru_cache(maxsize=8)
def _bands_wkb(border_wkb: tuple, province_wkb: tuple) -> str:
    def frame(wkb: tuple) -> gpd.GeoDataFrame:
        return gpd.GeoDataFrame(geometry=shapely.from_wkb(np.array(wkb, dtype=object)),
                                crs=STORAGE_CRS)
    bands = progress_distance_bands(frame(province_wkb), frame(border_wkb),
                                    bands_km=(0.0,) + tuple(DISTANCE_BANDS_KM))
    geoms = round_geoms(bands.to_crs(METRIC_CRS).simplify(150).to_crs(STORAGE_CRS).values, 4)
    return json.dumps(feature_collection(geoms, [{"lo": float(a), "hi": float(b)} for a, b in
                                                 zip(bands["from_km"], bands["to_km"])]))


def province_outline(province: gpd.GeoDataFrame | None,
                     communes: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame | None:
    """The province, or the union of its communes when no outline was given."""
    if province is not None and len(province):
        return province
    if communes is None or not len(communes):
        return None
    outline = _union_wkb(_wkb(communes))
    return gpd.GeoDataFrame(geometry=[shapely.from_wkb(outline)], crs=STORAGE_CRS)


@lru_cache(maxsize=4)
def _union_wkb(wkb: tuple) -> bytes:
    return shapely.to_wkb(shapely.union_all(shapely.from_wkb(np.array(wkb, dtype=object))))


def post_key(position: int) -> str:
    """The page's key of the border post at ``position`` in the posts frame (its area and its
    row of the headline share it; the post's record id never reaches the page)."""
    return f"post-{position + 1}"


def post_areas(posts: pd.DataFrame, communes: gpd.GeoDataFrame, tolerance_m: float) -> dict:
    """Each border post's area of responsibility (the union of its communes) as GeoJSON."""
    geoms, props = [], []
    by_code = communes.set_index(communes["code"].astype(str)).geometry
    for i, row in enumerate(posts.itertuples(index=False)):
        aor = [c for c in area_codes(getattr(row, "area_of_responsibility", None))
               if c in by_code.index]
        if not aor:
            continue
        geoms.append(shapely.union_all(by_code.loc[aor].values))
        props.append({"key": post_key(i), "name": text(row.name)})
    if not geoms:
        return feature_collection([], [])
    series = gpd.GeoSeries(geoms, crs=communes.crs)
    return feature_collection(simplified(gpd.GeoDataFrame(geometry=series), max(tolerance_m, 60)),
                              props)
