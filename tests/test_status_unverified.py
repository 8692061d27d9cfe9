"""Placeholder bands never make a key area alone; every output says what rests on them."""
from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from geo_pcmt.analysis.rules import find_rule_set, load_rule_sets
from geo_pcmt.analysis.status import classify, commune_status, rests_on_text
from geo_pcmt.cli import main


@pytest.fixture(scope="module")
def rule_sets():
    return load_rule_sets()


def row(**changes) -> dict:
    base = {"commune_code": "16690", "period": "2026", "population": 10_000,
            "addicts_with_records": 0, "users": 0, "harbouring_locations": 0,
            "offenders_arrested": 0, "plants": 0, "plant_area_m2": 0.0, "on_drug_route": False}
    base.update(changes)
    return base


def test_class_II_through_II_d_counting_unverified_III_bands_is_not_given_and_is_named(rule_sets):
    rs = find_rule_set(rule_sets, "28/2025")
    # II.b (1 location) and II.c (0.05 %) are verified; II.đ fires only because it counts
    # the placeholder bands III.a (0.1 %) and III.b (0.02 %)
    ev = rs.evaluate(row(on_drug_route=True, harbouring_locations=1, offenders_arrested=5,
                         users=10))
    assert ev.provisional_class == "loai_II"
    assert ev.computed_class == "co_te_nan_ma_tuy"
    assert ev.rests_on == {"loai_II.đ": ["loai_III.a", "loai_III.b"]}
    assert "II.đ (qua III.a, III.b)" == rests_on_text(ev.rests_on)
    # with a third verified class-II band the class holds and nothing rests on placeholders
    ev = rs.evaluate(row(on_drug_route=True, harbouring_locations=1, offenders_arrested=5,
                         users=10, plants=500))
    assert (ev.computed_class, ev.provisional_class, ev.rests_on) == ("loai_II", "loai_II", {})


def test_drug_activity_is_its_own_class_apart_from_nothing_recorded(rule_sets):
    rs = find_rule_set(rule_sets, "28/2025")
    assert rs.evaluate(row(offenders_arrested=1)).computed_class == "co_te_nan_ma_tuy"
    assert rs.evaluate(row()).computed_class == "khong_trong_diem"


def test_sach_label_beside_a_key_area_class_is_warned(rule_sets, communes):
    rs = find_rule_set(rule_sets, "28/2025")
    frame = pd.DataFrame([row(commune_code="16837", period="2025", users=60,
                              harbouring_locations=2, offenders_arrested=12)])
    cls = classify(frame, rs)
    rec = pd.DataFrame([{"id": "R1", "commune_code": "16837", "label": "sach_ve_ma_tuy",
                         "decision_no": "1/QĐ-UBND", "date": "2024-05-01",
                         "authority": "UBND huyện Kỳ Sơn", "revoked_on": None}])
    st = commune_status(communes, cls, rec, periods=["2025"])
    mine = st.set_index("commune_code").loc["16837"]
    assert mine["computed_class"] == "loai_I" and mine["sach_ve_ma_tuy"]
    assert "nhãn sạch về ma túy" in mine["warnings"] and "loại I" in mine["warnings"]


def test_status_json_and_layer_name_the_unverified_basis(store, tmp_path):
    runner = CliRunner()
    sheet = tmp_path / "a.csv"
    pd.DataFrame([{"id": "A1", "source": "CA xã", "rule_set": "",
                   **row(on_drug_route=True, harbouring_locations=1, offenders_arrested=5,
                         users=10, period="2026")}]).to_csv(sheet, index=False)
    res = runner.invoke(main, ["assess", str(sheet), "--store", str(store.path)])
    assert res.exit_code == 0, res.output
    res = runner.invoke(main, ["status", "--store", str(store.path), "--period", "2026",
                               "--json", "--today", "2026-12-31"])
    assert res.exit_code == 0, res.output
    mine = next(r for r in json.loads(res.output) if r["commune_code"] == "16690")
    assert mine["computed_class"] == "co_te_nan_ma_tuy"
    assert mine["provisional_class"] == "loai_II"
    assert mine["unverified_basis"] == "II.đ (qua III.a, III.b)"
    assert "chưa kiểm chứng" in mine["warnings"]
    stored = store.read("commune_status", where={"id": "16690:2026"})
    assert stored["unverified_basis"].iloc[0] == "II.đ (qua III.a, III.b)"
    table = runner.invoke(main, ["status", "--store", str(store.path), "--period", "2026",
                                 "--no-write", "--today", "2026-12-31"])
    line = next(ln for ln in table.output.splitlines() if ln.startswith("16690"))
    assert "có TNMT†" in line and "loại II ← II.đ (qua III.a, III.b)" in line


@pytest.mark.slow
def test_sample_2025_has_fewer_than_half_key_areas_and_prints_rule_set(tmp_path):
    runner = CliRunner()
    path = tmp_path / "demo.gpkg"
    assert runner.invoke(main, ["demo", "--store", str(path)]).exit_code == 0
    res = runner.invoke(main, ["status", "--period", "2025", "--no-write", "--store", str(path),
                               "--json"])
    rows = pd.DataFrame(json.loads(res.output))
    key = rows["computed_class"].isin(["loai_I", "loai_II", "loai_III"]).sum()
    assert len(rows) == 130 and key < 65
    res = runner.invoke(main, ["status", "--period", "2025", "--no-write", "--store", str(path)])
    counts = rows["status"].value_counts()
    summary = next(ln for ln in res.output.splitlines() if ln.startswith("2025 "))
    assert f"{key}/130" in summary and str(counts["co_te_nan_ma_tuy"]) in summary.split()
    assert "28/2025@2#" in res.output and "loai_II.a, loai_III.a" in res.output


def test_progress_judges_both_years_by_one_rule_set_unless_as_assessed(store, tmp_path):
    # 150 addicts in 5,000 people: type I under 3122/2010 (≥ 100) in 2024, one class-I
    # criterion under 28/2025 in 2025 — a "progress" that is only a change of rule set
    base = {"id": "", "source": "CA xã", "commune_code": "16837", "population": 5000,
            "addicts_with_records": 150, "users": 0, "harbouring_locations": 0,
            "offenders_arrested": 0, "plants": 0, "plant_area_m2": 0.0,
            "on_drug_route": False, "rule_set": ""}
    sheet = tmp_path / "a.csv"
    pd.DataFrame([{**base, "id": "A1", "period": "2024"},
                  {**base, "id": "A2", "period": "2025"}]).to_csv(sheet, index=False)
    runner = CliRunner()
    assert runner.invoke(main, ["assess", str(sheet), "--store", str(store.path)]).exit_code == 0
    args = ["progress", "--year", "2025", "--store", str(store.path), "--today", "2026-01-10",
            "--json"]
    one = json.loads(runner.invoke(main, args).output)
    assert one["judged_by"] == "28/2025" and "cùng một bộ tiêu chí: 28/2025" in \
        one["judged_by_text"]
    assert one["transitions"].get("improved", 0) == 0 and one["rule_set_changed"] == 0
    mixed = json.loads(runner.invoke(main, args + ["--as-assessed"]).output)
    assert mixed["judged_by"] is None and mixed["transitions"]["improved"] == 1
    assert mixed["rule_set_changed"] == 1
    text = runner.invoke(main, args[:-1] + ["--as-assessed"]).output
    line = next(ln for ln in text.splitlines() if ln.startswith("16837"))
    assert "loại I" in line and "có TNMT†" in line


def test_progress_csv_has_vietnamese_headers_and_codes_on_request(store, tmp_path):
    runner = CliRunner()
    out, raw = tmp_path / "p.csv", tmp_path / "raw.csv"
    base = ["progress", "--year", "2025", "--store", str(store.path), "--today", "2026-01-10"]
    sheet = tmp_path / "a.csv"
    pd.DataFrame([{"id": "A1", "source": "x", "commune_code": "16837", "period": "2025",
                   "population": 5000, "addicts_with_records": 3, "users": 0,
                   "harbouring_locations": 0, "offenders_arrested": 0, "plants": 0,
                   "plant_area_m2": 0, "on_drug_route": False, "rule_set": ""}]
                 ).to_csv(sheet, index=False)
    runner.invoke(main, ["assess", str(sheet), "--store", str(store.path)])
    assert runner.invoke(main, base + ["--csv", str(out)]).exit_code == 0
    assert runner.invoke(main, base + ["--csv", str(raw), "--codes"]).exit_code == 0
    head = out.read_text(encoding="utf-8-sig").splitlines()[0]
    assert head.startswith("Mã xã,Xã, phường") or "Mã xã" in head
    assert "Tình trạng" in head and "commune_code" not in head
    frame = pd.read_csv(out, encoding="utf-8-sig", dtype=str)
    assert "Có tệ nạn ma túy, không phải trọng điểm" in set(frame["Tình trạng"])
    assert raw.read_text(encoding="utf-8-sig").startswith("commune_code")
    assert "--csv" in runner.invoke(main, ["progress", "--help"]).output
    assert "Vietnamese column" in runner.invoke(main, ["status", "--help"]).output
