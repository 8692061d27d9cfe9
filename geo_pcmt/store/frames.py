"""Turn frames into schema-shaped rows and back; shared by every store backend."""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from datetime import date, datetime, timezone
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from geo_pcmt.crs import STORAGE_CRS
from geo_pcmt.layers import Layer
from geo_pcmt.store.base import StoreError

_PANDAS_DTYPES = {"str": object, "date": object, "datetime": object, "int": "Int64",
                  "float": "float64", "bool": "boolean"}
_GEOMETRY_FAMILIES = {
    "Point": {"Point"},
    "MultiPolygon": {"Polygon", "MultiPolygon"},
    "MultiLineString": {"LineString", "MultiLineString"},
    "LineString": {"LineString"},
    "Geometry": {"Point", "MultiPoint", "Polygon", "MultiPolygon", "LineString", "MultiLineString"},
}


def now_iso() -> str:
    """Current UTC time as ISO 8601 with seconds, e.g. ``2026-11-25T18:00:00Z``."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _py(value: Any, ftype: str, layer: str, column: str, row: Any) -> Any:
    """One cell as the Python value the store keeps (None for missing)."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA \
            or value is pd.NaT:
        return None
    try:
        if ftype == "str":
            return str(value)
        if ftype == "int":
            if isinstance(value, float) and not value.is_integer():
                raise ValueError("not a whole number")
            return int(value)
        if ftype == "float":
            out = float(value)
            if not math.isfinite(out):
                raise ValueError("not a finite number")
            return out
        if ftype == "bool":
            if isinstance(value, str):
                low = value.strip().lower()
                if low in ("true", "1", "yes", "có", "co"):
                    return True
                if low in ("false", "0", "no", "không", "khong"):
                    return False
                raise ValueError("not true/false")
            return bool(value)
        if ftype == "date":
            if isinstance(value, (datetime, pd.Timestamp)):
                return value.date().isoformat()
            if isinstance(value, date):
                return value.isoformat()
            return date.fromisoformat(str(value)[:10]).isoformat()
        if ftype == "datetime":
            if isinstance(value, (datetime, pd.Timestamp)):
                return pd.Timestamp(value).isoformat()
            return str(pd.Timestamp(str(value)).isoformat())
    except (TypeError, ValueError) as exc:
        raise StoreError(f"layer {layer}: row {row}, field {column!r}: value {value!r} is not "
                         f"a valid {ftype} ({exc})") from None
    return value


def check_frame(layer: Layer, frame: pd.DataFrame) -> None:
    """Refuse frames that do not fit the layer: unknown columns, missing ids, wrong CRS."""
    geom_name = frame.geometry.name if isinstance(frame, gpd.GeoDataFrame) else None
    unknown = [c for c in frame.columns if c != geom_name and c not in layer.field_names]
    if unknown:
        raise StoreError(f"layer {layer.name}: unknown column(s) {', '.join(map(str, unknown))}")
    if "id" not in frame.columns or frame["id"].isna().any():
        raise StoreError(f"layer {layer.name}: every row needs an 'id'")
    dup = frame["id"].astype(str)
    dup = dup[dup.duplicated()]
    if len(dup):
        raise StoreError(f"layer {layer.name}: duplicate id(s) in the frame: "
                         f"{', '.join(dup.unique()[:5])}")
    if layer.has_geometry:
        if geom_name is None:
            raise StoreError(f"layer {layer.name}: a geometry column is required")
        crs = frame.crs
        if crs is None or pyproj.CRS.from_user_input(crs) != pyproj.CRS.from_user_input(STORAGE_CRS):
            raise StoreError(f"layer {layer.name}: geometries must be in {STORAGE_CRS} "
                             f"(lon/lat), got {crs}")
        types = set(frame.geometry.geom_type.dropna().unique())
        bad = types - _GEOMETRY_FAMILIES[layer.geometry_type]
        if bad:
            raise StoreError(f"layer {layer.name}: geometry type(s) {sorted(bad)} not allowed "
                             f"(expects {layer.geometry_type})")


def rows(layer: Layer, frame: pd.DataFrame) -> tuple[list[str], list[list[Any]]]:
    """Schema columns present in ``frame`` and the rows as Python values.

    Converted column by column (a cell's conversion depends only on its field's type;
    repeated values such as dates and codes are converted once), so a million rows take
    about a second; the error names the first bad row, then field in schema order, as a
    row-by-row pass would.
    """
    cols, columns = _columns(layer, frame)
    return cols, [list(r) for r in zip(*columns)] if cols else [[] for _ in range(len(frame))]


def _columns(layer: Layer, frame: pd.DataFrame) -> tuple[list[str], list[list[Any]]]:
    """Schema columns present in ``frame`` and their cells as Python values, one list per
    column (see :func:`rows`)."""
    cols = [f.name for f in layer.fields if f.name in frame.columns]
    types = {f.name: f.type for f in layer.fields}
    labels = frame.index
    converted, first = [], None  # first: (row position, column position, error)
    for j, c in enumerate(cols):
        try:
            converted.append(_convert_column(frame[c].to_numpy(dtype=object), types[c],
                                             layer.name, c, labels))
        except _CellError as bad:
            converted.append(None)
            if first is None or bad.position < first[0]:
                first = (bad.position, j, bad.error)
    if first is not None:
        raise first[2]
    return cols, converted


class _CellError(Exception):
    """A cell that does not convert: its row position and the StoreError naming it."""

    def __init__(self, position: int, error: StoreError):
        super().__init__(str(error))
        self.position, self.error = position, error


def _convert_column(values: np.ndarray, ftype: str, layer: str, column: str,
                    labels: pd.Index) -> list[Any]:
    """One column's cells as the Python values the store keeps (see :func:`_py`)."""
    cells = values.tolist()
    if ftype == "str" and all(v.__class__ is str for v in cells):  # as validation leaves them
        return cells
    kinds = {v.__class__ for v in cells} - {type(None)}
    if ftype != "str" and len(kinds) == 1 and kinds <= {str, bool, int}:
        return _convert_distinct(values, ftype, layer, column, labels)  # one kind, blanks
    missing = pd.isna(values)
    if ftype == "str":
        return [None if m else (v if v.__class__ is str else str(v))
                for v, m in zip(cells, missing.tolist())]
    memo: dict = {}
    out: list[Any] = []
    for n, (v, m) in enumerate(zip(cells, missing.tolist())):
        if m:
            out.append(None)
            continue
        if v.__class__ is float:  # cheap to convert, and -0.0 == 0.0 would share a memo
            try:
                out.append(_py(v, ftype, layer, column, labels[n]))
            except StoreError as exc:
                raise _CellError(n, exc) from None
            continue
        key = (v.__class__, v)
        try:
            out.append(memo[key])
        except KeyError:
            try:
                memo[key] = _py(v, ftype, layer, column, labels[n])
            except StoreError as exc:
                raise _CellError(n, exc) from None
            out.append(memo[key])
        except TypeError:  # not hashable
            try:
                out.append(_py(v, ftype, layer, column, labels[n]))
            except StoreError as exc:
                raise _CellError(n, exc) from None
    return out


def _convert_distinct(values: np.ndarray, ftype: str, layer: str, column: str,
                      labels: pd.Index) -> list[Any]:
    """:func:`_convert_column` of a column holding one kind of value (and None): each
    distinct value converted once; an error names the first row holding a bad value."""
    codes, distinct = pd.factorize(values)  # None → -1, distinct in order of appearance
    converted = np.empty(len(distinct) + 1, dtype=object)  # the last: None, for code -1
    for k, v in enumerate(distinct.tolist()):
        try:
            converted[k] = _py(v, ftype, layer, column, None)
        except StoreError:
            at = int(np.argmax(codes == k))
            raise _CellError(at, _py_error(v, ftype, layer, column, labels[at])) from None
    return converted[codes].tolist()


def _py_error(value: Any, ftype: str, layer: str, column: str, row: Any) -> StoreError:
    """The error :func:`_py` raises for ``value`` in ``row``."""
    try:
        _py(value, ftype, layer, column, row)
    except StoreError as exc:
        return exc
    raise AssertionError("the value converts")  # pragma: no cover


def empty_frame(layer: Layer, columns: list[str] | None = None) -> pd.DataFrame:
    """A zero-row frame with the layer's columns and dtypes."""
    cols = columns or layer.field_names
    data = {c: pd.Series([], dtype=_PANDAS_DTYPES[layer.field(c).type]) for c in cols}
    if layer.has_geometry:
        return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries([], crs=STORAGE_CRS), crs=STORAGE_CRS)
    return pd.DataFrame(data)


def read_columns(layer: Layer, columns, limit: int | None, offset: int) -> list[str]:
    """Check a read's arguments (every backend's ``read``) and return the columns to select:
    the requested ones (all by default), each known to the schema, with ``id`` first if
    missing. ``KeyError`` for an unknown column, ``StoreError`` for negative paging."""
    if limit is not None and limit < 0 or offset < 0:
        raise StoreError("limit and offset must be ≥ 0")
    cols = list(columns) if columns is not None else layer.field_names
    for c in cols:
        layer.field(c)
    if "id" not in cols:
        cols.insert(0, "id")
    return cols


def typed(layer: Layer, data: dict[str, list], geometry=None) -> pd.DataFrame:
    """Build a frame with the layer's dtypes from column lists."""
    frame = pd.DataFrame({c: pd.Series(v, dtype=_PANDAS_DTYPES[layer.field(c).type])
                          for c, v in data.items()})
    if layer.has_geometry:
        # a GeometryArray carrying the CRS object made once: geopandas parsed and compared
        # the CRS text on every read (a third of building a 100-row API page)
        geoms = np.asarray(geometry if geometry is not None else [], dtype=object)
        return gpd.GeoDataFrame(frame, geometry=gpd.array.from_shapely(geoms, crs=_STORAGE))
    return frame


_STORAGE = pyproj.CRS.from_user_input(STORAGE_CRS)


PANDAS_DTYPES = _PANDAS_DTYPES


# --- value checks and row preparation shared by the backends' write paths ------------------

_INT64_MIN, _INT64_MAX = -(2 ** 63), 2 ** 63 - 1
_MULTI = {"MultiPolygon": ("Polygon", shapely.MultiPolygon),
          "MultiLineString": ("LineString", shapely.MultiLineString)}


def check_values(layer: Layer, cols: list[str], values: list[list[Any]], index: Any) -> None:
    """Refuse values that no backend should keep, naming the row and field.

    Text longer than the field's ``max_length`` (a 10 MB string is an attack, not a name),
    text with NUL characters or lone surrogates (neither UTF-8 nor storable in PostgreSQL),
    values outside a field's ``allowed`` set, numbers below its ``minimum`` and integers
    beyond 64 bits. Checked column by column (fast), reported for the first offending row.

    Raises
    ------
    StoreError
        For the first row (then field, in schema order) holding such a value.
    """
    _check_columns(layer, cols, [[r[j] for r in values] for j in range(len(cols))], index)


def _check_columns(layer: Layer, cols: list[str], columns: list[list[Any]], index: Any) -> None:
    """:func:`check_values` of the values held column by column."""
    first: tuple[int, int, str] | None = None  # (row, column, problem)
    for j, c in enumerate(cols):
        f = layer.field(c)
        bad = _first_bad(f, columns[j])
        if bad is not None and (first is None or bad[0] < first[0]):
            first = (bad[0], j, bad[1])
    if first is not None:
        n, j, problem = first
        raise StoreError(f"layer {layer.name}: row {index[n]}, field {cols[j]!r}: {problem}")


def _problem(f, v: Any) -> str | None:
    """What is wrong with one (non-missing) value of field ``f``, or None."""
    if isinstance(v, str):
        if len(v) > f.max_length:
            return f"text of {len(v)} characters, longer than {f.max_length}"
        if "\x00" in v:
            return "text contains a NUL character"
        try:
            v.encode("utf-8")
        except UnicodeEncodeError:
            return "text is not valid Unicode (lone surrogate)"
        if f.allowed is not None and v not in f.allowed:
            return f"{v[:40]!r} is not one of {', '.join(f.allowed)}"
        return None
    if isinstance(v, bool):
        return None
    if isinstance(v, int) and not _INT64_MIN <= v <= _INT64_MAX:
        return "integer does not fit in 64 bits"
    if f.minimum is not None and isinstance(v, (int, float)) and v < f.minimum:
        return f"{v} is below the minimum {f.minimum:g}"
    return None


def _first_bad(f, column: list[Any]) -> tuple[int, str] | None:
    """(row position, problem) of the first bad value in a column; cheap when all are good."""
    present = [v for v in column if v is not None]
    if not present:
        return None
    suspect = False
    if f.type == "str":
        joined = "".join(present)
        suspect = (max(map(len, present)) > f.max_length or "\x00" in joined
                   or (f.allowed is not None and not set(present) <= set(f.allowed)))
        if not suspect:
            try:
                joined.encode("utf-8")
            except UnicodeEncodeError:
                suspect = True
    elif f.type in ("int", "float"):
        numbers = [v for v in present if not isinstance(v, bool)]
        suspect = bool(numbers) and (
            (f.minimum is not None and min(numbers) < f.minimum)
            or (f.type == "int" and (min(numbers) < _INT64_MIN or max(numbers) > _INT64_MAX)))
    if not suspect:
        return None
    for n, v in enumerate(column):
        problem = None if v is None else _problem(f, v)
        if problem:
            return n, problem
    return None


def geometries(layer: Layer, frame: gpd.GeoDataFrame) -> np.ndarray:
    """The frame's geometries as the layer stores them, after checking their coordinates.

    Single parts are promoted to the layer's multi type (a Polygon in a MultiPolygon layer
    becomes a one-part MultiPolygon), as the GeoPackage specification and PostGIS typed
    columns require. Coordinates must be finite lon/lat degrees.

    Raises
    ------
    StoreError
        For NaN/infinite coordinates or coordinates outside [-180, 180] × [-90, 90].
    """
    geoms = np.asarray(frame.geometry.values, dtype=object).copy()
    present = np.array([g is not None for g in geoms], dtype=bool)
    if present.any():
        coords, owner = shapely.get_coordinates(geoms[present], return_index=True)
        bad = ~np.isfinite(coords).all(axis=1)
        bad[~bad] = (np.abs(coords[~bad, 0]) > 180) | (np.abs(coords[~bad, 1]) > 90)
        if bad.any():
            i = np.flatnonzero(present)[owner[np.flatnonzero(bad)[0]]]
            x, y = coords[np.flatnonzero(bad)[0]]
            raise StoreError(f"layer {layer.name}: row {frame.index[i]}, field 'geometry': "
                             f"coordinate ({x}, {y}) is not a finite lon/lat in degrees")
    multi = _MULTI.get(layer.geometry_type)
    if multi is not None:
        single, make = multi
        for i in np.flatnonzero(present):
            if geoms[i].geom_type == single:
                geoms[i] = make([geoms[i]]) if not geoms[i].is_empty else make()
    return geoms


@dataclass
class PreparedRows:
    """A frame turned into what a backend inserts: column names, the values column by
    column (``columns``) or row by row (``values``, made when first asked for), ids,
    geometries."""

    cols: list[str]
    columns: list[list[Any]]
    ids: list[str]
    geometries: np.ndarray | None

    @cached_property
    def values(self) -> list[list[Any]]:
        """The rows, each a list of the values of ``cols``."""
        return [list(r) for r in zip(*self.columns)] if self.cols else \
            [[] for _ in range(len(self.ids))]


def prepare(layer: Layer, frame: pd.DataFrame, stamp: str | None = None, *,
            keep_updated_at: bool = False) -> PreparedRows:
    """Check ``frame`` against ``layer`` and turn it into rows ready to insert.

    Sets ``updated_at`` to ``stamp`` (default now; with ``keep_updated_at`` only where the
    frame has none, as a migration needs), ``created_at`` where missing and the layer's
    default ``confidentiality`` where missing, then checks required values and every value
    (:func:`check_values`) and the geometries (:func:`geometries`). Works column by column.

    Raises
    ------
    StoreError
        Naming the row and field of the first problem; nothing has been written.
    """
    check_frame(layer, frame)
    cols, columns = _columns(layer, frame)
    n = len(frame)
    stamp = stamp or now_iso()
    names = layer.field_names
    for extra in ("created_at", "updated_at"):
        if extra in names and extra not in cols:
            cols.append(extra)
            columns.append([None] * n)
    if "updated_at" in cols:
        i_upd, i_cre = cols.index("updated_at"), cols.index("created_at")
        columns[i_upd] = [v or stamp for v in columns[i_upd]] if keep_updated_at \
            else [stamp] * n
        columns[i_cre] = [v or stamp for v in columns[i_cre]]
    if "confidentiality" in names:
        if "confidentiality" not in cols:
            cols.append("confidentiality")
            columns.append([None] * n)
        i_conf = cols.index("confidentiality")
        default = layer.confidentiality_default
        columns[i_conf] = [v or default for v in columns[i_conf]]
    missing = [f for f in layer.required_fields if f not in cols]
    if missing:
        raise StoreError(f"layer {layer.name}: required column(s) missing: {', '.join(missing)}")
    for f in layer.required_fields:
        at = next((k for k, v in enumerate(columns[cols.index(f)]) if v is None), None)
        if at is not None:
            raise StoreError(f"layer {layer.name}: row {frame.index[at]}, field {f!r}: "
                             "required value is missing")
    _check_columns(layer, cols, columns, frame.index)
    geoms = geometries(layer, frame) if layer.has_geometry else None
    ids = columns[cols.index("id")]
    ids = list(ids) if all(v.__class__ is str for v in ids) else [str(v) for v in ids]
    return PreparedRows(cols, columns, ids, geoms)
