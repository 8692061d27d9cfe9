"""Who is asking: session login for people, tokens for programs, roles for both.

How a request is identified (:func:`load_identity`, run before every request):

* ``Authorization: Bearer gpt_…`` — an API token (``geo-pcmt token create`` or the
  account page). For scripts and for every write through the API.
* ``Authorization: Basic …`` — username and password, or username and a token as the
  password; for GIS clients (QGIS, ogr2ogr) that only speak Basic. **Reading only**: a
  browser replays Basic credentials on cross-site form posts, so Basic cannot carry CSRF-
  free writes. Failures count towards the login rate limit like form logins do.
* the session cookie set by ``/login`` (with CSRF protection on every form). The cookie
  holds only a random id; the session is kept on the server (:mod:`.sessions`) and ends
  at sign-out, when the user is disabled, changes the password or has it reset (every
  session and API token of the user at once), after 8 idle hours or 7 days.
* nothing — an anonymous visitor: ``current_role()`` is ``None``. Anonymous visitors see
  the published reference layers (boundaries, border line) and nothing derived from
  records, not even the per-commune aggregates: those need at least a viewer login.
  A deployment on a closed network may set ``ANONYMOUS_ROLE = "viewer"`` to give anonymous
  visitors the viewer's public aggregates (never more); :func:`login_required` still asks
  them to sign in.

A user whose password an admin has reset signs in with the temporary password and can
then do nothing but choose a new one (``/account/password``): pages redirect there, API
calls answer 403 ``password_change_required``.

Other blueprints (the map, patrols) protect their views with :func:`login_required` and
ask :func:`current_role` what to show, and patrols ask :func:`current_unit` whose posts;
the access rules themselves are in :mod:`geo_pcmt.access` and :mod:`geo_pcmt.units`.
"""
from __future__ import annotations

import hashlib
import hmac
import time
from functools import wraps
from typing import Callable
from urllib.parse import urlsplit

from flask import (Blueprint, current_app, g, redirect, render_template, request, session,
                   url_for)

from geo_pcmt import access, units
from geo_pcmt.users import MIN_PASSWORD_LENGTH, TOKEN_PREFIX, User, UserError, UserStore
from geo_pcmt.web.context import get_store
from geo_pcmt.web.security import ApiError, wants_html
from geo_pcmt.web.sessions import limits as session_limits

bp = Blueprint("auth", __name__)

# what a user with a temporary password may still reach
_WHILE_TEMPORARY = frozenset({"auth.change_password", "auth.logout", "static"})
_BASIC_CACHE_S = 300  # a verified Basic password is trusted this long (scrypt costs ~0.1 s)


def get_users(app=None) -> UserStore:
    """The user store of the running app."""
    return (app or current_app).extensions["geo_pcmt_users"]


def current_user() -> User | None:
    """The signed-in user of this request, or None."""
    return g.get("user")


def current_role() -> str | None:
    """The role of this request's user (``viewer`` … ``admin``); for anonymous visitors the
    configured ``ANONYMOUS_ROLE`` (default ``None``: reference layers only)."""
    user = g.get("user")
    return user.role if user is not None else current_app.config.get("ANONYMOUS_ROLE")


def current_unit() -> str:
    """The unit of this request's user (stored form, :mod:`geo_pcmt.units`): whose border
    posts a commander sees and plans for. Anonymous visitors: ``province`` (they read no
    patrol plan anyway)."""
    user = g.get("user")
    return user.unit if user is not None else "province"


@bp.app_template_global("unit_label")
def unit_label(unit: str) -> str:
    """A unit in Vietnamese for a page (a post by its name, :func:`geo_pcmt.units.unit_label`)."""
    posts = None
    if unit.startswith("post:"):
        try:
            posts = access.read(get_store(), "border_posts", role=current_role(),
                                columns=["id", "name"], where={"id": unit[5:]})
        except Exception:  # noqa: BLE001 — no store or layer: the post's id will do
            posts = None
    return units.unit_label(unit, posts)


def actor() -> str:
    """How the audit log names whoever makes this request."""
    user = g.get("user")
    return user.username if user is not None else f"anonymous@{request.remote_addr}"


def login_required(role: str | Callable = "viewer"):
    """Decorator: the view needs a signed-in user with at least ``role``.

    Anonymous browsers are sent to the login page (and back afterwards); API clients get
    401 with a ``WWW-Authenticate`` challenge; users below ``role`` get 403.
    Usable as ``@login_required`` or ``@login_required(role="commander")``.
    """
    if callable(role):  # used bare: @login_required
        return login_required("viewer")(role)
    access.role_rank(role)  # unknown role names fail at import time, not at request time

    def deco(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            user = current_user()
            if user is None:
                if request.method == "GET" and wants_html():
                    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
                raise ApiError(401, "login_required",
                               "sign in first: session login, or Authorization: Bearer <token>",
                               headers=_challenge())
            if not access.at_least(user.role, role):
                raise ApiError(403, "forbidden",
                               f"this needs the {role} role; you are {user.role}")
            return view(*args, **kwargs)
        return wrapper
    return deco


def _challenge() -> dict:
    return {"WWW-Authenticate": 'Bearer realm="geo_pcmt", Basic realm="geo_pcmt", charset="UTF-8"'}


# --- identification ------------------------------------------------------------------------

def _throttle_keys(username: str) -> tuple[str, str]:
    ip = request.remote_addr or "?"
    return f"user:{username.strip().lower()}|{ip}", f"ip:{ip}"


def _too_many(retry_s: float) -> ApiError:
    wait = int(retry_s) + 1
    return ApiError(429, "too_many_logins",
                    f"too many failed logins; try again in {wait} s "
                    f"(đăng nhập sai quá nhiều lần, thử lại sau {wait} giây)",
                    headers={"Retry-After": str(wait)})


def check_throttle(username: str) -> None:
    """429 when this username from this address, or this address, failed too often
    (a read-only look, for requests that need no password check)."""
    cfg = current_app.config
    pair, ip = _throttle_keys(username)
    for key, limit in ((pair, cfg["LOGIN_MAX_FAILURES"]), (ip, cfg["LOGIN_MAX_FAILURES_PER_IP"])):
        n, retry = get_users().recent_failures(key, cfg["LOGIN_WINDOW_S"])
        if n >= limit:
            raise _too_many(retry)


def claim_login(username: str) -> list[int]:
    """Count this attempt as a failure *before* the password is checked (429 when over the
    limit); :func:`login_succeeded` takes it back. See :meth:`UserStore.claim_attempt`."""
    cfg = current_app.config
    pair, ip = _throttle_keys(username)
    claim, retry = get_users().claim_attempt(
        [(pair, cfg["LOGIN_MAX_FAILURES"]), (ip, cfg["LOGIN_MAX_FAILURES_PER_IP"])],
        cfg["LOGIN_WINDOW_S"])
    if claim is None:
        raise _too_many(retry)
    return claim


def login_succeeded(claim: list[int], username: str) -> None:
    """The password was right: the claimed attempt and this pair's failures are forgotten."""
    get_users().release_attempt(claim, _throttle_keys(username)[0])


def login_failed(username: str) -> None:
    """Audit a failed login (the attempt was counted when it was claimed)."""
    get_store().audit(f"anonymous@{request.remote_addr}", "login_failed", None, [],
                      {"username": username[:100], "method": g.get("auth_method") or "form"})


def _basic_key(username: str, password: str) -> str:
    secret = current_app.secret_key
    return hmac.new(secret.encode() if isinstance(secret, str) else secret,
                    f"{username}\0{password}".encode(), hashlib.sha256).hexdigest()


def _basic_user(username: str, password: str) -> User | None:
    users = get_users()
    # Verified passwords are remembered briefly under a keyed hash so a GIS client's
    # dozens of page requests do not each cost a scrypt; the user is re-read every time,
    # so disabling a user takes effect at once.
    cache: dict = current_app.extensions["geo_pcmt_basic_cache"]
    key = _basic_key(username, password)
    hit = cache.get(key)
    if hit and hit[2] > time.monotonic():
        check_throttle(username)
        user = users.get(hit[0])
        # a changed password (here or in another worker) makes the remembered one stale
        if user is not None and user.active and users.password_stamp(hit[0]) == hit[1]:
            return user
        cache.pop(key, None)
    claim = claim_login(username)
    if password.startswith(TOKEN_PREFIX):
        user = users.token_user(password)
        if user is not None and user.username != username.strip().lower():
            user = None
    else:
        user = users.authenticate(username, password)
        if user is not None and not user.must_change_password:
            if len(cache) > 256:
                cache.clear()
            cache[key] = (user.username, users.password_stamp(user.username),
                          time.monotonic() + _BASIC_CACHE_S)
    if user is not None:
        login_succeeded(claim, username)
    return user


def _bearer_identity(header: str) -> None:
    g.auth_method = "bearer"
    token = header.split(" ", 1)[1].strip() if " " in header else ""
    user = get_users().token_user(token)
    if user is None:
        raise ApiError(401, "invalid_token", "the API token is unknown, expired or revoked",
                       headers=_challenge())
    g.user = user


def _basic_identity() -> None:
    g.auth_method = "basic"
    auth = request.authorization
    if auth is None or not auth.username or auth.password is None:
        raise ApiError(401, "invalid_credentials", "malformed Basic credentials",
                       headers=_challenge())
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        raise ApiError(401, "basic_read_only",
                       "HTTP Basic is accepted for reading only; use a Bearer token",
                       headers=_challenge())
    user = _basic_user(auth.username, auth.password)
    if user is None:
        login_failed(auth.username)
        raise ApiError(401, "invalid_credentials", "wrong username or password",
                       headers=_challenge())
    g.user = user


def load_identity() -> None:
    """``before_request``: set ``g.user`` and ``g.auth_method`` (bearer/basic/session/None);
    a user with a temporary password is held to the password page."""
    g.user = None
    g.auth_method = None
    header = request.headers.get("Authorization")
    if header:
        scheme = header.split(" ", 1)[0].lower()
        if scheme == "bearer":
            _bearer_identity(header)
        elif scheme == "basic":
            _basic_identity()
        else:
            raise ApiError(401, "unsupported_auth", f"unsupported Authorization scheme "
                           f"{scheme!r}; use Bearer or Basic", headers=_challenge())
    else:
        user = getattr(session, "user", None)
        if user is not None:
            g.user, g.auth_method = user, "session"
    if g.user is not None and g.user.must_change_password \
            and request.endpoint not in _WHILE_TEMPORARY:
        if request.method == "GET" and wants_html() and g.auth_method == "session":
            return redirect(url_for("auth.change_password", next=request.full_path.rstrip("?")))
        raise ApiError(403, "password_change_required",
                       "choose a new password first: the current one is temporary "
                       "(hãy đổi mật khẩu tạm thời trước)")
    return None


def start_session(user: User) -> None:
    """Sign ``user`` in on this browser: a new server-side session with a new id (and so a
    new CSRF token)."""
    session_id = get_users().start_session(user.username,
                                           max_age_s=session_limits(current_app)[1])
    session.begin(user, session_id)
    g.user, g.auth_method = user, "session"


def _home() -> str:
    return (request.script_root or "") + "/"


def _safe_next(target: str | None) -> str:
    """Only local paths: never an open redirect to another site, never a header break."""
    if not target or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return _home()
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") \
            or "\\" in target:
        return _home()
    return target


def _lang() -> str:
    """``vi`` (default) or ``en`` (``?lang=en``), like the map."""
    return "en" if request.args.get("lang") == "en" else "vi"


# --- views -----------------------------------------------------------------------------------

@bp.route("/login", methods=["GET", "POST"])
def login():
    """The login form; every attempt is counted before the password is checked, and only
    a right password takes it back."""
    next_url = _safe_next(request.values.get("next"))
    if request.method == "GET":
        return render_template("login.html", next=next_url, error=None, username="")
    username = request.form.get("username", "").strip()[:100]
    password = request.form.get("password", "")
    claim = claim_login(username)
    user = get_users().authenticate(username, password) if username and password else None
    if user is None:
        login_failed(username)
        return render_template("login.html", next=next_url, username=username,
                               error="Sai tên đăng nhập hoặc mật khẩu / Wrong username or "
                                     "password"), 401
    login_succeeded(claim, username)
    start_session(user)
    get_store().audit(user.username, "login", None, [], {"ip": request.remote_addr})
    if user.must_change_password:
        return redirect(url_for("auth.change_password", next=next_url))
    return redirect(next_url)


@bp.post("/logout")
def logout():
    """Sign out everywhere: every session and API token of the user ends (POST with CSRF,
    so another site cannot sign a user out)."""
    user = current_user()
    if user is not None:
        get_users().sign_out_everywhere(user.username)
        get_store().audit(user.username, "logout", None, [], {"everywhere": True})
    session.end()
    return redirect(_home())


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Change one's own password (the current one is asked); every other session and all
    API tokens end, this browser gets a fresh session. ``?lang=en`` for English."""
    user, lang = current_user(), _lang()
    next_url = _safe_next(request.values.get("next"))
    page = dict(user=user, lang=lang, next=next_url, min_length=MIN_PASSWORD_LENGTH)
    if request.method == "GET":
        return render_template("password.html", error=None, **page)
    new = request.form.get("new_password", "")
    if new != request.form.get("confirm_password", ""):
        return render_template("password.html", error="mismatch", **page), 400
    try:
        get_users().change_password(user.username, request.form.get("current_password", ""),
                                    new)
    except UserError as exc:
        return render_template("password.html", error=str(exc), **page), 400
    get_store().audit(user.username, "password:change", None, [user.username], {})
    start_session(get_users().get(user.username))
    return redirect(next_url if next_url != _home() else url_for("auth.account", lang=lang))


@bp.get("/account")
@login_required
def account():
    """The user's own page: role, API tokens (create, revoke)."""
    user = current_user()
    return render_template("account.html", user=user, new_token=None,
                           tokens=get_users().list_tokens(user.username))


@bp.post("/account/tokens")
@login_required
def create_token():
    """Create an API token for the signed-in user; it is shown once."""
    user = current_user()
    label = request.form.get("label", "").strip()[:200]
    days_text = request.form.get("days", "").strip()
    try:
        days = int(days_text) if days_text else 90
        secret, info = get_users().create_token(user.username, label=label, days=days)
    except (ValueError, UserError) as exc:
        raise ApiError(400, "invalid_token_request", str(exc)) from None
    get_store().audit(user.username, "token:create", None, [info.id], {"label": label,
                                                                         "days": days})
    return render_template("account.html", user=user, new_token=secret,
                           tokens=get_users().list_tokens(user.username))


@bp.post("/account/tokens/<token_id>/revoke")
@login_required
def revoke_token(token_id: str):
    """Revoke one of the signed-in user's tokens."""
    user = current_user()
    try:
        get_users().revoke_token(token_id, username=user.username)
    except UserError:
        raise ApiError(404, "not_found", "no such token") from None
    get_store().audit(user.username, "token:revoke", None, [token_id], {})
    return redirect(url_for("auth.account"))
