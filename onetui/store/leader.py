"""The engine lease: one row says which process may act on this store, until when.

Only the holder schedules and deploys; a second engine waits, and takes over once the
lease has expired (its holder died without releasing it). Any number of readers watch.
"""

from __future__ import annotations

import os
import time

from onetui.model.engine_lease import Lease
from onetui.store.db import Database
from onetui.store.events import record


class Leader:
    def __init__(self, db: Database) -> None:
        self.db = db

    def acquire(self, owner: str, ttl: float) -> int:
        """Take or renew the lease for `owner`. Returns its epoch (the fencing token, which
        grows at every takeover), or 0 while another live owner holds it."""
        import socket  # the engine's: not on every command's start

        now = time.time()
        with self.db.transaction(fenced=False) as cur:
            row = cur.execute("SELECT owner, expires_at, epoch FROM leader "
                              "WHERE id = 1").fetchone()
            if row is not None and row["owner"] != owner and row["expires_at"] > now:
                return 0
            if row is not None and row["owner"] == owner:
                epoch = int(row["epoch"])
            else:
                epoch = int(cur.execute("SELECT value FROM meta WHERE key = 'lease_epoch'")
                            .fetchone()[0]) + 1
                cur.execute("UPDATE meta SET value = ? WHERE key = 'lease_epoch'", (str(epoch),))
            cur.execute(
                "INSERT INTO leader(id, owner, pid, hostname, expires_at, epoch) "
                "VALUES (1, ?, ?, ?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET owner = excluded.owner, pid = excluded.pid, "
                "hostname = excluded.hostname, expires_at = excluded.expires_at, "
                "epoch = excluded.epoch",
                (owner, os.getpid(), socket.gethostname(), now + ttl, epoch),
            )
            if row is None or row["owner"] != owner:
                record(cur, "engine", None,
                       f"engine {owner} (pid {os.getpid()} on {socket.gethostname()}) "
                       f"took the lead (epoch {epoch})")
        return epoch

    def release(self, owner: str) -> None:
        with self.db.transaction(fenced=False) as cur:
            cur.execute("DELETE FROM leader WHERE id = 1 AND owner = ?", (owner,))
            if cur.rowcount:
                record(cur, "engine", None, f"engine {owner} stopped")

    def current(self) -> Lease | None:
        rows = self.db.read("SELECT owner, pid, hostname, expires_at, epoch FROM leader "
                            "WHERE id = 1")
        if not rows:
            return None
        r = rows[0]
        return Lease(r["owner"], r["pid"], r["hostname"], r["expires_at"], r["epoch"])
