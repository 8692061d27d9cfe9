"""A checked :class:`~geo_pcmt.store.filters.Filter` as a SQLAlchemy condition on a PostGIS
table: values bound as the column's type (by :func:`~geo_pcmt.store.postgis_sql._bind`),
geometries as bound WKB, the same meaning as the GeoPackage translation."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from geo_pcmt.layers import Layer
from geo_pcmt.store.filters import (And, Between, Compare, Filter, In, Intersects, IsNull,
                                    Like, Node, Not, Or, bound, sql_like_pattern)
from geo_pcmt.store.postgis_sql import GEOM, SRID, _bind, _matchable, _storable

_OPS = {"=": "__eq__", "<>": "__ne__", "<": "__lt__", "<=": "__le__", ">": "__gt__",
        ">=": "__ge__"}


def condition(table: sa.Table, layer: Layer, flt: Filter) -> sa.ColumnElement:
    """The SQL condition of ``flt`` (made for ``layer``) on ``table``."""
    if not isinstance(flt, Filter) or flt.layer != layer.name:
        raise TypeError("a store filter must be a Filter made for this layer")
    return _node(table, layer, flt.expr)


def _value(layer: Layer, field: str, op: str, value: Any) -> Any:
    return _bind(layer, field, _storable(bound(layer.field(field).type, op, value)))


def _node(table: sa.Table, layer: Layer, node: Node) -> sa.ColumnElement:
    if isinstance(node, And):
        return sa.and_(*(_node(table, layer, n) for n in node.items))
    if isinstance(node, Or):
        return sa.or_(*(_node(table, layer, n) for n in node.items))
    if isinstance(node, Not):
        return sa.not_(_node(table, layer, node.item))
    if isinstance(node, Compare):
        col = table.c[node.field]
        if layer.field(node.field).type == "datetime" and node.op in ("=", "<>"):
            inside = sa.and_(col >= _value(layer, node.field, ">=", node.value),
                             col <= _value(layer, node.field, "<=", node.value))
            return inside if node.op == "=" else sa.not_(inside)
        if not _matchable(node.value) and node.op in ("=", "<>"):  # text no row can hold
            return sa.false() if node.op == "=" else col.isnot(None)
        return getattr(col, _OPS[node.op])(_value(layer, node.field, node.op, node.value))
    if isinstance(node, Like):
        if not _matchable(node.pattern):
            return sa.false()
        return table.c[node.field].like(sql_like_pattern(node.pattern), escape="\\")
    if isinstance(node, In):
        values = [_value(layer, node.field, "=", v) for v in node.values if _matchable(v)]
        return table.c[node.field].in_(values) if values else sa.false()
    if isinstance(node, Between):
        return table.c[node.field].between(_value(layer, node.field, "low", node.low),
                                           _value(layer, node.field, "high", node.high))
    if isinstance(node, IsNull):
        return table.c[node.field].is_(None)
    if isinstance(node, Intersects):
        other = sa.func.ST_GeomFromWKB(sa.literal(node.wkb, sa.LargeBinary), SRID)
        return sa.func.ST_Intersects(table.c[GEOM], other)
    raise TypeError(f"not a filter node: {type(node).__name__}")
