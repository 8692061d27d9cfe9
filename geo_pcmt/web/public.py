"""Public pages of the foundation: the layer list and GeoJSON of public base layers."""
from __future__ import annotations

from flask import Blueprint, Response, abort, jsonify, render_template_string

from ..export import iter_geojson
from ..layers import LAYERS
from . import get_store

bp = Blueprint("public", __name__)

PUBLIC_BASE_LAYERS = tuple(n for n, l in LAYERS.items()
                           if l.kind == "base" and l.confidentiality_default == "public")

_INDEX = """<!doctype html><html lang="vi"><head><meta charset="utf-8">
<title>geo_pcmt — Bản đồ điểm nóng ma túy Nghệ An</title></head><body>
<h1>geo_pcmt</h1><p>Lớp dữ liệu công khai / Public layers:</p><ul>
{% for l in layers %}<li><a href="/layers/{{ l.name }}.geojson">{{ l.title_vi }}</a>
 ({{ l.title_en }}) — {{ counts[l.name] }}</li>{% endfor %}</ul></body></html>"""


@bp.get("/")
def index():
    store = get_store()
    counts = {n: store.count(n) for n in PUBLIC_BASE_LAYERS}
    return render_template_string(_INDEX, layers=[LAYERS[n] for n in PUBLIC_BASE_LAYERS],
                                  counts=counts)


@bp.get("/layers")
def layer_list():
    store = get_store()
    return jsonify([{"name": n, "title_vi": LAYERS[n].title_vi, "title_en": LAYERS[n].title_en,
                     "count": store.count(n), "href": f"/layers/{n}.geojson"}
                    for n in PUBLIC_BASE_LAYERS])


@bp.get("/layers/<name>.geojson")
def layer_geojson(name: str):
    if name not in PUBLIC_BASE_LAYERS:
        abort(404, description=f"no public layer named {name!r}")
    frame = get_store().read(name)
    return Response(iter_geojson(frame), mimetype="application/geo+json")
