"""The light map page: packed data decode to what was packed, the page stays small."""
from __future__ import annotations

import json
from datetime import date

import numpy as np
import pytest
import shapely

from geo_pcmt.ingest import boundaries
from geo_pcmt.outputs import map as mapping
from geo_pcmt.outputs.map import packing
from tests.conftest import retail_frame

HALF_UNIT = 0.5 / packing.SCALE + 1e-12  # quantisation: within half a unit of 1e-5°


@pytest.fixture(scope="module")
def base_frames():
    return {"communes": boundaries.communes(), "province": boundaries.province(),
            "border_line": boundaries.border_line(),
            "lao_provinces": boundaries.lao_provinces()}


def test_points_and_shapes_decode_to_the_same_coordinates_within_the_quantisation():
    rng = np.random.default_rng(3)
    x, y = 103.9 + 2 * rng.random(500), 18.6 + 1.4 * rng.random(500)
    poly = shapely.Polygon([(104.1, 19.1), (104.123456789, 19.1), (104.12, 19.2), (104.1, 19.1)])
    data = {"pts": {"x": x.tolist(), "y": y.tolist(), "name": ["a"] * 500},
            "areas": {"type": "FeatureCollection", "features": [
                {"type": "Feature", "properties": {"code": "1"},
                 "geometry": json.loads(shapely.to_geojson(poly))},
                {"type": "Feature", "properties": {"code": "2"},
                 "geometry": {"type": "Point", "coordinates": [104.0000049, 19.5]}}]}}
    back = packing.unpack(packing.pack(data))
    assert np.abs(np.array(back["pts"]["x"]) - x).max() <= HALF_UNIT
    assert np.abs(np.array(back["pts"]["y"]) - y).max() <= HALF_UNIT
    assert back["pts"]["name"] == ["a"] * 500
    ring = np.array(back["areas"]["features"][0]["geometry"]["coordinates"][0])
    assert np.abs(ring - shapely.get_coordinates(poly)).max() <= HALF_UNIT
    assert back["areas"]["features"][1]["geometry"]["coordinates"] == [104.0, 19.5]
    assert [f["properties"] for f in back["areas"]["features"]] == [{"code": "1"}, {"code": "2"}]


@pytest.mark.slow  # over ~0.5 s: out of the quick loop
def test_the_page_carries_the_points_exactly_as_rounded_before_packing(base_frames):
    pts = retail_frame(300)
    html = mapping.render_html(mapping.build({**base_frames, "retail_points": pts},
                                             role="analyst", generated_on=date(2026, 11, 25)))
    sent = packing.page_data(html)["retail_points"]
    want = np.round(shapely.get_coordinates(pts.geometry.values), 5)
    assert np.array_equal(np.array([sent["x"], sent["y"]]).T, want)  # 5 decimals: lossless
    communes = packing.page_data(html)["communes"]["features"]
    assert len(communes) == 130 and communes[0]["geometry"]["type"] in ("Polygon", "MultiPolygon")


@pytest.mark.slow  # over ~0.5 s: out of the quick loop
def test_packed_data_is_a_fraction_of_the_json_and_holds_no_readable_record(base_frames):
    pts = retail_frame(2000)
    pts["name"] = "Nhà bà Lò Thị Bí Mật"
    html = mapping.render_html(mapping.build({**base_frames, "retail_points": pts},
                                             role="analyst"))
    data = packing.page_data(html)
    plain = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    packed = html.split('id="gp-data"', 1)[1].split(">", 1)[1].split("</script>", 1)[0]
    assert len(packed) < len(plain) / 4
    assert "Bí Mật" not in html and "Bí Mật" in packing.page_text(html)


@pytest.mark.slow  # over ~0.5 s: out of the quick loop
def test_hostile_text_cannot_end_the_data_element_or_reach_the_template_engine(base_frames):
    evil = "</script>{{ 7*7 }}{% raw %}<img src=x onerror=alert(1)>"
    pts = retail_frame(3)
    pts["name"] = evil
    html = mapping.render_html(mapping.build({**base_frames, "retail_points": pts},
                                             role="analyst"))
    assert packing.page_data(html)["retail_points"]["name"] == [evil] * 3
    assert "<img src=x" not in html and "49" not in packing.page_text(html).split("gp-data")[1][:200]
    with pytest.raises(ValueError):
        packing.data_element("abc</script>")


@pytest.mark.slow  # over ~0.5 s: out of the quick loop
def test_the_served_map_is_gzipped_once_with_an_etag_and_304_while_data_do_not_change(
        store, tmp_path):
    import gzip

    from tests.test_ogcapi import bearer, make_app
    pts = retail_frame(40)
    store.write("retail_points", pts, mode="append")
    app = make_app(store, tmp_path)
    client, auth = app.test_client(), bearer(app, "analyst")
    zipped = {**auth, "Accept-Encoding": "gzip, deflate"}
    first = client.get("/map", headers=zipped)
    assert first.status_code == 200 and first.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in first.headers["Vary"]
    html = gzip.decompress(first.get_data()).decode("utf-8")
    assert len(first.get_data()) < 0.7 * len(html.encode())  # the packed data is deflated already
    assert packing.page_data(html)["retail_points"]["name"] == pts["name"].tolist()
    etag = first.headers["ETag"]
    again = client.get("/map", headers={**zipped, "If-None-Match": etag})
    assert again.status_code == 304 and not again.get_data()
    # a client that takes no gzip gets the same page plain, under its own validator
    plain = client.get("/map", headers=auth)
    assert "Content-Encoding" not in plain.headers and plain.get_data(as_text=True) == html
    assert plain.headers["ETag"] != etag
    # a write moves the data version: the old validator no longer matches
    late = retail_frame(1)
    late["id"], late["name"] = "RP-LATE", "Điểm mới ghi sau"
    store.write("retail_points", late, mode="append")
    changed = client.get("/map", headers={**zipped, "If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert "Điểm mới ghi sau" in packing.page_text(gzip.decompress(changed.get_data()).decode())
    # every read of the restricted map is audited, 304 included
    assert store.read("audit_log", where={"action": "read_map"}).shape[0] == 4


@pytest.mark.slow
def test_the_page_decodes_the_same_data_as_python_and_draws_counts_then_single_points(
        base_frames, tmp_path):
    from tests.test_map_browser import CHROMIUM, Chromium
    if CHROMIUM is None:
        pytest.skip("!!! CHROMIUM NOT INSTALLED: browser decoding not tested !!!")
    pts = retail_frame(3000)
    pts.loc[pts.index[:5], "name"] = None
    path = tmp_path / "map.html"
    path.write_text(mapping.render_html(mapping.build({**base_frames, "retail_points": pts},
                                                      role="analyst"), standalone=True),
                    encoding="utf-8")
    want = packing.page_data(path.read_text(encoding="utf-8"))
    with Chromium() as b:
        b.open(path.as_uri(), ready_js="document.documentElement.dataset.gpReady === '1'",
               timeout_s=60)
        got = b.evaluate("(() => { const d = geoPcmtData.read(); const p = d.retail_points;"
                         " return {x: Array.from(p.x), y: Array.from(p.y), m0: Array.from(p.m0),"
                         " type: Array.from(p.type), name: Array.from({length: p.name.length},"
                         " (_, i) => p.name[i]), n: d.communes.features.length,"
                         " ring: d.communes.features[0].geometry.coordinates[0]}; })()")
        assert got["x"] == want["retail_points"]["x"] and got["y"] == want["retail_points"]["y"]
        assert got["m0"] == want["retail_points"]["m0"]
        assert got["type"] == want["retail_points"]["type"]
        assert got["name"] == want["retail_points"]["name"] and got["name"][0] is None
        assert got["n"] == 130
        assert got["ring"] == want["communes"]["features"][0]["geometry"]["coordinates"][0]
        # province zoom: counts, far fewer markers than points; zoomed in: single points
        counts = b.evaluate("document.querySelectorAll('.gp-cluster').length")
        markers = b.evaluate("document.querySelectorAll('.leaflet-marker-icon').length")
        assert 0 < counts and markers < 1000
        shown = b.evaluate("(() => { let n = 0; document.querySelectorAll('.gp-cluster span')"
                           ".forEach(s => n += Number(s.textContent.replace(/\\D/g, '')));"
                           " return n + document.querySelectorAll('.leaflet-marker-icon.gp-pt').length; })()")
        assert shown == 3000  # every point counted once at province zoom
        b.evaluate(f"geoPcmtMap.map.setView([{pts.geometry.y.iloc[0]}, {pts.geometry.x.iloc[0]}],"
                   " 17, {animate: false}); true")
        assert b.evaluate("document.querySelectorAll('.leaflet-marker-icon.gp-pt').length") >= 1
        assert b.console_errors() == []
