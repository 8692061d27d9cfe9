"""Layers written by analysis runs (hotspots, status, progress, patrol), one section per
family of runs.

Each row carries the run that produced it (``run_id``, parameters in ``params``) so a result
can be reproduced from its inputs. Transformation plans and patrol plans are kept with the
runs that read or write them.
"""
from __future__ import annotations

from geo_pcmt.layers import CONFIDENTIALITY_LEVELS, Field, Layer, _register
from geo_pcmt.layers.records import COMMUNE_STATUS, RECOGNITION_LABELS, F, _common

def _derived_common() -> tuple[Field, ...]:
    return (
        F("id", "str", required=True, label_vi="Mã", label_en="ID", max_length=200),
        F("run_id", "str", required=True, label_vi="Lần chạy", label_en="Run"),
        F("params", "str", label_vi="Tham số", label_en="Parameters", max_length=20_000),
        F("created_at", "datetime", label_vi="Tạo lúc", label_en="Created at"),
        F("confidentiality", "str", allowed=CONFIDENTIALITY_LEVELS, label_vi="Mức mật",
          label_en="Confidentiality"),
    )


# [hotspots: clusters.py, gistar.py, trends.py, flags.py]
# Written by geo_pcmt.hotspots (CLI `geo-pcmt hotspots`); ``params`` holds the run's JSON
# parameters (flag rules included) and a fingerprint of its inputs.
HOTSPOT_CLASSES = ("hot_99", "hot_95", "hot_90", "not_significant", "cold_90", "cold_95",
                   "cold_99")
EMERGING_CATEGORIES = (
    "new_hot", "consecutive_hot", "intensifying_hot", "persistent_hot", "diminishing_hot",
    "sporadic_hot", "oscillating_hot", "historical_hot",
    "new_cold", "consecutive_cold", "intensifying_cold", "persistent_cold", "diminishing_cold",
    "sporadic_cold", "oscillating_cold", "historical_cold", "no_pattern")
FLAG_LEVELS = ("high", "medium", "low")

_register(Layer(
    "hotspot_clusters", "Cụm điểm nóng", "Hotspot clusters", "MultiPolygon",
    _derived_common() + (
        F("method", "str", required=True, allowed=("dbscan", "hdbscan"), label_vi="Phương pháp",
          label_en="Method"),
        F("cluster", "int", required=True, label_vi="Cụm", label_en="Cluster"),
        F("n_points", "int", minimum=0, label_vi="Số điểm", label_en="Points"),
        F("n_active", "int", minimum=0, label_vi="Đang hoạt động", label_en="Active"),
        F("n_cleared", "int", minimum=0, label_vi="Đã triệt xóa", label_en="Cleared"),
        F("n_re_emerged", "int", minimum=0, label_vi="Tái xuất hiện", label_en="Re-emerged"),
        F("weight", "float", minimum=0, label_vi="Tổng trọng số", label_en="Total weight"),
        F("counts", "str", label_vi="Số lượng theo lớp/loại", label_en="Counts by layer/type",
          max_length=20_000),
        F("first_date", "date", label_vi="Từ ngày", label_en="First date"),
        F("last_date", "date", label_vi="Đến ngày", label_en="Last date"),
        F("communes", "str", label_vi="Xã liên quan (mã)", label_en="Communes (codes)"),
        F("commune_names", "str", label_vi="Xã liên quan", label_en="Communes"),
        F("nearest_crossing", "str", label_vi="Cửa khẩu/lối mở gần nhất", label_en="Nearest crossing"),
        F("crossing_kind", "str", label_vi="Loại cửa khẩu", label_en="Crossing kind"),
        F("dist_crossing_km", "float", minimum=0, label_vi="Cách cửa khẩu (km)",
          label_en="Distance to crossing (km)"),
        F("dist_border_km", "float", minimum=0, label_vi="Cách biên giới (km)",
          label_en="Distance to border (km)"),
    ),
    kind="derived", confidentiality_default="restricted", min_role="analyst",
))

_register(Layer(
    "gistar_cells", "Điểm nóng thống kê (Gi*)", "Gi* hot and cold spots", "MultiPolygon",
    _derived_common() + (
        F("grid", "str", required=True, label_vi="Lưới", label_en="Grid",
          max_length=40),  # "hex_2000m" or "commune"
        F("cell", "str", required=True, label_vi="Ô lưới", label_en="Cell"),
        F("name", "str", label_vi="Tên", label_en="Name"),
        F("value", "float", label_vi="Giá trị", label_en="Value"),
        F("z", "float", label_vi="Gi* z", label_en="Gi* z"),
        F("p", "float", label_vi="p", label_en="p"),
        F("p_sim", "float", label_vi="p (hoán vị)", label_en="p (permutations)"),
        F("p_fdr", "float", label_vi="p (FDR)", label_en="p (FDR)"),
        F("gi_bin", "int", label_vi="Mức Gi*", label_en="Gi* bin"),
        F("hotspot_class", "str", allowed=HOTSPOT_CLASSES, label_vi="Phân loại", label_en="Class"),
        F("confidence", "int", label_vi="Độ tin cậy (%)", label_en="Confidence (%)"),
    ),
    kind="derived", confidentiality_default="restricted", min_role="analyst",
))

_register(Layer(
    "emerging_hotspots", "Xu hướng điểm nóng", "Emerging hot spots", "MultiPolygon",
    _derived_common() + (
        F("cell", "str", required=True, label_vi="Ô lưới", label_en="Cell"),
        F("category", "str", required=True, allowed=EMERGING_CATEGORIES,
          label_vi="Loại xu hướng", label_en="Category"),
        F("label_vi", "str", label_vi="Xu hướng", label_en="Category (Vietnamese)"),
        F("label_en", "str", label_vi="Xu hướng (tiếng Anh)", label_en="Category (English)"),
        F("mk_tau", "float", label_vi="Mann–Kendall tau", label_en="Mann–Kendall tau"),
        F("mk_z", "float", label_vi="Mann–Kendall z", label_en="Mann–Kendall z"),
        F("mk_p", "float", label_vi="Mann–Kendall p", label_en="Mann–Kendall p"),
        F("periods_hot", "int", label_vi="Số kỳ nóng", label_en="Hot periods"),
        F("periods_cold", "int", label_vi="Số kỳ lạnh", label_en="Cold periods"),
        F("n_periods", "int", label_vi="Số kỳ", label_en="Periods"),
        F("last_z", "float", label_vi="Gi* z kỳ cuối", label_en="Gi* z, last period"),
        F("total", "float", label_vi="Tổng số sự kiện", label_en="Events"),
    ),
    kind="derived", confidentiality_default="restricted", min_role="analyst",
))

_register(Layer(
    "complex_hotspots", "Địa bàn, tụ điểm phức tạp", "Complex hotspots (flags)", "Geometry",
    _derived_common() + (
        F("area_kind", "str", required=True, allowed=("cluster", "commune", "hex"),
          label_vi="Loại địa bàn", label_en="Area kind"),
        F("area_ref", "str", label_vi="Tham chiếu", label_en="Reference"),
        F("name", "str", label_vi="Tên", label_en="Name"),
        F("score", "float", required=True, label_vi="Điểm số", label_en="Score"),
        F("level", "str", required=True, allowed=FLAG_LEVELS, label_vi="Mức", label_en="Level"),
        F("reasons_vi", "str", label_vi="Lý do", label_en="Reasons (Vietnamese)", max_length=20_000),
        F("reasons_en", "str", label_vi="Lý do (tiếng Anh)", label_en="Reasons", max_length=20_000),
        F("signals", "str", label_vi="Tín hiệu (JSON)", label_en="Signals (JSON)",
          max_length=20_000),
        F("n_signals", "int", minimum=0, label_vi="Số tín hiệu", label_en="Signals fired"),
        F("commune_code", "str", label_vi="Mã xã", label_en="Commune code"),
    ),
    kind="derived", confidentiality_default="restricted", min_role="analyst",
))

# Complex places (geo_pcmt.analysis.places, run geo_pcmt.runs.places, CLI `geo-pcmt places`):
# one row per place on the ground, merged across methods; identity kept between runs
# (`place_id`), lifecycle kept as history in the record layer `place_events`.
PLACE_STATUSES = ("new", "under_transformation", "transformed", "cleared", "relapsed")
PLACE_CHANGES = ("new", "same", "up", "down", "relapsed")

_register(Layer(
    "complex_places", "Địa bàn, tụ điểm phức tạp (danh sách)", "Complex places", "Point",
    _derived_common() + (
        F("place_id", "str", required=True, label_vi="Mã địa bàn", label_en="Place ID"),
        F("rank", "int", minimum=1, label_vi="Thứ tự", label_en="Rank"),
        F("name", "str", required=True, label_vi="Địa bàn", label_en="Place"),
        F("score", "float", required=True, minimum=0, label_vi="Điểm số", label_en="Score"),
        F("level", "str", required=True, allowed=FLAG_LEVELS, label_vi="Mức", label_en="Level"),
        F("methods", "str", label_vi="Phương pháp phát hiện", label_en="Found by"),
        F("communes", "str", label_vi="Xã liên quan (mã)", label_en="Communes (codes)"),
        F("commune_names", "str", label_vi="Xã liên quan", label_en="Communes"),
        F("commune_code", "str", label_vi="Mã xã", label_en="Commune code"),
        F("village", "str", label_vi="Thôn, bản gần nhất", label_en="Nearest village"),
        F("n_evidence", "int", minimum=0, label_vi="Số hồ sơ có vị trí",
          label_en="Located records"),
        F("n_commune_only", "int", minimum=0, label_vi="Số hồ sơ chỉ xác định đến xã",
          label_en="Records located only by commune"),
        F("extent_m", "float", minimum=0, label_vi="Bán kính địa bàn (m)", label_en="Extent (m)"),
        F("reasons_vi", "str", label_vi="Lý do", label_en="Reasons (Vietnamese)", max_length=20_000),
        F("reasons_en", "str", label_vi="Lý do (tiếng Anh)", label_en="Reasons", max_length=20_000),
        F("signals", "str", label_vi="Tín hiệu (JSON)", label_en="Signals (JSON)",
          max_length=20_000),
        F("n_signals", "int", minimum=0, label_vi="Số tín hiệu", label_en="Signals fired"),
        F("status", "str", allowed=PLACE_STATUSES, label_vi="Tình trạng", label_en="Status"),
        F("change", "str", allowed=PLACE_CHANGES, label_vi="Thay đổi", label_en="Change"),
        F("change_vi", "str", label_vi="Thay đổi so với lần trước", label_en="Change (Vietnamese)"),
        F("change_en", "str", label_vi="Thay đổi (tiếng Anh)", label_en="Change since last run"),
        F("previous_score", "float", label_vi="Điểm số lần trước", label_en="Previous score"),
    ),
    kind="derived", confidentiality_default="restricted", min_role="analyst",
    description="One row per complex place, merged across clusters, Gi* hex cells and commune "
                "statistics; the point is the centroid of the place's located evidence.",
))

_register(Layer(
    "place_events", "Diễn biến địa bàn phức tạp", "Complex place lifecycle events", None,
    _common() + (
        F("place_id", "str", required=True, label_vi="Mã địa bàn", label_en="Place ID"),
        F("status", "str", required=True, allowed=PLACE_STATUSES, label_vi="Tình trạng",
          label_en="Status"),
        F("date", "date", required=True, label_vi="Ngày", label_en="Date"),
        F("unit", "str", label_vi="Đơn vị chịu trách nhiệm", label_en="Responsible unit"),
        F("deadline", "date", label_vi="Hạn hoàn thành", label_en="Deadline"),
        F("measures", "str", label_vi="Biện pháp", label_en="Measures", max_length=5000),
        F("decided_by", "str", label_vi="Người/cơ quan xác nhận", label_en="By whom"),
        F("run_id", "str", label_vi="Lần chạy", label_en="Run"),
        F("note", "str", label_vi="Ghi chú", label_en="Note", max_length=5000),
    ),
    min_role="analyst", time_field="date",
    description="History of each complex place: new → under transformation (unit, deadline, "
                "measures) → transformed or cleared (date, by whom) → relapsed.",
))
# [/hotspots]

# [status: status.py, progress.py]
# Computed class (from assessments and a rule set) and drug-free status (only from a
# recognition record) are kept apart: `computed_class` never says khong_ma_tuy; `status` is
# the map's one-word summary (khong_ma_tuy when a national recognition is in force, else the
# computed class). "co_te_nan_ma_tuy" = drug activity recorded, not a key area;
# "khong_trong_diem" = assessed, nothing fired. `computed_class` is decided by verified bands
# only; `provisional_class` is what the placeholder (unverified) bands would add.
COMMUNE_STATUS_VALUES = COMMUNE_STATUS + ("co_te_nan_ma_tuy", "khong_trong_diem")
#: The values of ``computed_class``, most serious first: what every count by class uses.
COMPUTED_CLASSES = ("loai_I", "loai_II", "loai_III", "co_te_nan_ma_tuy", "khong_trong_diem",
                    "chua_danh_gia")
PLAN_TARGETS = ("loai_II", "loai_III", "khong_trong_diem", "khong_ma_tuy", "sach_ve_ma_tuy")

_register(Layer(
    "commune_status", "Phân loại địa bàn xã", "Commune status by period", None,
    _derived_common() + (
        F("commune_code", "str", required=True, label_vi="Mã xã", label_en="Commune code"),
        F("commune_name", "str", label_vi="Tên xã", label_en="Commune"),
        F("period", "str", required=True, label_vi="Kỳ", label_en="Period"),
        F("status", "str", required=True, allowed=COMMUNE_STATUS_VALUES, label_vi="Tình trạng",
          label_en="Status"),
        F("computed_class", "str", allowed=COMMUNE_STATUS_VALUES, label_vi="Phân loại tính toán",
          label_en="Computed class"),
        F("provisional_class", "str", allowed=COMMUNE_STATUS_VALUES,
          label_vi="Phân loại nếu áp ngưỡng tạm", label_en="Class with placeholder bands"),
        F("unverified_basis", "str", label_vi="Dựa trên ngưỡng chưa kiểm chứng",
          label_en="Rests on unverified bands", max_length=2000),
        F("rule_set", "str", label_vi="Bộ tiêu chí", label_en="Rule set"),
        F("rule_set_version", "str", label_vi="Phiên bản bộ tiêu chí", label_en="Rule-set version"),
        F("reason", "str", label_vi="Căn cứ", label_en="Reason", max_length=2000),
        F("criteria", "str", label_vi="Tiêu chí", label_en="Criteria", max_length=50_000,
          operational=True),
        F("drug_free_label", "str", allowed=RECOGNITION_LABELS, label_vi="Danh hiệu",
          label_en="Drug-free label"),
        F("recognition", "str", label_vi="Quyết định công nhận", label_en="Recognition",
          max_length=5000),
        F("sach_ve_ma_tuy", "bool", label_vi="Xã sạch về ma túy (Nghệ An)",
          label_en="Nghệ An 'sạch về ma túy' label"),
        F("lineage_note", "str", label_vi="Ghi chú chuyển đổi xã cũ", label_en="Lineage note",
          max_length=5000),
        F("warnings", "str", label_vi="Cảnh báo", label_en="Warnings", max_length=5000),
    ),
    kind="derived", confidentiality_default="public", time_field="period",
))

_register(Layer(
    "transformation_plans", "Kế hoạch chuyển hóa địa bàn", "Transformation plans", None,
    _common() + (
        F("commune_code", "str", required=True, max_length=10, label_vi="Mã xã",
          label_en="Commune code"),
        F("target_status", "str", required=True, allowed=PLAN_TARGETS, label_vi="Mục tiêu",
          label_en="Target status"),
        F("target_date", "date", required=True, label_vi="Hạn hoàn thành", label_en="Target date"),
        F("baseline_period", "str", label_vi="Kỳ gốc", label_en="Baseline period"),
        F("decided_by", "str", label_vi="Cơ quan quyết định", label_en="Decided by"),
        F("decision_no", "str", label_vi="Số kế hoạch/quyết định", label_en="Decision no."),
        F("note", "str", label_vi="Ghi chú", label_en="Note"),
    ),
    time_field="target_date",
    description="Chuyển hóa địa bàn: a commune's target class (or drug-free label) and date.",
))

_register(Layer(
    "border_progress", "Tiến độ tuyến biên giới", "Border corridor progress", "Geometry",
    _derived_common() + (
        F("scope", "str", required=True, allowed=("segment", "post", "band", "strip"),
          label_vi="Phạm vi", label_en="Scope"),
        F("key", "str", required=True, label_vi="Mã", label_en="Key"),
        F("name", "str", label_vi="Tên", label_en="Name"),
        F("year", "int", label_vi="Năm", label_en="Year"),
        F("from_km", "float", label_vi="Từ km", label_en="From km"),
        F("to_km", "float", label_vi="Đến km", label_en="To km"),
        F("n_communes", "int", minimum=0, label_vi="Số xã", label_en="Communes"),
        F("n_loai_I", "int", minimum=0, label_vi="Loại I", label_en="Class I"),
        F("n_loai_II", "int", minimum=0, label_vi="Loại II", label_en="Class II"),
        F("n_loai_III", "int", minimum=0, label_vi="Loại III", label_en="Class III"),
        F("n_co_te_nan_ma_tuy", "int", minimum=0, label_vi="Có tệ nạn, không trọng điểm",
          label_en="Drug activity, not a key area"),
        F("n_khong_trong_diem", "int", minimum=0, label_vi="Không ghi nhận tệ nạn",
          label_en="Nothing recorded"),
        F("n_chua_danh_gia", "int", minimum=0, label_vi="Chưa đánh giá", label_en="Not assessed"),
        F("n_drug_free", "int", minimum=0, label_vi="Xã không ma túy", label_en="Drug-free"),
        F("n_sach_ve_ma_tuy", "int", minimum=0, label_vi="Xã sạch về ma túy",
          label_en="Sạch về ma túy"),
        F("share_drug_free_pct", "float", label_vi="Tỷ lệ không ma túy (%)",
          label_en="Drug-free (%)"),
        F("target_pct", "float", label_vi="Chỉ tiêu (%)", label_en="Target (%)"),
        F("on_track", "bool", label_vi="Đạt tiến độ", label_en="On track"),
        F("points_active", "int", minimum=0, label_vi="Điểm đang hoạt động",
          label_en="Active points"),
        F("points_cleared", "int", minimum=0, label_vi="Điểm đã triệt xóa",
          label_en="Points cleared"),
        F("points_reemerged", "int", minimum=0, label_vi="Điểm tái phát",
          label_en="Points re-emerged"),
        F("plots_found", "int", minimum=0, label_vi="Nương thuốc phiện phát hiện",
          label_en="Plots found"),
        F("plots_eradicated", "int", minimum=0, label_vi="Nương đã triệt phá",
          label_en="Plots eradicated"),
        F("plot_area_m2", "float", minimum=0, label_vi="Diện tích phát hiện (m²)",
          label_en="Plot area found (m²)"),
        F("plot_area_eradicated_m2", "float", minimum=0, label_vi="Diện tích triệt phá (m²)",
          label_en="Plot area eradicated (m²)"),
        F("crossings", "int", minimum=0, label_vi="Cửa khẩu, lối mở, đường mòn",
          label_en="Crossings"),
        F("crossings_active", "int", minimum=0, label_vi="Cửa khẩu có vụ việc",
          label_en="Crossings with activity"),
        F("cases", "int", minimum=0, label_vi="Vụ án", label_en="Cases"),
    ),
    kind="derived", confidentiality_default="restricted",
    description="Border corridor summaries by Lao province segment, border post, distance band "
                "and chainage bin (written by `geo-pcmt progress --border`).",
))
_register(Layer(
    "methadone_access", "Tiếp cận điều trị Methadone", "Methadone access", "Point",
    _derived_common() + (
        F("kind", "str", required=True, allowed=("commune", "candidate_site"),
          label_vi="Loại", label_en="Kind"),
        F("year", "int", label_vi="Năm", label_en="Year"),
        F("commune_code", "str", required=True, label_vi="Mã xã", label_en="Commune code"),
        F("commune_name", "str", label_vi="Xã, phường", label_en="Commune"),
        F("nearest_point", "str", label_vi="Điểm cấp phát gần nhất",
          label_en="Nearest dispensing point"),
        F("minutes", "float", minimum=0, label_vi="Thời gian đi xe máy (phút)",
          label_en="Motorbike time (min)"),
        F("people", "int", minimum=0, label_vi="Người nghiện có hồ sơ",
          label_en="Addicts with records"),
        F("beyond_30", "bool", label_vi="Xa hơn 30 phút", label_en="Beyond 30 min"),
        F("beyond_60", "bool", label_vi="Xa hơn 60 phút", label_en="Beyond 60 min"),
        F("rank", "int", minimum=1, label_vi="Thứ tự đề xuất", label_en="Candidate rank"),
        F("gain_people", "int", minimum=0, label_vi="Số người được phục vụ thêm",
          label_en="People newly within reach"),
        F("communes_gained", "int", minimum=0, label_vi="Số xã được phục vụ thêm",
          label_en="Communes newly within reach"),
    ),
    kind="derived", confidentiality_default="restricted", min_role="analyst",
    time_field="year",
    description="Written by `geo-pcmt methadone`: motorbike time from each commune to the "
                "nearest methadone dispensing point, and the best candidate sites for one more.",
))
# [/status]

# [patrol: patrol.py]
PATROL_MODES = ("foot", "motorbike", "vehicle")

_register(Layer(
    "patrol_plans", "Kế hoạch tuần tra", "Patrol plans", None,
    _common() + (
        F("post", "str", required=True, label_vi="Đồn/trạm xuất phát", label_en="Start post"),
        F("post_id", "str", label_vi="Mã đồn", label_en="Post ID"),
        F("unit", "str", label_vi="Đơn vị", label_en="Unit"),
        F("plan_date", "date", required=True, label_vi="Ngày tuần tra", label_en="Patrol date"),
        F("start_time", "str", label_vi="Giờ xuất phát", label_en="Start time", max_length=5),
        F("teams", "int", required=True, minimum=1, label_vi="Số tổ", label_en="Teams"),
        F("mode", "str", required=True, allowed=PATROL_MODES, label_vi="Phương tiện",
          label_en="Mode"),
        F("hours", "float", required=True, minimum=0, label_vi="Thời gian (giờ)",
          label_en="Time budget (h)"),
        F("seed", "int", label_vi="Hạt giống ngẫu nhiên", label_en="Random seed"),
        F("randomised", "bool", label_vi="Chọn ngẫu nhiên theo rủi ro",
          label_en="Risk-randomised"),
        F("method", "str", label_vi="Thuật toán", label_en="Solver"),
        F("created_by", "str", required=True, label_vi="Người lập", label_en="Created by"),
        F("params", "str", label_vi="Tham số", label_en="Parameters", max_length=20_000),
        F("summary", "str", label_vi="Tóm tắt", label_en="Summary (JSON)", max_length=200_000),
        F("risk_covered", "float", minimum=0, label_vi="Rủi ro được bao phủ",
          label_en="Risk covered"),
        F("risk_total", "float", minimum=0, label_vi="Tổng rủi ro mục tiêu", label_en="Risk total"),
        F("n_stops", "int", minimum=0, label_vi="Số điểm dừng", label_en="Stops"),
        F("routes", "str", label_vi="Tuyến (GeoJSON)", label_en="Routes (GeoJSON)",
          max_length=5_000_000),
    ),
    confidentiality_default="restricted", min_role="commander", time_field="plan_date",
    description="Patrol plans made by commanders (geo_pcmt.patrol): who made them, with what "
                "parameters, seed and result; route lines as RFC 7946 GeoJSON in `routes`.",
))

_register(Layer(
    "patrol_stops", "Điểm dừng tuần tra", "Patrol stops", "Point",
    _common() + (
        F("plan_id", "str", required=True, label_vi="Kế hoạch", label_en="Plan"),
        F("team", "int", required=True, minimum=1, label_vi="Tổ", label_en="Team"),
        F("seq", "int", required=True, minimum=1, label_vi="Thứ tự", label_en="Order"),
        F("target_id", "str", required=True, label_vi="Mã mục tiêu", label_en="Target ID"),
        F("target_kind", "str", label_vi="Loại mục tiêu", label_en="Target kind"),
        F("name", "str", label_vi="Tên", label_en="Name"),
        F("arrive_min", "float", minimum=0, label_vi="Đến (phút sau xuất phát)",
          label_en="Arrival (min after start)"),
        F("depart_min", "float", minimum=0, label_vi="Rời (phút sau xuất phát)",
          label_en="Departure (min after start)"),
        F("arrive_at", "str", label_vi="Giờ đến", label_en="Arrival time", max_length=5),
        F("dwell_min", "float", minimum=0, label_vi="Dừng (phút)", label_en="Dwell (min)"),
        F("travel_min", "float", minimum=0, label_vi="Di chuyển (phút)", label_en="Travel (min)"),
        F("distance_m", "float", minimum=0, label_vi="Quãng đường (m)", label_en="Distance (m)"),
        F("risk", "float", minimum=0, label_vi="Mức rủi ro", label_en="Risk"),
        F("reason_vi", "str", label_vi="Lý do", label_en="Reason (Vietnamese)", max_length=5000),
        F("lao_counterpart", "str", label_vi="Phía Lào", label_en="Lao counterpart"),
        F("forced", "bool", label_vi="Bắt buộc trong tuần", label_en="Weekly guarantee"),
        F("revisit", "bool", label_vi="Quay lại lần 2", label_en="Revisit"),
    ),
    confidentiality_default="restricted", min_role="commander",
    description="Ordered stops of stored patrol plans (one row per visit).",
))
# [/patrol]