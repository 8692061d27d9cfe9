"""Commune status: classes computed from assessments by a rule set, drug-free status from recognitions.

Two things are kept apart on purpose:

* the **computed class** (``loai_I`` / ``loai_II`` / ``loai_III`` / ``khong_trong_diem`` /
  ``chua_danh_gia``) comes from a commune assessment and a rule set (:mod:`geo_pcmt.analysis.rules`),
  with every criterion's value, threshold and result;
* **drug-free status** comes only from a **recognition** record (decision number, date,
  authority), which can be revoked. The national ``khong_ma_tuy`` and Nghệ An's own
  ``sach_ve_ma_tuy`` are separate labels.

Checking assessments on the way in lives in :mod:`geo_pcmt.analysis.assessments`, recognitions
in :mod:`geo_pcmt.analysis.recognitions`; their public names are importable from here too.
"""
from __future__ import annotations

import json
import uuid
from datetime import date
from typing import Iterable, Mapping

import geopandas as gpd
import numpy as np
import pandas as pd

from geo_pcmt.analysis.assessments import LINEAGE_MARK, store_assessments, validate_assessments
from geo_pcmt.analysis.lineage import period_bounds
from geo_pcmt.analysis.recognitions import (
    recognise,
    recognitions_on,
    revoke,
    validate_recognitions,
)
from geo_pcmt.layers import get_layer
from geo_pcmt.words import class_in_sentence
from geo_pcmt.analysis.rules import (
    CLASS_STATUSES,
    DRUG_ACTIVITY,
    NOT_KEY_AREA,
    UNDETERMINED,
    RuleSet,
    RuleSetError,
    find_rule_set,
    rule_set_for,
)

DRUG_FREE = "khong_ma_tuy"
SACH = "sach_ve_ma_tuy"
CLASS_ORDER = ("loai_I", "loai_II", "loai_III", DRUG_ACTIVITY, NOT_KEY_AREA, DRUG_FREE)  # worst → best
KEY_AREAS = CLASS_STATUSES  # địa bàn trọng điểm phức tạp


def _vi(value: str | None) -> str:
    return class_in_sentence(value)


def _key(key: str) -> str:
    """``loai_III.a`` → ``III.a`` (the way the decision numbers its criteria)."""
    return key.replace("loai_", "")

CLASSIFY_COLUMNS = ["commune_code", "period", "period_end", "rule_set", "rule_set_version",
                    "kind", "computed_class", "provisional_class", "rests_on", "reason", "fired",
                    "unverified_fired", "criteria", "rates", "missing", "assessment_id",
                    "lineage_note"]


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
                "computed_class": UNDETERMINED, "provisional_class": None, "rests_on": {},
                "reason": reason_if_none, "fired": [], "unverified_fired": [], "criteria": [],
                "rates": {}, "missing": []}
    ev = rs.evaluate(row)
    fired = [f"{c['outcome']}.{c['id']}" for c in ev.criteria if c["fired"] is True]
    if rs.kind == "classification":
        # the bands a worse provisional class rests on, directly or through another criterion
        unverified = sorted({b for bands in ev.rests_on.values() for b in bands})
    else:  # a label: its outcome holds only thanks to these unverified criteria
        outcome = next((o for o in rs.outcomes if o.value == ev.computed_class), None)
        mine = [c for c in ev.criteria if c["outcome"] == ev.computed_class and c["fired"]]
        shaky = [f"{c['outcome']}.{c['id']}" for c in mine if c["unverified"]]
        unverified = shaky if outcome and len(mine) - len(shaky) < outcome.at_least else []
    return {**base, "rule_set": rs.id, "rule_set_version": rs.version_tag, "kind": rs.kind,
            "computed_class": ev.computed_class, "provisional_class": ev.provisional_class,
            "rests_on": ev.rests_on, "reason": ev.reason, "fired": fired,
            "unverified_fired": unverified, "criteria": ev.criteria, "rates": ev.rates,
            "missing": ev.missing}


def rests_on_text(rests_on: Mapping[str, list[str]] | None) -> str:
    """Which result rests on which unverified band, as text.

    Examples
    --------
    >>> rests_on_text({"loai_II.đ": ["loai_III.a", "loai_III.b"], "loai_II.a": ["loai_II.a"]})
    'II.đ (qua III.a, III.b); II.a'
    """
    parts = []
    for key, bands in (rests_on or {}).items():
        via = [_key(b) for b in bands if b != key]
        parts.append(f"{_key(key)} (qua {', '.join(via)})" if via else _key(key))
    return "; ".join(parts)


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
        ``computed_class`` (``loai_I``/``loai_II``/``loai_III``/``co_te_nan_ma_tuy``/
        ``khong_trong_diem``/``chua_danh_gia``, decided by verified bands only; for a label
        rule set the outcome, e.g. ``du_tieu_chi``), ``provisional_class`` (what every band
        in the file, placeholders included, would say), ``rests_on`` (criterion of the
        provisional class → the unverified bands it rests on; empty when both classes
        agree), ``reason`` (which criteria decided), ``fired`` (keys such as ``loai_I.a``),
        ``unverified_fired`` (the unverified bands the provisional class rests on; for a
        label, its fired unverified criteria when it would not hold without them), ``criteria``
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
    """Rows as dicts, every missing value as ``None``."""
    out = frame.replace({np.nan: None}).to_dict("records") if len(frame) else []
    for r in out:
        for k, v in r.items():
            if v is pd.NA:
                r[k] = None
    return out


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
        ``computed_class``, ``provisional_class`` (with placeholder bands),
        ``unverified_basis`` (which result rests on which unverified band, as text),
        ``rule_set``, ``rule_set_version``, ``reason``, ``criteria`` (JSON
        text), ``drug_free_label`` (the strongest label in force: ``khong_ma_tuy``, else
        ``sach_ve_ma_tuy``, else None), ``drug_free`` (bool, national label in force),
        ``sach_ve_ma_tuy`` (bool, Nghệ An label in force), ``recognition`` (decisions in force),
        ``lineage_note``, ``warnings`` (a national or "sạch" label beside a key-area class; a
        worse class that only unverified bands would give).
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
        as_of = min(period_bounds(period)[1], today).isoformat()
        live = recognitions_on(rec, as_of)
        live_by = {c: g for c, g in live.groupby("commune_code")} if len(live) else {}
        none = live.iloc[0:0] if len(live) else rec.iloc[0:0]
        out += [_status_row(c, period, as_of, by_key.get((c.code, period)),
                            live_by.get(c.code, none)) for c in communes.itertuples()]
    if not out:
        return gpd.GeoDataFrame({c: [] for c in STATUS_COLUMNS}, geometry=[], crs=communes.crs)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=communes.crs)


def _warnings(period: str, computed: str, drug_free: bool, sach: bool,
              r: Mapping | None) -> str | None:
    """Recognised (national or Nghệ An label) yet meeting a key-area class; a worse class
    that rests on unverified bands only."""
    warnings = []
    if drug_free and computed in KEY_AREAS:
        warnings.append(f"được công nhận không ma túy nhưng số liệu kỳ {period} đạt "
                        f"tiêu chí {_vi(computed)} — cần rà soát (recognised drug-free, yet "
                        f"the assessment meets {computed})")
    if sach and computed in KEY_AREAS:
        warnings.append(f"mang nhãn sạch về ma túy nhưng số liệu kỳ {period} đạt tiêu chí "
                        f"{_vi(computed)} — cần rà soát (labelled 'sạch về ma túy', yet the "
                        f"assessment meets {computed})")
    provisional = r.get("provisional_class") if r else None
    if r and r.get("rests_on") and provisional != computed:
        if (drug_free or sach) and provisional in KEY_AREAS:
            warnings.append(f"mang nhãn {'không ma túy' if drug_free else 'sạch về ma túy'} "
                            f"nhưng theo ngưỡng tạm sẽ là {_vi(provisional)} (labelled "
                            f"drug-free; placeholder bands would make it {provisional})")
        warnings.append(f"{_vi(provisional)} chỉ khi áp ngưỡng chưa kiểm chứng "
                        f"{rests_on_text(r['rests_on'])}, nên giữ {_vi(computed)} "
                        f"({provisional} only with unverified bands; kept {computed})")
    return "; ".join(warnings) or None


def _status_row(c, period: str, as_of: str, r: Mapping | None, mine: pd.DataFrame) -> dict:
    """One commune in one period: ``r`` its classified assessment, ``mine`` its recognitions."""
    drug_free = bool(len(mine) and (mine["label"] == DRUG_FREE).any())
    sach = bool(len(mine) and (mine["label"] == SACH).any())
    computed = r["computed_class"] if r else UNDETERMINED
    return {
        "commune_code": c.code, "commune_name": c.name,
        "is_border": bool(getattr(c, "is_border", False)),
        "lao_province": getattr(c, "lao_province", None), "period": period,
        "as_of": as_of, "status": DRUG_FREE if drug_free else computed,
        "computed_class": computed,
        "provisional_class": r.get("provisional_class") if r else None,
        "unverified_basis": rests_on_text(r.get("rests_on")) or None if r else None,
        "rule_set": r["rule_set"] if r else None,
        "rule_set_version": r["rule_set_version"] if r else None,
        "reason": r["reason"] if r else "không có số liệu đánh giá kỳ này (no assessment)",
        "criteria": json.dumps(r["criteria"], ensure_ascii=False) if r else None,
        "drug_free_label": DRUG_FREE if drug_free else SACH if sach else None,
        "drug_free": drug_free,
        "sach_ve_ma_tuy": sach, "recognition": _describe(mine),
        "lineage_note": r["lineage_note"] if r else None,
        "warnings": _warnings(period, computed, drug_free, sach, r), "geometry": c.geometry,
    }


STATUS_COLUMNS = ["commune_code", "commune_name", "is_border", "lao_province", "period", "as_of",
                  "status", "computed_class", "provisional_class", "unverified_basis",
                  "rule_set", "rule_set_version", "reason",
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
    """0 = ``loai_I`` (worst) … 5 = ``khong_ma_tuy`` (best); None for ``chua_danh_gia``."""
    return CLASS_ORDER.index(value) if value in CLASS_ORDER else None


__all__ = ["CLASS_ORDER", "DRUG_FREE", "KEY_AREAS", "LINEAGE_MARK", "SACH", "class_rank", "classify",
           "classify_history", "commune_status", "latest_status", "recognise",
           "recognitions_on", "rests_on_text", "revoke", "status_layer", "store_assessments",
           "validate_assessments", "validate_recognitions", "RuleSetError"]
