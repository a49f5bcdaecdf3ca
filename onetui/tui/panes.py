"""The console's live panes (tables updated in place, row by row, keyed by id, with the
columns that fit their width), the inline filter line and the status line. Their keys
name actions of the screen they sit on (`screen.…`), or their own (sorting)."""

from __future__ import annotations

import re
import textwrap
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Input, Label

from onetui.integrations.sge.grid import Grid, Job
from onetui.model import Event, age
from onetui.tui.table import Table
from onetui.view.rows import (
    EVENT_COLUMNS,
    HOST_COLUMNS,
    NUMERIC,
    SERVICE_COLUMNS,
    VM_COLUMNS,
    event_row,
    sort_key,
    stamp,
)
from onetui.view.trends import HOST_SPARKS, SERVICE_SPARKS


class FitTable(Table):
    """A table that chooses its columns for the width it has (k9s's habit: what matters
    first). `PRIORITY` ranks the columns, most important first; the first `KEEP` always
    show, the rest while they fit in whole, and the hidden ones are counted in the border
    (`z` zooms the pane to see them). `ORDER` puts the shown ones left to right. A column
    in `SHORT` has a shorter form, used when the table is narrower than `SHORT_BELOW`.
    What a cell overflows is reached with the table's horizontal scroll (left/right).

    A row is the tuple of strings the view gives (`COLUMNS`, in order); its cells are
    made from it when it is drawn (`cells`). The column widths come from `widths`
    (measured from the plain strings), not from measuring drawn cells."""

    COLUMNS: tuple[str, ...] = ()  # what each row holds, in this order
    PRIORITY: tuple[str, ...] = ()  # the columns that may show, most important first
    ORDER: tuple[str, ...] = ()  # left to right (default: PRIORITY)
    KEEP = 2
    SHORT: ClassVar[dict[str, tuple[Callable[[str], str], int]]] = {}  # form, its width
    SHORT_BELOW = 50
    TITLE = ""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.index = {c: i for i, c in enumerate(self.COLUMNS)}
        self.priority = self.PRIORITY or self.COLUMNS
        self.shown: tuple[str, ...] = ()
        self.narrow = False  # the SHORT forms are in use
        self.widths = {c: cell_len(c) for c in self.COLUMNS}  # the widest cell seen
        self.border_title = self.TITLE

    def on_mount(self) -> None:
        self.fit()

    def on_resize(self) -> None:
        self.fit()

    # -- what a subclass says -------------------------------------------------------------

    def keyed_rows(self) -> Iterable[tuple[str, tuple[str, ...]]]:
        """Every row to show, keyed, top to bottom."""
        raise NotImplementedError

    def label(self, column: str) -> str:
        return column

    def cell(self, column: str, value: str, row: tuple[str, ...]) -> Text:
        """Cells are Text, never markup strings: cheaper to lay out, and a VM called
        `[red]x` shows as named."""
        return Text(value, justify="right") if column in NUMERIC else Text(value)

    def subtitle_parts(self) -> list[str]:
        hidden = len(self.priority) - len(self.shown)
        return [f"+{hidden} col{'s' if hidden > 1 else ''}: z"] if hidden > 0 else []

    # -- columns for the width -------------------------------------------------------------

    def grow(self, row: tuple[str, ...]) -> bool:
        """Note the row's cell widths; whether a column got wider."""
        grew = False
        for column, value in zip(self.COLUMNS, row, strict=False):
            width = cell_len(value)
            if width > self.widths[column]:
                self.widths[column] = width
                grew = True
        return grew

    def measure(self, rows: Iterable[tuple[str, ...]]) -> None:
        """The widest cell of each column, column by column (ten thousand rows at once)."""
        self.widths = {c: cell_len(c) for c in self.COLUMNS}
        for column, values in zip(self.COLUMNS, zip(*rows, strict=False), strict=False):
            self.widths[column] = max(self.widths[column], *map(cell_len, values))

    def content_width(self, column: str, narrow: bool) -> int:
        """The widest cell of the column as shown (its SHORT form when narrow)."""
        return self.SHORT[column][1] if narrow and column in self.SHORT \
            else self.widths[column]

    def choose(self) -> tuple[tuple[str, ...], bool]:
        """The columns that fit the pane now, and whether the SHORT forms are needed."""
        room = max(0, self.size.width - self.styles.scrollbar_size_vertical)

        def width(column: str, narrow: bool) -> int:
            return max(self.content_width(column, narrow), cell_len(self.label(column))) + 2

        narrow = bool(self.SHORT) and room < self.SHORT_BELOW
        chosen: list[str] = []
        used = 0
        for column in self.priority:
            used += width(column, narrow)
            if len(chosen) >= self.KEEP and used > room:
                break
            chosen.append(column)
        return tuple(c for c in (self.ORDER or self.priority) if c in chosen), narrow

    def fit(self) -> bool:
        """Choose the columns again; when they changed, rebuild the table with them."""
        shown, narrow = self.choose()
        if (shown, narrow) == (self.shown, self.narrow):
            return False
        self.shown, self.narrow = shown, narrow
        self.rebuild(columns=True)
        return True

    def widen(self) -> None:
        """The columns on screen take the widths measured now."""
        for column in self.columns.values():
            column.content_width = self.content_width(column.key, self.narrow)
        self.redraw()

    def value(self, column: str, row: tuple[str, ...]) -> str:
        text = row[self.index[column]]
        return self.SHORT[column][0](text) if self.narrow and column in self.SHORT else text

    def cells(self, row: tuple[str, ...]) -> list[Text]:
        return [self.cell(c, self.value(c, row), row) for c in self.shown]

    def row_cells(self, key: str, values: Sequence[str]) -> Sequence[Text]:
        return self.cells(tuple(values))

    def rebuild(self, columns: bool = False) -> None:
        """Every row put again (a full reload, a new filter, order or set of columns);
        the selected row stays selected."""
        if columns:
            self.columns = {}
            for name in self.shown:
                self.add_column(self.label(name), key=name)
        self.widen()  # as measured now
        self.set_rows(self.keyed_rows())
        self.border_subtitle = " · ".join(self.subtitle_parts())


class LivePane(FitTable):
    """A table whose rows are kept by id; `apply` puts and drops rows without a rebuild,
    so the cursor and scroll position stay where the admin left them. The first column
    is the id. It filters (`/`, a regular expression over the whole row, hidden columns
    too) and sorts (`<` `>` choose the column, `I` inverts; numbers as numbers)."""

    BINDINGS = [
        Binding("greater_than_sign", "sort(1)", "Sort", key_display=">"),
        Binding("less_than_sign", "sort(-1)", "Sort by the column to the left", show=False,
                key_display="<"),
        Binding("I", "invert", "Invert the sort", show=False),
    ]
    DEFAULT_SORT: tuple[str, bool] | None = None  # (column, descending); None: by id

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rows_by_id: dict[int, tuple[str, ...]] = {}
        self.filter: tuple[re.Pattern[str], bool] | None = None
        self.filter_text = ""
        self.default_sort = self.DEFAULT_SORT or (self.COLUMNS[0], False)
        self.sort_by = self.default_sort
        self.sort_keys: dict[str, Any] = {}  # the shown rows' order_key, by key

    def label(self, column: str) -> str:
        """The sort column says so, unless it is the usual order."""
        by, descending = self.sort_by
        if column != by or self.sort_by == self.default_sort:
            return column
        return f"{column} {'▼' if descending else '▲'}"

    def subtitle_parts(self) -> list[str]:
        return ([f"/{self.filter_text}"] if self.filter_text else []) + \
            super().subtitle_parts()

    def shows(self, row: tuple[str, ...]) -> bool:
        """Whether the filter lets the row through (not `visible`: that is Textual's CSS
        visibility of the widget itself)."""
        if self.filter is None:
            return True
        pattern, invert = self.filter
        return bool(pattern.search(" ".join(row))) != invert

    def order_key(self, rid: int, row: tuple[str, ...]) -> Any:
        """Where the row goes in the sort: by its sort column's value (numbers as
        numbers), then by id; the id column sorts by the ids themselves."""
        column = self.sort_by[0]
        at = self.index[column]
        return rid if at == 0 else (sort_key(column, row[at]), rid)

    def keyed_rows(self) -> list[tuple[str, tuple[str, ...]]]:
        rows = [(str(rid), self.order_key(rid, row), row)
                for rid, row in self.rows_by_id.items() if self.shows(row)]
        rows.sort(key=lambda item: item[1], reverse=self.sort_by[1])
        self.sort_keys = {key: order for key, order, _ in rows}
        return [(key, row) for key, _, row in rows]

    def apply(self, rows: Mapping[int, tuple[str, ...] | None], full: bool = False) -> None:
        """A poll's rows (None: gone). Rows changed in place are drawn again if they are
        on screen; the order is made again only when rows came, went, crossed the filter
        or changed their sort column, by sorting the order as it was (nearly sorted:
        cheap) on keys kept from the last time."""
        if full:
            self.rows_by_id = {i: r for i, r in rows.items() if r is not None}
            self.measure(self.rows_by_id.values())
            if not self.fit():
                self.rebuild()
            return
        grew = moved = False
        at = self.index[self.sort_by[0]]
        gone: set[str] = set()
        came: list[str] = []
        for rid, row in rows.items():
            key = str(rid)
            shown = key in self
            old = self.rows_by_id.pop(rid, None)
            if row is None or not self.shows(row):
                if row is not None:
                    self.rows_by_id[rid] = row
                    grew = self.grow(row) or grew
                if shown:
                    gone.add(key)
                continue
            self.rows_by_id[rid] = row
            grew = self.grow(row) or grew
            self.sort_keys[key] = self.order_key(rid, row)
            if not shown:
                self.put_row(key, row)
                came.append(key)
                continue
            moved = moved or old is None or old[at] != row[at]
            self.put_row(key, row)
        if grew and self.fit():
            return  # rebuilt with the columns that fit now, in order
        if grew:
            self.widen()
        self._reorder(gone, came, moved)

    def _reorder(self, gone: set[str], came: list[str], moved: bool) -> None:
        """The order without the rows gone, with the rows that came, sorted again if a row
        came or moved (the order as it was is nearly sorted: cheap)."""
        if not (gone or came or moved):
            return
        order = [key for key in self.order if key not in gone] if gone else self.order[:]
        order += came
        if came or moved:
            order.sort(key=self.sort_keys.__getitem__, reverse=self.sort_by[1])
        self.drop_values(gone)
        for key in gone:
            self.sort_keys.pop(key, None)
        self.set_order(order)

    def action_sort(self, step: int) -> None:
        """`>`: sort by the next column on screen, `<`: the one before (ascending)."""
        columns = list(self.shown)
        if not columns:
            return
        at = columns.index(self.sort_by[0]) if self.sort_by[0] in columns else -1
        self.sort_by = (columns[(at + step) % len(columns)], False)
        self.shown = ()  # the header changed: fit builds the columns again
        self.fit()

    def action_invert(self) -> None:
        self.sort_by = (self.sort_by[0], not self.sort_by[1])
        self.shown = ()
        self.fit()

    def set_filter(self, text: str) -> str:
        """`/` filter: a regular expression; a leading `!` shows the rows that don't match.
        A bad expression changes nothing and comes back as the reason."""
        text = text.strip()
        if not text:
            self.filter = None
        else:
            invert = text.startswith("!")
            try:
                self.filter = (re.compile(text[1:] if invert else text, re.IGNORECASE), invert)
            except re.error as exc:
                return f"filter {text!r}: {exc}"
        self.filter_text = text
        self.rebuild()
        return ""

    def selected_id(self) -> int | None:
        key = self.selected_key()
        return int(key) if key is not None and key.isdigit() else None


def spark_text(pane: FitTable, value: str, variable: str) -> Text:
    """A sparkline cell in the theme's colour (`variable`, a theme variable)."""
    return Text(value, style=pane.app.theme_variables.get(variable, "") if pane.is_mounted
                else "")


class SparkPane(LivePane):
    """A live pane with sparkline columns, drawn in the theme's colours: a new theme
    draws its rows again."""

    def on_mount(self) -> None:  # after LivePane's
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.rebuild())


class HostsPane(SparkPane):
    """Hosts; CPU and memory over the last hour as sparklines, the first columns to go
    when the pane is narrow."""

    COLUMNS = (*HOST_COLUMNS, *HOST_SPARKS)
    PRIORITY = ("HID", "NAME", "STAT", "RVM", "ACPU", "FMEM", "TCPU", "FCPU", "TMEM", "DRIVER",
                *HOST_SPARKS)
    ORDER = ("HID", "NAME", "STAT", "DRIVER", "RVM", "TCPU", "FCPU", "ACPU", "TMEM", "FMEM",
             *HOST_SPARKS)
    KEEP = 3
    TITLE = "Hosts"
    BINDINGS = [Binding("enter", "screen.show_host", "Details", show=True),
                Binding("D", "screen.toggle_host", "Enable/disable", show=True)]

    def cell(self, column: str, value: str, row: tuple[str, ...]) -> Text:
        if column in HOST_SPARKS:
            return spark_text(self, value, "primary" if column == HOST_SPARKS[0] else "accent")
        return super().cell(column, value, row)


class ServicesPane(SparkPane):
    """Services; running against desired over the last hour as a sparkline (a full block:
    at its size), in the warning colour when its last slice was short of its size."""

    COLUMNS = (*SERVICE_COLUMNS, *SERVICE_SPARKS)
    PRIORITY = ("ID", "NAME", "DESIRED", "RUNNING", "MIN", "MAX", "VMS", *SERVICE_SPARKS)
    ORDER = (*SERVICE_COLUMNS, *SERVICE_SPARKS)
    TITLE = "Services"
    BINDINGS = [Binding("enter", "screen.show_service", "Details"),
                Binding("plus,equals_sign", "screen.scale(1)", "+1"),
                Binding("minus", "screen.scale(-1)", "-1")]

    def cell(self, column: str, value: str, row: tuple[str, ...]) -> Text:
        if column in SERVICE_SPARKS:
            short = value.rstrip()[-1:] not in ("", "█")  # its last slice below its size
            return spark_text(self, value, "warning" if short else "success")
        return super().cell(column, value, row)


class VmsPane(LivePane):
    COLUMNS = VM_COLUMNS
    PRIORITY = ("ID", "NAME", "STAT", "HOSTNAME", "CPU", "MEM", "TIME")
    ORDER = VM_COLUMNS
    KEEP = 3
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

    def cell(self, column: str, value: str, row: tuple[str, ...]) -> Text:
        if column == "STAT":
            style = self.app.theme_variables.get(f"state-{value}", "") if self.is_mounted \
                else ""
            return Text(value, style=style)
        if column == "TIME":
            started = self.started.get(int(row[0])) if row[0].isdigit() else None
            if started is not None:  # the age as of this drawing, not as of the poll
                value = age(time.time() - started)
        return super().cell(column, value, row)

    def tick(self) -> None:
        """TIME ticks for the rows on screen only: cheap with ten thousand VMs."""
        if "TIME" in self.shown:
            self.redraw_rows(k for k in self.visible_keys() if int(k) in self.started)


QUEUE_COLUMNS = ("queuename", "qtype", "resv/used/tot.", "load_avg", "arch", "states")


def _grid_rows(grid: Grid) -> Iterator[tuple[str, tuple[str, ...]]]:
    """The queue instances with their jobs beneath, then the pending jobs: each row's key
    and cells. A job shows once per queue instance it runs in (a parallel job, an array
    job's tasks), so a key names the queue and the tasks too, and any that still repeats
    is numbered: each row its own, the cursor on the one it was on."""
    seen: dict[str, int] = {}

    def unique(key: str) -> str:
        seen[key] = seen.get(key, 0) + 1
        return key if seen[key] == 1 else f"{key}#{seen[key]}"

    for q in grid.queues:
        load = f"{q.load_avg:.2f}" if q.load_avg is not None else "-NA-"
        yield unique(f"q:{q.name}"), (q.name, q.qtype, f"{q.resv}/{q.used}/{q.total}", load,
                                      q.arch or "-NA-", q.states)
        for j in q.jobs:
            yield unique(f"j:{q.name}:{j.number}.{j.tasks}"), _job_cells(j)
    if grid.pending:
        yield "pending", ("- PENDING JOBS -",)
        for j in grid.pending:
            yield unique(f"p:{j.number}.{j.tasks}"), _job_cells(j)


def _job_cells(j: Job) -> tuple[str, ...]:
    return (f"  {j.number} {j.name}", j.owner, j.state, f"{j.priority:.5f}",
            j.time.replace("T", " "), str(j.slots))


class QueuesPane(FitTable):
    """SGE queue instances as `qstat -f` lists them, their jobs beneath, then pending."""

    COLUMNS = QUEUE_COLUMNS
    PRIORITY = ("queuename", "states", "resv/used/tot.", "load_avg", "qtype", "arch")
    ORDER = QUEUE_COLUMNS
    KEEP = 1
    TITLE = "SGE queues"
    BINDINGS = [Binding("enter", "screen.show_queue", "Jobs")]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.grid: Grid | None = None
        self.lines: list[tuple[str, tuple[str, ...]]] = []
        self.note = ""
        self.sparks = ("", "")  # running and pending jobs, last hour (view.trends)

    def keyed_rows(self) -> list[tuple[str, tuple[str, ...]]]:
        return self.lines

    def trend(self, running: str, pending: str) -> None:
        """Running and pending jobs over the last hour in the title (k9s's pulse): as many
        of their latest slices as the border has room for."""
        self.sparks = (running, pending)
        room = max(0, (self.size.width - len(self.TITLE) - 16) // 2)
        if not (running or pending) or room < 3:
            self.border_title = self.TITLE
            return
        title = Text(self.TITLE)
        for word, spark, variable in (("run", running, "success"), ("pend", pending,
                                                                    "warning")):
            title.append(f" {word} ")
            title.append(spark[-room:], style=self.app.theme_variables.get(variable, ""))
        self.border_title = title

    def on_resize(self) -> None:  # after FitTable's: the title's sparklines fit again
        self.trend(*self.sparks)

    def on_mount(self) -> None:  # after FitTable's: a new theme colours the title's sparklines
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.trend(*self.sparks))

    def subtitle_parts(self) -> list[str]:
        """The master's state; the hidden columns only when there are queues to see."""
        return ([self.note] if self.note else []) + \
            (super().subtitle_parts() if self.grid is not None else [])

    def show(self, grid: Grid | None, stale_since: float | None, error: str,
             configured: bool, waiting: tuple[str, str] | None = None) -> None:
        """`waiting`: the master is not asked yet, (the grid's state, what to say): a grid
        still starting, or one that could not start; the pane says so instead. Not
        `configured`: `error` is the daemon's line saying so (and where to configure it),
        wrapped to the pane's width."""
        self.grid = grid
        self.lines = lines = []

        def line(key: str, *cells: str) -> None:
            lines.append((key, (*cells, *[""] * (len(QUEUE_COLUMNS) - len(cells)))))

        if waiting is not None:
            state, message = waiting
            self.note = "starting" if state == "starting" else "no grid"
            line("wait", message)
        elif not configured:
            self.note = "not configured"
            for n, text in enumerate(self.hint(error)):
                line(f"hint{n}", text)
        else:
            self.note = f"stale since {stamp(stale_since)}: {error}" if stale_since else ""
            if grid is None:
                line("wait", error or "waiting for the master…")
            else:
                for key, cells in _grid_rows(grid):
                    line(key, *cells)
        self.measure(row for _, row in lines)
        if not self.fit():
            self.rebuild()

    def hint(self, error: str) -> list[str]:
        """The daemon's "no SGE master configured: add … to FILE" as rows: what is
        missing, then what to do wrapped to the pane's width (a path is not cut)."""
        head, _, rest = error.partition(": ")
        if not rest:
            return [head]
        return [f"{head}:", *textwrap.wrap(rest, max(24, self.size.width - 4),
                                            break_on_hyphens=False)]

    def selected_queue(self) -> str | None:
        key = self.selected_key() or ""
        return key[2:] if key.startswith("q:") else None


LEVEL_STYLES = {"error": "bold red", "warning": "yellow"}


class EventsPane(LivePane):
    """The event log, newest first, with the unix user whose request caused each (blank:
    the engine's own); Enter opens one in full."""

    COLUMNS = (*EVENT_COLUMNS, "USER", "LEVEL")
    # LEVEL colours the message, never a column
    PRIORITY = ("TIME", "USER", "MESSAGE", "#")
    ORDER = ("#", "TIME", "USER", "MESSAGE")
    KEEP = 3
    SHORT: ClassVar[dict[str, tuple[Callable[[str], str], int]]] = {
        "TIME": (lambda stamp: stamp[-8:], 8)}  # 07/21 15:42:47 → 15:42:47
    DEFAULT_SORT = ("#", True)
    TITLE = "Events"
    KEEP_EVENTS = 300
    BINDINGS = [Binding("enter", "screen.show_event", "Details")]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.events: dict[int, Event] = {}

    def cell(self, column: str, value: str, row: tuple[str, ...]) -> Text:
        if column == "MESSAGE":
            return Text(value, style=LEVEL_STYLES.get(row[-1], ""))
        return Text(value, style="dim", justify="right" if column == "#" else "left")

    def add(self, events: list[Event], full: bool = False) -> None:
        if full:
            self.events = {}
        self.events.update((e.id, e) for e in events)
        gone = sorted(self.events)[:-self.KEEP_EVENTS] if len(self.events) > \
            self.KEEP_EVENTS else []
        for rid in gone:
            del self.events[rid]
        rows: dict[int, tuple[str, ...] | None] = {
            e.id: (*event_row(e), e.user, e.level) for e in events
            if e.id in self.events}
        rows.update((rid, None) for rid in gone)
        self.apply(rows, full)


class StatusLine(Widget):
    """The line under the panes: how fresh the panes are (or that the daemon is gone), who
    is asking in which role, who runs the engine, which store. It renders from its
    reactive attributes; the dashboard only sets them."""

    DEFAULT_CSS = """
    StatusLine { height: 1; background: $panel; color: $text-muted; padding: 0 1; }
    """
    STALE_AFTER = 3.0  # seconds without an applied poll before "live" turns into an age

    engine: reactive[str] = reactive("no engine running")
    store: reactive[str] = reactive("")
    who: reactive[str] = reactive("")  # `user (role)`
    daemon: reactive[str] = reactive("")  # "daemon gone, reconnecting" while it is
    refreshed_at: reactive[float] = reactive(0.0)  # the last poll put on screen; 0: none yet
    now: reactive[float] = reactive(0.0)  # the dashboard's clock, set once a second

    def render(self) -> Text:
        age = self.now - self.refreshed_at
        fresh = ("loading…" if not self.refreshed_at else
                 "live" if age < self.STALE_AFTER else f"refreshed {age:.0f}s ago")
        if self.daemon:
            fresh = f"{self.daemon} ({fresh})"
        who = f"{self.who}  │  " if self.who else ""
        # Text, not markup: a store path with `[` in it shows as it is. The freshness
        # first, the (long) store path last: a narrow terminal cuts only the path
        return Text(f"{fresh}  │  {who}{self.engine}  │  store {self.store}")


class FilterBar(Horizontal):
    """`/`: the filter as an inline line under the panes (k9s's habit, not a dialog). The
    pane it was opened on narrows as the admin types; Enter keeps the filter (the line
    closes, the pane's border shows it), Escape clears it. The panes keep refreshing."""

    DEFAULT_CSS = """
    FilterBar { height: 1; display: none; background: $panel; }
    FilterBar.-open { display: block; }
    FilterBar > Label { width: auto; color: $accent; padding: 0 1; }
    FilterBar > Input { border: none; height: 1; padding: 0; width: 1fr; background: $panel; }
    FilterBar > Input:focus { border: none; }
    FilterBar > #filter-problem { color: $error; }
    """
    BINDINGS = [Binding("escape", "clear", "Clear the filter")]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.target: LivePane | None = None

    def compose(self) -> ComposeResult:
        yield Label("/", id="filter-label")
        yield Input(placeholder="regex; !regex inverts; Enter keeps, Esc clears",
                    id="filter-input")
        yield Label("", id="filter-problem")

    def open(self, pane: LivePane) -> None:
        self.target = pane
        self.query_one("#filter-label", Label).update(f"{pane.TITLE} /")
        self.query_one("#filter-problem", Label).update("")
        field = self.query_one(Input)
        with field.prevent(Input.Changed):
            field.value = pane.filter_text
        self.add_class("-open")
        field.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        if self.target is not None:
            self.query_one("#filter-problem", Label).update(self.target.set_filter(event.value))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.close()

    def action_clear(self) -> None:
        if self.target is not None:
            self.target.set_filter("")
        self.close()

    def close(self) -> None:
        """Back to the pane; its filter stays as it is."""
        target, self.target = self.target, None
        if target is not None and target.is_attached:
            target.focus()
        self.remove_class("-open")

    def on_descendant_blur(self) -> None:
        """Focus went elsewhere (a click, tab): the filter stays, the line closes."""
        if self.target is not None:
            self.close()
