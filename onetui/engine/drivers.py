"""The engine's drivers: one per host, kept (with its connection) between passes and made
anew when the host's settings change."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from onetui.drivers.base import ConsoleReader, Driver, DriverError, Placement
from onetui.model import VM, Host
from onetui.store import Store
from onetui.store.records import dumps

DriverFactory = Callable[[Host, str], Driver]


class DriverPool:
    def __init__(self, store: Store, factory: DriverFactory) -> None:
        self.store = store
        self._factory = factory
        self._drivers: dict[int, tuple[str, Driver]] = {}

    def sync(self, hosts: list[Host]) -> None:
        """A driver for every host; a host whose driver cannot be made is `err`."""
        wanted = {h.id: f"{h.driver}:{dumps(h.config)}" for h in hosts}
        for hid in list(self._drivers):
            if wanted.get(hid) != self._drivers[hid][0]:
                _, old = self._drivers.pop(hid)
                old.close()
        for host in hosts:
            if host.id not in self._drivers:
                try:
                    self._drivers[host.id] = (wanted[host.id],
                                              self._factory(host, self.store.store_id))
                except DriverError as exc:
                    self.store.hosts.set_monitor(host.id, "err", {}, str(exc))

    def __contains__(self, host_id: int) -> bool:
        return host_id in self._drivers

    def host(self, host_id: int) -> Driver:
        return self._drivers[host_id][1]

    def of(self, vm: VM) -> Driver | None:
        """The driver of the host a VM is on (None: not placed, or the host has none)."""
        entry = self._drivers.get(vm.host_id) if vm.host_id is not None else None
        return entry[1] if entry else None

    def console(self, vm: VM) -> str:
        """A VM's serial console output, from its host's driver ("" when it has none)."""
        driver = self.of(vm)
        if not isinstance(driver, ConsoleReader) or not vm.deploy_id:
            return ""
        return driver.console(vm.deploy_id)

    def epilog(self, vm: VM, placement: Callable[[VM], Placement]) -> None:
        """Remove what the VM's prolog made on its host (no error if it is gone)."""
        driver = self.of(vm)
        if driver is not None:
            driver.epilog(placement(vm))

    def close(self) -> None:
        for _, driver in self._drivers.values():
            with contextlib.suppress(Exception):  # closing must never hide the real outcome
                driver.close()
        self._drivers.clear()
