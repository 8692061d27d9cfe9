"""Security of the web service: headers and CSP, CSRF on every form, JSON errors with codes.

Content-Security-Policy
    Every page gets a strict policy: scripts and styles only from this server or inline
    with the per-request nonce (templates use ``nonce="{{ csp_nonce }}"``), no plugins, no
    framing (``frame-ancestors 'none'``). The interactive map is the one exception: folium
    writes its map set-up as inline ``<script>`` blocks and inline styles, so views of the
    ``maps`` blueprint (or views decorated with :func:`relaxed_csp`) get
    ``script-src 'self' 'unsafe-inline'``. The trade-off: on the map page an injected
    ``<script>`` would run, so every value the map shows must be HTML-escaped (the map
    module does that); everywhere else injected markup stays inert even if escaping failed.
    A nonce cannot help folium: adding it to every ``<script>`` in folium's output would
    bless injected scripts as well.

CSRF
    A token belongs to the session (derived from its id, see :mod:`.sessions`, so every
    sign-in brings a new one); every POST/PUT/PATCH/DELETE that is not authenticated by
    an ``Authorization: Bearer`` header must carry it as the form field ``csrf_token`` or the
    header ``X-CSRF-Token``. Bearer requests are exempt because a browser never adds that
    header by itself; HTTP Basic is accepted for reading only (see :mod:`.auth`).

Errors
    Every error leaves as ``{"code", "description", "status"}`` JSON (``error`` repeats the
    code for older clients), or as a small HTML page for browsers; never a stack trace. A
    500 carries a reference that is also in the server log.
"""
from __future__ import annotations

import hmac
import logging
import secrets
import uuid
from functools import wraps
from typing import Callable

from flask import Flask, current_app, g, jsonify, render_template, request, session
from werkzeug.exceptions import HTTPException

from geo_pcmt.web import sessions
from geo_pcmt.web.body_gate import BodyGate

log = logging.getLogger("geo_pcmt.web")

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
RELAXED_BLUEPRINTS = frozenset({"maps"})  # folium's inline scripts: see the module docstring

_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
          405: "method_not_allowed", 406: "not_acceptable", 409: "conflict",
          413: "too_large", 415: "unsupported_media_type", 422: "unprocessable",
          429: "too_many_requests", 500: "server_error"}


class ApiError(HTTPException):
    """An HTTP error with a machine-readable ``error_code`` and a message a user can act on.

    Examples
    --------
    >>> raise ApiError(400, "invalid_bbox", "bbox needs 4 numbers: minLon,minLat,maxLon,maxLat")
    Traceback (most recent call last):
    geo_pcmt.web.security.ApiError: 400 Bad Request: bbox needs 4 numbers: minLon,minLat,maxLon,maxLat
    """

    def __init__(self, status: int, error_code: str, description: str,
                 headers: dict | None = None):
        super().__init__(description=description)
        self.code = status
        self.error_code = error_code
        self.extra_headers = headers or {}


def error_code_of(exc: HTTPException) -> str:
    return getattr(exc, "error_code", None) or _CODES.get(exc.code or 500, "error")


def wants_html() -> bool:
    """Whether the client asked for HTML (``f=html``, or a browser's Accept header)."""
    f = request.args.get("f")
    if f:
        return f == "html"
    best = request.accept_mimetypes.best_match(["application/json", "application/geo+json",
                                                "text/html"])
    return best == "text/html"


# --- CSRF --------------------------------------------------------------------------------

def csrf_token() -> str:
    """The session's CSRF token (an anonymous visitor gets a session id for it on first
    use); for forms and the map's fetch()."""
    return session.csrf_token()


def check_csrf() -> None:
    """``before_request``: refuse unsafe requests without the session's token."""
    if request.method not in UNSAFE_METHODS or g.get("auth_method") == "bearer":
        return
    sent = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD, "")
    expected = session.get(CSRF_FIELD, "")
    if not expected or not sent or not hmac.compare_digest(str(sent), str(expected)):
        raise ApiError(400, "csrf_failed",
                       "missing or wrong CSRF token: reload the form and submit again "
                       "(API clients: send Authorization: Bearer <token>)")


# --- headers -----------------------------------------------------------------------------

def relaxed_csp(view: Callable) -> Callable:
    """Mark a view that serves folium output: inline scripts allowed (see module docstring)."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        g.csp_relaxed = True
        return view(*args, **kwargs)
    return wrapper


def _csp() -> str:
    img = " ".join(current_app.config.get("CSP_IMG_SRC", ("'self'", "data:", "blob:")))
    relaxed = g.get("csp_relaxed") or request.blueprint in RELAXED_BLUEPRINTS
    if relaxed:
        script = style = "'self' 'unsafe-inline'"
    else:
        nonce = g.get("csp_nonce", "")
        script = style = f"'self' 'nonce-{nonce}'"
    return (f"default-src 'self'; script-src {script}; style-src {style}; img-src {img}; "
            "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; "
            "form-action 'self'; frame-ancestors 'none'")


def set_nonce() -> None:
    g.csp_nonce = secrets.token_urlsafe(16)


def add_headers(response):
    h = response.headers
    h.setdefault("Content-Security-Policy", _csp())
    h["X-Content-Type-Options"] = "nosniff"
    h["X-Frame-Options"] = "DENY"
    h["Referrer-Policy"] = "same-origin"
    h["Cross-Origin-Opener-Policy"] = "same-origin"
    h["Permissions-Policy"] = "camera=(), microphone=(), payment=()"
    if request.is_secure:
        h["Strict-Transport-Security"] = "max-age=31536000"
    # what a signed-in user received may be restricted: no shared or disk caches
    if g.get("user") is not None or current_app.config.get("ANONYMOUS_ROLE"):
        h["Cache-Control"] = "private, no-store"
        h.add("Vary", "Cookie")
        h.add("Vary", "Authorization")
    return response


# --- errors ------------------------------------------------------------------------------

def error_response(status: int, code: str, description: str, headers: dict | None = None):
    """The error as JSON or, for browsers, as a page; same code either way."""
    body = {"code": code, "description": description, "status": status, "error": code}
    if wants_html() and not request.path.startswith("/export/"):
        try:
            resp = current_app.make_response((render_template(
                "error.html", status=status, code=code, description=description), status))
        except Exception:  # a broken template must not turn a 404 into a 500
            log.exception("error page failed to render")
            resp = jsonify(body)
            resp.status_code = status
    else:
        resp = jsonify(body)
        resp.status_code = status
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def _handle_http(exc: HTTPException):
    status = exc.code or 500
    description = exc.description or ""
    if status == 413:
        limit = current_app.config.get("MAX_CONTENT_LENGTH")
        description = (f"upload larger than the limit of {limit / 1e6:.0f} MB "
                       f"(tệp vượt quá giới hạn {limit / 1e6:.0f} MB)" if limit else description)
    elif status == 405:
        description = f"{request.method} is not allowed on {request.path}"
    elif status == 404 and not isinstance(exc, ApiError):
        description = f"nothing at {request.path}"
    headers = dict(getattr(exc, "extra_headers", {}) or {})
    if status == 405 and exc.get_headers():
        headers.update({k: v for k, v in exc.get_headers() if k == "Allow"})
    return error_response(status, error_code_of(exc), description, headers)


def _handle_unexpected(exc: Exception):
    ref = uuid.uuid4().hex[:12]
    log.exception("unhandled error %s on %s %s", ref, request.method, request.path)
    return error_response(500, "server_error",
                          f"internal error (reference {ref}); the details are in the server log")


def init_app(app: Flask) -> None:
    """Install server-side sessions, the request-body gate (:mod:`.body_gate`), nonce,
    headers, template helpers and error handlers on ``app``.

    The CSRF check is installed by :func:`geo_pcmt.web.create_app` after the identity is
    known (Bearer requests are exempt).
    """
    sessions.init_app(app)
    app.wsgi_app = BodyGate(app.wsgi_app, app)
    app.before_request(set_nonce)
    app.after_request(add_headers)
    app.register_error_handler(HTTPException, _handle_http)
    app.register_error_handler(Exception, _handle_unexpected)

    @app.context_processor
    def _template_helpers():
        return {"csrf_token": csrf_token, "csp_nonce": g.get("csp_nonce", ""),
                "CSRF_FIELD": CSRF_FIELD}
