"""The report run: the province's report document (báo cáo) for a month, quarter, year or June.

Behind ``geo-pcmt report`` and the web's ``/reports``: :func:`read_inputs` reads, as a role may
see them, what the status and treatment runs read plus ``cases`` and the 412 → 130 crosswalk;
:func:`run` (pure) builds the numbered tables of :mod:`geo_pcmt.analysis.report_tables` in the
order of Report 564/BC-UBND. Nothing is stored: the outputs render :class:`Report`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Mapping

import pandas as pd

from geo_pcmt.analysis import report_tables as rt
from geo_pcmt import access
from geo_pcmt.analysis.rules import find_rule_set, rule_set_for
from geo_pcmt.analysis.status import classify
from geo_pcmt.formatting import fmt_number
from geo_pcmt.runs import common, status as status_run, treatment as treatment_run

EXTRA_INPUTS = ("cases", "retail_points", "opium_plots", "commune_lineage")
DEFAULT_UNIT = "ỦY BAN NHÂN DÂN TỈNH NGHỆ AN"
RECIPIENTS = ("- Như trên;", "- Lưu: VT.")
SIGN_HERE = "(Ký, ghi rõ họ tên, đóng dấu)"
TREATMENT_LABELS = {"addicts_with_records": "Người nghiện có hồ sơ quản lý",
                    "users": "Người sử dụng trái phép chất ma túy có hồ sơ",
                    "compulsory_treatment": "Cai nghiện bắt buộc",
                    "voluntary_treatment": "Cai nghiện tự nguyện tại cơ sở",
                    "community_treatment": "Cai nghiện tại gia đình, cộng đồng",
                    "post_treatment": "Quản lý sau cai nghiện",
                    "on_methadone": "Điều trị nghiện bằng Methadone",
                    "vocational_trained": "Được dạy nghề"}


class ReportRunError(ValueError):
    """The inputs cannot give the report asked for (no assessments for its year …)."""


@dataclass(frozen=True)
class ReportParams:
    """``kind`` (month / quarter / year / action_month) and ``value`` (``2025-06``,
    ``2025Q2``, ``2025``); the heading: ``unit`` (cơ quan), ``number`` (the report's number,
    ``564/BC-UBND``; blank: left to fill in), ``on`` (its date, default today); ``role``."""

    kind: str
    value: str
    unit: str = DEFAULT_UNIT
    number: str = ""
    on: date | None = None
    role: str = common.DEFAULT_ROLE


@dataclass
class Section:
    """A numbered section: heading, paragraphs, then tables."""

    heading: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[rt.ReportTable] = field(default_factory=list)


@dataclass
class Report:
    """The document: heading fields, sections with numbered tables, the annex."""

    unit: str
    number: str
    place_date: str
    title: str
    period: rt.Period
    sections: list[Section]
    annex: list[rt.ReportTable]
    confidentiality: str
    params: dict

    @property
    def marking(self) -> str | None:
        """``MẬT`` / ``TỐI MẬT`` when restricted or secret rows went into it, else None."""
        mark, level = access.marking([self.confidentiality])
        return None if level == "public" else mark

    def tables(self) -> list[rt.ReportTable]:
        """Every table in document order (numbered)."""
        return [t for s in self.sections for t in s.tables] + self.annex

    @property
    def recipients(self) -> tuple[str, ...]:
        """The "Nơi nhận" lines under the body, left of the signature."""
        return RECIPIENTS

    @property
    def signature(self) -> tuple[str, ...]:
        """The signature block's lines (on behalf of the issuing body, its head signs)."""
        return signature_lines(self.unit)


def signature_lines(unit: str) -> tuple[str, ...]:
    """The signature block of Decree 30/2020/NĐ-CP for a report issued by ``unit``.

    A People's Committee signs collectively ("TM." = on behalf of, the chair signs); any
    other body by its head.

    Examples
    --------
    >>> signature_lines("ỦY BAN NHÂN DÂN TỈNH NGHỆ AN")[:2]
    ('TM. ỦY BAN NHÂN DÂN', 'CHỦ TỊCH')
    >>> signature_lines("CÔNG AN TỈNH NGHỆ AN")[:2]
    ('GIÁM ĐỐC', '(Ký, ghi rõ họ tên, đóng dấu)')
    """
    upper = unit.upper()
    if upper.startswith("ỦY BAN NHÂN DÂN") or upper.startswith("UỶ BAN NHÂN DÂN"):
        return ("TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH", SIGN_HERE)
    if upper.startswith("CÔNG AN TỈNH"):
        return ("GIÁM ĐỐC", SIGN_HERE)
    return ("THỦ TRƯỞNG ĐƠN VỊ", SIGN_HERE)


def place_date(day: date) -> str:
    """``Nghệ An, ngày 05 tháng 12 năm 2026`` (the administrative form)."""
    return f"Nghệ An, ngày {day.day:02d} tháng {day.month:02d} năm {day.year}"


def read_inputs(store, params: ReportParams, role: str | None = None) -> dict[str, Any]:
    """Everything the report reads, as ``role`` may see it (``AccessDenied`` otherwise)."""
    role = common.check_role(params.role if role is None else role)
    out = status_run.read_inputs(store, status_run.StatusParams(role=role), role)
    t = treatment_run.read_inputs(store, treatment_run.TreatmentParams(role=role), role)
    out.update({"treatment": t["treatment"], "targets_data": t["targets"]})
    out.update({layer: common.read(store, layer, role) for layer in EXTRA_INPUTS})
    return out


def _status(inputs: Mapping[str, Any], p: rt.Period, today: date):
    rule_sets = inputs["rule_sets"]
    rs = rule_set_for(rule_sets, p.end)
    if rs is None:
        raise ReportRunError(f"no classification rule set in force on {p.end}")
    params = status_run.StatusParams(rule_set=rs.id, periods=(str(p.year),), today=today)
    try:
        st = status_run.run(inputs, params)
    except status_run.StatusRunError as exc:
        raise ReportRunError(str(exc)) from None
    assessed = inputs["commune_assessments"]
    label = classify(assessed[assessed["period"].astype(str) == str(p.year)],
                     find_rule_set(rule_sets, "sach_ve_ma_tuy"))
    return st, rs, label


def _classification(st, rs, label) -> Section:
    bands = sorted({b for bands in st.classified["unverified_fired"] for b in (bands or [])})
    text = (f"Phân loại theo {rs.title_vi if hasattr(rs, 'title_vi') else rs.id} "
            f"(bộ tiêu chí {rs.id}, phiên bản {rs.version}). ")
    text += ("Các ngưỡng loại II, III chưa được đối chiếu văn bản chính thức được đánh dấu * và "
             "không tự mình đưa một xã vào diện trọng điểm"
             + (f"; các ngưỡng chưa kiểm chứng có tác động năm nay: "
                f"{', '.join(b.replace('loai_', '') for b in bands)}." if bands else "."))
    return Section("Phân loại địa bàn và rà soát xã đủ tiêu chí sạch về ma túy", [text],
                   [rt.class_counts(st.status), rt.classification_list(st.status),
                    rt.precheck(label, st.status)])


def run(inputs: Mapping[str, Any], params: ReportParams) -> Report:
    """Build the report (pure); :class:`ReportRunError` when its year cannot be judged."""
    try:
        p = rt.period(params.kind, params.value)
    except ValueError as exc:
        raise ReportRunError(str(exc)) from None
    today = params.on or date.today()
    cases, communes = inputs["cases"], inputs["communes"]
    st, rs, label = _status(inputs, p, today)
    t_params = treatment_run.TreatmentParams(year=p.year, today=today, role=params.role)
    try:
        tr = treatment_run.run({**inputs, "targets": inputs["targets_data"]}, t_params)
    except treatment_run.TreatmentRunError as exc:
        raise ReportRunError(str(exc)) from None
    crime = [rt.cases_by_force(cases, p), rt.cases_by_kind(cases, p)]
    seized = rt.seizures(cases, p)
    force = crime[0].rows.iloc[-1]
    summary = (f"Trong {p.title_vi} (từ {p.start:%d/%m/%Y} đến {p.end:%d/%m/%Y}), các lực lượng "
               "chức năng trong tỉnh đã phát hiện, bắt giữ {cases} vụ, {offenders} đối tượng "
               "phạm tội về ma túy (cùng kỳ năm trước: {pc} vụ, {po} đối tượng).")
    sections = [
        Section("Kết quả đấu tranh, phòng, chống tội phạm về ma túy",
                [summary], crime + ([seized] if seized is not None else []) + [
                    rt.enforcement_results(cases, inputs.get("retail_points"),
                                           inputs.get("opium_plots"), p)]),
        Section("Công tác cai nghiện ma túy và quản lý sau cai nghiện",
                [f"Số liệu năm {p.year} theo từng xã, phường, so với năm {p.year - 1}."],
                [rt.treatment_counts(tr.totals, tr.previous_totals, TREATMENT_LABELS),
                 rt.treatment_table(tr.province)]),
        _classification(st, rs, label),
    ]
    annex = rt.commune_annex(cases, communes, st.status, tr.communes, p)
    annex_tables = [annex, rt.pre2025_basis(annex, inputs["commune_lineage"])]
    for i, table in enumerate([t for s in sections for t in s.tables] + annex_tables, 1):
        table.number = i
    level = common.highest_confidentiality(
        [v for v in inputs.values() if isinstance(v, pd.DataFrame)], "public")
    sections[0].paragraphs[0] = summary.format(
        **{k: fmt_number(force[c]) for k, c in (("cases", "cases"), ("offenders", "offenders"),
                                                ("pc", "prev_cases"), ("po", "prev_offenders"))})
    number = params.number or "      "
    title = ("BÁO CÁO\nKết quả công tác phòng, chống ma túy " + p.title_vi
             if params.kind != "action_month" else
             "BÁO CÁO\nKết quả thực hiện " + p.title_vi)
    return Report(params.unit, f"Số: {number}/BC-UBND" if "/" not in number else
                  f"Số: {number}", place_date(today), title, p, sections, annex_tables, level,
                  {"kind": params.kind, "value": params.value, "role": params.role,
                   "rule_set": rs.id, "today": str(today)})


__all__ = ["DEFAULT_UNIT", "Report", "ReportParams", "ReportRunError", "Section", "place_date",
           "read_inputs", "run"]
