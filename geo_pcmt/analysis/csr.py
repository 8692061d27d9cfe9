"""Complete spatial randomness (CSR): how close points come to each other by chance alone.

Density clustering always finds *something*: HDBSCAN at its defaults cuts uniform noise over
Nghệ An into dozens of "clusters", and the knee of a k-distance curve of mostly scattered
points lands among the scattered ones. Measured on uniform points inside the province (five
seeds each), HDBSCAN gives 141–154 clusters for 3 000 points at ``min_cluster_size`` = 5 and
still 2–11 at 30, so no size threshold alone makes noise cluster-free.

The guard used here: if ``n`` points were scattered uniformly (a Poisson process of intensity
``λ = n / area``), the number of other points within ``r`` of one of them is
Poisson(``λ π r²``). :func:`chance_core_distance_m` is the radius ``r`` at which the expected
number of points with at least ``k`` others within ``r`` is ``alpha`` — so with probability
about ``1 − alpha`` *no* point of a random pattern is that crowded. A cluster must hold at
least one point whose ``k``-th neighbour is nearer than that (its core distance), and a
suggested DBSCAN ``eps`` is never larger. Using all ``n`` points for ``λ`` (clusters
included) overstates the background and makes the guard stricter, never looser; edges of the
area, where random points have fewer neighbours, do the same.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq
from scipy.stats import poisson
from sklearn.neighbors import NearestNeighbors

#: Chance that a uniform scatter shows one crowded point anyway (the guard's error rate).
NOISE_ALPHA = 0.05


def chance_core_distance_m(n: int, area_m2: float, k: int, alpha: float = NOISE_ALPHA) -> float:
    """The radius (m) within which, among ``n`` random points over ``area_m2``, the expected
    number of points with ``k`` or more others is ``alpha``.

    Examples
    --------
    >>> round(chance_core_distance_m(400, 16.5e9, k=4))   # 400 points over Nghệ An, k = 4
    1799
    """
    if n < 2 or not area_m2 > 0:
        return math.inf
    if k < 1:
        return 0.0
    if not 0 < alpha < n:
        raise ValueError(f"alpha must be in (0, n), got {alpha!r}")
    lam = (n - 1) / float(area_m2)
    # n · P(Poisson(μ) ≥ k) = alpha, for μ = λ π r²; the left side grows with μ
    mu = brentq(lambda m: n * poisson.sf(k - 1, m) - alpha, 1e-15, 10.0 * k + 50.0)
    return math.sqrt(mu / (math.pi * lam))


def core_distances_m(xy: np.ndarray, k: int) -> np.ndarray:
    """Distance from each point to its ``k``-th nearest other point (inf with ≤ k points)."""
    if len(xy) <= k or k < 1:
        return np.full(len(xy), np.inf if k >= 1 else 0.0)
    dist, _ = NearestNeighbors(n_neighbors=k + 1).fit(xy).kneighbors(xy)
    return dist[:, k]


def hull_area_m2(xy: np.ndarray) -> float:
    """Area of the convex hull of the points (the study area when none is given)."""
    import shapely
    if len(xy) < 3:
        return 0.0
    return float(shapely.convex_hull(shapely.multipoints(xy)).area)


def clusters_beyond_chance(xy: np.ndarray, labels: np.ndarray, k: int, area_m2: float | None,
                           alpha: float = NOISE_ALPHA) -> np.ndarray:
    """``labels`` with every cluster that holds no point more crowded than chance allows
    (core distance below :func:`chance_core_distance_m`) turned into noise (−1)."""
    labels = np.asarray(labels).copy()
    if not (labels >= 0).any():
        return labels
    area = area_m2 if area_m2 is not None else hull_area_m2(xy)
    limit = chance_core_distance_m(len(xy), area, k, alpha)
    crowded = core_distances_m(xy, k) <= limit
    for c in np.unique(labels[labels >= 0]):
        members = labels == c
        if not crowded[members].any():
            labels[members] = -1
    return labels


__all__ = ["NOISE_ALPHA", "chance_core_distance_m", "clusters_beyond_chance",
           "core_distances_m", "hull_area_m2"]
