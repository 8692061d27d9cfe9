"""What an edit request sends, checked: its GeoJSON body, a JSON merge patch, ``If-Match``.

Pure helpers for :mod:`.edits`: a Feature becomes a one-row frame for
:func:`geo_pcmt.ingest.validate` (the same checks as an upload), a merge patch (RFC 7396)
is applied to the stored feature, and the request's ``If-Match`` becomes the versions the
store must still find.
"""
from __future__ import annotations

import json
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from flask import Request

from geo_pcmt.crs import STORAGE_CRS
from geo_pcmt.ingest.report import Problem
from geo_pcmt.layers import Layer
from geo_pcmt.web.ogcapi.query import bad_request
from geo_pcmt.web.openapi import CRS84
from geo_pcmt.web.security import ApiError

FEATURE_TYPES = ("application/geo+json", "application/json")
PATCH_TYPES = ("application/merge-patch+json", *FEATURE_TYPES)
#: Filled in by the store, whatever a client sends (QGIS sends back what it read).
SERVER_FIELDS = ("created_at", "updated_at")
_CRS84_NAMES = frozenset({CRS84, f"<{CRS84}>", "http://www.opengis.net/def/crs/EPSG/0/4326",
                          "<http://www.opengis.net/def/crs/EPSG/0/4326>"})


def json_body(request: Request, types: tuple[str, ...]) -> dict:
    """The request's JSON object; 415 for another media type, 400 for bad JSON or a
    ``Content-Crs`` other than CRS84 (coordinates are lon/lat, as the API serves them)."""
    if request.mimetype not in types:
        raise ApiError(415, "unsupported_media_type",
                       f"send the body as {' or '.join(types)} (got "
                       f"{request.mimetype or 'no Content-Type'})")
    crs = request.headers.get("Content-Crs")
    if crs and crs.strip() not in _CRS84_NAMES:
        raise bad_request("unsupported_crs", f"Content-Crs {crs[:100]!r}: send lon/lat "
                                             f"coordinates in CRS84 ({CRS84})")
    try:
        body = json.loads(request.get_data(cache=False) or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_request("invalid_json", f"the body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise bad_request("invalid_json", "the body must be a JSON object (a GeoJSON Feature)")
    return body


def feature_id(feature: dict) -> str | None:
    """The id a Feature names (its ``id`` member, else ``properties.id``); 400 when the two
    disagree or the id is not text or a whole number."""
    props = feature.get("properties") if isinstance(feature.get("properties"), dict) else {}
    ids = {_id_text(v) for v in (feature.get("id"), props.get("id")) if v is not None}
    if len(ids) > 1:
        raise bad_request("id_mismatch", "the Feature's id and properties.id differ")
    return ids.pop() if ids else None


def _id_text(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)) or value == "":
        raise bad_request("invalid_id", "a feature id is a non-empty string or an integer")
    return str(value)


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 JSON merge patch: members of ``patch`` replace those of ``target``, ``null``
    removes one, objects merge recursively; anything else replaces ``target`` whole.

    Examples
    --------
    >>> merge_patch({"a": 1, "p": {"x": 1, "y": 2}}, {"p": {"y": None, "z": 3}})
    {'a': 1, 'p': {'x': 1, 'z': 3}}
    """
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def feature_frame(layer: Layer, feature: dict, fid: str) -> tuple[pd.DataFrame, list[Problem]]:
    """A one-row frame of every field of ``layer`` from a GeoJSON Feature (missing
    properties are null, as a replace makes them), and the problems found before
    validation: unknown properties, values that are objects or lists, geometry that is not
    GeoJSON or given to a layer without geometry. The server's own fields are dropped."""
    if feature.get("type", "Feature") != "Feature":
        raise bad_request("invalid_feature", "the body must be a GeoJSON Feature "
                                             "(\"type\": \"Feature\")")
    props = feature.get("properties")
    if props is None:
        props = {}
    if not isinstance(props, dict):
        raise bad_request("invalid_feature", "\"properties\" must be an object or null")
    problems = []
    row: dict[str, Any] = {f.name: None for f in layer.fields if f.name not in SERVER_FIELDS}
    for key, value in props.items():
        if key in SERVER_FIELDS:
            continue
        if key not in row:
            problems.append(Problem(1, str(key)[:100], None, f"unknown field {str(key)[:100]!r} "
                                    f"for layer {layer.name}", code="unknown_column"))
        elif isinstance(value, (dict, list)):
            problems.append(Problem(1, key, None, "the value must be text, a number, true/"
                                    "false or null", code="not_scalar"))
        else:
            row[key] = value
    row["id"] = fid
    geometry, geometry_problem = _geometry(layer, feature.get("geometry"))
    problems += geometry_problem
    frame = pd.DataFrame([row])
    if layer.has_geometry:
        frame = gpd.GeoDataFrame(frame, geometry=[geometry], crs=STORAGE_CRS)
    return frame, problems


def _geometry(layer: Layer, geometry: Any):
    if geometry is None:
        return None, []
    if not layer.has_geometry:
        return None, [Problem(1, "geometry", None, "this layer has no geometry; send "
                              "\"geometry\": null", code="no_geometry")]
    try:
        if not isinstance(geometry, dict):
            raise ValueError("not an object")
        return shapely.from_geojson(json.dumps(geometry)), []
    except (ValueError, TypeError, shapely.errors.GEOSException) as exc:
        return None, [Problem(1, "geometry", None, f"not a GeoJSON geometry: "
                              f"{str(exc)[:200]}", code="bad_geojson")]


def expected_versions(request: Request) -> set[str]:
    """The strong entity tags of ``If-Match``: 428 without the header (or with ``*``, which
    protects nothing); an empty set when it holds only weak or unreadable tags (no
    version matches those: 412)."""
    if "If-Match" not in request.headers:
        raise ApiError(428, "precondition_required",
                       "send If-Match with the ETag of the feature as you read it (GET "
                       "…/items/{id}); changes without it could overwrite someone else's "
                       "(gửi If-Match với ETag của đối tượng)")
    tags = request.if_match
    if tags.star_tag:
        raise ApiError(428, "precondition_required",
                       "If-Match: * does not say which version you changed; send the "
                       "feature's ETag (gửi ETag của đối tượng, không dùng *)")
    return set(tags.as_set(include_weak=False))
