"""Downloads: ``/export/<collection>.geojson|.gpkg|.csv|.xlsx`` with the items' filters.

The same collections, roles, fields and filters as the OGC API items (``bbox``,
``datetime``, property equality, optional ``limit``/``offset``; no default limit). The
matching ids are read first, written to the audit log with the filter, and the rows then
streamed in chunks of those ids, so memory stays flat on 100k-row layers and the audit
names exactly what left. GeoJSON and CSV stream as they are produced; GPKG and XLSX are
containers that must be finished before the first byte can be sent, so they are built in a
temporary file, streamed, then deleted.

CSV and XLSX cells that begin like a spreadsheet formula (``= + - @``) are written as text
(CSV: prefixed with an apostrophe) so that a hostile record cannot run a formula in Excel.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from typing import Iterable, Iterator

import numpy as np
import pandas as pd
import pyogrio
import shapely
from flask import Blueprint, Response, request

from geo_pcmt import access
from geo_pcmt.outputs.export import DEFAULT_PRECISION, iter_geojson
from geo_pcmt.web.openapi import Collection
from geo_pcmt.web.context import get_store
from geo_pcmt.web.auth import actor, current_role
from geo_pcmt.web.ogcapi import filter_frame, aggregate_frame, find_collection, parse_query
from geo_pcmt.web.security import ApiError

bp = Blueprint("exports", __name__, url_prefix="/export")

FORMATS = {"geojson": "application/geo+json",
           "gpkg": "application/geopackage+sqlite3",
           "csv": "text/csv; charset=utf-8",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
CHUNK_ROWS = 2000
XLSX_MAX_ROWS = 1_048_575  # Excel's sheet limit, less the header
_GDAL_GEOMETRY = {"Point": "Point", "MultiPolygon": "MultiPolygon", "LineString": "LineString",
                  "MultiLineString": "MultiLineString", "Geometry": "Unknown"}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _chunks(store, c: Collection, ids: list[str], role: str | None) -> Iterator[pd.DataFrame]:
    """The rows of ``ids`` in order, ``CHUNK_ROWS`` at a time, role filter applied again.

    Runs while the response streams, outside the request: everything comes as arguments.
    """
    rf = access.row_filter_for(role, c.layer)
    for start in range(0, len(ids), CHUNK_ROWS):
        where = dict(rf, id=ids[start:start + CHUNK_ROWS])
        yield store.read(c.id, where=where, columns=list(c.fields))


def _flat(c: Collection, frame: pd.DataFrame) -> pd.DataFrame:
    """Geometry as lon/lat (point layers) or WKT, chosen by the schema so every chunk of
    one file has the same columns."""
    if not c.layer.has_geometry:
        return pd.DataFrame(frame)
    geoms = frame.geometry.values
    out = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    if c.layer.geometry_type == "Point":
        out["lon"] = np.round(shapely.get_x(geoms), DEFAULT_PRECISION)
        out["lat"] = np.round(shapely.get_y(geoms), DEFAULT_PRECISION)
    else:
        out["wkt"] = shapely.to_wkt(geoms, rounding_precision=DEFAULT_PRECISION)
    return out


def _flat_columns(c: Collection) -> list[str]:
    """The columns :func:`_flat` gives, for files with no rows."""
    geo = [] if not c.layer.has_geometry else (["lon", "lat"] if c.layer.geometry_type == "Point"
                                               else ["wkt"])
    return list(c.fields) + geo


def _defuse(value):
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _geojson(chunks: Iterable[pd.DataFrame]) -> Iterator[str]:
    yield '{"type": "FeatureCollection", "features": ['
    first = True
    for frame in chunks:
        # iter_geojson yields head, feature runs (", "-prefixed after the first), tail
        for part in list(iter_geojson(frame))[1:-1]:
            part = part[2:] if part.startswith(", ") else part
            if part:
                yield ("" if first else ", ") + part
                first = False
    yield "]}"


def _csv(c: Collection, chunks: Iterable[pd.DataFrame]) -> Iterator[str]:
    first = True
    for frame in chunks:
        flat = _flat(c, frame)
        for col in flat.columns:
            if flat[col].dtype == object:
                flat[col] = flat[col].map(_defuse)
        text = flat.to_csv(index=False, header=first)
        yield ("\ufeff" + text) if first else text  # BOM: Excel then shows the diacritics
        first = False
    if first:  # no rows: still a header
        yield "\ufeff" + ",".join(_flat_columns(c)) + "\n"


def _stream_file(path: str, workdir: str) -> Iterator[bytes]:
    try:
        with open(path, "rb") as fh:
            while block := fh.read(1 << 20):
                yield block
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _gpkg(c: Collection, chunks: Iterable[pd.DataFrame], workdir: str) -> str:
    path = os.path.join(workdir, "export.gpkg")
    kwargs = {"geometry_type": _GDAL_GEOMETRY[c.layer.geometry_type]} if c.layer.has_geometry else {}
    wrote = False
    for frame in chunks:
        if not len(frame):
            continue
        pyogrio.write_dataframe(frame, path, layer=c.id, driver="GPKG", append=wrote, **kwargs)
        wrote = True
    if not wrote:  # an empty layer is still a valid GeoPackage with the layer's columns
        empty = get_store().read(c.id, columns=list(c.fields), limit=0) if not c.is_aggregate \
            else aggregate_frame(get_store(), c).iloc[0:0]
        pyogrio.write_dataframe(empty, path, layer=c.id, driver="GPKG", **kwargs)
    return path


def _xlsx(c: Collection, chunks: Iterable[pd.DataFrame], workdir: str) -> str:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    path = os.path.join(workdir, "export.xlsx")
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(c.id[:31])
    header = None
    for frame in chunks:
        flat = _flat(c, frame)
        if header is None:
            header = list(flat.columns)
            ws.append(header)
        for row in flat.itertuples(index=False, name=None):
            cells = []
            for v in row:
                if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
                    cells.append(None)
                    continue
                v = v.item() if isinstance(v, np.generic) else v
                cell = WriteOnlyCell(ws, value=v)
                if isinstance(v, str):
                    cell.data_type = "s"  # never a formula, whatever the text starts with
                cells.append(cell)
            ws.append(cells)
    if header is None:
        ws.append(_flat_columns(c))
    wb.save(path)
    return path


@bp.get("/<name>")
def export(name: str):
    """Download a collection as ``.geojson``, ``.gpkg``, ``.csv`` or ``.xlsx``."""
    layer, _, fmt = name.rpartition(".")
    if not layer or fmt not in FORMATS:
        raise ApiError(404, "unknown_format", "export as <collection>.geojson, .gpkg, .csv or "
                                              ".xlsx")
    c = find_collection(layer)
    role = current_role()
    q = parse_query(request.args, c, role, paged=False)
    store = get_store()
    if c.is_aggregate:
        frame = filter_frame(aggregate_frame(store, c), q)
        stop = None if q.limit is None else q.offset + q.limit
        frame = frame.iloc[q.offset:stop]
        ids = frame["id"].tolist()
        chunks: Iterable[pd.DataFrame] = [frame]
    else:
        ids = store.read(c.id, bbox=q.bbox, where=q.where, columns=["id"], limit=q.limit,
                         offset=q.offset)["id"].astype(str).tolist()
        chunks = _chunks(store, c, ids, role)
    if fmt == "xlsx" and len(ids) > XLSX_MAX_ROWS:
        raise ApiError(400, "too_many_rows", f"{len(ids)} rows do not fit in one Excel sheet "
                                             f"({XLSX_MAX_ROWS}); use .csv or .gpkg, or filter")
    restricted = not c.is_aggregate and access.is_restricted_read(c.layer)
    store.audit(actor(), "export", c.id, ids if restricted else [],
                {"format": fmt, "role": role, "rows": len(ids), "query": q.describe()})
    headers = {"Content-Disposition": f'attachment; filename="{c.id}.{fmt}"'}
    if fmt == "geojson":
        return Response(_geojson(chunks), mimetype=FORMATS[fmt], headers=headers)
    if fmt == "csv":
        return Response(_csv(c, chunks), content_type=FORMATS[fmt], headers=headers)
    workdir = tempfile.mkdtemp(prefix="geo_pcmt_export_")
    try:
        path = (_gpkg if fmt == "gpkg" else _xlsx)(c, chunks, workdir)
        headers["Content-Length"] = str(os.path.getsize(path))
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    return Response(_stream_file(path, workdir), content_type=FORMATS[fmt], headers=headers,
                    direct_passthrough=True)


__all__ = ["bp", "FORMATS"]
