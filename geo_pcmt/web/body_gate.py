"""Request bodies are read whole, before the app runs, within a deadline; anonymous senders
get few threads for it.

Under gunicorn's threaded worker (``--threads 8``) a request body is read by the thread
serving the request: ten clients sending a POST body a byte at a time held every thread,
and ``/api`` stalled for everyone. Here, before Flask sees a request with a body:

* a sender who is not signed in (no live session cookie, no valid Bearer token) may send
  at most ``ANONYMOUS_MAX_BODY`` bytes (64 KiB: a login form), within
  ``ANONYMOUS_BODY_TIMEOUT_S`` (5 s), and only ``ANONYMOUS_BODY_SLOTS`` (2) such bodies are
  read at once per server process; others get 503 with ``Retry-After`` at once, without a
  byte read;
* a signed-in sender has ``BODY_READ_TIMEOUT_S`` (30 s) plus one second per
  ``BODY_MIN_BYTES_PER_S`` (10 kB) of declared length;
* a body not complete in time is answered 408 and the connection closed.

The deadline holds for the whole body, not per read: under gunicorn a timer shuts the
reading side of the client socket (``environ["gunicorn.socket"]``) when it passes. Other
servers (the development server, tests) check the deadline between reads. Slow *headers* are not
covered: gunicorn reads them in the thread too; a buffering proxy in front (nginx with
``client_header_timeout``/``client_body_timeout``, see docs/api.md) covers both.
"""
from __future__ import annotations

import json
import socket
import tempfile
import threading
import time
from typing import Callable, Iterable

from werkzeug.wrappers import Request

DEFAULTS = {
    "ANONYMOUS_MAX_BODY": 64 * 1024,
    "ANONYMOUS_BODY_TIMEOUT_S": 5.0,
    "ANONYMOUS_BODY_SLOTS": 2,
    "BODY_READ_TIMEOUT_S": 30.0,
    "BODY_MIN_BYTES_PER_S": 10_000,
}
_CHUNK = 64 * 1024


class BodyTimeout(Exception):
    """The body did not arrive within its deadline."""


class BodyGate:
    """WSGI middleware: read the body first, within a deadline (see the module docstring)."""

    def __init__(self, wsgi_app: Callable, flask_app) -> None:
        self.wsgi_app = wsgi_app
        self.flask_app = flask_app
        slots = int(self._setting("ANONYMOUS_BODY_SLOTS"))
        self._anonymous_slots = threading.BoundedSemaphore(slots)

    def _setting(self, name: str):
        return self.flask_app.config.get(name, DEFAULTS[name])

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        length = _declared_length(environ)
        if length == 0:
            return self.wsgi_app(environ, start_response)
        if self._known_sender(environ):
            limit = self.flask_app.config.get("MAX_CONTENT_LENGTH")
            if length is not None and limit and length > limit:
                return self.wsgi_app(environ, start_response)  # Flask refuses it unread
            budget = (float(self._setting("BODY_READ_TIMEOUT_S"))
                      + (length or limit or 0) / float(self._setting("BODY_MIN_BYTES_PER_S")))
            # over the limit (chunked bodies): Flask's own 413 answers
            return self._read_then_run(environ, start_response, length, limit, budget)
        cap = int(self._setting("ANONYMOUS_MAX_BODY"))
        too_large = (start_response, 413, "too_large",
                     f"requests without sign-in may carry at most {cap} bytes")
        if length is not None and length > cap:
            return _answer(*too_large)
        if not self._anonymous_slots.acquire(blocking=False):
            return _answer(start_response, 503, "busy", "too many requests without sign-in "
                           "are sending data; try again shortly", {"Retry-After": "5"})
        try:  # the slot is held while the body arrives, not while the app runs
            body = self._read(environ, length, cap,
                              float(self._setting("ANONYMOUS_BODY_TIMEOUT_S")))
        finally:
            self._anonymous_slots.release()
        if body is None:
            return _timeout(start_response)
        if body[1] > cap:
            return _answer(*too_large)
        return self._run(environ, start_response, body)

    def _read_then_run(self, environ, start_response, length, cap, budget_s):
        body = self._read(environ, length, cap, budget_s)
        if body is None:
            return _timeout(start_response)
        return self._run(environ, start_response, body)

    @staticmethod
    def _read(environ: dict, length: int | None, cap: int | None, budget_s: float):
        try:
            return read_body(environ, length, cap, budget_s)
        except BodyTimeout:
            return None

    def _run(self, environ: dict, start_response: Callable, body: tuple) -> Iterable[bytes]:
        environ["wsgi.input"], size = body
        environ["CONTENT_LENGTH"] = str(size)
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        environ["wsgi.input_terminated"] = True
        return self.wsgi_app(environ, start_response)

    def _known_sender(self, environ: dict) -> bool:
        """A live session cookie or a valid Bearer token (cheap lookups, no password hash)."""
        request = Request(environ, populate_request=False, shallow=True)
        users = self.flask_app.extensions["geo_pcmt_users"]
        header = request.headers.get("Authorization", "")
        if header[:7].lower() == "bearer ":
            return users.token_user(header[7:].strip()) is not None
        cookie = request.cookies.get(self.flask_app.config.get("SESSION_COOKIE_NAME", "session"))
        return bool(cookie) and users.session_user(cookie) is not None


def _declared_length(environ: dict) -> int | None:
    """The Content-Length (0 without a body); None for a chunked body of unknown length."""
    if "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        return None
    try:
        return max(0, int(environ.get("CONTENT_LENGTH") or 0))
    except ValueError:
        return 0


def read_body(environ: dict, length: int | None, cap: int | None, budget_s: float):
    """``(file, size)``: the body read from ``wsgi.input`` into a spooled file within
    ``budget_s`` seconds in all (``BodyTimeout`` if not); at most ``cap + 1`` bytes.

    Under gunicorn a timer shuts the reading side of the client socket at the deadline,
    which ends a read that is waiting, however the server's own reader loops over
    ``recv``; elsewhere the deadline is checked between reads.
    """
    source = environ["wsgi.input"]
    expired = threading.Event()
    sock = environ.get("gunicorn.socket")
    timer = threading.Timer(budget_s, _cut, (sock, expired)) if sock is not None else None
    deadline = time.monotonic() + budget_s
    out = tempfile.SpooledTemporaryFile(max_size=1024 * 1024)
    size, limit = 0, length if length is not None else float("inf")
    if cap is not None:
        limit = min(limit, cap + 1)
    if timer is not None:
        timer.daemon = True
        timer.start()
    try:
        while size < limit:
            if time.monotonic() > deadline:
                raise BodyTimeout()
            try:
                chunk = source.read(int(min(_CHUNK, limit - size)))
            except Exception:
                if expired.is_set():
                    raise BodyTimeout() from None
                raise
            if expired.is_set():
                raise BodyTimeout()
            if not chunk:
                break
            out.write(chunk)
            size += len(chunk)
    except BaseException:
        out.close()
        raise
    finally:
        if timer is not None:
            timer.cancel()
    out.seek(0)
    return out, size


def _cut(sock: socket.socket, expired: threading.Event) -> None:
    expired.set()
    try:
        sock.shutdown(socket.SHUT_RD)
    except OSError:
        pass


def _timeout(start_response) -> list[bytes]:
    return _answer(start_response, 408, "request_timeout",
                   "the request body did not arrive in time; send it again",
                   {"Connection": "close"})


def _answer(start_response, status: int, code: str, description: str,
            headers: dict | None = None) -> list[bytes]:
    reasons = {408: "Request Timeout", 413: "Payload Too Large", 503: "Service Unavailable"}
    body = json.dumps({"code": code, "description": description, "status": status,
                       "error": code}).encode()
    start_response(f"{status} {reasons[status]}",
                   [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                    *(headers or {}).items()])
    return [body]
