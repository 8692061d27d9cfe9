"""Bulk writes into a GeoPackage table: the R*-tree spatial index filled at once, inside the
writing transaction, instead of by the per-row triggers.

The standard GeoPackage triggers (spec F.3, ``rtree_<t>_<g>_insert`` …) call ``ST_MinX``,
``ST_MaxX``, ``ST_MinY``, ``ST_MaxY`` and ``ST_IsEmpty`` — Python functions here — for every
row, and GDAL's ``trigger_insert_feature_count_<t>`` updates ``gpkg_ogr_contents`` once per
row: about two thirds of a large write. For a write of many rows the writer, holding
SQLite's write lock in one ``BEGIN IMMEDIATE`` transaction:

1. saves the table's R-tree and feature-count triggers (their SQL from ``sqlite_master``)
   and drops them;
2. inserts the rows with explicit ``fid``s (the next free ones, as AUTOINCREMENT would);
3. inserts their bounds (``shapely.bounds``, numpy) into the R-tree in one ``executemany``,
   sorted along a Z-order curve so that neighbouring inserts touch the same R-tree nodes;
4. sets ``gpkg_ogr_contents.feature_count`` and re-creates the triggers from the saved SQL.

GDAL does the same in its own bulk mode. Everything, the trigger changes included, commits
or rolls back together: a reader (WAL snapshot) sees the table and its index before or
after the write, never in between, and a killed writer leaves the triggers in place. The
file stays a standard GeoPackage (tested with ``ogrinfo -spat`` and ``rtree_check``).

Dropping triggers is a schema change, which makes every reader's connection parse the
schema again once; for small writes (an officer's upload of 200 rows under load) that cost
more than the triggers, so only writes of :data:`BULK_MIN_ROWS` rows or more take this path.
"""
from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from typing import Iterator, Sequence

import numpy as np
import shapely

from geo_pcmt.store.base import quote_ident as _q

BULK_MIN_ROWS = 5_000
"""Writes of at least this many new rows fill the R-tree in bulk (see the module text)."""


def index_triggers(conn: sqlite3.Connection, table: str, geom: str) -> list[tuple[str, str]]:
    """``(name, sql)`` of the triggers keeping ``table``'s R-tree and GDAL's feature count."""
    rtree_prefix = f"rtree_{table}_{geom}_"
    counts = {f"trigger_insert_feature_count_{table}", f"trigger_delete_feature_count_{table}"}
    rows = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                        "AND tbl_name = ?", (table,)).fetchall()
    return [(name, sql) for name, sql in rows
            if name.startswith(rtree_prefix) or name in counts]


@contextmanager
def triggers_suspended(conn: sqlite3.Connection, table: str,
                       geom: str) -> Iterator[list[str]]:
    """Drop the table's R-tree and feature-count triggers for the body of the ``with``
    (inside the caller's transaction) and re-create them from their saved SQL afterwards.
    Yields the names of the dropped triggers. On an error the caller's ROLLBACK restores
    them (DDL is transactional in SQLite)."""
    saved = index_triggers(conn, table, geom)
    for name, _ in saved:
        conn.execute(f"DROP TRIGGER {_q(name)}")
    yield [name for name, _ in saved]
    for _, sql in saved:
        conn.execute(sql)


def next_fid(conn: sqlite3.Connection, table: str) -> int:
    """The first ``fid`` AUTOINCREMENT would give the next row: past the largest one the
    table holds and the largest it ever gave (``sqlite_sequence``)."""
    last = conn.execute(f"SELECT max(fid) FROM {_q(table)}").fetchone()[0] or 0
    try:
        row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = ?",
                           (table,)).fetchone()
    except sqlite3.OperationalError:  # no AUTOINCREMENT table in the file
        row = None
    return max(last, row[0] if row and row[0] is not None else 0) + 1


def z_order(bounds: np.ndarray) -> np.ndarray:
    """Positions sorting boxes along a Z-order (Morton) curve of their centres (16 bits per
    axis): inserting in this order keeps successive R-tree inserts in the same nodes."""
    cx = (bounds[:, 0] + bounds[:, 2]) / 2
    cy = (bounds[:, 1] + bounds[:, 3]) / 2

    def scaled(v: np.ndarray) -> np.ndarray:
        span = float(v.max() - v.min()) or 1.0
        return ((v - v.min()) / span * 65535).astype(np.uint64)

    def spread(v: np.ndarray) -> np.ndarray:  # bits b15…b0 → b15 0 b14 0 … 0 b0
        v = (v | (v << np.uint64(8))) & np.uint64(0x00FF00FF)
        v = (v | (v << np.uint64(4))) & np.uint64(0x0F0F0F0F)
        v = (v | (v << np.uint64(2))) & np.uint64(0x33333333)
        return (v | (v << np.uint64(1))) & np.uint64(0x55555555)

    return np.argsort(spread(scaled(cx)) | (spread(scaled(cy)) << np.uint64(1)), kind="stable")


def fill_rtree(conn: sqlite3.Connection, rtree: str, fids: np.ndarray,
               geometries: np.ndarray) -> int:
    """Insert the bounds of ``geometries`` (shapely, EPSG:4326) with their ``fids`` into the
    R-tree table ``rtree``; missing and empty geometries get no entry, as the GeoPackage
    triggers do. Returns the number of entries inserted."""
    bounds = shapely.bounds(geometries)  # NaN for None and empty geometries
    keep = np.flatnonzero(~np.isnan(bounds).any(axis=1))
    if not len(keep):
        return 0
    bounds, fids = bounds[keep], np.asarray(fids)[keep]
    order = z_order(bounds)
    # R-tree columns are (id, minx, maxx, miny, maxy); SQLite rounds them outwards to float32
    table = np.column_stack([fids[order].astype(np.float64), bounds[order][:, [0, 2, 1, 3]]])
    rows = zip(fids[order].tolist(), *(table[:, k].tolist() for k in range(1, 5)))
    conn.executemany(f"INSERT OR REPLACE INTO {_q(rtree)} VALUES (?, ?, ?, ?, ?)", rows)
    return len(keep)


def set_feature_count(conn: sqlite3.Connection, table: str) -> None:
    """GDAL's cached row count of ``table`` (``gpkg_ogr_contents``), set from the table."""
    try:
        conn.execute("UPDATE gpkg_ogr_contents SET feature_count = "
                     f"(SELECT count(*) FROM {_q(table)}) WHERE lower(table_name) = lower(?)",
                     (table,))
    except sqlite3.OperationalError as exc:  # a GeoPackage written without GDAL's extras
        if "no such table" not in str(exc):
            raise


def bulk_insert(conn: sqlite3.Connection, table: str, geom: str, cols: Sequence[str],
                values: list[list], geometries: np.ndarray, blobs: Sequence[bytes | None],
                *, replace: bool = False) -> None:
    """Insert rows (``values`` in ``cols`` order, geometry blobs ``blobs``) into ``table``
    with the R-tree filled in bulk; with ``replace`` the table and its index are emptied
    first. Runs inside the caller's write transaction; raises ``sqlite3.IntegrityError``
    like a plain INSERT (the caller rolls back)."""
    rtree = f"rtree_{table}_{geom}"
    with triggers_suspended(conn, table, geom):
        if replace:
            conn.execute(f"DELETE FROM {_q(table)}")
            conn.execute(f"DELETE FROM {_q(rtree)}")
        first = next_fid(conn, table)
        fids = np.arange(first, first + len(values), dtype=np.int64)
        names = ", ".join(_q(c) for c in ["fid", *cols, geom])
        conn.executemany(f"INSERT INTO {_q(table)} ({names}) "
                         f"VALUES ({','.join('?' * (len(cols) + 2))})",
                         ([f, *r, b] for f, r, b in zip(fids.tolist(), values, blobs)))
        fill_rtree(conn, rtree, fids, geometries)
        set_feature_count(conn, table)
