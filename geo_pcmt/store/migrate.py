"""Copy every layer from one store to another (GeoPackage → PostGIS and back), checked.

``migrate(source, target)`` copies each stored layer in chunks through the ordinary
``Store.write`` (so the target validates every row and audits the copy) and then checks
that the target holds exactly the source's ids and row count for every layer. The audit
log is copied record by record with its original times and users. A layer that already
holds rows in the target is refused unless ``replace=True``.
"""
from __future__ import annotations

import inspect
import json
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

from geo_pcmt.layers import LAYERS
from geo_pcmt.store.base import Store, StoreError


@dataclass
class LayerCopy:
    """What happened to one layer."""

    layer: str
    source_count: int
    target_count: int
    ids_match: bool
    seconds: float
    timestamps_kept: bool = True

    @property
    def ok(self) -> bool:
        return self.ids_match and self.source_count == self.target_count


@dataclass
class MigrationReport:
    """The whole copy: one :class:`LayerCopy` per layer."""

    source: str
    target: str
    layers: list[LayerCopy] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(l.ok for l in self.layers)

    def as_dict(self) -> dict:
        return {"source": self.source, "target": self.target, "ok": self.ok,
                "layers": [dict(l.__dict__, ok=l.ok) for l in self.layers]}


def _where(store: Store) -> str:
    return str(getattr(store, "path", store))


def _ids(store: Store, layer: str) -> list[str]:
    return sorted(store.read(layer, columns=["id"])["id"].astype(str))


def _append_audit(target: Store, records) -> None:
    """Copy audit records keeping id, time and user (``Store.write`` refuses the log)."""
    if hasattr(target, "import_audit"):
        target.import_audit(records)
        return
    from geo_pcmt.store.gpkg import GeoPackageStore
    if not isinstance(target, GeoPackageStore):
        raise StoreError(f"cannot copy the audit log into {target!r}")
    from geo_pcmt.store import frames
    from geo_pcmt.layers import get_layer
    spec = get_layer("audit_log")
    cols, values = frames.rows(spec, records)
    target.init(["audit_log"])
    names = ", ".join(f'"{c}"' for c in cols)
    with target._transaction() as conn:
        conn.executemany(f"INSERT INTO audit_log ({names}) VALUES "
                         f"({','.join('?' * len(cols))}) ON CONFLICT(id) DO NOTHING", values)


def migrate(source: Store, target: Store, *, layers: Sequence[str] | None = None,
            replace: bool = False, chunk_rows: int = 50_000, user: str = "migrate",
            progress: Callable[[str, int, int], None] | None = None) -> MigrationReport:
    """Copy layers from ``source`` to ``target`` and check the copy.

    Parameters
    ----------
    source, target : Store
        Any two stores (``open_store`` of a ``.gpkg`` path or a ``postgresql://`` URL).
    layers : list of str, optional
        Only these layers (default: every layer stored in ``source``, audit log included).
    replace : bool
        Overwrite layers that already hold rows in the target (default: refuse).
    chunk_rows : int
        Rows per write; each chunk is one transaction in the target.
    user : str
        Recorded in the target's audit log for every chunk written.
    progress : callable, optional
        Called as ``progress(layer, rows_done, rows_total)`` after each chunk.

    Returns
    -------
    MigrationReport
        Per layer: source and target counts, whether the ids match, time taken.

    Raises
    ------
    StoreError
        A target layer holds rows (without ``replace``) or the target refused a chunk;
        layers copied before the failure stay copied (rerun with ``replace=True``).

    Examples
    --------
    >>> from geo_pcmt.store import open_store
    >>> report = migrate(open_store("var/geo_pcmt.gpkg"),
    ...                  open_store("postgresql://pcmt@db/pcmt"))  # doctest: +SKIP
    >>> report.ok  # doctest: +SKIP
    True
    """
    if chunk_rows < 1:
        raise StoreError("chunk_rows must be ≥ 1")
    stored = {l.name: l.count for l in source.layers()}
    if not stored:
        raise StoreError(f"source {_where(source)} holds no layers (wrong path or URL?)")
    names = list(layers) if layers else [n for n in LAYERS if n in stored]
    for n in names:
        if n not in LAYERS:
            raise StoreError(f"unknown layer {n!r}")
    target.init()
    if not replace:
        busy = [f"{n} ({target.count(n)} rows)" for n in names
                if n != "audit_log" and target.count(n)]
        if busy:
            raise StoreError(f"target {_where(target)} already holds rows in "
                             f"{', '.join(busy)}; use replace to overwrite them")
    report = MigrationReport(_where(source), _where(target))
    for name in [n for n in names if n != "audit_log"]:
        report.layers.append(_copy_layer(source, target, name, replace=replace,
                                         chunk_rows=chunk_rows, user=user, progress=progress))
    if "audit_log" in names:
        t0 = time.perf_counter()
        log = source.read("audit_log")
        _append_audit(target, log)
        src_ids = set(log["id"].astype(str))
        have = set(_ids(target, "audit_log"))
        report.layers.append(LayerCopy("audit_log", len(src_ids),
                                       len(src_ids & have), src_ids <= have,
                                       time.perf_counter() - t0))
        target.audit(user, "migrate", None, [], {
            "from": _where(source), "layers": {l.layer: l.target_count for l in report.layers},
            "ok": report.ok})
    return report


def _copy_layer(source: Store, target: Store, name: str, *, replace: bool, chunk_rows: int,
                user: str, progress: Callable[[str, int, int], None] | None) -> LayerCopy:
    """Copy one layer in chunks of ``chunk_rows`` (one transaction each) and check it."""
    keep_ts = "keep_timestamps" in inspect.signature(target.write).parameters
    kwargs = {"keep_timestamps": True} if keep_ts else {}
    t0 = time.perf_counter()
    total = source.count(name)
    done = 0
    first = True
    while True:
        chunk = source.read(name, limit=chunk_rows, offset=done)
        if len(chunk) == 0 and not (first and replace):
            break  # an empty source layer only clears the target when replacing
        target.write(name, chunk, mode="replace" if first and replace else "append",
                     user=user, **kwargs)
        first = False
        done += len(chunk)
        if progress:
            progress(name, done, total)
        if len(chunk) < chunk_rows:
            break
    return LayerCopy(name, total, target.count(name), _ids(source, name) == _ids(target, name),
                     time.perf_counter() - t0,
                     timestamps_kept=keep_ts or "updated_at" not in LAYERS[name].field_names)


def summary_lines(report: MigrationReport) -> list[str]:
    """One line per layer for people, e.g. ``cases  14297 → 14297  ok  0.8 s``."""
    out = []
    for l in report.layers:
        flag = "ok" if l.ok else "MISMATCH"
        note = "" if l.timestamps_kept else "  (updated_at re-stamped by the target)"
        out.append(f"{l.layer:22s} {l.source_count:9d} → {l.target_count:9d}  {flag:8s} "
                   f"{l.seconds:6.1f} s{note}")
    return out


def as_json(report: MigrationReport) -> str:
    return json.dumps(report.as_dict(), ensure_ascii=False, indent=1)
