"""Carry records kept on the 412 pre-2025 communes over to the 130 communes of 1 July 2025.

The crosswalk (``commune_lineage``: ``old_code``, ``new_code``, ``share`` full/partial) says which
old communes make up each new one. Counts are **summed** over a new commune's former communes;
an old commune that was **split** between two new ones (``share = partial``: 17647 Hòa Sơn and
17899 Diên Hoa) cannot be divided without guessing, so its counts are left out and the new
commune's row is **flagged** (``complete = False`` and a ``lineage_note``). Recognitions carry
over only when every former commune of a new one was recognised at the same time.

Every new code is also an old code (the merged commune kept one member's code), so a code alone
does not say which list it comes from; :func:`old_code_rows` decides per period.
"""
from __future__ import annotations

import calendar
import re
from datetime import date
from typing import Sequence

import numpy as np
import pandas as pd

from geo_pcmt.ingest.boundaries import REFORM_DATE

PERIOD_RE = re.compile(r"^(\d{4})(?:-(\d{2}))?$")
_OPEN_END = "9999-12-31"


def period_bounds(period: str) -> tuple[date, date]:
    """First and last day of a period written ``YYYY`` or ``YYYY-MM``.

    Raises
    ------
    ValueError
        When ``period`` is neither form (the message says what to write).

    Examples
    --------
    >>> period_bounds("2024-02")
    (datetime.date(2024, 2, 1), datetime.date(2024, 2, 29))
    """
    m = PERIOD_RE.match(str(period).strip())
    if not m:
        raise ValueError(f"period {period!r} is not YYYY or YYYY-MM (e.g. 2024 or 2024-06)")
    year = int(m.group(1))
    if not 1990 <= year <= 2100:
        raise ValueError(f"period {period!r}: year out of range")
    if m.group(2) is None:
        return date(year, 1, 1), date(year, 12, 31)
    month = int(m.group(2))
    if not 1 <= month <= 12:
        raise ValueError(f"period {period!r}: month must be 01–12")
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def _period_start(period) -> date | None:
    """Start of a period, or the day itself for an ISO date; None when unreadable."""
    text = str(period).strip()
    if len(text) == 10 and text[4] == "-":
        try:
            return date.fromisoformat(text)
        except ValueError:
            return None
    try:
        return period_bounds(text)[0]
    except ValueError:
        return None


def old_code_rows(frame: pd.DataFrame, lineage: pd.DataFrame, *, codes: str = "auto",
                  period_column: str = "period", code_column: str = "commune_code",
                  by_period: bool = True, reform_date: str = REFORM_DATE) -> np.ndarray:
    """Which rows of ``frame`` carry pre-2025 commune codes.

    Only rows whose period starts before the reform (1 July 2025) can. ``codes`` says how to
    read them: ``"2025"`` (all codes are new), ``"pre2025"`` (every pre-reform row uses old
    codes) or ``"auto"``: a period's rows are read as old codes when any of them uses a code
    found only in the old list (the 282 codes that disappeared), else as new codes. With
    ``by_period=False`` all pre-reform rows are judged together (for dated records such as
    recognitions, where ``period_column`` holds ISO dates).

    Returns
    -------
    numpy.ndarray of bool, one per row
    """
    if codes not in ("auto", "2025", "pre2025"):
        raise ValueError(f"codes must be auto, 2025 or pre2025, got {codes!r}")
    n = len(frame)
    reform = date.fromisoformat(reform_date)
    starts = [_period_start(p) for p in frame[period_column]] if n else []
    pre = np.array([s is not None and s < reform for s in starts], dtype=bool)
    if codes == "2025" or not pre.any():
        return np.zeros(n, dtype=bool)
    if codes == "pre2025":
        return pre
    old_only = set(lineage["old_code"].astype(str)) - set(lineage["new_code"].astype(str))
    code = frame[code_column].astype(str).to_numpy()
    period = frame[period_column].astype(str).to_numpy() if by_period else np.full(n, "all")
    old_periods = {p for p, c, is_pre in zip(period, code, pre) if is_pre and c in old_only}
    return np.array([is_pre and p in old_periods for p, is_pre in zip(period, pre)], dtype=bool)


def _members(lineage: pd.DataFrame) -> pd.DataFrame:
    m = lineage[["old_code", "new_code", "share"]].astype(str).copy()
    names = lineage["old_name"].astype(str) if "old_name" in lineage else m["old_code"]
    m["old_name"] = names.to_numpy()
    return m


def _note(reported: list[str], expected: list[str], partial: list[tuple[str, str]]) -> str:
    parts = [f"gộp từ xã cũ {', '.join(reported)} ({len(reported)}/{len(expected)})"
             if reported else "không có số liệu xã cũ nào"]
    missing = [c for c in expected if c not in reported and c not in {p for p, _ in partial}]
    if missing:
        parts.append(f"thiếu số liệu: {', '.join(missing)}")
    if partial:
        parts.append("không cộng xã chia tách một phần (partial split, not counted): "
                     + ", ".join(f"{c} {n}" for c, n in partial))
    return "; ".join(parts)


def reaggregate(records: pd.DataFrame, lineage: pd.DataFrame, *, sum_columns: list[str],
                any_columns: list[str] = (), keep_columns: list[str] = (),
                group_columns: list[str] = ("period",),
                code_column: str = "commune_code") -> pd.DataFrame:
    """Sum records on old commune codes up to the new communes.

    Parameters
    ----------
    records : DataFrame
        One row per old commune and group (e.g. per period), codes in ``code_column``.
    lineage : DataFrame
        The crosswalk: ``old_code``, ``new_code``, ``share`` (``full``/``partial``), ``old_name``.
    sum_columns : list of str
        Counts to add up. A missing value in any counted member makes the sum missing
        (unknown), never a silent undercount.
    any_columns : list of str
        Yes/no columns: True if any member is True, else unknown if any is unknown.
    keep_columns : list of str
        Text columns kept when the members agree (joined with `` / `` when they do not).
    group_columns : list of str
        Columns that, with the new code, identify an output row.

    Returns
    -------
    DataFrame
        One row per new commune and group: ``commune_code`` (new), the group columns, the
        summed/combined columns, and ``old_codes`` (';'-joined members counted),
        ``members_expected``, ``members_reported``, ``partial_members`` (';'-joined old codes
        left out because they were split), ``complete`` (every full member reported and no
        partial member), ``lineage_note`` (Vietnamese, human-readable).

    Raises
    ------
    KeyError
        When a record's code is not in the crosswalk.

    Examples
    --------
    Xã A and Xã B merged into the new Xã A, which also took part of Xã C (split with Xã D):

    >>> lineage = pd.DataFrame({"old_code": ["A", "B", "C", "C"], "new_code": ["A", "A", "A", "D"],
    ...                         "share": ["full", "full", "partial", "partial"],
    ...                         "old_name": ["Xã A", "Xã B", "Xã C", "Xã C"]})
    >>> recs = pd.DataFrame({"commune_code": ["A", "B", "C"], "period": "2024", "users": [3, 4, 5]})
    >>> row = reaggregate(recs, lineage, sum_columns=["users"]).iloc[0]
    >>> float(row["users"]), bool(row["complete"]), row["old_codes"], row["partial_members"]
    (7.0, False, 'A;B', 'C')
    >>> print(row["lineage_note"])
    gộp từ xã cũ A, B (2/3); không cộng xã chia tách một phần (partial split, not counted): C Xã C
    """
    group_columns = list(group_columns)
    members = _members(lineage)
    recs = records.copy()
    recs[code_column] = recs[code_column].astype(str)
    unknown = sorted(set(recs[code_column]) - set(members["old_code"]))
    if unknown:
        raise KeyError(f"pre-2025 commune code(s) not in the crosswalk: {', '.join(unknown[:10])}")
    expected = members.groupby("new_code")["old_code"].apply(list).to_dict()
    partial_of = members[members["share"] == "partial"].groupby("new_code").apply(
        lambda g: list(zip(g["old_code"], g["old_name"])), include_groups=False).to_dict()
    joined = recs.merge(members.rename(columns={"old_code": code_column}), on=code_column)
    rows = []
    for keys, grp in joined.groupby(["new_code"] + group_columns, sort=True, dropna=False):
        keys = keys if isinstance(keys, tuple) else (keys,)
        new_code, group_vals = keys[0], keys[1:]
        full = grp[grp["share"] == "full"]
        out = {"commune_code": new_code, **dict(zip(group_columns, group_vals)),
               **_combined(full, sum_columns, any_columns, keep_columns),
               **_membership(sorted(full[code_column].unique()), expected[new_code],
                             partial_of.get(new_code, []))}
        rows.append(out)
    cols = (["commune_code"] + group_columns + list(sum_columns) + list(any_columns)
            + list(keep_columns) + ["old_codes", "members_expected", "members_reported",
                                    "partial_members", "complete", "lineage_note"])
    return pd.DataFrame(rows, columns=cols)


def _combined(full: pd.DataFrame, sum_columns: Sequence[str], any_columns: Sequence[str],
              keep_columns: Sequence[str]) -> dict:
    """The columns of a new commune from the rows of its (fully included) former communes."""
    out: dict = {}
    for col in sum_columns:
        vals = pd.to_numeric(full[col], errors="coerce")
        out[col] = vals.sum() if len(vals) and vals.notna().all() else np.nan
    for col in any_columns:
        vals = [v for v in full[col]]
        truthy = [v for v in vals if v is not None and v == v]
        out[col] = True if any(bool(v) for v in truthy) else (
            None if len(truthy) < len(vals) or not vals else False)
    for col in keep_columns:
        vals = [str(v) for v in dict.fromkeys(full[col]) if v is not None and v == v]
        out[col] = " / ".join(vals) if vals else None
    return out


def _membership(reported: list[str], expected: list[str], partial: list[tuple[str, str]]) -> dict:
    """Which former communes were counted, and whether the new commune's figures are whole."""
    full_expected = [c for c in expected if c not in {p for p, _ in partial}]
    return {
        "old_codes": ";".join(reported),
        "members_expected": len(expected),
        "members_reported": len(reported),
        "partial_members": ";".join(p for p, _ in partial),
        "complete": not partial and set(full_expected) <= set(reported),
        "lineage_note": _note(reported, expected, partial),
    }


ASSESSMENT_COUNTS = ["population", "addicts_with_records", "users", "harbouring_locations",
                     "offenders_arrested", "plants", "plant_area_m2"]


def reaggregate_assessments(assessments: pd.DataFrame, lineage: pd.DataFrame) -> pd.DataFrame:
    """Commune assessments on old codes → one assessment per new commune and period.

    Population and every count are summed; ``on_drug_route`` is True if any former commune
    was on a route; ``rule_set`` and ``source`` are kept. The result has the columns of the
    ``commune_assessments`` layer (``id`` = ``<new code>:<period>:gop``) plus ``complete`` and
    ``lineage_note``; ``source`` ends with ``| lineage: <note>`` so the stored row says where
    it came from.
    """
    counts = [c for c in ASSESSMENT_COUNTS if c in assessments.columns]
    keep = [c for c in ("rule_set", "source", "confidentiality") if c in assessments.columns]
    anys = ["on_drug_route"] if "on_drug_route" in assessments.columns else []
    out = reaggregate(assessments, lineage, sum_columns=counts, any_columns=anys,
                      keep_columns=keep)
    for c in counts:
        if c != "plant_area_m2":
            out[c] = pd.array(out[c].round(), dtype="Int64")
    out.insert(0, "id", out["commune_code"] + ":" + out["period"].astype(str) + ":gop")
    src = out["source"] if "source" in out else pd.Series("", index=out.index)
    out["source"] = [f"{s or 'pre-2025 records'} | lineage: {n}"[:500]
                     for s, n in zip(src, out["lineage_note"])]
    if "confidentiality" in out:
        # the strictest level among the members, so merging never lowers protection
        order = {"public": 0, "restricted": 1, "secret": 2}
        out["confidentiality"] = [max((v.split(" / ") if v else ["restricted"]),
                                      key=lambda x: order.get(x, 1)) for v in out["confidentiality"]]
    # a new commune that only receives part of a split commune has nothing countable
    out = out[out["members_reported"] > 0]
    return out.drop(columns=["old_codes", "members_expected", "members_reported",
                             "partial_members"]).reset_index(drop=True)


def reaggregate_recognitions(recognitions: pd.DataFrame, lineage: pd.DataFrame) -> pd.DataFrame:
    """Recognitions of old communes → recognitions of new communes, where they are whole.

    A new commune counts as recognised (for a label) over the dates when **every** one of its
    former communes — split ones included, since part of their land is in it — held that
    label: from the latest member's recognition date to the earliest revocation. Anything
    less is reported, not converted.

    Returns
    -------
    DataFrame
        ``commune_code`` (new), ``label``, ``complete`` (bool), ``members_recognised``,
        ``members_total``, and for complete rows ``decision_no`` ('; '-joined member decisions),
        ``date``, ``authority``, ``revoked_on`` and ``id`` (``<label>:<new code>:<date>:gop``);
        ``lineage_note`` explains each row.
    """
    members = _members(lineage)
    recs = recognitions.copy()
    recs["commune_code"] = recs["commune_code"].astype(str)
    unknown = sorted(set(recs["commune_code"]) - set(members["old_code"]))
    if unknown:
        raise KeyError(f"pre-2025 commune code(s) not in the crosswalk: {', '.join(unknown[:10])}")
    expected = members.groupby("new_code")["old_code"].apply(lambda s: sorted(set(s))).to_dict()
    touched = members[members["old_code"].isin(recs["commune_code"])]["new_code"].unique()
    rows = []
    for new_code in sorted(touched):
        exp = expected[new_code]
        mine = recs[recs["commune_code"].isin(exp)]
        for label, grp in mine.groupby("label", sort=True):
            spans = {c: [(str(r.date), str(r.revoked_on) if _present(r.revoked_on) else _OPEN_END, r)
                         for r in g.itertuples()] for c, g in grp.groupby("commune_code")}
            have = sorted(spans)
            base = {"commune_code": new_code, "label": label, "members_recognised": len(have),
                    "members_total": len(exp)}
            if len(have) < len(exp):
                rows.append({**base, "complete": False, "lineage_note":
                             f"chỉ {len(have)}/{len(exp)} xã cũ được công nhận; thiếu: "
                             f"{', '.join(c for c in exp if c not in spans)}"})
                continue
            intervals = _common_intervals(list(spans.values()))
            if not intervals:
                rows.append({**base, "complete": False, "lineage_note":
                             "các xã cũ được công nhận vào những thời điểm không trùng nhau"})
                continue
            for start, end in intervals:
                active = [r for spans_m in spans.values() for s, e, r in spans_m
                          if s < end and e > start]
                decisions = "; ".join(dict.fromkeys(f"{r.decision_no} ({r.commune_code})"
                                                    for r in active))
                authority = "; ".join(dict.fromkeys(str(r.authority) for r in active))
                rows.append({**base, "complete": True, "id": f"{label}:{new_code}:{start}:gop",
                             "decision_no": decisions[:2000], "date": start,
                             "authority": authority[:2000],
                             "revoked_on": None if end == _OPEN_END else end,
                             "lineage_note": f"gộp công nhận của {len(exp)} xã cũ: "
                                             f"{', '.join(exp)}"})
    cols = ["id", "commune_code", "label", "decision_no", "date", "authority", "revoked_on",
            "complete", "members_recognised", "members_total", "lineage_note"]
    return pd.DataFrame(rows, columns=cols)


def _present(v) -> bool:
    return v is not None and v == v and str(v) != ""


def _common_intervals(spans_per_member: list[list[tuple[str, str, object]]]) -> list[tuple[str, str]]:
    """Date ranges [start, end) covered by at least one span of every member (ISO text)."""
    bounds = sorted({d for spans in spans_per_member for s, e, _ in spans for d in (s, e)})
    covered = []
    for a, b in zip(bounds, bounds[1:]):
        if all(any(s <= a < e for s, e, _ in spans) for spans in spans_per_member):
            if covered and covered[-1][1] == a:
                covered[-1] = (covered[-1][0], b)
            else:
                covered.append((a, b))
    return covered
