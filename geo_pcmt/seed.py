"""Fill a store with the shipped boundaries and the synthetic sample data set."""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from . import boundaries
from .layers import get_layer
from .paths import SAMPLE_DIR
from .store import Store, WriteReport


def load_boundaries(store: Store, *, user: str = "system") -> list[WriteReport]:
    """Write communes, province, border line, Lao provinces and the crosswalk (replacing)."""
    frames = {
        "communes": boundaries.communes(),
        "province": boundaries.province(),
        "border_line": boundaries.border_line(),
        "lao_provinces": boundaries.lao_provinces(),
        "commune_lineage": boundaries.commune_lineage(),
    }
    return [store.write(name, frame, mode="replace", user=user) for name, frame in frames.items()]


def read_sample(directory: Path | None = None) -> dict[str, pd.DataFrame]:
    """The sample layers found in ``data/sample/`` (``<layer>.geojson`` or ``<layer>.csv``)."""
    directory = Path(directory or SAMPLE_DIR)
    out: dict[str, pd.DataFrame] = {}
    for path in sorted(directory.glob("*.geojson")) + sorted(directory.glob("*.csv")):
        layer = get_layer(path.stem)
        if path.suffix == ".geojson":
            frame = pyogrio.read_dataframe(path)
        else:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
            frame = frame.replace({"": None})
        cols = [c for c in layer.field_names if c in frame.columns]
        if isinstance(frame, gpd.GeoDataFrame):
            frame = frame[cols + [frame.geometry.name]]
        else:
            frame = frame[cols]
        out[layer.name] = frame
    return out


def load_sample(store: Store, directory: Path | None = None, *,
                user: str = "system") -> list[WriteReport]:
    """Write every sample layer into the store (replacing what the layer held)."""
    return [store.write(name, frame, mode="replace", user=user)
            for name, frame in read_sample(directory).items()]
