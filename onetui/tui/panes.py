"""The dashboard's live panes (tables updated in place, row by row, keyed by id) and its
status line. Their keys name actions of the screen they sit on (`screen.…`)."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import Any

from rich.text import Text
from textual.binding import Binding
from textual.coordinate import Coordinate
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import DataTable

from onetui.integrations.sge.grid import Grid
from onetui.model import Event, age
from onetui.view.rows import HOST_COLUMNS, NUMERIC, SERVICE_COLUMNS, VM_COLUMNS, stamp


class Table(DataTable):
    """A DataTable that draws again once it has measured the rows just added.

    DataTable measures new rows (column widths, virtual size) when it is next idle, but
    keeps the lines it drew before that in its render cache: a frame painted in between
    (the screen repaints as soon as the handler that added the rows returns, often before
    the table's own idle) would stay on screen, every column cut at its header's width,
    until some later change. A new virtual size means new measures: drop those lines."""

    def watch_virtual_size(self) -> None:
        self.notify_style_update()  # DataTable's: clears its render caches and refreshes


class LivePane(Table):
    """A table whose rows are kept by id; `apply` puts and drops rows without a rebuild,
    so the cursor and scroll position stay where the admin left them."""

    COLUMNS: tuple[str, ...] = ()
    TITLE = ""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)
        self.rows_by_id: dict[int, tuple[str, ...]] = {}
        self.filter: tuple[re.Pattern[str], bool] | None = None
        self.border_title = self.TITLE

    def on_mount(self) -> None:
        for col in self.COLUMNS:
            self.add_column(col, key=col)

    def cell(self, column: str, value: str) -> Text:
        """Cells are Text, never markup strings: cheaper to lay out, and a VM called
        `[red]x` shows as named."""
        return Text(value, justify="right") if column in NUMERIC else Text(value)

    def _cells(self, row: tuple[str, ...]) -> list[Text]:
        return [self.cell(c, v) for c, v in zip(self.COLUMNS, row, strict=True)]

    def shows(self, row: tuple[str, ...]) -> bool:
        """Whether the filter lets the row through (not `visible`: that is Textual's CSS
        visibility of the widget itself)."""
        if self.filter is None:
            return True
        pattern, invert = self.filter
        return bool(pattern.search(" ".join(row))) != invert

    def apply(self, rows: Mapping[int, tuple[str, ...] | None], full: bool = False) -> None:
        if full:
            self.rows_by_id = {i: r for i, r in rows.items() if r is not None}
            self.rebuild()
            return
        for rid, row in rows.items():
            key = str(rid)
            if row is None:
                self.rows_by_id.pop(rid, None)
                if key in self.rows:
                    self.remove_row(key)
                continue
            old = self.rows_by_id.get(rid)
            self.rows_by_id[rid] = row
            shown = key in self.rows
            if not self.shows(row):
                if shown:
                    self.remove_row(key)
            elif not shown:
                self.add_row(*self._cells(row), key=key)
            else:
                for col, value, before in zip(self.COLUMNS, row, old or (), strict=False):
                    if value != before:
                        # widening a column re-measures it: only when the cell needs it
                        wider = len(value) > self.columns[col].content_width  # type: ignore
                        self.update_cell(key, col, self.cell(col, value), update_width=wider)

    def rebuild(self) -> None:
        """Used for a full reload or a new filter: the only time every row is redrawn."""
        selected = self.selected_id()
        self.clear()
        for rid in sorted(self.rows_by_id):
            row = self.rows_by_id[rid]
            if self.shows(row):
                self.add_row(*self._cells(row), key=str(rid))
        if selected is not None and str(selected) in self.rows:
            self.move_cursor(row=self.get_row_index(str(selected)))

    def set_filter(self, text: str) -> str:
        """`/` filter: a regular expression; a leading `!` shows the rows that don't match."""
        text = text.strip()
        if not text:
            self.filter = None
        else:
            invert = text.startswith("!")
            try:
                self.filter = (re.compile(text[1:] if invert else text, re.IGNORECASE), invert)
            except re.error as exc:
                return f"filter {text!r}: {exc}"
        self.border_subtitle = f"/{text}" if text else ""
        self.rebuild()
        return ""

    def selected_id(self) -> int | None:
        if not self.row_count:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except Exception:  # no cursor yet
            return None
        return int(key) if key is not None and key.isdigit() else None


class HostsPane(LivePane):
    COLUMNS = HOST_COLUMNS
    TITLE = "Hosts"
    BINDINGS = [Binding("enter", "screen.show_host", "Details", show=True),
                Binding("D", "screen.toggle_host", "Enable/disable", show=True)]


class ServicesPane(LivePane):
    COLUMNS = SERVICE_COLUMNS
    TITLE = "Services"
    BINDINGS = [Binding("plus,equals_sign", "screen.scale(1)", "+1"),
                Binding("minus", "screen.scale(-1)", "-1")]


class VmsPane(LivePane):
    COLUMNS = VM_COLUMNS
    TITLE = "VMs"
    BINDINGS = [
        Binding("enter", "screen.show_vm", "Details"),
        Binding("s", "screen.vm_action('shutdown')", "Shutdown"),
        Binding("d", "screen.vm_delete", "Delete"),
        Binding("h", "screen.vm_hold", "Hold/release"),
        Binding("x", "screen.vm_ssh", "SSH"),
        Binding("y", "screen.copy_id", "Copy id"),
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.started: dict[int, float] = {}

    def on_mount(self) -> None:  # after LivePane's (Textual calls each class's on_mount)
        # the state colours are theme variables: a new theme redraws the rows in its colours
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.rebuild())

    def cell(self, column: str, value: str) -> Text:
        if column == "STAT":
            style = self.app.theme_variables.get(f"state-{value}", "") if self.is_mounted \
                else ""
            return Text(value, style=style)
        return super().cell(column, value)

    def tick(self) -> None:
        """TIME ticks for the rows on screen only: cheap with ten thousand VMs."""
        if not self.row_count:
            return
        top = self.scroll_offset.y
        now = time.time()
        for index in range(top, min(top + self.size.height, self.row_count)):
            key = self.coordinate_to_cell_key(Coordinate(index, 0)).row_key.value
            if key is None or not key.isdigit():
                continue
            rid = int(key)
            if rid in self.started:
                self.update_cell(key, "TIME", age(now - self.started[rid]))


class QueuesPane(Table):
    """SGE queue instances as `qstat -f` lists them, their jobs beneath, then pending."""

    BINDINGS = [Binding("enter", "screen.show_queue", "Jobs")]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", **kwargs)
        self.border_title = "SGE queues"
        self.grid: Grid | None = None

    def on_mount(self) -> None:
        for col in ("queuename", "qtype", "resv/used/tot.", "load_avg", "arch", "states"):
            self.add_column(col, key=col)

    def show(self, grid: Grid | None, stale_since: float | None, error: str,
             configured: bool) -> None:
        self.clear()
        self.grid = grid
        if not configured:
            self.border_subtitle = "not configured"
            self.add_row(Text("no SGE master configured: add [sge] host, user, key_file"),
                         "", "", "", "", "", key="hint")
            self.add_row(Text("to config.toml (see the README, Sun Grid Engine)"), "", "", "",
                         "", "", key="hint2")
            return
        self.border_subtitle = (f"stale since {stamp(stale_since)}: {error}"
                                if stale_since else "")
        if grid is None:
            self.add_row(Text(error or "waiting for the master…"), "", "", "", "", "",
                         key="wait")
            return
        for q in grid.queues:
            load = f"{q.load_avg:.2f}" if q.load_avg is not None else "-NA-"
            self.add_row(q.name, q.qtype, f"{q.resv}/{q.used}/{q.total}", load,
                         q.arch or "-NA-", q.states, key=f"q:{q.name}")
            for j in q.jobs:
                self.add_row(f"  {j.number} {j.name}", j.owner, j.state, f"{j.priority:.5f}",
                             j.time.replace("T", " "), str(j.slots), key=f"j:{j.number}")
        if grid.pending:
            self.add_row("- PENDING JOBS -", "", "", "", "", "", key="pending")
            for j in grid.pending:
                self.add_row(f"  {j.number} {j.name}", j.owner, j.state, f"{j.priority:.5f}",
                             j.time.replace("T", " "), str(j.slots), key=f"p:{j.number}")

    def selected_queue(self) -> str | None:
        if not self.row_count:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value or ""
        return key[2:] if key.startswith("q:") else None


class EventsPane(Table):
    """The event log, newest first."""

    KEEP = 300

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", **kwargs)
        self.border_title = "Events"

    def on_mount(self) -> None:
        self.add_column("#", key="#")
        self.add_column("TIME", key="TIME")
        self.add_column("MESSAGE", key="MESSAGE")

    def add(self, events: list[Event], full: bool = False) -> None:
        if full:
            self.clear()
        for e in events:
            style = {"error": "bold red", "warning": "yellow"}.get(e.level, "")
            self.add_row(Text(str(e.id), style="dim", justify="right"),
                         Text(stamp(e.at), style="dim"), Text(e.message, style=style),
                         key=str(e.id))
        if events:
            self.sort("#", key=lambda cell: int(str(cell)), reverse=True)
        while self.row_count > self.KEEP:
            self.remove_row(self.coordinate_to_cell_key(Coordinate(self.row_count - 1, 0)).row_key)


class StatusLine(Widget):
    """The line under the panes: who runs the engine, which store, how fresh the panes are.
    It renders from its reactive attributes; the dashboard only sets them."""

    DEFAULT_CSS = """
    StatusLine { height: 1; background: $panel; color: $text-muted; padding: 0 1; }
    """
    STALE_AFTER = 3.0  # seconds without an applied poll before "live" turns into an age

    engine: reactive[str] = reactive("no engine running")
    store: reactive[str] = reactive("")
    refreshed_at: reactive[float] = reactive(0.0)  # the last poll put on screen; 0: none yet
    now: reactive[float] = reactive(0.0)  # the dashboard's clock, set once a second

    def render(self) -> Text:
        age = self.now - self.refreshed_at
        fresh = ("loading…" if not self.refreshed_at else
                 "live" if age < self.STALE_AFTER else f"refreshed {age:.0f}s ago")
        # Text, not markup: a store path with `[` in it shows as it is
        return Text(f"{self.engine}  │  store {self.store}  │  {fresh}")
