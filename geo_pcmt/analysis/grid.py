"""Hexagonal grids in metres (EPSG:32648), point counts per cell, and spatial weights.

Why metric hexagons rather than H3: every distance in geo_pcmt is computed in WGS 84 /
UTM 48N, so a hexagon drawn in that CRS has exactly the size asked for (``cell_size_m``) and
all cells have the same area — Gi* compares counts between cells, and H3 cells vary in area
with latitude and come only in fixed resolutions (≈ ×7 area per step: 0.74 km² or 5.2 km²,
nothing in between). Metric hexagons also need no new dependency and their ids are stable:
a cell's id is its axial coordinate on a lattice anchored at the CRS origin, so the same
``cell_size_m`` gives the same cell ids on every run, for every area and every time step.

Geometry of the lattice ("pointy-top" hexagons, axial coordinates ``q, r``):

* ``cell_size_m`` is the distance between the centres of two neighbouring cells (equal to
  the flat-to-flat width of a cell); the circumradius is ``cell_size_m / √3`` and the area
  ``(√3 / 2) · cell_size_m²`` (2 000 m → 3.46 km², 1 000 m → 0.87 km²).
* centre: ``x = s·(q + r/2)``, ``y = s·(√3/2)·r`` with ``s = cell_size_m``.
* cell id: ``"h<cell_size_m>:<q>:<r>"``, e.g. ``"h2000:61:1180"``.
"""
from __future__ import annotations

import math
from typing import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.spatial import cKDTree

from geo_pcmt.crs import METRIC_CRS, STORAGE_CRS, transform_xy

SQRT3 = math.sqrt(3.0)
# axial offsets of the six neighbours of a pointy-top hexagon
_NEIGHBOUR_OFFSETS = ((1, 0), (1, -1), (0, -1), (-1, 0), (-1, 1), (0, 1))


def _check_size(cell_size_m: float) -> float:
    size = float(cell_size_m)
    if not math.isfinite(size) or size <= 0:
        raise ValueError(f"cell_size_m must be a positive number of metres, got {cell_size_m!r}")
    return size


def hex_centres(q: np.ndarray, r: np.ndarray, cell_size_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Centres (x, y) in EPSG:32648 metres of the cells with axial coordinates ``q, r``."""
    size = _check_size(cell_size_m)
    q = np.asarray(q, dtype=float)
    r = np.asarray(r, dtype=float)
    return size * (q + r / 2.0), size * (SQRT3 / 2.0) * r


def hex_of_xy(x: np.ndarray, y: np.ndarray, cell_size_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Axial coordinates ``(q, r)`` of the cells containing metric points ``(x, y)``.

    Uses cube-coordinate rounding, so points exactly on an edge go to one cell consistently.
    """
    size = _check_size(cell_size_m)
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    rf = y / (size * SQRT3 / 2.0)
    qf = x / size - rf / 2.0
    sf = -qf - rf
    q, r, s = np.round(qf), np.round(rf), np.round(sf)
    dq, dr, ds = np.abs(q - qf), np.abs(r - rf), np.abs(s - sf)
    fix_q = (dq > dr) & (dq > ds)
    fix_r = ~fix_q & (dr > ds)
    q = np.where(fix_q, -r - s, q)
    r = np.where(fix_r, -q - s, r)
    return q.astype(np.int64), r.astype(np.int64)


def cell_ids(q: np.ndarray, r: np.ndarray, cell_size_m: float) -> np.ndarray:
    """Stable text ids ``"h<size>:<q>:<r>"`` of cells."""
    size = _check_size(cell_size_m)
    tag = f"h{size:g}:"
    return np.array([f"{tag}{a}:{b}" for a, b in zip(np.asarray(q).tolist(),
                                                    np.asarray(r).tolist())], dtype=object)


def hex_polygons(q: np.ndarray, r: np.ndarray, cell_size_m: float) -> np.ndarray:
    """Shapely hexagons (EPSG:32648) for the given axial coordinates."""
    cx, cy = hex_centres(q, r, cell_size_m)
    radius = _check_size(cell_size_m) / SQRT3
    angles = np.deg2rad(np.arange(6) * 60.0 - 30.0)  # pointy-top: vertices at ±30°, 90°, …
    vx = cx[:, None] + radius * np.cos(angles)[None, :]
    vy = cy[:, None] + radius * np.sin(angles)[None, :]
    ring = np.stack([vx, vy], axis=-1)
    ring = np.concatenate([ring, ring[:, :1]], axis=1)  # close the ring
    return shapely.polygons(ring)


def metric_area(area) -> shapely.Geometry:
    """One metric (EPSG:32648) geometry from a GeoDataFrame/GeoSeries/geometry."""
    if isinstance(area, (gpd.GeoDataFrame, gpd.GeoSeries)):
        if area.crs is None:
            raise ValueError("area has no CRS; give it one (EPSG:4326 or EPSG:32648)")
        geoms = area.to_crs(METRIC_CRS).geometry.values if isinstance(area, gpd.GeoDataFrame) \
            else area.to_crs(METRIC_CRS).values
        return shapely.union_all(np.asarray(geoms, dtype=object))
    if isinstance(area, shapely.Geometry):
        return area  # a bare geometry is taken to be metric already
    raise TypeError(f"area must be a GeoDataFrame, GeoSeries or shapely geometry, got {type(area)}")


def hex_grid(area, cell_size_m: float = 2000.0) -> gpd.GeoDataFrame:
    """Hexagons of the lattice that intersect ``area``.

    Parameters
    ----------
    area : GeoDataFrame, GeoSeries or shapely geometry
        Study area (e.g. ``boundaries.province()``); frames are reprojected to EPSG:32648,
        a bare shapely geometry is taken to be in EPSG:32648 already.
    cell_size_m : float
        Distance between neighbouring cell centres, in metres (default 2 000 m: ≈ 4 800
        cells over Nghệ An's 16 490 km², enough cells for Gi* and a few points per cell).

    Returns
    -------
    GeoDataFrame in EPSG:4326 with columns ``cell`` (stable id), ``q``, ``r`` (axial
    coordinates), ``x_m``, ``y_m`` (centre in EPSG:32648) and the hexagon geometry. The
    frame's ``attrs["cell_size_m"]`` records the size.

    Examples
    --------
    >>> grid = hex_grid(shapely.box(470_000, 2_180_000, 476_000, 2_184_000), cell_size_m=2000)
    >>> len(grid), grid["cell"].iloc[0], grid.attrs["cell_size_m"], grid.crs.to_epsg()
    (18, 'h2000:-394:1258', 2000.0, 4326)
    """
    size = _check_size(cell_size_m)
    geom = metric_area(area)
    if geom.is_empty:
        raise ValueError("area is empty")
    minx, miny, maxx, maxy = geom.bounds
    r_lo = int(math.floor(miny / (size * SQRT3 / 2.0))) - 1
    r_hi = int(math.ceil(maxy / (size * SQRT3 / 2.0))) + 1
    rr = np.arange(r_lo, r_hi + 1)
    # q range per row so that the row covers [minx, maxx]
    q_lo = np.floor(minx / size - rr / 2.0).astype(np.int64) - 1
    q_hi = np.ceil(maxx / size - rr / 2.0).astype(np.int64) + 1
    counts = q_hi - q_lo + 1
    r = np.repeat(rr, counts)
    q = np.concatenate([np.arange(a, b + 1) for a, b in zip(q_lo, q_hi)])
    polys = hex_polygons(q, r, size)
    shapely.prepare(geom)
    keep = shapely.intersects(geom, polys)
    q, r, polys = q[keep], r[keep], polys[keep]
    cx, cy = hex_centres(q, r, size)
    out = gpd.GeoDataFrame({
        "cell": cell_ids(q, r, size), "q": q, "r": r, "x_m": cx, "y_m": cy,
    }, geometry=gpd.GeoSeries(polys, crs=METRIC_CRS).to_crs(STORAGE_CRS).values, crs=STORAGE_CRS)
    out.attrs["cell_size_m"] = size
    return out


def metric_xy(points: gpd.GeoDataFrame | gpd.GeoSeries) -> tuple[np.ndarray, np.ndarray]:
    """x, y in EPSG:32648 of point geometries (polygons use their representative point).

    Points are reprojected as coordinate arrays with one pyproj Transformer
    (:func:`geo_pcmt.crs.transform_xy`), never geometry by geometry. A frame of points that
    already carries its metric position in ``x_m`` / ``y_m`` (as
    :func:`geo_pcmt.analysis.clusters.combine_points` makes) is read from those columns,
    after a spot check that they agree with the geometry.
    """
    geoms = points.geometry if isinstance(points, gpd.GeoDataFrame) else points
    if geoms.crs is None:
        raise ValueError("points have no CRS; expected EPSG:4326 (lon/lat) or EPSG:32648")
    if len(geoms) == 0:
        return np.empty(0), np.empty(0)
    arr = np.asarray(geoms.values, dtype=object)
    bad = shapely.is_missing(arr) | shapely.is_empty(arr)
    if bad.any():
        row = geoms.index[np.flatnonzero(bad)[0]]
        raise ValueError(f"row {row}: geometry is missing or empty")
    not_point = shapely.get_type_id(arr) != 0
    if not not_point.any() and isinstance(points, gpd.GeoDataFrame):
        known = _known_metric_xy(points, arr)
        if known is not None:
            return known
    is_metric = geoms.crs.equals(METRIC_CRS)
    x, y = np.empty(len(arr)), np.empty(len(arr))
    pts = ~not_point
    if pts.any():
        px, py = shapely.get_x(arr[pts]), shapely.get_y(arr[pts])
        x[pts], y[pts] = (px, py) if is_metric else transform_xy(px, py, geoms.crs, METRIC_CRS)
    if not_point.any():
        # polygons: the point on the surface of the metric shape, as before
        other = gpd.GeoSeries(arr[not_point], crs=geoms.crs)
        other = other if is_metric else other.to_crs(METRIC_CRS)
        rep = shapely.point_on_surface(np.asarray(other.values, dtype=object))
        x[not_point], y[not_point] = shapely.get_x(rep), shapely.get_y(rep)
    return x, y


def _known_metric_xy(points: gpd.GeoDataFrame, arr: np.ndarray,
                     tolerance_m: float = 0.01) -> tuple[np.ndarray, np.ndarray] | None:
    """``x_m`` / ``y_m`` of a frame of points when they are where the geometry is.

    Up to 64 rows spread over the frame are reprojected and compared (to ``tolerance_m``);
    if any differs, or a value is missing, the columns are not used.
    """
    if not {"x_m", "y_m"} <= set(points.columns):
        return None
    x = pd.to_numeric(points["x_m"], errors="coerce").to_numpy(float)
    y = pd.to_numeric(points["y_m"], errors="coerce").to_numpy(float)
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        return None
    probe = np.unique(np.linspace(0, len(arr) - 1, min(64, len(arr))).astype(np.int64))
    px, py = shapely.get_x(arr[probe]), shapely.get_y(arr[probe])
    if not points.crs.equals(METRIC_CRS):
        px, py = transform_xy(px, py, points.crs, METRIC_CRS)
    if np.max(np.hypot(px - x[probe], py - y[probe])) > tolerance_m:
        return None
    return x, y


def aggregate_to_hexes(grid: gpd.GeoDataFrame, points: gpd.GeoDataFrame, *,
                       weight_column: str | None = None, value_name: str = "value",
                       cell_size_m: float | None = None) -> gpd.GeoDataFrame:
    """Sum of point weights (or counts) per cell of ``grid``; cells without points get 0.

    Parameters
    ----------
    grid : GeoDataFrame from :func:`hex_grid`
    points : GeoDataFrame of points (any CRS; polygons count at a point on their surface)
    weight_column : str, optional
        Column to sum (e.g. ``"area_m2"`` of opium plots, or a per-layer ``weight``);
        missing values count as 0. Without it each point counts 1.
    value_name : str
        Name of the output column.
    cell_size_m : float, optional
        Defaults to ``grid.attrs["cell_size_m"]``.

    Returns
    -------
    A copy of ``grid`` with ``value_name``; ``attrs["outside"]`` is the number of points
    that fell outside every cell (not counted).
    """
    size = _check_size(cell_size_m if cell_size_m is not None else grid.attrs.get("cell_size_m"))
    out = grid.copy()
    out.attrs = dict(grid.attrs)
    if weight_column is not None and weight_column not in points.columns:
        raise KeyError(f"points have no column {weight_column!r}")
    x, y = metric_xy(points)
    if weight_column is None:
        w = np.ones(len(x))
    else:
        w = pd.to_numeric(points[weight_column], errors="coerce").fillna(0.0).to_numpy(float)
    q, r = hex_of_xy(x, y, size)
    idx = lookup_cells(grid["q"].to_numpy(), grid["r"].to_numpy(), q, r)
    inside = idx >= 0
    values = np.bincount(idx[inside], weights=w[inside], minlength=len(grid))
    out[value_name] = values
    out.attrs["outside"] = int((~inside).sum())
    return out


def _keys(q: np.ndarray, r: np.ndarray) -> np.ndarray:
    # pack two int32-range coordinates into one int64 key for sorted lookups
    return (np.asarray(q, dtype=np.int64) << 32) + (np.asarray(r, dtype=np.int64) & 0xFFFFFFFF)


def lookup_cells(grid_q: np.ndarray, grid_r: np.ndarray, q: np.ndarray,
                 r: np.ndarray) -> np.ndarray:
    """Row index in the grid of each (q, r), or -1 when the cell is not in the grid."""
    want = _keys(q, r)
    out = np.full(len(want), -1, dtype=np.int64)
    keys = _keys(grid_q, grid_r)
    if len(keys) == 0:
        return out
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    pos = np.minimum(np.searchsorted(sorted_keys, want), len(sorted_keys) - 1)
    found = sorted_keys[pos] == want
    out[found] = order[pos[found]]
    return out


# --- spatial weights (scipy.sparse CSR, binary, zero diagonal) --------------------------

def hex_contiguity(grid: gpd.GeoDataFrame | pd.DataFrame, *, rings: int = 1) -> sp.csr_matrix:
    """Binary contiguity weights between the cells of a hex grid (no self weight).

    Two cells are neighbours when they share an edge (``rings=1``: six neighbours inside the
    grid); ``rings=2`` adds the second ring (18 neighbours). Found by axial-coordinate
    lookup, not by geometry, so it is exact and fast.

    Returns
    -------
    scipy.sparse.csr_matrix of shape (n, n), float64, symmetric, zero diagonal.
    """
    q = grid["q"].to_numpy(np.int64)
    r = grid["r"].to_numpy(np.int64)
    n = len(q)
    offsets = set()
    for ring in range(1, rings + 1):
        for dq in range(-ring, ring + 1):
            for dr in range(-ring, ring + 1):
                if max(abs(dq), abs(dr), abs(dq + dr)) == ring:
                    offsets.add((dq, dr))
    rows, cols = [], []
    for dq, dr in sorted(offsets):
        j = lookup_cells(q, r, q + dq, r + dr)
        ok = j >= 0
        rows.append(np.flatnonzero(ok))
        cols.append(j[ok])
    rows_a = np.concatenate(rows) if rows else np.empty(0, np.int64)
    cols_a = np.concatenate(cols) if cols else np.empty(0, np.int64)
    return sp.csr_matrix((np.ones(len(rows_a)), (rows_a, cols_a)), shape=(n, n))


def distance_band(x_m: Sequence[float], y_m: Sequence[float], threshold_m: float) -> sp.csr_matrix:
    """Binary weights: 1 between distinct locations at most ``threshold_m`` apart.

    Returns
    -------
    scipy.sparse.csr_matrix (n, n), symmetric, zero diagonal.
    """
    if not threshold_m > 0:
        raise ValueError(f"threshold_m must be > 0, got {threshold_m!r}")
    xy = np.column_stack([np.asarray(x_m, float), np.asarray(y_m, float)])
    n = len(xy)
    pairs = cKDTree(xy).query_pairs(float(threshold_m), output_type="ndarray")
    rows = np.concatenate([pairs[:, 0], pairs[:, 1]])
    cols = np.concatenate([pairs[:, 1], pairs[:, 0]])
    return sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))


def polygon_contiguity(polygons: gpd.GeoDataFrame | gpd.GeoSeries, *,
                       kind: str = "queen") -> sp.csr_matrix:
    """Binary contiguity between polygons (e.g. the 130 communes).

    ``kind="queen"``: neighbours share at least one boundary point (as
    ``libpysal.weights.Queen`` on clean topology); ``"rook"``: they share a boundary
    segment of non-zero length.

    Returns
    -------
    scipy.sparse.csr_matrix (n, n), symmetric, zero diagonal.
    """
    if kind not in ("queen", "rook"):
        raise ValueError(f"kind must be 'queen' or 'rook', got {kind!r}")
    geoms = polygons.geometry if isinstance(polygons, gpd.GeoDataFrame) else polygons
    if geoms.crs is not None and not geoms.crs.equals(METRIC_CRS):
        geoms = geoms.to_crs(METRIC_CRS)
    arr = np.asarray(geoms.values, dtype=object)
    n = len(arr)
    a, b = shapely.STRtree(arr).query(arr, predicate="intersects")
    keep = a < b
    a, b = a[keep], b[keep]
    if kind == "rook" and len(a):
        shared = shapely.intersection(shapely.boundary(arr[a]), shapely.boundary(arr[b]))
        ok = shapely.length(shared) > 0
        a, b = a[ok], b[ok]
    rows = np.concatenate([a, b])
    cols = np.concatenate([b, a])
    return sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
