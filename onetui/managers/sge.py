"""The engine's SGE hook: a VM whose template has an `SGE = [...]` section becomes an exec
host when it runs, and leaves SGE cleanly — drained first — before it shuts down.

State lives on the VM (`info.sge_state`: joining, waiting, joined, failed, draining, left),
so a restarted engine carries on where the last one stopped, and `vm show` tells the admin.
"""

from __future__ import annotations

import time
from typing import Any

from onetui.drivers.base import error_line
from onetui.errors import NotFound, UserError
from onetui.integrations.sge.master import Master
from onetui.model import VM
from onetui.model.services import Service
from onetui.store import Store
from onetui.store.db import StoreError
from onetui.template import Vector, parse

RETRY_AFTER = 30.0


def sge_section(vm: VM) -> Vector | None:
    try:
        section = parse(vm.body, f"VM {vm.id}").get("SGE")
    except UserError:
        return None
    return section if isinstance(section, Vector) else None


def exec_hostname(vm: VM, section: Vector, store: Store | None = None) -> str:
    """The name SGE knows the worker by: the hostname of its VPN lease (EC2 workers) or of
    a NIC's lease, else the template's HOSTNAME, else the VM's name."""
    leased = next((x.hostname for x in store.networks.leases(vm_id=vm.id) if x.hostname),
                  "") if store is not None else ""
    return str(vm.info.get("vpn_hostname") or leased or section.get("HOSTNAME") or vm.name)


class SgeHook:
    def __init__(self, store: Store, master: Master) -> None:
        self.store = store
        self.master = master

    # -- what the engine calls --------------------------------------------------------------

    def vm_changed(self, vm: VM, old: str, new: str) -> None:
        section = sge_section(vm)
        if section is None:
            return
        if new == "runn" and vm.info.get("sge_state") not in ("joined", "waiting"):
            self._join(vm, section)
        elif new in ("done", "fail") and vm.info.get("sge_state") in (
                "joined", "waiting", "draining", "failed", "joining"):
            self._remove(vm, section, "the VM is gone")

    def tick(self, vms: list[VM]) -> None:
        """Each pass: retry failed joins, and see whether waiting execds have reported."""
        for vm in vms:
            try:
                self._look(vm)
            except StoreError:
                raise
            except Exception as exc:  # this exec host alone
                self.store.events.add("vm", vm.id, f"VM {vm.id} {vm.name}: SGE: "
                                      f"{error_line(exc)}", level="error")

    def _look(self, vm: VM) -> None:
        state = vm.info.get("sge_state")
        if vm.state != "runn" or state not in ("failed", "waiting"):
            return
        section = sge_section(vm)
        if section is None:
            return
        if state == "failed" and time.time() - vm.info.get("sge_since", 0) > RETRY_AFTER:
            self._join(vm, section)
        elif state == "waiting":
            self._check_execd(vm, section)

    def hold_stop(self, vm: VM) -> str:
        """Before a shutdown: drain the host (disable its queue instance, let its jobs end
        or the drain timeout pass), then remove it. Returns why the shutdown must wait."""
        section = sge_section(vm)
        if section is None or vm.info.get("sge_state") not in ("joined", "waiting", "draining"):
            return ""
        host, queue = exec_hostname(vm, section, self.store), section.get("QUEUE") or "all.q"
        try:
            if vm.info.get("sge_state") != "draining":
                self.master.disable(host, queue)
                self._set(vm, "draining", f"queue instance {queue}@{host} disabled")
                vm = self.store.vms.get(vm.id)
            running = self.master.running_jobs(host, queue)
        except UserError as exc:
            self._set(vm, "draining", f"drain: {exc}", level="error")
            return f"draining from SGE: {exc}"
        waited = time.time() - vm.info.get("sge_since", time.time())
        if running and waited < self.master.config.drain_timeout:
            return f"draining from SGE: {running} job(s) still running on {queue}@{host}"
        self._remove(vm, section, f"drained ({running} job(s) left after {waited:.0f} s)"
                     if running else "drained")
        return ""

    # -- steps ------------------------------------------------------------------------------

    def _join(self, vm: VM, section: Vector) -> None:
        host = exec_hostname(vm, section, self.store)
        queue = section.get("QUEUE") or "all.q"
        try:
            slots = int(section.get("SLOTS") or 1)
            steps = self.master.join(host, queue, section.get("HOSTGROUP") or "@allhosts", slots)
        except (UserError, ValueError) as exc:
            self._set(vm, "failed", f"join {host}: {exc}", level="error")
            return
        self._set(vm, "waiting", f"{host} joined SGE ({', '.join(steps) or 'already known'}); "
                                 "waiting for its execd")
        self._check_execd(self.store.vms.get(vm.id), section)

    def _check_execd(self, vm: VM, section: Vector) -> None:
        host, queue = exec_hostname(vm, section, self.store), section.get("QUEUE") or "all.q"
        try:
            states = self.master.instance_state(host, queue)
        except UserError as exc:
            self.store.vms.update(vm.id, message=f"SGE: {exc}")
            return
        if states is not None and "u" not in states:
            self._set(vm, "joined", f"{queue}@{host} is up in SGE")

    def _remove(self, vm: VM, section: Vector, why: str) -> None:
        host = exec_hostname(vm, section, self.store)
        try:
            self.master.remove(host, section.get("QUEUE") or "all.q",
                               section.get("HOSTGROUP") or "@allhosts")
        except UserError as exc:
            self._set(vm, "failed", f"leave {host}: {exc}", level="error")
            return
        self._set(vm, "left", f"{host} removed from SGE: {why}")

    def _set(self, vm: VM, state: str, message: str, level: str = "info") -> None:
        fresh = self.store.vms.get(vm.id)
        info: dict[str, Any] = {**fresh.info, "sge_state": state, "sge_message": message}
        if fresh.info.get("sge_state") != state:
            info["sge_since"] = time.time()
        self.store.vms.update(vm.id, info=info, event=f"VM {vm.id} {vm.name}: SGE {message}",
                              level=level)


# -- scenario 4 as one command: a tier of exec hosts grown and shrunk on demand ----------------
#
# `onetui sge grow N --template T` is the grid service tier (managers/services.py) with the
# bookkeeping done for the admin: a service named after T, marked as an exec-host tier, made
# on first use (min 0), whose desired size goes up by N. The service manager then creates
# the clones, the engine starts them, and this hook joins each to SGE when it runs; `sge
# shrink N` lowers the size, the service manager shuts the newest down, and `hold_stop`
# above drains each (qmod -d, its jobs left to end) and removes it before it stops.

TIER_MARK = "sge_exec_tier"
MAX_EXEC_HOSTS = 256  # a new tier's max size (the store's check_size holds it to it)


def exec_tiers(store: Store) -> list[Service]:
    return [s for s in store.services.list() if s.config.get(TIER_MARK)]


def exec_host_count(verb: str, count: str | int) -> int:
    """N of `sge grow/shrink N`, the one check of it: plain digits, 1 or more (int() would
    also take "1_0", " +3 " or "-1")."""
    text = str(count)
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        shown = text if text.isascii() and text.isdigit() else repr(text)
        raise UserError(f"sge {verb} {shown}: expected a number of exec hosts of 1 or more")
    return int(text)


def grow(store: Store, count: int, template: str) -> tuple[Service, int]:
    """`count` more exec hosts cloned from `template`. Returns the tier and its size
    before. Refuses (UserError, nothing written) a count below 1, a template without an
    `SGE = [...]` section (its clones would never join), a service of that name that is
    not an exec-host tier, or a size beyond the tier's max."""
    count = exec_host_count("grow", count)
    tpl = store.templates.get(template)
    try:
        section = parse(tpl.body, f"template {tpl.name}").get("SGE")
    except UserError as exc:
        raise UserError(f"template {tpl.name}: {exc}") from None
    if not isinstance(section, Vector):
        raise UserError(f"template {tpl.name} has no SGE section, so its clones would not "
                        "join the grid: expected SGE = [ QUEUE = \"all.q\", HOSTGROUP = "
                        "\"@allhosts\", SLOTS = 1 ]")
    # one write: the tier made (first use) and grown, or neither; the size is added to in
    # the transaction, so a concurrent grow or elastic rule is not lost
    with store.db.transaction():
        try:
            tier = store.services.get(tpl.name)
        except NotFound:
            tier = store.services.add(tpl.name, tpl.id, None, 0, MAX_EXEC_HOSTS,
                                      {"grid": True, TIER_MARK: True})
        if not tier.config.get(TIER_MARK):
            raise UserError(f"service {tier.name} exists and is not an exec-host tier "
                            "(made by `sge grow`): rename it, or scale it with "
                            "`service scale`")
        return _resize(store, tier, count, f"sge grow {count}")


def shrink(store: Store, count: int, template: str | None = None) -> tuple[Service, int]:
    """`count` fewer exec hosts in the tier of `template` (or the only tier). Returns the
    tier and its size before; the engine drains and removes the newest first."""
    count = exec_host_count("shrink", count)
    tiers = exec_tiers(store)
    if template is not None:
        tier = next((s for s in tiers if s.name == template), None)
        if tier is None:
            raise UserError(f"--template {template}: no exec hosts were grown from it "
                            f"(tiers: {', '.join(s.name for s in tiers) or 'none'})")
    elif len(tiers) == 1:
        tier = tiers[0]
    elif not tiers:
        raise UserError("sge shrink: no exec hosts were grown (`sge grow N --template T`)")
    else:
        raise UserError("sge shrink: exec hosts were grown from several templates: name one "
                        f"with --template ({', '.join(s.name for s in tiers)})")
    return _resize(store, tier, -count, f"sge shrink {count}")


def _resize(store: Store, tier: Service, by: int, why: str) -> tuple[Service, int]:
    try:
        return store.services.resize(tier.id, by, why=why)
    except UserError as exc:  # which command was refused, and the store's reason
        raise UserError(f"{why}: {exc}") from None
