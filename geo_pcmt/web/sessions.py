"""Server-side sign-in sessions: the cookie holds only a random id, the rest is in users.sqlite.

Flask's default session is a signed cookie that carries the username: it keeps working
after ``/logout`` (a copy of it is as good as the original), is re-issued with a fresh
expiry on every request and comes back to life when a disabled user is enabled again.
Here the cookie carries a random session id (256 bits); the session lives in the
``sessions`` table of :class:`geo_pcmt.users.UserStore`, so ending it there ends it for
every copy of the cookie. A session ends

* when the user signs out, is disabled, changes their password or has it reset (every
  session and API token of that user at once),
* after ``SESSION_IDLE_S`` seconds without a request (default 8 hours),
* ``SESSION_MAX_AGE_S`` seconds after sign-in whatever happens (default 7 days); the cookie
  is sent once, at sign-in, with that expiry, and never re-issued.

Anonymous visitors get an id too when a form needs a CSRF token (the login form), but no
row: nothing is stored for them. The CSRF token is derived from the id (an HMAC with the
app's secret key), so it changes with every sign-in and needs no storage either.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time

from flask import Flask, Request, Response
from flask.sessions import SessionInterface, SessionMixin

from geo_pcmt.users import SESSION_IDLE_S, SESSION_MAX_AGE_S, User

CSRF_KEY = "csrf_token"
USER_KEY = "user"
_ID_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")


class ServerSession(dict, SessionMixin):
    """The session of one request: ``user`` (the signed-in :class:`User` or None) and the
    CSRF token under ``"csrf_token"``. Nothing else is kept: values set under other keys
    are not stored."""

    def __init__(self, session_id: str = "", user: User | None = None, secret: bytes = b""):
        super().__init__()
        self.session_id = session_id
        self.user = user
        self.send_cookie = False   # a new id: send it with this response
        self.drop_cookie = False   # the session ended: delete the cookie
        self._secret = secret
        if session_id:
            self[CSRF_KEY] = self._csrf(session_id)
        if user is not None:
            self[USER_KEY] = user.username

    def _csrf(self, session_id: str) -> str:
        return hmac.new(self._secret, b"csrf\0" + session_id.encode(),
                        hashlib.sha256).hexdigest()

    def csrf_token(self) -> str:
        """The token forms carry; an anonymous visitor gets an id for it on first use."""
        if not self.session_id:
            self._use(secrets.token_urlsafe(32), None)
        return self[CSRF_KEY]

    def _use(self, session_id: str, user: User | None) -> None:
        self.clear()
        self.session_id, self.user = session_id, user
        self[CSRF_KEY] = self._csrf(session_id)
        if user is not None:
            self[USER_KEY] = user.username
        self.send_cookie, self.drop_cookie = True, False

    def begin(self, user: User, session_id: str) -> None:
        """This browser is now signed in as ``user`` under the new ``session_id`` (a new id
        at every sign-in: an id planted before it is worthless)."""
        self._use(session_id, user)

    def end(self) -> None:
        """This browser is signed out: the cookie is deleted."""
        self.clear()
        self.session_id, self.user = "", None
        self.send_cookie, self.drop_cookie = False, True


def _secret(app: Flask) -> bytes:
    key = app.secret_key or ""
    return key.encode() if isinstance(key, str) else bytes(key)


def limits(app: Flask) -> tuple[float, float]:
    """``(idle_s, max_age_s)`` of sessions in ``app``."""
    return (float(app.config.get("SESSION_IDLE_S", SESSION_IDLE_S)),
            float(app.config.get("SESSION_MAX_AGE_S", SESSION_MAX_AGE_S)))


class ServerSessionInterface(SessionInterface):
    """Flask session interface over :class:`~geo_pcmt.users.UserStore` sessions."""

    def open_session(self, app: Flask, request: Request) -> ServerSession:
        session_id = request.cookies.get(self.get_cookie_name(app), "")
        if not _ID_RE.match(session_id):
            return ServerSession(secret=_secret(app))
        idle_s, max_age_s = limits(app)
        user = app.extensions["geo_pcmt_users"].session_user(
            session_id, idle_s=idle_s, max_age_s=max_age_s)
        # an unknown or ended id stays as an anonymous id (it only keys the CSRF token)
        return ServerSession(session_id, user, secret=_secret(app))

    def save_session(self, app: Flask, session: ServerSession, response: Response) -> None:
        name, domain, path = (self.get_cookie_name(app), self.get_cookie_domain(app),
                              self.get_cookie_path(app))
        if session.drop_cookie:
            response.delete_cookie(name, domain=domain, path=path,
                                   secure=self.get_cookie_secure(app),
                                   samesite=self.get_cookie_samesite(app),
                                   httponly=self.get_cookie_httponly(app))
        elif session.send_cookie and session.session_id:
            # signed in: the cookie lasts as long as the session may; anonymous: until the
            # browser closes
            expires = time.time() + limits(app)[1] if session.user is not None else None
            response.set_cookie(name, session.session_id, expires=expires, domain=domain,
                                path=path, secure=self.get_cookie_secure(app),
                                samesite=self.get_cookie_samesite(app),
                                httponly=self.get_cookie_httponly(app))
        else:
            return
        response.vary.add("Cookie")


def init_app(app: Flask) -> None:
    """Use server-side sessions in ``app``."""
    app.session_interface = ServerSessionInterface()
