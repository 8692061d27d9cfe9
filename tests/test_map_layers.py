"""The map's complex places (#16) and methadone access (#17) layers, its classes, and what the
page data carry: names and words, never a record id; each layer only for the roles that may read
it."""
from __future__ import annotations

import json
import re

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from geo_pcmt.ingest import boundaries
from geo_pcmt.outputs import map as mapping
from geo_pcmt.outputs.map import packing, payload
from geo_pcmt.outputs.map.frames import map_frames
from geo_pcmt.runs.seed import read_sample

MUONG_XEN, NAM_CAN, VINH = "16813", "16837", "16681"


def places_frame() -> gpd.GeoDataFrame:
    """Three complex places as `geo-pcmt places` writes them (ranked, reasons numbered)."""
    return gpd.GeoDataFrame({
        "id": ["pl-RUN-1/DB-aaaa1111", "pl-RUN-1/GH-bbbb2222", "pl-RUN-1/DB-cccc3333"],
        "run_id": "pl-RUN-1", "place_id": ["DB-aaaa1111", "GH-bbbb2222", "DB-cccc3333"],
        "rank": [1, 2, 3], "name": ["Bản Mường Sơn, Xã Nậm Cắn", "Khối 24, Phường Thành Vinh",
                                    "Bản Long Ngọn, Xã Mường Xén"],
        "score": [16.0, 12.0, 6.5], "level": ["high", "medium", "low"],
        "methods": ["dbscan;gistar_hex;commune_rate", "gistar_hex", "dbscan"],
        "communes": [NAM_CAN, VINH, MUONG_XEN],
        "commune_names": ["Xã Nậm Cắn", "Phường Thành Vinh", "Xã Mường Xén"],
        "commune_code": [NAM_CAN, VINH, MUONG_XEN], "village": ["Bản Mường Sơn", "Khối 24", None],
        "n_evidence": [45, 162, 12], "n_commune_only": [0, 3, 0], "extent_m": [3349.5, 4602.5, 800.0],
        "reasons_vi": ["1. 22 điểm, tụ điểm ma túy đang hoạt động trong bán kính 600 m\n"
                       "2. cách cửa khẩu Nậm Cắn 2,1 km", "1. 47 vụ án ma túy trong 12 tháng qua",
                       "1. 9 điểm tái xuất hiện sau khi đã triệt xóa"],
        "reasons_en": ["1. 22 active drug retail points within 600 m\n2. 2.1 km from Nậm Cắn gate",
                       "1. 47 drug cases in the last 12 months",
                       "1. 9 points re-emerged after elimination"],
        "status": ["new", "under_transformation", "relapsed"],
        "change_vi": ["mới so với lần chạy trước", "không đổi", "tái phát"],
        "change_en": ["new since the last run", "unchanged", "relapsed"],
        "confidentiality": "restricted",
    }, geometry=[shapely.Point(104.107, 19.452), shapely.Point(105.686, 18.678),
                 shapely.Point(104.131, 19.404)], crs=4326)


def methadone_frame() -> gpd.GeoDataFrame:
    """Methadone access as `geo-pcmt methadone` writes it: communes 20 / 45 / 75 min away
    (and an older year that must not be drawn), two candidate sites."""
    communes = boundaries.communes().set_index("code")
    rows = []
    for code, minutes, people, year in ((VINH, 20.0, 40, 2026), (MUONG_XEN, 45.0, 12, 2026),
                                        (NAM_CAN, 75.0, 30, 2026), (NAM_CAN, 10.0, 1, 2025)):
        rows.append({"id": f"c:{code}:{year}", "kind": "commune", "year": year,
                     "commune_code": code, "commune_name": communes.loc[code, "name"],
                     "nearest_point": "Điểm cấp phát thuốc Methadone Kỳ Sơn", "minutes": minutes,
                     "people": people, "beyond_30": minutes > 30, "beyond_60": minutes > 60,
                     "geometry": communes.loc[code, "geometry"].representative_point()})
    for rank, code, gain in ((1, NAM_CAN, 30), (2, MUONG_XEN, 12)):
        rows.append({"id": f"s:{rank}", "kind": "candidate_site", "year": 2026, "rank": rank,
                     "commune_code": code, "commune_name": communes.loc[code, "name"],
                     "gain_people": gain, "communes_gained": 1,
                     "geometry": communes.loc[code, "geometry"].representative_point()})
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=4326)
    frame["run_id"], frame["confidentiality"] = "md-RUN-1", "restricted"
    frame["params"] = json.dumps({"threshold_min": 30.0, "top": 3})
    return frame


def sample_frames() -> dict[str, pd.DataFrame]:
    frames = read_sample()
    frames.update(communes=boundaries.communes(), province=boundaries.province(),
                  border_line=boundaries.border_line(), lao_provinces=boundaries.lao_provinces(),
                  complex_places=places_frame(), methadone_access=methadone_frame())
    return frames


@pytest.fixture(scope="module")
def pages() -> dict[str, str]:
    frames = sample_frames()
    return {role: mapping.render_html(mapping.build(frames, role=role))
            for role in ("viewer", "analyst")}


# ---------------------------------------------------------------- payloads

def test_places_payload_keeps_names_words_and_rank_order_but_no_place_id():
    frame = places_frame().iloc[[2, 0, 1]]  # out of rank order
    out = payload.places_payload(frame)["places"]
    assert [p["rank"] for p in out] == [1, 2, 3]
    first = out[0]
    assert first["name"] == "Bản Mường Sơn, Xã Nậm Cắn" and first["communes"] == "Xã Nậm Cắn"
    assert first["methods"] == ["dbscan", "gistar_hex", "commune_rate"]
    # the page numbers the reasons itself: the stored "1. " is not sent twice
    assert first["reasons_vi"] == ["22 điểm, tụ điểm ma túy đang hoạt động trong bán kính 600 m",
                                   "cách cửa khẩu Nậm Cắn 2,1 km"]
    assert first["at"] == pytest.approx([104.107, 19.452])
    text = json.dumps(out, ensure_ascii=False)
    assert "DB-aaaa1111" not in text and "pl-RUN-1" not in text and "place_id" not in text


def test_methadone_payload_bands_communes_by_minutes_for_the_latest_year_only():
    out = payload.methadone_payload(methadone_frame())
    assert out["year"] == 2026 and out["reach_min"] == 30.0
    bands = {code: c["band"] for code, c in out["communes"].items()}
    assert bands == {VINH: 0, MUONG_XEN: 1, NAM_CAN: 2}  # 20, 45, 75 min; 2025's 10 min dropped
    assert out["communes"][NAM_CAN]["people"] == 30
    assert [(s["rank"], s["commune"], s["gain"]) for s in out["sites"]] == [
        (1, "Xã Nậm Cắn", 30), (2, "Xã Mường Xén", 12)]


def test_a_commune_with_drug_activity_gets_its_own_class_and_colour_not_unassessed():
    status = pd.DataFrame({"id": ["a", "b"], "run_id": "r", "commune_code": [MUONG_XEN, NAM_CAN],
                           "period": "2026", "status": ["co_te_nan_ma_tuy", "loai_II"],
                           "confidentiality": "public"})
    html = mapping.render_html(mapping.build({"communes": boundaries.communes(),
                                              "commune_status": status}, role="viewer"))
    cfg = packing.page_config(html)
    assert cfg["byYear"]["2026"][MUONG_XEN] == "co_te_nan_ma_tuy"
    assert "co_te_nan_ma_tuy" in cfg["classes"]
    assert cfg["colours"]["co_te_nan_ma_tuy"] not in (cfg["colours"]["chua_danh_gia"],
                                                      cfg["colours"]["loai_III"])
    assert cfg["i18n"]["vi"]["status.co_te_nan_ma_tuy"] == "Có tệ nạn ma túy (không trọng điểm)"


# ---------------------------------------------------------------- who sees what

@pytest.mark.slow
def test_places_and_methadone_reach_analysts_only(pages):
    analyst = packing.page_config(pages["analyst"])
    viewer = packing.page_config(pages["viewer"])
    assert {"complex_places", "methadone_access"} <= set(analyst["data"])
    assert {"complex_places", "methadone_access"} <= set(analyst["overlays"])
    assert not {"complex_places", "methadone_access"} & set(viewer["data"])
    assert not {"complex_places", "methadone_access"} & set(viewer["overlays"])
    viewer_text = packing.page_text(pages["viewer"])
    assert "Bản Mường Sơn" not in viewer_text and "Điểm cấp phát thuốc Methadone Kỳ Sơn" not in viewer_text


@pytest.mark.slow
@pytest.mark.parametrize("role", ["viewer", "analyst"])
def test_the_page_carries_no_record_id(pages, role):
    text = packing.page_text(pages[role])
    frames = sample_frames()
    codes = set(boundaries.communes()["code"].astype(str))
    ids = set()
    for name, frame in frames.items():
        if name in ("communes", "province", "border_line", "lao_provinces") or "id" not in frame:
            continue
        ids |= {str(v) for v in frame["id"].dropna() if len(str(v)) >= 4 and str(v) not in codes}
    assert len(ids) > 500  # points, plots, cases, crossings, posts, facilities, places …
    # every word of the page, cut at anything an id cannot hold (two ways: ids may hold : / .)
    words = set(re.findall(r"[\w-]+", text)) | set(re.findall(r"[\w:/.-]+", text))
    assert sorted(ids & words) == []
    for run_id in ("pl-RUN-1", "md-RUN-1", "DB-aaaa1111"):
        assert run_id not in text


@pytest.mark.slow
def test_map_frames_read_places_and_methadone_through_the_role_scoped_reader(web_store):
    web_store.write("complex_places", places_frame(), mode="replace", user="test")
    web_store.write("methadone_access", methadone_frame(), mode="replace", user="test")
    analyst, viewer = map_frames(web_store, "analyst"), map_frames(web_store, "viewer")
    assert len(analyst["complex_places"]) == 3 and len(analyst["methadone_access"]) == 6
    assert "complex_places" not in viewer and "methadone_access" not in viewer
