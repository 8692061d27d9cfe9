"""Geometry checks of a file being validated: coordinates, lat/lon swaps, geometry types,
validity, inside Nghệ An, geocoding rows without coordinates, and the commune of each row."""
from __future__ import annotations

from functools import lru_cache

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from geo_pcmt.crs import METRIC_CRS, STORAGE_CRS
from geo_pcmt.ingest import boundaries
from geo_pcmt.ingest.cells import blank_mask, is_blank
from geo_pcmt.ingest.report import Checker
from geo_pcmt.ingest.spatial import assign_communes
from geo_pcmt.layers import Layer

OUTSIDE_TOLERANCE_KM = 0.5  # points this close outside the (simplified) outline only warn


def _in_region(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Loose box around Nghệ An (with 0.5° margin): where a lon/lat pair can sensibly be."""
    return (lon > 103.3) & (lon < 106.5) & (lat > 18.0) & (lat < 20.5)


def geometries(df, spec, geom_name, lon_col, lat_col, crs, fix_swapped, repair, chk, out,
               communes, gazetteer) -> np.ndarray:
    """The checked geometry of each row (None where rejected), in EPSG:4326.

    From the file's geometry column, else from ``lon_col``/``lat_col`` (in ``crs`` when
    given), else geocoded from an address; problems go to ``chk``, and geocoded rows get
    ``geocode_quality`` in ``out``.
    """
    n = len(df)
    geoms = np.full(n, None, dtype=object)
    if geom_name is not None:
        src = df.geometry
        if src.crs is not None and pyproj.CRS(src.crs) != pyproj.CRS(STORAGE_CRS):
            src = src.to_crs(STORAGE_CRS)
        geoms[:] = np.asarray(src.values, dtype=object)
        present = np.array([g is not None for g in geoms], dtype=bool)
        geoms[present] = shapely.force_2d(geoms[present])  # KML/GPX carry altitude; we store 2D
    elif lon_col and lat_col:
        geoms = _points_from_columns(df, lon_col, lat_col, crs, fix_swapped, chk)
    geoms = _geocode_missing(df, spec, geoms, chk, out, communes, gazetteer)
    allowed = {"Point": {"Point"}, "MultiPolygon": {"Polygon", "MultiPolygon"},
               "MultiLineString": {"LineString", "MultiLineString"}, "LineString": {"LineString"},
               "Geometry": {"Point", "Polygon", "MultiPolygon", "MultiPoint", "LineString",
                            "MultiLineString"}}[spec.geometry_type]
    for i in np.flatnonzero([g is None for g in geoms]):
        if i + 1 not in chk.bad:
            chk.error(i + 1, "geometry", None, "no geometry: give lon/lat or an address that "
                      "names a commune", "missing_geometry")
    idx = np.flatnonzero([g is not None for g in geoms])
    if not len(idx):
        return geoms
    # vectorised screening; only rows that fail a test go through the slow, explaining path
    arr = geoms[idx]
    coords, owner = shapely.get_coordinates(arr, return_index=True)
    finite = np.ones(len(arr), dtype=bool)
    finite[owner[~np.isfinite(coords).all(axis=1)]] = False
    bounds = shapely.bounds(arr)
    suspect = (shapely.is_empty(arr) | ~finite | ~shapely.is_valid(arr)
               | ~np.isin(shapely.get_type_id(arr), [_TYPE_IDS[t] for t in allowed])
               | ~_in_region(bounds[:, 0], bounds[:, 1]) | ~_in_region(bounds[:, 2], bounds[:, 3]))
    for i in idx[suspect]:
        geoms[i] = _explain_geometry(i + 1, geoms[i], spec, allowed, repair, chk)
    _check_inside_province(geoms, chk)
    return geoms


_TYPE_IDS = {"Point": 0, "LineString": 1, "Polygon": 3, "MultiPoint": 4, "MultiLineString": 5,
             "MultiPolygon": 6}


def _explain_geometry(r: int, g, spec: Layer, allowed: set, repair: bool, chk: Checker):
    """Say what is wrong with one geometry; return it (repaired) or None when rejected."""
    if g.is_empty:
        chk.error(r, "geometry", None, "empty geometry", "empty_geometry")
        return None
    if g.geom_type not in allowed:
        chk.error(r, "geometry", g.geom_type, f"geometry type {g.geom_type} not allowed for "
                  f"{spec.name} (expects {spec.geometry_type})", "geometry_type")
        return None
    coords = shapely.get_coordinates(g)
    if not np.isfinite(coords).all():
        chk.error(r, "geometry", None, "coordinates are NaN or infinite", "bad_coordinates")
        return None
    if not g.is_valid:
        reason = shapely.is_valid_reason(g)
        if not repair:
            chk.error(r, "geometry", None, f"invalid geometry: {reason}; fix it or load with "
                      "--repair", "invalid_geometry")
            return None
        g = shapely.make_valid(g)
        if g.geom_type == "GeometryCollection":
            polys = [p for p in g.geoms if p.geom_type in ("Polygon", "MultiPolygon")]
            g = shapely.union_all(polys) if polys else g
        chk.warn(r, "geometry", None, f"invalid geometry ({reason}) repaired with make_valid",
                 "repaired_geometry")
    lon, lat = coords[:, 0], coords[:, 1]
    if not _in_region(lon, lat).all():
        if (np.abs(lon) > 180).any() or (np.abs(lat) > 90).any():
            chk.error(r, "geometry", f"{lon[0]:.1f}, {lat[0]:.1f}", "coordinates are not lon/lat "
                      "degrees (projected metres?); declare the CRS, e.g. --crs EPSG:32648",
                      "projected_coordinates")
            return None
        if _in_region(lat, lon).all():
            chk.error(r, "geometry", f"{lon[0]}, {lat[0]}", "lat/lon look swapped; load with "
                      "--fix-swapped to swap them", "swapped_lat_lon")
            return None
    return g


def _check_inside_province(geoms: np.ndarray, chk: Checker) -> None:
    """Reject geometries outside Nghệ An, naming the distance; vectorised over all rows."""
    todo = ~shapely.is_missing(geoms)
    if not todo.any():
        return
    idx = np.flatnonzero(todo)
    arr = np.asarray(geoms[idx], dtype=object)
    prov = _province_metric()
    inside = np.zeros(len(idx), dtype=bool)
    points = shapely.get_type_id(arr) == 0
    if points.any():  # points tested as coordinates, without making metric points
        x, y = _to_metric().transform(shapely.get_x(arr[points]), shapely.get_y(arr[points]))
        inside[points] = shapely.intersects_xy(prov, x, y)
    if not points.all():
        inside[~points] = shapely.intersects(prov, _metric(arr[~points]))
    for j in np.flatnonzero(~inside):
        i, gm = idx[j], _metric(arr[j:j + 1])[0]
        km = prov.distance(gm) / 1000
        x, y = shapely.get_coordinates(geoms[i])[0]
        if km > OUTSIDE_TOLERANCE_KM:
            chk.error(i + 1, "geometry", f"{x:.5f}, {y:.5f}", f"outside Nghệ An, {km:.1f} km "
                      "from the province boundary", "outside_province")
            geoms[i] = None
        else:
            chk.warn(i + 1, "geometry", None, f"{km * 1000:.0f} m outside the province outline "
                     "(within tolerance)", "near_boundary")


def _metric(geoms: np.ndarray) -> np.ndarray:
    """Lon/lat geometries in metres (EPSG:32648)."""
    return gpd.GeoSeries(geoms, crs=STORAGE_CRS).to_crs(METRIC_CRS).values


@lru_cache(maxsize=1)
def _to_metric() -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(STORAGE_CRS, METRIC_CRS, always_xy=True)


@lru_cache(maxsize=1)
def _province_metric() -> shapely.Geometry:
    geom = boundaries.province().to_crs(METRIC_CRS).geometry.iloc[0]
    shapely.prepare(geom)
    return geom


def _points_from_columns(df, lon_col, lat_col, crs, fix_swapped, chk) -> np.ndarray:
    n = len(df)
    lon = np.full(n, np.nan)
    lat = np.full(n, np.nan)
    for arr, col in ((lon, lon_col), (lat, lat_col)):
        raw = df[col]
        cells = raw.to_numpy(dtype=object).tolist()
        if all(v.__class__ is str for v in cells):  # text as read from CSV/XLSX: in line
            text = pd.Series([v.strip().replace(",", ".") for v in cells], dtype=object)
        else:
            text = raw.astype(str).str.strip().str.replace(",", ".", regex=False)
        num = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)
        blank = blank_mask(cells)
        for i in np.flatnonzero(~blank & ~np.isfinite(num)):
            chk.error(i + 1, col, raw.iloc[i], "not a finite number", "bad_type")
        arr[:] = np.where(np.isfinite(num) & ~blank, num, np.nan)
    if crs:
        tr = pyproj.Transformer.from_crs(crs, STORAGE_CRS, always_xy=True)
        lon, lat = tr.transform(lon, lat)
    ok = ~(np.isnan(lon) | np.isnan(lat))
    if not crs:
        swapped = ok & ~_in_region(lon, lat) & _in_region(lat, lon)
        for i in np.flatnonzero(swapped):
            x, y = float(lon[i]), float(lat[i])
            if fix_swapped:
                chk.warn(i + 1, lat_col, y, f"lat/lon were swapped ({lon_col}={x}, {lat_col}={y}); "
                         "swapped back", "swapped_fixed")
                lon[i], lat[i] = y, x
            else:
                chk.error(i + 1, lat_col, y, f"looks like longitude: lat/lon swapped? "
                          f"({lon_col}={x}, {lat_col}={y}); load with --fix-swapped",
                          "swapped_lat_lon")
                ok[i] = False
    geoms = np.full(n, None, dtype=object)
    geoms[ok] = shapely.points(lon[ok], lat[ok])
    return geoms


def _geocode_missing(df, spec, geoms, chk, out, communes, gazetteer) -> np.ndarray:
    """Place rows without coordinates at their commune's representative point."""
    if "address" not in df.columns or spec.geometry_type not in ("Point", "Geometry"):
        return geoms
    todo = [i for i, g in enumerate(geoms) if g is None and (i + 1) not in chk.bad]
    if not todo:
        return geoms
    if gazetteer is None:
        from geo_pcmt.ingest.gazetteer import Gazetteer
        gazetteer = Gazetteer.default()
    reps = dict(zip(communes["code"], communes.geometry.representative_point()))
    addresses = df["address"].to_numpy(dtype=object)
    for i in todo:
        addr = addresses[i]
        if is_blank(addr):
            continue
        m = gazetteer.match(str(addr))
        if m.status != "matched":
            reason = m.reason or m.status
            if m.status == "ambiguous":
                reason = f"address matches several communes ({', '.join(m.candidates)}); " \
                         "add the commune or district name"
            chk.error(i + 1, "address", addr, f"cannot place the point: {reason}",
                      f"geocode_{m.status}")
            continue
        geoms[i] = reps[m.commune_code]
        if "geocode_quality" in spec.field_names:
            out.setdefault("geocode_quality", [None] * len(geoms))[i] = "commune"
        chk.warn(i + 1, "address", addr, f"placed at the centre of {m.commune_name} "
                 f"(match score {m.score:.2f}); geocode_quality=commune", "geocoded_commune")
    return geoms


def check_commune(out, geometry, communes, spec, chk) -> None:
    """Set ``commune_code`` (and ``is_border``) in ``out`` from where each geometry lies,
    warning where the file said another commune and rejecting unknown codes."""
    if "commune_code" not in spec.field_names:
        return
    n = len(geometry)
    geometry = np.asarray(geometry, dtype=object)
    valid = ~shapely.is_missing(geometry)
    codes = np.full(n, None, dtype=object)
    if valid.any():
        probe = geometry[valid]
        areal = shapely.get_type_id(probe) != 0  # lines and polygons: a point on them
        probe[areal] = shapely.point_on_surface(probe[areal])
        codes[valid] = assign_communes(probe, communes)
    border = dict(zip(communes["code"], communes["is_border"]))
    given = out.get("commune_code")
    if given is None or all(g is None for g in given):
        out["commune_code"] = codes.tolist()
        if "is_border" in spec.field_names:
            out["is_border"] = [border.get(c) if c is not None else None
                                for c in out["commune_code"]]
        return
    known = set(communes["code"])
    final = []
    for i in range(n):
        g, c = given[i], codes[i]
        if g is not None and g not in known:
            chk.error(i + 1, "commune_code", g, "unknown commune code (not one of the 130 "
                      "communes of 2025)", "unknown_commune")
        elif g is not None and c is not None and g != c:
            chk.warn(i + 1, "commune_code", g, f"the point lies in commune {c}; using {c}",
                     "commune_mismatch")
        final.append(c if c is not None else g)
    out["commune_code"] = final
    if "is_border" in spec.field_names:
        out["is_border"] = [border.get(c) if c is not None else None for c in final]


def check_commune_codes(out, communes, chk) -> None:
    """Reject ``commune_code`` values that are not one of the 2025 communes (tables)."""
    known = set(communes["code"])
    for i, c in enumerate(out["commune_code"]):
        if c is not None and c not in known:
            chk.error(i + 1, "commune_code", c, "unknown commune code (not one of the 130 "
                      "communes of 2025)", "unknown_commune")

