"""Shared fixtures: a temporary GeoPackage store with the real boundaries loaded."""
from __future__ import annotations

import geopandas as gpd
import pytest
import shapely

from geo_pcmt.ingest import boundaries
from geo_pcmt.runs.seed import load_boundaries
from geo_pcmt.store import GeoPackageStore


@pytest.fixture(scope="session")
def communes() -> gpd.GeoDataFrame:
    return boundaries.communes()


@pytest.fixture
def store(tmp_path) -> GeoPackageStore:
    s = GeoPackageStore(tmp_path / "test.gpkg")
    s.init()
    load_boundaries(s)
    return s


@pytest.fixture
def empty_store(tmp_path) -> GeoPackageStore:
    s = GeoPackageStore(tmp_path / "empty.gpkg")
    s.init()
    return s


def retail_frame(n: int, start: int = 0, lon: float = 104.17, lat: float = 19.41):
    """n valid retail points around Mường Xén/Nậm Cắn with ids RP-<i>."""
    ids = [f"RP-{i:06d}" for i in range(start, start + n)]
    return gpd.GeoDataFrame({
        "id": ids, "source": "test", "type": "diem_ban_le", "status": "active",
        "first_seen": "2024-01-01", "name": [f"Điểm {i}" for i in range(start, start + n)],
    }, geometry=shapely.points([lon + (i % 100) * 1e-4 for i in range(n)],
                               [lat + (i // 100) * 1e-4 for i in range(n)]), crs="EPSG:4326")
