"""``geo-pcmt backtest``: does the list predict? PAI and PEI* on rolling held-out months."""
from __future__ import annotations

import json
import re
import sys

import click

from geo_pcmt.cli.hotspots import ROLE_OPTION
from geo_pcmt.cli.options import (
    EXIT_PROBLEMS, EXIT_STORE, JSON_OPTION, STORE_OPTION, fail, open_command_store,
)


def _months(ctx, param, values):
    out = []
    for value in values or ():
        for part in str(value).split(","):
            part = part.strip()
            if part and not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", part):
                raise click.BadParameter(f"{part!r} is not a month (YYYY-MM)")
            if part:
                out.append(part)
    return tuple(out)


def _shares(ctx, param, value):
    try:
        shares = tuple(float(v) / 100.0 for v in str(value).split(",") if v.strip())
    except ValueError:
        raise click.BadParameter(f"{value!r}: give percentages such as 1,3,5") from None
    if not shares or not all(0 < s <= 1 for s in shares):
        raise click.BadParameter(f"{value!r}: percentages must be above 0 and at most 100")
    return shares


def _table(result) -> list[str]:
    """The per-month table and the summary, in Vietnamese with the decimal comma."""
    from geo_pcmt.analysis.backtest import METHOD_LABELS
    from geo_pcmt.formatting import fmt_number, fmt_percent
    rows = result.rows
    lines = []
    head = (f"{'Tháng':<14}{'Diện tích':>10}  {'Phương pháp':<28}{'Trúng':>7}{'Tổng':>7}"
            f"{'Tỷ lệ trúng':>13}{'PAI':>8}{'PEI':>8}{'PEI*':>8}")
    labels = {m["month"]: m["label_vi"] for m in result.months}
    lines += [head, "-" * len(head)]
    for _, r in rows.iterrows():
        lines.append(
            f"{labels.get(r['month'], r['month']):<14}{fmt_percent(r['area_share'], 1):>10}  "
            f"{METHOD_LABELS[r['method']][0]:<28}{int(r['n']):>7}{int(r['N']):>7}"
            f"{fmt_percent(r['hit_rate'], 1):>13}{fmt_number(r['pai'], 2):>8}"
            f"{fmt_number(r['pei'], 3):>8}{fmt_number(r['pei_star'], 3):>8}")
    lines.append("")
    lines.append("PAI của danh sách so với KDE (lần), theo tháng:")
    for share in sorted(rows["share"].unique()):
        ratio = result.ratio(share, "kde")
        per_month = ", ".join(f"{labels.get(m, m)}: {fmt_number(v, 2)}" for m, v in ratio.items())
        lines.append(f"  {fmt_percent(share, 0)} diện tích — {per_month}")
    summ = result.summary()
    lines.append("")
    lines.append("Gộp các tháng (PAI = tổng trúng ÷ tổng sự việc ÷ tỷ lệ diện tích):")
    for _, r in summ.iterrows():
        lines.append(f"  {fmt_percent(r['share'], 0):>6}  {METHOD_LABELS[r['method']][0]:<28}"
                     f"trúng {int(r['n'])}/{int(r['N'])}  PAI {fmt_number(r['pai'], 2)}  "
                     f"PEI {fmt_number(r['pei'], 3)}  PEI* {fmt_number(r['pei_star'], 3)}")
    return lines


@click.command("backtest")
@click.option("--month", "months", multiple=True, callback=_months,
              help="Month to test, YYYY-MM (repeatable or comma-separated; default: the last "
                   "--months full months of the data).")
@click.option("--months", "n_months", type=click.IntRange(1, 120), default=6,
              show_default=True, help="How many months back when no --month is given.")
@click.option("--area", "shares", default="1,3,5", show_default=True, callback=_shares,
              help="Shares of the province's area, in %, the forecasts are compared at.")
@click.option("--cell-size-m", type=click.FloatRange(min=50), default=500.0, show_default=True,
              help="Side of the square cells the province is cut into (m).")
@click.option("--bandwidth-m", type=click.FloatRange(min=1), default=None,
              help="KDE baseline bandwidth in metres (default: the usual rule).")
@click.option("--buffer-m", type=click.FloatRange(min=1), default=500.0, show_default=True,
              help="Radius of the buffers around last month's points (m).")
@click.option("--list-radius-m", type=click.FloatRange(min=1), default=1000.0,
              show_default=True,
              help="Radius of the kernel over the list's own evidence that ranks the cells of "
                   "its places and the hot cells around them (m).")
@click.option("--out", "out", type=click.Path(file_okay=False), default="maps",
              show_default=True, help="Folder for backtest.json and the chart backtest_pai.png.")
@click.option("--user", default="cli", show_default=True, help="Recorded in the audit log.")
@ROLE_OPTION
@STORE_OPTION
@JSON_OPTION
def backtest_command(months, n_months, shares, cell_size_m, bandwidth_m, buffer_m,
                     list_radius_m, out, user, role, store_url, as_json):
    """Does the list predict? For each month tested, build the complex-hotspot list from the
    records before the month only, and count the month's cases and new retail points inside
    its best 1 %, 3 % and 5 % of the province (its places first, then the hot ground around
    them) — hit rate, PAI (hit share ÷ area share), PEI and PEI* — against a KDE of the past (quartic kernel) and buffers of last month's points on
    the same area. Prints the table, writes backtest.json and backtest_pai.png into --out."""
    from geo_pcmt.access import AccessDenied
    from geo_pcmt.runs import backtest
    from geo_pcmt.store import StoreError
    params = backtest.BacktestParams(months=months, n_months=n_months, area_shares=shares,
                                     cell_size_m=cell_size_m, kde_bandwidth_m=bandwidth_m,
                                     last_month_buffer_m=buffer_m,
                                     list_radius_m=list_radius_m, role=role)
    store = open_command_store(store_url)
    try:
        frames = backtest.read_inputs(store, params, role)
        result = backtest.run(frames, params,
                              progress=lambda m: click.echo(f"backtest {m}", err=True))
        paths = backtest.write(store, result, user=user, out=out)
    except StoreError as exc:
        fail(str(exc), EXIT_STORE)
    except (ValueError, KeyError, AccessDenied) as exc:
        fail(str(exc), EXIT_PROBLEMS)
    if as_json:
        click.echo(json.dumps({**result.as_json(), "files": [str(p) for p in paths]},
                              ensure_ascii=False, indent=1, default=str))
        return
    for line in _table(result):
        click.echo(line)
    for p in paths:
        click.echo(f"→ {p}")
    sys.stdout.flush()


COMMANDS = [backtest_command]
