"""The layer schemas of geo_pcmt, defined once, as data: fields, geometry and who sees them.

The same definitions drive ingest validation (:mod:`geo_pcmt.ingest`), the store's tables
(:mod:`geo_pcmt.store`), the export field lists (:mod:`geo_pcmt.outputs.export`), the
OpenAPI document and the access rules (:mod:`geo_pcmt.access` reads :attr:`Layer.min_role`
and :attr:`Field.operational`). A layer is a :class:`Layer`; a column is a :class:`Field`.

The layers themselves are in :mod:`.records` (reference boundaries, officers' records,
tables) and :mod:`.derived` (written by analysis runs); every name stays importable from
``geo_pcmt.layers``. Every *record* layer carries the common columns ``id``, ``source``,
``confidentiality``, ``created_at`` and ``updated_at``. Everything is stored in EPSG:4326
(lon/lat).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

FieldType = Literal["str", "int", "float", "bool", "date", "datetime"]
GeometryType = Literal["Point", "MultiPolygon", "LineString", "MultiLineString", "Geometry", None]
Confidentiality = Literal["public", "restricted", "secret"]
Role = Literal["viewer", "analyst", "commander", "admin"]

CONFIDENTIALITY_LEVELS: tuple[str, ...] = ("public", "restricted", "secret")
#: Roles from least to most rights (see :mod:`geo_pcmt.access`).
ROLES: tuple[str, ...] = ("viewer", "analyst", "commander", "admin")


@dataclass(frozen=True)
class Field:
    """One column of a layer.

    Parameters
    ----------
    name : str
        Column name, ``snake_case`` ASCII, the same in store, API and exports.
    type : {"str", "int", "float", "bool", "date", "datetime"}
        Value type. Dates and datetimes are ISO 8601 text in storage.
    required : bool
        Whether every row must have a value.
    allowed : tuple of str, optional
        Closed set of allowed values (for ``str`` columns).
    minimum : float, optional
        Smallest allowed value for numbers (e.g. 0 for counts).
    label_vi, label_en : str
        Labels for forms, popups and exports.
    max_length : int
        Longest accepted text, to keep hostile 10 MB strings out of the store.
    operational : bool
        Whether the column reveals sources, methods or case files (a case number, an
        address, who detected a plot, the criteria that classed a commune): analysts and
        above only, left out of items, exports and the OpenAPI document for viewers and
        anonymous visitors even on layers those may read.
    """

    name: str
    type: FieldType = "str"
    required: bool = False
    allowed: tuple[str, ...] | None = None
    minimum: float | None = None
    label_vi: str = ""
    label_en: str = ""
    max_length: int = 2000
    operational: bool = False


@dataclass(frozen=True)
class Layer:
    """A layer: its name, geometry type, fields and who may see it.

    ``kind`` is ``"base"`` (shipped reference data), ``"record"`` (entered by officers),
    ``"table"`` (no geometry) or ``"derived"`` (written by an analysis run).

    ``min_role`` is the least role that may read any row of the layer (``viewer``,
    ``analyst``, ``commander`` or ``admin``); rows are then filtered by the role's
    clearance against their ``confidentiality``. It defaults to ``viewer`` for layers
    public by default and ``analyst`` for the others; intelligence layers (records of drug
    activity and the hotspots found from them) say ``analyst`` outright, so that no row of
    theirs reaches a viewer whatever its confidentiality says.
    """

    name: str
    title_vi: str
    title_en: str
    geometry_type: GeometryType
    fields: tuple[Field, ...]
    kind: Literal["base", "record", "table", "derived"] = "record"
    confidentiality_default: Confidentiality = "restricted"
    time_field: str | None = None
    description: str = ""
    min_role: Role | None = None

    def __post_init__(self) -> None:
        if self.min_role is None:
            default = "viewer" if self.confidentiality_default == "public" else "analyst"
            object.__setattr__(self, "min_role", default)
        elif self.min_role not in ROLES:
            raise ValueError(f"layer {self.name!r}: min_role {self.min_role!r} is not one of "
                             f"{', '.join(ROLES)}")

    @property
    def has_geometry(self) -> bool:
        return self.geometry_type is not None

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    @property
    def required_fields(self) -> list[str]:
        return [f.name for f in self.fields if f.required]

    @property
    def operational_fields(self) -> list[str]:
        """Names of the fields marked ``operational``, in schema order."""
        return [f.name for f in self.fields if f.operational]

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"layer {self.name!r} has no field {name!r}")


LAYERS: dict[str, Layer] = {}


def _register(layer: Layer) -> Layer:
    LAYERS[layer.name] = layer
    return layer


def register_derived(layer: Layer) -> Layer:
    """Register a layer written by an analysis (clusters, Gi* cells, flags …)."""
    return _register(layer)


def get_layer(name: str) -> Layer:
    """Return the schema of layer ``name`` or raise ``KeyError`` with the known names."""
    try:
        return LAYERS[name]
    except KeyError:
        raise KeyError(f"unknown layer {name!r}; known layers: {', '.join(sorted(LAYERS))}") from None


_AREA_SEPARATORS = re.compile(r"[;,\s]+")


def area_codes(value: object) -> tuple[str, ...]:
    """The commune codes listed in a post's ``area_of_responsibility``, in order, once each.

    The one parser of that field: codes are separated by ``;`` (as stored), ``,`` or white
    space; empty and missing values give an empty tuple.

    Examples
    --------
    >>> area_codes("16681; 16684,16687 16690;16681")
    ('16681', '16684', '16687', '16690')
    >>> area_codes(None)
    ()
    """
    if value is None or (isinstance(value, float) and value != value):
        return ()
    return tuple(dict.fromkeys(c for c in _AREA_SEPARATORS.split(str(value)) if c))


def stops_done(value: object) -> tuple[tuple[str, str | None], ...]:
    """The stops a patrol track says were done: ``(target id, ISO time or None)``, in order.

    The one parser of ``patrol_tracks.stops_done``. Two spellings are accepted: the field
    app's JSON list (``[{"target_id": "rp-1", "at": "2026-01-15T08:10:00"}, …]``) and the
    spreadsheet's ``target id@time`` items separated by ``;`` (the time may be left out).
    Missing values give an empty tuple.

    Raises
    ------
    ValueError
        Malformed JSON, an item with no target id, or a time that is not a date-time,
        naming the item (numbered from 1).

    Examples
    --------
    >>> stops_done("rp-1@2026-01-15T08:10; bc-2")
    (('rp-1', '2026-01-15T08:10:00'), ('bc-2', None))
    >>> stops_done('[{"target_id": "rp-1", "at": "2026-01-15 08:10"}]')
    (('rp-1', '2026-01-15T08:10:00'),)
    """
    import json
    from datetime import datetime

    if value is None or (isinstance(value, float) and value != value) or not str(value).strip():
        return ()
    text = str(value).strip()
    if text.startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not valid JSON: {exc.msg} at character {exc.pos + 1}") from None
        except RecursionError:  # "[[[[…" nested past Python's limit
            raise ValueError("not valid JSON: nested too deeply") from None
        if not isinstance(items, list):
            raise ValueError("the JSON must be a list of {target_id, at} objects")
        pairs = []
        for k, item in enumerate(items, start=1):
            if not isinstance(item, dict):
                raise ValueError(f"item {k} is not an object with target_id and at")
            pairs.append((item.get("target_id"), item.get("at")))
    else:
        pairs = [tuple(part.split("@", 1)) if "@" in part else (part, None)
                 for part in (p.strip() for p in text.split(";")) if part]
    out = []
    for k, (tid, at) in enumerate(pairs, start=1):
        tid = "" if tid is None else str(tid).strip()
        if not tid:
            raise ValueError(f"item {k} has no target id")
        when = None
        if at is not None and str(at).strip():
            try:
                when = datetime.fromisoformat(str(at).strip()).isoformat()
            except ValueError:
                raise ValueError(f"item {k} ({tid}): time {at!r} is not a date-time "
                                 "(YYYY-MM-DDTHH:MM)") from None
        out.append((tid, when))
    return tuple(out)


# the layers, registered in schema order: reference and records first, then run outputs
from geo_pcmt.layers.records import (  # noqa: E402
    COMMUNE_STATUS, CROSSING_KINDS, FACILITY_KINDS, GEOCODE_QUALITY, RECOGNITION_LABELS,
    RETAIL_POINT_STATUS, RETAIL_POINT_TYPES, F, _common, _LOCATED)
from geo_pcmt.layers.derived import (  # noqa: E402
    COMMUNE_STATUS_VALUES, COMPUTED_CLASSES, EMERGING_CATEGORIES, FLAG_LEVELS, HOTSPOT_CLASSES, PATROL_MODES,
    PLAN_TARGETS, _derived_common)

__all__ = [
    "COMMUNE_STATUS", "COMMUNE_STATUS_VALUES", "COMPUTED_CLASSES", "CONFIDENTIALITY_LEVELS", "CROSSING_KINDS",
    "Confidentiality", "EMERGING_CATEGORIES", "F", "FACILITY_KINDS", "FLAG_LEVELS", "Field",
    "FieldType", "GEOCODE_QUALITY", "GeometryType", "HOTSPOT_CLASSES", "LAYERS", "Layer",
    "PATROL_MODES", "PLAN_TARGETS", "RECOGNITION_LABELS", "RETAIL_POINT_STATUS",
    "RETAIL_POINT_TYPES", "ROLES", "Role", "area_codes", "get_layer", "register_derived",
    "stops_done",
]
