"""What a VM is made of when it is placed and deployed: its identity (the same for every
engine on a store), its template with NICs filled from its leases, the scheduler's view of
it (size, kind, REQUIREMENTS, RANK) and the scheduler's view of the hosts."""

from __future__ import annotations

import uuid
from typing import Any

from onetui.drivers.base import Placement
from onetui.engine.scheduler import EC2, HYBRID, LOCAL, HostView, Request
from onetui.model import ACTIVE_STATES, VM, Host
from onetui.store import Store
from onetui.template import Template, Vector, parse, rank_of, requirements_of


def template_kind(tpl: Template) -> str:
    """EC2-only templates go to ec2 hosts, local ones never do, and a template with both an
    EC2 section and OS/DISK may run either way (local first: cloud bursting)."""
    has_ec2 = tpl.get("EC2") is not None
    has_local = tpl.get("OS") is not None or tpl.get("DISK") is not None
    if has_ec2 and has_local:
        return HYBRID
    return EC2 if has_ec2 else LOCAL


def request_for(vm_id: int, cpu: float, memory: int, tpl: Template) -> Request:
    """What the scheduler needs of a VM (or of a VM about to be made): its size, kind,
    REQUIREMENTS and RANK."""
    return Request(vm_id, cpu, memory, template_kind(tpl), requirements_of(tpl), rank_of(tpl))


def identity(store_id: str, vm_id: int) -> str:
    """The guest identity of a VM: the same for every engine on this store, so a deploy
    repeated after a crash finds the guest the first one made."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"onetui:{store_id}:vm:{vm_id}"))


class Placements:
    def __init__(self, store: Store) -> None:
        self.store = store

    def of(self, vm: VM) -> Placement:
        """What a driver gets: the VM's template with its NICs on onetui networks filled
        from the VM's leases (MAC from the IP, the network's bridge)."""
        tpl = parse(vm.body, f"VM {vm.id}")
        leases = {lease.network: lease for lease in self.store.networks.leases(vm_id=vm.id)}
        if leases:
            nics = tpl.get_all("NIC")
            if any(isinstance(n, Vector) and n.get("NETWORK") in leases for n in nics):
                tpl.remove("NIC")
                for nic in nics:
                    tpl.add("NIC", self._leased_nic(nic, leases))
        return Placement(vm.id, vm.name, tpl, identity(self.store.store_id, vm.id))

    def _leased_nic(self, nic: Any, leases: dict[str, Any]) -> Any:
        lease = leases.get(nic.get("NETWORK") or "") if isinstance(nic, Vector) else None
        if lease is None:
            return nic
        bridge = self.store.networks.get(lease.network).config.get("bridge")
        items = [(k, v) for k, v in nic.items if k not in ("NETWORK", "MAC", "IP", "BRIDGE")]
        extra = [("BRIDGE", bridge)] if bridge else []
        return Vector((*items, ("MAC", lease.mac), ("IP", lease.ip), *extra))

    def lease_nics(self, vm: VM) -> None:
        """Lease an address on every onetui network the VM's NICs name (idempotent: a VM
        keeps its lease until it is done). Raises Conflict when a network is full."""
        names = {n.name for n in self.store.networks.list()}
        first = None
        for nic in parse(vm.body, f"VM {vm.id}").get_all("NIC"):
            if isinstance(nic, Vector) and nic.get("NETWORK") in names:
                lease = self.store.networks.lease(nic.get("NETWORK") or "", vm.id)
                first = first or lease
        if first is not None and (vm.ip, vm.mac) != (first.ip, first.mac):
            self.store.vms.update(vm.id, ip=first.ip, mac=first.mac)


def _unusable(host: Host) -> str:
    if not host.enabled:
        return "host is disabled"
    if host.state == "err":
        return f"host is in error: {host.error}"
    if host.state != "on":
        return f"host is {host.state} (not monitored yet)"
    return ""


def host_views(hosts: list[Host], vms: list[VM]) -> list[HostView]:
    """The scheduler's view of each host: its capacity, what onetui's active VMs and
    foreign guests use, whether it can take VMs at all, and its attributes."""
    load: dict[int, tuple[float, int, int]] = {}
    for vm in vms:
        if vm.host_id is not None and vm.state in ACTIVE_STATES:
            cpu, mem, n = load.get(vm.host_id, (0.0, 0, 0))
            load[vm.host_id] = (cpu + vm.cpu * 100, mem + vm.memory, n + 1)
    views = []
    for host in hosts:
        mon = host.monitor
        cpu, mem, n = load.get(host.id, (0.0, 0, 0))
        views.append(HostView(
            id=host.id, name=host.name, driver=host.driver,
            tcpu=float(mon.get("TCPU", 0)), tmem=int(mon.get("TMEM", 0)),
            used_cpu=cpu + float(mon.get("FOREIGN_CPU", 0)),
            used_mem=mem + int(mon.get("FOREIGN_MEM", 0)), rvm=n,
            unusable=_unusable(host),
            attrs={**{k: v for k, v in mon.items() if k in ("FCPU", "FMEM", "HYPERVISOR")},
                   **host.attrs},
        ))
    return views
