"""The three-way merge of a field edit: pure functions, no store, no web.

A phone edits a record it read at some version (its *base*). When the record moved on the
server before the edit arrived, each field the phone changed is decided on its own:

* the server still holds the base value -> the phone's value is taken (an automatic merge);
* the server already holds the phone's value -> nothing to write (the same change twice);
* the server changed the field to something else -> a conflict, kept for a person.

The geometry is one more field, named ``geometry`` (GeoJSON), compared as shapes to within
:data:`GEOMETRY_TOLERANCE` degrees (about 1 cm), so a point the phone moved merges with a
status the office changed. Two rules follow from what the fields mean:

* :data:`LATEST_FIELDS` (the date of the last activity seen) keep the later date when both
  sides changed them: two sightings on different days are no contradiction;
* a point moved on both sides, where the phone's lies within its own GPS accuracy
  (``accuracy_m``) of the server's, is the same place: the server's is kept, no conflict.

See docs/field.md.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Mapping

import shapely

#: Coordinates closer than this (degrees, about 1 cm) are the same position.
GEOMETRY_TOLERANCE = 1e-7
GEOMETRY = "geometry"
#: Dates that only move forward: of two changes, the later date is kept.
LATEST_FIELDS = frozenset({"last_activity"})
_M_PER_DEG_LAT = 110_574.0


@dataclass(frozen=True)
class Merge:
    """What a phone's changes do to the server's record.

    ``take``: fields to write with the phone's value; ``same``: fields already at it;
    ``conflicts``: ``{field: (base, server, phone)}`` for a person to decide.
    """

    take: dict[str, Any] = field(default_factory=dict)
    same: list[str] = field(default_factory=list)
    conflicts: dict[str, tuple[Any, Any, Any]] = field(default_factory=dict)


def canonical(value: Any) -> Any:
    """A value as the merge compares it: missing/NaN/empty text is None, numbers (and text
    that is a number) are floats, text is stripped, GeoJSON is a normalised shape.

    Examples
    --------
    >>> canonical("2") == canonical(2.0), canonical(" x "), canonical(float("nan"))
    (True, 'x', None)
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, dict):
        try:
            return shapely.normalize(shapely.from_geojson(json.dumps(value)))
        except (ValueError, TypeError, shapely.errors.GEOSException):
            return json.dumps(value, sort_keys=True)
    if hasattr(value, "geom_type"):  # a shapely geometry
        return shapely.normalize(value)
    text = str(value).strip()
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        return text
    return number if math.isfinite(number) else text


def same(a: Any, b: Any) -> bool:
    """Whether two values are the same for the merge (see :func:`canonical`).

    Examples
    --------
    >>> same({"type": "Point", "coordinates": [104.1, 19.3]},
    ...      {"type": "Point", "coordinates": [104.1, 19.3000000000001]})
    True
    >>> same("active", "cleared"), same(None, ""), same(3, "3")
    (False, True, True)
    """
    a, b = canonical(a), canonical(b)
    if hasattr(a, "geom_type") or hasattr(b, "geom_type"):
        if not (hasattr(a, "geom_type") and hasattr(b, "geom_type")):
            return False
        return bool(shapely.equals_exact(a, b, tolerance=GEOMETRY_TOLERANCE))
    return a == b


def three_way(base: Mapping[str, Any], server: Mapping[str, Any],
              phone: Mapping[str, Any], *, accuracy_m: float | None = None) -> Merge:
    """Merge the phone's changed fields into the server's record, field by field.

    Parameters
    ----------
    base : mapping
        The values the phone saw for the fields it changed. A field missing here has no
        known base: it merges only if the server already holds the phone's value.
    server : mapping
        The record as stored now (a missing field is None).
    phone : mapping
        The fields the phone changed, with their new values.
    accuracy_m : float, optional
        The phone's GPS accuracy: a point within it of the server's point is the same.

    Returns
    -------
    Merge

    Examples
    --------
    >>> m = three_way({"status": "active", "name": "A"},
    ...               {"status": "active", "name": "B"},
    ...               {"status": "cleared", "name": "C"})
    >>> m.take, m.conflicts
    ({'status': 'cleared'}, {'name': ('A', 'B', 'C')})
    >>> three_way({"last_activity": "2026-03-01"}, {"last_activity": "2026-03-05"},
    ...           {"last_activity": "2026-03-03"}).same
    ['last_activity']
    """
    out = Merge()
    for name, mine in phone.items():
        theirs = server.get(name)
        if same(theirs, mine):
            out.same.append(name)
        elif name in base and same(theirs, base[name]):
            out.take[name] = mine
        elif name == GEOMETRY and near(theirs, mine, accuracy_m):
            out.same.append(name)  # moved on both sides, to the same place within the GPS
        elif name in LATEST_FIELDS and isinstance(theirs, str) and isinstance(mine, str):
            if mine > theirs:  # ISO dates: text order is date order
                out.take[name] = mine
            else:
                out.same.append(name)
        else:
            out.conflicts[name] = (base.get(name), theirs, mine)
    return out


def near(a: Any, b: Any, metres: float | None) -> bool:
    """Whether two GeoJSON points lie within ``metres`` of each other (an equirectangular
    distance: exact enough over tens of metres).

    Examples
    --------
    >>> p = {"type": "Point", "coordinates": [104.1, 19.35]}
    >>> q = {"type": "Point", "coordinates": [104.10005, 19.35]}   # about 5 m east
    >>> near(p, q, 8.0), near(p, q, 3.0), near(p, q, None)
    (True, False, False)
    """
    if not metres or not all(isinstance(g, dict) and g.get("type") == "Point" for g in (a, b)):
        return False
    try:
        (x1, y1), (x2, y2) = a["coordinates"][:2], b["coordinates"][:2]
        dx = (float(x2) - float(x1)) * math.cos(math.radians(float(y1))) * 111_320.0
        dy = (float(y2) - float(y1)) * _M_PER_DEG_LAT
    except (TypeError, ValueError, KeyError):
        return False
    return math.hypot(dx, dy) <= float(metres)
