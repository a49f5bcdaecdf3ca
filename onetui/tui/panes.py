"""The console's live panes (tables updated in place, row by row, keyed by id, with the
columns that fit their width), the inline filter line and the status line. Their keys
name actions of the screen they sit on (`screen.…`), or their own (sorting)."""

from __future__ import annotations

import re
import textwrap
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from itertools import zip_longest
from typing import Any, ClassVar, Self

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual._two_way_dict import TwoWayDict
from textual.app import ComposeResult
from textual.binding import Binding
from textual.cache import LRUCache
from textual.containers import Horizontal
from textual.coordinate import Coordinate
from textual.geometry import Size
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import DataTable, Input, Label
from textual.widgets.data_table import CellKey, ColumnKey, DuplicateKey, Row, RowKey

from onetui.integrations.sge.grid import Grid, Job
from onetui.model import Event, age
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

SegmentLines = list[list[Segment]]  # a drawn cell: its lines of segments


class OneLineRows(Sequence[tuple[RowKey, int]]):
    """DataTable's map from a screen line to (row, line in row), for tables whose rows are
    all one line high: the row at that index, computed when asked. DataTable builds it as
    a list over every row, again after every change (a cell updated, a row added): with
    ten thousand rows that list was most of a repaint."""

    def __init__(self, count: int, key_at: Callable[[int], RowKey | None]) -> None:
        self.lines = count
        self.key_at = key_at

    def __len__(self) -> int:
        return self.lines

    def __getitem__(self, y: Any) -> Any:
        if not isinstance(y, int) or not 0 <= y < self.lines:
            raise IndexError(y)  # a LookupError: DataTable draws a blank line
        key = self.key_at(y)
        if key is None:
            raise IndexError(y)
        return key, 0

    def clear(self) -> None:
        """DataTable clears its list on `clear`; nothing is kept here."""


class Table(DataTable):
    """A DataTable that draws again once it has measured the rows just added, and that
    stays cheap with ten thousand rows (every row one line high, as the panes add them).

    DataTable measures new rows (column widths, virtual size) when it is next idle, but
    keeps the lines it drew before that in its render cache: a frame painted in between
    (the screen repaints as soon as the handler that added the rows returns, often before
    the table's own idle) would stay on screen, every column cut at its header's width,
    until some later change. A new virtual size means new measures: drop those lines.

    Its line map is computed when asked (`OneLineRows`), and many rows are dropped with one
    renumbering (`drop_rows`) where `remove_row` renumbers every row after each one.

    A drawn cell is kept until its row changes (`_render_cell`): DataTable keys its cell
    cache on a counter that any change to any row moves on, so a tick that changed a
    hundred rows drew every cell on screen again through Rich."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._drawn: LRUCache[tuple[Any, ...], Any] = LRUCache(4096)
        self._drawn_version = 0  # moves on when every cell must be drawn again
        self._row_versions: dict[RowKey, int] = {}  # moves on when a row's cells change

    def watch_virtual_size(self) -> None:
        self.notify_style_update()  # DataTable's: clears its render caches and refreshes

    def notify_style_update(self) -> None:
        self._forget_drawn()
        super().notify_style_update()

    def _forget_drawn(self) -> None:
        self._drawn.clear()
        self._drawn_version += 1
        self._row_versions = {}

    def _changed(self, row_key: RowKey | str) -> None:
        key = RowKey(row_key) if isinstance(row_key, str) else row_key
        self._row_versions[key] = self._row_versions.get(key, 0) + 1

    def clear(self, columns: bool = False) -> Self:
        self._forget_drawn()
        return super().clear(columns)

    def add_column(self, label: Any, *, width: int | None = None, key: str | None = None,
                   default: Any = None) -> ColumnKey:
        self._forget_drawn()
        return super().add_column(label, width=width, key=key, default=default)

    def add_row(self, *cells: Any, height: int | None = 1, key: str | None = None,
                label: Any = None) -> RowKey:
        if key is not None:
            self._changed(key)
        return super().add_row(*cells, height=height, key=key, label=label)

    def remove_row(self, row_key: RowKey | str) -> None:
        self._changed(row_key)
        super().remove_row(row_key)

    def update_cell(self, row_key: RowKey | str, column_key: ColumnKey | str, value: Any, *,
                    update_width: bool = False) -> None:
        self._changed(row_key)
        super().update_cell(row_key, column_key, value, update_width=update_width)

    def _render_cell(self, row_index: int, column_index: int, base_style: Style, width: int,
                     cursor: bool = False, hover: bool = False) -> SegmentLines:
        row_key = self._row_locations.get_key(row_index) if row_index >= 0 else None
        key = (row_key, self._row_versions.get(row_key, 0) if row_key else 0, row_index,
               column_index, base_style, width, cursor, hover, self._show_hover_cursor,
               self.show_cursor, self._pseudo_class_state, self._drawn_version)
        drawn = self._drawn.get(key)
        if drawn is None:
            drawn = super()._render_cell(row_index, column_index, base_style, width,
                                         cursor, hover)
            self._drawn[key] = drawn
        return drawn

    @property
    def _y_offsets(self) -> OneLineRows:  # type: ignore[override]
        return OneLineRows(self.row_count, self._row_locations.get_key)

    def append_rows(self, rows: Iterable[tuple[str, Sequence[Any]]]) -> None:
        """`add_row` for many rows, each one line high: what add_row does for the table
        after each row (the cursor checked, the change counted) is done once."""
        columns = [column.key for column in self.ordered_columns]
        had = at = self.row_count
        for key, cells in rows:
            row_key = RowKey(key)
            if row_key in self._row_locations:
                raise DuplicateKey(f"The row key {row_key!r} already exists.")
            self._row_locations[row_key] = at
            self._data[row_key] = dict(zip_longest(columns, cells))
            self.rows[row_key] = Row(row_key, 1)
            self._new_rows.add(row_key)
            self._changed(row_key)
            at += 1
        if at == had:
            return
        self._require_update_dimensions = True
        self.cursor_coordinate = self.cursor_coordinate
        if not had and self.columns and self.show_cursor and self.cursor_type != "none":
            self._highlight_cursor()  # as add_row: the first row highlights the cursor
        self._update_count += 1
        self.check_idle()

    def drop_rows(self, keys: Iterable[str]) -> None:
        """Remove these rows (the ones not in the table are skipped); the cursor stays on
        its row index, clamped, as `remove_row` leaves it."""
        gone = {RowKey(k) for k in keys if k in self.rows}
        if len(gone) < 2:
            for key in gone:
                self.remove_row(key)
            return
        locations = self._row_locations
        kept = [key for key in (locations.get_key(i) for i in range(self.row_count))
                if key is not None and key not in gone]
        self._row_locations = TwoWayDict({key: i for i, key in enumerate(kept)})
        for key in gone:
            self._changed(key)
            for column in self._data.pop(key, {}):
                self._updated_cells.discard(CellKey(key, column))
            self.rows.pop(key, None)
            self._new_rows.discard(key)
        self._require_update_dimensions = True
        self._update_count += 1
        self.cursor_coordinate = self.cursor_coordinate  # clamped to the rows left
        self.hover_coordinate = self.hover_coordinate
        self.check_idle()
        self.refresh()  # a new height comes with the virtual size, once it is measured


class FitTable(Table):
    """A table that chooses its columns for the width it has (k9s's habit: what matters
    first). `PRIORITY` ranks the columns, most important first; the first `KEEP` always
    show, the rest while they fit in whole, and the hidden ones are counted in the border
    (`z` zooms the pane to see them). `ORDER` puts the shown ones left to right. A column
    in `SHORT` has a shorter form, used when the table is narrower than `SHORT_BELOW`.
    What a cell overflows is reached with DataTable's own horizontal scroll (left/right).

    With many rows a rebuild draws at once the rows a screen can show (`FIRST` at least)
    and the rest `CHUNK` at a time after the next frames, so the first paint never waits for
    ten thousand rows and the event loop never blocks for long. The column widths come
    from `widths` (measured once, from the plain cells), not from DataTable measuring every
    new cell through Rich."""

    FIRST = 60
    CHUNK = 500

    COLUMNS: tuple[str, ...] = ()  # what each row holds, in this order
    PRIORITY: tuple[str, ...] = ()  # the columns that may show, most important first
    ORDER: tuple[str, ...] = ()  # left to right (default: PRIORITY)
    KEEP = 2
    SHORT: ClassVar[dict[str, tuple[Callable[[str], str], int]]] = {}  # form, its width
    SHORT_BELOW = 50
    TITLE = ""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)
        self.index = {c: i for i, c in enumerate(self.COLUMNS)}
        self.priority = self.PRIORITY or self.COLUMNS
        self.shown: tuple[str, ...] = ()
        self.narrow = False  # the SHORT forms are in use
        self.widths = {c: cell_len(c) for c in self.COLUMNS}  # the widest cell seen
        self.border_title = self.TITLE
        self.pending: list[tuple[str, tuple[str, ...]]] = []  # rows still to draw, in order
        self.pending_keys: set[str] = set()
        self._fill_armed = False
        self._reselect: str | None = None  # the selected row, once it is drawn

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

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        """DataTable's, without measuring every cell of every new row through Rich (most
        of a cold start with ten thousand rows): the widths are known (`widths`) and every
        row is one line high."""
        for key, column in self.columns.items():
            name = key.value or ""
            known = self.content_width(name, self.narrow) if name in self.widths else 0
            column.content_width = max(column.content_width if name not in self.widths
                                       else 0, known, column.label.cell_len)
        header = self.header_height if self.show_header else 0
        self.virtual_size = Size(
            sum(column.get_render_width(self) for column in self.columns.values()),
            self.row_count + header)

    def choose(self) -> tuple[tuple[str, ...], bool]:
        """The columns that fit the pane now, and whether the SHORT forms are needed."""
        room = max(0, self.size.width - self.styles.scrollbar_size_vertical)
        pad = 2 * self.cell_padding

        def width(column: str, narrow: bool) -> int:
            return max(self.content_width(column, narrow), cell_len(self.label(column))) + pad

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

    def value(self, column: str, row: tuple[str, ...]) -> str:
        text = row[self.index[column]]
        return self.SHORT[column][0](text) if self.narrow and column in self.SHORT else text

    def cells(self, row: tuple[str, ...]) -> list[Text]:
        return [self.cell(c, self.value(c, row), row) for c in self.shown]

    def rebuild(self, columns: bool = False) -> None:
        """Every row drawn again (a full reload, a new filter, order or set of columns);
        the selected row stays selected (once it is drawn, when it is far down)."""
        selected = self.selected_key() if self._reselect is None else self._reselect
        self.clear(columns=columns)
        if columns:
            for column in self.shown:
                self.add_column(self.label(column), key=column)
        rows = list(self.keyed_rows())
        first = max(self.FIRST, self.size.height + 10)
        self.pending = rows[first:]
        self.pending_keys = {key for key, _ in self.pending}
        self._add(rows[:first])
        self._reselect = selected if selected is not None and selected not in self.rows \
            and selected in self.pending_keys else None
        self.reselect(selected)
        self._arm_fill()
        self.border_subtitle = " · ".join(self.subtitle_parts())

    def _add(self, rows: Iterable[tuple[str, tuple[str, ...]]]) -> None:
        self.append_rows((key, self.cells(row)) for key, row in rows)

    def current(self, key: str, row: tuple[str, ...]) -> tuple[str, ...] | None:
        """A pending row as it is now (None: no longer shown); rows kept by id say."""
        return row

    def _arm_fill(self) -> None:
        if self.pending and not self._fill_armed:
            self._fill_armed = True
            self.call_after_refresh(self._fill)

    def _fill(self) -> None:
        """The next pending rows, after a frame was painted."""
        self._fill_armed = False
        chunk, self.pending = self.pending[:self.CHUNK], self.pending[self.CHUNK:]
        rows = []
        for key, row in chunk:
            self.pending_keys.discard(key)
            now = self.current(key, row)
            if now is not None and key not in self.rows:
                rows.append((key, now))
        self._add(rows)
        wanted = self._reselect
        if wanted is not None and wanted in self.rows:
            self._reselect = None
            if self.cursor_row == 0:  # the admin has not moved meanwhile
                self.reselect(wanted)
        if not self.pending:
            self._reselect = None
        self._arm_fill()

    @property
    def filling(self) -> bool:
        """Rows of the last rebuild are still to be drawn."""
        return bool(self.pending)

    def selected_key(self) -> str | None:
        if not self.row_count:
            return None
        try:
            return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except Exception:  # no cursor yet
            return None

    def reselect(self, key: str | None) -> None:
        if key is not None and key in self.rows:
            self.move_cursor(row=self.get_row_index(key))


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

    def keyed_rows(self) -> list[tuple[str, tuple[str, ...]]]:
        column, descending = self.sort_by
        at = self.index[column]
        rows = [(rid, row) for rid, row in self.rows_by_id.items() if self.shows(row)]
        if at == 0:  # the id column: the ids are its numbers
            rows.sort(key=lambda item: item[0], reverse=descending)
        else:
            rows.sort(key=lambda item: (sort_key(column, item[1][at]), item[0]),
                      reverse=descending)
        return [(str(rid), row) for rid, row in rows]

    def current(self, key: str, row: tuple[str, ...]) -> tuple[str, ...] | None:
        now = self.rows_by_id.get(int(key))
        return now if now is not None and self.shows(now) else None

    def apply(self, rows: Mapping[int, tuple[str, ...] | None], full: bool = False) -> None:
        if full:
            self.rows_by_id = {i: r for i, r in rows.items() if r is not None}
            self.measure(self.rows_by_id.values())
            if not self.fit():
                self.rebuild()
            return
        grew = moved = False
        at = self.index[self.sort_by[0]]
        dropped: list[str] = []
        added: list[tuple[str, tuple[str, ...]]] = []
        for rid, row in rows.items():
            if row is None:
                self.rows_by_id.pop(rid, None)
                dropped.append(str(rid))
                continue
            old = self.rows_by_id.get(rid)
            self.rows_by_id[rid] = row
            grew = self.grow(row) or grew
            moved = moved or old is None or old[at] != row[at]
            moved = self._put(str(rid), row, old, dropped, added) or moved
        self.drop_rows(dropped)  # one renumbering for them all
        self._add(added)
        if grew and self.fit():
            return  # rebuilt with the columns that fit now, in order
        if moved:
            self.resort()

    def _put(self, key: str, row: tuple[str, ...], old: tuple[str, ...] | None,
             dropped: list[str], added: list[tuple[str, tuple[str, ...]]]) -> bool:
        """One row on screen as the filter says: added, dropped (both noted, done at once
        for all), or its changed cells.
        While a rebuild is still drawing its rows, a row not drawn yet is drawn as it is
        by then, in its place (True: the pending rows need ordering again)."""
        shown = key in self.rows
        if self.filling and not shown:
            new = key not in self.pending_keys
            self.pending_keys.add(key)
            return new
        if not self.shows(row):
            if shown:
                dropped.append(key)
        elif not shown:
            added.append((key, row))
        else:
            for col in self.shown:
                value = self.value(col, row)
                if old is None or value != self.value(col, old):
                    # widening a column re-measures it: only when the cell needs it
                    wider = cell_len(value) > self.columns[col].content_width  # type: ignore
                    self.update_cell(key, col, self.cell(col, value, row), update_width=wider)
        return False

    def resort(self) -> None:
        """Rows were added or their sort cells changed: put them in order again. With the
        sort and id columns on screen DataTable sorts its own rows (cheap with ten thousand
        VMs); else they are drawn again in order. While a rebuild is still drawing its
        rows, the rows drawn are sorted and the rest follow in the new order, unless a row
        crossed from one part to the other (then all are drawn again)."""
        column, descending = self.sort_by
        first = self.COLUMNS[0]
        if column not in self.shown or first not in self.shown or \
                (self.narrow and (column in self.SHORT or first in self.SHORT)):
            self.rebuild()
            return
        if self.filling:
            order = self.keyed_rows()
            drawn = self.row_count
            if not all(key in self.rows for key, _ in order[:drawn]):
                self.rebuild()
                return
            self.pending = order[drawn:]
            self.pending_keys = {key for key, _ in self.pending}
        selected = self.selected_key()
        self.sort(column, first, reverse=descending,
                  key=lambda cells: (sort_key(column, str(cells[0])), int(str(cells[1]))))
        self.reselect(selected)

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
        return super().cell(column, value, row)

    def tick(self) -> None:
        """TIME ticks for the rows on screen only: cheap with ten thousand VMs."""
        if not self.row_count or "TIME" not in self.shown:
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


QUEUE_COLUMNS = ("queuename", "qtype", "resv/used/tot.", "load_avg", "arch", "states")


def _grid_rows(grid: Grid) -> Iterator[tuple[str, tuple[str, ...]]]:
    """The queue instances with their jobs beneath, then the pending jobs: each row's key
    and cells."""
    for q in grid.queues:
        load = f"{q.load_avg:.2f}" if q.load_avg is not None else "-NA-"
        yield f"q:{q.name}", (q.name, q.qtype, f"{q.resv}/{q.used}/{q.total}", load,
                              q.arch or "-NA-", q.states)
        for j in q.jobs:
            yield f"j:{j.number}", _job_cells(j)
    if grid.pending:
        yield "pending", ("- PENDING JOBS -",)
        for j in grid.pending:
            yield f"p:{j.number}", _job_cells(j)


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
