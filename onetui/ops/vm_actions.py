"""What an admin may ask of a VM. These only write intents (or, for VMs that have no guest
yet, settle them in the store at once); the engine carries them out. The CLI and the console
both call these, so a key in the console and a command do exactly the same thing."""

from __future__ import annotations

from onetui.errors import Conflict
from onetui.model import VM
from onetui.store import Store

_LIVE = {"prol", "boot", "runn", "susp", "unkn", "shut", "fail", "stop"}


# What the admin asked for, in their words ("delete", not the engine's "cancel").
_WORD = {"cancel": "delete"}


def _intent(store: Store, vm: VM, intent: str, allowed: set[str]) -> str:
    word = _WORD.get(intent, intent)
    if vm.state not in allowed:
        raise Conflict(f"VM {vm.id} is {vm.state}: cannot {word} (needs "
                       f"{' or '.join(sorted(allowed))})")
    store.vms.update(vm.id, intent=intent, event=f"VM {vm.id} {vm.name}: {word} requested")
    return f"VM {vm.id}: {word} requested"



def shutdown(store: Store, ref: int | str) -> str:
    return _intent(store, store.vms.get(ref), "shutdown", {"boot", "runn", "susp", "unkn"})


def suspend(store: Store, ref: int | str) -> str:
    return _intent(store, store.vms.get(ref), "suspend", {"runn"})


def resume(store: Store, ref: int | str) -> str:
    """From suspended (in memory) or stopped (on disk)."""
    return _intent(store, store.vms.get(ref), "resume", {"susp", "stop"})


def stop(store: Store, ref: int | str) -> str:
    """Save to disk and free the host's CPU and memory; `resume` restores on the same host."""
    return _intent(store, store.vms.get(ref), "stop", {"runn"})


def delete(store: Store, ref: int | str) -> str:
    """Hard cancel: a VM without a guest is done at once, others are destroyed by the
    engine. If the engine placed it a moment ago, the intent path catches that."""
    vm = store.vms.get(ref)
    if vm.state == "done":
        return f"VM {vm.id} is done already"
    try:
        store.vms.transition(vm.id, "done", expect={"pend", "hold"}, event="deleted")
        return f"VM {vm.id}: deleted"
    except Conflict:
        return _intent(store, store.vms.get(vm.id), "cancel", _LIVE)


def hold(store: Store, ref: int | str) -> str:
    vm = store.vms.get(ref)
    store.vms.transition(vm.id, "hold", expect={"pend"}, event="held")
    return f"VM {vm.id}: held"


def release(store: Store, ref: int | str) -> str:
    vm = store.vms.get(ref)
    store.vms.transition(vm.id, "pend", expect={"hold"}, event="released")
    return f"VM {vm.id}: released"
