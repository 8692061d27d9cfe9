"""When and where a record counts: its dates as ISO text, retail points active on a day, its commune.

Shared by :mod:`geo_pcmt.analysis.progress` (per commune and period) and
:mod:`geo_pcmt.analysis.corridor` (the Lao-border corridor). Dates are compared as ISO text
(``YYYY-MM-DD``), which orders like the dates themselves; what counts as a date is decided
by :func:`geo_pcmt.values.dates`.
"""
from __future__ import annotations

from typing import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo_pcmt.ingest.spatial import assign_communes
from geo_pcmt.values import column_dates


def iso_dates(frame: pd.DataFrame | None, column: str) -> np.ndarray:
    """``frame[column]`` as ISO date text (object array), ``None`` where there is no date.

    A frame without the column gives one ``None`` per row.

    Examples
    --------
    >>> iso_dates(pd.DataFrame({"d": ["2025-03-01T10:00:00+07:00", None, "x"]}), "d").tolist()
    ['2025-03-01', None, None]
    >>> iso_dates(pd.DataFrame({"other": [1, 2]}), "d").tolist()
    [None, None]
    """
    if frame is None:
        return np.full(0, None, dtype=object)
    if column not in frame:
        return np.full(len(frame), None, dtype=object)
    days = column_dates(frame, column)
    text = days.dt.strftime("%Y-%m-%d").astype(object)
    return np.asarray(text.where(days.notna().to_numpy(), None), dtype=object)


def between(dates: np.ndarray, start: str, end: str) -> np.ndarray:
    """Which ISO dates lie in ``[start, end]`` (missing dates never do).

    Examples
    --------
    >>> between(np.array(["2025-01-01", None, "2026-01-01"], dtype=object),
    ...         "2025-01-01", "2025-12-31").tolist()
    [True, False, False]
    """
    return np.array([d is not None and start <= d <= end for d in dates], dtype=bool)


def _status(points: pd.DataFrame) -> np.ndarray:
    return points["status"].to_numpy(dtype=object) if "status" in points else \
        np.full(len(points), None, dtype=object)


def point_active_on(points: pd.DataFrame, day: str) -> np.ndarray:
    """Which retail points are active on ``day`` (ISO): seen by then and not cleared, or
    cleared and re-emerged (``status = re-emerged``, ``last_activity`` after ``cleared_on``).

    Examples
    --------
    >>> pts = pd.DataFrame({"first_seen": ["2024-01-01", "2024-01-01", "2024-01-01"],
    ...                     "cleared_on": [None, "2024-06-01", "2024-06-01"],
    ...                     "last_activity": [None, None, "2024-09-01"],
    ...                     "status": ["active", "cleared", "re-emerged"]})
    >>> point_active_on(pts, "2024-07-01").tolist(), point_active_on(pts, "2024-10-01").tolist()
    ([True, False, False], [True, False, True])
    """
    first = iso_dates(points, "first_seen")
    cleared = iso_dates(points, "cleared_on")
    last = iso_dates(points, "last_activity")
    status = _status(points)
    out = np.zeros(len(points), dtype=bool)
    for i in range(len(points)):
        if first[i] is None or first[i] > day:
            continue
        if cleared[i] is None or cleared[i] > day:
            out[i] = status[i] != "cleared" or cleared[i] is not None
            continue
        out[i] = status[i] == "re-emerged" and last[i] is not None and cleared[i] < last[i] <= day
    return out


def reemerged_in(points: pd.DataFrame, start: str, end: str) -> np.ndarray:
    """Which retail points re-emerged with their last activity in ``[start, end]``."""
    return (_status(points) == "re-emerged") & between(iso_dates(points, "last_activity"),
                                                       start, end)


def count_by(codes: Sequence, mask: np.ndarray, weights: np.ndarray | None = None) -> pd.Series:
    """Sum of ``weights`` (or count) of the rows in ``mask``, per code."""
    s = pd.Series(np.asarray(weights if weights is not None else np.ones(len(mask)))[mask],
                  index=np.asarray(codes, dtype=object)[mask])
    return s.groupby(level=0).sum()


def commune_codes(frame: pd.DataFrame | None,
                  communes: gpd.GeoDataFrame | None = None) -> np.ndarray:
    """Commune code per row: the stored ``commune_code``, else a spatial join when possible."""
    if frame is None or not len(frame):
        return np.zeros(0, dtype=object)
    codes = frame["commune_code"].to_numpy(dtype=object) if "commune_code" in frame else \
        np.full(len(frame), None, dtype=object)
    missing = np.array([c is None or c != c for c in codes], dtype=bool)
    if missing.any() and communes is not None and isinstance(frame, gpd.GeoDataFrame):
        reps = shapely.point_on_surface(frame.geometry.values[missing])
        codes = codes.copy()
        codes[missing] = assign_communes(reps, communes)
    return codes


def numbers(frame: pd.DataFrame, column: str) -> np.ndarray:
    """``frame[column]`` as floats, 0 where missing or unreadable (zeros without the column)."""
    if column not in frame:
        return np.zeros(len(frame))
    return pd.to_numeric(frame[column], errors="coerce").fillna(0).to_numpy()
