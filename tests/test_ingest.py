"""Ingest: every kind of bad input gets an error naming row, field, value and reason."""
from __future__ import annotations

import io
import json
import zipfile
from datetime import date

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from geo_pcmt import ingest
from geo_pcmt.ingest import IngestError, read_any, validate

TODAY = date(2026, 11, 25)
HEADER = "id,type,name,lon,lat,first_seen,status,source\n"


def _csv(tmp_path, body: str, header: str = HEADER, name="points.csv"):
    p = tmp_path / name
    p.write_text(header + body, encoding="utf-8")
    return p


def _check(tmp_path, body, header=HEADER, **kw):
    return validate(read_any(_csv(tmp_path, body, header)), "retail_points", today=TODAY, **kw)


def _only_error(report):
    assert len(report.errors) == 1, [str(p) for p in report.problems]
    return report.errors[0]


def test_clean_csv_gets_commune_and_border_flag(tmp_path):
    rep = _check(tmp_path, "A1,diem_ban_le,Nhà bà Lầu Thị Mỷ,104.17,19.41,2024-03-01,active,CA xã\n")
    assert rep.ok and rep.rows_valid == 1
    row = rep.clean.iloc[0]
    assert row["commune_code"] == "16837" and row["is_border"] is True or row["is_border"] == True
    assert row["name"] == "Nhà bà Lầu Thị Mỷ"


def test_swapped_lat_lon_is_reported_with_row_number(tmp_path):
    rep = _check(tmp_path, "A1,diem_ban_le,x,104.17,19.41,2024-03-01,active,s\n"
                           "A2,diem_ban_le,y,19.41,104.17,2024-03-01,active,s\n")
    err = _only_error(rep)
    assert (err.row, err.field, err.code) == (2, "lat", "swapped_lat_lon")
    assert "lat/lon swapped" in str(err) and "row 2" in str(err)
    assert rep.rows_valid == 1


def test_fix_swapped_swaps_back_with_a_warning(tmp_path):
    rep = _check(tmp_path, "A2,diem_ban_le,y,19.41,104.17,2024-03-01,active,s\n", fix_swapped=True)
    assert rep.ok and rep.clean.geometry.iloc[0].x == pytest.approx(104.17)
    assert rep.warnings[0].code == "swapped_fixed"


def test_projected_coordinates_without_crs_are_refused_and_accepted_with_crs(tmp_path):
    body = "A1,diem_ban_le,x,412856,2146404,2024-03-01,active,s\n"
    err = _only_error(_check(tmp_path, body))
    assert err.code == "projected_coordinates" and "EPSG:32648" in err.reason
    rep = _check(tmp_path, body, crs="EPSG:32648")
    assert rep.ok and rep.clean.geometry.iloc[0].x == pytest.approx(104.17, abs=0.01)


def test_point_outside_the_province_reports_distance(tmp_path):
    err = _only_error(_check(tmp_path, "A1,diem_ban_le,x,105.84,21.03,2024-03-01,active,s\n"))
    assert err.code == "outside_province" and "km from the province boundary" in err.reason
    km = float(err.reason.split(", ")[1].split(" km")[0])
    assert 100 < km < 200  # Hà Nội is ~120 km north of Nghệ An


def test_bad_type_bad_date_future_date_and_disallowed_value(tmp_path):
    rep = _check(tmp_path,
                 "A1,diem_ban_le,x,abc,19.41,2024-03-01,active,s\n"
                 "A2,diem_ban_le,x,104.17,19.41,2024-13-45,active,s\n"
                 "A3,diem_ban_le,x,104.17,19.41,2030-01-01,active,s\n"
                 "A4,quan_cafe,x,104.17,19.41,2024-03-01,active,s\n"
                 "A5,diem_ban_le,x,104.17,19.41,15/03/2024,active,s\n")
    codes = {(p.row, p.field): p.code for p in rep.errors}
    assert codes[(1, "lon")] == "bad_type"
    assert codes[(2, "first_seen")] == "bad_type"
    assert codes[(3, "first_seen")] == "future_date"
    assert codes[(4, "type")] == "not_allowed"
    assert rep.rows_valid == 1 and rep.clean.iloc[0]["first_seen"] == "2024-03-15"


def test_missing_and_unknown_columns_reject_the_whole_file(tmp_path):
    rep = _check(tmp_path, "A1,diem_ban_le,104.17,19.41,active,s,x\n",
                 header="id,type,lon,lat,status,source,ghi_chu\n")
    fields = {p.field: p.code for p in rep.errors}
    assert fields["first_seen"] == "missing_column" and fields["ghi_chu"] == "unknown_column"
    assert rep.rows_valid == 0


def test_duplicate_ids_name_the_first_row(tmp_path):
    err = _only_error(_check(tmp_path, "A1,diem_ban_le,x,104.17,19.41,2024-03-01,active,s\n"
                                       "A1,diem_ban_le,y,104.18,19.41,2024-03-01,active,s\n"))
    assert (err.row, err.field, err.code) == (2, "id", "duplicate_id") and "row 1" in err.reason


def test_script_in_a_name_is_kept_as_text_with_a_warning(tmp_path):
    name = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
    rep = _check(tmp_path, f'A1,diem_ban_le,"{name.replace(chr(34), chr(34) * 2)}",104.17,19.41,2024-03-01,active,s\n')
    assert rep.ok and rep.clean.iloc[0]["name"] == name
    assert rep.warnings[0].code == "html_text"


def test_huge_string_is_refused(tmp_path):
    err = _only_error(_check(tmp_path, f"A1,diem_ban_le,{'x' * 10_000},104.17,19.41,2024-03-01,active,s\n"))
    assert err.code == "too_long" and err.field == "name"


def test_address_without_coordinates_is_placed_at_the_commune(tmp_path):
    header = "id,type,address,first_seen,status,source\n"
    rep = _check(tmp_path, "A1,diem_ban_le,\"Bản Huồi Khe, xã Nậm Cắn, huyện Kỳ Sơn\",2024-03-01,active,s\n"
                           "A2,diem_ban_le,\"xóm 3, xã Không Có Thật\",2024-03-01,active,s\n",
                 header=header)
    assert rep.rows_valid == 1
    assert rep.clean.iloc[0]["commune_code"] == "16837"
    assert rep.clean.iloc[0]["geocode_quality"] == "commune"
    err = _only_error(rep)
    assert (err.row, err.field) == (2, "address") and err.code.startswith("geocode_")


def test_file_over_the_size_limit_is_refused(tmp_path):
    p = _csv(tmp_path, "A1,diem_ban_le,x,104.17,19.41,2024-03-01,active,s\n" * 100)
    with pytest.raises(IngestError, match="over the limit"):
        read_any(p, max_bytes=1000)


def test_xlsx_zip_bomb_is_refused(tmp_path, monkeypatch):
    p = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(p, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/worksheets/sheet1.xml", b"0" * (30 * 1024 * 1024))
    monkeypatch.setattr(ingest.reading, "MAX_XLSX_UNPACKED", 10 * 1024 * 1024)
    with pytest.raises(IngestError, match="zip bomb"):
        read_any(p)


def test_xlsx_with_vietnamese_dates_reads(tmp_path):
    df = pd.DataFrame({"id": ["A1"], "type": ["diem_ban_le"], "lon": [104.17], "lat": [19.41],
                       "first_seen": ["01/02/2024"], "status": ["watch"], "source": ["s"]})
    p = tmp_path / "pts.xlsx"
    df.to_excel(p, index=False)
    rep = validate(read_any(p), "retail_points", today=TODAY)
    assert rep.ok and rep.clean.iloc[0]["first_seen"] == "2024-02-01"


def test_invalid_polygon_is_reported_and_repaired_only_when_asked(tmp_path):
    bowtie = shapely.Polygon([(104.5, 19.6), (104.51, 19.61), (104.51, 19.6), (104.5, 19.61)])
    gdf = gpd.GeoDataFrame({"id": ["P1"], "source": ["s"], "area_m2": [300.0],
                            "detected_on": ["2024-02-01"]}, geometry=[bowtie], crs=4326)
    path = tmp_path / "plots.geojson"
    gdf.to_file(path)
    err = _only_error(validate(read_any(path), "opium_plots", today=TODAY))
    assert err.code == "invalid_geometry" and "Self-intersection" in err.reason
    rep = validate(read_any(path), "opium_plots", repair=True, today=TODAY)
    assert rep.ok and rep.clean.geometry.iloc[0].is_valid
    assert rep.warnings[0].code == "repaired_geometry"


def test_empty_geometry_and_projected_gpkg_are_handled(tmp_path):
    gdf = gpd.GeoDataFrame({"id": ["C1", "C2"], "source": "s", "kind": "trail",
                            "name": ["Đường mòn 1", "Đường mòn 2"]},
                           geometry=[shapely.Point(104.2, 19.4), shapely.Point()], crs=4326)
    path = tmp_path / "x.gpkg"
    gdf.to_crs(32648).to_file(path, driver="GPKG")
    rep = validate(read_any(path), "border_crossings", today=TODAY)
    err = _only_error(rep)
    assert (err.row, err.code) == (2, "empty_geometry")
    assert rep.clean.geometry.iloc[0].x == pytest.approx(104.2)


def test_unknown_commune_code_in_a_table_is_refused(tmp_path):
    df = pd.DataFrame({"id": ["a"], "source": ["s"], "commune_code": ["99999"],
                       "period": ["2024"], "population": ["5000"]})
    err = _only_error(validate(df, "commune_assessments", today=TODAY))
    assert (err.row, err.field, err.code) == (1, "commune_code", "unknown_commune")


def test_negative_count_and_zero_population_are_refused():
    df = pd.DataFrame({"id": ["a", "b"], "source": ["s", "s"], "commune_code": ["16837", "16837"],
                       "period": ["2024", "2025"], "population": ["0", "5000"],
                       "users": ["3", "-2"]})
    rep = validate(df, "commune_assessments", today=TODAY)
    assert {(p.row, p.field) for p in rep.errors} == {(1, "population"), (2, "users")}


def test_load_stores_nothing_when_any_row_is_bad_unless_keep_valid(store, tmp_path):
    p = _csv(tmp_path, "A1,diem_ban_le,x,104.17,19.41,2024-03-01,active,s\n"
                       "A2,diem_ban_le,y,19.41,104.17,2024-03-01,active,s\n")
    rep, written = ingest.load(store, "retail_points", p)
    assert not rep.ok and written is None and store.count("retail_points") == 0
    rep, written = ingest.load(store, "retail_points", p, keep_valid=True)
    assert written.inserted == 1 and store.count("retail_points") == 1


def test_report_serialises_to_json(tmp_path):
    rep = _check(tmp_path, "A1,diem_ban_le,x,19.41,104.17,2024-03-01,active,s\n")
    data = json.loads(json.dumps(rep.as_dict()))
    assert data["ok"] is False and data["problems"][0]["row"] == 1


KML = """<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document>
<Placemark><name>Đường mòn Huồi Khe</name><ExtendedData>
<Data name="id"><value>T1</value></Data><Data name="kind"><value>trail</value></Data>
<Data name="source"><value>Đồn BP Nậm Cắn</value></Data></ExtendedData>
<Point><coordinates>104.10,19.45,0</coordinates></Point></Placemark>
</Document></kml>"""


def test_kml_from_google_earth_reads_as_a_2d_border_crossing(tmp_path):
    p = tmp_path / "trails.kml"
    p.write_text(KML, encoding="utf-8")
    rep = validate(read_any(p), "border_crossings", today=TODAY)
    assert rep.ok, [str(x) for x in rep.problems]
    row = rep.clean.iloc[0]
    assert row["name"] == "Đường mòn Huồi Khe" and row["kind"] == "trail"
    assert not rep.clean.geometry.iloc[0].has_z


# --- headers, generated ids, cross-checks (issue 20) --------------------------------------

@pytest.mark.parametrize("lon, lat, typ, seen", [
    ("Kinh độ", "Vĩ độ", "Loại điểm", "Ngày phát hiện"),
    ("kinh do", "vi do", "loai", "ngay phat hien"),
    ("KINH_ĐỘ", "VĨ_ĐỘ", "Loại", "Phát hiện lần đầu"),
    ("Longitude", "Latitude", "Type", "First seen"),
    ("lng", "lat", "type", "first_seen"),
])
def test_headers_match_with_and_without_diacritics_in_vietnamese_and_english(
        tmp_path, lon, lat, typ, seen):
    header = f"Mã,{typ},Tên,{lon},{lat},{seen},Tình trạng,Nguồn\n"
    rep = _check(tmp_path, "A1,diem_ban_le,Nhà X,104.17,19.41,01/03/2024,active,CA xã\n", header)
    assert rep.ok, [str(p) for p in rep.problems]
    row = rep.clean.iloc[0]
    assert (row["id"], row["type"], row["first_seen"]) == ("A1", "diem_ban_le", "2024-03-01")
    assert row.geometry.x == pytest.approx(104.17)


def test_the_same_word_is_the_field_of_each_layer():
    from geo_pcmt.ingest.headers import match_headers
    from geo_pcmt.layers import get_layer
    assert match_headers(["Loại"], get_layer("retail_points")) == {"Loại": "type"}
    assert match_headers(["Loại"], get_layer("cases")) == {"Loại": "kind"}
    assert match_headers(["Ngày phát hiện"], get_layer("opium_plots")) == {
        "Ngày phát hiện": "detected_on"}
    assert match_headers(["Ghi chú", "Mã", "ma"], get_layer("retail_points")) == {
        "Ghi chú": "ghi_chu", "Mã": "id", "ma": "id_2"}  # a second id column is not merged


def test_rows_without_ids_get_stable_ids_shown_in_the_report(tmp_path):
    header = "Loại điểm,Kinh độ,Vĩ độ,Ngày phát hiện,Tình trạng\n"
    body = ("diem_ban_le,104.17,19.41,2024-03-01,active\n"
            "diem_ban_le,104.18,19.41,2024-03-01,active\n")
    p = _csv(tmp_path, body, header)
    one = validate(read_any(p), "retail_points", today=TODAY, source="tệp")
    two = validate(read_any(p), "retail_points", today=TODAY, source="tệp")
    assert one.ok and one.generated_ids == {1: "retail_points-20261125-1",
                                            2: "retail_points-20261125-2"}
    assert one.clean["id"].tolist() == two.clean["id"].tolist()  # the same file, the same ids
    later = validate(read_any(p), "retail_points", today=TODAY, id_start=7, source="tệp")
    assert later.clean["id"].tolist() == ["retail_points-20261125-7", "retail_points-20261125-8"]
    assert one.as_dict()["generated_ids"] == {"2": "retail_points-20261125-1",
                                              "3": "retail_points-20261125-2"}


def test_a_blank_id_cell_gets_one_and_a_given_id_is_kept(tmp_path):
    rep = _check(tmp_path, "A1,diem_ban_le,x,104.17,19.41,2024-03-01,active,s\n"
                           ",diem_ban_le,y,104.18,19.41,2024-03-01,active,s\n")
    assert rep.ok and rep.clean["id"].tolist() == ["A1", "retail_points-20261125-1"]


def test_problems_name_the_row_as_excel_shows_it(tmp_path):
    rep = _check(tmp_path, "A1,diem_ban_le,x,104.17,19.41,2024-03-01,active,s\n"
                           "A2,diem_ban_le,y,104.17,19.41,2024-03-01,sleeping,s\n")
    err = _only_error(rep)
    assert (err.row, err.sheet_row) == (2, 3) and err.as_dict()["sheet_row"] == 3


def test_status_and_dates_that_do_not_go_together_are_warned(tmp_path):
    header = "id,type,lon,lat,first_seen,status,cleared_on,source\n"
    rep = _check(tmp_path, "A1,diem_ban_le,104.17,19.41,2024-03-01,cleared,,s\n"
                           "A2,diem_ban_le,104.17,19.41,2024-03-01,active,2024-05-01,s\n"
                           "A3,diem_ban_le,104.17,19.41,2024-03-01,cleared,2024-05-01,s\n"
                           "A4,diem_ban_le,104.17,19.41,2024-03-01,re-emerged,2024-05-01,s\n",
                 header)
    assert rep.ok and rep.rows_valid == 4
    assert [(w.row, w.code) for w in rep.warnings] == [(1, "status_without_date"),
                                                       (2, "date_against_status")]


def test_an_address_naming_another_commune_than_the_point_is_warned(tmp_path):
    from geo_pcmt.ingest.problem_text import problem_text
    from geo_pcmt.layers import get_layer
    c = ingest.boundaries.communes().set_index("name")
    xen = c.loc["Xã Mường Xén"].geometry.representative_point()
    can = c.loc["Xã Nậm Cắn"].geometry.representative_point()
    header = "id,type,address,lon,lat,first_seen,status,source\n"
    rep = _check(tmp_path, f"A1,diem_ban_le,\"Bản Huồi Khe, xã Nậm Cắn\",{xen.x},{xen.y},"
                           f"2024-03-01,active,s\n"
                           f"A2,diem_ban_le,\"Bản Huồi Khe, xã Nậm Cắn\",{can.x},{can.y},"
                           f"2024-03-01,active,s\n"
                           f"A3,diem_ban_le,Bản không ai biết,{can.x},{can.y},2024-03-01,active,s\n",
                 header)
    assert rep.ok and [(w.row, w.code) for w in rep.warnings] == [(1, "address_commune")]
    assert rep.clean["commune_code"].tolist()[0] == "16813"  # the point decides
    text = problem_text(rep.warnings[0], get_layer("retail_points"))
    assert "địa chỉ ghi Xã Nậm Cắn nhưng vị trí nằm ở Xã Mường Xén" in text


def test_coded_values_may_be_written_in_vietnamese_words(tmp_path):
    header = "Mã,Loại điểm,Kinh độ,Vĩ độ,Ngày phát hiện,Tình trạng,Mức mật\n"
    rep = _check(tmp_path, "A1,Tụ điểm phức tạp,104.17,19.41,2024-03-01,Đang hoạt động,MẬT\n"
                           "A2,tu diem phuc tap,104.17,19.41,2024-03-01,THEO DÕI,Công khai\n",
                 header, source="tệp")
    assert rep.ok, [str(p) for p in rep.problems]
    assert rep.clean["type"].tolist() == ["tu_diem_phuc_tap"] * 2
    assert rep.clean["status"].tolist() == ["active", "watch"]
    assert rep.clean["confidentiality"].tolist() == ["restricted", "public"]


def test_every_uploadable_layer_has_a_template_whose_example_row_loads(tmp_path):
    from geo_pcmt.ingest.loading import uploadable_layers
    from geo_pcmt.outputs.template import has_template, write_template
    for layer in filter(has_template, uploadable_layers()):
        path = write_template(layer, str(tmp_path / f"{layer}.xlsx"), today=TODAY)
        rep = validate(read_any(path), layer, today=TODAY)
        assert rep.ok and rep.rows_valid == 1, (layer, [str(p) for p in rep.problems])
        assert not rep.warnings, (layer, [str(p) for p in rep.warnings])
