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
from geo_pcmt.store.rows import Rows
from geo_pcmt.values import json_column, json_value

DEFAULT_PRECISION = 6


clean_value = json_value  # the cell conversion lives in geo_pcmt.values
_column_values = json_column


def rfc7946_geometries(geoms: np.ndarray, precision: int = DEFAULT_PRECISION) -> list[str | None]:
    """Geometries as RFC 7946 GeoJSON strings: right-hand rule, rounded coordinates."""
    geoms = np.asarray(geoms, dtype=object)
    if not (shapely.get_type_id(geoms) <= 0).all():  # points (or None) have no rings
        geoms = shapely.orient_polygons(geoms, exterior_cw=False)
    geoms = shapely.transform(geoms, lambda c: np.round(c, precision))
    return list(shapely.to_geojson(geoms))


_encode = json.JSONEncoder(ensure_ascii=False).encode  # json.dumps(…, ensure_ascii=False)


def _feature_texts(props: list[str], columns: list[list], geoms: list[str | None],
                   id_column: str) -> str:
    """The features of one chunk (JSON-ready ``columns``, GeoJSON ``geoms``) joined by ``", "``."""
    out = []
    for g, values in zip(geoms, zip(*columns) if columns else [()] * len(geoms)):
        rec = dict(zip(props, values))
        out.append('{"type": "Feature", "id": ' + _encode(rec.get(id_column))
                   + ', "geometry": ' + (g if g is not None else "null")
                   + ', "properties": ' + _encode(rec) + "}")
    return ", ".join(out)


def iter_features(frame: pd.DataFrame | Rows, *, precision: int = DEFAULT_PRECISION,
                  id_column: str = "id", chunk_size: int = 2000) -> Iterator[str]:
    """Yield the features of ``frame`` as runs of GeoJSON text joined by ``", "``.

    One run per ``chunk_size`` rows; runs carry no leading separator. Projected frames are
    turned to lon/lat; non-spatial frames give ``"geometry": null``. ``frame`` may also be
    :class:`~geo_pcmt.store.rows.Rows` (plain values as a store read them: the same text,
    without a DataFrame).
    """
    if isinstance(frame, Rows):
        yield from _iter_rows(frame, precision, id_column, chunk_size)
        return
    if isinstance(frame, gpd.GeoDataFrame) and frame.crs is not None \
            and not frame.crs.equals(STORAGE_CRS):
        frame = frame.to_crs(STORAGE_CRS)
    geom_name = frame.geometry.name if isinstance(frame, gpd.GeoDataFrame) else None
    props = [c for c in frame.columns if c != geom_name]
    for start in range(0, len(frame), chunk_size):
        part = frame.iloc[start:start + chunk_size]
        geoms = (rfc7946_geometries(part.geometry.values, precision) if geom_name
                 else [None] * len(part))
        if len(part):
            yield _feature_texts(props, [json_column(part[c]) for c in props], geoms,
                                 id_column)


def _iter_rows(rows: Rows, precision: int, id_column: str, chunk_size: int) -> Iterator[str]:
    """:func:`iter_features` of :class:`Rows` (stored in lon/lat, values JSON-ready)."""
    for start in range(0, len(rows), chunk_size):
        stop = start + chunk_size
        columns = [v[start:stop] for v in rows.values]
        geoms = (rfc7946_geometries(rows.geometry[start:stop], precision)
                 if rows.geometry is not None else [None] * (min(stop, len(rows)) - start))
        yield _feature_texts(rows.columns, columns, geoms, id_column)


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
