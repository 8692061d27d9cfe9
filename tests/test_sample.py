"""The SYNTHETIC sample generator and the committed files in data/sample/."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from geo_pcmt.ingest import boundaries
from tools import sample
from geo_pcmt.layers import LAYERS
from geo_pcmt.paths import SAMPLE_DIR

DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+07:00$")


@pytest.fixture(scope="module")
def frames():
    return sample.generate(seed=180)


@pytest.fixture(scope="module")
def communes():
    return boundaries.communes()


def assert_same(a: pd.DataFrame, b: pd.DataFrame, name: str, tolerance_deg: float = 0.0):
    plain_a = a.drop(columns="geometry") if "geometry" in a else a
    plain_b = b.drop(columns="geometry") if "geometry" in b else b
    pd.testing.assert_frame_equal(plain_a, plain_b, check_exact=False, rtol=1e-9,
                                  obj=f"layer {name}")
    if "geometry" in a:
        same = shapely.equals_exact(a.geometry.values, b.geometry.values, tolerance=tolerance_deg)
        assert same.all(), f"{name}: {int((~same).sum())} geometries differ"


def story_criteria(a: pd.DataFrame) -> pd.DataFrame:
    """Criteria of Decision 28/2025 (class I bands, DOMAIN.md §1) and 3122/2010 type I."""
    use = (a["addicts_with_records"] + a["users"]) / a["population"]
    arrests = a["offenders_arrested"] / a["population"]
    class_i = ((use >= 0.005).astype(int) + (a["harbouring_locations"] >= 2)
               + (arrests >= 0.001) + ((a["plants"] >= 3000) | (a["plant_area_m2"] >= 750)))
    lower = ((a["harbouring_locations"] >= 1).astype(int) + (arrests >= 0.0005)
             + ((a["plants"] >= 500) | (a["plant_area_m2"] >= 125)))
    type_i = ((a["addicts_with_records"] >= 100) | (a["harbouring_locations"] >= 5)
              | (a["plant_area_m2"] >= 2000))
    return pd.DataFrame({"class_i": class_i, "lower": lower, "type_i_3122": type_i,
                         "use": use, "arrests": arrests})


# ── determinism and schema ──

@pytest.mark.slow  # over ~0.5 s: out of the quick loop
def test_same_seed_gives_equal_frames(frames):
    again = sample.generate(seed=180)
    assert list(again) == list(frames) == list(sample.LAYER_NAMES)
    for name in frames:
        assert_same(frames[name], again[name], name)


@pytest.mark.slow  # over ~0.5 s: out of the quick loop
def test_another_seed_gives_other_points(frames):
    other = sample.generate(seed=181)
    assert not shapely.equals_exact(frames["retail_points"].geometry.values[:50],
                                    other["retail_points"].geometry.values[:50]).all()


def test_every_frame_has_exactly_the_schema_columns(frames):
    for name, frame in frames.items():
        layer = LAYERS[name]
        columns = [c for c in frame.columns if c != "geometry"]
        assert columns == layer.field_names, name
        assert ("geometry" in frame.columns) == layer.has_geometry, name
        if layer.has_geometry:
            assert frame.crs.to_epsg() == 4326


def test_required_fields_are_filled_and_values_allowed(frames):
    for name, frame in frames.items():
        for field in LAYERS[name].fields:
            values = frame[field.name]
            if field.required:
                assert values.notna().all(), f"{name}.{field.name} has blanks"
            if field.allowed:
                bad = set(values.dropna()) - set(field.allowed)
                assert not bad, f"{name}.{field.name}: {bad}"
            if field.minimum is not None:
                assert (values.dropna() >= field.minimum).all(), f"{name}.{field.name}"
            if field.type == "date":
                assert values.dropna().str.match(DATE).all(), f"{name}.{field.name}"
            if field.type == "datetime":
                assert values.dropna().str.match(DATETIME).all(), f"{name}.{field.name}"
            if field.type == "str":
                assert (values.dropna().str.len() <= field.max_length).all()


def test_ids_are_unique_and_records_carry_their_default_confidentiality(frames):
    for name, frame in frames.items():
        assert frame["id"].is_unique, name
        assert (frame["confidentiality"] == LAYERS[name].confidentiality_default).all(), name
        assert (frame["created_at"] <= frame["updated_at"]).all(), name
    assert frames["retail_points"]["id"].str.match(r"^RP-\d{6}$").all()
    assert frames["cases"]["id"].str.match(r"^CA-\d{6}$").all()


def test_every_record_says_synthetic(frames):
    for name, frame in frames.items():
        assert frame["source"].str.contains("SYNTHETIC").all(), name


@pytest.mark.slow  # over ~0.5 s: out of the quick loop
def test_points_lie_inside_the_province_in_the_commune_they_name(frames, communes):
    province = boundaries.province().geometry.iloc[0]
    polygons = dict(zip(communes["code"], communes.geometry))
    border = dict(zip(communes["code"], communes["is_border"]))
    for name in sample.SPATIAL_LAYERS:
        frame = frames[name]
        assert frame.geometry.within(province).all(), name
        own = np.array([polygons[c] for c in frame["commune_code"]], dtype=object)
        assert shapely.within(frame.geometry.values, own).all(), name
        assert (frame["is_border"] == frame["commune_code"].map(border)).all(), name


# ── retail points and cases ──

def test_retail_point_dates_follow_their_status(frames):
    rp = frames["retail_points"]
    assert (rp["type"] == "diem_ban_le").mean() > 0.6
    assert set(rp["status"]) == {"active", "watch", "cleared", "re-emerged"}
    assert (rp["first_seen"] <= rp["last_activity"]).all()
    was_cleared = rp["status"].isin(["cleared", "re-emerged"])
    assert (rp["cleared_on"].notna() == was_cleared).all()
    assert rp.loc[was_cleared, "case_ref"].notna().all()
    cleared = rp["status"] == "cleared"
    assert (rp.loc[cleared, "last_activity"] <= rp.loc[cleared, "cleared_on"]).all()
    back = rp["status"] == "re-emerged"
    assert (rp.loc[back, "last_activity"] > rp.loc[back, "cleared_on"]).all()
    assert (rp.loc[was_cleared, "first_seen"] <= rp.loc[was_cleared, "cleared_on"]).all()
    assert (rp["geocode_quality"] == "exact").mean() > 0.8
    assert (rp["geocode_quality"] == "commune").any()
    assert rp["name"].str.startswith(("Nhà ông", "Nhà bà", "Tụ điểm")).all()
    assert rp["address"].str.match(r"^(?:bản|khối|xóm) .+, (?:xã|phường) ").all()


def test_a_cleared_point_refers_to_the_case_that_cleared_it(frames):
    rp = frames["retail_points"]
    cases = frames["cases"].set_index("id")
    done = rp[rp["case_ref"].notna()]
    assert done["case_ref"].isin(cases.index).all()
    matched = cases.loc[done["case_ref"]]
    assert (matched["date"].to_numpy() == done["cleared_on"].to_numpy()).all()
    assert (matched["commune_code"].to_numpy() == done["commune_code"].to_numpy()).all()


def test_planted_hotspots_are_dense_and_change_over_time(frames):
    rp = frames["retail_points"].to_crs(32648)
    to_utm = Transformer.from_crs(4326, 32648, always_xy=True)
    for hotspot in sample.HOTSPOTS:
        x, y = to_utm.transform(hotspot.lon, hotspot.lat)
        mine = rp[rp["commune_code"] == hotspot.commune_code]
        near = mine.distance(shapely.Point(x, y)) < 1500
        assert near.mean() > 0.9, hotspot.key
    hoang_mai = frames["retail_points"].query("commune_code == '17110'")["first_seen"]
    assert (hoang_mai >= "2025-01-01").mean() > 0.8          # new in 2025
    nam_can = frames["retail_points"].query("commune_code == '16837'")["first_seen"].str[:4]
    per_year = nam_can.value_counts().sort_index()
    assert per_year["2022"] < per_year["2024"] < per_year["2025"] + per_year["2026"]  # growing
    thong_thu = frames["retail_points"].query("commune_code == '16744'")
    assert (thong_thu["status"] == "cleared").all()
    assert (thong_thu["cleared_on"] <= "2024-12-31").all()
    tam_thai = frames["retail_points"].query("commune_code == '16936'")
    assert (tam_thai["status"] == "re-emerged").sum() >= 5


def test_about_245_cases_a_month_with_a_june_spike(frames):
    cases = frames["cases"]
    assert 13_000 <= len(cases) <= 15_500
    monthly = cases.groupby(cases["date"].str[:7]).size()
    assert len(monthly) == 58
    assert 200 <= monthly.mean() <= 290
    june = monthly[monthly.index.str.endswith("-06")]
    assert june.mean() > 1.15 * monthly[~monthly.index.str.endswith("-06")].mean()
    assert 1.15 <= cases["offenders"].mean() <= 1.45   # 312 / 245 = 1.27
    assert (cases["offenders"] >= 1).all()
    seized = cases[["heroin_g", "meth_pills", "crystal_meth_g", "opium_g"]]
    assert (seized.sum(axis=1) > 0).all()
    assert cases["heroin_g"].max() <= 20_000 and cases["meth_pills"].max() <= 60_000
    assert cases["unit"].notna().all()


def _background(frame: pd.DataFrame, date_field: str):
    """Metric x/y and day numbers of the records outside the designed communes."""
    bg = frame[~frame["commune_code"].isin(list(sample.STORY)).to_numpy()]
    m = bg.to_crs(32648)
    days = pd.to_datetime(bg[date_field]).to_numpy().astype("datetime64[D]").astype(np.int64)
    return m.geometry.x.to_numpy(), m.geometry.y.to_numpy(), days


def knox_ratio(x, y, days, radius_m: float, within_days: int) -> float:
    """Knox test: pairs close in space AND time, over what independence would give."""
    from scipy.spatial import cKDTree
    pairs = cKDTree(np.column_stack([x, y])).query_pairs(radius_m, output_type="ndarray")
    both = int((np.abs(days[pairs[:, 0]] - days[pairs[:, 1]]) <= within_days).sum())
    t = np.sort(days)
    close_t = int((np.searchsorted(t, t + within_days, side="right") - np.arange(len(t)) - 1)
                  .sum())
    n = len(days)
    return both / (len(pairs) * close_t / (n * (n - 1) / 2))


def test_background_cases_repeat_near_in_space_and_time(frames):
    # the Hawkes-type near repeats: cases within 400 m of each other fall within 14 days of
    # each other far more often than independence would give (the earlier, independent
    # generator measured 1.23; this one 2.67)
    assert knox_ratio(*_background(frames["cases"], "date"), 400.0, 14) > 1.8
    # retail points too (within 400 m and 6 weeks)
    assert knox_ratio(*_background(frames["retail_points"], "first_seen"), 400.0, 42) > 1.5


def test_background_hot_places_persist_from_year_to_year(frames):
    # last year's 40 busiest 500 m cells of the background hold a good share of this
    # year's background cases (independent scatter gave about 3 %; measured 12–21 %)
    x, y, days = _background(frames["cases"], "date")
    cell = np.floor(x / 500).astype(np.int64) * 1_000_000 + np.floor(y / 500).astype(np.int64)
    year = days.astype("datetime64[D]").astype("datetime64[Y]").astype(int) + 1970
    for y_now in (2024, 2025, 2026):
        top = pd.Series(cell[year == y_now - 1]).value_counts().index[:40]
        assert np.isin(cell[year == y_now], top).mean() > 0.08, y_now


# ── opium, border, facilities ──

def test_opium_plots_are_small_in_season_and_in_mountain_communes(frames, communes):
    plots = frames["opium_plots"]
    assert 120 <= len(plots) <= 180
    assert plots["area_m2"].between(40, 2500).all()
    assert (plots["area_m2"] <= 600).mean() >= 0.85
    assert plots["detected_on"].str[5:7].isin(["01", "02", "03"]).all()
    density = plots["plant_count"] / plots["area_m2"]
    assert density.between(14.9, 25.1).all()
    district = dict(zip(communes["code"], communes["district_pre2025"]))
    assert plots["commune_code"].map(district).isin(
        ["Huyện Kỳ Sơn", "Huyện Quế Phong", "Huyện Tương Dương", "Huyện Con Cuông"]).all()
    assert plots["is_border"].mean() > 0.7
    eradicated = plots.dropna(subset=["eradicated_on"])
    days = (pd.to_datetime(eradicated["eradicated_on"])
            - pd.to_datetime(eradicated["detected_on"])).dt.days
    assert (days >= 0).all() and (days <= 3).mean() > 0.75
    kinds = plots.geometry.geom_type.value_counts()
    assert kinds.get("Point", 0) > 20 and kinds.get("Polygon", 0) > 20
    polygons = plots[plots.geom_type == "Polygon"]
    metric_area = polygons.to_crs(32648).area
    assert np.allclose(metric_area, polygons["area_m2"], rtol=0.005, atol=0.1)
    assert shapely.is_ccw(polygons.exterior.values).all()  # RFC 7946 right-hand rule


def test_border_crossings_gates_openings_and_trails(frames):
    bc = frames["border_crossings"]
    gates = bc[bc["kind"].isin(["international", "main", "secondary"])]
    assert len(gates) == 5
    assert gates.set_index("name").loc["Cửa khẩu quốc tế Nậm Cắn", "kind"] == "international"
    assert gates.set_index("name").loc["Cửa khẩu Thanh Thủy", "planned_kind"] == "international"
    assert (gates["position_quality"] == "approximate").all()
    openings = bc[bc["kind"] == "opening"]
    assert {"Lối mở Ta Đo", "Lối mở Buộc Mú", "Lối mở Keng Đu",
            "Lối mở Xiềng Trên"} <= set(openings["name"])
    huoi_khe = bc[bc["name"].str.contains("Huồi Khe")].iloc[0]
    assert huoi_khe["planned_kind"] == "secondary" and huoi_khe["planned_year"] == 2030
    trails = bc[bc["kind"] == "trail"].to_crs(32648)
    assert 15 <= len(trails) <= 25
    line = boundaries.border_line().to_crs(32648).union_all()
    assert (trails.distance(line) <= 500).all()
    assert set(bc["border_post"]) <= set(frames["border_posts"]["name"])
    assert bc["lao_province"].notna().all()


def test_border_posts_share_out_the_border_communes(frames, communes):
    posts = frames["border_posts"]
    assert 10 <= len(posts) <= 14
    assert posts["is_border"].all() and (posts["unit"] == "BĐBP Nghệ An").all()
    assert {"Đồn BP CKQT Nậm Cắn", "Đồn BP cửa khẩu Thanh Thủy"} <= set(posts["name"])
    covered = [c for aor in posts["area_of_responsibility"] for c in aor.split(";")]
    assert sorted(covered) == sorted(communes.loc[communes["is_border"], "code"])
    line = boundaries.border_line().to_crs(32648).union_all()
    distance = posts.to_crs(32648).distance(line)
    assert distance.between(700, 6000).all()


def test_facilities(frames):
    kinds = frames["facilities"]["kind"].value_counts()
    assert kinds["methadone_treatment"] == 12 and kinds["methadone_dispensing"] == 19
    assert kinds["rehab"] >= 2
    assert (frames["facilities"]["capacity"] > 0).all()


# ── communes: assessments, recognitions, targets ──

def test_one_assessment_per_commune_and_year(frames, communes):
    a = frames["commune_assessments"]
    assert len(a) == len(communes) * 5
    assert not a.duplicated(["commune_code", "period"]).any()
    assert set(a["period"]) == {"2022", "2023", "2024", "2025", "2026"}
    assert (a["rule_set"] == np.where(a["period"] >= "2025", "28/2025", "3122/2010")).all()
    kind = dict(zip(communes["code"], communes["kind"]))
    border = dict(zip(communes["code"], communes["is_border"]))
    first = a[a["period"] == "2022"]
    wards = first[first["commune_code"].map(kind) == "phuong"]["population"]
    assert wards.between(20_000, 60_000).all()
    in_border = first[first["commune_code"].map(border)]["population"]
    assert in_border.between(5_000, 16_000).all()
    totals = a.groupby("period")["addicts_with_records"].sum()
    assert 3_000 <= totals["2023"] <= 5_000      # >3,800 with records in Oct 2023


def test_assessment_counts_are_the_sums_of_the_point_layers(frames):
    a = frames["commune_assessments"].set_index(["commune_code", "period"])
    cases = frames["cases"]
    arrested = cases.groupby(["commune_code", cases["date"].str[:4]])["offenders"].sum()
    got = a["offenders_arrested"].reindex(arrested.index)
    assert (got == arrested).all()
    assert a["offenders_arrested"].sum() == cases["offenders"].sum()
    plots = frames["opium_plots"]
    area = plots.groupby(["commune_code", plots["detected_on"].str[:4]])["area_m2"].sum()
    assert np.allclose(a["plant_area_m2"].reindex(area.index), area, atol=0.2)
    plants = plots.groupby(["commune_code", plots["detected_on"].str[:4]])["plant_count"].sum()
    assert (a["plants"].reindex(plants.index) == plants).all()


def test_designed_communes_follow_their_story(frames):
    a = frames["commune_assessments"].reset_index(drop=True)
    c = story_criteria(a)
    for code, (levels, _) in sample.STORY.items():
        for year, level in zip(sample.STORY_YEARS, levels):
            row = a.index[(a["commune_code"] == code) & (a["period"] == str(year))][0]
            crit = c.loc[row]
            where = f"{code} {year} {level}"
            if level == "I":
                assert crit["class_i"] >= 3, where
                if year < 2025:
                    assert crit["type_i_3122"], where
            elif level == "II":
                assert crit["class_i"] <= 2 and crit["use"] < 0.005, where
                assert not crit["type_i_3122"] or year >= 2025, where
            elif level == "III":
                assert crit["class_i"] <= 1 and crit["lower"] <= 2, where
                assert crit["arrests"] < 0.0005, where
            else:
                counts = a.loc[row, ["addicts_with_records", "users", "harbouring_locations",
                                     "offenders_arrested", "plants"]]
                assert (counts == 0).all(), where


def test_khong_ma_tuy_only_by_province_decision_and_one_label_revoked(frames):
    rec = frames["recognitions"]
    free = rec[rec["label"] == "khong_ma_tuy"]
    assert 3 <= len(free) <= 12
    assert (free["authority"] == "UBND tỉnh Nghệ An").all() and (free["date"] >= "2025-10-01").all()
    clean = frames["commune_assessments"].set_index(["commune_code", "period"])
    for code, date in zip(free["commune_code"], free["date"]):
        counts = clean.loc[(code, date[:4]), ["addicts_with_records", "offenders_arrested"]]
        assert counts.sum() == 0
    sach = rec[rec["label"] == "sach_ve_ma_tuy"]
    assert sach["authority"].str.startswith("UBND ").all()
    assert (sach["date"] < boundaries.REFORM_DATE).all()   # districts ended 1 Jul 2025
    border_codes = set(boundaries.communes().query("is_border")["code"])
    early = sach[(sach["date"] <= "2023-12-31") & sach["commune_code"].isin(border_codes)]
    assert len(early) >= 10
    assert rec["decision_no"].str.match(r"^\d+/QĐ-UBND$").all()
    revoked = rec[rec["revoked_on"].notna()]
    assert len(revoked) == 1 and (revoked["revoked_on"] > revoked["date"]).all()


def test_targets(frames):
    t = frames["targets"].set_index(["scope", "year"])["share_drug_free"]
    assert t[("province", 2025)] == 0.20 and t[("province", 2026)] == 0.30
    assert t[("province", 2030)] == 0.50
    assert "border" in frames["targets"]["scope"].values
    basis = " ".join(frames["targets"]["basis"])
    assert "695/KH-UBND" in basis and "107/KH-UBND" in basis


# ── files ──

@pytest.mark.slow  # over ~0.5 s: out of the quick loop
def test_committed_files_equal_a_fresh_generation(frames):
    stored = sample.read(SAMPLE_DIR)
    for name in sample.LAYER_NAMES:
        assert_same(frames[name], stored[name], name, tolerance_deg=2e-6)
    readme = (SAMPLE_DIR / "README.md").read_text(encoding="utf-8")
    assert "SYNTHETIC" in readme and "--seed 180" in readme


def test_main_writes_every_layer_and_a_readme(tmp_path):
    assert sample.main(["--seed", "7", "--out", str(tmp_path), "--start", "2026-01-01",
                        "--end", "2026-03-31"]) == 0
    names = {p.name for p in tmp_path.iterdir()}
    assert "README.md" in names
    for name in sample.LAYER_NAMES:
        ext = "geojson" if LAYERS[name].has_geometry else "csv"
        assert f"{name}.{ext}" in names
    back = sample.read(tmp_path)
    assert back["cases"]["date"].between("2026-01-01", "2026-03-31").all()
    text = (tmp_path / "cases.geojson").read_text(encoding="utf-8")
    assert '"crs"' not in text   # RFC 7946: no crs member


def test_generate_rejects_an_end_before_the_start():
    with pytest.raises(ValueError, match="before start"):
        sample.generate(start="2025-01-01", end="2024-01-01")
