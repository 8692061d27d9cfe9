"""Applying one field edit to the store, through the API's own write steps.

Every edit goes through :func:`geo_pcmt.web.ogcapi.edits.check_feature` (validation as
an upload, clearance) and :func:`~geo_pcmt.web.ogcapi.edits.store_feature` (compare-and-set
on the row version, audit record, data version bump): the same code as ``POST``/``PATCH``
on ``/api/collections/…/items``. Records are read through :func:`geo_pcmt.access.read`.

:func:`apply_edit` reads, merges and writes one edit (compare-and-set, read again when
another writer came between); :mod:`.batch` applies a whole batch with a few writes and
falls back to this path. Conflicts are rows of ``field_conflicts`` (one per edit, every
field in it), at the highest confidentiality of the record and the phone's values. See
docs/field.md.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import pandas as pd

from geo_pcmt import access
from geo_pcmt.ingest.problem_text import problem_json, problem_text
from geo_pcmt.layers import Layer, get_layer
from geo_pcmt.store import StoreError
from geo_pcmt.store.versions import VersionConflict, row_versions
from geo_pcmt.sync.edits import Edit, Result, problem
from geo_pcmt.sync.merge import GEOMETRY, Merge, same, three_way
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


def apply_edit(w: Writer, e: Edit) -> tuple[Result, str]:
    """Apply one edit: its result and the confidentiality of the record it touched."""
    spec = get_layer(e.layer)
    denied = forbidden(w, e)
    if denied is not None:
        return denied, spec.confidentiality_default
    try:
        for _ in range(_RETRIES):
            try:
                return _apply_once(w, e, spec)
            except VersionConflict:
                continue  # moved between our read and our write: read it again
    except (Invalid, AboveClearance) as exc:
        return refusal(w, e, exc), spec.confidentiality_default
    return Result(e.edit_id, "rejected", problems=[problem(
        None, "busy", "the record kept changing; send the edit again")]), \
        spec.confidentiality_default


def forbidden(w: Writer, e: Edit) -> Result | None:
    """The ``rejected`` answer when the writer's role may not make this edit, else None."""
    if e.op == "delete" and not access.can_delete(w.role):
        return Result(e.edit_id, "rejected", problems=[problem(
            None, "forbidden", "deleting records needs the admin role")])
    if not access.can_edit_layer(w.role, e.layer):
        return Result(e.edit_id, "rejected", problems=[problem(
            None, "forbidden", f"changing {e.layer} needs the analyst role")])
    return None


def refusal(w: Writer, e: Edit, exc: Exception) -> Result:
    """The ``rejected`` answer of an edit whose result failed validation or clearance."""
    if isinstance(exc, AboveClearance):
        return Result(e.edit_id, "rejected", problems=[problem(
            "confidentiality", "above_clearance",
            f"confidentiality {exc.level!r} is above your clearance")])
    spec = get_layer(e.layer)
    return Result(e.edit_id, "rejected", problems=[
        {**problem_json(p, spec, w.lang), "reason_vi": problem_text(p, spec, "vi"),
         "reason_en": problem_text(p, spec, "en")} for p in exc.problems[:50]])


def _apply_once(w: Writer, e: Edit, spec: Layer) -> tuple[Result, str]:
    current = read_record(w, spec, e.id)
    if current is None:
        if w.store.count(spec.name, where={"id": e.id}):  # there, above the writer's level
            return Result(e.edit_id, "rejected", problems=[problem(
                "id", "not_found", "no such record for you")]), spec.confidentiality_default
        if e.op == "create":
            return _create(w, e, spec), level_of(spec, e.changes)
        if e.op == "delete":  # gone already: what the phone wanted
            return Result(e.edit_id, "merged"), spec.confidentiality_default
        return _gone(w, e, spec)
    version = row_versions(spec, current)[0]
    feature = stored_feature(spec, current)
    level = level_of(spec, feature["properties"], e.changes)
    if e.op == "delete":
        return _delete(w, e, spec, version, feature, level), level
    server = {**feature["properties"], GEOMETRY: feature["geometry"]}
    fresh = e.op == "update" and e.base_version == version
    fixes = fix_accuracies(w, spec.name, [e.id]) if e.geometry and not fresh else {}
    merge = Merge(take=e.phone_values()) if fresh else three_way(
        e.base if e.op == "update" else {}, server, e.phone_values(),
        accuracy_m=e.accuracy_m,
        server_accuracy_m=accuracy_at(fixes.get(e.id, []), feature["geometry"]))
    status = "applied" if fresh else "conflict" if merge.conflicts else "merged"
    new_version = version
    if merge.take:
        new_version = _write(w, e, spec, feature, merge, version, status)
    conflict_id = _conflict(w, e, level, {k: c for k, c in merge.conflicts.items()}) \
        if merge.conflicts else None
    return Result(e.edit_id, status, new_version, conflict_id=conflict_id,
                  notes=merge.notes), level


def _write(w: Writer, e: Edit, spec: Layer, feature: dict, merge: Merge, version: str,
           status: str) -> str:
    """Write the merged fields onto the stored feature (compare-and-set on ``version``)."""
    return write_values(w, spec, e.id, feature, merge.take, version,
                        sync_detail(w, e, None, {version}, status, merge))


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
                      detail=sync_detail(w, e, checked, None, "applied"))
    except IdTaken:
        raise VersionConflict(spec.name, e.id, None) from None  # made meanwhile: merge it
    return Result(e.edit_id, "applied", _version_of(w, spec, e.id))


def _delete(w: Writer, e: Edit, spec: Layer, version: str, feature: dict,
            level: str) -> Result:
    if e.base_version == version:
        remove_feature(w.store, spec, e.id, user=w.user, expected={version},
                       detail=sync_detail(w, e, None, {version}, "applied"))
        return Result(e.edit_id, "applied")
    server = {**feature["properties"], GEOMETRY: feature["geometry"]}
    cid = _conflict(w, e, level, {RECORD: ("exists", server, "delete")})
    return Result(e.edit_id, "conflict", version, conflict_id=cid)


def _gone(w: Writer, e: Edit, spec: Layer) -> tuple[Result, str]:
    """An update of a record deleted on the server: a conflict (nothing is dropped)."""
    level = level_of(spec, e.changes)
    cid = _conflict(w, e, level, {RECORD: ("exists", "deleted", e.phone_values())})
    return Result(e.edit_id, "conflict", None, conflict_id=cid), level


def sync_detail(w: Writer, e: Edit, checked: Checked | None, expected, status: str,
            merge: Merge | None = None) -> dict:
    return edit_detail("field_sync", e.op, w.role, expected,
                       checked.warnings if checked else [], edit_id=e.edit_id,
                       device=w.device, recorded_at=e.recorded_at,
                       accuracy_m=e.accuracy_m,
                       status=status, base_version=e.base_version,
                       merged=sorted(merge.take) if merge else None,
                       conflicts=sorted(merge.conflicts) if merge else None,
                       rules=merge.notes if merge and merge.notes else None)


# --- the accuracy of a stored point --------------------------------------------------------------

def fix_accuracies(w: Writer, layer: str, ids: list[str]) -> dict[str, list[tuple[dict, float]]]:
    """Every GPS fix field edits sent for the records ``ids`` of ``layer``, with its
    accuracy: ``{record id: [(GeoJSON point, accuracy_m), …]}`` (from ``field_edits``)."""
    if not ids:
        return {}
    frame = access.read(w.store, "field_edits", role=w.role,
                        where={"layer": layer, "record_id": sorted(set(ids))},
                        columns=["record_id", "accuracy_m", "position"])
    out: dict[str, list[tuple[dict, float]]] = {}
    for r in frame.itertuples():
        if isinstance(r.position, str) and r.accuracy_m == r.accuracy_m and r.accuracy_m > 0:
            out.setdefault(r.record_id, []).append((json.loads(r.position), float(r.accuracy_m)))
    return out


def accuracy_at(fixes: list[tuple[dict, float]], geometry) -> float | None:
    """The accuracy of the field edit's fix that is the stored ``geometry`` (the best, if
    several sent that very point); None when no field edit put it there (the phone's
    accuracy then stands for both, see :func:`geo_pcmt.sync.merge.fixes_agree`)."""
    matches = [acc for position, acc in fixes if same(position, geometry)]
    return min(matches) if matches else None


def fix_of(e: Edit) -> tuple[dict, float] | None:
    """The GPS fix an edit sends (a point with an accuracy), else None."""
    if isinstance(e.geometry, dict) and e.geometry.get("type") == "Point" and e.accuracy_m:
        return e.geometry, float(e.accuracy_m)
    return None


# --- reading -----------------------------------------------------------------------------------

def read_record(w: Writer, spec: Layer, fid: str) -> pd.DataFrame | None:
    """The record as the writer may see it, or None."""
    frame = access.read(w.store, spec.name, role=w.role, where={"id": fid}, limit=1)
    return frame if len(frame) else None


def _version_of(w: Writer, spec: Layer, fid: str) -> str | None:
    frame = read_record(w, spec, fid)
    return None if frame is None else row_versions(spec, frame)[0]


def level_of(spec: Layer, *values: dict) -> str:
    """The highest confidentiality of the record and what the phone sets."""
    levels = [v.get("confidentiality") or spec.confidentiality_default for v in values]
    return access.marking(levels, at_least=spec.confidentiality_default)[1]


# --- writing the sync's own tables -------------------------------------------------------------

def _conflict(w: Writer, e: Edit, level: str, fields: dict[str, tuple]) -> str:
    """Store the conflict of ``e`` now and return its id."""
    cid, row = conflict_row(w, e, level, fields)
    write_conflicts(w, [row])
    return cid


def conflict_row(w: Writer, e: Edit, level: str, fields: dict[str, tuple]) -> tuple[str, dict]:
    """The id and ``field_conflicts`` row of the conflict of ``e`` over ``fields``
    (``{field: (base, server, phone)}``)."""
    cid = f"FC-{e.edit_id}"
    dump = {i: json.dumps({k: v[i] for k, v in fields.items()}, ensure_ascii=False,
                          default=str) for i in range(3)}
    return cid, {
        "id": cid, "layer": e.layer, "record_id": e.id, "edit_id": e.edit_id,
        "device": w.device, "user": w.user, "recorded_at": e.recorded_at,
        "confidentiality": level, "fields": ",".join(fields), "base_value": dump[0],
        "server_value": dump[1], "phone_value": dump[2], "status": "open"}


def write_conflicts(w: Writer, rows: list[dict]) -> None:
    """Store conflict rows in one write (one by one if some are stored already: a
    concurrent sync of the same edit)."""
    if not rows:
        return
    detail = {"via": "field_sync", "device": w.device,
              "edit_ids": [r["edit_id"] for r in rows]}
    try:
        w.store.write("field_conflicts", pd.DataFrame(rows), mode="append", user=w.user,
                      detail=detail)
    except StoreError:
        for row in rows:
            if not w.store.count("field_conflicts", where={"id": row["id"]}):
                w.store.write("field_conflicts", pd.DataFrame([row]), mode="append",
                              user=w.user, detail=detail)
