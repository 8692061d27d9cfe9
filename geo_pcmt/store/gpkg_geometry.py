"""GeoPackage geometry blobs (spec §2.1.3) and the SQL functions their R-tree triggers call."""
from __future__ import annotations

import sqlite3
import struct
from functools import lru_cache
from typing import Sequence

import numpy as np
import shapely

_SRS_ID = 4326
_HEADER_NO_ENV = struct.pack("<2sBBi", b"GP", 0, 0b00000001, _SRS_ID)
_HEADER_ENV = struct.pack("<2sBBi", b"GP", 0, 0b00000011, _SRS_ID)
_HEADER_EMPTY = struct.pack("<2sBBi", b"GP", 0, 0b00010001, _SRS_ID)
_ENVELOPE_DOUBLES = {0: 0, 1: 4, 2: 6, 3: 6, 4: 8}


def encode_geometries(geoms: np.ndarray) -> list[bytes | None]:
    """Shapely geometries → GeoPackage binary (header + ISO WKB), envelope for non-points."""
    points = _point_blobs(np.asarray(geoms, dtype=object))
    if points is not None:
        return points
    wkb = shapely.to_wkb(geoms, byte_order=1, flavor="iso")
    bounds = shapely.bounds(geoms)
    types = shapely.get_type_id(geoms)
    empty = shapely.is_empty(geoms)
    out: list[bytes | None] = []
    for blob, b, t, e in zip(wkb, bounds, types, empty):
        if blob is None:
            out.append(None)
        elif e:
            out.append(_HEADER_EMPTY + blob)
        elif t == 0:  # Point: no envelope, as GDAL writes it
            out.append(_HEADER_NO_ENV + blob)
        else:
            out.append(_HEADER_ENV + struct.pack("<4d", b[0], b[2], b[1], b[3]) + blob)
    return out


_POINT_PREFIX = np.frombuffer(_HEADER_NO_ENV + b"\x01\x01\x00\x00\x00", np.uint8)


def _point_blobs(geoms: np.ndarray) -> list[bytes] | None:
    """The blobs of a column of plain 2D points with finite coordinates (what point layers
    hold), made from the coordinates in one array — the bytes :func:`shapely.to_wkb`
    and the header give, 2.5 times faster — or None for any other column."""
    n = len(geoms)
    if n == 0 or shapely.is_missing(geoms).any() or (shapely.get_type_id(geoms) != 0).any() \
            or shapely.has_z(geoms).any() or shapely.has_m(geoms).any():
        return None
    xy = shapely.get_coordinates(geoms)
    if len(xy) != n or not np.isfinite(xy).all():  # (an empty point has no coordinate)
        return None
    size = len(_POINT_PREFIX) + 16
    rows = np.empty((n, size), dtype=np.uint8)
    rows[:, :len(_POINT_PREFIX)] = _POINT_PREFIX
    rows[:, len(_POINT_PREFIX):] = np.ascontiguousarray(xy, dtype="<f8").view(np.uint8)
    buf = rows.tobytes()
    return [buf[k:k + size] for k in range(0, n * size, size)]


def _wkb_offset(blob: bytes) -> tuple[int, int]:
    flags = blob[3]
    env = (flags >> 1) & 0b111
    return 8 + 8 * _ENVELOPE_DOUBLES.get(env, 0), env


# a 2D little-endian point without envelope, as GDAL and encode_geometries write it: the
# header's magic, version and flags, then the WKB's byte order and type (the SRS id between
# them is not compared); x and y follow at bytes 13–28
_POINT_BLOB_SIZE = len(_HEADER_NO_ENV) + 21
_POINT_BLOB_MARK = np.frombuffer(_HEADER_NO_ENV[:4] + b"\x01\x01\x00\x00\x00", np.uint8)


def _plain_points(blobs: Sequence[bytes | None]) -> np.ndarray | None:
    """The points of ``blobs`` read straight from the bytes, or None unless every blob is a
    plain 2D little-endian point (then :func:`shapely.from_wkb` decodes them instead)."""
    n = len(blobs)
    try:
        joined = b"".join(blobs)
    except TypeError:  # a NULL geometry among them
        return None
    if n == 0 or len(joined) != n * _POINT_BLOB_SIZE:
        return None
    rows = np.frombuffer(joined, np.uint8).reshape(n, _POINT_BLOB_SIZE)
    if not (np.concatenate([rows[:, :4], rows[:, 8:13]], axis=1) == _POINT_BLOB_MARK).all():
        return None
    xy = np.ascontiguousarray(rows[:, 13:]).view("<f8")
    if np.isnan(xy).any():  # an empty point written without its flag
        return None
    return shapely.points(xy)


def decode_geometries(blobs: Sequence[bytes | None]) -> np.ndarray:
    """GeoPackage binary → shapely geometries (None stays None).

    A column of plain 2D points (what point layers hold) is read straight from the bytes,
    about 20 times faster than through WKB; anything else goes through
    :func:`shapely.from_wkb`.

    Examples
    --------
    >>> pts = np.array([shapely.Point(104.5, 19.25), shapely.Point(105.0, 18.75)])
    >>> [g.wkt for g in decode_geometries(encode_geometries(pts))]
    ['POINT (104.5 19.25)', 'POINT (105 18.75)']
    >>> [None if g is None else g.wkt for g in decode_geometries(
    ...     encode_geometries(np.array([shapely.Point(1, 2)])) + [None])]
    ['POINT (1 2)', None]
    """
    fast = _plain_points(blobs)
    if fast is not None:
        return fast
    wkb = [None if b is None else bytes(b[_wkb_offset(b)[0]:]) for b in blobs]
    return shapely.from_wkb(np.asarray(wkb, dtype=object))


def _envelope(blob: bytes | None) -> tuple[float, float, float, float] | None:
    """(minx, maxx, miny, maxy) of a blob, or None if empty/null."""
    if blob is None or blob[3] & 0b00010000:
        return None
    start, env = _wkb_offset(blob)
    if env:
        return struct.unpack_from("<4d", blob, 8)
    byte_order = "<" if blob[start] == 1 else ">"
    (gtype,) = struct.unpack_from(byte_order + "I", blob, start + 1)
    if gtype % 1000 == 1:  # Point (2D, Z, M, ZM): coordinates follow the type
        x, y = struct.unpack_from(byte_order + "2d", blob, start + 5)
        return (x, x, y, y)
    g = shapely.from_wkb(bytes(blob[start:]))
    if g.is_empty:
        return None
    minx, miny, maxx, maxy = g.bounds
    return (minx, maxx, miny, maxy)


def _register_functions(conn: sqlite3.Connection) -> None:
    """SQL functions the GeoPackage R-tree triggers call (GDAL registers the same ones)."""
    def part(i):
        def f(blob):
            env = _envelope(blob)
            return None if env is None else env[i]
        return f
    conn.create_function("ST_MinX", 1, part(0), deterministic=True)
    conn.create_function("ST_MaxX", 1, part(1), deterministic=True)
    conn.create_function("ST_MinY", 1, part(2), deterministic=True)
    conn.create_function("ST_MaxY", 1, part(3), deterministic=True)
    conn.create_function("ST_IsEmpty", 1, lambda b: 1 if _envelope(b) is None else 0,
                         deterministic=True)
    conn.create_function("gp_point_in_box", 5, _point_in_box, deterministic=True)
    conn.create_function("gp_intersects", 2, _intersects, deterministic=True)


def _point_in_box(blob, minx, miny, maxx, maxy) -> int:
    """Exact test for a point: the R-tree keeps 32-bit float bounds, a little too wide."""
    env = _envelope(blob)
    return int(env is not None and minx <= env[0] <= maxx and miny <= env[2] <= maxy)


@lru_cache(maxsize=64)
def _prepared(wkb: bytes):
    """A filter's geometry, prepared once for the many rows it is tested against."""
    g = shapely.from_wkb(wkb)
    shapely.prepare(g)
    return g


def _intersects(blob, wkb) -> int:
    """Whether a stored geometry intersects a filter's (WKB, EPSG:4326); NULL and empty
    geometries intersect nothing."""
    if blob is None or wkb is None or blob[3] & 0b00010000:
        return 0
    g = shapely.from_wkb(bytes(blob[_wkb_offset(blob)[0]:]))
    return int(shapely.intersects(_prepared(bytes(wkb)), g))
