"""Emerging hot spots: space-time cube, Mann–Kendall and the ArcGIS trend categories."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from scipy import stats

from geo_pcmt.analysis import grid
from geo_pcmt.analysis import trends

T = 24
SIZE_M = 2000.0
# Each planted pattern: a hex cell and its six neighbours ("flower") with these monthly
# counts, on a 20 × 20 block of cells that all have one event a month.
PLANTED = {
    "persistent_hot": ((203, 1053), lambda t: 6),
    "intensifying_hot": ((208, 1053), lambda t: int(5 + 0.5 * t)),
    "diminishing_hot": ((213, 1053), lambda t: int(5 + 0.5 * (T - 1 - t))),
    "new_hot": ((203, 1060), lambda t: 20 if t == T - 1 else 1),
    "consecutive_hot": ((208, 1060), lambda t: 12 if t >= T - 3 else 1),
    "historical_hot": ((213, 1060), lambda t: 8 if t < T - 2 else 1),
    "sporadic_hot": ((203, 1066), lambda t: 15 if t in (3, 10, 17, 23) else 1),
    "oscillating_hot": ((208, 1066), lambda t: 0 if t < 6 else (20 if t == T - 1 else 1)),
}


def _flower(q, r):
    return [(q, r)] + [(q + dq, r + dr) for dq, dr in ((1, 0), (1, -1), (0, -1), (-1, 0), (-1, 1), (0, 1))]


@pytest.fixture(scope="module")
def planted_cube():
    months = pd.period_range("2024-01", periods=T, freq="M")
    counts = {}
    for q in range(200, 220):
        for r in range(1050, 1070):
            for t in range(T):
                counts[(q, r, t)] = 1
    for (q0, r0), f in PLANTED.values():
        for q, r in _flower(q0, r0):
            for t in range(T):
                counts[(q, r, t)] = f(t)
    xs, ys, dates = [], [], []
    for (q, r, t), c in counts.items():
        x, y = grid.hex_centres(np.array([q]), np.array([r]), SIZE_M)
        xs += [x[0] + 100.0] * c
        ys += [y[0] - 100.0] * c
        dates += [f"{months[t].year}-{months[t].month:02d}-15"] * c
    events = gpd.GeoDataFrame({"date": dates}, geometry=shapely.points(xs, ys), crs=32648)
    return trends.space_time_cube(events.to_crs(4326), time_column="date", cell_size_m=SIZE_M)


# --- the cube ----------------------------------------------------------------------------

def test_cube_counts_events_per_cell_and_month(planted_cube):
    cube = planted_cube
    assert cube.periods[0] == "2024-01" and cube.periods[-1] == "2025-12" and len(cube.periods) == T
    (q, r), f = PLANTED["intensifying_hot"]
    i = int(np.flatnonzero(cube.cells["cell"] == grid.cell_ids([q], [r], SIZE_M)[0])[0])
    assert cube.values[i].tolist() == [f(t) for t in range(T)]
    assert cube.weights.shape == (len(cube.cells), len(cube.cells))


def test_quarters_and_empty_steps_are_kept():
    pts = gpd.GeoDataFrame({"date": ["2024-01-03", "2024-11-30", "2024-02-01"]},
                           geometry=shapely.points([[450_000, 2_100_000]] * 3), crs=32648)
    cube = trends.space_time_cube(pts, time_column="date", freq="quarter", end="2025-03-31")
    assert cube.periods == ["2024Q1", "2024Q2", "2024Q3", "2024Q4", "2025Q1"]
    assert cube.values.tolist() == [[2, 0, 0, 1, 0]]


def test_places_that_last_count_in_every_step_until_cleared():
    pts = gpd.GeoDataFrame({"first_seen": ["2024-01-10", "2024-02-01", "2024-05-20"],
                            "cleared_on": ["2024-03-05", None, "2024-05-20"]},
                           geometry=shapely.points([[450_000, 2_100_000]] * 3), crs=32648)
    cube = trends.space_time_cube(pts, time_column="first_seen", end_column="cleared_on",
                                  end="2024-06-30")
    assert cube.periods == ["2024-01", "2024-02", "2024-03", "2024-04", "2024-05", "2024-06"]
    # cleared in March: Jan–Mar; never cleared: Feb to the end; seen and cleared in May: May
    assert cube.values.tolist() == [[1, 2, 2, 1, 2, 1]]


def test_a_bad_date_is_reported_with_its_row():
    pts = gpd.GeoDataFrame({"date": ["2024-01-03", "soon"]},
                           geometry=shapely.points([[450_000, 2_100_000]] * 2), crs=32648)
    with pytest.raises(ValueError, match=r"row 1, field 'date'"):
        trends.space_time_cube(pts, time_column="date")


def test_space_time_neighbours_look_back_never_forward():
    spatial = grid.hex_contiguity(pd.DataFrame({"q": [0, 1, 5], "r": [0, 0, 0]}))
    w = trends.space_time_weights(spatial, n_periods=3, time_lag_steps=1).toarray()
    n = 3
    # bin (cell 0, t=1) sees cell 1 at t=1 and cells 0, 1 at t=0; not t=2, not itself
    row = w[1 * n + 0]
    assert row[1 * n + 1] == 1 and row[0 * n + 0] == 1 and row[0 * n + 1] == 1
    assert row[1 * n + 0] == 0 and row[2 * n:].sum() == 0 and row[1 * n + 2] == 0


# --- Mann–Kendall ---------------------------------------------------------------------------

def test_mann_kendall_tau_agrees_with_kendalls_tau_b():
    rng = np.random.default_rng(0)
    series = np.vstack([rng.normal(size=30).cumsum(), np.r_[np.zeros(10), np.arange(20) % 4],
                        np.arange(30.0)])
    mk = trends.mann_kendall(series)
    for row, tau in zip(series, mk.tau):
        assert tau == pytest.approx(stats.kendalltau(np.arange(30), row).statistic, abs=1e-12)
    assert mk.p[2] < 1e-6 and mk.z[2] > 0


def test_mann_kendall_p_uses_the_tie_corrected_variance():
    x = np.array([[1, 1, 2, 2, 3, 3, 3, 5, 4, 6.0]])
    mk = trends.mann_kendall(x)
    n = 10
    s = sum(np.sign(x[0, j] - x[0, i]) for i in range(n) for j in range(i + 1, n))
    var = (n * (n - 1) * (2 * n + 5) - 2 * (2 * 1 * 9) - 3 * 2 * 11) / 18
    assert mk.s[0] == s
    assert mk.z[0] == pytest.approx((s - 1) / np.sqrt(var))
    assert trends.mann_kendall(np.ones((1, 8))).p[0] == 1.0


# --- categories on z series (definitions) -------------------------------------------------

def _series(hot=(), cold=(), ramp=0.0):
    z = np.linspace(0.0, ramp, 12)
    p = np.full(12, 0.5)
    for t in hot:
        z[t], p[t] = 3.0 + ramp * t / 12, 0.001
    for t in cold:
        z[t], p[t] = -3.0, 0.001
    return z, p


@pytest.mark.parametrize("expected, z, p", [
    ("new_hot", *_series(hot=[11])),
    ("consecutive_hot", *_series(hot=[9, 10, 11])),
    ("sporadic_hot", *_series(hot=[2, 5, 11])),
    ("oscillating_hot", *_series(hot=[11], cold=[3])),
    ("intensifying_hot", np.linspace(2.5, 6, 12), np.full(12, 0.001)),
    ("diminishing_hot", np.linspace(6, 2.5, 12), np.full(12, 0.001)),
    ("persistent_hot", 3 + np.array([0.1, -0.2, 0.3, -0.1, 0.2, -0.3, 0.1, 0, -0.2, 0.2, -0.1, 0.1]),
     np.full(12, 0.001)),
    ("historical_hot", np.r_[np.linspace(6, 2.5, 11), 0.5], np.r_[np.full(11, 0.001), 0.6]),
    ("new_cold", *_series(cold=[11])),
    ("consecutive_cold", *_series(cold=[10, 11])),
    ("oscillating_cold", *_series(hot=[4], cold=[11])),
    ("sporadic_cold", *_series(cold=[1, 6, 11])),
    ("intensifying_cold", np.linspace(-2.5, -6, 12), np.full(12, 0.001)),
    ("historical_cold", np.r_[np.full(11, -3.0), -0.5], np.r_[np.full(11, 0.001), 0.6]),
    ("no_pattern", *_series()),
    ("no_pattern", *_series(hot=[3, 4])),  # hot once, not any more: no pattern
])
def test_each_category_follows_its_definition(expected, z, p):
    mk = trends.mann_kendall(z)
    got = trends.classify_trends(np.atleast_2d(z), np.atleast_2d(p), mk.tau, mk.p)
    assert got[0] == expected


def test_consecutive_needs_two_steps_and_no_earlier_hot_step():
    z, p = _series(hot=[2, 10, 11])
    mk = trends.mann_kendall(z)
    assert trends.classify_trends([z], [p], mk.tau, mk.p)[0] == "sporadic_hot"


# --- end to end on a constructed space-time cube ----------------------------------------------

def test_planted_patterns_get_their_category(planted_cube):
    out = trends.emerging_hotspots(planted_cube, time_lag_steps=1, alpha=0.05)
    for expected, ((q, r), _) in PLANTED.items():
        row = out.loc[out["cell"] == grid.cell_ids([q], [r], SIZE_M)[0]].iloc[0]
        assert row["category"] == expected, (expected, row["periods_hot"], row["mk_p"])
    assert set(out["category"]) <= set(trends.CATEGORIES)
    # most of the block, one event a month everywhere, shows no pattern
    assert (out["category"] == "no_pattern").mean() > 0.6
    assert out.attrs["z"].shape == (len(out), T)
    assert out.loc[out["category"] == "persistent_hot", "label_vi"].iloc[0] == "Điểm nóng kéo dài"


def test_fdr_over_the_cube_only_removes_significance(planted_cube):
    plain = trends.emerging_hotspots(planted_cube)
    strict = trends.emerging_hotspots(planted_cube, fdr=True)
    assert (strict["periods_hot"] <= plain["periods_hot"]).all()
    assert (strict["category"] != "no_pattern").sum() <= (plain["category"] != "no_pattern").sum()


# --- the linear cube against the per-record one it replaced --------------------------------

def _cube_values_per_record_step(events, cube, *, time_column, end_column, weight_column):
    """The cube as built before (one row per record and step, a pandas MultiIndex of cells),
    kept here as the reference the linear cube must reproduce."""
    d = trends._event_dates(events, time_column)
    periods = pd.PeriodIndex([pd.Period(p, freq="M") for p in cube.periods])
    lo, hi = periods[0].start_time, periods[-1].end_time.normalize()
    ev, t0, t1 = trends._steps_covered(events, d, end_column, lo, hi, periods, "month")
    x, y = grid.metric_xy(ev)
    q, r = grid.hex_of_xy(x, y, cube.cell_size_m)
    w = pd.to_numeric(ev[weight_column], errors="coerce").fillna(0.0).to_numpy(float)
    span = t1 - t0 + 1
    rec = np.repeat(np.arange(len(x)), span)
    t_index = t0[rec] + (np.arange(len(rec)) - np.repeat(np.cumsum(span) - span, span))
    codes, uniq = pd.factorize(pd.MultiIndex.from_arrays([q[rec], r[rec]]), sort=True)
    values = np.zeros((len(uniq), len(periods)))
    np.add.at(values, (codes, t_index), w[rec])
    return (np.asarray(uniq.get_level_values(0)), np.asarray(uniq.get_level_values(1)),
            np.round(values, 9))  # sums rounded as the linear cube does, so ties compare


@pytest.mark.slow  # over ~0.5 s: out of the quick loop
def test_linear_cube_reproduces_the_per_record_cube_on_the_sample():
    from geo_pcmt.analysis.clusters import combine_points
    from geo_pcmt.ingest import sample_files
    frames = sample_files.read()
    points = combine_points({k: frames[k] for k in ("retail_points", "opium_plots", "cases")},
                            layer_weights={"retail_points": 1.0, "opium_plots": 0.5, "cases": 0.3})
    dated = points[points["date_start"].notna()]
    cube = trends.space_time_cube(dated, time_column="date_start", cell_size_m=SIZE_M,
                                  weight_column="weight", end_column="present_until")
    q, r, values = _cube_values_per_record_step(dated, cube, time_column="date_start",
                                                end_column="present_until", weight_column="weight")
    assert len(cube.periods) >= 24 and cube.values.sum() > 1000  # retail points span years
    np.testing.assert_array_equal(cube.cells["q"].to_numpy(), q)
    np.testing.assert_array_equal(cube.cells["r"].to_numpy(), r)
    np.testing.assert_allclose(cube.values, values, rtol=0, atol=1e-9)
    assert ((cube.values == 0) == (values == 0)).all()  # empty bins stay exactly empty
    out = trends.emerging_hotspots(cube)
    reference = trends.emerging_hotspots(trends.SpaceTimeCube(
        cells=cube.cells, periods=cube.periods, values=values, weights=cube.weights,
        cell_size_m=cube.cell_size_m, freq=cube.freq))
    assert out["category"].tolist() == reference["category"].tolist()
    assert (out["category"] != "no_pattern").sum() > 0
    np.testing.assert_allclose(out["mk_z"], reference["mk_z"], atol=1e-9)
