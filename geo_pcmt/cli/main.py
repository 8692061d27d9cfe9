"""The ``geo-pcmt`` command line: thin click commands that call the library.

Exit codes: 0 success, 1 the input had problems (nothing stored), 2 usage error,
3 the store refused the operation.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from geo_pcmt import access, ingest
from geo_pcmt.access import ROLES
from geo_pcmt.layers import LAYERS
from geo_pcmt.outputs.formats import format_names
from geo_pcmt.paths import default_store_path
from geo_pcmt.store import StoreError
from geo_pcmt.cli.options import (
    EXIT_PROBLEMS, EXIT_STORE, JSON_OPTION, STORE_OPTION, fail, open_command_store,
)

@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="geo_pcmt")
def main() -> None:
    """geo_pcmt — hotspot maps for drug prevention and control (phòng chống ma túy), Nghệ An.

    Start with `geo-pcmt demo` (a store with the real commune boundaries and the synthetic
    sample data), then `geo-pcmt serve` and open http://127.0.0.1:5000.
    """


@main.command()
@STORE_OPTION
def init(store_url):
    """Create the store (or upgrade an older one: new tables and columns, data kept) and
    load the real boundaries."""
    from geo_pcmt.runs.seed import load_boundaries
    store = open_command_store(store_url)
    store.init()
    for rep in load_boundaries(store):
        click.echo(f"{rep.layer}: {rep.count_after} rows")
    click.echo(f"store ready: {store.path if hasattr(store, 'path') else store_url}")


@main.command()
@STORE_OPTION
def demo(store_url):
    """Create a store with the boundaries and the SYNTHETIC sample data (replacing them),
    then compute commune status and hotspots so the map has everything to show."""
    from geo_pcmt.runs.seed import derive, load_boundaries, load_sample, read_sample
    store = open_command_store(store_url)
    store.init()
    reports = load_boundaries(store)
    sample = read_sample()
    with click.progressbar(length=len(sample), label="loading sample layers",
                           item_show_func=lambda name: name or "") as bar:
        reports += load_sample(store, frames=sample, on_layer=lambda name: bar.update(1, name))
    click.echo("computing commune status and hotspots …")
    reports += derive(store)
    for rep in reports:
        click.echo(f"{rep.layer:22s} {rep.count_after:7d} rows")
    accounts = _demo_accounts(store_url or default_store_path())
    click.echo("\ndemo accounts (passwords are new on every `geo-pcmt demo`; "
               "tài khoản dùng thử):")
    for username, role, password in accounts:
        click.echo(f"  {role:10s} {username:16s} {password}")
    click.echo("demo store ready; run `geo-pcmt serve`, open http://127.0.0.1:5000 and sign in")


DEMO_ROLES = ("viewer", "analyst", "commander", "admin")


def _demo_accounts(store_url) -> list[tuple[str, str, str]]:
    """One demo account per role with a fresh random password (never a fixed one)."""
    import secrets

    from geo_pcmt.users import UserStore, default_users_path
    users = UserStore(default_users_path(store_url)).init()
    out = []
    for role in DEMO_ROLES:
        username, password = f"demo_{role}", secrets.token_urlsafe(9)
        if users.get(username) is None:
            users.add(username, password, role, display_name=f"Demo {role}")
        else:
            users.set_password(username, password)
            users.enable(username)
        out.append((username, role, password))
    return out


def _print_report(report: ingest.ValidationReport, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=1))
        return
    for p in report.problems:
        click.echo(str(p), err=p.severity == "error")
    click.echo(f"{report.layer}: {report.rows_total} rows, {report.rows_valid} valid, "
               f"{len(report.rows_rejected)} rejected, {len(report.errors)} errors, "
               f"{len(report.warnings)} warnings")


def _layer_arg(ctx, param, value):
    if value not in LAYERS:
        raise click.BadParameter(f"unknown layer {value!r}; one of: {', '.join(sorted(LAYERS))}")
    return value


VALIDATE_OPTIONS = [
    click.argument("layer", callback=_layer_arg),
    click.argument("file", type=click.Path(dir_okay=False)),
    click.option("--fix-swapped", is_flag=True, help="Swap lat/lon back where clearly swapped."),
    click.option("--repair", is_flag=True, help="Repair invalid geometries with make_valid."),
    click.option("--crs", default=None, help="CRS of x/y columns if not lon/lat, e.g. EPSG:32648."),
    JSON_OPTION,
]


def _apply(options):
    def deco(f):
        for opt in reversed(options):
            f = opt(f)
        return f
    return deco


@main.command()
@_apply(VALIDATE_OPTIONS)
def validate(layer, file, fix_swapped, repair, crs, as_json):
    """Check FILE against LAYER's schema and print every problem; stores nothing."""
    try:
        frame = ingest.read_any(file, layer=layer)
    except ingest.IngestError as exc:
        fail(str(exc), EXIT_PROBLEMS)
    report = ingest.validate(frame, layer, fix_swapped=fix_swapped, repair=repair, crs=crs,
                             source=f"file:{Path(file).name}")
    _print_report(report, as_json)
    sys.exit(0 if report.ok else EXIT_PROBLEMS)


@main.command()
@_apply(VALIDATE_OPTIONS)
@click.option("--keep-valid", is_flag=True,
              help="Store the valid rows even if other rows have errors.")
@click.option("--mode", type=click.Choice(["append", "upsert", "replace"]), default="append",
              show_default=True, help="append new ids, upsert (update by id) or replace the layer.")
@click.option("--user", default="cli", show_default=True, help="Recorded in the audit log.")
@click.option("--chunk-rows", default=100_000, show_default=True, type=click.IntRange(min=1),
              help="Rows read and checked at a time (memory); the whole file is still "
                   "stored in one transaction.")
@STORE_OPTION
def load(layer, file, fix_swapped, repair, crs, as_json, keep_valid, mode, user, chunk_rows,
         store_url):
    """Validate FILE and store it in LAYER; nothing is stored if any row has an error
    (unless --keep-valid).

    Files of any size: CSV, XLSX and GeoPackage are read, checked and stored in chunks of
    --chunk-rows, all in one transaction (other writers wait meanwhile); --mode upsert
    reads the whole file at once.
    """
    from geo_pcmt.cli.progress import StepBar, wanted
    from geo_pcmt.ingest.streaming import estimate_rows, load_chunked
    store = open_command_store(store_url)
    options = dict(keep_valid=keep_valid, fix_swapped=fix_swapped, repair=repair, crs=crs,
                   mode=mode, user=user)
    try:
        if mode == "upsert":
            report, written = ingest.load(store, layer, file, max_bytes=Path(file).stat().st_size
                                          if Path(file).exists() else 0, **options)
        else:
            total = estimate_rows(file) or chunk_rows
            steps = [f"{min(k * chunk_rows, total):,}/{total:,} rows"
                     for k in range(1, -(-total // chunk_rows) + 1)]
            with StepBar(f"loading {Path(file).name}", steps, show=wanted(as_json)) as bar:
                report, written = load_chunked(
                    store, layer, file, chunk_rows=chunk_rows, **options,
                    on_chunk=lambda k, done: bar.step(steps[min(k, len(steps) - 1)]))
    except ingest.IngestError as exc:
        fail(str(exc), EXIT_PROBLEMS)
    except StoreError as exc:
        fail(str(exc), EXIT_STORE)
    _print_report(report, as_json)
    if written is None:
        click.echo("nothing stored" + ("" if report.ok else
                                       " (fix the errors, or use --keep-valid)"), err=True)
        sys.exit(EXIT_PROBLEMS)
    if not as_json:
        click.echo(f"stored: {written.inserted} new, {written.updated} updated; "
                   f"{written.layer} now has {written.count_after} rows")


@main.command()
@click.argument("layer", callback=_layer_arg)
@click.option("--format", "fmt", type=click.Choice(format_names()),
              default="geojson", show_default=True)
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None,
              help="Output file (default: LAYER.FORMAT in the current folder).")
@click.option("--role", type=click.Choice(ROLES), default="admin", show_default=True,
              help="Export only what this role may read (rows and fields). The default, "
                   "admin, is the local operator, who sees everything; use e.g. "
                   "--role viewer for a file meant for a viewer.")
@click.option("--user", default="cli", show_default=True, help="Recorded in the audit log.")
@STORE_OPTION
def export(layer, fmt, out, role, user, store_url):
    """Write a stored LAYER to a file (GeoJSON is RFC 7946) as --role may read it.

    A format that cannot hold the layer whole is refused, never cut (an XLSX cell holds at
    most 32,767 characters: long geometries need geojson or gpkg).
    """
    from geo_pcmt.outputs.formats import ExportRefused, export_frame
    store = open_command_store(store_url)
    try:
        frame = access.read(store, layer, role=role)
    except access.AccessDenied as exc:
        fail(str(exc), EXIT_STORE)
    try:
        path = export_frame(frame, out or f"{layer}.{fmt}", layer, fmt)
    except ExportRefused as exc:
        fail(str(exc), EXIT_PROBLEMS)
    store.audit(user, "export", layer, [], {"format": fmt, "role": role, "rows": len(frame),
                                           "path": str(path)})
    click.echo(f"{len(frame)} features → {path}")
    mark, level = access.frames_marking([frame])
    if level != "public":
        click.echo(f"classification {mark} ({level}): handle the file as {mark}", err=True)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--debug", is_flag=True, help="Flask debug mode (never on a shared machine).")
@STORE_OPTION
def serve(host, port, debug, store_url):
    """Serve the map and the API with Flask's development server."""
    from geo_pcmt.web import create_app
    config = {"STORE": store_url} if store_url else {}
    app = create_app(config)
    app.run(host=host, port=port, debug=debug)
