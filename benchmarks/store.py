"""Benchmark: the two stores against the raw tools underneath them.

On the same 100k retail points (random over Nghệ An):
  write all rows         GeoPackageStore.write   vs pyogrio.write_dataframe (GDAL GPKG driver)
                         PostGISStore.write      vs psycopg COPY into a bare PostGIS table
  count all / in a bbox  store.count             vs SQLite R-tree / plain SQL count
  read a bbox (~1 %)     store.read(bbox=…)      vs pyogrio.read_dataframe(bbox=…) /
                                                    psycopg SELECT + shapely.from_wkb
Our stores do more than the raw tools (validate every value, stamp times, check ids, write
the audit record in the same transaction), so a ratio above 1 is the price of that.

The PostGIS server is a throw-away one from Debian's packages (as in the tests), durable
settings (fsync on, synchronous_commit on); or pass --pg-url to use your own empty database.

Bulk writes (``--bulk-rows 100000,400000``): a fresh GeoPackageStore.write of n rows (the
R-tree filled in bulk, store/gpkg_bulk.py) against GDAL's own writer into a fresh file
(pyogrio.write_dataframe, SPATIAL_INDEX=YES), taking turns in the same run, best of
``--write-repeat``; the goal is a ratio ≤ 2. ``--only-bulk`` runs just that part.

Run:  .venv/bin/python benchmarks/store.py [--rows 100000] [--repeat 3] [--bulk-rows 100000,400000]
"""
from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from geo_pcmt.ingest import boundaries  # noqa: E402
from geo_pcmt.store import GeoPackageStore  # noqa: E402
from geo_pcmt.store.base import CountMemo  # noqa: E402

BBOX = (104.60, 19.00, 104.75, 19.12)  # a box of ~1 % of the province around Con Cuông
WIDE = (103.8, 18.5, 105.0, 20.0)  # the western half: a district map zoomed out


def points(n: int, seed: int = 11) -> gpd.GeoDataFrame:
    """n retail points uniformly over the province's bounding box, realistic attributes."""
    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = boundaries.province().total_bounds
    x, y = rng.uniform(minx, maxx, n), rng.uniform(miny, maxy, n)
    return gpd.GeoDataFrame({
        "id": [f"RP-{i:07d}" for i in range(n)], "source": "benchmark",
        "type": rng.choice(["diem_ban_le", "dia_diem_to_chuc_chua_chap", "tu_diem_phuc_tap"], n),
        "name": [f"Nhà ông Nguyễn Văn {i}" for i in range(n)],
        "address": [f"Bản {i % 500}, xã Mường Xén" for i in range(n)],
        "first_seen": "2024-03-01", "status": "active",
    }, geometry=shapely.points(x, y), crs="EPSG:4326")


def extra_batches(repeat: int, n: int = 200, first: int = 0) -> list[gpd.GeoDataFrame]:
    """Small uploads appended between counts (ids that the big frame does not use)."""
    out = []
    for k in range(first, first + repeat):
        f = points(n, seed=100 + k)
        f["id"] = [f"RX-{k:03d}-{i:05d}" for i in range(n)]
        out.append(f)
    return out


def from_scratch(store, fn):
    """``fn`` timed as a first count: the counts the store remembers are forgotten first
    (otherwise a count repeated at the same data version is only followed, see
    ``Store.count``)."""
    def run():
        store._counts = CountMemo()
        return fn()
    return run


def followed(store, batches, append_raw, count, count_raw) -> dict:
    """Best times of a count right after a 200-row append: the store following its
    remembered count through the append, the store counting from scratch, and the raw
    tool (which always counts again); with the counts they gave last. The first read after
    a write pays for the pages the write made stale, so the store's two ways take turns
    being first (each on its own append)."""
    count()  # remembered at this version
    best = {"follow": float("inf"), "scratch": float("inf"), "raw": float("inf")}
    got = {}
    for k, batch in enumerate(batches):
        store.write("retail_points", batch)
        append_raw(batch)
        mine = ("follow", count) if k % 2 == 0 else ("scratch", from_scratch(store, count))
        for way, fn in (mine, ("raw", count_raw)):
            t = time.perf_counter()
            got[way] = fn()
            best[way] = min(best[way], time.perf_counter() - t)
        assert got[mine[0]] == got["raw"], got
        count()  # remembered again, at the new version
    return {"count_follow": best["follow"], "count_follow_raw": best["raw"],
            "count_follow_scratch": best["scratch"]}


def timed(fn, repeat: int = 1):
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


# --- GeoPackage ---------------------------------------------------------------------------------

def bench_gpkg(frame: gpd.GeoDataFrame, folder: Path, repeat: int) -> dict:
    out = {}
    store = GeoPackageStore(folder / "store.gpkg")
    store.init(["retail_points", "audit_log"])
    out["write"] = timed(lambda: store.write("retail_points", frame))[0]
    raw_path = folder / "raw.gpkg"
    out["write_raw"] = timed(lambda: pyogrio.write_dataframe(frame, raw_path, layer="retail_points",
                                                             driver="GPKG"))[0]
    out["count"], n = timed(from_scratch(store, lambda: store.count("retail_points")), repeat)
    out["count_raw"], n_raw = timed(lambda: _sqlite_count(raw_path), repeat)
    out["count_bbox"], nb = timed(
        from_scratch(store, lambda: store.count("retail_points", bbox=BBOX)), repeat)
    out["count_bbox_raw"], nb_raw = timed(lambda: _sqlite_count(raw_path, BBOX), repeat)
    out["read_bbox"], got = timed(lambda: store.read("retail_points", bbox=BBOX), repeat)
    out["read_bbox_raw"], got_raw = timed(
        lambda: pyogrio.read_dataframe(raw_path, layer="retail_points", bbox=BBOX), repeat)
    assert n == n_raw == len(frame) and nb == nb_raw == len(got) == len(got_raw), \
        (n, n_raw, nb, nb_raw, len(got), len(got_raw))
    out["bbox_rows"] = len(got)
    out["count_wide"], nw = timed(
        from_scratch(store, lambda: store.count("retail_points", bbox=WIDE)), repeat)
    out["count_wide_raw"], nw_raw = timed(lambda: _sqlite_count(raw_path, WIDE), repeat)
    assert nw == nw_raw, (nw, nw_raw)
    out["wide_rows"] = nw
    append = (lambda b: pyogrio.write_dataframe(b, raw_path, layer="retail_points",
                                                driver="GPKG", append=True))
    for suffix, box, k in (("", BBOX, 0), ("_wide", WIDE, 1)):
        got = followed(store, extra_batches(2 * repeat, first=k * 2 * repeat), append,
                       lambda: store.count("retail_points", bbox=box),
                       lambda: _sqlite_count(raw_path, box))
        out.update({key + suffix: v for key, v in got.items()})
    return out


def bench_bulk_write(sizes: list[int], folder: Path, repeat: int) -> list[dict]:
    """Fresh-file writes of n rows: GeoPackageStore against pyogrio/GDAL with its spatial
    index, in turns (so both see the same load on the machine), best of ``repeat``."""
    out = []
    for n in sizes:
        frame = points(n, seed=n)
        best = {"ours": float("inf"), "gdal": float("inf")}
        for k in range(repeat):
            store = GeoPackageStore(folder / f"bulk-{n}-{k}.gpkg")
            store.init(["retail_points", "audit_log"])
            raw = folder / f"bulk-raw-{n}-{k}.gpkg"
            t = time.perf_counter()
            store.write("retail_points", frame)
            best["ours"] = min(best["ours"], time.perf_counter() - t)
            store.close()
            t = time.perf_counter()
            pyogrio.write_dataframe(frame, raw, layer="retail_points", driver="GPKG",
                                    layer_options={"SPATIAL_INDEX": "YES"})
            best["gdal"] = min(best["gdal"], time.perf_counter() - t)
            assert _sqlite_count(store.path, BBOX) == _sqlite_count(raw, BBOX)
            store.path.unlink()
            raw.unlink()
        out.append({"rows": n, **best, "ratio": best["ours"] / best["gdal"]})
    return out


def print_bulk(results: list[dict], repeat: int) -> None:
    print(f"Bulk write into a fresh file (seconds, best of {repeat}); goal: ratio ≤ 2")
    print(f"{'rows':>9} {'GeoPackageStore':>15} {'GDAL (pyogrio)':>14} {'ratio':>6} "
          f"{'ours rows/s':>12}")
    for r in results:
        print(f"{r['rows']:>9,} {r['ours']:>15.2f} {r['gdal']:>14.2f} {r['ratio']:>6.2f} "
              f"{r['rows'] / r['ours']:>12,.0f}")


def _sqlite_count(path: Path, bbox=None) -> int:
    with sqlite3.connect(path) as conn:
        if bbox is None:
            return conn.execute("SELECT count(*) FROM retail_points").fetchone()[0]
        minx, miny, maxx, maxy = bbox
        return conn.execute("SELECT count(*) FROM rtree_retail_points_geom WHERE minx <= ? AND "
                            "maxx >= ? AND miny <= ? AND maxy >= ?",
                            (maxx, minx, maxy, miny)).fetchone()[0]


# --- PostGIS ------------------------------------------------------------------------------------

_RAW_DDL = """
CREATE TABLE raw_points (fid bigserial PRIMARY KEY, id text UNIQUE NOT NULL, source text,
  type text, name text, address text, first_seen date, status text,
  geom geometry(Point, 4326));
CREATE INDEX raw_points_geom ON raw_points USING gist (geom);
"""


def bench_postgis(frame: gpd.GeoDataFrame, url: str, repeat: int) -> dict:
    import psycopg

    from geo_pcmt.store.postgis import PostGISStore
    out = {}
    store = PostGISStore(url)
    store.init(["retail_points", "audit_log"])
    out["write"] = timed(lambda: store.write("retail_points", frame))[0]
    cols = ["id", "source", "type", "name", "address", "first_seen", "status"]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS raw_points")
        conn.execute(_RAW_DDL)

        def copy():
            ewkb = shapely.to_wkb(shapely.set_srid(frame.geometry.values, 4326), hex=True,
                                  include_srid=True)
            values = frame[cols].to_numpy(dtype=object)
            with conn.transaction(), conn.cursor() as cur:
                with cur.copy("COPY raw_points (id, source, type, name, address, first_seen, "
                              "status, geom) FROM STDIN") as cp:
                    for row, g in zip(values, ewkb):
                        cp.write_row([*row, g])
        out["write_raw"] = timed(copy)[0]
        conn.execute("ANALYZE raw_points")
        conn.execute("ANALYZE retail_points")
        env = "ST_MakeEnvelope(%s, %s, %s, %s, 4326)"

        def raw_count(bbox=None):
            if bbox is None:
                return conn.execute("SELECT count(*) FROM raw_points").fetchone()[0]
            return conn.execute(f"SELECT count(*) FROM raw_points WHERE geom && {env}",
                                bbox).fetchone()[0]

        def raw_append(batch):
            ewkb = shapely.to_wkb(shapely.set_srid(batch.geometry.values, 4326), hex=True,
                                  include_srid=True)
            with conn.transaction(), conn.cursor() as cur:
                with cur.copy("COPY raw_points (id, source, type, name, address, first_seen, "
                              "status, geom) FROM STDIN") as cp:
                    for row, g in zip(batch[cols].to_numpy(dtype=object), ewkb):
                        cp.write_row([*row, g])

        def raw_read():
            rows = conn.execute(f"SELECT {', '.join(cols)}, ST_AsBinary(geom) FROM raw_points "
                                f"WHERE geom && {env} ORDER BY fid", BBOX).fetchall()
            df = pd.DataFrame([r[:-1] for r in rows], columns=cols)
            return gpd.GeoDataFrame(df, geometry=shapely.from_wkb([r[-1] for r in rows]),
                                    crs="EPSG:4326")

        out["count"], n = timed(from_scratch(store, lambda: store.count("retail_points")),
                                repeat)
        out["count_raw"], n_raw = timed(raw_count, repeat)
        out["count_bbox"], nb = timed(
            from_scratch(store, lambda: store.count("retail_points", bbox=BBOX)), repeat)
        out["count_bbox_raw"], nb_raw = timed(lambda: raw_count(BBOX), repeat)
        out["read_bbox"], got = timed(lambda: store.read("retail_points", bbox=BBOX), repeat)
        out["read_bbox_raw"], got_raw = timed(raw_read, repeat)
        assert n == n_raw == len(frame) and nb == nb_raw == len(got) == len(got_raw)
        out["count_wide"], nw = timed(
            from_scratch(store, lambda: store.count("retail_points", bbox=WIDE)), repeat)
        out["count_wide_raw"], nw_raw = timed(lambda: raw_count(WIDE), repeat)
        assert nw == nw_raw, (nw, nw_raw)
        for suffix, box, k in (("", BBOX, 0), ("_wide", WIDE, 1)):
            got = followed(store, extra_batches(2 * repeat, first=k * 2 * repeat), raw_append,
                           lambda: store.count("retail_points", bbox=box),
                           lambda: raw_count(box))
            out.update({key + suffix: v for key, v in got.items()})
    store.close()
    out["bbox_rows"] = len(got)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3, help="best of N for reads and counts")
    ap.add_argument("--pg-url", default=None, help="an empty PostGIS database to use instead "
                                                   "of a throw-away server")
    ap.add_argument("--bulk-rows", default="100000,400000",
                    help="comma-separated sizes of the bulk-write comparison ('' to skip)")
    ap.add_argument("--write-repeat", type=int, default=2, help="best of N bulk writes")
    ap.add_argument("--only-bulk", action="store_true", help="run the bulk writes only")
    args = ap.parse_args()
    sizes = [int(v) for v in args.bulk_rows.split(",") if v.strip()]
    if sizes:
        with tempfile.TemporaryDirectory() as tmp:
            print_bulk(bench_bulk_write(sizes, Path(tmp), args.write_repeat), args.write_repeat)
    if args.only_bulk:
        return
    frame = points(args.rows)
    server = None
    with tempfile.TemporaryDirectory() as tmp:
        g = bench_gpkg(frame, Path(tmp), args.repeat)
        url = args.pg_url
        if url is None:
            from tests.pg import PgServer, find_bindir
            bindir = find_bindir()
            if bindir is None:
                print("PostgreSQL/PostGIS binaries not found (apt-get install postgresql "
                      "postgresql-15-postgis-3); PostGIS column skipped")
            else:
                server = PgServer(bindir, settings={"fsync": "on", "synchronous_commit": "on",
                                                    "full_page_writes": "on"}).start()
                url = server.create_database("bench")
        try:
            p = bench_postgis(frame, url, args.repeat) if url else None
        finally:
            if server is not None:
                server.stop()
    rows = [("write all rows", "write", "write_raw", "pyogrio", "COPY"),
            ("count all", "count", "count_raw", "SQLite", "SQL"),
            (f"count in bbox ({g['bbox_rows']:,})", "count_bbox", "count_bbox_raw", "R-tree", "SQL"),
            (f"read bbox ({g['bbox_rows']:,} rows)", "read_bbox", "read_bbox_raw", "pyogrio",
             "psycopg"),
            ("count in bbox, +200 rows", "count_follow", "count_follow_raw", "R-tree", "SQL"),
            (f"count in wide box ({g['wide_rows']:,})", "count_wide", "count_wide_raw", "", ""),
            ("count in wide box, +200", "count_follow_wide", "count_follow_raw_wide", "", "")]
    print(f"Stores vs raw tools, {args.rows:,} points (seconds; reads best of {args.repeat})")
    head = (f"{'operation':26} {'GeoPackageStore':>15} {'raw GPKG':>10} {'ratio':>6}   "
            f"{'PostGISStore':>12} {'raw PG':>9} {'ratio':>6}   {'PG/GPKG':>7}")
    print(head)
    print("-" * len(head))
    for label, k, kr, _, _ in rows:
        line = f"{label:26} {g[k]:>15.4f} {g[kr]:>10.4f} {g[k] / g[kr]:>6.2f}   "
        if p:
            line += f"{p[k]:>12.4f} {p[kr]:>9.4f} {p[k] / p[kr]:>6.2f}   {p[k] / g[k]:>7.2f}"
        print(line)
    print("raw GPKG = pyogrio.write_dataframe / SQLite count / R-tree count / "
          "pyogrio.read_dataframe(bbox); raw PG = psycopg COPY / SQL count / && count / "
          "SELECT + shapely.from_wkb")
    print("counts are first counts (nothing remembered), except '+200 rows': the same count "
          "again right after a 200-row upload, which the stores follow from the count they "
          "remember (Store.count) while the raw tools count again")
    for suffix, what in (("", "bbox"), ("_wide", "wide box")):
        print(f"count in {what} after a 200-row upload, counted from scratch by the store: "
              f"GeoPackageStore {g['count_follow_scratch' + suffix]:.4f} s"
              + (f", PostGISStore {p['count_follow_scratch' + suffix]:.4f} s" if p else ""))
    write_rate = args.rows / g["write"]
    print(f"GeoPackageStore writes {write_rate:,.0f} rows/s"
          + (f"; PostGISStore {args.rows / p['write']:,.0f} rows/s" if p else ""))


if __name__ == "__main__":
    main()
