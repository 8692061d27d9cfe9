"""Rows of a layer as plain Python values, without a DataFrame: what an API page is made of.

A page of 100 features costs more to turn into a GeoDataFrame (one pandas Series per
column, the geometry array, the CRS) than to read from SQLite. :class:`Rows` holds the same
rows and columns that ``Store.read`` would put in the frame, already as JSON-ready values
(``None`` for a missing cell, ``int``/``float``/``bool``/``str`` as the layer's schema says),
and the geometries as a shapely array. ``Store.read_rows`` returns it; every backend has one
(:meth:`geo_pcmt.store.base.StoreBase.read_rows` makes it from ``read``'s frame; the
GeoPackage store builds it straight from its SQL rows).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geo_pcmt.layers import Layer
from geo_pcmt.values import json_column


@dataclass
class Rows:
    """Rows in stored order, column by column.

    Attributes
    ----------
    columns : list of str
        The attribute columns, in the order ``read`` gives them (``id`` first if not asked).
    values : list of list
        One list of JSON-ready values per column (``values[j][i]``: row ``i``, column ``j``).
    geometry : numpy.ndarray or None
        Shapely geometries in EPSG:4326 (None for a layer without geometry).
    last_fid : int or None
        The keyset cursor after the last row (as ``frame.attrs["last_fid"]``).
    """

    columns: list[str]
    values: list[list[Any]]
    geometry: np.ndarray | None
    last_fid: int | None = None

    def __len__(self) -> int:
        if self.values:
            return len(self.values[0])
        return 0 if self.geometry is None else len(self.geometry)

    def column(self, name: str) -> list[Any]:
        """One column's values (``KeyError`` if it was not read)."""
        try:
            return self.values[self.columns.index(name)]
        except ValueError:
            raise KeyError(name) from None

    def head(self, n: int) -> "Rows":
        """The first ``n`` rows (``last_fid`` kept: the caller knows what it cut)."""
        geometry = None if self.geometry is None else self.geometry[:n]
        return Rows(self.columns, [v[:n] for v in self.values], geometry, self.last_fid)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> "Rows":
        """The rows of a frame ``Store.read`` returned (its ``attrs["last_fid"]`` kept)."""
        geom = frame.geometry.name if isinstance(frame, gpd.GeoDataFrame) else None
        columns = [c for c in frame.columns if c != geom]
        geometry = None if geom is None else np.asarray(frame.geometry.values, dtype=object)
        return cls(columns, [json_column(frame[c]) for c in columns], geometry,
                   frame.attrs.get("last_fid"))


def _ints(values: list) -> list:
    return [v if v is None or v.__class__ is int else int(v) for v in values]


def _floats(values: list) -> list:
    return [None if v is None or not math.isfinite(v) else float(v) for v in values]


def _bools(values: list) -> list:
    return [None if v is None else bool(v) for v in values]


# what Store.read's dtypes (frames.typed) and json_column make of the stored values
_PLAIN = {"int": _ints, "float": _floats, "bool": _bools}


def plain_columns(layer: Layer, data: dict[str, list]) -> list[list[Any]]:
    """Stored column values (as SQLite gives them) as the JSON-ready values that
    :func:`geo_pcmt.store.frames.typed` followed by :func:`geo_pcmt.values.json_column`
    would give: text, dates and times as stored, numbers and booleans by the field's type,
    ``None`` for a missing cell or a non-finite number."""
    out = []
    for c, values in data.items():
        convert = _PLAIN.get(layer.field(c).type)
        out.append(values if convert is None else convert(values))
    return out
