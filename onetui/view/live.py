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
from onetui.view import trends
from onetui.view.handout import seat_rows, when
from onetui.view.rows import host_row, service_counts, service_row, vm_row
from onetui.view.trends import (
    SPARK_SPAN,
    Slices,
    grid_sparks,
    percent_spark,
    service_spark,
)

EVENT_BACKLOG = 200
SPARKS_EVERY = 2.0  # seconds: the sparklines' slices are minutes wide, a pass is a second


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
    grid: tuple[str, str] | None = None  # the SGE pane's running and pending sparklines
    history: bool = False  # the history grew: an open detail plot reads what it lacks
    at: float = 0.0

    @property
    def empty(self) -> bool:
        return not (self.full or self.hosts or self.vms or self.services or self.events
                    or self.grid is not None or self.history)


class Sparks:
    """What the panes' sparklines draw, kept per object as the means of the last hour's
    slices (`Slices`) and read incrementally: each refresh asks the store (one `read_many`
    per kind: each stored row decoded once for all hosts) only for the points from the
    newest one added on, and a sparkline is redrawn only when its characters change."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.slices: dict[tuple[str, str], Slices] = {}
        self.newest: dict[str, float] = {}  # per kind: the newest point read
        self.drawn: dict[tuple[str, str], tuple[str, ...]] = {}

    def series(self, kind: str, keys: list[str], until: float) -> dict[str, Slices]:
        """These objects' slices of the last hour, up to date."""
        start = until - SPARK_SPAN
        newest = self.newest.get(kind, start)
        known = [key for key in keys if (kind, key) in self.slices]
        new = [key for key in keys if (kind, key) not in self.slices]
        out: dict[str, Slices] = {}
        for group, since in ((known, max(newest, start)), (new, start)):
            if not group:
                continue
            for key, fresh in self.store.history.read_many(kind, group, since).items():
                slices = out[key] = self.slices.setdefault((kind, key), Slices())
                slices.follow(fresh, start)
                if fresh:
                    newest = max(newest, fresh[-1].at)
        self.newest[kind] = newest
        return out

    def changed(self, kind: str, key: str, cells: tuple[str, ...]) -> bool:
        """Note what the object's sparklines say now; whether that differs."""
        if self.drawn.get((kind, key)) == cells:
            return False
        self.drawn[(kind, key)] = cells
        return True

    def host(self, host_id: int) -> tuple[str, ...]:
        return self.drawn.get(("host", str(host_id)), ("", ""))

    def service(self, service_id: int) -> tuple[str, ...]:
        return self.drawn.get(("service", str(service_id)), ("",))

    def forget(self, kind: str, keep: set[int]) -> None:
        """Drop what is kept of deleted objects."""
        for table in (self.slices, self.drawn):
            for gone in [k for k in table if k[0] == kind and int(k[1]) not in keep]:
                del table[gone]


class LiveView:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.seq: int | None = None
        self.last_event = 0
        self._service_ids: set[int] = set()
        self._host_rows: dict[int, tuple[str, ...]] = {}  # without their sparklines
        self.sparks = Sparks(store)
        self._sparks_due = False
        self._sparks_at = 0.0  # when the sparklines were last read

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
        delta = Delta(at=now, history="history" in changes.ids)
        self._sparks_due = self._sparks_due or delta.history
        host_ids = set(changes.ids.get("host", set()))
        self._read_hosts(host_ids)
        services = bool(changes.ids.get("service"))
        if self._sparks_due and now - self._sparks_at >= SPARKS_EVERY:
            sparked, services_sparked, delta.grid = self._read_sparks(trends.now())
            host_ids |= sparked
            services = services or services_sparked
        delta.hosts = {i: self._host_with_sparks(i) for i in host_ids}
        vm_ids = changes.ids.get("vm", set())
        self._read_vms(vm_ids, delta)
        if services or (vm_ids and self._service_ids):
            delta.services = self._services()  # a few rows: recounted whole
        delta.events = self._events()
        return delta

    def _read_vms(self, vm_ids: set[int], delta: Delta) -> None:
        """These VMs' rows (a deleted or done one dropped) into the delta."""
        if not vm_ids:
            return
        found_vms = {v.id: v for v in self.store.vms.by_ids(vm_ids)}
        for i in vm_ids:
            vm = found_vms.get(i)
            if vm is None or vm.state == "done":
                delta.vms[i] = None
            else:
                delta.vms[i] = vm_row(vm, delta.at)
                delta.vm_started[i] = vm.created_at

    def _read_hosts(self, host_ids: set[int]) -> None:
        """The rows of these hosts read again (a deleted one dropped)."""
        if not host_ids:
            return
        found = {h.id: h for h in self.store.hosts.by_ids(host_ids)}
        for i in host_ids:
            if i in found:
                self._host_rows[i] = host_row(found[i])
            else:
                self._host_rows.pop(i, None)

    def _host_with_sparks(self, host_id: int) -> tuple[str, ...] | None:
        row = self._host_rows.get(host_id)
        return None if row is None else (*row, *self.sparks.host(host_id))

    def _read_sparks(self, now: float) -> tuple[set[int], bool, tuple[str, str] | None]:
        """The sparklines read again, incrementally: the hosts whose cells changed, whether
        a service's did, and the grid's two (None: unchanged)."""
        self._sparks_due, self._sparks_at = False, time.time()
        hosts = set()
        series = self.sparks.series("host", [str(i) for i in self._host_rows], now)
        for key, points in series.items():
            cells = (percent_spark(points, "cpu", now), percent_spark(points, "mem", now))
            if self.sparks.changed("host", key, cells):
                hosts.add(int(key))
        self.sparks.forget("host", set(self._host_rows))
        services = False
        series = self.sparks.series("service", [str(i) for i in self._service_ids], now)
        for key, points in series.items():
            cell = (service_spark(points, now),)
            services = self.sparks.changed("service", key, cell) or services
        self.sparks.forget("service", self._service_ids)
        grid = grid_sparks(self.sparks.series("grid", ["grid"], now)["grid"], now)
        changed = self.sparks.changed("grid", "grid", grid)
        return hosts, services, grid if changed else None

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
        rows.update({s.id: (*service_row(s, *counts[s.id]), *self.sparks.service(s.id))
                     for s in services})
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
        self._host_rows = {h.id: host_row(h) for h in hosts}
        # the sparklines follow with the next poll: a cold start does not wait for them
        self._sparks_due, self._sparks_at = True, 0.0
        delta = Delta(full=True, page=page, at=now,
                      hosts={i: self._host_with_sparks(i) for i in self._host_rows},
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
