"""Commune status: validation of assessments, classification history, recognition and revocation."""
from __future__ import annotations

import json
from datetime import date

import pandas as pd
import pytest
from click.testing import CliRunner

from geo_pcmt.ingest import boundaries
from geo_pcmt.cli import main
from geo_pcmt.analysis.rules import find_rule_set, load_rule_sets
from geo_pcmt.analysis.status import (
    classify,
    classify_history,
    commune_status,
    recognise,
    recognitions_on,
    revoke,
    status_layer,
    store_assessments,
    validate_assessments,
    validate_recognitions,
)

TODAY = date(2026, 11, 25)
COLUMNS = ["id", "source", "commune_code", "period", "population", "addicts_with_records",
           "users", "harbouring_locations", "offenders_arrested", "plants", "plant_area_m2",
           "on_drug_route", "rule_set"]


@pytest.fixture(scope="module")
def lineage():
    return boundaries.commune_lineage()


@pytest.fixture(scope="module")
def rule_sets():
    return load_rule_sets()


def sheet(*rows) -> pd.DataFrame:
    """Rows as an officer's spreadsheet: every cell text, blanks empty."""
    full = []
    for i, r in enumerate(rows, start=1):
        base = {"id": f"A{i}", "source": "CA xã", "commune_code": "16837", "period": "2026",
                "population": "8000", "addicts_with_records": "0", "users": "0",
                "harbouring_locations": "0", "offenders_arrested": "0", "plants": "0",
                "plant_area_m2": "0", "on_drug_route": "không", "rule_set": ""}
        base.update({k: str(v) for k, v in r.items()})
        full.append(base)
    return pd.DataFrame(full, columns=COLUMNS)


def check(frame, communes, lineage, **kw):
    return validate_assessments(frame, communes=communes, lineage=lineage, today=TODAY, **kw)


def only_error(report):
    assert len(report.errors) == 1, [str(p) for p in report.problems]
    return report.errors[0]


# --- bad input: each a clear error naming row and field ------------------------------------

@pytest.mark.parametrize("change,field,words", [
    ({"commune_code": "99999"}, "commune_code", "unknown commune code"),
    ({"population": "0"}, "population", "≥ 1"),
    ({"users": "-3"}, "users", "≥ 0"),
    ({"period": "2027"}, "period", "future"),
    ({"period": "2026-12"}, "period", "future"),
    ({"period": "06/2026"}, "period", "YYYY or YYYY-MM"),
    ({"addicts_with_records": "9000"}, "addicts_with_records", "larger than the population"),
    ({"rule_set": "QĐ 99/2099"}, "rule_set", "unknown rule set"),
    ({"population": "nhiều"}, "population", "not a valid int"),
])
def test_bad_assessment_is_an_error_naming_row_and_field(communes, lineage, change, field, words):
    rep = check(sheet({}, change, {"commune_code": "16813"}), communes, lineage)
    err = only_error(rep)
    assert (err.row, err.field) == (2, field) and words in err.reason
    assert "row 2" in str(err) and field in str(err)
    assert sorted(rep.clean["id"]) == ["A1", "A3"]


def test_second_assessment_of_a_commune_for_a_period_is_an_error(communes, lineage):
    err = only_error(check(sheet({}, {}), communes, lineage))
    assert (err.row, err.field) == (2, "period") and "row 1" in err.reason


def test_nothing_is_stored_when_any_row_is_bad(store, communes, lineage):
    frame = sheet({}, {"commune_code": "16813", "population": "0"})
    report, written = store_assessments(store, frame, communes=communes, lineage=lineage,
                                        today=TODAY)
    assert written is None and not report.ok
    assert store.count("commune_assessments") == 0


def test_clean_file_is_stored_and_restoring_it_under_new_ids_is_refused(store, communes, lineage):
    frame = sheet({}, {"commune_code": "16813"})
    report, written = store_assessments(store, frame, communes=communes, lineage=lineage,
                                        today=TODAY)
    assert report.ok and written.inserted == 2
    again = frame.assign(id=["B1", "B2"])
    report, written = store_assessments(store, again, communes=communes, lineage=lineage,
                                        today=TODAY)
    assert written is None and "already has an assessment for 2026 stored as id 'A1'" in \
        str(report.errors[0])
    assert store.count("commune_assessments") == 2


# --- pre-2025 codes --------------------------------------------------------------------------

def test_pre_2025_codes_are_summed_to_the_new_commune(communes, lineage):
    # old Nậm Cắn (16837) + old Phà Đánh (16843, gone since 1 Jul 2025) = new Xã Nậm Cắn
    rep = check(sheet({"commune_code": "16837", "period": "2023", "population": "4100",
                       "users": "3"},
                      {"commune_code": "16843", "period": "2023", "population": "2900",
                       "users": "2", "on_drug_route": "có"}), communes, lineage)
    assert rep.ok and not rep.warnings
    (r,) = rep.clean.to_dict("records")
    assert (r["commune_code"], r["period"], r["population"], r["users"], r["on_drug_route"]) == \
        ("16837", "2023", 7000, 5, True)
    assert "lineage: gộp từ xã cũ 16837, 16843 (2/2)" in r["source"]


def test_pre_2025_rows_of_a_split_commune_are_flagged_not_divided(communes, lineage):
    rep = check(sheet({"commune_code": "17647", "period": "2024"},
                      {"commune_code": "17356", "period": "2024"}), communes, lineage)
    assert rep.ok
    codes = {(w.row, w.code) for w in rep.warnings}
    assert (1, "lineage_partial") in codes and (2, "lineage_incomplete") in codes
    assert list(rep.clean["commune_code"]) == ["17357"]


def test_old_code_after_the_reform_names_its_new_commune(communes, lineage):
    err = only_error(check(sheet({"commune_code": "16843", "period": "2025-09"}), communes,
                           lineage))
    assert err.field == "commune_code" and "now part of 16837" in err.reason


# --- classification over time ----------------------------------------------------------------

def test_history_uses_the_rule_set_in_force_or_the_one_named(rule_sets):
    frame = pd.DataFrame({
        "commune_code": ["1", "1", "1"], "period": ["2024", "2025", "2023"],
        "population": [10_000] * 3, "addicts_with_records": [120, 120, 120], "users": [0] * 3,
        "harbouring_locations": [0] * 3, "offenders_arrested": [0] * 3, "plants": [0] * 3,
        "plant_area_m2": [0.0] * 3, "on_drug_route": [False] * 3,
        "rule_set": [None, None, "28/2025"]})
    out = classify_history(frame, rule_sets)
    assert out["rule_set"].tolist() == ["3122/2010", "28/2025", "28/2025"]
    # 120 addicts: type I under 3122/2010 (≥ 100), only 1.2 % → one class-I criterion under
    # 28/2025: class III only through a placeholder band, so drug activity, not a key area
    assert out["computed_class"].tolist() == ["loai_I", "co_te_nan_ma_tuy", "co_te_nan_ma_tuy"]
    assert out["provisional_class"].tolist() == ["loai_I", "loai_III", "loai_III"]
    assert out["rule_set_version"].iloc[0].startswith("3122/2010@2#")


def test_history_names_the_row_with_an_unknown_rule_set(rule_sets):
    frame = pd.DataFrame({"commune_code": ["1", "1"], "period": ["2024", "2025"],
                          "population": [10, 10], "rule_set": [None, "QĐ 1/2099"]})
    with pytest.raises(KeyError, match="row 2, field 'rule_set'"):
        classify_history(frame, rule_sets)


# --- recognitions: the only path to drug-free ------------------------------------------------

def assessed(codes_classes, period="2026"):
    """Classified rows with a given computed class per commune."""
    return pd.DataFrame([{"commune_code": c, "period": period, "computed_class": k,
                          "kind": "classification", "rule_set": "28/2025",
                          "rule_set_version": "28/2025@1#x", "reason": "", "criteria": [],
                          "unverified_fired": [], "lineage_note": None}
                         for c, k in codes_classes])


def recognitions(*rows):
    cols = ["id", "commune_code", "label", "decision_no", "date", "authority", "revoked_on"]
    return pd.DataFrame([dict(zip(cols, r)) for r in rows], columns=cols)


@pytest.fixture(scope="module")
def three(communes):
    return communes[communes["code"].isin(["16744", "16756", "16837"])]


def test_drug_free_comes_only_from_a_recognition(three):
    cl = assessed([("16744", "khong_trong_diem"), ("16756", "khong_trong_diem"),
                   ("16837", "loai_I")])
    recs = recognitions(("R1", "16744", "khong_ma_tuy", "12/QĐ-UBND", "2026-03-02",
                         "UBND tỉnh Nghệ An", None))
    st = commune_status(three, cl, recs, today=TODAY).set_index("commune_code")
    assert st.loc["16744", "status"] == "khong_ma_tuy" and st.loc["16744", "drug_free"]
    assert "12/QĐ-UBND ngày 2026-03-02 (UBND tỉnh Nghệ An)" in st.loc["16744", "recognition"]
    # same data, no recognition: not drug-free, however clean
    assert st.loc["16756", "status"] == "khong_trong_diem" and not st.loc["16756", "drug_free"]
    assert st.loc["16744", "computed_class"] == "khong_trong_diem"


def test_revoked_recognition_no_longer_counts(three):
    cl = assessed([("16744", "loai_III")])
    recs = recognitions(("R1", "16744", "khong_ma_tuy", "12/QĐ", "2025-11-02", "UBND tỉnh",
                         "2026-05-20"))
    st25 = commune_status(three, assessed([("16744", "loai_III")], "2025"), recs, today=TODAY)
    st26 = commune_status(three, cl, recs, today=TODAY)
    assert st25.set_index("commune_code").loc["16744", "status"] == "khong_ma_tuy"
    assert st26.set_index("commune_code").loc["16744", "status"] == "loai_III"
    assert len(recognitions_on(recs, "2026-05-19")) == 1
    assert len(recognitions_on(recs, "2026-05-20")) == 0


def test_sach_ve_ma_tuy_is_kept_apart_from_the_national_label(three):
    cl = assessed([("16756", "loai_III")])
    recs = recognitions(("S1", "16756", "sach_ve_ma_tuy", "88/QĐ-UBND", "2023-04-01",
                         "UBND huyện Quế Phong", None))
    r = commune_status(three, cl, recs, today=TODAY).set_index("commune_code").loc["16756"]
    assert r["sach_ve_ma_tuy"] and not r["drug_free"]
    assert r["status"] == "loai_III" and r["drug_free_label"] == "sach_ve_ma_tuy"


def test_recognised_commune_meeting_class_criteria_is_flagged(three):
    cl = assessed([("16837", "loai_II")])
    recs = recognitions(("R1", "16837", "khong_ma_tuy", "1/QĐ", "2026-01-05", "UBND tỉnh", None))
    r = commune_status(three, cl, recs, today=TODAY).set_index("commune_code").loc["16837"]
    assert r["status"] == "khong_ma_tuy" and "loai_II" in r["warnings"]


def test_commune_without_assessment_is_not_assessed(three):
    st = commune_status(three, assessed([("16837", "loai_I")]), recognitions(), today=TODAY)
    assert st.set_index("commune_code").loc["16744", "status"] == "chua_danh_gia"
    assert len(st) == 3 and st.crs is not None


def test_recognise_and_revoke_check_their_input(communes):
    recs = recognitions(("R1", "16744", "khong_ma_tuy", "1/QĐ", "2026-01-05", "UBND tỉnh", None))
    with pytest.raises(ValueError, match="already holds khong_ma_tuy"):
        recognise(recs, commune_code="16744", label="khong_ma_tuy", decision_no="2/QĐ",
                  on="2026-06-01", authority="UBND tỉnh", communes=communes, today=TODAY)
    with pytest.raises(ValueError, match="unknown commune code"):
        recognise(recs, commune_code="99999", label="khong_ma_tuy", decision_no="2/QĐ",
                  on="2026-06-01", authority="UBND tỉnh", communes=communes, today=TODAY)
    with pytest.raises(ValueError, match="future"):
        recognise(recs, commune_code="16756", label="khong_ma_tuy", decision_no="2/QĐ",
                  on="2027-01-01", authority="UBND tỉnh", communes=communes, today=TODAY)
    new = recognise(recs, commune_code="16756", label="sach_ve_ma_tuy", decision_no="3/QĐ",
                    on="2026-06-01", authority="UBND xã", communes=communes, today=TODAY)
    assert new["id"].iloc[0] == "sach_ve_ma_tuy:16756:2026-06-01"
    with pytest.raises(ValueError, match="before the recognition date"):
        revoke(recs, "R1", "2025-12-31", today=TODAY)
    with pytest.raises(ValueError, match="no recognition"):
        revoke(recs, "R9", "2026-02-01", today=TODAY)
    done = revoke(recs, "R1", "2026-02-01", today=TODAY)
    assert done["revoked_on"].iloc[0] == "2026-02-01"
    with pytest.raises(ValueError, match="already revoked"):
        revoke(done, "R1", "2026-03-01", today=TODAY)


def test_recognitions_of_old_communes_carry_over_when_whole(communes, lineage):
    frame = pd.DataFrame({
        "id": ["r1", "r2", "r3"], "source": ["x"] * 3,
        "commune_code": ["16837", "16843", "16681"], "label": ["sach_ve_ma_tuy"] * 3,
        "decision_no": ["5/QĐ", "6/QĐ", "7/QĐ"], "date": ["2023-02-01", "2023-05-01", "2023-05-01"],
        "authority": ["UBND huyện Kỳ Sơn"] * 2 + ["UBND TP Vinh"], "revoked_on": ["", "", ""]})
    rep = validate_recognitions(frame, communes=communes, lineage=lineage, today=TODAY)
    assert rep.ok
    out = rep.clean.set_index("commune_code")
    assert out.loc["16837", "date"] == "2023-05-01" and "5/QĐ (16837)" in out.loc["16837",
                                                                                   "decision_no"]
    # 16681 Thành Vinh has several former communes; one recognised is not enough
    assert "16681" not in out.index
    assert any(w.code == "lineage_incomplete" and w.value == "16681" for w in rep.warnings)


def test_revocation_before_recognition_is_an_error(communes, lineage):
    frame = pd.DataFrame({"id": ["r1"], "source": ["x"], "commune_code": ["16744"],
                          "label": ["khong_ma_tuy"], "decision_no": ["1/QĐ"],
                          "date": ["2026-01-05"], "authority": ["UBND tỉnh"],
                          "revoked_on": ["2025-12-01"]})
    err = validate_recognitions(frame, communes=communes, lineage=lineage, today=TODAY).errors[0]
    assert (err.row, err.field) == (1, "revoked_on")


# --- the derived layer and the command -------------------------------------------------------

def test_status_layer_round_trips_through_the_store(store, communes, rule_sets):
    frame = pd.DataFrame({"commune_code": ["16837"], "period": ["2026"], "population": [8000],
                          "addicts_with_records": [40], "users": [10],
                          "harbouring_locations": [2], "offenders_arrested": [8], "plants": [0],
                          "plant_area_m2": [0.0], "on_drug_route": [True]})
    cl = classify(frame, find_rule_set(rule_sets, "28/2025"))
    st = commune_status(communes, cl, recognitions(), today=TODAY)
    store.write("commune_status", status_layer(st, run_id="t1"), mode="replace")
    back = store.read("commune_status", where={"commune_code": "16837"})
    assert back["status"].iloc[0] == "loai_I" and back["id"].iloc[0] == "16837:2026"
    crit = json.loads(back["criteria"].iloc[0])
    assert {(c["outcome"], c["id"]): c["fired"] for c in crit}[("loai_I", "c")] is True
    assert store.count("commune_status") == 130


def test_cli_assess_refuses_bad_file_and_status_prints_the_table(store, tmp_path):
    bad = tmp_path / "bad.csv"
    sheet({}, {"commune_code": "16813", "population": "0"}).to_csv(bad, index=False)
    runner = CliRunner()
    res = runner.invoke(main, ["assess", str(bad), "--store", str(store.path)])
    assert res.exit_code == 1 and "row 2, field 'population'" in res.output
    assert "nothing stored" in res.output and store.count("commune_assessments") == 0
    good = tmp_path / "good.csv"
    sheet({"period": "2025", "users": "40", "harbouring_locations": "2",
           "offenders_arrested": "8"},
          {"commune_code": "16843", "period": "2024", "population": "3000"},
          {"commune_code": "16837", "period": "2024", "population": "5000",
           "addicts_with_records": "4"}
          ).to_csv(good, index=False)
    res = runner.invoke(main, ["assess", str(good), "--store", str(store.path)])
    assert res.exit_code == 0, res.output
    assert store.count("commune_assessments") == 2
    res = runner.invoke(main, ["status", "--store", str(store.path), "--today", "2026-11-25"])
    assert res.exit_code == 0, res.output
    line = next(ln for ln in res.output.splitlines() if ln.startswith("16837"))
    # 2024 judged by 3122/2010 (4 addicts: type III only by a placeholder band, so "có tệ
    # nạn", marked †), 2025 by 28/2025 (three class-I criteria)
    assert line.split()[-4:] == ["có", "TNMT†", "loại", "I"]
    assert "ngưỡng tạm chưa kiểm chứng" in res.output and "III.a" not in line
    assert store.count("commune_status") == 260
    res = runner.invoke(main, ["status", "--store", str(store.path), "--period", "2025",
                               "--json", "--no-write"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)
    mine = next(r for r in rows if r["commune_code"] == "16837")
    assert mine["computed_class"] == "loai_I" and isinstance(mine["criteria"], list)


# --- the status run: one implementation, for a role ------------------------------------------

def _assessment_rows(**secret_changes):
    """Two assessments of Nậm Cắn: 2025 restricted (nothing to report), 2026 secret."""
    base = {"source": "CA xã", "commune_code": "16837", "population": 8000,
            "addicts_with_records": 0, "users": 0, "harbouring_locations": 0,
            "offenders_arrested": 0, "plants": 0, "plant_area_m2": 0.0, "on_drug_route": False}
    return pd.DataFrame([
        {**base, "id": "A-2025", "period": "2025", "confidentiality": "restricted"},
        {**base, "id": "A-2026", "period": "2026", "confidentiality": "secret",
         "users": 40, "harbouring_locations": 2, "offenders_arrested": 8, **secret_changes},
    ])


def test_a_status_run_for_analysts_is_not_shaped_by_secret_assessments(store):
    from geo_pcmt.runs import status as status_run
    store.write("commune_assessments", _assessment_rows(), mode="replace")
    params = status_run.StatusParams(today=TODAY)
    result = status_run.run(status_run.read_inputs(store, params), params)
    assert set(result.status["period"]) == {"2025"}  # the secret 2026 row was never read
    # a commune's class is published (criteria stay operational): public, not restricted
    assert set(result.rows["confidentiality"]) == {"public"}
    assert result.params["role"] == "analyst"
    status_run.write(store, result)
    stored = store.read("commune_status")
    assert set(stored["confidentiality"]) == {"public"} and len(stored) == 130


def test_a_status_run_for_admin_marks_its_rows_secret(store):
    from geo_pcmt.runs import status as status_run
    store.write("commune_assessments", _assessment_rows(), mode="replace")
    params = status_run.StatusParams(today=TODAY, role="admin", periods=("2026",))
    result = status_run.run(status_run.read_inputs(store, params, "admin"), params)
    row = result.status.set_index("commune_code").loc["16837"]
    assert row["computed_class"] == "loai_I"
    assert set(result.rows["confidentiality"]) == {"secret"}
    assert json.loads(result.rows["params"].iloc[0])["role"] == "admin"


@pytest.mark.slow  # whole service: the CLI on the sample
def test_cli_status_and_seed_derive_give_the_same_rows(store):
    from geo_pcmt.runs.seed import derive
    store.write("commune_assessments", _assessment_rows(), mode="replace")
    res = CliRunner().invoke(main, ["status", "--store", str(store.path), "--json"])
    assert res.exit_code == 0, res.output
    from_cli = store.read("commune_status").sort_values("id").reset_index(drop=True)
    derive(store)
    from_demo = store.read("commune_status").sort_values("id").reset_index(drop=True)
    cols = ["id", "status", "computed_class", "rule_set_version", "reason", "criteria",
            "confidentiality"]
    assert from_cli[cols].equals(from_demo[cols])
    assert json.loads(from_demo["params"].iloc[0])["role"] == "analyst"


def test_cli_status_for_a_viewer_is_refused(store):
    res = CliRunner().invoke(main, ["status", "--store", str(store.path), "--role", "viewer"])
    assert res.exit_code == 1 and "commune_assessments" in res.output
