"""The store interface shared by every backend (GeoPackage now, PostGIS for scale-out)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Mapping, Protocol, Sequence

import geopandas as gpd
import pandas as pd

WriteMode = Literal["append", "replace", "upsert"]
BBox = tuple[float, float, float, float]  # minlon, minlat, maxlon, maxlat (EPSG:4326)

# A filter maps column → value (equality), list/tuple/set of values (IN), or
# slice(lo, hi) (inclusive range, either end may be None; ISO dates compare as text).
Where = Mapping[str, Any]


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

    def close(self) -> None:
        """Let go of the connections this process holds; the store reconnects on next use."""
        ...
