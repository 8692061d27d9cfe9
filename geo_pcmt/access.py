"""Who may see what: roles, clearances, layer visibility, row redaction, public aggregates.

One place decides access, and every output (API items, exports, map, OpenAPI) asks it. What
it decides from is kept on the layer registry (:mod:`geo_pcmt.layers`): each layer's
``min_role`` and the fields marked ``operational``.

=========  =========================  ==============================================
role       clearance                  sees
=========  =========================  ==============================================
viewer     public                     base layers, public layers, per-commune counts
                                      (small counts suppressed); no point records
analyst    restricted                 every record up to *restricted*; creates and
                                      edits single records through the API
commander  restricted                 as analyst, plus patrol plans
admin      secret                     everything, users, uploads, deletes, audit log
=========  =========================  ==============================================
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import geopandas as gpd
import pandas as pd

from geo_pcmt.layers import CONFIDENTIALITY_LEVELS, LAYERS, Layer, get_layer
from geo_pcmt.layers import ROLES  # noqa: F401  (the roles, in order; kept with the layers)
from geo_pcmt.words import MARKINGS  # noqa: F401  (defined with the other words)
CLEARANCE = {"viewer": "public", "analyst": "restricted", "commander": "restricted",
             "admin": "secret"}
SMALL_COUNT = 5  # counts below this are suppressed in public aggregates ("< 5")
AGGREGATE_LEVELS = ("public", "restricted")  # rows a public aggregate counts: never secret


def role_rank(role: str) -> int:
    """0 viewer … 3 admin; ``ValueError`` for unknown roles."""
    try:
        return ROLES.index(role)
    except ValueError:
        raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}") from None


def at_least(role: str, needed: str) -> bool:
    """Whether ``role`` has the rights of ``needed`` (roles are ordered)."""
    return role_rank(role) >= role_rank(needed)


def allowed_levels(role: str) -> tuple[str, ...]:
    """Confidentiality levels a role may read."""
    top = CONFIDENTIALITY_LEVELS.index(CLEARANCE[ROLES[role_rank(role)]])
    return CONFIDENTIALITY_LEVELS[: top + 1]


def _spec(layer: str | Layer) -> Layer:
    return get_layer(layer) if isinstance(layer, str) else layer


def can_read_layer(role: str, layer: str | Layer) -> bool:
    """Whether any row of ``layer`` may reach ``role``: the role is at least the layer's
    ``min_role``."""
    return at_least(role, _spec(layer).min_role)


def is_restricted_layer(layer: str | Layer) -> bool:
    """Whether a viewer never sees rows of ``layer``, whatever a row's confidentiality says
    (its ``min_role`` is above viewer): intelligence records, hotspot results, plans, the
    audit log. Reading such a layer is audited."""
    return role_rank(_spec(layer).min_role) > role_rank("viewer")


def readable_layers(role: str) -> list[str]:
    """Names of the layers ``role`` may read, in schema order."""
    return [name for name in LAYERS if can_read_layer(role, name)]


def row_filter(role: str, layer: str | Layer) -> dict:
    """A store ``where`` that keeps only rows the role is cleared for (empty if no column)."""
    spec = get_layer(layer) if isinstance(layer, str) else layer
    if "confidentiality" not in spec.field_names or role == "admin":
        return {}
    return {"confidentiality": list(allowed_levels(role))}


def redact(frame: pd.DataFrame, layer: str | Layer, role: str) -> pd.DataFrame:
    """Drop rows above the role's clearance (for frames that did not come through the store)."""
    if not can_read_layer(role, layer):
        return frame.iloc[0:0]
    if "confidentiality" not in frame.columns or role == "admin":
        return frame
    keep = frame["confidentiality"].fillna("restricted").isin(allowed_levels(role))
    return frame[keep.to_numpy()]


def commune_counts(records: pd.DataFrame, communes: gpd.GeoDataFrame, *,
                   by: str | None = None, min_count: int = SMALL_COUNT) -> gpd.GeoDataFrame:
    """Public aggregate: records per commune (optionally per ``by`` value), small counts hidden.

    Counts below ``min_count`` (but above zero) become missing and ``suppressed`` is True,
    so a viewer cannot single out a household from a count of 1.
    """
    codes = records["commune_code"] if "commune_code" in records.columns else pd.Series([], dtype=object)
    if by is None:
        counts = codes.value_counts().rename("count")
        table = pd.DataFrame(counts)
    else:
        table = (records.groupby(["commune_code", by]).size().unstack(fill_value=0)
                 .add_prefix("count_"))
    out = communes[["code", "name", "geometry"]].merge(table, left_on="code", right_index=True,
                                                      how="left")
    count_cols = [c for c in out.columns if c.startswith("count")]
    out[count_cols] = out[count_cols].fillna(0).astype(int)
    small = (out[count_cols] > 0) & (out[count_cols] < min_count)
    out["suppressed"] = small.any(axis=1).to_numpy()
    for c in count_cols:
        out[c] = out[c].astype("Int64").mask(small[c])
    return gpd.GeoDataFrame(out, geometry="geometry", crs=communes.crs)



# --- web service: anonymous visitors, visible fields, aggregates, admin rights --------------
# Added for the Flask service (geo_pcmt.web). ``role`` may be ``None`` here: an anonymous
# visitor, who sees the published reference layers (boundaries, border line) and nothing
# derived from records, not even aggregates.

def readable_layers_for(role: str | None) -> list[str]:
    """Layers ``role`` may read; for anonymous visitors (``None``) the public base layers."""
    if role is None:
        return [name for name, spec in LAYERS.items()
                if spec.kind == "base" and spec.confidentiality_default == "public"
                and not is_restricted_layer(spec)]
    return readable_layers(role)


def can_read_layer_for(role: str | None, layer: str | Layer) -> bool:
    """:func:`can_read_layer`, also answering for anonymous visitors (``None``)."""
    name = layer if isinstance(layer, str) else layer.name
    if name not in LAYERS:
        return False
    return name in readable_layers_for(role) if role is None else can_read_layer(role, name)


def row_filter_for(role: str | None, layer: str | Layer) -> dict:
    """:func:`row_filter` for a role or an anonymous visitor (public rows only)."""
    spec = get_layer(layer) if isinstance(layer, str) else layer
    if role is None:
        return {"confidentiality": ["public"]} if "confidentiality" in spec.field_names else {}
    return row_filter(role, spec)


def operational_fields() -> frozenset[str]:
    """Names of the fields marked ``operational`` in the layer registry (sources, methods,
    case files): analysts and above only.

    They stay out of items, exports and the OpenAPI document for viewers and anonymous
    visitors even on layers those may read (e.g. the criteria that classed a commune).
    """
    return frozenset(name for spec in LAYERS.values() for name in spec.operational_fields)


def visible_fields(role: str | None, layer: str | Layer) -> list[str]:
    """The fields of ``layer`` that reach ``role``, in schema order (empty if unreadable)."""
    spec = get_layer(layer) if isinstance(layer, str) else layer
    if not can_read_layer_for(role, spec):
        return []
    if role is not None and at_least(role, "analyst"):
        return spec.field_names
    return [f.name for f in spec.fields if not f.operational]


def public_aggregates() -> dict[str, Layer]:
    """Per-commune count layers (``<layer>_per_commune``) built by :func:`commune_counts`.

    One for every intelligence record layer (``min_role`` analyst) with geometry and a
    ``commune_code``. They are the viewer's view of restricted records: counts, small ones
    suppressed, no rows.
    """
    from geo_pcmt.layers import Field
    out: dict[str, Layer] = {}
    for name, spec in LAYERS.items():
        if (spec.min_role == "analyst" and spec.kind == "record" and spec.has_geometry
                and "commune_code" in spec.field_names):
            agg = f"{name}_per_commune"
            out[agg] = Layer(
                agg, f"{spec.title_vi} — số lượng theo xã", f"{spec.title_en} — counts per commune",
                "MultiPolygon",
                (Field("id", "str", required=True, label_vi="Mã xã", label_en="Commune code"),
                 Field("code", "str", label_vi="Mã xã (GSO)", label_en="GSO code"),
                 Field("name", "str", label_vi="Tên xã", label_en="Commune name"),
                 Field("count", "int", minimum=0, label_vi="Số lượng", label_en="Count"),
                 Field("suppressed", "bool", label_vi="Ẩn số nhỏ (< %d)" % SMALL_COUNT,
                       label_en="Small count hidden (< %d)" % SMALL_COUNT)),
                kind="derived", confidentiality_default="public",
                description=f"Records of {name} per commune; counts below {SMALL_COUNT} are "
                            "hidden. Secret records are not counted.")
    return out


def aggregate_source(aggregate: str) -> str:
    """The record layer an aggregate counts (``KeyError`` if ``aggregate`` is not one)."""
    if aggregate not in public_aggregates():
        raise KeyError(f"no aggregate named {aggregate!r}")
    return aggregate[: -len("_per_commune")]


def can_read_aggregates(role: str | None) -> bool:
    """Any signed-in role may read the public aggregates; anonymous visitors may not."""
    return role is not None and role in ROLES


def aggregate_row_filter(layer: str | Layer) -> dict:
    """Rows an aggregate counts: up to *restricted*, so secret operations leave no trace."""
    spec = get_layer(layer) if isinstance(layer, str) else layer
    if "confidentiality" not in spec.field_names:
        return {}
    return {"confidentiality": list(AGGREGATE_LEVELS)}


def read_counts(store, layer: str, *, role: str | None) -> gpd.GeoDataFrame:
    """The public aggregate ``<layer>_per_commune`` as ``role`` gets it: the one viewer count.

    Every output that shows a reader counts of records it may not see as rows (the API's
    ``<layer>_per_commune`` collection, its exports, the viewer's map) takes them from here,
    so they agree commune by commune.

    * Records up to *restricted* are counted (:func:`aggregate_row_filter`): a secret
      operation changes no count anyone sees.
    * Counts below :data:`SMALL_COUNT` (but above zero) are missing, ``suppressed`` True.
    * There is no time window, on purpose: counts of two windows could be subtracted to
      reveal the small counts that suppression hides. Every count is over all time.
    * Only ``commune_code`` of the records is read; no field of a record reaches the reader.

    Parameters
    ----------
    store : Store
        Any backend. Communes come from its ``communes`` layer (read as ``role``), or from
        the shipped boundaries when the store has none.
    layer : str
        A record layer with an aggregate (:func:`public_aggregates`), e.g. ``retail_points``.
    role : str or None
        The reader; anonymous visitors (``None``) get no aggregate.

    Returns
    -------
    GeoDataFrame
        One row per commune: ``id`` (= ``code``), ``code``, ``name``, ``count`` (Int64,
        missing where suppressed), ``suppressed``, ``geometry`` (EPSG:4326).

    Raises
    ------
    AccessDenied
        For anonymous visitors, or a layer with no aggregate.
    """
    if not can_read_aggregates(role):
        raise AccessDenied(f"counts of {layer!r} are not readable by role "
                           f"{role or 'anonymous'!r}")
    if f"{layer}_per_commune" not in public_aggregates():
        raise AccessDenied(f"layer {layer!r} has no per-commune aggregate")
    present = {info.name for info in store.layers() if info.count}
    if layer in present:
        records = store.read(layer, columns=["commune_code"], where=aggregate_row_filter(layer))
    else:
        records = pd.DataFrame({"commune_code": pd.Series([], dtype=object)})
    if "communes" in present:
        communes = read(store, "communes", role=role, columns=["code", "name"])
    else:
        from geo_pcmt.ingest import boundaries
        communes = boundaries.communes()[["code", "name", "geometry"]]
    return aggregate_counts(records, communes)


def aggregate_counts(records: pd.DataFrame, communes: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The rows of a public aggregate from records already in memory (pure).

    What :func:`read_counts` computes after reading: records above *restricted* (a missing
    level counts as *restricted*) are left out, then :func:`commune_counts`. Only
    ``commune_code`` of ``records`` is used.

    Returns
    -------
    GeoDataFrame
        ``id``, ``code``, ``name``, ``count``, ``suppressed``, ``geometry``: one row per commune.
    """
    if "confidentiality" in records.columns:
        keep = records["confidentiality"].fillna("restricted").isin(AGGREGATE_LEVELS)
        records = records[keep.to_numpy()]
    codes = records["commune_code"] if "commune_code" in records.columns else []
    out = commune_counts(pd.DataFrame({"commune_code": pd.Series(codes, dtype=object)}),
                         communes)
    out.insert(0, "id", out["code"].astype(str))
    return out[["id", "code", "name", "count", "suppressed", "geometry"]]


def is_aggregate_frame(frame: pd.DataFrame) -> bool:
    """Whether ``frame`` holds aggregate rows (:func:`aggregate_counts`), not records."""
    return {"code", "count", "suppressed"} <= set(frame.columns)


# How a product showing rows of each level is marked (Vietnamese, English): the same words on
# the patrol brief, its GPX, the maps, the exports and the GeoJSON files.


def marking(levels, *, at_least: str = "public") -> tuple[str, str]:
    """The classification mark of a product made from rows of ``levels``: ``(mark, level)``.

    The highest level wins; a missing level counts as *restricted* (as :func:`redact` reads
    it). One function decides the mark of every page and file that shows records.

    Parameters
    ----------
    levels : iterable of str or None
        The ``confidentiality`` of the rows shown (a column, a list, a set).
    at_least : str
        The floor (a patrol plan is at least *restricted*).

    Examples
    --------
    >>> marking(["public", "restricted"]), marking([]), marking([None, "secret"])
    (('MẬT', 'restricted'), ('Công khai', 'public'), ('TỐI MẬT', 'secret'))
    """
    top = CONFIDENTIALITY_LEVELS.index(at_least)
    for v in levels:
        v = "restricted" if v is None or (isinstance(v, float) and v != v) else str(v)
        top = max(top, CONFIDENTIALITY_LEVELS.index(v) if v in CONFIDENTIALITY_LEVELS
                  else CONFIDENTIALITY_LEVELS.index("restricted"))
    level = CONFIDENTIALITY_LEVELS[top]
    return MARKINGS[level][0], level


def frames_marking(frames, *, at_least: str = "public") -> tuple[str, str]:
    """:func:`marking` of every row of ``frames`` (frames without the column are public)."""
    levels: set = set()
    for frame in frames:
        if frame is not None and len(frame) and "confidentiality" in frame.columns:
            levels.update(frame["confidentiality"].astype(object).where(
                frame["confidentiality"].notna(), None).unique().tolist())
    return marking(levels, at_least=at_least)


def is_restricted_read(layer: str | Layer, frame: Any = None) -> bool:
    """Whether reading ``frame`` from ``layer`` must be written to the audit log.

    True for layers not public by default and for any returned row above *public*.
    ``frame``: what :func:`read` returned, or the :class:`~geo_pcmt.store.rows.Rows` of
    :func:`read_rows`.
    """
    spec = get_layer(layer) if isinstance(layer, str) else layer
    if spec.confidentiality_default != "public" or is_restricted_layer(spec):
        return True
    if frame is not None and "confidentiality" in frame.columns and len(frame):
        levels = (frame["confidentiality"].tolist() if isinstance(frame, pd.DataFrame)
                  else frame.column("confidentiality"))  # the Rows of read_rows
        return any(v != "public" for v in levels)  # a missing level reads as restricted
    return False


def can_upload(role: str | None) -> bool:
    """Uploads (and the writes they make) are for analysts and above; viewers never."""
    return role is not None and at_least(role, "analyst")


def can_delete(role: str | None) -> bool:
    """Deleting records is for admins."""
    return role is not None and at_least(role, "admin")


def can_edit_layer(role: str | None, layer: str | Layer) -> bool:
    """Whether ``role`` may create, replace and update single records of ``layer`` through
    the API (OGC API – Features Part 4; deleting still needs :func:`can_delete`).

    Officers' record layers only, for analysts and above (the role that reads every record
    up to *restricted*). Reference boundaries, analysis results and the audit log are
    read-only; so are the patrol plans and stops (``min_role`` commander), which only the
    patrol run writes from the commander's planning page, as a plan and its stops together.
    """
    spec = _spec(layer)
    return (role is not None and spec.kind == "record" and spec.name in LAYERS
            and role_rank(spec.min_role) <= role_rank("analyst")
            and at_least(role, "analyst") and can_read_layer(role, spec))


def can_set_confidentiality(role: str | None, level: str | None) -> bool:
    """Whether ``role`` may give a record the confidentiality ``level`` (None: the layer's
    default, checked once it is known): never above the role's own clearance."""
    return role is not None and (level is None or level in allowed_levels(role))


def can_manage_users(role: str | None) -> bool:
    """Adding, listing and disabling users is for admins."""
    return role is not None and at_least(role, "admin")


def can_view_audit(role: str | None) -> bool:
    """The audit log is for admins."""
    return role is not None and at_least(role, "admin")


# --- the one role-scoped reader --------------------------------------------------------------
# Every output (API, exports, map, patrol, reports, runs) reads record layers through
# :func:`read`; nothing downstream re-implements the role rules.

class AccessDenied(PermissionError):
    """``role`` may not read ``layer`` (or one of the fields it asked for)."""


def _levels_asked(asked, allowed: Sequence[str]) -> list[str]:
    """The allowed values a filter on the scoped column keeps: a value, a list of values or
    an inclusive ``slice`` range (compared as text, as the stores compare it)."""
    if isinstance(asked, slice):
        lo, hi = asked.start, asked.stop
        return [v for v in allowed
                if (lo is None or v >= str(lo)) and (hi is None or v <= str(hi))]
    asked = list(asked) if isinstance(asked, (list, tuple, set, frozenset)) else [asked]
    return [v for v in allowed if v in asked]


def _merge_where(where: Mapping[str, Any] | None, scope: dict) -> dict | None:
    """``where`` with the role's row scope added (intersected with what ``where`` asks of the
    same column; an empty intersection is an empty list, which matches no row)."""
    out = dict(where or {})
    for key, allowed in scope.items():
        out[key] = _levels_asked(out[key], allowed) if key in out else list(allowed)
    return out or None


def _refuse_hidden(role: str | None, layer: str, names, visible: list[str], what: str) -> None:
    hidden = [c for c in names if c not in visible]
    if hidden:
        raise AccessDenied(f"{what} {', '.join(map(repr, hidden))} of layer {layer!r} "
                           f"are not readable by role {role or 'anonymous'!r}")


def read(store, layer: str, *, role: str | None, bbox=None, where: dict | None = None,
         columns: Sequence[str] | None = None, limit: int | None = None,
         offset: int = 0, filter=None, after: int | None = None) -> pd.DataFrame:
    """Read ``layer`` from ``store`` as ``role`` may see it: rows and fields.

    Parameters
    ----------
    store : Store
        Any backend.
    layer : str
        A layer name from :data:`geo_pcmt.layers.LAYERS`.
    role : str or None
        ``viewer`` … ``admin``; ``None`` for an anonymous visitor.
    bbox, where, limit, offset
        Passed to :meth:`Store.read` after the role's row scope is added to ``where``
        (a filter on ``confidentiality`` keeps only the levels the role is cleared for;
        none left reads no row). Filtering on a field the role may not see raises
        :class:`AccessDenied`: the rows a filter keeps would tell its values.
    filter : geo_pcmt.store.filters.Filter, optional
        A checked CQL2 expression, ANDed after the role's row scope (so it can only narrow
        what the role may see). Naming a field the role may not see raises
        :class:`AccessDenied`, as ``where`` does.
    columns : list of str, optional
        Fields wanted; default every field the role may see. Asking for a field the role
        may not see raises :class:`AccessDenied` (the same as an unknown field would).
    after : int, optional
        Keyset paging: rows after the one with this ``fid`` (``attrs["last_fid"]`` of the
        previous page); pages do not slow with their position, unlike ``offset``.

    Returns
    -------
    GeoDataFrame or DataFrame
        Only rows within the role's clearance, only fields the role may see.

    Raises
    ------
    AccessDenied
        If the role may not read the layer at all, or asked for or filtered on a hidden
        field.
    """
    return store.read(layer, **_scoped(role, layer, bbox, where, columns, limit, offset,
                                       filter, after))


def read_rows(store, layer: str, *, role: str | None, bbox=None, where: dict | None = None,
              columns: Sequence[str] | None = None, limit: int | None = None,
              offset: int = 0, filter=None, after: int | None = None):
    """:func:`read` as plain values: the same checks, rows and fields, given as
    :class:`geo_pcmt.store.rows.Rows` (JSON-ready columns and a geometry array) instead of
    a frame, for answers that only serialise the rows (an API page of GeoJSON)."""
    return store.read_rows(layer, **_scoped(role, layer, bbox, where, columns, limit, offset,
                                            filter, after))


def _scoped(role: str | None, layer: str, bbox, where, columns, limit, offset, filter,
            after) -> dict:
    """The store query :func:`read` and :func:`read_rows` make: the checks of
    :func:`_checked_query`, the fields asked (all visible by default, a hidden one
    refused) and the role's row scope merged into ``where``."""
    visible = _checked_query(role, layer, where, filter)
    if columns is None:
        columns = visible
    else:
        _refuse_hidden(role, layer, columns, visible, "field(s)")
        columns = list(columns)
    query = dict(bbox=bbox, where=_merge_where(where, row_filter_for(role, layer)),
                 columns=columns, limit=limit, offset=offset)
    if filter is not None:  # stores without filters still work
        query["filter"] = filter
    if after is not None:
        query["after"] = after
    return query


def _checked_query(role: str | None, layer: str, where: dict | None, filter) -> list[str]:
    """The fields ``role`` sees in ``layer``, once the layer, the ``where`` keys and the
    filter's fields are checked against its clearance (what :func:`read` and :func:`count`
    both refuse: ``AccessDenied``; a filter made for another layer: ``TypeError``)."""
    if not can_read_layer_for(role, layer):
        raise AccessDenied(f"layer {layer!r} is not readable by role {role or 'anonymous'!r}")
    visible = visible_fields(role, layer)
    spec = get_layer(layer)
    # unknown fields are the store's to refuse (KeyError), hidden ones are refused here
    _refuse_hidden(role, layer, [c for c in (where or {}) if c in spec.field_names], visible,
                   "filter on field(s)")
    if filter is not None:
        if getattr(filter, "layer", None) != layer:
            raise TypeError(f"filter was not made for layer {layer!r}")
        _refuse_hidden(role, layer, sorted(filter.fields), visible, "filter on field(s)")
    return visible


def count(store, layer: str, *, role: str | None, bbox=None, where: dict | None = None,
          filter=None) -> int:
    """How many rows :func:`read` would return for the same arguments (no paging)."""
    _checked_query(role, layer, where, filter)
    extra = {} if filter is None else {"filter": filter}
    return store.count(layer, bbox=bbox, where=_merge_where(where, row_filter_for(role, layer)),
                       **extra)


def value_range(store, layer: str, column: str, *, role: str | None) -> tuple | None:
    """``(min, max)`` of ``column`` over the rows of ``layer`` that ``role`` may see (for
    the temporal extent of a collection); a field the role may not see is refused."""
    if not can_read_layer_for(role, layer):
        raise AccessDenied(f"layer {layer!r} is not readable by role {role or 'anonymous'!r}")
    _refuse_hidden(role, layer, [column], visible_fields(role, layer), "field(s)")
    return store.value_range(layer, column, where=_merge_where(None, row_filter_for(role, layer)))
