"""Where features lie relative to the Viet Nam–Laos border line: axis, chainage, distance, bands.

The border is read as one metric line (EPSG:32648) from its northern end (the Hủa Phăn /
Thanh Hóa end) to its southern end (Bô Ly Khăm Xay / Hà Tĩnh); ``chainage_km`` is the
distance along it from the northern end. Results are returned in EPSG:4326.
"""
from __future__ import annotations

from typing import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo_pcmt.crs import METRIC_CRS, STORAGE_CRS

DEFAULT_BANDS_KM = (0.0, 5.0, 15.0, 30.0)


def border_axis(border_line: gpd.GeoDataFrame) -> shapely.LineString:
    """The border as one metric LineString running from its northern end to its southern end."""
    metric = border_line.to_crs(METRIC_CRS)
    merged = shapely.line_merge(shapely.union_all(metric.geometry.values))
    if merged.geom_type != "LineString":
        # pieces that do not join: chain them end to end in the order of their northern ends
        parts = sorted(merged.geoms, key=lambda g: -max(g.coords[0][1], g.coords[-1][1]))
        coords = []
        for p in parts:
            c = list(p.coords)
            if coords and shapely.Point(coords[-1]).distance(shapely.Point(c[-1])) < \
                    shapely.Point(coords[-1]).distance(shapely.Point(c[0])):
                c.reverse()
            coords.extend(c)
        merged = shapely.LineString(coords)
    if merged.coords[0][1] < merged.coords[-1][1]:
        merged = shapely.reverse(merged)
    return merged


def distance_bands(province: gpd.GeoDataFrame, border_line: gpd.GeoDataFrame, *,
                   bands_km: Sequence[float] = DEFAULT_BANDS_KM) -> gpd.GeoDataFrame:
    """Distance bands from the border line, clipped to the province.

    Parameters
    ----------
    province : GeoDataFrame
        The province outline (EPSG:4326).
    border_line : GeoDataFrame
        The ``border_line`` layer.
    bands_km : sequence of float
        Band edges in km, increasing, starting at 0 (default 0, 5, 15, 30).

    Returns
    -------
    GeoDataFrame (EPSG:4326), one (Multi)Polygon per band: ``band`` (``"0-5"``),
    ``band_label`` (``"0–5 km"``), ``from_km``, ``to_km``, ``area_km2``.
    """
    edges = [float(b) for b in bands_km]
    if len(edges) < 2 or edges[0] != 0 or any(b <= a for a, b in zip(edges, edges[1:])):
        raise ValueError(f"bands_km must start at 0 and increase, got {list(bands_km)}")
    # 50 m of simplification is invisible at the scale of a band and makes the buffers five
    # times cheaper; which band a feature is in is decided by its exact distance, not by these
    axis = border_axis(border_line).simplify(50.0)
    prov = shapely.union_all(province.to_crs(METRIC_CRS).geometry.values)
    # a hair of buffer: the line lies on the province edge, rounding must not cut slivers
    prov_b = prov.buffer(1.0)
    rows, inner = [], None
    for a, b in zip(edges, edges[1:]):
        outer = axis.buffer(b * 1000, quad_segs=8).intersection(prov_b).intersection(prov)
        ring = outer if inner is None else outer.difference(inner)
        rows.append({"band": f"{a:g}-{b:g}", "band_label": f"{a:g}–{b:g} km", "from_km": a,
                     "to_km": b, "area_km2": round(ring.area / 1e6, 2), "geometry": ring})
        inner = outer
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=METRIC_CRS).to_crs(STORAGE_CRS)


def band_of(dist_km: np.ndarray, edges: Sequence[float]) -> np.ndarray:
    """Band label (``"0-5"``) of each distance in km; None beyond the last edge.

    Examples
    --------
    >>> band_of(np.array([0.0, 5.0, 5.1, 31.0]), [0.0, 5.0, 15.0, 30.0]).tolist()
    ['0-5', '0-5', '5-15', None]
    """
    out = np.full(len(dist_km), None, dtype=object)
    for a, b in zip(edges, edges[1:]):
        # the 0 km edge is closed, so points on the line itself are in the first band
        hit = (dist_km >= a) & (dist_km <= b) if a == edges[0] else (dist_km > a) & (dist_km <= b)
        out[hit & (out == None)] = f"{a:g}-{b:g}"  # noqa: E711
    return out


def segment_ranges(border_line: gpd.GeoDataFrame, axis: shapely.LineString) -> pd.DataFrame:
    """Chainage (km) from and to of each Lao province ``segment`` of the line, north first."""
    metric = border_line.to_crs(METRIC_CRS)
    rows = []
    for seg, geom in zip(metric["segment"], metric.geometry):
        coords = shapely.get_coordinates(geom)
        ch = shapely.line_locate_point(axis, shapely.points(coords[[0, -1]]))
        rows.append({"segment": seg, "from_km": float(ch.min()) / 1000,
                     "to_km": float(ch.max()) / 1000})
    return pd.DataFrame(rows).sort_values("from_km").reset_index(drop=True)


def segment_at(chainage_km: np.ndarray, ranges: pd.DataFrame) -> np.ndarray:
    """The segment (of :func:`segment_ranges`) each chainage in km falls in."""
    mids = ranges["to_km"].to_numpy()
    idx = np.searchsorted(mids, chainage_km, side="left")
    idx = np.clip(idx, 0, len(ranges) - 1)
    return ranges["segment"].to_numpy(dtype=object)[idx]


def project_on_axis(geoms: np.ndarray, axis: shapely.LineString, *,
                    max_distance_m: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Distance (m) from each geometry to ``axis`` and chainage (m) of its nearest point on it.

    The axis is cut into its straight pieces and indexed in an STRtree, so each geometry is
    measured against the one nearest piece only (exact, and far faster than projecting onto
    a 5,000-vertex line). Geometries farther than ``max_distance_m`` get NaN (and cost
    almost nothing).
    """
    coords = shapely.get_coordinates(axis)
    segs = shapely.linestrings(np.stack([coords[:-1], coords[1:]], axis=1))
    cum = np.concatenate([[0.0], np.cumsum(np.hypot(*(coords[1:] - coords[:-1]).T))])
    tree = shapely.STRtree(segs)
    (src, seg_i), dist = tree.query_nearest(geoms, max_distance=max_distance_m,
                                            return_distance=True, all_matches=False)
    order = np.argsort(src)
    src, seg_i, dist = src[order], seg_i[order], dist[order]
    # the end of the shortest line from a geometry to its nearest piece lies on that piece
    near = shapely.get_coordinates(shapely.get_point(shapely.shortest_line(geoms[src],
                                                                            segs[seg_i]), 1))
    chain = cum[seg_i] + np.hypot(*(near - coords[seg_i]).T)
    out_d = np.full(len(geoms), np.nan)
    out_c = np.full(len(geoms), np.nan)
    out_d[src], out_c[src] = dist, chain
    return out_d, out_c


def locate_along_border(frame: gpd.GeoDataFrame, border_line: gpd.GeoDataFrame, *,
                        bands_km: Sequence[float] = DEFAULT_BANDS_KM,
                        max_km: float | None = None) -> pd.DataFrame:
    """Where each feature lies relative to the border.

    Returns
    -------
    DataFrame aligned with ``frame``: ``dist_border_km`` (shortest distance to the line; for a
    polygon, from its nearest point), ``chainage_km`` (along the line from the northern end, of
    the nearest point on the line), ``segment`` (Lao province the nearest stretch faces) and
    ``band`` (``"0-5"``, ``"5-15"``, ``"15-30"`` or None beyond the last edge). With
    ``max_km``, features farther than that get NaN distance and chainage.
    """
    axis = border_axis(border_line)
    ranges = segment_ranges(border_line, axis)
    geoms = frame.to_crs(METRIC_CRS).geometry.values
    n = len(geoms)
    dist = np.full(n, np.nan)
    chain = np.full(n, np.nan)
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms)) if n else np.zeros(0, bool)
    if ok.any():
        d, c = project_on_axis(geoms[ok], axis,
                               max_distance_m=None if max_km is None else max_km * 1000)
        dist[ok], chain[ok] = d / 1000, c / 1000
    seg = np.full(n, None, dtype=object)
    near = ~np.isnan(chain)
    if near.any():
        seg[near] = segment_at(chain[near], ranges)
    return pd.DataFrame({"dist_border_km": dist, "chainage_km": chain, "segment": seg,
                         "band": band_of(dist, [float(b) for b in bands_km])},
                        index=frame.index)


def commune_stretches(axis: shapely.LineString, corridor: gpd.GeoDataFrame
                       ) -> tuple[list, list]:
    """First and last chainage (km) of the border stretch each border commune faces."""
    coords = shapely.get_coordinates(axis)
    cum = np.concatenate([[0.0], np.cumsum(np.hypot(*(coords[1:] - coords[:-1]).T))])
    mids = shapely.points((coords[:-1] + coords[1:]) / 2)
    cm = corridor.to_crs(METRIC_CRS)
    is_b = cm["is_border"].fillna(False).to_numpy(dtype=bool)
    lo = [None] * len(cm)
    hi = [None] * len(cm)
    if not is_b.any():
        return lo, hi
    polys = cm.geometry.values[is_b]
    (seg_i, poly_i) = shapely.STRtree(polys).query_nearest(mids, max_distance=100.0,
                                                            all_matches=False)
    rows = np.flatnonzero(is_b)
    for k in np.unique(poly_i):
        segs = seg_i[poly_i == k]
        lo[rows[k]] = float(cum[segs.min()]) / 1000
        hi[rows[k]] = float(cum[segs.max() + 1]) / 1000
    return lo, hi
