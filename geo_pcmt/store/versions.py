"""Row versions: a strong tag of each stored row, for ``ETag`` and compare-and-set writes.

A row's version is a hash of every value the store returns for it (in schema order, as the
store types them) and of its geometry's WKB. ``updated_at`` is one of those values, so the
version moves with every write of the row, even one that writes the same values again;
two writes within the same second still differ by content. The same function serves the
web API (``ETag`` of an item) and the stores (``write(..., expect_version=…)``), so a tag
a client got from a ``GET`` is exactly what the store compares inside its transaction.
"""
from __future__ import annotations

import hashlib
import json
from typing import Collection, Mapping

import geopandas as gpd
import pandas as pd
import shapely

from geo_pcmt.layers import Layer
from geo_pcmt.store import frames
from geo_pcmt.store.base import StoreError

#: What ``expect_version`` maps each id to: one version, or several that are all accepted.
Expected = Mapping[str, "str | Collection[str]"]


class VersionConflict(StoreError):
    """The row is not (or no longer) at the version the writer expected; nothing written.

    ``current`` is the row's version now, or None when the row does not exist.
    """

    def __init__(self, layer: str, fid: str, current: str | None):
        self.layer, self.fid, self.current = layer, fid, current
        state = "does not exist" if current is None else f"is at version {current}"
        super().__init__(f"layer {layer}: record {fid!r} {state}, not at the version "
                         "expected; nothing was written")


def row_versions(layer: Layer, frame: pd.DataFrame) -> list[str]:
    """The version of every row of ``frame`` (as a store's ``read`` returned it).

    Parameters
    ----------
    layer : Layer
        The schema the frame follows; its fields present in ``frame`` are hashed in
        schema order, with the geometry when the layer has one.
    frame : DataFrame or GeoDataFrame

    Returns
    -------
    list of str
        32 hexadecimal digits per row, in the frame's order.

    Examples
    --------
    >>> from geo_pcmt.layers import get_layer
    >>> spec = get_layer("targets")
    >>> row = pd.DataFrame({"id": ["T-1"], "source": ["x"], "scope": ["province"],
    ...                     "year": [2025], "share_drug_free": [0.2]})
    >>> v = row_versions(spec, row)[0]
    >>> len(v), v == row_versions(spec, row.assign(year=[2026]))[0]
    (32, False)
    """
    plain = pd.DataFrame(frame.drop(columns=frame.geometry.name)
                         if isinstance(frame, gpd.GeoDataFrame) else frame)
    cols, values = frames.rows(layer, plain)
    if layer.has_geometry and isinstance(frame, gpd.GeoDataFrame):
        wkb = [None if g is None else shapely.to_wkb(g, hex=True)
               for g in frame.geometry.values]
    else:
        wkb = [None] * len(values)
    return [hashlib.blake2b(json.dumps([cols, row, g], ensure_ascii=False, default=str,
                                       separators=(",", ":")).encode(),
                            digest_size=16).hexdigest()
            for row, g in zip(values, wkb)]


def check_expected(layer: Layer, current: pd.DataFrame, expect: Expected) -> None:
    """Raise :class:`VersionConflict` unless every row named in ``expect`` is in
    ``current`` (those rows, as the store reads them) at a version it accepts. A store
    calls it inside its write transaction, with rows no other writer can change before it
    commits."""
    have = dict(zip(current["id"].astype(str), row_versions(layer, current)))
    for fid, wanted in expect.items():
        accepted = {wanted} if isinstance(wanted, str) else set(wanted)
        now = have.get(str(fid))
        if now is None or now not in accepted:
            raise VersionConflict(layer.name, str(fid), now)
