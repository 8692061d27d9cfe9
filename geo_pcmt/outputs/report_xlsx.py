"""The report's tables as an Excel workbook: one sheet per numbered table, numbers as numbers.

Text cells go through :func:`geo_pcmt.outputs.spreadsheet.defuse` and are written as text
(never a formula); the heading (unit, number, date, title, mark) tops the first sheet.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from geo_pcmt.outputs.report_docx import MOTTO, table_caption
from geo_pcmt.outputs.spreadsheet import XLSX_MAX_CELL_CHARS, defuse
from geo_pcmt.outputs.table import CellTooLong

FORMATS = {"int": "#,##0", "dec": "#,##0.00", "pct": "0.0", "change": "+0.0;-0.0;0.0"}


def _value(ws, value, kind: str, sheet: str, field: str):
    from openpyxl.cell import Cell
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if kind == "text" or isinstance(value, str):
        text = defuse(str(value))
        if len(text) > XLSX_MAX_CELL_CHARS:
            raise CellTooLong(sheet, None, field, len(text), XLSX_MAX_CELL_CHARS)
        cell = Cell(ws, value=text)
        cell.data_type = "s"
        return cell
    cell = Cell(ws, value=float(value) if kind in ("dec", "pct", "change") else int(value))
    cell.number_format = FORMATS[kind]
    return cell


def write_xlsx(report, path) -> Path:
    """Write every table of ``report`` to ``path`` (a file name or binary file object)."""
    from openpyxl import Workbook
    wb = Workbook()
    wb.remove(wb.active)
    for i, table in enumerate(report.tables()):
        name = f"{'PL' if table.annex else 'Bieu'} {table.number}"
        ws = wb.create_sheet(name)
        if i == 0:
            head = [report.marking or "", report.unit, report.number, MOTTO[0], MOTTO[1],
                    report.place_date, report.title.replace("\n", " – "), ""]
            for text in head:
                ws.append([_value(ws, text, "text", name, "heading")])
        ws.append([_value(ws, table_caption(table), "text", name, "title")])
        ws.append([_value(ws, h, "text", name, "header") for _, h, _ in table.columns])
        for row in table.rows.to_dict("records"):
            ws.append([_value(ws, row.get(k), kind, name, k) for k, _, kind in table.columns])
        if table.note:
            ws.append([_value(ws, table.note, "text", name, "note")])
    wb.save(path)
    return Path(path) if isinstance(path, str) else path


__all__ = ["write_xlsx"]
