"""The dashboard: live panes for hosts, VMs, services, SGE queues and events, the status
line, and the keys that act on them.

Only intents are written from here, through the API (the same operations as the CLI:
`vm.action`, `vm.create`, …). Every read and write runs in a thread worker that posts its
result as a message; the event loop only applies deltas. Keys and palette commands the
caller's role may not use are not offered (`check_action`). One poller re-arms itself
after each read (`ConsoleScreen.poll`), so reads never overlap; it goes on under a dialog
(and reads the open VM or host detail again), and pauses while Labs is on top or the
terminal is handed to `ssh`.
"""

from __future__ import annotations

import contextlib
import os
import time
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid as GridBox
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Static

from onetui import config
from onetui.client import ApiError, Client
from onetui.errors import UserError
from onetui.template import TemplateError, parse
from onetui.tui.commands import VIEWS, ActionsProvider
from onetui.tui.keys import Keys
from onetui.tui.panes import (
    EventsPane,
    FilterBar,
    HostsPane,
    LivePane,
    QueuesPane,
    ServicesPane,
    StatusLine,
    VmsPane,
)
from onetui.tui.screens.base import ConsoleScreen
from onetui.tui.screens.dialogs import (
    AddWorkers,
    Detail,
    Ec2Prompt,
    Form,
    Instantiate,
    InstantiateForm,
    TrustKey,
    answering,
)
from onetui.tui.table import Table
from onetui.view.describe import event_text, title
from onetui.view.grid import GridReading, HostKey
from onetui.view.live import Delta, LiveView
from onetui.view.records import vm_of
from onetui.view.trends import WINDOWS

if TYPE_CHECKING:
    # imported when first shown (a detail's plot, `L`): plotext and the Labs screen are
    # not on the way to the dashboard's first frame
    from onetui.tui.plots import HistoryPanel

SGE_EVERY = 5.0
# the first read: at most this many hosts and VMs (a tall screen's rows, twice), painted
# before the whole store is read (10,000 VMs: ~0.2 s to read, more to measure and sort)
FIRST_PAGE = 200
# VM actions that ask first (delete asks in its own action)
ASK_FIRST = {"shutdown": "Shut down VM {vm} now (its guest is told to power off)?",
             "poweroff": "Power VM {vm} off (it keeps its disks and host; resume boots it)?",
             "reboot": "Reboot VM {vm} now?"}
ENGINE_HERE = "engine: this console"


# the dashboard's actions → the operation of onetui.access.OPS each asks for: a role that
# may not is not offered the key (nor the palette command)
ACTION_OPS = {"create": "vm.create", "add_workers": "vm.create", "vm_action": "vm.action",
              "vm_delete": "vm.action", "vm_hold": "vm.action", "scale": "service.scale",
              "toggle_host": "host.enable"}


def engine_state(client: Client) -> str:
    """Who holds the engine's lease, as the status line says it (a request: call it in a
    worker)."""
    lease = client.call("engine.lease")
    if lease is None or not lease["alive"]:
        return "no engine running"
    if lease["pid"] == os.getpid():
        return ENGINE_HERE
    return f"engine: pid {lease['pid']} on {lease['hostname']}"


def detail_text(client: Client, kind: str, ref: str) -> tuple[str, str]:
    """A VM's, host's or service's detail: its title and `show`'s text, through the API."""
    shown = client.call(f"{kind}.show", ref=int(ref))
    record = shown.get(kind, shown)  # vm.show and host.show nest the record
    return title(kind, record["id"], record["name"]), shown["text"]


# -- what the dashboard's workers post back (to the dashboard itself) -----------------------

class Polled(Message, bubble=False):
    """One poll's reading; `delta` is None when the read failed (the app reported why)."""

    def __init__(self, delta: Delta | None, grid: GridReading | None = None,
                 engine: str = "", detail: tuple[str, str] | None = None,
                 grid_waiting: tuple[str, str] | None = None) -> None:
        super().__init__()
        self.delta = delta
        self.grid = grid  # the SGE reading, when this poll asked the daemon for the grid
        # why the master is not asked yet: the grid's state ("starting", "failed") and
        # what to show ("starting the grid…", why it did not start)
        self.grid_waiting = grid_waiting
        self.engine = engine  # who holds the engine's lease, as the status line says it
        self.detail = detail  # the open detail's title and text, read again


class Done(Message, bubble=False):
    """An action was taken: say so, and show its effect at once."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class DetailRead(Message, bubble=False):
    def __init__(self, kind: str, ref: str, title: str, text: str) -> None:
        super().__init__()
        self.kind, self.ref = kind, ref
        self.title = title
        self.text = text


class LiveDetail(Detail):
    """A VM's, host's, service's or SGE queue's detail that follows the store while it is
    open: the dashboard's poll (which goes on under a dialog) reads its text again and
    `show` puts the new text in; above the text, a plot of its history over a window the
    keys choose, which follows the history as it grows."""

    BINDINGS = [Binding(key, f"window('{key}')", window.label, show=False)
                for key, window in WINDOWS.items()]

    def __init__(self, kind: str, ref: str, title: str, text: str) -> None:
        super().__init__(title, text)
        self.kind, self.ref = kind, ref

    def compose(self) -> ComposeResult:
        from onetui.tui.plots import HistoryPanel

        history, key = HISTORY[self.kind]
        with Vertical(id="detail") as box:
            box.border_title = self.title_text
            yield HistoryPanel(history, key or self.ref,
                               "SGE grid" if history == "grid" else self.title_text)
            with VerticalScroll(id="detail-text"):
                yield Static(self.body, id="detail-body", markup=False)

    def action_window(self, key: str) -> None:
        self._plot().choose(key)

    def follow(self) -> None:
        """The history or the events grew: the plot reads what it lacks."""
        self._plot().follow()

    def _plot(self) -> HistoryPanel:
        from onetui.tui.plots import HistoryPanel

        return self.query_one(HistoryPanel)

    def show(self, title: str, text: str) -> None:
        if text != self.body:
            self.body = text
            self.query_one("#detail-body", Static).update(text)
        if title != self.title_text:
            self.title_text = self.query_one("#detail").border_title = title


# the history each detail plots: its kind, and its key (None: the object's id)
HISTORY: dict[str, tuple[str, str | None]] = {
    "vm": ("vm", None), "host": ("host", None), "service": ("service", None),
    "queue": ("grid", "grid")}
DESCRIBED = ("vm", "host", "service")  # read again with each poll (a queue's: SGE's)


class SshAddress(Message, bubble=False):
    """Where `x` connects to ("" while the VM has no address yet), and what that address
    is, for the line shown while ssh connects."""

    def __init__(self, vm_id: int, address: str, what: str = "") -> None:
        super().__init__()
        self.vm_id = vm_id
        self.address = address
        self.what = what  # "the VPN address of VM 7 (web-0)"


class CreateChoices(Message, bubble=False):
    """What the instantiate form offers: templates (name → text) and hosts."""

    def __init__(self, templates: dict[str, str], hosts: list[str]) -> None:
        super().__init__()
        self.templates = templates
        self.hosts = hosts


class Ec2Choices(Message, bubble=False):
    """The templates that have an EC2 section, for `e`."""

    def __init__(self, templates: list[str]) -> None:
        super().__init__()
        self.templates = templates


class Trusted(Message, bubble=False):
    """The daemon pinned the master's key (`path`: its known_hosts), or knew it already
    (`path` empty)."""

    def __init__(self, host: str, path: str) -> None:
        super().__init__()
        self.host = host
        self.path = path


class DashboardScreen(ConsoleScreen):
    CSS_PATH = "dashboard.tcss"
    WAIT = 1.0  # its rows follow the change sequence (a long-poll): a change shows at once
    # a short terminal (80x24, 60x20) gives the five panes equal rows: none left empty
    VERTICAL_BREAKPOINTS = [(0, "-short"), (32, "-tall")]
    COMMANDS = {ActionsProvider}
    # the VM pane has the keys from the start: focused once as the screen is composed (a
    # focus set on mount came after Textual's own on the first pane, and each focus change
    # restyled the panes and redrew the keys)
    AUTO_FOCUS = "#vms"
    BINDINGS = [
        # the app binds q as well; listed first here so the footer keeps it before the
        # dashboard's own keys
        Binding("q", "app.quit", "Quit"),
        Binding("c", "create", "Create"),
        Binding("e", "add_workers", "Add EC2 workers"),
        Binding("L", "labs", "Labs"),
        Binding("slash", "filter", "Filter"),
        Binding("ctrl+d", "vm_delete", "Delete VM", show=False),  # asks, as `d` does
    ]

    def __init__(self) -> None:
        super().__init__()
        self.view: LiveView | None = None  # on mount: it reads through the app's client
        self.grid: GridReading | None = None  # on mount: sge.qstat through the app's client
        self._last_sge = 0.0
        self._asked: set[str] = set()  # host key fingerprints asked about already
        self.detail: LiveDetail | None = None  # the VM or host detail open over the panes
        self._pane: Table | None = None  # the pane that had the keys when covered
        self._first = True  # the first read is `LiveView.first`

    def compose(self) -> ComposeResult:
        with GridBox(id="panes"):
            yield HostsPane(id="hosts")
            yield VmsPane(id="vms")
            yield ServicesPane(id="services")
            yield QueuesPane(id="queues")
            yield EventsPane(id="events")
        yield FilterBar(id="filter")
        yield StatusLine(id="status")
        yield Keys()

    def on_mount(self) -> None:
        self.view = LiveView(self.console.client)
        self.grid = GridReading(self.console.client)
        status = self.query_one(StatusLine)
        status.store = shown_path(self.console.store_path)
        status.who = self.console.who
        self.query_one(QueuesPane).show(None, None, "", True, waiting=self._grid_waiting())
        self.poll()
        # the clock, not a poll: TIME and the status line's age move on screen only
        self.set_interval(self.POLL_EVERY, self._tick)

    def on_screen_suspend(self) -> None:
        """Covered (Labs, a dialog, the palette): remember which pane had the keys."""
        if isinstance(self.focused, Table):
            self._pane = self.focused

    def on_screen_resume(self) -> None:
        """Back on top: the keys go to the pane that had them (Down, x, s act at once),
        also when the focus was dropped meanwhile (a terminal's focus-out, a click)."""
        if self.focused is None:
            (self._pane or self.query_one(VmsPane)).focus()

    def _tick(self) -> None:
        self.query_one(VmsPane).tick()
        self.query_one(StatusLine).now = time.time()

    # -- the poll ----------------------------------------------------------------------

    @work(thread=True, group="poll", exit_on_error=False)
    def read(self) -> None:
        polled = Polled(None)
        try:
            assert self.view is not None
            first, self._first = self._first, False
            delta = self.view.first(FIRST_PAGE) if first else self.view.poll(self.WAIT)
            grid = None
            waiting = self._grid_waiting()
            if waiting is not None:
                self._last_sge = 0.0  # the master is asked as soon as the grid is up
            # SGE (the daemon asks the master over SSH) waits for the read after a first page
            elif self.grid is not None and not delta.page and \
                    time.monotonic() - self._last_sge > SGE_EVERY:
                self._last_sge = time.monotonic()
                self.grid.poll()
                grid = self.grid
            polled = Polled(delta, grid, engine_state(self.console.client),
                            self._read_detail(), waiting)
        finally:
            # also after a failure (the app reports it): the handler re-arms the poll
            self.post_message(polled)

    def _grid_waiting(self) -> tuple[str, str] | None:
        """While a grid is being brought up (the demo's), its state and what the SGE pane
        says instead of asking the master: "starting the grid…", or why it did not start.
        None: ask the master."""
        status = self.console.grid_status
        if status is None:
            return None
        state, message = status()
        return None if state == "up" else (state, message or state)

    def _read_detail(self) -> tuple[str, str] | None:
        """The open detail's text, read again (in the poll's thread); a VM deleted
        meanwhile says so in place of its text."""
        detail = self.detail
        if detail is None or detail.kind not in DESCRIBED:
            return None  # a queue's jobs come from the SGE pane's reading
        try:
            return detail_text(self.console.client, detail.kind, detail.ref)
        except ApiError as exc:
            if exc.status != 404:
                raise
            return detail.title_text, f"{exc} (it was deleted)"

    def on_polled(self, message: Polled) -> None:
        if message.delta is not None:
            status = self.query_one(StatusLine)
            status.engine = message.engine
            status.daemon = ""  # answered: a daemon that was gone is back
            self.apply(message.delta, message.grid, message.grid_waiting)
        detail = self.detail
        if detail is not None and detail.is_attached:
            if message.detail is not None:
                detail.show(*message.detail)
            if message.delta is not None and (message.delta.history or message.delta.events):
                detail.follow()  # its plot reads the points and events it lacks
        if message.delta is not None and message.delta.page:
            # the full read right after the first page is painted, not a poll later. After
            # the VM pane's refresh, not the screen's: the screen's callbacks run as soon
            # as the screen itself is idle, before the panes have drawn their rows, and the
            # full read (10,000 VMs through the API) then took the GIL from the first frame
            self._polling = False
            self.query_one(VmsPane).call_after_refresh(self.poll)
            return
        self.polled(message.delta is not None)

    def apply(self, delta: Delta, grid: GridReading | None,
              waiting: tuple[str, str] | None = None) -> None:
        """Put the delta on screen: only changed rows are touched."""
        vms = self.query_one(VmsPane)
        vms.started.update(delta.vm_started)
        if delta.hosts or delta.full:
            self.query_one(HostsPane).apply(delta.hosts, delta.full)
        if delta.vms or delta.full:
            vms.apply(delta.vms, delta.full)
        if delta.services or delta.full:
            self.query_one(ServicesPane).apply(delta.services, delta.full)
        if delta.events or delta.full:
            self.query_one(EventsPane).add(delta.events, delta.full)
        if delta.grid is not None:
            self.query_one(QueuesPane).trend(*delta.grid)
        if waiting is not None:
            self.query_one(QueuesPane).show(None, None, "", True, waiting=waiting)
        elif grid is not None:
            self.query_one(QueuesPane).show(grid.grid, grid.stale_since, grid_error(grid),
                                            grid.configured)
            if grid.unknown_key is not None:
                self._ask_trust(grid.unknown_key)
        self.query_one(StatusLine).refreshed_at = time.time()

    # -- an unknown SGE host key -------------------------------------------------------

    def _ask_trust(self, key: HostKey) -> None:
        """Once per key, and to an admin only (others see the pane's error line): the
        admin compares the fingerprint the daemon saw and decides."""
        if key.fingerprint in self._asked or self.app.screen is not self \
                or not self.console.may("ssh.trust"):
            return
        self._asked.add(key.fingerprint)

        def answered(yes: bool | None) -> None:
            if yes:
                self._trust(key)
        self.app.push_screen(TrustKey(key.host, key.key_type, key.fingerprint), answered)

    @work(thread=True, group="action", exit_on_error=False)
    def _trust(self, key: HostKey) -> None:
        """The key the admin saw, nothing else: the daemon pins it only if the master
        still presents that very key."""
        done = self.console.client.call("sge.trust", key_type=key.key_type, key=key.key,
                                        fingerprint=key.fingerprint)
        self.post_message(Trusted(done["host"], done["known_hosts"] or ""))

    def on_trusted(self, message: Trusted) -> None:
        self.notify(f"trusted {message.host}: added to {message.path}"
                    if message.path else f"{message.host}: its key is trusted already")
        self._last_sge = 0.0  # ask the master again at the next poll

    # -- helpers -----------------------------------------------------------------------

    def default_table(self) -> Table:
        return self.query_one(VmsPane)

    def focused_pane(self) -> Table:
        focused = self.focused
        return focused if isinstance(focused, Table) else self.query_one(VmsPane)

    def selected_vm(self) -> int | None:
        vm_id = self.query_one(VmsPane).selected_id()
        if vm_id is None:
            self.notify("no VM selected", severity="warning")
        return vm_id

    def on_done(self, message: Done) -> None:
        self.notify(message.text)
        self.poll_now()

    @work(thread=True, group="action", exit_on_error=False)
    def intent(self, action: str, vm_id: int) -> None:
        self.post_message(Done(self.console.client.call("vm.action", ref=vm_id,
                                                        action=action)))

    # -- who may -----------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """A key (or palette command) whose operation the role may not ask for is not
        offered: Textual hides its binding and does not run it."""
        op = ACTION_OPS.get(action)
        return op is None or self.console.may(op)

    # -- actions -----------------------------------------------------------------------

    def action_vm_action(self, name: str) -> None:
        """An intent on the selected VM; the ones that take a running guest away ask
        first, as delete does (one key must not shut a VM down)."""
        vm_id = self.selected_vm()
        if vm_id is None:
            return
        question = ASK_FIRST.get(name)
        if question:
            self.console.confirm(question.format(vm=vm_id), lambda: self.intent(name, vm_id))
        else:
            self.intent(name, vm_id)

    def action_vm_delete(self) -> None:
        vm_id = self.selected_vm()
        if vm_id is not None:
            self.console.confirm(f"Delete VM {vm_id} now (destroy, remove its disks)?",
                                 lambda: self.intent("delete", vm_id))

    def action_vm_hold(self) -> None:
        vm_id = self.selected_vm()
        if vm_id is not None:
            state = self.query_one(VmsPane).rows_by_id.get(vm_id, ("", "", ""))[2]
            self.intent("release" if state == "hold" else "hold", vm_id)

    def action_copy_id(self) -> None:
        pane = self.focused_pane()
        selected = pane.selected_id() if isinstance(pane, LivePane) else None
        if selected is not None:
            self.app.copy_to_clipboard(str(selected))
            self.notify(f"copied {selected}")

    def action_vm_ssh(self) -> None:
        vm_id = self.selected_vm()
        if vm_id is not None:
            self._ssh_address(vm_id)

    @work(thread=True, group="action", exit_on_error=False)
    def _ssh_address(self, vm_id: int) -> None:
        found = self.console.client.call("vm.by_ids", ids=[vm_id])
        if not found:
            raise UserError(f"no VM {vm_id} (it was deleted)")
        vm = vm_of(found[0])
        vpn = vm.info.get("vpn_ip")
        named = f"VM {vm_id} ({vm.name})" if vm.name else f"VM {vm_id}"
        self.post_message(SshAddress(vm_id, vpn or vm.ip or "",
                                     f"the {'VPN ' if vpn else ''}address of {named}"))

    def on_ssh_address(self, message: SshAddress) -> None:
        if not message.address:
            self.notify(f"VM {message.vm_id} has no address yet", severity="warning")
            return
        self.console.ssh([message.address],
                         f"connecting to {message.address} ({message.what})… "
                         "Ctrl-C gives up and returns to onetui")

    def action_labs(self) -> None:
        from onetui.tui.screens.labs import LabsScreen

        self.app.push_screen(LabsScreen())

    def action_view(self, word: str) -> None:
        """The palette's `vm`, `host`, `svc`, `sge`, `events` (focus that pane) and `lab`
        (the Labs screen)."""
        _shows, pane = VIEWS[word]
        if pane:
            self.query_one(f"#{pane}").focus()
        else:
            self.action_labs()

    def action_details(self) -> None:
        pane = self.focused_pane()
        if isinstance(pane, HostsPane):
            self.action_show_host()
        elif isinstance(pane, ServicesPane):
            self.action_show_service()
        elif isinstance(pane, QueuesPane):
            self.action_show_queue()
        elif isinstance(pane, EventsPane):
            self.action_show_event()
        else:
            self.action_show_vm()

    def action_show_event(self) -> None:
        """The whole event (the pane cuts its message at its width): time, object,
        message; no store read, the pane holds the events it shows."""
        pane = self.query_one(EventsPane)
        event_id = pane.selected_id()
        if event_id is not None and event_id in pane.events:
            self.app.push_screen(Detail(*event_text(pane.events[event_id])))

    def action_show_vm(self) -> None:
        vm_id = self.selected_vm()
        if vm_id is not None:
            self._detail("vm", str(vm_id))

    def action_show_host(self) -> None:
        host_id = self.query_one(HostsPane).selected_id()
        if host_id is not None:
            self._detail("host", str(host_id))

    def action_show_queue(self) -> None:
        if self.grid is not None and not self.grid.configured:
            self.notify(grid_error(self.grid), severity="warning", timeout=10)
            return
        pane = self.query_one(QueuesPane)
        name = pane.selected_queue()
        if name is None:
            self.notify("select a queue instance (a line with a queue's name) to see its jobs",
                        severity="warning")
        elif pane.grid:
            inst = pane.grid.instance(name)
            jobs = "\n".join(f"{j.number:>7} {j.name:<12} {j.owner:<12} {j.state:<4} "
                             f"{j.time} {j.slots}" for j in inst.jobs) if inst else ""
            # the plot is the grid's: the history keeps running and pending jobs per grid
            self.on_detail_read(DetailRead("queue", name, f"Queue {name}",
                                           jobs or "no jobs running"))

    def action_show_service(self) -> None:
        svc_id = self.query_one(ServicesPane).selected_id()
        if svc_id is not None:
            self._detail("service", str(svc_id))

    @work(thread=True, group="action", exit_on_error=False)
    def _detail(self, kind: str, ref: str) -> None:
        self.post_message(DetailRead(kind, ref, *detail_text(self.console.client, kind, ref)))

    def on_detail_read(self, message: DetailRead) -> None:
        if isinstance(self.app.screen, Detail):
            return  # Enter pressed twice: one detail is enough
        detail = LiveDetail(message.kind, message.ref, message.title, message.text)

        def closed(_: None) -> None:
            if self.detail is detail:
                self.detail = None
        self.detail = detail
        self.app.push_screen(detail, closed)

    def action_scale(self, step: int) -> None:
        svc_id = self.query_one(ServicesPane).selected_id()
        if svc_id is None:
            self.notify("no service selected", severity="warning")
            return
        self._scale(svc_id, step)

    @work(thread=True, group="action", exit_on_error=False)
    def _scale(self, svc_id: int, step: int) -> None:
        client = self.console.client
        desired = client.call("service.show", ref=svc_id)["desired"]
        self.post_message(Done(client.call("service.scale", ref=svc_id, size=desired + step)))

    def action_toggle_host(self) -> None:
        host_id = self.query_one(HostsPane).selected_id()
        if host_id is not None:
            self._toggle_host(host_id)

    @work(thread=True, group="action", exit_on_error=False)
    def _toggle_host(self, host_id: int) -> None:
        """A write: off the event loop, like every other request from the console."""
        client = self.console.client
        found = client.call("host.by_ids", ids=[host_id])
        if not found:
            raise UserError(f"no host {host_id} (it was deleted)")
        self.post_message(Done(client.call("host.enable", ref=host_id,
                                           enabled=not found[0]["enabled"])))

    def action_create(self) -> None:
        self._create_choices()

    @work(thread=True, group="action", exit_on_error=False)
    def _create_choices(self) -> None:
        client = self.console.client
        self.post_message(CreateChoices({t["name"]: t["body"]
                                         for t in client.call("template.list")},
                                        [h["name"] for h in client.call("host.list")]))

    def on_create_choices(self, message: CreateChoices) -> None:
        if isinstance(self.app.screen, InstantiateForm):
            return  # `c` pressed twice: one form is enough

        self.app.push_screen(InstantiateForm(message.templates, message.hosts,
                                             self._instantiate))

    @work(thread=True, group="instantiate", exit_on_error=False)
    def _instantiate(self, form: Form[Any], request: Instantiate) -> None:
        """The form's request: the form closes when the VMs were written, and shows why
        not when the store refused them."""
        with answering(form):
            ids = self.console.client.call(
                "vm.create", template=request.template, count=request.count,
                name=request.name, hold=request.hold, overrides=request.overrides or None)
            self.post_message(Done(f"created VM(s) {', '.join(map(str, ids))}"))

    def action_add_workers(self) -> None:
        self._ec2_choices()

    @work(thread=True, group="action", exit_on_error=False)
    def _ec2_choices(self) -> None:
        ec2 = []
        for t in self.console.client.call("template.list"):
            try:
                if parse(t["body"], t["name"]).get("EC2") is not None:
                    ec2.append(t["name"])
            except TemplateError:
                continue
        self.post_message(Ec2Choices(ec2))

    @on(Ec2Choices)  # by the decorator: the handler's name from `Ec2…` would be on_ec2choices
    def ec2_prompt(self, message: Ec2Choices) -> None:
        if isinstance(self.app.screen, Ec2Prompt):
            return  # `e` pressed twice
        cfg = self.console.cfg
        last = cfg.get("console", {}).get("last_ec2_template")

        def done(request: AddWorkers | None) -> None:
            if request is not None:  # added: remember the template for next time
                cfg.setdefault("console", {})["last_ec2_template"] = request.template
                with contextlib.suppress(OSError):
                    config.save_config(cfg)

        def add(form: Form[AddWorkers], request: AddWorkers) -> None:
            self._instantiate(form, Instantiate(request.template, request.count, None, False,
                                                {}))
        self.app.push_screen(Ec2Prompt(message.templates, last, add), done)


def grid_error(grid: GridReading) -> str:
    """Why the grid does not show; the daemon's config file (no [sge] in it) under the
    home folder as ~/…, as the status line shows the store."""
    if not grid.config:
        return grid.error
    return grid.error.replace(grid.config, shown_path(grid.config))


def shown_path(path: os.PathLike[str] | str) -> str:
    """The store's path as the status line shows it: under the home folder as `~/…`
    (shorter, and the same for the admin wherever their home is)."""
    text = os.fspath(path)
    home = os.path.expanduser("~")
    if home not in ("", "~", "/") and (text == home or text.startswith(home + os.sep)):
        return "~" + text[len(home):]
    return text
