"""``geo-pcmt report``: the province's report document for a period (thin; calls the run)."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from geo_pcmt.access import ROLES
from geo_pcmt.cli.options import STORE_OPTION, open_command_store
from geo_pcmt.cli.status import _call_run
from geo_pcmt.outputs.report import REPORT_FORMATS, write_report
from geo_pcmt.runs.common import DEFAULT_ROLE
from geo_pcmt.runs.report import DEFAULT_UNIT

@click.command("report")
@click.option("--month", help="Monthly report, e.g. 2025-06.")
@click.option("--quarter", help="Quarterly report, e.g. 2025Q2.")
@click.option("--year", help="Yearly report, e.g. 2025.")
@click.option("--action-month", help="The June action month (tháng hành động) of a year, "
                                      "e.g. 2025.")
@click.option("--format", "fmt", type=click.Choice(sorted(REPORT_FORMATS)), default=None,
              help="docx (Word), xlsx (one sheet per table) or pdf (A4, printed by headless "
                   "Chromium). Default: from the file name's extension.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="File to write (.docx, .xlsx or .pdf).")
@click.option("--unit", default=DEFAULT_UNIT, show_default=True, help="Issuing body (cơ quan).")
@click.option("--number", default="", help="Report number, e.g. 564 or 564/BC-UBND "
                                           "(default: left blank to fill in).")
@click.option("--date", "on", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Date of the report (default today); YYYY-MM-DD.")
@click.option("--role", type=click.Choice(ROLES), default=DEFAULT_ROLE, show_default=True,
              help="Read the data as this role (rows and fields it may see).")
@STORE_OPTION
def report_command(month, quarter, year, action_month, fmt, output, unit, number, on, role,
                   store_url):
    """Write the drug prevention and control report for one period (báo cáo kết quả công
    tác phòng, chống ma túy): cases and offenders by force with last year's same period,
    seizures, treatment against Plan 180, the communes' classification list, the pre-check
    list for the "sạch về ma túy" round and an annex per commune."""
    from geo_pcmt.runs import report as report_run
    chosen = [(k, v) for k, v in (("month", month), ("quarter", quarter), ("year", year),
                                  ("action_month", action_month)) if v]
    if len(chosen) != 1:
        raise click.UsageError("give exactly one of --month, --quarter, --year, --action-month")
    fmt = fmt or Path(output).suffix.lstrip(".").lower()
    if fmt not in REPORT_FORMATS:
        raise click.UsageError("say --format docx|xlsx|pdf or end the file name with one")
    kind, value = chosen[0]
    params = report_run.ReportParams(kind, value, unit=unit, number=number,
                                     on=on.date() if on else date.today(), role=role)
    result = _call_run(report_run, open_command_store(store_url), params)
    path = write_report(result, fmt, output)
    click.echo(f"{path} ({fmt}, {len(result.tables())} biểu"
               + (f", {result.marking}" if result.marking else "") + ")")


COMMANDS = [report_command]
