"""What the console's live panes need, as deltas keyed by id, read through onetui's API.

Kept apart from the widgets (k9s's model layer): it asks the API — the daemon on its
socket, or the same handlers in this process — in a worker thread, and answers "which rows
changed since last time" from the change sequence (`changes` since a cursor, then only
those ids: `vm.by_ids`, `host.by_ids`), so a pane updates a hundred rows in place instead
of rebuilding ten thousand. Rows come from view.rows, the same cells the CLI prints, of the
API's records turned back into the model's values (view.records).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from onetui.client import Client
from onetui.model import VM, Event
from onetui.view import trends
from onetui.view.handout import when
from onetui.view.records import event_of, host_of, point_of, service_of, vms_of
from onetui.view.rows import host_row, service_row, vm_row
from onetui.view.trends import (
    SPARK_SPAN,
    Slices,
    grid_sparks,
    percent_spark,
    service_spark,
)

EVENT_BACKLOG = 200
PAGE = 500  # VMs in one answer of a full read
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
    slices (`Slices`) and read incrementally: each refresh asks the API (one
    `history.read_many` per kind: each stored row decoded once for all hosts) only for the
    points from the newest one added on, and a sparkline is redrawn only when its
    characters change."""

    def __init__(self, client: Client) -> None:
        self.client = client
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
            read = self.client.call("history.read_many", kind=kind, keys=group, since=since)
            for key, records in read.items():
                fresh = [point_of(p) for p in records]
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
    def __init__(self, client: Client) -> None:
        self.client = client
        self.seq: int | None = None
        self.last_event = 0
        self._service_ids: set[int] = set()
        self._host_rows: dict[int, tuple[str, ...]] = {}  # without their sparklines
        self.sparks = Sparks(client)
        self._sparks_due = False
        self._sparks_at = 0.0  # when the sparklines were last read

    def poll(self, wait: float = 0.0) -> Delta:
        """Everything on the first call (or when the change log no longer reaches back),
        afterwards only what changed: with `wait`, as soon as something changes, or after
        `wait` s with nothing (the daemon's long-poll)."""
        if self.seq is None:
            return self._full(time.time())
        changes = self.client.changes(self.seq, wait=wait)
        now = time.time()
        if not changes["complete"]:  # the log no longer reaches back (a new daemon's store)
            return self._full(now)
        self.seq = changes["seq"]
        ids: dict[str, list[int]] = changes["ids"]
        delta = Delta(at=now, history="history" in ids)
        self._sparks_due = self._sparks_due or delta.history
        host_ids = set(ids.get("host", ()))
        self._read_hosts(host_ids)
        services = bool(ids.get("service"))
        if self._sparks_due and now - self._sparks_at >= SPARKS_EVERY:
            sparked, services_sparked, delta.grid = self._read_sparks(trends.now())
            host_ids |= sparked
            services = services or services_sparked
        delta.hosts = {i: self._host_with_sparks(i) for i in host_ids}
        vm_ids = set(ids.get("vm", ()))
        self._read_vms(vm_ids, delta)
        if services or (vm_ids and self._service_ids):
            delta.services = self._services()  # a few rows: recounted whole
        delta.events = self._events()
        return delta

    def _read_vms(self, vm_ids: set[int], delta: Delta) -> None:
        """These VMs' rows (a deleted or done one dropped) into the delta."""
        if not vm_ids:
            return
        found_vms = {v.id: v for v in vms_of(self.client.call("vm.by_ids",
                                                              ids=sorted(vm_ids)))}
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
        found = {r["id"]: host_of(r) for r in self.client.call("host.by_ids",
                                                               ids=sorted(host_ids))}
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
        records = self.client.call("service.list")
        rows: dict[int, tuple[str, ...] | None] = {i: None for i in self._service_ids}
        rows.update({r["id"]: (*service_row(service_of(r), r["running"], r["members"]),
                               *self.sparks.service(r["id"])) for r in records})
        self._service_ids = {r["id"] for r in records}
        return rows

    def _full(self, now: float, limit: int | None = None) -> Delta:
        # the cursor first: what changes while the lists are read is read again next poll
        seq = self.client.call("changes.current")
        more = None if limit is None else limit + 1
        vms = self._vms(more)
        hosts = [host_of(r) for r in self.client.call("host.list", limit=more)]
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
        recent = self.client.call("events.list", limit=EVENT_BACKLOG)
        delta.events = [event_of(e) for e in recent["events"]]
        if not page:  # the whole store was read: from here on, only what changed
            self.seq = seq
            self.last_event = delta.events[-1].id if delta.events else 0
        return delta

    def _vms(self, limit: int | None) -> list[VM]:
        """The VMs not done, by id: the first `limit`, or all of them in pages of PAGE (a
        whole list's JSON is made and read in one piece, holding the GIL — and the
        console's event loop — for as long)."""
        if limit is not None:
            return vms_of(self.client.call("vm.list", include_done=False, limit=limit))
        out: list[VM] = []
        while True:
            page = vms_of(self.client.call("vm.list", include_done=False, limit=PAGE,
                                           after=out[-1].id if out else None))
            out += page
            if len(page) < PAGE:
                return out

    def _events(self) -> list[Event]:
        got = self.client.call("events.list", after=self.last_event, limit=EVENT_BACKLOG)
        new = [event_of(e) for e in got["events"]]
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
    # the selected lab as `lab.show` answers it (id, name, owner, seats, expires_at, …,
    # without its seats): actions need no read
    lab: dict[str, Any] | None = None


class LabView:
    """The Labs screen's reads, through the API. A revealed seat's password is asked for
    once (`lab.reveal`, a credential hand-out the daemon audits) and kept while it stays
    revealed, not asked again every second."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self._clear: dict[tuple[int, int], str] = {}  # (lab, seat) → its password, revealed

    def forget(self, lab_id: int | None = None, seat: int | None = None) -> None:
        """Drop the passwords kept (of one lab, or one seat): hidden again, or changed."""
        self._clear = {k: v for k, v in self._clear.items()
                       if not ((lab_id is None or k[0] == lab_id)
                               and (seat is None or k[1] == seat))}

    def poll(self, lab_id: int | None, revealed: set[int], reveal_all: bool) -> LabSnapshot:
        snap = LabSnapshot()
        labs = self.client.call("lab.list")
        for lab in labs:
            state = "" if lab["state"] == "active" else f" ({lab['state']})"
            snap.labs[lab["id"]] = (str(lab["id"]), lab["name"] + state,
                                    f"{lab['ready']}/{lab['seats']}", lab["expires"])
        current = next((lab for lab in labs if lab["id"] == lab_id), labs[0] if labs else None)
        if current is None:
            return snap
        shown = self.client.call("lab.show", ref=current["id"])
        seats = shown.pop("seat_list")
        snap.lab = shown
        snap.header = (f"{shown['name']}: {shown['seats']} seat(s) of "
                       f"{shown['template'] or '?'} on {shown['network']}, users "
                       f"{shown['user_pattern']}, admin {shown['admin_user']}, "
                       f"expires {when(shown['expires_at'])}")
        clear = self._passwords(shown["id"], [row["seat"] for row in seats], revealed,
                                reveal_all)
        for row in seats:
            number = row["seat"]
            password = clear.get(number, MASK) or "(wiped)"
            address = row["ip"] + ("" if row["port"] == 22 else f":{row['port']}")
            state = row["state"] + (f": {row['message']}" if row["message"] else "")
            snap.seats[number] = (
                f"{number:02d}", str(row["vm_id"] or ""), row["vm_state"], address,
                row["user"], password, "yes" if row["ready"] else "no", state)
        return snap

    def _passwords(self, lab_id: int, numbers: list[int], revealed: set[int],
                   reveal_all: bool) -> dict[int, str]:
        """The revealed seats' passwords: those not kept yet asked for in one request."""
        wanted = set(numbers) if reveal_all else revealed & set(numbers)
        self._clear = {k: v for k, v in self._clear.items()
                       if k[0] != lab_id or k[1] in wanted}
        missing = sorted(n for n in wanted if (lab_id, n) not in self._clear)
        if missing:
            got = self.client.call("lab.reveal", ref=lab_id,
                                   seats=None if reveal_all else missing)
            self._clear.update(((lab_id, int(n)), p) for n, p in got.items()
                               if int(n) in wanted)
        return {n: self._clear[(lab_id, n)] for n in wanted if (lab_id, n) in self._clear}
