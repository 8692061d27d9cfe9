"""Which frames the map needs, reading them as a role may see them, and filtering them.

Records reach the map through :func:`geo_pcmt.access.read` (rows and fields the role may see);
layers the role may not read arrive only as the API's per-commune counts
(:func:`geo_pcmt.access.read_counts`), never as rows, and no filter (dates, types) applies to
them.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd

from geo_pcmt import access
from geo_pcmt.layers import LAYERS
from geo_pcmt.outputs.map.options import MapOptions
from geo_pcmt.outputs.map.timeline import bound_month, month_number
from geo_pcmt.values import dates

# Layers the map draws or counts, in the order they are read.
MAP_LAYERS: tuple[str, ...] = (
    "communes", "province", "border_line", "lao_provinces", "commune_status", "recognitions",
    "targets", "border_crossings", "border_posts", "facilities", "retail_points", "opium_plots",
    "cases", "hotspot_clusters", "gistar_cells", "emerging_hotspots", "complex_hotspots",
    "complex_places", "methadone_access")

# Record layers a reader who may not see them still gets as counts per commune (all time:
# the time filter never applies to counts), with the date that places a record in time.
COUNTED_LAYERS: dict[str, str] = {"retail_points": "first_seen", "cases": "date",
                                  "opium_plots": "detected_on"}

# Shipped boundaries stand in for base layers an empty store lacks.
BASE_LAYERS: tuple[str, ...] = ("communes", "province", "border_line", "lao_provinces")

# Point layers kept whole when the reader picks communes (they serve the whole border).
_NOT_FILTERED_BY_COMMUNE = ("border_crossings", "border_posts", "facilities", "targets")


def column(frame: pd.DataFrame, name: str) -> pd.Series:
    """``frame[name]``, or a column of ``None`` when the frame has no such column."""
    return frame[name] if name in frame.columns else pd.Series([None] * len(frame),
                                                                index=frame.index, dtype=object)


def is_geo(frame: object) -> bool:
    """Whether ``frame`` is a GeoDataFrame with its geometry column present."""
    return isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame.columns


# ---------------------------------------------------------------- reading

def _present(store) -> set[str]:
    return {info.name for info in store.layers() if info.count}


def frames_from_store(store, role: str | None, *, layers: Sequence[str] = MAP_LAYERS
                      ) -> dict[str, pd.DataFrame]:
    """Read from ``store`` what the map needs for ``role``.

    Layers the role may read come through :func:`geo_pcmt.access.read` (rows within its
    clearance, fields it may see). Of the counted record layers the role may not read, the
    map gets what the API's ``<layer>_per_commune`` collection gives the role, from
    :func:`geo_pcmt.access.read_counts` (keyed ``<layer>_per_commune``): counts per commune
    over all time, small counts suppressed, secret records not counted — never a record.
    """
    present = _present(store)
    out: dict[str, pd.DataFrame] = {}
    for name in layers:
        if name not in present:
            continue
        if access.can_read_layer_for(role, name):
            out[name] = access.read(store, name, role=role)
        elif name in COUNTED_LAYERS and access.can_read_aggregates(role):
            out[f"{name}_per_commune"] = access.read_counts(store, name, role=role)
    return out


def map_frames(store, role: str | None) -> dict[str, pd.DataFrame]:
    """:func:`frames_from_store`, with the shipped boundaries filling an empty store, and the
    shipped base layer (rivers, towns: :func:`geo_pcmt.ingest.basemap.frames`)."""
    from geo_pcmt.ingest import basemap, boundaries
    loaders = {"communes": boundaries.communes, "province": boundaries.province,
               "border_line": boundaries.border_line,
               "lao_provinces": boundaries.lao_provinces}
    frames = frames_from_store(store, role)
    for name in BASE_LAYERS:
        if name not in frames:
            frames[name] = loaders[name]()
    frames.update(basemap.frames())
    return frames


def restricted_layers(store, role: str | None,
                      layers: Sequence[str] = MAP_LAYERS) -> list[str]:
    """The restricted layers a map of ``role`` shows as rows (each such read is audited)."""
    present = _present(store)
    return sorted(n for n in layers if n in present and access.is_restricted_layer(n)
                  and access.can_read_layer_for(role, n))


# ---------------------------------------------------------------- who sees what

def visible_frames(frames: Mapping[str, pd.DataFrame], role: str
                   ) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    """Split ``frames`` into what ``role`` may see as rows and what it sees only as counts.

    Returns
    -------
    (visible, counted)
        ``visible``: frames redacted for the role (:func:`geo_pcmt.access.redact`), without
        the fields it may not see (:func:`geo_pcmt.access.visible_fields`); ``counted``: per
        counted layer (:data:`COUNTED_LAYERS`) the role may not read, its public aggregate
        (a ``<layer>_per_commune`` frame from :func:`geo_pcmt.access.read_counts`) or, in a
        frame given as records, the records — only ever turned into that same aggregate by
        :func:`geo_pcmt.access.aggregate_counts`, never drawn. Other unreadable layers are
        dropped.
    """
    access.role_rank(role)
    visible, counted = {}, {}
    for name, frame in frames.items():
        if frame is None:
            continue
        source = name[: -len("_per_commune")] if name.endswith("_per_commune") else name
        if source not in LAYERS:
            continue
        if access.can_read_layer(role, source):
            if source == name:
                visible[name] = _without_hidden_fields(access.redact(frame, name, role),
                                                       name, role)
        elif source in COUNTED_LAYERS and access.can_read_aggregates(role):
            if source not in counted or access.is_aggregate_frame(frame):
                counted[source] = frame
    return visible, counted


def _without_hidden_fields(frame: pd.DataFrame, name: str, role: str) -> pd.DataFrame:
    if name not in LAYERS:
        return frame
    hidden = set(LAYERS[name].field_names) - set(access.visible_fields(role, name))
    drop = [c for c in frame.columns if c in hidden]
    return frame.drop(columns=drop) if drop else frame


# ---------------------------------------------------------------- filters from options

def filter_records(frames: Mapping[str, pd.DataFrame], opts: MapOptions
                   ) -> dict[str, pd.DataFrame]:
    """Keep the records the options ask for: communes, point types, active in the dates."""
    lo, hi = bound_month(opts.date_from, False), bound_month(opts.date_to, True)
    out = {}
    for name, frame in frames.items():
        f = frame
        if opts.communes and "commune_code" in f.columns and name not in _NOT_FILTERED_BY_COMMUNE:
            f = f[f["commune_code"].astype("string").isin(opts.communes).fillna(False).to_numpy()]
        if name == "retail_points":
            if opts.point_types and "type" in f.columns:
                f = f[f["type"].isin(opts.point_types).to_numpy()]
            start = month_number(dates(column(f, "first_seen")))
            end = month_number(dates(column(f, "cleared_on")))
            f = f[~(start > hi) & ~(end < lo)]  # active some time in [lo, hi]
        elif name in ("cases", "opium_plots"):
            when = month_number(dates(column(f, "date" if name == "cases" else "detected_on")))
            f = f[np.isnan(when) | ((when >= lo) & (when <= hi))]
        out[name] = f
    return out
