"""Read the SYNTHETIC sample data set in ``data/sample/`` back, typed as the layer schemas.

The generator that wrote it lives outside the package, in ``tools/sample.py``.
"""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from geo_pcmt.crs import STORAGE_CRS
from geo_pcmt.layers import LAYERS, Layer
from geo_pcmt.paths import SAMPLE_DIR

SPATIAL_LAYERS = ("retail_points", "opium_plots", "border_crossings", "border_posts", "cases",
                  "facilities")
TABLE_LAYERS = ("commune_assessments", "recognitions", "targets", "treatment")
LAYER_NAMES = SPATIAL_LAYERS + TABLE_LAYERS


def conform(frame: pd.DataFrame, layer: Layer | str) -> pd.DataFrame:
    """Return ``frame`` with exactly the columns of ``layer`` (in order), typed as its schema.

    Text, dates and datetimes become ``str`` (ISO text); integers ``int64`` (``Int64`` when a
    value is missing); floats ``float64``; booleans ``bool``. Used on generation and on read,
    so a frame read back from ``data/sample/`` compares equal to a fresh one.
    """
    layer = LAYERS[layer] if isinstance(layer, str) else layer
    out = {}
    for f in layer.fields:
        s = frame[f.name] if f.name in frame else pd.Series([None] * len(frame), index=frame.index)
        if f.type in ("str", "date", "datetime"):
            vals = [None if (v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA)
                    else str(v) for v in s]
            out[f.name] = pd.Series(vals, index=frame.index, dtype="str")
        elif f.type == "int":
            num = pd.to_numeric(s, errors="coerce")
            out[f.name] = num.astype("Int64") if num.isna().any() else num.astype(np.int64)
        elif f.type == "float":
            out[f.name] = pd.to_numeric(s, errors="coerce").astype(np.float64)
        else:
            if s.dtype == object or pd.api.types.is_string_dtype(s):
                s = s.map({"True": True, "False": False, "true": True, "false": False,
                           True: True, False: False})
            out[f.name] = s.astype("boolean") if s.isna().any() else s.astype(bool)
    df = pd.DataFrame(out, index=frame.index).reset_index(drop=True)
    if layer.has_geometry:
        df = gpd.GeoDataFrame(df, geometry=np.asarray(frame.geometry.values, dtype=object),
                              crs=STORAGE_CRS)
    return df


def read(directory: str | Path = SAMPLE_DIR) -> dict[str, pd.DataFrame]:
    """Read the sample files back, typed as the layer schemas (see :func:`conform`)."""
    directory = Path(directory)
    frames = {}
    for name in LAYER_NAMES:
        if LAYERS[name].has_geometry:
            raw = pyogrio.read_dataframe(directory / f"{name}.geojson", datetime_as_string=True)
            frames[name] = conform(raw.set_crs(STORAGE_CRS, allow_override=True), name)
        else:
            raw = pd.read_csv(directory / f"{name}.csv", dtype=str, keep_default_na=False,
                              na_values=[""])
            frames[name] = conform(raw, name)
    return frames
