"""The printable map: views, paper options, the PDF through Chromium, the patrol plan's map page,
and — in a real browser — the print layouts, labels and the headline agreeing with the colours."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from geo_pcmt.ingest import boundaries
from geo_pcmt.outputs import map as mapping
from geo_pcmt.outputs.map.views import view_bounds, view_name
from tests.test_map_browser import CHROMIUM, Chromium, map_frames  # noqa: F401 (fixture)
from tests.test_patrol_web import _plan, app_config, web_store  # noqa: F401 (fixtures of the patrol pages)
from tests.test_ogcapi import bearer

DOCS = Path(__file__).resolve().parents[1] / "docs"
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="!!! CHROMIUM NOT INSTALLED !!!")


# ---------------------------------------------------------------- views and options

def test_border_view_covers_the_border_communes_and_is_smaller_than_the_province():
    communes = boundaries.communes()
    (s, w), (n, e) = view_bounds("border", communes)
    (ps, pw), (pn, pe) = view_bounds("province", communes)
    assert pw <= w < e <= pe and ps <= s < n <= pn
    assert (e - w) * (n - s) < (pe - pw) * (pn - ps)
    border = communes[communes["is_border"].astype(bool)]
    minx, miny, maxx, maxy = border.total_bounds
    assert (w, s, e, n) == pytest.approx((minx, miny, maxx, maxy), abs=1e-4)


def test_commune_and_post_views_name_what_they_show_and_refuse_unknown_ones():
    communes = boundaries.communes()
    code, name = str(communes["code"].iloc[0]), str(communes["name"].iloc[0])
    assert view_name(f"commune:{code}", communes) == name
    with pytest.raises(mapping.MapInputError, match="no commune with GSO code '99999'"):
        view_bounds("commune:99999", communes)
    import geopandas as gpd
    import shapely
    posts = gpd.GeoDataFrame({"name": ["Đồn BP Keng Đu"]},
                             geometry=[shapely.Point(104.14, 19.36)], crs=4326)
    (s, w), (n, e) = view_bounds("post:don bp keng du", communes, posts)  # as typed, no accents
    assert w < 104.14 < e and s < 19.36 < n and 0.15 < e - w < 0.4  # 12 km around the post
    assert view_name("post:DON BP KENG DU", communes, posts) == "Đồn BP Keng Đu"
    with pytest.raises(mapping.MapInputError, match="posts: Đồn BP Keng Đu"):
        view_bounds("post:Mỹ Lý", communes, posts)


@pytest.mark.parametrize("query, message", [
    ({"paper": "A5"}, "paper='A5'"), ({"orientation": "upside"}, "orientation='upside'"),
    ({"view": "district:1"}, "view='district:1'"), ({"view": "commune:"}, "view='commune:'")])
def test_bad_print_options_are_refused_with_the_value(query, message):
    with pytest.raises(mapping.MapInputError, match=re.escape(message)):
        mapping.MapOptions.from_query({"print": "1", **query})


def test_print_options_reach_the_page():
    opts = mapping.MapOptions.from_query({"print": "1", "paper": "a3", "orientation": "portrait",
                                          "view": "border"})
    assert (opts.paper, opts.orientation, opts.view, opts.print_view) == ("A3", "portrait",
                                                                          "border", True)
    page = mapping.render_html(mapping.build({"communes": boundaries.communes()}, options=opts))
    assert '"paper":"A3"' in page and '"orientation":"portrait"' in page
    assert '"view":"border"' in page


# ---------------------------------------------------------------- the patrol plan's map page

@pytest.mark.slow  # over ~0.5 s: out of the quick loop
def test_the_patrol_map_numbers_the_stops_colours_the_communes_and_shows_the_teams(app):  # noqa: F811
    plan_id = _plan(app)
    client = app.test_client()
    head = bearer(app, "commander")
    plan = client.get(f"/patrol/{plan_id}", headers=head).get_json()
    page = client.get(f"/patrol/{plan_id}/map", headers=head).text
    teams = [t for t in plan["report"]["teams"] if t["n_stops"]]
    n_stops = sum(t["n_stops"] for t in teams)
    numbers = re.findall(r'class=\\"gp-stop\\" style=\\"background:#[0-9a-f]{6}\\"\\u003e(\d+)\\u003c', page)
    assert len(numbers) == n_stops and "1" in numbers
    assert 'class="gp-teams"' in page
    for t in teams:
        assert f"Tổ {int(t['team'])}: {t['n_stops']} điểm dừng" in page
    by_year = re.search(r'"byYear":(\{.*?\}\}),"statusDetails"', page)
    assert by_year and re.search(r'"(loai_I{1,3}|khong_ma_tuy|sach_ve_ma_tuy)"', by_year.group(1))
    assert 'class="gp-marking' in page  # the plan's classification mark


# ---------------------------------------------------------------- the PDF

@pytest.mark.slow
@needs_chromium
def test_geo_pcmt_map_pdf_prints_an_a4_portrait_page_through_chromium(tmp_path, monkeypatch):
    from geo_pcmt.cli.map import map_command
    from geo_pcmt.store import open_store
    store = open_store(str(tmp_path / "s.gpkg"))
    store.write("communes", boundaries.communes(), mode="replace", user="test")
    out = tmp_path / "ban-do.html"
    res = CliRunner().invoke(map_command, ["--store", str(tmp_path / "s.gpkg"), "--pdf",
                                           "--paper", "A4", "--orientation", "portrait",
                                           "--view", "border", "--out", str(out)])
    assert res.exit_code == 0, res.output
    pdf = out.with_suffix(".pdf")
    assert pdf.read_bytes()[:5] == b"%PDF-"
    if shutil.which("pdfinfo"):
        info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
        assert "Pages:          1" in info or re.search(r"Pages:\s+1\b", info)
        w, h = map(float, re.search(r"Page size:\s+([\d.]+) x ([\d.]+)", info).groups())
        assert (round(w), round(h)) == (595, 842)  # A4 portrait, in points
    bad = CliRunner().invoke(map_command, ["--store", str(tmp_path / "s.gpkg"), "--pdf",
                                           "--view", "commune:99999", "--out", str(out)])
    assert bad.exit_code == 2 and "99999" in bad.output


# ---------------------------------------------------------------- in the browser

CONTROLS = (".leaflet-control-zoom", ".leaflet-control-layers", ".leaflet-control-fullscreen",
            ".gp-slider", ".gp-tools", ".gp-year", "[data-act=lang]", "[data-act=print]",
            "[data-act=toggle]")
SHOWN = "(sel => Array.from(document.querySelectorAll(sel)).filter(e => e.getClientRects().length" \
        " && getComputedStyle(e).visibility !== 'hidden').length)"
BOXES = """(() => {
  const m = geoPcmtMap.map, r = m.getContainer().getBoundingClientRect();
  const b = geoPcmtMap.provinceBounds();
  const nw = m.latLngToContainerPoint(b.getNorthWest()), se = m.latLngToContainerPoint(b.getSouthEast());
  const box = e => { const q = document.querySelector(e).getBoundingClientRect();
                     return [q.left, q.top, q.right, q.bottom]; };
  return {province: [r.left + nw.x, r.top + nw.y, r.left + se.x, r.top + se.y],
          frame: [r.left, r.top, r.right, r.bottom],
          legend: box('.gp-legend'), panel: box('.gp-panel'), title: box('.gp-titleblock')};
})()"""


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@pytest.mark.slow
@needs_chromium
@pytest.mark.parametrize("paper, orientation, view", [("A4", "landscape", "province"),
                                                      ("A4", "portrait", "border"),
                                                      ("A3", "landscape", "province")])
def test_print_layout_keeps_legend_panel_and_title_off_the_province_and_hides_controls(
        map_frames, tmp_path, paper, orientation, view):  # noqa: F811
    m = mapping.build(map_frames, role="analyst", options=mapping.MapOptions(
        print_view=True, paper=paper, orientation=orientation, view=view,
        unit="Bộ Chỉ huy BĐBP tỉnh Nghệ An"))
    path = mapping.save(m, tmp_path / "print.html", standalone=True, base_url="/static/vendor")
    with Chromium(1700, 1300) as b:
        b.open(path.as_uri())
        for media in ("screen", "print"):
            b.send("Emulation.setEmulatedMedia", {"media": media})
            boxes = b.evaluate(BOXES)
            for part in ("legend", "panel", "title"):
                assert not _overlap(boxes[part], boxes["frame"]), (media, part, boxes)
            # the view fills the frame: the province (or the border strip) touches two sides
            p, f = boxes["province"], boxes["frame"]
            if view == "province":
                assert p[0] >= f[0] - 1 and p[2] <= f[2] + 1 and p[1] >= f[1] - 1 and p[3] <= f[3] + 1
                fill = max((p[2] - p[0]) / (f[2] - f[0]), (p[3] - p[1]) / (f[3] - f[1]))
                assert fill > 0.95, boxes
            for sel in CONTROLS:
                assert b.evaluate(f"{SHOWN}({sel!r})") == 0, (media, sel)
        assert b.evaluate("getComputedStyle(document.querySelector('.gp-marking')).display") != "none"
        title = b.evaluate("document.querySelector('.gp-titleblock').innerText")
        assert "BỘ CHỈ HUY BĐBP TỈNH NGHỆ AN" in title.upper() and "Tỷ lệ ≈ 1 : " in title
        assert re.search(r"Lập ngày \d\d/\d\d/\d{4}", title)
        assert b.console_errors() == []


@pytest.mark.slow
@needs_chromium
def test_headline_count_equals_communes_drawn_drug_free_each_year(map_frames):  # noqa: F811
    import pandas as pd
    frames = dict(map_frames)
    communes = frames["communes"]
    codes = communes["code"].astype(str).tolist()
    # computed classes that disagree with the labels in force: a labelled commune classed
    # loai_III is still counted by the headline, so it must be drawn as drug-free too
    years = range(2023, 2027)
    rows = [{"commune_code": c, "period": str(y),
             "status": "khong_ma_tuy" if i % 10 == 0 and y >= 2025 else
                       "loai_III" if i % 3 else "loai_II",
             "drug_free_label": "sach_ve_ma_tuy" if i % 4 == 0 and y >= 2024 else None,
             "confidentiality": "public"}
            for y in years for i, c in enumerate(codes)]
    frames["commune_status"] = pd.DataFrame(rows)
    m = mapping.build(frames, role="analyst")
    page = mapping.render_html(m, standalone=True, base_url="/static/vendor")
    with Chromium(1400, 900) as b:
        tmp = Path(__import__("tempfile").mkdtemp())
        (tmp / "m.html").write_text(page, encoding="utf-8")
        b.open((tmp / "m.html").as_uri())
        for year in years:
            b.evaluate(f"document.querySelector('[data-act=year]').value = '{year}';"
                       "document.querySelector('[data-act=year]').dispatchEvent(new Event('change', {bubbles: true})); true")
            headline = b.evaluate(f"geoPcmtMap.progress({year}).sach")
            drawn = b.evaluate("""(() => {
              const free = [geoPcmtMap.colours.sach_ve_ma_tuy, geoPcmtMap.colours.khong_ma_tuy];
              let n = 0;
              geoPcmtMap.groups.communes.eachLayer(g => g.eachLayer && g.eachLayer(l => {
                const e = l.getElement ? l.getElement() : null; if (!e) { return; }
                if (free.includes(e.getAttribute('fill')) || e.getAttribute('stroke') === '#00702a') { n++; } }));
              return n; })()""")
            assert drawn == headline, (year, drawn, headline)
            assert year < 2024 or headline > 0
            line = b.evaluate("document.querySelectorAll('.gp-panel .gp-line')[0].innerText")
            assert line.startswith(f"{headline}/130")
        shutil.rmtree(tmp, ignore_errors=True)
