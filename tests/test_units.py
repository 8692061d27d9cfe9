"""Units: a commander sees and plans for the border posts of their unit only, on every route.

Unit A is the province (``commander_user`` of :func:`tests.test_ogcapi.make_app`), which plans
for Đồn BP CKQT Nậm Cắn (BP-001); unit B is Đồn BP Keng Đu (BP-002). A commander of unit B
must not see, plan for or download anything of BP-001: plans and downloads answer 404 (as a
plan that does not exist), planning answers 403, API items and exports leave those rows out.
"""
from __future__ import annotations

import json
import shutil

import geopandas as gpd
import pytest
from click.testing import CliRunner

from geo_pcmt import units
from geo_pcmt.cli import main
from geo_pcmt.ingest import boundaries
from geo_pcmt.store import GeoPackageStore
from geo_pcmt.users import UserError, UserStore
from tests.test_ogcapi import PASSWORD, bearer, csrf_of, login, make_app
from tests.test_patrol import crossings, posts_frame

FORM = {"post": "BP-001", "plan_date": "2026-01-15", "start_time": "07:00", "hours": "6",
        "teams": "2", "mode": "foot", "seed": "7"}


def posts_with_keng_du_area() -> gpd.GeoDataFrame:
    """BP-001 Nậm Cắn and BP-002 Keng Đu (Kỳ Sơn), BP-003 Thanh Thủy (Thanh Chương)."""
    posts = posts_frame()
    posts["source"] = "test"
    posts["commune_code"] = ["16837", "16822", "17791"]
    return posts


# --- the unit model ---------------------------------------------------------------------------

@pytest.mark.parametrize("typed, stored", [
    ("", "province"), ("tỉnh", "province"), ("BP-002", "post:BP-002"),
    ("Keng Đu", "post:BP-002"), ("keng du", "post:BP-002"), ("post:BP-003", "post:BP-003"),
    ("Huyện Kỳ Sơn", "district:Huyện Kỳ Sơn"), ("huyen ky son", "district:Huyện Kỳ Sơn"),
    ("district:Thanh Chương", "district:Huyện Thanh Chương")])
def test_a_unit_is_typed_as_people_name_it_and_stored_in_one_form(typed, stored):
    got = units.resolve_unit(typed, posts_with_keng_du_area(), boundaries.communes())
    assert str(got) == stored


@pytest.mark.parametrize("typed, words", [("Mường Lống", "unknown post 'Mường Lống'.*Keng Đu"),
                                          ("Huyện Sông Lam", "unknown former district.*Kỳ Sơn")])
def test_an_unknown_unit_is_refused_with_the_known_ones(typed, words):
    with pytest.raises(units.UnitError, match=words):
        units.resolve_unit(typed, posts_with_keng_du_area(), boundaries.communes())


def test_a_former_district_covers_the_posts_whose_area_lies_in_it():
    posts, communes = posts_with_keng_du_area(), boundaries.communes()
    assert units.unit_posts("district:Huyện Kỳ Sơn", posts, communes) == ("BP-001", "BP-002")
    assert units.unit_posts("district:Huyện Thanh Chương", posts, communes) == ("BP-003",)
    assert units.unit_posts("district:Thành phố Vinh", posts, communes) == ()
    assert units.unit_posts("province", posts, communes) is None
    # a post without an area of responsibility counts by the commune it stands in
    posts.loc[2, "area_of_responsibility"] = None
    assert units.unit_posts("district:Huyện Thanh Chương", posts, communes) == ("BP-003",)


@pytest.mark.slow  # over ~0.5 s: out of the quick loop
def test_every_shipped_border_post_belongs_to_a_former_border_district():
    """On the sample's 12 posts: the six former border districts cover every post; Hạnh Lâm
    (BP-011), whose area holds Xã Anh Sơn and Xã Hạnh Lâm, belongs to both districts."""
    from geo_pcmt.ingest.sample_files import read as read_sample
    posts, communes = read_sample()["border_posts"], boundaries.communes()
    choices = units.unit_choices(posts, communes)
    districts = [units.parse_unit(v) for v, _ in choices if v.startswith("district:")]
    covered = [p for d in districts for p in units.unit_posts(d, posts, communes)]
    assert set(covered) == set(posts["id"])
    assert [p for p in set(covered) if covered.count(p) > 1] == ["BP-011"]
    assert {d.key for d in districts} == {"Huyện Kỳ Sơn", "Huyện Tương Dương", "Huyện Quế Phong",
                                          "Huyện Con Cuông", "Huyện Anh Sơn",
                                          "Huyện Thanh Chương"}


def test_a_user_has_a_unit_that_an_admin_can_change(tmp_path):
    users = UserStore(tmp_path / "u.sqlite", hash_method="pbkdf2:sha256:1000").init()
    assert users.add("an", PASSWORD, "commander").unit == "province"
    assert users.add("binh", PASSWORD, "commander", unit="post:BP-002").unit == "post:BP-002"
    assert users.set_unit("an", "district:Huyện Kỳ Sơn").unit == "district:Huyện Kỳ Sơn"
    assert users.token_user(users.create_token("an")[0]).unit == "district:Huyện Kỳ Sơn"
    with pytest.raises(UserError, match="not understood"):
        users.set_unit("an", "đồn Keng Đu")


# --- the web service --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def world(web_template, tmp_path_factory):
    """The app, a province commander's plan for BP-001, a plan of unit B for BP-002, and
    commanders of unit B, of Kỳ Sơn and of Thanh Chương (planned once for the module)."""
    tmp_path = tmp_path_factory.mktemp("units")
    shutil.copy(web_template, tmp_path / "web.gpkg")
    web_store = GeoPackageStore(tmp_path / "web.gpkg")
    web_store.write("border_posts", posts_with_keng_du_area(), mode="replace")
    cr = crossings()
    cr["source"] = "test"
    web_store.write("border_crossings", cr, mode="replace")
    app = make_app(web_store, tmp_path, PATROL_TIME_LIMIT_S=1.0)
    users = app.extensions["geo_pcmt_users"]
    for name, unit in (("chi_huy_b", "post:BP-002"), ("chi_huy_ks", "district:Huyện Kỳ Sơn"),
                       ("chi_huy_tc", "district:Huyện Thanh Chương")):
        users.add(name, PASSWORD, "commander", unit=unit)
        app.config["TEST_TOKENS"][name] = users.create_token(name)[0]
    res = app.test_client().post("/patrol/", data=FORM, headers=bearer(app, "commander"))
    assert res.status_code == 201, res.data
    plan_a = res.get_json()["id"]
    keng_du = {**FORM, "post": "BP-002", "radius_km": "40", "mode": "motorbike", "hours": "12"}
    res = app.test_client().post("/patrol/", data=keng_du, headers=bearer(app, "chi_huy_b"))
    assert res.status_code == 201, res.data
    return {"app": app, "store": web_store, "a": plan_a, "b": res.get_json()["id"]}


def _get(world, who, url, accept="application/json"):
    app = world["app"]
    return app.test_client().get(url, headers={**bearer(app, who), "Accept": accept})


PLAN_ROUTES = ("/patrol/{}", "/patrol/{}/brief", "/patrol/{}.gpx", "/patrol/{}.geojson",
               "/patrol/{}/map")


@pytest.mark.parametrize("route", [pytest.param(r, marks=pytest.mark.slow) if r.endswith("/map")
                                   else r for r in PLAN_ROUTES])
@pytest.mark.slow  # over ~0.5 s: out of the quick loop
@pytest.mark.parametrize("accept", ["application/json", "text/html"])
def test_another_units_plan_is_not_there_on_any_route(world, route, accept):
    url = route.format(world["a"])
    assert _get(world, "chi_huy_b", url, accept).status_code == 404
    assert _get(world, "chi_huy_tc", url, accept).status_code == 404
    for who in ("commander", "chi_huy_ks", "admin"):  # the province, Kỳ Sơn, the admin
        assert _get(world, who, url, accept).status_code == 200, who


@pytest.mark.slow  # over ~0.5 s: out of the quick loop
def test_a_commander_sees_the_own_units_plan_on_every_route(world):
    for route in PLAN_ROUTES:
        assert _get(world, "chi_huy_b", route.format(world["b"])).status_code == 200, route


def test_the_form_lists_only_the_units_posts_and_plans(world):
    page = _get(world, "chi_huy_b", "/patrol/", "text/html").get_data(as_text=True)
    assert "Đồn BP Keng Đu" in page and "Nậm Cắn" not in page and "Thanh Thủy" not in page
    assert world["b"] in page and world["a"] not in page
    page = _get(world, "chi_huy_ks", "/patrol/", "text/html").get_data(as_text=True)
    assert "Đồn BP Keng Đu" in page and "Nậm Cắn" in page and "Thanh Thủy" not in page
    assert "Công an huyện Kỳ Sơn" in page
    page = _get(world, "commander", "/patrol/", "text/html").get_data(as_text=True)
    assert world["a"] in page and world["b"] in page and "Thanh Thủy" in page


def test_planning_for_another_units_post_is_403_and_stores_nothing(world):
    app, store = world["app"], world["store"]
    before = store.count("patrol_plans")
    res = app.test_client().post("/patrol/", data=FORM, headers=bearer(app, "chi_huy_b"))
    said = res.get_json()["description"]
    assert res.status_code == 403 and "không thuộc đơn vị của bạn (Đồn BP Keng Đu)" in said
    client = app.test_client()
    login(client, "chi_huy_b")
    res = client.post("/patrol/", data={**FORM, "csrf_token": csrf_of(client)},
                      headers={"Accept": "text/html"})
    assert res.status_code == 403 and "không thuộc đơn vị của bạn" in res.get_data(as_text=True)
    assert store.count("patrol_plans") == before


def _plan_ids(res) -> set[str]:
    return {f["id"] for f in res.get_json()["features"]}


def test_api_items_of_patrol_layers_hold_only_the_units_plans(world):
    a, b = world["a"], world["b"]
    # the province first, so a cached answer would reach the next commander if keyed wrong
    everything = _get(world, "commander", "/api/collections/patrol_plans/items?f=json")
    assert _plan_ids(everything) == {a, b}
    mine = _get(world, "chi_huy_b", "/api/collections/patrol_plans/items?f=json")
    assert _plan_ids(mine) == {b} and mine.get_json()["numberMatched"] == 1
    limited = _get(world, "chi_huy_b", "/api/collections/patrol_plans/items?f=json&limit=1")
    assert limited.get_json()["numberMatched"] == 1
    asked = _get(world, "chi_huy_b", "/api/collections/patrol_plans/items?f=json&post_id=BP-001")
    assert _plan_ids(asked) == set()
    assert _get(world, "chi_huy_b", f"/api/collections/patrol_plans/items/{a}?f=json") \
        .status_code == 404
    assert _get(world, "chi_huy_b", f"/api/collections/patrol_plans/items/{b}?f=json") \
        .status_code == 200
    stops = _get(world, "chi_huy_b", "/api/collections/patrol_stops/items?f=json")
    plans_of_stops = {f["properties"]["plan_id"] for f in stops.get_json()["features"]}
    assert plans_of_stops == {b}
    html = _get(world, "chi_huy_b", "/api/collections/patrol_stops/items?f=html", "text/html")
    assert a not in html.get_data(as_text=True)
    admin = _get(world, "admin", "/api/collections/patrol_stops/items?f=json")
    assert {f["properties"]["plan_id"] for f in admin.get_json()["features"]} == {a, b}


@pytest.mark.parametrize("fmt", ["geojson", "csv", "xlsx", "gpkg"])
def test_exports_of_patrol_layers_hold_only_the_units_plans(world, fmt):
    from tests.test_canary import _text_of
    for layer in ("patrol_plans", "patrol_stops"):
        text = _text_of(_get(world, "chi_huy_b", f"/export/{layer}.{fmt}"))
        assert world["b"] in text and world["a"] not in text, layer
        text = _text_of(_get(world, "commander", f"/export/{layer}.{fmt}"))
        assert world["a"] in text and world["b"] in text, layer


def test_a_new_unit_applies_at_the_next_request(world):
    app = world["app"]
    url = f"/patrol/{world['a']}"
    assert _get(world, "chi_huy_b", url).status_code == 404
    users = app.extensions["geo_pcmt_users"]
    users.set_unit("chi_huy_b", "post:BP-001")
    try:
        assert _get(world, "chi_huy_b", url).status_code == 200
        assert _get(world, "chi_huy_b", f"/patrol/{world['b']}").status_code == 404
    finally:
        users.set_unit("chi_huy_b", "post:BP-002")


def test_the_admin_page_sets_a_users_unit(world):
    app = world["app"]
    users = app.extensions["geo_pcmt_users"]
    client = app.test_client()
    login(client, "admin_user")
    page = client.get("/admin/users", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "Đồn BP Keng Đu" in page and "Công an huyện Kỳ Sơn (địa bàn cũ)" in page
    res = client.post("/admin/users", data={
        "username": "chi_huy_moi", "password": PASSWORD, "role": "commander",
        "unit": "post:BP-003", "csrf_token": csrf_of(client)})
    assert res.status_code == 302 and users.get("chi_huy_moi").unit == "post:BP-003"
    res = client.post("/admin/users/chi_huy_moi/unit", data={
        "unit": "district:Huyện Kỳ Sơn", "csrf_token": csrf_of(client)},
        headers={"Accept": "text/html"})
    assert res.status_code == 302 and users.get("chi_huy_moi").unit == "district:Huyện Kỳ Sơn"
    res = client.post("/admin/users/chi_huy_moi/unit", data={
        "unit": "post:BP-099", "csrf_token": csrf_of(client)}, headers={"Accept": "text/html"})
    assert res.status_code == 400 and "unknown post" in res.get_data(as_text=True)
    assert users.get("chi_huy_moi").unit == "district:Huyện Kỳ Sơn"
    audit = world["store"].read("audit_log", where={"action": "user:unit"})
    assert list(audit["ids"].astype(str).str.contains("chi_huy_moi")) == [True]
    res = app.test_client().post("/admin/users/chi_huy_moi/unit", headers=bearer(app, "commander"),
                                 data={"unit": "province"})
    assert res.status_code == 403 and users.get("chi_huy_moi").unit != "province"


def test_the_account_page_names_the_unit(world):
    client = world["app"].test_client()
    login(client, "chi_huy_b")
    page = client.get("/account").get_data(as_text=True)
    assert "Đồn BP Keng Đu" in page


# --- the CLI ------------------------------------------------------------------------------------

def test_cli_adds_a_user_of_a_unit_and_moves_them(world, tmp_path):
    users_file = tmp_path / "cli_users.sqlite"
    env = {"GEO_PCMT_STORE": str(world["store"].path), "GEO_PCMT_USERS": str(users_file)}
    run = CliRunner().invoke
    res = run(main, ["user", "add", "le.cuong", "--role", "commander", "--unit", "Keng Đu",
                     "--password-stdin"], input=f"{PASSWORD}\n", env=env)
    assert res.exit_code == 0, res.output
    assert "le.cuong" in res.output and "Đồn BP Keng Đu" in res.output
    users = UserStore(users_file)
    assert users.get("le.cuong").unit == "post:BP-002"
    res = run(main, ["user", "set-unit", "le.cuong", "huyện Kỳ Sơn"], env=env)
    assert res.exit_code == 0 and users.get("le.cuong").unit == "district:Huyện Kỳ Sơn"
    res = run(main, ["user", "set-unit", "le.cuong", "Huyện Sông Lam"], env=env)
    assert res.exit_code == 1 and "unknown former district" in res.output
    assert users.get("le.cuong").unit == "district:Huyện Kỳ Sơn"
    res = run(main, ["user", "list", "--json"], env=env)
    assert json.loads(res.output)[0]["unit"] == "district:Huyện Kỳ Sơn"
    res = run(main, ["user", "add", "pham.dung", "--role", "commander", "--unit", "BP-077",
                     "--password-stdin"], input=f"{PASSWORD}\n", env=env)
    assert res.exit_code == 1 and "unknown post" in res.output and users.get("pham.dung") is None


def test_the_patrol_run_refuses_another_units_post(world):
    from geo_pcmt import access
    from geo_pcmt.runs import patrol as patrol_run
    params = patrol_run.PatrolParams(post="Nậm Cắn", hours=4, unit="post:BP-002",
                                     time_limit_s=1.0)
    with pytest.raises(access.AccessDenied, match="không thuộc đơn vị"):
        patrol_run.read_inputs(world["store"], params)
    admin = patrol_run.PatrolParams(post="Nậm Cắn", hours=4, unit="post:BP-002", role="admin")
    assert patrol_run.read_inputs(world["store"], admin).post.id == "BP-001"
    listed = patrol_run.list_plans(world["store"], role="commander", posts=("BP-002",))
    assert list(listed["id"]) == [world["b"]]
