"""The report document as DOCX (python-docx), and the cell text every report format shares.

The administrative form of Report 564/BC-UBND: unit and number on the left, the national motto
on the right, place and date, the title, numbered sections and tables, the annex; the
classification mark (MẬT / TỐI MẬT) on top when restricted rows went into it. Numbers are
written by :mod:`geo_pcmt.formatting` (decimal comma, thousands dot).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from geo_pcmt.analysis.report_tables import ReportTable
from geo_pcmt.formatting import fmt_number

MOTTO = ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc")
ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII")


def cell_text(value, kind: str) -> str:
    """One table cell as an officer reads it.

    Examples
    --------
    >>> cell_text(1234, "int"), cell_text(5.4, "change"), cell_text(None, "change")
    ('1.234', '+5,4', '–')
    """
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "–" if kind != "text" else ""
    if kind == "int":
        return fmt_number(value, 0)
    if kind == "dec":
        return fmt_number(value, 2)
    if kind == "pct":
        return fmt_number(value, 1)
    if kind == "change":
        return ("+" if float(value) > 0 else "") + fmt_number(value, 1)
    return str(value)


def table_caption(table: ReportTable) -> str:
    """``Biểu 3. Ma túy thu giữ theo loại`` (``Phụ lục`` for annex tables)."""
    return f"{'Phụ lục' if table.annex else 'Biểu'} {table.number}. {table.title}"


def _docx_table(doc, table: ReportTable) -> None:
    from docx.shared import Pt
    doc.add_paragraph(table_caption(table), style="Caption")
    if not len(table.rows):
        doc.add_paragraph("Không có xã, phường nào trong danh sách.")
        return
    grid = doc.add_table(rows=1, cols=len(table.columns))
    grid.style = "Table Grid"
    for cell, (_, header, _) in zip(grid.rows[0].cells, table.columns):
        cell.text = header
        cell.paragraphs[0].runs[0].bold = True
    for i, row in enumerate(table.rows.to_dict("records")):
        cells = grid.add_row().cells
        last = table.total is not None and i == len(table.rows) - 1
        for cell, (key, _, kind) in zip(cells, table.columns):
            cell.text = cell_text(row.get(key), kind)
            if kind != "text":
                cell.paragraphs[0].alignment = 2  # right
            if last and cell.paragraphs[0].runs:
                cell.paragraphs[0].runs[0].bold = True
    for r in grid.rows:
        for cell in r.cells:
            for run in (run for p in cell.paragraphs for run in p.runs):
                run.font.size = Pt(9)
    if table.note:
        doc.add_paragraph(table.note).runs[0].italic = True


def _heading(doc, report) -> None:
    from docx.shared import Pt
    if report.marking:
        p = doc.add_paragraph()
        p.alignment = 1
        r = p.add_run(report.marking)
        r.bold, r.font.size = True, Pt(14)
    head = doc.add_table(rows=2, cols=2)
    head.cell(0, 0).text = report.unit
    head.cell(1, 0).text = report.number
    head.cell(0, 1).text = MOTTO[0]
    head.cell(1, 1).text = MOTTO[1]
    for r in head.rows:
        for cell in r.cells:
            cell.paragraphs[0].alignment = 1
            for run in cell.paragraphs[0].runs:
                run.bold = True
    p = doc.add_paragraph(report.place_date)
    p.alignment = 2
    p.runs[0].italic = True
    first, *rest = report.title.split("\n")
    t = doc.add_paragraph()
    t.alignment = 1
    t.add_run(first).bold = True
    for line in rest:
        t.add_run("\n" + line).bold = True


def write_docx(report, path: str | Path) -> Path:
    """Write ``report`` (:class:`geo_pcmt.runs.report.Report`) as a Word document at ``path``."""
    from docx import Document
    from docx.shared import Cm, Pt
    doc = Document()
    sec = doc.sections[0]
    sec.page_height, sec.page_width = Cm(29.7), Cm(21.0)
    sec.left_margin, sec.right_margin = Cm(2.5), Cm(1.5)
    style = doc.styles["Normal"]
    style.font.name, style.font.size = "Times New Roman", Pt(12)
    _heading(doc, report)
    for i, section in enumerate(report.sections):
        doc.add_paragraph().add_run(f"{ROMAN[i]}. {section.heading.upper()}").bold = True
        for text in section.paragraphs:
            doc.add_paragraph(text)
        for table in section.tables:
            _docx_table(doc, table)
    doc.add_paragraph().add_run("PHỤ LỤC").bold = True
    for table in report.annex:
        _docx_table(doc, table)
    doc.add_paragraph().add_run("Nơi nhận:").bold = True
    doc.add_paragraph("- Như trên;\n- Lưu: VT.")
    path = Path(path)
    doc.save(path)
    return path


__all__ = ["MOTTO", "cell_text", "table_caption", "write_docx"]
