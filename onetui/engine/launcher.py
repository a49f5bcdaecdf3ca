"""Cloud launches: VMs placed on an EC2 host in one pass go out as one RunInstances per
template, crash-safe.

The order of events is what makes it safe:
1. prepare — lease VPN addresses, render UserData, compute the exact RunInstances
   parameters and ClientToken, and commit them as a launch record (VMs stay `prol`);
2. mark the record `sent`, then call RunInstances;
3. record each instance on its VM (`boot`), matched by launch index.
A crash before 2 relaunches with the stored parameters; a crash between 2 and 3 finds the
instances by their `onetui:launch` tag and adopts them. Nothing is launched twice, and any
instance no VM wants any more is terminated or reported as an orphan.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from typing import Any

from onetui.drivers.base import BatchLauncher, DriverError, HostUnreachable, error_line
from onetui.drivers.ec2 import MAX_TAG, CloudBusy, compact_ids, launch_key
from onetui.drivers.userdata import UserDataTooLarge, Worker, render
from onetui.engine.faults import fault
from onetui.engine.lifecycle import Lifecycle
from onetui.engine.placement import Placements
from onetui.model import VM, Host
from onetui.store import Store
from onetui.store.db import StoreError
from onetui.template import parse

MAX_BATCH = 1000
BACKOFF_FIRST, BACKOFF_MAX = 5.0, 300.0


def batches(vms: list[VM]) -> list[list[VM]]:
    """Chunks that fit one launch: at most MAX_BATCH VMs whose ids fit one tag value."""
    out: list[list[VM]] = [[]]
    for vm in vms:
        chunk = out[-1]
        tag_len = len(compact_ids([v.id for v in [*chunk, vm]]))
        if chunk and (len(chunk) >= MAX_BATCH or tag_len > MAX_TAG):
            out.append([])
        out[-1].append(vm)
    return [c for c in out if c]


class Launcher:
    """Owned by the deploy manager; moves VMs only through the life-cycle manager."""

    def __init__(self, store: Store, lifecycle: Lifecycle, placements: Placements) -> None:
        self.store = store
        self.lifecycle = lifecycle
        self.placements = placements
        self._backoff: dict[str, tuple[float, float]] = {}  # token -> (retry at, delay)

    def run(self, host: Host, driver: BatchLauncher, vms: list[VM]) -> set[int]:
        """Prepare and perform the launches of `vms` (all `prol` on `host`)."""
        fresh = [vm for vm in vms if not vm.info.get("launch")]
        groups: dict[str, list[VM]] = {}
        for vm in fresh:
            try:
                key = launch_key(parse(vm.body, f"VM {vm.id}"))
            except DriverError as exc:
                self.lifecycle.transition(vm, "fail", event="bad EC2 section", message=str(exc))
                continue
            groups.setdefault(key, []).append(vm)
        for group in groups.values():
            for chunk in batches(group):
                self._prepare(host, driver, chunk)
        pending = self.store.vms.list(states=["prol"], host_id=host.id)
        tokens = list(dict.fromkeys(vm.info["launch"] for vm in pending
                                    if vm.info.get("launch") and not vm.intent))
        deployed = False
        for token in tokens:
            deployed |= self._perform(host, driver, token)
        return {host.id} if deployed else set()

    def _prepare(self, host: Host, driver: BatchLauncher, vms: list[VM]) -> None:
        try:
            workers = [self._worker(host, vm) for vm in vms]
            try:
                userdata = render(workers, host.config.get("userdata"),
                                  host.config.get("userdata_template"))
            except UserDataTooLarge:
                if len(vms) == 1:
                    raise
                half = len(vms) // 2  # fewer workers per launch, each one's script smaller
                self._prepare(host, driver, vms[:half])
                self._prepare(host, driver, vms[half:])
                return
            token = uuid.uuid4().hex
            placements = [self.placements.of(vm) for vm in vms]
            params = driver.launch_params(token, placements, userdata)
        except StoreError:
            raise
        except Exception as exc:  # DriverError, Conflict (no address), or a bad value
            for vm in vms:
                self.store.networks.release(vm.id)
                self.lifecycle.transition(vm, "fail", event="launch not possible",
                                          message=error_line(exc))
            return
        self.store.launches.prepare(token, host.id, [vm.id for vm in vms], params)

    def _worker(self, host: Host, vm: VM) -> Worker:
        """The VM's identity inside the cluster: a VPN lease when the host names a network."""
        net = host.config.get("network")
        if not net:
            return Worker(vm.id, vm.name)
        lease = self.store.networks.lease(net, vm.id)
        self.store.vms.update(vm.id, info={**vm.info, "vpn_ip": lease.ip,
                                           "vpn_hostname": lease.hostname},
                              event=f"VM {vm.id}: VPN address {lease.ip} ({lease.hostname})")
        return Worker(vm.id, vm.name, lease.hostname, lease.ip)

    def _perform(self, host: Host, driver: BatchLauncher, token: str) -> bool:
        rec = self.store.launches.get(token)
        vms = {vm.id: vm for vm in self.store.vms.by_ids(rec.vm_ids)}
        wanted = {i: vms[v] for i, v in enumerate(rec.vm_ids)
                  if v in vms and vms[v].state == "prol" and not vms[v].intent}
        found = driver.find_launch(token) if rec.state == "sent" else {}
        if not found:
            if len(wanted) < len(rec.vm_ids):
                self._abandon(token, wanted.values())  # nothing launched: prepare anew
                return False
            retry = self._backoff.get(token)
            if retry and time.monotonic() < retry[0]:
                return False
            called = self._call(token, rec.params, driver, list(wanted.values()))
            if called is None:
                return False
            found = called
        adopted = rec.state == "sent"
        unwanted = [iid for i, iid in found.items() if i not in wanted]
        for index, vm in wanted.items():
            if index in found:
                how = "adopted after a restart" if adopted else f"launch {token[:8]}"
                self.lifecycle.transition(vm, "boot", expect={"prol"}, deploy_id=found[index],
                                        event=f"instance {found[index]} ({how})")
        if unwanted:  # their VMs were deleted meanwhile: never leave an orphan running
            driver.terminate(unwanted)
            self.store.events.add("host", host.id, f"terminated {', '.join(unwanted)}: "
                                  f"launched for VMs deleted meanwhile")
        self.store.launches.set_state(token, "done")
        return True

    def _call(self, token: str, params: dict[str, Any], driver: BatchLauncher,
              vms: list[VM]) -> dict[int, str] | None:
        self.store.launches.set_state(token, "sent")
        fault("before-launch")
        try:
            ids = driver.launch(params)
        except CloudBusy as exc:
            self.store.launches.set_state(token, "prepared", str(exc))
            delay = min(self._backoff.get(token, (0, BACKOFF_FIRST / 2))[1] * 2, BACKOFF_MAX)
            self._backoff[token] = (time.monotonic() + delay, delay)
            for vm in vms:
                self.store.vms.update(vm.id, message=f"EC2 busy: {exc}; retrying in {delay:g} s",
                                      event=f"VM {vm.id}: EC2 busy ({exc}); retry in "
                                            f"{delay:g} s", level="warning")
            return None
        except HostUnreachable as exc:  # the call may have gone through: look next time
            for vm in vms:
                self.store.vms.update(vm.id, message=f"launch waits: {exc}")
            return None
        except DriverError as exc:
            self.store.launches.set_state(token, "failed", str(exc))
            for vm in vms:
                self.store.networks.release(vm.id)
                self.lifecycle.transition(vm, "fail", event="launch failed", message=str(exc))
            return None
        self._backoff.pop(token, None)
        fault("after-launch")
        return dict(enumerate(ids))

    def _abandon(self, token: str, keep: Iterable[VM]) -> None:
        self.store.launches.set_state(token, "abandoned", "VMs left the launch before it ran")
        for vm in keep:
            info = {k: v for k, v in vm.info.items() if k not in ("launch", "launch_index")}
            self.store.vms.update(vm.id, info=info)

    def cancel(self, driver: BatchLauncher, vm: VM) -> None:
        """Terminate the instance a `prol` VM's launch made for it, if any."""
        token = vm.info.get("launch")
        if not token:
            return
        iid = driver.find_launch(token).get(int(vm.info.get("launch_index", 0)))
        if iid:
            driver.terminate([iid])
