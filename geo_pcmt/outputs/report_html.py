"""The report document as printable HTML (A4), printed to PDF by the one PDF function
(:func:`geo_pcmt.outputs.brief.brief_pdf`, headless Chromium): the same content as the DOCX."""
from __future__ import annotations

from html import escape
from pathlib import Path

from geo_pcmt.analysis.report_tables import ReportTable
from geo_pcmt.outputs.report_docx import MOTTO, ROMAN, cell_text, table_caption

CSS = """@page { size: A4; margin: 18mm 15mm 18mm 25mm; }
body { font-family: 'Times New Roman', 'Liberation Serif', 'DejaVu Serif', serif; font-size: 12pt; }
.mark { text-align: center; font-weight: bold; font-size: 14pt; }
.head { width: 100%; } .head td { text-align: center; font-weight: bold; vertical-align: top; }
.date { text-align: right; font-style: italic; } .title { text-align: center; font-weight: bold; }
table.t { border-collapse: collapse; width: 100%; font-size: 9pt; margin-bottom: 4pt; }
table.t th, table.t td { border: 1px solid #000; padding: 2px 4px; }
table.t td.n { text-align: right; white-space: nowrap; } tr.total td { font-weight: bold; }
.cap { font-weight: bold; margin-top: 10pt; } .note { font-style: italic; font-size: 9pt; }
thead { display: table-header-group; } tr { page-break-inside: avoid; }"""


def _table(t: ReportTable) -> str:
    out = [f'<p class="cap">{escape(table_caption(t))}</p>']
    if not len(t.rows):
        return out[0] + "<p>Không có xã, phường nào trong danh sách.</p>"
    out.append('<table class="t"><thead><tr>' + "".join(
        f"<th>{escape(h)}</th>" for _, h, _ in t.columns) + "</tr></thead><tbody>")
    rows = t.rows.to_dict("records")
    for i, row in enumerate(rows):
        total = t.total is not None and i == len(rows) - 1
        out.append(f'<tr{" class=total" if total else ""}>' + "".join(
            f'<td{" class=n" if kind != "text" else ""}>{escape(cell_text(row.get(k), kind))}'
            "</td>" for k, _, kind in t.columns) + "</tr>")
    out.append("</tbody></table>")
    if t.note:
        out.append(f'<p class="note">{escape(t.note)}</p>')
    return "".join(out)


def render_html(report) -> str:
    """The whole report as one HTML page (escaped; no script)."""
    title = "<br>".join(escape(x) for x in report.title.split("\n"))
    parts = [f'<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>'
             f'{escape(report.title.replace(chr(10), " "))}</title><style>{CSS}</style></head>'
             "<body>"]
    if report.marking:
        parts.append(f'<p class="mark">{escape(report.marking)}</p>')
    parts.append(f'<table class="head"><tr><td>{escape(report.unit)}<br>{escape(report.number)}'
                 f"</td><td>{escape(MOTTO[0])}<br><u>{escape(MOTTO[1])}</u></td></tr></table>"
                 f'<p class="date">{escape(report.place_date)}</p><p class="title">{title}</p>')
    for i, s in enumerate(report.sections):
        parts.append(f"<h3>{ROMAN[i]}. {escape(s.heading.upper())}</h3>")
        parts += [f"<p>{escape(p)}</p>" for p in s.paragraphs]
        parts += [_table(t) for t in s.tables]
    *titles, hint = report.signature
    parts.append('<table class="head"><tr><td style="text-align:left;font-weight:normal">'
                 "<b><i>Nơi nhận:</i></b><br>" + "<br>".join(escape(x) for x in report.recipients)
                 + "</td><td>" + "<br>".join(escape(x) for x in titles)
                 + f'<br><i style="font-weight:normal">{escape(hint)}</i></td></tr></table>')
    parts.append('<h3 style="page-break-before: always;text-align:center">PHỤ LỤC</h3>')
    parts += [_table(t) for t in report.annex]
    parts.append("</body></html>")
    return "".join(parts)


def write_pdf(report, path: str | Path) -> Path:
    """Print the report to PDF (A4) through :func:`geo_pcmt.outputs.brief.brief_pdf`."""
    from geo_pcmt.outputs.brief import brief_pdf
    return brief_pdf(render_html(report), path)


__all__ = ["render_html", "write_pdf"]
