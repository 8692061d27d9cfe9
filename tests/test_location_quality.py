"""Records placed only at a commune centre never act as positions in the hotspot run."""
from __future__ import annotations

import pytest

import geopandas as gpd
import shapely

from geo_pcmt.ingest import boundaries
from geo_pcmt.runs import hotspots

CHAU_BINH = "17011"


def _commune_only_points(n: int) -> gpd.GeoDataFrame:
    """``n`` retail points known only by their address: all at the commune's centre."""
    communes = boundaries.communes()
    row = communes[communes["code"] == CHAU_BINH].iloc[0]
    centre = row.geometry.representative_point()
    return gpd.GeoDataFrame({
        "id": [f"ADDR-{i}" for i in range(n)], "source": "test", "type": "diem_ban_le",
        "status": "active", "first_seen": "2025-01-01", "commune_code": CHAU_BINH,
        "geocode_quality": "commune", "confidentiality": "restricted",
    }, geometry=[centre] * n, crs="EPSG:4326")


@pytest.mark.slow  # over ~0.5 s: out of the quick loop
def test_address_only_records_make_no_cluster_no_hot_cell_and_no_flag():
    params = hotspots.HotspotParams(methods=("dbscan", "gistar", "flags"), as_of="2025-06-01", date_to="2025-06-01")
    inputs = {"retail_points": _commune_only_points(8), "communes": boundaries.communes(),
              "border_line": boundaries.border_line(), "border_crossings": boundaries.border_gates()}
    result = hotspots.run(inputs, params)
    frames = result.frames
    assert len(frames.get("hotspot_clusters", [])) == 0
    hot = frames.get("gistar_cells")
    assert hot is None or not hot["hotspot_class"].astype(str).str.startswith("hot").any()
    flags = frames.get("complex_hotspots")
    assert flags is None or not flags["reasons_vi"].astype(str).str.contains("bán kính").any()
    assert result.params["resolved"]["commune_only_records_left_out"] == 8
