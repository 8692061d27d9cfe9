"""The three-way merge of a field edit: pure functions, no store, no web.

A phone edits a record it read at some version (its *base*). When the record moved on the
server before the edit arrived, each field the phone changed is decided on its own:

* the server still holds the base value -> the phone's value is taken (an automatic merge);
* the server already holds the phone's value -> nothing to write (the same change twice);
* the phone sent the field at the value it saw (its base): it did not change it, the
  server's value stands;
* the server changed the field to something else -> a conflict, kept for a person.

The geometry is one more field, named ``geometry`` (GeoJSON), compared as shapes to within
:data:`GEOMETRY_TOLERANCE` degrees (about 1 cm), so a point the phone moved merges with a
status the office changed. Two rules follow from what the fields mean:

* :data:`LATEST_FIELDS` (the date of the last activity seen) keep the later date when both
  sides changed them: two sightings on different days are no contradiction;
* a point moved on both sides to two GPS fixes that agree within what both accuracies
  allow (:func:`fixes_agree`, a 95 % bound) is the same place: the fix with the better
  accuracy is kept (``merged``, the reason in :attr:`Merge.notes` for the audit). Two
  fixes farther apart stay a conflict.

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
#: The share of a circular normal error inside the ``accuracy`` radius that Android
#: (``Location.getAccuracy``) and iOS (``horizontalAccuracy``) report: about 68 %.
ACCURACY_SHARE = 0.68
#: The share of same-place fix pairs that :func:`fixes_agree` accepts.
AGREE_SHARE = 0.95
#: ``k`` of the bound ``d <= k * sqrt(a1**2 + a2**2)`` (see :func:`fixes_agree`): 1.621.
AGREE_K = math.sqrt(math.log(1 - AGREE_SHARE) / math.log(1 - ACCURACY_SHARE))


@dataclass(frozen=True)
class Merge:
    """What a phone's changes do to the server's record.

    ``take``: fields to write with the phone's value; ``same``: fields already at it;
    ``conflicts``: ``{field: (base, server, phone)}`` for a person to decide; ``notes``:
    ``{field: why}`` for a field merged by a rule rather than by the base (the audit).
    """

    take: dict[str, Any] = field(default_factory=dict)
    same: list[str] = field(default_factory=list)
    conflicts: dict[str, tuple[Any, Any, Any]] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)


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
              phone: Mapping[str, Any], *, accuracy_m: float | None = None,
              server_accuracy_m: float | None = None) -> Merge:
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
        The phone's GPS accuracy (metres, the ~68 % radius). Without it two moved points
        are a conflict.
    server_accuracy_m : float, optional
        The accuracy of the server's point when a field edit put it there; else the
        phone's is taken for both (see :func:`fixes_agree`).

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
    >>> m = three_way({"geometry": {"type": "Point", "coordinates": [104.1, 19.35]}},
    ...               {"geometry": {"type": "Point", "coordinates": [104.1002, 19.35]}},
    ...               {"geometry": {"type": "Point", "coordinates": [104.10025, 19.35]}},
    ...               accuracy_m=5, server_accuracy_m=12)    # 5 m apart: the phone's is better
    >>> list(m.take), m.notes["geometry"][:35]
    (['geometry'], 'two GPS fixes 5.3 m apart (≤ 21.1 m')
    """
    out = Merge()
    for name, mine in phone.items():
        theirs = server.get(name)
        if same(theirs, mine):
            out.same.append(name)
        elif name in base and same(theirs, base[name]):
            out.take[name] = mine
        elif name in base and same(mine, base[name]):
            out.same.append(name)  # sent at the value the phone saw: not changed there
        elif name == GEOMETRY and _same_place(out, theirs, mine, accuracy_m,
                                              server_accuracy_m):
            pass  # moved on both sides to fixes of the same place: the better one is kept
        elif name in LATEST_FIELDS and isinstance(theirs, str) and isinstance(mine, str):
            if mine > theirs:  # ISO dates: text order is date order
                out.take[name] = mine
            else:
                out.same.append(name)
        else:
            out.conflicts[name] = (base.get(name), theirs, mine)
    return out


def _same_place(out: Merge, server: Any, phone: Any, phone_acc: float | None,
                server_acc: float | None) -> bool:
    """Record in ``out`` the better of two agreeing fixes (and why); False if they do not."""
    if not phone_acc:
        return False
    server_acc = server_acc or phone_acc
    d = distance_m(server, phone)
    if d is None or not fixes_agree(d, phone_acc, server_acc):
        return False
    bound = AGREE_K * math.hypot(phone_acc, server_acc)
    keep_phone = phone_acc < server_acc
    if keep_phone:
        out.take[GEOMETRY] = phone
    else:
        out.same.append(GEOMETRY)
    out.notes[GEOMETRY] = (
        f"two GPS fixes {d:.1f} m apart (≤ {bound:.1f} m for ±{phone_acc:g} m and "
        f"±{server_acc:g} m): the same place; kept the {'phone' if keep_phone else 'server'}"
        f"'s fix, the {'more' if phone_acc != server_acc else 'as'} accurate")
    return True


def fixes_agree(d: float, a1: float, a2: float) -> bool:
    """Whether two GPS fixes ``d`` metres apart, with reported accuracies ``a1`` and ``a2``
    (metres), may be fixes of one place.

    A phone's ``accuracy`` is the radius holding :data:`ACCURACY_SHARE` (68 %) of fixes
    around the true position. With a circular normal error of standard deviation σ per
    axis the distance to the truth is Rayleigh: ``P(r ≤ a) = 1 − exp(−a²/2σ²)``, so
    ``σ = a / sqrt(−2 ln(1 − 0.68))`` (= a / 1.510). Two independent fixes of one place
    differ by a circular normal vector of σ² = σ1² + σ2² per axis; its length is again
    Rayleigh, and 95 % of such pairs lie within ``sqrt(−2 ln 0.05)·σ``. Hence
    ``d ≤ k·sqrt(a1² + a2²)`` with ``k = sqrt(ln 0.05 / ln 0.32)`` = 1.621
    (:data:`AGREE_K`): one same-place pair in twenty is still left for a person.

    Examples
    --------
    >>> round(AGREE_K, 3), round(AGREE_K * math.hypot(6, 8), 2)
    (1.621, 16.21)
    >>> fixes_agree(16.2, 6, 8), fixes_agree(16.3, 6, 8)
    (True, False)
    """
    return d <= AGREE_K * math.hypot(a1, a2)


def distance_m(a: Any, b: Any) -> float | None:
    """The distance in metres between two GeoJSON points (equirectangular: exact enough
    over tens of metres), None when either is not a point.

    Examples
    --------
    >>> p = {"type": "Point", "coordinates": [104.1, 19.35]}
    >>> round(distance_m(p, {"type": "Point", "coordinates": [104.10005, 19.35]}), 2)
    5.25
    >>> distance_m(p, {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}) is None
    True
    """
    if not all(isinstance(g, dict) and g.get("type") == "Point" for g in (a, b)):
        return None
    try:
        (x1, y1), (x2, y2) = a["coordinates"][:2], b["coordinates"][:2]
        dx = (float(x2) - float(x1)) * math.cos(math.radians(float(y1))) * 111_320.0
        dy = (float(y2) - float(y1)) * _M_PER_DEG_LAT
    except (TypeError, ValueError, KeyError):
        return None
    return math.hypot(dx, dy)
