"""OGC API – Features under /api: landing, conformance, collections, items, paging, filters.

The small web data set with known right answers (``web_store``, ``make_app``, ``login``) is in
``tests/conftest.py``.
"""
from __future__ import annotations

import json

import pytest
import shapely

from geo_pcmt import access
from geo_pcmt.layers import LAYERS, Field, Layer, register_derived
from tests.conftest import (FAST_HASH, MUONG_XEN, NAM_CAN, PASSWORD, ROLES,  # noqa: F401
                            XSS_IMG, XSS_NAME, bearer, csrf_of, login, make_app, web_frames)

# --- fixtures of this file ------------------------------------------------------------------

@pytest.fixture(scope="module")
def api(module_app):
    """One app for the whole module (these tests do not write data)."""
    return module_app


def get(api, url, role="analyst", headers=None, **kw):
    return api.test_client().get(url, headers={**bearer(api, role), **(headers or {})}, **kw)


def ids_of(res) -> list[str]:
    return [f["id"] for f in json.loads(res.data)["features"]]


# --- landing, conformance, collections ---------------------------------------------------------

def test_landing_page_links_to_openapi_conformance_and_collections(api):
    doc = get(api, "/api").get_json()
    rels = {l["rel"]: l["href"] for l in doc["links"]}
    assert rels["service-desc"].endswith("/api/openapi?f=json")
    assert rels["conformance"].endswith("/api/conformance?f=json")
    assert rels["data"].endswith("/api/collections?f=json")


def test_conformance_declares_core_geojson_html_and_openapi(api):
    classes = get(api, "/api/conformance").get_json()["conformsTo"]
    for part in ("conf/core", "conf/geojson", "conf/html", "conf/oas30"):
        assert any(c.endswith(part) for c in classes)


def test_every_layer_an_admin_may_read_is_a_collection(api):
    listed = {c["id"] for c in get(api, "/api/collections", "admin").get_json()["collections"]}
    assert set(LAYERS) <= listed
    assert {"retail_points_per_commune", "cases_per_commune"} <= listed


def test_a_derived_layer_registered_later_appears_as_a_collection(api):
    spec = Layer("test_flags_later", "Thử", "Test flags", "Point",
                 (Field("id", "str", required=True), Field("score", "float")),
                 kind="derived", confidentiality_default="restricted")
    register_derived(spec)
    try:
        listed = {c["id"] for c in get(api, "/api/collections").get_json()["collections"]}
        assert "test_flags_later" in listed
        assert get(api, "/api/collections/test_flags_later/items").get_json()["features"] == []
        assert "/collections/test_flags_later/items" in get(api, "/api/openapi").get_json()["paths"]
    finally:
        LAYERS.pop("test_flags_later")


def test_collection_metadata_has_items_link_and_a_lon_lat_extent(api):
    doc = get(api, "/api/collections/communes").get_json()
    assert doc["id"] == "communes" and doc["title"] == "Xã, phường (2025)"
    minx, miny, maxx, maxy = doc["extent"]["spatial"]["bbox"][0]
    assert 103 < minx < maxx < 107 and 18 < miny < maxy < 21
    assert any(l["rel"] == "items" and l["type"] == "application/geo+json" for l in doc["links"])


# --- items: paging ---------------------------------------------------------------------------

def test_paging_reports_matched_and_returned_and_next_links_visit_every_feature_once(api):
    client = api.test_client()
    url, seen = "/api/collections/cases/items?limit=6", []
    while url:
        doc = client.get(url, headers=bearer(api, "analyst")).get_json()
        assert doc["numberMatched"] == 20
        assert doc["numberReturned"] == len(doc["features"]) <= 6
        seen += [f["id"] for f in doc["features"]]
        nxt = [l["href"] for l in doc["links"] if l["rel"] == "next"]
        url = nxt[0].replace("http://localhost", "") if nxt else None
    assert sorted(seen) == [f"C-{d:02d}" for d in range(1, 21)]


def test_prev_link_goes_back_one_page(api):
    doc = get(api, "/api/collections/cases/items?limit=5&offset=10").get_json()
    prev = [l["href"] for l in doc["links"] if l["rel"] == "prev"][0]
    assert "offset=5" in prev and "limit=5" in prev


def test_offset_past_the_end_returns_no_features_but_the_true_count(api):
    doc = get(api, "/api/collections/cases/items?offset=500").get_json()
    assert doc["numberReturned"] == 0 and doc["numberMatched"] == 20


def test_limit_above_the_maximum_is_served_as_the_maximum(api):
    api.config["API_LIMIT_MAX"] = 4
    try:
        doc = get(api, "/api/collections/cases/items?limit=1000").get_json()
    finally:
        api.config["API_LIMIT_MAX"] = 10_000
    assert doc["numberReturned"] == 4


def test_default_limit_applies_without_limit_parameter(api):
    api.config["API_LIMIT_DEFAULT"] = 7
    try:
        doc = get(api, "/api/collections/cases/items").get_json()
    finally:
        api.config["API_LIMIT_DEFAULT"] = 100
    assert doc["numberReturned"] == 7 and doc["numberMatched"] == 20


# --- items: filters ------------------------------------------------------------------------

def test_bbox_keeps_only_features_inside(api):
    # RP-00..RP-06 lie at lon 104.10..104.16, lat 19.35 (RP-07 is secret)
    res = get(api, "/api/collections/retail_points/items?bbox=104.095,19.34,104.135,19.36")
    assert sorted(ids_of(res)) == ["RP-00", "RP-01", "RP-02", "RP-03"]


def test_bbox_with_heights_is_accepted(api):
    res = get(api, "/api/collections/retail_points/items?bbox=104.095,19.34,0,104.115,19.36,100")
    assert sorted(ids_of(res)) == ["RP-00", "RP-01"]


def test_datetime_instant_and_intervals_filter_on_the_layer_time_field(api):
    base = "/api/collections/cases/items?limit=100&datetime="
    assert ids_of(get(api, base + "2024-03-05")) == ["C-05"]
    assert ids_of(get(api, base + "2024-03-05/2024-03-07")) == ["C-05", "C-06", "C-07"]
    assert len(ids_of(get(api, base + "../2024-03-03"))) == 3
    assert len(ids_of(get(api, base + "2024-03-18/.."))) == 3
    assert ids_of(get(api, base + "2024-03-05T10:00:00Z")) == ["C-05"]


def test_property_filters_are_equality_on_visible_fields(api):
    assert ids_of(get(api, "/api/collections/retail_points/items?status=cleared")) == ["RP-02"]
    both = get(api, "/api/collections/retail_points/items?status=active&commune_code=16837")
    assert ids_of(both) == ["RP-10", "RP-11"]  # RP-12 is secret


def test_asking_for_a_confidentiality_above_clearance_returns_nothing(api):
    assert ids_of(get(api, "/api/collections/retail_points/items?confidentiality=secret")) == []
    assert "RP-07" in ids_of(get(api, "/api/collections/retail_points/items?confidentiality=secret",
                                 "admin"))


@pytest.mark.parametrize("query, code, words", [
    ("bbox=104,19", "invalid_bbox", "4 numbers"),
    ("bbox=a,b,c,d", "invalid_bbox", "numbers"),
    ("bbox=104,20,105,19", "invalid_bbox", "north of"),
    ("bbox=104,19,105,200", "invalid_bbox", "latitudes"),
    ("datetime=yesterday", "invalid_datetime", "RFC 3339"),
    ("datetime=2024-05-01/2024-01-01", "invalid_datetime", "after it ends"),
    ("datetime=2024-13-45", "invalid_datetime", "RFC 3339"),
    ("limit=0", "invalid_limit", "≥ 1"),
    ("limit=ten", "invalid_limit", "whole number"),
    ("offset=-1", "invalid_offset", "≥ 0"),
    ("statsu=active", "unknown_parameter", "statsu"),
    ("offenders=many", "invalid_parameter", "whole number"),
    ("offenders=99999999999999999999", "invalid_parameter", "whole number"),
    ("kind=smuggling", "invalid_parameter", "one of"),
    ("f=xml", "invalid_parameter", "json or html"),
    ("crs=EPSG:3857", "invalid_crs", "CRS84"),
])
def test_malformed_queries_get_400_with_a_code_and_a_clear_message(api, query, code, words):
    res = get(api, f"/api/collections/cases/items?{query}")
    body = res.get_json()
    assert res.status_code == 400, body
    assert body["code"] == code and words in body["description"]


def test_datetime_on_a_collection_without_time_is_a_clear_400(api):
    body = get(api, "/api/collections/communes/items?datetime=2024-01-01").get_json()
    assert body["code"] == "invalid_parameter" and "no time field" in body["description"]


# --- single features, formats ---------------------------------------------------------------------

def test_one_feature_by_id_is_geojson_with_links(api):
    res = get(api, "/api/collections/retail_points/items/RP-03")
    assert res.status_code == 200 and res.mimetype == "application/geo+json"
    feature = res.get_json()
    assert feature["id"] == "RP-03" and feature["geometry"]["coordinates"] == [104.13, 19.35]
    assert feature["properties"]["name"] == "Điểm số 3"


def test_missing_feature_is_404_with_a_code(api):
    res = get(api, "/api/collections/retail_points/items/RP-99")
    assert res.status_code == 404 and res.get_json()["code"] == "not_found"


def test_html_by_f_parameter_and_by_accept_header(api):
    by_f = get(api, "/api/collections/retail_points/items?f=html&limit=3")
    by_accept = get(api, "/api/collections", headers={"Accept": "text/html,*/*;q=0.8"})
    assert by_f.mimetype == "text/html" and "Điểm số 0" in by_f.get_data(as_text=True)
    assert by_accept.mimetype == "text/html" and "retail_points" in by_accept.get_data(as_text=True)
    assert get(api, "/api/collections").mimetype == "application/json"


def test_items_are_rfc7946_feature_collections(api):
    from geojson_pydantic import FeatureCollection
    doc = get(api, "/api/collections/communes/items?limit=3").get_json()
    FeatureCollection.model_validate({k: doc[k] for k in ("type", "features")})
    ring = shapely.geometry.shape(doc["features"][0]["geometry"]).geoms[0].exterior
    assert ring.is_ccw  # right-hand rule


# --- aggregates and OpenAPI --------------------------------------------------------------------

@pytest.mark.slow  # over ~0.5 s: out of the quick loop
def test_viewer_aggregates_count_per_commune_and_hide_small_counts(api):
    doc = get(api, "/api/collections/retail_points_per_commune/items?limit=200", "viewer").get_json()
    by_code = {f["id"]: f["properties"] for f in doc["features"]}
    assert len(by_code) == 130
    assert by_code[MUONG_XEN]["count"] == 9  # 10 points, one secret not counted
    assert by_code[NAM_CAN]["count"] is None and by_code[NAM_CAN]["suppressed"] is True
    others = [p for code, p in by_code.items() if code not in (MUONG_XEN, NAM_CAN)]
    assert all(p["count"] == 0 and p["suppressed"] is False for p in others)


def test_openapi_lists_each_readable_collection_with_its_filters(api):
    doc = get(api, "/api/openapi").get_json()
    assert doc["openapi"].startswith("3.0")
    params = doc["paths"]["/collections/retail_points/items"]["get"]["parameters"]
    names = {p.get("name") for p in params}
    assert {"status", "type", "commune_code"} <= names
    schema = doc["components"]["schemas"]["feature_retail_points"]["properties"]["properties"]
    assert schema["properties"]["status"]["enum"] == ["active", "watch", "cleared", "re-emerged"]


@pytest.mark.parametrize("role", [None, "viewer", "admin"])
def test_openapi_document_is_titled_as_the_api_not_as_its_last_collection(api, role):
    # the title of the last collection listed used to overwrite the document's own
    info = get(api, "/api/openapi", role).get_json()["info"]
    assert info["title"] == "geo_pcmt OGC API – Features"


def test_openapi_of_a_viewer_has_no_restricted_layer_or_field(api):
    text = get(api, "/api/openapi", "viewer").get_data(as_text=True)
    for hidden in ("retail_points/items", '"feature_cases"', "audit_log", '"criteria"', "case_ref"):
        assert hidden not in text
    assert "/collections/retail_points_per_commune/items" in json.loads(text)["paths"]
    assert '"criteria"' in get(api, "/api/openapi", "analyst").get_data(as_text=True)


def test_collections_link_a_json_schema_of_their_features(api):
    links = get(api, "/api/collections/commune_status").get_json()["links"]
    href = [l["href"] for l in links if l["rel"] == "describedBy"][0]
    res = get(api, href.replace("http://localhost", ""))
    assert res.mimetype == "application/schema+json"
    props = res.get_json()["properties"]["properties"]["properties"]
    assert props["status"]["enum"][0] == "loai_I" and props["period"]["type"] == "string"
    viewer = get(api, href.replace("http://localhost", ""), "viewer").get_json()
    assert "criteria" in props and "criteria" not in viewer["properties"]["properties"][
        "properties"]
    assert get(api, "/api/collections/retail_points/schema", "viewer").status_code == 404


def test_access_functions_used_by_the_api_agree_with_the_roles():
    assert access.readable_layers_for(None) == ["communes", "commune_lineage", "province",
                                                "border_line", "lao_provinces"]
    assert "criteria" not in access.visible_fields("viewer", "commune_status")
    assert "criteria" in access.visible_fields("analyst", "commune_status")
    assert not access.can_read_aggregates(None) and access.can_read_aggregates("viewer")


def test_remembered_counts_never_cross_roles(api):
    analyst = get(api, "/api/collections/retail_points/items?limit=2").get_json()
    admin = get(api, "/api/collections/retail_points/items?limit=2", "admin").get_json()
    again = get(api, "/api/collections/retail_points/items?limit=2&offset=2").get_json()
    assert (analyst["numberMatched"], admin["numberMatched"], again["numberMatched"]) == (11, 13, 11)
