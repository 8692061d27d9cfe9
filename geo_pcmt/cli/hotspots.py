"""``geo-pcmt hotspots``: run the hotspot analysis on the store and write the derived layers."""
from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from pathlib import Path

import click

from geo_pcmt.access import ROLES
from geo_pcmt.cli import progress
from geo_pcmt.cli.progress import StepBar
from geo_pcmt.cli.options import (
    EXIT_PROBLEMS, EXIT_STORE, JSON_OPTION, STORE_OPTION, fail, open_command_store,
)
from geo_pcmt.layers import LAYERS
from geo_pcmt.runs.common import DEFAULT_ROLE


def _parse_layers(ctx, param, values):
    """``--layers retail_points --layers cases=0.5`` or ``--layers retail_points,cases=0.5``."""
    out: dict[str, float] = {}
    for value in values or ():
        for part in str(value).split(","):
            part = part.strip()
            if not part:
                continue
            name, _, weight = part.partition("=")
            name = name.strip()
            if name not in LAYERS or not LAYERS[name].has_geometry or LAYERS[name].kind != "record":
                raise click.BadParameter(f"{name!r} is not a point record layer "
                                         "(e.g. retail_points, opium_plots, cases)")
            try:
                w = float(weight) if weight else 1.0
            except ValueError:
                raise click.BadParameter(f"weight of {name} must be a number, got {weight!r}") from None
            if not w > 0:
                raise click.BadParameter(f"weight of {name} must be > 0, got {weight!r}")
            out[name] = w
    return out


def _date(ctx, param, value):
    if value is None:
        return None
    from datetime import date
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


ROLE_OPTION = click.option(
    "--role", type=click.Choice(ROLES), default=DEFAULT_ROLE, show_default=True,
    help="Role the run reads the records for: the derived layers hold only what this role "
         "may see, and are as confidential as the most confidential record read.")


def _params(methods, layers, suggest_eps, no_fdr, **values):
    """:class:`HotspotParams` from the command's options (unset options keep the defaults)."""
    from geo_pcmt.runs import hotspots
    if values["date_from"] and values["date_to"] and values["date_from"] > values["date_to"]:
        raise click.BadParameter(f"--from {values['date_from']} is after --to {values['date_to']}")
    chosen = hotspots.ALL_METHODS if "all" in methods else tuple(methods)
    params = hotspots.HotspotParams(methods=chosen)
    if layers:
        params = hotspots.with_overrides(params, layers=tuple(layers),
                                         layer_weights=tuple(layers.items()))
    params = hotspots.with_overrides(params, **values)
    if suggest_eps:
        params = replace(params, eps_m=None)
    if no_fdr:
        params = replace(params, fdr=False)
    try:
        params.resolved_methods()
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    return params


def _run_with_bar(store, params, *, out, no_export, user, show_bar: bool = True):
    """Read, run, write and (unless ``no_export``) export, with a progress bar on stderr
    (:class:`geo_pcmt.cli.progress.StepBar`: after ~2 s, on a terminal, not with --json)."""
    from geo_pcmt.runs import hotspots
    from geo_pcmt.store import StoreError
    steps = ["read", "points", *params.resolved_methods(), "shaping", "write"] + \
        ([] if no_export else ["export"])
    paths: list = []
    with StepBar("hotspots", steps, show=show_bar) as bar:
        step = bar.step
        step("read")
        result = hotspots.run(hotspots.read_inputs(store, params, params.role), params,
                              progress=step)
        step("write")
        try:
            reports = hotspots.write(store, result, user=user)
        except sqlite3.Error as exc:
            # e.g. a store created before a derived layer gained a column
            raise StoreError(f"the store refused the hotspot layers ({exc}); a store made "
                             "by an older version needs `geo-pcmt init`, which adds the "
                             "new columns and keeps the data") from exc
        if not no_export:
            step("export")
            paths = hotspots.export_run(result, out)
            for layer, frame in result.frames.items():  # restricted layers: audit each
                store.audit(user, "export", layer, [],
                            {"run_id": result.run_id, "rows": len(frame),
                             "path": str(Path(out) / f"{layer}.geojson")})
    return result, reports, paths


def _print_result(result, reports, paths, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps({"run_id": result.run_id, "summary": result.summary,
                               "written": {r.layer: r.count_after for r in reports},
                               "files": [str(p) for p in paths]}, ensure_ascii=False, indent=1,
                              default=str))
        return
    click.echo(f"run {result.run_id}")
    for rep in reports:
        click.echo(f"{rep.layer:20s} {rep.count_after:7d} rows")
    flags = result.frames.get("complex_hotspots")
    if flags is not None and len(flags):
        from geo_pcmt.analysis import places
        click.echo(f"{len(flags)} complex hotspots flagged; top {min(3, len(flags))}:")
        for _, row in flags.head(3).iterrows():
            click.echo(f"  {row['name']} — {places.level_text(row['level'], row['score'])}")
            for reason in str(row["reasons_vi"]).split("\n"):
                click.echo(f"      · {reason}")
    for p in paths:
        click.echo(f"→ {Path(p)}")


@click.command("hotspots")
@click.option("--method", "methods", multiple=True, default=("all",), show_default=True,
              type=click.Choice(["dbscan", "hdbscan", "gistar", "emerging", "kde", "flags", "all"]),
              help="What to run (repeatable). 'all' = dbscan, gistar, emerging, kde and flags; "
                   "'flags' also runs what the flags need.")
@click.option("--from", "date_from", callback=_date, default=None,
              help="First date of records to use (YYYY-MM-DD).")
@click.option("--to", "date_to", callback=_date, default=None,
              help="Last date of records to use (YYYY-MM-DD); also the 'as of' day of the flags.")
@click.option("--layers", "layers", multiple=True, callback=_parse_layers,
              help="Layers to analyse, optionally with a weight: retail_points,cases=0.5 "
                   "(default: retail_points, opium_plots, cases).")
@click.option("--eps-m", type=float, default=None,
              help="DBSCAN radius in metres (default 500; or use --suggest-eps).")
@click.option("--suggest-eps", is_flag=True,
              help="Pick DBSCAN's eps from the k-distance curve, never above the distance at "
                   "which uniform noise would form clusters.")
@click.option("--min-samples", type=int, default=None, help="DBSCAN min_samples (default 5).")
@click.option("--min-cluster-size", type=int, default=None,
              help="HDBSCAN min_cluster_size (default 5; clusters no denser than chance are "
                   "dropped, so uniform noise gives none).")
@click.option("--cell-size-m", type=float, default=None,
              help="Hexagon size in metres, centre to centre (default 2000).")
@click.option("--bandwidth-m", "kde_bandwidth_m", type=click.FloatRange(min=1), default=None,
              help="Heat-map (KDE) bandwidth in metres (default: the rule of thumb; needed "
                   "when all points sit at one place).")
@click.option("--permutations", type=int, default=None,
              help="Gi* conditional permutations (default 0 = analytical only).")
@click.option("--seed", type=int, default=None, help="Seed of the permutations (default 0).")
@click.option("--no-fdr", is_flag=True, help="Do not apply the FDR correction to Gi*.")
@click.option("--freq", type=click.Choice(["month", "quarter"]), default=None,
              help="Time step of the emerging hot spots (default month).")
@click.option("--as-of", "as_of", callback=_date, default=None,
              help="Day the flags are for (default: --to, else today).")
@click.option("--out", "out", type=click.Path(file_okay=False), default="maps", show_default=True,
              help="Folder for the GeoJSON files.")
@click.option("--no-export", is_flag=True, help="Write the store only, no GeoJSON files.")
@click.option("--user", default="cli", show_default=True, help="Recorded in the audit log.")
@ROLE_OPTION
@STORE_OPTION
@JSON_OPTION
def hotspots_command(methods, layers, suggest_eps, no_fdr, out, no_export, user, store_url,
                     as_json, **values):
    """Find hotspots: clusters, Gi* hot/cold spots (FDR), emerging trends and complex-hotspot
    flags (địa bàn, tụ điểm phức tạp) with reasons; writes the derived layers
    hotspot_clusters, gistar_cells, emerging_hotspots and complex_hotspots into the store
    (replacing the previous run) and GeoJSON files into --out."""
    from geo_pcmt.access import AccessDenied
    from geo_pcmt.store import StoreError
    params = _params(methods, layers, suggest_eps, no_fdr, **values)
    store = open_command_store(store_url)
    try:
        result, reports, paths = _run_with_bar(store, params, out=out, no_export=no_export,
                                               user=user, show_bar=progress.wanted(as_json))
    except StoreError as exc:
        fail(str(exc), EXIT_STORE)
    except (ValueError, KeyError, AccessDenied) as exc:
        fail(str(exc), EXIT_PROBLEMS)
    _print_result(result, reports, paths, as_json)


COMMANDS = [hotspots_command]
