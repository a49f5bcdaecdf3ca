"""The VM manager's side of the admin's intents: what the CLI and console asked for
(delete, shutdown, suspend, stop, resume, reboot, poweroff, migrate, resched) carried out
on the VM's host, one VM at a time. (`deploy:HOST` on a pending VM is the dispatcher's.)"""

from __future__ import annotations

import time
from collections.abc import Callable

from onetui.drivers.base import (
    BatchLauncher,
    Driver,
    DriverError,
    HostUnreachable,
    Migrator,
    PowerSwitch,
    Rebooter,
    Suspender,
)
from onetui.engine.drivers import DriverPool
from onetui.engine.launcher import Launcher
from onetui.engine.lifecycle import ON_HOST, Lifecycle
from onetui.engine.placement import Placements, host_views, request_for
from onetui.engine.scheduler import schedule
from onetui.model import ACTIVE_STATES, VM, Host, intent_word
from onetui.store import Store
from onetui.template import parse

# (intent, state) → (what to ask of the host, new state, event): the intents that are one
# call to a driver that can suspend.
_SUSPENDER_INTENTS: dict[tuple[str, str], tuple[Callable[[Suspender, str], None], str, str]] = {
    ("suspend", "runn"): (lambda d, gid: d.suspend(gid), "susp", "suspended"),
    ("resume", "susp"): (lambda d, gid: d.resume(gid), "runn", "resumed"),
    ("stop", "runn"): (lambda d, gid: d.stop(gid), "stop", "stopped (saved to disk)"),
    ("resume", "stop"): (lambda d, gid: d.start(gid), "boot", "restoring from disk"),
}
MIGRATE_DEADLINE = 900.0  # a migration copies the guest's memory: minutes, not seconds
# intents that need a capability the host's driver may lack (the event names the driver)
_NEEDS = frozenset({"reboot", "reboot-hard", "poweroff", "poweroff-hard", "migrate",
                    "migrate-live", "resched"})


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
            if not vm.intent or (vm.state == "pend" and vm.intent.startswith("deploy:")):
                continue
            with self.lifecycle.isolated(vm, vm.intent):
                try:
                    self._intent(vm)
                except HostUnreachable as exc:  # try again next pass
                    self.store.vms.update(vm.id, message=f"{intent_word(vm.intent)} waits: "
                                          f"{exc}")
                except DriverError as exc:
                    word = intent_word(vm.intent)
                    self.store.vms.update(vm.id, intent="", message=f"{word} failed: {exc}",
                                          event=f"VM {vm.id}: {word} failed: {exc}",
                                          level="error")

    def _intent(self, vm: VM) -> None:
        driver = self.drivers.of(vm)
        gid = vm.deploy_id
        live = driver is not None and bool(gid) and vm.state in ON_HOST | {"fail", "stop",
                                                                             "poff"}
        name = vm.intent.split(":", 1)[0]
        if vm.intent == "cancel" or (vm.intent == "shutdown" and vm.state == "poff"):
            if driver is not None:
                self._cancel(driver, vm, live)
            self.lifecycle.transition(vm, "done", intent="", event="deleted" if vm.intent ==
                                      "cancel" else "shut down (was powered off)")
        elif vm.intent == "shutdown" and live and vm.state != "shut":
            self._shutdown(vm)
        elif live and isinstance(driver, Suspender) and \
                (vm.intent, vm.state) in _SUSPENDER_INTENTS:
            call, new, event = _SUSPENDER_INTENTS[(vm.intent, vm.state)]
            self.drivers.call(vm, lambda d: call(d, gid) if isinstance(d, Suspender) else None)
            self.lifecycle.transition(vm, new, event=event, intent="")
        elif live and vm.state == "runn" and name in ("reboot", "reboot-hard") \
                and isinstance(driver, Rebooter):
            hard = vm.intent == "reboot-hard"
            self.drivers.call(vm, lambda d: d.reboot(gid, hard) if isinstance(d, Rebooter)
                              else None)
            self.store.vms.update(vm.id, intent="", event=f"VM {vm.id} {vm.name}: rebooted"
                                  + (" (reset)" if hard else " (ACPI)"))
        elif live and isinstance(driver, PowerSwitch) and \
                (name, vm.state) in {("poweroff", "runn"), ("poweroff-hard", "runn"),
                                     ("resume", "poff")}:
            self._power(vm, name)
        elif live and vm.state == "runn" and name in ("migrate", "migrate-live", "resched") \
                and isinstance(driver, Migrator):
            self._migrate(vm, name)
        else:
            where = (f" on host {vm.host_name or vm.host_id}"
                     if driver is not None and name in _NEEDS else "")
            self.store.vms.update(vm.id, intent="", event=f"VM {vm.id}: "
                                  f"{intent_word(vm.intent)} not possible in {vm.state}{where}")

    def _shutdown(self, vm: VM) -> None:
        waiting = self.held(vm)
        if waiting:
            if vm.message != waiting:
                self.store.vms.update(vm.id, message=waiting)
            return
        gid, paused = vm.deploy_id, vm.state == "susp"

        def shutdown(d: Driver) -> None:
            if paused and isinstance(d, Suspender):
                d.resume(gid)  # a paused guest cannot hear ACPI
            d.shutdown(gid)
        self.drivers.call(vm, shutdown)
        self.lifecycle.transition(vm, "shut", event="shutdown requested", intent="",
                                  info={**vm.info, "shutdown_at": time.time()})

    def _power(self, vm: VM, name: str) -> None:
        """Power off (ACPI: through `shut`, which the monitor ends in `poff`; hard: at once)
        or on again."""
        gid = vm.deploy_id
        if name == "resume":
            self.drivers.call(vm, lambda d: d.power_on(gid) if isinstance(d, PowerSwitch)
                              else None)
            self.lifecycle.transition(vm, "boot", event="powered on", intent="")
            return
        hard = name == "poweroff-hard"
        self.drivers.call(vm, lambda d: d.power_off(gid, hard) if isinstance(d, PowerSwitch)
                          else None)
        if hard:
            self.lifecycle.transition(vm, "poff", event="powered off (hard)", intent="")
        else:
            self.lifecycle.transition(vm, "shut", event="poweroff requested", intent="",
                                      info={**vm.info, "shutdown_at": time.time(),
                                            "then": "poff"})

    def _migrate(self, vm: VM, name: str) -> None:
        """To the host the admin named, or (resched) the one the scheduler likes best
        among the others. A refusal leaves the VM running where it was, with the reason."""
        target = self._target(vm, name)
        if isinstance(target, str):
            self.store.vms.update(vm.id, intent="", message=target,
                                  event=f"VM {vm.id}: {target}", level="warning")
            return
        uri, gid, live = str(target.config.get("uri", "")), vm.deploy_id, name != "migrate"
        source = vm.host_name or str(vm.host_id)
        self.drivers.call(vm, lambda d: d.migrate(gid, uri, live) if isinstance(d, Migrator)
                          else None, deadline=MIGRATE_DEADLINE)
        self.lifecycle.transition(vm, "runn", host_id=target.id, intent="", message="",
                                  event=f"migrated from {source} to {target.name}"
                                  + (" (live)" if live else ""))

    def _target(self, vm: VM, name: str) -> Host | str:
        hosts = self.store.hosts.list()
        if name != "resched":
            wanted = int(vm.intent.split(":", 1)[1])
            found = [h for h in hosts if h.id == wanted]
            if not found:
                return f"migrate: host {wanted} is gone"
            if found[0].driver != "libvirt" or not found[0].config.get("uri"):
                return f"migrate: {found[0].name} is not a libvirt host"
            return found[0]
        others = [h for h in hosts if h.id != vm.host_id and h.driver == "libvirt"]
        views = host_views(others, self.store.vms.list(states=sorted(ACTIVE_STATES)))
        req = request_for(vm.id, vm.cpu, vm.memory, parse(vm.body, f"VM {vm.id}"))
        decision = schedule([req], views)
        if vm.id not in decision.placements:
            why = decision.summary.get(vm.id, "no other libvirt host")
            return f"resched: no other host can take it: {why}"
        return next(h for h in others if h.id == decision.placements[vm.id])

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
