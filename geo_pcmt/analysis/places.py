"""Complex places (địa bàn, tụ điểm phức tạp): one row per place on the ground, merged across methods.

A density cluster (DBSCAN/HDBSCAN), the hot Gi* hex cells around it and the commune it lies
in describe one place; :func:`complex_places` turns them into **one** row with the methods
that found it. A place is listed only when a *drug signal* fires on its own evidence (active
drug points, re-emerged points, opium plots this season, recent cases, seizures at a border
crossing); geography (a gate, a trail, the border) and commune-level statistics only raise
the score of a place that has one. Records placed only at a commune centre
(``geocode_quality == "commune"``) never locate a place: they count at commune level
(:func:`commune_rates`) and each place says how many its communes hold.

Commune rates are smoothed with Marshall's global empirical Bayes estimator
(``esda.smoothing.Empirical_Bayes``), so that a small commune with a handful of records is not
taken for a hot one; Gi* on communes is kept as supporting evidence only. Everything that
decides a place is an explicit input; the thresholds are :class:`PlaceRules` (with the
signal thresholds of :class:`geo_pcmt.analysis.flags.FlagRules`).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from geo_pcmt.analysis import flag_signals as sig
from geo_pcmt.analysis.place_history import METHOD_WORDS
from geo_pcmt.analysis.flag_signals import Signal
from geo_pcmt.analysis.flags import FlagRules
from geo_pcmt.analysis.grid import metric_xy
from geo_pcmt.crs import METRIC_CRS, STORAGE_CRS
from geo_pcmt.formatting import fmt_number
from geo_pcmt.ingest.address import KEYWORDS
from geo_pcmt.values import column_dates

LEVEL_WORDS = {"high": ("mức cao", "high"), "medium": ("mức trung bình", "medium"),
               "low": ("mức thấp", "low")}
DRUG_SIGNALS = frozenset({"active_points", "reemerged", "opium", "recent_cases",
                          "crossing_seizures"})
SEIZURE_COLUMNS = ("heroin_g", "meth_pills", "crystal_meth_g", "opium_g")
PLACE_COLUMNS = ["name", "score", "level", "methods", "communes", "commune_names", "village",
                 "n_evidence", "n_commune_only", "reasons_vi", "reasons_en", "signals",
                 "n_signals", "extent_m", "commune_code"]


@dataclass(frozen=True)
class PlaceRules:
    """How evidence becomes places, with defaults.

    ``min_drug_score`` = 4 — the drug signals of a place (points, re-emerged points, opium,
      recent cases, seizures at a crossing) must add up to this. Recent cases alone score at
      most 3 (``flags.max_cases_score``): cases follow where people live, so they list a
      place only together with points, plots or seizures.
    ``merge_m`` = 500 — footprints (a cluster polygon, a zone of touching hot hex cells)
      closer than this are one place.
    ``zone_radius_m`` = 3 000 — hot hex cells group around the hottest within this radius.
    ``village_km`` = 3 — the nearest village named by a record within this distance names
      the place.
    ``commune_rate_ratio`` = 2, ``commune_min_records`` = 5 — a commune whose smoothed rate
      is at least twice the province's, from at least 5 records, adds
      ``commune_rate_score`` = 1 to the places in it; a commune Gi* hot spot adds
      ``commune_gistar_score`` = 1. Neither ever lists a place alone.
    ``rate_per`` = 10 000 — residents per rate (per km² × 100 when no population is known).
    ``seizure_radius_m`` = 1 000, ``min_seizure_cases`` = 2 — recent cases with drugs seized
      this close to a border crossing in or near the place: ``seizure_score`` = 2.
    ``flags`` — the signal thresholds (active points, opium, cases, border, Gi*) and the
      decision (``min_score``, ``medium_score``, ``high_score``), shared with the flags.
    """

    min_drug_score: float = 4.0
    merge_m: float = 500.0
    zone_radius_m: float = 3000.0
    village_km: float = 3.0
    commune_rate_ratio: float = 2.0
    commune_min_records: int = 5
    commune_rate_score: float = 1.0
    commune_gistar_score: float = 1.0
    rate_per: float = 10_000.0
    seizure_radius_m: float = 1000.0
    min_seizure_cases: int = 2
    seizure_score: float = 2.0
    flags: FlagRules = field(default_factory=FlagRules)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["flags"] = self.flags.as_dict()
        return d

    @classmethod
    def from_dict(cls, data: dict) -> "PlaceRules":
        d = dict(data)
        if isinstance(d.get("flags"), dict):
            d["flags"] = FlagRules.from_dict(d["flags"])
        unknown = set(d) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown place rule(s): {', '.join(sorted(unknown))}")
        return cls(**d)


# --- location quality ---------------------------------------------------------------------

def split_by_location(frame: gpd.GeoDataFrame | None
                      ) -> tuple[gpd.GeoDataFrame | None, gpd.GeoDataFrame | None]:
    """``(located, commune_only)``: records with a position of their own, and records placed
    only at a commune centre (``geocode_quality == "commune"``), which locate nothing.

    Examples
    --------
    >>> f = gpd.GeoDataFrame({"geocode_quality": ["exact", "commune", None]},
    ...                      geometry=shapely.points([0, 1, 2], [0, 0, 0]), crs=4326)
    >>> [len(part) for part in split_by_location(f)]
    [2, 1]
    """
    if frame is None or "geocode_quality" not in frame.columns:
        return frame, None
    only = (frame["geocode_quality"].astype(str) == "commune").to_numpy()
    if not only.any():  # the usual case: no copy of a frame that may hold a million rows
        return frame, frame.iloc[:0]
    return frame[~only], frame[only]


# --- commune statistics (supporting evidence) ----------------------------------------------

def commune_rates(communes: gpd.GeoDataFrame, codes: pd.Series | np.ndarray, *,
                  population: pd.Series | None = None, rate_per: float = 10_000.0
                  ) -> pd.DataFrame:
    """Records per commune, raw and empirical-Bayes rates (Marshall's global EB).

    Parameters
    ----------
    communes : GeoDataFrame with ``code`` and ``name``
    codes : the commune code of every drug record (located and commune-only alike)
    population : Series code → residents, optional
        Without it (or for communes it lacks) the base is the area in km² / 100, so the rate
        is a density per 100 km².
    rate_per : float
        Rates are per this many residents.

    Returns
    -------
    DataFrame: ``code``, ``name``, ``records``, ``base``, ``rate``, ``eb_rate``,
    ``ratio`` (EB rate ÷ province rate), ``base_kind`` (``population`` / ``area``).
    """
    from esda.smoothing import Empirical_Bayes
    cm = communes.reset_index(drop=True)
    code = cm["code"].astype(str)
    counts = pd.Series(np.asarray(codes, dtype=object)).dropna().astype(str).value_counts()
    e = code.map(counts).fillna(0).to_numpy(float)
    area_km2 = cm.to_crs(METRIC_CRS).geometry.area.to_numpy(float) / 1e6
    pop = code.map(population).to_numpy(float) if population is not None \
        else np.full(len(cm), np.nan)
    use_pop = bool(np.isfinite(pop).all() and (pop > 0).all())
    b = pop / rate_per if use_pop else np.maximum(area_km2, 1e-6) / 100.0
    eb = np.asarray(Empirical_Bayes(e.reshape(-1, 1), b.reshape(-1, 1)).r, float).ravel() \
        if e.sum() > 0 else np.zeros(len(cm))
    province = e.sum() / b.sum() if b.sum() > 0 else 0.0
    return pd.DataFrame({
        "code": code, "name": cm["name"].astype(str) if "name" in cm.columns else code,
        "records": e.astype(int), "base": b, "rate": e / b, "eb_rate": eb,
        "ratio": eb / province if province > 0 else np.zeros(len(cm)),
        "base_kind": "population" if use_pop else "area"})


# --- footprints → places ---------------------------------------------------------------------

def _hot_zones(gistar_cells: gpd.GeoDataFrame | None, radius_m: float) -> list[shapely.Geometry]:
    """Hot hex cells grouped into compact zones (metric): the hottest cell starts a zone and
    every cooler hot cell joins the zone whose first cell is nearest within ``radius_m``, else
    starts its own — so a long chain of hot cells along a road becomes several places, not
    one of forty kilometres."""
    if gistar_cells is None or not len(gistar_cells):
        return []
    hot = gistar_cells[gistar_cells["gi_bin"].to_numpy(int) > 0]
    if not len(hot):
        return []
    hot = hot.iloc[np.argsort(-hot["z"].to_numpy(float), kind="stable")]
    geoms = sig.metric_geoms(hot)
    cx, cy = shapely.get_x(shapely.centroid(geoms)), shapely.get_y(shapely.centroid(geoms))
    seeds: list[int] = []
    zone = np.empty(len(geoms), dtype=int)
    for i in range(len(geoms)):
        if seeds:
            d = np.hypot(cx[seeds] - cx[i], cy[seeds] - cy[i])
            k = int(np.argmin(d))
            if d[k] <= radius_m:
                zone[i] = k
                continue
        seeds.append(i)
        zone[i] = len(seeds) - 1
    return [shapely.union_all(geoms[zone == z]) for z in range(len(seeds))]


def _footprints(clusters: gpd.GeoDataFrame | None, gistar_cells: gpd.GeoDataFrame | None,
                rules: "PlaceRules") -> list[tuple[shapely.Geometry, set[str]]]:
    """Candidate places: clusters and hot zones, each zone joined to the clusters it meets
    (within ``merge_m``) and clusters to each other; two zones never join directly."""
    parts: list[shapely.Geometry] = []
    methods: list[str] = []
    if clusters is not None and len(clusters):
        parts += list(sig.metric_geoms(clusters))
        methods += list(clusters.get("method", pd.Series("dbscan", index=clusters.index)))
    for zone in _hot_zones(gistar_cells, rules.zone_radius_m):
        parts.append(zone)
        methods.append("gistar_hex")
    if not parts:
        return []
    geoms = np.asarray(parts, dtype=object)
    is_zone = np.asarray([m == "gistar_hex" for m in methods])
    a, b = shapely.STRtree(geoms).query(shapely.buffer(geoms, rules.merge_m / 2.0),
                                        predicate="intersects")
    keep = (a == b) | ~(is_zone[a] & is_zone[b])
    a, b = a[keep], b[keep]
    _, label = connected_components(csr_matrix((np.ones(len(a)), (a, b)),
                                               shape=(len(geoms), len(geoms))), directed=False)
    return [(shapely.union_all(geoms[label == g]),
             {methods[i] for i in np.flatnonzero(label == g)}) for g in np.unique(label)]


def _evidence_xy(frames: list[gpd.GeoDataFrame | None]) -> np.ndarray:
    """Metric x, y of the drug evidence (an n × 2 array)."""
    xy = [np.column_stack(metric_xy(f)) for f in frames if f is not None and len(f)]
    return np.vstack(xy) if xy else np.empty((0, 2))


def drug_evidence(retail, plots, cases, as_of: pd.Timestamp, rules: FlagRules
                  ) -> dict[str, gpd.GeoDataFrame]:
    """The records that are drug evidence on ``as_of``: active or re-emerged retail points,
    opium plots detected this season, cases of the last ``recent_months`` months (by layer;
    missing layers left out)."""
    out: dict[str, gpd.GeoDataFrame] = {}
    if retail is not None and len(retail):
        status = retail["status"].astype(str) if "status" in retail.columns \
            else pd.Series("active", index=retail.index)
        out["retail_points"] = retail[status.isin(["active", "re-emerged"]).to_numpy()]
    if plots is not None and len(plots):
        det = column_dates(plots, "detected_on")
        season0 = sig._season_start(as_of, rules.season_start_month)
        out["opium_plots"] = plots[((det >= season0) & (det <= as_of)).to_numpy()]
    if cases is not None and len(cases):
        cdate = column_dates(cases, "date")
        since = as_of - pd.DateOffset(months=rules.recent_months)
        out["cases"] = cases[((cdate > since) & (cdate <= as_of)).to_numpy()]
    return out


# --- names ------------------------------------------------------------------------------------

_VILLAGE_WORDS = tuple(w for w in KEYWORDS["village"]
                       if w in ("bản", "khối", "xóm", "thôn", "ấp", "khu", "làng", "tiểu khu"))


def village_of_address(address: object) -> str | None:
    """The village part of an address ("bản Long Piệt, xã Mường Xén" → "Bản Long Piệt").

    Examples
    --------
    >>> village_of_address("bản Long Piệt, xã Mường Xén"), village_of_address("xã Tri Lễ")
    ('Bản Long Piệt', None)
    """
    if not isinstance(address, str):
        return None
    first = address.split(",")[0].strip()
    low = first.lower()
    for word in sorted(_VILLAGE_WORDS, key=len, reverse=True):
        if low.startswith(word + " ") and len(first) > len(word) + 1:
            return first[0].upper() + first[1:]
    return None


def _named_villages(frames: list[gpd.GeoDataFrame | None]) -> tuple[np.ndarray, np.ndarray]:
    """Metric positions and names of every record that names its village."""
    xy, names = [], []
    for f in frames:
        if f is None or not len(f):
            continue
        if "village" in f.columns:
            v = f["village"].where(f["village"].notna(), None).to_numpy(dtype=object)
        elif "address" in f.columns:
            v = np.array([village_of_address(a) for a in f["address"]], dtype=object)
        else:
            continue
        ok = np.array([isinstance(s, str) and bool(s.strip()) for s in v])
        if ok.any():
            x, y = metric_xy(f[ok])
            xy.append(np.column_stack([x, y]))
            names += [s.strip() for s in v[ok]]
    if not xy:
        return np.empty((0, 2)), np.empty(0, dtype=object)
    return np.vstack(xy), np.asarray(names, dtype=object)


# --- the decision -----------------------------------------------------------------------------

def _commune_signals(codes: list[str], rates: pd.DataFrame | None,
                     commune_gistar: pd.DataFrame | None, rules: PlaceRules) -> list[Signal]:
    """Supporting signals of the place's communes: smoothed rate, commune Gi*."""
    out: list[Signal] = []
    if rates is not None and len(rates):
        r = rates[rates["code"].isin(codes) & (rates["ratio"] >= rules.commune_rate_ratio)
                  & (rates["records"] >= rules.commune_min_records)]
        if len(r):
            top = r.sort_values("ratio", ascending=False).iloc[0]
            unit_vi, unit_en = (f"/ {fmt_number(rules.rate_per, 0, 'vi')} dân",
                                f"per {fmt_number(rules.rate_per, 0, 'en')} residents") \
                if top["base_kind"] == "population" else ("/ 100 km²", "per 100 km²")
            out.append(Signal(
                "commune_rate", rules.commune_rate_score,
                f"{top['name']}: {fmt_number(top['records'], 0, 'vi')} hồ sơ ma túy, tỷ lệ "
                f"{fmt_number(top['eb_rate'], 1, 'vi')} {unit_vi} (làm trơn Bayes thực "
                f"nghiệm), gấp {fmt_number(top['ratio'], 1, 'vi')} lần bình quân tỉnh",
                f"{top['name']}: {fmt_number(top['records'], 0, 'en')} drug records, "
                f"{fmt_number(top['eb_rate'], 1, 'en')} {unit_en} (empirical Bayes), "
                f"{fmt_number(top['ratio'], 1, 'en')}× the province rate",
                {"code": top["code"], "records": int(top["records"]),
                 "eb_rate": round(float(top["eb_rate"]), 3), "ratio": round(float(top["ratio"]), 3)}))
    if commune_gistar is not None and len(commune_gistar):
        key = "code" if "code" in commune_gistar.columns else "cell"
        g = commune_gistar[commune_gistar[key].astype(str).isin(codes)
                           & (commune_gistar["gi_bin"].to_numpy(int) > 0)]
        if len(g):
            top = g.sort_values("z", ascending=False).iloc[0]
            name = str(top.get("name") or top[key])
            out.append(Signal(
                "commune_gistar", rules.commune_gistar_score,
                f"{name} là điểm nóng Gi* theo xã (z = {fmt_number(top['z'], 1, 'vi')}, "
                f"{int(top['confidence'])} %), bằng chứng hỗ trợ",
                f"{name} is a commune Gi* hot spot (z = {fmt_number(top['z'], 1, 'en')}, "
                f"{int(top['confidence'])}%), supporting evidence",
                {"code": str(top[key]), "z": round(float(top["z"]), 3),
                 "confidence": int(top["confidence"])}))
    return out


def crossing_seizures(areas: np.ndarray, crossings: gpd.GeoDataFrame | None,
                      cases: gpd.GeoDataFrame | None, as_of: pd.Timestamp,
                      rules: PlaceRules) -> sig.Fired:
    """Recent cases with drugs seized within ``seizure_radius_m`` of a crossing that lies in
    the place or within ``flags.crossing_km`` of it."""
    if crossings is None or not len(crossings) or cases is None or not len(cases):
        return []
    cdate = column_dates(cases, "date")
    since = as_of - pd.DateOffset(months=rules.flags.recent_months)
    seized = np.zeros(len(cases), dtype=bool)
    for c in SEIZURE_COLUMNS:
        if c in cases.columns:
            seized |= pd.to_numeric(cases[c], errors="coerce").fillna(0).to_numpy(float) > 0
    recent = cases[seized & ((cdate > since) & (cdate <= as_of)).to_numpy()]
    if not len(recent):
        return []
    cg = sig.metric_geoms(crossings)
    case_pts = sig.metric_geoms(recent)
    c_idx, k_idx = shapely.STRtree(case_pts).query(cg, predicate="dwithin",
                                                   distance=rules.seizure_radius_m)
    per_crossing = np.bincount(c_idx, minlength=len(cg))
    names, kinds = sig._text_column(crossings, "name"), sig._text_column(crossings, "kind")
    fired: sig.Fired = []
    a_idx, x_idx = shapely.STRtree(cg).query(areas, predicate="dwithin",
                                             distance=rules.flags.crossing_km * 1000.0)
    for a in np.unique(a_idx):
        near = x_idx[a_idx == a]
        best = near[np.argmax(per_crossing[near])]
        k = int(per_crossing[best])
        if k < rules.min_seizure_cases:
            continue
        vi, en = sig.crossing_phrase(names[best], kinds[best])
        r_vi = fmt_number(rules.seizure_radius_m / 1000.0, 0, "vi")
        fired.append((int(a), Signal(
            "crossing_seizures", rules.seizure_score,
            f"{k} vụ có thu giữ ma túy trong bán kính {r_vi} km quanh {vi} "
            f"({rules.flags.recent_months} tháng qua)",
            f"{k} cases with drugs seized within {r_vi} km of {en} "
            f"(last {rules.flags.recent_months} months)",
            {"crossing": names[best], "cases": k})))
    return fired


def _decide(signals: list[Signal], rules: FlagRules, min_drug_score: float) -> dict | None:
    """Score, level and numbered reasons; None when the drug signals add up to less than
    ``min_drug_score`` or the whole score to less than ``rules.min_score``."""
    fired = sorted((s for s in signals if s.score > 0), key=lambda s: -s.score)
    if sum(s.score for s in fired if s.name in DRUG_SIGNALS) < min_drug_score:
        return None
    score = round(float(sum(s.score for s in fired)), 2)
    if score < rules.min_score:
        return None
    level = "high" if score >= rules.high_score else "medium" if score >= rules.medium_score \
        else "low"
    return {"score": score, "level": level, "n_signals": len(fired),
            "reasons_vi": "\n".join(f"{i}. {s.vi}" for i, s in enumerate(fired, 1)),
            "reasons_en": "\n".join(f"{i}. {s.en}" for i, s in enumerate(fired, 1)),
            "signals": json.dumps({s.name: {**s.value, "points": round(s.score, 2)}
                                   for s in fired}, ensure_ascii=False, sort_keys=True, default=str)}


def _place_communes(footprints: np.ndarray, locations: np.ndarray,
                    communes: gpd.GeoDataFrame | None) -> list[tuple[list[str], list[str]]]:
    """Per place: commune codes and names it covers, the commune of its location first."""
    if communes is None or not len(communes):
        return [([], []) for _ in range(len(footprints))]
    cg = sig.metric_geoms(communes)
    codes = communes["code"].astype(str).to_numpy()
    names = communes["name"].astype(str).to_numpy() if "name" in communes.columns else codes
    tree = shapely.STRtree(cg)
    out = []
    for fp, loc in zip(footprints, locations):
        hit = tree.query(fp, predicate="intersects")
        share = shapely.area(shapely.intersection(cg[hit], fp)) if len(hit) else np.empty(0)
        hit = list(hit[np.argsort(-share, kind="stable")])
        home = tree.query(loc, predicate="intersects")
        if len(home):
            hit = [int(home[0])] + [h for h in hit if h != home[0]]
        out.append(([codes[h] for h in hit], [names[h] for h in hit]))
    return out


def _commune_only_codes(frames: list[gpd.GeoDataFrame | None],
                        communes: gpd.GeoDataFrame | None) -> np.ndarray:
    """The commune code of every commune-only record (its own field, else where it lies)."""
    out = []
    for f in frames:
        if f is None or not len(f):
            continue
        if "commune_code" in f.columns and f["commune_code"].notna().all():
            out += list(f["commune_code"].astype(str))
        elif communes is not None and len(communes):
            from geo_pcmt.ingest.spatial import assign_communes
            out += list(assign_communes(f.geometry.to_crs(communes.crs), communes))
    return np.asarray(out, dtype=object)


def _empty_places() -> gpd.GeoDataFrame:
    empty = pd.DataFrame({c: pd.Series([], dtype=object) for c in PLACE_COLUMNS})
    return gpd.GeoDataFrame(empty, geometry=gpd.GeoSeries([], crs=STORAGE_CRS), crs=STORAGE_CRS)


def _signals_per_place(fps: np.ndarray, located: dict, context: dict, as_of: pd.Timestamp,
                       rules: PlaceRules) -> list[list[Signal]]:
    """Every drug and context signal that fires on each footprint."""
    fr = rules.flags
    kinds = np.full(len(fps), "place", dtype=object)
    signals: list[list[Signal]] = [[] for _ in range(len(fps))]
    for fired in (sig.active_points(fps, located["retail_points"], fr),
                  sig.opium_this_season(fps, located["opium_plots"], as_of, fr),
                  sig.reemerged(fps, located["retail_points"], fr),
                  sig.recent_cases(fps, located["cases"], as_of, fr),
                  crossing_seizures(fps, context["crossings"], located["cases"], as_of, rules),
                  sig.gistar(fps, kinds, kinds, context["gistar_cells"], None,
                             context["fdr"], fr),
                  sig.emerging_trend(fps, context["emerging"], fr),
                  sig.near_crossing(fps, context["crossings"], fr),
                  sig.near_border(fps, context["border"], fr)):
        for i, signal in fired:
            signals[i].append(signal)
    return signals


def complex_places(*, retail_points: gpd.GeoDataFrame | None = None,
                   opium_plots: gpd.GeoDataFrame | None = None,
                   cases: gpd.GeoDataFrame | None = None,
                   crossings: gpd.GeoDataFrame | None = None,
                   border: gpd.GeoDataFrame | None = None,
                   communes: gpd.GeoDataFrame | None = None,
                   clusters: gpd.GeoDataFrame | None = None,
                   gistar_cells: gpd.GeoDataFrame | None = None,
                   rates: pd.DataFrame | None = None,
                   commune_gistar: pd.DataFrame | None = None,
                   emerging: gpd.GeoDataFrame | None = None,
                   gistar_fdr: bool = True, rules: PlaceRules | None = None,
                   as_of: str | date | None = None) -> gpd.GeoDataFrame:
    """One row per complex place, highest score first.

    Parameters
    ----------
    retail_points, opium_plots, cases : GeoDataFrames, optional
        Drug records (any CRS). Records with ``geocode_quality == "commune"`` are set aside
        (:func:`split_by_location`): they never locate a place, and ``n_commune_only`` counts
        those in each place's communes.
    crossings, border, communes : GeoDataFrames, optional
        Context: they raise the score of a place that has a drug signal, never list one.
    clusters : GeoDataFrame, optional
        Cluster polygons (:func:`geo_pcmt.analysis.clusters.cluster_polygons`) of located
        records.
    gistar_cells : GeoDataFrame, optional
        Hex Gi* of located records; touching hot cells form zones, merged with the clusters
        they meet.
    rates : DataFrame, optional
        :func:`commune_rates` output; ``commune_gistar`` a Gi* per commune (``cell``/``code``,
        ``z``, ``confidence``, ``gi_bin``). Both only support a place.
    emerging : GeoDataFrame, optional
        Emerging hot spots of the hex cells.
    rules : PlaceRules, optional
    as_of : date or ISO str, optional
        The day the list is for (this season's plots, the last months' cases).

    Returns
    -------
    GeoDataFrame (EPSG:4326, Point at the centroid of the place's located evidence) with
    :data:`PLACE_COLUMNS`: ``methods`` (``;``-separated: dbscan, hdbscan, gistar_hex,
    commune_rate, commune_gistar), ``communes`` (codes) and ``commune_names`` (``;``),
    ``village`` (nearest named village, or None), ``n_evidence`` (located records in the
    place), ``n_commune_only``, numbered ``reasons_vi`` / ``reasons_en``, ``signals`` (JSON),
    ``extent_m`` (the footprint's radius around the location), ``commune_code``.
    """
    rules = rules or PlaceRules()
    as_of_ts = pd.Timestamp(as_of) if as_of is not None else pd.Timestamp(date.today())
    raw = {"retail_points": retail_points, "opium_plots": opium_plots, "cases": cases}
    located, only = {}, {}
    for name, frame in raw.items():
        located[name], only[name] = split_by_location(frame)
    prints = _footprints(clusters, gistar_cells, rules)
    if not prints:
        return _empty_places()
    fps = np.asarray([p for p, _ in prints], dtype=object)
    context = {"crossings": crossings, "border": border, "gistar_cells": gistar_cells,
               "emerging": emerging, "fdr": gistar_fdr}
    signals = _signals_per_place(fps, located, context, as_of_ts, rules)
    evidence = _evidence_xy(list(drug_evidence(located["retail_points"], located["opium_plots"],
                                               located["cases"], as_of_ts, rules.flags).values()))
    inside = sig._points_in(fps, evidence[:, 0], evidence[:, 1])
    locs = np.asarray([shapely.Point(evidence[idx].mean(axis=0)) if len(idx)
                       else shapely.centroid(fp) for fp, idx in zip(fps, inside)], dtype=object)
    where = _place_communes(fps, locs, communes)
    only_codes = _commune_only_codes(list(only.values()), communes)
    v_xy, v_names = _named_villages([located["opium_plots"], located["retail_points"],
                                     raw["opium_plots"], raw["retail_points"]])
    rows = []
    for i, (fp, methods) in enumerate(prints):
        codes, names = where[i]
        extra = _commune_signals(codes[:1], rates, commune_gistar, rules)
        decided = _decide(signals[i] + extra, rules.flags, rules.min_drug_score)
        if decided is None:
            continue
        village = None
        if len(v_xy):
            d = np.hypot(v_xy[:, 0] - locs[i].x, v_xy[:, 1] - locs[i].y)
            if d.min() <= rules.village_km * 1000.0:
                village = str(v_names[int(np.argmin(d))])
        found = set(methods) | {s.name for s in extra}
        rows.append({
            **decided, "village": village,
            "methods": ";".join(m for m in METHOD_WORDS if m in found),
            "communes": ";".join(codes), "commune_names": "; ".join(names),
            "commune_code": codes[0] if codes else None,
            "n_evidence": int(len(inside[i])),
            "n_commune_only": int(np.isin(only_codes, codes).sum()) if codes else 0,
            "extent_m": round(float(shapely.hausdorff_distance(locs[i], fp)), 1),
            "geometry": locs[i]})
    if not rows:
        return _empty_places()
    out = pd.DataFrame(rows).sort_values(["score", "n_evidence"], ascending=[False, False])
    out["name"] = _names(out)
    out = gpd.GeoDataFrame(out.reset_index(drop=True), geometry="geometry", crs=METRIC_CRS)
    return out.to_crs(STORAGE_CRS)[PLACE_COLUMNS + ["geometry"]]


def _names(places: pd.DataFrame) -> list[str]:
    """"Bản Long Piệt, Xã Mường Xén"; a name already used gets " (2)", " (3)" …"""
    seen: dict[str, int] = {}
    out = []
    for village, names in zip(places["village"], places["commune_names"]):
        commune = str(names).split("; ")[0] if names else ""
        base = ", ".join(p for p in (village, commune) if isinstance(p, str) and p) \
            or "Địa bàn chưa rõ xã"
        seen[base] = seen.get(base, 0) + 1
        out.append(base if seen[base] == 1 else f"{base} ({seen[base]})")
    return out


def level_text(level: str, score: float, lang: str = "vi") -> str:
    """"mức cao, điểm số 9,5" / "high, score 9.5".

    Examples
    --------
    >>> level_text("medium", 6.25), level_text("high", 9, "en")
    ('mức trung bình, điểm số 6,3', 'high, score 9.0')
    """
    vi, en = LEVEL_WORDS.get(level, (level, level))
    if lang == "vi":
        return f"{vi}, điểm số {fmt_number(score, 1, 'vi')}"
    return f"{en}, score {fmt_number(score, 1, 'en')}"


def methods_text(methods: str, lang: str = "vi") -> str:
    """The methods that found a place, in words."""
    k = 0 if lang == "vi" else 1
    return ", ".join(METHOD_WORDS.get(m, (m, m))[k] for m in str(methods or "").split(";") if m)


__all__ = ["DRUG_SIGNALS", "LEVEL_WORDS", "METHOD_WORDS", "PLACE_COLUMNS", "PlaceRules",
           "commune_rates", "complex_places", "crossing_seizures", "drug_evidence", "level_text", "methods_text",
           "split_by_location", "village_of_address"]
