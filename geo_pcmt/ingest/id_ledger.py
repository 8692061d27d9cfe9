"""The ids of a file checked in chunks, and the row where each came first, kept on disk.

A load of a large file (:mod:`geo_pcmt.ingest.streaming`) must report an id used twice
even when the two rows are in different chunks, naming the row where it came first. A
Python dict of every id seen costs about 200 bytes a row (a 1M-row file: ~200 MB) and
grows with the file; :class:`IdLedger` keeps them in a private temporary SQLite database
instead (``sqlite3.connect("")``: on disk, deleted when closed, a 2 MB page cache), and a
chunk's ids are looked up with one query. Memory is the chunk's ids, whatever the file's
size. It is the file's ledger, not the store's: ids of rows with errors count too, and
the store's own unique index still refuses an id already stored.
"""
from __future__ import annotations

import json
import sqlite3
from typing import Iterable, Mapping

_BATCH = 50_000  # ids per lookup query (one JSON array parameter)


class IdLedger:
    """Ids seen so far (id → row in the whole file, from 1), on disk.

    Examples
    --------
    >>> ledger = IdLedger()
    >>> ledger.claim({"a": 1, "b": 2})
    {}
    >>> ledger.claim({"b": 3, "c": 4})
    {'b': 2}
    >>> ledger.first_rows(["c", "d"]), len(ledger)
    ({'c': 4}, 3)
    >>> ledger.close()
    """

    def __init__(self) -> None:
        self._db = sqlite3.connect("", isolation_level=None)
        self._db.execute("PRAGMA journal_mode = OFF")
        self._db.execute("PRAGMA synchronous = OFF")
        self._db.execute("CREATE TABLE ids (id TEXT PRIMARY KEY, row INTEGER NOT NULL) "
                         "WITHOUT ROWID")
        self._count = 0

    def first_rows(self, ids: Iterable[str]) -> dict[str, int]:
        """The ids among ``ids`` seen before, with the row where each came first."""
        ids = list(ids)
        found: dict[str, int] = {}
        for start in range(0, len(ids), _BATCH):
            found.update(self._db.execute(
                "SELECT id, row FROM ids WHERE id IN (SELECT value FROM json_each(?))",
                (json.dumps(ids[start:start + _BATCH], ensure_ascii=False),)))
        return found

    def claim(self, rows: Mapping[str, int]) -> dict[str, int]:
        """Remember the ids of ``rows`` (id → row, rows after every row held) not seen
        before, and return those seen before with the row where each came first. One
        insert per id; the lookup runs only when some id was held already."""
        added = self._db.execute("INSERT OR IGNORE INTO ids SELECT key, value "
                                 "FROM json_each(?)", (json.dumps(rows, ensure_ascii=False),))
        self._count += max(added.rowcount, 0)
        if added.rowcount == len(rows):
            return {}
        return {i: r for i, r in self.first_rows(rows).items() if r != rows[i]}

    def __len__(self) -> int:
        return self._count

    def close(self) -> None:
        """Let go of the database (SQLite deletes its file)."""
        self._db.close()

    def __enter__(self) -> "IdLedger":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
