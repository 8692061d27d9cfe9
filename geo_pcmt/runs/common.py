"""What every run shares: the role-scoped input read, run ids, params JSON, confidentiality.

A run has three steps: ``read_inputs(store, params, role)`` reads every record layer through
:func:`geo_pcmt.access.read` (rows and fields the role may see), a pure ``run(frames,
params)`` computes, and ``write(store, result, user=...)`` stores the derived rows. Derived
rows carry the highest confidentiality of the input rows they were computed from
(:func:`highest_confidentiality`), so a run made for ``analyst`` can never be shaped by a
``secret`` record, and a run made for ``admin`` that read one is ``secret`` itself.
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Mapping

import pandas as pd

from geo_pcmt import access
from geo_pcmt.layers import CONFIDENTIALITY_LEVELS, get_layer

DEFAULT_ROLE = "analyst"  # runs that write stored layers: secret records never shape them


def check_role(role: str) -> str:
    """``role`` if it is one of :data:`geo_pcmt.access.ROLES`; ``ValueError`` otherwise."""
    access.role_rank(role)
    return role


def read(store, layer: str, role: str, **kwargs) -> pd.DataFrame:
    """``layer`` as ``role`` may see it (:func:`geo_pcmt.access.read`)."""
    return access.read(store, layer, role=role, **kwargs)


def has_rows(store, layer: str) -> bool:
    """Whether ``store`` holds any row of ``layer`` (a missing table holds none)."""
    try:
        return store.count(layer) > 0
    except Exception:  # noqa: BLE001 — a store without the table simply has no rows
        return False


def read_or(store, layer: str, role: str, fallback: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """``layer`` from ``store`` (as ``role``) when it has rows, else ``fallback()``.

    Used for the reference layers the package ships (communes, border line, gates).
    """
    return read(store, layer, role) if has_rows(store, layer) else fallback()


def highest_confidentiality(frames: Iterable[pd.DataFrame | None], floor: str = "public") -> str:
    """The highest ``confidentiality`` of any row of ``frames`` (at least ``floor``).

    Frames without the column (shipped boundaries) count as public; a missing value counts
    as ``restricted``, as :func:`geo_pcmt.access.redact` reads it.

    Examples
    --------
    >>> a = pd.DataFrame({"confidentiality": ["public", "restricted"]})
    >>> highest_confidentiality([a, None]), highest_confidentiality([], "restricted")
    ('restricted', 'restricted')
    """
    top = CONFIDENTIALITY_LEVELS.index(floor)
    for frame in frames:
        if frame is None or not len(frame) or "confidentiality" not in frame.columns:
            continue
        levels = frame["confidentiality"].fillna("restricted").astype(str)
        ranks = [CONFIDENTIALITY_LEVELS.index(v) for v in levels.unique()
                 if v in CONFIDENTIALITY_LEVELS]
        top = max([top, *ranks])
    return CONFIDENTIALITY_LEVELS[top]


def layer_confidentiality(layer: str, frames: Iterable[pd.DataFrame | None]) -> str:
    """Confidentiality of derived rows of ``layer``: its default, raised by the inputs."""
    return highest_confidentiality(frames, get_layer(layer).confidentiality_default)


def params_json(params: Mapping[str, Any]) -> str:
    """The JSON every derived row stores in ``params`` (sorted keys, readable Vietnamese)."""
    return json.dumps(params, ensure_ascii=False, sort_keys=True, default=str)


def now_utc() -> str:
    """Now, UTC, to the second: ``2025-03-01T10:00:00Z``."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_run_id(prefix: str, params_text: str, created_at: str) -> str:
    """``<prefix>-<UTC timestamp>-<8 hex of the params>``: same params, same tail."""
    digest = hashlib.sha1(params_text.encode()).hexdigest()[:8]
    return f"{prefix}-{created_at.replace('-', '').replace(':', '')}-{digest}"


def check_and_write(store, frames: Mapping[str, pd.DataFrame], *, mode: str, user: str) -> list:
    """Write each ``layer → frame``; every frame is checked before any is written."""
    from geo_pcmt.store import frames as store_frames
    for layer, frame in frames.items():
        spec = get_layer(layer)
        store_frames.check_frame(spec, frame)
        store_frames.rows(spec, frame)  # raises on a bad value, naming row and field
    return [store.write(layer, frame, mode=mode, user=user) for layer, frame in frames.items()]


__all__ = ["DEFAULT_ROLE", "check_and_write", "check_role", "has_rows",
           "highest_confidentiality", "layer_confidentiality", "new_run_id", "now_utc",
           "params_json", "read", "read_or"]
