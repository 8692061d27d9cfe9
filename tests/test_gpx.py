"""GPX 1.1 output of a patrol plan: structure of the schema, GPS readers, and reading back."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from geo_pcmt.outputs import gpx
from geo_pcmt.analysis import patrol
from tests.test_patrol import post, ring

NS = {"g": gpx.GPX_NS}
# child order of the GPX 1.1 schema's complex types (elements we write)
ORDER = {
    "gpx": ["metadata", "wpt", "rte", "trk", "extensions"],
    "metadata": ["name", "desc", "author", "copyright", "link", "time", "keywords", "bounds"],
    "wpt": ["ele", "time", "magvar", "geoidheight", "name", "cmt", "desc", "src", "link", "sym",
            "type", "fix", "sat"],
    "rte": ["name", "cmt", "desc", "src", "link", "number", "type", "extensions", "rtept"],
    "trk": ["name", "cmt", "desc", "src", "link", "number", "type", "extensions", "trkseg"],
    "rtept": ["ele", "time", "name", "cmt", "desc", "sym", "type"],
}


@pytest.fixture(scope="module")
def plan():
    p = patrol.plan(ring(10), post(), budget_min=240, n_teams=2, detour=1.5, method="greedy",
                    plan_date="2026-01-15")
    p.created_by = "chi_huy_1"
    return p


def _local(tag: str) -> str:
    return tag.split("}")[1]


def _check_order(el: ET.Element) -> None:
    order = ORDER.get(_local(el.tag))
    if order is None:
        return
    seen = [_local(c.tag) for c in el]
    assert all(t in order for t in seen), f"{_local(el.tag)}: unexpected {seen}"
    idx = [order.index(t) for t in seen]
    assert idx == sorted(idx), f"{_local(el.tag)} children out of schema order: {seen}"
    for child in el:
        _check_order(child)


def test_gpx_follows_the_gpx_1_1_schema_structure(plan):
    text = gpx.plan_to_gpx(plan)
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    root = ET.fromstring(text)
    assert root.tag == f"{{{gpx.GPX_NS}}}gpx"
    assert root.attrib["version"] == "1.1" and root.attrib["creator"] == "geo_pcmt"
    assert root.attrib[f"{{{gpx.XSI_NS}}}schemaLocation"].endswith("gpx.xsd")
    _check_order(root)
    for pt in root.iter():
        if _local(pt.tag) in ("wpt", "rtept", "trkpt"):
            lat, lon = float(pt.attrib["lat"]), float(pt.attrib["lon"])
            assert -90 <= lat <= 90 and -180 <= lon < 180
            assert len(pt.attrib["lat"].split(".")[1]) == 6
    for path in ("g:wpt/g:name", "g:rte/g:name", "g:rte/g:rtept/g:name", "g:trk/g:name"):
        for name in root.findall(path, NS):  # what a handheld unit lists
            assert 0 < len(name.text) <= gpx.NAME_MAX


def test_gpx_holds_the_post_every_stop_a_route_and_a_track_per_team(plan):
    root = ET.fromstring(gpx.plan_to_gpx(plan))
    wpts = root.findall("g:wpt", NS)
    assert len(wpts) == 1 + len(plan.stops)
    assert wpts[0].findtext("g:type", namespaces=NS) == "post"
    first = plan.stops.sort_values(["team", "seq"]).iloc[0]
    w = wpts[1]
    assert w.findtext("g:name", namespaces=NS).startswith(f"T{first['team']}-01")
    assert f"đến {first['arrive_at']}" in w.findtext("g:cmt", namespaces=NS)
    teams_used = sorted(set(plan.stops["team"]))
    rtes = root.findall("g:rte", NS)
    trks = root.findall("g:trk", NS)
    assert [int(r.findtext("g:number", namespaces=NS)) for r in rtes] == teams_used
    assert [int(t.findtext("g:number", namespaces=NS)) for t in trks] == teams_used
    for r in rtes:  # post → stops → post
        pts = r.findall("g:rtept", NS)
        team = int(r.findtext("g:number", namespaces=NS))
        assert len(pts) == 2 + int((plan.stops["team"] == team).sum())
        assert pts[0].attrib == pts[-1].attrib
    assert root.find("g:metadata/g:author/g:name", NS).text == "chi_huy_1"


def test_gpxpy_opens_it_as_waypoints_routes_and_tracks(plan):
    gpxpy = pytest.importorskip("gpxpy")
    doc = gpxpy.parse(gpx.plan_to_gpx(plan))
    assert doc.version == "1.1"
    assert len(doc.waypoints) == 1 + len(plan.stops)
    assert len(doc.routes) == len(doc.tracks) == len(set(plan.stops["team"]))
    for track, route in zip(doc.tracks, plan.routes[plan.routes["n_stops"] > 0].itertuples()):
        pts = track.segments[0].points
        assert (pts[0].longitude, pts[0].latitude) == pytest.approx(
            (plan.post.lon, plan.post.lat), abs=1e-6)
        # the track is as long as the planned route (gpxpy measures on the sphere)
        assert track.length_2d() == pytest.approx(route.distance_km * 1000 / 1.5, rel=0.02)
    assert doc.waypoints[1].description  # the reason travels with the waypoint


def test_read_gpx_reads_back_what_was_written(plan):
    data = gpx.read_gpx(gpx.plan_to_gpx(plan).encode("utf-8"))
    assert len(data.waypoints) == 1 + len(plan.stops)
    assert data.waypoints[0]["type"] == "post"
    assert len(data.tracks) == len(set(plan.stops["team"]))
    lon, lat, t = data.tracks[0]["segments"][0][0]
    assert (lon, lat) == pytest.approx((plan.post.lon, plan.post.lat), abs=1e-6) and t is None


def test_read_gpx_accepts_a_recorded_gpx_1_0_track_with_times():
    text = """<?xml version="1.0"?><gpx version="1.0" creator="eTrex"
      xmlns="http://www.topografix.com/GPX/1/0"><trk><name>ACTIVE LOG</name><trkseg>
      <trkpt lat="19.48" lon="104.12"><time>2026-01-15T00:30:00Z</time></trkpt>
      <trkpt lat="19.49" lon="104.11"><time>2026-01-15T01:10:00Z</time></trkpt>
      </trkseg></trk></gpx>"""
    seg = gpx.read_gpx(text).tracks[0]["segments"][0]
    assert len(seg) == 2 and seg[1][2].hour == 1 and seg[1][2].minute == 10


@pytest.mark.parametrize("text, words", [
    ("not xml", "XML error"),
    ("<kml xmlns='http://www.opengis.net/kml/2.2'/>", "root element"),
    ('<gpx xmlns="http://www.topografix.com/GPX/1/1" version="1.1"><wpt lat="95" lon="104"/>'
     "</gpx>", "waypoint 1: lat/lon out of range"),
    ('<gpx xmlns="http://www.topografix.com/GPX/1/1" version="1.1"><trk><trkseg>'
     '<trkpt lat="19.4"/></trkseg></trk></gpx>', "track 1 point 1: missing or invalid"),
])
def test_broken_gpx_is_refused_with_the_reason(text, words):
    with pytest.raises(gpx.GpxError, match=words):
        gpx.read_gpx(text)
