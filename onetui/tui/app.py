"""The onetui console: a thin app over its screens (the dashboard, Labs, the dialogs).

The app holds what every screen shares: the API's client (the daemon on its socket, or the
same handlers in this process on the store, `LocalTransport`), who is asking and in which
role, the config, the themes, the engine (in a worker thread, when no daemon runs it and
no other process holds its lease), the one confirm-then-act, the hand-off of the terminal
to `ssh`, and quitting (which asks when it would stop the engine). The console never
opens the store itself beside the client: in system mode a labstaff or viewer user could
not, and what they may do is the daemon's to decide. The dashboard's panes, keys and
actions are `DashboardScreen`'s (screens/dashboard.py).

Workers post their results as messages; a worker that fails raises, and the app's one
`on_worker_state_changed` reports it on screen (every screen runs its workers on the app
for that: `ConsoleScreen.run_worker`).
"""

from __future__ import annotations

import contextlib
import shlex
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.message import Message
from textual.worker import Worker, WorkerState

from onetui import access, config
from onetui.client import Client, DaemonGone
from onetui.client.transport import SocketTransport
from onetui.store import Store
from onetui.tui.messages import DaemonWait, Notice, failure_line
from onetui.tui.panes import StatusLine
from onetui.tui.screens.dashboard import ENGINE_HERE, DashboardScreen, engine_state
from onetui.tui.screens.dialogs import Confirm
from onetui.tui.themes import DEFAULT, load_themes

# worker group → what a failure's message starts with, and how long it stays (None: the
# default); any other group: the error's text alone
FAILURES: dict[str, tuple[str, float | None]] = {
    "engine": ("engine stopped: ", 30),
    "poll": ("refresh: ", None),
    "labs": ("labs: ", None),
    "instantiate": ("", 10),
    "lab-action": ("", 10),
    "lab-create": ("", 15),
}

SSH_OPTIONS = ("-o", "ConnectTimeout=10")  # a host that never answers gives up on its own
CLEAR = "\x1b[H\x1b[2J\x1b[3J"  # home, clear the screen and its scroll-back
QUIT_STOPS_ENGINE = ("This console runs the engine; quitting stops it. VMs keep running, "
                     "but nothing deploys until `onetui serve` or another console runs. "
                     "Quit?")


class QuitChecked(Message, bubble=False):
    """Whether this console runs the engine, read for `q`."""

    def __init__(self, engine_here: bool) -> None:
        super().__init__()
        self.engine_here = engine_here


# seconds between looks at a host whose libvirt events reach the engine (as `serve`)
LOOK_EVERY = 30.0


class OnetuiApp(App[None]):
    TITLE = "onetui"
    MODES = {"dashboard": DashboardScreen}
    DEFAULT_MODE = "dashboard"  # a mode, not get_default_screen: its CSS_PATH gets loaded
    BINDINGS = [  # on every screen; each screen adds its own
        Binding("q", "quit", "Quit"),
        # binding command_palette to `:` drops Textual's own ctrl+p: both are bound here,
        # ctrl+p with priority as Textual binds it (`:` is a character an Input takes)
        Binding("colon", "command_palette", "Palette", show=False),
        Binding(App.COMMAND_PALETTE_BINDING, "command_palette", "Palette", show=False,
                priority=True),
        Binding("question_mark", "help", "Keys"),
        Binding("t", "change_theme", "Theme"),
        Binding("tab", "focus_next", "Next pane", show=False),
        Binding("shift+tab", "focus_previous", "Previous pane", show=False),
    ]

    def __init__(self, store_path: Path | None = None, *, client: Client | None = None,
                 daemon: bool = False, theme: str | None = None, run_engine: bool = True,
                 cfg: dict[str, Any] | None = None, engine_interval: float = 2.0,
                 grid_status: Callable[[], tuple[str, str]] | None = None,
                 info: dict[str, Any] | None = None) -> None:
        """`client`: the API as `onetui` reached it (`daemon`: over the socket, where the
        daemon runs the engine; `info`: its daemon.info answer, when asked already); none:
        the handlers in this process on `store_path`."""
        super().__init__()
        # A grid still being brought up (the demo's): (state, message), "up" once it answers;
        # until then the SGE pane shows the message instead of asking the master.
        self.grid_status = grid_status
        self.cfg = config.load_config() if cfg is None else cfg
        self._own_store: Store | None = None
        if client is None:
            if store_path is None:
                raise ValueError("OnetuiApp needs a client or a store path")
            from onetui.api.local import LocalTransport

            self._own_store = Store(store_path)
            client = Client(LocalTransport(self._own_store))
        self.client = client
        self.daemon = daemon
        if info is None:
            info = client.call("daemon.info")
        if isinstance(client.transport, SocketTransport):  # a daemon going away is shown
            client.transport.on_wait = lambda text: self.post_message(DaemonWait(text))
        self.store_path = Path(info["store"]) if store_path is None else store_path
        self.user = str(info["caller"]["user"])
        self.role: str | None = info["role"]  # the daemon's word; it decides each request
        self.run_engine = run_engine and not daemon
        self.engine_interval = engine_interval
        self._stop = threading.Event()
        self._suspended = False
        self._asking_quit = False  # the quit question is on screen: `q` again adds none
        self._theme_applied = False  # from then on a theme change is the admin's choice
        # The theme is set before the first screen is composed: set on mount, it restyled
        # the whole dashboard a second time (a full pass over the stylesheet) before its
        # first frame.
        themes, self._theme_problems = load_themes()
        for one in themes:
            self.register_theme(one)
        wanted = theme or self.cfg.get("console", {}).get("theme") or DEFAULT
        self.theme = wanted if wanted in self.available_themes else DEFAULT

    def on_mount(self) -> None:
        for problem in self._theme_problems:
            self.notify(problem, severity="warning")
        self._theme_applied = True
        if self.run_engine:
            self.engine_worker()

    def watch_theme(self, theme: str) -> None:
        """Remember the admin's choice (`t`, the palette); the theme applied at start-up
        (the config's, --theme or the default) is not a choice and writes nothing."""
        if self._theme_applied and theme != self.cfg.get("console", {}).get("theme"):
            self.cfg.setdefault("console", {})["theme"] = theme
            try:
                config.save_config(self.cfg)
            except OSError as exc:
                self.notify(f"theme not saved: {exc}", severity="warning")

    def on_unmount(self) -> None:
        self._stop.set()

    # -- who is asking ----------------------------------------------------------------------

    @property
    def who(self) -> str:
        """`user (role)`, as the status line says it."""
        return f"{self.user} ({self.role or 'no role'})"

    def may(self, op: str, *, owns_lab: bool = False) -> bool:
        """Whether this console's role may ask for operation `op` (onetui.access.OPS): keys
        and palette commands it may not are not offered. The daemon decides in the end."""
        return access.may(self.role, op, owns_lab=owns_lab)

    def on_daemon_wait(self, message: DaemonWait) -> None:
        """The daemon went away: said once here, on the status line until it is back."""
        self.notify(message.text, severity="warning", timeout=10)
        for screen in self.screen_stack:
            for line in screen.query(StatusLine):
                line.daemon = "daemon gone, reconnecting"

    # -- the engine --------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="engine", exit_on_error=False)
    def engine_worker(self) -> None:
        # imported here, in the worker's thread: the engine brings the drivers (boto3,
        # libvirt), which the dashboard's first frame does not wait for
        from onetui.runtime.compose import build_engine

        with Store(self.store_path) as store:
            def problem(message: str) -> None:
                # the engine goes on after it: a line for the admin, not a failed worker
                self.post_message(Notice(message, "error"))
            engine = build_engine(store, self.cfg, on_error=problem,
                                  interval=self.engine_interval, look_every=LOOK_EVERY)
            engine.run(self._stop, on_wait=lambda _msg: None)

    # -- what workers post back --------------------------------------------------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place where a worker's failure reaches the admin, whichever screen
        started it: short, in red, never dropped."""
        worker = event.worker
        if event.state != WorkerState.ERROR or worker.error is None:
            return
        prefix, timeout = FAILURES.get(worker.group, ("", None))
        if isinstance(worker.error, DaemonGone) and worker.group == "poll":
            return  # the status line says so; the next poll waits for the daemon again
        self.notify(prefix + failure_line(worker.error), severity="error", timeout=timeout)

    def on_notice(self, message: Notice) -> None:
        if message.clipboard is not None:
            self.copy_to_clipboard(message.clipboard)
        self.notify(message.text, severity=message.severity)

    # -- shared by the screens ---------------------------------------------------------

    def confirm(self, question: str, then: Callable[[], object]) -> None:
        """Ask first; `then` runs only on yes (every destructive key goes through here)."""
        def answered(yes: bool | None) -> None:
            if yes:
                then()
        self.push_screen(Confirm(question), answered)

    def action_quit(self) -> None:  # type: ignore[override]
        """`q`: a console that runs the engine asks first (quitting stops it); one that
        only watches quits at once. Whether the engine is this console's is a store read
        (the lease), so it is made in a worker."""
        if not self.run_engine:
            self.exit()
        elif not self._asking_quit:
            self._quit_check()

    @work(thread=True, group="quit", exit_on_error=False)
    def _quit_check(self) -> None:
        here = True  # the lease could not be read: ask, to be on the safe side
        try:
            here = engine_state(self.client) == ENGINE_HERE
        finally:
            self.post_message(QuitChecked(here))

    def on_quit_checked(self, message: QuitChecked) -> None:
        if not message.engine_here:
            self.exit()
            return
        if self._asking_quit:  # `q` twice before the first read came back: one question
            return
        self._asking_quit = True

        def answered(yes: bool | None) -> None:
            self._asking_quit = False
            if yes:
                self.exit()
        self.push_screen(Confirm(QUIT_STOPS_ENGINE), answered)

    @property
    def suspended_for_ssh(self) -> bool:
        return self._suspended

    def ssh(self, args: list[str], banner: str) -> None:
        """The system `ssh` in the terminal, with a connect timeout."""
        self.run_in_terminal(["ssh", *SSH_OPTIONS, *args], banner)

    def run_in_terminal(self, argv: list[str], banner: str = "") -> None:
        """Hand the terminal to `argv` (the system ssh) and take it back when it exits;
        where the console cannot suspend (a test harness, no tty) say what to run.

        The terminal is cleared before (the banner says where it goes) and after (what the
        child printed does not stay under the console). While the child runs the console
        holds the keyboard's signals (`held_signals`): Ctrl-C ends the child, not onetui."""
        command = shlex.join(argv)
        self._suspended = True
        try:
            with self.suspend(), held_signals():
                _write(CLEAR + (banner + "\n" if banner else ""))
                done = subprocess.run([shutil.which(argv[0]) or argv[0], *argv[1:]],
                                      check=False)
                if done.returncode != 0:
                    # its message is on the screen: keep it there until the admin read it
                    with contextlib.suppress(EOFError, OSError):
                        input(f"\n[{ended(argv[0], done.returncode)}; "
                              "Enter returns to onetui] ")
                _write(CLEAR)
        except Exception:  # SuspendNotSupported under the test harness, or no tty
            self.notify(f"cannot hand over the terminal here; run: {command}",
                        severity="warning", timeout=15)
        finally:
            self._suspended = False

    def action_help(self) -> None:
        if self.screen.query("KeyPanel"):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()


def _nothing(_signum: int, _frame: object) -> None:
    """A handler that does nothing: the signal is ignored in this process, while a child
    started meanwhile gets the default action (exec resets caught signals, but keeps
    ignored ones)."""


@contextlib.contextmanager
def held_signals() -> Iterator[None]:
    """While a child owns the terminal, the keys that signal its process group (Ctrl-C,
    Ctrl-\\, Ctrl-Z) are for the child alone. Left as they were, Ctrl-C reaches asyncio's
    SIGINT handler, which cancels Textual's main task: the console and its engine ended
    as soon as the event loop ran again. SIGINT and SIGQUIT get a handler that does
    nothing (so the child still dies of them); SIGTSTP is ignored outright, in the child
    too: a stopped ssh would leave the console waiting for it with no shell to resume it.
    Everything is put back as it was afterwards."""
    kept = {sig: signal.getsignal(sig)
            for sig in (signal.SIGINT, signal.SIGQUIT, signal.SIGTSTP)}
    signal.signal(signal.SIGINT, _nothing)
    signal.signal(signal.SIGQUIT, _nothing)
    signal.signal(signal.SIGTSTP, signal.SIG_IGN)
    try:
        yield
    finally:
        for sig, handler in kept.items():
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)


def ended(program: str, status: int) -> str:
    """How a child ended, as the admin reads it: `ssh ended by SIGINT` rather than status
    -2."""
    if status < 0:
        with contextlib.suppress(ValueError):
            return f"{program} ended by {signal.Signals(-status).name}"
    return f"{program} exited with status {status}"


def _write(text: str) -> None:
    """Straight to the terminal (the console is suspended: its own output is off)."""
    out = sys.__stdout__
    if out is not None:
        out.write(text)
        out.flush()
