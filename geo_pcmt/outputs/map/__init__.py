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

from geo_pcmt.outputs.map.build import build, render_html, save
from geo_pcmt.outputs.map.frames import (MAP_LAYERS, filter_records, frames_from_store,
                                         map_frames, restricted_layers, visible_frames)
from geo_pcmt.outputs.map.headline import progress_by_year
from geo_pcmt.outputs.map.i18n import I18N
from geo_pcmt.outputs.map.options import MapInputError, MapOptions, with_base_url
from geo_pcmt.outputs.map.overlays import (DISTANCE_BANDS_KM, OVERLAY_KEYS, OVERLAYS,
                                           STATUS_CLASSES, STATUS_COLOURS, STATUS_RANK, Overlay)
from geo_pcmt.outputs.map.status import status_by_year
from geo_pcmt.outputs.map.vendor import DEFAULT_BASE_URL

__all__ = ["DEFAULT_BASE_URL", "DISTANCE_BANDS_KM", "I18N", "MAP_LAYERS", "MapInputError",
           "MapOptions", "OVERLAYS", "OVERLAY_KEYS", "Overlay", "STATUS_CLASSES",
           "STATUS_COLOURS", "STATUS_RANK", "build", "filter_records", "frames_from_store",
           "map_frames", "progress_by_year", "render_html", "restricted_layers", "save",
           "status_by_year", "visible_frames", "with_base_url"]
