"""The report document's formats: DOCX, XLSX, PDF (one place for the CLI and the web)."""
from __future__ import annotations

import importlib
from pathlib import Path

REPORT_FORMATS = {"docx": ("geo_pcmt.outputs.report_docx", "write_docx",
                           "application/vnd.openxmlformats-officedocument."
                           "wordprocessingml.document"),
                  "xlsx": ("geo_pcmt.outputs.report_xlsx", "write_xlsx",
                           "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
                  "pdf": ("geo_pcmt.outputs.report_html", "write_pdf", "application/pdf")}


def write_report(report, fmt: str, path: str | Path) -> Path:
    """Write ``report`` (:class:`geo_pcmt.runs.report.Report`) as ``fmt`` to ``path``."""
    if fmt not in REPORT_FORMATS:
        raise ValueError(f"report format must be one of {', '.join(sorted(REPORT_FORMATS))}")
    module, name, _ = REPORT_FORMATS[fmt]
    return Path(getattr(importlib.import_module(module), name)(report, str(path)))


def media_type(fmt: str) -> str:
    """The HTTP media type of a report format."""
    return REPORT_FORMATS[fmt][2]


__all__ = ["REPORT_FORMATS", "media_type", "write_report"]
