"""History across the 2025 reform: old-commune records summed to the 130 new communes."""
from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from geo_pcmt.ingest import boundaries
from geo_pcmt.analysis.lineage import (
    old_code_rows,
    period_bounds,
    reaggregate,
    reaggregate_assessments,
    reaggregate_recognitions,
)

# A small crosswalk with known answers: new N1 = A + B; new N2 = C + half of S; new N3 = D +
# the other half of S (S was split between N2 and N3). N1 keeps A's code, as real merges do.
LINEAGE = pd.DataFrame({
    "old_code": ["A", "B", "C", "S", "S", "D"],
    "old_name": ["Xã A", "Xã B", "Xã C", "Xã S", "Xã S", "Xã D"],
    "new_code": ["A", "A", "N2", "N2", "N3", "N3"],
    "share": ["full", "full", "full", "partial", "partial", "full"],
})


def rows(**cols):
    return pd.DataFrame(cols)


@pytest.fixture(scope="module")
def real_lineage():
    return boundaries.commune_lineage()


def test_counts_are_summed_over_the_former_communes():
    old = rows(commune_code=["A", "B"], period=["2023", "2023"], population=[3000, 2000],
               users=[3, 4], plant_area_m2=[100.0, 25.5])
    out = reaggregate(old, LINEAGE, sum_columns=["population", "users", "plant_area_m2"])
    (r,) = out.to_dict("records")
    assert (r["commune_code"], r["population"], r["users"], r["plant_area_m2"]) == \
        ("A", 5000, 7, 125.5)
    assert r["complete"] and r["old_codes"] == "A;B" and r["members_reported"] == 2


def test_partial_split_is_flagged_and_not_divided():
    old = rows(commune_code=["C", "S", "D"], period=["2024"] * 3, population=[1000, 600, 800],
               users=[1, 6, 2])
    out = reaggregate(old, LINEAGE, sum_columns=["population", "users"]).set_index("commune_code")
    # S is neither halved nor given to one side: both new communes say it is missing
    assert out.loc["N2", "population"] == 1000 and out.loc["N2", "users"] == 1
    assert out.loc["N3", "population"] == 800 and out.loc["N3", "users"] == 2
    assert not out.loc["N2", "complete"] and not out.loc["N3", "complete"]
    assert out.loc["N2", "partial_members"] == "S"
    assert "S Xã S" in out.loc["N2", "lineage_note"] and "partial" in out.loc["N2", "lineage_note"]


def test_missing_former_commune_is_flagged():
    old = rows(commune_code=["A"], period=["2023"], population=[3000], users=[3])
    (r,) = reaggregate(old, LINEAGE, sum_columns=["population", "users"]).to_dict("records")
    assert r["population"] == 3000 and not r["complete"]
    assert r["members_reported"] == 1 and r["members_expected"] == 2
    assert "thiếu số liệu: B" in r["lineage_note"]


def test_a_missing_count_makes_the_sum_unknown_not_smaller():
    old = rows(commune_code=["A", "B"], period=["2023"] * 2, users=[3, np.nan])
    (r,) = reaggregate(old, LINEAGE, sum_columns=["users"]).to_dict("records")
    assert np.isnan(r["users"])


def test_periods_stay_apart_and_route_is_any_of_the_members():
    old = rows(commune_code=["A", "B", "A", "B"], period=["2022", "2022", "2023", "2023"],
               population=[1, 2, 3, 4], on_drug_route=[False, True, False, False])
    out = reaggregate(old, LINEAGE, sum_columns=["population"], any_columns=["on_drug_route"])
    assert out[["period", "population", "on_drug_route"]].values.tolist() == [
        ["2022", 3, True], ["2023", 7, False]]


def test_unknown_old_code_is_an_error():
    with pytest.raises(KeyError, match="ZZ"):
        reaggregate(rows(commune_code=["ZZ"], period=["2023"], users=[1]), LINEAGE,
                    sum_columns=["users"])


def test_hand_computed_example_on_the_real_crosswalk(real_lineage):
    # Xã Nậm Cắn (16837) = old Nậm Cắn (16837) + old Phà Đánh (16843)
    members = sorted(real_lineage.loc[real_lineage["new_code"] == "16837", "old_code"])
    assert members == ["16837", "16843"]
    old = rows(id=["x1", "x2"], source=["CA huyện Kỳ Sơn"] * 2, commune_code=["16837", "16843"],
               period=["2023", "2023"], population=[4100, 2900], addicts_with_records=[12, 5],
               users=[3, 1], harbouring_locations=[1, 0], offenders_arrested=[4, 2],
               plants=[0, 900], plant_area_m2=[0.0, 45.0], on_drug_route=[True, False],
               rule_set=["3122/2010"] * 2)
    (r,) = reaggregate_assessments(old, real_lineage).to_dict("records")
    assert r["id"] == "16837:2023:gop" and r["commune_code"] == "16837"
    assert (r["population"], r["addicts_with_records"], r["users"], r["harbouring_locations"],
            r["offenders_arrested"], r["plants"], r["plant_area_m2"]) == \
        (7000, 17, 4, 1, 6, 900, 45.0)
    assert r["on_drug_route"] is True and r["rule_set"] == "3122/2010" and r["complete"]
    assert r["source"].startswith("CA huyện Kỳ Sơn | lineage: gộp từ xã cũ 16837, 16843 (2/2)")


def test_real_split_commune_hoa_son_flags_both_new_communes(real_lineage):
    # 17647 Hòa Sơn went partly to 17357 Vĩnh Tường and partly to 17677 Văn Hiến
    old = rows(id=["h", "t"], source=["x", "x"], commune_code=["17647", "17356"],
               period=["2024", "2024"], population=[5000, 4000], users=[9, 1])
    out = reaggregate_assessments(old, real_lineage).set_index("commune_code")
    assert list(out.index) == ["17357"]  # 17677 received only part of Hòa Sơn: nothing to sum
    assert out.loc["17357", "population"] == 4000 and not out.loc["17357", "complete"]
    assert "17647" in out.loc["17357", "lineage_note"]


def test_old_codes_are_recognised_per_period(real_lineage):
    frame = rows(commune_code=["16843", "16837", "16837", "16681", "16837"],
                 period=["2023", "2023", "2024", "2024", "2025-09"])
    old = old_code_rows(frame, real_lineage)
    # 2023 uses 16843 (gone since the reform), so the whole 2023 file is in old codes;
    # 2024 has only codes that are also new; a period after the reform never is old
    assert old.tolist() == [True, True, False, False, False]
    assert old_code_rows(frame, real_lineage, codes="pre2025").tolist() == \
        [True, True, True, True, False]
    assert not old_code_rows(frame, real_lineage, codes="2025").any()


def test_period_bounds():
    assert period_bounds("2024") == (date(2024, 1, 1), date(2024, 12, 31))
    assert period_bounds("2024-02") == (date(2024, 2, 1), date(2024, 2, 29))
    for bad in ("24", "2024-13", "2024-1", "2024/06", "năm 2024", "2024-06-01"):
        with pytest.raises(ValueError, match="period"):
            period_bounds(bad)


def rec(code, date_, revoked=None, label="sach_ve_ma_tuy", no="1/QĐ"):
    return {"id": f"{code}-{date_}", "commune_code": code, "label": label, "decision_no": no,
            "date": date_, "authority": "UBND huyện", "revoked_on": revoked}


def test_new_commune_is_recognised_from_the_day_its_last_member_was():
    recs = pd.DataFrame([rec("A", "2022-05-01", no="10/QĐ"), rec("B", "2023-03-15", no="22/QĐ")])
    (r,) = reaggregate_recognitions(recs, LINEAGE).to_dict("records")
    assert r["complete"] and r["commune_code"] == "A" and r["date"] == "2023-03-15"
    assert r["revoked_on"] is None
    assert r["decision_no"] == "10/QĐ (A); 22/QĐ (B)"


def test_revoking_one_member_ends_the_new_communes_recognition():
    recs = pd.DataFrame([rec("A", "2022-05-01"), rec("B", "2023-03-15", revoked="2024-05-20")])
    (r,) = reaggregate_recognitions(recs, LINEAGE).to_dict("records")
    assert (r["date"], r["revoked_on"]) == ("2023-03-15", "2024-05-20")


def test_members_never_recognised_together_give_no_recognition():
    recs = pd.DataFrame([rec("A", "2022-05-01", revoked="2022-12-31"), rec("B", "2023-03-15")])
    (r,) = reaggregate_recognitions(recs, LINEAGE).to_dict("records")
    assert not r["complete"] and "không trùng" in r["lineage_note"]


def test_partly_recognised_new_commune_is_reported_not_guessed():
    # N2 = C + part of S: C alone is not enough, the split commune counts too
    recs = pd.DataFrame([rec("C", "2022-05-01")])
    (r,) = reaggregate_recognitions(recs, LINEAGE).to_dict("records")
    assert r["commune_code"] == "N2" and not r["complete"]
    assert (r["members_recognised"], r["members_total"]) == (1, 2) and "S" in r["lineage_note"]
    both = pd.DataFrame([rec("C", "2022-05-01"), rec("S", "2022-06-01"), rec("D", "2022-07-01")])
    out = reaggregate_recognitions(both, LINEAGE).set_index("commune_code")
    assert out.loc["N2", "complete"] and out.loc["N2", "date"] == "2022-06-01"
    assert out.loc["N3", "complete"] and out.loc["N3", "date"] == "2022-07-01"


def test_labels_are_carried_over_separately():
    recs = pd.DataFrame([rec("A", "2022-05-01"), rec("B", "2022-06-01"),
                         rec("A", "2022-07-01", label="khong_ma_tuy")])
    out = reaggregate_recognitions(recs, LINEAGE).set_index("label")
    assert out.loc["sach_ve_ma_tuy", "complete"]
    assert not out.loc["khong_ma_tuy", "complete"]
