"""Fixtures that give the same test a GeoPackage store and a PostGIS store.

``tests/conftest.py`` registers the fixtures for every test module: a test only names them
(``def test_x(any_store): ...``) and never imports them.

``any_store`` holds the real boundaries (like ``store`` in conftest.py), ``any_empty_store``
only the empty tables. The PostGIS variants are clones of template databases built once per
session on the throw-away server of :mod:`tests.pg`, so each test gets its own database in
a fraction of a second. Without the server binaries the PostGIS variants skip loudly; with
them they are marked ``slow`` (see ``tests/conftest.py``).
"""
from __future__ import annotations

import atexit
import shutil
import sqlite3
import tempfile
from pathlib import Path

import pytest

from geo_pcmt.runs.seed import load_boundaries
from geo_pcmt.store import GeoPackageStore

from .pg import PgServer, shared_server

BACKENDS = ["gpkg", "postgis"]
TEMPLATE_EMPTY = "geo_pcmt_tmpl_empty"
TEMPLATE_BOUNDARIES = "geo_pcmt_tmpl_boundaries"


def _build_templates(server: PgServer) -> dict[str, str]:
    from geo_pcmt.store.postgis import PostGISStore
    existing = {r[0] for r in server.sql("SELECT datname FROM pg_database")}
    for name, with_boundaries in ((TEMPLATE_EMPTY, False), (TEMPLATE_BOUNDARIES, True)):
        if name in existing:
            continue
        store = PostGISStore(server.create_database(name))
        store.init()
        if with_boundaries:
            load_boundaries(store)
        store.close()  # a template must have no open connections to be cloned
    return {"empty": TEMPLATE_EMPTY, "boundaries": TEMPLATE_BOUNDARIES}


@pytest.fixture(scope="session")
def pg_templates(pg_server):
    """Template databases on the session server: ``empty`` and ``boundaries``."""
    return _build_templates(pg_server)


_GPKG_TEMPLATES: dict[bool, Path] = {}


def gpkg_template(boundaries: bool) -> Path:
    """A GeoPackage built once per session (init, boundaries) that tests copy."""
    if boundaries not in _GPKG_TEMPLATES:
        folder = Path(tempfile.mkdtemp(prefix="geo_pcmt_gpkg_"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        store = GeoPackageStore(folder / "template.gpkg")
        store.init()
        if boundaries:
            load_boundaries(store)
        store.close()  # the last connection folds the WAL into the file before copying
        _GPKG_TEMPLATES[boundaries] = store.path
    return _GPKG_TEMPLATES[boundaries]


def copy_store(path: Path, *, boundaries: bool = True) -> GeoPackageStore:
    """A GeoPackage store at ``path``, copied from the session's template: every table, and
    the real boundaries when ``boundaries`` (a copy takes milliseconds, a fresh build seconds)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(gpkg_template(boundaries), path)
    return GeoPackageStore(path)


def make_store(kind: str, tmp_path: Path, *, boundaries: bool):
    """A fresh store of ``kind`` ("gpkg" or "postgis"); PostGIS needs the session server.

    Returns the store; PostGIS databases are dropped with the server at session end.
    """
    if kind == "gpkg":
        return copy_store(tmp_path / f"{'b' if boundaries else 'e'}.gpkg", boundaries=boundaries)
    from geo_pcmt.store.postgis import PostGISStore
    server = shared_server()
    templates = _build_templates(server)
    url = server.create_database(template=templates["boundaries" if boundaries else "empty"])
    return PostGISStore(url, pool_size=2, max_overflow=4)


def _close(store) -> None:
    store.close()
    if getattr(store, "url", None) is not None:  # PostGIS
        # the database itself goes with the server; drop it now to keep the cluster small
        server = shared_server()
        server.drop_database(store.url.database)


def _store_of_the_param(request, tmp_path: Path, *, boundaries: bool):
    """The store of the backend ``request.param`` for one test, closed (and its PostGIS
    database dropped) afterwards."""
    if request.param == "postgis":
        request.getfixturevalue("pg_templates")  # the server, or a loud skip
    store = make_store(request.param, tmp_path, boundaries=boundaries)
    yield store
    _close(store)


@pytest.fixture(params=BACKENDS)
def any_store(request, tmp_path):
    """A store with the real boundaries loaded, once per backend."""
    yield from _store_of_the_param(request, tmp_path, boundaries=True)


@pytest.fixture(params=BACKENDS)
def any_empty_store(request, tmp_path):
    """A store with every table and no rows, once per backend."""
    yield from _store_of_the_param(request, tmp_path, boundaries=False)


def backend(store) -> str:
    return "gpkg" if isinstance(store, GeoPackageStore) else "postgis"


def store_url(store) -> str:
    """What the app's ``STORE`` setting needs to open ``store`` again (password kept)."""
    if backend(store) == "gpkg":
        return str(store.path)
    return store.url.set(drivername="postgresql").render_as_string(hide_password=False)


def execute_sql(store, statement: str) -> None:
    """Run one SQL statement directly in the store's database (test set-up only)."""
    if backend(store) == "gpkg":
        with sqlite3.connect(store.path) as conn:
            conn.executescript(statement)
        return
    import psycopg
    url = store.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(statement)


_TEXT = "Bản Huồi Pốc ‘x’ \"y\" '); DROP TABLE communes; --"


def full_frame(layer, n: int = 3, start: int = 0):
    """``n`` rows of ``layer`` with every column filled with a valid, awkward value.

    Text has Vietnamese diacritics, both quote kinds and SQL; numbers sit on their minimum;
    dates are a leap day; datetimes carry a +07:00 offset; geometries are of every kind the
    layer accepts (single parts in multi layers, points and polygons in generic ones).
    """
    import geopandas as gpd
    import pandas as pd
    import shapely

    data = {}
    for f in layer.fields:
        vals = []
        for i in range(start, start + n):
            if f.name == "id":
                v = f"{layer.name[:3].upper()}-{i:05d}"
            elif f.allowed:
                v = f.allowed[i % len(f.allowed)]
            elif f.type == "str":
                v = (f"{i}" if f.max_length <= 10 else f"{_TEXT} {i}")[: f.max_length]
            elif f.type == "int":
                v = int(f.minimum or 0) + i
            elif f.type == "float":
                v = float(f.minimum or 0) + i + 0.125
            elif f.type == "bool":
                v = [True, False, None][i % 3]
            elif f.type == "date":
                v = "2024-02-29"
            else:
                v = f"2024-03-01T08:3{i % 10}:00+07:00"
            vals.append(v)
        data[f.name] = vals
    frame = pd.DataFrame(data)
    if not layer.has_geometry:
        return frame
    x0, y0 = 104.17, 19.41
    geoms = []
    for i in range(start, start + n):
        x, y = x0 + i * 1e-3, y0 + i * 1e-3
        box = shapely.box(x, y, x + 5e-4, y + 5e-4)
        line = shapely.LineString([(x, y), (x + 1e-3, y + 2e-3)])
        geoms.append({
            "Point": shapely.Point(x, y),
            "LineString": line,
            "MultiPolygon": box if i % 2 else shapely.MultiPolygon([box]),
            "MultiLineString": line if i % 2 else shapely.MultiLineString([line]),
            "Geometry": [shapely.Point(x, y), box][i % 2],
        }[layer.geometry_type])
    return gpd.GeoDataFrame(frame, geometry=geoms, crs="EPSG:4326")


# --- the web app under gunicorn, on loopback ---------------------------------------------------

ADMIN_PASSWORD = "Kiểm-thử 2025 mật khẩu dài"


class Served:
    """A running gunicorn serving the app on 127.0.0.1 (see :func:`serve_app`)."""

    def __init__(self, proc, port: int, token: str, log: Path):
        self.proc, self.port, self.token, self.log = proc, port, token, log
        self.base = f"http://127.0.0.1:{port}"

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}

    def worker_pids(self) -> list[int]:
        """The worker processes of the gunicorn master we started."""
        path = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        return [int(p) for p in path.read_text().split()] if path.exists() else []


def serve_app(store_url: str, folder: Path, *, workers: int = 3, threads: int = 1,
              preload: bool = True, timeout_s: float = 60):
    """Start gunicorn with ``workers`` processes on a free loopback port for ``store_url``.

    With ``preload`` the app is built once and the workers are forked from it (faster to
    start; also proves the store's connections survive a fork).

    One admin user (``admin_user``) with an API token is created in a user file in
    ``folder``. Returns a :class:`Served`; stop it with :func:`stop_app`.
    """
    import os
    import subprocess
    import sys
    import time

    import requests

    from geo_pcmt.users import UserStore

    from .pg import free_port

    users = UserStore(folder / "users.sqlite", hash_method="pbkdf2:sha256:1000").init()
    if users.get("admin_user") is None:
        users.add("admin_user", ADMIN_PASSWORD, "admin")
    token = users.create_token("admin_user", label="load")[0]
    port = free_port()
    env = dict(os.environ, GEO_PCMT_STORE=store_url, GEO_PCMT_USERS_DB=str(folder / "users.sqlite"),
               GEO_PCMT_UPLOAD_DIR=str(folder / "uploads"),
               GEO_PCMT_SECRET_KEY="test-secret-key-" + "x" * 32)
    gunicorn = Path(sys.executable).with_name("gunicorn")
    log = folder / "gunicorn.log"
    proc = subprocess.Popen(
        [str(gunicorn), "--workers", str(workers), "--threads", str(threads),
         "--bind", f"127.0.0.1:{port}", "--timeout", "120", "--graceful-timeout", "5",
         "--backlog", "2048", "--no-control-socket",  # (a shared ~/.gunicorn socket)
         *(["--preload"] if preload else []),
         "geo_pcmt.web:create_app()"],
        env=env, stdout=open(log, "wb"), stderr=subprocess.STDOUT,
        cwd=Path(__file__).resolve().parent.parent)
    served = Served(proc, port, token, log)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited:\n{log.read_text()[-3000:]}")
        try:
            if requests.get(served.base + "/api/conformance", timeout=2).status_code == 200 \
                    and len(served.worker_pids()) >= workers:
                return served
        except requests.RequestException:
            pass
        time.sleep(0.2)
    stop_app(served)
    raise RuntimeError(f"gunicorn did not answer in {timeout_s} s:\n{log.read_text()[-3000:]}")


def stop_app(served: Served) -> None:
    """Stop the gunicorn master we started (it stops its workers) and wait for it."""
    import signal
    import subprocess
    if served.proc.poll() is None:
        served.proc.send_signal(signal.SIGINT)  # quick shutdown; SIGTERM waits for requests
        try:
            served.proc.wait(15)
        except subprocess.TimeoutExpired:
            served.proc.kill()
            served.proc.wait()
