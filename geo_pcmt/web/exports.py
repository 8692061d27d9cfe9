"""Downloads: ``/export/<collection>.geojson|.gpkg|.csv|.xlsx`` with the items' filters.

The same collections, roles, fields and filters as the OGC API items (``bbox``,
``datetime``, property equality, optional ``limit``/``offset``; no default limit). The
matching ids are read first, written to the audit log with the filter, and the rows then
streamed in chunks of those ids, so memory stays flat on 100k-row layers and the audit
names exactly what left. The formats are those of :mod:`geo_pcmt.outputs.formats` (the
same writers as ``geo-pcmt export``): GeoJSON and CSV stream as they are produced; GPKG and
XLSX are containers that must be finished before the first byte can be sent, so they are
built in a temporary file, streamed, then deleted. A format that cannot hold the rows whole
(an XLSX cell over 32,767 characters, a sheet over 1,048,575 rows) is refused with its
reason, never cut.
"""
from __future__ import annotations

import os
import shutil
from dataclasses import replace
import tempfile
from typing import Iterable, Iterator

import pandas as pd
from flask import Blueprint, Response, request

from geo_pcmt import access
from geo_pcmt.outputs.formats import ExportRefused, Format, Table, extensions_listing, get_format
from geo_pcmt.web.openapi import Collection
from geo_pcmt.web.context import get_store
from geo_pcmt.web.auth import actor, current_role
from geo_pcmt.web.ogcapi import filter_frame, aggregate_frame, find_collection, parse_query
from geo_pcmt.web.security import ApiError

bp = Blueprint("exports", __name__, url_prefix="/export")

CHUNK_ROWS = 2000


def _chunks(store, c: Collection, ids: list[str], role: str | None) -> Iterator[pd.DataFrame]:
    """The rows of ``ids`` in order, ``CHUNK_ROWS`` at a time, read as ``role`` may see them;
    with no ids one empty frame (it gives an empty GeoPackage its columns).

    Runs while the response streams, outside the request: everything comes as arguments.
    """
    if not ids:
        yield access.read(store, c.id, role=role, columns=list(c.fields), limit=0)
    for start in range(0, len(ids), CHUNK_ROWS):
        yield access.read(store, c.id, role=role, where={"id": ids[start:start + CHUNK_ROWS]},
                          columns=list(c.fields))


def _selection(store, c: Collection, q, role: str | None
               ) -> tuple[list[str], Iterable, str]:
    """The ids that match the query, the rows as frames (read later, while streaming), and
    the highest confidentiality among them (the file's classification, known before the
    first byte is sent)."""
    if c.is_aggregate:
        frame = filter_frame(aggregate_frame(store, c, role), q)
        stop = None if q.limit is None else q.offset + q.limit
        frame = frame.iloc[q.offset:stop]
        return frame["id"].tolist(), [frame], "public"
    columns = ["id"] + (["confidentiality"] if "confidentiality" in c.fields else [])
    head = access.read(store, c.id, role=role, bbox=q.bbox, where=q.where, columns=columns,
                       limit=q.limit, offset=q.offset, filter=q.filter)
    level = access.frames_marking([head])[1]
    ids = head["id"].astype(str).tolist()
    return ids, _chunks(store, c, ids, role), level


def _disposition(c: Collection, fmt: Format, level: str) -> str:
    """``attachment`` with the file name, marked (``-MAT``, ``-TOI-MAT``) when restricted:
    the mark a CSV file cannot carry inside without confusing the tools that read it."""
    from urllib.parse import quote
    if level == "public":
        return f'attachment; filename="{c.id}.{fmt.extension}"'
    mark = access.MARKINGS[level][0]
    ascii_mark = {"restricted": "MAT", "secret": "TOI-MAT"}[level]
    return (f'attachment; filename="{c.id}-{ascii_mark}.{fmt.extension}"; '
            f"filename*=UTF-8''{quote(f'{c.id}-{mark}.{fmt.extension}'.replace(' ', '-'))}")


def _refused(exc: ExportRefused) -> ApiError:
    return ApiError(exc.http_status, exc.code, str(exc))


def _stream_file(path: str, workdir: str) -> Iterator[bytes]:
    try:
        with open(path, "rb") as fh:
            while block := fh.read(1 << 20):
                yield block
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _built_file(fmt: Format, table: Table, chunks: Iterable) -> tuple[str, str]:
    """Write a container format whole in a temporary folder: (path, folder)."""
    workdir = tempfile.mkdtemp(prefix="geo_pcmt_export_")
    try:
        path = str(fmt.write(table, chunks, os.path.join(workdir, f"export.{fmt.extension}")))
    except ExportRefused as exc:
        shutil.rmtree(workdir, ignore_errors=True)
        raise _refused(exc) from None
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    return path, workdir


@bp.get("/<name>")
def export(name: str):
    """Download a collection as ``.geojson``, ``.gpkg``, ``.csv`` or ``.xlsx``."""
    layer, _, ext = name.rpartition(".")
    try:
        fmt = get_format(ext) if layer and ext else None
    except ValueError:
        fmt = None
    if fmt is None or ext != fmt.extension:
        raise ApiError(404, "unknown_format", f"export as <collection>{extensions_listing()}")
    c = find_collection(layer)
    role = current_role()
    q = parse_query(request.args, c, role, paged=False)
    store = get_store()
    ids, chunks, level = _selection(store, c, q, role)
    table = replace(Table.of_layer(c.layer, c.fields, name=c.id), classification=level)
    try:
        fmt.refuse_rows(table, len(ids))
    except ExportRefused as exc:
        raise _refused(exc) from None
    headers = {"Content-Disposition": _disposition(c, fmt, level),
               "X-Classification": level}
    workdir = None
    if fmt.streams:
        body = fmt.stream(table, chunks)
    else:  # built before the audit: a refused file never left
        path, workdir = _built_file(fmt, table, chunks)
        headers["Content-Length"] = str(os.path.getsize(path))
        body = _stream_file(path, workdir)
    restricted = not c.is_aggregate and access.is_restricted_read(c.layer)
    try:
        store.audit(actor(), "export", c.id, ids if restricted else [],
                    {"format": fmt.name, "role": role, "rows": len(ids),
                     "query": q.describe()})
    except BaseException:
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)
        raise
    return Response(body, content_type=fmt.media_type, headers=headers,
                    direct_passthrough=not fmt.streams)


__all__ = ["bp"]
