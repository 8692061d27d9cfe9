"""Every page and file that shows restricted rows carries the brief's classification mark."""
from __future__ import annotations

import io
import json
import re

import openpyxl
import pytest
from click.testing import CliRunner

from geo_pcmt.cli import main
from geo_pcmt.outputs.map import packing
from tests.test_ogcapi import bearer
from tests.test_patrol_web import _plan, app_config, web_store  # noqa: F401  (fixtures of the patrol pages)


def _config(html: str) -> dict:
    return packing.page_config(html)


@pytest.mark.slow
def test_the_patrol_map_page_carries_the_same_mark_as_its_brief(app):
    plan_id = _plan(app)
    client, head = app.test_client(), bearer(app, "commander")
    brief = client.get(f"/patrol/{plan_id}/brief", headers=head).get_data(as_text=True)
    page = client.get(f"/patrol/{plan_id}/map", headers=head).get_data(as_text=True)
    mark = re.search(r'<div class="secret">([^<]+)</div>', brief).group(1)
    assert mark == "MẬT"
    assert _config(page)["classification"] == "restricted"
    assert f">{mark}</div>" in page  # on screen and in print, without script


def test_a_restricted_xlsx_download_is_marked_and_still_reads_as_a_table(app):
    res = app.test_client().get("/export/retail_points.xlsx", headers=bearer(app, "analyst"))
    assert res.status_code == 200 and "-MAT.xlsx" in res.headers["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(res.data))
    sheet = book.worksheets[0]
    assert sheet.title.startswith("MẬT ")
    assert sheet.oddHeader.center.text == "MẬT" and book.properties.category == "MẬT"
    assert next(sheet.iter_rows(values_only=True))[0] == "id"  # row 1: the column names


@pytest.mark.slow  # over ~0.5 s: out of the quick loop
def test_a_viewers_aggregate_download_is_public_and_unmarked(app):
    client, head = app.test_client(), bearer(app, "viewer")
    res = client.get("/export/retail_points_per_commune.csv", headers=head)
    assert res.status_code == 200
    assert res.headers["Content-Disposition"] == \
        'attachment; filename="retail_points_per_commune.csv"'
    doc = client.get("/export/retail_points_per_commune.geojson", headers=head).get_json(
        force=True)
    assert doc["classification"]["level"] == "public"
    sheet = openpyxl.load_workbook(io.BytesIO(client.get(
        "/export/retail_points_per_commune.xlsx", headers=head).data)).worksheets[0]
    assert not sheet.title.startswith("MẬT") and sheet.oddHeader.center.text is None


def test_cli_export_marks_the_file_by_the_rows_the_role_reads(web_store, tmp_path):
    runner = CliRunner()
    for role, level in (("admin", "secret"), ("analyst", "restricted")):
        out = tmp_path / f"{role}.geojson"
        res = runner.invoke(main, ["export", "retail_points", "--out", str(out), "--role", role,
                                   "--store", str(web_store.path)])
        assert res.exit_code == 0, res.output
        assert json.loads(out.read_text())["classification"]["level"] == level
