"""Server-side sessions: revocable at once, idle and absolute expiry, password change and
reset (web and CLI), the login throttle under concurrent guesses, and small auth defects."""
from __future__ import annotations

import sqlite3
import threading

import pytest
from click.testing import CliRunner

from geo_pcmt.cli import main
from geo_pcmt.users import UserError, UserStore
from tests.conftest import PASSWORD, csrf_of, login, make_app

NEW_PASSWORD = "mật-khẩu-mới-của-tôi"
COOKIE = "session"


def users_of(app) -> UserStore:
    return app.extensions["geo_pcmt_users"]


def csrf(client) -> str:
    with client.session_transaction() as s:
        return s["csrf_token"]


def signed_in(app, username: str):
    """A client signed in as ``username`` and the cookie value it holds."""
    client = app.test_client()
    assert login(client, username).status_code == 302
    return client, client.get_cookie(COOKIE).value


def cookie_works(app, cookie: str) -> bool:
    """Whether a browser holding a copy of ``cookie`` is signed in."""
    other = app.test_client()
    other.set_cookie(COOKIE, cookie)
    return other.get("/account").status_code == 200


def token_works(app, token: str) -> bool:
    res = app.test_client().get("/api/collections", headers={"Authorization": f"Bearer {token}"})
    return res.status_code == 200


# --- revocation -------------------------------------------------------------------------------

def _logout(app, client, username):
    return client.post("/logout", data={"csrf_token": csrf(client)})


def _disable(app, client, username):
    return users_of(app).disable(username)


def _change_password(app, client, username):
    res = client.post("/account/password", data={
        "current_password": PASSWORD, "new_password": NEW_PASSWORD,
        "confirm_password": NEW_PASSWORD, "csrf_token": csrf(client)})
    assert res.status_code == 302, res.get_data(as_text=True)


def _admin_reset(app, client, username):
    admin, _ = signed_in(app, "admin_user")
    res = admin.post(f"/admin/users/{username}/reset", data={"csrf_token": csrf(admin)},
                     headers={"Accept": "text/html"})
    assert res.status_code == 200 and "Mật khẩu tạm thời" in res.get_data(as_text=True)


@pytest.mark.parametrize("event", [_logout, _disable, _change_password, _admin_reset],
                         ids=["logout", "disable", "password change", "admin reset"])
def test_a_saved_cookie_and_a_token_both_fail_right_after(app, event):
    client, cookie = signed_in(app, "analyst_user")
    token = app.config["TEST_TOKENS"]["analyst"]
    assert cookie_works(app, cookie) and token_works(app, token)
    event(app, client, "analyst_user")
    assert not cookie_works(app, cookie)
    assert not token_works(app, token)
    assert users_of(app).count_sessions("analyst_user") <= 1  # at most the changer's new one


def test_a_disabled_user_enabled_again_is_not_signed_in_by_an_old_cookie(app):
    _, cookie = signed_in(app, "analyst_user")
    users_of(app).disable("analyst_user")
    users_of(app).enable("analyst_user")
    assert not cookie_works(app, cookie)
    assert login(app.test_client(), "analyst_user").status_code == 302


def test_the_cookie_holds_only_a_random_id_and_is_not_reissued_on_use(app):
    client, cookie = signed_in(app, "analyst_user")
    assert len(cookie) == 43 and "analyst" not in cookie and "." not in cookie
    res = client.get("/account")
    assert res.status_code == 200 and "Set-Cookie" not in res.headers
    stored = sqlite3.connect(app.config["USERS_DB"]).execute(
        "SELECT id_hash FROM sessions").fetchall()
    assert cookie not in {row[0] for row in stored}  # only its hash is kept


def test_the_cookie_expires_with_the_session_at_the_latest(app):
    res = login(app.test_client(), "viewer_user")
    cookie = res.headers["Set-Cookie"]
    assert "Expires=" in cookie and "HttpOnly" in cookie


class Clock:
    """Stands in for time.time() in geo_pcmt.users."""

    def __init__(self, monkeypatch):
        import time
        self.now = time.time()
        monkeypatch.setattr("geo_pcmt.users.time.time", lambda: self.now)

    def advance(self, hours: float) -> None:
        self.now += hours * 3600


def test_a_session_ends_after_eight_idle_hours(app, monkeypatch):
    clock = Clock(monkeypatch)
    _, cookie = signed_in(app, "analyst_user")
    clock.advance(7.9)
    assert cookie_works(app, cookie)  # a request: idle time starts again
    clock.advance(7.9)
    assert cookie_works(app, cookie)
    clock.advance(8.1)
    assert not cookie_works(app, cookie)


def test_a_session_ends_seven_days_after_sign_in_however_busy(app, monkeypatch):
    clock = Clock(monkeypatch)
    _, cookie = signed_in(app, "analyst_user")
    for _ in range(6 * 24 // 6):
        clock.advance(6)
        assert cookie_works(app, cookie)
    clock.advance(25)
    assert not cookie_works(app, cookie)


def test_expiry_settings_are_honoured(web_store, tmp_path, monkeypatch):
    app = make_app(web_store, tmp_path, SESSION_IDLE_S=600, SESSION_MAX_AGE_S=3600)
    clock = Clock(monkeypatch)
    _, cookie = signed_in(app, "analyst_user")
    clock.advance(0.2)  # 12 minutes
    assert not cookie_works(app, cookie)


# --- password change and reset on the web ------------------------------------------------------

def test_password_change_asks_the_current_password(app):
    client, _ = signed_in(app, "viewer_user")
    page = client.get("/account/password").get_data(as_text=True)
    assert "Mật khẩu hiện tại" in page
    assert "Current password" in client.get("/account/password?lang=en").get_data(as_text=True)
    wrong = client.post("/account/password", data={
        "current_password": "not-my-password", "new_password": NEW_PASSWORD,
        "confirm_password": NEW_PASSWORD, "csrf_token": csrf(client)})
    assert wrong.status_code == 400 and "không đúng" in wrong.get_data(as_text=True)
    differ = client.post("/account/password?lang=en", data={
        "current_password": PASSWORD, "new_password": NEW_PASSWORD,
        "confirm_password": NEW_PASSWORD + "x", "csrf_token": csrf(client)})
    assert differ.status_code == 400 and "differ" in differ.get_data(as_text=True)
    assert users_of(app).authenticate("viewer_user", PASSWORD) is not None


def test_after_a_password_change_this_browser_stays_signed_in_with_the_new_password(app):
    client, _ = signed_in(app, "viewer_user")
    _change_password(app, client, "viewer_user")
    assert client.get("/account").status_code == 200
    assert login(app.test_client(), "viewer_user").status_code == 401
    assert login(app.test_client(), "viewer_user", NEW_PASSWORD).status_code == 302
    actions = app.extensions["geo_pcmt_store"].read("audit_log")["action"].tolist()
    assert "password:change" in actions


def test_a_reset_password_must_be_changed_before_anything_else(app):
    admin, _ = signed_in(app, "admin_user")
    res = admin.post("/admin/users/analyst_user/reset", data={"csrf_token": csrf(admin)},
                     headers={"Accept": "application/json"})
    temporary = res.get_json()["temporary_password"]
    client = app.test_client()
    res = login(client, "analyst_user", temporary)
    assert res.status_code == 302 and res.headers["Location"].startswith("/account/password")
    page = client.get("/map", headers={"Accept": "text/html"})
    assert page.status_code == 302 and page.headers["Location"].startswith("/account/password")
    api = client.get("/api/collections/retail_points/items")
    assert api.status_code == 403 and api.get_json()["code"] == "password_change_required"
    res = client.post("/account/tokens", data={"csrf_token": csrf(client)})
    assert res.status_code == 403
    res = client.post("/account/password", data={
        "current_password": temporary, "new_password": NEW_PASSWORD,
        "confirm_password": NEW_PASSWORD, "csrf_token": csrf(client)})
    assert res.status_code == 302
    assert client.get("/api/collections/retail_points/items").status_code == 200
    assert not users_of(app).get("analyst_user").must_change_password


def test_an_admin_cannot_reset_their_own_password_from_the_users_page(app):
    admin, _ = signed_in(app, "admin_user")
    res = admin.post("/admin/users/admin_user/reset", data={"csrf_token": csrf(admin)})
    assert res.status_code == 400 and users_of(app).authenticate("admin_user", PASSWORD)


def test_basic_auth_forgets_a_remembered_password_once_it_is_changed(app):
    import base64
    basic = {"Authorization": "Basic " + base64.b64encode(
        f"viewer_user:{PASSWORD}".encode()).decode()}
    assert app.test_client().get("/api", headers=basic).status_code == 200
    users_of(app).change_password("viewer_user", PASSWORD, NEW_PASSWORD)
    assert app.test_client().get("/api", headers=basic).status_code == 401


# --- the CLI -----------------------------------------------------------------------------------

@pytest.fixture
def cli_env(empty_store, tmp_path):
    users_file = tmp_path / "cli_users.sqlite"
    users = UserStore(users_file, hash_method="pbkdf2:sha256:1000").init()
    users.add("tran.binh", PASSWORD, "analyst")
    env = {"GEO_PCMT_STORE": str(empty_store.path), "GEO_PCMT_USERS": str(users_file)}
    return env, users


def test_cli_passwd_asks_the_current_password_and_ends_sessions_and_tokens(cli_env):
    env, users = cli_env
    token, _ = users.create_token("tran.binh")
    session_id = users.start_session("tran.binh")
    run = CliRunner().invoke
    wrong = run(main, ["user", "passwd", "tran.binh", "--password-stdin"],
                input=f"sai-mật-khẩu-rồi\n{NEW_PASSWORD}\n", env=env)
    assert wrong.exit_code == 1 and "current password is wrong" in wrong.output
    assert users.token_user(token) is not None
    ok = run(main, ["user", "passwd", "tran.binh", "--password-stdin"],
             input=f"{PASSWORD}\n{NEW_PASSWORD}\n", env=env)
    assert ok.exit_code == 0, ok.output
    assert users.token_user(token) is None and users.session_user(session_id) is None
    assert users.authenticate("tran.binh", NEW_PASSWORD) is not None


def test_cli_reset_prints_a_temporary_password_that_must_be_changed(cli_env):
    env, users = cli_env
    token, _ = users.create_token("tran.binh")
    res = CliRunner().invoke(main, ["user", "reset", "tran.binh"], env=env)
    assert res.exit_code == 0, res.output
    temporary = res.stdout.strip()
    user = users.authenticate("tran.binh", temporary)
    assert user is not None and user.must_change_password
    assert users.token_user(token) is None
    with pytest.raises(UserError, match="temporary"):
        users.create_token("tran.binh")
    assert CliRunner().invoke(main, ["user", "reset", "ghost"], env=env).exit_code == 1


# --- an older user file upgrades in place -------------------------------------------------------

OLD_SCHEMA = """
CREATE TABLE users (username TEXT PRIMARY KEY, password_hash TEXT NOT NULL, role TEXT NOT NULL,
    display_name TEXT NOT NULL DEFAULT '', active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL, disabled_at TEXT);
CREATE TABLE tokens (id TEXT PRIMARY KEY, username TEXT NOT NULL REFERENCES users(username),
    token_hash TEXT NOT NULL UNIQUE, label TEXT NOT NULL DEFAULT '', created_at TEXT NOT NULL,
    expires_at TEXT, revoked_at TEXT, last_used_at TEXT);
CREATE TABLE login_failures (key TEXT NOT NULL, at REAL NOT NULL);
"""


def test_a_user_file_of_the_previous_version_upgrades_in_place(tmp_path):
    from werkzeug.security import generate_password_hash
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(OLD_SCHEMA)
    conn.execute("INSERT INTO users VALUES ('an', ?, 'analyst', 'An', 1, '2024-01-01T00:00:00Z',"
                 " NULL)", (generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000"),))
    conn.commit()
    conn.close()
    users = UserStore(path).init()
    user = users.authenticate("an", PASSWORD)
    assert user is not None and not user.must_change_password
    assert user.unit == "province"  # units came later: an existing user sees what they saw
    assert users.session_user(users.start_session("an")).username == "an"
    UserStore(path).init()  # twice is harmless
    temporary = users.reset_password("an")
    assert users.authenticate("an", temporary).must_change_password


# --- the login throttle under concurrent guesses ---------------------------------------------------

def test_concurrent_wrong_guesses_get_no_more_tries_than_the_limit(web_store, tmp_path):
    # a real-cost hash, so that guesses overlap while each is being checked
    app = make_app(web_store, tmp_path, PASSWORD_HASH_METHOD="pbkdf2:sha256:200000")
    clients = [app.test_client() for _ in range(16)]
    tokens = [csrf_of(c) for c in clients]
    start = threading.Barrier(16)
    statuses: list[int] = []

    def guess(client, token):
        start.wait()
        res = client.post("/login", data={"username": "admin_user", "password": "guess-guess",
                                          "csrf_token": token})
        statuses.append(res.status_code)

    threads = [threading.Thread(target=guess, args=ct) for ct in zip(clients, tokens)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [401] * 5 + [429] * 11


def test_claims_are_atomic_in_the_user_store(tmp_path):
    users = UserStore(tmp_path / "u.sqlite", hash_method="pbkdf2:sha256:1000").init()
    results: list = []
    start = threading.Barrier(12)

    def claim():
        start.wait()
        results.append(users.claim_attempt([("user:x|ip", 5), ("ip:ip", 30)], 900)[0])

    threads = [threading.Thread(target=claim) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    granted = [c for c in results if c is not None]
    assert len(granted) == 5
    users.release_attempt(granted[0], "user:x|ip")
    assert users.recent_failures("user:x|ip", 900)[0] == 0
    assert users.recent_failures("ip:ip", 900)[0] == 4


def test_a_right_password_does_not_count_as_a_failure(app):
    for _ in range(10):
        assert login(app.test_client(), "viewer_user").status_code == 302


# --- small defects ---------------------------------------------------------------------------------

@pytest.mark.parametrize("days, status", [("3000000", 400), ("366", 400), ("0", 400),
                                          ("x", 400), ("365", 200)])
def test_token_lifetime_is_one_to_365_days_with_a_clear_400(app, days, status):
    client, _ = signed_in(app, "analyst_user")
    res = client.post("/account/tokens", data={"days": days, "csrf_token": csrf(client)},
                      headers={"Accept": "application/json"})
    assert res.status_code == status
    if status == 400:
        assert res.get_json()["code"] == "invalid_token_request"
    if days == "3000000":
        assert "365" in res.get_json()["description"]


@pytest.mark.parametrize("target", ["/api\r\nX-Evil: 1", "/a\nb", "/a\rb", "/x\x00y",
                                    "\r\n/api"])
def test_a_line_break_in_next_sends_home_never_500(app, target):
    client = app.test_client()
    res = client.post("/login", data={"username": "viewer_user", "password": PASSWORD,
                                      "csrf_token": csrf_of(client), "next": target})
    assert res.status_code == 302 and res.headers["Location"] == "/"
    assert "X-Evil" not in res.headers
    assert client.get("/login", query_string={"next": target}).status_code == 200
