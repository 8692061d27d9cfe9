"""Cells as officers type them → typed values: blanks, Vietnamese dates, numbers, có/không."""
from __future__ import annotations

import math
import re
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from geo_pcmt.values import is_missing

_VN_DATE_RE = re.compile(r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\s*$")


def is_blank(value: Any) -> bool:
    """Whether a cell holds nothing: missing (see :func:`geo_pcmt.values.is_missing`) or
    only spaces.

    Examples
    --------
    >>> [is_blank(v) for v in (None, float("nan"), "  ", "0", 0)]
    [True, True, True, False, False]
    """
    if isinstance(value, str):
        return value.strip() == ""
    return is_missing(value)


def blank_mask(values) -> np.ndarray:
    """:func:`is_blank` of every cell of a column, as a boolean array (text cells tested
    in line: a column of a million cells in a tenth of a second).

    Examples
    --------
    >>> blank_mask(["a", " ", None, 0]).tolist()
    [False, True, True, False]
    """
    if all(v.__class__ is str for v in values):  # text as read from CSV/XLSX
        return np.fromiter(map(len, map(str.strip, values)), dtype=np.int64,
                           count=len(values)) == 0
    return np.fromiter((not v.strip() if isinstance(v, str) else is_missing(v)
                        for v in values), dtype=bool, count=len(values))


def parse_date(value: Any) -> str:
    """ISO date from ``YYYY-MM-DD`` or the Vietnamese ``dd/mm/yyyy`` (day first).

    Examples
    --------
    >>> parse_date("01/02/2024"), parse_date("2024-02-01T08:00")
    ('2024-02-01', '2024-02-01')
    """
    if isinstance(value, (datetime, pd.Timestamp)):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    m = _VN_DATE_RE.match(text)
    if m:
        d, mth, y = map(int, m.groups())
        return date(y, mth, d).isoformat()
    if len(text) >= 10 and text[4] == "-":
        return date.fromisoformat(text[:10]).isoformat()
    raise ValueError("not a date; write YYYY-MM-DD or dd/mm/yyyy")


def _whole_number(value: Any) -> int:
    f = float(str(value).replace(",", "")) if isinstance(value, str) else float(value)
    if not math.isfinite(f) or not f.is_integer():
        raise ValueError("not a whole number")
    return int(f)


def _number(value: Any) -> float:
    f = float(str(value).replace(",", ".")) if isinstance(value, str) else float(value)
    if not math.isfinite(f):
        raise ValueError("not a finite number")
    return f


def _yes_no(value: Any) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    low = str(value).strip().lower()
    if low in ("true", "1", "yes", "có", "co", "x"):
        return True
    if low in ("false", "0", "no", "không", "khong"):
        return False
    raise ValueError("not true/false (có/không)")


def _date_time(value: Any) -> str:
    return pd.Timestamp(str(value)).isoformat()


_PARSERS = {"str": str, "int": _whole_number, "float": _number, "bool": _yes_no,
            "date": parse_date, "datetime": _date_time}


def parse_cell(value: Any, ftype: str) -> Any:
    """A non-blank cell as a value of schema type ``ftype`` (``ValueError`` saying why not).

    Whole numbers may carry thousands commas (``1,200``); decimals a decimal comma (``2,5``).

    Examples
    --------
    >>> parse_cell("1,200", "int"), parse_cell("2,5", "float"), parse_cell("có", "bool")
    (1200, 2.5, True)
    """
    parser = _PARSERS.get(ftype)
    if parser is None:
        raise ValueError(f"unknown type {ftype}")
    return parser(value)
