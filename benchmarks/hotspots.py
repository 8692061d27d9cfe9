"""Benchmark: Gi* against esda, DBSCAN against plain scikit-learn, HDBSCAN at two sizes.

1. Gi* on the province hex grid (two cell sizes), like against like on the same binary
   contiguity weights (built once, outside the timings): geo_pcmt analytical z + FDR against
   ``esda.G_Local(star=True, permutations=0)``, and geo_pcmt with 999 permutations against
   ``esda.G_Local(permutations=999)`` — esda with numba when it is installed, warmed up
   (JIT-compiled) by one untimed call in the same process. The analytical z must agree to
   1e-6. Only these two ratios are headlines; analytical against permutations compares
   different outputs and is not printed.
2. DBSCAN on 100k / 300k / 1M points (EPSG:32648): ``geo_pcmt.analysis.clusters.dbscan``
   (every core) against ``sklearn.cluster.DBSCAN(n_jobs=-1).fit`` on the coordinate array;
   each case runs in a fresh process so its peak RSS is its own; labels must match.
3. The full run at 100k and 1M clustered records (``benchmarks/scale.py``'s generator:
   70 % retail points, 10 % plots, 20 % cases, ten years): ``runs.hotspots.run`` with every
   method at the defaults (``--method all``), then ``runs.places.run``; each size in a fresh
   process, inputs built first (their RSS is shown), then wall seconds, CPU seconds (all
   threads; on a shared machine the honest measure of work) and peak RSS of each run. The
   store is left out (``benchmarks/scale.py`` times reading and loading).
4. HDBSCAN on 50k / 200k points: ``geo_pcmt.analysis.clusters.hdbscan`` with the scikit-learn engine
   (50k; 200k only with ``--full``: its minimum spanning tree is O(n²), ~4–5 min) and with
   the ``hdbscan`` package engine (Borůvka KD-tree), when installed.

Run:  .venv/bin/python benchmarks/hotspots.py [--cell-sizes 2000 1000] [--dbscan 100000 300000 1000000]
                                             [--full-run 100000 1000000] [--hdbscan 50000 200000]
                                             [--full] [--repeat 3]
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time
import warnings

import numpy as np

warnings.filterwarnings("ignore")


def _points_xy(n: int, seed: int = 7) -> np.ndarray:
    """n points over Nghệ An's extent (EPSG:32648): 30 % in 200 dense groups, 70 % scattered."""
    rng = np.random.default_rng(seed)
    lo, hi = np.array([381_000.0, 2_051_000.0]), np.array([602_000.0, 2_211_000.0])
    n_group = int(0.3 * n)
    centres = rng.uniform(lo, hi, (200, 2))
    grouped = centres[rng.integers(0, 200, n_group)] + rng.normal(0, 250, (n_group, 2))
    scattered = rng.uniform(lo, hi, (n - n_group, 2))
    return np.vstack([grouped, scattered])


def _best(fn, repeat: int):
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


# --- one isolated case (child process) ----------------------------------------------------

def _vm(key: str) -> float:
    """VmRSS / VmHWM of this process in MB (Linux)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak() -> None:
    # ru_maxrss is inherited across fork/exec; writing 5 to clear_refs resets VmHWM (Linux)
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass


def _one(case: str, n: int, eps_m: float, min_samples: int, repeat: int = 1) -> dict:
    import geopandas as gpd
    import shapely

    # both sides start from the same GeoDataFrame of points in EPSG:32648
    frame = gpd.GeoDataFrame(geometry=shapely.points(_points_xy(n)), crs=32648)
    if case == "dbscan-sklearn":
        from sklearn.cluster import DBSCAN

        def call():
            xy = shapely.get_coordinates(frame.geometry.values)
            return DBSCAN(eps=eps_m, min_samples=min_samples, n_jobs=-1).fit(xy).labels_
    elif case == "dbscan-geo_pcmt":
        from geo_pcmt.analysis.clusters import dbscan

        def call():
            return dbscan(frame, eps_m=eps_m, min_samples=min_samples,
                          weight_column=None, n_jobs=-1)["cluster"].to_numpy()
    elif case.startswith("hdbscan-"):
        from geo_pcmt.analysis.clusters import hdbscan

        def call():
            return hdbscan(frame, min_cluster_size=min_samples, weight_column=None,
                           engine=case.split("-", 1)[1])["cluster"].to_numpy()
    else:
        raise SystemExit(f"unknown case {case}")
    _reset_peak()
    base = _vm("VmRSS")
    seconds, labels = _best(call, repeat)
    # the partition, as a signature independent of label numbering
    _, first = np.unique(labels, return_index=True)
    canon = np.full(labels.max() + 2, -1)
    order = np.argsort(first)
    canon[(labels[first[order]] + 1)] = np.arange(len(order))
    sig = int(np.sum(canon[labels + 1].astype(np.int64) * (np.arange(len(labels)) % 9973)) % (2 ** 61))
    return {"seconds": seconds, "rss_mb": _vm("VmHWM"), "base_mb": base,
            "clusters": int(labels.max() + 1), "noise": int((labels < 0).sum()), "sig": sig}


def _interleaved_dbscan(n: int, eps_m: float, min_samples: int, rounds: int) -> dict:
    """Best time of each side over ``rounds`` alternating calls in one process: on a shared
    machine the load changes from second to second, so the two sides must take turns."""
    import geopandas as gpd
    import shapely
    from sklearn.cluster import DBSCAN

    from geo_pcmt.analysis.clusters import dbscan

    frame = gpd.GeoDataFrame(geometry=shapely.points(_points_xy(n)), crs=32648)
    best = {"sklearn": float("inf"), "geo_pcmt": float("inf")}
    for _ in range(rounds):
        t = time.perf_counter()
        DBSCAN(eps=eps_m, min_samples=min_samples, n_jobs=-1).fit(
            shapely.get_coordinates(frame.geometry.values))
        best["sklearn"] = min(best["sklearn"], time.perf_counter() - t)
        t = time.perf_counter()
        dbscan(frame, eps_m=eps_m, min_samples=min_samples, weight_column=None, n_jobs=-1)
        best["geo_pcmt"] = min(best["geo_pcmt"], time.perf_counter() - t)
    return best


def _full_run(n: int, repeat: int) -> dict:
    """Hotspots (all methods) then places on ``n`` synthetic records, in this process."""
    import importlib.util as iu
    import resource
    from pathlib import Path

    from geo_pcmt.ingest import boundaries
    from geo_pcmt.runs import hotspots, places

    spec = iu.spec_from_file_location("scale", Path(__file__).with_name("scale.py"))
    scale = iu.module_from_spec(spec)
    spec.loader.exec_module(scale)
    inputs = scale.synthetic(n)
    inputs.update(communes=boundaries.communes(), border_line=boundaries.border_line(),
                  border_crossings=boundaries.border_gates())

    def cpu() -> float:
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    out = {"records": n, "inputs_mb": _vm("VmRSS")}
    for name, call in (
            ("hotspots", lambda: hotspots.run(inputs, hotspots.HotspotParams(as_of="2025-12-31"))),
            ("places", lambda: places.run(inputs, places.PlaceParams(as_of="2025-12-31")))):
        best = (float("inf"), float("inf"), float("inf"))
        for _ in range(repeat):
            _reset_peak()
            t, c = time.perf_counter(), cpu()
            result = call()
            best = tuple(map(min, zip(best, (time.perf_counter() - t, cpu() - c, _vm("VmHWM")))))
            del result
        out.update({f"{name}_s": best[0], f"{name}_cpu_s": best[1], f"{name}_peak_mb": best[2]})
    return out


def _isolated(case: str, n: int, eps_m: float, min_samples: int, repeat: int = 1) -> dict:
    out = subprocess.run([sys.executable, __file__, "--one", case, str(n), str(eps_m),
                          str(min_samples), str(repeat)], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- Gi* -------------------------------------------------------------------------------------

def bench_gistar(cell_sizes: list[float], repeat: int) -> list[dict]:
    import esda
    import geopandas as gpd
    import libpysal
    import shapely

    from geo_pcmt.ingest import boundaries
    from geo_pcmt.analysis import gistar
    from geo_pcmt.analysis import grid

    have_numba = importlib.util.find_spec("numba") is not None
    province = boundaries.province()
    pts = gpd.GeoDataFrame(geometry=shapely.points(_points_xy(50_000)), crs=32648)
    rows = []
    for size in cell_sizes:
        cells = grid.aggregate_to_hexes(grid.hex_grid(province, size), pts)
        y = cells["value"].to_numpy(float)
        w = grid.hex_contiguity(cells)
        w_esda = libpysal.weights.WSP(w).to_W(silence_warnings=True)

        def ours():
            res = gistar.gi_star_values(y, w)
            return res, gistar.classify(res.z, gistar.fdr_bh(res.p))

        # warm esda up (numba compiles its permutation kernel on the first call)
        esda.G_Local(y, w_esda, transform="B", star=True, permutations=99, seed=0)
        t_ours, (res, _) = _best(ours, repeat)
        t_e0, e0 = _best(lambda: esda.G_Local(y, w_esda, transform="B", star=True,
                                              permutations=0), repeat)
        t_e999, _ = _best(lambda: esda.G_Local(y, w_esda, transform="B", star=True,
                                               permutations=999, seed=1), repeat)
        t_o999, _ = _best(lambda: gistar.gi_star_values(y, w, permutations=999, seed=1), repeat)
        ok = np.isfinite(e0.Zs)
        rows.append({"cells": len(cells), "cell_size_m": size, "numba": have_numba,
                     "ours_z+fdr_s": t_ours, "esda_perm0_s": t_e0,
                     "esda0/ours": t_e0 / t_ours,
                     "ours_perm999_s": t_o999, "esda_perm999_s": t_e999,
                     "esda999/ours999": t_e999 / t_o999,
                     "max|dz|": float(np.max(np.abs(res.z[ok] - e0.Zs[ok])))})
    return rows


def _table(rows: list[dict], title: str) -> None:
    print(f"\n{title}")
    if not rows:
        print("  (nothing run)")
        return
    cols = list(rows[0])
    fmt = {c: max(len(c), 10) for c in cols}
    print("  " + "  ".join(c.rjust(fmt[c]) for c in cols))
    for r in rows:
        cells = []
        for c in cols:
            v = r[c]
            text = (f"{v:.3g}" if isinstance(v, float) and (abs(v) < 0.01 and v != 0)
                    else f"{v:.3f}" if isinstance(v, float) else str(v))
            cells.append(text.rjust(fmt[c]))
        print("  " + "  ".join(cells))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--skip-gistar", action="store_true")
    ap.add_argument("--cell-sizes", type=float, nargs="*", default=[2000.0, 1000.0])
    ap.add_argument("--dbscan", type=int, nargs="*", default=[100_000, 300_000, 1_000_000])
    ap.add_argument("--hdbscan", type=int, nargs="*", default=[50_000, 200_000])
    ap.add_argument("--full-run", type=int, nargs="*", default=[100_000, 1_000_000])
    ap.add_argument("--eps-m", type=float, default=200.0)
    ap.add_argument("--min-samples", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--full", action="store_true",
                    help="also run scikit-learn's HDBSCAN beyond 50k points (slow: O(n²))")
    ap.add_argument("--one", nargs=5, metavar=("CASE", "N", "EPS_M", "MIN_SAMPLES", "REPEAT"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        case, n, eps, ms, rep = args.one
        if case == "full-run":
            print(json.dumps(_full_run(int(n), int(rep))))
        else:
            print(json.dumps(_one(case, int(n), float(eps), int(ms), int(rep))))
        return

    if args.full_run:
        rows = [_isolated("full-run", n, 0, 0, min(args.repeat, 2)) for n in args.full_run]
        _table(rows, "Full run at the defaults: hotspots (--method all) then places, in-memory "
                     f"inputs (best of {min(args.repeat, 2)}; load average "
                     f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")

    if not args.skip_gistar:
        _table(bench_gistar(args.cell_sizes, args.repeat),
               "Gi* on the province hex grid (binary contiguity; seconds; ratios = esda / geo_pcmt, "
               "like against like)")

    rows = []
    for n in args.dbscan:
        # timing: alternating calls in one process; memory: one call per fresh process
        times = _interleaved_dbscan(n, args.eps_m, args.min_samples,
                                    args.repeat if n <= 300_000 else 2)
        ref = _isolated("dbscan-sklearn", n, args.eps_m, args.min_samples)
        ours = _isolated("dbscan-geo_pcmt", n, args.eps_m, args.min_samples)
        rows.append({"points": n, "sklearn_s": times["sklearn"], "geo_pcmt_s": times["geo_pcmt"],
                     "ours/sklearn": times["geo_pcmt"] / times["sklearn"],
                     "input_rss_mb": ours["base_mb"],
                     "sklearn_peak_mb": ref["rss_mb"], "geo_pcmt_peak_mb": ours["rss_mb"],
                     "peak_ratio": ours["rss_mb"] / ref["rss_mb"], "clusters": ours["clusters"],
                     "same_labels": ours["sig"] == ref["sig"]})
    _table(rows, f"DBSCAN eps={args.eps_m:g} m, min_samples={args.min_samples}, both on every "
                 "core (best of "
                 "alternating calls; RSS: input loaded, and peak of one call in a fresh process)")

    rows = []
    have_lib = importlib.util.find_spec("hdbscan") is not None  # optional engine
    for n in args.hdbscan:
        row = {"points": n}
        if n <= 50_000 or args.full:
            sk = _isolated("hdbscan-sklearn", n, args.eps_m, args.min_samples)
            row.update({"sklearn_engine_s": sk["seconds"], "sklearn_rss_mb": sk["rss_mb"],
                        "sklearn_clusters": sk["clusters"]})
        else:
            row.update({"sklearn_engine_s": float("nan"), "sklearn_rss_mb": float("nan"),
                        "sklearn_clusters": "-"})
        if have_lib:
            lib = _isolated("hdbscan-hdbscan", n, args.eps_m, args.min_samples)
            row.update({"hdbscan_engine_s": lib["seconds"], "hdbscan_rss_mb": lib["rss_mb"],
                        "hdbscan_clusters": lib["clusters"]})
        rows.append(row)
    _table(rows, f"HDBSCAN min_cluster_size={args.min_samples} (sklearn engine beyond 50k only "
                 "with --full)")


if __name__ == "__main__":
    main()
