"""One calendar: the opium season and the other date windows mean the same everywhere."""
from __future__ import annotations

from datetime import date

import geopandas as gpd
import pytest
import shapely

from geo_pcmt.analysis import calendar, patrol
from geo_pcmt.analysis.flags import complex_hotspots

CX, CY = 470_000.0, 2_180_000.0


def test_the_season_runs_from_september_sowing_to_march_harvest():
    s = calendar.opium_season("2025-10-15")
    assert (s.start, s.end) == (date(2025, 9, 1), date(2026, 3, 31))
    assert s.label_vi == "mùa 2025–2026"
    assert calendar.opium_season("2026-03-31") == s
    assert calendar.opium_season("2026-04-01") is None
    assert calendar.opium_season("2025-08-31") is None
    assert calendar.latest_opium_season("2026-07-01") == s
    assert s.next().start == date(2026, 9, 1) and s.previous().start == date(2024, 9, 1)


def test_months_quarters_years_and_the_action_month():
    assert calendar.month("2024-02-10").end == date(2024, 2, 29)
    assert calendar.month("2025-12-03").next().start == date(2026, 1, 1)
    q = calendar.quarter("2025-08-20")
    assert (q.start, q.end, q.label_vi) == (date(2025, 7, 1), date(2025, 9, 30), "quý III/2025")
    assert calendar.year("2025-05-05").label_vi == "năm 2025"
    am = calendar.action_month("2023-11-01")
    assert (am.start, am.end) == (date(2023, 6, 1), date(2023, 6, 30))
    assert am.previous().start == date(2022, 6, 1)
    assert [w.label_en for w in calendar.months_between("2025-11-20", "2026-02-01")] == \
        ["2025-11", "2025-12", "2026-01", "2026-02"]
    with pytest.raises(ValueError, match="unknown date window"):
        calendar.window("week", "2025-01-01")


def _october_plot() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"id": ["OP-OCT"], "area_m2": [800.0], "plant_count": [3000],
         "detected_on": ["2025-10-20"], "eradicated_on": [None], "village": ["Bản Huồi Khe"],
         "commune_code": ["99001"]},
        geometry=[shapely.Point(CX, CY)], crs=32648).to_crs(4326)


def test_an_october_plot_is_in_the_season_for_flags_and_for_patrol_targets():
    plot = _october_plot()
    # patrol: on 5 Nov the October plot is a standing plot to visit
    targets = patrol.collect_targets({"opium_plots": plot}, plan_date=date(2025, 11, 5))
    assert list(targets["target_kind"]) == ["opium_plot"]
    assert "Nương thuốc phiện chưa triệt phá" in targets.iloc[0]["reason_vi"]
    # flags: on the same day it counts as "this season" for the commune it lies in
    commune = gpd.GeoDataFrame({"code": ["99001"], "name": ["Xã Thử"]},
                               geometry=[shapely.box(CX - 5000, CY - 5000, CX + 5000, CY + 5000)],
                               crs=32648)
    retail = gpd.GeoDataFrame({"status": ["active"] * 3},
                              geometry=shapely.points([CX, CX + 100, CX + 200], [CY] * 3),
                              crs=32648)
    flags = complex_hotspots(opium_plots=plot, communes=commune, retail_points=retail,
                             as_of="2025-11-05")
    assert "800 m² thuốc phiện trong vụ này" in flags.iloc[0]["reasons_vi"]
    # both read the season from the one calendar
    assert patrol.season_of(date(2025, 11, 5))[0] == calendar.opium_season("2025-11-05").start
