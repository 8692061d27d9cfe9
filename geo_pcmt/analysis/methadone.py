"""Methadone access: motorbike time from each commune to the nearest dispensing point, and where one more point would help most.

Pure functions. Travel times come from the patrol travel model
(:func:`geo_pcmt.analysis.patrol.travel.travel_matrix`, motorbike, terrain detour factors),
from each commune's settled area (its representative point; population-weighted points are
not in the data yet) to the nearest facility that dispenses methadone (``facilities`` of kind
``methadone_dispensing`` or ``methadone_treatment``). People are the commune's addicts with
management records (``treatment`` layer). The choice of a new site is the maximal coverage
location problem (MCLP): the candidate that brings the most people now beyond the threshold
within it; exact for one site (every candidate scored), greedy for more.
"""
from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from geo_pcmt.analysis.patrol.travel import detour_factors, travel_matrix
from geo_pcmt.crs import METRIC_CRS, STORAGE_CRS

DISPENSING_KINDS = ("methadone_dispensing", "methadone_treatment")
DEFAULT_THRESHOLDS_MIN = (30.0, 60.0)


@dataclass
class Access:
    """``communes`` (one row per commune, point geometry), ``sites`` (top candidates),
    ``threshold_min`` (the one the sites are chosen for), ``mode``."""

    communes: gpd.GeoDataFrame
    sites: gpd.GeoDataFrame
    threshold_min: float
    mode: str


def best_sites(cover: np.ndarray, people: np.ndarray, covered: np.ndarray, *, k: int = 1,
               top: int = 3) -> list[tuple[list[int], int]]:
    """Maximal coverage: candidate sets (indices) and the people they newly cover.

    Parameters
    ----------
    cover : bool array (candidates × communes)
        ``cover[c, j]``: commune ``j`` is within the threshold of candidate ``c``.
    people : array (communes)
        People to cover in each commune.
    covered : bool array (communes)
        Already within the threshold of an existing point.
    k : int
        Sites to add. ``k == 1`` is exact: every candidate is scored, the ``top`` best are
        returned. ``k > 1`` is greedy (each step takes the best gain; one answer).

    Examples
    --------
    >>> cover = np.array([[1, 1, 0], [0, 1, 1], [0, 0, 1]], dtype=bool)
    >>> best_sites(cover, np.array([5, 3, 4]), np.array([False, True, False]))
    [([0], 5), ([1], 4), ([2], 4)]
    """
    left = np.where(covered, 0, np.asarray(people, dtype=float))
    if k == 1:
        gains = cover.astype(float) @ left
        order = np.lexsort((np.arange(len(gains)), -gains))[:top]
        return [([int(c)], int(round(gains[c]))) for c in order if gains[c] > 0]
    chosen, total = [], 0.0
    for _ in range(k):
        gains = cover.astype(float) @ left
        gains[chosen] = -1
        c = int(np.argmax(gains))
        if gains[c] <= 0:
            break
        chosen.append(c)
        total += gains[c]
        left = np.where(cover[c], 0, left)
    return [(chosen, int(round(total)))] if chosen else []


def access(communes: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame, people: pd.Series, *,
           thresholds_min: tuple[float, ...] = DEFAULT_THRESHOLDS_MIN, mode: str = "motorbike",
           sites_for_min: float | None = None, top: int = 3) -> Access:
    """Time to the nearest dispensing point per commune and the best places for one more.

    Parameters
    ----------
    communes : GeoDataFrame — ``code``, ``name``, polygons.
    facilities : GeoDataFrame — ``kind``, ``name``, points.
    people : Series — people with records per commune code (missing = 0).
    thresholds_min : minutes; each gives a ``beyond_<t>`` column.
    sites_for_min : the threshold the new site should serve (default: the first).
    top : how many candidate sites to list.

    Returns
    -------
    Access
    """
    points = facilities[facilities["kind"].isin(DISPENSING_KINDS)]
    if not len(points):
        raise ValueError("no methadone dispensing points in facilities (kind "
                         f"{' or '.join(DISPENSING_KINDS)})")
    origins = communes.to_crs(METRIC_CRS).representative_point().to_crs(STORAGE_CRS)
    allpts = gpd.GeoSeries(list(origins.values) + list(points.geometry.to_crs(STORAGE_CRS)),
                           crs=STORAGE_CRS)
    tm = travel_matrix(allpts, mode=mode, detour=detour_factors(allpts, communes))
    n = len(communes)
    to_points = tm.minutes[:n, n:]
    nearest = to_points.argmin(axis=1)
    minutes = to_points[np.arange(n), nearest]
    codes = communes["code"].astype(str).to_numpy()
    pop = people.reindex(codes).fillna(0).astype(int).to_numpy()
    out = gpd.GeoDataFrame({
        "commune_code": codes, "commune_name": communes["name"].to_numpy(),
        "nearest_point": points["name"].to_numpy()[nearest],
        "minutes": np.round(minutes, 1), "people": pop}, geometry=origins.values,
        crs=STORAGE_CRS)
    for t in thresholds_min:
        out[f"beyond_{int(t)}"] = minutes > t
    threshold = float(sites_for_min or thresholds_min[0])
    # candidates: every commune's settled point; a site there serves communes within reach
    cover = tm.minutes[:n, :n].T <= threshold
    chosen = best_sites(cover, pop, minutes <= threshold, top=top)
    sites = gpd.GeoDataFrame({
        "rank": np.arange(1, len(chosen) + 1),
        "commune_code": [codes[c[0]] for c, _ in chosen],
        "commune_name": [out["commune_name"].iloc[c[0]] for c, _ in chosen],
        "gain_people": [g for _, g in chosen],
        "communes_gained": [int((cover[c[0]] & (minutes > threshold)).sum()) for c, _ in chosen],
    }, geometry=[origins.values[c[0]] for c, _ in chosen], crs=STORAGE_CRS)
    return Access(out, sites, threshold, mode)


__all__ = ["Access", "DEFAULT_THRESHOLDS_MIN", "DISPENSING_KINDS", "access", "best_sites"]
