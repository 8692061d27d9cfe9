"""One hotspot run: read the store layers, run the chosen methods, shape the derived layers.

:func:`run` is pure (frames + :class:`HotspotParams` → :class:`HotspotRun`); reading the
store (:func:`read_inputs`) and writing it (:func:`write_run`, :func:`export_run`) are the
only I/O, and the CLI ``geo-pcmt hotspots`` is a thin wrapper around the three.

Every derived row carries ``run_id`` and ``params`` — the JSON of the parameters (flag rules
included), the resolved values (e.g. a suggested ``eps_m``) and a fingerprint (row count +
SHA-1 of ids and coordinates) of every input layer — so a result can be reproduced from its
inputs and checked against them.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Callable, Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo_pcmt.ingest import boundaries
from geo_pcmt.analysis.clusters import (
    DEFAULT_LAYER_WEIGHTS,
    cluster_polygons,
    combine_points,
    dbscan,
    hdbscan,
    suggest_eps_m,
    to_multipolygons,
)
from geo_pcmt.crs import STORAGE_CRS
from geo_pcmt.analysis.density import DensitySurface, kde
from geo_pcmt.analysis.flags import FlagRules, complex_hotspots
from geo_pcmt.analysis.gistar import gi_star
from geo_pcmt.analysis.grid import (
    aggregate_to_hexes,
    distance_band,
    hex_contiguity,
    hex_grid,
    metric_area,
    polygon_contiguity,
)
from geo_pcmt.layers import LAYERS, get_layer
from geo_pcmt.analysis.trends import emerging_hotspots, space_time_cube

METHODS = ("dbscan", "hdbscan", "gistar", "emerging", "kde", "flags")
ALL_METHODS = ("dbscan", "gistar", "emerging", "kde", "flags")
ACTIVITY_LAYERS = ("retail_points", "opium_plots", "cases")
DERIVED_LAYERS = ("hotspot_clusters", "gistar_cells", "emerging_hotspots", "complex_hotspots")


@dataclass(frozen=True)
class HotspotParams:
    """Parameters of a hotspot run (all stored with the results).

    Attributes
    ----------
    methods : subset of :data:`METHODS`; ``flags`` pulls in a clustering (dbscan unless
        hdbscan is chosen), ``gistar`` and ``emerging``.
    layers : activity layers to analyse, with ``layer_weights`` (weight of one record).
    cluster_layers : the layers that are clustered (of those in ``layers``; all of them when
        none is). Cases are left out by default: ~245 a month strung along QL1/QL7/QL48 chain
        DBSCAN clusters for tens of kilometres; they still count in Gi*, emerging hot spots
        and the flags.
    date_from, date_to : ISO dates bounding the records (retail points: first seen by
        ``date_to``; plots: detected; cases: dated in the window). ``None`` = open.
    eps_m, min_samples : DBSCAN (``eps_m=None`` → :func:`geo_pcmt.analysis.clusters.suggest_eps_m`).
    min_cluster_size, hdbscan_engine : HDBSCAN.
    hull, buffer_m : cluster polygons.
    cell_size_m, neighbourhood, distance_band_m, transform, permutations, seed, fdr :
        Gi* on the hex grid (and on communes with queen contiguity if ``commune_gistar``).
    freq, time_lag_steps, emerging_alpha, mk_alpha, emerging_fdr : emerging hot spots.
    kde_bandwidth_m, kde_cell_size_m : heat surface (``None`` → bandwidth rule).
    rules, as_of : complex-hotspot flags (``as_of`` default: ``date_to`` or today).
    """

    methods: tuple[str, ...] = ALL_METHODS
    layers: tuple[str, ...] = ACTIVITY_LAYERS
    cluster_layers: tuple[str, ...] = ("retail_points", "opium_plots")
    layer_weights: tuple[tuple[str, float], ...] = tuple(DEFAULT_LAYER_WEIGHTS.items())
    date_from: str | None = None
    date_to: str | None = None
    eps_m: float | None = 500.0
    min_samples: int = 5
    min_cluster_size: int = 5
    hdbscan_engine: str = "sklearn"
    hull: str = "concave"
    buffer_m: float = 150.0
    cell_size_m: float = 2000.0
    neighbourhood: str = "contiguity"
    distance_band_m: float | None = None
    transform: str = "B"
    permutations: int = 0
    seed: int = 0
    fdr: bool = True
    commune_gistar: bool = True
    freq: str = "month"
    time_lag_steps: int = 1
    emerging_alpha: float = 0.05
    mk_alpha: float = 0.05
    emerging_fdr: bool = False
    kde_bandwidth_m: float | None = None
    kde_cell_size_m: float | None = None
    rules: FlagRules = field(default_factory=FlagRules)
    as_of: str | None = None

    def resolved_methods(self) -> tuple[str, ...]:
        unknown = set(self.methods) - set(METHODS)
        if unknown:
            raise ValueError(f"unknown method(s) {sorted(unknown)}; choose from {METHODS}")
        chosen = set(self.methods)
        if "flags" in chosen:
            chosen |= {"gistar", "emerging"}
            if not chosen & {"dbscan", "hdbscan"}:
                chosen.add("dbscan")
        return tuple(m for m in METHODS if m in chosen)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["rules"] = self.rules.as_dict()
        d["layer_weights"] = dict(self.layer_weights)
        d["methods"] = list(self.resolved_methods())
        d["layers"] = list(self.layers)
        d["cluster_layers"] = list(self.cluster_layers)
        return d


@dataclass
class HotspotRun:
    """What a run produced.

    Attributes
    ----------
    run_id : str — ``hs-<UTC timestamp>-<8 hex of the params>``
    params : dict — stored (as JSON) in every derived row
    frames : dict layer → GeoDataFrame shaped to the derived layer (only the layers the
        chosen methods produce)
    points : labelled activity points (``cluster`` column) or None
    density : :class:`geo_pcmt.analysis.density.DensitySurface` or None
    summary : small dict of counts for printing
    """

    run_id: str
    params: dict
    frames: dict[str, gpd.GeoDataFrame]
    points: gpd.GeoDataFrame | None = None
    density: DensitySurface | None = None
    summary: dict = field(default_factory=dict)


# --- inputs --------------------------------------------------------------------------

def _has_rows(store, layer: str) -> bool:
    try:
        return store.count(layer) > 0
    except Exception:  # noqa: BLE001 — a store without the table simply has no rows
        return False


def read_inputs(store, params: HotspotParams) -> dict[str, gpd.GeoDataFrame]:
    """The frames a run needs, read from ``store`` and filtered to the date window.

    Context layers: ``communes`` and ``border_line`` from the store, falling back to the
    shipped boundaries; ``border_crossings`` from the store, falling back to the five
    named gates of :func:`geo_pcmt.ingest.boundaries.border_gates` (approximate positions).
    """
    lo, hi = params.date_from, params.date_to
    out: dict[str, gpd.GeoDataFrame] = {}
    for layer in params.layers:
        spec = get_layer(layer)
        if not spec.has_geometry:
            raise ValueError(f"layer {layer} has no geometry and cannot be analysed for hotspots")
        where = None
        if layer == "retail_points":
            where = {"first_seen": slice(None, hi)} if hi else None
        elif spec.time_field and (lo or hi):
            where = {spec.time_field: slice(lo, hi)}
        out[layer] = store.read(layer, where=where)
    out["communes"] = store.read("communes") if _has_rows(store, "communes") \
        else boundaries.communes()
    out["border_line"] = store.read("border_line") if _has_rows(store, "border_line") \
        else boundaries.border_line()
    out["border_crossings"] = store.read("border_crossings") \
        if _has_rows(store, "border_crossings") else boundaries.border_gates()
    if "retail_points" not in out and "retail_points" in LAYERS and _has_rows(store, "retail_points"):
        out["retail_points"] = store.read("retail_points")  # flags use them for context
    return out


def fingerprint(frame: pd.DataFrame | None) -> dict:
    """Row count and SHA-1 of the sorted ids and rounded coordinates of a frame."""
    if frame is None:
        return {"rows": 0, "sha1": None}
    ids = frame["id"].astype(str).to_numpy() if "id" in frame.columns \
        else np.arange(len(frame)).astype(str)
    coords = np.zeros((len(frame), 2))
    if isinstance(frame, gpd.GeoDataFrame) and len(frame):
        geoms = np.asarray(frame.geometry.values, dtype=object)
        ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
        pts = shapely.centroid(geoms[ok])
        coords[ok] = np.column_stack([shapely.get_x(pts), shapely.get_y(pts)])
    order = np.argsort(ids, kind="stable")
    h = hashlib.sha1()
    for i in order:
        h.update(f"{ids[i]}|{coords[i, 0]:.6f}|{coords[i, 1]:.6f}\n".encode())
    return {"rows": int(len(frame)), "sha1": h.hexdigest()}


# --- the run ---------------------------------------------------------------------------

def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _shape(frame: gpd.GeoDataFrame, layer: str, run_id: str, params_json: str,
           created_at: str, ids: list[str]) -> gpd.GeoDataFrame:
    """Keep the layer's fields, add the run fields, EPSG:4326, MultiPolygon where needed."""
    spec = get_layer(layer)
    out = frame.copy()
    out["id"] = ids
    out["run_id"] = run_id
    out["params"] = params_json
    out["created_at"] = created_at
    keep = [c for c in spec.field_names if c in out.columns]
    geom = out.geometry.to_crs(STORAGE_CRS)
    if spec.geometry_type == "MultiPolygon":
        geom = gpd.GeoSeries(to_multipolygons(geom.values), crs=STORAGE_CRS)
    data = pd.DataFrame({c: out[c].to_numpy() for c in keep})
    return gpd.GeoDataFrame(data, geometry=np.asarray(geom.values, dtype=object), crs=STORAGE_CRS)


def run(inputs: Mapping[str, gpd.GeoDataFrame], params: HotspotParams | None = None, *,
        progress: Callable[[str], None] | None = None) -> HotspotRun:
    """Run the chosen hotspot methods on ``inputs`` (layer → frame).

    Parameters
    ----------
    inputs : mapping from layer name to frame: activity layers (``params.layers``) and,
        when available, ``communes``, ``border_line``, ``border_crossings``.
    params : :class:`HotspotParams` (defaults if None)
    progress : callable, optional
        Called with a short label before each step (drives the CLI progress bar).

    Returns
    -------
    :class:`HotspotRun` with frames shaped to ``hotspot_clusters``, ``gistar_cells``,
    ``emerging_hotspots`` and ``complex_hotspots`` (those the methods produce).

    Examples
    --------
    >>> result = run(read_inputs(store, HotspotParams()), HotspotParams())
    >>> result.frames["complex_hotspots"][["name", "score", "level"]].head()
    """
    params = params or HotspotParams()
    say = progress or (lambda label: None)
    methods = params.resolved_methods()
    weights = dict(params.layer_weights)
    activity = {name: inputs[name] for name in params.layers if name in inputs}
    if params.date_from:
        # retail points cleared before the window started were not active in it
        rp = activity.get("retail_points")
        if rp is not None and len(rp) and "cleared_on" in rp.columns:
            cleared = pd.to_datetime(rp["cleared_on"], errors="coerce")
            activity["retail_points"] = rp[~(cleared < pd.Timestamp(params.date_from)).to_numpy()]
    communes = inputs.get("communes")
    border = inputs.get("border_line")
    crossings = inputs.get("border_crossings")
    say("points")
    points = combine_points(activity, layer_weights=weights)
    to_cluster = points[points["layer"].isin(params.cluster_layers).to_numpy()] \
        if len(points) else points
    if len(points) and not len(to_cluster):
        to_cluster = points  # only other layers were asked for: cluster what there is
    resolved: dict = {}
    fingerprints = {name: fingerprint(frame) for name, frame in sorted(activity.items())}
    for name in ("communes", "border_line", "border_crossings"):
        fingerprints[name] = fingerprint(inputs.get(name))
    as_of = params.as_of or params.date_to or date.today().isoformat()
    resolved["as_of"] = as_of

    labelled = None
    clusters_frame = None
    method_c = "hdbscan" if "hdbscan" in methods else "dbscan" if "dbscan" in methods else None
    if method_c and len(to_cluster):
        say(method_c)
        if method_c == "dbscan":
            eps = params.eps_m
            if eps is None:
                eps = suggest_eps_m(to_cluster, min_samples=params.min_samples).eps_m
                resolved["eps_m_suggested"] = round(eps, 1)
            labelled = dbscan(to_cluster, eps_m=eps, min_samples=params.min_samples)
        else:
            labelled = hdbscan(to_cluster, min_cluster_size=params.min_cluster_size,
                               engine=params.hdbscan_engine)
        clusters_frame = cluster_polygons(labelled, method=method_c, hull=params.hull,
                                          buffer_m=params.buffer_m, communes=communes,
                                          crossings=crossings, border=border)

    gistar_frame = commune_frame = None
    grid_name = f"hex_{params.cell_size_m:g}m"
    study_area = None  # the province outline in metres, built once for the grid and the KDE
    if {"gistar", "kde"} & set(methods):
        study_area = metric_area(communes if communes is not None and len(communes)
                                      else boundaries.province())
    if "gistar" in methods:
        say("gistar")
        grid = hex_grid(study_area, params.cell_size_m)
        cells = aggregate_to_hexes(grid, points, weight_column="weight") if len(points) \
            else grid.assign(value=0.0)
        if params.neighbourhood == "distance":
            if not params.distance_band_m:
                raise ValueError("neighbourhood='distance' needs distance_band_m")
            w = distance_band(cells["x_m"], cells["y_m"], params.distance_band_m)
        else:
            w = hex_contiguity(cells)
        gistar_frame = gi_star(cells, "value", w, transform=params.transform,
                               permutations=params.permutations, seed=params.seed, fdr=params.fdr)
        gistar_frame["grid"] = grid_name
        gistar_frame["name"] = None
        if params.commune_gistar and communes is not None and len(communes):
            from geo_pcmt.ingest.spatial import assign_communes
            cm = communes.reset_index(drop=True)
            codes = assign_communes(points.geometry, cm) if len(points) else np.array([])
            wsum = pd.Series(points["weight"].to_numpy(float) if len(points) else [],
                             dtype=float).groupby(pd.Series(codes, dtype=object)).sum()
            cm_cells = gpd.GeoDataFrame({
                "cell": cm["code"].astype(str), "name": cm["name"].astype(str),
                "value": cm["code"].astype(str).map(wsum).fillna(0.0).to_numpy(float),
            }, geometry=cm.geometry.values, crs=cm.crs)
            commune_frame = gi_star(cm_cells, "value", polygon_contiguity(cm_cells, kind="queen"),
                                    transform=params.transform, permutations=params.permutations,
                                    seed=params.seed, fdr=params.fdr)
            commune_frame["grid"] = "commune"

    emerging_frame = None
    if "emerging" in methods and len(points):
        say("emerging")
        dated = points[points["date_start"].notna()]
        if len(dated):
            cube = space_time_cube(dated, time_column="date_start", freq=params.freq,
                                   cell_size_m=params.cell_size_m, start=params.date_from,
                                   end=params.date_to, weight_column="weight",
                                   end_column="present_until",
                                   neighbourhood=params.neighbourhood,
                                   distance_band_m=params.distance_band_m)
            resolved["periods"] = [cube.periods[0], cube.periods[-1], len(cube.periods)]
            if len(cube.periods) >= 2 and len(cube.cells) >= 3:
                emerging_frame = emerging_hotspots(
                    cube, time_lag_steps=params.time_lag_steps, alpha=params.emerging_alpha,
                    mk_alpha=params.mk_alpha, fdr=params.emerging_fdr, transform=params.transform)

    surface = None
    if "kde" in methods and len(points) >= 2:
        say("kde")
        surface = kde(points, bandwidth_m=params.kde_bandwidth_m,
                      cell_size_m=params.kde_cell_size_m, weight_column="weight", area=study_area)
        resolved["kde"] = {"bandwidth_m": round(surface.bandwidth_m, 1),
                           "cell_size_m": surface.cell_size_m,
                           "rule": surface.bandwidth_rule}

    flags_frame = None
    if "flags" in methods:
        say("flags")
        flags_frame = complex_hotspots(
            retail_points=inputs.get("retail_points"), opium_plots=activity.get("opium_plots"),
            cases=activity.get("cases"), crossings=crossings, border=border, communes=communes,
            clusters=clusters_frame, gistar_cells=gistar_frame, commune_gistar=commune_frame,
            emerging=emerging_frame, gistar_fdr=params.fdr, rules=params.rules, as_of=as_of)

    say("shaping")
    stored = params.as_dict()
    stored["resolved"] = resolved
    stored["inputs"] = fingerprints
    params_json = json.dumps(stored, ensure_ascii=False, sort_keys=True, default=str)
    digest = hashlib.sha1(params_json.encode()).hexdigest()[:8]
    created = _now()
    run_id = f"hs-{created.replace('-', '').replace(':', '')}-{digest}"
    frames: dict[str, gpd.GeoDataFrame] = {}
    if clusters_frame is not None:
        frames["hotspot_clusters"] = _shape(
            clusters_frame, "hotspot_clusters", run_id, params_json, created,
            [f"{run_id}/{method_c}/{int(c)}" for c in clusters_frame["cluster"]])
    if gistar_frame is not None:
        both = gistar_frame if commune_frame is None else pd.concat(
            [gistar_frame.to_crs(STORAGE_CRS), commune_frame.to_crs(STORAGE_CRS)], ignore_index=True)
        both = gpd.GeoDataFrame(both, geometry="geometry", crs=STORAGE_CRS)
        frames["gistar_cells"] = _shape(both, "gistar_cells", run_id, params_json, created,
                                        [f"{run_id}/{g}/{c}" for g, c in zip(both["grid"], both["cell"])])
    if emerging_frame is not None:
        frames["emerging_hotspots"] = _shape(emerging_frame, "emerging_hotspots", run_id,
                                             params_json, created,
                                             [f"{run_id}/{c}" for c in emerging_frame["cell"]])
    if flags_frame is not None:
        frames["complex_hotspots"] = _shape(flags_frame, "complex_hotspots", run_id, params_json,
                                            created, [f"{run_id}/{k}/{r}" for k, r in
                                                      zip(flags_frame["area_kind"],
                                                          flags_frame["area_ref"])])
    summary = {
        "points": int(len(points)),
        "clusters": int(len(clusters_frame)) if clusters_frame is not None else None,
        "hot_cells": int((gistar_frame["gi_bin"] > 0).sum()) if gistar_frame is not None else None,
        "hot_communes": int((commune_frame["gi_bin"] > 0).sum()) if commune_frame is not None else None,
        "emerging": (emerging_frame["category"].value_counts().to_dict()
                     if emerging_frame is not None else None),
        "flags": (flags_frame["level"].value_counts().to_dict() if flags_frame is not None else None),
    }
    return HotspotRun(run_id=run_id, params=stored, frames=frames, points=labelled,
                      density=surface, summary=summary)


# --- writing and exporting -----------------------------------------------------------------

def write_run(store, result: HotspotRun, *, user: str = "cli") -> list:
    """Replace each derived layer the run produced; check every frame before writing any."""
    from geo_pcmt.store import frames as store_frames
    for layer, frame in result.frames.items():
        spec = get_layer(layer)
        store_frames.check_frame(spec, frame)
        store_frames.rows(spec, frame)  # raises on a bad value, naming row and field
    return [store.write(layer, frame, mode="replace", user=user)
            for layer, frame in result.frames.items()]


def export_run(result: HotspotRun, folder: str | Path, *, heat_min_share: float = 0.02) -> list[Path]:
    """Write each derived frame as ``<layer>.geojson`` (RFC 7946) into ``folder``, and the
    heat surface as ``heat_density.geojson`` (points with ``density_per_km2`` and ``share``)."""
    from geo_pcmt.outputs.export import write_geojson
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [write_geojson(frame, folder / f"{layer}.geojson")
             for layer, frame in result.frames.items()]
    if result.density is not None:
        pts = result.density.to_points(min_share=heat_min_share)
        pts.insert(0, "id", [f"{result.run_id}/kde/{i}" for i in range(len(pts))])
        pts["run_id"] = result.run_id
        paths.append(write_geojson(pts, folder / "heat_density.geojson"))
    return paths


def with_overrides(params: HotspotParams, **changes) -> HotspotParams:
    """A copy of ``params`` with the given fields changed (None values are ignored)."""
    return replace(params, **{k: v for k, v in changes.items() if v is not None})
