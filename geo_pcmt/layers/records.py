"""Reference layers shipped with geo_pcmt and the record layers officers enter.

Registered in this order (the schema order every listing follows): boundaries, then the
records, then the tables. Every record layer carries the common columns of :func:`_common`.
"""
from __future__ import annotations

from geo_pcmt.layers import CONFIDENTIALITY_LEVELS, Field, Layer, _register

def _common() -> tuple[Field, ...]:
    return (
        Field("id", "str", required=True, label_vi="Mã", label_en="ID", max_length=100),
        Field("source", "str", required=True, label_vi="Nguồn", label_en="Source", max_length=500),
        Field("confidentiality", "str", allowed=CONFIDENTIALITY_LEVELS,
              label_vi="Mức mật", label_en="Confidentiality"),
        Field("created_at", "datetime", label_vi="Tạo lúc", label_en="Created at"),
        Field("updated_at", "datetime", label_vi="Cập nhật lúc", label_en="Updated at"),
    )


F = Field  # short alias for the tables below

RETAIL_POINT_TYPES = ("diem_ban_le", "dia_diem_to_chuc_chua_chap", "tu_diem_phuc_tap")
RETAIL_POINT_STATUS = ("active", "watch", "cleared", "re-emerged")
CROSSING_KINDS = ("international", "main", "secondary", "opening", "trail")
GEOCODE_QUALITY = ("exact", "address", "commune", "manual")
FACILITY_KINDS = ("methadone_treatment", "methadone_dispensing", "rehab")
RECOGNITION_LABELS = ("khong_ma_tuy", "sach_ve_ma_tuy")
COMMUNE_STATUS = ("loai_I", "loai_II", "loai_III", "khong_ma_tuy", "chua_danh_gia")

_LOCATED = (
    F("commune_code", "str", label_vi="Mã xã", label_en="Commune code", max_length=10),
    F("is_border", "bool", label_vi="Xã biên giới", label_en="Border commune"),
)

_register(Layer(
    "communes", "Xã, phường (2025)", "Communes and wards (2025)", "MultiPolygon",
    (
        F("id", "str", required=True, max_length=10, label_vi="Mã", label_en="ID"),
        F("code", "str", required=True, max_length=10, label_vi="Mã xã (GSO)", label_en="GSO code"),
        F("name", "str", required=True, label_vi="Tên", label_en="Name"),
        F("name_ascii", "str", label_vi="Tên không dấu", label_en="ASCII name"),
        F("kind", "str", allowed=("xa", "phuong"), label_vi="Loại", label_en="Kind"),
        F("is_border", "bool", label_vi="Xã biên giới", label_en="Border commune"),
        F("lao_province", "str", label_vi="Tỉnh Lào giáp ranh", label_en="Adjacent Lao province"),
        F("border_length_km", "float", minimum=0, label_vi="Chiều dài biên giới (km)",
          label_en="Border length (km)"),
        F("area_km2", "float", minimum=0, label_vi="Diện tích (km²)", label_en="Area (km²)"),
        F("district_pre2025", "str", label_vi="Huyện cũ", label_en="Pre-2025 district"),
        F("valid_from", "date", label_vi="Hiệu lực từ", label_en="Valid from"),
        F("valid_to", "date", label_vi="Hiệu lực đến", label_en="Valid to"),
        F("source", "str", label_vi="Nguồn", label_en="Source"),
    ),
    kind="base", confidentiality_default="public",
    description="130 commune-level units of Nghệ An valid from 1 July 2025 (shipped real data).",
))

_register(Layer(
    "commune_lineage", "Chuyển đổi xã cũ → mới", "Commune crosswalk 412 → 130", None,
    (
        F("id", "str", required=True, label_vi="Mã", label_en="ID"),
        F("old_code", "str", required=True, label_vi="Mã xã cũ", label_en="Old code"),
        F("old_name", "str", required=True, label_vi="Tên xã cũ", label_en="Old name"),
        F("old_name_ascii", "str", label_vi="Tên cũ không dấu", label_en="Old ASCII name"),
        F("old_district", "str", label_vi="Huyện cũ", label_en="Old district"),
        F("new_code", "str", required=True, label_vi="Mã xã mới", label_en="New code"),
        F("new_name", "str", label_vi="Tên xã mới", label_en="New name"),
        F("share", "str", required=True, allowed=("full", "partial"), label_vi="Sáp nhập",
          label_en="Share"),
    ),
    kind="base", confidentiality_default="public",
))

_register(Layer(
    "province", "Tỉnh Nghệ An", "Nghệ An province", "MultiPolygon",
    (
        F("id", "str", required=True), F("code", "str"), F("name", "str"),
        F("area_km2", "float"), F("border_laos_km", "float"), F("source", "str"),
    ),
    kind="base", confidentiality_default="public",
))

_register(Layer(
    "border_line", "Đường biên giới Việt – Lào", "Viet Nam–Laos border line", "MultiLineString",
    (
        F("id", "str", required=True, label_vi="Mã", label_en="ID"),
        F("segment", "str", required=True, label_vi="Đoạn", label_en="Segment"),
        F("lao_province", "str", required=True, label_vi="Tỉnh Lào", label_en="Lao province"),
        F("lao_province_iso", "str", label_vi="Mã ISO", label_en="ISO code"),
        F("length_km", "float", minimum=0, label_vi="Chiều dài (km)", label_en="Length (km)"),
        F("source", "str", label_vi="Nguồn", label_en="Source"),
    ),
    kind="base", confidentiality_default="public",
))

_register(Layer(
    "lao_provinces", "Tỉnh Lào giáp ranh", "Adjacent Lao provinces", "MultiPolygon",
    (
        F("id", "str", required=True), F("iso", "str"), F("name", "str"), F("name_en", "str"),
        F("source", "str"),
    ),
    kind="base", confidentiality_default="public",
))

_register(Layer(
    "retail_points", "Điểm, tụ điểm ma túy", "Drug retail points and places", "Point",
    _common() + (
        F("type", "str", required=True, allowed=RETAIL_POINT_TYPES, label_vi="Loại điểm",
          label_en="Type"),
        F("name", "str", label_vi="Tên/mô tả", label_en="Name"),
        F("address", "str", label_vi="Địa chỉ", label_en="Address", operational=True),
        F("geocode_quality", "str", allowed=GEOCODE_QUALITY, label_vi="Độ chính xác vị trí",
          label_en="Geocode quality"),
        F("first_seen", "date", required=True, label_vi="Phát hiện lần đầu", label_en="First seen"),
        F("last_activity", "date", label_vi="Hoạt động gần nhất", label_en="Last activity"),
        F("status", "str", required=True, allowed=RETAIL_POINT_STATUS, label_vi="Tình trạng",
          label_en="Status"),
        F("cleared_on", "date", label_vi="Ngày triệt xóa", label_en="Cleared on"),
        F("case_ref", "str", label_vi="Số vụ án", label_en="Case reference", operational=True),
    ) + _LOCATED,
    min_role="analyst", time_field="first_seen",
    description="Retail points (điểm bán lẻ), places organising/harbouring use and complex "
                "gathering places (tụ điểm phức tạp). Restricted intelligence.",
))

_register(Layer(
    "opium_plots", "Diện tích trồng cây thuốc phiện", "Opium poppy plots", "Geometry",
    _common() + (
        F("area_m2", "float", required=True, minimum=0, label_vi="Diện tích (m²)",
          label_en="Area (m²)"),
        F("plant_count", "int", minimum=0, label_vi="Số cây", label_en="Plant count"),
        F("detected_on", "date", required=True, label_vi="Ngày phát hiện", label_en="Detected on"),
        F("detected_by", "str", label_vi="Đơn vị phát hiện", label_en="Detected by",
          operational=True),
        F("eradicated_on", "date", label_vi="Ngày triệt phá", label_en="Eradicated on"),
        F("method", "str", label_vi="Phương pháp", label_en="Method"),
        F("village", "str", label_vi="Bản", label_en="Village"),
        F("intercropped", "bool", label_vi="Trồng xen", label_en="Intercropped"),
    ) + _LOCATED,
    min_role="analyst", time_field="detected_on",
))

_register(Layer(
    "border_crossings", "Cửa khẩu, lối mở, đường mòn", "Border crossings", "Point",
    _common() + (
        F("kind", "str", required=True, allowed=CROSSING_KINDS, label_vi="Loại", label_en="Kind"),
        F("name", "str", required=True, label_vi="Tên", label_en="Name"),
        F("lao_counterpart", "str", label_vi="Phía Lào", label_en="Lao counterpart"),
        F("lao_province", "str", label_vi="Tỉnh Lào", label_en="Lao province"),
        F("border_post", "str", label_vi="Đồn biên phòng", label_en="Border post"),
        F("planned_kind", "str", allowed=CROSSING_KINDS, label_vi="Quy hoạch", label_en="Planned kind"),
        F("planned_year", "int", minimum=2000, label_vi="Năm quy hoạch", label_en="Planned year"),
        F("position_quality", "str", allowed=("surveyed", "approximate", "commune"),
          label_vi="Độ chính xác vị trí", label_en="Position quality"),
    ) + _LOCATED,
    confidentiality_default="public",
))

_register(Layer(
    "border_posts", "Đồn biên phòng", "Border posts", "Point",
    _common() + (
        F("name", "str", required=True, label_vi="Tên đồn", label_en="Name"),
        F("unit", "str", label_vi="Đơn vị", label_en="Unit"),
        F("area_of_responsibility", "str", label_vi="Địa bàn phụ trách (mã xã)",
          label_en="Area of responsibility (commune codes, ;-separated)", operational=True),
    ) + _LOCATED,
    confidentiality_default="public",
))

_register(Layer(
    "cases", "Vụ án ma túy", "Drug cases", "Point",
    _common() + (
        F("date", "date", required=True, label_vi="Ngày", label_en="Date"),
        F("kind", "str", required=True, allowed=("trafficking", "possession", "use_organising",
                                                  "retail", "transport", "other"),
          label_vi="Loại vụ", label_en="Kind"),
        F("offenders", "int", minimum=0, label_vi="Số đối tượng", label_en="Offenders"),
        F("heroin_g", "float", minimum=0, label_vi="Heroin (g)", label_en="Heroin (g)"),
        F("meth_pills", "int", minimum=0, label_vi="Ma túy tổng hợp (viên)", label_en="Meth pills"),
        F("crystal_meth_g", "float", minimum=0, label_vi="Ma túy đá (g)", label_en="Crystal meth (g)"),
        F("opium_g", "float", minimum=0, label_vi="Thuốc phiện (g)", label_en="Opium (g)"),
        F("unit", "str", label_vi="Đơn vị bắt giữ", label_en="Arresting unit"),
        F("major_case", "str", label_vi="Chuyên án", label_en="Major case (chuyên án)",
          operational=True),
    ) + _LOCATED,
    min_role="analyst", time_field="date",
))

_register(Layer(
    "facilities", "Cơ sở điều trị, cai nghiện", "Treatment facilities", "Point",
    _common() + (
        F("kind", "str", required=True, allowed=FACILITY_KINDS, label_vi="Loại", label_en="Kind"),
        F("name", "str", required=True, label_vi="Tên", label_en="Name"),
        F("capacity", "int", minimum=0, label_vi="Công suất", label_en="Capacity"),
        F("opened_on", "date", label_vi="Ngày hoạt động", label_en="Opened on"),
    ) + _LOCATED,
    confidentiality_default="public",
))

_register(Layer(
    "patrol_tracks", "Hành trình tuần tra", "Patrol tracks", "LineString",
    _common() + (
        F("plan_id", "str", label_vi="Kế hoạch thực hiện", label_en="Plan executed"),
        F("plan_date", "date", label_vi="Ngày tuần tra", label_en="Patrol date"),
        F("post_id", "str", label_vi="Mã đồn", label_en="Post ID"),
        F("team", "int", minimum=1, label_vi="Tổ", label_en="Team"),
        F("unit", "str", label_vi="Đơn vị", label_en="Unit"),
        F("started_at", "datetime", required=True, label_vi="Bắt đầu", label_en="Started"),
        F("ended_at", "datetime", label_vi="Kết thúc", label_en="Ended"),
        F("stops_done", "str", label_vi="Điểm đã kiểm tra (mã@thời điểm; …)",
          label_en="Stops done (target id@time; …, or JSON)", max_length=50_000,
          operational=True),
        F("findings", "str", label_vi="Kết quả, phát hiện", label_en="Findings",
          max_length=20_000, operational=True),
        F("device", "str", label_vi="Thiết bị ghi", label_en="Recording device",
          operational=True),
        F("recorded_by", "str", label_vi="Người ghi", label_en="Recorded by"),
    ),
    min_role="analyst", time_field="started_at",
    description="GPS tracks of patrols as walked (one LineString per team run), with the plan "
                "executed, the stops done and the findings; written by edits, the field app's "
                "sync and GPX loads; compared with the plan by the patrol-track run.",
))

_register(Layer(
    "commune_assessments", "Đánh giá địa bàn xã", "Commune assessments", None,
    _common() + (
        F("commune_code", "str", required=True, max_length=10, label_vi="Mã xã",
          label_en="Commune code"),
        F("period", "str", required=True, label_vi="Kỳ (năm hoặc YYYY-MM)", label_en="Period"),
        F("population", "int", required=True, minimum=1, label_vi="Dân số", label_en="Population"),
        F("addicts_with_records", "int", minimum=0, label_vi="Người nghiện có hồ sơ",
          label_en="Addicts with records"),
        F("users", "int", minimum=0, label_vi="Người sử dụng trái phép", label_en="Illegal users"),
        F("harbouring_locations", "int", minimum=0, label_vi="Địa điểm tổ chức, chứa chấp",
          label_en="Harbouring locations"),
        F("offenders_arrested", "int", minimum=0, label_vi="Đối tượng bị bắt",
          label_en="Offenders arrested"),
        F("plants", "int", minimum=0, label_vi="Số cây chứa chất ma túy", label_en="Narcotic plants"),
        F("plant_area_m2", "float", minimum=0, label_vi="Diện tích cây (m²)",
          label_en="Plant area (m²)"),
        F("on_drug_route", "bool", label_vi="Trên tuyến ma túy", label_en="On a drug route"),
        F("rule_set", "str", label_vi="Bộ tiêu chí", label_en="Rule set"),
    ),
    min_role="analyst", time_field="period",
))

_register(Layer(
    "recognitions", "Công nhận xã không/sạch ma túy", "Drug-free recognitions", None,
    _common() + (
        F("commune_code", "str", required=True, max_length=10, label_vi="Mã xã",
          label_en="Commune code"),
        F("label", "str", required=True, allowed=RECOGNITION_LABELS, label_vi="Danh hiệu",
          label_en="Label"),
        F("decision_no", "str", required=True, label_vi="Số quyết định", label_en="Decision no."),
        F("date", "date", required=True, label_vi="Ngày", label_en="Date"),
        F("authority", "str", required=True, label_vi="Cơ quan công nhận", label_en="Authority"),
        F("revoked_on", "date", label_vi="Ngày thu hồi", label_en="Revoked on"),
    ),
    confidentiality_default="public", time_field="date",
))

_register(Layer(
    "treatment", "Cai nghiện, điều trị và quản lý sau cai", "Drug treatment by commune and year",
    None,
    _common() + (
        F("commune_code", "str", required=True, max_length=10, label_vi="Mã xã",
          label_en="Commune code"),
        F("year", "int", required=True, minimum=2000, label_vi="Năm", label_en="Year"),
        F("addicts_with_records", "int", required=True, minimum=0,
          label_vi="Người nghiện có hồ sơ quản lý", label_en="Addicts with records"),
        F("users", "int", minimum=0, label_vi="Người sử dụng trái phép có hồ sơ",
          label_en="Illegal users with records"),
        F("compulsory_treatment", "int", minimum=0, label_vi="Cai nghiện bắt buộc",
          label_en="In compulsory treatment"),
        F("voluntary_treatment", "int", minimum=0, label_vi="Cai nghiện tự nguyện tại cơ sở",
          label_en="In voluntary treatment at a facility"),
        F("community_treatment", "int", minimum=0,
          label_vi="Cai nghiện tự nguyện tại gia đình, cộng đồng",
          label_en="In voluntary treatment at home or in the community"),
        F("post_treatment", "int", minimum=0, label_vi="Quản lý sau cai nghiện",
          label_en="Under post-treatment management"),
        F("on_methadone", "int", minimum=0, label_vi="Điều trị Methadone",
          label_en="On methadone"),
        F("vocational_trained", "int", minimum=0,
          label_vi="Được dạy nghề (cai tại gia đình, cộng đồng)",
          label_en="Vocational training (home/community treatment)"),
    ),
    min_role="analyst", time_field="year",
    description="Counts per commune and year, never person records (DOMAIN §7-8).",
))

_register(Layer(
    "targets", "Chỉ tiêu", "Targets", None,
    _common() + (
        F("scope", "str", required=True, label_vi="Phạm vi (tỉnh / mã xã / biên giới)",
          label_en="Scope"),
        F("year", "int", required=True, minimum=2000, label_vi="Năm", label_en="Year"),
        F("share_drug_free", "float", required=True, minimum=0, label_vi="Tỷ lệ không ma túy",
          label_en="Share drug-free"),
        F("basis", "str", label_vi="Căn cứ", label_en="Basis"),
    ),
    confidentiality_default="public",
))

_register(Layer(
    "audit_log", "Nhật ký truy cập", "Audit log", None,
    (
        F("id", "str", required=True),
        F("at", "datetime", required=True, label_vi="Thời điểm", label_en="At"),
        F("user", "str", required=True, label_vi="Người dùng", label_en="User"),
        F("action", "str", required=True, label_vi="Hành động", label_en="Action"),
        F("layer", "str", label_vi="Lớp", label_en="Layer"),
        F("ids", "str", label_vi="Mã bản ghi", label_en="Record ids", max_length=100_000),
        F("detail", "str", label_vi="Chi tiết", label_en="Detail", max_length=100_000),
    ),
    kind="table", confidentiality_default="secret", min_role="admin",
))

# --- offline field capture: the sync's own tables (geo_pcmt.sync) ------------------------------
# kind "derived": written by the server as phones sync, never uploaded by officers

FIELD_EDIT_STATUS = ("applied", "merged", "conflict", "rejected")
FIELD_CONFLICT_STATUS = ("open", "resolved")
_SYNC_COMMON = (
    F("layer", "str", required=True, label_vi="Lớp", label_en="Layer", max_length=100),
    F("record_id", "str", required=True, label_vi="Mã bản ghi", label_en="Record id",
      max_length=100),
    F("edit_id", "str", required=True, label_vi="Mã thao tác", label_en="Edit id",
      max_length=100),
    F("device", "str", label_vi="Thiết bị", label_en="Device", max_length=100),
    F("user", "str", required=True, label_vi="Người dùng", label_en="User", max_length=200),
    F("recorded_at", "datetime", label_vi="Ghi lúc (trên máy)", label_en="Recorded at (phone)"),
    F("confidentiality", "str", allowed=CONFIDENTIALITY_LEVELS, label_vi="Mức mật",
      label_en="Confidentiality"),
    F("created_at", "datetime", label_vi="Tạo lúc", label_en="Created at"),
    F("updated_at", "datetime", label_vi="Cập nhật lúc", label_en="Updated at"),
)

_register(Layer(
    "field_edits", "Thao tác đồng bộ từ thực địa", "Synced field edits", None,
    (F("id", "str", required=True, label_vi="Mã thao tác", label_en="Edit id", max_length=100),)
    + _SYNC_COMMON + (
        F("op", "str", required=True, allowed=("create", "update", "delete"),
          label_vi="Loại thao tác", label_en="Operation"),
        F("status", "str", required=True, allowed=FIELD_EDIT_STATUS, label_vi="Kết quả",
          label_en="Result"),
        F("version", "str", label_vi="Phiên bản sau thao tác", label_en="Version after",
          max_length=64),
        F("conflict_id", "str", label_vi="Mã xung đột", label_en="Conflict id", max_length=100),
        F("problems", "str", label_vi="Vấn đề", label_en="Problems", max_length=100_000),
        F("accuracy_m", "float", label_vi="Độ chính xác GPS (m)", label_en="GPS accuracy (m)"),
        F("position", "str", label_vi="Vị trí GPS gửi lên", label_en="GPS fix sent",
          max_length=200),
    ),
    kind="derived", min_role="analyst",
    description="One row per edit a phone synced (its first result): a re-sent edit is "
                "answered from here and never applied twice. A point the edit sent is kept "
                "with its GPS accuracy, so a later fix of the same place is compared with "
                "what both accuracies allow.",
))

_register(Layer(
    "field_conflicts", "Xung đột dữ liệu thực địa", "Field edit conflicts", None,
    (F("id", "str", required=True, label_vi="Mã xung đột", label_en="Conflict id",
       max_length=100),)
    + _SYNC_COMMON + (
        F("fields", "str", required=True, label_vi="Các trường", label_en="Fields",
          max_length=2000),
        F("base_value", "str", label_vi="Giá trị gốc", label_en="Base value",
          max_length=500_000),
        F("server_value", "str", label_vi="Giá trị trên máy chủ", label_en="Server value",
          max_length=500_000),
        F("phone_value", "str", label_vi="Giá trị từ điện thoại", label_en="Phone value",
          max_length=500_000),
        F("status", "str", required=True, allowed=FIELD_CONFLICT_STATUS,
          label_vi="Tình trạng", label_en="Status"),
        F("resolved_by", "str", label_vi="Người giải quyết", label_en="Resolved by",
          max_length=200),
        F("resolved_at", "datetime", label_vi="Giải quyết lúc", label_en="Resolved at"),
        F("resolution", "str", label_vi="Giá trị đã chọn", label_en="Chosen value",
          max_length=500_000),
    ),
    kind="derived", min_role="analyst",
    description="A field two people changed to different values: base, server and phone "
                "values (JSON) until an analyst chooses one.",
))

_register(Layer(
    "field_photos", "Ảnh chụp thực địa", "Field photos", None,
    (F("id", "str", required=True, label_vi="Mã ảnh", label_en="Photo id", max_length=100),)
    + _SYNC_COMMON + (
        F("width", "int", minimum=1, label_vi="Rộng (px)", label_en="Width (px)"),
        F("height", "int", minimum=1, label_vi="Cao (px)", label_en="Height (px)"),
        F("bytes", "int", minimum=1, label_vi="Dung lượng (byte)", label_en="Size (bytes)"),
        F("jpeg_base64", "str", required=True, label_vi="Ảnh (JPEG, base64)",
          label_en="Photo (JPEG, base64)", max_length=600_000),
    ),
    kind="derived", min_role="analyst",
    description="Photos taken with a field edit, resized JPEG, at the record's level.",
))
