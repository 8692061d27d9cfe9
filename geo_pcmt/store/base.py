"""The store interface shared by every backend (GeoPackage now, PostGIS for scale-out)."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Literal, Mapping, Protocol, Sequence

import geopandas as gpd
import pandas as pd

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

    #: True when a write holds the whole store, audit appends included, until it commits
    #: (SQLite: one writer per file); False when readers' audit records and other writers'
    #: rows go on beside it (PostgreSQL). Where True, a write must not run in a process
    #: that may be starved of CPU (see :mod:`geo_pcmt.ingest.pool`).
    writes_hold_the_store: bool

    def init(self) -> None: ...

    def read(self, layer: str, *, bbox: BBox | None = None, where: Where | None = None,
             columns: Sequence[str] | None = None, limit: int | None = None,
             offset: int = 0) -> gpd.GeoDataFrame | pd.DataFrame: ...

    def count(self, layer: str, *, bbox: BBox | None = None, where: Where | None = None) -> int: ...

    def write(self, layer: str, frame: gpd.GeoDataFrame | pd.DataFrame, *,
              mode: WriteMode = "append", user: str = "system") -> WriteReport: ...

    def delete(self, layer: str, ids: Sequence[str], *, user: str = "system") -> int: ...

    def layers(self) -> list[LayerInfo]: ...

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
