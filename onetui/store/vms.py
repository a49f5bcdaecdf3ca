"""VMs: the intent (template, name, hold) written by the CLI/console, and the life cycle
the engine drives. Every state change is one transaction with its event."""

from __future__ import annotations

import builtins
import sqlite3
import time
from collections.abc import Iterable
from typing import Any

from onetui.errors import Conflict, NotFound, UserError
from onetui.model import VM, VM_STATES
from onetui.store.db import Database
from onetui.store.events import record
from onetui.store.records import dumps, next_id, vm_from

_SELECT = ("SELECT vms.*, hosts.name AS host_name, hosts.monitored_at AS host_polled_at, "
           "hosts.state AS host_state, "
           "(SELECT CAST(value AS REAL) FROM meta WHERE key = 'last_look') AS last_look "
           "FROM vms LEFT JOIN hosts ON hosts.id = vms.host_id")
_FIELDS = frozenset({"intent", "host_id", "deploy_id", "ip", "mac", "message", "sched", "info",
                     "polled_at", "name"})
_JSON = frozenset({"sched", "info"})


def insert(cur: sqlite3.Cursor, specs: Iterable[dict[str, Any]], state: str) -> list[int]:
    """Insert VM rows inside the caller's transaction (labs create seats and their VMs in
    one), each with its event."""
    now = time.time()
    specs = list(specs)
    first = next_id(cur, "vms", len(specs)) if specs else 0
    ids = []
    for vid, spec in enumerate(specs, start=first):
        name = spec.get("name") or f"one-{vid}"  # the id is known before the row is
        cur.execute(
            "INSERT INTO vms(id, name, template_id, body, state, cpu, memory, info, intent, "
            "created_at, state_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (vid, name, spec.get("template_id"), spec["body"], state, spec.get("cpu", 0),
             spec.get("memory", 0), dumps(spec.get("info", {})), spec.get("intent", ""),
             now, now),
        )
        record(cur, "vm", vid, f"VM {vid} {name} created ({state})")
        ids.append(vid)
    return ids

class VMs:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, specs: Iterable[dict[str, Any]], hold: bool = False) -> list[int]:
        """Create VMs from specs (name, body, cpu, memory, template_id, intent); all or none.
        A spec without a name gets OpenNebula's `one-<ID>`."""
        with self.db.transaction() as cur:
            return insert(cur, specs, "hold" if hold else "pend")

    def get(self, vm_id: int | str) -> VM:
        if not str(vm_id).isdigit():
            rows = self.db.read(f"{_SELECT} WHERE vms.name = ? ORDER BY vms.id DESC",
                                (str(vm_id),))
        else:
            rows = self.db.read(f"{_SELECT} WHERE vms.id = ?", (int(vm_id),))
        if not rows:
            raise NotFound(f"no VM {vm_id!r} (see `onetui vm list`)")
        return vm_from(rows[0])

    def list(self, states: Iterable[str] | None = None, include_done: bool = True,
             host_id: int | None = None, limit: int | None = None,
             after: int | None = None) -> builtins.list[VM]:
        """By id; `limit`: only the first ones (the console's first page, drawn before the
        whole list is read); `after`: only those with a higher id (the next page)."""
        where: builtins.list[str] = []
        params: builtins.list[Any] = []
        if after is not None:
            where.append("vms.id > ?")
            params.append(after)
        if states is not None:
            states = list(states)
            where.append(f"vms.state IN ({','.join('?' * len(states))})")
            params += states
        if not include_done:
            where.append("vms.state != 'done'")
        if host_id is not None:
            where.append("vms.host_id = ?")
            params.append(host_id)
        sql = _SELECT + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY vms.id"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [vm_from(r) for r in self.db.read(sql, tuple(params))]

    def by_ids(self, ids: Iterable[int]) -> builtins.list[VM]:
        ids = list(ids)
        out: list[VM] = []
        for i in range(0, len(ids), 500):  # stay under SQLite's variable limit
            chunk = ids[i:i + 500]
            out += [vm_from(r) for r in self.db.read(
                f"{_SELECT} WHERE vms.id IN ({','.join('?' * len(chunk))})", tuple(chunk))]
        return out

    def update(self, vm_id: int, event: str | None = None, level: str = "info",
               **fields: Any) -> None:
        """Change fields other than the state (placement, addresses, driver info)."""
        with self.db.transaction() as cur:
            self._update(cur, vm_id, fields)
            if event:
                record(cur, "vm", vm_id, event, level)

    def transition(self, vm_id: int, state: str, *, expect: Iterable[str] | None = None,
                   event: str = "", level: str | None = None, **fields: Any) -> VM:
        """Move a VM to `state` (checking it is in one of `expect`), with its event."""
        if state not in VM_STATES:
            raise ValueError(f"unknown VM state {state}")
        with self.db.transaction() as cur:
            row = cur.execute("SELECT name, state FROM vms WHERE id = ?", (vm_id,)).fetchone()
            if row is None:
                raise NotFound(f"no VM {vm_id}")
            if expect is not None and row["state"] not in set(expect):
                raise Conflict(f"VM {vm_id} is {row['state']}; expected "
                               f"{' or '.join(sorted(set(expect)))}")
            now = time.time()
            times: dict[str, Any] = {"state": state, "state_at": now}
            if state == "runn":
                times["started_at"] = cur.execute(
                    "SELECT COALESCE(started_at, ?) FROM vms WHERE id = ?", (now, vm_id)
                ).fetchone()[0]
            if state == "done":
                times["stopped_at"] = now
                from onetui.store.networks import release_in  # not on every read's import

                release_in(cur, vm_id)
            self._update(cur, vm_id, {**fields, **times}, allow_state=True)
            text = f"VM {vm_id} {row['name']}: {row['state']} → {state}"
            if event:
                text += f" ({event})"
            record(cur, "vm", vm_id, text, level or ("error" if state == "fail" else "info"))
        return self.get(vm_id)

    def _update(self, cur: sqlite3.Cursor, vm_id: int, fields: dict[str, Any],
                allow_state: bool = False) -> None:
        allowed = _FIELDS | ({"state", "state_at", "started_at", "stopped_at"}
                             if allow_state else set())
        unknown = set(fields) - allowed
        if unknown:
            raise UserError(f"cannot set VM field(s) {', '.join(sorted(unknown))}")
        if not fields:
            return
        cols = ", ".join(f"{k} = ?" for k in fields)
        values = [dumps(v) if k in _JSON else v for k, v in fields.items()]
        cur.execute(f"UPDATE vms SET {cols} WHERE id = ?", (*values, vm_id))

    def count_by_state(self) -> dict[str, int]:
        rows = self.db.read("SELECT state, COUNT(*) FROM vms GROUP BY state")
        return {r[0]: r[1] for r in rows}
