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

from geo_pcmt.store import frames
from geo_pcmt.store.base import StoreError
from geo_pcmt.store.base import quote_ident as _q
from geo_pcmt.store.gpkg_geometry import encode_geometries
from geo_pcmt.store.gpkg_spool import BATCH, EntrySpool

BULK_MIN_ROWS = 5_000
"""Writes of at least this many new rows fill the R-tree in bulk (see the module text)."""
CACHE_KIB = 65_536
"""SQLite page cache (KiB) of a bulk write's connection: with the default 2 MB the pages of
a long transaction spill to the WAL and are looked up there again, one hash table per
4,096 frames (a 300k-row chunked load: chunks slowed from 14 to 35 s; with 64 MiB they
did not)."""


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
    if not len(bounds):
        return np.arange(0)
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


_RND_TOWARDS, _RND_AWAY = 1.0 - 1.0 / 8388608.0, 1.0 + 1.0 / 8388608.0


def float32_outwards(bounds: np.ndarray) -> np.ndarray:
    """``(minx, miny, maxx, maxy)`` doubles → the R-tree's ``(minx, maxx, miny, maxy)``
    float32, minima rounded down and maxima up exactly as SQLite's ``rtreeValueDown`` /
    ``rtreeValueUp`` do, so a bulk-filled entry equals one a trigger would insert."""
    out = np.empty((len(bounds), 4), dtype=np.float32)
    for k, (col, down) in enumerate(((0, True), (2, False), (1, True), (3, False))):
        d = bounds[:, col]
        f = d.astype(np.float32)
        off = (f > d) if down else (f < d)
        away = (d < 0) if down else (d >= 0)  # the scaling that moves d outwards
        factor = np.where(away, _RND_AWAY, _RND_TOWARDS)
        f[off] = (d[off] * factor[off]).astype(np.float32)
        out[:, k] = f
    return out


def entries(fids: np.ndarray, geometries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The R-tree entries of ``geometries``: their fids and float32 bounds; missing and
    empty geometries get none, as with the GeoPackage triggers."""
    bounds = shapely.bounds(geometries)  # NaN for None and empty geometries
    keep = np.flatnonzero(~np.isnan(bounds).any(axis=1))
    return np.asarray(fids, dtype=np.int64)[keep], float32_outwards(bounds[keep])


def _order(box: np.ndarray) -> np.ndarray:
    """Z-order of float32 ``(minx, maxx, miny, maxy)`` boxes (see :func:`z_order`)."""
    return z_order(box[:, [0, 2, 1, 3]].astype(np.float64))


def fill_rtree(conn: sqlite3.Connection, rtree: str, fids: np.ndarray,
               box: np.ndarray) -> None:
    """Add entries (``fids``, float32 ``box`` from :func:`entries`) to the R-tree table
    ``rtree``. When the tree holds no more entries than are added, the whole tree is
    packed anew (:func:`pack_rtree`, as GDAL does); otherwise they are inserted through
    SQLite's R-tree, in Z-order."""
    held = conn.execute(f"SELECT count(*) FROM {_q(rtree + '_rowid')}").fetchone()[0]
    if held <= len(fids):
        if held:
            old = np.array(conn.execute(f"SELECT id, minx, maxx, miny, maxy FROM {_q(rtree)}")
                           .fetchall(), dtype=np.float64).reshape(-1, 5)
            fids = np.concatenate([old[:, 0].astype(np.int64), fids])
            box = np.concatenate([old[:, 1:].astype(np.float32), box])
        pack_rtree(conn, rtree, fids, box)
        return
    order = _order(box)
    rows = zip(fids[order].tolist(), *(box[order, k].astype(np.float64).tolist()
                                       for k in range(4)))
    conn.executemany(f"INSERT OR REPLACE INTO {_q(rtree)} VALUES (?, ?, ?, ?, ?)", rows)


_CELL = np.dtype([("id", ">i8"), ("box", ">f4", (4,))])  # SQLite's R-tree cell, big-endian


def _node_blobs(ids: np.ndarray, box: np.ndarray, cap: int, node_size: int) -> np.ndarray:
    """Nodes of ``cap`` cells each (the last one fewer) as rows of a uint8 array of
    ``node_size`` bytes: 2 bytes depth (0 here; the root's is set by the caller), 2 bytes
    cell count, the cells, zero padding."""
    n_nodes = -(-len(ids) // cap)
    cells = np.zeros(n_nodes * cap, dtype=_CELL)
    cells["id"][:len(ids)], cells["box"][:len(ids)] = ids, box
    blobs = np.zeros((n_nodes, node_size), dtype=np.uint8)
    counts = np.full(n_nodes, cap, dtype=">u2")
    counts[-1] = len(ids) - cap * (n_nodes - 1)
    blobs[:, 2:4] = counts.view(np.uint8).reshape(n_nodes, 2)
    blobs[:, 4:4 + cap * _CELL.itemsize] = cells.view(np.uint8).reshape(n_nodes, -1)
    return blobs


def pack_rtree(conn: sqlite3.Connection, rtree: str, fids: np.ndarray,
               box: np.ndarray) -> None:
    """Replace the content of the R-tree table ``rtree`` with a packed tree of the given
    entries, sorted along a Z-order curve (:func:`pack_sorted`)."""
    order = _order(box) if len(fids) else np.arange(0)
    pack_sorted(conn, rtree, iter([(np.asarray(fids, dtype=np.int64)[order], box[order])]),
                len(fids))


def _tables(conn: sqlite3.Connection, rtree: str) -> tuple[str, str, str, int]:
    """The quoted shadow tables (``_node``, ``_parent``, ``_rowid``) of ``rtree`` and its
    node size in bytes (kept from the existing root)."""
    node, parent, rowid = (_q(f"{rtree}_{s}") for s in ("node", "parent", "rowid"))
    size = conn.execute(f"SELECT length(data) FROM {node} WHERE nodeno = 1").fetchone()
    return node, parent, rowid, size[0] if size and size[0] else 1228  # SQLite's default


def _level(conn: sqlite3.Connection, tables: tuple[str, str, str, int], ids: np.ndarray,
           box: np.ndarray, next_no: int, leaf: bool) -> tuple[np.ndarray, np.ndarray]:
    """Write ``ids`` (fids on the leaf level, node numbers above) in full nodes numbered
    from ``next_no``, with their ``_rowid`` (leaves) or ``_parent`` rows; returns the
    nodes' numbers and bounding boxes, the entries of the level above."""
    node, parent, rowid, node_size = tables
    cap = (node_size - 4) // _CELL.itemsize
    blobs = _node_blobs(ids, box, cap, node_size)
    nos = np.arange(next_no, next_no + len(blobs), dtype=np.int64)
    owner = np.repeat(nos, cap)[:len(ids)]
    order = np.argsort(ids)  # the rowid table's own order: appended, not scattered
    conn.executemany(f"INSERT INTO {rowid if leaf else parent} VALUES (?, ?)",
                     zip(ids[order].tolist(), owner[order].tolist()))
    conn.executemany(f"INSERT INTO {node} VALUES (?, ?)", zip(nos.tolist(), map(bytes, blobs)))
    starts = np.arange(0, len(ids), cap)
    return nos, np.column_stack([np.minimum.reduceat(box[:, 0], starts),
                                 np.maximum.reduceat(box[:, 1], starts),
                                 np.minimum.reduceat(box[:, 2], starts),
                                 np.maximum.reduceat(box[:, 3], starts)])


def pack_sorted(conn: sqlite3.Connection, rtree: str,
                batches: Iterator[tuple[np.ndarray, np.ndarray]], total: int) -> None:
    """Replace the content of the R-tree table ``rtree`` with a packed tree of ``total``
    entries given in ``batches`` of ``(fids, float32 box)`` already in the leaves' order
    (Z-order), written straight into its shadow tables in SQLite's documented node
    format: nodes full (except the last of each level), the node size kept from the
    existing root. Leaves are written batch by batch, so memory holds one batch and the
    nodes above the leaves (one entry per ~50 rows). The result passes SQLite's
    ``rtreecheck()`` (tested)."""
    tables = _tables(conn, rtree)
    node, parent, rowid, node_size = tables
    cap = (node_size - 4) // _CELL.itemsize
    for table in (node, parent, rowid):
        conn.execute(f"DELETE FROM {table}")
    empty = (np.zeros(0, np.int64), np.zeros((0, 4), np.float32))
    ids, box = empty
    if total > cap:  # leaves under the root: written as the batches come
        next_no, ups = 2, []
        for more_ids, more_box in batches:
            ids, box = np.concatenate([ids, more_ids]), np.concatenate([box, more_box])
            full = len(ids) // cap * cap
            if full:
                ups.append(_level(conn, tables, ids[:full], box[:full], next_no, True))
                next_no += full // cap
                ids, box = ids[full:], box[full:]
        if len(ids):
            ups.append(_level(conn, tables, ids, box, next_no, True))
            next_no += 1
        ids = np.concatenate([u[0] for u in ups])
        box = np.concatenate([u[1] for u in ups])
        depth = 1
        while len(ids) > cap:  # one level of full nodes under the next
            nos, box = _level(conn, tables, ids, box, next_no, False)
            ids, depth, next_no = nos, depth + 1, next_no + len(nos)
        conn.executemany(f"INSERT INTO {parent} VALUES (?, 1)", ((i,) for i in ids.tolist()))
    else:  # the root is the only node, a leaf
        for more_ids, more_box in batches:
            ids, box = np.concatenate([ids, more_ids]), np.concatenate([box, more_box])
        depth = 0
        conn.executemany(f"INSERT INTO {rowid} VALUES (?, 1)", ((i,) for i in ids.tolist()))
    root = _node_blobs(ids, box, cap, node_size)[0] if len(ids) else \
        np.zeros(node_size, dtype=np.uint8)
    root[0:2] = np.frombuffer(np.array(depth, dtype=">u2").tobytes(), dtype=np.uint8)
    conn.execute(f"INSERT INTO {node} VALUES (1, ?)", (bytes(root),))


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
    conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")  # see ChunkedWrite.begin
    with triggers_suspended(conn, table, geom):
        if replace:
            conn.execute(f"DELETE FROM {_q(table)}")
        first = next_fid(conn, table)
        fids = np.arange(first, first + len(values), dtype=np.int64)
        names = ", ".join(_q(c) for c in ["fid", *cols, geom])
        conn.executemany(f"INSERT INTO {_q(table)} ({names}) "
                         f"VALUES ({','.join('?' * (len(cols) + 2))})",
                         ([f, *r, b] for f, r, b in zip(fids.tolist(), values, blobs)))
        if replace:  # the old entries go with the old rows
            pack_rtree(conn, rtree, *entries(fids, geometries))
        else:
            fill_rtree(conn, rtree, *entries(fids, geometries))
        set_feature_count(conn, table)


_AUDIT_IDS = 10_000  # the ids an audit record keeps (store.base.audit_values)


class ChunkedWrite:
    """Rows added in chunks to one table inside one write transaction (see
    ``GeoPackageStore.bulk_writer``): the triggers dropped once, each chunk checked and
    inserted as it comes, its R-tree entries written to disk (:class:`EntrySpool`), the
    R-tree packed at :meth:`finish` from them in Z-order batches, the triggers re-created.
    Memory holds one chunk, whatever the number of chunks. Appends and replaces only.
    ``ids`` keeps the first ids written, as many as the audit record keeps."""

    def __init__(self, conn: sqlite3.Connection, layer, geom: str | None, *,
                 replace: bool, count_ids):
        self.conn, self.layer, self.geom, self.replace = conn, layer, geom, replace
        self._count_ids = count_ids
        self.inserted = self.deleted = 0
        self.ids: list[str] = []
        self._spool: EntrySpool | None = None
        self._saved: list[tuple[str, str]] = []

    def begin(self) -> None:
        table = self.layer.name
        # a long transaction: with SQLite's default 2 MB cache its pages spill to the WAL
        # and are looked up there again (walFindFrame scans one hash table per 4,096
        # frames); this connection is the write's own and is closed with it
        self.conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        if self.geom:
            self._spool = EntrySpool()
            self._saved = index_triggers(self.conn, table, self.geom)
            for name, _ in self._saved:
                self.conn.execute(f"DROP TRIGGER {_q(name)}")
        if self.replace:
            self.deleted = self.conn.execute(f"SELECT count(*) FROM {_q(table)}").fetchone()[0]
            self.conn.execute(f"DELETE FROM {_q(table)}")

    def add(self, frame) -> int:
        """Check ``frame`` against the layer (``StoreError`` naming row and field) and insert
        it; returns the rows inserted."""
        table = self.layer.name
        prepared = frames.prepare(self.layer, frame)
        if not prepared.ids:
            return 0
        existing = self._count_ids(self.conn, table, prepared.ids)
        if existing:
            raise StoreError(f"layer {table}: {existing} id(s) already stored "
                             "(use upsert to update them)")
        first = next_fid(self.conn, table)
        fids = np.arange(first, first + len(prepared.ids), dtype=np.int64)
        cols = ["fid", *prepared.cols] + ([self.geom] if self.geom else [])
        blobs = encode_geometries(prepared.geometries) if self.geom else None
        rows = zip(fids.tolist(), *prepared.columns, *([blobs] if self.geom else []))
        try:
            self.conn.executemany(f"INSERT INTO {_q(table)} ({', '.join(map(_q, cols))}) "
                                  f"VALUES ({','.join('?' * len(cols))})", rows)
        except sqlite3.IntegrityError as exc:
            raise StoreError(f"layer {table}: {exc}") from None
        if self._spool is not None:
            self._spool.add(*entries(fids, prepared.geometries))
        self.ids.extend(prepared.ids[:max(0, _AUDIT_IDS - len(self.ids))])
        self.inserted += len(fids)
        return len(fids)

    def finish(self) -> None:
        """Fill the R-tree with every chunk's entries, set GDAL's feature count and
        re-create the triggers (still inside the transaction)."""
        table = self.layer.name
        if self._spool is None:
            return
        try:
            self._fill(f"rtree_{table}_{self.geom}", self._spool)
        finally:
            self.close()
        set_feature_count(self.conn, table)
        for _, sql in self._saved:
            self.conn.execute(sql)

    def close(self) -> None:
        """Let go of the R-tree spool (its temporary file); safe to call twice."""
        if self._spool is not None:
            self._spool.close()

    def _fill(self, rtree: str, spool: EntrySpool) -> None:
        """Pack the tree anew from the spool (a replace, or as many new entries as held
        ones: those are spooled first, as :func:`fill_rtree` does in memory), or insert the
        new entries through SQLite's R-tree, in Z-order, when the tree holds more."""
        held = 0 if self.replace else \
            self.conn.execute(f"SELECT count(*) FROM {_q(rtree + '_rowid')}").fetchone()[0]
        if held > len(spool):
            for fids, box in spool.sorted_batches():
                self.conn.executemany(
                    f"INSERT OR REPLACE INTO {_q(rtree)} VALUES (?, ?, ?, ?, ?)",
                    zip(fids.tolist(), *(box[:, k].astype(np.float64).tolist()
                                         for k in range(4))))
            return
        if held:
            cursor = self.conn.execute(f"SELECT id, minx, maxx, miny, maxy FROM {_q(rtree)}")
            while rows := cursor.fetchmany(8 * BATCH):  # one run each
                old = np.array(rows, dtype=np.float64)
                spool.add(old[:, 0].astype(np.int64), old[:, 1:].astype(np.float32))
        if len(spool) or self.replace:
            pack_sorted(self.conn, rtree, spool.sorted_batches(), len(spool))
