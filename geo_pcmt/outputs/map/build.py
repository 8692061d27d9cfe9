"""Folium assembly: the map, one layer group per overlay, the page's data, panel and legend.

:func:`build` is pure (frames in, :class:`folium.Map` out); :func:`render_html` and :func:`save`
write the page, with the vendored assets beside it or inside it.
"""
from __future__ import annotations

import html
import json
import shutil
from datetime import date
from pathlib import Path
from typing import Any, Mapping

import folium
import folium.plugins
import geopandas as gpd
import pandas as pd
from folium.elements import JSCSSMixin
from folium.template import Template

from geo_pcmt import access
from geo_pcmt.crs import METRIC_CRS, STORAGE_CRS
from geo_pcmt.ingest.basemap import FRAME_KEYS as BASEMAP_KEYS
from geo_pcmt.layers import CROSSING_KINDS, RETAIL_POINT_STATUS, RETAIL_POINT_TYPES
from geo_pcmt.outputs.map import geometry, packing, payload
from geo_pcmt.outputs.map.frames import filter_records, is_geo, visible_frames
from geo_pcmt.outputs.map.headline import progress_by_year
from geo_pcmt.outputs.map.i18n import I18N, layer_label
from geo_pcmt.outputs.map.options import MapInputError, MapOptions
from geo_pcmt.outputs.map.overlays import OVERLAYS, STATUS_CLASSES, STATUS_COLOURS
from geo_pcmt.outputs.map.status import labels_by_year, status_by_year
from geo_pcmt.outputs.map.timeline import slider_months
from geo_pcmt.outputs.map.vendor import (DEFAULT_BASE_URL, PAGE_SCRIPTS, VENDOR_DIR,
                                         drop_unused, inline_assets, localize)
from geo_pcmt.outputs.map.views import view_bounds, view_name
from geo_pcmt.paths import PACKAGE_DIR
from geo_pcmt.values import dates

TEMPLATE_DIR = PACKAGE_DIR / "web" / "templates"
# The page's own scripts (templates/), in the order they load; map_app.js, last, puts them together.
APP_SCRIPTS: tuple[str, ...] = (
    "map_data.js", "map_points.js", "map_basemap.js", "map_core.js", "map_labels.js",
    "map_areas.js", "map_records.js", "map_analysis.js", "map_places.js", "map_methadone.js",
    "map_panel.js", "map_legend.js", "map_layout.js", "map_print.js")
# Dates a record speaks of: the latest one shown is the map's "data as of" day.
_EVENT_DATES = ("date", "last_activity", "first_seen", "cleared_on", "detected_on",
                "eradicated_on")
LAO_LABEL_DEPTH_M = 20_000.0
_CLUSTER_OPTIONS = {"chunkedLoading": True, "chunkInterval": 250, "chunkDelay": 10,
                    "maxClusterRadius": 50, "disableClusteringAtZoom": 16,
                    "spiderfyOnMaxZoom": True, "showCoverageOnHover": False}


def script_json(obj: Any) -> str:
    """JSON safe inside ``<script>``: no ``</script>``, no HTML comment, no line separators."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


class _App(JSCSSMixin):
    """The page's own data, panel, legend, time slider and drawing code (templates/map_app.*)."""

    default_js = [
        ("markerclusterjs", "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/"
                            "1.1.0/leaflet.markercluster.js"),
        ("leaflet-heat.js", "https://cdn.jsdelivr.net/gh/python-visualization/folium@main/"
                            "folium/templates/leaflet_heat.min.js"),
    ]
    default_css = [
        ("markerclustercss", "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/"
                             "1.1.0/MarkerCluster.css"),
        ("markerclusterdefaultcss", "https://cdnjs.cloudflare.com/ajax/libs/"
                                    "leaflet.markercluster/1.1.0/MarkerCluster.Default.css"),
    ]
    _template = Template("""
{% macro header(this, kwargs) %}<style>{{ this.css }}</style>{% endmacro %}
{% macro script(this, kwargs) %}
(function () {
  var config = {{ this.config }};
  config.data = geoPcmtData.read("gp-data");
  geoPcmtBasemap({{ this._parent.get_name() }}, config.data.basemap, config.lang);
  var groups = { {% for key, layer in this.groups.items() %}{{ key|tojson }}: {{ layer.get_name() }}, {% endfor %} };
  window.geoPcmtMap = geoPcmtApp({{ this._parent.get_name() }}, groups, config);
})();
{% endmacro %}
{% macro html(this, kwargs) %}{% endmacro %}
""")

    def __init__(self, config: dict, groups: Mapping[str, Any], code: str, css: str,
                 data: Mapping[str, Any]):
        super().__init__()
        self._name = "GeoPcmtApp"
        self.config = script_json(config)
        self.packed = packing.pack(dict(data))
        self.groups = dict(groups)
        self.css = css
        self.code = code

    def render(self, **kwargs):
        figure = self.get_root()
        # the data, the decoder and the drawing code once, before the map script that calls
        # them; as raw HTML, never read as a template
        figure.header.add_child(packing.data_element(self.packed), name="geo_pcmt_data")
        figure.header.add_child(packing.RawHTML("".join(
            f"<script>{_script(text)}</script>" for text in
            [*(_vendored(p) for p in PAGE_SCRIPTS),
             *(_read_template(name) for name in APP_SCRIPTS), self.code])),
            name="geo_pcmt_app_js")
        super().render(**kwargs)


def _read_template(name: str) -> str:
    return (TEMPLATE_DIR / name).read_text(encoding="utf-8")


def _vendored(path: str) -> str:
    return (VENDOR_DIR / path).read_text(encoding="utf-8")


def _script(code: str) -> str:
    """Code safe inside an inline ``<script>`` (no ``</script`` in it ends the element)."""
    return code.replace("</script", "<\\/script")


def build(frames: Mapping[str, pd.DataFrame], *, role: str = "viewer", lang: str = "vi",
          options: MapOptions | None = None, generated_on: date | None = None,
          classification_floor: str = "public") -> folium.Map:
    """The interactive hotspot map of the given layers, as the role may see it.

    Parameters
    ----------
    frames : mapping of layer name → frame
        Any of ``communes``, ``province``, ``border_line``, ``lao_provinces``,
        ``retail_points``, ``opium_plots``, ``border_crossings``, ``border_posts``,
        ``facilities``, ``cases``, ``hotspot_clusters``, ``gistar_cells``,
        ``emerging_hotspots``, ``complex_hotspots``, ``complex_places``,
        ``methadone_access``, ``commune_status``, ``recognitions``, ``targets``
        (EPSG:4326). A layer is drawn only if its frame is given, not empty, and readable by
        ``role``. ``basemap_rivers`` and ``basemap_places`` (the shipped base
        layer, :mod:`geo_pcmt.ingest.basemap`) are drawn for every role.
    role : {"viewer", "analyst", "commander", "admin"}
        The reader. A viewer gets no record of an intelligence layer, only the public
        per-commune counts (:func:`geo_pcmt.access.read_counts`: small counts suppressed,
        all time — the date and type filters do not apply to them).
    lang : {"vi", "en"}
        Language the page opens in (the reader can switch; ``?lang=en`` also works).
    options : MapOptions, optional
        Filters and opening view (dates, communes, point types, layers, year).
    generated_on : date, optional
        Date printed on the map (default: today); the headline grades this year on it.
    classification_floor : {"public", "restricted", "secret"}
        The lowest classification the page carries (a patrol plan's map: the plan's level);
        otherwise the highest ``confidentiality`` of the rows shown decides it
        (:func:`geo_pcmt.access.frames_marking`), on screen and in print.

    Returns
    -------
    folium.Map
        With every JS/CSS link pointing at ``options.assets_base_url``.

    Examples
    --------
    >>> from geo_pcmt.ingest import boundaries
    >>> m = build({"communes": boundaries.communes(), "border_line": boundaries.border_line()})
    >>> "cdn.jsdelivr" in m.get_root().render()
    False
    """
    opts = options or MapOptions()
    _check_inputs(frames, lang)
    # the shipped base layer (rivers, towns) is public reference data, not records
    base = payload.basemap_payload({k: v for k, v in frames.items() if k in BASEMAP_KEYS})
    visible, counted = visible_frames(
        {k: v for k, v in frames.items() if v is not None and len(v)}, role)
    # counts are the public aggregates as they are: no date or type filter (two windows'
    # counts could be subtracted to reveal the small counts that suppression hides)
    visible = filter_records(visible, opts)
    today = generated_on or date.today()
    communes = visible.get("communes")
    names = ({} if communes is None else
             dict(zip(communes["code"].astype(str), communes["name"].astype(str))))
    base_month, months = slider_months(visible, opts.date_from, opts.date_to)
    by_year, details, from_status = status_by_year(
        visible.get("commune_status"), visible.get("recognitions"), list(names))
    progress = (_progress(communes, by_year, visible, opts.since_year, today, details)
                if communes is not None and by_year else {})
    data, wanted = _layer_data(visible, counted, opts, base_month, names, bool(progress))
    if base:
        data["basemap"] = base

    show = set(opts.layers) if opts.layers is not None else {o.key for o in OVERLAYS if o.show}
    m = folium.Map(location=[19.2, 104.9], zoom_start=9, tiles=None, control_scale=True,
                   prefer_canvas=False, zoom_control=True, minZoom=6, maxZoom=18,
                   # a printed page is drawn once, at its final view: no zoom animation to wait on
                   zoomAnimation=not opts.print_view)
    groups = {key: _group(key, lang, key in show, cluster).add_to(m) for key, cluster in wanted}
    focus = _focus(m, visible, opts)
    config = _page_config(visible, counted, opts, role=role, lang=lang, today=today,
                          by_year=by_year, details=details, from_status=from_status,
                          progress=progress, focus=focus, groups=groups,
                          classification_floor=classification_floor, months=months)
    m.add_child(_App(config, groups, _read_template("map_app.js"),
                     _read_template("map_base.css") + _read_template("map_app.css"), data))
    _add_marking(m, config["classification"])
    _add_controls(m, opts, lang, show)
    drop_unused(m)
    localize(m, base_url=opts.assets_base_url)
    return m


def _page_config(visible: Mapping[str, pd.DataFrame], counted, opts: MapOptions, *, role: str,
                 lang: str, today: date, by_year, details, from_status, progress, focus,
                 groups, classification_floor: str, months) -> dict:
    """What the page's script reads: words, years, classes, progress, view and print setup."""
    years = sorted(by_year)
    communes = visible.get("communes")
    return {
        "lang": lang, "role": role, "i18n": I18N, "months": months,
        "years": years, "year": _opening_year(years, opts.year, today),
        "byYear": {str(k): v for k, v in by_year.items()},
        "statusDetails": details, "fromStatus": from_status,
        "progress": {str(k): v for k, v in progress.items()},
        "colours": STATUS_COLOURS, "classes": list(STATUS_CLASSES),
        "types": list(RETAIL_POINT_TYPES), "pstatus": list(RETAIL_POINT_STATUS),
        "kinds": list(CROSSING_KINDS), "focus": focus,
        "selected": list(opts.communes), "title": opts.title, "generated": today.isoformat(),
        "classification": access.frames_marking(visible.values(),
                                                at_least=classification_floor)[1],
        "countsAllTime": bool(counted) and bool(opts.date_from or opts.date_to
                                                 or opts.point_types),
        "synthetic": _synthetic(visible, counted), "print": opts.print_view,
        "paper": opts.paper, "orientation": opts.orientation, "unit": opts.unit,
        "view": opts.view, "viewName": view_name(opts.view, communes, visible.get("border_posts")),
        "viewBounds": _chooser_bounds(communes),
        "dataAsOf": _data_as_of(visible, today), "labelAt": _label_points(communes),
        "laoLabels": _lao_labels(visible.get("lao_provinces"), visible.get("border_line")),
        "overlays": [o.key for o in OVERLAYS if o.key in groups or
                     (o.key == "osm" and opts.online_tiles)],
    }


def _chooser_bounds(communes: gpd.GeoDataFrame | None) -> dict[str, Any]:
    """The views the page's paper chooser offers besides the one on screen: the province and,
    when the communes say which are on the border, the border strip."""
    out: dict[str, Any] = {}
    if communes is None or not len(communes):
        return out
    out["province"] = view_bounds("province", communes, None)
    if "is_border" in communes.columns and communes["is_border"].fillna(False).astype(bool).any():
        out["border"] = view_bounds("border", communes, None)
    return out


def _check_inputs(frames: Mapping[str, pd.DataFrame], lang: str) -> None:
    if lang not in ("vi", "en"):
        raise MapInputError(f"lang={lang!r}: 'vi' or 'en'")
    for name, frame in frames.items():
        if frame is not None and not isinstance(frame, pd.DataFrame):
            raise MapInputError(f"frame {name!r} is a {type(frame).__name__}, not a DataFrame")


def _progress(communes: gpd.GeoDataFrame, by_year, frames: Mapping[str, pd.DataFrame],
              since_year: int | None, today: date, details) -> dict[int, dict]:
    """The headline for each year, from the layers the reader may see."""
    return progress_by_year(communes, by_year, recognitions=frames.get("recognitions"),
                            targets=frames.get("targets"),
                            retail_points=frames.get("retail_points"),
                            opium_plots=frames.get("opium_plots"),
                            border_posts=frames.get("border_posts"), since_year=since_year,
                            labels_by_year=labels_by_year(details), today=today)


def _layer_data(visible: Mapping[str, pd.DataFrame], counted: Mapping[str, pd.DataFrame],
                opts: MapOptions, base_month: int | None, names: Mapping[str, str],
                with_progress: bool) -> tuple[dict[str, Any], list[tuple[str, bool]]]:
    """The page's data per layer, and the overlays to offer (key, clustered) in control order."""
    data: dict[str, Any] = {}
    wanted: list[tuple[str, bool]] = []

    def geo(name: str) -> bool:
        return name in visible and is_geo(visible[name])
    communes, province, border = (visible.get(k) for k in ("communes", "province", "border_line"))
    if geo("province"):
        data["province"] = payload.simple_layer(province, 100, ())
    if geo("communes"):
        data["communes"] = payload.communes_payload(communes, opts.simplify_m)
        wanted.append(("communes", False))
    counts = payload.counts_payload(counted, communes) if counted and communes is not None \
        else None
    if counts:
        data["commune_counts"] = counts
        wanted.append(("commune_counts", False))
    if geo("lao_provinces"):
        data["lao_provinces"] = payload.simple_layer(visible["lao_provinces"], 200,
                                                     ("name", "name_en"))
        wanted.append(("lao_provinces", False))
    if geo("border_line"):
        data["border_line"] = payload.simple_layer(border, 20,
                                                   ("segment", "lao_province", "length_km"))
        wanted.append(("border_line", False))
    if with_progress and border is not None:
        if "border_posts" in visible and communes is not None:
            data["post_areas"] = geometry.post_areas(visible["border_posts"], communes,
                                                     opts.simplify_m)
        wanted.append(("progress", False))
    outline = geometry.province_outline(province, communes) if geo("border_line") else None
    if outline is not None:
        data["distance_bands"] = geometry.distance_bands(border, outline)
        wanted.append(("distance_bands", False))
    for name in payload.DERIVED_LAYERS:
        if geo(name):
            data[name] = payload.derived_payload(name, visible[name])
    if geo("retail_points") and base_month is not None:
        data["retail_points"] = payload.points_payload(visible["retail_points"], base_month,
                                                       names)
        wanted.append(("retail_points", False))  # counted on a grid in the page
    if geo("opium_plots") and base_month is not None:
        data["opium_plots"] = payload.plots_payload(visible["opium_plots"], base_month, names)
        wanted.append(("opium_plots", False))
    for name, fields in payload.POINT_FIELDS.items():
        if geo(name):
            data[name] = payload.point_features(visible[name], fields)
            wanted.append((name, False))
    wanted.extend((name, False) for name in payload.DERIVED_LAYERS if name in data)
    places = payload.places_payload(visible["complex_places"]) if geo("complex_places") else None
    if places:
        data["complex_places"] = places
        wanted.append(("complex_places", False))
    access_rows = visible.get("methadone_access")
    methadone = (payload.methadone_payload(access_rows)
                 if access_rows is not None and geo("communes") else None)
    if methadone:
        data["methadone_access"] = methadone
        wanted.append(("methadone_access", False))
    if geo("cases") and base_month is not None:
        data["cases"] = payload.cases_payload(visible["cases"], base_month)
    if "cases" in data or "retail_points" in data:
        heat = payload.kde_payload(visible, province)
        if heat:
            data["kde"] = heat
        wanted.append(("heat", False))
    return data, wanted


def _group(key: str, lang: str, show: bool, cluster: bool):
    """The layer group of one overlay (a marker cluster for the retail points)."""
    label = layer_label(key, lang)
    if cluster:
        return folium.plugins.MarkerCluster(name=label, show=show, options=_CLUSTER_OPTIONS)
    return folium.FeatureGroup(name=label, show=show)


def _focus(m: folium.Map, frames: Mapping[str, pd.DataFrame], opts: MapOptions
           ) -> list | None:
    """Open on the chosen view (:func:`.views.view_bounds`), kept clear of panel and legend."""
    focus = view_bounds(opts.view, frames.get("communes"), frames.get("border_posts"),
                        opts.communes)
    if focus is not None:
        m.fit_bounds(focus, padding_top_left=(320, 10), padding_bottom_right=(240, 10))
    return focus


def _label_points(communes: gpd.GeoDataFrame | None) -> dict[str, list[float]]:
    """Where each commune's name goes: a point inside it (lon, lat)."""
    if communes is None or not len(communes):
        return {}
    at = communes.geometry.representative_point()
    return {str(c): [round(p.x, 4), round(p.y, 4)] for c, p in zip(communes["code"], at)}


def _lao_labels(lao: gpd.GeoDataFrame | None, border: gpd.GeoDataFrame | None) -> list[dict]:
    """A Lao province's name near the border it shares (its centre is far off the map)."""
    if lao is None or not len(lao):
        return []
    metric = lao.to_crs(METRIC_CRS)
    near = (None if border is None or not len(border)
            else border.to_crs(METRIC_CRS).union_all().buffer(LAO_LABEL_DEPTH_M))
    out = []
    for row, geom in zip(lao.itertuples(index=False), metric.geometry):
        part = geom if near is None or not geom.intersects(near) else geom.intersection(near)
        at = gpd.GeoSeries([part.representative_point()], crs=METRIC_CRS).to_crs(STORAGE_CRS)[0]
        out.append({"name": str(row.name), "name_en": str(getattr(row, "name_en", "") or ""),
                    "at": [round(at.x, 4), round(at.y, 4)]})
    return out


def _data_as_of(frames: Mapping[str, pd.DataFrame], today: date) -> str | None:
    """The latest day a record shown speaks of (not after ``today``), for the title block."""
    latest = None
    for frame in frames.values():
        for name in _EVENT_DATES:
            if name in frame.columns:
                d = dates(frame[name])
                d = d[d <= pd.Timestamp(today)].max() if len(d) else pd.NaT
                if not pd.isna(d) and (latest is None or d > latest):
                    latest = d
    return None if latest is None else latest.date().isoformat()


def _opening_year(years: list[int], chosen: int | None, today: date) -> int | None:
    """The year whose classes colour the map at opening: chosen, else this year, else latest."""
    if not years:
        return None
    if chosen is None:
        return today.year if today.year in years else years[-1]
    return chosen if chosen in years else years[-1]


def _add_marking(m: folium.Map, level: str) -> None:
    """The classification mark in the page itself (top centre, on screen and in print), as
    the patrol brief carries it; none on a public page."""
    if level == "public":
        return
    mark = access.MARKINGS[level][0]
    m.get_root().html.add_child(folium.Element(
        f'<div class="gp-marking gp-marking-{level}" role="note">{html.escape(mark)}</div>'),
        name="gp_marking")


def _synthetic(*frame_sets: Mapping[str, pd.DataFrame]) -> bool:
    """Whether any record says it is synthetic sample data (the page then says so)."""
    return any("SYNTHETIC" in " ".join(map(str, f["source"].dropna().unique()[:50]))
               for frames in frame_sets for f in frames.values() if "source" in f.columns)


def _add_controls(m: folium.Map, opts: MapOptions, lang: str, show: set[str]) -> None:
    """Full screen, the optional online tiles, the layer control, title and language."""
    folium.plugins.Fullscreen(position="topleft", title="Toàn màn hình / Full screen",
                              title_cancel="Thoát / Exit").add_to(m)
    if opts.online_tiles:  # last in the control; blank (and harmless) without internet
        folium.TileLayer("OpenStreetMap", name=layer_label("osm", lang), overlay=True,
                         control=True, show="osm" in show, max_zoom=19, opacity=0.75).add_to(m)
    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    m.get_root().header.add_child(folium.Element(
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<link rel="icon" href="data:,">'
        f"<title>{html.escape(opts.title or I18N[lang]['title'])}</title>"), name="gp_title")
    m.get_root().html.add_child(folium.Element(
        f'<script>document.documentElement.lang = "{lang}";</script>'), name="gp_lang")


# ---------------------------------------------------------------- writing

def render_html(m: folium.Map, *, standalone: bool = False,
                base_url: str = DEFAULT_BASE_URL) -> str:
    """The page as HTML text; ``standalone`` inlines every vendored asset (one file)."""
    page = m.get_root().render()
    return inline_assets(page, base_url=base_url) if standalone else page


def save(m: folium.Map, path: str | Path, *, standalone: bool = False,
         base_url: str = "vendor") -> Path:
    """Write the map to ``path``.

    Without ``standalone`` the vendored assets are copied to ``vendor/`` beside the file (the
    map must have been built with ``assets_base_url="vendor"``), so the folder opens offline;
    with it, everything is inside the one HTML file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    page = render_html(m, standalone=standalone, base_url=base_url)
    if not standalone:
        target = path.parent / base_url
        if target.resolve() != VENDOR_DIR.resolve():
            shutil.copytree(VENDOR_DIR, target, dirs_exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path
