"""Benchmark: the light map page against plain folium and folium's FastMarkerCluster.

At each size (default 50,000 retail points, every one with a popup of the same fields), in one
run on the same synthetic points inside Nghệ An's communes:

  ours     geo_pcmt.outputs.map (data packed: quantised, delta-encoded, binary columns,
           deflated; points counted on a screen grid at province zoom; with the commune
           choropleth, border, Lao provinces, base layer, heat map)
  folium   one folium.CircleMarker with a Popup per point, nothing else on the map
  fmc      folium.plugins.FastMarkerCluster, a popup per point bound by its callback

It reports
  standalone MB   one HTML file with every asset inside (``--standalone``; the baselines'
                  vendored assets inlined the same way), what goes on a USB stick;
  served MB       bytes of ``/map`` on the wire for an analyst, gzipped: ours through the web
                  app (store, login, answer cache, gzip); the baselines' pages gzipped at the
                  same level (the assets are separate, cached static files for all three);
  render s        first render in headless Chromium, network blocked, from disk: navigation
                  → every point drawn or counted and two frames painted.
and each of ours as a ratio against folium and against fmc.

``--million`` adds ours at 1,000,000 points (the baselines cannot be built or opened at that
size in reasonable time; the served bytes are the page the app would gzip).

Goals (issue 18): at 50k, standalone ≤ 2.1 MB, served ≤ 1 MB, render ≤ 1.5 s; at 1M,
standalone ≤ 30 MB and render ≤ 3 s.

Run:  .venv/bin/python benchmarks/map.py [--sizes 50000] [--million] [--no-browser]
"""
from __future__ import annotations

import argparse
import gzip
import sys
import tempfile
import time
from pathlib import Path

import folium
import folium.plugins
import geopandas as gpd
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from geo_pcmt.ingest import basemap, boundaries  # noqa: E402
from geo_pcmt.outputs import map as mapping  # noqa: E402
from geo_pcmt.outputs.map import vendor  # noqa: E402

STATUSES = np.array(["active", "watch", "cleared", "re-emerged"])
TYPES = np.array(["diem_ban_le", "dia_diem_to_chuc_chua_chap", "tu_diem_phuc_tap"])
OURS_READY = "document.documentElement.dataset.gpReady === '1'"


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


def _popup(r) -> str:
    return (f"<b>{r.name}</b><br>{r.address}<br>{r.type} · {r.status}<br>"
            f"{r.first_seen} – {r.cleared_on or ''}<br>{r.id}")


def _sizes(page: str, standalone: str, out: Path) -> dict:
    out.write_text(standalone, encoding="utf-8")
    return {"standalone": len(standalone.encode()) / 1e6,
            "served": len(gzip.compress(page.encode(), compresslevel=6)) / 1e6}


def ours(frames: dict, out: Path, served_via_app: bool) -> dict:
    t = time.perf_counter()
    m = mapping.build(frames, role="analyst")
    standalone = mapping.render_html(m, standalone=True)
    build_s = time.perf_counter() - t
    page = mapping.render_html(mapping.build(frames, role="analyst"))
    res = {"build": build_s, **_sizes(page, standalone, out)}
    if served_via_app:
        res["served"] = served_by_app(frames["retail_points"]) / 1e6
    return res


def served_by_app(points: gpd.GeoDataFrame) -> int:
    """Bytes of ``/map`` an analyst's browser receives (gzip) from the web app on a store."""
    from geo_pcmt.store import GeoPackageStore
    from geo_pcmt.web import create_app
    from geo_pcmt.users import UserStore
    with tempfile.TemporaryDirectory() as tmp:
        store = GeoPackageStore(Path(tmp) / "bench.gpkg")
        store.init()
        store.write("retail_points", points, mode="append", user="benchmark")
        app = create_app({"STORE": str(store.path), "TESTING": True,
                          "USERS_DB": str(Path(tmp) / "users.sqlite")})
        users: UserStore = app.extensions["geo_pcmt_users"]
        users.add("bench", "benchmark-password-1", "analyst")
        token = users.create_token("bench")[0]
        res = app.test_client().get("/map", headers={"Authorization": f"Bearer {token}",
                                                     "Accept-Encoding": "gzip, deflate, br"})
        assert res.status_code == 200 and res.headers.get("Content-Encoding") == "gzip"
        return len(res.get_data())


def plain_folium(points: gpd.GeoDataFrame, out: Path) -> dict:
    t = time.perf_counter()
    m = folium.Map(location=[19.2, 104.9], zoom_start=9, tiles=None, maxZoom=18)
    for r in points.itertuples(index=False):
        folium.CircleMarker([r.geometry.y, r.geometry.x], radius=4, weight=1, color="#c62828",
                            fill=True, popup=folium.Popup(_popup(r))).add_to(m)
    vendor.localize(m, base_url="vendor")  # so it can render offline too
    page = m.get_root().render()
    standalone = vendor.inline_assets(page, base_url="vendor")
    return {"build": time.perf_counter() - t, **_sizes(page, standalone, out)}


def fast_marker_cluster(points: gpd.GeoDataFrame, out: Path) -> dict:
    t = time.perf_counter()
    m = folium.Map(location=[19.2, 104.9], zoom_start=9, tiles=None, maxZoom=18)
    data = [[r.geometry.y, r.geometry.x, _popup(r)] for r in points.itertuples(index=False)]
    callback = ("function (row) { var marker = L.marker(new L.LatLng(row[0], row[1]));"
                " marker.bindPopup(row[2]); return marker; }")
    folium.plugins.FastMarkerCluster(data, callback=callback).add_to(m)
    vendor.localize(m, base_url="vendor")
    page = m.get_root().render()
    standalone = vendor.inline_assets(page, base_url="vendor")
    return {"build": time.perf_counter() - t, **_sizes(page, standalone, out)}


def render_time(path: Path, ready_js: str, browser) -> float:
    seconds = browser.open(path.as_uri(), ready_js=ready_js, timeout_s=900)
    t = time.perf_counter()
    browser.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))")
    return seconds + (time.perf_counter() - t)


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b and b == b else "–"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[50_000])
    ap.add_argument("--million", action="store_true", help="also ours at 1,000,000 points")
    ap.add_argument("--no-browser", action="store_true", help="skip the Chromium timings")
    args = ap.parse_args()
    base = {"communes": boundaries.communes(), "province": boundaries.province(),
            "border_line": boundaries.border_line(), "lao_provinces": boundaries.lao_provinces(),
            **basemap.frames()}
    mapping.build(base)  # warm imports (folium templates, density) out of the timings
    browser = None
    if not args.no_browser:
        from tests.test_map_browser import CHROMIUM, Chromium
        browser = Chromium().__enter__() if CHROMIUM else None
        if browser is None:
            print("!!! chromium not installed: no render timings !!!")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        runs = [(n, True) for n in args.sizes] + ([(1_000_000, False)] if args.million else [])
        for n, baselines in runs:
            pts = synthetic_points(n, base["communes"])
            paths = {k: Path(tmp) / f"{k}_{n}.html" for k in ("ours", "folium", "fmc")}
            row = {"points": n, "ours": ours({**base, "retail_points": pts}, paths["ours"],
                                             served_via_app=baselines)}
            if baselines:
                row["folium"] = plain_folium(pts, paths["folium"])
                row["fmc"] = fast_marker_cluster(pts, paths["fmc"])
            if browser is not None:
                row["ours"]["render"] = render_time(paths["ours"], OURS_READY, browser)
                if baselines:
                    row["folium"]["render"] = render_time(
                        paths["folium"], "document.readyState === 'complete' && document"
                        f".querySelectorAll('path.leaflet-interactive').length >= {n}", browser)
                    row["fmc"]["render"] = render_time(
                        paths["fmc"], "document.readyState === 'complete' && document"
                        ".querySelectorAll('.marker-cluster').length > 0", browser)
            rows.append(row)
            print(row, flush=True)
    if browser is not None:
        browser.__exit__(None, None, None)
    _report(rows)


def _report(rows: list[dict]) -> None:
    nan = float("nan")
    print("\nThe light map page vs plain folium CircleMarkers+Popups and FastMarkerCluster "
          "(same points, popups on every point; render: headless Chromium, network blocked)")
    print(f"{'points':>9} | {'measure':<14} | {'ours':>7} | {'folium':>7} {'ratio':>6} | "
          f"{'fmc':>7} {'ratio':>6} | goal")
    goals = {50_000: {"standalone": "≤ 2.1 MB", "served": "≤ 1 MB", "render": "≤ 1.5 s"},
             1_000_000: {"standalone": "≤ 30 MB", "served": "", "render": "≤ 3 s"}}
    for r in rows:
        for key, unit in (("standalone", "MB"), ("served", "MB"), ("render", "s"),
                          ("build", "s")):
            o = r["ours"].get(key, nan)
            f = r.get("folium", {}).get(key, nan)
            c = r.get("fmc", {}).get(key, nan)
            goal = goals.get(r["points"], {}).get(key, "")
            print(f"{r['points']:>9,} | {key + ' ' + unit:<14} | {o:>7.2f} | {f:>7.2f} "
                  f"{_ratio(o, f):>6} | {c:>7.2f} {_ratio(o, c):>6} | {goal}")


if __name__ == "__main__":
    main()
