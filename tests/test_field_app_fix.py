"""The phone app after the server's answer: a rejected edit shows its reasons (Vietnamese,
English on the language switch) and is fixed and sent again or discarded — nothing is
dropped from the phone's list; a record is deleted from the app by a role that may delete
(an analyst is not offered the button), and the server's answer shows as for any edit.

Headless Chromium at phone size (see :mod:`tests.test_field_app`); the confirm dialogs are
answered through DevTools as a finger would.
"""
from __future__ import annotations

import json
import time

import pytest

from geo_pcmt import access
from tests.test_field_app import Phone, needs_chromium

pytestmark = pytest.mark.slow


def open_record(phone: Phone, fid: str) -> None:
    phone.evaluate(f"""(() => {{ const f = geoPcmtField.records('retail_points')
        .find((r) => r.id === {json.dumps(fid)});
        geoPcmtField.openRecord('retail_points', f); return true; }})()""")
    phone.wait_for("document.documentElement.dataset.view === 'record'")


def type_and_save(phone: Phone, values: dict) -> None:
    n = phone.evaluate("geoPcmtField.entries.length")
    for name, value in values.items():
        phone.evaluate(f"document.querySelector('[data-field={name}]').value = "
                       f"{json.dumps(value)}; true")
    phone.evaluate("document.querySelector('#gp-save').click(); true")
    phone.wait_for(f"geoPcmtField.entries.length === {n + 1} && "
                   "document.documentElement.dataset.view === 'home'")


def sync(phone: Phone) -> None:
    phone.evaluate("geoPcmtField.sync().then(() => true)")
    phone.wait_for("geoPcmtField.syncing === null")


def tap_and_confirm(phone: Phone, selector: str, accept: bool = True) -> str:
    """Tap a button that asks for confirmation; answer the dialog; its question."""
    seen = len(phone.events)
    phone.evaluate(f"setTimeout(() => document.querySelector({json.dumps(selector)}).click(), 0); "
                   "true")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        opened = [e for e in phone.events[seen:] if e.get("method") == "Page.javascriptDialogOpening"]
        if opened:
            phone.send("Page.handleJavaScriptDialog", {"accept": accept})
            return opened[0]["params"]["message"]
        time.sleep(0.05)
    raise TimeoutError(f"no confirm after tapping {selector}")


def queue_item(phone: Phone, edit_id: str) -> str:
    """The text of the queue list's item of ``edit_id`` (the queue screen shown anew)."""
    phone.evaluate("geoPcmtField.showQueue(); true")
    return phone.evaluate(f"""(() => {{ const li = Array.from(document.querySelectorAll(
        '#gp-queue li')).find((l) => l.dataset.edit === {json.dumps(edit_id)});
        return li ? li.textContent : ''; }})()""")


@needs_chromium
def test_a_rejected_edit_is_fixed_and_sent_again_or_discarded_and_nothing_is_dropped(live):
    base, app, server = live
    store = app.extensions["geo_pcmt_store"]
    with Phone(base) as phone:
        phone.open_app()
        assert phone.sign_in("analyst_user") is None
        phone.wait_for("geoPcmtField.snapshot !== null && geoPcmtField.syncing === null")
        phone.network(False)
        # the last activity typed before the first sighting (15/02/2024): the server refuses
        open_record(phone, "RP-01")
        assert phone.evaluate("document.querySelector('#gp-delete').hidden")  # analyst: no delete
        type_and_save(phone, {"last_activity": "2023-05-01"})
        open_record(phone, "RP-03")
        type_and_save(phone, {"last_activity": "2023-06-01"})
        bad, other = phone.evaluate("geoPcmtField.entries.map((e) => e.edit_id)")
        phone.network(True)
        sync(phone)
        assert phone.evaluate("geoPcmtField.entries.map((e) => e.state)") == ["rejected"] * 2

        # the reasons, Vietnamese first, English on the switch; the two ways out
        text = queue_item(phone, bad)
        assert "bị từ chối" in text and "Lý do" in text and "Sửa và gửi lại" in text
        assert "Bỏ" in text and "sớm hơn ngày bắt đầu" in text
        phone.evaluate("document.querySelector('#gp-lang').click(); true")
        text = queue_item(phone, bad)
        assert "Reasons" in text and "Fix and send again" in text, text
        assert "sớm hơn" not in text and "Last activity" in text
        phone.evaluate("document.querySelector('#gp-lang').click(); true")

        # fix: the form opens with what was sent; saving queues a new edit, the old stays
        phone.evaluate("geoPcmtField.showQueue(); true")
        phone.evaluate(f"document.querySelector('[data-fix=\"{bad}\"]').click(); true")
        phone.wait_for("document.documentElement.dataset.view === 'record'")
        assert phone.evaluate("document.querySelector('[data-field=last_activity]').value") \
            == "2023-05-01"
        assert "Sửa và gửi lại" in phone.evaluate("document.querySelector('#gp-rec-title').textContent")
        type_and_save(phone, {"last_activity": "2026-11-30"})
        entries = phone.evaluate("geoPcmtField.entries")
        old = next(e for e in entries if e["edit_id"] == bad)
        new = entries[-1]
        assert old["state"] == "replaced" and old["replaced_by"] == new["edit_id"] != bad
        assert new["replaces"] == bad and new["edit"]["id"] == "RP-01"
        assert new["edit"]["changes"]["last_activity"] == "2026-11-30"
        assert old["edit"]["changes"]["last_activity"] == "2023-05-01"   # kept as it was sent
        phone.wait_for("geoPcmtField.syncing === null")
        sync(phone)
        assert phone.evaluate(f"geoPcmtField.entries.find((e) => e.edit_id === "
                              f"{json.dumps(new['edit_id'])}).result.status") == "applied"
        row = access.read(store, "retail_points", role="admin", where={"id": "RP-01"}).iloc[0]
        assert str(row["last_activity"])[:10] == "2026-11-30"
        assert "đã thay bằng bản sửa" in queue_item(phone, bad)

        # discard: asked first (a "no" keeps it), then kept in the list as discarded
        phone.evaluate("geoPcmtField.showQueue(); true")
        question = tap_and_confirm(phone, f"[data-discard=\"{other}\"]", accept=False)
        assert "không được gửi" in question
        assert phone.evaluate(f"geoPcmtField.entries.find((e) => e.edit_id === "
                              f"{json.dumps(other)}).state") == "rejected"
        tap_and_confirm(phone, f"[data-discard=\"{other}\"]")
        phone.wait_for(f"geoPcmtField.entries.find((e) => e.edit_id === {json.dumps(other)})"
                       ".state === 'discarded'")
        sync(phone)
        entries = phone.evaluate("geoPcmtField.entries")
        assert len(entries) == 3                                          # nothing dropped
        gone = next(e for e in entries if e["edit_id"] == other)
        assert gone["state"] == "discarded" and gone["history"][0]["action"] == "discarded"
        assert "đã bỏ (không gửi)" in queue_item(phone, other)
        logged = set(access.read(store, "field_edits", role="admin", columns=["id"])["id"])
        assert bad in logged and new["edit_id"] in logged
        # the queue survives a sign-out: the history is in the encrypted store
        phone.evaluate("document.querySelector('#gp-signout').click(); true")
        phone.wait_for("document.documentElement.dataset.view === 'signin'")
        assert phone.sign_in("analyst_user") is None
        assert sorted(phone.evaluate("geoPcmtField.entries.map((e) => e.state)")) == \
            ["discarded", "done", "replaced"]
        assert phone.console_errors() == []


@needs_chromium
def test_an_admin_deletes_from_the_app_and_a_changed_record_becomes_a_conflict(live, app):
    base, _, server = live
    store = app.extensions["geo_pcmt_store"]
    with Phone(base) as phone:
        phone.open_app()
        assert phone.sign_in("admin_user") is None
        phone.wait_for("geoPcmtField.snapshot !== null && geoPcmtField.syncing === null")
        phone.network(False)
        open_record(phone, "RP-03")
        assert not phone.evaluate("document.querySelector('#gp-delete').hidden")
        assert "Xoá" in phone.evaluate("document.querySelector('#gp-delete').textContent")
        # "no" to the question queues nothing
        tap_and_confirm(phone, "#gp-delete", accept=False)
        assert phone.evaluate("geoPcmtField.entries.length") == 0
        question = tap_and_confirm(phone, "#gp-delete")
        assert "Xoá bản ghi này?" in question
        phone.wait_for("geoPcmtField.entries.length === 1")
        edit = phone.evaluate("geoPcmtField.entries[0].edit")
        version = phone.evaluate("geoPcmtField.snapshot.layers.retail_points.features"
                                 ".find((f) => f.id === 'RP-03').version")
        assert edit["op"] == "delete" and edit["id"] == "RP-03" and edit["base_version"] == version
        # the record is gone from the phone's list at once
        assert phone.evaluate("geoPcmtField.records('retail_points')"
                              ".every((f) => f.id !== 'RP-03')")
        # RP-04: changed in the office after the phone's snapshot, then deleted on the phone
        open_record(phone, "RP-04")
        tap_and_confirm(phone, "#gp-delete")
        phone.wait_for("geoPcmtField.entries.length === 2")
        frame = access.read(store, "retail_points", role="admin", where={"id": "RP-04"})
        frame["name"] = "Đổi tên ở văn phòng"
        store.write("retail_points", frame, mode="upsert", user="office")
        phone.network(True)
        sync(phone)
        states = phone.evaluate("geoPcmtField.entries.map((e) => e.result && e.result.status)")
        assert states == ["applied", "conflict"]
        have = set(access.read(store, "retail_points", role="admin", columns=["id"])["id"])
        assert "RP-03" not in have and "RP-04" in have
        first, second = phone.evaluate("geoPcmtField.entries.map((e) => e.edit_id)")
        assert "(xoá)" in queue_item(phone, first) and "đã lưu" in queue_item(phone, first)
        assert "xung đột" in queue_item(phone, second)
        assert phone.console_errors() == []
