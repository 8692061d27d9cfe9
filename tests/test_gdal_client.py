"""A real GIS client reads the service: GDAL's ogrinfo/ogr2ogr (OAPIF driver, Debian gdal-bin)
against the app served on a free 127.0.0.1 port."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import warnings

import pytest
from werkzeug.serving import make_server

from geo_pcmt.store import GeoPackageStore
from tests.conftest import PASSWORD, make_app

pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    not (shutil.which("ogrinfo") and shutil.which("ogr2ogr")),
    reason="!!! ogrinfo/ogr2ogr NOT FOUND: install Debian's gdal-bin to run the real-GIS-client "
           "tests of the OGC API !!!")]
if not (shutil.which("ogrinfo") and shutil.which("ogr2ogr")):  # pragma: no cover
    warnings.warn("gdal-bin missing: the OGC API is NOT being tested with a real GIS client")


@pytest.fixture(scope="module")
def server(tmp_path_factory, web_template):
    """The app on 127.0.0.1 (free port) in a thread; yields ``(base_url, app)``."""
    d = tmp_path_factory.mktemp("gdal")
    shutil.copy(web_template, d / "web.gpkg")
    app = make_app(GeoPackageStore(d / "web.gpkg"), d)
    app.config["TESTING"] = False
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_port}/api", app
    srv.shutdown()
    thread.join(timeout=10)


def gdal(*args: str, userpwd: str | None = None) -> subprocess.CompletedProcess:
    """Run a GDAL utility with Basic credentials (as QGIS would send them)."""
    cmd = list(args)
    if userpwd:
        cmd += ["--config", "GDAL_HTTP_AUTH", "BASIC", "--config", "GDAL_HTTP_USERPWD", userpwd]
    env = dict(os.environ, GDAL_HTTP_TIMEOUT="60", CPL_CURL_VERBOSE="NO")
    env.pop("http_proxy", None)
    env.pop("HTTP_PROXY", None)
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    assert res.returncode == 0, res.stderr[-2000:]
    return res


def layer_names(ogrinfo_output: str) -> set[str]:
    names = set()
    for line in ogrinfo_output.splitlines():
        head, _, rest = line.partition(": ")
        if head.strip().isdigit():
            names.add(rest.split(" ")[0])
    return names


def test_ogrinfo_lists_the_collections_of_the_user(server):
    base, app = server
    token = app.config["TEST_TOKENS"]["analyst"]
    analyst = layer_names(gdal("ogrinfo", "-ro", "-q", f"OAPIF:{base}",
                               userpwd=f"analyst_user:{token}").stdout)
    anonymous = layer_names(gdal("ogrinfo", "-ro", "-q", f"OAPIF:{base}").stdout)
    assert {"retail_points", "cases", "communes", "retail_points_per_commune"} <= analyst
    assert anonymous == {"communes", "commune_lineage", "province", "border_line",
                         "lao_provinces"}


def test_ogrinfo_reads_a_collection_schema_and_count(server):
    base, _ = server
    out = gdal("ogrinfo", "-ro", "-so", f"OAPIF:{base}", "retail_points",
               userpwd=f"analyst_user:{PASSWORD}").stdout
    assert "Feature Count: 11" in out  # 13 points, two secret
    assert "Geometry: Point" in out and "first_seen: Date" in out
    # typed from the describedBy JSON Schema although every value on the page is null
    assert "last_activity: Date" in out and "is_border: Integer(Boolean)" in out
    assert out.count("\nid: ") == 1


def test_ogr2ogr_copies_a_layer_to_geojson_with_a_bbox(server, tmp_path):
    base, _ = server
    out = tmp_path / "rp.geojson"
    gdal("ogr2ogr", "-f", "GeoJSON", str(out), f"OAPIF:{base}", "retail_points",
         "-spat", "104.095", "19.34", "104.135", "19.36", userpwd=f"analyst_user:{PASSWORD}")
    doc = json.loads(out.read_text())
    assert sorted(f["properties"]["id"] for f in doc["features"]) == ["RP-00", "RP-01", "RP-02",
                                                                     "RP-03"]
    assert doc["features"][0]["geometry"]["type"] == "Point"


def test_ogr2ogr_follows_next_links_across_pages_and_filters_by_attribute(server, tmp_path):
    base, _ = server
    out = tmp_path / "cases.geojson"
    gdal("ogr2ogr", "-f", "GeoJSON", str(out), f"OAPIF:{base}", "cases", "-oo", "PAGE_SIZE=6",
         userpwd=f"analyst_user:{PASSWORD}")
    ids = [f["properties"]["id"] for f in json.loads(out.read_text())["features"]]
    assert ids == [f"C-{d:02d}" for d in range(1, 21)]
    cleared = tmp_path / "cleared.geojson"
    gdal("ogr2ogr", "-f", "GeoJSON", str(cleared), f"OAPIF:{base}", "retail_points",
         "-where", "status = 'cleared'", userpwd=f"analyst_user:{PASSWORD}")
    assert [f["properties"]["id"] for f in json.loads(cleared.read_text())["features"]] == ["RP-02"]


def test_a_gis_client_with_wrong_credentials_gets_nothing(server):
    base, _ = server
    res = subprocess.run(["ogrinfo", "-ro", "-q", f"OAPIF:{base}", "--config", "GDAL_HTTP_AUTH",
                          "BASIC", "--config", "GDAL_HTTP_USERPWD", "viewer_user:wrong-one"],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode != 0 and "retail_points" not in res.stdout


# --- GDAL 3.6 filters (-where, -spat) and paging at its default page size -------------------

def _copy(base, layer, tmp_path, *args, name="out") -> list[str]:
    out = tmp_path / f"{name}.geojson"
    gdal("ogr2ogr", "-f", "GeoJSON", str(out), f"OAPIF:{base}", layer, *args,
         userpwd=f"analyst_user:{PASSWORD}")
    return sorted(f["properties"]["id"] for f in json.loads(out.read_text())["features"])


@pytest.fixture(scope="module")
def analyst_rows(server):
    """What an analyst may see of cases and retail points, read from the store."""
    from geo_pcmt import access
    _, app = server
    store = GeoPackageStore(app.config["STORE"])
    return {name: access.read(store, name, role="analyst") for name in ("cases",
                                                                       "retail_points")}


@pytest.mark.parametrize("layer,where,mask", [
    # GDAL 3.6 sends datetime=2024-03-05T/.. for this (a 400 before)
    ("cases", "date >= '2024-03-05'", lambda d: d.date >= "2024-03-05"),
    ("cases", "date <= '2024-03-05'", lambda d: d.date <= "2024-03-05"),
    # BETWEEN: GDAL rewrites it as >= AND <= and sends datetime=2024-03-05T/2024-03-07T
    ("cases", "date BETWEEN '2024-03-05' AND '2024-03-07'",
     lambda d: d.date.between("2024-03-05", "2024-03-07")),
    # LIKE and IN: GDAL 3.6 evaluates them on its side (its LIKE folds ASCII case only)
    ("retail_points", "name LIKE 'Điểm SỐ 1%'", lambda d: d.id.isin([])),
    ("retail_points", "name LIKE 'Điểm số 1%'",
     lambda d: d.name.fillna("").str.startswith("Điểm số 1")),
    ("retail_points", "id IN ('RP-01', 'RP-07', 'RP-08')",
     lambda d: d.id.isin(["RP-01", "RP-07", "RP-08"])),
    ("retail_points", "status = 'active' AND first_seen >= '2024-05-01'",
     lambda d: (d.status == "active") & (d.first_seen >= "2024-05-01")),
])
def test_ogr2ogr_where_gives_the_rows_pandas_gives(server, tmp_path, analyst_rows, layer,
                                                    where, mask):
    base, _ = server
    rows = analyst_rows[layer]
    want = sorted(rows[mask(rows).to_numpy(dtype=bool)].id)
    assert _copy(base, layer, tmp_path, "-where", where) == want


def test_ogr2ogr_spat_keeps_the_points_in_the_box(server, tmp_path, analyst_rows):
    import shapely
    base, _ = server
    box = (104.125, 19.3, 104.175, 19.6)
    rows = analyst_rows["retail_points"]
    want = sorted(rows[shapely.intersects(rows.geometry.values, shapely.box(*box))].id)
    assert _copy(base, "retail_points", tmp_path, "-spat", *map(str, box)) == want


def test_ogr2ogr_copies_a_whole_layer_at_gdals_default_page_size(server, tmp_path):
    base, _ = server
    assert _copy(base, "cases", tmp_path) == [f"C-{d:02d}" for d in range(1, 21)]


def test_a_collection_url_with_datetime_opens(server, tmp_path):
    """GDAL adds the collection URL's query to every request, the schema's too."""
    base, _ = server
    out = gdal("ogrinfo", "-ro", "-so", f"OAPIF:{base}/collections/cases?datetime=2024-03-18/..",
               "cases", userpwd=f"analyst_user:{PASSWORD}").stdout
    assert "date: Date" in out
    ids = _copy(f"{base}/collections/cases?datetime=2024-03-18/..", "cases", tmp_path)
    assert ids == ["C-18", "C-19", "C-20"]
