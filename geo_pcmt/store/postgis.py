"""PostGISStore: the scale-out store, one PostgreSQL database with PostGIS.

The same interface as :class:`~geo_pcmt.store.gpkg.GeoPackageStore`, for deployments where
many posts and districts write at once. Tables are built from the layer schemas in
:mod:`geo_pcmt.layers` (SQLAlchemy + GeoAlchemy2): typed columns (``date``,
``timestamptz``, ``bigint`` …), ``geometry(<type>, 4326)`` with a GiST index, a unique
``id`` and an identity ``fid`` that keeps rows in the order they were written. Filters,
bounding boxes and paging run in SQL with bound parameters; every write is one
transaction (rows loaded with ``COPY``; ``INSERT … ON CONFLICT`` for upserts) that commits
together with its audit record. Connections come from a pool (SQLAlchemy ``QueuePool``)
that is rebuilt after a fork, so gunicorn workers never share a socket.

Values go through the same checks as the GeoPackage backend (:mod:`.frames`), so both
backends accept and refuse the same frames. One difference a user may notice: datetimes
are stored as ``timestamptz`` and read back in UTC (``2022-01-01T22:41:00Z`` for
``2022-01-02T05:41:00+07:00``), the same instant written differently.
"""
from __future__ import annotations

import json
import os
import threading
import time
import uuid
from contextlib import contextmanager
from datetime import date
from typing import Any, Iterator, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import shapely
import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.engine import make_url

from geo_pcmt.layers import LAYERS, Layer, get_layer
from geo_pcmt.store import frames
from geo_pcmt.store.group_commit import GroupCommit
from geo_pcmt.store.base import BBox, LayerInfo, StoreError, Where, WriteMode, WriteReport
from geo_pcmt.store.base import CountMemo, filter_key, versions_from_rows
from geo_pcmt.store.base import version_key as _version_key

SRID = 4326
GEOM = "geom"  # the geometry column of every spatial table
_SA_TYPES = {"str": sa.Text, "int": sa.BigInteger, "float": lambda: sa.Float(precision=53),
             "bool": sa.Boolean, "date": sa.Date, "datetime": lambda: sa.DateTime(timezone=True)}
_PG_GEOMETRY = {"Point": "POINT", "LineString": "LINESTRING", "MultiPolygon": "MULTIPOLYGON",
                "MultiLineString": "MULTILINESTRING", "Geometry": "GEOMETRY"}
_INIT_LOCK = 7_310_201  # pg_advisory_xact_lock key: one init at a time across workers
APPENDS_KEPT = 256  # versions of each layer whose appended rows are remembered (gp_appends)
COUNTS_KEPT = 512  # counts each process remembers (see PostGISStore.count)
_XID_MOD = 4_294_967_296  # txid_current() is epoch-extended; a row's xmin is its low 32 bits


def _q(name: str) -> str:
    """Quote an identifier (names come from the schema, but quote them anyway)."""
    return '"' + name.replace('"', '""') + '"'


def table_for(layer: Layer, metadata: sa.MetaData) -> sa.Table:
    """The SQLAlchemy table of a layer: typed columns, unique ``id``, GiST-indexed geometry."""
    cols = [sa.Column("fid", sa.BigInteger, sa.Identity(always=False), primary_key=True)]
    for f in layer.fields:
        cols.append(sa.Column(f.name, _SA_TYPES[f.type](), nullable=not f.required,
                              unique=f.name == "id", comment=f.label_en or None))
    if layer.has_geometry:
        cols.append(sa.Column(GEOM, Geometry(_PG_GEOMETRY[layer.geometry_type], srid=SRID,
                                             spatial_index=True)))
    return sa.Table(layer.name, metadata, *cols,
                    comment=f"{layer.title_vi} — {layer.title_en}. {layer.description}".strip())


def _url(url: str) -> sa.URL:
    """``postgresql://`` or ``postgres://`` → the psycopg 3 driver URL."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1)
                      if url.startswith("postgres://") else url)
    return parsed.set(drivername="postgresql+psycopg")


def _db_message(exc: Exception) -> str:
    """The server's own words for a failed statement, without SQLAlchemy's wrapping."""
    orig = getattr(exc, "orig", None) or exc
    diag = getattr(orig, "diag", None)
    primary = getattr(diag, "message_primary", None) if diag else None
    return primary or str(orig).strip().splitlines()[0]


def _as_text(col: sa.ColumnElement, ftype: str) -> sa.ColumnElement:
    """Dates and datetimes as the ISO text the GeoPackage backend returns, formatted by the
    server (much faster than in Python): ``2024-02-29``, ``2024-03-01T01:30:00Z`` (UTC, with
    ``.ffffff`` only when there are fractions of a second)."""
    if ftype == "date":
        return sa.func.to_char(col, "YYYY-MM-DD").label(col.name)
    if ftype == "datetime":
        utc = sa.func.timezone("UTC", col)
        fraction = sa.case((sa.func.to_char(utc, "US") != "000000",
                            sa.func.to_char(utc, ".US")), else_="")
        return (sa.func.to_char(utc, 'YYYY-MM-DD"T"HH24:MI:SS') + fraction + "Z").label(col.name)
    return col


_TEXT_MAX = "\uffff"  # GeoPackage compares ISO text; "…T08:00:00\uffff" means "to the end of it"


def _utc_columns(layer: Layer, cols: list[str], values: list[list[Any]]) -> None:
    """Give naive datetimes an explicit UTC offset, in place, so the server's TimeZone
    setting never shifts them (the same rule as :func:`_bind` for filters)."""
    for i, c in enumerate(cols):
        if c in layer.field_names and layer.field(c).type == "datetime":
            for r in values:
                v = r[i]
                if v is None or v.endswith("Z") or (len(v) > 19 and v[-6] in "+-"
                                                    and v[-3] == ":"):
                    continue  # already explicit (the common case: skip parsing)
                ts = pd.Timestamp(v)
                r[i] = (ts.tz_localize("UTC") if ts.tzinfo is None else ts).isoformat()


def _bind(layer: Layer, column: str, value: Any) -> Any:
    """A ``where`` value as the column's Python type (so ``"2024-01-01"`` binds as a date).

    Naive datetimes are UTC. A text bound ending in U+FFFF (how callers written for the
    text-comparing GeoPackage say "through the end of this second, or day") binds as the
    last microsecond of that second or day.
    """
    ftype = layer.field(column).type
    through_end = ftype in ("date", "datetime") and isinstance(value, str) \
        and value.endswith(_TEXT_MAX)
    if through_end:
        value = value.rstrip(_TEXT_MAX)
    out = frames._py(value, ftype, layer.name, column, "where")
    if ftype == "date" and out is not None:
        return date.fromisoformat(out)
    if ftype == "datetime" and out is not None:
        ts = pd.Timestamp(out)
        ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts
        if through_end:
            step = pd.Timedelta(days=1) if len(value.strip()) <= 10 else pd.Timedelta(seconds=1)
            ts = ts + step - pd.Timedelta(microseconds=1)
        return ts.to_pydatetime()
    return out


def _matchable(value: Any) -> bool:
    """Whether a filter value could equal a stored value (PostgreSQL text holds no NUL)."""
    if not isinstance(value, str):
        return True
    return "\x00" not in value and _encodable(value)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _storable(value: Any) -> Any:
    """A range bound PostgreSQL can take: text cut at a NUL, invalid characters dropped."""
    if not isinstance(value, str):
        return value
    value = value.split("\x00", 1)[0]
    return value if _encodable(value) else value.encode("utf-8", "ignore").decode("utf-8")


IDLE_PING_S = 10.0  # a pooled connection idle this long is checked before use


def _ping_when_idle(engine: sa.Engine, idle_s: float) -> None:
    """Check a pooled connection before use only if it sat idle ``idle_s`` or longer.

    SQLAlchemy's ``pool_pre_ping`` sends a query on every checkout: under load, one more
    round trip to a server process per store call, most of a cached read's cost. A
    connection used moments ago is alive; one that sat idle (the server may have restarted
    or a firewall dropped it) is pinged, and replaced if dead (the pool then tries again).
    """
    @sa.event.listens_for(engine, "checkin")
    def _checked_in(dbapi_conn, record) -> None:
        record.info["idle_since"] = time.monotonic()

    @sa.event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn, record, proxy) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < idle_s:
            return
        try:
            with dbapi_conn.cursor() as cur:
                cur.execute("SELECT 1")
            if not dbapi_conn.autocommit:
                dbapi_conn.rollback()
        except psycopg.Error:
            raise sa.exc.DisconnectionError("pooled connection is gone") from None


class PostGISStore:
    """Layers in a PostgreSQL/PostGIS database.

    Parameters
    ----------
    url : str
        ``postgresql://user:password@host:port/database`` (``postgres://`` and
        ``postgresql+psycopg://`` work too).
    pool_size, max_overflow : int
        Connections kept open per process, and extra ones allowed under bursts.
    connect_timeout_s : float
        How long to wait for the server before a :class:`StoreError`.
    schema : str, optional
        PostgreSQL schema for the tables (default: the connection's ``search_path``).

    Examples
    --------
    >>> store = PostGISStore("postgresql://pcmt@127.0.0.1/pcmt")
    >>> store.init()
    >>> store.count("communes", bbox=(104.0, 19.2, 104.4, 19.6))
    6
    """

    writes_hold_the_store = False  # row locks: readers and their audit records go on

    def __init__(self, url: str, *, pool_size: int = 5, max_overflow: int = 10,
                 connect_timeout_s: float = 10.0, schema: str | None = None):
        self.url = _url(url)
        self.pool_size = pool_size
        self.max_overflow = max_overflow
        self.connect_timeout_s = connect_timeout_s
        self.schema = schema
        self.metadata = sa.MetaData(schema=schema)
        self._tables: dict[str, sa.Table] = {}
        self._known: set[str] = set()  # tables are created, never dropped: cache them
        self._engine: sa.Engine | None = None
        self._single: sa.Engine | None = None  # see _engines
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._audit_group = GroupCommit(self._commit_audit)  # see audit
        self._unanalyzed: dict[str, int] = {}  # rows changed per table since ANALYZE
        self._meta_ready = False  # gp_meta known to exist (made by init or _ensure_meta)
        self._counts = CountMemo(COUNTS_KEPT)  # see count: key → (rows, version)
        self._sequences: dict[str, tuple[str, bool]] = {}  # see _fid_sequence

    def __repr__(self) -> str:
        return f"PostGISStore({self.url.render_as_string(hide_password=True)!r})"

    @property
    def path(self) -> str:
        """Where the data lives, for messages (password hidden)."""
        return self.url.set(drivername="postgresql").render_as_string(hide_password=True)

    # --- connections ------------------------------------------------------------------

    @property
    def engine(self) -> sa.Engine:
        """The pooled engine of this process; a forked child (gunicorn worker) gets its own."""
        return self._engines()[0]

    def _engines(self) -> tuple[sa.Engine, sa.Engine]:
        """(transactions, single statements): two pools of this process.

        The second pool's connections are in autocommit mode for good, so a one-statement
        read or append (data versions, audit batches, ANALYZE) costs one round trip and no
        per-checkout switching of modes or rollback on return: a third of the CPU time of
        the same statement through the first pool, and it runs on every request.
        """
        with self._lock:
            if self._engine is not None and self._pid != os.getpid():
                for engine in (self._engine, self._single):
                    engine.dispose(close=False)  # the parent's sockets are the parent's
                self._engine = self._single = None
            if self._engine is None:
                self._engine = self._make_engine()
                self._single = self._make_engine(isolation_level="AUTOCOMMIT",
                                                 pool_reset_on_return=None)
                self._pid = os.getpid()
            return self._engine, self._single

    def _make_engine(self, **options) -> sa.Engine:
        engine = sa.create_engine(
            self.url, pool_size=self.pool_size, max_overflow=self.max_overflow,
            pool_recycle=3600,
            connect_args={"connect_timeout": max(1, int(self.connect_timeout_s)),
                          "application_name": "geo_pcmt"}, **options)
        _ping_when_idle(engine, IDLE_PING_S)
        return engine

    def close(self) -> None:
        """Close every pooled connection (the store reconnects on next use)."""
        with self._lock:
            if self._engine is not None:
                self._engine.dispose()
                self._single.dispose()
                self._engine = self._single = None

    def __enter__(self) -> "PostGISStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def _connect(self) -> Iterator[sa.Connection]:
        try:
            with self.engine.connect() as conn:
                yield conn
        except StoreError:
            raise
        except (sa.exc.DBAPIError, psycopg.Error) as exc:
            raise StoreError(f"store {self.path}: {_db_message(exc)}") from None

    def _one_statement(self, sql: str, params: Sequence | None = None) -> list[tuple]:
        """Run one statement outside any transaction (committed on its own when it writes);
        its rows, or ``[]`` when it returns none."""
        try:
            raw = self._engines()[1].raw_connection()
            try:
                cur = raw.driver_connection.execute(sql, params)
                return cur.fetchall() if cur.description else []
            except psycopg.Error:
                if raw.driver_connection.broken:  # never hand a dead connection out again
                    raw.invalidate()
                raise
            finally:
                raw.close()
        except psycopg.errors.UndefinedTable:
            raise
        except (sa.exc.DBAPIError, psycopg.Error) as exc:
            raise StoreError(f"store {self.path}: {_db_message(exc)}") from None

    @contextmanager
    def _transaction(self) -> Iterator[sa.Connection]:
        """One transaction: committed when the block ends, rolled back on any error."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except StoreError:
            raise
        except (sa.exc.IntegrityError, psycopg.IntegrityError) as exc:
            raise StoreError(f"store {self.path}: {_db_message(exc)}; nothing was written") \
                from None
        except (sa.exc.DBAPIError, psycopg.Error) as exc:
            raise StoreError(f"store {self.path}: the write failed and was rolled back: "
                             f"{_db_message(exc)}") from None

    # --- schema -----------------------------------------------------------------------

    def table(self, layer: str | Layer) -> sa.Table:
        """The SQLAlchemy :class:`~sqlalchemy.Table` of a layer."""
        spec = get_layer(layer) if isinstance(layer, str) else layer
        if spec.name not in self._tables:
            self._tables[spec.name] = table_for(spec, self.metadata)
        return self._tables[spec.name]

    def _existing_tables(self) -> set[str]:
        with self._connect() as conn:
            names = set(sa.inspect(conn).get_table_names(schema=self.schema))
        self._known = names
        return set(names)

    def _has_table(self, name: str) -> bool:
        return name in self._known or name in self._existing_tables()

    def init(self, layers: Sequence[str] | None = None) -> None:
        """Create PostGIS (if allowed) and every missing layer table (idempotent).

        Columns added to a layer's schema since the table was made are added too, so an
        existing database follows the schemas without a separate migration step.
        """
        names = list(layers or list(LAYERS))
        with self._transaction() as conn:
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _INIT_LOCK})
            has_postgis = conn.execute(sa.text(
                "SELECT 1 FROM pg_extension WHERE extname = 'postgis'")).first()
            if not has_postgis:
                try:
                    with conn.begin_nested():
                        conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS postgis"))
                except sa.exc.DBAPIError as exc:
                    raise StoreError(
                        f"store {self.path}: the PostGIS extension is not installed and this "
                        f"user may not create it ({_db_message(exc)}); ask the database "
                        "administrator to run CREATE EXTENSION postgis") from None
            inspector = sa.inspect(conn)
            existing = set(inspector.get_table_names(schema=self.schema))
            todo = [self.table(n) for n in names if n not in existing]
            self.metadata.create_all(conn, tables=todo, checkfirst=True)
            added = [name for name in names if name in existing
                     and self._add_missing_columns(conn, inspector, get_layer(name))]
            self._create_meta(conn.connection.driver_connection.cursor())
            for name in added:  # features gain (empty) properties: readers are out of date
                self._bump_data_version(conn.connection.driver_connection.cursor(), name)
        self._known = existing | set(names)
        self._meta_ready = True

    def _create_meta(self, cur) -> None:
        """The one-row-per-key ``gp_meta`` table holding ``data_version`` (under the init
        lock, so that concurrent workers never race to create it)."""
        cur.execute(f"CREATE TABLE IF NOT EXISTS {self._qt('gp_meta')} "
                    "(key text PRIMARY KEY, value bigint NOT NULL)")
        cur.execute(f"INSERT INTO {self._qt('gp_meta')} (key, value) VALUES "
                    "('data_version', 0) ON CONFLICT (key) DO NOTHING")
        # which rows each append added, so that counts can follow appends (see count)
        cur.execute(f"CREATE TABLE IF NOT EXISTS {self._qt('gp_appends')} "
                    "(layer text, version bigint, xid bigint NOT NULL, min_fid bigint NOT NULL, "
                    "max_fid bigint NOT NULL, PRIMARY KEY (layer, version))")

    def _ensure_meta(self) -> None:
        if self._meta_ready:
            return
        with self._transaction() as conn:
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _INIT_LOCK})
            self._create_meta(conn.connection.driver_connection.cursor())
        self._meta_ready = True

    def _bump_data_version(self, cur, layer: str) -> int:
        """Advance the store's and ``layer``'s data version inside the caller's transaction,
        as its last change: the row locks serialise writers only from here to their commit.
        Returns the layer's new version. Once this returns, every earlier version of the
        layer is committed (its writer held the row lock until then)."""
        for key in (_version_key(None), _version_key(layer)):  # always in this order
            version = cur.execute(
                f"INSERT INTO {self._qt('gp_meta')} AS m (key, value) VALUES (%s, 1) "
                "ON CONFLICT (key) DO UPDATE SET value = m.value + 1 RETURNING value",
                (key,)).fetchone()[0]
        return int(version)

    def data_version(self, layer: str | None = None) -> int:
        """A number that grows with every committed data write or delete (not with audit
        records): two reads under the same number saw the same data. With ``layer``, the
        number of that layer alone (other layers' writes leave it alone).

        Read it *before* reading data to cache, so a cached answer is never older than
        its number. Statements run outside this class (psql, QGIS) do not change it.
        """
        try:
            rows = self._one_statement(
                f"SELECT value FROM {self._qt('gp_meta')} WHERE key = %s", (_version_key(layer),))
        except psycopg.errors.UndefinedTable:  # no gp_meta yet: nothing written since init
            return 0
        return int(rows[0][0]) if rows else 0

    def data_versions(self) -> dict[str | None, int]:
        """Every data version at once, in one statement (see :meth:`data_version`)."""
        try:
            rows = self._one_statement(
                f"SELECT key, value FROM {self._qt('gp_meta')} "
                "WHERE key = 'data_version' OR key LIKE 'data_version:%'")
        except psycopg.errors.UndefinedTable:  # no gp_meta yet: nothing written since init
            return {}
        return versions_from_rows(rows)

    def _add_missing_columns(self, conn: sa.Connection, inspector, layer: Layer) -> bool:
        have = {c["name"] for c in inspector.get_columns(layer.name, schema=self.schema)}
        table = self.table(layer)
        for f in layer.fields:
            if f.name not in have:
                col_type = table.c[f.name].type.compile(dialect=conn.dialect)
                conn.execute(sa.text(f"ALTER TABLE {self._qt(layer.name)} ADD COLUMN "
                                     f"{_q(f.name)} {col_type}"))
        return any(f.name not in have for f in layer.fields)

    def _ensure(self, layer: Layer) -> None:
        missing = [n for n in (layer.name, "audit_log") if not self._has_table(n)]
        if missing:
            self.init(missing)

    def _qt(self, name: str) -> str:
        return f"{_q(self.schema)}.{_q(name)}" if self.schema else _q(name)

    # --- queries ----------------------------------------------------------------------

    def _conditions(self, layer: Layer, bbox: BBox | None, where: Where | None) -> list:
        table = self.table(layer)
        conds = []
        for column, value in (where or {}).items():
            layer.field(column)  # KeyError for unknown columns: never interpolated
            col = table.c[column]
            if isinstance(value, slice):
                if value.start is not None:
                    conds.append(col >= _bind(layer, column, _storable(value.start)))
                if value.stop is not None:
                    conds.append(col <= _bind(layer, column, _storable(value.stop)))
            elif isinstance(value, (list, tuple, set, frozenset)):
                # text no row can hold (NUL, lone surrogates) matches nothing, as in SQLite
                values = [_bind(layer, column, v) for v in value if _matchable(v)]
                conds.append(col.in_(values) if values else sa.false())
            elif value is None:
                conds.append(col.is_(None))
            elif not _matchable(value):
                conds.append(sa.false())
            else:
                conds.append(col == _bind(layer, column, value))
        if bbox is not None:
            if not layer.has_geometry:
                raise StoreError(f"layer {layer.name} has no geometry; bbox does not apply")
            try:
                minx, miny, maxx, maxy = (float(v) for v in bbox)
            except (TypeError, ValueError):
                raise StoreError(f"bbox must be four numbers, got {bbox!r}") from None
            if not all(np.isfinite([minx, miny, maxx, maxy])):
                raise StoreError(f"bbox must be finite numbers, got {bbox!r}")
            env = sa.func.ST_MakeEnvelope(minx, miny, maxx, maxy, SRID)
            geom = table.c[GEOM]
            # && uses the GiST index; for points it is already the exact test.
            conds.append(geom.op("&&")(env))
            if layer.geometry_type != "Point":
                conds.append(sa.func.ST_Intersects(geom, env))
        return conds

    def read(self, layer: str, *, bbox: BBox | None = None, where: Where | None = None,
             columns: Sequence[str] | None = None, limit: int | None = None,
             offset: int = 0) -> gpd.GeoDataFrame | pd.DataFrame:
        """Rows of ``layer`` in the order they were written, filtered and paged in SQL.

        Parameters
        ----------
        bbox : (minlon, minlat, maxlon, maxlat), optional
            Keep features whose geometry intersects the box (GiST index, then exact test).
        where : mapping, optional
            ``{column: value}`` equality, ``{column: [v1, v2]}`` membership,
            ``{column: slice(lo, hi)}`` inclusive range. Values are bound, never pasted.
        columns : list of str, optional
            Attribute columns to return (``id`` is always included).
        limit, offset : int
            Paging, applied after filtering.
        """
        spec = get_layer(layer)
        cols = frames.read_columns(spec, columns, limit, offset)
        if not self._has_table(spec.name):
            return frames.empty_frame(spec, cols)
        table = self.table(spec)
        select = [_as_text(table.c[c], spec.field(c).type) for c in cols]
        if spec.has_geometry:
            select.append(sa.func.ST_AsBinary(table.c[GEOM]).label(GEOM))
        query = sa.select(*select).where(*self._conditions(spec, bbox, where)) \
            .order_by(table.c.fid)
        if limit is not None:
            query = query.limit(int(limit))
        if offset:
            query = query.offset(int(offset))
        with self._connect() as conn:
            records = conn.execute(query).all()
        data = {c: [r[i] for r in records] for i, c in enumerate(cols)}
        if spec.has_geometry:
            wkb = np.asarray([None if r[-1] is None else bytes(r[-1]) for r in records],
                             dtype=object)
            return frames.typed(spec, data, shapely.from_wkb(wkb))
        return frames.typed(spec, data)

    def count(self, layer: str, *, bbox: BBox | None = None, where: Where | None = None) -> int:
        """Number of rows matching the same filters as :meth:`read`.

        Counts follow appends: the process remembers the last count of each filter with
        the layer's data version it was taken at, and when every write since only added
        rows, it counts just those rows (found by ``fid`` range and inserting transaction,
        see :meth:`_count_query`) instead of every row in the box again. At 150 000 points
        in a box that is about 1 ms instead of 45 ms of server time, after each upload.
        Any other change (update, delete, replace, new columns) counts in full again.
        """
        spec = get_layer(layer)
        if not self._has_table(spec.name):
            return 0
        conds = self._conditions(spec, bbox, where)
        if spec.name == "audit_log":  # audit records move no data version: always counted
            with self._connect() as conn:
                return int(conn.execute(sa.select(sa.func.count())
                                        .select_from(self.table(spec)).where(*conds)).scalar_one())
        key = (spec.name, bbox, filter_key(where))
        with self._connect() as conn:
            n, version = self._counted(conn, spec, conds, self._counts.get(key))
        self._remember_count(key, n, version)
        return n

    def _counted(self, conn: sa.Connection, spec: Layer, conds: list,
                 known: tuple[int, int] | None) -> tuple[int, int | None]:
        """``(rows matching conds, the layer version they were counted at)``: ``known`` (an
        earlier ``(rows, version)``) plus the matching rows appended since when every write
        since only appended, else counted in full."""
        if known is not None:
            try:
                now, appends, added = conn.execute(
                    self._count_query(spec, conds, since=known[1])).one()
            except sa.exc.ProgrammingError:  # a store made before gp_appends existed
                conn.rollback()
            else:
                if now is not None and now >= known[1] and appends == now - known[1]:
                    return known[0] + int(added), int(now)
        try:
            now, n = conn.execute(self._count_query(spec, conds)).one()
        except sa.exc.ProgrammingError:  # no gp_meta (a database made before it existed)
            conn.rollback()
            n, now = conn.execute(sa.select(sa.func.count()).select_from(self.table(spec))
                                  .where(*conds)).scalar_one(), None
        return int(n), (None if now is None else int(now))

    def _count_query(self, spec: Layer, conds: list, since: int | None = None,
                     upto: int | None = None) -> sa.Select:
        """One statement (so one snapshot): the layer's data version, and then either the
        count of rows matching ``conds`` (``since`` None), or the number of appends recorded
        after version ``since`` (up to ``upto`` or the current version) and how many of
        their rows match: rows in the appends' ``fid`` range written by their transactions
        (``xmin``), so rows of other writers that drew ids in between are not counted."""
        table = self.table(spec)
        meta = sa.table("gp_meta", sa.column("key"), sa.column("value"), schema=self.schema)
        now = sa.select(meta.c.value).where(meta.c.key == _version_key(spec.name)) \
            .scalar_subquery()
        if since is None:
            return sa.select(now, sa.select(sa.func.count()).select_from(table).where(*conds)
                             .scalar_subquery())
        log = sa.table("gp_appends", sa.column("layer"), sa.column("version"),
                       sa.column("xid"), sa.column("min_fid"), sa.column("max_fid"),
                       schema=self.schema)
        upper = now if upto is None else sa.literal(int(upto))
        appends = sa.select(log.c.xid, log.c.min_fid, log.c.max_fid) \
            .where(log.c.layer == spec.name, log.c.version > since, log.c.version <= upper) \
            .cte("appends")
        xmin = sa.literal_column(f"{_q(spec.name)}.xmin::text::bigint")
        added = sa.select(sa.func.count()).select_from(table).where(
            *conds,
            table.c.fid.between(sa.select(sa.func.min(appends.c.min_fid)).scalar_subquery(),
                                sa.select(sa.func.max(appends.c.max_fid)).scalar_subquery()),
            xmin.in_(sa.select(appends.c.xid)))
        return sa.select(now, sa.select(sa.func.count()).select_from(appends).scalar_subquery(),
                         added.scalar_subquery())

    def _remember_count(self, key: tuple, n: int, version: int | None) -> None:
        if version is not None:  # None: never written through a store, nothing to follow
            self._counts.put(key, (n, version))

    def bounds(self, layer: str) -> BBox | None:
        """Extent of a layer, or None when it is empty or has no geometry."""
        spec = get_layer(layer)
        if not spec.has_geometry or not self._has_table(spec.name):
            return None
        g = self.table(spec).c[GEOM]
        # exact extent (ST_Extent rounds to single precision)
        query = sa.select(sa.func.min(sa.func.ST_XMin(g)), sa.func.min(sa.func.ST_YMin(g)),
                          sa.func.max(sa.func.ST_XMax(g)), sa.func.max(sa.func.ST_YMax(g)))
        with self._connect() as conn:
            row = conn.execute(query).one()
        return None if row[0] is None else tuple(float(v) for v in row)

    def layers(self) -> list[LayerInfo]:
        """Every stored layer with its count and extent."""
        out = []
        for name in sorted(self._existing_tables()):
            if name not in LAYERS:
                continue
            spec = LAYERS[name]
            out.append(LayerInfo(name, self.count(name), self.bounds(name), spec.geometry_type))
        return out

    # --- writes -----------------------------------------------------------------------

    def write(self, layer: str, frame: gpd.GeoDataFrame | pd.DataFrame, *,
              mode: WriteMode = "append", user: str = "system",
              keep_timestamps: bool = False) -> WriteReport:
        """Write rows in one transaction: all of them or none.

        ``append`` refuses ids that exist already; ``replace`` empties the layer first (in
        the same transaction, so readers see the old rows until the new ones commit);
        ``upsert`` inserts new ids and updates existing ones (keeping ``created_at``). The
        write and its audit record commit together. ``keep_timestamps`` keeps the frame's
        ``updated_at`` (for copying a store, :mod:`geo_pcmt.store.migrate`).
        """
        if mode not in ("append", "replace", "upsert"):
            raise StoreError(f"unknown write mode {mode!r}; use append, replace or upsert")
        spec = get_layer(layer)
        if spec.name == "audit_log":
            raise StoreError("the audit log is append-only and written by the store itself")
        prepared = frames.prepare(spec, frame, keep_updated_at=keep_timestamps)
        cols, values, ids = list(prepared.cols), prepared.values, prepared.ids
        _utc_columns(spec, cols, values)
        if prepared.geometries is not None:
            cols.append(GEOM)
            ewkb = _ewkb_hex(prepared.geometries)
            values = [r + [g] for r, g in zip(values, ewkb)]
        self._ensure(spec)
        self._ensure_meta()
        table = self._qt(spec.name)
        collist = ", ".join(_q(c) for c in cols)
        with self._transaction() as conn:
            cur = conn.connection.driver_connection.cursor()
            deleted = existing = 0
            if mode == "replace":
                deleted = cur.execute(f"DELETE FROM {table}").rowcount
            elif ids:
                existing = cur.execute(f"SELECT count(*) FROM {table} WHERE id = ANY(%s)",
                                       (ids,)).fetchone()[0]
                if mode == "append" and existing:
                    raise StoreError(f"layer {spec.name}: {existing} id(s) already stored "
                                     "(use upsert to update them)")
            fids = None  # (first, last) fid of the rows added, when the write only added rows
            inserted, updated = len(ids) - existing, existing
            if mode == "upsert" and values:
                # rows go to a scratch table first so that ON CONFLICT can apply to them
                cur.execute(f"CREATE TEMP TABLE _incoming ON COMMIT DROP AS "
                            f"SELECT {collist} FROM {table} WITH NO DATA")
                cur.execute("ALTER TABLE _incoming ADD COLUMN _n integer")
                _copy(cur, "_incoming", cols + ["_n"],
                      (r + [n] for n, r in enumerate(values)))
                keep = [c for c in cols if c not in ("id", "created_at")]
                # xmax = 0: a row this statement inserted (an updated row carries a lock)
                inserted, updated, first, last = cur.execute(
                    f"WITH done AS (INSERT INTO {table} ({collist}) SELECT {collist} FROM "
                    "_incoming ORDER BY _n ON CONFLICT (id) DO UPDATE SET "
                    + ", ".join(f"{_q(c)} = excluded.{_q(c)}" for c in keep)
                    + " RETURNING fid, xmax = 0 AS new) SELECT count(*) FILTER (WHERE new), "
                    "count(*) FILTER (WHERE NOT new), min(fid), max(fid) FROM done").fetchone()
                fids = (first, last) if inserted and not updated else None
            elif values:
                sequence, one_at_a_time = self._fid_sequence(cur, spec.name)
                first = cur.execute(f"SELECT last_value FROM {sequence}").fetchone()[0]
                _copy(cur, table, cols, values)
                last = cur.execute("SELECT currval(%s)", (sequence,)).fetchone()[0]
                fids = (first, last) if mode != "replace" and one_at_a_time else None
            version = self._bump_data_version(cur, spec.name)
            if fids is not None:
                log = self._qt("gp_appends")
                cur.execute(f"INSERT INTO {log} (layer, version, xid, min_fid, max_fid) VALUES "
                            f"(%s, %s, txid_current() %% {_XID_MOD}, %s, %s)",
                            (spec.name, version, *fids))
                if version % 64 == 0:
                    cur.execute(f"DELETE FROM {log} WHERE layer = %s AND version <= %s",
                                (spec.name, version - APPENDS_KEPT))
            count_after = self._count_after(conn, spec, version, mode, inserted, deleted)
            report = WriteReport(spec.name, mode, int(inserted), int(updated), deleted,
                                 count_after)
            self._audit(cur, user, f"write:{mode}", spec.name, ids, report.as_dict())
        self._remember_count((spec.name, None, ()), count_after, version)
        self._keep_statistics(spec.name, report.inserted + report.updated + report.deleted,
                              report.count_after)
        return report

    def _count_after(self, conn: sa.Connection, spec: Layer, version: int, mode: str,
                     inserted: int, deleted: int) -> int:
        """Rows in the layer once this write (holding ``version``) commits: the count at
        the version before, followed through its appends (see :meth:`count`), plus this
        write's own change; counted in full when that is not known."""
        known = self._counts.get((spec.name, None, ()))
        if mode != "replace" and known is not None and known[1] <= version - 1:
            # every earlier version is committed and visible now (see _bump_data_version)
            _, appends, added = conn.execute(
                self._count_query(spec, [], since=known[1], upto=version - 1)).one()
            if appends == version - 1 - known[1]:
                return known[0] + int(added) + int(inserted) - deleted
        return int(conn.execute(sa.select(sa.func.count()).select_from(self.table(spec)))
                   .scalar_one())

    def _fid_sequence(self, cur, table: str) -> tuple[str, bool]:
        """The table's ``fid`` sequence, and whether it hands out one value at a time (the
        default): only then is every id this session draws above the sequence's last value
        read before, which :meth:`write` takes as the first ``fid`` of an append."""
        if table not in self._sequences:
            self._sequences[table] = cur.execute(
                "SELECT s.seqrelid::regclass::text, s.seqcache = 1 FROM pg_sequence s "
                "WHERE s.seqrelid = pg_get_serial_sequence(%s, 'fid')::regclass",
                (self._qt(table),)).fetchone()
        return self._sequences[table]

    def _keep_statistics(self, table: str, changed: int, rows: int) -> None:
        """ANALYZE a table once a fifth of it changed since (this process's writes).

        With statistics from before a burst of uploads, PostgreSQL chose to sort every
        point in a box for a page of 100 (139 ms at 55 000 points) instead of walking the
        id index and stopping at 100 (8 ms). The autovacuum daemon catches up in its own
        time (a minute or more); readers should not wait for it. Best effort: a failure
        leaves the statistics to autovacuum.
        """
        with self._lock:
            pending = self._unanalyzed.get(table, 0) + changed
            due = pending >= max(500, rows // 5)
            self._unanalyzed[table] = 0 if due else pending
        if due:
            try:
                self._one_statement(f"ANALYZE {self._qt(table)}")
            except (StoreError, psycopg.errors.UndefinedTable):
                pass

    def delete(self, layer: str, ids: Sequence[str], *, user: str = "system") -> int:
        """Delete rows by id in one transaction; returns how many were deleted."""
        spec = get_layer(layer)
        if spec.name == "audit_log":
            raise StoreError("the audit log is append-only")
        ids = [str(i) for i in ids]
        if not ids or not self._has_table(spec.name):
            return 0
        self._ensure(spec)
        self._ensure_meta()
        with self._transaction() as conn:
            cur = conn.connection.driver_connection.cursor()
            n = cur.execute(f"DELETE FROM {self._qt(spec.name)} WHERE id = ANY(%s)",
                            (ids,)).rowcount
            if n:
                self._bump_data_version(cur, spec.name)
            self._audit(cur, user, "delete", spec.name, ids, {"deleted": n})
        return n

    def audit(self, user: str, action: str, layer: str | None = None,
              ids: Sequence[str] = (), detail: dict | None = None) -> None:
        """Append one audit record (reads of restricted layers, exports, logins …).

        Committed before this returns. Records that threads of this process add while
        another commit is under way go in the next transaction together (see
        :mod:`geo_pcmt.store.group_commit`); each caller gets its batch's error.
        """
        if not self._has_table("audit_log"):
            self.init(["audit_log"])
        self._audit_group.submit(self._audit_values(user, action, layer, ids, detail or {}))

    def _commit_audit(self, rows: list[tuple]) -> None:
        # one statement (atomic on its own): one round trip and one commit for the batch
        one = "(%s, %s, %s, %s, %s, %s, %s)"
        sql = self._audit_sql().replace(f"VALUES {one}", "VALUES " + ", ".join([one] * len(rows)))
        try:
            self._one_statement(sql, [v for row in rows for v in row])
        except (StoreError, psycopg.errors.UndefinedTable) as exc:
            raise StoreError(f"{exc}; nothing was written") from None

    def _audit_sql(self) -> str:
        return (f'INSERT INTO {self._qt("audit_log")} (id, "at", "user", action, layer, ids, '
                "detail) VALUES (%s, %s, %s, %s, %s, %s, %s)")

    @staticmethod
    def _audit_values(user, action, layer, ids, detail) -> tuple:
        return (uuid.uuid4().hex, frames.now_iso(), user, action, layer,
                json.dumps(list(ids)[:10_000], ensure_ascii=False),
                json.dumps(detail, ensure_ascii=False, default=str))

    def _audit(self, cur, user, action, layer, ids, detail) -> None:
        cur.execute(self._audit_sql(), self._audit_values(user, action, layer, ids, detail))

    def import_audit(self, records: pd.DataFrame) -> int:
        """Append audit records copied from another store, keeping their ids, times and
        users; records whose id is already here are skipped. Returns how many were added.

        Records are not held to the schema's text limits: a store writes up to 10,000 ids
        into one record, longer than ``ids.max_length``, and the copy must be whole."""
        spec = get_layer("audit_log")
        frames.check_frame(spec, records)
        cols, values = frames.rows(spec, records)
        if not values:
            return 0
        _utc_columns(spec, cols, values)
        self._ensure(spec)
        table = self._qt("audit_log")
        collist = ", ".join(_q(c) for c in cols)
        with self._transaction() as conn:
            cur = conn.connection.driver_connection.cursor()
            cur.execute(f"CREATE TEMP TABLE _incoming ON COMMIT DROP AS "
                        f"SELECT {collist} FROM {table} WITH NO DATA")
            cur.execute("ALTER TABLE _incoming ADD COLUMN _n integer")
            _copy(cur, "_incoming", cols + ["_n"], (r + [n] for n, r in enumerate(values)))
            return cur.execute(f"INSERT INTO {table} ({collist}) SELECT {collist} FROM "
                               "_incoming ORDER BY _n ON CONFLICT (id) DO NOTHING").rowcount

    def check(self) -> str:
        """Check every table can be read and its B-tree indexes are sound: ``"ok"`` or the
        problems found (uses the ``amcheck`` extension when it may be created)."""
        problems = []
        with self._transaction() as conn:
            try:
                with conn.begin_nested():
                    conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS amcheck"))
                amcheck = True
            except sa.exc.DBAPIError:
                amcheck = False
            for name in sorted(self._existing_tables() & set(LAYERS)):
                try:
                    with conn.begin_nested():
                        conn.execute(sa.text(f"SELECT count(*) FROM {self._qt(name)}"))
                        if amcheck:
                            conn.execute(sa.text(
                                "SELECT bt_index_check(i.indexrelid, true) FROM pg_index i "
                                "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON "
                                "a.oid = c.relam WHERE i.indrelid = CAST(:t AS regclass) "
                                "AND a.amname = 'btree'"), {"t": self._qt(name)})
                except sa.exc.DBAPIError as exc:
                    problems.append(f"{name}: {_db_message(exc)}")
        return "ok" if not problems else "; ".join(problems)


def _ewkb_hex(geoms: np.ndarray) -> list[str | None]:
    """Geometries as hex EWKB with SRID 4326, the text form ``COPY`` reads into ``geometry``."""
    with_srid = shapely.set_srid(geoms, SRID)
    return list(shapely.to_wkb(with_srid, hex=True, include_srid=True, flavor="extended"))


def _copy(cur, table: str, cols: list[str], rows) -> None:
    with cur.copy(f"COPY {table} ({', '.join(_q(c) for c in cols)}) FROM STDIN") as copy:
        for r in rows:
            copy.write_row(r)
