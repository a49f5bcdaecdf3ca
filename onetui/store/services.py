"""Services: a named group of VMs of one template (and a burst template for when local
hosts are full), kept at a desired size by the engine, optionally behind a load balancer."""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

from onetui.errors import Conflict, NotFound, UserError
from onetui.model.services import Service
from onetui.store.db import Database
from onetui.store.events import record
from onetui.store.records import by_id_or_name, check_object_name, dumps, next_id


def _service(row: sqlite3.Row) -> Service:
    return Service(row["id"], row["name"], row["template_id"], row["burst_template_id"],
                   row["min_size"], row["max_size"], row["desired"], json.loads(row["config"]))


def check_size(name: str, min_size: int, max_size: int, desired: int) -> None:
    if not 0 <= min_size <= max_size:
        raise UserError(f"service {name}: expected 0 <= --min ({min_size}) <= --max ({max_size})")
    if not min_size <= desired <= max_size:
        raise UserError(f"service {name}: size {desired} is outside {min_size}..{max_size}")


class Services:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, name: str, template_id: int, burst_template_id: int | None, min_size: int,
            max_size: int, config: dict[str, Any]) -> Service:
        check_object_name("service", name)
        check_size(name, min_size, max_size, min_size)
        with self.db.transaction() as cur:
            try:
                cur.execute(
                    "INSERT INTO services(id, name, template_id, burst_template_id, min_size, "
                    "max_size, desired, config, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (next_id(cur, "services"), name, template_id, burst_template_id, min_size,
                     max_size, min_size, dumps(config), time.time()))
            except sqlite3.IntegrityError:
                raise Conflict(f"service {name!r} exists already") from None
            record(cur, "service", cur.lastrowid,
                   f"service {name} created ({min_size}..{max_size}, desired {min_size})")
        return self.get(name)

    def get(self, ref: str | int) -> Service:
        return _service(by_id_or_name(self.db, "services", "service", ref))

    def list(self) -> list[Service]:
        return [_service(r) for r in self.db.read("SELECT * FROM services ORDER BY id")]

    def scale(self, ref: str | int, desired: int, why: str = "by the admin") -> Service:
        svc = self.get(ref)
        check_size(svc.name, svc.min_size, svc.max_size, desired)
        with self.db.transaction() as cur:
            cur.execute("UPDATE services SET desired = ? WHERE id = ?", (desired, svc.id))
            record(cur, "service", svc.id,
                   f"service {svc.name}: desired size {svc.desired} → {desired} ({why})")
        return self.get(svc.id)

    def resize(self, ref: str | int, by: int, why: str) -> tuple[Service, int]:
        """Change the desired size by `by` (up or down), read and written in one
        transaction: a concurrent change (another grow, an elastic rule) is added to, never
        lost. Returns the service and its size before; out of min..max is refused."""
        svc = self.get(ref)
        with self.db.transaction() as cur:
            row = cur.execute("SELECT * FROM services WHERE id = ?", (svc.id,)).fetchone()
            if row is None:  # deleted meanwhile
                raise NotFound(f"no service {svc.name!r} (see `onetui service list`)")
            now = _service(row)
            check_size(now.name, now.min_size, now.max_size, now.desired + by)
            cur.execute("UPDATE services SET desired = desired + ? WHERE id = ?", (by, svc.id))
            record(cur, "service", svc.id, f"service {svc.name}: desired size {now.desired} "
                   f"→ {now.desired + by} ({why})")
        return self.get(svc.id), now.desired

    def update_config(self, ref: str | int, changes: dict[str, Any],
                      event: str | None = None) -> Service:
        """Merge `changes` into the service's config (rules, rule state, last scaling)."""
        svc = self.get(ref)
        with self.db.transaction() as cur:
            cur.execute("UPDATE services SET config = ? WHERE id = ?",
                        (dumps({**svc.config, **changes}), svc.id))
            if event:
                record(cur, "service", svc.id, f"service {svc.name}: {event}")
        return self.get(svc.id)

    def delete(self, ref: str | int) -> Service:
        svc = self.get(ref)
        with self.db.transaction() as cur:
            cur.execute("DELETE FROM services WHERE id = ?", (svc.id,))
            record(cur, "service", svc.id, f"service {svc.name} deleted (its VMs stay)")
        return svc
