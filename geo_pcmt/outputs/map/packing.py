"""The page's data made compact: coordinates quantised and delta-encoded, columns binary, deflated.

The map's data (:mod:`geo_pcmt.outputs.map.payload`, one entry per layer) is mostly
coordinates. :func:`pack` turns every coordinate into an integer count of ``1 / SCALE``
degrees (1e-5°, about 1.1 m: the precision the payload already rounds to) and every line,
ring and column of points into the first position followed by differences from the previous
one; the columns of point layers become binary blobs (integers as typed arrays, text as
JSON, each deflated on its own: see below); it deflates the rest (zlib) and writes it all as
base64 text. The page reverses this with
``map_data.js`` (the vendored ``fflate`` inflates); :func:`unpack` is the same decoder in
Python, for tests and tools.

The packed text is put into the page as a ``<script type="application/octet-stream">``
element (:func:`data_element`) that no template engine reads: base64 has no ``<``, ``{`` or
``%``, so hostile text in a record can neither end the element nor be taken for template code.
"""
from __future__ import annotations

import base64
import json
import re
import zlib
from typing import Any

import numpy as np
from branca.element import Element

SCALE = 100_000  # integer units per degree (1e-5° ≈ 1.1 m)
ELEMENT_ID = "gp-data"
FORMAT = "gp-pack-2"
# Point-column payloads whose ``x``/``y`` arrays are delta-encoded as columns.
_COLUMN_KEYS = ("x", "y")


# ---------------------------------------------------------------- numbers

def _delta(values: Any) -> list[int]:
    q = np.rint(np.asarray(values, dtype=float) * SCALE).astype(np.int64)
    return np.diff(q, prepend=0).tolist() if len(q) else []


def _undelta(values: list[int]) -> list[float]:
    return (np.cumsum(np.asarray(values, dtype=np.int64)) / SCALE).tolist() if values else []


def _pack_line(coords: list) -> list[int]:
    """``[[x, y], …]`` → ``[x0, y0, dx1, dy1, …]`` in integer units."""
    xy = np.rint(np.asarray(coords, dtype=float)[:, :2] * SCALE).astype(np.int64)
    return np.diff(xy, axis=0, prepend=[[0, 0]]).ravel().tolist()


def _unpack_line(flat: list[int]) -> list[list[float]]:
    xy = np.cumsum(np.asarray(flat, dtype=np.int64).reshape(-1, 2), axis=0) / SCALE
    return xy.tolist()


def _pack_coords(coords: Any, depth: int) -> Any:
    """Nested GeoJSON coordinates; ``depth`` 0: a position, 1: a line or ring, 2+: lists."""
    if depth == 0:
        return [int(v) for v in np.rint(np.asarray(coords, dtype=float)[:2] * SCALE)]
    if depth == 1:
        return _pack_line(coords) if len(coords) else []
    return [_pack_coords(c, depth - 1) for c in coords]


def _unpack_coords(coords: Any, depth: int) -> Any:
    if depth == 0:
        return [c / SCALE for c in coords]
    if depth == 1:
        return _unpack_line(coords) if coords else []
    return [_unpack_coords(c, depth - 1) for c in coords]


_DEPTH = {"Point": 0, "MultiPoint": 1, "LineString": 1, "MultiLineString": 2, "Polygon": 2,
          "MultiPolygon": 3}


def _pack_geometry(g: dict | None) -> dict | None:
    if g is None:
        return None
    if g["type"] == "GeometryCollection":
        return {"type": g["type"], "geometries": [_pack_geometry(x) for x in g["geometries"]]}
    return {"type": g["type"], "q": _pack_coords(g["coordinates"], _DEPTH[g["type"]])}


def _unpack_geometry(g: dict | None) -> dict | None:
    if g is None:
        return None
    if g["type"] == "GeometryCollection":
        return {"type": g["type"], "geometries": [_unpack_geometry(x) for x in g["geometries"]]}
    return {"type": g["type"], "coordinates": _unpack_coords(g["q"], _DEPTH[g["type"]])}


# ---------------------------------------------------------------- columns as binary blobs

# Integer columns are stored as the smallest little-endian type that holds them, bytes
# shuffled into planes (all first bytes, then all second bytes …: small numbers then deflate
# far better); text columns as JSON, each blob deflated on its own so that the page inflates
# the numbers it draws at once and a text column (names, addresses: popups only) when first
# read.
_INT_TYPES = (("i1", np.dtype("<i1")), ("i2", np.dtype("<i2")), ("i4", np.dtype("<i4")))


class _Blobs:
    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def add(self, raw: bytes) -> int:
        self.parts.append(zlib.compress(raw, 6))
        return len(self.parts) - 1


def _int_column(values: list, blobs: _Blobs) -> dict | None:
    if not values or not all(type(v) is int for v in values):
        return None
    arr = np.asarray(values, dtype=np.int64)
    lo, hi = int(arr.min()), int(arr.max())
    for code, dt in _INT_TYPES:
        if np.iinfo(dt).min <= lo and hi <= np.iinfo(dt).max:
            planes = arr.astype(dt).view(np.uint8).reshape(-1, dt.itemsize).T.tobytes()
            return {"$i": blobs.add(planes), "t": code, "n": len(values)}
    return None


def _text_column(values: list, blobs: _Blobs) -> dict | None:
    if not all(v is None or type(v) is str for v in values):
        return None
    body = json.dumps(values, ensure_ascii=False, separators=(",", ":"))
    return {"$t": blobs.add(body.encode("utf-8"))}


def _blob_column(ref: dict, blobs: list[bytes]) -> list | None:
    if "$i" in ref:
        dt = dict(_INT_TYPES)[ref["t"]]
        planes = np.frombuffer(zlib.decompress(blobs[ref["$i"]]), dtype=np.uint8)
        raw = planes.reshape(dt.itemsize, ref["n"]).T.copy()
        return raw.view(dt).ravel().astype(np.int64).tolist()
    if "$t" in ref:
        return json.loads(zlib.decompress(blobs[ref["$t"]]).decode("utf-8"))
    return None


# ---------------------------------------------------------------- structures

def _is_collection(v: Any) -> bool:
    return isinstance(v, dict) and v.get("type") == "FeatureCollection"


def _is_columns(v: dict) -> bool:
    return all(k in v and isinstance(v[k], list) for k in _COLUMN_KEYS) and \
        len(v["x"]) == len(v["y"])


def _encode(v: Any, blobs: _Blobs) -> Any:
    """Walk a layer's payload: feature collections get packed coordinates; point columns
    (a dict with ``x`` and ``y`` lists) delta-encoded coordinates, and every column as long
    as them a binary blob."""
    if _is_collection(v):
        out = {k: _encode(x, blobs) for k, x in v.items() if k != "features"}
        out["features"] = [{**f, "geometry": _pack_geometry(f.get("geometry"))}
                           for f in v["features"]]
        return out
    if isinstance(v, dict):
        if not _is_columns(v):
            return {k: _encode(x, blobs) for k, x in v.items()}
        n, out = len(v["x"]), {}
        for k, x in v.items():
            if k in _COLUMN_KEYS:
                k, x = "q" + k, _delta(x)
            ref = (_int_column(x, blobs) or _text_column(x, blobs)) \
                if isinstance(x, list) and len(x) == n and n else None
            out[k] = ref if ref is not None else _encode(x, blobs)
        return out
    return v


def _decode(v: Any, blobs: list[bytes]) -> Any:
    if _is_collection(v):
        out = {k: _decode(x, blobs) for k, x in v.items() if k != "features"}
        out["features"] = [{**f, "geometry": _unpack_geometry(f.get("geometry"))}
                           for f in v["features"]]
        return out
    if isinstance(v, dict):
        column = _blob_column(v, blobs)
        if column is not None:
            return column
        out = {k: _decode(x, blobs) for k, x in v.items()}
        if all("q" + k in v for k in _COLUMN_KEYS):
            for k in _COLUMN_KEYS:
                out[k] = _undelta(out.pop("q" + k))
        return out
    return v


_MAGIC = b"GPK2"


def pack(data: dict[str, Any]) -> str:
    """The page's data as compact text: base64 of ``GPK2``, the length of the header, the
    deflated JSON header (shapes with quantised, delta-encoded coordinates) and the deflated
    column blobs it refers to.

    Examples
    --------
    >>> text = pack({"pts": {"x": [104.5, 104.50001], "y": [19.1, 19.1], "n": ["a", None]}})
    >>> unpack(text)
    {'pts': {'n': ['a', None], 'x': [104.5, 104.50001], 'y': [19.1, 19.1]}}
    """
    blobs = _Blobs()
    doc = {"format": FORMAT, "scale": SCALE, "data": _encode(data, blobs)}
    doc["blobs"] = [len(b) for b in blobs.parts]
    header = zlib.compress(json.dumps(doc, ensure_ascii=False, separators=(",", ":"),
                                      allow_nan=False).encode("utf-8"), 6)
    body = b"".join([_MAGIC, len(header).to_bytes(4, "little"), header, *blobs.parts])
    return base64.b64encode(body).decode("ascii")


def unpack(text: str) -> dict[str, Any]:
    """The data :func:`pack` packed, coordinates back in degrees (to 1e-5°)."""
    body = base64.b64decode(text)
    if body[:4] != _MAGIC:
        raise ValueError(f"not map data packed as {FORMAT}")
    size = int.from_bytes(body[4:8], "little")
    doc = json.loads(zlib.decompress(body[8:8 + size]).decode("utf-8"))
    if doc.get("format") != FORMAT or doc.get("scale") != SCALE:
        raise ValueError(f"not map data packed as {FORMAT} at scale {SCALE}")
    blobs, at = [], 8 + size
    for length in doc["blobs"]:
        blobs.append(body[at:at + length])
        at += length
    return _decode(doc["data"], blobs)


# ---------------------------------------------------------------- the page

class RawHTML(Element):
    """A piece of HTML put into the page as it is (no template engine reads it)."""

    def __init__(self, html: str):
        super().__init__()
        self._name = "RawHTML"
        self.html = html

    def render(self, **kwargs) -> str:
        return self.html


def data_element(packed: str) -> RawHTML:
    """The ``<script>`` element holding the packed data, read by ``geoPcmtData.read``."""
    if not re.fullmatch(r"[A-Za-z0-9+/=]*", packed):
        raise ValueError("packed map data must be base64 text")
    return RawHTML(f'<script type="application/octet-stream" id="{ELEMENT_ID}" '
                   f'data-format="{FORMAT}">{packed}</script>')


_ELEMENT_RE = re.compile(r'<script type="application/octet-stream" id="' + ELEMENT_ID
                         + r'"[^>]*>([A-Za-z0-9+/=]*)</script>')
_CONFIG_RE = re.compile(r"var config = (\{.*?\});\n", re.S)


def page_data(html: str) -> dict[str, Any]:
    """The data a rendered map page carries, decoded (what the page draws)."""
    m = _ELEMENT_RE.search(html)
    if m is None:
        raise ValueError("no packed map data in this page")
    return unpack(m.group(1))


def page_config(html: str) -> dict[str, Any]:
    """The configuration the page's script starts from, with its ``data`` decoded."""
    m = _CONFIG_RE.search(html)
    if m is None:
        raise ValueError("no map configuration in this page")
    config = json.loads(m.group(1))
    config["data"] = page_data(html)
    return config


def page_text(html: str) -> str:
    """``html`` with its packed data replaced by the decoded JSON: all a reader of the page
    could get out of it, as searchable text (for checks that no record leaks)."""
    def decoded(m: re.Match) -> str:
        return json.dumps(unpack(m.group(1)), ensure_ascii=False)
    return _ELEMENT_RE.sub(decoded, html)
