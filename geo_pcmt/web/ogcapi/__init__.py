"""OGC API – Features Part 1 (Core, GeoJSON, HTML, OpenAPI 3.0) under ``/api``.

Every layer the caller's role may read is a collection
(:func:`geo_pcmt.web.openapi.collections_for`), plus, for signed-in users, the per-commune
aggregates of the intelligence layers. Items take ``bbox``, ``limit`` (default and maximum
from the configuration; larger values are served as the maximum, as the standard asks),
``offset``, ``datetime`` (instants and intervals on the layer's time field) and one
equality filter per visible property; unknown parameters are a 400 so that a typo never
silently returns everything. Collections and features a role may not read answer exactly
as ones that do not exist (404), so their existence does not leak.

This module holds the blueprint: its routes and how answers look (JSON, HTML, links).
The steps they call are modules of their own: :mod:`.query` (parameters → a checked
query), :mod:`.features` (reading through :func:`geo_pcmt.access.read`, aggregates,
counts, audit) and :mod:`.answers` (the cache of serialised answers).
"""
from __future__ import annotations

import json
from urllib.parse import urlencode

import geopandas as gpd
import pandas as pd
from flask import Blueprint, Response, current_app, jsonify, render_template, request

from geo_pcmt import access
from geo_pcmt.layers import LAYERS
from geo_pcmt.outputs.export import _clean, iter_geojson
from geo_pcmt.web.context import get_store
from geo_pcmt.web.auth import current_role
from geo_pcmt.web.ogcapi.compression import gzip_json
from geo_pcmt.web.ogcapi.answers import (
    STAMP,
    AnswerCache,
    CachedAnswer,
    cache_key,
    data_version,
    keep,
    lookup,
    release_claims,
    remembered,
    stamped,
)
from geo_pcmt.web.ogcapi.features import (
    aggregate_frame,
    audit_read,
    audited_ids,
    count_matches,
    filter_frame,
    find_collection,
    forget_counts,
    read_layers,
    read_one,
    read_page,
    serve,
    submit_audit,
)
from geo_pcmt.web.ogcapi.query import (
    CONTROL_PARAMS,
    Query,
    instant,
    bad_request,
    parse_bbox,
    parse_datetime,
    parse_query,
    parse_value,
    merge_row_scope,
    unit_scope,
)
from geo_pcmt.web.openapi import (
    CONFORMANCE,
    CRS84,
    Collection,
    build_openapi,
    collections_for,
    QUERYABLES_REL,
    feature_schema,
    queryables_schema,
)
from geo_pcmt.web.ogcapi.edits import item_version, register_edits, tagged
from geo_pcmt.web.security import ApiError

bp = Blueprint("ogcapi", __name__, url_prefix="/api")
bp.teardown_app_request(release_claims)
register_edits(bp)  # Part 4: POST items, PUT/PATCH/DELETE items/{id} (see .edits)
bp.after_request(gzip_json)


# --- responses ------------------------------------------------------------------------------

def _format() -> str:
    f = request.args.get("f")
    if f is not None:
        if f in ("json", "geojson"):
            return "json"
        if f == "html":
            return "html"
        raise bad_request("invalid_parameter", "f must be json or html")
    best = request.accept_mimetypes.best_match(["application/json", "application/geo+json",
                                                "text/html"])
    return "html" if best == "text/html" else "json"


def _url(path: str = "", **params) -> str:
    base = request.host_url.rstrip("/") + "/api" + path
    clean = {k: v for k, v in params.items() if v is not None}
    return base + ("?" + urlencode(clean) if clean else "")


def _link(href: str, rel: str, type_: str, title: str = "") -> dict:
    out = {"href": href, "rel": rel, "type": type_}
    if title:
        out["title"] = title
    return out


def _extent_layer(c: Collection) -> str | None:
    """The layer whose extent a collection publishes: its own for reference data; the
    province's for record layers, whose true extent could outline where restricted rows
    lie; the communes' for per-commune counts."""
    if not c.layer.has_geometry:
        return None
    if c.is_aggregate:
        return "communes"
    return "province" if "confidentiality" in c.layer.field_names else c.id


def _nominal_extent(c: Collection) -> list[float] | None:
    """The published extent of ``c`` (see :func:`_extent_layer`), kept per data version."""
    store = get_store()
    layer = _extent_layer(c)
    if layer is None or getattr(store, "bounds", None) is None:
        return None
    key = (id(store), layer, data_version(store, layer))
    extents = current_app.extensions.setdefault("geo_pcmt_extents", {})
    if key not in extents:
        if len(extents) > 256:
            extents.clear()
        box = store.bounds(layer)
        extents[key] = [round(v, 6) for v in box] if box else None
    return extents[key]


def _extent_layers(cols) -> tuple[str, ...]:
    """The layers the extents in a collections document come from (spatial and temporal)."""
    spatial = {n for n in map(_extent_layer, cols) if n is not None}
    return tuple(sorted(spatial | {c.id for c in cols if c.time_field is not None}))


def _temporal_extent(c: Collection) -> list | None:
    """``[start, end]`` (RFC 3339, UTC) of the collection's time field over the rows the
    caller's role may see, kept per role and data version; None without a time field."""
    if c.time_field is None:
        return None
    store = get_store()
    role = current_role()
    key = ("t", id(store), role, c.id, data_version(store, c.id))
    extents = current_app.extensions.setdefault("geo_pcmt_extents", {})
    if key not in extents:
        if len(extents) > 256:
            extents.clear()
        try:
            span = access.value_range(store, c.id, c.time_field, role=role)
        except access.AccessDenied:
            span = None
        extents[key] = None if span is None else [_rfc3339(span[0], end=False),
                                                  _rfc3339(span[1], end=True)]
    return extents[key]


def _rfc3339(value: str, *, end: bool) -> str | None:
    """A stored date, date-time or period (``YYYY``, ``YYYY-MM``) as the first (or, for
    ``end``, last) second it covers, in UTC."""
    import calendar
    text = str(value).strip()
    try:
        if len(text) == 4:
            text = f"{text}-12-31" if end else f"{text}-01-01"
        elif len(text) == 7:
            y, m = int(text[:4]), int(text[5:7])
            text = f"{text}-{calendar.monthrange(y, m)[1]:02d}" if end else f"{text}-01"
        moment, date_only = instant(text)
    except (ValueError, ApiError):
        return None
    return f"{moment}T23:59:59Z" if date_only and end else \
        (f"{moment}T00:00:00Z" if date_only else f"{moment}Z")


def _collection_json(c: Collection) -> dict:
    spec = c.layer
    out = {
        "id": c.id, "title": spec.title_vi,
        "description": " ".join(t for t in (spec.title_en + ".", spec.description) if t).strip(),
        "itemType": "feature", "crs": [CRS84], "storageCrs": CRS84,
        "links": [
            _link(_url(f"/collections/{c.id}", f="json"), "self", "application/json"),
            _link(_url(f"/collections/{c.id}", f="html"), "alternate", "text/html"),
            _link(_url(f"/collections/{c.id}/items", f="json"), "items", "application/geo+json",
                  spec.title_en),
            _link(_url(f"/collections/{c.id}/items", f="html"), "items", "text/html"),
            _link(_url(f"/collections/{c.id}/schema"), "describedBy", "application/schema+json",
                  "JSON Schema"),
            _link(_url(f"/collections/{c.id}/queryables"), QUERYABLES_REL,
                  "application/schema+json", "Queryables (CQL2 filter)"),
            _link(f"{request.host_url.rstrip('/')}/export/{c.id}.geojson", "enclosure",
                  "application/geo+json", "download (GeoJSON)"),
        ],
    }
    extent = _nominal_extent(c)
    if extent:
        out["extent"] = {"spatial": {"bbox": [extent], "crs": CRS84}}
    span = _temporal_extent(c)
    if span:
        out.setdefault("extent", {})["temporal"] = {
            "interval": [span], "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}
    return out


def _html(template: str, **context):
    return render_template(template, role=current_role(), **context)


@bp.get("")
@bp.get("/")
def landing():
    """Landing page: links to the API description, conformance and collections."""
    fmt = _format()
    doc = {
        "title": "geo_pcmt — OGC API – Features",
        "description": "Dữ liệu phòng chống ma túy tỉnh Nghệ An / Drug prevention and control "
                       "data of Nghệ An province",
        "links": [
            _link(_url("", f="json"), "self", "application/json"),
            _link(_url("", f="html"), "alternate", "text/html"),
            _link(_url("/openapi", f="json"), "service-desc",
                  "application/vnd.oai.openapi+json;version=3.0", "OpenAPI 3.0"),
            _link(_url("/openapi", f="html"), "service-doc", "text/html", "API documentation"),
            _link(_url("/conformance", f="json"), "conformance", "application/json"),
            _link(_url("/collections", f="json"), "data", "application/json"),
        ],
    }
    if fmt == "html":
        return _html("ogc_landing.html", doc=doc)
    return jsonify(doc)


@bp.get("/conformance")
def conformance():
    """The conformance classes this server implements."""
    doc = {"conformsTo": list(CONFORMANCE)}
    if _format() == "html":
        return _html("ogc_conformance.html", doc=doc)
    return jsonify(doc)


@bp.get("/collections")
def collections():
    """The collections the caller may read."""
    fmt = _format()
    cols = collections_for(current_role())
    # the document changes with the schemas (role, registered layers: in the URL's role and
    # the collection list) and the extents; a record upload moves neither
    key = cache_key(("collections", tuple(cols)), None, _extent_layers(cols.values())) \
        if fmt == "json" else None
    hit = lookup(key)
    if hit is not None:
        return serve(None, None, hit)
    doc = {"links": [_link(_url("/collections", f="json"), "self", "application/json"),
                     _link(_url("/collections", f="html"), "alternate", "text/html")],
           "collections": [_collection_json(c) for c in cols.values()]}
    if fmt == "html":
        return _html("ogc_collections.html", doc=doc, cols=cols)
    answer = CachedAnswer(json.dumps(doc, ensure_ascii=False).encode(), "application/json")
    keep(key, answer)
    return serve(None, None, answer)


@bp.get("/collections/<cid>")
def collection(cid: str):
    """One collection's metadata."""
    fmt = _format()
    c = find_collection(cid)
    key = cache_key("collection", c) if fmt == "json" else None
    hit = lookup(key)
    if hit is not None:
        return serve(None, None, hit)
    doc = _collection_json(c)
    if fmt == "html":
        return _html("ogc_collection.html", doc=doc, c=c, fields=[c.field(n) for n in c.fields])
    answer = CachedAnswer(json.dumps(doc, ensure_ascii=False).encode(), "application/json")
    keep(key, answer)
    return serve(None, None, answer)


def _refuse_unknown_schema_params(c: Collection) -> None:
    """Schema requests take ``f`` and ignore the items' own parameters: GDAL adds the
    query of a collection URL (``…/items?datetime=2024-01-01/..``) to every request."""
    unknown = [k for k in request.args if k not in CONTROL_PARAMS and k not in c.fields]
    if unknown:
        raise bad_request("unknown_parameter", f"unknown parameter(s) {', '.join(unknown[:5])}")


@bp.get("/collections/<cid>/schema")
def schema(cid: str):
    """JSON Schema of the collection's features (the fields this role may see)."""
    c = find_collection(cid)
    _refuse_unknown_schema_params(c)
    body = feature_schema(c, _url(f"/collections/{cid}/schema"))
    return Response(json.dumps(body, ensure_ascii=False), mimetype="application/schema+json")


@bp.get("/collections/<cid>/queryables")
def queryables(cid: str):
    """The properties a CQL2 ``filter`` may name (OGC API – Features Part 3), as JSON
    Schema: the fields this role may see, and the geometry."""
    c = find_collection(cid)
    _refuse_unknown_schema_params(c)
    body = queryables_schema(c, _url(f"/collections/{cid}/queryables"))
    return Response(json.dumps(body, ensure_ascii=False), mimetype="application/schema+json")


def _rows_for_html(frame: pd.DataFrame, c: Collection) -> list[dict]:
    cols = [n for n in c.fields if n in frame.columns]
    geoms = frame.geometry.values if isinstance(frame, gpd.GeoDataFrame) else None
    out = []
    for i, rec in enumerate(frame[cols].to_dict("records")):
        row = {k: _clean(v) for k, v in rec.items()}
        g = geoms[i] if geoms is not None else None
        row["_geometry"] = "" if g is None else (
            f"{g.x:.6f}, {g.y:.6f}" if g.geom_type == "Point" else g.geom_type)
        out.append(row)
    return out


@bp.get("/collections/<cid>/items")
def items(cid: str):
    """A page of features: GeoJSON FeatureCollection with paging links, or an HTML table."""
    fmt = _format()
    c = find_collection(cid)
    role = current_role()
    q = parse_query(request.args, c, role, extra_params=frozenset({"after"}))
    key = cache_key("items", c, read_layers(c)) if fmt == "json" else None
    hit = lookup(key)
    if hit is not None:
        return serve(c, q, hit)
    page = read_page(c, q, role, rows=fmt == "json")  # GeoJSON: plain rows, no frame
    frame, matched = page.frame, page.matched
    ids = audited_ids(c, frame)
    audited = submit_audit(c, ids, q, len(frame))
    args = {k: v for k, v in request.args.items() if k != "f"}
    links = [_link(_url(f"/collections/{cid}/items", **args, f="json"), "self",
                   "application/geo+json"),
             _link(_url(f"/collections/{cid}/items", **args, f="html"), "alternate", "text/html"),
             _link(_url(f"/collections/{cid}", f="json"), "collection", "application/json")]
    if page.more:  # keyset cursor; offset only for the per-commune counts (in memory)
        nxt = {k: v for k, v in args.items() if k not in ("offset", "after")}
        nxt.update({"after": page.after} if page.after is not None
                   else {"offset": q.offset + len(frame)}, limit=q.limit)
        links.append(_link(_url(f"/collections/{cid}/items", **nxt, f=fmt), "next",
                           "application/geo+json" if fmt == "json" else "text/html"))
    if q.offset > 0:
        prv = dict(args, offset=max(0, q.offset - (q.limit or 0)), limit=q.limit)
        links.append(_link(_url(f"/collections/{cid}/items", **prv, f=fmt), "prev",
                           "application/geo+json" if fmt == "json" else "text/html"))
    if fmt == "html":
        page = _html("ogc_items.html", c=c, fields=[c.field(n) for n in c.fields],
                     rows=_rows_for_html(frame, c), matched=matched, returned=len(frame),
                     offset=q.offset, links=links)
        audited()
        return page
    extra = {"numberMatched": int(matched), "numberReturned": len(frame),
             "timeStamp": STAMP.decode(), "links": links}
    answer = CachedAnswer("".join(iter_geojson(frame, extra=extra)).encode(),
                          "application/geo+json", ids, len(frame))
    audited()
    keep(key, answer)
    return Response(stamped(answer.body), mimetype=answer.mimetype)


@bp.get("/collections/<cid>/items/<path:fid>")
def item(cid: str, fid: str):
    """One feature by id (404 also when the caller may not see it)."""
    fmt = _format()
    c = find_collection(cid)
    unknown = [k for k in request.args if k not in ("f",)]
    if unknown:
        raise bad_request("unknown_parameter", f"unknown parameter(s) {', '.join(unknown[:5])}")
    role = current_role()
    q = Query(where={"id": fid})
    if not c.is_aggregate:  # the filter the audit record names
        merge_row_scope(q.where, access.row_filter_for(role, c.layer))
        merge_row_scope(q.where, unit_scope(c, role))  # another unit's plan: 404
    key = cache_key("item", c, read_layers(c)) if fmt == "json" else None
    hit = lookup(key)
    if hit is not None:
        return tagged(serve(c, q, hit), hit)
    frame = read_one(c, q, role)
    if not len(frame):
        raise ApiError(404, "not_found", f"no feature {fid[:80]!r} in {cid}")
    ids = audited_ids(c, frame)
    submit_audit(c, ids, q, len(frame))()
    links = [_link(_url(f"/collections/{cid}/items/{fid}", f="json"), "self",
                   "application/geo+json"),
             _link(_url(f"/collections/{cid}/items/{fid}", f="html"), "alternate", "text/html"),
             _link(_url(f"/collections/{cid}", f="json"), "collection", "application/json")]
    if fmt == "html":
        return _html("ogc_item.html", c=c, fields=[c.field(n) for n in c.fields],
                     row=_rows_for_html(frame, c)[0], links=links)
    feature = json.loads("".join(iter_geojson(frame)))["features"][0]
    feature["links"] = links
    answer = CachedAnswer(json.dumps(feature, ensure_ascii=False).encode(),
                          "application/geo+json", ids, len(frame), item_version(c, frame))
    keep(key, answer)
    return tagged(Response(answer.body, mimetype=answer.mimetype), answer)


def openapi_document() -> dict:
    """The OpenAPI document for the caller's role (cached per role and layer set)."""
    cfg = current_app.config
    server = request.host_url.rstrip("/") + "/api"
    role = current_role()
    key = (role, server, tuple(LAYERS), cfg["API_LIMIT_DEFAULT"], cfg["API_LIMIT_MAX"])
    cache = current_app.extensions.setdefault("geo_pcmt_openapi", {})
    if key not in cache:
        if len(cache) > 64:
            cache.clear()
        cache[key] = json.dumps(build_openapi(role, server_url=server,
                                              limit_default=cfg["API_LIMIT_DEFAULT"],
                                              limit_max=cfg["API_LIMIT_MAX"]),
                                ensure_ascii=False)
    return json.loads(cache[key])


@bp.get("/openapi")
def openapi():
    """The OpenAPI 3.0 document (JSON) or a readable list of its operations (HTML)."""
    doc = openapi_document()
    if _format() == "html":
        ops = [(path, op.get("summary", "")) for path, item in doc["paths"].items()
               for op in item.values()]
        return _html("ogc_openapi.html", doc=doc, ops=ops)
    return Response(json.dumps(doc, ensure_ascii=False),
                    mimetype="application/vnd.oai.openapi+json;version=3.0")


__all__ = ["bp", "Query", "parse_bbox", "parse_datetime", "parse_value", "parse_query",
           "find_collection", "read_page", "read_one", "aggregate_frame", "audit_read",
           "filter_frame", "count_matches", "forget_counts", "AnswerCache", "CachedAnswer",
           "remembered", "openapi_document"]

