"""The engine's drivers: one per host, kept (with its connection) between passes and made
anew when the host's settings change.

Every call to a host runs in the engine's thread pool under a deadline: a host that does
not answer in time is reported as unreachable ("no answer in N s") and the pass goes on
without it. Its call may still be hanging in its thread; until it returns, the host gets no
new call ("still busy"), so one hung hypervisor holds one thread, never the pass, and never
stretches a pass past the engine's lease (the wait renews the lease as it goes)."""

from __future__ import annotations

import contextlib
import functools
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TypeVar

from onetui.drivers.base import (
    ConsoleReader,
    Driver,
    HostUnreachable,
    NoAnswer,
    Notifier,
    Placement,
    error_line,
)
from onetui.model import VM, Host
from onetui.store import Store
from onetui.store.records import dumps

DriverFactory = Callable[[Host, str], Driver]
T = TypeVar("T")
K = TypeVar("K")


class DriverPool:
    def __init__(self, store: Store, factory: DriverFactory, executor: ThreadPoolExecutor, *,
                 deadline: float = 15.0, heartbeat: Callable[[], None] = lambda: None,
                 beat: float = 2.0, changed: Callable[[int], None] = lambda _host: None) -> None:
        self.store = store
        self.deadline = deadline
        self.beat = beat
        self.heartbeat = heartbeat
        self.changed = changed  # a host says one of its guests changed (Notifier)
        self._factory = factory
        self._executor = executor
        self._drivers: dict[int, tuple[str, Driver]] = {}
        self._busy: dict[int, float] = {}  # host → since when a call hangs past its deadline
        self._lock = threading.Lock()

    def sync(self, hosts: list[Host]) -> None:
        """A driver for every host; a host whose driver cannot be made is `err`."""
        wanted = {h.id: f"{h.driver}:{dumps(h.config)}" for h in hosts}
        for hid in list(self._drivers):
            if wanted.get(hid) != self._drivers[hid][0] and hid not in self._busy:
                _, old = self._drivers.pop(hid)
                with contextlib.suppress(Exception):
                    old.close()
        for host in hosts:
            if host.id not in self._drivers:
                try:
                    driver = self._factory(host, self.store.store_id)
                    if isinstance(driver, Notifier):
                        driver.watch(functools.partial(self.changed, host.id))
                    self._drivers[host.id] = (wanted[host.id], driver)
                except Exception as exc:  # one bad host never stops the pass
                    self.store.hosts.set_monitor(host.id, "err", {}, error_line(exc))

    def __contains__(self, host_id: int) -> bool:
        return host_id in self._drivers

    def host(self, host_id: int) -> Driver:
        return self._drivers[host_id][1]

    def of(self, vm: VM) -> Driver | None:
        """The driver of the host a VM is on (None: not placed, or the host has none)."""
        entry = self._drivers.get(vm.host_id) if vm.host_id is not None else None
        return entry[1] if entry else None

    # -- calls under a deadline -------------------------------------------------------------

    def gather(self, calls: dict[K, tuple[int, Callable[[Driver], T]]],
               deadline: float | None = None) -> dict[K, T | Exception]:
        """Make the calls side by side (key → (host id, what to ask of its driver)); every
        answer or error comes back by key, and a call past the deadline as HostUnreachable
        ("no answer in N s"). The lease is renewed while waiting."""
        limit = self.deadline if deadline is None else deadline
        futures: dict[Future[T], tuple[K, int]] = {}
        out: dict[K, T | Exception] = {}
        for key, (host_id, fn) in calls.items():
            with self._lock:
                since = self._busy.get(host_id)
            if since is not None:
                out[key] = NoAnswer(f"no answer for {time.monotonic() - since:.0f} s "
                                    "(an earlier call still hangs)")
            elif host_id not in self._drivers:
                out[key] = HostUnreachable("the host's driver is not available")
            else:
                futures[self._executor.submit(fn, self.host(host_id))] = (key, host_id)
        end = time.monotonic() + limit
        pending = set(futures)
        while pending:
            left = end - time.monotonic()
            if left <= 0:
                break
            _, pending = wait(pending, timeout=min(left, self.beat), return_when=FIRST_COMPLETED)
            if pending:
                self.heartbeat()
        for future, (key, host_id) in futures.items():
            if future in pending:
                out[key] = NoAnswer(f"no answer in {limit:g} s")
                self._hung(host_id, future)
            elif (error := future.exception()) is not None:
                out[key] = error if isinstance(error, Exception) else RuntimeError(error)
            else:
                out[key] = future.result()
        return out

    def _hung(self, host_id: int, future: Future[T]) -> None:
        """The host gets no new call until this one returns."""
        with self._lock:
            self._busy.setdefault(host_id, time.monotonic() - self.deadline)

        def returned(_f: Future[T]) -> None:
            with self._lock:
                self._busy.pop(host_id, None)
        future.add_done_callback(returned)

    def call(self, vm: VM, fn: Callable[[Driver], T], deadline: float | None = None) -> T:
        """One call to a VM's host under the deadline; raises what the driver raised, or
        HostUnreachable when it did not answer in time."""
        if vm.host_id is None:
            raise HostUnreachable("the VM has no host")
        result = self.gather({0: (vm.host_id, fn)}, deadline)[0]
        if isinstance(result, Exception):
            raise result
        return result

    def console(self, vm: VM) -> str:
        """A VM's serial console output, from its host's driver ("" when it has none)."""
        driver = self.of(vm)
        if not isinstance(driver, ConsoleReader) or not vm.deploy_id:
            return ""
        deploy_id = vm.deploy_id
        return self.call(vm, lambda d: d.console(deploy_id) if isinstance(d, ConsoleReader)
                         else "")

    def epilog(self, vm: VM, placement: Callable[[VM], Placement]) -> None:
        """Remove what the VM's prolog made on its host (no error if it is gone)."""
        if self.of(vm) is not None:
            ready = placement(vm)
            self.call(vm, lambda d: d.epilog(ready))

    def close(self) -> None:
        for host_id, (_, driver) in self._drivers.items():
            if host_id in self._busy:
                continue  # a hung call holds it; closing would block on the same lock
            with contextlib.suppress(Exception):  # closing must never hide the real outcome
                driver.close()
        self._drivers.clear()

