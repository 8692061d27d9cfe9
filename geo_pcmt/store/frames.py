"""Turn frames into schema-shaped rows and back; shared by every store backend."""
from __future__ import annotations

import math
from datetime import date, datetime, timezone
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj

from ..crs import STORAGE_CRS
from ..layers import Layer
from .base import StoreError

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
    """Schema columns present in ``frame`` and the rows as Python values."""
    cols = [f.name for f in layer.fields if f.name in frame.columns]
    types = {f.name: f.type for f in layer.fields}
    out = []
    values = {c: frame[c].to_numpy(dtype=object) for c in cols}
    for i in range(len(frame)):
        out.append([_py(values[c][i], types[c], layer.name, c, frame.index[i]) for c in cols])
    return cols, out


def empty_frame(layer: Layer, columns: list[str] | None = None) -> pd.DataFrame:
    """A zero-row frame with the layer's columns and dtypes."""
    cols = columns or layer.field_names
    data = {c: pd.Series([], dtype=_PANDAS_DTYPES[layer.field(c).type]) for c in cols}
    if layer.has_geometry:
        return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries([], crs=STORAGE_CRS), crs=STORAGE_CRS)
    return pd.DataFrame(data)


def typed(layer: Layer, data: dict[str, list], geometry=None) -> pd.DataFrame:
    """Build a frame with the layer's dtypes from column lists."""
    frame = pd.DataFrame({c: pd.Series(v, dtype=_PANDAS_DTYPES[layer.field(c).type])
                          for c, v in data.items()})
    if layer.has_geometry:
        return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(np.asarray(geometry, dtype=object)
                                                             if geometry is not None else [],
                                                             crs=STORAGE_CRS), crs=STORAGE_CRS)
    return frame


PANDAS_DTYPES = _PANDAS_DTYPES
