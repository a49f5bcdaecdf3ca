"""The information manager: every host looked at once a pass (concurrently, one guest
listing per host), its figures written for `host list`, and each VM's state brought in
line with what its host reports (a guest that vanished, powered off, paused, or finished
shutting down)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from onetui.drivers.base import (
    GUEST_OFF,
    GUEST_PAUSED,
    GUEST_RUNNING,
    Driver,
    DriverError,
    Finisher,
    Guest,
    HostInfo,
    OneListing,
    PowerSwitch,
    error_line,
)
from onetui.engine.drivers import DriverPool
from onetui.engine.faults import fault
from onetui.engine.lifecycle import ON_HOST, Lifecycle
from onetui.engine.placement import Placements
from onetui.model import ACTIVE_STATES, VM, Host
from onetui.store import Store
from onetui.store.db import StoreError
from onetui.template import parse

Sample = tuple[str, str, dict[str, float]]  # (kind, key, values): a history point

# A VM's CPU use is written again when it moved by at least CPU_STEP (percent of one core)
# and CPU_SHARE of what is shown, or went to or from 0: 100 → 106 → 98 between samples of a
# busy guest is noise, not news (OpenNebula samples it every few minutes).
CPU_STEP = 5
CPU_SHARE = 0.1


class HostMonitor:
    def __init__(self, store: Store, drivers: DriverPool, lifecycle: Lifecycle,
                 placements: Placements, *, shutdown_timeout: float,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock  # the time history points are written at
        self.drivers = drivers
        self.lifecycle = lifecycle
        self.placements = placements
        self.shutdown_timeout = shutdown_timeout
        self._cpu: dict[int, tuple[int, float]] = {}
        lifecycle.on_end(lambda vm_id: self._cpu.pop(vm_id, None))
        # what a look found to write, written together at its end (one transaction)
        self._vm_fields: dict[int, dict[str, Any]] = {}
        self._host_figures: list[tuple[Host, str, dict[str, Any], str]] = []
        self._read_at = 0.0  # when the host being reconciled answered
        # history points (store/history.py) written with the look: what this look measured,
        # and what the managers measured since the last write (`add_samples`), with when
        self._samples: list[Sample] = []
        self._later: list[tuple[float, list[Sample]]] = []

    def add_samples(self, samples: list[Sample], at: float | None = None) -> None:
        """Points measured outside a look (services, the grid): written with the next
        look's transaction, at the time they were measured."""
        if samples:
            self._later.append((self.clock() if at is None else at, samples))

    def look(self, hosts: list[Host], vms: list[VM]) -> None:
        """Monitor `hosts` (side by side, each under the deadline) and reconcile their VMs
        (of `vms`). A host that fails or does not answer is `err` with the reason, and its
        VMs `unkn`; one bad host or VM never stops the others."""
        polled = [h for h in hosts if h.id in self.drivers]
        answers = self.drivers.gather({h.id: (h.id, _sample) for h in polled})
        samples = {hid: error_line(a) if isinstance(a, Exception) else a
                   for hid, a in answers.items()}
        fault("poll")
        by_host: dict[int, list[VM]] = {}
        for vm in vms:
            if vm.host_id is not None:
                by_host.setdefault(vm.host_id, []).append(vm)
        try:
            for host in polled:
                sample = samples[host.id]
                mine = by_host.get(host.id, [])
                if isinstance(sample, str):
                    self._unreachable(host, mine, sample)
                else:
                    self._reachable(host, mine, vms, *sample)
        finally:
            self._write(bool(polled))

    def _write(self, looked: bool) -> None:
        """What the look saw, in one transaction: the VMs' and hosts' figures that changed
        (a steady pass writes next to nothing, so the change log and the console's tick
        stay small), the time of the look, which `vm show` gives as LAST POLL, and the
        history points: this look's, and the managers' since the last write (so with a
        service or `[sge]`, a pass that looked at no host still writes once, for them)."""
        fields, figures = self._vm_fields, self._host_figures
        samples, later = self._samples, self._later
        self._vm_fields, self._host_figures, self._samples, self._later = {}, [], [], []
        if not looked and not fields and not figures and not later:
            return
        with self.store.db.transaction() as cur:
            for vm_id, changed in fields.items():
                self.store.vms.update(vm_id, **changed)
            for host, state, monitor, error in figures:
                self.store.hosts.set_monitor(host.id, state, monitor, error)
            if looked:
                self.store.mark_look()
            for at, points in later:
                self.store.history.record(cur, at, points)
            if samples:
                self.store.history.record(cur, self.clock(), samples)

    def _figures(self, host: Host, state: str, monitor: dict[str, Any], error: str = "") -> None:
        if (host.state, host.monitor, host.error) != (state, monitor, error):
            self._host_figures.append((host, state, monitor, error))

    def _unreachable(self, host: Host, mine: list[VM], why: str) -> None:
        self._figures(host, "err", host.monitor, why)
        for vm in mine:
            if vm.state in ON_HOST - {"unkn"}:
                self.lifecycle.transition(vm, "unkn", event=f"host {host.name} unreachable",
                                          info={**vm.info, "before_unkn": vm.state})

    def _reachable(self, host: Host, mine: list[VM], vms: list[VM], info: HostInfo,
                   guests: dict[str, Guest], read_at: float) -> None:
        self.lifecycle.stats.monitored += 1
        self._read_at = read_at
        for vm in mine:
            with self.lifecycle.isolated(vm, "monitoring"):
                self._reconcile(vm, guests.get(vm.deploy_id), host)
        ended = self.lifecycle.ended()
        still = [vm for vm in mine if vm.id not in ended]
        try:
            monitor = monitor_dict(info, still, guests)
            if host.driver == "ec2":
                monitor["ORPHANS"] = self._orphans(host, vms, guests)
        except StoreError:
            raise
        except Exception as exc:  # the host's own figures are bad: that host alone
            self._figures(host, "err", host.monitor, f"monitoring: {error_line(exc)}")
            return
        self._figures(host, "on", monitor)
        self._samples.append(("host", str(host.id), host_sample(monitor)))

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
            self.lifecycle.transition(
                vm, "fail", event=f"guest vanished from {host.name}",
                message=f"the guest disappeared from {host.name} "
                        "(host rebooted or guest destroyed outside onetui)")
            self.drivers.epilog(vm, self.placements.of)
            return
        if guest.state == GUEST_OFF:
            self.finish(vm, "powered off from inside the guest")
            return
        new = {GUEST_RUNNING: "runn", GUEST_PAUSED: "susp"}.get(guest.state, "boot")
        if new == "boot" and vm.state != "boot":
            new = vm.state  # a booting guest of a VM past boot: nothing to learn yet
        fields = self._observed(vm, guest, sample=new == "runn")
        if new == "runn" and vm.state == "boot":
            problem = self._first_run(vm)
            if problem:
                fields["message"] = problem
        if new != vm.state:
            event = f"host {host.name} reachable again" if vm.state == "unkn" else ""
            self.lifecycle.transition(vm, new, event=event, **fields)
        elif fields:
            self._vm_fields[vm.id] = fields

    def _observed(self, vm: VM, guest: Guest, *, sample: bool) -> dict[str, Any]:
        """The fields of `vm` that differ from what its guest shows: usage, guest info, IP.
        A running VM's usage is also a history point."""
        seen = self._usage(vm, guest, sample)
        for key, value in guest.info.items():
            seen[f"guest_{key}"] = value
        fields: dict[str, Any] = {}
        old = vm.info
        if any(old.get(key) != value for key, value in seen.items()):  # the usual: no
            fields["info"] = {**old, **seen}
        if guest.ip and guest.ip != vm.ip:
            fields["ip"] = guest.ip
        return fields

    def _first_run(self, vm: VM) -> str:
        """Work a driver does once a guest runs (EC2: the Elastic IP). A problem is shown on
        the VM and logged; the VM stays up."""
        if not isinstance(self.drivers.of(vm), Finisher):
            return ""
        deploy_id, tpl = vm.deploy_id, parse(vm.body, f"VM {vm.id}")
        problem = self.drivers.call(vm, lambda d: d.finish(deploy_id, tpl)
                                    if isinstance(d, Finisher) else "")
        if problem:
            self.store.events.add("vm", vm.id, f"VM {vm.id} {vm.name}: {problem}",
                                  level="error")
        return problem

    def _usage(self, vm: VM, guest: Guest, sample: bool = False) -> dict[str, Any]:
        """CPU (percent of one core, over the last pass) and memory (MB) for the CPU/MEM
        columns; rounded, so an idle VM writes nothing pass after pass. With `sample`, the
        measured figures (jitter and all) are a history point too; CPU only from the
        second look on (one reading is no rate)."""
        now = guest.read_at or self._read_at
        before = self._cpu.get(vm.id)
        self._cpu[vm.id] = (guest.cpu_time_ns, now)
        cpu = 0
        mem = guest.memory_mb or vm.memory
        if before and now > before[1]:
            cpu = round(max(0, guest.cpu_time_ns - before[0]) / ((now - before[1]) * 1e7))
            if sample:
                self._samples.append(("vm", str(vm.id), {"cpu": cpu, "mem": mem}))
        elif sample:
            self._samples.append(("vm", str(vm.id), {"mem": mem}))
        shown = vm.info.get("cpu_usage")
        if isinstance(shown, int) and shown and cpu and \
                abs(cpu - shown) < max(CPU_STEP, shown * CPU_SHARE):
            cpu = shown  # jitter between samples is not news: keep what the panes show
        return {"cpu_usage": cpu, "mem_usage": mem}

    def _reconcile_shutdown(self, vm: VM, guest: Guest | None) -> None:
        """A shutdown ends in `done` (guest undefined, disks removed); a poweroff in `poff`
        (guest kept, off). Past the timeout the plug is pulled."""
        poweroff = vm.info.get("then") == "poff" and guest is not None
        if guest is None or guest.state == GUEST_OFF:
            if poweroff:
                self._powered_off(vm, "powered off")
            else:
                self.finish(vm, "shut down")
            return
        asked = float(vm.info.get("shutdown_at", 0))
        if not asked or time.time() - asked <= self.shutdown_timeout:
            return
        late = f"did not power off within {self.shutdown_timeout:g} s"
        if poweroff:
            gid = vm.deploy_id
            self.drivers.call(vm, lambda d: d.power_off(gid, True)
                              if isinstance(d, PowerSwitch) else None)
            self._powered_off(vm, f"{late}; plug pulled")
        else:
            self.finish(vm, f"did not shut down within {self.shutdown_timeout:g} s; destroyed")

    def _powered_off(self, vm: VM, why: str) -> None:
        info = {k: v for k, v in vm.info.items() if k not in ("shutdown_at", "then")}
        self.lifecycle.transition(vm, "poff", event=why, info={**info, "cpu_usage": 0})

    def finish(self, vm: VM, why: str) -> None:
        """Undefine the guest, remove its per-VM disks, and mark the VM done."""
        try:
            deploy_id = vm.deploy_id
            if deploy_id and self.drivers.of(vm) is not None:
                self.drivers.call(vm, lambda d: d.cancel(deploy_id))
            self.drivers.epilog(vm, self.placements.of)
        except DriverError as exc:
            self.store.vms.update(vm.id, message=f"cleanup failed: {exc}",
                                  event=f"VM {vm.id}: cleanup failed: {exc}", level="error")
            return
        self.lifecycle.transition(vm, "done", event=why, intent="")


def _sample(driver: Driver) -> tuple[HostInfo, dict[str, Guest], float]:
    """One look at a host: its figures, every guest onetui manages there, and when the
    guests were read (CPU use is CPU time over the time between two reads: the moment the
    engine got round to the answer would add the other hosts' waiting to it)."""
    info, guests = driver.sample() if isinstance(driver, OneListing) else \
        (driver.monitor(), driver.guests())
    return info, guests, time.monotonic()


def host_sample(monitor: dict[str, Any]) -> dict[str, float]:
    """A host's history point from its monitoring figures: CPU and memory used (percent of
    what it has, whoever uses it) and the guests running on it."""
    point: dict[str, float] = {"rvm": float(monitor.get("RVM", 0))}
    for name, total, free in (("cpu", "TCPU", "FCPU"), ("mem", "TMEM", "FMEM")):
        if monitor.get(total):
            point[name] = round(100 * (monitor[total] - monitor.get(free, 0)) / monitor[total], 1)
    return point


def monitor_dict(info: HostInfo, vms: list[VM], guests: dict[str, Guest]) -> dict[str, Any]:
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
