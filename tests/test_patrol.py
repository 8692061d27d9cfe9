"""Patrol planning: posts, targets and their risk, travel, plans, randomised weeks, storage, CLI."""
from __future__ import annotations

import json
import math
import re
import shutil
from datetime import date, timedelta

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Point

from geo_pcmt import access
from geo_pcmt.analysis import patrol
from geo_pcmt.analysis.patrol import travel
from geo_pcmt.outputs.brief import render_brief
from geo_pcmt.cli import main
from geo_pcmt.crs import METRIC_CRS
from geo_pcmt.analysis.patrol import PatrolError, Post
from geo_pcmt.runs import patrol as patrol_run
from geo_pcmt.store import GeoPackageStore

POST_XY = (104.1193, 19.4803)  # Đồn BP CKQT Nậm Cắn (sample position)
THURSDAY = date(2026, 1, 15)   # in the opium season


def at(dx_m: float, dy_m: float) -> Point:
    """The point dx_m east and dy_m north of the post (lon/lat)."""
    post_m = gpd.GeoSeries([Point(POST_XY)], crs=4326).to_crs(METRIC_CRS).iloc[0]
    return gpd.GeoSeries([Point(post_m.x + dx_m, post_m.y + dy_m)], crs=METRIC_CRS) \
        .to_crs(4326).iloc[0]


def post() -> Post:
    return Post("BP-001", "Đồn BP CKQT Nậm Cắn", *POST_XY, unit="BĐBP Nghệ An")


def targets_frame(specs) -> gpd.GeoDataFrame:
    """specs: (id, risk, dx_m, dy_m[, extra dict])."""
    rows = []
    for spec in specs:
        tid, risk, dx, dy = spec[:4]
        row = {"target_id": tid, "target_kind": "border_crossing", "name": f"Mục tiêu {tid}",
               "risk": risk, "reason_vi": f"lý do {tid}", "dwell_min": 15.0, "geometry": at(dx, dy)}
        row.update(spec[4] if len(spec) > 4 else {})
        rows.append(row)
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=4326)


def ring(n: int, radius_m: float = 2500.0, seed: int = 0) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    specs = []
    for i in range(n):
        a = 2 * math.pi * i / n
        r = radius_m * rng.uniform(0.4, 1.0)
        specs.append((f"T{i:02d}", float(np.round(rng.uniform(1, 10), 1)),
                      r * math.cos(a), r * math.sin(a)))
    return targets_frame(specs)


def posts_frame() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({
        "id": ["BP-001", "BP-002", "BP-003"],
        "name": ["Đồn BP CKQT Nậm Cắn", "Đồn BP Keng Đu", "Đồn BP cửa khẩu Thanh Thủy"],
        "unit": "BĐBP Nghệ An", "area_of_responsibility": ["16813;16834;16837", "16822", "17791"],
    }, geometry=[Point(POST_XY), Point(104.098, 19.628), Point(105.19, 18.63)], crs=4326)


# --- posts ---------------------------------------------------------------------------------

@pytest.mark.parametrize("query", ["Nậm Cắn", "nam can", "NAM CAN", "Đồn BP CKQT Nậm Cắn",
                                   "BP-001"])
def test_post_is_found_with_or_without_diacritics(query):
    found = patrol.find_post(posts_frame(), query)
    assert found.name == "Đồn BP CKQT Nậm Cắn" and found.area_codes == ("16813", "16834", "16837")


def test_unknown_post_lists_the_known_ones():
    with pytest.raises(PatrolError, match="unknown post 'Mường Lống'.*Đồn BP Keng Đu"):
        patrol.find_post(posts_frame(), "Mường Lống")


def test_ambiguous_post_asks_for_the_full_name():
    posts = pd.concat([posts_frame(), gpd.GeoDataFrame(
        {"id": ["BP-009"], "name": ["Trạm BP Nậm Cắn"]}, geometry=[Point(104.1, 19.5)],
        crs=4326)], ignore_index=True)
    with pytest.raises(PatrolError, match="ambiguous.*Trạm BP Nậm Cắn"):
        patrol.find_post(posts, "nam can")


# --- targets and risk ------------------------------------------------------------------------

def crossings() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({
        "id": ["BC-1", "BC-2", "BC-3", "BC-4"],
        "kind": ["opening", "trail", "international", "secondary"],
        "name": ["Lối mở A", "Đường mòn B", "Cửa khẩu quốc tế C", "Cửa khẩu phụ D"],
        "lao_counterpart": [None, None, "Nậm Cắn (Xiêng Khoảng)", None],
        "border_post": "Đồn BP CKQT Nậm Cắn",
    }, geometry=[at(-3000, 0), at(-2000, 2000), at(-1500, 300), at(0, -3000)], crs=4326)


def test_openings_and_trails_weigh_more_than_gates():
    t = patrol.collect_targets({"border_crossings": crossings()}, plan_date=THURSDAY)
    risk = dict(zip(t["name"], t["risk"]))
    assert risk["Lối mở A"] > risk["Đường mòn B"] > risk["Cửa khẩu quốc tế C"] > risk["Cửa khẩu phụ D"]
    assert t["risk"].is_monotonic_decreasing  # riskiest first
    gate = t[t["name"] == "Cửa khẩu quốc tế C"].iloc[0]
    assert gate["lao_counterpart"] == "Nậm Cắn (Xiêng Khoảng)" and "phía Lào" in gate["reason_vi"]
    assert (t["dwell_min"] == 15.0).all()  # Koper curve default


def places_list() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({
        "id": ["r1/DB-1", "r1/DB-2", "r1/DB-3"], "run_id": "r1", "place_id": ["DB-1", "DB-2", "DB-3"],
        "name": ["Bản Phà Tụ, Xã Nậm Cắn", "Khối 24, Phường Thành Vinh", "Xóm 9, Xã Nghi Lộc"],
        "score": [2.0, 5.0, 8.0], "level": ["low", "medium", "high"],
        "reasons_vi": ["", "1. 3 điểm bán lẻ đang hoạt động trong bán kính 600 m",
                       "1. Gi* z = 3,4 (99 %)"],
    }, geometry=[at(0, 1000), at(0, 3000), at(0, 5000)], crs=4326)


def test_complex_places_scale_from_4_to_10_one_stop_each_at_the_place():
    t = patrol.collect_targets({"complex_places": places_list()}, plan_date=THURSDAY)
    risk = dict(zip(t["name"], t["risk"]))
    assert risk == {"Xóm 9, Xã Nghi Lộc": 10.0, "Khối 24, Phường Thành Vinh": 7.0,
                    "Bản Phà Tụ, Xã Nậm Cắn": 4.0}
    top = t.set_index("name").loc["Xóm 9, Xã Nghi Lộc"]
    assert "mức cao, điểm số 8,0" in top["reason_vi"] and "Gi* z = 3,4" in top["reason_vi"]
    assert list(t["target_kind"].unique()) == ["complex_place"]
    assert t.geometry.geom_equals(places_list().geometry.iloc[::-1].reset_index(drop=True)).all()


def test_clusters_are_no_stop_of_their_own_when_there_is_a_list_of_places():
    clusters = gpd.GeoDataFrame({"id": ["k1"], "cluster": [1], "n_points": [12], "n_active": [9]},
                                geometry=[at(0, 1000)], crs=4326)
    t = patrol.collect_targets({"complex_places": places_list(), "hotspot_clusters": clusters},
                               plan_date=THURSDAY)
    assert "hotspot_cluster" not in set(t["target_kind"])


def test_clusters_weigh_by_active_points():
    clusters = gpd.GeoDataFrame({
        "id": ["k1", "k2", "k3"], "cluster": [1, 2, 3], "n_points": [12, 6, 4],
        "n_active": [20, 2, 0]}, geometry=[at(0, 1000), at(0, 3000), at(0, 5000)], crs=4326)
    t = patrol.collect_targets({"hotspot_clusters": clusters}, plan_date=THURSDAY)
    assert dict(zip(t["source_ids"], t["risk"])) == {"k1": 7.0, "k2": 3.0, "k3": 1.0}


def plots() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({
        "id": ["OP-1", "OP-2", "OP-3", "OP-4", "OP-5"],
        "area_m2": [600.0, 100.0, 300.0, 900.0, 200.0],
        "detected_on": ["2026-01-05", "2026-01-06", "2026-01-07", "2025-02-01", "2026-01-20"],
        "eradicated_on": [None, "2026-01-08", "2026-01-20", "2025-02-03", None],
        "village": ["Bản Huồi Khe", "Bản Huồi Khe", "Bản Pha Khang", "Bản Cha Khốm",
                    "Bản Pha Khang"],
        "commune_code": "16837",
    }, geometry=[at(1000, 1000), at(1100, 1000), at(2000, -500), at(-500, 2500), at(2100, -500)],
        crs=4326)


def test_opium_targets_are_the_standing_plots_in_season_and_last_seasons_villages():
    t = patrol.collect_targets({"opium_plots": plots()}, plan_date=THURSDAY, merge_within_m=0)
    kinds = dict(zip(t["source_ids"], t["target_kind"]))
    # OP-1 stands; OP-3 is eradicated only after the plan date; OP-2 is gone; OP-5 not yet found
    assert kinds == {"OP-1": "opium_plot", "OP-3": "opium_plot", "OP-4": "opium_area"}
    risk = dict(zip(t["source_ids"], t["risk"]))
    assert risk["OP-1"] == pytest.approx(9.0) and risk["OP-3"] == pytest.approx(7.5)
    area = t[t["target_kind"] == "opium_area"].iloc[0]
    assert "tái trồng" in area["reason_vi"] and "2024–2025" in area["reason_vi"]


def test_out_of_season_there_are_no_opium_targets():
    assert len(patrol.collect_targets({"opium_plots": plots()}, plan_date=date(2026, 7, 1))) == 0


def test_targets_closer_than_the_merge_distance_become_one_stop_with_summed_risk():
    near = gpd.GeoDataFrame({"id": ["BC-9"], "kind": ["trail"], "name": ["Đường mòn gần"]},
                            geometry=[at(-3050, 40)], crs=4326)
    both = pd.concat([crossings(), near], ignore_index=True)
    t = patrol.collect_targets({"border_crossings": both}, plan_date=THURSDAY, merge_within_m=150)
    assert len(t) == 4
    merged = t.iloc[0]
    assert merged["name"] == "Lối mở A" and merged["risk"] == pytest.approx(15.0)
    assert merged["source_ids"] == "BC-1;BC-9"


def test_targets_outside_the_area_are_left_out():
    area = shapely.box(*at(-2500, -4000).coords[0], *at(500, 4000).coords[0])
    t = patrol.collect_targets({"border_crossings": crossings()}, plan_date=THURSDAY, area=area)
    assert set(t["name"]) == {"Đường mòn B", "Cửa khẩu quốc tế C", "Cửa khẩu phụ D"}


def test_area_of_responsibility_is_the_posts_communes(communes):
    p = patrol.find_post(posts_frame(), "nam can")
    area = patrol.post_area(p, communes)
    codes = set(communes[communes.intersects(area.buffer(-0.03))]["code"])
    assert {"16813", "16834", "16837"} <= codes and "16756" not in codes
    circle = patrol.post_area(p, communes, radius_km=5)
    assert circle.area < area.area


# --- travel ------------------------------------------------------------------------------------

def test_detours_grow_with_the_terrain(communes):
    pts = gpd.GeoSeries([Point(104.12, 19.40), Point(105.68, 18.67)], crs=4326)  # Kỳ Sơn, Vinh
    f = travel.detour_factors(pts, communes)
    assert f[0] == travel.DETOUR_BY_TERRAIN["high_mountain"]
    assert f[1] == travel.DETOUR_BY_TERRAIN["lowland"]


def test_a_network_path_replaces_the_straight_line_for_vehicles_and_when_shorter_on_foot():
    p, a = Point(500_000, 2_150_000), Point(503_000, 2_150_000)
    road = gpd.GeoDataFrame({"highway": ["primary"]}, geometry=[LineString(
        [(500_000, 2_150_000), (500_000, 2_152_000), (503_000, 2_152_000),
         (503_000, 2_150_000)])], crs=METRIC_CRS)
    net = travel.network_from_lines(road)
    pts = gpd.GeoSeries([p, a], crs=METRIC_CRS)
    car = travel.travel_matrix(pts, mode="vehicle", detour=1.5, network=net)
    assert car.distance_m[0, 1] == pytest.approx(7000.0) and car.via_network[0, 1]
    assert car.leg(0, 1).length == pytest.approx(7000.0)
    walk = travel.travel_matrix(pts, mode="foot", detour=1.5, network=net)
    assert walk.distance_m[0, 1] == pytest.approx(4500.0) and not walk.via_network[0, 1]
    assert walk.minutes[0, 1] == pytest.approx(4500.0 / (travel.MODES["foot"].speed_kmh * 1000 / 60))


def test_vehicles_do_not_use_footpaths_of_the_network():
    p, a = Point(500_000, 2_150_000), Point(503_000, 2_150_000)
    lines = gpd.GeoDataFrame({"highway": ["path"]}, geometry=[LineString(
        [(500_000, 2_150_000), (503_000, 2_150_000)])], crs=METRIC_CRS)
    net = travel.network_from_lines(lines)
    car = travel.travel_matrix(gpd.GeoSeries([p, a], crs=METRIC_CRS), mode="vehicle", network=net)
    assert not np.isfinite(car.minutes[0, 1])
    moto = travel.travel_matrix(gpd.GeoSeries([p, a], crs=METRIC_CRS), mode="motorbike",
                                network=net)
    assert moto.distance_m[0, 1] == pytest.approx(3000.0)


def test_a_broken_network_file_gives_a_clear_error(tmp_path):
    bad = tmp_path / "roads.geojson"
    bad.write_text('{"type": "FeatureCollection", "features": [', encoding="utf-8")
    with pytest.raises(travel.TravelError, match="cannot read network file roads.geojson"):
        travel.load_network(bad)
    pts = tmp_path / "points.geojson"
    gpd.GeoDataFrame(geometry=[Point(104, 19)], crs=4326).to_file(pts)
    with pytest.raises(travel.TravelError, match="no line features"):
        travel.load_network(pts)
    with pytest.raises(travel.TravelError, match="does not exist"):
        travel.load_network(tmp_path / "missing.gpkg")


def test_network_file_round_trip_is_used_by_the_plan(tmp_path):
    # a road that goes around: post → 4 km north → east → the target 1 km east of the post
    road = gpd.GeoDataFrame({"highway": ["track"]}, geometry=[LineString(
        [at(0, 0), at(0, 4000), at(1000, 4000), at(1000, 0)])], crs=4326)
    path = tmp_path / "roads.gpkg"
    road.to_file(path, driver="GPKG")
    net = travel.load_network(path)
    t = targets_frame([("A", 5.0, 1000, 0)])
    p = patrol.plan(t, post(), budget_min=600, mode="motorbike", detour=1.0, network=net,
                    method="greedy")
    assert p.stops["distance_m"].iloc[0] == pytest.approx(9000, abs=5)
    assert p.routes.to_crs(METRIC_CRS).length.iloc[0] == pytest.approx(18000, abs=20)


# --- plans -------------------------------------------------------------------------------------

def test_plan_orders_stops_with_times_and_comes_back_within_the_budget():
    t = ring(14, seed=1)
    p = patrol.plan(t, post(), budget_min=180, n_teams=2, mode="foot", detour=1.5,
                    plan_date=THURSDAY, start_time="07:30", method="greedy")
    rep = p.report
    assert 0 < rep["n_stops"] < 14 and rep["risk_covered"] < rep["risk_total"]
    speed = travel.MODES["foot"].speed_kmh * 1000 / 60
    for team in rep["teams"]:
        assert team["duration_min"] <= 180 + 1e-6
        s = p.stops[p.stops["team"] == team["team"]].sort_values("seq")
        assert list(s["seq"]) == list(range(1, len(s) + 1))
        # each arrival = previous departure + travel (no windows: no waiting)
        depart = 0.0
        for row in s.itertuples():
            assert row.arrive_min == pytest.approx(depart + row.travel_min, abs=0.15)
            assert row.travel_min == pytest.approx(row.distance_m / speed, abs=0.15)
            depart = row.depart_min
        line = p.routes.set_index("team").loc[team["team"], "geometry"]
        assert line.coords[0] == pytest.approx(POST_XY) and line.coords[-1] == pytest.approx(POST_XY)
    first = p.stops.sort_values(["team", "seq"]).iloc[0]
    assert first["arrive_at"] == patrol.clock("07:30", first["arrive_min"])
    assert rep["risk_covered"] == pytest.approx(p.stops["risk"].sum())


def test_more_time_covers_at_least_as_much_risk():
    t = ring(14, seed=2)
    covered = [patrol.plan(t, post(), budget_min=h * 60, n_teams=1, detour=1.5,
                           method="greedy").risk_covered for h in (2, 4, 8)]
    assert covered[0] <= covered[1] <= covered[2] and covered[0] < covered[2]


def test_targets_with_time_windows_are_visited_inside_them():
    t = targets_frame([("A", 9.0, 800, 0, {"tw_open_min": 120.0, "tw_close_min": 130.0}),
                       ("B", 3.0, 0, 800), ("C", 3.0, -800, 0)])
    p = patrol.plan(t, post(), budget_min=300, detour=1.0, method="greedy", start_time="06:00")
    a = p.stops.set_index("target_id").loc["A"]
    assert 120 <= a["arrive_min"] <= 130 and a["arrive_at"] in ("08:00", "08:05", "08:10")


@pytest.mark.parametrize("budget, words", [
    (0, "more than 0 hours"), (-60, "more than 0 hours"), (float("nan"), "more than 0 hours")])
def test_a_budget_that_is_not_positive_is_refused(budget, words):
    with pytest.raises(PatrolError, match=words):
        patrol.plan(ring(3), post(), budget_min=budget)


def test_no_reachable_target_names_the_nearest_and_the_time_it_needs():
    t = targets_frame([("far", 8.0, 30_000, 0), ("farther", 8.0, 0, 40_000)])
    with pytest.raises(PatrolError) as caught:
        patrol.plan(t, post(), budget_min=360, detour=1.5)
    vi, en = str(caught.value).split(" / ")
    # the commander reads it in Vietnamese first, numbers with a decimal comma
    assert re.search(r"trong 6,0 giờ .*gần nhất là Mục tiêu far, cách 45,0 km", vi), vi
    assert re.search(r"no target can be reached .* within 6.0 h .*Mục tiêu far"
                     r".* 45\.0 km away on the ground", en), en


def test_no_targets_at_all_is_a_clear_error():
    with pytest.raises(PatrolError, match="no targets around Đồn BP CKQT Nậm Cắn"):
        patrol.plan(ring(3).iloc[0:0], post(), budget_min=360)


def test_bad_target_rows_are_reported_with_row_and_field():
    t = ring(3)
    t.loc[1, "risk"] = -2
    with pytest.raises(PatrolError, match=r"row 1 \(T01\), field 'risk'"):
        patrol.plan(t, post(), budget_min=360)
    t = ring(3)
    t["dwell_min"] = ["15", "x", "15"]
    with pytest.raises(PatrolError, match=r"row 1 \(T01\), field 'dwell_min'"):
        patrol.plan(t, post(), budget_min=360)


def test_a_revisit_interval_brings_a_team_back_to_the_target():
    t = targets_frame([("A", 9.0, 600, 0, {"revisit_min": 90.0}), ("B", 2.0, 0, 700)])
    p = patrol.plan(t, post(), budget_min=240, detour=1.0, method="greedy")
    visits = p.stops[p.stops["target_id"] == "A"].sort_values("arrive_min")
    assert len(visits) == 2 and visits["revisit"].tolist() == [False, True]
    assert visits["arrive_min"].iloc[1] - visits["arrive_min"].iloc[0] >= 90 - 1e-6
    assert visits["risk"].iloc[1] == pytest.approx(4.5)


def test_plan_geojson_has_the_post_the_stops_and_a_line_per_team():
    p = patrol.plan(ring(8), post(), budget_min=240, n_teams=2, detour=1.5, method="greedy")
    fc = patrol.plan_geojson(p)
    kinds = [f["properties"]["kind"] for f in fc["features"]]
    assert kinds.count("post") == 1 and kinds.count("stop") == p.report["n_stops"]
    assert kinds.count("route") == sum(1 for t in p.report["teams"] if t["n_stops"])
    json.dumps(fc, allow_nan=False)  # valid JSON: no NaN anywhere
    lon, lat = fc["features"][0]["geometry"]["coordinates"]
    assert (lon, lat) == (round(POST_XY[0], 6), round(POST_XY[1], 6))


# --- randomisation -----------------------------------------------------------------------------

def test_inclusion_probabilities_are_proportional_to_risk_and_capped():
    p = patrol.inclusion_probabilities(np.array([20.0, 4.0, 2.0, 2.0, 0.0]), 3)
    assert p.tolist() == [1.0, 1.0, 0.5, 0.5, 0.0]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.1, 10), min_size=1, max_size=30), st.floats(0.1, 1.0))
def test_inclusion_probabilities_sum_to_the_expected_count(risks, share):
    risk = np.array(risks)
    expected = share * len(risk)
    p = patrol.inclusion_probabilities(risk, expected)
    assert p.sum() == pytest.approx(expected) and (p <= 1 + 1e-12).all()
    order = np.argsort(risk)
    assert np.all(np.diff(p[order]) >= -1e-12)  # riskier never less likely


def test_daily_draw_frequencies_follow_risk():
    t = targets_frame([(f"T{i}", r, 100 * i, 0) for i, r in enumerate([1.0, 2.0, 4.0, 1.0, 2.0])])
    counts = np.zeros(5)
    days = 400
    for d in range(days):
        draw = patrol.daily_draw(t, plan_date=date(2026, 1, 1) + timedelta(days=d), seed=3,
                                 high_risk_min=99, draw_share=0.4)
        counts += draw.drawn
    freq = counts / days
    expected = patrol.inclusion_probabilities(t["risk"].to_numpy(), 2.0)
    assert np.abs(freq - expected).max() < 0.08
    assert freq[2] > freq[1] > freq[0]


def test_randomised_plans_reproduce_with_the_seed_and_differ_between_seeds_and_days():
    t = ring(24, radius_m=3000, seed=5)
    kw = dict(budget_min=240, n_teams=2, detour=1.5, method="greedy", randomise=True)
    a = patrol.plan(t, post(), plan_date=THURSDAY, seed=11, **kw)
    b = patrol.plan(t, post(), plan_date=THURSDAY, seed=11, **kw)
    c = patrol.plan(t, post(), plan_date=THURSDAY, seed=12, **kw)
    d = patrol.plan(t, post(), plan_date=THURSDAY + timedelta(days=1), seed=11, **kw)
    cols = ["team", "seq", "target_id", "arrive_min", "dwell_min"]
    pd.testing.assert_frame_equal(a.stops[cols], b.stops[cols])
    assert a.report["seed"] == 11
    assert set(a.stops["target_id"]) != set(c.stops["target_id"])
    assert set(a.stops["target_id"]) != set(d.stops["target_id"])
    assert a.stops["dwell_min"].between(10, 16).all() and a.stops["dwell_min"].nunique() > 1


def test_a_randomised_plan_without_seed_records_the_one_it_drew():
    p = patrol.plan(ring(6), post(), budget_min=240, detour=1.5, method="greedy", randomise=True)
    again = patrol.plan(ring(6), post(), budget_min=240, detour=1.5, method="greedy",
                        randomise=True, seed=p.report["seed"], plan_date=p.report["plan_date"])
    assert list(again.stops["target_id"]) == list(p.stops["target_id"])


def test_weekly_assignment_spreads_high_risk_targets_evenly():
    t = targets_frame([(f"H{i}", 8.0, 100 * i, 0) for i in range(10)]
                      + [(f"L{i}", 2.0, 0, 100 * i) for i in range(5)])
    days = patrol.weekly_assignment(t, week_of=THURSDAY, seed=1, visits_per_week=3)
    assert set(days) == {f"H{i}" for i in range(10)}
    assert all(len(set(d)) == 3 for d in days.values())
    monday = patrol.week_start(THURSDAY)
    assert all(monday <= x <= monday + timedelta(days=6) for d in days.values() for x in d)
    load = pd.Series([x for d in days.values() for x in d]).value_counts()
    assert load.max() <= math.ceil(3 * 10 / 7)
    same_week = patrol.weekly_assignment(t, week_of=monday + timedelta(days=6), seed=1,
                                         visits_per_week=3)
    assert same_week == days


def test_a_randomised_week_visits_every_high_risk_target_at_least_k_times():
    t = ring(16, radius_m=1500, seed=7)
    t["risk"] = np.minimum(t["risk"], 6.0)
    t.loc[:5, "risk"] = [9.0, 8.5, 8.0, 7.5, 7.2, 7.0]
    wk = patrol.plan_week(t, post(), week_of=THURSDAY, seed=21, visits_per_week=2,
                          budget_min=180, n_teams=1, detour=1.5, method="greedy")
    assert len(wk.days) == 7 and wk.guarantee_met
    assert (wk.coverage["visits"] >= 2).all() and len(wk.coverage) == 6
    # the guarantee is not bought by visiting the same places every day
    daily = [frozenset(p.stops["target_id"]) for p in wk.days]
    assert len(set(daily)) >= 5
    # the visits the weekly schedule demanded are marked in the plans
    assert sum(int(p.stops["forced"].sum()) for p in wk.days) >= 1
    for p in wk.days:
        assert set(p.stops.loc[p.stops["forced"], "target_id"]) <= set(p.report["forced"])


def test_a_missed_forced_visit_is_owed_the_next_day():
    t = ring(10, seed=8)
    t.loc[0, "risk"] = 9.0
    draw = patrol.daily_draw(t, plan_date=THURSDAY, seed=4, visits_per_week=2)
    days = draw.assignment["T00"]
    later = max(days) + timedelta(days=0)
    owed = patrol.daily_draw(t, plan_date=later, seed=4, visits_per_week=2,
                             visits_so_far={"T00": 0})
    done = patrol.daily_draw(t, plan_date=later, seed=4, visits_per_week=2,
                             visits_so_far={"T00": 2})
    assert owed.forced[0] and not done.forced[0]


def test_unreachable_high_risk_targets_are_not_promised_in_the_week():
    t = targets_frame([("near", 8.0, 800, 0), ("far", 9.0, 40_000, 0), ("mid", 2.0, 0, 900)])
    wk = patrol.plan_week(t, post(), week_of=THURSDAY, seed=2, budget_min=120, detour=1.5,
                          method="greedy")
    cov = wk.coverage.set_index("target_id")
    assert not cov.loc["far", "reachable"] and cov.loc["far", "required"] == 0
    assert cov.loc["near", "visits"] >= 2 and wk.guarantee_met
    assert any("ngoài tầm" in w for w in wk.days[0].report["warnings"])


# --- storage, access, audit --------------------------------------------------------------------

@pytest.mark.slow  # over ~0.5 s: out of the quick loop
def test_plans_are_stored_with_their_author_audited_and_read_back(patrol_store):
    store = patrol_store
    p = patrol.plan(ring(8), post(), budget_min=240, n_teams=2, detour=1.5, method="greedy",
                    plan_date=THURSDAY, randomise=True, seed=5)
    plan_id = patrol_run.save_plan(store, p, user="chi_huy_1")
    back = patrol_run.load_plan(store, plan_id, role="commander")
    assert back.created_by == "chi_huy_1" and back.report["seed"] == 5
    assert list(back.stops["target_id"]) == list(p.stops.sort_values(["team", "seq"])["target_id"])
    assert back.routes.to_crs(METRIC_CRS).length.sum() == pytest.approx(p.routes.to_crs(METRIC_CRS).length.sum(),
                                                              rel=1e-4)
    row = store.read("patrol_plans", where={"id": plan_id}).iloc[0]
    assert row["confidentiality"] == "restricted" and row["created_by"] == "chi_huy_1"
    log = store.read("audit_log", where={"user": "chi_huy_1"})
    assert {"write:append", "patrol:plan"} <= set(log["action"])
    assert {"patrol_plans", "patrol_stops"} <= set(log["layer"])
    listed = patrol_run.list_plans(store, role="commander", post="BP-001")
    assert listed["id"].tolist() == [plan_id]
    with pytest.raises(PatrolError, match="no patrol plan"):
        patrol_run.load_plan(store, "PT-missing", role="commander")


def test_a_plan_refused_by_the_store_leaves_no_stops_behind(patrol_store, monkeypatch):
    store = patrol_store
    from geo_pcmt.store import StoreError
    p = patrol.plan(ring(5), post(), budget_min=240, detour=1.5, method="greedy")
    real_write = store.write

    def write(layer, frame, **kw):
        if layer == "patrol_plans":
            raise StoreError("disk full")
        return real_write(layer, frame, **kw)

    monkeypatch.setattr(store, "write", write)
    with pytest.raises(StoreError, match="disk full"):
        patrol_run.save_plan(store, p, user="chi_huy_1")
    assert store.count("patrol_stops") == 0 and store.count("patrol_plans") == 0


def test_only_commanders_and_admins_may_read_patrol_layers():
    for layer in ("patrol_plans", "patrol_stops"):
        assert not access.can_read_layer("viewer", layer)
        assert not access.can_read_layer("analyst", layer)
        assert access.can_read_layer("commander", layer)
        assert access.can_read_layer("admin", layer)


def test_visits_earlier_in_the_week_count_towards_the_guarantee(patrol_store):
    store = patrol_store
    t = targets_frame([("A", 9.0, 500, 0), ("B", 5.0, 0, 500)])
    kw = dict(budget_min=240, detour=1.5, method="greedy")
    monday = patrol.week_start(THURSDAY)
    for day, rows in ((monday, t), (monday + timedelta(days=1), t),
                      (monday + timedelta(days=1), t.iloc[:1])):  # Tuesday re-planned: A only
        patrol_run.save_plan(store, patrol.plan(rows, post(), plan_date=day, **kw), user="a")
    thursday = monday + timedelta(days=3)
    assert patrol_run.visits_this_week(store, post(), thursday, role="commander") == {"A": 2, "B": 1}
    assert patrol_run.visits_this_week(store, post(), monday, role="commander") == {}
    next_week = monday + timedelta(days=8)
    assert patrol_run.visits_this_week(store, post(), next_week, role="commander") == {}


# --- planned vs. done ------------------------------------------------------------------------

def test_a_recorded_track_is_compared_with_the_plan():
    from datetime import datetime, timezone
    t = targets_frame([("A", 8.0, 1000, 0), ("B", 5.0, 1000, 1000), ("C", 3.0, -1500, 0)])
    p = patrol.plan(t, post(), budget_min=300, detour=1.5, method="greedy")
    assert set(p.stops["target_id"]) == {"A", "B", "C"}
    # the team walked to A, stayed 12 min, went on to B, then straight home (C skipped)
    t0 = datetime(2026, 1, 15, 0, 0, tzinfo=timezone.utc)
    legs = [((0, 0), 0), ((1000, 0), 20), ((1010, 5), 26), ((1000, 0), 32), ((1000, 1000), 50),
            ((0, 0), 75)]
    track = [(at(dx, dy).x, at(dx, dy).y, t0 + timedelta(minutes=m)) for (dx, dy), m in legs]
    done = patrol.compare_track(p, track, visit_radius_m=50)
    by_id = {s["target_id"]: s for s in done["stops"]}
    assert by_id["A"]["visited"] and by_id["A"]["minutes_on_site"] == 12.0
    assert by_id["B"]["visited"] and not by_id["C"]["visited"]
    assert by_id["C"]["closest_m"] == pytest.approx(1500, abs=2)
    assert done["visited"] == 2 and done["risk_visited"] == pytest.approx(13.0)
    assert done["km_walked"] == pytest.approx(1 + 0.022 + 1 + math.sqrt(2), abs=0.01)
    assert done["hours"] == pytest.approx(1.25)
    with pytest.raises(PatrolError, match="fewer than 2 points"):
        patrol.compare_track(p, track[:1])


# --- brief ----------------------------------------------------------------------------------

def test_the_brief_is_a_printable_vietnamese_page_with_a_map_and_lao_coordination():
    t = patrol.collect_targets({"border_crossings": crossings()}, plan_date=THURSDAY)
    t.loc[t["name"] == "Đường mòn B", "name"] = "<script>alert(1)</script>"
    p = patrol.plan(t, post(), budget_min=360, n_teams=2, detour=1.5, method="greedy",
                    plan_date=THURSDAY)
    html = render_brief(p, border=gpd.GeoDataFrame(
        geometry=[LineString([at(-3500, -5000), at(-3500, 5000)])], crs=4326))
    assert "Thứ Năm, 15/01/2026" in html and "BĐBP Nghệ An" in html
    assert "Tổ 1" in html and "Tổ 2" in html and "@media print" in html and "@page" in html
    assert "<svg" in html and "stroke-dasharray" in html  # map with the border line
    assert "Nậm Cắn (Xiêng Khoảng)" in html and "Phối hợp với lực lượng chức năng Lào" in html
    for row in p.stops.itertuples():
        assert row.arrive_at in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in html and " style=" not in html  # offline, and fine under CSP


# --- CLI -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def patrol_template(tmp_path_factory, communes):
    """A store with the communes, three posts and four crossings, built once per module."""
    path = tmp_path_factory.mktemp("patrol") / "template.gpkg"
    s = GeoPackageStore(path)
    s.init()
    s.write("communes", communes, mode="replace")
    posts = posts_frame()
    posts["source"] = "test"
    s.write("border_posts", posts, mode="replace")
    cr = crossings()
    cr["source"] = "test"
    s.write("border_crossings", cr, mode="replace")
    s.close()  # the whole store in the one file before it is copied
    return path


@pytest.fixture
def patrol_store(patrol_template, tmp_path):
    path = tmp_path / "patrol.gpkg"
    shutil.copy(patrol_template, path)
    return GeoPackageStore(path)


def test_cli_plans_writes_geojson_gpx_and_brief_and_stores_the_plan(patrol_store, tmp_path):
    out = tmp_path / "out"
    res = CliRunner().invoke(main, [
        "patrol", "--post", "Nậm Cắn", "--hours", "6", "--teams", "2", "--mode", "foot",
        "--randomise", "--seed", "7", "--date", "2026-01-15", "--method", "greedy",
        "--store", str(patrol_store.path), "--out", str(out), "--user", "chi_huy_1", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    plan = doc["plans"][0]
    assert plan["report"]["seed"] == 7 and plan["report"]["randomised"]
    assert {p.rsplit(".", 1)[1] for p in plan["files"]} == {"geojson", "gpx", "html"}
    assert all((out / p.rsplit("/", 1)[1]).exists() for p in plan["files"])
    stored = patrol_store.read("patrol_plans")
    assert stored["id"].tolist() == [plan["id"]] and stored["created_by"].iloc[0] == "chi_huy_1"


@pytest.mark.parametrize("args, words", [
    (["--post", "Mường Lống", "--hours", "6"], "unknown post"),
    (["--post", "Nậm Cắn", "--hours", "0"], "--hours must be more than 0"),
    (["--post", "Nậm Cắn", "--hours", "0.2"], "no target can be reached"),
])
def test_cli_bad_requests_exit_1_with_the_reason(patrol_store, tmp_path, args, words):
    res = CliRunner().invoke(main, ["patrol", *args, "--store", str(patrol_store.path),
                                    "--out", str(tmp_path), "--method", "greedy"])
    assert res.exit_code == 1 and words in res.output
    assert patrol_store.count("patrol_plans") == 0


def test_cli_broken_network_file_exits_1(patrol_store, tmp_path):
    bad = tmp_path / "roads.geojson"
    bad.write_text("not json at all", encoding="utf-8")
    res = CliRunner().invoke(main, ["patrol", "--post", "Nậm Cắn", "--hours", "6",
                                    "--network", str(bad), "--store", str(patrol_store.path),
                                    "--out", str(tmp_path)])
    assert res.exit_code == 1 and "cannot read network file roads.geojson" in res.output


# --- clearance: a plan holds only what its maker may see ------------------------------------

SECRET_WORDS = ("OP-SECRET", "RP-SECRET", "Bản Mật Khe", "Điểm bán Mật Khe")


def add_secret_records(store) -> None:
    """A secret opium plot (standing in the season) and a secret retail point by the post."""
    plot = gpd.GeoDataFrame({
        "id": ["OP-SECRET"], "source": "test", "confidentiality": "secret", "area_m2": [800.0],
        "detected_on": ["2026-01-05"], "village": ["Bản Mật Khe"], "commune_code": "16837",
    }, geometry=[at(600, 400)], crs=4326)
    store.write("opium_plots", plot, mode="append")
    point = gpd.GeoDataFrame({
        "id": ["RP-SECRET"], "source": "test", "confidentiality": "secret",
        "type": ["diem_ban_le"], "name": ["Điểm bán Mật Khe"], "first_seen": ["2025-11-01"],
        "status": ["active"], "commune_code": "16837",
    }, geometry=[at(-400, 600)], crs=4326)
    store.write("retail_points", point, mode="append")


def _cli_plan(store, out, role: str) -> dict:
    res = CliRunner().invoke(main, [
        "patrol", "--post", "Nậm Cắn", "--hours", "6", "--teams", "2", "--date", "2026-01-15",
        "--method", "greedy", "--role", role, "--store", str(store.path), "--out", str(out),
        "--user", f"{role}_1", "--json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.output)["plans"][0]


def test_a_secret_plot_near_the_post_never_reaches_a_commanders_plan(patrol_store, tmp_path):
    add_secret_records(patrol_store)
    made = _cli_plan(patrol_store, tmp_path / "commander", "commander")
    stops = patrol_store.read("patrol_stops", where={"plan_id": made["id"]})
    assert len(stops) and not any("SECRET" in str(t) for t in stops["target_id"])
    assert made["report"]["confidentiality"] == "restricted"
    for path in made["files"]:  # the GeoJSON, the GPX and the brief
        page = (tmp_path / "commander" / path.rsplit("/", 1)[1]).read_text(encoding="utf-8")
        assert not any(word in page for word in SECRET_WORDS), path
    page = json.dumps(made, ensure_ascii=False)  # report: dropped, forced, crossings …
    assert not any(word in page for word in SECRET_WORDS)
    brief = (tmp_path / "commander" / f"{made['id']}.html").read_text(encoding="utf-8")
    assert "TỐI MẬT" not in brief and ">MẬT<" in brief


def test_an_admins_plan_may_hold_the_secret_plot_and_is_then_secret(patrol_store, tmp_path):
    add_secret_records(patrol_store)
    made = _cli_plan(patrol_store, tmp_path, "admin")
    assert "opium_plot:OP-SECRET" in [s["target_id"] for s in patrol_run.load_plan(
        patrol_store, made["id"], role="admin").stops.to_dict("records")]
    row = patrol_store.read("patrol_plans", where={"id": made["id"]}).iloc[0]
    assert row["confidentiality"] == "secret" and made["report"]["confidentiality"] == "secret"
    stops = patrol_store.read("patrol_stops", where={"plan_id": made["id"]})
    assert set(stops["confidentiality"]) == {"secret"}
    assert "TỐI MẬT" in (tmp_path / f"{made['id']}.html").read_text(encoding="utf-8")
    assert "TỐI MẬT" in (tmp_path / f"{made['id']}.gpx").read_text(encoding="utf-8")
    # a commander neither opens nor lists it, and its visits do not count in the week
    with pytest.raises(PatrolError, match="no patrol plan"):
        patrol_run.load_plan(patrol_store, made["id"], role="commander")
    assert made["id"] not in set(patrol_run.list_plans(patrol_store, role="commander")["id"])
    assert patrol_run.visits_this_week(patrol_store, post(), THURSDAY + timedelta(days=1),
                                       role="commander") == {}


def test_only_commanders_and_admins_may_run_a_patrol_plan(patrol_store):
    params = patrol_run.PatrolParams(post="Nậm Cắn", hours=6, role="analyst")
    with pytest.raises(access.AccessDenied, match="commanders and admins"):
        patrol_run.read_inputs(patrol_store, params)
