"""Does the list predict? PAI / PEI* computed right, baselines on the same area, the command."""
from __future__ import annotations

import json
import re

import geopandas as gpd
import numpy as np
import pytest
import shapely
from click.testing import CliRunner

from geo_pcmt.analysis import backtest as bt
from geo_pcmt.cli import main
from geo_pcmt.runs import backtest
from geo_pcmt.runs.seed import load_boundaries
from geo_pcmt.store import GeoPackageStore
from tests.test_hotspots_cli import NAM_CAN, VINH, _frames


def test_pai_and_pei_star_on_a_hand_made_case():
    # ten cells; the month's 6 events: 1 in cell 0, 1 in cell 1, 3 in cell 5, 1 in cell 7
    counts = np.array([1, 1, 0, 0, 0, 3, 0, 1, 0, 0], float)
    s = bt.score_flagged(np.arange(10) < 2, counts)        # flags cells 0 and 1
    assert (s.n, s.N, s.a, s.A) == (2, 6, 2, 10)
    assert s.hit_rate == pytest.approx(2 / 6)
    assert s.pai == pytest.approx((2 / 6) / (2 / 10))      # 1.67
    # best two cells hold 3 + 1 = 4 events, both busy: PEI* = (2/2) / (4/2)
    assert (s.n_star, s.a_star) == (4, 2) and s.pei_star == pytest.approx(0.5)
    assert s.pei == pytest.approx(2 / 4)   # Hunt (2016): PAI / best PAI on the same area
    # flag 5 cells: an oracle needs only the 4 busy cells for all 6 events (a* = 4)
    five = bt.score_flagged(np.isin(np.arange(10), [0, 1, 5, 7, 9]), counts)
    assert (five.n, five.n_star, five.a_star) == (6, 6, 4)
    assert five.pei_star == pytest.approx((6 / 5) / (6 / 4))   # 0.8: one cell wasted
    assert five.pei == 1.0                                    # PEI does not see the waste
    assert bt.score_flagged(np.zeros(10, bool), counts).pai != bt.score_flagged(
        np.zeros(10, bool), counts).pai                   # no area: NaN, not a number


def test_the_list_fills_from_its_best_area_and_the_baselines_use_the_same_area():
    grid = bt.study_grid(shapely.box(0, 0, 10_000, 10_000), cell_size_m=1000)  # 100 cells
    areas = gpd.GeoDataFrame({"score": [9.0, 3.0]},
                             geometry=[shapely.box(0, 0, 2000, 2000),      # 4 cells
                                       shapely.box(5000, 5000, 7000, 6000)],  # 2 cells
                             crs=32648)
    fc = bt.list_forecast(grid, areas)
    assert (fc.score == 9).sum() == 4 and (fc.score == 3).sum() == 2
    assert set(np.flatnonzero(fc.flagged(4))) == set(np.flatnonzero(fc.score == 9))
    events = gpd.GeoDataFrame(geometry=shapely.points([[500, 500], [1500, 1500], [9500, 9500]]),
                              crs=32648)
    counts = grid.counts(events)
    rows = bt.compare(grid, {"list": fc, "last_month": bt.last_month_forecast(grid, events)},
                      counts, shares=(0.04, 0.5))
    by = {(r["share"], r["method"]): r for r in rows}
    assert by[(0.04, "list")]["n"] == 2 and by[(0.04, "list")]["pai"] == pytest.approx(
        (2 / 3) / 0.04)
    # at 50 % the list can flag only its 6 cells, and the baseline is scored on 6 too
    assert by[(0.5, "list")]["cells"] == by[(0.5, "last_month")]["a"] == 6


def test_the_list_ranks_its_places_then_the_hot_ground_around_them_to_fill_the_share():
    grid = bt.study_grid(shapely.box(0, 0, 10_000, 10_000), cell_size_m=500)  # 400 cells
    areas = gpd.GeoDataFrame({"score": [9.0, 5.0]},
                             geometry=[shapely.box(0, 0, 1000, 1000),          # 4 cells
                                       shapely.box(6000, 6000, 7000, 7000)],   # 4 cells
                             crs=32648)
    rng = np.random.default_rng(3)
    ev = np.vstack([rng.normal(250, 60, (6, 2)),           # in the best place, one cell
                    rng.normal(6750, 60, (6, 2)),          # in the other place
                    rng.normal(3250, 60, (20, 2))])        # a hot spot no place covers
    evidence = gpd.GeoDataFrame(geometry=shapely.points(ev), crs=32648)
    fc = bt.list_forecast(grid, areas, evidence, radius_m=1000)
    order = fc.order()
    in_place = fc.score > bt.SURROUNDING
    # the places' evidence cells come first, the best place first; empty place cells wait
    assert in_place[order[:in_place.sum()]].all() and 1 <= in_place.sum() <= 4
    assert fc.score[order[0]] == 9.0
    # then the surrounding hot cells, hottest first: the unlisted hot spot leads them
    first_hot = order[in_place.sum()]
    assert abs(grid.x[first_hot] - 3250) <= 500 and abs(grid.y[first_hot] - 3250) <= 500
    # the list can now fill far more than its 8 place cells
    assert (fc.score > 0).sum() > 20
    events = gpd.GeoDataFrame(geometry=shapely.points([[3300, 3200], [250, 250]]), crs=32648)
    rows = bt.compare(grid, {"list": fc}, grid.counts(events), shares=(0.05,))
    assert rows[0]["cells"] == 20 and rows[0]["n"] == 2


def test_events_of_the_month_are_unseen_when_the_list_is_built():
    frames = _frames()
    past = backtest._before(frames, __import__("datetime").date(2025, 8, 1))
    assert backtest.dates(past["cases"]["date"]).max() < np.datetime64("2025-08-01")
    rp = past["retail_points"]
    assert (rp["status"] != "cleared").all()   # cleared on 1 Aug: still active the day before


@pytest.mark.slow
def test_backtest_command_prints_the_table_and_writes_the_chart(tmp_path):
    store = GeoPackageStore(tmp_path / "s.gpkg")
    store.init()
    load_boundaries(store)
    for layer, frame in _frames().items():
        store.write(layer, frame, mode="replace")
    out = tmp_path / "out"
    args = ["backtest", "--month", "2025-10", "--month", "2025-11", "--out", str(out)]
    env = {"GEO_PCMT_STORE": str(store.path)}
    res = CliRunner().invoke(main, args, env=env, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "Danh sách địa bàn phức tạp" in res.output and "Mật độ KDE" in res.output
    # the area column shows the share actually covered (the list may cover less than 3 %)
    assert "tháng 10/2025" in res.output and re.search(r"\d,\d %", res.output)
    assert (out / "backtest_pai.png").stat().st_size > 10_000
    res = CliRunner().invoke(main, args + ["--json"], env=env, catch_exceptions=False)
    data = json.loads(res.output[res.output.index("{"):])
    kde3 = [r for r in data["rows"] if r["method"] == "kde" and r["share"] == 0.03]
    assert len(kde3) == 2 and all(r["pai"] > 5 for r in kde3)   # two tight hotspots: KDE finds them


@pytest.mark.slow
def test_on_the_sample_the_list_beats_the_kde_baseline_at_3_percent():
    # the sample's background is persistent plus contagious (tools/sample.py): a list built
    # from the past only must find next month's events better than a KDE of all the past
    from geo_pcmt.ingest import boundaries, sample_files
    d = sample_files.read()
    frames = {"communes": boundaries.communes(), "border_line": boundaries.border_line(),
              **{k: d[k] for k in ("retail_points", "opium_plots", "cases", "border_crossings",
                                   "commune_assessments")}}
    result = backtest.run(frames, backtest.BacktestParams(months=("2026-09", "2026-10")))
    ratio = result.ratio(0.03, "kde")
    assert len(ratio) == 2 and (ratio >= 1.4).all(), ratio.to_dict()
    at3 = result.rows[np.isclose(result.rows["share"], 0.03)]
    assert (at3["cells"] == round(0.03 * result.months[0]["cells"])).all()  # the full 3 %
    assert all(m["list_cells"] > m["place_cells"] > 0 for m in result.months)
