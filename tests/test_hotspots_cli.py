"""`geo-pcmt hotspots` and geo_pcmt.hotspots: derived layers in the store, GeoJSON, reproducibility."""
from __future__ import annotations

import json
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner

from geo_pcmt.runs import hotspots
from geo_pcmt.cli import main
from tests.backends import copy_store

NAM_CAN = (411_000.0, 2_153_400.0)  # metric point in Xã Nậm Cắn, ~6 km from the gate
VINH = (569_800.0, 2_064_900.0)  # Phường Thành Vinh


def _frames(seed=0):
    rng = np.random.default_rng(seed)
    xy = np.vstack([rng.normal(NAM_CAN, 150, (25, 2)), rng.normal(VINH, 150, (25, 2))])
    n = len(xy)
    status = np.where(np.arange(n) % 10 == 9, "cleared", "active").astype(object)
    status[3] = "re-emerged"
    retail = gpd.GeoDataFrame({
        "id": [f"RP-{i:03d}" for i in range(n)], "source": "test SYNTHETIC", "type": "diem_ban_le",
        "status": status, "first_seen": "2025-01-15",
        "cleared_on": [("2025-08-01" if s == "cleared" else None) for s in status],
    }, geometry=shapely.points(xy), crs=32648).to_crs(4326)
    months = pd.date_range("2025-01-01", "2025-12-01", freq="MS")
    cx = np.vstack([rng.normal(NAM_CAN, 300, (60, 2)), rng.normal(VINH, 300, (120, 2))])
    cases = gpd.GeoDataFrame({
        "id": [f"C-{i:04d}" for i in range(len(cx))], "source": "test SYNTHETIC",
        "kind": "retail", "date": [str((months[i % 12] + pd.Timedelta(days=9)).date())
                                   for i in range(len(cx))],
    }, geometry=shapely.points(cx), crs=32648).to_crs(4326)
    px = rng.normal(NAM_CAN, 200, (4, 2))
    plots = gpd.GeoDataFrame({
        "id": [f"OP-{i}" for i in range(4)], "source": "test SYNTHETIC",
        "area_m2": [300.0, 400.0, 250.0, 600.0], "detected_on": "2025-12-20",
    }, geometry=shapely.points(px), crs=32648).to_crs(4326)
    return {"retail_points": retail, "cases": cases, "opium_plots": plots}


@pytest.fixture(scope="module")
def filled_store(tmp_path_factory):
    path = tmp_path_factory.mktemp("hotspots") / "s.gpkg"
    store = copy_store(path)
    for layer, frame in _frames().items():
        store.write(layer, frame, mode="replace")
    return store


def _run(*args, store):
    return CliRunner().invoke(main, list(args), env={"GEO_PCMT_STORE": str(store.path)},
                              catch_exceptions=False)


def test_hotspots_is_listed_in_help():
    assert "hotspots" in CliRunner().invoke(main, ["--help"]).output


@pytest.mark.slow  # whole service: a full run
def test_cli_writes_every_derived_layer_and_geojson(filled_store, tmp_path):
    out = tmp_path / "maps"
    res = _run("hotspots", "--to", "2025-12-31", "--out", str(out), store=filled_store)
    assert res.exit_code == 0, res.output
    run_id = res.output.split("run ")[1].split()[0]
    for layer in hotspots.DERIVED_LAYERS:
        frame = filled_store.read(layer)
        assert len(frame) > 0, layer
        assert set(frame["run_id"]) == {run_id}
        params = json.loads(frame["params"].iloc[0])
        assert params["date_to"] == "2025-12-31" and params["rules"]["radius_m"] == 600
        assert params["inputs"]["retail_points"]["rows"] == 50
        doc = json.loads((out / f"{layer}.geojson").read_text(encoding="utf-8"))
        assert doc["type"] == "FeatureCollection" and "crs" not in doc
        assert len(doc["features"]) == len(frame)
    assert (out / "heat_density.geojson").exists()
    clusters = filled_store.read("hotspot_clusters")
    assert len(clusters) == 2 and sorted(clusters["n_points"]) == [25, 29]
    nam_can = clusters.loc[clusters["communes"].str.contains("16837")].iloc[0]
    assert nam_can["nearest_crossing"] == "Cửa khẩu quốc tế Nậm Cắn"  # gate from boundaries
    flags = filled_store.read("complex_hotspots")
    assert "complex hotspots flagged" in res.output
    # the officer reads the level and the score in words, not codes: "mức cao, điểm số 9,0"
    assert re.search(r"— mức (cao|trung bình|thấp), điểm số \d+,\d\n", res.output)
    assert "[high]" not in res.output and "[medium]" not in res.output
    assert flags["reasons_vi"].str.contains("điểm bán lẻ đang hoạt động trong bán kính 600 m").any()
    assert flags["reasons_vi"].str.contains("cách cửa khẩu quốc tế Nậm Cắn").any()
    audit = filled_store.read("audit_log")
    assert ((audit["user"] == "cli") & (audit["layer"] == "complex_hotspots")).any()


@pytest.mark.slow  # whole service: two full runs
def test_a_second_run_replaces_the_first(filled_store, tmp_path):
    _run("hotspots", "--method", "gistar", "--no-export", store=filled_store)
    first = filled_store.read("gistar_cells")
    res = _run("hotspots", "--method", "gistar", "--no-export", "--cell-size-m", "4000",
               "--json", store=filled_store)
    assert res.exit_code == 0
    info = json.loads(res.output[res.output.index("{"):])
    second = filled_store.read("gistar_cells")
    assert set(second["run_id"]) == {info["run_id"]}
    assert len(second) < len(first)  # bigger cells, fewer of them
    assert set(second["grid"]) == {"hex_4000m", "commune"}
    assert info["written"] == {"gistar_cells": len(second)}


def test_bad_options_are_usage_errors(filled_store):
    assert _run("hotspots", "--to", "31/12/2025", store=filled_store).exit_code == 2
    res = _run("hotspots", "--layers", "drug_points", store=filled_store)
    assert res.exit_code == 2 and "drug_points" in res.output
    assert _run("hotspots", "--from", "2026-01-01", "--to", "2025-01-01",
                store=filled_store).exit_code == 2


@pytest.mark.slow  # whole service: two full runs
def test_a_run_is_reproducible_from_its_inputs_and_params(filled_store):
    params = hotspots.HotspotParams(date_to="2025-12-31", seed=3)
    inputs = hotspots.read_inputs(filled_store, params)
    a = hotspots.run(inputs, params)
    b = hotspots.run(inputs, params)
    assert a.run_id.split("-")[-1] == b.run_id.split("-")[-1]  # same params → same digest
    for layer in a.frames:
        fa = a.frames[layer].drop(columns=["id", "run_id", "created_at", "geometry"])
        fb = b.frames[layer].drop(columns=["id", "run_id", "created_at", "geometry"])
        assert fa.equals(fb), layer
    changed = hotspots.run(inputs, hotspots.with_overrides(params, eps_m=50.0))
    assert changed.run_id.split("-")[-1] != a.run_id.split("-")[-1]


def test_layers_and_weights_choose_what_is_analysed(filled_store):
    params = hotspots.HotspotParams(methods=("gistar",), layers=("cases",),
                                    layer_weights=(("cases", 0.5),), commune_gistar=False)
    result = hotspots.run(hotspots.read_inputs(filled_store, params), params)
    cells = result.frames["gistar_cells"]
    assert set(result.frames) == {"gistar_cells"}
    assert cells["value"].sum() == pytest.approx(0.5 * 180)


@pytest.mark.slow  # over ~0.5 s: out of the quick loop
def test_a_frame_that_does_not_fit_its_layer_stores_nothing(filled_store):
    params = hotspots.HotspotParams(methods=("dbscan", "gistar"), commune_gistar=False)
    result = hotspots.run(hotspots.read_inputs(filled_store, params), params)
    before = filled_store.count("gistar_cells")
    bad = result.frames["hotspot_clusters"]
    bad["n_points"] = bad["n_points"].astype(object)
    bad.loc[0, "n_points"] = "many"
    with pytest.raises(Exception, match="n_points"):
        hotspots.write_run(filled_store, result)
    assert filled_store.count("gistar_cells") == before


@pytest.mark.slow  # over ~0.5 s: out of the quick loop
def test_hdbscan_and_a_suggested_eps_can_be_chosen(filled_store):
    res = _run("hotspots", "--method", "hdbscan", "--min-cluster-size", "10", "--no-export",
               store=filled_store)
    assert res.exit_code == 0, res.output
    clusters = filled_store.read("hotspot_clusters")
    assert set(clusters["method"]) == {"hdbscan"} and len(clusters) == 2
    res = _run("hotspots", "--method", "dbscan", "--suggest-eps", "--no-export", store=filled_store)
    params = json.loads(filled_store.read("hotspot_clusters")["params"].iloc[0])
    assert params["eps_m"] is None and params["resolved"]["eps_m_suggested"] > 0


# --- the role a run reads for, and the confidentiality of what it writes ---------------------

def _secret_points(n=3):
    """Secret retail points in the middle of the Nậm Cắn cluster."""
    xy = np.array([NAM_CAN]) + np.arange(n)[:, None] * 20.0
    return gpd.GeoDataFrame({
        "id": [f"RP-S{i}" for i in range(n)], "source": "test SYNTHETIC", "type": "diem_ban_le",
        "status": "active", "first_seen": "2025-01-15", "confidentiality": "secret",
    }, geometry=shapely.points(xy), crs=32648).to_crs(4326)


@pytest.fixture(scope="module")
def store_with_secrets(tmp_path_factory):
    path = tmp_path_factory.mktemp("hotspots_secret") / "s.gpkg"
    store = copy_store(path)
    for layer, frame in _frames().items():
        store.write(layer, frame, mode="replace")
    store.write("retail_points", _secret_points(), mode="append")
    return store


def _flags_run(store, role):
    params = hotspots.HotspotParams(methods=("flags",), date_to="2025-12-31", role=role)
    return hotspots.run(hotspots.read_inputs(store, params, role), params)


@pytest.mark.slow  # whole service: two full runs
def test_a_secret_point_in_a_dense_cluster_does_not_change_an_analyst_run(filled_store,
                                                                          store_with_secrets):
    plain = _flags_run(filled_store, "analyst")
    with_secret = _flags_run(store_with_secrets, "analyst")
    assert with_secret.run_id.split("-")[-1] == plain.run_id.split("-")[-1]  # same inputs read
    for layer in ("hotspot_clusters", "complex_hotspots"):
        a = plain.frames[layer].drop(columns=["id", "run_id", "created_at", "params"])
        b = with_secret.frames[layer].drop(columns=["id", "run_id", "created_at", "params"])
        assert a.equals(b), layer
    assert sorted(with_secret.frames["hotspot_clusters"]["n_points"]) == [25, 29]
    for frame in with_secret.frames.values():
        assert set(frame["confidentiality"]) == {"restricted"}
        assert json.loads(frame["params"].iloc[0])["role"] == "analyst"


@pytest.mark.slow  # whole service: a full run
def test_a_run_made_for_admin_marks_its_derived_rows_secret(store_with_secrets):
    result = _flags_run(store_with_secrets, "admin")
    assert sorted(result.frames["hotspot_clusters"]["n_points"]) == [25, 32]  # secrets count
    assert result.confidentiality == "secret"
    for layer, frame in result.frames.items():
        assert set(frame["confidentiality"]) == {"secret"}, layer
    assert result.params["role"] == "admin"


@pytest.mark.slow  # over ~0.5 s: out of the quick loop
def test_cli_role_is_recorded_and_secret_rows_stay_with_admins(store_with_secrets):
    res = _run("hotspots", "--method", "dbscan", "--no-export", "--role", "admin",
               store=store_with_secrets)
    assert res.exit_code == 0, res.output
    clusters = store_with_secrets.read("hotspot_clusters")
    assert set(clusters["confidentiality"]) == {"secret"}
    assert json.loads(clusters["params"].iloc[0])["role"] == "admin"
    from geo_pcmt import access
    assert len(access.read(store_with_secrets, "hotspot_clusters", role="analyst")) == 0
    res = _run("hotspots", "--method", "dbscan", "--no-export", store=store_with_secrets)
    clusters = store_with_secrets.read("hotspot_clusters")
    assert set(clusters["confidentiality"]) == {"restricted"}
    assert sorted(clusters["n_points"]) == [25, 29]
    res = _run("hotspots", "--role", "viewer", "--no-export", store=store_with_secrets)
    assert res.exit_code == 1 and "not readable by role 'viewer'" in res.output


@pytest.mark.slow  # over ~0.5 s: out of the quick loop
def test_bandwidth_m_sets_the_heat_map_bandwidth(filled_store):
    res = _run("hotspots", "--method", "kde", "--bandwidth-m", "1234", "--no-export", "--json",
               store=filled_store)
    assert res.exit_code == 0, res.output
    params = hotspots.HotspotParams(methods=("kde",), kde_bandwidth_m=1234.0)
    result = hotspots.run(hotspots.read_inputs(filled_store, params), params)
    assert result.density.bandwidth_m == 1234.0 and result.density.bandwidth_rule == "given"
    res = _run("hotspots", "--method", "kde", "--bandwidth-m", "0", store=filled_store)
    assert res.exit_code != 0 and "--bandwidth-m" in res.output
