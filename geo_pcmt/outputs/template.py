"""Excel templates for officers' records: one workbook per layer, ready to fill and upload.

Sheet one ("Nhập liệu") has the Vietnamese headers that the upload matches back to the
layer's columns (:mod:`geo_pcmt.ingest.headers`), one example row that passes validation as
it stands, and drop-down lists (data validation) on every column with a closed set of
values, in Vietnamese words where the values have them (the upload reads them back as the
codes). Sheet two ("Hướng dẫn") explains each column: label in Vietnamese and English,
type, whether it is required, the allowed values and a note. The lists themselves are on
a hidden third sheet ("Danh mục"), as list entries may hold commas.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path

from geo_pcmt.formatting import fmt_compact
from geo_pcmt.ingest import boundaries
from geo_pcmt.ingest.headers import value_labels
from geo_pcmt.ingest.validation import id_prefix
from geo_pcmt.layers import Field, Layer, get_layer

DATA_SHEET, HELP_SHEET, LISTS_SHEET = "Nhập liệu", "Hướng dẫn", "Danh mục"
VALIDATED_ROWS = 5000  # rows the drop-down lists cover
# columns the system fills itself: never in a template
_SYSTEM_FIELDS = ("created_at", "updated_at", "is_border")
_TYPE_WORDS = {"str": ("văn bản", "text"), "int": ("số nguyên", "whole number"),
               "float": ("số (dấu phẩy thập phân)", "number"), "bool": ("có / không", "yes / no"),
               "date": ("ngày (ngày/tháng/năm)", "date (dd/mm/yyyy)"),
               "datetime": ("ngày giờ", "date and time")}
_COORDINATE_HELP = (("Kinh độ", "Longitude", "float", "độ thập phân WGS84, ví dụ 104,12"),
                    ("Vĩ độ", "Latitude", "float", "độ thập phân WGS84, ví dụ 19,36"))
_HELP_HEADER = ("Cột", "Column", "Kiểu / Type", "Bắt buộc / Required",
                "Giá trị được phép / Allowed values", "Ghi chú / Notes")


def has_template(layer: str | Layer) -> bool:
    """Whether ``layer`` has a spreadsheet template: not the layers of lines (patrol tracks
    come from a GPS as GPX, GeoJSON or GeoPackage; a row of a sheet cannot hold a line)."""
    spec = get_layer(layer) if isinstance(layer, str) else layer
    return spec.geometry_type not in ("LineString", "MultiLineString")


def template_fields(spec: Layer) -> list[Field]:
    """The layer's columns an officer fills, in schema order."""
    return [f for f in spec.fields if f.name not in _SYSTEM_FIELDS]


def headers(spec: Layer) -> list[str]:
    """The template's headers: each field's Vietnamese label (its name when it has none),
    then Kinh độ / Vĩ độ for layers with a geometry."""
    out = [f.label_vi or f.name for f in template_fields(spec)]
    return out + ([c[0] for c in _COORDINATE_HELP] if spec.has_geometry else [])


def choices(spec: Layer, f: Field) -> list[str]:
    """What an officer picks for a coded field: its Vietnamese words, or the codes when the
    values have no words yet."""
    labels = value_labels(spec, f.name)
    return [labels.get(v, v) for v in f.allowed or ()]


def example_row(spec: Layer, today: date | None = None) -> list:
    """One row that passes validation as it stands: required values, a real commune's
    inside point and name, no id (the upload generates it)."""
    today = today or date.today()
    commune = _example_commune()
    values = {"id": None, "source": "Mẫu nhập liệu", "commune_code": commune["code"],
              "name": "Ví dụ", "address": f"{commune['name']}, tỉnh Nghệ An",
              "period": str(today.year), "year": today.year,
              "confidentiality": spec.confidentiality_default}
    row = []
    for f in template_fields(spec):
        if f.name in values:
            v = values[f.name]
        elif not f.required:
            v = None
        elif f.allowed:
            v = choices(spec, f)[0]
        elif f.type == "date":
            v = today
        elif f.type in ("int", "float"):
            v = max(1, f.minimum or 0) if f.type == "int" else (f.minimum or 0) + 1.0
        elif f.type == "bool":
            v = "không"
        else:
            v = f"Ví dụ: {f.label_vi or f.name}"
        row.append(v)
    if spec.has_geometry:
        pt = commune["point"]
        row += [round(pt.x, 5), round(pt.y, 5)]
    return row


def write_template(layer: str | Layer, path, today: date | None = None):
    """Write the Excel template of ``layer`` to ``path`` (a file name or binary file
    object); returns ``path``."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.worksheet.datavalidation import DataValidation
    spec = get_layer(layer) if isinstance(layer, str) else layer
    if not has_template(spec):
        raise ValueError(f"{spec.name} has no spreadsheet template: load its lines from a "
                         "GPX, GeoJSON or GeoPackage file")
    wb = Workbook()
    ws = wb.active
    ws.title = DATA_SHEET
    ws.append(headers(spec))
    ws.append(example_row(spec, today))
    fields = template_fields(spec)
    lists = wb.create_sheet(LISTS_SHEET)
    lists.sheet_state = "hidden"
    n_lists = 0
    for col, f in enumerate(fields, start=1):
        letter = ws.cell(row=1, column=col).column_letter
        ws.cell(row=1, column=col).font = Font(bold=f.required)
        ws.column_dimensions[letter].width = max(12, len(ws.cell(row=1, column=col).value) + 4)
        if f.type == "date":
            ws.cell(row=2, column=col).number_format = "dd/mm/yyyy"
        if f.allowed:
            n_lists += 1
            values = choices(spec, f)
            for i, v in enumerate(values, start=1):
                lists.cell(row=i, column=n_lists, value=v)
            ref = lists.cell(row=1, column=n_lists).column_letter
            dv = DataValidation(type="list", formula1=f"'{LISTS_SHEET}'!${ref}$1:${ref}$"
                                                      f"{len(values)}",
                                allow_blank=not f.required, showErrorMessage=True,
                                errorTitle="Giá trị không hợp lệ",
                                error="Chọn một giá trị trong danh sách")
            ws.add_data_validation(dv)
            dv.add(f"{letter}2:{letter}{VALIDATED_ROWS + 1}")
    ws.freeze_panes = "A2"
    _help_sheet(wb.create_sheet(HELP_SHEET, 1), spec, fields, today or date.today())
    wb.save(path)
    return Path(path) if isinstance(path, str) else path


def _help_sheet(ws, spec: Layer, fields: list[Field], today: date) -> None:
    from openpyxl.styles import Font
    ws.append([f"{spec.title_vi} — {spec.title_en}"])
    ws.cell(row=1, column=1).font = Font(bold=True)
    ws.append(list(_HELP_HEADER))
    for f in fields:
        vi, en = _TYPE_WORDS[f.type]
        ws.append([f.label_vi or f.name, f.label_en or f.name, f"{vi} / {en}",
                   "có / yes" if f.required and f.name not in ("id", "source") else "không / no",
                   "; ".join(choices(spec, f)), _note(spec, f, today)])
    if spec.has_geometry:
        for vi, en, ftype, note in _COORDINATE_HELP:
            ws.append([vi, en, " / ".join(_TYPE_WORDS[ftype]), "có / yes", "", note])
    for letter, width in zip("ABCDEF", (26, 24, 28, 16, 40, 70)):
        ws.column_dimensions[letter].width = width


def _note(spec: Layer, f: Field, today: date) -> str:
    if f.name == "id":
        return (f"để trống: hệ thống tự tạo mã {id_prefix(spec.name, today)}-1, -2 … "
                "/ leave empty for a generated id")
    if f.name == "source":
        return "để trống: tên tệp tải lên / empty: the uploaded file's name"
    if f.name == "commune_code" and spec.has_geometry:
        return "để trống: lấy theo vị trí / empty: taken from the position"
    if f.minimum is not None:
        return f"≥ {fmt_compact(f.minimum)}"
    return ""


def _example_commune() -> dict:
    """A border commune (the first by code): code, name and a point inside it."""
    communes = boundaries.communes()
    border = communes[communes["is_border"].astype(bool)] if "is_border" in communes else communes
    row = (border if len(border) else communes).sort_values("code").iloc[0]
    return {"code": row["code"], "name": row["name"], "point": row.geometry.representative_point()}
