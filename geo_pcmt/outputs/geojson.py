"""RFC 7946 GeoJSON text, streamed: WGS 84 lon/lat, right-hand rule, rounded coordinates.

GeoJSON follows RFC 7946: WGS 84 lon/lat, exterior rings counter-clockwise (right-hand
rule), no ``crs`` member, coordinates rounded to ``precision`` decimals (6 ≈ 0.1 m), and an
``id`` on every feature.
"""
from __future__ import annotations

import json
import math
from typing import Any, Iterable, Iterator

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo_pcmt.crs import STORAGE_CRS

DEFAULT_PRECISION = 6


def clean_value(value: Any) -> Any:
    """One cell as a JSON-ready Python value (``None`` for missing and non-finite numbers).

    Examples
    --------
    >>> clean_value(np.int64(3)), clean_value(float("nan")), clean_value(pd.Timestamp("2025-03-01"))
    (3, None, '2025-03-01T00:00:00')
    """
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
    return [clean_value(v) for v in series.to_numpy(dtype=object)]


def rfc7946_geometries(geoms: np.ndarray, precision: int = DEFAULT_PRECISION) -> list[str | None]:
    """Geometries as RFC 7946 GeoJSON strings: right-hand rule, rounded coordinates."""
    geoms = np.asarray(geoms, dtype=object)
    geoms = shapely.orient_polygons(geoms, exterior_cw=False)
    geoms = shapely.transform(geoms, lambda c: np.round(c, precision))
    return list(shapely.to_geojson(geoms))


def iter_features(frame: pd.DataFrame, *, precision: int = DEFAULT_PRECISION,
                  id_column: str = "id", chunk_size: int = 2000) -> Iterator[str]:
    """Yield the features of ``frame`` as runs of GeoJSON text joined by ``", "``.

    One run per ``chunk_size`` rows; runs carry no leading separator. Projected frames are
    turned to lon/lat; non-spatial frames give ``"geometry": null``.
    """
    if isinstance(frame, gpd.GeoDataFrame) and frame.crs is not None \
            and not frame.crs.equals(STORAGE_CRS):
        frame = frame.to_crs(STORAGE_CRS)
    geom_name = frame.geometry.name if isinstance(frame, gpd.GeoDataFrame) else None
    props = [c for c in frame.columns if c != geom_name]
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
            yield ", ".join(out)


def iter_feature_collection(frames: Iterable[pd.DataFrame], *,
                            precision: int = DEFAULT_PRECISION, id_column: str = "id",
                            extra: dict | None = None, chunk_size: int = 2000) -> Iterator[str]:
    """Yield one RFC 7946 FeatureCollection of every row of ``frames``, as text chunks.

    ``frames`` may be a generator (rows read in chunks while a response streams).
    ``extra`` adds top-level members (e.g. ``numberMatched``, ``links`` for OGC API).
    """
    head = {"type": "FeatureCollection"}
    head.update(extra or {})
    text = json.dumps(head, ensure_ascii=False)
    yield text[:-1] + ', "features": ['
    first = True
    for frame in frames:
        for run in iter_features(frame, precision=precision, id_column=id_column,
                                 chunk_size=chunk_size):
            yield run if first else ", " + run
            first = False
    yield "]}"


def iter_geojson(frame: pd.DataFrame, *, precision: int = DEFAULT_PRECISION,
                 id_column: str = "id", extra: dict | None = None,
                 chunk_size: int = 2000) -> Iterator[str]:
    """Yield an RFC 7946 FeatureCollection of ``frame`` as text chunks (for streaming).

    ``extra`` adds top-level members (e.g. ``numberMatched``, ``links`` for OGC API).
    Non-spatial frames give features with ``"geometry": null``.
    """
    return iter_feature_collection([frame], precision=precision, id_column=id_column,
                                   extra=extra, chunk_size=chunk_size)


def to_geojson(frame: pd.DataFrame, **kwargs) -> str:
    """The whole FeatureCollection as one string (see :func:`iter_geojson`)."""
    return "".join(iter_geojson(frame, **kwargs))
