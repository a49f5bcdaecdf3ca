"""Hosts: what the admin declared (driver, its settings, attributes, enabled) and what the
engine last saw when it monitored the host."""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

from onetui.errors import Conflict, UserError
from onetui.model import Host
from onetui.model.secrets import HIDDEN, is_secret
from onetui.store.db import Database
from onetui.store.events import record
from onetui.store.records import by_id_or_name, check_object_name, dumps, host_from, next_id

DRIVERS = ("libvirt", "ec2")


class Hosts:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, name: str, driver: str, config: dict[str, Any]) -> Host:
        check_object_name("host", name)
        if driver not in DRIVERS:
            raise UserError(f"host {name}: unknown driver {driver!r} (expected one of: "
                            f"{', '.join(DRIVERS)})")
        with self.db.transaction() as cur:
            try:
                cur.execute(
                    "INSERT INTO hosts(id, name, driver, config, created_at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (next_id(cur, "hosts"), name, driver, dumps(config), time.time()),
                )
            except sqlite3.IntegrityError:
                raise Conflict(f"host {name!r} exists already") from None
            record(cur, "host", cur.lastrowid, f"host {name} created ({driver})")
        return self.get(name)

    def get(self, ref: str | int) -> Host:
        return host_from(by_id_or_name(self.db, "hosts", "host", ref))

    def by_ids(self, ids: set[int]) -> list[Host]:
        marks = ",".join("?" * len(ids))
        return [host_from(r) for r in
                self.db.read(f"SELECT * FROM hosts WHERE id IN ({marks})", tuple(ids))]

    def list(self, limit: int | None = None) -> list[Host]:
        """By id; `limit`: only the first ones (the console's first page)."""
        if limit is not None:
            return [host_from(r) for r in self.db.read("SELECT * FROM hosts ORDER BY id "
                                                       "LIMIT ?", (limit,))]
        return [host_from(r) for r in self.db.read("SELECT * FROM hosts ORDER BY id")]

    def delete(self, ref: str | int) -> Host:
        host = self.get(ref)
        with self.db.transaction() as cur:
            busy = cur.execute(
                "SELECT COUNT(*) FROM vms WHERE host_id = ? AND state NOT IN ('done')",
                (host.id,),
            ).fetchone()[0]
            if busy:
                raise Conflict(f"host {host.name} still has {busy} VM(s); shut them down or "
                               "delete them first")
            cur.execute("UPDATE vms SET host_id = NULL WHERE host_id = ?", (host.id,))
            cur.execute("DELETE FROM hosts WHERE id = ?", (host.id,))
            record(cur, "host", host.id, f"host {host.name} deleted")
        return host

    def set_enabled(self, ref: str | int, enabled: bool) -> Host:
        host = self.get(ref)
        with self.db.transaction() as cur:
            cur.execute("UPDATE hosts SET enabled = ? WHERE id = ?", (int(enabled), host.id))
            word = "enabled" if enabled else "disabled"
            record(cur, "host", host.id, f"host {host.name} {word}")
        return self.get(host.id)

    def update_attrs(self, ref: str | int, attrs: dict[str, str | None]) -> Host:
        """Set (or, with None, remove) admin attributes that REQUIREMENTS and RANK can use."""
        return self.update(ref, attrs=attrs)

    def update(self, ref: str | int, *, attrs: dict[str, str | None] | None = None,
               config: dict[str, Any] | None = None) -> Host:
        """Change a host in place, in one write: its attributes (None removes one) and its
        driver settings (the engine makes its driver anew at its next pass). Settings are
        named in the event, never their values (an endpoint may carry a secret)."""
        host = self.get(ref)
        merged = dict(host.attrs)
        for key, value in (attrs or {}).items():
            if value is None:
                merged.pop(key.upper(), None)
            else:
                merged[key.upper()] = value
        with self.db.transaction() as cur:
            if attrs:
                cur.execute("UPDATE hosts SET attrs = ? WHERE id = ?", (dumps(merged), host.id))
                # an attribute named like a secret (SSH_PASSWORD) is named, not shown:
                # every role reads the event log
                shown = ", ".join(f"-{k}" if v is None else f"{k}={HIDDEN}" if is_secret(k)
                                  else f"{k}={v}" for k, v in attrs.items())
                record(cur, "host", host.id, f"host {host.name} attributes: {shown}")
            if config is not None and config != host.config:
                cur.execute("UPDATE hosts SET config = ? WHERE id = ?",
                            (dumps(config), host.id))
                changed = sorted(k for k in {*config, *host.config}
                                 if config.get(k) != host.config.get(k))
                record(cur, "host", host.id, f"host {host.name} settings changed: "
                       f"{', '.join(changed)}")
        return self.get(host.id)

    def set_monitor(self, host_id: int, state: str, monitor: dict[str, Any],
                    error: str = "") -> None:
        """Write what monitoring saw; a change of state (or error) is an event."""
        with self.db.transaction() as cur:
            row = cur.execute("SELECT name, state, error, monitor FROM hosts WHERE id = ?",
                              (host_id,)).fetchone()
            if row is None:
                return
            if (row["state"], row["error"], json.loads(row["monitor"])) == (state, error, monitor):
                return  # nothing new: no write, so no change entry and no pane refresh
            cur.execute(
                "UPDATE hosts SET state = ?, monitor = ?, error = ?, monitored_at = ? "
                "WHERE id = ?", (state, dumps(monitor), error, time.time(), host_id),
            )
            if row["state"] != state or row["error"] != error:
                level = "error" if state == "err" else "info"
                text = f"host {row['name']}: {row['state']} → {state}"
                record(cur, "host", host_id, f"{text}: {error}" if error else text, level)
