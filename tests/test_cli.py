"""The geo-pcmt command line: exit codes, one line per problem, --json, nothing stored on error."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from geo_pcmt.cli import main
from geo_pcmt.store import GeoPackageStore

BAD = ("id,type,name,lon,lat,first_seen,status,source\n"
       "A1,diem_ban_le,Nhà ông Vi Văn Páo,104.17,19.41,2024-03-01,active,s\n"
       "A2,diem_ban_le,x,19.41,104.17,2024-03-01,active,s\n")


def _run(*args, store=None):
    env = {"GEO_PCMT_STORE": str(store)} if store else {}
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_help_lists_every_foundation_command():
    out = _run("--help").output
    for cmd in ("init", "load", "validate", "demo", "export", "serve"):
        assert re.search(rf"^\s+{cmd}\b", out, re.M), cmd


def test_validate_prints_one_line_per_problem_and_exits_1(tmp_path):
    f = tmp_path / "p.csv"
    f.write_text(BAD, encoding="utf-8")
    res = _run("validate", "retail_points", str(f))
    assert res.exit_code == 1
    assert "error: row 2, field 'lat': looks like longitude" in res.output
    res = _run("validate", "retail_points", str(f), "--fix-swapped", "--json")
    assert res.exit_code == 0 and json.loads(res.output)["rows_valid"] == 2


def test_load_stores_nothing_on_error_then_keep_valid_stores_the_good_rows(tmp_path):
    db = tmp_path / "s.gpkg"
    assert _run("init", store=db).exit_code == 0
    f = tmp_path / "p.csv"
    f.write_text(BAD, encoding="utf-8")
    res = _run("load", "retail_points", str(f), store=db)
    assert res.exit_code == 1 and "nothing stored" in res.output
    assert GeoPackageStore(db).count("retail_points") == 0
    res = _run("load", "retail_points", str(f), "--keep-valid", store=db)
    assert res.exit_code == 0 and "1 new" in res.output
    assert GeoPackageStore(db).read("retail_points")["name"].iloc[0] == "Nhà ông Vi Văn Páo"


def test_unknown_layer_is_a_usage_error():
    res = _run("validate", "drug_points", "x.csv")
    assert res.exit_code == 2 and "unknown layer 'drug_points'" in res.output


def test_unreadable_file_is_one_clear_line(tmp_path):
    f = tmp_path / "p.docx"
    f.write_text("x")
    res = _run("validate", "retail_points", str(f))
    assert res.exit_code == 1 and "unsupported file type '.docx'" in res.output


@pytest.mark.slow  # whole service: demo on the sample, then export
def test_demo_then_export_geojson(tmp_path, monkeypatch):
    db = tmp_path / "demo.gpkg"
    res = _run("demo", store=db)
    assert res.exit_code == 0, res.output
    assert "communes" in res.output and "demo store ready" in res.output
    monkeypatch.chdir(tmp_path)
    res = _run("export", "communes", "--format", "geojson", store=db)
    assert res.exit_code == 0 and "130 features" in res.output
    doc = json.loads(Path(tmp_path / "communes.geojson").read_text(encoding="utf-8"))
    assert len(doc["features"]) == 130
    log = GeoPackageStore(db).read("audit_log")
    assert "export" in set(log["action"])


@pytest.mark.slow  # whole service: demo on the sample
def test_demo_runs_for_analysts_and_marks_derived_rows_with_the_inputs_confidentiality(tmp_path):
    db = tmp_path / "demo.gpkg"
    assert _run("demo", store=db).exit_code == 0
    store = GeoPackageStore(db)
    expected = {"commune_status": "public",  # a commune's class is published
                "hotspot_clusters": "restricted", "complex_hotspots": "restricted"}
    for layer, level in expected.items():
        rows = store.read(layer)
        assert len(rows) and set(rows["confidentiality"]) == {level}, layer
        assert json.loads(rows["params"].iloc[0])["role"] == "analyst", layer
