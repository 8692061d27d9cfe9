"""Uploads never make the server fetch a URL; bad CRS codes and unreadable files get clear
4xx answers without server paths and leave nothing behind."""
from __future__ import annotations

import http.server
import io
import json
import threading

import pyogrio
import pytest

from geo_pcmt.ingest import IngestError, read_any, safety
from tests.conftest import bearer, make_app

CLEAN = ("id,type,status,first_seen,name,lon,lat\n"
         "U-1,diem_ban_le,active,2024-02-01,Điểm Huồi Khe,104.12,19.36\n")
WKT_4326 = ('GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563]],'
            'PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]]')


@pytest.fixture
def listener():
    """A local HTTP server that records every request it gets (and answers a CRS)."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            body = WKT_4326.encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_HEAD = do_GET

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)  # (shutdown waits up to one poll interval)
    thread.start()
    server.hits = hits
    server.url = f"http://127.0.0.1:{server.server_port}"
    yield server
    server.shutdown()
    server.server_close()


def geojson(crs: dict | None = None, geometry_crs: dict | None = None) -> str:
    geometry = {"type": "Point", "coordinates": [104.12, 19.36]}
    if geometry_crs is not None:
        geometry["crs"] = geometry_crs
    doc = {"type": "FeatureCollection", "features": [{
        "type": "Feature", "geometry": geometry,
        "properties": {"id": "U-1", "type": "diem_ban_le", "status": "active",
                       "first_seen": "2024-02-01", "name": "Điểm Huồi Khe"}}]}
    if crs is not None:
        doc = {"type": "FeatureCollection", "crs": crs, "features": doc["features"]}
    return json.dumps(doc, ensure_ascii=False)


def upload(app, text: str, name: str = "points.geojson", **form):
    data = {"layer": "retail_points", "file": (io.BytesIO(text.encode()), name), **form}
    return app.test_client().post("/data/upload", data=data, headers=bearer(app, "admin"),
                                  content_type="multipart/form-data")


def leftovers(app) -> list:
    from pathlib import Path
    folder = Path(app.config["UPLOAD_DIR"])
    return sorted(folder.glob("*")) if folder.exists() else []


def link_cases(url: str) -> dict[str, str]:
    return {
        "link": geojson({"type": "link", "properties": {"href": f"{url}/crs", "type": "ogcwkt"}}),
        "url type": geojson({"type": "URL", "properties": {"url": f"{url}/crs"}}),
        "name holding an address": geojson({"type": "name", "properties": {"name": f"{url}/x"}}),
        "upper-case key": geojson().replace('"features"', f'"CRS": {{"type": "link", '
                                                          f'"properties": {{"href": "{url}/c"}}}}, '
                                                          '"features"'),
        "escaped key": geojson({"type": "link", "properties": {"href": f"{url}/crs"}}).replace(
            '"crs"', '"\\u0063rs"'),
        "in a geometry": geojson(geometry_crs={"type": "link", "properties": {"href": url}}),
        "scheme-relative": geojson({"type": "link", "properties": {
            "href": "//" + url.split("//")[1]}}),
    }


@pytest.mark.parametrize("case", ["link", "url type", "name holding an address",
                                  "upper-case key", "escaped key", "in a geometry",
                                  "scheme-relative"])
@pytest.mark.slow  # over ~0.5 s: out of the quick loop
def test_a_geojson_whose_crs_links_out_is_refused_with_400_and_nothing_is_fetched(
        app, listener, case):
    res = upload(app, link_cases(listener.url)[case])
    body = res.get_json()
    assert res.status_code == 400 and body["code"] == "unsafe_file", body
    assert "does not follow links" in body["description"]
    assert listener.hits == []
    assert leftovers(app) == []


def test_a_named_crs_is_read_as_before(app):
    res = upload(app, geojson({"type": "name",
                               "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}))
    assert res.status_code == 201, res.get_json()
    res = upload(app, geojson({"type": "name", "properties": {
        "name": "http://www.opengis.net/def/crs/EPSG/0/4326"}}).replace("U-1", "U-2"))
    assert res.status_code == 201, res.get_json()  # GDAL resolves these without the network


@pytest.mark.slow  # whole service: helper processes
def test_the_refusal_survives_the_helper_process(web_store, tmp_path, listener):
    pooled = make_app(web_store, tmp_path, INGEST_PROCESSES=1)
    try:
        res = upload(pooled, link_cases(listener.url)["link"])
        assert res.status_code == 400 and res.get_json()["code"] == "unsafe_file"
        assert listener.hits == []
    finally:
        pooled.extensions["geo_pcmt_check_pool"].shutdown()


def test_gdal_itself_reads_offline_once_an_upload_was_checked(tmp_path, listener):
    """The second guard, without the first: GDAL is handed the link and /vsicurl/ paths."""
    path = tmp_path / "linked.geojson"
    path.write_text(link_cases(listener.url)["link"])
    safety.gdal_offline()
    pyogrio.read_dataframe(path)  # GDAL falls back to its default CRS
    with pytest.raises(Exception):
        pyogrio.read_dataframe(f"/vsicurl/{listener.url}/x.geojson")
    assert listener.hits == []


@pytest.mark.parametrize("path", ["/vsicurl/http://127.0.0.1:9/x.geojson",
                                  "http://127.0.0.1:9/x.geojson", "/vsis3/bucket/x.gpkg"])
def test_paths_naming_remote_sources_are_refused(path):
    with pytest.raises(IngestError, match="only local files"):
        safety.check_upload(path)


def test_read_any_refuses_a_linked_crs_for_every_caller(tmp_path, listener):
    path = tmp_path / "linked.json"
    path.write_text(link_cases(listener.url)["link"])
    with pytest.raises(IngestError, match="does not follow links") as caught:
        read_any(path)
    assert caught.value.http_status == 400 and listener.hits == []


# --- CRS codes and messages --------------------------------------------------------------------

def test_an_unknown_epsg_code_is_a_400_and_leaves_no_file(app):
    res = upload(app, CLEAN, name="points.csv", crs="EPSG:999999")
    assert res.status_code == 400 and res.get_json()["code"] == "invalid_crs"
    assert leftovers(app) == []
    assert upload(app, CLEAN, name="points.csv", crs="EPSG:4326").status_code == 201


@pytest.mark.parametrize("content, name", [("{not json", "diem.geojson"), ("", "diem.gpkg"),
                                           ("garbage", "diem.kml")])
def test_unreadable_files_are_422_without_server_paths(app, tmp_path, content, name):
    res = upload(app, content, name=name)
    description = res.get_json()["description"]
    assert res.status_code == 422 and name in description
    assert str(tmp_path) not in description and "/uploads/" not in description
    log = app.extensions["geo_pcmt_store"].read("audit_log", where={"action": "upload"})
    assert str(tmp_path) not in log["detail"].iloc[-1]


def test_public_message_keeps_only_file_names():
    msg = ("cannot read 3f2a.geojson: '/srv/var/uploads/3f2a.geojson' not recognized; "
           "see /usr/share/proj/proj.db; lon/lat 1/2/2024")
    out = safety.public_message(msg, "/srv/var/uploads/3f2a.geojson", "diem.geojson")
    assert out == ("cannot read diem.geojson: 'diem.geojson' not recognized; see proj.db; "
                   "lon/lat 1/2/2024")
