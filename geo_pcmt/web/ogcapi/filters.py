"""OGC API – Features Part 3: the ``filter`` parameter (CQL2 text or JSON) → a checked
store :class:`~geo_pcmt.store.filters.Filter`.

Parsing is pygeofilter's (its CQL2 text grammar, extended with the standard's function
form of the temporal predicates, ``T_AFTER(date, DATE('2024-01-01'))``, and intervals
with open ends, ``INTERVAL('2024-01-01', '..')``). The parsed tree is then checked against
the fields the caller's role may see: a property the role may not see is refused with the
same answer as one that does not exist, so a filter cannot tell hidden fields apart.
Values are typed as their field (a date field accepts ``DATE('…')``, ``TIMESTAMP('…')`` or
a date string, as GDAL sends them); the stores bind them.

Supported: ``= <> < <= > >=``, ``LIKE``, ``IN``, ``BETWEEN``, ``IS [NOT] NULL``,
``AND``/``OR``/``NOT``, ``S_INTERSECTS`` (WKT, GeoJSON, ``BBOX``/``ENVELOPE``) and
``T_INTERSECTS``/``T_AFTER``/``T_BEFORE``/``T_EQUALS``/``T_DISJOINT`` on date fields.
"""
from __future__ import annotations

import json
import math
import os
from datetime import date, datetime, timezone
from functools import lru_cache
from typing import Any

import shapely
import shapely.geometry
from shapely.geometry import shape

from geo_pcmt.store.filters import (And, Between, Compare, Filter, In, Intersects, IsNull,
                                    Like, Not, Or)
from geo_pcmt.web.openapi import Collection
from geo_pcmt.web.security import ApiError

FILTER_LANGS = ("cql2-text", "cql2-json")
MAX_FILTER_CHARS = 8000
GEOMETRY_NAMES = ("geometry", "geom", "the_geom")
_FORMS = ("supported: = <> < <= > >=, LIKE, IN, BETWEEN, IS NULL, AND/OR/NOT, "
          "S_INTERSECTS(geometry, <WKT|BBOX(…)>), T_INTERSECTS/T_AFTER/T_BEFORE(<date field>, "
          "DATE('2024-01-01') | TIMESTAMP('2024-01-01T00:00:00Z') | INTERVAL('2024-01-01','..'))")
_EXTRA_GRAMMAR = r'''
%extend temporal_predicate: _binary_temporal_predicate_func "(" expression "," expression ")" \
    -> function_temporal_predicate
%extend literal: "INTERVAL"i "(" SINGLE_QUOTED "," SINGLE_QUOTED ")" -> quoted_interval
'''


def _bad(message: str) -> ApiError:
    return ApiError(400, "invalid_filter", message[:600])


@lru_cache(maxsize=1)
def _text_parser():
    """pygeofilter's CQL2 text parser with the standard forms its grammar lacks."""
    from lark import Lark, v_args
    from pygeofilter import values
    from pygeofilter.parsers.cql2_text import parser as base

    grammar_dir = os.path.dirname(base.__file__)
    with open(os.path.join(grammar_dir, "grammar.lark"), encoding="utf-8") as fh:
        grammar = fh.read() + _EXTRA_GRAMMAR

    @v_args(meta=False, inline=True)
    class Transformer(base.CQLTransformer):
        def function_temporal_predicate(self, op, lhs, rhs):
            return self.binary_temporal_predicate(lhs, op, rhs)

        def quoted_interval(self, start, end):
            return values.Interval(_instant(start, open_ok=True), _instant(end, open_ok=True))

    return Lark(grammar, parser="lalr", maybe_placeholders=False, transformer=Transformer(),
                import_paths=[os.path.dirname(grammar_dir)])


def parse_filter(text: str, lang: str | None, c: Collection, crs: str | None = None) -> Filter:
    """``filter`` (and ``filter-lang``, ``filter-crs``) → a checked store filter (400 with
    a message naming what is wrong otherwise)."""
    from geo_pcmt.web.ogcapi.query import CRS84_ALIASES
    lang = lang or "cql2-text"
    if lang not in FILTER_LANGS:
        raise ApiError(400, "invalid_parameter", f"filter-lang must be one of "
                                                 f"{', '.join(FILTER_LANGS)}")
    if crs is not None and crs not in CRS84_ALIASES:
        raise ApiError(400, "invalid_crs", "filter-crs must be "
                                           "http://www.opengis.net/def/crs/OGC/1.3/CRS84")
    if c.is_aggregate:
        raise _bad(f"collection {c.id} holds counts per commune; filter does not apply "
                   "(use the property parameters)")
    if len(text) > MAX_FILTER_CHARS:
        raise _bad(f"filter longer than {MAX_FILTER_CHARS} characters")
    tree = _parse(text, lang)
    expr = _Checker(c).node(tree)
    try:
        return Filter.of(expr, c.layer)
    except (KeyError, ValueError) as exc:
        raise _bad(str(exc)) from None


def _parse(text: str, lang: str):
    from pygeofilter.parsers.cql2_json import parse as parse_json
    try:
        if lang == "cql2-json":
            return parse_json(_standard_json(json.loads(text)))
        return _text_parser().parse(text)
    except ApiError:
        raise
    except RecursionError:
        raise _bad("filter nested too deeply") from None
    except Exception as exc:  # lark and pygeofilter raise many kinds: all are bad input
        where = ""
        if getattr(exc, "column", None) is not None:
            where = f" at character {exc.column}"
        raise _bad(f"filter is not valid {lang}{where}; {_FORMS}") from None


def _standard_json(node: Any) -> Any:
    """CQL2 JSON as pygeofilter 0.4 reads it: ``between`` with three arguments (property,
    low, high) becomes its older draft's two (property, [low, high]), and a ``bbox``
    literal a GeoJSON polygon (pygeofilter reads its numbers in the wrong order)."""
    if isinstance(node, list):
        return [_standard_json(n) for n in node]
    if not isinstance(node, dict):
        return node
    box = node.get("bbox")
    if len(node) == 1 and isinstance(box, list) and len(box) in (4, 6) and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in box):
        x0, y0, x1, y1 = box if len(box) == 4 else (box[0], box[1], box[3], box[4])
        return shapely.geometry.mapping(shapely.box(x0, y0, x1, y1))
    out = {k: _standard_json(v) for k, v in node.items()}
    args = out.get("args")
    if out.get("op") == "between" and isinstance(args, list) and len(args) == 3:
        out["args"] = [args[0], [args[1], args[2]]]
    return out


def _instant(value: Any, *, open_ok: bool = False):
    """A date, date-time or ``..`` (open end) from a literal or quoted text."""
    if isinstance(value, (date, datetime)):
        return value
    text = str(value).strip().strip("'")
    if open_ok and text in ("..", ""):
        return None
    from geo_pcmt.web.ogcapi.query import instant
    try:
        moment, date_only = instant(text)
    except ApiError:
        raise ValueError(f"{text[:40]!r} is not a date or date-time") from None
    return date.fromisoformat(moment) if date_only else datetime.fromisoformat(moment)


class _Checker:
    """pygeofilter AST → store filter nodes, checked against the collection's fields."""

    def __init__(self, c: Collection):
        self.c = c
        self.count = 0

    def field(self, node) -> str:
        from pygeofilter import ast
        if not isinstance(node, ast.Attribute):
            raise _bad(f"expected a property name, got {_show(node)}; comparisons are "
                       "property op value")
        name = node.name
        if name not in self.c.fields:  # hidden and unknown: the same answer
            raise _bad(f"unknown property {name[:80]!r} in collection {self.c.id}; "
                       f"queryables: {', '.join(self.c.fields)}")
        return name

    def value(self, name: str, v: Any) -> Any:
        """A literal typed as field ``name`` is (400 naming both otherwise)."""
        ftype = self.c.field(name).type
        try:
            if ftype == "str" and isinstance(v, str):
                return v
            if ftype == "int" and isinstance(v, int) and not isinstance(v, bool):
                if not -2**63 <= v < 2**63:
                    raise ValueError
                return v
            if ftype == "float" and isinstance(v, (int, float)) and not isinstance(v, bool):
                if not math.isfinite(v):
                    raise ValueError
                return float(v)
            if ftype == "bool" and isinstance(v, bool):
                return v
            if ftype in ("date", "datetime") and isinstance(v, (str, date, datetime)):
                moment = _instant(v)
                if ftype == "date":
                    return moment.isoformat()[:10]
                if not isinstance(moment, datetime):  # a day: its first second
                    return moment.isoformat() + "T00:00:00"
                return _utc_text(moment)
        except ValueError:
            pass
        kinds = {"str": "text in quotes", "int": "a whole number", "float": "a number",
                 "bool": "TRUE or FALSE", "date": "a date, e.g. DATE('2024-01-01')",
                 "datetime": "a date-time, e.g. TIMESTAMP('2024-01-01T08:00:00Z')"}
        raise _bad(f"property {name!r} needs {kinds[ftype]}, got {_show(v)}")

    def node(self, n):  # noqa: C901  (one branch per CQL2 operator)
        from pygeofilter import ast, values
        self.count += 1
        if self.count > 1000:
            raise _bad("filter too long: more than 1000 conditions")
        if isinstance(n, ast.And):
            return And((self.node(n.lhs), self.node(n.rhs)))
        if isinstance(n, ast.Or):
            return Or((self.node(n.lhs), self.node(n.rhs)))
        if isinstance(n, ast.Not):
            return Not(self.node(n.sub_node))
        if isinstance(n, ast.Comparison):
            name = self.field(n.lhs)
            return Compare(name, n.op.value, self.value(name, n.rhs))
        if isinstance(n, ast.Between):
            name = self.field(n.lhs)
            out = Between(name, self.value(name, n.low), self.value(name, n.high))
            return Not(out) if n.not_ else out
        if isinstance(n, ast.Like):
            name = self.field(n.lhs)
            if self.c.field(name).type != "str" or not isinstance(n.pattern, str):
                raise _bad(f"LIKE needs a text property and a quoted pattern ({name!r})")
            out = Like(name, n.pattern)
            return Not(out) if n.not_ else out
        if isinstance(n, ast.In):
            name = self.field(n.lhs)
            if not isinstance(n.sub_nodes, (list, tuple)):
                raise _bad(f"IN needs a list of values after {name!r}, got {_show(n.sub_nodes)}")
            out = In(name, tuple(self.value(name, v) for v in n.sub_nodes))
            return Not(out) if n.not_ else out
        if isinstance(n, ast.IsNull):
            out = IsNull(self.field(n.lhs))
            return Not(out) if n.not_ else out
        if isinstance(n, ast.GeometryIntersects):
            return Intersects(self.geometry(n.lhs, n.rhs))
        if isinstance(n, ast.BBox):
            return Intersects(self.geometry(n.lhs, values.Envelope(n.minx, n.maxx, n.miny,
                                                                   n.maxy)))
        if isinstance(n, ast.TemporalPredicate):
            return self.temporal(n)
        raise _bad(f"{type(n).__name__} is not supported; {_FORMS}")

    def geometry(self, lhs, rhs) -> bytes:
        from pygeofilter import ast, values
        if isinstance(rhs, ast.Attribute):
            lhs, rhs = rhs, lhs
        if not (isinstance(lhs, ast.Attribute) and lhs.name in GEOMETRY_NAMES):
            raise _bad("S_INTERSECTS compares the property geometry with a geometry literal")
        if not self.c.layer.has_geometry:
            raise _bad(f"collection {self.c.id} has no geometry; S_INTERSECTS does not apply")
        if isinstance(rhs, ast.Function) and rhs.name.lower() == "bbox" \
                and len(rhs.arguments) in (4, 6):  # CQL2 text BBOX(…) parses as a call
            nums = list(rhs.arguments)
            nums = nums if len(nums) == 4 else [nums[0], nums[1], nums[3], nums[4]]
            if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in nums):
                rhs = values.Envelope(nums[0], nums[2], nums[1], nums[3])
        try:
            if isinstance(rhs, values.Envelope):
                geom = shapely.box(rhs.x1, rhs.y1, rhs.x2, rhs.y2)
            elif isinstance(rhs, values.Geometry) or isinstance(rhs, dict):
                geom = shape(rhs.geometry if isinstance(rhs, values.Geometry) else rhs)
            else:
                raise ValueError
            coords = shapely.get_coordinates(geom)
        except Exception:
            raise _bad(f"S_INTERSECTS needs a geometry (WKT, GeoJSON or BBOX), got "
                       f"{_show(rhs)}") from None
        if geom.is_empty or not len(coords) or not (
                (abs(coords[:, 0]) <= 180).all() and (abs(coords[:, 1]) <= 90).all()):
            raise _bad("filter geometry must be lon/lat in degrees (CRS84), not empty")
        if not geom.is_valid:
            geom = shapely.make_valid(geom)
        return shapely.to_wkb(geom)

    def temporal(self, n) -> Any:
        from pygeofilter import ast, values
        lhs, rhs = n.lhs, n.rhs
        if isinstance(rhs, ast.Attribute) and not isinstance(lhs, ast.Attribute):
            raise _bad("temporal functions take the date property first")
        name = self.field(lhs)
        if self.c.field(name).type not in ("date", "datetime"):
            dated = [f for f in self.c.fields if self.c.field(f).type in ("date", "datetime")]
            raise _bad(f"{name!r} is not a date property; temporal functions apply to "
                       f"{', '.join(dated) or 'none here'}")
        if isinstance(rhs, values.Interval):
            start = None if rhs.start is None else self.value(name, rhs.start)
            end = None if rhs.end is None else self.value(name, rhs.end)
        else:
            start = end = self.value(name, rhs)
        if start is not None and end is not None and start > end:
            raise _bad(f"interval starts ({start}) after it ends ({end})")
        if isinstance(n, ast.TimeAfter):
            return Compare(name, ">", end) if end is not None else In(name, ())
        if isinstance(n, ast.TimeBefore):
            return Compare(name, "<", start) if start is not None else In(name, ())
        inside = [c for c in (None if start is None else Compare(name, ">=", start),
                              None if end is None else Compare(name, "<=", end)) if c]
        within = And(tuple(inside)) if inside else Not(IsNull(name))
        if isinstance(n, (ast.TimeOverlaps, ast.TimeEquals)):  # pygeofilter: T_INTERSECTS
            return within
        if isinstance(n, ast.TimeDisjoint):
            return And((Not(IsNull(name)), Not(within)))
        raise _bad(f"{type(n).__name__} is not supported; temporal functions here are "
                   "T_INTERSECTS, T_AFTER, T_BEFORE, T_EQUALS, T_DISJOINT")


def _utc_text(moment: datetime) -> str:
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment.isoformat(timespec="seconds")


def _show(v: Any) -> str:
    return repr(v)[:60]
