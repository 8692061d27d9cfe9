"""The store interface (:class:`Store`) and the code every backend shares (:class:`StoreBase`).

Backends: :class:`~geo_pcmt.store.gpkg.GeoPackageStore` (one GeoPackage file, the default)
and :class:`~geo_pcmt.store.postgis.PostGISStore` (PostgreSQL/PostGIS, for scale-out).
"""
from __future__ import annotations

import functools
import gc
import json
import threading
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator, Literal, Mapping, Protocol, Sequence

import geopandas as gpd
import pandas as pd

from geo_pcmt.layers import LAYERS, Layer, get_layer

WriteMode = Literal["append", "replace", "upsert"]
BBox = tuple[float, float, float, float]  # minlon, minlat, maxlon, maxlat (EPSG:4326)

# A filter maps column → value (equality), list/tuple/set of values (IN), or
# slice(lo, hi) (inclusive range, either end may be None; ISO dates compare as text).
Where = Mapping[str, Any]


def version_key(layer: str | None) -> str:
    """The ``gp_meta`` key of a layer's data version (None: the whole store's)."""
    return "data_version" if layer is None else f"data_version:{layer}"


def rewrite_key(layer: str) -> str:
    """The ``gp_meta`` key holding the layer's data version at its last change that was
    not a plain append (update, delete, replace, new columns): counts taken at a later
    version can follow appends (GeoPackage; PostGIS logs appends in ``gp_appends``)."""
    return f"rewritten:{layer}"


def filter_key(where) -> tuple:
    """A hashable, order-free form of a ``where`` filter, for remembering counts."""
    return tuple(sorted((k, repr(sorted(v, key=repr) if isinstance(v, (set, frozenset)) else v))
                        for k, v in (where or {}).items()))


class CountMemo:
    """Counts a process remembers, each as ``(rows, layer version, …)`` (the rest is what
    the backend needs to follow appends from there); bounded, thread-safe."""

    def __init__(self, size: int = 512):
        self.size = size
        self._counts: dict[tuple, tuple] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple) -> tuple | None:
        return self._counts.get(key)

    def put(self, key: tuple, entry: tuple) -> None:
        """Remember ``entry`` unless one of a later version is there already."""
        with self._lock:
            if len(self._counts) >= self.size and key not in self._counts:
                self._counts.clear()
            old = self._counts.get(key)
            if old is None or old[1] <= entry[1]:
                self._counts[key] = entry


def versions_from_rows(rows) -> dict[str | None, int]:
    """``{layer or None: version}`` from ``(key, value)`` rows of ``gp_meta``."""
    out: dict[str | None, int] = {}
    for key, value in rows:
        if key == "data_version":
            out[None] = int(value)
        elif key.startswith("data_version:"):
            out[key.split(":", 1)[1]] = int(value)
    return out


_gc_lock = threading.Lock()
_gc_holds = 0
_gc_was_enabled = True


@contextmanager
def paused_gc() -> Iterator[None]:
    """Python's cyclic garbage collector paused while the block runs (reentrant, any thread).

    A read of a million rows makes millions of objects (rows, values, geometries) that are
    not garbage; each collection would walk them all again, which made decoding a million
    points take 4 s instead of 0,2 s. The collector runs again when the last holder leaves.
    """
    global _gc_holds, _gc_was_enabled
    with _gc_lock:
        if _gc_holds == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_holds += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_holds -= 1
            if _gc_holds == 0 and _gc_was_enabled:
                gc.enable()


def without_gc(method):
    """Decorator: the call runs inside :func:`paused_gc` (store reads that build big frames)."""
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with paused_gc():
            return method(*args, **kwargs)
    return wrapper


class StoreError(Exception):
    """A store operation that was refused; nothing was written."""


@dataclass(frozen=True)
class WriteReport:
    """What a write did. ``inserted + updated`` rows are in the store after it."""

    layer: str
    mode: str
    inserted: int
    updated: int
    deleted: int
    count_after: int

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class LayerInfo:
    """A stored layer as the API and the map see it."""

    name: str
    count: int
    bbox: BBox | None
    geometry_type: str | None
    extra: dict = field(default_factory=dict)


class Store(Protocol):
    """What every backend offers. The web layer and the CLI only talk to this."""

    #: Where the data lives, for messages (a file path, or a URL with the password hidden).
    path: Any

    #: True when a write holds the whole store, audit appends included, until it commits
    #: (SQLite: one writer per file); False when readers' audit records and other writers'
    #: rows go on beside it (PostgreSQL). Where True, a write must not run in a process
    #: that may be starved of CPU (see :mod:`geo_pcmt.ingest.pool`).
    writes_hold_the_store: bool

    def init(self, layers: Sequence[str] | None = None) -> None:
        """Create the store and every missing layer table (all layers, or ``layers``), and
        add the columns a newer schema gained to existing tables; idempotent, data kept."""
        ...

    def read(self, layer: str, *, bbox: BBox | None = None, where: Where | None = None,
             columns: Sequence[str] | None = None, limit: int | None = None,
             offset: int = 0, filter: Any = None,
             after: int | None = None) -> gpd.GeoDataFrame | pd.DataFrame:
        """Rows of ``layer`` in ``fid`` order: ``where`` (equality, lists, ranges) AND
        ``bbox`` AND ``filter``, a checked :class:`geo_pcmt.store.filters.Filter` (never
        text), AND ``fid > after`` (keyset paging). ``attrs["last_fid"]`` of the answer is
        the ``after`` of the next page (None when no row came back)."""
        ...

    def read_rows(self, layer: str, **query) -> Any:
        """The rows :meth:`read` returns for the same arguments, as plain JSON-ready values
        (:class:`geo_pcmt.store.rows.Rows`, no DataFrame)."""
        ...

    def count(self, layer: str, *, bbox: BBox | None = None, where: Where | None = None,
              filter: Any = None) -> int: ...

    def write(self, layer: str, frame: gpd.GeoDataFrame | pd.DataFrame, *,
              mode: WriteMode = "append", user: str = "system",
              expect_version: Mapping[str, Any] | None = None,
              detail: Mapping[str, Any] | None = None) -> WriteReport:
        """Write rows in one transaction with its audit record (``detail`` added to it).
        With ``expect_version`` (``{id: version}``, :mod:`geo_pcmt.store.versions`) the
        version check and the write are one transaction: a row at another version raises
        :class:`~geo_pcmt.store.versions.VersionConflict` and nothing is written."""
        ...

    def delete(self, layer: str, ids: Sequence[str], *, user: str = "system",
               expect_version: Mapping[str, Any] | None = None,
               detail: Mapping[str, Any] | None = None) -> int:
        """Delete rows by id (compare-and-set with ``expect_version``, as :meth:`write`)."""
        ...

    def layers(self) -> list[LayerInfo]:
        """Every stored layer with its count and extent."""
        ...

    def bounds(self, layer: str) -> BBox | None:
        """Extent of a layer ``(minlon, minlat, maxlon, maxlat)``, or None when it is empty
        or has no geometry."""
        ...

    def audit(self, user: str, action: str, layer: str | None = None,
              ids: Sequence[str] = (), detail: dict | None = None) -> None:
        """Append one audit record (reads of restricted layers, exports, logins …),
        committed before this returns; :class:`StoreError` if it could not be."""
        ...

    def check(self) -> str:
        """The backend's own integrity check: ``"ok"`` when sound, else the problems."""
        ...

    def data_version(self, layer: str | None = None) -> int:
        """A number that grows with every committed write or delete of data (audit records
        leave it alone); equal numbers mean the data read is the same. With ``layer``, the
        number of that layer only."""
        ...

    def data_versions(self) -> dict[str | None, int]:
        """Every data version at once, ``{layer: n}`` with ``None`` for the whole store
        (layers never written are absent: their version is 0). One query: a web request
        reads its versions with it."""
        ...

    def close(self) -> None:
        """Let go of the connections this process holds; the store reconnects on next use."""
        ...


# --- code every backend shares ----------------------------------------------------------------

def quote_ident(name: str) -> str:
    """Quote an identifier (names come from the schema, but quote them anyway)."""
    return '"' + name.replace('"', '""') + '"'


def audit_values(user: str, action: str, layer: str | None, ids: Sequence[str],
                 detail: dict) -> tuple:
    """One audit record as the row ``(id, at, user, action, layer, ids, detail)``; at most
    10 000 ids are kept."""
    from geo_pcmt.store.frames import now_iso  # (frames imports this module)
    return (uuid.uuid4().hex, now_iso(), user, action, layer,
            json.dumps(list(ids)[:10_000], ensure_ascii=False),
            json.dumps(detail, ensure_ascii=False, default=str))


def chunks(items: list, size: int) -> Iterator[list]:
    """``items`` in consecutive lists of at most ``size``."""
    for i in range(0, len(items), size):
        yield items[i:i + size]


class CollectedWrite:
    """The chunks of a :meth:`StoreBase.bulk_writer` block, written when it ends."""

    def __init__(self):
        self.chunks: list[pd.DataFrame] = []
        self.report: WriteReport | None = None

    def add(self, frame: pd.DataFrame) -> int:
        self.chunks.append(frame)
        return len(frame)


class StoreBase:
    """What the backends share: the checks before a write or delete, table bookkeeping,
    the layer listing, audit records (committed in groups, see
    :mod:`geo_pcmt.store.group_commit`) and the context-manager protocol.

    A backend sets ``path``, ``_known_tables`` (table names seen, refreshed by its
    ``_existing_tables()``) and ``_audit_group``, and implements the rest of :class:`Store`
    (``init``, ``count``, ``bounds`` and ``close`` are used here).
    """

    path: Any
    _known_tables: set[str]
    _audit_group: Any  # GroupCommit of audit rows

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _has_table(self, name: str) -> bool:
        return name in self._known_tables or name in self._existing_tables()

    @contextmanager
    def bulk_writer(self, layer: str, *, mode: str = "append", user: str = "system",
                    detail: Mapping | None = None) -> Iterator["CollectedWrite"]:
        """One write fed in chunks (``w.add(frame)``), committed when the block ends and not
        at all if it raises; ``w.report`` is the :class:`WriteReport`. This default keeps
        the chunks and makes one :meth:`write` of them at the end (PostGIS: one COPY);
        the GeoPackage store streams them (``GeoPackageStore.bulk_writer``)."""
        if mode == "upsert":
            raise StoreError("a chunked write appends or replaces; upsert with write()")
        writer = CollectedWrite()
        yield writer
        if writer.chunks:
            whole = pd.concat(writer.chunks, ignore_index=True)
            writer.report = self.write(layer, whole, mode=mode, user=user, detail=detail)
        else:
            writer.report = WriteReport(layer, mode, 0, 0, 0, self.count(layer))

    def read_rows(self, layer: str, **query) -> "Rows":
        """The rows :meth:`read` returns for the same arguments, as plain values
        (:class:`~geo_pcmt.store.rows.Rows`); this default converts ``read``'s frame, a
        backend may build them straight from its rows (``GeoPackageStore.read_rows``)."""
        from geo_pcmt.store.rows import Rows
        return Rows.from_frame(self.read(layer, **query))

    def _ensure(self, layer: Layer) -> None:
        """Create the layer's table and the audit log's if they are missing."""
        missing = [n for n in (layer.name, "audit_log") if not self._has_table(n)]
        if missing:
            self.init(missing)

    @staticmethod
    def _writable(layer: str, mode: str | None = None) -> Layer:
        """The schema of a layer that may be written (or deleted from, ``mode`` None)."""
        if mode is not None and mode not in ("append", "replace", "upsert"):
            raise StoreError(f"unknown write mode {mode!r}; use append, replace or upsert")
        spec = get_layer(layer)
        if spec.name == "audit_log":
            raise StoreError("the audit log is append-only and written by the store itself"
                             if mode is not None else "the audit log is append-only")
        return spec

    def layers(self) -> list[LayerInfo]:
        """Every stored layer with its count and extent."""
        out = []
        for name in sorted(self._existing_tables()):
            if name not in LAYERS:
                continue
            spec = LAYERS[name]
            out.append(LayerInfo(name, self.count(name), self.bounds(name), spec.geometry_type))
        return out

    def audit(self, user: str, action: str, layer: str | None = None,
              ids: Sequence[str] = (), detail: dict | None = None) -> None:
        """Append one audit record (reads of restricted layers, exports, logins …).

        Committed before this returns. Records that threads of this process add while
        another commit is under way are committed together in the next transaction (one
        flush to disk for all of them: restricted reads under load would otherwise queue
        one each); every caller still returns only once its own record is committed, and
        gets a :class:`StoreError` if that commit failed.
        """
        if not self._has_table("audit_log"):
            self.init(["audit_log"])
        try:
            self._audit_group.submit(audit_values(user, action, layer, ids, detail or {}))
        except StoreError as exc:
            raise StoreError(str(exc)) from None
        except Exception as exc:
            raise StoreError(f"store {self.path}: audit record not written: {exc!r}") from None
