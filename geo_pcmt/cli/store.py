"""``geo-pcmt migrate-store``: copy a store to another backend with the counts checked."""
from __future__ import annotations

import sys

import click

from geo_pcmt.layers import LAYERS
from geo_pcmt.store import StoreError


def _resolve(target: str) -> str:
    """``gpkg`` means the default GeoPackage; anything else is a path or a URL."""
    if target.lower() in ("gpkg", "geopackage"):
        from geo_pcmt.paths import default_store_path
        return str(default_store_path())
    return target


@click.command("migrate-store")
@click.option("--from", "source", default="gpkg", show_default=True,
              help="Source store: a .gpkg path, a postgresql:// URL, or `gpkg` for the "
                   "default GeoPackage ($GEO_PCMT_STORE or var/geo_pcmt.gpkg).")
@click.option("--to", "target", required=True,
              help="Target store, e.g. postgresql://user:password@host:5432/pcmt.")
@click.option("--layer", "layers", multiple=True, metavar="LAYER",
              help="Copy only this layer (repeatable). Default: every stored layer and the "
                   "audit log.")
@click.option("--replace", is_flag=True,
              help="Overwrite layers that already hold rows in the target.")
@click.option("--chunk-rows", default=50_000, show_default=True, type=click.IntRange(min=1),
              help="Rows per transaction in the target.")
@click.option("--user", default="migrate", show_default=True,
              help="Recorded in the target's audit log.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def migrate_store(source, target, layers, replace, chunk_rows, user, as_json):
    """Copy every layer (and the audit log) from one store to another and check that the
    target holds the same ids and counts. Chuyển dữ liệu sang kho khác (ví dụ PostGIS).

    \b
    Example:
      geo-pcmt migrate-store --from gpkg --to postgresql://pcmt:***@127.0.0.1/pcmt

    Exit code 0 when every count matches, 3 when the store refused or a count differs.
    """
    from geo_pcmt.cli.options import EXIT_STORE, fail
    from geo_pcmt.store import open_store
    from geo_pcmt.store.migrate import as_json as report_json
    from geo_pcmt.store.migrate import migrate, summary_lines

    for name in layers:
        if name not in LAYERS:
            raise click.BadParameter(f"unknown layer {name!r}", param_hint="--layer")
    src, dst = _resolve(source), _resolve(target)
    if src == dst:
        raise click.BadParameter("source and target are the same store", param_hint="--to")

    def progress(layer, done, total):
        if not as_json:
            click.echo(f"  {layer}: {done}/{total}", err=True)

    try:
        with open_store(src) as source, open_store(dst) as target:
            report = migrate(source, target, layers=list(layers) or None, replace=replace,
                             chunk_rows=chunk_rows, user=user, progress=progress)
    except StoreError as exc:
        fail(str(exc), EXIT_STORE)
    if as_json:
        click.echo(report_json(report))
    else:
        click.echo(f"{report.source} → {report.target}")
        for line in summary_lines(report):
            click.echo(line)
        click.echo("all counts match" if report.ok else "COUNTS DIFFER: see MISMATCH above",
                   err=not report.ok)
    sys.exit(0 if report.ok else EXIT_STORE)


COMMANDS = [migrate_store]
