"""What an admin may ask of a VM. These only write intents (or, for VMs that have no guest
yet, settle them in the store at once); the engine carries them out. The CLI and the console
both call these, so a key in the console and a command do exactly the same thing."""

from __future__ import annotations

from onetui.errors import Conflict
from onetui.model import VM, intent_word
from onetui.store import Store

_LIVE = frozenset({"prol", "boot", "runn", "susp", "unkn", "shut", "fail", "stop", "poff"})
_RUNNING = frozenset({"runn"})

# The states each command accepts: the one table the functions below check against and
# `onetui help states` prints. (delete in pend/hold is done at once, elsewhere by the engine.)
ACCEPTS: dict[str, frozenset[str]] = {
    "hold": frozenset({"pend"}),
    "release": frozenset({"hold"}),
    "deploy": frozenset({"pend", "hold"}),
    "suspend": _RUNNING,
    "stop": _RUNNING,
    "poweroff": _RUNNING,
    "reboot": _RUNNING,
    "migrate": _RUNNING,
    "resched": _RUNNING,
    "resume": frozenset({"susp", "stop", "poff"}),
    "shutdown": frozenset({"boot", "runn", "susp", "unkn", "poff"}),
    "delete": _LIVE | {"pend", "hold"},
}


def _intent(store: Store, vm: VM, intent: str, allowed: frozenset[str],
            what: str = "") -> str:
    word = intent_word(intent) + what
    if vm.state not in allowed:
        raise Conflict(f"VM {vm.id} is {vm.state}: cannot {word} (needs "
                       f"{' or '.join(sorted(allowed))})")
    store.vms.update(vm.id, intent=intent, event=f"VM {vm.id} {vm.name}: {word} requested")
    return f"VM {vm.id}: {word} requested"


def shutdown(store: Store, ref: int | str) -> str:
    return _intent(store, store.vms.get(ref), "shutdown", ACCEPTS["shutdown"])


def suspend(store: Store, ref: int | str) -> str:
    return _intent(store, store.vms.get(ref), "suspend", ACCEPTS["suspend"])


def resume(store: Store, ref: int | str) -> str:
    """From suspended (in memory), stopped (on disk) or powered off (booted again)."""
    return _intent(store, store.vms.get(ref), "resume", ACCEPTS["resume"])


def stop(store: Store, ref: int | str) -> str:
    """Save to disk and free the host's CPU and memory; `resume` restores on the same host."""
    return _intent(store, store.vms.get(ref), "stop", ACCEPTS["stop"])


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
    store.vms.transition(vm.id, "hold", expect=ACCEPTS["hold"], event="held")
    return f"VM {vm.id}: held"


def release(store: Store, ref: int | str) -> str:
    vm = store.vms.get(ref)
    store.vms.transition(vm.id, "pend", expect=ACCEPTS["release"], event="released")
    return f"VM {vm.id}: released"


def reboot(store: Store, ref: int | str, hard: bool = False) -> str:
    """ACPI reboot, or `hard`: the reset button (OpenNebula's `onevm reboot [--hard]`)."""
    return _intent(store, store.vms.get(ref), "reboot-hard" if hard else "reboot",
                   ACCEPTS["reboot"])


def poweroff(store: Store, ref: int | str, hard: bool = False) -> str:
    """Off but kept on its host with its disks and its place (`resume` boots it again)."""
    return _intent(store, store.vms.get(ref), "poweroff-hard" if hard else "poweroff",
                   ACCEPTS["poweroff"])


def migrate(store: Store, ref: int | str, host_ref: int | str, live: bool = False) -> str:
    """Move a running VM to `host_ref`. Checked here what the store knows (the host exists,
    is another one of the same kind); the hypervisors decide the rest, and say why not."""
    vm = store.vms.get(ref)
    target = store.hosts.get(host_ref)
    if vm.host_id == target.id:
        raise Conflict(f"VM {vm.id} runs on {target.name} already")
    if vm.host_id is not None:
        source = store.hosts.get(vm.host_id)
        if source.driver != "libvirt" or target.driver != "libvirt":
            raise Conflict(f"VM {vm.id}: only libvirt hosts migrate guests ({source.name} is "
                           f"{source.driver}, {target.name} is {target.driver})")
    intent = f"{'migrate-live' if live else 'migrate'}:{target.id}"
    return _intent(store, vm, intent, ACCEPTS["migrate"], f" to {target.name}")


def resched(store: Store, ref: int | str) -> str:
    """Ask the scheduler for a better host than the current one, and migrate there."""
    return _intent(store, store.vms.get(ref), "resched", ACCEPTS["resched"])


def deploy(store: Store, ref: int | str, host_ref: int | str) -> str:
    """Place a pending (or held) VM on `host_ref`, past REQUIREMENTS and RANK but not past
    the host's free CPU and memory (OpenNebula's `onevm deploy --enforce`)."""
    vm = store.vms.get(ref)
    target = store.hosts.get(host_ref)
    if vm.state == "hold":  # released and pinned in one write
        store.vms.transition(vm.id, "pend", expect={"hold"}, intent=f"deploy:{target.id}",
                             event=f"deploy on {target.name} requested")
        return f"VM {vm.id}: deploy on {target.name} requested"
    return _intent(store, vm, f"deploy:{target.id}", ACCEPTS["deploy"],
                   f" on {target.name}")
