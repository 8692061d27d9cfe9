"""Benchmark: the hotspot map with 10k and 50k retail points vs plain folium CircleMarkers.

For each size, in one run on the same synthetic points (inside Nghệ An's communes):
  geo_pcmt.mapping.build + save   (points as compact arrays, drawn and clustered in the page;
                                   with the commune choropleth, border, Lao provinces, heat map)
  plain folium                    (one folium.CircleMarker with a Popup of the same fields per
                                   point; nothing else on the map)
it reports the time to build and save the HTML, the HTML size, and the time to first render
in headless Chromium with the network blocked (navigation → all points on the map and a frame
painted). Both pages use the vendored assets, so both can render offline.

Goal (issue 9): opens in < 3 s with 50k points, HTML ≤ ⅓ of the plain-folium size.

Run:  .venv/bin/python benchmarks/map.py [--sizes 10000 50000] [--no-browser]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from geo_pcmt.ingest import boundaries
from geo_pcmt.outputs import map as mapping
from geo_pcmt.outputs.map import vendor  # noqa: E402

STATUSES = np.array(["active", "watch", "cleared", "re-emerged"])
TYPES = np.array(["diem_ban_le", "dia_diem_to_chuc_chua_chap", "tu_diem_phuc_tap"])


def synthetic_points(n: int, communes: gpd.GeoDataFrame, seed: int = 9) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    per = communes.geometry.sample_points(size=n // len(communes) + 1, rng=rng).explode()
    pts = per.values[:n]
    code = np.repeat(communes["code"].to_numpy(), n // len(communes) + 1)[:n]
    first = pd.Timestamp("2022-01-01") + pd.to_timedelta(rng.integers(0, 1700, n), unit="D")
    status = STATUSES[rng.choice(4, n, p=[0.5, 0.2, 0.25, 0.05])]
    cleared = np.where(status == "cleared",
                       (first + pd.to_timedelta(rng.integers(30, 400, n), unit="D"))
                       .strftime("%Y-%m-%d"), None)
    return gpd.GeoDataFrame({
        "id": [f"RP-{i:06d}" for i in range(n)], "source": "benchmark (SYNTHETIC)",
        "confidentiality": "restricted", "type": TYPES[rng.choice(3, n, p=[0.8, 0.12, 0.08])],
        "name": [f"Nhà ông Nguyễn Văn {chr(65 + i % 26)}. ({i})" for i in range(n)],
        "address": [f"bản {i % 97}, xã {c}" for i, c in enumerate(code)],
        "first_seen": first.strftime("%Y-%m-%d"), "last_activity": "2026-10-01",
        "status": status, "cleared_on": cleared, "case_ref": None, "commune_code": code,
    }, geometry=pts, crs=4326)


def build_ours(frames: dict, out: Path) -> float:
    t = time.perf_counter()
    m = mapping.build(frames, role="analyst",
                      options=mapping.MapOptions(assets_base_url="vendor"))
    mapping.save(m, out)
    return time.perf_counter() - t


def build_plain(points: gpd.GeoDataFrame, out: Path) -> float:
    t = time.perf_counter()
    m = folium.Map(location=[19.2, 104.9], zoom_start=9, tiles=None)
    for r in points.itertuples(index=False):
        html = (f"<b>{r.name}</b><br>{r.address}<br>{r.type} · {r.status}<br>"
                f"{r.first_seen} – {r.cleared_on or ''}<br>{r.id}")
        folium.CircleMarker([r.geometry.y, r.geometry.x], radius=4, weight=1,
                            color="#c62828", fill=True, popup=folium.Popup(html)).add_to(m)
    vendor.localize(m, base_url="vendor")  # so it can render offline too
    m.save(str(out))
    return time.perf_counter() - t


def render_time(path: Path, ready_js: str, browser) -> float:
    seconds = browser.open(path.as_uri(), ready_js=ready_js, timeout_s=600)
    t = time.perf_counter()
    browser.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))")
    return seconds + (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000])
    ap.add_argument("--no-browser", action="store_true", help="skip the Chromium timings")
    args = ap.parse_args()
    base = {"communes": boundaries.communes(), "province": boundaries.province(),
            "border_line": boundaries.border_line(), "lao_provinces": boundaries.lao_provinces()}
    mapping.build(base)  # warm imports (folium templates, density) out of the timings
    browser = None
    if not args.no_browser:
        from tests.test_map_browser import CHROMIUM, Chromium
        browser = Chromium().__enter__() if CHROMIUM else None
        if browser is None:
            print("!!! chromium not installed: no render timings !!!")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            pts = synthetic_points(n, base["communes"])
            ours, plain = Path(tmp) / f"ours_{n}.html", Path(tmp) / f"plain_{n}.html"
            t_ours = build_ours({**base, "retail_points": pts}, ours)
            t_plain = build_plain(pts, plain)
            r_ours = r_plain = float("nan")
            if browser is not None:
                r_ours = render_time(ours, "document.documentElement.dataset.gpReady === '1'",
                                     browser)
                r_plain = render_time(
                    plain, f"document.readyState === 'complete' && document.querySelectorAll("
                           f"'path.leaflet-interactive').length >= {n}", browser)
            rows.append({"points": n, "build_ours": t_ours, "build_plain": t_plain,
                         "mb_ours": ours.stat().st_size / 1e6, "mb_plain": plain.stat().st_size / 1e6,
                         "render_ours": r_ours, "render_plain": r_plain})
    if browser is not None:
        browser.__exit__(None, None, None)
    print("Hotspot map vs plain folium CircleMarkers (build+save in Python; first render in "
          "headless Chromium, network blocked)")
    print(f"{'points':>7} | {'build s':>7} {'folium':>7} {'ratio':>6} | {'HTML MB':>7} {'folium':>7} "
          f"{'ratio':>6} | {'render s':>8} {'folium':>7} {'ratio':>6}")
    for r in rows:
        print(f"{r['points']:>7,} | {r['build_ours']:>7.2f} {r['build_plain']:>7.2f} "
              f"{r['build_ours'] / r['build_plain']:>6.2f} | {r['mb_ours']:>7.2f} "
              f"{r['mb_plain']:>7.2f} {r['mb_ours'] / r['mb_plain']:>6.2f} | "
              f"{r['render_ours']:>8.2f} {r['render_plain']:>7.2f} "
              f"{r['render_ours'] / r['render_plain']:>6.2f}")
    print("goal: render < 3 s at 50k points; HTML ratio ≤ 0.33")


if __name__ == "__main__":
    main()
