"""Drug treatment indicators (cai nghiện, quản lý sau cai, Methadone) per commune and year, against the province's targets.

Pure functions over the ``treatment`` layer (counts per commune and year, never person
records). The targets are data: ``geo_pcmt/analysis/targets_data/nghe_an.yaml`` (Plan
180/KH-UBND 2022 for treatment; Plans 695/KH-UBND, 1154/KH-UBND, 107/KH-UBND for drug-free
communes), each with its source and how the plan's sentence is read against the fields.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import pandas as pd
import yaml

from geo_pcmt.layers import get_layer

TARGETS_FILE = Path(__file__).resolve().parent / "targets_data" / "nghe_an.yaml"
COUNT_FIELDS = ("addicts_with_records", "users", "compulsory_treatment", "voluntary_treatment",
                "community_treatment", "post_treatment", "on_methadone", "vocational_trained")
IN_TREATMENT = ("compulsory_treatment", "voluntary_treatment", "community_treatment")


@dataclass(frozen=True)
class Indicator:
    """One target: ``sum(numerator) / sum(denominator) × 100`` should reach ``target_pct``."""

    id: str
    year: int
    target_pct: float
    numerator: tuple[str, ...]
    denominator: tuple[str, ...]
    label_vi: str
    label_en: str
    reading: str
    source: str


@dataclass(frozen=True)
class Targets:
    """The province's targets: treatment indicators and drug-free shares (a ``targets`` frame)."""

    indicators: tuple[Indicator, ...]
    drug_free: pd.DataFrame
    path: str


def load_targets(path: str | Path | None = None) -> Targets:
    """Read and check the targets file; ``ValueError`` naming the entry and field."""
    path = Path(path) if path else TARGETS_FILE
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    known = set(COUNT_FIELDS)
    out = []
    for k, raw in enumerate(data.get("treatment") or [], start=1):
        where = f"{path.name}: treatment entry {k} ({raw.get('id', '?')})"
        for key in ("id", "year", "target_pct", "numerator", "denominator", "source"):
            if raw.get(key) in (None, "", []):
                raise ValueError(f"{where}: field {key!r} is missing")
        bad = (set(raw["numerator"]) | set(raw["denominator"])) - known
        if bad:
            raise ValueError(f"{where}: unknown field(s) {', '.join(sorted(bad))}; known: "
                             f"{', '.join(COUNT_FIELDS)}")
        out.append(Indicator(str(raw["id"]), int(raw["year"]), float(raw["target_pct"]),
                             tuple(raw["numerator"]), tuple(raw["denominator"]),
                             raw.get("label_vi", ""), raw.get("label_en", ""),
                             raw.get("reading", ""), raw["source"]))
    rows = [{"scope": d["scope"], "year": int(d["year"]),
             "share_drug_free": float(d["share_pct"]) / 100.0, "basis": d["source"]}
            for d in data.get("drug_free") or []]
    return Targets(tuple(out), pd.DataFrame(rows, columns=["scope", "year", "share_drug_free",
                                                          "basis"]), str(path))


def _share(num: float, den: float) -> float | None:
    return round(100.0 * num / den, 1) if den > 0 else None


def per_commune(treatment: pd.DataFrame, targets: Targets, *, year: int,
                communes: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per commune of ``year``: the counts, ``in_treatment`` and each indicator (%).

    A commune whose counts in treatment exceed its addicts with records gets a ``warnings``
    text naming the fields (a data-entry problem to check, not a result).

    Examples
    --------
    >>> t = pd.DataFrame({"commune_code": ["1"], "year": [2025], "addicts_with_records": [10],
    ...     "users": [2], "compulsory_treatment": [4], "voluntary_treatment": [1],
    ...     "community_treatment": [2], "post_treatment": [1], "on_methadone": [1],
    ...     "vocational_trained": [1]})
    >>> row = per_commune(t, load_targets(), year=2025).iloc[0]
    >>> int(row["in_treatment"]), float(row["reach_pct"])
    (7, 80.0)
    """
    rows = treatment[treatment["year"].astype(int) == int(year)].copy()
    for f in COUNT_FIELDS:
        rows[f] = pd.to_numeric(rows[f], errors="coerce").fillna(0).astype(int)
    rows["in_treatment"] = rows[list(IN_TREATMENT)].sum(axis=1)
    for ind in targets.indicators:
        rows[f"{ind.id}_pct"] = [_share(n, d) for n, d in
                                 zip(rows[list(ind.numerator)].sum(axis=1),
                                     rows[list(ind.denominator)].sum(axis=1))]
    over = rows["in_treatment"] + rows["on_methadone"] > rows["addicts_with_records"]
    rows["warnings"] = None
    rows.loc[over, "warnings"] = ("số đang cai nghiện và điều trị Methadone lớn hơn số người "
                                  "nghiện có hồ sơ — cần kiểm tra số liệu")
    if communes is not None and len(communes):
        names = communes.set_index(communes["code"].astype(str))["name"]
        rows.insert(1, "commune_name", rows["commune_code"].astype(str).map(names))
    keep = [c for c in rows.columns if c not in get_layer("treatment").field_names
            or c in ("commune_code", "year") + COUNT_FIELDS]
    return rows[keep].sort_values("commune_code").reset_index(drop=True)


def province(treatment: pd.DataFrame, targets: Targets, *, year: int,
             codes: Iterable[str] | None = None) -> pd.DataFrame:
    """Province totals of ``year`` (or of ``codes``) against every treatment target.

    Returns one row per indicator: ``indicator``, ``label_vi``, ``numerator``,
    ``denominator``, ``value_pct``, ``target_pct``, ``target_year``, ``met`` (bool; None
    without data), ``gap_pct`` (target − value), ``source``, ``reading``.
    """
    rows = treatment[treatment["year"].astype(int) == int(year)]
    if codes is not None:
        rows = rows[rows["commune_code"].astype(str).isin(set(map(str, codes)))]
    sums = {f: float(pd.to_numeric(rows[f], errors="coerce").fillna(0).sum())
            for f in COUNT_FIELDS}
    out = []
    for ind in targets.indicators:
        num = sum(sums[f] for f in ind.numerator)
        den = sum(sums[f] for f in ind.denominator)
        value = _share(num, den)
        out.append({"indicator": ind.id, "label_vi": ind.label_vi, "label_en": ind.label_en,
                    "numerator": int(num), "denominator": int(den), "value_pct": value,
                    "target_pct": ind.target_pct, "target_year": ind.year,
                    "met": None if value is None else value >= ind.target_pct,
                    "gap_pct": None if value is None else round(ind.target_pct - value, 1),
                    "source": ind.source, "reading": ind.reading})
    return pd.DataFrame(out)


def totals(treatment: pd.DataFrame, *, year: int) -> dict[str, int]:
    """Sum of every count of ``year`` (the figures a report prints)."""
    rows = treatment[treatment["year"].astype(int) == int(year)]
    return {f: int(pd.to_numeric(rows[f], errors="coerce").fillna(0).sum()) for f in COUNT_FIELDS}


__all__ = ["COUNT_FIELDS", "IN_TREATMENT", "Indicator", "TARGETS_FILE", "Targets", "load_targets",
           "per_commune", "province", "totals"]
