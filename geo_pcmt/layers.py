"""The layer schemas of geo_pcmt, defined once, as data.

The same definitions drive ingest validation (:mod:`geo_pcmt.ingest`), the store's tables
(:mod:`geo_pcmt.store`), the export field lists (:mod:`geo_pcmt.outputs.export`) and, later, the
OpenAPI document. A layer is a :class:`Layer`; a column is a :class:`Field`.

Every *record* layer carries the common columns ``id``, ``source``, ``confidentiality``,
``created_at`` and ``updated_at``. Everything is stored in EPSG:4326 (lon/lat).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

FieldType = Literal["str", "int", "float", "bool", "date", "datetime"]
GeometryType = Literal["Point", "MultiPolygon", "LineString", "MultiLineString", "Geometry", None]
Confidentiality = Literal["public", "restricted", "secret"]

CONFIDENTIALITY_LEVELS: tuple[str, ...] = ("public", "restricted", "secret")


@dataclass(frozen=True)
class Field:
    """One column of a layer.

    Parameters
    ----------
    name : str
        Column name, ``snake_case`` ASCII, the same in store, API and exports.
    type : {"str", "int", "float", "bool", "date", "datetime"}
        Value type. Dates and datetimes are ISO 8601 text in storage.
    required : bool
        Whether every row must have a value.
    allowed : tuple of str, optional
        Closed set of allowed values (for ``str`` columns).
    minimum : float, optional
        Smallest allowed value for numbers (e.g. 0 for counts).
    label_vi, label_en : str
        Labels for forms, popups and exports.
    max_length : int
        Longest accepted text, to keep hostile 10 MB strings out of the store.
    """

    name: str
    type: FieldType = "str"
    required: bool = False
    allowed: tuple[str, ...] | None = None
    minimum: float | None = None
    label_vi: str = ""
    label_en: str = ""
    max_length: int = 2000


@dataclass(frozen=True)
class Layer:
    """A layer: its name, geometry type, fields and who may see it by default.

    ``kind`` is ``"base"`` (shipped reference data), ``"record"`` (entered by officers),
    ``"table"`` (no geometry) or ``"derived"`` (written by an analysis run).
    """

    name: str
    title_vi: str
    title_en: str
    geometry_type: GeometryType
    fields: tuple[Field, ...]
    kind: Literal["base", "record", "table", "derived"] = "record"
    confidentiality_default: Confidentiality = "restricted"
    time_field: str | None = None
    description: str = ""

    @property
    def has_geometry(self) -> bool:
        return self.geometry_type is not None

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    @property
    def required_fields(self) -> list[str]:
        return [f.name for f in self.fields if f.required]

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"layer {self.name!r} has no field {name!r}")


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

LAYERS: dict[str, Layer] = {}


def _register(layer: Layer) -> Layer:
    LAYERS[layer.name] = layer
    return layer


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
        F("address", "str", label_vi="Địa chỉ", label_en="Address"),
        F("geocode_quality", "str", allowed=GEOCODE_QUALITY, label_vi="Độ chính xác vị trí",
          label_en="Geocode quality"),
        F("first_seen", "date", required=True, label_vi="Phát hiện lần đầu", label_en="First seen"),
        F("last_activity", "date", label_vi="Hoạt động gần nhất", label_en="Last activity"),
        F("status", "str", required=True, allowed=RETAIL_POINT_STATUS, label_vi="Tình trạng",
          label_en="Status"),
        F("cleared_on", "date", label_vi="Ngày triệt xóa", label_en="Cleared on"),
        F("case_ref", "str", label_vi="Số vụ án", label_en="Case reference"),
    ) + _LOCATED,
    time_field="first_seen",
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
        F("detected_by", "str", label_vi="Đơn vị phát hiện", label_en="Detected by"),
        F("eradicated_on", "date", label_vi="Ngày triệt phá", label_en="Eradicated on"),
        F("method", "str", label_vi="Phương pháp", label_en="Method"),
        F("village", "str", label_vi="Bản", label_en="Village"),
        F("intercropped", "bool", label_vi="Trồng xen", label_en="Intercropped"),
    ) + _LOCATED,
    time_field="detected_on",
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
          label_en="Area of responsibility (commune codes, ;-separated)"),
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
    ) + _LOCATED,
    time_field="date",
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
    time_field="period",
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
    kind="table", confidentiality_default="secret",
))


def get_layer(name: str) -> Layer:
    """Return the schema of layer ``name`` or raise ``KeyError`` with the known names."""
    try:
        return LAYERS[name]
    except KeyError:
        raise KeyError(f"unknown layer {name!r}; known layers: {', '.join(sorted(LAYERS))}") from None


_AREA_SEPARATORS = re.compile(r"[;,\s]+")


def area_codes(value: object) -> tuple[str, ...]:
    """The commune codes listed in a post's ``area_of_responsibility``, in order, once each.

    The one parser of that field: codes are separated by ``;`` (as stored), ``,`` or white
    space; empty and missing values give an empty tuple.

    Examples
    --------
    >>> area_codes("16681; 16684,16687 16690;16681")
    ('16681', '16684', '16687', '16690')
    >>> area_codes(None)
    ()
    """
    if value is None or (isinstance(value, float) and value != value):
        return ()
    return tuple(dict.fromkeys(c for c in _AREA_SEPARATORS.split(str(value)) if c))


def register_derived(layer: Layer) -> Layer:
    """Register a layer written by an analysis (clusters, Gi* cells, flags …)."""
    return _register(layer)


# --- derived layers: written by analysis runs, one section per module that owns it ---------
# Each row carries the run that produced it (``run_id``, parameters in ``params``) so a result
# can be reproduced from its inputs.

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
    kind="derived", confidentiality_default="restricted",
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
    kind="derived", confidentiality_default="restricted",
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
    kind="derived", confidentiality_default="restricted",
))

_register(Layer(
    "complex_hotspots", "Địa bàn, tụ điểm phức tạp", "Complex hotspots (flags)", "Geometry",
    _derived_common() + (
        F("area_kind", "str", required=True, allowed=("cluster", "commune", "hex"),
          label_vi="Loại địa bàn", label_en="Area kind"),
        F("area_ref", "str", label_vi="Tham chiếu", label_en="Reference"),
        F("name", "str", label_vi="Tên", label_en="Name"),
        F("score", "float", required=True, label_vi="Điểm", label_en="Score"),
        F("level", "str", required=True, allowed=FLAG_LEVELS, label_vi="Mức", label_en="Level"),
        F("reasons_vi", "str", label_vi="Lý do", label_en="Reasons (Vietnamese)", max_length=20_000),
        F("reasons_en", "str", label_vi="Lý do (tiếng Anh)", label_en="Reasons", max_length=20_000),
        F("signals", "str", label_vi="Tín hiệu (JSON)", label_en="Signals (JSON)",
          max_length=20_000),
        F("n_signals", "int", minimum=0, label_vi="Số tín hiệu", label_en="Signals fired"),
        F("commune_code", "str", label_vi="Mã xã", label_en="Commune code"),
    ),
    kind="derived", confidentiality_default="restricted",
))
# [/hotspots]

# [status: status.py, progress.py]
# Computed class (from assessments and a rule set) and drug-free status (only from a
# recognition record) are kept apart: `computed_class` never says khong_ma_tuy; `status` is
# the map's one-word summary (khong_ma_tuy when a national recognition is in force, else the
# computed class). "khong_trong_diem" = assessed, no class fired (not a key area).
COMMUNE_STATUS_VALUES = COMMUNE_STATUS + ("khong_trong_diem",)
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
        F("rule_set", "str", label_vi="Bộ tiêu chí", label_en="Rule set"),
        F("rule_set_version", "str", label_vi="Phiên bản bộ tiêu chí", label_en="Rule-set version"),
        F("reason", "str", label_vi="Căn cứ", label_en="Reason", max_length=2000),
        F("criteria", "str", label_vi="Tiêu chí", label_en="Criteria", max_length=50_000),
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
        F("n_khong_trong_diem", "int", minimum=0, label_vi="Không trọng điểm",
          label_en="Not a key area"),
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
    confidentiality_default="restricted", time_field="plan_date",
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
    confidentiality_default="restricted",
    description="Ordered stops of stored patrol plans (one row per visit).",
))
# [/patrol]
