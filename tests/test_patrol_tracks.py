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
