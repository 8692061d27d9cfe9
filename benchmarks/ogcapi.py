"""OGC API – Features items: geo_pcmt vs pygeoapi on the same 100k-point GeoPackage.

    python benchmarks/ogcapi.py [--points 100000] [--requests 400] [--concurrency 4]
                                [--workers 2] [--pygeoapi-venv /tmp/pygeoapi-venv]

Builds one GeoPackage with the geo_pcmt store (``retail_points``: restricted, and the same
points as ``facilities``: public), starts both servers under gunicorn with the same number
of sync workers on 127.0.0.1, and drives the same seeded sequence of requests at both from
one client loop (``--concurrency`` threads, a new connection per request, bounded count and
time; the servers take turns in rounds of 40 requests so that other load on the machine
falls on both alike). pygeoapi (its OGR provider, the one that reads GeoPackage through GDAL with the
R-tree) lives in its own virtualenv so its pins stay out of ours; create it once with::

    /usr/bin/python3 -m venv --system-site-packages /tmp/pygeoapi-venv   # python3-gdal
    /tmp/pygeoapi-venv/bin/pip install pygeoapi gunicorn

geo_pcmt is measured twice: as an analyst on the restricted layer (every request also
appends to the audit log, as in production) and as a viewer on the public copy.
Scenarios: ``limit=100`` at a random offset, and ``limit=100`` with a random ~5 km bbox.
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


def pygeoapi_config(workdir: Path, port: int) -> Path:
    """pygeoapi's configuration: one collection, the OGR provider on the same GeoPackage."""
    import yaml
    url = "http://127.0.0.1"
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
        "resources": {"retail_points": {
            "type": "collection", "title": "retail points", "description": "points",
            "keywords": ["bench"],
            "extents": {"spatial": {"bbox": list(BBOX),
                                    "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}},
            "providers": [{"type": "feature", "name": "OGR",
                           "data": {"source_type": "GPKG", "source": str(workdir / "bench.gpkg"),
                                    "source_capabilities": {"paging": True},
                                    "source_options": {}, "gdal_ogr_options": {}},
                           "id_field": "id", "layer": "retail_points"}]}},
    }
    path = workdir / "pygeoapi.yml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True))
    return path


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


def queries(n_points: int, count: int, with_bbox: bool, seed: int) -> list[str]:
    """The same seeded query strings for every server."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        if with_bbox:
            x = rng.uniform(BBOX[0], BBOX[2] - BOX_DEG)
            y = rng.uniform(BBOX[1], BBOX[3] - BOX_DEG)
            out.append(f"limit=100&bbox={x:.5f},{y:.5f},{x + BOX_DEG:.5f},{y + BOX_DEG:.5f}")
        else:
            out.append(f"limit=100&offset={int(rng.integers(0, n_points - 100))}")
    return out


def run_batch(port: int, base: str, qs: list[str], headers: dict,
              concurrency: int) -> tuple[list[float], int, float]:
    """One batch of requests: (latencies in s, errors, wall time in s)."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()

    def one(q: str) -> None:
        nonlocal errors
        t0 = time.perf_counter()
        status, body = fetch(port, f"{base}?{q}", headers)
        dt = time.perf_counter() - t0
        with lock:
            if status == 200 and body.startswith(b"{"):
                latencies.append(dt)
            else:
                errors += 1

    t0 = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, qs))
    return latencies, errors, time.perf_counter() - t0


def drive(servers: list[tuple], qs: list[str], concurrency: int, max_s: float,
          round_size: int = 40) -> list[dict]:
    """Run the same queries against every server, interleaved in rounds of ``round_size``
    so that load from other work on the machine falls on all servers alike."""
    for _, port, path, headers in servers:  # warm-up: imports, caches, first connections
        run_batch(port, path, qs[:8], headers, concurrency)
    acc = [{"lat": [], "errors": 0, "wall": 0.0} for _ in servers]
    stop_at = time.monotonic() + max_s * len(servers)
    for start in range(0, len(qs), round_size):
        if time.monotonic() > stop_at:
            break
        batch = qs[start:start + round_size]
        for a, (_, port, path, headers) in zip(acc, servers):
            lat, err, wall = run_batch(port, path, batch, headers, concurrency)
            a["lat"] += lat
            a["errors"] += err
            a["wall"] += wall
    out = []
    for a in acc:
        ms = sorted(x * 1000 for x in a["lat"])
        out.append({"n": len(ms), "errors": a["errors"], "rps": len(ms) / a["wall"],
                    "p50": statistics.median(ms) if ms else float("nan"),
                    "p99": ms[min(len(ms) - 1, int(round(0.99 * (len(ms) - 1))))]
                    if ms else float("nan")})
    return out


def same_answers(port_a, base_a, head_a, port_b, base_b, head_b, qs) -> str:
    """Compare the answers to the first queries (bbox: every match): ``yes``, or what differs.

    Points that only server B returns and that lie outside the bbox are counted apart:
    an R*Tree keeps float32 bounds, so a store that trusts it for points without an exact
    test returns points up to ~1e-5° (≈1 m) outside the box.
    """
    only_a = only_b = edge = 0
    for q in qs[:5]:
        if "bbox=" in q:  # every match in the box, not just the first page
            q = q.replace("limit=100", "limit=10000")
        a = json.loads(fetch(port_a, f"{base_a}?{q}", head_a)[1])["features"]
        b = json.loads(fetch(port_b, f"{base_b}?{q}", head_b)[1])["features"]
        ids_a = {str(f.get("id")) for f in a}
        extra = [f for f in b if str(f.get("id")) not in ids_a]
        only_a += len(ids_a - {str(f.get("id")) for f in b})
        if "bbox=" in q:
            x0, y0, x1, y1 = map(float, q.split("bbox=")[1].split("&")[0].split(","))
            outside = [f for f in extra if not (x0 <= f["geometry"]["coordinates"][0] <= x1
                                                and y0 <= f["geometry"]["coordinates"][1] <= y1)]
            edge += len(outside)
            only_b += len(extra) - len(outside)
        else:
            only_b += len(extra)
    if only_a == only_b == edge == 0:
        return "yes"
    parts = [f"{only_a} only in A" if only_a else "", f"{only_b} only in B" if only_b else "",
             f"B +{edge} just outside bbox" if edge else ""]
    return "; ".join(p for p in parts if p)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--points", type=int, default=100_000)
    ap.add_argument("--requests", type=int, default=400, help="per scenario and server")
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--workers", type=int, default=2, help="gunicorn sync workers, both")
    ap.add_argument("--max-seconds", type=float, default=120, help="per scenario and server")
    ap.add_argument("--pygeoapi-venv", default="/tmp/pygeoapi-venv")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    args = ap.parse_args()

    venv = Path(args.pygeoapi_venv)
    if not (venv / "bin" / "pygeoapi").exists():
        sys.exit(f"pygeoapi not found in {venv}; see this script's docstring")
    workdir = Path(tempfile.mkdtemp(prefix="bench_ogcapi_"))
    procs: list[subprocess.Popen] = []
    try:
        t0 = time.perf_counter()
        _, analyst, viewer = build_store(workdir, args.points)
        print(f"built {args.points} points in {time.perf_counter() - t0:.1f} s ({workdir})")

        pg_port, gp_port = free_port(), free_port()
        cfg = pygeoapi_config(workdir, pg_port)
        pg_env = dict(os.environ, PYGEOAPI_CONFIG=str(cfg),
                      PYGEOAPI_OPENAPI=str(workdir / "pygeoapi-openapi.yml"))
        subprocess.run([str(venv / "bin" / "pygeoapi"), "openapi", "generate", str(cfg),
                        "--output-file", str(workdir / "pygeoapi-openapi.yml")],
                       env=pg_env, check=True, capture_output=True)
        procs.append(start([str(venv / "bin" / "gunicorn"), "-w", str(args.workers), "-b",
                            f"127.0.0.1:{pg_port}", "pygeoapi.flask_app:APP"], pg_env,
                           workdir / "pygeoapi.log", (pg_port, "/collections?f=json"), {}))
        gp_env = dict(os.environ, GEO_PCMT_STORE=str(workdir / "bench.gpkg"),
                      GEO_PCMT_USERS_DB=str(workdir / "users.sqlite"))
        procs.append(start([str(Path(sys.executable).parent / "gunicorn"), "-w",
                            str(args.workers), "-b", f"127.0.0.1:{gp_port}", "--chdir", str(REPO),
                            "app:app"], gp_env, workdir / "geo_pcmt.log",
                           (gp_port, "/api/collections"), {}))

        servers = [
            ("pygeoapi 0.21 (OGR/GPKG)", pg_port, "/collections/retail_points/items", {}),
            ("geo_pcmt analyst, restricted + audit", gp_port,
             "/api/collections/retail_points/items", {"Authorization": f"Bearer {analyst}"}),
            ("geo_pcmt viewer, public layer", gp_port, "/api/collections/facilities/items",
             {"Authorization": f"Bearer {viewer}"}),
        ]
        rows = []
        for scenario, with_bbox in (("items limit=100", False), ("items limit=100 + bbox", True)):
            qs = queries(args.points, args.requests, with_bbox, seed=11 if with_bbox else 13)
            same = same_answers(pg_port, servers[0][2], {}, gp_port, servers[1][2],
                                servers[1][3], qs)
            results = drive(servers, qs, args.concurrency, args.max_seconds)
            base = results[0]["rps"]
            for (name, *_), r in zip(servers, results):
                rows.append((scenario, name, r, r["rps"] / base, same))
                print(f"  {scenario:24s} {name:38s} {r['rps']:7.1f} req/s", flush=True)
        print()
        print(f"{args.points:,} points, {args.workers} gunicorn sync workers each, "
              f"{args.concurrency} client threads, {args.requests} requests per row, "
              f"loopback, {os.cpu_count()} cores shared by servers and client")
        print("| scenario | server | req/s | p50 ms | p99 ms | errors | × pygeoapi | "
              "same features (A = pygeoapi, B = geo_pcmt) |")
        print("|---|---|---:|---:|---:|---:|---:|---|")
        for scenario, name, r, ratio, same in rows:
            print(f"| {scenario} | {name} | {r['rps']:.1f} | {r['p50']:.1f} | {r['p99']:.1f} | "
                  f"{r['errors']} | {ratio:.2f} | {same} |")
    finally:
        for p in procs:
            stop(p)
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
