"""Group commit: records that threads add while a commit is under way go together in the
next one (one transaction, one flush to disk, for all of them).

Used for the audit log: every read of restricted data commits its record before the answer
leaves, and under load those commits would otherwise queue one by one for the store's
write lock (GeoPackage) or one flush each (PostgreSQL).
"""
from __future__ import annotations

import threading
from typing import Any, Callable


class _Pending:
    __slots__ = ("item", "done", "error")

    def __init__(self, item: Any):
        self.item, self.done, self.error = item, False, None


class GroupCommit:
    """Commit items in batches with ``commit(items)``; :meth:`submit` returns once its own
    item is committed, and raises the batch's error if that commit failed.

    The thread that finds no commit under way commits what is queued; the others wait for
    it (and the next such thread commits what queued meanwhile).
    """

    def __init__(self, commit: Callable[[list], None]):
        self._commit = commit
        self._cv = threading.Condition()
        self._pending: list[_Pending] = []
        self._committing = False

    def submit(self, item: Any) -> None:
        mine = _Pending(item)
        with self._cv:
            self._pending.append(mine)
            while self._committing and not mine.done:
                self._cv.wait()
            if mine.done:
                batch = None
            else:  # no commit under way: this thread commits what is queued
                self._committing = True
                batch, self._pending = self._pending, []
        if batch is not None:
            error = None
            try:
                self._commit([p.item for p in batch])
            except BaseException as exc:  # handed to every caller in the batch
                error = exc
            with self._cv:
                for p in batch:
                    p.done, p.error = True, error
                self._committing = False
                self._cv.notify_all()
        if mine.error is not None:
            raise mine.error
