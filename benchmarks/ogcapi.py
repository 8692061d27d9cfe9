"""OGC API – Features items: geo_pcmt vs pygeoapi on the same 100k-point GeoPackage.

    python benchmarks/ogcapi.py [--points 100000] [--requests 200] [--concurrency 4]
                                [--workers 2]

Builds one GeoPackage with the geo_pcmt store (``retail_points``: restricted, and the same
points as ``facilities``: public), starts both servers under gunicorn with the same number
of sync workers on 127.0.0.1, and drives the same seeded requests at both from one client
loop (``--concurrency`` threads, a new connection per request, a fixed number of requests;
the servers take turns in rounds of 40 so that other load on the machine falls on both
alike). pygeoapi (``pip install '.[bench]'``) serves the same file through its SQLite/GPKG
provider, which loads SpatiaLite (Debian: ``apt-get install libsqlite3-mod-spatialite``).

geo_pcmt is measured as an analyst on the restricted layer (every request also appends to
the audit log, as in production) and as a viewer on the public copy; pygeoapi serves both
layers to anyone, with no roles and no audit. Scenarios (issues #19, #21):

* paging ``limit=100`` near offsets 0, 10 000 and 90 000 (distinct offsets, so no answer
  is served from a cache): geo_pcmt with ``offset`` as GDAL/QGIS send it, and with the
  ``after`` cursor its ``next`` links carry;
* ``limit=100``, a random ~5 km bbox and an attribute filter: geo_pcmt with a CQL2
  ``filter``, pygeoapi with the equivalent property parameter (its SQLite/GPKG provider
  has no CQL2).
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

BBOX = (103.9, 18.6, 105.9, 20.0)  # roughly Nghệ An
BOX_DEG = 0.05


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_store(workdir: Path, n: int, seed: int = 7):
    """The GeoPackage (via GeoPackageStore: GDAL tables, R-tree) and a user file."""
    import geopandas as gpd
    import shapely

    from geo_pcmt.layers import FACILITY_KINDS, RETAIL_POINT_STATUS, RETAIL_POINT_TYPES
    from geo_pcmt.store import GeoPackageStore
    from geo_pcmt.users import UserStore

    rng = np.random.default_rng(seed)
    lon = rng.uniform(BBOX[0], BBOX[2], n).round(6)
    lat = rng.uniform(BBOX[1], BBOX[3], n).round(6)
    days = rng.integers(0, 5 * 365, n)
    first_seen = (np.datetime64("2020-01-01") + days).astype(str)
    ids = [f"RP-{i:06d}" for i in range(n)]
    geom = shapely.points(lon, lat)
    store = GeoPackageStore(workdir / "bench.gpkg")
    store.init(["retail_points", "facilities", "audit_log"])
    store.write("retail_points", gpd.GeoDataFrame({
        "id": ids, "source": "benchmark SYNTHETIC",
        "type": rng.choice(RETAIL_POINT_TYPES, n), "status": rng.choice(RETAIL_POINT_STATUS, n),
        "first_seen": first_seen, "name": [f"Điểm {i}" for i in range(n)],
        "confidentiality": "restricted"}, geometry=geom, crs="EPSG:4326"), mode="replace")
    store.write("facilities", gpd.GeoDataFrame({
        "id": ids, "source": "benchmark SYNTHETIC", "kind": rng.choice(FACILITY_KINDS, n),
        "name": [f"Cơ sở {i}" for i in range(n)], "capacity": rng.integers(10, 200, n),
        "confidentiality": "public"}, geometry=geom, crs="EPSG:4326"), mode="replace")
    users = UserStore(workdir / "users.sqlite", hash_method="pbkdf2:sha256:1000").init()
    users.add("bench_analyst", "benchmark-password", "analyst")
    users.add("bench_viewer", "benchmark-password", "viewer")
    return store, users.create_token("bench_analyst")[0], users.create_token("bench_viewer")[0]


def _resource(title: str, gpkg: Path, table: str) -> dict:
    return {"type": "collection", "title": title, "description": title, "keywords": ["bench"],
            "extents": {"spatial": {"bbox": list(BBOX),
                                    "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}},
            "providers": [{"type": "feature", "name": "SQLiteGPKG", "data": str(gpkg),
                           "id_field": "id", "table": table}]}


def pygeoapi_config(workdir: Path, port: int) -> Path:
    """pygeoapi's configuration: both layers, its SQLite/GPKG provider on the same file."""
    import yaml
    url = "http://127.0.0.1"
    gpkg = workdir / "bench.gpkg"
    config = {
        "server": {"bind": {"host": "127.0.0.1", "port": port}, "url": f"{url}:{port}",
                   "mimetype": "application/json; charset=UTF-8", "encoding": "utf-8",
                   "languages": ["en-US"], "limits": {"default_items": 100, "max_items": 10000},
                   "map": {"url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
                           "attribution": "OSM"}},
        "logging": {"level": "ERROR"},
        "metadata": {"identification": {"title": "bench", "description": "bench",
                                        "keywords": ["bench"], "keywords_type": "theme",
                                        "terms_of_service": "none", "url": url},
                     "license": {"name": "none", "url": url},
                     "provider": {"name": "bench", "url": url}, "contact": {"name": "bench"}},
        "resources": {"retail_points": _resource("retail points", gpkg, "retail_points"),
                      "facilities": _resource("facilities", gpkg, "facilities")},
    }
    path = workdir / "pygeoapi.yml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True))
    return path


def spatialite() -> str:
    """The SpatiaLite module pygeoapi's SQLite/GPKG provider loads."""
    for folder in ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib",
                   "/usr/local/lib"):
        if Path(folder, "mod_spatialite.so").exists():
            return str(Path(folder, "mod_spatialite.so"))
    sys.exit("mod_spatialite not found: apt-get install libsqlite3-mod-spatialite")


def start(cmd: list[str], env: dict, log: Path, ready_url: tuple[int, str], headers: dict,
          timeout_s: float = 90) -> subprocess.Popen:
    proc = subprocess.Popen(cmd, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    port, path = ready_url
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{cmd[0]} exited; see {log}:\n{log.read_text()[-2000:]}")
        try:
            status, _ = fetch(port, path, headers)
            if status == 200:
                return proc
        except OSError:
            pass
        time.sleep(0.3)
    stop(proc)
    raise RuntimeError(f"server not ready after {timeout_s} s; see {log}")


def stop(proc: subprocess.Popen) -> None:
    """Stop the gunicorn started here (its own process group) and wait for it."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def fetch(port: int, path: str, headers: dict) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", path, headers={"Accept": "application/geo+json", **headers})
        res = conn.getresponse()
        return res.status, res.read()
    finally:
        conn.close()


def paging_queries(near: int, n_points: int, count: int, seed: int) -> list[int]:
    """Distinct positions from ``near`` on (so that no answer comes from a cache)."""
    rng = np.random.default_rng(seed)
    span = max(count, min(5000, n_points - near - 100))
    return (near + rng.choice(span, size=count, replace=False)).tolist()


def boxes(count: int, seed: int) -> list[str]:
    """Random ~5 km boxes inside the province, as bbox parameter values."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        x = rng.uniform(BBOX[0], BBOX[2] - BOX_DEG)
        y = rng.uniform(BBOX[1], BBOX[3] - BOX_DEG)
        out.append(f"{x:.5f},{y:.5f},{x + BOX_DEG:.5f},{y + BOX_DEG:.5f}")
    return out


def run_batch(port: int, base: str, qs: list[str], headers: dict,
              concurrency: int) -> tuple[list[float], Counter, float]:
    """One batch of requests: (latencies in s, errors by HTTP status, wall time in s)."""
    latencies: list[float] = []
    errors: Counter = Counter()
    lock = threading.Lock()

    def one(q: str) -> None:
        t0 = time.perf_counter()
        try:
            status, body = fetch(port, f"{base}?{q}", headers)
        except OSError as exc:  # timeout, reset: counted, not fatal
            status, body = type(exc).__name__, b""
        dt = time.perf_counter() - t0
        with lock:
            if status == 200 and body.startswith(b"{"):
                latencies.append(dt)
            else:
                errors[status] += 1

    t0 = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, qs))
    return latencies, errors, time.perf_counter() - t0


def drive(servers: list[tuple], qs: list[list[str]], concurrency: int, max_s: float,
          round_size: int = 40) -> list[dict]:
    """Run each server's queries (``qs[i]`` for server ``i``, the same requests in its own
    words), interleaved in rounds of ``round_size`` so that load from other work on the
    machine falls on all servers alike. The first 8 of each are a warm-up."""
    for (_, port, path, headers), q in zip(servers, qs):
        run_batch(port, path, q[:8], headers, concurrency)
    acc = [{"lat": [], "errors": Counter(), "wall": 0.0} for _ in servers]
    stop_at = time.monotonic() + max_s * len(servers)
    for start in range(8, len(qs[0]), round_size):
        if time.monotonic() > stop_at:
            break
        for a, (_, port, path, headers), q in zip(acc, servers, qs):
            batch = q[start:start + round_size]
            lat, err, wall = run_batch(port, path, batch, headers, concurrency)
            a["lat"] += lat
            a["errors"] += err
            a["wall"] += wall
    out = []
    for a in acc:
        ms = sorted(x * 1000 for x in a["lat"])
        out.append({"n": len(ms), "errors": a["errors"], "rps": len(ms) / a["wall"],
                    "p50": statistics.median(ms) if ms else float("nan"),
                    "p95": ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))]
                    if ms else float("nan")})
    return out


def same_answers(port_a, base_a, head_a, port_b, base_b, head_b, qa, qb) -> str:
    """Compare the answers to the first queries (by id sets): ``yes``, or what differs."""
    only_a = only_b = 0
    for a_q, b_q in list(zip(qa, qb))[:5]:
        a = json.loads(fetch(port_a, f"{base_a}?{a_q}", head_a)[1])["features"]
        b = json.loads(fetch(port_b, f"{base_b}?{b_q}", head_b)[1])["features"]
        ids_a, ids_b = {str(f.get("id")) for f in a}, {str(f.get("id")) for f in b}
        only_a += len(ids_a - ids_b)
        only_b += len(ids_b - ids_a)
    if only_a == only_b == 0:
        return "yes"
    return "; ".join(p for p in (f"{only_a} only in A" if only_a else "",
                                 f"{only_b} only in B" if only_b else "") if p)


def _errors(by_status: Counter) -> str:
    """``0``, or the count with the statuses: ``7 (500: 7)``."""
    total = sum(by_status.values())
    detail = ", ".join(f"{k}: {v}" for k, v in sorted(by_status.items(), key=str))
    return f"{total} ({detail})" if total else "0"


def start_servers(workdir: Path, workers: int) -> tuple[list, int, int]:
    """pygeoapi and geo_pcmt under gunicorn (same sync worker count): (procs, ports)."""
    bindir = Path(sys.executable).parent
    pg_port, gp_port = free_port(), free_port()
    cfg = pygeoapi_config(workdir, pg_port)
    pg_env = dict(os.environ, PYGEOAPI_CONFIG=str(cfg), SPATIALITE_LIBRARY_PATH=spatialite(),
                  PYGEOAPI_OPENAPI=str(workdir / "pygeoapi-openapi.yml"))
    shim = Path(__file__).resolve().parent / "pygeoapi_app.py"  # SQLite with extensions
    done = subprocess.run([sys.executable, str(shim), "openapi", "generate", str(cfg),
                           "--output-file", str(workdir / "pygeoapi-openapi.yml")],
                          env=pg_env, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"pygeoapi openapi generate failed:\n{done.stderr[-2000:]}")
    procs = [start([str(bindir / "gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{pg_port}",
                    "--chdir", str(shim.parent), "pygeoapi_app:app()"], pg_env,
                   workdir / "pygeoapi.log",
                   (pg_port, "/collections?f=json"), {})]
    gp_env = dict(os.environ, GEO_PCMT_STORE=str(workdir / "bench.gpkg"),
                  GEO_PCMT_USERS_DB=str(workdir / "users.sqlite"))
    procs.append(start([str(bindir / "gunicorn"), "-w", str(workers), "-b",
                        f"127.0.0.1:{gp_port}", "--chdir", str(REPO), "app:app"], gp_env,
                       workdir / "geo_pcmt.log", (gp_port, "/api/collections"), {}))
    return procs, pg_port, gp_port


def scenarios(args, pg: int, gp: int, analyst: dict, viewer: dict):
    """``(scenario, [(server name, port, path, headers, queries, index of its baseline)])``."""
    from geo_pcmt.layers import FACILITY_KINDS
    pg_rp = ("pygeoapi 0.21 SQLite/GPKG, retail_points", pg, "/collections/retail_points/items", {})
    pg_fa = ("pygeoapi 0.21 SQLite/GPKG, facilities", pg, "/collections/facilities/items", {})
    ours_rp = (gp, "/api/collections/retail_points/items", analyst)
    ours_fa = (gp, "/api/collections/facilities/items", viewer)
    out = []
    for near in (0, 10_000, 90_000):
        if near + 100 > args.points:
            continue
        pos = paging_queries(near, args.points, args.requests, seed=near + 1)
        off = [f"limit=100&offset={p}" for p in pos]
        aft = [f"limit=100&after={p}" for p in pos]  # fids 1…n: after=p is offset p
        out.append((f"paging near offset {near:,}", [
            (*pg_rp, off, 0), ("geo_pcmt analyst (audited), offset", *ours_rp, off, 0),
            ("geo_pcmt analyst (audited), after cursor", *ours_rp, aft, 0),
            (*pg_fa, off, 3), ("geo_pcmt viewer, public layer, offset", *ours_fa, off, 3)]))
    bb, kind = boxes(args.requests, seed=19), FACILITY_KINDS[0]
    out.append(("bbox ~5 km + filter", [
        (*pg_rp, [f"limit=100&bbox={b}&status=active" for b in bb], 0),
        ("geo_pcmt analyst (audited), CQL2", *ours_rp,
         [f"limit=100&bbox={b}&filter=status%3D%27active%27" for b in bb], 0),
        (*pg_fa, [f"limit=100&bbox={b}&kind={kind}" for b in bb], 2),
        ("geo_pcmt viewer, public layer, CQL2", *ours_fa,
         [f"limit=100&bbox={b}&filter=kind%3D%27{kind}%27" for b in bb], 2)]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--points", type=int, default=100_000)
    ap.add_argument("--requests", type=int, default=200, help="per scenario and server")
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--workers", type=int, default=2, help="gunicorn sync workers, both")
    ap.add_argument("--max-seconds", type=float, default=120, help="per scenario and server")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    args = ap.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench_ogcapi_"))
    procs: list[subprocess.Popen] = []
    try:
        t0 = time.perf_counter()
        _, analyst, viewer = build_store(workdir, args.points)
        print(f"built {args.points} points in {time.perf_counter() - t0:.1f} s ({workdir})")
        procs, pg_port, gp_port = start_servers(workdir, args.workers)
        rows = []
        for scenario, servers in scenarios(args, pg_port, gp_port,
                                           {"Authorization": f"Bearer {analyst}"},
                                           {"Authorization": f"Bearer {viewer}"}):
            plain = [(name, port, path, head) for name, port, path, head, _, _ in servers]
            qs = [q for *_, q, _ in servers]
            results = drive(plain, qs, args.concurrency, args.max_seconds)
            for (name, port, path, head, q, base), r in zip(servers, results):
                b = servers[base]
                same = "(baseline)" if b[0] == name else same_answers(
                    b[1], b[2], b[3], port, path, head, b[4][8:], q[8:])
                rows.append((scenario, name, r, r["rps"] / results[base]["rps"], same))
                print(f"  {scenario:26s} {name:44s} {r['rps']:7.1f} req/s "
                      f"p95 {r['p95']:7.1f} ms", flush=True)
        print()
        print(f"{args.points:,} points, {args.workers} gunicorn sync workers each, "
              f"{args.concurrency} client threads, {args.requests - 8} timed requests per row, "
              f"loopback, {os.cpu_count()} cores shared by servers and client")
        print("| scenario | server | req/s | p50 ms | p95 ms | errors | × pygeoapi | "
              "same features as pygeoapi |")
        print("|---|---|---:|---:|---:|---:|---:|---|")
        for scenario, name, r, ratio, same in rows:
            print(f"| {scenario} | {name} | {r['rps']:.1f} | {r['p50']:.1f} | {r['p95']:.1f} | "
                  f"{_errors(r['errors'])} | {ratio:.2f} | {same} |")
        print("\nNote: pygeoapi has no roles and no audit: it serves both layers to anyone and "
              "writes nothing per request; geo_pcmt's analyst rows also check the token, "
              "apply the clearance scope and commit an audit record per page. The viewer "
              "rows (public layer, no audit) are the like-for-like comparison. pygeoapi's "
              "SQLite/GPKG provider takes the attribute filter as a property parameter "
              "(no CQL2) and has no numberMatched.")
    finally:
        for p in procs:
            stop(p)
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
