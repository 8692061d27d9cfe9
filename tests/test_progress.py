"""Transformation progress, plans, targets and the Lao-border corridor (checked independently)."""
from __future__ import annotations

import json
from datetime import date

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner

from geo_pcmt.ingest import boundaries
from geo_pcmt.analysis import progress
from geo_pcmt.outputs.charts import border_strip_chart
from geo_pcmt.cli import main
from geo_pcmt.crs import METRIC_CRS
from geo_pcmt.paths import SAMPLE_DIR

TODAY = date(2026, 11, 25)


def status_rows(*rows):
    cols = ["commune_code", "commune_name", "period", "status", "computed_class", "rule_set",
            "drug_free", "sach_ve_ma_tuy"]
    out = []
    for code, period, st in rows:
        out.append({"commune_code": code, "commune_name": f"Xã {code}", "period": period,
                    "status": st, "computed_class": "khong_trong_diem" if st == "khong_ma_tuy"
                    else st, "rule_set": "3122/2010" if period < "2025" else "28/2025",
                    "drug_free": st == "khong_ma_tuy", "sach_ve_ma_tuy": False})
    return pd.DataFrame(out, columns=cols)


# --- transformation per commune and period --------------------------------------------------

@pytest.fixture(scope="module")
def story():
    st = status_rows(("A", "2023", "loai_I"), ("A", "2024", "loai_II"), ("A", "2025", "khong_ma_tuy"),
                     ("B", "2024", "loai_III"), ("B", "2025", "loai_II"))
    points = pd.DataFrame({
        "id": ["p1", "p2", "p3"], "commune_code": ["A"] * 3,
        "first_seen": ["2023-02-01", "2023-05-01", "2024-01-10"],
        "cleared_on": ["2024-06-01", "2023-09-01", None],
        "last_activity": ["2024-05-01", "2024-03-01", "2024-11-01"],
        "status": ["cleared", "re-emerged", "active"]})
    plots = pd.DataFrame({
        "id": ["q1", "q2"], "commune_code": ["A", "A"], "area_m2": [300.0, 100.0],
        "plant_count": [5000, 1500], "detected_on": ["2023-02-10", "2024-12-30"],
        "eradicated_on": ["2023-02-12", "2025-01-03"]})
    cases = pd.DataFrame({"id": ["c1", "c2", "c3"], "commune_code": ["A", "A", "B"],
                          "date": ["2023-03-01", "2023-07-01", "2025-02-02"],
                          "offenders": [1, 3, 2]})
    recs = pd.DataFrame({"id": ["r1"], "commune_code": ["A"], "label": ["khong_ma_tuy"],
                         "decision_no": ["1/QĐ"], "date": ["2025-11-05"], "authority": ["UBND tỉnh"],
                         "revoked_on": [None]})
    return progress.transformation(st, retail_points=points, opium_plots=plots, cases=cases,
                                   recognitions=recs).set_index(["commune_code", "period"])


def test_class_transitions_move_toward_drug_free(story):
    assert story.loc[("A", "2023"), "transition"] == "first"
    assert (story.loc[("A", "2024"), "transition"], story.loc[("A", "2024"), "steps"]) == \
        ("improved", 1)
    assert (story.loc[("A", "2025"), "transition"], story.loc[("A", "2025"), "steps"]) == \
        ("improved", 4)  # II → III → có tệ nạn → không TĐ → không ma túy
    assert (story.loc[("B", "2025"), "transition"], story.loc[("B", "2025"), "steps"]) == \
        ("worsened", -1)
    assert story.loc[("A", "2025"), "rule_set_changed"]


def test_retail_points_found_cleared_and_reemerged_per_period(story):
    got = story.loc["A"][["points_new", "points_cleared", "points_reemerged",
                          "points_active_end"]]
    assert got.loc["2023"].tolist() == [2, 1, 0, 1]   # p2 cleared in Sep 2023
    assert got.loc["2024"].tolist() == [1, 1, 1, 2]   # p1 cleared, p2 back, p3 new
    assert got.loc["2025"].tolist() == [0, 0, 0, 2]


def test_opium_plots_found_and_eradicated_by_count_and_area(story):
    a = story.loc["A"]
    assert a.loc["2023", ["plots_found", "plot_area_found_m2", "plants_found",
                          "plots_eradicated", "plot_area_eradicated_m2"]].tolist() == \
        [1, 300.0, 5000, 1, 300.0]
    assert a.loc["2024", ["plots_found", "plots_eradicated"]].tolist() == [1, 0]
    assert a.loc["2025", ["plots_eradicated", "plot_area_eradicated_m2"]].tolist() == [1, 100.0]


def test_cases_and_recognitions_are_counted_in_their_period(story):
    assert story.loc[("A", "2023"), ["cases", "offenders"]].tolist() == [2, 4]
    assert story.loc[("B", "2025"), ["cases", "offenders"]].tolist() == [1, 2]
    assert story.loc[("A", "2025"), "recognitions_granted"] == 1


# --- plans -----------------------------------------------------------------------------------

def test_plan_progress_on_track_behind_achieved_overdue():
    st = status_rows(("A", "2024", "loai_II"), ("A", "2025", "khong_ma_tuy"),
                     ("B", "2024", "loai_III"), ("B", "2026", "loai_II"),
                     ("C", "2024", "loai_I"), ("C", "2026", "loai_II"),
                     ("D", "2024", "loai_II"), ("D", "2026", "loai_II"),
                     ("E", "2026", "loai_I"), ("E", "2026-06", "loai_II"))
    plans = pd.DataFrame({
        "id": ["P1", "P2", "P3", "P4", "P5"], "commune_code": ["A", "B", "C", "D", "E"],
        "target_status": ["khong_ma_tuy", "loai_III", "loai_III", "loai_III", "loai_III"],
        "target_date": ["2025-12-31", "2027-12-31", "2026-12-31", "2025-06-30", "2028-12-31"],
        "baseline_period": [None, "2024", "2024", "2024", "2026"]})
    out = progress.plan_progress(plans, st, today=TODAY).set_index("plan_id")
    assert out.loc["P1", "achieved"] and out.loc["P1", "verdict_en"] == "target reached"
    # B was at the target when planned and slipped back: not on track
    assert not out.loc["P2", "on_track"] and out.loc["P2", "progress_pct"] == 0
    # C moved one of two classes with 97 % of the time gone
    assert (out.loc["P3", "steps_needed"], out.loc["P3", "steps_done"]) == (2, 1)
    assert out.loc["P3", "progress_pct"] == 50 and out.loc["P3", "time_elapsed_pct"] > 95
    assert out.loc["P3", "verdict_en"] == "behind"
    assert out.loc["P4", "overdue"] and out.loc["P4", "verdict_vi"] == "quá hạn, chưa đạt"
    # E: one class in half a year of a three-year plan
    assert out.loc["P5", "on_track"] and out.loc["P5", "current_period"] == "2026-06"


def test_plans_may_target_future_dates_but_baseline_must_be_a_period(communes):
    frame = pd.DataFrame({"id": ["P1", "P2"], "source": ["x", "x"],
                          "commune_code": ["16837", "16813"], "target_status": ["loai_III"] * 2,
                          "target_date": ["2028-12-31", "2027-06-30"],
                          "baseline_period": ["2025", "năm 2025"]})
    rep = progress.validate_plans(frame, communes=communes)
    assert [e.field for e in rep.errors] == ["baseline_period"]
    assert list(rep.clean["id"]) == ["P1"]


# --- targets and the dashboard ---------------------------------------------------------------

def recs(*rows):
    cols = ["id", "commune_code", "label", "decision_no", "date", "authority", "revoked_on"]
    return pd.DataFrame([dict(zip(cols, r)) for r in rows], columns=cols)


TARGETS = pd.DataFrame({"scope": ["province", "tinh", "border", "16837"],
                        "year": [2025, 2026, 2026, 2026],
                        "share_drug_free": [0.2, 30, 0.25, 1.0]})


def test_target_pct_reads_fractions_and_percentages_and_scopes():
    assert progress.target_pct(TARGETS, 2025) == 20.0
    assert progress.target_pct(TARGETS, 2026, "province") == 30.0
    assert progress.target_pct(TARGETS, 2026, "border") == 25.0
    assert progress.target_pct(TARGETS, 2026, "16837") == 100.0
    assert progress.target_pct(TARGETS, 2027) is None


def test_dashboard_numbers_are_computed_from_recognitions_and_targets():
    communes = pd.DataFrame({"code": [f"C{i}" for i in range(10)]})
    base = [("r1", "C0", "khong_ma_tuy", "1", "2025-10-01", "UBND tỉnh", None),
            ("r2", "C1", "khong_ma_tuy", "2", "2026-02-01", "UBND tỉnh", None),
            ("r3", "C2", "khong_ma_tuy", "3", "2025-12-01", "UBND tỉnh", "2026-04-01"),
            ("r4", "C3", "sach_ve_ma_tuy", "4", "2023-01-01", "UBND huyện", None),
            ("r5", "X9", "khong_ma_tuy", "5", "2026-01-01", "UBND tỉnh", None)]
    d = progress.dashboard(recs(*base), communes, TARGETS, on=TODAY)
    assert (d.n_drug_free, d.n_total, d.share_pct, d.target_pct) == (2, 10, 20.0, 30.0)
    assert d.expected_pct == pytest.approx(20 + 10 * 328 / 364, abs=0.05)
    assert d.verdict == "behind" and d.needed == 1
    assert d.text_en == "2 of 10 communes drug-free (20.0 %), target 30 % in 2026, behind"
    assert d.text_vi == ("2/10 xã, phường không ma túy (20,0 %), chỉ tiêu 30 % năm 2026 — "
                         "chậm tiến độ")
    more = recs(*base, ("r6", "C4", "khong_ma_tuy", "6", "2026-09-09", "UBND tỉnh", None))
    d = progress.dashboard(more, communes, TARGETS, on=TODAY)
    assert d.verdict == "achieved" and d.text_en.endswith("target met") and d.needed == 0
    steep = pd.DataFrame({"scope": ["province", "province"], "year": [2025, 2026],
                          "share_drug_free": [0.1, 0.4]})
    early = progress.dashboard(recs(*base), communes, steep, on=date(2026, 2, 15))
    # 30 % in mid-February: short of 40 %, ahead of the straight line from 10 % (13.7 %)
    assert (early.share_pct, early.expected_pct, early.verdict) == (30.0, 13.7, "on_track")
    sach = progress.dashboard(recs(*base), communes, None, on=TODAY, label="sach_ve_ma_tuy")
    assert (sach.n_drug_free, sach.verdict) == (1, "no_target")


# --- the border corridor ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def base_layers(communes):
    return communes, boundaries.border_line(), boundaries.province()


@pytest.mark.slow  # over ~0.5 s: out of the quick loop
def test_distance_bands_are_nested_rings_inside_the_province(base_layers):
    communes, line, prov = base_layers
    bands = progress.distance_bands(prov, line)
    assert bands["band"].tolist() == ["0-5", "5-15", "15-30"]
    m = bands.to_crs(METRIC_CRS)
    pm = prov.to_crs(METRIC_CRS).geometry.iloc[0]
    assert (m.geometry.difference(pm.buffer(1)).area < 1e4).all()  # inside the province
    assert m.geometry.iloc[0].intersection(m.geometry.iloc[1]).area < 1e4  # not overlapping
    axis = progress.border_axis(line)
    ring = m.geometry.iloc[1]
    # a point of the 5–15 ring lies 5–15 km from the line (50 m of simplification allowed)
    d = ring.representative_point().distance(axis) / 1000
    assert 4.9 < d < 15.1
    # 464 km of border × 5 km is an upper bound of the first band's area
    assert 0.5 * 464 * 5 < bands["area_km2"].iloc[0] < 464 * 5


def test_axis_runs_from_the_northern_end(base_layers):
    axis = progress.border_axis(base_layers[1])
    assert axis.coords[0][1] > axis.coords[-1][1]
    assert axis.length / 1000 == pytest.approx(464.2, abs=0.2)


def _posts():
    return gpd.GeoDataFrame({
        "id": ["bp1", "bp2"], "name": ["Đồn BP Nậm Cắn", "Đồn BP Thanh Thủy"],
        "area_of_responsibility": ["16837;16813", ""]},
        geometry=shapely.points([104.17, 105.17], [19.40, 18.65]), crs="EPSG:4326")


@pytest.fixture(scope="module")
def small_summary(base_layers):
    communes, line, prov = base_layers
    st = status_rows(*[(c, "2026", "loai_III") for c in communes["code"]])
    st.loc[st["commune_code"] == "16744", ["status", "drug_free"]] = ["khong_ma_tuy", True]
    pts = gpd.GeoDataFrame({"id": ["p1", "p2"], "status": ["active", "active"],
                            "first_seen": ["2025-01-01", "2025-01-01"],
                            "commune_code": ["16837", "17791"]},
                           geometry=shapely.points([104.13, 105.15], [19.41, 18.66]), crs=4326)
    return progress.border(communes, line, prov, st, year=2026, today=TODAY, retail_points=pts,
                           border_posts=_posts(),
                           targets=pd.DataFrame({"scope": ["border"], "year": [2026],
                                                 "share_drug_free": [0.2]}))


@pytest.mark.slow  # over ~0.5 s: out of the quick loop
def test_posts_take_their_listed_communes_and_the_nearest_unlisted_ones(small_summary):
    posts = small_summary.posts.set_index("key")
    near_nam_can = posts.loc["Đồn BP Nậm Cắn", "communes"].split(";")
    near_thanh_thuy = posts.loc["Đồn BP Thanh Thủy", "communes"].split(";")
    assert {"16837", "16813"} <= set(near_nam_can)
    assert "17791" in near_thanh_thuy and "17791" not in near_nam_can
    assert posts["n_communes"].sum() == len(small_summary.communes)
    assert posts.loc["Đồn BP Thanh Thủy", "points_active"] == 1


@pytest.mark.slow  # over ~0.5 s: out of the quick loop
def test_post_areas_listed_with_spaces_or_twice_are_read_as_their_communes(base_layers):
    communes, line, prov = base_layers
    st = status_rows(*[(c, "2026", "loai_III") for c in communes["code"]])
    posts = _posts()
    # Nậm Cắn is the nearer post; Thanh Thủy lists the two communes, space-separated and twice
    posts["area_of_responsibility"] = ["", "16837  16813;16837"]
    summary = progress.border(communes, line, prov, st, year=2026, today=TODAY,
                              border_posts=posts)
    by_post = summary.posts.set_index("key")["communes"].str.split(";")
    assert {"16837", "16813"} <= set(by_post["Đồn BP Thanh Thủy"])
    assert "16837" not in by_post["Đồn BP Nậm Cắn"]
    corridor = summary.communes.set_index("code")
    assert corridor.loc["16837", "posts"] == "Đồn BP Thanh Thủy"


def test_segments_count_border_communes_by_the_lao_province_they_face(small_summary, communes):
    seg = small_summary.segments.set_index("key")
    want = communes[communes["is_border"]].groupby("lao_province").size()
    assert seg["n_communes"].to_dict() == want.to_dict()
    assert seg.loc["Hủa Phăn", "n_drug_free"] == 1  # Thông Thụ
    assert seg.loc["Hủa Phăn", "share_drug_free_pct"] == pytest.approx(100 / 6, abs=0.05)
    assert seg.loc["Hủa Phăn", "target_pct"] == 20.0 and not seg.loc["Hủa Phăn", "on_track"]
    assert seg["points_active"].sum() == 2
    assert seg["from_km"].tolist() == sorted(seg["from_km"])


@pytest.mark.slow  # over ~0.5 s: out of the quick loop
def test_strip_bins_cover_the_line_and_chart_is_written(small_summary, tmp_path):
    strip = small_summary.strip
    assert strip["from_km"].iloc[0] == 0 and strip["to_km"].iloc[-1] == pytest.approx(464.2, 0.01)
    assert strip["points_active"].sum() == 2
    assert strip.geometry.geom_type.eq("LineString").all()
    png = border_strip_chart(small_summary, tmp_path / "strip.png")
    svg = border_strip_chart(small_summary, tmp_path / "strip.svg")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
    assert b"<svg" in svg.read_bytes()[:500]


def test_border_layer_round_trips_through_the_store(small_summary, store):
    layer = progress.border_layer(small_summary, run_id="t1")
    store.write("border_progress", layer, mode="replace")
    back = store.read("border_progress")
    assert sorted(back["scope"].unique()) == ["band", "post", "segment", "strip"]
    seg = back[back["scope"] == "segment"].set_index("key")
    assert seg.loc["Hủa Phăn", "n_drug_free"] == 1
    assert back.geometry.notna().all()


# --- on the sample data, against an independent computation ---------------------------------

@pytest.fixture(scope="module")
def sample_run(communes, base_layers):
    if not (SAMPLE_DIR / "cases.geojson").exists():
        pytest.skip("sample data not generated")
    from geo_pcmt.analysis.rules import load_rule_sets
    from geo_pcmt.runs.seed import read_sample
    from geo_pcmt.analysis.status import classify_history, commune_status
    s = read_sample()
    st = commune_status(communes, classify_history(s["commune_assessments"], load_rule_sets()),
                        s["recognitions"], today=TODAY)
    _, line, prov = base_layers
    summary = progress.border(communes, line, prov, st, year=2026, today=TODAY,
                              retail_points=s["retail_points"], opium_plots=s["opium_plots"],
                              border_crossings=s["border_crossings"],
                              border_posts=s["border_posts"], cases=s["cases"],
                              targets=s["targets"])
    return s, st, summary


def _independent(frame, line):
    """Distance with plain GeoSeries.distance, segment by sjoin_nearest: no shared code."""
    m = frame.to_crs(METRIC_CRS).copy()
    m["geometry"] = m.geometry.representative_point()
    segs = line.to_crs(METRIC_CRS)[["segment", "geometry"]]
    m["dist_km"] = m.geometry.distance(segs.geometry.union_all()) / 1000
    m = m[m["dist_km"] <= 30]
    joined = gpd.sjoin_nearest(m, segs, how="left").groupby(level=0).first()
    m["seg"] = joined["segment"]
    m["band"] = pd.cut(m["dist_km"], [0, 5, 15, 30], labels=["0-5", "5-15", "15-30"],
                       include_lowest=True).astype(str)
    return m


@pytest.mark.slow  # whole service: progress of the sample
def test_sample_segment_and_band_figures_match_an_independent_computation(sample_run,
                                                                          base_layers):
    s, st, summary = sample_run
    line = base_layers[1]
    cases = _independent(s["cases"], line)
    cases = cases[cases["date"].astype(str).str.startswith("2026")]
    plots = _independent(s["opium_plots"], line)
    plots = plots[plots["detected_on"].astype(str).str.startswith("2026")]
    cross = _independent(s["border_crossings"], line)
    pts = _independent(s["retail_points"], line)
    day = "2026-11-25"
    cleared = pts["cleared_on"].astype(str).where(pts["cleared_on"].notna(), "9999")
    back = (pts["status"] == "re-emerged") & (pts["last_activity"].astype(str) <= day)
    pts = pts[(pts["first_seen"].astype(str) <= day) & ((cleared > day) | back)
              & ~((pts["status"] == "cleared") & pts["cleared_on"].isna())]
    seg = summary.segments.set_index("key")
    for name, frame, col in (("cases", cases, "cases"), ("plots", plots, "plots_found"),
                             ("crossings", cross, "crossings"), ("points", pts, "points_active")):
        want = frame.groupby("seg").size().reindex(seg.index, fill_value=0)
        assert seg[col].tolist() == want.tolist(), name
        by_band = frame.groupby("band").size().reindex(["0-5", "5-15", "15-30"], fill_value=0)
        assert summary.bands[col].tolist() == by_band.tolist(), name
    latest = st[st["period"] == "2026"]
    border = latest[latest["is_border"]]
    for prov_name, grp in border.groupby("lao_province"):
        assert seg.loc[prov_name, "n_communes"] == len(grp)
        assert seg.loc[prov_name, "n_loai_III"] == (grp["computed_class"] == "loai_III").sum()
        assert seg.loc[prov_name, "n_drug_free"] == grp["drug_free"].sum()
    assert summary.totals["crossings"] == len(s["border_crossings"])  # all within 500 m


@pytest.mark.slow  # whole service: the sample's full history
def test_sample_history_has_communes_moving_to_drug_free(sample_run):
    _, st, _ = sample_run
    piv = st.pivot(index="commune_code", columns="period", values="status")
    # Thông Thụ: loại I in 2022, recognised drug-free in 2025 and 2026
    assert piv.loc["16744", "2022"] == "loai_I"
    assert piv.loc["16744", ["2025", "2026"]].tolist() == ["khong_ma_tuy"] * 2
    assert (piv["2026"] == "khong_ma_tuy").sum() == 8


@pytest.mark.slow  # whole service: the CLI on the sample
def test_cli_progress_prints_dashboard_and_border_tables(store, tmp_path):
    chart = tmp_path / "bg.png"
    res = CliRunner().invoke(main, ["progress", "--border", "--chart", str(chart), "--store",
                                    str(store.path), "--today", "2026-11-25", "--year", "2026"])
    assert res.exit_code == 0, res.output
    assert "0/130 xã, phường không ma túy (0,0 %)" in res.output
    assert "Hủa Phăn" in res.output and "0–5 km" in res.output and chart.exists()
    assert store.count("border_progress") > 40
    res = CliRunner().invoke(main, ["progress", "--store", str(store.path), "--json",
                                    "--today", "2026-11-25"])
    out = json.loads(res.output)
    assert out["dashboard"]["n_total"] == 130 and out["dashboard"]["verdict"] == "no_target"
    assert np.isclose(out["dashboard"]["share_pct"], 0.0)
