"""Bounding-box queries on a GeoPackage's R-tree spatial index (SQL built here, run by
:class:`~geo_pcmt.store.gpkg.GeoPackageStore`)."""
from __future__ import annotations

import math

from geo_pcmt.layers import Layer
from geo_pcmt.store.base import BBox, Where
from geo_pcmt.store.base import quote_ident as _q

# R-tree conditions on (minx, miny, maxx, maxy) of a query box: bounds touching it, and
# bounds lying within it (parameters from _box_params)
_TOUCHES = "minx <= ? AND maxx >= ? AND miny <= ? AND maxy >= ?"
_WITHIN = "minx >= ? AND maxx <= ? AND miny >= ? AND maxy <= ?"


def _box_params(bbox: BBox, *, within: bool = False) -> list[float]:
    minx, miny, maxx, maxy = map(float, bbox)
    return [minx, maxx, miny, maxy] if within else [maxx, minx, maxy, miny]


def _rim_ids(rtree: str, bbox: BBox) -> tuple[str, list[float]]:
    """SQL selecting the ids of R-tree entries on the box's rim (touching it, not within
    it), and its parameters: the entries crossing each edge, as four narrow R-tree searches
    (``TOUCHES AND NOT WITHIN`` in one search tests every entry touching the box, 10 ms
    at 50 000 points, as each side of NOT is no constraint the R-tree can search on)."""
    x0, y0, x1, y1 = map(float, bbox)
    crossing = [("minx < ? AND maxx >= ?", [x0, x0]), ("maxx > ? AND minx <= ?", [x1, x1]),
                ("miny < ? AND maxy >= ?", [y0, y0]), ("maxy > ? AND miny <= ?", [y1, y1])]
    sql = " UNION ".join(f"SELECT id FROM {rtree} WHERE {edge} AND {_TOUCHES}"
                         for edge, _ in crossing)
    return sql, [v for _, edge_params in crossing for v in (*edge_params, *_box_params(bbox))]


def _in_box_joined(geom: str) -> str:
    """Exact "point in the box" for a point table ``t`` joined to its R-tree ``r`` by id:
    bounds within the box, or touching it and passing the exact test (the rim)."""
    return (f"r.minx <= ? AND r.maxx >= ? AND r.miny <= ? AND r.maxy >= ? "
            f"AND ((r.minx >= ? AND r.maxx <= ? AND r.miny >= ? AND r.maxy <= ?) "
            f"OR gp_point_in_box(t.{_q(geom)}, ?, ?, ?, ?))")


def _in_box_joined_params(bbox: BBox) -> list[float]:
    return [*_box_params(bbox), *_box_params(bbox, within=True), *map(float, bbox)]


class RTreeQueries:
    """Points in a box from the R-tree: ids, counts, and whether a page is dense. Mixed
    into the store, which provides ``_geom_column`` and the ``_column_indexes`` cache."""

    def _ids_in_box(self, conn, layer: Layer, bbox: BBox) -> tuple[str, list]:
        """SQL selecting the fids of the points in the box from the R-tree, and its
        parameters: no row is read except the few on the rim, which get the exact test."""
        rtree = _q("rtree_" + layer.name + "_" + self._geom_column(conn, layer.name))
        rim, rim_params = self._rim_inside(conn, layer, bbox)
        sql = f"SELECT id FROM {rtree} WHERE {_TOUCHES} AND ({_WITHIN} OR id IN ({rim}))"
        return sql, [*_box_params(bbox), *_box_params(bbox, within=True), *rim_params]

    def _rim_inside(self, conn, layer: Layer, bbox: BBox) -> tuple[str, list]:
        """SQL selecting the fids of the points on the box's rim (R-tree bounds across an
        edge) that are inside it by the exact test, and its parameters."""
        geom = self._geom_column(conn, layer.name)
        rtree = _q("rtree_" + layer.name + "_" + geom)
        rim, rim_params = _rim_ids(rtree, bbox)
        return (f"SELECT fid FROM {_q(layer.name)} WHERE fid IN ({rim}) "
                f"AND gp_point_in_box({_q(geom)}, ?, ?, ?, ?)", [*rim_params, *map(float, bbox)])

    def _count_points_in_box(self, conn, layer: Layer, bbox: BBox) -> int:
        """Points in the box: R-tree bounds within it, plus those on the rim that pass the
        exact test (no other row is read)."""
        rtree = _q("rtree_" + layer.name + "_" + self._geom_column(conn, layer.name))
        inside = conn.execute(f"SELECT count(*) FROM {rtree} WHERE {_WITHIN}",
                              _box_params(bbox, within=True)).fetchone()[0]
        rim, params = self._rim_inside(conn, layer, bbox)
        return inside + conn.execute(f"SELECT count(*) FROM ({rim})", params).fetchone()[0]

    def _count_excluded_in_box(self, conn, layer: Layer, bbox: BBox,
                               where: Where) -> int | None:
        """Points in the box that a one-column list filter (a role's clearance,
        ``{"confidentiality": [...]}``) leaves out, read from that column's index; None
        when the filter has another shape or the column no index.

        Counting what the filter keeps read every row in the box (45 ms for 33 000
        points); what it leaves out is usually few rows, found from the index.
        """
        if len(where) != 1:
            return None
        (column, values), = where.items()
        if not isinstance(values, (list, tuple, set, frozenset)) or not values:
            return None
        layer.field(column)  # KeyError for unknown columns: never interpolated
        index = self._column_index(conn, layer.name, column)
        if index is None:
            return None
        if not all(isinstance(v, str) for v in values):
            return None
        geom = self._geom_column(conn, layer.name)
        rtree = _q("rtree_" + layer.name + "_" + geom)
        # "not one of the values" as ranges of the index between them (text sorts the same
        # in Python and in SQLite's binary collation), so only the rows left out are read
        kept = sorted(set(values))
        col = f"t.{_q(column)}"
        gaps = [f"{col} < ?", f"{col} > ?"] + [f"({col} > ? AND {col} < ?)"] * (len(kept) - 1)
        gap_params = [kept[0], kept[-1]] + [v for pair in zip(kept, kept[1:]) for v in pair]
        sql = (f"SELECT count(*) FROM {_q(layer.name)} t INDEXED BY {_q(index)} "
               f"CROSS JOIN {rtree} r ON r.id = t.fid "
               f"WHERE ({col} IS NULL OR {' OR '.join(gaps)}) AND {_in_box_joined(geom)}")
        return conn.execute(sql, [*gap_params, *_in_box_joined_params(bbox)]).fetchone()[0]

    def _dense_in_box(self, conn, layer: Layer, bbox: BBox, wanted: int) -> bool:
        """Whether walking the table in stored order finds ``wanted`` rows in the box
        sooner than listing every id in the box would (rows spread evenly: about
        ``wanted × rows / in_box`` rows walked, against ``in_box`` ids listed)."""
        rtree = _q("rtree_" + layer.name + "_" + self._geom_column(conn, layer.name))
        rows = conn.execute(f"SELECT max(fid) FROM {_q(layer.name)}").fetchone()[0] or 0
        enough = math.isqrt(wanted * rows) + 1  # dense once in_box² > wanted × rows
        in_box = conn.execute(f"SELECT count(*) FROM (SELECT 1 FROM {rtree} WHERE {_WITHIN} "
                              "LIMIT ?)", [*_box_params(bbox, within=True), enough]).fetchone()[0]
        return in_box >= enough

    def _column_index(self, conn, table: str, column: str) -> str | None:
        """The name of an index on ``table(column)`` alone (cached), or None."""
        key = (table, column)
        if key not in self._column_indexes:
            found = None
            for _, name, *_ in conn.execute(f"PRAGMA index_list({_q(table)})").fetchall():
                cols = [r[2] for r in conn.execute(f"PRAGMA index_info({_q(name)})")]
                if cols == [column]:
                    found = name
                    break
            self._column_indexes[key] = found
        return self._column_indexes[key]
