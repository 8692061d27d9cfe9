"""Drug-free targets (chỉ tiêu) and the headline dashboard: "x of 130 communes drug-free, on track?".

:func:`dashboard` is THE grading of the headline (``achieved`` / ``on_track`` / ``behind`` /
``no_target``): the map, the CLI and the web show its verdict and texts, computed from
recognitions and targets, never typed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from geo_pcmt.analysis.status import DRUG_FREE, SACH, recognitions_on
from geo_pcmt.formatting import fmt_compact, fmt_number, fmt_percent
from geo_pcmt.words import VERDICT_WORDS  # noqa: F401  (the grades, in the one word table)

PROVINCE_SCOPES = ("province", "tinh", "tỉnh", "40", "nghe_an", "nghệ an")
BORDER_SCOPES = ("border", "bien_gioi", "biên giới", "border_communes")


def target_pct(targets: pd.DataFrame | None, year: int, scope: str = "province") -> float | None:
    """The target share drug-free (per cent) for ``scope`` in ``year``, or None.

    ``share_drug_free`` may be stored as a fraction (0.3) or a percentage (30); values ≤ 1
    are read as fractions. ``scope`` ``"province"`` also matches ``tinh``/``40``; ``"border"``
    matches ``bien_gioi``; anything else is a commune code.

    Examples
    --------
    >>> t = pd.DataFrame({"scope": ["tinh", "border"], "year": [2026, 2026],
    ...                   "share_drug_free": [0.3, 25]})
    >>> target_pct(t, 2026), target_pct(t, 2026, "bien_gioi"), target_pct(t, 2027)
    (30.0, 25.0, None)
    """
    if targets is None or not len(targets):
        return None
    names = PROVINCE_SCOPES if scope in PROVINCE_SCOPES else BORDER_SCOPES \
        if scope in BORDER_SCOPES else (scope,)
    sc = targets["scope"].astype(str).str.strip().str.casefold()
    years = pd.to_numeric(targets["year"], errors="coerce")
    hit = targets[sc.isin([n.casefold() for n in names]).to_numpy() & (years == year).to_numpy()]
    if not len(hit):
        return None
    v = float(hit["share_drug_free"].iloc[-1])
    return v * 100 if v <= 1 else v


def year_fraction(on: date) -> float:
    """Share of ``on.year`` gone by ``on`` (1 January = 0, 31 December = 1)."""
    year_start, year_end = date(on.year, 1, 1), date(on.year, 12, 31)
    return (on - year_start).days / (year_end - year_start).days


def border_expected_pct(targets: pd.DataFrame | None, year: int, on: date,
                        target: float | None) -> float | None:
    """Where the border communes should be on ``on``: on the straight line from last year's
    target (border, else province) to ``target``; ``target`` itself without a previous one."""
    if target is None:
        return None
    prev = target_pct(targets, year - 1, "border")
    if prev is None:
        prev = target_pct(targets, year - 1, "province")
    if prev is None:
        return target  # no earlier target: judge against the year's target itself
    frac = (on - date(year, 1, 1)).days / (date(year, 12, 31) - date(year, 1, 1)).days
    return round(prev + (target - prev) * min(max(frac, 0.0), 1.0), 2)


@dataclass(frozen=True)
class Dashboard:
    """The headline numbers, all computed.

    ``n_drug_free`` of ``n_total`` communes hold the label on ``on`` (``share_pct``);
    ``target_pct`` is the target for ``on.year``; ``expected_pct`` is where the province
    should be today on a straight line from the previous target (or the share at the start of
    the year) to this year's; ``verdict`` is ``achieved``, ``on_track``, ``behind`` or
    ``no_target``; ``needed`` is how many more communes reach the target.
    """

    on: date
    scope: str
    label: str
    n_drug_free: int
    n_total: int
    share_pct: float
    target_year: int
    target_pct: float | None
    expected_pct: float | None
    verdict: str
    needed: int | None
    text_vi: str
    text_en: str
    drug_free_codes: tuple[str, ...] = field(default=(), repr=False)

    def as_dict(self) -> dict:
        d = dict(self.__dict__)
        d["on"] = self.on.isoformat()
        d["drug_free_codes"] = list(self.drug_free_codes)
        return d


#: The words of each verdict (Vietnamese, English): the one place the grading is named.
_LABEL_WORDS = {DRUG_FREE: ("không ma túy", "drug-free"),
                SACH: ("sạch về ma túy", "'sạch về ma túy'")}


def _holders(recognitions: pd.DataFrame, day: date, label: str, codes: set[str]) -> list[str]:
    """Codes (of ``codes``) holding ``label`` on ``day``, sorted."""
    live = recognitions_on(recognitions, day.isoformat(), label=label) if len(recognitions) \
        else recognitions
    return sorted(set(live["commune_code"].astype(str)) & codes) if len(live) else []


def _grade(recognitions: pd.DataFrame, codes: set[str], targets: pd.DataFrame | None, *,
           on: date, scope: str, label: str, share: float, n: int
           ) -> tuple[float | None, float | None, str, int | None]:
    """Target, straight-line expectation, verdict and communes still needed on ``on``."""
    total, year = len(codes), on.year
    tgt = target_pct(targets, year, scope)
    if tgt is None:
        return None, None, "no_target", None
    prev = target_pct(targets, year - 1, scope)
    if prev is None:
        start = _holders(recognitions, date(year - 1, 12, 31), label, codes)
        prev = 100.0 * len(start) / total if total and start else 0.0
    expected = prev + (tgt - prev) * min(max(year_fraction(on), 0.0), 1.0)
    needed = max(math.ceil(tgt * total / 100 - 1e-9) - n, 0)
    verdict = "achieved" if share >= tgt else "on_track" if share >= expected else "behind"
    return tgt, expected, verdict, needed


def dashboard(recognitions: pd.DataFrame, communes: pd.DataFrame, targets: pd.DataFrame | None,
              *, on: date, scope: str = "province", label: str = DRUG_FREE) -> Dashboard:
    """"x of 130 communes drug-free (y %), target z % in 2026, on track / behind".

    Parameters
    ----------
    recognitions : DataFrame
        The ``recognitions`` layer; only records of ``label`` in force on ``on`` count.
    communes : DataFrame
        The communes in scope (``code``): all 130 for the province, the border communes for
        ``scope="border"``.
    targets : DataFrame, optional
        The ``targets`` layer.
    on : date
    scope : str
        Which targets apply (``province``, ``border`` or a commune code).
    label : str
        ``khong_ma_tuy`` (national, the default) or ``sach_ve_ma_tuy``.

    Examples
    --------
    >>> recs = pd.DataFrame({"commune_code": ["C0", "C1"], "label": "khong_ma_tuy",
    ...                      "date": ["2025-10-01", "2026-02-01"], "revoked_on": None})
    >>> communes = pd.DataFrame({"code": [f"C{i}" for i in range(10)]})
    >>> targets = pd.DataFrame({"scope": ["province", "province"], "year": [2025, 2026],
    ...                         "share_drug_free": [0.2, 0.3]})
    >>> d = dashboard(recs, communes, targets, on=date(2026, 11, 25))
    >>> d.text_en
    '2 of 10 communes drug-free (20.0 %), target 30 % in 2026, behind'
    >>> d.text_vi
    '2/10 xã, phường không ma túy (20,0 %), chỉ tiêu 30 % năm 2026 — chậm tiến độ'
    """
    codes = set(communes["code"].astype(str))
    have = _holders(recognitions, on, label, codes)
    n, total = len(have), len(codes)
    share = 100.0 * n / total if total else 0.0
    tgt, expected, verdict, needed = _grade(recognitions, codes, targets, on=on, scope=scope,
                                            label=label, share=share, n=n)
    year = on.year
    word = _LABEL_WORDS.get(label, (label, label))
    unit = "xã, phường" if scope in PROVINCE_SCOPES else "xã"
    t_vi = f", chỉ tiêu {fmt_number(tgt, 0 if float(tgt).is_integer() else 1)} % năm {year}" \
        if tgt is not None else ""
    t_en = f", target {fmt_compact(tgt, 1, 'en')} % in {year}" if tgt is not None else ""
    text_vi = f"{n}/{total} {unit} {word[0]} ({fmt_percent(share / 100)}){t_vi} — " \
              f"{VERDICT_WORDS[verdict][0]}"
    text_en = (f"{n} of {total} communes {word[1]} ({fmt_number(share, 1, 'en')} %){t_en}, "
               f"{VERDICT_WORDS[verdict][1]}")
    return Dashboard(on, scope, label, n, total, round(share, 1), year, tgt,
                     None if expected is None else round(expected, 1), verdict, needed, text_vi,
                     text_en, tuple(have))
