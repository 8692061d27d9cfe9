"""A viewer's counts are the same everywhere: the map shows exactly what the API's aggregate gives.

One reader (:func:`geo_pcmt.access.read_counts`) makes the per-commune counts a viewer sees:
small counts suppressed, secret records never counted, no time window. These tests hold the
API's ``<layer>_per_commune`` collections and the viewer's map (web and CLI) to it, and scan
the viewer's page for the analyst-only values it must not carry.
"""
from __future__ import annotations

import json
import re

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner

from geo_pcmt import access
from geo_pcmt.cli import main
from geo_pcmt.ingest import boundaries
from geo_pcmt.ingest.sample_files import read as read_sample
from geo_pcmt.runs.seed import load_boundaries
from geo_pcmt.store import GeoPackageStore
from geo_pcmt.outputs.map import packing
from tests.test_ogcapi import bearer, make_app

COUNTED = {"retail_points": "points", "cases": "cases", "opium_plots": "plots"}


def _config(html: str) -> dict:
    """The JSON the map page draws from (the argument of geoPcmtApp)."""
    return packing.page_config(html)


def _page_counts(html: str, layer: str) -> dict[str, object]:
    """commune code → count on the map page (``"<5"`` when suppressed, absent when zero)."""
    counts = (_config(html)["data"].get("commune_counts") or {}).get("counts", {})
    return {code: c[COUNTED[layer]] for code, c in counts.items() if COUNTED[layer] in c}


def _api_counts(client, head, layer: str) -> dict[str, object]:
    """The same from the API's aggregate, in the page's terms."""
    res = client.get(f"/api/collections/{layer}_per_commune/items?f=json&limit=1000",
                     headers=head)
    assert res.status_code == 200, res.data
    out = {}
    for f in res.get_json()["features"]:
        p = f["properties"]
        if p["suppressed"]:
            out[f["id"]] = f"<{access.SMALL_COUNT}"
        elif p["count"]:
            out[f["id"]] = p["count"]
    return out


# ---------------------------------------------------------------- quick: the pure parts

def test_marking_is_the_highest_level_of_the_rows_shown():
    assert access.marking(["public"]) == ("Công khai", "public")
    assert access.marking(["public", "restricted"]) == ("MẬT", "restricted")
    assert access.marking(["restricted", "secret", None]) == ("TỐI MẬT", "secret")
    assert access.marking([None]) == ("MẬT", "restricted")  # unknown counts as restricted
    assert access.marking([], at_least="restricted") == ("MẬT", "restricted")


def test_aggregate_counts_leave_secret_records_out_and_suppress_small_counts():
    communes = boundaries.communes()
    a, b = communes["code"].iloc[0], communes["code"].iloc[1]
    records = pd.DataFrame({"commune_code": [a] * 6 + [b] * 2 + [a] * 3,
                            "confidentiality": ["restricted"] * 8 + ["secret"] * 3})
    out = access.aggregate_counts(records, communes).set_index("code")
    assert out.loc[a, "count"] == 6 and not out.loc[a, "suppressed"]
    assert pd.isna(out.loc[b, "count"]) and out.loc[b, "suppressed"]
    assert len(out) == len(communes)


def test_anonymous_visitors_get_no_counts(store):
    with pytest.raises(access.AccessDenied):
        access.read_counts(store, "retail_points", role=None)


# ---------------------------------------------------------------- the sample, through the app

@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The synthetic sample with the commune classes computed, served by the app."""
    d = tmp_path_factory.mktemp("viewer")
    store = GeoPackageStore(d / "viewer.gpkg")
    store.init()
    load_boundaries(store)
    sample = read_sample()
    for layer in ("retail_points", "cases", "opium_plots", "border_posts",
                  "commune_assessments", "recognitions", "targets"):
        store.write(layer, sample[layer], mode="replace", user="fixture")
    res = CliRunner().invoke(main, ["status", "--store", str(store.path)])
    assert res.exit_code == 0, res.output
    return {"store": store, "app": make_app(store, d), "dir": d}


def _map(world, role: str, query: str = "") -> str:
    app = world["app"]
    res = app.test_client().get(f"/map?lang=vi{query}", headers=bearer(app, role))
    assert res.status_code == 200
    return res.get_data(as_text=True)


@pytest.mark.slow
def test_viewer_map_counts_equal_the_api_aggregate_for_every_commune(world):
    page = _map(world, "viewer")
    client, head = world["app"].test_client(), bearer(world["app"], "viewer")
    for layer in COUNTED:
        api = _api_counts(client, head, layer)
        assert api, f"the sample has no {layer}: the comparison would be empty"
        assert _page_counts(page, layer) == api, layer
    # both kinds occur, so suppression is compared too
    assert any(v == "<5" for v in api.values()) and any(isinstance(v, int) for v in api.values())


@pytest.mark.slow
def test_three_secret_points_in_one_commune_change_neither_api_nor_viewer_map(world, tmp_path):
    store = world["store"]
    client, head = world["app"].test_client(), bearer(world["app"], "viewer")
    before_api = _api_counts(client, head, "retail_points")
    before_map = _page_counts(_map(world, "viewer"), "retail_points")
    code = next(c for c, v in before_api.items() if isinstance(v, int))
    commune = boundaries.communes().set_index("code").loc[code, "geometry"]
    spot = commune.representative_point()
    secret = gpd.GeoDataFrame({
        "id": [f"RP-SECRET-{i}" for i in range(3)], "type": "diem_ban_le",
        "name": [f"Điểm mật {i}" for i in range(3)],
        "status": "active", "first_seen": "2025-01-10", "commune_code": code,
        "confidentiality": "secret", "source": "test"},
        geometry=[shapely.Point(spot.x + i * 1e-4, spot.y) for i in range(3)], crs=4326)
    store.write("retail_points", secret, mode="append", user="test")
    try:
        after_api = _api_counts(client, head, "retail_points")
        after_map = _page_counts(_map(world, "viewer"), "retail_points")
        assert after_api == before_api and after_map == before_map
        # the admin's map does draw them: the write took
        admin = _config(_map(world, "admin"))["data"]["retail_points"]["name"]
        assert "Điểm mật 0" in admin
    finally:
        store.delete("retail_points", [f"RP-SECRET-{i}" for i in range(3)], user="test")


@pytest.mark.slow
def test_two_time_windows_give_a_viewer_the_same_counts_and_the_page_says_so(world):
    march = _map(world, "viewer", "&from=2025-01&to=2025-03")
    april = _map(world, "viewer", "&from=2025-01&to=2025-04")
    for layer in COUNTED:
        assert _page_counts(march, layer) == _page_counts(april, layer) != {}
        assert _page_counts(march, layer) == _page_counts(_map(world, "viewer"), layer)
    cfg = _config(march)
    assert cfg["countsAllTime"] is True
    assert "toàn bộ thời gian" in cfg["i18n"]["vi"]["ui.counts_all_time"]
    # an analyst's window does filter the points it may see (the test could tell)
    a_march = _config(_map(world, "analyst", "&from=2025-01&to=2025-03"))
    a_april = _config(_map(world, "analyst", "&from=2025-01&to=2025-04"))
    assert len(a_march["data"]["cases"]["x"]) < len(a_april["data"]["cases"]["x"])


@pytest.mark.slow
def test_cli_viewer_map_ignores_the_window_for_counts(world, tmp_path):
    store = str(world["store"].path)
    pages = []
    for window in ([], ["--from", "2025-01", "--to", "2025-03"],
                   ["--from", "2025-01", "--to", "2025-04"]):
        out = tmp_path / f"m{len(pages)}.html"
        res = CliRunner().invoke(main, ["map", "--role", "viewer", "--standalone", "--out",
                                        str(out), "--store", store, *window])
        assert res.exit_code == 0, res.output
        pages.append(out.read_text(encoding="utf-8"))
    for layer in COUNTED:
        assert _page_counts(pages[0], layer) == _page_counts(pages[1], layer) \
            == _page_counts(pages[2], layer) != {}


@pytest.mark.slow
def test_viewer_map_carries_no_assessment_figures_and_no_operational_fields(world):
    analyst, viewer = _map(world, "analyst"), _map(world, "viewer")
    # the analyst's page holds the criteria (figures such as addicts with records) and each
    # post's area of responsibility: the scans below can fail
    areas = [f["properties"]["area_of_responsibility"]
             for f in _config(analyst)["data"]["border_posts"]["features"]]
    areas = [a for a in areas if a and len(a) > 5]
    assert areas and "addicts_with_records" in analyst
    for area in areas:  # the values, anywhere in the page
        assert area not in viewer, area
    data = json.dumps(_config(viewer), ensure_ascii=False)  # the names, in the page's data
    for marker in ("addicts_with_records", "harbouring_locations", "plant_area_m2",
                   "offenders_arrested", "threshold"):
        assert marker not in viewer, marker
    assert "area_of_responsibility" not in data
    details = _config(viewer)["statusDetails"]
    assert details, "the viewer's map has no commune classes: the scan is vacuous"
    assert all(d.get("k") is None for per_year in details.values() for d in per_year.values())


@pytest.mark.slow
def test_maps_carry_the_classification_of_the_rows_they_show(world):
    viewer, analyst = _map(world, "viewer"), _map(world, "analyst")
    assert _config(viewer)["classification"] == "public" and '<div class="gp-marking' not in viewer
    assert _config(analyst)["classification"] == "restricted"
    assert re.search(r'<div class="gp-marking gp-marking-restricted"[^>]*>MẬT</div>', analyst)
