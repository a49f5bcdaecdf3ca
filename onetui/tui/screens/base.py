"""What the console's two full screens (the dashboard and Labs) share: their workers run on
the app, their rows come from one poller that re-arms itself, `/` filters the focused
table in an inline line, `z` zooms it, and Escape steps back one thing at a time."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.binding import Binding
from textual.screen import ModalScreen, Screen
from textual.timer import Timer
from textual.worker import ResultType, Worker, WorkType

from onetui.tui.panes import FilterBar, LivePane
from onetui.tui.table import Table

if TYPE_CHECKING:
    from onetui.tui.app import OnetuiApp

POLL_EVERY = 1.0
AFTER_CHANGE = 0.2  # s after a long-poll's read is on screen: a burst of changes coalesces


class ConsoleScreen(Screen[None]):
    """A screen that reads the store in thread workers and shows what they post back."""

    POLL_EVERY = POLL_EVERY
    # How long a read may wait on the API for a change (its long-poll on the change
    # sequence): a change then shows as soon as it is made, and the next read starts
    # AFTER_CHANGE after this one is on screen. 0: a read every POLL_EVERY.
    WAIT = 0.0
    BINDINGS = [
        Binding("z", "zoom", "Zoom"),
        Binding("escape", "back", "Back", show=False),
    ]
    # a zoomed pane keeps the filter line, the status line, the keys and the help with it
    ALLOW_IN_MAXIMIZED_VIEW = "FilterBar, StatusLine, Footer, HelpPanel"
    ESCAPE_TO_MINIMIZE = False  # Escape goes through `action_back`, one step at a time

    def __init__(self) -> None:
        super().__init__()
        self._polling = False
        self._next_poll: Timer | None = None  # the one pending poll: never two chains

    @property
    def console(self) -> OnetuiApp:
        """The app, typed: the store, the config and the terminal hand-off live there."""
        return cast("OnetuiApp", self.app)

    def run_worker(self, work: WorkType[ResultType], name: str | None = "",
                   group: str = "default", description: str = "",
                   exit_on_error: bool = True, start: bool = True, exclusive: bool = False,
                   thread: bool = False) -> Worker[ResultType]:
        """Every worker (`@work` comes here) runs on the app, not on this screen:
        `Worker.StateChanged` goes only to the node a worker ran on (it does not bubble),
        and the app's one handler reports every failure. A worker still posts its result
        to this screen; one that ends after the screen was closed is simply not shown."""
        return self.app.run_worker(work, name=name, group=group, description=description,
                                   exit_on_error=exit_on_error, start=start,
                                   exclusive=exclusive, thread=thread)

    # -- the poller ------------------------------------------------------------------------
    # Dolphie's pattern: `poll` starts a read in a thread worker; the handler of the
    # message the read posts puts the rows on screen, then calls `polled`, which arms the
    # next poll with a timer. Polls never overlap and never pile up behind a slow store.

    def poll(self) -> None:
        """Read now, unless a read is under way; while another full screen is on top (Labs
        over the dashboard) or the terminal is handed to `ssh`, only re-arm. A dialog
        leaves the screen in sight beneath it: the polls go on."""
        self._next_poll = None
        if self._polling or not self.is_attached:
            return
        if self.covered() or self.console.suspended_for_ssh:
            self._arm(self.POLL_EVERY)
            return
        self._polling = True
        self.read()

    def covered(self) -> bool:
        """Whether a screen that is not a dialog is above this one (or it left the stack)."""
        stack = self.app.screen_stack
        if self not in stack:
            return True
        return any(not isinstance(s, ModalScreen) for s in stack[stack.index(self) + 1:])

    def read(self) -> object:
        """A thread worker that reads the store and posts the rows, also when it failed
        (then with none), so that the chain of polls goes on."""
        raise NotImplementedError

    def polled(self, ok: bool = True) -> None:
        """The read's result is on screen (`ok`: it did not fail): arm the next poll, soon
        when the read waited for its change, a POLL_EVERY later otherwise."""
        self._polling = False
        if self.is_attached:
            self._arm(AFTER_CHANGE if ok and self.WAIT else self.POLL_EVERY)

    def poll_now(self) -> None:
        """In place of the pending poll (an action's effect, another lab chosen); when a
        read is under way, the next one a second later shows it."""
        if not self._polling:
            if self._next_poll is not None:
                self._next_poll.stop()
            self.poll()

    def _arm(self, delay: float) -> None:
        if self._next_poll is not None:
            self._next_poll.stop()
        self._next_poll = self.set_timer(delay, self.poll)

    # -- `/`, `z`, Escape ---------------------------------------------------------------------

    def default_table(self) -> Table | None:
        """The table `/` filters when no table has the focus."""
        return None

    def action_filter(self) -> None:
        focused = self.focused
        pane = focused if isinstance(focused, Table) else self.default_table()
        if not isinstance(pane, LivePane):
            self.notify("the filter works on the tables with rows by id (not SGE queues)",
                        severity="warning")
            return
        self.query_one(FilterBar).open(pane)

    def action_zoom(self) -> None:
        """The focused pane takes the whole body (and shows every column it has room for);
        `z` or Escape again puts it back."""
        if self.maximized is not None:
            self.minimize()
        elif isinstance(self.focused, Table):
            self.maximize(self.focused, container=False)

    def action_back(self) -> None:
        self.step_back()

    def step_back(self) -> bool:
        """Escape undoes the last thing shown, one per press: the help panel, the focused
        pane's filter, the zoom. Whether there was one (Labs goes back to the dashboard
        when there was none)."""
        if self.query("HelpPanel"):
            self.app.action_hide_help_panel()
            return True
        focused = self.focused
        if isinstance(focused, LivePane) and focused.filter_text:
            focused.set_filter("")
            return True
        if self.maximized is not None:
            self.minimize()
            return True
        return False
