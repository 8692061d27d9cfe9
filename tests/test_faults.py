"""Faults, for both backends: killed writers, a full disk, a killed web worker mid-upload.

What a user must be able to rely on: every record the store acknowledged before a crash is
there afterwards, a write is whole or absent, and the store opens cleanly (SQLite's
integrity check / PostgreSQL's amcheck report "ok"). A full volume is a clear
``StoreError``, not a corrupt file.
"""
from __future__ import annotations

import contextlib
import io
import json
import multiprocessing as mp
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
import requests

from geo_pcmt.store import GeoPackageStore, StoreError, open_store

from .backends import BACKENDS, backend, make_store, serve_app, stop_app
from .conftest import retail_frame
from .pg import PgServer, file_size_limit, require_bindir

pytestmark = pytest.mark.slow

SHARED_IDS = 5  # ids every upsert rewrites: RP-900000 … RP-900004


def _url(store) -> str:
    if backend(store) == "gpkg":
        return str(store.path)
    return store.url.set(drivername="postgresql").render_as_string(hide_password=False)


def _plan(seed: int, k: int) -> tuple[str, int]:
    """The k-th write of a writer: its mode and size (deterministic, so the parent knows
    what an unacknowledged write would have contained)."""
    rng = random.Random(seed * 1000 + k)
    return ("upsert" if k % 3 == 2 else "append"), rng.randint(1, 6000)


def _killable_writer(url: str, seed: int, ack_path: str) -> None:  # runs in a forked child
    store = open_store(url)
    ack = os.open(ack_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    k = 0
    while True:
        mode, n = _plan(seed, k)
        if mode == "append":
            frame = retail_frame(n, start=seed * 1_000_000 + k * 10_000)
        else:
            frame = retail_frame(SHARED_IDS, start=900_000)
            frame["name"] = f"s{seed}-k{k}"
        store.write("retail_points", frame, mode=mode, user=f"writer{seed}")
        os.write(ack, f"{k}\n".encode())  # acknowledged: the write returned
        os.fsync(ack)
        k += 1


def _acked(ack_path: Path) -> list[int]:
    return [int(x) for x in ack_path.read_text().split()] if ack_path.exists() else []


@pytest.mark.parametrize("kind", BACKENDS)
def test_writers_killed_at_random_points_lose_no_acknowledged_record(kind, tmp_path, request):
    if kind == "postgis":
        request.getfixturevalue("pg_templates")
    store = make_store(kind, tmp_path, boundaries=False)
    rng = random.Random(7)
    ctx = mp.get_context("fork")
    expected_ids: set[str] = set()
    shared_names: set[str] = set()
    for seed in (1, 2, 3):
        ack_path = tmp_path / f"ack{seed}"
        child = ctx.Process(target=_killable_writer, args=(_url(store), seed, str(ack_path)))
        child.start()
        # let it acknowledge a write or two, then kill it at a random moment
        deadline = time.monotonic() + 30
        while not _acked(ack_path) and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(rng.uniform(0.05, 1.0))
        os.kill(child.pid, signal.SIGKILL)
        child.join()
        acked = _acked(ack_path)
        assert acked, "the writer never finished a write"
        after = open_store(_url(store))
        assert after.check() == "ok"
        stored = set(after.read("retail_points", columns=["id"])["id"])
        # every acknowledged write is there, whole
        for k in acked:
            mode, n = _plan(seed, k)
            if mode == "append":
                expected_ids |= {f"RP-{seed * 1_000_000 + k * 10_000 + i:06d}" for i in range(n)}
            else:
                expected_ids |= {f"RP-{900_000 + i:06d}" for i in range(SHARED_IDS)}
        missing = expected_ids - stored
        assert not missing, f"{len(missing)} acknowledged records lost, e.g. {sorted(missing)[:3]}"
        # the one write in flight at the kill is either all there or not at all
        extra = stored - expected_ids
        mode, n = _plan(seed, len(acked))
        if extra:
            assert mode == "append" and extra == {
                f"RP-{seed * 1_000_000 + len(acked) * 10_000 + i:06d}" for i in range(n)}
            expected_ids |= extra
        last_upsert = [k for k in acked if _plan(seed, k)[0] == "upsert"]
        names = set(after.read("retail_points", where={"id": f"RP-{900_000:06d}"})["name"])
        if last_upsert:
            allowed = {f"s{seed}-k{last_upsert[-1]}"}
            if mode == "upsert":
                allowed.add(f"s{seed}-k{len(acked)}")
            assert names <= allowed
            shared_names |= names
        # the audit log holds one record per committed write, never one for a lost write
        audited = after.count("audit_log", where={"user": f"writer{seed}"})
        assert audited in (len(acked), len(acked) + 1)
        if backend(after) == "postgis":
            after.close()
    assert store.count("retail_points") == len(expected_ids)
    after = open_store(_url(store))
    after.write("retail_points", retail_frame(3, start=5_000_000))  # and it still takes writes
    if backend(after) == "postgis":
        after.close()
        store.close()


# --- a full disk -----------------------------------------------------------------------------

@contextlib.contextmanager
def small_volume(size_mb: int, owner: str | None = None, limit_mb: int | None = None):
    """A folder that fills up after ``size_mb``: a tmpfs when this process may mount one
    (root), else an ordinary folder plus a limit of ``limit_mb`` (default ``size_mb``) on
    the size of any file the writing process makes.

    Yields ``(folder, preexec)``: ``preexec`` is None for tmpfs, else the ``preexec_fn``
    that imposes the limit (RLIMIT_FSIZE) on a child process.
    """
    folder = Path(tempfile.mkdtemp(prefix="geo_pcmt_small_"))
    mounted = False
    if os.geteuid() == 0 and not os.environ.get("GEO_PCMT_TEST_NO_MOUNT") and shutil.which("mount"):
        opts = f"size={size_mb}m,mode=0700"
        if owner:
            import pwd
            pw = pwd.getpwnam(owner)
            opts += f",uid={pw.pw_uid},gid={pw.pw_gid}"
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(folder)],
                                 capture_output=True).returncode == 0
    if not mounted and owner and os.geteuid() == 0:
        import pwd
        pw = pwd.getpwnam(owner)
        os.chown(folder, pw.pw_uid, pw.pw_gid)
    try:
        yield folder, None if mounted else file_size_limit((limit_mb or size_mb) * 2**20)
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(folder)], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


_FILL_GPKG = r"""
import json, sys
from geo_pcmt.store import GeoPackageStore, StoreError
from tests.conftest import retail_frame
store = GeoPackageStore(sys.argv[1])
n = 0
try:
    while True:
        frame = retail_frame(4000, start=n)
        frame["address"] = "Khối 4, thị trấn Mường Xén " * 40
        store.write("retail_points", frame)
        n += 4000
        print(json.dumps({"acked": n}), flush=True)
except StoreError as exc:
    print(json.dumps({"error": str(exc), "acked": n}), flush=True)
"""


def test_a_full_disk_refuses_the_geopackage_write_clearly_and_keeps_the_file_sound(tmp_path):
    with small_volume(16) as (folder, preexec):
        path = folder / "store.gpkg"
        GeoPackageStore(path).init(["retail_points", "audit_log"])
        res = subprocess.run([sys.executable, "-c", _FILL_GPKG, str(path)], capture_output=True,
                             text=True, timeout=120, preexec_fn=preexec,
                             cwd=Path(__file__).resolve().parent.parent)
        assert res.returncode == 0, res.stderr[-2000:]
        outcome = json.loads(res.stdout.splitlines()[-1])
        assert "nothing was written" in outcome.get("error", ""), res.stdout[-500:]
        assert any(w in outcome["error"] for w in ("disk is full", "disk I/O error"))
        assert outcome["acked"] > 0
        # the file (with its WAL) copied off the full volume is sound and complete
        for suffix in ("", "-wal"):
            if Path(f"{path}{suffix}").exists():
                shutil.copyfile(f"{path}{suffix}", tmp_path / f"copy.gpkg{suffix}")
    copy = GeoPackageStore(tmp_path / "copy.gpkg")
    assert copy.check() == "ok"
    assert copy.count("retail_points") == outcome["acked"]
    assert copy.count("audit_log") == outcome["acked"] // 4000
    copy.write("retail_points", retail_frame(10, start=10_000_000))
    assert copy.count("retail_points") == outcome["acked"] + 10


def test_a_full_disk_refuses_the_postgis_write_clearly_and_the_database_stays_sound(tmp_path):
    from geo_pcmt.store.postgis import PostGISStore
    bindir = require_bindir()
    owner = "postgres" if os.geteuid() == 0 else None
    # the file-size limit must let PostGIS's 7 MB spatial_ref_sys through
    with small_volume(64, owner=owner, limit_mb=12) as (folder, preexec):
        # a durable server of its own (fsync on): this test is about the server's disk
        server = PgServer(bindir, preexec=preexec, wal_segsize_mb=1 if preexec else None,
                          settings={"fsync": "on", "synchronous_commit": "on",
                                    "full_page_writes": "on"})
        try:
            server.start()
            if preexec is None:  # tmpfs: the database lives in a tablespace on it
                server.sql(f"CREATE TABLESPACE small LOCATION '{folder}'")
                server.sql("CREATE DATABASE full_disk TABLESPACE small")
            else:  # file-size limit on the server: any table file past it fails
                server.sql("CREATE DATABASE full_disk")
            server.sql("CREATE EXTENSION postgis", db="full_disk")
            store = PostGISStore(server.url("full_disk"))
            store.init(["retail_points", "audit_log"])
            if preexec is None:  # leave ~12 MB free on the volume
                used_mb = shutil.disk_usage(folder).used // 2**20
                subprocess.run(["mount", "-o", f"remount,size={used_mb + 12}m", str(folder)],
                               check=True)
            acked = 0
            with pytest.raises(StoreError) as refused:
                for _ in range(200):
                    frame = retail_frame(2000, start=acked)
                    frame["address"] = [os.urandom(600).hex() for _ in range(2000)]
                    store.write("retail_points", frame)
                    acked += 2000
            message = str(refused.value)
            assert "rolled back" in message and any(
                w in message for w in ("No space left", "File too large", "could not extend"))
            assert acked > 0
            # the server is up, the database sound, every acknowledged row there
            assert store.count("retail_points") == acked
            assert store.check() == "ok"
            assert store.count("audit_log") == acked // 2000
            store.close()
            # with room again, writing simply continues
            if preexec is None:
                subprocess.run(["mount", "-o", f"remount,size=256m", str(folder)], check=True)
            else:
                server.halt()
                server.preexec = None
                server.launch()
            store.write("retail_points", retail_frame(10, start=10_000_000))
            assert store.count("retail_points") == acked + 10 and store.check() == "ok"
            store.close()
        finally:
            server.stop()


# --- the web app under gunicorn: concurrent uploads and reads, a worker killed -----------------

def _upload_csv(start: int, n: int) -> bytes:
    rows = ["id,type,status,first_seen,name,lon,lat"]
    for i in range(start, start + n):
        rows.append(f"W-{i:07d},diem_ban_le,active,2024-03-01,Điểm {i},"
                     f"{104.10 + (i % 50) * 1e-3:.4f},{19.35 + (i // 50 % 50) * 1e-3:.4f}")
    return ("\n".join(rows) + "\n").encode()


@pytest.mark.parametrize("kind", BACKENDS)
def test_gunicorn_workers_upload_and_read_concurrently_and_survive_a_killed_worker(
        kind, tmp_path, request):
    if kind == "postgis":
        request.getfixturevalue("pg_templates")
    store = make_store(kind, tmp_path, boundaries=True)
    served = serve_app(_url(store), tmp_path, workers=3)
    acked: list[range] = []
    unacked: list[range] = []
    read_status: list[int] = []
    upload_status: list[int] = []
    lock = threading.Lock()
    stop = threading.Event()

    def uploader(u: int) -> None:
        for j in range(2):
            start, n = (u * 100 + j) * 200, 200
            try:
                res = requests.post(served.base + "/data/upload", headers=served.headers,
                                    data={"layer": "retail_points"}, timeout=60,
                                    files={"file": ("diem.csv", io.BytesIO(_upload_csv(start, n)))})
                code = res.status_code
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError):
                code = -1  # the worker died under this request
            with lock:
                (acked if code == 201 else unacked).append(range(start, start + n))
                upload_status.append(code)

    def reader() -> None:
        urls = ["/api/collections/retail_points/items?limit=100&bbox=104.1,19.3,104.2,19.4",
                "/layers/communes.geojson", "/api/collections/communes/items?limit=20"]
        i = 0
        while not stop.is_set() or i < 6:  # read during the uploads, and at least 6 times
            try:
                code = requests.get(served.base + urls[i % 3], headers=served.headers,
                                    timeout=60).status_code
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError):
                code = -1  # the killed worker's connection, possibly mid-body
            with lock:
                read_status.append(code)
            i += 1

    try:
        threads = [threading.Thread(target=uploader, args=(u,)) for u in range(5)]
        readers = [threading.Thread(target=reader) for _ in range(3)]
        for t in threads + readers:
            t.start()
        time.sleep(0.7)
        victim = served.worker_pids()[0]
        os.kill(victim, signal.SIGKILL)  # a worker of the gunicorn we started
        for t in threads:
            t.join(120)
        stop.set()
        for t in readers:
            t.join(60)
        assert served.proc.poll() is None, "gunicorn master died"
    finally:
        stop_app(served)
    assert set(upload_status) <= {201, -1} and len(acked) >= 7, upload_status
    stored = set(store.read("retail_points", columns=["id"])["id"])
    for r in acked:
        assert {f"W-{i:07d}" for i in r} <= stored
    for r in unacked:  # whole uploads only
        present = {f"W-{i:07d}" for i in r} & stored
        assert len(present) in (0, len(r))
    assert store.check() == "ok"
    errors = [c for c in read_status if c not in (200, -1)]
    assert not errors and read_status.count(200) >= 15  # 3 readers × 6, bar the killed ones
    assert read_status.count(-1) <= 3  # only requests in flight on the killed worker
    if kind == "postgis":
        store.close()
