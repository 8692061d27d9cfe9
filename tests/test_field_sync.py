"""Offline field capture, the server side: snapshot, sync batches, merges, conflicts.

On the small web data set (RP-00 … RP-12: RP-01 restricted and active in Mường Xén, RP-07
secret). Each edit is sent as a phone would after days offline: its base version and the
base values of the fields it changes.
"""
from __future__ import annotations

import base64
import io
import json
import math
import uuid

import numpy as np
import pytest
from PIL import Image

from geo_pcmt import access
from geo_pcmt.sync.merge import AGREE_K, distance_m, fixes_agree, same, three_way
from tests.conftest import bearer, csrf_of, login

RP = "/api/collections/retail_points/items"


def call(app, method, url, role="analyst", body=None):
    kw = {"headers": bearer(app, role)}
    if body is not None:
        kw["data"] = json.dumps(body, ensure_ascii=False)
        kw["content_type"] = "application/json"
    return app.test_client().open(url, method=method, **kw)


def snapshot(app, role="analyst", layers="retail_points"):
    res = call(app, "GET", f"/api/field/snapshot?layers={layers}", role)
    assert res.status_code == 200, res.get_json()
    return res.get_json()


def feature(snap, fid, layer="retail_points"):
    return next(f for f in snap["layers"][layer]["features"] if f["id"] == fid)


def update(snap_feature, changes, *, layer="retail_points", geometry=None, **extra):
    """An update edit made on a phone from ``snap_feature`` as it was in its snapshot."""
    base = {k: snap_feature["properties"].get(k) for k in changes}
    if geometry is not None:
        base["geometry"] = snap_feature["geometry"]
    return {"edit_id": str(uuid.uuid4()), "layer": layer, "op": "update",
            "id": snap_feature["id"], "base_version": snap_feature["version"], "base": base,
            "changes": changes, "geometry": geometry,
            "recorded_at": "2026-03-02T09:15:00+07:00", "accuracy_m": 8.5, **extra}


def sync(app, edits, role="analyst", device="ab12"):
    res = call(app, "POST", "/api/field/sync", role, {"device": device, "edits": edits})
    assert res.status_code == 200, res.get_json()
    return res.get_json()["results"]


def record(store, fid, layer="retail_points"):
    return access.read(store, layer, role="admin", where={"id": fid}).iloc[0]


# --- the merge, pure ---------------------------------------------------------------------------

def test_merge_takes_fields_the_server_left_alone_and_keeps_both_sides_of_a_clash():
    base = {"status": "active", "name": "Điểm 1", "last_activity": "2026-01-01"}
    server = {"status": "watch", "name": "Điểm 1", "last_activity": "2026-02-01"}
    phone = {"status": "cleared", "name": "Quán bà Lan", "last_activity": "2026-02-01"}
    m = three_way(base, server, phone)
    assert m.take == {"name": "Quán bà Lan"}          # server kept the base: phone wins
    assert m.same == ["last_activity"]                # both made the same change
    assert m.conflicts == {"status": ("active", "watch", "cleared")}
    # no known base for a field: merges only when the values already agree
    assert three_way({}, {"name": "A"}, {"name": "B"}).conflicts == {"name": (None, "A", "B")}
    assert three_way({}, {"name": "A"}, {"name": "A"}).same == ["name"]


def test_merge_compares_numbers_text_and_geometry_as_values():
    assert same(3, "3") and same(2.0, 2) and same(None, "") and not same(0, None)
    a = {"type": "Point", "coordinates": [104.1, 19.35]}
    assert same(a, {"type": "Point", "coordinates": [104.100000001, 19.35]})
    assert not same(a, {"type": "Point", "coordinates": [104.1002, 19.35]})
    ring = [[104.1, 19.3], [104.2, 19.3], [104.2, 19.4], [104.1, 19.3]]
    poly = {"type": "Polygon", "coordinates": [ring]}
    assert same(poly, {"type": "Polygon", "coordinates": [ring[1:] + ring[1:2]]})  # start moved
    moved = {"type": "Point", "coordinates": [104.11, 19.35]}
    m = three_way({"geometry": a, "status": "active"}, {"geometry": a, "status": "watch"},
                  {"geometry": moved})
    assert m.take == {"geometry": moved} and not m.conflicts


def test_a_field_sent_at_the_value_the_phone_saw_is_no_change_and_the_server_stands():
    m = three_way({"status": "watch", "name": "A"}, {"status": "re-emerged", "name": "B"},
                  {"status": "watch", "name": "C"})
    assert m.same == ["status"] and m.conflicts == {"name": ("A", "B", "C")} and not m.take


def test_a_later_activity_date_and_a_point_within_the_gps_error_need_nobody():
    later = three_way({"last_activity": "2026-03-01"}, {"last_activity": "2026-03-04"},
                      {"last_activity": "2026-03-06"})
    assert later.take == {"last_activity": "2026-03-06"} and not later.conflicts
    earlier = three_way({"last_activity": "2026-03-01"}, {"last_activity": "2026-03-04"},
                        {"last_activity": "2026-03-02"})
    assert earlier.same == ["last_activity"] and not earlier.take
    base = {"type": "Point", "coordinates": [104.1, 19.35]}
    server = {"type": "Point", "coordinates": [104.1001, 19.35]}
    five_m = {"type": "Point", "coordinates": [104.10015, 19.35]}   # ~5 m from the server's
    kw = {"base": {"geometry": base}, "server": {"geometry": server},
          "phone": {"geometry": five_m}}
    assert three_way(**kw, accuracy_m=8).same == ["geometry"]
    assert three_way(**kw, accuracy_m=2).conflicts       # 5.3 m apart > 1.621·√(2²+2²) = 4.6 m
    # the phone's own small correction (server unchanged) is always taken
    assert three_way({"geometry": base}, {"geometry": base}, {"geometry": five_m},
                     accuracy_m=50).take == {"geometry": five_m}


# --- snapshot ----------------------------------------------------------------------------------

def _east(metres: float) -> dict:
    """A point ``metres`` east of (104.1, 19.35), as :func:`distance_m` measures."""
    step = distance_m(_P0, {"type": "Point", "coordinates": [104.1001, 19.35]}) / 1e-4
    return {"type": "Point", "coordinates": [104.1 + metres / step, 19.35]}


_P0 = {"type": "Point", "coordinates": [104.1, 19.35]}


@pytest.mark.parametrize("phone_acc,server_acc", [(6, 8), (4, 15), (10, 10)])
def test_two_gps_fixes_agree_up_to_the_95_percent_bound_and_no_further(phone_acc, server_acc):
    base = {"type": "Point", "coordinates": [104.09, 19.35]}      # the geocoded point
    bound = AGREE_K * math.hypot(phone_acc, server_acc)
    for d, agree in ((bound - 0.05, True), (bound + 0.05, False)):
        m = three_way({"geometry": base}, {"geometry": _P0}, {"geometry": _east(d)},
                      accuracy_m=phone_acc, server_accuracy_m=server_acc)
        assert (not m.conflicts) is agree, (d, m)
        if agree:   # the more accurate fix is kept (the server's on a tie), and why is said
            phone_better = phone_acc < server_acc
            assert (m.take == {"geometry": _east(d)}) is phone_better
            assert (m.same == ["geometry"]) is not phone_better
            assert f"{d:.1f} m apart" in m.notes["geometry"]
        else:
            assert m.conflicts["geometry"][1:] == (_P0, _east(d)) and not m.notes


def test_the_gps_bound_is_the_rayleigh_95_percent_of_two_68_percent_radii():
    # σ from a 68 % radius, the difference of two fixes Rayleigh with σ² = σ1² + σ2²: the
    # share within k·√(a1² + a2²) is 95 % (checked by drawing fixes)
    rng = np.random.default_rng(5)
    a1, a2 = rng.uniform(4, 15, 200_000), rng.uniform(4, 15, 200_000)
    s1, s2 = a1 / math.sqrt(-2 * math.log(0.32)), a2 / math.sqrt(-2 * math.log(0.32))
    one = rng.normal(size=(200_000, 2)) * s1[:, None]
    assert abs((np.hypot(*one.T) <= a1).mean() - 0.68) < 0.005        # a is the 68 % radius
    diff = one - rng.normal(size=(200_000, 2)) * s2[:, None]
    assert abs((np.hypot(*diff.T) <= AGREE_K * np.hypot(a1, a2)).mean() - 0.95) < 0.003
    assert fixes_agree(16.2, 6, 8) and not fixes_agree(16.3, 6, 8)


def test_without_the_phone_accuracy_two_moves_are_a_conflict_and_unknown_server_uses_it():
    base = {"type": "Point", "coordinates": [104.09, 19.35]}
    kw = {"base": {"geometry": base}, "server": {"geometry": _P0}, "phone": {"geometry": _east(3)}}
    assert three_way(**kw).conflicts                                  # no accuracy at all
    assert not three_way(**kw, accuracy_m=2).conflicts              # 3 m ≤ 1.621·√8 = 4.6 m
    assert three_way({"geometry": base}, {"geometry": _P0}, {"geometry": _east(4.7)},
                     accuracy_m=2).conflicts


def test_snapshot_has_each_feature_with_its_version_the_fields_and_the_mark(app, web_store):
    snap = snapshot(app, layers="retail_points,cases")
    rp01 = feature(snap, "RP-01")
    etag = call(app, "GET", f"{RP}/RP-01").headers["ETag"].strip('"')
    assert rp01["version"] == etag
    ids = {f["id"] for f in snap["layers"]["retail_points"]["features"]}
    assert "RP-01" in ids and "RP-07" not in ids          # secret: above an analyst
    status = next(f for f in snap["layers"]["retail_points"]["fields"] if f["name"] == "status")
    assert status["label_vi"] == "Tình trạng" and "cleared" in status["choices"]
    assert snap["classification"] == {"mark": "MẬT", "level": "restricted"}
    assert len(snap["layers"]["cases"]["features"]) == 20
    log = web_store.read("audit_log")
    assert ((log["action"] == "read") & (log["layer"] == "retail_points")
            & log["detail"].str.contains("field_snapshot")).any()


def test_field_api_is_for_analysts_and_above(app):
    assert call(app, "GET", "/api/field/snapshot", None).status_code == 401
    assert call(app, "GET", "/api/field/snapshot", "viewer").status_code == 403
    assert call(app, "POST", "/api/field/sync", "viewer",
                {"device": "x", "edits": []}).status_code == 403
    assert call(app, "GET", "/api/field/snapshot", "commander").status_code == 200
    assert call(app, "GET", "/api/field/snapshot?layers=audit_log").status_code == 400
    assert call(app, "GET", "/api/field/conflicts", "viewer").status_code == 403


def test_a_session_sync_needs_the_csrf_token(app):
    client = app.test_client()
    login(client, "analyst_user")
    body = json.dumps({"device": "ab12", "edits": []})
    refused = client.post("/api/field/sync", data=body, content_type="application/json")
    assert refused.status_code == 400 and refused.get_json()["code"] == "csrf_failed"
    ok = client.post("/api/field/sync", data=body, content_type="application/json",
                     headers={"X-CSRF-Token": csrf_of(client)})
    assert ok.status_code == 200 and ok.get_json() == {"results": []}


# --- sync: apply, merge, conflict --------------------------------------------------------------

def test_two_phones_changing_different_fields_both_land(app, web_store):
    snap = snapshot(app)
    first = sync(app, [update(feature(snap, "RP-01"), {"status": "watch"})], device="a001")
    second = sync(app, [update(feature(snap, "RP-01"), {"name": "Quán bà Lan"})],
                  device="b002")
    assert first[0]["status"] == "applied" and second[0]["status"] == "merged"
    row = record(web_store, "RP-01")
    assert row["status"] == "watch" and row["name"] == "Quán bà Lan"
    assert second[0]["version"] == call(app, "GET", f"{RP}/RP-01").headers["ETag"].strip('"')


def test_the_same_field_to_different_values_is_a_stored_conflict_the_rest_merges(app,
                                                                                 web_store):
    snap = snapshot(app)
    sync(app, [update(feature(snap, "RP-01"), {"status": "watch"})], device="a001")
    late = update(feature(snap, "RP-01"), {"status": "re-emerged", "name": "Quán mới"})
    result = sync(app, [late], device="b002")[0]
    assert result["status"] == "conflict" and result["conflict_id"]
    row = record(web_store, "RP-01")
    assert row["status"] == "watch" and row["name"] == "Quán mới"  # merged, status kept
    listed = call(app, "GET", "/api/field/conflicts").get_json()
    c = next(c for c in listed["conflicts"] if c["id"] == result["conflict_id"])
    assert c["fields"] == ["status"] and c["device"] == "b002"
    assert (c["base"], c["server"], c["phone"]) == ({"status": "active"}, {"status": "watch"},
                                                    {"status": "re-emerged"})
    # the same value from both sides is no conflict
    again = sync(app, [update(feature(snap, "RP-01"), {"status": "watch"})])[0]
    assert again["status"] == "merged"


def test_update_of_a_record_deleted_on_the_server_is_kept_as_a_conflict(app, web_store):
    snap = snapshot(app)
    tag = call(app, "GET", f"{RP}/RP-03").headers["ETag"]
    gone = app.test_client().delete(f"{RP}/RP-03", headers={**bearer(app, "admin"),
                                                            "If-Match": tag})
    assert gone.status_code == 204
    result = sync(app, [update(feature(snap, "RP-03"), {"status": "watch"})])[0]
    assert result["status"] == "conflict"
    c = next(c for c in call(app, "GET", "/api/field/conflicts").get_json()["conflicts"]
             if c["id"] == result["conflict_id"])
    assert c["fields"] == ["_record"] and c["server"] == {"_record": "deleted"}
    assert c["phone"]["_record"] == {"status": "watch"}


def test_a_stale_delete_is_a_conflict_and_a_fresh_one_deletes(app, web_store):
    snap = snapshot(app, "admin")
    sync(app, [update(feature(snap, "RP-04"), {"status": "watch"})])
    stale = {"edit_id": str(uuid.uuid4()), "layer": "retail_points", "op": "delete",
             "id": "RP-04", "base_version": feature(snap, "RP-04")["version"]}
    assert sync(app, [stale], "admin")[0]["status"] == "conflict"
    assert web_store.count("retail_points", where={"id": "RP-04"}) == 1
    fresh = {**stale, "edit_id": str(uuid.uuid4()), "id": "RP-06",
             "base_version": feature(snap, "RP-06")["version"]}
    assert sync(app, [fresh], "admin")[0]["status"] == "applied"
    assert web_store.count("retail_points", where={"id": "RP-06"}) == 0
    refused = sync(app, [{**fresh, "edit_id": str(uuid.uuid4()), "id": "RP-11"}])[0]
    assert refused["status"] == "rejected" and refused["problems"][0]["code"] == "forbidden"


def _create(fid, **props):
    return {"edit_id": str(uuid.uuid4()), "layer": "cases", "op": "create", "id": fid,
            "base_version": None,
            "changes": {"source": "thực địa", "date": "2026-03-01", "kind": "retail",
                        "offenders": 1, **props},
            "geometry": {"type": "Point", "coordinates": [104.13, 19.40]},
            "recorded_at": "2026-03-01T08:00:00+07:00"}


def test_creates_validate_as_uploads_and_a_taken_id_merges_field_by_field(app, web_store):
    fid = "cases-20260301-ab12-1"
    made = sync(app, [_create(fid)])[0]
    assert made["status"] == "applied"
    row = record(web_store, fid, "cases")
    assert row["commune_code"] == "16813" and row["confidentiality"] == "restricted"
    assert sync(app, [_create(fid)])[0]["status"] == "merged"       # same values again
    clash = sync(app, [_create(fid, offenders=3)])[0]
    assert clash["status"] == "conflict"
    assert record(web_store, fid, "cases")["offenders"] == 1
    bad = sync(app, [_create("cases-20260301-ab12-2", kind="smuggling")])[0]
    assert bad["status"] == "rejected"
    assert bad["problems"][0]["field"] == "kind" and bad["problems"][0]["reason"]
    assert web_store.count("cases", where={"id": "cases-20260301-ab12-2"}) == 0


def test_a_moved_point_merges_with_a_status_changed_in_the_office(app, web_store):
    snap = snapshot(app)
    moved = {"type": "Point", "coordinates": [104.1123, 19.3531]}
    assert sync(app, [update(feature(snap, "RP-01"), {"status": "watch"})])[0]["status"] \
        == "applied"
    result = sync(app, [update(feature(snap, "RP-01"), {}, geometry=moved)])[0]
    assert result["status"] == "merged"
    row = record(web_store, "RP-01")
    assert row["status"] == "watch"
    assert (round(row.geometry.x, 6), round(row.geometry.y, 6)) == (104.1123, 19.3531)


def _fix_near(point: dict, metres_east: float) -> dict:
    x, y = point["coordinates"]
    return {"type": "Point", "coordinates": [x + metres_east / (111_320.0 * math.cos(
        math.radians(y))), y]}


def test_two_phones_fixing_one_place_merge_with_the_stored_fixs_own_accuracy(app, web_store):
    """Phone A's fix (±12 m) is stored; phone B, from the same old snapshot, sends a fix
    10 m away at ±3 m: agreeing only with A's stored accuracy (bound 20 m; with B's ±3 m
    for both, 6.9 m), so B's better fix is kept and the audit says why. A third phone 40 m
    away is another place: a conflict."""
    snap = snapshot(app)
    f = feature(snap, "RP-01")
    there = _fix_near(f["geometry"], 25.0)
    a = update(f, {}, geometry=there, accuracy_m=12.0)
    assert sync(app, [a], device="aaaa")[0]["status"] == "applied"
    b = update(f, {}, geometry=_fix_near(there, 10.0), accuracy_m=3.0)
    result = sync(app, [b], device="bbbb")[0]
    assert result["status"] == "merged", result
    row = record(web_store, "RP-01")
    assert round(row.geometry.x, 7) == round(b["geometry"]["coordinates"][0], 7)
    log = web_store.read("audit_log")
    why = log[log["detail"].str.contains(b["edit_id"]) & (log["layer"] == "retail_points")]
    assert why["detail"].str.contains("10.0 m apart").any()
    assert why["detail"].str.contains("kept the phone's fix").any()
    # B's fix (±3 m) is now the stored one: a fix 12 m off at ±3 m no longer agrees
    c = update(f, {}, geometry=_fix_near(there, 22.0), accuracy_m=3.0)
    result = sync(app, [c], device="cccc")[0]
    assert result["status"] == "conflict"
    # one by one (the careful path) reads the same stored accuracy
    d = update(f, {}, geometry=_fix_near(there, 12.0), accuracy_m=3.0)
    from geo_pcmt.sync.apply import Writer, apply_edit
    from geo_pcmt.sync.edits import parse_edit
    out, _ = apply_edit(Writer(web_store, "an", "analyst", "dddd"), parse_edit(d))
    assert out.status == "merged"           # 2 m from B's fix: within 1.621·√(3²+3²)
    logged = access.read(web_store, "field_edits", role="admin",
                         where={"id": [a["edit_id"], b["edit_id"]]})
    assert sorted(logged["accuracy_m"]) == [3.0, 12.0]
    # a worse fix of the same place: the stored one stays, nothing written, the log says why
    e = update(f, {}, geometry=there, accuracy_m=15.0)
    version = web_store.data_version()
    result = sync(app, [e], device="eeee")[0]
    assert result["status"] == "merged" and "notes" not in result
    log = web_store.read("audit_log")
    why = log[(log["layer"] == "field_edits") & log["detail"].str.contains(e["edit_id"])]
    assert why["detail"].str.contains("kept the server's fix").any()
    assert round(record(web_store, "RP-01").geometry.x, 7) == \
        round(b["geometry"]["coordinates"][0], 7)    # B's (d tied with it: the server's kept)
    assert version < web_store.data_version()  # (the field_edits row is a write)


# --- idempotency and audit ----------------------------------------------------------------------

def test_a_resent_batch_answers_duplicate_and_writes_nothing(app, web_store):
    snap = snapshot(app)
    edits = [update(feature(snap, "RP-01"), {"status": "watch"}),
             update(feature(snap, "RP-00"), {"name": "Tên mới"}), _create("cases-x-ab12-9")]
    first = sync(app, edits)
    version, audits = web_store.data_version(), len(web_store.read("audit_log"))
    again = sync(app, edits + edits[:1])
    assert [r["status"] for r in again] == ["duplicate"] * 4
    assert [r["version"] for r in again[:3]] == [r["version"] for r in first]
    assert web_store.data_version() == version
    assert len(web_store.read("audit_log")) == audits


def test_the_audit_log_holds_every_edit(app, web_store):
    snap = snapshot(app)
    edits = [update(feature(snap, "RP-01"), {"status": "watch"}),
             update(feature(snap, "RP-01"), {"status": "cleared", "cleared_on": "2026-02-01"}),
             update(feature(snap, "RP-02"), {"status": "nonsense"}), _create("cases-y-ab12-1")]
    results = sync(app, edits)
    assert [r["status"] for r in results] == ["applied", "conflict", "rejected", "applied"]
    log = web_store.read("audit_log")
    logged = set()
    for ids in log.loc[log["layer"] == "field_edits", "ids"]:
        logged.update(json.loads(ids))
    assert {e["edit_id"] for e in edits} <= logged
    writes = log[log["layer"].isin(["retail_points", "cases"])]
    assert writes["detail"].str.contains(edits[0]["edit_id"]).any()
    assert writes["detail"].str.contains(edits[3]["edit_id"]).any()


# --- photos -------------------------------------------------------------------------------------

def _jpeg(width, height) -> str:
    image = Image.merge("RGB", [Image.effect_noise((width, height), 10),
                                Image.linear_gradient("L").resize((width, height)),
                                Image.effect_mandelbrot((width, height), (-2, -1.5, 1, 1.5), 60)])
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92)
    return "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode()


def test_a_photo_is_kept_resized_at_the_records_level(app, web_store):
    snap = snapshot(app)
    big = _jpeg(2400, 1800)
    assert len(big) > 600_000
    result = sync(app, [update(feature(snap, "RP-01"), {"status": "watch"}, photo=big)])[0]
    assert result["status"] == "applied" and not result["problems"]
    photos = access.read(web_store, "field_photos", role="analyst")
    assert len(photos) == 1 and photos.iloc[0]["record_id"] == "RP-01"
    assert photos.iloc[0]["bytes"] <= 400 * 1024 and max(photos.iloc[0][["width", "height"]]) \
        <= 1600
    assert Image.open(io.BytesIO(base64.b64decode(photos.iloc[0]["jpeg_base64"]))).format \
        == "JPEG"
    with pytest.raises(access.AccessDenied):
        access.read(web_store, "field_photos", role="viewer")
    png = io.BytesIO()
    Image.new("RGB", (10, 10)).save(png, "PNG")
    fake = "data:image/jpeg;base64," + base64.b64encode(png.getvalue()).decode()
    warned = sync(app, [update(feature(snap, "RP-00"), {"status": "watch"}, photo=fake)])[0]
    assert warned["status"] == "applied" and warned["problems"][0]["code"] == "photo_rejected"


def test_a_bad_batch_is_400_and_a_bad_edit_is_rejected_alone(app):
    assert call(app, "POST", "/api/field/sync", body={"edits": []}).status_code == 400
    too_many = {"device": "x", "edits": [{}] * 501}
    assert call(app, "POST", "/api/field/sync", body=too_many).status_code == 400
    results = sync(app, [{"edit_id": "e-1", "layer": "cases", "op": "update", "id": "C-01",
                          "changes": {"offenders": 2}, "recorded_at": "yesterday"}, "junk"])
    assert results[0]["status"] == "rejected" and results[0]["problems"][0]["field"] \
        == "recorded_at"
    assert results[1]["status"] == "rejected"


# --- the conflicts page -------------------------------------------------------------------------

def test_the_conflicts_page_shows_both_values_and_resolving_writes_with_audit(app, web_store):
    snap = snapshot(app)
    sync(app, [update(feature(snap, "RP-01"), {"status": "watch"})], device="a001")
    cid = sync(app, [update(feature(snap, "RP-01"), {"status": "cleared",
                                                     "cleared_on": "2026-02-01"})],
               device="b002")[0]["conflict_id"]
    client = app.test_client()
    login(client, "analyst_user")
    page = client.get("/field/conflicts").get_data(as_text=True)
    assert "Xung đột dữ liệu thực địa" in page and "MẬT" in page
    assert "Điểm số 1" in page and "Mường Xén" in page            # name and commune
    assert "Người dùng analyst" in page                           # who, by display name
    assert "Tình trạng" in page and "cleared" in page and "watch" in page
    assert cid not in page.replace(f"/field/conflicts/{cid}", "")  # no internal id as a label
    res = client.post(f"/field/conflicts/{cid}", data={
        "csrf_token": csrf_of(client), "choice:status": "phone", "choice:cleared_on": "phone"})
    assert res.status_code == 302
    row = record(web_store, "RP-01")
    assert row["status"] == "cleared" and row["cleared_on"] == "2026-02-01"
    assert call(app, "GET", "/api/field/conflicts").get_json()["conflicts"] == []
    log = web_store.read("audit_log")
    assert log[log["layer"] == "retail_points"]["detail"].str.contains(cid).any()
    viewer = app.test_client()
    login(viewer, "viewer_user")
    assert viewer.get("/field/conflicts").status_code == 403


def test_a_record_above_the_writers_level_is_refused_and_the_rest_of_the_batch_lands(
        app, web_store):
    snap = snapshot(app)
    secret = {"edit_id": str(uuid.uuid4()), "layer": "retail_points", "op": "update",
              "id": "RP-07", "base_version": "0" * 32, "base": {"status": "active"},
              "changes": {"status": "watch"}}
    results = sync(app, [secret, update(feature(snap, "RP-01"), {"status": "watch"})])
    assert results[0]["status"] == "rejected" and results[0]["problems"][0]["code"] \
        == "not_found"
    assert results[1]["status"] == "applied"          # (one by one: the careful path)
    assert record(web_store, "RP-07")["status"] == "active"
    assert record(web_store, "RP-01")["status"] == "watch"


def test_edits_to_one_record_in_one_batch_chain_in_order(app, web_store):
    snap = snapshot(app)
    rp = feature(snap, "RP-01")
    first = update(rp, {"status": "watch"})
    second = {**update(rp, {"status": "cleared", "cleared_on": "2026-02-01"}),
              "base": {"status": "watch", "cleared_on": None}}
    third = update(rp, {"name": "Quán bà Lan"})
    results = sync(app, [first, second, third])
    assert [r["status"] for r in results] == ["applied", "merged", "merged"]
    row = record(web_store, "RP-01")
    assert (row["status"], row["cleared_on"], row["name"]) == ("cleared", "2026-02-01",
                                                               "Quán bà Lan")
    etag = call(app, "GET", f"{RP}/RP-01").headers["ETag"].strip('"')
    assert {r["version"] for r in results} == {etag}


def test_a_patrol_track_recorded_on_the_phone_is_stored_and_not_offered_in_the_snapshot(
        app, web_store):
    track = {"edit_id": str(uuid.uuid4()), "layer": "patrol_tracks", "op": "create",
             "id": "patrol_tracks-20260301-ab12-1", "base_version": None,
             "changes": {"source": "thực địa", "team": 1, "started_at":
                         "2026-03-01T07:00:00+07:00", "ended_at": "2026-03-01T09:30:00+07:00",
                         "findings": "Không phát hiện bất thường", "device": "ab12"},
             "geometry": {"type": "LineString",
                          "coordinates": [[104.13, 19.40], [104.14, 19.41], [104.15, 19.41]]},
             "recorded_at": "2026-03-01T09:30:00+07:00"}
    result = sync(app, [track])[0]
    assert result["status"] == "applied", result
    row = record(web_store, track["id"], "patrol_tracks")
    assert row["team"] == 1 and row.geometry.geom_type == "LineString"
    res = call(app, "GET", "/api/field/snapshot")
    assert res.status_code == 200 and "patrol_tracks" not in res.get_json()["layers"]
