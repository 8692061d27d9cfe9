"""Load the real boundary data shipped in ``data/boundaries/`` as layer-shaped GeoDataFrames.

Each loader returns a frame whose columns follow :mod:`geo_pcmt.layers`, in EPSG:4326.
Provenance and licences: ``data/boundaries/PROVENANCE.md``.
"""
from __future__ import annotations

from functools import lru_cache, wraps
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from geo_pcmt.crs import STORAGE_CRS
from geo_pcmt.paths import BOUNDARIES_DIR

REFORM_DATE = "2025-07-01"  # 130 communes replace 412 (Resolution 1678/NQ-UBTVQH15)
_SOURCE = "bando/VPD 2025 (MIT compilation), see data/boundaries/PROVENANCE.md"

LAO_PROVINCE_NAMES = {"LA-BL": "Bô Ly Khăm Xay", "LA-XI": "Xiêng Khoảng", "LA-HO": "Hủa Phăn"}


def _path(name: str, directory: Path | None) -> Path:
    path = Path(directory or BOUNDARIES_DIR) / name
    if not path.exists():
        raise FileNotFoundError(f"boundary file missing: {path} (expected in data/boundaries/)")
    return path


def _cached(loader):
    """Build a loader's frame once per folder and hand out copies (callers may modify them)."""
    built = lru_cache(maxsize=8)(loader)

    @wraps(loader)
    def load(directory: Path | None = None):
        return built(directory).copy()

    load.cache_clear = built.cache_clear
    return load


def _read(name: str, directory: Path | None = None) -> gpd.GeoDataFrame:
    return gpd.read_file(_path(name, directory), engine="pyogrio")


def _multi(geoms: gpd.GeoSeries) -> gpd.GeoSeries:
    arr = geoms.values
    out = [g if g.geom_type.startswith("Multi") else shapely.multipolygons([g])
           if g.geom_type == "Polygon" else shapely.multilinestrings([g]) for g in arr]
    return gpd.GeoSeries(out, index=geoms.index, crs=geoms.crs)


@_cached
def border_line(directory: Path | None = None) -> gpd.GeoDataFrame:
    """The Viet Nam–Laos border along Nghệ An, one MultiLineString per Lao province segment."""
    raw = _read("vn_la_border_nghean.geojson", directory)
    return gpd.GeoDataFrame({
        "id": raw["segment_id"].astype(str),
        "segment": raw["la_province_name_vi"].astype(str),
        "lao_province": raw["la_province_name_vi"].astype(str),
        "lao_province_iso": raw["la_province_iso"].astype(str),
        "length_km": raw["length_km"].astype(float),
        "source": "derived from bando/VPD outline + Natural Earth, see PROVENANCE.md",
    }, geometry=_multi(raw.geometry), crs=STORAGE_CRS)


@_cached
def communes(directory: Path | None = None) -> gpd.GeoDataFrame:
    """The 130 communes and wards valid from 1 July 2025, with border attributes."""
    raw = _read("nghean_communes_2025.geojson", directory)
    out = gpd.GeoDataFrame({
        "id": raw["commune_code"].astype(str),
        "code": raw["commune_code"].astype(str),
        "name": raw["name_vi"].astype(str),
        "name_ascii": raw["name_ascii"].astype(str),
        "kind": raw["type"].map({"xã": "xa", "phường": "phuong"}).fillna("xa"),
        "is_border": raw["is_border_commune"].astype(bool),
        "lao_province": None,
        "border_length_km": raw["border_length_km"].astype(float),
        "area_km2": raw["area_km2_computed"].astype(float),
        "district_pre2025": raw["pre2025_district_name_vi"].astype(str),
        "valid_from": REFORM_DATE,
        "valid_to": None,
        "source": _SOURCE,
    }, geometry=_multi(raw.geometry), crs=STORAGE_CRS)
    # Lao province a border commune faces: the border segment sharing most length with it.
    line = border_line(directory).to_crs(32648)
    border_idx = out.index[out["is_border"]]
    metric = out.loc[border_idx].to_crs(32648)
    for i, geom in zip(border_idx, metric.geometry):
        lengths = line.geometry.intersection(geom.buffer(60)).length
        if lengths.max() > 0:
            out.at[i, "lao_province"] = line.loc[lengths.idxmax(), "lao_province"]
    return out


@_cached
def province(directory: Path | None = None) -> gpd.GeoDataFrame:
    """The province outline of Nghệ An (dissolve of the 2025 communes)."""
    raw = _read("nghean_province.geojson", directory)
    return gpd.GeoDataFrame({
        "id": raw["province_code"].astype(str), "code": raw["province_code"].astype(str),
        "name": raw["name_vi"].astype(str), "area_km2": raw["area_km2_computed"].astype(float),
        "border_laos_km": raw["border_laos_km"].astype(float), "source": _SOURCE,
    }, geometry=_multi(raw.geometry), crs=STORAGE_CRS)


@_cached
def lao_provinces(directory: Path | None = None) -> gpd.GeoDataFrame:
    """Houaphanh, Xieng Khouang and Bolikhamxay (Natural Earth 1:10m, coarse)."""
    raw = _read("la_provinces_adjacent.geojson", directory)
    return gpd.GeoDataFrame({
        "id": raw["iso_3166_2"].astype(str), "iso": raw["iso_3166_2"].astype(str),
        "name": raw["name_vi"].astype(str), "name_en": raw["name_en"].astype(str),
        "source": "Natural Earth 1:10m admin-1 (public domain)",
    }, geometry=_multi(raw.geometry), crs=STORAGE_CRS)


@_cached
def commune_lineage(directory: Path | None = None) -> pd.DataFrame:
    """The 412 → 130 crosswalk: one row per (old commune, new commune) pair."""
    raw = pd.read_csv(_path("nghean_crosswalk_pre2025_to_2025.csv", directory), dtype=str)
    return pd.DataFrame({
        "id": raw["old_commune_code"] + "-" + raw["new_commune_code"],
        "old_code": raw["old_commune_code"], "old_name": raw["old_name_vi"],
        "old_name_ascii": raw["old_name_ascii"], "old_district": raw["old_district_name_vi"],
        "new_code": raw["new_commune_code"], "new_name": raw["new_name_vi"],
        "share": raw["merge_type"],
    })


@_cached
def pre2025_communes(directory: Path | None = None) -> pd.DataFrame:
    """The 412 communes valid until 30 June 2025 (names and codes only; no polygons)."""
    return pd.read_csv(_path("nghean_communes_pre2025.csv", directory), dtype=str)


@_cached
def border_gates(directory: Path | None = None) -> gpd.GeoDataFrame:
    """The five named border gates at their *approximate* (commune-level) positions."""
    raw = _read("border_gates_approx.geojson", directory)
    kind = raw["gate_class"].str.split(" ").str[0].map(
        {"quốc": "international", "chính": "main", "phụ": "secondary"}).fillna("secondary")
    return gpd.GeoDataFrame({
        "name": raw["gate_name_vi"].astype(str),
        "kind": kind,
        "lao_counterpart": raw["lao_counterpart"].astype(str),
        "lao_province_iso": raw["la_province_iso"].astype(str),
        "commune_code": raw["host_commune_2025_code"].astype(str),
        "position_quality": "approximate",
    }, geometry=raw.geometry.values, crs=STORAGE_CRS)
