"""Months of the time slider: dates as month numbers, the range the records span."""
from __future__ import annotations

import math
from typing import Mapping

import numpy as np
import pandas as pd

from geo_pcmt.values import dates

# (layer, column) of the dates that place a record in time on the map
DATED_COLUMNS: tuple[tuple[str, str], ...] = (
    ("retail_points", "first_seen"), ("retail_points", "cleared_on"), ("cases", "date"),
    ("opium_plots", "detected_on"))


def month_number(d: pd.Series) -> np.ndarray:
    """Months since year 0 (``NaN`` where missing), for month arithmetic."""
    return (d.dt.year * 12 + d.dt.month - 1).to_numpy(dtype=float)


def month_label(n: int) -> str:
    """``YYYY-MM`` of a month number.

    Examples
    --------
    >>> month_label(2026 * 12 + 2)
    '2026-03'
    """
    return f"{n // 12:04d}-{n % 12 + 1:02d}"


def bound_month(value: str | None, end: bool) -> float:
    """The month number of an option ``YYYY-MM[-DD]``; ±infinity when there is none."""
    if value is None:
        return math.inf if end else -math.inf
    return int(value[:4]) * 12 + int(value[5:7]) - 1


def months_of(d: pd.Series, base: int) -> list[int]:
    """Month numbers counted from ``base`` (``-1`` where the date is missing)."""
    return [-1 if math.isnan(x) else int(x) - base for x in month_number(d)]


def slider_months(frames: Mapping[str, pd.DataFrame], date_from: str | None,
                  date_to: str | None) -> tuple[int | None, list[str]]:
    """The first month and the months (``YYYY-MM``) the dated records span, within the range.

    ``(None, [])`` when no record is dated.
    """
    values: list[float] = []
    for name, col in DATED_COLUMNS:
        if name in frames and col in frames[name].columns:
            m = month_number(dates(frames[name][col]))
            values.extend(m[~np.isnan(m)].tolist())
    if not values:
        return None, []
    lo, hi = bound_month(date_from, False), bound_month(date_to, True)
    first = int(max(min(values), lo))
    last = int(max(min(max(values), hi), first))  # records may predate the range
    return first, [month_label(m) for m in range(first, last + 1)]
