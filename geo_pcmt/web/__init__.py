"""The Flask application factory: ``create_app(config)`` builds the web service.

Blueprints, registered in one place (:func:`create_app`):

=========  =====================  ============================================================
name       prefix                 what
=========  =====================  ============================================================
auth       /login /logout         session login, account page with API tokens
           /account
ogcapi     /api                   OGC API – Features (Core, GeoJSON, HTML, OpenAPI 3.0)
exports    /export                ``<collection>.geojson|.gpkg|.csv|.xlsx`` with filters
data       /upload /data          uploads with the validation report; deletes (admins)
admin      /admin                 audit log (view, export), users (admins)
public     /layers                the published boundary layers
maps       / /map                 the interactive map
patrol     /patrol                patrol plans (commanders)
field      /field/                the phone app for offline field capture (PWA)
=========  =====================  ============================================================

``field_sync`` (:mod:`.field_sync`) serves ``/api/field/*`` and ``/field/conflicts``: the
snapshot phones take offline, their edit batches and the conflicts left for analysts.

Security (headers, CSP, CSRF, JSON errors) is in :mod:`.security`; identification and
roles in :mod:`.auth`; who may see what in :mod:`geo_pcmt.access`; the request's store
(:func:`~geo_pcmt.web.context.get_store`) in :mod:`.context`.
"""
from __future__ import annotations

import os
import sys
import secrets
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any, Mapping

from flask import Flask, send_from_directory

from geo_pcmt.paths import default_store_path
from geo_pcmt.store import open_store
from geo_pcmt.web.context import get_store  # noqa: F401  (re-exported: the old place)

DEFAULTS: dict[str, Any] = {
    "MAX_CONTENT_LENGTH": 50 * 1024 * 1024,   # uploads (and any request body), bytes
    "API_LIMIT_DEFAULT": 100,                 # features per page without ?limit
    "API_LIMIT_MAX": 10_000,                  # larger ?limit values are served as this
    "API_COUNT_CACHE_S": 5,                   # numberMatched reused this long per filter (0: off)
    "LOGIN_MAX_FAILURES": 5,                  # per username and address, per window
    "LOGIN_MAX_FAILURES_PER_IP": 30,          # per address, per window
    "LOGIN_WINDOW_S": 15 * 60,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_SECURE": False,           # set True behind TLS
    "PERMANENT_SESSION_LIFETIME": timedelta(hours=8),
    "CSP_IMG_SRC": ("'self'", "data:", "blob:"),
    "TRUST_PROXY": 0,                         # number of reverse proxies in front (X-Forwarded-*)
    "API_EDITS_WITHOUT_IF_MATCH": (),         # User-Agent tokens (e.g. "QGIS/") whose edits may
                                              # omit If-Match: last writer wins, audited (docs/api.md)
    "ANONYMOUS_ROLE": None,                   # None: anonymous sees reference layers only;
                                              # "viewer": anonymous gets the viewer's aggregates
    "JSON_SORT_KEYS": False,
    # "WARM_UP": build the shipped boundaries at start-up (default: unless TESTING)
    # "INGEST_PROCESSES": helper processes that read and validate uploads at a lower CPU
    # priority, so readers get the cores first (default 1; 0 with TESTING: in the request)
    "INGEST_NICE": 10,                        # how much lower the helpers run (os.nice)
    # "SWITCH_INTERVAL_S": the server process's GIL switch interval (default 0.001 s,
    # unless TESTING; Python's own is 0.005)
}


def _secret_key(directory: Path) -> str:
    """A key kept in ``directory/secret_key`` (0600) so sessions survive restarts and every
    gunicorn worker signs with the same key; created atomically by the first one."""
    path = directory / "secret_key"
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        tmp = directory / f".secret_key.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
        try:
            os.link(tmp, path)  # fails if another worker won the race: use theirs
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    return path.read_text().strip()


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app.

    Configuration comes, later entries winning, from :data:`DEFAULTS`, the file named by
    ``$GEO_PCMT_CONFIG`` (a Python file of UPPER_CASE settings), environment variables
    prefixed ``GEO_PCMT_`` (e.g. ``GEO_PCMT_STORE``, ``GEO_PCMT_SECRET_KEY``), and ``config``.

    Settings beyond :data:`DEFAULTS`: ``STORE`` (GeoPackage path or ``postgresql://`` URL),
    ``USERS_DB`` (user file; default ``users.sqlite`` beside the store), ``SECRET_KEY``
    (default: generated once into ``secret_key`` beside the user file), ``UPLOAD_DIR``
    (pending uploads; default ``uploads/`` beside the user file), ``PASSWORD_HASH_METHOD``.
    """
    from geo_pcmt.users import UserStore

    app = Flask(__name__)
    _configure(app, config)
    app.extensions["geo_pcmt_store"] = open_store(app.config["STORE"])
    app.extensions["geo_pcmt_users"] = UserStore(
        app.config["USERS_DB"], hash_method=app.config.get("PASSWORD_HASH_METHOD")).init()
    app.extensions["geo_pcmt_basic_cache"] = {}
    # audit records of restricted reads are committed here while the answer is serialised
    app.extensions["geo_pcmt_audit_pool"] = ThreadPoolExecutor(4, thread_name_prefix="audit")
    _register_blueprints(app)
    if app.config.get("WARM_UP", not app.testing):
        _warm_up()
    interval = app.config.get("SWITCH_INTERVAL_S", None if app.testing else 0.001)
    if interval:
        # threads coming back from the store or the socket wait for the GIL up to this
        # long (Python's default 5 ms); 1 ms cut the load test's p99 by about a sixth
        sys.setswitchinterval(float(interval))
    _start_ingest_helpers(app)
    return app


def _configure(app: Flask, config: Mapping[str, Any] | None) -> None:
    """Load the settings (see :func:`create_app`) and fill in the derived ones."""
    from geo_pcmt.users import default_users_path

    app.config.update(DEFAULTS)
    app.config["STORE"] = str(default_store_path())
    if os.environ.get("GEO_PCMT_CONFIG"):
        app.config.from_envvar("GEO_PCMT_CONFIG")
    app.config.from_prefixed_env("GEO_PCMT")
    app.config.update(config or {})
    if app.config["ANONYMOUS_ROLE"] not in (None, "viewer"):
        raise ValueError("ANONYMOUS_ROLE must be None or 'viewer' (never more for anonymous "
                         f"visitors), got {app.config['ANONYMOUS_ROLE']!r}")
    if not app.config.get("USERS_DB"):
        app.config["USERS_DB"] = str(default_users_path(app.config["STORE"]))
    var_dir = Path(app.config["USERS_DB"]).resolve().parent
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(var_dir)
    app.config.setdefault("UPLOAD_DIR", str(var_dir / "uploads"))
    if app.config["TRUST_PROXY"]:
        from werkzeug.middleware.proxy_fix import ProxyFix
        n = int(app.config["TRUST_PROXY"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)


def _register_blueprints(app: Flask) -> None:
    """Security hooks, identification, then every blueprint (the map owns ``/``)."""
    from geo_pcmt.web import (admin, auth, data, exports, field, field_sync, maps, ogcapi, patrol,
                              public, reports, security)
    security.init_app(app)
    # order matters: who is asking must be known before the CSRF check exempts Bearer calls
    app.before_request(auth.load_identity)
    app.before_request(security.check_csrf)

    @app.context_processor
    def _role():
        return {"role": auth.current_role(), "has_map": "maps" in app.blueprints}

    for bp in (auth.bp, ogcapi.bp, exports.bp, data.bp, admin.bp, public.bp, maps.bp, patrol.bp,
               reports.bp, field.bp):
        app.register_blueprint(bp)
    field_sync.register(app)

    @app.get("/favicon.ico")
    def _favicon():
        """The browser's tab icon (the field app's), so no page logs a missing file."""
        return send_from_directory(Path(app.root_path) / "static" / "field", "icon-192.png",
                                   mimetype="image/png", max_age=7 * 86400)


def _start_ingest_helpers(app: Flask) -> None:
    """Start the helper processes that check uploads (``INGEST_PROCESSES``, default 1; none
    under TESTING) in each server process, on its first request (not in a --preload
    master)."""
    processes = int(app.config.get("INGEST_PROCESSES", 0 if app.testing else 1))
    if processes <= 0:
        return
    from geo_pcmt.ingest.pool import CheckPool
    pool = CheckPool(processes=processes, nice=int(app.config["INGEST_NICE"]))
    app.extensions["geo_pcmt_check_pool"] = pool
    started = set()

    @app.before_request
    def _start() -> None:
        if os.getpid() not in started:
            started.add(os.getpid())
            pool.start(writer=get_store(app).writes_hold_the_store)


def _warm_up() -> None:
    """Build the shipped boundaries now, not in the first requests that need them (each
    gunicorn worker forked from a ``--preload`` master then shares them)."""
    from geo_pcmt.ingest import boundaries
    for load in (boundaries.communes, boundaries.province, boundaries.border_line,
                 boundaries.lao_provinces):
        try:
            load()
        except FileNotFoundError:  # a deployment without the shipped files still serves
            pass
