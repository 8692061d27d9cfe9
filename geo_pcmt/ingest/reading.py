"""Read officers' files (CSV, XLSX, GeoJSON, GPKG, KML, GPX) as they are, refusing unsafe ones.

Nothing here judges the content (that is :mod:`geo_pcmt.ingest.validation`); this module
only guards the reading itself: size limits, zip bombs, unknown formats, unreadable files.
"""
from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from geo_pcmt.ingest import safety

DEFAULT_MAX_BYTES = 50 * 1024 * 1024  # 50 MB per upload
MAX_XLSX_UNPACKED = 200 * 1024 * 1024  # a 50 MB .xlsx never legitimately unpacks past this

SPATIAL_SUFFIXES = (".geojson", ".json", ".gpkg", ".gpx", ".shp", ".fgb")


class IngestError(Exception):
    """A file that cannot be read at all (too big, unknown format, not parseable)."""


def read_any(path: str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES,
             sheet: str | int = 0, layer: str | None = None) -> pd.DataFrame:
    """Read CSV, XLSX, GeoJSON, GPKG, KML or GPX into a frame without judging its content.

    CSV and XLSX are read as text (every cell a string) so that validation sees what the
    officer typed. Spatial formats keep their geometry and declared CRS. A GPX file gives
    its recorded tracks (:func:`read_gpx_tracks`) when it is read for a layer of lines
    (``layer``, e.g. ``patrol_tracks``) or has tracks and no waypoints; its waypoints
    otherwise.

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
            check_zip(path)
            return pd.read_excel(path, sheet_name=sheet, dtype=str, keep_default_na=False,
                                 engine="openpyxl")
        if suffix == ".kml":
            return _tidy_kml(read_spatial(path))
        if suffix == ".gpx" and _wants_tracks(path, layer):
            return read_gpx_tracks(path)
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


def _wants_tracks(path: Path, layer: str | None) -> bool:
    """Whether a GPX file is read as tracks: for a layer of lines, or when it has tracks and
    no waypoints."""
    if layer is not None:
        from geo_pcmt.layers import get_layer
        return get_layer(layer).geometry_type in ("LineString", "MultiLineString")
    counts = {str(name): pyogrio.read_info(path, layer=str(name))["features"]
              for name, _ in pyogrio.list_layers(path)}
    return counts.get("tracks", 0) != 0 and counts.get("waypoints", 0) == 0


def read_gpx_tracks(path: Path) -> gpd.GeoDataFrame:
    """The tracks of a GPX file (GDAL's ``tracks`` layer), one row each.

    Every segment of a track is joined, in order, into one ``LineString`` (a GPS loses the
    signal and starts a new segment; the walk is one). ``started_at``/``ended_at`` are the
    first and last point times (``track_points``), ``device`` the track's ``<src>``; other
    GPX fields are dropped.

    Raises
    ------
    IngestError
        No tracks, or a track with fewer than 2 points.
    """
    try:
        tracks = pyogrio.read_dataframe(path, layer="tracks", columns=["src"])
    except Exception as exc:  # e.g. a one-point segment GEOS cannot make a line of
        raise IngestError(f"cannot read the tracks of {path.name}: {exc}") from None
    if not len(tracks):
        raise IngestError(f"{path.name} has no track (<trk>)")
    points = pyogrio.read_dataframe(path, layer="track_points", read_geometry=False,
                                    columns=["track_fid", "time"])
    times = points.dropna(subset=["time"]).groupby("track_fid")["time"].agg(["min", "max"])
    lines = []
    for k, g in enumerate(tracks.geometry, start=1):
        coords = shapely.get_coordinates(g) if g is not None else np.empty((0, 2))
        if len(coords) < 2:
            raise IngestError(f"{path.name}: track {k} has fewer than 2 points")
        lines.append(shapely.LineString(coords))

    def stamp(fid: int, which: str) -> str:
        return times.at[fid, which].isoformat() if fid in times.index else ""

    fids = range(len(tracks))
    return gpd.GeoDataFrame({
        "started_at": [stamp(f, "min") for f in fids],
        "ended_at": [stamp(f, "max") for f in fids],
        "device": tracks["src"].fillna("").astype(str).to_numpy(),
    }, geometry=lines, crs=tracks.crs)


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


def check_zip(path: Path, limit: float | None = None) -> None:
    """Refuse XLSX files that are not zips or that unpack to more than ``limit`` bytes
    (default :data:`MAX_XLSX_UNPACKED`; zip bombs)."""
    limit = MAX_XLSX_UNPACKED if limit is None else limit
    try:
        with zipfile.ZipFile(path) as zf:
            unpacked = sum(i.file_size for i in zf.infolist())
    except zipfile.BadZipFile:
        raise IngestError(f"{path.name} is not a valid .xlsx file") from None
    if unpacked > limit:
        raise IngestError(f"{path.name} unpacks to {unpacked / 1e6:.0f} MB, over the limit of "
                          f"{limit / 1e6:.0f} MB (zip bomb?)")
