"""Complex-hotspot flags: reasons quote the inputs, scores follow the documented rules."""
from __future__ import annotations

import json
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo_pcmt.analysis import flags
from geo_pcmt.analysis import grid
from geo_pcmt.analysis.flag_signals import crossing_phrase
from geo_pcmt.analysis.flags import FlagRules, complex_hotspots
from geo_pcmt.formatting import fmt_number

CX, CY = 470_000.0, 2_180_000.0  # metric centre of the test cluster (inland Nghệ An)
AS_OF = "2026-03-31"


def _gdf(data, geoms):
    return gpd.GeoDataFrame(data, geometry=list(geoms), crs=32648).to_crs(4326)


@pytest.fixture
def scene():
    """One cluster (300 m disc) 2.1 km from Thông Thụ gate, with known signals."""
    offsets = [(0, 0), (150, 0), (0, 150), (-150, -100), (100, -200)]
    retail = _gdf({
        "id": [f"RP-{i}" for i in range(7)],
        "type": "diem_ban_le",
        "status": ["active"] * 4 + ["re-emerged", "cleared", "active"],
        "first_seen": "2024-01-01", "cleared_on": [None] * 5 + ["2025-06-01", None],
    }, [shapely.Point(CX + dx, CY + dy) for dx, dy in offsets]
       + [shapely.Point(CX + 50, CY + 50), shapely.Point(CX + 9000, CY)])
    cluster = _gdf({"method": ["dbscan"], "cluster": [0], "communes": ["99001"],
                    "commune_names": ["Xã Thử Nghiệm"]},
                   [shapely.multipolygons([shapely.Point(CX, CY).buffer(300, quad_segs=16)])])
    gate = _gdf({"id": ["BC-1"], "name": ["Cửa khẩu Thông Thụ"], "kind": ["secondary"]},
                [shapely.Point(CX + 300 + 2100, CY)])
    plots = _gdf({"id": ["OP-1", "OP-2", "OP-OLD"], "area_m2": [700.0, 500.0, 5000.0],
                  "plant_count": [10_000, 14_000, 90_000],
                  "detected_on": ["2026-01-10", "2026-02-02", "2025-02-01"]},
                 [shapely.Point(CX + 80, CY - 40), shapely.Point(CX - 60, CY + 90),
                  shapely.Point(CX, CY - 100)])
    cases = _gdf({"id": [f"C-{i}" for i in range(9)], "kind": "retail",
                  "date": ["2025-05-01", "2025-07-10", "2025-09-09", "2025-11-11", "2026-01-05",
                           "2026-03-30", "2024-01-01", "2024-06-06", "2025-03-30"]},
                 [shapely.Point(CX + 10 * i, CY - 10 * i) for i in range(9)])
    q, r = grid.hex_of_xy(np.array([CX]), np.array([CY]), 2000)
    cell_geom = grid.hex_polygons(q, r, 2000)
    cell = grid.cell_ids(q, r, 2000)[0]
    gistar = _gdf({"cell": [cell], "z": [3.4], "confidence": [99], "gi_bin": [3],
                   "hotspot_class": ["hot_99"]}, cell_geom)
    emerging = _gdf({"cell": [cell], "category": ["intensifying_hot"], "mk_p": [0.004]}, cell_geom)
    communes = _gdf({"code": ["99001"], "name": ["Xã Thử Nghiệm"]},
                    [shapely.multipolygons([shapely.box(CX - 5000, CY - 5000, CX + 5000, CY + 5000)])])
    border = _gdf({"id": ["B"]}, [shapely.LineString([(CX - 40_000, CY + 30_000),
                                                      (CX + 40_000, CY + 30_000)])])
    return dict(retail_points=retail, clusters=cluster, crossings=gate, opium_plots=plots,
                cases=cases, gistar_cells=gistar, emerging=emerging, communes=communes,
                border=border)


def _cluster_row(out):
    return out.loc[out["area_kind"] == "cluster"].iloc[0]


def test_reasons_quote_the_inputs_in_vietnamese_and_english(scene):
    row = _cluster_row(complex_hotspots(**scene, as_of=AS_OF))
    assert row["reasons_vi"].split("\n") == [
        "5 điểm bán lẻ đang hoạt động trong bán kính 600 m",
        "Gi* z = 3,4 (99 %, đã hiệu chỉnh FDR)",
        "xu hướng: điểm nóng gia tăng (Mann–Kendall p = 0,004)",
        "cách cửa khẩu Thông Thụ 2,1 km",
        "1.200 m² thuốc phiện trong vụ này (2 nương, 24.000 cây)",
        "1 điểm tái xuất hiện sau khi đã triệt xóa",
        "6 vụ án ma túy trong 12 tháng qua",
    ]
    assert row["reasons_en"].split("\n") == [
        "5 active retail points within 600 m",
        "Gi* z = 3.4 (99 %, FDR-corrected)",
        "trend: intensifying hot spot (Mann–Kendall p = 0.004)",
        "2.1 km from Thông Thụ secondary border gate",
        "1,200 m² of opium poppy this season (2 plots, 24,000 plants)",
        "1 point re-emerged after being eliminated",
        "6 drug cases in the last 12 months",
    ]
    assert row["name"] == "Cụm 1 (Xã Thử Nghiệm)" and row["commune_code"] == "99001"


def test_score_is_the_sum_of_the_documented_points(scene):
    row = _cluster_row(complex_hotspots(**scene, as_of=AS_OF))
    signals = json.loads(row["signals"])
    assert {k: v["points"] for k, v in signals.items()} == {
        "active_points": 5.0, "gistar": 3.0, "emerging": 3.0, "crossing": 2.0, "opium": 2.0,
        "reemerged": 2.0, "recent_cases": 1.2}
    assert row["score"] == pytest.approx(18.2) and row["level"] == "high"
    assert signals["crossing"]["distance_km"] == pytest.approx(2.1, abs=0.001)
    assert signals["opium"]["area_m2"] == 1200.0 and row["n_signals"] == 7


def test_without_fdr_the_reason_does_not_claim_it(scene):
    row = _cluster_row(complex_hotspots(**scene, as_of=AS_OF, gistar_fdr=False))
    assert "Gi* z = 3,4 (99 %)" in row["reasons_vi"].split("\n")


def test_same_inputs_and_stored_rules_give_the_same_flags(scene):
    rules = FlagRules(radius_m=400, crossing_km=3)
    first = complex_hotspots(**scene, rules=rules, as_of=AS_OF)
    stored = json.loads(json.dumps(rules.as_dict()))
    again = complex_hotspots(**scene, rules=FlagRules.from_dict(stored), as_of=AS_OF)
    assert FlagRules.from_dict(stored) == rules
    assert first.drop(columns="geometry").equals(again.drop(columns="geometry"))
    with pytest.raises(ValueError, match="unknown flag rule"):
        FlagRules.from_dict({"radius": 1})


def test_thresholds_are_parameters(scene):
    strict = _cluster_row(complex_hotspots(**scene, as_of=AS_OF,
                                           rules=FlagRules(min_active_points=6, crossing_km=2.0)))
    assert "điểm bán lẻ đang hoạt động" not in strict["reasons_vi"]
    assert "cửa khẩu" not in strict["reasons_vi"]
    small = _cluster_row(complex_hotspots(**scene, as_of=AS_OF, rules=FlagRules(radius_m=160)))
    assert small["reasons_vi"].split("\n")[0] == "3 điểm bán lẻ đang hoạt động trong bán kính 160 m"


def test_last_seasons_opium_and_old_cases_do_not_count(scene):
    row = _cluster_row(complex_hotspots(**scene, as_of="2026-10-15"))
    assert "thuốc phiện" not in row["reasons_vi"]  # a new season started on 1 September
    assert "3 vụ án" not in row["reasons_vi"] and "vụ án" not in row["reasons_vi"]


def test_one_signal_alone_is_not_a_complex_hotspot(scene):
    only_gate = {"crossings": scene["crossings"], "clusters": scene["clusters"]}
    assert len(complex_hotspots(**only_gate, as_of=AS_OF)) == 0
    loose = complex_hotspots(**only_gate, as_of=AS_OF, rules=FlagRules(min_signals=1, min_score=2))
    assert len(loose) == 1 and loose.iloc[0]["level"] == "low"


def test_hot_cells_outside_clusters_become_one_zone_per_connected_group(scene):
    q, r = grid.hex_of_xy(np.array([CX + 20_000]), np.array([CY]), 2000)
    qs = np.r_[q, q + 1, q + 10]
    rs = np.r_[r, r, r]
    cells = _gdf({"cell": grid.cell_ids(qs, rs, 2000), "z": [4.0, 3.0, 2.5],
                  "confidence": [99, 99, 95], "gi_bin": [3, 3, 2],
                  "hotspot_class": ["hot_99", "hot_99", "hot_95"]}, grid.hex_polygons(qs, rs, 2000))
    n_cases = 8
    cases = _gdf({"id": [f"K{i}" for i in range(n_cases)], "date": "2026-01-01"},
                 [shapely.Point(c) for c in zip(np.full(n_cases, cells.to_crs(32648).centroid.x.iloc[0]),
                                                np.full(n_cases, cells.to_crs(32648).centroid.y.iloc[0]))])
    out = complex_hotspots(gistar_cells=cells, cases=cases, as_of=AS_OF)
    assert out["area_kind"].tolist() == ["hex"]  # the isolated cell has only one signal
    row = out.iloc[0]
    assert row["name"].startswith("Vùng nóng Gi* 2 ô") and row["area_ref"].endswith("+1")
    assert row["reasons_vi"].split("\n")[0] == "Gi* z = 4,0 (99 %, đã hiệu chỉnh FDR)"


def test_numbers_read_the_vietnamese_and_the_english_way():
    # the reasons use Babel (geo_pcmt.formatting); the hand-rolled formatter is gone
    assert not hasattr(flags, "format_number")
    assert fmt_number(1200, 0, "vi") == "1.200" and fmt_number(1200, 0, "en") == "1,200"
    assert fmt_number(2.06, 1, "vi") == "2,1" and fmt_number(2.06, 1, "en") == "2.1"
    assert fmt_number(1234567.891, 2, "vi") == "1.234.567,89"
    assert flags.format_p(0.0004, "vi") == "p < 0,001" and flags.format_p(0.031, "en") == "p = 0.03"


def test_officer_facing_numbers_are_not_hand_formatted():
    # every decimal an officer reads goes through geo_pcmt.formatting (Babel): no
    # f"{x:.1f}".replace(".", ",") left in analysis, outputs (the map is another module's),
    # the CLI or the upload texts
    import pathlib
    root = pathlib.Path(flags.__file__).parents[1]
    files = [p for d in ("analysis", "outputs", "cli", "ingest") for p in (root / d).rglob("*.py")
             if "outputs/map" not in p.as_posix()]
    hand = re.compile(r'replace\("\.", ","\)|[fg]\}"\s*\)?\s*\.replace\(')
    offenders = [p.name for p in files if hand.search(p.read_text(encoding="utf-8"))]
    assert offenders == []


@pytest.mark.parametrize("name, kind, vi, en", [
    ("Cửa khẩu quốc tế Nậm Cắn", "international", "cửa khẩu quốc tế Nậm Cắn",
     "Nậm Cắn international border gate"),
    ("Thông Thụ", "secondary", "cửa khẩu Thông Thụ", "Thông Thụ secondary border gate"),
    ("Keng Đu", "opening", "lối mở Keng Đu", "Keng Đu border opening"),
    ("Lối mở Buộc Mú", "opening", "lối mở Buộc Mú", "Buộc Mú border opening"),
])
def test_crossings_are_named_as_officers_say_them(name, kind, vi, en):
    assert crossing_phrase(name, kind) == (vi, en)


def _rich_scene(scene):
    """The scene plus a second commune holding two hot cells, commune Gi* and a near border."""
    q, r = grid.hex_of_xy(np.array([CX + 20_000]), np.array([CY]), 2000)
    qs, rs = np.r_[q, q + 1], np.r_[r, r]
    cells = _gdf({"cell": grid.cell_ids(qs, rs, 2000), "z": [4.0, 3.0], "confidence": [99, 95],
                  "gi_bin": [3, 2], "hotspot_class": ["hot_99", "hot_95"]},
                 grid.hex_polygons(qs, rs, 2000))
    neighbour = _gdf({"code": ["99002"], "name": ["Xã Bên Cạnh"]}, [shapely.multipolygons(
        [shapely.box(CX + 5000, CY - 5000, CX + 25_000, CY + 5000)])])
    return {**scene,
            "gistar_cells": gpd.GeoDataFrame(pd.concat([scene["gistar_cells"], cells],
                                                       ignore_index=True), crs=4326),
            "commune_gistar": pd.DataFrame({"code": ["99001", "99002"], "z": [2.0, 1.7],
                                            "confidence": [95, 90], "gi_bin": [2, 1]}),
            "communes": gpd.GeoDataFrame(pd.concat([scene["communes"], neighbour],
                                                   ignore_index=True), crs=4326),
            "border": _gdf({"id": ["B"]}, [shapely.LineString([(CX - 40_000, CY + 4000),
                                                               (CX + 40_000, CY + 4000)])])}


def test_every_column_of_the_flags_of_a_fixed_scene(scene):
    rich = _rich_scene(scene)
    out = complex_hotspots(**rich, as_of=AS_OF, rules=FlagRules(min_signals=1, min_score=1))
    assert out.crs.to_epsg() == 4326
    assert out["area_kind"].tolist() == ["cluster", "commune", "hex", "commune"]
    assert out["area_ref"].tolist() == ["dbscan:0", "99001", "h2000:-383:1258+1", "99002"]
    assert out["name"].tolist() == ["Cụm 1 (Xã Thử Nghiệm)", "Xã Thử Nghiệm",
                                    "Vùng nóng Gi* 2 ô (Xã Bên Cạnh)", "Xã Bên Cạnh"]
    assert out["score"].tolist() == [19.2, 18.2, 4.0, 4.0]
    assert out["level"].tolist() == ["high", "high", "low", "low"]
    assert out["n_signals"].tolist() == [8, 8, 2, 3]
    assert out["commune_code"].tolist() == ["99001", "99001", "99002", "99002"]
    shared_vi = ["1.200 m² thuốc phiện trong vụ này (2 nương, 24.000 cây)",
                 "1 điểm tái xuất hiện sau khi đã triệt xóa", "6 vụ án ma túy trong 12 tháng qua"]
    assert [r.split("\n") for r in out["reasons_vi"]] == [
        ["5 điểm bán lẻ đang hoạt động trong bán kính 600 m",
         "Gi* z = 3,4 (99 %, đã hiệu chỉnh FDR)",
         "xu hướng: điểm nóng gia tăng (Mann–Kendall p = 0,004)",
         "cách cửa khẩu Thông Thụ 2,1 km", *shared_vi, "cách biên giới Việt – Lào 3,7 km"],
        ["5 điểm bán lẻ đang hoạt động trong bán kính 600 m",
         "xu hướng: điểm nóng gia tăng (Mann–Kendall p = 0,004)",
         "Gi* z = 2,0 (95 %, đã hiệu chỉnh FDR)",
         "cách cửa khẩu Thông Thụ 0,1 km", *shared_vi, "cách biên giới Việt – Lào 0,1 km"],
        ["Gi* z = 4,0 (99 %, đã hiệu chỉnh FDR)", "cách biên giới Việt – Lào 3,9 km"],
        ["cách cửa khẩu Thông Thụ 2,6 km", "Gi* z = 1,7 (90 %, đã hiệu chỉnh FDR)",
         "cách biên giới Việt – Lào 0,1 km"]]
    shared_en = ["1,200 m² of opium poppy this season (2 plots, 24,000 plants)",
                 "1 point re-emerged after being eliminated", "6 drug cases in the last 12 months"]
    assert [r.split("\n") for r in out["reasons_en"]] == [
        ["5 active retail points within 600 m", "Gi* z = 3.4 (99 %, FDR-corrected)",
         "trend: intensifying hot spot (Mann–Kendall p = 0.004)",
         "2.1 km from Thông Thụ secondary border gate", *shared_en,
         "3.7 km from the Viet Nam–Laos border"],
        ["5 active retail points within 600 m",
         "trend: intensifying hot spot (Mann–Kendall p = 0.004)",
         "Gi* z = 2.0 (95 %, FDR-corrected)", "0.1 km from Thông Thụ secondary border gate",
         *shared_en, "0.1 km from the Viet Nam–Laos border"],
        ["Gi* z = 4.0 (99 %, FDR-corrected)", "3.9 km from the Viet Nam–Laos border"],
        ["2.6 km from Thông Thụ secondary border gate", "Gi* z = 1.7 (90 %, FDR-corrected)",
         "0.1 km from the Viet Nam–Laos border"]]
    gate = {"crossing": "Cửa khẩu Thông Thụ", "kind": "secondary", "points": 2.0}
    points = {"active_points": {"active_in_area": 5, "count": 5, "points": 5.0, "radius_m": 600.0},
              "emerging": {"category": "intensifying_hot", "mk_p": 0.004, "points": 3.0},
              "opium": {"area_m2": 1200.0, "plants": 24000, "plots": 2, "points": 2.0,
                        "season_start": "2025-09-01"},
              "recent_cases": {"count": 6, "months": 12, "points": 1.2},
              "reemerged": {"count": 1, "points": 2.0}}
    assert [json.loads(s) for s in out["signals"]] == [
        {**points, "border": {"distance_km": 3.7, "points": 1.0},
         "crossing": {**gate, "distance_km": 2.1},
         "gistar": {"confidence": 99, "points": 3.0, "unit": "hex", "z": 3.4}},
        {**points, "border": {"distance_km": 0.0, "points": 1.0},
         "crossing": {**gate, "distance_km": 0.0},
         "gistar": {"confidence": 95, "points": 2.0, "unit": "commune", "z": 2.0}},
        {"border": {"distance_km": 3.925, "points": 1.0},
         "gistar": {"confidence": 99, "points": 3.0, "unit": "hex", "z": 4.0}},
        {"border": {"distance_km": 0.0, "points": 1.0}, "crossing": {**gate, "distance_km": 2.6},
         "gistar": {"confidence": 90, "points": 1.0, "unit": "commune", "z": 1.7}}]
    # the areas are the candidates themselves: the cluster, the communes, the merged hot cells
    assert out.geometry.iloc[0].equals(rich["clusters"].geometry.iloc[0])
    assert out.geometry.iloc[1].equals(rich["communes"].geometry.iloc[0])
    assert out.geometry.iloc[3].equals(rich["communes"].geometry.iloc[1])
    assert out.to_crs(32648).geometry.iloc[2].area == pytest.approx(2 * 3_464_101.6, rel=1e-6)
