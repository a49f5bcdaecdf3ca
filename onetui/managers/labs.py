"""The lab manager: an engine hook that takes each seat from `deploying` to `ready`.

`tick` runs in the engine's pass and only looks at the store; the slow part (waiting for a
guest's SSH, making and checking its account) runs in a thread per seat, at most `workers`
at once, so forty seats on a Monday morning come up side by side and the engine's pass is
never held up. A job's progress is in the store (the seat's state and when it changed),
so an engine that restarts picks every unfinished seat up where it was.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace

from onetui.drivers.base import error_line
from onetui.drivers.virt import host_node
from onetui.errors import UserError
from onetui.integrations.accounts import make_account, verify_login
from onetui.model import VM
from onetui.model.labs import ACCOUNT, DEPLOYING, FAILED, READY, WAITING, Lab, Seat
from onetui.ops import labs
from onetui.remote.hostkeys import console_keys, pinned_keys
from onetui.remote.ssh import (
    HostKeyChanged,
    HostKeyUnknown,
    Pool,
    RemoteError,
    Target,
    default_known_hosts,
    resolve,
)
from onetui.store import Store
from onetui.store.db import StoreError

RETRY = 2.0  # seconds between looks at a seat whose SSH is not up yet


class LabManager:
    def __init__(self, store: Store, pool: Pool | None = None, workers: int = 8, *,
                 console: Callable[[VM], str] = lambda _vm: "") -> None:
        """`console(vm)` reads a guest's serial console (the engine's drivers know how),
        where a fresh guest prints its SSH host keys."""
        self.store = store
        self.pool = pool or Pool()
        self.known = pinned_keys(store.path.parent)
        self._console = console
        self._jobs: dict[tuple[int, int], threading.Thread] = {}
        self._slots = threading.BoundedSemaphore(workers)
        self._stop = threading.Event()

    # -- engine hook ------------------------------------------------------------------------

    def vm_changed(self, vm: VM, old: str, new: str) -> None:
        return None

    def close(self, wait: float = 15.0) -> None:
        """Stop: no job starts another step (a queued one never starts), those under way
        are waited for at most `wait` seconds in all, then the SSH pool is closed."""
        self._stop.set()
        deadline = time.monotonic() + wait
        for job in list(self._jobs.values()):
            job.join(timeout=max(0.0, deadline - time.monotonic()))
        self.pool.close()

    def running(self) -> dict[tuple[int, int], threading.Thread]:
        """The seat jobs still at work: (lab id, seat) → thread."""
        return {key: job for key, job in self._jobs.items() if job.is_alive()}

    def take_over(self, old: LabManager) -> None:
        """Succeed `old` (a config reload): it is told to stop, and its seats still at work
        count as busy here until its job ends, so no seat gets two jobs at once; the next
        pass after, the seat (still waiting or making its account) is picked up here.
        `old` is closed in a thread of its own: the engine's pass never waits for it."""
        self._jobs.update(old.running())
        old.stop()
        threading.Thread(target=old.close, name="onetui-old-labs", daemon=True).start()

    def stop(self) -> None:
        """Tell every job to stop at its next step, without waiting for it."""
        self._stop.set()

    def tick(self, _running: list[VM]) -> None:
        now = time.time()
        for lab in self.store.labs.list():
            try:
                self._lab(lab, now)
            except StoreError:
                raise
            except Exception as exc:  # this lab alone; the others go on
                self.store.events.add("lab", lab.id, f"lab {lab.name}: {error_line(exc)}",
                                      level="error")

    def _lab(self, lab: Lab, now: float) -> None:
        if lab.state == "destroying":
            labs.finish(self.store, lab.id)
            return
        if lab.expires_at is not None and now >= lab.expires_at:
            labs.destroy(self.store, lab, why="it expired")  # this lab, by its id
            return
        seats = self.store.labs.seats(lab.id)
        vms = {vm.id: vm for vm in self.store.vms.by_ids(
            [s.vm_id for s in seats if s.vm_id is not None])}
        for seat in seats:
            vm = vms.get(seat.vm_id) if seat.vm_id is not None else None
            if vm is None:
                continue
            try:
                self._seat(lab, seat, vm)
            except StoreError:
                raise
            except Exception as exc:  # this seat alone
                self._fail(lab, seat, error_line(exc))

    # -- one seat ----------------------------------------------------------------------------

    def _busy(self, lab: Lab, seat: Seat) -> bool:
        job = self._jobs.get((lab.id, seat.seat))
        return job is not None and job.is_alive()

    def _seat(self, lab: Lab, seat: Seat, vm: VM) -> None:
        if self._busy(lab, seat):
            return
        if vm.state in ("fail", "done"):
            if seat.state != FAILED:
                why = f"VM {vm.id} is {vm.state}" + (f": {vm.message}" if vm.message else "")
                self._fail(lab, seat, why)
            return
        if vm.state != "runn":
            return
        if seat.state == DEPLOYING:
            if not self.store.labs.set_seat(lab.id, seat.seat, WAITING, expect=(DEPLOYING,),
                                            for_vm=seat.vm_id):
                return
            seat = self.store.labs.seat(lab.id, seat.seat)
        if seat.state in (WAITING, ACCOUNT):
            job = threading.Thread(target=self._job, args=(lab, seat, vm), daemon=True,
                                   name=f"lab-{lab.name}-{seat.seat}")
            self._jobs[(lab.id, seat.seat)] = job
            job.start()

    def _fail(self, lab: Lab, seat: Seat, why: str) -> None:
        self.store.labs.set_seat(lab.id, seat.seat, FAILED, why, for_vm=seat.vm_id,
                                 event=f"lab {lab.name} seat {seat.seat} ({seat.username}): "
                                       f"failed: {why}")

    def _job(self, lab: Lab, seat: Seat, vm: VM) -> None:
        with self._slots:
            if self._stop.is_set():
                return  # queued while the manager was told to stop: its successor does it
            try:
                if seat.state == WAITING:
                    waited = self._wait_for_ssh(lab, seat, vm)
                    if waited is None:
                        return  # stopping, or the seat changed under us
                    self.store.labs.set_seat(
                        lab.id, seat.seat, ACCOUNT, expect=(WAITING,), for_vm=seat.vm_id,
                        event=f"lab {lab.name} seat {seat.seat}: SSH up after {waited:.0f} s; "
                              f"creating account {seat.username}")
                self._account(lab, seat)
            except UserError as exc:
                self._fail(lab, seat, str(exc))
            except Exception as exc:  # a bug must fail the seat, not vanish in a thread
                self._fail(lab, seat, error_line(exc))

    def _target(self, lab: Lab, seat: Seat, pinned: bool | None = None) -> Target:
        """The admin's route to the seat, trusting onetui's pinned key once there is one."""
        if pinned is None:
            pinned = bool(self.known.get(seat.ip, seat.port))
        files = (str(self.known.path),) if pinned else default_known_hosts()
        target = resolve(seat.ip, port=seat.port, user=lab.config.get("admin_user", "root"),
                         key_file=lab.config.get("admin_key") or None, known_hosts=files)
        return replace(target, jump=self._node_of(seat))

    def _node_of(self, seat: Seat) -> Target | None:
        """The hypervisor node a seat runs on when onetui reaches that node over SSH: the
        seat is reached through it (its own user, key and pinned host key, from the host's
        URI). The node can always reach the guests it runs, whether or not their addresses
        are routable from here."""
        if seat.vm_id is None:
            return None
        vm = self.store.vms.get(seat.vm_id)
        if vm.host_id is None:
            return None
        return host_node(self.store.hosts.get(vm.host_id))

    def _wait_for_ssh(self, lab: Lab, seat: Seat, vm: VM) -> float | None:
        """Until the seat's SSH server lets the admin in (its host key learned from the
        console); the seconds it took, None when told to stop. Raises after the timeout."""
        timeout = float(lab.config.get("ssh_timeout", labs.DEFAULT_SSH_TIMEOUT))
        deadline = seat.state_at + timeout
        last = "nothing answered yet"
        while not self._stop.is_set():
            now = self.store.vms.get(vm.id)
            if now.state in ("fail", "done"):
                raise UserError(f"VM {vm.id} is {now.state}")
            keys = console_keys(self._read_console(now))
            pinned = self.known.get(seat.ip, seat.port)
            if keys and keys != pinned:
                self.known.set(seat.ip, seat.port, keys)
            try:
                target = self._target(lab, seat, pinned=bool(keys or pinned))
                self.pool.get(target).run(["true"], timeout=15)
                return time.time() - seat.state_at
            except HostKeyChanged as exc:
                raise UserError(f"{exc} (not the key the seat's console showed)") from None
            except HostKeyUnknown as exc:
                last = (f"its host key {exc.fingerprint} is not known and its console shows "
                        "none; check it and trust it with `onetui ssh trust`")
            except RemoteError as exc:
                last = str(exc)
            if time.time() >= deadline:
                raise UserError(f"no SSH after {timeout:.0f} s ({last})")
            if self._stop.wait(RETRY):
                return None
        return None

    def _read_console(self, vm: VM) -> str:
        try:
            return self._console(vm)
        except Exception:  # a console we cannot read is like one that shows no key
            return ""

    def _account(self, lab: Lab, seat: Seat) -> None:
        """Make the account and log in as the student; again if the password was reset
        while we were at it."""
        for _ in range(3):
            if self._stop.is_set():
                return  # the seat stays `account`: the manager after this one goes on
            password = self.store.labs.password(lab.id, seat.seat)
            if not password:
                return  # the lab is being destroyed: its credentials are gone
            target = self._target(lab, seat)
            try:
                make_account(self.pool.get(target), seat.username, password)
            except UserError as exc:
                raise UserError(f"creating account {seat.username}: {exc}") from None
            try:
                verify_login(target, seat.username, password)
            except UserError as exc:
                raise UserError(f"login as {seat.username} with its new password failed: "
                                f"{exc}") from None
            if self.store.labs.password(lab.id, seat.seat) == password:
                self.store.labs.set_seat(
                    lab.id, seat.seat, READY, expect=(ACCOUNT,), for_vm=seat.vm_id,
                    event=f"lab {lab.name} seat {seat.seat}: ready, {seat.username}@{seat.ip}"
                          f"{'' if seat.port == 22 else f':{seat.port}'} (login checked)")
                return
        raise UserError("the password kept changing while it was being set")
