"""The shipped real boundaries load on their own and agree with the official counts."""
from __future__ import annotations

import shapely

from geo_pcmt.ingest import boundaries


def test_130_communes_119_xa_11_phuong_valid_coverage(communes):
    assert len(communes) == 130
    assert (communes["kind"] == "xa").sum() == 119 and (communes["kind"] == "phuong").sum() == 11
    assert communes.geometry.is_valid.all()
    assert shapely.coverage_is_valid(communes.geometry.values)
    assert communes["code"].is_unique and communes["code"].str.fullmatch(r"\d{5}").all()


def test_named_communes_keep_their_diacritics(communes):
    names = set(communes["name"])
    assert {"Xã Nậm Cắn", "Xã Mường Xén", "Xã Thông Thụ", "Phường Thành Vinh"} <= names
    assert communes.set_index("code").loc["16837", "name"] == "Xã Nậm Cắn"


def test_21_border_communes_each_face_a_lao_province(communes):
    border = communes[communes["is_border"]]
    assert len(border) == 21
    assert set(border["lao_province"]) == {"Hủa Phăn", "Xiêng Khoảng", "Bô Ly Khăm Xay"}
    assert communes.loc[~communes["is_border"], "lao_province"].isna().all()


def test_border_line_has_three_segments_464_km():
    line = boundaries.border_line()
    assert set(line["lao_province"]) == {"Hủa Phăn", "Xiêng Khoảng", "Bô Ly Khăm Xay"}
    km = line.to_crs(32648).length.sum() / 1000
    assert 460 < km < 468


def test_crosswalk_maps_412_old_communes_to_130_with_four_partial_rows():
    cw = boundaries.commune_lineage()
    assert cw["old_code"].nunique() == 412 and cw["new_code"].nunique() == 130
    assert (cw["share"] == "partial").sum() == 4
    assert len(boundaries.pre2025_communes()) == 412


def test_gates_are_marked_approximate_and_lie_on_their_host_commune(communes):
    gates = boundaries.border_gates()
    assert (gates["position_quality"] == "approximate").all()
    assert dict(zip(gates["name"], gates["kind"]))["Cửa khẩu quốc tế Nậm Cắn"] == "international"
    polys = communes.set_index("code").to_crs(32648).geometry
    for code, gate in zip(gates["commune_code"], gates.to_crs(32648).geometry):
        assert polys[code].distance(gate) < 50  # on the border edge of the host commune


def test_boundary_files_ship_inside_the_repository():
    from geo_pcmt.paths import REPO_DIR
    folder = boundaries.BOUNDARIES_DIR
    assert folder.resolve().is_relative_to(REPO_DIR)
    for name in ("nghean_communes_2025.geojson", "nghean_province.geojson",
                 "vn_la_border_nghean.geojson", "la_provinces_adjacent.geojson",
                 "border_gates_approx.geojson", "nghean_communes_pre2025.csv",
                 "nghean_crosswalk_pre2025_to_2025.csv", "PROVENANCE.md"):
        assert (folder / name).is_file(), name
    assert not list(folder.glob("*districts*"))  # the GPL-3.0 district file stays out
