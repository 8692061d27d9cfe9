"""``geo-pcmt map``: write the interactive hotspot map to an HTML file that opens offline."""
from __future__ import annotations

import time

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
@click.option("--print-view", is_flag=True, help="Open in the A4 landscape print layout.")
@STORE_OPTION
def map_command(out, standalone, role, lang, date_from, date_to, commune, point_types, layers,
                year, since_year, title, print_view, store_url):
    """Write the hotspot map (bản đồ điểm nóng) of the store to an HTML file.

    Every JavaScript, stylesheet and font comes from the package, so the page opens with no
    internet. Layers without data are left out; shipped boundaries stand in for an empty store.
    """
    from geo_pcmt.outputs import map as mapping
    from geo_pcmt.web.maps import map_frames
    start = time.perf_counter()
    try:
        options = mapping.MapOptions(
            date_from=date_from, date_to=date_to, communes=commune, point_types=point_types,
            layers=tuple(k.strip() for k in layers.split(",") if k.strip()) if layers else None,
            year=year, since_year=since_year, title=title, print_view=print_view,
            assets_base_url="/static/vendor" if standalone else "vendor")
    except mapping.MapInputError as exc:
        raise click.BadParameter(str(exc)) from None
    store = open_command_store(store_url)
    frames = map_frames(store, role)
    restricted = sorted(n for n in frames if access.is_restricted_layer(n)
                        and access.can_read_layer(role, n))
    m = mapping.build(frames, role=role, lang=lang, options=options)
    path = mapping.save(m, out, standalone=standalone, base_url=options.assets_base_url)
    if restricted:
        store.audit("cli", "read_map", None, [], {"layers": restricted, "role": role,
                                                  "out": str(path), "standalone": standalone})
    size_kb = path.stat().st_size / 1024
    click.echo(f"{path} ({size_kb:,.0f} KB, {time.perf_counter() - start:.1f} s; role {role}; "
               f"{'standalone' if standalone else 'assets in ' + str(path.parent / 'vendor')})")
    if restricted:
        click.echo(f"contains restricted layers ({', '.join(restricted)}): handle as "
                   "MẬT / restricted", err=True)


COMMANDS = [map_command]
