"""The places run: one working list of complex places (địa bàn, tụ điểm phức tạp) a commander can act on.

:func:`read_inputs` reads the drug records, the context layers, the population of the last
assessment, the previous list and the lifecycle events through the role-scoped reader;
:func:`run` is pure: it clusters the *located* evidence (DBSCAN), runs Gi* on a hex grid of
it, smooths commune rates (empirical Bayes) and runs Gi* on them, calls
:func:`geo_pcmt.analysis.places.complex_places` and gives each place its identity and change
since the last run (:mod:`geo_pcmt.analysis.place_history`); :func:`write` replaces
``complex_places`` and appends the new ``place_events``. ``geo-pcmt places`` calls these.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Callable, Mapping

import geopandas as gpd
import numpy as np
import pandas as pd

from geo_pcmt.analysis import place_history
from geo_pcmt.analysis.clusters import DEFAULT_LAYER_WEIGHTS, cluster_polygons, combine_points, dbscan
from geo_pcmt.analysis.gistar import gi_star
from geo_pcmt.analysis.grid import aggregate_to_hexes, hex_contiguity, hex_grid, metric_area, \
    polygon_contiguity
from geo_pcmt.analysis.places import (
    PlaceRules, commune_rates, complex_places, drug_evidence, split_by_location,
)
from geo_pcmt.crs import STORAGE_CRS
from geo_pcmt.ingest import boundaries
from geo_pcmt.layers import get_layer
from geo_pcmt.runs import common

ACTIVITY_LAYERS = ("retail_points", "opium_plots", "cases")
CLUSTER_LAYERS = ("retail_points", "opium_plots")
STEPS = ("evidence", "clusters", "gistar", "places", "tracking")


@dataclass(frozen=True)
class PlaceParams:
    """Parameters of a places run (all stored with the list).

    ``as_of`` (default today) — the day the list is for; records after it are left out.
    ``eps_m``, ``min_samples`` — DBSCAN on the located active points and this season's plots.
    ``cell_size_m``, ``fdr`` — Gi* on the hex grid of the located evidence (cases included).
    ``match_m`` — a place keeps its identity when found again within this distance.
    ``rules`` — :class:`geo_pcmt.analysis.places.PlaceRules`.
    """

    as_of: str | None = None
    eps_m: float = 500.0
    min_samples: int = 5
    cell_size_m: float = 2000.0
    fdr: bool = True
    match_m: float = 1000.0
    layer_weights: tuple[tuple[str, float], ...] = tuple(DEFAULT_LAYER_WEIGHTS.items())
    rules: PlaceRules = field(default_factory=PlaceRules)
    role: str = common.DEFAULT_ROLE

    @property
    def day(self) -> str:
        return self.as_of or date.today().isoformat()

    def as_dict(self) -> dict:
        d = asdict(self)
        d["rules"] = self.rules.as_dict()
        d["layer_weights"] = dict(self.layer_weights)
        d["as_of"] = self.day
        return d


@dataclass
class PlacesRun:
    """The list (shaped to ``complex_places``), the places no longer found, the new events."""

    run_id: str
    params: dict
    places: gpd.GeoDataFrame
    gone: pd.DataFrame
    events: pd.DataFrame
    confidentiality: str
    summary: dict


def read_inputs(store, params: PlaceParams, role: str | None = None) -> dict[str, pd.DataFrame]:
    """The frames the run needs, as ``role`` may see them (:func:`geo_pcmt.access.read`)."""
    role = common.check_role(params.role if role is None else role)
    if role != params.role:
        raise ValueError(f"inputs read for role {role!r} but the params say {params.role!r}")
    out: dict[str, pd.DataFrame] = {}
    for layer in ACTIVITY_LAYERS:
        tf = "first_seen" if layer == "retail_points" else get_layer(layer).time_field
        where = {tf: slice(None, params.day)} if tf else None
        out[layer] = common.read(store, layer, role, where=where) \
            if common.has_rows(store, layer) else None
    out["communes"] = common.read_or(store, "communes", role, boundaries.communes)
    out["border_line"] = common.read_or(store, "border_line", role, boundaries.border_line)
    out["border_crossings"] = common.read_or(store, "border_crossings", role,
                                             boundaries.border_gates)
    for layer in ("commune_assessments", "complex_places", "place_events"):
        out[layer] = common.read(store, layer, role) if common.has_rows(store, layer) else None
    return out


def _population(assessments: pd.DataFrame | None) -> pd.Series | None:
    """Residents per commune from the latest assessed period."""
    if assessments is None or not len(assessments) or "population" not in assessments.columns:
        return None
    a = assessments.sort_values("period")
    return a.groupby(a["commune_code"].astype(str))["population"].last().astype(float)


def _gistar_hex(points: gpd.GeoDataFrame, communes, params: PlaceParams) -> gpd.GeoDataFrame:
    grid = hex_grid(metric_area(communes), params.cell_size_m)
    cells = aggregate_to_hexes(grid, points, weight_column="weight") if len(points) \
        else grid.assign(value=0.0)
    return gi_star(cells, "value", hex_contiguity(cells), fdr=params.fdr)


def _commune_gistar(rates: pd.DataFrame, communes: gpd.GeoDataFrame, params: PlaceParams):
    cm = communes.reset_index(drop=True)
    cells = gpd.GeoDataFrame({"cell": rates["code"].to_numpy(), "name": rates["name"].to_numpy(),
                              "value": rates["eb_rate"].to_numpy(float)},
                             geometry=cm.geometry.values, crs=cm.crs)
    if not np.ptp(cells["value"].to_numpy()) > 0:
        return None
    return gi_star(cells, "value", polygon_contiguity(cells, kind="queen"), fdr=params.fdr)


def _analyse(inputs: Mapping[str, pd.DataFrame], params: PlaceParams,
             say: Callable[[str], None]) -> tuple[gpd.GeoDataFrame, dict]:
    """Clusters, hex Gi*, commune rates and Gi*, then the places (pure)."""
    say("evidence")
    as_of = pd.Timestamp(params.day)
    communes = inputs["communes"]
    located, only = {}, {}
    for name in ACTIVITY_LAYERS:
        located[name], only[name] = split_by_location(inputs.get(name))
    evidence = drug_evidence(located["retail_points"], located["opium_plots"],
                             located["cases"], as_of, params.rules.flags)
    weights = dict(params.layer_weights)
    points = combine_points(evidence, layer_weights=weights)
    to_cluster = points[points["layer"].isin(CLUSTER_LAYERS).to_numpy()] if len(points) else points
    clusters = None
    say("clusters")
    if len(to_cluster):
        labelled = dbscan(to_cluster, eps_m=params.eps_m, min_samples=params.min_samples)
        clusters = cluster_polygons(labelled, communes=communes)
    say("gistar")
    hexes = _gistar_hex(points, communes, params)
    everything = combine_points(_all_evidence(located, only, as_of, params))
    codes = _codes(everything, communes)
    rates = commune_rates(communes, codes, population=_population(
        inputs.get("commune_assessments")), rate_per=params.rules.rate_per)
    c_gi = _commune_gistar(rates, communes, params)
    say("places")
    places = complex_places(
        retail_points=inputs.get("retail_points"), opium_plots=inputs.get("opium_plots"),
        cases=inputs.get("cases"), crossings=inputs.get("border_crossings"),
        border=inputs.get("border_line"), communes=communes, clusters=clusters,
        gistar_cells=hexes, rates=rates, commune_gistar=c_gi, gistar_fdr=params.fdr,
        rules=params.rules, as_of=params.day)
    summary = {"located_evidence": int(len(points)),
               "commune_only": int(sum(len(f) for f in only.values() if f is not None)),
               "clusters": 0 if clusters is None else int(len(clusters)),
               "hot_cells": int((hexes["gi_bin"] > 0).sum()),
               "hot_communes": 0 if c_gi is None else int((c_gi["gi_bin"] > 0).sum())}
    return places, summary


def _all_evidence(located, only, as_of, params) -> dict[str, gpd.GeoDataFrame]:
    """Drug evidence of every location quality (for commune rates)."""
    whole = {}
    for name in ACTIVITY_LAYERS:
        parts = [f for f in (located.get(name), only.get(name)) if f is not None and len(f)]
        whole[name] = gpd.GeoDataFrame(pd.concat(parts), geometry=parts[0].geometry.name,
                                       crs=parts[0].crs) if parts else None
    return drug_evidence(whole["retail_points"], whole["opium_plots"], whole["cases"], as_of,
                         params.rules.flags)


def _codes(points: gpd.GeoDataFrame, communes: gpd.GeoDataFrame) -> np.ndarray:
    from geo_pcmt.ingest.spatial import assign_communes
    if not len(points):
        return np.array([], dtype=object)
    return assign_communes(points.geometry.to_crs(communes.crs), communes.reset_index(drop=True))


def run(inputs: Mapping[str, pd.DataFrame], params: PlaceParams | None = None, *,
        progress: Callable[[str], None] | None = None) -> PlacesRun:
    """Build the list of complex places from ``inputs`` (see :func:`read_inputs`);
    ``progress`` is called with each step's name (:data:`STEPS`) as it starts."""
    params = params or PlaceParams()
    say = progress or (lambda label: None)
    places, summary = _analyse(inputs, params, say)
    say("tracking")
    level = common.highest_confidentiality(
        [inputs.get(n) for n in ACTIVITY_LAYERS + ("border_crossings",)], "restricted")
    stored = params.as_dict()
    text = common.params_json(stored)
    created = common.now_utc()
    run_id = common.new_run_id("pl", text, created)
    previous = inputs.get("complex_places")
    tracked, gone, events = place_history.track(
        places, previous, inputs.get("place_events"), run_id=run_id, as_of=params.day,
        match_m=params.match_m)
    tracked["rank"] = np.arange(1, len(tracked) + 1)
    shaped = _shape(tracked, run_id, text, created, level)
    events = _event_records(events, created, level)
    summary.update(places=int(len(shaped)), gone=int(len(gone)),
                   levels=shaped["level"].value_counts().to_dict() if len(shaped) else {})
    return PlacesRun(run_id, stored, shaped, gone, events, level, summary)


def _shape(places: gpd.GeoDataFrame, run_id: str, params_json: str, created: str,
           level: str) -> gpd.GeoDataFrame:
    spec = get_layer("complex_places")
    out = places.copy()
    out["id"] = [f"{run_id}/{p}" for p in out["place_id"]]
    out["run_id"], out["params"], out["created_at"] = run_id, params_json, created
    out["confidentiality"] = level
    keep = [c for c in spec.field_names if c in out.columns]
    data = pd.DataFrame({c: out[c].to_numpy() for c in keep})
    geom = out.geometry.to_crs(STORAGE_CRS).values if len(out) else []
    return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(geom, crs=STORAGE_CRS).values,
                            crs=STORAGE_CRS)


def _event_records(events: pd.DataFrame, created: str, level: str) -> pd.DataFrame:
    out = events.copy()
    out.insert(0, "id", [f"{r}/{p}/{s}" for r, p, s in
                         zip(out["run_id"], out["place_id"], out["status"])])
    out["source"] = "geo-pcmt places"
    out["confidentiality"] = level
    out["created_at"] = created
    out["updated_at"] = created
    return out


def write(store, result: PlacesRun, *, user: str = "cli") -> list:
    """Replace ``complex_places``; append the run's ``place_events`` (history is kept)."""
    reports = common.check_and_write(store, {"complex_places": result.places},
                                     mode="replace", user=user)
    if len(result.events):
        reports += common.check_and_write(store, {"place_events": result.events},
                                          mode="append", user=user)
    return reports


__all__ = ["PlaceParams", "PlacesRun", "read_inputs", "run", "write"]
