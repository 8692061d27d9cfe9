"""The signals of the complex-hotspot flags: each fires on candidate areas with points and a reason.

Every signal function takes the candidate areas as metric geometries (EPSG:32648), the layer
it reads and :class:`geo_pcmt.analysis.flags.FlagRules`, and returns ``(area index,
Signal)`` pairs; a missing layer fires nothing. Reasons quote the numbers behind them in
Vietnamese and English ("5 điểm bán lẻ đang hoạt động trong bán kính 600 m").
:func:`geo_pcmt.analysis.flags.complex_hotspots` adds them up.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo_pcmt.analysis import calendar
from geo_pcmt.analysis.clusters import nearest_feature
from geo_pcmt.analysis.dbscan import neighbour_counts
from geo_pcmt.analysis.grid import metric_xy
from geo_pcmt.analysis.trends import CATEGORY_LABELS
from geo_pcmt.crs import METRIC_CRS
from geo_pcmt.formatting import fmt_number
from geo_pcmt.values import column_dates

if TYPE_CHECKING:
    from geo_pcmt.analysis.flags import FlagRules

# how a crossing kind reads in a sentence (Vietnamese, English)
CROSSING_WORDS = {
    "international": ("cửa khẩu quốc tế", "international border gate"),
    "main": ("cửa khẩu chính", "main border gate"),
    "secondary": ("cửa khẩu phụ", "secondary border gate"),
    "opening": ("lối mở", "border opening"),
    "trail": ("đường mòn", "border trail"),
}
_VI_PREFIXES = ("cửa khẩu quốc tế ", "cửa khẩu chính ", "cửa khẩu phụ ", "cửa khẩu ",
                "lối mở ", "đường mòn ")


@dataclass
class Signal:
    """One signal that fired on an area: its ``points``, reasons and the values behind them."""

    name: str
    score: float
    vi: str
    en: str
    value: dict = field(default_factory=dict)


Fired = list[tuple[int, Signal]]


# --- number formatting (Babel, through geo_pcmt.formatting) ------------------------------

def format_p(p: float, lang: str = "vi") -> str:
    """``p < 0,001`` / ``p = 0,03`` (Vietnamese) or ``p < 0.001`` / ``p = 0.03`` (English).

    Examples
    --------
    >>> format_p(0.0004), format_p(0.031, "en")
    ('p < 0,001', 'p = 0.03')
    """
    if p < 0.001:
        return f"p < {fmt_number(0.001, 3, lang)}"
    return f"p = {fmt_number(p, 3 if p < 0.01 else 2, lang)}"


def crossing_phrase(name: str | None, kind: str | None) -> tuple[str, str]:
    """("cửa khẩu Thông Thụ", "Thông Thụ border gate") from a stored name and kind.

    Examples
    --------
    >>> crossing_phrase("Lối mở Buộc Mú", "opening")
    ('lối mở Buộc Mú', 'Buộc Mú border opening')
    """
    name = (name or "").strip()
    vi_word, en_word = CROSSING_WORDS.get(kind or "", ("cửa khẩu", "border crossing"))
    if kind in ("international", "main", "secondary"):
        vi_word = "cửa khẩu"  # "cửa khẩu Thông Thụ" reads naturally; the class is secondary
    low = name.lower()
    bare = name
    for prefix in _VI_PREFIXES:
        if low.startswith(prefix):
            bare = name[len(prefix):]
            break
    vi = (name[0].lower() + name[1:]) if bare != name else f"{vi_word} {name}"
    en = f"{bare} {en_word}" if bare else en_word
    return vi.strip(), en.strip()


# --- where things are -------------------------------------------------------------------

def metric_geoms(frame: gpd.GeoDataFrame) -> np.ndarray:
    """The geometries of ``frame`` in EPSG:32648, as an object array."""
    return np.asarray(frame.to_crs(METRIC_CRS).geometry.values, dtype=object)


def _points_in(areas: np.ndarray, x: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
    """Indices of the points inside (or on the edge of) each metric area."""
    out: list[np.ndarray] = [np.empty(0, dtype=np.int64) for _ in range(len(areas))]
    if len(x) == 0 or len(areas) == 0:
        return out
    pts = shapely.points(x, y)
    a_idx, p_idx = shapely.STRtree(pts).query(areas, predicate="intersects")
    if len(a_idx):
        order = np.argsort(a_idx, kind="stable")
        a_idx, p_idx = a_idx[order], p_idx[order]
        splits = np.flatnonzero(np.diff(a_idx)) + 1
        for a, chunk in zip(np.split(a_idx, splits), np.split(p_idx, splits)):
            out[a[0]] = chunk
    return out


def _overlapping_cells(areas: np.ndarray, cells: gpd.GeoDataFrame | None) -> list[np.ndarray]:
    """Cells of a Gi*/emerging frame whose centre lies in each area, plus the cell that
    holds the area's own inner point (so a cluster smaller than a cell meets its cell)."""
    out: list[np.ndarray] = [np.empty(0, dtype=np.int64) for _ in range(len(areas))]
    if cells is None or len(cells) == 0 or len(areas) == 0:
        return out
    cg = metric_geoms(cells)
    centres = shapely.centroid(cg)
    a1, c1 = shapely.STRtree(centres).query(areas, predicate="intersects")
    a2, c2 = shapely.STRtree(cg).query(shapely.point_on_surface(areas), predicate="intersects")
    a_idx = np.concatenate([a1, a2])
    c_idx = np.concatenate([c1, c2])
    for a, c in zip(a_idx, c_idx):
        out[a] = np.append(out[a], c)
    return [np.unique(o) for o in out]


def _retail_status(retail: gpd.GeoDataFrame) -> pd.Series:
    return retail["status"].astype(str) if "status" in retail.columns \
        else pd.Series("active", index=retail.index)


def _season_start(as_of: pd.Timestamp, month: int) -> pd.Timestamp:
    """First day of the opium season counted for ``as_of`` (:mod:`geo_pcmt.analysis.calendar`)."""
    return pd.Timestamp(calendar.latest_opium_season(as_of, start_month=month).start)


# --- the signals, in the order their reasons are listed on equal points -------------------

def active_points(areas: np.ndarray, retail: gpd.GeoDataFrame | None,
                  rules: FlagRules) -> Fired:
    """1. The densest neighbourhood (``radius_m``) of active drug points inside the area."""
    if retail is None or len(retail) == 0:
        return []
    status = _retail_status(retail)
    x, y = metric_xy(retail)
    active = status.isin(["active", "re-emerged"]).to_numpy()
    types = retail["type"].astype(str).to_numpy(dtype=object) if "type" in retail.columns \
        else np.full(len(retail), "diem_ban_le", dtype=object)
    ax, ay, atypes = x[active], y[active], types[active]
    # for each active point, how many active points lie within the radius (itself included)
    counts = neighbour_counts(np.column_stack([ax, ay]), rules.radius_m)
    r_vi = fmt_number(rules.radius_m, 0, "vi")
    r_en = fmt_number(rules.radius_m, 0, "en")
    fired: Fired = []
    for i, idx in enumerate(_points_in(areas, ax, ay)):
        if not len(idx):
            continue
        best = int(counts[idx].max())
        if best < rules.min_active_points:
            continue
        only_retail = bool(np.all(atypes[idx] == "diem_ban_le"))
        what_vi = "điểm bán lẻ" if only_retail else "điểm, tụ điểm ma túy"
        what_en = "active retail points" if only_retail else "active drug points and places"
        fired.append((i, Signal(
            "active_points", min(rules.max_active_points_score, rules.score_per_active_point * best),
            f"{best} {what_vi} đang hoạt động trong bán kính {r_vi} m",
            f"{best} {what_en} within {r_en} m",
            {"count": best, "radius_m": rules.radius_m, "active_in_area": int(len(idx))})))
    return fired


def _commune_gi(commune_gistar: pd.DataFrame | None) -> dict[str, tuple[float, int, int]]:
    """Commune code → (z, confidence, gi_bin) of the Gi* per commune."""
    if commune_gistar is None or not len(commune_gistar):
        return {}
    key = "code" if "code" in commune_gistar.columns else "cell"
    return {str(row[key]): (float(row["z"]), int(row["confidence"]), int(row["gi_bin"]))
            for _, row in commune_gistar.iterrows()}


def gistar(areas: np.ndarray, kinds: np.ndarray, refs: np.ndarray,
           cells: gpd.GeoDataFrame | None, commune_gistar: pd.DataFrame | None,
           fdr: bool, rules: FlagRules) -> Fired:
    """2. A Gi* hot spot: the commune's own Gi* for communes, else the hottest hot cell met."""
    if cells is not None and len(cells):
        overlap = _overlapping_cells(areas, cells)
        z_all = cells["z"].to_numpy(float)
        conf_all = cells["confidence"].to_numpy(int)
        bin_all = cells["gi_bin"].to_numpy(int)
    else:
        overlap, z_all = [np.empty(0, dtype=np.int64)] * len(areas), None
    commune_gi = _commune_gi(commune_gistar)
    fdr_vi = ", đã hiệu chỉnh FDR" if fdr else ""
    fdr_en = ", FDR-corrected" if fdr else ""
    fired: Fired = []
    for i in range(len(areas)):
        best = None
        if kinds[i] == "commune" and commune_gi:
            z, conf, b = commune_gi.get(str(refs[i]), (0.0, 0, 0))
            if b > 0:
                best = (z, conf, "commune")
        elif z_all is not None and len(overlap[i]):
            idx = overlap[i][bin_all[overlap[i]] > 0]
            if len(idx):
                j = idx[np.argmax(z_all[idx])]
                best = (float(z_all[j]), int(conf_all[j]), "hex")
        if best is None:
            continue
        z, conf, unit = best
        fired.append((i, Signal(
            "gistar", dict(zip((99, 95, 90), rules.gistar_scores)).get(conf, 0.0),
            f"Gi* z = {fmt_number(z, 1, 'vi')} ({conf} %{fdr_vi})",
            f"Gi* z = {fmt_number(z, 1, 'en')} ({conf} %{fdr_en})",
            {"z": round(z, 4), "confidence": conf, "unit": unit})))
    return fired


def emerging_trend(areas: np.ndarray, emerging: gpd.GeoDataFrame | None,
                   rules: FlagRules) -> Fired:
    """3. The strongest emerging-hot-spot trend of the cells the area meets."""
    if emerging is None or not len(emerging):
        return []
    e_over = _overlapping_cells(areas, emerging)
    cats = emerging["category"].to_numpy(dtype=object)
    mkp = emerging["mk_p"].to_numpy(float)
    table = dict(rules.emerging_scores)
    fired: Fired = []
    for i in range(len(areas)):
        if not len(e_over[i]):
            continue
        pts = np.array([table.get(c, 0.0) for c in cats[e_over[i]]])
        if pts.max() <= 0:
            continue
        j = e_over[i][int(np.argmax(pts))]
        vi, en = CATEGORY_LABELS[cats[j]]
        fired.append((i, Signal(
            "emerging", float(pts.max()),
            f"xu hướng: {vi.lower()} (Mann–Kendall {format_p(mkp[j], 'vi')})",
            f"trend: {en.lower()} (Mann–Kendall {format_p(mkp[j], 'en')})",
            {"category": cats[j], "mk_p": round(float(mkp[j]), 4)})))
    return fired


def _text_column(frame: pd.DataFrame, column: str) -> np.ndarray:
    return frame[column].astype(str).to_numpy(dtype=object) if column in frame.columns \
        else np.full(len(frame), "", dtype=object)


def near_crossing(areas: np.ndarray, crossings: gpd.GeoDataFrame | None,
                  rules: FlagRules) -> Fired:
    """4. The nearest border crossing (gate, opening, trail) within ``crossing_km``."""
    if crossings is None or not len(crossings):
        return []
    tree = shapely.STRtree(metric_geoms(crossings))
    (gi_, ci_), dist = tree.query_nearest(areas, return_distance=True, all_matches=False)
    names, kinds = _text_column(crossings, "name"), _text_column(crossings, "kind")
    fired: Fired = []
    for a, c, d in zip(gi_, ci_, dist):
        km = d / 1000.0
        if km > rules.crossing_km:
            continue
        vi, en = crossing_phrase(names[c], kinds[c])
        km_shown = max(km, 0.1)
        fired.append((int(a), Signal(
            "crossing", rules.crossing_score,
            f"cách {vi} {fmt_number(km_shown, 1, 'vi')} km",
            f"{fmt_number(km_shown, 1, 'en')} km from {en}",
            {"crossing": names[c], "kind": kinds[c], "distance_km": round(km, 3)})))
    return fired


def near_border(areas: np.ndarray, border: gpd.GeoDataFrame | None, rules: FlagRules) -> Fired:
    """5. The Viet Nam–Laos border line within ``border_km``."""
    if border is None or not len(border):
        return []
    _, _, dist = nearest_feature(areas, border)
    fired: Fired = []
    for i in np.flatnonzero(dist <= rules.border_km):
        km_shown = max(float(dist[i]), 0.1)
        fired.append((int(i), Signal(
            "border", rules.border_score,
            f"cách biên giới Việt – Lào {fmt_number(km_shown, 1, 'vi')} km",
            f"{fmt_number(km_shown, 1, 'en')} km from the Viet Nam–Laos border",
            {"distance_km": round(float(dist[i]), 3)})))
    return fired


def opium_this_season(areas: np.ndarray, opium_plots: gpd.GeoDataFrame | None,
                      as_of: pd.Timestamp, rules: FlagRules) -> Fired:
    """6. Opium poppy found this season (from ``season_start_month``), by area in m²."""
    if opium_plots is None or not len(opium_plots):
        return []
    season0 = _season_start(as_of, rules.season_start_month)
    det = column_dates(opium_plots, "detected_on")
    plots = opium_plots[((det >= season0) & (det <= as_of)).to_numpy()]
    if not len(plots):
        return []
    px, py = metric_xy(plots)
    area_m2 = pd.to_numeric(plots.get("area_m2"), errors="coerce").fillna(0.0).to_numpy(float)
    plants = pd.to_numeric(plots["plant_count"], errors="coerce").fillna(0).to_numpy(float) \
        if "plant_count" in plots.columns else np.zeros(len(plots))
    fired: Fired = []
    for i, idx in enumerate(_points_in(areas, px, py)):
        total = float(area_m2[idx].sum()) if len(idx) else 0.0
        if total < rules.opium_low_m2:
            continue
        pts = rules.opium_high_score if total >= rules.opium_high_m2 else rules.opium_low_score
        n_plants = float(plants[idx].sum())
        extra_vi = f", {fmt_number(n_plants, 0, 'vi')} cây" if n_plants else ""
        extra_en = f", {fmt_number(n_plants, 0, 'en')} plants" if n_plants else ""
        fired.append((i, Signal(
            "opium", pts,
            f"{fmt_number(total, 0, 'vi')} m² thuốc phiện trong vụ này "
            f"({len(idx)} nương{extra_vi})",
            f"{fmt_number(total, 0, 'en')} m² of opium poppy this season "
            f"({len(idx)} plots{extra_en})",
            {"area_m2": round(total, 1), "plots": int(len(idx)), "plants": int(n_plants),
             "season_start": season0.date().isoformat()})))
    return fired


def reemerged(areas: np.ndarray, retail: gpd.GeoDataFrame | None, rules: FlagRules) -> Fired:
    """7. Retail points back after elimination (status ``re-emerged``) inside the area."""
    if retail is None or len(retail) == 0:
        return []
    x, y = metric_xy(retail)
    back = (_retail_status(retail) == "re-emerged").to_numpy()
    fired: Fired = []
    for i, idx in enumerate(_points_in(areas, x[back], y[back])):
        if not len(idx):
            continue
        k = int(len(idx))
        fired.append((i, Signal(
            "reemerged", rules.reemerged_score,
            f"{k} điểm tái xuất hiện sau khi đã triệt xóa",
            f"{k} point{'s' if k > 1 else ''} re-emerged after being eliminated",
            {"count": k})))
    return fired


def recent_cases(areas: np.ndarray, cases: gpd.GeoDataFrame | None, as_of: pd.Timestamp,
                 rules: FlagRules) -> Fired:
    """8. At least ``min_recent_cases`` cases in the last ``recent_months`` months."""
    if cases is None or not len(cases):
        return []
    cdate = column_dates(cases, "date")
    since = as_of - pd.DateOffset(months=rules.recent_months)
    recent = cases[((cdate > since) & (cdate <= as_of)).to_numpy()]
    if not len(recent):
        return []
    cx, cy = metric_xy(recent)
    fired: Fired = []
    for i, idx in enumerate(_points_in(areas, cx, cy)):
        k = int(len(idx))
        if k < rules.min_recent_cases:
            continue
        fired.append((i, Signal(
            "recent_cases", min(rules.max_cases_score, rules.score_per_case * k),
            f"{fmt_number(k, 0, 'vi')} vụ án ma túy trong {rules.recent_months} tháng qua",
            f"{fmt_number(k, 0, 'en')} drug cases in the last {rules.recent_months} months",
            {"count": k, "months": rules.recent_months})))
    return fired
