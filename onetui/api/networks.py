"""Networks: create, list, show (with leases), the /etc/hosts lines of their leases, and
delete. Writing those lines into a file is the client's (with its own rights)."""

from __future__ import annotations

import ipaddress
from typing import Any

from onetui.access import Caller
from onetui.api.registry import operation, optional, required
from onetui.store import Store
from onetui.store.networks import parse_range


@operation("net.create", name=required(str), range=required(str),
           hostname=optional("", str), bridge=optional(None, str))
def net_create(store: Store, caller: Caller, name: str, range: str, hostname: str,
               bridge: str | None) -> int:
    first, last = parse_range(range)
    return store.networks.add(name, first, last, hostname,
                              {"bridge": bridge} if bridge else {}).id


@operation("net.list")
def net_list(store: Store, caller: Caller) -> list[dict[str, Any]]:
    """Each network as `net list --json` prints it (with how many addresses are leased)."""
    with store.db.snapshot():
        return [{"id": n.id, "name": n.name, "range": f"{n.first_ip}-{n.last_ip}",
                 "hostname": n.hostname, "size": n.size,
                 "leased": n.size - store.networks.free(n.id), "config": n.config}
                for n in store.networks.list()]


@operation("net.show", ref=required(str, int))
def net_show(store: Store, caller: Caller, ref: str | int) -> dict[str, Any]:
    """A network as `net show --json` prints it, with its size and free addresses."""
    with store.db.snapshot():
        n = store.networks.get(ref)
        leases = store.networks.leases(n.id)
        free = store.networks.free(n.id)
    return {"id": n.id, "name": n.name, "first_ip": n.first_ip, "last_ip": n.last_ip,
            "hostname": n.hostname, "config": n.config, "size": n.size, "free": free,
            "leases": [{"ip": x.ip, "mac": x.mac, "hostname": x.hostname, "vm_id": x.vm_id}
                       for x in leases]}


@operation("net.hosts", ref=required(str, int))
def net_hosts(store: Store, caller: Caller, ref: str | int) -> dict[str, Any]:
    """The network's name and the /etc/hosts lines of its named leases, by address."""
    with store.db.snapshot():
        n = store.networks.get(ref)
        leases = store.networks.leases(n.id)
    ordered = sorted(leases, key=lambda x: int(ipaddress.IPv4Address(x.ip)))
    return {"name": n.name, "lines": [f"{x.ip}\t{x.hostname}" for x in ordered if x.hostname]}


@operation("net.delete", ref=required(str, int))
def net_delete(store: Store, caller: Caller, ref: str | int) -> str:
    n = store.networks.delete(ref)
    return f"deleted network {n.id} {n.name}"
