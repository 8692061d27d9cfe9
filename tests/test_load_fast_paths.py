"""The column-wise paths that make ``geo-pcmt load`` fast (issue 21) say what the cell-by-cell
checks say: the same rows, fields and words, nothing more and nothing less."""
from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
import shapely

from geo_pcmt.ingest import validate
from geo_pcmt.layers import get_layer
from geo_pcmt.store import frames
from geo_pcmt.store.base import StoreError
from geo_pcmt.store.gpkg_geometry import _HEADER_NO_ENV, decode_geometries, encode_geometries

TODAY = date(2026, 11, 25)


def _sheet(names: list[str]) -> pd.DataFrame:
    """An officer's sheet as CSV gives it (all text), one row per name."""
    n = len(names)
    return pd.DataFrame({"id": [f"A{i}" for i in range(n)], "type": "diem_ban_le",
                         "name": names, "lon": "104.17", "lat": "19.41",
                         "first_seen": "2024-03-01", "status": "active"}, dtype=str)


def test_script_and_control_text_among_plain_names_are_found_in_their_own_rows():
    names = [f"Nhà ông Nguyễn Văn {i}" for i in range(12)]
    names[3] = "Quán <b>Hoa</b>"
    names[7] = "Tên\x01ẩn"
    names[9] = "  "
    names[10] = "x" * (get_layer("retail_points").field("name").max_length + 1)
    rep = validate(_sheet(names), "retail_points", today=TODAY, source="s")
    got = sorted((p.row, p.field, p.code) for p in rep.problems)
    assert got == [(4, "name", "html_text"), (8, "name", "control_chars"),
                   (11, "name", "too_long")]
    # kept as written (the script text too); a blank optional name stays empty
    kept = [None if pd.isna(v) else v for v in rep.clean["name"]]
    assert kept == [v if v.strip() else None for i, v in enumerate(names) if i not in (7, 10)]


def test_a_match_cannot_run_from_one_cell_into_the_next():
    # "…<" then "b…": joined without a separator these would read as a tag; "…on" then
    # "x=…" as an event handler
    rep = validate(_sheet(["Quán <", "b Hoa", "Hàng on", "x=1", "javascript", ":a"]),
                   "retail_points", today=TODAY, source="s")
    assert rep.problems == [] and rep.rows_valid == 6


def test_repeated_bad_values_are_reported_on_every_row_holding_them():
    sheet = _sheet(["a", "b", "c", "d", "e"])
    sheet["status"] = ["active", "gone", "active", "gone", "Đang hoạt động"]
    sheet["first_seen"] = ["2024-03-01", "2030-01-01", "01/03/2024", "2030-01-01", "x"]
    rep = validate(sheet, "retail_points", today=TODAY, source="s")
    got = [(p.row, p.field, p.code) for p in rep.problems]
    assert got == [(2, "first_seen", "future_date"), (2, "status", "not_allowed"),
                   (4, "first_seen", "future_date"), (4, "status", "not_allowed"),
                   (5, "first_seen", "bad_type")]
    assert rep.clean["status"].tolist() == ["active", "active"]  # the Vietnamese word read


def test_point_blobs_are_the_bytes_of_the_general_encoder_and_read_back():
    pts = shapely.points(np.random.default_rng(1).uniform([103, 18], [106, 20], (500, 2)))
    fast = encode_geometries(pts)
    assert fast == [_HEADER_NO_ENV + w for w in shapely.to_wkb(pts, byte_order=1, flavor="iso")]
    assert shapely.equals(decode_geometries(fast), pts).all()
    mixed = np.append(pts[:2], shapely.Point(104, 19, 7))  # a 3D point: the general path
    assert shapely.get_coordinates(decode_geometries(encode_geometries(mixed)[2:]),
                                   include_z=True).tolist() == [[104, 19, 7]]


def test_a_bad_value_repeated_in_a_column_is_named_at_its_first_row():
    values = np.array(["2024-01-01", None, "2024-01-01", "2024-13-01", "2024-13-01"],
                      dtype=object)
    with pytest.raises(frames._CellError) as info:
        frames._convert_column(values, "date", "retail_points", "first_seen",
                               pd.RangeIndex(10, 15))
    assert info.value.position == 3 and "row 13, field 'first_seen'" in str(info.value.error)
    assert frames._convert_column(values[:3], "date", "x", "d", pd.RangeIndex(3)) == \
        ["2024-01-01", None, "2024-01-01"]


def test_prepared_rows_by_column_and_by_row_agree():
    layer = get_layer("retail_points")
    rep = validate(_sheet(["a", "b"]), layer, today=TODAY, source="s")
    prepared = frames.prepare(layer, rep.clean, stamp="2026-11-25T00:00:00Z")
    assert prepared.values == [list(r) for r in zip(*prepared.columns)]
    row = dict(zip(prepared.cols, prepared.values[1]))
    assert row["id"] == "A1" and row["confidentiality"] == layer.confidentiality_default
    assert row["updated_at"] == row["created_at"] == "2026-11-25T00:00:00Z"
    with pytest.raises(StoreError, match="row 0, field 'status'"):
        frames.prepare(layer, rep.clean.assign(status=[None, "active"]))
