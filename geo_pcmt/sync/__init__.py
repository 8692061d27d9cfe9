"""Offline field capture, the server side: phones' edit batches merged into the store.

* :mod:`.edits` — what a phone sends (one edit, checked) and what it gets back;
* :mod:`.merge` — the pure three-way merge, field by field (geometry included);
* :mod:`.apply` — a batch applied through the API's own write steps, idempotent by
  ``edit_id``, conflicts kept in ``field_conflicts``;
* :mod:`.conflicts` — listing and resolving the conflicts;
* :mod:`.photos` — the photos that come with edits.

The web routes are in :mod:`geo_pcmt.web.field_sync`; the protocol is in docs/field.md.
"""
from geo_pcmt.sync.apply import apply_batch
from geo_pcmt.sync.edits import FIELD_LAYERS, MAX_EDITS, BatchError

__all__ = ["FIELD_LAYERS", "MAX_EDITS", "BatchError", "apply_batch"]
