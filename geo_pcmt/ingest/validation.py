"""Check a frame read from an officer's file against a layer's schema, row by row.

:func:`validate` runs the steps in order: headers, columns, every cell of every field,
duplicate ids and date order, then the geometry (:mod:`geo_pcmt.ingest.geometry`) and the
commune of each row; it returns a :class:`~geo_pcmt.ingest.report.ValidationReport`.
"""
from __future__ import annotations

import re
from datetime import date
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geo_pcmt.crs import STORAGE_CRS
from geo_pcmt.ingest import boundaries
from geo_pcmt.ingest.cells import is_blank, parse_cell
from geo_pcmt.ingest.geometry import check_commune, check_commune_codes, geometries
from geo_pcmt.ingest.report import Checker, ValidationReport
from geo_pcmt.layers import Field, Layer, get_layer

LON_NAMES = ("lon", "lng", "long", "longitude", "kinh_do", "kinhdo", "x")
LAT_NAMES = ("lat", "latitude", "vi_do", "vido", "y")
_HTML_RE = re.compile(r"<\s*/?\s*[a-zA-Z!]|javascript:|on\w+\s*=", re.IGNORECASE)
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_DATE_ORDER = (("first_seen", "last_activity"), ("first_seen", "cleared_on"),
               ("detected_on", "eradicated_on"))


def validate(frame: pd.DataFrame, layer: str | Layer, *, fix_swapped: bool = False,
             repair: bool = False, crs: str | None = None, source: str | None = None,
             communes: gpd.GeoDataFrame | None = None, gazetteer=None,
             today: date | None = None) -> ValidationReport:
    """Check every row of ``frame`` against the schema of ``layer``.

    Parameters
    ----------
    frame : DataFrame or GeoDataFrame
        As returned by :func:`~geo_pcmt.ingest.reading.read_any`; points may come as lon/lat
        columns (``lon``/``lng``/``longitude``/``kinh_do``/``x`` and
        ``lat``/``latitude``/``vi_do``/``y``) or, lacking coordinates, be geocoded from an
        ``address`` column.
    layer : str or Layer
    fix_swapped : bool
        Swap lat/lon back where a point is clearly swapped (a warning instead of an error).
    repair : bool
        Repair invalid geometries with ``shapely.make_valid`` (a warning instead of an error).
    crs : str, optional
        CRS of coordinate columns when not lon/lat (e.g. ``"EPSG:32648"``).
    source : str, optional
        Value for ``source`` where the file has none.
    communes : GeoDataFrame, optional
        Commune polygons for the spatial join (default: the shipped 2025 communes).
    gazetteer : Gazetteer, optional
        For rows with an address and no coordinates (default: the shipped gazetteer).
    today : date, optional
        Dates after this are rejected (default: today).

    Returns
    -------
    ValidationReport
        ``clean`` holds only the rows without errors, shaped to the layer's schema.
    """
    spec = get_layer(layer) if isinstance(layer, str) else layer
    communes = boundaries.communes() if communes is None else communes
    today = today or date.today()
    chk = Checker()
    df, cols, geom_name = _normalise_headers(frame)
    lon_col = lat_col = None
    if spec.has_geometry:
        lon_col, lat_col = _find(cols, LON_NAMES), _find(cols, LAT_NAMES)
    _check_columns(cols, spec, {lon_col, lat_col}, chk)
    if "source" in spec.field_names and "source" not in cols and source:
        df["source"] = source
        cols.append("source")
    for c in spec.required_fields:
        if c not in cols:
            chk.error(None, c, None, f"required column {c!r} is missing", "missing_column")
    out = {f.name: [_parse_value(f, r, v, source, today, chk)
                    for r, v in enumerate(df[f.name].to_numpy(dtype=object), start=1)]
           for f in spec.fields if f.name in cols}
    _check_duplicates(out.get("id"), chk)
    _check_date_order(out, chk)
    geometry = None
    if spec.has_geometry:
        geometry = geometries(df, spec, geom_name, lon_col, lat_col, crs, fix_swapped,
                              repair, chk, out, communes, gazetteer)
        check_commune(out, geometry, communes, spec, chk)
    elif "commune_code" in out:
        check_commune_codes(out, communes, chk)
    clean = _clean_frame(spec, out, geometry, _kept_rows(len(df), chk))
    problems = sorted(chk.problems, key=lambda p: (p.row or 0, p.field or ""))
    return ValidationReport(spec.name, len(df), clean, problems)


def _normalise_headers(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str], str | None]:
    """A copy with rows numbered from 1 and headers folded ("Type " → "type"): the frame,
    its columns other than the geometry, and the geometry column's name (None if none)."""
    df = frame.copy()
    df.index = np.arange(1, len(df) + 1)
    geom_name = df.geometry.name if isinstance(df, gpd.GeoDataFrame) else None
    cols = [c for c in df.columns if c != geom_name]
    rename = {c: str(c).strip().lower().replace(" ", "_") for c in cols}
    return df.rename(columns=rename), [rename[c] for c in cols], geom_name


def _find(columns: list[str], names: tuple[str, ...]) -> str | None:
    low = {str(c).strip().lower(): c for c in columns}
    for n in names:
        if n in low:
            return low[n]
    return None


def _check_columns(cols: list[str], spec: Layer, coordinate_cols: set, chk: Checker) -> None:
    """Columns the layer does not have are file errors (coordinates and address excepted)."""
    helper_cols = coordinate_cols | {"address" if "address" not in spec.field_names else None}
    for c in cols:
        if c not in spec.field_names and c not in helper_cols:
            chk.error(None, c, None, f"unknown column {c!r} for layer {spec.name}; known "
                      f"columns: {', '.join(spec.field_names)}", "unknown_column")


def _parse_value(f: Field, r: int, v: Any, source: str | None, today: date,
                 chk: Checker) -> Any:
    """Cell ``v`` of row ``r`` as a value of field ``f``, or None (blank or rejected)."""
    if is_blank(v):
        if f.name == "source" and source:
            return source
        if f.required:
            chk.error(r, f.name, None, "required value is missing", "missing_value")
        return None
    try:
        p = parse_cell(v, f.type)
    except (TypeError, ValueError, OverflowError) as exc:
        chk.error(r, f.name, v, f"not a valid {f.type}: {exc}", "bad_type")
        return None
    if f.type == "str":
        p = p.strip()
        if not _text_ok(f, r, p, chk):
            return None
    if f.allowed is not None and p not in f.allowed:
        chk.error(r, f.name, v, f"not an allowed value; use one of: "
                  f"{', '.join(f.allowed)}", "not_allowed")
        return None
    if f.minimum is not None and isinstance(p, (int, float)) and p < f.minimum:
        chk.error(r, f.name, v, f"must be ≥ {f.minimum:g}", "below_minimum")
        return None
    if f.type == "date" and p > today.isoformat():
        chk.error(r, f.name, v, f"date is in the future (after {today.isoformat()})",
                  "future_date")
        return None
    return p


def _text_ok(f: Field, r: int, p: str, chk: Checker) -> bool:
    """Reject over-long text and control characters; warn about script-like text."""
    if len(p) > f.max_length:
        chk.error(r, f.name, p, f"text longer than {f.max_length} characters ({len(p)})",
                  "too_long")
        return False
    if _CONTROL_RE.search(p):
        chk.error(r, f.name, p, "contains control characters", "control_chars")
        return False
    if _HTML_RE.search(p):
        chk.warn(r, f.name, p, "contains HTML/script-like text; it is stored as plain text "
                 "and always shown escaped", "html_text")
    return True


def _check_duplicates(ids: list | None, chk: Checker) -> None:
    if ids is None:
        return
    seen: dict[str, int] = {}
    for i, v in enumerate(ids):
        if v is None:
            continue
        if v in seen:
            chk.error(i + 1, "id", v, f"duplicate id; first used in row {seen[v]}", "duplicate_id")
        else:
            seen[v] = i + 1


def _check_date_order(out: dict, chk: Checker) -> None:
    for a, b in _DATE_ORDER:
        if a in out and b in out:
            for i, (va, vb) in enumerate(zip(out[a], out[b])):
                if va and vb and vb < va:
                    chk.error(i + 1, b, vb, f"{b} is before {a} ({va})", "date_order")


def _kept_rows(n: int, chk: Checker) -> np.ndarray:
    """Which rows go into the clean frame: none when the file itself has an error."""
    if chk.file_rejected:
        return np.zeros(n, dtype=bool)
    return np.array([r not in chk.bad for r in range(1, n + 1)], dtype=bool)


def _clean_frame(spec: Layer, out: dict, geometry, keep: np.ndarray) -> pd.DataFrame:
    """The kept rows shaped to the layer: a GeoDataFrame in EPSG:4326 if it has geometry."""
    data = {k: [v for v, k_ in zip(vals, keep) if k_] for k, vals in out.items()}
    if spec.has_geometry:
        clean = gpd.GeoDataFrame(pd.DataFrame(data), geometry=list(np.asarray(geometry)[keep])
                                 if len(keep) else [], crs=STORAGE_CRS)
    else:
        clean = pd.DataFrame(data)
    for c in clean.columns:
        if c in spec.field_names and spec.field(c).type == "int":
            clean[c] = pd.array(clean[c], dtype="Int64")
    return clean.reset_index(drop=True)
