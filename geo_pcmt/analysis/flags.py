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
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from geo_pcmt.crs import METRIC_CRS, STORAGE_CRS
from geo_pcmt.analysis.clusters import nearest_feature
from geo_pcmt.analysis.grid import metric_xy
from geo_pcmt.layers import FLAG_LEVELS
from geo_pcmt.analysis.trends import CATEGORY_LABELS

LEVELS = FLAG_LEVELS
LEVEL_LABELS = {"high": ("Cao", "High"), "medium": ("Trung bình", "Medium"),
                "low": ("Thấp", "Low")}

# how a crossing kind reads in a sentence (Vietnamese, English)
CROSSING_WORDS = {
    "international": ("cửa khẩu quốc tế", "international border gate"),
    "main": ("cửa khẩu chính", "main border gate"),
    "secondary": ("cửa khẩu phụ", "secondary border gate"),
    "opening": ("lối mở", "border opening"),
    "trail": ("đường mòn", "border trail"),
}
_VI_PREFIXES = ("cửa khẩu quốc tế ", "cửa khẩu chính ", "cửa khẩu phụ ", "cửa khẩu ",
                "lối mở ", "đường mòn ")


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
    Opium poppy this season (the season containing ``as_of`` starts on the first day of
      ``season_start_month`` = 9: planted in autumn, harvested about March) — at least
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
    season_start_month: int = 9
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


# --- number formatting ------------------------------------------------------------------

def format_number(value: float, decimals: int = 0, lang: str = "vi") -> str:
    """Vietnamese: ``1.200``, ``2,1``; English: ``1,200``, ``2.1``.

    Examples
    --------
    >>> format_number(1200, 0, "vi"), format_number(2.06, 1, "vi"), format_number(2.06, 1, "en")
    ('1.200', '2,1', '2.1')
    """
    text = f"{float(value):,.{decimals}f}"
    if lang == "vi":
        return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    return text


def format_p(p: float, lang: str = "vi") -> str:
    """``p < 0,001`` / ``p = 0,03`` (Vietnamese) or ``p < 0.001`` / ``p = 0.03`` (English)."""
    if p < 0.001:
        return f"p < {format_number(0.001, 3, lang)}"
    return f"p = {format_number(p, 3 if p < 0.01 else 2, lang)}"


def _crossing_phrase(name: str | None, kind: str | None) -> tuple[str, str]:
    """("cửa khẩu Thông Thụ", "Thông Thụ border gate") from a stored name and kind."""
    name = (name or "").strip()
    vi_word, en_word = CROSSING_WORDS.get(kind or "", ("cửa khẩu", "border crossing"))
    if kind in ("international", "main", "secondary"):
        vi_word = "cửa khẩu"  # "cửa khẩu Thông Thụ" reads naturally; the class is secondary
    low = name.lower()
    bare = name
    for prefix in _VI_PREFIXES:
        if low.startswith(prefix):
            bare = name[len(prefix):]
            break
    vi = (name[0].lower() + name[1:]) if bare != name else f"{vi_word} {name}"
    en = f"{bare} {en_word}" if bare else en_word
    return vi.strip(), en.strip()


# --- signal computations ------------------------------------------------------------------

def _metric_geoms(frame: gpd.GeoDataFrame) -> np.ndarray:
    return np.asarray(frame.to_crs(METRIC_CRS).geometry.values, dtype=object)


def _points_in(areas: np.ndarray, x: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
    """Indices of the points inside (or on the edge of) each metric area."""
    out: list[np.ndarray] = [np.empty(0, dtype=np.int64) for _ in range(len(areas))]
    if len(x) == 0 or len(areas) == 0:
        return out
    pts = shapely.points(x, y)
    a_idx, p_idx = shapely.STRtree(pts).query(areas, predicate="intersects")
    if len(a_idx):
        order = np.argsort(a_idx, kind="stable")
        a_idx, p_idx = a_idx[order], p_idx[order]
        splits = np.flatnonzero(np.diff(a_idx)) + 1
        for a, chunk in zip(np.split(a_idx, splits), np.split(p_idx, splits)):
            out[a[0]] = chunk
    return out


def _dates(frame: pd.DataFrame | None, column: str) -> pd.Series:
    if frame is None or column not in frame.columns:
        return pd.Series([], dtype="datetime64[ns]")
    return pd.to_datetime(frame[column], errors="coerce")


def _season_start(as_of: pd.Timestamp, month: int) -> pd.Timestamp:
    year = as_of.year if as_of.month >= month else as_of.year - 1
    return pd.Timestamp(year=year, month=month, day=1)


def _overlapping_cells(areas: np.ndarray, cells: gpd.GeoDataFrame | None) -> list[np.ndarray]:
    """Cells of a Gi*/emerging frame whose centre lies in each area, plus the cell that
    holds the area's own inner point (so a cluster smaller than a cell meets its cell)."""
    out: list[np.ndarray] = [np.empty(0, dtype=np.int64) for _ in range(len(areas))]
    if cells is None or len(cells) == 0 or len(areas) == 0:
        return out
    cg = _metric_geoms(cells)
    centres = shapely.centroid(cg)
    a1, c1 = shapely.STRtree(centres).query(areas, predicate="intersects")
    a2, c2 = shapely.STRtree(cg).query(shapely.point_on_surface(areas), predicate="intersects")
    a_idx = np.concatenate([a1, a2])
    c_idx = np.concatenate([c1, c2])
    for a, c in zip(a_idx, c_idx):
        out[a] = np.append(out[a], c)
    return [np.unique(o) for o in out]


@dataclass
class _Signal:
    name: str
    score: float
    vi: str
    en: str
    value: dict = field(default_factory=dict)


def _active_point_counts(retail: gpd.GeoDataFrame | None, radius_m: float):
    """Active retail points (x, y, type), for each how many active points lie within
    ``radius_m`` of it (itself included), and the re-emerged points (x, y)."""
    if retail is None or len(retail) == 0:
        return np.empty(0), np.empty(0), np.empty(0, dtype=object), np.empty(0, dtype=int), \
            np.empty(0), np.empty(0)
    status = retail["status"].astype(str) if "status" in retail.columns \
        else pd.Series("active", index=retail.index)
    x, y = metric_xy(retail)
    active = status.isin(["active", "re-emerged"]).to_numpy()
    types = retail["type"].astype(str).to_numpy(dtype=object) if "type" in retail.columns \
        else np.full(len(retail), "diem_ban_le", dtype=object)
    ax, ay = x[active], y[active]
    counts = (cKDTree(np.column_stack([ax, ay])).query_ball_point(
        np.column_stack([ax, ay]), r=radius_m, return_length=True)
        if len(ax) else np.empty(0, dtype=int))
    reem = (status == "re-emerged").to_numpy()
    return ax, ay, types[active], np.asarray(counts, dtype=int), x[reem], y[reem]


def _short_list(names: list[str], keep: int = 2) -> str:
    return ", ".join(names[:keep]) + (f" +{len(names) - keep}" if len(names) > keep else "")


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
    if communes is not None and len(communes):
        cm = communes.to_crs(METRIC_CRS)
        c_geoms = np.asarray(cm.geometry.values, dtype=object)
        c_names = cm["name"].astype(str).to_numpy() if "name" in cm.columns else None
        c_codes = cm["code"].astype(str).to_numpy() if "code" in cm.columns else None
        c_tree = shapely.STRtree(c_geoms)
    else:
        c_tree = None
    rows = []
    for g in np.unique(label):
        members = np.flatnonzero(label == g)
        ids = sorted(cells[members])
        zone = shapely.union_all(geoms[members])
        where, code = "", None
        if c_tree is not None:
            hit = c_tree.query(zone, predicate="intersects")
            if len(hit):
                # communes by the share of the zone they hold, largest first
                share = shapely.area(shapely.intersection(c_geoms[hit], zone))
                hit = hit[np.argsort(-share, kind="stable")]
                where = _short_list(list(c_names[hit])) if c_names is not None else ""
                code = c_codes[hit[0]] if c_codes is not None else None
        title = "Ô nóng Gi*" if len(ids) == 1 else f"Vùng nóng Gi* {len(ids)} ô"
        rows.append({"area_kind": "hex", "area_ref": ids[0] if len(ids) == 1 else
                     f"{ids[0]}+{len(ids) - 1}",
                     "name": title + (f" ({where})" if where else ""),
                     "commune_code": code, "geometry": zone})
    zones = gpd.GeoDataFrame(rows, geometry="geometry", crs=METRIC_CRS)
    return zones.to_crs(STORAGE_CRS)


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
    >>> flags = complex_hotspots(retail_points=rp, opium_plots=op, cases=cs,
    ...                          crossings=bc, border=bl, communes=cm, clusters=cl,
    ...                          gistar_cells=gi, emerging=eh, as_of="2026-06-30")
    >>> print(flags.iloc[0]["reasons_vi"])
    """
    rules = rules or FlagRules()
    as_of_ts = pd.Timestamp(as_of) if as_of is not None else pd.Timestamp(date.today())
    # candidate areas
    parts = []
    if clusters is not None and len(clusters):
        cl = clusters.to_crs(STORAGE_CRS)
        names = []
        for _, row in cl.iterrows():
            where = [w for w in str(row.get("commune_names") or "").split("; ") if w]
            label = _short_list(where)
            names.append(f"Cụm {int(row['cluster']) + 1}" + (f" ({label})" if label else ""))
        parts.append(gpd.GeoDataFrame({
            "area_kind": "cluster",
            "area_ref": [f"{m}:{int(c)}" for m, c in zip(cl.get("method", pd.Series(
                "dbscan", index=cl.index)), cl["cluster"])],
            "name": names,
            "commune_code": [(c.split(";")[0] if c else None) for c in
                             cl.get("communes", pd.Series("", index=cl.index)).fillna("")],
        }, geometry=cl.geometry.values, crs=STORAGE_CRS))
    if communes is not None and len(communes):
        cm = communes.to_crs(STORAGE_CRS)
        parts.append(gpd.GeoDataFrame({
            "area_kind": "commune", "area_ref": cm["code"].astype(str).to_numpy(),
            "name": cm["name"].astype(str).to_numpy(),
            "commune_code": cm["code"].astype(str).to_numpy(),
        }, geometry=cm.geometry.values, crs=STORAGE_CRS))
    if gistar_cells is not None and len(gistar_cells):
        hot = gistar_cells[gistar_cells["gi_bin"] > 0].to_crs(STORAGE_CRS)
        if clusters is not None and len(clusters) and len(hot):
            covered = shapely.STRtree(np.asarray(clusters.to_crs(STORAGE_CRS).geometry.values,
                                                 dtype=object)).query(
                np.asarray(hot.geometry.values, dtype=object), predicate="intersects")[0]
            hot = hot.iloc[np.setdiff1d(np.arange(len(hot)), covered)]
        if len(hot):
            parts.append(_hot_zones(hot, communes))
    columns = ["area_kind", "area_ref", "name", "score", "level", "reasons_vi", "reasons_en",
               "signals", "n_signals", "commune_code"]
    if not parts:
        empty = pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
        return gpd.GeoDataFrame(empty, geometry=gpd.GeoSeries([], crs=STORAGE_CRS), crs=STORAGE_CRS)
    areas = pd.concat(parts, ignore_index=True)
    areas = gpd.GeoDataFrame(areas, geometry="geometry", crs=STORAGE_CRS)
    geoms = _metric_geoms(areas)
    n = len(areas)
    signals: list[list[_Signal]] = [[] for _ in range(n)]

    # 1. densest neighbourhood of active drug points
    ax, ay, atypes, acounts, rx, ry = _active_point_counts(retail_points, rules.radius_m)
    inside = _points_in(geoms, ax, ay)
    for i, idx in enumerate(inside):
        if not len(idx):
            continue
        best = int(acounts[idx].max())
        if best < rules.min_active_points:
            continue
        only_retail = bool(np.all(atypes[idx] == "diem_ban_le"))
        what_vi = "điểm bán lẻ" if only_retail else "điểm, tụ điểm ma túy"
        what_en = "active retail points" if only_retail else "active drug points and places"
        r_vi = format_number(rules.radius_m, 0, "vi")
        r_en = format_number(rules.radius_m, 0, "en")
        score = min(rules.max_active_points_score, rules.score_per_active_point * best)
        signals[i].append(_Signal(
            "active_points", score,
            f"{best} {what_vi} đang hoạt động trong bán kính {r_vi} m",
            f"{best} {what_en} within {r_en} m",
            {"count": best, "radius_m": rules.radius_m, "active_in_area": int(len(idx))}))

    # 2. Gi* hot spot
    if gistar_cells is not None and len(gistar_cells):
        overlap = _overlapping_cells(geoms, gistar_cells)
        z_all = gistar_cells["z"].to_numpy(float)
        conf_all = gistar_cells["confidence"].to_numpy(int)
        bin_all = gistar_cells["gi_bin"].to_numpy(int)
    else:
        overlap, z_all, conf_all, bin_all = [np.empty(0, dtype=np.int64)] * n, None, None, None
    commune_gi = {}
    if commune_gistar is not None and len(commune_gistar):
        key = "code" if "code" in commune_gistar.columns else "cell"
        for _, row in commune_gistar.iterrows():
            commune_gi[str(row[key])] = (float(row["z"]), int(row["confidence"]), int(row["gi_bin"]))
    fdr_vi = ", đã hiệu chỉnh FDR" if gistar_fdr else ""
    fdr_en = ", FDR-corrected" if gistar_fdr else ""
    for i in range(n):
        best = None
        if areas.at[i, "area_kind"] == "commune" and commune_gi:
            z, conf, b = commune_gi.get(str(areas.at[i, "area_ref"]), (0.0, 0, 0))
            if b > 0:
                best = (z, conf, "commune")
        elif z_all is not None and len(overlap[i]):
            idx = overlap[i][bin_all[overlap[i]] > 0]
            if len(idx):
                j = idx[np.argmax(z_all[idx])]
                best = (float(z_all[j]), int(conf_all[j]), "hex")
        if best is None:
            continue
        z, conf, unit = best
        points = dict(zip((99, 95, 90), rules.gistar_scores)).get(conf, 0.0)
        signals[i].append(_Signal(
            "gistar", points,
            f"Gi* z = {format_number(z, 1, 'vi')} ({conf} %{fdr_vi})",
            f"Gi* z = {format_number(z, 1, 'en')} ({conf} %{fdr_en})",
            {"z": round(z, 4), "confidence": conf, "unit": unit}))

    # 3. emerging hot spot trend
    if emerging is not None and len(emerging):
        e_over = _overlapping_cells(geoms, emerging)
        cats = emerging["category"].to_numpy(dtype=object)
        mkp = emerging["mk_p"].to_numpy(float)
        table = dict(rules.emerging_scores)
        for i in range(n):
            if not len(e_over[i]):
                continue
            pts = np.array([table.get(c, 0.0) for c in cats[e_over[i]]])
            if pts.max() <= 0:
                continue
            j = e_over[i][int(np.argmax(pts))]
            vi, en = CATEGORY_LABELS[cats[j]]
            signals[i].append(_Signal(
                "emerging", float(pts.max()),
                f"xu hướng: {vi.lower()} (Mann–Kendall {format_p(mkp[j], 'vi')})",
                f"trend: {en.lower()} (Mann–Kendall {format_p(mkp[j], 'en')})",
                {"category": cats[j], "mk_p": round(float(mkp[j]), 4)}))

    # 4–5. border crossing and border line
    if crossings is not None and len(crossings):
        cm_ = crossings.to_crs(METRIC_CRS)
        tree = shapely.STRtree(np.asarray(cm_.geometry.values, dtype=object))
        (gi_, ci_), dist = tree.query_nearest(geoms, return_distance=True, all_matches=False)
        names = crossings["name"].astype(str).to_numpy(dtype=object) if "name" in crossings.columns \
            else np.full(len(crossings), "", dtype=object)
        kinds = crossings["kind"].astype(str).to_numpy(dtype=object) if "kind" in crossings.columns \
            else np.full(len(crossings), "", dtype=object)
        for a, c, d in zip(gi_, ci_, dist):
            km = d / 1000.0
            if km > rules.crossing_km:
                continue
            vi, en = _crossing_phrase(names[c], kinds[c])
            km_shown = max(km, 0.1)
            signals[a].append(_Signal(
                "crossing", rules.crossing_score,
                f"cách {vi} {format_number(km_shown, 1, 'vi')} km",
                f"{format_number(km_shown, 1, 'en')} km from {en}",
                {"crossing": names[c], "kind": kinds[c], "distance_km": round(km, 3)}))
    if border is not None and len(border):
        _, _, dist = nearest_feature(geoms, border)
        for i in np.flatnonzero(dist <= rules.border_km):
            km_shown = max(float(dist[i]), 0.1)
            signals[i].append(_Signal(
                "border", rules.border_score,
                f"cách biên giới Việt – Lào {format_number(km_shown, 1, 'vi')} km",
                f"{format_number(km_shown, 1, 'en')} km from the Viet Nam–Laos border",
                {"distance_km": round(float(dist[i]), 3)}))

    # 6. opium poppy this season
    if opium_plots is not None and len(opium_plots):
        season0 = _season_start(as_of_ts, rules.season_start_month)
        det = _dates(opium_plots, "detected_on")
        in_season = ((det >= season0) & (det <= as_of_ts)).to_numpy()
        plots = opium_plots[in_season]
        if len(plots):
            px, py = metric_xy(plots)
            area_m2 = pd.to_numeric(plots.get("area_m2"), errors="coerce").fillna(0.0).to_numpy(float)
            plants = pd.to_numeric(plots["plant_count"], errors="coerce").fillna(0).to_numpy(float) \
                if "plant_count" in plots.columns else np.zeros(len(plots))
            for i, idx in enumerate(_points_in(geoms, px, py)):
                total = float(area_m2[idx].sum()) if len(idx) else 0.0
                if total < rules.opium_low_m2:
                    continue
                pts = rules.opium_high_score if total >= rules.opium_high_m2 else rules.opium_low_score
                n_plants = float(plants[idx].sum())
                extra_vi = f", {format_number(n_plants, 0, 'vi')} cây" if n_plants else ""
                extra_en = f", {format_number(n_plants, 0, 'en')} plants" if n_plants else ""
                signals[i].append(_Signal(
                    "opium", pts,
                    f"{format_number(total, 0, 'vi')} m² thuốc phiện trong vụ này "
                    f"({len(idx)} nương{extra_vi})",
                    f"{format_number(total, 0, 'en')} m² of opium poppy this season "
                    f"({len(idx)} plots{extra_en})",
                    {"area_m2": round(total, 1), "plots": int(len(idx)), "plants": int(n_plants),
                     "season_start": season0.date().isoformat()}))

    # 7. re-emergence after elimination
    for i, idx in enumerate(_points_in(geoms, rx, ry)):
        if not len(idx):
            continue
        k = int(len(idx))
        signals[i].append(_Signal(
            "reemerged", rules.reemerged_score,
            f"{k} điểm tái xuất hiện sau khi đã triệt xóa",
            f"{k} point{'s' if k > 1 else ''} re-emerged after being eliminated",
            {"count": k}))

    # 8. recent cases
    if cases is not None and len(cases):
        cdate = _dates(cases, "date")
        since = as_of_ts - pd.DateOffset(months=rules.recent_months)
        recent = cases[((cdate > since) & (cdate <= as_of_ts)).to_numpy()]
        if len(recent):
            cx, cy = metric_xy(recent)
            for i, idx in enumerate(_points_in(geoms, cx, cy)):
                k = int(len(idx))
                if k < rules.min_recent_cases:
                    continue
                signals[i].append(_Signal(
                    "recent_cases", min(rules.max_cases_score, rules.score_per_case * k),
                    f"{format_number(k, 0, 'vi')} vụ án ma túy trong {rules.recent_months} tháng qua",
                    f"{format_number(k, 0, 'en')} drug cases in the last {rules.recent_months} months",
                    {"count": k, "months": rules.recent_months}))

    rows = []
    for i in range(n):
        sigs = sorted(signals[i], key=lambda s: -s.score)
        score = round(float(sum(s.score for s in sigs)), 2)
        fired = [s for s in sigs if s.score > 0]
        if score < rules.min_score or len(fired) < rules.min_signals:
            continue
        level = "high" if score >= rules.high_score else "medium" if score >= rules.medium_score \
            else "low"
        rows.append({
            "_i": i, "score": score, "level": level,
            "reasons_vi": "\n".join(s.vi for s in fired),
            "reasons_en": "\n".join(s.en for s in fired),
            "signals": json.dumps({s.name: {**s.value, "points": round(s.score, 2)} for s in fired},
                                  ensure_ascii=False, sort_keys=True),
            "n_signals": len(fired),
        })
    if not rows:
        empty = pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
        return gpd.GeoDataFrame(empty, geometry=gpd.GeoSeries([], crs=STORAGE_CRS), crs=STORAGE_CRS)
    found = pd.DataFrame(rows)
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
