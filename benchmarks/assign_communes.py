"""Benchmark: assigning points to the 130 communes, and CSV ingest throughput.

Compares, in one run on the same points:
  geo_pcmt.spatial.assign_communes   (STRtree bbox candidates + prepared contains_xy)
  geopandas.sjoin(predicate="within")
  shapely.STRtree.query(points, predicate="within")   (the raw reference)
and checks all three give the same answer. Then validates a 100k-row CSV end to end.

Run:  .venv/bin/python benchmarks/assign_communes.py [--sizes 100000 1000000]
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import date

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo_pcmt.ingest import boundaries
from geo_pcmt import ingest
from geo_pcmt.ingest.spatial import assign_communes


def _points(n: int, rng: np.random.Generator, communes: gpd.GeoDataFrame) -> np.ndarray:
    """n points, 90 % inside the province (sampled in its bbox), 10 % outside it."""
    minx, miny, maxx, maxy = communes.total_bounds
    return shapely.points(rng.uniform(minx - 0.1, maxx + 0.1, n), rng.uniform(miny - 0.1, maxy + 0.1, n))


def _best(fn, repeat: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def bench_assign(sizes: list[int], repeat: int) -> list[dict]:
    communes = boundaries.communes()
    polys = communes.geometry.values
    codes = communes["code"].to_numpy(dtype=object)
    rng = np.random.default_rng(7)
    rows = []
    for n in sizes:
        pts = _points(n, rng, communes)
        gpts = gpd.GeoDataFrame(geometry=pts, crs=4326)

        def raw():
            tree = shapely.STRtree(polys)
            i_pt, i_poly = tree.query(pts, predicate="within")
            out = np.full(n, None, dtype=object)
            out[i_pt[::-1]] = codes[i_poly[::-1]]  # first match wins, like ours
            return out

        def sjoin():
            j = gpd.sjoin(gpts, communes[["code", "geometry"]], predicate="within", how="left")
            return j[~j.index.duplicated()]["code"].to_numpy(dtype=object)

        t_raw, r_raw = _best(raw, repeat)
        t_ours, r_ours = _best(lambda: assign_communes(pts, communes), repeat)
        t_sj, r_sj = _best(sjoin, repeat)
        same = (np.array([a == b for a, b in zip(r_ours, r_raw)]).all()
                and np.array([(a == b) or (a is None and pd.isna(b)) for a, b in zip(r_ours, r_sj)]).all())
        rows.append({"points": n, "geo_pcmt_s": t_ours, "strtree_raw_s": t_raw, "sjoin_s": t_sj,
                     "ours/raw": t_ours / t_raw, "ours/sjoin": t_ours / t_sj, "same_answer": same})
    return rows


def bench_ingest(n: int) -> dict:
    communes = boundaries.communes()
    rng = np.random.default_rng(3)
    inside = communes.sample_points(size=1, rng=rng)  # warm
    pts = communes.geometry.sample_points(size=n // 130 + 1, rng=rng).explode().values[:n]
    df = pd.DataFrame({
        "id": [f"RP-{i:07d}" for i in range(n)], "type": "diem_ban_le",
        "name": [f"Nhà ông Nguyễn Văn {i}" for i in range(n)],
        "lon": np.round(shapely.get_x(pts), 6), "lat": np.round(shapely.get_y(pts), 6),
        "first_seen": "2024-03-01", "status": "active", "source": "benchmark",
    })
    del inside
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "points.csv")
        df.to_csv(path, index=False)
        t = time.perf_counter()
        frame = ingest.read_any(path)
        t_read = time.perf_counter() - t
        t = time.perf_counter()
        rep = ingest.validate(frame, "retail_points", communes=communes, today=date(2026, 11, 25))
        t_val = time.perf_counter() - t
    return {"rows": n, "read_s": t_read, "validate_s": t_val, "rows_per_s": n / (t_read + t_val),
            "valid": rep.rows_valid, "errors": len(rep.errors)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--ingest-rows", type=int, default=100_000)
    args = ap.parse_args()
    print("Assign points to 130 communes (best of %d runs, seconds)" % args.repeat)
    print(f"{'points':>9} {'geo_pcmt':>9} {'STRtree':>9} {'sjoin':>9} {'ours/raw':>9} {'ours/sjoin':>10} same")
    for r in bench_assign(args.sizes, args.repeat):
        print(f"{r['points']:>9,} {r['geo_pcmt_s']:>9.3f} {r['strtree_raw_s']:>9.3f} {r['sjoin_s']:>9.3f} "
              f"{r['ours/raw']:>9.2f} {r['ours/sjoin']:>10.2f} {r['same_answer']}")
    r = bench_ingest(args.ingest_rows)
    print(f"\nIngest {r['rows']:,}-row CSV with validation: read {r['read_s']:.2f} s, "
          f"validate {r['validate_s']:.2f} s, {r['rows_per_s']:,.0f} rows/s "
          f"({r['valid']:,} valid, {r['errors']} errors)")


if __name__ == "__main__":
    main()
