"""The ``field`` blueprint: the phone app for offline field capture at ``/field/``.

The app is an installable web app (manifest, service worker) made of static files under
``geo_pcmt/web/static/field/`` and one page, ``templates/field.html``; it uses the vendored
Leaflet and nothing from a CDN. The page itself holds no records and needs no sign-in, so
the service worker can keep it and open it with no signal for days; the records come from
``/api/field/snapshot`` and go back through ``/api/field/sync`` (the ``fieldsync`` side,
see docs/field.md), with the session cookie and its CSRF token.

Routes
------
``/field``                 redirects to ``/field/`` (the service worker's scope)
``/field/``                the app shell (Vietnamese first, ``EN`` toggle in the page)
``/field/sw.js``           the service worker (scope ``/field/``)
``/field/manifest.webmanifest``
``/field/session``         GET: who is signed in on this browser and the CSRF token (JSON);
                           the app signs in through the ordinary ``/login`` form
"""
from __future__ import annotations

import json
from pathlib import Path

from flask import Blueprint, Response, jsonify, redirect, render_template, request, url_for

from geo_pcmt import access
from geo_pcmt.ingest.headers import value_labels
from geo_pcmt.layers import LAYERS
from geo_pcmt.web import auth
from geo_pcmt.web.security import csrf_token

bp = Blueprint("field", __name__, url_prefix="/field")

STATIC_DIR = Path(__file__).resolve().parent / "static" / "field"
# the record layers the app captures, in the order of its home screen; patrol_tracks is
# offered when the server has the layer
CAPTURE_LAYERS = ("retail_points", "opium_plots", "border_crossings", "cases")
TRACK_LAYER = "patrol_tracks"
FIELD_ROLE = "analyst"  # analysts and commanders (and admins) record in the field
# files the service worker keeps for offline use, relative to the site root
SHELL_FILES = ("field/", "static/field/field.css", "static/field/field-i18n.js",
               "static/field/field-store.js", "static/field/field-sync.js",
               "static/field/field-map.js", "static/field/field-form.js",
               "static/field/field-app.js",
               "static/field/icon-192.png", "static/field/icon-512.png",
               "field/manifest.webmanifest",
               "static/vendor/leaflet-1.9.3/leaflet.js",
               "static/vendor/leaflet-1.9.3/leaflet.css",
               "layers/communes.geojson", "layers/border_line.geojson")
SHELL_VERSION = "field-3"  # change to make every phone fetch the shell again


def app_config() -> dict:
    """What the page needs before any record: layer titles and the words for coded values
    (the same words as the upload templates, :func:`geo_pcmt.ingest.headers.value_labels`)."""
    layers = {}
    for name in CAPTURE_LAYERS + (TRACK_LAYER,):
        spec = LAYERS.get(name)
        if spec is None:
            continue
        layers[name] = {
            "title_vi": spec.title_vi, "title_en": spec.title_en,
            "geometry": spec.geometry_type,
            "values": {f.name: value_labels(spec, f.name) for f in spec.fields if f.allowed},
            # the schema's field list: the form before the first snapshot reaches the phone
            "fields": [{"name": f.name, "label_vi": f.label_vi, "label_en": f.label_en,
                        "type": f.type, "required": f.required, "max_length": f.max_length,
                        "choices": list(f.allowed or ())} for f in spec.fields],
        }
    return {"root": (request.script_root or "") + "/", "layers": layers,
            "capture": [n for n in CAPTURE_LAYERS if n in layers],
            "track_layer": TRACK_LAYER if TRACK_LAYER in LAYERS else None,
            "field_role": FIELD_ROLE, "shell_version": SHELL_VERSION}


@bp.get("")
def root():
    """``/field`` → ``/field/`` so the page is inside the service worker's scope."""
    return redirect(url_for("field.shell"))


@bp.get("/")
def shell():
    """The app shell: no records in it, so anyone may load it and the phone may keep it."""
    # inside <script type="application/json">: "</" could end the element early
    config = json.dumps(app_config(), ensure_ascii=False).replace("</", "<\\/")
    return render_template("field.html", config=config)


@bp.get("/sw.js")
def service_worker():
    """The service worker with the list of shell files and the shell's version."""
    files = [(request.script_root or "") + "/" + f for f in SHELL_FILES]
    head = (f"const SHELL_VERSION = {json.dumps(SHELL_VERSION)};\n"
            f"const SHELL_FILES = {json.dumps(files)};\n")
    body = head + (STATIC_DIR / "sw.js").read_text(encoding="utf-8")
    resp = Response(body, mimetype="text/javascript")
    # the browser checks for a new worker on every visit: never a stale one
    resp.headers["Cache-Control"] = "no-cache"
    return resp


@bp.get("/manifest.webmanifest")
def manifest():
    """The web app manifest (name, icons, start URL, colours): ``/field/`` installable."""
    icons = [{"src": url_for("static", filename=f"field/icon-{n}.png"),
              "sizes": f"{n}x{n}", "type": "image/png", "purpose": "any maskable"}
             for n in (192, 512)]
    body = {"name": "Thu thập hiện trường – PCMT Nghệ An", "short_name": "PCMT hiện trường",
            "lang": "vi", "start_url": url_for("field.shell"), "scope": url_for("field.shell"),
            "display": "standalone", "orientation": "portrait", "background_color": "#14212e",
            "theme_color": "#14212e", "icons": icons,
            "description": "Ghi nhận điểm, nương, cửa khẩu, vụ án và tuyến tuần tra "
                           "khi không có sóng; tự gửi khi có mạng."}
    return Response(json.dumps(body, ensure_ascii=False),
                    mimetype="application/manifest+json")


@bp.get("/session")
def session_info():
    """Who is signed in on this browser (``null`` if nobody) and the session's CSRF token,
    which the app sends as ``X-CSRF-Token`` with ``/login``, ``/logout`` and the sync."""
    user = auth.current_user()
    who = None
    if user is not None:
        who = {"username": user.username, "display_name": user.display_name or user.username,
               "role": user.role, "can_record": access.at_least(user.role, FIELD_ROLE),
               "can_delete": access.can_delete(user.role)}
    resp = jsonify(user=who, csrf_token=csrf_token())
    resp.headers["Cache-Control"] = "no-store"
    return resp
