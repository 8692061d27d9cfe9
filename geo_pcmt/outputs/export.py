"""Export a frame to a file: the names older code imports, served by :mod:`.formats`.

The formats themselves (GeoJSON, GeoPackage, CSV, XLSX) are defined once in
:mod:`geo_pcmt.outputs.formats`; GeoJSON text in :mod:`.geojson`; CSV and XLSX, with their
formula defusing and cell limits, in :mod:`.spreadsheet`.
"""
from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import pandas as pd

from geo_pcmt.outputs.formats import FORMATS, export_frame, text_writer, write_file
from geo_pcmt.outputs.geojson import (
    DEFAULT_PRECISION, clean_value, iter_feature_collection, iter_geojson, rfc7946_geometries,
    to_geojson,
)
from geo_pcmt.outputs.spreadsheet import iter_csv, write_xlsx
from geo_pcmt.outputs.table import Table

_clean = clean_value  # the name ogcapi and patrol import


def write_geojson(frame: pd.DataFrame, path: str | Path, **kwargs) -> Path:
    """Write an RFC 7946 GeoJSON file atomically (temp file, then rename); ``kwargs`` as
    for :func:`iter_geojson`."""
    fmt = FORMATS["geojson"]
    if kwargs:
        fmt = replace(fmt, write=text_writer(
            lambda table, frames: iter_feature_collection(frames, **kwargs)))
    return write_file(fmt, Table.of_frame(frame, Path(path).stem), [frame], path)


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    """CSV (UTF-8 with BOM so Excel shows the diacritics) with lon/lat or WKT geometry;
    text that would start a formula is defused."""
    return "".join(iter_csv(Table.of_frame(frame, "data"), [frame])).encode("utf-8")


def to_xlsx_bytes(frame: pd.DataFrame, sheet: str = "data") -> bytes:
    """An Excel workbook of the layer (geometry as lon/lat or WKT; text as text cells).

    Raises :class:`~geo_pcmt.outputs.table.CellTooLong` rather than cut a long cell.
    """
    buf = io.BytesIO()
    write_xlsx(Table.of_frame(frame, sheet), [frame], buf)
    return buf.getvalue()


def write_gpkg(frame: pd.DataFrame, path: str | Path, layer: str) -> Path:
    """Write one layer to a new GeoPackage file (replacing the file atomically)."""
    return export_frame(frame, path, layer, "gpkg")


def export_layer(frame: pd.DataFrame, path: str | Path, layer: str, fmt: str | None = None) -> Path:
    """Write ``frame`` to ``path`` in ``fmt`` (geojson, gpkg, csv, xlsx; default from suffix)."""
    return export_frame(frame, path, layer, fmt)


__all__ = ["DEFAULT_PRECISION", "export_layer", "iter_geojson", "rfc7946_geometries",
           "to_csv_bytes", "to_geojson", "to_xlsx_bytes", "write_geojson", "write_gpkg"]
