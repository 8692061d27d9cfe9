"""The server side of offline field capture: ``/api/field/*`` and ``/field/conflicts``.

* ``GET /api/field/snapshot?layers=…&bbox=…`` — the records a phone takes into the field,
  role-scoped through :func:`geo_pcmt.access.read`, each Feature with its ``version`` (the
  item's ETag), the fields with their labels and allowed values, and the classification
  mark; the read is audited as any read of restricted records.
* ``POST /api/field/sync`` — a batch of edits (:func:`geo_pcmt.sync.apply_batch`).
* ``GET /api/field/conflicts`` — the open conflicts as JSON; ``GET /field/conflicts`` — the
  page where an analyst compares base, server and phone values and chooses (``POST
  /field/conflicts/<id>``).

Analysts and above (the roles that may edit records, :func:`geo_pcmt.access.can_edit_layer`);
viewers get 403. Writes need a session with its CSRF token or a Bearer token, as every
JSON write (:mod:`.security`). The phone app itself (``/field``) is another blueprint.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone

from flask import Blueprint, current_app, jsonify, redirect, render_template, request

from geo_pcmt import access
from geo_pcmt.ingest import boundaries
from geo_pcmt.layers import get_layer
from geo_pcmt.outputs.geojson import iter_geojson
from geo_pcmt.ingest.problem_text import problem_json
from geo_pcmt.store.versions import row_versions
from geo_pcmt.sync import FIELD_LAYERS, SNAPSHOT_LAYERS, BatchError
from geo_pcmt.sync.batch import apply_batch
from geo_pcmt.sync.conflicts import ResolveError, open_conflicts, resolve
from geo_pcmt.sync.merge import GEOMETRY
from geo_pcmt.web.auth import (actor, current_role, current_user, get_users,
                               login_required)
from geo_pcmt.web.context import get_store
from geo_pcmt.web.ogcapi.edits import Invalid
from geo_pcmt.web.security import ApiError

bp = Blueprint("field_sync", __name__)
#: Largest sync body (bytes): 500 edits with photos the phone has already shrunk.
DEFAULT_MAX_BODY = 25 * 1024 * 1024
SNAPSHOT_PRECISION = 9  # decimals: the phone's base geometry compares with the stored one
_SNAPSHOT_LIMIT = 50_000


def _editor() -> str:
    """The caller's role if they may edit field layers: 401 signed out, 403 below analyst."""
    role = current_role()
    if current_user() is None:
        raise ApiError(401, "login_required", "sign in first: session login, or "
                       "Authorization: Bearer <token>",
                       headers={"WWW-Authenticate": 'Bearer realm="geo_pcmt"'})
    if not any(access.can_edit_layer(role, name) for name in FIELD_LAYERS):
        raise ApiError(403, "forbidden", f"field capture needs the analyst role; you are "
                       f"{role} (cần quyền phân tích viên)")
    return role


def _layers_asked() -> list[str]:
    text = request.args.get("layers") or ",".join(SNAPSHOT_LAYERS)
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in SNAPSHOT_LAYERS]
    if unknown or not names:
        raise ApiError(400, "unknown_layer", f"layers are some of {', '.join(SNAPSHOT_LAYERS)} "
                       f"(got {', '.join(unknown)[:200] or 'none'})")
    return list(dict.fromkeys(names))


def _bbox() -> tuple[float, ...] | None:
    text = request.args.get("bbox")
    if not text:
        return None
    try:
        box = tuple(float(v) for v in text.split(","))
    except ValueError:
        box = ()
    if len(box) != 4 or not (-180 <= box[0] <= box[2] <= 180 and -90 <= box[1] <= box[3] <= 90):
        raise ApiError(400, "invalid_bbox", "bbox is minLon,minLat,maxLon,maxLat in degrees")
    return box


def _field_list(role: str, layer: str) -> list[dict]:
    spec = get_layer(layer)
    visible = set(access.visible_fields(role, spec))
    return [{"name": f.name, "label_vi": f.label_vi, "label_en": f.label_en, "type": f.type,
             "required": f.required, "choices": list(f.allowed) if f.allowed else None}
            for f in spec.fields if f.name in visible]


@bp.get("/api/field/snapshot")
def snapshot():
    """The records the phone takes into the field (see the module docstring)."""
    role = _editor()
    names, bbox = _layers_asked(), _bbox()
    unknown = [k for k in request.args if k not in ("layers", "bbox")]
    if unknown:
        raise ApiError(400, "unknown_parameter", f"unknown parameter {unknown[0][:50]!r}")
    store, layers, frames = get_store(), {}, []
    for name in names:
        if not access.can_edit_layer(role, name):
            continue
        spec = get_layer(name)
        frame = access.read(store, name, role=role, bbox=bbox, limit=_SNAPSHOT_LIMIT)
        versions = row_versions(spec, frame) if len(frame) else []
        features = json.loads("".join(iter_geojson(frame, precision=SNAPSHOT_PRECISION)))[
            "features"]
        for feature, version in zip(features, versions):
            feature["version"] = version
        if len(frame) and access.is_restricted_read(spec, frame):
            store.audit(actor(), "read", name, frame["id"].astype(str).tolist(),
                        {"role": role, "via": "field_snapshot", "returned": len(frame),
                         "bbox": bbox})
        layers[name] = {"fields": _field_list(role, name), "features": features}
        frames.append(frame)
    mark, level = access.frames_marking(frames)
    return jsonify({"generated_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "classification": {"mark": mark, "level": level}, "layers": layers})


@bp.post("/api/field/sync")
def sync():
    """Apply a batch of edits; the answer of each (see docs/field.md)."""
    role = _editor()
    limit = int(current_app.config.get("FIELD_SYNC_MAX_BODY", DEFAULT_MAX_BODY))
    if (request.content_length or 0) > limit:
        raise ApiError(413, "too_large", f"a sync call carries at most {limit // 1024 // 1024} "
                       "MB; send fewer edits per call (gửi ít thao tác hơn mỗi lần)")
    if request.mimetype != "application/json":
        raise ApiError(415, "unsupported_media_type", "send the body as application/json")
    try:
        body = json.loads(request.get_data(cache=False) or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "invalid_json", f"the body is not valid JSON: {exc}") from None
    lang = "en" if request.args.get("lang") == "en" else "vi"
    try:
        results = apply_batch(get_store(), body, user=current_user().username, role=role,
                              lang=lang)
    except BatchError as exc:
        raise ApiError(400, "invalid_batch", str(exc)) from None
    return jsonify({"results": results})


@bp.get("/api/field/conflicts")
def conflicts_json():
    """The open conflicts the caller may see, as JSON."""
    role = _editor()
    try:
        limit = int(request.args.get("limit", 500))
    except ValueError:
        limit = 0
    if not 1 <= limit <= 500 or [k for k in request.args if k != "limit"]:
        raise ApiError(400, "bad_parameter", "the only parameter is limit, 1 to 500")
    items = [c.as_dict() for c in open_conflicts(get_store(), role, limit=limit)]
    mark, level = access.marking([c["confidentiality"] for c in items])
    return jsonify({"classification": {"mark": mark, "level": level}, "conflicts": items})


@bp.get("/field/conflicts")
@login_required("analyst")
def conflicts_page():
    """Open conflicts, base / server / phone side by side, each with a form to resolve."""
    return _page()


@bp.post("/field/conflicts/<cid>")
@login_required("analyst")
def resolve_conflict(cid: str):
    """Resolve one conflict from the page's form; back to the page with what happened."""
    role = _editor()
    choices = {k[7:]: v for k, v in request.form.items() if k.startswith("choice:")}
    typed = {k[6:]: v for k, v in request.form.items() if k.startswith("typed:")}
    q = "?lang=en" if request.args.get("lang") == "en" else ""
    try:
        resolve(get_store(), cid, choices, typed, user=current_user().username, role=role)
    except ResolveError as exc:
        return _page(error=str(exc)), 409
    except Invalid as exc:
        spec = get_layer(_layer_of(cid, role))
        lang = "en" if q else "vi"
        return _page(error="; ".join(problem_json(p, spec, lang)["reason"]
                                     for p in exc.problems[:10])), 422
    return redirect(f"/field/conflicts{q}")


def _layer_of(cid: str, role: str) -> str:
    for c in open_conflicts(get_store(), role):
        if c.id == cid:
            return c.layer
    return FIELD_LAYERS[0]


def _page(error: str | None = None) -> str:
    role = current_role()
    lang = "en" if request.args.get("lang") == "en" else "vi"
    store = get_store()
    items = open_conflicts(store, role)
    rows = [(c, get_layer(c.layer), _record_summary(store, role, c)) for c in items]
    mark = access.marking([c.confidentiality for c in items])[0]
    users = get_users()
    names = {}
    for c in items:
        if c.user not in names:
            user = users.get(c.user)
            names[c.user] = (user.display_name if user is not None else "") or c.user
    return render_template("field_conflicts.html", rows=rows, lang=lang, error=error,
                           marking=mark, GEOMETRY=GEOMETRY, show=_shown, names=names)


def _record_summary(store, role: str, c) -> dict:
    """What identifies the record for an officer: its name or kind, commune and date."""
    spec = get_layer(c.layer)
    frame = access.read(store, c.layer, role=role, where={"id": c.record_id}, limit=1)
    row = frame.iloc[0].to_dict() if len(frame) else {**c.server, **c.phone}
    communes = boundaries.communes()
    names = dict(zip(communes["code"].astype(str), communes["name"]))
    date = row.get(spec.time_field) if spec.time_field else None
    return {"name": row.get("name") or row.get("kind") or row.get("village") or "",
            "commune": names.get(str(row.get("commune_code")), ""),
            "date": date if isinstance(date, str) else "", "exists": bool(len(frame))}


def _shown(value, lang: str = "vi") -> str:
    """A value as the page shows it (a geometry as its kind and first position)."""
    if value is None:
        return "(trống)" if lang == "vi" else "(empty)"
    if isinstance(value, dict) and "coordinates" in value:
        coords = value["coordinates"]
        while isinstance(coords, list) and coords and isinstance(coords[0], list):
            coords = coords[0]
        where = ", ".join(f"{v:.6f}".replace(".", ",") for v in coords[:2][::-1])
        return f"{value.get('type')} ({where})"
    if value == "deleted":
        return "đã xóa" if lang == "vi" else "deleted"
    if value == "delete":
        return "xóa bản ghi" if lang == "vi" else "delete the record"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_shown(v, lang)}" for k, v in value.items())
    if isinstance(value, float):
        return f"{value:g}".replace(".", ",")
    return str(value)


def register(app) -> None:
    """Register the blueprint (and its limit's default) on ``app``."""
    app.config.setdefault("FIELD_SYNC_MAX_BODY", DEFAULT_MAX_BODY)
    app.register_blueprint(bp)
