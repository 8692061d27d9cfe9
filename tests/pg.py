"""A throw-away PostgreSQL + PostGIS server for the tests, from Debian's packages.

``PgServer`` runs ``initdb`` in a temporary folder, starts ``postgres`` on a free loopback
port with its unix socket in the same folder, and removes everything on ``stop()``. Nothing
outside the folder is touched and no system cluster is used. As root, ``initdb`` and
``postgres`` refuse to run, so they run as the ``postgres`` system user (``runuser``) with
the folder handed over to it.

The ``pg_server`` fixture is registered for every test module by ``tests/conftest.py`` (see
``tests/backends.py`` for the fixtures that give a test a store on either backend); the
tests that use it are marked ``slow`` there.

When the binaries are absent the PostGIS tests are skipped with a loud reason (and a
warning in the summary); install ``postgresql`` and ``postgresql-15-postgis-3`` to run them.
"""
from __future__ import annotations

import atexit
import os
import pwd
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
import warnings
from pathlib import Path
from typing import Callable

import pytest

PG_PACKAGES = "postgresql postgresql-15-postgis-3"
_WATCHDOG = r"""
import os, shutil, subprocess, sys, time
parent, data, root, *cmd = sys.argv[1:]
while True:
    try:
        os.kill(int(parent), 0)
    except ProcessLookupError:
        break
    time.sleep(1)
subprocess.run(cmd + ["stop", "-D", data, "-m", "immediate", "-w"], capture_output=True)
shutil.rmtree(root, ignore_errors=True)
"""


def find_bindir() -> Path | None:
    """The newest ``/usr/lib/postgresql/<v>/bin`` with PostGIS, or only ``$GEO_PCMT_PG_BIN``
    when that is set."""
    if os.environ.get("GEO_PCMT_PG_BIN"):
        candidates = [Path(os.environ["GEO_PCMT_PG_BIN"])]
    else:
        candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"),
                            key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
                            reverse=True)
    for bindir in candidates:
        if not all((bindir / b).exists() for b in ("initdb", "postgres", "pg_ctl")):
            continue
        version = bindir.parent.name
        if Path(f"/usr/share/postgresql/{version}/extension/postgis.control").exists() or \
                os.environ.get("GEO_PCMT_PG_BIN"):
            return bindir
    return None


def missing_reason() -> str:
    where = os.environ.get("GEO_PCMT_PG_BIN") or "/usr/lib/postgresql/*/bin"
    return ("PostGIS TESTS SKIPPED: no PostgreSQL server binaries with the PostGIS extension "
            f"(looked in {where}); install the Debian packages {PG_PACKAGES}")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgServer:
    """One private PostgreSQL cluster in a temporary folder.

    Parameters
    ----------
    bindir : Path
        Where ``initdb``, ``pg_ctl`` and ``postgres`` live.
    settings : dict, optional
        Extra ``postgresql.conf`` settings.
    preexec : callable, optional
        Run in the server process before it starts (e.g. a file-size limit).
    wal_segsize_mb : int, optional
        WAL segment size given to ``initdb`` (small segments for size-limited tests).
    """

    def __init__(self, bindir: Path, *, settings: dict | None = None,
                 preexec: Callable[[], None] | None = None, wal_segsize_mb: int | None = None):
        self.bindir = Path(bindir)
        self.root = Path(tempfile.mkdtemp(prefix="geo_pcmt_pg_"))
        self.data = self.root / "data"
        self.sock = self.root / "sock"
        self.port = free_port()
        self.settings = settings or {}
        self.preexec = preexec
        self.wal_segsize_mb = wal_segsize_mb
        self.running = False
        self._watchdog: subprocess.Popen | None = None
        self.as_user = "postgres" if os.geteuid() == 0 else None

    # --- process control --------------------------------------------------------------

    def _cmd(self, *args: str) -> list[str]:
        if self.as_user:
            return ["runuser", "-u", self.as_user, "--", *args]
        return list(args)

    def _run(self, *args: str, **kw) -> subprocess.CompletedProcess:
        res = subprocess.run(self._cmd(*args), capture_output=True, text=True, **kw)
        if res.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed ({res.returncode}):\n{res.stdout}\n"
                               f"{res.stderr}\n{self.log_tail()}")
        return res

    def log_tail(self, n: int = 30) -> str:
        log = self.root / "server.log"
        if not log.exists():
            return ""
        return "\n".join(log.read_text(errors="replace").splitlines()[-n:])

    def start(self) -> "PgServer":
        self.sock.mkdir()
        if self.as_user:
            pw = pwd.getpwnam(self.as_user)
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
            os.chown(self.sock, pw.pw_uid, pw.pw_gid)
        initdb = [str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres",
                  "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "-N"]
        if self.wal_segsize_mb:
            initdb.append(f"--wal-segsize={self.wal_segsize_mb}")
        self._run(*initdb)
        conf = {
            "listen_addresses": "'127.0.0.1'", "port": str(self.port),
            "unix_socket_directories": f"'{self.sock}'",
            # A test cluster: the tests kill clients, never this server, so skip fsync.
            "fsync": "off", "synchronous_commit": "off", "full_page_writes": "off",
            "max_connections": "300", "shared_buffers": "64MB", "log_min_messages": "warning",
            **{k: str(v) for k, v in self.settings.items()},
        }
        with open(self.data / "postgresql.conf", "a") as fh:
            fh.write("\n# geo_pcmt test server\n")
            fh.writelines(f"{k} = {v}\n" for k, v in conf.items())
        self.launch()
        self._watchdog = subprocess.Popen(
            [sys.executable, "-c", _WATCHDOG, str(os.getpid()), str(self.data), str(self.root),
             *self._cmd(str(self.bindir / "pg_ctl"))],
            start_new_session=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        atexit.register(self.stop)
        self.sql("CREATE EXTENSION IF NOT EXISTS postgis", db="postgres")
        return self

    def launch(self) -> None:
        """Start the server process (again) on the existing data folder."""
        subprocess.run(self._cmd(str(self.bindir / "pg_ctl"), "start", "-D", str(self.data),
                                 "-l", str(self.root / "server.log"), "-w", "-t", "60"),
                       check=True, capture_output=True, preexec_fn=self.preexec)
        self.running = True

    def halt(self, mode: str = "fast") -> None:
        """Stop the server process but keep its data (to restart it with :meth:`launch`)."""
        if self.running:
            subprocess.run(self._cmd(str(self.bindir / "pg_ctl"), "stop", "-D", str(self.data),
                                     "-m", mode, "-w"), capture_output=True)
            self.running = False

    def stop(self) -> None:
        """Stop the server and delete its folder (idempotent)."""
        self.halt("immediate")
        if self._watchdog is not None:
            self._watchdog.kill()
            self._watchdog.wait()
            self._watchdog = None
        shutil.rmtree(self.root, ignore_errors=True)

    # --- databases --------------------------------------------------------------------

    def url(self, db: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{db}"

    def sql(self, statement: str, *, db: str = "postgres", params=None) -> list[tuple]:
        import psycopg
        with psycopg.connect(self.url(db), autocommit=True) as conn:
            cur = conn.execute(statement, params)
            return cur.fetchall() if cur.description else []

    def create_database(self, name: str | None = None, *, template: str | None = None) -> str:
        """A new database (with PostGIS) and its URL; cloned from ``template`` if given."""
        name = name or f"t_{uuid.uuid4().hex[:12]}"
        if template:
            # FILE_COPY (PostgreSQL ≥ 15) copies the files instead of writing every page to
            # the WAL: several times faster for these small databases
            version = int(self.sql("SHOW server_version_num")[0][0])
            strategy = " STRATEGY FILE_COPY" if version >= 150000 else ""
            self.sql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"{strategy}')
        else:
            self.sql(f'CREATE DATABASE "{name}"')
            self.sql("CREATE EXTENSION IF NOT EXISTS postgis", db=name)
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self.sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def file_size_limit(max_bytes: int) -> Callable[[], None]:
    """A ``preexec_fn`` that caps every file the child writes at ``max_bytes``.

    Writes past the cap fail with EFBIG ("File too large") instead of killing the process,
    which is how a full volume looks to the writer.
    """
    def apply() -> None:
        import signal
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, max_bytes))
    return apply


def require_bindir() -> Path:
    """The server binaries, or skip the calling test loudly."""
    bindir = find_bindir()
    if bindir is None:
        warnings.warn(missing_reason(), stacklevel=2)
        pytest.skip(missing_reason())
    return bindir


_SHARED: dict[str, PgServer] = {}


def shared_server() -> PgServer:
    """One server per test session, started on first use and stopped at exit."""
    if "server" not in _SHARED:
        _SHARED["server"] = PgServer(require_bindir()).start()
    return _SHARED["server"]


@pytest.fixture(scope="session")
def pg_server():
    """The session's throw-away PostgreSQL + PostGIS server, stopped at session end.

    ``stop`` is idempotent, so a module that still imports this fixture (a second copy,
    finalised at the end of the session too) does no harm.
    """
    server = shared_server()
    yield server
    server.stop()
    _SHARED.pop("server", None)
