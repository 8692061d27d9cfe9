"""The fast paths of a hotspot run at a million points give what the plain paths give.

Reprojection as coordinate arrays (one pyproj Transformer), metric x/y shared through
``x_m`` / ``y_m``, MultiPoints built from coordinates, hulls on threads: each is checked
against the straightforward way on the same data, and a whole run on a fixed scene gives
the same clusters and flags either way.
"""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo_pcmt.analysis import clusters, grid
from geo_pcmt.crs import METRIC_CRS, STORAGE_CRS
from geo_pcmt.ingest import boundaries
from geo_pcmt.runs import hotspots


def _scene(seed: int = 3, n: int = 6000) -> dict[str, gpd.GeoDataFrame]:
    """Clustered retail points, plots and cases inside the province (fixed seed)."""
    rng = np.random.default_rng(seed)
    communes = boundaries.communes().to_crs(METRIC_CRS)
    centres = shapely.get_coordinates(communes.geometry.sample_points(size=1, rng=rng).values)
    centres = centres[rng.choice(len(centres), 25, replace=False)]
    xy = centres[rng.integers(0, len(centres), n)] + rng.normal(0, 400, (n, 2))
    pts = gpd.GeoSeries(shapely.points(xy), crs=METRIC_CRS).to_crs(STORAGE_CRS).values
    days = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 1090, n), unit="D")
    day = days.strftime("%Y-%m-%d").to_numpy()
    a, b = int(n * 0.7), int(n * 0.8)
    status = np.array(["active", "watch", "cleared", "re-emerged"])[rng.choice(4, a)]
    return {
        "retail_points": gpd.GeoDataFrame({
            "id": [f"RP-{i}" for i in range(a)], "type": "diem_ban_le", "status": status,
            "first_seen": day[:a], "last_activity": day[:a], "confidentiality": "restricted",
            "cleared_on": np.where(status == "cleared", "2025-12-01", None)},
            geometry=pts[:a], crs=STORAGE_CRS),
        "opium_plots": gpd.GeoDataFrame({
            "id": [f"OP-{i}" for i in range(b - a)], "detected_on": day[a:b],
            "area_m2": rng.uniform(40, 600, b - a), "confidentiality": "restricted"},
            geometry=pts[a:b], crs=STORAGE_CRS),
        "cases": gpd.GeoDataFrame({
            "id": [f"CA-{i}" for i in range(n - b)], "date": day[b:], "kind": "retail",
            "confidentiality": "restricted"}, geometry=pts[b:], crs=STORAGE_CRS),
        "communes": boundaries.communes(),
        "border_line": boundaries.border_line(),
        "border_crossings": boundaries.border_gates(),
    }


def test_metric_xy_of_points_and_polygons_is_what_geopandas_to_crs_gives():
    rng = np.random.default_rng(0)
    lon, lat = rng.uniform(104.0, 105.8, 500), rng.uniform(18.6, 19.9, 500)
    geoms = np.array(shapely.points(lon, lat), dtype=object)
    geoms[::7] = shapely.buffer(geoms[::7], 0.01)  # a few plots stored as polygons
    frame = gpd.GeoDataFrame(geometry=geoms, crs=STORAGE_CRS)
    x, y = grid.metric_xy(frame)
    metric = np.asarray(frame.to_crs(METRIC_CRS).geometry.values, dtype=object)
    ref = np.where(shapely.get_type_id(metric) == 0, metric, shapely.point_on_surface(metric))
    assert np.array_equal(x, shapely.get_x(ref)) and np.array_equal(y, shapely.get_y(ref))


def test_metric_xy_uses_x_m_y_m_only_where_they_match_the_geometry():
    frame = gpd.GeoDataFrame({"x_m": [500_000.0, 510_000.0], "y_m": [2_100_000.0] * 2},
                             geometry=shapely.points([500_000, 510_000], [2_100_000] * 2),
                             crs=METRIC_CRS).to_crs(STORAGE_CRS)
    x, _ = grid.metric_xy(frame)
    assert np.allclose(x, [500_000, 510_000], atol=1e-6)
    stale = frame.assign(x_m=[1.0, 2.0])  # columns that no longer say where the points are
    x, _ = grid.metric_xy(stale)
    assert np.allclose(x, [500_000, 510_000], atol=1e-6)


def test_cluster_hulls_on_threads_are_the_hulls_drawn_one_by_one():
    rng = np.random.default_rng(1)
    sizes = [9000, 6000, 3000, 2500, 400, 3, 1]
    xy = np.vstack([rng.normal((470_000 + 9000 * i, 2_110_000), 300, (k, 2))
                    for i, k in enumerate(sizes)])
    labels = np.repeat(np.arange(len(sizes)), sizes)
    threaded = clusters._hulls(xy, labels, np.arange(len(sizes)), hull="concave",
                               concave_ratio=0.3, buffer_m=150, n_jobs=2)
    for k in range(len(sizes)):
        one = shapely.buffer(shapely.concave_hull(shapely.multipoints(xy[labels == k]),
                                                  ratio=0.3), 150, quad_segs=4)
        assert shapely.equals_exact(threaded[k], one, tolerance=0)


@pytest.mark.slow
def test_a_huge_cluster_is_outlined_from_thinned_members_that_it_still_covers():
    rng = np.random.default_rng(2)
    xy = rng.normal((470_000, 2_110_000), 3000, (60_000, 2))
    labels = np.zeros(len(xy), dtype=np.int64)
    thin_xy, thin_labels = clusters._thinned(xy, labels, 5000, 150.0)
    assert len(thin_xy) <= 5000
    full, thin = (clusters._hulls(xy, labels, np.arange(1), hull="concave",
                                  concave_ratio=0.3, buffer_m=150, max_points=m)[0]
                  for m in (None, 5000))
    assert shapely.contains_xy(thin, xy[:, 0], xy[:, 1]).mean() > 0.999
    assert abs(thin.area / full.area - 1) < 0.02
    # a cluster under the limit is drawn through every member
    kept, _ = clusters._thinned(xy[:4000], labels[:4000], 5000, 150.0)
    assert len(kept) == 4000


def _plain_paths(monkeypatch):
    """The straightforward ways: geopandas to_crs for every reprojection, no reuse of
    x_m / y_m, combined points rebuilt from metres, hulls on one thread."""
    monkeypatch.setattr(grid, "_known_metric_xy", lambda *a, **k: None)

    def storage_points(layers, data):
        return gpd.GeoSeries(shapely.points(data["x_m"].to_numpy(), data["y_m"].to_numpy()),
                             crs=METRIC_CRS).to_crs(STORAGE_CRS).values

    monkeypatch.setattr(clusters, "_storage_points", storage_points)
    monkeypatch.setattr(clusters, "_threads", lambda n_jobs: 1)


@pytest.mark.slow
def test_a_run_gives_the_same_clusters_and_flags_on_the_fast_and_the_plain_paths(monkeypatch):
    scene = _scene()
    params = hotspots.HotspotParams(as_of="2025-12-31")
    fast = hotspots.run(scene, params)
    with monkeypatch.context() as m:
        _plain_paths(m)
        plain = hotspots.run(scene, params)
    assert fast.summary == plain.summary
    assert fast.summary["clusters"] >= 5 and sum(fast.summary["flags"].values()) >= 5
    for layer in ("hotspot_clusters", "complex_hotspots", "gistar_cells", "emerging_hotspots"):
        a = fast.frames[layer].drop(columns=["id", "run_id", "params", "created_at"])
        b = plain.frames[layer].drop(columns=["id", "run_id", "params", "created_at"])
        pd.testing.assert_frame_equal(pd.DataFrame(a.drop(columns="geometry")),
                                      pd.DataFrame(b.drop(columns="geometry")),
                                      check_exact=False, rtol=1e-9)
        assert np.all(shapely.equals_exact(a.geometry.values, b.geometry.values, tolerance=1e-9))
    # the labelled points sit where the records are
    assert np.allclose(shapely.get_coordinates(fast.points.geometry.values),
                       shapely.get_coordinates(plain.points.geometry.values), atol=1e-9)


@pytest.mark.parametrize("lags", [0, 1, 2])
def test_space_time_gi_without_the_big_matrix_is_gi_with_it(lags):
    from geo_pcmt.analysis import gistar, trends
    rng = np.random.default_rng(lags)
    cells = grid.hex_grid(shapely.box(470_000, 2_100_000, 500_000, 2_130_000), 3000)
    w = grid.hex_contiguity(cells)
    values = rng.poisson(0.7, (len(cells), 14)).astype(float)
    values[:3] *= 0.5  # some weighted sums, not only counts
    lag, card = trends.space_time_lag(values, w, lags)
    fast = gistar.gi_star_from_lag(values.T.ravel(), lag.T.ravel(), card.T.ravel())
    slow = gistar.gi_star_values(values.T.ravel(), trends.space_time_weights(w, 14, lags))
    assert np.allclose(fast.z, slow.z, rtol=0, atol=1e-12)
    assert np.allclose(fast.p, slow.p, rtol=0, atol=1e-12)
    assert np.array_equal(fast.expected, slow.expected)
