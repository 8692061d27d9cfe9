"""``geo-pcmt map``: write the interactive hotspot map to an HTML file that opens offline, or
print it to PDF (A4/A3, landscape/portrait) through headless Chromium."""
from __future__ import annotations

import time
from pathlib import Path

import click

from geo_pcmt import access
from geo_pcmt.cli.options import STORE_OPTION, open_command_store

ROLE_HELP = ("Whose view to write: viewer = public aggregates only (no points); analyst and "
             "above = every record they are cleared for.")


def _csv(ctx, param, value):
    return tuple(v.strip() for item in value for v in item.split(",") if v.strip())


@click.command("map")
@click.option("--out", "out", type=click.Path(dir_okay=False), default="maps/hotspots.html",
              show_default=True, help="HTML file to write.")
@click.option("--standalone", is_flag=True,
              help="Put every script, stylesheet and font inside the one HTML file (for a USB "
                   "stick); otherwise they are copied to vendor/ beside it.")
@click.option("--role", type=click.Choice(access.ROLES), default="analyst", show_default=True,
              help=ROLE_HELP)
@click.option("--lang", type=click.Choice(["vi", "en"]), default="vi", show_default=True,
              help="Language the map opens in (the reader can switch).")
@click.option("--from", "date_from", default=None, help="Only records active from YYYY-MM[-DD].")
@click.option("--to", "date_to", default=None, help="Only records active until YYYY-MM[-DD].")
@click.option("--commune", multiple=True, callback=_csv,
              help="GSO commune code(s); repeat or comma-separate. The map opens on them.")
@click.option("--type", "point_types", multiple=True, callback=_csv,
              help="Retail point type(s): diem_ban_le, dia_diem_to_chuc_chua_chap, "
                   "tu_diem_phuc_tap.")
@click.option("--layers", default=None,
              help="Layers shown at opening, comma-separated (e.g. communes,retail_points,heat).")
@click.option("--year", type=int, default=None, help="Year of the commune classes shown.")
@click.option("--since", "since_year", type=int, default=None,
              help="Count class changes since this year.")
@click.option("--title", default=None, help="Title on the map and the printout.")
@click.option("--print-view", is_flag=True,
              help="Open in the print layout (title block, map, legend and scale bar).")
@click.option("--pdf", is_flag=True,
              help="Print the map to PDF through headless Chromium (the print layout; --out "
                   "ending in .html becomes .pdf).")
@click.option("--paper", type=click.Choice(["A4", "A3"], case_sensitive=False), default="A4",
              show_default=True, help="Paper of the print layout.")
@click.option("--orientation", type=click.Choice(["landscape", "portrait"]),
              default="landscape", show_default=True, help="Orientation of the print layout.")
@click.option("--view", default=None,
              help="What the map is fitted to: province, border, commune:<GSO code> or "
                   "post:<border post name> (default: --commune, else the province).")
@click.option("--unit", default=None, help="Unit named in the print title block.")
@STORE_OPTION
def map_command(out, standalone, role, lang, date_from, date_to, commune, point_types, layers,
                year, since_year, title, print_view, pdf, paper, orientation, view, unit,
                store_url):
    """Write the hotspot map (bản đồ điểm nóng) of the store to an HTML file.

    Every JavaScript, stylesheet and font comes from the package, so the page opens with no
    internet. Layers without data are left out; shipped boundaries stand in for an empty store.
    """
    from geo_pcmt.outputs import map as mapping
    start = time.perf_counter()
    try:
        options = mapping.MapOptions(
            date_from=date_from, date_to=date_to, communes=commune, point_types=point_types,
            layers=tuple(k.strip() for k in layers.split(",") if k.strip()) if layers else None,
            year=year, since_year=since_year, title=title, print_view=print_view or pdf,
            paper=paper.upper(), orientation=orientation, view=view, unit=unit,
            assets_base_url="/static/vendor" if standalone or pdf else "vendor")
    except mapping.MapInputError as exc:
        raise click.BadParameter(str(exc)) from None
    store = open_command_store(store_url)
    restricted = mapping.restricted_layers(store, role)
    try:
        m = mapping.build(mapping.map_frames(store, role), role=role, lang=lang, options=options)
    except mapping.MapInputError as exc:
        raise click.BadParameter(str(exc)) from None
    if pdf:
        path = _print_pdf(m, out, options)
    else:
        path = mapping.save(m, out, standalone=standalone, base_url=options.assets_base_url)
    if restricted:
        store.audit("cli", "read_map", None, [], {"layers": restricted, "role": role,
                                                  "out": str(path), "standalone": standalone})
    size_kb = path.stat().st_size / 1024
    where = (f"{options.paper} {options.orientation}" if pdf else "standalone" if standalone
             else "assets in " + str(path.parent / "vendor"))
    click.echo(f"{path} ({size_kb:,.0f} KB, {time.perf_counter() - start:.1f} s; role {role}; "
               f"{where})")
    if restricted:
        click.echo(f"contains restricted layers ({', '.join(restricted)}): handle as "
                   "MẬT / restricted", err=True)


def _print_pdf(m, out: str, options) -> Path:
    """The map's print layout as a PDF, through the package's one Chromium printer."""
    from geo_pcmt.outputs import map as mapping
    from geo_pcmt.outputs.brief import BriefError, brief_pdf
    path = Path(out)
    if path.suffix.lower() in (".html", ".htm"):
        path = path.with_suffix(".pdf")
    path.parent.mkdir(parents=True, exist_ok=True)
    page = mapping.render_html(m, standalone=True, base_url=options.assets_base_url)
    try:
        return brief_pdf(page, path, timeout_s=180, settle_ms=PDF_SETTLE_MS)
    except BriefError as exc:
        raise click.ClickException(str(exc)) from None


# Virtual time the page gets to draw (clusters are built in chunks) before Chromium prints.
PDF_SETTLE_MS = 8000

COMMANDS = [map_command]
