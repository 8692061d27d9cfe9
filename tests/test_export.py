"""Exports: RFC 7946 GeoJSON checked by a validator, plus GPKG, CSV and XLSX."""
from __future__ import annotations

import csv
import io
import json

import geopandas as gpd
import openpyxl
import pandas as pd
import pyogrio
import pytest
import shapely
from geojson_pydantic import FeatureCollection

from geo_pcmt.ingest import boundaries
from geo_pcmt.outputs.export import export_layer, to_geojson


def _rings(geom):
    polys = geom.geoms if geom.geom_type == "MultiPolygon" else [geom]
    for p in polys:
        yield p.exterior, True
        for hole in p.interiors:
            yield hole, False


@pytest.mark.slow  # over ~0.5 s: out of the quick loop
def test_communes_geojson_is_rfc7946(communes):
    doc = json.loads(to_geojson(communes))
    FeatureCollection.model_validate(doc)  # structural RFC 7946 validation
    assert "crs" not in doc
    assert len(doc["features"]) == 130
    for f in doc["features"]:
        assert f["id"] == f["properties"]["id"]
        geom = shapely.geometry.shape(f["geometry"])
        for ring, exterior in _rings(geom):
            # right-hand rule: exteriors counter-clockwise, holes clockwise
            assert ring.is_ccw == exterior
        for x, y in shapely.get_coordinates(geom):
            assert 103 < x < 107 and 18 < y < 21  # lon, lat order
            assert round(x, 6) == x and round(y, 6) == y


def test_clockwise_input_polygons_are_reoriented():
    cw = shapely.Polygon([(104, 19), (104, 19.1), (104.1, 19.1), (104.1, 19)])
    assert not cw.exterior.is_ccw
    frame = gpd.GeoDataFrame({"id": ["a"]}, geometry=[cw], crs=4326)
    geom = shapely.geometry.shape(json.loads(to_geojson(frame))["features"][0]["geometry"])
    assert geom.exterior.is_ccw


def test_projected_frames_are_exported_in_lon_lat(communes):
    doc = json.loads(to_geojson(communes.head(2).to_crs(32648)))
    x, y = doc["features"][0]["geometry"]["coordinates"][0][0][0]
    assert 103 < x < 107 and 18 < y < 21


def test_diacritics_survive_every_format(tmp_path, communes):
    frame = communes.head(5)
    for fmt in ("geojson", "gpkg", "csv", "xlsx"):
        path = export_layer(frame, tmp_path / f"c.{fmt}", "communes", fmt)
        if fmt == "csv":
            back = pd.read_csv(path, encoding="utf-8-sig", dtype=str)
        elif fmt == "xlsx":
            back = pd.read_excel(path, dtype=str)
        else:
            back = pyogrio.read_dataframe(path)
        assert list(back["name"]) == list(frame["name"]), fmt


def test_table_layers_export_with_null_geometry():
    doc = json.loads(to_geojson(boundaries.commune_lineage().head(3)))
    assert doc["features"][0]["geometry"] is None
    assert doc["features"][0]["properties"]["old_name"]


# --- geo-pcmt export: the same formats, safety and roles as the web's /export ---------------

HOSTILE = '=HYPERLINK("x")'


def _cli(*args, store):
    from click.testing import CliRunner

    from geo_pcmt.cli import main
    return CliRunner().invoke(main, ["export", *args], env={"GEO_PCMT_STORE": str(store.path)},
                              catch_exceptions=False)


@pytest.fixture
def hostile_store(store):
    frame = store.read("communes").head(1)
    frame["name"] = HOSTILE
    store.write("communes", frame, mode="upsert")
    return store, frame["id"].iloc[0]


def test_cli_xlsx_export_writes_a_formula_lookalike_as_text(hostile_store, tmp_path):
    store, cid = hostile_store
    out = tmp_path / "communes.xlsx"
    res = _cli("communes", "--format", "xlsx", "--out", str(out), store=store)
    assert res.exit_code == 0, res.output
    sheet = openpyxl.load_workbook(out).active
    header = [c.value for c in sheet[1]]
    row = next(r for r in sheet.iter_rows(min_row=2) if r[header.index("id")].value == cid)
    cell = row[header.index("name")]
    assert cell.data_type == "s" and cell.value == HOSTILE


def test_cli_csv_export_defuses_a_formula_lookalike(hostile_store, tmp_path):
    store, cid = hostile_store
    out = tmp_path / "communes.csv"
    assert _cli("communes", "--format", "csv", "--out", str(out), store=store).exit_code == 0
    raw = out.read_text(encoding="utf-8")
    assert raw.startswith("\ufeff")
    rows = {r["id"]: r for r in csv.DictReader(io.StringIO(raw.lstrip("\ufeff")))}
    assert rows[cid]["name"] == "'" + HOSTILE
    assert "Xén" in "".join(r["name"] for r in rows.values())


def test_cli_xlsx_export_refuses_a_cell_excel_would_cut(store, tmp_path):
    province = store.read("province")
    wkt_length = len(shapely.to_wkt(province.geometry.iloc[0], rounding_precision=6))
    assert wkt_length > 32_767
    folder = tmp_path / "out"
    folder.mkdir()
    out = folder / "province.xlsx"
    res = _cli("province", "--format", "xlsx", "--out", str(out), store=store)
    assert res.exit_code == 1
    message = res.stderr
    assert "province" in message and repr(province["id"].iloc[0]) in message
    assert "'wkt'" in message and f"{wkt_length:,}" in message
    assert "geojson or gpkg" in message
    assert list(folder.iterdir()) == []  # nothing written, not even a temporary file
    assert _cli("province", "--format", "gpkg", "--out", str(folder / "p.gpkg"),
                store=store).exit_code == 0


def test_cli_export_holds_only_what_the_role_may_read(web_store, tmp_path):
    everything = tmp_path / "all.geojson"
    assert _cli("retail_points", "--out", str(everything), store=web_store).exit_code == 0
    ids = {f["id"] for f in json.loads(everything.read_text(encoding="utf-8"))["features"]}
    assert {"RP-07", "RP-12"} <= ids  # the local operator (admin) by default
    analyst = tmp_path / "analyst.geojson"
    assert _cli("retail_points", "--role", "analyst", "--out", str(analyst),
                store=web_store).exit_code == 0
    ids = {f["id"] for f in json.loads(analyst.read_text(encoding="utf-8"))["features"]}
    assert ids and not {"RP-07", "RP-12"} & ids
    viewer = tmp_path / "status.csv"
    assert _cli("commune_status", "--role", "viewer", "--format", "csv", "--out", str(viewer),
                store=web_store).exit_code == 0
    text = viewer.read_text(encoding="utf-8")
    assert "loai_I" in text and "criteria" not in text
    res = _cli("retail_points", "--role", "viewer", "--out", str(tmp_path / "x.geojson"),
               store=web_store)
    assert res.exit_code == 3 and "not readable by role 'viewer'" in res.stderr
    assert not (tmp_path / "x.geojson").exists()


def test_cli_export_help_names_the_default_role():
    from click.testing import CliRunner

    from geo_pcmt.cli import main
    out = " ".join(CliRunner().invoke(main, ["export", "--help"]).output.split())
    assert "--role" in out and "[default: admin]" in out and "local operator" in out
