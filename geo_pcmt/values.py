"""Cell values as Python values: the one place that says what "missing" means.

Frames read from the store, files and forms hold ``None``, ``NaN``, ``pd.NA`` and ``NaT`` for
a missing value, and ISO text, timestamps or dates for a date. Every module that turns a cell
into text, a number or a date uses these.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd


def is_missing(value: Any) -> bool:
    """Whether a cell holds no value (``None``, ``NaN``, ``pd.NA``, ``NaT``, ``inf`` is not).

    Examples
    --------
    >>> [is_missing(v) for v in (None, float("nan"), pd.NA, pd.NaT, "", 0)]
    [True, True, True, True, False, False]
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def json_value(value: Any) -> Any:
    """One cell as a JSON-ready Python value (``None`` for missing and non-finite numbers).

    Examples
    --------
    >>> json_value(np.int64(3)), json_value(float("nan")), json_value(pd.Timestamp("2025-03-01"))
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


def json_column(series: pd.Series) -> list:
    """A column as JSON-ready Python values (:func:`json_value`), converted in one pass."""
    kind = series.dtype.kind
    if kind in "iufb" and not series.isna().any():
        values = series.to_numpy().tolist()  # numpy scalars → int/float/bool in one call
        if kind == "f":
            return [v if math.isfinite(v) else None for v in values]
        return values
    return [json_value(v) for v in series.to_numpy(dtype=object)]


def text(value: Any, missing: str | None = None) -> str | None:
    """A cell as text; ``missing`` (default ``None``) where it holds nothing.

    Timestamps become their ISO date.

    Examples
    --------
    >>> text(float("nan")), text(None, ""), text(pd.Timestamp("2025-03-01 10:00")), text(12)
    (None, '', '2025-03-01', '12')
    """
    if is_missing(value):
        return missing
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    return str(value)


def number(value: Any, default: float | None = None, digits: int | None = None) -> float | None:
    """A cell as a finite float, rounded to ``digits`` if given; ``default`` otherwise.

    Examples
    --------
    >>> number("2.345", digits=2), number("x"), number(float("inf"), default=0.0)
    (2.35, None, 0.0)
    """
    try:
        out = float(value)
    except (TypeError, ValueError):
        return default
    if not math.isfinite(out):
        return default
    return round(out, digits) if digits is not None else out


def dates(values: pd.Series | None) -> pd.Series:
    """Dates (naive ``datetime64``, day precision) from ISO text, dates or timestamps.

    Text keeps its first 10 characters, so ``2025-03-01T10:00:00+07:00`` is 1 March 2025
    (the local date, never shifted to UTC); anything unreadable becomes ``NaT``.

    Examples
    --------
    >>> dates(pd.Series(["2025-03-01T23:30:00+07:00", "01/03/2025", None])).tolist()
    [Timestamp('2025-03-01 00:00:00'), NaT, NaT]
    """
    if values is None:
        return pd.Series([], dtype="datetime64[ns]")
    return pd.to_datetime(values.astype("string").str.slice(0, 10), errors="coerce",
                          format="%Y-%m-%d")


def column_dates(frame: pd.DataFrame | None, column: str) -> pd.Series:
    """:func:`dates` of ``frame[column]``; an empty series when the frame or column is absent."""
    if frame is None or column not in frame.columns:
        return pd.Series([], dtype="datetime64[ns]")
    return dates(frame[column])
