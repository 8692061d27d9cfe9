"""Security: who sees what on every route (table-driven), headers and CSP, CSRF, XSS,
path traversal, malformed input, and errors without stack traces."""
from __future__ import annotations

import re

import pytest
from flask import Blueprint

from geo_pcmt.web.security import relaxed_csp
from tests.conftest import XSS_IMG, XSS_NAME, bearer, login, make_app

ROLES = (None, "viewer", "analyst", "commander", "admin")
ANALYST_UP = {"analyst", "commander", "admin"}
SIGNED_IN = {"viewer", "analyst", "commander", "admin"}


@pytest.fixture(scope="module")
def app(module_app):  # these tests only read: one app for the module
    return module_app


def fetch(app, url, role):
    return app.test_client().get(url, headers=bearer(app, role))


# --- who sees what: every route × every role ----------------------------------------------
# (url, roles answered 200, roles that see the marker — default: the same roles).
# Whoever is not answered 200 gets 401/403/404 and never the marker.
ROUTE_TABLE = [
    ("/api/collections", ROLES, ANALYST_UP, 'retail_points"'),
    ("/api/openapi", ROLES, ANALYST_UP, '/collections/retail_points/items"'),
    ("/api/collections/communes/items?limit=1", ROLES, ROLES, "FeatureCollection"),
    ("/api/collections/retail_points", ANALYST_UP, None, "Drug retail points"),
    ("/api/collections/retail_points/items", ANALYST_UP, None, "RP-03"),
    ("/api/collections/retail_points/items/RP-03", ANALYST_UP, None, "Điểm số 3"),
    ("/api/collections/cases/items", ANALYST_UP, None, "C-01"),
    ("/api/collections/opium_plots/items", ANALYST_UP, None, "FeatureCollection"),
    ("/api/collections/hotspot_clusters/items", ANALYST_UP, None, "FeatureCollection"),
    ("/api/collections/commune_assessments/items", ANALYST_UP, None, "FeatureCollection"),
    ("/api/collections/audit_log/items", {"admin"}, None, "write:replace"),
    ("/api/collections/retail_points_per_commune/items", SIGNED_IN, None, "suppressed"),
    ("/api/collections/border_crossings/items", SIGNED_IN, None, "BC-1"),
    ("/api/collections/commune_status/items", SIGNED_IN, None, "loai_I"),
    ("/export/retail_points.geojson", ANALYST_UP, None, "RP-03"),
    ("/export/retail_points.csv", ANALYST_UP, None, "RP-03"),
    ("/export/cases.xlsx", ANALYST_UP, None, "PK"),
    ("/export/retail_points_per_commune.geojson", SIGNED_IN, None, "suppressed"),
    ("/export/audit_log.csv", {"admin"}, None, "write:replace"),
    ("/layers/retail_points.geojson", (), None, "RP-03"),
    ("/admin/audit?f=json", {"admin"}, None, "write:replace"),
    ("/admin/audit.csv", {"admin"}, None, "write:replace"),
    ("/admin/users?f=json", {"admin"}, None, "viewer_user"),
    ("/upload", ANALYST_UP, None, "Tải dữ liệu lên"),
    ("/upload/template/retail_points.xlsx", ANALYST_UP, None, "PK"),
    ("/account", SIGNED_IN, None, "API"),
]


@pytest.mark.parametrize("url, answered, seeing, marker", ROUTE_TABLE,
                         ids=[r[0] for r in ROUTE_TABLE])
@pytest.mark.slow  # over ~0.5 s: out of the quick loop
@pytest.mark.parametrize("role", ROLES, ids=lambda r: r or "anonymous")
def test_each_route_shows_each_role_exactly_what_it_may_see(app, url, answered, seeing, marker,
                                                            role):
    res = fetch(app, url, role)
    body = res.data.decode("utf-8", errors="replace")
    seeing = answered if seeing is None else seeing
    if role in answered:
        assert res.status_code == 200, (res.status_code, body[:300])
    else:
        assert res.status_code in (401, 403, 404), (res.status_code, body[:300])
    assert (marker in body) == (role in seeing), body[:300]


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r or "anonymous")
def test_secret_rows_reach_only_admins_anywhere(app, role):
    urls = ["/api/collections/retail_points/items?limit=100",
            "/api/collections/retail_points/items/RP-07", "/export/retail_points.geojson",
            "/export/retail_points.csv", "/api/collections/retail_points/items?confidentiality=secret"]
    leaked = [u for u in urls if "Điểm số 7" in fetch(app, u, role).get_data(as_text=True)]
    assert leaked == (urls if role == "admin" else [])


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r or "anonymous")
def test_operational_fields_reach_only_analysts_and_up(app, role):
    urls = ["/api/collections/commune_status/items", "/api/collections/commune_status/items/ST-1",
            "/export/commune_status.csv", "/api/openapi", "/api/collections/commune_status?f=html",
            "/api/collections/border_crossings/items", "/api/collections/retail_points/items"]
    texts = " ".join(fetch(app, u, role).get_data(as_text=True) for u in urls)
    for field, value in (("criteria", "3 locations"), ("case_ref", "VA-3")):
        if role in ANALYST_UP:
            assert value in texts and field in texts
        else:
            assert value not in texts and field not in texts


def test_restricted_and_nonexistent_collections_answer_alike(app):
    hidden = fetch(app, "/api/collections/retail_points/items", "viewer")
    missing = fetch(app, "/api/collections/no_such_layer/items", "viewer")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.get_json()["code"] == missing.get_json()["code"] == "not_found"
    filtering_on_hidden = fetch(app, "/api/collections/commune_status/items?criteria=x", "viewer")
    filtering_on_absent = fetch(app, "/api/collections/commune_status/items?nonsense=x", "viewer")
    assert filtering_on_hidden.status_code == filtering_on_absent.status_code == 400
    assert "criteria" not in filtering_on_hidden.get_json()["description"].split("filters are")[1]


def test_reads_of_restricted_layers_are_audited_with_ids(app):
    fetch(app, "/api/collections/retail_points/items?status=cleared", "analyst")
    fetch(app, "/api/collections/communes/items?limit=2", "analyst")
    log = app.extensions["geo_pcmt_store"].read("audit_log", where={"action": "read"})
    last = log.iloc[-1]
    assert last["layer"] == "retail_points" and last["ids"] == '["RP-02"]'
    assert last["user"] == "analyst_user" and "cleared" in last["detail"]
    assert "communes" not in set(log["layer"])


# --- headers and CSP ---------------------------------------------------------------------

def test_pages_carry_a_strict_csp_whose_nonce_matches_the_inline_style(app):
    res = fetch(app, "/login", None)
    csp = res.headers["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
    assert f'<style nonce="{nonce}">' in res.get_data(as_text=True)
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert "'unsafe-inline'" not in csp.split("style-src")[0]  # scripts: no unsafe-inline
    assert res.headers["X-Content-Type-Options"] == "nosniff"
    assert res.headers["X-Frame-Options"] == "DENY"
    assert fetch(app, "/api", None).headers["Content-Security-Policy"] != csp  # fresh nonce


def test_map_views_may_run_folium_inline_scripts_and_nothing_else_may(web_store, tmp_path):
    bp = Blueprint("map_probe", __name__)

    @bp.get("/map-probe")
    @relaxed_csp
    def probe():
        return "<script>var map = L.map('m');</script>"

    app = make_app(web_store, tmp_path)
    app.register_blueprint(bp)
    csp = app.test_client().get("/map-probe").headers["Content-Security-Policy"]
    assert "script-src 'self' 'unsafe-inline'" in csp and "nonce-" not in csp
    assert "frame-ancestors 'none'" in csp


def test_signed_in_responses_are_not_cached(app):
    assert fetch(app, "/api/collections", "analyst").headers["Cache-Control"] == "private, no-store"


def test_session_cookie_is_httponly_and_samesite(app):
    client = app.test_client()
    res = login(client, "viewer_user")
    cookie = res.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


# --- CSRF ---------------------------------------------------------------------------------

@pytest.mark.parametrize("url, data", [
    ("/admin/users", {"username": "mole", "password": "một-mật-khẩu-dài", "role": "admin"}),
    ("/admin/users/viewer_user/disable", {}),
    ("/account/tokens", {"label": "x"}),
    ("/logout", {}),
])
def test_every_form_post_without_the_csrf_token_is_refused(app, url, data):
    client = app.test_client()
    login(client, "admin_user")
    res = client.post(url, data=data)
    assert res.status_code == 400 and res.get_json()["code"] == "csrf_failed"
    assert app.extensions["geo_pcmt_users"].get("mole") is None
    assert app.extensions["geo_pcmt_users"].get("viewer_user").active


def test_csrf_token_in_the_header_works_for_scripts_on_the_page(app):
    client = app.test_client()
    login(client, "admin_user")
    with client.session_transaction() as s:
        token = s["csrf_token"]
    res = client.post("/admin/users", data={"username": "lan.pt", "role": "viewer",
                                            "password": "một-mật-khẩu-dài"},
                      headers={"X-CSRF-Token": token})
    assert res.status_code == 302 and app.extensions["geo_pcmt_users"].get("lan.pt")


# --- XSS ---------------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["/api/collections/retail_points/items?f=html",
                                 "/api/collections/retail_points/items/RP-05?f=html",
                                 "/api/collections/border_crossings/items?f=html"])
def test_script_in_names_is_shown_as_text(app, url):
    html = fetch(app, url, "admin").get_data(as_text=True)
    assert XSS_NAME not in html and XSS_IMG not in html
    assert ("&lt;script&gt;" in html) or ("&lt;img" in html)


def test_script_in_a_display_name_is_shown_as_text(app):
    app.extensions["geo_pcmt_users"].add("xss.user", "một-mật-khẩu-dài", "admin",
                                         display_name=XSS_NAME)
    client = app.test_client()
    login(client, "xss.user", "một-mật-khẩu-dài")
    for url in ("/api/collections", "/admin/users", "/account"):
        html = client.get(url, headers={"Accept": "text/html"}).get_data(as_text=True)
        assert XSS_NAME not in html and "&lt;script&gt;" in html


def test_json_answers_are_never_sniffed_as_html(app):
    res = fetch(app, "/api/collections/retail_points/items/RP-05", "admin")
    assert res.mimetype == "application/geo+json" and res.headers["X-Content-Type-Options"] == "nosniff"


# --- path traversal and malformed input ---------------------------------------------------

@pytest.mark.parametrize("url", [
    "/api/collections/..%2F..%2Fetc%2Fpasswd/items",
    "/api/collections/../../etc/passwd",
    "/api/collections/retail_points%00/items",
    "/export/..%2F..%2Fetc%2Fpasswd.geojson",
    "/export/../../var/geo_pcmt.gpkg",
    "/layers/..%2Fweb.gpkg.geojson",
    "/api/collections/retail_points/items/..%2F..%2Fusers.sqlite",
    "/data/retail_points/..%2F..%2Fusers.sqlite",
    "/upload/..%2F..%2Fsecret_key/confirm",
])
def test_path_traversal_in_layer_or_feature_ids_finds_nothing(app, url):
    method = "DELETE" if url.startswith("/data/") else "POST" if url.startswith("/upload/") \
        else "GET"
    res = app.test_client().open(url, method=method, headers=bearer(app, "admin"))
    assert 400 <= res.status_code < 500
    body = res.get_data(as_text=True)
    assert "root:" not in body and "SQLite format" not in body and "password_hash" not in body


@pytest.mark.parametrize("query", ["bbox=1,2,3", "bbox=nan,0,1,1", "bbox=1e999,0,1,1",
                                   "datetime=2024-02-30", "datetime=1/2/3",
                                   "datetime=2024-01-01T25:00:00Z", "limit=1e3",
                                   "offset=99999999999999999999"])
def test_malformed_bbox_datetime_and_paging_get_400_with_a_message(app, query):
    res = fetch(app, f"/api/collections/cases/items?{query}", "analyst")
    assert res.status_code == 400 and len(res.get_json()["description"]) > 10


# --- errors ------------------------------------------------------------------------------

def test_unexpected_errors_become_json_500_without_stack_traces(web_store, tmp_path):
    bp = Blueprint("boom", __name__)

    @bp.get("/boom")
    def boom():
        raise RuntimeError("secret detail: /var/lib/password")

    app = make_app(web_store, tmp_path)
    app.register_blueprint(bp)
    res = app.test_client().get("/boom")
    body = res.get_data(as_text=True)
    assert res.status_code == 500 and res.get_json()["code"] == "server_error"
    assert "Traceback" not in body and "secret detail" not in body
    assert "reference" in res.get_json()["description"]


def test_errors_for_browsers_are_pages_with_the_same_code(app):
    res = app.test_client().get("/api/collections/nope?f=html")
    assert res.status_code == 404 and res.mimetype == "text/html"
    assert "not_found" in res.get_data(as_text=True)


def test_wrong_method_is_405_json_naming_the_allowed_ones(app):
    res = app.test_client().delete("/api/collections", headers=bearer(app, "admin"))
    assert res.status_code == 405 and res.get_json()["code"] == "method_not_allowed"
    assert "GET" in res.headers["Allow"]


def test_no_restricted_rows_leave_when_the_audit_record_cannot_be_written(web_store, tmp_path,
                                                                          monkeypatch):
    app = make_app(web_store, tmp_path)
    store = app.extensions["geo_pcmt_store"]

    def broken_audit(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(store, "audit", broken_audit)
    for url in ("/api/collections/retail_points/items", "/api/collections/retail_points/items/RP-03",
                "/api/collections/retail_points/items?f=html", "/export/retail_points.csv"):
        res = app.test_client().get(url, headers=bearer(app, "analyst"))
        assert res.status_code == 500 and "Điểm số 3" not in res.get_data(as_text=True), url
    public = app.test_client().get("/api/collections/communes/items?limit=1",
                                   headers=bearer(app, "analyst"))
    assert public.status_code == 200  # public reads are not audited, so they still work


def test_the_tab_icon_is_served_to_anyone_so_no_page_logs_a_missing_file(app):
    res = app.test_client().get("/favicon.ico")
    assert res.status_code == 200 and res.mimetype == "image/png"
    assert res.data[:8] == b"\x89PNG\r\n\x1a\n"
