"""Users, passwords, sessions, tokens, HTTP Basic, login rate limit, roles and the CLI."""
from __future__ import annotations

import base64
import sqlite3

import pytest
from click.testing import CliRunner
from flask import Blueprint

from geo_pcmt.cli import main
from geo_pcmt.users import UserError, UserStore
from geo_pcmt.web.auth import current_role, login_required
from tests.conftest import PASSWORD, bearer, csrf_of, login, make_app


def basic(username: str, secret: str) -> dict:
    raw = base64.b64encode(f"{username}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def collection_ids(client, headers=None) -> set[str]:
    res = client.get("/api/collections", headers=headers or {})
    return {c["id"] for c in res.get_json()["collections"]}


# --- the user store ----------------------------------------------------------------------

def test_passwords_are_stored_as_scrypt_hashes_never_as_text(tmp_path):
    users = UserStore(tmp_path / "u.sqlite").init()
    users.add("phong.nv", "một mật khẩu dài", "analyst", display_name="Nguyễn Văn Phong")
    raw = (tmp_path / "u.sqlite").read_bytes()
    stored = sqlite3.connect(tmp_path / "u.sqlite").execute(
        "SELECT password_hash FROM users").fetchone()[0]
    assert stored.startswith("scrypt:") and "một mật khẩu dài".encode() not in raw
    assert users.authenticate("phong.nv", "một mật khẩu dài").display_name == "Nguyễn Văn Phong"
    assert users.authenticate("phong.nv", "sai mật khẩu") is None


def test_the_user_file_is_readable_by_its_owner_only(tmp_path):
    users = UserStore(tmp_path / "u.sqlite", hash_method="pbkdf2:sha256:1000").init()
    users.add("an", PASSWORD, "viewer")
    for path in tmp_path.glob("u.sqlite*"):
        assert path.stat().st_mode & 0o077 == 0, path


def test_tokens_are_stored_only_as_hashes(tmp_path):
    users = UserStore(tmp_path / "u.sqlite", hash_method="pbkdf2:sha256:1000").init()
    users.add("an", PASSWORD, "viewer")
    secret, info = users.create_token("an", label="QGIS")
    assert secret.startswith("gpt_") and secret.encode() not in (tmp_path / "u.sqlite").read_bytes()
    assert users.token_user(secret).username == "an"
    users.revoke_token(info.id)
    assert users.token_user(secret) is None


@pytest.mark.parametrize("username, password, role, words", [
    ("an", "short", "viewer", "too short"),
    ("an", "an-an-an-an", "chief", "unknown role"),
    ("<b>x</b>", PASSWORD, "viewer", "not allowed"),
    ("an", "AN", "viewer", "too short"),
])
def test_bad_users_are_refused_with_the_reason(tmp_path, username, password, role, words):
    users = UserStore(tmp_path / "u.sqlite", hash_method="pbkdf2:sha256:1000").init()
    with pytest.raises(UserError, match=words):
        users.add(username, password, role)


def test_a_username_cannot_be_taken_twice(tmp_path):
    users = UserStore(tmp_path / "u.sqlite", hash_method="pbkdf2:sha256:1000").init()
    users.add("an", PASSWORD, "viewer")
    with pytest.raises(UserError, match="exists"):
        users.add("AN", PASSWORD, "admin")


# --- session login ---------------------------------------------------------------------------

@pytest.mark.slow  # over ~0.5 s: out of the quick loop
def test_login_form_signs_in_and_the_session_sees_restricted_collections(app):
    client = app.test_client()
    assert "retail_points" not in collection_ids(client)
    res = login(client, "analyst_user")
    assert res.status_code == 302
    assert "retail_points" in collection_ids(client)
    assert app.extensions["geo_pcmt_store"].read("audit_log", where={"action": "login"})[
        "user"].tolist() == ["analyst_user"]


def test_wrong_password_is_refused_without_saying_which_part_was_wrong(app):
    client = app.test_client()
    unknown = login(client, "nobody_here", "whatever-password")
    wrong = login(client, "analyst_user", "wrong-password!")
    assert unknown.status_code == wrong.status_code == 401
    assert "Sai tên đăng nhập hoặc mật khẩu" in wrong.get_data(as_text=True)
    assert "retail_points" not in collection_ids(client)


def test_login_without_csrf_token_is_refused(app):
    res = app.test_client().post("/login", data={"username": "analyst_user",
                                                 "password": PASSWORD})
    assert res.status_code == 400 and res.get_json()["code"] == "csrf_failed"


def test_login_is_rate_limited_after_repeated_failures(app):
    client = app.test_client()
    for _ in range(5):
        assert login(client, "admin_user", "guessing-wrong").status_code == 401
    blocked = login(client, "admin_user", PASSWORD)  # even the right password now waits
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
    assert blocked.get_json()["code"] == "too_many_logins"
    assert login(app.test_client(), "viewer_user").status_code == 302  # others unaffected


def test_after_login_the_next_parameter_cannot_redirect_off_site(app):
    client = app.test_client()
    token = csrf_of(client)
    res = client.post("/login", data={"username": "viewer_user", "password": PASSWORD,
                                      "csrf_token": token, "next": "https://evil.example/x"})
    assert res.headers["Location"] == "/"
    res = client.post("/login", data={"username": "viewer_user", "password": PASSWORD,
                                      "csrf_token": csrf_of(client), "next": "/api/collections"})
    assert res.headers["Location"] == "/api/collections"


def test_logout_needs_csrf_and_ends_the_session(app):
    client = app.test_client()
    login(client, "analyst_user")
    assert client.post("/logout").status_code == 400
    with client.session_transaction() as s:
        token = s["csrf_token"]
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert "retail_points" not in collection_ids(client)


def test_disabling_a_user_ends_their_session_and_revokes_their_tokens(app):
    client = app.test_client()
    login(client, "analyst_user")
    app.extensions["geo_pcmt_users"].disable("analyst_user")
    assert "retail_points" not in collection_ids(client)
    res = app.test_client().get("/api/collections", headers=bearer(app, "analyst"))
    assert res.status_code == 401 and res.get_json()["code"] == "invalid_token"


# --- tokens and HTTP Basic ---------------------------------------------------------------

def test_bearer_token_identifies_the_user(app):
    assert "retail_points" in collection_ids(app.test_client(), bearer(app, "analyst"))
    res = app.test_client().get("/api", headers={"Authorization": "Bearer gpt_not_a_token"})
    assert res.status_code == 401 and "Bearer" in res.headers["WWW-Authenticate"]


def test_basic_auth_with_password_or_token_reads_like_the_user(app):
    client = app.test_client()
    assert "retail_points" in collection_ids(client, basic("analyst_user", PASSWORD))
    token = app.config["TEST_TOKENS"]["analyst"]
    assert "retail_points" in collection_ids(client, basic("analyst_user", token))
    other = app.config["TEST_TOKENS"]["admin"]
    assert client.get("/api", headers=basic("analyst_user", other)).status_code == 401


def test_basic_auth_cannot_write(app):
    res = app.test_client().post("/data/upload", headers=basic("admin_user", PASSWORD))
    assert res.status_code == 401 and res.get_json()["code"] == "basic_read_only"


def test_basic_auth_failures_count_towards_the_rate_limit(app):
    client = app.test_client()
    for _ in range(5):
        assert client.get("/api", headers=basic("admin_user", "nope-nope")).status_code == 401
    assert client.get("/api", headers=basic("admin_user", PASSWORD)).status_code == 429


def test_account_page_creates_a_token_shown_once_that_then_works(app):
    client = app.test_client()
    login(client, "commander_user")
    with client.session_transaction() as s:
        csrf = s["csrf_token"]
    page = client.post("/account/tokens", data={"label": "QGIS đồn Nậm Cắn", "days": "30",
                                               "csrf_token": csrf}).get_data(as_text=True)
    secret = page.split("<code>gpt_")[1].split("</code>")[0]
    res = app.test_client().get("/api/collections",
                                headers={"Authorization": f"Bearer gpt_{secret}"})
    assert res.status_code == 200
    assert "gpt_" + secret not in client.get("/account").get_data(as_text=True)


# --- the decorator other blueprints use ---------------------------------------------------------

def _app_with_protected_page(web_store, tmp_path):
    bp = Blueprint("patrol_probe", __name__)

    @bp.get("/probe")
    @login_required(role="commander")
    def probe():
        return {"role": current_role()}

    @bp.get("/probe-any")
    @login_required
    def probe_any():
        return {"role": current_role()}

    app = make_app(web_store, tmp_path)
    app.register_blueprint(bp)
    return app


def test_login_required_sends_browsers_to_login_and_api_clients_a_401(web_store, tmp_path):
    app = _app_with_protected_page(web_store, tmp_path)
    client = app.test_client()
    page = client.get("/probe", headers={"Accept": "text/html"})
    assert page.status_code == 302 and page.headers["Location"].startswith("/login?next=")
    api = client.get("/probe")
    assert api.status_code == 401 and "WWW-Authenticate" in api.headers


def test_login_required_checks_the_role_order(web_store, tmp_path):
    app = _app_with_protected_page(web_store, tmp_path)
    client = app.test_client()
    assert client.get("/probe", headers=bearer(app, "analyst")).status_code == 403
    assert client.get("/probe", headers=bearer(app, "commander")).get_json() == {
        "role": "commander"}
    assert client.get("/probe", headers=bearer(app, "admin")).status_code == 200
    assert client.get("/probe-any", headers=bearer(app, "viewer")).get_json() == {
        "role": "viewer"}


def test_login_required_rejects_unknown_role_names_at_import_time():
    with pytest.raises(ValueError, match="unknown role"):
        login_required(role="general")


# --- the CLI --------------------------------------------------------------------------------

def test_cli_adds_lists_disables_users_and_creates_tokens(empty_store, tmp_path):
    users_file = tmp_path / "cli_users.sqlite"
    env = {"GEO_PCMT_STORE": str(empty_store.path), "GEO_PCMT_USERS": str(users_file)}
    run = CliRunner().invoke
    added = run(main, ["user", "add", "Tran.Binh", "--role", "analyst", "--name", "Trần Bình",
                       "--password-stdin"], input="một-mật-khẩu-đủ-dài\n", env=env)
    assert added.exit_code == 0, added.output
    listing = run(main, ["user", "list"], env=env)
    assert "tran.binh" in listing.output and "Trần Bình" in listing.output
    token = run(main, ["token", "create", "tran.binh", "--label", "qgis"], env=env)
    secret = token.stdout.strip().splitlines()[0]
    store_users = UserStore(users_file)
    assert store_users.token_user(secret).username == "tran.binh"
    assert run(main, ["user", "disable", "tran.binh"], env=env).exit_code == 0
    assert store_users.token_user(secret) is None
    assert run(main, ["user", "disable", "ghost"], env=env).exit_code == 1
    actions = empty_store.read("audit_log")["action"].tolist()
    assert {"user:add", "token:create", "user:disable"} <= set(actions)


def test_cli_refuses_a_short_password(empty_store, tmp_path):
    env = {"GEO_PCMT_STORE": str(empty_store.path), "GEO_PCMT_USERS": str(tmp_path / "u.sqlite")}
    res = CliRunner().invoke(main, ["user", "add", "lan", "--role", "viewer", "--password-stdin"],
                             input="ngắn\n", env=env)
    assert res.exit_code == 1 and "too short" in res.output


# --- anonymous visitors --------------------------------------------------------------------

def test_anonymous_visitors_get_reference_layers_only_by_default(app):
    client = app.test_client()
    assert collection_ids(client) == {"communes", "commune_lineage", "province", "border_line",
                                      "lao_provinces"}
    assert client.get("/api/collections/retail_points_per_commune/items").status_code == 404


def test_a_closed_network_may_give_anonymous_visitors_the_viewer_aggregates(web_store, tmp_path):
    app = make_app(web_store, tmp_path, ANONYMOUS_ROLE="viewer")
    client = app.test_client()
    ids = collection_ids(client)
    assert "retail_points_per_commune" in ids and "retail_points" not in ids
    assert client.get("/account").status_code == 401  # still not signed in
    with pytest.raises(ValueError, match="never more"):
        make_app(web_store, tmp_path / "x", ANONYMOUS_ROLE="analyst")
