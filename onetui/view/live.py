"""What the console's live panes need from the store, as deltas keyed by id.

Kept apart from the widgets (k9s's model layer): it reads the store — in a worker thread —
and answers "which rows changed since last time", so a pane updates a hundred rows in
place instead of rebuilding ten thousand. Rows come from `render`, the same cells the CLI
prints.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from onetui.model import Event
from onetui.model.labs import Lab, Seat
from onetui.store import Store
from onetui.view.handout import seat_rows, when
from onetui.view.rows import host_row, service_counts, service_row, vm_row

EVENT_BACKLOG = 200


@dataclass
class Delta:
    """Rows to put (id → cells) or drop (id → None); `full` means: replace everything;
    `page`: only the first rows of a full read (`LiveView.first`), the rest to follow."""

    full: bool = False
    page: bool = False
    hosts: dict[int, tuple[str, ...] | None] = field(default_factory=dict)
    vms: dict[int, tuple[str, ...] | None] = field(default_factory=dict)
    services: dict[int, tuple[str, ...] | None] = field(default_factory=dict)
    vm_started: dict[int, float] = field(default_factory=dict)  # for the ticking TIME column
    events: list[Event] = field(default_factory=list)
    at: float = 0.0

    @property
    def empty(self) -> bool:
        return not (self.full or self.hosts or self.vms or self.services or self.events)


class LiveView:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.seq: int | None = None
        self.last_event = 0
        self._service_ids: set[int] = set()

    def poll(self) -> Delta:
        """Everything on the first call (or when the change log no longer reaches back),
        afterwards only what changed."""
        now = time.time()
        if self.seq is None:
            return self._full(now)
        changes = self.store.changes.since(self.seq)
        if not changes.complete:
            return self._full(now)
        self.seq = changes.seq
        delta = Delta(at=now)
        host_ids = changes.ids.get("host", set())
        if host_ids:
            found = {h.id: h for h in self.store.hosts.by_ids(host_ids)}
            delta.hosts = {i: host_row(found[i]) if i in found else None for i in host_ids}
            # a renamed or deleted host changes the HOSTNAME column of its VMs
        vm_ids = changes.ids.get("vm", set())
        if vm_ids:
            found_vms = {v.id: v for v in self.store.vms.by_ids(vm_ids)}
            for i in vm_ids:
                vm = found_vms.get(i)
                if vm is None or vm.state == "done":
                    delta.vms[i] = None
                else:
                    delta.vms[i] = vm_row(vm, now)
                    delta.vm_started[i] = vm.created_at
        if changes.ids.get("service") or (vm_ids and self._service_ids):
            delta.services = self._services()  # a few rows: recounted whole
        delta.events = self._events()
        return delta

    def first(self, limit: int) -> Delta:
        """The first read, to paint at once: at most `limit` hosts and VMs, in the panes'
        default order (by id). When there are more (`page`), the view stays unread and
        the next `poll` is the full read, which replaces them."""
        return self._full(time.time(), limit)

    def _services(self) -> dict[int, tuple[str, ...] | None]:
        services = self.store.services.list()
        counts = service_counts(services, self.store.vms.list(include_done=False)
                                if services else [])
        rows: dict[int, tuple[str, ...] | None] = {i: None for i in self._service_ids}
        rows.update({s.id: service_row(s, *counts[s.id]) for s in services})
        self._service_ids = {s.id for s in services}
        return rows

    def _full(self, now: float, limit: int | None = None) -> Delta:
        seq = self.store.changes.current()
        more = None if limit is None else limit + 1
        vms = self.store.vms.list(include_done=False, limit=more)
        hosts = self.store.hosts.list(limit=more)
        page = limit is not None and (len(vms) > limit or len(hosts) > limit)
        if page:
            vms, hosts = vms[:limit], hosts[:limit]
        delta = Delta(full=True, page=page, at=now,
                      hosts={h.id: host_row(h) for h in hosts},
                      vms={v.id: vm_row(v, now) for v in vms},
                      vm_started={v.id: v.created_at for v in vms})
        delta.services = self._services()
        recent = self.store.events.recent(EVENT_BACKLOG)
        delta.events = list(reversed(recent))
        if not page:  # the whole store was read: from here on, only what changed
            self.seq = seq
            self.last_event = recent[0].id if recent else 0
        return delta

    def _events(self) -> list[Event]:
        new = self.store.events.since(self.last_event, limit=EVENT_BACKLOG)
        if new:
            self.last_event = new[-1].id
        return new


MASK = "••••-••••-••••"


@dataclass
class LabSnapshot:
    """The Labs screen's rows: labs by id, the selected lab's seats by number, and its
    header. Passwords are opened only for the seats the admin revealed."""

    labs: dict[int, tuple[str, ...]] = field(default_factory=dict)
    seats: dict[int, tuple[str, ...]] = field(default_factory=dict)
    header: str = ""
    lab: Lab | None = None  # the selected lab's record: actions need no store read


class LabView:
    def __init__(self, store: Store) -> None:
        self.store = store

    def poll(self, lab_id: int | None, revealed: set[int], reveal_all: bool) -> LabSnapshot:
        snap = LabSnapshot()
        labs = self.store.labs.list()
        by_lab: dict[int, list[Seat]] = {}
        for seat in self.store.labs.seats():  # every lab's seats in one read
            by_lab.setdefault(seat.lab_id, []).append(seat)
        for lab in labs:
            ready = sum(s.state == "ready" for s in by_lab.get(lab.id, []))
            state = "" if lab.state == "active" else f" ({lab.state})"
            snap.labs[lab.id] = (str(lab.id), lab.name + state, f"{ready}/{lab.seats}",
                                 when(lab.expires_at))
        current = next((lab for lab in labs if lab.id == lab_id), labs[0] if labs else None)
        if current is None:
            return snap
        snap.lab = current
        network = self.store.networks.get(current.network_id).name \
            if current.network_id else ""
        snap.header = (f"{current.name}: {current.seats} seat(s) of "
                       f"{current.config.get('template', '?')} on {network}, users "
                       f"{current.user_pattern}, admin {current.config.get('admin_user')}, "
                       f"expires {when(current.expires_at)}")
        clear = self.store.labs.passwords(current.id, None if reveal_all else revealed) \
            if reveal_all or revealed else {}
        for row in seat_rows(self.store, current, seats=by_lab.get(current.id, [])):
            number = row["seat"]
            password = clear.get(number, MASK) or "(wiped)"
            address = row["ip"] + ("" if row["port"] == 22 else f":{row['port']}")
            state = row["state"] + (f": {row['message']}" if row["message"] else "")
            snap.seats[number] = (
                f"{number:02d}", str(row["vm_id"] or ""), row["vm_state"], address,
                row["user"], password, "yes" if row["ready"] else "no", state)
        return snap
