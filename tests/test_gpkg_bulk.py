"""Bulk GeoPackage writes (store/gpkg_bulk.py): the R-tree filled at once inside the write's
transaction gives the same rows and index as the per-row triggers, stays a standard
GeoPackage for GDAL, and readers during the write see it before or after, never half."""
from __future__ import annotations

import shutil
import sqlite3
import subprocess
import threading

import numpy as np
import pyogrio
import pytest
import shapely

from geo_pcmt.store import StoreError, gpkg as gpkg_module, gpkg_bulk

from .conftest import retail_frame


def scattered(n: int, start: int = 0, seed: int = 3):
    """n retail points spread over western Nghệ An, a few with no geometry."""
    frame = retail_frame(n, start=start)
    rng = np.random.default_rng(seed + start)
    frame.geometry = shapely.points(rng.uniform(104.0, 104.8, n), rng.uniform(19.0, 19.6, n))
    frame.loc[frame.index[::97], "geometry"] = None
    return frame


def rtree_by_id(store) -> dict[str, tuple]:
    with sqlite3.connect(store.path) as conn:
        return {i: b for i, *b in conn.execute(
            "SELECT t.id, r.minx, r.maxx, r.miny, r.maxy FROM retail_points t "
            "JOIN rtree_retail_points_geom r ON r.id = t.fid")}


def triggers(store) -> set[str]:
    with sqlite3.connect(store.path) as conn:
        return {s for (s,) in conn.execute("SELECT sql FROM sqlite_master WHERE type = "
                                           "'trigger' AND tbl_name = 'retail_points'")}


def checks(store) -> tuple[str, str, int]:
    with sqlite3.connect(store.path) as conn:
        return (conn.execute("PRAGMA integrity_check").fetchone()[0],
                conn.execute("SELECT rtreecheck('rtree_retail_points_geom')").fetchone()[0],
                conn.execute("SELECT feature_count FROM gpkg_ogr_contents "
                             "WHERE table_name = 'retail_points'").fetchone()[0])


def _drop_stamps(frame):
    return frame.drop(columns=["created_at", "updated_at"]).reset_index(drop=True)


@pytest.mark.parametrize("mode,n_first", [("append", 300), ("replace", 300), ("upsert", 300),
                                          ("append", 3000)])
def test_bulk_write_stores_the_same_rows_and_index_as_row_by_row(empty_store, tmp_path,
                                                                 monkeypatch, mode, n_first):
    """400 rows onto 300 (the R-tree packed anew, two levels) or onto 3,000 (three levels;
    the new entries inserted through SQLite's R-tree)."""
    row_by_row = type(empty_store)(tmp_path / "rows.gpkg")
    shutil.copy(empty_store.path, row_by_row.path)
    first, second = scattered(n_first), scattered(400, start=n_first)
    for store, threshold in ((empty_store, 100), (row_by_row, 10**9)):
        monkeypatch.setattr(gpkg_module, "BULK_MIN_ROWS", threshold)
        store.write("retail_points", first)
        report = store.write("retail_points", second, mode=mode)
        assert report.count_after == (400 if mode == "replace" else n_first + 400)
    assert triggers(empty_store) == triggers(row_by_row) and len(triggers(empty_store)) >= 7
    assert _drop_stamps(empty_store.read("retail_points")).equals(
        _drop_stamps(row_by_row.read("retail_points")))
    assert rtree_by_id(empty_store) == rtree_by_id(row_by_row)
    n_geoms = 400 - len(second.index[::97]) + (
        0 if mode == "replace" else n_first - len(first.index[::97]))
    assert len(rtree_by_id(empty_store)) == n_geoms
    assert checks(empty_store) == ("ok", "ok", 400 if mode == "replace" else n_first + 400)


def test_rows_written_after_a_bulk_write_are_indexed_by_the_restored_triggers(
        empty_store, monkeypatch):
    monkeypatch.setattr(gpkg_module, "BULK_MIN_ROWS", 100)
    empty_store.write("retail_points", scattered(500))
    empty_store.write("retail_points", scattered(20, start=500))  # row by row
    empty_store.delete("retail_points", ["RP-000001"])
    box = (104.2, 19.1, 104.5, 19.4)
    every = empty_store.read("retail_points")
    expected = int(shapely.intersects(every.geometry.values, shapely.box(*box)).sum())
    assert empty_store.count("retail_points", bbox=box) == expected > 0
    assert checks(empty_store) == ("ok", "ok", 519)


@pytest.mark.slow  # ogrinfo subprocesses on 5,500 rows
def test_gdal_reads_a_bulk_written_store_with_the_same_spatial_filter_counts(empty_store):
    ogrinfo = shutil.which("ogrinfo")
    if ogrinfo is None:
        pytest.skip("ogrinfo (gdal-bin) is not installed")
    frame = scattered(gpkg_bulk.BULK_MIN_ROWS + 500)  # the real threshold
    empty_store.write("retail_points", frame)
    empty_store.close()
    gdal_own = empty_store.path.with_name("gdal.gpkg")
    pyogrio.write_dataframe(frame, gdal_own, layer="retail_points", driver="GPKG",
                            layer_options={"SPATIAL_INDEX": "YES"})

    def ogrinfo_count(path, box, summary: bool) -> int:
        out = subprocess.run([ogrinfo, "-ro", "-spat", *map(str, box), str(path),
                              "retail_points", *(["-so"] if summary else ["-geom=NO"])],
                             capture_output=True, text=True, check=True).stdout
        return (int(out.split("Feature Count:")[1].split()[0]) if summary
                else out.count("OGRFeature(retail_points)"))

    for box in ((104.2, 19.1, 104.5, 19.4), (104.0, 19.0, 104.05, 19.6)):
        exact = int(shapely.intersects(frame.geometry.values, shapely.box(*box)).sum())
        # GDAL's features in the box (exact test) are shapely's; its summary count is the
        # R-tree's (float32 bounds, wider at the rim), the same as in its own file
        assert ogrinfo_count(empty_store.path, box, summary=False) == exact > 0
        assert ogrinfo_count(empty_store.path, box, summary=True) == \
            ogrinfo_count(gdal_own, box, summary=True)
    assert checks(empty_store) == ("ok", "ok", len(frame))


def test_a_failed_bulk_write_leaves_rows_index_and_triggers_as_they_were(
        empty_store, monkeypatch):
    monkeypatch.setattr(gpkg_module, "BULK_MIN_ROWS", 100)
    empty_store.write("retail_points", scattered(200))
    before = (rtree_by_id(empty_store), triggers(empty_store))

    def broken(*args, **kwargs):
        raise sqlite3.OperationalError("disk I/O error")
    monkeypatch.setattr(gpkg_bulk, "fill_rtree", broken)
    with pytest.raises(StoreError, match="nothing was written"):
        empty_store.write("retail_points", scattered(300, start=200))
    assert empty_store.count("retail_points") == 200
    assert (rtree_by_id(empty_store), triggers(empty_store)) == before
    assert checks(empty_store) == ("ok", "ok", 200)


@pytest.mark.slow  # a reader thread polls through a 60 000-row write
def test_a_reader_during_a_bulk_write_sees_it_before_or_after_never_half(empty_store):
    empty_store.write("retail_points", scattered(1000))
    seen, stop = [], threading.Event()

    def reader():
        conn = sqlite3.connect(empty_store.path, isolation_level=None)
        while not stop.is_set():
            conn.execute("BEGIN")  # one snapshot for the three numbers
            seen.append((
                conn.execute("SELECT count(*) FROM retail_points").fetchone()[0],
                conn.execute("SELECT count(*) FROM rtree_retail_points_geom").fetchone()[0],
                conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'trigger' "
                             "AND tbl_name = 'retail_points'").fetchone()[0]))
            conn.execute("COMMIT")
        conn.close()

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        frame = scattered(60_000, start=1000)
        empty_store.write("retail_points", frame)
    finally:
        stop.set()
        thread.join()
    n_triggers = len(triggers(empty_store))
    indexed = int(frame.geometry.notna().sum())
    before = (1000, 1000 - len(range(0, 1000, 97)), n_triggers)
    after = (61_000, before[1] + indexed, n_triggers)
    assert set(seen) <= {before, after} and before in seen, set(seen)
    assert checks(empty_store) == ("ok", "ok", 61_000)


@pytest.mark.parametrize("mode", ["append", "replace"])
def test_a_chunked_write_commits_every_chunk_once_or_nothing_on_any_backend(any_empty_store,
                                                                           mode):
    store = any_empty_store
    store.write("retail_points", scattered(50, start=9000))
    with store.bulk_writer("retail_points", mode=mode, user="nạp_lô") as writer:
        for k in range(3):
            writer.add(scattered(40, start=40 * k))
    assert writer.report.inserted == 120
    assert writer.report.count_after == store.count("retail_points") == \
        (120 if mode == "replace" else 170)
    box = (104.2, 19.1, 104.5, 19.4)
    every = store.read("retail_points")
    assert store.count("retail_points", bbox=box) == \
        int(shapely.intersects(every.geometry.values, shapely.box(*box)).sum())
    audit = store.read("audit_log", where={"user": "nạp_lô"})
    assert len(audit) == 1 and audit["action"].iloc[0] == f"write:{mode}"

    with pytest.raises(RuntimeError):
        with store.bulk_writer("retail_points", mode=mode) as writer:
            writer.add(scattered(40, start=5000))
            raise RuntimeError("a bad row in the next chunk")
    assert store.count("retail_points") == (120 if mode == "replace" else 170)
    with pytest.raises(StoreError, match="already stored"):
        with store.bulk_writer("retail_points") as writer:
            writer.add(scattered(5, start=0))


def test_a_chunked_write_packs_a_deep_index_from_spooled_batches_and_inserts_small_ones(
        empty_store, monkeypatch):
    """The R-tree of a chunked write is packed from the entries kept on disk, given back in
    batches that do not line up with the nodes (here 1,000 entries; a node holds 51): the
    index has every row's box, three levels, and answers box queries as the rows do. A
    later small chunked write (fewer rows than the tree holds) goes in through SQLite's
    R-tree and the same holds."""
    from geo_pcmt.store import gpkg_spool
    monkeypatch.setattr(gpkg_spool, "BATCH", 1_000)
    empty_store.write("retail_points", scattered(300, start=90_000))
    with empty_store.bulk_writer("retail_points") as writer:
        for k in range(4):
            writer.add(scattered(3_001, start=3_001 * k))
    small = scattered(200, start=50_000)
    for expect in (12_304, 12_504):
        every = empty_store.read("retail_points")
        got = {k: tuple(v) for k, v in rtree_by_id(empty_store).items()}
        fids, box = gpkg_bulk.entries(np.arange(len(every)), every.geometry.values)
        want = {every["id"].iloc[i]: tuple(map(float, b)) for i, b in zip(fids, box)}
        assert got == want and len(every) == expect
        assert checks(empty_store) == ("ok", "ok", expect)
        for bbox in [(104.2, 19.1, 104.5, 19.4), (104.0, 19.0, 104.05, 19.6)]:
            assert empty_store.count("retail_points", bbox=bbox) == int(shapely.intersects(
                every.geometry.values, shapely.box(*bbox)).sum())
        with empty_store.bulk_writer("retail_points") as writer:
            writer.add(small)
        small = scattered(0)
    with sqlite3.connect(empty_store.path) as conn:
        root = conn.execute("SELECT data FROM rtree_retail_points_geom_node WHERE nodeno = 1"
                            ).fetchone()[0]
    assert int.from_bytes(root[:2], "big") == 2  # leaves, one level of nodes, the root


def test_a_failed_chunked_write_lets_go_of_its_spool_file(empty_store):
    import os
    store = empty_store
    fds = lambda: len(os.listdir("/proc/self/fd"))  # noqa: E731
    store.write("retail_points", scattered(10, start=9000))
    before = fds()
    for _ in range(5):
        with pytest.raises(RuntimeError):
            with store.bulk_writer("retail_points") as writer:
                writer.add(scattered(40, start=5000))
                raise RuntimeError("a bad row in the next chunk")
    assert fds() <= before  # one temporary file a failed load would otherwise keep open
    assert store.count("retail_points") == 10
