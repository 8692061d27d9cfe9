"""OGC API – Features Part 4 under /api: POST, PUT, PATCH, DELETE with ETag / If-Match.

Runs on the small web data set of test_ogcapi (RP-00 … RP-12 in Mường Xén and Nậm Cắn,
RP-07 and RP-12 secret); the concurrency tests run on both store backends.
"""
from __future__ import annotations

import json
import threading

import pandas as pd
import pytest
import shapely

from geo_pcmt.store.versions import VersionConflict, row_versions
from geo_pcmt.layers import get_layer
from tests.test_ogcapi import bearer, make_app
from tests.test_ogcapi import MUONG_XEN

GEO = "application/geo+json"
MERGE = "application/merge-patch+json"


@pytest.fixture
def app(web_store, tmp_path):
    return make_app(web_store, tmp_path)


def call(app, method, url, role="analyst", body=None, ctype=GEO, **headers):
    kw = {"headers": {**bearer(app, role), **headers}}
    if body is not None:
        kw["data"] = json.dumps(body, ensure_ascii=False)
        kw["content_type"] = ctype
    return app.test_client().open(url, method=method, **kw)


def case_feature(**props):
    """A valid new drug case in Mường Xén (lon 104.13, lat 19.40)."""
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [104.13, 19.40]},
            "properties": {"source": "kiểm thử", "date": "2024-05-02", "kind": "retail",
                           "offenders": 2, **props}}


def audit_rows(store, layer):
    log = store.read("audit_log")
    return log[(log["layer"] == layer) & log["action"].str.startswith(("write", "delete"))]


# --- ETag on reads ---------------------------------------------------------------------------

def test_an_item_has_a_strong_etag_that_revalidates_and_moves_with_a_write(app, web_store):
    first = call(app, "GET", "/api/collections/retail_points/items/RP-01")
    tag = first.headers["ETag"]
    assert first.status_code == 200 and tag.startswith('"') and not tag.startswith("W/")
    again = call(app, "GET", "/api/collections/retail_points/items/RP-01", **{"If-None-Match": tag})
    assert again.status_code == 304
    frame = web_store.read("retail_points", where={"id": "RP-01"})
    assert tag.strip('"') == row_versions(get_layer("retail_points"), frame)[0]
    web_store.write("retail_points", frame.assign(name="Đổi tên"), mode="upsert")
    fresh = call(app, "GET", "/api/collections/retail_points/items/RP-01", **{"If-None-Match": tag})
    assert fresh.status_code == 200 and fresh.headers["ETag"] != tag


# --- create ----------------------------------------------------------------------------------

def test_post_creates_a_feature_with_location_etag_audit_and_a_new_count(app, web_store):
    before = call(app, "GET", "/api/collections/cases/items?limit=1").get_json()["numberMatched"]
    version = web_store.data_version("cases")
    res = call(app, "POST", "/api/collections/cases/items", body=case_feature(id="C-NEW"))
    assert res.status_code == 201, res.get_json()
    assert res.headers["Location"].endswith("/api/collections/cases/items/C-NEW")
    got = call(app, "GET", "/api/collections/cases/items/C-NEW")
    assert got.status_code == 200 and got.headers["ETag"] == res.headers["ETag"]
    props = got.get_json()["properties"]
    # validated as an upload: the commune from where the point lies, the layer's default level
    assert props["commune_code"] == MUONG_XEN and props["confidentiality"] == "restricted"
    assert props["offenders"] == 2 and props["created_at"]
    assert web_store.data_version("cases") == version + 1
    after = call(app, "GET", "/api/collections/cases/items?limit=1").get_json()["numberMatched"]
    assert after == before + 1
    audit = audit_rows(web_store, "cases").iloc[-1]
    detail = json.loads(audit["detail"])
    assert audit["user"] == "analyst_user" and json.loads(audit["ids"]) == ["C-NEW"]
    assert detail["method"] == "POST" and detail["via"] == "ogcapi" and detail["inserted"] == 1


def test_post_without_an_id_gets_one_from_the_server(app):
    res = call(app, "POST", "/api/collections/cases/items", body=case_feature())
    assert res.status_code == 201
    fid = res.get_json()["id"]
    assert len(fid) == 32 and res.headers["Location"].endswith(f"/items/{fid}")


def test_post_with_a_taken_id_is_409_and_stores_nothing(app, web_store):
    res = call(app, "POST", "/api/collections/cases/items", body=case_feature(id="C-01"))
    assert res.status_code == 409 and res.get_json()["code"] == "id_taken"
    assert web_store.read("cases", where={"id": "C-01"})["kind"].iloc[0] == "retail"


# --- replace and update ------------------------------------------------------------------------

def etag_of(app, cid, fid, role="analyst"):
    return call(app, "GET", f"/api/collections/{cid}/items/{fid}", role=role).headers["ETag"]


def test_put_replaces_the_feature_and_clears_what_it_leaves_out(app, web_store):
    tag = etag_of(app, "retail_points", "RP-03")
    body = {"type": "Feature", "id": "RP-03",
            "geometry": {"type": "Point", "coordinates": [104.131, 19.351]},
            "properties": {"source": "sửa", "type": "diem_ban_le", "status": "watch",
                           "first_seen": "2024-04-15", "confidentiality": "restricted"}}
    res = call(app, "PUT", "/api/collections/retail_points/items/RP-03", body=body,
               **{"If-Match": tag})
    assert res.status_code == 200, res.get_json()
    assert res.headers["ETag"] != tag
    row = web_store.read("retail_points", where={"id": "RP-03"}).iloc[0]
    assert row["status"] == "watch" and pd.isna(row["name"]) and pd.isna(row["case_ref"])
    assert (row.geometry.x, row.geometry.y) == (104.131, 19.351)


def test_patch_changes_only_what_it_names_and_keeps_the_geometry_exact(app, web_store):
    before = web_store.read("retail_points", where={"id": "RP-04"}).iloc[0]
    tag = etag_of(app, "retail_points", "RP-04")
    res = call(app, "PATCH", "/api/collections/retail_points/items/RP-04", ctype=MERGE,
               body={"properties": {"status": "cleared", "cleared_on": "2024-06-01",
                                    "case_ref": None}}, **{"If-Match": tag})
    assert res.status_code == 200, res.get_json()
    after = web_store.read("retail_points", where={"id": "RP-04"}).iloc[0]
    assert after["status"] == "cleared" and after["cleared_on"] == "2024-06-01"
    assert pd.isna(after["case_ref"]) and after["name"] == before["name"]
    assert after.geometry.equals_exact(before.geometry, 0)
    assert after["created_at"] == before["created_at"]
    assert res.headers["ETag"] == etag_of(app, "retail_points", "RP-04")


def test_patch_moves_a_point(app, web_store):
    tag = etag_of(app, "retail_points", "RP-04")
    res = call(app, "PATCH", "/api/collections/retail_points/items/RP-04", ctype=MERGE,
               body={"geometry": {"type": "Point", "coordinates": [104.125, 19.355]}},
               **{"If-Match": tag})
    assert res.status_code == 200
    g = web_store.read("retail_points", where={"id": "RP-04"}).geometry.iloc[0]
    assert (g.x, g.y) == (104.125, 19.355)


# --- If-Match ------------------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_a_change_without_if_match_is_428_and_with_a_stale_one_412(app, web_store, method):
    role = "admin" if method == "DELETE" else "analyst"
    body = None if method == "DELETE" else {"properties": {"status": "watch"}}
    url = "/api/collections/retail_points/items/RP-01"
    if method == "PUT":
        body = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [104.11, 19.35]},
                "properties": {"source": "x", "type": "diem_ban_le", "status": "watch",
                               "first_seen": "2024-02-15"}}
    before = web_store.data_version("retail_points")
    ctype = MERGE if method == "PATCH" else GEO
    missing = call(app, method, url, role=role, body=body, ctype=ctype)
    assert missing.status_code == 428 and missing.get_json()["code"] == "precondition_required"
    star = call(app, method, url, role=role, body=body, ctype=ctype, **{"If-Match": "*"})
    assert star.status_code == 428
    for stale in ('"0123456789abcdef0123456789abcdef"', "W/" + etag_of(app, "retail_points",
                                                                          "RP-01")):
        res = call(app, method, url, role=role, body=body, ctype=ctype, **{"If-Match": stale})
        assert res.status_code == 412 and res.get_json()["code"] == "precondition_failed"
    assert web_store.data_version("retail_points") == before  # nothing written


def test_the_store_refuses_a_write_at_an_old_version_even_past_the_web_check(web_store):
    spec = get_layer("retail_points")
    frame = web_store.read("retail_points", where={"id": "RP-01"})
    old = row_versions(spec, frame)[0]
    web_store.write("retail_points", frame.assign(name="một"), mode="upsert",
                    expect_version={"RP-01": old})
    with pytest.raises(VersionConflict) as err:
        web_store.write("retail_points", frame.assign(name="hai"), mode="upsert",
                        expect_version={"RP-01": old})
    assert err.value.current != old
    with pytest.raises(VersionConflict):
        web_store.delete("retail_points", ["RP-01"], expect_version={"RP-01": old})
    assert web_store.read("retail_points", where={"id": "RP-01"})["name"].iloc[0] == "một"


# --- delete ------------------------------------------------------------------------------------

def test_delete_is_for_admins_and_answers_204(app, web_store):
    tag = etag_of(app, "retail_points", "RP-06", role="admin")
    refused = call(app, "DELETE", "/api/collections/retail_points/items/RP-06",
                   **{"If-Match": tag})
    assert refused.status_code == 403
    res = call(app, "DELETE", "/api/collections/retail_points/items/RP-06", role="admin",
               **{"If-Match": tag})
    assert res.status_code == 204
    assert not len(web_store.read("retail_points", where={"id": "RP-06"}))
    assert call(app, "GET", "/api/collections/retail_points/items/RP-06").status_code == 404
    detail = json.loads(audit_rows(web_store, "retail_points").iloc[-1]["detail"])
    assert detail["method"] == "DELETE" and detail["deleted"] == 1


# --- validation --------------------------------------------------------------------------------

def test_an_invalid_feature_is_422_listing_each_problem_by_field_in_vietnamese(app, web_store):
    bad = case_feature(kind="smuggling", offenders=-1, date="2999-01-01", colour="đỏ")
    bad["geometry"]["coordinates"] = [106.7, 10.8]  # Hồ Chí Minh City
    count = web_store.count("cases")
    res = call(app, "POST", "/api/collections/cases/items", body=bad)
    assert res.status_code == 422
    body = res.get_json()
    by_field = {p["field"]: p for p in body["problems"]}
    assert {"kind", "offenders", "date", "colour", "geometry"} <= set(by_field)
    assert "Loại vụ" in by_field["kind"]["reason"] and "Bán lẻ trái phép chất ma túy" in by_field["kind"]["reason"]
    assert "ngoài tỉnh Nghệ An" in by_field["geometry"]["reason"]
    assert by_field["offenders"]["code"] == "below_minimum"
    assert body["description"].startswith("chưa lưu")
    en = call(app, "POST", "/api/collections/cases/items?lang=en", body=bad).get_json()
    assert any("not an allowed value" in p["reason"] for p in en["problems"])
    assert web_store.count("cases") == count


def test_a_patch_is_validated_as_the_whole_record_it_makes(app, web_store):
    tag = etag_of(app, "retail_points", "RP-01")
    res = call(app, "PATCH", "/api/collections/retail_points/items/RP-01", ctype=MERGE,
               body={"properties": {"status": None, "cleared_on": "2020-01-01"}},
               **{"If-Match": tag})
    assert res.status_code == 422
    fields = {p["field"] for p in res.get_json()["problems"]}
    assert fields == {"status", "cleared_on"}  # required, and before first_seen


def test_bodies_that_are_not_features_get_400_or_415(app):
    url = "/api/collections/cases/items"
    assert call(app, "POST", url, body=case_feature(), ctype="text/plain").status_code == 415
    res = app.test_client().post(url, data="{nope", content_type=GEO, headers=bearer(app, "analyst"))
    assert res.status_code == 400 and res.get_json()["code"] == "invalid_json"
    assert call(app, "POST", url, body={"type": "FeatureCollection"}).status_code == 400
    crs = call(app, "POST", url, body=case_feature(),
               **{"Content-Crs": "<http://www.opengis.net/def/crs/EPSG/0/32648>"})
    assert crs.status_code == 400 and crs.get_json()["code"] == "unsupported_crs"


# --- who may -------------------------------------------------------------------------------------

def test_a_record_the_role_may_not_read_is_404_for_edits_too(app):
    secret = "/api/collections/retail_points/items/RP-07"
    tag = '"0123456789abcdef0123456789abcdef"'
    for method, body, ctype in (("PATCH", {"properties": {"status": "watch"}}, MERGE),
                                ("PUT", case_feature(), GEO)):
        res = call(app, method, secret, body=body, ctype=ctype, **{"If-Match": tag})
        assert res.status_code == 404
        assert res.get_json() == call(app, method, "/api/collections/retail_points/items/NO",
                                      body=body, ctype=ctype, **{"If-Match": tag}).get_json() \
            | {"description": res.get_json()["description"]}


def test_nobody_sets_a_confidentiality_above_their_clearance(app, web_store):
    res = call(app, "POST", "/api/collections/cases/items",
               body=case_feature(id="C-S", confidentiality="secret"))
    assert res.status_code == 403 and res.get_json()["code"] == "above_clearance"
    assert not len(web_store.read("cases", where={"id": "C-S"}))
    ok = call(app, "POST", "/api/collections/cases/items", role="admin",
              body=case_feature(id="C-S", confidentiality="secret"))
    assert ok.status_code == 201


def test_viewers_anonymous_visitors_and_read_only_layers_are_refused(app):
    new = case_feature()
    crossing = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [104.12, 19.41]},
                "properties": {"source": "x", "kind": "trail", "name": "Lối mòn"}}
    assert call(app, "POST", "/api/collections/border_crossings/items", role="viewer",
                body=crossing).status_code == 403
    assert call(app, "POST", "/api/collections/cases/items", role="viewer",
                body=new).status_code == 404  # viewers do not see cases at all
    assert call(app, "POST", "/api/collections/border_crossings/items", role=None,
                body=crossing).status_code in (400, 401)  # CSRF or sign-in first
    ro = call(app, "POST", "/api/collections/communes/items", role="admin", body=crossing)
    assert ro.status_code == 405 and "OPTIONS" in ro.headers["Allow"]
    assert call(app, "POST", "/api/collections/patrol_plans/items", role="commander",
                body=crossing).status_code == 405
    assert call(app, "POST", "/api/collections/retail_points_per_commune/items",
                role="analyst", body=crossing).status_code == 405


def test_options_tells_each_role_what_it_may_do(app):
    def allow(role, url):
        res = call(app, "OPTIONS", url, role=role)
        return set(res.headers["Allow"].replace(" ", "").split(","))
    items, item = "/api/collections/cases/items", "/api/collections/cases/items/C-01"
    assert "POST" in allow("analyst", items)
    assert allow("analyst", item) >= {"PUT", "PATCH"} and "DELETE" not in allow("analyst", item)
    assert "DELETE" in allow("admin", item)
    assert "POST" not in allow("viewer", "/api/collections/border_crossings/items")
    assert "POST" not in allow("admin", "/api/collections/communes/items")


# --- concurrency: both backends -----------------------------------------------------------------

def _seed(store):
    frame = pd.DataFrame({"id": ["RP-X"], "source": ["t"], "type": ["diem_ban_le"],
                          "status": ["active"], "first_seen": ["2024-01-15"],
                          "commune_code": [MUONG_XEN]})
    import geopandas as gpd
    store.write("retail_points", gpd.GeoDataFrame(
        frame, geometry=[shapely.Point(104.11, 19.35)], crs="EPSG:4326"), mode="append")


@pytest.mark.slow
def test_concurrent_patches_from_one_version_exactly_one_wins_and_nothing_is_lost(any_store,
                                                                                 tmp_path):
    _seed(any_store)
    app = make_app(any_store, tmp_path)
    url = "/api/collections/retail_points/items/RP-X"
    tag = etag_of(app, "retail_points", "RP-X")
    fields = {"name": "Tên mới", "address": "Bản Huồi Xái", "case_ref": "VA-9",
              "last_activity": "2024-03-01", "status": "watch", "geocode_quality": "manual"}
    start = threading.Barrier(len(fields))
    first: dict[str, int] = {}

    def edit(field, value):
        start.wait()
        etag = tag
        for attempt in range(20):
            res = call(app, "PATCH", url, ctype=MERGE, body={"properties": {field: value}},
                       **{"If-Match": etag})
            first.setdefault(field, res.status_code)
            if res.status_code == 200:
                return
            assert res.status_code == 412, res.get_json()
            etag = etag_of(app, "retail_points", "RP-X")  # read again, then repeat the change
        raise AssertionError(f"{field}: never stored")

    threads = [threading.Thread(target=edit, args=kv) for kv in fields.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert sorted(first.values()) == [200] + [412] * (len(fields) - 1)
    row = any_store.read("retail_points", where={"id": "RP-X"}).iloc[0]
    assert {f: row[f] for f in fields} == fields  # every change made it, none overwritten
    edits = [json.loads(d) for d in audit_rows(any_store, "retail_points")["detail"]
             if json.loads(d).get("via") == "ogcapi"]
    assert len(edits) == len(fields)


@pytest.mark.slow
def test_the_store_compare_and_set_lets_one_of_many_writers_through(any_store):
    _seed(any_store)
    spec = get_layer("retail_points")
    frame = any_store.read("retail_points", where={"id": "RP-X"})
    version = row_versions(spec, frame)[0]
    start = threading.Barrier(6)
    outcome: list[str] = []

    def write(i):
        start.wait()
        try:
            any_store.write("retail_points", frame.assign(name=f"người {i}"), mode="upsert",
                            expect_version={"RP-X": version})
            outcome.append(f"ok {i}")
        except VersionConflict:
            outcome.append("conflict")

    threads = [threading.Thread(target=write, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    winners = [o for o in outcome if o.startswith("ok")]
    assert len(winners) == 1 and outcome.count("conflict") == 5
    stored = any_store.read("retail_points", where={"id": "RP-X"})["name"].iloc[0]
    assert stored == "người " + winners[0].split()[1]


# --- the API says so ----------------------------------------------------------------------------

def test_conformance_and_each_roles_openapi_declare_the_edits_it_may_make(app):
    conf = call(app, "GET", "/api/conformance").get_json()["conformsTo"]
    assert any(c.endswith("ogcapi-features-4/1.0/conf/create-replace-delete") for c in conf)
    assert any(c.endswith("ogcapi-features-4/1.0/conf/update") for c in conf)

    def ops(role):
        paths = call(app, "GET", "/api/openapi", role=role).get_json()["paths"]
        return {(p, m) for p, item in paths.items() for m in item if m != "get"}
    analyst, admin, viewer = ops("analyst"), ops("admin"), ops("viewer")
    item = "/collections/cases/items/{featureId}"
    assert {("/collections/cases/items", "post"), (item, "put"), (item, "patch")} <= analyst
    assert (item, "delete") not in analyst and (item, "delete") in admin
    assert not any(p.startswith("/collections/communes") for p, _ in admin)
    assert not any(p.startswith(("/collections/patrol_plans", "/collections/patrol_stops"))
                   for p, _ in admin)
    # issue #20: the tracks as walked are an officers' record layer the field app writes
    assert ("/collections/patrol_tracks/items", "post") in analyst
    assert viewer == set()
