"""The numbered tables of the province's report documents (Report 564/BC-UBND as the model), pure.

Frames in, tables out: a :class:`ReportTable` holds numeric rows (never formatted text) and the
column kinds, so DOCX, XLSX and PDF render the same figures with
:mod:`geo_pcmt.formatting`. Periods are a month, a quarter, a year or the action month
(*tháng hành động*, June); every comparison is with the same period of the previous year
(*so với cùng kỳ năm trước*).
"""
from __future__ import annotations

import calendar
import json
import re
from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from geo_pcmt.ingest.headers import value_labels
from geo_pcmt.layers import get_layer
from geo_pcmt.words import class_name

PERIOD_KINDS = ("month", "quarter", "year", "action_month")

FORCES = (("cong_an", "Công an"), ("bien_phong", "Bộ đội Biên phòng"), ("hai_quan", "Hải quan"))
CASE_KINDS_VI = value_labels(get_layer("cases"), "kind")  # the words of the one word table
SEIZURES = (("heroin_g", "Heroin", "gam", 2), ("meth_pills", "Ma túy tổng hợp", "viên", 0),
            ("crystal_meth_g", "Ma túy đá", "gam", 2), ("opium_g", "Thuốc phiện", "gam", 2))
CLASS_VI = {code: class_name(code) for code in (  # in the order of the report's tables
    "loai_I", "loai_II", "loai_III", "co_te_nan_ma_tuy", "khong_trong_diem", "khong_ma_tuy",
    "chua_danh_gia")}
CLASS_SHORT = {"loai_I": "I", "loai_II": "II", "loai_III": "III"}


@dataclass(frozen=True)
class Period:
    """A report period and the same period of the previous year (dates inclusive)."""

    kind: str
    start: date
    end: date
    prev_start: date
    prev_end: date
    title_vi: str

    @property
    def year(self) -> int:
        """The year the period falls in (its classification list and treatment counts)."""
        return self.start.year


def period(kind: str, value: str) -> Period:
    """The period of ``kind`` named by ``value``: ``2025-06``, ``2025Q2``, ``2025``.

    Examples
    --------
    >>> p = period("quarter", "2025Q2")
    >>> str(p.start), str(p.end), str(p.prev_start), p.title_vi
    ('2025-04-01', '2025-06-30', '2024-04-01', 'quý II năm 2025')
    """
    value = str(value).strip()
    pats = {"month": r"(\d{4})-(\d{2})", "quarter": r"(\d{4})[Qq]([1-4])",
            "year": r"(\d{4})", "action_month": r"(\d{4})"}
    if kind not in pats:
        raise ValueError(f"period kind must be one of {', '.join(PERIOD_KINDS)}, got {kind!r}")
    m = re.fullmatch(pats[kind], value)
    if not m:
        example = {"month": "2025-06", "quarter": "2025Q2"}.get(kind, "2025")
        raise ValueError(f"{kind} {value!r} is not written like {example}")
    y = int(m.group(1))
    if kind in ("month", "action_month"):
        mo = 6 if kind == "action_month" else int(m.group(2))
        if not 1 <= mo <= 12:
            raise ValueError(f"month {value!r}: month must be 01–12")
        first, last = (mo, mo)
        title = (f"Tháng hành động phòng, chống ma túy năm {y}" if kind == "action_month"
                 else f"tháng {mo:02d} năm {y}")
    elif kind == "quarter":
        q = int(m.group(2))
        first, last = 3 * q - 2, 3 * q
        title = f"quý {('I', 'II', 'III', 'IV')[q - 1]} năm {y}"
    else:
        first, last, title = 1, 12, f"năm {y}"

    def bounds(year: int) -> tuple[date, date]:
        return date(year, first, 1), date(year, last, calendar.monthrange(year, last)[1])

    (s, e), (ps, pe) = bounds(y), bounds(y - 1)
    return Period(kind, s, e, ps, pe, title)


@dataclass
class ReportTable:
    """One numbered table: ``rows`` numeric, ``columns`` (key, Vietnamese header, kind) with
    kind ``text`` / ``int`` / ``dec`` (2 decimals) / ``pct`` (a per-cent number, 1 decimal) /
    ``change`` (a signed per-cent change); ``total`` the key of the label column when the last
    row is a total."""

    title: str
    columns: list[tuple[str, str, str]]
    rows: pd.DataFrame
    note: str = ""
    total: str | None = None
    number: int = 0
    annex: bool = False
    meta: dict = field(default_factory=dict)


def pct_change(now: float, before: float) -> float | None:
    """Per-cent change from ``before`` to ``now``; None when there was nothing before.

    Examples
    --------
    >>> pct_change(245, 200), pct_change(0, 0), pct_change(3, 0)
    (22.5, None, None)
    """
    if before is None or before == 0 or pd.isna(before):
        return None
    return round(100.0 * (float(now) - float(before)) / float(before), 1)


def force_of(unit) -> str:
    """The force (lực lượng) of an arresting unit: border guard posts (``Đồn BP``, ``Biên
    phòng``), customs (``Hải quan``), else police.

    Examples
    --------
    >>> force_of("Đồn BP Keng Đu"), force_of("Chi cục Hải quan Nậm Cắn"), force_of(None)
    ('bien_phong', 'hai_quan', 'cong_an')
    """
    text = str(unit or "").lower()
    if "hải quan" in text:
        return "hai_quan"
    if re.search(r"\bbp\b|biên phòng", text):
        return "bien_phong"
    return "cong_an"


def _dates(cases: pd.DataFrame) -> pd.Series:
    return pd.to_datetime(cases["date"], errors="coerce").dt.date


def in_period(cases: pd.DataFrame, start: date, end: date) -> pd.DataFrame:
    """The cases dated ``start``–``end`` (inclusive)."""
    if not len(cases):
        return cases
    d = _dates(cases)
    return cases[(d >= start) & (d <= end)]


def _with_total(rows: pd.DataFrame, label_col: str, label: str = "Tổng cộng") -> pd.DataFrame:
    total = {c: rows[c].sum() for c in rows.columns
             if c != label_col and pd.api.types.is_numeric_dtype(rows[c])}
    return pd.concat([rows, pd.DataFrame([{label_col: label, **total}])], ignore_index=True)


def _changes(rows: pd.DataFrame, pairs: list[tuple[str, str, str]]) -> pd.DataFrame:
    for now, before, out in pairs:
        rows[out] = [pct_change(a, b) for a, b in zip(rows[now], rows[before])]
    return rows


def _counts(cases: pd.DataFrame, key: pd.Series | None, keys: list[str]) -> pd.DataFrame:
    off = pd.to_numeric(cases.get("offenders", pd.Series(dtype=float)), errors="coerce").fillna(0)
    frame = pd.DataFrame({"k": key if key is not None else [], "off": off})
    g = frame.groupby("k").agg(cases=("off", "size"), offenders=("off", "sum"))
    return g.reindex(keys, fill_value=0).astype(int)


def cases_by_force(cases: pd.DataFrame, p: Period) -> ReportTable:
    """Cases and offenders by force, with the same period of last year and the % change."""
    keys = [k for k, _ in FORCES]
    now, before = in_period(cases, p.start, p.end), in_period(cases, p.prev_start, p.prev_end)
    a = _counts(now, now["unit"].map(force_of) if len(now) else None, keys)
    b = _counts(before, before["unit"].map(force_of) if len(before) else None, keys)
    rows = pd.DataFrame({"label": [v for _, v in FORCES], "cases": a["cases"].to_numpy(),
                         "offenders": a["offenders"].to_numpy(),
                         "prev_cases": b["cases"].to_numpy(),
                         "prev_offenders": b["offenders"].to_numpy()})
    rows = _changes(_with_total(rows, "label"), [("cases", "prev_cases", "change_cases"),
                                                 ("offenders", "prev_offenders",
                                                  "change_offenders")])
    return ReportTable("Kết quả phát hiện, bắt giữ tội phạm về ma túy theo lực lượng", [
        ("label", "Lực lượng", "text"), ("cases", "Số vụ", "int"),
        ("offenders", "Số đối tượng", "int"), ("prev_cases", "Số vụ cùng kỳ", "int"),
        ("prev_offenders", "Số đối tượng cùng kỳ", "int"),
        ("change_cases", "Tăng/giảm số vụ (%)", "change"),
        ("change_offenders", "Tăng/giảm số đối tượng (%)", "change")], rows,
        note="Lực lượng xác định theo đơn vị bắt giữ ghi trong hồ sơ vụ án.", total="label")


def cases_by_kind(cases: pd.DataFrame, p: Period) -> ReportTable:
    """Cases and offenders by kind of offence, against the same period of last year."""
    keys = list(CASE_KINDS_VI)
    now, before = in_period(cases, p.start, p.end), in_period(cases, p.prev_start, p.prev_end)
    a = _counts(now, now["kind"] if len(now) else None, keys)
    b = _counts(before, before["kind"] if len(before) else None, keys)
    rows = pd.DataFrame({"label": [CASE_KINDS_VI[k] for k in keys],
                         "cases": a["cases"].to_numpy(), "offenders": a["offenders"].to_numpy(),
                         "prev_cases": b["cases"].to_numpy(),
                         "prev_offenders": b["offenders"].to_numpy()})
    rows = _changes(_with_total(rows, "label"), [("cases", "prev_cases", "change_cases")])
    return ReportTable("Vụ án, đối tượng phạm tội về ma túy theo loại hành vi", [
        ("label", "Loại hành vi", "text"), ("cases", "Số vụ", "int"),
        ("offenders", "Số đối tượng", "int"), ("prev_cases", "Số vụ cùng kỳ", "int"),
        ("prev_offenders", "Số đối tượng cùng kỳ", "int"),
        ("change_cases", "Tăng/giảm số vụ (%)", "change")], rows, total="label")


def seizures(cases: pd.DataFrame, p: Period) -> ReportTable | None:
    """Drugs seized by type, against the same period of last year (None without the fields)."""
    fields = [s for s in SEIZURES if s[0] in cases.columns]
    if not fields:
        return None
    now, before = in_period(cases, p.start, p.end), in_period(cases, p.prev_start, p.prev_end)

    def total(frame: pd.DataFrame, col: str) -> float:
        return float(pd.to_numeric(frame[col], errors="coerce").fillna(0).sum()) if len(frame) \
            else 0.0

    rows = pd.DataFrame([{"label": name, "unit": unit, "now": round(total(now, col), 3),
                          "before": round(total(before, col), 3)}
                         for col, name, unit, _ in fields])
    rows = _changes(rows, [("now", "before", "change")])
    return ReportTable("Ma túy thu giữ theo loại", [
        ("label", "Loại ma túy", "text"), ("unit", "Đơn vị tính", "text"),
        ("now", "Kỳ báo cáo", "dec"), ("before", "Cùng kỳ năm trước", "dec"),
        ("change", "Tăng/giảm (%)", "change")], rows)


def _dated_in(frame: pd.DataFrame | None, col: str, start: date, end: date) -> pd.DataFrame:
    """The rows of ``frame`` whose ``col`` (a date) lies in ``start``–``end`` (inclusive)."""
    if frame is None or col not in frame.columns or not len(frame):
        return pd.DataFrame(columns=[] if frame is None else frame.columns)
    days = pd.to_datetime(frame[col].astype(str).str[:10], errors="coerce").dt.date
    return frame[((days >= start) & (days <= end)).fillna(False).to_numpy()]


def enforcement_results(cases: pd.DataFrame, retail_points: pd.DataFrame | None,
                        opium_plots: pd.DataFrame | None, p: Period) -> ReportTable:
    """Major cases (chuyên án) busted, retail points eliminated and opium destroyed in the
    period, against the same period of last year (the figures Report 564 gives beside cases).

    A chuyên án is counted once however many of its cases fall in the period (the distinct
    ``major_case`` references of the period's cases); a retail point counts in the period of
    its ``cleared_on`` date, a poppy plot in that of its ``eradicated_on`` date.
    """
    def figures(start: date, end: date) -> dict[str, float]:
        c = in_period(cases, start, end)
        refs = c["major_case"] if "major_case" in c.columns else pd.Series(dtype=object)
        refs = refs.dropna().astype(str).str.strip()
        cleared = _dated_in(retail_points, "cleared_on", start, end)
        plots = _dated_in(opium_plots, "eradicated_on", start, end)

        def total(frame: pd.DataFrame, col: str) -> float:
            return float(pd.to_numeric(frame[col], errors="coerce").fillna(0).sum()) \
                if col in frame.columns and len(frame) else 0.0
        return {"chuyen_an": float(refs[refs != ""].nunique()), "points": float(len(cleared)),
                "plots": float(len(plots)), "area": total(plots, "area_m2"),
                "plants": total(plots, "plant_count")}

    now, before = figures(p.start, p.end), figures(p.prev_start, p.prev_end)
    labels = (("chuyen_an", "Chuyên án đấu tranh thành công", "chuyên án"),
              ("points", "Điểm, tụ điểm ma túy bị triệt xóa", "điểm"),
              ("plots", "Nương, vườn cây thuốc phiện bị phát hiện, triệt phá", "nương"),
              ("area", "Diện tích cây thuốc phiện bị triệt phá", "m²"),
              ("plants", "Số cây thuốc phiện bị nhổ bỏ, tiêu hủy", "cây"))
    rows = pd.DataFrame([{"label": name, "unit": unit, "now": int(round(now[key])),
                          "before": int(round(before[key]))} for key, name, unit in labels])
    rows = _changes(rows, [("now", "before", "change")])
    return ReportTable("Kết quả đấu tranh chuyên án, triệt xóa điểm, tụ điểm và cây thuốc phiện", [
        ("label", "Nội dung", "text"), ("unit", "Đơn vị tính", "text"),
        ("now", "Kỳ báo cáo", "int"), ("before", "Cùng kỳ năm trước", "int"),
        ("change", "Tăng/giảm (%)", "change")], rows,
        note="Chuyên án đếm một lần dù có nhiều vụ trong kỳ; điểm triệt xóa theo ngày triệt xóa, "
             "nương thuốc phiện theo ngày triệt phá ghi trong hồ sơ.")


def treatment_table(province: pd.DataFrame) -> ReportTable:
    """Treatment indicators of the year against Plan 180's targets (from the treatment run)."""
    rows = pd.DataFrame({
        "label": province["label_vi"], "numerator": province["numerator"],
        "denominator": province["denominator"], "value": province["value_pct"],
        "target": province["target_pct"],
        "met": ["Đạt" if m is True else "Chưa đạt" if m is False else "–"
                for m in province["met"]]})
    return ReportTable("Chỉ tiêu cai nghiện, điều trị so với Kế hoạch 180/KH-UBND", [
        ("label", "Chỉ tiêu", "text"), ("numerator", "Số người", "int"),
        ("denominator", "Trên tổng số", "int"), ("value", "Kết quả (%)", "pct"),
        ("target", "Chỉ tiêu (%)", "pct"), ("met", "Đánh giá", "text")], rows,
        note="Nguồn chỉ tiêu: " + "; ".join(sorted(set(province["source"].astype(str))))
        if "source" in province else "")


def treatment_counts(totals: dict[str, int], previous: dict[str, int] | None,
                     labels: dict[str, str]) -> ReportTable:
    """Addicts, users and people in each kind of treatment, against the year before."""
    rows = pd.DataFrame([{"label": labels[k], "now": int(totals.get(k, 0)),
                          "before": None if previous is None else int(previous.get(k, 0))}
                         for k in labels])
    rows["change"] = [pct_change(a, b) if b is not None else None
                      for a, b in zip(rows["now"], rows["before"])]
    return ReportTable("Người nghiện, người sử dụng trái phép và công tác cai nghiện", [
        ("label", "Nội dung", "text"), ("now", "Năm báo cáo", "int"),
        ("before", "Năm trước", "int"), ("change", "Tăng/giảm (%)", "change")], rows)


def fired_text(criteria_json, outcome: str) -> str:
    """The criteria of ``outcome`` that fired, as ``a, b, đ*`` (``*``: an unverified band)."""
    items = json.loads(criteria_json) if isinstance(criteria_json, str) else (criteria_json or [])
    return ", ".join(f"{c['id']}{'*' if c.get('unverified') else ''}" for c in items
                     if c.get("outcome") == outcome and c.get("fired") is True)


def criteria_legend(criteria_json: pd.Series) -> str:
    """Every criterion named once: ``Loại I: a) …; b) …`` (the key to the short ids)."""
    seen: dict[str, dict[str, str]] = {}
    for text in criteria_json.dropna():
        for c in json.loads(text):
            seen.setdefault(c["outcome"], {}).setdefault(c["id"], c.get("label_vi") or c["id"])
    return " ".join(f"{CLASS_VI.get(o, o)}: " + "; ".join(f"{i}) {t}" for i, t in ids.items())
                    + "." for o, ids in seen.items())


def classification_list(status: pd.DataFrame) -> ReportTable:
    """Every commune's class in the year, the criteria that fired and the recognition in force."""
    s = status.sort_values(["computed_class", "commune_name"],
                           key=lambda c: c.map(list(CLASS_VI).index) if c.name ==
                           "computed_class" else c.str.normalize("NFC"))
    rows = pd.DataFrame({
        "name": s["commune_name"].to_numpy(),
        "class": s["computed_class"].map(CLASS_VI).fillna("–").to_numpy(),
        "criteria": [fired_text(c, k) for c, k in zip(s["criteria"], s["computed_class"])],
        "label": s["drug_free_label"].map({"khong_ma_tuy": "Không ma túy",
                                           "sach_ve_ma_tuy": "Sạch về ma túy"}).fillna("")
                 .to_numpy(),
        "unverified": s["unverified_basis"].fillna("").to_numpy()})
    rows.insert(0, "stt", range(1, len(rows) + 1))
    return ReportTable("Danh sách phân loại địa bàn cấp xã", [
        ("stt", "STT", "int"), ("name", "Xã, phường", "text"), ("class", "Phân loại", "text"),
        ("criteria", "Tiêu chí đạt", "text"), ("label", "Danh hiệu đang có", "text"),
        ("unverified", "Ngưỡng chưa kiểm chứng", "text")], rows,
        note="Tiêu chí đạt theo phân loại của xã (* ngưỡng chưa đối chiếu văn bản chính thức). "
             + criteria_legend(status["criteria"]))


def class_counts(status: pd.DataFrame) -> ReportTable:
    """How many communes in each class (the summary above the list)."""
    counts = status["computed_class"].value_counts()
    rows = pd.DataFrame([{"label": CLASS_VI[k], "n": int(counts.get(k, 0))} for k in CLASS_VI
                         if k in counts.index])
    total = len(status)
    rows["share"] = [100.0 * n / total if total else None for n in rows["n"]]
    return ReportTable("Số xã, phường theo phân loại", [
        ("label", "Phân loại", "text"), ("n", "Số xã, phường", "int"),
        ("share", "Tỷ lệ (%)", "pct")], _with_total(rows, "label"), total="label")


def precheck(label_classified: pd.DataFrame, status: pd.DataFrame) -> ReportTable:
    """Communes whose assessment meets the "sạch về ma túy" criteria but hold no label yet:
    the list to check ahead of the recognition round."""
    meets = label_classified[label_classified["computed_class"] == "du_tieu_chi"]
    have = status.set_index("commune_code")
    rows = []
    for r in meets.itertuples():
        if r.commune_code not in have.index:
            continue
        st = have.loc[r.commune_code]
        if st["drug_free_label"] in ("khong_ma_tuy", "sach_ve_ma_tuy"):
            continue
        rows.append({"name": st["commune_name"], "class": CLASS_VI.get(st["computed_class"], "–"),
                     "shaky": ", ".join(u.split(".")[-1] for u in (r.unverified_fired or []))})
    out = pd.DataFrame(rows, columns=["name", "class", "shaky"]).sort_values("name")
    out.insert(0, "stt", range(1, len(out) + 1))
    return ReportTable("Danh sách xã, phường đủ tiêu chí sạch về ma túy, chưa được công nhận "
                       "(rà soát trước đợt công nhận)", [
        ("stt", "STT", "int"), ("name", "Xã, phường", "text"),
        ("class", "Phân loại năm", "text"), ("shaky", "Tiêu chí dựa vào ngưỡng chưa kiểm chứng",
                                            "text")], out.reset_index(drop=True))


def commune_annex(cases: pd.DataFrame, communes: pd.DataFrame, status: pd.DataFrame,
                  treatment_rows: pd.DataFrame, p: Period) -> ReportTable:
    """One row per commune: class, cases and offenders (and last year's), addicts, treatment."""
    codes = communes["code"].astype(str).tolist()
    now, before = in_period(cases, p.start, p.end), in_period(cases, p.prev_start, p.prev_end)
    a = _counts(now, now["commune_code"].astype(str) if len(now) else None, codes)
    b = _counts(before, before["commune_code"].astype(str) if len(before) else None, codes)
    cls = status.set_index("commune_code")["computed_class"] if len(status) else pd.Series()
    t = treatment_rows.set_index(treatment_rows["commune_code"].astype(str)) \
        if len(treatment_rows) else pd.DataFrame()
    rows = pd.DataFrame({
        "code": codes, "name": communes["name"].to_numpy(),
        "class": [CLASS_SHORT.get(cls.get(c), "") if len(cls) else "" for c in codes],
        "cases": a["cases"].to_numpy(), "offenders": a["offenders"].to_numpy(),
        "prev_cases": b["cases"].to_numpy(),
        "addicts": [int(t.loc[c, "addicts_with_records"]) if c in t.index else 0 for c in codes],
        "in_treatment": [int(t.loc[c, "in_treatment"]) if c in t.index else 0 for c in codes]})
    rows = rows.sort_values("name", key=lambda s: s.str.normalize("NFC")).reset_index(drop=True)
    rows.insert(0, "stt", range(1, len(rows) + 1))
    rows = _with_total(rows, "name")
    rows.loc[rows.index[-1], "stt"] = None
    return ReportTable("Số liệu theo từng xã, phường", [
        ("stt", "STT", "int"), ("name", "Xã, phường", "text"), ("class", "Loại", "text"),
        ("cases", "Số vụ", "int"), ("offenders", "Số đối tượng", "int"),
        ("prev_cases", "Số vụ cùng kỳ", "int"), ("addicts", "Người nghiện có hồ sơ", "int"),
        ("in_treatment", "Đang cai nghiện", "int")], rows,
        note="Loại: phân loại địa bàn trọng điểm phức tạp của năm (trống: không trọng điểm). "
             "Số người nghiện, đang cai nghiện: số liệu cả năm.", total="name", annex=True)


def old_district_of(lineage: pd.DataFrame) -> pd.Series:
    """New commune code → the former district (huyện) its pre-2025 communes lay in, or
    ``nhiều huyện cũ`` when they lay in several."""
    g = lineage.groupby(lineage["new_code"].astype(str))["old_district"]
    return g.agg(lambda s: s.iloc[0] if s.nunique() == 1 else "nhiều huyện cũ")


def pre2025_basis(annex: ReportTable, lineage: pd.DataFrame) -> ReportTable:
    """The annex summed by former district: figures on the pre-2025 (412-commune) basis."""
    body = annex.rows.iloc[:-1].copy()
    district = old_district_of(lineage)
    body["district"] = body["code"].map(district).fillna("không rõ")
    olds = lineage.groupby("old_district")["old_code"].nunique()
    g = body.groupby("district")[["cases", "offenders", "prev_cases", "addicts"]].sum()
    g.insert(0, "old_communes", [int(olds.get(d, 0)) for d in g.index])
    g.insert(1, "new_communes", body.groupby("district").size())
    rows = _with_total(g.reset_index().rename(columns={"district": "label"}), "label")
    rows = _changes(rows, [("cases", "prev_cases", "change")])
    return ReportTable("Số liệu theo địa giới cấp huyện trước ngày 01/7/2025 (412 xã, phường, "
                       "thị trấn cũ)", [
        ("label", "Huyện, thị xã, thành phố cũ", "text"),
        ("old_communes", "Số xã cũ", "int"), ("new_communes", "Số xã mới", "int"),
        ("cases", "Số vụ", "int"), ("offenders", "Số đối tượng", "int"),
        ("prev_cases", "Số vụ cùng kỳ", "int"), ("change", "Tăng/giảm số vụ (%)", "change"),
        ("addicts", "Người nghiện có hồ sơ", "int")], rows,
        note="Mỗi xã mới được tính vào huyện cũ của các xã trước sắp xếp theo bảng chuyển đổi "
             "412 → 130; xã mới gồm xã cũ của nhiều huyện ghi “nhiều huyện cũ”.", total="label",
        annex=True)


__all__ = ["PERIOD_KINDS", "Period", "ReportTable", "cases_by_force", "cases_by_kind",
           "class_counts", "classification_list", "criteria_legend", "commune_annex",
           "fired_text", "force_of",
           "in_period", "old_district_of", "pct_change", "period", "pre2025_basis", "precheck",
           "seizures", "treatment_counts", "treatment_table"]
