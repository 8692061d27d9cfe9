"""Run uploads' ingest (read, validate, store) in helper processes at a lower CPU priority.

Validating a file is CPU work measured in tens of milliseconds per upload; in the web
server's own threads it competes, under one GIL, with every reader's request. The service
hands it to a small pool of helper processes started with ``spawn`` and ``nice``-d (10 by
default), so that readers get the cores first and uploads use what is left. The upload
request still waits for the write to commit: a 201 means stored, as before.

Each helper opens the store from its URL once and keeps it (its own connections; writers
of a GeoPackage take turns across processes, see :meth:`GeoPackageStore._one_writer`).

Examples
--------
>>> pool = IngestPool("var/geo_pcmt.gpkg", processes=1, nice=10)
>>> report, written = pool.load("retail_points", "upload.csv", user="admin")
"""
from __future__ import annotations

import multiprocessing as mp
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from . import ingest

_STORES: dict[str, Any] = {}  # in a helper: the store of each URL it was given


def _start_helper(nice: int) -> None:
    """In a new helper: lower its priority, build the boundaries it validates against."""
    if nice:
        os.nice(nice)
    from . import boundaries
    try:
        boundaries.communes()
        boundaries.province()
    except FileNotFoundError:  # no shipped boundaries: validation reports that per row
        pass


def _load_in_helper(store_url: str, layer: str, path: str, options: dict):
    from .store import open_store
    store = _STORES.get(store_url)
    if store is None:
        store = _STORES[store_url] = open_store(store_url)
    return ingest.load(store, layer, path, **options)


class IngestPool:
    """:func:`geo_pcmt.ingest.load` in helper processes (started on first use, per process).

    Parameters
    ----------
    store_url : str
        The store the helpers write to (GeoPackage path or ``postgresql://`` URL).
    processes : int
        Helper processes; uploads beyond that wait their turn.
    nice : int
        How much lower than the server the helpers run (``os.nice``; 0: the same).
    """

    def __init__(self, store_url: str, *, processes: int = 1, nice: int = 10):
        if processes < 1:
            raise ValueError("an ingest pool needs at least one process")
        self.store_url = str(store_url)
        self.processes = processes
        self.nice = nice
        self._executor: ProcessPoolExecutor | None = None
        self._pid: int | None = None
        self._lock = threading.Lock()

    def _pool(self) -> ProcessPoolExecutor:
        with self._lock:
            # a gunicorn worker forked from a --preload master starts its own helpers
            if self._executor is None or self._pid != os.getpid():
                self._executor = ProcessPoolExecutor(
                    self.processes, mp_context=mp.get_context("spawn"),
                    initializer=_start_helper, initargs=(self.nice,))
                self._pid = os.getpid()
            return self._executor

    def start(self) -> None:
        """Start the helpers now (they take a few seconds to import) without waiting."""
        self._pool().submit(os.getpid)

    def load(self, layer: str, path: str | Path, **options):
        """:func:`geo_pcmt.ingest.load` on the pool's store; same result, same errors."""
        try:
            return self._pool().submit(_load_in_helper, self.store_url, layer, str(path),
                                       options).result()
        except BrokenProcessPool:  # a helper died (killed, out of memory): start afresh
            with self._lock:
                self._executor = None
            from .store import StoreError
            raise StoreError("the upload helper stopped before it finished; nothing was "
                             "acknowledged, send the file again") from None

    def shutdown(self) -> None:
        """Stop the helpers of this process (waiting for the uploads under way)."""
        with self._lock:
            if self._executor is not None and self._pid == os.getpid():
                self._executor.shutdown(wait=True)
            self._executor = None
