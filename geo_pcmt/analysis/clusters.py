"""Density clusters (DBSCAN, HDBSCAN) of drug-activity points and one polygon per cluster.

Points from any mix of layers (retail points — điểm bán lẻ, tụ điểm —, opium plots, cases …)
are first brought to one frame by :func:`combine_points` (layer, type, active/cleared, dates,
per-layer weight), then labelled by :func:`dbscan` or :func:`hdbscan` in EPSG:32648 metres,
then summarised by :func:`cluster_polygons` into the ``hotspot_clusters`` layer shape.
"""
from __future__ import annotations

import json
import warnings
from typing import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sklearn.cluster import HDBSCAN

from geo_pcmt.crs import METRIC_CRS, STORAGE_CRS, transform_xy
from geo_pcmt.analysis import csr
from geo_pcmt.analysis.dbscan import (  # noqa: F401 — dbscan, suggest_eps_m importable from here
    EpsSuggestion,
    _relabel_by_size,
    _weights,
    _xy,
    dbscan,
    suggest_eps_m,
)
from geo_pcmt.analysis.grid import metric_xy

# What each record layer contributes: the column giving its type, its start/end dates and
# how its status maps to active / cleared. Layers not listed still cluster (type = layer).
LAYER_FIELDS: dict[str, dict[str, str | None]] = {
    "retail_points": {"type": "type", "start": "first_seen", "end": "last_activity",
                      "cleared": "cleared_on"},
    "opium_plots": {"type": None, "start": "detected_on", "end": "eradicated_on",
                    "cleared": "eradicated_on"},
    "cases": {"type": "kind", "start": "date", "end": "date", "cleared": None},
    "border_crossings": {"type": "kind", "start": None, "end": None, "cleared": None},
}
DEFAULT_LAYER_WEIGHTS: dict[str, float] = {"retail_points": 1.0, "opium_plots": 1.0, "cases": 1.0}

POINT_COLUMNS = ("layer", "ref", "type", "state", "re_emerged", "date_start", "date_end",
                 "present_until", "area_m2", "weight", "x_m", "y_m")
CLUSTER_COLUMNS = ["method", "cluster", "n_points", "n_active", "n_cleared", "n_re_emerged",
                   "weight", "counts", "first_date", "last_date", "communes", "commune_names",
                   "nearest_crossing", "crossing_kind", "dist_crossing_km", "dist_border_km",
                   "centroid_x_m", "centroid_y_m"]


def _date_text(values: pd.Series) -> pd.Series:
    out = pd.to_datetime(values, errors="coerce")
    return out.dt.strftime("%Y-%m-%d").where(out.notna(), None)


def _layer_state(name: str, status: pd.Series, cleared_on: pd.Series, n: int
                 ) -> tuple[pd.Series, np.ndarray]:
    """``state`` (active / watch / cleared / event) and ``re_emerged`` of one layer's records."""
    if name == "retail_points":
        state = status.map({"active": "active", "re-emerged": "active", "watch": "watch",
                            "cleared": "cleared"}).fillna("active")
        return state, (status == "re-emerged").to_numpy()
    if name == "opium_plots":
        return (pd.Series(np.where(cleared_on.notna(), "cleared", "active"), dtype=object),
                np.zeros(n, dtype=bool))
    return pd.Series(["event"] * n, dtype=object), np.zeros(n, dtype=bool)


def _layer_points(name: str, frame: gpd.GeoDataFrame, weight: float) -> pd.DataFrame:
    """The :data:`POINT_COLUMNS` (without geometry) of one layer's records."""
    spec = LAYER_FIELDS.get(name, {"type": None, "start": None, "end": None, "cleared": None})
    x, y = metric_xy(frame)
    n = len(frame)

    def col(key, default=None):
        c = spec.get(key)
        if c and c in frame.columns:
            return frame[c].reset_index(drop=True)
        return pd.Series([default] * n, dtype=object)

    if name == "opium_plots":
        kind = pd.Series(["opium_plot"] * n, dtype=object)
    else:
        kind = col("type", name).fillna(name).astype(str)
    status = frame["status"].reset_index(drop=True) if "status" in frame.columns \
        else pd.Series([None] * n, dtype=object)
    cleared_on = _date_text(col("cleared"))
    state, re_emerged = _layer_state(name, status, cleared_on, n)
    start = _date_text(col("start"))
    end = _date_text(col("end"))
    end = end.where(end.notna(), start)
    if name == "retail_points":
        # a retail point is a place that stays until it is cleared (a re-emerged one is
        # back, so it counts from first seen on)
        present = cleared_on.where((status == "cleared").to_numpy(), None)
    else:
        present = start  # cases and plot detections are events of one day
    area = pd.to_numeric(frame["area_m2"], errors="coerce").reset_index(drop=True) \
        if "area_m2" in frame.columns else pd.Series(np.nan, index=range(n))
    ids = frame["id"].astype(str).reset_index(drop=True) if "id" in frame.columns \
        else pd.Series([f"{name}-{i}" for i in range(n)])
    return pd.DataFrame({
        "layer": name, "ref": ids, "type": kind, "state": state,
        "re_emerged": re_emerged, "date_start": start, "date_end": end,
        "present_until": present, "area_m2": area.to_numpy(float), "weight": weight,
        "x_m": x, "y_m": y,
    })


def combine_points(layers: Mapping[str, gpd.GeoDataFrame], *,
                   layer_weights: Mapping[str, float] | None = None) -> gpd.GeoDataFrame:
    """One frame of activity points from several layers, ready to cluster.

    Parameters
    ----------
    layers : mapping layer name → GeoDataFrame (as read from the store)
    layer_weights : mapping layer name → weight, optional
        Weight of one record of that layer in the density (default 1 for every layer).
        With DBSCAN a point of weight ≥ ``min_samples`` is a core point on its own.

    Returns
    -------
    GeoDataFrame in EPSG:4326 with columns ``layer``, ``ref`` (record id), ``type``
    (retail type, case kind, ``opium_plot`` …), ``state`` (``active`` / ``watch`` /
    ``cleared`` / ``event``), ``re_emerged`` (bool), ``date_start``, ``date_end`` (ISO
    dates), ``present_until`` (last day the record counts as present over time: the
    clearing date of a cleared retail point, None — still present — for other retail
    points, the record's own date for cases and plot detections), ``area_m2`` (opium
    plots), ``weight``, ``x_m``, ``y_m`` (EPSG:32648) and point geometry (polygons are
    represented by a point on their surface).

    Examples
    --------
    >>> rp = gpd.GeoDataFrame({"id": ["R1", "R2"], "type": "diem_ban_le",
    ...                        "status": ["active", "cleared"],
    ...                        "first_seen": ["2024-01-05", "2024-02-01"],
    ...                        "cleared_on": [None, "2025-03-01"]},
    ...                       geometry=shapely.points([105.6, 105.61], [18.7, 18.7]), crs=4326)
    >>> cases = gpd.GeoDataFrame({"id": ["C1"], "kind": "retail", "date": ["2025-06-01"]},
    ...                          geometry=[shapely.Point(105.6, 18.71)], crs=4326)
    >>> pts = combine_points({"retail_points": rp, "cases": cases}, layer_weights={"cases": 0.5})
    >>> for row in pts[["ref", "type", "state", "present_until", "weight"]].itertuples():
    ...     print(*row[1:])
    R1 diem_ban_le active nan 1.0
    R2 diem_ban_le cleared 2025-03-01 1.0
    C1 retail event 2025-06-01 0.5
    """
    weights = dict(layer_weights or {})
    parts = []
    for name, frame in layers.items():
        if frame is None or len(frame) == 0:
            continue
        if not isinstance(frame, gpd.GeoDataFrame):
            raise TypeError(f"layer {name}: a GeoDataFrame with geometry is needed")
        weight = float(weights.get(name, 1.0))
        if not weight > 0:
            raise ValueError(f"layer {name}: weight must be > 0, got {weight!r}")
        parts.append(_layer_points(name, frame, weight))
    if not parts:
        empty = pd.DataFrame({c: pd.Series([], dtype=object) for c in POINT_COLUMNS})
        return gpd.GeoDataFrame(empty, geometry=gpd.GeoSeries([], crs=STORAGE_CRS), crs=STORAGE_CRS)
    data = pd.concat(parts, ignore_index=True)
    return gpd.GeoDataFrame(data, geometry=_storage_points(layers, data), crs=STORAGE_CRS)


def _storage_points(layers: Mapping[str, gpd.GeoDataFrame], data: pd.DataFrame) -> np.ndarray:
    """The lon/lat point of each combined record: a record's own point geometry when it
    is stored as a point in EPSG:4326 (no new geometry, no round trip), else its metric
    point reprojected back (polygons, other CRSs) as coordinate arrays."""
    own = [np.asarray(f.geometry.values, dtype=object) for f in layers.values()
           if f is not None and len(f)]
    geoms = np.concatenate(own) if own else np.empty(0, dtype=object)
    crs_ok = all(f.crs is not None and f.crs.equals(STORAGE_CRS) for f in layers.values()
                 if f is not None and len(f))
    redo = np.ones(len(data), dtype=bool) if not crs_ok or len(geoms) != len(data) \
        else shapely.get_type_id(geoms) != 0
    if not redo.any():
        return geoms
    out = geoms.copy() if len(geoms) == len(data) else np.empty(len(data), dtype=object)
    lon, lat = transform_xy(data["x_m"].to_numpy()[redo], data["y_m"].to_numpy()[redo],
                            METRIC_CRS, STORAGE_CRS)
    out[redo] = shapely.points(lon, lat)
    return out


def hdbscan(points: gpd.GeoDataFrame, *, min_cluster_size: int = 5,
            min_samples: int | None = None, cluster_selection_epsilon_m: float = 0.0,
            weight_column: str | None = "weight", engine: str = "sklearn",
            noise_alpha: float | None = csr.NOISE_ALPHA,
            area_m2: float | None = None) -> gpd.GeoDataFrame:
    """Label points with HDBSCAN clusters (copes with clusters of different density).

    Parameters
    ----------
    points : GeoDataFrame of points, any CRS (clustered in EPSG:32648 metres)
    min_cluster_size : int
        Smallest group reported as a cluster (default 5, as DOMAIN.md §5).
    min_samples : int, optional
        Density smoothing; defaults to ``min_cluster_size`` (scikit-learn's convention:
        the point itself counts).
    cluster_selection_epsilon_m : float
        Clusters closer than this many metres are merged (0 = off).
    weight_column : str or None
        HDBSCAN has no sample weights: a point of integer weight *k* is entered *k* times
        (weights are rounded, at least 1), so weights should be small integers.
    engine : {"sklearn", "hdbscan"}
        ``"sklearn"`` (default, always available) or the ``hdbscan`` package
        (scikit-learn-contrib; Borůvka KD-tree, much faster beyond ~50 000 points; its
        ``min_samples`` is given as ours − 1 because it does not count the point itself).
        The two can split borderline noise differently; the engine is part of the run
        parameters.
    noise_alpha : float or None
        Keep only clusters holding a point more crowded than a uniform scatter of as many
        points shows with probability ``noise_alpha`` (:mod:`geo_pcmt.analysis.csr`), so
        uniform noise gives no cluster; None keeps every HDBSCAN cluster.
    area_m2 : float, optional
        Study area for that test (default: the convex hull of the points).

    Returns
    -------
    A copy of ``points`` with ``cluster`` (int, −1 = noise; 0 is the largest cluster) and
    ``probability``.
    """
    if int(min_cluster_size) < 2:
        raise ValueError(f"min_cluster_size must be ≥ 2, got {min_cluster_size!r}")
    if engine not in ("sklearn", "hdbscan"):
        raise ValueError(f"engine must be 'sklearn' or 'hdbscan', got {engine!r}")
    out = points.copy()
    n = len(points)
    if n == 0:
        out["cluster"] = pd.Series([], dtype=int)
        out["probability"] = pd.Series([], dtype=float)
        return out
    xy = _xy(points)
    w = _weights(points, weight_column)
    reps = np.ones(n, dtype=np.int64) if w is None else np.maximum(1, np.rint(w)).astype(np.int64)
    owner = np.repeat(np.arange(n), reps)
    data = xy[owner] if len(owner) != n else xy
    ms = int(min_samples) if min_samples is not None else int(min_cluster_size)
    if len(data) <= ms:
        out["cluster"] = -1
        out["probability"] = 0.0
        return out
    if engine == "hdbscan":
        import hdbscan as hdbscan_lib  # optional dependency
        model = hdbscan_lib.HDBSCAN(min_cluster_size=int(min_cluster_size),
                                    min_samples=max(1, ms - 1),
                                    cluster_selection_epsilon=float(cluster_selection_epsilon_m),
                                    approx_min_span_tree=False, core_dist_n_jobs=1)
        model.fit(data)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            model = HDBSCAN(min_cluster_size=int(min_cluster_size), min_samples=ms,
                            cluster_selection_epsilon=float(cluster_selection_epsilon_m),
                            copy=True)
            model.fit(data)
    first = np.r_[0, np.cumsum(reps)[:-1]]  # the first copy of each point speaks for it
    labels = model.labels_
    if noise_alpha is not None:
        labels = csr.clusters_beyond_chance(data, labels, ms - 1, area_m2, noise_alpha)
    out["cluster"] = _relabel_by_size(labels[first])
    out["probability"] = np.asarray(model.probabilities_)[first].astype(float)
    return out


# --- cluster polygons and their summaries ------------------------------------------------

HULL_MAX_POINTS = 50_000  # members a hull is drawn through before they are thinned (_thinned)

def _hulls(xy: np.ndarray, labels: np.ndarray, ids: np.ndarray, *, hull: str,
           concave_ratio: float, buffer_m: float, n_jobs: int | None = -1,
           max_points: int | None = HULL_MAX_POINTS) -> np.ndarray:
    """One buffered hull per label ``0..k-1`` (``xy`` in metres, ``labels`` dense).

    A cluster of more than ``max_points`` members is outlined from its points thinned by
    :func:`_thinned` (see there); every other cluster from all its members.

    The members of each label become one MultiPoint straight from the coordinate array
    (no Point object per member); the hulls are computed by shapely on ``n_jobs`` threads
    (shapely releases the GIL), clusters shared out by size so the threads finish together.
    """
    if hull not in ("concave", "convex"):
        raise ValueError(f"hull must be 'concave' or 'convex', got {hull!r}")
    xy, labels = _thinned(xy, labels, max_points, buffer_m)
    order = np.argsort(labels, kind="stable")
    # one MultiPoint per cluster label 0..k-1 (shapely wants the parts grouped by index)
    mp = shapely.multipoints(xy[order], indices=labels[order])[ids]
    sizes = np.bincount(labels, minlength=len(mp))[ids]

    def one(part: np.ndarray) -> np.ndarray:
        shapes = shapely.concave_hull(mp[part], ratio=concave_ratio) if hull == "concave" \
            else shapely.convex_hull(mp[part])
        # a buffer turns one- or two-point and collinear clusters into areas, and leaves
        # room for the position error of the records
        return shapely.buffer(shapes, buffer_m, quad_segs=4)

    parts = _balanced_parts(sizes, _threads(n_jobs))
    out = np.empty(len(mp), dtype=object)
    if len(parts) == 1:
        out[parts[0]] = one(parts[0])
        return out
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(len(parts)) as pool:
        for part, shapes in zip(parts, pool.map(one, parts)):
            out[part] = shapes
    return out


def _thinned(xy: np.ndarray, labels: np.ndarray, max_points: int | None, buffer_m: float
             ) -> tuple[np.ndarray, np.ndarray]:
    """The members of each cluster larger than ``max_points`` thinned to one per occupied
    grid cell (the first member in the cell), the cell as small as keeps at most
    ``max_points`` (from ``buffer_m`` / 4 up, doubling); smaller clusters unchanged.

    A concave hull triangulates every member: at a million clustered records the defaults
    can merge half of them into one cluster, whose triangulation alone took ~850 MB and
    ~10 s. Thinned, its outline moves by about a cell (measured in
    ``benchmarks/hotspots.py``), and memory stays bounded whatever the density.
    """
    if max_points is None or not len(labels):
        return xy, labels
    sizes = np.bincount(labels)
    big = np.flatnonzero(sizes > max_points)
    if not len(big):
        return xy, labels
    keep = ~np.isin(labels, big)
    for lab in big:
        idx = np.flatnonzero(labels == lab)
        cell = max(buffer_m / 4.0, 1.0)
        while True:
            ij = np.floor((xy[idx] - xy[idx].min(axis=0)) / cell).astype(np.int64)
            _, first = np.unique(ij[:, 0] * (ij[:, 1].max() + 1) + ij[:, 1], return_index=True)
            if len(first) <= max_points:
                break
            cell *= 2.0
        keep[idx[np.sort(first)]] = True
    return xy[keep], labels[keep]


def _threads(n_jobs: int | None) -> int:
    """Threads for ``n_jobs`` as scikit-learn reads it (None → 1, −1 → every core)."""
    import os
    cores = os.cpu_count() or 1
    if n_jobs is None:
        return 1
    return max(1, cores + 1 + int(n_jobs)) if int(n_jobs) < 0 else max(1, int(n_jobs))


def _balanced_parts(sizes: np.ndarray, k: int) -> list[np.ndarray]:
    """Indices of ``sizes`` shared among ``k`` parts, biggest first to the lightest part."""
    k = max(1, min(k, len(sizes)))
    if k == 1 or sizes.sum() < 20_000:  # small work: threads cost more than they save
        return [np.arange(len(sizes))]
    load = np.zeros(k)
    owner = np.empty(len(sizes), dtype=np.int64)
    for i in np.argsort(-sizes, kind="stable"):
        owner[i] = int(np.argmin(load))
        load[owner[i]] += sizes[i]
    return [np.flatnonzero(owner == j) for j in range(k)]


def to_multipolygons(geoms: np.ndarray) -> np.ndarray:
    """Polygons wrapped as one-part MultiPolygons (the derived layers' geometry type)."""
    out = np.asarray(geoms, dtype=object).copy()
    single = np.flatnonzero(shapely.get_type_id(out) == 3)
    if len(single):
        out[single] = shapely.multipolygons(out[single], indices=np.arange(len(single)))
    return out


def line_segments(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two-point segments of (multi)line geometries and the index of the geometry each
    came from; points and polygons are passed through as they are.

    A spatial index over short segments answers "how far to the border line" in
    logarithmic time, where one long line would be compared vertex by vertex.
    """
    geoms = np.asarray(geoms, dtype=object)
    parts, owner = shapely.get_parts(geoms, return_index=True)
    is_line = shapely.get_type_id(parts) == 1
    out, out_owner = [parts[~is_line]], [owner[~is_line]]
    if is_line.any():
        coords, ring = shapely.get_coordinates(parts[is_line], return_index=True)
        same = ring[1:] == ring[:-1]
        starts = coords[:-1][same]
        ends = coords[1:][same]
        out.append(shapely.linestrings(np.stack([starts, ends], axis=1)))
        out_owner.append(owner[is_line][ring[:-1][same]])
    return np.concatenate(out), np.concatenate(out_owner)


def nearest_feature(geoms_m: np.ndarray, features: gpd.GeoDataFrame | None,
                    name_column: str = "name") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nearest feature (index, name, distance in km) of each metric geometry.

    ``features`` may be in any CRS (points, lines or polygons). Without features every
    distance is NaN.
    """
    n = len(geoms_m)
    if features is None or len(features) == 0:
        return np.full(n, -1), np.full(n, None, dtype=object), np.full(n, np.nan)
    fm = features.to_crs(METRIC_CRS)
    pieces, owner = line_segments(np.asarray(fm.geometry.values, dtype=object))
    tree = shapely.STRtree(pieces)
    (gi, pi), dist = tree.query_nearest(geoms_m, return_distance=True, all_matches=False)
    fi = owner[pi]
    idx = np.full(n, -1)
    idx[gi] = fi
    d = np.full(n, np.nan)
    d[gi] = dist / 1000.0
    names = np.full(n, None, dtype=object)
    if name_column in features.columns:
        vals = features[name_column].to_numpy(dtype=object)
        names[gi] = vals[fi]
    return idx, names, d


def communes_touching(geoms_m: np.ndarray, communes: gpd.GeoDataFrame | None
                      ) -> tuple[list[list[str]], list[list[str]]]:
    """Codes and names of the communes each metric geometry intersects."""
    n = len(geoms_m)
    if communes is None or len(communes) == 0:
        return [[] for _ in range(n)], [[] for _ in range(n)]
    cm = communes.to_crs(METRIC_CRS)
    codes = cm["code"].astype(str).to_numpy(dtype=object) if "code" in cm.columns \
        else cm["id"].astype(str).to_numpy(dtype=object)
    names = cm["name"].astype(str).to_numpy(dtype=object) if "name" in cm.columns else codes
    gi, ci = shapely.STRtree(np.asarray(cm.geometry.values, dtype=object)).query(
        geoms_m, predicate="intersects")
    out_codes: list[list[str]] = [[] for _ in range(n)]
    out_names: list[list[str]] = [[] for _ in range(n)]
    for g, c in zip(gi, ci):
        out_codes[g].append(codes[c])
        out_names[g].append(names[c])
    return out_codes, out_names


def cluster_polygons(labelled: gpd.GeoDataFrame, *, method: str = "dbscan",
                     hull: str = "concave", concave_ratio: float = 0.3, buffer_m: float = 150.0,
                     communes: gpd.GeoDataFrame | None = None,
                     crossings: gpd.GeoDataFrame | None = None,
                     border: gpd.GeoDataFrame | None = None,
                     hull_max_points: int | None = HULL_MAX_POINTS) -> gpd.GeoDataFrame:
    """One polygon per cluster with what a commander asks first.

    Parameters
    ----------
    labelled : output of :func:`dbscan` / :func:`hdbscan` on :func:`combine_points` points
    method : {"dbscan", "hdbscan"}
        Recorded in the output.
    hull : {"concave", "convex"}
        Concave (``shapely.concave_hull`` with ``concave_ratio``; follows a valley or a
        road) or convex hull of the members, then buffered by ``buffer_m``.
    concave_ratio : float
        0 = tightest concave hull, 1 = convex hull (default 0.3).
    buffer_m : float
        Buffer around the hull in metres (default 150 m: gives single-line clusters an
        area and covers typical geocoding error).
    communes, crossings, border : GeoDataFrames, optional
        Communes (``code``, ``name``), border crossings (``name``, ``kind``) and the border
        line, any CRS; without them the related columns are empty.
    hull_max_points : int or None
        A cluster of more members is outlined from its members thinned to one per grid
        cell (see ``_thinned``; default 50 000); None draws every hull through all members.

    Returns
    -------
    GeoDataFrame (EPSG:4326, MultiPolygon) with the ``hotspot_clusters`` fields except the
    run fields: ``method``, ``cluster``, ``n_points``, ``n_active``, ``n_cleared``,
    ``n_re_emerged``, ``weight``, ``counts`` (JSON ``{layer: {type: n}}``), ``first_date``,
    ``last_date``, ``communes`` (codes, ``;``-separated), ``commune_names``,
    ``nearest_crossing``, ``crossing_kind``, ``dist_crossing_km``, ``dist_border_km``,
    ``centroid_x_m``, ``centroid_y_m``.
    """
    if "cluster" not in labelled.columns:
        raise KeyError("labelled points need a 'cluster' column (run dbscan or hdbscan first)")
    keep = (labelled["cluster"] >= 0).to_numpy()
    if not keep.any():
        empty = pd.DataFrame({c: pd.Series([], dtype=object) for c in CLUSTER_COLUMNS})
        return gpd.GeoDataFrame(empty, geometry=gpd.GeoSeries([], crs=STORAGE_CRS), crs=STORAGE_CRS)
    labels = labelled["cluster"].to_numpy(int)[keep]
    ids, dense = np.unique(labels, return_inverse=True)
    geoms = _hulls(_xy(labelled)[keep], dense, np.arange(len(ids)), hull=hull,
                   concave_ratio=concave_ratio, buffer_m=buffer_m, max_points=hull_max_points)
    # only the columns the summaries read, members only (not a copy of every column)
    used = [c for c in _SUMMARY_COLUMNS if c in labelled.columns]
    frame = pd.DataFrame({c: labelled[c].to_numpy()[keep] for c in used})
    frame["_c"] = dense
    out = pd.DataFrame({"method": method, "cluster": ids.astype(int),
                        **_member_counts(frame, len(ids)),
                        **_surroundings(geoms, communes, crossings, border)})
    cent = shapely.centroid(geoms)
    out["centroid_x_m"] = shapely.get_x(cent)
    out["centroid_y_m"] = shapely.get_y(cent)
    for c in ("first_date", "last_date", "nearest_crossing", "crossing_kind"):
        out[c] = out[c].astype(object).where(out[c].notna(), None)
    metric = gpd.GeoSeries(to_multipolygons(geoms), crs=METRIC_CRS)
    return gpd.GeoDataFrame(out[CLUSTER_COLUMNS], geometry=metric.to_crs(STORAGE_CRS).values,
                            crs=STORAGE_CRS)


_SUMMARY_COLUMNS = ("state", "re_emerged", "weight", "layer", "type", "date_start", "date_end")


def _member_counts(frame: pd.DataFrame, n_clusters: int) -> dict[str, object]:
    """Per cluster (``_c``): members by state, weight, counts by layer and type, date range."""
    c = frame["_c"]
    state = frame["state"] if "state" in frame.columns else pd.Series("event", index=frame.index)
    re_em = frame["re_emerged"].fillna(False).astype(bool) if "re_emerged" in frame.columns \
        else pd.Series(False, index=frame.index)
    weight = frame["weight"] if "weight" in frame.columns else pd.Series(1.0, index=frame.index)
    layer = frame["layer"] if "layer" in frame.columns else pd.Series("points", index=frame.index)
    kind = frame["type"] if "type" in frame.columns else layer
    counts_tbl = pd.crosstab(c, [layer, kind])
    counts = []
    for k in range(n_clusters):
        d: dict[str, dict[str, int]] = {}
        if k in counts_tbl.index:
            for (lay, typ), v in counts_tbl.loc[k].items():
                if v:
                    d.setdefault(str(lay), {})[str(typ)] = int(v)
        counts.append(json.dumps(d, ensure_ascii=False, sort_keys=True))
    start = frame["date_start"] if "date_start" in frame.columns \
        else pd.Series(None, index=frame.index)
    end = frame["date_end"] if "date_end" in frame.columns else start
    return {
        "n_points": frame.groupby("_c", sort=True).size().to_numpy().astype(int),
        "n_active": state.eq("active").groupby(c).sum().to_numpy().astype(int),
        "n_cleared": state.eq("cleared").groupby(c).sum().to_numpy().astype(int),
        "n_re_emerged": re_em.groupby(c).sum().to_numpy().astype(int),
        "weight": weight.groupby(c).sum().to_numpy().astype(float),
        "counts": counts,
        # ISO dates order as text; missing dates are left out
        "first_date": start.dropna().groupby(c).min().reindex(range(n_clusters))
        .to_numpy(dtype=object),
        "last_date": end.dropna().groupby(c).max().reindex(range(n_clusters))
        .to_numpy(dtype=object),
    }


def _surroundings(geoms: np.ndarray, communes: gpd.GeoDataFrame | None,
                  crossings: gpd.GeoDataFrame | None,
                  border: gpd.GeoDataFrame | None) -> dict[str, object]:
    """Communes each metric polygon touches, its nearest crossing and the border distance."""
    codes, names = communes_touching(geoms, communes)
    ci, cname, cdist = nearest_feature(geoms, crossings)
    ckind = np.full(len(geoms), None, dtype=object)
    if crossings is not None and len(crossings) and "kind" in crossings.columns:
        kinds = crossings["kind"].to_numpy(dtype=object)
        ckind[ci >= 0] = kinds[ci[ci >= 0]]
    _, _, bdist = nearest_feature(geoms, border)
    return {"communes": [";".join(c) for c in codes],
            "commune_names": ["; ".join(x) for x in names],
            "nearest_crossing": cname, "crossing_kind": ckind,
            "dist_crossing_km": np.round(cdist, 3), "dist_border_km": np.round(bdist, 3)}
