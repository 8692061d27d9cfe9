"""Public pages: the landing page (when no map is installed) and the published layers.

``/layers`` and ``/layers/<name>.geojson`` serve only what an anonymous visitor may read
(:func:`geo_pcmt.access.readable_layers_for` with ``None``: the boundary and border
layers); everything else goes through the OGC API and the exports, which check the role.
"""
from __future__ import annotations

from flask import Blueprint, Response, abort, jsonify, render_template, request

from geo_pcmt import access
from geo_pcmt.outputs.export import iter_geojson
from geo_pcmt.layers import LAYERS
from geo_pcmt.web.openapi import collections_for
from geo_pcmt.web.context import get_store
from geo_pcmt.web.auth import current_role
from geo_pcmt.web.ogcapi import CachedAnswer, remembered

bp = Blueprint("public", __name__)


def public_layers() -> list[str]:
    """The layers anyone may download, signed in or not."""
    return access.readable_layers_for(None)


def landing():
    """A Vietnamese landing page with links (the map takes ``/`` when it is installed)."""
    return render_template("landing.html", n_collections=len(collections_for(current_role())),
                           api_url=request.host_url + "api")


@bp.get("/layers")
def layer_list():
    """The published layers with their row counts and GeoJSON links."""
    store = get_store()
    return jsonify([{"name": n, "title_vi": LAYERS[n].title_vi, "title_en": LAYERS[n].title_en,
                     "count": store.count(n), "href": f"/layers/{n}.geojson"}
                    for n in public_layers()])


@bp.get("/layers/<name>.geojson")
def layer_geojson(name: str):
    """One published layer as RFC 7946 GeoJSON, with an ETag (``If-None-Match`` → 304).

    The body is kept per data version of the layer (the communes are 1.7 MB and took
    ~50 ms to serialise on every request); a write to the layer moves the version.
    """
    if name not in public_layers():
        abort(404, description=f"no public layer named {name[:80]!r}")
    # the published file is the anonymous visitor's view (rows and fields), whoever asks
    answer = remembered("public_layer", (name,), lambda: CachedAnswer(
        "".join(iter_geojson(access.read(get_store(), name, role=None))).encode(),
        "application/geo+json"))
    resp = Response(answer.body, mimetype=answer.mimetype)
    resp.set_etag(answer.etag)
    return resp.make_conditional(request)
