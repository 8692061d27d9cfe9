"""Keyset paging (``after``) and the clearance index, on both stores and through the API.

Pages by cursor must concatenate to exactly the rows of one read, stay exact when rows are
added between pages, never show a row above the reader's clearance, and keep
``numberMatched`` and the links right with filters; ``offset`` keeps working for the
clients that send it (GDAL, QGIS).
"""
from __future__ import annotations

import json
import sqlite3

import geopandas as gpd
import pytest
import shapely

from geo_pcmt import access
from geo_pcmt.store import GeoPackageStore, clearance
from geo_pcmt.store.filters import Compare, Filter
from geo_pcmt.layers import get_layer
from tests.conftest import bearer, retail_frame

LEVELS = ("public", "restricted", "secret")


def mixed(n: int, start: int = 0) -> gpd.GeoDataFrame:
    """``n`` retail points; every third secret, every fifth public, the rest restricted."""
    frame = retail_frame(n, start)
    frame["confidentiality"] = ["secret" if i % 3 == 0 else "public" if i % 5 == 0
                                else "restricted" for i in range(start, start + n)]
    frame["status"] = ["active" if i % 2 else "cleared" for i in range(start, start + n)]
    return frame


def pages(store, role: str, limit: int, **query) -> list[list[str]]:
    """Every page of ``retail_points`` as ``role``, following the cursor."""
    out, after = [], None
    while True:
        page = access.read(store, "retail_points", role=role, columns=["id"], limit=limit,
                           after=after, **query)
        if not len(page):
            return out
        out.append(page["id"].tolist())
        after = page.attrs["last_fid"]


# --- stores ------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["viewer_public", "analyst", "admin"])
def test_cursor_pages_concatenate_to_exactly_one_read_on_both_stores(any_empty_store, role):
    store = any_empty_store
    store.write("retail_points", mixed(230), mode="append")
    if role == "viewer_public":  # a viewer may not read retail points: the one-level scope
        role, query = "analyst", {"where": {"confidentiality": "public"}}
    else:
        query = {}
    whole = access.read(store, "retail_points", role=role, columns=["id"], **query)["id"]
    got = pages(store, role, 17, **query)
    flat = [i for p in got for i in p]
    assert flat == whole.tolist() and len(set(flat)) == len(flat)
    assert all(len(p) == 17 for p in got[:-1])
    seen = store.read("retail_points", columns=["id", "confidentiality"])
    levels = dict(zip(seen["id"], seen["confidentiality"]))
    if role != "admin":
        assert "secret" not in {levels[i] for i in flat}
        assert len(flat) == sum(v != "secret" for v in levels.values()) or query


def test_cursor_pages_with_bbox_and_filter_match_one_read(any_empty_store):
    store = any_empty_store
    store.write("retail_points", mixed(300), mode="append")
    box = (104.17, 19.41, 104.175, 19.412)
    flt = Filter.of(Compare("status", "=", "active"), get_layer("retail_points"))
    for query in ({"bbox": box}, {"filter": flt}, {"bbox": box, "filter": flt}):
        whole = access.read(store, "retail_points", role="analyst", columns=["id"], **query)
        flat = [i for p in pages(store, "analyst", 11, **query) for i in p]
        assert flat == whole["id"].tolist() and len(flat) > 11


def test_rows_added_between_pages_are_neither_repeated_nor_missed(any_empty_store):
    store = any_empty_store
    store.write("retail_points", mixed(100), mode="append")
    first = access.read(store, "retail_points", role="analyst", columns=["id"], limit=40)
    store.write("retail_points", mixed(50, start=100), mode="append")  # a new upload
    flat = first["id"].tolist()
    after = first.attrs["last_fid"]
    while True:
        page = access.read(store, "retail_points", role="analyst", columns=["id"], limit=40,
                           after=after)
        if not len(page):
            break
        flat += page["id"].tolist()
        after = page.attrs["last_fid"]
    whole = access.read(store, "retail_points", role="analyst", columns=["id"])["id"].tolist()
    assert flat == whole and len(set(flat)) == len(flat)
    assert {f"RP-{i:06d}" for i in range(100, 150) if i % 3} <= set(flat)


def test_a_cursor_past_the_last_row_reads_nothing_and_bad_cursors_are_refused(any_empty_store):
    store = any_empty_store
    store.write("retail_points", mixed(10), mode="append")
    page = store.read("retail_points", limit=100)
    assert len(store.read("retail_points", after=page.attrs["last_fid"])) == 0
    assert store.read("retail_points", after=10**9).attrs["last_fid"] is None
    for bad in (-1, "3", 2.5, True):
        with pytest.raises(ValueError, match="after"):
            store.read("retail_points", after=bad)


def test_the_analysts_scope_is_read_from_the_clearance_index_in_fid_order(store):
    """The multi-level scope used to sort every matching row for each page (316 ms at
    offset 99 000 of 100 000 points); now an index hands the rows over in fid order."""
    store.write("retail_points", mixed(50), mode="append")
    scope = access.row_filter("analyst", "retail_points")
    assert clearance.is_cleared_scope("confidentiality", scope["confidentiality"])
    sql = (f"SELECT fid FROM retail_points WHERE {clearance.sqlite_condition()} "
           "AND fid > 10 ORDER BY fid LIMIT 5")
    with sqlite3.connect(store.path) as conn:
        plan = " ".join(r[-1] for r in conn.execute("EXPLAIN QUERY PLAN " + sql))
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert "ix_retail_points_clearance" in plan and "TEMP B-TREE" not in plan
    # an existing store gains the index at its next init
    with sqlite3.connect(store.path) as conn:
        conn.execute("DROP INDEX ix_retail_points_clearance")
    again = GeoPackageStore(store.path)
    again.init(["retail_points"])
    with sqlite3.connect(store.path) as conn:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "ix_retail_points_clearance" in names


def test_postgis_has_a_partial_index_per_clearance_scope(any_empty_store):
    store = any_empty_store
    if isinstance(store, GeoPackageStore):
        pytest.skip("PostGIS only")
    import sqlalchemy as sa
    with store._connect() as conn:
        names = set(conn.execute(sa.text(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'retail_points'")).scalars())
    assert {"ix_retail_points_upto_public", "ix_retail_points_upto_restricted"} <= names


# --- the API -------------------------------------------------------------------------------------

def follow(client, url: str, headers: dict) -> tuple[list[str], list[dict]]:
    ids, docs = [], []
    while url:
        res = client.get(url, headers=headers)
        assert res.status_code == 200, res.data[:300]
        doc = res.get_json()
        docs.append(doc)
        ids += [f["id"] for f in doc["features"]]
        nxt = [l["href"] for l in doc["links"] if l["rel"] == "next"]
        url = nxt[0].replace("http://localhost", "") if nxt else None
    return ids, docs


@pytest.fixture
def paged_app(app, web_store):
    web_store.write("retail_points", mixed(120, start=100), mode="append")
    return app


@pytest.mark.parametrize("query", ["", "&bbox=104.0,19.3,104.2,19.42",
                                   "&filter=status%3D'active'", "&datetime=2024-01-01/..",
                                   "&status=active&bbox=104.0,19.3,104.2,19.42"])
def test_next_links_carry_a_cursor_and_visit_every_visible_feature_once(paged_app, query):
    client, head = paged_app.test_client(), bearer(paged_app, "analyst")
    whole = client.get(f"/api/collections/retail_points/items?limit=10000{query}",
                       headers=head).get_json()
    ids, docs = follow(client, f"/api/collections/retail_points/items?limit=9{query}", head)
    assert ids == [f["id"] for f in whole["features"]] and len(ids) > 9
    assert {d["numberMatched"] for d in docs} == {whole["numberMatched"]} == {len(ids)}
    nexts = [l["href"] for d in docs for l in d["links"] if l["rel"] == "next"]
    assert len(nexts) == len(docs) - 1
    assert all("after=" in h and "offset=" not in h for h in nexts)
    assert not any(f["properties"].get("confidentiality") == "secret"
                   for d in docs for f in d["features"])


def test_offset_pages_still_work_and_hand_over_to_the_cursor(paged_app):
    client, head = paged_app.test_client(), bearer(paged_app, "analyst")
    whole = client.get("/api/collections/retail_points/items?limit=10000",
                       headers=head).get_json()["features"]
    doc = client.get("/api/collections/retail_points/items?limit=7&offset=30",
                     headers=head).get_json()
    assert [f["id"] for f in doc["features"]] == [f["id"] for f in whole[30:37]]
    assert any(l["rel"] == "prev" and "offset=23" in l["href"] for l in doc["links"])
    nxt = [l["href"] for l in doc["links"] if l["rel"] == "next"][0].replace(
        "http://localhost", "")
    after = client.get(nxt, headers=head).get_json()
    assert [f["id"] for f in after["features"]] == [f["id"] for f in whole[37:44]]


def test_a_cursor_with_an_offset_or_a_malformed_cursor_is_a_400(paged_app):
    client, head = paged_app.test_client(), bearer(paged_app, "analyst")
    for query, code in (("after=5&offset=3", "invalid_parameter"), ("after=abc", "invalid_cursor"),
                        ("after=-4", "invalid_cursor")):
        res = client.get(f"/api/collections/retail_points/items?{query}", headers=head)
        assert res.status_code == 400 and json.loads(res.data)["code"] == code
    res = client.get("/api/collections/retail_points_per_commune/items?after=3", headers=head)
    assert res.status_code == 400


def test_cursor_pages_are_audited_with_their_cursor(paged_app, web_store):
    client, head = paged_app.test_client(), bearer(paged_app, "analyst")
    ids, _ = follow(client, "/api/collections/retail_points/items?limit=50", head)
    log = web_store.read("audit_log")
    reads = log[(log["action"] == "read") & (log["layer"] == "retail_points")]
    details = [json.loads(d) for d in reads["detail"]]
    assert sum(d["returned"] for d in details) == len(ids)
    assert sum("after" in d["query"] for d in details) == len(details) - 1


def test_the_openapi_document_offers_the_cursor_on_record_layers_only(app):
    doc = app.test_client().get("/api/openapi?f=json", headers=bearer(app, "analyst")).get_json()

    def names(path):
        refs = [p["$ref"].rsplit("/", 1)[-1] for p in doc["paths"][path]["get"]["parameters"]
                if "$ref" in p]
        return set(refs)
    assert "after" in names("/collections/retail_points/items")
    assert "after" not in names("/collections/retail_points_per_commune/items")
    assert doc["components"]["parameters"]["after"]["in"] == "query"
