"""OGC API – Features Part 4: create, replace, update and delete single features.

Routes on the ``ogcapi`` blueprint (:func:`register_edits`):

* ``POST /collections/{id}/items`` — a GeoJSON Feature; the server assigns an id when the
  Feature names none. 201 with ``Location`` and ``ETag``, the stored feature as body.
* ``PUT /collections/{id}/items/{fid}`` — replace: properties left out become null.
* ``PATCH /collections/{id}/items/{fid}`` — a JSON merge patch (RFC 7396) of the Feature:
  ``{"properties": {"status": "cleared"}}``, ``{"geometry": {...}}``; ``null`` clears.
* ``DELETE /collections/{id}/items/{fid}`` — 204.

Who: record layers only, analysts and above (:func:`geo_pcmt.access.can_edit_layer`);
deleting stays with admins (:func:`geo_pcmt.access.can_delete`). Reference layers,
analysis results, aggregates and the patrol layers answer 405. Writes need a session (with
its CSRF token) or a Bearer token: HTTP Basic is read-only (:mod:`geo_pcmt.web.auth`).
A record the role may not read is 404, as for reading; nobody may give a record a
confidentiality above their own clearance (403).

Versions: every item ``GET`` carries a strong ``ETag``, the row's version
(:mod:`geo_pcmt.store.versions`). ``PUT``, ``PATCH`` and ``DELETE`` need ``If-Match`` with
it (428 without); the store compares it inside the write's transaction, so of two edits
made from the same version exactly one succeeds and the other gets 412.

Checks: the feature is validated as an uploaded row is (:func:`geo_pcmt.ingest.validate`);
a 422 lists each problem with its field, in Vietnamese (``?lang=en``: English). The write,
its audit record and the data version bump are one transaction in the store.

The steps themselves (:func:`check_feature`, :func:`store_feature`, :func:`remove_feature`,
:func:`edit_detail`) take the user, role and store as arguments and raise plain exceptions
(:class:`Invalid`, :class:`AboveClearance`, :class:`IdTaken`, ``VersionConflict``): the
routes here and the field sync (:mod:`geo_pcmt.sync`) write through the same functions.
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field, replace

import pandas as pd
import shapely
from flask import Blueprint, Response, jsonify, request

from geo_pcmt import access, ingest
from geo_pcmt.ingest.problem_text import problem_json
from geo_pcmt.ingest.report import Problem
from geo_pcmt.layers import Layer
from geo_pcmt.outputs.export import _clean, iter_geojson
from geo_pcmt.store import Store, StoreError
from geo_pcmt.store.versions import VersionConflict, row_versions
from geo_pcmt.web.auth import current_role, current_user
from geo_pcmt.web.context import get_store
from geo_pcmt.web.ogcapi.answers import CachedAnswer
from geo_pcmt.web.ogcapi.edit_bodies import (FEATURE_TYPES, PATCH_TYPES, SERVER_FIELDS,
                                             expected_versions, feature_frame, feature_id,
                                             json_body, merge_patch)
from geo_pcmt.web.ogcapi.features import find_collection, forget_counts, read_one
from geo_pcmt.web.ogcapi.query import Query, bad_request
from geo_pcmt.web.openapi import Collection
from geo_pcmt.web.security import ApiError

_READ = ("GET", "HEAD", "OPTIONS")
_ITEMS, _ITEM = "/collections/<cid>/items", "/collections/<cid>/items/<path:fid>"


def register_edits(bp: Blueprint) -> None:
    """Add the Part 4 routes and the per-role ``OPTIONS`` answers to ``bp``."""
    bp.add_url_rule(_ITEMS, "create_item", create_item, methods=["POST"])
    bp.add_url_rule(_ITEM, "replace_item", replace_item, methods=["PUT"])
    bp.add_url_rule(_ITEM, "update_item", update_item, methods=["PATCH"])
    bp.add_url_rule(_ITEM, "delete_item", delete_item, methods=["DELETE"])
    bp.before_request(_options)
    bp.register_error_handler(Unprocessable, lambda exc: exc.response)


# --- versions on reads -------------------------------------------------------------------------

def item_version(c: Collection, frame: pd.DataFrame) -> str | None:
    """The version of the one feature in ``frame`` (None for computed aggregates)."""
    if c.is_aggregate or not len(frame):
        return None
    return row_versions(c.layer, frame)[0]


def tagged(response: Response, answer: CachedAnswer) -> Response:
    """``response`` with the feature's strong ``ETag`` (its row version; a hash of the body
    for aggregates), answering ``If-None-Match`` with 304."""
    response.set_etag(answer.version or answer.etag)
    return response.make_conditional(request)


# --- who may do what ------------------------------------------------------------------------

def allowed_methods(c: Collection, role: str | None, one_item: bool) -> list[str]:
    """The methods ``role`` may use on ``c``'s items (``one_item``: on one feature)."""
    if c.is_aggregate or not access.can_edit_layer(role, c.layer):
        return list(_READ)
    if not one_item:
        return [*_READ, "POST"]
    return [*_READ, "PUT", "PATCH", *(["DELETE"] if access.can_delete(role) else [])]


def _options():
    """``OPTIONS`` on items: ``Allow`` lists what this role may do there (QGIS asks this to
    decide whether a layer is editable)."""
    if request.method != "OPTIONS" or "cid" not in (request.view_args or {}):
        return None
    c = find_collection(request.view_args["cid"])
    allow = allowed_methods(c, current_role(), "fid" in request.view_args)
    return Response(status=204, headers={"Allow": ", ".join(allow)})


def _editable(cid: str, *, delete: bool = False) -> Collection:
    """The collection ``cid`` if the caller may change it: 404 if unreadable, 401 signed
    out, 405 for read-only layers, 403 for roles below the right."""
    c = find_collection(cid)
    role = current_role()
    if c.is_aggregate or not access.can_edit_layer("admin", c.layer):
        raise ApiError(405, "read_only", f"{cid} is read-only through the API (lớp chỉ đọc)",
                       headers={"Allow": ", ".join(_READ)})
    if current_user() is None:
        raise ApiError(401, "login_required", "sign in first: session login, or "
                       "Authorization: Bearer <token>",
                       headers={"WWW-Authenticate": 'Bearer realm="geo_pcmt"'})
    if not access.can_edit_layer(role, c.layer):
        raise ApiError(403, "forbidden", f"changing {cid} needs the analyst role; you are "
                       f"{role} (cần quyền phân tích viên)")
    if delete and not access.can_delete(role):
        raise ApiError(403, "forbidden", "deleting records needs the admin role "
                       "(xóa bản ghi cần quyền quản trị)")
    return c


def _lang() -> str:
    lang = request.args.get("lang", "vi")
    unknown = [k for k in request.args if k != "lang"]
    if unknown or lang not in ("vi", "en"):
        raise bad_request("unknown_parameter", "edits take only lang=vi|en "
                          f"(got {', '.join((unknown or ['lang'])[:5])})")
    return lang


# --- the routes -------------------------------------------------------------------------------

def create_item(cid: str):
    """Add one feature; 201 with ``Location`` and ``ETag``."""
    lang = _lang()
    c = _editable(cid)
    body = json_body(request, FEATURE_TYPES)
    fid = feature_id(body) or uuid.uuid4().hex
    checked = _checked(c, body, fid, lang)
    try:
        store_feature(get_store(), c.layer, fid, checked, user=current_user().username,
                      expected=None, detail=_detail("POST", None, checked))
    except IdTaken:
        raise ApiError(409, "id_taken", f"a record with id {fid[:80]!r} exists already "
                       "(mã đã được dùng)") from None
    except StoreError as exc:
        raise ApiError(409, "store_refused", f"{exc} (nothing was stored)") from None
    forget_counts()
    response = _feature_response(c, fid, 201)
    response.headers["Location"] = _item_url(cid, fid)
    return response


def replace_item(cid: str, fid: str):
    """Replace one feature (``If-Match`` required)."""
    lang = _lang()
    c = _editable(cid)
    body = json_body(request, FEATURE_TYPES)
    expected = expected_versions(request)
    _current(c, fid, expected)
    if feature_id(body) not in (None, fid):
        raise bad_request("id_mismatch", f"the body names another feature than {fid[:80]!r}")
    return _store_change(c, fid, _checked(c, body, fid, lang), expected, "PUT")


def update_item(cid: str, fid: str):
    """Change part of one feature with a JSON merge patch (``If-Match`` required)."""
    lang = _lang()
    c = _editable(cid)
    patch = json_body(request, PATCH_TYPES)
    expected = expected_versions(request)
    frame = _current(c, fid, expected)
    merged = merge_patch(_as_feature(c, frame), patch)
    if not isinstance(merged, dict) or feature_id(merged) != fid:
        raise bad_request("id_mismatch", "a patch cannot change a feature's id")
    return _store_change(c, fid, _checked(c, merged, fid, lang), expected, "PATCH")


def delete_item(cid: str, fid: str):
    """Delete one feature (admins; ``If-Match`` required); 204."""
    _lang()
    c = _editable(cid, delete=True)
    expected = expected_versions(request)
    _current(c, fid, expected)
    try:
        remove_feature(get_store(), c.layer, fid, user=current_user().username,
                       expected=expected, detail=_detail("DELETE", expected))
    except VersionConflict:
        raise _stale(fid) from None
    forget_counts()
    return Response(status=204)


# --- steps ------------------------------------------------------------------------------------

def _current(c: Collection, fid: str, expected: set[str]) -> pd.DataFrame:
    """The stored feature as the caller may see it: 404 when they may not (or it is not
    there), 412 when it is no longer at a version ``If-Match`` names."""
    frame = read_one(c, Query(where={"id": fid}), current_role())
    if not len(frame):
        raise ApiError(404, "not_found", f"no feature {fid[:80]!r} in {c.id}")
    if item_version(c, frame) not in expected:
        raise _stale(fid)
    return frame


def _stale(fid: str) -> ApiError:
    return ApiError(412, "precondition_failed",
                    f"feature {fid[:80]!r} changed since you read it (or If-Match is not its "
                    "ETag): read it again, then repeat your change "
                    "(đối tượng đã bị thay đổi; hãy tải lại rồi sửa lại)")


def _as_feature(c: Collection, frame: pd.DataFrame) -> dict:
    """The stored feature as the caller sees it (the target of a patch)."""
    return stored_feature(c.layer, frame, c.fields)


def stored_feature(layer: Layer, frame: pd.DataFrame, fields=None) -> dict:
    """The first row of ``frame`` as a GeoJSON Feature dict at full precision (``fields``:
    the properties to keep, default every field of ``layer`` in the frame)."""
    row = frame.iloc[0]
    props = {n: _clean(row[n]) for n in (fields or layer.field_names) if n in frame.columns}
    geometry = None
    if layer.has_geometry and row.geometry is not None:
        geometry = json.loads(shapely.to_geojson(row.geometry))
    return {"type": "Feature", "id": props["id"], "properties": props, "geometry": geometry}


def _checked(c: Collection, feature: dict, fid: str, lang: str) -> Checked:
    """:func:`check_feature` for the caller: 422 listing the problems, 403 above their
    clearance."""
    try:
        return check_feature(c.layer, feature, fid, user=current_user().username,
                             role=current_role())
    except Invalid as exc:
        _refuse(c, exc.problems, lang)
    except AboveClearance as exc:
        raise ApiError(403, "above_clearance",
                       f"confidentiality {exc.level!r} is above your clearance "
                       "(mức mật cao hơn quyền của bạn)") from None


class Unprocessable(Exception):
    """A feature that failed validation: carries the 422 answer listing its problems."""

    def __init__(self, response: Response):
        super().__init__("invalid feature")
        self.response = response


def _refuse(c: Collection, problems: list[Problem], lang: str) -> None:
    """422 with every problem: field, value, code and the reason in ``lang``."""
    description = ("the feature was not stored; fix the fields listed" if lang == "en" else
                   "chưa lưu đối tượng; hãy sửa các trường được liệt kê")
    body = {"code": "invalid_feature", "error": "invalid_feature", "status": 422,
            "description": description,
            "problems": [problem_json(p, c.layer, lang) for p in problems[:200]]}
    response = jsonify(body)
    response.status_code = 422
    raise Unprocessable(response)


def _store_change(c: Collection, fid: str, checked: Checked, expected: set[str],
                  method: str) -> Response:
    """Write the checked feature if the row is still at an expected version (412 if not)."""
    try:
        store_feature(get_store(), c.layer, fid, checked, user=current_user().username,
                      expected=expected, detail=_detail(method, expected, checked))
    except VersionConflict:
        raise _stale(fid) from None
    except StoreError as exc:
        raise ApiError(409, "store_refused", f"{exc} (nothing was stored)") from None
    forget_counts()
    return _feature_response(c, fid, 200)


def _detail(method: str, expected: set[str] | None, checked: Checked | None = None) -> dict:
    """What the audit record of an API edit says besides the store's own report."""
    return edit_detail("ogcapi", method, current_role(), expected,
                       checked.warnings if checked else [])


# --- the shared write steps (routes here and geo_pcmt.sync) -----------------------------------

class Invalid(Exception):
    """A feature that failed validation; ``problems`` lists every problem found."""

    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(str(p) for p in problems[:5]) or "invalid feature")
        self.problems = problems


class AboveClearance(Exception):
    """The feature's confidentiality ``level`` is above the writer's clearance."""

    def __init__(self, level: str):
        super().__init__(f"confidentiality {level!r} is above the writer's clearance")
        self.level = level


class IdTaken(StoreError):
    """A create named an id that is stored already (whether the writer may see it or not)."""


@dataclass(frozen=True)
class Checked:
    """A feature validated as an uploaded row: the one-row frame to store, the codes of
    the warnings validation gave."""

    clean: pd.DataFrame
    warnings: list[str] = field(default_factory=list)


def check_feature(layer: Layer, feature: dict, fid: str, *, user: str,
                  role: str | None) -> Checked:
    """Validate a GeoJSON Feature as an uploaded row of ``layer`` would be.

    Raises
    ------
    Invalid
        With every problem (field, value, code) when the feature cannot be stored.
    AboveClearance
        When its confidentiality is above what ``role`` may give.
    """
    outcome = check_features(layer, [(fid, feature)], user=user, role=role)[0]
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


def check_features(layer: Layer, features: list[tuple[str, dict]], *, user: str,
                   role: str | None) -> list[Checked | Invalid | AboveClearance]:
    """:func:`check_feature` for several features at once (one validation of all rows, as
    an upload of them): for each, its :class:`Checked` or the exception it would raise."""
    frames, early = [], []
    for n, (fid, feature) in enumerate(features, start=1):
        frame, problems = feature_frame(layer, feature, fid)
        frames.append(frame)
        early.append([replace(p, row=n) for p in problems])
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    report = ingest.validate(frame, layer, source=f"api:{user}")
    whole = [p for p in report.problems if p.row is None]
    by_row: dict[int, list[Problem]] = {}
    for p in report.problems:
        if p.row is not None:
            by_row.setdefault(int(p.row), []).append(p)
    clean = report.clean.drop(columns=[n for n in SERVER_FIELDS if n in report.clean.columns])
    rows = {str(i): k for k, i in enumerate(clean["id"])} if len(clean) else {}
    out: list[Checked | Invalid | AboveClearance] = []
    for n, (fid, _) in enumerate(features, start=1):
        mine = by_row.get(n, [])
        errors = early[n - 1] + [p for p in whole + mine if p.severity == "error"]
        if errors or fid not in rows:
            out.append(Invalid(errors or whole + mine))
            continue
        one = clean.iloc[[rows[fid]]].reset_index(drop=True)
        level = one["confidentiality"].iloc[0] if "confidentiality" in one.columns else None
        level = level if isinstance(level, str) else layer.confidentiality_default
        out.append(Checked(one, [p.code for p in mine if p.severity == "warning"])
                   if access.can_set_confidentiality(role, level) else AboveClearance(level))
    return out


def store_feature(store: Store, layer: Layer, fid: str, checked: Checked, *, user: str,
                  expected: set[str] | None, detail: dict) -> None:
    """Write a checked feature with its audit record: a create when ``expected`` is None
    (:class:`IdTaken` if the id is stored), else a compare-and-set replace of a row that
    must still be at one of the ``expected`` versions (``VersionConflict`` if not)."""
    store_features(store, layer, [checked], user=user,
                   expected=None if expected is None else {fid: expected}, detail=detail)


def store_features(store: Store, layer: Layer, checked: list[Checked], *, user: str,
                   expected: dict[str, set[str]] | None, detail: dict) -> None:
    """Write checked features in one transaction with one audit record: creates when
    ``expected`` is None (:class:`IdTaken` if one id is stored), else a compare-and-set
    replace of rows that must each still be at one of their ``expected`` versions
    (``VersionConflict`` if one is not; then nothing is written)."""
    frame = pd.concat([c.clean for c in checked], ignore_index=True) if len(checked) > 1 \
        else checked[0].clean
    if expected is None:
        try:
            store.write(layer.name, frame, mode="append", user=user, detail=detail)
        except StoreError as exc:
            ids = frame["id"].astype(str).tolist()
            if store.count(layer.name, where={"id": ids}):  # seen by the writer or not
                raise IdTaken(f"a record with id {ids[0][:80]!r} exists already"
                              if len(ids) == 1 else "one of the ids exists already") from None
            raise StoreError(str(exc)) from None
        return
    store.write(layer.name, frame, mode="upsert", user=user, expect_version=expected,
                detail=detail)


def remove_feature(store: Store, layer: Layer, fid: str, *, user: str, expected: set[str],
                   detail: dict) -> None:
    """Delete a row still at one of the ``expected`` versions (``VersionConflict`` if not),
    with its audit record."""
    store.delete(layer.name, [fid], user=user, expect_version={fid: expected}, detail=detail)


def edit_detail(via: str, method: str, role: str | None, expected: set[str] | None,
                warnings: list[str] | None = None, **extra) -> dict:
    """What the audit record of an edit says besides the store's own report."""
    return {"via": via, "method": method, "role": role, "if_match": sorted(expected or ()),
            "warnings": list(warnings or []), **extra}


def _item_url(cid: str, fid: str) -> str:
    return f"{request.host_url.rstrip('/')}/api/collections/{cid}/items/{fid}"


def _feature_response(c: Collection, fid: str, status: int) -> Response:
    """The stored feature as the caller now sees it, with its new ``ETag``."""
    frame = read_one(c, Query(where={"id": fid}), current_role())
    feature = json.loads("".join(iter_geojson(frame)))["features"][0]
    feature["links"] = [{"href": _item_url(c.id, fid), "rel": "self",
                         "type": "application/geo+json"}]
    response = Response(json.dumps(feature, ensure_ascii=False), status=status,
                        mimetype="application/geo+json")
    response.set_etag(item_version(c, frame))
    return response
