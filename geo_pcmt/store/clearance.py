"""The index that serves the clearance filter, and keyset (seek) paging, on both stores.

Every read of a record layer by an analyst or a commander carries the row scope
``confidentiality IN ('public', 'restricted')`` (:func:`geo_pcmt.access.row_filter`), and
pages come in stored order (``ORDER BY fid``). A plain index on ``confidentiality`` cannot
give rows of *two* values in ``fid`` order, so SQLite read every matching row and sorted
them for each page: an ``offset=99000`` page cost 316 ms against 22 ms for the one-value
scope of a viewer (100 000 points, measured). The fix is an index whose single key value
covers the multi-value scope, so its entries (key, fid) are in ``fid`` order:

* GeoPackage: an index on the expression ``(confidentiality IN ('public','restricted'))``;
  a read whose ``where`` holds exactly that scope tests ``(…) = 1`` (the same expression,
  the levels written as literals, so that SQLite matches it to the index). A page at
  ``offset=99000`` then costs about 15 ms, a keyset page (``fid > after``) 0.2 ms.
* PostGIS: partial indexes on ``fid`` with each role's scope as predicate.

The levels inlined are the schema's constants (:data:`CLEARED_LEVELS`, checked to be plain
lowercase words), never a caller's text. Both forms select exactly the rows the ``IN``
list does (a missing level, ``NULL``, matches neither).
"""
from __future__ import annotations

import re
from typing import Any

from geo_pcmt.layers import CONFIDENTIALITY_LEVELS, Layer
from geo_pcmt.store.base import quote_ident as _q

#: The multi-level row scope the index serves: every level but the top one (what analysts
#: and commanders read). One level (viewers: ``public``) is served by the plain index.
CLEARED_LEVELS: tuple[str, ...] = CONFIDENTIALITY_LEVELS[:-1]
assert all(re.fullmatch(r"[a-z]+", v) for v in CLEARED_LEVELS)
COLUMN = "confidentiality"


def has_scope(layer: Layer) -> bool:
    """Whether reads of ``layer`` carry a clearance scope (it has the column)."""
    return COLUMN in layer.field_names


def is_cleared_scope(column: str, value: Any) -> bool:
    """Whether a ``where`` entry is exactly the multi-level scope of :data:`CLEARED_LEVELS`
    (any order, no other value)."""
    return (column == COLUMN and isinstance(value, (list, tuple, set, frozenset))
            and len(value) == len(CLEARED_LEVELS) and set(value) == set(CLEARED_LEVELS))


def _in_list() -> str:
    return "(" + ",".join(f"'{v}'" for v in CLEARED_LEVELS) + ")"


def sqlite_expression(alias: str = "") -> str:
    """The indexed SQLite expression (with a table alias prefix such as ``"t."``)."""
    return f"({alias}{_q(COLUMN)} IN {_in_list()})"


def sqlite_condition(alias: str = "") -> str:
    """The condition a GeoPackage read uses for the scope: the indexed expression ``= 1``."""
    return f"{sqlite_expression(alias)} = 1"


def sqlite_index(layer: Layer) -> str | None:
    """``CREATE INDEX`` of the clearance index of a GeoPackage table (None: no column)."""
    if not has_scope(layer):
        return None
    name = _q(f"ix_{layer.name}_clearance")
    return f"CREATE INDEX IF NOT EXISTS {name} ON {_q(layer.name)}({sqlite_expression()})"


def postgres_indexes(layer: Layer, table: str) -> list[str]:
    """``CREATE INDEX`` statements of the partial indexes on ``fid`` for each role's scope
    (``public``; ``public, restricted``), ``table`` quoted with its schema; none when the
    layer has no confidentiality column. PostgreSQL uses one when the query's ``IN`` list
    implies its predicate, and walks it in ``fid`` order."""
    if not has_scope(layer):
        return []
    out = []
    for top in range(1, len(CLEARED_LEVELS) + 1):
        levels = CLEARED_LEVELS[:top]
        name = _q(f"ix_{layer.name}_upto_{levels[-1]}")
        values = ",".join(f"'{v}'" for v in levels)
        out.append(f"CREATE INDEX IF NOT EXISTS {name} ON {table} (fid) "
                   f"WHERE {_q(COLUMN)} IN ({values})")
    return out


def check_after(after: Any) -> int | None:
    """A keyset cursor as the stores take it: None, or a whole number ≥ 0 (the ``fid`` of
    the last row of the previous page); ``ValueError`` otherwise."""
    if after is None:
        return None
    if isinstance(after, bool) or not isinstance(after, int) or after < 0:
        raise ValueError(f"after must be a whole number ≥ 0, got {after!r}")
    return int(after)
