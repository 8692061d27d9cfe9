"""Density clusters (DBSCAN / HDBSCAN), cluster polygons, eps suggestion and kernel density."""
from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from sklearn.cluster import DBSCAN
from sklearn.neighbors import KernelDensity

from geo_pcmt.ingest import boundaries
from geo_pcmt.analysis import clusters
from geo_pcmt.analysis import density

# planted cluster centres in EPSG:32648: near Nậm Cắn gate, in Quế Phong, near Vinh
CENTRES = [(411_000.0, 2_153_400.0), (470_000.0, 2_110_000.0), (590_000.0, 2_075_000.0)]


def _planted(rng, per_cluster=40, sigma_m=150.0, noise=30, noise_box=None):
    xy = [rng.normal(c, sigma_m, (per_cluster, 2)) for c in CENTRES]
    lo, hi = noise_box or ((400_000, 2_080_000), (560_000, 2_200_000))
    xy.append(np.column_stack([rng.uniform(lo[0], hi[0], noise), rng.uniform(lo[1], hi[1], noise)]))
    return np.vstack(xy)


def _retail(xy, status=None, first_seen="2025-03-01"):
    n = len(xy)
    return gpd.GeoDataFrame({
        "id": [f"RP-{i:04d}" for i in range(n)], "type": "diem_ban_le",
        "status": status if status is not None else ["active"] * n,
        "first_seen": first_seen, "last_activity": "2025-09-01", "cleared_on": None,
    }, geometry=shapely.points(xy), crs=32648).to_crs(4326)


@pytest.fixture(scope="module")
def planted():
    rng = np.random.default_rng(42)
    return _planted(rng)


def _truth(per_cluster=40, noise=30):
    return np.r_[np.repeat(np.arange(len(CENTRES)), per_cluster), np.full(noise, -1)]


def _recovered(labels, truth):
    """Each planted cluster maps to one found cluster holding ≥ 90 % of its points."""
    found = {}
    for k in range(len(CENTRES)):
        got = labels[truth == k]
        top = pd.Series(got[got >= 0]).value_counts()
        if not len(top) or top.iloc[0] < 0.9 * len(got):
            return False
        found[k] = top.index[0]
    return len(set(found.values())) == len(CENTRES)


# --- DBSCAN / HDBSCAN ---------------------------------------------------------------------

def test_dbscan_finds_the_planted_clusters_with_eps_in_metres(planted):
    pts = clusters.combine_points({"retail_points": _retail(planted)})
    out = clusters.dbscan(pts, eps_m=400, min_samples=5)
    assert out["cluster"].max() + 1 == 3
    assert _recovered(out["cluster"].to_numpy(), _truth())
    assert (out["cluster"].to_numpy()[-30:] == -1).mean() > 0.9  # scattered points are noise


def test_dbscan_gives_the_same_labels_from_lon_lat_or_metres(planted):
    lonlat = clusters.dbscan(_retail(planted), eps_m=400, weight_column=None)
    metric = clusters.dbscan(_retail(planted).to_crs(32648), eps_m=400, weight_column=None)
    assert np.array_equal(lonlat["cluster"], metric["cluster"])


def test_piled_up_points_give_the_same_clusters_as_plain_sklearn():
    rng = np.random.default_rng(1)
    base = rng.normal((450_000, 2_120_000), 300, (60, 2))
    xy = np.vstack([base, np.repeat(base[:10], 20, axis=0)])  # 200 records at 10 places
    ours = clusters.dbscan(gpd.GeoDataFrame(geometry=shapely.points(xy), crs=32648), eps_m=120,
                           min_samples=6)["cluster"].to_numpy()
    ref = DBSCAN(eps=120, min_samples=6).fit_predict(xy)
    # same partition (label numbers may differ)
    assert pd.crosstab(ours, ref).gt(0).sum(axis=1).eq(1).all()
    assert pd.crosstab(ref, ours).gt(0).sum(axis=1).eq(1).all()


def test_a_heavy_layer_makes_a_single_record_a_core_point():
    rp = _retail(np.array([[450_000.0, 2_120_000.0], [450_100.0, 2_120_000.0]]))
    plot = gpd.GeoDataFrame({"id": ["OP-1"], "area_m2": [600.0], "detected_on": ["2026-01-10"]},
                            geometry=[shapely.Point(450_050, 2_120_050)], crs=32648).to_crs(4326)
    light = clusters.dbscan(clusters.combine_points({"retail_points": rp, "opium_plots": plot}),
                            eps_m=200, min_samples=5)
    heavy = clusters.dbscan(clusters.combine_points({"retail_points": rp, "opium_plots": plot},
                                                    layer_weights={"opium_plots": 5}),
                            eps_m=200, min_samples=5)
    assert (light["cluster"] == -1).all()
    assert (heavy["cluster"] == 0).all() and heavy.loc[heavy["layer"] == "opium_plots", "core"].all()


def test_the_largest_cluster_is_number_zero():
    rng = np.random.default_rng(2)
    xy = np.vstack([rng.normal(CENTRES[0], 100, (10, 2)), rng.normal(CENTRES[1], 100, (50, 2))])
    out = clusters.dbscan(gpd.GeoDataFrame(geometry=shapely.points(xy), crs=32648), eps_m=300)
    assert (out["cluster"].iloc[10:] == 0).all() and (out["cluster"].iloc[:10] == 1).all()


def test_hdbscan_finds_clusters_of_different_density():
    rng = np.random.default_rng(3)
    tight = rng.normal(CENTRES[0], 60, (40, 2))
    loose = rng.normal(CENTRES[1], 900, (40, 2))
    noise = np.column_stack([rng.uniform(400_000, 560_000, 30), rng.uniform(2_060_000, 2_200_000, 30)])
    pts = gpd.GeoDataFrame(geometry=shapely.points(np.vstack([tight, loose, noise])), crs=32648)
    truth = np.r_[np.zeros(40), np.ones(40), -np.ones(30)].astype(int)
    one_eps = clusters.dbscan(pts, eps_m=150, min_samples=5)["cluster"].to_numpy()
    assert (one_eps[40:80] >= 0).mean() < 0.5  # an eps fit for the tight group misses the loose
    out = clusters.hdbscan(pts, min_cluster_size=10)["cluster"].to_numpy()
    for k in (0, 1):
        got = out[truth == k]
        assert (got == np.bincount(got[got >= 0]).argmax()).mean() >= 0.85
    assert out[truth == 0][0] != out[truth == 1][0]


def test_the_hdbscan_package_engine_finds_the_same_planted_clusters(planted):
    pytest.importorskip("hdbscan")
    pts = clusters.combine_points({"retail_points": _retail(planted)})
    out = clusters.hdbscan(pts, min_cluster_size=10, engine="hdbscan")
    assert _recovered(out["cluster"].to_numpy(), _truth())


def test_suggested_eps_separates_groups_from_scattered_points(planted):
    pts = clusters.combine_points({"retail_points": _retail(planted)})
    s = clusters.suggest_eps_m(pts, min_samples=5)
    assert 100 < s.eps_m < 2_000
    assert np.all(np.diff(s.distances_m) >= 0)
    assert _recovered(clusters.dbscan(pts, eps_m=s.eps_m)["cluster"].to_numpy(), _truth())


def test_negative_weights_are_refused_with_the_row():
    pts = gpd.GeoDataFrame({"weight": [1.0, -2.0, 1.0]},
                           geometry=shapely.points([[0, 0], [1, 1], [2, 2]]), crs=32648)
    with pytest.raises(ValueError, match=r"row 1, field 'weight'"):
        clusters.dbscan(pts, eps_m=10)


# --- cluster polygons ----------------------------------------------------------------------

def test_cluster_polygons_summarise_members_places_and_border(planted):
    status = ["active"] * 30 + ["cleared"] * 8 + ["re-emerged"] * 2 + ["active"] * 110
    rp = _retail(planted, status=status)
    cases = gpd.GeoDataFrame({"id": ["C-1", "C-2"], "kind": ["retail", "trafficking"],
                              "date": ["2024-05-02", "2026-02-11"]},
                             geometry=shapely.points(np.array([CENTRES[0], CENTRES[0]]) + 20),
                             crs=32648).to_crs(4326)
    pts = clusters.combine_points({"retail_points": rp, "cases": cases})
    labelled = clusters.dbscan(pts, eps_m=400, min_samples=5)
    gates = boundaries.border_gates()
    border = boundaries.border_line()
    polys = clusters.cluster_polygons(labelled, communes=boundaries.communes(), crossings=gates,
                                      border=border)
    assert len(polys) == 3 and set(polys.geom_type) == {"MultiPolygon"}
    first = polys.loc[polys["cluster"] == labelled["cluster"].iloc[0]].iloc[0]
    assert first["n_points"] == 42 and first["n_active"] == 32 and first["n_cleared"] == 8
    assert first["n_re_emerged"] == 2
    assert json.loads(first["counts"]) == {"cases": {"retail": 1, "trafficking": 1},
                                           "retail_points": {"diem_ban_le": 40}}
    assert first["first_date"] == "2024-05-02" and first["last_date"] == "2026-02-11"
    # every member lies inside its polygon
    members = labelled[labelled["cluster"] == first["cluster"]].to_crs(32648)
    poly_m = gpd.GeoSeries([first.geometry], crs=4326).to_crs(32648).iloc[0]
    assert poly_m.contains(shapely.union_all(members.geometry.values))
    # communes and distances computed independently
    touched = boundaries.communes().to_crs(32648)
    expected = sorted(touched.loc[touched.intersects(poly_m), "code"])
    assert sorted(first["communes"].split(";")) == expected
    d_gate = gates.to_crs(32648).distance(poly_m).min() / 1000
    assert first["dist_crossing_km"] == pytest.approx(d_gate, abs=1e-3)
    assert first["nearest_crossing"] == gates.iloc[int(gates.to_crs(32648).distance(poly_m).argmin())]["name"]
    d_border = border.to_crs(32648).distance(poly_m).min() / 1000
    assert first["dist_border_km"] == pytest.approx(d_border, abs=1e-3)


def test_no_cluster_gives_an_empty_frame():
    pts = gpd.GeoDataFrame(geometry=shapely.points([[0, 0], [5000, 0]]), crs=32648)
    out = clusters.cluster_polygons(clusters.dbscan(pts, eps_m=10))
    assert len(out) == 0 and out.crs == "EPSG:4326"


# --- kernel density ----------------------------------------------------------------------

def test_kde_matches_an_exact_kernel_sum_where_it_matters():
    rng = np.random.default_rng(5)
    xy = np.vstack([rng.normal((450_000, 2_100_000), 800, (300, 2)),
                    rng.uniform((440_000, 2_090_000), (460_000, 2_110_000), (200, 2))])
    pts = gpd.GeoDataFrame(geometry=shapely.points(xy), crs=32648)
    surf = density.kde(pts, bandwidth_m=1000, kernel="gaussian")
    gx, gy = np.meshgrid(surf.x_m, surf.y_m)
    kd = KernelDensity(bandwidth=1000).fit(xy)
    exact = np.exp(kd.score_samples(np.column_stack([gx.ravel(), gy.ravel()]))).reshape(gx.shape)
    exact *= len(xy) * 1e6  # per km²
    big = exact > 0.1 * exact.max()
    assert np.max(np.abs(surf.density_per_km2[big] / exact[big] - 1)) < 0.05
    total = np.nansum(surf.density_per_km2) * surf.cell_size_m ** 2 / 1e6
    assert total == pytest.approx(len(xy), rel=0.01)


def test_kde_default_bandwidth_follows_the_documented_rule():
    rng = np.random.default_rng(6)
    xy = rng.normal((450_000, 2_100_000), (2000, 1000), (400, 2))
    pts = gpd.GeoDataFrame(geometry=shapely.points(xy), crs=32648)
    d = np.hypot(*(xy - xy.mean(axis=0)).T)
    sd = np.sqrt((d ** 2).mean())
    expected = 0.9 * min(sd, np.sqrt(1 / np.log(2)) * np.median(d)) * 400 ** -0.2
    surf = density.kde(pts)
    assert surf.bandwidth_m == pytest.approx(expected, rel=0.01)
    assert surf.bandwidth_rule == "arcgis-silverman" and surf.kernel == "quartic"


def test_kde_output_is_ready_for_a_heat_map():
    rng = np.random.default_rng(7)
    xy = rng.normal((470_000, 2_110_000), 500, (200, 2))
    pts = gpd.GeoDataFrame({"w": np.full(len(xy), 2.0)}, geometry=shapely.points(xy), crs=32648).to_crs(4326)
    surf = density.kde(pts, bandwidth_m=800, weight_column="w", area=boundaries.province())
    table = surf.to_points(min_share=0.05)
    assert table.crs == "EPSG:4326" and table["share"].iloc[0] == 1.0
    assert table["share"].is_monotonic_decreasing and (table["share"] >= 0.05).all()
    heat = surf.heat_data(min_share=0.05)
    lat, lon, share = heat[0]
    assert 18 < lat < 20.5 and 103.5 < lon < 106 and share == 1.0
    assert len(heat) == len(table)
    outside = ~np.isfinite(surf.density_per_km2)
    assert outside.any()  # cells beyond the province are NaN, not zero
    assert np.nansum(surf.density_per_km2) * surf.cell_size_m ** 2 / 1e6 == pytest.approx(400, rel=0.02)


def _uniform_in_province(n: int, seed: int) -> gpd.GeoDataFrame:
    from geo_pcmt.analysis.grid import metric_area
    from geo_pcmt.ingest import boundaries
    prov = metric_area(boundaries.province())
    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = prov.bounds
    x, y = rng.uniform(minx, maxx, 4 * n), rng.uniform(miny, maxy, 4 * n)
    ok = shapely.contains_xy(prov, x, y)
    return gpd.GeoDataFrame(geometry=shapely.points(x[ok][:n], y[ok][:n]), crs=32648), prov.area


@pytest.mark.slow  # over ~0.5 s: out of the quick loop
@pytest.mark.parametrize("n", [400, 3000])
def test_uniform_noise_in_the_province_gives_no_cluster(n):
    for seed in range(3):
        pts, area = _uniform_in_province(n, seed)
        assert clusters.hdbscan(pts, area_m2=area)["cluster"].max() == -1
        eps = clusters.suggest_eps_m(pts, area_m2=area).eps_m
        assert clusters.dbscan(pts, eps_m=eps)["cluster"].max() == -1


def test_planted_clusters_in_uniform_noise_are_still_found():
    pts, area = _uniform_in_province(400, 7)
    rng = np.random.default_rng(1)
    xy = np.vstack([rng.normal(c, 300, (40, 2)) for c in CENTRES])
    both = gpd.GeoDataFrame(geometry=np.r_[shapely.points(xy), pts.geometry.values], crs=32648)
    out = clusters.hdbscan(both, area_m2=area)["cluster"].to_numpy()
    assert out.max() + 1 == 3 and _recovered(out[:120], _truth(noise=0))
    eps = clusters.suggest_eps_m(both, area_m2=area).eps_m
    labelled = clusters.dbscan(both, eps_m=eps)["cluster"].to_numpy()
    assert labelled.max() + 1 == 3 and (labelled[120:] >= 0).sum() <= 5
