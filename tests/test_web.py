"""The web app: the factory, the public layer list and the GeoJSON of communes."""
from __future__ import annotations

import pytest

import json

from geo_pcmt.web import create_app


@pytest.mark.slow  # over ~0.5 s: out of the quick loop
def test_public_layers_and_communes_geojson(store):
    client = create_app({"STORE": str(store.path), "TESTING": True}).test_client()
    layers = client.get("/layers").get_json()
    assert {"communes", "border_line"} <= {l["name"] for l in layers}
    res = client.get("/layers/communes.geojson")
    assert res.status_code == 200 and res.mimetype == "application/geo+json"
    assert len(json.loads(res.data)["features"]) == 130


def test_restricted_layers_are_not_served_by_the_public_routes(store):
    client = create_app({"STORE": str(store.path), "TESTING": True}).test_client()
    res = client.get("/layers/retail_points.geojson")
    assert res.status_code == 404 and res.get_json()["error"] == "not_found"


def test_a_published_layer_revalidates_with_its_etag_and_changes_after_a_write(store):
    client = create_app({"STORE": str(store.path), "TESTING": True}).test_client()
    first = client.get("/layers/communes.geojson")
    etag = first.headers["ETag"]
    assert first.status_code == 200 and etag
    # a GIS client or browser asking again with the validator gets 304 and no body
    again = client.get("/layers/communes.geojson", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    # a write to the layer (by any path) shows on the next read, with a new validator
    one = store.read("communes", limit=1)
    one["name"] = "Xã Đổi Tên Thử"
    store.write("communes", one, mode="upsert")
    fresh = client.get("/layers/communes.geojson", headers={"If-None-Match": etag})
    assert fresh.status_code == 200 and fresh.headers["ETag"] != etag
    names = {f["id"]: f["properties"]["name"] for f in json.loads(fresh.data)["features"]}
    assert len(names) == 130 and names[one["id"].iloc[0]] == "Xã Đổi Tên Thử"
