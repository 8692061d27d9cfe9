"""The hotspot run: clusters, Gi*, emerging hot spots, heat surface and complex-hotspot flags.

Three steps, as every run (:mod:`geo_pcmt.runs.common`): :func:`read_inputs` reads the
activity and context layers as a role may see them, :func:`run` is pure (frames +
:class:`HotspotParams` → :class:`HotspotRun`) and :func:`write` replaces the derived layers;
:func:`export_run` writes them as GeoJSON. The CLI ``geo-pcmt hotspots`` and ``geo-pcmt demo``
call these and nothing else.

Every derived row carries ``run_id``, ``confidentiality`` (the highest of the input rows, at
least *restricted*) and ``params`` — the JSON of the parameters (flag rules and the role
included), the resolved values (e.g. a suggested ``eps_m``) and a fingerprint (row count +
SHA-1 of ids and coordinates) of every input layer — so a result can be reproduced from its
inputs and checked against them.
"""
from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field, replace
from datetime import date
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
from geo_pcmt.layers import get_layer
from geo_pcmt.analysis.trends import emerging_hotspots, space_time_cube
from geo_pcmt.runs import common
from geo_pcmt.analysis.places import split_by_location
from geo_pcmt.values import dates

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
    role : the role the run reads for (default ``analyst``: secret records never shape the
        stored layers analysts read).
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
    role: str = common.DEFAULT_ROLE

    def resolved_methods(self) -> tuple[str, ...]:
        """The methods to run: the chosen ones and what ``flags`` needs, in run order."""
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
        """The parameters as stored in ``params`` (plain JSON values)."""
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
    confidentiality : str — of every derived row: the highest of the input rows
    """

    run_id: str
    params: dict
    frames: dict[str, gpd.GeoDataFrame]
    points: gpd.GeoDataFrame | None = None
    density: DensitySurface | None = None
    summary: dict = field(default_factory=dict)
    confidentiality: str = "restricted"


# --- inputs --------------------------------------------------------------------------

def read_inputs(store, params: HotspotParams, role: str | None = None
                ) -> dict[str, gpd.GeoDataFrame]:
    """The frames a run needs, read as ``role`` may see them, filtered to the date window.

    Every record layer is read through :func:`geo_pcmt.access.read`, so a run made for
    ``analyst`` never sees a ``secret`` row. Context layers: ``communes`` and ``border_line``
    from the store, falling back to the shipped boundaries; ``border_crossings`` from the
    store, falling back to the five named gates of
    :func:`geo_pcmt.ingest.boundaries.border_gates` (approximate positions).

    Parameters
    ----------
    store : Store
    params : HotspotParams
    role : str, optional
        Default ``params.role``; a different role is refused (the run records the role it
        was read for).
    """
    role = common.check_role(params.role if role is None else role)
    if role != params.role:
        raise ValueError(f"inputs read for role {role!r} but the params say {params.role!r}")
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
        out[layer] = common.read(store, layer, role, where=where)
    out["communes"] = common.read_or(store, "communes", role, boundaries.communes)
    out["border_line"] = common.read_or(store, "border_line", role, boundaries.border_line)
    out["border_crossings"] = common.read_or(store, "border_crossings", role,
                                             boundaries.border_gates)
    if "retail_points" not in out and common.has_rows(store, "retail_points"):
        out["retail_points"] = common.read(store, "retail_points", role)  # flags' context
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
        pts = geoms[ok]
        shaped = shapely.get_type_id(pts) != 0  # a point is its own centroid
        if shaped.any():
            pts = pts.copy()
            pts[shaped] = shapely.centroid(pts[shaped])
        coords[ok] = np.column_stack([shapely.get_x(pts), shapely.get_y(pts)])
    order = np.argsort(ids, kind="stable")
    # one update for the ids and one for the coordinates (micro-degrees as integers): a
    # per-row text line cost ~10 s at a million records
    h = hashlib.sha1("\n".join(ids[order].tolist()).encode())
    h.update(np.ascontiguousarray(np.round(coords[order] * 1e6).astype("<i8")).tobytes())
    return {"rows": int(len(frame)), "sha1": h.hexdigest()}


# --- the steps of a run (pure) ---------------------------------------------------------------

@dataclass
class _Steps:
    """What the steps of one run produce, filled in as they go."""

    points: gpd.GeoDataFrame
    resolved: dict
    method_c: str | None = None
    labelled: gpd.GeoDataFrame | None = None
    clusters: gpd.GeoDataFrame | None = None
    gistar: gpd.GeoDataFrame | None = None
    commune_gistar: gpd.GeoDataFrame | None = None
    emerging: gpd.GeoDataFrame | None = None
    surface: DensitySurface | None = None
    flags: gpd.GeoDataFrame | None = None


def _activity(inputs: Mapping[str, gpd.GeoDataFrame], params: HotspotParams
              ) -> dict[str, gpd.GeoDataFrame]:
    """The activity layers of the run, located records only.

    Records placed only at a commune centre (``geocode_quality == "commune"``) have no position
    of their own: they never enter clustering, hex Gi* or the flags' distances (the places run
    counts them at commune level). Retail points cleared before the window are left out.
    """
    activity = {name: split_by_location(inputs[name])[0]
                for name in params.layers if name in inputs}
    rp = activity.get("retail_points")
    if params.date_from and rp is not None and len(rp) and "cleared_on" in rp.columns:
        # retail points cleared before the window started were not active in it
        cleared = dates(rp["cleared_on"])
        activity["retail_points"] = rp[~(cleared < pd.Timestamp(params.date_from)).to_numpy()]
    return activity


def _cluster(steps: _Steps, inputs: Mapping, params: HotspotParams, methods, say) -> None:
    """DBSCAN (or HDBSCAN) on the cluster layers, then one polygon per cluster."""
    points = steps.points
    to_cluster = points[points["layer"].isin(params.cluster_layers).to_numpy()] \
        if len(points) else points
    if len(points) and not len(to_cluster):
        to_cluster = points  # only other layers were asked for: cluster what there is
    method = "hdbscan" if "hdbscan" in methods else "dbscan" if "dbscan" in methods else None
    steps.method_c = method
    if not method or not len(to_cluster):
        return
    say(method)
    communes = inputs.get("communes")
    area_m2 = metric_area(communes).area if communes is not None and len(communes) else None
    if method == "dbscan":
        eps = params.eps_m
        if eps is None:
            eps = suggest_eps_m(to_cluster, min_samples=params.min_samples,
                                area_m2=area_m2).eps_m
            steps.resolved["eps_m_suggested"] = round(eps, 1)
        steps.labelled = dbscan(to_cluster, eps_m=eps, min_samples=params.min_samples)
    else:
        steps.labelled = hdbscan(to_cluster, min_cluster_size=params.min_cluster_size,
                                 engine=params.hdbscan_engine, area_m2=area_m2)
    steps.clusters = cluster_polygons(
        steps.labelled, method=method, hull=params.hull, buffer_m=params.buffer_m,
        communes=inputs.get("communes"), crossings=inputs.get("border_crossings"),
        border=inputs.get("border_line"))


def _hex_gistar(points: gpd.GeoDataFrame, study_area, params: HotspotParams) -> gpd.GeoDataFrame:
    """Gi* of the weighted points on a hex grid over the study area."""
    grid = hex_grid(study_area, params.cell_size_m)
    cells = aggregate_to_hexes(grid, points, weight_column="weight") if len(points) \
        else grid.assign(value=0.0)
    if params.neighbourhood == "distance":
        if not params.distance_band_m:
            raise ValueError("neighbourhood='distance' needs distance_band_m")
        w = distance_band(cells["x_m"], cells["y_m"], params.distance_band_m)
    else:
        w = hex_contiguity(cells)
    out = gi_star(cells, "value", w, transform=params.transform,
                  permutations=params.permutations, seed=params.seed, fdr=params.fdr)
    out["grid"] = f"hex_{params.cell_size_m:g}m"
    out["name"] = None
    return out


def _commune_gistar(points: gpd.GeoDataFrame, communes: gpd.GeoDataFrame,
                    params: HotspotParams) -> gpd.GeoDataFrame:
    """Gi* of the weighted points summed per commune, queen contiguity."""
    from geo_pcmt.ingest.spatial import assign_communes
    cm = communes.reset_index(drop=True)
    codes = assign_communes(points.geometry, cm) if len(points) else np.array([])
    wsum = pd.Series(points["weight"].to_numpy(float) if len(points) else [],
                     dtype=float).groupby(pd.Series(codes, dtype=object)).sum()
    cells = gpd.GeoDataFrame({
        "cell": cm["code"].astype(str), "name": cm["name"].astype(str),
        "value": cm["code"].astype(str).map(wsum).fillna(0.0).to_numpy(float),
    }, geometry=cm.geometry.values, crs=cm.crs)
    out = gi_star(cells, "value", polygon_contiguity(cells, kind="queen"),
                  transform=params.transform, permutations=params.permutations,
                  seed=params.seed, fdr=params.fdr)
    out["grid"] = "commune"
    return out


def _emerging(steps: _Steps, params: HotspotParams) -> None:
    """Emerging hot spots on a space-time cube of the dated points."""
    dated = steps.points[steps.points["date_start"].notna()]
    if not len(dated):
        return
    cube = space_time_cube(dated, time_column="date_start", freq=params.freq,
                           cell_size_m=params.cell_size_m, start=params.date_from,
                           end=params.date_to, weight_column="weight",
                           end_column="present_until", neighbourhood=params.neighbourhood,
                           distance_band_m=params.distance_band_m)
    steps.resolved["periods"] = [cube.periods[0], cube.periods[-1], len(cube.periods)]
    if len(cube.periods) >= 2 and len(cube.cells) >= 3:
        steps.emerging = emerging_hotspots(
            cube, time_lag_steps=params.time_lag_steps, alpha=params.emerging_alpha,
            mk_alpha=params.mk_alpha, fdr=params.emerging_fdr, transform=params.transform)


def _kde(steps: _Steps, study_area, params: HotspotParams) -> None:
    """The heat surface of the weighted points."""
    surface = kde(steps.points, bandwidth_m=params.kde_bandwidth_m,
                  cell_size_m=params.kde_cell_size_m, weight_column="weight", area=study_area)
    steps.surface = surface
    steps.resolved["kde"] = {"bandwidth_m": round(surface.bandwidth_m, 1),
                             "cell_size_m": surface.cell_size_m, "rule": surface.bandwidth_rule}


def _analyse(steps: _Steps, inputs: Mapping, activity: Mapping, params: HotspotParams,
             say: Callable[[str], None]) -> None:
    """Run each chosen method in order, filling ``steps``."""
    methods = params.resolved_methods()
    communes = inputs.get("communes")
    _cluster(steps, inputs, params, methods, say)
    study_area = None  # the province outline in metres, built once for the grid and the KDE
    if {"gistar", "kde"} & set(methods):
        study_area = metric_area(communes if communes is not None and len(communes)
                                 else boundaries.province())
    if "gistar" in methods:
        say("gistar")
        steps.gistar = _hex_gistar(steps.points, study_area, params)
        if params.commune_gistar and communes is not None and len(communes):
            steps.commune_gistar = _commune_gistar(steps.points, communes, params)
    if "emerging" in methods and len(steps.points):
        say("emerging")
        _emerging(steps, params)
    if "kde" in methods and len(steps.points) >= 2:
        say("kde")
        _kde(steps, study_area, params)
    if "flags" in methods:
        say("flags")
        steps.flags = complex_hotspots(
            retail_points=inputs.get("retail_points"), opium_plots=activity.get("opium_plots"),
            cases=activity.get("cases"), crossings=inputs.get("border_crossings"),
            border=inputs.get("border_line"), communes=communes, clusters=steps.clusters,
            gistar_cells=steps.gistar, commune_gistar=steps.commune_gistar,
            emerging=steps.emerging, gistar_fdr=params.fdr, rules=params.rules,
            as_of=steps.resolved["as_of"])


# --- shaping the derived layers ------------------------------------------------------------

@dataclass(frozen=True)
class _Stamp:
    """The fields every derived row of one run carries."""

    run_id: str
    params_json: str
    created_at: str
    confidentiality: str


def _shape(frame: gpd.GeoDataFrame, layer: str, stamp: _Stamp, ids: list[str]
           ) -> gpd.GeoDataFrame:
    """Keep the layer's fields, add the run fields, EPSG:4326, MultiPolygon where needed."""
    spec = get_layer(layer)
    out = frame.copy()
    out["id"] = ids
    out["run_id"] = stamp.run_id
    out["params"] = stamp.params_json
    out["created_at"] = stamp.created_at
    out["confidentiality"] = stamp.confidentiality
    keep = [c for c in spec.field_names if c in out.columns]
    geom = out.geometry.to_crs(STORAGE_CRS)
    if spec.geometry_type == "MultiPolygon":
        geom = gpd.GeoSeries(to_multipolygons(geom.values), crs=STORAGE_CRS)
    data = pd.DataFrame({c: out[c].to_numpy() for c in keep})
    return gpd.GeoDataFrame(data, geometry=np.asarray(geom.values, dtype=object), crs=STORAGE_CRS)


def _derived_frames(steps: _Steps, stamp: _Stamp) -> dict[str, gpd.GeoDataFrame]:
    """The derived layers the run produced, shaped and with stable ids."""
    rid = stamp.run_id
    frames: dict[str, gpd.GeoDataFrame] = {}
    if steps.clusters is not None:
        frames["hotspot_clusters"] = _shape(
            steps.clusters, "hotspot_clusters", stamp,
            [f"{rid}/{steps.method_c}/{int(c)}" for c in steps.clusters["cluster"]])
    if steps.gistar is not None:
        both = steps.gistar if steps.commune_gistar is None else pd.concat(
            [steps.gistar.to_crs(STORAGE_CRS), steps.commune_gistar.to_crs(STORAGE_CRS)],
            ignore_index=True)
        both = gpd.GeoDataFrame(both, geometry="geometry", crs=STORAGE_CRS)
        frames["gistar_cells"] = _shape(both, "gistar_cells", stamp,
                                        [f"{rid}/{g}/{c}" for g, c in zip(both["grid"], both["cell"])])
    if steps.emerging is not None:
        frames["emerging_hotspots"] = _shape(steps.emerging, "emerging_hotspots", stamp,
                                             [f"{rid}/{c}" for c in steps.emerging["cell"]])
    if steps.flags is not None:
        flags = steps.flags
        frames["complex_hotspots"] = _shape(flags, "complex_hotspots", stamp,
                                            [f"{rid}/{k}/{r}" for k, r in
                                             zip(flags["area_kind"], flags["area_ref"])])
    return frames


def _summary(steps: _Steps) -> dict:
    """Counts for printing: points, clusters, hot cells and communes, trends, flag levels."""
    def hot(frame):
        return int((frame["gi_bin"] > 0).sum()) if frame is not None else None

    return {
        "points": int(len(steps.points)),
        "clusters": int(len(steps.clusters)) if steps.clusters is not None else None,
        "hot_cells": hot(steps.gistar),
        "hot_communes": hot(steps.commune_gistar),
        "emerging": (steps.emerging["category"].value_counts().to_dict()
                     if steps.emerging is not None else None),
        "flags": (steps.flags["level"].value_counts().to_dict()
                  if steps.flags is not None else None),
    }


# --- the run ---------------------------------------------------------------------------

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
    ``emerging_hotspots`` and ``complex_hotspots`` (those the methods produce); every row's
    ``confidentiality`` is the highest of the input rows (at least *restricted*).

    Examples
    --------
    >>> params = HotspotParams()
    >>> result = run(read_inputs(store, params), params)        # doctest: +SKIP
    >>> result.frames["complex_hotspots"][["name", "score", "level"]].head()  # doctest: +SKIP
    """
    params = params or HotspotParams()
    say = progress or (lambda label: None)
    activity = _activity(inputs, params)
    say("points")
    points = combine_points(activity, layer_weights=dict(params.layer_weights))
    fingerprints = {name: fingerprint(frame) for name, frame in sorted(activity.items())}
    for name in ("communes", "border_line", "border_crossings"):
        fingerprints[name] = fingerprint(inputs.get(name))
    steps = _Steps(points, {"as_of": params.as_of or params.date_to or date.today().isoformat()})
    set_aside = [split_by_location(inputs[n])[1] for n in params.layers if n in inputs]
    commune_only = sum(len(f) for f in set_aside if f is not None)
    if commune_only:
        steps.resolved["commune_only_records_left_out"] = commune_only
    _analyse(steps, inputs, activity, params, say)

    say("shaping")
    level = common.highest_confidentiality(inputs.values(), "restricted")
    stored = params.as_dict()
    stored["resolved"] = {**steps.resolved, "confidentiality": level}
    stored["inputs"] = fingerprints
    text = common.params_json(stored)
    created = common.now_utc()
    stamp = _Stamp(common.new_run_id("hs", text, created), text, created, level)
    return HotspotRun(run_id=stamp.run_id, params=stored, frames=_derived_frames(steps, stamp),
                      points=steps.labelled, density=steps.surface, summary=_summary(steps),
                      confidentiality=level)


# --- writing and exporting -----------------------------------------------------------------

def write(store, result: HotspotRun, *, user: str = "cli") -> list:
    """Replace each derived layer the run produced; check every frame before writing any."""
    return common.check_and_write(store, result.frames, mode="replace", user=user)


write_run = write  # the name before runs had three steps


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
