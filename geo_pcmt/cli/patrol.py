"""``geo-pcmt patrol``: plan a day's (or a week's) patrol from a border post and write it out."""
from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import click

from geo_pcmt import access
from geo_pcmt.analysis import patrol
from geo_pcmt.analysis.patrol import travel
from geo_pcmt.cli.options import (
    EXIT_PROBLEMS,
    EXIT_STORE,
    JSON_OPTION,
    STORE_OPTION,
    fail,
    open_command_store,
)
from geo_pcmt.formatting import fmt_compact, fmt_number, fmt_percent
from geo_pcmt.outputs import brief, gpx
from geo_pcmt.runs import patrol as patrol_run
from geo_pcmt.store import StoreError


def _write_outputs(p: patrol.PatrolPlan, out_dir: Path, stem: str, border, pdf: bool) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    path = out_dir / f"{stem}.geojson"
    path.write_text(json.dumps(patrol.plan_geojson(p), ensure_ascii=False), encoding="utf-8")
    written.append(path)
    path = out_dir / f"{stem}.gpx"
    path.write_text(gpx.plan_to_gpx(p), encoding="utf-8")
    written.append(path)
    html = brief.render_brief(p, border=border)
    path = out_dir / f"{stem}.html"
    path.write_text(html, encoding="utf-8")
    written.append(path)
    if pdf:
        try:
            written.append(brief.brief_pdf(html, out_dir / f"{stem}.pdf"))
        except brief.BriefError as exc:
            click.echo(f"warning: {exc}", err=True)
    return written


def _echo_plan(p: patrol.PatrolPlan) -> None:
    rep = p.report
    click.echo(f"{rep['post']['name']} · {rep['plan_date']} · xuất phát {rep['start_time']} · "
               f"{fmt_compact(rep['hours'])} h · {rep['n_teams']} tổ · {rep['mode_vi']}"
               + (f" · ngẫu nhiên, seed {rep['seed']}" if rep["randomised"] else ""))
    for t in rep["teams"]:
        click.echo(f"  Tổ {t['team']}: {t['n_stops']} điểm, {fmt_number(t['distance_km'], 1)} km, "
                   f"về đồn {t['return_at'] or '—'}, rủi ro {fmt_number(t['risk'], 1)}")
        if len(p.stops):
            for s in p.stops[p.stops["team"] == t["team"]].itertuples():
                click.echo(f"    {s.seq:2d}. {s.arrive_at}  {s.dwell_min:4.0f}′  {s.name}"
                           + ("  [bắt buộc tuần]" if s.forced else "")
                           + ("  [lần 2]" if s.revisit else ""))
    click.echo(f"  rủi ro bao phủ {fmt_number(rep['risk_covered'], 1)} / "
               f"{fmt_number(rep['risk_total'], 1)} ({fmt_percent(rep['share_covered'], 0)}), "
               f"{rep['method']}, {fmt_number(rep['solve_s'], 1)} s")
    for w in rep["warnings"]:
        click.echo(f"  ! {w}", err=True)


@click.command("patrol")
@click.option("--post", "post_name", required=True,
              help='Border post, with or without diacritics, e.g. "Nậm Cắn".')
@click.option("--hours", type=float, required=True, help="Time per team, out and back (h).")
@click.option("--teams", type=int, default=1, show_default=True, help="Number of teams.")
@click.option("--mode", type=click.Choice(list(travel.MODES)), default="foot", show_default=True)
@click.option("--date", "plan_date", default=None, help="Patrol date YYYY-MM-DD (default today).")
@click.option("--start", "start_time", default="07:00", show_default=True,
              help="Departure time HH:MM.")
@click.option("--dwell", "dwell_min", type=float, default=None,
              help="Minutes at each stop (default 15, Koper curve; random 10–16 with --randomise).")
@click.option("--radius-km", type=float, default=None,
              help="Targets within this radius of the post instead of its area of responsibility.")
@click.option("--network", "network_file", type=click.Path(dir_okay=False), default=None,
              help="Road/trail lines (GeoJSON, GPKG, OSM .osm/.pbf) for shortest paths.")
@click.option("--randomise", is_flag=True,
              help="Draw the day's targets in proportion to risk, with a weekly guarantee.")
@click.option("--seed", type=int, default=None,
              help="Seed of the random draw (recorded; the same seed gives the same plan).")
@click.option("--visits-per-week", type=int, default=2, show_default=True,
              help="Each high-risk target is visited at least this often per week.")
@click.option("--week", is_flag=True,
              help="With --randomise: plan all seven days of the date's week and show coverage.")
@click.option("--method", type=click.Choice(["auto", "ortools", "greedy"]), default="auto",
              show_default=True, help="Solver: OR-Tools with greedy fallback, or one of them.")
@click.option("--time-limit", "time_limit_s", type=float, default=10.0, show_default=True,
              help="Solver time limit per plan (s).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="patrols",
              show_default=True, help="Folder for the GeoJSON, GPX and HTML brief.")
@click.option("--pdf", is_flag=True, help="Also print the brief to PDF (needs Chromium).")
@click.option("--save/--no-save", default=True, show_default=True,
              help="Store the plan (patrol_plans, patrol_stops), audited under --user.")
@click.option("--user", default="cli", show_default=True, help="Who makes the plan (recorded).")
@click.option("--role", type=click.Choice(["commander", "admin"]), default=patrol_run.DEFAULT_ROLE,
              show_default=True,
              help="Clearance the targets are read with: a commander's plan never holds a "
                   "secret record; an admin's may, and is then stored as secret.")
@JSON_OPTION
@STORE_OPTION
def patrol_command(post_name, hours, teams, mode, plan_date, start_time, dwell_min, radius_km,
                   network_file, randomise, seed, visits_per_week, week, method, time_limit_s,
                   out_dir, pdf, save, user, role, as_json, store_url):
    """Plan a patrol from a border post: targets by risk, routes per team, GPX and a brief.

    Example: geo-pcmt patrol --post "Nậm Cắn" --hours 6 --teams 2 --mode foot --randomise --seed 7
    """
    if week and not randomise:
        fail("--week plans a randomised week: add --randomise", 2)
    try:
        day = date.fromisoformat(plan_date) if plan_date else date.today()
    except ValueError:
        fail(f"--date must be YYYY-MM-DD, got {plan_date!r}", 2)
    if hours is None or not hours > 0:
        fail(f"--hours must be more than 0, got {hours}", EXIT_PROBLEMS)
    params = patrol_run.PatrolParams(
        post=post_name, hours=hours, teams=teams, mode=mode, plan_date=day,
        start_time=start_time, dwell_min=dwell_min, radius_km=radius_km,
        network_file=network_file, randomise=randomise, seed=seed,
        visits_per_week=visits_per_week, week=week, method=method, time_limit_s=time_limit_s,
        role=role)
    store = open_command_store(store_url)
    try:
        result = patrol_run.run(patrol_run.read_inputs(store, params), params)
    except (patrol.PatrolError, travel.TravelError, access.AccessDenied) as exc:
        fail(str(exc), EXIT_PROBLEMS)
    except StoreError as exc:
        fail(str(exc), EXIT_STORE)
    try:
        ids = patrol_run.write(store, result, user=user) if save else [None] * len(result.plans)
    except StoreError as exc:
        fail(f"plan not stored: {exc}", EXIT_STORE)
    border = access.read(store, "border_line", role=role)
    results = []
    for p, plan_id in zip(result.plans, ids):
        stem = plan_id or f"patrol-{p.post.id}-{p.report['plan_date']}"
        files = _write_outputs(p, Path(out_dir), stem, border, pdf)
        results.append({"id": plan_id, "report": p.report, "files": [str(f) for f in files]})
        if not as_json:
            _echo_plan(p)
            click.echo(f"  → {', '.join(str(f) for f in files)}"
                       + (f"; stored as {plan_id}" if plan_id else ""))
    _echo_week(result.week, day, visits_per_week, results, as_json)
    if result.week is not None and not result.week.guarantee_met:
        sys.exit(EXIT_PROBLEMS)


def _echo_week(wk: patrol.WeekPlan | None, day: date, visits_per_week: int, results: list,
               as_json: bool) -> None:
    """The JSON of every plan (with the week's coverage), or the week's coverage as text."""
    if as_json:
        out = {"plans": results}
        if wk is not None:
            out["coverage"] = wk.coverage.to_dict("records")
            out["guarantee_met"] = wk.guarantee_met
        click.echo(json.dumps(out, ensure_ascii=False, indent=1, default=str))
    elif wk is not None:
        click.echo(f"Tuần từ {patrol.week_start(day)}: mỗi mục tiêu rủi ro cao ≥ "
                   f"{visits_per_week} lần")
        for r in wk.coverage.itertuples():
            if not r.reachable:
                click.echo(f"  –  {r.visits}/–  {r.name} (ngoài tầm trong một ngày / out of range)")
            else:
                click.echo(f"  {'✓' if r.met else '✗'} {r.visits}/{r.required}  {r.name}")


COMMANDS = [patrol_command]
