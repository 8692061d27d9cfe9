"""Read officers' files (CSV, XLSX, GeoJSON, GPKG, KML) as they are, refusing unsafe ones.

Nothing here judges the content (that is :mod:`geo_pcmt.ingest.validation`); this module
only guards the reading itself: size limits, zip bombs, unknown formats, unreadable files.
"""
from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from geo_pcmt.ingest import safety

DEFAULT_MAX_BYTES = 50 * 1024 * 1024  # 50 MB per upload
MAX_XLSX_UNPACKED = 200 * 1024 * 1024  # a 50 MB .xlsx never legitimately unpacks past this

SPATIAL_SUFFIXES = (".geojson", ".json", ".gpkg", ".gpx", ".shp", ".fgb")


class IngestError(Exception):
    """A file that cannot be read at all (too big, unknown format, not parseable)."""


def read_any(path: str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES,
             sheet: str | int = 0) -> pd.DataFrame:
    """Read CSV, XLSX, GeoJSON, GPKG or KML into a frame without judging its content.

    CSV and XLSX are read as text (every cell a string) so that validation sees what the
    officer typed. Spatial formats keep their geometry and declared CRS.

    Raises
    ------
    IngestError
        File missing, over ``max_bytes``, of an unknown type, or unreadable.
    """
    path = Path(path)
    if not path.exists():
        raise IngestError(f"file not found: {path}")
    size = path.stat().st_size
    if size > max_bytes:
        raise IngestError(f"file {path.name} is {size / 1e6:.1f} MB, over the limit of "
                          f"{max_bytes / 1e6:.1f} MB")
    suffix = path.suffix.lower()
    safety.check_upload(path)  # no links out, GDAL offline: see geo_pcmt.ingest.safety
    try:
        if suffix in (".csv", ".txt"):
            return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        if suffix in (".xlsx", ".xlsm"):
            _check_zip(path)
            return pd.read_excel(path, sheet_name=sheet, dtype=str, keep_default_na=False,
                                 engine="openpyxl")
        if suffix == ".kml":
            return _tidy_kml(read_spatial(path))
        if suffix in SPATIAL_SUFFIXES:
            return read_spatial(path)
    except IngestError:
        raise
    except Exception as exc:  # the reader's own message is what the user needs
        raise IngestError(f"cannot read {path.name}: {exc}") from None
    raise IngestError(f"unsupported file type {suffix!r}; use CSV, XLSX, GeoJSON, GPKG or KML")


def read_spatial(path: Path) -> gpd.GeoDataFrame:
    """Read a GeoJSON, GPKG, KML, GPX, Shapefile or FlatGeobuf file through GDAL (pyogrio).

    The one place GDAL opens an officer's file: checks on what GDAL may do while reading
    (remote references, network access) belong here. Errors propagate; :func:`read_any`
    turns them into :class:`IngestError`.
    """
    return pyogrio.read_dataframe(path)


_KML_STYLE_COLUMNS = ("description", "timestamp", "begin", "end", "altitudeMode", "tessellate",
                      "extrude", "visibility", "drawOrder", "icon", "id2")
_KML_DEFAULTS = (-1, 0)


def _tidy_kml(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Drop KML's own styling columns when they carry nothing; ``Name`` becomes ``name``."""
    for col in _KML_STYLE_COLUMNS:
        if col in frame.columns:
            values = frame[col]
            if values.isna().all() or values.isin(_KML_DEFAULTS).all():
                frame = frame.drop(columns=col)
    if "Name" in frame.columns and "name" not in frame.columns:
        frame = frame.rename(columns={"Name": "name"})
    return frame


def _check_zip(path: Path) -> None:
    """Refuse XLSX files that are not zips or that unpack to an absurd size (zip bombs)."""
    try:
        with zipfile.ZipFile(path) as zf:
            unpacked = sum(i.file_size for i in zf.infolist())
    except zipfile.BadZipFile:
        raise IngestError(f"{path.name} is not a valid .xlsx file") from None
    if unpacked > MAX_XLSX_UNPACKED:
        raise IngestError(f"{path.name} unpacks to {unpacked / 1e6:.0f} MB, over the limit of "
                          f"{MAX_XLSX_UNPACKED / 1e6:.0f} MB (zip bomb?)")
