"""What a phone sends in ``POST /api/field/sync``: one edit, checked, and its answer.

Pure parsing: an edit that cannot be understood is answered ``rejected`` naming the
member at fault (the rest of the batch still goes through); a batch that is not a batch
at all is a :class:`BatchError` (400).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

#: The record layers a phone captures (contract: docs/field.md).
#: Record layers the field app writes; the snapshot offers all but the tracks (created only).
FIELD_LAYERS = ("retail_points", "opium_plots", "border_crossings", "cases", "patrol_tracks")
SNAPSHOT_LAYERS = FIELD_LAYERS[:-1]
MAX_EDITS = 500
OPS = ("create", "update", "delete")
_ID = re.compile(r"^[\w.:-]{1,100}$")


class BatchError(ValueError):
    """The body is not ``{"device": str, "edits": [...]}`` within the limits."""


class EditRefused(ValueError):
    """One edit cannot be read: ``field`` names the member, ``code`` says why."""

    def __init__(self, field_name: str, code: str, reason: str):
        super().__init__(reason)
        self.field, self.code, self.reason = field_name, code, reason


@dataclass(frozen=True)
class Edit:
    """One edit as the phone recorded it (see docs/field.md)."""

    edit_id: str
    layer: str
    op: str
    id: str
    base_version: str | None
    base: dict
    changes: dict
    geometry: dict | None
    recorded_at: str | None
    accuracy_m: float | None
    photo: str | None

    def phone_values(self) -> dict:
        """The fields the edit changes, the geometry as the field ``geometry``."""
        out = dict(self.changes)
        if self.geometry is not None:
            out["geometry"] = self.geometry
        return out


@dataclass
class Result:
    """The answer to one edit (``status``: applied, merged, conflict, duplicate, rejected)."""

    edit_id: str
    status: str
    version: str | None = None
    problems: list[dict] = field(default_factory=list)
    conflict_id: str | None = None
    #: ``{field: why}`` for fields a rule merged (the audit's, not the phone's answer)
    notes: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"edit_id": self.edit_id, "status": self.status, "version": self.version,
                "problems": self.problems, "conflict_id": self.conflict_id}


#: What an officer reads on the phone for the refusals that are not a field's validation
#: (those come from :func:`geo_pcmt.ingest.problem_text.problem_text` in both languages).
_VI = {
    "forbidden": "Tài khoản của bạn không được thực hiện thao tác này.",
    "busy": "Bản ghi đang được sửa liên tục trên máy chủ: hãy gửi lại sau.",
    "not_found": "Không có bản ghi này trong phạm vi bạn được xem.",
    "above_clearance": "Mức mật này cao hơn mức bạn được phép.",
    "photo_rejected": "Ảnh không đọc được (chỉ nhận ảnh JPEG); thao tác vẫn được lưu.",
}


def problem(field_name: str | None, code: str, reason: str, severity: str = "error") -> dict:
    """A problem as the sync answers it (the shape of the API's validation problems), with
    the sentence in both languages for the phone's language switch (``reason_vi``,
    ``reason_en``; the protocol's own refusals, made by a faulty app, stay in English)."""
    return {"field": field_name, "code": code, "reason": reason, "severity": severity,
            "reason_vi": _VI.get(code, reason), "reason_en": reason}


def parse_batch(body: Any) -> tuple[str, list]:
    """``(device, raw edits)`` of a sync body; :class:`BatchError` when it is not one."""
    if not isinstance(body, dict):
        raise BatchError("the body must be a JSON object {\"device\": …, \"edits\": […]}")
    device, edits = body.get("device"), body.get("edits")
    if not isinstance(device, str) or not 1 <= len(device) <= 100:
        raise BatchError("\"device\" must be a text of 1 to 100 characters")
    if not isinstance(edits, list):
        raise BatchError("\"edits\" must be a list")
    if len(edits) > MAX_EDITS:
        raise BatchError(f"at most {MAX_EDITS} edits per call (got {len(edits)}); send the "
                         "rest in the next call")
    return device, edits


def parse_edit(raw: Any) -> Edit:
    """One edit, checked member by member (:class:`EditRefused` names the first bad one)."""
    if not isinstance(raw, dict):
        raise EditRefused("edit", "not_object", "an edit must be a JSON object")
    edit_id = _text(raw, "edit_id", required=True)
    layer = _text(raw, "layer", required=True)
    if layer not in FIELD_LAYERS:
        raise EditRefused("layer", "unknown_layer", f"layer {layer[:60]!r} is not captured in "
                          f"the field; one of {', '.join(FIELD_LAYERS)}")
    op = _text(raw, "op", required=True)
    if op not in OPS:
        raise EditRefused("op", "unknown_op", "op must be create, update or delete")
    base, changes = _object(raw, "base"), _object(raw, "changes")
    for name, values in (("base", base), ("changes", changes)):
        bad = [k for k, v in values.items() if isinstance(v, list)
               or (isinstance(v, dict) and k != "geometry")]
        if bad:
            raise EditRefused(f"{name}.{bad[0]}", "not_scalar",
                              "a value must be text, a number, true/false or null")
    geometry = raw.get("geometry")
    if geometry is not None and not isinstance(geometry, dict):
        raise EditRefused("geometry", "bad_geojson", "geometry must be a GeoJSON object or null")
    if "geometry" in changes:  # the geometry is its own member; accept it in changes too
        geometry = changes.pop("geometry") if geometry is None else geometry
    if op == "update" and not changes and geometry is None:
        raise EditRefused("changes", "empty_update", "an update changes at least one field")
    return Edit(edit_id=edit_id, layer=layer, op=op, id=_text(raw, "id", required=True),
                base_version=_text(raw, "base_version"), base=base, changes=changes,
                geometry=geometry, recorded_at=_when(raw.get("recorded_at")),
                accuracy_m=_accuracy(raw.get("accuracy_m")), photo=_photo(raw.get("photo")))


def _text(raw: dict, name: str, *, required: bool = False) -> str | None:
    value = raw.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not _ID.match(value):
        raise EditRefused(name, "invalid_" + name, f"{name} must be 1-100 letters, digits, "
                          "'-', '_', '.' or ':'")
    return value


def _object(raw: dict, name: str) -> dict:
    value = raw.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise EditRefused(name, "not_object", f"{name} must be a JSON object")
    return dict(value)


def _when(value: Any) -> str | None:
    """``recorded_at`` as UTC ``…Z`` text (it must carry its offset)."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise EditRefused("recorded_at", "invalid_time", "recorded_at must be ISO 8601 with "
                          "its offset, e.g. 2026-03-01T08:30:00+07:00")
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _accuracy(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or value < 0:
        raise EditRefused("accuracy_m", "invalid_accuracy", "accuracy_m must be a number ≥ 0")
    return float(value)


def _photo(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise EditRefused("photo", "invalid_photo", "photo must be a data URL (JPEG) or null")
    return value
