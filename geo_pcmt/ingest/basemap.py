"""Load the offline base layer shipped in ``data/basemap/``: rivers and towns drawn under the map.

Reference data for the reader's orientation, not records: not stored, not analysed, public.
Provenance and licences: ``data/basemap/PROVENANCE.md`` (built by ``scripts/make_basemap.py``).
No registry package ships roads or relief at a useful scale, so there are none (the patrol
travel model keeps its own estimate).
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import geopandas as gpd

from geo_pcmt.crs import STORAGE_CRS
from geo_pcmt.paths import BASEMAP_DIR

# Keys under which :func:`geo_pcmt.outputs.map.map_frames` hands the base layer to the map.
FRAME_KEYS: tuple[str, ...] = ("basemap_rivers", "basemap_places")


@lru_cache(maxsize=4)
def _read(name: str, directory: Path) -> gpd.GeoDataFrame | None:
    path = directory / name
    if not path.is_file():  # a data folder without the base layer: the map goes without it
        return None
    return gpd.read_file(path, engine="pyogrio").to_crs(STORAGE_CRS)


def rivers(directory: Path | None = None) -> gpd.GeoDataFrame | None:
    """River lines (``level`` 1–5 of WDBII: 1 double-lined … 5 minor), or None if not shipped."""
    frame = _read("rivers.geojson", Path(directory or BASEMAP_DIR))
    return None if frame is None else frame.copy()


def places(directory: Path | None = None) -> gpd.GeoDataFrame | None:
    """Towns and villages (``name`` Vietnamese where known, ``name_en``, ``country`` VN/LA)."""
    frame = _read("places.geojson", Path(directory or BASEMAP_DIR))
    return None if frame is None else frame.copy()


def frames(directory: Path | None = None) -> dict[str, gpd.GeoDataFrame]:
    """The shipped base layer as the map takes it (``basemap_rivers``, ``basemap_places``)."""
    out = {"basemap_rivers": rivers(directory), "basemap_places": places(directory)}
    return {k: v for k, v in out.items() if v is not None and len(v)}
