"""Complex-hotspot flags (địa bàn, tụ điểm phức tạp): signals + rules → score, level, reasons.

Each candidate area — a density cluster (tụ điểm), a commune (địa bàn xã) or a Gi* hot hex
cell outside every cluster — is checked against a fixed list of signals. A signal that fires
adds points to the area's ``score`` and one reason, in Vietnamese and English, that quotes
the numbers behind it ("5 điểm bán lẻ đang hoạt động trong bán kính 600 m"). An area is
flagged when its score reaches ``FlagRules.min_score`` and at least ``min_signals`` signals
fired; ``level`` is ``high`` / ``medium`` / ``low`` by score.

Everything that decides a flag is an explicit input: the frames, :class:`FlagRules` and
``as_of``. The same inputs give the same flags; the rules are stored with every run
(``params``) and each flag's signal values and points are kept in ``signals`` (JSON).
The signals themselves are in :mod:`geo_pcmt.analysis.flag_signals`.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import date
from typing import Callable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo_pcmt.analysis import calendar
from geo_pcmt.analysis import flag_signals as sig
from geo_pcmt.analysis.flag_signals import (  # importable from here as before
    CROSSING_WORDS,
    Signal,
    format_p,
)
from geo_pcmt.crs import METRIC_CRS, STORAGE_CRS
from geo_pcmt.layers import FLAG_LEVELS

LEVELS = FLAG_LEVELS
LEVEL_LABELS = {"high": ("Mức cao", "High"), "medium": ("Mức trung bình", "Medium"),
                "low": ("Mức thấp", "Low")}
FLAG_COLUMNS = ["area_kind", "area_ref", "name", "score", "level", "reasons_vi", "reasons_en",
                "signals", "n_signals", "commune_code"]


@dataclass(frozen=True)
class FlagRules:
    """Rules and thresholds of the complex-hotspot flags, with their defaults.

    Active drug points (retail points with status ``active`` or ``re-emerged``)
      ``radius_m`` = 600 — neighbourhood of one point, about a village or a few streets;
      ``min_active_points`` = 3 — the densest neighbourhood in the area must hold this
      many active points (itself included); ``score_per_active_point`` = 1, capped at
      ``max_active_points_score`` = 6.
    Gi* (the hex cells whose centre lies in the area, or that hold the area's inner point;
      for communes the commune's own Gi* when given) — ``gistar_scores`` = 3 / 2 / 1
      points for a hot spot at 99 / 95 / 90 % confidence (after FDR when the run applied it).
    Emerging hot spots — ``emerging_scores``: intensifying 3, new 2.5, consecutive 2.5,
      persistent 2, sporadic 1, oscillating 1, diminishing 0.5, historical 0.5.
    Border crossing — within ``crossing_km`` = 5 km of a gate, opening or trail:
      ``crossing_score`` = 2 (trafficking enters through crossings).
    Border line — within ``border_km`` = 5 km of the Viet Nam–Laos border:
      ``border_score`` = 1.
    Opium poppy this season (the season counted for ``as_of`` starts on the first day of
      ``season_start_month`` = 9, the one calendar of :mod:`geo_pcmt.analysis.calendar`,
      shared with the patrol targets: sown in autumn, harvested about March) — at least
      ``opium_low_m2`` = 125 m²: 1 point; at least ``opium_high_m2`` = 750 m²: 2 points
      (the 125 / 750 m² bands of Decision 28/2025/QĐ-TTg, criteria d of class II and I).
    Re-emergence — any point back after elimination (status ``re-emerged``):
      ``reemerged_score`` = 2.
    Recent cases — at least ``min_recent_cases`` = 5 cases in the last ``recent_months``
      = 12 months: ``score_per_case`` = 0.2, capped at ``max_cases_score`` = 3.
    Decision — flagged when score ≥ ``min_score`` = 3 and at least ``min_signals`` = 2
      signals fired ("complex" = several independent signals); level ``high`` from
      ``high_score`` = 8, ``medium`` from ``medium_score`` = 5, else ``low``.
    """

    radius_m: float = 600.0
    min_active_points: int = 3
    score_per_active_point: float = 1.0
    max_active_points_score: float = 6.0
    gistar_scores: tuple[float, float, float] = (3.0, 2.0, 1.0)
    emerging_scores: tuple[tuple[str, float], ...] = (
        ("intensifying_hot", 3.0), ("new_hot", 2.5), ("consecutive_hot", 2.5),
        ("persistent_hot", 2.0), ("sporadic_hot", 1.0), ("oscillating_hot", 1.0),
        ("diminishing_hot", 0.5), ("historical_hot", 0.5))
    crossing_km: float = 5.0
    crossing_score: float = 2.0
    border_km: float = 5.0
    border_score: float = 1.0
    season_start_month: int = calendar.OPIUM_SEASON_START_MONTH
    opium_low_m2: float = 125.0
    opium_high_m2: float = 750.0
    opium_low_score: float = 1.0
    opium_high_score: float = 2.0
    reemerged_score: float = 2.0
    recent_months: int = 12
    min_recent_cases: int = 5
    score_per_case: float = 0.2
    max_cases_score: float = 3.0
    min_score: float = 3.0
    min_signals: int = 2
    medium_score: float = 5.0
    high_score: float = 8.0

    def as_dict(self) -> dict:
        d = asdict(self)
        d["gistar_scores"] = list(self.gistar_scores)
        d["emerging_scores"] = {k: v for k, v in self.emerging_scores}
        return d

    @classmethod
    def from_dict(cls, data: dict) -> "FlagRules":
        """Rebuild rules from :meth:`as_dict` output (e.g. a stored run's ``params``)."""
        d = dict(data)
        if "gistar_scores" in d:
            d["gistar_scores"] = tuple(d["gistar_scores"])
        if isinstance(d.get("emerging_scores"), dict):
            d["emerging_scores"] = tuple(d["emerging_scores"].items())
        known = set(cls.__dataclass_fields__)
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown flag rule(s): {', '.join(sorted(unknown))}")
        return cls(**d)



# --- candidate areas ----------------------------------------------------------------------

def _short_list(names: list[str], keep: int = 2) -> str:
    return ", ".join(names[:keep]) + (f" +{len(names) - keep}" if len(names) > keep else "")


def _cluster_areas(clusters: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Density clusters as candidates: "Cụm 1 (Xã A, Xã B +1)", their first commune."""
    cl = clusters.to_crs(STORAGE_CRS)
    names = []
    for _, row in cl.iterrows():
        where = [w for w in str(row.get("commune_names") or "").split("; ") if w]
        label = _short_list(where)
        names.append(f"Cụm {int(row['cluster']) + 1}" + (f" ({label})" if label else ""))
    methods = cl.get("method", pd.Series("dbscan", index=cl.index))
    communes = cl.get("communes", pd.Series("", index=cl.index)).fillna("")
    return gpd.GeoDataFrame({
        "area_kind": "cluster",
        "area_ref": [f"{m}:{int(c)}" for m, c in zip(methods, cl["cluster"])],
        "name": names,
        "commune_code": [(c.split(";")[0] if c else None) for c in communes],
    }, geometry=cl.geometry.values, crs=STORAGE_CRS)


def _commune_areas(communes: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Every commune (địa bàn xã) as a candidate."""
    cm = communes.to_crs(STORAGE_CRS)
    return gpd.GeoDataFrame({
        "area_kind": "commune", "area_ref": cm["code"].astype(str).to_numpy(),
        "name": cm["name"].astype(str).to_numpy(),
        "commune_code": cm["code"].astype(str).to_numpy(),
    }, geometry=cm.geometry.values, crs=STORAGE_CRS)


def _hot_cells_outside(gistar_cells: gpd.GeoDataFrame,
                       clusters: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame:
    """Hot Gi* cells that meet no cluster."""
    hot = gistar_cells[gistar_cells["gi_bin"] > 0].to_crs(STORAGE_CRS)
    if clusters is not None and len(clusters) and len(hot):
        covered = shapely.STRtree(np.asarray(clusters.to_crs(STORAGE_CRS).geometry.values,
                                             dtype=object)).query(
            np.asarray(hot.geometry.values, dtype=object), predicate="intersects")[0]
        hot = hot.iloc[np.setdiff1d(np.arange(len(hot)), covered)]
    return hot


def _hot_zones(hot: gpd.GeoDataFrame, communes: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame:
    """Merge touching hot cells into zones (one candidate area per connected group)."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components
    geoms = np.asarray(hot.to_crs(METRIC_CRS).geometry.values, dtype=object)
    a, b = shapely.STRtree(geoms).query(shapely.buffer(geoms, 1.0), predicate="intersects")
    n = len(geoms)
    _, label = connected_components(csr_matrix((np.ones(len(a)), (a, b)), shape=(n, n)),
                                    directed=False)
    cells = hot["cell"].astype(str).to_numpy()
    communes_of = _commune_finder(communes)
    rows = []
    for g in np.unique(label):
        members = np.flatnonzero(label == g)
        ids = sorted(cells[members])
        zone = shapely.union_all(geoms[members])
        where, code = communes_of(zone)
        title = "Ô nóng Gi*" if len(ids) == 1 else f"Vùng nóng Gi* {len(ids)} ô"
        rows.append({"area_kind": "hex", "area_ref": ids[0] if len(ids) == 1 else
                     f"{ids[0]}+{len(ids) - 1}",
                     "name": title + (f" ({where})" if where else ""),
                     "commune_code": code, "geometry": zone})
    zones = gpd.GeoDataFrame(rows, geometry="geometry", crs=METRIC_CRS)
    return zones.to_crs(STORAGE_CRS)


def _commune_finder(communes: gpd.GeoDataFrame | None
                    ) -> Callable[[shapely.Geometry], tuple[str, str | None]]:
    """A function: metric zone → names of the communes it lies in (largest share first,
    shortened) and the code of the first; ``("", None)`` without communes."""
    if communes is None or not len(communes):
        return lambda zone: ("", None)
    cm = communes.to_crs(METRIC_CRS)
    c_geoms = np.asarray(cm.geometry.values, dtype=object)
    c_names = cm["name"].astype(str).to_numpy() if "name" in cm.columns else None
    c_codes = cm["code"].astype(str).to_numpy() if "code" in cm.columns else None
    c_tree = shapely.STRtree(c_geoms)

    def find(zone: shapely.Geometry) -> tuple[str, str | None]:
        hit = c_tree.query(zone, predicate="intersects")
        if not len(hit):
            return "", None
        # communes by the share of the zone they hold, largest first
        share = shapely.area(shapely.intersection(c_geoms[hit], zone))
        hit = hit[np.argsort(-share, kind="stable")]
        where = _short_list(list(c_names[hit])) if c_names is not None else ""
        return where, (c_codes[hit[0]] if c_codes is not None else None)
    return find


def _candidate_areas(clusters: gpd.GeoDataFrame | None, communes: gpd.GeoDataFrame | None,
                     gistar_cells: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame | None:
    """Clusters, communes and zones of hot cells outside clusters; None when there is none."""
    parts = []
    if clusters is not None and len(clusters):
        parts.append(_cluster_areas(clusters))
    if communes is not None and len(communes):
        parts.append(_commune_areas(communes))
    if gistar_cells is not None and len(gistar_cells):
        hot = _hot_cells_outside(gistar_cells, clusters)
        if len(hot):
            parts.append(_hot_zones(hot, communes))
    if not parts:
        return None
    areas = pd.concat(parts, ignore_index=True)
    return gpd.GeoDataFrame(areas, geometry="geometry", crs=STORAGE_CRS)


# --- the decision -------------------------------------------------------------------------

def _no_flags() -> gpd.GeoDataFrame:
    empty = pd.DataFrame({c: pd.Series([], dtype=object) for c in FLAG_COLUMNS})
    return gpd.GeoDataFrame(empty, geometry=gpd.GeoSeries([], crs=STORAGE_CRS), crs=STORAGE_CRS)


def _decide(signals: list[Signal], rules: FlagRules) -> dict | None:
    """Score, level and reasons of one area; None when it is not a complex hotspot."""
    sigs = sorted(signals, key=lambda s: -s.score)
    score = round(float(sum(s.score for s in sigs)), 2)
    fired = [s for s in sigs if s.score > 0]
    if score < rules.min_score or len(fired) < rules.min_signals:
        return None
    level = "high" if score >= rules.high_score else "medium" if score >= rules.medium_score \
        else "low"
    return {
        "score": score, "level": level,
        "reasons_vi": "\n".join(s.vi for s in fired),
        "reasons_en": "\n".join(s.en for s in fired),
        "signals": json.dumps({s.name: {**s.value, "points": round(s.score, 2)} for s in fired},
                              ensure_ascii=False, sort_keys=True),
        "n_signals": len(fired),
    }


def _flag_frame(areas: gpd.GeoDataFrame, decided: list[tuple[int, dict]]) -> gpd.GeoDataFrame:
    """The flagged areas with their decision, highest score first (then cluster, hex, commune)."""
    found = pd.DataFrame([{"_i": i, **d} for i, d in decided])
    base = areas.iloc[found["_i"].to_numpy()].reset_index(drop=True)
    out = gpd.GeoDataFrame({
        "area_kind": base["area_kind"].to_numpy(), "area_ref": base["area_ref"].to_numpy(),
        "name": base["name"].to_numpy(), "score": found["score"].to_numpy(float),
        "level": found["level"].to_numpy(), "reasons_vi": found["reasons_vi"].to_numpy(),
        "reasons_en": found["reasons_en"].to_numpy(), "signals": found["signals"].to_numpy(),
        "n_signals": found["n_signals"].to_numpy(int),
        "commune_code": base["commune_code"].to_numpy(),
    }, geometry=base.geometry.values, crs=STORAGE_CRS)
    kind_order = out["area_kind"].map({"cluster": 0, "hex": 1, "commune": 2})
    out = out.assign(_k=kind_order).sort_values(["score", "_k", "area_ref"],
                                                ascending=[False, True, True])
    return out.drop(columns="_k").reset_index(drop=True)


def complex_hotspots(*, retail_points: gpd.GeoDataFrame | None = None,
                     opium_plots: gpd.GeoDataFrame | None = None,
                     cases: gpd.GeoDataFrame | None = None,
                     crossings: gpd.GeoDataFrame | None = None,
                     border: gpd.GeoDataFrame | None = None,
                     communes: gpd.GeoDataFrame | None = None,
                     clusters: gpd.GeoDataFrame | None = None,
                     gistar_cells: gpd.GeoDataFrame | None = None,
                     commune_gistar: pd.DataFrame | None = None,
                     emerging: gpd.GeoDataFrame | None = None,
                     gistar_fdr: bool = True,
                     rules: FlagRules | None = None,
                     as_of: str | date | None = None) -> gpd.GeoDataFrame:
    """Flag complex hotspots with a score, a level and readable reasons.

    Parameters
    ----------
    retail_points, opium_plots, cases, crossings, border, communes : GeoDataFrames, optional
        Store layers (any CRS). Signals whose layer is missing simply do not fire.
    clusters : GeoDataFrame, optional
        Cluster polygons (:func:`geo_pcmt.analysis.clusters.cluster_polygons`), candidate areas
        of kind ``cluster``.
    gistar_cells : GeoDataFrame, optional
        Hex Gi* result (:func:`geo_pcmt.analysis.gistar.gi_star` on a hex grid): its hot cells give
        the Gi* signal, and hot cells outside every cluster, merged where they touch, become
        candidates of kind ``hex``.
    commune_gistar : DataFrame, optional
        Gi* per commune (``code``/``cell``, ``z``, ``confidence``, ``gi_bin``); used for
        commune areas instead of hex cells.
    emerging : GeoDataFrame, optional
        :func:`geo_pcmt.analysis.trends.emerging_hotspots` result.
    gistar_fdr : bool
        Whether the Gi* classes were FDR-corrected (said in the reason).
    rules : FlagRules, optional
        Thresholds and points (defaults documented on :class:`FlagRules`).
    as_of : date or ISO str, optional
        The day the flags are for (recent cases, this opium season). Default: today.

    Returns
    -------
    GeoDataFrame (EPSG:4326), one row per flagged area, highest score first, with
    ``area_kind`` (cluster / commune / hex), ``area_ref``, ``name``, ``score``, ``level``,
    ``reasons_vi`` and ``reasons_en`` (one reason per line, strongest first), ``signals``
    (JSON: per signal its value and points), ``n_signals``, ``commune_code`` and geometry.

    Examples
    --------
    >>> m = lambda data, geoms: gpd.GeoDataFrame(data, geometry=geoms, crs=32648)
    >>> communes = m({"code": ["99001"], "name": ["Xã Thử"]},
    ...              [shapely.box(465_000, 2_175_000, 475_000, 2_185_000)])
    >>> points = m({"status": ["active"] * 4}, shapely.points(470_000 + 100 * np.arange(4), 2.18e6))
    >>> gate = m({"name": ["Thông Thụ"], "kind": ["secondary"]}, [shapely.Point(477_000, 2.18e6)])
    >>> flags = complex_hotspots(retail_points=points, crossings=gate, communes=communes,
    ...                          as_of="2026-06-30")
    >>> flags[["name", "score", "level"]].to_dict("records")
    [{'name': 'Xã Thử', 'score': 6.0, 'level': 'medium'}]
    >>> print(flags.loc[0, "reasons_vi"])
    4 điểm bán lẻ đang hoạt động trong bán kính 600 m
    cách cửa khẩu Thông Thụ 2,0 km
    """
    rules = rules or FlagRules()
    as_of_ts = pd.Timestamp(as_of) if as_of is not None else pd.Timestamp(date.today())
    areas = _candidate_areas(clusters, communes, gistar_cells)
    if areas is None:
        return _no_flags()
    geoms = sig.metric_geoms(areas)
    kinds = areas["area_kind"].to_numpy(dtype=object)
    refs = areas["area_ref"].to_numpy(dtype=object)
    signals: list[list[Signal]] = [[] for _ in range(len(areas))]
    # the order of the signals decides the order of reasons with equal points
    for fired in (sig.active_points(geoms, retail_points, rules),
                  sig.gistar(geoms, kinds, refs, gistar_cells, commune_gistar, gistar_fdr, rules),
                  sig.emerging_trend(geoms, emerging, rules),
                  sig.near_crossing(geoms, crossings, rules),
                  sig.near_border(geoms, border, rules),
                  sig.opium_this_season(geoms, opium_plots, as_of_ts, rules),
                  sig.reemerged(geoms, retail_points, rules),
                  sig.recent_cases(geoms, cases, as_of_ts, rules)):
        for i, signal in fired:
            signals[i].append(signal)
    decided = [(i, d) for i, d in enumerate(_decide(s, rules) for s in signals) if d is not None]
    return _flag_frame(areas, decided) if decided else _no_flags()


__all__ = ["CROSSING_WORDS", "FLAG_COLUMNS", "LEVELS", "LEVEL_LABELS", "FlagRules",
           "complex_hotspots", "format_p"]
