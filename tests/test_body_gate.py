"""Slow or large request bodies from anonymous senders cannot hold the server's threads."""
from __future__ import annotations

import threading
import time

import pytest

from tests.conftest import bearer


class Trickle:
    """A request body arriving a byte every ``every_s`` seconds."""

    def __init__(self, size: int, every_s: float):
        self.size, self.left, self.every_s = size, size, every_s
        self._pos = 0

    def tell(self) -> int:  # the test client measures the body with seek/tell
        return self._pos

    def seek(self, offset: int, whence: int = 0) -> int:
        self._pos = self.size if whence == 2 else offset
        return self._pos

    def read(self, n: int = -1) -> bytes:
        if self.left <= 0:
            return b""
        time.sleep(self.every_s)
        self.left -= 1
        return b"x"


@pytest.fixture
def app_config():
    return {"ANONYMOUS_BODY_TIMEOUT_S": 0.5}


def slow_post(app, size=200, every_s=0.05, headers=None):
    return app.test_client().post("/login", input_stream=Trickle(size, every_s),
                                  content_length=size, headers=headers or {},
                                  content_type="application/x-www-form-urlencoded")


@pytest.mark.slow  # over ~0.5 s: out of the quick loop
def test_an_anonymous_body_that_arrives_too_slowly_is_answered_408(app):
    started = time.monotonic()
    res = slow_post(app)
    assert res.status_code == 408 and res.get_json()["code"] == "request_timeout"
    assert time.monotonic() - started < 2


def test_an_anonymous_body_over_64_kib_is_refused_unread(app):
    res = app.test_client().post("/login", data={"username": "x" * 70_000, "password": "p"})
    assert res.status_code == 413 and res.get_json()["code"] == "too_large"


@pytest.mark.slow  # over ~0.5 s: out of the quick loop
def test_slow_anonymous_senders_get_two_threads_and_api_users_keep_being_served(app):
    results: list[int] = []
    slow = [threading.Thread(target=lambda: results.append(slow_post(app).status_code))
            for _ in range(2)]
    for t in slow:
        t.start()
    time.sleep(0.15)  # both are now trickling
    started = time.monotonic()
    third = slow_post(app)
    assert third.status_code == 503 and third.headers["Retry-After"]
    assert time.monotonic() - started < 0.3  # refused at once, not after reading
    api = app.test_client().get("/api/collections", headers=bearer(app, "analyst"))
    assert api.status_code == 200
    for t in slow:
        t.join()
    assert results == [408, 408]
    # the slots are free again
    assert app.test_client().post("/login", data={"username": "a", "password": "b"}
                                  ).status_code in (400, 401)


def test_signed_in_senders_may_send_large_bodies(app):
    rows = "".join(f"B-{i},diem_ban_le,active,2024-02-01,Điểm {i},104.12,19.36\n"
                   for i in range(2000))
    text = "id,type,status,first_seen,name,lon,lat\n" + rows
    assert len(text.encode()) > 64 * 1024
    import io
    res = app.test_client().post(
        "/data/upload", headers=bearer(app, "admin"), content_type="multipart/form-data",
        data={"layer": "retail_points", "file": (io.BytesIO(text.encode()), "big.csv")})
    assert res.status_code == 201, res.get_json()


@pytest.mark.slow  # over ~0.5 s: out of the quick loop
def test_a_forged_bearer_header_counts_as_anonymous(app):
    res = slow_post(app, headers={"Authorization": "Bearer gpt_forged"})
    assert res.status_code == 408
