"""Kernel density surfaces in metres (EPSG:32648) for the heat-map layer.

Why metres: scikit-learn's ``KernelDensity`` accepts the haversine metric but only the
Euclidean normalisation is right (DOMAIN.md §5), so points are projected to WGS 84 / UTM 48N
and the density is per km² of that plane.

Bandwidth rule (when ``bandwidth_m`` is not given) — the spatial variant of Silverman's rule
of thumb that ArcGIS's *Kernel Density* tool uses for its default search radius::

    h = 0.9 · min(SD, √(1 / ln 2) · D_m) · n^(−0.2)

``SD`` is the (weighted) standard distance of the points from their mean centre, ``D_m`` the
(weighted) median distance to the mean centre, ``n`` the number of points (or the sum of the
weights). Taking the smaller of the two spreads keeps a few far-away points from blurring
the whole surface. ``h`` is the radius of the quartic kernel (ArcGIS's kernel, zero beyond
``h``) or the standard deviation of the Gaussian kernel.

The surface is computed by binning the weights on a square grid (cell ≤ h/4) and
convolving with the kernel sampled on the same grid and renormalised to sum 1, so the
total weight is preserved (up to what spills past the grid edge); it agrees with an exact
kernel sum to within a few per cent wherever the density matters (tested).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import ndimage, signal

from geo_pcmt.crs import METRIC_CRS, STORAGE_CRS
from geo_pcmt.analysis.grid import metric_xy

KERNELS = ("quartic", "gaussian")


def bandwidth_rule_m(x_m, y_m, weights=None) -> float:
    """The default bandwidth (m) from the rule in the module docstring.

    Returns at least 1 m; raises ``ValueError`` for fewer than two distinct points.
    """
    x = np.asarray(x_m, dtype=float)
    y = np.asarray(y_m, dtype=float)
    w = np.ones(len(x)) if weights is None else np.asarray(weights, dtype=float)
    if len(x) < 2 or w.sum() <= 0:
        raise ValueError("the bandwidth rule needs at least two points with positive weight")
    cx = np.average(x, weights=w)
    cy = np.average(y, weights=w)
    d = np.hypot(x - cx, y - cy)
    sd = math.sqrt(np.average(d ** 2, weights=w))
    order = np.argsort(d)
    cum = np.cumsum(w[order])
    dm = float(d[order][np.searchsorted(cum, cum[-1] / 2.0)])
    spread = min(sd, math.sqrt(1.0 / math.log(2.0)) * dm)
    if spread <= 0:
        raise ValueError("all points are at the same place; give bandwidth_m explicitly")
    return max(1.0, 0.9 * spread * float(w.sum()) ** -0.2)


@dataclass(frozen=True)
class DensitySurface:
    """A kernel density surface on a square grid in EPSG:32648.

    Attributes
    ----------
    density_per_km2 : ndarray, shape (ny, nx)
        Expected weight (points, or summed weights) per km². Row ``i`` is at northing
        ``y_m[i]`` (row 0 is the *southernmost*), column ``j`` at easting ``x_m[j]``;
        cells outside the study area are ``NaN``.
    x_m, y_m : ndarray
        Cell-centre eastings (nx,) and northings (ny,) in EPSG:32648 metres.
    cell_size_m, bandwidth_m : float
        Grid spacing and kernel bandwidth (quartic radius or Gaussian σ) in metres.
    kernel : str
        ``"quartic"`` or ``"gaussian"``.
    total_weight : float
        Sum of the point weights that went in.
    bandwidth_rule : str
        ``"given"`` or ``"arcgis-silverman"`` (how ``bandwidth_m`` was chosen).
    """

    density_per_km2: np.ndarray
    x_m: np.ndarray
    y_m: np.ndarray
    cell_size_m: float
    bandwidth_m: float
    kernel: str
    total_weight: float
    bandwidth_rule: str = "given"
    params: dict = field(default_factory=dict)

    @property
    def max_density_per_km2(self) -> float:
        vals = self.density_per_km2[np.isfinite(self.density_per_km2)]
        return float(vals.max()) if vals.size else 0.0

    def to_points(self, *, min_share: float = 0.01) -> gpd.GeoDataFrame:
        """Cell centres with a density of at least ``min_share`` of the maximum.

        Returns
        -------
        GeoDataFrame in EPSG:4326 (Point) with columns ``density_per_km2``, ``share``
        (density / maximum, 0–1, the value a heat map wants), ``x_m``, ``y_m``; sorted by
        density, highest first. Empty when the surface is all zero.
        """
        top = self.max_density_per_km2
        if top <= 0:
            empty = pd.DataFrame({"density_per_km2": [], "share": [], "x_m": [], "y_m": []})
            return gpd.GeoDataFrame(empty, geometry=gpd.GeoSeries([], crs=STORAGE_CRS),
                                    crs=STORAGE_CRS)
        dens = np.where(np.isfinite(self.density_per_km2), self.density_per_km2, 0.0)
        iy, ix = np.nonzero(dens >= min_share * top)
        vals = dens[iy, ix]
        order = np.argsort(-vals, kind="stable")
        iy, ix, vals = iy[order], ix[order], vals[order]
        x, y = self.x_m[ix], self.y_m[iy]
        geom = gpd.GeoSeries(shapely.points(x, y), crs=METRIC_CRS).to_crs(STORAGE_CRS)
        return gpd.GeoDataFrame({"density_per_km2": vals, "share": vals / top, "x_m": x,
                                 "y_m": y}, geometry=geom.values, crs=STORAGE_CRS)

    def heat_data(self, *, min_share: float = 0.01, precision: int = 5) -> list[list[float]]:
        """``[[lat, lon, share], …]`` — the input of ``folium.plugins.HeatMap``.

        ``share`` is density / maximum (0–1); cells under ``min_share`` are left out.
        """
        pts = self.to_points(min_share=min_share)
        lat = np.round(pts.geometry.y.to_numpy(), precision)
        lon = np.round(pts.geometry.x.to_numpy(), precision)
        share = np.round(pts["share"].to_numpy(), 4)
        return [[float(a), float(b), float(c)] for a, b, c in zip(lat, lon, share)]


def _kernel_stencil(kernel: str, bandwidth_m: float, cell_size_m: float) -> np.ndarray:
    """The kernel sampled at cell offsets, normalised to sum 1 (mass-preserving)."""
    reach = bandwidth_m if kernel == "quartic" else 4.0 * bandwidth_m
    r = int(math.ceil(reach / cell_size_m))
    off = np.arange(-r, r + 1) * cell_size_m
    dx, dy = np.meshgrid(off, off)
    d2 = (dx ** 2 + dy ** 2) / bandwidth_m ** 2
    if kernel == "quartic":
        k = np.where(d2 < 1.0, (1.0 - d2) ** 2, 0.0)
    else:
        k = np.exp(-0.5 * d2)
    if k.sum() == 0:  # bandwidth far below the cell size: all mass stays in its cell
        k[r, r] = 1.0
    return k / k.sum()


def _point_weights(points: gpd.GeoDataFrame, weight_column: str | None, n: int) -> np.ndarray:
    """Weight of each point: 1, or ``weight_column`` (missing → 0; negative is an error)."""
    if weight_column is None:
        return np.ones(n)
    if weight_column not in points.columns:
        raise KeyError(f"points have no column {weight_column!r}")
    w = pd.to_numeric(points[weight_column], errors="coerce").fillna(0.0).to_numpy(float)
    if (w < 0).any():
        row = points.index[np.flatnonzero(w < 0)[0]]
        raise ValueError(f"row {row}, field {weight_column!r}: weights must be ≥ 0")
    return w


def _grid(x: np.ndarray, y: np.ndarray, area, bandwidth_m: float, cell_size_m: float,
          max_cells: int) -> tuple[float, float, int, int, shapely.Geometry | None]:
    """Origin (x0, y0), size (nx, ny) and metric study area of the grid of the surface."""
    area_geom = None
    if area is not None:
        from geo_pcmt.analysis.grid import metric_area
        area_geom = metric_area(area)
        minx, miny, maxx, maxy = area_geom.bounds
    elif len(x):
        minx, miny = x.min() - bandwidth_m, y.min() - bandwidth_m
        maxx, maxy = x.max() + bandwidth_m, y.max() + bandwidth_m
    else:
        raise ValueError("no points and no area: nothing to draw a surface over")
    nx = int(math.ceil((maxx - minx) / cell_size_m)) + 1
    ny = int(math.ceil((maxy - miny) / cell_size_m)) + 1
    if nx * ny > max_cells:
        raise ValueError(f"grid of {nx}×{ny} cells is too large; use a cell_size_m above "
                         f"{cell_size_m:g} m")
    return minx, miny, nx, ny, area_geom


def _smooth(counts: np.ndarray, kernel: str, bandwidth_m: float, cell_size_m: float,
            total_weight: float) -> np.ndarray:
    """The binned weights convolved with the kernel (mass-preserving)."""
    if kernel == "gaussian":
        return ndimage.gaussian_filter(counts, sigma=bandwidth_m / cell_size_m, mode="constant",
                                       truncate=4.0)
    smooth = signal.fftconvolve(counts, _kernel_stencil(kernel, bandwidth_m, cell_size_m),
                                mode="same")
    smooth[smooth < 1e-12 * max(1.0, total_weight)] = 0.0  # FFT round-off below zero
    return smooth


def kde(points: gpd.GeoDataFrame, *, bandwidth_m: float | None = None,
        cell_size_m: float | None = None, weight_column: str | None = None,
        area=None, kernel: str = "quartic", max_cells: int = 4_000_000) -> DensitySurface:
    """Kernel density of points, per km², on a metric grid.

    Parameters
    ----------
    points : GeoDataFrame, any CRS (polygons count at a point on their surface)
    bandwidth_m : float, optional
        Kernel bandwidth in metres; default from :func:`bandwidth_rule_m`.
    cell_size_m : float, optional
        Grid spacing; default ``bandwidth / 4`` rounded to 10 m, between 50 m and 2 km.
    weight_column : str, optional
        Per-point weights (e.g. ``area_m2`` of opium plots, or a per-layer ``weight``).
    area : GeoDataFrame / GeoSeries / shapely geometry (EPSG:32648), optional
        Study area (e.g. the province): sets the grid extent, and cells whose centre lies
        outside it are ``NaN``. Without it the grid covers the points plus one bandwidth.
    kernel : {"quartic", "gaussian"}
    max_cells : int
        Refuse grids larger than this (choose a bigger ``cell_size_m``).

    Returns
    -------
    :class:`DensitySurface` — ``.density_per_km2`` (ny × nx array, row 0 south),
    ``.to_points()`` (GeoDataFrame of cell centres with ``density_per_km2`` and ``share``)
    and ``.heat_data()`` (``[[lat, lon, share], …]`` for ``folium.plugins.HeatMap``).

    Examples
    --------
    >>> pts = gpd.GeoDataFrame(geometry=shapely.points([470_000, 470_400, 471_000, 475_000],
    ...                                                [2_180_000] * 4), crs=32648)
    >>> surf = kde(pts, bandwidth_m=1000)
    >>> surf.bandwidth_m, surf.cell_size_m, surf.total_weight, surf.density_per_km2.shape
    (1000.0, 250.0, 4.0, (9, 29))
    >>> round(float(np.nansum(surf.density_per_km2)) * 0.25 ** 2, 6)  # the weight is kept
    4.0
    >>> surf.heat_data()[0]                     # [lat, lon, share] for folium's HeatMap
    [19.71642, 104.7173, 1.0]
    """
    if kernel not in KERNELS:
        raise ValueError(f"kernel must be one of {KERNELS}, got {kernel!r}")
    x, y = metric_xy(points)
    w = _point_weights(points, weight_column, len(x))
    rule = "given"
    if bandwidth_m is None:
        bandwidth_m = bandwidth_rule_m(x, y, w)
        rule = "arcgis-silverman"
    bandwidth_m = float(bandwidth_m)
    if not bandwidth_m > 0:
        raise ValueError(f"bandwidth_m must be > 0, got {bandwidth_m!r}")
    if cell_size_m is None:
        cell_size_m = float(min(2000.0, max(50.0, round(bandwidth_m / 4.0, -1))))
    cell_size_m = float(cell_size_m)
    if not cell_size_m > 0:
        raise ValueError(f"cell_size_m must be > 0, got {cell_size_m!r}")
    x0, y0, nx, ny, area_geom = _grid(x, y, area, bandwidth_m, cell_size_m, max_cells)
    ix = np.floor((x - x0) / cell_size_m).astype(np.int64)
    iy = np.floor((y - y0) / cell_size_m).astype(np.int64)
    inside = (ix >= 0) & (ix < nx) & (iy >= 0) & (iy < ny)
    counts = np.zeros((ny, nx))
    np.add.at(counts, (iy[inside], ix[inside]), w[inside])
    smooth = _smooth(counts, kernel, bandwidth_m, cell_size_m, float(w.sum()))
    density = smooth / (cell_size_m * cell_size_m / 1e6)
    xs = x0 + (np.arange(nx) + 0.5) * cell_size_m
    ys = y0 + (np.arange(ny) + 0.5) * cell_size_m
    if area_geom is not None:
        gx, gy = np.meshgrid(xs, ys)
        shapely.prepare(area_geom)
        mask = shapely.contains_xy(area_geom, gx.ravel(), gy.ravel()).reshape(ny, nx)
        density = np.where(mask, density, np.nan)
    params = {"bandwidth_m": bandwidth_m, "cell_size_m": cell_size_m, "kernel": kernel,
              "weight_column": weight_column, "bandwidth_rule": rule}
    return DensitySurface(density_per_km2=density, x_m=xs, y_m=ys, cell_size_m=cell_size_m,
                          bandwidth_m=bandwidth_m, kernel=kernel, total_weight=float(w.sum()),
                          bandwidth_rule=rule, params=params)
