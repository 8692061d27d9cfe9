"""``/reports``: the province's report documents for analysts (form, then download; audited).

Thin: the form names a period and a format; the report run reads as the signed-in user's role
and :mod:`geo_pcmt.outputs.report` writes the file, which is audited like an export.
"""
from __future__ import annotations

import shutil
import tempfile
from datetime import date
from pathlib import Path

from flask import Blueprint, Response, render_template, request

from geo_pcmt.outputs.report import REPORT_FORMATS, media_type, write_report
from geo_pcmt.runs import report as report_run
from geo_pcmt.web.auth import actor, current_role, login_required
from geo_pcmt.web.context import get_store
from geo_pcmt.web.security import ApiError

bp = Blueprint("reports", __name__, url_prefix="/reports")

KINDS = (("year", "Năm / year"), ("quarter", "Quý / quarter"), ("month", "Tháng / month"),
         ("action_month", "Tháng hành động (tháng 6) / action month"))


@bp.get("/")
@login_required(role="analyst")
def index():
    """The form: period kind, which period, number, format."""
    return render_template("reports.html", kinds=KINDS, formats=sorted(REPORT_FORMATS))


@bp.get("/download")
@login_required(role="analyst")
def download():
    """The report file; 400 with the reason for a bad period or format."""
    kind, value = request.args.get("kind", "year"), request.args.get("value", "").strip()
    fmt = request.args.get("format", "docx")
    if kind not in dict(KINDS) or fmt not in REPORT_FORMATS:
        raise ApiError(400, "bad_request", f"kind must be one of {', '.join(dict(KINDS))}; "
                                           f"format one of {', '.join(sorted(REPORT_FORMATS))}")
    role = current_role()
    params = report_run.ReportParams(kind, value, number=request.args.get("number", "")[:40],
                                     on=date.today(), role=role)
    store = get_store()
    try:
        report = report_run.run(report_run.read_inputs(store, params), params)
    except ValueError as exc:
        raise ApiError(400, "bad_period", str(exc)) from None
    workdir = tempfile.mkdtemp(prefix="geo_pcmt_report_")
    try:
        path = write_report(report, fmt, Path(workdir) / f"bao-cao.{fmt}")
        body = path.read_bytes()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    store.audit(actor(), "report", "cases", [], {"kind": kind, "value": value, "format": fmt,
                                                "role": role, "marking": report.marking})
    name = f"bao-cao-{kind}-{value}.{fmt}".replace("_", "-")
    return Response(body, content_type=media_type(fmt),
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


__all__ = ["bp"]
