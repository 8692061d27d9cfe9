"""Read officers' files (CSV, XLSX, GeoJSON, GPKG, KML) and validate them against a layer.

``read_any(path)`` reads a file as it is; ``validate(frame, layer)`` checks every row and
returns a :class:`ValidationReport` whose problems each name the row, field, value and
reason; ``load(store, layer, path)`` stores the clean rows only when the whole file is clean
(or when the user asks to keep the valid rows). Rows are numbered from 1 = first record,
which is the spreadsheet row number minus one (the header).
"""
from __future__ import annotations

import math
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import shapely

from geo_pcmt.ingest import boundaries, safety
from geo_pcmt.crs import METRIC_CRS, STORAGE_CRS
from geo_pcmt.layers import Layer, get_layer
from geo_pcmt.ingest.spatial import assign_communes

DEFAULT_MAX_BYTES = 50 * 1024 * 1024  # 50 MB per upload
MAX_XLSX_UNPACKED = 200 * 1024 * 1024  # a 50 MB .xlsx never legitimately unpacks past this
OUTSIDE_TOLERANCE_KM = 0.5  # points this close outside the (simplified) outline only warn

LON_NAMES = ("lon", "lng", "long", "longitude", "kinh_do", "kinhdo", "x")
LAT_NAMES = ("lat", "latitude", "vi_do", "vido", "y")
_HTML_RE = re.compile(r"<\s*/?\s*[a-zA-Z!]|javascript:|on\w+\s*=", re.IGNORECASE)
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_VN_DATE_RE = re.compile(r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\s*$")


class IngestError(Exception):
    """A file that cannot be read at all (too big, unknown format, not parseable)."""


@dataclass(frozen=True)
class Problem:
    """One problem in one row (``row`` is None for problems of the whole file)."""

    row: int | None
    field: str | None
    value: Any
    reason: str
    severity: str = "error"  # or "warning"
    code: str = "invalid"

    def __str__(self) -> str:
        where = "file" if self.row is None else f"row {self.row}"
        fld = f", field {self.field!r}" if self.field else ""
        val = "" if self.value is None else f" (value: {_short(self.value)})"
        return f"{self.severity}: {where}{fld}: {self.reason}{val}"

    def as_dict(self) -> dict:
        return {"row": None if self.row is None else int(self.row), "field": self.field, "value": _jsonable(self.value),
                "reason": self.reason, "severity": self.severity, "code": self.code}


@dataclass
class ValidationReport:
    """The outcome of validating one file for one layer."""

    layer: str
    rows_total: int
    clean: gpd.GeoDataFrame | pd.DataFrame
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def rows_valid(self) -> int:
        return len(self.clean)

    @property
    def rows_rejected(self) -> list[int]:
        return sorted({p.row for p in self.errors if p.row is not None})

    def as_dict(self) -> dict:
        return {"layer": self.layer, "ok": self.ok, "rows_total": self.rows_total,
                "rows_valid": self.rows_valid, "rows_rejected": self.rows_rejected,
                "errors": len(self.errors), "warnings": len(self.warnings),
                "problems": [p.as_dict() for p in self.problems]}


def _short(value: Any, n: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= n else text[: n - 1] + "…"


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (bool, int, str)):
        return value if not isinstance(value, str) or len(value) < 200 else value[:199] + "…"
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    return _short(value, 200)


# --- reading ------------------------------------------------------------------------------

def read_any(path: str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES,
             sheet: str | int = 0) -> pd.DataFrame:
    """Read CSV, XLSX, GeoJSON, GPKG or KML into a frame without judging its content.

    CSV and XLSX are read as text (every cell a string) so that validation sees what the
    officer typed. Spatial formats keep their geometry and declared CRS.

    Raises
    ------
    IngestError
        File missing, over ``max_bytes``, of an unknown type, or unreadable.
    """
    path = Path(path)
    if not path.exists():
        raise IngestError(f"file not found: {path}")
    size = path.stat().st_size
    if size > max_bytes:
        raise IngestError(f"file {path.name} is {size / 1e6:.1f} MB, over the limit of "
                          f"{max_bytes / 1e6:.1f} MB")
    suffix = path.suffix.lower()
    safety.check_upload(path)  # no links out, GDAL offline: see geo_pcmt.ingest.safety
    try:
        if suffix in (".csv", ".txt"):
            return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        if suffix in (".xlsx", ".xlsm"):
            _check_zip(path)
            return pd.read_excel(path, sheet_name=sheet, dtype=str, keep_default_na=False,
                                 engine="openpyxl")
        if suffix == ".kml":
            return _tidy_kml(pyogrio.read_dataframe(path))
        if suffix in (".geojson", ".json", ".gpkg", ".gpx", ".shp", ".fgb"):
            return pyogrio.read_dataframe(path)
    except IngestError:
        raise
    except Exception as exc:  # the reader's own message is what the user needs
        raise IngestError(f"cannot read {path.name}: {exc}") from None
    raise IngestError(f"unsupported file type {suffix!r}; use CSV, XLSX, GeoJSON, GPKG or KML")


_KML_STYLE_COLUMNS = ("description", "timestamp", "begin", "end", "altitudeMode", "tessellate",
                      "extrude", "visibility", "drawOrder", "icon", "id2")
_KML_DEFAULTS = (-1, 0)


def _tidy_kml(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Drop KML's own styling columns when they carry nothing; ``Name`` becomes ``name``."""
    for col in _KML_STYLE_COLUMNS:
        if col in frame.columns:
            values = frame[col]
            if values.isna().all() or values.isin(_KML_DEFAULTS).all():
                frame = frame.drop(columns=col)
    if "Name" in frame.columns and "name" not in frame.columns:
        frame = frame.rename(columns={"Name": "name"})
    return frame


def _check_zip(path: Path) -> None:
    """Refuse XLSX files that are not zips or that unpack to an absurd size (zip bombs)."""
    try:
        with zipfile.ZipFile(path) as zf:
            unpacked = sum(i.file_size for i in zf.infolist())
    except zipfile.BadZipFile:
        raise IngestError(f"{path.name} is not a valid .xlsx file") from None
    if unpacked > MAX_XLSX_UNPACKED:
        raise IngestError(f"{path.name} unpacks to {unpacked / 1e6:.0f} MB, over the limit of "
                          f"{MAX_XLSX_UNPACKED / 1e6:.0f} MB (zip bomb?)")


# --- validation ---------------------------------------------------------------------------

def _blank(v: Any) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    return isinstance(v, str) and v.strip() == ""


def parse_date(value: Any) -> str:
    """ISO date from ``YYYY-MM-DD`` or the Vietnamese ``dd/mm/yyyy`` (day first)."""
    if isinstance(value, (datetime, pd.Timestamp)):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    m = _VN_DATE_RE.match(text)
    if m:
        d, mth, y = map(int, m.groups())
        return date(y, mth, d).isoformat()
    if len(text) >= 10 and text[4] == "-":
        return date.fromisoformat(text[:10]).isoformat()
    raise ValueError("not a date; write YYYY-MM-DD or dd/mm/yyyy")


def _parse_cell(value: Any, ftype: str) -> Any:
    if ftype == "str":
        return str(value)
    if ftype == "int":
        f = float(str(value).replace(",", "")) if isinstance(value, str) else float(value)
        if not math.isfinite(f) or not f.is_integer():
            raise ValueError("not a whole number")
        return int(f)
    if ftype == "float":
        f = float(str(value).replace(",", ".")) if isinstance(value, str) else float(value)
        if not math.isfinite(f):
            raise ValueError("not a finite number")
        return f
    if ftype == "bool":
        if isinstance(value, (bool, np.bool_)):
            return bool(value)
        low = str(value).strip().lower()
        if low in ("true", "1", "yes", "có", "co", "x"):
            return True
        if low in ("false", "0", "no", "không", "khong"):
            return False
        raise ValueError("not true/false (có/không)")
    if ftype == "date":
        return parse_date(value)
    if ftype == "datetime":
        return pd.Timestamp(str(value)).isoformat()
    raise ValueError(f"unknown type {ftype}")


def _find(columns: list[str], names: tuple[str, ...]) -> str | None:
    low = {str(c).strip().lower(): c for c in columns}
    for n in names:
        if n in low:
            return low[n]
    return None


class _Checker:
    """Collects problems and remembers which rows are rejected."""

    def __init__(self):
        self.problems: list[Problem] = []
        self.bad: set[int] = set()

    def error(self, row, fld, value, reason, code="invalid"):
        row = None if row is None else int(row)
        self.problems.append(Problem(row, fld, value, reason, "error", code))
        if row is not None:
            self.bad.add(row)

    def warn(self, row, fld, value, reason, code="warning"):
        row = None if row is None else int(row)
        self.problems.append(Problem(row, fld, value, reason, "warning", code))


def validate(frame: pd.DataFrame, layer: str | Layer, *, fix_swapped: bool = False,
             repair: bool = False, crs: str | None = None, source: str | None = None,
             communes: gpd.GeoDataFrame | None = None, gazetteer=None,
             today: date | None = None) -> ValidationReport:
    """Check every row of ``frame`` against the schema of ``layer``.

    Parameters
    ----------
    frame : DataFrame or GeoDataFrame
        As returned by :func:`read_any`; points may come as lon/lat columns
        (``lon``/``lng``/``longitude``/``kinh_do``/``x`` and ``lat``/``latitude``/``vi_do``/``y``)
        or, lacking coordinates, be geocoded from an ``address`` column.
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
    chk = _Checker()
    df = frame.copy()
    n = len(df)
    rows = np.arange(1, n + 1)
    df.index = rows
    geom_name = df.geometry.name if isinstance(df, gpd.GeoDataFrame) else None
    cols = [c for c in df.columns if c != geom_name]
    # normalise header case and spacing: "Type " → "type"
    rename = {c: str(c).strip().lower().replace(" ", "_") for c in cols}
    df = df.rename(columns=rename)
    cols = [rename[c] for c in cols]
    lon_col = lat_col = None
    if spec.has_geometry:
        lon_col, lat_col = _find(cols, LON_NAMES), _find(cols, LAT_NAMES)
    helper_cols = {lon_col, lat_col, "address" if "address" not in spec.field_names else None}
    for c in cols:
        if c not in spec.field_names and c not in helper_cols:
            chk.error(None, c, None, f"unknown column {c!r} for layer {spec.name}; known "
                      f"columns: {', '.join(spec.field_names)}", "unknown_column")
    if "source" in spec.field_names and "source" not in cols and source:
        df["source"] = source
        cols.append("source")
    for c in spec.required_fields:
        if c not in cols:
            chk.error(None, c, None, f"required column {c!r} is missing", "missing_column")
    out: dict[str, list] = {}
    for f in spec.fields:
        if f.name not in cols:
            continue
        values = df[f.name].to_numpy(dtype=object)
        parsed = [None] * n
        for i, v in enumerate(values):
            r = i + 1
            if _blank(v):
                if f.required and not (f.name == "source" and source):
                    chk.error(r, f.name, None, "required value is missing", "missing_value")
                elif f.name == "source" and source:
                    parsed[i] = source
                continue
            try:
                p = _parse_cell(v, f.type)
            except (TypeError, ValueError, OverflowError) as exc:
                chk.error(r, f.name, v, f"not a valid {f.type}: {exc}", "bad_type")
                continue
            if f.type == "str":
                p = p.strip()
                if len(p) > f.max_length:
                    chk.error(r, f.name, p, f"text longer than {f.max_length} characters "
                              f"({len(p)})", "too_long")
                    continue
                if _CONTROL_RE.search(p):
                    chk.error(r, f.name, p, "contains control characters", "control_chars")
                    continue
                if _HTML_RE.search(p):
                    chk.warn(r, f.name, p, "contains HTML/script-like text; it is stored as "
                             "plain text and always shown escaped", "html_text")
            if f.allowed is not None and p not in f.allowed:
                chk.error(r, f.name, v, f"not an allowed value; use one of: "
                          f"{', '.join(f.allowed)}", "not_allowed")
                continue
            if f.minimum is not None and isinstance(p, (int, float)) and p < f.minimum:
                chk.error(r, f.name, v, f"must be ≥ {f.minimum:g}", "below_minimum")
                continue
            if f.type == "date" and p > today.isoformat():
                chk.error(r, f.name, v, f"date is in the future (after {today.isoformat()})",
                          "future_date")
                continue
            parsed[i] = p
        out[f.name] = parsed
    _check_duplicates(out.get("id"), chk)
    _check_date_order(spec, out, chk)
    geometry = None
    if spec.has_geometry:
        geometry = _geometries(df, spec, geom_name, lon_col, lat_col, crs, fix_swapped,
                               repair, chk, out, communes, gazetteer)
        _check_commune(out, geometry, communes, spec, chk)
    elif "commune_code" in out:
        _check_commune_codes(out, communes, chk)
    keep = np.array([r not in chk.bad for r in rows], dtype=bool)
    if any(p.row is None and p.severity == "error" for p in chk.problems):
        keep[:] = False  # a file-level error (missing column) rejects every row
    data = {k: [v for v, k_ in zip(vals, keep) if k_] for k, vals in out.items()}
    if spec.has_geometry:
        clean = gpd.GeoDataFrame(pd.DataFrame(data), geometry=list(np.asarray(geometry)[keep])
                                 if n else [], crs=STORAGE_CRS)
    else:
        clean = pd.DataFrame(data)
    for c in clean.columns:
        if c in spec.field_names and spec.field(c).type == "int":
            clean[c] = pd.array(clean[c], dtype="Int64")
    problems = sorted(chk.problems, key=lambda p: (p.row or 0, p.field or ""))
    return ValidationReport(spec.name, n, clean.reset_index(drop=True), problems)


def _check_duplicates(ids: list | None, chk: _Checker) -> None:
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


def _check_date_order(spec: Layer, out: dict, chk: _Checker) -> None:
    pairs = [("first_seen", "last_activity"), ("first_seen", "cleared_on"),
             ("detected_on", "eradicated_on")]
    for a, b in pairs:
        if a in out and b in out:
            for i, (va, vb) in enumerate(zip(out[a], out[b])):
                if va and vb and vb < va:
                    chk.error(i + 1, b, vb, f"{b} is before {a} ({va})", "date_order")


def _in_region(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Loose box around Nghệ An (with 0.5° margin): where a lon/lat pair can sensibly be."""
    return (lon > 103.3) & (lon < 106.5) & (lat > 18.0) & (lat < 20.5)


def _geometries(df, spec, geom_name, lon_col, lat_col, crs, fix_swapped, repair, chk, out,
                communes, gazetteer) -> np.ndarray:
    n = len(df)
    geoms = np.full(n, None, dtype=object)
    if geom_name is not None:
        src = df.geometry
        if src.crs is not None and pyproj.CRS(src.crs) != pyproj.CRS(STORAGE_CRS):
            src = src.to_crs(STORAGE_CRS)
        geoms[:] = np.asarray(src.values, dtype=object)
        present = np.array([g is not None for g in geoms], dtype=bool)
        geoms[present] = shapely.force_2d(geoms[present])  # KML/GPX carry altitude; we store 2D
    elif lon_col and lat_col:
        geoms = _points_from_columns(df, lon_col, lat_col, crs, fix_swapped, chk)
    geoms = _geocode_missing(df, spec, geoms, chk, out, communes, gazetteer)
    allowed = {"Point": {"Point"}, "MultiPolygon": {"Polygon", "MultiPolygon"},
               "MultiLineString": {"LineString", "MultiLineString"}, "LineString": {"LineString"},
               "Geometry": {"Point", "Polygon", "MultiPolygon", "MultiPoint", "LineString",
                            "MultiLineString"}}[spec.geometry_type]
    for i in np.flatnonzero([g is None for g in geoms]):
        if i + 1 not in chk.bad:
            chk.error(i + 1, "geometry", None, "no geometry: give lon/lat or an address that "
                      "names a commune", "missing_geometry")
    idx = np.flatnonzero([g is not None for g in geoms])
    if not len(idx):
        return geoms
    # vectorised screening; only rows that fail a test go through the slow, explaining path
    arr = geoms[idx]
    coords, owner = shapely.get_coordinates(arr, return_index=True)
    finite = np.ones(len(arr), dtype=bool)
    finite[owner[~np.isfinite(coords).all(axis=1)]] = False
    bounds = shapely.bounds(arr)
    suspect = (shapely.is_empty(arr) | ~finite | ~shapely.is_valid(arr)
               | ~np.isin(shapely.get_type_id(arr), [_TYPE_IDS[t] for t in allowed])
               | ~_in_region(bounds[:, 0], bounds[:, 1]) | ~_in_region(bounds[:, 2], bounds[:, 3]))
    for i in idx[suspect]:
        geoms[i] = _explain_geometry(i + 1, geoms[i], spec, allowed, repair, chk)
    _check_inside_province(geoms, chk)
    return geoms


_TYPE_IDS = {"Point": 0, "LineString": 1, "Polygon": 3, "MultiPoint": 4, "MultiLineString": 5,
             "MultiPolygon": 6}


def _explain_geometry(r: int, g, spec: Layer, allowed: set, repair: bool, chk: _Checker):
    """Say what is wrong with one geometry; return it (repaired) or None when rejected."""
    if g.is_empty:
        chk.error(r, "geometry", None, "empty geometry", "empty_geometry")
        return None
    if g.geom_type not in allowed:
        chk.error(r, "geometry", g.geom_type, f"geometry type {g.geom_type} not allowed for "
                  f"{spec.name} (expects {spec.geometry_type})", "geometry_type")
        return None
    coords = shapely.get_coordinates(g)
    if not np.isfinite(coords).all():
        chk.error(r, "geometry", None, "coordinates are NaN or infinite", "bad_coordinates")
        return None
    if not g.is_valid:
        reason = shapely.is_valid_reason(g)
        if not repair:
            chk.error(r, "geometry", None, f"invalid geometry: {reason}; fix it or load with "
                      "--repair", "invalid_geometry")
            return None
        g = shapely.make_valid(g)
        if g.geom_type == "GeometryCollection":
            polys = [p for p in g.geoms if p.geom_type in ("Polygon", "MultiPolygon")]
            g = shapely.union_all(polys) if polys else g
        chk.warn(r, "geometry", None, f"invalid geometry ({reason}) repaired with make_valid",
                 "repaired_geometry")
    lon, lat = coords[:, 0], coords[:, 1]
    if not _in_region(lon, lat).all():
        if (np.abs(lon) > 180).any() or (np.abs(lat) > 90).any():
            chk.error(r, "geometry", f"{lon[0]:.1f}, {lat[0]:.1f}", "coordinates are not lon/lat "
                      "degrees (projected metres?); declare the CRS, e.g. --crs EPSG:32648",
                      "projected_coordinates")
            return None
        if _in_region(lat, lon).all():
            chk.error(r, "geometry", f"{lon[0]}, {lat[0]}", "lat/lon look swapped; load with "
                      "--fix-swapped to swap them", "swapped_lat_lon")
            return None
    return g


def _check_inside_province(geoms: np.ndarray, chk: _Checker) -> None:
    """Reject geometries outside Nghệ An, naming the distance; vectorised over all rows."""
    todo = np.array([g is not None for g in geoms], dtype=bool)
    if not todo.any():
        return
    idx = np.flatnonzero(todo)
    metric = gpd.GeoSeries(geoms[idx], crs=STORAGE_CRS).to_crs(METRIC_CRS).values
    prov = _province_metric()
    inside = shapely.intersects(prov, metric)
    for j in np.flatnonzero(~inside):
        i, gm = idx[j], metric[j]
        km = prov.distance(gm) / 1000
        x, y = shapely.get_coordinates(geoms[i])[0]
        if km > OUTSIDE_TOLERANCE_KM:
            chk.error(i + 1, "geometry", f"{x:.5f}, {y:.5f}", f"outside Nghệ An, {km:.1f} km "
                      "from the province boundary", "outside_province")
            geoms[i] = None
        else:
            chk.warn(i + 1, "geometry", None, f"{km * 1000:.0f} m outside the province outline "
                     "(within tolerance)", "near_boundary")


@lru_cache(maxsize=1)
def _province_metric() -> shapely.Geometry:
    geom = boundaries.province().to_crs(METRIC_CRS).geometry.iloc[0]
    shapely.prepare(geom)
    return geom


def _points_from_columns(df, lon_col, lat_col, crs, fix_swapped, chk) -> np.ndarray:
    n = len(df)
    lon = np.full(n, np.nan)
    lat = np.full(n, np.nan)
    for arr, col in ((lon, lon_col), (lat, lat_col)):
        raw = df[col]
        text = raw.astype(str).str.strip().str.replace(",", ".", regex=False)
        num = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)
        blank = raw.map(_blank).to_numpy(dtype=bool)
        for i in np.flatnonzero(~blank & ~np.isfinite(num)):
            chk.error(i + 1, col, raw.iloc[i], "not a finite number", "bad_type")
        arr[:] = np.where(np.isfinite(num) & ~blank, num, np.nan)
    if crs:
        tr = pyproj.Transformer.from_crs(crs, STORAGE_CRS, always_xy=True)
        lon, lat = tr.transform(lon, lat)
    ok = ~(np.isnan(lon) | np.isnan(lat))
    if not crs:
        swapped = ok & ~_in_region(lon, lat) & _in_region(lat, lon)
        for i in np.flatnonzero(swapped):
            x, y = float(lon[i]), float(lat[i])
            if fix_swapped:
                chk.warn(i + 1, lat_col, y, f"lat/lon were swapped ({lon_col}={x}, {lat_col}={y}); "
                         "swapped back", "swapped_fixed")
                lon[i], lat[i] = y, x
            else:
                chk.error(i + 1, lat_col, y, f"looks like longitude: lat/lon swapped? "
                          f"({lon_col}={x}, {lat_col}={y}); load with --fix-swapped",
                          "swapped_lat_lon")
                ok[i] = False
    geoms = np.full(n, None, dtype=object)
    geoms[ok] = shapely.points(lon[ok], lat[ok])
    return geoms


def _geocode_missing(df, spec, geoms, chk, out, communes, gazetteer) -> np.ndarray:
    """Place rows without coordinates at their commune's representative point."""
    if "address" not in df.columns or spec.geometry_type not in ("Point", "Geometry"):
        return geoms
    todo = [i for i, g in enumerate(geoms) if g is None and (i + 1) not in chk.bad]
    if not todo:
        return geoms
    if gazetteer is None:
        from geo_pcmt.ingest.gazetteer import Gazetteer
        gazetteer = Gazetteer.default()
    reps = dict(zip(communes["code"], communes.geometry.representative_point()))
    addresses = df["address"].to_numpy(dtype=object)
    for i in todo:
        addr = addresses[i]
        if _blank(addr):
            continue
        m = gazetteer.match(str(addr))
        if m.status != "matched":
            reason = m.reason or m.status
            if m.status == "ambiguous":
                reason = f"address matches several communes ({', '.join(m.candidates)}); " \
                         "add the commune or district name"
            chk.error(i + 1, "address", addr, f"cannot place the point: {reason}",
                      f"geocode_{m.status}")
            continue
        geoms[i] = reps[m.commune_code]
        if "geocode_quality" in spec.field_names:
            out.setdefault("geocode_quality", [None] * len(geoms))[i] = "commune"
        chk.warn(i + 1, "address", addr, f"placed at the centre of {m.commune_name} "
                 f"(match score {m.score:.2f}); geocode_quality=commune", "geocoded_commune")
    return geoms


def _check_commune(out, geometry, communes, spec, chk) -> None:
    if "commune_code" not in spec.field_names:
        return
    n = len(geometry)
    valid = np.array([g is not None for g in geometry])
    probe = np.asarray([g.representative_point() if g is not None and g.geom_type != "Point"
                        else g for g in geometry], dtype=object)
    codes = np.full(n, None, dtype=object)
    if valid.any():
        codes[valid] = assign_communes(probe[valid], communes)
    given = out.get("commune_code", [None] * n)
    known = set(communes["code"])
    border = dict(zip(communes["code"], communes["is_border"]))
    final = []
    for i in range(n):
        g, c = given[i], codes[i]
        if g is not None and g not in known:
            chk.error(i + 1, "commune_code", g, "unknown commune code (not one of the 130 "
                      "communes of 2025)", "unknown_commune")
        elif g is not None and c is not None and g != c:
            chk.warn(i + 1, "commune_code", g, f"the point lies in commune {c}; using {c}",
                     "commune_mismatch")
        final.append(c if c is not None else g)
    out["commune_code"] = final
    if "is_border" in spec.field_names:
        out["is_border"] = [border.get(c) if c is not None else None for c in final]


def _check_commune_codes(out, communes, chk) -> None:
    known = set(communes["code"])
    for i, c in enumerate(out["commune_code"]):
        if c is not None and c not in known:
            chk.error(i + 1, "commune_code", c, "unknown commune code (not one of the 130 "
                      "communes of 2025)", "unknown_commune")


# --- loading ------------------------------------------------------------------------------

def load(store, layer: str, path: str | Path, *, keep_valid: bool = False,
         fix_swapped: bool = False, repair: bool = False, crs: str | None = None,
         mode: str = "append", user: str = "system", source: str | None = None,
         max_bytes: int = DEFAULT_MAX_BYTES):
    """Read, validate and store a file; nothing is stored unless the file is clean.

    Returns ``(report, write_report_or_None)``. With ``keep_valid`` the valid rows are
    stored even when other rows have errors.
    """
    report = check_file(layer, path, fix_swapped=fix_swapped, repair=repair, crs=crs,
                        source=source, max_bytes=max_bytes)
    return report, store_checked(store, report, keep_valid=keep_valid, mode=mode, user=user)


def check_file(layer: str, path: str | Path, *, fix_swapped: bool = False,
               repair: bool = False, crs: str | None = None, source: str | None = None,
               max_bytes: int = DEFAULT_MAX_BYTES) -> ValidationReport:
    """Read and validate a file for ``layer`` (the CPU-heavy half of :func:`load`)."""
    frame = read_any(path, max_bytes=max_bytes)
    return validate(frame, layer, fix_swapped=fix_swapped, repair=repair, crs=crs,
                    source=source or f"upload:{Path(path).name}")


def store_checked(store, report: ValidationReport, *, keep_valid: bool = False,
                  mode: str = "append", user: str = "system"):
    """Store a checked file's rows if it is clean (or ``keep_valid``); the write report,
    or None when nothing was stored (the other half of :func:`load`)."""
    if (not report.ok and not keep_valid) or report.rows_valid == 0:
        return None
    return store.write(report.layer, report.clean, mode=mode, user=user)

