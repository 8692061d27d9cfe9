"""Reading the features of a collection as the caller's role may see them, and auditing it.

Stored layers are read through :func:`geo_pcmt.access.read` (the one role-scoped reader);
the per-commune aggregates come from :func:`geo_pcmt.access.read_counts` and are filtered in
memory.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from flask import Response, current_app

from geo_pcmt import access
from geo_pcmt.store.rows import Rows
from geo_pcmt.web.context import get_store
from geo_pcmt.web.auth import actor, current_role
from geo_pcmt.web.ogcapi.answers import CachedAnswer, data_version, stamped
from geo_pcmt.web.ogcapi.query import Query
from geo_pcmt.web.openapi import Collection, collections_for
from geo_pcmt.web.security import ApiError


def find_collection(cid: str) -> Collection:
    """The collection ``cid`` if the caller may read it; 404 otherwise (same for both)."""
    c = collections_for(current_role()).get(cid)
    if c is None:
        raise ApiError(404, "not_found", f"no collection {cid[:80]!r}")
    return c


def aggregate_frame(store, c: Collection, role: str | None = None) -> gpd.GeoDataFrame:
    """The per-commune counts of an aggregate collection: :func:`geo_pcmt.access.read_counts`
    (small counts suppressed, secret records not counted, no time window), the same counts
    the viewer's map shows."""
    return access.read_counts(store, c.source, role=role)


def filter_frame(frame: pd.DataFrame, q: Query) -> pd.DataFrame:
    """Apply a query's filters to a frame in memory (the aggregates are computed, not stored)."""
    keep = np.ones(len(frame), dtype=bool)
    for column, value in q.where.items():
        col = frame[column]
        if isinstance(value, list):
            keep &= col.isin(value).fillna(False).to_numpy(dtype=bool)
        elif isinstance(value, slice):
            text = col.astype("string")
            if value.start is not None:
                keep &= (text >= value.start).fillna(False).to_numpy(dtype=bool)
            if value.stop is not None:
                keep &= (text <= value.stop).fillna(False).to_numpy(dtype=bool)
        else:
            keep &= (col == value).fillna(False).to_numpy(dtype=bool)
    if q.bbox is not None:
        keep &= shapely.intersects(frame.geometry.values, shapely.box(*q.bbox))
    return frame[keep]


@dataclass
class Page:
    """A page of features: the rows, ``numberMatched``, whether rows follow, and the keyset
    cursor of the ``next`` link (None for the aggregates, which page by offset)."""

    frame: pd.DataFrame | Rows
    matched: int
    more: bool
    after: int | None = None


def read_page(c: Collection, q: Query, role: str | None, *, rows: bool = False) -> Page:
    """A page for a query, as ``role`` may see it; with ``rows``, a stored collection's
    page is :class:`~geo_pcmt.store.rows.Rows` (plain values for GeoJSON, no DataFrame).

    One row more than the limit is read: whether it exists says if a ``next`` link is due,
    and its ``fid`` less one is that link's cursor (``after``: the rows from it on). Keyset
    pages cost the same anywhere in the layer, unlike ``offset`` (kept for the clients
    that send it, GDAL and QGIS among them). ``numberMatched`` is counted only when the
    page does not tell it (:func:`count_matches`).
    """
    store = get_store()
    if c.is_aggregate:
        if q.after is not None:
            raise ApiError(400, "invalid_parameter", "after does not apply to per-commune "
                                                     "counts; page them with offset")
        frame = filter_frame(aggregate_frame(store, c, role), q)
        stop = None if q.limit is None else q.offset + q.limit
        page = frame.iloc[q.offset:stop].reset_index(drop=True)
        return Page(page, len(frame), stop is not None and stop < len(frame))
    limit = q.limit
    frame = _read(store, c, role, rows=rows, bbox=q.bbox, where=q.where, filter=q.filter,
                  limit=None if limit is None else limit + 1, offset=q.offset, after=q.after)
    more = limit is not None and len(frame) > limit
    after = None
    if more:
        last = frame.last_fid if rows else frame.attrs.get("last_fid")
        after = None if last is None else last - 1  # the row read beyond the page comes next
        frame = frame.head(limit) if rows else frame.iloc[:limit]
    if more or q.after is not None or (q.offset > 0 and not len(frame)):
        matched = count_matches(store, c, q, role)
    else:  # the page holds the last match, no count needed
        matched = q.offset + len(frame)
    return Page(frame, matched, more, after)


def read_one(c: Collection, q: Query, role: str | None) -> pd.DataFrame:
    """The feature a query by id names (at most one row), as ``role`` may see it."""
    store = get_store()
    if c.is_aggregate:
        return filter_frame(aggregate_frame(store, c, role), q)
    return _read(store, c, role, where=q.where, limit=1)


def _read(store, c: Collection, role: str | None, rows: bool = False,
          **query) -> pd.DataFrame | Rows:
    """A stored collection through the role-scoped reader (:func:`geo_pcmt.access.read`,
    or :func:`~geo_pcmt.access.read_rows` with ``rows``): the collection's fields only.

    ``find_collection`` has already answered 404 for layers the role may not read; a
    refusal here still answers as a missing collection, never with the data.
    """
    reader = access.read_rows if rows else access.read
    try:
        return reader(store, c.id, role=role, columns=list(c.fields), **query)
    except access.AccessDenied:
        raise ApiError(404, "not_found", f"no collection {c.id[:80]!r}") from None


def count_matches(store, c: Collection, q: Query, role: str | None) -> int:
    """``numberMatched``, remembered for ``API_COUNT_CACHE_S`` seconds per filter.

    A client paging through a layer (QGIS, ogr2ogr) repeats the same filter with a new
    offset on every page; counting 100k rows each time would cost more than the page.
    The key holds the role's row filter, so a count never crosses roles. The price: after
    a write by another worker the count can lag by up to that many seconds (writes in this
    worker clear it at once, see :func:`forget_counts`).
    """
    ttl = current_app.config.get("API_COUNT_CACHE_S", 0)
    if ttl <= 0:
        return _count(store, c, q, role)
    # the data version in the key: a count never outlives a write, even another worker's
    key = (c.id, q.bbox, tuple(sorted((k, repr(v)) for k, v in q.where.items())),
           None if q.filter is None else q.filter.key(), data_version(store, c.id))
    cache = current_app.extensions.setdefault("geo_pcmt_counts", {})
    now = time.monotonic()
    hit = cache.get(key)
    if hit is not None and hit[1] > now:
        return hit[0]
    n = _count(store, c, q, role)
    if len(cache) > 1024:
        cache.clear()
    cache[key] = (n, now + ttl)
    return n


def _count(store, c: Collection, q: Query, role: str | None) -> int:
    """The count through the role-scoped counter (``q.where`` holds the row scope already;
    merging it again changes nothing)."""
    try:
        return access.count(store, c.id, role=role, bbox=q.bbox, where=q.where,
                            filter=q.filter)
    except access.AccessDenied:
        raise ApiError(404, "not_found", f"no collection {c.id[:80]!r}") from None


def forget_counts() -> None:
    """Drop remembered counts (after this worker wrote to the store)."""
    current_app.extensions.get("geo_pcmt_counts", {}).clear()


def audit_read(c: Collection, frame: pd.DataFrame, q: Query, action: str = "read",
               extra: dict | None = None) -> Callable[[], None]:
    """Record a read of restricted data (who, what, which ids, which filter).

    The record is written on a helper thread while the caller serialises the answer (the
    commit's fsync is the slowest step of a restricted read); the returned function waits
    for it and re-raises its error, and must be called before any data is sent, so no
    restricted row ever leaves without its audit record.
    """
    return submit_audit(c, audited_ids(c, frame), q, len(frame), action, extra)


def audited_ids(c: Collection, frame: pd.DataFrame | Rows) -> list[str] | None:
    """The ids a read must record, or None when the read is not of restricted data."""
    if c.is_aggregate or not access.is_restricted_read(c.layer, frame):
        return None
    if "id" not in frame.columns:
        return []
    if isinstance(frame, Rows):
        return [str(v) for v in frame.column("id")]
    return frame["id"].astype(str).tolist()


def submit_audit(c: Collection, ids: list[str] | None, q: Query, returned: int,
                  action: str = "read", extra: dict | None = None) -> Callable[[], None]:
    if ids is None:
        return lambda: None
    detail = {"role": current_role(), "query": q.describe(), "returned": returned,
              **(extra or {})}
    pool = current_app.extensions["geo_pcmt_audit_pool"]
    future = pool.submit(get_store().audit, actor(), action, c.id, ids, detail)
    return lambda: future.result(timeout=60)



def read_layers(c: Collection) -> tuple[str, ...]:
    """The stored layers an items or item answer of ``c`` is made from."""
    return (c.source, "communes") if c.is_aggregate else (c.id,)



def serve(c: Collection | None, q: Query | None, answer: CachedAnswer) -> Response:
    """Answer from a cached body; a restricted read is audited again, before sending."""
    if c is not None and answer.audit_ids is not None:
        submit_audit(c, answer.audit_ids, q, answer.returned)()
    return Response(stamped(answer.body), mimetype=answer.mimetype)

