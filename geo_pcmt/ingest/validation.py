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
from geo_pcmt.ingest.cells import blank_mask, is_blank, parse_cell
from geo_pcmt.ingest.geometry import check_commune, check_commune_codes, geometries
from geo_pcmt.ingest.headers import LAT, LON, fold, match_headers, value_labels, value_lookup
from geo_pcmt.ingest.id_ledger import IdLedger
from geo_pcmt.ingest.report import Checker, Problem, ValidationReport
from geo_pcmt.layers import Field, Layer, get_layer, stops_done

LON_NAMES = ("lon", "lng", "long", "longitude", "kinh_do", "kinhdo", "x")
LAT_NAMES = ("lat", "latitude", "vi_do", "vido", "y")
_HTML_RE = re.compile(r"<\s*/?\s*[a-zA-Z!]|javascript:|on\w+\s*=", re.IGNORECASE)
_HTML_MARKS = ("<", ":", "=")  # what every match of _HTML_RE holds
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_DATE_ORDER = (("first_seen", "last_activity"), ("first_seen", "cleared_on"),
               ("detected_on", "eradicated_on"), ("started_at", "ended_at"))
# (status field, statuses that need the date, statuses the date contradicts, date field)
_STATUS_DATES = (("status", ("cleared",), ("active", "watch"), "cleared_on"),)


def validate(frame: pd.DataFrame, layer: str | Layer, *, fix_swapped: bool = False,
             repair: bool = False, crs: str | None = None, source: str | None = None,
             communes: gpd.GeoDataFrame | None = None, gazetteer=None,
             today: date | None = None, id_start: int = 1,
             seen_ids: dict[str, int] | IdLedger | None = None,
             row_offset: int = 0) -> ValidationReport:
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
        Dates after this are rejected (default: today), and the date in generated ids.
    id_start : int
        Number of the first id generated for rows without one
        (``<layer>-<YYYYMMDD>-<n>``; see :func:`id_prefix`).
    seen_ids, row_offset : dict or IdLedger, int, optional
        For a file checked in chunks (:mod:`geo_pcmt.ingest.streaming`): the ids of the
        rows before this chunk (id → row in the whole file; this chunk's are added; an
        :class:`~geo_pcmt.ingest.id_ledger.IdLedger` keeps them on disk) and
        how many rows came before, so an id repeated across chunks is a duplicate naming
        the row where it was first used. Rows of the report count from 1 in the chunk.

    Returns
    -------
    ValidationReport
        ``clean`` holds only the rows without errors, shaped to the layer's schema;
        ``generated_ids`` the ids given to rows that had none.
    """
    spec = get_layer(layer) if isinstance(layer, str) else layer
    communes = boundaries.communes() if communes is None else communes
    today = today or date.today()
    chk = Checker()
    df, cols, geom_name = _normalise_headers(frame, spec)
    generated = _generate_ids(df, cols, spec, f"{id_prefix(spec.name, today)}-", id_start)
    lon_col = lat_col = None
    if spec.has_geometry:
        lon_col = LON if LON in cols else None
        lat_col = LAT if LAT in cols else None
    _check_columns(cols, spec, {lon_col, lat_col}, chk)
    if "source" in spec.field_names and "source" not in cols and source:
        df["source"] = source
        cols.append("source")
    for c in spec.required_fields:
        if c not in cols:
            chk.error(None, c, None, f"required column {c!r} is missing", "missing_column")
    lookups = {f.name: value_lookup(spec, f.name) for f in spec.fields if f.allowed}
    out = {f.name: _parse_column(f, df[f.name].to_numpy(dtype=object), source, today, chk,
                                 lookups.get(f.name))
           for f in spec.fields if f.name in cols}
    _check_duplicates(out.get("id"), chk, {} if seen_ids is None else seen_ids, row_offset)
    _check_date_order(out, chk)
    _check_status_dates(out, chk, spec)
    _check_stops_done(out, chk)
    geometry = None
    if spec.has_geometry:
        geometry = geometries(df, spec, geom_name, lon_col, lat_col, crs, fix_swapped,
                              repair, chk, out, communes, gazetteer)
        check_commune(out, geometry, communes, spec, chk)
        if lon_col is not None and "address" in df.columns and "commune_code" in out:
            check_address_commune(df["address"].to_numpy(dtype=object), out["commune_code"],
                                  communes, gazetteer, chk)
    elif "commune_code" in out:
        check_commune_codes(out, communes, chk)
    clean = _clean_frame(spec, out, geometry, _kept_rows(len(df), chk))
    problems = sorted(chk.problems, key=lambda p: (p.row or 0, p.field or ""))
    return ValidationReport(spec.name, len(df), clean, problems, generated_ids=generated)


def id_prefix(layer: str, day: date) -> str:
    """The prefix of ids generated for rows without one on ``day``: ``<layer>-<YYYYMMDD>``.

    Examples
    --------
    >>> id_prefix("retail_points", date(2026, 12, 5))
    'retail_points-20261205'
    """
    return f"{layer}-{day:%Y%m%d}"


def next_id_number(ids, prefix: str) -> int:
    """One past the highest ``n`` of the ids ``<prefix>-<n>`` in ``ids`` (1 when none).

    Examples
    --------
    >>> next_id_number(["a-20261205-2", "a-20261205-10", "b-1", "a-20261205-x"], "a-20261205")
    11
    """
    head = prefix + "-"
    numbers = [int(s[len(head):]) for s in map(str, ids)
               if s.startswith(head) and s[len(head):].isdigit()]
    return max(numbers, default=0) + 1


def _generate_ids(df: pd.DataFrame, cols: list[str], spec: Layer, prefix: str,
                  start: int) -> dict[int, str]:
    """Give rows without an id ``<prefix><n>`` (n counting from ``start`` in row order),
    in place; the ids given, by row (1 = first record)."""
    if "id" not in spec.field_names or spec.kind != "record":
        return {}
    if "id" not in cols:
        df["id"] = ""
        cols.insert(0, "id")
    values = df["id"].to_numpy(dtype=object)
    blank = (np.flatnonzero(blank_mask(values)) + 1).tolist()
    generated = {r: f"{prefix}{start + k}" for k, r in enumerate(blank)}
    if generated:
        df.loc[list(generated), "id"] = list(generated.values())
    return generated


def _normalise_headers(frame: pd.DataFrame,
                       spec: Layer) -> tuple[pd.DataFrame, list[str], str | None]:
    """A copy with rows numbered from 1 and headers matched to the layer's columns
    ("Kinh độ" → "lon", "Loại điểm" → "type"; :mod:`geo_pcmt.ingest.headers`): the frame,
    its columns other than the geometry, and the geometry column's name (None if none)."""
    df = frame.copy()
    df.index = np.arange(1, len(df) + 1)
    geom_name = df.geometry.name if isinstance(df, gpd.GeoDataFrame) else None
    cols = [c for c in df.columns if c != geom_name]
    rename = match_headers(cols, spec)
    return df.rename(columns=rename), [rename[c] for c in cols], geom_name


def _check_columns(cols: list[str], spec: Layer, coordinate_cols: set, chk: Checker) -> None:
    """Columns the layer does not have are file errors (coordinates and address excepted)."""
    helper_cols = coordinate_cols | {"address" if "address" not in spec.field_names else None}
    for c in cols:
        if c not in spec.field_names and c not in helper_cols:
            chk.error(None, c, None, f"unknown column {c!r} for layer {spec.name}; known "
                      f"columns: {', '.join(spec.field_names)}", "unknown_column")


class _Recorder:
    """Stands in for a :class:`Checker` while one distinct cell value is parsed: keeps the
    problems it would report, to be reported for every row holding that value."""

    def __init__(self):
        self.calls: list[tuple[str, tuple, dict]] = []

    def error(self, row, *args, **kwargs):
        self.calls.append(("error", args, kwargs))

    def warn(self, row, *args, **kwargs):
        self.calls.append(("warn", args, kwargs))


_UNSEEN = object()


def _parse_column(f: Field, values: np.ndarray, source: str | None, today: date,
                  chk: Checker, lookup: dict[str, str] | None) -> list[Any]:
    """Every cell of one column through :func:`_parse_value`, each distinct value parsed
    once (files repeat types, statuses, dates) and its problems reported for every row
    holding it, in row order as a cell-by-cell pass would."""
    cells = values.tolist()
    plain = _plain_text(cells, f.max_length) if f.type == "str" and f.allowed is None \
        else None
    if plain is not None and all(p is not None for p in plain):
        return plain
    if plain is None and all(v.__class__ is str for v in cells):
        return _parse_text_cells(f, cells, source, today, chk, lookup)
    memo: dict = {}
    out: list[Any] = []
    for r, v in enumerate(cells, start=1):
        if plain is not None and plain[r - 1] is not None:
            out.append(plain[r - 1])
            continue
        key = (v.__class__, v)
        try:
            hit = memo.get(key, _UNSEEN) if v.__class__ is not float else _UNSEEN
        except TypeError:  # an unhashable cell (a list from a GeoJSON property)
            out.append(_parse_value(f, r, v, source, today, chk, lookup))
            continue
        if hit is _UNSEEN:  # (floats are not kept: -0.0 == 0.0, and NaN != NaN)
            rec = _Recorder()
            hit = (_parse_value(f, r, v, source, today, rec, lookup), rec.calls)
            if v.__class__ is not float:
                memo[key] = hit
        value, calls = hit
        for method, args, kwargs in calls:
            getattr(chk, method)(r, *args, **kwargs)
        out.append(value)
    return out


def _parse_text_cells(f: Field, cells: list[str], source: str | None, today: date,
                      chk: Checker, lookup: dict[str, str] | None) -> list[Any]:
    """:func:`_parse_column` of a column of text cells (as CSV and XLSX give them): each
    distinct text parsed once, its problems reported for every row holding it, in row
    order."""
    codes, distinct = pd.factorize(np.asarray(cells, dtype=object), use_na_sentinel=False)
    parsed = np.empty(len(distinct), dtype=object)
    calls = []
    for k, v in enumerate(distinct.tolist()):
        rec = _Recorder()  # (it keeps no row: the rows are given below)
        parsed[k] = _parse_value(f, 0, v, source, today, rec, lookup)
        calls.append(rec.calls)
    out = parsed[codes].tolist()
    noisy = np.flatnonzero([bool(c) for c in calls])
    if len(noisy):
        for i in np.flatnonzero(np.isin(codes, noisy)).tolist():
            for method, args, kwargs in calls[codes[i]]:
                getattr(chk, method)(i + 1, *args, **kwargs)
    return out


def _plain_text(cells: list[Any], max_length: int) -> list[str | None]:
    """For a text field without allowed values (names, ids, notes: mostly distinct, so
    parsing each once saves nothing), each cell's stripped text where :func:`_parse_value`
    would return it with nothing to report — text, not blank, not longer than
    ``max_length``, no control characters, nothing script-like — else None (that cell goes
    through :func:`_parse_value`). The patterns are searched once over the column joined
    with a separator no match can cross ("\\n" is not a control character here, and
    ``\\s``/``\\w`` do not match "\\x00"); a hit is traced back to its cell."""
    stripped = [v.strip() if v.__class__ is str else "" for v in cells]
    size = np.fromiter(map(len, stripped), dtype=np.int64, count=len(stripped))
    ok = (size > 0) & (size <= max_length)
    starts = None
    for pattern, sep in ((_CONTROL_RE, "\n"), (_HTML_RE, "\x00")):
        joined = sep.join(stripped)
        if pattern is _HTML_RE and not any(c in joined for c in _HTML_MARKS):
            continue  # each of its forms holds one of these: no need to search
        if pattern.search(joined) is None:
            continue
        if starts is None:
            starts = np.concatenate([[0], np.cumsum(size + 1)[:-1]])
        hits = [m.start() for m in pattern.finditer(joined)]
        ok[np.searchsorted(starts, hits, side="right") - 1] = False
    return [s if k else None for s, k in zip(stripped, ok.tolist())]


def _parse_value(f: Field, r: int, v: Any, source: str | None, today: date,
                 chk: Checker, lookup: dict[str, str] | None = None) -> Any:
    """Cell ``v`` of row ``r`` as a value of field ``f``, or None (blank or rejected).
    Coded values may be written as their Vietnamese words (``lookup``: folded → code)."""
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
    if f.allowed is not None and p not in f.allowed and (lookup or {}).get(fold(p)):
        p = lookup[fold(p)]
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


def _check_duplicates(ids: list | None, chk: Checker, seen: dict[str, int] | IdLedger,
                      row_offset: int = 0) -> None:
    """Repeated ids are errors naming the row (of the whole file) where the id came first;
    ``seen`` (a dict, or an :class:`~geo_pcmt.ingest.id_ledger.IdLedger` on disk) holds
    the ids of earlier chunks, checked once for the chunk, and gains this one's."""
    if ids is None:
        return
    first: dict[str, int] = {}
    for i, v in enumerate(ids):
        if v is not None and v not in first:
            first[v] = i + 1 + row_offset
    if isinstance(seen, dict):
        earlier = {v: seen[v] for v in first if v in seen}
        seen.update({v: r for v, r in first.items() if v not in earlier})
    else:
        earlier = seen.claim(first)
    if not earlier and len(first) == len(ids) - ids.count(None):
        return  # every id once, and new to the file
    for i, v in enumerate(ids):
        if v is None:
            continue
        at = earlier.get(v, first[v])
        if at != i + 1 + row_offset:
            chk.error(i + 1, "id", v, f"duplicate id; first used in row {at}", "duplicate_id")


def _check_date_order(out: dict, chk: Checker) -> None:
    for a, b in _DATE_ORDER:
        if a in out and b in out:
            for i, (va, vb) in enumerate(zip(out[a], out[b])):
                if va and vb and vb < va:
                    chk.error(i + 1, b, vb, f"{b} is before {a} ({va})", "date_order")


def _check_status_dates(out: dict, chk: Checker, spec: Layer) -> None:
    """Warn where a status and its date do not go together (cleared with no clearance
    date; a clearance date on a point still active)."""
    for status, needs, contradicts, day in _STATUS_DATES:
        if status not in out:
            continue
        words = value_labels(spec, status)
        days = out.get(day, [None] * len(out[status]))
        for i, (s, d) in enumerate(zip(out[status], days)):
            if s in needs and not d:
                chk.warn(i + 1, day, None, f"status is {s!r} but {day} is empty",
                         "status_without_date", {"status": words.get(s, s)})
            elif s in contradicts and d:
                chk.warn(i + 1, status, s, f"{day} is {d} but the status is {s!r}",
                         "date_against_status", {"date": d})


def _check_stops_done(out: dict, chk: Checker) -> None:
    """Reject a patrol track's ``stops_done`` that :func:`geo_pcmt.layers.stops_done` cannot
    read; store it in the one spelling that parser reads (``id@time; …``)."""
    if "stops_done" not in out:
        return
    for i, v in enumerate(out["stops_done"]):
        if v is None:
            continue
        try:
            pairs = stops_done(v)
        except ValueError as exc:
            chk.error(i + 1, "stops_done", v, f"stops done cannot be read: {exc}", "bad_stops")
            out["stops_done"][i] = None
            continue
        out["stops_done"][i] = "; ".join(t if at is None else f"{t}@{at}" for t, at in pairs)


def check_address_commune(addresses: np.ndarray, codes: list, communes: gpd.GeoDataFrame,
                          gazetteer, chk: Checker) -> None:
    """Warn where the address names a commune other than the one the point lies in
    (read with the gazetteer; addresses it cannot place say nothing here)."""
    todo = [i for i, a in enumerate(addresses) if not is_blank(a) and codes[i] is not None]
    if not todo:
        return
    if gazetteer is None:
        from geo_pcmt.ingest.gazetteer import Gazetteer
        gazetteer = Gazetteer.default()
    names = dict(zip(communes["code"], communes["name"]))
    matches: dict[str, object] = {}  # files repeat addresses: read each once
    for i in todo:
        text = str(addresses[i])
        m = matches.get(text) or matches.setdefault(text, gazetteer.match(text))
        if m.status == "matched" and m.commune_code != codes[i]:
            where = names.get(codes[i], codes[i])
            chk.warn(i + 1, "address", addresses[i], f"the address names {m.commune_name} but "
                     f"the point lies in {where}", "address_commune",
                     {"named": m.commune_name, "point": where})


def _kept_rows(n: int, chk: Checker) -> np.ndarray:
    """Which rows go into the clean frame: none when the file itself has an error."""
    if chk.file_rejected:
        return np.zeros(n, dtype=bool)
    keep = np.ones(n, dtype=bool)
    bad = np.fromiter(chk.bad, dtype=np.int64, count=len(chk.bad))
    keep[bad[(bad >= 1) & (bad <= n)] - 1] = False
    return keep


def _clean_frame(spec: Layer, out: dict, geometry, keep: np.ndarray) -> pd.DataFrame:
    """The kept rows shaped to the layer: a GeoDataFrame in EPSG:4326 if it has geometry."""
    every = bool(keep.all())
    data = {k: vals if every else [v for v, k_ in zip(vals, keep) if k_]
            for k, vals in out.items()}
    if spec.has_geometry:
        kept = np.asarray(geometry, dtype=object)[keep] if len(keep) else []
        clean = gpd.GeoDataFrame(pd.DataFrame(data), geometry=gpd.array.from_shapely(
            kept, crs=STORAGE_CRS), crs=STORAGE_CRS)
    else:
        clean = pd.DataFrame(data)
    for c in clean.columns:
        if c in spec.field_names and spec.field(c).type == "int":
            clean[c] = pd.array(clean[c], dtype="Int64")
    return clean.reset_index(drop=True)


def limit_confidentiality(report: ValidationReport, allowed: set[str] | frozenset[str],
                          default: str) -> ValidationReport:
    """The report with rows marked above ``allowed`` (empty marks count as ``default``)
    turned into errors and left out of ``clean``: an uploader never writes a record above
    their own clearance (:func:`geo_pcmt.access.can_set_confidentiality`)."""
    clean = report.clean
    if not len(clean):
        return report
    levels = clean["confidentiality"].fillna(default) if "confidentiality" in clean.columns \
        else pd.Series([default] * len(clean), index=clean.index)
    over = ~levels.isin(list(allowed)).to_numpy()
    if not over.any():
        return report
    rejected = set(report.rows_rejected)
    kept_rows = [r for r in range(1, report.rows_total + 1) if r not in rejected]
    problems = list(report.problems) + [
        Problem(row, "confidentiality", level, f"{level!r} is above your clearance",
                "error", "above_clearance")
        for row, level, o in zip(kept_rows, levels, over) if o]
    problems.sort(key=lambda p: (p.row or 0, p.field or ""))
    return ValidationReport(report.layer, report.rows_total,
                            clean[~over].reset_index(drop=True), problems,
                            generated_ids=report.generated_ids)
