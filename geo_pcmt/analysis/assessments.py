"""Commune assessments in: checked row by row, pre-2025 rows carried to the 130 new communes.

Rows recorded against the 412 pre-2025 communes (periods before 1 July 2025) are summed to
the new communes through the crosswalk (:mod:`geo_pcmt.analysis.lineage`) on the way in, so
the stored history runs on one set of units.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date
from typing import Mapping

import numpy as np
import pandas as pd

from geo_pcmt import ingest
from geo_pcmt.analysis.lineage import old_code_rows, period_bounds, reaggregate_assessments
from geo_pcmt.analysis.rules import RuleSet, find_rule_set
from geo_pcmt.ingest import Problem, ValidationReport
from geo_pcmt.layers import get_layer
from geo_pcmt.values import is_missing

LINEAGE_MARK = " | lineage: "  # written by lineage.reaggregate_assessments into ``source``
COUNTS_OF_PEOPLE = ("addicts_with_records", "users", "offenders_arrested")


# --- what assessments and recognitions share -----------------------------------------------

@dataclass
class Sheet:
    """Rows under check: ``clean`` indexed by file row, the problems, the rows found bad."""

    clean: pd.DataFrame
    problems: list[Problem]
    rows: list[int]
    rows_total: int
    new_codes: set[str]
    old_codes: set[str]
    bad: set[int] = field(default_factory=set)

    def error(self, row: int | None, fld: str, value, reason: str, code: str) -> None:
        self.problems.append(Problem(row, fld, value, reason, "error", code))
        if row is not None:
            self.bad.add(row)

    def warn(self, row: int | None, fld: str, value, reason: str, code: str) -> None:
        self.problems.append(Problem(row, fld, value, reason, "warning", code))

    def good(self, rows: list[int] | None = None) -> list[int]:
        """``rows`` (default: every row that passed the schema) not found bad."""
        return [r for r in (self.rows if rows is None else rows) if r not in self.bad]


def schema_check(frame: pd.DataFrame, layer: str, *, communes: pd.DataFrame,
                 lineage: pd.DataFrame, today: date, source: str | None) -> Sheet:
    """:func:`geo_pcmt.ingest.validate` against the codes of both commune lists.

    Which list a row may use depends on its period or date, and is checked by the caller;
    ingest's "unknown commune" message is reworded to name both lists.
    """
    new_codes = set(communes["code"].astype(str))
    old_codes = set(lineage["old_code"].astype(str))
    all_codes = pd.DataFrame({"code": sorted(new_codes | old_codes)})
    base = ingest.validate(frame, layer, communes=all_codes, today=today, source=source)
    problems = [dataclasses.replace(p, reason="unknown commune code (neither one of the 130 "
                                    "communes of 2025 nor of the 412 before 1 Jul 2025)")
                if p.code == "unknown_commune" else p for p in base.problems]
    file_error = any(p.row is None and p.severity == "error" for p in problems)
    rejected = set(base.rows_rejected)
    rows = [] if file_error else [r for r in range(1, base.rows_total + 1) if r not in rejected]
    clean = base.clean.copy()
    clean.index = rows
    return Sheet(clean, problems, rows, base.rows_total, new_codes, old_codes)


def boundaries_or(communes: pd.DataFrame | None, lineage: pd.DataFrame | None
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``communes`` and ``lineage``, the shipped ones where not given."""
    from geo_pcmt.ingest import boundaries
    return (boundaries.communes() if communes is None else communes,
            boundaries.commune_lineage() if lineage is None else lineage)


def layer_columns(parts: list[pd.DataFrame], layer: str) -> pd.DataFrame:
    """``parts`` stacked, with the layer's columns any part has, in schema order."""
    spec = get_layer(layer)
    cols = [c for c in spec.field_names if any(c in p.columns for p in parts)]
    return pd.concat([p.reindex(columns=cols) for p in parts], ignore_index=True)


def report(sheet: Sheet, layer: str, clean: pd.DataFrame) -> ValidationReport:
    """The report: problems in row order, ``clean`` as given."""
    sheet.problems.sort(key=lambda p: (p.row or 0, p.field or ""))
    return ValidationReport(layer, sheet.rows_total, clean, sheet.problems)


# --- assessments ---------------------------------------------------------------------------

def _check_row(sheet: Sheet, r: int, today: date, rule_sets: Mapping[str, RuleSet]) -> None:
    """Period readable and not in the future, counts within the population, rule set known."""
    clean = sheet.clean
    period = clean.at[r, "period"]
    try:
        start, end = period_bounds(period)
    except ValueError as exc:
        sheet.error(r, "period", period, str(exc), "bad_period")
        return
    if start > today:
        sheet.error(r, "period", period, f"period is in the future (starts {start}, today is "
                    f"{today})", "future_period")
        return
    pop = clean.at[r, "population"] if "population" in clean else None
    for col in COUNTS_OF_PEOPLE:
        v = clean.at[r, col] if col in clean else None
        if not is_missing(v) and not is_missing(pop) and v > pop:
            sheet.error(r, col, int(v), f"{col} ({int(v)}) is larger than the population "
                        f"({int(pop)})", "exceeds_population")
    rs_name = clean.at[r, "rule_set"] if "rule_set" in clean else None
    if not (isinstance(rs_name, str) and rs_name.strip()):
        return
    try:
        rs = find_rule_set(rule_sets, rs_name)
    except KeyError as exc:
        sheet.error(r, "rule_set", rs_name, exc.args[0], "unknown_rule_set")
        return
    if not (rs.valid_on(end) or rs.valid_on(start)):
        sheet.warn(r, "rule_set", rs_name, f"rule set {rs.id} is valid {rs.valid_from} – "
                   f"{rs.valid_to or 'today'}, not in period {period}", "rule_set_dates")


def _check_codes(sheet: Sheet, rows: list[int], is_old: np.ndarray, by_old: pd.Series) -> None:
    """A row uses the code list of its period: pre-2025 codes only before the reform."""
    for r, old in zip(rows, is_old):
        code = str(sheet.clean.at[r, "commune_code"])
        if old and code not in sheet.old_codes:
            sheet.error(r, "commune_code", code, "unknown commune code (not one of the 412 "
                        "pre-2025 communes)", "unknown_commune")
        elif not old and code not in sheet.new_codes:
            reason = "unknown commune code (not one of the 130 communes of 2025)"
            if code in sheet.old_codes:
                reason = (f"{code} is a pre-2025 commune, now part of {by_old[code]}; "
                          "periods from 2025-07 use the 130 new codes")
            sheet.error(r, "commune_code", code, reason, "unknown_commune")


def _check_unique(sheet: Sheet, rows: list[int]) -> None:
    """One assessment per commune and period."""
    seen: dict[tuple[str, str], int] = {}
    for r in rows:
        key = (str(sheet.clean.at[r, "commune_code"]), str(sheet.clean.at[r, "period"]))
        if key in seen:
            sheet.error(r, "period", key[1], f"commune {key[0]} already has an assessment for "
                        f"{key[1]} in row {seen[key]}", "duplicate_period")
        else:
            seen[key] = r


def _carried_over(sheet: Sheet, good_old: list[int], good_new: list[int],
                  lineage: pd.DataFrame, by_old: pd.Series) -> pd.DataFrame:
    """Pre-2025 rows summed to the new communes; splits and gaps reported as warnings."""
    clean = sheet.clean
    old_frame = clean.loc[good_old]
    converted = reaggregate_assessments(old_frame, lineage)
    origin = {(str(c), str(p)): r for r, c, p in
              zip(good_old, old_frame["commune_code"], old_frame["period"])}
    new_keys = {(str(c), str(p)): r for r, c, p in zip(
        good_new, clean.loc[good_new, "commune_code"], clean.loc[good_new, "period"])}
    member_rows = lineage[lineage["share"] == "full"].groupby("new_code")["old_code"] \
        .apply(list).to_dict()
    split = set(lineage.loc[lineage["share"] == "partial", "old_code"].astype(str))
    for key, r in origin.items():
        if key[0] in split:
            sheet.warn(r, "commune_code", key[0], f"{key[0]} was split between "
                       f"{by_old[key[0]]}; its counts are not carried over (they cannot be "
                       "divided without guessing)", "lineage_partial")
    collided = set()
    for row in converted.itertuples():
        rows_used = sorted(origin[(c, row.period)] for c in
                           member_rows.get(row.commune_code, []) if (c, row.period) in origin)
        key = (row.commune_code, row.period)
        if key in new_keys:
            sheet.error(rows_used[0], "commune_code", row.commune_code, f"rows {rows_used} sum "
                        f"to commune {row.commune_code} for {row.period}, which row "
                        f"{new_keys[key]} also gives", "duplicate_period")
            collided.add(key)
        if not row.complete:
            sheet.warn(rows_used[0], "commune_code", row.commune_code, f"carried to new "
                       f"commune {row.commune_code} from rows {rows_used}: {row.lineage_note}",
                       "lineage_incomplete")
    keep = [(c, p) not in collided for c, p in zip(converted["commune_code"],
                                                    converted["period"])]
    return converted[keep]


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
    from geo_pcmt.analysis.rules import load_rule_sets
    today = today or date.today()
    communes, lineage = boundaries_or(communes, lineage)
    rule_sets = load_rule_sets() if rule_sets is None else rule_sets
    sheet = schema_check(frame, "commune_assessments", communes=communes, lineage=lineage,
                         today=today, source=source)
    for r in sheet.rows:
        _check_row(sheet, r, today, rule_sets)
    ok_rows = sheet.good()
    sub = sheet.clean.loc[ok_rows]
    is_old = old_code_rows(sub, lineage, codes=codes) if len(sub) else np.zeros(0, bool)
    reform_new = {r for r, old in zip(ok_rows, is_old) if not old}
    by_old = lineage.groupby("old_code")["new_code"].apply(lambda s: ", ".join(sorted(set(s))))
    _check_codes(sheet, ok_rows, is_old, by_old)
    _check_unique(sheet, [r for r in sheet.good(ok_rows) if r in reform_new])
    _check_unique(sheet, [r for r in sheet.good(ok_rows) if r not in reform_new])
    good_new = [r for r in sheet.good(ok_rows) if r in reform_new]
    good_old = [r for r in sheet.good(ok_rows) if r not in reform_new]
    spec = get_layer("commune_assessments")
    parts = [sheet.clean.loc[good_new]]
    if good_old:
        converted = _carried_over(sheet, good_old, good_new, lineage, by_old)
        parts.append(converted[[c for c in spec.field_names if c in converted.columns]])
    return report(sheet, "commune_assessments", layer_columns(parts, "commune_assessments"))


def store_assessments(store, frame: pd.DataFrame, *, user: str = "system",
                      mode: str = "upsert", **validate_kwargs):
    """Validate ``frame`` and store it only when every row is valid.

    Returns ``(report, write_report_or_None)``. A row whose commune and period are already
    stored under another id is an error too (update it with that id instead).
    """
    report_ = validate_assessments(frame, **validate_kwargs)
    if report_.ok and len(report_.clean):
        stored = store.read("commune_assessments", columns=["commune_code", "period"],
                            where={"commune_code": sorted(set(report_.clean["commune_code"]))})
        known = {(c, p): i for i, c, p in zip(stored["id"], stored["commune_code"],
                                              stored["period"])}
        for row in report_.clean.itertuples():
            other = known.get((row.commune_code, row.period))
            if other is not None and other != row.id:
                report_.problems.append(Problem(None, "id", row.id, f"commune {row.commune_code} "
                                                f"already has an assessment for {row.period} "
                                                f"stored as id {other!r}; use that id to update "
                                                "it", "error", "duplicate_period"))
    if not report_.ok or not len(report_.clean):
        return report_, None
    return report_, store.write("commune_assessments", report_.clean, mode=mode, user=user)


__all__ = ["LINEAGE_MARK", "store_assessments", "validate_assessments"]
