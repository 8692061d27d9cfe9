"""Read, validate and store a file: nothing is stored unless it is clean (or the user keeps
the valid rows). Split in two halves so the CPU-heavy check can run in a helper process
(:mod:`geo_pcmt.ingest.pool`)."""
from __future__ import annotations

from pathlib import Path

from geo_pcmt import access
from geo_pcmt.ingest.reading import DEFAULT_MAX_BYTES, read_any
from geo_pcmt.ingest.report import ValidationReport
from geo_pcmt.ingest.validation import id_prefix, next_id_number, validate
from geo_pcmt.layers import LAYERS


def uploadable_layers(role: str | None = None) -> list[str]:
    """Layers officers' files may go into: records and tables, not boundaries, analysis
    results or the audit log; with ``role``, only those the role may read."""
    return [n for n, spec in LAYERS.items()
            if spec.kind in ("record", "table") and spec.min_role != "admin"
            and (role is None or access.can_read_layer(role, spec))]


def first_free_id_number(store, layer: str, role: str, day) -> int:
    """The number the ids generated for ``layer`` on ``day`` start at: one past the highest
    stored with that day's prefix (as far as ``role`` sees), so uploads of one day never
    give the same id twice."""
    ids = access.read(store, layer, role=role, columns=["id"])["id"]
    return next_id_number(ids, id_prefix(layer, day))


def load(store, layer: str, path: str | Path, *, keep_valid: bool = False,
         fix_swapped: bool = False, repair: bool = False, crs: str | None = None,
         mode: str = "append", user: str = "system", source: str | None = None,
         max_bytes: int = DEFAULT_MAX_BYTES, id_start: int = 1):
    """Read, validate and store a file; nothing is stored unless the file is clean.

    Returns ``(report, write_report_or_None)``. With ``keep_valid`` the valid rows are
    stored even when other rows have errors.
    """
    report = check_file(layer, path, fix_swapped=fix_swapped, repair=repair, crs=crs,
                        source=source, max_bytes=max_bytes, id_start=id_start)
    return report, store_checked(store, report, keep_valid=keep_valid, mode=mode, user=user)


def check_file(layer: str, path: str | Path, *, fix_swapped: bool = False,
               repair: bool = False, crs: str | None = None, source: str | None = None,
               max_bytes: int = DEFAULT_MAX_BYTES, id_start: int = 1) -> ValidationReport:
    """Read and validate a file for ``layer`` (the CPU-heavy half of :func:`load`);
    ids generated for rows without one count from ``id_start``."""
    frame = read_any(path, max_bytes=max_bytes, layer=layer)
    return validate(frame, layer, fix_swapped=fix_swapped, repair=repair, crs=crs,
                    source=source or f"upload:{Path(path).name}", id_start=id_start)


def store_checked(store, report: ValidationReport, *, keep_valid: bool = False,
                  mode: str = "append", user: str = "system"):
    """Store a checked file's rows if it is clean (or ``keep_valid``); the write report,
    or None when nothing was stored (the other half of :func:`load`)."""
    if (not report.ok and not keep_valid) or report.rows_valid == 0:
        return None
    return store.write(report.layer, report.clean, mode=mode, user=user)

