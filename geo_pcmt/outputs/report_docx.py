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
TEXT_WIDTH_CM = 17.0  # A4 less the 2,5 cm left and 1,5 cm right margins


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


def _keep_rows_whole(grid) -> None:
    """The header row repeats on every page and no row splits across a page break."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    for i, row in enumerate(grid.rows):
        tr_pr = row._tr.get_or_add_trPr()
        tr_pr.append(OxmlElement("w:cantSplit"))
        if i == 0:
            tr_pr.append(OxmlElement("w:tblHeader"))
        for cell in row.cells:  # keep a caption's table with it: each row keeps with the next
            for p in cell.paragraphs:
                p.paragraph_format.keep_with_next = i < len(grid.rows) - 1 and len(grid.rows) < 12
    _ = qn  # the namespace helper is what OxmlElement resolves "w:" with


def _caption(doc, table: ReportTable) -> None:
    from docx.shared import Pt, RGBColor
    p = doc.add_paragraph()
    p.paragraph_format.space_before, p.paragraph_format.space_after = Pt(8), Pt(3)
    p.paragraph_format.keep_with_next = True
    run = p.add_run(table_caption(table))
    run.bold, run.font.size, run.font.color.rgb = True, Pt(11), RGBColor(0, 0, 0)


def column_widths_cm(table: ReportTable, text_width_cm: float = TEXT_WIDTH_CM) -> list[float]:
    """Column widths filling the text width: words get twice a number's room, ``STT`` three quarters.

    Examples
    --------
    >>> t = ReportTable("x", [("n", "STT", "int"), ("name", "Xã", "text"),
    ...                       ("v", "Số vụ", "int")], pd.DataFrame())
    >>> column_widths_cm(t, 14.0)
    [2.8, 7.47, 3.73]
    """
    weights = [0.75 if header == "STT" else 2.0 if kind == "text" else 1.0
               for _, header, kind in table.columns]
    return [round(text_width_cm * w / sum(weights), 2) for w in weights]


def _docx_table(doc, table: ReportTable) -> None:
    from docx.shared import Cm, Pt
    _caption(doc, table)
    if not len(table.rows):
        doc.add_paragraph("Không có xã, phường nào trong danh sách.")
        return
    grid = doc.add_table(rows=1, cols=len(table.columns))
    grid.style = "Table Grid"
    grid.autofit = False
    for column, width in zip(grid.columns, column_widths_cm(table)):
        column.width = Cm(width)
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
    _keep_rows_whole(grid)
    if table.note:
        note = doc.add_paragraph()
        note.paragraph_format.space_before = Pt(2)
        run = note.add_run(table.note)
        run.italic, run.font.size = True, Pt(10)


def _heading(doc, report) -> None:
    """The heading block of Decree 30/2020/NĐ-CP: issuing body and number on the left (about
    6 cm), the national motto on the right, place and date under the motto."""
    from docx.shared import Cm, Pt
    if report.marking:
        p = doc.add_paragraph()
        p.alignment = 1
        r = p.add_run(report.marking)
        r.bold, r.font.size = True, Pt(14)
    head = doc.add_table(rows=2, cols=2)
    head.autofit = False
    widths = (Cm(6.5), Cm(10.5))
    for column, width in zip(head.columns, widths):
        column.width = width  # the table grid: what Word and LibreOffice lay out by
    texts = ((report.unit, MOTTO[0]), (report.number, MOTTO[1]))
    sizes = ((Pt(12), Pt(12)), (Pt(13), Pt(13)))
    for r, row in enumerate(head.rows):
        for c, cell in enumerate(row.cells):
            cell.width = widths[c]
            cell.text = texts[r][c]
            para = cell.paragraphs[0]
            para.alignment = 1
            for run in para.runs:
                run.bold = not (r == 1 and c == 0)
                run.font.size = sizes[r][c]
    p = doc.add_paragraph(report.place_date)
    p.alignment = 2
    p.runs[0].italic = True
    first, *rest = report.title.split("\n")
    t = doc.add_paragraph()
    t.alignment = 1
    t.add_run(first).bold = True
    for line in rest:
        t.add_run("\n" + line).bold = True


def _closing(doc, report) -> None:
    """"Nơi nhận" on the left, the signature block on the right (Decree 30/2020/NĐ-CP)."""
    from docx.shared import Cm, Pt
    block = doc.add_table(rows=1, cols=2)
    block.autofit = False
    for column, width in zip(block.columns, (Cm(7.5), Cm(9.5))):
        column.width = width
    left, right = block.rows[0].cells
    head = left.paragraphs[0].add_run("Nơi nhận:")
    head.bold, head.italic, head.font.size = True, True, Pt(11)
    for line in report.recipients:
        left.add_paragraph().add_run(line).font.size = Pt(10)
    *titles, hint = report.signature
    p = right.paragraphs[0]
    p.alignment = 1
    for k, line in enumerate(titles):
        p.add_run(("\n" if k else "") + line).bold = True
    note = right.add_paragraph()
    note.alignment = 1
    note.add_run(hint).italic = True


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
        head = doc.add_paragraph()
        head.paragraph_format.keep_with_next = True
        head.add_run(f"{ROMAN[i]}. {section.heading.upper()}").bold = True
        for text in section.paragraphs:
            doc.add_paragraph(text).paragraph_format.keep_with_next = True
        for table in section.tables:
            _docx_table(doc, table)
    _closing(doc, report)
    doc.add_page_break()
    annex = doc.add_paragraph()
    annex.alignment = 1
    annex.add_run("PHỤ LỤC").bold = True
    for table in report.annex:
        _docx_table(doc, table)
    path = Path(path)
    doc.save(path)
    return path


__all__ = ["MOTTO", "cell_text", "table_caption", "write_docx"]
