"""Transformation progress (chuyển hóa địa bàn), the Lao-border corridor, targets and dashboard numbers.

Pure functions over frames: nothing here reads files or the store.

* :func:`transformation` — per commune and period: class transition, retail points found,
  cleared (triệt xóa) and re-emerged, opium plots found and eradicated (count and m²), cases,
  recognitions granted and revoked.
* :func:`plan_progress` — progress of each transformation plan (target class and date).
* :func:`border` — the Viet Nam–Laos corridor summarised by Lao province segment, by border
  post and by distance band from the border line, plus chainage bins for a strip chart.
* :func:`distance_bands` — the band polygons (0–5, 5–15, 15–30 km inside the province).
* :func:`dashboard` — "x of 130 communes drug-free (y %), target z % in 2026, on track / behind",
  computed from recognitions and targets, never typed.

All distances are computed in EPSG:32648 (UTM 48N); results are returned in EPSG:4326.
Chainage (``chainage_km``) is distance along the border line from its northern end (the
Hủa Phăn / Thanh Hóa end) towards the southern end (Bô Ly Khăm Xay / Hà Tĩnh).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely import ops

from geo_pcmt.crs import METRIC_CRS, STORAGE_CRS
from geo_pcmt.analysis.lineage import period_bounds
from geo_pcmt.ingest.spatial import assign_communes
from geo_pcmt.analysis.status import CLASS_ORDER, DRUG_FREE, SACH, class_rank, recognitions_on

DEFAULT_BANDS_KM = (0.0, 5.0, 15.0, 30.0)
CLASS_COLUMNS = ("loai_I", "loai_II", "loai_III", "khong_trong_diem", "chua_danh_gia")
PROVINCE_SCOPES = ("province", "tinh", "tỉnh", "40", "nghe_an", "nghệ an")
BORDER_SCOPES = ("border", "bien_gioi", "biên giới", "border_communes")


# --- small helpers ------------------------------------------------------------------------

def _iso(v) -> str | None:
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return None
    text = str(v)[:10]
    return text if text and text != "None" and text != "nan" else None


def _dates(frame: pd.DataFrame | None, column: str) -> np.ndarray:
    if frame is None or column not in frame:
        return np.full(0 if frame is None else len(frame), None, dtype=object)
    return np.array([_iso(v) for v in frame[column]], dtype=object)


def _between(dates: np.ndarray, start: str, end: str) -> np.ndarray:
    return np.array([d is not None and start <= d <= end for d in dates], dtype=bool)


def point_active_on(points: pd.DataFrame, day: str) -> np.ndarray:
    """Which retail points are active on ``day`` (ISO): seen by then and not cleared, or
    cleared and re-emerged (``status = re-emerged``, ``last_activity`` after ``cleared_on``)."""
    first = _dates(points, "first_seen")
    cleared = _dates(points, "cleared_on")
    last = _dates(points, "last_activity")
    status = points["status"].to_numpy(dtype=object) if "status" in points else \
        np.full(len(points), None, dtype=object)
    out = np.zeros(len(points), dtype=bool)
    for i in range(len(points)):
        if first[i] is None or first[i] > day:
            continue
        if cleared[i] is None or cleared[i] > day:
            out[i] = status[i] != "cleared" or cleared[i] is not None
            continue
        out[i] = status[i] == "re-emerged" and last[i] is not None and cleared[i] < last[i] <= day
    return out


def _reemerged_in(points: pd.DataFrame, start: str, end: str) -> np.ndarray:
    status = points["status"].to_numpy(dtype=object) if "status" in points else \
        np.full(len(points), None, dtype=object)
    return (status == "re-emerged") & _between(_dates(points, "last_activity"), start, end)


def _count_by(codes: Sequence, mask: np.ndarray, weights: np.ndarray | None = None) -> pd.Series:
    s = pd.Series(np.asarray(weights if weights is not None else np.ones(len(mask)))[mask],
                  index=np.asarray(codes, dtype=object)[mask])
    return s.groupby(level=0).sum()


def _codes(frame: pd.DataFrame | None, communes: gpd.GeoDataFrame | None = None) -> np.ndarray:
    """Commune code per row: the stored ``commune_code``, else a spatial join when possible."""
    if frame is None or not len(frame):
        return np.zeros(0, dtype=object)
    codes = frame["commune_code"].to_numpy(dtype=object) if "commune_code" in frame else \
        np.full(len(frame), None, dtype=object)
    missing = np.array([c is None or c != c for c in codes], dtype=bool)
    if missing.any() and communes is not None and isinstance(frame, gpd.GeoDataFrame):
        reps = frame.geometry.values[missing]
        reps = shapely.point_on_surface(reps)
        codes = codes.copy()
        codes[missing] = assign_communes(reps, communes)
    return codes


# --- transformation per commune and period ------------------------------------------------

TRANSFORMATION_COLUMNS = [
    "commune_code", "commune_name", "period", "status", "computed_class", "previous_period",
    "previous_status", "transition", "steps", "rule_set_changed", "points_new",
    "points_cleared", "points_reemerged", "points_active_end", "plots_found",
    "plot_area_found_m2", "plants_found", "plots_eradicated", "plot_area_eradicated_m2",
    "cases", "offenders", "recognitions_granted", "recognitions_revoked", "drug_free",
    "sach_ve_ma_tuy"]


def transformation(status: pd.DataFrame, *, retail_points: pd.DataFrame | None = None,
                   opium_plots: pd.DataFrame | None = None, cases: pd.DataFrame | None = None,
                   recognitions: pd.DataFrame | None = None,
                   communes: gpd.GeoDataFrame | None = None) -> pd.DataFrame:
    """Chuyển hóa địa bàn: what changed in each commune from one period to the next.

    Parameters
    ----------
    status : DataFrame
        From :func:`geo_pcmt.analysis.status.commune_status` (``commune_code``, ``period``, ``status``,
        ``computed_class``, ``rule_set``, ``drug_free``, ``sach_ve_ma_tuy``).
    retail_points, opium_plots, cases, recognitions : DataFrame, optional
        The record layers; rows are counted in the period their date falls in, by
        ``commune_code`` (or, lacking one, by a spatial join on ``communes``).
    communes : GeoDataFrame, optional
        Only needed for records without ``commune_code``.

    Returns
    -------
    DataFrame
        One row per commune and period with :data:`TRANSFORMATION_COLUMNS`: ``transition`` is
        ``improved`` (moved toward drug-free: loại I → II → III → not a key area → recognised
        drug-free), ``worsened``, ``unchanged``, ``first`` (no earlier period) or ``unknown``
        (either period not assessed); ``steps`` is the signed number of classes moved
        (positive = better); ``rule_set_changed`` warns that the two periods were judged by
        different rule sets. Retail points: ``points_new`` (first seen), ``points_cleared``
        (cleared_on in the period), ``points_reemerged`` (re-emerged, last activity in the
        period), ``points_active_end``. Opium plots: found (count, m², plants) and eradicated
        (count, m²). ``cases``/``offenders`` by case date. Recognitions granted/revoked.
    """
    st = status.sort_values(["commune_code", "period"]).reset_index(drop=True)
    pts = retail_points if retail_points is not None else pd.DataFrame()
    plots = opium_plots if opium_plots is not None else pd.DataFrame()
    cs = cases if cases is not None else pd.DataFrame()
    recs = recognitions if recognitions is not None else pd.DataFrame()
    pt_codes, plot_codes, case_codes = _codes(pts, communes), _codes(plots, communes), \
        _codes(cs, communes)
    rec_codes = recs["commune_code"].astype(str).to_numpy(dtype=object) if len(recs) else \
        np.zeros(0, dtype=object)
    counts: dict[str, dict[str, pd.Series]] = {}
    for period in st["period"].unique():
        start, end = (d.isoformat() for d in period_bounds(period))
        c: dict[str, pd.Series] = {}
        if len(pts):
            c["points_new"] = _count_by(pt_codes, _between(_dates(pts, "first_seen"), start, end))
            c["points_cleared"] = _count_by(pt_codes, _between(_dates(pts, "cleared_on"), start,
                                                               end))
            c["points_reemerged"] = _count_by(pt_codes, _reemerged_in(pts, start, end))
            c["points_active_end"] = _count_by(pt_codes, point_active_on(pts, end))
        if len(plots):
            found = _between(_dates(plots, "detected_on"), start, end)
            erad = _between(_dates(plots, "eradicated_on"), start, end)
            area = pd.to_numeric(plots["area_m2"], errors="coerce").fillna(0).to_numpy()
            plants = pd.to_numeric(plots.get("plant_count"), errors="coerce").fillna(0).to_numpy() \
                if "plant_count" in plots else np.zeros(len(plots))
            c["plots_found"] = _count_by(plot_codes, found)
            c["plot_area_found_m2"] = _count_by(plot_codes, found, area)
            c["plants_found"] = _count_by(plot_codes, found, plants)
            c["plots_eradicated"] = _count_by(plot_codes, erad)
            c["plot_area_eradicated_m2"] = _count_by(plot_codes, erad, area)
        if len(cs):
            in_p = _between(_dates(cs, "date"), start, end)
            offenders = pd.to_numeric(cs["offenders"], errors="coerce").fillna(0).to_numpy() \
                if "offenders" in cs else np.zeros(len(cs))
            c["cases"] = _count_by(case_codes, in_p)
            c["offenders"] = _count_by(case_codes, in_p, offenders)
        if len(recs):
            c["recognitions_granted"] = _count_by(rec_codes, _between(_dates(recs, "date"),
                                                                      start, end))
            c["recognitions_revoked"] = _count_by(rec_codes, _between(
                _dates(recs, "revoked_on"), start, end))
        counts[period] = c
    rows = []
    prev: dict | None = None
    for r in st.to_dict("records"):
        if prev is None or prev["commune_code"] != r["commune_code"]:
            prev = None
        rank_now = class_rank(r["status"])
        rank_prev = class_rank(prev["status"]) if prev else None
        if prev is None:
            transition, steps = "first", None
        elif rank_now is None or rank_prev is None:
            transition, steps = "unknown", None
        else:
            # CLASS_ORDER runs worst → best, so a higher index is an improvement
            steps = rank_now - rank_prev
            transition = "improved" if steps > 0 else "worsened" if steps < 0 else "unchanged"
        out = {
            "commune_code": r["commune_code"], "commune_name": r.get("commune_name"),
            "period": r["period"], "status": r["status"], "computed_class": r["computed_class"],
            "previous_period": prev["period"] if prev else None,
            "previous_status": prev["status"] if prev else None, "transition": transition,
            "steps": steps,
            "rule_set_changed": bool(prev and prev.get("rule_set") and r.get("rule_set")
                                     and prev["rule_set"] != r["rule_set"]),
            "drug_free": bool(r.get("drug_free")), "sach_ve_ma_tuy": bool(r.get("sach_ve_ma_tuy")),
        }
        for col in TRANSFORMATION_COLUMNS:
            if col in out or col in ("commune_name",):
                continue
            series = counts[r["period"]].get(col)
            v = series.get(r["commune_code"], 0) if series is not None else 0
            out[col] = float(v) if col.endswith("_m2") else int(v)
        rows.append(out)
        prev = r
    return pd.DataFrame(rows, columns=TRANSFORMATION_COLUMNS)


# --- transformation plans -----------------------------------------------------------------

def validate_plans(frame: pd.DataFrame, *, communes: pd.DataFrame | None = None,
                   source: str | None = None):
    """Check transformation plans (``transformation_plans`` layer); target dates may lie ahead.

    Returns a :class:`geo_pcmt.ingest.ValidationReport`; ``baseline_period`` must be
    ``YYYY`` or ``YYYY-MM``.
    """
    from geo_pcmt.ingest import boundaries
    from geo_pcmt import ingest
    communes = boundaries.communes() if communes is None else communes
    # a plan's target date is in the future by nature: switch off ingest's future-date check
    rep = ingest.validate(frame, "transformation_plans", communes=communes,
                          today=date(9999, 12, 31), source=source)
    if "baseline_period" in rep.clean:
        keep = []
        for i, p in enumerate(rep.clean["baseline_period"]):
            ok = True
            if isinstance(p, str) and p:
                try:
                    period_bounds(p)
                except ValueError as exc:
                    rep.problems.append(ingest.Problem(None, "baseline_period", p,
                                                       f"plan {rep.clean['id'].iloc[i]}: {exc}"))
                    ok = False
            keep.append(ok)
        rep.clean = rep.clean[keep].reset_index(drop=True)
    return rep


PLAN_COLUMNS = ["plan_id", "commune_code", "target_status", "target_date", "baseline_period",
                "baseline_status", "current_period", "current_status", "steps_needed",
                "steps_done", "progress_pct", "time_elapsed_pct", "achieved", "on_track",
                "overdue", "verdict_vi", "verdict_en"]


def plan_progress(plans: pd.DataFrame, status: pd.DataFrame, *,
                  today: date | None = None) -> pd.DataFrame:
    """Progress of each transformation plan against its target class and date.

    The baseline is the plan's ``baseline_period`` (or the commune's earliest assessed
    period); progress is classes moved toward the target over classes needed; a plan is on
    track when achieved, or when the share of the way done is at least the share of the time
    between the baseline and the target date that has passed.

    Returns
    -------
    DataFrame with :data:`PLAN_COLUMNS`.
    """
    today = today or date.today()
    rows = []
    st = status[status["status"] != "chua_danh_gia"].sort_values("period")
    for plan in plans.to_dict("records"):
        mine = st[st["commune_code"] == plan["commune_code"]]
        base_p = plan.get("baseline_period")
        base_p = base_p if isinstance(base_p, str) and base_p.strip() else None
        base = mine[mine["period"] == base_p] if base_p else mine.head(1)
        now = mine[mine["period"].map(lambda p: period_bounds(p)[0] <= today)].tail(1)
        target = plan["target_status"]
        row = {"plan_id": plan["id"], "commune_code": plan["commune_code"],
               "target_status": target, "target_date": plan["target_date"],
               "baseline_period": base["period"].iloc[0] if len(base) else base_p,
               "baseline_status": base["status"].iloc[0] if len(base) else None,
               "current_period": now["period"].iloc[0] if len(now) else None,
               "current_status": now["status"].iloc[0] if len(now) else None}
        if not len(base) or not len(now):
            rows.append({**row, "verdict_vi": "chưa có số liệu đánh giá",
                         "verdict_en": "no assessment yet"})
            continue
        b_rank = class_rank(row["baseline_status"])
        c_rank = class_rank(row["current_status"])
        if target == SACH:
            # Nghệ An's label is not a rung of the national ladder: one step, given or not
            achieved = bool(now["sach_ve_ma_tuy"].iloc[0]) if "sach_ve_ma_tuy" in now else False
            needed, done = 1, int(achieved)
        else:
            t_rank = class_rank(target)
            needed = max(t_rank - b_rank, 0)
            done = c_rank - b_rank
            achieved = c_rank >= t_rank
        base_start = period_bounds(row["baseline_period"])[0]
        target_day = date.fromisoformat(str(plan["target_date"])[:10])
        span = (target_day - base_start).days
        elapsed = 100.0 if span <= 0 else min(max((today - base_start).days / span * 100, 0), 100)
        if needed == 0:  # already at the target when planned: holding it is all there is
            progress = 100.0 if achieved else 0.0
        else:
            progress = max(min(done / needed * 100, 100.0), -100.0)
        overdue = not achieved and today > target_day
        on_track = achieved or (not overdue and progress >= elapsed)
        if achieved:
            vi, en = "đã đạt mục tiêu", "target reached"
        elif overdue:
            vi, en = "quá hạn, chưa đạt", "overdue, not reached"
        elif on_track:
            vi, en = "đúng tiến độ", "on track"
        else:
            vi, en = "chậm tiến độ", "behind"
        rows.append({**row, "steps_needed": needed, "steps_done": done,
                     "progress_pct": round(progress, 1), "time_elapsed_pct": round(elapsed, 1),
                     "achieved": achieved, "on_track": on_track, "overdue": overdue,
                     "verdict_vi": vi, "verdict_en": en})
    return pd.DataFrame(rows, columns=PLAN_COLUMNS)


# --- targets and the dashboard ------------------------------------------------------------

def target_pct(targets: pd.DataFrame | None, year: int, scope: str = "province") -> float | None:
    """The target share drug-free (per cent) for ``scope`` in ``year``, or None.

    ``share_drug_free`` may be stored as a fraction (0.3) or a percentage (30); values ≤ 1
    are read as fractions. ``scope`` ``"province"`` also matches ``tinh``/``40``; ``"border"``
    matches ``bien_gioi``; anything else is a commune code.
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


_VERDICT = {"achieved": ("đạt chỉ tiêu", "target met"), "on_track": ("đúng tiến độ", "on track"),
            "behind": ("chậm tiến độ", "behind"), "no_target": ("chưa có chỉ tiêu", "no target")}


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
    >>> d = dashboard(recs, communes, targets, on=date(2026, 11, 25))  # doctest: +SKIP
    >>> d.text_en                                                       # doctest: +SKIP
    '31 of 130 communes drug-free (23.8 %), target 30 % in 2026, behind'
    """
    codes = set(communes["code"].astype(str))
    live = recognitions_on(recognitions, on.isoformat(), label=label) if len(recognitions) \
        else recognitions
    have = sorted(set(live["commune_code"].astype(str)) & codes) if len(live) else []
    n, total = len(have), len(codes)
    share = 100.0 * n / total if total else 0.0
    year = on.year
    tgt = target_pct(targets, year, scope)
    expected = None
    if tgt is None:
        verdict, needed = "no_target", None
    else:
        prev = target_pct(targets, year - 1, scope)
        if prev is None:
            start = recognitions_on(recognitions, date(year - 1, 12, 31).isoformat(),
                                    label=label) if len(recognitions) else recognitions
            prev = 100.0 * len(set(start["commune_code"].astype(str)) & codes) / total \
                if total and len(start) else 0.0
        year_start, year_end = date(year, 1, 1), date(year, 12, 31)
        frac = (on - year_start).days / (year_end - year_start).days
        expected = prev + (tgt - prev) * min(max(frac, 0.0), 1.0)
        needed = max(math.ceil(tgt * total / 100 - 1e-9) - n, 0)
        verdict = "achieved" if share >= tgt else "on_track" if share >= expected else "behind"
    word = {DRUG_FREE: ("không ma túy", "drug-free"),
            SACH: ("sạch về ma túy", "'sạch về ma túy'")}.get(label, (label, label))
    unit = "xã, phường" if scope in PROVINCE_SCOPES else "xã"
    t_vi = f", chỉ tiêu {tgt:g} % năm {year}" if tgt is not None else ""
    t_en = f", target {tgt:g} % in {year}" if tgt is not None else ""
    text_vi = f"{n}/{total} {unit} {word[0]} ({share:.1f} %){t_vi} — {_VERDICT[verdict][0]}"
    text_en = f"{n} of {total} communes {word[1]} ({share:.1f} %){t_en}, {_VERDICT[verdict][1]}"
    return Dashboard(on, scope, label, n, total, round(share, 1), year, tgt,
                     None if expected is None else round(expected, 1), verdict, needed, text_vi,
                     text_en, tuple(have))


# --- the border corridor ------------------------------------------------------------------

def border_axis(border_line: gpd.GeoDataFrame) -> shapely.LineString:
    """The border as one metric LineString running from its northern end to its southern end."""
    metric = border_line.to_crs(METRIC_CRS)
    merged = shapely.line_merge(shapely.union_all(metric.geometry.values))
    if merged.geom_type != "LineString":
        # pieces that do not join: chain them end to end in the order of their northern ends
        parts = sorted(merged.geoms, key=lambda g: -max(g.coords[0][1], g.coords[-1][1]))
        coords = []
        for p in parts:
            c = list(p.coords)
            if coords and shapely.Point(coords[-1]).distance(shapely.Point(c[-1])) < \
                    shapely.Point(coords[-1]).distance(shapely.Point(c[0])):
                c.reverse()
            coords.extend(c)
        merged = shapely.LineString(coords)
    if merged.coords[0][1] < merged.coords[-1][1]:
        merged = shapely.reverse(merged)
    return merged


def distance_bands(province: gpd.GeoDataFrame, border_line: gpd.GeoDataFrame, *,
                   bands_km: Sequence[float] = DEFAULT_BANDS_KM) -> gpd.GeoDataFrame:
    """Distance bands from the border line, clipped to the province.

    Parameters
    ----------
    province : GeoDataFrame
        The province outline (EPSG:4326).
    border_line : GeoDataFrame
        The ``border_line`` layer.
    bands_km : sequence of float
        Band edges in km, increasing, starting at 0 (default 0, 5, 15, 30).

    Returns
    -------
    GeoDataFrame (EPSG:4326), one (Multi)Polygon per band: ``band`` (``"0-5"``),
    ``band_label`` (``"0–5 km"``), ``from_km``, ``to_km``, ``area_km2``.
    """
    edges = [float(b) for b in bands_km]
    if len(edges) < 2 or edges[0] != 0 or any(b <= a for a, b in zip(edges, edges[1:])):
        raise ValueError(f"bands_km must start at 0 and increase, got {list(bands_km)}")
    # 50 m of simplification is invisible at the scale of a band and makes the buffers five
    # times cheaper; which band a feature is in is decided by its exact distance, not by these
    axis = border_axis(border_line).simplify(50.0)
    prov = shapely.union_all(province.to_crs(METRIC_CRS).geometry.values)
    # a hair of buffer: the line lies on the province edge, rounding must not cut slivers
    prov_b = prov.buffer(1.0)
    rows, inner = [], None
    for a, b in zip(edges, edges[1:]):
        outer = axis.buffer(b * 1000, quad_segs=8).intersection(prov_b).intersection(prov)
        ring = outer if inner is None else outer.difference(inner)
        rows.append({"band": f"{a:g}-{b:g}", "band_label": f"{a:g}–{b:g} km", "from_km": a,
                     "to_km": b, "area_km2": round(ring.area / 1e6, 2), "geometry": ring})
        inner = outer
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=METRIC_CRS).to_crs(STORAGE_CRS)


def _band_of(dist_km: np.ndarray, edges: Sequence[float]) -> np.ndarray:
    out = np.full(len(dist_km), None, dtype=object)
    for a, b in zip(edges, edges[1:]):
        # the 0 km edge is closed, so points on the line itself are in the first band
        hit = (dist_km >= a) & (dist_km <= b) if a == edges[0] else (dist_km > a) & (dist_km <= b)
        out[hit & (out == None)] = f"{a:g}-{b:g}"  # noqa: E711
    return out


def _segment_ranges(border_line: gpd.GeoDataFrame, axis: shapely.LineString) -> pd.DataFrame:
    metric = border_line.to_crs(METRIC_CRS)
    rows = []
    for seg, geom in zip(metric["segment"], metric.geometry):
        coords = shapely.get_coordinates(geom)
        ch = shapely.line_locate_point(axis, shapely.points(coords[[0, -1]]))
        rows.append({"segment": seg, "from_km": float(ch.min()) / 1000,
                     "to_km": float(ch.max()) / 1000})
    return pd.DataFrame(rows).sort_values("from_km").reset_index(drop=True)


def _segment_at(chainage_km: np.ndarray, ranges: pd.DataFrame) -> np.ndarray:
    mids = ranges["to_km"].to_numpy()
    idx = np.searchsorted(mids, chainage_km, side="left")
    idx = np.clip(idx, 0, len(ranges) - 1)
    return ranges["segment"].to_numpy(dtype=object)[idx]


def project_on_axis(geoms: np.ndarray, axis: shapely.LineString, *,
                    max_distance_m: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Distance (m) from each geometry to ``axis`` and chainage (m) of its nearest point on it.

    The axis is cut into its straight pieces and indexed in an STRtree, so each geometry is
    measured against the one nearest piece only (exact, and far faster than projecting onto
    a 5,000-vertex line). Geometries farther than ``max_distance_m`` get NaN (and cost
    almost nothing).
    """
    coords = shapely.get_coordinates(axis)
    segs = shapely.linestrings(np.stack([coords[:-1], coords[1:]], axis=1))
    cum = np.concatenate([[0.0], np.cumsum(np.hypot(*(coords[1:] - coords[:-1]).T))])
    tree = shapely.STRtree(segs)
    (src, seg_i), dist = tree.query_nearest(geoms, max_distance=max_distance_m,
                                            return_distance=True, all_matches=False)
    order = np.argsort(src)
    src, seg_i, dist = src[order], seg_i[order], dist[order]
    # the end of the shortest line from a geometry to its nearest piece lies on that piece
    near = shapely.get_coordinates(shapely.get_point(shapely.shortest_line(geoms[src],
                                                                            segs[seg_i]), 1))
    chain = cum[seg_i] + np.hypot(*(near - coords[seg_i]).T)
    out_d = np.full(len(geoms), np.nan)
    out_c = np.full(len(geoms), np.nan)
    out_d[src], out_c[src] = dist, chain
    return out_d, out_c


def locate_along_border(frame: gpd.GeoDataFrame, border_line: gpd.GeoDataFrame, *,
                        bands_km: Sequence[float] = DEFAULT_BANDS_KM,
                        max_km: float | None = None) -> pd.DataFrame:
    """Where each feature lies relative to the border.

    Returns
    -------
    DataFrame aligned with ``frame``: ``dist_border_km`` (shortest distance to the line; for a
    polygon, from its nearest point), ``chainage_km`` (along the line from the northern end, of
    the nearest point on the line), ``segment`` (Lao province the nearest stretch faces) and
    ``band`` (``"0-5"``, ``"5-15"``, ``"15-30"`` or None beyond the last edge). With
    ``max_km``, features farther than that get NaN distance and chainage.
    """
    axis = border_axis(border_line)
    ranges = _segment_ranges(border_line, axis)
    geoms = frame.to_crs(METRIC_CRS).geometry.values
    n = len(geoms)
    dist = np.full(n, np.nan)
    chain = np.full(n, np.nan)
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms)) if n else np.zeros(0, bool)
    if ok.any():
        d, c = project_on_axis(geoms[ok], axis,
                               max_distance_m=None if max_km is None else max_km * 1000)
        dist[ok], chain[ok] = d / 1000, c / 1000
    seg = np.full(n, None, dtype=object)
    near = ~np.isnan(chain)
    if near.any():
        seg[near] = _segment_at(chain[near], ranges)
    return pd.DataFrame({"dist_border_km": dist, "chainage_km": chain, "segment": seg,
                         "band": _band_of(dist, [float(b) for b in bands_km])},
                        index=frame.index)


def _commune_stretches(axis: shapely.LineString, corridor: gpd.GeoDataFrame
                       ) -> tuple[list, list]:
    """First and last chainage (km) of the border stretch each border commune faces."""
    coords = shapely.get_coordinates(axis)
    cum = np.concatenate([[0.0], np.cumsum(np.hypot(*(coords[1:] - coords[:-1]).T))])
    mids = shapely.points((coords[:-1] + coords[1:]) / 2)
    cm = corridor.to_crs(METRIC_CRS)
    is_b = cm["is_border"].fillna(False).to_numpy(dtype=bool)
    lo = [None] * len(cm)
    hi = [None] * len(cm)
    if not is_b.any():
        return lo, hi
    polys = cm.geometry.values[is_b]
    (seg_i, poly_i) = shapely.STRtree(polys).query_nearest(mids, max_distance=100.0,
                                                            all_matches=False)
    rows = np.flatnonzero(is_b)
    for k in np.unique(poly_i):
        segs = seg_i[poly_i == k]
        lo[rows[k]] = float(cum[segs.min()]) / 1000
        hi[rows[k]] = float(cum[segs.max() + 1]) / 1000
    return lo, hi


def _posts_of_communes(corridor: gpd.GeoDataFrame, posts: gpd.GeoDataFrame | None
                       ) -> dict[str, list[str]]:
    """Commune code → names of the border posts responsible (listed, else the nearest)."""
    if posts is None or not len(posts):
        return {}
    listed: dict[str, list[str]] = {}
    for name, aor in zip(posts["name"], posts.get("area_of_responsibility",
                                                  pd.Series(None, index=posts.index))):
        for code in str(aor or "").replace(",", ";").split(";"):
            code = code.strip()
            if code:
                listed.setdefault(code, []).append(str(name))
    pm = posts.to_crs(METRIC_CRS)
    cm = corridor.to_crs(METRIC_CRS)
    out = {}
    for code, geom in zip(cm["code"], cm.geometry):
        if code in listed:
            out[code] = listed[code]
        else:
            d = shapely.distance(pm.geometry.values, geom)
            out[code] = [str(pm["name"].iloc[int(np.argmin(d))])]
    return out


@dataclass
class BorderSummary:
    """Everything :func:`border` computes; each frame is ready for the map (EPSG:4326).

    Attributes
    ----------
    year : int
    as_of : str
        The day status, recognitions and active points are read on.
    segments : GeoDataFrame
        One row per Lao province segment; geometry = the border segment (MultiLineString).
    posts : GeoDataFrame
        One row per border post; geometry = union of its communes (area of responsibility).
    bands : GeoDataFrame
        One row per distance band; geometry = the band polygon inside the province.
    strip : GeoDataFrame
        Chainage bins (``bin_km`` long) along the line; geometry = that stretch of line.
    communes : GeoDataFrame
        Corridor communes (within the last band edge): code, name, status, drug_free,
        ``dist_border_km`` (nearest approach), ``chainage_km``, ``chainage_from_km``/
        ``chainage_to_km`` (stretch of border they touch, border communes only),
        ``segment``, ``band``, ``posts``.
    features : GeoDataFrame
        Points, plots, cases, crossings and posts within the corridor with ``layer``, ``active``,
        ``in_year``, ``dist_border_km``, ``chainage_km``, ``segment``, ``band``, ``post``.
    crossings : GeoDataFrame
        Crossings with ``cases_nearby`` and ``points_active_nearby`` (within
        ``crossing_radius_km``) and ``active``.
    totals : dict
        The same figures for the whole corridor (its border communes).
    line_length_km : float

    Columns of ``segments``, ``posts``, ``bands`` and ``strip``: ``scope`` (segment / post /
    band / strip), ``key``, ``name``, ``year``; segments and bands also ``from_km``/``to_km``
    (chainage along the line, resp. distance from it), bands ``area_km2``, posts ``communes``
    (';'-joined codes). Figures (:data:`SUMMARY_COLUMNS`, strip bins a subset):

    ``n_communes`` and ``n_<class>`` (computed class: loai_I, loai_II, loai_III,
    khong_trong_diem, chua_danh_gia); ``n_drug_free`` (national recognition in force),
    ``n_sach_ve_ma_tuy``; ``share_drug_free_pct``; ``target_pct`` (border target of the year,
    else the province's); ``on_track`` (share ≥ the straight-line expectation for the day);
    ``points_active`` (on the day), ``points_cleared`` / ``points_reemerged`` (in the year);
    ``plots_found`` / ``plots_eradicated`` and ``plot_area_m2`` / ``plot_area_eradicated_m2``
    (in the year); ``crossings``, ``crossings_active`` (a case of the year or an active point
    within the radius); ``cases`` (in the year). Strip bins add ``segment``, ``commune_code``,
    ``commune_name`` and ``status`` of the border commune holding most of the stretch.
    """

    year: int
    as_of: str
    segments: gpd.GeoDataFrame
    posts: gpd.GeoDataFrame
    bands: gpd.GeoDataFrame
    strip: gpd.GeoDataFrame
    communes: gpd.GeoDataFrame
    features: gpd.GeoDataFrame
    crossings: gpd.GeoDataFrame
    totals: dict
    line_length_km: float


SUMMARY_COLUMNS = ["n_communes", "n_loai_I", "n_loai_II", "n_loai_III", "n_khong_trong_diem",
                   "n_chua_danh_gia", "n_drug_free", "n_sach_ve_ma_tuy", "share_drug_free_pct",
                   "target_pct", "on_track", "points_active", "points_cleared",
                   "points_reemerged", "plots_found", "plots_eradicated", "plot_area_m2",
                   "plot_area_eradicated_m2", "crossings", "crossings_active", "cases"]


def status_on(status: pd.DataFrame, day: date) -> pd.DataFrame:
    """Each commune's status row for the latest period that has started by ``day``."""
    if not len(status):
        return status
    started = status["period"].map(lambda p: period_bounds(p)[0] <= day)
    st = status[started.to_numpy()]
    return st.sort_values("period").groupby("commune_code", as_index=False).tail(1)


def _summarise(communes: pd.DataFrame, feats: pd.DataFrame, target: float | None,
               expected: float | None) -> dict:
    n = len(communes)
    out = {"n_communes": n}
    for c in CLASS_COLUMNS:
        out[f"n_{c}"] = int((communes["computed_class"] == c).sum()) if n else 0
    out["n_drug_free"] = int(communes["drug_free"].sum()) if n else 0
    out["n_sach_ve_ma_tuy"] = int(communes["sach_ve_ma_tuy"].sum()) if n else 0
    share = 100.0 * out["n_drug_free"] / n if n else None
    out["share_drug_free_pct"] = None if share is None else round(share, 1)
    out["target_pct"] = target
    out["on_track"] = None if target is None or share is None else bool(
        share >= (expected if expected is not None else target))
    f = feats
    lay = f["layer"] if len(f) else pd.Series(dtype=object)

    def count(layer, col=None):
        m = (lay == layer) & (f[col] if col else True) if len(f) else pd.Series(dtype=bool)
        return int(m.sum())

    out["points_active"] = count("retail_points", "active")
    out["points_cleared"] = count("retail_points", "cleared_in_year")
    out["points_reemerged"] = count("retail_points", "reemerged_in_year")
    out["plots_found"] = count("opium_plots", "in_year")
    out["plots_eradicated"] = count("opium_plots", "cleared_in_year")
    if len(f):
        plots = f[lay == "opium_plots"]
        out["plot_area_m2"] = round(float(plots.loc[plots["in_year"], "area_m2"].sum()), 1)
        out["plot_area_eradicated_m2"] = round(float(
            plots.loc[plots["cleared_in_year"], "area_m2"].sum()), 1)
    else:
        out["plot_area_m2"] = out["plot_area_eradicated_m2"] = 0.0
    out["crossings"] = count("border_crossings")
    out["crossings_active"] = count("border_crossings", "active")
    out["cases"] = count("cases", "in_year")
    return out


def border(communes: gpd.GeoDataFrame, border_line: gpd.GeoDataFrame, province: gpd.GeoDataFrame,
           status: pd.DataFrame, *, year: int, today: date | None = None,
           retail_points: gpd.GeoDataFrame | None = None,
           opium_plots: gpd.GeoDataFrame | None = None,
           border_crossings: gpd.GeoDataFrame | None = None,
           border_posts: gpd.GeoDataFrame | None = None, cases: gpd.GeoDataFrame | None = None,
           targets: pd.DataFrame | None = None, bands_km: Sequence[float] = DEFAULT_BANDS_KM,
           bin_km: float = 10.0, crossing_radius_km: float = 5.0) -> BorderSummary:
    """Summarise the Viet Nam–Laos corridor by Lao province segment, border post and distance band.

    Communes: a **segment** counts the border communes (``is_border``) facing that Lao
    province; a **band** counts every commune whose nearest point to the border lies in it
    (border communes are all in 0–5 km); a **border post** counts the communes its
    ``area_of_responsibility`` lists, and a corridor commune no post lists goes to the nearest
    post. Points, plots, cases and crossings within the last band edge count where they lie:
    in the band of their own distance, in the segment their nearest stretch of border faces,
    at the post of their commune.

    Figures for ``year`` (read on 31 Dec or ``today`` if earlier): commune classes from the
    latest period started by then; drug-free share vs the border target of the year (scope
    ``border``, else the province's) and ``on_track`` against the straight-line expectation;
    retail points active on the day, cleared and re-emerged in the year; opium plots found and
    eradicated in the year (count and m²); crossings and how many had a case or an active
    point within ``crossing_radius_km`` in the year; cases in the year.

    Parameters
    ----------
    communes, border_line, province : GeoDataFrame
        Base layers (EPSG:4326).
    status : DataFrame
        From :func:`geo_pcmt.analysis.status.commune_status`.
    year : int
    retail_points, opium_plots, border_crossings, border_posts, cases : GeoDataFrame, optional
    targets : DataFrame, optional
    bands_km : sequence of float
        Band edges (default 0, 5, 15, 30 km).
    bin_km : float
        Length of a strip-chart bin along the border.
    crossing_radius_km : float
        Radius within which cases and active points make a crossing "active".

    Returns
    -------
    BorderSummary
        Frames for segments, posts, bands, strip bins, corridor communes, features and
        crossings; figure columns are :data:`SUMMARY_COLUMNS`.
    """
    today = today or date.today()
    as_of_day = min(date(year, 12, 31), today)
    as_of = as_of_day.isoformat()
    y0, y1 = f"{year}-01-01", f"{year}-12-31"
    edges = [float(b) for b in bands_km]
    axis = border_axis(border_line)
    ranges = _segment_ranges(border_line, axis)
    st = status_on(status, as_of_day)
    st_by = st.set_index("commune_code") if len(st) else None

    loc = locate_along_border(communes, border_line, bands_km=edges, max_km=edges[-1])
    com = communes[["code", "name", "is_border", "lao_province", "geometry"]].copy()
    com = pd.concat([com, loc], axis=1)
    corridor = com[com["dist_border_km"] <= edges[-1]].copy()
    for col, default in (("status", "chua_danh_gia"), ("computed_class", "chua_danh_gia"),
                         ("drug_free", False), ("sach_ve_ma_tuy", False), ("period", None)):
        corridor[col] = [st_by[col].get(c, default) if st_by is not None and col in st_by
                         else default for c in corridor["code"]]
    corridor["drug_free"] = corridor["drug_free"].astype(bool)
    corridor["sach_ve_ma_tuy"] = corridor["sach_ve_ma_tuy"].astype(bool)
    # stretch of border each border commune touches, for the strip chart: every straight
    # piece of the line goes to the border commune nearest its midpoint (within 100 m)
    lo, hi = _commune_stretches(axis, corridor)
    corridor["chainage_from_km"] = lo
    corridor["chainage_to_km"] = hi
    post_of = _posts_of_communes(corridor, border_posts)
    corridor["posts"] = [";".join(post_of.get(c, [])) or None for c in corridor["code"]]
    # the segment a border commune faces is its own attribute (the longest shared stretch)
    border_seg = corridor["lao_province"].where(corridor["is_border"] & corridor["lao_province"]
                                                .notna(), corridor["segment"])
    corridor["segment"] = border_seg

    feats = _corridor_features(communes, border_line, edges, as_of, y0, y1,
                               retail_points=retail_points, opium_plots=opium_plots,
                               cases=cases, border_crossings=border_crossings,
                               border_posts=border_posts,
                               crossing_radius_km=crossing_radius_km, post_of=post_of)
    crossings = feats[feats["layer"] == "border_crossings"].copy()

    b_target = target_pct(targets, year, "border")
    if b_target is None:
        b_target = target_pct(targets, year, "province")
    expected = _expected(targets, year, as_of_day, b_target)

    seg_rows = []
    seg_geom = border_line.set_index("segment").geometry
    for seg in ranges.itertuples():
        cs = corridor[corridor["is_border"] & (corridor["segment"] == seg.segment)]
        fs = feats[feats["segment"] == seg.segment] if len(feats) else feats
        seg_rows.append({"scope": "segment", "key": seg.segment, "name": seg.segment,
                         "year": year, "from_km": round(seg.from_km, 2),
                         "to_km": round(seg.to_km, 2), **_summarise(cs, fs, b_target, expected),
                         "geometry": seg_geom.get(seg.segment)})
    segments = gpd.GeoDataFrame(seg_rows, geometry="geometry", crs=border_line.crs)

    post_rows = []
    if border_posts is not None and len(border_posts):
        for name in border_posts["name"].astype(str):
            codes = [c for c, names in post_of.items() if name in names]
            cs = corridor[corridor["code"].isin(codes)]
            fs = feats[feats["post"].map(lambda p: isinstance(p, str) and name in p.split(";"))
                       .to_numpy(dtype=bool)] if len(feats) else feats
            geom = shapely.union_all(cs.geometry.values) if len(cs) else None
            post_rows.append({"scope": "post", "key": name, "name": name, "year": year,
                              "communes": ";".join(sorted(codes)),
                              **_summarise(cs, fs, b_target, expected), "geometry": geom})
    posts = gpd.GeoDataFrame(post_rows, geometry="geometry", crs=communes.crs) if post_rows \
        else gpd.GeoDataFrame({"scope": [], "key": [], "geometry": []}, geometry="geometry",
                              crs=communes.crs)

    band_polys = distance_bands(province, border_line, bands_km=edges)
    band_rows = []
    for b in band_polys.itertuples():
        cs = corridor[corridor["band"] == b.band]
        fs = feats[feats["band"] == b.band] if len(feats) else feats
        band_rows.append({"scope": "band", "key": b.band, "name": b.band_label, "year": year,
                          "from_km": b.from_km, "to_km": b.to_km, "area_km2": b.area_km2,
                          **_summarise(cs, fs, b_target, expected), "geometry": b.geometry})
    bands = gpd.GeoDataFrame(band_rows, geometry="geometry", crs=STORAGE_CRS)

    strip = _strip(axis, ranges, corridor, feats, year, bin_km)
    totals = _summarise(corridor[corridor["is_border"]], feats, b_target, expected)
    totals.update({"corridor_communes": int(len(corridor)), "expected_pct": expected,
                   "as_of": as_of, "year": year})
    return BorderSummary(year, as_of, segments, posts, bands, strip,
                         gpd.GeoDataFrame(corridor, geometry="geometry", crs=communes.crs),
                         feats, crossings, totals, round(axis.length / 1000, 1))


def _expected(targets, year, on: date, target: float | None) -> float | None:
    if target is None:
        return None
    prev = target_pct(targets, year - 1, "border")
    if prev is None:
        prev = target_pct(targets, year - 1, "province")
    if prev is None:
        return target  # no earlier target: judge against the year's target itself
    frac = (on - date(year, 1, 1)).days / (date(year, 12, 31) - date(year, 1, 1)).days
    return round(prev + (target - prev) * min(max(frac, 0.0), 1.0), 2)


def _corridor_features(communes, border_line, edges, as_of, y0, y1, *, retail_points,
                       opium_plots, cases, border_crossings, border_posts, crossing_radius_km,
                       post_of):
    parts = []
    for layer, frame in (("retail_points", retail_points), ("opium_plots", opium_plots),
                         ("cases", cases), ("border_crossings", border_crossings),
                         ("border_posts", border_posts)):
        if frame is None or not len(frame):
            continue
        geom = shapely.point_on_surface(frame.geometry.values)
        part = gpd.GeoDataFrame({"layer": layer, "id": frame["id"].astype(str).to_numpy(),
                                 "commune_code": _codes(frame, communes)},
                                geometry=geom, crs=frame.crs)
        if layer == "retail_points":
            part["active"] = point_active_on(frame, as_of)
            part["in_year"] = _between(_dates(frame, "first_seen"), y0, y1)
            part["cleared_in_year"] = _between(_dates(frame, "cleared_on"), y0, y1)
            part["reemerged_in_year"] = _reemerged_in(frame, y0, y1)
            part["type"] = frame["type"].to_numpy() if "type" in frame else None
        elif layer == "opium_plots":
            det, era = _dates(frame, "detected_on"), _dates(frame, "eradicated_on")
            part["in_year"] = _between(det, y0, y1)
            part["cleared_in_year"] = _between(era, y0, y1)
            part["active"] = np.array([d is not None and d <= as_of and (e is None or e > as_of)
                                       for d, e in zip(det, era)], dtype=bool)
            part["area_m2"] = pd.to_numeric(frame["area_m2"], errors="coerce").fillna(0).to_numpy()
        elif layer == "cases":
            part["in_year"] = _between(_dates(frame, "date"), y0, y1)
            part["active"] = part["in_year"]
        else:  # crossings and posts: places, not events
            part["kind"] = frame["kind"].to_numpy() if "kind" in frame else None
            part["name"] = frame["name"].to_numpy() if "name" in frame else None
            part["in_year"] = True
        parts.append(part)
    if not parts:
        return gpd.GeoDataFrame({"layer": [], "segment": [], "band": [], "post": []},
                                geometry=[], crs=STORAGE_CRS)
    feats = pd.concat(parts, ignore_index=True)
    for col in ("active", "in_year", "cleared_in_year", "reemerged_in_year"):
        feats[col] = feats[col].fillna(False).astype(bool) if col in feats else False
    if "area_m2" in feats:
        feats["area_m2"] = feats["area_m2"].fillna(0.0)
    else:
        feats["area_m2"] = 0.0
    feats = gpd.GeoDataFrame(feats, geometry="geometry", crs=STORAGE_CRS)
    loc = locate_along_border(feats, border_line, bands_km=edges, max_km=edges[-1])
    feats = pd.concat([feats, loc], axis=1)
    feats = feats[feats["dist_border_km"] <= edges[-1]].copy()
    feats["post"] = [";".join(post_of.get(c, [])) or None for c in feats["commune_code"]]
    # a crossing is active when a case of the year or an active point lies within the radius
    cross = feats["layer"] == "border_crossings"
    if cross.any():
        m = gpd.GeoSeries(feats.geometry, crs=STORAGE_CRS).to_crs(METRIC_CRS).values
        case_pts = m[((feats["layer"] == "cases") & feats["in_year"]).to_numpy()]
        point_pts = m[((feats["layer"] == "retail_points") & feats["active"]).to_numpy()]
        tree_c, tree_p = shapely.STRtree(case_pts), shapely.STRtree(point_pts)
        radius = crossing_radius_km * 1000
        idx = np.flatnonzero(cross.to_numpy())
        n_cases = np.zeros(len(idx), dtype=int)
        n_points = np.zeros(len(idx), dtype=int)
        for j, i in enumerate(idx):
            n_cases[j] = len(tree_c.query(m[i], predicate="dwithin", distance=radius))
            n_points[j] = len(tree_p.query(m[i], predicate="dwithin", distance=radius))
        feats["cases_nearby"] = 0
        feats["points_active_nearby"] = 0
        feats.loc[feats.index[idx], "cases_nearby"] = n_cases
        feats.loc[feats.index[idx], "points_active_nearby"] = n_points
        feats.loc[feats.index[idx], "active"] = (n_cases + n_points) > 0
    return gpd.GeoDataFrame(feats, geometry="geometry", crs=STORAGE_CRS)


def _strip(axis: shapely.LineString, ranges: pd.DataFrame, corridor: pd.DataFrame,
           feats: pd.DataFrame, year: int, bin_km: float) -> gpd.GeoDataFrame:
    length_km = axis.length / 1000
    n_bins = max(int(math.ceil(length_km / bin_km)), 1)
    rows = []
    ch = feats["chainage_km"].to_numpy() if len(feats) else np.zeros(0)
    lay = feats["layer"].to_numpy() if len(feats) else np.zeros(0, dtype=object)
    for i in range(n_bins):
        a, b = i * bin_km, min((i + 1) * bin_km, length_km)
        inside = (ch >= a) & ((ch < b) if i < n_bins - 1 else (ch <= b))
        f = feats[inside] if len(feats) else feats
        # the border commune holding most of this stretch
        bc = corridor[corridor["is_border"] & corridor["chainage_from_km"].notna()]
        overlap = (np.minimum(bc["chainage_to_km"].astype(float), b)
                   - np.maximum(bc["chainage_from_km"].astype(float), a)).clip(lower=0)
        main = bc.loc[overlap.idxmax()] if len(bc) and overlap.max() > 0 else None
        seg = _segment_at(np.array([(a + b) / 2]), ranges)[0] if main is None \
            else main["segment"]
        rows.append({
            "scope": "strip", "key": f"{a:g}-{b:g}", "name": f"km {a:g}–{b:g}", "year": year,
            "from_km": round(a, 2), "to_km": round(b, 2), "segment": seg,
            "commune_code": None if main is None else main["code"],
            "commune_name": None if main is None else main["name"],
            "status": None if main is None else main["status"],
            "points_active": int(((lay[inside] == "retail_points") & f["active"].to_numpy()).sum())
            if len(feats) else 0,
            "plots_found": int(((lay[inside] == "opium_plots") & f["in_year"].to_numpy()).sum())
            if len(feats) else 0,
            "cases": int(((lay[inside] == "cases") & f["in_year"].to_numpy()).sum())
            if len(feats) else 0,
            "crossings": int((lay[inside] == "border_crossings").sum()) if len(feats) else 0,
            "geometry": ops.substring(axis, a * 1000, b * 1000),
        })
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=METRIC_CRS).to_crs(STORAGE_CRS)


def border_layer(summary: BorderSummary, *, run_id: str, params: Mapping | None = None
                 ) -> gpd.GeoDataFrame:
    """Segments, posts, bands and strip bins as rows of the derived ``border_progress`` layer."""
    import json

    from geo_pcmt.layers import get_layer
    spec = get_layer("border_progress")
    frames = [summary.segments, summary.posts, summary.bands, summary.strip]
    rows = pd.concat([f for f in frames if len(f)], ignore_index=True)
    rows["id"] = rows["scope"] + ":" + rows["key"].astype(str) + f":{summary.year}"
    rows["run_id"] = run_id
    rows["params"] = json.dumps(params or {}, ensure_ascii=False, default=str)
    cols = [c for c in spec.field_names if c in rows.columns]
    return gpd.GeoDataFrame(rows[cols], geometry=rows.geometry.values, crs=STORAGE_CRS)


__all__ = ["BorderSummary", "Dashboard", "DEFAULT_BANDS_KM", "SUMMARY_COLUMNS",
           "TRANSFORMATION_COLUMNS", "border", "border_axis", "border_layer", "dashboard",
           "distance_bands", "locate_along_border", "plan_progress", "point_active_on",
           "status_on", "target_pct", "transformation", "validate_plans", "CLASS_ORDER"]
