"""Does a hotspot list predict? Hit rate, PAI, PEI and PEI* of a forecast surface on held-out
events.

The study area is cut into square cells (EPSG:32648). A *forecast* gives every cell a score
and the cells are flagged best first (:class:`Forecast`):

* **the list** (:func:`list_forecast`): first the *places'* evidence cells — cells inside a
  listed place that hold some of the list's own evidence (active retail points, this season's
  plots, the last 12 months' cases) — ordered by the place's score, then within a place by
  the cell's evidence score; then the *surrounding hot cells*, every other cell the list's
  evidence reaches, by that cell score. The cell score is a quartic-kernel density of the
  list's evidence (radius ``radius_m``, 1 km by default), so the list can fill any share of
  the area from its own ranking, as a commander with more patrol hours would go from the
  listed places to the hot ground around them;
* **the KDE baseline**: the density of all events before the month (quartic kernel,
  bandwidth by the usual rule);
* **last month's points**: how many of them lie within a buffer of the cell.

At a fixed share of the area (1 %, 3 %, 5 %) the best-scored cells are "the flagged area";
the events of the held-out month are then counted in it (``n`` of ``N`` events in ``a`` of
``A`` cells):

* **hit rate** ``n / N`` — the share of the month's events inside the flagged area;
* **PAI** (Predictive Accuracy Index, Chainey, Tompson & Uhlig 2008) ``(n / N) / (a / A)`` —
  hit share per area share; 1 = no better than chance;
* **PEI** (Prediction Efficiency Index, Hunt 2016, "Do crime hot spots move?", NIJ; used by
  Drawve 2016, "A metric comparison of predictive hot spot techniques and RTM", Justice
  Quarterly 33(3)) ``PAI / PAI_max = n / n*`` where ``n*`` is the most events any ``a``
  cells could have held (the month's busiest ``a`` cells): the PAI as a share of the best PAI
  possible *on the same area*; 1 = perfect;
* **PEI\\*** (NIJ Real-Time Crime Forecasting Challenge 2017; White, Hunt & Green 2023,
  Security Journal, NCJ 306617) ``PAI / PAI*`` with ``PAI*`` the PAI of an oracle that flags
  only the cells the month's ``n*`` events actually needed (``a*`` = the busy cells among the
  busiest ``a``): ``(n / a) / (n* / a*)``. When the busiest ``a`` cells all hold events,
  ``a* = a`` and PEI\\* = PEI; when the month has fewer busy cells than ``a``, PEI\\* also
  says how much of the flagged area was wasted. 1 = perfect.

Every method is judged on the *same* area: at each share the area used is the smaller of the
share and what the list can flag (a cell its evidence does not reach scores nothing), and
the baselines are scored on exactly that area. Pure functions of arrays and frames; the
rolling months and the list are in :mod:`geo_pcmt.runs.backtest`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely
from scipy.spatial import cKDTree

from geo_pcmt.analysis.density import kde
from geo_pcmt.analysis.grid import metric_area, metric_xy
from geo_pcmt.crs import METRIC_CRS

#: Area shares the province's forecasts are compared at (1 %, 3 %, 5 %).
AREA_SHARES = (0.01, 0.03, 0.05)
#: Forecasts compared in a backtest, in table order, with their Vietnamese / English names.
METHOD_LABELS = {
    "list": ("Danh sách địa bàn phức tạp", "Complex-place list"),
    "kde": ("Mật độ KDE (cơ sở)", "KDE baseline"),
    "last_month": ("Điểm tháng trước (cơ sở)", "Last month's points"),
}


@dataclass(frozen=True)
class StudyGrid:
    """Square cells over a study area (EPSG:32648), the cells whose centre lies inside it.

    Attributes
    ----------
    x0, y0 : float — south-west corner of the grid (m)
    nx, ny : int — columns and rows of the full rectangle
    cell_size_m : float
    flat : ndarray — flat index (``row * nx + col``) of each inside cell
    x, y : ndarray — centres of the inside cells (m)
    area : shapely geometry — the study area (m)
    """

    x0: float
    y0: float
    nx: int
    ny: int
    cell_size_m: float
    flat: np.ndarray
    x: np.ndarray
    y: np.ndarray
    area: shapely.Geometry

    @property
    def n_cells(self) -> int:
        return int(len(self.flat))

    def cells_of(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Index (into the inside cells) of the cell holding each point, −1 outside."""
        ix = np.floor((np.asarray(x, float) - self.x0) / self.cell_size_m).astype(np.int64)
        iy = np.floor((np.asarray(y, float) - self.y0) / self.cell_size_m).astype(np.int64)
        ok = (ix >= 0) & (ix < self.nx) & (iy >= 0) & (iy < self.ny)
        lookup = np.full(self.nx * self.ny, -1, dtype=np.int64)
        lookup[self.flat] = np.arange(len(self.flat))
        out = np.full(len(ix), -1, dtype=np.int64)
        out[ok] = lookup[iy[ok] * self.nx + ix[ok]]
        return out

    def counts(self, events: gpd.GeoDataFrame | None) -> np.ndarray:
        """Events per inside cell (events outside the study area are not counted)."""
        out = np.zeros(self.n_cells)
        if events is None or not len(events):
            return out
        x, y = metric_xy(events)
        cells = self.cells_of(x, y)
        np.add.at(out, cells[cells >= 0], 1.0)
        return out


def study_grid(area, cell_size_m: float = 500.0) -> StudyGrid:
    """The cells of ``area`` (GeoDataFrame, GeoSeries or metric geometry), laid out as the
    grid of :func:`geo_pcmt.analysis.density.kde` over the same area and cell size.

    Examples
    --------
    >>> g = study_grid(shapely.box(0, 0, 2000, 1000), cell_size_m=500)
    >>> g.n_cells, g.cells_of(np.array([250.0, 1900.0, 5000.0]), np.array([250.0, 900.0, 0.0]))
    (8, array([ 0,  7, -1]))
    """
    if not cell_size_m > 0:
        raise ValueError(f"cell_size_m must be > 0, got {cell_size_m!r}")
    geom = metric_area(area)
    minx, miny, maxx, maxy = geom.bounds
    nx = int(math.ceil((maxx - minx) / cell_size_m)) + 1
    ny = int(math.ceil((maxy - miny) / cell_size_m)) + 1
    xs = minx + (np.arange(nx) + 0.5) * cell_size_m
    ys = miny + (np.arange(ny) + 0.5) * cell_size_m
    gx, gy = np.meshgrid(xs, ys)
    shapely.prepare(geom)
    inside = shapely.contains_xy(geom, gx.ravel(), gy.ravel())
    flat = np.flatnonzero(inside)
    if not len(flat):
        raise ValueError("the study area holds no cell centre; use a smaller cell_size_m")
    return StudyGrid(minx, miny, nx, ny, float(cell_size_m), flat, gx.ravel()[flat],
                     gy.ravel()[flat], geom)


# --- forecasts: a score per cell (and a tie-break) ------------------------------------------

@dataclass(frozen=True)
class Forecast:
    """A score per inside cell; cells with ``score > 0`` can be flagged, best first,
    equal scores by ``tiebreak`` (higher first)."""

    score: np.ndarray
    tiebreak: np.ndarray

    def order(self) -> np.ndarray:
        """The cells that can be flagged, best first."""
        ok = np.flatnonzero(self.score > 0)
        return ok[np.lexsort((-self.tiebreak[ok], -self.score[ok]))]

    def flagged(self, n_cells: int) -> np.ndarray:
        """Boolean mask of the best ``n_cells`` cells (fewer if fewer can be flagged)."""
        mask = np.zeros(len(self.score), dtype=bool)
        mask[self.order()[:max(0, int(n_cells))]] = True
        return mask


def _place_scores(grid: StudyGrid, areas: gpd.GeoDataFrame | None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Per cell: the highest ``score`` of the listed areas its centre lies in (0 outside),
    and minus the distance to that area's centre (m; −inf outside)."""
    score = np.zeros(grid.n_cells)
    near = np.full(grid.n_cells, -np.inf)
    if areas is None or not len(areas):
        return score, near
    geoms = np.asarray(areas.to_crs(METRIC_CRS).geometry.values, dtype=object)
    s = np.asarray(areas["score"], dtype=float)
    cells, which = shapely.STRtree(geoms).query(shapely.points(grid.x, grid.y),
                                                predicate="within")
    centres = shapely.centroid(geoms)
    dist = np.hypot(grid.x[cells] - shapely.get_x(centres[which]),
                    grid.y[cells] - shapely.get_y(centres[which]))
    # for each cell keep the best area: by score, then nearest centre
    order = np.lexsort((dist, -s[which]))
    cells, which, dist = cells[order], which[order], dist[order]
    first = np.unique(cells, return_index=True)[1]
    score[cells[first]] = s[which[first]]
    near[cells[first]] = -dist[first]
    return score, near


#: Score of a surrounding hot cell: above nothing, below every listed place.
SURROUNDING = 1e-6


def evidence_scores(grid: StudyGrid, evidence: gpd.GeoDataFrame | None,
                    radius_m: float = 1000.0) -> tuple[np.ndarray, np.ndarray]:
    """The list's evidence per cell: (records in the cell, quartic-kernel density per km²
    with radius ``radius_m``)."""
    counts = grid.counts(evidence)
    if evidence is None or not len(evidence):
        return counts, np.zeros(grid.n_cells)
    surface = kde(evidence, bandwidth_m=radius_m, cell_size_m=grid.cell_size_m,
                  area=grid.area, kernel="quartic")
    dens = np.nan_to_num(surface.density_per_km2.ravel()[grid.flat], nan=0.0)
    return counts, dens


def list_forecast(grid: StudyGrid, areas: gpd.GeoDataFrame | None,
                  evidence: gpd.GeoDataFrame | None = None, *,
                  radius_m: float = 1000.0) -> Forecast:
    """The list as a forecast.

    Without ``evidence``: each cell takes the highest ``score`` of the listed areas its
    centre lies in, equal scores nearer the area's centre first (a place is flagged from
    its middle out); the list can flag only its areas.

    With ``evidence`` (the list's own evidence, points): the places' evidence cells (inside
    a listed area and holding evidence) by the place's score, then by the cell's evidence
    density; then every other cell the evidence reaches (:data:`SURROUNDING`), by its
    density — so the list can fill any share of the area from its own ranking.

    Examples
    --------
    >>> grid = study_grid(shapely.box(0, 0, 4000, 1000), cell_size_m=1000)   # 4 cells
    >>> place = gpd.GeoDataFrame({"score": [6.0]}, geometry=[shapely.box(0, 0, 1000, 1000)],
    ...                          crs=32648)
    >>> ev = gpd.GeoDataFrame(geometry=shapely.points([[500, 500], [2500, 500], [2600, 500]]),
    ...                       crs=32648)
    >>> list_forecast(grid, place, ev, radius_m=1000).order().tolist()  # place, then hot cell
    [0, 2]
    """
    score, near = _place_scores(grid, areas)
    if evidence is None or not len(evidence):
        return Forecast(score, near)
    counts, dens = evidence_scores(grid, evidence, radius_m)
    in_place = (score > 0) & (counts > 0)
    score = np.where(in_place, score, np.where(dens > 0, SURROUNDING, 0.0))
    return Forecast(score, dens)


def kde_forecast(grid: StudyGrid, events: gpd.GeoDataFrame | None, *,
                 bandwidth_m: float | None = None) -> Forecast:
    """The KDE baseline: quartic kernel, bandwidth by the rule of
    :func:`geo_pcmt.analysis.density.bandwidth_rule_m` unless given, on the grid's cells."""
    if events is None or len(events) < 2:
        return Forecast(np.zeros(grid.n_cells), np.zeros(grid.n_cells))
    surface = kde(events, bandwidth_m=bandwidth_m, cell_size_m=grid.cell_size_m,
                  area=grid.area, kernel="quartic")
    dens = surface.density_per_km2.ravel()[grid.flat]
    return Forecast(np.nan_to_num(dens, nan=0.0), np.zeros(grid.n_cells))


def last_month_forecast(grid: StudyGrid, events: gpd.GeoDataFrame | None, *,
                        buffer_m: float = 500.0) -> Forecast:
    """Last month's points: a cell scores the number of those points within ``buffer_m`` of
    its centre; beyond the buffers, the nearer a cell to a point the better (so the buffers
    grow to fill any area share)."""
    if events is None or not len(events):
        return Forecast(np.zeros(grid.n_cells), np.zeros(grid.n_cells))
    x, y = metric_xy(events)
    tree = cKDTree(np.column_stack([x, y]))
    centres = np.column_stack([grid.x, grid.y])
    within = np.array([len(v) for v in tree.query_ball_point(centres, r=buffer_m)], float)
    nearest, _ = tree.query(centres)
    # a cell beyond every buffer still ranks, after all buffered cells, by its distance
    return Forecast(np.where(within > 0, within, 1e-9), -nearest)


# --- scores --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Score:
    """How a flagged area did on the held-out events.

    Attributes
    ----------
    n, N : events inside the flagged area / all events
    a, A : flagged cells / all cells of the study area
    n_star, a_star : the most events ``a`` cells could hold, and the busy cells among them
    """

    n: int
    N: int
    a: int
    A: int
    n_star: int
    a_star: int

    @property
    def hit_rate(self) -> float:
        return self.n / self.N if self.N else math.nan

    @property
    def area_share(self) -> float:
        return self.a / self.A if self.A else math.nan

    @property
    def pai(self) -> float:
        """(n / N) / (a / A); NaN without events or area."""
        return self.hit_rate / self.area_share if self.N and self.a else math.nan

    @property
    def pei(self) -> float:
        """n / n* (= PAI / the best PAI on the same area); NaN without events or area."""
        if not (self.N and self.a and self.n_star):
            return math.nan
        return self.n / self.n_star

    @property
    def pei_star(self) -> float:
        """(n / a) / (n* / a*); NaN without events or area."""
        if not (self.N and self.a and self.n_star):
            return math.nan
        return (self.n / self.a) / (self.n_star / self.a_star)

    def as_dict(self) -> dict:
        return {"n": self.n, "N": self.N, "a": self.a, "A": self.A, "n_star": self.n_star,
                "a_star": self.a_star, "hit_rate": self.hit_rate, "area_share": self.area_share,
                "pai": self.pai, "pei": self.pei, "pei_star": self.pei_star}


def score_flagged(flagged: np.ndarray, counts: np.ndarray) -> Score:
    """Score a flagged set of cells (boolean mask) against events per cell.

    Examples
    --------
    Ten cells, six events; the forecast flags cells 0 and 1 (two events), the month's
    busiest two cells are 5 (three events) and 0 (one event):

    >>> counts = np.array([1, 1, 0, 0, 0, 3, 0, 1, 0, 0], float)
    >>> s = score_flagged(np.arange(10) < 2, counts)
    >>> round(s.hit_rate, 4), round(s.pai, 4), s.pei, s.pei_star
    (0.3333, 1.6667, 0.5, 0.5)
    """
    flagged = np.asarray(flagged, dtype=bool)
    counts = np.asarray(counts, dtype=float)
    a = int(flagged.sum())
    best = np.sort(counts)[::-1][:a]
    return Score(n=int(round(counts[flagged].sum())), N=int(round(counts.sum())), a=a,
                 A=int(len(counts)), n_star=int(round(best.sum())),
                 a_star=int((best > 0).sum()))


def compare(grid: StudyGrid, forecasts: dict[str, Forecast], counts: np.ndarray, *,
            shares: tuple[float, ...] = AREA_SHARES, reference: str = "list"
            ) -> list[dict]:
    """Score every forecast at every area share, on the same area.

    At each share the area is ``round(share × cells)`` cells, or fewer when the
    ``reference`` forecast (the list) can flag fewer; every forecast is scored on that many
    cells. Returns one dict per (share, method): ``share``, ``method``, ``cells`` and the
    fields of :meth:`Score.as_dict`.
    """
    rows = []
    ref_max = int((forecasts[reference].score > 0).sum()) if reference in forecasts else None
    for share in shares:
        if not 0 < share <= 1:
            raise ValueError(f"area shares must be in (0, 1], got {share!r}")
        n_cells = max(1, int(round(share * grid.n_cells)))
        if ref_max is not None:
            n_cells = min(n_cells, ref_max)
        for method, fc in forecasts.items():
            s = score_flagged(fc.flagged(n_cells), counts)
            rows.append({"share": share, "method": method, "cells": n_cells, **s.as_dict()})
    return rows


__all__ = ["AREA_SHARES", "METHOD_LABELS", "SURROUNDING", "Forecast", "Score", "StudyGrid",
           "compare", "evidence_scores", "kde_forecast", "last_month_forecast", "list_forecast",
           "score_flagged", "study_grid"]
