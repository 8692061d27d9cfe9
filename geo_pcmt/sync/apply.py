"""Applying a batch of field edits to the store, through the API's own write steps.

Every edit goes through :func:`geo_pcmt.web.ogcapi.edits.check_feature` (validation as
an upload, clearance) and :func:`~geo_pcmt.web.ogcapi.edits.store_feature` (compare-and-set
on the row version, audit record, data version bump): the same code as ``POST``/``PATCH``
on ``/api/collections/…/items``. Records are read through :func:`geo_pcmt.access.read`.

Idempotency: each edit's first result is kept in the ``field_edits`` table under its
``edit_id``; a re-sent edit is answered ``duplicate`` from there and never applied twice.
Conflicts are rows of ``field_conflicts`` (one per edit, every field in it), at the
highest confidentiality of the record and the phone's values. See docs/field.md.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import pandas as pd

from geo_pcmt import access
from geo_pcmt.ingest.problem_text import problem_json
from geo_pcmt.layers import Layer, get_layer
from geo_pcmt.store import StoreError
from geo_pcmt.store.frames import now_iso
from geo_pcmt.store.versions import VersionConflict, row_versions
from geo_pcmt.sync.edits import (Edit, EditRefused, Result, parse_batch, parse_edit,
                                 problem)
from geo_pcmt.sync.merge import GEOMETRY, Merge, three_way
from geo_pcmt.sync.photos import PhotoError, read_photo
from geo_pcmt.web.ogcapi.edits import (AboveClearance, Checked, IdTaken, Invalid,
                                       check_feature, edit_detail, remove_feature,
                                       store_feature, stored_feature)

#: The pseudo-field of a conflict about the record itself (deleted on one side).
RECORD = "_record"
_RETRIES = 5  # reads and writes of one edit when other writers keep moving the record


@dataclass(frozen=True)
class Writer:
    """Who syncs: the store, the signed-in user and role, the phone, the language."""

    store: object
    user: str
    role: str
    device: str = ""
    lang: str = "vi"


def apply_batch(store, body: dict, *, user: str, role: str, lang: str = "vi") -> list[dict]:
    """Apply a sync body ``{"device", "edits"}``; the answer of every edit, in order.

    Raises
    ------
    geo_pcmt.sync.edits.BatchError
        When the body is not a batch (nothing is applied).
    """
    device, raws = parse_batch(body)
    w = Writer(store, user, role, device, lang)
    edits: list[Edit | Result] = []
    for raw in raws:
        try:
            edits.append(parse_edit(raw))
        except EditRefused as exc:
            eid = raw.get("edit_id") if isinstance(raw, dict) else None
            edits.append(Result(str(eid)[:100] if eid else "", "rejected",
                                problems=[problem(exc.field, exc.code, exc.reason)]))
    first = _first_results(w, [e.edit_id for e in edits if isinstance(e, Edit)])
    answers, logged = [], []
    for e in edits:
        if isinstance(e, Result):
            answers.append(e)
        elif e.edit_id in first:
            answers.append(Result(**{**first[e.edit_id].__dict__, "status": "duplicate"}))
        else:
            result, level = apply_edit(w, e)
            first[e.edit_id] = result
            answers.append(result)
            logged.append((e, result, level))
    _log(w, logged)
    return [a.as_dict() for a in answers]


def apply_edit(w: Writer, e: Edit) -> tuple[Result, str]:
    """Apply one edit: its result and the confidentiality of the record it touched."""
    spec = get_layer(e.layer)
    if not access.can_edit_layer(w.role, spec) or (e.op == "delete"
                                                   and not access.can_delete(w.role)):
        what = "deleting records needs the admin role" if e.op == "delete" else \
            f"changing {e.layer} needs the analyst role"
        return Result(e.edit_id, "rejected", problems=[problem(None, "forbidden", what)]), \
            spec.confidentiality_default
    try:
        for _ in range(_RETRIES):
            try:
                result, level = _apply_once(w, e, spec)
            except VersionConflict:
                continue  # moved between our read and our write: read it again
            return _with_photo(w, e, result, level), level
    except Invalid as exc:
        return Result(e.edit_id, "rejected", problems=[
            problem_json(p, spec, w.lang) for p in exc.problems[:50]]), \
            spec.confidentiality_default
    except AboveClearance as exc:
        return Result(e.edit_id, "rejected", problems=[problem(
            "confidentiality", "above_clearance", f"confidentiality {exc.level!r} is above "
            "your clearance")]), spec.confidentiality_default
    return Result(e.edit_id, "rejected", problems=[problem(
        None, "busy", "the record kept changing; send the edit again")]), \
        spec.confidentiality_default


def _apply_once(w: Writer, e: Edit, spec: Layer) -> tuple[Result, str]:
    current = read_record(w, spec, e.id)
    if current is None:
        if w.store.count(spec.name, where={"id": e.id}):  # there, above the writer's level
            return Result(e.edit_id, "rejected", problems=[problem(
                "id", "not_found", "no such record for you")]), spec.confidentiality_default
        if e.op == "create":
            return _create(w, e, spec), _level(spec, e.changes)
        if e.op == "delete":  # gone already: what the phone wanted
            return Result(e.edit_id, "merged"), spec.confidentiality_default
        return _gone(w, e, spec)
    version = row_versions(spec, current)[0]
    feature = stored_feature(spec, current)
    level = _level(spec, feature["properties"], e.changes)
    if e.op == "delete":
        return _delete(w, e, spec, version, feature, level), level
    server = {**feature["properties"], GEOMETRY: feature["geometry"]}
    fresh = e.op == "update" and e.base_version == version
    merge = Merge(take=e.phone_values()) if fresh else three_way(
        e.base if e.op == "update" else {}, server, e.phone_values())
    status = "applied" if fresh else "conflict" if merge.conflicts else "merged"
    new_version = version
    if merge.take:
        new_version = _write(w, e, spec, feature, merge, version, status)
    conflict_id = _conflict(w, e, level, {k: c for k, c in merge.conflicts.items()}) \
        if merge.conflicts else None
    return Result(e.edit_id, status, new_version, conflict_id=conflict_id), level


def _write(w: Writer, e: Edit, spec: Layer, feature: dict, merge: Merge, version: str,
           status: str) -> str:
    """Write the merged fields onto the stored feature (compare-and-set on ``version``)."""
    return write_values(w, spec, e.id, feature, merge.take, version,
                        _detail(w, e, None, {version}, status, merge))


def write_values(w: Writer, spec: Layer, fid: str, feature: dict, values: dict,
                 version: str, detail: dict) -> str:
    """Write ``values`` (``geometry`` included) onto the stored ``feature`` if the row is
    still at ``version`` (``VersionConflict`` if not), validated as an upload and audited
    with ``detail``; the row's new version."""
    props = {**feature["properties"], **{k: v for k, v in values.items() if k != GEOMETRY}}
    target = {"type": "Feature", "id": fid, "properties": props,
              "geometry": values.get(GEOMETRY, feature["geometry"])}
    checked = check_feature(spec, target, fid, user=w.user, role=w.role)
    store_feature(w.store, spec, fid, checked, user=w.user, expected={version},
                  detail={**detail, "warnings": checked.warnings})
    return _version_of(w, spec, fid)


def _create(w: Writer, e: Edit, spec: Layer) -> Result:
    feature = {"type": "Feature", "id": e.id, "properties": dict(e.changes),
               "geometry": e.geometry}
    checked = check_feature(spec, feature, e.id, user=w.user, role=w.role)
    try:
        store_feature(w.store, spec, e.id, checked, user=w.user, expected=None,
                      detail=_detail(w, e, checked, None, "applied"))
    except IdTaken:
        raise VersionConflict(spec.name, e.id, None) from None  # made meanwhile: merge it
    return Result(e.edit_id, "applied", _version_of(w, spec, e.id))


def _delete(w: Writer, e: Edit, spec: Layer, version: str, feature: dict,
            level: str) -> Result:
    if e.base_version == version:
        remove_feature(w.store, spec, e.id, user=w.user, expected={version},
                       detail=_detail(w, e, None, {version}, "applied"))
        return Result(e.edit_id, "applied")
    server = {**feature["properties"], GEOMETRY: feature["geometry"]}
    cid = _conflict(w, e, level, {RECORD: ("exists", server, "delete")})
    return Result(e.edit_id, "conflict", version, conflict_id=cid)


def _gone(w: Writer, e: Edit, spec: Layer) -> tuple[Result, str]:
    """An update of a record deleted on the server: a conflict (nothing is dropped)."""
    level = _level(spec, e.changes)
    cid = _conflict(w, e, level, {RECORD: ("exists", "deleted", e.phone_values())})
    return Result(e.edit_id, "conflict", None, conflict_id=cid), level


def _detail(w: Writer, e: Edit, checked: Checked | None, expected, status: str,
            merge: Merge | None = None) -> dict:
    return edit_detail("field_sync", e.op, w.role, expected,
                       checked.warnings if checked else [], edit_id=e.edit_id,
                       device=w.device, recorded_at=e.recorded_at, accuracy_m=e.accuracy_m,
                       status=status, base_version=e.base_version,
                       merged=sorted(merge.take) if merge else None,
                       conflicts=sorted(merge.conflicts) if merge else None)


# --- reading -----------------------------------------------------------------------------------

def read_record(w: Writer, spec: Layer, fid: str) -> pd.DataFrame | None:
    """The record as the writer may see it, or None."""
    frame = access.read(w.store, spec.name, role=w.role, where={"id": fid}, limit=1)
    return frame if len(frame) else None


def _version_of(w: Writer, spec: Layer, fid: str) -> str | None:
    frame = read_record(w, spec, fid)
    return None if frame is None else row_versions(spec, frame)[0]


def _level(spec: Layer, *values: dict) -> str:
    """The highest confidentiality of the record and what the phone sets."""
    levels = [v.get("confidentiality") or spec.confidentiality_default for v in values]
    return access.marking(levels, at_least=spec.confidentiality_default)[1]


def _first_results(w: Writer, edit_ids: list[str]) -> dict[str, Result]:
    """The stored first result of every edit id already synced."""
    if not edit_ids:
        return {}
    rows = access.read(w.store, "field_edits", role=w.role, where={"id": list(set(edit_ids))},
                       columns=["id", "status", "version", "conflict_id", "problems"])
    return {r.id: Result(r.id, r.status, _none(r.version),
                         json.loads(r.problems) if isinstance(r.problems, str) else [],
                         _none(r.conflict_id)) for r in rows.itertuples()}


def _none(value):
    return None if value is None or (isinstance(value, float) and value != value) else value


# --- writing the sync's own tables -------------------------------------------------------------

def _conflict(w: Writer, e: Edit, level: str, fields: dict[str, tuple]) -> str:
    """Store the conflict of ``e`` (one row, every field) and return its id."""
    cid = f"FC-{e.edit_id}"
    dump = {i: json.dumps({k: v[i] for k, v in fields.items()}, ensure_ascii=False,
                          default=str) for i in range(3)}
    row = pd.DataFrame([{
        "id": cid, "layer": e.layer, "record_id": e.id, "edit_id": e.edit_id,
        "device": w.device, "user": w.user, "recorded_at": e.recorded_at,
        "confidentiality": level, "fields": ",".join(fields), "base_value": dump[0],
        "server_value": dump[1], "phone_value": dump[2], "status": "open"}])
    try:
        w.store.write("field_conflicts", row, mode="append", user=w.user,
                      detail={"via": "field_sync", "edit_id": e.edit_id, "device": w.device})
    except StoreError:
        if not w.store.count("field_conflicts", where={"id": cid}):
            raise
    return cid


def _with_photo(w: Writer, e: Edit, result: Result, level: str) -> Result:
    """Store the edit's photo with the record (a photo that cannot be read is a warning)."""
    if e.photo is None or result.status == "rejected":
        return result
    try:
        photo = read_photo(e.photo)
    except PhotoError as exc:
        result.problems.append(problem("photo", "photo_rejected", str(exc), "warning"))
        return result
    row = pd.DataFrame([{
        "id": f"P-{e.edit_id}", "layer": e.layer, "record_id": e.id, "edit_id": e.edit_id,
        "device": w.device, "user": w.user, "recorded_at": e.recorded_at,
        "confidentiality": level, "width": photo.width, "height": photo.height,
        "bytes": len(photo.jpeg), "jpeg_base64": photo.base64}])
    w.store.write("field_photos", row, mode="upsert", user=w.user,
                  detail={"via": "field_sync", "edit_id": e.edit_id})
    return result


def _log(w: Writer, logged: list[tuple[Edit, Result, str]]) -> None:
    """Keep the first result of every edit applied now (one write; its audit record lists
    every edit id). An edit another worker logged meanwhile keeps that first result."""
    if not logged:
        return
    rows = pd.DataFrame([{
        "id": e.edit_id, "layer": e.layer, "record_id": e.id, "edit_id": e.edit_id,
        "device": w.device, "user": w.user, "recorded_at": e.recorded_at,
        "confidentiality": level, "op": e.op, "status": r.status, "version": r.version,
        "conflict_id": r.conflict_id,
        "problems": json.dumps(r.problems, ensure_ascii=False, default=str)}
        for e, r, level in logged])
    detail = {"via": "field_sync", "device": w.device,
              "statuses": rows["status"].value_counts().to_dict()}
    try:
        w.store.write("field_edits", rows, mode="append", user=w.user, detail=detail)
    except StoreError:
        for i in range(len(rows)):
            try:
                w.store.write("field_edits", rows.iloc[[i]], mode="append", user=w.user,
                              detail=detail)
            except StoreError:
                pass  # logged by a concurrent sync of the same edit
