"""Place the rows of a frame that lack coordinates at their commune, read from the address.

Rows are put at the commune's representative point with ``geocode_quality = "commune"``;
addresses the :class:`~geo_pcmt.ingest.gazetteer.Gazetteer` cannot resolve come back as
problems, never guessed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import geopandas as gpd
import pandas as pd
import shapely

from geo_pcmt.crs import STORAGE_CRS

if TYPE_CHECKING:
    from geo_pcmt.ingest.gazetteer import Gazetteer, Match

GEOCODE_QUALITY = "commune"


@dataclass(frozen=True)
class GeocodeProblem:
    """A row :func:`geocode_frame` could not place, with a reason a user can act on."""

    row: object
    field: str
    value: object
    reason: str


def geocode_frame(df: pd.DataFrame, address_column: str = "address",
                  gazetteer: Gazetteer | None = None
                  ) -> tuple[gpd.GeoDataFrame, list[GeocodeProblem]]:
    """Place rows without coordinates at their commune, read from the address.

    Rows with a geometry (or ``lon``/``lat``) are left as they are. Each other row keeps a
    valid ``commune_code`` it already has, else gets the one its address resolves to; it is
    then put at the commune's representative point with ``geocode_quality = "commune"``.
    Ambiguous and unknown addresses are returned as problems, never guessed.

    Parameters
    ----------
    df : DataFrame or GeoDataFrame with ``address_column``; the input is not modified
    address_column : column with the free-text address (địa chỉ)
    gazetteer : defaults to :meth:`Gazetteer.default`

    Returns
    -------
    (GeoDataFrame in EPSG:4326, list of GeocodeProblem with row index, field, value, reason)

    Examples
    --------
    >>> rows = pd.DataFrame({"address": ["TT Mường Xén", "xã Hòa Sơn"]})
    >>> placed, problems = geocode_frame(rows)
    >>> placed["commune_code"].tolist(), [p.row for p in problems]
    (['16813', None], [1])
    """
    if address_column not in df.columns:
        raise KeyError(f"address column {address_column!r} not in {list(df.columns)}")
    if gazetteer is None:
        from geo_pcmt.ingest.gazetteer import Gazetteer  # it re-exports this module's names
        gazetteer = Gazetteer.default()
    gaz = gazetteer
    out = _with_geometry(df)
    geoms = list(out.geometry.values)
    codes = [c if isinstance(c, str) and c else None for c in _column(out, "commune_code")]
    quality = _column(out, "geocode_quality")
    addresses = out[address_column].tolist()
    problems: list[GeocodeProblem] = []
    matches: dict[str, Match] = {}
    for pos, (label, geom) in enumerate(zip(out.index, geoms)):
        if geom is not None and not geom.is_empty:
            continue
        code = codes[pos]
        if not (isinstance(code, str) and code in gaz.points_):
            address = addresses[pos]
            key = address if isinstance(address, str) else ""
            if key not in matches:
                matches[key] = gaz.match(address)
            found = matches[key]
            if found.status != "matched":
                problems.append(GeocodeProblem(label, address_column, address, found.reason))
                continue
            code = found.commune_code
        codes[pos], geoms[pos], quality[pos] = code, gaz.points_[code], GEOCODE_QUALITY
    out["commune_code"] = pd.Series(codes, index=out.index, dtype=object)
    out["geocode_quality"] = pd.Series(quality, index=out.index, dtype=object)
    return out.set_geometry(gpd.GeoSeries(geoms, index=out.index, crs=STORAGE_CRS)), problems


def _column(frame: pd.DataFrame, name: str) -> list:
    return frame[name].tolist() if name in frame.columns else [None] * len(frame)


def _with_geometry(df: pd.DataFrame) -> gpd.GeoDataFrame:
    """A copy of ``df`` as a GeoDataFrame in EPSG:4326 (points from lon/lat when no geometry)."""
    if isinstance(df, gpd.GeoDataFrame) and df._geometry_column_name in df.columns:
        out = df.copy()
        if out.crs is None:
            return out.set_crs(STORAGE_CRS)
        return out.to_crs(STORAGE_CRS)
    out = pd.DataFrame(df).copy()
    geoms = [None] * len(out)
    if {"lon", "lat"} <= set(out.columns):
        lon = pd.to_numeric(out["lon"], errors="coerce").to_numpy()
        lat = pd.to_numeric(out["lat"], errors="coerce").to_numpy()
        geoms = [shapely.Point(x, y) if not (math.isnan(x) or math.isnan(y)) else None
                 for x, y in zip(lon, lat)]
    return gpd.GeoDataFrame(out, crs=STORAGE_CRS,
                            geometry=gpd.GeoSeries(geoms, index=out.index, crs=STORAGE_CRS))
