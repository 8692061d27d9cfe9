"""``geo-pcmt places``: the list of complex places (địa bàn, tụ điểm phức tạp), and their lifecycle."""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import click

from geo_pcmt.cli import progress
from geo_pcmt.cli.progress import StepBar
from geo_pcmt.cli.options import (
    EXIT_PROBLEMS, EXIT_STORE, JSON_OPTION, STORE_OPTION, fail, open_command_store,
)
from geo_pcmt.layers.derived import PLACE_STATUSES

#: Columns of the officer's table and of --csv/--xlsx, with their Vietnamese headings.
TABLE_COLUMNS = {"rank": "TT", "name": "Địa bàn", "level_text": "Mức, điểm số",
                 "status_vi": "Tình trạng", "change_vi": "Thay đổi", "methods_vi": "Phát hiện bởi",
                 "n_evidence": "Hồ sơ có vị trí", "n_commune_only": "Hồ sơ chỉ đến xã",
                 "commune_names": "Xã", "reasons_vi": "Lý do"}


def _date(ctx, param, value):
    if value is None:
        return None
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


def officer_table(places):
    """The list as an officer reads it: Vietnamese headings and words, no internal codes."""
    import pandas as pd

    from geo_pcmt.analysis.place_history import STATUS_WORDS
    from geo_pcmt.analysis.places import level_text, methods_text
    out = pd.DataFrame({
        "rank": places["rank"].to_numpy(), "name": places["name"].to_numpy(),
        "level_text": [level_text(lv, s) for lv, s in zip(places["level"], places["score"])],
        "status_vi": [STATUS_WORDS.get(s, (s, s))[0] for s in places["status"]],
        "change_vi": places["change_vi"].to_numpy(),
        "methods_vi": [methods_text(m) for m in places["methods"]],
        "n_evidence": places["n_evidence"].to_numpy(),
        "n_commune_only": places["n_commune_only"].to_numpy(),
        "commune_names": places["commune_names"].to_numpy(),
        "reasons_vi": places["reasons_vi"].to_numpy()})
    return out.rename(columns=TABLE_COLUMNS)


def _print_table(result) -> None:
    from geo_pcmt.formatting import fmt_number
    table = officer_table(result.places)
    click.echo(f"Danh sách địa bàn, tụ điểm phức tạp ({len(table)} địa bàn)")
    for _, row in table.iterrows():
        click.echo(f"{row['TT']}. {row['Địa bàn']} — {row['Mức, điểm số']} — "
                   f"{row['Tình trạng']}; {row['Thay đổi']}")
        click.echo(f"   Phát hiện bởi: {row['Phát hiện bởi']}; hồ sơ có vị trí: "
                   f"{fmt_number(row['Hồ sơ có vị trí'])}; chỉ xác định đến xã: "
                   f"{fmt_number(row['Hồ sơ chỉ đến xã'])}")
        for reason in str(row["Lý do"]).split("\n"):
            click.echo(f"      {reason}")
    for _, g in result.gone.iterrows():
        click.echo(f"Không còn phát hiện so với lần trước: {g['name']}")


@click.group("places", invoke_without_command=True)
@click.option("--as-of", "as_of", callback=_date, default=None,
              help="Day the list is for (default today).")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False), default=None,
              help="Also write the officer's table as CSV.")
@click.option("--xlsx", "xlsx_path", type=click.Path(dir_okay=False), default=None,
              help="Also write the officer's table as XLSX.")
@click.option("--user", default="cli", show_default=True, help="Recorded in the audit log.")
@STORE_OPTION
@JSON_OPTION
@click.pass_context
def places_command(ctx, as_of, csv_path, xlsx_path, user, store_url, as_json):
    """Build the list of complex places (địa bàn, tụ điểm phức tạp): one row per place,
    merged across clusters, Gi* cells and commune rates, with numbered reasons, status and
    what changed since the last run; stores it as complex_places."""
    if ctx.invoked_subcommand is not None:
        ctx.obj = {"store_url": store_url}  # `places --store X mark …` marks in X
        return
    from geo_pcmt.access import AccessDenied
    from geo_pcmt.outputs.formats import export_frame
    from geo_pcmt.runs import places as run_places
    from geo_pcmt.store import StoreError
    params = run_places.PlaceParams(as_of=as_of)
    store = open_command_store(store_url)
    try:
        with StepBar("places", ["read", *run_places.STEPS, "write"],
                     show=progress.wanted(as_json)) as bar:
            bar.step("read")
            result = run_places.run(run_places.read_inputs(store, params), params,
                                    progress=bar.step)
            bar.step("write")
            run_places.write(store, result, user=user)
        for path, fmt in ((csv_path, "csv"), (xlsx_path, "xlsx")):
            if path:
                export_frame(officer_table(result.places), path, "complex_places_table", fmt)
                store.audit(user, "export", "complex_places", [],
                            {"run_id": result.run_id, "rows": len(result.places), "path": path})
    except StoreError as exc:
        fail(str(exc), EXIT_STORE)
    except (ValueError, KeyError, AccessDenied) as exc:
        fail(str(exc), EXIT_PROBLEMS)
    if as_json:
        cols = ["place_id", "rank", "name", "score", "level", "status", "change", "methods",
                "communes", "commune_names", "village", "n_evidence", "n_commune_only",
                "reasons_vi", "reasons_en"]
        p = result.places
        rows = [{**{c: (v.item() if hasattr(v, "item") else v) for c, v in zip(cols, r)},
                 "lon": round(g.x, 6), "lat": round(g.y, 6)}
                for r, g in zip(p[cols].itertuples(index=False), p.geometry)]
        click.echo(json.dumps({"run_id": result.run_id, "summary": result.summary,
                               "places": rows, "gone": result.gone.to_dict("records")},
                              ensure_ascii=False, indent=1, default=str))
        return
    _print_table(result)


@places_command.command("mark")
@click.argument("place_id")
@click.option("--status", type=click.Choice(PLACE_STATUSES), required=True)
@click.option("--date", "day", callback=_date, default=None, help="Default today.")
@click.option("--unit", default=None, help="Responsible unit (đơn vị chịu trách nhiệm).")
@click.option("--deadline", callback=_date, default=None)
@click.option("--measures", default=None, help="Measures (biện pháp).")
@click.option("--by", "decided_by", default=None, help="Who confirmed it (date, by whom).")
@click.option("--note", default=None)
@click.option("--user", default="cli", show_default=True)
@STORE_OPTION
@click.pass_context
def mark(ctx, place_id, status, day, unit, deadline, measures, decided_by, note, user, store_url):
    """Record a lifecycle event of a place (kept as history in place_events)."""
    store_url = store_url or (ctx.obj or {}).get("store_url")
    import pandas as pd

    from geo_pcmt.runs import common
    if status == "under_transformation" and not (unit and deadline and measures):
        fail("under_transformation needs --unit, --deadline and --measures", EXIT_PROBLEMS)
    if status in ("transformed", "cleared") and not decided_by:
        fail(f"{status} needs --by (who confirmed it)", EXIT_PROBLEMS)
    now = common.now_utc()
    row = pd.DataFrame([{
        "id": f"{place_id}/{status}/{now}", "source": f"cli:{user}",
        "confidentiality": "restricted", "created_at": now, "updated_at": now,
        "place_id": place_id, "status": status, "date": day or date.today().isoformat(),
        "unit": unit, "deadline": deadline, "measures": measures, "decided_by": decided_by,
        "note": note}])
    store = open_command_store(store_url)
    try:
        common.check_and_write(store, {"place_events": row}, mode="append", user=user)
    except ValueError as exc:
        fail(str(exc), EXIT_PROBLEMS)
    click.echo(f"{place_id}: {status}")


COMMANDS = [places_command]
