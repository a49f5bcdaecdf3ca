"""Launch records for cloud drivers: what was (or is about to be) asked of the cloud.

A record is committed before the call that launches, with the exact parameters, the
ClientToken and the VM ids in launch-index order. A retry reads them back: the parameters
of a launch never change, whatever happened in between.
"""

from __future__ import annotations

import json
import time
from typing import Any

from onetui.model.launches import Launch
from onetui.store.db import Database
from onetui.store.events import record
from onetui.store.records import dumps


def _launch(row: Any) -> Launch:
    return Launch(row["token"], row["host_id"], json.loads(row["vm_ids"]),
                  json.loads(row["params"]), row["state"], row["error"], row["created_at"])


class Launches:
    def __init__(self, db: Database) -> None:
        self.db = db

    def prepare(self, token: str, host_id: int, vm_ids: list[int],
                params: dict[str, Any]) -> Launch:
        """Record the launch and tie its VMs to it, in one transaction."""
        with self.db.transaction() as cur:
            cur.execute(
                "INSERT INTO launches(token, host_id, vm_ids, params, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (token, host_id, dumps(vm_ids), dumps(params), time.time()),
            )
            for index, vm_id in enumerate(vm_ids):
                info = json.loads(cur.execute("SELECT info FROM vms WHERE id = ?",
                                              (vm_id,)).fetchone()[0])
                info.update({"launch": token, "launch_index": index})
                cur.execute("UPDATE vms SET info = ? WHERE id = ?", (dumps(info), vm_id))
            record(cur, "launch", None,
                   f"launch {token[:8]} prepared for VM(s) {', '.join(map(str, vm_ids))}")
        return self.get(token)

    def get(self, token: str) -> Launch:
        return _launch(self.db.read("SELECT * FROM launches WHERE token = ?", (token,))[0])

    def find(self, token: str) -> Launch | None:
        rows = self.db.read("SELECT * FROM launches WHERE token = ?", (token,))
        return _launch(rows[0]) if rows else None

    def set_state(self, token: str, state: str, error: str = "") -> None:
        with self.db.transaction() as cur:
            cur.execute("UPDATE launches SET state = ?, error = ? WHERE token = ?",
                        (state, error, token))

    def tokens(self, host_id: int | None = None) -> set[str]:
        if host_id is None:
            rows = self.db.read("SELECT token FROM launches")
        else:
            rows = self.db.read("SELECT token FROM launches WHERE host_id = ?", (host_id,))
        return {r[0] for r in rows}
