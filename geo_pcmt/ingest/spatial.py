"""Spatial helpers shared by ingest and analysis: commune assignment, metric projection."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from geo_pcmt.crs import METRIC_CRS


def assign_communes(points: gpd.GeoSeries | np.ndarray, communes: gpd.GeoDataFrame,
                    *, code_column: str = "code") -> np.ndarray:
    """Code of the commune containing each point (``None`` outside every commune).

    Candidate communes come from an STRtree over the commune polygons (bounding boxes);
    the exact test is ``shapely.contains_xy`` on each prepared polygon, one vectorised call
    per commune. Points on a shared boundary go to the first commune that contains them.

    Parameters
    ----------
    points : GeoSeries or array of shapely Points, EPSG:4326 like ``communes``
    communes : GeoDataFrame with polygons and ``code_column``

    Returns
    -------
    numpy.ndarray of object, one code (or None) per point

    Examples
    --------
    >>> from geo_pcmt.ingest import boundaries
    >>> points = shapely.points([104.17, 105.69, 0.0], [19.41, 18.67, 0.0])
    >>> assign_communes(points, boundaries.communes()).tolist()  # Nậm Cắn, Trường Vinh, sea
    ['16837', '16690', None]
    """
    geoms = np.asarray(points.values if hasattr(points, "values") else points, dtype=object)
    polys = np.asarray(communes.geometry.values, dtype=object)
    codes = communes[code_column].to_numpy(dtype=object)
    out = np.full(len(geoms), None, dtype=object)
    if len(geoms) == 0:
        return out
    valid = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    x = np.full(len(geoms), np.nan)
    y = np.full(len(geoms), np.nan)
    x[valid] = shapely.get_x(geoms[valid])
    y[valid] = shapely.get_y(geoms[valid])
    tree = shapely.STRtree(polys)
    pt_idx, poly_idx = tree.query(geoms[valid], predicate=None)
    pt_idx = np.flatnonzero(valid)[pt_idx]
    order = np.argsort(poly_idx, kind="stable")
    pt_idx, poly_idx = pt_idx[order], poly_idx[order]
    splits = np.flatnonzero(np.diff(poly_idx)) + 1
    for pts, polys_i in zip(np.split(pt_idx, splits), np.split(poly_idx, splits)):
        if len(pts) == 0:
            continue
        poly = polys[polys_i[0]]
        shapely.prepare(poly)
        todo = pts[out[pts] == None]  # noqa: E711  (object array comparison)
        hit = shapely.contains_xy(poly, x[todo], y[todo])
        out[todo[hit]] = codes[polys_i[0]]
    return out


def to_metric(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The frame in WGS 84 / UTM 48N (metres)."""
    return frame.to_crs(METRIC_CRS)
