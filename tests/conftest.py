"""Shared fixtures, the web test data set, and which tests are ``slow``.

Fixtures (found by name in every test module: never import them)
------------------------------------------------------------------
``communes``
    The real 2025 communes (session).
``store`` / ``empty_store``
    A GeoPackage store with the real boundaries / with empty tables only, each a copy of a
    template built once per session.
``any_store`` / ``any_empty_store``
    The same once per backend: ``[gpkg]`` and ``[postgis]`` (defined in
    :mod:`tests.backends`, registered here).
``pg_server`` / ``pg_templates``
    The session's throw-away PostgreSQL + PostGIS server (:mod:`tests.pg`) and its template
    databases; without the server binaries the PostGIS tests skip loudly.
``web_template`` / ``web_store``
    A GeoPackage holding the boundaries and :func:`web_frames` (small, with known answers),
    built once per session / copied for one test.
``app`` (with ``app_config``)
    The web app on ``web_store`` with one user and one API token per role (see
    :func:`make_app`). A module configures it by overriding ``app_config`` (a dict of app
    settings) and changes its data by overriding ``web_store``.
``module_app``
    One app on its own copy of the web store for a whole module whose tests only read.

Helpers to import (``from tests.conftest import make_app, bearer, login``): :func:`make_app`,
:func:`bearer`, :func:`csrf_of`, :func:`login`, :func:`web_frames`, :func:`retail_frame` and
the constants below.

The quick loop
--------------
``pytest -m "not slow"`` leaves out browser, fault, load, fuzz, PostGIS-server and
whole-service tests. Modules and tests mark themselves (``pytestmark = pytest.mark.slow``);
every test that needs the PostGIS server is marked here, in
:func:`pytest_collection_modifyitems`, so a new PostGIS test is slow without saying so.
``pytest`` alone runs everything (as CI does), the docstring examples of ``geo_pcmt`` and
``tools`` included (``--doctest-modules``, see pyproject.toml and the root ``conftest.py``).

Scratch space: ``tmp_path`` and ``tempfile`` folders are on /dev/shm when it is a tmpfs with
room (see :func:`_scratch_on_tmpfs`).
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from geo_pcmt.ingest import boundaries
from geo_pcmt.store import GeoPackageStore
from geo_pcmt.users import UserStore
from geo_pcmt.web import create_app

from .backends import any_empty_store, any_store, copy_store, pg_templates  # noqa: F401
from .pg import pg_server  # noqa: F401  (fixtures, registered for every module)

# --- scratch space -----------------------------------------------------------------------------

def _scratch_on_tmpfs(min_free_bytes: int = 4 * 2**30) -> None:
    """Put ``tmp_path`` and every ``tempfile`` folder of the test process on /dev/shm when
    it is a writable tmpfs with room, unless ``TMPDIR`` names a place or
    ``GEO_PCMT_TEST_TMPFS=0``. The stores fsync every commit; on disk those waits were
    most of the quick loop's time, and no test depends on surviving a power cut."""
    shm = Path("/dev/shm")
    if os.environ.get("TMPDIR") or os.environ.get("GEO_PCMT_TEST_TMPFS") == "0":
        return
    if shm.is_dir() and os.access(shm, os.W_OK | os.X_OK) \
            and shutil.disk_usage(shm).free >= min_free_bytes:
        tempfile.tempdir = str(shm)


_scratch_on_tmpfs()


# --- the quick loop: which tests are slow ----------------------------------------------------

POSTGIS_FIXTURES = frozenset({"pg_server", "pg_templates"})


def needs_postgis(item: pytest.Item) -> bool:
    """Whether ``item`` uses the PostGIS server: it asks for the server (directly or through
    another fixture) or it is the ``postgis`` variant of a backend-parametrised test."""
    if POSTGIS_FIXTURES & set(getattr(item, "fixturenames", ())):
        return True
    callspec = getattr(item, "callspec", None)
    return callspec is not None and any(isinstance(value, str) and value == "postgis"
                                        for value in callspec.params.values())


@pytest.hookimpl(tryfirst=True)  # before ``-m`` selects on the markers
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test that needs the PostGIS server ``slow``."""
    for item in items:
        if needs_postgis(item):
            item.add_marker(pytest.mark.slow)


# --- stores ----------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def communes() -> gpd.GeoDataFrame:
    return boundaries.communes()


@pytest.fixture
def store(tmp_path) -> GeoPackageStore:
    """A GeoPackage store with the real boundaries (a copy of the session's template)."""
    return copy_store(tmp_path / "test.gpkg", boundaries=True)


@pytest.fixture
def empty_store(tmp_path) -> GeoPackageStore:
    """A GeoPackage store with every table and no rows (a copy of the session's template)."""
    return copy_store(tmp_path / "empty.gpkg", boundaries=False)


def retail_frame(n: int, start: int = 0, lon: float = 104.17, lat: float = 19.41):
    """n valid retail points around Mường Xén/Nậm Cắn with ids RP-<i>."""
    ids = [f"RP-{i:06d}" for i in range(start, start + n)]
    return gpd.GeoDataFrame({
        "id": ids, "source": "test", "type": "diem_ban_le", "status": "active",
        "first_seen": "2024-01-01", "name": [f"Điểm {i}" for i in range(start, start + n)],
    }, geometry=shapely.points([lon + (i % 100) * 1e-4 for i in range(n)],
                               [lat + (i // 100) * 1e-4 for i in range(n)]), crs="EPSG:4326")


# --- the web data set with known answers ------------------------------------------------------

FAST_HASH = "pbkdf2:sha256:1000"  # the real default (scrypt) is tested in test_auth.py
PASSWORD = "mật-khẩu-thử-nghiệm"
ROLES = ("viewer", "analyst", "commander", "admin")
MUONG_XEN, NAM_CAN = "16813", "16837"
# 8 retail points in Mường Xén, 3 in Nậm Cắn, one of each secret: see web_frames()
XSS_NAME = "<script>alert('xss')</script>"
XSS_IMG = '<img src=x onerror="alert(1)">'


def _points(rows, crs="EPSG:4326"):
    return gpd.GeoDataFrame([r[2] for r in rows],
                            geometry=shapely.points([r[0] for r in rows], [r[1] for r in rows]),
                            crs=crs)


def web_frames() -> dict[str, gpd.GeoDataFrame]:
    """Constructed records with known answers.

    retail_points: RP-00 … RP-09 in Mường Xén on a line from (104.10, 19.35) eastwards
    every 0.01°, RP-10 … RP-12 in Nậm Cắn at lat 19.50; RP-07 and RP-12 are secret,
    RP-08 and RP-09 public, the rest restricted; RP-02 is cleared; RP-05's name is a script.
    """
    rp = []
    for i in range(13):
        in_mx = i < 10
        lon = 104.10 + 0.01 * i if in_mx else 104.15 + 0.01 * (i - 10)
        lat = 19.35 if in_mx else 19.50
        conf = "secret" if i in (7, 12) else "public" if i in (8, 9) else "restricted"
        rp.append((lon, lat, {
            "id": f"RP-{i:02d}", "source": "test SYNTHETIC", "type": "diem_ban_le",
            "status": "cleared" if i == 2 else "active", "first_seen": f"2024-0{1 + i % 9}-15",
            "name": XSS_NAME if i == 5 else f"Điểm số {i}", "case_ref": f"VA-{i}",
            "address": f"Bản {i}", "confidentiality": conf,
            "commune_code": MUONG_XEN if in_mx else NAM_CAN}))
    crossings = [(104.12, 19.40, {"id": "BC-1", "source": "test", "kind": "international",
                                  "name": "Nậm Cắn", "border_post": "Đồn BP CKQT Nậm Cắn",
                                  "confidentiality": "public"}),
                 (104.20, 19.45, {"id": "BC-2", "source": "test", "kind": "trail",
                                  "name": XSS_IMG, "confidentiality": "public"}),
                 (104.21, 19.46, {"id": "BC-3", "source": "test", "kind": "trail",
                                  "name": "Đường mòn bí mật", "confidentiality": "restricted"})]
    cases = [(104.10 + 0.001 * d, 19.36, {
        "id": f"C-{d:02d}", "source": "test", "kind": "retail", "date": f"2024-03-{d:02d}",
        "offenders": 1, "commune_code": MUONG_XEN, "confidentiality": "restricted"})
        for d in range(1, 21)]
    status = pd.DataFrame({
        "id": ["ST-1", "ST-2"], "run_id": "r1", "commune_code": [MUONG_XEN, NAM_CAN],
        "period": ["2024", "2025"], "status": ["loai_I", "khong_ma_tuy"],
        "criteria": ["a) 0.6 % addicts; b) 3 locations", ""], "confidentiality": "public"})
    return {"retail_points": _points(rp), "border_crossings": _points(crossings),
            "cases": _points(cases), "commune_status": status}


@pytest.fixture(scope="session")
def web_template(tmp_path_factory) -> Path:
    """A GeoPackage with the boundaries and :func:`web_frames`, built once per session."""
    store = copy_store(tmp_path_factory.mktemp("web_template") / "web.gpkg")
    for name, frame in web_frames().items():
        store.write(name, frame, mode="replace", user="fixture")
    store.close()  # the whole store in the one file before it is copied
    return store.path


@pytest.fixture
def web_store(web_template, tmp_path) -> GeoPackageStore:
    """A fresh copy of the template store for one test."""
    path = tmp_path / "web.gpkg"
    shutil.copy(web_template, path)
    return GeoPackageStore(path)


# --- the app, its users and their tokens ------------------------------------------------------

_USERS_TEMPLATE: dict[str, object] = {}


def _users_template() -> tuple[Path, dict[str, str]]:
    """A user file with ``<role>_user`` for every role and a token each, made once per
    session (hashing and committing them for every app took a tenth of a second)."""
    if not _USERS_TEMPLATE:
        import atexit
        folder = Path(tempfile.mkdtemp(prefix="geo_pcmt_users_"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        users = UserStore(folder / "users.sqlite", hash_method=FAST_HASH).init()
        tokens = {}
        for role in ROLES:
            users.add(f"{role}_user", PASSWORD, role, display_name=f"Người dùng {role}")
            tokens[role] = users.create_token(f"{role}_user")[0]
        with sqlite3.connect(users.path) as conn:  # everything in the main file, to copy it
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        _USERS_TEMPLATE.update(path=users.path, tokens=tokens)
    return _USERS_TEMPLATE["path"], dict(_USERS_TEMPLATE["tokens"])


def make_app(store, tmp_path: Path, **config):
    """The app on ``store`` (its own store object, as a gunicorn worker has; either
    backend) with one user per role (``<role>_user``, password :data:`PASSWORD`) and an API
    token each (``app.config["TEST_TOKENS"][role]``, see :func:`bearer`)."""
    from .backends import store_url
    users_path, tokens = _users_template()
    users_db = tmp_path / "users.sqlite"
    users_db.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(users_path, users_db)
    users_db.chmod(0o600)
    app = create_app({"STORE": store_url(store), "TESTING": True, "USERS_DB": str(users_db),
                      "PASSWORD_HASH_METHOD": FAST_HASH, **config})
    app.config["TEST_TOKENS"] = tokens
    return app


def bearer(app, role: str | None) -> dict:
    """Headers for ``role`` (none for anonymous)."""
    return {} if role is None else {"Authorization": f"Bearer {app.config['TEST_TOKENS'][role]}"}


def csrf_of(client) -> str:
    """The session's CSRF token, as a form would carry it."""
    client.get("/login")
    with client.session_transaction() as s:
        return s["csrf_token"]


def login(client, username: str, password: str = PASSWORD):
    """Log in through the form (CSRF included); returns the response."""
    token = csrf_of(client)
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": token})


@pytest.fixture
def app_config() -> dict:
    """Extra settings for ``app``; a module overrides this fixture to configure its app."""
    return {}


@pytest.fixture
def app(web_store, tmp_path, app_config):
    """The app on a fresh copy of the web store, one user and token per role."""
    return make_app(web_store, tmp_path, **app_config)


@pytest.fixture(scope="module")
def module_app(tmp_path_factory, web_template):
    """One app on its own copy of the web store for a whole module whose tests only read."""
    folder = tmp_path_factory.mktemp("module_app")
    shutil.copy(web_template, folder / "web.gpkg")
    return make_app(GeoPackageStore(folder / "web.gpkg"), folder)


@pytest.fixture
def live(app):
    """The app served on 127.0.0.1 for a browser: ``(base URL, app, server)``; stopped at the
    end (the field app's browser tests)."""
    from tests.test_map_browser import serve
    base, server = serve(app)
    yield base, app, server
    server.shutdown()
