"""The map's headline (tình hình chuyển hóa địa bàn): communes drug-free against the targets.

Per year, province-wide, by Lao border segment and by border post. Every figure graded is
graded by :func:`geo_pcmt.analysis.progress.dashboard` — ``achieved`` (đạt chỉ tiêu),
``on_track`` (đúng tiến độ), ``behind`` (chậm tiến độ) or ``no_target`` — so the map and
``geo-pcmt progress`` never disagree on how the province stands.
"""
from __future__ import annotations

from datetime import date
from typing import Mapping, Sequence

import geopandas as gpd
import pandas as pd

from geo_pcmt.analysis import progress
from geo_pcmt.analysis.status import DRUG_FREE
from geo_pcmt.layers import area_codes
from geo_pcmt.outputs.map.frames import column
from geo_pcmt.outputs.map.geometry import post_key
from geo_pcmt.outputs.map.overlays import STATUS_CLASSES, STATUS_RANK
from geo_pcmt.values import dates

Area = tuple[str, str, list[str]]  # key, name, commune codes

_FREE = ("khong_ma_tuy", "sach_ve_ma_tuy")


def progress_by_year(communes: gpd.GeoDataFrame, by_year: Mapping[int, Mapping[str, str]], *,
                     recognitions: pd.DataFrame | None = None,
                     targets: pd.DataFrame | None = None,
                     retail_points: pd.DataFrame | None = None,
                     opium_plots: pd.DataFrame | None = None,
                     border_posts: pd.DataFrame | None = None,
                     since_year: int | None = None,
                     labels_by_year: Mapping[int, Mapping[str, str]] | None = None,
                     today: date | None = None) -> dict[int, dict]:
    """Headline numbers per year, province-wide, by border segment and by border post.

    Parameters
    ----------
    communes : GeoDataFrame
        ``code``, ``is_border``, ``lao_province``.
    by_year : mapping
        Year → commune code → class shown on the map (:func:`.status.status_by_year`).
    recognitions : DataFrame, optional
        The ``recognitions`` layer: who is drug-free on a day. Without it, a drug-free class in
        a year reads as the national label held through that year.
    targets : DataFrame, optional
        The ``targets`` layer (``province`` for the province, ``border`` for the areas).
    retail_points, opium_plots : DataFrame, optional
        Points eliminated and plots eradicated in the year (only when the reader may see them).
    border_posts : DataFrame, optional
        Posts with ``area_of_responsibility``: one row per post.
    since_year : int, optional
        Class changes are counted since this year (default: the first year).
    labels_by_year : mapping, optional
        Year → commune → drug-free label in force: a commune holding Nghệ An's "sạch về ma
        túy" label counts as such even when its computed class is shown.
    today : date, optional
        The current year is graded on this day (default: today); past years on 31 December.

    Returns
    -------
    dict
        Year → the province's row (``free``, ``n``, ``share``, ``target``, ``target_year``,
        ``verdict``, ``headline_vi``/``_en``, ``classes``, ``improved``, ``worsened`` …) with
        ``segments`` and ``posts``, lists of rows of the same shape.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> c = gpd.GeoDataFrame({"code": ["1", "2"], "is_border": [True, False],
    ...     "lao_province": ["Hủa Phăn", None]}, geometry=[shapely.box(0, 0, 1, 1)] * 2)
    >>> row = progress_by_year(c, {2026: {"1": "khong_ma_tuy", "2": "loai_III"}},
    ...                        today=date(2026, 11, 25))[2026]
    >>> row["free"], row["verdict"]
    (1, 'no_target')
    """
    years = sorted(by_year)
    if not years:
        return {}
    today = today or date.today()
    since_year = since_year if since_year in by_year else years[0]
    if recognitions is None or not len(recognitions):
        recognitions = implied_recognitions(by_year)
    codes = communes["code"].astype(str).tolist()
    segments, posts = areas(communes, border_posts)
    out: dict[int, dict] = {}
    for year in years:
        grade = _Grader(recognitions, targets, _as_of(year, today))
        counts = _YearCounts(retail_points, opium_plots, year)
        classes = by_year[year]
        facts = (classes, by_year[since_year], (labels_by_year or {}).get(year, {}), counts)
        province = _graded([("province", "", codes)], "province", grade, facts)[0]
        province["classes"] = {c: sum(classes.get(k, "chua_danh_gia") == c for k in codes)
                               for c in STATUS_CLASSES}
        if retail_points is not None and len(retail_points):
            province["active_end"] = counts.active_at_end(retail_points)
        out[year] = {**province, "since": since_year,
                     "segments": _graded(segments, "border", grade, facts),
                     "posts": _graded(posts, "border", grade, facts)}
    return out


def areas(communes: gpd.GeoDataFrame, border_posts: pd.DataFrame | None
          ) -> tuple[list[Area], list[Area]]:
    """Border segments (communes by Lao province) and border posts' areas of responsibility."""
    border = communes[communes["is_border"].fillna(False).astype(bool)]
    segments = [(str(p), str(p), border.loc[border["lao_province"] == p, "code"].astype(str)
                 .tolist()) for p in sorted(border["lao_province"].dropna().unique())]
    posts: list[Area] = []
    if border_posts is not None and len(border_posts) and "area_of_responsibility" in border_posts:
        for i, row in enumerate(border_posts.itertuples(index=False)):
            aor = list(area_codes(row.area_of_responsibility))
            if aor:  # keyed by position, as geometry.post_areas: no record id in the page
                posts.append((post_key(i), str(row.name), aor))
    return segments, posts


def implied_recognitions(by_year: Mapping[int, Mapping[str, str]]) -> pd.DataFrame:
    """The national label as the classes shown imply it: held through each drug-free year.

    Used to grade a map that got commune classes but no recognition decisions.
    """
    rows = [(code, DRUG_FREE, f"{year}-01-01", f"{year + 1}-01-01")
            for year, classes in by_year.items() for code, cls in classes.items()
            if cls == DRUG_FREE]
    return pd.DataFrame(rows, columns=["commune_code", "label", "date", "revoked_on"])


def _as_of(year: int, today: date) -> date:
    """The day a year is graded on: 31 December if past, today if current, 1 January if ahead."""
    if year < today.year:
        return date(year, 12, 31)
    return today if year == today.year else date(year, 1, 1)


class _YearCounts:
    """Retail points eliminated and opium plots eradicated in one year, per commune."""

    def __init__(self, retail_points: pd.DataFrame | None, opium_plots: pd.DataFrame | None,
                 year: int) -> None:
        self.year = year
        self.cleared: dict[str, int] | None = None
        self.plots: dict[str, tuple[int, float]] | None = None
        if retail_points is not None and len(retail_points):
            sel = retail_points[(_years(retail_points, "cleared_on") == year).to_numpy()]
            self.cleared = column(sel, "commune_code").astype(str).value_counts().to_dict()
        if opium_plots is not None and len(opium_plots):
            sel = opium_plots[(_years(opium_plots, "eradicated_on") == year).to_numpy()]
            g = sel.assign(_c=column(sel, "commune_code").astype(str),
                           _a=pd.to_numeric(column(sel, "area_m2"), errors="coerce").fillna(0))
            self.plots = {c: (len(x), float(x["_a"].sum())) for c, x in g.groupby("_c")}

    def of(self, codes: Sequence[str]) -> dict:
        """``eliminated``, ``plots``, ``plots_m2`` of an area (only for the layers given)."""
        out: dict = {}
        if self.cleared is not None:
            out["eliminated"] = int(sum(self.cleared.get(c, 0) for c in codes))
        if self.plots is not None:
            out["plots"] = int(sum(self.plots.get(c, (0, 0.0))[0] for c in codes))
            out["plots_m2"] = round(float(sum(self.plots.get(c, (0, 0.0))[1] for c in codes)))
        return out

    def active_at_end(self, retail_points: pd.DataFrame) -> int:
        """Retail points seen by the end of the year and not eliminated by then."""
        start = _years(retail_points, "first_seen")
        return int(((start <= self.year) & ~(_years(retail_points, "cleared_on") <= self.year))
                   .sum())


def _years(frame: pd.DataFrame, name: str) -> pd.Series:
    return dates(column(frame, name)).dt.year


def _area_row(area: Area, classes: Mapping[str, str], since: Mapping[str, str],
              labels: Mapping[str, str], counts: _YearCounts) -> dict:
    """What the classes say of a group of communes: drug-free, class changes, counts."""
    key, name, codes = area
    n = len(codes)
    free = sum(classes.get(c) == DRUG_FREE for c in codes)
    sach = sum(classes.get(c) in _FREE or labels.get(c) in _FREE for c in codes)
    ranked = [c for c in codes if classes.get(c) in STATUS_RANK and since.get(c) in STATUS_RANK]
    improved = sum(STATUS_RANK[classes[c]] < STATUS_RANK[since[c]] for c in ranked)
    worsened = sum(STATUS_RANK[classes[c]] > STATUS_RANK[since[c]] for c in ranked)
    return {"key": key, "name": name, "n": n, "free": free, "sach": sach,
            "share": free / n if n else None, "improved": improved, "worsened": worsened,
            **counts.of(codes)}


def _graded(items: Sequence[Area], scope: str, grade: "_Grader", facts: tuple) -> list[dict]:
    """One row per area: what the classes say (:func:`_area_row`), graded by the dashboard."""
    return [grade(_area_row(area, *facts), area[2], scope) for area in items]


class _Grader:
    """Grades an area with :func:`geo_pcmt.analysis.progress.dashboard` on one day."""

    def __init__(self, recognitions: pd.DataFrame, targets: pd.DataFrame | None,
                 on: date) -> None:
        self.recognitions, self.targets, self.on = recognitions, targets, on

    def __call__(self, row: dict, codes: Sequence[str], scope: str) -> dict:
        """``row`` with the dashboard's count, share, target and verdict for its communes."""
        d = progress.dashboard(self.recognitions, pd.DataFrame({"code": list(codes)}),
                               self.targets, on=self.on, scope=scope)
        row.update(free=d.n_drug_free, n=d.n_total, share=d.share_pct / 100 if d.n_total
                   else None, verdict=d.verdict)
        if scope == "province":
            row.update(headline_vi=d.text_vi, headline_en=d.text_en)
        if d.target_pct is not None:
            row.update(target=d.target_pct / 100, target_year=d.target_year)
        else:  # no target this year: show the next one, ungraded
            row.update(zip(("target", "target_year"), _next_target(self.targets, d.target_year,
                                                                   scope)))
        return row


def _next_target(targets: pd.DataFrame | None, year: int, scope: str
                 ) -> tuple[float | None, int | None]:
    """The first target set for a year after ``year`` (as a share) and that year."""
    if targets is None or not len(targets):
        return None, None
    later = sorted({int(y) for y in pd.to_numeric(targets["year"], errors="coerce").dropna()
                    if y > year})
    for y in later:
        pct = progress.target_pct(targets, y, scope)
        if pct is not None:
            return pct / 100, y
    return None, None
