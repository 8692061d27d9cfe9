"""A sync call: a batch of edits applied with a few reads and writes, idempotent by edit id.

For each layer in the batch the records named are read once (through
:func:`geo_pcmt.access.read`), every edit is merged in order against them in memory, the
records as they will be are validated together (:func:`geo_pcmt.web.ogcapi.edits.
check_features`, as an upload of those rows), and the result is written in
one compare-and-set transaction per kind (:func:`~geo_pcmt.web.ogcapi.edits.store_features`:
creates, then updates, each row still at the version read). If another writer moved a
record meanwhile, nothing of that layer was written, and its edits go one by one through
:func:`geo_pcmt.sync.apply.apply_edit`, which reads again. Deletes always go that way.

Idempotency: each edit's first result is kept in ``field_edits`` under its ``edit_id``; a
re-sent edit is answered ``duplicate`` with that result and never applied twice. The audit
record of every write lists the edits it carries. See docs/field.md.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import pandas as pd

from geo_pcmt import access
from geo_pcmt.layers import Layer, get_layer
from geo_pcmt.store import StoreError
from geo_pcmt.store.versions import VersionConflict, row_versions
from geo_pcmt.sync.apply import (RECORD, Writer, accuracy_at, apply_edit, conflict_row,
                                 fix_accuracies, fix_of, forbidden, level_of, refusal,
                                 write_conflicts)
from geo_pcmt.sync.edits import (Edit, EditRefused, Result, parse_batch, parse_edit,
                                 problem)
from geo_pcmt.sync.merge import GEOMETRY, Merge, three_way
from geo_pcmt.sync.photos import PhotoError, read_photo
from geo_pcmt.web.ogcapi.edits import (AboveClearance, Checked, IdTaken, Invalid,
                                       check_feature, check_features, edit_detail,
                                       store_features, stored_feature)

Outcome = tuple[Result, str]  # an edit's answer and the level of the record it touched


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
    todo: dict[str, Edit] = {}
    for e in edits:
        if isinstance(e, Edit) and e.edit_id not in first:
            todo.setdefault(e.edit_id, e)
    outcomes = _apply_all(w, list(todo.values()))
    _store_photos(w, todo, outcomes)
    _log(w, [(todo[k], *outcomes[k]) for k in todo])
    answers = []
    for e in edits:
        if isinstance(e, Result):
            answers.append(e)
        elif e.edit_id in first:
            answers.append(Result(**{**first[e.edit_id].__dict__, "status": "duplicate"}))
        elif todo[e.edit_id] is e:
            answers.append(outcomes[e.edit_id][0])
            todo[e.edit_id] = None  # a second copy in the same batch is a duplicate
        else:
            answers.append(Result(**{**outcomes[e.edit_id][0].__dict__,
                                     "status": "duplicate"}))
    return [a.as_dict() for a in answers]


def _apply_all(w: Writer, edits: list[Edit]) -> dict[str, Outcome]:
    """Every edit's outcome: layer by layer in one go, else one by one."""
    out: dict[str, Outcome] = {}
    by_layer: dict[str, list[Edit]] = {}
    for e in edits:
        denied = forbidden(w, e)
        if denied is not None:
            out[e.edit_id] = (denied, get_layer(e.layer).confidentiality_default)
        else:
            by_layer.setdefault(e.layer, []).append(e)
    for layer, group in by_layer.items():
        spec = get_layer(layer)
        done = None
        if not any(e.op == "delete" for e in group):
            try:
                done = _LayerBatch(w, spec, group).run()
            except (VersionConflict, IdTaken, StoreError):
                done = None  # someone else wrote meanwhile: nothing of ours was stored
        if done is None:
            done = {e.edit_id: apply_edit(w, e) for e in group}
        out.update(done)
    return out


@dataclass
class _Record:
    feature: dict | None          # as stored (or as it will be), None when there is none
    version: str | None           # the version read; None for new or changed in this batch
    read_version: str | None      # what the write expects (None: a create)
    level: str
    pending: Checked | dict | None = None  # the record to write (a dict: not yet checked)
    edits: list[str] = field(default_factory=list)

    def fresh_copy(self) -> _Record:
        return _Record(self.feature, self.version, self.read_version, self.level)


class _LayerBatch:
    """The edits of one layer, merged in memory, validated together, written in one go.

    Edits are merged in order without validation, then every record as it will be is
    validated in one call (as an upload of those rows). A record that fails has its edits
    replayed one by one with validation, so the edit at fault is rejected and the others
    still apply.
    """

    def __init__(self, w: Writer, spec: Layer, edits: list[Edit]):
        self.w, self.spec, self.edits = w, spec, edits
        self.records: dict[str, _Record] = {}
        self.conflicts: dict[str, dict] = {}
        self.results: dict[str, Outcome] = {}
        self.notes: dict[str, dict] = {}   # edit id -> {field: the rule that merged it}
        self.fixes: dict[str, list] = {}   # record id -> GPS fixes sent, with accuracies

    def run(self) -> dict[str, Outcome] | None:
        """The outcomes, or None when the batch cannot go in one go (hidden records)."""
        if not self._read():
            return None
        read = {fid: r.fresh_copy() for fid, r in self.records.items()}
        self._merge(self.edits, validate=False)
        failed = self._validate()
        if failed:
            for fid in failed:
                if fid in read:
                    self.records[fid] = read[fid].fresh_copy()
                else:
                    del self.records[fid]
            replay = [e for e in self.edits if e.id in failed]
            for e in replay:
                self.conflicts.pop(e.edit_id, None)
            self._merge(replay, validate=True)
        self._write()
        return self.results

    def _merge(self, edits: list[Edit], *, validate: bool) -> None:
        for e in edits:
            try:
                self.results[e.edit_id] = self._apply(e, validate)
            except (Invalid, AboveClearance) as exc:
                self.results[e.edit_id] = (refusal(self.w, e, exc),
                                           self.spec.confidentiality_default)

    def _validate(self) -> set[str]:
        """Check every record to write at once; the ids of those that fail."""
        todo = [(fid, r.pending) for fid, r in self.records.items()
                if isinstance(r.pending, dict)]
        if not todo:
            return set()
        checked = check_features(self.spec, todo, user=self.w.user, role=self.w.role)
        failed = set()
        for (fid, _), outcome in zip(todo, checked):
            if isinstance(outcome, Checked):
                self.records[fid].pending = outcome
            else:
                failed.add(fid)
        return failed

    def _read(self) -> bool:
        ids = list(dict.fromkeys(e.id for e in self.edits))
        frame = access.read(self.w.store, self.spec.name, role=self.w.role,
                            where={"id": ids})
        versions = row_versions(self.spec, frame) if len(frame) else []
        for i, version in enumerate(versions):
            feature = stored_feature(self.spec, frame.iloc[[i]])
            self.records[feature["id"]] = _Record(feature, version, version,
                                                  level_of(self.spec, feature["properties"]))
        self.fixes = fix_accuracies(self.w, self.spec.name,
                                    [e.id for e in self.edits if fix_of(e) is not None])
        missing = [i for i in ids if i not in self.records]
        # a record there but above the writer's level: the careful path answers it
        return not missing or not self.w.store.count(self.spec.name, where={"id": missing})

    def _apply(self, e: Edit, validate: bool) -> Outcome:
        rec = self.records.get(e.id)
        if rec is None:
            if e.op == "create":
                return self._create(e, validate)
            level = level_of(self.spec, e.changes)
            return self._conflict(e, level, {RECORD: ("exists", "deleted",
                                                      e.phone_values())}, None), level
        server = {**rec.feature["properties"], GEOMETRY: rec.feature["geometry"]}
        fresh = e.op == "update" and rec.version is not None and e.base_version == rec.version
        merge = Merge(take=e.phone_values()) if fresh else three_way(
            e.base if e.op == "update" else {}, server, e.phone_values(),
            accuracy_m=e.accuracy_m,
            server_accuracy_m=accuracy_at(self.fixes.get(e.id, []), server[GEOMETRY]))
        if fix_of(e) is not None:
            self.fixes.setdefault(e.id, []).append(fix_of(e))
        if merge.notes:
            self.notes[e.edit_id] = merge.notes
        level = level_of(self.spec, rec.feature["properties"], e.changes)
        if merge.take:
            props = {**rec.feature["properties"],
                     **{k: v for k, v in merge.take.items() if k != GEOMETRY}}
            self._stage(e, rec, props, merge.take.get(GEOMETRY, rec.feature["geometry"]),
                        validate)
        rec.edits.append(e.edit_id)
        status = "applied" if fresh else "conflict" if merge.conflicts else "merged"
        if merge.conflicts:
            result = self._conflict(e, level, merge.conflicts, e.id)
        else:
            result = Result(e.edit_id, status)
        result.notes = merge.notes
        return result, level

    def _create(self, e: Edit, validate: bool) -> Outcome:
        rec = _Record(None, None, None, level_of(self.spec, e.changes))
        if fix_of(e) is not None:
            self.fixes.setdefault(e.id, []).append(fix_of(e))
        self._stage(e, rec, dict(e.changes), e.geometry, validate)
        self.records[e.id] = rec
        rec.edits.append(e.edit_id)
        return Result(e.edit_id, "applied"), rec.level

    def _stage(self, e: Edit, rec: _Record, props: dict, geometry, validate: bool) -> None:
        """The record as it will be; checked now with ``validate`` (``Invalid`` leaves it as
        it was), else with the others in :meth:`_validate`."""
        target = {"type": "Feature", "id": e.id, "properties": props, "geometry": geometry}
        if validate:
            checked = check_feature(self.spec, target, e.id, user=self.w.user,
                                    role=self.w.role)
            rec.pending, rec.feature = checked, stored_feature(self.spec, checked.clean)
        else:
            rec.pending, rec.feature = target, target
        rec.version = None

    def _conflict(self, e: Edit, level: str, fields: dict, record_id: str | None) -> Result:
        cid, row = conflict_row(self.w, e, level, fields)
        self.conflicts[e.edit_id] = row
        if record_id is not None:
            self.records[record_id].edits.append(e.edit_id)
        return Result(e.edit_id, "conflict", conflict_id=cid)

    def _write(self) -> None:
        """Creates, then updates (compare-and-set), then the conflicts; then the versions."""
        creates = {i: r for i, r in self.records.items()
                   if r.pending is not None and r.read_version is None}
        updates = {i: r for i, r in self.records.items()
                   if r.pending is not None and r.read_version is not None}
        for rows, expected in ((creates, None),
                               (updates, {i: {r.read_version} for i, r in updates.items()})):
            if rows:
                store_features(self.w.store, self.spec, [r.pending for r in rows.values()],
                               user=self.w.user, expected=expected,
                               detail=self._detail(rows))
        write_conflicts(self.w, list(self.conflicts.values()))
        self._versions()

    def _detail(self, rows: dict[str, _Record]) -> dict:
        edits = [[eid, fid, self.results[eid][0].status] for fid, r in rows.items()
                 for eid in r.edits if eid in self.results]
        warnings = sorted({c for r in rows.values() for c in r.pending.warnings})
        rules = {eid: self.notes[eid] for eid, _, _ in edits if eid in self.notes}
        return edit_detail("field_sync", "sync", self.w.role, None, warnings,
                           device=self.w.device, edits=edits, **({"rules": rules} if rules
                                                                 else {}))

    def _versions(self) -> None:
        """Every answer carries its record's version after the batch."""
        touched = [i for i, r in self.records.items() if r.edits]
        if not touched:
            return
        frame = access.read(self.w.store, self.spec.name, role=self.w.role,
                            where={"id": touched})
        now = dict(zip(frame["id"].astype(str), row_versions(self.spec, frame))) \
            if len(frame) else {}
        for fid in touched:
            for eid in self.records[fid].edits:
                result = self.results[eid][0]
                if result.status != "rejected":
                    result.version = now.get(fid)


# --- the batch's own rows ---------------------------------------------------------------------

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


def _store_photos(w: Writer, edits: dict[str, Edit], outcomes: dict[str, Outcome]) -> None:
    """Keep the photos of edits that were not rejected (one write); a photo that cannot be
    read is a warning in its edit's answer."""
    rows = []
    for eid, e in edits.items():
        result, level = outcomes[eid]
        if e.photo is None or result.status == "rejected":
            continue
        try:
            photo = read_photo(e.photo)
        except PhotoError as exc:
            result.problems.append(problem("photo", "photo_rejected", str(exc), "warning"))
            continue
        rows.append({"id": f"P-{eid}", "layer": e.layer, "record_id": e.id, "edit_id": eid,
                     "device": w.device, "user": w.user, "recorded_at": e.recorded_at,
                     "confidentiality": level, "width": photo.width,
                     "height": photo.height, "bytes": len(photo.jpeg),
                     "jpeg_base64": photo.base64})
    if rows:
        w.store.write("field_photos", pd.DataFrame(rows), mode="upsert", user=w.user,
                      detail={"via": "field_sync", "edit_ids": [r["edit_id"] for r in rows]})


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
        "problems": json.dumps(r.problems, ensure_ascii=False, default=str),
        "accuracy_m": e.accuracy_m,
        "position": json.dumps(fix_of(e)[0]) if fix_of(e) is not None else None}
        for e, r, level in logged])
    detail = {"via": "field_sync", "device": w.device,
              "statuses": rows["status"].value_counts().to_dict()}
    rules = {e.edit_id: r.notes for e, r, _ in logged if r.notes}
    if rules:
        detail["rules"] = rules  # why a field merged although both sides changed it
    try:
        w.store.write("field_edits", rows, mode="append", user=w.user, detail=detail)
    except StoreError:
        for i in range(len(rows)):
            try:
                w.store.write("field_edits", rows.iloc[[i]], mode="append", user=w.user,
                              detail=detail)
            except StoreError:
                pass  # logged by a concurrent sync of the same edit
