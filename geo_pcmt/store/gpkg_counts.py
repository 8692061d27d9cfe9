"""Counts, extents and value ranges of a GeoPackage layer (mixed into ``GeoPackageStore``).

Counts follow appends (see :meth:`Counts.count`); extents come from the layer's R-tree.
The methods use the store's connections (``_reading``), its filter SQL (``_where_sql``,
``_geom_column``) and the R-tree helpers of :mod:`.gpkg_rtree`.
"""
from __future__ import annotations

import sqlite3

from geo_pcmt.layers import Layer, get_layer
from geo_pcmt.store.base import BBox, Where, filter_key
from geo_pcmt.store.base import quote_ident as _q
from geo_pcmt.store.base import rewrite_key as _rewrite_key, version_key as _version_key
from geo_pcmt.store.filters import Filter
from geo_pcmt.store.gpkg_rtree import _in_box_joined, _in_box_joined_params


class Counts:
    """``count``, ``bounds`` and ``value_range`` of :class:`GeoPackageStore`."""

    def count(self, layer: str, *, bbox: BBox | None = None, where: Where | None = None,
              filter: Filter | None = None) -> int:
        """Number of rows matching the same filters as :meth:`read`.

        Counts follow appends: the process remembers the last count of each filter with
        the layer's data version and last ``fid`` at the time, and while every write since
        only appended (new rows get ever larger fids, one writer at a time), it counts
        only the rows after that ``fid``. Any other change counts in full again.
        """
        spec = get_layer(layer)
        if not self._has_table(spec.name):
            return 0
        if bbox is not None and spec.geometry_type != "Point":
            return len(self.read(layer, bbox=bbox, where=where, columns=["id"], filter=filter))
        if filter is not None:  # counted in full (the web layer remembers these counts)
            with self._reading() as conn:
                sql_where, params = self._where_sql(spec, conn, bbox, where, flt=filter)
                return conn.execute(f"SELECT count(*) FROM {_q(spec.name)}{sql_where}",
                                    params).fetchone()[0]
        with self._reading() as conn:
            if spec.name == "audit_log":  # audit records move no data version
                return self._count_all(conn, spec, bbox, where)
            key = (spec.name, bbox, filter_key(where))
            conn.execute("BEGIN")  # one snapshot for the version, the last fid and the count
            try:
                n, version, last = self._counted(conn, spec, bbox, where, self._counts.get(key))
            finally:
                conn.execute("COMMIT")
        self._counts.put(key, (n, version, last))
        return n

    def _counted(self, conn, spec: Layer, bbox: BBox | None, where: Where | None,
                 known: tuple | None) -> tuple[int, int, int]:
        """``(rows matching, layer version, last fid)`` in the connection's snapshot: from
        ``known`` plus the rows after its last fid when only appends came since, else
        counted in full."""
        version, rewritten = self._layer_versions(conn, spec.name)
        last = conn.execute(f"SELECT max(fid) FROM {_q(spec.name)}").fetchone()[0] or 0
        # following costs a lookup per appended row, counting all a fraction of that per
        # counted row (R-tree): follow while the tail is no longer than the count
        if known is not None and rewritten <= known[1] <= version and known[2] <= last \
                and last - known[2] <= known[0]:
            return known[0] + self._count_after_fid(conn, spec, bbox, where, known[2]), \
                version, last
        return self._count_all(conn, spec, bbox, where), version, last

    @staticmethod
    def _layer_versions(conn, layer: str) -> tuple[int, int]:
        """(the layer's data version, its version at its last change other than an append)."""
        try:
            rows = dict(conn.execute("SELECT key, value FROM gp_meta WHERE key IN (?, ?)",
                                     (_version_key(layer), _rewrite_key(layer))).fetchall())
        except sqlite3.OperationalError as exc:
            if "no such table" not in str(exc):
                raise
            rows = {}
        version = int(rows.get(_version_key(layer), 0))
        # a store from before rewrites were recorded: its past counts as one, up to now
        return version, int(rows.get(_rewrite_key(layer), 0))

    def _count_after_fid(self, conn, spec: Layer, bbox: BBox | None, where: Where | None,
                         after: int) -> int:
        """Rows matching with ``fid > after``: a walk of the table's tail by ``fid``, each
        point looked up in the R-tree by id for the box."""
        sql_where, params = self._where_sql(spec, conn, None, where, alias="t.")
        conds = [sql_where[len(" WHERE "):]] if sql_where else []
        sql = f"SELECT count(*) FROM {_q(spec.name)} t"
        if bbox is not None:
            geom = self._geom_column(conn, spec.name)
            sql += f" CROSS JOIN {_q('rtree_' + spec.name + '_' + geom)} r ON r.id = t.fid"
            conds.append(_in_box_joined(geom))
            params = [*params, *_in_box_joined_params(bbox)]
        sql += " WHERE t.fid > ?" + "".join(f" AND {c}" for c in conds)
        return conn.execute(sql, [after, *params]).fetchone()[0]

    def _count_all(self, conn, spec: Layer, bbox: BBox | None, where: Where | None) -> int:
        if bbox is not None:  # points (see count): from the R-tree
            n = self._count_points_in_box(conn, spec, bbox)
            if not where:
                return n
            excluded = self._count_excluded_in_box(conn, spec, bbox, where)
            if excluded is not None:
                return n - excluded
        sql_where, params = self._where_sql(spec, conn, bbox, where)
        return conn.execute(f"SELECT count(*) FROM {_q(spec.name)}{sql_where}",
                            params).fetchone()[0]

    def bounds(self, layer: str) -> BBox | None:
        """Extent of a layer from its spatial index, or None when empty."""
        spec = get_layer(layer)
        if not spec.has_geometry or not self._has_table(spec.name):
            return None
        with self._reading() as conn:
            geom = self._geom_column(conn, spec.name)
            row = conn.execute(f"SELECT min(minx), min(miny), max(maxx), max(maxy) FROM "
                               f"{_q('rtree_' + spec.name + '_' + geom)}").fetchone()
        return None if row[0] is None else tuple(row)

    def value_range(self, layer: str, column: str, *,
                    where: Where | None = None) -> tuple[str, str] | None:
        """``(min, max)`` of a column over the rows ``where`` keeps (dates as ISO text), or
        None when no row has a value."""
        spec = get_layer(layer)
        spec.field(column)  # KeyError for unknown columns: never interpolated
        if not self._has_table(spec.name):
            return None
        with self._reading() as conn:
            sql_where, params = self._where_sql(spec, conn, None, where)
            row = conn.execute(f"SELECT min({_q(column)}), max({_q(column)}) FROM "
                               f"{_q(spec.name)}{sql_where}", params).fetchone()
        return None if row[0] is None else (row[0], row[1])
