"""VM operations: list, show, create, and every life-cycle action, in terms of ops/ (which
write intents) and view/ (what is shown). Records are onetui's JSON shapes (`vm list
--json`), so the CLI prints what it gets."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from onetui.access import Caller
from onetui.api.registry import BadRequest, granted, operation, optional, required
from onetui.ops import vm_actions as actions
from onetui.store import Store
from onetui.view.describe import vm_text
from onetui.view.records import host_record, vm_record


@operation("vm.list", include_done=optional(True, bool), limit=optional(None, int),
           after=optional(None, int))
def vm_list(store: Store, caller: Caller, include_done: bool, limit: int | None,
            after: int | None) -> list[dict[str, Any]]:
    """Every VM by id, or the first `limit` of them (after id `after`): the console reads
    ten thousand in pages, so that no one answer holds its event loop up."""
    if limit is not None and limit < 1:
        raise BadRequest(f"vm.list: 'limit' must be at least 1, got {limit}")
    return [vm_record(v) for v in store.vms.list(include_done=include_done, limit=limit,
                                                 after=after)]


@operation("vm.show", ref=required(str, int))
def vm_show(store: Store, caller: Caller, ref: str | int) -> dict[str, Any]:
    """The VM, its host (for OpenNebula's shapes), its last ten events and `vm show`'s
    text, read in one snapshot."""
    with store.db.snapshot():
        v = store.vms.get(ref)
        hosts = store.hosts.by_ids({v.host_id}) if v.host_id is not None else []
        events = store.events.recent(limit=10, kind="vm", obj_id=v.id)
        text = vm_text(store, v.id, secrets=granted().passwords)[1]
    return {"vm": vm_record(v), "host": host_record(hosts[0]) if hosts else None,
            "events": [dataclasses.asdict(e) for e in events], "text": text}


# action → how it is asked of ops/vm_actions (host, hard, live as the action takes them)
_PLAIN: dict[str, Callable[[Store, str | int], str]] = {
    "shutdown": actions.shutdown, "delete": actions.delete, "hold": actions.hold,
    "release": actions.release, "suspend": actions.suspend, "stop": actions.stop,
    "resume": actions.resume, "resched": actions.resched,
}
ACTIONS = (*_PLAIN, "reboot", "poweroff", "migrate", "deploy")


@operation("vm.action", ref=required(str, int), action=required(str),
           hard=optional(False, bool), live=optional(False, bool), host=optional(None, str, int))
def vm_action(store: Store, caller: Caller, ref: str | int, action: str, hard: bool,
              live: bool, host: str | int | None) -> str:
    """One VM action (what `onetui vm ACTION` does); the answer is its one-line result."""
    if action in _PLAIN:
        return _PLAIN[action](store, ref)
    if action in ("reboot", "poweroff"):
        return (actions.reboot if action == "reboot" else actions.poweroff)(store, ref,
                                                                             hard=hard)
    if action in ("migrate", "deploy"):
        if host is None:
            raise BadRequest(f"vm.action {action}: field 'host' is required")
        if action == "migrate":
            return actions.migrate(store, ref, host, live=live)
        return actions.deploy(store, ref, host)
    raise BadRequest(f"vm.action: no action {action!r}; expected one of: "
                     f"{', '.join(ACTIONS)}")


OVERRIDABLE = frozenset({"CPU", "MEMORY", "REQUIREMENTS"})


@operation("vm.create", template=required(str), count=optional(1, int),
           name=optional(None, str), hold=optional(False, bool),
           overrides=optional(None, dict), host=optional(None, str), text=optional(None, str))
def vm_create(store: Store, caller: Caller, template: str, count: int, name: str | None,
              hold: bool, overrides: dict[str, Any] | None, host: str | None,
              text: str | None) -> list[int]:
    """Write the intents of `count` VMs of a stored template (or of `text`, a template
    file the client read: the daemon never opens a path a client names); their ids."""
    from onetui.ops import instantiate  # with the template language: only vm.create needs it

    if overrides is not None and not all(isinstance(v, str) for v in overrides.values()):
        raise BadRequest("vm.create: field 'overrides' must map names to strings")
    bad = sorted({k.upper() for k in overrides or {}} - OVERRIDABLE)
    if bad:  # what `vm create --cpu/--memory/--requirements` and the console's form give
        raise BadRequest(f"vm.create: 'overrides' may set {', '.join(sorted(OVERRIDABLE))}; "
                         f"not {', '.join(bad)}")
    return instantiate.create(store, template, count=count, name=name, hold=hold,
                              overrides=overrides, host=host, text=text,
                              files=False)


@operation("vm.by_ids", ids=required(list))
def vm_by_ids(store: Store, caller: Caller, ids: list[Any]) -> list[dict[str, Any]]:
    """These VMs (those that exist), for watching a few: `vm create --wait`."""
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise BadRequest("vm.by_ids: field 'ids' must be a list of integers")
    return [vm_record(v) for v in store.vms.by_ids(ids)]
