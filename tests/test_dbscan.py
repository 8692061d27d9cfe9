"""The grid DBSCAN gives scikit-learn's clusters with memory bounded by the points."""
from __future__ import annotations

import tracemalloc

import geopandas as gpd
import numpy as np
import pytest
import shapely
from scipy.spatial import cKDTree
from sklearn.cluster import DBSCAN

from geo_pcmt.analysis import dbscan as grid
from geo_pcmt.analysis.clusters import dbscan


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal up to renumbering the clusters; noise is noise in both."""
    if not np.array_equal(a == -1, b == -1):
        return False
    pairs = {(x, y) for x, y in zip(a[a >= 0].tolist(), b[b >= 0].tolist())}
    return len(pairs) == len({x for x, _ in pairs}) == len({y for _, y in pairs})


def _scene(seed: int, lattice: bool) -> np.ndarray:
    """Groups of different spread, a uniform scatter, optionally snapped to a 50 m lattice
    (so that many pairs lie at exactly eps)."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(300, 2500))
    centres = rng.uniform(0, 20_000, (int(rng.integers(2, 12)), 2))
    xy = np.r_[centres[rng.integers(0, len(centres), n)] +
               rng.normal(0, rng.uniform(60, 700), (n, 2)),
               rng.uniform(0, 20_000, (n // 3, 2))]
    if lattice:
        xy = np.round(xy / 50) * 50
    xy = np.unique(xy, axis=0)
    rng.shuffle(xy)
    return xy + (460_000, 2_150_000)


@pytest.mark.parametrize("seed", range(12))
def test_grid_dbscan_gives_scikit_learns_labels_and_core_points(seed):
    rng = np.random.default_rng(100 + seed)
    xy = _scene(seed, lattice=seed % 3 == 0)
    eps = float(rng.choice([100.0, 200.0, 500.0]))
    min_samples = int(rng.integers(3, 12))
    weights = rng.choice([0.5, 1.0, 2.0, 3.0], len(xy)) if seed % 2 else None
    ref = DBSCAN(eps=eps, min_samples=min_samples).fit(xy, sample_weight=weights)
    got = grid.grid_dbscan(xy, eps, min_samples, weights, n_jobs=2)
    core = np.zeros(len(xy), dtype=bool)
    core[ref.core_sample_indices_] = True
    assert ref.labels_.max() >= 1  # the scene has clusters to find
    np.testing.assert_array_equal(got.core, core)
    assert _same_partition(got.labels, ref.labels_)
    # border points go to the cluster scikit-learn's scan reaches first: same numbers too
    np.testing.assert_array_equal(got.labels, ref.labels_)


def test_a_border_point_between_two_clusters_goes_where_scikit_learn_puts_it():
    # two tight groups 180 m apart; the point between them is within 100 m of both
    # groups' edge points but has only 3 neighbours, so it is a border point of both
    left = [(0.0, 0.0), (10, 0), (20, 0), (30, 0), (40, 0)]
    right = [(220.0, 0.0), (230, 0), (240, 0), (250, 0), (260, 0)]
    for order in (left + right, right + left):
        xy = np.array(order + [(130.0, 0.0)])
        ref = DBSCAN(eps=95, min_samples=5).fit(xy)
        got = grid.grid_dbscan(xy, 95, 5)
        assert not got.core[-1] and got.labels[-1] >= 0
        np.testing.assert_array_equal(got.labels, ref.labels_)


def test_n_jobs_reaches_the_neighbour_queries(monkeypatch):
    seen = []
    real = cKDTree.query_ball_point

    class Tree(cKDTree):
        def query_ball_point(self, *args, **kwargs):
            seen.append(kwargs.get("workers"))
            return real(self, *args, **kwargs)

    monkeypatch.setattr(grid, "cKDTree", Tree)
    xy = _scene(3, lattice=False)
    one = grid.grid_dbscan(xy, 300, 5, n_jobs=1)
    seen_one, seen[:] = list(seen), []
    every = grid.grid_dbscan(xy, 300, 5, n_jobs=-1)
    assert seen_one and set(seen_one) == {1} and set(seen) == {-1}
    np.testing.assert_array_equal(one.labels, every.labels)


def test_a_pile_of_records_on_one_spot_costs_memory_by_points_not_by_neighbours():
    # 60,000 records geocoded to one commune centre and a dense town of 40,000: every
    # point has tens of thousands of neighbours (scikit-learn keeps ~3.6e9 indices here)
    rng = np.random.default_rng(0)
    xy = np.r_[np.zeros((60_000, 2)), rng.normal(0, 150, (40_000, 2)) + 3_000,
               rng.uniform(-20_000, 20_000, (2_000, 2))] + (470_000, 2_180_000)
    tracemalloc.start()
    res = grid.grid_dbscan(xy, 500, 5)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert res.labels[0] == res.labels[59_999] != res.labels[60_000] >= 0
    assert res.core[:100_000].all()
    assert peak < 150e6, f"peak {peak / 1e6:.0f} MB"


def test_dbscan_on_frames_uses_weights_and_keeps_the_largest_cluster_first():
    xy = _scene(5, lattice=False)
    w = np.where(np.arange(len(xy)) % 4 == 0, 2.0, 1.0)
    pts = gpd.GeoDataFrame({"weight": w}, geometry=shapely.points(xy), crs=32648)
    out = dbscan(pts, eps_m=300, min_samples=6, n_jobs=2)
    ref = DBSCAN(eps=300, min_samples=6).fit(xy, sample_weight=w)
    assert _same_partition(out["cluster"].to_numpy(), ref.labels_)
    sizes = out.loc[out["cluster"] >= 0, "cluster"].value_counts()
    assert sizes.index[0] == 0 and sizes.iloc[0] == sizes.max()


def test_empty_and_all_noise_inputs():
    assert len(grid.grid_dbscan(np.empty((0, 2)), 100, 5).labels) == 0
    far = np.array([[0.0, 0.0], [1000.0, 0.0], [0.0, 1000.0]])
    res = grid.grid_dbscan(far, 100, 2)
    assert (res.labels == -1).all() and not res.core.any()
