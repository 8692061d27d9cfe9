"""Export layers: RFC 7946 GeoJSON (streamed), GeoPackage, CSV and XLSX.

GeoJSON follows RFC 7946: WGS 84 lon/lat, exterior rings counter-clockwise (right-hand
rule), no ``crs`` member, coordinates rounded to ``precision`` decimals (6 ≈ 0.1 m), and an
``id`` on every feature.
"""
from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Any, Iterator

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from geo_pcmt.crs import STORAGE_CRS

DEFAULT_PRECISION = 6


def _clean(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return v if math.isfinite(v) else None
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def _column_values(series: pd.Series) -> list:
    """One column as JSON-ready Python values (None for missing), converted once per chunk."""
    kind = series.dtype.kind
    if kind in "iufb" and not series.isna().any():
        values = series.to_numpy().tolist()  # numpy scalars → int/float/bool in one call
        if kind == "f":
            return [v if math.isfinite(v) else None for v in values]
        return values
    return [_clean(v) for v in series.to_numpy(dtype=object)]


def rfc7946_geometries(geoms: np.ndarray, precision: int = DEFAULT_PRECISION) -> list[str | None]:
    """Geometries as RFC 7946 GeoJSON strings: right-hand rule, rounded coordinates."""
    geoms = np.asarray(geoms, dtype=object)
    geoms = shapely.orient_polygons(geoms, exterior_cw=False)
    geoms = shapely.transform(geoms, lambda c: np.round(c, precision))
    return list(shapely.to_geojson(geoms))


def iter_geojson(frame: pd.DataFrame, *, precision: int = DEFAULT_PRECISION,
                 id_column: str = "id", extra: dict | None = None,
                 chunk_size: int = 2000) -> Iterator[str]:
    """Yield an RFC 7946 FeatureCollection as text chunks (for streaming responses).

    ``extra`` adds top-level members (e.g. ``numberMatched``, ``links`` for OGC API).
    Non-spatial frames give features with ``"geometry": null``.
    """
    if isinstance(frame, gpd.GeoDataFrame) and frame.crs is not None \
            and not frame.crs.equals(STORAGE_CRS):
        frame = frame.to_crs(STORAGE_CRS)
    head = {"type": "FeatureCollection"}
    head.update(extra or {})
    text = json.dumps(head, ensure_ascii=False)
    yield text[:-1] + ', "features": ['
    geom_name = frame.geometry.name if isinstance(frame, gpd.GeoDataFrame) else None
    props = [c for c in frame.columns if c != geom_name]
    first = True
    for start in range(0, len(frame), chunk_size):
        part = frame.iloc[start:start + chunk_size]
        geoms = (rfc7946_geometries(part.geometry.values, precision) if geom_name
                 else [None] * len(part))
        columns = [_column_values(part[c]) for c in props]
        out = []
        for k, g in enumerate(geoms):
            rec = {c: col[k] for c, col in zip(props, columns)}
            fid = rec.get(id_column)
            out.append('{"type": "Feature", "id": ' + json.dumps(fid, ensure_ascii=False)
                       + ', "geometry": ' + (g if g is not None else "null")
                       + ', "properties": ' + json.dumps(rec, ensure_ascii=False) + "}")
        if out:
            yield ("" if first else ", ") + ", ".join(out)
            first = False
    yield "]}"


def to_geojson(frame: pd.DataFrame, **kwargs) -> str:
    """The whole FeatureCollection as one string (see :func:`iter_geojson`)."""
    return "".join(iter_geojson(frame, **kwargs))


def write_geojson(frame: pd.DataFrame, path: str | Path, **kwargs) -> Path:
    """Write an RFC 7946 GeoJSON file atomically (temp file, then rename)."""
    path = Path(path)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        for chunk in iter_geojson(frame, **kwargs):
            fh.write(chunk)
    tmp.replace(path)
    return path


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    """CSV (UTF-8 with BOM so Excel shows the diacritics) with lon/lat or WKT geometry."""
    out = _flat(frame)
    return out.to_csv(index=False).encode("utf-8-sig")


def _flat(frame: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(frame, gpd.GeoDataFrame):
        return pd.DataFrame(frame)
    geom = frame.geometry
    out = pd.DataFrame(frame.drop(columns=geom.name))
    if len(geom) and (geom.geom_type == "Point").all():
        out["lon"] = geom.x.round(DEFAULT_PRECISION)
        out["lat"] = geom.y.round(DEFAULT_PRECISION)
    else:
        out["wkt"] = shapely.to_wkt(geom.values, rounding_precision=DEFAULT_PRECISION)
    return out


def to_xlsx_bytes(frame: pd.DataFrame, sheet: str = "data") -> bytes:
    """An Excel workbook of the layer (geometry as lon/lat or WKT)."""
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xw:
        _flat(frame).to_excel(xw, index=False, sheet_name=sheet[:31])
    return buf.getvalue()


def write_gpkg(frame: pd.DataFrame, path: str | Path, layer: str) -> Path:
    """Write one layer to a new GeoPackage file (replacing the file atomically)."""
    path = Path(path)
    tmp = path.with_name(path.stem + ".tmp.gpkg")
    if tmp.exists():
        tmp.unlink()
    pyogrio.write_dataframe(frame, tmp, layer=layer, driver="GPKG")
    tmp.replace(path)
    return path


def export_layer(frame: pd.DataFrame, path: str | Path, layer: str, fmt: str | None = None) -> Path:
    """Write ``frame`` to ``path`` in ``fmt`` (geojson, gpkg, csv, xlsx; default from suffix)."""
    path = Path(path)
    fmt = (fmt or path.suffix.lstrip(".")).lower()
    if fmt in ("geojson", "json"):
        return write_geojson(frame, path)
    if fmt == "gpkg":
        return write_gpkg(frame, path, layer)
    data = {"csv": to_csv_bytes, "xlsx": to_xlsx_bytes}.get(fmt)
    if data is None:
        raise ValueError(f"unknown export format {fmt!r}; use geojson, gpkg, csv or xlsx")
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data(frame))
    tmp.replace(path)
    return path
