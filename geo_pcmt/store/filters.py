"""Filter expressions the stores run (CQL2 after checking), and their SQLite translation.

A :class:`Filter` is built from typed nodes (:class:`Compare`, :class:`Like`, :class:`In`,
:class:`Between`, :class:`IsNull`, :class:`Intersects`, :class:`And`, :class:`Or`,
:class:`Not`) and checked against a layer's schema when made (:meth:`Filter.of`): every
field exists, every value has the field's type. The stores take only such a ``Filter``
(never text) and bind every value; column names come from the schema and are quoted.
The web layer parses CQL2 into these nodes (:mod:`geo_pcmt.web.ogcapi.filters`).

Dates are ISO text (``YYYY-MM-DD``), date-times ISO text to the second
(``YYYY-MM-DDTHH:MM:SS``, UTC): as the stores keep them. A comparison with a date-time
covers that whole second, as the ``where`` ranges of the stores do.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Union

import shapely

from geo_pcmt.layers import Layer
from geo_pcmt.store.base import quote_ident as _q

OPS = ("=", "<>", "<", "<=", ">", ">=")
_TEXT_MAX = "\uffff"  # "through the end of this second": the stores' convention
_MAX_NODES = 1000


@dataclass(frozen=True)
class Compare:
    """``field op value`` (``op`` one of ``= <> < <= > >=``)."""

    field: str
    op: str
    value: Any


@dataclass(frozen=True)
class Like:
    """``field LIKE pattern``: ``%`` any text, ``_`` one character, ``\\`` escapes; case
    sensitive, as CQL2 says."""

    field: str
    pattern: str


@dataclass(frozen=True)
class In:
    field: str
    values: tuple


@dataclass(frozen=True)
class Between:
    """``low <= field <= high``."""

    field: str
    low: Any
    high: Any


@dataclass(frozen=True)
class IsNull:
    field: str


@dataclass(frozen=True)
class Intersects:
    """The feature's geometry intersects ``wkb`` (a geometry in EPSG:4326, lon/lat)."""

    wkb: bytes

    @property
    def geometry(self):
        return shapely.from_wkb(self.wkb)


@dataclass(frozen=True)
class And:
    items: tuple


@dataclass(frozen=True)
class Or:
    items: tuple


@dataclass(frozen=True)
class Not:
    item: Any


Node = Union[Compare, Like, In, Between, IsNull, Intersects, And, Or, Not]
_FIELD_NODES = (Compare, Like, In, Between, IsNull)


def _walk(node: Node):
    yield node
    if isinstance(node, (And, Or)):
        for item in node.items:
            yield from _walk(item)
    elif isinstance(node, Not):
        yield from _walk(node.item)


def _typed_ok(ftype: str, value: Any) -> bool:
    if ftype == "str":
        return isinstance(value, str)
    if ftype == "int":
        return isinstance(value, int) and not isinstance(value, bool) and -2**63 <= value < 2**63
    if ftype == "float":
        return isinstance(value, (int, float)) and not isinstance(value, bool) \
            and value == value and abs(value) != float("inf")
    if ftype == "bool":
        return isinstance(value, bool)
    if ftype == "date":
        return isinstance(value, str) and _is_date(value)
    if ftype == "datetime":
        return isinstance(value, str) and len(value) in (10, 19) and _is_date(value[:10])
    return False


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10


@dataclass(frozen=True)
class Filter:
    """A checked filter on one layer. Make it with :meth:`of`; stores refuse anything else.

    Examples
    --------
    >>> from geo_pcmt.layers import get_layer
    >>> f = Filter.of(And((Compare("status", "=", "active"), IsNull("cleared_on"))),
    ...               get_layer("retail_points"))
    >>> sorted(f.fields)
    ['cleared_on', 'status']
    """

    layer: str
    expr: Node

    @classmethod
    def of(cls, expr: Node, layer: Layer) -> "Filter":
        """Check ``expr`` against ``layer`` (``KeyError`` for an unknown field,
        ``ValueError`` for a value of the wrong type or a spatial test on a layer without
        geometry) and wrap it."""
        nodes = list(_walk(expr))
        if len(nodes) > _MAX_NODES:
            raise ValueError(f"filter too long: more than {_MAX_NODES} conditions")
        for node in nodes:
            if isinstance(node, _FIELD_NODES):
                ftype = layer.field(node.field).type
                values = {Compare: lambda n: [n.value], Like: lambda n: [n.pattern],
                          In: lambda n: list(n.values), Between: lambda n: [n.low, n.high],
                          IsNull: lambda n: []}[type(node)](node)
                if isinstance(node, Compare) and node.op not in OPS:
                    raise ValueError(f"unknown comparison {node.op!r}")
                if isinstance(node, Like) and ftype != "str":
                    raise ValueError(f"LIKE needs a text field; {node.field!r} is {ftype}")
                for v in values:
                    if not _typed_ok(ftype, v):
                        raise ValueError(f"field {node.field!r} ({ftype}) cannot be compared "
                                         f"with {v!r}")
            elif isinstance(node, Intersects):
                if not layer.has_geometry:
                    raise ValueError(f"layer {layer.name} has no geometry")
            elif not isinstance(node, (And, Or, Not)):
                raise ValueError(f"not a filter node: {type(node).__name__}")
        return cls(layer.name, expr)

    @property
    def fields(self) -> set[str]:
        """The fields the filter reads (its values tell about them: see access.read)."""
        return {n.field for n in _walk(self.expr) if isinstance(n, _FIELD_NODES)}

    def key(self) -> str:
        """A stable text form, for remembering counts."""
        return repr(self.expr)


def glob_pattern(pattern: str) -> str:
    """A CQL2 LIKE pattern as an SQLite GLOB pattern (case sensitive, as CQL2 LIKE)."""
    out, escaped = [], False
    for ch in pattern:
        if escaped:
            out.append(f"[{ch}]" if ch in "*?[" else ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == "%":
            out.append("*")
        elif ch == "_":
            out.append("?")
        elif ch in "*?[":
            out.append(f"[{ch}]")
        else:
            out.append(ch)
    if escaped:
        out.append("[\\]")
    return "".join(out)


def sql_like_pattern(pattern: str) -> str:
    """A CQL2 LIKE pattern as an SQL LIKE pattern with ``\\`` as its escape character."""
    trailing = len(pattern) - len(pattern.rstrip("\\"))
    return pattern + "\\" if trailing % 2 else pattern  # a lone final escape is literal


def bound(ftype: str, op: str, value: Any) -> Any:
    """The text bound for a date-time comparison: ``> t`` and ``<= t`` reach past the whole
    second of ``t`` (stored values may carry fractions or a zone suffix)."""
    if ftype == "datetime" and op in (">", "<=", "high") and isinstance(value, str):
        return value + _TEXT_MAX
    return value


class SQLiteFilter:
    """SQL (with ``?`` parameters) for a :class:`Filter` on a GeoPackage table.

    Parameters
    ----------
    layer : Layer
        The layer's schema.
    geom : str or None
        The geometry column; ``rtree`` its R-tree table (quoted); ``alias`` a table alias
        prefix such as ``"t."``.
    """

    def __init__(self, layer: Layer, geom: str | None, rtree: str | None, alias: str = ""):
        self.layer, self.geom, self.rtree, self.alias = layer, geom, rtree, alias

    def sql(self, flt: "Filter") -> tuple[str, list]:
        if not isinstance(flt, Filter) or flt.layer != self.layer.name:
            raise TypeError("a store filter must be a Filter made for this layer")
        params: list = []
        return self._node(flt.expr, params), params

    def _col(self, name: str) -> str:
        self.layer.field(name)
        return self.alias + _q(name)

    def _value(self, field: str, op: str, value: Any) -> Any:
        ftype = self.layer.field(field).type
        if ftype == "bool":
            return int(value)
        return bound(ftype, op, value)

    def _node(self, node: Node, params: list) -> str:
        if isinstance(node, And):
            return "(" + " AND ".join(self._node(n, params) for n in node.items) + ")"
        if isinstance(node, Or):
            return "(" + " OR ".join(self._node(n, params) for n in node.items) + ")"
        if isinstance(node, Not):
            return f"(NOT {self._node(node.item, params)})"
        if isinstance(node, Compare):
            col = self._col(node.field)
            ftype = self.layer.field(node.field).type
            if ftype == "datetime" and node.op in ("=", "<>"):  # the whole second
                params += [node.value, node.value + _TEXT_MAX]
                inside = f"({col} >= ? AND {col} <= ?)"
                return inside if node.op == "=" else f"(NOT {inside})"
            params.append(self._value(node.field, node.op, node.value))
            return f"({col} {node.op} ?)"
        if isinstance(node, Like):
            params.append(glob_pattern(node.pattern))
            return f"({self._col(node.field)} GLOB ?)"
        if isinstance(node, In):
            if not node.values:
                return "(0)"
            values = [self._value(node.field, "=", v) for v in node.values]
            params += values
            return f"({self._col(node.field)} IN ({','.join('?' * len(values))}))"
        if isinstance(node, Between):
            params += [self._value(node.field, "low", node.low),
                       self._value(node.field, "high", node.high)]
            return f"({self._col(node.field)} BETWEEN ? AND ?)"
        if isinstance(node, IsNull):
            return f"({self._col(node.field)} IS NULL)"
        if isinstance(node, Intersects):
            if self.geom is None:
                raise ValueError(f"layer {self.layer.name} has no geometry")
            minx, miny, maxx, maxy = shapely.bounds(node.geometry)
            params += [float(maxx), float(minx), float(maxy), float(miny), node.wkb]
            fid = self.alias + "fid"
            return (f"({fid} IN (SELECT id FROM {self.rtree} WHERE minx <= ? AND maxx >= ? "
                    f"AND miny <= ? AND maxy >= ?) AND gp_intersects({self.alias}"
                    f"{_q(self.geom)}, ?))")
        raise TypeError(f"not a filter node: {type(node).__name__}")
