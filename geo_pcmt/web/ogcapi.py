"""OGC API – Features Part 1 (Core, GeoJSON, HTML, OpenAPI 3.0) under ``/api``.

Every layer the caller's role may read is a collection (:func:`geo_pcmt.web.openapi.collections_for`),
plus, for signed-in users, the per-commune aggregates of the intelligence layers. Items take
``bbox``, ``limit`` (default and maximum from the configuration; larger values are served
as the maximum, as the standard asks), ``offset``, ``datetime`` (instants and intervals on the
layer's time field) and one equality filter per visible property; unknown parameters are a
400 so that a typo never silently returns everything. Collections and features a role may
not read answer exactly as ones that do not exist (404), so their existence does not leak.
"""
from __future__ import annotations

import hashlib
import json
import math
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from functools import cached_property
from typing import Callable
from urllib.parse import urlencode

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from flask import Blueprint, Response, current_app, g, jsonify, render_template, request

from geo_pcmt import access
from geo_pcmt.outputs.export import _clean, iter_geojson
from geo_pcmt.layers import LAYERS
from geo_pcmt.web.openapi import (
    CONFORMANCE,
    CRS84,
    Collection,
    build_openapi,
    collections_for,
    feature_schema,
)
from geo_pcmt.web.context import get_store
from geo_pcmt.web.auth import actor, current_role
from geo_pcmt.web.security import ApiError

bp = Blueprint("ogcapi", __name__, url_prefix="/api")

CONTROL_PARAMS = frozenset({"f", "limit", "offset", "bbox", "bbox-crs", "datetime", "crs"})
_CRS84_ALIASES = frozenset({CRS84, "http://www.opengis.net/def/crs/EPSG/0/4326", "EPSG:4326",
                            "OGC:CRS84", "CRS84"})
_OPEN = ("", "..")


# --- query parsing (shared with the exports) ------------------------------------------------

@dataclass
class Query:
    """A parsed items/export query: what the store is asked for."""

    bbox: tuple[float, float, float, float] | None = None
    where: dict = field(default_factory=dict)
    limit: int | None = None
    offset: int = 0

    def describe(self) -> dict:
        """JSON-able summary for the audit log."""
        return {"bbox": self.bbox, "limit": self.limit, "offset": self.offset,
                "where": {k: (f"{v.start}..{v.stop}" if isinstance(v, slice) else v)
                          for k, v in self.where.items()}}


def _bad(code: str, message: str) -> ApiError:
    return ApiError(400, code, message)


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """``minLon,minLat,maxLon,maxLat`` (or 6 numbers with heights) → a checked 4-tuple."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) not in (4, 6):
        raise _bad("invalid_bbox", f"bbox needs 4 numbers minLon,minLat,maxLon,maxLat "
                                   f"(or 6 with heights), got {len(parts)} value(s)")
    try:
        nums = [float(p) for p in parts]
    except ValueError:
        raise _bad("invalid_bbox", "bbox values must be numbers, e.g. "
                                   "bbox=104.0,19.2,104.5,19.6") from None
    if not all(math.isfinite(n) for n in nums):
        raise _bad("invalid_bbox", "bbox values must be finite numbers")
    if len(nums) == 6:
        nums = [nums[0], nums[1], nums[3], nums[4]]
    minx, miny, maxx, maxy = nums
    if not (-180 <= minx <= 180 and -180 <= maxx <= 180 and -90 <= miny <= 90
            and -90 <= maxy <= 90):
        raise _bad("invalid_bbox", "bbox is lon/lat in degrees: longitudes in [-180, 180], "
                                   "latitudes in [-90, 90]")
    if miny > maxy:
        raise _bad("invalid_bbox", f"bbox minLat {miny} is north of maxLat {maxy}")
    if minx > maxx:
        raise _bad("invalid_bbox", f"bbox minLon {minx} is east of maxLon {maxx} (boxes across "
                                   "the antimeridian are not supported)")
    return (minx, miny, maxx, maxy)


def _parse_instant(text: str) -> tuple[str, bool]:
    """An RFC 3339 date or date-time → (normalised text, is_date_only)."""
    t = text.strip()
    try:
        if len(t) == 10:
            return date.fromisoformat(t).isoformat(), True
        if "T" not in t.upper() or len(t) > 40:
            raise ValueError
        moment = datetime.fromisoformat(t.upper().replace("Z", "+00:00"))
    except ValueError:
        raise _bad("invalid_datetime", f"datetime {text[:60]!r} is not an RFC 3339 date "
                   "(2024-05-01) or date-time (2024-05-01T08:00:00Z)") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment.isoformat(timespec="seconds"), False


def parse_datetime(text: str, c: Collection) -> slice:
    """``datetime`` → an inclusive range on the collection's time field (stored as ISO text).

    Date fields compare dates; date-time fields compare text, an upper bound covering the
    whole of its last second (or day); ``period`` fields (``YYYY`` or ``YYYY-MM``) overlap
    the interval when they start before its end and are not of an earlier year.
    """
    if c.time_field is None:
        raise _bad("invalid_parameter", f"collection {c.id} has no time field; datetime does "
                                        "not apply")
    if text.count("/") > 1:
        raise _bad("invalid_datetime", "datetime is one instant or start/end")
    if "/" in text:
        start_text, end_text = text.split("/")
        if start_text in _OPEN and end_text in _OPEN:
            return slice(None, None)
    else:
        start_text = end_text = text
    lo = None if start_text in _OPEN else _parse_instant(start_text)
    hi = None if end_text in _OPEN else _parse_instant(end_text)
    if lo and hi and lo[0][:19] > hi[0][:19]:
        raise _bad("invalid_datetime", f"datetime interval starts ({lo[0]}) after it ends "
                                       f"({hi[0]})")
    ftype = c.field(c.time_field).type
    if ftype == "date":
        return slice(lo[0][:10] if lo else None, hi[0][:10] if hi else None)
    if ftype == "datetime":
        return slice(lo[0] if lo else None, (hi[0] + "\uffff") if hi else None)
    return slice(lo[0][:4] if lo else None, hi[0][:10] if hi else None)  # periods


def parse_value(c: Collection, name: str, text: str):
    """A property filter value typed as the field is (400 naming the field otherwise)."""
    f = c.field(name)
    try:
        if f.type == "int":
            value = int(text)
            if not -2**63 <= value < 2**63:  # the stores keep 64-bit integers
                raise ValueError
            return value
        if f.type == "float":
            value = float(text)
            if not math.isfinite(value):
                raise ValueError
            return value
        if f.type == "bool":
            low = text.strip().lower()
            if low not in ("true", "false", "1", "0"):
                raise ValueError
            return low in ("true", "1")
        if f.type == "date":
            return date.fromisoformat(text.strip()).isoformat()
        if f.type == "datetime":
            return _parse_instant(text)[0]
    except ValueError:
        kinds = {"int": "a whole number", "float": "a number", "bool": "true or false",
                 "date": "a date YYYY-MM-DD", "datetime": "an RFC 3339 date-time"}
        raise _bad("invalid_parameter", f"property {name!r} needs {kinds[f.type]}, got "
                                        f"{text[:60]!r}") from None
    if len(text) > f.max_length:
        raise _bad("invalid_parameter", f"property {name!r} longer than {f.max_length} "
                                        "characters")
    if f.allowed and text not in f.allowed:
        raise _bad("invalid_parameter", f"property {name!r} must be one of "
                                        f"{', '.join(f.allowed)}")
    return text


def _merge_rows(where: dict, rf: dict) -> dict:
    """Add the role's row filter; a requested value outside it matches nothing."""
    for column, allowed in rf.items():
        if column in where:
            wanted = where[column]
            where[column] = [wanted] if wanted in allowed else []
        else:
            where[column] = list(allowed)
    return where


def parse_query(args, c: Collection, role: str | None, *, paged: bool = True,
                extra_params: frozenset = frozenset()) -> Query:
    """Turn query parameters into a :class:`Query` (400 with a clear message if malformed)."""
    cfg = current_app.config
    known = CONTROL_PARAMS | extra_params
    unknown = [k for k in args if k not in known and k not in c.fields]
    if unknown:
        raise _bad("unknown_parameter",
                   f"unknown parameter(s) {', '.join(sorted(unknown)[:5])!s} for collection "
                   f"{c.id}; filters are: {', '.join(c.fields)}")
    for param in ("crs", "bbox-crs"):
        if param in args and args[param] not in _CRS84_ALIASES:
            raise _bad("invalid_crs", f"{param} must be {CRS84} (lon/lat WGS 84)")
    q = Query()
    if "limit" in args:
        try:
            limit = int(args["limit"])
        except ValueError:
            raise _bad("invalid_limit", "limit must be a whole number ≥ 1") from None
        if limit < 1:
            raise _bad("invalid_limit", "limit must be ≥ 1")
        q.limit = min(limit, cfg["API_LIMIT_MAX"])
    elif paged:
        q.limit = cfg["API_LIMIT_DEFAULT"]
    if "offset" in args:
        try:
            q.offset = int(args["offset"])
        except ValueError:
            raise _bad("invalid_offset", "offset must be a whole number ≥ 0") from None
        if q.offset < 0 or q.offset > 10**12:
            raise _bad("invalid_offset", "offset must be ≥ 0")
    if "bbox" in args:
        if not c.layer.has_geometry:
            raise _bad("invalid_bbox", f"collection {c.id} has no geometry; bbox does not apply")
        q.bbox = parse_bbox(args["bbox"])
    for name in c.fields:
        if name in args:
            q.where[name] = parse_value(c, name, args[name])
    if "datetime" in args:
        span = parse_datetime(args["datetime"], c)
        tf = c.time_field
        if tf in q.where:  # equality and interval on the same field: both must hold
            v = q.where[tf]
            inside = (span.start is None or v >= span.start) and (span.stop is None or
                                                                  v <= span.stop)
            q.where[tf] = v if inside else []
        elif span.start is not None or span.stop is not None:
            q.where[tf] = span
    if not c.is_aggregate:
        _merge_rows(q.where, access.row_filter_for(role, c.layer))
    return q


# --- reading ---------------------------------------------------------------------------------

def find_collection(cid: str) -> Collection:
    """The collection ``cid`` if the caller may read it; 404 otherwise (same for both)."""
    c = collections_for(current_role()).get(cid)
    if c is None:
        raise ApiError(404, "not_found", f"no collection {cid[:80]!r}")
    return c


def aggregate_frame(store, c: Collection) -> gpd.GeoDataFrame:
    """The per-commune counts of an aggregate collection (small counts suppressed)."""
    source = c.source
    records = store.read(source, columns=["commune_code"],
                         where=access.aggregate_row_filter(source))
    communes = store.read("communes", columns=["code", "name"])
    out = access.commune_counts(pd.DataFrame(records[["commune_code"]]), communes)
    out.insert(0, "id", out["code"].astype(str))
    return out[["id", "code", "name", "count", "suppressed", "geometry"]]


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


def read_page(c: Collection, q: Query) -> tuple[pd.DataFrame, int]:
    """``(features, numberMatched)`` for a query; only visible fields are read."""
    store = get_store()
    if c.is_aggregate:
        frame = filter_frame(aggregate_frame(store, c), q)
        stop = None if q.limit is None else q.offset + q.limit
        return frame.iloc[q.offset:stop].reset_index(drop=True), len(frame)
    frame = store.read(c.id, bbox=q.bbox, where=q.where, columns=list(c.fields),
                       limit=q.limit, offset=q.offset)
    if q.limit is not None and (len(frame) == q.limit or (q.offset > 0 and not len(frame))):
        matched = count_matches(store, c, q)
    else:  # the page ends before the limit: it holds the last match, no count needed
        matched = q.offset + len(frame)
    return frame, matched


def count_matches(store, c: Collection, q: Query) -> int:
    """``numberMatched``, remembered for ``API_COUNT_CACHE_S`` seconds per filter.

    A client paging through a layer (QGIS, ogr2ogr) repeats the same filter with a new
    offset on every page; counting 100k rows each time would cost more than the page.
    The key holds the role's row filter, so a count never crosses roles. The price: after
    a write by another worker the count can lag by up to that many seconds (writes in this
    worker clear it at once, see :func:`forget_counts`).
    """
    ttl = current_app.config.get("API_COUNT_CACHE_S", 0)
    if ttl <= 0:
        return store.count(c.id, bbox=q.bbox, where=q.where)
    # the data version in the key: a count never outlives a write, even another worker's
    key = (c.id, q.bbox, tuple(sorted((k, repr(v)) for k, v in q.where.items())),
           _data_version(store, c.id))
    cache = current_app.extensions.setdefault("geo_pcmt_counts", {})
    now = time.monotonic()
    hit = cache.get(key)
    if hit is not None and hit[1] > now:
        return hit[0]
    n = store.count(c.id, bbox=q.bbox, where=q.where)
    if len(cache) > 1024:
        cache.clear()
    cache[key] = (n, now + ttl)
    return n


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
    return _submit_audit(c, _audited_ids(c, frame), q, len(frame), action, extra)


def _audited_ids(c: Collection, frame: pd.DataFrame) -> list[str] | None:
    """The ids a read must record, or None when the read is not of restricted data."""
    if c.is_aggregate or not access.is_restricted_read(c.layer, frame):
        return None
    return frame["id"].astype(str).tolist() if "id" in frame.columns else []


def _submit_audit(c: Collection, ids: list[str] | None, q: Query, returned: int,
                  action: str = "read", extra: dict | None = None) -> Callable[[], None]:
    if ids is None:
        return lambda: None
    detail = {"role": current_role(), "query": q.describe(), "returned": returned,
              **(extra or {})}
    pool = current_app.extensions["geo_pcmt_audit_pool"]
    future = pool.submit(get_store().audit, actor(), action, c.id, ids, detail)
    return lambda: future.result(timeout=60)


# --- answer cache ----------------------------------------------------------------------------

# Layers whose content changes without the data version moving (audit appends): never cached.
_UNVERSIONED = frozenset({"audit_log"})
# Stands for ``timeStamp`` in a cached page, replaced by the time of each answer; random per
# process so that no stored value can imitate it.
_STAMP = ("@ts-" + secrets.token_hex(12)).encode()


@dataclass(frozen=True)
class CachedAnswer:
    """A serialised JSON answer and what serving it again must record."""

    body: bytes
    mimetype: str
    audit_ids: list[str] | None = None  # None: not a restricted read
    returned: int = 0

    @property
    def size(self) -> int:
        return len(self.body) + sum(len(i) + 8 for i in self.audit_ids or ()) + 200

    @cached_property
    def etag(self) -> str:
        """A strong validator of the body (hashed once per cached answer)."""
        return hashlib.blake2b(self.body, digest_size=12).hexdigest()


class AnswerCache:
    """Serialised answers, least recently used dropped first, at most ``max_bytes`` in all.

    Keys hold the role, the full URL and the store's data version, so an entry is used
    only by callers of the same role asking the same thing of the same data; a write
    (in any worker) moves the version and the old entries age out unused.
    """

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple, CachedAnswer] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._building: dict[tuple, threading.Event] = {}

    def get(self, key: tuple) -> CachedAnswer | None:
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None:
                self._entries.move_to_end(key)
            return hit

    def get_or_claim(self, key: tuple, wait_s: float = 30.0) -> tuple[CachedAnswer | None, bool]:
        """``(answer, False)`` when kept; else ``(None, True)``: the caller builds it and
        must :meth:`put` or :meth:`release` the key. While one caller builds, others asking
        for the same key wait for its answer instead of building it again (after a write,
        every thread asking for the same page used to read and serialise it at once)."""
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None:
                self._entries.move_to_end(key)
                return hit, False
            building = self._building.get(key)
            if building is None:
                self._building[key] = threading.Event()
                return None, True
        building.wait(wait_s)
        return self.get(key), False  # None if the builder failed: build, unshared

    def release(self, key: tuple) -> None:
        """End a claim (after :meth:`put`, or when building failed); idempotent."""
        with self._lock:
            building = self._building.pop(key, None)
        if building is not None:
            building.set()

    def put(self, key: tuple, answer: CachedAnswer) -> None:
        try:
            self._put(key, answer)
        finally:
            self.release(key)

    def _put(self, key: tuple, answer: CachedAnswer) -> None:
        size = answer.size
        if size > self.max_bytes // 4:  # one huge page would flush everything else
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old.size
            self._entries[key] = answer
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, dropped = self._entries.popitem(last=False)
                self._bytes -= dropped.size

    def __len__(self) -> int:
        return len(self._entries)


def _data_version(store, layer: str | None = None) -> int | None:
    """The store's data version of ``layer``, read once per request (a request keys its
    answers and counts with one set of versions; PostGIS pays a round trip per read)."""
    versions = getattr(store, "data_versions", None)
    if versions is None:
        return None
    if "data_versions" not in g:
        g.data_versions = versions()  # all of them, in one query
    return g.data_versions.get(layer, 0)


def _read_layers(c: Collection) -> tuple[str, ...]:
    """The stored layers an items or item answer of ``c`` is made from."""
    return (c.source, "communes") if c.is_aggregate else (c.id,)


def _answer_cache() -> AnswerCache | None:
    """This app's cache (``API_ANSWER_CACHE_BYTES``, default 64 MB per process; 0: off)."""
    max_bytes = int(current_app.config.get("API_ANSWER_CACHE_BYTES", 64 * 2**20))
    if max_bytes <= 0:
        return None
    cache = current_app.extensions.get("geo_pcmt_answer_cache")
    if cache is None:  # setdefault: threads racing here end up sharing one
        cache = current_app.extensions.setdefault("geo_pcmt_answer_cache",
                                                  AnswerCache(max_bytes))
    return cache


def _cache_key(kind: str | tuple, c: Collection | None = None,
               layers: tuple[str, ...] = ()) -> tuple | None:
    """The key of this request's JSON answer, or None when it must not be cached.

    ``layers``: the stored layers the answer is made from (none: any layer, the store's
    own version). Called after the caller is authenticated and authorised, and before
    the store is read: the version is taken first, so an entry is never older than it.
    """
    if (c is not None and c.id in _UNVERSIONED) or _answer_cache() is None:
        return None
    store = get_store()
    versions = tuple(_data_version(store, name) for name in layers or (None,))
    if None in versions:
        return None
    return (kind, current_role(), request.url, versions)


def _stamped(body: bytes) -> bytes:
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    return body.replace(_STAMP, now, 1)


def _serve(c: Collection | None, q: Query | None, answer: CachedAnswer) -> Response:
    """Answer from a cached body; a restricted read is audited again, before sending."""
    if c is not None and answer.audit_ids is not None:
        _submit_audit(c, answer.audit_ids, q, answer.returned)()
    return Response(_stamped(answer.body), mimetype=answer.mimetype)


def _lookup(key: tuple | None) -> CachedAnswer | None:
    """The kept answer for ``key``; None when the caller is to build it (and keep it with
    :func:`_keep`; a claim left open by an error is released when the request ends)."""
    if key is None:
        return None
    hit, claimed = _answer_cache().get_or_claim(key)
    if claimed:
        g.setdefault("answer_claims", []).append(key)
    return hit


def _keep(key: tuple | None, answer: CachedAnswer) -> None:
    if key is not None:
        _answer_cache().put(key, answer)


@bp.teardown_app_request
def _release_claims(_exc=None) -> None:
    claims = g.pop("answer_claims", None)
    if claims:
        cache = _answer_cache()
        for key in claims:
            cache.release(key)


def remembered(kind: str, layers: tuple[str, ...],
               build: Callable[[], CachedAnswer]) -> CachedAnswer:
    """The answer to this request (same role, same URL) built from ``layers`` as it was
    last built, or ``build()`` kept for the next caller while those layers do not change.

    For answers that need no audit (published layers, pages made from aggregates): a
    restricted read goes through the items route, which re-audits every hit.
    """
    key = _cache_key(kind, None, layers)
    hit = _lookup(key)
    if hit is None:
        hit = build()
        _keep(key, hit)
    return hit


# --- responses ------------------------------------------------------------------------------

def _format() -> str:
    f = request.args.get("f")
    if f is not None:
        if f in ("json", "geojson"):
            return "json"
        if f == "html":
            return "html"
        raise _bad("invalid_parameter", "f must be json or html")
    best = request.accept_mimetypes.best_match(["application/json", "application/geo+json",
                                                "text/html"])
    return "html" if best == "text/html" else "json"


def _url(path: str = "", **params) -> str:
    base = request.host_url.rstrip("/") + "/api" + path
    clean = {k: v for k, v in params.items() if v is not None}
    return base + ("?" + urlencode(clean) if clean else "")


def _link(href: str, rel: str, type_: str, title: str = "") -> dict:
    out = {"href": href, "rel": rel, "type": type_}
    if title:
        out["title"] = title
    return out


def _extent_layer(c: Collection) -> str | None:
    """The layer whose extent a collection publishes: its own for reference data; the
    province's for record layers, whose true extent could outline where restricted rows
    lie; the communes' for per-commune counts."""
    if not c.layer.has_geometry:
        return None
    if c.is_aggregate:
        return "communes"
    return "province" if "confidentiality" in c.layer.field_names else c.id


def _nominal_extent(c: Collection) -> list[float] | None:
    """The published extent of ``c`` (see :func:`_extent_layer`), kept per data version."""
    store = get_store()
    layer = _extent_layer(c)
    if layer is None or getattr(store, "bounds", None) is None:
        return None
    key = (id(store), layer, _data_version(store, layer))
    extents = current_app.extensions.setdefault("geo_pcmt_extents", {})
    if key not in extents:
        if len(extents) > 256:
            extents.clear()
        box = store.bounds(layer)
        extents[key] = [round(v, 6) for v in box] if box else None
    return extents[key]


def _extent_layers(cols) -> tuple[str, ...]:
    """The layers the extents in a collections document come from."""
    return tuple(sorted({n for n in map(_extent_layer, cols) if n is not None}))


def _collection_json(c: Collection) -> dict:
    spec = c.layer
    out = {
        "id": c.id, "title": spec.title_vi,
        "description": " ".join(t for t in (spec.title_en + ".", spec.description) if t).strip(),
        "itemType": "feature", "crs": [CRS84], "storageCrs": CRS84,
        "links": [
            _link(_url(f"/collections/{c.id}", f="json"), "self", "application/json"),
            _link(_url(f"/collections/{c.id}", f="html"), "alternate", "text/html"),
            _link(_url(f"/collections/{c.id}/items", f="json"), "items", "application/geo+json",
                  spec.title_en),
            _link(_url(f"/collections/{c.id}/items", f="html"), "items", "text/html"),
            _link(_url(f"/collections/{c.id}/schema"), "describedBy", "application/schema+json",
                  "JSON Schema"),
            _link(f"{request.host_url.rstrip('/')}/export/{c.id}.geojson", "enclosure",
                  "application/geo+json", "download (GeoJSON)"),
        ],
    }
    extent = _nominal_extent(c)
    if extent:
        out["extent"] = {"spatial": {"bbox": [extent], "crs": CRS84}}
    return out


def _html(template: str, **context):
    return render_template(template, role=current_role(), **context)


@bp.get("")
@bp.get("/")
def landing():
    """Landing page: links to the API description, conformance and collections."""
    fmt = _format()
    doc = {
        "title": "geo_pcmt — OGC API – Features",
        "description": "Dữ liệu phòng chống ma túy tỉnh Nghệ An / Drug prevention and control "
                       "data of Nghệ An province",
        "links": [
            _link(_url("", f="json"), "self", "application/json"),
            _link(_url("", f="html"), "alternate", "text/html"),
            _link(_url("/openapi", f="json"), "service-desc",
                  "application/vnd.oai.openapi+json;version=3.0", "OpenAPI 3.0"),
            _link(_url("/openapi", f="html"), "service-doc", "text/html", "API documentation"),
            _link(_url("/conformance", f="json"), "conformance", "application/json"),
            _link(_url("/collections", f="json"), "data", "application/json"),
        ],
    }
    if fmt == "html":
        return _html("ogc_landing.html", doc=doc)
    return jsonify(doc)


@bp.get("/conformance")
def conformance():
    """The conformance classes this server implements."""
    doc = {"conformsTo": list(CONFORMANCE)}
    if _format() == "html":
        return _html("ogc_conformance.html", doc=doc)
    return jsonify(doc)


@bp.get("/collections")
def collections():
    """The collections the caller may read."""
    fmt = _format()
    cols = collections_for(current_role())
    # the document changes with the schemas (role, registered layers: in the URL's role and
    # the collection list) and the extents; a record upload moves neither
    key = _cache_key(("collections", tuple(cols)), None, _extent_layers(cols.values())) \
        if fmt == "json" else None
    hit = _lookup(key)
    if hit is not None:
        return _serve(None, None, hit)
    doc = {"links": [_link(_url("/collections", f="json"), "self", "application/json"),
                     _link(_url("/collections", f="html"), "alternate", "text/html")],
           "collections": [_collection_json(c) for c in cols.values()]}
    if fmt == "html":
        return _html("ogc_collections.html", doc=doc, cols=cols)
    answer = CachedAnswer(json.dumps(doc, ensure_ascii=False).encode(), "application/json")
    _keep(key, answer)
    return _serve(None, None, answer)


@bp.get("/collections/<cid>")
def collection(cid: str):
    """One collection's metadata."""
    fmt = _format()
    c = find_collection(cid)
    key = _cache_key("collection", c) if fmt == "json" else None
    hit = _lookup(key)
    if hit is not None:
        return _serve(None, None, hit)
    doc = _collection_json(c)
    if fmt == "html":
        return _html("ogc_collection.html", doc=doc, c=c, fields=[c.field(n) for n in c.fields])
    answer = CachedAnswer(json.dumps(doc, ensure_ascii=False).encode(), "application/json")
    _keep(key, answer)
    return _serve(None, None, answer)


@bp.get("/collections/<cid>/schema")
def schema(cid: str):
    """JSON Schema of the collection's features (the fields this role may see)."""
    c = find_collection(cid)
    unknown = [k for k in request.args if k != "f"]
    if unknown:
        raise _bad("unknown_parameter", f"unknown parameter(s) {', '.join(unknown[:5])}")
    body = feature_schema(c, _url(f"/collections/{cid}/schema"))
    return Response(json.dumps(body, ensure_ascii=False), mimetype="application/schema+json")


def _rows_for_html(frame: pd.DataFrame, c: Collection) -> list[dict]:
    cols = [n for n in c.fields if n in frame.columns]
    geoms = frame.geometry.values if isinstance(frame, gpd.GeoDataFrame) else None
    out = []
    for i, rec in enumerate(frame[cols].to_dict("records")):
        row = {k: _clean(v) for k, v in rec.items()}
        g = geoms[i] if geoms is not None else None
        row["_geometry"] = "" if g is None else (
            f"{g.x:.6f}, {g.y:.6f}" if g.geom_type == "Point" else g.geom_type)
        out.append(row)
    return out


@bp.get("/collections/<cid>/items")
def items(cid: str):
    """A page of features: GeoJSON FeatureCollection with paging links, or an HTML table."""
    fmt = _format()
    c = find_collection(cid)
    role = current_role()
    q = parse_query(request.args, c, role)
    key = _cache_key("items", c, _read_layers(c)) if fmt == "json" else None
    hit = _lookup(key)
    if hit is not None:
        return _serve(c, q, hit)
    frame, matched = read_page(c, q)
    ids = _audited_ids(c, frame)
    audited = _submit_audit(c, ids, q, len(frame))
    args = {k: v for k, v in request.args.items() if k != "f"}
    links = [_link(_url(f"/collections/{cid}/items", **args, f="json"), "self",
                   "application/geo+json"),
             _link(_url(f"/collections/{cid}/items", **args, f="html"), "alternate", "text/html"),
             _link(_url(f"/collections/{cid}", f="json"), "collection", "application/json")]
    if q.offset + len(frame) < matched and len(frame):
        nxt = dict(args, offset=q.offset + len(frame), limit=q.limit)
        links.append(_link(_url(f"/collections/{cid}/items", **nxt, f=fmt), "next",
                           "application/geo+json" if fmt == "json" else "text/html"))
    if q.offset > 0:
        prv = dict(args, offset=max(0, q.offset - (q.limit or 0)), limit=q.limit)
        links.append(_link(_url(f"/collections/{cid}/items", **prv, f=fmt), "prev",
                           "application/geo+json" if fmt == "json" else "text/html"))
    if fmt == "html":
        page = _html("ogc_items.html", c=c, fields=[c.field(n) for n in c.fields],
                     rows=_rows_for_html(frame, c), matched=matched, returned=len(frame),
                     offset=q.offset, links=links)
        audited()
        return page
    extra = {"numberMatched": int(matched), "numberReturned": len(frame),
             "timeStamp": _STAMP.decode(), "links": links}
    answer = CachedAnswer("".join(iter_geojson(frame, extra=extra)).encode(),
                          "application/geo+json", ids, len(frame))
    audited()
    _keep(key, answer)
    return Response(_stamped(answer.body), mimetype=answer.mimetype)


@bp.get("/collections/<cid>/items/<path:fid>")
def item(cid: str, fid: str):
    """One feature by id (404 also when the caller may not see it)."""
    fmt = _format()
    c = find_collection(cid)
    unknown = [k for k in request.args if k not in ("f",)]
    if unknown:
        raise _bad("unknown_parameter", f"unknown parameter(s) {', '.join(unknown[:5])}")
    q = Query(where={"id": fid})
    if not c.is_aggregate:
        _merge_rows(q.where, access.row_filter_for(current_role(), c.layer))
    key = _cache_key("item", c, _read_layers(c)) if fmt == "json" else None
    hit = _lookup(key)
    if hit is not None:
        return _serve(c, q, hit)
    if c.is_aggregate:
        frame = filter_frame(aggregate_frame(get_store(), c), q)
    else:
        frame = get_store().read(c.id, where=q.where, columns=list(c.fields), limit=1)
    if not len(frame):
        raise ApiError(404, "not_found", f"no feature {fid[:80]!r} in {cid}")
    ids = _audited_ids(c, frame)
    _submit_audit(c, ids, q, len(frame))()
    links = [_link(_url(f"/collections/{cid}/items/{fid}", f="json"), "self",
                   "application/geo+json"),
             _link(_url(f"/collections/{cid}/items/{fid}", f="html"), "alternate", "text/html"),
             _link(_url(f"/collections/{cid}", f="json"), "collection", "application/json")]
    if fmt == "html":
        return _html("ogc_item.html", c=c, fields=[c.field(n) for n in c.fields],
                     row=_rows_for_html(frame, c)[0], links=links)
    feature = json.loads("".join(iter_geojson(frame)))["features"][0]
    feature["links"] = links
    answer = CachedAnswer(json.dumps(feature, ensure_ascii=False).encode(),
                          "application/geo+json", ids, len(frame))
    _keep(key, answer)
    return Response(answer.body, mimetype=answer.mimetype)


def openapi_document() -> dict:
    """The OpenAPI document for the caller's role (cached per role and layer set)."""
    cfg = current_app.config
    server = request.host_url.rstrip("/") + "/api"
    role = current_role()
    key = (role, server, tuple(LAYERS), cfg["API_LIMIT_DEFAULT"], cfg["API_LIMIT_MAX"])
    cache = current_app.extensions.setdefault("geo_pcmt_openapi", {})
    if key not in cache:
        if len(cache) > 64:
            cache.clear()
        cache[key] = json.dumps(build_openapi(role, server_url=server,
                                              limit_default=cfg["API_LIMIT_DEFAULT"],
                                              limit_max=cfg["API_LIMIT_MAX"]),
                                ensure_ascii=False)
    return json.loads(cache[key])


@bp.get("/openapi")
def openapi():
    """The OpenAPI 3.0 document (JSON) or a readable list of its operations (HTML)."""
    doc = openapi_document()
    if _format() == "html":
        ops = [(path, op.get("summary", "")) for path, item in doc["paths"].items()
               for op in item.values()]
        return _html("ogc_openapi.html", doc=doc, ops=ops)
    return Response(json.dumps(doc, ensure_ascii=False),
                    mimetype="application/vnd.oai.openapi+json;version=3.0")


__all__ = ["bp", "Query", "parse_bbox", "parse_datetime", "parse_query", "find_collection",
           "read_page", "aggregate_frame", "audit_read", "filter_frame", "count_matches",
           "forget_counts", "AnswerCache", "CachedAnswer", "remembered"]
