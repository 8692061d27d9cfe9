"""The field-sync operations (``/api/field/…``) in the OpenAPI document, for the roles that
may edit field layers (:func:`geo_pcmt.access.can_edit_layer`); see docs/field.md."""
from __future__ import annotations

from geo_pcmt import access
from geo_pcmt.sync.edits import FIELD_LAYERS, MAX_EDITS, SNAPSHOT_LAYERS

_EXCEPTION = {"$ref": "#/components/schemas/exception"}
_ERRORS = {
    "400": "Malformed parameter or body (unknown_layer, invalid_bbox, invalid_batch …)",
    "401": "Not signed in: session login or a Bearer token",
    "403": "Field capture needs the analyst role",
    "413": "Body larger than a sync call may carry: send fewer edits per call",
    "415": "Send the body as application/json",
    "429": "Too many requests",
    "500": "Internal error (no details are sent)",
}
_SCALAR = {"nullable": True, "oneOf": [{"type": "string"}, {"type": "number"},
                                       {"type": "boolean"}]}
_GEOMETRY = {"type": "object", "nullable": True, "description": "GeoJSON geometry, lon/lat"}
_EDIT = {
    "type": "object", "required": ["edit_id", "layer", "op", "id"],
    "properties": {
        "edit_id": {"type": "string", "description": "Made on the phone (a UUID); a re-sent "
                    "edit is answered duplicate and never applied twice"},
        "layer": {"type": "string", "enum": list(FIELD_LAYERS)},
        "op": {"type": "string", "enum": ["create", "update", "delete"]},
        "id": {"type": "string", "description": "The record; for a create "
               "<layer>-<yyyymmdd>-<device4>-<n>"},
        "base_version": {"type": "string", "nullable": True,
                         "description": "The record's version when the phone read it"},
        "base": {"type": "object", "additionalProperties": _SCALAR,
                 "description": "Values the phone saw for the fields it changes"},
        "changes": {"type": "object", "additionalProperties": _SCALAR},
        "geometry": _GEOMETRY,
        "recorded_at": {"type": "string", "nullable": True, "format": "date-time"},
        "accuracy_m": {"type": "number", "nullable": True, "minimum": 0},
        "photo": {"type": "string", "nullable": True, "description": "data:image/jpeg;base64,…"},
    },
}
_RESULT = {
    "type": "object", "required": ["edit_id", "status", "problems"],
    "properties": {
        "edit_id": {"type": "string"},
        "status": {"type": "string",
                   "enum": ["applied", "merged", "conflict", "duplicate", "rejected"]},
        "version": {"type": "string", "nullable": True},
        "problems": {"type": "array", "items": {"type": "object"}},
        "conflict_id": {"type": "string", "nullable": True},
    },
}
_MARK = {"type": "object", "required": ["mark", "level"],
         "properties": {"mark": {"type": "string"}, "level": {"type": "string"}}}


def _errors(*codes: str) -> dict:
    return {c: {"description": _ERRORS[c], "content": {"application/json":
                                                        {"schema": _EXCEPTION}}}
            for c in codes}


def _ok(description: str, properties: dict, required: list[str]) -> dict:
    return {"description": description, "content": {"application/json": {"schema": {
        "type": "object", "required": required, "properties": properties}}}}


def add_field_operations(paths: dict[str, dict], role: str | None) -> None:
    """Add ``/field/snapshot``, ``/field/sync`` and ``/field/conflicts`` to ``paths`` when
    ``role`` may edit a field layer."""
    if not any(access.can_edit_layer(role, n) for n in FIELD_LAYERS):
        return
    paths["/field/snapshot"] = {"get": {
        "summary": "Dữ liệu mang ra thực địa / Records for offline field capture",
        "operationId": "getFieldSnapshot", "tags": ["Field"],
        "parameters": [
            {"name": "layers", "in": "query", "required": False, "schema": {"type": "string"},
             "description": f"Comma-separated, some of {', '.join(SNAPSHOT_LAYERS)}"},
            {"name": "bbox", "in": "query", "required": False, "schema": {"type": "string"},
             "description": "minLon,minLat,maxLon,maxLat"}],
        "responses": {"200": _ok("Each layer's fields and features (with version)", {
            "generated_at": {"type": "string"}, "classification": _MARK,
            "layers": {"type": "object"}}, ["generated_at", "classification", "layers"]),
            **_errors("400", "401", "403", "429", "500")}}}
    paths["/field/sync"] = {"post": {
        "summary": "Đồng bộ thao tác từ điện thoại / Sync a batch of field edits",
        "operationId": "postFieldSync", "tags": ["Field"],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["device", "edits"],
            "properties": {"device": {"type": "string", "minLength": 1, "maxLength": 100},
                           "edits": {"type": "array", "maxItems": MAX_EDITS,
                                     "items": _EDIT}}}}}},
        "responses": {"200": _ok("The result of every edit, in order", {
            "results": {"type": "array", "items": _RESULT}}, ["results"]),
            **_errors("400", "401", "403", "413", "415", "429", "500")}}}
    paths["/field/conflicts"] = {"get": {
        "summary": "Xung đột chờ giải quyết / Open field edit conflicts",
        "operationId": "getFieldConflicts", "tags": ["Field"],
        "parameters": [{"name": "limit", "in": "query", "required": False,
                        "description": "At most this many conflicts, oldest first",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 500}}],
        "responses": {"200": _ok("Open conflicts with base, server and phone values", {
            "classification": _MARK, "conflicts": {"type": "array",
                                                   "items": {"type": "object"}}},
            ["classification", "conflicts"]),
            **_errors("400", "401", "403", "429", "500")}}}
