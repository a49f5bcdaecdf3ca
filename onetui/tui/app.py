"""The onetui console: live panes for hosts, VMs, SGE queues and events.

Only intents are written from here (through `engine.actions` and `engine.instantiate`, the
same calls as the CLI); the engine runs in a worker thread unless another process holds
its lease. Every store read and remote call runs in a thread worker; the event loop only
applies deltas. A refresh is re-armed when the previous one finished (polls never
overlap) and pauses while a modal is open or the console is suspended for SSH.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Grid as GridBox
from textual.widgets import DataTable, Footer, Static
from textual.worker import Worker, WorkerState

from onetui import config
from onetui.errors import UserError
from onetui.integrations.sge.master import GridWatch, Master, SgeConfig
from onetui.ops import instantiate
from onetui.ops import vm_actions as actions
from onetui.remote.ssh import HostKeyUnknown, trust
from onetui.runtime.compose import build_engine
from onetui.store import Store
from onetui.template import TemplateError, parse
from onetui.tui.commands import ActionsProvider
from onetui.tui.panes import (
    EventsPane,
    HostsPane,
    LivePane,
    QueuesPane,
    ServicesPane,
    VmsPane,
)
from onetui.tui.screens.dialogs import (
    AddWorkers,
    Confirm,
    Detail,
    Ec2Prompt,
    Instantiate,
    InstantiateForm,
    Prompt,
    TrustKey,
    error_text,
)
from onetui.tui.screens.labs import LabsScreen
from onetui.tui.themes import DEFAULT, load_themes
from onetui.view.describe import host_text, vm_text
from onetui.view.live import Delta, LiveView
from onetui.view.rows import stamp

REFRESH = 1.0
SGE_EVERY = 5.0

CSS = """
Screen { layout: vertical; }
#panes { grid-size: 2 3; grid-columns: 1fr 1fr; grid-rows: 2fr 1fr 2fr; height: 1fr; }
#vms { row-span: 2; }
#panes > * { border: round $primary 40%; height: 100%; }
#panes > *:focus-within, #panes > *:focus { border: round $accent; }
#status { height: 1; background: $panel; color: $text-muted; padding: 0 1; }
#detail, #form { width: 90%; height: 90%; border: round $accent; background: $surface;
                 padding: 0 1; }
#confirm, #prompt { width: 84; height: auto; border: round $accent; background: $surface;
                    padding: 1 2; }
ModalScreen { align: center middle; }
.error { color: $error; height: auto; }
.hint { color: $text-muted; }
.buttons { height: auto; margin-top: 1; }
#preview { color: $text-muted; border: dashed $primary 30%; height: auto; max-height: 12; }
"""


class OnetuiApp(App[None]):
    TITLE = "onetui"
    CSS = CSS
    COMMANDS = App.COMMANDS | {ActionsProvider}
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("c", "create", "Create"),
        Binding("e", "add_workers", "Add EC2 workers"),
        Binding("L", "labs", "Labs"),
        Binding("slash", "filter", "Filter"),
        Binding("colon", "command_palette", "Palette", show=False),
        Binding("question_mark", "help", "Keys"),
        Binding("t", "change_theme", "Theme"),
        Binding("tab", "focus_next", "Next pane", show=False),
        Binding("shift+tab", "focus_previous", "Previous pane", show=False),
    ]

    def __init__(self, store_path: Path, *, theme: str | None = None, run_engine: bool = True,
                 cfg: dict[str, Any] | None = None, engine_interval: float = 2.0) -> None:
        super().__init__()
        self.store_path = store_path
        self.cfg = config.load_config() if cfg is None else cfg
        self.store = Store(store_path)
        self.view = LiveView(self.store)
        self.run_engine = run_engine
        self.engine_interval = engine_interval
        self.engine_state = "no engine running"
        self._stop = threading.Event()
        self._last_refresh = 0.0
        self._last_sge = 0.0
        self._refreshing = False
        self._suspended = False
        self._asked: set[str] = set()
        self._wanted_theme = theme or self.cfg.get("console", {}).get("theme") or DEFAULT
        sge = SgeConfig.from_config(self.cfg)
        self.grid_watch = GridWatch(Master(sge)) if sge else None

    # -- layout -----------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with GridBox(id="panes"):
            yield HostsPane(id="hosts")
            yield VmsPane(id="vms")
            yield ServicesPane(id="services")
            yield QueuesPane(id="queues")
            yield EventsPane(id="events")
        yield Static("", id="status")
        yield Footer()

    def on_mount(self) -> None:
        themes, problems = load_themes()
        for theme in themes:
            self.register_theme(theme)
        for problem in problems:
            self.notify(problem, severity="warning")
        self.theme = self._wanted_theme if self._wanted_theme in self.available_themes \
            else DEFAULT
        self.query_one(QueuesPane).show(None, None, "", self.grid_watch is not None)
        self.query_one(VmsPane).focus()
        if self.run_engine:
            self.engine_worker()
        self.refresh_worker()
        self.set_interval(REFRESH, self._tick)

    def watch_theme(self, theme: str) -> None:
        """Remember the choice, and recolour the state column."""
        if theme != self.cfg.get("console", {}).get("theme") and self.is_mounted:
            self.cfg.setdefault("console", {})["theme"] = theme
            try:
                config.save_config(self.cfg)
            except OSError as exc:
                self.notify(f"theme not saved: {exc}", severity="warning")
        if self.is_mounted:
            self.query_one(VmsPane).rebuild()

    # -- the engine and the refresh loop ----------------------------------------------

    @work(thread=True, exclusive=True, group="engine", exit_on_error=False)
    def engine_worker(self) -> None:
        with Store(self.store_path) as store:
            def problem(message: str) -> None:
                self.call_from_thread(self.notify, message, severity="error")
            engine = build_engine(store, self.cfg, on_error=problem,
                                  interval=self.engine_interval)
            engine.run(self._stop, on_wait=lambda _msg: None)

    def _tick(self) -> None:
        if not self._refreshing and not self._suspended and len(self.screen_stack) == 1:
            # the dashboard is the only screen: under a modal or the Labs screen it waits
            self.refresh_worker()
        self.query_one(VmsPane).tick()
        self._status()

    @work(thread=True, exclusive=True, group="refresh", exit_on_error=False)
    def refresh_worker(self) -> tuple[Delta, Any]:
        self._refreshing = True
        delta = self.view.poll()
        grid = None
        if self.grid_watch and time.monotonic() - self._last_sge > SGE_EVERY:
            self._last_sge = time.monotonic()
            self.grid_watch.poll()
            grid = self.grid_watch
        lease = self.store.leader.current()
        if lease is None or not lease.alive:
            self.engine_state = "no engine running"
        elif lease.pid == os.getpid():
            self.engine_state = "engine: this console"
        else:
            self.engine_state = f"engine: pid {lease.pid} on {lease.hostname}"
        return delta, grid

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group == "refresh" and event.state in (WorkerState.SUCCESS,
                                                         WorkerState.ERROR):
            self._refreshing = False
            if event.state == WorkerState.SUCCESS and worker.result is not None:
                self.apply(*worker.result)
            elif worker.error is not None:
                self.notify(f"refresh: {error_text(worker.error)}", severity="error")
        elif worker.group == "engine" and event.state == WorkerState.ERROR:
            self.notify(f"engine stopped: {error_text(worker.error)}", severity="error",
                        timeout=30)

    def apply(self, delta: Delta, grid: GridWatch | None) -> None:
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
        if grid is not None:
            self.query_one(QueuesPane).show(grid.grid, grid.stale_since, grid.error, True)
            if isinstance(grid.problem, HostKeyUnknown):
                self._ask_trust(grid.problem)
        self._last_refresh = time.time()
        self._status()

    def _ask_trust(self, problem: HostKeyUnknown) -> None:
        """Once per key: the admin compares the fingerprint and decides."""
        if problem.fingerprint in self._asked or len(self.screen_stack) > 1:
            return
        self._asked.add(problem.fingerprint)

        def answered(yes: bool | None) -> None:
            if yes and self.grid_watch is not None:
                self._trust(problem)
        self.push_screen(TrustKey(problem.host, problem.key.get_name(), problem.fingerprint),
                         answered)

    @work(thread=True, group="action", exit_on_error=False)
    def _trust(self, problem: HostKeyUnknown) -> None:
        assert self.grid_watch is not None
        target = self.grid_watch.master.runner.target
        path = trust(target, problem.key)
        self.call_from_thread(self.notify, f"trusted {problem.host}: added to {path}")
        self._last_sge = 0.0

    def _status(self) -> None:
        age = time.time() - self._last_refresh
        fresh = ("loading…" if not self._last_refresh else
                 "live" if age < 3 * REFRESH else f"refreshed {age:.0f}s ago")
        self.query_one("#status", Static).update(
            f"{self.engine_state}  │  store {self.store_path}  │  {fresh}")

    def on_unmount(self) -> None:
        self._stop.set()

    # -- helpers ----------------------------------------------------------------------

    def focused_pane(self) -> Any:
        widget = self.focused
        return widget if isinstance(widget, DataTable) else self.query_one(VmsPane)

    def selected_vm(self) -> int | None:
        vm_id = self.query_one(VmsPane).selected_id()
        if vm_id is None:
            self.notify("no VM selected", severity="warning")
        return vm_id

    @work(thread=True, group="action", exit_on_error=False)
    def intent(self, action: Any, vm_id: int) -> None:
        try:
            message = action(self.store, vm_id)
        except UserError as exc:
            self.call_from_thread(self.notify, str(exc), severity="error")
            return
        self.call_from_thread(self.notify, message)
        self.call_from_thread(self.refresh_worker)

    # -- actions ----------------------------------------------------------------------

    def action_vm_action(self, name: str) -> None:
        vm_id = self.selected_vm()
        if vm_id is not None:
            self.intent(getattr(actions, name), vm_id)

    def action_vm_delete(self) -> None:
        vm_id = self.selected_vm()
        if vm_id is not None:
            self.confirm(f"Delete VM {vm_id} now (destroy, remove its disks)?",
                         lambda: self.intent(actions.delete, vm_id))

    def confirm(self, question: str, then: Callable[[], object]) -> None:
        """Ask first; `then` runs only on yes (every destructive key goes through here)."""
        def answered(yes: bool | None) -> None:
            if yes:
                then()
        self.push_screen(Confirm(question), answered)

    def action_vm_hold(self) -> None:
        vm_id = self.selected_vm()
        if vm_id is not None:
            state = self.query_one(VmsPane).rows_by_id.get(vm_id, ("", "", ""))[2]
            self.intent(actions.release if state == "hold" else actions.hold, vm_id)

    def action_copy_id(self) -> None:
        pane = self.focused_pane()
        selected = pane.selected_id() if isinstance(pane, LivePane) else None
        if selected is not None:
            self.copy_to_clipboard(str(selected))
            self.notify(f"copied {selected}")

    def action_vm_ssh(self) -> None:
        vm_id = self.selected_vm()
        if vm_id is None:
            return
        vm = self.store.vms.get(vm_id)
        address = vm.info.get("vpn_ip") or vm.ip
        if not address:
            self.notify(f"VM {vm_id} has no address yet", severity="warning")
            return
        self.run_in_terminal(["ssh", address])

    @property
    def suspended_for_ssh(self) -> bool:
        return self._suspended

    def run_in_terminal(self, argv: list[str]) -> None:
        """Hand the terminal to `argv` (the system ssh) and take it back when it exits;
        where the console cannot suspend (a test harness, no tty) say what to run."""
        command = shlex.join(argv)
        self._suspended = True
        try:
            with self.suspend():
                done = subprocess.run([shutil.which(argv[0]) or argv[0], *argv[1:]],
                                      check=False)
                if done.returncode != 0:
                    # its message is on the screen: keep it there until the admin read it
                    with contextlib.suppress(EOFError, OSError):
                        input(f"\n[{argv[0]} exited with status {done.returncode}; "
                              "Enter returns to onetui] ")
        except Exception:  # SuspendNotSupported under the test harness, or no tty
            self.notify(f"cannot hand over the terminal here; run: {command}",
                        severity="warning", timeout=15)
        finally:
            self._suspended = False

    def action_labs(self) -> None:
        if not isinstance(self.screen, LabsScreen):
            self.push_screen(LabsScreen())

    def action_details(self) -> None:
        pane = self.focused_pane()
        if isinstance(pane, HostsPane):
            self.action_show_host()
        elif isinstance(pane, QueuesPane):
            self.action_show_queue()
        else:
            self.action_show_vm()

    def action_show_vm(self) -> None:
        vm_id = self.selected_vm()
        if vm_id is not None:
            self._detail("vm", str(vm_id))

    def action_show_host(self) -> None:
        host_id = self.query_one(HostsPane).selected_id()
        if host_id is not None:
            self._detail("host", str(host_id))

    def action_show_queue(self) -> None:
        pane = self.query_one(QueuesPane)
        name = pane.selected_queue()
        if name and pane.grid:
            inst = pane.grid.instance(name)
            jobs = "\n".join(f"{j.number:>7} {j.name:<12} {j.owner:<12} {j.state:<4} "
                             f"{j.time} {j.slots}" for j in inst.jobs) if inst else ""
            self.push_screen(Detail(f"Queue {name}", jobs or "no jobs running"))

    @work(thread=True, group="detail", exit_on_error=False)
    def _detail(self, kind: str, ref: str) -> None:
        try:
            title, text = (vm_text if kind == "vm" else host_text)(self.store, ref)
        except UserError as exc:
            self.call_from_thread(self.notify, str(exc), severity="error")
            return
        self.call_from_thread(self.push_screen, Detail(title, text))

    def action_scale(self, step: int) -> None:
        svc_id = self.query_one(ServicesPane).selected_id()
        if svc_id is None:
            self.notify("no service selected", severity="warning")
            return
        self._scale(svc_id, step)

    @work(thread=True, group="action", exit_on_error=False)
    def _scale(self, svc_id: int, step: int) -> None:
        try:
            svc = self.store.services.get(svc_id)
            svc = self.store.services.scale(svc_id, svc.desired + step, why="from the console")
        except UserError as exc:
            self.call_from_thread(self.notify, str(exc), severity="error")
            return
        self.call_from_thread(self.notify, f"service {svc.name}: desired {svc.desired}")
        self.call_from_thread(self.refresh_worker)

    def action_toggle_host(self) -> None:
        host_id = self.query_one(HostsPane).selected_id()
        if host_id is not None:
            self._toggle_host(host_id)

    @work(thread=True, group="action", exit_on_error=False)
    def _toggle_host(self, host_id: int) -> None:
        """A write: off the event loop, like every other store write from the console."""
        host = self.store.hosts.get(host_id)
        self.store.hosts.set_enabled(host_id, not host.enabled)
        self.call_from_thread(self.notify,
                              f"host {host.name} {'disabled' if host.enabled else 'enabled'}")

    def action_filter(self) -> None:
        pane = self.focused_pane()
        if not isinstance(pane, LivePane):
            self.notify("the filter works on the hosts and VMs tables", severity="warning")
            return
        current = pane.border_subtitle.removeprefix("/") if pane.border_subtitle else ""

        def done(text: str | None) -> None:
            if text is not None:
                problem = pane.set_filter(text)
                if problem:
                    self.notify(problem, severity="error")
        self.push_screen(Prompt(f"Filter {pane.TITLE} (regex; !regex inverts)", current), done)

    def action_help(self) -> None:
        if self.screen.query("KeyPanel"):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()

    def action_create(self) -> None:
        templates = {t.name: t.body for t in self.store.templates.list()}
        hosts = [h.name for h in self.store.hosts.list()]
        form = InstantiateForm(templates, hosts)

        def done(request: Instantiate | None) -> None:
            if request is not None:
                self._instantiate(request)
        self.push_screen(form, done)

    @work(thread=True, group="action", exit_on_error=False)
    def _instantiate(self, request: Instantiate) -> None:
        try:
            ids = instantiate.create(self.store, request.template, request.count,
                                     request.name, request.hold, request.overrides)
        except (UserError, TemplateError) as exc:
            self.call_from_thread(self.notify, error_text(exc), severity="error", timeout=10)
            return
        self.call_from_thread(self.notify, f"created VM(s) {', '.join(map(str, ids))}")
        self.call_from_thread(self.refresh_worker)

    def action_add_workers(self) -> None:
        ec2 = []
        for t in self.store.templates.list():
            try:
                if parse(t.body, t.name).get("EC2") is not None:
                    ec2.append(t.name)
            except TemplateError:
                continue
        last = self.cfg.get("console", {}).get("last_ec2_template")

        def done(request: AddWorkers | None) -> None:
            if request is not None:
                self.cfg.setdefault("console", {})["last_ec2_template"] = request.template
                with contextlib.suppress(OSError):
                    config.save_config(self.cfg)
                self._instantiate(Instantiate(request.template, request.count, None, False,
                                              {}))
        self.push_screen(Ec2Prompt(ec2, last), done)


def stamp_now() -> str:
    return stamp(time.time())
