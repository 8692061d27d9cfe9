"""The progress run: drug-free dashboards against the targets, transformation, the border corridor.

Behind ``geo-pcmt progress``: :func:`read_inputs` reads what the status run reads plus the
activity, target, plan and border layers as a role may see them; :func:`run` computes the
commune status (:mod:`geo_pcmt.runs.status`), the dashboards, the transformation per commune
and period, plan progress and (with ``border``) the corridor summary, all pure; :func:`write`
stores the derived ``border_progress`` rows.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import date
from typing import Any, Mapping

import pandas as pd

from geo_pcmt.analysis import progress
from geo_pcmt.analysis.rules import find_rule_set, rule_set_for
from geo_pcmt.runs import common, status as status_run

LAYER = "border_progress"
ACTIVITY = ("retail_points", "opium_plots", "cases")
BORDER_INPUTS = ("border_line", "province", "border_crossings", "border_posts")


@dataclass(frozen=True)
class ProgressParams:
    """Parameters of a progress run.

    Attributes
    ----------
    year : the year to report (default: the year of ``today``).
    today : the day the data is read on (default: the run's day).
    border : also summarise the Lao-border corridor (segments, posts, distance bands).
    bands_km : distance band edges from the border line, km.
    rule_set : judge every period by this rule set (id or alias). Default: the
        classification rule set in force at the end of ``year``, for every period, so a
        year-on-year comparison never mixes rule sets silently.
    as_assessed : judge each period by the rule set its assessment names (else the one in
        force then): the mixed view, each row marked where the rule set changed.
    rules_dir : as :class:`geo_pcmt.runs.status.StatusParams`.
    role : the role the run reads for (default ``analyst``).
    """

    year: int | None = None
    today: date | None = None
    border: bool = False
    bands_km: tuple[float, ...] = progress.DEFAULT_BANDS_KM
    rule_set: str | None = None
    as_assessed: bool = False
    rules_dir: str | None = None
    role: str = common.DEFAULT_ROLE

    def status_params(self) -> status_run.StatusParams:
        """The status run this progress run builds on."""
        return status_run.StatusParams(rule_set=self.rule_set, today=self.today,
                                       rules_dir=self.rules_dir, role=self.role)


@dataclass
class ProgressRun:
    """What a progress run produced.

    Attributes
    ----------
    run_id, params : as every run.
    status : the commune status the figures read (:class:`geo_pcmt.runs.status.StatusRun`).
    dashboards : ``province``, ``border`` and ``sach_ve_ma_tuy``
        (:class:`geo_pcmt.analysis.progress.Dashboard`).
    transformation : per commune and period; ``transformation_year`` those of ``year``.
    plans : plan progress, or None without plans.
    border : :class:`geo_pcmt.analysis.progress.BorderSummary` or None; ``border_rows`` its
        rows shaped to the ``border_progress`` layer.
    confidentiality : of the derived rows: the highest of the input rows.
    judged_by : the rule set every period was judged by, or None for the mixed
        (``as_assessed``) view; ``judged_by_text`` says so in Vietnamese and English.
    """

    run_id: str
    params: dict
    year: int
    status: status_run.StatusRun
    dashboards: dict[str, progress.Dashboard]
    transformation: pd.DataFrame
    transformation_year: pd.DataFrame
    plans: pd.DataFrame | None = None
    border: progress.BorderSummary | None = None
    border_rows: pd.DataFrame | None = None
    confidentiality: str = "restricted"
    judged_by: str | None = None
    judged_by_text: str = ""

    def as_dict(self) -> dict:
        """The figures as plain JSON values (``geo-pcmt progress --json``)."""
        d = self.dashboards
        out: dict = {"dashboard": d["province"].as_dict(), "dashboard_border": d["border"].as_dict(),
                     "sach_ve_ma_tuy": d["sach_ve_ma_tuy"].as_dict(),
                     "transitions": self.transformation_year["transition"].value_counts().to_dict(),
                     "judged_by": self.judged_by, "judged_by_text": self.judged_by_text,
                     "rule_set_changed": int(self.transformation_year["rule_set_changed"].sum())}
        if self.border is not None:
            s = self.border
            out["border"] = {"totals": s.totals,
                             **{k: pd.DataFrame(getattr(s, k).drop(columns="geometry"))
                                .to_dict("records") for k in ("segments", "posts", "bands")}}
        if self.plans is not None:
            out["plans"] = self.plans.to_dict("records")
        return out


def read_inputs(store, params: ProgressParams, role: str | None = None) -> dict[str, Any]:
    """The status run's inputs plus targets, plans, activity and (with ``border``) border layers."""
    role = common.check_role(params.role if role is None else role)
    out = status_run.read_inputs(store, params.status_params(), role)
    names = ("targets", "transformation_plans") + ACTIVITY + (BORDER_INPUTS if params.border
                                                               else ())
    out.update({layer: common.read(store, layer, role) for layer in names})
    return out


def _dashboards(inputs: Mapping[str, Any], on: date) -> dict[str, progress.Dashboard]:
    communes, recognitions, targets = inputs["communes"], inputs["recognitions"], inputs["targets"]
    border = communes[communes["is_border"].fillna(False).astype(bool)]
    return {"province": progress.dashboard(recognitions, communes, targets, on=on),
            "border": progress.dashboard(recognitions, border, targets, on=on, scope="border"),
            "sach_ve_ma_tuy": progress.dashboard(recognitions, communes, None, on=on,
                                                 label="sach_ve_ma_tuy")}


def _border(inputs: Mapping[str, Any], status: pd.DataFrame, params: ProgressParams,
            year: int, today: date) -> progress.BorderSummary:
    return progress.border(
        inputs["communes"], inputs["border_line"], inputs["province"], status, year=year,
        today=today, retail_points=inputs["retail_points"], opium_plots=inputs["opium_plots"],
        border_crossings=inputs["border_crossings"], border_posts=inputs["border_posts"],
        cases=inputs["cases"], targets=inputs["targets"], bands_km=list(params.bands_km))


def _judged_by(rule_sets, params: ProgressParams, year: int) -> tuple[str | None, str]:
    """The one rule set every period is judged by (None: as assessed), and a sentence."""
    if params.as_assessed and not params.rule_set:
        return None, ("Mỗi kỳ theo bộ tiêu chí đã áp dụng khi đánh giá; dòng đánh dấu † là "
                      "so sánh giữa hai bộ tiêu chí khác nhau (each period by the rule set it "
                      "was assessed with; † marks a comparison across rule sets)")
    try:
        rs = find_rule_set(rule_sets, params.rule_set) if params.rule_set else \
            rule_set_for(rule_sets, date(year, 12, 31))
    except KeyError as exc:
        raise status_run.StatusRunError(exc.args[0]) from None
    if rs is None:
        raise status_run.StatusRunError(f"no classification rule set in force on {year}-12-31; "
                                        "name one with --rule-set or use --as-assessed")
    why = "" if params.rule_set else f", bộ tiêu chí có hiệu lực cuối năm {year}"
    return rs.id, (f"Mọi kỳ được đánh giá theo cùng một bộ tiêu chí: {rs.id}{why} "
                   f"(every period judged by one rule set, {rs.id}; --as-assessed shows "
                   "each period by its own)")


def run(inputs: Mapping[str, Any], params: ProgressParams | None = None) -> ProgressRun:
    """Compute the progress figures from ``inputs`` (pure).

    Raises
    ------
    ValueError
        As the status run, or when the border layers cannot give a corridor.
    """
    params = params or ProgressParams()
    today = params.today or date.today()
    year = params.year or today.year
    judged_by, judged_text = _judged_by(inputs["rule_sets"], params, year)
    st = status_run.run(inputs, replace(params.status_params(), rule_set=judged_by))
    trans = progress.transformation(st.status, retail_points=inputs["retail_points"],
                                    opium_plots=inputs["opium_plots"], cases=inputs["cases"],
                                    recognitions=inputs["recognitions"],
                                    communes=inputs["communes"])
    plans = inputs["transformation_plans"]
    level = common.layer_confidentiality(LAYER, [v for v in inputs.values()
                                                 if isinstance(v, pd.DataFrame)])
    stored = {**asdict(params), "year": year, "today": str(today),
              "bands_km": list(params.bands_km), "confidentiality": level}
    text = common.params_json(stored)
    result = ProgressRun(
        common.new_run_id("pg", text, common.now_utc()), stored, year, st,
        _dashboards(inputs, min(date(year, 12, 31), today)), trans,
        trans[trans["period"].str.startswith(str(year))],
        progress.plan_progress(plans, st.status, today=today) if len(plans) else None,
        confidentiality=level, judged_by=judged_by, judged_by_text=judged_text)
    if params.border:
        result.border = _border(inputs, st.status, params, year, today)
        rows = progress.border_layer(result.border, run_id=result.run_id,
                                     params={"year": year, "bands_km": list(params.bands_km),
                                             "today": str(today), "role": params.role})
        rows["confidentiality"] = level
        result.border_rows = rows
    return result


def write(store, result: ProgressRun, *, user: str = "system") -> list:
    """Upsert the run's ``border_progress`` rows (none without ``border``)."""
    if result.border_rows is None or not len(result.border_rows):
        return []
    return [store.write(LAYER, result.border_rows, mode="upsert", user=user)]


__all__ = ["ProgressParams", "ProgressRun", "read_inputs", "run", "write"]
