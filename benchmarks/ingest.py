"""Benchmark: ``geo-pcmt load`` end to end — read a CSV, check every row, store it.

For each size (default 100k, 300k, 1M rows), a seeded SYNTHETIC CSV of retail points as an
officer's sheet holds them (text cells: id, type, status, first seen, name, lon, lat; the
points are scale.py's clustered points inside Nghệ An's communes) is loaded into a fresh
GeoPackage store holding the real boundaries, by the CLI in its own process: reading in
chunks, validation (types, allowed values, dates, lon/lat, commune by spatial join,
duplicates) and storing (one transaction, R-tree filled in bulk) all included. The parent
reads the child's peak RSS (``wait4``). The files are made in a helper process, so that
the parent stays small: Linux counts the parent's memory at the fork in the child's peak
RSS (an earlier version, making 1M points in the parent, showed 1,330 MB for a load that
peaked at 790 MB).

Printed per size: seconds, rows/s, peak RSS (each the least of ``--repeat`` runs), and the
growth: exponents (log-log slope from the smallest to the largest size: 1 = linear) and
the peak RSS added per extra row (bytes). Goal (issue 21): 1M rows in ≤ 20 s, memory
bounded by the chunk (exponent near 0).

Run:  .venv/bin/python benchmarks/ingest.py [--sizes 100000 300000 1000000] [--chunk-rows 100000]
                                            [--repeat 2]
"""
from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def write_csv(n: int, path: Path) -> None:
    """n retail points as text, clustered inside the province (scale.synthetic)."""
    import numpy as np
    import pandas as pd
    import shapely

    from scale import synthetic
    points = synthetic(int(n / 0.7) + 1)["retail_points"].iloc[:n]
    xy = shapely.get_coordinates(points.geometry.values)
    rng = np.random.default_rng(5)
    pd.DataFrame({
        "Mã": [f"RP-{i:07d}" for i in range(n)],
        "Loại điểm": rng.choice(["diem_ban_le", "tu_diem_phuc_tap"], n),
        "Trạng thái": "active",
        "Ngày phát hiện": points["first_seen"].astype(str).str[:10].to_numpy(),
        "Tên": [f"Nhà ông Nguyễn Văn {i}" for i in range(n)],
        "Kinh độ": np.round(xy[:, 0], 6), "Vĩ độ": np.round(xy[:, 1], 6),
    }).to_csv(path, index=False, encoding="utf-8")


def load(store: Path, csv: Path, chunk_rows: int) -> tuple[float, float]:
    """Seconds and peak RSS (MB) of ``geo-pcmt load`` in its own process."""
    cmd = [sys.executable, "-c", "from geo_pcmt.cli import main; main()", "load",
           "retail_points", str(csv), "--json", "--chunk-rows", str(chunk_rows),
           "--store", str(store)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    took = time.perf_counter() - t
    if status != 0:
        raise SystemExit(f"load failed ({status}): {proc.stderr.read().decode()[-2000:]}")
    return took, usage.ru_maxrss / 1024


def prepare(folder: Path, sizes: list[int]) -> None:
    """The CSV files and a store holding the boundaries (run in a helper process)."""
    from geo_pcmt.runs.seed import load_boundaries
    from geo_pcmt.store import GeoPackageStore
    store = GeoPackageStore(folder / "template.gpkg")
    store.init()
    load_boundaries(store)
    store.close()
    for n in sizes:
        write_csv(n, folder / f"points-{n}.csv")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 300_000, 1_000_000])
    ap.add_argument("--chunk-rows", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=1, help="loads of each size; the least kept")
    ap.add_argument("--prepare", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.prepare:
        return prepare(Path(args.prepare), args.sizes)
    results = {}
    with tempfile.TemporaryDirectory(prefix="geo_pcmt_ingest_") as tmp:
        subprocess.run([sys.executable, __file__, "--prepare", tmp, "--sizes",
                        *map(str, args.sizes)], check=True)
        template = Path(tmp) / "template.gpkg"
        for n in args.sizes:
            csv = Path(tmp) / f"points-{n}.csv"
            runs = []
            for _ in range(args.repeat):
                target = Path(tmp) / f"store-{n}.gpkg"
                target.write_bytes(template.read_bytes())
                runs.append(load(target, csv, args.chunk_rows))
                for extra in ("", "-wal", "-shm", ".lock"):
                    Path(f"{target}{extra}").unlink(missing_ok=True)
            results[n] = tuple(map(min, zip(*runs)))
            sec, mb = results[n]
            print(f"{n:>9,} rows  {csv.stat().st_size / 1e6:6.1f} MB CSV  {sec:6.1f} s  "
                  f"{n / sec:>8,.0f} rows/s  {mb:6.0f} MB peak RSS", flush=True)
    if len(args.sizes) > 1:
        ns = args.sizes
        grow = [math.log(results[ns[-1]][k] / results[ns[0]][k]) / math.log(ns[-1] / ns[0])
                for k in (0, 1)]
        def per_row(a: int, b: int) -> float:  # peak RSS bytes added per extra row
            return (results[b][1] - results[a][1]) * 2**20 / (b - a)
        print(f"growth exponent: time {grow[0]:.2f}, memory {grow[1]:.2f} (1 = linear); "
              f"peak RSS per extra row {per_row(ns[0], ns[-1]):,.0f} B, "
              f"{per_row(ns[-2], ns[-1]):,.0f} B over the last step (SQLite's 64 MiB page "
              f"cache fills first); load average {os.getloadavg()[0]:.1f} on "
              f"{os.cpu_count()} cores")


if __name__ == "__main__":
    main()
