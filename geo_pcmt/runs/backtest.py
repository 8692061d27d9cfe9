"""The backtest run: for rolling months, build the list from the past only and score it.

For each month under test the records are cut at the month's first day — retail points first
seen before it (with the status they had then: a point cleared later was still active),
cases dated before it, opium plots detected before it — and :func:`list_areas` builds the
list from that past alone; :func:`list_evidence` (the list's own evidence) ranks the cells
of its places and the hot cells around them, so the list can fill any share of the area.
The month's events (cases dated in it and retail points first seen in it, by default;
records placed only at a commune centre are left out, their position is not known) are
then counted in the list's best cells and in the baselines' on the same area
(:mod:`geo_pcmt.analysis.backtest`): a KDE of the events before the month (quartic kernel,
bandwidth by the usual rule) and buffers of last month's events.

Three steps as every run (:mod:`geo_pcmt.runs.common`): :func:`read_inputs` reads through
the role-scoped reader, :func:`run` is pure, :func:`write` records the result in the audit
log and, given a folder, writes the JSON and the chart.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Callable, Mapping

import geopandas as gpd
import numpy as np
import pandas as pd

from geo_pcmt.analysis import backtest as bt
from geo_pcmt.analysis import calendar
from geo_pcmt.analysis.places import drug_evidence, split_by_location
from geo_pcmt.crs import METRIC_CRS
from geo_pcmt.ingest import boundaries
from geo_pcmt.runs import common, hotspots, places
from geo_pcmt.values import dates

#: Layers whose new records of the month are the events a forecast is scored on, with the
#: date field that puts a record in a month.
TEST_LAYERS = {"cases": "date", "retail_points": "first_seen", "opium_plots": "detected_on"}


@dataclass(frozen=True)
class BacktestParams:
    """Parameters of a backtest (all reported with the result).

    Attributes
    ----------
    months : months under test as ``YYYY-MM``; empty = the last ``n_months`` full months
        before the last event in the data.
    n_months : int — how many months when ``months`` is empty (default 6).
    test_layers : layers whose new records of the month are scored (default cases and new
        retail points).
    area_shares : shares of the province's area the forecasts are compared at.
    cell_size_m : side of the square cells (m) the area is cut into (default 500 m).
    last_month_buffer_m : radius of the buffers around last month's events (default 500 m).
    kde_bandwidth_m : KDE baseline bandwidth (None = the rule of
        :func:`geo_pcmt.analysis.density.bandwidth_rule_m`).
    list_radius_m : radius (m) of the quartic kernel over the list's own evidence that ranks
        the cells of a place and the hot cells around the places (default 1 km, twice the
        DBSCAN radius of the list).
    exact_only : leave out records placed only at a commune centre (``geocode_quality`` =
        ``commune``) from the events scored and from the baselines' input.
    hotspots : :class:`geo_pcmt.runs.hotspots.HotspotParams` of the list (its ``date_to`` and
        ``as_of`` are set per month).
    role : the role the records are read for.
    """

    months: tuple[str, ...] = ()
    n_months: int = 6
    test_layers: tuple[str, ...] = ("cases", "retail_points")
    area_shares: tuple[float, ...] = bt.AREA_SHARES
    cell_size_m: float = 500.0
    last_month_buffer_m: float = 500.0
    kde_bandwidth_m: float | None = None
    list_radius_m: float = 1000.0
    exact_only: bool = True
    hotspots: hotspots.HotspotParams = field(default_factory=lambda: hotspots.HotspotParams(
        methods=("flags",)))
    role: str = common.DEFAULT_ROLE

    def as_dict(self) -> dict:
        d = asdict(self)
        d["hotspots"] = self.hotspots.as_dict()
        return d


@dataclass
class BacktestResult:
    """What a backtest measured.

    Attributes
    ----------
    rows : DataFrame — one row per (month, share, method): ``month``, ``share``, ``method``,
        ``cells``, ``n``, ``N``, ``a``, ``A``, ``n_star``, ``a_star``, ``hit_rate``,
        ``area_share``, ``pai``, ``pei``, ``pei_star``
    months : list of per-month facts (``month``, ``events``, ``listed``, ``place_cells`` —
        the places' evidence cells, ``list_cells`` — every cell the list can flag)
    params : dict — :meth:`BacktestParams.as_dict`
    """

    rows: pd.DataFrame
    months: list[dict]
    params: dict

    def ratio(self, share: float, method: str = "kde") -> pd.Series:
        """PAI of the list ÷ PAI of ``method`` at ``share``, per month."""
        r = self.rows[np.isclose(self.rows["share"], share)]
        pai = r.pivot(index="month", columns="method", values="pai")
        return pai["list"] / pai[method]

    def summary(self) -> pd.DataFrame:
        """Per share and method, over all months: events, hits, mean hit rate, PAI of the
        pooled months (all hits ÷ all events over the mean area share) and mean PEI*."""
        g = self.rows.groupby(["share", "method"], sort=False)
        out = g.agg(n=("n", "sum"), N=("N", "sum"), hit_rate=("hit_rate", "mean"),
                    area_share=("area_share", "mean"), pei=("pei", "mean"),
                    pei_star=("pei_star", "mean"))
        out["pai"] = (out["n"] / out["N"]) / out["area_share"]
        return out.reset_index()

    def as_json(self) -> dict:
        rows = self.rows.replace({np.nan: None}).to_dict("records")
        summ = self.summary().replace({np.nan: None}).to_dict("records")
        return {"params": self.params, "months": self.months, "rows": rows, "summary": summ}


# --- the list under test ------------------------------------------------------------------

#: A place's disc is at least this wide (m): a patrol covers the ground around it.
MIN_PLACE_RADIUS_M = 500.0


def list_areas(frames_before: Mapping[str, pd.DataFrame], params: BacktestParams,
               as_of: date) -> gpd.GeoDataFrame:
    """The list under test, built from ``frames_before`` only: areas with ``score``.

    The complex places (:mod:`geo_pcmt.runs.places`), each as the disc its evidence covers
    (``extent_m`` around the place, at least :data:`MIN_PLACE_RADIUS_M`), so that the list
    is scored on the ground a patrol would cover, not on whole communes.
    """
    pp = places.PlaceParams(as_of=as_of.isoformat(), role=params.role)
    inputs = {**frames_before, "complex_places": None, "place_events": None}
    found = places.run(inputs, pp).places
    if not len(found):
        return gpd.GeoDataFrame({"score": []}, geometry=gpd.GeoSeries([], crs=4326), crs=4326)
    metric = found.to_crs(METRIC_CRS)
    radius = np.maximum(found["extent_m"].astype(float).fillna(0).to_numpy(), MIN_PLACE_RADIUS_M)
    discs = gpd.GeoDataFrame({"score": found["score"].to_numpy()},
                             geometry=metric.geometry.buffer(radius).to_numpy(), crs=METRIC_CRS)
    return discs.to_crs(4326)


def list_evidence(frames_before: Mapping[str, pd.DataFrame], as_of: date) -> gpd.GeoDataFrame:
    """The list's own drug evidence on ``as_of`` (:func:`geo_pcmt.analysis.places.
    drug_evidence` of the located records: active retail points, this season's plots, the
    last 12 months' cases), one point each (EPSG:4326)."""
    located = {name: split_by_location(frames_before.get(name))[0]
               for name in ("retail_points", "opium_plots", "cases")}
    found = drug_evidence(located["retail_points"], located["opium_plots"], located["cases"],
                          pd.Timestamp(as_of), places.PlaceParams().rules.flags)
    parts = [f.geometry.to_crs(4326).representative_point() for f in found.values()
             if f is not None and len(f)]
    geom = pd.concat(parts, ignore_index=True) if parts else gpd.GeoSeries([], crs=4326)
    return gpd.GeoDataFrame(geometry=gpd.GeoSeries(geom.values, crs=4326), crs=4326)


# --- inputs -----------------------------------------------------------------------------------

def read_inputs(store, params: BacktestParams, role: str | None = None
                ) -> dict[str, gpd.GeoDataFrame]:
    """Every record the list and the scores need, read as ``role`` may see them."""
    role = common.check_role(params.role if role is None else role)
    hp = replace(params.hotspots, date_from=None, date_to=None, role=role)
    frames = hotspots.read_inputs(store, hp, role)
    place_inputs = places.read_inputs(store, places.PlaceParams(role=role), role)
    for layer, frame in place_inputs.items():
        if layer not in frames and layer not in ("complex_places", "place_events"):
            frames[layer] = frame
    for layer in params.test_layers:
        if layer not in frames and common.has_rows(store, layer):
            frames[layer] = common.read(store, layer, role)
    return frames


# --- the past as it was ---------------------------------------------------------------------

def _before(frames: Mapping[str, pd.DataFrame], day: date) -> dict[str, pd.DataFrame]:
    """The records as they stood on the eve of ``day``: nothing from ``day`` on, and the
    status of retail points and plots as it was then."""
    t = pd.Timestamp(day)
    out = dict(frames)
    rp = frames.get("retail_points")
    if rp is not None and len(rp):
        rp = rp[(dates(rp["first_seen"]) < t).to_numpy()].copy()
        if "cleared_on" in rp.columns:
            later = (dates(rp["cleared_on"]) >= t).to_numpy()
            rp.loc[later, "status"] = "active"       # cleared later: still active then
            rp.loc[later, "cleared_on"] = None
        out["retail_points"] = rp
    cases = frames.get("cases")
    if cases is not None and len(cases):
        out["cases"] = cases[(dates(cases["date"]) < t).to_numpy()]
    plots = frames.get("opium_plots")
    if plots is not None and len(plots):
        plots = plots[(dates(plots["detected_on"]) < t).to_numpy()].copy()
        if "eradicated_on" in plots.columns:
            plots.loc[(dates(plots["eradicated_on"]) >= t).to_numpy(), "eradicated_on"] = None
        out["opium_plots"] = plots
    return out


def _events(frames: Mapping[str, pd.DataFrame], layers, window: calendar.Window,
            exact_only: bool) -> gpd.GeoDataFrame:
    """New records of ``layers`` dated in ``window`` (one point each, EPSG:4326)."""
    parts = []
    lo, hi = pd.Timestamp(window.start), pd.Timestamp(window.end_exclusive)
    for layer in layers:
        frame = frames.get(layer)
        if frame is None or not len(frame):
            continue
        d = dates(frame[TEST_LAYERS[layer]])
        keep = np.array((d >= lo) & (d < hi), dtype=bool)
        if exact_only and "geocode_quality" in frame.columns:
            keep &= (frame["geocode_quality"].astype(str) != "commune").to_numpy()
        sel = frame[keep]
        if len(sel):
            geom = sel.geometry.to_crs(4326).representative_point()
            parts.append(gpd.GeoDataFrame({"layer": layer}, index=range(len(sel)),
                                          geometry=geom.values, crs=4326))
    if not parts:
        return gpd.GeoDataFrame({"layer": []}, geometry=gpd.GeoSeries([], crs=4326), crs=4326)
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=4326)


def months_under_test(frames: Mapping[str, pd.DataFrame], params: BacktestParams
                      ) -> list[calendar.Window]:
    """The months of ``params.months``, or the last ``n_months`` full months of the data."""
    if params.months:
        return [calendar.month(f"{m}-01") for m in params.months]
    last = None
    for layer in params.test_layers:
        frame = frames.get(layer)
        if frame is not None and len(frame):
            d = dates(frame[TEST_LAYERS[layer]]).max()
            last = d if last is None or d > last else last
    if last is None or pd.isna(last):
        raise ValueError("no dated events in " + ", ".join(params.test_layers))
    final = calendar.month(last)
    if last.date() < final.end:   # the last month is not over: leave it out
        final = final.previous()
    months = [final]
    while len(months) < params.n_months:
        months.insert(0, months[0].previous())
    return months


# --- the run --------------------------------------------------------------------------------

def run(frames: Mapping[str, pd.DataFrame], params: BacktestParams | None = None, *,
        progress: Callable[[str], None] | None = None) -> BacktestResult:
    """Backtest the list against the baselines on each month under test (pure).

    Parameters
    ----------
    frames : layer → frame (as :func:`read_inputs` returns).
    params : :class:`BacktestParams`
    progress : called with the month label before each month.
    """
    params = params or BacktestParams()
    say = progress or (lambda label: None)
    communes = frames.get("communes")
    area = communes if communes is not None and len(communes) else boundaries.province()
    grid = bt.study_grid(area, params.cell_size_m)
    rows, facts = [], []
    for window in months_under_test(frames, params):
        say(window.label_en)
        past = _before(frames, window.start)
        eve = window.start - timedelta(days=1)
        listed = list_areas(past, params, eve)
        history = _events(past, params.test_layers,
                          calendar.Window(date(1900, 1, 1), window.start - timedelta(days=1)),
                          params.exact_only)
        last = _events(past, params.test_layers, window.previous(), params.exact_only)
        forecasts = {
            "list": bt.list_forecast(grid, listed, list_evidence(past, eve),
                                     radius_m=params.list_radius_m),
            "kde": bt.kde_forecast(grid, history, bandwidth_m=params.kde_bandwidth_m),
            "last_month": bt.last_month_forecast(grid, last, buffer_m=params.last_month_buffer_m),
        }
        counts = grid.counts(_events(frames, params.test_layers, window, params.exact_only))
        for row in bt.compare(grid, forecasts, counts, shares=params.area_shares):
            rows.append({"month": window.label_en, **row})
        facts.append({"month": window.label_en, "label_vi": window.label_vi,
                      "events": int(counts.sum()), "listed": int(len(listed)),
                      "place_cells": int((forecasts["list"].score > bt.SURROUNDING).sum()),
                      "list_cells": int((forecasts["list"].score > 0).sum()),
                      "cells": grid.n_cells})
    return BacktestResult(pd.DataFrame(rows), facts, params.as_dict())


def write(store, result: BacktestResult, *, user: str = "cli",
          out: str | Path | None = None) -> list[Path]:
    """Record the backtest in the audit log; with ``out``, write ``backtest.json`` and the
    chart ``backtest_pai.png`` there. Returns the files written."""
    from geo_pcmt.outputs.charts import pai_chart
    paths: list[Path] = []
    if out is not None:
        folder = Path(out)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "backtest.json"
        path.write_text(json.dumps(result.as_json(), ensure_ascii=False, indent=1,
                                   default=str), encoding="utf-8")
        paths += [path, pai_chart(result.rows, folder / "backtest_pai.png")]
    store.audit(user, "backtest", "complex_hotspots", [],
                {"months": [m["month"] for m in result.months],
                 "files": [str(p) for p in paths]})
    return paths


__all__ = ["BacktestParams", "BacktestResult", "TEST_LAYERS", "list_areas", "list_evidence",
           "months_under_test", "read_inputs", "run", "write"]
