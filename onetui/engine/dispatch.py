"""The dispatch manager: pending VMs to hosts, through the (pure) scheduler. Placed VMs go
to `prol` with the scheduler's reason; the others keep why they cannot be placed, per host,
for `vm show`."""

from __future__ import annotations

import dataclasses

from onetui.drivers.base import error_line
from onetui.engine.lifecycle import Lifecycle
from onetui.engine.placement import host_views, request_for
from onetui.engine.scheduler import Decision, HostView, Request, schedule
from onetui.model import VM, Host
from onetui.store import Store
from onetui.template import TemplateError, parse


class Dispatcher:
    def __init__(self, store: Store, lifecycle: Lifecycle) -> None:
        self.store = store
        self.lifecycle = lifecycle
        self._requests: dict[int, Request | str] = {}
        lifecycle.on_end(lambda vm_id: self._requests.pop(vm_id, None))

    def _request(self, vm: VM) -> Request | str:
        """The scheduler's view of a VM (cached: a VM's template never changes)."""
        cached = self._requests.get(vm.id)
        if cached is None:
            try:
                cached = request_for(vm.id, vm.cpu, vm.memory, parse(vm.body, f"VM {vm.id}"))
            except TemplateError as exc:
                cached = str(exc)
            except Exception as exc:  # whatever else is wrong with it fails it alone
                cached = error_line(exc)
            self._requests[vm.id] = cached
        return cached

    def schedule(self, hosts: list[Host], vms: list[VM]) -> None:
        pending = [vm for vm in vms if vm.state == "pend"
                   and (not vm.intent or pinned_host(vm) is not None)]
        if not pending:
            return
        views = host_views(hosts, vms)
        requests = []
        for vm in pending:
            req = self._request(vm)
            if isinstance(req, str):
                self.lifecycle.transition(vm, "fail", event="bad template", message=req)
            else:
                requests.append(dataclasses.replace(req, host=pinned_host(vm)))
        try:
            decision = schedule(requests, views)
        except Exception:  # one request the scheduler cannot take: find it, place the rest
            decision = self._one_by_one(requests, views, by_id={vm.id: vm for vm in pending})
        names = {h.id: h.name for h in hosts}
        by_id = {vm.id: vm for vm in pending}
        for vm_id, host_id in decision.placements.items():
            self.lifecycle.transition(by_id[vm_id], "prol", expect={"pend"}, host_id=host_id,
                                      message=decision.why[vm_id], sched=[], intent="",
                                      event=f"placed on {names[host_id]}")
            self.lifecycle.stats.placed += 1
        for vm_id, reasons in decision.pending.items():
            vm = by_id[vm_id]
            message = f"cannot be placed: {decision.summary[vm_id]}"
            if vm.message != message or vm.sched != reasons:
                self.store.vms.update(vm_id, message=message, sched=reasons)

    def _one_by_one(self, requests: list[Request], views: list[HostView], *,
                    by_id: dict[int, VM]) -> Decision:
        """Schedule each request on its own, failing those the scheduler raises on; the
        others are then scheduled together, so the pass places what it can."""
        good = []
        for req in requests:
            try:
                schedule([req], views)
                good.append(req)
            except Exception as exc:
                self.lifecycle.stats.errors += 1
                self.lifecycle.transition(by_id[req.vm_id], "fail", event="cannot schedule",
                                          message=f"scheduling: {error_line(exc)}")
        return schedule(good, views)


def pinned_host(vm: VM) -> int | None:
    """The host an admin deployed a pending VM to (`vm deploy`: intent `deploy:ID`)."""
    name, _, arg = vm.intent.partition(":")
    return int(arg) if name == "deploy" and arg.isdigit() else None
