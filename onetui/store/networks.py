"""Networks with an address range, and the leases VMs hold on them (OpenNebula's ranged
virtual networks): each lease has an IP, a MAC derived from it, and a hostname."""

from __future__ import annotations

import builtins
import ipaddress
import json
import sqlite3
import time
from typing import Any

from onetui.errors import Conflict, UserError
from onetui.model import check_pattern
from onetui.model.networks import MAX_RANGE, Lease, Network, hostname_for, mac_for
from onetui.store.db import Database
from onetui.store.events import record
from onetui.store.records import by_id_or_name, check_name, check_object_name, dumps, next_id


def _network(row: sqlite3.Row) -> Network:
    return Network(row["id"], row["name"], row["first_ip"], row["last_ip"], row["hostname"],
                   json.loads(row["config"]))


def parse_range(text: str) -> tuple[str, str]:
    first, sep, last = text.partition("-")
    try:
        a, b = ipaddress.IPv4Address(first.strip()), ipaddress.IPv4Address(last.strip())
    except ValueError:
        raise UserError(f"--range {text!r}: expected FIRST-LAST IPv4 addresses, e.g. "
                        "10.1.1.100-10.1.1.254") from None
    if not sep or int(b) < int(a):
        raise UserError(f"--range {text!r}: the last address must not come before the first")
    if int(b) - int(a) + 1 > MAX_RANGE:
        raise UserError(f"--range {text!r}: at most {MAX_RANGE} addresses")
    return str(a), str(b)


def lease_in(cur: sqlite3.Cursor, net: Network, vm_id: int) -> Lease:
    """`Networks.lease` inside the caller's transaction (a lab leases all its seats in one)."""
    row = cur.execute("SELECT * FROM leases WHERE network_id = ? AND vm_id = ?",
                      (net.id, vm_id)).fetchone()
    if row is not None:
        return Lease(net.name, row["ip"], row["mac"], row["hostname"], vm_id)
    taken = {r[0] for r in cur.execute("SELECT ip FROM leases WHERE network_id = ?", (net.id,))}
    first = int(ipaddress.IPv4Address(net.first_ip))
    index = next((i for i in range(net.size)
                  if str(ipaddress.IPv4Address(first + i)) not in taken), None)
    if index is None:
        raise Conflict(f"network {net.name}: all {net.size} addresses are leased")
    ip = str(ipaddress.IPv4Address(first + index))
    lease = Lease(net.name, ip, mac_for(ip), hostname_for(net.hostname, index), vm_id)
    cur.execute("INSERT INTO leases(network_id, ip, mac, hostname, vm_id) "
                "VALUES (?, ?, ?, ?, ?)", (net.id, ip, lease.mac, lease.hostname, vm_id))
    record(cur, "network", net.id, f"network {net.name}: {ip} "
           f"{lease.hostname or ''} leased to VM {vm_id}".replace("  ", " "))
    return lease


def release_in(cur: sqlite3.Cursor, vm_id: int) -> int:
    """Give back every lease of a VM inside the caller's transaction (the VM's move to
    `done`, so even a seat deleted before it was placed returns its address)."""
    rows = cur.execute("SELECT leases.ip, networks.name, networks.id FROM leases JOIN networks "
                       "ON networks.id = leases.network_id WHERE vm_id = ?", (vm_id,)).fetchall()
    cur.execute("DELETE FROM leases WHERE vm_id = ?", (vm_id,))
    for ip, name, nid in rows:
        record(cur, "network", nid, f"network {name}: {ip} released by VM {vm_id}")
    return len(rows)


class Networks:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, name: str, first_ip: str, last_ip: str, hostname: str = "",
            config: dict[str, Any] | None = None) -> Network:
        check_object_name("network", name)
        if hostname:
            first, last = parse_range(f"{first_ip}-{last_ip}")
            size = int(ipaddress.IPv4Address(last)) - int(ipaddress.IPv4Address(first)) + 1
            for index in (0, max(0, size - 1)):  # what /etc/hosts and UserData will hold
                check_name("hostname", hostname_for(check_pattern(hostname), index))
        with self.db.transaction() as cur:
            try:
                cur.execute(
                    "INSERT INTO networks(id, name, first_ip, last_ip, hostname, config, "
                    "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (next_id(cur, "networks"), name, first_ip, last_ip, hostname,
                     dumps(config or {}), time.time()))
            except sqlite3.IntegrityError:
                raise Conflict(f"network {name!r} exists already") from None
            record(cur, "network", cur.lastrowid,
                   f"network {name} created ({first_ip}-{last_ip})")
        return self.get(name)

    def get(self, ref: str | int) -> Network:
        return _network(by_id_or_name(self.db, "networks", "net", ref))

    def list(self) -> list[Network]:
        return [_network(r) for r in self.db.read("SELECT * FROM networks ORDER BY id")]

    def delete(self, ref: str | int) -> Network:
        net = self.get(ref)
        with self.db.transaction() as cur:
            used = cur.execute("SELECT COUNT(*) FROM leases WHERE network_id = ?",
                               (net.id,)).fetchone()[0]
            if used:
                raise Conflict(f"network {net.name} has {used} lease(s) in use")
            cur.execute("DELETE FROM networks WHERE id = ?", (net.id,))
            record(cur, "network", net.id, f"network {net.name} deleted")
        return net

    def lease(self, ref: str | int, vm_id: int) -> Lease:
        """The VM's lease on this network: its existing one, or the lowest free address."""
        net = self.get(ref)
        with self.db.transaction() as cur:
            return lease_in(cur, net, vm_id)

    def release(self, vm_id: int) -> int:
        """Give back every lease of a VM (a launch that failed)."""
        with self.db.transaction() as cur:
            return release_in(cur, vm_id)

    def leases(self, ref: str | int | None = None,
               vm_id: int | None = None) -> builtins.list[Lease]:
        sql = ("SELECT leases.*, networks.name AS net FROM leases JOIN networks ON "
               "networks.id = leases.network_id")
        where, params = [], []
        if ref is not None:
            where.append("networks.id = ?")
            params.append(self.get(ref).id)
        if vm_id is not None:
            where.append("leases.vm_id = ?")
            params.append(vm_id)
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self.db.read(sql + " ORDER BY leases.rowid", tuple(params))
        return [Lease(r["net"], r["ip"], r["mac"], r["hostname"], r["vm_id"]) for r in rows]

    def free(self, ref: str | int) -> int:
        net = self.get(ref)
        used = self.db.read("SELECT COUNT(*) FROM leases WHERE network_id = ?", (net.id,))[0][0]
        return net.size - int(used)
