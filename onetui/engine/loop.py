"""The reconcile loop: one engine per store acts on what the CLI and console asked for.

A pass, manager by manager (OpenNebula's oned keeps the same concerns apart):
  monitor    look at every host once and bring VM states in line with what it reports;
  intents    carry out the admin's intents (shutdown, delete, suspend, …);
  dispatch   place pending VMs through the scheduler;
  deploy     make placed VMs real (prolog + deploy, or crash-safe cloud launches);
  monitor    look again at hosts that just got guests, so a guest that is up shows `runn`;
  hooks      tell the managers above the engine (services, labs, SGE) what changed.
History (store/history.py) is written by the monitor in its own transaction: the hosts'
and running VMs' figures of each look, and what the managers measured (services, the
grid) the pass before, at the time they measured it.
Only the life-cycle manager writes VM state. Every change is written with its event, so a
crash between two steps loses nothing: the next engine finds VMs in `prol` and deploys them
again, and the driver adopts a guest it made before (its identity is derived from the
store and the VM id) instead of making a second one.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from onetui.drivers.base import Notifier, error_line
from onetui.drivers.registry import make_driver
from onetui.engine.deploy import DeployManager
from onetui.engine.dispatch import Dispatcher
from onetui.engine.drivers import DriverFactory, DriverPool
from onetui.engine.hooks import Closer, Hook, Sampler, StopHolder, Ticker
from onetui.engine.intents import IntentManager
from onetui.engine.lifecycle import Lifecycle, PassStats
from onetui.engine.monitor import HostMonitor
from onetui.engine.placement import Placements
from onetui.engine.snapshot import Snapshot
from onetui.model import VM, Host
from onetui.store import Store
from onetui.store.db import Deposed, StoreError


def _phase(host_id: int) -> float:
    """A fraction in [0, 1) for each host id, spread evenly whatever the ids: the golden
    ratio's multiples (Weyl's sequence)."""
    return (host_id * 0.6180339887498949) % 1.0


class Engine:
    def __init__(self, store: Store, *, lease_ttl: float = 10.0, interval: float = 2.0,
                 shutdown_timeout: float = 120.0, workers: int = 16,
                 host_deadline: float = 15.0, deploy_deadline: float = 900.0,
                 driver_factory: DriverFactory = make_driver, look_every: float = 0.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.lease_ttl = lease_ttl
        self.interval = interval
        # A host whose events reach the engine is looked at when it reports a change and
        # at least every `look_every` seconds (the safety net); others every pass. 0: every
        # host every pass (tests that drive passes by hand, `serve --once`).
        self.look_every = look_every
        self._looked: dict[int, float] = {}
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.epoch = 0  # the lease's fencing token while this engine leads
        self._hooks: list[Hook] = []
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="onetui-engine")
        # A hung host is `err` after host_deadline, not a stalled pass; while the engine
        # waits on hosts it renews its lease a few times per TTL, so it is never taken over
        # in the middle of a pass it is still making.
        self.drivers = DriverPool(store, driver_factory, self._pool, deadline=host_deadline,
                                  heartbeat=self.renew, beat=min(2.0, lease_ttl / 3),
                                  changed=self._changed)
        # hosts whose guests changed (libvirt's events) since the last look: looked at
        # between passes at once, so a crash shows in well under a second, not a pass
        self._dirty: set[int] = set()
        self._dirty_lock = threading.Lock()
        self._wake = threading.Event()
        self.passes = 0
        # for `serve --metrics`: each pass's duration in seconds, and the errors the engine
        # logged since it started (a failed pass or look, a broken hook, one failed object)
        self.on_pass: Callable[[float], None] | None = None
        # called in the engine's thread before each pass, when no hook is at work: where
        # `serve` swaps in the managers of a reloaded config
        self.before_pass: Callable[[], None] | None = None
        self.errors: Counter[str] = Counter({"pass": 0, "hook": 0, "object": 0})
        self._renewed = 0.0  # when the lease was last written
        self.lifecycle = Lifecycle(store)
        self.seen = Snapshot(store)
        self.placements = Placements(store)
        self.monitor = HostMonitor(store, self.drivers, self.lifecycle, self.placements,
                                   shutdown_timeout=shutdown_timeout,
                                   clock=clock)  # history's time (a simulated week in bench/)
        self.dispatcher = Dispatcher(store, self.lifecycle)
        self.deployer = DeployManager(store, self.drivers, self.lifecycle, self.placements,
                                      deadline=deploy_deadline)
        self.intents = IntentManager(store, self.drivers, self.lifecycle, self.placements,
                                     self.deployer.launcher, self._held)

    # -- leadership and the loop ---------------------------------------------------------

    def lead(self) -> bool:
        """Take or renew the lease; only the leader may run passes. While it leads, every
        write through this engine's store is fenced with the lease's epoch."""
        epoch = self.store.leader.acquire(self.owner, self.lease_ttl)
        self._renewed = time.monotonic()
        if epoch:
            self.epoch = epoch
            self.store.db.fence = (self.owner, epoch)
        elif self.store.db.fence == (self.owner, self.epoch):
            self.store.db.fence = None
        return bool(epoch)

    @property
    def leading(self) -> bool:
        """This engine holds the lease (its writes are fenced with it)."""
        return self.epoch > 0 and self.store.db.fence == (self.owner, self.epoch)

    def renew(self) -> None:
        """Renew the lease in the middle of a long pass; raises Deposed when another engine
        has taken over meanwhile (this engine then stops acting at once)."""
        if self.store.db.fence != (self.owner, self.epoch):
            return  # not leading (a one-off call outside the loop)
        now = time.monotonic()
        if now - self._renewed < self.lease_ttl / 5:
            return  # renewed a moment ago (each renewal is a synced write of the store)
        self._renewed = now
        if self.store.leader.acquire(self.owner, self.lease_ttl) != self.epoch:
            self.store.db.fence = None
            raise Deposed(f"engine {self.owner} lost the lease during a pass")

    def run(self, stop: threading.Event, on_wait: Callable[[str], None] | None = None,
            on_lead: Callable[[], None] | None = None) -> None:
        """Pass after pass until `stop` is set; waits (saying so once) while another engine
        holds the lease, and takes over when that lease runs out. Nothing but `stop` ends
        it: a deposed engine goes back to waiting; a store that cannot be written is waited
        out; any other error is an event, and the next pass comes."""
        say = on_wait or (lambda _msg: None)
        waiting = False
        leading = False
        try:
            while not stop.is_set():
                try:
                    if self.lead():
                        waiting = False
                        if not leading and on_lead:  # said when it acts: a waiting
                            on_lead()                # engine is not "serving"
                        leading = True
                        self.run_pass()
                    elif not waiting:
                        waiting, leading = True, False
                        lease = self.store.leader.current()
                        if lease:
                            say(f"engine pid {lease.pid} on {lease.hostname} holds the lease; "
                                "waiting to take over")
                except Deposed as exc:
                    waiting, leading = True, False
                    say(f"{exc}; waiting to take over again")
                except StoreError as exc:  # disk full, locked, unreadable: wait, then retry
                    say(f"store not writable: {exc}; retrying")
                except Exception as exc:
                    self._engine_error(exc, say)
                self._idle(stop, leading, say)
        finally:
            self.close()

    def _due(self, hosts: list[Host], dirty: set[int], now: float | None = None) -> list[Host]:
        """The hosts this pass looks at: all of them, except those that report their
        changes, were looked at less than `look_every` ago and reported nothing since.

        Each host's safety-net looks fall on a grid of its own, `look_every` apart and
        shifted by a fraction fixed by its id (`_phase`): a look counts from the grid's
        last point. So a thousand hosts looked at in the same pass (the first, or while
        their events were not watched) fall due a few at a time over the next
        `look_every` seconds, not all in one pass every `look_every` (a pass of seconds,
        during which libvirt's events wait)."""
        now = time.monotonic() if now is None else now
        due = []
        for host in hosts:
            driver = self.drivers.host(host.id) if host.id in self.drivers else None
            looked = self._looked.get(host.id)
            quiet = (isinstance(driver, Notifier) and driver.watching
                     and host.id not in dirty and host.state == "on"
                     and looked is not None and now - looked < self.look_every)
            if not quiet:
                due.append(host)
                self._looked[host.id] = self._slot(host.id, now)
        return due

    def _slot(self, host_id: int, now: float) -> float:
        """The last point of the host's safety-net grid at or before `now`."""
        if self.look_every <= 0:
            return now
        return now - ((now / self.look_every - _phase(host_id)) % 1.0) * self.look_every

    def _changed(self, host_id: int) -> None:
        """From libvirt's event thread: take note, and wake the loop."""
        with self._dirty_lock:
            self._dirty.add(host_id)
        self._wake.set()

    def _idle(self, stop: threading.Event, leading: bool, say: Callable[[str], None]) -> None:
        """The time between passes; a host that reported a change is looked at at once."""
        end = time.monotonic() + self.interval
        while not stop.is_set():
            left = end - time.monotonic()
            if left <= 0:
                return
            if self._wake.wait(min(left, 0.2)):
                self._wake.clear()
                if not leading:
                    continue
                try:
                    self.look_now()
                except (Deposed, StoreError):
                    return  # the loop says it and decides what comes next
                except Exception as exc:
                    self._engine_error(exc, say)

    def look_now(self) -> None:
        """Monitor the hosts that reported a change since the last look (and only them),
        then tell the hooks what moved."""
        with self._dirty_lock:
            hosts, self._dirty = self._dirty, set()
        if not hosts:
            return
        self.renew()
        self.lifecycle.begin_pass()
        self.seen.refresh()
        self.monitor.look([h for h in self.seen.hosts() if h.id in hosts],
                          [vm for vm in self.seen.vms() if vm.host_id in hosts])
        self._run_hooks(tick=False)

    def _engine_error(self, exc: Exception, say: Callable[[str], None]) -> None:
        """A bug or an unforeseen fault outside any one object: logged, never fatal."""
        text = f"engine pass failed: {error_line(exc)}"
        self.errors["pass"] += 1
        say(text)
        with contextlib.suppress(Exception):
            self.store.events.add("engine", None, text, level="error")

    @property
    def hooks(self) -> list[Hook]:
        return self._hooks

    @hooks.setter
    def hooks(self, hooks: list[Hook]) -> None:
        self._hooks = list(hooks)

    def console(self, vm: VM) -> str:
        """A VM's serial console output, from its host's driver ("" when it has none)."""
        return self.drivers.console(vm)

    def close(self) -> None:
        for hook in self._hooks:
            if isinstance(hook, Closer):
                with contextlib.suppress(Exception):
                    hook.close()
        if self.store.db.fence == (self.owner, self.epoch):
            self.store.db.fence = None
        with contextlib.suppress(Exception):
            self.store.leader.release(self.owner)
        # a call hung on a dead host must not hold the process: don't wait for it
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.drivers.close()

    def run_pass(self) -> PassStats:
        """Monitor, carry out intents, schedule, deploy, hooks. Each step sees the writes of
        the one before through the snapshot, which reads only the rows that changed."""
        started = time.monotonic()
        if self.before_pass is not None:
            self.before_pass()
        stats = self.lifecycle.begin_pass()
        self.passes += 1
        with self._dirty_lock:  # this pass looks at them
            dirty, self._dirty = self._dirty, set()
        seen = self.seen
        seen.refresh()
        hosts = seen.hosts()
        stats.hosts = len(hosts)
        self.drivers.sync(hosts)
        due = self._due(hosts, dirty)
        stats.looked = len(due)
        self.monitor.look(due, seen.vms() if len(due) == len(hosts) else
                          [vm for vm in seen.vms() if vm.host_id in {h.id for h in due}])
        self.renew()
        seen.refresh()
        self.intents.carry_out([vm for vm in seen.vms() if vm.intent])
        self.renew()
        seen.refresh()
        self.dispatcher.schedule(seen.hosts(), seen.vms())
        self.renew()
        seen.refresh()
        deployed = self.deployer.deploy([vm for vm in seen.vms({"prol"}) if not vm.intent])
        if deployed:  # look once more, so a guest that is up shows `runn` this pass
            seen.refresh()
            self.monitor.look([h for h in seen.hosts() if h.id in deployed], seen.vms())
        self.renew()
        self._run_hooks()
        self.errors["object"] += stats.errors
        if self.on_pass is not None:
            self.on_pass(time.monotonic() - started)
        return stats

    # -- hooks -------------------------------------------------------------------------

    def _tick_hooks(self) -> None:
        """Each pass: the hooks' ticks, then their history points (written with the next
        look)."""
        live = None
        for hook in self._hooks:
            if isinstance(hook, Ticker):
                if live is None:
                    self.seen.refresh()
                    live = self.seen.vms({"runn"})
                try:
                    hook.tick(live)
                except Exception as exc:  # a broken hook must not stop the engine
                    self.errors["hook"] += 1
                    self.store.events.add("engine", None, f"hook {type(hook).__name__} "
                                          f"failed: {exc}", level="error")
            if isinstance(hook, Sampler):
                self.monitor.add_samples(hook.samples())

    def _held(self, vm: VM) -> str:
        for hook in self._hooks:
            if isinstance(hook, StopHolder):
                why = hook.hold_stop(vm)
                if why:
                    return why
        return ""

    def _run_hooks(self, tick: bool = True) -> None:
        if not self._hooks:
            return
        if tick:
            self._tick_hooks()
        transitions = self.lifecycle.stats.transitions
        if not transitions:
            return
        vms = {vm.id: vm for vm in self.store.vms.by_ids({t[0] for t in transitions})}
        for vm_id, old, new in transitions:
            for hook in self._hooks:
                try:
                    hook.vm_changed(vms[vm_id], old, new)
                except Exception as exc:  # a broken hook must not stop the engine
                    self.errors["hook"] += 1
                    self.store.events.add("vm", vm_id, f"hook {type(hook).__name__} failed: "
                                          f"{exc}", level="error")
