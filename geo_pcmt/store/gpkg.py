"""GeoPackageStore: the embedded default store, one OGC GeoPackage file (SQLite, WAL).

Tables are created by GDAL (through pyogrio) from the layer schemas, so the file is a
standard GeoPackage that QGIS and ``ogrinfo`` open, with an R*-tree spatial index per
geometry column. Reads and writes go through SQLite directly: every write is one
``BEGIN IMMEDIATE … COMMIT`` transaction, so a write is all-or-nothing even if the process
is killed half-way, and the audit record of a write commits with the write itself.

Geometry blobs are in :mod:`.gpkg_geometry`, R-tree box queries in :mod:`.gpkg_rtree`,
connections and the writer's turn in :mod:`.gpkg_connections`, counts, extents and value
ranges in :mod:`.gpkg_counts`; what every backend shares
in :class:`~geo_pcmt.store.base.StoreBase`.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from geo_pcmt.layers import LAYERS, Layer, get_layer
from geo_pcmt.store import clearance, frames
from geo_pcmt.store.group_commit import GroupCommit
from geo_pcmt.store.base import BBox, StoreError, Where, WriteMode, WriteReport
from geo_pcmt.store.base import CountMemo, versions_from_rows
from geo_pcmt.store.base import StoreBase, audit_values, chunks, without_gc
from geo_pcmt.store.base import quote_ident as _q
from geo_pcmt.store.base import rewrite_key as _rewrite_key, version_key as _version_key
from geo_pcmt.store.filters import Filter, SQLiteFilter
from geo_pcmt.store.rows import Rows, plain_columns
from geo_pcmt.store.gpkg_bulk import BULK_MIN_ROWS, ChunkedWrite, bulk_insert
from geo_pcmt.store.gpkg_connections import Connections
from geo_pcmt.store.gpkg_counts import Counts
from geo_pcmt.store.versions import Expected, check_expected
from geo_pcmt.store.gpkg_geometry import (  # noqa: F401  (the blob codec, importable here)
    _envelope, _register_functions, decode_geometries, encode_geometries)
from geo_pcmt.store.gpkg_rtree import (RTreeQueries, _box_params, _in_box_joined,
                                       _in_box_joined_params, _rim_ids, _TOUCHES)

_GDAL_GEOMETRY = {"Point": "Point", "MultiPolygon": "MultiPolygon", "LineString": "LineString",
                  "MultiLineString": "MultiLineString", "Geometry": "Unknown"}
# one-row-per-key table beside the layers; ``data_version`` grows with every data write
_META_DDL = "CREATE TABLE IF NOT EXISTS gp_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)"


class GeoPackageStore(Connections, Counts, RTreeQueries, StoreBase):
    """Layers in one GeoPackage file.

    Parameters
    ----------
    path : str or Path
        The ``.gpkg`` file; created (with its folder) by :meth:`init`.
    busy_timeout_s : float
        How long a writer waits for another writer before giving up.

    Examples
    --------
    >>> from geo_pcmt.runs.seed import load_boundaries
    >>> store = GeoPackageStore("var/geo_pcmt.gpkg")
    >>> store.init()
    >>> reports = load_boundaries(store)  # the real 2025 communes, border line, …
    >>> store.count("communes")
    130
    """

    writes_hold_the_store = True  # one SQLite writer per file, audit records included

    def __init__(self, path: str | os.PathLike, *, busy_timeout_s: float = 30.0):
        self.path = Path(path)
        self.busy_timeout_s = busy_timeout_s
        self._known_tables: set[str] = set()  # tables are created, never dropped: cache them
        self._geom_columns: dict[str, str | None] = {}
        self._column_indexes: dict[tuple[str, str], str | None] = {}
        self._local = threading.local()  # one connection per thread: reads, audit
        self._open: list[tuple[int, sqlite3.Connection]] = []  # (pid, connection), for close()
        self._open_lock = threading.Lock()
        self._generation = 0  # close() moves it: threads then open new connections
        self._writer_lock = threading.Lock()  # see _one_writer
        self._writer_file = None
        self._writer_pid = os.getpid()
        self._audit_group = GroupCommit(self._commit_audit)  # see audit
        self._counts = CountMemo()  # see count: key → (rows, version, last fid)

    def __repr__(self) -> str:
        return f"GeoPackageStore({str(self.path)!r})"

    # --- connections ------------------------------------------------------------------


    # --- schema -----------------------------------------------------------------------

    def _existing_tables(self) -> set[str]:
        if not self.path.exists():
            return set()
        with self._reading() as conn:
            self._known_tables = {r[0] for r in conn.execute("SELECT table_name FROM gpkg_contents")}
        return set(self._known_tables)


    def init(self, layers: Sequence[str] | None = None) -> None:
        """Create the file and every layer's table that does not exist yet, and add the
        columns a newer schema gained to tables that do (idempotent; data is kept)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        existing = self._existing_tables()
        for name in layers or list(LAYERS):
            if name not in existing:
                self._create_table(get_layer(name))
                existing.add(name)
            else:
                self._upgrade_table(get_layer(name))

    _SQL_TYPES = {"str": "TEXT", "int": "INTEGER", "float": "REAL", "bool": "BOOLEAN",
                  "date": "TEXT", "datetime": "TEXT"}

    def _upgrade_table(self, layer: Layer) -> list[str]:
        """Add schema columns missing from an existing table (a store made by an older
        version); GDAL and QGIS see them at once. Returns the added column names."""
        with self._transaction() as conn:
            have = {r[1] for r in conn.execute(f"PRAGMA table_info({_q(layer.name)})")}
            added = [f for f in layer.fields if f.name not in have]
            for f in added:
                conn.execute(f"ALTER TABLE {_q(layer.name)} ADD COLUMN {_q(f.name)} "
                             f"{self._SQL_TYPES[f.type]}")
            if added:  # features gain (empty) properties: what readers saw is out of date
                _bump_data_version(conn, layer.name)
            if "confidentiality" in layer.field_names:
                conn.execute(f"CREATE INDEX IF NOT EXISTS {_q('ix_' + layer.name + '_conf')} "
                             f"ON {_q(layer.name)}(confidentiality)")
                conn.execute(clearance.sqlite_index(layer))  # stores made before it
        return [f.name for f in added]

    def _create_table(self, layer: Layer) -> None:
        empty = frames.empty_frame(layer)
        kwargs = {}
        if layer.has_geometry:
            kwargs["geometry_type"] = _GDAL_GEOMETRY[layer.geometry_type]
        # GDAL links its own SQLite library; two libraries holding one file open in one
        # process break each other's POSIX locks, so let go of ours while GDAL writes
        # (threads reconnect on their next use; tables are made at init, rarely later)
        self.close()
        if self.path.exists():
            pyogrio.write_dataframe(empty, self.path, layer=layer.name, driver="GPKG",
                                    append=True, **kwargs)
        else:
            self._create_file(empty, layer.name, kwargs)
        with self._transaction() as conn:
            conn.execute(f"CREATE UNIQUE INDEX IF NOT EXISTS {_q('uq_' + layer.name + '_id')} "
                         f"ON {_q(layer.name)}(id)")
            if "confidentiality" in layer.field_names:  # every role-filtered read uses it
                conn.execute(f"CREATE INDEX IF NOT EXISTS {_q('ix_' + layer.name + '_conf')} "
                             f"ON {_q(layer.name)}(confidentiality)")
                conn.execute(clearance.sqlite_index(layer))  # analysts' pages in fid order
            conn.execute("UPDATE gpkg_contents SET identifier = ?, description = ? "
                         "WHERE table_name = ?",
                         (layer.title_vi, f"{layer.title_en}. {layer.description}".strip(),
                          layer.name))


    def _create_file(self, first: pd.DataFrame, layer: str, kwargs: dict) -> None:
        """Create the GeoPackage with its first table, readable by its owner only (0600,
        like ``users.sqlite``; SQLite gives the ``-wal`` and ``-shm`` files the same mode).

        GDAL writes it in a private folder beside the target and it is linked into place
        once its mode is set, so the file is never world-readable, not even for a moment.
        If another process made the file meanwhile, the table goes into that one.
        """
        folder = Path(tempfile.mkdtemp(prefix=".geo_pcmt-", dir=self.path.parent))
        try:
            fresh = folder / self.path.name
            pyogrio.write_dataframe(first, fresh, layer=layer, driver="GPKG", **kwargs)
            os.chmod(fresh, 0o600)
            try:
                os.link(fresh, self.path)
            except FileExistsError:
                pyogrio.write_dataframe(first, self.path, layer=layer, driver="GPKG",
                                        append=True, **kwargs)
            except OSError:  # a file system without hard links
                if self.path.exists():
                    raise
                os.rename(fresh, self.path)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def _geom_column(self, conn: sqlite3.Connection, layer: str) -> str | None:
        if layer in self._geom_columns:  # fixed once the table exists
            return self._geom_columns[layer]
        row = conn.execute("SELECT column_name FROM gpkg_geometry_columns WHERE table_name = ?",
                           (layer,)).fetchone()
        if layer in self._known_tables:
            self._geom_columns[layer] = row[0] if row else None
        return row[0] if row else None

    # --- queries ----------------------------------------------------------------------

    def _where_sql(self, layer: Layer, conn, bbox: BBox | None,
                   where: Where | None, alias: str = "",
                   flt: Filter | None = None, after: int | None = None) -> tuple[str, list]:
        clauses, params = [], []
        if after is not None:  # keyset paging: the rows after the previous page's last
            clauses.append(f"{alias}fid > ?")
            params.append(int(after))
        if flt is not None:
            geom = self._geom_column(conn, layer.name)
            rtree = _q("rtree_" + layer.name + "_" + geom) if geom else None
            sql, fparams = SQLiteFilter(layer, geom, rtree, alias).sql(flt)
            clauses.append(sql)
            params.extend(fparams)
        for column, value in (where or {}).items():
            layer.field(column)  # KeyError for unknown columns: never interpolated
            col = alias + _q(column)
            if clearance.is_cleared_scope(column, value):  # served by its index, fid order
                clauses.append(clearance.sqlite_condition(alias))
            elif isinstance(value, slice):
                if value.start is not None:
                    clauses.append(f"{col} >= ?")
                    params.append(value.start)
                if value.stop is not None:
                    clauses.append(f"{col} <= ?")
                    params.append(value.stop)
            elif isinstance(value, (list, tuple, set, frozenset)):
                values = list(value)
                if not values:
                    clauses.append("0")
                else:
                    clauses.append(f"{col} IN ({','.join('?' * len(values))})")
                    params.extend(values)
            elif value is None:
                clauses.append(f"{col} IS NULL")
            else:
                clauses.append(f"{col} = ?")
                params.append(value)
        if bbox is not None:
            geom = self._geom_column(conn, layer.name)
            if geom is None:
                raise StoreError(f"layer {layer.name} has no geometry; bbox does not apply")
            rtree = _q("rtree_" + layer.name + "_" + geom)
            clauses.append(f"fid IN (SELECT id FROM {rtree} WHERE {_TOUCHES})")
            params.extend(_box_params(bbox))
            if layer.geometry_type == "Point":
                # The R-tree keeps float32 bounds rounded outwards: a point whose bounds lie
                # inside the box is inside, one whose bounds do not touch it is outside.
                # Only the few on the rim (bounds across an edge) need the exact test.
                rim, rim_params = _rim_ids(rtree, bbox)
                clauses.append(f"(fid NOT IN ({rim}) OR gp_point_in_box({_q(geom)}, ?, ?, ?, ?))")
                params.extend([*rim_params, *map(float, bbox)])
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


    @without_gc
    def read(self, layer: str, *, bbox: BBox | None = None, where: Where | None = None,
             columns: Sequence[str] | None = None, limit: int | None = None,
             offset: int = 0, filter: Filter | None = None,
             after: int | None = None) -> gpd.GeoDataFrame | pd.DataFrame:
        """Rows of ``layer`` in stored order, filtered and paged.

        Parameters
        ----------
        bbox : (minlon, minlat, maxlon, maxlat), optional
            Keep features whose geometry intersects the box (R-tree, then exact test).
        where : mapping, optional
            ``{column: value}`` equality, ``{column: [v1, v2]}`` membership,
            ``{column: slice(lo, hi)}`` inclusive range. Values are bound, never pasted.
        columns : list of str, optional
            Attribute columns to return (``id`` is always included).
        limit, offset : int
            Paging, applied after filtering.
        filter : Filter, optional
            A checked CQL2 expression (:class:`~geo_pcmt.store.filters.Filter`), ANDed with
            ``where`` and ``bbox``; its values are bound, never pasted.
        after : int, optional
            Keyset paging: only rows stored after the row with this ``fid`` (the
            ``last_fid`` of the previous page; :mod:`.clearance`).

        Returns
        -------
        GeoDataFrame or DataFrame
            ``attrs["last_fid"]`` holds the ``fid`` of the last row (None when empty).
        """
        spec = get_layer(layer)
        cols = frames.read_columns(spec, columns, limit, offset)
        if not self._has_table(spec.name):
            clearance.check_after(after)
            return _with_last(frames.empty_frame(spec, cols), [])
        data, geoms, fids = self._fetch(spec, cols, bbox, where, limit, offset, filter, after)
        return _with_last(frames.typed(spec, data, geoms), fids)

    @without_gc
    def read_rows(self, layer: str, *, bbox: BBox | None = None, where: Where | None = None,
                  columns: Sequence[str] | None = None, limit: int | None = None,
                  offset: int = 0, filter: Filter | None = None,
                  after: int | None = None) -> Rows:
        """The rows :meth:`read` returns for the same arguments, as :class:`~.rows.Rows`
        (plain values straight from SQLite, no DataFrame: a 100-row API page)."""
        spec = get_layer(layer)
        cols = frames.read_columns(spec, columns, limit, offset)
        if not self._has_table(spec.name):
            clearance.check_after(after)
            return Rows(cols, [[] for _ in cols],
                        np.empty(0, dtype=object) if spec.has_geometry else None)
        data, geoms, fids = self._fetch(spec, cols, bbox, where, limit, offset, filter, after)
        return Rows(cols, plain_columns(spec, data), geoms, int(fids[-1]) if fids else None)

    def _fetch(self, spec: Layer, cols: list[str], bbox: BBox | None, where: Where | None,
               limit: int | None, offset: int, flt: Filter | None, after: int | None
               ) -> tuple[dict[str, list], "np.ndarray | None", list]:
        """The stored values of ``cols`` (column lists), the geometries (None for a layer
        without) and the ``fid`` of each row, filtered and paged as :meth:`read` says."""
        after = clearance.check_after(after)
        with self._reading() as conn:
            geom = self._geom_column(conn, spec.name)
            sql_where, params = self._where_sql(spec, conn, bbox, where, flt=flt, after=after)
            select = ", ".join(_q(c) for c in cols) + (f", {_q(geom)}" if geom else "") \
                + ", fid"
            refine = bbox is not None and spec.geometry_type != "Point"
            sql = f"SELECT {select} FROM {_q(spec.name)}{sql_where} ORDER BY fid"
            if (bbox is not None and spec.geometry_type == "Point" and limit is not None
                    and self._dense_in_box(conn, spec, bbox, limit + offset)):
                # a page of points in a box holding a large share of the layer: walk the
                # table in stored order, look each row up in the R-tree by id, stop at the
                # page's end (listing and sorting the box's ids first cost more)
                filters, params = self._where_sql(spec, conn, None, where, alias="t.", flt=flt,
                                                  after=after)
                rtree = _q("rtree_" + spec.name + "_" + geom)
                tcols = ", ".join("t." + _q(c) for c in cols) + f", t.{_q(geom)}, t.fid"
                sql = (f"SELECT {tcols} FROM {_q(spec.name)} t NOT INDEXED CROSS JOIN {rtree} r "
                       f"ON r.id = t.fid{filters or ' WHERE 1'} AND {_in_box_joined(geom)} "
                       f"ORDER BY t.fid LIMIT ? OFFSET ?")
                params += [*_in_box_joined_params(bbox), int(limit), int(offset)]
            elif (bbox is not None and not where and flt is None and after is None
                    and spec.geometry_type == "Point" and (limit is not None or offset)):
                # a page of points in a box: page the fids in the R-tree, read only those
                # rows (filtering the table first read every row in the box)
                ids, params = self._ids_in_box(conn, spec, bbox)
                sql = (f"SELECT {select} FROM {_q(spec.name)} WHERE fid IN "
                       f"({ids} ORDER BY id LIMIT ? OFFSET ?) ORDER BY fid")
                params += [-1 if limit is None else int(limit), int(offset)]
            elif not refine and (limit is not None or offset):
                sql += " LIMIT ? OFFSET ?"
                params += [-1 if limit is None else int(limit), int(offset)]
            records = conn.execute(sql, params).fetchall()
        data = {c: [r[i] for r in records] for i, c in enumerate(cols)}
        fids = [r[-1] for r in records]
        if not geom:
            return data, None, fids
        geoms = decode_geometries([r[len(cols)] for r in records])
        if refine:
            keep = np.flatnonzero(shapely.intersects(geoms, shapely.box(*bbox)))
            keep = keep[offset:None if limit is None else offset + limit]
            data = {c: [v[i] for i in keep] for c, v in data.items()}
            geoms, fids = geoms[keep], [fids[i] for i in keep]
        return data, geoms, fids

    # --- writes -----------------------------------------------------------------------

    def write(self, layer: str, frame: gpd.GeoDataFrame | pd.DataFrame, *,
              mode: WriteMode = "append", user: str = "system",
              expect_version: Expected | None = None,
              detail: Mapping | None = None) -> WriteReport:
        """Write rows in one transaction: all of them or none.

        ``append`` refuses ids that exist already; ``replace`` empties the layer first;
        ``upsert`` inserts new ids and updates existing ones (keeping ``created_at``).
        The write and its audit record (with ``detail`` added) commit together.
        ``expect_version`` (``{id: version}``, see :mod:`.versions`) makes it a
        compare-and-set: checked after this writer holds the file's write lock, so no
        other write comes between the check and this one; a row at another version (or
        gone) raises :class:`~geo_pcmt.store.versions.VersionConflict`.
        """
        spec = self._writable(layer, mode)
        prepared = frames.prepare(spec, frame)
        cols, values, ids = prepared.cols, prepared.values, prepared.ids
        all_cols = list(cols)
        geom_blobs = (encode_geometries(prepared.geometries) if spec.has_geometry else None)
        self._ensure(spec)
        with self._transaction() as conn:
            if expect_version:  # the write lock is held: nobody writes until we commit
                self._check_versions(spec, expect_version)
            geom = self._geom_column(conn, spec.name)
            table = _q(spec.name)
            deleted = 0
            existing = 0
            if mode == "replace":
                deleted = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            elif ids:
                existing = self._count_ids(conn, spec.name, ids)
                if mode == "append" and existing:
                    raise StoreError(f"layer {spec.name}: {existing} id(s) already stored "
                                     "(use upsert to update them)")
            try:
                if geom and not existing and len(values) >= BULK_MIN_ROWS:
                    # many new rows: the R-tree filled at once (see store/gpkg_bulk.py)
                    bulk_insert(conn, spec.name, geom, cols, values, prepared.geometries,
                                geom_blobs, replace=mode == "replace")
                else:
                    if mode == "replace":
                        conn.execute(f"DELETE FROM {table}")
                    self._insert_rows(conn, spec.name, mode, all_cols, values, geom,
                                      geom_blobs)
            except sqlite3.IntegrityError as exc:
                raise StoreError(f"layer {spec.name}: {exc}") from None
            appended = mode == "append" or (mode == "upsert" and not existing)
            # rows after this write: the count remembered at an earlier version followed
            # through its appends and this one (see count), or counted in full
            count_after, version, last = self._counted(
                conn, spec, None, None,
                self._counts.get((spec.name, None, ())) if appended else None)
            report = WriteReport(spec.name, mode, len(ids) - existing, existing, deleted,
                                 count_after)
            version = _bump_data_version(conn, spec.name, appended=appended)
            self._audit(conn, user, f"write:{mode}", spec.name, ids,
                        {**report.as_dict(), **(detail or {})})
        self._counts.put((spec.name, None, ()), (count_after, version, last))
        return report

    @contextmanager
    def bulk_writer(self, layer: str, *, mode: WriteMode = "append", user: str = "system",
                    detail: Mapping | None = None) -> Iterator[ChunkedWrite]:
        """One write transaction fed in chunks: ``with store.bulk_writer(layer) as w:
        w.add(frame)…``; everything commits when the block ends, nothing if it raises.
        The R-tree is filled once at the end (:class:`~.gpkg_bulk.ChunkedWrite`), one audit
        record covers the whole write; ``w.report`` is its :class:`WriteReport`. The
        store's write turn is held throughout (other writers wait, up to their timeout).
        ``append`` and ``replace`` only."""
        spec = self._writable(layer, mode)
        if mode == "upsert":
            raise StoreError("a chunked write appends or replaces; upsert with write()")
        self._ensure(spec)
        with self._transaction() as conn:
            writer = ChunkedWrite(conn, spec, self._geom_column(conn, spec.name),
                                  replace=mode == "replace", count_ids=self._count_ids)
            try:
                writer.begin()
                yield writer
                writer.finish()
            finally:
                writer.close()  # the R-tree spool's temporary file, also when a chunk fails
            count_after, version, last = self._counted(conn, spec, None, None, None)
            writer.report = WriteReport(spec.name, mode, writer.inserted, 0, writer.deleted,
                                        count_after)
            version = _bump_data_version(conn, spec.name, appended=mode == "append")
            self._audit(conn, user, f"write:{mode}", spec.name, writer.ids,
                        {**writer.report.as_dict(), **(detail or {})})
        self._counts.put((spec.name, None, ()), (count_after, version, last))

    @staticmethod
    def _insert_rows(conn, table: str, mode: WriteMode, cols: list[str], values: list[list],
                     geom: str | None, blobs: list | None) -> None:
        """INSERT (``upsert``: or update by id, keeping ``created_at``) row by row; the
        R-tree is kept by the GeoPackage triggers, which call Python per row. Writes of
        many new rows take :func:`~geo_pcmt.store.gpkg_bulk.bulk_insert` instead."""
        if geom:
            cols = [*cols, geom]
            values = [r + [g] for r, g in zip(values, blobs)]
        sql = (f"INSERT INTO {_q(table)} ({', '.join(_q(c) for c in cols)}) "
               f"VALUES ({','.join('?' * len(cols))})")
        if mode == "upsert":
            keep = [c for c in cols if c not in ("id", "created_at")]
            sql += (" ON CONFLICT(id) DO UPDATE SET "
                    + ", ".join(f"{_q(c)} = excluded.{_q(c)}" for c in keep))
        conn.executemany(sql, values)

    def delete(self, layer: str, ids: Sequence[str], *, user: str = "system",
               expect_version: Expected | None = None, detail: Mapping | None = None) -> int:
        """Delete rows by id in one transaction; returns how many were deleted.
        ``expect_version`` and ``detail`` as for :meth:`write`."""
        spec = self._writable(layer)
        ids = [str(i) for i in ids]
        if not ids or not self._has_table(spec.name):
            return 0
        with self._transaction() as conn:
            if expect_version:
                self._check_versions(spec, expect_version)
            n = 0
            for chunk in chunks(ids, 500):
                n += conn.execute(f"DELETE FROM {_q(spec.name)} WHERE id IN "
                                  f"({','.join('?' * len(chunk))})", chunk).rowcount
            if n:
                _bump_data_version(conn, spec.name, appended=False)
            self._audit(conn, user, "delete", spec.name, ids, {"deleted": n, **(detail or {})})
        return n

    def _check_versions(self, spec: Layer, expect: Expected) -> None:
        """Compare the rows' versions, called holding the write lock: read on this thread's
        own connection, which sees the last commit, and no commit can come before ours."""
        check_expected(spec, self.read(spec.name, where={"id": [str(i) for i in expect]}),
                       expect)

    def data_version(self, layer: str | None = None) -> int:
        """A number that grows with every committed data write or delete (not with audit
        records): two reads under the same number saw the same data. With ``layer``, the
        number of that layer alone (other layers' writes leave it alone).

        Read it *before* reading data to cache, so a cached answer is never older than
        its number. Writes made outside this class (GDAL, QGIS editing the file) do not
        change it.
        """
        if not self.path.exists():
            return 0
        # the thread's own connection: a new one would parse the whole schema each time
        conn = self._thread_connection()
        try:
            row = conn.execute("SELECT value FROM gp_meta WHERE key = ?",
                               (_version_key(layer),)).fetchone()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):  # no gp_meta yet: nothing written since init
                return 0
            self._drop_thread_connection()
            raise StoreError(f"store {self.path}: {exc}") from None
        return 0 if row is None else int(row[0])


    def _commit_audit(self, rows: list[tuple]) -> None:
        conn = self._thread_connection()
        try:
            with self._one_writer():
                conn.execute("BEGIN IMMEDIATE")
                try:
                    conn.executemany(_AUDIT_INSERT, rows)
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:  # disk full, I/O error, locked too long
            self._drop_thread_connection()
            raise StoreError(f"store {self.path}: {exc}; nothing was written") from None
        except BaseException:
            self._drop_thread_connection()
            raise


    def data_versions(self) -> dict[str | None, int]:
        """Every data version at once (see :meth:`data_version`)."""
        if not self.path.exists():
            return {}
        conn = self._thread_connection()
        try:
            rows = conn.execute("SELECT key, value FROM gp_meta WHERE key = 'data_version' "
                                "OR key LIKE 'data_version:%'").fetchall()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return {}
            self._drop_thread_connection()
            raise StoreError(f"store {self.path}: {exc}") from None
        return versions_from_rows(rows)

    def _audit(self, conn, user, action, layer, ids, detail) -> None:
        conn.execute(_AUDIT_INSERT, audit_values(user, action, layer, ids, detail))

    @staticmethod
    def _count_ids(conn, table: str, ids: list[str]) -> int:
        n = 0
        for chunk in chunks(ids, 500):
            n += conn.execute(f"SELECT count(*) FROM {_q(table)} WHERE id IN "
                              f"({','.join('?' * len(chunk))})", chunk).fetchone()[0]
        return n

    def check(self) -> str:
        """SQLite's integrity check of the whole file: ``"ok"`` when sound."""
        with self._connect() as conn:
            return conn.execute("PRAGMA integrity_check").fetchone()[0]


_AUDIT_INSERT = ('INSERT INTO audit_log (id, "at", "user", action, layer, ids, detail) '
                 "VALUES (?, ?, ?, ?, ?, ?, ?)")


def _with_last(frame: pd.DataFrame, fids: list) -> pd.DataFrame:
    """``frame`` with ``attrs["last_fid"]``: the keyset cursor after its last row."""
    frame.attrs["last_fid"] = int(fids[-1]) if len(fids) else None
    return frame


def _bump_data_version(conn: sqlite3.Connection, layer: str, *, appended: bool = False) -> int:
    """Advance the store's and ``layer``'s data version inside the caller's write
    transaction (they commit with it); returns the layer's new version. A change that is
    not only new rows (``appended`` False) is recorded as the layer's last rewrite, so
    that counts taken before it are counted again (see ``GeoPackageStore.count``)."""
    conn.execute(_META_DDL)
    conn.executemany("INSERT INTO gp_meta (key, value) VALUES (?, 1) "
                     "ON CONFLICT(key) DO UPDATE SET value = value + 1",
                     [(_version_key(None),), (_version_key(layer),)])
    version = conn.execute("SELECT value FROM gp_meta WHERE key = ?",
                           (_version_key(layer),)).fetchone()[0]
    if not appended:
        conn.execute("INSERT INTO gp_meta (key, value) VALUES (?, ?) "
                     "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                     (_rewrite_key(layer), version))
    return int(version)


