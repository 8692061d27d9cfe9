"""Methadone access: nearest dispensing point by motorbike, and the best new site equals brute force."""
from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner

from geo_pcmt.analysis.methadone import access, best_sites
from geo_pcmt.analysis.patrol.travel import travel_matrix
from geo_pcmt.cli import main
from geo_pcmt.ingest.sample_files import read
from geo_pcmt.runs.seed import load_sample


@pytest.mark.parametrize("seed", range(20))
def test_one_site_choice_equals_brute_force_on_small_random_cases(seed):
    rng = np.random.default_rng(seed)
    n_cand, n_comm = 6, 8
    cover = rng.random((n_cand, n_comm)) < 0.35
    people = rng.integers(0, 50, n_comm)
    covered = rng.random(n_comm) < 0.3
    brute = []
    for c in range(n_cand):  # independent: loop over communes, no matrix algebra
        gain = sum(int(people[j]) for j in range(n_comm) if cover[c, j] and not covered[j])
        brute.append((gain, c))
    best_gain, best_c = max(brute, key=lambda t: (t[0], -t[1]))
    got = best_sites(cover, people, covered, top=3)
    if best_gain == 0:
        assert got == []
    else:
        assert got[0] == ([best_c], best_gain)
        assert [g for _, g in got] == sorted([g for g, _ in brute if g > 0], reverse=True)[:3]


def square(x0: float, y0: float, size_m: float = 4000.0) -> shapely.Polygon:
    return shapely.box(x0, y0, x0 + size_m, y0 + size_m)


def test_access_on_a_small_case_matches_travel_times_and_brute_force():
    # a row of 6 communes 4 km wide in the plain (UTM 48N), one dispensing point in the first
    polys = [square(560_000 + 4000 * i, 2_080_000) for i in range(6)]
    communes = gpd.GeoDataFrame({"code": [f"C{i}" for i in range(6)],
                                 "name": [f"Xã {i}" for i in range(6)]},
                                geometry=polys, crs=32648).to_crs(4326)
    fac = gpd.GeoDataFrame({"kind": ["methadone_dispensing"], "name": ["Điểm A"]},
                           geometry=[shapely.Point(562_000, 2_082_000)], crs=32648).to_crs(4326)
    people = pd.Series([5, 0, 10, 40, 30, 20], index=[f"C{i}" for i in range(6)])
    acc = access(communes, fac, people, sites_for_min=30)
    c = acc.communes.set_index("commune_code")
    assert c["minutes"].is_monotonic_increasing  # farther east, longer
    # brute force over candidates with the same travel model
    origins = communes.to_crs(32648).representative_point().to_crs(4326)
    from geo_pcmt.analysis.patrol.travel import detour_factors
    pts = gpd.GeoSeries(list(origins) + list(fac.geometry), crs=4326)
    tm = travel_matrix(pts, mode="motorbike", detour=detour_factors(pts, communes))
    far = [j for j in range(6) if tm.minutes[j, 6] > 30]
    assert set(far) == {i for i, code in enumerate(c.index) if c.loc[code, "beyond_30"]}
    brute = max(((sum(int(people.iloc[j]) for j in far if tm.minutes[cand, j] <= 30), -cand)
                 for cand in range(6)))
    assert acc.sites["gain_people"].iloc[0] == brute[0]
    assert acc.sites["commune_code"].iloc[0] == f"C{-brute[1]}"


@pytest.mark.slow  # over ~0.5 s: out of the quick loop
def test_cli_methadone_table_and_layer_on_the_sample(store, tmp_path):
    load_sample(store, frames={k: v for k, v in read().items()
                               if k in ("facilities", "treatment")})
    runner = CliRunner()
    res = runner.invoke(main, ["methadone", "--store", str(store.path), "--year", "2025",
                               "--xlsx", str(tmp_path / "m.xlsx")])
    assert res.exit_code == 0, res.output
    assert "xa hơn 30 phút" in res.output and "Địa điểm đề xuất" in res.output
    data = json.loads(runner.invoke(main, ["methadone", "--store", str(store.path), "--json",
                                           "--no-write"]).output)
    assert len(data["communes"]) == 130 and len(data["sites"]) == 3
    gains = [s["gain_people"] for s in data["sites"]]
    assert gains == sorted(gains, reverse=True) and gains[0] > 0
    layer = store.read("methadone_access")
    assert (layer["kind"] == "commune").sum() == 130
    assert (layer["kind"] == "candidate_site").sum() == 3
    assert set(layer["confidentiality"]) == {"restricted"}
    import openpyxl
    ws = openpyxl.load_workbook(tmp_path / "m.xlsx").active
    assert ws.cell(1, 1).value == "Mã xã"
