"""Load test: 100 clients reading while 5 upload, against gunicorn, for both stores.

The web app runs under gunicorn (several workers, loopback only) on a GeoPackage store and
on a PostGIS store, each holding the real boundaries and the SYNTHETIC sample. For a fixed
time, ``wrk`` (Debian package ``wrk``) keeps 100 connections busy reading items and map
data through the routes that exist (probed first: OGC API items with bbox and datetime,
single items, commune polygons, the public GeoJSON layers), while 5 uploader threads post
200-row CSV files to ``/data/upload`` one after another. Afterwards every upload the server
acknowledged (201) is looked up in the store: a missing row is a lost write.

Reported per store: read requests/s, p50/p99 latency and errors (non-2xx, socket errors),
uploads done with their p50/p99, lost writes. Goal: p99 < 500 ms for reads, zero errors,
zero lost writes. Without ``wrk`` the readers fall back to Python threads (which measure
the client as much as the server; numbers are marked).

Readers sign in with an API token of ``--role`` (default analyst: the officers who read
intelligence layers; every read of restricted rows is audited before it is answered);
uploaders are admins (only admins may upload).

Run:  .venv/bin/python benchmarks/load.py [--seconds 20] [--clients 100] [--uploaders 5]
                                          [--workers 1] [--threads 8] [--role analyst]
                                          [--backends gpkg postgis]
"""
from __future__ import annotations

import argparse
import io
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.backends import serve_app, stop_app  # noqa: E402

# (weight, path): what a map client and GIS clients ask for; kept only if it answers 200
CANDIDATE_READS = [
    (4, "/api/collections/retail_points/items?limit=100&bbox=104.0,19.2,104.5,19.6"),
    (3, "/api/collections/cases/items?limit=100&bbox=104.5,18.8,105.2,19.3"),
    (2, "/api/collections/cases/items?limit=50&datetime=2024-06-01/2024-06-30"),
    (2, "/api/collections/retail_points/items/{retail_id}"),
    (1, "/api/collections/communes/items?limit=130"),
    (1, "/api/collections"),
    (1, "/layers/communes.geojson"),
    (1, "/layers/border_line.geojson"),
]


def build_store(kind: str, folder: Path, pg_server) -> tuple[str, object]:
    """A store with the boundaries and the sample; returns (url, store)."""
    from geo_pcmt.runs.seed import load_boundaries, load_sample
    from geo_pcmt.store import open_store
    if kind == "gpkg":
        url = str(folder / "load.gpkg")
    else:
        url = pg_server.create_database(f"load_{int(time.time())}")
    store = open_store(url)
    store.init()
    load_boundaries(store)
    load_sample(store)
    return url, store


def probe(base: str, headers: dict, store) -> list[tuple[int, str, float]]:
    """The candidate reads that answer 200, with their service time alone (median of 3, ms)."""
    retail_id = store.read("retail_points", limit=1)["id"].iloc[0]
    out = []
    for weight, path in CANDIDATE_READS:
        path = path.format(retail_id=retail_id)
        times = []
        for _ in range(4):
            t = time.perf_counter()
            try:
                ok = requests.get(base + path, headers=headers, timeout=30).status_code == 200
            except requests.RequestException:
                ok = False
            times.append((time.perf_counter() - t) * 1000)
            if not ok:
                break
        if ok:
            out.append((weight, path, statistics.median(times[1:])))
    return out


_LUA = """
local paths = {%s}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i %% #paths) + 1], {["Authorization"] = "Bearer %s"})
end
"""


def run_wrk(base: str, token: str, paths: list[tuple[int, str, float]], clients: int,
            seconds: int, folder: Path) -> dict:
    weighted = [p for w, p, _ in paths for _ in range(w)]
    script = folder / "reads.lua"
    script.write_text(_LUA % (", ".join(f'"{p}"' for p in weighted), token))
    threads = min(os.cpu_count() or 2, clients)  # wrk: one thread per core
    res = subprocess.run(["wrk", "-t", str(threads), "-c", str(clients), "-d", f"{seconds}s",
                          "--timeout", "10s", "--latency", "-s", str(script), base],
                         capture_output=True, text=True, timeout=seconds + 60)
    text = res.stdout

    def ms(label: str) -> float:
        m = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
        if not m:
            return float("nan")
        v, unit = float(m.group(1)), m.group(2)
        return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v

    total = int(re.search(r"(\d+) requests in", text).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    timeouts = int(sock.group(4)) if sock else 0
    return {"requests": total, "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)),
            "p50_ms": ms("50%"), "p99_ms": ms("99%"),
            "errors": int(non2xx.group(1)) if non2xx else 0,
            "socket": sum(map(int, sock.groups())) - timeouts if sock else 0,
            "timeouts": timeouts, "client": "wrk", "raw": text}


def run_python_readers(base: str, headers: dict, paths: list[tuple[int, str, float]],
                       clients: int, seconds: int) -> dict:
    weighted = [p for w, p, _ in paths for _ in range(w)]
    lat, errors, lock = [], [0], threading.Lock()
    stop = time.monotonic() + seconds

    def client(k: int) -> None:
        s = requests.Session()
        i = k
        while time.monotonic() < stop:
            t = time.perf_counter()
            try:
                ok = s.get(base + weighted[i % len(weighted)], headers=headers,
                           timeout=10).status_code == 200
            except requests.RequestException:
                ok = False
            with lock:
                lat.append((time.perf_counter() - t) * 1000)
                errors[0] += not ok
            i += 1

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    q = statistics.quantiles(lat, n=100) if len(lat) > 2 else [float("nan")] * 99
    return {"requests": len(lat), "rps": len(lat) / seconds, "p50_ms": q[49], "p99_ms": q[98],
            "errors": errors[0], "socket": 0, "timeouts": 0,
            "client": "python threads (measures the client too)"}


def reader_token(folder: Path, role: str) -> str:
    """An API token of a user of ``role`` in the served app's user file."""
    from geo_pcmt.users import UserStore
    users = UserStore(folder / "users.sqlite", hash_method="pbkdf2:sha256:1000").init()
    name = f"load_{role}"
    if users.get(name) is None:
        users.add(name, "Tải-thử 2025 mật khẩu dài", role)
    return users.create_token(name, label="load")[0]


def _csv(start: int, n: int) -> bytes:
    rows = ["id,type,status,first_seen,name,lon,lat"]
    for i in range(start, start + n):
        rows.append(f"LD-{i:07d},diem_ban_le,active,2024-03-01,Điểm tải {i},"
                    f"{104.10 + (i % 80) * 1e-3:.4f},{19.33 + (i // 80 % 60) * 1e-3:.4f}")
    return ("\n".join(rows) + "\n").encode()


def run_uploaders(base: str, headers: dict, uploaders: int, seconds: int,
                  rows_per_upload: int, round_no: int = 0) -> dict:
    acked, lat, errors, lock = [], [], [], threading.Lock()
    stop = time.monotonic() + seconds

    def uploader(u: int) -> None:
        j = 0
        while time.monotonic() < stop:
            start = ((round_no * 100 + u) * 10_000 + j) * rows_per_upload
            t = time.perf_counter()
            try:
                res = requests.post(base + "/data/upload", headers=headers, timeout=60,
                                    data={"layer": "retail_points"},
                                    files={"file": ("tai.csv", io.BytesIO(_csv(start, rows_per_upload)))})
                status = res.status_code
            except requests.RequestException as exc:
                status = type(exc).__name__
            with lock:
                lat.append((time.perf_counter() - t) * 1000)
                if status == 201:
                    acked.append(range(start, start + rows_per_upload))
                else:
                    errors.append(status)
            j += 1

    threads = [threading.Thread(target=uploader, args=(u,)) for u in range(uploaders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    q = statistics.quantiles(lat, n=100) if len(lat) > 2 else [float("nan")] * 99
    return {"uploads": len(lat), "acked": acked, "p50_ms": q[49], "p99_ms": q[98],
            "errors": len(errors), "error_kinds": sorted(set(map(str, errors)))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--clients", type=int, nargs="+", default=[10, 100],
                    help="reading clients; one round per value")
    ap.add_argument("--uploaders", type=int, default=5)
    ap.add_argument("--rows-per-upload", type=int, default=200)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--threads", type=int, default=8, help="gthread threads per worker")
    ap.add_argument("--backends", nargs="+", default=["gpkg", "postgis"])
    ap.add_argument("--role", default="analyst", choices=["viewer", "analyst", "commander", "admin"],
                    help="role of the reading clients")
    args = ap.parse_args()
    from tests.pg import PgServer, find_bindir
    pg = None
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.backends:
            if kind == "postgis" and pg is None:
                bindir = find_bindir()
                if bindir is None:
                    print("PostgreSQL/PostGIS binaries not found; PostGIS skipped")
                    continue
                pg = PgServer(bindir, settings={"fsync": "on", "synchronous_commit": "on",
                                                "full_page_writes": "on"}).start()
            folder = Path(tmp) / kind
            folder.mkdir()
            url, store = build_store(kind, folder, pg)
            served = serve_app(url, folder, workers=args.workers, threads=args.threads)
            read_token = reader_token(folder, args.role)
            read_headers = {"Authorization": f"Bearer {read_token}"}
            try:
                paths = probe(served.base, read_headers, store)
                for round_no, clients in enumerate(args.clients):
                    before = store.count("retail_points")
                    up: dict = {}
                    t_up = threading.Thread(target=lambda: up.update(run_uploaders(
                        served.base, served.headers, args.uploaders, args.seconds,
                        args.rows_per_upload, round_no)))
                    t_up.start()
                    if shutil.which("wrk"):
                        reads = run_wrk(served.base, read_token, paths, clients,
                                        args.seconds, folder)
                    else:
                        reads = run_python_readers(served.base, read_headers, paths,
                                                   clients, args.seconds)
                    t_up.join()
                    stored = set(store.read("retail_points", columns=["id"])["id"])
                    lost = sum(1 for r in up["acked"] for i in r if f"LD-{i:07d}" not in stored)
                    results.append((kind, clients, paths, reads, up, lost,
                                    store.count("retail_points") - before))
            finally:
                stop_app(served)
            check = store.check()
            results = [r + (check,) if r[0] == kind and len(r) == 7 else r for r in results]
            if hasattr(store, "close"):
                store.close()
        if pg is not None:
            pg.stop()
    print(f"Load: reading clients ({args.role}) + {args.uploaders} uploaders "
          f"({args.rows_per_upload} rows each), {args.seconds} s per round; gunicorn "
          f"{args.workers} workers × {args.threads} threads; loopback")
    head = (f"{'store':8} {'clients':>7} {'reads':>7} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} "
            f"{'err':>4} {'sock':>4} {'t/o':>4}   {'uploads':>7} {'rows':>6} {'up p50':>7} {'up p99':>7} "
            f"{'err':>4} {'lost':>5} {'check':>6}")
    print(head)
    print("-" * len(head))
    for kind, clients, paths, r, up, lost, added, check in results:
        print(f"{kind:8} {clients:>7} {r['requests']:>7} {r['rps']:>7.1f} {r['p50_ms']:>7.1f} "
              f"{r['p99_ms']:>7.1f} {r['errors']:>4} {r['socket']:>4} {r['timeouts']:>4}   "
              f"{up['uploads']:>7} "
              f"{added:>6} {up['p50_ms']:>7.0f} {up['p99_ms']:>7.0f} {up['errors']:>4} "
              f"{lost:>5} {check:>6}")
    print("err = non-2xx answers; sock = connections reset/closed under wrk; t/o = reads over "
          "10 s; lost = acknowledged upload rows missing afterwards; check = integrity check "
          "after the run")
    by_kind = {}
    for kind, _, paths, *_ in results:
        by_kind[kind] = paths
    if by_kind:
        print(f"\nreader client: {results[0][3]['client']}; read mix, weight, and service time "
              "alone (ms, median; " + " / ".join(by_kind) + "):")
        kinds = list(by_kind)
        for i, (w, p, _) in enumerate(by_kind[kinds[0]]):
            times = " / ".join(f"{by_kind[k][i][2]:.0f}" if i < len(by_kind[k]) else "-"
                               for k in kinds)
            print(f"  {w}  {times:>11}  {p}")
        for kind, c, _, r, up, *_ in results:
            if up["errors"]:
                print(f"upload errors ({kind}, {c} clients): {', '.join(up['error_kinds'])}")
        big = [x for x in results if x[1] >= 100]
        goal = all(r["p99_ms"] < 500 and r["errors"] + r["socket"] + r["timeouts"] == 0
                   and lost == 0
                   and up["errors"] == 0 for _, c, _, r, up, lost, _, _ in big)
        print("goal at 100 clients (read p99 < 500 ms, zero errors, zero lost writes):",
              ("met" if goal else "NOT met") if big else "not measured")


if __name__ == "__main__":
    main()
