"""The Part 4 operations (create, replace, update, delete) in the OpenAPI document, per role.

:func:`add_edit_operations` adds ``post`` to the items path and ``put``/``patch`` (and
``delete`` for admins) to the item path of each collection the role may change
(:func:`geo_pcmt.access.can_edit_layer`), so a role's document lists exactly what it may
do; :data:`PART4_CONFORMANCE` is declared in ``/conformance``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from geo_pcmt import access

if TYPE_CHECKING:  # (openapi imports this module)
    from geo_pcmt.web.openapi import Collection

PART4_CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/update",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/features",
)
_FEATURE_TYPES = ("application/geo+json", "application/json")
_PATCH_TYPES = ("application/merge-patch+json", *_FEATURE_TYPES)
_ERRORS = {
    "400": "Malformed body or parameter (invalid_json, id_mismatch, unsupported_crs …)",
    "401": "Not signed in, or HTTP Basic (read-only): use a Bearer token",
    "403": "The role may not do this, or the confidentiality is above its clearance",
    "404": "No such collection or feature for this user",
    "405": "The collection is read-only",
    "409": "The id is taken, or the store refused the write",
    "412": "If-Match is not the feature's current ETag: read it again",
    "413": "Body larger than the server accepts",
    "415": "Unsupported Content-Type",
    "422": "The feature failed validation: problems lists each field and reason",
    "428": "If-Match is required",
    "429": "Too many requests",
    "500": "Internal error (no details are sent)",
}


def _error_responses(*codes: str) -> dict:
    schema = {"$ref": "#/components/schemas/exception"}
    return {c: {"description": _ERRORS[c],
                "content": {"application/json": {"schema": schema},
                            "text/html": {"schema": {"type": "string"}}}}
            for c in codes}


def _body(feature: str, types: tuple[str, ...], patch: bool = False) -> dict:
    schema = {"type": "object"} if patch else {"$ref": f"#/components/schemas/{feature}"}
    return {"required": True, "content": {t: {"schema": schema} for t in types}}


def _feature_answer(feature: str, description: str, *, location: bool = False) -> dict:
    headers = {"ETag": {"description": "The feature's new version (strong tag)",
                        "schema": {"type": "string"}}}
    if location:
        headers["Location"] = {"description": "URL of the new feature",
                               "schema": {"type": "string"}}
    return {"description": description, "headers": headers,
            "content": {"application/geo+json":
                        {"schema": {"$ref": f"#/components/schemas/{feature}"}}}}


_LANG = {"name": "lang", "in": "query", "required": False,
         "description": "Language of validation problems: vi (default) or en.",
         "schema": {"type": "string", "enum": ["vi", "en"]}}
_IF_MATCH = {"name": "If-Match", "in": "header", "required": True,
             "description": "The ETag of the feature as last read (GET …/items/{featureId}).",
             "schema": {"type": "string"}}
_FID = {"$ref": "#/components/parameters/featureId"}


def add_edit_operations(paths: dict[str, dict], collections: dict[str, Collection],
                        role: str | None) -> None:
    """Add the write operations ``role`` may use to ``paths`` (in place)."""
    common = ("400", "401", "403", "404", "413", "415", "422", "429", "500")
    for cid, c in collections.items():
        if c.is_aggregate or not access.can_edit_layer(role, c.layer):
            continue
        feature, title = f"feature_{cid}", f"{c.layer.title_vi} / {c.layer.title_en}"
        paths[f"/collections/{cid}/items"]["post"] = {
            "summary": f"Thêm đối tượng / Add a feature to {title}",
            "operationId": f"create_{cid}", "tags": ["Data"], "parameters": [_LANG],
            "requestBody": _body(feature, _FEATURE_TYPES),
            "responses": {"201": _feature_answer(feature, "Stored", location=True),
                          **_error_responses(*common, "409")}}
        item = paths[f"/collections/{cid}/items/{{featureId}}"]
        changes = _error_responses(*common, "409", "412", "428")
        item["put"] = {
            "summary": f"Thay thế đối tượng / Replace a feature of {title}",
            "operationId": f"replace_{cid}", "tags": ["Data"],
            "parameters": [_FID, _IF_MATCH, _LANG],
            "requestBody": _body(feature, _FEATURE_TYPES),
            "responses": {"200": _feature_answer(feature, "Replaced"), **changes}}
        item["patch"] = {
            "summary": f"Sửa một phần đối tượng / Update a feature of {title} "
                       "(JSON merge patch)",
            "operationId": f"update_{cid}", "tags": ["Data"],
            "parameters": [_FID, _IF_MATCH, _LANG],
            "requestBody": _body(feature, _PATCH_TYPES, patch=True),
            "responses": {"200": _feature_answer(feature, "Updated"), **changes}}
        if access.can_delete(role):
            item["delete"] = {
                "summary": f"Xóa đối tượng / Delete a feature of {title}",
                "operationId": f"delete_{cid}", "tags": ["Data"],
                "parameters": [_FID, _IF_MATCH, _LANG],
                "responses": {"204": {"description": "Deleted"},
                              **_error_responses("400", "401", "403", "404", "412", "428",
                                                 "429", "500")}}
