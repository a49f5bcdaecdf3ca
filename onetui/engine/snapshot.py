"""The engine's copy of the hosts and live VMs it acts on, kept current from the store's
change log: each step of a pass reads the rows that changed since the last look, not every
row (10,000 VMs cost ~20 µs each to read and decode; a steady pass changes a handful).

Every write to `vms` and `hosts` appends to the change log by trigger (store/schema.py), so
writes by the CLI, the console or this engine itself all reach the copy at its next
`refresh()`. A change log pruned past the copy's cursor means a full reload.
"""

from __future__ import annotations

from onetui.model import VM, Host
from onetui.store import Store


class Snapshot:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._seq: int | None = None
        self._vms: dict[int, VM] = {}
        self._hosts: dict[int, Host] = {}
        self.reloads = 0  # full reads (the first, and any after the log was pruned)

    def refresh(self) -> None:
        """Bring the copy up to date: the changed rows only, or everything once."""
        if self._seq is None:
            self._reload()
            return
        changes = self.store.changes.since(self._seq)
        if not changes.complete:
            self._reload()
            return
        vm_ids, host_ids = changes.ids.get("vm", set()), changes.ids.get("host", set())
        if vm_ids:
            found = {vm.id: vm for vm in self.store.vms.by_ids(vm_ids)}
            for vid in vm_ids:
                vm = found.get(vid)
                if vm is None or vm.state == "done":
                    self._vms.pop(vid, None)
                else:
                    self._vms[vid] = vm
        if host_ids:
            hosts = {h.id: h for h in self.store.hosts.by_ids(host_ids)}
            for hid in host_ids:
                if hid in hosts:
                    self._hosts[hid] = hosts[hid]
                else:
                    self._hosts.pop(hid, None)
        self._seq = changes.seq

    def _reload(self) -> None:
        with self.store.db.snapshot():
            seq = self.store.changes.current()
            self._vms = {vm.id: vm for vm in self.store.vms.list(include_done=False)}
            self._hosts = {h.id: h for h in self.store.hosts.list()}
        self._seq = seq
        self.reloads += 1

    def vms(self, states: frozenset[str] | set[str] | None = None) -> list[VM]:
        """Live (not done) VMs by id, of `states` when given, as of the last refresh."""
        return [vm for _, vm in sorted(self._vms.items())
                if states is None or vm.state in states]

    def hosts(self) -> list[Host]:
        return [h for _, h in sorted(self._hosts.items())]
