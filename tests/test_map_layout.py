"""The map's boxes on screen, in headless Chromium: layer list, legend, panel (headline),
timeline and classification mark never overlap and stay on screen at 1400×900, 1920×1080,
1024×768 and on a 412×915 phone; the places tab zooms to a place; the methadone layer and the
"có tệ nạn ma túy" class have their legend entries; the paper chooser opens the print layout."""
from __future__ import annotations

import time

import pandas as pd
import pytest

from geo_pcmt.outputs import map as mapping
from tests.test_map_browser import CHROMIUM, SCREENSHOTS, Chromium
from tests.test_map_layers import sample_frames

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(CHROMIUM is None, reason="!!! CHROMIUM NOT INSTALLED !!!")]

BOXES = {"layers": ".leaflet-control-layers", "legend": ".gp-legend", "panel": ".gp-panel",
         "timeline": ".gp-slider", "mark": ".gp-marking"}
# every box shown (display not none), its rectangle in CSS pixels
RECTS_JS = ("(() => { const out = {}; for (const [k, sel] of Object.entries(%s)) {"
            " const el = document.querySelector(sel); if (!el || getComputedStyle(el).display === 'none') continue;"
            " const r = el.getBoundingClientRect(); out[k] = [r.left, r.top, r.right, r.bottom]; } return out; })()")
SIZES = [(1400, 900), (1920, 1080), (1024, 768), (412, 915)]


@pytest.fixture(scope="module")
def analyst_page(tmp_path_factory):
    frames = sample_frames()
    # classes of 2026 as the status run writes them, one commune "có tệ nạn ma túy"
    frames["commune_status"] = pd.DataFrame({
        "id": ["s1", "s2", "s3"], "run_id": "r", "commune_code": ["16813", "16837", "16681"],
        "period": "2026", "status": ["co_te_nan_ma_tuy", "loai_II", "khong_trong_diem"],
        "confidentiality": "public"})
    opts = mapping.MapOptions(layers=("communes", "lao_provinces", "border_line", "retail_points",
                                      "border_crossings", "border_posts", "complex_places",
                                      "methadone_access"))
    m = mapping.build(frames, role="analyst", options=opts)
    return mapping.save(m, tmp_path_factory.mktemp("layout") / "map.html", standalone=True,
                        base_url="/static/vendor")


def boxes(b: Chromium) -> dict[str, list[float]]:
    import json
    return b.evaluate(RECTS_JS % json.dumps(BOXES))


def assert_clear(rects: dict[str, list[float]], width: int, height: int, where: str) -> None:
    """No two boxes overlap, and each lies on screen."""
    names = sorted(rects)
    for i, a in enumerate(names):
        l, t, r, bt = rects[a]
        assert l >= 0 and t >= 0 and r <= width + 0.5 and bt <= height + 0.5, (where, a, rects[a])
        for other in names[i + 1:]:
            l2, t2, r2, b2 = rects[other]
            overlap = min(r, r2) - max(l, l2) > 0.5 and min(bt, b2) - max(t, t2) > 0.5
            assert not overlap, f"{where}: {a} {rects[a]} overlaps {other} {rects[other]}"


@pytest.mark.parametrize("width, height", SIZES)
def test_layer_list_legend_headline_and_timeline_never_overlap(analyst_page, width, height):
    with Chromium(width, height) as b:
        b.open(analyst_page.as_uri())
        rects = boxes(b)
        assert {"layers", "legend", "panel", "timeline", "mark"} <= set(rects), rects
        assert_clear(rects, width, height, f"{width}×{height} at opening")
        phone = width < 640
        legend_h = b.evaluate("document.querySelector('.gp-legend-body').getBoundingClientRect().height")
        list_h = b.evaluate("document.querySelector('.leaflet-control-layers-list').getBoundingClientRect().height")
        if not phone:  # room enough: both open, the layer list whole, the legend readable
            assert list_h > 200 and legend_h > 120, (list_h, legend_h)
            b.screenshot(SCREENSHOTS / f"map_layout_{width}x{height}.png")
            return
        assert legend_h == 0 and list_h == 0  # a phone opens with everything folded
        b.screenshot(SCREENSHOTS / "map_layout_phone_folded.png")
        for head in (".gp-legend .gp-dock-head", ".leaflet-control-layers .gp-dock-head",
                     ".gp-panel [data-act=toggle]"):
            b.evaluate(f"document.querySelector('{head}').click(); true")
            time.sleep(0.2)
            rects = boxes(b)
            assert_clear(rects, width, height, f"phone after opening {head}")
            if "legend" in head:
                assert b.evaluate("document.querySelector('.gp-legend-body').getBoundingClientRect().height") > 150
                b.screenshot(SCREENSHOTS / "map_layout_phone_legend.png")
        # the panel open again: the right-hand boxes are folded, the headline is readable
        assert b.evaluate("document.querySelectorAll('.gp-dock-box.gp-folded').length") == 2
        assert b.evaluate("document.querySelector('.gp-panel .gp-big') !== null")
        assert b.console_errors() == []


def test_places_tab_lists_the_places_and_zooms_to_one(analyst_page):
    with Chromium(1400, 900) as b:
        b.open(analyst_page.as_uri())
        b.evaluate("document.querySelector('.gp-tab[data-tab=places]').click(); true")
        items = b.evaluate("Array.from(document.querySelectorAll('.gp-places li')).map(l => l.innerText)")
        assert len(items) == 3
        assert items[0].startswith("1") and "Bản Mường Sơn, Xã Nậm Cắn" in items[0]
        assert "mức cao" in items[0] and "16" in items[0] and "mới phát hiện" in items[0]
        assert "mức trung bình" in items[1] and "đang chuyển hóa" in items[1]
        assert "mức thấp" in items[2] and "tái phát" in items[2]
        b.evaluate("document.querySelectorAll('.gp-places li')[0].click(); true")
        b.wait_for("document.querySelector('.leaflet-popup-content .gp-popup')")
        assert b.evaluate("geoPcmtMap.map.getZoom()") >= 13
        centre = b.evaluate("[geoPcmtMap.map.getCenter().lat, geoPcmtMap.map.getCenter().lng]")
        assert centre == pytest.approx([19.452, 104.107], abs=1e-3)
        popup = b.evaluate("document.querySelector('.leaflet-popup-content').innerText")
        assert "Bản Mường Sơn, Xã Nậm Cắn" in popup and "cụm DBSCAN" in popup
        reasons = b.evaluate("Array.from(document.querySelectorAll('.leaflet-popup-content .gp-reasons li'))"
                             ".map(l => l.textContent)")
        assert reasons == ["22 điểm, tụ điểm ma túy đang hoạt động trong bán kính 600 m",
                           "cách cửa khẩu Nậm Cắn 2,1 km"]
        b.screenshot(SCREENSHOTS / "map_place_popup.png")
        # in English, the reasons and the words follow the page
        b.evaluate("geoPcmtMap.setLang('en'); document.querySelector('.gp-tab[data-tab=places]').click();"
                   " document.querySelectorAll('.gp-places li')[0].click(); true")
        b.wait_for("document.querySelector('.leaflet-popup-content .gp-reasons')")
        popup = b.evaluate("document.querySelector('.leaflet-popup-content').innerText")
        assert "22 active drug retail points within 600 m" in popup and "high level" in popup
        assert "mức" not in popup and "DBSCAN cluster" in popup
        assert b.console_errors() == []


def test_methadone_and_class_legend_entries_and_colours(analyst_page):
    with Chromium(1920, 1080) as b:
        b.open(analyst_page.as_uri())
        legend = b.evaluate("document.querySelector('.gp-legend-body').innerText")
        for words in ("trong 30 phút", "30–60 phút", "trên 60 phút", "Cấp phát Methadone",
                      "Địa điểm đề xuất thêm điểm cấp phát", "Có tệ nạn ma túy (không trọng điểm)",
                      "Địa bàn, tụ điểm phức tạp"):
            assert words in legend, words
        # the commune 75 min away is drawn in the "over 60 min" colour
        fill = b.evaluate(
            "(() => { let c = null; geoPcmtMap.groups.methadone_access.eachLayer(g => { if (g.eachLayer) g.eachLayer(l => {"
            " if (l.feature && l.feature.properties.code === '16837') c = l.options.fillColor; }); }); return c; })()")
        assert fill == "#d94801"
        # a commune of class "có tệ nạn ma túy" is drawn in that class's colour
        drawn = b.evaluate(
            "(() => { const C = geoPcmtMap.app.C, y = String(geoPcmtMap.app.currentYear()), out = [];"
            " geoPcmtMap.groups.communes.eachLayer(g => g.eachLayer && g.eachLayer(l => {"
            " if ((C.byYear[y] || {})[l.feature.properties.code] === 'co_te_nan_ma_tuy') out.push(l.options.fillColor); }));"
            " return out; })()")
        assert drawn == [b.evaluate("geoPcmtMap.colours.co_te_nan_ma_tuy")]
        b.screenshot(SCREENSHOTS / "map_methadone_places_1920.png")
        assert b.console_errors() == []


def test_paper_chooser_opens_the_print_layout_of_the_chosen_paper_and_view(analyst_page):
    with Chromium(1400, 900) as b:
        b.open(analyst_page.as_uri())
        b.evaluate("document.querySelector('.gp-panel [data-act=print]').click(); true")
        options = b.evaluate("Array.from(document.querySelectorAll('.gp-printbox select')).map(s => s.getAttribute('data-pc'))")
        assert options == ["paper", "orientation", "view"]
        b.evaluate("const q = s => document.querySelector('.gp-printbox select[data-pc=' + s + ']');"
                   " q('paper').value = 'A3'; q('orientation').value = 'portrait'; q('view').value = 'border';"
                   " document.querySelector('[data-act=print-preview]').click(); true")
        b.wait_for("location.search.includes('print=1') && document.documentElement.dataset.gpReady === '1'"
                   " && document.querySelector('.gp-sheet') !== null")
        classes = b.evaluate("document.documentElement.className")
        assert "gp-paper-A3" in classes and "gp-print-portrait" in classes
        assert "biên giới" in b.evaluate("document.querySelector('.gp-tb-view').innerText")
        # the border strip fills the frame: the view is the border communes', not the province's
        bounds = b.evaluate("(() => { const b = geoPcmtMap.map.getBounds(); return [b.getWest(), b.getEast()]; })()")
        assert bounds[0] < 104.0 and bounds[1] < 105.9
        assert b.evaluate("document.querySelector('.gp-printbox') === null")  # no chooser on the sheet
        assert b.console_errors() == []
