"""Connections of a PostGIS store: two SQLAlchemy pools per process (transactions, and
single autocommit statements), rebuilt after a fork, with dead connections replaced."""
from __future__ import annotations

import os
import time
from contextlib import contextmanager
from typing import Iterator, Sequence

import psycopg
import sqlalchemy as sa

from geo_pcmt.store.base import StoreError
from geo_pcmt.store.postgis_sql import _db_message

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


class Pools:
    """Connection handling mixed into :class:`~geo_pcmt.store.postgis.PostGISStore`, which
    sets ``url``, ``path``, the pool sizes, ``connect_timeout_s``, ``_lock``, ``_pid`` and
    the two engines (``_engine``, ``_single``)."""

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
