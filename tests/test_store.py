"""GeoPackageStore: round-trips, filters, write modes, atomicity, audit."""
from __future__ import annotations

import multiprocessing as mp
import os
import signal
import sqlite3
import time

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely

from geo_pcmt import boundaries
from geo_pcmt.layers import LAYERS
from geo_pcmt.seed import read_sample
from geo_pcmt.store import GeoPackageStore, StoreError

from .conftest import retail_frame


def test_boundaries_round_trip_through_the_store(store, communes):
    back = store.read("communes")
    assert len(back) == 130
    assert set(back["name"]) == set(communes["name"])
    assert back.crs.to_epsg() == 4326
    merged = back.set_index("code").geometry
    for code, geom in zip(communes["code"], communes.geometry):
        assert merged[code].equals_exact(geom, 1e-9)
    assert store.count("commune_lineage") == 414


@pytest.mark.parametrize("layer", sorted(read_sample().keys()))
def test_every_sample_layer_round_trips_through_the_store(empty_store, layer):
    frame = read_sample()[layer]
    empty_store.write(layer, frame)
    back = empty_store.read(layer)
    assert len(back) == len(frame)
    assert list(back["id"]) == list(frame["id"].astype(str))
    if isinstance(frame, gpd.GeoDataFrame):
        assert shapely.equals_exact(back.geometry.values, frame.geometry.values, 1e-9).all()
    for col in ("source", "confidentiality"):
        if col in frame.columns:
            assert list(back[col]) == list(frame[col])


def test_gdal_reads_the_store_as_a_standard_geopackage_with_spatial_index(store):
    info = pyogrio.read_info(store.path, layer="communes")
    assert info["features"] == 130
    assert info["crs"] == "EPSG:4326"
    df = pyogrio.read_dataframe(store.path, layer="communes", bbox=(104.05, 19.35, 104.2, 19.5))
    ours = store.read("communes", bbox=(104.05, 19.35, 104.2, 19.5))
    assert set(df["code"]) == set(ours["code"]) and len(ours) > 0


def test_read_filters_bbox_where_columns_limit_offset(store):
    store.write("retail_points", retail_frame(250))
    assert store.count("retail_points") == 250
    page = store.read("retail_points", limit=100, offset=200, columns=["name"])
    assert list(page.columns) == ["id", "name", "geometry"]
    assert len(page) == 50 and page["id"].iloc[0] == "RP-000200"
    inside = store.read("retail_points", bbox=(104.17, 19.41, 104.1749, 19.4101))
    assert len(inside) == 100 and store.count("retail_points", bbox=(104.17, 19.41, 104.1749, 19.4101)) == 100
    assert store.count("retail_points", where={"id": ["RP-000001", "RP-000002", "nope"]}) == 2
    assert store.count("retail_points", where={"first_seen": slice("2023-01-01", "2024-12-31")}) == 250
    assert store.count("retail_points", where={"first_seen": slice("2025-01-01", None)}) == 0


def test_where_never_pastes_values_into_sql(store):
    store.write("retail_points", retail_frame(3))
    assert store.count("retail_points", where={"name": "x' OR '1'='1"}) == 0
    with pytest.raises(KeyError):
        store.read("retail_points", where={"name = name; DROP TABLE communes; --": 1})
    assert store.count("communes") == 130


def test_append_refuses_existing_ids_and_stores_nothing(store):
    store.write("retail_points", retail_frame(10))
    with pytest.raises(StoreError, match="already stored"):
        store.write("retail_points", retail_frame(10, start=5))
    assert store.count("retail_points") == 10


def test_upsert_updates_by_id_and_keeps_created_at(store):
    store.write("retail_points", retail_frame(10))
    created = store.read("retail_points", where={"id": "RP-000003"})["created_at"].iloc[0]
    changed = retail_frame(12, start=0)
    changed["status"] = "cleared"
    changed["cleared_on"] = "2024-06-01"
    time.sleep(1.1)
    rep = store.write("retail_points", changed, mode="upsert")
    assert (rep.inserted, rep.updated, rep.count_after) == (2, 10, 12)
    row = store.read("retail_points", where={"id": "RP-000003"}).iloc[0]
    assert row["status"] == "cleared" and row["created_at"] == created
    assert row["updated_at"] > created


def test_replace_empties_the_layer_in_the_same_transaction(store):
    store.write("retail_points", retail_frame(10))
    rep = store.write("retail_points", retail_frame(3, start=100), mode="replace")
    assert rep.deleted == 10 and store.count("retail_points") == 3


def test_wrong_crs_unknown_column_and_wrong_geometry_are_refused(store):
    bad = retail_frame(2).to_crs(32648)
    with pytest.raises(StoreError, match="EPSG:4326"):
        store.write("retail_points", bad)
    extra = retail_frame(2)
    extra["secret_note"] = "x"
    with pytest.raises(StoreError, match="unknown column"):
        store.write("retail_points", extra)
    poly = retail_frame(1)
    poly.geometry = [shapely.box(104, 19, 104.1, 19.1)]
    with pytest.raises(StoreError, match="geometry type"):
        store.write("retail_points", poly)
    assert store.count("retail_points") == 0


def test_a_bad_value_late_in_a_write_rolls_back_the_whole_write(store):
    frame = retail_frame(500)
    frame.loc[499, "first_seen"] = "not a date"
    with pytest.raises(StoreError, match="row 499, field 'first_seen'"):
        store.write("retail_points", frame)
    assert store.count("retail_points") == 0


def test_every_write_is_in_the_audit_log(store):
    store.write("retail_points", retail_frame(2), user="analyst1")
    store.delete("retail_points", ["RP-000000"], user="admin1")
    log = store.read("audit_log")
    assert {"analyst1", "admin1"} <= set(log["user"])
    assert "delete" in set(log["action"])
    with pytest.raises(StoreError, match="append-only"):
        store.write("audit_log", pd.DataFrame({"id": ["x"]}))


def _writer(path: str, start: int) -> None:  # runs in a child process
    s = GeoPackageStore(path)
    while True:
        s.write("retail_points", retail_frame(20_000, start=start))
        start += 20_000


def test_killing_a_writer_mid_write_leaves_every_earlier_record_intact(store):
    store.write("retail_points", retail_frame(1000))
    before = store.read("retail_points")
    ctx = mp.get_context("spawn")
    child = ctx.Process(target=_writer, args=(str(store.path), 1_000_000))
    child.start()
    # wait until the child is inside its first write transaction, then kill it
    deadline = time.time() + 60
    wal = store.path.with_name(store.path.name + "-wal")
    while time.time() < deadline and (not wal.exists() or wal.stat().st_size < 200_000):
        time.sleep(0.01)
    time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)
    child.join()
    assert store.check() == "ok"
    after = store.read("retail_points")
    assert (len(after) - 1000) % 20_000 == 0  # whole writes only
    kept = after.set_index("id").loc[before["id"]]
    assert list(kept["name"]) == list(before["name"])
    assert pyogrio.read_info(store.path, layer="retail_points")["features"] == len(after)
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_store_file_is_created_under_a_missing_folder(tmp_path):
    s = GeoPackageStore(tmp_path / "deep" / "er" / "s.gpkg")
    s.init(["communes"])
    s.write("communes", boundaries.communes().head(3))
    assert s.count("communes") == 3 and "communes" in [l.name for l in s.layers()]


def test_every_layer_has_a_table_after_init(empty_store):
    names = {l.name for l in empty_store.layers()}
    assert set(LAYERS) <= names
