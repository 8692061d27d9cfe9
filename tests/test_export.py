"""Exports: RFC 7946 GeoJSON checked by a validator, plus GPKG, CSV and XLSX."""
from __future__ import annotations

import json

import geopandas as gpd
import pandas as pd
import pyogrio
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
