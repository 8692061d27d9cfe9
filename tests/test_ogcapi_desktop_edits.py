"""Edits without If-Match from trusted desktop clients (QGIS), a per-deployment option.

QGIS's OAPIF provider sends PATCH (``application/merge-patch+json``), PUT and DELETE with no
``If-Match``; by default that is 428. With ``API_EDITS_WITHOUT_IF_MATCH = ("QGIS/",)`` those
clients' changes go through (last writer wins), audited as made without a version check;
every other client still needs ``If-Match``.
"""
from __future__ import annotations

import json

import pytest

from tests.conftest import bearer, make_app

MERGE = "application/merge-patch+json"
QGIS_UA = "Mozilla/5.0 QGIS/33400/Ubuntu 24.04"
URL = "/api/collections/retail_points/items/RP-01"


def patch(app, agent: str, status: str, role: str = "analyst", **headers):
    return app.test_client().patch(
        URL, data=json.dumps({"properties": {"status": status}}), content_type=MERGE,
        headers={**bearer(app, role), "User-Agent": agent, **headers})


def test_by_default_qgis_edits_without_if_match_are_428(web_store, tmp_path):
    app = make_app(web_store, tmp_path)
    res = patch(app, QGIS_UA, "watch")
    assert res.status_code == 428
    assert web_store.read("retail_points", where={"id": "RP-01"})["status"].iloc[0] == "active"


def test_a_trusted_desktop_client_edits_without_if_match_and_the_audit_says_so(web_store,
                                                                              tmp_path):
    app = make_app(web_store, tmp_path, API_EDITS_WITHOUT_IF_MATCH=("QGIS/",))
    assert patch(app, QGIS_UA, "watch").status_code == 200
    assert patch(app, QGIS_UA, "cleared").status_code == 200  # last writer wins
    assert web_store.read("retail_points", where={"id": "RP-01"})["status"].iloc[0] == "cleared"
    log = web_store.read("audit_log")
    edits = log[(log["layer"] == "retail_points") & log["action"].str.startswith("write")]
    details = [d for d in map(json.loads, edits["detail"]) if d.get("via") == "ogcapi"]
    assert len(details) == 2 and all(d["without_if_match"] == QGIS_UA for d in details)
    # other clients still need If-Match; a stale one from QGIS is still 412
    assert patch(app, "curl/8.5", "watch").status_code == 428
    assert patch(app, QGIS_UA, "watch", **{"If-Match": '"00000000000000000000000000000000"'}
                 ).status_code == 412


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_put_and_delete_from_a_trusted_client_keep_the_role_rules(web_store, tmp_path, method):
    app = make_app(web_store, tmp_path, API_EDITS_WITHOUT_IF_MATCH="QGIS/")  # env: text
    client = app.test_client()
    head = {"User-Agent": QGIS_UA}
    if method == "DELETE":
        assert client.delete(URL, headers={**bearer(app, "analyst"), **head}).status_code == 403
        assert client.delete(URL, headers={**bearer(app, "admin"), **head}).status_code == 204
        assert not len(web_store.read("retail_points", where={"id": "RP-01"}))
        return
    body = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [104.11, 19.35]},
            "properties": {"source": "QGIS", "type": "diem_ban_le", "status": "watch",
                           "first_seen": "2024-02-15"}}
    res = client.put(URL, data=json.dumps(body), content_type="application/geo+json",
                     headers={**bearer(app, "analyst"), **head})
    assert res.status_code == 200, res.get_json()
    hidden = client.put("/api/collections/retail_points/items/RP-07", data=json.dumps(body),
                        content_type="application/geo+json",
                        headers={**bearer(app, "analyst"), **head})
    assert hidden.status_code == 404  # a secret record stays out of reach
