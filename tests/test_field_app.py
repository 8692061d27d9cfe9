"""The phone app at /field/: its shell, service worker and manifest, and — in headless
Chromium at phone size with the network cut — the offline shell and the encrypted per-user
queue that survives sign-out and a change of user.

The end-to-end sync of two phones is in :mod:`tests.test_field_sync_browser`.
"""
from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from geo_pcmt import access
from tests.conftest import PASSWORD, login
from tests.test_map_browser import CHROMIUM, SCREENSHOTS, Chromium

REPO = Path(__file__).resolve().parents[1]
PHONE = (412, 915)
SECRET_WORDS = "Quán nước đầu bản Xốp Mạt ZQX-7731"


# ---------------------------------------------------------------- without a browser

def test_field_redirects_into_the_service_worker_scope(app):
    resp = app.test_client().get("/field")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/field/")


def test_shell_needs_no_sign_in_holds_no_records_and_is_vietnamese_first(app):
    client = app.test_client()
    resp = client.get("/field/")
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    assert '<html lang="vi">' in page and "Thu thập hiện trường" in page
    assert "Điểm số" not in page and "RP-0" not in page  # no record in the shell
    # no inline script: the strict CSP (nonce) stays; the config is a JSON data block
    assert re.findall(r"<script(?![^>]*(?:src=|application/json))", page) == []
    config = json.loads(re.search(r'id="gp-config">(.*?)</script>', page, re.S).group(1))
    assert config["capture"] == ["retail_points", "opium_plots", "border_crossings", "cases"]
    assert config["layers"]["retail_points"]["values"]["status"]["cleared"] == "Đã triệt xóa"
    assert "'unsafe-inline'" not in resp.headers["Content-Security-Policy"]


def test_every_file_the_service_worker_keeps_is_served(app):
    client = app.test_client()
    sw = client.get("/field/sw.js")
    assert sw.status_code == 200 and sw.mimetype == "text/javascript"
    assert sw.headers["Cache-Control"] == "no-cache"
    files = json.loads(re.search(r"const SHELL_FILES = (\[.*?\]);", sw.get_data(as_text=True)).group(1))
    assert "/field/" in files and "/static/vendor/leaflet-1.9.3/leaflet.js" in files
    for f in files:  # anonymous: the worker installs before anyone signs in
        assert client.get(f).status_code == 200, f
    # every script the page loads is kept for offline use
    page = client.get("/field/").get_data(as_text=True)
    for src in re.findall(r'<script src="([^"]+)"', page) + re.findall(r'href="(/static/[^"]+)"', page):
        assert src in files, src
    assert not any("http" in f for f in files)  # no CDN


def test_manifest_makes_the_app_installable(app):
    client = app.test_client()
    m = json.loads(client.get("/field/manifest.webmanifest").get_data(as_text=True))
    assert m["start_url"] == m["scope"] == "/field/" and m["display"] == "standalone"
    assert m["lang"] == "vi" and "hiện trường" in m["name"]
    sizes = {i["sizes"] for i in m["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in m["icons"]:
        assert client.get(icon["src"]).data[:8] == b"\x89PNG\r\n\x1a\n"


def test_session_tells_the_app_who_is_signed_in_and_the_csrf_token(app):
    client = app.test_client()
    anon = client.get("/field/session").json
    assert anon["user"] is None and anon["csrf_token"]
    login(client, "viewer_user")
    assert client.get("/field/session").json["user"]["can_record"] is False
    login(client, "analyst_user")
    me = client.get("/field/session").json
    assert me["user"]["username"] == "analyst_user" and me["user"]["can_record"] is True
    assert me["csrf_token"] != anon["csrf_token"]  # a new session at sign-in


# ---------------------------------------------------------------- in a phone-sized browser

needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="!!! CHROMIUM NOT INSTALLED: the field app was NOT tested in a "
                             "browser (apt-get install chromium) !!!")


class Phone(Chromium):
    """Headless Chromium at phone size with touch, a GPS position and a network switch."""

    def __init__(self, base: str, lon: float = 104.13, lat: float = 19.36):
        super().__init__(*PHONE, offline=True)
        self.base, self.lon, self.lat = base, lon, lat

    def __enter__(self) -> "Phone":
        super().__enter__()
        self.send("Emulation.setDeviceMetricsOverride", {"width": PHONE[0], "height": PHONE[1],
                                                         "deviceScaleFactor": 1, "mobile": True})
        self.send("Emulation.setTouchEmulationEnabled", {"enabled": True, "maxTouchPoints": 5})
        self.send("Browser.grantPermissions", {"origin": self.base,
                                               "permissions": ["geolocation"]}, session=False)
        self.gps(self.lon, self.lat, 8.0)
        return self

    def gps(self, lon: float, lat: float, accuracy_m: float) -> None:
        self.send("Emulation.setGeolocationOverride", {"latitude": lat, "longitude": lon,
                                                       "accuracy": accuracy_m})

    def network(self, online: bool) -> None:
        self.send("Network.emulateNetworkConditions", {
            "offline": not online, "latency": 0, "downloadThroughput": -1,
            "uploadThroughput": -1})
        self.wait_for(f"navigator.onLine === {'true' if online else 'false'}")

    def open_app(self) -> None:
        self.open(f"{self.base}/field/")
        self.wait_for("navigator.serviceWorker.controller !== null", timeout_s=30)

    def sign_in(self, username: str, password: str = PASSWORD) -> str | None:
        """Through the form, as an officer does; the error shown, or None."""
        self.evaluate(f"""(() => {{
            document.querySelector('#gp-username').value = {json.dumps(username)};
            document.querySelector('#gp-password').value = {json.dumps(password)};
            document.querySelector('#gp-signin-btn').click(); return true; }})()""")
        self.wait_for("!document.querySelector('#gp-signin-btn').disabled", timeout_s=60)
        if self.evaluate("document.documentElement.dataset.view") == "home":
            return None
        return self.evaluate("document.querySelector('#gp-message').textContent")

    def tap_map(self, lon: float, lat: float) -> None:
        """A finger's tap on the app's map at (lon, lat), which must be in view."""
        x, y = self.evaluate(f"""(() => {{ const m = geoPcmtField.map.map;
            const r = m.getContainer().getBoundingClientRect();
            const p = m.latLngToContainerPoint([{lat}, {lon}]);
            return [r.left + p.x, r.top + p.y]; }})()""")
        assert 0 < x < PHONE[0] and 0 < y < PHONE[1], (lon, lat, "not in view")
        self.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
        self.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})

    def raw_indexeddb(self) -> str:
        """Everything the app keeps in IndexedDB, as stored, as one string."""
        return self.evaluate("""new Promise((resolve) => {
            const r = indexedDB.open('geo_pcmt_field');
            r.onsuccess = () => {
              const db = r.result, names = Array.from(db.objectStoreNames), out = {};
              const t = db.transaction(names, 'readonly');
              names.forEach((n) => { const q = t.objectStore(n).getAll();
                                     q.onsuccess = () => { out[n] = q.result; }; });
              t.oncomplete = () => resolve(JSON.stringify(out));
            };
          })""")


@pytest.mark.slow
@needs_chromium
def test_queue_is_encrypted_per_user_survives_sign_out_and_user_switch_and_shell_opens_offline(live):
    base, app, server = live
    with Phone(base) as phone:
        phone.open_app()
        # every shell file is in the worker's cache after the first visit
        n_cached = phone.evaluate("caches.keys().then((k) => caches.open(k[0]))"
                                  ".then((c) => c.keys()).then((k) => k.length)")
        assert n_cached >= 14
        assert phone.sign_in("analyst_user") is None
        phone.network(False)
        # a retail point recorded through the form, with the phone's GPS
        phone.evaluate("document.querySelector('#gp-new [data-layer=retail_points]').click(); true")
        phone.evaluate("document.querySelector('#gp-gps').click(); true")
        phone.wait_for("document.querySelector('#gp-pos').textContent.includes('±8 m')")
        # a 4000×3000 photo is shrunk on the phone to 1280 px, JPEG, before it is queued
        phone.evaluate("""(async () => {
            const c = document.createElement('canvas'); c.width = 4000; c.height = 3000;
            const g = c.getContext('2d'); g.fillStyle = '#4a7'; g.fillRect(0, 0, 4000, 3000);
            const blob = await new Promise((r) => c.toBlob(r, 'image/png'));
            const dt = new DataTransfer(); dt.items.add(new File([blob], 'anh.png', {type: 'image/png'}));
            const input = document.querySelector('#gp-photo'); input.files = dt.files;
            input.dispatchEvent(new Event('change')); return true; })()""")
        phone.wait_for("document.querySelector('#gp-photo-state').textContent.includes('1280×960')")
        phone.screenshot(SCREENSHOTS / "field-app-phone.png")  # docs/ keeps a chosen copy
        phone.evaluate("document.querySelector('#gp-save').click(); true")
        # the type is required and has no default: the officer is told, nothing is queued
        assert "Loại điểm" in phone.evaluate("document.querySelector('#gp-message').textContent")
        phone.evaluate(f"""(() => {{
            document.querySelector('[data-field=name]').value = {json.dumps(SECRET_WORDS)};
            document.querySelector('[data-field=type]').value = '"diem_ban_le"';
            document.querySelector('#gp-save').click(); return true; }})()""")
        phone.wait_for("geoPcmtField.entries.length === 1")
        entry = phone.evaluate("geoPcmtField.entries[0]")
        assert entry["state"] == "pending"
        edit = entry["edit"]
        assert edit["op"] == "create" and edit["layer"] == "retail_points"
        assert re.fullmatch(r"retail_points-\d{8}-[0-9a-f]{4}-\d+", edit["id"])
        assert edit["geometry"] == {"type": "Point", "coordinates": [104.13, 19.36]}
        assert edit["accuracy_m"] == 8 and edit["changes"]["name"] == SECRET_WORDS
        assert edit["photo"].startswith("data:image/jpeg;base64,")
        assert edit["changes"]["status"] == "active" and re.search(r"[+-]\d\d:\d\d$", edit["recorded_at"])
        # a patrol: the track from watchPosition, one stop done, findings
        phone.wait_for("document.documentElement.dataset.view === 'home'")
        phone.evaluate("document.querySelector('#gp-track-btn').click(); "
                       "document.querySelector('#gp-patrol-start').click(); true")
        for i in range(1, 4):
            time.sleep(0.3)
            phone.gps(104.13 + 0.001 * i, 19.36 + 0.0005 * i, 5.0)
            phone.wait_for(f"geoPcmtField.patrol.coords.length >= {i + 1}")
        phone.evaluate("""(() => { document.querySelector('#gp-stop-note').value = 'Bản Xốp Mạt';
            document.querySelector('#gp-stop').click();
            document.querySelector('#gp-findings').value = 'Không phát hiện ZQX-7731';
            document.querySelector('#gp-patrol-end').click(); return true; })()""")
        phone.wait_for("geoPcmtField.entries.length === 2")
        track = phone.evaluate("geoPcmtField.entries[1].edit")
        assert track["layer"] == "patrol_tracks" and track["op"] == "create"
        assert track["geometry"]["type"] == "LineString" and len(track["geometry"]["coordinates"]) == 4
        assert [s["note"] for s in json.loads(track["changes"]["stops_done"])] == ["Bản Xốp Mạt"]
        assert 300 < track["changes"]["distance_m"] < 400
        raw = phone.raw_indexeddb()
        assert "ZQX-7731" not in raw and "Xốp Mạt" not in raw and "104.13" not in raw
        # English on a tap, Vietnamese again on the next
        phone.evaluate("document.querySelector('#gp-lang').click(); true")
        assert phone.evaluate("document.querySelector('header b').textContent") == "Field capture"
        phone.evaluate("document.querySelector('#gp-lang').click(); true")

        # sign out: the key goes, the edit stays, its owner is shown as having edits waiting
        phone.evaluate("document.querySelector('#gp-signout').click(); true")
        phone.wait_for("document.documentElement.dataset.view === 'signin'")
        phone.wait_for("document.querySelector('#gp-profiles').textContent === 'Người dùng analyst: 2 chờ gửi'")
        # another user, offline and never seen on this phone: needs the network once
        assert "cần có mạng" in phone.sign_in("commander_user")
        phone.network(True)
        assert phone.sign_in("commander_user") is None
        assert phone.evaluate("geoPcmtField.entries.length") == 0
        assert '"owner":"analyst_user"' in phone.raw_indexeddb()
        phone.evaluate("document.querySelector('#gp-signout').click(); true")
        phone.wait_for("document.documentElement.dataset.view === 'signin'")
        # a wrong password opens nothing
        phone.network(False)
        assert "Sai" in phone.sign_in("analyst_user", "not-the-password")

        # the server goes away entirely: the shell still opens from the worker's cache
        server.shutdown()
        phone.open(f"{base}/field/")
        assert phone.evaluate("typeof L === 'object' && !!document.querySelector('#gp-signin-form')")
        assert phone.sign_in("analyst_user") is None
        entries = phone.evaluate("geoPcmtField.entries")
        assert [e["edit"]["layer"] for e in entries] == ["retail_points", "patrol_tracks"]
        assert entries[0]["edit"]["changes"]["name"] == SECRET_WORDS
        assert phone.console_errors() == []


@pytest.mark.slow
@needs_chromium
def test_plot_area_on_the_phone_matches_the_geodesic_area(live):
    from pyproj import Geod
    base, _, _ = live
    ring = [[104.1300, 19.3600], [104.1306, 19.3601], [104.1305, 19.3607], [104.1299, 19.3605]]
    with Phone(base) as phone:
        phone.open(f"{base}/field/")
        phone_m2 = phone.evaluate(f"FieldGeo.ringArea({json.dumps(ring)})")
        length_m = phone.evaluate(f"FieldGeo.lineLength({json.dumps(ring)})")
    lons, lats = zip(*ring)
    area_m2, _ = Geod(ellps="WGS84").polygon_area_perimeter(lons, lats)
    assert abs(phone_m2 - abs(area_m2)) / abs(area_m2) < 0.005
    line_m = Geod(ellps="WGS84").line_length(lons, lats)
    assert abs(length_m - line_m) / line_m < 0.005


@pytest.mark.slow
@needs_chromium
def test_a_new_password_reopens_the_old_queue_once_and_a_lapsed_session_signs_in_again(live):
    base, app, _ = live
    users = app.extensions["geo_pcmt_users"]
    store = app.extensions["geo_pcmt_store"]
    with Phone(base) as phone:
        phone.open_app()
        assert phone.sign_in("analyst_user") is None
        phone.wait_for("geoPcmtField.snapshot !== null && geoPcmtField.syncing === null")
        phone.network(False)
        phone.evaluate("geoPcmtField.update({layer: 'retail_points', id: 'RP-06', "
                       "values: {address: 'Bản Phá Lõm'}}).then(() => true)")
        phone.evaluate("document.querySelector('#gp-signout').click(); true")
        phone.wait_for("document.documentElement.dataset.view === 'signin'")
        # the password is changed on the web meanwhile
        users.change_password("analyst_user", PASSWORD, "mật-khẩu-mới-2026")
        phone.network(True)
        assert "mật khẩu cũ" in phone.sign_in("analyst_user", "mật-khẩu-mới-2026")
        assert phone.evaluate("!document.querySelector('#gp-old-box').hidden")
        phone.evaluate(f"document.querySelector('#gp-old-password').value = {json.dumps(PASSWORD)}; true")
        assert phone.sign_in("analyst_user", "mật-khẩu-mới-2026") is None
        phone.wait_for("geoPcmtField.entries.length === 1 && geoPcmtField.entries[0].state === 'done'")
        assert access.read(store, "retail_points", role="admin",
                           where={"id": "RP-06"}).iloc[0]["address"] == "Bản Phá Lõm"
        # the server ends every session of the user (as at a password reset): the next sync
        # signs in again with the password held in memory, and sends
        phone.wait_for("geoPcmtField.syncing === null")
        phone.network(False)
        phone.evaluate("geoPcmtField.update({layer: 'retail_points', id: 'RP-06', "
                       "values: {case_ref: 'VA-06-B'}}).then(() => true)")
        users.sign_out_everywhere("analyst_user")
        phone.network(True)
        phone.wait_for("geoPcmtField.entries.every((e) => e.state === 'done')", timeout_s=30)
        assert access.read(store, "retail_points", role="admin",
                           where={"id": "RP-06"}).iloc[0]["case_ref"] == "VA-06-B"
        # offline, the new password opens the phone; the old one no longer does
        phone.evaluate("document.querySelector('#gp-signout').click(); true")
        phone.wait_for("document.documentElement.dataset.view === 'signin'")
        phone.network(False)
        assert "Sai" in phone.sign_in("analyst_user", PASSWORD)
        assert phone.sign_in("analyst_user", "mật-khẩu-mới-2026") is None
        assert phone.evaluate("geoPcmtField.entries.length") == 2
