"""The upload journey as an analyst lives it: a 20-row Excel file of retail points with
Vietnamese headers and no ids, the report in Vietnamese with Excel's row numbers, the fix
as a button, every row downloadable with its problems, and the template round trip."""
from __future__ import annotations

import io
import json
from datetime import date

import pytest
from openpyxl import Workbook, load_workbook

from geo_pcmt.ingest import boundaries
from tests.test_ogcapi import login, make_app

HEADERS = ["Loại điểm", "Tên", "Địa chỉ", "Kinh độ", "Vĩ độ", "Ngày phát hiện", "Tình trạng",
           "Ngày triệt xóa"]
COMMUNES = ("Xã Nậm Cắn", "Xã Mường Xén", "Xã Mỹ Lý", "Xã Keng Đu")
SWAPPED, CLEARED_NO_DATE, ADDRESS_ELSEWHERE, BAD_STATUS = 12, 4, 8, 16  # rows as Excel shows


def _points() -> dict[str, tuple[float, float]]:
    c = boundaries.communes().set_index("name")
    return {n: (round(c.loc[n].geometry.representative_point().x, 5),
                round(c.loc[n].geometry.representative_point().y, 5)) for n in COMMUNES}


def retail_workbook() -> bytes:
    """20 retail points over four border communes; four rows with something to say."""
    pts = _points()
    wb = Workbook()
    ws = wb.active
    ws.append(HEADERS)
    for excel_row in range(2, 22):
        commune = COMMUNES[excel_row % 4]
        lon, lat = pts[commune]
        address = f"Bản {excel_row}, {commune.lower()}"
        status, cleared = "active", None
        if excel_row == SWAPPED:
            lon, lat = lat, lon
        if excel_row == CLEARED_NO_DATE:
            status = "cleared"
        if excel_row == ADDRESS_ELSEWHERE:
            lon, lat = pts["Xã Mường Xén"]
            address = "Bản Huồi Khe, xã Nậm Cắn"
        if excel_row == BAD_STATUS:
            status = "đang ngủ"
        seen = date(2025, 1 + excel_row % 12, 1 + excel_row) if excel_row % 2 else \
            f"{1 + excel_row:02d}/{1 + excel_row % 12:02d}/2025"  # date cells and typed text
        ws.append(["diem_ban_le", f"Điểm {excel_row}", address, lon, lat, seen, status, cleared])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@pytest.fixture
def app(web_store, tmp_path):
    return make_app(web_store, tmp_path)


def _post(client, url, **data):
    with client.session_transaction() as s:
        data["csrf_token"] = s["csrf_token"]
    return client.post(url, data=data, content_type="multipart/form-data")


def _upload(client, payload: bytes, lang: str = ""):
    return _post(client, f"/upload{lang}", layer="retail_points",
                 file=(io.BytesIO(payload), "diem-ban-le.xlsx"))


def _pid(html: str) -> str:
    return html.split('action="/upload/')[1].split("/")[0]


def _retail(app):
    return app.extensions["geo_pcmt_store"].read("retail_points")


def test_an_analyst_uploads_20_rows_with_vietnamese_headers_and_no_ids(app):
    client = app.test_client()
    login(client, "analyst_user")
    assert "/upload/template/retail_points.xlsx" in client.get("/upload").get_data(as_text=True)
    page = _upload(client, retail_workbook())
    html = page.get_data(as_text=True)
    assert page.status_code == 422  # one swapped row and one unknown status: nothing yet
    # the report speaks Vietnamese, names rows as Excel does and offers the fix as a button
    assert "kinh độ và vĩ độ có vẻ bị đảo" in html and "Đổi kinh độ/vĩ độ (1 dòng)" in html
    assert "--fix-swapped" not in html and "fix-swapped" not in html
    detail = html.split('id="problems"')[1]
    row_of = lambda text: detail.split(text)[0].rsplit('<td class="num">', 1)[1].split("<")[0]  # noqa: E731
    assert row_of("có vẻ bị đảo") == str(SWAPPED)
    assert row_of("giá trị không được phép") == str(BAD_STATUS)
    assert row_of("nhưng vị trí nằm ở Xã Mường Xén") == str(ADDRESS_ELSEWHERE)
    assert row_of("nhưng chưa có ngày này") == str(CLEARED_NO_DATE)
    assert "địa chỉ ghi Xã Nậm Cắn nhưng vị trí nằm ở Xã Mường Xén" in html
    groups = html.split('id="groups"')[1].split("</table>")[0]
    assert groups.count("<tr>") == 1 + 4  # header + four kinds of problem
    today = date.today().strftime("%Y%m%d")
    assert f"Đã tạo mã cho 20 dòng" in html and f"retail_points-{today}-1" in html
    assert f"retail_points-{today}-20" in html

    # every row with its problems, as an Excel file with the officer's own rows
    pid = _pid(html)
    rows = client.get(f"/upload/{pid}/rows.xlsx")
    assert rows.status_code == 200
    sheet = load_workbook(io.BytesIO(rows.data)).worksheets[0]
    header = [c.value for c in sheet[1]]
    assert header[:len(HEADERS)] == HEADERS and header[-1] == "Vấn đề"
    assert sheet.max_row == 21 and sheet.title.startswith("MẬT")
    problems = {r: sheet.cell(row=r, column=len(header)).value for r in range(2, 22)}
    assert "bị đảo" in problems[SWAPPED] and "không được phép" in problems[BAD_STATUS]
    assert problems[2] is None and "Cảnh báo" in problems[ADDRESS_ELSEWHERE]
    other = app.test_client()
    login(other, "commander_user")
    assert other.get(f"/upload/{pid}/rows.xlsx").status_code == 404  # the uploader's only

    # the fix button checks the same file again with the rows swapped back
    fixed = _post(client, f"/upload/{pid}/fix/fix_swapped").get_data(as_text=True)
    assert "kinh độ và vĩ độ bị đảo, đã đổi lại" in fixed and "Đổi kinh độ/vĩ độ" not in fixed
    assert "19 hợp lệ" in fixed
    done = _post(client, f"/upload/{_pid(fixed)}/confirm")
    assert done.status_code == 200
    stored = _retail(app)
    ours = stored[stored["id"].str.startswith(f"retail_points-{today}-")]
    assert len(ours) == 19
    assert f"retail_points-{today}-{BAD_STATUS - 1}" not in set(ours["id"])
    moved = ours.set_index("id").loc[f"retail_points-{today}-{ADDRESS_ELSEWHERE - 1}"]
    assert moved["commune_code"] == "16813"  # where the point lies, not what the address said
    swapped = ours.set_index("id").loc[f"retail_points-{today}-{SWAPPED - 1}"]
    assert 103 < swapped.geometry.x < 106 and 18 < swapped.geometry.y < 20.5
    log = app.extensions["geo_pcmt_store"].read("audit_log", where={"action": "upload"})
    last = json.loads(log["detail"].iloc[-1])
    assert log["user"].iloc[-1] == "analyst_user" and last["stored"] is True
    assert last["ids_generated"] == 20 and last["fix_swapped"] is True


def test_the_same_report_in_english_on_lang_en(app):
    client = app.test_client()
    login(client, "analyst_user")
    html = _upload(client, retail_workbook(), "?lang=en").get_data(as_text=True)
    assert "latitude and longitude look swapped" in html and "Swap longitude/latitude" in html
    assert "the address names Xã Nậm Cắn but the point lies in Xã Mường Xén" in html
    assert "--fix-swapped" not in html
    assert f'/fix/fix_swapped?lang=en"' in html


def test_a_second_upload_the_same_day_continues_the_generated_ids(app):
    client = app.test_client()
    login(client, "analyst_user")
    today = date.today().strftime("%Y%m%d")
    for _ in range(2):
        html = _upload(client, retail_workbook()).get_data(as_text=True)
        pid = _pid(html)
        _post(client, f"/upload/{pid}/fix/fix_swapped")
        assert _post(client, f"/upload/{pid}/confirm").status_code == 200
    ids = set(_retail(app)["id"])
    assert {f"retail_points-{today}-{n}" for n in (1, 20, 21, 40)} <= ids
    assert len([i for i in ids if i.startswith(f"retail_points-{today}-")]) == 38


def test_viewers_get_no_upload_page_nor_templates(app):
    client = app.test_client()
    login(client, "viewer_user")
    assert client.get("/upload").status_code == 403
    assert client.get("/upload/template/retail_points.xlsx").status_code == 403


def test_the_template_round_trips_fill_the_example_row_upload_stored(app):
    client = app.test_client()
    login(client, "analyst_user")
    res = client.get("/upload/template/retail_points.xlsx")
    assert res.status_code == 200
    wb = load_workbook(io.BytesIO(res.data))
    assert wb.sheetnames == ["Nhập liệu", "Hướng dẫn", "Danh mục"]
    assert wb["Danh mục"].sheet_state == "hidden"
    ws = wb["Nhập liệu"]
    header = [c.value for c in ws[1]]
    assert header[:2] == ["Mã", "Nguồn"] and "Loại điểm" in header and header[-2:] == [
        "Kinh độ", "Vĩ độ"]
    lists = {str(dv.sqref).split(":")[0]: dv.formula1 for dv in ws.data_validations.dataValidation}
    type_col = ws.cell(row=1, column=header.index("Loại điểm") + 1).column_letter
    sheet, cells = lists[f"{type_col}2"].split("!")
    first, last = (c.replace("$", "") for c in cells.split(":"))
    offered = [c.value for row in wb[sheet.strip("'")][f"{first}:{last}"] for c in row]
    assert offered == ["Điểm bán lẻ", "Địa điểm tổ chức, chứa chấp", "Tụ điểm phức tạp"]
    assert ws.cell(row=2, column=header.index("Tình trạng") + 1).value == "Đang hoạt động"
    help_rows = [[c.value for c in r] for r in wb["Hướng dẫn"].iter_rows(min_row=3)]
    status_help = next(r for r in help_rows if r[0] == "Tình trạng")
    assert status_help[1] == "Status" and "có" in status_help[3]
    assert "Đã triệt xóa" in status_help[4] and "cleared" not in status_help[4]
    ws.cell(row=2, column=header.index("Tên/mô tả") + 1, value="Điểm điền từ mẫu")
    buf = io.BytesIO()
    wb.save(buf)
    page = _upload(client, buf.getvalue())
    assert page.status_code == 200, page.get_data(as_text=True)
    stored = _retail(app)
    row = stored[stored["name"] == "Điểm điền từ mẫu"]
    assert len(row) == 1 and row["id"].iloc[0].startswith("retail_points-")
    assert (row["type"].iloc[0], row["status"].iloc[0]) == ("diem_ban_le", "active")


def test_geo_pcmt_template_writes_the_workbook(tmp_path):
    from click.testing import CliRunner

    from geo_pcmt.cli import main
    out = tmp_path / "mau.xlsx"
    res = CliRunner().invoke(main, ["template", "opium_plots", "-o", str(out)])
    assert res.exit_code == 0, res.output
    header = [c.value for c in load_workbook(out)["Nhập liệu"][1]]
    assert "Ngày phát hiện" in header and "Diện tích (m²)" in header
    assert CliRunner().invoke(main, ["template", "audit_log"]).exit_code == 2


@pytest.mark.slow  # over ~0.5 s: out of the quick loop
def test_a_large_file_with_many_problems_gives_groups_not_one_long_table(app):
    client = app.test_client()
    login(client, "analyst_user")
    rows = "".join(f"diem_ban_le,Điểm {i},104.12,19.36,01/02/2024,{'sleeping' if i % 2 else 'active'}\n"
                   for i in range(1200))
    text = "Loại điểm,Tên,Kinh độ,Vĩ độ,Ngày phát hiện,Tình trạng\n" + rows
    html = _post(client, "/upload", layer="retail_points",
                 file=(io.BytesIO(text.encode()), "lon.csv")).get_data(as_text=True)
    groups = html.split('id="groups"')[1].split("</table>")[0]
    assert groups.count("<tr>") == 2 and '<td class="num">600</td>' in groups
    assert "3, 5, 7, 9" in groups  # Excel rows of the first ones, then "…"
    detail = html.split('id="problems"')[1].split("</table>")[0]
    assert detail.count("<tr>") == 1 + 300 and "300 vấn đề nữa" in html
    sheet = load_workbook(io.BytesIO(client.get(f"/upload/{_pid(html)}/rows.xlsx").data)).active
    assert sheet.max_row == 1201
    assert sum(1 for r in range(2, 1202) if sheet.cell(row=r, column=sheet.max_column).value
               and "không được phép" in sheet.cell(row=r, column=sheet.max_column).value) == 600
