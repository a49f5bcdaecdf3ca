"""The change sequence: "what changed since N" for live panes.

Rows are appended by triggers (see schema.py), so no writer can forget. The log is pruned
to a bounded length; a reader whose cursor fell off its start is told to reload in full.
"""

from __future__ import annotations

from onetui.model import Changes
from onetui.store.db import Database

KEEP = 200_000


class ChangeLog:
    def __init__(self, db: Database) -> None:
        self.db = db

    def current(self) -> int:
        return int(self.db.read("SELECT COALESCE(MAX(seq), 0) FROM changes")[0][0])

    def since(self, seq: int) -> Changes:
        """Ids of every object changed after `seq`, by kind, and the new cursor."""
        with self.db.snapshot():
            first = self.db.read("SELECT MIN(seq) FROM changes")[0][0]
            rows = self.db.read(
                "SELECT kind, obj_id, seq FROM changes WHERE seq > ? ORDER BY seq", (seq,)
            )
        if first is not None and seq < first - 1:
            last = rows[-1]["seq"] if rows else seq
            return Changes(seq=last, complete=False)
        ids: dict[str, set[int]] = {}
        for row in rows:
            ids.setdefault(row["kind"], set()).add(row["obj_id"])
        return Changes(seq=rows[-1]["seq"] if rows else seq, ids=ids)

    def prune(self, keep: int = KEEP) -> int:
        """Drop all but the newest `keep` entries; returns how many went."""
        with self.db.transaction() as cur:
            cur.execute(
                "DELETE FROM changes WHERE seq <= (SELECT MAX(seq) FROM changes) - ?", (keep,)
            )
            return cur.rowcount
