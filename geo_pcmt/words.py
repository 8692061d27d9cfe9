"""The one word table: what officers read, in Vietnamese and English.

Field labels, coded values (statuses, kinds, case kinds), verdicts, classification marks
and the map's interface words, keyed ``"<group>.<code>"`` (``"pstatus.cleared"``). The map,
the upload checks, the templates and the report read their words here, so a word is
changed once. Kept free of heavy imports (no folium, no map package) so that a word lookup
in an upload check or the CLI costs nothing. Values from data never come from here.

Examples
--------
>>> WORDS["vi"]["pstatus.cleared"], WORDS["en"]["pstatus.cleared"]
('Đã triệt xóa', 'Eliminated')
"""
from __future__ import annotations

#: Classification marks, ``level → (Vietnamese, English)``, printed on every product.
MARKINGS: dict[str, tuple[str, str]] = {"public": ("Công khai", "Public"),
                                        "restricted": ("MẬT", "RESTRICTED"),
                                        "secret": ("TỐI MẬT", "SECRET")}

#: Commune classes: ``code → (Vietnamese name, English name, Vietnamese in a sentence)``.
#: The names of Decision 28/2025/QĐ-TTg (loại I–III, không ma túy) and the province's label.
CLASS_WORDS: dict[str, tuple[str, str, str]] = {
    "loai_I": ("Trọng điểm phức tạp loại I", "Key complex area, class I", "loại I"),
    "loai_II": ("Trọng điểm phức tạp loại II", "Key complex area, class II", "loại II"),
    "loai_III": ("Trọng điểm phức tạp loại III", "Key complex area, class III", "loại III"),
    "co_te_nan_ma_tuy": ("Có tệ nạn ma túy, không phải trọng điểm",
                         "Drug activity, not a key area", "có tệ nạn ma túy (không trọng điểm)"),
    "khong_trong_diem": ("Không ghi nhận tệ nạn ma túy", "No drug activity recorded",
                         "không ghi nhận tệ nạn"),
    "khong_ma_tuy": ("Được công nhận không ma túy", "Recognised drug-free", "không ma túy"),
    "sach_ve_ma_tuy": ("Sạch về ma túy (nhãn của tỉnh)", "'Sạch về ma túy' (provincial label)",
                       "sạch về ma túy"),
    "chua_danh_gia": ("Chưa đánh giá", "Not assessed", "chưa đánh giá"),
}
#: A commune's change of class between two periods: ``code → (Vietnamese, English)``.
TRANSITION_WORDS: dict[str, tuple[str, str]] = {
    "improved": ("Tiến bộ", "Improved"), "worsened": ("Xấu đi", "Worsened"),
    "unchanged": ("Giữ nguyên", "Unchanged"), "first": ("Kỳ đầu", "First period")}
#: How a complex place was found: ``method → (Vietnamese, English)``.
METHOD_WORDS: dict[str, tuple[str, str]] = {
    "dbscan": ("cụm DBSCAN", "DBSCAN cluster"),
    "hdbscan": ("cụm HDBSCAN", "HDBSCAN cluster"),
    "gistar_hex": ("ô nóng Gi*", "Gi* hot cells"),
    "commune_rate": ("tỷ lệ theo xã (Bayes thực nghiệm)", "commune rate (empirical Bayes)"),
    "commune_gistar": ("Gi* theo xã", "commune Gi*")}
#: A complex place's state in its lifecycle: ``state → (Vietnamese, English)``.
PLACE_STATUS_WORDS: dict[str, tuple[str, str]] = {
    "new": ("mới phát hiện", "new"),
    "under_transformation": ("đang chuyển hóa", "under transformation"),
    "transformed": ("đã chuyển hóa", "transformed"),
    "cleared": ("đã xóa bỏ", "cleared"), "relapsed": ("tái phát", "relapsed")}
#: The grade of progress against a target: ``verdict → (Vietnamese, English)``.
VERDICT_WORDS: dict[str, tuple[str, str]] = {
    "achieved": ("đạt chỉ tiêu", "target met"), "on_track": ("đúng tiến độ", "on track"),
    "behind": ("chậm tiến độ", "behind"), "no_target": ("chưa có chỉ tiêu", "no target")}

#: Words by language, then key; both languages have the same keys (tested).
WORDS: dict[str, dict[str, str]] = {
    "vi": {
        "title": "Bản đồ điểm nóng ma túy – tỉnh Nghệ An",
        "status.loai_I": "Trọng điểm phức tạp loại I", "status.loai_II": "Loại II",
        "status.loai_III": "Loại III", "status.khong_ma_tuy": "Không ma túy",
        "status.sach_ve_ma_tuy": "Sạch về ma túy (nhãn tỉnh)",
        "status.chua_danh_gia": "Chưa đánh giá",
        "status.co_te_nan_ma_tuy": "Có tệ nạn ma túy (không trọng điểm)",
        "status.khong_trong_diem": "Không ghi nhận tệ nạn",
        "type.diem_ban_le": "Điểm bán lẻ", "type.dia_diem_to_chuc_chua_chap":
            "Địa điểm tổ chức, chứa chấp", "type.tu_diem_phuc_tap": "Tụ điểm phức tạp",
        "pstatus.active": "Đang hoạt động", "pstatus.watch": "Theo dõi",
        "pstatus.cleared": "Đã triệt xóa", "pstatus.re-emerged": "Hoạt động trở lại",
        "ckind.trafficking": "Mua bán trái phép chất ma túy",
        "ckind.transport": "Vận chuyển trái phép chất ma túy",
        "ckind.possession": "Tàng trữ trái phép chất ma túy",
        "ckind.retail": "Bán lẻ trái phép chất ma túy",
        "ckind.use_organising": "Tổ chức sử dụng trái phép chất ma túy",
        "ckind.other": "Tội phạm khác về ma túy",
        "kind.international": "Cửa khẩu quốc tế", "kind.main": "Cửa khẩu chính",
        "kind.secondary": "Cửa khẩu phụ", "kind.opening": "Lối mở", "kind.trail": "Đường mòn",
        "fac.methadone_treatment": "Điều trị Methadone", "fac.methadone_dispensing":
            "Cấp phát Methadone", "fac.rehab": "Cơ sở cai nghiện",
        "f.name": "Tên", "f.address": "Địa chỉ", "f.commune": "Xã", "f.type": "Loại",
        "f.status": "Tình trạng", "f.first_seen": "Phát hiện lần đầu",
        "f.last_activity": "Hoạt động gần nhất", "f.cleared_on": "Ngày triệt xóa",
        "f.case_ref": "Số vụ án", "f.id": "Mã", "f.area_m2": "Diện tích (m²)",
        "f.plant_count": "Số cây", "f.detected_on": "Ngày phát hiện",
        "f.detected_by": "Đơn vị phát hiện", "f.eradicated_on": "Ngày triệt phá",
        "f.method": "Phương pháp", "f.village": "Bản", "f.kind": "Loại",
        "f.lao_counterpart": "Phía Lào", "f.border_post": "Đồn biên phòng",
        "f.planned": "Quy hoạch", "f.position_quality": "Độ chính xác vị trí",
        "f.unit": "Đơn vị", "f.aor": "Địa bàn phụ trách", "f.capacity": "Công suất",
        "f.n_points": "Số điểm", "f.n_active": "Đang hoạt động", "f.n_cleared": "Đã triệt xóa",
        "f.dates": "Thời gian", "f.communes": "Xã liên quan",
        "f.nearest_crossing": "Cửa khẩu/lối mở gần nhất", "f.dist_border": "Cách biên giới",
        "f.score": "Điểm đánh giá", "f.level": "Mức", "f.reasons": "Lý do",
        "f.z": "Gi* z", "f.p": "p", "f.p_fdr": "p (FDR)", "f.class": "Phân loại",
        "f.value": "Giá trị", "f.category": "Xu hướng", "f.mk": "Mann–Kendall",
        "f.periods_hot": "Số kỳ nóng", "f.year": "Năm", "f.rule_set": "Bộ tiêu chí",
        "f.criteria": "Tiêu chí", "f.recognition": "Quyết định công nhận",
        "f.label": "Danh hiệu", "f.count_points": "Điểm, tụ điểm ma túy",
        "f.count_cases": "Vụ án", "f.count_plots": "Nương thuốc phiện",
        "f.suppressed": "dưới 5 (ẩn số)", "f.segment": "Đoạn biên giới",
        "f.border_communes": "Xã biên giới", "f.drug_free": "Không ma túy",
        "f.target": "Chỉ tiêu", "f.points_eliminated": "Điểm bị triệt xóa",
        "f.plots_eradicated": "Nương bị phá", "f.improved": "Chuyển biến tốt",
        "f.worsened": "Diễn biến xấu", "f.since": "so với năm", "f.band": "Cách biên giới",
        "gi.hot": "Điểm nóng", "gi.cold": "Điểm lạnh", "gi.ns": "Không có ý nghĩa thống kê",
        "em.new": "Mới", "em.consecutive": "Liên tiếp", "em.intensifying": "Gia tăng",
        "em.persistent": "Kéo dài", "em.diminishing": "Suy giảm", "em.sporadic": "Rải rác",
        "em.oscillating": "Dao động", "em.historical": "Trong quá khứ",
        "ui.all_time": "Toàn bộ thời gian", "ui.month": "Tháng", "ui.play": "Chạy",
        "ui.pause": "Dừng", "ui.print": "In bản đồ", "ui.legend": "Chú giải",
        "ui.lang": "English", "ui.headline": "Tình hình chuyển hóa địa bàn",
        "ui.communes_drug_free": "xã, phường không ma túy",
        "ui.communes_sach": "xã, phường sạch về ma túy", "ui.target": "chỉ tiêu",
        "ui.in_year": "năm", "ui.of": "/", "ui.points_active": "điểm đang hoạt động",
        "ui.points_eliminated": "điểm bị triệt xóa trong năm",
        "ui.plots_eradicated": "nương thuốc phiện bị phá trong năm",
        "ui.classes": "Phân loại", "ui.by_segment": "Dọc biên giới Việt – Lào",
        "ui.by_post": "Theo đồn biên phòng", "ui.no_status":
            "Chưa có kết quả phân loại xã; đang hiển thị quyết định công nhận.",
        "ui.generated": "Lập ngày", "ui.north": "B", "ui.synthetic":
            "DỮ LIỆU MẪU TỔNG HỢP – không phải thông tin nghiệp vụ",
        "ui.class.public": MARKINGS["public"][0], "ui.class.restricted": MARKINGS["restricted"][0],
        "ui.class.secret": MARKINGS["secret"][0], "ui.hide": "Thu gọn", "ui.show": "Mở",
        "ui.counts_all_time": "Số lượng theo xã tính trên toàn bộ thời gian và mọi loại; bộ "
                              "lọc thời gian, loại điểm không áp dụng. Số dưới 5 được ẩn.",
        "ui.cases_heat": "Mật độ vụ án (3 tháng)", "ui.km": "km",
        "ui.compare_target": "so với chỉ tiêu",
        "level.high": "mức cao", "level.medium": "mức trung bình", "level.low": "mức thấp",
        "area.commune": "Cả xã, phường", "area.hex": "Ô lưới", "area.cluster": "Cụm điểm",
        "area.place": "Địa điểm", "pq.approximate": "gần đúng", "pq.commune": "theo trung tâm xã",
        "pq.exact": "chính xác", "pq.surveyed": "đo đạc",
        "ui.sach_label": "Có danh hiệu “sạch về ma túy” (viền xanh)",
        "ui.counts_legend": "Số điểm, tụ điểm theo xã (diện tích vòng tròn tỷ lệ với số)",
        "ui.plots_legend": "Nương thuốc phiện (vòng tròn theo diện tích)",
        "ui.eradicated": "đã triệt phá", "ui.cluster_legend": "Nhóm điểm (số điểm trong nhóm)",
        "ui.flag_high": "Cảnh báo địa bàn phức tạp mức cao",
        "ui.flag_outline": "Địa bàn phức tạp: mức cao / trung bình / thấp",
        "ui.col_eliminated": "số điểm bán lẻ bị triệt xóa trong năm",
        "ui.col_eradicated": "số nương thuốc phiện bị phá trong năm",
        "ui.scale": "Tỷ lệ", "ui.data_as_of": "Số liệu đến ngày", "ui.unit": "Đơn vị",
        "ui.view.province": "Toàn tỉnh Nghệ An", "ui.view.border": "Dải biên giới Việt – Lào",
        "ui.view.commune": "Xã, phường", "ui.view.post": "Địa bàn", "ui.classes_year":
            "Phân loại năm", "ui.post_label": "Đồn biên phòng", "ui.gate_label": "Cửa khẩu",
        "ui.lao_label": "Tỉnh của Lào", "ui.commune_label": "Tên xã, phường",
        "ui.distance_legend": "Cách biên giới",
    },
    "en": {
        "title": "Drug hotspot map – Nghệ An province",
        "status.loai_I": "Key complex area class I", "status.loai_II": "Class II",
        "status.loai_III": "Class III", "status.khong_ma_tuy": "Drug-free (national)",
        "status.sach_ve_ma_tuy": "'Sạch về ma túy' (provincial label)",
        "status.chua_danh_gia": "Not assessed",
        "status.co_te_nan_ma_tuy": "Drug activity (not a key area)",
        "status.khong_trong_diem": "No drug activity recorded",
        "type.diem_ban_le": "Retail point", "type.dia_diem_to_chuc_chua_chap":
            "Place organising/harbouring use", "type.tu_diem_phuc_tap":
            "Complex gathering place",
        "pstatus.active": "Active", "pstatus.watch": "Watch", "pstatus.cleared": "Eliminated",
        "pstatus.re-emerged": "Re-emerged",
        "ckind.trafficking": "Trafficking", "ckind.transport": "Transport",
        "ckind.possession": "Possession", "ckind.retail": "Retail selling",
        "ckind.use_organising": "Organising drug use", "ckind.other": "Other drug offence",
        "kind.international": "International gate", "kind.main": "Main gate",
        "kind.secondary": "Secondary gate", "kind.opening": "Opening", "kind.trail": "Trail",
        "fac.methadone_treatment": "Methadone treatment", "fac.methadone_dispensing":
            "Methadone dispensing", "fac.rehab": "Rehabilitation centre",
        "f.name": "Name", "f.address": "Address", "f.commune": "Commune", "f.type": "Type",
        "f.status": "Status", "f.first_seen": "First seen", "f.last_activity": "Last activity",
        "f.cleared_on": "Eliminated on", "f.case_ref": "Case ref.", "f.id": "ID",
        "f.area_m2": "Area (m²)", "f.plant_count": "Plants", "f.detected_on": "Detected on",
        "f.detected_by": "Detected by", "f.eradicated_on": "Eradicated on",
        "f.method": "Method", "f.village": "Village", "f.kind": "Kind",
        "f.lao_counterpart": "Lao side", "f.border_post": "Border post",
        "f.planned": "Planned", "f.position_quality": "Position quality", "f.unit": "Unit",
        "f.aor": "Area of responsibility", "f.capacity": "Capacity", "f.n_points": "Points",
        "f.n_active": "Active", "f.n_cleared": "Eliminated", "f.dates": "Period",
        "f.communes": "Communes", "f.nearest_crossing": "Nearest crossing",
        "f.dist_border": "Distance to border", "f.score": "Score", "f.level": "Level",
        "f.reasons": "Reasons", "f.z": "Gi* z", "f.p": "p", "f.p_fdr": "p (FDR)",
        "f.class": "Class", "f.value": "Value", "f.category": "Trend", "f.mk": "Mann–Kendall",
        "f.periods_hot": "Hot periods", "f.year": "Year", "f.rule_set": "Rule set",
        "f.criteria": "Criteria", "f.recognition": "Recognition decision",
        "f.label": "Label", "f.count_points": "Drug retail points", "f.count_cases": "Cases",
        "f.count_plots": "Opium plots", "f.suppressed": "under 5 (suppressed)",
        "f.segment": "Border segment", "f.border_communes": "Border communes",
        "f.drug_free": "Drug-free", "f.target": "Target",
        "f.points_eliminated": "Points eliminated", "f.plots_eradicated": "Plots eradicated",
        "f.improved": "Improved", "f.worsened": "Worsened", "f.since": "since",
        "f.band": "Distance to border",
        "gi.hot": "Hot spot", "gi.cold": "Cold spot", "gi.ns": "Not significant",
        "em.new": "New", "em.consecutive": "Consecutive", "em.intensifying": "Intensifying",
        "em.persistent": "Persistent", "em.diminishing": "Diminishing",
        "em.sporadic": "Sporadic", "em.oscillating": "Oscillating",
        "em.historical": "Historical",
        "ui.all_time": "All time", "ui.month": "Month", "ui.play": "Play", "ui.pause": "Pause",
        "ui.print": "Print map", "ui.legend": "Legend", "ui.lang": "Tiếng Việt",
        "ui.headline": "Transformation of communes",
        "ui.communes_drug_free": "communes drug-free",
        "ui.communes_sach": "communes 'sạch về ma túy'", "ui.target": "target",
        "ui.in_year": "in", "ui.of": "/", "ui.points_active": "points active",
        "ui.points_eliminated": "points eliminated this year",
        "ui.plots_eradicated": "opium plots eradicated this year", "ui.classes": "Classes",
        "ui.by_segment": "Along the Viet Nam–Laos border", "ui.by_post": "By border post",
        "ui.no_status": "No commune classification yet; showing recognition decisions.",
        "ui.generated": "Made on", "ui.north": "N",
        "ui.synthetic": "SYNTHETIC SAMPLE DATA – not intelligence",
        "ui.class.public": MARKINGS["public"][1], "ui.class.restricted": MARKINGS["restricted"][1],
        "ui.class.secret": MARKINGS["secret"][1], "ui.hide": "Hide", "ui.show": "Show",
        "ui.counts_all_time": "Counts per commune are over all time and every type; the date "
                              "and type filters do not apply to them. Counts under 5 are hidden.",
        "ui.cases_heat": "Case density (3 months)", "ui.km": "km",
        "ui.compare_target": "against target",
        "level.high": "high level", "level.medium": "medium level", "level.low": "low level",
        "area.commune": "Whole commune", "area.hex": "Grid cell", "area.cluster": "Point cluster",
        "area.place": "Place", "pq.approximate": "approximate", "pq.commune": "commune centre",
        "pq.exact": "exact", "pq.surveyed": "surveyed",
        "ui.sach_label": "Holds the 'sạch về ma túy' label (green outline)",
        "ui.counts_legend": "Retail points per commune (circle area proportional to count)",
        "ui.plots_legend": "Opium plots (circle by area)",
        "ui.eradicated": "eradicated", "ui.cluster_legend": "Group of points (number in it)",
        "ui.flag_high": "Complex-hotspot warning, high level",
        "ui.flag_outline": "Complex hotspots: high / medium / low",
        "ui.col_eliminated": "retail points eliminated in the year",
        "ui.col_eradicated": "opium plots eradicated in the year",
        "ui.scale": "Scale", "ui.data_as_of": "Data as of", "ui.unit": "Unit",
        "ui.view.province": "Nghệ An province", "ui.view.border": "Viet Nam–Laos border strip",
        "ui.view.commune": "Commune", "ui.view.post": "Area of", "ui.classes_year":
            "Classes of", "ui.post_label": "Border post", "ui.gate_label": "Border gate",
        "ui.lao_label": "Lao province", "ui.commune_label": "Commune name",
        "ui.distance_legend": "Distance from the border",
    },
}
WORDS["vi"].update({
    "ui.tab_status": "Tình hình", "ui.tab_places": "Địa bàn phức tạp",
    "ui.places_intro": "Theo điểm số; bấm vào một địa bàn để xem trên bản đồ.",
    "f.methods": "Phát hiện bởi", "f.place_status": "Tình trạng", "f.change": "Thay đổi",
    "f.evidence": "Hồ sơ có vị trí", "f.commune_only": "Hồ sơ chỉ xác định đến xã",
    "f.extent": "Bán kính địa bàn", "ui.score": "điểm số",
    "ui.places_legend": "Địa bàn, tụ điểm phức tạp (số thứ tự trong danh sách)",
    "ui.place_extent": "phạm vi địa bàn",
    "ui.md_legend": "Thời gian đi xe máy tới điểm cấp phát Methadone gần nhất",
    "ui.md_band0": "trong 30 phút", "ui.md_band1": "30–60 phút", "ui.md_band2": "trên 60 phút",
    "ui.md_site": "Địa điểm đề xuất thêm điểm cấp phát (thứ tự)",
    "ui.md_site_title": "Đề xuất điểm cấp phát Methadone thứ",
    "f.minutes": "Thời gian đi xe máy", "f.people": "Người nghiện có hồ sơ",
    "f.nearest_point": "Điểm cấp phát gần nhất", "f.gain_people": "Số người được phục vụ thêm",
    "f.communes_gained": "Số xã được phục vụ thêm", "ui.minutes": "phút",
    "ui.paper": "Khổ giấy", "ui.orientation": "Hướng giấy", "ui.landscape": "Ngang",
    "ui.portrait": "Dọc", "ui.view": "Phạm vi", "ui.view.current": "Khung đang xem",
    "ui.print_preview": "Xem bản in", "ui.layers": "Lớp bản đồ",
})
WORDS["en"].update({
    "ui.tab_status": "Overview", "ui.tab_places": "Complex places",
    "ui.places_intro": "By score; click a place to see it on the map.",
    "f.methods": "Found by", "f.place_status": "Status", "f.change": "Change",
    "f.evidence": "Located records", "f.commune_only": "Records located only by commune",
    "f.extent": "Extent", "ui.score": "score",
    "ui.places_legend": "Complex places (number in the list)", "ui.place_extent": "extent of the place",
    "ui.md_legend": "Motorbike time to the nearest methadone dispensing point",
    "ui.md_band0": "within 30 min", "ui.md_band1": "30–60 min", "ui.md_band2": "over 60 min",
    "ui.md_site": "Proposed site for one more dispensing point (rank)",
    "ui.md_site_title": "Proposed methadone dispensing site no.",
    "f.minutes": "Motorbike time", "f.people": "Addicts with records",
    "f.nearest_point": "Nearest dispensing point", "f.gain_people": "People newly within reach",
    "f.communes_gained": "Communes newly within reach", "ui.minutes": "min",
    "ui.paper": "Paper", "ui.orientation": "Orientation", "ui.landscape": "Landscape",
    "ui.portrait": "Portrait", "ui.view": "View", "ui.view.current": "The view on screen",
    "ui.print_preview": "Print preview", "ui.layers": "Map layers",
})
# A place's status and the methods that found it, in the words of geo-pcmt places.
for _key, (_vi, _en) in PLACE_STATUS_WORDS.items():
    WORDS["vi"][f"pstate.{_key}"] = _vi
    WORDS["en"][f"pstate.{_key}"] = _en
for _key, (_vi, _en) in METHOD_WORDS.items():
    WORDS["vi"][f"pmethod.{_key}"] = _vi
    WORDS["en"][f"pmethod.{_key}"] = _en
# The headline's grade is progress.dashboard's verdict, in the words it uses itself.
for _key, (_vi, _en) in VERDICT_WORDS.items():
    WORDS["vi"][f"verdict.{_key}"] = _vi
    WORDS["en"][f"verdict.{_key}"] = _en
for _key, (_vi, _en, _vi_short) in CLASS_WORDS.items():
    WORDS["vi"][f"class.{_key}"] = _vi
    WORDS["en"][f"class.{_key}"] = _en
for _key, (_vi, _en) in TRANSITION_WORDS.items():
    WORDS["vi"][f"transition.{_key}"] = _vi
    WORDS["en"][f"transition.{_key}"] = _en


def class_name(code: str | None, lang: str = "vi") -> str:
    """A commune class's name as a table or legend shows it; unknown codes unchanged.

    Examples
    --------
    >>> class_name("loai_II"), class_name("khong_ma_tuy", "en"), class_name(None)
    ('Trọng điểm phức tạp loại II', 'Recognised drug-free', '')
    """
    words = CLASS_WORDS.get(code or "")
    return (words[0] if lang == "vi" else words[1]) if words else (code or "")


def class_in_sentence(code: str | None) -> str:
    """A commune class as it reads inside a Vietnamese sentence (``"loại I"``).

    Examples
    --------
    >>> class_in_sentence("loai_I"), class_in_sentence("co_te_nan_ma_tuy")
    ('loại I', 'có tệ nạn ma túy (không trọng điểm)')
    """
    words = CLASS_WORDS.get(code or "")
    return words[2] if words else (code or "")
