"""PostGIS tables and values: the SQLAlchemy table of a layer, how filter values bind, how
dates read back as ISO text, and rows loaded with ``COPY``."""
from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.engine import make_url

from geo_pcmt.layers import Layer
from geo_pcmt.store import frames
from geo_pcmt.store.base import BBox, StoreError, Where
from geo_pcmt.store.base import quote_ident as _q

SRID = 4326
GEOM = "geom"  # the geometry column of every spatial table
_SA_TYPES = {"str": sa.Text, "int": sa.BigInteger, "float": lambda: sa.Float(precision=53),
             "bool": sa.Boolean, "date": sa.Date, "datetime": lambda: sa.DateTime(timezone=True)}
_PG_GEOMETRY = {"Point": "POINT", "LineString": "LINESTRING", "MultiPolygon": "MULTIPOLYGON",
                "MultiLineString": "MULTILINESTRING", "Geometry": "GEOMETRY"}


def table_for(layer: Layer, metadata: sa.MetaData) -> sa.Table:
    """The SQLAlchemy table of a layer: typed columns, unique ``id``, GiST-indexed geometry."""
    cols = [sa.Column("fid", sa.BigInteger, sa.Identity(always=False), primary_key=True)]
    for f in layer.fields:
        cols.append(sa.Column(f.name, _SA_TYPES[f.type](), nullable=not f.required,
                              unique=f.name == "id", comment=f.label_en or None))
    if layer.has_geometry:
        cols.append(sa.Column(GEOM, Geometry(_PG_GEOMETRY[layer.geometry_type], srid=SRID,
                                             spatial_index=True)))
    return sa.Table(layer.name, metadata, *cols,
                    comment=f"{layer.title_vi} — {layer.title_en}. {layer.description}".strip())


def _url(url: str) -> sa.URL:
    """``postgresql://`` or ``postgres://`` → the psycopg 3 driver URL."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1)
                      if url.startswith("postgres://") else url)
    return parsed.set(drivername="postgresql+psycopg")


def _db_message(exc: Exception) -> str:
    """The server's own words for a failed statement, without SQLAlchemy's wrapping."""
    orig = getattr(exc, "orig", None) or exc
    diag = getattr(orig, "diag", None)
    primary = getattr(diag, "message_primary", None) if diag else None
    return primary or str(orig).strip().splitlines()[0]


def _as_text(col: sa.ColumnElement, ftype: str) -> sa.ColumnElement:
    """Dates and datetimes as the ISO text the GeoPackage backend returns, formatted by the
    server (much faster than in Python): ``2024-02-29``, ``2024-03-01T01:30:00Z`` (UTC, with
    ``.ffffff`` only when there are fractions of a second)."""
    if ftype == "date":
        return sa.func.to_char(col, "YYYY-MM-DD").label(col.name)
    if ftype == "datetime":
        utc = sa.func.timezone("UTC", col)
        fraction = sa.case((sa.func.to_char(utc, "US") != "000000",
                            sa.func.to_char(utc, ".US")), else_="")
        return (sa.func.to_char(utc, 'YYYY-MM-DD"T"HH24:MI:SS') + fraction + "Z").label(col.name)
    return col


_TEXT_MAX = "\uffff"  # GeoPackage compares ISO text; "…T08:00:00\uffff" means "to the end of it"


def _utc_columns(layer: Layer, cols: list[str], values: list[list[Any]]) -> None:
    """Give naive datetimes an explicit UTC offset, in place, so the server's TimeZone
    setting never shifts them (the same rule as :func:`_bind` for filters)."""
    for i, c in enumerate(cols):
        if c in layer.field_names and layer.field(c).type == "datetime":
            for r in values:
                v = r[i]
                if v is None or v.endswith("Z") or (len(v) > 19 and v[-6] in "+-"
                                                    and v[-3] == ":"):
                    continue  # already explicit (the common case: skip parsing)
                ts = pd.Timestamp(v)
                r[i] = (ts.tz_localize("UTC") if ts.tzinfo is None else ts).isoformat()


def _bind(layer: Layer, column: str, value: Any) -> Any:
    """A ``where`` value as the column's Python type (so ``"2024-01-01"`` binds as a date).

    Naive datetimes are UTC. A text bound ending in U+FFFF (how callers written for the
    text-comparing GeoPackage say "through the end of this second, or day") binds as the
    last microsecond of that second or day.
    """
    ftype = layer.field(column).type
    through_end = ftype in ("date", "datetime") and isinstance(value, str) \
        and value.endswith(_TEXT_MAX)
    if through_end:
        value = value.rstrip(_TEXT_MAX)
    out = frames._py(value, ftype, layer.name, column, "where")
    if ftype == "date" and out is not None:
        return date.fromisoformat(out)
    if ftype == "datetime" and out is not None:
        ts = pd.Timestamp(out)
        ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts
        if through_end:
            step = pd.Timedelta(days=1) if len(value.strip()) <= 10 else pd.Timedelta(seconds=1)
            ts = ts + step - pd.Timedelta(microseconds=1)
        return ts.to_pydatetime()
    return out


def _matchable(value: Any) -> bool:
    """Whether a filter value could equal a stored value (PostgreSQL text holds no NUL)."""
    if not isinstance(value, str):
        return True
    return "\x00" not in value and _encodable(value)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _storable(value: Any) -> Any:
    """A range bound PostgreSQL can take: text cut at a NUL, invalid characters dropped."""
    if not isinstance(value, str):
        return value
    value = value.split("\x00", 1)[0]
    return value if _encodable(value) else value.encode("utf-8", "ignore").decode("utf-8")


def _ewkb_hex(geoms: np.ndarray) -> list[str | None]:
    """Geometries as hex EWKB with SRID 4326, the text form ``COPY`` reads into ``geometry``."""
    with_srid = shapely.set_srid(geoms, SRID)
    return list(shapely.to_wkb(with_srid, hex=True, include_srid=True, flavor="extended"))


def _copy(cur, table: str, cols: list[str], rows) -> None:
    with cur.copy(f"COPY {table} ({', '.join(_q(c) for c in cols)}) FROM STDIN") as copy:
        for r in rows:
            copy.write_row(r)


def conditions(table: sa.Table, layer: Layer, bbox: BBox | None, where: Where | None) -> list:
    """SQL conditions for a ``where`` filter and a bounding box (see ``Store.read``): values
    bound as the column's type, text no row can hold matching nothing, as in SQLite."""
    conds = []
    for column, value in (where or {}).items():
        layer.field(column)  # KeyError for unknown columns: never interpolated
        col = table.c[column]
        if isinstance(value, slice):
            if value.start is not None:
                conds.append(col >= _bind(layer, column, _storable(value.start)))
            if value.stop is not None:
                conds.append(col <= _bind(layer, column, _storable(value.stop)))
        elif isinstance(value, (list, tuple, set, frozenset)):
            # text no row can hold (NUL, lone surrogates) matches nothing, as in SQLite
            values = [_bind(layer, column, v) for v in value if _matchable(v)]
            conds.append(col.in_(values) if values else sa.false())
        elif value is None:
            conds.append(col.is_(None))
        elif not _matchable(value):
            conds.append(sa.false())
        else:
            conds.append(col == _bind(layer, column, value))
    if bbox is not None:
        if not layer.has_geometry:
            raise StoreError(f"layer {layer.name} has no geometry; bbox does not apply")
        try:
            minx, miny, maxx, maxy = (float(v) for v in bbox)
        except (TypeError, ValueError):
            raise StoreError(f"bbox must be four numbers, got {bbox!r}") from None
        if not all(np.isfinite([minx, miny, maxx, maxy])):
            raise StoreError(f"bbox must be finite numbers, got {bbox!r}")
        env = sa.func.ST_MakeEnvelope(minx, miny, maxx, maxy, SRID)
        geom = table.c[GEOM]
        # && uses the GiST index; for points it is already the exact test.
        conds.append(geom.op("&&")(env))
        if layer.geometry_type != "Point":
            conds.append(sa.func.ST_Intersects(geom, env))
    return conds
