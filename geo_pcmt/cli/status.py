"""``geo-pcmt status | progress | assess | recognition | plan | rules``: commune status and progress.

Thin commands: ``status`` and ``progress`` call their runs (:mod:`geo_pcmt.runs.status`,
:mod:`geo_pcmt.runs.progress`); the others call :mod:`geo_pcmt.analysis.status`,
:mod:`geo_pcmt.analysis.progress` and :mod:`geo_pcmt.analysis.rules`.
Exit codes as in :mod:`geo_pcmt.cli.main`: 0 success, 1 the input had problems (nothing stored),
3 the store refused.
"""
from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import click
import pandas as pd

from geo_pcmt.access import ROLES
from geo_pcmt.formatting import fmt_date, fmt_number, fmt_percent
from geo_pcmt.cli.options import EXIT_PROBLEMS, EXIT_STORE, JSON_OPTION, STORE_OPTION, open_command_store
from geo_pcmt.runs.common import DEFAULT_ROLE

SHORT = {"loai_I": "loại I", "loai_II": "loại II", "loai_III": "loại III",
         "co_te_nan_ma_tuy": "có TNMT", "khong_trong_diem": "không TĐ",
         "khong_ma_tuy": "KHÔNG MT", "chua_danh_gia": "chưa ĐG"}
LEGEND = ("loại I/II/III = trọng điểm phức tạp (key complex area); có TNMT = có tệ nạn ma túy, "
          "không phải trọng điểm (drug activity, not a key area); không TĐ = không ghi nhận tệ "
          "nạn, không trọng điểm (nothing recorded); KHÔNG MT = được công nhận không ma túy "
          "(recognised drug-free); chưa ĐG = chưa đánh giá (not assessed); * = nhãn sạch về ma "
          "túy của tỉnh (Nghệ An 'sạch về ma túy' label); † = ngưỡng tạm chưa kiểm chứng sẽ xếp "
          "cao hơn (placeholder bands would give a worse class; see 'nếu áp ngưỡng tạm')")
CSV_HELP = ("Also write the table as CSV (UTF-8, opens in Excel) with Vietnamese column "
            "headers and class names; --codes keeps field names and codes.")
XLSX_HELP = ("Also write the table as an Excel workbook (.xlsx) with Vietnamese column "
             "headers and class names; --codes keeps field names and codes.")
CSV_OPTION = click.option("--csv", "csv_path", type=click.Path(dir_okay=False), default=None,
                          help=CSV_HELP)
XLSX_OPTION = click.option("--xlsx", "xlsx_path", type=click.Path(dir_okay=False), default=None,
                           help=XLSX_HELP)
CODES_OPTION = click.option("--codes", "keep_codes", is_flag=True,
                            help="In --csv/--xlsx files keep field names and codes (loai_I …) "
                                 "instead of Vietnamese headers and names.")


def _mark(row) -> str:
    """Short class, * for the 'sạch' label, † when placeholder bands would give worse."""
    text = SHORT.get(row.status, row.status) + ("*" if row.sach_ve_ma_tuy else "")
    prov = getattr(row, "provisional_class", None)
    return text + ("†" if isinstance(prov, str) and prov != row.computed_class else "")


def fail(message: str, code: int = EXIT_PROBLEMS):
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def _day(ctx, param, value):
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


TODAY_OPTION = click.option("--today", callback=_day, default=None,
                            help="Read the data as on this day (YYYY-MM-DD; default: today).")
ROLE_OPTION = click.option(
    "--role", type=click.Choice(ROLES), default=DEFAULT_ROLE, show_default=True,
    help="Role the run reads the records for; derived rows are as confidential as the most "
         "confidential record read.")
RULES_OPTION = click.option("--rules", "rules_dir", type=click.Path(file_okay=False),
                            default=None, help="Folder of rule-set files to use instead of the "
                                               "packaged ones (edited thresholds).")


def _rule_sets(rules_dir):
    from geo_pcmt.analysis.rules import RuleSetError, load_rule_sets
    try:
        return load_rule_sets(rules_dir)
    except RuleSetError as exc:
        fail(str(exc))


def _call_run(module, store, params):
    """``module.run(module.read_inputs(store, params, role), params)``; problems end the command."""
    from geo_pcmt.access import AccessDenied
    from geo_pcmt.analysis.rules import RuleSetError
    try:
        return module.run(module.read_inputs(store, params, params.role), params)
    except (RuleSetError, AccessDenied) as exc:
        fail(str(exc))
    except (KeyError, ValueError) as exc:
        fail(exc.args[0] if exc.args else str(exc))


def _write_run(module, store, result, user):
    from geo_pcmt.store import StoreError
    try:
        return module.write(store, result, user=user)
    except StoreError as exc:
        fail(str(exc), EXIT_STORE)


def _write_files(frame, csv_path, xlsx_path, geojson_path, layer, keep_codes: bool = False):
    from geo_pcmt.outputs.export import to_csv_bytes, to_xlsx_bytes, write_geojson
    from geo_pcmt.outputs.headers import readable
    flat = pd.DataFrame(frame.drop(columns=[c for c in ("geometry",) if c in frame]))
    if not keep_codes:
        flat = readable(flat, layer)
    if csv_path:
        Path(csv_path).write_bytes(to_csv_bytes(flat))
        click.echo(f"CSV → {csv_path}")
    if xlsx_path:
        Path(xlsx_path).write_bytes(to_xlsx_bytes(flat, sheet=layer))
        click.echo(f"XLSX → {xlsx_path}")
    if geojson_path:
        write_geojson(frame, geojson_path)
        click.echo(f"GeoJSON → {geojson_path}")


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)] if rows else \
        [len(h) for h in header]
    line = lambda r: "  ".join(str(x).ljust(w) for x, w in zip(r, widths)).rstrip()  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


@click.command("status")
@click.option("--period", "periods", multiple=True,
              help="Only these periods (YYYY or YYYY-MM; repeatable). With one period the "
                   "table shows the criteria that fired.")
@click.option("--rule-set", "rule_set_name", default=None,
              help="Judge every period by this rule set (e.g. 28/2025) for a comparable "
                   "series; default: the rule set each assessment names, else the one in force.")
@click.option("--border-only", is_flag=True, help="Only the border communes.")
@CSV_OPTION
@XLSX_OPTION
@CODES_OPTION
@click.option("--geojson", "geojson_path", type=click.Path(dir_okay=False), default=None,
              help="Communes with status per period, for the map (RFC 7946).")
@click.option("--no-write", is_flag=True, help="Do not write the commune_status layer.")
@click.option("--user", default="cli", show_default=True, help="Recorded in the audit log.")
@RULES_OPTION
@TODAY_OPTION
@ROLE_OPTION
@JSON_OPTION
@STORE_OPTION
def status_command(periods, rule_set_name, border_only, csv_path, xlsx_path, keep_codes,
                   geojson_path, no_write, user, rules_dir, today, role, as_json, store_url):
    """Classify every commune (loại I/II/III) per period and show drug-free recognitions.

    Classes come from the commune assessments and the rule sets; drug-free status comes only
    from recognition records. Writes the derived layer commune_status.
    """
    from geo_pcmt.runs import status as status_run
    params = status_run.StatusParams(rule_set=rule_set_name, periods=tuple(periods),
                                     border_only=border_only, today=today or date.today(),
                                     rules_dir=rules_dir, role=role)
    store = open_command_store(store_url)
    result = _call_run(status_run, store, params)
    status = result.status
    rep = _write_run(status_run, store, result, user) if not no_write else None
    _write_files(status, csv_path, xlsx_path, geojson_path, "commune_status", keep_codes)
    if as_json:
        out = pd.DataFrame(status.drop(columns="geometry")).astype(object)
        out = out.where(out.notna(), None)  # JSON has no NaN
        out["criteria"] = [json.loads(c) if isinstance(c, str) else None for c in out["criteria"]]
        click.echo(json.dumps(out.to_dict("records"), ensure_ascii=False, indent=1,
                              default=str))
        return
    _print_status(status, periods)
    _print_rule_sets(status, result.rule_sets)
    if rep:
        click.echo(f"commune_status: {rep[0].inserted} new, {rep[0].updated} updated rows")


def _print_status(status, periods) -> None:
    names = status.drop_duplicates("commune_code").set_index("commune_code")["commune_name"]
    if len(periods) == 1:
        rows = []
        for r in status.sort_values("commune_code").itertuples():
            crits = json.loads(r.criteria) if isinstance(r.criteria, str) else []
            fired = ", ".join(f"{c['outcome'].replace('loai_', '')}.{c['id']}" for c in crits
                              if c["fired"] and c["outcome"].startswith("loai_"))
            warn = r.warnings if isinstance(r.warnings, str) else ""
            prov = r.provisional_class if isinstance(r.provisional_class, str) else None
            tentative = (f"{SHORT.get(prov, prov)} ← {r.unverified_basis}"
                         if prov and prov != r.computed_class else "")
            rows.append([r.commune_code, r.commune_name, _mark(r),
                         SHORT.get(r.computed_class, r.computed_class), fired or "–",
                         tentative or "–", warn[:60] + ("…" if len(warn) > 60 else "")])
        click.echo(_table(rows, ["mã", "xã/phường", "tình trạng", "phân loại", "tiêu chí đạt",
                                 "nếu áp ngưỡng tạm", "cảnh báo"]))
    else:
        cols = sorted(status["period"].unique())
        by = {(r.commune_code, r.period): r for r in status.itertuples()}
        rows = [[code, names[code]] + [_mark(by[(code, p)]) if (code, p) in by else ""
                                       for p in cols]
                for code in sorted(names.index)]
        click.echo(_table(rows, ["mã", "xã/phường"] + cols))
    click.echo("")
    counts = status.groupby(["period", "status"]).size().unstack(fill_value=0)
    order = [c for c in ("loai_I", "loai_II", "loai_III", "co_te_nan_ma_tuy",
                         "khong_trong_diem", "khong_ma_tuy", "chua_danh_gia")
             if c in counts.columns]
    rows = []
    for p in counts.index:
        mine = status[status["period"] == p]
        key = int(mine["status"].isin(("loai_I", "loai_II", "loai_III")).sum())
        tentative = int((mine["provisional_class"].notna()
                         & (mine["provisional_class"] != mine["computed_class"])).sum())
        rows.append([p] + [str(counts.at[p, c]) for c in order] +
                    [f"{key}/{len(mine)} ({fmt_percent(key / len(mine))})",
                     str(int(mine["sach_ve_ma_tuy"].sum())), str(tentative)])
    click.echo(_table(rows, ["kỳ"] + [SHORT[c] for c in order] +
                      ["trọng điểm", "sạch*", "†"]))
    click.echo(LEGEND)


def _print_rule_sets(status, rule_sets) -> None:
    """Each rule set used, with its version and the bands still unverified."""
    used = [u for u in status["rule_set"].dropna().unique()]
    for rs_id in sorted(used):
        rs = rule_sets.get(rs_id)
        if rs is None:
            continue
        periods = ", ".join(sorted(status.loc[status["rule_set"] == rs_id, "period"].unique()))
        click.echo(f"Bộ tiêu chí / rule set {rs.id} ({rs.version_tag}) cho kỳ {periods}: "
                   f"{rs.title_vi}")
        if rs.unverified:
            click.echo(f"  ngưỡng tạm chưa kiểm chứng (unverified placeholder bands, never "
                       f"decide a class alone): {', '.join(rs.unverified)}")


@click.command("progress")
@click.option("--year", type=int, default=None, help="Year to report (default: this year).")
@click.option("--border", "with_border", is_flag=True,
              help="Summarise the Lao-border corridor by Lao province segment, border post and "
                   "distance band, and write the border_progress layer.")
@click.option("--chart", "chart_path", type=click.Path(dir_okay=False), default=None,
              help="Write the border strip chart (.png or .svg); implies --border.")
@click.option("--bands", default="0,5,15,30", show_default=True,
              help="Distance band edges from the border line, km.")
@click.option("--rule-set", "rule_set_name", default=None,
              help="Judge every period by this rule set (default: the one in force at the end "
                   "of --year, for both years of the comparison).")
@click.option("--as-assessed", is_flag=True,
              help="Judge each period by the rule set it was assessed with (mixed view); rows "
                   "comparing two rule sets are marked †.")
@CSV_OPTION
@XLSX_OPTION
@CODES_OPTION
@click.option("--geojson", "geojson_path", type=click.Path(dir_okay=False), default=None,
              help="With --border: segments, posts, bands and strip bins for the map.")
@click.option("--no-write", is_flag=True, help="Do not write derived layers.")
@click.option("--user", default="cli", show_default=True, help="Recorded in the audit log.")
@RULES_OPTION
@TODAY_OPTION
@ROLE_OPTION
@JSON_OPTION
@STORE_OPTION
def progress_command(year, with_border, chart_path, bands, rule_set_name, as_assessed, csv_path,
                     xlsx_path, keep_codes, geojson_path, no_write, user, rules_dir, today, role,
                     as_json, store_url):
    """Dashboard numbers against the targets, transformation progress, and the border corridor."""
    from geo_pcmt.runs import progress as progress_run
    try:
        edges = tuple(float(x) for x in bands.split(","))
    except ValueError:
        raise click.BadParameter(f"--bands must be numbers separated by commas, got {bands!r}")
    params = progress_run.ProgressParams(year=year, today=today or date.today(),
                                         border=bool(with_border or chart_path), bands_km=edges,
                                         rule_set=rule_set_name, as_assessed=as_assessed,
                                         rules_dir=rules_dir, role=role)
    store = open_command_store(store_url)
    result = _call_run(progress_run, store, params)
    if result.border is not None:
        if chart_path:
            from geo_pcmt.outputs.charts import border_strip_chart
            border_strip_chart(result.border, chart_path)
        if not no_write:
            _write_run(progress_run, store, result, user)
        _write_files(result.border_rows, csv_path, xlsx_path, geojson_path, "border_progress",
                     keep_codes)
    else:
        _write_files(result.transformation, csv_path, xlsx_path, None, "transformation",
                     keep_codes)
    if as_json:
        click.echo(json.dumps(result.as_dict(), ensure_ascii=False, indent=1, default=str))
        return
    _print_progress(result)
    if result.border is not None:
        _print_border(result.border)
        if chart_path:
            click.echo(f"biểu đồ / chart → {chart_path}")


def _print_progress(result) -> None:
    """Dashboards, transitions of the year and plan progress, as lines of text."""
    dash, dash_b, dash_s = (result.dashboards[k] for k in ("province", "border",
                                                            "sach_ve_ma_tuy"))
    click.echo(dash.text_vi)
    click.echo(f"  ({dash.text_en})")
    click.echo(f"Biên giới / border: {dash_b.text_vi}")
    click.echo(f"  ({dash_b.text_en})")
    click.echo(f"Sạch về ma túy (nhãn tỉnh): {dash_s.n_drug_free}/{dash_s.n_total} "
               f"({fmt_percent(dash_s.share_pct / 100)})")
    trans_year = result.transformation_year
    tv = trans_year["transition"].value_counts().to_dict()
    click.echo(f"Chuyển hóa năm {result.year} (transformation): {tv.get('improved', 0)} tiến bộ "
               f"(improved), {tv.get('worsened', 0)} xấu đi (worsened), "
               f"{tv.get('unchanged', 0)} giữ nguyên (unchanged)")
    click.echo(f"  {result.judged_by_text}")
    mixed = int(trans_year["rule_set_changed"].sum())
    if mixed:
        click.echo(f"  † {mixed} xã so sánh giữa hai bộ tiêu chí khác nhau (compared across "
                   "rule sets)")
    moved = trans_year[trans_year["transition"].isin(["improved", "worsened"])]
    if len(moved):
        rows = [[r.commune_code, r.commune_name, SHORT.get(r.previous_status, ""), "→",
                 SHORT.get(r.status, "") + ("†" if r.rule_set_changed else ""),
                 str(r.points_cleared), str(r.plots_eradicated),
                 str(r.cases)] for r in moved.itertuples()]
        click.echo(_table(rows, ["mã", "xã/phường", "trước", "", "nay", "điểm triệt xóa",
                                 "nương triệt phá", "vụ án"]))
    plan_rows = result.plans
    if plan_rows is not None and len(plan_rows):
        click.echo("")
        rows = [[r.plan_id, r.commune_code, SHORT.get(r.target_status, r.target_status),
                 str(r.target_date), SHORT.get(r.current_status, "–"),
                 "" if r.progress_pct != r.progress_pct else f"{r.progress_pct:g} %",
                 r.verdict_vi] for r in plan_rows.itertuples()]
        click.echo(_table(rows, ["kế hoạch", "mã", "mục tiêu", "hạn", "hiện tại", "tiến độ",
                                 "đánh giá"]))


def _print_border(s) -> None:
    cols = ["n_communes", "n_loai_I", "n_loai_II", "n_loai_III", "n_co_te_nan_ma_tuy",
            "n_drug_free", "share_drug_free_pct", "target_pct", "on_track", "points_active",
            "points_cleared", "plots_found", "plot_area_m2", "crossings", "crossings_active",
            "cases"]
    head = ["xã", "I", "II", "III", "có TNMT", "KMT", "%KMT", "chỉ tiêu %", "tiến độ",
            "điểm HĐ", "điểm TX", "nương", "m²", "cửa khẩu", "CK có vụ", "vụ án"]

    def fmt(v):
        if v is None or v != v:
            return "–"
        if isinstance(v, bool):
            return "đạt" if v else "chậm"
        return fmt_number(v, 1 if isinstance(v, float) and v != round(v) else 0)

    for title, frame in ((f"Tuyến biên giới {s.year} theo tỉnh Lào (by Lao province segment)",
                          s.segments), ("Theo đồn biên phòng (by border post)", s.posts),
                         ("Theo khoảng cách tới biên giới (by distance band)", s.bands)):
        click.echo("")
        click.echo(title)
        rows = [[str(r["name"])] + [fmt(r[c]) for c in cols] for r in frame.to_dict("records")]
        click.echo(_table(rows, [""] + head))
    t = s.totals
    click.echo(f"Cộng {t['n_communes']} xã biên giới, {t['corridor_communes']} xã trong hành lang "
               f"{fmt_number(s.bands['to_km'].max())} km; đường biên "
               f"{fmt_number(s.line_length_km, 1)} km; số liệu đến ngày {fmt_date(s.as_of)}")


@click.command("assess")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--codes", type=click.Choice(["auto", "2025", "pre2025"]), default="auto",
              show_default=True, help="Which commune list codes of periods before 1 Jul 2025 "
                                      "use: the 412 pre-2025 communes, the 130 new ones, or "
                                      "decide per period.")
@click.option("--dry-run", is_flag=True, help="Validate only; store nothing.")
@click.option("--user", default="cli", show_default=True, help="Recorded in the audit log.")
@RULES_OPTION
@JSON_OPTION
@STORE_OPTION
def assess_command(file, codes, dry_run, user, rules_dir, as_json, store_url):
    """Validate commune assessments in FILE and store them; nothing is stored if any row is bad.

    Rows recorded against the 412 pre-2025 communes (periods before 1 Jul 2025) are summed to
    the 130 new communes; a commune that takes part of a split old commune is flagged.
    """
    from geo_pcmt import ingest
    from geo_pcmt.analysis.status import store_assessments, validate_assessments
    from geo_pcmt.store import StoreError
    try:
        frame = ingest.read_any(file)
    except ingest.IngestError as exc:
        fail(str(exc))
    kwargs = dict(codes=codes, rule_sets=_rule_sets(rules_dir), source=f"file:{Path(file).name}")
    store = None if dry_run else open_command_store(store_url)
    try:
        if dry_run:
            report, written = validate_assessments(frame, **kwargs), None
        else:
            report, written = store_assessments(store, frame, user=user, **kwargs)
    except StoreError as exc:
        fail(str(exc), EXIT_STORE)
    _report(report, as_json)
    if not report.ok:
        click.echo("nothing stored (fix the errors above)", err=True)
        sys.exit(EXIT_PROBLEMS)
    if written is not None and not as_json:
        click.echo(f"stored: {written.inserted} new, {written.updated} updated; "
                   f"commune_assessments now has {written.count_after} rows")


def _report(report, as_json) -> None:
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=1))
        return
    for p in report.problems:
        click.echo(str(p), err=p.severity == "error")
    click.echo(f"{report.layer}: {report.rows_total} rows read, {report.rows_valid} rows to "
               f"store, {len(report.errors)} errors, {len(report.warnings)} warnings")


@click.group("recognition")
def recognition():
    """Drug-free recognitions: the only path to drug-free status (add, revoke, load)."""


@recognition.command("add")
@click.option("--commune", "commune_code", required=True, help="Commune code (5 digits).")
@click.option("--label", type=click.Choice(["khong_ma_tuy", "sach_ve_ma_tuy"]), required=True)
@click.option("--decision", "decision_no", required=True, help="Decision number, e.g. 123/QĐ-UBND.")
@click.option("--date", "on", required=True, callback=_day, help="Decision date (YYYY-MM-DD).")
@click.option("--authority", required=True, help="e.g. UBND tỉnh Nghệ An.")
@click.option("--user", default="cli", show_default=True)
@STORE_OPTION
def recognition_add(commune_code, label, decision_no, on, authority, user, store_url):
    """Record a recognition decision for one commune."""
    from geo_pcmt.analysis.status import recognise
    store = open_command_store(store_url)
    try:
        row = recognise(store.read("recognitions"), commune_code=commune_code, label=label,
                        decision_no=decision_no, on=on, authority=authority,
                        communes=store.read("communes", columns=["code"]), source=f"cli:{user}")
    except ValueError as exc:
        fail(str(exc))
    store.write("recognitions", row, mode="append", user=user)
    click.echo(f"recognised: {row['id'].iloc[0]} ({label}, {decision_no}, {on})")


@recognition.command("revoke")
@click.argument("recognition_id")
@click.option("--on", required=True, callback=_day, help="Revocation date (YYYY-MM-DD).")
@click.option("--user", default="cli", show_default=True)
@STORE_OPTION
def recognition_revoke(recognition_id, on, user, store_url):
    """Revoke recognition RECOGNITION_ID from a date on (the record is kept)."""
    from geo_pcmt.analysis.status import revoke
    store = open_command_store(store_url)
    try:
        row = revoke(store.read("recognitions"), recognition_id, on)
    except ValueError as exc:
        fail(str(exc))
    store.write("recognitions", row, mode="upsert", user=user)
    click.echo(f"revoked: {recognition_id} from {on}")


@recognition.command("load")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--codes", type=click.Choice(["auto", "2025", "pre2025"]), default="auto",
              show_default=True)
@click.option("--user", default="cli", show_default=True)
@JSON_OPTION
@STORE_OPTION
def recognition_load(file, codes, user, as_json, store_url):
    """Validate recognitions in FILE (pre-2025 codes accepted) and store them, all or nothing."""
    from geo_pcmt import ingest
    from geo_pcmt.analysis.status import validate_recognitions
    try:
        frame = ingest.read_any(file)
    except ingest.IngestError as exc:
        fail(str(exc))
    report = validate_recognitions(frame, codes=codes, source=f"file:{Path(file).name}")
    _report(report, as_json)
    if not report.ok:
        click.echo("nothing stored (fix the errors above)", err=True)
        sys.exit(EXIT_PROBLEMS)
    if len(report.clean):
        rep = open_command_store(store_url).write("recognitions", report.clean, mode="upsert", user=user)
        if not as_json:
            click.echo(f"stored: {rep.inserted} new, {rep.updated} updated")


@click.group("plan")
def plan():
    """Transformation plans (kế hoạch chuyển hóa địa bàn): target class and date per commune."""


@plan.command("load")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--user", default="cli", show_default=True)
@JSON_OPTION
@STORE_OPTION
def plan_load(file, user, as_json, store_url):
    """Validate plans in FILE and store them, all or nothing (see `geo-pcmt progress`)."""
    from geo_pcmt import ingest
    from geo_pcmt.analysis.progress import validate_plans
    try:
        frame = ingest.read_any(file)
    except ingest.IngestError as exc:
        fail(str(exc))
    report = validate_plans(frame, source=f"file:{Path(file).name}")
    _report(report, as_json)
    if not report.ok:
        click.echo("nothing stored (fix the errors above)", err=True)
        sys.exit(EXIT_PROBLEMS)
    rep = open_command_store(store_url).write("transformation_plans", report.clean, mode="upsert", user=user)
    if not as_json:
        click.echo(f"stored: {rep.inserted} new, {rep.updated} updated")


@click.command("rules")
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False))
@RULES_OPTION
@JSON_OPTION
def rules_command(files, rules_dir, as_json):
    """List the rule sets (criteria, thresholds, what is unverified); check FILES if given."""
    from geo_pcmt.analysis.rules import RuleSetError, load_rule_set
    if files:
        for f in files:
            try:
                rs = load_rule_set(f)
            except RuleSetError as exc:
                fail(str(exc))
            click.echo(f"ok: {f}: {rs.version_tag}, {len(rs.criteria)} criteria")
        return
    sets = _rule_sets(rules_dir)
    if as_json:
        click.echo(json.dumps([{"id": r.id, "version": r.version_tag, "kind": r.kind,
                                "valid_from": str(r.valid_from), "valid_to": str(r.valid_to),
                                "source": r.source, "unverified": r.unverified,
                                "criteria": [{"key": c.key, "when": c.when.text,
                                              "label_vi": c.label_vi, "unverified": c.unverified}
                                             for c in r.criteria]} for r in sets.values()],
                              ensure_ascii=False, indent=1))
        return
    for r in sets.values():
        click.echo(f"{r.version_tag}  [{r.kind}]  {r.valid_from} – {r.valid_to or '…'}")
        click.echo(f"  {r.title_vi}")
        click.echo(f"  nguồn / source: {r.source}")
        for o in r.outcomes:
            click.echo(f"  {o.value}: ít nhất {o.at_least} / {len(o.criteria)} tiêu chí")
            for c in o.criteria:
                flag = "  ⚠ chưa kiểm chứng (unverified)" if c.unverified else ""
                click.echo(f"    {c.id}) {c.when.text}{flag}")
        click.echo(f"  otherwise: {r.otherwise}")


COMMANDS = [status_command, progress_command, assess_command, recognition, plan, rules_command]
