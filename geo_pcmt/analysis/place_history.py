"""The life of a complex place between runs: identity, lifecycle status and what changed.

A place keeps its ``place_id`` from run to run when the new location lies within
``match_m`` of a listed place (or inside that place's extent); the pairs are taken nearest
first, one to one. Its lifecycle is the history of ``place_events`` (a record layer):
``new`` → ``under_transformation`` (responsible unit, deadline, measures) → ``transformed``
or ``cleared`` (date, by whom) → ``relapsed`` when a run finds it again. Pure functions: the
run reads the previous list and the events, and stores the events these functions make.
"""
from __future__ import annotations

import hashlib

import geopandas as gpd
import numpy as np
import pandas as pd

from geo_pcmt.crs import METRIC_CRS
from geo_pcmt.formatting import fmt_number
from geo_pcmt.layers.derived import PLACE_STATUSES
from geo_pcmt.values import dates
from geo_pcmt.words import METHOD_WORDS, PLACE_STATUS_WORDS  # noqa: F401

#: The methods that can find a place, in words (Vietnamese, English).
STATUS_WORDS = PLACE_STATUS_WORDS
CHANGES = ("new", "same", "up", "down", "relapsed")
CLOSED = frozenset({"transformed", "cleared"})


def current_status(events: pd.DataFrame | None) -> dict[str, str]:
    """``place_id → status`` from the latest event of each place (by date, then entry).

    Examples
    --------
    >>> ev = pd.DataFrame({"place_id": ["A", "A", "B"], "status": ["new", "cleared", "new"],
    ...                    "date": ["2026-01-01", "2026-03-01", "2026-02-01"]})
    >>> current_status(ev)
    {'A': 'cleared', 'B': 'new'}
    """
    if events is None or not len(events):
        return {}
    ev = events.assign(_d=dates(events["date"]), _i=np.arange(len(events)))
    ev = ev.sort_values(["_d", "_i"], na_position="first")
    return {str(k): str(v) for k, v in ev.groupby("place_id", sort=True)["status"].last().items()}


def match(current: gpd.GeoDataFrame, previous: gpd.GeoDataFrame | None, *,
          match_m: float = 1000.0) -> np.ndarray:
    """For each current place, the ``place_id`` of the previous place it is (or None).

    A pair qualifies when the locations are within ``match_m`` or within the previous
    place's ``extent_m``; pairs are taken nearest first, each place at most once.
    """
    out = np.full(len(current), None, dtype=object)
    if previous is None or not len(previous) or not len(current):
        return out
    a = current.geometry.to_crs(METRIC_CRS)
    b = previous.geometry.to_crs(METRIC_CRS)
    d = np.hypot(a.x.to_numpy()[:, None] - b.x.to_numpy()[None, :],
                 a.y.to_numpy()[:, None] - b.y.to_numpy()[None, :])
    extent = pd.to_numeric(previous.get("extent_m", pd.Series(0.0, index=previous.index)),
                           errors="coerce").fillna(0.0).to_numpy(float)
    ok = d <= np.maximum(match_m, extent)[None, :]
    taken_a, taken_b = set(), set()
    for flat in np.argsort(d, axis=None, kind="stable"):
        i, j = divmod(int(flat), d.shape[1])
        if not ok[i, j]:
            continue
        if i in taken_a or j in taken_b:
            continue
        taken_a.add(i)
        taken_b.add(j)
        out[i] = str(previous["place_id"].iloc[j])
    return out


def new_place_id(run_id: str, i: int) -> str:
    """``DB-`` and 10 hex of the run and the row: stable once given, unique across runs."""
    return "DB-" + hashlib.sha1(f"{run_id}/{i}".encode()).hexdigest()[:10]


def _change_text(change: str, before: float | None, now: float) -> tuple[str, str]:
    if change in ("up", "down"):
        vi = "tăng" if change == "up" else "giảm"
        en = "rose" if change == "up" else "fell"
        return (f"điểm số {vi} {fmt_number(before, 1, 'vi')} → {fmt_number(now, 1, 'vi')}",
                f"score {en} {fmt_number(before, 1, 'en')} → {fmt_number(now, 1, 'en')}")
    return {"new": ("mới so với lần chạy trước", "new since the last run"),
            "same": ("không đổi", "unchanged"),
            "relapsed": ("tái phát sau khi đã chuyển hóa/xóa bỏ",
                         "relapsed after transformation/clearing")}[change]


def track(current: gpd.GeoDataFrame, previous: gpd.GeoDataFrame | None,
          events: pd.DataFrame | None, *, run_id: str, as_of: str, match_m: float = 1000.0
          ) -> tuple[gpd.GeoDataFrame, pd.DataFrame, pd.DataFrame]:
    """Give the current places their identity, status and change since the last run.

    Returns
    -------
    places : ``current`` with ``place_id``, ``status``, ``change``, ``change_vi``,
        ``change_en``, ``previous_score``
    gone : the previous places not found again (``place_id``, ``name``, ``score``)
    new_events : ``place_events`` rows this run adds (``new`` for a place seen the first
        time, ``relapsed`` for a transformed or cleared place found again), without the
        record fields the run adds when it writes them
    """
    ids = match(current, previous, match_m=match_m)
    status_of = current_status(events)
    prev_score = {} if previous is None or not len(previous) else dict(
        zip(previous["place_id"].astype(str), pd.to_numeric(previous["score"], errors="coerce")))
    out = current.copy()
    rows, status, change, before = [], [], [], []
    for i, pid in enumerate(ids):
        score = float(out["score"].iloc[i])
        if pid is None:
            pid = ids[i] = new_place_id(run_id, i)
        st = status_of.get(pid)
        b = prev_score.get(pid)
        if st in CLOSED:
            ch, st = "relapsed", "relapsed"
        elif b is None:
            ch, st = "new", st or "new"
        else:
            ch = "up" if score > b + 1e-9 else "down" if score < b - 1e-9 else "same"
            st = st or "new"
        if ch in ("new", "relapsed") and status_of.get(pid) != st:
            rows.append({"place_id": pid, "status": st, "date": as_of, "run_id": run_id,
                         "note": f"{STATUS_WORDS[st][0]} ({out['name'].iloc[i]})"})
        status.append(st)
        change.append(ch)
        before.append(b)
    out["place_id"] = list(ids)
    out["status"] = status
    out["change"] = change
    texts = [_change_text(c, b, s) for c, b, s in zip(change, before, out["score"])]
    out["change_vi"] = [t[0] for t in texts]
    out["change_en"] = [t[1] for t in texts]
    out["previous_score"] = [np.nan if b is None else b for b in before]
    seen = set(ids)
    gone = pd.DataFrame(columns=["place_id", "name", "score"]) if previous is None else \
        pd.DataFrame(previous[~previous["place_id"].astype(str).isin(seen)]
                     [["place_id", "name", "score"]]).reset_index(drop=True)
    new_events = pd.DataFrame(rows, columns=["place_id", "status", "date", "run_id", "note"])
    return out, gone, new_events


__all__ = ["CHANGES", "PLACE_STATUSES", "STATUS_WORDS", "current_status", "match",
           "new_place_id", "track"]
