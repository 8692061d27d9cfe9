"""Exact DBSCAN on a grid of cells (side eps/√2): memory bounded by the output, not by density.

scikit-learn's DBSCAN keeps every point's list of neighbours; at a province's decade of
records (a million points, ~2,000 neighbours each at 500 m) that is tens of gigabytes. The
grid method (Gunawan 2013; Wang, Gu & Shun, SIGMOD 2020) gives the same clusters without
the lists:

1. Points fall into square cells of side eps/√2, so any two points of one cell are within
   eps of each other. A cell whose weight reaches ``min_samples`` makes all its points core
   without counting; a point whose 5 × 5 block of cells weighs less cannot be core. Only
   the points in between are counted, with a KD-tree (``return_length``: a count, no list).
2. Core points of one cell are one group. Two neighbouring core cells are joined when some
   pair of their core points is within eps: first tested on one representative per cell and
   direction (the point nearest the other cell), then — only for the pairs that are still
   in different groups — exactly, pair by pair, in batches of bounded size.
3. A border point joins the cluster that scikit-learn's scan reaches first: the one whose
   lowest-numbered core point comes first. Its neighbours are few (it is not core), so its
   list is small.

The labels are those of :class:`sklearn.cluster.DBSCAN` (same partition, same core points,
border points assigned alike; numbered in the order scikit-learn numbers them). ``n_jobs``
is passed to the KD-tree queries (``workers``), which are the work that grows with data.
"""
from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree
from sklearn.neighbors import NearestNeighbors

from geo_pcmt.analysis import csr
from geo_pcmt.analysis.grid import metric_xy

# all cells of the 5 × 5 block but the centre: cells three apart are > eps away
OFFSETS = np.array([(di, dj) for di in range(-2, 3) for dj in range(-2, 3)
                    if (di, dj) != (0, 0)], dtype=np.int64)
# one of each pair of opposite offsets: each pair of neighbouring cells is looked at once
FORWARD = np.array([o for o in OFFSETS.tolist() if o[0] > 0 or (o[0] == 0 and o[1] > 0)],
                   dtype=np.int64)
PAIR_BUDGET = 4_000_000  # point pairs compared at once (≈ 100 MB of temporaries)


@dataclass(frozen=True)
class GridDBSCAN:
    """Result of :func:`grid_dbscan`.

    Attributes
    ----------
    labels : (n,) int — −1 noise, else the cluster, numbered as scikit-learn numbers them
    core : (n,) bool — core points
    counted : int — points whose neighbours had to be counted (not settled by their cell)
    """

    labels: np.ndarray
    core: np.ndarray
    counted: int


@dataclass(frozen=True)
class _Grid:
    """Points sorted into cells: cell keys (sorted), each point's cell, each cell's weight."""

    origin: np.ndarray
    side: float
    width: int
    keys: np.ndarray
    cell_of: np.ndarray
    weight: np.ndarray

    def neighbour(self, cells: np.ndarray, offset: np.ndarray) -> np.ndarray:
        """Index of the cell at ``offset`` from each of ``cells`` (−1 where it is empty)."""
        want = self.keys[cells] + offset[0] * self.width + offset[1]
        pos = np.minimum(np.searchsorted(self.keys, want), len(self.keys) - 1)
        return np.where(self.keys[pos] == want, pos, -1)

    def box_distance(self, xy: np.ndarray, cells: np.ndarray, offset: np.ndarray) -> np.ndarray:
        """Distance from each point to the square of the cell at ``offset`` from ``cells``."""
        ij = np.column_stack([self.keys[cells] // self.width, self.keys[cells] % self.width])
        lo = self.origin + (ij + offset - 2) * self.side
        gap = np.maximum(np.maximum(lo - xy, xy - (lo + self.side)), 0.0)
        return np.hypot(gap[:, 0], gap[:, 1])


def _grid(xy: np.ndarray, eps: float, w: np.ndarray) -> _Grid:
    # a hair under eps/√2, so that rounding never puts two points of one cell beyond eps
    side = eps / np.sqrt(2.0) * (1.0 - 1e-9)
    origin = xy.min(axis=0)
    ij = np.floor((xy - origin) / side).astype(np.int64) + 2  # 2 cells of margin each side
    width = int(ij[:, 1].max()) + 3
    keys, cell_of = np.unique(ij[:, 0] * width + ij[:, 1], return_inverse=True)
    return _Grid(origin, side, width, keys, cell_of.astype(np.int64),
                 np.bincount(cell_of, weights=w, minlength=len(keys)))


def _core_points(xy: np.ndarray, w: np.ndarray, grid: _Grid, tree: cKDTree, eps: float,
                 min_samples: float, n_jobs: int) -> tuple[np.ndarray, int]:
    """Core mask: settled by the cell's weight where possible, else counted exactly."""
    core = grid.weight[grid.cell_of] >= min_samples
    cells = np.arange(len(grid.keys))
    block = grid.weight.copy()
    for o in OFFSETS:
        nb = grid.neighbour(cells, o)
        block += np.where(nb >= 0, grid.weight[np.maximum(nb, 0)], 0.0)
    todo = np.flatnonzero(~core & (block[grid.cell_of] >= min_samples))
    if not len(todo):
        return core, 0
    counts = np.asarray(tree.query_ball_point(xy[todo], eps, return_length=True,
                                              workers=n_jobs), dtype=np.int64)
    if np.all(w == 1.0):
        core[todo] = counts >= min_samples
        return core, len(todo)
    sure = counts * w.min() >= min_samples
    core[todo[sure]] = True
    unsure = todo[~sure & (counts * w.max() >= min_samples)]
    for chunk in _chunks(unsure, counts[np.searchsorted(todo, unsure)]):
        lists = tree.query_ball_point(xy[chunk], eps, workers=n_jobs)
        lens = np.fromiter((len(x) for x in lists), dtype=np.int64, count=len(lists))
        idx = np.concatenate(lists).astype(np.int64)
        total = np.bincount(np.repeat(np.arange(len(chunk)), lens), weights=w[idx],
                            minlength=len(chunk))
        core[chunk] = total >= min_samples
    return core, len(todo)


def _chunks(items: np.ndarray, sizes: np.ndarray, budget: int = PAIR_BUDGET):
    """Consecutive runs of ``items`` whose ``sizes`` add up to about ``budget`` (at least
    one item each)."""
    run = np.cumsum(sizes)
    start = 0
    while start < len(items):
        base = run[start - 1] if start else 0
        stop = max(int(np.searchsorted(run, base + budget, side="right")), start + 1)
        yield items[start:stop]
        start = stop


@dataclass(frozen=True)
class _CoreCells:
    """Core points grouped by cell: ``points`` sorted by cell, ``start``/``count`` per core
    cell, ``of_cell`` (grid cell → core cell or −1), ``cell`` (core cell → grid cell)."""

    points: np.ndarray
    start: np.ndarray
    count: np.ndarray
    of_cell: np.ndarray
    cell: np.ndarray


def _core_cells(core: np.ndarray, grid: _Grid) -> _CoreCells:
    idx = np.flatnonzero(core)
    idx = idx[np.argsort(grid.cell_of[idx], kind="stable")]
    cell, start, count = np.unique(grid.cell_of[idx], return_index=True, return_counts=True)
    of_cell = np.full(len(grid.keys), -1, dtype=np.int64)
    of_cell[cell] = np.arange(len(cell))
    return _CoreCells(idx, start, count, of_cell, cell)


def _representatives(xy: np.ndarray, cc: _CoreCells, grid: _Grid, offset: np.ndarray
                     ) -> np.ndarray:
    """Per core cell, its core point nearest to the cell at ``offset``."""
    owner = np.repeat(np.arange(len(cc.cell)), cc.count)
    d = grid.box_distance(xy[cc.points], cc.cell[owner], offset)
    best = np.minimum.reduceat(d, cc.start)
    hit = np.flatnonzero(d == best[owner])
    _, first = np.unique(owner[hit], return_index=True)
    return cc.points[hit[first]]


def _pairs_within(xy: np.ndarray, cc: _CoreCells, a: np.ndarray, b: np.ndarray,
                  eps: float) -> np.ndarray:
    """For core-cell pairs (a, b): is some core point of a within eps of one of b? Exact."""
    out = np.zeros(len(a), dtype=bool)
    sizes = cc.count[a] * cc.count[b]
    big = sizes > PAIR_BUDGET
    for k in np.flatnonzero(big):  # two crowded cells that are not yet joined: a tree each
        pa = cc.points[cc.start[a[k]]:cc.start[a[k]] + cc.count[a[k]]]
        pb = cc.points[cc.start[b[k]]:cc.start[b[k]] + cc.count[b[k]]]
        dist, _ = cKDTree(xy[pb]).query(xy[pa], k=1, distance_upper_bound=eps * (1 + 1e-12))
        out[k] = bool(np.any(dist <= eps))
    small = np.flatnonzero(~big)
    for chunk in _chunks(small, sizes[small]):
        na, nb = cc.count[a[chunk]], cc.count[b[chunk]]
        pair = np.repeat(np.arange(len(chunk)), na * nb)
        t = np.arange(len(pair)) - np.repeat(np.cumsum(na * nb) - na * nb, na * nb)
        ia = cc.points[cc.start[a[chunk]][pair] + t // nb[pair]]
        ib = cc.points[cc.start[b[chunk]][pair] + t % nb[pair]]
        diff = xy[ia] - xy[ib]
        near = np.einsum("ij,ij->i", diff, diff) <= eps * eps
        out[chunk] = np.bincount(pair[near], minlength=len(chunk)) > 0
    return out


def _core_groups(xy: np.ndarray, cc: _CoreCells, grid: _Grid, eps: float) -> np.ndarray:
    """Connected group of each core cell (core points within eps are linked)."""
    n = len(cc.cell)
    cand_a, cand_b, sure = [], [], []
    reps = {}
    for o in OFFSETS:
        reps[tuple(o)] = _representatives(xy, cc, grid, o)
    for o in FORWARD:
        nb = grid.neighbour(cc.cell, o)
        b = np.where(nb >= 0, cc.of_cell[np.maximum(nb, 0)], -1)
        a = np.flatnonzero(b >= 0)
        b = b[a]
        ra, rb = reps[tuple(o)][a], reps[tuple(-o)][b]
        d2 = ((xy[ra] - xy[rb]) ** 2).sum(axis=1)
        cand_a.append(a)
        cand_b.append(b)
        sure.append(d2 <= eps * eps)
    a, b, ok = np.concatenate(cand_a), np.concatenate(cand_b), np.concatenate(sure)
    _, group = connected_components(coo_matrix((np.ones(ok.sum()), (a[ok], b[ok])),
                                               shape=(n, n)), directed=False)
    left = np.flatnonzero(~ok & (group[a] != group[b]))
    if len(left):
        joined = left[_pairs_within(xy, cc, a[left], b[left], eps)]
        keep = np.concatenate([np.flatnonzero(ok), joined])
        _, group = connected_components(coo_matrix((np.ones(len(keep)), (a[keep], b[keep])),
                                                   shape=(n, n)), directed=False)
    return group


def _border_labels(xy: np.ndarray, tree: cKDTree, core: np.ndarray, labels: np.ndarray,
                   grid: _Grid, cc: _CoreCells, eps: float, n_jobs: int) -> None:
    """Give each non-core point within eps of a core point the first such cluster (in place)."""
    cells = np.arange(len(grid.keys))
    near_core = cc.of_cell >= 0
    for o in OFFSETS:
        nb = grid.neighbour(cells, o)
        near_core |= (nb >= 0) & (cc.of_cell[np.maximum(nb, 0)] >= 0)
    todo = np.flatnonzero(~core & near_core[grid.cell_of])
    for chunk in np.array_split(todo, max(1, len(todo) // 100_000)):
        if not len(chunk):
            continue
        lists = tree.query_ball_point(xy[chunk], eps, workers=n_jobs)
        lens = np.fromiter((len(x) for x in lists), dtype=np.int64, count=len(lists))
        idx = np.concatenate(lists).astype(np.int64)
        owner = np.repeat(np.arange(len(chunk)), lens)
        hit = core[idx]
        first = np.full(len(chunk), np.iinfo(np.int64).max)
        np.minimum.at(first, owner[hit], labels[idx[hit]])
        found = first < np.iinfo(np.int64).max
        labels[chunk[found]] = first[found]


def neighbour_counts(xy: np.ndarray, radius_m: float, *, n_jobs: int | None = -1,
                     tree: cKDTree | None = None) -> np.ndarray:
    """How many of the points lie within ``radius_m`` of each point, itself included.

    The count DBSCAN's core test makes (distance ≤ radius, as scikit-learn), from a KD-tree
    without neighbour lists, so memory stays one integer a point however dense the data.

    Examples
    --------
    >>> neighbour_counts(np.array([[0.0, 0], [100, 0], [250, 0]]), 100).tolist()
    [2, 2, 1]
    """
    xy = np.ascontiguousarray(xy, dtype=float).reshape(-1, 2)
    if not len(xy):
        return np.empty(0, dtype=np.int64)
    tree = cKDTree(xy) if tree is None else tree
    return np.asarray(tree.query_ball_point(xy, float(radius_m), return_length=True,
                                            workers=1 if n_jobs is None else int(n_jobs)),
                      dtype=np.int64)


def grid_dbscan(xy: np.ndarray, eps: float, min_samples: float,
                sample_weight: np.ndarray | None = None, n_jobs: int | None = None
                ) -> GridDBSCAN:
    """Exact DBSCAN of 2-D points with memory bounded by the output (see the module notes).

    Parameters
    ----------
    xy : (n, 2) float array of metric coordinates
    eps : float — neighbourhood radius (a neighbour is at distance ≤ eps, as scikit-learn)
    min_samples : float — weight within eps (the point itself included) of a core point
    sample_weight : (n,) array, optional — weights ≥ 0 (default 1 each)
    n_jobs : int, optional — threads of the KD-tree queries (−1 = every core; default 1)

    Returns
    -------
    :class:`GridDBSCAN` with labels numbered as :class:`sklearn.cluster.DBSCAN` numbers them.

    Examples
    --------
    >>> xy = np.array([[0.0, 0], [50, 0], [100, 0], [150, 0], [200, 0], [250, 0], [9e3, 0]])
    >>> res = grid_dbscan(xy, eps=100, min_samples=4)
    >>> res.labels.tolist(), res.core.tolist()
    ([0, 0, 0, 0, 0, 0, -1], [False, True, True, True, True, False, False])
    """
    xy = np.ascontiguousarray(xy, dtype=float)
    n = len(xy)
    w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    workers = 1 if n_jobs is None else int(n_jobs)
    labels = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return GridDBSCAN(labels, np.zeros(0, dtype=bool), 0)
    grid = _grid(xy, float(eps), w)
    tree = cKDTree(xy)
    core, counted = _core_points(xy, w, grid, tree, float(eps), float(min_samples), workers)
    if not core.any():
        return GridDBSCAN(labels, core, counted)
    cc = _core_cells(core, grid)
    group = _core_groups(xy, cc, grid, float(eps))
    # scikit-learn numbers clusters in the order of their lowest-numbered core point
    first = np.full(group.max() + 1, n, dtype=np.int64)
    np.minimum.at(first, group[cc.of_cell[grid.cell_of[cc.points]]], cc.points)
    rank = np.empty_like(first)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    labels[cc.points] = rank[group[cc.of_cell[grid.cell_of[cc.points]]]]
    _border_labels(xy, tree, core, labels, grid, cc, float(eps), workers)
    return GridDBSCAN(labels, core, counted)


# --- on point frames ------------------------------------------------------------------------

def _xy(points: gpd.GeoDataFrame) -> np.ndarray:
    if {"x_m", "y_m"} <= set(points.columns) and points["x_m"].notna().all():
        return np.column_stack([points["x_m"].to_numpy(float), points["y_m"].to_numpy(float)])
    x, y = metric_xy(points)
    return np.column_stack([x, y])


def _weights(points: pd.DataFrame, weight_column: str | None) -> np.ndarray | None:
    if weight_column is None or weight_column not in points.columns:
        return None
    w = pd.to_numeric(points[weight_column], errors="coerce")
    if w.isna().any() or (w < 0).any():
        row = w.index[(w.isna() | (w < 0)).to_numpy()][0]
        raise ValueError(f"row {row}, field {weight_column!r}: weight must be a number ≥ 0")
    w = w.to_numpy(float)
    return None if np.all(w == 1.0) else w


def _relabel_by_size(labels: np.ndarray) -> np.ndarray:
    """Renumber clusters so that 0 is the largest (ties: first seen), −1 stays noise."""
    labels = np.asarray(labels, dtype=int)
    found = labels[labels >= 0]
    if not len(found):
        return labels
    ids, first, counts = np.unique(found, return_index=True, return_counts=True)
    order = np.lexsort((first, -counts))  # biggest first, then by first appearance
    new_of = np.empty(ids.max() + 1, dtype=int)
    new_of[ids[order]] = np.arange(len(ids))
    out = labels.copy()
    out[labels >= 0] = new_of[labels[labels >= 0]]
    return out


def dbscan(points: gpd.GeoDataFrame, *, eps_m: float = 500.0, min_samples: int = 5,
           weight_column: str | None = "weight", n_jobs: int | None = -1) -> gpd.GeoDataFrame:
    """Label points with DBSCAN clusters, distances in metres (EPSG:32648).

    Parameters
    ----------
    points : GeoDataFrame of points (e.g. from :func:`combine_points`), any CRS
    eps_m : float
        Neighbourhood radius in metres (default 500 m: a village or a few streets; see
        :func:`suggest_eps_m` for a data-driven value).
    min_samples : int
        Weight (count) of points within ``eps_m`` for a core point, itself included
        (default 5, scikit-learn's and DOMAIN.md's usual value).
    weight_column : str or None
        Per-point weights (``sample_weight``); ignored if absent or all 1.
    n_jobs : int, optional
        Threads for the neighbour queries (default −1: every core; 1 = one thread).

    Returns
    -------
    A copy of ``points`` with ``cluster`` (int, −1 = noise; 0 is the largest cluster, 1 the
    next …) and ``core`` (bool).

    Notes
    -----
    The same clusters as :class:`sklearn.cluster.DBSCAN` (same core points, border points
    assigned alike) by :func:`grid_dbscan`, whose memory grows with the points, not with
    their neighbours: piles of records geocoded to one commune centre or a dense town cost
    no more than scattered ones.

    Examples
    --------
    >>> import shapely
    >>> xy = [(470_000 + 50 * i, 2_180_000) for i in range(6)] + [(480_000, 2_190_000)]
    >>> pts = gpd.GeoDataFrame(geometry=shapely.points(xy), crs=32648)
    >>> labelled = dbscan(pts, eps_m=100, min_samples=4)
    >>> labelled["cluster"].tolist(), labelled["core"].tolist()
    ([0, 0, 0, 0, 0, 0, -1], [False, True, True, True, True, False, False])
    """
    if not eps_m > 0:
        raise ValueError(f"eps_m must be > 0 metres, got {eps_m!r}")
    if int(min_samples) < 1:
        raise ValueError(f"min_samples must be ≥ 1, got {min_samples!r}")
    out = points.copy()
    n = len(points)
    if n == 0:
        out["cluster"] = pd.Series([], dtype=int)
        out["core"] = pd.Series([], dtype=bool)
        return out
    xy = _xy(points)
    w = _weights(points, weight_column)
    res = grid_dbscan(xy, float(eps_m), float(min_samples), w, n_jobs=n_jobs)
    labels, core = res.labels, res.core
    out["cluster"] = _relabel_by_size(labels)
    out["core"] = core
    return out


@dataclass(frozen=True)
class EpsSuggestion:
    """An ``eps_m`` read off the k-distance curve.

    Attributes
    ----------
    eps_m : distance (m) at the knee of the sorted k-distance curve, capped at the chance
        distance of :mod:`geo_pcmt.analysis.csr`
    k : which neighbour's distance was used (``min_samples − 1``, self excluded)
    distances_m : the sorted k-distances (ascending), for plotting the curve
    knee_index : position of the knee in ``distances_m``
    """

    eps_m: float
    k: int
    distances_m: np.ndarray
    knee_index: int


def suggest_eps_m(points: gpd.GeoDataFrame, *, min_samples: int = 5,
                  max_points: int = 200_000, seed: int = 0, area_m2: float | None = None,
                  noise_alpha: float | None = csr.NOISE_ALPHA) -> EpsSuggestion:
    """Suggest DBSCAN's ``eps_m`` from the k-distance curve (Ester et al. 1996).

    Each point's distance to its (``min_samples − 1``)-th nearest other point is sorted;
    the knee of that curve — the point farthest below the straight line joining its ends
    (the "Kneedle" idea) — separates points inside dense groups from scattered ones. It
    works when most points belong to groups; when most are scattered the knee lands among
    the scattered ones and the suggestion is too large — so the knee is capped at the
    distance within which a uniform scatter of as many points over ``area_m2`` would put
    ``min_samples − 1`` neighbours by chance (:func:`geo_pcmt.analysis.csr.chance_core_distance_m`,
    ``noise_alpha``): pure noise then gives no DBSCAN cluster. A suggestion, not a rule:
    look at the curve (``distances_m``) when the data have several densities.

    Parameters
    ----------
    points : GeoDataFrame of points, any CRS
    min_samples : int
        The ``min_samples`` you will give to :func:`dbscan`.
    max_points : int
        Larger inputs are subsampled (seeded) to keep this quick.

    Returns
    -------
    :class:`EpsSuggestion`

    Examples
    --------
    >>> import shapely
    >>> rng = np.random.default_rng(0)  # 50 points in a group, 10 scattered over 40 km
    >>> xy = np.r_[rng.normal(0, 100, (50, 2)), rng.uniform(-20_000, 20_000, (10, 2))]
    >>> points = gpd.GeoDataFrame(geometry=shapely.points(xy + (470_000, 2_180_000)), crs=32648)
    >>> round(suggest_eps_m(points, min_samples=5).eps_m, 1)
    150.3
    """
    xy = _xy(points)
    k = max(1, int(min_samples) - 1)
    if len(xy) <= k:
        raise ValueError(f"need more than {k} points to suggest eps, got {len(xy)}")
    if len(xy) > max_points:
        xy = xy[np.random.default_rng(seed).choice(len(xy), max_points, replace=False)]
    dist, _ = NearestNeighbors(n_neighbors=k + 1).fit(xy).kneighbors(xy)
    d = np.sort(dist[:, k])
    x = np.linspace(0.0, 1.0, len(d))
    span = d[-1] - d[0]
    yn = (d - d[0]) / span if span > 0 else np.zeros_like(d)
    # the knee is where the increasing curve runs farthest below the chord joining its ends
    knee = int(np.argmax(x - yn))
    eps = float(d[knee])
    if noise_alpha is not None:
        area = area_m2 if area_m2 is not None else csr.hull_area_m2(xy)
        eps = min(eps, csr.chance_core_distance_m(len(xy), area, k, noise_alpha))
    return EpsSuggestion(eps_m=eps, k=k, distances_m=d, knee_index=knee)
