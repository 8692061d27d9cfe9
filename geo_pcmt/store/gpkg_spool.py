"""The R-tree entries of a chunked write, kept on disk until the tree is packed.

A chunked write (:class:`~geo_pcmt.store.gpkg_bulk.ChunkedWrite`) packs the GeoPackage's
R-tree once, at the end, from every row's bounds (packing is ~10× faster than inserting
through SQLite's R-tree: 1.6 s against 16 s for 1M points). Holding the entries in memory
until then made the load's memory grow with the file; :class:`EntrySpool` writes each
chunk's entries to a private temporary SQLite database (``sqlite3.connect("")``: on disk,
deleted when closed, a small page cache) with a Morton key of the box's centre on a fixed
lon/lat grid (31 bits an axis: ~2 cm), and gives them back sorted along that Z-order curve
in batches (SQLite's sorter spills to disk too). Memory: one chunk's entries, one batch.
"""
from __future__ import annotations

import sqlite3
from typing import Iterator

import numpy as np

_BITS = 31
_SPAN = float((1 << _BITS) - 1)
BATCH = 16_384
"""Entries per batch given back by :meth:`EntrySpool.sorted_batches`."""


def _spread(v: np.ndarray) -> np.ndarray:
    """Bits b30…b0 of uint64 ``v`` → b30 0 b29 0 … 0 b0 (interleaving for Morton keys)."""
    for shift, mask in ((16, 0x0000FFFF0000FFFF), (8, 0x00FF00FF00FF00FF),
                        (4, 0x0F0F0F0F0F0F0F0F), (2, 0x3333333333333333),
                        (1, 0x5555555555555555)):
        v = (v | (v << np.uint64(shift))) & np.uint64(mask)
    return v


def morton_keys(box: np.ndarray) -> np.ndarray:
    """Z-order keys (int64) of float32 ``(minx, maxx, miny, maxy)`` lon/lat boxes, from
    their centres on a fixed world grid, so keys of different chunks sort together.

    Examples
    --------
    >>> b = np.array([[104, 104, 18, 18], [105, 105, 18, 18], [104, 104, 19, 19],
    ...               [105, 105, 19, 19]], np.float32)
    >>> np.argsort(morton_keys(b)).tolist()
    [0, 1, 2, 3]
    """
    b = np.asarray(box, dtype=np.float64)
    cx = np.clip(((b[:, 0] + b[:, 1]) / 2 + 180.0) / 360.0, 0.0, 1.0)
    cy = np.clip(((b[:, 2] + b[:, 3]) / 2 + 90.0) / 180.0, 0.0, 1.0)
    x = (cx * _SPAN).astype(np.uint64)
    y = (cy * _SPAN).astype(np.uint64)
    return (_spread(x) | (_spread(y) << np.uint64(1))).astype(np.int64)


class EntrySpool:
    """R-tree entries (fid, float32 box) on disk, given back in Z-order.

    Examples
    --------
    >>> spool = EntrySpool()
    >>> spool.add(np.array([7, 8]), np.array([[105, 105, 19, 19], [104, 104, 18, 18]],
    ...                                      np.float32))
    >>> len(spool), [ids.tolist() for ids, _ in spool.sorted_batches()]
    (2, [[8, 7]])
    >>> spool.close()
    """

    def __init__(self) -> None:
        self._db = sqlite3.connect("", isolation_level=None)
        self._db.execute("PRAGMA journal_mode = OFF")
        self._db.execute("PRAGMA synchronous = OFF")
        self._db.execute("CREATE TABLE entries (z INTEGER NOT NULL, fid INTEGER NOT NULL, "
                         "box BLOB NOT NULL)")
        self._count = 0

    def add(self, fids: np.ndarray, box: np.ndarray) -> None:
        """Keep entries: ``fids`` (int) and their float32 ``(minx, maxx, miny, maxy)``."""
        if not len(fids):
            return
        box = np.ascontiguousarray(box, dtype=np.float32)
        raw = box.tobytes()
        width = box.itemsize * 4
        self._db.execute("BEGIN")
        self._db.executemany("INSERT INTO entries VALUES (?, ?, ?)", zip(
            morton_keys(box).tolist(), np.asarray(fids, dtype=np.int64).tolist(),
            (raw[i:i + width] for i in range(0, len(raw), width))))
        self._db.execute("COMMIT")
        self._count += len(fids)

    def __len__(self) -> int:
        return self._count

    def sorted_batches(self, size: int | None = None
                       ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """``(fids, box)`` batches of at most ``size`` (default :data:`BATCH`) entries,
        all of them in Z-order."""
        size = size or BATCH
        cursor = self._db.execute("SELECT fid, box FROM entries ORDER BY z, fid")
        while rows := cursor.fetchmany(size):
            fids, blobs = zip(*rows)
            yield (np.array(fids, dtype=np.int64),
                   np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(-1, 4))

    def close(self) -> None:
        """Let go of the database (SQLite deletes its file)."""
        self._db.close()
