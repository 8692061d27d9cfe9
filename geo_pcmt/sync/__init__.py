"""Offline field capture, the server side: phones' edit batches merged into the store.

* :mod:`.edits` — what a phone sends (one edit, checked) and what it gets back;
* :mod:`.merge` — the pure three-way merge, field by field (geometry included);
* :mod:`.batch` — a sync call: merged and written in a few transactions, idempotent
  by ``edit_id``; :mod:`.apply` — one edit at a time (deletes, and when another writer
  came between); conflicts are kept in ``field_conflicts``;
* :mod:`.conflicts` — listing and resolving the conflicts;
* :mod:`.photos` — the photos that come with edits.

The web routes are in :mod:`geo_pcmt.web.field_sync`; the protocol is in docs/field.md.
"""
from geo_pcmt.sync.edits import FIELD_LAYERS, MAX_EDITS, SNAPSHOT_LAYERS, BatchError

# (apply_batch is in geo_pcmt.sync.batch: it imports the web write steps, which import the
# OpenAPI module, which imports this package for the field layers)
__all__ = ["FIELD_LAYERS", "MAX_EDITS", "SNAPSHOT_LAYERS", "BatchError"]
