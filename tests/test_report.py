"""`geo-pcmt report`: the province's report tables, checked against the store's own rows."""
from __future__ import annotations

import shutil
from datetime import date

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner

from geo_pcmt.access import AccessDenied
from geo_pcmt.analysis import report_tables as rt
from geo_pcmt.cli import main
from geo_pcmt.runs import report as report_run
from geo_pcmt.runs.seed import load_boundaries, load_sample
from geo_pcmt.store.gpkg import GeoPackageStore


def test_periods_and_their_same_period_last_year():
    m = rt.period("month", "2025-02")
    assert (m.start, m.end, m.prev_start, m.prev_end) == (
        date(2025, 2, 1), date(2025, 2, 28), date(2024, 2, 1), date(2024, 2, 29))
    a = rt.period("action_month", "2023")
    assert (a.start, a.end) == (date(2023, 6, 1), date(2023, 6, 30))
    assert "Tháng hành động" in a.title_vi
    assert rt.period("year", "2025").prev_end == date(2024, 12, 31)
    with pytest.raises(ValueError, match="2025Q2"):
        rt.period("quarter", "2025-2")


def test_force_is_read_from_the_arresting_unit():
    assert rt.force_of("Đồn BP CKQT Nậm Cắn") == "bien_phong"
    assert rt.force_of("Bộ Chỉ huy Bộ đội Biên phòng tỉnh") == "bien_phong"
    assert rt.force_of("Chi cục Hải quan cửa khẩu Nậm Cắn") == "hai_quan"
    assert rt.force_of("Công an huyện Kỳ Sơn") == "cong_an"


@pytest.fixture(scope="module")
def sample_store(tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / "s.gpkg"
    store = GeoPackageStore(str(path))
    load_boundaries(store)
    load_sample(store)
    yield store
    store.close()


@pytest.fixture(scope="module")
def year_report(sample_store):
    params = report_run.ReportParams("year", "2025", number="12", on=date(2026, 1, 15))
    return report_run.run(report_run.read_inputs(sample_store, params), params)


def _cases(store) -> pd.DataFrame:
    """The cases as stored, read straight from the file (independent of the report code)."""
    frame = gpd.read_file(store.path, layer="cases")
    frame["date"] = pd.to_datetime(frame["date"]).dt.date
    frame["force"] = ["bien_phong" if u.startswith("Đồn BP") else "cong_an"
                      for u in frame["unit"].fillna("")]
    return frame


@pytest.mark.slow  # over ~0.5 s: out of the quick loop
def test_every_table_is_filled_and_numbered(year_report):
    tables = year_report.tables()
    assert [t.number for t in tables] == list(range(1, len(tables) + 1))
    empty = [t.title for t in tables if not len(t.rows) and "chưa được công nhận" not in t.title]
    assert not empty
    assert year_report.marking == "MẬT"  # restricted case rows went into it
    assert year_report.number == "Số: 12/BC-UBND"


def test_cases_by_force_and_its_change_match_pandas_on_the_stored_rows(sample_store,
                                                                       year_report):
    cases = _cases(sample_store)
    def sums(lo, hi):
        rows = cases[(cases["date"] >= lo) & (cases["date"] <= hi)]
        return rows.groupby("force")["offenders"].agg(["size", "sum"])
    now = sums(date(2025, 1, 1), date(2025, 12, 31))
    before = sums(date(2024, 1, 1), date(2024, 12, 31))
    table = year_report.tables()[0].rows.set_index("label")
    police = table.loc["Công an"]
    assert police["cases"] == now.loc["cong_an", "size"] > 0
    assert police["offenders"] == now.loc["cong_an", "sum"]
    assert police["prev_cases"] == before.loc["cong_an", "size"]
    expected = round(100 * (now.loc["cong_an", "size"] - before.loc["cong_an", "size"])
                     / before.loc["cong_an", "size"], 1)
    assert police["change_cases"] == expected
    assert table.loc["Bộ đội Biên phòng", "cases"] == now.loc["bien_phong", "size"]
    total = table.loc["Tổng cộng"]
    assert total["cases"] == now["size"].sum() and total["prev_cases"] == before["size"].sum()


def test_totals_equal_the_sum_of_their_communes(year_report):
    annex = year_report.annex[0].rows
    body, total = annex.iloc[:-1], annex.iloc[-1]
    assert len(body) == 130
    for col in ("cases", "offenders", "prev_cases", "addicts", "in_treatment"):
        assert total[col] == body[col].sum()
    by_force = year_report.tables()[0].rows.iloc[-1]
    assert total["cases"] == by_force["cases"]  # every case lies in one commune
    old = year_report.annex[1].rows
    assert old.iloc[-1]["cases"] == total["cases"] == old.iloc[:-1]["cases"].sum()
    assert old.iloc[-1]["old_communes"] == 412
    counts = year_report.sections[2].tables[0].rows
    assert counts.iloc[-1]["n"] == 130 == counts.iloc[:-1]["n"].sum()


def test_seizures_match_the_stored_rows(sample_store, year_report):
    cases = _cases(sample_store)
    now = cases[(cases["date"] >= date(2025, 1, 1)) & (cases["date"] <= date(2025, 12, 31))]
    seized = year_report.sections[0].tables[2].rows.set_index("label")
    assert seized.loc["Heroin", "now"] == pytest.approx(now["heroin_g"].sum(), abs=1e-3)
    assert seized.loc["Ma túy tổng hợp", "now"] == now["meth_pills"].sum()


def test_a_viewer_cannot_make_the_report(sample_store):
    params = report_run.ReportParams("year", "2025", role="viewer")
    with pytest.raises(AccessDenied):
        report_run.read_inputs(sample_store, params)


@pytest.mark.slow  # over ~0.5 s: out of the quick loop
def test_docx_reads_like_an_administrative_report_in_vietnamese(sample_store, year_report,
                                                                tmp_path):
    from docx import Document
    from geo_pcmt.outputs.report_docx import write_docx
    doc = Document(str(write_docx(year_report, tmp_path / "r.docx")))
    text = "\n".join(p.text for p in doc.paragraphs)
    cells = "\n".join(c.text for t in doc.tables for r in t.rows for c in r.cells)
    assert "MẬT" in text and "Nghệ An, ngày 15 tháng 01 năm 2026" in text
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in cells and "Số: 12/BC-UBND" in cells
    total = year_report.tables()[0].rows.iloc[-1]["cases"]
    assert f"{total // 1000}.{total % 1000:03d}" in cells  # thousands dot
    assert "Biểu 1." in text and f"Phụ lục {year_report.annex[0].number}." in text
    assert "Chuyên án đấu tranh thành công" in cells
    assert "TM. ỦY BAN NHÂN DÂN" in cells and "Nơi nhận:" in cells
    # the signature closes the body; the annex follows it
    assert text.index("PHỤ LỤC") > text.index("BÁO CÁO")
    assert "shared/sources" not in text + cells and "DOMAIN" not in text + cells
    for code in ("loai_I", "co_te_nan", "khong_trong_diem", "cong_an", "16837", "CA-0"):
        assert code not in text + cells, code


def test_xlsx_has_one_sheet_per_table_with_numbers_as_numbers(year_report, tmp_path):
    from openpyxl import load_workbook
    from geo_pcmt.outputs.report_xlsx import write_xlsx
    wb = load_workbook(write_xlsx(year_report, str(tmp_path / "r.xlsx")))
    assert len(wb.sheetnames) == len(year_report.tables())
    ws = wb[f"PL {year_report.annex[0].number}"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[1][1] == "Xã, phường" and isinstance(rows[-2][3], int)


@pytest.mark.slow  # over ~0.5 s: out of the quick loop
def test_cli_writes_month_quarter_and_action_month_reports(sample_store, tmp_path):
    runner = CliRunner()
    for opt, val in (("--month", "2025-03"), ("--quarter", "2025Q2"),
                     ("--action-month", "2025")):
        out = tmp_path / f"r{opt}.docx"
        res = runner.invoke(main, ["report", opt, val, "-o", str(out), "--store",
                                   str(sample_store.path)])
        assert res.exit_code == 0, res.output
        assert out.stat().st_size > 10_000
    res = runner.invoke(main, ["report", "--year", "2025", "--month", "2025-01", "-o",
                               str(tmp_path / "x.docx"), "--store", str(sample_store.path)])
    assert res.exit_code != 0 and "exactly one" in res.output


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Chromium for PDF")
def test_pdf_is_printed_from_the_same_content(year_report, tmp_path):
    from geo_pcmt.outputs.report_html import write_pdf
    path = write_pdf(year_report, tmp_path / "r.pdf")
    assert path.read_bytes()[:4] == b"%PDF"


@pytest.fixture(scope="module")
def report_app(sample_store, tmp_path_factory):
    from tests.test_ogcapi import make_app
    return make_app(sample_store, tmp_path_factory.mktemp("report_web"))


@pytest.mark.parametrize("role, status", [(None, 401), ("viewer", 403), ("analyst", 200)])
def test_the_report_form_is_for_analysts(report_app, role, status):
    from tests.test_ogcapi import bearer
    res = report_app.test_client().get("/reports/", headers=bearer(report_app, role))
    assert res.status_code == status


@pytest.mark.slow  # over ~0.5 s: out of the quick loop
def test_the_web_download_is_the_same_report_and_is_audited(report_app, tmp_path):
    from openpyxl import load_workbook
    from tests.test_ogcapi import bearer
    client = report_app.test_client()
    res = client.get("/reports/download?kind=quarter&value=2025Q2&format=xlsx",
                     headers=bearer(report_app, "analyst"))
    assert res.status_code == 200 and "attachment" in res.headers["Content-Disposition"]
    (tmp_path / "r.xlsx").write_bytes(res.data)
    wb = load_workbook(tmp_path / "r.xlsx")
    assert "quý II năm 2025" in wb["Bieu 1"]["A7"].value and wb["Bieu 1"]["A1"].value == "MẬT"
    bad = client.get("/reports/download?kind=quarter&value=2025-2&format=docx",
                     headers=bearer(report_app, "analyst"))
    assert bad.status_code == 400
    log = report_app.extensions["geo_pcmt_store"].read("audit_log", where={"action": "report"})
    assert len(log) == 1 and "2025Q2" in str(log.iloc[0]["detail"])


def test_major_cases_points_eliminated_and_opium_destroyed_match_the_stored_rows(
        sample_store, year_report):
    from geo_pcmt.access import read
    table = year_report.sections[0].tables[-1]
    assert "chuyên án" in table.title
    rows = table.rows.set_index("unit")
    points = read(sample_store, "retail_points", role="analyst")
    cleared = pd.to_datetime(points["cleared_on"], errors="coerce")
    assert rows.loc["điểm", "now"] == int((cleared.dt.year == 2025).sum())
    assert rows.loc["điểm", "before"] == int((cleared.dt.year == 2024).sum())
    plots = read(sample_store, "opium_plots", role="analyst")
    done = pd.to_datetime(plots["eradicated_on"], errors="coerce").dt.year == 2025
    assert rows.loc["nương", "now"] == int(done.sum()) > 0
    assert rows.loc["m²", "now"] == round(plots.loc[done, "area_m2"].sum())
    cases = read(sample_store, "cases", role="analyst")
    in_year = pd.to_datetime(cases["date"].astype(str).str[:10]).dt.year == 2025
    refs = cases.loc[in_year, "major_case"].dropna().astype(str).str.strip()
    assert rows.loc["chuyên án", "now"] == refs[refs != ""].nunique() > 50


def test_a_major_case_counts_once_however_many_of_its_cases_fall_in_the_period():
    from geo_pcmt.analysis import report_tables as rt
    cases = pd.DataFrame({"date": ["2025-03-01", "2025-03-09", "2025-07-02", "2024-05-05",
                                   "2025-08-01"],
                          "major_case": ["CA-01", "CA-01", "CA-02", "CA-09", None],
                          "offenders": [1, 2, 1, 1, 1], "unit": ["Công an"] * 5,
                          "kind": ["trafficking"] * 5})
    points = pd.DataFrame({"cleared_on": ["2025-01-05", None, "2024-12-31"]})
    plots = pd.DataFrame({"eradicated_on": ["2025-02-01", "2025-02-03", "2024-01-01"],
                          "area_m2": [1200.4, 300.2, 50.0], "plant_count": [5000, 1000, 10]})
    table = rt.enforcement_results(cases, points, plots, rt.period("year", "2025"))
    rows = table.rows.set_index("unit")
    assert rows.loc["chuyên án", ["now", "before"]].tolist() == [2, 1]
    assert rows.loc["điểm", ["now", "before"]].tolist() == [1, 1]
    assert rows.loc["nương", ["now", "before"]].tolist() == [2, 1]
    assert rows.loc["m²", "now"] == 1501 and rows.loc["cây", "now"] == 6000
    assert rows.loc["chuyên án", "change"] == 100.0
