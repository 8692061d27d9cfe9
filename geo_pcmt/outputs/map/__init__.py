"""The interactive hotspot map (bản đồ điểm nóng): a folium Map built from layer frames, offline.

:func:`build` is a pure function: it takes the layers as frames (``{"communes": gdf, …}``), the
reader's role and a few options, and returns a :class:`folium.Map` whose JavaScript/CSS all come
from the vendored copies (:mod:`geo_pcmt.outputs.map.vendor`). Each layer appears only when its
frame is given and the role may read it (:mod:`geo_pcmt.access`): a *viewer* gets the base map,
the public layers and per-commune counts with small counts suppressed — never a point record.

Data reach the browser packed (:mod:`~geo_pcmt.outputs.map.packing`: coordinates quantised
and delta-encoded, point columns as typed arrays, deflated) and are drawn there: a million
retail points cost a few bytes each, counted on a screen grid at province zoom and drawn one by
one only where few are in view. Popups are made when opened, in Vietnamese or English
(``?lang=en`` or the switch in the panel), and every value from data is HTML-escaped there.

The modules, in the order the map is made:

=============  ====================================================================
``options``    :class:`MapOptions` (what the reader chose), :class:`MapInputError`
``frames``     which layers the map needs; :func:`frames_from_store` reads them through
               :func:`geo_pcmt.access.read`; :func:`visible_frames`, filters
``status``     each commune's class per year
``headline``   drug-free communes against the targets, graded by
               :func:`geo_pcmt.analysis.progress.dashboard`
``timeline``   months of the time slider
``geometry``   simplified shapes, distance bands, border posts' areas
``views``      what a printed map is fitted to (province, border, commune, post)
``payload``    the JSON each layer sends to the page
``packing``    the page's data made compact (quantised, delta-encoded, binary columns,
               deflated) in an element no template reads; the Python decoder
``i18n``       the page's words in Vietnamese and English
``overlays``   the toggleable layers and the class colours
``build``      folium assembly; :func:`render_html`, :func:`save`
``vendor``     the vendored JavaScript/CSS/fonts
=============  ====================================================================
"""
from __future__ import annotations

import importlib

# Loaded when first used (PEP 562), so that importing one small module of the package (the
# word table ``i18n``, say, from an upload check) does not pull in folium and the builder.
_WHERE = {
    "build": "build", "render_html": "build", "save": "build",
    "MAP_LAYERS": "frames", "filter_records": "frames", "frames_from_store": "frames",
    "map_frames": "frames", "restricted_layers": "frames", "visible_frames": "frames",
    "progress_by_year": "headline", "I18N": "i18n",
    "MapInputError": "options", "MapOptions": "options", "with_base_url": "options",
    "DISTANCE_BANDS_KM": "overlays", "OVERLAY_KEYS": "overlays", "OVERLAYS": "overlays",
    "STATUS_CLASSES": "overlays", "STATUS_COLOURS": "overlays", "STATUS_RANK": "overlays",
    "Overlay": "overlays", "status_by_year": "status", "DEFAULT_BASE_URL": "vendor",
}


def __getattr__(name: str):
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))


__all__ = sorted(_WHERE)
