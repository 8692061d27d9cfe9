"""Repeated reads are served from a cache that never shows old data or another role's data.

The OGC API keeps serialised JSON answers keyed by role, URL and the store's data version.
These tests check what a user would notice if that went wrong: a write (by this app or by
anything else using the store) not showing on the next read, a viewer getting an analyst's
page, a restricted read answered without its audit record. Both backends.
"""
from __future__ import annotations

import io
import json

import pytest
import shapely
import geopandas as gpd


from .conftest import ROLES, bearer, make_app, web_frames

ITEMS = "/api/collections/retail_points/items?limit=50"


@pytest.fixture
def data_store(any_store):
    for name, frame in web_frames().items():
        any_store.write(name, frame, mode="replace", user="fixture")
    return any_store


@pytest.fixture
def web_store(data_store):  # the conftest ``app`` on either backend
    return data_store


def get(app, url, role="analyst"):
    res = app.test_client().get(url, headers=bearer(app, role))
    return res


def ids_of(res) -> list[str]:
    return [f["id"] for f in json.loads(res.data)["features"]]


def _without_time(res) -> dict:
    doc = json.loads(res.data)
    doc.pop("timeStamp", None)
    return doc


def _point(id_: str, name: str, lon: float = 104.13, lat: float = 19.35) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame([{"id": id_, "source": "test SYNTHETIC", "type": "diem_ban_le",
                              "status": "active", "first_seen": "2024-05-01", "name": name,
                              "confidentiality": "restricted", "commune_code": "16813"}],
                            geometry=[shapely.Point(lon, lat)], crs="EPSG:4326")


def _reads_audited(store, layer="retail_points") -> list:
    log = store.read("audit_log", where={"action": "read", "layer": layer})
    return [json.loads(ids) for ids in log["ids"]]


# --- the store's data version ----------------------------------------------------------------

def test_every_write_and_delete_moves_the_data_version_and_audit_records_do_not(data_store):
    v0 = data_store.data_version()
    data_store.audit("analyst_user", "read", "retail_points", ["RP-01"], {})
    assert data_store.data_version() == v0
    data_store.write("retail_points", _point("RP-50", "Mới"), mode="append")
    v1 = data_store.data_version()
    data_store.write("retail_points", _point("RP-50", "Đổi tên"), mode="upsert")
    v2 = data_store.data_version()
    data_store.delete("retail_points", ["RP-50"])
    v3 = data_store.data_version()
    data_store.write("retail_points", _point("RP-51", "Thay"), mode="replace")
    v4 = data_store.data_version()
    assert v0 < v1 < v2 < v3 < v4


def test_a_layer_version_moves_only_with_writes_to_that_layer(data_store):
    cases, points = data_store.data_version("cases"), data_store.data_version("retail_points")
    data_store.write("retail_points", _point("RP-50", "Mới"), mode="append")
    assert data_store.data_version("cases") == cases
    assert data_store.data_version("retail_points") > points


def test_all_data_versions_read_at_once_agree_with_each_one_read_alone(data_store):
    from tests.conftest import retail_frame
    data_store.write("retail_points", retail_frame(2, start=700_000))
    every = data_store.data_versions()
    assert every[None] == data_store.data_version() > 0
    for layer in ("retail_points", "cases", "communes", "opium_plots"):
        assert every.get(layer, 0) == data_store.data_version(layer)


def test_deleting_ids_that_are_not_there_keeps_the_data_version(data_store):
    v0 = data_store.data_version()
    assert data_store.delete("retail_points", ["KHÔNG-CÓ"]) == 0
    assert data_store.data_version() == v0


# --- invalidation --------------------------------------------------------------------------

def test_a_repeated_read_is_served_from_the_cache(app):
    first = get(app, ITEMS)
    second = get(app, ITEMS)
    assert first.status_code == second.status_code == 200
    assert _without_time(first) == _without_time(second)
    assert len(app.extensions["geo_pcmt_answer_cache"]) == 1


def test_writes_by_any_path_show_on_the_next_read(app, data_store):
    assert "RP-50" not in ids_of(get(app, ITEMS))
    data_store.write("retail_points", _point("RP-50", "Điểm mới"), mode="append")
    assert "RP-50" in ids_of(get(app, ITEMS))
    one = "/api/collections/retail_points/items/RP-50"
    assert json.loads(get(app, one).data)["properties"]["name"] == "Điểm mới"

    data_store.write("retail_points", _point("RP-50", "Điểm đổi tên"), mode="upsert")
    names = {f["id"]: f["properties"]["name"] for f in json.loads(get(app, ITEMS).data)["features"]}
    assert names["RP-50"] == "Điểm đổi tên"
    assert json.loads(get(app, one).data)["properties"]["name"] == "Điểm đổi tên"

    data_store.delete("retail_points", ["RP-50"])
    assert "RP-50" not in ids_of(get(app, ITEMS))
    assert get(app, one).status_code == 404

    data_store.write("retail_points", _point("RP-99", "Thay cả lớp"), mode="replace")
    assert ids_of(get(app, ITEMS)) == ["RP-99"]
    assert json.loads(get(app, ITEMS).data)["numberMatched"] == 1


def test_an_upload_through_the_web_shows_on_the_next_read(app, data_store, tmp_path):
    get(app, ITEMS)  # warm the cache
    csv = ("id,type,status,first_seen,name,lon,lat,confidentiality\n"
           "RP-77,diem_ban_le,active,2024-03-01,Tải lên,104.12,19.35,restricted\n")
    client = app.test_client()
    res = client.post("/data/upload", headers=bearer(app, "admin"),
                      data={"layer": "retail_points", "file": (io.BytesIO(csv.encode()),
                                                                 "tai.csv")})
    assert res.status_code == 201, res.data[:300]
    assert "RP-77" in ids_of(get(app, ITEMS))


def test_the_collections_extents_follow_writes_to_the_layers_they_come_from(app, data_store):
    def extent(cid):
        doc = get(app, "/api/collections").get_json()
        return {c["id"]: c.get("extent") for c in doc["collections"]}[cid]

    before = extent("communes")
    far = data_store.read("communes", limit=1)
    far["geometry"] = [shapely.MultiPolygon([shapely.box(105.9, 20.1, 106.0, 20.2)])]
    data_store.write("communes", far, mode="upsert")  # a commune drawn further north-east
    after = extent("communes")
    assert after != before
    assert after["spatial"]["bbox"][0][2:] == pytest.approx([106.0, 20.2], abs=1e-5)
    assert extent("retail_points_per_commune") == after  # counts take the communes' extent


# --- roles -----------------------------------------------------------------------------------

@pytest.mark.parametrize("url", [
    "/api/collections",
    "/api/collections/border_crossings/items",
    "/api/collections/border_crossings/items/BC-3",
    "/api/collections/retail_points/items?limit=50",
    "/api/collections/retail_points/items/RP-07",
])
@pytest.mark.slow  # over ~0.5 s: out of the quick loop
def test_a_role_never_gets_an_answer_cached_for_another_role(data_store, tmp_path, url):
    """Every role asks after every higher role has been answered; each must get exactly
    what it gets from an app without a cache."""
    cached = make_app(data_store, tmp_path / "cached")
    plain = make_app(data_store, tmp_path / "plain", API_ANSWER_CACHE_BYTES=0)
    answers = {}
    for role in reversed(ROLES):  # admin first, viewer last
        got, want = get(cached, url, role), get(plain, url, role)
        assert got.status_code == want.status_code, role
        if want.status_code == 200:
            assert _without_time(got) == _without_time(want), role
        answers[role] = json.dumps([got.status_code, _without_time(got)], sort_keys=True)
    assert "geo_pcmt_answer_cache" not in plain.extensions
    assert len(set(answers.values())) > 1  # the roles do see different things here


def test_a_viewer_does_not_see_restricted_crossings_after_an_analyst_did(app):
    url = "/api/collections/border_crossings/items"
    assert "BC-3" in ids_of(get(app, url, "analyst"))
    assert "BC-3" not in ids_of(get(app, url, "viewer"))
    assert get(app, url + "/BC-3", "analyst").status_code == 200
    assert get(app, url + "/BC-3", "viewer").status_code == 404


# --- audit -----------------------------------------------------------------------------------

def test_every_restricted_read_is_audited_also_when_served_from_the_cache(app, data_store):
    before = len(_reads_audited(data_store))
    pages = [get(app, ITEMS) for _ in range(3)]
    one = [get(app, "/api/collections/retail_points/items/RP-01") for _ in range(2)]
    audited = _reads_audited(data_store)[before:]
    assert len(audited) == 5
    assert audited[0] == audited[1] == audited[2] == ids_of(pages[0])
    assert audited[3] == audited[4] == ["RP-01"]
    assert all(r.status_code == 200 for r in pages + one)


def test_the_audit_log_itself_is_never_served_stale(app):
    url = "/api/collections/audit_log/items?limit=10000"
    first = json.loads(get(app, url, "admin").data)["numberMatched"]
    second = json.loads(get(app, url, "admin").data)["numberMatched"]
    assert second > first  # the first read of the log was itself recorded


def test_a_cached_page_carries_the_time_of_its_own_answer(app):
    get(app, ITEMS)
    stamp = json.loads(get(app, ITEMS).data)["timeStamp"]
    assert stamp[:2] == "20" and stamp.endswith("Z") and len(stamp) == 20


def test_audit_records_from_many_threads_at_once_are_all_committed(data_store):
    from concurrent.futures import ThreadPoolExecutor
    before = len(_reads_audited(data_store, "cases"))

    def read(k):
        data_store.audit(f"user_{k}", "read", "cases", [f"C-{k:02d}"], {"k": k})

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(read, range(40)))
    audited = _reads_audited(data_store, "cases")[before:]
    assert sorted(i[0] for i in audited) == sorted(f"C-{k:02d}" for k in range(40))


def test_many_callers_of_one_missing_answer_build_it_once_and_share_it():
    import threading
    import time as _time
    from geo_pcmt.web.ogcapi import AnswerCache, CachedAnswer
    cache = AnswerCache(1 << 20)
    builds, got = [], []

    def caller():
        hit, claimed = cache.get_or_claim(("items", "k"))
        if claimed:
            builds.append(1)
            _time.sleep(0.2)  # a slow page: the others must wait, not build it too
            answer = CachedAnswer(b'{"features": []}', "application/geo+json")
            cache.put(("items", "k"), answer)
            hit = answer
        got.append(hit)

    threads = [threading.Thread(target=caller) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(builds) == 1 and len(got) == 8 and all(h is got[0] for h in got)
    # a builder that fails releases its claim: the next caller builds instead of waiting
    assert cache.get_or_claim(("items", "other")) == (None, True)
    cache.release(("items", "other"))
    assert cache.get_or_claim(("items", "other"), wait_s=5) == (None, True)
