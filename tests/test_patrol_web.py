"""The patrol pages of the web service: commander only, form → stored plan → downloads, audit."""
from __future__ import annotations

import importlib.util
import json
import re
import sys

import pytest
from flask import Flask

pytest.importorskip("geo_pcmt.web.auth", reason="the auth module (login_required) is not built yet")

from geo_pcmt.outputs import gpx  # noqa: E402
from tests.conftest import bearer, csrf_of, login  # noqa: E402
from tests.test_patrol import crossings, posts_frame  # noqa: E402


@pytest.fixture
def web_store(web_store):
    posts = posts_frame()
    posts["source"] = "test"
    web_store.write("border_posts", posts, mode="replace")
    cr = crossings()
    cr["source"] = "test"
    web_store.write("border_crossings", cr, mode="replace")
    return web_store


@pytest.fixture
def app_config():
    return {"PATROL_TIME_LIMIT_S": 1.0}


FORM = {"post": "BP-001", "plan_date": "2026-01-15", "start_time": "07:00", "hours": "6",
        "teams": "2", "mode": "foot", "randomise": "1", "seed": "7"}


def _plan(app, client=None) -> str:
    client = client or app.test_client()
    res = client.post("/patrol/", data=FORM, headers=bearer(app, "commander"))
    assert res.status_code == 201, res.data
    return res.get_json()["id"]


@pytest.mark.parametrize("role, status", [(None, 401), ("viewer", 403), ("analyst", 403),
                                          ("commander", 200), ("admin", 200)])
def test_only_commanders_and_admins_open_the_patrol_pages(app, role, status):
    res = app.test_client().get("/patrol/", headers=bearer(app, role))
    assert res.status_code == status


def test_a_browser_is_sent_to_the_login_page_first(app):
    res = app.test_client().get("/patrol/", headers={"Accept": "text/html"})
    assert res.status_code == 302 and res.headers["Location"].startswith("/login")


@pytest.mark.slow  # over ~0.5 s: out of the quick loop
def test_the_form_plans_stores_under_the_commander_and_shows_the_plan(app, web_store):
    client = app.test_client()
    login(client, "commander_user")
    page = client.get("/patrol/", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "Đồn BP CKQT Nậm Cắn" in page.text
    res = client.post("/patrol/", data={**FORM, "csrf_token": csrf_of(client)},
                      headers={"Accept": "text/html"})
    assert res.status_code == 303
    plan_id = res.headers["Location"].rsplit("/", 1)[1]
    stored = web_store.read("patrol_plans", where={"id": plan_id}).iloc[0]
    assert stored["created_by"] == "commander_user" and stored["seed"] == 7
    shown = client.get(f"/patrol/{plan_id}", headers={"Accept": "text/html"})
    assert shown.status_code == 200 and "Tổ 1" in shown.text and "hạt giống 7" in shown.text


def test_the_form_needs_its_csrf_token(app, web_store):
    client = app.test_client()
    login(client, "commander_user")
    res = client.post("/patrol/", data=FORM, headers={"Accept": "text/html"})
    assert res.status_code == 400 and web_store.count("patrol_plans") == 0


@pytest.mark.parametrize("change, words", [
    ({"hours": "0"}, "Số giờ"), ({"hours": "abc"}, "không phải là số"),
    ({"post": "BP-404"}, "unknown post"), ({"teams": "0"}, "Số tổ"),
    ({"hours": "0.5"}, "no target can be reached"),
])
def test_bad_requests_are_refused_with_the_reason_and_nothing_is_stored(app, web_store, change,
                                                                        words):
    res = app.test_client().post("/patrol/", data={**FORM, **change},
                                 headers=bearer(app, "commander"))
    assert res.status_code == 400 and words in res.get_json()["description"]
    assert web_store.count("patrol_plans") == 0


@pytest.mark.slow  # over ~0.5 s: out of the quick loop
def test_downloads_gpx_geojson_and_brief_and_every_read_is_audited(app, web_store):
    plan_id = _plan(app)
    client = app.test_client()
    head = bearer(app, "commander")
    g = client.get(f"/patrol/{plan_id}.gpx", headers=head)
    assert g.status_code == 200 and g.mimetype == "application/gpx+xml"
    assert len(gpx.read_gpx(g.data).waypoints) >= 2
    j = client.get(f"/patrol/{plan_id}.geojson", headers=head)
    assert j.mimetype == "application/geo+json"
    kinds = {f["properties"]["kind"] for f in json.loads(j.data)["features"]}
    assert kinds == {"post", "stop", "route"}
    b = client.get(f"/patrol/{plan_id}/brief", headers=head)
    assert b.status_code == 200 and "KẾ HOẠCH TUẦN TRA" in b.text.upper()
    nonce = re.search(r"'nonce-([^']+)'", b.headers["Content-Security-Policy"]).group(1)
    assert f'<style nonce="{nonce}">' in b.text
    doc = client.get(f"/patrol/{plan_id}", headers=head).get_json()
    assert doc["created_by"] == "commander_user" and doc["stops"]
    reads = web_store.read("audit_log", where={"layer": "patrol_plans"})
    assert {"read:gpx", "read:geojson", "read:brief", "read:plan"} <= set(reads["action"])
    assert client.get("/patrol/PT-nope.gpx", headers=head).status_code == 404
    assert client.get(f"/patrol/{plan_id}.gpx", headers=bearer(app, "analyst")).status_code == 403


def test_without_the_auth_module_every_patrol_view_is_forbidden(monkeypatch, web_store):
    monkeypatch.setitem(sys.modules, "geo_pcmt.web.auth", None)  # import now fails
    spec = importlib.util.find_spec("geo_pcmt.web.patrol")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.login_required is None
    app = Flask(__name__)
    app.extensions["geo_pcmt_store"] = web_store
    app.register_blueprint(module.bp)
    client = app.test_client()
    assert client.get("/patrol/").status_code == 403
    assert client.post("/patrol/", data=FORM).status_code == 403
    assert client.get("/patrol/PT-1.gpx").status_code == 403


@pytest.mark.slow  # whole service: a plan drawn on the map page
def test_the_map_view_draws_each_team_on_the_interactive_map(app):
    pytest.importorskip("geo_pcmt.outputs.map")
    plan_id = _plan(app)
    res = app.test_client().get(f"/patrol/{plan_id}/map", headers=bearer(app, "commander"))
    assert res.status_code == 200 and res.mimetype == "text/html"
    page = res.text
    teams = {int(t["team"]) for t in app.test_client().get(
        f"/patrol/{plan_id}", headers=bearer(app, "commander")).get_json()["report"]["teams"]
        if t["n_stops"]}
    assert page.count("L.polyline(") >= len(teams) >= 1
    assert "cdn.jsdelivr" not in page and "unpkg.com" not in page  # opens offline
    assert "'unsafe-inline'" in res.headers["Content-Security-Policy"]  # folium's inline code


@pytest.mark.slow  # whole service: plans, pages and downloads
def test_a_commanders_plan_holds_no_secret_record_and_an_admins_secret_plan_stays_hidden(
        app, web_store):
    from tests.test_patrol import SECRET_WORDS, add_secret_records
    add_secret_records(web_store)
    client = app.test_client()
    form = {**FORM, "randomise": ""}  # every reachable target is a candidate
    mine = client.post("/patrol/", data=form, headers=bearer(app, "commander")).get_json()
    assert mine["report"]["confidentiality"] == "restricted"
    head = bearer(app, "commander")
    for suffix in ("", ".gpx", ".geojson", "/brief"):
        page = client.get(f"/patrol/{mine['id']}{suffix}", headers=head)
        assert page.status_code == 200
        assert not any(word in page.text for word in SECRET_WORDS), suffix
    theirs = client.post("/patrol/", data=form, headers=bearer(app, "admin")).get_json()
    assert theirs["report"]["confidentiality"] == "secret"
    shown = client.get(f"/patrol/{theirs['id']}", headers=bearer(app, "admin")).get_json()
    assert "opium_plot:OP-SECRET" in {s["target_id"] for s in shown["stops"]}
    brief = client.get(f"/patrol/{theirs['id']}/brief", headers=bearer(app, "admin"))
    assert "TỐI MẬT" in brief.text
    for suffix in ("", ".gpx", ".geojson", "/brief"):  # not there for a commander
        assert client.get(f"/patrol/{theirs['id']}{suffix}", headers=head).status_code == 404
    listed = client.get("/patrol/", headers={**head, "Accept": "text/html"}).text
    assert mine["id"] in listed and theirs["id"] not in listed
