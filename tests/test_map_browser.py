"""The map page in a real browser (headless Chromium) with the network blocked.

Chromium is driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``), so no
extra Python package is needed. Every request must stay on 127.0.0.1: DNS resolves nothing
(``--host-resolver-rules``) and any proxy use goes to a closed port. The test fails on any failed
request or console error, checks the layer control and a popup, and saves screenshots to
``maps/screenshots/``. It is skipped, loudly, only when Chromium is not installed.
"""
from __future__ import annotations

import base64
import fcntl
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from geo_pcmt.ingest import boundaries
from geo_pcmt.outputs import map as mapping
from geo_pcmt.runs.seed import read_sample

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
SCREENSHOTS = REPO / "maps" / "screenshots"
CHROMIUM = next((p for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser",
                             shutil.which("chromium") or "", shutil.which("google-chrome") or "")
                 if p and os.path.exists(p)), None)

OFFLINE_FLAGS = (
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--proxy-server=127.0.0.1:9",
    "--proxy-bypass-list=127.0.0.1",
)


class Chromium:
    """Headless Chromium over the DevTools protocol on a pipe; a page, its events, screenshots.

    Examples
    --------
    >>> with Chromium() as b:                                    # doctest: +SKIP
    ...     b.open("http://127.0.0.1:5000/map")
    ...     b.evaluate("document.title")
    """

    def __init__(self, width: int = 1400, height: int = 900, *, offline: bool = True):
        if CHROMIUM is None:
            raise RuntimeError("chromium is not installed (apt-get install chromium)")
        self.width, self.height, self.offline = width, height, offline
        self.events: list[dict] = []
        self._results: dict[int, dict] = {}
        self._cond = threading.Condition()
        self._next_id = 0
        self.session: str | None = None

    # -- process and pipe
    def __enter__(self) -> "Chromium":
        self._profile = tempfile.mkdtemp(prefix="gp-chromium-")
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        # move the child's ends above 10 so dup2 onto 3 and 4 cannot clobber one another
        a = fcntl.fcntl(to_child_r, fcntl.F_DUPFD, 10)
        b = fcntl.fcntl(from_child_w, fcntl.F_DUPFD, 10)
        os.close(to_child_r)
        os.close(from_child_w)

        def child_fds():
            os.dup2(a, 3)
            os.dup2(b, 4)
        args = [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking", "--disable-component-update",
                "--disable-default-apps", "--disable-extensions", "--disable-sync",
                "--no-first-run", "--no-default-browser-check", "--mute-audio",
                "--disable-dev-shm-usage", "--hide-scrollbars", "--remote-debugging-pipe",
                f"--user-data-dir={self._profile}", f"--window-size={self.width},{self.height}"]
        if self.offline:
            args += list(OFFLINE_FLAGS)
        self.proc = subprocess.Popen(args + ["about:blank"], pass_fds=(3, 4), preexec_fn=child_fds,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(a)
        os.close(b)
        self._w = os.fdopen(to_child_w, "wb", buffering=0)
        self._r = os.fdopen(from_child_r, "rb", buffering=0)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        target = self.send("Target.createTarget", {"url": "about:blank"}, session=False)
        self.session = self.send("Target.attachToTarget", {"targetId": target["targetId"],
                                                           "flatten": True}, session=False)["sessionId"]
        for domain in ("Page", "Runtime", "Network", "Log"):
            self.send(f"{domain}.enable")
        self.send("Emulation.setDeviceMetricsOverride", {"width": self.width, "height": self.height,
                                                         "deviceScaleFactor": 1, "mobile": False})
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.send("Browser.close", session=False, timeout_s=5)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for f in (self._w, self._r):
            try:
                f.close()
            except OSError:
                pass
        shutil.rmtree(self._profile, ignore_errors=True)

    def _read(self) -> None:
        buf = b""
        while True:
            try:
                chunk = self._r.read(1 << 16)
            except (OSError, ValueError):
                chunk = b""
            if not chunk:
                with self._cond:
                    self._cond.notify_all()
                return
            buf += chunk
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                msg = json.loads(raw)
                with self._cond:
                    if "id" in msg:
                        self._results[msg["id"]] = msg
                    else:
                        self.events.append(msg)
                    self._cond.notify_all()

    def send(self, method: str, params: dict | None = None, *, session: bool = True,
             timeout_s: float = 60) -> dict:
        with self._cond:
            self._next_id += 1
            msg_id = self._next_id
        msg = {"id": msg_id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        self._w.write(json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while msg_id not in self._results:
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    raise TimeoutError(f"no answer to {method} within {timeout_s} s")
                self._cond.wait(left)
            res = self._results.pop(msg_id)
        if "error" in res:
            raise RuntimeError(f"{method}: {res['error']}")
        return res.get("result", {})

    # -- page
    def open(self, url: str, *, ready_js: str = "document.documentElement.dataset.gpReady === '1'",
             timeout_s: float = 60) -> float:
        """Navigate and wait until ``ready_js`` is true; seconds from navigation to ready."""
        self.events.clear()
        start = time.perf_counter()
        self.send("Page.navigate", {"url": url})
        self.wait_for(ready_js, timeout_s=timeout_s)
        return time.perf_counter() - start

    def wait_for(self, js: str, *, timeout_s: float = 30) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.evaluate(f"(() => {{ try {{ return !!({js}); }} catch (e) {{ return false; }} }})()"):
                return
            time.sleep(0.05)
        raise TimeoutError(f"page never satisfied {js!r}; console: {self.console_errors()}")

    def evaluate(self, js: str):
        res = self.send("Runtime.evaluate", {"expression": js, "returnByValue": True,
                                             "awaitPromise": True})
        if "exceptionDetails" in res:
            raise RuntimeError(f"{js!r} threw: {res['exceptionDetails']}")
        return res["result"].get("value")

    def screenshot(self, path: Path) -> Path:
        data = self.send("Page.captureScreenshot", {"format": "png"})["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def click(self, x: float, y: float) -> None:
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y,
                                                   "button": "left", "clickCount": 1})

    # -- what happened
    def requests(self) -> list[str]:
        return [e["params"]["request"]["url"] for e in self.events
                if e.get("method") == "Network.requestWillBeSent"]

    def failed_requests(self) -> list[str]:
        ids = {e["params"]["requestId"]: e["params"]["request"]["url"] for e in self.events
               if e.get("method") == "Network.requestWillBeSent"}
        failed = [f"{ids.get(e['params']['requestId'], '?')}: {e['params'].get('errorText')}"
                  for e in self.events if e.get("method") == "Network.loadingFailed"]
        failed += [f"{e['params']['response']['url']}: HTTP {e['params']['response']['status']}"
                   for e in self.events if e.get("method") == "Network.responseReceived"
                   and e["params"]["response"]["status"] >= 400]
        return failed

    def console_errors(self) -> list[str]:
        out = []
        for e in self.events:
            m, p = e.get("method"), e.get("params", {})
            if m == "Runtime.exceptionThrown":
                d = p["exceptionDetails"]
                out.append(f"{d.get('exception', {}).get('description') or d.get('text')} "
                           f"at {d.get('url', '')}:{d.get('lineNumber')}:{d.get('columnNumber')}")
            elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append(" ".join(str(a.get("value", a.get("description"))) for a in p["args"]))
            elif m == "Log.entryAdded" and p["entry"]["level"] == "error":
                out.append(f"{p['entry'].get('url', '')}: {p['entry']['text']}")
        return out


def serve(app):
    """Run a Flask app on 127.0.0.1 on a free port in a thread; returns (base URL, server)."""
    from werkzeug.serving import make_server
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", server


# ---------------------------------------------------------------- fixtures

needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="!!! CHROMIUM NOT INSTALLED: the offline map was NOT tested in a browser "
           "(apt-get install chromium) !!!")

HOSTILE = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'


@pytest.fixture(scope="module")
def map_frames():
    frames = read_sample()
    frames.update(communes=boundaries.communes(), province=boundaries.province(),
                  border_line=boundaries.border_line(), lao_provinces=boundaries.lao_provinces())
    pts = frames.get("retail_points")
    if pts is None or not len(pts):
        from tests.conftest import retail_frame
        pts = retail_frame(50)
    pts = pts.copy()
    # a point whose name and address are hostile markup, alone far from the others so that it
    # is not clustered: its popup must show the text, and run nothing
    hostile = pts.iloc[[0]].copy()
    hostile["id"], hostile["name"], hostile["address"] = "RP-HOSTILE", HOSTILE, HOSTILE
    hostile["status"], hostile["cleared_on"] = "active", None
    hostile = hostile.set_geometry(gpd.GeoSeries([shapely.Point(105.2, 19.95)], crs=4326,
                                                 index=hostile.index))
    frames["retail_points"] = gpd.GeoDataFrame(
        gpd.pd.concat([pts, hostile], ignore_index=True), geometry="geometry", crs=4326)
    # a complex-hotspot flag, as the hotspot engineer's flags.py writes them
    frames["complex_hotspots"] = gpd.GeoDataFrame({
        "id": ["FL-1"], "run_id": ["r1"], "area_kind": ["cluster"], "name": ["Mường Xén"],
        "score": [0.9], "level": ["cao"], "commune_code": ["16813"],
        "reasons_vi": ["5 điểm bán lẻ đang hoạt động trong 600 m | cách cửa khẩu Nậm Cắn 2,1 km"],
        "reasons_en": ["5 active retail points within 600 m\n2.1 km from Nậm Cắn gate"],
        "confidentiality": ["restricted"],
    }, geometry=[shapely.Point(104.13, 19.41).buffer(0.01)], crs=4326)
    return frames


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("!!! CHROMIUM NOT INSTALLED: browser test skipped !!!")
    with Chromium() as b:
        yield b


# ---------------------------------------------------------------- tests

@needs_chromium
def test_map_page_opens_offline_with_layers_popups_and_no_errors(map_frames, browser, tmp_path):
    from flask import Flask

    from geo_pcmt.outputs.map.vendor import VENDOR_DIR
    m = mapping.build(map_frames, role="analyst")
    page = mapping.render_html(m)
    app = Flask(__name__, static_folder=str(VENDOR_DIR.parent), static_url_path="/static")
    app.add_url_rule("/map", "map", lambda: page)
    base, server = serve(app)
    try:
        browser.open(f"{base}/map")
        layer_names = browser.evaluate(
            "Array.from(document.querySelectorAll('.leaflet-control-layers-overlays label'))"
            ".map(l => l.textContent.trim())")
        for name in ("Phân loại xã, phường", "Đường biên giới Việt – Lào", "Tỉnh Lào giáp ranh",
                     "Điểm, tụ điểm ma túy", "Nương thuốc phiện", "Cửa khẩu, lối mở, đường mòn",
                     "Đồn biên phòng", "Địa bàn phức tạp (cảnh báo)", "Bản đồ nhiệt vụ án, điểm",
                     "Tiến độ chuyển hóa dọc biên giới"):
            assert name in layer_names
        assert browser.evaluate("document.querySelectorAll('.gp-panel .gp-big').length") == 1
        panel = browser.evaluate("document.querySelector('.gp-panel').innerText")
        assert re.search(r"Lập ngày \d\d/\d\d/20\d\d", panel), panel[:300]  # a day as written
        browser.screenshot(SCREENSHOTS / "map_overview.png")

        # the hostile point: zoom to it and click its marker
        browser.evaluate("geoPcmtMap.map.setView([19.95, 105.2], 15, {animate: false}); true")
        centre_marker = (
            "(() => { const r = Array.from(document.querySelectorAll('.leaflet-marker-icon.gp-pt'))"
            ".map(e => e.getBoundingClientRect())"
            ".find(r => Math.abs(r.x + r.width / 2 - innerWidth / 2) < 30 && Math.abs(r.y + r.height / 2 - innerHeight / 2) < 30);"
            " return r ? [r.x + r.width / 2, r.y + r.height / 2] : null; })()")
        browser.wait_for(centre_marker, timeout_s=10)
        box = browser.evaluate(centre_marker)
        browser.click(*box)
        browser.wait_for("document.querySelector('.leaflet-popup-content .gp-popup')")
        text = browser.evaluate("document.querySelector('.leaflet-popup-content').innerText")
        assert "<script>window.__pwned=1</script>" in text and 'onerror="window.__pwned=2"' in text
        assert browser.evaluate("document.querySelectorAll('.leaflet-popup-content img, "
                                ".leaflet-popup-content script').length") == 0
        assert browser.evaluate("window.__pwned === undefined")
        assert "Địa chỉ" in text  # Vietnamese labels by default
        time.sleep(0.4)  # let the popup finish fading in before the picture
        browser.screenshot(SCREENSHOTS / "map_popup_escaped.png")

        # English via the switch, and the flag's reasons as a list
        browser.evaluate("geoPcmtMap.setLang('en'); geoPcmtMap.map.setView([19.41, 104.13], 13, {animate:false}); true")
        assert "Commune status" in browser.evaluate(
            "document.querySelector('.leaflet-control-layers-overlays').innerText")
        browser.evaluate("(() => { let done = false; geoPcmtMap.groups.complex_hotspots.eachLayer(l => {"
                         " if (!done && l.openPopup && l.getLatLng) { l.openPopup(); done = true; } }); return done; })()")
        browser.wait_for("document.querySelector('.gp-reasons')")
        reasons = browser.evaluate("Array.from(document.querySelectorAll('.gp-reasons li')).map(l => l.textContent)")
        assert reasons == ["5 active retail points within 600 m", "2.1 km from Nậm Cắn gate"]

        # the time slider moves to a month and the URL remembers it
        browser.evaluate("geoPcmtMap.map.closePopup(); geoPcmtMap.setLang('vi'); "
                         "geoPcmtMap.map.fitBounds([[18.5, 103.9], [20.0, 105.8]], {animate: false});"
                         " geoPcmtMap.setStep(17); true")
        assert "month=" in browser.evaluate("location.search")
        time.sleep(1.0)  # clusters are rebuilt in chunks
        browser.screenshot(SCREENSHOTS / "map_time_slider.png")

        assert browser.failed_requests() == []
        assert browser.console_errors() == []
        outside = [u for u in browser.requests() if not u.startswith((base, "data:", "blob:"))]
        assert outside == []
    finally:
        server.shutdown()


@needs_chromium
def test_standalone_file_opens_from_disk_with_no_network(map_frames, browser, tmp_path):
    m = mapping.build(map_frames, role="analyst",
                      options=mapping.MapOptions(layers=("communes", "border_line", "progress",
                                                         "border_posts", "border_crossings",
                                                         "lao_provinces", "distance_bands")))
    path = mapping.save(m, tmp_path / "usb" / "hotspots.html", standalone=True,
                        base_url="/static/vendor")
    assert not (tmp_path / "usb" / "vendor").exists()
    browser.open(path.as_uri() + "?lang=en")
    assert browser.evaluate("document.documentElement.lang") == "en"
    # Font Awesome came inline: the icon font is usable without any file beside the page
    assert browser.evaluate("document.fonts.load('900 16px \"Font Awesome 6 Free\"')"
                            ".then(f => f.length > 0)")
    browser.screenshot(SCREENSHOTS / "map_progress_standalone.png")
    assert browser.failed_requests() == []
    assert browser.console_errors() == []
    assert [u for u in browser.requests() if not u.startswith(("file:", "data:", "blob:"))] == []


@needs_chromium
def test_viewer_page_has_counts_but_no_points_and_prints_a4(map_frames, browser, tmp_path):
    m = mapping.build(map_frames, role="viewer", options=mapping.MapOptions(print_view=True))
    path = mapping.save(m, tmp_path / "viewer.html", standalone=True, base_url="/static/vendor")
    browser.open(path.as_uri())
    assert browser.evaluate("document.querySelectorAll('.gp-pt').length") == 0
    assert browser.evaluate("geoPcmtMap.groups.retail_points === undefined")
    assert browser.evaluate("geoPcmtMap.groups.commune_counts !== undefined")
    browser.screenshot(SCREENSHOTS / "map_viewer_print.png")
    pdf = browser.send("Page.printToPDF", {"landscape": True, "paperWidth": 11.69,
                                           "paperHeight": 8.27, "printBackground": True})
    (SCREENSHOTS / "map_viewer_print.pdf").write_bytes(base64.b64decode(pdf["data"]))
    assert browser.console_errors() == []
    assert browser.failed_requests() == []
