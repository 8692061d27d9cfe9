"""The store contract, run against both backends: GeoPackage and PostGIS.

Every test here takes ``any_store`` / ``any_empty_store`` and so runs twice; what passes for
one backend must pass for the other, because the web layer and the CLI only see ``Store``.
PostGIS-only behaviour (typed tables, GiST indexes, pooling across forks) is at the end.
"""
from __future__ import annotations

import functools
import multiprocessing as mp
import time

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo_pcmt.layers import LAYERS
from geo_pcmt.runs.seed import read_sample
from geo_pcmt.store import StoreError, open_store

from .backends import backend, execute_sql, full_frame, make_store
from .conftest import retail_frame

RECORD_LAYERS = [name for name in LAYERS if name != "audit_log"]


def _audit_actions(store, layer: str) -> list[str]:
    log = store.read("audit_log", where={"layer": layer})
    return list(log["action"])


# --- round trips -----------------------------------------------------------------------------

def test_boundaries_round_trip_through_the_store(any_store, communes):
    back = any_store.read("communes")
    assert len(back) == 130
    assert set(back["name"]) == set(communes["name"])
    assert back.crs.to_epsg() == 4326
    merged = back.set_index("code").geometry
    for code, geom in zip(communes["code"], communes.geometry):
        assert merged[code].equals_exact(geom, 1e-9)
    assert any_store.count("commune_lineage") == 414


def test_every_layer_round_trips_every_column(any_empty_store):
    for name in RECORD_LAYERS:
        spec = LAYERS[name]
        frame = full_frame(spec, 4)
        any_empty_store.write(name, frame, user="roundtrip")
        back = any_empty_store.read(name)
        assert list(back["id"]) == list(frame["id"]), name
        for f in spec.fields:
            got, want = list(back[f.name]), list(frame[f.name])
            if f.name == "updated_at":
                continue  # set by the store at write time
            if f.type == "datetime":
                got, want = [pd.Timestamp(v) for v in got], [pd.Timestamp(v) for v in want]
            elif f.type == "bool":
                got = [None if v is pd.NA else bool(v) for v in got]
            elif f.type == "int":
                got = [int(v) for v in got]
            assert got == want, f"{name}.{f.name}"
        if spec.has_geometry:
            # single parts come back as the layer's multi type, otherwise unchanged
            expected = frame.geometry.values
            if spec.geometry_type.startswith("Multi"):
                expected = [g if g.geom_type.startswith("Multi") else type_of(spec)([g])
                            for g in expected]
            assert shapely.equals_exact(back.geometry.values, np.asarray(expected), 0).all(), name
            assert back.crs.to_epsg() == 4326
    assert len(any_empty_store.read("audit_log", where={"user": "roundtrip"})) \
        == len(RECORD_LAYERS)


def type_of(spec):
    return {"MultiPolygon": shapely.MultiPolygon,
            "MultiLineString": shapely.MultiLineString}[spec.geometry_type]


_sample = functools.cache(read_sample)


# one of each shape: many points, points and polygons mixed, a table, few points with dates
@pytest.mark.parametrize("layer", ["cases", "opium_plots", "commune_assessments",
                                   "border_crossings"])
@pytest.mark.slow  # over ~0.5 s: out of the quick loop
def test_sample_layers_round_trip_through_the_store(any_empty_store, layer):
    frame = _sample()[layer]
    any_empty_store.write(layer, frame)
    back = any_empty_store.read(layer)
    assert len(back) == len(frame)
    assert list(back["id"]) == list(frame["id"].astype(str))
    if isinstance(frame, gpd.GeoDataFrame):
        assert shapely.equals_exact(back.geometry.values, frame.geometry.values, 1e-9).all()
    for col in ("source", "confidentiality"):
        assert list(back[col]) == list(frame[col])


def test_a_polygon_in_a_multipolygon_layer_is_stored_as_a_multipolygon(any_store):
    one = any_store.read("communes", limit=1)
    one.geometry = [shapely.box(104.0, 19.0, 104.1, 19.1)]
    one["id"] = one["code"] = "99999"
    any_store.write("communes", one)
    back = any_store.read("communes", where={"id": "99999"}).geometry.iloc[0]
    assert back.geom_type == "MultiPolygon" and back.equals(shapely.box(104.0, 19.0, 104.1, 19.1))


# --- reads and filters -----------------------------------------------------------------------

def test_read_filters_bbox_where_columns_limit_offset(any_store):
    store = any_store
    store.write("retail_points", retail_frame(250))
    assert store.count("retail_points") == 250
    page = store.read("retail_points", limit=100, offset=200, columns=["name"])
    assert list(page.columns) == ["id", "name", "geometry"]
    assert len(page) == 50 and page["id"].iloc[0] == "RP-000200"
    box = (104.16995, 19.40995, 104.17495, 19.41015)  # 50 × 2 points, with float margin
    inside = store.read("retail_points", bbox=box)
    assert len(inside) == 100 and store.count("retail_points", bbox=box) == 100
    assert store.count("retail_points", where={"id": ["RP-000001", "RP-000002", "nope"]}) == 2
    assert store.count("retail_points",
                       where={"first_seen": slice("2023-01-01", "2024-12-31")}) == 250
    assert store.count("retail_points", where={"first_seen": slice("2025-01-01", None)}) == 0
    assert store.count("retail_points", where={"id": []}) == 0
    assert store.count("retail_points", where={"cleared_on": None}) == 250


def test_bbox_on_polygons_keeps_exactly_the_communes_that_touch_the_box(any_store, communes):
    box = (104.05, 19.35, 104.2, 19.5)
    expected = set(communes.loc[communes.intersects(shapely.box(*box)), "code"])
    got = any_store.read("communes", bbox=box, columns=["code"])
    assert set(got["code"]) == expected and len(expected) >= 3
    assert any_store.count("communes", bbox=box) == len(expected)
    # paging applies after the exact test, in stored order
    everything = list(got["id"])
    page = any_store.read("communes", bbox=box, limit=2, offset=1)
    assert list(page["id"]) == everything[1:3]


def test_where_on_numbers_booleans_and_dates_compares_values_not_text(any_empty_store):
    frame = full_frame(LAYERS["cases"], 6)
    frame["offenders"] = [1, 2, 10, 20, 3, 0]
    frame["date"] = ["2024-01-05", "2024-02-01", "2024-02-29", "2024-03-01", "2023-12-31",
                     "2024-02-15"]
    any_empty_store.write("cases", frame)
    assert any_empty_store.count("cases", where={"offenders": slice(2, 10)}) == 3
    assert any_empty_store.count("cases", where={"is_border": True}) == 2
    assert any_empty_store.count("cases", where={"date": slice("2024-02-01", "2024-02-29")}) == 3
    assert any_empty_store.count("cases", where={"kind": ["trafficking", "retail"]}) == 2


def test_where_never_pastes_values_into_sql(any_store):
    any_store.write("retail_points", retail_frame(3))
    assert any_store.count("retail_points", where={"name": "x' OR '1'='1"}) == 0
    with pytest.raises(KeyError):
        any_store.read("retail_points", where={"name = name; DROP TABLE communes; --": 1})
    with pytest.raises(KeyError):
        any_store.read("retail_points", columns=['name" FROM communes; --'])
    assert any_store.count("communes") == 130


def test_negative_paging_and_unknown_layers_are_refused(any_store):
    with pytest.raises(StoreError):
        any_store.read("communes", limit=-1)
    with pytest.raises(KeyError, match="unknown layer"):
        any_store.read("communes; DROP TABLE communes")
    with pytest.raises(StoreError, match="no geometry"):
        any_store.read("commune_lineage", bbox=(104, 19, 105, 20))


def test_layers_lists_counts_and_extents(any_store):
    any_store.write("retail_points", retail_frame(150))
    info = {l.name: l for l in any_store.layers()}
    assert set(RECORD_LAYERS) <= set(info)
    assert info["communes"].count == 130 and info["retail_points"].count == 150
    minx, miny, maxx, maxy = info["retail_points"].bbox
    assert minx == pytest.approx(104.17, abs=1e-5) and maxx == pytest.approx(104.1799, abs=1e-5)
    assert miny == pytest.approx(19.41, abs=1e-5) and maxy == pytest.approx(19.4101, abs=1e-5)
    assert info["commune_lineage"].bbox is None and info["targets"].count == 0


# --- write modes -----------------------------------------------------------------------------

def test_append_refuses_existing_ids_and_stores_nothing(any_store):
    any_store.write("retail_points", retail_frame(10))
    with pytest.raises(StoreError, match="already stored"):
        any_store.write("retail_points", retail_frame(10, start=5))
    assert any_store.count("retail_points") == 10


@pytest.mark.slow  # over ~0.5 s: out of the quick loop
def test_upsert_updates_by_id_and_keeps_created_at(any_store):
    any_store.write("retail_points", retail_frame(10))
    created = any_store.read("retail_points", where={"id": "RP-000003"})["created_at"].iloc[0]
    changed = retail_frame(12, start=0)
    changed["status"] = "cleared"
    changed["cleared_on"] = "2024-06-01"
    time.sleep(1.1)
    rep = any_store.write("retail_points", changed, mode="upsert")
    assert (rep.inserted, rep.updated, rep.count_after) == (2, 10, 12)
    row = any_store.read("retail_points", where={"id": "RP-000003"}).iloc[0]
    assert row["status"] == "cleared" and row["created_at"] == created
    assert row["updated_at"] > created
    assert list(any_store.read("retail_points")["id"]) == list(changed["id"])  # order kept


def test_replace_empties_the_layer_in_the_same_transaction(any_store):
    any_store.write("retail_points", retail_frame(10))
    rep = any_store.write("retail_points", retail_frame(3, start=100), mode="replace")
    assert rep.deleted == 10 and any_store.count("retail_points") == 3


def test_delete_removes_by_id_and_is_audited(any_store):
    any_store.write("retail_points", retail_frame(5))
    assert any_store.delete("retail_points", ["RP-000001", "RP-000003", "nope"], user="a") == 2
    assert list(any_store.read("retail_points")["id"]) == ["RP-000000", "RP-000002", "RP-000004"]
    assert _audit_actions(any_store, "retail_points") == ["write:append", "delete"]


def test_wrong_crs_unknown_column_and_wrong_geometry_are_refused(any_store):
    with pytest.raises(StoreError, match="EPSG:4326"):
        any_store.write("retail_points", retail_frame(2).to_crs(32648))
    extra = retail_frame(2)
    extra["secret_note"] = "x"
    with pytest.raises(StoreError, match="unknown column"):
        any_store.write("retail_points", extra)
    poly = retail_frame(1)
    poly.geometry = [shapely.box(104, 19, 104.1, 19.1)]
    with pytest.raises(StoreError, match="geometry type"):
        any_store.write("retail_points", poly)
    with pytest.raises(StoreError, match="unknown write mode"):
        any_store.write("retail_points", retail_frame(1), mode="merge")
    assert any_store.count("retail_points") == 0


@pytest.mark.parametrize("column, value, message", [
    ("name", "x" * 2001, "longer than 2000"),
    ("type", "quán karaoke", "not one of"),
    ("name", "nul\x00byte", "NUL"),
    ("first_seen", "2024-02-30", "not a valid date"),
])
def test_values_outside_the_schema_are_refused_naming_row_and_field(any_store, column, value,
                                                                      message):
    frame = retail_frame(5)
    frame.loc[3, column] = value
    with pytest.raises(StoreError, match=f"row 3, field '{column}'.*{message}"):
        any_store.write("retail_points", frame)
    assert any_store.count("retail_points") == 0


# --- atomicity and audit ---------------------------------------------------------------------

def test_a_bad_value_late_in_a_write_rolls_back_the_whole_write(any_store):
    frame = retail_frame(500)
    frame.loc[499, "first_seen"] = "not a date"
    with pytest.raises(StoreError, match="row 499, field 'first_seen'"):
        any_store.write("retail_points", frame)
    assert any_store.count("retail_points") == 0


def test_a_database_failure_at_the_last_row_leaves_no_row_and_no_audit_record(any_store):
    """The database itself refuses row 500 (a trigger): rows 1–499 must not survive."""
    if backend(any_store) == "gpkg":
        execute_sql(any_store, "CREATE TRIGGER boom BEFORE INSERT ON retail_points "
                               "WHEN NEW.name = 'boom' BEGIN SELECT RAISE(ABORT, 'boom'); END;")
    else:
        execute_sql(any_store, """
            CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN IF NEW.name = 'boom' THEN RAISE EXCEPTION 'boom'; END IF; RETURN NEW; END $$;
            CREATE TRIGGER boom BEFORE INSERT ON retail_points
            FOR EACH ROW EXECUTE FUNCTION boom();""")
    any_store.write("retail_points", retail_frame(3, start=10_000))
    frame = retail_frame(500)
    frame.loc[499, "name"] = "boom"
    for mode in ("append", "upsert", "replace"):
        with pytest.raises(StoreError, match="boom"):
            any_store.write("retail_points", frame, mode=mode)
        assert any_store.count("retail_points") == 3
    assert _audit_actions(any_store, "retail_points") == ["write:append"]


def test_every_write_is_in_the_audit_log(any_store):
    any_store.write("retail_points", retail_frame(2), user="analyst1")
    any_store.delete("retail_points", ["RP-000000"], user="admin1")
    any_store.audit("commander1", "export", "retail_points", [], {"format": "gpx"})
    log = any_store.read("audit_log", where={"layer": "retail_points"})
    assert list(log["user"]) == ["analyst1", "admin1", "commander1"]
    assert list(log["action"]) == ["write:append", "delete", "export"]
    assert '"RP-000001"' in log["ids"].iloc[0]
    with pytest.raises(StoreError, match="append-only"):
        any_store.write("audit_log", pd.DataFrame({"id": ["x"]}))
    with pytest.raises(StoreError, match="append-only"):
        any_store.delete("audit_log", [log["id"].iloc[0]])


def test_init_is_idempotent_and_makes_every_table(any_empty_store):
    any_empty_store.init()
    any_empty_store.init(["retail_points"])
    assert set(LAYERS) <= {l.name for l in any_empty_store.layers()}


# --- concurrency -----------------------------------------------------------------------------

def _concurrent_writer(kind: str, where: str, worker: int, writes: int) -> None:
    store = open_store(where)
    for k in range(writes):
        start = worker * 100_000 + k * 10
        store.write("retail_points", retail_frame(10, start=start), user=f"w{worker}")
        # everybody also upserts the same shared ids: the last one wins, nothing is lost
        store.write("retail_points", retail_frame(5, start=900_000), mode="upsert",
                    user=f"w{worker}")
        store.read("retail_points", bbox=(104.17, 19.41, 104.18, 19.42), limit=50)


@pytest.mark.slow  # load: concurrent writer processes
def test_concurrent_writers_in_several_processes_lose_nothing(any_empty_store):
    store = any_empty_store
    where = str(store.path) if backend(store) == "gpkg" else \
        store.url.render_as_string(hide_password=False)
    workers, writes = 4, 6
    ctx = mp.get_context("fork")  # (spawn would re-import geopandas in every child)
    procs = [ctx.Process(target=_concurrent_writer, args=(backend(store), where, w, writes))
             for w in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0] * workers
    assert store.count("retail_points") == workers * writes * 10 + 5
    assert store.count("audit_log", where={"layer": "retail_points"}) == workers * writes * 2
    assert store.check() == "ok"


# --- PostGIS only ----------------------------------------------------------------------------

@pytest.fixture
def pg_store(pg_templates, tmp_path):
    store = make_store("postgis", tmp_path, boundaries=True)
    yield store
    store.close()


def test_open_store_picks_postgis_for_a_postgresql_url_and_hides_the_password(pg_store):
    url = pg_store.url.set(drivername="postgresql", password="s3cret")
    store = open_store(url.render_as_string(hide_password=False))
    assert type(store).__name__ == "PostGISStore"
    assert "s3cret" not in repr(store) and "s3cret" not in store.path


def test_postgis_tables_are_typed_with_gist_indexes_and_unique_ids(pg_store):
    execute = pg_store.engine.connect()
    with execute as conn:
        import sqlalchemy as sa
        types = dict(conn.execute(sa.text(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = 'cases'")).all())
        geo = conn.execute(sa.text("SELECT type, srid FROM geometry_columns "
                                   "WHERE f_table_name = 'communes'")).one()
        indexes = dict(conn.execute(sa.text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'cases'")).all())
    assert types["date"] == "date" and types["created_at"] == "timestamp with time zone"
    assert types["offenders"] == "bigint" and types["heroin_g"] == "double precision"
    assert types["is_border"] == "boolean"
    assert tuple(geo) == ("MULTIPOLYGON", 4326)
    assert any("USING gist (geom)" in d for d in indexes.values())
    assert any("UNIQUE" in d and "(id)" in d for d in indexes.values())


def test_an_unreachable_server_is_a_store_error_naming_it(pg_server):
    from geo_pcmt.store.postgis import PostGISStore
    from .pg import free_port
    store = PostGISStore(f"postgresql://nobody:pw@127.0.0.1:{free_port()}/none",
                         connect_timeout_s=2)
    with pytest.raises(StoreError, match="127.0.0.1"):
        store.count("communes")


def _read_in_child(store, queue) -> None:  # runs in a forked child
    queue.put(store.count("communes"))


def test_a_forked_worker_gets_its_own_connections(pg_store):
    assert pg_store.count("communes") == 130  # the parent's pool now holds a connection
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_read_in_child, args=(pg_store, queue))
    child.start()
    child.join(60)
    assert child.exitcode == 0 and queue.get(timeout=5) == 130
    assert pg_store.count("communes") == 130  # the parent's connection was not disturbed


def test_schema_columns_added_later_are_added_by_init(pg_store):
    execute_sql(pg_store, "ALTER TABLE targets DROP COLUMN basis")
    pg_store.init()
    frame = full_frame(LAYERS["targets"], 2)
    pg_store.write("targets", frame)
    assert list(pg_store.read("targets")["basis"]) == list(frame["basis"])


# --- migration between backends --------------------------------------------------------------

def _cli(*args):
    from click.testing import CliRunner

    from geo_pcmt.cli import main
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def _pg_url(store) -> str:
    return store.url.set(drivername="postgresql").render_as_string(hide_password=False)


def test_migrate_store_copies_a_geopackage_into_postgis_with_counts_checked(store, tmp_path,
                                                                            pg_templates):
    for layer in ("cases", "opium_plots", "commune_assessments", "recognitions"):
        store.write(layer, _sample()[layer].head(3000), user="officer7")
    store.delete("cases", ["CA-000001"], user="admin2")
    target = make_store("postgis", tmp_path, boundaries=False)
    try:
        result = _cli("migrate-store", "--from", str(store.path), "--to", _pg_url(target),
                      "--json")
        assert result.exit_code == 0, result.output
        import json
        report = json.loads(result.stdout)
        assert report["ok"] and {l["layer"] for l in report["layers"]} >= {
            "communes", "cases", "opium_plots", "commune_lineage", "audit_log"}
        for layer in ("communes", "cases", "opium_plots", "commune_assessments",
                      "recognitions", "commune_lineage", "border_line"):
            a, b = store.read(layer), target.read(layer)
            assert list(a["id"]) == list(b["id"]), layer
            if "updated_at" in a.columns:  # the copy keeps when records were last changed
                assert [pd.Timestamp(v) for v in a["updated_at"]] == \
                    [pd.Timestamp(v) for v in b["updated_at"]], layer
            if isinstance(a, gpd.GeoDataFrame):
                assert shapely.equals_exact(a.geometry.values, b.geometry.values, 0).all()
        old_log, new_log = store.read("audit_log"), target.read("audit_log")
        assert set(old_log["id"]) <= set(new_log["id"])
        copied = new_log.set_index("id").loc[old_log["id"]]
        assert list(copied["user"]) == list(old_log["user"])  # who did what is kept
        assert "admin2" in set(copied["user"]) and "migrate" in set(new_log["user"])
        # a second run refuses to mix into the filled target …
        again = _cli("migrate-store", "--from", str(store.path), "--to", _pg_url(target))
        assert again.exit_code == 3 and "already holds rows" in again.stderr
        # … and --replace copies again without duplicating the audit log
        again = _cli("migrate-store", "--from", str(store.path), "--to", _pg_url(target),
                     "--replace", "--layer", "cases", "--layer", "audit_log")
        assert again.exit_code == 0, again.output
        assert target.count("cases") == store.count("cases")
        assert set(target.read("audit_log")["id"]) >= set(old_log["id"])
    finally:
        target.close()


def test_migrate_store_copies_postgis_back_into_a_geopackage_in_chunks(pg_store, tmp_path):
    pg_store.write("retail_points", retail_frame(1234), user="officer9")
    out = tmp_path / "field_laptop.gpkg"
    result = _cli("migrate-store", "--from", _pg_url(pg_store), "--to", str(out),
                  "--chunk-rows", "500")
    assert result.exit_code == 0, result.output
    assert "retail_points" in result.stdout and "MISMATCH" not in result.stdout
    from geo_pcmt.store import GeoPackageStore
    copy = GeoPackageStore(out)
    assert list(copy.read("retail_points")["id"]) == list(pg_store.read("retail_points")["id"])
    assert copy.count("communes") == 130 and copy.check() == "ok"
    assert "officer9" in set(copy.read("audit_log")["user"])


def test_migrate_store_from_a_missing_file_says_so(tmp_path, pg_store):
    result = _cli("migrate-store", "--from", str(tmp_path / "nope.gpkg"), "--to",
                  _pg_url(pg_store))
    assert result.exit_code == 3 and "holds no layers" in result.stderr


def test_filters_with_text_no_row_can_hold_match_nothing(any_store):
    any_store.write("retail_points", retail_frame(3))
    for bad in ("\x00", "RP-000001\x00"):
        assert any_store.count("retail_points", where={"id": bad}) == 0
        assert any_store.count("retail_points", where={"id": [bad, "RP-000001"]}) == 1
    assert any_store.count("retail_points", where={"id": slice("RP-000001\x00", None)}) >= 1


def test_datetime_bounds_ending_in_uffff_cover_the_whole_second(any_store):
    """The OGC API passes text upper bounds like "2024-05-01T08:00:00\\uffff" (made for
    GeoPackage's text comparison); PostGIS must read them the same way."""
    any_store.write("retail_points", retail_frame(2))
    stamp = any_store.read("retail_points")["created_at"].iloc[0]
    second = pd.Timestamp(stamp).tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%S")
    assert any_store.count("retail_points",
                           where={"created_at": slice(None, second + "\uffff")}) == 2
    day = second[:10]
    assert any_store.count("retail_points", where={"created_at": slice(day, day + "\uffff")}) == 2
    earlier = (pd.Timestamp(second) - pd.Timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S")
    assert any_store.count("retail_points",
                           where={"created_at": slice(None, earlier + "\uffff")}) == 0


def test_geo_pcmt_init_and_load_work_on_a_postgresql_url(pg_server, tmp_path):
    url = pg_server.create_database()
    result = _cli("init", "--store", url)
    assert result.exit_code == 0, result.output
    assert "communes: 130 rows" in result.stdout and "postgresql://" in result.stdout
    csv = tmp_path / "diem.csv"
    csv.write_text("id,type,status,first_seen,name,lon,lat\n"
                   "P-1,diem_ban_le,active,2024-02-01,Điểm Huồi Khe,104.12,19.36\n",
                   encoding="utf-8")
    result = _cli("load", "retail_points", str(csv), "--store", url, "--user", "can_bo_1")
    assert result.exit_code == 0, result.output
    store = open_store(url)
    row = store.read("retail_points").iloc[0]
    assert row["id"] == "P-1" and row["commune_code"] and row["name"] == "Điểm Huồi Khe"
    assert "can_bo_1" in set(store.read("audit_log")["user"])
    store.close()


def test_naive_datetimes_are_utc_whatever_the_server_time_zone(pg_store):
    """A server set up in Hà Nội time must not shift times written without an offset."""
    execute_sql(pg_store, f'ALTER DATABASE "{pg_store.url.database}" SET TimeZone TO '
                          "'Asia/Ho_Chi_Minh'")
    pg_store.close()  # new connections pick the setting up
    frame = retail_frame(1)
    frame["created_at"] = "2024-03-01T08:30:00"
    pg_store.write("retail_points", frame)
    assert pg_store.read("retail_points")["created_at"].iloc[0] == "2024-03-01T08:30:00Z"
    assert pg_store.count("retail_points",
                          where={"created_at": "2024-03-01T08:30:00"}) == 1


def test_a_pooled_connection_whose_server_process_died_is_replaced_unnoticed(pg_store,
                                                                             monkeypatch):
    # the pool checks a connection only when it sat idle (here: at once); a dead one is
    # replaced and the caller never sees the error
    import sqlalchemy as sa
    from geo_pcmt.store import postgis_pool
    monkeypatch.setattr(postgis_pool, "IDLE_PING_S", 0.0)
    pg_store.close()  # the next engine takes the setting
    assert pg_store.count("communes") == 130
    versions = pg_store.data_versions()  # one-statement reads have a pool of their own
    assert versions
    import psycopg
    dsn = pg_store.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as admin:  # outside the store's pool
        killed = admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                               "WHERE application_name = 'geo_pcmt'").fetchall()
    assert killed and all(r[0] for r in killed)  # the pooled connection(s) are dead now
    for _ in range(3):  # every pooled connection may be a dead one: all are replaced
        assert pg_store.count("communes") == 130
        assert pg_store.data_versions() == versions


def test_a_connection_that_dies_while_in_use_gives_a_clear_error_once_and_is_not_reused(
        pg_store, monkeypatch):
    # no idle check (a busy server): the statement that meets the dead connection fails
    # with the server's reason, and the connection is thrown away, not handed out again
    import psycopg
    from geo_pcmt.store import postgis_pool
    monkeypatch.setattr(postgis_pool, "IDLE_PING_S", 3600.0)
    pg_store.close()
    versions = pg_store.data_versions()
    dsn = pg_store.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      "WHERE application_name = 'geo_pcmt'")
    with pytest.raises(StoreError, match="terminat|closed|connection"):
        pg_store.data_versions()
    assert pg_store.data_versions() == versions
    pg_store.audit("tester", "read", "communes")  # the audit batches take that pool too
    assert pg_store.count("audit_log", where={"user": "tester"}) == 1


def test_postgis_refreshes_the_planner_statistics_after_a_large_share_of_a_layer_changed(
        pg_store):
    import time
    import sqlalchemy as sa

    def analyzed_by_the_store(wait_s: float) -> bool:
        # last_analyze is set by an ANALYZE statement (autovacuum sets last_autoanalyze);
        # the statistics views lag a little, so look again for a while
        deadline = time.monotonic() + wait_s
        while True:
            with pg_store.engine.connect() as conn:
                done = conn.execute(sa.text(
                    "SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables "
                    "WHERE relname = 'retail_points'")).scalar()
            if done or time.monotonic() > deadline:
                return bool(done)
            time.sleep(0.2)

    pg_store.write("retail_points", retail_frame(100))  # small: left to autovacuum
    assert not analyzed_by_the_store(1.5)
    pg_store.write("retail_points", retail_frame(600, start=1000))  # most of the table
    assert analyzed_by_the_store(5)


# --- counts that follow appends -------------------------------------------------------

_BOX = (104.170, 19.410, 104.175, 19.4105)


def _true_count(store, layer: str, bbox=None, levels=None) -> int:
    """Counted from every row read back, with shapely, not by the store's count."""
    rows = store.read(layer, columns=["confidentiality"])
    keep = np.ones(len(rows), dtype=bool)
    if bbox is not None:
        keep &= shapely.intersects(rows.geometry.values, shapely.box(*bbox))
    if levels is not None:
        keep &= rows["confidentiality"].isin(levels).to_numpy()
    return int(keep.sum())


def _spy_on_followed_counts(store, monkeypatch) -> list[list[bool]]:
    """A list that gets, per call of ``count``, the list of its ways of counting: True
    for following appends, False for counting all (a count that tried to follow and had
    to count all shows both)."""
    seen: list[list[bool]] = []
    cls = type(store)
    count = cls.count

    def spy_count(self, *args, **kwargs):
        seen.append([])
        return count(self, *args, **kwargs)

    monkeypatch.setattr(cls, "count", spy_count)
    if backend(store) == "postgis":
        original = cls._count_query

        def spy(self, spec, conds, since=None, upto=None):
            if seen:
                seen[-1].append(since is not None)
            return original(self, spec, conds, since=since, upto=upto)

        monkeypatch.setattr(cls, "_count_query", spy)
    else:
        after, full = cls._count_after_fid, cls._count_all

        def spy_after(self, *args):
            if seen:
                seen[-1].append(True)
            return after(self, *args)

        def spy_full(self, *args):
            if seen:
                seen[-1].append(False)
            return full(self, *args)

        monkeypatch.setattr(cls, "_count_after_fid", spy_after)
        monkeypatch.setattr(cls, "_count_all", spy_full)
    return seen


@pytest.mark.slow  # over ~0.5 s: out of the quick loop
def test_counts_follow_appends_and_count_again_after_any_other_change(any_store, monkeypatch):
    # a filter's count is taken once, then followed through appends; updates, deletes and
    # replaces count again; every answer equals a count of every row read back
    store = any_store
    followed = _spy_on_followed_counts(store, monkeypatch)
    rng = np.random.default_rng(7)
    filters = [dict(), dict(bbox=_BOX), dict(where={"confidentiality": ["public", "restricted"]}),
               dict(bbox=_BOX, where={"confidentiality": ["restricted"]})]

    def check(report=None):
        for f in filters:
            levels = (f.get("where") or {}).get("confidentiality")
            assert store.count("retail_points", **f) == _true_count(
                store, "retail_points", f.get("bbox"), levels), f
        if report is not None:
            assert report.count_after == _true_count(store, "retail_points")

    def frame(n, start):
        f = retail_frame(n, start=start)
        f["confidentiality"] = rng.choice(["public", "restricted", "secret"], n)
        return f

    store.write("retail_points", frame(1000, 100_000))  # (a GeoPackage follows a count
    check()                                             # only through fewer rows than it)
    start = 0
    for step in range(12):
        if step in (4, 9):  # update some rows: moves them and changes their level
            f = frame(30, start - 60)
            f["geometry"] = shapely.points(104.171 + rng.random(30) * 1e-3, 19.4102)
            report = store.write("retail_points", f, mode="upsert")
            assert report.updated == 30
        elif step == 6:
            store.delete("retail_points", [f"RP-{i:06d}" for i in range(start - 20, start)])
            report = None
        elif step == 10:
            report = store.write("retail_points", frame(1000, 0), mode="replace")
            start = 1000
        else:
            mode = "upsert" if step % 2 else "append"
            report = store.write("retail_points", frame(70, start), mode=mode)
            assert report.inserted == 70 and report.updated == 0
            start += 70
        followed.clear()
        check(report)
        assert len(followed) == len(filters)
        if step in (1, 2, 3, 5, 7, 8, 11):  # plain appends after counted states: followed
            assert all(ways == [True] for ways in followed), (step, followed)
        if step in (4, 6, 9, 10):  # anything else: counted again (bar the layer's total
            # after a write: the write counted it at its own version)
            assert all(ways[-1] is False for ways in followed[1 if report else 0:]), \
                (step, followed)


def test_postgis_counts_stay_exact_when_concurrent_writers_draw_interleaved_ids(pg_store,
                                                                               monkeypatch):
    # writer A draws ids, waits while writer B draws later ids and commits, then A draws
    # more ids and commits: A's id range holds B's rows, which must not count twice
    import threading
    from geo_pcmt.store import postgis
    pg_store.write("retail_points", retail_frame(10, start=0))
    assert pg_store.count("retail_points", bbox=_BOX) == _true_count(pg_store, "retail_points",
                                                                      _BOX)
    a_paused, b_done = threading.Event(), threading.Event()
    copy = postgis._copy

    def copy_in_two(cur, table, cols, rows):
        rows = list(rows)
        if threading.current_thread().name != "A" or len(rows) < 2:
            return copy(cur, table, cols, rows)
        copy(cur, table, cols, rows[: len(rows) // 2])
        a_paused.set()
        assert b_done.wait(30)
        copy(cur, table, cols, rows[len(rows) // 2:])

    monkeypatch.setattr(postgis, "_copy", copy_in_two)
    other = postgis.PostGISStore(pg_store.url.render_as_string(hide_password=False))
    a = threading.Thread(name="A", target=pg_store.write,
                         args=("retail_points", retail_frame(40, start=100)))
    a.start()
    assert a_paused.wait(30)
    other.write("retail_points", retail_frame(25, start=200))  # another process, same server
    assert pg_store.count("retail_points", bbox=_BOX) == 35  # A has not committed yet
    b_done.set()
    a.join(30)
    other.close()
    assert pg_store.count("retail_points", bbox=_BOX) == _true_count(
        pg_store, "retail_points", _BOX) == 75
    assert pg_store.count("retail_points") == 75


def test_counts_work_on_a_store_made_before_the_version_tables_existed(any_store):
    # an older database: no gp_meta (nor gp_appends); counts are right, and follow appends
    # once writes have made the tables again
    store = any_store
    store.write("retail_points", retail_frame(30))
    store.close()
    execute_sql(store, "DROP TABLE gp_meta" + ("; DROP TABLE gp_appends"
                                               if backend(store) == "postgis" else ""))
    store = type(store)(store.path if backend(store) == "gpkg"
                        else store.url.render_as_string(hide_password=False))
    try:
        assert store.count("retail_points", bbox=_BOX) == _true_count(store, "retail_points", _BOX)
        store.write("retail_points", retail_frame(20, start=100))
        assert store.count("retail_points") == 50
        assert store.count("retail_points", bbox=_BOX) == _true_count(store, "retail_points", _BOX)
    finally:
        store.close()


def test_postgis_counts_stay_exact_when_the_id_sequence_hands_out_blocks(pg_store):
    # an administrator gave the fid sequence a cache: a session may then write ids below
    # ones already drawn by others, so appends are not followed but counted again
    from geo_pcmt.store import postgis
    execute_sql(pg_store, "ALTER SEQUENCE retail_points_fid_seq CACHE 50")
    pg_store.close()
    first = postgis.PostGISStore(pg_store.url.render_as_string(hide_password=False))
    second = postgis.PostGISStore(pg_store.url.render_as_string(hide_password=False))
    try:
        first.write("retail_points", retail_frame(5, start=0))     # first caches ids 1-50
        second.write("retail_points", retail_frame(5, start=100))  # second caches 51-100
        assert first.count("retail_points", bbox=_BOX) == 10
        first.write("retail_points", retail_frame(5, start=200))   # ids 6-10: below 51-55
        assert second.count("retail_points", bbox=_BOX) == 15
        second.write("retail_points", retail_frame(5, start=300))
        assert first.count("retail_points", bbox=_BOX) == 20 == _true_count(
            first, "retail_points", _BOX)
    finally:
        first.close()
        second.close()


# --- the role-scoped reader (geo_pcmt.access.read) on both backends ----------------------

def _points_at_every_level(store, n: int = 30) -> None:
    frame = retail_frame(n)
    frame["confidentiality"] = ["public", "restricted", "secret"] * (n // 3)
    store.write("retail_points", frame)


@pytest.mark.parametrize("role, levels", [
    ("analyst", {"public", "restricted"}), ("commander", {"public", "restricted"}),
    ("admin", {"public", "restricted", "secret"})])
def test_role_scoped_reads_keep_rows_within_the_roles_clearance(any_store, role, levels):
    from geo_pcmt import access
    _points_at_every_level(any_store)
    out = access.read(any_store, "retail_points", role=role)
    assert set(out["confidentiality"]) == levels
    assert len(out) == 10 * len(levels)
    for refused in ("viewer", None):
        with pytest.raises(access.AccessDenied):
            access.read(any_store, "retail_points", role=refused)


@pytest.mark.parametrize("where, extra", [
    ({"confidentiality": "secret"}, {}),
    ({"confidentiality": ["secret"]}, {}),
    ({"confidentiality": []}, {}),
    ({"confidentiality": "secret"}, {"bbox": (104.0, 19.0, 105.0, 20.0)}),
    ({"confidentiality": "secret"}, {"bbox": (104.0, 19.0, 105.0, 20.0), "limit": 5}),
    ({"confidentiality": ["secret"], "status": "active"},
     {"bbox": (104.0, 19.0, 105.0, 20.0), "limit": 5, "offset": 2}),
])
def test_asking_only_for_levels_above_the_clearance_reads_an_empty_frame(any_store, where,
                                                                         extra):
    from geo_pcmt import access
    _points_at_every_level(any_store)
    out = access.read(any_store, "retail_points", role="analyst", where=where, **extra)
    assert len(out) == 0
    assert list(out.columns) == access.visible_fields("analyst", "retail_points") + ["geometry"]


def test_a_range_filter_on_confidentiality_keeps_the_cleared_levels_in_the_range(any_store):
    from geo_pcmt import access
    _points_at_every_level(any_store)
    everything = access.read(any_store, "retail_points", role="analyst",
                             where={"confidentiality": slice("a", "z")})
    assert set(everything["confidentiality"]) == {"public", "restricted"}
    upper = access.read(any_store, "retail_points", role="analyst",
                        where={"confidentiality": slice("q", None)}, columns=["name"])
    assert set(upper["id"]) == set(access.read(any_store, "retail_points", role="analyst",
                                               where={"confidentiality": "restricted"})["id"])


def test_role_scoped_reads_leave_out_and_refuse_operational_fields(any_store):
    from geo_pcmt import access
    posts = gpd.GeoDataFrame({
        "id": ["BP-1", "BP-2"], "source": "test", "confidentiality": ["public", "restricted"],
        "name": ["Đồn Nậm Cắn", "Đồn Mỹ Lý"], "area_of_responsibility": ["40528", "40531"]},
        geometry=shapely.points([104.1, 104.3], [19.4, 19.5]), crs="EPSG:4326")
    any_store.write("border_posts", posts)
    seen = access.read(any_store, "border_posts", role="viewer")
    assert list(seen["id"]) == ["BP-1"]
    assert "area_of_responsibility" not in seen.columns
    with pytest.raises(access.AccessDenied, match="area_of_responsibility"):
        access.read(any_store, "border_posts", role="viewer", columns=["area_of_responsibility"])
    with pytest.raises(access.AccessDenied, match="filter"):  # the rows kept would tell it
        access.read(any_store, "border_posts", role="viewer",
                    where={"area_of_responsibility": "40528"})
    analyst = access.read(any_store, "border_posts", role="analyst",
                          where={"area_of_responsibility": "40531"})
    assert list(analyst["id"]) == ["BP-2"]
    with pytest.raises(access.AccessDenied):
        access.read(any_store, "border_posts", role=None)
    assert len(access.read(any_store, "communes", role=None, limit=3)) == 3
