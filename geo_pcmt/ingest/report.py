"""What validation found: one :class:`Problem` per row and field, gathered in a report.

Rows are numbered from 1 = first record, which is the spreadsheet row number minus one
(the header); :attr:`Problem.sheet_row` is the row as Excel shows it (header row 1).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Problem:
    """One problem in one row (``row`` is None for problems of the whole file)."""

    row: int | None
    field: str | None
    value: Any
    reason: str
    severity: str = "error"  # or "warning"
    code: str = "invalid"
    #: names and values for the problem's sentence in another language (problem_text)
    params: dict | None = field(default=None, compare=False, hash=False)

    @property
    def sheet_row(self) -> int | None:
        """The row as a spreadsheet shows it: header row 1, first record row 2."""
        return None if self.row is None else int(self.row) + 1

    def __str__(self) -> str:
        where = "file" if self.row is None else f"row {self.row}"
        fld = f", field {self.field!r}" if self.field else ""
        val = "" if self.value is None else f" (value: {_short(self.value)})"
        return f"{self.severity}: {where}{fld}: {self.reason}{val}"

    def as_dict(self) -> dict:
        return {"row": None if self.row is None else int(self.row),
                "sheet_row": self.sheet_row, "field": self.field,
                "value": _jsonable(self.value), "reason": self.reason,
                "severity": self.severity, "code": self.code}


@dataclass
class ValidationReport:
    """The outcome of validating one file for one layer."""

    layer: str
    rows_total: int
    clean: gpd.GeoDataFrame | pd.DataFrame
    problems: list[Problem] = field(default_factory=list)
    #: ids given to rows that had none, by row (1 = first record)
    generated_ids: dict[int, str] = field(default_factory=dict)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def rows_valid(self) -> int:
        return len(self.clean)

    @property
    def rows_rejected(self) -> list[int]:
        return sorted({p.row for p in self.errors if p.row is not None})

    def as_dict(self) -> dict:
        return {"layer": self.layer, "ok": self.ok, "rows_total": self.rows_total,
                "rows_valid": self.rows_valid, "rows_rejected": self.rows_rejected,
                "errors": len(self.errors), "warnings": len(self.warnings),
                "generated_ids": {str(r + 1): i for r, i in self.generated_ids.items()},
                "problems": [p.as_dict() for p in self.problems]}


def _short(value: Any, n: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= n else text[: n - 1] + "…"


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (bool, int, str)):
        return value if not isinstance(value, str) or len(value) < 200 else value[:199] + "…"
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    return _short(value, 200)



class Checker:
    """Collects problems while a file is checked and remembers which rows are rejected."""

    def __init__(self):
        self.problems: list[Problem] = []
        self.bad: set[int] = set()

    def error(self, row, fld, value, reason, code="invalid", params=None):
        """An error: the row (or, with ``row`` None, the whole file) is rejected."""
        row = None if row is None else int(row)
        self.problems.append(Problem(row, fld, value, reason, "error", code, params))
        if row is not None:
            self.bad.add(row)

    def warn(self, row, fld, value, reason, code="warning", params=None):
        """A warning: the row is kept, the user is told."""
        row = None if row is None else int(row)
        self.problems.append(Problem(row, fld, value, reason, "warning", code, params))

    @property
    def file_rejected(self) -> bool:
        """Whether an error concerns the whole file (a missing column rejects every row)."""
        return any(p.row is None and p.severity == "error" for p in self.problems)
