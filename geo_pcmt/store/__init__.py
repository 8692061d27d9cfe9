"""Stores: one interface (:class:`Store`), several backends (GeoPackage default, PostGIS)."""
from __future__ import annotations

import os

from geo_pcmt.store.base import BBox, LayerInfo, Store, StoreError, Where, WriteMode, WriteReport
from geo_pcmt.store.gpkg import GeoPackageStore

__all__ = ["BBox", "GeoPackageStore", "LayerInfo", "Store", "StoreError", "Where", "WriteMode",
           "WriteReport", "open_store"]


def open_store(url: str | os.PathLike | None = None) -> Store:
    """The store named by ``url``: a ``.gpkg`` path (default ``var/geo_pcmt.gpkg``) or a
    ``postgresql://`` URL once the PostGIS backend is installed."""
    from geo_pcmt.paths import default_store_path
    target = str(url) if url else str(default_store_path())
    if target.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        try:
            from geo_pcmt.store.postgis import PostGISStore
        except ImportError as exc:
            raise StoreError(f"PostGIS backend unavailable: {exc}") from None
        return PostGISStore(target)
    return GeoPackageStore(target)
