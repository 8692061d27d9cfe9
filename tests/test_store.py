"""GeoPackageStore specifics: the file is a standard GeoPackage, survives a killed writer.

The store contract shared with PostGIS (round trips, filters, write modes, atomicity, audit)
is in test_store_backends.py and runs against both backends.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import signal
import sqlite3
import time
import warnings

import pyogrio
import pytest
import shapely

from geo_pcmt.ingest import boundaries
from geo_pcmt.store import GeoPackageStore

from .conftest import retail_frame


def test_gdal_reads_the_store_as_a_standard_geopackage_with_spatial_index(store):
    info = pyogrio.read_info(store.path, layer="communes")
    assert info["features"] == 130
    assert info["crs"] == "EPSG:4326"
    df = pyogrio.read_dataframe(store.path, layer="communes", bbox=(104.05, 19.35, 104.2, 19.5))
    ours = store.read("communes", bbox=(104.05, 19.35, 104.2, 19.5))
    assert set(df["code"]) == set(ours["code"]) and len(ours) > 0


def test_a_polygon_written_to_a_multipolygon_layer_reads_in_gdal_without_warnings(store):
    one = store.read("communes", limit=1)
    one.geometry = [shapely.box(104.0, 19.0, 104.1, 19.1)]
    one["id"] = one["code"] = "99999"
    store.write("communes", one)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        back = pyogrio.read_dataframe(store.path, layer="communes", where="code = '99999'")
    assert back.geometry.iloc[0].geom_type == "MultiPolygon"


def _writer(path: str, start: int) -> None:  # runs in a child process
    s = GeoPackageStore(path)
    while True:
        s.write("retail_points", retail_frame(20_000, start=start))
        start += 20_000


@pytest.mark.slow  # fault: a writer process is killed
def test_killing_a_writer_mid_write_leaves_every_earlier_record_intact(store):
    store.write("retail_points", retail_frame(1000))
    before = store.read("retail_points")
    ctx = mp.get_context("spawn")
    child = ctx.Process(target=_writer, args=(str(store.path), 1_000_000))
    child.start()
    # wait until the child is inside its first write transaction, then kill it
    deadline = time.time() + 60
    wal = store.path.with_name(store.path.name + "-wal")
    while time.time() < deadline and (not wal.exists() or wal.stat().st_size < 200_000):
        time.sleep(0.01)
    time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)
    child.join()
    assert store.check() == "ok"
    after = store.read("retail_points")
    assert (len(after) - 1000) % 20_000 == 0  # whole writes only
    kept = after.set_index("id").loc[before["id"]]
    assert list(kept["name"]) == list(before["name"])
    assert pyogrio.read_info(store.path, layer="retail_points")["features"] == len(after)
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_store_file_is_created_under_a_missing_folder(tmp_path):
    s = GeoPackageStore(tmp_path / "deep" / "er" / "s.gpkg")
    s.init(["communes"])
    s.write("communes", boundaries.communes().head(3))
    assert s.count("communes") == 3 and "communes" in [l.name for l in s.layers()]


def test_bbox_on_points_is_exact_not_the_rtree_float32_envelope(store):
    from tests.conftest import retail_frame
    frame = retail_frame(3)
    # 1e-6° (0.1 m) outside the box: inside the R-tree's rounded float32 bounds
    frame.geometry = shapely.points([104.2, 104.2 - 1e-6, 104.2 + 1e-6], [19.4, 19.4, 19.4])
    store.write("retail_points", frame)
    box = (104.2, 19.3, 104.3, 19.5)
    assert list(store.read("retail_points", bbox=box)["id"]) == ["RP-000000", "RP-000002"]
    assert store.count("retail_points", bbox=box) == 2


def test_pages_and_counts_of_points_in_a_box_match_an_exact_test_at_the_edges(empty_store):
    # many points well inside, and points on, just inside and just outside every edge
    # (closer than the R-tree's float32 rounding): pages and counts must be exact
    import numpy as np
    from tests.conftest import retail_frame
    box = (104.2, 19.3, 104.3, 19.5)
    rng = np.random.default_rng(7)
    xs = list(rng.uniform(104.15, 104.35, 400))
    ys = list(rng.uniform(19.25, 19.55, 400))
    for d in (-1e-6, -1e-7, 0.0, 1e-7, 1e-6):
        for x, y in ((104.2 + d, 19.4), (104.3 + d, 19.4), (104.25, 19.3 + d), (104.25, 19.5 + d),
                     (104.2 + d, 19.3 + d), (104.3 + d, 19.5 + d)):
            xs.append(x)
            ys.append(y)
    frame = retail_frame(len(xs))
    frame.geometry = shapely.points(xs, ys)
    frame["confidentiality"] = np.where(np.arange(len(xs)) % 3 == 0, "secret", "restricted")
    empty_store.write("retail_points", frame)
    inside = shapely.intersects(frame.geometry.values, shapely.box(*box))
    for where in (None, {"confidentiality": ["restricted"]}):
        keep = inside & (frame["confidentiality"].to_numpy() == "restricted" if where else True)
        truth = list(frame["id"][keep])
        assert empty_store.count("retail_points", bbox=box, where=where) == len(truth)
        pages = [empty_store.read("retail_points", bbox=box, where=where, limit=37,
                                  offset=o)["id"].tolist() for o in range(0, len(truth) + 37, 37)]
        assert sum(pages, []) == truth  # every page in stored order, none twice, none lost
        assert empty_store.read("retail_points", bbox=box, where=where)["id"].tolist() == truth


def test_the_spatial_index_after_append_upsert_and_replace_is_what_gdal_expects(empty_store):
    # writes fill the R-tree themselves (not through its per-row triggers): the index must
    # hold every non-empty geometry once, with bounds around it, and the triggers must be
    # back for editors such as QGIS
    import sqlite3 as sq
    from contextlib import closing
    import pyogrio
    from tests.conftest import retail_frame
    store = empty_store
    a = retail_frame(50)
    store.write("retail_points", a)
    b = retail_frame(30, start=40)  # 10 updates, 20 new
    b.geometry = shapely.points(104.30 + b.index * 1e-3, 19.45)
    store.write("retail_points", b, mode="upsert")
    stored = store.read("retail_points")
    with closing(sq.connect(store.path)) as conn:
        rtree = dict((r[0], r[1:]) for r in conn.execute(
            "SELECT id, minx, maxx, miny, maxy FROM rtree_retail_points_geom"))
        fids = dict(conn.execute("SELECT id, fid FROM retail_points"))
        triggers = {r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'rtree_retail%'")}
    assert len(triggers) == 7
    assert sorted(rtree) == sorted(fids.values()) and len(stored) == 70
    for rid, g in zip(stored["id"], stored.geometry):
        minx, maxx, miny, maxy = rtree[fids[rid]]
        assert minx <= g.x <= maxx and miny <= g.y <= maxy and maxx - minx < 1e-4
    box = (104.295, 19.44, 104.40, 19.46)
    truth = sorted(stored["id"][shapely.intersects(stored.geometry.values, shapely.box(*box))])
    assert len(truth) == 30

    def gdal_bbox(box):
        # GDAL links its own SQLite: two SQLite libraries must not hold the same file open
        # in one process (their POSIX locks clash), so the store lets go of it first
        store.close()
        return sorted(pyogrio.read_dataframe(store.path, layer="retail_points", bbox=box)["id"])

    assert gdal_bbox(box) == truth
    # replace: the old entries go, the new ones are indexed
    store.write("retail_points", retail_frame(5, start=900), mode="replace")
    assert gdal_bbox(box) == []
    assert len(store.read("retail_points", bbox=(104.0, 19.0, 104.5, 19.8))) == 5
    # an edit made through the triggers (as QGIS would) still updates the index
    with closing(sq.connect(store.path, isolation_level=None)) as conn:
        from geo_pcmt.store.gpkg import _register_functions
        _register_functions(conn)
        conn.execute("DELETE FROM retail_points WHERE id = 'RP-000900'")
    assert len(store.read("retail_points", bbox=(104.0, 19.0, 104.5, 19.8))) == 4


@pytest.mark.slow  # load: writers queue for the lock
def test_a_writer_waits_its_turn_and_gives_a_clear_error_when_it_never_comes(empty_store):
    # another process holding the write turn: a writer waits, then reports the store busy,
    # and nothing of its rows is stored; once the turn is free it writes
    import fcntl
    import threading
    import time
    from tests.conftest import retail_frame
    from geo_pcmt.store.base import StoreError
    store = GeoPackageStore(empty_store.path, busy_timeout_s=0.3)
    holder = open(f"{store.path}.lock", "a+b")
    fcntl.flock(holder.fileno(), fcntl.LOCK_EX)
    t0 = time.monotonic()
    with pytest.raises(StoreError, match="busy.*nothing was written"):
        store.write("retail_points", retail_frame(3))
    assert time.monotonic() - t0 >= 0.3
    assert store.count("retail_points") == 0
    threading.Timer(0.2, fcntl.flock, (holder.fileno(), fcntl.LOCK_UN)).start()
    patient = GeoPackageStore(empty_store.path, busy_timeout_s=10)
    patient.write("retail_points", retail_frame(3))  # waits for the turn, then writes
    assert patient.count("retail_points") == 3
    holder.close()


def test_init_upgrades_a_store_made_by_an_older_schema_and_keeps_its_rows(store):
    import sqlite3 as sq
    from tests.conftest import retail_frame
    store.write("retail_points", retail_frame(3))
    # an older version's table: drop a column the schema now has
    with sq.connect(store.path) as conn:
        conn.execute('ALTER TABLE retail_points DROP COLUMN case_ref')
    fresh = GeoPackageStore(store.path)
    fresh.init()
    frame = retail_frame(1, start=10)
    frame["case_ref"] = "VA-2026-001"
    fresh.write("retail_points", frame)
    back = fresh.read("retail_points")
    assert len(back) == 4 and back["case_ref"].iloc[-1] == "VA-2026-001"
    assert pyogrio.read_info(store.path, layer="retail_points")["features"] == 4
    assert "case_ref" in pyogrio.read_info(store.path, layer="retail_points")["fields"]


def test_a_new_store_file_and_its_wal_shm_and_lock_are_owner_only(tmp_path):
    # like users.sqlite: records of drug activity must not be readable by other accounts
    old = os.umask(0o022)  # a usual umask: files would otherwise come out world-readable
    try:
        store = GeoPackageStore(tmp_path / "var" / "geo_pcmt.gpkg")
        store.init(["retail_points", "audit_log"])
        store.write("retail_points", retail_frame(3))
        assert store.read("retail_points", columns=["id"])["id"].tolist()  # WAL files open
        files = {p.name: p.stat().st_mode & 0o777 for p in store.path.parent.iterdir()}
        store.close()
    finally:
        os.umask(old)
    assert set(files) >= {"geo_pcmt.gpkg", "geo_pcmt.gpkg-wal", "geo_pcmt.gpkg-shm",
                          "geo_pcmt.gpkg.lock"}
    assert files == {name: 0o600 for name in files}  # nothing else left beside them
    assert pyogrio.read_info(store.path, layer="retail_points")["features"] == 3


def test_reads_pause_the_garbage_collector_and_always_give_it_back():
    import gc
    import threading

    from geo_pcmt.store.base import paused_gc
    assert gc.isenabled()
    seen = []

    def worker():
        with paused_gc():
            seen.append(gc.isenabled())
    with paused_gc():
        with paused_gc():
            assert not gc.isenabled()
        t = threading.Thread(target=worker)
        t.start()
        t.join()
        assert not gc.isenabled()  # the outer hold is still there
    assert gc.isenabled() and seen == [False]
    try:
        with paused_gc():
            raise ValueError("a failed read")
    except ValueError:
        pass
    assert gc.isenabled()


def test_point_blobs_read_fast_give_the_same_points_and_others_fall_back():
    import numpy as np
    import shapely

    from geo_pcmt.store.gpkg_geometry import decode_geometries, encode_geometries
    rng = np.random.default_rng(7)
    pts = shapely.points(rng.uniform(103.8, 105.9, (5000, 2)))
    blobs = encode_geometries(pts)
    assert shapely.equals_exact(decode_geometries(blobs), pts, 0).all()
    mixed = np.array([shapely.Point(104, 19), shapely.Point(), shapely.box(104, 19, 105, 20)],
                     dtype=object)
    got = decode_geometries(encode_geometries(mixed) + [None])
    assert got[0].equals(mixed[0]) and got[1].is_empty and got[2].equals(mixed[2])
    assert got[3] is None
