"""Treatment indicators per commune and year, against Plan 180's targets; the sample layer."""
from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from geo_pcmt.analysis import treatment
from geo_pcmt.cli import main
from geo_pcmt.ingest.sample_files import read
from geo_pcmt.runs.seed import load_sample


def counts(**changes) -> dict:
    row = {"id": "T1", "source": "test", "commune_code": "16837", "year": 2025,
           "addicts_with_records": 100, "users": 10, "compulsory_treatment": 40,
           "voluntary_treatment": 10, "community_treatment": 30, "post_treatment": 5,
           "on_methadone": 6, "vocational_trained": 12}
    row.update(changes)
    return row


def test_province_indicators_are_sums_over_communes_against_plan_180():
    frame = pd.DataFrame([counts(), counts(id="T2", commune_code="16813", addicts_with_records=50,
                                           compulsory_treatment=10, voluntary_treatment=0,
                                           community_treatment=10, on_methadone=4,
                                           vocational_trained=2)])
    prov = treatment.province(frame, treatment.load_targets(), year=2025).set_index("indicator")
    # reach: (40+10+30+6 + 10+0+10+4) / 150 = 110 / 150
    assert prov.loc["reach", ["numerator", "denominator"]].tolist() == [110, 150]
    assert prov.loc["reach", "value_pct"] == 73.3 and not prov.loc["reach", "met"]
    assert prov.loc["reach", "target_pct"] == 76 and "180/KH-UBND" in prov.loc["reach", "source"]
    # voluntary: (10+30 + 0+10) / (80 + 20) = 50 %  ≥ 40 %
    assert prov.loc["voluntary", "value_pct"] == 50.0 and prov.loc["voluntary", "met"]
    assert prov.loc["vocational", "value_pct"] == round(100 * 14 / 40, 1)


def test_counts_over_the_addicts_are_flagged_by_commune():
    frame = pd.DataFrame([counts(compulsory_treatment=99)])
    out = treatment.per_commune(frame, treatment.load_targets(), year=2025)
    assert "cần kiểm tra" in out["warnings"].iloc[0]


def test_targets_file_holds_the_drug_free_shares_with_their_source():
    t = treatment.load_targets()
    df = t.drug_free.set_index("year")
    assert df.loc[2026, "share_drug_free"] == 0.3 and "107/KH-UBND" in df.loc[2026, "basis"]
    assert df.loc[2030, "share_drug_free"] == 0.5 and "1154/KH-UBND" in df.loc[2030, "basis"]


def test_a_targets_file_with_an_unknown_field_is_refused(tmp_path):
    bad = tmp_path / "t.yaml"
    bad.write_text("treatment:\n  - {id: x, year: 2022, target_pct: 5, numerator: [addicts],"
                   " denominator: [users], source: s}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="treatment entry 1 .x.: unknown field.*addicts"):
        treatment.load_targets(bad)


def test_sample_treatment_matches_the_assessments_and_is_counts_only():
    frames = read()
    t, a = frames["treatment"], frames["commune_assessments"]
    assert len(t) == len(a) == 650
    merged = t.merge(a, left_on=["commune_code", t["year"].astype(str)],
                     right_on=["commune_code", "period"], suffixes=("", "_a"))
    assert (merged["addicts_with_records"] == merged["addicts_with_records_a"]).all()
    in_t = t[list(treatment.IN_TREATMENT) + ["on_methadone"]].sum(axis=1)
    assert (in_t <= t["addicts_with_records"]).all()
    assert t["source"].str.contains("SYNTHETIC").all()
    assert t.groupby("year")["addicts_with_records"].sum()[2023] == 3934  # Report 564: 3,935


@pytest.mark.slow  # over ~0.5 s: out of the quick loop
def test_cli_treatment_prints_totals_targets_and_last_year(store, tmp_path):
    load_sample(store, frames={k: v for k, v in read().items()
                               if k in ("treatment", "recognitions")})
    runner = CliRunner()
    res = runner.invoke(main, ["treatment", "--year", "2025", "--store", str(store.path),
                               "--today", "2026-01-10", "--csv", str(tmp_path / "t.csv")])
    assert res.exit_code == 0, res.output
    assert "Người nghiện có hồ sơ quản lý       3.433  3.681  -6,7 %" in res.output
    assert "Kế hoạch 180/KH-UBND" in res.output and "76 %" in res.output
    head = (tmp_path / "t.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    assert "Mã xã" in head and "Tiếp cận điều trị (%)" in head and "commune_code" not in head
    data = json.loads(runner.invoke(main, ["treatment", "--year", "2025", "--json", "--store",
                                           str(store.path)]).output)
    assert data["totals"]["addicts_with_records"] == sum(
        c["addicts_with_records"] for c in data["communes"])
    res = runner.invoke(main, ["treatment", "--year", "2019", "--store", str(store.path)])
    assert res.exit_code == 1 and "no treatment counts for 2019" in res.output
