"""OGC API – Features Part 3: CQL2 filters (text and JSON), queryables, lenient datetime,
temporal extents and gzip — each answer checked against pandas on the rows the role sees.
"""
from __future__ import annotations

import gzip
import json
import shutil
from urllib.parse import quote

import numpy as np
import pytest
import shapely

from geo_pcmt import access
from geo_pcmt.layers import get_layer
from geo_pcmt.store import GeoPackageStore
from geo_pcmt.store.filters import (And, Between, Compare, Filter, In, Intersects, IsNull,
                                    Like, Not, Or)
from tests.test_ogcapi import get, make_app, web_frames


@pytest.fixture(scope="module")
def api(tmp_path_factory, web_template):  # noqa: F811
    d = tmp_path_factory.mktemp("cql2")
    shutil.copy(web_template, d / "web.gpkg")
    return make_app(GeoPackageStore(d / "web.gpkg"), d)


@pytest.fixture(scope="module")
def analyst_points(api):
    """The retail points an analyst may see, from the store through the role-scoped reader."""
    store = GeoPackageStore(api.config["STORE"])
    return access.read(store, "retail_points", role="analyst")


def items(api, cid, role="analyst", **params):
    query = "&".join(f"{k.replace('_', '-')}={quote(str(v))}" for k, v in params.items())
    return get(api, f"/api/collections/{cid}/items?limit=1000&{query}", role)


def ids(res) -> list[str]:
    assert res.status_code == 200, res.get_json()
    return sorted(f["id"] for f in res.get_json()["features"])


BOX = (104.095, 19.34, 104.135, 19.36)
# (CQL2 text, the same in CQL2 JSON, what it keeps as a pandas mask) — the standard's
# examples (Annex B) on this layer's fields
EXAMPLES = [
    ("status = 'cleared'", {"op": "=", "args": [{"property": "status"}, "cleared"]},
     lambda d: d.status == "cleared"),
    ("status <> 'cleared'", {"op": "<>", "args": [{"property": "status"}, "cleared"]},
     lambda d: d.status != "cleared"),
    ("first_seen > DATE('2024-05-15')",
     {"op": ">", "args": [{"property": "first_seen"}, {"date": "2024-05-15"}]},
     lambda d: d.first_seen > "2024-05-15"),
    ("first_seen >= '2024-05-15'",
     {"op": ">=", "args": [{"property": "first_seen"}, "2024-05-15"]},
     lambda d: d.first_seen >= "2024-05-15"),
    ("name LIKE 'Điểm số 1%'", {"op": "like", "args": [{"property": "name"}, "Điểm số 1%"]},
     lambda d: d.name.fillna("").str.startswith("Điểm số 1")),
    ("name LIKE 'điểm%'", {"op": "like", "args": [{"property": "name"}, "điểm%"]},
     lambda d: d.name.fillna("").str.startswith("điểm")),  # case sensitive: none
    ("id IN ('RP-01', 'RP-07', 'RP-08')",
     {"op": "in", "args": [{"property": "id"}, ["RP-01", "RP-07", "RP-08"]]},
     lambda d: d.id.isin(["RP-01", "RP-07", "RP-08"])),
    ("first_seen BETWEEN DATE('2024-02-01') AND DATE('2024-04-30')",
     {"op": "between", "args": [{"property": "first_seen"}, {"date": "2024-02-01"},
                                {"date": "2024-04-30"}]},
     lambda d: d.first_seen.between("2024-02-01", "2024-04-30")),
    ("cleared_on IS NULL", {"op": "isNull", "args": [{"property": "cleared_on"}]},
     lambda d: d.cleared_on.isna()),
    ("NOT (status = 'active') OR id = 'RP-11'",
     {"op": "or", "args": [{"op": "not", "args": [{"op": "=", "args": [
         {"property": "status"}, "active"]}]}, {"op": "=", "args": [{"property": "id"},
                                                                  "RP-11"]}]},
     lambda d: (d.status != "active") | (d.id == "RP-11")),
    ("S_INTERSECTS(geometry, BBOX(104.095, 19.34, 104.135, 19.36))",
     {"op": "s_intersects", "args": [{"property": "geometry"}, {"bbox": list(BOX)}]},
     lambda d: shapely.intersects(d.geometry.values, shapely.box(*BOX))),
    ("S_INTERSECTS(geometry, POLYGON((104.095 19.34, 104.135 19.34, 104.135 19.36, "
     "104.095 19.36, 104.095 19.34)))",
     {"op": "s_intersects", "args": [{"property": "geometry"}, {
         "type": "Polygon", "coordinates": [[[104.095, 19.34], [104.135, 19.34],
                                             [104.135, 19.36], [104.095, 19.36],
                                             [104.095, 19.34]]]}]},
     lambda d: shapely.intersects(d.geometry.values, shapely.box(*BOX))),
    ("S_INTERSECTS(geometry, POINT(104.15 19.5))",
     {"op": "s_intersects", "args": [{"property": "geometry"},
                                     {"type": "Point", "coordinates": [104.15, 19.5]}]},
     lambda d: d.id == "RP-10"),
    ("T_AFTER(first_seen, DATE('2024-05-15'))",
     {"op": "t_after", "args": [{"property": "first_seen"}, {"date": "2024-05-15"}]},
     lambda d: d.first_seen > "2024-05-15"),
    ("T_BEFORE(first_seen, TIMESTAMP('2024-03-15T00:00:00Z'))",
     {"op": "t_before", "args": [{"property": "first_seen"},
                                 {"timestamp": "2024-03-15T00:00:00Z"}]},
     lambda d: d.first_seen < "2024-03-15"),
    ("T_INTERSECTS(first_seen, INTERVAL('2024-03-01', '2024-04-30'))",
     {"op": "t_intersects", "args": [{"property": "first_seen"},
                                     {"interval": ["2024-03-01", "2024-04-30"]}]},
     lambda d: d.first_seen.between("2024-03-01", "2024-04-30")),
    ("T_INTERSECTS(first_seen, INTERVAL('2024-06-01', '..')) AND status = 'active'",
     {"op": "and", "args": [
         {"op": "t_intersects", "args": [{"property": "first_seen"},
                                         {"interval": ["2024-06-01", ".."]}]},
         {"op": "=", "args": [{"property": "status"}, "active"]}]},
     lambda d: (d.first_seen >= "2024-06-01") & (d.status == "active")),
]


@pytest.mark.slow  # over ~0.5 s: out of the quick loop
@pytest.mark.parametrize("text,as_json,mask", EXAMPLES, ids=[e[0][:40] for e in EXAMPLES])
def test_cql2_text_and_json_keep_the_rows_pandas_keeps(api, analyst_points, text, as_json,
                                                        mask):
    want = sorted(analyst_points[np.asarray(mask(analyst_points), dtype=bool)].id)
    assert ids(items(api, "retail_points", filter=text)) == want
    assert ids(items(api, "retail_points", filter=json.dumps(as_json),
                     filter_lang="cql2-json")) == want
    matched = items(api, "retail_points", filter=text, limit=1).get_json()["numberMatched"]
    assert matched == len(want)


def test_a_filter_cannot_reach_rows_above_the_roles_clearance(api):
    # RP-07 and RP-12 are secret: no filter brings them to an analyst
    assert ids(items(api, "retail_points", filter="id IN ('RP-07', 'RP-12')")) == []
    assert ids(items(api, "retail_points", filter="confidentiality = 'secret'")) == []
    assert "RP-07" in ids(items(api, "retail_points", "admin", filter="id = 'RP-07'"))
    # a viewer sees public crossings only, whatever the filter says
    assert ids(items(api, "border_crossings", "viewer",
                     filter="confidentiality = 'restricted' OR id = 'BC-3'")) == []


def test_a_hidden_field_is_refused_exactly_as_an_unknown_one(api):
    hidden = items(api, "commune_status", "viewer", filter="criteria LIKE '%a%'")
    unknown = items(api, "commune_status", "viewer", filter="kriteria LIKE '%a%'")
    assert hidden.status_code == unknown.status_code == 400
    assert hidden.get_json()["code"] == unknown.get_json()["code"] == "invalid_filter"
    assert hidden.get_json()["description"].replace("criteria", "X") == \
        unknown.get_json()["description"].replace("kriteria", "X")
    assert items(api, "commune_status", "analyst", filter="criteria LIKE '%a%'") \
        .status_code == 200


@pytest.mark.parametrize("text,words", [
    ("status = ", "not valid cql2-text"),
    ("first_seen > 'yesterday'", "first_seen"),
    ("status > 3", "text in quotes"),
    ("S_INTERSECTS(geometry, POINT(500 19))", "lon/lat"),
    ("T_AFTER(status, DATE('2024-01-01'))", "not a date property"),
    ("((((((((((" * 300, "filter"),
])
def test_bad_filters_are_a_400_naming_the_problem(api, text, words):
    res = items(api, "retail_points", filter=text)
    assert res.status_code == 400, res.data[:300]
    assert words in res.get_json()["description"]


def test_filter_on_counts_per_commune_and_unknown_languages_are_refused(api):
    assert items(api, "retail_points_per_commune", "viewer",
                 filter="count > 3").status_code == 400
    res = items(api, "retail_points", filter="status = 'active'", filter_lang="sql")
    assert res.status_code == 400 and "cql2-text" in res.get_json()["description"]


def test_queryables_list_the_fields_the_role_sees_and_the_geometry(api):
    doc = get(api, "/api/collections/border_posts/queryables", "viewer").get_json()
    assert doc["type"] == "object" and "geometry" in doc["properties"]
    assert "area_of_responsibility" not in doc["properties"]  # operational: analysts only
    doc = get(api, "/api/collections/border_posts/queryables", "analyst").get_json()
    assert "area_of_responsibility" in doc["properties"]
    rels = {l["rel"] for l in get(api, "/api/collections/cases").get_json()["links"]}
    assert "http://www.opengis.net/def/rel/ogc/1.0/queryables" in rels


def test_conformance_declares_filtering_and_cql2(api):
    classes = get(api, "/api/conformance").get_json()["conformsTo"]
    for part in ("ogcapi-features-3/1.0/conf/filter", "ogcapi-features-3/1.0/conf/queryables",
                 "cql2/1.0/conf/cql2-text", "cql2/1.0/conf/cql2-json",
                 "cql2/1.0/conf/advanced-comparison-operators",
                 "cql2/1.0/conf/basic-spatial-functions"):
        assert any(c.endswith(part) for c in classes), part


# --- datetime as GIS clients send it ------------------------------------------------------

@pytest.mark.parametrize("value,days", [
    ("2024-03-05T/..", range(5, 21)),            # GDAL 3.6: -where "date >= '2024-03-05'"
    ("2024-03-05/..", range(5, 21)),
    ("../2024-03-05T", range(1, 6)),
    ("2024-03-05T/2024-03-07T", range(5, 8)),    # GDAL 3.6: BETWEEN
    ("2024-03-05", [5]),
    ("2024-03-05T08Z", [5]),
    ("2024-03-05T23:30:00-02:00/..", range(6, 21)),  # 01:30 UTC on the 6th
    ("/2024-03-02", [1, 2]),
])
def test_datetime_takes_dates_open_ends_and_offsets(api, value, days):
    want = sorted(f"C-{d:02d}" for d in days)
    assert ids(items(api, "cases", datetime=value)) == want


def test_a_malformed_datetime_names_the_accepted_forms(api):
    res = items(api, "cases", datetime="05/03/2024")
    assert res.status_code == 400 and "2024-05-01/.." in res.get_json()["description"]


def test_the_schema_request_ignores_the_items_parameters_of_a_collection_url(api):
    res = get(api, "/api/collections/cases/schema?datetime=2024-03-05T/..&kind=x")
    assert res.status_code == 200
    assert get(api, "/api/collections/cases/schema?nonsense=1").status_code == 400


def test_an_export_keeps_only_the_rows_the_filter_keeps(api):
    res = get(api, "/export/retail_points.geojson?filter=" + quote("status = 'cleared'"))
    assert res.status_code == 200
    assert [f["properties"]["id"] for f in json.loads(res.data)["features"]] == ["RP-02"]


# --- extents, gzip ------------------------------------------------------------------------

def test_collections_carry_the_temporal_extent_the_role_may_see(api):
    doc = get(api, "/api/collections/cases").get_json()
    assert doc["extent"]["temporal"]["interval"] == [["2024-03-01T00:00:00Z",
                                                      "2024-03-20T23:59:59Z"]]
    rp = get(api, "/api/collections/retail_points").get_json()  # RP-07 (secret): 2024-08-15
    assert rp["extent"]["temporal"]["interval"] == [["2024-01-15T00:00:00Z",
                                                     "2024-09-15T23:59:59Z"]]
    listed = {c["id"]: c for c in get(api, "/api/collections").get_json()["collections"]}
    assert listed["cases"]["extent"]["temporal"] == doc["extent"]["temporal"]


def test_json_answers_are_gzipped_when_the_client_accepts_it(api):
    plain = items(api, "cases")
    zipped = get(api, "/api/collections/cases/items?limit=1000", "analyst",
                 headers={"Accept-Encoding": "gzip, deflate"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in zipped.headers["Vary"]
    body = json.loads(gzip.decompress(zipped.data))
    assert body["features"] == plain.get_json()["features"]
    assert len(zipped.data) < len(plain.data) / 3
    assert "Content-Encoding" not in plain.headers


# --- the stores: one meaning in SQLite and PostgreSQL ---------------------------------------

def _store_filters():
    box = shapely.to_wkb(shapely.box(*BOX))
    return [
        (Compare("status", "=", "cleared"), lambda d: d.status == "cleared"),
        (Like("name", "Điểm số _"), lambda d: d.name.fillna("").str.fullmatch("Điểm số .")),
        (Like("address", "B%n 1%"), lambda d: d.address.fillna("").str.match("B.*n 1")),
        (In("id", ("RP-01", "RP-09")), lambda d: d.id.isin(["RP-01", "RP-09"])),
        (Between("first_seen", "2024-02-01", "2024-04-30"),
         lambda d: d.first_seen.between("2024-02-01", "2024-04-30")),
        (Not(IsNull("cleared_on")), lambda d: d.cleared_on.notna()),
        (Or((Intersects(box), Compare("first_seen", ">", "2024-08-15"))),
         lambda d: shapely.intersects(d.geometry.values, shapely.box(*BOX))
         | (d.first_seen > "2024-08-15")),
        (And((Compare("created_at", "<", "2999-01-01T00:00:00"),
              Compare("created_at", ">=", "2000-01-01T00:00:00"))), lambda d: d.id != ""),
    ]


@pytest.mark.parametrize("index", range(len(_store_filters())))
def test_both_stores_read_and_count_a_filter_as_pandas_does(any_empty_store, index):  # noqa: F811
    store = any_empty_store
    store.write("retail_points", web_frames()["retail_points"], mode="replace", user="t")
    expr, mask = _store_filters()[index]
    flt = Filter.of(expr, get_layer("retail_points"))
    everything = store.read("retail_points")
    want = sorted(everything[np.asarray(mask(everything), dtype=bool)].id)
    assert sorted(store.read("retail_points", filter=flt).id) == want
    assert store.count("retail_points", filter=flt) == len(want)
    scoped = access.read(store, "retail_points", role="analyst", filter=flt)
    assert not set(scoped.id) & {"RP-07", "RP-12"}


def test_a_store_filter_is_checked_against_the_schema():
    layer = get_layer("retail_points")
    with pytest.raises(KeyError):
        Filter.of(Compare("nope", "=", 1), layer)
    with pytest.raises(ValueError):
        Filter.of(Compare("first_seen", "=", "yesterday"), layer)
    with pytest.raises(ValueError):
        Filter.of(Like("first_seen", "2024%"), layer)
    with pytest.raises(ValueError):
        Filter.of(Intersects(shapely.to_wkb(shapely.Point(0, 0))), get_layer("commune_status"))


# --- fuzzing: never a 500, never a row the role may not see ---------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_FIELDS = ["id", "status", "name", "first_seen", "cleared_on", "confidentiality", "address",
           "nope", "geometry"]
_LITERALS = st.one_of(st.integers(-5, 5), st.floats(allow_nan=True), st.booleans(),
                      st.text(max_size=12), st.sampled_from(["'RP-07'", "'secret'",
                                                             "DATE('2024-05-01')",
                                                             "TIMESTAMP('2024-05-01T00:00:00Z')",
                                                             "'2024-05-01T'", "NULL"]))


def _lit(v) -> str:
    if isinstance(v, str) and not v.startswith(("'", "DATE", "TIMESTAMP", "NULL")):
        return "'" + v.replace("'", "''") + "'"
    return str(v)


_ATOMS = st.one_of(
    st.builds(lambda f, op, v: f"{f} {op} {_lit(v)}", st.sampled_from(_FIELDS),
              st.sampled_from(["=", "<>", "<", "<=", ">", ">=", "LIKE"]), _LITERALS),
    st.builds(lambda f, vs: f"{f} IN ({', '.join(map(_lit, vs))})", st.sampled_from(_FIELDS),
              st.lists(_LITERALS, min_size=1, max_size=4)),
    st.builds(lambda f, a, b: f"{f} BETWEEN {_lit(a)} AND {_lit(b)}", st.sampled_from(_FIELDS),
              _LITERALS, _LITERALS),
    st.builds(lambda f: f"{f} IS NULL", st.sampled_from(_FIELDS)),
    st.builds(lambda x, y: f"S_INTERSECTS(geometry, BBOX({x}, {y}, {x + 0.05}, {y + 0.05}))",
              st.floats(103.9, 104.3), st.floats(19.2, 19.6)),
    st.builds(lambda fn, f, v: f"{fn}({f}, {_lit(v)})",
              st.sampled_from(["T_AFTER", "T_BEFORE", "T_INTERSECTS"]),
              st.sampled_from(_FIELDS), _LITERALS),
)
_FILTERS = st.recursive(_ATOMS, lambda inner: st.one_of(
    st.builds(lambda a, b: f"({a}) AND ({b})", inner, inner),
    st.builds(lambda a, b: f"({a}) OR ({b})", inner, inner),
    st.builds(lambda a: f"NOT ({a})", inner)), max_leaves=6)


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=st.one_of(_FILTERS, st.text(max_size=60)), as_viewer=st.booleans())
def test_fuzzed_filters_never_fail_and_never_reveal_hidden_rows(api, text, as_viewer):
    role, cid = ("viewer", "border_crossings") if as_viewer else ("analyst", "retail_points")
    res = items(api, cid, role, filter=text)
    assert res.status_code in (200, 400), (text, res.status_code, res.data[:300])
    if res.status_code == 200:
        got = set(ids(res))
        hidden = {"BC-3"} if as_viewer else {"RP-07", "RP-12"}
        assert not got & hidden, text
    else:
        assert res.get_json()["code"] in ("invalid_filter", "invalid_parameter")


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(doc=st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=8),
                                  st.just({"property": "status"}),
                                  st.just({"property": "confidentiality"}),
                                  st.just({"date": "2024-05-01"})),
                        lambda inner: st.one_of(
                            st.lists(inner, max_size=3),
                            st.builds(lambda op, args: {"op": op, "args": args},
                                      st.sampled_from(["=", "<>", "and", "or", "not", "like",
                                                       "in", "between", "isNull", "t_after",
                                                       "s_intersects", "nonsense"]),
                                      st.lists(inner, max_size=3))), max_leaves=8))
def test_fuzzed_cql2_json_never_fails_and_never_reveals_hidden_rows(api, doc):
    res = items(api, "retail_points", "analyst", filter=json.dumps(doc),
                filter_lang="cql2-json")
    assert res.status_code in (200, 400), (doc, res.status_code, res.data[:300])
    if res.status_code == 200:
        assert not set(ids(res)) & {"RP-07", "RP-12"}, doc


def test_in_with_a_property_instead_of_a_list_is_a_clear_400(api):
    """Found by the fuzzing test: ``{"op": "in", "args": [prop, prop]}`` answered 500."""
    doc = {"op": "in", "args": [{"property": "status"}, {"property": "status"}]}
    res = items(api, "retail_points", "analyst", filter=json.dumps(doc), filter_lang="cql2-json")
    assert res.status_code == 400 and "IN needs a list" in res.get_json()["description"]
