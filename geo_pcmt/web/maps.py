"""The ``maps`` blueprint: the interactive map at ``/map`` (``/`` redirects there), as the reader's
role may see it, with its filters in the URL so a view can be bookmarked and shared.

URL parameters (all optional): ``from``/``to`` (``YYYY-MM`` or ``YYYY-MM-DD``), ``commune``
(GSO codes, comma-separated), ``type`` (retail point types), ``layers`` (overlays shown at
opening), ``year`` (commune classes shown), ``since`` (class changes counted since),
``month`` (time slider position), ``lang`` (``vi``/``en``), ``print=1`` (A4 layout).
``/map/standalone`` downloads the same view as one HTML file that opens offline.

The vendored JavaScript/CSS are served by Flask's own static route (``/static/vendor/…``,
``geo_pcmt/web/static/vendor``). Anonymous visitors are sent to the login page.

A page is built once per role, URL and data version (the API's answer cache), gzipped once
when built, and sent gzipped to every client that accepts it, with a strong ``ETag``; a
client that sends it back in ``If-None-Match`` gets ``304 Not Modified`` while the data have
not changed (reads are audited all the same).
"""
from __future__ import annotations

import gzip
from datetime import date
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, jsonify, redirect, request, url_for

from geo_pcmt.outputs import map as mapping
from geo_pcmt.web.ogcapi import CachedAnswer, remembered
from geo_pcmt.web.security import relaxed_csp

bp = Blueprint("maps", __name__)

# What the map of a role needs from the store (shipped boundaries fill an empty store); kept
# importable from here for callers of the former location.
map_frames = mapping.map_frames


def _reader() -> tuple[str | None, str]:
    """(role, name for the audit log) of this request.

    Anonymous visitors get the configured ``ANONYMOUS_ROLE`` (default None: they are sent to
    the login page); even suppressed per-commune counts need at least a viewer's login.
    """
    from geo_pcmt.web import auth
    return auth.current_role(), auth.actor()


def _build(standalone: bool):
    from geo_pcmt.web.context import get_store
    role, who = _reader()
    try:
        options = mapping.MapOptions.from_query(request.args)
    except mapping.MapInputError as exc:
        return jsonify(error="bad_request", message=str(exc)), 400
    lang = request.args.get("lang", "vi")
    if lang not in ("vi", "en"):
        return jsonify(error="bad_request", message=f"lang={lang!r}: 'vi' or 'en'"), 400
    if role is None:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    store = get_store()
    restricted = mapping.restricted_layers(store, role)
    if restricted:  # every read of restricted layers is audited
        store.audit(who, "read_map", None, [], {"layers": restricted, "role": role,
                                                "query": request.query_string.decode()[:500],
                                                "standalone": standalone})
    static_base = url_for("static", filename="vendor").rstrip("/") \
        if current_app.has_static_folder else mapping.DEFAULT_BASE_URL

    def render() -> CachedAnswer:
        m = mapping.build(mapping.map_frames(store, role), role=role, lang=lang,
                          options=mapping.with_base_url(options, static_base))
        page = mapping.render_html(m, standalone=standalone, base_url=static_base)
        return CachedAnswer(gzip.compress(page.encode(), compresslevel=6, mtime=0),
                            "text/html")

    # the page is a function of the role, the URL, the day and the stored data: building
    # it takes seconds, so it is kept (gzipped) until any layer changes (reads are audited
    # above)
    page = remembered(f"map:{date.today().isoformat()}", (), render)
    resp = _send(page)
    # restricted pages are never stored by the browser (a shared machine at a post);
    # public ones are kept and revalidated with their ETag
    resp.headers["Cache-Control"] = "no-store" if restricted else "private, no-cache"
    if standalone:
        resp.headers["Content-Disposition"] = 'attachment; filename="ban-do-diem-nong.html"'
    return resp


def _send(page: CachedAnswer) -> Response:
    """The gzipped page as the client takes it: gzipped or not, or 304 if it has it already."""
    zipped = request.accept_encodings["gzip"] > 0
    etag = page.etag + ("" if zipped else "-identity")  # one validator per representation
    if request.if_none_match.contains(etag):
        resp = Response(status=304)
    elif zipped:
        resp = Response(page.body, mimetype=page.mimetype)
        resp.headers["Content-Encoding"] = "gzip"
    else:
        resp = Response(gzip.decompress(page.body), mimetype=page.mimetype)
    resp.set_etag(etag)
    resp.vary.add("Accept-Encoding")
    return resp


@bp.get("/")
def index():
    """The map is the home page."""
    query = urlencode(list(request.args.items(multi=True)))
    return redirect(url_for("maps.map_page") + (f"?{query}" if query else ""))


@bp.get("/map")
@relaxed_csp  # folium writes inline <script>: allowed on these pages only
def map_page():
    """The interactive map for the signed-in role (anonymous visitors are asked to sign in)."""
    return _build(standalone=False)


@bp.get("/map/standalone")
@relaxed_csp  # folium writes inline <script>: allowed on these pages only
def map_standalone():
    """The same view as one HTML file with every asset inside, for a USB stick."""
    return _build(standalone=True)
