"""The hotspot map: offline assets, who sees what, escaping, layers from data, filters, CLI, app."""
from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import folium
import folium.plugins
import geopandas as gpd
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner

from geo_pcmt.ingest import boundaries
from geo_pcmt.outputs import map as mapping
from geo_pcmt.outputs.map import vendor
from geo_pcmt.cli import main
from geo_pcmt.outputs.map import packing
from tests.conftest import retail_frame

SECRET_NAME = "Nhà bà Lò Thị Bí Mật"


@pytest.fixture(scope="module")
def base_frames():
    return {"communes": boundaries.communes(), "province": boundaries.province(),
            "border_line": boundaries.border_line(),
            "lao_provinces": boundaries.lao_provinces()}


def _points(n=12, **cols):
    pts = retail_frame(n)
    pts["commune_code"] = "16837"
    pts["confidentiality"] = "restricted"
    pts["name"] = [f"{SECRET_NAME} {i}" for i in range(n)]
    for k, v in cols.items():
        pts[k] = v
    return pts


def _html(frames, **kw):
    return mapping.render_html(mapping.build(frames, generated_on=date(2026, 11, 25), **kw))


def _config(html: str) -> dict:
    """The JSON the page draws from (the argument of geoPcmtApp)."""
    return packing.page_config(html)


# ---------------------------------------------------------------- offline assets

@pytest.mark.slow  # over ~0.5 s: out of the quick loop
def test_every_script_and_stylesheet_is_served_from_the_vendored_copies(base_frames):
    html = _html({**base_frames, "retail_points": _points()}, role="analyst")
    links = re.findall(r'<script src="([^"]+)"', html) + re.findall(
        r'<link rel="stylesheet" href="([^"]+)"', html)
    assert links and all(u.startswith("/static/vendor/") for u in links), links
    for url in links:
        assert (vendor.VENDOR_DIR / url.removeprefix("/static/vendor/")).is_file(), url
    assert not re.search(r'<(script|link|img)[^>]+(src|href)="(https?:)?//', html)


def test_the_vendored_files_and_their_licences_are_all_there():
    assert vendor.missing_files() == []
    licences = (vendor.VENDOR_DIR / "LICENSES.md").read_text(encoding="utf-8")
    for pkg in vendor.PACKAGES:
        assert pkg.spec in licences
        assert (vendor.VENDOR_DIR / pkg.folder / "LICENSE.txt").stat().st_size > 100


def test_a_plugin_that_is_not_vendored_fails_loudly_instead_of_using_a_cdn():
    m = folium.Map(tiles=None)
    folium.plugins.MiniMap().add_to(m)
    with pytest.raises(vendor.UnvendoredAssetError, match="leaflet-minimap"):
        vendor.localize(m)


def test_localizing_one_map_leaves_folium_defaults_alone_for_the_next(base_frames):
    mapping.build(base_frames)
    assert folium.Map.default_js[0][1].startswith("https://")
    assert folium.plugins.MarkerCluster.default_css[0][1].startswith("https://")


@pytest.mark.slow  # over ~0.5 s: out of the quick loop
def test_standalone_page_has_every_asset_inside_and_no_link_to_fetch(base_frames):
    m = mapping.build({**base_frames, "retail_points": _points()}, role="analyst")
    html = mapping.render_html(m, standalone=True)
    assert "<script src=" not in html and '<link rel="stylesheet"' not in html
    assert "/static/vendor" not in html
    assert "data:font/woff2;base64," in html  # Font Awesome and glyphicons inline
    assert "L.markerClusterGroup" in html


# ---------------------------------------------------------------- who sees what

@pytest.mark.slow  # over ~0.5 s: out of the quick loop
def test_viewer_gets_commune_counts_but_no_point_names_ids_or_places(base_frames):
    pts = _points(12)
    few = _points(2)
    few["id"] = ["RP-X1", "RP-X2"]
    few["commune_code"] = "16813"
    html = _html({**base_frames, "retail_points": pd.concat([pts, few])}, role="viewer")
    text = packing.page_text(html)
    assert SECRET_NAME not in text and "RP-000001" not in text and "RP-X1" not in text
    cfg = _config(html)
    assert "retail_points" not in cfg["data"] and "heat" not in cfg["overlays"]
    counts = cfg["data"]["commune_counts"]["counts"]
    assert counts["16837"]["points"] == 12
    assert counts["16813"]["points"] == "<5"  # small counts suppressed
    assert cfg["classification"] == "public"


@pytest.mark.slow  # over ~0.5 s: out of the quick loop
def test_analyst_sees_points_but_not_rows_above_their_clearance(base_frames):
    pts = _points(3)
    pts.loc[pts.index[2], "confidentiality"] = "secret"
    cfg = _config(_html({**base_frames, "retail_points": pts}, role="analyst"))
    assert cfg["data"]["retail_points"]["name"] == [f"{SECRET_NAME} 0", f"{SECRET_NAME} 1"]
    assert cfg["classification"] == "restricted"


@pytest.mark.slow  # over ~0.5 s: out of the quick loop
def test_hostile_text_stays_data_and_cannot_end_the_script(base_frames):
    evil = '</script><script>alert(1)</script><img src=x onerror=alert(2)>'
    pts = _points(2, name=evil, address=evil)
    html = _html({**base_frames, "retail_points": pts}, role="analyst")
    assert "</script><script>alert(1)" not in html and "<img src=x" not in html
    assert _config(html)["data"]["retail_points"]["name"] == [evil, evil]


# ---------------------------------------------------------------- layers from data

def _overlay_labels(m: folium.Map) -> list[str]:
    return [re.sub(r"<[^>]+>", "", c.layer_name) for c in m._children.values()
            if getattr(c, "control", False) and getattr(c, "overlay", False)]


@pytest.mark.slow  # over ~0.5 s: out of the quick loop
def test_each_layer_appears_only_when_its_data_exists(base_frames):
    bare = _overlay_labels(mapping.build(base_frames, role="analyst"))
    assert "Phân loại xã, phường" in bare and "Đường biên giới Việt – Lào" in bare
    assert "Điểm, tụ điểm ma túy" not in bare and "Cụm điểm nóng" not in bare
    clusters = gpd.GeoDataFrame({"id": ["c1"], "run_id": ["r"], "method": ["dbscan"],
                                 "cluster": [0], "n_points": [7]},
                                geometry=[shapely.box(104.1, 19.4, 104.2, 19.5)], crs=4326)
    full = _overlay_labels(mapping.build({**base_frames, "retail_points": _points(),
                                          "hotspot_clusters": clusters}, role="analyst"))
    assert {"Điểm, tụ điểm ma túy", "Cụm điểm nóng", "Bản đồ nhiệt vụ án, điểm"} <= set(full)
    english = _overlay_labels(mapping.build(base_frames, role="analyst", lang="en"))
    assert "Commune status" in english


def test_flag_reasons_are_split_on_newlines_and_pipes():
    assert mapping.payload.split_reasons("a\nb") == ["a", "b"]
    assert mapping.payload.split_reasons("5 điểm | cách cửa khẩu 2,1 km") == [
        "5 điểm", "cách cửa khẩu 2,1 km"]
    assert mapping.payload.split_reasons(None) == []


@pytest.mark.parametrize("row, expected", [
    ({"hotspot_class": "hot_99"}, "hot99"), ({"hotspot_class": "Cold spot - 95% confidence"},
                                              "cold95"),
    ({"hotspot_class": "not_significant", "z": 5, "p": 0.0}, "ns"),
    ({"z": 2.1, "p_fdr": 0.03}, "hot95"), ({"z": -3.0, "confidence": 99}, "cold99"),
    ({"z": 1.0, "p": 0.3}, "ns"),
])
def test_gistar_class_read_from_text_or_from_z_and_p(row, expected):
    assert mapping.payload.gi_class(row) == expected


@pytest.mark.slow  # over ~0.5 s: out of the quick loop
def test_insignificant_gistar_cells_are_not_sent_to_the_page(base_frames):
    cells = gpd.GeoDataFrame({"id": ["a", "b"], "run_id": "r", "cell": ["a", "b"],
                              "z": [3.2, 0.1], "p": [0.001, 0.9],
                              "hotspot_class": ["hot_99", "not_significant"]},
                             geometry=[shapely.box(104, 19, 104.1, 19.1),
                                       shapely.box(104.1, 19, 104.2, 19.1)], crs=4326)
    cfg = _config(_html({**base_frames, "gistar_cells": cells}, role="analyst"))
    feats = cfg["data"]["gistar_cells"]["features"]
    assert [f["properties"]["gi"] for f in feats] == ["hot99"]


# ---------------------------------------------------------------- status and progress

def _status(rows):
    return pd.DataFrame(rows, columns=["commune_code", "period", "status", "drug_free_label"])


def test_status_choropleth_takes_the_last_period_of_each_year_and_keeps_the_sach_label():
    st = _status([("1", "2024-03", "loai_II", None), ("1", "2024-12", "loai_III", None),
                  ("2", "2024", "chua_danh_gia", "sach_ve_ma_tuy"),
                  ("3", "2024", "khong_ma_tuy", "khong_ma_tuy"),
                  ("3", "2025", "loai_I", None)])
    by_year, _, from_status = mapping.status_by_year(st, None, ["1", "2", "3"])
    assert from_status
    assert by_year[2024] == {"1": "loai_III", "2": "sach_ve_ma_tuy", "3": "khong_ma_tuy"}
    assert by_year[2025] == {"3": "loai_I"}


def test_without_status_results_the_recognitions_in_force_colour_the_communes():
    rec = pd.DataFrame({"commune_code": ["1", "2", "2"], "label": ["sach_ve_ma_tuy",
                                                                   "sach_ve_ma_tuy",
                                                                   "khong_ma_tuy"],
                        "date": ["2023-05-01", "2023-01-01", "2025-11-01"],
                        "revoked_on": ["2024-06-01", None, None], "decision_no": "1/QĐ",
                        "authority": "UBND"})
    by_year, _, from_status = mapping.status_by_year(None, rec, ["1", "2", "3"])
    assert not from_status
    assert by_year[2023] == {"1": "sach_ve_ma_tuy", "2": "sach_ve_ma_tuy", "3": "chua_danh_gia"}
    assert by_year[2024]["1"] == "chua_danh_gia"  # revoked in June 2024
    assert by_year[2025]["2"] == "khong_ma_tuy"


def _four_communes():
    box = shapely.box(0, 0, 1, 1)
    return gpd.GeoDataFrame({
        "code": ["a", "b", "c", "d"], "is_border": [True, True, True, False],
        "lao_province": ["Hủa Phăn", "Hủa Phăn", "Xiêng Khoảng", None]},
        geometry=[box] * 4, crs=4326)


def test_progress_counts_drug_free_communes_by_border_segment_against_the_target():
    communes = _four_communes()
    by_year = {2024: {"a": "loai_II", "b": "loai_III", "c": "loai_I", "d": "loai_III"},
               2026: {"a": "khong_ma_tuy", "b": "loai_III", "c": "loai_II", "d": "loai_I"}}
    targets = pd.DataFrame({"scope": ["province", "border"], "year": [2026, 2026],
                            "share_drug_free": [0.3, 0.5]})
    plots = gpd.GeoDataFrame({"commune_code": ["c", "c"], "area_m2": [100.0, 50.0],
                              "eradicated_on": ["2026-02-01", "2025-02-01"]},
                             geometry=[shapely.Point(0.5, 0.5)] * 2, crs=4326)
    out = mapping.progress_by_year(communes, by_year, targets=targets, opium_plots=plots,
                                   today=date(2026, 11, 25))
    p = out[2026]
    assert (p["free"], p["n"], p["target"], p["target_year"]) == (1, 4, 0.3, 2026)
    assert p["verdict"] == "behind"  # 25 % in late November, on the way to 30 %
    assert (p["improved"], p["worsened"]) == (2, 1)  # a, c better; d worse since 2024
    seg = {s["key"]: s for s in p["segments"]}
    assert (seg["Hủa Phăn"]["free"], seg["Hủa Phăn"]["n"], seg["Hủa Phăn"]["verdict"]) == (
        1, 2, "achieved")
    assert seg["Xiêng Khoảng"]["verdict"] == "behind"
    assert (seg["Xiêng Khoảng"]["plots"], seg["Xiêng Khoảng"]["plots_m2"]) == (1, 100)
    assert "eliminated" not in seg["Hủa Phăn"]  # no retail points given: no point figures
    # a year without its own target shows the next one, ungraded
    early = out[2024]
    assert (early["target"], early["target_year"], early["verdict"]) == (0.3, 2026, "no_target")


@pytest.mark.slow  # whole service: maps of the sample
def test_headline_on_the_map_is_what_progress_dashboard_says_for_the_sample(base_frames):
    from geo_pcmt.analysis import progress
    from geo_pcmt.runs.seed import read_sample
    frames = {**read_sample(), **base_frames}
    on = date(2026, 11, 25)
    cfg = _config(_html(frames, role="analyst"))  # generated on 25 November 2026
    recognitions, communes, targets = (frames[k] for k in ("recognitions", "communes",
                                                           "targets"))
    for year, day in ((2026, on), (2025, date(2025, 12, 31))):
        d = progress.dashboard(recognitions, communes, targets, on=day)
        head = cfg["progress"][str(year)]
        assert (head["free"], head["n"], head["verdict"]) == (d.n_drug_free, d.n_total,
                                                              d.verdict)
        assert head["target"] * 100 == pytest.approx(d.target_pct)
        assert head["headline_vi"] == d.text_vi
        # the word the officer reads beside the headline is the dashboard's own
        assert cfg["i18n"]["vi"]["verdict." + head["verdict"]] in d.text_vi
    border = communes[communes["is_border"].fillna(False)]
    for seg in cfg["progress"]["2026"]["segments"]:
        d = progress.dashboard(recognitions, border[border["lao_province"] == seg["key"]],
                               targets, on=on, scope="border")
        assert (seg["free"], seg["n"], seg["verdict"]) == (d.n_drug_free, d.n_total, d.verdict)
    assert {"good", "fair", "poor"}.isdisjoint(
        a.get("verdict") for p in cfg["progress"].values() for a in [p, *p["segments"]])


@pytest.mark.slow  # over ~0.5 s: out of the quick loop
def test_border_post_areas_follow_area_of_responsibility_whatever_the_separator(base_frames):
    posts = gpd.GeoDataFrame({"id": ["P1"], "name": ["Đồn Tam Hợp"],
                              "area_of_responsibility": ["16837; 16813,16816 16837"]},
                             geometry=[shapely.Point(104.1, 19.4)], crs=4326)
    status = _status([("16837", "2026", "loai_II", None)])
    cfg = _config(_html({**base_frames, "border_posts": posts, "commune_status": status},
                        role="analyst"))
    (post,) = cfg["progress"]["2026"]["posts"]
    # the area and the headline's row share a key, and it is not the post's record id
    assert (post["key"], post["n"]) == ("post-1", 3)
    assert [f["properties"]["key"] for f in cfg["data"]["post_areas"]["features"]] == ["post-1"]


@pytest.mark.slow  # over ~0.5 s: out of the quick loop
def test_viewer_map_leaves_out_the_operational_area_of_responsibility(base_frames):
    posts = gpd.GeoDataFrame({"id": ["P1"], "name": ["Đồn Tam Hợp"],
                              "area_of_responsibility": ["16837;16813"]},
                             geometry=[shapely.Point(104.1, 19.4)], crs=4326)
    cfg = _config(_html({**base_frames, "border_posts": posts}, role="viewer"))
    assert "16837;16813" not in json.dumps(cfg, ensure_ascii=False)
    assert cfg["data"]["border_posts"]["features"][0]["properties"]["name"] == "Đồn Tam Hợp"


# ---------------------------------------------------------------- options and filters

@pytest.mark.parametrize("query, field", [({"from": "2024/01"}, "date_from"),
                                          ({"type": "bar"}, "type"),
                                          ({"layers": "communes,nope"}, "layers"),
                                          ({"year": "twenty"}, "year")])
def test_bad_url_filters_are_refused_naming_the_parameter(query, field):
    with pytest.raises(mapping.MapInputError, match=field):
        mapping.MapOptions.from_query(query)


@pytest.mark.slow  # over ~0.5 s: out of the quick loop
def test_date_and_type_filters_keep_only_matching_points(base_frames):
    pts = _points(4)
    pts["first_seen"] = ["2022-01-01", "2023-01-01", "2025-01-01", "2023-01-01"]
    pts["cleared_on"] = ["2022-06-01", None, None, None]
    pts["type"] = ["diem_ban_le", "diem_ban_le", "diem_ban_le", "tu_diem_phuc_tap"]
    opts = mapping.MapOptions.from_query({"from": "2023-06", "to": "2024-12",
                                          "type": "diem_ban_le", "layers": "retail_points"})
    cfg = _config(_html({**base_frames, "retail_points": pts}, role="analyst", options=opts))
    assert cfg["data"]["retail_points"]["name"] == [f"{SECRET_NAME} 1"]
    assert cfg["overlays"] and cfg["months"][0] == "2023-06"


@pytest.mark.slow  # over ~0.5 s: out of the quick loop
def test_commune_filter_opens_the_map_on_that_commune(base_frames):
    opts = mapping.MapOptions(communes=("16837",))
    cfg = _config(_html({**base_frames, "retail_points": _points()}, role="analyst",
                        options=opts))
    (s, w), (n, e) = cfg["focus"]
    assert 19.2 < s < n < 19.8 and 103.8 < w < e < 104.4
    assert cfg["selected"] == ["16837"]


# ---------------------------------------------------------------- CLI and app

@pytest.mark.slow  # over ~0.5 s: out of the quick loop
def test_geo_pcmt_map_writes_a_page_and_its_assets_beside_it(store, tmp_path):
    store.write("retail_points", _points(), mode="append")
    out = tmp_path / "maps" / "hotspots.html"
    res = CliRunner().invoke(main, ["map", "--out", str(out), "--store", str(store.path)],
                             catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert (tmp_path / "maps" / "vendor" / "leaflet-1.9.3" / "leaflet.js").is_file()
    html = out.read_text(encoding="utf-8")
    assert 'src="vendor/leaflet-1.9.3/leaflet.js"' in html and SECRET_NAME in packing.page_text(html)
    assert store.read("audit_log", where={"action": "read_map"}).shape[0] == 1


@pytest.mark.slow  # over ~0.5 s: out of the quick loop
def test_geo_pcmt_map_standalone_for_viewers_has_no_points(store, tmp_path):
    store.write("retail_points", _points(), mode="append")
    out = tmp_path / "public.html"
    res = CliRunner().invoke(main, ["map", "--standalone", "--role", "viewer", "--out", str(out),
                                    "--store", str(store.path)], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    html = out.read_text(encoding="utf-8")
    assert SECRET_NAME not in packing.page_text(html) and "<script src=" not in html
    assert not (tmp_path / "vendor").exists()


@pytest.mark.slow  # over ~0.5 s: out of the quick loop
def test_app_redirects_home_to_the_map_and_serves_the_vendored_assets(store):
    from geo_pcmt.web import create_app
    store.write("retail_points", _points(), mode="append")
    client = create_app({"STORE": str(store.path), "TESTING": True}).test_client()
    home = client.get("/?lang=en")
    assert home.status_code == 302 and home.headers["Location"].endswith("/map?lang=en")
    page = client.get("/map?lang=en")
    assert page.status_code == 302 and "/login?next=/map" in page.headers["Location"]
    # a closed network may let anonymous visitors see the viewer's public map
    client = create_app({"STORE": str(store.path), "TESTING": True,
                         "ANONYMOUS_ROLE": "viewer"}).test_client()
    page = client.get("/map?lang=en&layers=communes,border_line")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert SECRET_NAME not in packing.page_text(html)  # anonymous readers are at most viewers
    assert _config(html)["lang"] == "en"
    assert "'unsafe-inline'" in page.headers.get("Content-Security-Policy", "'unsafe-inline'")
    for url in re.findall(r'<script src="([^"]+)"', html):
        assert client.get(url).status_code == 200, url
    assert client.get("/map?from=2024-13-99").status_code == 400
    assert client.get("/map/standalone").headers["Content-Disposition"].startswith("attachment")


@pytest.mark.slow  # whole service: maps of the sample
def test_a_repeated_map_is_kept_audited_every_time_and_rebuilt_after_a_write(store, tmp_path):
    from tests.conftest import bearer, make_app
    store.write("retail_points", _points(), mode="append")
    app = make_app(store, tmp_path)
    client, auth = app.test_client(), bearer(app, "analyst")
    first = client.get("/map?lang=vi", headers=auth)
    second = client.get("/map?lang=vi", headers=auth)
    assert first.status_code == second.status_code == 200
    assert _config(first.get_data(as_text=True)) == _config(second.get_data(as_text=True))
    assert SECRET_NAME in packing.page_text(first.get_data(as_text=True))
    # the kept page still leaves its trace: one audit record per restricted read
    assert store.read("audit_log", where={"action": "read_map"}).shape[0] == 2
    late = _points(1)
    late["id"] = "RP-LATE"
    late["name"] = "Điểm mới ghi sau"
    store.write("retail_points", late, mode="append")
    third = client.get("/map?lang=vi", headers=auth).get_data(as_text=True)
    assert "Điểm mới ghi sau" in _config(third)["data"]["retail_points"]["name"]
    # another role never gets the analyst's page
    viewer = client.get("/map?lang=vi", headers=bearer(app, "viewer")).get_data(as_text=True)
    assert SECRET_NAME not in packing.page_text(viewer)


def test_sach_label_is_counted_even_when_the_commune_keeps_a_computed_class():
    communes = gpd.GeoDataFrame({"code": ["1", "2", "3"], "is_border": [True, True, False],
                                 "lao_province": ["Hủa Phăn", "Hủa Phăn", None]},
                                geometry=[shapely.box(0, 0, 1, 1)] * 3, crs=4326)
    by_year = {2026: {"1": "loai_III", "2": "khong_ma_tuy", "3": "loai_II"}}
    labels = {2026: {"1": "sach_ve_ma_tuy", "2": "khong_ma_tuy"}}
    out = mapping.progress_by_year(communes, by_year, labels_by_year=labels,
                                   today=date(2026, 11, 25))[2026]
    assert (out["free"], out["sach"]) == (1, 2)
    assert out["segments"][0]["sach"] == 2


def test_store_reads_go_through_access_and_secret_records_are_never_counted(store):
    pts = _points(7)
    pts.loc[pts.index[:2], "confidentiality"] = "secret"
    store.write("retail_points", pts, mode="append")
    analyst = mapping.frames_from_store(store, "analyst")["retail_points"]
    assert len(analyst) == 5 and "secret" not in set(analyst["confidentiality"])
    frames = mapping.frames_from_store(store, "viewer")
    assert "retail_points" not in frames  # no record, only the public aggregate
    viewer = frames["retail_points_per_commune"]
    assert set(viewer.columns) == {"id", "code", "name", "count", "suppressed", "geometry"}
    # the viewer's counts leave secret operations out, as the API's do
    assert viewer.set_index("code").loc["16837", "count"] == 5
    assert mapping.restricted_layers(store, "viewer") == []
    assert mapping.restricted_layers(store, "analyst") == ["retail_points"]
