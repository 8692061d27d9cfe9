"""/export/<collection>.<format>: same filters and roles as the API, streamed, audited."""
from __future__ import annotations

import csv
import io
import json

import openpyxl
import pyogrio
import pytest
import shapely
from geojson_pydantic import FeatureCollection

from tests.conftest import MUONG_XEN, bearer

VISIBLE_TO_ANALYST = sorted(f"RP-{i:02d}" for i in range(13) if i not in (7, 12))


def export(app, path, role="analyst"):
    return app.test_client().get(path, headers=bearer(app, role))


def test_geojson_export_is_streamed_rfc7946_with_every_visible_row(app):
    res = export(app, "/export/retail_points.geojson")
    assert res.status_code == 200 and res.is_streamed
    # restricted rows: the file name carries the mark (ASCII, and in Vietnamese for browsers)
    assert res.headers["Content-Disposition"].startswith(
        'attachment; filename="retail_points-MAT.geojson"; filename*=UTF-8\'\'retail_points-M')
    doc = json.loads(res.data)
    assert doc["classification"] == {"level": "restricted", "mark": "MẬT",
                                     "mark_en": "RESTRICTED"}
    FeatureCollection.model_validate(doc)
    assert sorted(f["id"] for f in doc["features"]) == VISIBLE_TO_ANALYST
    assert "crs" not in doc


def test_export_takes_the_same_filters_as_the_api(app):
    doc = json.loads(export(app, "/export/retail_points.geojson?bbox=104.095,19.34,104.135,19.36"
                                 "&status=active").data)
    assert sorted(f["id"] for f in doc["features"]) == ["RP-00", "RP-01", "RP-03"]
    dated = json.loads(export(app, "/export/cases.geojson?datetime=2024-03-01/2024-03-04").data)
    assert len(dated["features"]) == 4
    assert export(app, "/export/cases.geojson?bbox=1,2").get_json()["code"] == "invalid_bbox"


def test_large_exports_stream_in_chunks_without_losing_or_repeating_rows(app, monkeypatch):
    from geo_pcmt.web import exports
    monkeypatch.setattr(exports, "CHUNK_ROWS", 3)
    doc = json.loads(export(app, "/export/cases.geojson").data)
    assert [f["id"] for f in doc["features"]] == [f"C-{d:02d}" for d in range(1, 21)]
    text = export(app, "/export/cases.csv").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert [r["id"] for r in rows] == [f"C-{d:02d}" for d in range(1, 21)]


def test_csv_has_bom_lon_lat_and_defuses_formulas(app):
    store = app.extensions["geo_pcmt_store"]
    frame = store.read("retail_points", where={"id": "RP-00"})
    frame["name"] = "=HYPERLINK(\"http://evil\",\"x\")"
    store.write("retail_points", frame, mode="upsert")
    raw = export(app, "/export/retail_points.csv").get_data(as_text=True)
    assert raw.startswith("\ufeff")
    rows = {r["id"]: r for r in csv.DictReader(io.StringIO(raw.lstrip("\ufeff")))}
    assert rows["RP-00"]["name"].startswith("'=HYPERLINK")
    assert (rows["RP-03"]["lon"], rows["RP-03"]["lat"]) == ("104.13", "19.35")
    assert rows["RP-04"]["name"] == "Điểm số 4"


def test_gpkg_export_opens_in_gdal_with_the_rows_and_geometries(app, tmp_path):
    res = export(app, "/export/retail_points.gpkg?commune_code=" + MUONG_XEN)
    path = tmp_path / "out.gpkg"
    path.write_bytes(res.data)
    frame = pyogrio.read_dataframe(path)
    assert sorted(frame["id"]) == [f"RP-{i:02d}" for i in range(10) if i != 7]
    assert frame.crs.to_epsg() == 4326
    p3 = frame.set_index("id").geometry["RP-03"]
    assert shapely.equals_exact(p3, shapely.Point(104.13, 19.35), tolerance=1e-9)


def test_xlsx_export_keeps_text_as_text(app, tmp_path):
    store = app.extensions["geo_pcmt_store"]
    frame = store.read("retail_points", where={"id": "RP-01"})
    frame["name"] = "=1+1"
    store.write("retail_points", frame, mode="upsert")
    res = export(app, "/export/retail_points.xlsx")
    wb = openpyxl.load_workbook(io.BytesIO(res.data))
    rows = list(wb.active.iter_rows(values_only=True))
    header, body = rows[0], {r[0]: dict(zip(rows[0], r)) for r in rows[1:]}
    assert "lon" in header and "lat" in header
    assert body["RP-01"]["name"] == "=1+1"
    cell = [c for c in wb.active[2 + sorted(body).index("RP-01")] if c.value == "=1+1"][0]
    assert cell.data_type == "s"


def test_empty_results_are_still_valid_files(app, tmp_path):
    q = "?status=re-emerged"
    assert json.loads(export(app, "/export/retail_points.geojson" + q).data)["features"] == []
    assert export(app, "/export/retail_points.csv" + q).get_data(as_text=True).startswith(
        "\ufeffid,")
    path = tmp_path / "empty.gpkg"
    path.write_bytes(export(app, "/export/retail_points.gpkg" + q).data)
    assert len(pyogrio.read_dataframe(path)) == 0


def test_every_export_is_audited_with_filter_and_ids(app):
    export(app, "/export/retail_points.csv?status=cleared")
    export(app, "/export/communes.geojson", role=None)
    log = app.extensions["geo_pcmt_store"].read("audit_log", where={"action": "export"})
    restricted, public = log.iloc[0], log.iloc[1]
    assert restricted["user"] == "analyst_user" and json.loads(restricted["ids"]) == ["RP-02"]
    assert json.loads(restricted["detail"])["query"]["where"]["status"] == "cleared"
    assert public["user"].startswith("anonymous@") and public["layer"] == "communes"


def test_exports_follow_the_roles(app):
    assert export(app, "/export/retail_points.geojson", role="viewer").status_code == 404
    assert export(app, "/export/retail_points.geojson", role=None).status_code == 404
    agg = json.loads(export(app, "/export/retail_points_per_commune.geojson", "viewer").data)
    assert {f["id"]: f["properties"]["count"] for f in agg["features"]}[MUONG_XEN] == 9
    assert export(app, "/export/communes.gpkg", role=None).status_code == 200
    admin = json.loads(export(app, "/export/retail_points.geojson", role="admin").data)
    assert {"RP-07", "RP-12"} <= {f["id"] for f in admin["features"]}


def test_viewer_exports_of_public_layers_leave_out_operational_fields(app):
    text = export(app, "/export/commune_status.csv", role="viewer").get_data(as_text=True)
    assert "criteria" not in text and "loai_I" in text
    assert "criteria" in export(app, "/export/commune_status.csv").get_data(as_text=True)


@pytest.mark.parametrize("path", ["/export/retail_points.shp", "/export/retail_points",
                                  "/export/.geojson"])
def test_unknown_export_formats_are_404_with_the_formats_named(app, path):
    res = export(app, path)
    assert res.status_code == 404 and ".gpkg" in res.get_json()["description"]


def test_xlsx_refuses_a_cell_excel_would_cut_with_the_same_message_as_the_cli(app, tmp_path):
    from click.testing import CliRunner

    from geo_pcmt.cli import main
    res = export(app, "/export/province.xlsx", role=None)
    assert res.status_code == 422
    body = res.get_json()
    assert body["code"] == "cell_too_long"
    assert "province" in body["description"] and "'wkt'" in body["description"]
    assert "geojson or gpkg" in body["description"]
    store = app.extensions["geo_pcmt_store"]
    cli = CliRunner().invoke(main, ["export", "province", "--format", "xlsx", "--out",
                                    str(tmp_path / "p.xlsx"), "--store", str(store.path)])
    assert cli.exit_code == 1 and cli.stderr.strip() == "error: " + body["description"]
    log = store.read("audit_log", where={"action": "export"})
    assert "province" not in set(log["layer"])  # nothing left, so nothing audited
    assert export(app, "/export/province.gpkg", role=None).status_code == 200


def test_xlsx_refuses_more_rows_than_a_sheet_holds(app, monkeypatch, tmp_path):
    from geo_pcmt.outputs import spreadsheet
    monkeypatch.setattr(spreadsheet, "XLSX_MAX_ROWS", 5)
    res = export(app, "/export/cases.xlsx")
    assert res.status_code == 400 and res.get_json()["code"] == "too_many_rows"
    assert "20 rows do not fit" in res.get_json()["description"]
    assert export(app, "/export/cases.xlsx?limit=5").status_code == 200
    assert export(app, "/export/cases.csv").status_code == 200
