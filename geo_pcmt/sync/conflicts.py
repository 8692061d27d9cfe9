"""Conflicts left by field sync: listing them, and resolving one by choosing values.

A conflict (a row of ``field_conflicts``) holds, for every field two people changed to
different values, the value at the phone's base, the server's and the phone's (JSON).
Resolving it writes the chosen values through the same steps as every edit
(:func:`geo_pcmt.sync.apply.write_values`: validation, compare-and-set, audit) and marks
the row resolved (who, when, what). The pseudo-field ``_record`` is a conflict about the
record itself: deleted on the server while the phone changed it (the phone's choice
creates it again from the phone's values), or deleted on the phone while the server
changed it (the phone's choice deletes it: admins only).
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import pandas as pd

from geo_pcmt import access
from geo_pcmt.layers import get_layer
from geo_pcmt.store.frames import now_iso
from geo_pcmt.store.versions import VersionConflict, row_versions
from geo_pcmt.sync.apply import RECORD, Writer, read_record, write_values
from geo_pcmt.sync.merge import GEOMETRY
from geo_pcmt.web.ogcapi.edits import (check_feature, edit_detail, remove_feature,
                                       store_feature, stored_feature)

CHOICES = ("base", "server", "phone", "typed")
_SIDES = {"base": "base_value", "server": "server_value", "phone": "phone_value"}


class ResolveError(ValueError):
    """The conflict cannot be resolved as asked (gone, resolved already, bad choice)."""


@dataclass(frozen=True)
class Conflict:
    """One stored conflict with its values decoded."""

    id: str
    layer: str
    record_id: str
    user: str
    device: str
    recorded_at: str | None
    created_at: str
    confidentiality: str
    status: str
    fields: list[str]
    base: dict
    server: dict
    phone: dict

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def open_conflicts(store, role: str, *, limit: int = 500) -> list[Conflict]:
    """The open conflicts ``role`` may see, oldest first (at most ``limit``)."""
    frame = access.read(store, "field_conflicts", role=role, where={"status": "open"})
    frame = frame.sort_values("created_at").head(limit)
    return [_conflict(r) for r in frame.to_dict("records")]


def get_conflict(store, role: str, cid: str) -> Conflict | None:
    frame = access.read(store, "field_conflicts", role=role, where={"id": cid}, limit=1)
    return _conflict(frame.to_dict("records")[0]) if len(frame) else None


def _conflict(r: dict) -> Conflict:
    def load(text):
        return json.loads(text) if isinstance(text, str) else {}
    return Conflict(r["id"], r["layer"], r["record_id"], r["user"], r.get("device") or "",
                    r.get("recorded_at"), r.get("created_at"), r.get("confidentiality"),
                    r["status"], str(r["fields"]).split(","), load(r["base_value"]),
                    load(r["server_value"]), load(r["phone_value"]))


def chosen_values(c: Conflict, choices: dict[str, str], typed: dict[str, str]) -> dict:
    """``{field: value}`` from a choice per field (base, server, phone or typed)."""
    out = {}
    for f in c.fields:
        choice = choices.get(f)
        if choice not in CHOICES:
            raise ResolveError(f"choose a value for {f!r} (chọn giá trị cho trường {f})")
        if choice == "typed":
            if f in (GEOMETRY, RECORD):
                raise ResolveError(f"{f!r} cannot be typed; choose one of the values")
            out[f] = (typed.get(f) or "").strip() or None
        else:
            out[f] = getattr(c, choice).get(f)
    return out


def resolve(store, cid: str, choices: dict[str, str], typed: dict[str, str], *, user: str,
            role: str) -> str | None:
    """Resolve conflict ``cid``: write the chosen values, mark it resolved; the record's
    new version (None when it no longer exists).

    Raises
    ------
    ResolveError
        Not an open conflict the role may see, or a choice missing.
    geo_pcmt.web.ogcapi.edits.Invalid
        The chosen values fail validation (nothing written, the conflict stays open).
    """
    c = get_conflict(store, role, cid)
    if c is None or c.status != "open":
        raise ResolveError(f"no open conflict {cid[:100]!r} (xung đột không còn mở)")
    values = chosen_values(c, choices, typed)
    w = Writer(store, user, role, c.device)
    detail = edit_detail("field_conflicts", "resolve", role, None, conflict_id=cid,
                         choices={f: choices.get(f) for f in c.fields})
    for _ in range(5):
        try:
            version = (_resolve_record(w, c, choices[RECORD], detail) if RECORD in c.fields
                       else _resolve_fields(w, c, values, detail))
            break
        except VersionConflict:
            continue
    else:
        raise ResolveError("the record kept changing; try again (bản ghi đang bị sửa)")
    row = access.read(store, "field_conflicts", role=role, where={"id": cid}, limit=1)
    done = pd.DataFrame(row.assign(status="resolved", resolved_by=user, resolved_at=now_iso(),
                                   resolution=json.dumps(values, ensure_ascii=False)))
    store.write("field_conflicts", done, mode="upsert", user=user, detail=detail)
    return version


def _resolve_fields(w: Writer, c: Conflict, values: dict, detail: dict) -> str | None:
    spec = get_layer(c.layer)
    current = read_record(w, spec, c.record_id)
    if current is None:
        raise ResolveError("the record was deleted meanwhile (bản ghi đã bị xóa)")
    version = row_versions(spec, current)[0]
    return write_values(w, spec, c.record_id, stored_feature(spec, current), values, version,
                        detail)


def _resolve_record(w: Writer, c: Conflict, choice: str, detail: dict) -> str | None:
    """``_record`` conflicts: the server's side keeps things as they are; the phone's side
    re-creates the record it changed, or deletes the record it deleted."""
    spec = get_layer(c.layer)
    current = read_record(w, spec, c.record_id)
    if choice != "phone":
        return None if current is None else row_versions(spec, current)[0]
    wanted = c.phone.get(RECORD)
    if wanted == "delete":
        if current is None:
            return None
        if not access.can_delete(w.role):
            raise ResolveError("deleting records needs the admin role (cần quyền quản trị)")
        remove_feature(w.store, spec, c.record_id, user=w.user,
                       expected={row_versions(spec, current)[0]}, detail=detail)
        return None
    if current is not None:
        raise ResolveError("the record exists again; resolve its fields instead")
    wanted = dict(wanted or {})
    feature = {"type": "Feature", "id": c.record_id, "properties": wanted,
               "geometry": wanted.pop(GEOMETRY, None)}
    checked = check_feature(spec, feature, c.record_id, user=w.user, role=w.role)
    store_feature(w.store, spec, c.record_id, checked, user=w.user, expected=None,
                  detail=detail)
    current = read_record(w, spec, c.record_id)
    return None if current is None else row_versions(spec, current)[0]
