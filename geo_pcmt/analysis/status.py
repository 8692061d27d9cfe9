"""Commune status: classes computed from assessments by a rule set, drug-free status from recognitions.

Two things are kept apart on purpose:

* the **computed class** (``loai_I`` / ``loai_II`` / ``loai_III`` / ``khong_trong_diem`` /
  ``chua_danh_gia``) comes from a commune assessment and a rule set (:mod:`geo_pcmt.analysis.rules`),
  with every criterion's value, threshold and result;
* **drug-free status** comes only from a **recognition** record (decision number, date,
  authority), which can be revoked. The national ``khong_ma_tuy`` and Nghệ An's own
  ``sach_ve_ma_tuy`` are separate labels.

Assessments recorded against the 412 pre-2025 communes are carried to the 130 new communes
through the crosswalk (:mod:`geo_pcmt.analysis.lineage`) on the way in, so the stored history runs on
one set of units.
"""
from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import date
from typing import Iterable, Mapping

import geopandas as gpd
import numpy as np
import pandas as pd

from geo_pcmt import ingest
from geo_pcmt.ingest import Problem, ValidationReport
from geo_pcmt.layers import get_layer
from geo_pcmt.analysis.lineage import (
    old_code_rows,
    period_bounds,
    reaggregate_assessments,
    reaggregate_recognitions,
)
from geo_pcmt.analysis.rules import (
    NOT_KEY_AREA,
    UNDETERMINED,
    RuleSet,
    RuleSetError,
    find_rule_set,
    rule_set_for,
)

LINEAGE_MARK = " | lineage: "  # written by lineage.reaggregate_assessments into ``source``
DRUG_FREE = "khong_ma_tuy"
SACH = "sach_ve_ma_tuy"
CLASS_ORDER = ("loai_I", "loai_II", "loai_III", NOT_KEY_AREA, DRUG_FREE)  # worst → best

CLASSIFY_COLUMNS = ["commune_code", "period", "period_end", "rule_set", "rule_set_version",
                    "kind", "computed_class", "reason", "fired", "unverified_fired", "criteria",
                    "rates", "missing", "assessment_id", "lineage_note"]


# --- classification -----------------------------------------------------------------------

def _lineage_note(source) -> str | None:
    if isinstance(source, str) and LINEAGE_MARK in source:
        return source.split(LINEAGE_MARK, 1)[1]
    return None


def _row_result(row: Mapping, rs: RuleSet | None, reason_if_none: str) -> dict:
    period = str(row.get("period"))
    try:
        end = period_bounds(period)[1].isoformat()
    except ValueError:
        end = None
    base = {"commune_code": str(row.get("commune_code")), "period": period, "period_end": end,
            "assessment_id": row.get("id"), "lineage_note": _lineage_note(row.get("source"))}
    if rs is None:
        return {**base, "rule_set": None, "rule_set_version": None, "kind": None,
                "computed_class": UNDETERMINED, "reason": reason_if_none, "fired": [],
                "unverified_fired": [], "criteria": [], "rates": {}, "missing": []}
    ev = rs.evaluate(row)
    fired = [f"{c['outcome']}.{c['id']}" for c in ev.criteria if c["fired"] is True]
    # a class "rests on" unverified thresholds when, without them, too few criteria fire
    outcome = next((o for o in rs.outcomes if o.value == ev.computed_class), None)
    mine = [c for c in ev.criteria if c["outcome"] == ev.computed_class and c["fired"] is True]
    shaky = [f"{c['outcome']}.{c['id']}" for c in mine if c["unverified"]]
    unverified = shaky if outcome and len(mine) - len(shaky) < outcome.at_least else []
    return {**base, "rule_set": rs.id, "rule_set_version": rs.version_tag, "kind": rs.kind,
            "computed_class": ev.computed_class, "reason": ev.reason, "fired": fired,
            "unverified_fired": unverified, "criteria": ev.criteria, "rates": ev.rates,
            "missing": ev.missing}


def classify(assessments: pd.DataFrame, rule_set: RuleSet) -> pd.DataFrame:
    """Apply one rule set to every assessment.

    Parameters
    ----------
    assessments : DataFrame
        Rows shaped like the ``commune_assessments`` layer (``commune_code``, ``period``,
        ``population``, counts, ``on_drug_route``); missing counts make criteria *unknown*.
    rule_set : RuleSet
        From :func:`geo_pcmt.analysis.rules.load_rule_sets`.

    Returns
    -------
    DataFrame
        One row per assessment: ``commune_code``, ``period``, ``period_end`` (ISO date),
        ``rule_set`` (id), ``rule_set_version`` (``id@version#digest``), ``kind``,
        ``computed_class`` (``loai_I``/``loai_II``/``loai_III``/``khong_trong_diem``/
        ``chua_danh_gia``; for a label rule set the outcome, e.g. ``du_tieu_chi``), ``reason``
        (which criteria decided), ``fired`` (keys such as ``loai_I.a``), ``unverified_fired``
        (the class's fired criteria with unverified thresholds, when the class would not hold
        without them), ``criteria``
        (every criterion: value, threshold, fired, checks), ``rates`` (per cent),
        ``missing`` (fields whose absence left a criterion unknown), ``assessment_id``,
        ``lineage_note`` (set for rows carried over from pre-2025 communes).

    Examples
    --------
    >>> rs = find_rule_set(load_rule_sets(), "28/2025")            # doctest: +SKIP
    >>> classify(assessments, rs)[["commune_code", "period", "computed_class"]]  # doctest: +SKIP
    """
    rows = [_row_result(r, rule_set, "") for r in _records(assessments)]
    return pd.DataFrame(rows, columns=CLASSIFY_COLUMNS)


def classify_history(assessments: pd.DataFrame, rule_sets: Mapping[str, RuleSet] | Iterable[RuleSet],
                     ) -> pd.DataFrame:
    """Classify each assessment with the rule set it names, or the one in force at its period's end.

    A row's ``rule_set`` (id or alias, e.g. ``3122/2010``, ``28/2025``) wins; a blank one
    takes the classification rule set valid on the last day of the period (3122/2010 up to
    23 Aug 2025, 28/2025 from 24 Aug 2025). No rule set in force gives ``chua_danh_gia``.
    Columns as :func:`classify`.

    Raises
    ------
    KeyError
        When a row names a rule set that does not exist (the message names the row).
    """
    rows = []
    for i, r in enumerate(_records(assessments), start=1):
        name = r.get("rule_set")
        if isinstance(name, str) and name.strip():
            try:
                rs = find_rule_set(rule_sets, name)
            except KeyError as exc:
                raise KeyError(f"row {i}, field 'rule_set': {exc.args[0]}") from None
            rows.append(_row_result(r, rs, ""))
            continue
        try:
            end = period_bounds(str(r.get("period")))[1]
        except ValueError as exc:
            raise ValueError(f"row {i}, field 'period': {exc}") from None
        rs = rule_set_for(rule_sets, end)
        rows.append(_row_result(r, rs, f"no classification rule set in force on {end}"))
    return pd.DataFrame(rows, columns=CLASSIFY_COLUMNS)


def _records(frame: pd.DataFrame) -> list[dict]:
    out = frame.replace({np.nan: None}).to_dict("records") if len(frame) else []
    for r in out:
        for k, v in r.items():
            if v is pd.NA:
                r[k] = None
    return out


# --- validation of assessments ------------------------------------------------------------

def validate_assessments(frame: pd.DataFrame, *, communes: pd.DataFrame | None = None,
                         lineage: pd.DataFrame | None = None,
                         rule_sets: Mapping[str, RuleSet] | None = None,
                         today: date | None = None, codes: str = "auto",
                         source: str | None = None) -> ValidationReport:
    """Check commune assessments and carry pre-2025 rows over to the new communes.

    Runs :func:`geo_pcmt.ingest.validate` (types, required values, minimums — population ≥ 1,
    counts ≥ 0 — and unknown codes), then adds what is specific to assessments: the period is
    ``YYYY`` or ``YYYY-MM`` and not in the future; a count of people is not larger than the
    population; the rule set exists; one row per commune and period. Rows for periods before
    1 July 2025 may use the 412 pre-2025 codes (see :func:`geo_pcmt.analysis.lineage.old_code_rows`);
    they are summed to the new communes, and a new commune that takes part of a split old
    commune, or whose former communes did not all report, gets a warning.

    Parameters
    ----------
    frame : DataFrame
        As read by :func:`geo_pcmt.ingest.read_any` (text cells are fine).
    communes : DataFrame, optional
        With a ``code`` column (default: the shipped 130 communes).
    lineage : DataFrame, optional
        The crosswalk (default: the shipped one).
    rule_sets : mapping, optional
        Known rule sets (default: the packaged ones).
    today : date, optional
        Periods starting after this are rejected (default: today).
    codes : {"auto", "2025", "pre2025"}
        How to read codes of pre-reform periods.
    source : str, optional
        ``source`` for rows without one.

    Returns
    -------
    ValidationReport
        ``clean`` holds the valid rows on the 130 new codes, with the layer's columns only.
        Nothing is stored here; see :func:`store_assessments`.
    """
    from geo_pcmt.ingest import boundaries
    from geo_pcmt.analysis.rules import load_rule_sets
    today = today or date.today()
    communes = boundaries.communes() if communes is None else communes
    lineage = boundaries.commune_lineage() if lineage is None else lineage
    rule_sets = load_rule_sets() if rule_sets is None else rule_sets
    new_codes = set(communes["code"].astype(str))
    old_codes = set(lineage["old_code"].astype(str))
    # let ingest accept every code of either list; which list a row may use is checked below
    all_codes = pd.DataFrame({"code": sorted(new_codes | old_codes)})
    base = ingest.validate(frame, "commune_assessments", communes=all_codes, today=today,
                           source=source)
    # ingest checked against both lists, so its message must name both
    problems = [dataclasses.replace(p, reason="unknown commune code (neither one of the 130 "
                                    "communes of 2025 nor of the 412 before 1 Jul 2025)")
                if p.code == "unknown_commune" else p for p in base.problems]
    bad = set(base.rows_rejected)
    file_error = any(p.row is None and p.severity == "error" for p in problems)
    n = base.rows_total
    kept_rows = [] if file_error else [r for r in range(1, n + 1) if r not in bad]
    clean = base.clean.copy()
    clean.index = kept_rows
    row_bad: set[int] = set()

    def err(row, fld, value, reason, code):
        problems.append(Problem(row, fld, value, reason, "error", code))
        row_bad.add(row)

    for r in kept_rows:
        period = clean.at[r, "period"]
        try:
            start, _ = period_bounds(period)
        except ValueError as exc:
            err(r, "period", period, str(exc), "bad_period")
            continue
        if start > today:
            err(r, "period", period, f"period is in the future (starts {start}, today is "
                f"{today})", "future_period")
            continue
        pop = clean.at[r, "population"] if "population" in clean else None
        for col in ("addicts_with_records", "users", "offenders_arrested"):
            v = clean.at[r, col] if col in clean else None
            if v is not None and v is not pd.NA and pop is not None and pop is not pd.NA \
                    and v > pop:
                err(r, col, int(v), f"{col} ({int(v)}) is larger than the population "
                    f"({int(pop)})", "exceeds_population")
        rs_name = clean.at[r, "rule_set"] if "rule_set" in clean else None
        if isinstance(rs_name, str) and rs_name.strip():
            try:
                rs = find_rule_set(rule_sets, rs_name)
            except KeyError as exc:
                err(r, "rule_set", rs_name, exc.args[0], "unknown_rule_set")
            else:
                end = period_bounds(period)[1]
                if not (rs.valid_on(end) or rs.valid_on(start)):
                    problems.append(Problem(r, "rule_set", rs_name, f"rule set {rs.id} is valid "
                                            f"{rs.valid_from} – {rs.valid_to or 'today'}, not in "
                                            f"period {period}", "warning", "rule_set_dates"))
    ok_rows = [r for r in kept_rows if r not in row_bad]
    sub = clean.loc[ok_rows]
    is_old = old_code_rows(sub, lineage, codes=codes) if len(sub) else np.zeros(0, bool)
    reform_new = {r for r, old in zip(ok_rows, is_old) if not old}
    by_old = lineage.groupby("old_code")["new_code"].apply(lambda s: ", ".join(sorted(set(s))))
    for r, old in zip(ok_rows, is_old):
        code = str(clean.at[r, "commune_code"])
        if old and code not in old_codes:
            err(r, "commune_code", code, "unknown commune code (not one of the 412 pre-2025 "
                "communes)", "unknown_commune")
        elif not old and code not in new_codes:
            reason = "unknown commune code (not one of the 130 communes of 2025)"
            if code in old_codes:
                reason = (f"{code} is a pre-2025 commune, now part of {by_old[code]}; "
                          "periods from 2025-07 use the 130 new codes")
            err(r, "commune_code", code, reason, "unknown_commune")
    _check_unique(clean, [r for r in ok_rows if r not in row_bad and r in reform_new], err)
    _check_unique(clean, [r for r in ok_rows if r not in row_bad and r not in reform_new], err)
    spec = get_layer("commune_assessments")
    good_new = [r for r in ok_rows if r not in row_bad and r in reform_new]
    good_old = [r for r in ok_rows if r not in row_bad and r not in reform_new]
    parts = [clean.loc[good_new]]
    if good_old:
        old_frame = clean.loc[good_old]
        converted = reaggregate_assessments(old_frame, lineage)
        origin = {(str(c), str(p)): r for r, c, p in
                  zip(good_old, old_frame["commune_code"], old_frame["period"])}
        new_keys = {(str(c), str(p)): r for r, c, p in zip(
            good_new, clean.loc[good_new, "commune_code"], clean.loc[good_new, "period"])}
        full = lineage[lineage["share"] == "full"]
        member_rows = full.groupby("new_code")["old_code"].apply(list).to_dict()
        split = set(lineage.loc[lineage["share"] == "partial", "old_code"].astype(str))
        for key, r in origin.items():
            if key[0] in split:
                targets = by_old[key[0]]
                problems.append(Problem(r, "commune_code", key[0], f"{key[0]} was split between "
                                        f"{targets}; its counts are not carried over (they "
                                        "cannot be divided without guessing)", "warning",
                                        "lineage_partial"))
        collided = set()
        for row in converted.itertuples():
            rows_used = sorted(origin[(c, row.period)] for c in
                               member_rows.get(row.commune_code, []) if (c, row.period) in origin)
            key = (row.commune_code, row.period)
            if key in new_keys:
                err(rows_used[0], "commune_code", row.commune_code, f"rows {rows_used} sum to "
                    f"commune {row.commune_code} for {row.period}, which row {new_keys[key]} "
                    "also gives", "duplicate_period")
                collided.add(key)
            if not row.complete:
                problems.append(Problem(rows_used[0], "commune_code", row.commune_code,
                                        f"carried to new commune {row.commune_code} from rows "
                                        f"{rows_used}: {row.lineage_note}", "warning",
                                        "lineage_incomplete"))
        keep = [(c, p) not in collided for c, p in zip(converted["commune_code"],
                                                        converted["period"])]
        converted = converted[keep]
        parts.append(converted[[c for c in spec.field_names if c in converted.columns]])
    cols = [c for c in spec.field_names if any(c in p.columns for p in parts)]
    out = pd.concat([p.reindex(columns=cols) for p in parts], ignore_index=True)
    problems.sort(key=lambda p: (p.row or 0, p.field or ""))
    return ValidationReport("commune_assessments", n, out, problems)


def _check_unique(clean: pd.DataFrame, rows: list[int], err) -> None:
    seen: dict[tuple[str, str], int] = {}
    for r in rows:
        key = (str(clean.at[r, "commune_code"]), str(clean.at[r, "period"]))
        if key in seen:
            err(r, "period", key[1], f"commune {key[0]} already has an assessment for {key[1]} "
                f"in row {seen[key]}", "duplicate_period")
        else:
            seen[key] = r


def store_assessments(store, frame: pd.DataFrame, *, user: str = "system",
                      mode: str = "upsert", **validate_kwargs):
    """Validate ``frame`` and store it only when every row is valid.

    Returns ``(report, write_report_or_None)``. A row whose commune and period are already
    stored under another id is an error too (update it with that id instead).
    """
    report = validate_assessments(frame, **validate_kwargs)
    if report.ok and len(report.clean):
        stored = store.read("commune_assessments", columns=["commune_code", "period"],
                            where={"commune_code": sorted(set(report.clean["commune_code"]))})
        known = {(c, p): i for i, c, p in zip(stored["id"], stored["commune_code"],
                                              stored["period"])}
        for row in report.clean.itertuples():
            other = known.get((row.commune_code, row.period))
            if other is not None and other != row.id:
                report.problems.append(Problem(None, "id", row.id, f"commune {row.commune_code} "
                                               f"already has an assessment for {row.period} "
                                               f"stored as id {other!r}; use that id to update it",
                                               "error", "duplicate_period"))
    if not report.ok or not len(report.clean):
        return report, None
    return report, store.write("commune_assessments", report.clean, mode=mode, user=user)


# --- recognitions -------------------------------------------------------------------------

def validate_recognitions(frame: pd.DataFrame, *, communes: pd.DataFrame | None = None,
                          lineage: pd.DataFrame | None = None, today: date | None = None,
                          codes: str = "auto", source: str | None = None) -> ValidationReport:
    """Check recognition records; carry recognitions of pre-2025 communes to the new ones.

    Besides the schema checks: ``revoked_on`` not before ``date``; one label per commune may
    not be recognised twice over overlapping dates. Recognitions dated before 1 July 2025 may
    use pre-2025 codes; a new commune is recognised only over the dates when all its former
    communes were (see :func:`geo_pcmt.analysis.lineage.reaggregate_recognitions`); the others are
    reported as warnings and not stored.
    """
    from geo_pcmt.ingest import boundaries
    today = today or date.today()
    communes = boundaries.communes() if communes is None else communes
    lineage = boundaries.commune_lineage() if lineage is None else lineage
    new_codes = set(communes["code"].astype(str))
    old_codes = set(lineage["old_code"].astype(str))
    all_codes = pd.DataFrame({"code": sorted(new_codes | old_codes)})
    base = ingest.validate(frame, "recognitions", communes=all_codes, today=today, source=source)
    problems = [dataclasses.replace(p, reason="unknown commune code (neither one of the 130 "
                                    "communes of 2025 nor of the 412 before 1 Jul 2025)")
                if p.code == "unknown_commune" else p for p in base.problems]
    file_error = any(p.row is None and p.severity == "error" for p in problems)
    kept = [] if file_error else [r for r in range(1, base.rows_total + 1)
                                  if r not in set(base.rows_rejected)]
    clean = base.clean.copy()
    clean.index = kept
    bad: set[int] = set()
    for r in kept:
        rev = clean.at[r, "revoked_on"] if "revoked_on" in clean else None
        if isinstance(rev, str) and rev < clean.at[r, "date"]:
            problems.append(Problem(r, "revoked_on", rev, f"revoked_on is before the "
                                    f"recognition date ({clean.at[r, 'date']})", "error",
                                    "date_order"))
            bad.add(r)
    ok = [r for r in kept if r not in bad]
    sub = clean.loc[ok]
    is_old = old_code_rows(sub, lineage, codes=codes, period_column="date", by_period=False) \
        if len(sub) else np.zeros(0, bool)
    new_rows = [r for r, o in zip(ok, is_old) if not o]
    old_rows = [r for r, o in zip(ok, is_old) if o]
    for r in new_rows:
        code = str(clean.at[r, "commune_code"])
        if code not in new_codes:
            problems.append(Problem(r, "commune_code", code, "unknown commune code (not one of "
                                    "the 130 communes of 2025)", "error", "unknown_commune"))
            bad.add(r)
    new_rows = [r for r in new_rows if r not in bad]
    spec = get_layer("recognitions")
    parts = [clean.loc[new_rows]]
    if old_rows:
        conv = reaggregate_recognitions(clean.loc[old_rows], lineage)
        for row in conv[~conv["complete"]].itertuples():
            problems.append(Problem(None, "commune_code", row.commune_code,
                                    f"{row.label} not carried to new commune {row.commune_code}: "
                                    f"{row.lineage_note}", "warning", "lineage_incomplete"))
        done = conv[conv["complete"]].copy()
        if len(done):
            done["source"] = [f"{source or 'pre-2025 recognitions'}{LINEAGE_MARK}{n}"[:500]
                              for n in done["lineage_note"]]
            parts.append(done[[c for c in spec.field_names if c in done.columns]])
    cols = [c for c in spec.field_names if any(c in p.columns for p in parts)]
    out = pd.concat([p.reindex(columns=cols) for p in parts], ignore_index=True)
    overlap = _overlaps(out)
    for a, b in overlap:
        problems.append(Problem(None, "date", None, f"recognitions {a!r} and {b!r} give the same "
                                "label to the same commune over overlapping dates", "error",
                                "overlapping_recognitions"))
    problems.sort(key=lambda p: (p.row or 0, p.field or ""))
    return ValidationReport("recognitions", base.rows_total, out.reset_index(drop=True), problems)


def _overlaps(recs: pd.DataFrame) -> list[tuple[str, str]]:
    out = []
    if not len(recs):
        return out
    for (_, _), g in recs.groupby(["commune_code", "label"]):
        spans = sorted((str(r.date), str(r.revoked_on) if _present(r.revoked_on) else "9999",
                        str(r.id)) for r in g.itertuples())
        for (s1, e1, i1), (s2, e2, i2) in zip(spans, spans[1:]):
            if s2 < e1:
                out.append((i1, i2))
    return out


def _present(v) -> bool:
    return v is not None and v is not pd.NA and v == v and str(v) != ""


def recognitions_on(recognitions: pd.DataFrame, day: date | str, *,
                    label: str | None = None) -> pd.DataFrame:
    """Recognitions in force on ``day``: granted on or before it and not revoked by then.

    A recognition revoked on day D no longer counts on D.
    """
    day = str(day)
    if not len(recognitions):
        return recognitions.iloc[0:0]
    rec = recognitions
    if label is not None:
        rec = rec[rec["label"] == label]
    dates = rec["date"].astype(str)
    revoked = rec["revoked_on"] if "revoked_on" in rec else pd.Series(None, index=rec.index)
    live = [not _present(v) or str(v) > day for v in revoked]
    return rec[(dates <= day).to_numpy() & np.array(live, dtype=bool)]


def recognise(recognitions: pd.DataFrame, *, commune_code: str, label: str, decision_no: str,
              on: date | str, authority: str, communes: pd.DataFrame, today: date | None = None,
              source: str = "cli", id: str | None = None) -> pd.DataFrame:
    """A new recognition row (not stored), after checking it against those already held.

    Raises
    ------
    ValueError
        Unknown commune, unknown label, a date in the future, or the commune already holds
        the label on that date.
    """
    today = today or date.today()
    on = str(on)
    frame = pd.DataFrame([{"id": id or f"{label}:{commune_code}:{on}", "source": source,
                           "commune_code": str(commune_code), "label": label,
                           "decision_no": decision_no, "date": on, "authority": authority}])
    rep = ingest.validate(frame, "recognitions", communes=communes, today=today)
    if not rep.ok:
        raise ValueError("; ".join(str(p) for p in rep.errors))
    held = recognitions_on(recognitions[recognitions["commune_code"] == str(commune_code)]
                           if len(recognitions) else recognitions, on, label=label)
    if len(held):
        raise ValueError(f"commune {commune_code} already holds {label} on {on} "
                         f"(recognition {held['id'].iloc[0]!r}, decision "
                         f"{held['decision_no'].iloc[0]})")
    return rep.clean


def revoke(recognitions: pd.DataFrame, recognition_id: str, on: date | str, *,
           today: date | None = None) -> pd.DataFrame:
    """The recognition ``recognition_id`` with ``revoked_on`` set (one row, not stored).

    Raises
    ------
    ValueError
        Unknown id, already revoked, revocation before the recognition or in the future.
    """
    today = today or date.today()
    on = ingest.parse_date(on)
    rows = recognitions[recognitions["id"].astype(str) == str(recognition_id)]
    if not len(rows):
        raise ValueError(f"no recognition with id {recognition_id!r}")
    row = rows.iloc[[0]].copy()
    if _present(row["revoked_on"].iloc[0]):
        raise ValueError(f"recognition {recognition_id!r} was already revoked on "
                         f"{row['revoked_on'].iloc[0]}")
    if on < str(row["date"].iloc[0]):
        raise ValueError(f"revocation date {on} is before the recognition date "
                         f"{row['date'].iloc[0]}")
    if on > today.isoformat():
        raise ValueError(f"revocation date {on} is in the future (today is {today})")
    row["revoked_on"] = on
    return row


# --- status per commune and period ---------------------------------------------------------

def _describe(rec: pd.DataFrame) -> str | None:
    if not len(rec):
        return None
    return "; ".join(f"{r.label}: {r.decision_no} ngày {r.date} ({r.authority})"
                     for r in rec.itertuples())


def commune_status(communes: gpd.GeoDataFrame, classified: pd.DataFrame,
                   recognitions: pd.DataFrame, *, periods: Iterable[str] | None = None,
                   today: date | None = None) -> gpd.GeoDataFrame:
    """Every commune in every period: computed class, drug-free label and the map's status.

    Communes without an assessment in a period are ``chua_danh_gia`` (not assessed).
    Recognitions are read as in force on the period's last day (or today, for the current
    period).

    Parameters
    ----------
    communes : GeoDataFrame
        The 130 communes (``code``, ``name``, ``is_border``, ``lao_province``, geometry).
    classified : DataFrame
        From :func:`classify_history` / :func:`classify` (classification rule sets).
    recognitions : DataFrame
        The ``recognitions`` layer.
    periods : iterable of str, optional
        Periods to report (default: every period in ``classified``).
    today : date, optional

    Returns
    -------
    GeoDataFrame (EPSG:4326, commune polygons), one row per commune and period:
        ``commune_code``, ``commune_name``, ``is_border``, ``lao_province``, ``period``,
        ``as_of`` (date recognitions were read on), ``status`` (``khong_ma_tuy`` when a national
        recognition is in force, else ``computed_class``: the choropleth value),
        ``computed_class``, ``rule_set``, ``rule_set_version``, ``reason``, ``criteria`` (JSON
        text), ``drug_free_label`` (the strongest label in force: ``khong_ma_tuy``, else
        ``sach_ve_ma_tuy``, else None), ``drug_free`` (bool, national label in force),
        ``sach_ve_ma_tuy`` (bool, Nghệ An label in force), ``recognition`` (decisions in force),
        ``lineage_note``, ``warnings`` (e.g. recognised but criteria of a class fire; class
        resting on unverified thresholds).
    """
    today = today or date.today()
    cls = classified[classified["kind"].isin(["classification"]) | classified["kind"].isna()] \
        if len(classified) else classified
    periods = sorted(set(periods) if periods is not None else set(cls["period"]))
    by_key = {(r["commune_code"], r["period"]): r for r in cls.to_dict("records")}
    rec = recognitions if recognitions is not None else pd.DataFrame(
        columns=["id", "commune_code", "label", "decision_no", "date", "authority", "revoked_on"])
    out = []
    for period in periods:
        end = period_bounds(period)[1]
        as_of = min(end, today).isoformat()
        live = recognitions_on(rec, as_of)
        live_by = {c: g for c, g in live.groupby("commune_code")} if len(live) else {}
        for c in communes.itertuples():
            r = by_key.get((c.code, period))
            mine = live_by.get(c.code, live.iloc[0:0] if len(live) else rec.iloc[0:0])
            drug_free = bool(len(mine) and (mine["label"] == DRUG_FREE).any())
            sach = bool(len(mine) and (mine["label"] == SACH).any())
            computed = r["computed_class"] if r else UNDETERMINED
            warnings = []
            if drug_free and computed in ("loai_I", "loai_II", "loai_III"):
                warnings.append(f"được công nhận không ma túy nhưng số liệu kỳ {period} đạt "
                                f"tiêu chí {computed} — cần rà soát (recognised drug-free, yet "
                                f"the assessment meets {computed})")
            if r and r["unverified_fired"]:
                warnings.append(f"phân loại dựa trên tiêu chí chưa kiểm chứng "
                                f"{', '.join(r['unverified_fired'])} (class rests on unverified "
                                "thresholds)")
            out.append({
                "commune_code": c.code, "commune_name": c.name,
                "is_border": bool(getattr(c, "is_border", False)),
                "lao_province": getattr(c, "lao_province", None), "period": period,
                "as_of": as_of, "status": DRUG_FREE if drug_free else computed,
                "computed_class": computed,
                "rule_set": r["rule_set"] if r else None,
                "rule_set_version": r["rule_set_version"] if r else None,
                "reason": r["reason"] if r else "không có số liệu đánh giá kỳ này (no assessment)",
                "criteria": json.dumps(r["criteria"], ensure_ascii=False) if r else None,
                "drug_free_label": DRUG_FREE if drug_free else SACH if sach else None,
                "drug_free": drug_free,
                "sach_ve_ma_tuy": sach, "recognition": _describe(mine),
                "lineage_note": r["lineage_note"] if r else None,
                "warnings": "; ".join(warnings) or None, "geometry": c.geometry,
            })
    if not out:
        return gpd.GeoDataFrame({c: [] for c in STATUS_COLUMNS}, geometry=[], crs=communes.crs)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=communes.crs)


STATUS_COLUMNS = ["commune_code", "commune_name", "is_border", "lao_province", "period", "as_of",
                  "status", "computed_class", "rule_set", "rule_set_version", "reason",
                  "criteria", "drug_free_label", "drug_free", "sach_ve_ma_tuy", "recognition",
                  "lineage_note", "warnings"]


def status_layer(status: pd.DataFrame, *, run_id: str | None = None,
                 params: Mapping | None = None) -> pd.DataFrame:
    """Rows for the derived ``commune_status`` layer (ids ``<code>:<period>``, no geometry)."""
    spec = get_layer("commune_status")
    out = pd.DataFrame(status.drop(columns=[c for c in ("geometry",) if c in status]))
    out["id"] = out["commune_code"].astype(str) + ":" + out["period"].astype(str)
    out["run_id"] = run_id or uuid.uuid4().hex[:12]
    out["params"] = json.dumps(params or {}, ensure_ascii=False, default=str)
    return out[[c for c in spec.field_names if c in out.columns]]


def latest_status(status: pd.DataFrame) -> pd.DataFrame:
    """Each commune's row of its most recent period."""
    if not len(status):
        return status
    return status.sort_values("period").groupby("commune_code", as_index=False).tail(1)


def class_rank(value: str | None) -> int | None:
    """0 = ``loai_I`` (worst) … 4 = ``khong_ma_tuy`` (best); None for ``chua_danh_gia``."""
    return CLASS_ORDER.index(value) if value in CLASS_ORDER else None


__all__ = ["CLASS_ORDER", "class_rank", "classify", "classify_history", "commune_status",
           "latest_status", "recognise", "recognitions_on", "revoke", "status_layer",
           "store_assessments", "validate_assessments", "validate_recognitions", "RuleSetError"]
