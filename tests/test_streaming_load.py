"""Loading a file in chunks (ingest/streaming.py) gives what a one-shot load gives: the same
stored rows, the same problems with the row numbers Excel/CSV shows across chunk
boundaries, and nothing stored when a later chunk has a bad row."""
from __future__ import annotations

import sqlite3

import pandas as pd
import pyogrio
import pytest
import shapely

from geo_pcmt import ingest
from geo_pcmt.ingest.streaming import load_chunked, read_chunks

HEADER = ["id", "type", "status", "first_seen", "name", "lon", "lat"]


def records(n: int) -> list[list[str]]:
    """n valid retail points in Mường Xén, as an officer's sheet holds them (text)."""
    return [[f"RP-{i:05d}", "diem_ban_le", "active", "2024-03-01", f"Nhà số {i}",
             f"{104.17 + (i % 10) * 1e-3:.4f}", f"{19.41 + (i // 10) * 1e-3:.4f}"]
            for i in range(n)]


def with_problems(n: int = 40) -> list[list[str]]:
    rows = records(n)
    rows[2][1] = "khong_co"                 # not an allowed type (chunk 1)
    rows[6][0] = rows[1][0]                 # duplicate of row 2, across a boundary (chunk 2)
    rows[7][0] = ""                         # id generated
    rows[15][0] = ""                        # id generated, in another chunk
    rows[20][3] = "2024-13-45"              # bad date (chunk 3)
    rows[21][5], rows[21][6] = rows[21][6], rows[21][5]  # lat/lon swapped
    rows[34][4] = "<b>đậm</b>"              # a warning, kept
    return rows


def write_csv(path, rows) -> None:
    pd.DataFrame(rows, columns=HEADER).to_csv(path, index=False, encoding="utf-8")


def stored(store) -> pd.DataFrame:
    frame = store.read("retail_points")
    return frame.drop(columns=["created_at", "updated_at"]).reset_index(drop=True)


def problems(report) -> list[dict]:
    return [p.as_dict() for p in report.problems]


@pytest.mark.parametrize("chunk_rows", [3, 7, 1000])
def test_chunked_load_stores_and_reports_as_a_one_shot_load(empty_store, tmp_path,
                                                             chunk_rows):
    path = tmp_path / "diem.csv"
    write_csv(path, with_problems())
    one_store = type(empty_store)(tmp_path / "one.gpkg")
    one_store.path.write_bytes(empty_store.path.read_bytes())
    one, one_written = ingest.load(one_store, "retail_points", path, keep_valid=True)
    got, written = load_chunked(empty_store, "retail_points", path, keep_valid=True,
                                chunk_rows=chunk_rows)
    assert problems(got) == problems(one) and len(got.problems) == 5
    assert got.rows_total == one.rows_total == 40
    assert got.rows_rejected == one.rows_rejected
    assert got.generated_ids == one.generated_ids and len(got.generated_ids) == 2
    assert got.rows_valid == one.rows_valid == written.inserted == one_written.inserted
    assert stored(empty_store).equals(stored(one_store))
    dup = [p for p in got.problems if p.code == "duplicate_id"]
    assert [(p.row, p.sheet_row) for p in dup] == [(7, 8)]
    assert "first used in row 2" in dup[0].reason


def test_a_bad_row_in_the_third_chunk_stores_nothing_and_names_its_row(empty_store,
                                                                        tmp_path):
    empty_store.write("retail_points", ingest.validate(
        pd.DataFrame(records(3), columns=HEADER).assign(id=["A-1", "A-2", "A-3"]),
        "retail_points", source="test").clean)
    rows = records(30)
    rows[23][3] = "ngày mai"  # row 24 of the records, sheet row 25: in chunk 3 of 10
    path = tmp_path / "diem.csv"
    write_csv(path, rows)
    seen = []
    report, written = load_chunked(empty_store, "retail_points", path, chunk_rows=10,
                                   on_chunk=lambda k, done: seen.append((k, done)))
    assert written is None and not report.ok
    assert [(p.row, p.sheet_row, p.field) for p in report.errors] == [(24, 25, "first_seen")]
    assert seen == [(1, 10), (2, 20), (3, 30)]
    assert empty_store.count("retail_points") == 3  # chunks 1 and 2 were rolled back
    with sqlite3.connect(empty_store.path) as conn:
        assert conn.execute("SELECT rtreecheck('rtree_retail_points_geom')").fetchone() == ("ok",)
        assert conn.execute("SELECT count(*) FROM rtree_retail_points_geom").fetchone() == (3,)
        assert conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND "
                            "tbl_name = 'retail_points'").fetchone()[0] >= 7


def test_xlsx_and_geopackage_chunks_are_what_a_one_shot_read_gives(tmp_path):
    frame = pd.DataFrame(records(25), columns=HEADER)
    frame["lon"] = frame["lon"].astype(float)  # numbers as Excel keeps them
    frame.loc[3, "name"] = None
    frame.loc[4, "lon"] = 104.0  # a whole number: "104" as pandas reads it
    xlsx = tmp_path / "diem.xlsx"
    frame.to_excel(xlsx, index=False)
    whole = ingest.read_any(xlsx)
    chunks = list(read_chunks(xlsx, chunk_rows=10))
    assert [len(c) for c in chunks] == [10, 10, 5]
    assert pd.concat(chunks, ignore_index=True).equals(whole)

    gpkg = tmp_path / "diem.gpkg"
    points = ingest.validate(pd.DataFrame(records(25), columns=HEADER), "retail_points",
                             source="test").clean
    pyogrio.write_dataframe(points, gpkg, layer="retail_points")
    whole = ingest.read_any(gpkg)
    chunks = list(read_chunks(gpkg, chunk_rows=10))
    assert [len(c) for c in chunks] == [10, 10, 5]
    together = pd.concat(chunks, ignore_index=True)
    assert together.drop(columns="geometry").equals(whole.drop(columns="geometry"))
    assert shapely.equals(together.geometry.values, whole.geometry.values).all()


def test_a_chunked_load_of_a_geopackage_stores_every_row_with_its_index(empty_store,
                                                                         tmp_path):
    gpkg = tmp_path / "diem.gpkg"
    points = ingest.validate(pd.DataFrame(records(60), columns=HEADER), "retail_points",
                             source="test").clean
    pyogrio.write_dataframe(points, gpkg, layer="retail_points")
    report, written = load_chunked(empty_store, "retail_points", gpkg, chunk_rows=25)
    assert report.ok and written.inserted == 60 == empty_store.count("retail_points")
    box = (104.170, 19.410, 104.1745, 19.4145)
    expected = int(shapely.intersects(points.geometry.values, shapely.box(*box)).sum())
    assert empty_store.count("retail_points", bbox=box) == expected > 0
