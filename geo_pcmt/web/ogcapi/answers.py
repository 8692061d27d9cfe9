"""Serialised answers kept per role, URL and data version, so a repeated read is not redone.

Keys hold the role, the full URL and the store's data version of the layers an answer is
made from, so an entry is used only by callers of the same role asking the same thing of
the same data; a write (in any worker) moves the version and old entries age out unused.
"""
from __future__ import annotations

import hashlib
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cached_property
from typing import Callable

from flask import current_app, g, request

from geo_pcmt.web.context import get_store
from geo_pcmt.web.auth import current_role, current_unit
from geo_pcmt.web.openapi import Collection

# Layers whose content changes without the data version moving (audit appends): never cached.
_UNVERSIONED = frozenset({"audit_log"})
# Stands for ``timeStamp`` in a cached page, replaced by the time of each answer; random per
# process so that no stored value can imitate it.
STAMP = ("@ts-" + secrets.token_hex(12)).encode()


@dataclass(frozen=True)
class CachedAnswer:
    """A serialised JSON answer and what serving it again must record."""

    body: bytes
    mimetype: str
    audit_ids: list[str] | None = None  # None: not a restricted read
    returned: int = 0
    version: str | None = None  # one feature's row version: its ETag (see ogcapi.edits)

    @property
    def size(self) -> int:
        return len(self.body) + sum(len(i) + 8 for i in self.audit_ids or ()) + 200

    @cached_property
    def etag(self) -> str:
        """A strong validator of the body (hashed once per cached answer)."""
        return hashlib.blake2b(self.body, digest_size=12).hexdigest()


class AnswerCache:
    """Serialised answers, least recently used dropped first, at most ``max_bytes`` in all.

    Keys hold the role, the full URL and the store's data version, so an entry is used
    only by callers of the same role asking the same thing of the same data; a write
    (in any worker) moves the version and the old entries age out unused.
    """

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple, CachedAnswer] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._building: dict[tuple, threading.Event] = {}

    def get(self, key: tuple) -> CachedAnswer | None:
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None:
                self._entries.move_to_end(key)
            return hit

    def get_or_claim(self, key: tuple, wait_s: float = 30.0) -> tuple[CachedAnswer | None, bool]:
        """``(answer, False)`` when kept; else ``(None, True)``: the caller builds it and
        must :meth:`put` or :meth:`release` the key. While one caller builds, others asking
        for the same key wait for its answer instead of building it again (after a write,
        every thread asking for the same page used to read and serialise it at once)."""
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None:
                self._entries.move_to_end(key)
                return hit, False
            building = self._building.get(key)
            if building is None:
                self._building[key] = threading.Event()
                return None, True
        building.wait(wait_s)
        return self.get(key), False  # None if the builder failed: build, unshared

    def release(self, key: tuple) -> None:
        """End a claim (after :meth:`put`, or when building failed); idempotent."""
        with self._lock:
            building = self._building.pop(key, None)
        if building is not None:
            building.set()

    def put(self, key: tuple, answer: CachedAnswer) -> None:
        try:
            self._put(key, answer)
        finally:
            self.release(key)

    def _put(self, key: tuple, answer: CachedAnswer) -> None:
        size = answer.size
        if size > self.max_bytes // 4:  # one huge page would flush everything else
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old.size
            self._entries[key] = answer
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, dropped = self._entries.popitem(last=False)
                self._bytes -= dropped.size

    def __len__(self) -> int:
        return len(self._entries)



def data_version(store, layer: str | None = None) -> int | None:
    """The store's data version of ``layer``, read once per request (a request keys its
    answers and counts with one set of versions; PostGIS pays a round trip per read)."""
    versions = getattr(store, "data_versions", None)
    if versions is None:
        return None
    if "data_versions" not in g:
        g.data_versions = versions()  # all of them, in one query
    return g.data_versions.get(layer, 0)



def answer_cache() -> AnswerCache | None:
    """This app's cache (``API_ANSWER_CACHE_BYTES``, default 64 MB per process; 0: off)."""
    max_bytes = int(current_app.config.get("API_ANSWER_CACHE_BYTES", 64 * 2**20))
    if max_bytes <= 0:
        return None
    cache = current_app.extensions.get("geo_pcmt_answer_cache")
    if cache is None:  # setdefault: threads racing here end up sharing one
        cache = current_app.extensions.setdefault("geo_pcmt_answer_cache",
                                                  AnswerCache(max_bytes))
    return cache


def cache_key(kind: str | tuple, c: Collection | None = None,
               layers: tuple[str, ...] = ()) -> tuple | None:
    """The key of this request's JSON answer, or None when it must not be cached.

    ``layers``: the stored layers the answer is made from (none: any layer, the store's
    own version). Called after the caller is authenticated and authorised, and before
    the store is read: the version is taken first, so an entry is never older than it.
    """
    if (c is not None and c.id in _UNVERSIONED) or answer_cache() is None:
        return None
    store = get_store()
    versions = tuple(data_version(store, name) for name in layers or (None,))
    if None in versions:
        return None
    # the unit too: two commanders of one role see different patrol plans
    return (kind, current_role(), current_unit(), request.url, versions)


def stamped(body: bytes) -> bytes:
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    return body.replace(STAMP, now, 1)



def lookup(key: tuple | None) -> CachedAnswer | None:
    """The kept answer for ``key``; None when the caller is to build it (and keep it with
    :func:`keep`; a claim left open by an error is released when the request ends)."""
    if key is None:
        return None
    hit, claimed = answer_cache().get_or_claim(key)
    if claimed:
        g.setdefault("answer_claims", []).append(key)
    return hit


def keep(key: tuple | None, answer: CachedAnswer) -> None:
    if key is not None:
        answer_cache().put(key, answer)


def release_claims(_exc=None) -> None:
    claims = g.pop("answer_claims", None)
    if claims:
        cache = answer_cache()
        for key in claims:
            cache.release(key)


def remembered(kind: str, layers: tuple[str, ...],
               build: Callable[[], CachedAnswer]) -> CachedAnswer:
    """The answer to this request (same role, same URL) built from ``layers`` as it was
    last built, or ``build()`` kept for the next caller while those layers do not change.

    For answers that need no audit (published layers, pages made from aggregates): a
    restricted read goes through the items route, which re-audits every hit.
    """
    key = cache_key(kind, None, layers)
    hit = lookup(key)
    if hit is None:
        hit = build()
        keep(key, hit)
    return hit
