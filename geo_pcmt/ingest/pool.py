"""Check uploaded files (read and validate) in helper processes at a lower CPU priority,
and store them outside the server process.

Validating a file is CPU work measured in tens of milliseconds per upload; in the web
server's own threads it competes, under one GIL, with every reader's request. The service
hands it to a small pool of helper processes started with ``spawn`` and ``nice``-d (10 by
default), so that readers get the cores first and checks use what is left.

Who stores the clean rows depends on the store; either way not the server process, and
the upload request waits for the commit (a 201 means stored):

- PostGIS: the helper that checked the file stores it too (:meth:`CheckPool.load_file`). A
  PostgreSQL write holds only its own rows (and, from its last statement to its commit,
  the layer's version row), so readers and their audit records go on beside a slow one.
- GeoPackage: a writer process at the server's own priority stores it
  (:meth:`CheckPool.writer`). A SQLite write holds the whole file, audit records included,
  so it must not be starved of CPU: in a nice-d helper it was, by the very readers waiting
  for it (a priority inversion measured under load). In the server process it held the file
  while each of its R-tree trigger callbacks (five per row) waited for the server's GIL.
  In a process of its own it does neither: the load test's 10-reader round went from
  97 to 167 req/s (p99 297 to 121 ms).

Examples
--------
>>> pool = CheckPool(processes=1, nice=10)
>>> report = pool.check_file("retail_points", "upload.csv")  # doctest: +SKIP
>>> written = pool.writer("var/geo_pcmt.gpkg").write("retail_points", report.clean)  # doctest: +SKIP
"""
from __future__ import annotations

import multiprocessing as mp
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from geo_pcmt import ingest

def _start_helper(nice: int, server_pid: int) -> None:
    """In a new helper: lower its priority, leave with the server process, build the
    boundaries it validates against."""
    if nice:
        os.nice(nice)
    # the server's pid comes from the server: if it died before this helper got this far,
    # getppid() here is already another process's, and the helper leaves at once
    _leave_with(server_pid)
    from geo_pcmt.ingest import boundaries
    try:
        boundaries.communes()
        boundaries.province()
    except FileNotFoundError:  # no shipped boundaries: validation reports that per row
        pass


def _exit_with_parent(parent: int, every_s: float = 1.0) -> None:
    """End this helper once the server process that started it is gone (a gunicorn worker
    stopped or killed): its pool can no longer hand it work, and it would linger."""
    while True:
        if os.getppid() != parent:
            os._exit(0)
        time.sleep(every_s)


def _check_in_helper(layer: str, path: str, options: dict) -> ingest.ValidationReport:
    return ingest.check_file(layer, path, **options)  # looked up in the helper


_STORES: dict = {}  # in a helper: the stores it writes to, by URL (kept: pooled connections)


def _store(store_url: str):
    from geo_pcmt.store import open_store
    store = _STORES.get(store_url)
    if store is None:
        store = _STORES[store_url] = open_store(store_url)
    return store


def _load_in_helper(layer: str, path: str, options: dict, store_url: str,
                    store_options: dict) -> tuple:
    report = ingest.check_file(layer, path, **options)
    return report, ingest.store_checked(_store(store_url), report, **store_options)


def _start_writer(server_pid: int) -> None:
    """In the new writer: leave with the server process (normal priority: see module)."""
    _leave_with(server_pid)


def _leave_with(server_pid: int) -> None:
    """End this process once ``server_pid`` is gone (see :func:`_exit_with_parent`)."""
    threading.Thread(target=_exit_with_parent, args=(server_pid,), daemon=True,
                     name="exit-with-parent").start()


def _write_in_helper(store_url: str, layer: str, frame, mode: str, user: str):
    return _store(store_url).write(layer, frame, mode=mode, user=user)


class HelperStopped(RuntimeError):
    """The process storing an upload's rows stopped before it confirmed the write: the
    transaction was committed whole or not at all, and nobody can tell which from here."""


class HelperWriter:
    """A store's ``write``, run in the pool's writer process (:meth:`CheckPool.writer`):
    the same write report, the same errors."""

    def __init__(self, pool: "CheckPool", store_url: str):
        self.pool = pool
        self.store_url = store_url

    def write(self, layer: str, frame, *, mode: str = "append", user: str = "system"):
        return self.pool._call(self.pool._writer_pool(), _write_in_helper, self.store_url,
                               layer, frame, mode, user, writes=True)


class CheckPool:
    """:func:`geo_pcmt.ingest.check_file` in helper processes (started on first use, in
    each server process), and the stores' writes of what they checked (see the module).

    Parameters
    ----------
    processes : int
        Helper processes; uploads beyond that wait their turn.
    nice : int
        How much lower than the server the helpers run (``os.nice``; 0: the same).
    """

    def __init__(self, *, processes: int = 1, nice: int = 10):
        if processes < 1:
            raise ValueError("a check pool needs at least one process")
        self.processes = processes
        self.nice = nice
        self._executor: ProcessPoolExecutor | None = None  # checkers (nice-d)
        self._pid: int | None = None
        self._writer: ProcessPoolExecutor | None = None  # one writer (normal priority)
        self._writer_pid: int | None = None
        self._lock = threading.Lock()

    def _pool(self) -> ProcessPoolExecutor:
        with self._lock:
            # a gunicorn worker forked from a --preload master starts its own helpers
            if self._executor is None or self._pid != os.getpid():
                self._executor = ProcessPoolExecutor(
                    self.processes, mp_context=mp.get_context("spawn"),
                    initializer=_start_helper, initargs=(self.nice, os.getpid()))
                self._pid = os.getpid()
            return self._executor

    def start(self, *, writer: bool = False) -> None:
        """Start the helpers (and the writer, with ``writer``) now, without waiting: they
        take a few seconds to import."""
        self._pool().submit(os.getpid)
        if writer:
            self._writer_pool().submit(os.getpid)

    def check_file(self, layer: str, path: str | Path, **options) -> ingest.ValidationReport:
        """:func:`geo_pcmt.ingest.check_file` in a helper; same report, same errors."""
        return self._call(None, _check_in_helper, layer, str(path), options)

    def load_file(self, layer: str, path: str | Path, store_url: str, *,
                  keep_valid: bool = False, mode: str = "append", user: str = "system",
                  **options) -> tuple:
        """:func:`geo_pcmt.ingest.check_file` then :func:`geo_pcmt.ingest.store_checked`
        into the store at ``store_url``, both in a helper: ``(report, write report or
        None)``, and the same errors (:class:`~geo_pcmt.ingest.IngestError`,
        :class:`~geo_pcmt.store.StoreError`). Only for stores whose writes do not hold
        the whole store (``writes_hold_the_store`` False, PostGIS)."""
        return self._call(None, _load_in_helper, layer, str(path), options, store_url,
                          dict(keep_valid=keep_valid, mode=mode, user=user), writes=True)

    def writer(self, store_url: str) -> HelperWriter:
        """Something with the store's ``write`` that writes in this pool's writer process
        (one per server process, at the server's own priority; for stores whose writes
        hold the whole store, see the module)."""
        return HelperWriter(self, store_url)

    def _writer_pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._writer is None or self._writer_pid != os.getpid():
                self._writer = ProcessPoolExecutor(
                    1, mp_context=mp.get_context("spawn"),
                    initializer=_start_writer, initargs=(os.getpid(),))
                self._writer_pid = os.getpid()
            return self._writer

    def _call(self, executor: ProcessPoolExecutor | None, fn, *args, writes: bool = False):
        """``fn(*args)`` in a process of ``executor`` (default: the checkers). A process that
        dies (killed, out of memory) is replaced for the next call; this one raises
        :class:`~geo_pcmt.ingest.IngestError` when ``fn`` only reads, and
        :class:`HelperStopped` when it ``writes`` (the outcome of its write is unknown)."""
        executor = executor or self._pool()
        try:
            return executor.submit(fn, *args).result()
        except BrokenProcessPool:
            with self._lock:
                if executor is self._executor:
                    self._executor = None
                if executor is self._writer:
                    self._writer = None
            if writes:
                raise HelperStopped(
                    "the process storing the rows stopped before it confirmed the write "
                    "(killed, or out of memory): the write was committed whole or not at "
                    "all; look the ids up before sending the file again") from None
            raise ingest.IngestError("the helper process handling the file stopped before "
                                     "it finished (killed, or out of memory)") from None

    def shutdown(self) -> None:
        """Stop the helpers of this process (waiting for the uploads under way)."""
        with self._lock:
            if self._executor is not None and self._pid == os.getpid():
                self._executor.shutdown(wait=True)
            if self._writer is not None and self._writer_pid == os.getpid():
                self._writer.shutdown(wait=True)
            self._executor = self._writer = None
