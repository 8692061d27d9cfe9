"""Field sync on both stores: the same batches give the same answers on GeoPackage and PostGIS."""
from __future__ import annotations

import uuid

from geo_pcmt import access
from geo_pcmt.layers import get_layer
from geo_pcmt.store.versions import row_versions
from geo_pcmt.sync.batch import apply_batch
from tests.conftest import retail_frame


def _edit(fid, version, base, changes=None, geometry=None, accuracy=6.0):
    return {"edit_id": str(uuid.uuid4()), "layer": "retail_points", "op": "update", "id": fid,
            "base_version": version, "base": base, "changes": changes or {},
            "geometry": geometry, "recorded_at": "2026-03-02T10:00:00+07:00",
            "accuracy_m": accuracy}


def test_two_phones_merge_and_conflict_alike_on_both_stores(any_store):
    store = any_store
    store.write("retail_points", retail_frame(3), mode="replace", user="seed")
    rows = access.read(store, "retail_points", role="admin")
    rec = rows.set_index("id").loc["RP-000000"]
    version = row_versions(get_layer("retail_points"), rows[rows["id"] == "RP-000000"])[0]
    where = {"type": "Point", "coordinates": [104.17, 19.41]}
    # phone A moves the point (a GPS fix ~20 m east) and phone B, from the same base, moves it
    # to ~3 m from A's fix and changes the status; phone C renames it, phone D too, differently
    a = _edit("RP-000000", version, {"geometry": where},
              geometry={"type": "Point", "coordinates": [104.1702, 19.41]}, accuracy=5.0)
    b = _edit("RP-000000", version, {"geometry": where, "status": "active"}, {"status": "watch"},
              geometry={"type": "Point", "coordinates": [104.17023, 19.41]}, accuracy=8.0)
    c = _edit("RP-000000", version, {"name": rec["name"]}, {"name": "Nhà ông A"})
    d = _edit("RP-000000", version, {"name": rec["name"]}, {"name": "Nhà bà B"})
    answers = [apply_batch(store, {"device": dev, "edits": [e]}, user=f"can_bo_{dev}",
                           role="analyst")[0]
               for dev, e in zip("abcd", (a, b, c, d))]
    assert [r["status"] for r in answers] == ["applied", "merged", "merged", "conflict"]
    now = access.read(store, "retail_points", role="admin").set_index("id").loc["RP-000000"]
    assert now["status"] == "watch" and now["name"] == "Nhà ông A"
    assert round(now.geometry.x, 5) == 104.1702  # A's fix, the more accurate, is kept
    log = access.read(store, "field_edits", role="admin").set_index("id")
    assert {a["edit_id"], b["edit_id"], c["edit_id"], d["edit_id"]} <= set(log.index)
    assert float(log.loc[a["edit_id"], "accuracy_m"]) == 5.0
    conflicts = access.read(store, "field_conflicts", role="admin")
    assert list(conflicts["edit_id"]) == [d["edit_id"]]
