"""The reconcile loop: one engine per store acts on what the CLI and console asked for.

A pass: monitor every host once (concurrently, one guest listing per host), bring VM states
in line with what the hosts report, carry out the admin's intents (shutdown, delete, …),
schedule pending VMs, deploy what was placed, then run hooks. Every change is written to the
store with its event, so a crash between two steps loses nothing: the next engine finds
VMs in `prol` and deploys them again, and the driver adopts a guest it made before (its
identity is derived from the store and the VM id) instead of making a second one.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from onetui.drivers.base import (
    GUEST_OFF,
    GUEST_PAUSED,
    GUEST_RUNNING,
    Driver,
    DriverError,
    Guest,
    HostInfo,
    HostUnreachable,
    Placement,
)
from onetui.drivers.registry import make_driver
from onetui.engine.launcher import Launcher, fault
from onetui.engine.scheduler import EC2, HYBRID, LOCAL, HostView, Request, schedule
from onetui.errors import Conflict
from onetui.model import ACTIVE_STATES, VM, Host
from onetui.store import Store
from onetui.store.records import dumps
from onetui.template import Template, TemplateError, Vector, parse, rank_of, requirements_of

ON_HOST = frozenset({"boot", "runn", "susp", "shut", "unkn"})  # states with a live guest
# (intent, state) → (driver method, new state, event): the intents that are one call.
_PLAIN_INTENTS = {
    ("suspend", "runn"): ("suspend", "susp", "suspended"),
    ("resume", "susp"): ("resume", "runn", "resumed"),
    ("stop", "runn"): ("stop", "stop", "stopped (saved to disk)"),
    ("resume", "stop"): ("start", "boot", "restoring from disk"),
}


class Hook(Protocol):
    """Told about VM state changes after each pass (SGE join, load balancer update…).
    A hook may also have `tick(vms)`, called every pass (retries, slow steps), and
    `hold_stop(vm) -> str`, asked before a shutdown: a non-empty answer (why) makes the
    shutdown wait, e.g. while an SGE host drains."""

    def vm_changed(self, vm: VM, old: str, new: str) -> None: ...


@dataclass
class PassStats:
    hosts: int = 0
    monitored: int = 0
    placed: int = 0
    deployed: int = 0
    transitions: list[tuple[int, str, str]] = field(default_factory=list)


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


class Engine:
    def __init__(self, store: Store, *, lease_ttl: float = 10.0, interval: float = 2.0,
                 shutdown_timeout: float = 120.0, workers: int = 8,
                 driver_factory: Callable[[Host, str], Driver] = make_driver) -> None:
        self.store = store
        self.lease_ttl = lease_ttl
        self.interval = interval
        self.shutdown_timeout = shutdown_timeout
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self._hooks: list[Hook] = []
        self._driver_factory = driver_factory
        self._drivers: dict[int, tuple[str, Driver]] = {}
        self._requests: dict[int, Request | str] = {}
        self._cpu: dict[int, tuple[int, float]] = {}
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="onetui-engine")
        self._store_id = store.store_id
        self._stats = PassStats()
        self._launcher = Launcher(self)

    # -- leadership and the loop ---------------------------------------------------------

    def lead(self) -> bool:
        """Take or renew the lease; only the leader may run passes."""
        return self.store.leader.acquire(self.owner, self.lease_ttl)

    def run(self, stop: threading.Event,
            on_wait: Callable[[str], None] | None = None) -> None:
        """Pass after pass until `stop` is set; waits (saying so once) while another engine
        holds the lease, and takes over when that lease runs out."""
        waiting = False
        try:
            while not stop.is_set():
                if self.lead():
                    waiting = False
                    self.run_pass()
                elif not waiting and on_wait:
                    waiting = True
                    lease = self.store.leader.current()
                    if lease:
                        on_wait(f"engine pid {lease.pid} on {lease.hostname} holds the lease; "
                                "waiting to take over")
                stop.wait(self.interval)
        finally:
            self.close()

    @property
    def hooks(self) -> list[Hook]:
        return self._hooks

    @hooks.setter
    def hooks(self, hooks: list[Hook]) -> None:
        """Hooks that need more than the store (the lab manager reads guests' consoles)
        get the engine through their `attach`."""
        self._hooks = list(hooks)
        for hook in self._hooks:
            attach = getattr(hook, "attach", None)
            if attach is not None:
                attach(self)

    def console(self, vm: VM) -> str:
        """A VM's serial console output, from its host's driver ("" when it has none)."""
        entry = self._drivers.get(vm.host_id) if vm.host_id is not None else None
        reader = getattr(entry[1], "console", None) if entry else None
        if reader is None or not vm.deploy_id:
            return ""
        return reader(vm.deploy_id)

    def close(self) -> None:
        for hook in self._hooks:
            stop = getattr(hook, "close", None)
            if stop is not None:
                with contextlib.suppress(Exception):
                    stop()
        self.store.leader.release(self.owner)
        self._pool.shutdown(wait=True)
        for _, driver in self._drivers.values():
            with contextlib.suppress(Exception):  # closing must never hide the real outcome
                driver.close()
        self._drivers.clear()

    def run_pass(self) -> PassStats:
        self._stats = stats = PassStats()
        hosts = self.store.hosts.list()
        stats.hosts = len(hosts)
        self._sync_drivers(hosts)
        vms = self.store.vms.list(include_done=False)
        self._monitor(hosts, vms)
        self._intents(self.store.vms.list(include_done=False))
        self._schedule(self.store.hosts.list(), self.store.vms.list(include_done=False))
        deployed = self._deploy([vm for vm in self.store.vms.list(states=["prol"])
                                 if not vm.intent])
        if deployed:  # look once more, so a guest that is up shows `runn` this pass
            self._monitor([h for h in self.store.hosts.list() if h.id in deployed],
                          self.store.vms.list(include_done=False))
        self._run_hooks()
        return stats

    # -- drivers -------------------------------------------------------------------------

    def _sync_drivers(self, hosts: list[Host]) -> None:
        wanted = {h.id: f"{h.driver}:{dumps(h.config)}" for h in hosts}
        for hid in list(self._drivers):
            if wanted.get(hid) != self._drivers[hid][0]:
                _, old = self._drivers.pop(hid)
                old.close()
        for host in hosts:
            if host.id not in self._drivers:
                try:
                    self._drivers[host.id] = (wanted[host.id],
                                              self._driver_factory(host, self._store_id))
                except DriverError as exc:
                    self.store.hosts.set_monitor(host.id, "err", {}, str(exc))

    def identity(self, vm_id: int) -> str:
        """The guest identity of a VM: the same for every engine on this store."""
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"onetui:{self._store_id}:vm:{vm_id}"))

    def _placement(self, vm: VM) -> Placement:
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
        return Placement(vm.id, vm.name, tpl, self.identity(vm.id))

    def _leased_nic(self, nic: Any, leases: dict[str, Any]) -> Any:
        lease = leases.get(nic.get("NETWORK")) if isinstance(nic, Vector) else None
        if lease is None:
            return nic
        bridge = self.store.networks.get(lease.network).config.get("bridge")
        items = [(k, v) for k, v in nic.items if k not in ("NETWORK", "MAC", "IP", "BRIDGE")]
        extra = [("BRIDGE", bridge)] if bridge else []
        return Vector((*items, ("MAC", lease.mac), ("IP", lease.ip), *extra))

    def _lease_nics(self, vm: VM) -> None:
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

    # -- monitoring ----------------------------------------------------------------------

    def _sample(self, host_id: int) -> tuple[HostInfo, dict[str, Guest]] | str:
        driver = self._drivers[host_id][1]
        try:
            return driver.monitor(), driver.guests()
        except DriverError as exc:
            return str(exc) or exc.__class__.__name__

    def _monitor(self, hosts: list[Host], vms: list[VM]) -> None:
        polled = [h for h in hosts if h.id in self._drivers]
        samples = dict(zip([h.id for h in polled],
                           self._pool.map(self._sample, [h.id for h in polled]), strict=True))
        fault("poll")
        by_host: dict[int, list[VM]] = {}
        for vm in vms:
            if vm.host_id is not None:
                by_host.setdefault(vm.host_id, []).append(vm)
        for host in polled:
            sample = samples[host.id]
            mine = by_host.get(host.id, [])
            if isinstance(sample, str):
                self.store.hosts.set_monitor(host.id, "err", host.monitor, sample)
                for vm in mine:
                    if vm.state in ON_HOST - {"unkn"}:
                        self._transition(vm, "unkn", event=f"host {host.name} unreachable",
                                         info={**vm.info, "before_unkn": vm.state})
                continue
            info, guests = sample
            self._stats.monitored += 1
            for vm in mine:
                self._reconcile(vm, guests.get(vm.deploy_id), host)
            ended = {vid for vid, _, new in self._stats.transitions if new in ("done", "fail")}
            still = [vm for vm in mine if vm.id not in ended]
            monitor = _monitor_dict(info, still, guests)
            if host.driver == "ec2":
                monitor["ORPHANS"] = self._orphans(host, vms, guests)
            self.store.hosts.set_monitor(host.id, "on", monitor)

    def _orphans(self, host: Host, vms: list[VM], guests: dict[str, Guest]) -> list[str]:
        """Instances tagged with this store that no VM owns (or is about to adopt). They
        are only reported, with an event when new ones appear: terminating is the admin's
        call (`onetui ec2 orphans --terminate`)."""
        owned = {vm.deploy_id for vm in vms if vm.deploy_id}
        adopting = {vm.info.get("launch") for vm in vms if vm.state == "prol"}
        orphans = sorted(gid for gid, g in guests.items()
                         if gid not in owned and g.info.get("launch") not in adopting)
        new = set(orphans) - set(host.monitor.get("ORPHANS", []))
        if new:
            self.store.events.add("host", host.id, f"host {host.name}: orphan instance(s) "
                                  f"{', '.join(sorted(new))} (tagged with this store, owned "
                                  "by no VM)", level="warning")
        return orphans

    def _reconcile(self, vm: VM, guest: Guest | None, host: Host) -> None:
        """Bring one VM's state in line with what its host reports."""
        if vm.state not in ON_HOST or not vm.deploy_id:
            return
        if vm.state == "shut":
            self._reconcile_shutdown(vm, guest)
            return
        if guest is None:
            self._transition(vm, "fail", event=f"guest vanished from {host.name}",
                             message=f"the guest disappeared from {host.name} "
                                     "(host rebooted or guest destroyed outside onetui)")
            self._epilog(vm)
            return
        if guest.state == GUEST_OFF:
            self._finish(vm, "powered off from inside the guest")
            return
        new = {GUEST_RUNNING: "runn", GUEST_PAUSED: "susp"}.get(guest.state, "boot")
        if new == "boot" and vm.state != "boot":
            new = vm.state  # a booting guest of a VM past boot: nothing to learn yet
        info = {**vm.info, **self._usage(vm, guest), **{f"guest_{k}": v for k, v in
                                                         guest.info.items()}}
        fields: dict[str, Any] = {}
        if info != vm.info:
            fields["info"] = info
        if guest.ip and guest.ip != vm.ip:
            fields["ip"] = guest.ip
        if new == "runn" and vm.state == "boot":
            problem = self._first_run(vm, host)
            if problem:
                fields["message"] = problem
        if new != vm.state:
            event = f"host {host.name} reachable again" if vm.state == "unkn" else ""
            self._transition(vm, new, event=event, **fields)
        elif fields:
            self.store.vms.update(vm.id, **fields)

    def _first_run(self, vm: VM, host: Host) -> str:
        """Work a driver does once a guest runs (EC2: the Elastic IP). A problem is shown on
        the VM and logged; the VM stays up."""
        driver = self._driver(vm)
        finish = getattr(driver, "finish", None)
        if finish is None:
            return ""
        problem = finish(vm.deploy_id, parse(vm.body, f"VM {vm.id}"))
        if problem:
            self.store.events.add("vm", vm.id, f"VM {vm.id} {vm.name}: {problem}",
                                  level="error")
        return problem

    def _usage(self, vm: VM, guest: Guest) -> dict[str, int]:
        """CPU (percent of one core, over the last pass) and memory (MB) for the CPU/MEM
        columns; rounded, so an idle VM writes nothing pass after pass."""
        now = time.monotonic()
        before = self._cpu.get(vm.id)
        self._cpu[vm.id] = (guest.cpu_time_ns, now)
        cpu = 0
        if before and now > before[1]:
            cpu = round(max(0, guest.cpu_time_ns - before[0]) / ((now - before[1]) * 1e7))
        return {"cpu_usage": cpu, "mem_usage": guest.memory_mb or vm.memory}

    def _reconcile_shutdown(self, vm: VM, guest: Guest | None) -> None:
        if guest is None or guest.state == GUEST_OFF:
            self._finish(vm, "shut down")
            return
        asked = float(vm.info.get("shutdown_at", 0))
        if asked and time.time() - asked > self.shutdown_timeout:
            self._finish(vm, f"did not shut down within {self.shutdown_timeout:g} s; destroyed")

    def _finish(self, vm: VM, why: str) -> None:
        """Undefine the guest, remove its per-VM disks, and mark the VM done."""
        try:
            if vm.deploy_id:
                self._driver(vm).cancel(vm.deploy_id)
            self._epilog(vm)
        except DriverError as exc:
            self.store.vms.update(vm.id, message=f"cleanup failed: {exc}",
                                  event=f"VM {vm.id}: cleanup failed: {exc}", level="error")
            return
        self._transition(vm, "done", event=why, intent="")

    def _epilog(self, vm: VM) -> None:
        driver = self._driver(vm)
        if driver is not None:
            driver.epilog(self._placement(vm))

    def _driver(self, vm: VM) -> Driver | None:
        entry = self._drivers.get(vm.host_id) if vm.host_id is not None else None
        return entry[1] if entry else None

    # -- intents -------------------------------------------------------------------------

    def _intents(self, vms: list[VM]) -> None:
        for vm in vms:
            if not vm.intent:
                continue
            try:
                self._intent(vm)
            except HostUnreachable as exc:  # try again next pass
                self.store.vms.update(vm.id, message=f"{vm.intent} waits: {exc}")
            except DriverError as exc:
                self.store.vms.update(vm.id, intent="", message=f"{vm.intent} failed: {exc}",
                                      event=f"VM {vm.id}: {vm.intent} failed: {exc}",
                                      level="error")

    def _intent(self, vm: VM) -> None:
        driver = self._driver(vm)
        live = driver is not None and vm.deploy_id and vm.state in ON_HOST | {"fail", "stop"}
        if vm.intent == "cancel":
            if driver is not None:
                # A VM caught between placement and deploy may have a guest from an engine
                # that died mid-deploy: find it (by identity, or by its launch) so nothing is
                # left running.
                found = vm.deploy_id if live else driver.find(self._placement(vm))
                if found:
                    driver.cancel(found)
                elif hasattr(driver, "find_launch"):
                    self._launcher.cancel(driver, vm)
                self._epilog(vm)
            self._transition(vm, "done", event="deleted", intent="")
        elif vm.intent == "shutdown" and live and vm.state != "shut":
            waiting = self._held(vm)
            if waiting:
                if vm.message != waiting:
                    self.store.vms.update(vm.id, message=waiting)
                return
            if vm.state == "susp":
                driver.resume(vm.deploy_id)  # a paused guest cannot hear ACPI
            driver.shutdown(vm.deploy_id)
            self._transition(vm, "shut", event="shutdown requested", intent="",
                             info={**vm.info, "shutdown_at": time.time()})
        elif live and (vm.intent, vm.state) in _PLAIN_INTENTS:
            method, new, event = _PLAIN_INTENTS[(vm.intent, vm.state)]
            getattr(driver, method)(vm.deploy_id)
            self._transition(vm, new, event=event, intent="")
        else:
            self.store.vms.update(vm.id, intent="",
                                  event=f"VM {vm.id}: {vm.intent} not possible in {vm.state}")

    # -- scheduling and deployment ---------------------------------------------------------

    def _request(self, vm: VM) -> Request | str:
        """The scheduler's view of a VM (cached: a VM's template never changes)."""
        cached = self._requests.get(vm.id)
        if cached is None:
            try:
                cached = request_for(vm.id, vm.cpu, vm.memory, parse(vm.body, f"VM {vm.id}"))
            except TemplateError as exc:
                cached = str(exc)
            self._requests[vm.id] = cached
        return cached

    def _schedule(self, hosts: list[Host], vms: list[VM]) -> None:
        pending = [vm for vm in vms if vm.state == "pend" and not vm.intent]
        if not pending:
            return
        views = host_views(hosts, vms)
        requests = []
        for vm in pending:
            req = self._request(vm)
            if isinstance(req, str):
                self._transition(vm, "fail", event="bad template", message=req)
            else:
                requests.append(req)
        decision = schedule(requests, views)
        names = {h.id: h.name for h in hosts}
        by_id = {vm.id: vm for vm in pending}
        for vm_id, host_id in decision.placements.items():
            self._transition(by_id[vm_id], "prol", expect={"pend"}, host_id=host_id,
                             message=decision.why[vm_id], sched=[],
                             event=f"placed on {names[host_id]}")
            self._stats.placed += 1
        for vm_id, reasons in decision.pending.items():
            vm = by_id[vm_id]
            message = f"cannot be placed: {decision.summary[vm_id]}"
            if vm.message != message or vm.sched != reasons:
                self.store.vms.update(vm_id, message=message, sched=reasons)

    def _deploy(self, vms: list[VM]) -> set[int]:
        """Deploy placed VMs (one by one, concurrently; or in launches where the driver
        batches, as EC2 does); returns the ids of hosts that got a guest."""
        hosts: set[int] = set()
        batched: dict[int, list[VM]] = {}
        single = []
        for vm in vms:
            if hasattr(self._driver(vm), "launch"):
                batched.setdefault(vm.host_id, []).append(vm)
            else:
                single.append(vm)
        leased = []
        for vm in single:
            try:
                self._lease_nics(vm)
                leased.append(vm)
            except Conflict as exc:
                self._transition(vm, "fail", event="no address", message=str(exc))
        single = leased
        all_hosts = {h.id: h for h in self.store.hosts.list()}
        for host_id, group in batched.items():
            try:
                hosts |= self._launcher.run(all_hosts[host_id], self._drivers[host_id][1],
                                            group)
            except HostUnreachable as exc:
                for vm in group:
                    self.store.vms.update(vm.id, message=f"deploy waits: {exc}")
        for vm, outcome in zip(single, self._pool.map(self._deploy_one, single), strict=True):
            if isinstance(outcome, HostUnreachable):
                self._transition(vm, "pend", host_id=None,
                                 event=f"host unreachable during deploy ({outcome}); "
                                       "rescheduling", message=str(outcome))
            elif isinstance(outcome, Exception):
                self._transition(vm, "fail", event="deploy failed", message=str(outcome))
            else:
                self._transition(vm, "boot", expect={"prol"}, deploy_id=outcome,
                                 message=vm.message)
                hosts.add(vm.host_id)
        return hosts

    def _deploy_one(self, vm: VM) -> str | Exception:
        """Prolog and deploy in a worker thread; errors are returned, not raised."""
        driver = self._driver(vm)
        if driver is None:
            return HostUnreachable("the host's driver is not available")
        placement = self._placement(vm)
        try:
            ready = replace(placement, template=driver.prolog(placement))
            return driver.deploy(ready)
        except HostUnreachable as exc:
            return exc
        except (DriverError, TemplateError) as exc:
            try:
                found = driver.find(placement)
                if found:
                    driver.cancel(found)
                driver.epilog(placement)
            except DriverError:
                pass
            return exc

    # -- transitions and hooks -------------------------------------------------------------

    def _transition(self, vm: VM, state: str, *, expect: set[str] | None = None,
                    event: str = "", **fields: Any) -> None:
        try:
            self.store.vms.transition(vm.id, state, expect=expect, event=event, **fields)
        except Conflict:
            return  # the admin changed it meanwhile: their word wins, next pass sees it
        self._stats.transitions.append((vm.id, vm.state, state))
        if (vm.state, state) == ("prol", "boot"):
            self._stats.deployed += 1
        # (a VM's leases go back inside the store's transition to `done`)
        if state in ("done", "fail"):
            self._requests.pop(vm.id, None)
            self._cpu.pop(vm.id, None)

    def _held(self, vm: VM) -> str:
        for hook in self.hooks:
            hold = getattr(hook, "hold_stop", None)
            if hold is not None:
                why = hold(vm)
                if why:
                    return why
        return ""

    def _run_hooks(self) -> None:
        if not self.hooks:
            return
        live = None
        for hook in self.hooks:
            tick = getattr(hook, "tick", None)
            if tick is not None:
                live = live if live is not None else self.store.vms.list(states=["runn"])
                try:
                    tick(live)
                except Exception as exc:  # a broken hook must not stop the engine
                    self.store.events.add("engine", None, f"hook {type(hook).__name__} "
                                          f"failed: {exc}", level="error")
        if not self._stats.transitions:
            return
        vms = {vm.id: vm for vm in self.store.vms.by_ids({t[0] for t in self._stats.transitions})}
        for vm_id, old, new in self._stats.transitions:
            for hook in self.hooks:
                try:
                    hook.vm_changed(vms[vm_id], old, new)
                except Exception as exc:  # a broken hook must not stop the engine
                    self.store.events.add("vm", vm_id, f"hook {type(hook).__name__} failed: "
                                          f"{exc}", level="error")


def _monitor_dict(info: HostInfo, vms: list[VM], guests: dict[str, Guest]) -> dict[str, Any]:
    """What `host list` shows: OpenNebula's columns, plus the allocation the scheduler uses."""
    active = [vm for vm in vms if vm.state in ACTIVE_STATES]
    alloc_cpu = sum(vm.cpu * 100 for vm in active) + info.foreign_cpu
    alloc_mem = sum(vm.memory for vm in active) + info.foreign_mem
    return {
        "TCPU": info.tcpu, "FCPU": info.fcpu, "ACPU": round(info.tcpu - alloc_cpu),
        "TMEM": info.tmem, "FMEM": info.fmem, "AMEM": info.tmem - alloc_mem,
        "RVM": sum(1 for g in guests.values() if g.state != GUEST_OFF),
        "FOREIGN_CPU": info.foreign_cpu, "FOREIGN_MEM": info.foreign_mem,
        "HYPERVISOR": info.hypervisor, **info.extra,
    }


def _unusable(host: Host) -> str:
    if not host.enabled:
        return "host is disabled"
    if host.state == "err":
        return f"host is in error: {host.error}"
    if host.state != "on":
        return f"host is {host.state} (not monitored yet)"
    return ""


def host_views(hosts: list[Host], vms: list[VM]) -> list[HostView]:
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
