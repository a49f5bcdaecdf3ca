"""The VM manager's side of the admin's intents: what the CLI and console asked for
(delete, shutdown, suspend, stop, resume) carried out on the VM's host, one VM at a time."""

from __future__ import annotations

import time
from collections.abc import Callable

from onetui.drivers.base import BatchLauncher, Driver, DriverError, HostUnreachable, Suspender
from onetui.engine.drivers import DriverPool
from onetui.engine.launcher import Launcher
from onetui.engine.lifecycle import ON_HOST, Lifecycle
from onetui.engine.placement import Placements
from onetui.model import VM
from onetui.store import Store

# (intent, state) → (what to ask of the host, new state, event): the intents that are one
# call to a driver that can suspend.
_SUSPENDER_INTENTS: dict[tuple[str, str], tuple[Callable[[Suspender, str], None], str, str]] = {
    ("suspend", "runn"): (lambda d, gid: d.suspend(gid), "susp", "suspended"),
    ("resume", "susp"): (lambda d, gid: d.resume(gid), "runn", "resumed"),
    ("stop", "runn"): (lambda d, gid: d.stop(gid), "stop", "stopped (saved to disk)"),
    ("resume", "stop"): (lambda d, gid: d.start(gid), "boot", "restoring from disk"),
}


class IntentManager:
    def __init__(self, store: Store, drivers: DriverPool, lifecycle: Lifecycle,
                 placements: Placements, launcher: Launcher,
                 held: Callable[[VM], str]) -> None:
        self.store = store
        self.drivers = drivers
        self.lifecycle = lifecycle
        self.placements = placements
        self.launcher = launcher
        self.held = held

    def carry_out(self, vms: list[VM]) -> None:
        for vm in vms:
            if not vm.intent:
                continue
            with self.lifecycle.isolated(vm, vm.intent):
                try:
                    self._intent(vm)
                except HostUnreachable as exc:  # try again next pass
                    self.store.vms.update(vm.id, message=f"{vm.intent} waits: {exc}")
                except DriverError as exc:
                    self.store.vms.update(vm.id, intent="",
                                          message=f"{vm.intent} failed: {exc}",
                                          event=f"VM {vm.id}: {vm.intent} failed: {exc}",
                                          level="error")

    def _intent(self, vm: VM) -> None:
        driver = self.drivers.of(vm)
        gid = vm.deploy_id
        live = driver is not None and bool(gid) and vm.state in ON_HOST | {"fail", "stop"}
        if vm.intent == "cancel":
            if driver is not None:
                self._cancel(driver, vm, live)
            self.lifecycle.transition(vm, "done", event="deleted", intent="")
        elif vm.intent == "shutdown" and live and vm.state != "shut":
            waiting = self.held(vm)
            if waiting:
                if vm.message != waiting:
                    self.store.vms.update(vm.id, message=waiting)
                return
            paused = vm.state == "susp"

            def shutdown(d: Driver) -> None:
                if paused and isinstance(d, Suspender):
                    d.resume(gid)  # a paused guest cannot hear ACPI
                d.shutdown(gid)
            self.drivers.call(vm, shutdown)
            self.lifecycle.transition(vm, "shut", event="shutdown requested", intent="",
                                      info={**vm.info, "shutdown_at": time.time()})
        elif live and isinstance(driver, Suspender) and \
                (vm.intent, vm.state) in _SUSPENDER_INTENTS:
            call, new, event = _SUSPENDER_INTENTS[(vm.intent, vm.state)]
            self.drivers.call(vm, lambda d: call(d, gid) if isinstance(d, Suspender) else None)
            self.lifecycle.transition(vm, new, event=event, intent="")
        else:
            self.store.vms.update(vm.id, intent="",
                                  event=f"VM {vm.id}: {vm.intent} not possible in {vm.state}")

    def _cancel(self, driver: Driver, vm: VM, live: bool) -> None:
        """A VM caught between placement and deploy may have a guest from an engine that
        died mid-deploy: find it (by identity, or by its launch) so nothing is left
        running."""
        if live:
            found: str | None = vm.deploy_id
        else:
            placement = self.placements.of(vm)
            found = self.drivers.call(vm, lambda d: d.find(placement))
        if found:
            gid = found
            self.drivers.call(vm, lambda d: d.cancel(gid))
        elif isinstance(driver, BatchLauncher):
            self.drivers.call(vm, lambda d: self.launcher.cancel(d, vm)
                              if isinstance(d, BatchLauncher) else None)
        self.drivers.epilog(vm, self.placements.of)
