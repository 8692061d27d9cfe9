"""A validation report as an officer reads it: problems grouped with counts, the fixes to
offer, and the officer's own rows with a column saying what is wrong with each.

Everything here is pure (report and frame in, lists and frames out); the web page
(:mod:`geo_pcmt.web.data`) shows the groups and the fixes, and writes the annotated rows
through :func:`geo_pcmt.outputs.spreadsheet.write_xlsx`. Rows are named as Excel shows
them (header row 1, first record row 2).
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from geo_pcmt.ingest.problem_text import problem_text
from geo_pcmt.ingest.report import Problem, ValidationReport
from geo_pcmt.layers import Layer

#: Problems a button can fix: code → (upload option, label vi, label en).
FIXES: dict[str, tuple[str, str, str]] = {
    "swapped_lat_lon": ("fix_swapped", "Đổi kinh độ/vĩ độ", "Swap longitude/latitude"),
    "invalid_geometry": ("repair", "Sửa hình học không hợp lệ", "Repair invalid geometries"),
}
PROBLEMS_COLUMN = {"vi": "Vấn đề", "en": "Problems"}
GENERATED_COLUMN = {"vi": "Mã được tạo", "en": "Generated id"}
SEVERITY = {"vi": {"error": "Lỗi", "warning": "Cảnh báo"},
            "en": {"error": "Error", "warning": "Warning"}}
ROWS_SHOWN = 12  # row numbers listed in a group before "…"


@dataclass(frozen=True)
class ProblemGroup:
    """Problems of one kind (severity, code, field): how many and in which rows."""

    severity: str
    code: str
    field: str | None
    text: str            # the sentence of the first problem, in the page's language
    sheet_rows: tuple[int, ...]
    count: int

    @property
    def rows_text(self) -> str:
        """The rows, the first few of them: ``"2, 5, 9 …"`` (empty for the whole file)."""
        shown = ", ".join(str(r) for r in self.sheet_rows[:ROWS_SHOWN])
        return shown + (" …" if len(self.sheet_rows) > ROWS_SHOWN else "")


def problem_groups(report: ValidationReport, layer: Layer,
                   lang: str = "vi") -> list[ProblemGroup]:
    """The report's problems grouped by severity, code and field, errors first, then the
    larger groups."""
    groups: dict[tuple, list[Problem]] = {}
    for p in report.problems:
        groups.setdefault((p.severity, p.code, p.field), []).append(p)
    out = [ProblemGroup(sev, code, fld, problem_text(ps[0], layer, lang),
                        tuple(sorted({p.sheet_row for p in ps if p.sheet_row is not None})),
                        len(ps))
           for (sev, code, fld), ps in groups.items()]
    return sorted(out, key=lambda g: (g.severity != "error", -g.count, g.code))


def fixes_offered(report: ValidationReport, options: dict) -> list[dict]:
    """The fixes whose problems the report has and that were not already applied:
    ``{"name", "vi", "en", "rows"}`` each."""
    out = []
    for code, (name, vi, en) in FIXES.items():
        rows = {p.row for p in report.errors if p.code == code}
        if rows and not options.get(name):
            out.append({"name": name, "vi": vi, "en": en, "rows": len(rows)})
    return out


def annotated_frame(frame: pd.DataFrame, report: ValidationReport, layer: Layer,
                    lang: str = "vi") -> pd.DataFrame:
    """The officer's rows as read, in their order (so each keeps its Excel row number),
    with the id generated for it and a column listing its problems (empty when none).

    Problems of the whole file (a missing column) are on every row, as they reject all.
    """
    out = frame.copy()  # a GeoDataFrame stays one: the spreadsheet writer flattens it
    out.index = range(1, len(out) + 1)
    whole = [_line(p, layer, lang) for p in report.problems if p.row is None]
    per_row: dict[int, list[str]] = {}
    for p in report.problems:
        if p.row is not None:
            per_row.setdefault(p.row, []).append(_line(p, layer, lang))
    if report.generated_ids:
        out[GENERATED_COLUMN[lang]] = [report.generated_ids.get(r) for r in out.index]
    out[PROBLEMS_COLUMN[lang]] = ["\n".join(whole + per_row.get(r, [])) or None
                                  for r in out.index]
    return out.reset_index(drop=True)


def _line(p: Problem, layer: Layer, lang: str) -> str:
    return f"{SEVERITY[lang][p.severity]}: {problem_text(p, layer, lang)}"
