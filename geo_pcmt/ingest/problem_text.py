"""Validation problems in the words an officer reads: Vietnamese (default) or English.

A :class:`~geo_pcmt.ingest.report.Problem` carries a ``code`` and an English ``reason``;
:func:`problem_text` gives the Vietnamese sentence for the code, naming the field by its
label (and its column name, which is what a client sends), and the limits from the schema
(allowed values, minimum, longest text). Codes without a Vietnamese sentence fall back to
the English reason, so a new check is never silent.
"""
from __future__ import annotations

from geo_pcmt.formatting import fmt_compact
from geo_pcmt.ingest.headers import value_labels
from geo_pcmt.ingest.report import Problem
from geo_pcmt.layers import Layer

_VI = {
    "missing_column": "thiếu trường bắt buộc",
    "missing_value": "thiếu giá trị bắt buộc",
    "unknown_column": "lớp dữ liệu này không có trường này",
    "bad_type": "giá trị sai kiểu ({type})",
    "not_allowed": "giá trị không được phép; chọn một trong: {allowed}",
    "below_minimum": "giá trị phải ≥ {minimum}",
    "future_date": "ngày ở tương lai",
    "too_long": "văn bản dài quá {max_length} ký tự",
    "control_chars": "văn bản có ký tự điều khiển",
    "html_text": "văn bản giống mã HTML/script; được lưu và luôn hiển thị như chữ thường",
    "duplicate_id": "mã bị trùng",
    "date_order": "ngày này sớm hơn ngày bắt đầu tương ứng",
    "missing_geometry": "thiếu vị trí (hình học)",
    "empty_geometry": "hình học rỗng",
    "geometry_type": "loại hình học không phù hợp với lớp này",
    "bad_coordinates": "tọa độ không phải số hữu hạn",
    "invalid_geometry": "hình học không hợp lệ",
    "repaired_geometry": "hình học không hợp lệ đã được sửa tự động",
    "projected_coordinates": "tọa độ không phải kinh độ/vĩ độ (độ)",
    "swapped_lat_lon": "kinh độ và vĩ độ có vẻ bị đảo",
    "swapped_fixed": "kinh độ và vĩ độ bị đảo, đã đổi lại",
    "outside_province": "vị trí nằm ngoài tỉnh Nghệ An",
    "near_boundary": "vị trí sát ngoài ranh giới tỉnh (trong sai số cho phép)",
    "unknown_commune": "mã xã không thuộc 130 xã, phường từ 1/7/2025",
    "commune_mismatch": "vị trí nằm ở xã khác; dùng mã xã theo vị trí",
    "geocoded_commune": "đặt điểm tại trung tâm xã theo địa chỉ",
    "geocode_failed": "không xác định được vị trí từ địa chỉ",
    "not_scalar": "giá trị phải là chữ, số, đúng/sai hoặc null",
    "no_geometry": "lớp này không có hình học; gửi \"geometry\": null",
    "bad_geojson": "hình học GeoJSON không đọc được",
    "address_commune": "địa chỉ ghi {named} nhưng vị trí nằm ở {point}; kiểm tra lại tọa độ "
                       "hoặc địa chỉ",
    "above_clearance": "mức mật cao hơn mức bạn được phép gán",
    "status_without_date": "tình trạng «{status}» nhưng chưa có ngày này",
    "date_against_status": "tình trạng này không đi với ngày triệt xóa {date}",
    "bad_stops": "không đọc được danh sách điểm đã kiểm tra (mã@thời điểm; …)",
}
# English sentences for codes whose reason names a command-line option (on the web the fix
# is a button): the web and the API speak of the fix, not of the CLI
_EN = {
    "swapped_lat_lon": "latitude and longitude look swapped",
    "invalid_geometry": "invalid geometry",
    "projected_coordinates": "coordinates are not longitude/latitude degrees (projected "
                             "metres?); give the coordinate system",
}
_OTHER_LABELS = {"geometry": "Hình học", "lon": "Kinh độ", "lat": "Vĩ độ", "address": "Địa chỉ"}
_SEVERITY = {"vi": {"error": "lỗi", "warning": "cảnh báo"},
             "en": {"error": "error", "warning": "warning"}}


def problem_text(problem: Problem, layer: Layer, lang: str = "vi") -> str:
    """One problem as a sentence: ``Trường «Loại điểm» (type): giá trị không được phép …``.

    Examples
    --------
    >>> from geo_pcmt.layers import get_layer
    >>> p = Problem(1, "status", "open", "not an allowed value", code="not_allowed")
    >>> problem_text(p, get_layer("retail_points"))
    'Trường «Tình trạng» (status): giá trị không được phép; chọn một trong: Đang hoạt động, Theo dõi, Đã triệt xóa, Hoạt động trở lại'
    >>> problem_text(p, get_layer("retail_points"), "en")
    "Field 'status': not an allowed value"
    """
    field = layer.field(problem.field) if problem.field in layer.field_names else None
    if lang == "en":
        where = f"Field {problem.field!r}: " if problem.field else ""
        return where + _EN.get(problem.code, problem.reason)
    template = _VI.get(problem.code) or (_VI["geocode_failed"]
                                         if problem.code.startswith("geocode_") else None)
    text = problem.reason if template is None else template.format(
        **(problem.params or {}),
        type=field.type if field else "",
        allowed=", ".join(value_labels(layer, field.name).values() or field.allowed or ())
        if field else "",
        minimum=fmt_compact(field.minimum) if field and field.minimum is not None
        else "",
        max_length=field.max_length if field else "")
    if problem.field is None:
        return text[:1].upper() + text[1:]
    label = field.label_vi if field is not None and field.label_vi else \
        _OTHER_LABELS.get(problem.field, problem.field)
    return f"Trường «{label}» ({problem.field}): {text}"


def problem_json(problem: Problem, layer: Layer, lang: str = "vi") -> dict:
    """A problem for an API answer: field, value, code, severity and the sentence."""
    out = problem.as_dict()
    out.pop("row", None)  # one record per request: the row number says nothing
    out.pop("sheet_row", None)
    out["reason"] = problem_text(problem, layer, lang)
    out["severity_text"] = _SEVERITY.get(lang, _SEVERITY["vi"])[problem.severity]
    return out
