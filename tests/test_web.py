"""The web app: the factory, the public layer list and the GeoJSON of communes."""
from __future__ import annotations

import json

from geo_pcmt.web import create_app


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
