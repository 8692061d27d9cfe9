"""Drug-free recognitions: the only path to drug-free status (check, grant, revoke, read on a day).

A recognition (công nhận) is a decision — number, date, authority — giving a commune the
national ``khong_ma_tuy`` label or Nghệ An's own ``sach_ve_ma_tuy``; it can be revoked.
"""
from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from geo_pcmt import ingest
from geo_pcmt.analysis.assessments import (
    LINEAGE_MARK,
    boundaries_or,
    layer_columns,
    report,
    schema_check,
)
from geo_pcmt.analysis.lineage import old_code_rows, reaggregate_recognitions
from geo_pcmt.ingest import ValidationReport
from geo_pcmt.layers import get_layer
from geo_pcmt.values import is_missing


def _present(v) -> bool:
    """A cell with a value that is not empty text."""
    return not is_missing(v) and str(v) != ""


def _overlaps(recs: pd.DataFrame) -> list[tuple[str, str]]:
    """Pairs of ids giving one commune the same label over overlapping dates."""
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
    today = today or date.today()
    communes, lineage = boundaries_or(communes, lineage)
    sheet = schema_check(frame, "recognitions", communes=communes, lineage=lineage,
                         today=today, source=source)
    clean = sheet.clean
    for r in sheet.rows:
        rev = clean.at[r, "revoked_on"] if "revoked_on" in clean else None
        if isinstance(rev, str) and rev < clean.at[r, "date"]:
            sheet.error(r, "revoked_on", rev, f"revoked_on is before the recognition date "
                        f"({clean.at[r, 'date']})", "date_order")
    ok = sheet.good()
    sub = clean.loc[ok]
    is_old = old_code_rows(sub, lineage, codes=codes, period_column="date", by_period=False) \
        if len(sub) else np.zeros(0, bool)
    new_rows = [r for r, o in zip(ok, is_old) if not o]
    old_rows = [r for r, o in zip(ok, is_old) if o]
    for r in new_rows:
        code = str(clean.at[r, "commune_code"])
        if code not in sheet.new_codes:
            sheet.error(r, "commune_code", code, "unknown commune code (not one of the 130 "
                        "communes of 2025)", "unknown_commune")
    spec = get_layer("recognitions")
    parts = [clean.loc[sheet.good(new_rows)]]
    if old_rows:
        conv = reaggregate_recognitions(clean.loc[old_rows], lineage)
        for row in conv[~conv["complete"]].itertuples():
            sheet.warn(None, "commune_code", row.commune_code, f"{row.label} not carried to "
                       f"new commune {row.commune_code}: {row.lineage_note}",
                       "lineage_incomplete")
        done = conv[conv["complete"]].copy()
        if len(done):
            done["source"] = [f"{source or 'pre-2025 recognitions'}{LINEAGE_MARK}{n}"[:500]
                              for n in done["lineage_note"]]
            parts.append(done[[c for c in spec.field_names if c in done.columns]])
    out = layer_columns(parts, "recognitions")
    for a, b in _overlaps(out):
        sheet.error(None, "date", None, f"recognitions {a!r} and {b!r} give the same label to "
                    "the same commune over overlapping dates", "overlapping_recognitions")
    return report(sheet, "recognitions", out.reset_index(drop=True))


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


__all__ = ["recognise", "recognitions_on", "revoke", "validate_recognitions"]
