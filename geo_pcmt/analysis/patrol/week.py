"""A week of randomised patrol plans, and how well it keeps the weekly coverage guarantee."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta

import geopandas as gpd
import numpy as np
import pandas as pd

from geo_pcmt.analysis.patrol.draw import count_visits, week_start
from geo_pcmt.analysis.patrol.model import HIGH_RISK_MIN, PatrolPlan, Post
from geo_pcmt.analysis.patrol.planning import plan


@dataclass
class WeekPlan:
    """Seven daily plans and the coverage of each high-risk target against the guarantee."""

    days: list[PatrolPlan]
    coverage: pd.DataFrame

    @property
    def guarantee_met(self) -> bool:
        return bool(self.coverage["met"].all()) if len(self.coverage) else True


def plan_week(targets: gpd.GeoDataFrame, post: Post, *, week_of: date, seed: int,
              visits_per_week: int = 2, high_risk_min: float = HIGH_RISK_MIN,
              **plan_kwargs) -> WeekPlan:
    """Plan the seven days of ``week_of``'s ISO week with the randomised mode.

    Each day is planned with the visits of the days before it, so a high-risk target missed
    on its day is owed and forced again the next day. ``coverage`` lists every high-risk
    target with its required and planned visits; a target that cannot be reached and left
    within one day's budget is listed with ``reachable`` False and nothing required.
    """
    monday = week_start(week_of)
    visits: Counter[str] = Counter()
    days = []
    for d in range(7):
        day = monday + timedelta(days=d)
        p = plan(targets, post, plan_date=day, randomise=True, seed=seed,
                 visits_per_week=visits_per_week, high_risk_min=high_risk_min,
                 visits_so_far=dict(visits), **plan_kwargs)
        for tid in set(p.stops["target_id"]) if len(p.stops) else ():
            visits[str(tid)] += 1
        days.append(p)
    flags = days[0].targets
    reachable = dict(zip(flags["target_id"].astype(str), flags["reachable"]))
    high = targets[targets["risk"].astype(float) >= high_risk_min]
    ids = high["target_id"].astype(str).to_numpy()
    can = np.array([bool(reachable.get(t, False)) for t in ids], dtype=bool)
    coverage = pd.DataFrame({
        "target_id": ids,
        "name": high["name"].to_numpy() if "name" in high.columns else ids,
        "risk": high["risk"].astype(float).to_numpy(),
        "reachable": can,
        # out of range within a day's budget: no guarantee can be given, and none is claimed
        "required": np.where(can, int(visits_per_week), 0),
        "visits": [visits[t] for t in ids],
    })
    coverage["met"] = coverage["visits"] >= coverage["required"]
    return WeekPlan(days, coverage)


def done_coverage(plans: pd.DataFrame, stops: pd.DataFrame, done, *, visits_per_week: int = 2,
                  high_risk_min: float = HIGH_RISK_MIN) -> pd.DataFrame:
    """The week's coverage of high-risk targets counted from the stops *done*, not planned.

    Parameters
    ----------
    plans : DataFrame
        The week's stored plans of a post (``id``, ``plan_date``, ``created_at``); only the
        latest plan of each day counts (:func:`~geo_pcmt.analysis.patrol.draw.count_visits`).
    stops : DataFrame
        Their stops (``plan_id``, ``target_id``, ``name``, ``risk``).
    done : array of bool, aligned with ``stops``
        Whether each stop was done (reached by a track or marked done:
        :func:`~geo_pcmt.analysis.patrol.track.stops_done_by_tracks`).
    visits_per_week, high_risk_min : the guarantee: days a week on which each target of at
        least this risk is to be visited.

    Returns
    -------
    DataFrame
        One row per high-risk target planned this week: ``target_id``, ``name``, ``risk``,
        ``required``, ``planned`` (days planned), ``done`` (days done), ``met`` (done ≥
        required), highest risk first.
    """
    done = np.asarray(done, dtype=bool)
    cols = ["target_id", "name", "risk", "required", "planned", "done", "met"]
    if not len(stops):
        return pd.DataFrame(columns=cols)
    planned = count_visits(plans, stops)
    did = count_visits(plans, stops[done])
    high = (stops[stops["risk"].astype(float) >= high_risk_min]
            .assign(target_id=lambda f: f["target_id"].astype(str))
            .sort_values("risk", ascending=False).drop_duplicates("target_id"))
    ids = high["target_id"].to_numpy()
    out = pd.DataFrame({
        "target_id": ids,
        "name": high["name"].to_numpy() if "name" in high.columns else ids,
        "risk": high["risk"].astype(float).to_numpy(),
        "required": int(visits_per_week),
        "planned": [planned.get(t, 0) for t in ids],
        "done": [did.get(t, 0) for t in ids]})
    out["met"] = out["done"] >= out["required"]
    return out[cols].reset_index(drop=True)
