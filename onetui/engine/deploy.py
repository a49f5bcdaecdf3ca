"""The deploy manager: placed VMs (`prol`) made real on their hosts — prolog (per-VM disks)
and deploy one by one, concurrently, on hypervisors; one crash-safe launch per template on
clouds that batch (the launcher, which this manager owns)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from onetui.drivers.base import BatchLauncher, DriverError, HostUnreachable
from onetui.engine.drivers import DriverPool
from onetui.engine.launcher import Launcher
from onetui.engine.lifecycle import Lifecycle
from onetui.engine.placement import Placements
from onetui.errors import Conflict
from onetui.model import VM
from onetui.store import Store
from onetui.template import TemplateError


class DeployManager:
    def __init__(self, store: Store, drivers: DriverPool, lifecycle: Lifecycle,
                 placements: Placements, pool: ThreadPoolExecutor) -> None:
        self.store = store
        self.drivers = drivers
        self.lifecycle = lifecycle
        self.placements = placements
        self.pool = pool
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
        return hosts

    def _deploy_each(self, vms: list[VM]) -> set[int]:
        """Hypervisors: lease the NICs' addresses, then prolog and deploy each VM in a
        worker thread."""
        leased = []
        for vm in vms:
            try:
                self.placements.lease_nics(vm)
                leased.append(vm)
            except Conflict as exc:
                self.lifecycle.transition(vm, "fail", event="no address", message=str(exc))
        hosts: set[int] = set()
        for vm, outcome in zip(leased, self.pool.map(self._deploy_one, leased), strict=True):
            if isinstance(outcome, HostUnreachable):
                self.lifecycle.transition(vm, "pend", host_id=None,
                                          event=f"host unreachable during deploy ({outcome}); "
                                                "rescheduling", message=str(outcome))
            elif isinstance(outcome, Exception):
                self.lifecycle.transition(vm, "fail", event="deploy failed",
                                          message=str(outcome))
            else:
                self.lifecycle.transition(vm, "boot", expect={"prol"}, deploy_id=outcome,
                                          message=vm.message)
                if vm.host_id is not None:
                    hosts.add(vm.host_id)
        return hosts

    def _deploy_one(self, vm: VM) -> str | Exception:
        """Prolog and deploy in a worker thread; errors are returned, not raised."""
        driver = self.drivers.of(vm)
        if driver is None:
            return HostUnreachable("the host's driver is not available")
        placement = self.placements.of(vm)
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
