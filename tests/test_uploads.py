"""Uploads: the row-level report, nothing stored half-way, confirm to keep valid rows,
size limit, admins only, and every upload in the audit log."""
from __future__ import annotations

import io
import json

import pytest

from tests.conftest import XSS_IMG, bearer, login, make_app

CLEAN = ("id,type,status,first_seen,name,lon,lat\n"
         "U-1,diem_ban_le,active,2024-02-01,Điểm Huồi Khe,104.12,19.36\n"
         "U-2,tu_diem_phuc_tap,watch,2024-02-03,Tụ điểm Keng Đu,104.14,19.37\n")
ONE_BAD = ("id,type,status,first_seen,name,lon,lat\n"
           "U-1,diem_ban_le,active,2024-02-01,Điểm A,104.12,19.36\n"
           "U-2,diem_ban_le,sleeping,2024-02-01,Điểm B,104.13,19.36\n"
           f"U-3,tu_diem_phuc_tap,watch,2024-02-03,{XSS_IMG.replace(chr(34), '')},104.14,19.37\n")


def store_of(app):
    return app.extensions["geo_pcmt_store"]


def api_upload(app, text: str, *, role="admin", name="points.csv", **form):
    data = {"layer": "retail_points", "file": (io.BytesIO(text.encode()), name), **form}
    return app.test_client().post("/data/upload", data=data, headers=bearer(app, role),
                                  content_type="multipart/form-data")


def stored_ids(app, prefix="U-") -> list[str]:
    ids = store_of(app).read("retail_points", columns=["id"])["id"].tolist()
    return sorted(i for i in ids if i.startswith(prefix))


# --- API ---------------------------------------------------------------------------------

def test_clean_file_is_stored_and_reported(app):
    res = api_upload(app, CLEAN)
    body = res.get_json()
    assert res.status_code == 201 and body["report"]["ok"] is True
    assert body["stored"]["inserted"] == 2 and stored_ids(app) == ["U-1", "U-2"]


def test_a_file_with_one_bad_row_stores_nothing_and_names_row_field_value_reason(app):
    res = api_upload(app, ONE_BAD)
    body = res.get_json()
    assert res.status_code == 422 and body["stored"] is None
    error = [p for p in body["report"]["problems"] if p["severity"] == "error"]
    assert error == [{"row": 2, "sheet_row": 3, "field": "status", "value": "sleeping",
                      "severity": "error", "code": "not_allowed", "reason": error[0]["reason"]}]
    assert "Đang hoạt động, Theo dõi, Đã triệt xóa" in error[0]["reason"]
    assert error[0]["reason"].startswith("Trường «Tình trạng»")  # Vietnamese unless ?lang=en
    assert stored_ids(app) == []


def test_keep_valid_stores_only_the_valid_rows(app):
    res = api_upload(app, ONE_BAD, keep_valid="true")
    assert res.status_code == 201 and res.get_json()["stored"]["inserted"] == 2
    assert stored_ids(app) == ["U-1", "U-3"]


def test_every_upload_is_in_the_audit_log_with_outcome_and_ids(app):
    api_upload(app, ONE_BAD)
    api_upload(app, CLEAN)
    log = store_of(app).read("audit_log", where={"action": "upload"})
    first, second = [json.loads(d) for d in log["detail"]]
    assert (first["stored"], first["errors"], first["filename"]) == (False, 1, "points.csv")
    assert second["stored"] is True and json.loads(log["ids"].iloc[1]) == ["U-1", "U-2"]
    assert set(log["user"]) == {"admin_user"}
    writes = store_of(app).read("audit_log", where={"action": "write:append",
                                                    "layer": "retail_points"})
    assert "admin_user" in writes["user"].tolist()


def test_oversized_upload_is_refused_with_413_and_nothing_stored(web_store, tmp_path):
    app = make_app(web_store, tmp_path, MAX_CONTENT_LENGTH=2_000)
    res = api_upload(app, CLEAN + "".join(f"X-{i},diem_ban_le,active,2024-01-01,x,104.1,19.3\n"
                                          for i in range(100)))
    assert res.status_code == 413
    body = res.get_json()
    assert body["code"] == "too_large" and "MB" in body["description"]
    assert stored_ids(app, "X-") == []


def test_viewers_may_not_upload(app):
    res = api_upload(app, CLEAN, role="viewer")
    assert res.status_code == 403 and stored_ids(app) == []
    assert "analyst" in res.get_json()["description"]


@pytest.mark.parametrize("role", ["analyst", "commander"])
def test_analysts_and_commanders_upload_and_are_audited(app, role):
    res = api_upload(app, CLEAN, role=role)
    assert res.status_code == 201 and stored_ids(app) == ["U-1", "U-2"]
    log = store_of(app).read("audit_log", where={"action": "upload"})
    assert log["user"].iloc[-1] == f"{role}_user"


def test_anonymous_upload_is_refused(app):
    res = app.test_client().post("/data/upload", data={"layer": "retail_points"})
    assert res.status_code in (400, 401) and stored_ids(app) == []


@pytest.mark.parametrize("form, name, code", [
    ({"layer": "audit_log"}, "x.csv", "invalid_layer"),
    ({"layer": "communes"}, "x.csv", "invalid_layer"),
    ({"mode": "replace"}, "x.csv", "invalid_parameter"),
    ({}, "points.exe", "unsupported_file_type"),
    ({"crs": "EPSG:32648; DROP TABLE"}, "x.csv", "invalid_crs"),
])
def test_bad_upload_requests_get_a_4xx_naming_the_problem(app, form, name, code):
    data = {"layer": "retail_points", **form, "file": (io.BytesIO(CLEAN.encode()), name)}
    res = app.test_client().post("/data/upload", data=data, headers=bearer(app, "admin"),
                                 content_type="multipart/form-data")
    assert res.status_code == 400 and res.get_json()["code"] == code


def test_upload_that_repeats_stored_ids_is_refused_whole(app):
    assert api_upload(app, CLEAN).status_code == 201
    res = api_upload(app, CLEAN)
    assert res.status_code == 409 and "already stored" in res.get_json()["description"]
    assert res.get_json()["code"] == "store_refused"


# --- the form ----------------------------------------------------------------------------

def _form_post(client, url, **data):
    with client.session_transaction() as s:
        data["csrf_token"] = s["csrf_token"]
    return client.post(url, data=data, content_type="multipart/form-data")


def test_form_shows_the_report_escaped_and_stores_valid_rows_only_after_confirmation(app):
    client = app.test_client()
    login(client, "admin_user")
    page = _form_post(client, "/upload", layer="retail_points",
                      file=(io.BytesIO(ONE_BAD.encode()), "điểm.csv"))
    html = page.get_data(as_text=True)
    assert page.status_code == 422 and stored_ids(app) == []
    assert "sleeping" in html and "<img src=x" not in html and "&lt;img src=x" in html
    confirm = html.split('action="/upload/')[1].split('"')[0]
    assert confirm.endswith("/confirm")
    done = _form_post(client, f"/upload/{confirm}")
    assert done.status_code == 200 and stored_ids(app) == ["U-1", "U-3"]
    assert _form_post(client, f"/upload/{confirm}").status_code == 404  # used up


def test_pending_upload_belongs_to_its_uploader(app):
    users = app.extensions["geo_pcmt_users"]
    users.add("admin_two", "một-mật-khẩu-khác", "admin")
    client = app.test_client()
    login(client, "admin_user")
    html = _form_post(client, "/upload", layer="retail_points",
                      file=(io.BytesIO(ONE_BAD.encode()), "a.csv")).get_data(as_text=True)
    confirm = html.split('action="/upload/')[1].split('"')[0]
    intruder = app.test_client()
    login(intruder, "admin_two", "một-mật-khẩu-khác")
    assert _form_post(intruder, f"/upload/{confirm}").status_code == 404
    assert stored_ids(app) == []


def test_form_upload_without_csrf_token_is_refused(app):
    client = app.test_client()
    login(client, "admin_user")
    res = client.post("/upload", data={"layer": "retail_points",
                                       "file": (io.BytesIO(CLEAN.encode()), "a.csv")},
                      content_type="multipart/form-data")
    assert res.status_code == 400 and stored_ids(app) == []


def test_upload_form_is_in_vietnamese_first(app):
    client = app.test_client()
    login(client, "admin_user")
    html = client.get("/upload").get_data(as_text=True)
    assert "Tải dữ liệu lên" in html and "Upload records" in html
    assert html.index("Tải dữ liệu lên") < html.index("Upload records")


# --- deletes -------------------------------------------------------------------------------

def test_admin_deletes_a_record_and_the_delete_is_audited(app):
    client = app.test_client()
    assert client.delete("/data/retail_points/RP-01", headers=bearer(app, "analyst")
                         ).status_code == 403
    res = client.delete("/data/retail_points/RP-01", headers=bearer(app, "admin"))
    assert res.status_code == 200 and res.get_json()["deleted"] == 1
    assert "RP-01" not in store_of(app).read("retail_points")["id"].tolist()
    log = store_of(app).read("audit_log", where={"action": "delete"})
    assert json.loads(log["ids"].iloc[-1]) == ["RP-01"] and log["user"].iloc[-1] == "admin_user"
    assert client.delete("/data/retail_points/RP-01", headers=bearer(app, "admin")
                         ).status_code == 404


def test_numbers_matched_reflect_an_upload_at_once(app):
    url = "/api/collections/retail_points/items?limit=1"
    before = app.test_client().get(url, headers=bearer(app, "admin")).get_json()["numberMatched"]
    api_upload(app, CLEAN)
    after = app.test_client().get(url, headers=bearer(app, "admin")).get_json()["numberMatched"]
    assert (before, after) == (13, 15)


@pytest.mark.slow  # whole service: helper processes
@pytest.mark.parametrize("kind", ["gpkg", "postgis"])
def test_uploads_validated_in_helper_processes_answer_exactly_as_in_the_request(
        kind, web_store, tmp_path, monkeypatch, request):
    # the server's default outside tests: files checked in a nice-d helper process, and
    # stored by another process too (PostGIS: that helper; GeoPackage: a writer process
    # at normal priority); the server process only answers
    from geo_pcmt import ingest

    def not_here(*args, **kwargs):
        raise AssertionError("ingest ran in the server process")

    monkeypatch.setattr(ingest, "check_file", not_here)  # (the spawned helper has its own)
    if kind == "postgis":
        from tests.backends import make_store
        request.getfixturevalue("pg_templates")  # skips loudly without the server binaries
        store = make_store("postgis", tmp_path, boundaries=True)
    else:
        store = web_store
    monkeypatch.setattr(type(store), "write", not_here)  # (helpers have their own)
    pooled = make_app(store, tmp_path, INGEST_PROCESSES=1)
    pool = pooled.extensions["geo_pcmt_check_pool"]
    try:
        bad = api_upload(pooled, ONE_BAD)
        assert bad.status_code == 422 and bad.get_json()["stored"] is None
        errors = [p for p in bad.get_json()["report"]["problems"] if p["severity"] == "error"]
        assert [(p["row"], p["field"], p["value"]) for p in errors] == [(2, "status", "sleeping")]
        ok = api_upload(pooled, CLEAN)
        assert ok.status_code == 201 and ok.get_json()["stored"]["inserted"] == 2
        assert stored_ids(pooled) == ["U-1", "U-2"]  # written by the helper, read here
        again = api_upload(pooled, CLEAN)
        assert again.status_code == 409 and again.get_json()["code"] == "store_refused"
        broken = api_upload(pooled, "\x00\x01 not a table", name="x.xlsx")
        assert broken.status_code == 422 and broken.get_json()["code"] == "unreadable_file"
        log = store_of(pooled).read("audit_log", where={"action": "upload"})
        assert [json.loads(d)["stored"] for d in log["detail"]] == [False, True, False, False]
        writes = store_of(pooled).read("audit_log", where={"action": "write:append"})
        assert writes["user"].tolist()[-1:] == ["admin_user"]  # the uploader, not the helper
    finally:
        pool.shutdown()


@pytest.mark.slow  # fault: the server process is killed
def test_upload_helpers_leave_when_their_server_process_is_gone(tmp_path):
    # a gunicorn worker stopped or killed must not leave its helper processes behind
    import os
    import subprocess
    import sys
    import time
    script = (
        "import os, sys\n"
        "from geo_pcmt.ingest.pool import CheckPool\n"
        "pool = CheckPool(processes=1, nice=0)\n"
        "print(pool._pool().submit(os.getpid).result(timeout=120), flush=True)\n"
        "print(pool._writer_pool().submit(os.getpid).result(timeout=120), flush=True)\n"
        "os._exit(0)\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=180, cwd=os.path.dirname(os.path.dirname(__file__)))
    helpers = [int(line) for line in out.stdout.split()[-2:]]  # the checker, the writer
    assert len(set(helpers)) == 2
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(os.path.exists(f"/proc/{h}") for h in helpers):
        time.sleep(0.2)
    assert not any(os.path.exists(f"/proc/{h}") for h in helpers), \
        "a helper outlived its server process"


@pytest.mark.slow  # fault: a writer process is killed
def test_a_writer_process_that_dies_is_reported_as_unconfirmed_and_replaced(web_store,
                                                                            tmp_path):
    # the writer killed (out of memory, kill -9) mid-write: the caller hears that the
    # outcome is unknown, not that the file was unreadable, and the next write works
    import os
    from geo_pcmt.ingest.pool import CheckPool, HelperStopped
    from tests.conftest import retail_frame
    pool = CheckPool(processes=1, nice=0)
    try:
        with pytest.raises(HelperStopped, match="committed whole or not at all"):
            pool._call(pool._writer_pool(), os._exit, 9, writes=True)
        report = pool.writer(str(web_store.path)).write("retail_points",
                                                        retail_frame(3, start=900_000))
        assert report.inserted == 3
        assert web_store.count("retail_points", where={"id": "RP-900001"}) == 1
    finally:
        pool.shutdown()


@pytest.mark.slow  # fault: a writer process is killed
def test_an_upload_whose_writer_died_answers_503_and_audits_an_unknown_outcome(
        web_store, tmp_path, monkeypatch):
    from geo_pcmt.ingest.pool import HelperStopped, HelperWriter

    def died(self, *args, **kwargs):
        raise HelperStopped("the process storing the rows stopped before it confirmed")

    monkeypatch.setattr(HelperWriter, "write", died)
    pooled = make_app(web_store, tmp_path, INGEST_PROCESSES=1)
    try:
        res = api_upload(pooled, CLEAN)
        assert res.status_code == 503 and res.get_json()["code"] == "write_unconfirmed"
        log = store_of(pooled).read("audit_log", where={"action": "upload"})
        assert json.loads(log["detail"].iloc[-1])["stored"] == "unknown"
    finally:
        pooled.extensions["geo_pcmt_check_pool"].shutdown()


# --- analysts' uploads: never above their clearance, never replacing records ---------------

def test_an_analyst_cannot_store_a_row_above_their_clearance(app):
    text = ("id,type,status,first_seen,confidentiality,lon,lat\n"
            "U-1,diem_ban_le,active,2024-02-01,restricted,104.12,19.36\n"
            "U-2,diem_ban_le,active,2024-02-01,secret,104.13,19.36\n")
    res = api_upload(app, text, role="analyst")
    body = res.get_json()
    assert res.status_code == 422 and stored_ids(app) == []
    err = [p for p in body["report"]["problems"] if p["severity"] == "error"]
    assert [(p["sheet_row"], p["code"]) for p in err] == [(3, "above_clearance")]
    assert "mức mật cao hơn" in err[0]["reason"]
    assert api_upload(app, text, role="analyst", keep_valid="true").status_code == 201
    assert stored_ids(app) == ["U-1"]
    assert api_upload(app, text.replace("U-", "V-"), role="admin").status_code == 201


def test_only_admins_replace_records_by_upload(app):
    res = api_upload(app, CLEAN, role="analyst", mode="upsert")
    assert res.status_code == 403 and stored_ids(app) == []
    assert api_upload(app, CLEAN, role="admin", mode="upsert").status_code == 201
