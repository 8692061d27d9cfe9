"""Transformation progress (chuyển hóa địa bàn) per commune and period, and transformation plans.

Pure functions over frames: nothing here reads files or the store.

* :func:`transformation` — per commune and period: class transition, retail points found,
  cleared (triệt xóa) and re-emerged, opium plots found and eradicated (count and m²), cases,
  recognitions granted and revoked.
* :func:`plan_progress` — progress of each transformation plan (target class and date).

The rest of the family lives next door and is importable from here as well (the map, the
CLI and the runs import it from this module):

* :mod:`geo_pcmt.analysis.targets` — :func:`target_pct` and :func:`dashboard`, THE headline
  grading: "x of 130 communes drug-free (y %), target z % in 2026, on track / behind".
* :mod:`geo_pcmt.analysis.corridor` — :func:`border`, the Viet Nam–Laos corridor by Lao
  province segment, border post and distance band, and :func:`border_layer`.
* :mod:`geo_pcmt.analysis.chainage` — the border axis, chainage, :func:`distance_bands`.
* :mod:`geo_pcmt.analysis.records` — when a record counts (:func:`point_active_on`).
"""
from __future__ import annotations

from datetime import date

import geopandas as gpd
import numpy as np
import pandas as pd

from geo_pcmt.analysis.chainage import (
    DEFAULT_BANDS_KM,
    border_axis,
    distance_bands,
    locate_along_border,
    project_on_axis,
)
from geo_pcmt.analysis.corridor import (
    CLASS_COLUMNS,
    SUMMARY_COLUMNS,
    BorderSummary,
    border,
    border_layer,
    status_on,
)
from geo_pcmt.analysis.lineage import period_bounds
from geo_pcmt.analysis.records import (
    between,
    commune_codes,
    count_by,
    iso_dates,
    numbers,
    point_active_on,
    reemerged_in,
)
from geo_pcmt.analysis.status import CLASS_ORDER, SACH, class_rank
from geo_pcmt.analysis.targets import (
    BORDER_SCOPES,
    PROVINCE_SCOPES,
    Dashboard,
    dashboard,
    target_pct,
)

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

    Examples
    --------
    >>> st = pd.DataFrame({"commune_code": ["A", "A"], "period": ["2024", "2025"],
    ...                    "status": ["loai_II", "loai_III"], "computed_class": ["loai_II", "loai_III"],
    ...                    "rule_set": ["28/2025", "28/2025"]})
    >>> cases = pd.DataFrame({"commune_code": ["A"], "date": ["2025-03-01"], "offenders": [2]})
    >>> out = transformation(st, cases=cases)
    >>> out["transition"].tolist(), out["cases"].tolist(), out["offenders"].tolist()
    (['first', 'improved'], [0, 1], [0, 2])
    """
    st = status.sort_values(["commune_code", "period"]).reset_index(drop=True)
    layers = {name: frame if frame is not None else pd.DataFrame() for name, frame in
              (("retail_points", retail_points), ("opium_plots", opium_plots),
               ("cases", cases), ("recognitions", recognitions))}
    codes = {name: commune_codes(frame, communes) for name, frame in layers.items()
             if name != "recognitions"}
    recs = layers["recognitions"]
    codes["recognitions"] = recs["commune_code"].astype(str).to_numpy(dtype=object) \
        if len(recs) else np.zeros(0, dtype=object)
    counts = {period: _period_counts(period, layers, codes) for period in st["period"].unique()}
    rows = []
    prev: dict | None = None
    for r in st.to_dict("records"):
        if prev is None or prev["commune_code"] != r["commune_code"]:
            prev = None
        rows.append(_transformation_row(r, prev, counts[r["period"]]))
        prev = r
    return pd.DataFrame(rows, columns=TRANSFORMATION_COLUMNS)


def _period_counts(period: str, layers: dict[str, pd.DataFrame],
                   codes: dict[str, np.ndarray]) -> dict[str, pd.Series]:
    """Per commune code, the record counts (and m², plants, offenders) of one period."""
    start, end = (d.isoformat() for d in period_bounds(period))
    pts, plots = layers["retail_points"], layers["opium_plots"]
    cs, recs = layers["cases"], layers["recognitions"]
    c: dict[str, pd.Series] = {}
    if len(pts):
        code = codes["retail_points"]
        c["points_new"] = count_by(code, between(iso_dates(pts, "first_seen"), start, end))
        c["points_cleared"] = count_by(code, between(iso_dates(pts, "cleared_on"), start, end))
        c["points_reemerged"] = count_by(code, reemerged_in(pts, start, end))
        c["points_active_end"] = count_by(code, point_active_on(pts, end))
    if len(plots):
        code = codes["opium_plots"]
        found = between(iso_dates(plots, "detected_on"), start, end)
        erad = between(iso_dates(plots, "eradicated_on"), start, end)
        area = pd.to_numeric(plots["area_m2"], errors="coerce").fillna(0).to_numpy()
        c["plots_found"] = count_by(code, found)
        c["plot_area_found_m2"] = count_by(code, found, area)
        c["plants_found"] = count_by(code, found, numbers(plots, "plant_count"))
        c["plots_eradicated"] = count_by(code, erad)
        c["plot_area_eradicated_m2"] = count_by(code, erad, area)
    if len(cs):
        in_p = between(iso_dates(cs, "date"), start, end)
        c["cases"] = count_by(codes["cases"], in_p)
        c["offenders"] = count_by(codes["cases"], in_p, numbers(cs, "offenders"))
    if len(recs):
        code = codes["recognitions"]
        c["recognitions_granted"] = count_by(code, between(iso_dates(recs, "date"), start, end))
        c["recognitions_revoked"] = count_by(code, between(iso_dates(recs, "revoked_on"),
                                                           start, end))
    return c


def _transition(prev: dict | None, now: dict) -> tuple[str, int | None]:
    """``first`` / ``unknown`` / ``improved`` / ``worsened`` / ``unchanged`` and the steps moved."""
    if prev is None:
        return "first", None
    rank_now, rank_prev = class_rank(now["status"]), class_rank(prev["status"])
    if rank_now is None or rank_prev is None:
        return "unknown", None
    # CLASS_ORDER runs worst → best, so a higher index is an improvement
    steps = rank_now - rank_prev
    return ("improved" if steps > 0 else "worsened" if steps < 0 else "unchanged"), steps


def _transformation_row(r: dict, prev: dict | None, counts: dict[str, pd.Series]) -> dict:
    """One output row: the commune's class change since ``prev`` and its period's counts."""
    transition, steps = _transition(prev, r)
    out = {
        "commune_code": r["commune_code"], "commune_name": r.get("commune_name"),
        "period": r["period"], "status": r["status"], "computed_class": r["computed_class"],
        "previous_period": prev["period"] if prev else None,
        "previous_status": prev["status"] if prev else None, "transition": transition,
        "steps": steps,
        # a missing rule set is NaN in a frame (truthy): only two named ones can differ
        "rule_set_changed": bool(prev and isinstance(prev.get("rule_set"), str)
                                 and isinstance(r.get("rule_set"), str)
                                 and prev["rule_set"] != r["rule_set"]),
        "drug_free": bool(r.get("drug_free")), "sach_ve_ma_tuy": bool(r.get("sach_ve_ma_tuy")),
    }
    for col in TRANSFORMATION_COLUMNS:
        if col in out:
            continue
        series = counts.get(col)
        v = series.get(r["commune_code"], 0) if series is not None else 0
        out[col] = float(v) if col.endswith("_m2") else int(v)
    return out


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

    Examples
    --------
    >>> st = pd.DataFrame({"commune_code": ["A", "A"], "period": ["2024", "2026"],
    ...                    "status": ["loai_I", "loai_II"]})
    >>> plan = pd.DataFrame({"id": ["P1"], "commune_code": ["A"], "target_status": ["loai_III"],
    ...                      "target_date": ["2026-12-31"], "baseline_period": ["2024"]})
    >>> out = plan_progress(plan, st, today=date(2026, 11, 25))
    >>> out[["steps_done", "steps_needed", "progress_pct", "verdict_en"]].to_dict("records")
    [{'steps_done': 1, 'steps_needed': 2, 'progress_pct': 50.0, 'verdict_en': 'behind'}]
    """
    today = today or date.today()
    st = status[status["status"] != "chua_danh_gia"].sort_values("period")
    rows = [_plan_row(plan, st[st["commune_code"] == plan["commune_code"]], today)
            for plan in plans.to_dict("records")]
    return pd.DataFrame(rows, columns=PLAN_COLUMNS)


def _plan_row(plan: dict, mine: pd.DataFrame, today: date) -> dict:
    """One plan's row of :func:`plan_progress` from its commune's assessed periods."""
    base_p = plan.get("baseline_period")
    base_p = base_p if isinstance(base_p, str) and base_p.strip() else None
    base = mine[mine["period"] == base_p] if base_p else mine.head(1)
    now = mine[mine["period"].map(lambda p: period_bounds(p)[0] <= today)].tail(1)
    row = {"plan_id": plan["id"], "commune_code": plan["commune_code"],
           "target_status": plan["target_status"], "target_date": plan["target_date"],
           "baseline_period": base["period"].iloc[0] if len(base) else base_p,
           "baseline_status": base["status"].iloc[0] if len(base) else None,
           "current_period": now["period"].iloc[0] if len(now) else None,
           "current_status": now["status"].iloc[0] if len(now) else None}
    if not len(base) or not len(now):
        return {**row, "verdict_vi": "chưa có số liệu đánh giá", "verdict_en": "no assessment yet"}
    achieved, needed, done = _plan_steps(plan["target_status"], row, now)
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
    vi, en = _plan_verdict(achieved, overdue, on_track)
    return {**row, "steps_needed": needed, "steps_done": done,
            "progress_pct": round(progress, 1), "time_elapsed_pct": round(elapsed, 1),
            "achieved": achieved, "on_track": on_track, "overdue": overdue,
            "verdict_vi": vi, "verdict_en": en}


def _plan_steps(target: str, row: dict, now: pd.DataFrame) -> tuple[bool, int, int]:
    """Whether the target is reached, classes needed from the baseline and classes moved."""
    if target == SACH:
        # Nghệ An's label is not a rung of the national ladder: one step, given or not
        achieved = bool(now["sach_ve_ma_tuy"].iloc[0]) if "sach_ve_ma_tuy" in now else False
        return achieved, 1, int(achieved)
    b_rank = class_rank(row["baseline_status"])
    c_rank = class_rank(row["current_status"])
    t_rank = class_rank(target)
    return c_rank >= t_rank, max(t_rank - b_rank, 0), c_rank - b_rank


def _plan_verdict(achieved: bool, overdue: bool, on_track: bool) -> tuple[str, str]:
    if achieved:
        return "đã đạt mục tiêu", "target reached"
    if overdue:
        return "quá hạn, chưa đạt", "overdue, not reached"
    if on_track:
        return "đúng tiến độ", "on track"
    return "chậm tiến độ", "behind"


__all__ = ["BorderSummary", "Dashboard", "DEFAULT_BANDS_KM", "SUMMARY_COLUMNS",
           "TRANSFORMATION_COLUMNS", "border", "border_axis", "border_layer", "dashboard",
           "distance_bands", "locate_along_border", "plan_progress", "point_active_on",
           "status_on", "target_pct", "transformation", "validate_plans", "CLASS_ORDER",
           "BORDER_SCOPES", "CLASS_COLUMNS", "PLAN_COLUMNS", "PROVINCE_SCOPES",
           "project_on_axis"]
