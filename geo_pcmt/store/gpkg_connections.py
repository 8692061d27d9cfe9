"""SQLite connections of a GeoPackage store: one per thread for reads and audit records,
one writer at a time across threads and processes (``<store>.lock``)."""
from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from typing import Iterator

from geo_pcmt.store.base import StoreError
from geo_pcmt.store.gpkg_geometry import _register_functions


class Connections:
    """Connection handling mixed into :class:`~geo_pcmt.store.gpkg.GeoPackageStore`, which
    sets ``path``, ``busy_timeout_s`` and the attributes its ``__init__`` documents."""

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        if not self.path.exists():
            raise StoreError(f"store {self.path} does not exist; run `geo-pcmt init` first")
        conn = sqlite3.connect(self.path, timeout=self.busy_timeout_s, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            _register_functions(conn)
            yield conn
        finally:
            conn.close()

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        """This thread's own connection, for reads (autocommit: each statement sees the
        last commit). Opening a connection costs a schema parse on its first statement,
        which cost more than a whole page of a bbox read; a connection that failed is
        dropped, the next read opens a new one."""
        conn = self._thread_connection()
        try:
            yield conn
        except BaseException:
            self._drop_thread_connection()
            raise

    @contextmanager
    def _one_writer(self) -> Iterator[None]:
        """Wait for the store's write turn: one writer at a time across this process's
        threads (a lock) and across processes (``flock`` on ``<store>.lock``).

        SQLite lets a second writer find the file locked and retry after sleeps that grow
        to 100 ms, so under load the write lock sat free while writers slept and newcomers
        went first; every audited read waited behind that. Taking turns here first, a writer
        reaches ``BEGIN IMMEDIATE`` when the file is free. Editors that do not take the turn
        (GDAL, QGIS) are still kept out by SQLite's own locking.
        """
        deadline = time.monotonic() + self.busy_timeout_s
        if self._writer_pid != os.getpid():  # a fork copied the parent's lock and file
            self._writer_lock, self._writer_file, self._writer_pid = \
                threading.Lock(), None, os.getpid()
        if not self._writer_lock.acquire(timeout=self.busy_timeout_s):
            raise StoreError(f"store {self.path}: busy for {self.busy_timeout_s:.0f} s; "
                             "nothing was written")
        try:
            fd = self._writer_fd()
            while fd is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:  # another process writes: look again shortly
                    if time.monotonic() > deadline:
                        raise StoreError(f"store {self.path}: busy for "
                                         f"{self.busy_timeout_s:.0f} s; nothing was written")
                    time.sleep(0.0005)
            try:
                yield
            finally:
                if fd is not None:
                    fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            self._writer_lock.release()

    def _writer_fd(self) -> int | None:
        """This process's descriptor of ``<store>.lock`` (None if it cannot be made, e.g.
        on a full disk: SQLite's locking alone then keeps writers apart)."""
        if self._writer_file is None:
            try:
                fd = os.open(self.path.with_name(self.path.name + ".lock"),
                             os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)  # owner only
                self._writer_file = os.fdopen(fd, "a+b")
            except OSError:
                return None
        return self._writer_file.fileno()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._one_writer(), self._connect() as conn:
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    if conn.in_transaction:  # on a full disk SQLite has rolled back already
                        conn.execute("ROLLBACK")
                    raise
                else:
                    conn.execute("COMMIT")
            except sqlite3.OperationalError as exc:  # disk full, I/O error, locked too long
                raise StoreError(f"store {self.path}: {exc}; nothing was written") from None

    def _thread_connection(self) -> sqlite3.Connection:
        local = self._local
        conn = getattr(local, "conn", None)
        if conn is not None:
            if local.key == (os.getpid(), self._generation):
                return conn
            self._drop_thread_connection()  # from before a close() or a schema change
        if not self.path.exists():
            raise StoreError(f"store {self.path} does not exist; run `geo-pcmt init` first")
        # used by its own thread only; check_same_thread is off so that close() can close it
        conn = sqlite3.connect(self.path, timeout=self.busy_timeout_s, isolation_level=None,
                               check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        _register_functions(conn)
        local.conn, local.key = conn, (os.getpid(), self._generation)
        with self._open_lock:
            self._open.append((os.getpid(), conn))
        return conn  # also reads data_version: autocommit, so each read sees the last commit

    def _drop_thread_connection(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None and self._local.key[0] == os.getpid():
            with self._open_lock:
                self._open = [(p, c) for p, c in self._open if c is not conn]
            try:
                conn.close()
            except sqlite3.Error:
                pass

    def close(self) -> None:
        """Close the connections this process keeps (one per thread that used the store);
        the last one to close folds the write-ahead log back into the file. The store
        reconnects on next use. Call it when no other thread is using the store."""
        with self._open_lock:
            mine = [c for p, c in self._open if p == os.getpid()]
            self._open = []
            self._generation += 1
        for conn in mine:
            try:
                conn.close()
            except sqlite3.Error:
                pass
