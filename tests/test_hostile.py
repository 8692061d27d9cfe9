"""Hostile input: fuzzed files, frames, store writes and API calls never crash or store garbage.

Every hostile input must end as a row error in the validation report, an ``IngestError``
(unreadable file), a ``StoreError`` (refused write) or a 4xx from the API — never an
unhandled exception, never a 500, and whatever is stored must read back exactly as it went
in. Examples are bounded and derandomised so the file runs in well under a minute; set
``GEO_PCMT_FUZZ_EXAMPLES=500`` to fuzz harder locally.
"""
from __future__ import annotations

import io
import json
import math
import os
import uuid
import zipfile
from datetime import date
from pathlib import Path
from urllib.parse import quote

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from geo_pcmt import ingest
from geo_pcmt.ingest import IngestError, ValidationReport, read_any, validate
from geo_pcmt.layers import LAYERS
from geo_pcmt.store import StoreError

from .backends import ADMIN_PASSWORD, BACKENDS, backend, make_store
from .conftest import retail_frame

pytestmark = pytest.mark.slow

TODAY = date(2026, 11, 25)
EXAMPLES = int(os.environ.get("GEO_PCMT_FUZZ_EXAMPLES", "0")) or None
# Bounded by default (no shrinking: a failure prints its unshrunk example at once);
# GEO_PCMT_FUZZ_EXAMPLES=n fuzzes harder, at random, and shrinks what it finds.
FUZZ = settings(max_examples=EXAMPLES or 25, deadline=None, derandomize=EXAMPLES is None,
                phases=list(Phase) if EXAMPLES else [Phase.explicit, Phase.generate],
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.data_too_large])

ATTACKS = [
    "'); DROP TABLE communes; --", "\" OR 1=1 --", "1; SELECT pg_sleep(10)", "x' || (SELECT "
    "version()) || '", "Robert'); DELETE FROM audit_log;--", "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">', "javascript:alert(1)", "{{7*7}}", "${jndi:ldap://x/a}",
    "%00", "\\x00", "../../etc/passwd", "=cmd|' /C calc'!A0", "@SUM(1+1)", "Nhà bà Lầu Thị Mỷ",
    "ສະບາຍດີ", "😀" * 10, "\u202egnp.exe", "NaN", "Infinity", "-1e309", "1e309", "",
]
COORDS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(min_value=103.9, max_value=105.9).map(lambda v: f"{v:.5f}"),
    st.sampled_from(["", "nan", "inf", "-inf", "1e308", "-1e308", "104,17", "19°24'N", "0x68",
                     "1_000", " 104.17 ", "104.17.3", "NULL"]),
    st.text(max_size=12),
)
CELL = st.one_of(st.text(max_size=40), st.sampled_from(ATTACKS),
                 st.text(alphabet=st.characters(max_codepoint=0x1f), max_size=5))
RETAIL_COLUMNS = ["id", "type", "status", "first_seen", "name", "address", "source", "cleared_on",
                  "commune_code"]


@pytest.fixture(scope="module", params=BACKENDS)
def hostile_store(request, tmp_path_factory):
    """One store per backend for the whole module; examples use fresh ids."""
    if request.param == "postgis":
        request.getfixturevalue("pg_templates")
    store = make_store(request.param, tmp_path_factory.mktemp("hostile"), boundaries=True)
    yield store
    if hasattr(store, "close"):
        store.close()


def _assert_sound(store) -> None:
    """Nothing outside the schema was stored and the base tables are intact."""
    assert store.count("communes") == 130
    frame = store.read("retail_points")
    spec = LAYERS["retail_points"]
    for f in spec.fields:
        values = [v for v in frame[f.name] if v is not None and v is not pd.NA]
        if f.allowed:
            assert set(values) <= set(f.allowed), f.name
        if f.type == "str":
            assert all(len(v) <= f.max_length and "\x00" not in v for v in values), f.name
    coords = shapely.get_coordinates(frame.geometry.values)
    assert np.isfinite(coords).all() and (np.abs(coords[:, 0]) <= 180).all() \
        and (np.abs(coords[:, 1]) <= 90).all()


def _frame_equal(back: pd.DataFrame, sent: pd.DataFrame, columns: list[str]) -> None:
    back = back.set_index("id").loc[list(sent["id"])]
    for c in columns:
        if c == "id" or c not in sent.columns:
            continue
        got = [None if v is pd.NA or (isinstance(v, float) and math.isnan(v)) else v
               for v in back[c]]
        want = [None if v is pd.NA or (isinstance(v, float) and math.isnan(v)) else v
                for v in sent[c]]
        assert got == want, c


# --- ingest: files and cells -----------------------------------------------------------------

@FUZZ
@given(rows=st.lists(st.fixed_dictionaries({**{c: CELL for c in RETAIL_COLUMNS},
                                            "lon": COORDS, "lat": COORDS}),
                     min_size=1, max_size=6))
def test_fuzzed_csv_rows_end_as_row_errors_or_clean_rows_that_store_exactly(rows, tmp_path,
                                                                            hostile_store,
                                                                            communes):
    tag = uuid.uuid4().hex[:8]
    frame = pd.DataFrame(rows)
    frame["id"] = [f"{tag}-{i}-{v}"[:100] for i, v in enumerate(frame["id"])]
    path = tmp_path / f"{tag}.csv"
    frame.to_csv(path, index=False, encoding="utf-8")
    try:
        raw = read_any(path)
    except IngestError as exc:
        assert str(exc)
        return
    report = validate(raw, "retail_points", today=TODAY, communes=communes)
    assert isinstance(report, ValidationReport)
    for p in report.errors:  # (a cell with a line break may make two rows of one)
        assert p.reason and (p.row is None or 1 <= p.row <= len(raw))
    json.dumps(report.as_dict())  # the report itself is always serialisable for the API
    if report.rows_valid:
        hostile_store.write("retail_points", report.clean, mode="upsert", user="fuzz")
        back = hostile_store.read("retail_points", where={"id": list(report.clean["id"])})
        _frame_equal(back, report.clean, ["name", "address", "source", "type", "status"])
        assert shapely.equals_exact(
            back.set_index("id").loc[list(report.clean["id"])].geometry.values,
            report.clean.geometry.values, 1e-12).all()


VALID_FILES = {}


def _valid_file(suffix: str, tmp: Path) -> bytes:
    """A small valid upload in each format, to be mutated."""
    if suffix not in VALID_FILES:
        frame = retail_frame(3)
        path = tmp / f"valid{suffix}"
        if suffix == ".csv":
            df = pd.DataFrame(frame.drop(columns="geometry"))
            df["lon"], df["lat"] = frame.geometry.x, frame.geometry.y
            df.to_csv(path, index=False)
        elif suffix == ".xlsx":
            df = pd.DataFrame(frame.drop(columns="geometry"))
            df["lon"], df["lat"] = frame.geometry.x, frame.geometry.y
            df.to_excel(path, index=False)
        else:
            driver = {".geojson": "GeoJSON", ".gpkg": "GPKG", ".kml": "KML"}[suffix]
            frame.to_file(path, driver=driver)
        VALID_FILES[suffix] = path.read_bytes()
    return VALID_FILES[suffix]


@FUZZ
@given(suffix=st.sampled_from([".csv", ".xlsx", ".geojson", ".json", ".gpkg", ".kml"]),
       data=st.binary(max_size=3000),
       mutations=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=8),
       mode=st.sampled_from(["random", "mutated", "truncated"]))
def test_random_and_mutated_files_are_read_or_refused_with_an_ingest_error(
        suffix, data, mutations, mode, tmp_path, communes):
    if mode == "random":
        content = data
    else:
        base = bytearray(_valid_file(".json" if suffix == ".json" else suffix, tmp_path)
                         if suffix != ".json" else _valid_file(".geojson", tmp_path))
        if mode == "truncated":
            content = bytes(base[: len(data) % max(1, len(base))])
        else:
            for pos, byte in mutations:
                base[pos % len(base)] = byte
            content = bytes(base)
    path = tmp_path / f"upload{suffix}"
    path.write_bytes(content)
    try:
        frame = read_any(path)
    except IngestError as exc:
        assert str(exc)
        return
    report = validate(frame, "retail_points", today=TODAY, communes=communes)
    assert isinstance(report, ValidationReport)


def test_a_zip_bomb_disguised_as_xlsx_is_refused_before_it_is_unpacked(tmp_path):
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            block = b"<c>0</c>" * (1 << 17)  # 1 MiB
            for _ in range(ingest.MAX_XLSX_UNPACKED // len(block) + 8):
                member.write(block)
    assert bomb.stat().st_size < 2_000_000  # small on disk …
    with pytest.raises(IngestError, match="zip bomb"):  # … refused for what it unpacks to
        read_any(bomb)


def test_a_ten_megabyte_string_is_a_row_error_in_ingest_and_refused_by_the_store(
        tmp_path, hostile_store, communes):
    huge = "Bản " * (10 * 1024 * 1024 // 4)
    path = tmp_path / "huge.csv"
    path.write_text("id,type,status,first_seen,name,source,lon,lat\n"
                    f"H-1,diem_ban_le,active,2024-01-01,{huge},x,104.17,19.41\n"
                    "H-2,diem_ban_le,active,2024-01-01,ok,x,104.17,19.41\n", encoding="utf-8")
    report = validate(read_any(path), "retail_points", today=TODAY, communes=communes)
    assert [(p.row, p.field, p.code) for p in report.errors] == [(1, "name", "too_long")]
    frame = retail_frame(2, start=777_000)
    frame.loc[1, "name"] = huge
    before = hostile_store.count("retail_points")
    with pytest.raises(StoreError, match=r"row 1, field 'name'.*longer than 2000"):
        hostile_store.write("retail_points", frame)
    assert hostile_store.count("retail_points") == before


def _nested_collection_json(depth: int) -> str:
    point = '{"type":"Point","coordinates":[104.17,19.41]}'
    return '{"type":"GeometryCollection","geometries":[' * depth + point + "]}" * depth


@pytest.mark.parametrize("depth", [3, 400, 20_000])
def test_deeply_nested_geometry_collections_are_refused(depth, tmp_path, hostile_store, communes):
    props = json.dumps({"id": "GC-1", "type": "diem_ban_le", "status": "active",
                        "first_seen": "2024-01-01", "source": "x"})
    path = tmp_path / "nested.geojson"
    path.write_text('{"type":"FeatureCollection","features":[{"type":"Feature","properties":'
                    f'{props},"geometry":{_nested_collection_json(depth)}}}]}}')
    try:
        frame = read_any(path)
    except IngestError as exc:
        assert depth > 1000 and "nested" in str(exc)
        return
    report = validate(frame, "retail_points", today=TODAY, communes=communes)
    assert [(p.row, p.field, p.code) for p in report.errors] == [(1, "geometry", "geometry_type")]
    frame = frame.set_crs(4326, allow_override=True)
    before = hostile_store.count("retail_points")
    with pytest.raises(StoreError, match="GeometryCollection"):
        hostile_store.write("retail_points", frame[["id", "type", "status", "first_seen",
                                                    "source", "geometry"]])
    assert hostile_store.count("retail_points") == before


# --- the store, written to directly ----------------------------------------------------------

NUMBERS = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-2**70, 2**70),
                    st.sampled_from([0, -1, 2**63, -2**63 - 1, 1e308]))


@FUZZ
@given(n=st.integers(1, 4), data=st.data())
def test_hostile_frames_written_directly_are_refused_or_stored_exactly(n, data, hostile_store):
    """Bypassing ingest: the store itself refuses anything outside the schema."""
    tag = uuid.uuid4().hex[:8]
    xs = data.draw(st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                                      st.floats(103.9, 105.9)), min_size=n, max_size=n))
    ys = data.draw(st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                                      st.floats(18.5, 20.0)), min_size=n, max_size=n))
    frame = gpd.GeoDataFrame({
        "id": [f"{tag}-{i}" for i in range(n)],
        "source": data.draw(st.lists(CELL, min_size=n, max_size=n)),
        "type": data.draw(st.lists(st.sampled_from(["diem_ban_le", "tu_diem_phuc_tap", "x",
                                                     "DIEM_BAN_LE", ATTACKS[0]]),
                                   min_size=n, max_size=n)),
        "status": "active",
        "first_seen": data.draw(st.lists(st.one_of(st.dates().map(str), CELL),
                                         min_size=n, max_size=n)),
        "name": data.draw(st.lists(st.one_of(CELL, st.text(min_size=1990, max_size=2100)),
                                   min_size=n, max_size=n)),
        "is_border": data.draw(st.lists(st.one_of(st.booleans(), CELL), min_size=n,
                                        max_size=n)),
    }, geometry=shapely.points(xs, ys), crs="EPSG:4326")
    before = hostile_store.count("retail_points")
    try:
        hostile_store.write("retail_points", frame, user="fuzz")
    except StoreError as exc:
        assert "row" in str(exc) or "layer" in str(exc)
        assert hostile_store.count("retail_points") == before
        return
    back = hostile_store.read("retail_points", where={"id": list(frame["id"])})
    _frame_equal(back, frame, ["source", "type", "name"])
    assert back["first_seen"].map(lambda v: date.fromisoformat(v)).notna().all()
    _assert_sound(hostile_store)


@FUZZ
@given(cases=st.lists(st.fixed_dictionaries({
    "offenders": NUMBERS, "heroin_g": NUMBERS, "meth_pills": NUMBERS}), min_size=1, max_size=3))
def test_numbers_out_of_range_are_refused_not_truncated(cases, hostile_store):
    tag = uuid.uuid4().hex[:8]
    n = len(cases)
    frame = gpd.GeoDataFrame(pd.DataFrame(cases, dtype=object).assign(
        id=[f"{tag}-{i}" for i in range(n)], source="fuzz", date="2024-01-01", kind="other"),
        geometry=shapely.points([104.17] * n, [19.41] * n), crs="EPSG:4326")
    before = hostile_store.count("cases")
    try:
        hostile_store.write("cases", frame)
    except StoreError:
        assert hostile_store.count("cases") == before
        return
    back = hostile_store.read("cases", where={"id": list(frame["id"])}).set_index("id")
    for col in ("offenders", "heroin_g", "meth_pills"):
        for sent, got in zip(frame[col], back.loc[list(frame["id"]), col]):
            if sent is None or (isinstance(sent, float) and math.isnan(sent)):
                assert got is pd.NA or got is None or (isinstance(got, float) and math.isnan(got))
            else:
                assert got == sent and sent >= 0  # minimum 0 is enforced


def test_sql_in_every_text_field_is_stored_verbatim_and_runs_nowhere(hostile_store):
    spec = LAYERS["retail_points"]
    texts = [f for f in spec.fields if f.type == "str" and not f.allowed and f.name != "id"]
    frame = retail_frame(len(ATTACKS), start=880_000)
    frame["id"] = [f"SQL-{i}-{a}"[:100] for i, a in enumerate(ATTACKS)]
    for f in texts:
        frame[f.name] = [a[: f.max_length] or (None if not f.required else "-") for a in ATTACKS]
    hostile_store.write("retail_points", frame, mode="upsert", user="'); DROP TABLE audit_log;--")
    back = hostile_store.read("retail_points", where={"id": list(frame["id"])})
    _frame_equal(back, frame, [f.name for f in texts])
    for f in texts:  # and the attack strings are usable as filters, matching themselves only
        value = ATTACKS[0][: f.max_length]
        hit = hostile_store.read("retail_points", where={f.name: value})
        assert frame["id"].iloc[0] in set(hit["id"]) and set(hit[f.name]) == {value}
    assert hostile_store.count("audit_log", where={"user": "'); DROP TABLE audit_log;--"}) >= 1
    _assert_sound(hostile_store)


# --- the web API -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def api(hostile_store, tmp_path_factory):
    """The Flask app on the module's store, with an admin token (test client only)."""
    from geo_pcmt.web import create_app
    folder = tmp_path_factory.mktemp("hostile_api")
    if backend(hostile_store) == "gpkg":
        url = str(hostile_store.path)
    else:
        url = hostile_store.url.set(drivername="postgresql").render_as_string(hide_password=False)
    app = create_app({"STORE": url, "TESTING": True, "USERS_DB": str(folder / "users.sqlite"),
                      "UPLOAD_DIR": str(folder / "uploads"),
                      "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
    users = app.extensions["geo_pcmt_users"]
    users.add("admin_user", ADMIN_PASSWORD, "admin")
    token = users.create_token("admin_user")[0]
    app.config["FUZZ_HEADERS"] = {"Authorization": f"Bearer {token}"}
    return app


@FUZZ
@given(content=st.one_of(st.binary(max_size=2000),
                         st.lists(st.lists(CELL, min_size=1, max_size=9), max_size=5).map(
                             lambda rows: "\n".join(
                                 [",".join(RETAIL_COLUMNS[:7] + ["lon", "lat"])]
                                 + [",".join(r) for r in rows]).encode("utf-8", "replace"))),
       filename=st.one_of(st.sampled_from(["a.csv", "a.xlsx", "a.geojson", "a.gpkg", "a.kml",
                                           "../../etc/passwd.csv", "a.exe", "", "a" * 300 + ".csv",
                                           "ảnh.csv"]), st.text(max_size=30)),
       layer=st.one_of(st.sampled_from(["retail_points", "cases", "audit_log", "communes"]),
                       st.text(max_size=20)),
       flags=st.dictionaries(st.sampled_from(["mode", "keep_valid", "fix_swapped", "repair",
                                              "crs"]), CELL, max_size=3))
def test_fuzzed_uploads_get_a_4xx_or_a_report_never_a_500(content, filename, layer, flags, api):
    client = api.test_client()
    before = api.extensions["geo_pcmt_store"].count("retail_points")
    res = client.post("/data/upload", headers=api.config["FUZZ_HEADERS"],
                      content_type="multipart/form-data",
                      data={"layer": layer, **flags, "file": (io.BytesIO(content), filename)})
    assert res.status_code < 500, res.get_data(as_text=True)[:500]
    assert res.is_json
    if res.status_code != 201:
        assert api.extensions["geo_pcmt_store"].count("retail_points") == before
    _assert_sound(api.extensions["geo_pcmt_store"])


QUERY_KEYS = st.sampled_from(["bbox", "limit", "offset", "datetime", "f", "crs", "bbox-crs",
                              "name", "type", "status", "first_seen", "created_at", "is_border",
                              "commune_code", "confidentiality", "id"])


@FUZZ
@given(collection=st.one_of(st.sampled_from(["retail_points", "communes", "cases",
                                             "commune_assessments", "audit_log"]),
                            st.sampled_from(ATTACKS), st.text(max_size=15)),
       params=st.dictionaries(st.one_of(QUERY_KEYS, st.text(max_size=8)),
                              st.one_of(CELL, COORDS,
                                        st.lists(COORDS, min_size=4, max_size=4).map(",".join)),
                              max_size=4),
       fid=st.one_of(st.sampled_from(ATTACKS), st.text(max_size=20)))
def test_fuzzed_api_queries_get_a_4xx_or_data_never_a_500(collection, params, fid, api):
    client = api.test_client()
    headers = api.config["FUZZ_HEADERS"]
    cid, fid = quote(collection, safe=""), quote(fid, safe="")
    for url, query in ((f"/api/collections/{cid}/items", params),
                       (f"/api/collections/{cid}/items/{fid}", {}),
                       (f"/export/{cid}.geojson", params)):
        res = client.get(url, query_string=query, headers=headers)
        assert res.status_code < 500, (url, query, res.get_data(as_text=True)[:500])
    _assert_sound(api.extensions["geo_pcmt_store"])
