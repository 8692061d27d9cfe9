"""What an export file holds (name, fields, geometry type) and why a format may refuse it."""
from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo_pcmt.layers import Layer
from geo_pcmt.outputs.geojson import DEFAULT_PRECISION


class ExportRefused(ValueError):
    """A format cannot hold what was asked without losing part of it.

    ``code`` is a machine-readable reason and ``http_status`` the answer a web client gets;
    the message says what to do instead.
    """

    code = "export_refused"
    http_status = 422


class TooManyRows(ExportRefused):
    """More rows than one sheet of the format holds."""

    code = "too_many_rows"
    http_status = 400


class CellTooLong(ExportRefused):
    """A text cell longer than the format keeps (it would be cut without a word)."""

    code = "cell_too_long"
    http_status = 422

    def __init__(self, layer: str, row_id, field: str, length: int, limit: int,
                 fmt: str = "xlsx"):
        self.layer, self.row_id, self.field, self.length = layer, row_id, field, length
        super().__init__(
            f"cannot export {layer} as {fmt}: field {field!r} of row id {row_id!r} is "
            f"{length:,} characters long and a {fmt.upper()} cell holds at most {limit:,} "
            f"(it would be cut); export as geojson or gpkg instead")


@dataclass(frozen=True)
class Table:
    """The shape of one exported layer: every chunk of one file gets the same columns.

    Parameters
    ----------
    name : str
        The layer or collection id: GeoPackage layer, sheet name, and named in errors.
    fields : tuple of str
        The property columns, in order.
    geometry_type : str or None
        The schema's geometry type (``Point``, ``MultiPolygon`` …); ``None`` for a table.
        Point layers get ``lon``/``lat`` columns in spreadsheets, others ``wkt``.
    classification : str
        The highest ``confidentiality`` of the rows (``public``, ``restricted``, ``secret``;
        :func:`geo_pcmt.access.marking`): the mark the file carries (GeoJSON member, sheet
        name, print header and properties of a workbook).
    """

    name: str
    fields: tuple[str, ...]
    geometry_type: str | None = None
    classification: str = "public"

    @classmethod
    def of_layer(cls, layer: Layer, fields=None, name: str | None = None) -> "Table":
        """The table of a schema layer (``fields``: the ones the reader may see)."""
        return cls(name or layer.name, tuple(fields if fields is not None else layer.field_names),
                   layer.geometry_type)

    @classmethod
    def of_frame(cls, frame: pd.DataFrame, name: str) -> "Table":
        """The table of a frame with no schema (its columns; points if every row is one)."""
        if not isinstance(frame, gpd.GeoDataFrame):
            return cls(name, tuple(frame.columns), None)
        geom = frame.geometry
        kind = "Point" if len(geom) and (geom.geom_type == "Point").all() else "Geometry"
        return cls(name, tuple(c for c in frame.columns if c != geom.name), kind)

    @property
    def geometry_columns(self) -> list[str]:
        """The columns the geometry becomes in a spreadsheet."""
        if self.geometry_type is None:
            return []
        return ["lon", "lat"] if self.geometry_type == "Point" else ["wkt"]

    @property
    def flat_columns(self) -> list[str]:
        """Every spreadsheet column: the fields, then the geometry's."""
        return list(self.fields) + self.geometry_columns

    def flat(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` with its geometry as lon/lat (point layers) or WKT, chosen by the table
        so that every chunk of one file has the same columns."""
        if not isinstance(frame, gpd.GeoDataFrame):
            return pd.DataFrame(frame)
        geoms = frame.geometry.values
        out = pd.DataFrame(frame.drop(columns=frame.geometry.name))
        if self.geometry_type == "Point":
            out["lon"] = np.round(shapely.get_x(geoms), DEFAULT_PRECISION)
            out["lat"] = np.round(shapely.get_y(geoms), DEFAULT_PRECISION)
        elif self.geometry_type is not None:
            out["wkt"] = shapely.to_wkt(geoms, rounding_precision=DEFAULT_PRECISION)
        return out
