"""``Store.read_rows`` / ``access.read_rows``: the rows of ``read`` as plain values, and the
GeoJSON made from them, the same as from ``read``'s frame (the API pages use the rows)."""
from __future__ import annotations

import numpy as np
import pytest
import shapely

from geo_pcmt import access
from geo_pcmt.layers import LAYERS
from geo_pcmt.outputs.geojson import to_geojson
from geo_pcmt.store.rows import Rows

from .backends import full_frame

RECORD_LAYERS = [name for name in LAYERS if name != "audit_log"]


def _with_gaps(spec, n: int = 7):
    """``full_frame`` with missing numbers, booleans and dates in some rows (what the
    conversion must turn into ``None``, as the frame path does)."""
    frame = full_frame(spec, n)
    for f in spec.fields:
        if not f.required and f.type in ("int", "float", "bool", "date", "str") \
                and f.name not in ("id", "confidentiality"):
            frame[f.name] = frame[f.name].astype(object)
            frame.loc[frame.index % 3 == 1, f.name] = None
    return frame


def _same(rows: Rows, frame) -> None:
    want = Rows.from_frame(frame)
    assert rows.columns == want.columns
    for c, got, exp in zip(rows.columns, rows.values, want.values):
        assert got == exp, c
        assert [type(v) for v in got] == [type(v) for v in exp], c
    assert rows.last_fid == want.last_fid
    if want.geometry is None:
        assert rows.geometry is None
    else:
        assert shapely.equals_exact(np.asarray(rows.geometry, dtype=object),
                                    np.asarray(want.geometry, dtype=object), 0).all()


def test_read_rows_gives_the_rows_and_values_of_read_for_every_layer(any_empty_store):
    store = any_empty_store
    for name in RECORD_LAYERS:
        spec = LAYERS[name]
        store.write(name, _with_gaps(spec), user="rows")
        for query in ({}, {"limit": 3, "offset": 2}, {"limit": 2, "after": 2},
                      {"columns": ["id"]}, {"limit": 0}, {"offset": 50}):
            rows = store.read_rows(name, **query)
            frame = store.read(name, **query)
            assert len(rows) == len(frame), (name, query)
            _same(rows, frame)
            # and the GeoJSON text of the two is the same, byte for byte
            assert to_geojson(rows) == to_geojson(frame), (name, query)


def test_read_rows_with_a_box_and_filters_refines_polygons_like_read(any_store):
    box = (104.6, 18.9, 104.9, 19.2)
    for query in ({"bbox": box}, {"bbox": box, "limit": 4, "offset": 3},
                  {"bbox": box, "where": {"kind": "xa"}, "limit": 5}):
        rows = any_store.read_rows("communes", **query)
        frame = any_store.read("communes", **query)
        assert len(rows) == len(frame) > 0
        _same(rows, frame)
        assert to_geojson(rows) == to_geojson(frame)
    assert set(any_store.read_rows("communes").column("is_border")) <= {True, False, None}


def test_access_read_rows_keeps_the_roles_scope_and_refuses_hidden_fields(any_empty_store):
    from .conftest import retail_frame
    store = any_empty_store
    frame = retail_frame(9)
    frame["confidentiality"] = ["public", "restricted", "secret"] * 3
    store.write("retail_points", frame)
    for role in ("analyst", "admin"):
        rows = access.read_rows(store, "retail_points", role=role)
        _same(rows, access.read(store, "retail_points", role=role))
    analyst = access.read_rows(store, "retail_points", role="analyst", limit=4, offset=1)
    assert analyst.column("confidentiality") == ["restricted", "public", "restricted",
                                                 "public"]  # no secret row
    assert access.is_restricted_read("retail_points", analyst)
    with pytest.raises(access.AccessDenied):
        access.read_rows(store, "retail_points", role="viewer")
    store.write("border_posts", full_frame(LAYERS["border_posts"], 2))
    viewer = access.read_rows(store, "border_posts", role="viewer")
    assert len(viewer) == 1 and "area_of_responsibility" not in viewer.columns  # public only
    with pytest.raises(access.AccessDenied):
        access.read_rows(store, "border_posts", role="viewer",
                         columns=["id", "area_of_responsibility"])
    # a public layer's read is audited when a returned row is above public
    assert not access.is_restricted_read("border_posts", viewer)
    assert access.is_restricted_read("border_posts",
                                     access.read_rows(store, "border_posts", role="analyst"))
