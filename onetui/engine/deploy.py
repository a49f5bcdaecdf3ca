"""The deploy manager: placed VMs (`prol`) made real on their hosts — prolog (per-VM disks)
and deploy one by one, concurrently, on hypervisors; one crash-safe launch per template on
clouds that batch (the launcher, which this manager owns)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import replace

from onetui.drivers.base import (
    BatchLauncher,
    Driver,
    HostUnreachable,
    NoAnswer,
    Placement,
    error_line,
)
from onetui.engine.drivers import DriverPool
from onetui.engine.launcher import Launcher
from onetui.engine.lifecycle import Lifecycle
from onetui.engine.placement import Placements
from onetui.errors import Conflict
from onetui.model import VM
from onetui.store import Store
from onetui.store.db import StoreError


class DeployManager:
    def __init__(self, store: Store, drivers: DriverPool, lifecycle: Lifecycle,
                 placements: Placements, *, deadline: float = 900.0) -> None:
        self.store = store
        self.drivers = drivers
        self.lifecycle = lifecycle
        self.placements = placements
        self.deadline = deadline  # prolog copies disks: far longer than a monitoring call
        self.launcher = Launcher(store, lifecycle, placements)

    def deploy(self, vms: list[VM]) -> set[int]:
        """Deploy placed VMs; returns the ids of hosts that got a guest."""
        batched: dict[int, list[VM]] = {}
        single = []
        for vm in vms:
            if vm.host_id is not None and isinstance(self.drivers.of(vm), BatchLauncher):
                batched.setdefault(vm.host_id, []).append(vm)
            else:
                single.append(vm)
        return self._launch(batched) | self._deploy_each(single)

    def _launch(self, batched: dict[int, list[VM]]) -> set[int]:
        """Cloud hosts: one crash-safe launch per template and batch."""
        hosts: set[int] = set()
        all_hosts = {h.id: h for h in self.store.hosts.list()} if batched else {}
        for host_id, group in batched.items():
            driver = self.drivers.host(host_id)
            assert isinstance(driver, BatchLauncher)
            try:
                hosts |= self.launcher.run(all_hosts[host_id], driver, group)
            except HostUnreachable as exc:
                for vm in group:
                    self.store.vms.update(vm.id, message=f"deploy waits: {exc}")
            except StoreError:
                raise
            except Exception as exc:  # the launch record stays: retried (or adopted) later
                self.lifecycle.stats.errors += 1
                self.store.events.add("host", host_id, f"launch on {all_hosts[host_id].name} "
                                      f"failed: {error_line(exc)}; retried next pass",
                                      level="error")
        return hosts

    def _deploy_each(self, vms: list[VM]) -> set[int]:
        """Hypervisors: lease the NICs' addresses, then prolog and deploy each VM in a
        worker thread."""
        leased = []
        for vm in vms:
            with self.lifecycle.isolated(vm, "leasing addresses"):
                try:
                    self.placements.lease_nics(vm)
                    leased.append(vm)
                except Conflict as exc:
                    self.lifecycle.transition(vm, "fail", event="no address", message=str(exc))
        ready: dict[int, tuple[int, Callable[[Driver], str]]] = {}
        for vm in leased:
            with self.lifecycle.isolated(vm, "deploy"):
                if vm.host_id is not None:
                    ready[vm.id] = (vm.host_id, _deploy(self.placements.of(vm)))
        outcomes = self.drivers.gather(ready, self.deadline)
        hosts: set[int] = set()
        for vm in leased:
            if vm.id in outcomes and self._record(vm, outcomes[vm.id]):
                hosts.add(vm.host_id or 0)
        return hosts

    def _record(self, vm: VM, outcome: str | Exception) -> bool:
        """What a deploy came to; True when the VM got its guest."""
        if isinstance(outcome, NoAnswer):  # it may still land: stay, adopt it later
            self.store.vms.update(vm.id, message=f"deploy waits: {outcome}")
        elif isinstance(outcome, HostUnreachable):  # nothing was made: place it again
            self.lifecycle.transition(vm, "pend", host_id=None,
                                      event=f"host unreachable during deploy ({outcome}); "
                                            "rescheduling", message=str(outcome))
        elif isinstance(outcome, Exception):
            self.lifecycle.transition(vm, "fail", event="deploy failed",
                                      message=error_line(outcome))
        else:
            self.lifecycle.transition(vm, "boot", expect={"prol"}, deploy_id=outcome,
                                      message=vm.message)
            return True
        return False

def _deploy(placement: Placement) -> Callable[[Driver], str]:
    """Prolog and deploy on the host, in a worker thread; a failure removes what was made
    (a half-made guest, its disks) before it is reported."""
    def run(driver: Driver) -> str:
        try:
            ready = replace(placement, template=driver.prolog(placement))
            return driver.deploy(ready)
        except HostUnreachable:
            raise
        except Exception:
            with contextlib.suppress(Exception):
                found = driver.find(placement)
                if found:
                    driver.cancel(found)
                driver.epilog(placement)
            raise
    return run
