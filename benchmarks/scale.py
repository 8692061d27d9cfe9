"""Benchmark: a province's decade of records — time and peak memory per step, and their growth.

For each size (default 100k, 300k, 1M points), seeded SYNTHETIC records inside Nghệ An's
communes: 70 % retail points, 10 % opium plots, 20 % cases, dated over ten years
(2016–2025), 90 % in ~N/400 groups (spread 150–900 m) and 10 % scattered. Each step runs
in its own Python process, and the parent reads the child's peak RSS (``wait4``):

  load      Store.write of the three layers into a fresh GeoPackage (boundaries loaded first,
            untimed); what ``geo-pcmt load`` does after reading and checking the file
  hotspots  runs.hotspots.read_inputs + run at the defaults (``--method all``)
  places    runs.places.read_inputs + run at the defaults
  map       outputs.map.build + save of the analyst map from the store

It prints one table: wall seconds (the step itself, imports excluded), CPU seconds (every
thread: the work done, whatever else the machine runs) and peak RSS per step and size, each
the least of ``--repeat`` runs (load: one), the machine's load average while measuring, the
growth exponent of each (log-log slope from the smallest to the largest size: 1 = linear),
and how much of hotspots and places is reading the store. Goals at 1M (issue 21):
hotspots ≤ 25 s and ≤ 2 GB, no step super-linear.

Run:  .venv/bin/python benchmarks/scale.py [--sizes 100000 300000 1000000] [--steps ...]
                                           [--repeat 2]
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

STEPS = ("load", "hotspots", "places", "map")
READ_S: dict[str, float] = {}  # seconds of a step spent in read_inputs (the store)
SHARES = {"retail_points": 0.7, "opium_plots": 0.1, "cases": 0.2}


def synthetic(n: int, seed: int = 21) -> dict:
    """Seeded clustered records inside the province's communes (SYNTHETIC)."""
    import geopandas as gpd
    import numpy as np
    import pandas as pd
    import shapely

    from geo_pcmt.ingest import boundaries

    rng = np.random.default_rng(seed)
    communes = boundaries.communes().to_crs(32648)
    area = shapely.union_all(communes.geometry.values)
    shapely.prepare(area)
    centres = shapely.get_coordinates(communes.geometry.sample_points(
        size=max(1, n // 400 // len(communes) + 1), rng=rng).explode().values)
    xy = np.empty((0, 2))
    while len(xy) < n:  # draw, keep what falls inside the province, until there are n
        k = int((n - len(xy)) * 1.3) + 100
        grouped = centres[rng.integers(0, len(centres), int(k * 0.9))] + \
            rng.normal(0, 1, (int(k * 0.9), 2)) * rng.uniform(150, 900, (int(k * 0.9), 1))
        lo, hi = np.array(area.bounds[:2]), np.array(area.bounds[2:])
        pts = np.r_[grouped, rng.uniform(lo, hi, (k - int(k * 0.9), 2))]
        xy = np.r_[xy, pts[shapely.contains_xy(area, pts[:, 0], pts[:, 1])]]
    xy = xy[rng.permutation(len(xy))[:n]]
    geom = gpd.GeoSeries(shapely.points(xy), crs=32648).to_crs(4326).values
    day0 = pd.Timestamp("2016-01-01")
    days = rng.integers(0, 3650, n)
    start = (day0 + pd.to_timedelta(days, unit="D")).strftime("%Y-%m-%d").to_numpy()
    out, at = {}, 0
    for layer, share in SHARES.items():
        m = int(round(n * share)) if layer != "cases" else n - at
        sl = slice(at, at + m)
        at += m
        base = {"id": [f"{layer[:2].upper()}-{i:07d}" for i in range(m)],
                "source": "benchmark (SYNTHETIC)", "confidentiality": "restricted"}
        if layer == "retail_points":
            status = np.array(["active", "watch", "cleared", "re-emerged"])[
                rng.choice(4, m, p=[0.5, 0.2, 0.25, 0.05])]
            cleared = (pd.to_datetime(start[sl]) + pd.to_timedelta(
                rng.integers(30, 900, m), unit="D")).strftime("%Y-%m-%d").to_numpy()
            base.update(type=np.array(["diem_ban_le", "dia_diem_to_chuc_chua_chap",
                                       "tu_diem_phuc_tap"])[rng.choice(3, m, p=[.8, .12, .08])],
                        first_seen=start[sl], last_activity=start[sl], status=status,
                        cleared_on=np.where(status == "cleared", cleared, None))
        elif layer == "opium_plots":
            base.update(detected_on=start[sl], area_m2=rng.uniform(40, 600, m).round(0),
                        plant_count=rng.integers(200, 6000, m))
        else:
            base.update(date=start[sl], kind="retail", offenders=rng.integers(1, 4, m))
        out[layer] = gpd.GeoDataFrame(base, geometry=geom[sl], crs=4326)
    return out


def step_load(folder: Path) -> float:
    import geopandas as gpd

    from geo_pcmt.runs.seed import load_boundaries
    from geo_pcmt.store import open_store
    store = open_store(str(folder / "store.gpkg"))
    load_boundaries(store)
    frames = {layer: gpd.read_file(folder / f"{layer}.gpkg") for layer in SHARES}
    t = time.perf_counter()
    for layer, frame in frames.items():
        store.write(layer, frame, mode="append", user="benchmark")
    return time.perf_counter() - t


def step_hotspots(folder: Path) -> float:
    from geo_pcmt.runs import hotspots
    from geo_pcmt.store import open_store
    store = open_store(str(folder / "store.gpkg"))
    params = hotspots.HotspotParams(as_of="2025-12-31")
    t = time.perf_counter()
    inputs = hotspots.read_inputs(store, params)
    READ_S["hotspots"] = time.perf_counter() - t
    result = hotspots.run(inputs, params)
    took = time.perf_counter() - t
    print(json.dumps({"summary": result.summary}, default=str), file=sys.stderr)
    return took


def step_places(folder: Path) -> float:
    from geo_pcmt.runs import places
    from geo_pcmt.store import open_store
    store = open_store(str(folder / "store.gpkg"))
    params = places.PlaceParams(as_of="2025-12-31")
    t = time.perf_counter()
    inputs = places.read_inputs(store, params)
    READ_S["places"] = time.perf_counter() - t
    result = places.run(inputs, params)
    took = time.perf_counter() - t
    print(json.dumps({"places": len(result.places)}), file=sys.stderr)
    return took


def step_map(folder: Path) -> float:
    from geo_pcmt.outputs import map as mapping
    from geo_pcmt.store import open_store
    store = open_store(str(folder / "store.gpkg"))
    t = time.perf_counter()
    m = mapping.build(mapping.map_frames(store, "analyst"), role="analyst",
                      options=mapping.MapOptions(assets_base_url="vendor"))
    mapping.save(m, folder / "map.html")
    return time.perf_counter() - t


def child(step: str, folder: Path) -> None:
    import resource

    def cpu() -> float:
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    c = cpu()
    took = globals()[f"step_{step}"](folder)
    print(json.dumps({"seconds": took, "cpu": cpu() - c, "read": READ_S.get(step)}))


def run_step(step: str, folder: Path, repeat: int = 1) -> tuple[float, float, float, float | None]:
    """Seconds of the step, its CPU seconds (every thread), peak RSS (MB) of its process and
    seconds spent reading the store (hotspots, places): each the least of ``repeat`` runs."""
    best = None
    for _ in range(repeat):
        proc = subprocess.Popen([sys.executable, __file__, "--child", step, str(folder)],
                                stdout=subprocess.PIPE, text=True, cwd=ROOT)
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        if status != 0:
            raise SystemExit(f"step {step} failed (status {status})")
        got = json.loads(out.strip().splitlines()[-1])
        row = (got["seconds"], got["cpu"], usage.ru_maxrss / 1024,
               got["read"] if got["read"] is not None else float("nan"))
        best = row if best is None else tuple(map(min, zip(best, row)))
    return best


def slope(xs: list[int], ys: list[float]) -> float:
    return math.log(ys[-1] / ys[0]) / math.log(xs[-1] / xs[0])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 300_000, 1_000_000])
    ap.add_argument("--steps", nargs="+", default=list(STEPS), choices=STEPS)
    ap.add_argument("--repeat", type=int, default=2, help="runs of each step; the least is kept")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args.child[0], Path(args.child[1]))
    results: dict[str, dict[int, tuple]] = {s: {} for s in args.steps}
    loads = []
    with tempfile.TemporaryDirectory(prefix="geo_pcmt_scale_") as tmp:
        for n in args.sizes:
            folder = Path(tmp) / str(n)
            folder.mkdir()
            for layer, frame in synthetic(n).items():
                frame.to_file(folder / f"{layer}.gpkg", engine="pyogrio")
            if "load" not in args.steps:
                step_load(folder)
            for step in args.steps:
                loads.append(os.getloadavg()[0])
                # load appends to the store: one run only, or the rows would double
                results[step][n] = run_step(step, folder, 1 if step == "load" else args.repeat)
                sec, cpu, mb, read = results[step][n]
                extra = f"  (read_inputs {read:.1f} s)" if read == read else ""
                print(f"{n:>9,} {step:9s} {sec:7.1f} s {cpu:7.1f} s CPU {mb:8.0f} MB{extra}",
                      flush=True)
    print(f"\nwall s / CPU s / peak RSS MB; load average {min(loads):.1f}–{max(loads):.1f} on "
          f"{os.cpu_count()} cores while measuring (other work on the machine slows wall time)")
    print("step      " + "".join(f"{n:>26,}" for n in args.sizes) + "   growth wall / CPU / memory")
    for step, by_n in results.items():
        cells = "".join(f"{by_n[n][0]:8.1f} {by_n[n][1]:7.1f} {by_n[n][2]:7.0f} MB"
                        for n in args.sizes)
        grow = ""
        if len(args.sizes) > 1:
            ns = list(args.sizes)
            grow = "   " + " / ".join(f"{slope(ns, [by_n[n][k] for n in ns]):.2f}"
                                      for k in range(3))
        print(f"{step:9s} {cells}{grow}")
    for step in ("hotspots", "places"):
        if step in results:
            print(f"{step}: of which read_inputs (the store) " + ", ".join(
                f"{results[step][n][3]:.1f} s at {n:,}" for n in args.sizes))


if __name__ == "__main__":
    main()
