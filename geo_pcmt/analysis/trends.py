"""Emerging hot spots: space-time cube, Gi* per bin, Mann–Kendall trend, ArcGIS categories.

The method follows ArcGIS Pro *Emerging Hot Spot Analysis* ("How Emerging Hot Spot Analysis
works") and sfdep's ``emerging_hotspot_analysis``:

1. Events are counted (or their weights summed) per hex cell and time step (month or
   quarter): the *space-time cube*. As in ArcGIS, only locations with at least one event in
   at least one step are analysed.
2. Gi* is computed for every bin with a space-time neighbourhood: the bin's spatial
   neighbours (and itself) in the same step and in the ``time_lag_steps`` previous steps
   (ArcGIS "Neighborhood Time Step", sfdep ``k``; default 1). The mean and variance are
   those of the whole cube, so a bin is hot relative to all places and times.
3. Each location's series of Gi* z-scores is tested for a monotonic trend with the
   Mann–Kendall test (two-sided, tie-corrected variance, continuity correction).
4. Each location gets one category (definitions in :data:`CATEGORY_RULES` and
   ``docs/hotspots.md``). "Significant" means p ≤ ``alpha`` (optionally FDR-adjusted over
   all bins); the 90 % share and the final-step rules are ArcGIS's.
"""
from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy import stats

from geo_pcmt.crs import METRIC_CRS, STORAGE_CRS
from geo_pcmt.layers import EMERGING_CATEGORIES
from geo_pcmt.analysis.gistar import fdr_bh, gi_star_from_lag, gi_star_values
from geo_pcmt.analysis.grid import (
    cell_ids,
    distance_band,
    hex_centres,
    hex_contiguity,
    hex_of_xy,
    hex_polygons,
    metric_xy,
)

FREQS = {"month": "M", "quarter": "Q"}

CATEGORIES = EMERGING_CATEGORIES  # the codes, defined once with the layer schema

CATEGORY_LABELS = {  # (Vietnamese, English)
    "new_hot": ("Điểm nóng mới", "New hot spot"),
    "consecutive_hot": ("Điểm nóng liên tiếp", "Consecutive hot spot"),
    "intensifying_hot": ("Điểm nóng gia tăng", "Intensifying hot spot"),
    "persistent_hot": ("Điểm nóng kéo dài", "Persistent hot spot"),
    "diminishing_hot": ("Điểm nóng suy giảm", "Diminishing hot spot"),
    "sporadic_hot": ("Điểm nóng lúc có lúc không", "Sporadic hot spot"),
    "oscillating_hot": ("Điểm nóng dao động", "Oscillating hot spot"),
    "historical_hot": ("Điểm nóng trước đây", "Historical hot spot"),
    "new_cold": ("Điểm lạnh mới", "New cold spot"),
    "consecutive_cold": ("Điểm lạnh liên tiếp", "Consecutive cold spot"),
    "intensifying_cold": ("Điểm lạnh gia tăng", "Intensifying cold spot"),
    "persistent_cold": ("Điểm lạnh kéo dài", "Persistent cold spot"),
    "diminishing_cold": ("Điểm lạnh suy giảm", "Diminishing cold spot"),
    "sporadic_cold": ("Điểm lạnh lúc có lúc không", "Sporadic cold spot"),
    "oscillating_cold": ("Điểm lạnh dao động", "Oscillating cold spot"),
    "historical_cold": ("Điểm lạnh trước đây", "Historical cold spot"),
    "no_pattern": ("Không phát hiện xu hướng", "No pattern detected"),
}

# The definitions, for hot spots (cold spots mirror them). "Hot" = significant with z > 0.
CATEGORY_RULES = {
    "new": "hot in the final step and never significant (hot or cold) before",
    "consecutive": "one uninterrupted run of ≥ 2 hot steps ending with the final step, never "
                   "hot before the run, never cold, and < 90 % of steps hot",
    "intensifying": "hot in ≥ 90 % of steps including the final one, and Gi* z rises over "
                    "time (Mann–Kendall significant, tau > 0)",
    "persistent": "hot in ≥ 90 % of steps including the final one, with no significant trend",
    "diminishing": "hot in ≥ 90 % of steps including the final one, and Gi* z falls over "
                   "time (Mann–Kendall significant, tau < 0)",
    "sporadic": "hot in the final step, < 90 % of steps hot, hot on and off before, never cold",
    "oscillating": "hot in the final step, < 90 % of steps hot, and cold in some earlier step",
    "historical": "not hot in the final step but hot in ≥ 90 % of steps",
}


@dataclass(frozen=True)
class SpaceTimeCube:
    """Counts per location and time step.

    Attributes
    ----------
    cells : GeoDataFrame (EPSG:4326) — one row per location: ``cell``, ``q``, ``r``,
        ``x_m``, ``y_m`` and the hexagon.
    periods : list of str — step labels, oldest first (``"2024-03"`` or ``"2024Q1"``).
    values : ndarray (n_cells, n_periods) — counts or summed weights per bin.
    weights : scipy.sparse.csr_matrix — binary spatial weights between the cells.
    cell_size_m : float; freq : ``"month"`` or ``"quarter"``.
    """

    cells: gpd.GeoDataFrame
    periods: list[str]
    values: np.ndarray
    weights: sp.csr_matrix
    cell_size_m: float
    freq: str


def _step_index(dates: pd.Series, first: pd.Period, freq: str) -> np.ndarray:
    """Number of whole steps from ``first`` to each date."""
    years = dates.dt.year.to_numpy(int) - first.year
    if freq == "month":
        return years * 12 + dates.dt.month.to_numpy(int) - first.month
    return years * 4 + dates.dt.quarter.to_numpy(int) - first.quarter


def space_time_cube(events: gpd.GeoDataFrame, *, time_column: str, freq: str = "month",
                    cell_size_m: float = 2000.0, start: str | None = None,
                    end: str | None = None, weight_column: str | None = None,
                    end_column: str | None = None,
                    neighbourhood: str = "contiguity",
                    distance_band_m: float | None = None) -> SpaceTimeCube:
    """Aggregate dated events into a hex-grid space-time cube.

    Parameters
    ----------
    events : GeoDataFrame of points, any CRS, with a date column
    time_column : str
        ISO dates (e.g. ``"date"`` of cases, ``"date_start"`` of :func:`combine_points`).
    freq : {"month", "quarter"}
    cell_size_m : float
        Hex size (see :mod:`geo_pcmt.analysis.grid`).
    start, end : str, optional
        First and last date to include (ISO); default the range of the data. The cube has
        every step between them, empty steps included.
    weight_column : str, optional
        Sum this column instead of counting events.
    end_column : str, optional
        Records that last (a retail point stays until cleared) count in every step from
        ``time_column`` to this date; a missing end means "still there" (to the last step).
        Without it every record counts once, in the step of ``time_column``.
    neighbourhood : {"contiguity", "distance"}
        Hex contiguity (six neighbours) or a distance band of ``distance_band_m``.

    Returns
    -------
    :class:`SpaceTimeCube`
    """
    if time_column not in events.columns:
        raise KeyError(f"events have no column {time_column!r}")
    d = _event_dates(events, time_column)
    lo = pd.Timestamp(start) if start else d.min()
    hi = pd.Timestamp(end) if end else d.max()
    if pd.isna(lo) or pd.isna(hi):
        raise ValueError("no dated events: cannot build a space-time cube")
    if lo > hi:
        raise ValueError(f"start {lo.date()} is after end {hi.date()}")
    periods = pd.period_range(lo.to_period(FREQS[freq]), hi.to_period(FREQS[freq]),
                              freq=FREQS[freq])
    labels = [str(p) for p in periods]
    ev, t0, t1 = _steps_covered(events, d, end_column, lo, hi, periods, freq)
    x, y = metric_xy(ev)
    q, r = hex_of_xy(x, y, cell_size_m)
    w = np.ones(len(x)) if weight_column is None else \
        pd.to_numeric(ev[weight_column], errors="coerce").fillna(0.0).to_numpy(float)
    codes, q_cell, r_cell = _cell_codes(q, r)
    if len(q_cell) == 0:
        raise ValueError("no events in the chosen period")
    values = _cube_values(codes, t0, t1, w, len(q_cell), len(labels))
    cells = _cube_cells(q_cell, r_cell, cell_size_m)
    return SpaceTimeCube(cells=cells, periods=labels, values=values,
                         weights=_cube_weights(cells, neighbourhood, distance_band_m),
                         cell_size_m=float(cell_size_m), freq=freq)


def _cell_codes(q: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Dense code of each record's hex cell (cells ordered by ``q`` then ``r``) and the
    cells' ``q``, ``r``: one integer key per record, no per-record tuples."""
    if len(q) == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    q0, r0 = q.min(), r.min()
    span_r = int(r.max() - r0) + 1
    keys, codes = np.unique((q - q0) * span_r + (r - r0), return_inverse=True)
    return codes.astype(np.int64), keys // span_r + q0, keys % span_r + r0


def _cube_values(codes: np.ndarray, t0: np.ndarray, t1: np.ndarray, w: np.ndarray,
                 n_cells: int, n_steps: int) -> np.ndarray:
    """Summed weights per cell and step of records covering steps ``t0..t1`` (inclusive).

    A difference array: +w at (cell, t0) and −w at (cell, t1 + 1), counted with
    :func:`numpy.bincount` and summed along time, so the work is linear in records plus
    bins, whatever the records' spans. Bins no record covers are exactly 0, and sums are
    rounded to 1e-9 so that the order of additions leaves no trace (the Mann–Kendall test
    downstream compares Gi* values for ties).
    """
    width = n_steps + 1
    start = codes * width + t0
    stop = codes * width + t1 + 1
    size = n_cells * width
    diff = np.bincount(start, weights=w, minlength=size) - \
        np.bincount(stop, weights=w, minlength=size)
    live = np.bincount(start, minlength=size) - np.bincount(stop, minlength=size)
    values = np.cumsum(diff.reshape(n_cells, width), axis=1)[:, :n_steps]
    covered = np.cumsum(live.reshape(n_cells, width), axis=1)[:, :n_steps] > 0
    return np.where(covered, np.round(values, 9), 0.0)


def _event_dates(events: gpd.GeoDataFrame, time_column: str) -> pd.Series:
    """``events[time_column]`` as timestamps; a value that is there but not a date is an error."""
    d = pd.to_datetime(events[time_column], errors="coerce")
    bad = d.isna() & events[time_column].notna()
    if bad.any():
        row = events.index[bad.to_numpy()][0]
        raise ValueError(f"row {row}, field {time_column!r}: "
                         f"{events.loc[row, time_column]!r} is not a date")
    return d


def _steps_covered(events: gpd.GeoDataFrame, d: pd.Series, end_column: str | None,
                   lo: pd.Timestamp, hi: pd.Timestamp, periods: pd.PeriodIndex, freq: str
                   ) -> tuple[gpd.GeoDataFrame, np.ndarray, np.ndarray]:
    """The events that fall in ``[lo, hi]`` and the first and last step each one covers."""
    if end_column is not None:
        if end_column not in events.columns:
            raise KeyError(f"events have no column {end_column!r}")
        until = pd.to_datetime(events[end_column], errors="coerce")
        until = until.where(events[end_column].notna(), pd.Timestamp.max)
        keep = (d <= hi) & (until >= lo)
    else:
        until = d
        keep = (d >= lo) & (d <= hi)
    t0 = np.maximum(_step_index(d[keep], periods[0], freq), 0)
    t1 = np.minimum(_step_index(until[keep].clip(upper=hi), periods[0], freq), len(periods) - 1)
    return events[keep.to_numpy()], t0, np.maximum(t1, t0)


def _cube_cells(q: np.ndarray, r: np.ndarray, cell_size_m: float) -> gpd.GeoDataFrame:
    """The cube's locations: hex cells ``q, r`` with id, metric centre and hexagon."""
    cx, cy = hex_centres(q, r, cell_size_m)
    return gpd.GeoDataFrame(
        {"cell": cell_ids(q, r, cell_size_m), "q": q, "r": r, "x_m": cx, "y_m": cy},
        geometry=gpd.GeoSeries(hex_polygons(q, r, cell_size_m), crs=METRIC_CRS)
        .to_crs(STORAGE_CRS).values, crs=STORAGE_CRS)


def _cube_weights(cells: gpd.GeoDataFrame, neighbourhood: str,
                  distance_band_m: float | None) -> sp.csr_matrix:
    if neighbourhood == "contiguity":
        return hex_contiguity(cells)
    if neighbourhood == "distance":
        if not distance_band_m:
            raise ValueError("neighbourhood='distance' needs distance_band_m")
        return distance_band(cells["x_m"].to_numpy(), cells["y_m"].to_numpy(), distance_band_m)
    raise ValueError(f"neighbourhood must be 'contiguity' or 'distance', got {neighbourhood!r}")


def space_time_weights(spatial: sp.spmatrix, n_periods: int, time_lag_steps: int = 1) -> sp.csr_matrix:
    """Weights between bins (flattened step-major: bin = t · n + i), no self weight.

    Bin (i, t) neighbours every (j, s) with j = i or j a spatial neighbour of i, and
    t − ``time_lag_steps`` ≤ s ≤ t (never the future).
    """
    if time_lag_steps < 0:
        raise ValueError(f"time_lag_steps must be ≥ 0, got {time_lag_steps!r}")
    a = sp.csr_matrix(spatial, dtype=float).copy()
    a.data[:] = 1.0
    n = a.shape[0]
    block = (a + sp.identity(n, format="csr")).tocsr()
    block.data[:] = 1.0
    total = sp.csr_matrix((n * n_periods, n * n_periods))
    for lag in range(0, time_lag_steps + 1):
        if lag >= n_periods:
            break
        shift = sp.eye(n_periods, n_periods, k=-lag, format="csr")  # row t → column t − lag
        total = total + sp.kron(shift, block, format="csr")
    total = (total - sp.identity(n * n_periods, format="csr")).tocsr()
    total.eliminate_zeros()
    return total


def space_time_lag(values: np.ndarray, spatial: sp.spmatrix, time_lag_steps: int = 1
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Sum of each bin's space-time neighbourhood (itself included) and its size, as the
    binary Gi* weights of :func:`space_time_weights` give them, without building that
    (n·t)² matrix: one sparse product per cube, then sums along time.

    Parameters
    ----------
    values : (n_cells, n_steps) array of the cube
    spatial : n_cells × n_cells spatial weights (any non-zero = neighbour)
    time_lag_steps : previous steps in the neighbourhood

    Returns
    -------
    lag, card : (n_cells, n_steps) arrays — ``W* @ y`` and the row sums of ``W*``
    """
    if time_lag_steps < 0:
        raise ValueError(f"time_lag_steps must be ≥ 0, got {time_lag_steps!r}")
    a = sp.csr_matrix(spatial, dtype=float).copy()
    a.data[:] = 1.0
    block = (a + sp.identity(a.shape[0], format="csr")).tocsr()
    block.data[:] = 1.0
    n, t = values.shape
    here = np.asarray(block @ values)  # the spatial neighbourhood's sum in each step
    size = np.asarray(block.sum(axis=1)).ravel()
    lag = np.zeros((n, t))
    steps = np.zeros(t)
    # earlier steps first, the order the matrix product adds its columns in
    for k in range(min(time_lag_steps, t - 1), -1, -1):
        lag[:, k:] += here[:, :t - k]
        steps[k:] += 1
    return lag, size[:, None] * steps[None, :]


@dataclass(frozen=True)
class MannKendall:
    """Mann–Kendall trend test per series: S, Kendall's tau-b, z and two-sided p."""

    s: np.ndarray
    tau: np.ndarray
    z: np.ndarray
    p: np.ndarray


def mann_kendall(series) -> MannKendall:
    """Mann–Kendall test on each row of ``series`` (n_series × n_steps), vectorised.

    ``S = Σ_{i<j} sign(x_j − x_i)``; ``Var(S) = [n(n−1)(2n+5) − Σ t(t−1)(2t+5)] / 18``
    over groups of tied values ``t``; ``z = (S − sign S) / √Var`` (continuity correction);
    ``p = 2·Φ(−|z|)``; ``tau = S / √(n₀ (n₀ − Σ t(t−1)/2))`` with ``n₀ = n(n−1)/2``.
    """
    x = np.atleast_2d(np.asarray(series, dtype=float))
    m, n = x.shape
    if n < 2:
        raise ValueError("the Mann–Kendall test needs at least 2 time steps")
    s = np.zeros(m)
    for i in range(n - 1):
        s += np.sign(x[:, i + 1:] - x[:, i:i + 1]).sum(axis=1)
    # tie groups per row: sort, then run lengths of equal values
    srt = np.sort(x, axis=1)
    new_run = np.ones((m, n), dtype=bool)
    new_run[:, 1:] = srt[:, 1:] != srt[:, :-1]
    run_id = np.cumsum(new_run, axis=1) - 1 + (np.arange(m) * n)[:, None]
    sizes = np.bincount(run_id.ravel(), minlength=m * n).reshape(m, n).astype(float)
    tie_var = (sizes * (sizes - 1) * (2 * sizes + 5)).sum(axis=1)
    tie_pairs = (sizes * (sizes - 1) / 2).sum(axis=1)
    var = (n * (n - 1) * (2 * n + 5) - tie_var) / 18.0
    n0 = n * (n - 1) / 2.0
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(var > 0, (s - np.sign(s)) / np.sqrt(var), 0.0)
        tau = np.where(n0 - tie_pairs > 0, s / np.sqrt(n0 * (n0 - tie_pairs)), 0.0)
    p = 2.0 * stats.norm.sf(np.abs(z))
    return MannKendall(s=s, tau=tau, z=z, p=p)


def _final_run(flags: np.ndarray) -> np.ndarray:
    """Length of the run of True values that ends with the last column, per row."""
    rev = flags[:, ::-1]
    return np.where(rev.all(axis=1), flags.shape[1], np.argmin(rev, axis=1))


def classify_trends(z, p, tau, mk_p, *, alpha: float = 0.05, mk_alpha: float = 0.05,
                    share: float = 0.9) -> np.ndarray:
    """Emerging-hot-spot category of each location from its Gi* series.

    Parameters
    ----------
    z, p : (n_locations, n_steps) Gi* z-scores and the p-values that decide significance
    tau, mk_p : (n_locations,) Mann–Kendall tau and p of each z series
    alpha : significance level of a bin (default 0.05)
    mk_alpha : significance level of the trend (default 0.05)
    share : the "90 %" of ArcGIS's definitions

    Returns
    -------
    ndarray of category codes (:data:`CATEGORIES`).
    """
    z = np.atleast_2d(np.asarray(z, dtype=float))
    p = np.atleast_2d(np.asarray(p, dtype=float))
    tau = np.asarray(tau, dtype=float)
    mk_p = np.asarray(mk_p, dtype=float)
    n_steps = z.shape[1]
    sig = p <= alpha
    out = np.full(z.shape[0], "no_pattern", dtype=object)
    up = (mk_p <= mk_alpha) & (tau > 0)
    down = (mk_p <= mk_alpha) & (tau < 0)
    # cold spots first, hot spots second: a location that fits both (it cannot, since
    # the final step is either hot or cold) would end up hot
    for kind, flags, other, rising, falling in (
            ("cold", sig & (z < 0), sig & (z > 0), down, up),
            ("hot", sig & (z > 0), sig & (z < 0), up, down)):
        n_flag = flags.sum(axis=1)
        mostly = n_flag >= share * n_steps
        final = flags[:, -1]
        ever_other = other.any(axis=1)
        run = _final_run(flags)
        cat = np.full(z.shape[0], None, dtype=object)
        cat[mostly & final & rising] = f"intensifying_{kind}"
        cat[mostly & final & falling] = f"diminishing_{kind}"
        cat[mostly & final & ~rising & ~falling] = f"persistent_{kind}"
        cat[mostly & ~final] = f"historical_{kind}"
        few = ~mostly & final
        cat[few & ever_other] = f"oscillating_{kind}"
        quiet = few & ~ever_other
        cat[quiet & (n_flag == 1)] = f"new_{kind}"
        cat[quiet & (run >= 2) & (n_flag == run)] = f"consecutive_{kind}"
        cat[quiet & (n_flag > run)] = f"sporadic_{kind}"
        hit = np.array([c is not None for c in cat])
        out[hit] = cat[hit]
    return out


def emerging_hotspots(cube: SpaceTimeCube, *, time_lag_steps: int = 1, alpha: float = 0.05,
                      mk_alpha: float = 0.05, fdr: bool = False,
                      transform: str = "B") -> gpd.GeoDataFrame:
    """Emerging hot spot category of every location of a space-time cube.

    Parameters
    ----------
    cube : :class:`SpaceTimeCube` from :func:`space_time_cube`
    time_lag_steps : int
        Previous steps in each bin's neighbourhood (ArcGIS "Neighborhood Time Step"; 1).
    alpha : float
        A bin is significant when its p-value ≤ ``alpha`` (default 0.05 = 95 %).
    mk_alpha : float
        Significance of the Mann–Kendall trend (default 0.05).
    fdr : bool
        Adjust the bins' p-values by Benjamini–Hochberg over the whole cube first
        (default False, as sfdep; stricter, fewer categories when True).
    transform : {"B", "R"}
        Gi* weights (binary by default, as ArcGIS's fixed-distance neighbourhood).

    Returns
    -------
    GeoDataFrame (EPSG:4326, hexagons) with ``cell``, ``category``, ``label_vi``,
    ``label_en``, ``mk_tau``, ``mk_z``, ``mk_p``, ``periods_hot``, ``periods_cold``,
    ``n_periods``, ``last_z``, ``last_p``, ``total`` (events in the cube); ``attrs`` hold
    ``z`` and ``p`` (n_cells × n_periods arrays) and ``periods``.

    Examples
    --------
    >>> import shapely
    >>> places = [(470_000 + 4000 * i, 2_180_000 + 4000 * j)
    ...           for i in range(-3, 4) for j in range(-3, 4)]
    >>> rows = [(x, y, f"2025-{m:02d}-15") for x, y in places for m in (2, 5, 8, 11)]
    >>> rows += [(470_000, 2_180_000, f"2025-{m:02d}-15")  # one place grows: 1, 4, 9, 16 cases
    ...          for m, k in ((2, 1), (5, 4), (8, 9), (11, 16)) for _ in range(k)]
    >>> x, y, day = zip(*rows)
    >>> cases = gpd.GeoDataFrame({"date": day}, geometry=shapely.points(x, y), crs=32648)
    >>> cube = space_time_cube(cases, time_column="date", freq="quarter", cell_size_m=4000)
    >>> cube.periods
    ['2025Q1', '2025Q2', '2025Q3', '2025Q4']
    >>> out = emerging_hotspots(cube)
    >>> out.loc[out["total"].idxmax(), "label_vi"], out.loc[out["total"].idxmax(), "label_en"]
    ('Điểm nóng liên tiếp', 'Consecutive hot spot')
    """
    n, t = cube.values.shape
    if t < 2:
        raise ValueError(f"emerging hot spots need at least 2 time steps, the cube has {t}")
    if n < 3:
        raise ValueError(f"emerging hot spots need at least 3 locations, the cube has {n}")
    flat = cube.values.T.ravel()  # step-major, matching space_time_weights
    if str(transform).upper() == "B":
        lag, card = space_time_lag(cube.values, cube.weights, time_lag_steps)
        res = gi_star_from_lag(flat, lag.T.ravel(), card.T.ravel())
    else:
        res = gi_star_values(flat, space_time_weights(cube.weights, t, time_lag_steps),
                             transform=transform)
    z = res.z.reshape(t, n).T
    p = res.p.reshape(t, n).T
    if fdr:
        p = fdr_bh(res.p).reshape(t, n).T
    mk = mann_kendall(z)
    cats = classify_trends(z, p, mk.tau, mk.p, alpha=alpha, mk_alpha=mk_alpha)
    sig = p <= alpha
    out = cube.cells.copy()
    out["category"] = cats
    out["label_vi"] = [CATEGORY_LABELS[c][0] for c in cats]
    out["label_en"] = [CATEGORY_LABELS[c][1] for c in cats]
    out["mk_tau"] = mk.tau
    out["mk_z"] = mk.z
    out["mk_p"] = mk.p
    out["periods_hot"] = (sig & (z > 0)).sum(axis=1).astype(int)
    out["periods_cold"] = (sig & (z < 0)).sum(axis=1).astype(int)
    out["n_periods"] = t
    out["last_z"] = z[:, -1]
    out["last_p"] = p[:, -1]
    out["total"] = cube.values.sum(axis=1)
    out.attrs = {"z": z, "p": p, "periods": list(cube.periods), "cell_size_m": cube.cell_size_m,
                 "freq": cube.freq}
    return out
