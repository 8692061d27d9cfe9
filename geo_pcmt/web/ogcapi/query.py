"""Query parameters of the items (and exports) → a checked :class:`Query` for the store.

``bbox``, ``limit``/``offset`` (or ``after``, the keyset cursor of ``next`` links, on
items), ``datetime`` (instants and intervals on the layer's time
field), ``filter`` (CQL2, see :mod:`.filters`) and one equality filter per visible
property; anything else is a 400 naming the parameter, so that a typo never silently
returns everything.

``datetime`` is lenient in what GIS clients send: a date (``2024-01-01``), a date with an
empty time (``2024-01-01T``, as GDAL 3.6 sends for ``-where "date >= '2024-01-01'"``), a
date-time to the hour, minute or second with ``Z``, an offset or none (UTC), and intervals
of those with open ends (``..`` or empty).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from flask import current_app

from geo_pcmt import access
from geo_pcmt.runs import patrol as patrol_run
from geo_pcmt.web.auth import current_unit
from geo_pcmt.web.context import get_store
from geo_pcmt.store.filters import Filter
from geo_pcmt.web.openapi import CRS84, Collection
from geo_pcmt.web.security import ApiError

CONTROL_PARAMS = frozenset({"f", "limit", "offset", "bbox", "bbox-crs", "datetime", "crs",
                            "filter", "filter-lang", "filter-crs"})
CRS84_ALIASES = frozenset({CRS84, "http://www.opengis.net/def/crs/EPSG/0/4326", "EPSG:4326",
                           "OGC:CRS84", "CRS84"})
DATETIME_FORMS = ("2024-05-01, 2024-05-01T08:00:00Z (or +07:00, or to the hour or minute), "
                  "and intervals start/end of those with open ends: 2024-05-01/.., "
                  "../2024-05-31, 2024-05-01/2024-05-31")
_INSTANT = re.compile(r"(\d{4}-\d{2}-\d{2})(?:[Tt ]((\d{2})(?::(\d{2})(?::(\d{2})(\.\d+)?)?)?)?"
                      r"(Z|z|[+-]\d{2}:?\d{2})?)?$")
_OPEN = ("", "..")


@dataclass
class Query:
    """A parsed items/export query: what the store is asked for."""

    bbox: tuple[float, float, float, float] | None = None
    where: dict = field(default_factory=dict)
    limit: int | None = None
    offset: int = 0
    after: int | None = None  # keyset cursor: rows stored after this fid (``next`` links)
    filter: Filter | None = None
    filter_text: str | None = None  # as sent, for the audit record

    def describe(self) -> dict:
        """JSON-able summary for the audit log."""
        out = {"bbox": self.bbox, "limit": self.limit, "offset": self.offset,
               **({} if self.after is None else {"after": self.after}),
               "where": {k: (f"{v.start}..{v.stop}" if isinstance(v, slice) else v)
                         for k, v in self.where.items()}}
        if self.filter_text is not None:
            out["filter"] = self.filter_text[:2000]
        return out


def bad_request(code: str, message: str) -> ApiError:
    """A 400 naming what is wrong with the request (``code`` for clients, ``message`` for
    people)."""
    return ApiError(400, code, message)


_bad = bad_request


def parse_cursor(text: str, with_offset: bool) -> int:
    """The ``after`` cursor of a ``next`` link (opaque to clients: the position after the
    previous page's last feature) → the store's keyset ``fid``."""
    if with_offset:
        raise _bad("invalid_parameter", "after (from a next link) and offset do not go "
                                        "together; send one of them")
    text = text.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        raise _bad("invalid_cursor", "after must be the value from a next link")
    return int(text)


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


def instant(text: str) -> tuple[str, bool]:
    """A date or date-time as GIS clients send it → ``(normalised text, is_date_only)``.

    Dates stay dates (``2024-05-01``, also ``2024-05-01T`` with no time, as GDAL 3.6
    writes them); date-times (to the hour, minute or second, fractions dropped) become
    UTC text to the second, ``Z`` or an offset honoured, none meaning UTC.

    Examples
    --------
    >>> instant("2024-05-01T")
    ('2024-05-01', True)
    >>> instant("2024-05-01T08:30+07:00")
    ('2024-05-01T01:30:00', False)
    """
    m = _INSTANT.match(text.strip()) if len(text) <= 40 else None
    try:
        if m is None:
            raise ValueError
        day, clock, hh, mm, ss, _frac, zone = m.groups()
        d = date.fromisoformat(day)
        if not clock:  # "2024-05-01" or "2024-05-01T" (a zone with no time means nothing)
            return d.isoformat(), True
        moment = datetime(d.year, d.month, d.day, int(hh), int(mm or 0), int(ss or 0))
        if zone and zone.upper() != "Z":
            sign = 1 if zone[0] == "+" else -1
            digits = zone[1:].replace(":", "")
            offset = sign * (int(digits[:2]) * 60 + int(digits[2:]))
            moment = moment.replace(tzinfo=timezone(timedelta(minutes=offset)))
            moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    except ValueError:
        raise _bad("invalid_datetime", f"datetime {text[:60]!r} is not an RFC 3339 date or "
                                       f"date-time; accepted: {DATETIME_FORMS}") from None
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
        raise _bad("invalid_datetime", f"datetime is one instant or start/end; accepted: "
                                       f"{DATETIME_FORMS}")
    if "/" in text:
        start_text, end_text = text.split("/")
        if start_text in _OPEN and end_text in _OPEN:
            return slice(None, None)
    else:
        start_text = end_text = text
    lo = None if start_text in _OPEN else instant(start_text)
    hi = None if end_text in _OPEN else instant(end_text)
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
            return instant(text)[0]
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


def merge_row_scope(where: dict, rf: dict) -> dict:
    """Add the role's row filter; a requested value outside it matches nothing."""
    for column, allowed in rf.items():
        if column in where:
            wanted = where[column]
            where[column] = [wanted] if wanted in allowed else []
        else:
            where[column] = list(allowed)
    return where


def unit_scope(c: Collection, role: str | None) -> dict:
    """The caller's unit as a row scope on the patrol layers: a commander reads the plans
    and stops of their unit's border posts only (:func:`geo_pcmt.runs.patrol.plan_scope`);
    admins, commanders of the province and every other collection: no scope."""
    if c.is_aggregate or c.id not in ("patrol_plans", "patrol_stops"):
        return {}
    store = get_store()
    posts = patrol_run.unit_post_ids(store, current_unit(), role)
    return patrol_run.plan_scope(store, c.id, posts, role)


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
        if param in args and args[param] not in CRS84_ALIASES:
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
    if "after" in args:
        q.after = parse_cursor(args["after"], "offset" in args)
    if "bbox" in args:
        if not c.layer.has_geometry:
            raise _bad("invalid_bbox", f"collection {c.id} has no geometry; bbox does not apply")
        q.bbox = parse_bbox(args["bbox"])
    for name in c.fields:
        if name in args:
            q.where[name] = parse_value(c, name, args[name])
    if "filter" in args:
        from geo_pcmt.web.ogcapi.filters import parse_filter
        q.filter = parse_filter(args["filter"], args.get("filter-lang"), c,
                                args.get("filter-crs"))
        q.filter_text = args["filter"]
    elif "filter-lang" in args or "filter-crs" in args:
        raise _bad("invalid_parameter", "filter-lang and filter-crs go with a filter")
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
        merge_row_scope(q.where, access.row_filter_for(role, c.layer))
        merge_row_scope(q.where, unit_scope(c, role))
    return q

