"""Each commune's class per year for the choropleth (phân loại xã), with what it rests on."""
from __future__ import annotations

from datetime import date
from typing import Sequence

import pandas as pd

from geo_pcmt.outputs.map.frames import column
from geo_pcmt.outputs.map.overlays import STATUS_CLASSES
from geo_pcmt.values import dates, text

ByYear = dict[int, dict[str, str]]        # year → commune code → class
Details = dict[str, dict[str, dict]]      # commune code → year → what the popup shows


def status_by_year(status: pd.DataFrame | None, recognitions: pd.DataFrame | None,
                   codes: Sequence[str]) -> tuple[ByYear, Details, bool]:
    """Per year, each commune's class (see :data:`~.overlays.STATUS_CLASSES`) and its details.

    From ``commune_status`` when given (the last period of each year wins); otherwise only
    what the recognition decisions say (drug-free labels), everything else "not assessed".

    Returns
    -------
    (by_year, details, from_status)
        ``from_status`` is False when the classes come from the recognitions alone.
    """
    if status is not None and len(status):
        return (*_from_status(status), True)
    if recognitions is not None and len(recognitions):
        return (*_from_recognitions(recognitions, codes), False)
    return {}, {}, False


def _from_status(status: pd.DataFrame) -> tuple[ByYear, Details]:
    by_year: ByYear = {}
    details: Details = {}
    s = status.copy()
    s["gp_year"] = pd.to_numeric(s["period"].astype(str).str.slice(0, 4), errors="coerce")
    s = s.dropna(subset=["gp_year"]).sort_values(["commune_code", "period"])
    label = column(s, "drug_free_label").astype("string")
    # every class the rule sets give has its colour (drug activity below class III included)
    cls = s["status"].where(s["status"].isin(STATUS_CLASSES), "chua_danh_gia")
    sach = (label == "sach_ve_ma_tuy").fillna(False) & ~cls.isin(
        ["loai_I", "loai_II", "loai_III", "khong_ma_tuy"])
    s["gp_class"] = cls.where(~sach.to_numpy(), "sach_ve_ma_tuy")
    for row in s.itertuples(index=False):
        year, code = int(row.gp_year), str(row.commune_code)
        by_year.setdefault(year, {})[code] = row.gp_class
        details.setdefault(code, {})[str(year)] = {
            "c": row.gp_class, "p": text(row.period),
            "r": text(getattr(row, "rule_set", None)),
            "k": text(getattr(row, "criteria", None)),
            "l": text(getattr(row, "drug_free_label", None)),
            "d": text(getattr(row, "recognition", None))}
    return by_year, details


def _from_recognitions(recognitions: pd.DataFrame, codes: Sequence[str]
                       ) -> tuple[ByYear, Details]:
    by_year: ByYear = {}
    details: Details = {}
    r = recognitions.copy()
    r["_date"] = dates(r["date"])
    r["_revoked"] = dates(column(r, "revoked_on"))
    years = range(int(r["_date"].dt.year.min()), max(int(r["_date"].dt.year.max()),
                                                      date.today().year) + 1)
    for year in years:
        end = pd.Timestamp(year=year, month=12, day=31)
        valid = r[(r["_date"] <= end) & ~(r["_revoked"] <= end)]
        classes = {c: "chua_danh_gia" for c in codes}
        for row in valid.sort_values("_date").itertuples(index=False):
            code = str(row.commune_code)
            if row.label == "khong_ma_tuy" or classes.get(code) != "khong_ma_tuy":
                classes[code] = str(row.label)
            details.setdefault(code, {})[str(year)] = {
                "c": classes[code], "l": text(row.label),
                "d": f"{text(row.decision_no)} ({text(row.date)}, {text(row.authority)})"}
        by_year[year] = classes
    return by_year, details


def labels_by_year(details: Details) -> dict[int, dict[str, str]]:
    """Per year, the drug-free label each commune holds (from :func:`status_by_year` details)."""
    out: dict[int, dict[str, str]] = {}
    for code, per_year in details.items():
        for year, d in per_year.items():
            if d.get("l"):
                out.setdefault(int(year), {})[code] = d["l"]
    return out
