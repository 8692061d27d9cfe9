"""Randomised patrol days: a risk-proportional daily draw with a weekly coverage floor.

Stackelberg-style unpredictability: each day's candidates are drawn with probabilities
proportional to risk (:func:`daily_draw`, seeded, reproducible), while high-risk targets are
spread over the week so each is visited at least ``visits_per_week`` times
(:func:`weekly_assignment`); visits already made this week (:func:`count_visits`) decide
which of them are owed today.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Mapping

import numpy as np
import pandas as pd

from geo_pcmt.analysis.patrol.model import (
    DWELL_MIN_DEFAULT,
    HIGH_RISK_MIN,
    KOPER_DWELL_RANGE_MIN,
    PatrolError,
)


def week_start(day: date) -> date:
    """Monday of the ISO week of ``day``."""
    return day - timedelta(days=day.weekday())


def weekly_assignment(targets: pd.DataFrame, *, week_of: date, seed: int,
                      visits_per_week: int = 2,
                      high_risk_min: float = HIGH_RISK_MIN) -> dict[str, tuple[date, ...]]:
    """Days of the week on which each high-risk target *must* be visited.

    Each target with ``risk ≥ high_risk_min`` gets ``visits_per_week`` distinct days, drawn at
    random but balanced so that no day carries more than ⌈k·H/7⌉ of the H high-risk targets.
    The draw depends only on ``seed`` and the ISO week, so every day of a week sees the same
    assignment.
    """
    if int(visits_per_week) != visits_per_week or not 0 <= visits_per_week <= 7:
        raise PatrolError(f"visits per week must be a whole number 0–7, got {visits_per_week!r}")
    monday = week_start(week_of)
    iso = monday.isocalendar()
    rng = np.random.default_rng([int(seed), iso.year, iso.week, 7])
    high = targets[targets["risk"].astype(float) >= high_risk_min]
    ids = sorted(map(str, high["target_id"]))
    load = np.zeros(7)
    out: dict[str, tuple[date, ...]] = {}
    for i in rng.permutation(len(ids)):
        order = np.lexsort((rng.random(7), load))  # least loaded days first, ties at random
        days = sorted(order[:int(visits_per_week)])
        load[days] += 1
        out[ids[i]] = tuple(monday + timedelta(days=int(d)) for d in days)
    return out


def inclusion_probabilities(risk: np.ndarray, expected: float) -> np.ndarray:
    """Probabilities proportional to ``risk``, capped at 1, summing to ``expected``.

    Examples
    --------
    >>> inclusion_probabilities(np.array([8.0, 2.0, 1.0, 1.0]), 2).round(3).tolist()
    [1.0, 0.5, 0.25, 0.25]
    """
    risk = np.clip(np.asarray(risk, dtype=float), 0, None)
    p = np.zeros_like(risk)
    free = risk > 0
    expected = min(float(expected), float(free.sum()))
    capped = 0
    while free.any() and expected - capped > 0:
        c = (expected - capped) / risk[free].sum()
        p[free] = c * risk[free]
        over = free & (p >= 1)
        if not over.any():
            break
        p[over] = 1.0
        capped += int(over.sum())
        free &= ~over
    return p


@dataclass
class DailyDraw:
    """The day's candidates in a randomised plan.

    ``forced`` targets carry the weekly guarantee today; ``drawn`` ones came from the
    risk-proportional draw with probability ``inclusion_p``; ``dwell_min`` is the day's
    random Koper dwell for each target.
    """

    forced: np.ndarray
    drawn: np.ndarray
    inclusion_p: np.ndarray
    dwell_min: np.ndarray
    assignment: dict[str, tuple[date, ...]]

    @property
    def candidates(self) -> np.ndarray:
        return self.forced | self.drawn


def daily_draw(targets: pd.DataFrame, *, plan_date: date, seed: int, visits_per_week: int = 2,
               high_risk_min: float = HIGH_RISK_MIN, draw_share: float = 0.6,
               visits_so_far: Mapping[str, int] | None = None,
               dwell_range_min: tuple[int, int] = KOPER_DWELL_RANGE_MIN) -> DailyDraw:
    """Draw the day's candidate targets (seeded by ``seed`` and the date).

    A high-risk target is *forced* today when the weekly assignment gives it more days up to
    today than it has had visits this week (``visits_so_far``; without it, only today's
    assigned targets are forced). Every other target enters with probability proportional to
    its risk, scaled so that about ``draw_share`` of them are drawn. Dwell times are drawn
    uniformly from the Koper range (10–16 min) unless a target sets its own.
    """
    if not 0 < draw_share <= 1:
        raise PatrolError(f"draw share must be in (0, 1], got {draw_share!r}")
    ids = targets["target_id"].astype(str).to_numpy()
    risk = targets["risk"].astype(float).to_numpy()
    assignment = weekly_assignment(targets, week_of=plan_date, seed=seed,
                                   visits_per_week=visits_per_week, high_risk_min=high_risk_min)
    forced = np.zeros(len(ids), dtype=bool)
    for n, tid in enumerate(ids):
        days = assignment.get(tid, ())
        if visits_so_far is None:
            forced[n] = plan_date in days
        else:
            due = sum(1 for d in days if d <= plan_date)
            forced[n] = due > int(visits_so_far.get(tid, 0))
    rng = np.random.default_rng([int(seed), plan_date.toordinal(), 1])
    p = np.zeros(len(ids))
    free = ~forced
    p[free] = inclusion_probabilities(risk[free], max(1.0, draw_share * free.sum()))
    drawn = free & (rng.random(len(ids)) < p)
    if not (forced | drawn).any() and (risk > 0).any():
        drawn[rng.choice(len(ids), p=risk / risk.sum())] = True
    lo, hi = dwell_range_min
    dwell = rng.integers(int(lo), int(hi) + 1, size=len(ids)).astype(float)
    if "dwell_min" in targets.columns:
        own = pd.to_numeric(targets["dwell_min"], errors="coerce").to_numpy(dtype=float)
        # a dwell a unit set itself is kept; the default 15 min is replaced by the random one
        keep = np.isfinite(own) & (own != DWELL_MIN_DEFAULT)
        dwell[keep] = own[keep]
    return DailyDraw(forced, drawn, p, dwell, assignment)


def count_visits(plans: pd.DataFrame, stops: pd.DataFrame) -> dict[str, int]:
    """On how many days each target was visited, from stored plans and their stops.

    Only the latest plan of each day counts (a re-planned day replaces the first plan).
    ``plans`` needs ``id``, ``plan_date`` and ``created_at``; ``stops`` ``plan_id`` and
    ``target_id``.

    Examples
    --------
    >>> plans = pd.DataFrame({"id": ["p1", "p2", "p3"], "plan_date": ["2026-01-12"] * 2
    ...                       + ["2026-01-13"], "created_at": ["08:00", "09:00", "08:00"]})
    >>> stops = pd.DataFrame({"plan_id": ["p1", "p2", "p3", "p3"],
    ...                       "target_id": ["A", "B", "B", "B"]})
    >>> count_visits(plans, stops)
    {'B': 2}
    """
    if not len(plans) or not len(stops):
        return {}
    latest = plans.sort_values("created_at", kind="stable").groupby("plan_date").tail(1)
    stops = stops[stops["plan_id"].isin(list(latest["id"]))]
    counts: Counter[str] = Counter()
    for _, g in stops.groupby("plan_id"):
        for tid in set(g["target_id"].astype(str)):
            counts[tid] += 1
    return dict(counts)
