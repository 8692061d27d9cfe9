"""The map page's words: the one word table (:mod:`geo_pcmt.words`) plus the names of the
map's overlays, and the layer control's labels.
"""
from __future__ import annotations

import html

from geo_pcmt.outputs.map.overlays import OVERLAYS
from geo_pcmt.words import WORDS

#: The word table with each overlay's name under ``layer.<key>``.
I18N: dict[str, dict[str, str]] = {
    lang: {**words, **{f"layer.{o.key}": getattr(o, lang) for o in OVERLAYS}}
    for lang, words in WORDS.items()}


def layer_label(key: str, lang: str) -> str:
    """An overlay's name for the layer control, as HTML the page relabels on a language switch."""
    return (f'<span class="gp-i18n gp-layer gp-layer-{key}" data-k="layer.{key}">'
            f"{html.escape(I18N[lang]['layer.' + key])}</span>")
