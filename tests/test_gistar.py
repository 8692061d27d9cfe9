"""Hex grid, spatial weights and Getis-Ord Gi*: agreement with esda, FDR, classes."""
from __future__ import annotations


import math
import warnings

import esda
import geopandas as gpd
import libpysal
import numpy as np
import pytest
import shapely

from geo_pcmt.ingest import boundaries
from geo_pcmt.analysis import grid
from geo_pcmt.analysis import gistar

warnings.filterwarnings("ignore", message=".*island.*")
warnings.filterwarnings("ignore", message=".*not fully connected.*")


@pytest.fixture(scope="module")
def province_grid():
    return grid.hex_grid(boundaries.province(), cell_size_m=4000)


def _w(sparse):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return libpysal.weights.WSP(sparse).to_W(silence_warnings=True)


def _planted_values(cells, rng, centre_cells=8):
    """Poisson background, plus a block of high values around one cell."""
    y = rng.poisson(1.0, len(cells)).astype(float)
    x0, y0 = cells["x_m"].median(), cells["y_m"].median()
    d = np.hypot(cells["x_m"] - x0, cells["y_m"] - y0).to_numpy()
    hot = np.argsort(d)[:centre_cells]
    y[hot] += 12
    return y, hot


# --- grid -----------------------------------------------------------------------------

def test_hexagons_have_the_asked_size_and_cover_the_province(province_grid):
    metric = province_grid.to_crs(32648)
    assert np.allclose(metric.area, math.sqrt(3) / 2 * 4000 ** 2, rtol=1e-6)
    province = boundaries.province().to_crs(32648).geometry.iloc[0]
    covered = shapely.union_all(metric.geometry.values)
    assert province.difference(covered).area < 1.0  # m²: float slivers between cells only
    assert province_grid["cell"].is_unique


def test_cell_ids_are_the_same_whatever_the_area():
    small = boundaries.communes().query("code == '16837'")  # Xã Nậm Cắn
    whole = grid.hex_grid(boundaries.province(), 2000)
    part = grid.hex_grid(small, 2000)
    assert set(part["cell"]) <= set(whole["cell"])
    assert part["cell"].iloc[0].startswith("h2000:")


def test_points_are_counted_in_the_cell_that_contains_them(province_grid):
    cells = province_grid.iloc[[10, 200, 200, 400]]
    # a point 1 km off each chosen centre is still inside that 4 km hexagon
    pts = gpd.GeoDataFrame(geometry=shapely.points(cells["x_m"] + 1000, cells["y_m"]), crs=32648)
    out = grid.aggregate_to_hexes(province_grid, pts)
    assert out["value"].sum() == 4
    assert out["value"].iloc[200] == 2 and out["value"].iloc[10] == 1
    far = gpd.GeoDataFrame(geometry=[shapely.Point(0, 0)], crs=32648)
    assert grid.aggregate_to_hexes(province_grid, far).attrs["outside"] == 1


def test_interior_cells_have_six_neighbours_and_weights_are_symmetric(province_grid):
    w = grid.hex_contiguity(province_grid)
    assert (w != w.T).nnz == 0 and w.diagonal().sum() == 0
    assert np.bincount(np.diff(w.indptr)).argmax() == 6
    # the neighbours really touch, and are one cell size apart
    i = int(np.flatnonzero(np.diff(w.indptr) == 6)[0])
    j = w.indices[w.indptr[i]:w.indptr[i + 1]]
    d = np.hypot(province_grid["x_m"].iloc[j] - province_grid["x_m"].iloc[i],
                 province_grid["y_m"].iloc[j] - province_grid["y_m"].iloc[i])
    assert np.allclose(d, 4000)


# --- agreement with esda ---------------------------------------------------------------

@pytest.mark.parametrize("transform", ["B", "R"])
def test_analytical_z_matches_esda_on_hex_contiguity(province_grid, transform):
    rng = np.random.default_rng(3)
    y, _ = _planted_values(province_grid, rng)
    w = grid.hex_contiguity(province_grid)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = esda.G_Local(y, _w(w), transform=transform, star=True, permutations=0)
    ours = gistar.gi_star_values(y, w, transform=transform)
    finite = np.isfinite(ref.Zs)
    assert finite.sum() >= len(y) - 5  # only islands (if any) have no esda z
    assert np.max(np.abs(ours.z[finite] - ref.Zs[finite])) < 1e-6
    assert np.max(np.abs(ours.gi - ref.Gs)) < 1e-9


def test_analytical_z_matches_esda_on_a_distance_band(province_grid):
    rng = np.random.default_rng(4)
    y = rng.gamma(2.0, 3.0, len(province_grid))
    w = grid.distance_band(province_grid["x_m"], province_grid["y_m"], 9000)
    ref = esda.G_Local(y, _w(w), transform="B", star=True, permutations=0)
    ours = gistar.gi_star_values(y, w, transform="B")
    assert np.max(np.abs(ours.z - ref.Zs)) < 1e-6


def test_analytical_z_matches_esda_on_communes_with_queen_contiguity(communes):
    rng = np.random.default_rng(5)
    y = rng.poisson(4.0, len(communes)).astype(float)
    w = grid.polygon_contiguity(communes, kind="queen")
    queen = libpysal.weights.Queen.from_dataframe(communes.to_crs(32648), use_index=False,
                                                  silence_warnings=True)
    assert (w != queen.sparse).nnz == 0  # the same neighbours as libpysal's Queen
    ref = esda.G_Local(y, queen, transform="B", star=True, permutations=0)
    assert np.max(np.abs(gistar.gi_star_values(y, w).z - ref.Zs)) < 1e-6


@pytest.mark.slow  # over ~0.5 s: out of the quick loop
def test_permutation_p_values_agree_with_esda_and_repeat_with_the_seed(province_grid):
    rng = np.random.default_rng(6)
    y, hot = _planted_values(province_grid, rng)
    # no tied values: with integer counts many simulated sums equal the observed one exactly,
    # and esda's numba kernel (fastmath) breaks such ties by rounding, not by the rule
    y = y + rng.uniform(0, 1e-3, len(y))
    w = grid.hex_contiguity(province_grid)
    ref = esda.G_Local(y, _w(w), transform="B", star=True, permutations=999, seed=11)
    a = gistar.gi_star_values(y, w, permutations=999, seed=1)
    b = gistar.gi_star_values(y, w, permutations=999, seed=1)
    c = gistar.gi_star_values(y, w, permutations=999, seed=2)
    assert np.array_equal(a.p_sim, b.p_sim) and not np.array_equal(a.p_sim, c.p_sim)
    connected = np.diff(w.indptr) > 0
    diff = np.abs(a.p_sim - ref.p_sim)[connected]
    # two independent Monte Carlo estimates of the same p-values
    assert np.median(diff) < 0.02 and np.percentile(diff, 99) < 0.06
    assert (a.p_sim[hot] <= 0.002).all()


# --- FDR and classes ---------------------------------------------------------------------

def test_benjamini_hochberg_adjusts_as_in_the_textbook():
    p = np.array([0.01, 0.04, 0.03, 0.005])
    assert np.allclose(gistar.fdr_bh(p), [0.02, 0.04, 0.04, 0.02])
    assert (gistar.fdr_bh(np.array([0.5, 0.9])) <= 1).all()


def test_z_scores_fall_in_arcgis_bins():
    z = np.array([3.5, 2.2, 1.7, 0.3, -1.7, -2.2, -3.5])
    p = 2 * (1 - __import__("scipy").stats.norm.cdf(np.abs(z)))
    gi_bin, names, conf = gistar.classify(z, p)
    assert gi_bin.tolist() == [3, 2, 1, 0, -1, -2, -3]
    assert names.tolist() == ["hot_99", "hot_95", "hot_90", "not_significant", "cold_90",
                              "cold_95", "cold_99"]
    assert conf.tolist() == [99, 95, 90, 0, 90, 95, 99]


def test_uniform_noise_has_no_significant_cell_after_fdr(province_grid):
    rng = np.random.default_rng(8)
    cells = province_grid.assign(value=rng.poisson(3.0, len(province_grid)).astype(float))
    w = grid.hex_contiguity(cells)
    raw = gistar.gi_star(cells, "value", w, fdr=False)
    fdr = gistar.gi_star(cells, "value", w, fdr=True)
    assert (raw["gi_bin"] != 0).sum() > 0.05 * len(cells)  # uncorrected: ~10 % false alarms
    assert (fdr["hotspot_class"] == "not_significant").all()


def test_a_planted_hotspot_is_hot_at_99_percent_after_fdr(province_grid):
    rng = np.random.default_rng(9)
    y, hot = _planted_values(province_grid, rng)
    out = gistar.gi_star(province_grid.assign(value=y), "value",
                         grid.hex_contiguity(province_grid))
    assert (out["hotspot_class"].iloc[hot] == "hot_99").sum() >= len(hot) - 1
    assert (out["p_fdr"] >= out["p"] - 1e-15).all()
    assert out.crs == province_grid.crs and len(out) == len(province_grid)


def test_permutation_inference_needs_permutations_and_bad_values_name_the_row(province_grid):
    w = grid.hex_contiguity(province_grid)
    cells = province_grid.assign(value=np.ones(len(province_grid), dtype=object))
    with pytest.raises(ValueError, match="permutations"):
        gistar.gi_star(cells, "value", w, inference="permutation")
    cells.loc[cells.index[7], "value"] = "many"
    with pytest.raises(ValueError, match=r"row 7, field 'value'"):
        gistar.gi_star(cells, "value", w)


def test_constant_values_give_no_hotspot_rather_than_nan(province_grid):
    w = grid.hex_contiguity(province_grid)
    out = gistar.gi_star(province_grid.assign(value=0.0), "value", w)
    assert (out["z"] == 0).all() and (out["hotspot_class"] == "not_significant").all()
