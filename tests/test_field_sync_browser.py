"""Two phones in headless Chromium record 30 edits with the network cut, then come back
online: every edit is stored or listed as a conflict, none is lost, the merged values are
right and the audit log holds every edit (issue #20, "Show").

Phone A is an analyst, phone B a commander, each in its own browser profile. They edit the
same records: the same field to different values (two conflicts), different fields of one
record (merged), the same field to the same value, and one record three times in a row on
one phone; the rest are new records (retail points, an opium plot by its corners, cases,
crossing observations), some typed into the forms as an officer does.
"""
from __future__ import annotations

import json
from collections import Counter

import pytest
from pyproj import Geod

from geo_pcmt import access
from tests.test_field_app import REPO, Phone, needs_chromium
from tests.test_map_browser import SCREENSHOTS

pytestmark = pytest.mark.slow


def create(phone: Phone, layer: str, values: dict, lon: float, lat: float) -> str:
    """Queue a new record through the app's own create (what the Save button calls)."""
    geometry = {"type": "Point", "coordinates": [lon, lat]}
    return phone.evaluate(f"geoPcmtField.create({{layer: {json.dumps(layer)}, values: "
                          f"{json.dumps(values)}, geometry: {json.dumps(geometry)}, "
                          f"accuracy_m: 6}}).then((e) => e.edit.id)")


def update(phone: Phone, layer: str, fid: str, values: dict) -> None:
    """Change fields of a record as the phone sees it (base values and version included)."""
    phone.evaluate(f"geoPcmtField.update({{layer: {json.dumps(layer)}, id: {json.dumps(fid)}, "
                   f"values: {json.dumps(values, ensure_ascii=False)}}}).then(() => true)")


def through_form(phone: Phone, layer: str, values: dict, corners: list | None = None) -> None:
    """A new record typed into the form: GPS position (or tapped corners), fields, Save."""
    phone.evaluate(f"document.querySelector('#gp-new [data-layer={layer}]').click(); true")
    phone.evaluate("document.querySelector('#gp-gps').click(); true")
    phone.wait_for("document.querySelector('#gp-pos').textContent.includes('±') && "
                   "geoPcmtField.map.map.getSize().y > 200")
    for i, (lon, lat) in enumerate(corners or []):  # tapped with a finger on the map
        phone.tap_map(lon, lat)
        phone.wait_for(f"geoPcmtField.rec.corners.length === {i + 1}")
    for name, value in values.items():
        phone.evaluate(f"""(() => {{ const i = document.querySelector('[data-field={name}]');
            i.value = i.tagName === 'SELECT' ? JSON.stringify({json.dumps(value)}) : {json.dumps(str(value))};
            return true; }})()""")
    n = phone.evaluate("geoPcmtField.entries.length")
    phone.evaluate("document.querySelector('#gp-save').click(); true")
    phone.wait_for(f"geoPcmtField.entries.length === {n + 1} && "
                   "document.documentElement.dataset.view === 'home'")


def phone_a_edits(a: Phone) -> None:
    """15 edits of the analyst's phone."""
    update(a, "retail_points", "RP-00", {"name": "Quán tạp hóa đầu bản"})         # same field as B
    update(a, "retail_points", "RP-01", {"address": "Bản Huồi Giảng 1"})          # B: its name
    update(a, "retail_points", "RP-03", {"last_activity": "2026-12-01"})           # B: same value
    update(a, "retail_points", "RP-04", {"status": "watch"})                       # 3 in a row
    update(a, "retail_points", "RP-04", {"case_ref": "VA-A-04"})
    update(a, "retail_points", "RP-04", {"status": "cleared", "cleared_on": "2026-12-02"})
    update(a, "cases", "C-01", {"offenders": 3})                                   # B: its kind
    update(a, "cases", "C-02", {"offenders": 5})                                   # B: 4
    through_form(a, "retail_points", {"type": "diem_ban_le", "name": "Nhà nghỉ Suối Hồng"})
    through_form(a, "opium_plots", {"detected_on": "2026-12-03", "plant_count": 1200},
                 corners=[[104.1300, 19.3600], [104.1306, 19.3601], [104.1305, 19.3607],
                          [104.1299, 19.3605]])
    create(a, "cases", {"date": "2026-12-03", "kind": "retail", "offenders": 1}, 104.131, 19.361)
    create(a, "border_crossings", {"kind": "trail", "name": "Đường mòn khe Nậm Ngân"},
           104.205, 19.452)
    for i in range(3):
        create(a, "retail_points", {"type": "diem_ban_le", "status": "active",
                                    "first_seen": "2026-12-04", "name": f"Điểm A{i}"},
               104.14 + i * 0.001, 19.37)


def phone_b_edits(b: Phone) -> None:
    """15 edits of the commander's phone."""
    update(b, "retail_points", "RP-00", {"name": "Nhà nghỉ ven suối"})
    update(b, "retail_points", "RP-01", {"name": "Điểm số 1 (đã xác minh)"})
    update(b, "retail_points", "RP-03", {"last_activity": "2026-12-01"})
    update(b, "cases", "C-01", {"kind": "trafficking"})
    update(b, "cases", "C-02", {"offenders": 4})
    through_form(b, "cases", {"kind": "transport", "offenders": 2, "heroin_g": "12,5"})
    through_form(b, "border_crossings", {"kind": "opening", "name": "Lối mở bản Cà Moong"})
    for i in range(8):
        create(b, "retail_points", {"type": "tu_diem_phuc_tap", "status": "watch",
                                    "first_seen": "2026-12-04", "name": f"Tụ điểm B{i}"},
               104.15 + i * 0.001, 19.38)


@needs_chromium
def test_two_phones_30_offline_edits_none_lost_merged_right_audited(live):
    base, app, server = live
    store = app.extensions["geo_pcmt_store"]
    with Phone(base, 104.132, 19.362) as a, Phone(base, 104.152, 19.382) as b:
        for phone, user in ((a, "analyst_user"), (b, "commander_user")):
            phone.open_app()
            assert phone.sign_in(user) is None
            # the records taken into the field
            phone.wait_for("geoPcmtField.snapshot !== null && geoPcmtField.syncing === null")
            phone.network(False)
        phone_a_edits(a)
        phone_b_edits(b)
        assert a.evaluate("geoPcmtField.entries.length") == 15
        assert b.evaluate("geoPcmtField.entries.length") == 15
        edits = {p: p.evaluate("geoPcmtField.entries.map((e) => e.edit)") for p in (a, b)}
        assert all(e["edit_id"] for es in edits.values() for e in es)

        for phone in (a, b):  # A comes back first, then B: the online event sends the queue
            phone.network(True)
            phone.wait_for("geoPcmtField.entries.every((e) => e.state !== 'pending')",
                           timeout_s=60)
        results = {p: p.evaluate("geoPcmtField.entries.map((e) => e.result)") for p in (a, b)}
        # an answer lost on the way back: the phone sends the edit again, it is not applied twice
        def writes_of(edit_id):
            log = access.read(store, "audit_log", role="admin", where={"layer": "retail_points"})
            return int(log["detail"].str.contains(edit_id, regex=False).sum())
        resent = a.evaluate("geoPcmtField.entries[5].edit_id")
        writes_before = writes_of(resent)
        again = a.evaluate("""(async () => { const e = geoPcmtField.entries[5];
            e.state = 'pending'; await geoPcmtField.store.putEdits([e]);
            await geoPcmtField.sync(); return [e.edit.id, e.state, e.result.status]; })()""")
        assert again == ["RP-04", "done", "duplicate"]
        assert writes_before >= 1 and writes_of(resent) == writes_before
        b.wait_for("document.querySelector('#gp-message').textContent.includes('Kết quả gửi')")
        shown = b.evaluate("document.querySelector('#gp-message').textContent")
        b.evaluate("document.querySelector('#gp-queue-btn').click(); true")
        queue_text = b.evaluate("document.querySelector('#gp-queue').innerText")
        b.screenshot(SCREENSHOTS / "field-app-queue.png")  # docs/ keeps a chosen copy
        assert a.console_errors() == [] and b.console_errors() == []

    statuses = {p: Counter(r["status"] for r in rs) for p, rs in results.items()}
    # A came first: everything applied, its own three edits of RP-04 merged in turn
    assert statuses[a]["rejected"] == 0 and statuses[a]["conflict"] == 0
    assert sum(statuses[a].values()) == 15
    # B: RP-00's name and C-02's offenders changed on both sides to different values
    by_b = {(e["layer"], e["id"], tuple(e["changes"])): r for e, r in zip(edits[b], results[b])}
    assert by_b[("retail_points", "RP-00", ("name",))]["status"] == "conflict"
    assert by_b[("cases", "C-02", ("offenders",))]["status"] == "conflict"
    assert by_b[("retail_points", "RP-01", ("name",))]["status"] == "merged"
    assert by_b[("cases", "C-01", ("kind",))]["status"] == "merged"
    assert statuses[b]["rejected"] == 0 and statuses[b]["conflict"] == 2
    assert "2 xung đột" in shown and "xung đột, chờ xử lý" in queue_text

    def row(layer, fid):
        frame = access.read(store, layer, role="admin", where={"id": fid})
        assert len(frame) == 1, (layer, fid)
        return frame.iloc[0]
    # merged values: both phones' fields kept
    assert row("retail_points", "RP-01")["name"] == "Điểm số 1 (đã xác minh)"
    assert row("retail_points", "RP-01")["address"] == "Bản Huồi Giảng 1"
    rp04 = row("retail_points", "RP-04")
    assert (rp04["status"], rp04["case_ref"], str(rp04["cleared_on"])[:10]) == \
        ("cleared", "VA-A-04", "2026-12-02")
    assert str(row("retail_points", "RP-03")["last_activity"])[:10] == "2026-12-01"
    c01 = row("cases", "C-01")
    assert (c01["kind"], int(c01["offenders"])) == ("trafficking", 3)
    # the first phone's value stands; the other waits for an analyst, never dropped
    assert row("retail_points", "RP-00")["name"] == "Quán tạp hóa đầu bản"
    assert int(row("cases", "C-02")["offenders"]) == 5
    conflicts = access.read(store, "field_conflicts", role="admin", where={"status": "open"})
    assert sorted(conflicts["record_id"]) == ["C-02", "RP-00"]
    assert "Nhà nghỉ ven suối" in conflicts.set_index("record_id").loc["RP-00", "phone_value"]
    # every new record is in the store with its phone-made id and its values
    creates = [e for es in edits.values() for e in es if e["op"] == "create"]
    assert len(creates) == 17
    for e in creates:
        stored = row(e["layer"], e["id"])
        for k, v in e["changes"].items():
            if k in ("name", "kind", "type"):
                assert stored[k] == v
    plot = row("opium_plots", next(e["id"] for e in creates if e["layer"] == "opium_plots"))
    assert plot.geometry.geom_type == "Polygon" and len(plot.geometry.exterior.coords) == 5
    # the area the phone filled in is the area of the plot it drew (on the ellipsoid)
    geodesic_m2 = abs(Geod(ellps="WGS84").geometry_area_perimeter(plot.geometry)[0])
    assert abs(plot["area_m2"] - geodesic_m2) <= 1  # rounded to whole m² on the phone
    heroin = [e for e in creates if e["changes"].get("heroin_g") is not None]
    assert heroin[0]["changes"]["heroin_g"] == 12.5  # typed "12,5" on a Vietnamese phone
    # the audit log holds every edit: each id in the sync's own record of edits, and every
    # edit that changed a record in that record's write (B's RP-03 value was already there)
    log = access.read(store, "audit_log", role="admin")
    logged = set()
    for ids in log.loc[log["layer"] == "field_edits", "ids"]:
        logged.update(json.loads(ids))
    all_edits = [(e, r) for p in (a, b) for e, r in zip(edits[p], results[p])]
    assert {e["edit_id"] for e, _ in all_edits} <= logged
    for e, r in all_edits:
        if e is edit_of(edits[b], "RP-03"):
            continue
        layers = {e["layer"]} if r["status"] in ("applied", "merged") else {"field_conflicts"}
        hits = log[log["layer"].isin(layers) & log["detail"].str.contains(e["edit_id"],
                                                                          regex=False)]
        assert len(hits) >= 1, (e, r)
        assert set(hits["user"]) == {"analyst_user" if e in edits[a] else "commander_user"}


def edit_of(edits: list[dict], fid: str) -> dict:
    return next(e for e in edits if e["id"] == fid)
