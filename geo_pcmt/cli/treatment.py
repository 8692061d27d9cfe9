"""``geo-pcmt treatment``: drug treatment indicators against the province's targets (thin; calls the run)."""
from __future__ import annotations

import json
from datetime import date

import click
import pandas as pd

from geo_pcmt.access import ROLES
from geo_pcmt.cli.options import JSON_OPTION, STORE_OPTION, open_command_store
from geo_pcmt.cli.status import CODES_OPTION, CSV_OPTION, XLSX_OPTION, _call_run, _table, _write_files
from geo_pcmt.formatting import fmt_number
from geo_pcmt.runs.common import DEFAULT_ROLE

TOTAL_LABELS = (("addicts_with_records", "Người nghiện có hồ sơ quản lý"),
                ("users", "Người sử dụng trái phép có hồ sơ"),
                ("compulsory_treatment", "Cai nghiện bắt buộc"),
                ("voluntary_treatment", "Cai nghiện tự nguyện tại cơ sở"),
                ("community_treatment", "Cai nghiện tại gia đình, cộng đồng"),
                ("post_treatment", "Quản lý sau cai nghiện"),
                ("on_methadone", "Điều trị Methadone"),
                ("vocational_trained", "Được dạy nghề"))
HEADERS = {"in_treatment": "Đang cai nghiện", "reach_pct": "Tiếp cận điều trị (%)",
           "voluntary_pct": "Tự nguyện (%)", "facility_pct": "Tại cơ sở (%)",
           "vocational_pct": "Dạy nghề (%)", "warnings": "Cảnh báo", "year": "Năm"}


def _pct(v) -> str:
    return "–" if v is None or v != v else f"{fmt_number(v, 1)} %"


def _change(now: int, before: int | None) -> str:
    if before is None:
        return "–"
    if before == 0:
        return "–" if now == 0 else "mới"
    return f"{'+' if now >= before else ''}{fmt_number(100.0 * (now - before) / before, 1)} %"


@click.command("treatment")
@click.option("--year", type=int, default=None,
              help="Year to report (default: the latest year with counts).")
@click.option("--targets", "targets_file", type=click.Path(dir_okay=False), default=None,
              help="Targets file to use instead of the packaged one (YAML).")
@click.option("--today", default=None, help="Read recognitions as on this day (YYYY-MM-DD).")
@CSV_OPTION
@XLSX_OPTION
@CODES_OPTION
@click.option("--role", type=click.Choice(ROLES), default=DEFAULT_ROLE, show_default=True,
              help="Role the run reads the records for.")
@JSON_OPTION
@STORE_OPTION
def treatment_command(year, targets_file, today, csv_path, xlsx_path, keep_codes, role, as_json,
                      store_url):
    """Treatment (cai nghiện, quản lý sau cai, Methadone) per commune and for the province,
    against Plan 180/KH-UBND's targets, and the drug-free share against Plans 695/1154/107."""
    from geo_pcmt.runs import treatment as treatment_run
    params = treatment_run.TreatmentParams(
        year=year, today=date.fromisoformat(today) if today else date.today(),
        targets_file=targets_file, role=role)
    result = _call_run(treatment_run, open_command_store(store_url), params)
    per = result.communes.rename(columns=HEADERS) if not keep_codes else result.communes
    if csv_path or xlsx_path:
        _write_files(per if not keep_codes else result.communes, csv_path, xlsx_path, None,
                     "treatment", keep_codes)
    if as_json:
        click.echo(json.dumps({"year": result.year, "totals": result.totals,
                               "previous_totals": result.previous_totals,
                               "targets": result.province.to_dict("records"),
                               "drug_free": result.drug_free.as_dict(),
                               "communes": result.communes.astype(object).where(
                                   result.communes.notna(), None).to_dict("records")},
                              ensure_ascii=False, indent=1, default=str))
        return
    before = result.previous_totals
    rows = [[label, fmt_number(result.totals[f]),
             fmt_number(before[f]) if before else "–",
             _change(result.totals[f], before[f] if before else None)]
            for f, label in TOTAL_LABELS]
    click.echo(f"Cai nghiện, điều trị năm {result.year} (toàn tỉnh, số liệu tổng hợp theo xã)")
    click.echo(_table(rows, ["chỉ số", str(result.year), str(result.year - 1), "so cùng kỳ"]))
    click.echo("")
    rows = [[r.label_vi, f"{fmt_number(r.numerator)}/{fmt_number(r.denominator)}",
             _pct(r.value_pct), f"{fmt_number(r.target_pct)} %",
             "–" if r.met is None else ("đạt" if r.met else "chưa đạt")]
            for r in result.province.itertuples()]
    click.echo("Chỉ tiêu Kế hoạch 180/KH-UBND (2022)")
    click.echo(_table(rows, ["chỉ tiêu", "số", "đạt được", "chỉ tiêu", "đánh giá"]))
    click.echo("")
    click.echo(result.drug_free.text_vi)
    warn = result.communes[result.communes["warnings"].notna()]
    if len(warn):
        click.echo(f"{len(warn)} xã có số liệu cần kiểm tra: "
                   + ", ".join(pd.Series(warn.get("commune_name", warn["commune_code"]))
                               .astype(str).head(10)))




@click.command("methadone")
@click.option("--year", type=int, default=None,
              help="Year of the people counts (default: the latest year with counts).")
@click.option("--threshold", "threshold_min", type=click.Choice(["30", "60"]), default="30",
              show_default=True, help="Minutes by motorbike a new dispensing point should "
                                      "bring people within.")
@CSV_OPTION
@XLSX_OPTION
@CODES_OPTION
@click.option("--no-write", is_flag=True, help="Do not write the methadone_access layer.")
@click.option("--user", default="cli", show_default=True, help="Recorded in the audit log.")
@click.option("--role", type=click.Choice(ROLES), default=DEFAULT_ROLE, show_default=True,
              help="Role the run reads the records for.")
@JSON_OPTION
@STORE_OPTION
def methadone_command(year, threshold_min, csv_path, xlsx_path, keep_codes, no_write, user, role,
                      as_json, store_url):
    """Motorbike time from each commune to the nearest methadone dispensing point, people
    with records beyond 30 / 60 minutes, and the 3 best sites for one more point."""
    from geo_pcmt.cli.status import _write_run
    from geo_pcmt.runs import methadone as methadone_run
    params = methadone_run.MethadoneParams(year=year, threshold_min=float(threshold_min),
                                           role=role)
    store = open_command_store(store_url)
    result = _call_run(methadone_run, store, params)
    if not no_write:
        _write_run(methadone_run, store, result, user)
    acc = result.access
    table = acc.communes.sort_values("minutes", ascending=False)
    _write_files(table, csv_path, xlsx_path, None, "methadone_access", keep_codes)
    if as_json:
        click.echo(json.dumps({"year": result.year, "threshold_min": acc.threshold_min,
                               "communes": pd.DataFrame(table.drop(columns="geometry"))
                               .to_dict("records"),
                               "sites": pd.DataFrame(acc.sites.drop(columns="geometry"))
                               .to_dict("records")}, ensure_ascii=False, indent=1, default=str))
        return
    far = table[table["beyond_30"]]
    rows = [[r.commune_code, r.commune_name, r.nearest_point, fmt_number(r.minutes),
             fmt_number(r.people), "có" if r.beyond_60 else "không"] for r in far.itertuples()]
    click.echo(f"Tiếp cận Methadone năm {result.year}: thời gian đi xe máy tới điểm cấp phát "
               f"gần nhất, các xã xa hơn 30 phút")
    click.echo(_table(rows, ["mã", "xã/phường", "điểm cấp phát gần nhất", "phút",
                             "người nghiện có hồ sơ", "xa hơn 60 phút"]))
    c = acc.communes
    click.echo(f"Người nghiện có hồ sơ ở xã xa hơn 30 phút: "
               f"{fmt_number(c.loc[c['beyond_30'], 'people'].sum())} "
               f"({int(c['beyond_30'].sum())} xã); xa hơn 60 phút: "
               f"{fmt_number(c.loc[c['beyond_60'], 'people'].sum())} "
               f"({int(c['beyond_60'].sum())} xã)")
    rows = [[str(r.rank), r.commune_name, fmt_number(r.gain_people), str(r.communes_gained)]
            for r in acc.sites.itertuples()]
    click.echo(f"Địa điểm đề xuất thêm một điểm cấp phát (trong {fmt_number(acc.threshold_min)} "
               "phút):")
    click.echo(_table(rows, ["thứ tự", "đặt tại xã", "số người được phục vụ thêm",
                             "số xã thêm"]))


COMMANDS = [treatment_command, methadone_command]
