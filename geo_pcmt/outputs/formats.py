"""The export formats, each defined once: name, extension, media type and writer.

The ``geo-pcmt export`` command and the web's ``/export/<layer>.<format>`` both take a
:class:`Format` from :data:`FORMATS`; a new format is one more entry here.

========  ==========================================  =========================================
format    file                                        notes
========  ==========================================  =========================================
geojson   RFC 7946 FeatureCollection                  streamed; lon/lat, right-hand rule;
                                                      a ``classification`` member
gpkg      GeoPackage, one layer                       built whole, then sent
csv       UTF-8 with BOM, lon/lat or WKT columns      streamed; formulas defused
xlsx      one sheet, lon/lat or WKT columns           built whole; text cells; refuses cells
                                                      over 32,767 characters and rows over
                                                      1,048,575 rather than cut them
========  ==========================================  =========================================

Every file carries the classification of its rows (:attr:`Table.classification`, from
:func:`geo_pcmt.access.marking`): the GeoJSON as a top-level ``classification`` member
(a foreign member, RFC 7946 §6.1), the XLSX in its sheet name, its printed page header and
its document properties; row 1 stays the column names so tools read the file unchanged.
Downloads of restricted rows also carry the mark in the file name (``…-MAT.csv``).

Every writer takes a :class:`~geo_pcmt.outputs.table.Table` (the columns every chunk has)
and the rows as an iterable of frames, so a 100k-row layer can be written chunk by chunk.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterable, Iterator

import pandas as pd
import pyogrio

from geo_pcmt.access import MARKINGS, frames_marking
from geo_pcmt.layers import LAYERS
from geo_pcmt.outputs.geojson import iter_feature_collection
from geo_pcmt.outputs.spreadsheet import check_xlsx_rows, iter_csv, write_xlsx
from geo_pcmt.outputs.table import ExportRefused, Table

Frames = Iterable[pd.DataFrame]
_GDAL_GEOMETRY = {"Point": "Point", "MultiPolygon": "MultiPolygon", "LineString": "LineString",
                  "MultiLineString": "MultiLineString", "Geometry": "Unknown"}


def _iter_geojson(table: Table, frames: Frames) -> Iterator[str]:
    # RFC 7946 §6.1 allows foreign members: the file says how it must be handled
    mark = MARKINGS[table.classification]
    return iter_feature_collection(frames, extra={"classification": {
        "level": table.classification, "mark": mark[0], "mark_en": mark[1]}})


def write_gpkg(table: Table, frames: Frames, path: str | Path) -> Path:
    """Write the rows of ``frames`` as layer ``table.name`` of a new GeoPackage at ``path``.

    Empty frames add no rows; if every frame is empty the first still gives the (empty)
    layer its columns, so an empty result is a valid GeoPackage.
    """
    kwargs = ({"geometry_type": _GDAL_GEOMETRY.get(table.geometry_type, "Unknown")}
              if table.geometry_type else {})
    wrote, template = False, None
    for frame in frames:
        if not len(frame):
            template = frame if template is None else template
            continue
        pyogrio.write_dataframe(frame, path, layer=table.name, driver="GPKG", append=wrote,
                                **kwargs)
        wrote = True
    if not wrote:
        if template is None:
            raise ValueError(f"no frame to take the columns of {table.name!r} from; pass an "
                             "empty frame for an empty export")
        pyogrio.write_dataframe(template, path, layer=table.name, driver="GPKG", **kwargs)
    return Path(path)


def text_writer(stream: Callable[[Table, Frames], Iterator[str]]):
    """A file writer for a format that streams text (UTF-8)."""
    def write(table: Table, frames: Frames, path: str | Path) -> Path:
        with open(path, "w", encoding="utf-8", newline="") as fh:
            for chunk in stream(table, frames):
                fh.write(chunk)
        return Path(path)
    return write


@dataclass(frozen=True)
class Format:
    """One export format.

    Attributes
    ----------
    name, extension, media_type : str
        As in ``--format NAME``, ``/export/<layer>.<extension>`` and ``Content-Type``.
    write : callable
        ``write(table, frames, path)`` writes a new file at ``path``.
    stream : callable or None
        ``stream(table, frames)`` yields the file as text while rows are read, for formats
        that can be sent before they are finished; ``None`` for containers.
    check_rows : callable or None
        ``check_rows(table, n)`` raises :class:`ExportRefused` if ``n`` rows do not fit.
    """

    name: str
    extension: str
    media_type: str
    write: Callable[[Table, Frames, Path], Path]
    stream: Callable[[Table, Frames], Iterator[str]] | None = None
    check_rows: Callable[[Table, int], None] | None = None

    @property
    def streams(self) -> bool:
        return self.stream is not None

    def refuse_rows(self, table: Table, rows: int) -> None:
        """Raise :class:`ExportRefused` if ``rows`` rows do not fit in one file."""
        if self.check_rows is not None:
            self.check_rows(table, rows)


FORMATS: dict[str, Format] = {f.name: f for f in (
    Format("geojson", "geojson", "application/geo+json", text_writer(_iter_geojson),
           stream=_iter_geojson),
    Format("gpkg", "gpkg", "application/geopackage+sqlite3", write_gpkg),
    Format("csv", "csv", "text/csv; charset=utf-8", text_writer(iter_csv), stream=iter_csv),
    Format("xlsx", "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
           write_xlsx, check_rows=check_xlsx_rows),
)}
_ALIASES = {"json": "geojson"}


def format_names() -> list[str]:
    """The format names, in registry order (``geojson``, ``gpkg``, ``csv``, ``xlsx``)."""
    return list(FORMATS)


def get_format(name: str) -> Format:
    """The format named ``name`` (or with that file extension); ``ValueError`` if none."""
    key = _ALIASES.get(name.lower(), name.lower())
    for fmt in FORMATS.values():
        if key in (fmt.name, fmt.extension):
            return fmt
    raise ValueError(f"unknown export format {name!r}; use {_listing(FORMATS)}")


def _listing(names: Iterable[str], prefix: str = "") -> str:
    names = [prefix + n for n in names]
    return ", ".join(names[:-1]) + " or " + names[-1]


def extensions_listing() -> str:
    """``.geojson, .gpkg, .csv or .xlsx``: the extensions, for messages."""
    return _listing((f.extension for f in FORMATS.values()), ".")


def write_file(fmt: Format | str, table: Table, frames: Frames, path: str | Path) -> Path:
    """Write ``frames`` to ``path`` in ``fmt`` atomically: a temporary file, then a rename,
    so a reader never sees half a file and a refused export leaves nothing behind.

    Raises
    ------
    ExportRefused
        If the format cannot hold the rows whole (the file is then not written).
    """
    fmt = get_format(fmt) if isinstance(fmt, str) else fmt
    path = Path(path)
    tmp = path.with_name(f"{path.stem}.tmp{path.suffix}")  # GDAL wants the right suffix
    tmp.unlink(missing_ok=True)
    try:
        fmt.write(table, frames, tmp)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def export_frame(frame: pd.DataFrame, path: str | Path, layer: str,
                 fmt: str | None = None) -> Path:
    """Write ``frame`` to ``path`` as ``fmt`` (default from the suffix).

    With ``layer`` a schema layer the columns follow its geometry type; otherwise the
    frame's own (see :meth:`Table.of_frame`).
    """
    path = Path(path)
    fmt_ = get_format(fmt or path.suffix.lstrip("."))
    table = replace(Table.of_frame(frame, layer), classification=frames_marking([frame])[1])
    spec = LAYERS.get(layer)
    if spec is not None and table.geometry_type is not None:
        # the schema decides lon/lat or WKT, as for every other export of the layer
        table = replace(table, geometry_type=spec.geometry_type)
    fmt_.refuse_rows(table, len(frame))
    return write_file(fmt_, table, [frame], path)


__all__ = ["FORMATS", "ExportRefused", "Format", "Table", "export_frame", "extensions_listing",
           "format_names", "get_format", "text_writer", "write_file", "write_gpkg"]
