"""What every ``geo-pcmt`` command shares: exit codes, the store and JSON options, errors."""
from __future__ import annotations

import sys

import click

from geo_pcmt.paths import default_store_path
from geo_pcmt.store import open_store

EXIT_PROBLEMS = 1
EXIT_STORE = 3

STORE_OPTION = click.option(
    "--store", "store_url", envvar="GEO_PCMT_STORE", default=None,
    help="GeoPackage file or postgresql:// URL (default: $GEO_PCMT_STORE, else "
         "var/geo_pcmt.gpkg in the current folder).")
JSON_OPTION = click.option("--json", "as_json", is_flag=True,
                           help="Print machine-readable JSON instead of lines of text.")


def open_command_store(url):
    """The store for a command; closed when the command ends (a GeoPackage then holds all
    its data in the one file, with no write-ahead log beside it)."""
    store = open_store(url or default_store_path())
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.call_on_close(store.close)
    return store


def fail(message: str, code: int) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)
