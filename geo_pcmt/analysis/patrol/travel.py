"""How long patrols take between two places: modes, speeds, terrain detours, optional networks.

Without a network, a leg is the straight line in metres (EPSG:32648) times a *detour factor*
for the terrain it crosses: paths in the mountains of western Nghệ An wind far more than roads
on the coastal plain. With a road/trail network the user supplies (GeoJSON, GeoPackage, or an
OSM extract read by GDAL; nothing is fetched at run time), a leg is the shortest path on the
network (networkx graph, distances by SciPy's Dijkstra) plus the detoured walk from each end
to the nearest network node; on foot, cross-country stays allowed when it is shorter.

Times are distance / speed of the mode. Speeds and factors are parameters with documented
defaults (see ``docs/patrol.md``), not facts: units should set their own.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import LineString

from geo_pcmt.crs import METRIC_CRS


class TravelError(ValueError):
    """A travel model that cannot be built (unknown mode, unreadable network …)."""


@dataclass(frozen=True)
class Mode:
    """A way of moving: speed on the ground and whether it may leave the network."""

    name: str
    speed_kmh: float
    label_vi: str
    label_en: str
    cross_country: bool  # may walk off the network when that is shorter
    uses_trails: bool    # may use footpaths/tracks of a network


MODES: dict[str, Mode] = {
    # Average speed including short halts, on the ground actually covered (the detour factor
    # accounts for winding): a loaded foot patrol on mountain trails covers ~3.5 km/h.
    "foot": Mode("foot", 3.5, "Đi bộ", "On foot", True, True),
    "motorbike": Mode("motorbike", 20.0, "Xe máy", "Motorbike", False, True),
    "vehicle": Mode("vehicle", 30.0, "Ô tô", "Vehicle", False, False),
}

#: Detour factor (ground distance / straight line) by terrain class.
DETOUR_BY_TERRAIN: dict[str, float] = {"lowland": 1.25, "mountain": 1.5, "high_mountain": 1.8}

#: Pre-2025 districts by terrain (slope proxy). The highland districts along the Lao border
#: and the other mountain (miền núi) districts of Nghệ An; everything else is lowland.
HIGH_MOUNTAIN_DISTRICTS: tuple[str, ...] = ("Huyện Kỳ Sơn", "Huyện Tương Dương", "Huyện Quế Phong")
MOUNTAIN_DISTRICTS: tuple[str, ...] = (
    "Huyện Quỳ Châu", "Huyện Con Cuông", "Huyện Quỳ Hợp", "Huyện Anh Sơn", "Huyện Thanh Chương",
    "Huyện Tân Kỳ", "Huyện Nghĩa Đàn", "Thị xã Thái Hoà")

TRAIL_HIGHWAY = frozenset({"path", "footway", "track", "bridleway", "steps", "trail", "cycleway"})


def get_mode(mode: str | Mode) -> Mode:
    """The :class:`Mode` named ``mode`` (``foot``, ``motorbike``, ``vehicle``)."""
    if isinstance(mode, Mode):
        return mode
    try:
        return MODES[mode]
    except KeyError:
        raise TravelError(f"unknown mode {mode!r}; one of {', '.join(MODES)}") from None


def terrain_classes(communes: gpd.GeoDataFrame, *,
                    high_mountain: Sequence[str] = HIGH_MOUNTAIN_DISTRICTS,
                    mountain: Sequence[str] = MOUNTAIN_DISTRICTS) -> pd.Series:
    """Terrain class of each commune from its pre-2025 district (the slope proxy).

    Border communes are at least ``mountain`` whatever their district.

    Returns
    -------
    pandas.Series of ``lowland`` / ``mountain`` / ``high_mountain``, indexed like ``communes``.
    """
    district = communes.get("district_pre2025", pd.Series(index=communes.index, dtype=object))
    out = pd.Series("lowland", index=communes.index, dtype=object)
    out[district.isin(list(mountain)).to_numpy()] = "mountain"
    if "is_border" in communes.columns:
        border = communes["is_border"].fillna(False).astype(bool).to_numpy()
        out[border & (out == "lowland").to_numpy()] = "mountain"
    out[district.isin(list(high_mountain)).to_numpy()] = "high_mountain"
    return out


def detour_factors(points: gpd.GeoSeries, communes: gpd.GeoDataFrame | None, *,
                   detour_by_terrain: Mapping[str, float] | None = None,
                   default: float | None = None) -> np.ndarray:
    """Detour factor at each point: the terrain class of the commune it lies in (or nearest).

    Without ``communes`` every point gets ``default`` (the ``mountain`` factor unless given):
    patrols in this service are mostly border patrols.
    """
    table = dict(DETOUR_BY_TERRAIN)
    table.update(detour_by_terrain or {})
    bad = {k: v for k, v in table.items() if not (isinstance(v, (int, float)) and v >= 1)}
    if bad:
        raise TravelError(f"detour factors must be ≥ 1, got {bad}")
    fallback = table["mountain"] if default is None else float(default)
    if communes is None or len(communes) == 0 or len(points) == 0:
        return np.full(len(points), fallback)
    cls = terrain_classes(communes)
    polys = gpd.GeoDataFrame({"terrain": cls.to_numpy()}, geometry=communes.geometry.values,
                             crs=communes.crs).to_crs(METRIC_CRS)
    pts = gpd.GeoDataFrame(geometry=points.to_crs(METRIC_CRS).values, crs=METRIC_CRS)
    joined = gpd.sjoin_nearest(pts, polys, how="left")
    joined = joined[~joined.index.duplicated(keep="first")]
    return joined["terrain"].map(table).fillna(fallback).to_numpy(dtype=float)


# --- networks -------------------------------------------------------------------------------

@dataclass
class Network:
    """A road/trail network in metres: a networkx graph plus node coordinates.

    Build with :func:`network_from_lines` or :func:`load_network`.
    """

    graph: object  # networkx.Graph; typed loosely so importing this module needs no networkx
    xy: np.ndarray  # (n_nodes, 2) EPSG:32648
    source: str = ""

    @property
    def n_nodes(self) -> int:
        return len(self.xy)


def network_from_lines(lines: gpd.GeoDataFrame, *, source: str = "") -> Network:
    """Build a :class:`Network` from line features (any CRS with a definition).

    Vertices closer than 1 m are one node, so lines that share an end point connect.
    A ``highway`` (OSM) or ``kind`` column marks trails: values such as ``path``, ``footway``,
    ``track`` or ``trail`` become ``trail`` edges, which vehicles do not use.
    """
    try:
        import networkx as nx
    except ImportError:  # pragma: no cover
        raise TravelError("networkx is needed for route networks (pip install networkx)") from None
    if lines.crs is None:
        raise TravelError(f"network {source or ''}: the file has no CRS; save it with one "
                          "(e.g. EPSG:4326)".replace("  ", " "))
    geoms = lines.to_crs(METRIC_CRS).geometry
    kinds = None
    for col in ("highway", "kind"):
        if col in lines.columns:
            kinds = lines[col].astype(str).str.lower().to_numpy()
            break
    keep = geoms.notna().to_numpy() & ~geoms.is_empty.to_numpy()
    types = geoms.geom_type.to_numpy()
    keep &= np.isin(types, ["LineString", "MultiLineString"])
    if not keep.any():
        raise TravelError(f"network {source}: no line features found")
    parts = shapely.get_parts(geoms.values[keep], return_index=True)
    line_parts, owner = parts
    kind_of = (np.where(np.isin(kinds[keep], list(TRAIL_HIGHWAY)), "trail", "road")
               if kinds is not None else np.full(keep.sum(), "road"))
    graph = nx.Graph()
    index: dict[tuple[int, int], int] = {}
    xy: list[tuple[float, float]] = []

    def node(x: float, y: float) -> int:
        key = (int(round(x)), int(round(y)))
        if key not in index:
            index[key] = len(xy)
            xy.append((x, y))
            graph.add_node(index[key])
        return index[key]

    for line, o in zip(line_parts, owner):
        coords = shapely.get_coordinates(line)
        kind = kind_of[o]
        for (x0, y0), (x1, y1) in zip(coords[:-1], coords[1:]):
            a, b = node(x0, y0), node(x1, y1)
            if a == b:
                continue
            length = float(np.hypot(x1 - x0, y1 - y0))
            old = graph.get_edge_data(a, b)
            if old is None or old["length_m"] > length:
                graph.add_edge(a, b, length_m=length, kind=kind)
    return Network(graph, np.asarray(xy, dtype=float), source)


def load_network(path: str | os.PathLike, *, layer: str | None = None) -> Network:
    """Read a road/trail network file: GeoJSON, GeoPackage, Shapefile, or OSM ``.osm``/``.pbf``.

    For OSM extracts the ``lines`` layer is read. Errors name the file and what is wrong.

    Examples
    --------
    >>> net = load_network("data/roads_ky_son.gpkg")  # doctest: +SKIP
    """
    import pyogrio
    path = Path(path)
    if not path.exists():
        raise TravelError(f"network file {path} does not exist")
    if layer is None and path.suffix.lower() in (".osm", ".pbf"):
        layer = "lines"
    try:
        frame = pyogrio.read_dataframe(path, layer=layer)
    except Exception as exc:  # pyogrio raises several error types for broken files
        raise TravelError(f"cannot read network file {path.name}: {exc}") from None
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.isna().all():
        raise TravelError(f"network file {path.name} has no geometries")
    return network_from_lines(frame, source=path.name)


# --- the travel matrix ------------------------------------------------------------------------

@dataclass
class TravelMatrix:
    """Distances (m) and times (min) between every pair of points, and the legs' shapes.

    ``distance_m[i, j]`` is the ground distance used (detoured straight line or network path),
    ``minutes[i, j]`` the time at the mode's speed (``inf`` when unreachable), ``via_network``
    whether the network was used for that leg.
    """

    xy: np.ndarray
    distance_m: np.ndarray
    minutes: np.ndarray
    via_network: np.ndarray
    mode: Mode
    network: Network | None = None
    snapped: np.ndarray | None = None  # nearest network node of each point
    _pred: dict = field(default_factory=dict, repr=False)

    def leg(self, i: int, j: int) -> LineString:
        """The shape of the leg i → j in EPSG:32648 (network path or straight line)."""
        a, b = self.xy[i], self.xy[j]
        if i == j:
            return LineString([a, a])
        if not self.via_network[i, j]:
            return LineString([a, b])
        import networkx as nx
        g = _mode_graph(self.network, self.mode)
        path = nx.shortest_path(g, int(self.snapped[i]), int(self.snapped[j]), weight="length_m")
        coords = [tuple(a)] + [tuple(self.network.xy[n]) for n in path] + [tuple(b)]
        dedup = [c for k, c in enumerate(coords) if k == 0 or c != coords[k - 1]]
        if len(dedup) < 2:
            dedup = [tuple(a), tuple(b)]
        return LineString(dedup)


def _mode_graph(network: Network, mode: Mode):
    if mode.uses_trails:
        return network.graph
    keep = [(u, v) for u, v, k in network.graph.edges(data="kind") if k != "trail"]
    return network.graph.edge_subgraph(keep)


def travel_matrix(points: gpd.GeoSeries, *, mode: str | Mode = "foot",
                  detour: float | np.ndarray = DETOUR_BY_TERRAIN["mountain"],
                  network: Network | None = None) -> TravelMatrix:
    """Distances and times between all ``points`` for a mode.

    Parameters
    ----------
    points : GeoSeries of Points (any CRS with a definition)
        The post first, then the targets (the order is kept).
    mode : {"foot", "motorbike", "vehicle"} or Mode
    detour : float or array of one factor per point
        Detour factor; a leg takes the mean of its two ends' factors.
    network : Network, optional
        Road/trail network; legs use it when both ends can reach it.

    Returns
    -------
    TravelMatrix

    Examples
    --------
    >>> import shapely, geopandas as gpd
    >>> pts = gpd.GeoSeries(shapely.points([500000, 503000], [2100000, 2104000]), crs=32648)
    >>> tm = travel_matrix(pts, mode="foot", detour=1.5)
    >>> round(float(tm.distance_m[0, 1])), round(float(tm.minutes[0, 1]))
    (7500, 129)
    """
    mode = get_mode(mode)
    if points.crs is None:
        raise TravelError("points need a CRS")
    metric = points.to_crs(METRIC_CRS)
    if not (metric.geom_type == "Point").all():
        raise TravelError("travel needs Point geometries")
    xy = np.column_stack([metric.x.to_numpy(), metric.y.to_numpy()])
    n = len(xy)
    f = np.broadcast_to(np.asarray(detour, dtype=float), (n,)).copy()
    if (f < 1).any() or not np.isfinite(f).all():
        raise TravelError("detour factors must be finite and ≥ 1")
    straight = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    pair_f = (f[:, None] + f[None, :]) / 2
    dist = straight * pair_f
    via = np.zeros((n, n), dtype=bool)
    snapped = None
    if network is not None and network.n_nodes:
        net_dist, snapped = _network_distances(xy, f, network, mode)
        if mode.cross_country:
            via = net_dist < dist
            dist = np.where(via, net_dist, dist)
        else:
            via = np.isfinite(net_dist)
            dist = net_dist
        np.fill_diagonal(dist, 0.0)
        np.fill_diagonal(via, False)
    minutes = dist / (mode.speed_kmh * 1000.0 / 60.0)
    return TravelMatrix(xy, dist, minutes, via, mode, network, snapped)


def _network_distances(xy: np.ndarray, f: np.ndarray, network: Network,
                       mode: Mode) -> tuple[np.ndarray, np.ndarray]:
    """Network distance between points: detoured access legs + shortest path (inf if apart)."""
    import networkx as nx
    from scipy.sparse.csgraph import dijkstra
    from scipy.spatial import cKDTree

    g = _mode_graph(network, mode)
    nodes = np.array(sorted(g.nodes), dtype=int)
    if not len(nodes):
        return np.full((len(xy), len(xy)), np.inf), np.zeros(len(xy), dtype=int)
    tree = cKDTree(network.xy[nodes])
    access, k = tree.query(xy)
    snapped = nodes[k]
    matrix = nx.to_scipy_sparse_array(g, nodelist=list(nodes), weight="length_m", format="csr")
    pos = {int(nd): i for i, nd in enumerate(nodes)}
    sources = np.unique([pos[int(s)] for s in snapped])
    d = dijkstra(matrix, directed=False, indices=sources)
    row = {int(s): i for i, s in enumerate(sources)}
    on_net = d[np.ix_([row[pos[int(s)]] for s in snapped], [pos[int(s)] for s in snapped])]
    walk = access * f
    return walk[:, None] + on_net + walk[None, :], snapped
