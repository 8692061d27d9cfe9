"""``geo-pcmt template <layer>``: the Excel template officers fill for a layer.

Thin: the workbook is written by :func:`geo_pcmt.outputs.template.write_template`.
"""
from __future__ import annotations

from pathlib import Path

import click

from geo_pcmt.ingest.loading import uploadable_layers
from geo_pcmt.layers import LAYERS
from geo_pcmt.outputs.template import has_template


@click.command()
@click.argument("layer", type=click.Choice([n for n in uploadable_layers() if has_template(n)]))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the workbook (default: mau-<layer>.xlsx here).")
def template(layer: str, output: Path | None) -> None:
    """Write the Excel template of LAYER: Vietnamese headers, an example row, drop-down
    lists for the allowed values and a sheet explaining each column."""
    from geo_pcmt.outputs.template import write_template
    path = output or Path(f"mau-{layer}.xlsx")
    write_template(layer, path)
    click.echo(f"{LAYERS[layer].title_vi}: {path}")


COMMANDS = (template,)
