"""The collections a role may see and the OpenAPI 3.0 document of the OGC API, per role.

Both come from the layer schemas (:mod:`geo_pcmt.layers`) filtered by :mod:`geo_pcmt.access`,
so a layer added to ``LAYERS`` later appears as a collection on its own, and a collection
or field a role may not read never appears in that role's document — not as a path, a
parameter, a schema or an example.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from geo_pcmt import access
from geo_pcmt.layers import LAYERS, Field, Layer
from geo_pcmt.web.openapi_edits import PART4_CONFORMANCE, add_edit_operations
from geo_pcmt.web.openapi_field import add_field_operations

OPENAPI_VERSION = "3.0.3"
CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    # Part 3 (Filtering) with CQL2: see geo_pcmt.web.ogcapi.filters for what is supported
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
)
CONFORMANCE += PART4_CONFORMANCE  # create, replace, update, delete: see .openapi_edits
QUERYABLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
_GEOMETRY_FORMATS = {"Point": "geometry-point", "MultiPolygon": "geometry-multipolygon",
                     "LineString": "geometry-linestring",
                     "MultiLineString": "geometry-multilinestring"}
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
_JSON_TYPES = {"str": {"type": "string"}, "int": {"type": "integer"},
               "float": {"type": "number"}, "bool": {"type": "boolean"},
               "date": {"type": "string", "format": "date"},
               "datetime": {"type": "string", "format": "date-time"}}
_GEOMETRY_SCHEMAS = {"Point": ("Point",), "MultiPolygon": ("Polygon", "MultiPolygon"),
                     "LineString": ("LineString",), "MultiLineString": ("LineString",
                                                                        "MultiLineString"),
                     "Geometry": ("Point", "MultiPoint", "Polygon", "MultiPolygon", "LineString",
                                  "MultiLineString")}


@dataclass(frozen=True)
class Collection:
    """One OGC API collection: a stored layer, or a per-commune aggregate of one.

    ``fields`` are the properties the role may see (and filter on).
    """

    id: str
    layer: Layer
    fields: tuple[str, ...]
    source: str | None = None  # for aggregates: the record layer that is counted

    @property
    def is_aggregate(self) -> bool:
        return self.source is not None

    @property
    def time_field(self) -> str | None:
        """The field ``datetime`` filters on (aggregates have none: see docs/api.md)."""
        tf = self.layer.time_field
        return tf if tf and tf in self.fields and not self.is_aggregate else None

    def field(self, name: str) -> Field:
        return self.layer.field(name)


def collections_for(role: str | None) -> dict[str, Collection]:
    """Every collection ``role`` may read (``None`` = anonymous), in schema order."""
    # built from the schemas and the role alone: once per role and set of registered
    # layers (it ran on every request); a copy, since callers may change theirs
    return dict(_collections_for(role, tuple(LAYERS)))


@lru_cache(maxsize=32)
def _collections_for(role: str | None, _layers: tuple[str, ...]) -> dict[str, Collection]:
    out: dict[str, Collection] = {}
    for name in access.readable_layers_for(role):
        spec = LAYERS[name]
        out[name] = Collection(name, spec, tuple(access.visible_fields(role, spec)))
    if access.can_read_aggregates(role):
        for name, spec in access.public_aggregates().items():
            out[name] = Collection(name, spec, tuple(spec.field_names),
                                   source=access.aggregate_source(name))
    return out


# --- the OpenAPI document ---------------------------------------------------------------

def _ref(kind: str, name: str) -> dict:
    return {"$ref": f"#/components/{kind}/{name}"}


def _field_schema(f: Field) -> dict:
    schema = dict(_JSON_TYPES[f.type])
    if f.allowed:
        schema["enum"] = list(f.allowed)
    if f.type == "str":
        schema["maxLength"] = f.max_length
    if f.minimum is not None and f.type in ("int", "float"):
        schema["minimum"] = f.minimum
    title = " / ".join(t for t in (f.label_vi, f.label_en) if t)
    if title:
        schema["title"] = title
    return schema


def _property_schema(f: Field) -> dict:
    schema = _field_schema(f)
    if not f.required:
        schema["nullable"] = True
    return schema


def _geometry_schema(spec: Layer) -> dict:
    if not spec.has_geometry:
        return {"nullable": True, "enum": [None]}
    kinds = _GEOMETRY_SCHEMAS.get(spec.geometry_type, _GEOMETRY_SCHEMAS["Geometry"])
    return {"type": "object", "required": ["type"], "nullable": True,
            "properties": {"type": {"type": "string", "enum": list(kinds)}}}


def _feature_schema(c: Collection) -> dict:
    return {
        "type": "object", "required": ["type", "geometry", "properties"],
        "properties": {
            "type": {"type": "string", "enum": ["Feature"]},
            "id": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
            "geometry": _geometry_schema(c.layer),
            "properties": {"type": "object",
                           "properties": {n: _property_schema(c.field(n)) for n in c.fields}},
        },
    }


def feature_schema(c: Collection, schema_url: str = "") -> dict:
    """JSON Schema of one feature of ``c`` (served at ``/collections/{id}/schema`` and linked
    as ``describedBy``), so GIS clients type every field even when a page holds only nulls.

    Types are single names with ``format`` for dates (what GDAL's OAPIF driver reads);
    optional fields are marked with the OpenAPI keyword ``nullable``. ``id`` is the
    feature's own member and is left out of ``properties`` here: GDAL takes it from the
    features and would otherwise list it twice.
    """
    out = {"$schema": "https://json-schema.org/draft/2019-09/schema",
           "title": f"{c.layer.title_vi} / {c.layer.title_en}", **_feature_schema(c)}
    out["properties"]["properties"]["properties"].pop("id", None)
    if schema_url:
        out["$id"] = schema_url
    return out


def queryables_schema(c: Collection, url: str = "") -> dict:
    """The queryables of ``c`` (OGC API – Features Part 3): a JSON Schema whose properties
    are what a CQL2 ``filter`` may name, the fields this role sees and ``geometry``."""
    props = {n: _field_schema(c.field(n)) for n in c.fields}
    if c.layer.has_geometry:
        props["geometry"] = {"format": _GEOMETRY_FORMATS.get(c.layer.geometry_type,
                                                             "geometry-any"),
                             "title": "Hình học / Geometry"}
    out = {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
           "title": f"{c.layer.title_vi} / {c.layer.title_en}", "properties": props,
           "additionalProperties": False}
    if url:
        out["$id"] = url
    return out


def _filter_parameters(c: Collection) -> list[dict]:
    params = []
    for name in c.fields:
        f = c.field(name)
        params.append({"name": name, "in": "query", "required": False, "style": "form",
                       "explode": False, "schema": _field_schema(f),
                       "description": f"Only features whose {name} equals this value"
                                      f" ({f.label_vi or name})."})
    return params


def _json_and_html(schema: dict, json_type: str = "application/json") -> dict:
    return {json_type: {"schema": schema}, "text/html": {"schema": {"type": "string"}}}


def _errors(*codes: int) -> dict:
    names = {400: "BadRequest", 401: "Unauthorized", 404: "NotFound", 406: "NotAcceptable",
             414: "URITooLong", 429: "TooManyRequests", 500: "ServerError"}
    # 414 comes from the HTTP server in front of the app (very long query strings)
    return {str(c): _ref("responses", names[c]) for c in sorted(set(codes) | {414})}


def build_openapi(role: str | None, *, server_url: str = "/api", limit_default: int = 100,
                  limit_max: int = 10_000, title: str = "geo_pcmt OGC API – Features") -> dict:
    """The OpenAPI 3.0 document of the OGC API as ``role`` sees it.

    Parameters
    ----------
    role : str or None
        ``viewer`` … ``admin``, or None for an anonymous visitor.
    server_url : str
        Base URL of the API (paths are relative to it), e.g. ``http://host/api``.
    limit_default, limit_max : int
        Page size when ``limit`` is absent, and the largest page served.

    Returns
    -------
    dict
        A JSON-serialisable OpenAPI 3.0.3 document.

    Examples
    --------
    >>> doc = build_openapi("viewer")
    >>> "/collections/retail_points/items" in doc["paths"]
    False
    """
    collections = collections_for(role)
    paths = _capability_paths()
    schemas = _base_schemas()
    if collections:
        paths["/collections/{collectionId}/schema"] = _schema_path(collections)
        paths["/collections/{collectionId}/queryables"] = _queryables_path(collections)
    for cid, c in collections.items():
        schemas.update(_collection_schemas(cid, c))
        paths.update(_collection_paths(cid, c))
    add_edit_operations(paths, collections, role)
    add_field_operations(paths, role)
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": title, "version": "1.0.0",
                 "description": ("Lớp dữ liệu phòng chống ma túy tỉnh Nghệ An theo chuẩn OGC API – "
                                 "Features. / Drug prevention and control layers of Nghệ An as "
                                 f"OGC API – Features. Role: {role or 'anonymous'}."),
                 "license": {"name": "restricted use; see the data's provenance"}},
        "servers": [{"url": server_url}],
        "tags": [{"name": "Capabilities"}, {"name": "Data"}, {"name": "Aggregates"},
                 {"name": "Field"}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                                "basic": {"type": "http", "scheme": "basic"},
                                "session": {"type": "apiKey", "in": "cookie", "name": "session"}},
            "parameters": _parameters(limit_default, limit_max),
            "schemas": schemas,
            "responses": _responses(),
        },
        "security": [{}, {"bearer": []}, {"basic": []}, {"session": []}],
    }


def _capability_paths() -> dict[str, dict]:
    """The paths every role has: landing page, conformance, collections, this document."""
    return {
        "/": {"get": {"summary": "Trang chủ API / Landing page", "operationId": "getLandingPage",
                      "tags": ["Capabilities"], "parameters": [_ref("parameters", "f")],
                      "responses": {"200": {"description": "Landing page",
                                            "content": _json_and_html(_ref("schemas", "landingPage"))},
                                    **_errors(400, 401, 429, 500)}}},
        "/conformance": {"get": {
            "summary": "Các lớp phù hợp / Conformance classes", "operationId": "getConformance",
            "tags": ["Capabilities"], "parameters": [_ref("parameters", "f")],
            "responses": {"200": {"description": "Conformance classes",
                                  "content": _json_and_html(_ref("schemas", "confClasses"))},
                          **_errors(400, 401, 429, 500)}}},
        "/collections": {"get": {
            "summary": "Danh sách lớp dữ liệu / Collections", "operationId": "getCollections",
            "tags": ["Capabilities"], "parameters": [_ref("parameters", "f")],
            "responses": {"200": {"description": "The collections this user may read",
                                  "content": _json_and_html(_ref("schemas", "collections"))},
                          **_errors(400, 401, 429, 500)}}},
        "/openapi": {"get": {
            "summary": "Tài liệu OpenAPI / This document", "operationId": "getOpenAPI",
            "tags": ["Capabilities"], "parameters": [_ref("parameters", "f")],
            "responses": {"200": {"description": "OpenAPI 3.0 document",
                                  "content": {"application/vnd.oai.openapi+json;version=3.0":
                                              {"schema": {"type": "object"}},
                                              "text/html": {"schema": {"type": "string"}}}},
                          **_errors(400, 401, 429, 500)}}},
    }


def _base_schemas() -> dict[str, dict]:
    """Schemas shared by every document: exception, link, landing page, collections."""
    return {
        "exception": {"type": "object", "required": ["code", "description"],
                      "properties": {"code": {"type": "string"},
                                     "description": {"type": "string"},
                                     "status": {"type": "integer"},
                                     "error": {"type": "string"}}},
        "link": {"type": "object", "required": ["href"],
                 "properties": {"href": {"type": "string"}, "rel": {"type": "string"},
                                "type": {"type": "string"}, "title": {"type": "string"}}},
        "landingPage": {"type": "object", "required": ["links"],
                        "properties": {"title": {"type": "string"},
                                       "description": {"type": "string"},
                                       "links": {"type": "array", "items": _ref("schemas", "link")}}},
        "confClasses": {"type": "object", "required": ["conformsTo"],
                        "properties": {"conformsTo": {"type": "array",
                                                      "items": {"type": "string"}}}},
        "collection": {"type": "object", "required": ["id", "links"],
                       "properties": {"id": {"type": "string"}, "title": {"type": "string"},
                                      "description": {"type": "string"},
                                      "links": {"type": "array", "items": _ref("schemas", "link")},
                                      "extent": {"type": "object"},
                                      "itemType": {"type": "string"},
                                      "crs": {"type": "array", "items": {"type": "string"}}}},
        "collections": {"type": "object", "required": ["links", "collections"],
                        "properties": {"links": {"type": "array", "items": _ref("schemas", "link")},
                                       "collections": {"type": "array",
                                                       "items": _ref("schemas", "collection")}}},
    }


def _schema_path(collections: dict[str, Collection]) -> dict:
    """``/collections/{collectionId}/schema`` for the collections of this document."""
    return {"get": {
        "summary": "Lược đồ đối tượng / Feature schema (JSON Schema)",
        "operationId": "getSchema", "tags": ["Capabilities"],
        "parameters": [{"name": "collectionId", "in": "path", "required": True,
                        "schema": {"type": "string", "enum": list(collections)}}],
        "responses": {"200": {"description": "JSON Schema of a feature",
                              "content": {"application/schema+json":
                                          {"schema": {"type": "object"}}}},
                      **_errors(400, 401, 404, 429, 500)}}}


def _queryables_path(collections: dict[str, Collection]) -> dict:
    """``/collections/{collectionId}/queryables`` for the collections of this document."""
    path = _schema_path(collections)
    path["get"].update(summary="Thuộc tính lọc được / Queryables (CQL2 filter)",
                       operationId="getQueryables")
    return path


def _collection_schemas(cid: str, c: Collection) -> dict[str, dict]:
    """The feature and feature-collection schemas of collection ``cid``."""
    feature = f"feature_{cid}"
    return {
        feature: _feature_schema(c),
        f"featureCollection_{cid}": {
            "type": "object", "required": ["type", "features"],
            "properties": {"type": {"type": "string", "enum": ["FeatureCollection"]},
                           "features": {"type": "array", "items": _ref("schemas", feature)},
                           "links": {"type": "array", "items": _ref("schemas", "link")},
                           "numberMatched": {"type": "integer", "minimum": 0},
                           "numberReturned": {"type": "integer", "minimum": 0},
                           "timeStamp": {"type": "string", "format": "date-time"}}},
    }


def _collection_paths(cid: str, c: Collection) -> dict[str, dict]:
    """The metadata, items and item paths of collection ``cid``."""
    feature = f"feature_{cid}"
    title = f"{c.layer.title_vi} / {c.layer.title_en}"
    tag = "Data" if not c.is_aggregate else "Aggregates"
    errors = _errors(400, 401, 404, 429, 500)
    metadata = {"get": {
        "summary": title, "operationId": f"describe_{cid}", "tags": [tag],
        "parameters": [_ref("parameters", "f")],
        "responses": {"200": {"description": f"Metadata of {cid}",
                              "content": _json_and_html(_ref("schemas", "collection"))},
                      **errors}}}
    items = {"get": {
        "summary": f"Đối tượng của / Features of {title}", "operationId": f"items_{cid}",
        "tags": [tag], "parameters": _item_parameters(c),
        "responses": {"200": {"description": "A page of features (GeoJSON, RFC 7946)",
                              "content": _json_and_html(
                                  _ref("schemas", f"featureCollection_{cid}"),
                                  "application/geo+json")},
                      **errors}}}
    item = {"get": {
        "summary": f"Một đối tượng / One feature of {title}", "operationId": f"item_{cid}",
        "tags": [tag], "parameters": [_ref("parameters", "featureId"), _ref("parameters", "f")],
        "responses": {"200": {"description": "One feature",
                              "content": _json_and_html(_ref("schemas", feature),
                                                        "application/geo+json")},
                      **errors}}}
    return {f"/collections/{cid}": metadata, f"/collections/{cid}/items": items,
            f"/collections/{cid}/items/{{featureId}}": item}


def _item_parameters(c: Collection) -> list[dict]:
    """Parameters of ``c``'s items: paging, bbox and datetime where they apply, filters."""
    params = [_ref("parameters", "f"), _ref("parameters", "limit"),
              _ref("parameters", "offset")]
    if c.layer.has_geometry:
        params.append(_ref("parameters", "bbox"))
    if c.time_field:
        params.append(_ref("parameters", "datetime"))
    if not c.is_aggregate:
        params += [_ref("parameters", "filter"), _ref("parameters", "filter-lang"),
                   _ref("parameters", "filter-crs")]
    params += _filter_parameters(c)
    return params


def _responses() -> dict[str, dict]:
    """The error responses the paths refer to."""
    return {
        name: {"description": text, "content": {"application/json": {"schema": _ref("schemas",
                                                                                      "exception")},
                                                "text/html": {"schema": {"type": "string"}}}}
        for name, text in (("BadRequest", "Malformed request: the message names the parameter"),
                           ("Unauthorized", "Credentials were given but are not valid"),
                           ("NotFound", "No such collection or feature for this user"),
                           ("NotAcceptable", "Unsupported format"),
                           ("URITooLong", "Query string too long for the HTTP server"),
                           ("TooManyRequests", "Too many failed logins; retry later"),
                           ("ServerError", "Internal error (no details are sent)"))}


def _parameters(limit_default: int, limit_max: int) -> dict[str, dict]:
    """The shared query and path parameters (``f``, ``limit``, ``offset``, ``bbox`` …)."""
    f_param = {"name": "f", "in": "query", "required": False, "style": "form",
               "explode": False, "description": "Output format (overrides Accept).",
               "schema": {"type": "string", "enum": ["json", "html"]}}
    return {
        "f": f_param,
        "limit": {"name": "limit", "in": "query", "required": False, "style": "form",
                  "explode": False,
                  "description": f"Features per page (default {limit_default}; larger "
                                 f"values are served as {limit_max}).",
                  "schema": {"type": "integer", "minimum": 1, "maximum": limit_max,
                             "default": limit_default}},
        "offset": {"name": "offset", "in": "query", "required": False, "style": "form",
                   "explode": False, "description": "Features to skip (paging).",
                   "schema": {"type": "integer", "minimum": 0, "default": 0}},
        "bbox": {"name": "bbox", "in": "query", "required": False, "style": "form",
                 "explode": False,
                 "description": "minLon,minLat,maxLon,maxLat in CRS84 (WGS 84 lon/lat).",
                 "schema": {"type": "array", "minItems": 4, "maxItems": 6,
                            "items": {"type": "number"}}},
        "datetime": {"name": "datetime", "in": "query", "required": False,
                     "style": "form", "explode": False,
                     "description": "An instant (2024-05-01, 2024-05-01T08:00:00Z) or an "
                                    "interval (2024-01-01/2024-12-31, ../2024-12-31, "
                                    "2024-01-01/..) on the collection's time field.",
                     "schema": {"type": "string"}},
        "filter": {"name": "filter", "in": "query", "required": False, "style": "form",
                   "explode": False,
                   "description": "A CQL2 expression on the queryables, e.g. "
                                  "status = 'active' AND first_seen >= DATE('2024-01-01') "
                                  "AND S_INTERSECTS(geometry, BBOX(104.0,19.2,104.6,19.6)).",
                   "schema": {"type": "string"}},
        "filter-lang": {"name": "filter-lang", "in": "query", "required": False,
                        "style": "form", "explode": False,
                        "description": "Language of filter (default cql2-text).",
                        "schema": {"type": "string", "enum": ["cql2-text", "cql2-json"],
                                   "default": "cql2-text"}},
        "filter-crs": {"name": "filter-crs", "in": "query", "required": False,
                       "style": "form", "explode": False,
                       "description": "CRS of the filter's geometries (CRS84 only).",
                       "schema": {"type": "string", "format": "uri",
                                  "enum": [CRS84]}},
        "featureId": {"name": "featureId", "in": "path", "required": True,
                      "description": "The feature's id.", "schema": {"type": "string"}},
    }
