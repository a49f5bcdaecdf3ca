"""Labs: a master template turned into N seats, each a VM with its own lease and account.

A lab and all its seats, VMs and leases are written in one transaction, so a refused or
failed `lab create` leaves nothing behind. Seat passwords are sealed (see `secrets`); only
`password()` opens one, for the few places that hand it out.
"""

from __future__ import annotations

import builtins
import json
import sqlite3
import time
from typing import Any

from onetui.errors import Conflict, UserError
from onetui.model.labs import DEPLOYING, FAILED, READY, Lab, Seat
from onetui.model.networks import Network
from onetui.store.db import Database
from onetui.store.events import record
from onetui.store.networks import lease_in
from onetui.store.records import by_id_or_name, check_object_name, dumps, is_id, next_id
from onetui.store.secrets import SecretBox
from onetui.store.vms import insert


def _lab(row: sqlite3.Row) -> Lab:
    return Lab(row["id"], row["name"], row["template_id"], row["network_id"], row["seats"],
               row["user_pattern"], row["expires_at"], row["state"], row["created_at"],
               json.loads(row["config"]), row["owner"], row["owner_uid"])


def _seat(row: sqlite3.Row) -> Seat:
    return Seat(row["lab_id"], row["seat"], row["vm_id"], row["username"], row["state"],
                row["message"], row["ip"], row["port"], row["state_at"], row["ready_at"],
                bool(row["password"]))


def _context(lab_id: int, seat: int) -> str:
    return f"lab {lab_id} seat {seat}"


class Labs:
    def __init__(self, db: Database, box: SecretBox) -> None:
        self.db = db
        self.box = box

    def create(self, name: str, template_id: int | None, network: Network,
               seats: list[dict[str, Any]], user_pattern: str, expires_at: float | None,
               config: dict[str, Any], owner: str = "", owner_uid: int | None = None) -> Lab:
        """Create the lab, its seats' VMs (specs with `username`, `password`, `port`) and
        their leases on `network`, owned by the unix user `owner` (uid `owner_uid`, what
        ownership is checked by): all of it, or nothing."""
        check_object_name("lab", name)
        now = time.time()
        with self.db.transaction() as cur:
            try:
                cur.execute(
                    "INSERT INTO labs(id, name, template_id, network_id, seats, user_pattern, "
                    "expires_at, config, created_at, owner, owner_uid) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (next_id(cur, "labs"), name, template_id, network.id, len(seats),
                     user_pattern, expires_at, dumps(config), now, owner, owner_uid))
            except sqlite3.IntegrityError:
                raise Conflict(f"lab {name!r} exists already") from None
            lab_id = cur.lastrowid
            assert lab_id is not None
            for number, spec in enumerate(seats, start=1):
                (vm_id,) = insert(cur, [{**spec, "info": {"lab": lab_id, "seat": number}}],
                                  "pend")
                lease = lease_in(cur, network, vm_id)
                cur.execute("UPDATE vms SET ip = ?, mac = ? WHERE id = ?",
                            (lease.ip, lease.mac, vm_id))
                cur.execute(
                    "INSERT INTO seats(lab_id, seat, vm_id, username, state, ip, port, "
                    "password, state_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (lab_id, number, vm_id, spec["username"], DEPLOYING, lease.ip,
                     spec["port"], self.box.seal(spec["password"], _context(lab_id, number)),
                     now))
            record(cur, "lab", lab_id, f"lab {name} created: {len(seats)} seat(s) on "
                   f"network {network.name}" + (f", owned by {owner}" if owner else ""))
        return self.get(lab_id)

    def get(self, ref: str | int) -> Lab:
        """The lab with id `ref` (an int, or digits only), else named `ref`: never both,
        so `1` is lab 1 whatever another lab is called."""
        return _lab(by_id_or_name(self.db, "labs", "lab", ref))

    def find(self, ref: str | int) -> Lab | None:
        """As `get`, None when there is no such lab."""
        if is_id(ref):
            rows = self.db.read("SELECT * FROM labs WHERE id = ?", (int(ref),))
        else:
            rows = self.db.read("SELECT * FROM labs WHERE name = ?", (str(ref),))
        return _lab(rows[0]) if rows else None

    def list(self) -> list[Lab]:
        return [_lab(r) for r in self.db.read("SELECT * FROM labs ORDER BY id")]

    def was_destroyed(self, name: str) -> bool:
        """Whether a lab of this name existed and was destroyed (its rows are gone; the
        event log remembers it)."""
        rows = self.db.read("SELECT 1 FROM events WHERE kind = 'lab' AND message = ? LIMIT 1",
                            (f"lab {name} destroyed",))
        return bool(rows)

    def seats(self, lab_id: int | None = None) -> builtins.list[Seat]:
        if lab_id is None:
            rows = self.db.read("SELECT * FROM seats ORDER BY lab_id, seat")
        else:
            rows = self.db.read("SELECT * FROM seats WHERE lab_id = ? ORDER BY seat", (lab_id,))
        return [_seat(r) for r in rows]

    def seat(self, lab_id: int, number: int) -> Seat:
        rows = self.db.read("SELECT * FROM seats WHERE lab_id = ? AND seat = ?",
                            (lab_id, number))
        if not rows:
            lab = self.get(lab_id)
            raise UserError(f"lab {lab.name} has no seat {number} (seats 1-{lab.seats})")
        return _seat(rows[0])

    def password(self, lab_id: int, number: int) -> str:
        """The seat's password in clear: only for handing it out or setting it."""
        return self.passwords(lab_id, {number}).get(number, "")

    def passwords(self, lab_id: int, seats: set[int] | None = None) -> dict[int, str]:
        """Seat → password in clear, in one read; only `seats` are opened (all when None)."""
        rows = self.db.read("SELECT seat, password FROM seats WHERE lab_id = ?", (lab_id,))
        return {n: self.box.open(sealed, _context(lab_id, n)) for n, sealed in rows
                if seats is None or n in seats}

    def set_seat(self, lab_id: int, number: int, state: str, message: str = "",
                 expect: tuple[str, ...] = (), event: str = "", for_vm: int | None = None,
                 **fields: Any) -> bool:
        """Move a seat to `state` (only from one of `expect`, when given, and only while its
        VM is still `for_vm`, when given: what was learned about a seat's old VM never
        lands on the fresh one a reset gave it); the event says what happened, without any
        secret. False when the seat was not in `expect` or has another VM now."""
        now = time.time()
        sets = {"state": state, "message": message, "state_at": now, **fields}
        if state == READY:
            sets["ready_at"] = now
        with self.db.transaction() as cur:
            row = cur.execute("SELECT state, vm_id FROM seats WHERE lab_id = ? AND seat = ?",
                              (lab_id, number)).fetchone()
            if row is None or (expect and row[0] not in expect):
                return False
            if for_vm is not None and row[1] != for_vm:
                return False
            cur.execute(f"UPDATE seats SET {', '.join(f'{k} = ?' for k in sets)} "
                        "WHERE lab_id = ? AND seat = ?", (*sets.values(), lab_id, number))
            if event:
                record(cur, "lab", lab_id, event, level="error" if state == FAILED else "info")
        return True

    def set_password(self, lab_id: int, number: int, password: str) -> None:
        with self.db.transaction() as cur:
            cur.execute("UPDATE seats SET password = ? WHERE lab_id = ? AND seat = ?",
                        (self.box.seal(password, _context(lab_id, number)), lab_id, number))

    def replace_vm(self, lab_id: int, number: int, spec: dict[str, Any]) -> int:
        """A fresh VM for a seat (reset to the master disk): the old VM is cancelled, its
        lease moves to the new one, so the seat keeps its address and MAC."""
        seat = self.seat(lab_id, number)
        with self.db.transaction() as cur:
            (vm_id,) = insert(cur, [{**spec, "info": {"lab": lab_id, "seat": number}}], "pend")
            if seat.vm_id is not None:
                cur.execute("UPDATE leases SET vm_id = ? WHERE vm_id = ?", (vm_id, seat.vm_id))
                cur.execute("UPDATE vms SET intent = 'cancel' WHERE id = ? AND state NOT IN "
                            "('done', 'fail')", (seat.vm_id,))
            cur.execute("UPDATE vms SET ip = (SELECT ip FROM seats WHERE lab_id = ? AND "
                        "seat = ?), mac = (SELECT mac FROM leases WHERE vm_id = ?) "
                        "WHERE id = ?", (lab_id, number, vm_id, vm_id))
            cur.execute("UPDATE seats SET vm_id = ?, state = ?, message = '', state_at = ?, "
                        "ready_at = NULL WHERE lab_id = ? AND seat = ?",
                        (vm_id, DEPLOYING, time.time(), lab_id, number))
            record(cur, "lab", lab_id, f"seat {number}: reset to the master disk "
                   f"(VM {seat.vm_id} → VM {vm_id})")
        return vm_id

    def update(self, lab_id: int, event: str = "", **fields: Any) -> Lab:
        if "config" in fields:
            fields["config"] = dumps(fields["config"])
        with self.db.transaction() as cur:
            cur.execute(f"UPDATE labs SET {', '.join(f'{k} = ?' for k in fields)} WHERE id = ?",
                        (*fields.values(), lab_id))
            if event:
                record(cur, "lab", lab_id, event)
        return self.get(lab_id)

    def start_destroy(self, lab_id: int, why: str) -> builtins.list[int]:
        """Mark the lab destroying, wipe its passwords and cancel its VMs (the engine removes
        their disks and leases); the rows go once every VM is done. Returns the VM ids."""
        with self.db.transaction() as cur:
            row = cur.execute("SELECT name FROM labs WHERE id = ?", (lab_id,)).fetchone()
            if row is None:
                return []
            cur.execute("UPDATE labs SET state = 'destroying' WHERE id = ?", (lab_id,))
            cur.execute("UPDATE seats SET password = '' WHERE lab_id = ?", (lab_id,))
            vm_ids = [r[0] for r in cur.execute(
                "SELECT vm_id FROM seats WHERE lab_id = ? AND vm_id IS NOT NULL", (lab_id,))]
            vm_ids += [r[0] for r in cur.execute(
                "SELECT id FROM vms WHERE json_extract(info, '$.lab') = ? AND state NOT IN "
                "('done', 'fail')", (lab_id,)) if r[0] not in vm_ids]
            record(cur, "lab", lab_id, f"lab {row[0]}: destroying ({why}); credentials wiped")
        return vm_ids

    def delete(self, lab_id: int) -> None:
        with self.db.transaction() as cur:
            row = cur.execute("SELECT name FROM labs WHERE id = ?", (lab_id,)).fetchone()
            if row is None:
                return
            cur.execute("DELETE FROM seats WHERE lab_id = ?", (lab_id,))
            cur.execute("DELETE FROM labs WHERE id = ?", (lab_id,))
            record(cur, "lab", lab_id, f"lab {row[0]} destroyed")
