"""Patrol tracks as walked (issue #20): the ``patrol_tracks`` layer, loaded from GPX, written
through the API's Part 4 path, read by analysts and up only; compared with the plan."""
from __future__ import annotations

import json

import pytest
import shapely

from geo_pcmt import access, ingest
from geo_pcmt.layers import get_layer, stops_done
from tests.conftest import bearer

GPX = """<?xml version="1.0"?>
<gpx version="1.1" creator="eTrex 32x" xmlns="http://www.topografix.com/GPX/1/1">
<wpt lat="19.40" lon="104.10"><name>Điểm tập kết</name></wpt>
<trk><name>Tuần tra tổ 1</name><src>Garmin eTrex 32x</src>
<trkseg>
<trkpt lat="19.4000" lon="104.1000"><time>2026-01-15T00:00:00Z</time></trkpt>
<trkpt lat="19.4050" lon="104.1050"><time>2026-01-15T00:40:00Z</time></trkpt></trkseg>
<trkseg>
<trkpt lat="19.4100" lon="104.1100"><time>2026-01-15T01:30:00Z</time></trkpt>
<trkpt lat="19.4150" lon="104.1100"><time>2026-01-15T02:05:00Z</time></trkpt></trkseg>
</trk></gpx>"""


def track_feature(**props) -> dict:
    """A walked track in Mường Xén as the field app sends it."""
    return {"type": "Feature",
            "geometry": {"type": "LineString",
                         "coordinates": [[104.10, 19.40], [104.105, 19.405], [104.11, 19.41]]},
            "properties": {"source": "ứng dụng thực địa", "started_at": "2026-01-15T07:00:00",
                           "ended_at": "2026-01-15T09:05:00", "plan_id": "PT-1", "team": 1,
                           "stops_done": json.dumps([{"target_id": "RP-01",
                                                      "at": "2026-01-15T07:40:00"}]),
                           "findings": "Không phát hiện dấu hiệu vận chuyển", **props}}


def test_a_gpx_track_loads_as_one_line_with_its_times_and_device(tmp_path, empty_store):
    path = tmp_path / "tuan-tra.gpx"
    path.write_text(GPX, encoding="utf-8")
    report, written = ingest.load(empty_store, "patrol_tracks", path, user="phan_tich")
    assert report.ok, [str(p) for p in report.problems]
    assert written is not None
    row = access.read(empty_store, "patrol_tracks", role="analyst").iloc[0]
    # the signal gap splits the GPX track in two segments; the walk is one line of 4 points
    assert row.geometry.geom_type == "LineString"
    assert shapely.get_num_coordinates(row.geometry) == 4
    assert row["started_at"].startswith("2026-01-15T00:00:00")
    assert row["ended_at"].startswith("2026-01-15T02:05:00")
    assert row["device"] == "Garmin eTrex 32x"
    assert row["confidentiality"] == "restricted"


def test_geo_pcmt_load_takes_a_gpx_track_file(tmp_path, empty_store):
    from click.testing import CliRunner
    from geo_pcmt.cli import main
    path = tmp_path / "tuan-tra.gpx"
    path.write_text(GPX, encoding="utf-8")
    env = {"GEO_PCMT_STORE": str(empty_store.path)}
    res = CliRunner().invoke(main, ["validate", "patrol_tracks", str(path)], env=env)
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(main, ["load", "patrol_tracks", str(path)], env=env)
    assert res.exit_code == 0 and "1 new" in res.output, res.output
    assert empty_store.count("patrol_tracks") == 1


def test_a_gpx_track_with_a_one_point_segment_is_refused_with_the_reason(tmp_path):
    path = tmp_path / "hong.gpx"
    path.write_text(GPX.replace('<trkpt lat="19.4150" lon="104.1100">'
                                '<time>2026-01-15T02:05:00Z</time></trkpt>', ""), "utf-8")
    with pytest.raises(ingest.IngestError, match="tracks of hong.gpx"):
        ingest.read_any(path, layer="patrol_tracks")


def test_stops_done_reads_both_spellings_and_names_the_bad_item():
    assert stops_done("RP-01@2026-01-15T07:40; BC-2") == (
        ("RP-01", "2026-01-15T07:40:00"), ("BC-2", None))
    assert stops_done('[{"target_id": "RP-01", "at": "2026-01-15 07:40"}]') == (
        ("RP-01", "2026-01-15T07:40:00"),)
    with pytest.raises(ValueError, match="item 2 .BC-2.: time 'sáng'"):
        stops_done("RP-01@2026-01-15T07:40; BC-2@sáng")
    with pytest.raises(ValueError, match="nested too deeply"):
        stops_done("[" * 20_000)


def test_validation_names_the_row_of_a_bad_stop_list_and_ended_before_started():
    import geopandas as gpd
    line = shapely.LineString([(104.10, 19.40), (104.11, 19.41)])
    frame = gpd.GeoDataFrame({"id": ["T1", "T2"], "source": ["s", "s"],
                              "started_at": ["2026-01-15 07:00", "2026-01-15 07:00"],
                              "ended_at": ["2026-01-15 09:00", "2026-01-15 06:00"],
                              "stops_done": ['[{"target_id": "RP-01"}', "RP-01@2026-01-15T08:00"]},
                             geometry=[line, line], crs=4326)
    rep = ingest.validate(frame, "patrol_tracks")
    assert [(p.row, p.field, p.code) for p in rep.errors] == [
        (1, "stops_done", "bad_stops"), (2, "ended_at", "date_order")]


def test_the_field_app_writes_a_track_through_the_api_and_viewers_never_read_it(app, web_store):
    client = app.test_client()
    res = client.post("/api/collections/patrol_tracks/items",
                      data=json.dumps(track_feature(), ensure_ascii=False),
                      content_type="application/geo+json", headers=bearer(app, "analyst"))
    assert res.status_code == 201, res.get_data(as_text=True)
    stored = access.read(web_store, "patrol_tracks", role="commander")
    assert len(stored) == 1
    assert stored.iloc[0]["stops_done"] == "RP-01@2026-01-15T07:40:00"  # one spelling stored
    with pytest.raises(access.AccessDenied):
        access.read(web_store, "patrol_tracks", role="viewer")
    for role in ("viewer", None):
        res = client.get("/api/collections/patrol_tracks/items", headers=bearer(app, role))
        assert res.status_code in (401, 403, 404)
    # a point is not a track
    bad = track_feature()
    bad["geometry"] = {"type": "Point", "coordinates": [104.10, 19.40]}
    res = client.post("/api/collections/patrol_tracks/items", data=json.dumps(bad),
                      content_type="application/geo+json", headers=bearer(app, "analyst"))
    assert res.status_code == 422 and "geometry" in res.get_data(as_text=True)


def test_the_layer_hides_its_operational_fields_and_is_not_a_template_layer():
    spec = get_layer("patrol_tracks")
    assert spec.min_role == "analyst" and spec.kind == "record"
    assert set(spec.operational_fields) == {"stops_done", "findings", "device"}
    from geo_pcmt.outputs.template import has_template, write_template
    assert not has_template("patrol_tracks")
    with pytest.raises(ValueError, match="GPX"):
        write_template("patrol_tracks", "unused.xlsx")


# --- the plan against its tracks ---------------------------------------------------------------

def _square_plan():
    """One team, four stops: A (1 km E), B (1 km E, 1 km N), C (1 km N), D (1 km W, 1 km N)."""
    from tests.test_patrol import THURSDAY, post, targets_frame
    from geo_pcmt.analysis import patrol
    t = targets_frame([("A", 8.0, 1000, 0), ("B", 8.0, 1000, 1000), ("C", 8.0, 0, 1000),
                       ("D", 5.0, -1000, 1000)])
    p = patrol.plan(t, post(), plan_date=THURSDAY, budget_min=600, n_teams=1)
    assert list(p.stops["target_id"]) == ["A", "B", "C", "D"]
    return p


def _walk(points_m, **props):
    """A patrol_tracks row walking through ``points_m`` (metres east/north of the post)."""
    import geopandas as gpd
    from tests.test_patrol import at
    line = shapely.LineString([at(dx, dy) for dx, dy in points_m])
    row = {"id": "TR-1", "team": 1, "started_at": "2026-01-15T07:00:00",
           "ended_at": "2026-01-15T09:30:00", "stops_done": None, **props}
    return gpd.GeoDataFrame([row], geometry=[line], crs=4326)


@pytest.mark.slow  # over ~0.5 s: out of the quick loop
def test_a_track_that_reaches_three_of_four_stops_has_three_reached_and_its_length():
    from pyproj import Geod
    from geo_pcmt.analysis import patrol
    p = _square_plan()
    # to A, B and C (passing 30 m off each), then straight home: D never comes within 1 km
    track = _walk([(0, 0), (1000, 30), (1030, 1000), (0, 970), (0, 0)])
    cmp = patrol.compare_tracks(p, track)
    assert cmp.stops["reached"].tolist() == [True, True, True, False]
    assert cmp.stops["closest_m"].iloc[0] == pytest.approx(30, abs=1)
    assert cmp.stops["closest_m"].iloc[3] > 900
    row = cmp.tracks.iloc[0]
    assert (row["planned"], row["reached"], row["done"]) == (4, 3, 3)
    geodesic_km = Geod(ellps="WGS84").geometry_length(track.geometry.iloc[0]) / 1000
    assert row["km_walked"] == pytest.approx(geodesic_km, rel=0.01)
    assert row["hours"] == 2.5 and row["hours_planned"] == pytest.approx(3.32, abs=0.01)
    assert cmp.summary["done"] == 3 and cmp.summary["share_done"] == pytest.approx(24 / 29, abs=1e-4)


@pytest.mark.slow  # over ~0.5 s: out of the quick loop
def test_a_stop_marked_done_counts_and_a_detour_is_measured_as_a_deviation():
    from geo_pcmt.analysis import patrol
    p = _square_plan()
    # the planned loop, with a 2 km detour south from A (1 km out, 1 km back)
    track = _walk([(0, 0), (1000, 0), (1000, -1000), (1000, 0), (1000, 1000), (0, 1000),
                   (-1000, 1000), (0, 0)], stops_done="D@2026-01-15T09:10")
    cmp = patrol.compare_tracks(p, track, deviation_m=300)
    assert cmp.stops["done"].all() and cmp.stops["marked"].tolist() == [False] * 3 + [True]
    assert cmp.stops["marked_at"].iloc[3] == "2026-01-15T09:10:00"
    row = cmp.tracks.iloc[0]
    # the part of the detour beyond 300 m of the route, walked out and back: 2 × 700 m
    assert row["deviation_km"] == pytest.approx(1.4, abs=0.03)
    assert row["excursions"] == 1


@pytest.mark.slow  # over ~0.5 s: out of the quick loop
def test_a_track_of_another_team_does_not_do_this_teams_stops():
    from geo_pcmt.analysis import patrol
    p = _square_plan()
    cmp = patrol.compare_tracks(p, _walk([(0, 0), (1000, 0), (1000, 1000)], team=2))
    assert not cmp.stops["done"].any() and cmp.tracks.iloc[0]["planned"] == 0


def test_weekly_coverage_counts_only_the_stops_done():
    import pandas as pd
    from geo_pcmt.analysis import patrol
    plans = pd.DataFrame({"id": ["p1", "p2", "p3"], "created_at": ["1", "1", "1"],
                          "plan_date": ["2026-01-12", "2026-01-13", "2026-01-14"]})
    stops = pd.DataFrame({"plan_id": ["p1", "p1", "p2", "p2", "p3"],
                          "target_id": ["A", "B", "A", "B", "A"], "name": ["Bến A", "Lối B"] * 2
                          + ["Bến A"], "risk": [9.0, 8.0, 9.0, 8.0, 9.0]})
    # A planned 3 days, done 2; B planned 2 days, done on none (the team never got there)
    cov = patrol.done_coverage(plans, stops, [True, False, False, False, True])
    assert cov.set_index("target_id")[["planned", "done", "met"]].to_dict("index") == {
        "A": {"planned": 3, "done": 2, "met": True}, "B": {"planned": 2, "done": 0, "met": False}}


@pytest.mark.slow  # over ~0.5 s: out of the quick loop
def test_the_run_compares_a_stored_plan_and_the_planner_owes_what_was_not_done(store):
    from datetime import timedelta
    from tests.test_patrol import THURSDAY, post
    from geo_pcmt.runs import patrol as patrol_run
    from geo_pcmt.runs import patrol_tracks
    p = _square_plan()
    plan_id = patrol_run.save_plan(store, p, user="chi_huy")
    track = _walk([(0, 0), (1000, 30), (1030, 1000), (0, 970), (0, 0)], plan_id=plan_id,
                  source="ứng dụng thực địa", findings="Phát hiện dấu vết qua lại ở lối C")
    rep = ingest.validate(track, "patrol_tracks")
    assert rep.ok, [str(x) for x in rep.problems]
    store.write("patrol_tracks", rep.clean, user="phan_tich")
    params = patrol_tracks.TrackParams(plan_id=plan_id)
    result = patrol_tracks.run(patrol_tracks.read_inputs(store, params, role="commander"), params)
    assert result.comparison.summary["done"] == 3
    assert result.findings[0]["findings"].startswith("Phát hiện dấu vết")
    assert result.confidentiality == "restricted"
    # the week's coverage: A, B, C (risk 8) planned once and done once; D (risk 5) not high
    cov = result.coverage.set_index("target_id")
    assert cov["done"].to_dict() == {"A": 1, "B": 1, "C": 1}
    summary = patrol_tracks.write(store, result, user="chi_huy")
    log = store.read("audit_log")
    assert (log["action"] == "patrol:track_check").sum() == 1 and summary["done"] == 3
    # the next day, the planner counts the stops done: D was planned but not done, so it is
    # not among this week's visits (A, B and C are)
    visits = patrol_run.visits_this_week(store, post(), THURSDAY + timedelta(days=1),
                                         role="commander")
    assert visits == {"A": 1, "B": 1, "C": 1}
    # an analyst reads the tracks but not the plans the run compares them with
    with pytest.raises(access.AccessDenied):
        patrol_tracks.read_inputs(store, params, role="analyst")


@pytest.mark.slow  # a plan, an app and three pages: ~2 s
def test_the_plan_page_and_brief_show_planned_against_done_in_vietnamese(app, web_store):
    import re
    from geo_pcmt.runs import patrol as patrol_run
    plan_id = patrol_run.save_plan(web_store, _square_plan(), user="commander_user")
    track = _walk([(0, 0), (1000, 30), (1030, 1000), (0, 970), (0, 0)])
    feature = json.loads(track.to_json())["features"][0]
    feature["properties"] = {"plan_id": plan_id, "team": 1, "source": "ứng dụng thực địa",
                             "started_at": "2026-01-15T07:00:00+07:00",
                             "ended_at": "2026-01-15T09:30:00+07:00",
                             "findings": "Phát hiện 2 người lạ ở lối C", "recorded_by": "Tổ 1"}
    client = app.test_client()
    res = client.post("/api/collections/patrol_tracks/items", data=json.dumps(feature),
                      content_type="application/geo+json", headers=bearer(app, "analyst"))
    assert res.status_code == 201, res.get_data(as_text=True)
    head = {**bearer(app, "commander"), "Accept": "text/html"}
    for url in (f"/patrol/{plan_id}", f"/patrol/{plan_id}/brief"):
        page = client.get(url, headers=head).get_data(as_text=True)
        assert "Đã thực hiện 3/4 điểm dừng" in page, url
        assert "Phát hiện 2 người lạ ở lối C" in page
        assert re.search(r"\d+,\d km", page)  # decimal comma
        assert "07:00 15/01" in page and "Chưa thực hiện (gần nhất 1.0" in page
        assert "TR-" not in page and "patrol_tracks-" not in page  # no internal ids
        assert '<div class="secret">MẬT</div>' in page
        # the week's guarantee (2 days a week for risk ≥ 7): planned once, done once, not met
        assert ('<tr><td>Mục tiêu A</td><td class="n">8,0</td><td class="n">2</td>'
                '<td class="n">1</td><td class="n">1</td><td>Chưa đạt</td></tr>') in page
        assert "<td>Mục tiêu D</td><td class=\"n\">5,0</td><td class=\"n\">2</td>" not in page
    res = client.get(f"/patrol/{plan_id}", headers=bearer(app, "commander"))
    assert "NaN" not in res.get_data(as_text=True)  # strict JSON for any client
    body = res.get_json()
    assert body["done"]["done"] == 3 and body["done"]["planned"] == 4
    assert [s["done"] for s in body["done"]["stops"]] == [True, True, True, False]
    log = web_store.read("audit_log")
    assert (log["action"] == "patrol:track_check").sum() == 3
