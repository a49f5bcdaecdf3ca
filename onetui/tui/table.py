"""A table that draws only the rows on screen (Textual's Line API), for panes of ten
thousand VMs that change a hundred rows a second.

Textual's DataTable keeps a cell per value and measures, renumbers and redraws in
proportion to all its rows: filling it with ten thousand VMs took seconds (so rows came in
chunks after the first frame), and a tick that changed a hundred rows invalidated every
cached line. Here a row is the pane's own tuple of strings, kept by key in display order;
a row's line is drawn through Rich when it first shows on screen and kept until that row
(or the table's look) changes. Putting rows in, taking them out, reordering them costs a
list and a dict over the keys (no Rich), and a frame draws the forty-odd lines a terminal
shows, whatever the row count.

What the panes ask of it is all here: columns with labels and widths, the row under the
cursor (kept on its row when the order changes), scrolling both ways, the header fixed on
top, and a message when the highlighted row changes. The look is DataTable's (its
component classes' colours for header and cursor), so the console looks as it did.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

PAD = 1  # blank cells either side of every cell, as DataTable's cell_padding
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_BLANKED = {c: " " for c in [*range(32), 127]}


def one_line(cell: Text) -> Text:
    """A cell's first line, its control characters (a tab, an escape) as blanks: a row is
    one line, and what a cell holds never reaches the terminal as a control (a libvirt
    error's second line, an escape sequence in a guest's message)."""
    first = cell.plain.split("\n", 1)[0]
    text = cell.copy()
    text.truncate(len(first))
    text.plain = first.translate(_BLANKED)
    return text


@dataclass
class Column:
    """A column on screen: its key (the name the pane knows it by), its header label and
    the width of its widest content (without padding)."""

    key: str
    label: Text
    content_width: int

    @property
    def width(self) -> int:
        """Its width on screen, padding included."""
        return max(self.content_width, self.label.cell_len) + 2 * PAD


class Table(ScrollView, can_focus=True):
    """Rows of cells under a fixed header, one line each, with a row cursor.

    A subclass says how a row's values are drawn (`row_cells`); the rows themselves are
    put with `set_rows` (the whole table, in order), `put_row` (a row's values, where it
    is) and `set_order` (which rows, in which order, by key)."""

    DEFAULT_CSS = """
    Table {
        background: $surface;
        color: $foreground;
        height: auto;
        max-height: 100%;
        &:focus {
            background-tint: $foreground 5%;
            & > .table--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .table--header { background-tint: $foreground 5%; }
        }
        & > .table--header { text-style: bold; background: $panel; color: $foreground; }
        &:ansi > .table--header { background: ansi_bright_blue; color: ansi_default; }
        & > .table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
    }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {"table--header", "table--cursor"}
    ALLOW_SELECT = False  # rows are chosen with the cursor, not selected as text
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home,ctrl+home", "first", "First row", show=False),
        Binding("end,ctrl+end", "last", "Last row", show=False),
        Binding("left", "scroll_left", "Scroll left", show=False),
        Binding("right", "scroll_right", "Scroll right", show=False),
    ]

    class RowHighlighted(Message):
        """The cursor is on another row (moved, or its row left and another took its
        place); `row_key` None: the table is empty."""

        def __init__(self, table: Table, cursor_row: int, row_key: str | None) -> None:
            super().__init__()
            self.table = table
            self.cursor_row = cursor_row
            self.row_key = row_key

        @property
        def control(self) -> Table:
            return self.table

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.columns: dict[str, Column] = {}
        self.values: dict[str, Sequence[str]] = {}  # a row's values, by key
        self.order: list[str] = []  # the keys on screen, top to bottom
        self._at: dict[str, int] | None = {}  # key → index in order (None: to be made)
        self.cursor_row = 0
        self._highlighted: str | None = None  # the key last announced as highlighted
        self._drawn: LRUCache[str, Strip] = LRUCache(1024)  # a row's line, full width
        self._looks: tuple[bool, Style, Style, Style, Style] | None = None

    # -- what a subclass says --------------------------------------------------------

    def row_cells(self, key: str, values: Sequence[str]) -> Sequence[Text]:
        """The row's cells, one per column on screen, left to right."""
        return [Text(v) for v in values]

    # -- rows ------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return len(self.order)

    def index_of(self, key: str) -> int | None:
        if self._at is None:
            self._at = {k: i for i, k in enumerate(self.order)}
        return self._at.get(key)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.index_of(key) is not None

    def key_at(self, index: int) -> str | None:
        return self.order[index] if 0 <= index < len(self.order) else None

    def get_row(self, key: str) -> Sequence[Text]:
        return self.row_cells(key, self.values[key])

    def get_row_at(self, index: int) -> Sequence[Text]:
        return self.get_row(self.order[index])

    def get_cell(self, key: str, column: str) -> Text:
        return self.get_row(key)[list(self.columns).index(column)]

    def selected_key(self) -> str | None:
        return self.key_at(self.cursor_row)

    def set_rows(self, rows: Iterable[tuple[str, Sequence[str]]]) -> None:
        """The whole table, in order; the selected row stays selected if it is still in
        it (else the cursor keeps its line)."""
        self.values = {}
        order = []
        for key, values in rows:
            self.values[key] = values
            order.append(key)
        self._drawn.clear()
        self.set_order(order)

    def put_row(self, key: str, values: Sequence[str]) -> None:
        """A row's new values, where it is (a row not in `order` is kept for when it is)."""
        self.values[key] = values
        self._drawn.discard(key)
        self._refresh_row(key)

    def redraw_rows(self, keys: Iterable[str]) -> None:
        """These rows drawn again, their values unchanged (what they show depends on
        something else too: the time, for an age)."""
        for key in keys:
            self._drawn.discard(key)
            self._refresh_row(key)

    def visible_keys(self) -> list[str]:
        top = round(self.scroll_y)
        return self.order[top:top + max(0, self._rows_on_screen())]

    def _refresh_row(self, key: str) -> None:
        at = self.index_of(key)
        top = round(self.scroll_y)
        if at is not None and top <= at < top + self._rows_on_screen():
            self.refresh_line(at + 1)

    def drop_values(self, keys: Iterable[str]) -> None:
        """Forget rows' values (rows no longer in `order`)."""
        for key in keys:
            self.values.pop(key, None)
            self._drawn.discard(key)

    def set_order(self, order: list[str]) -> None:
        """Which rows show, top to bottom (each key has values). The row under the cursor
        stays under it, wherever it went (if it went away the cursor keeps its index), on
        the same screen line; a cursor scrolled out of sight (the mouse wheel) stays out
        of sight, the view where the admin put it."""
        selected = self.selected_key()
        top = round(self.scroll_y)
        line = self.cursor_row - top
        seen = 0 <= line < self._rows_on_screen()
        self.order = order
        self._at = None
        at = self.index_of(selected) if selected is not None else None
        self._resize()
        self.refresh()
        self.move_cursor(row=at if at is not None else self.cursor_row, scroll=False)
        if seen:
            self.scroll_to(y=max(0, self.cursor_row - line), animate=False, immediate=True)

    def add_column(self, label: str | Text, key: str, content_width: int = 0) -> None:
        self.columns[key] = Column(key, Text(label) if isinstance(label, str) else label,
                                   content_width)
        self.redraw()

    def redraw(self) -> None:
        """Every line drawn again (the columns or their widths changed)."""
        self._drawn.clear()
        self._resize()
        self.refresh()

    def _resize(self) -> None:
        self.virtual_size = Size(sum(c.width for c in self.columns.values()),
                                 len(self.order) + 1)

    # -- the cursor ------------------------------------------------------------------

    def move_cursor(self, *, row: int, scroll: bool = True) -> None:
        """The cursor to this row (clamped), scrolled into view; RowHighlighted if that
        is another row than last said."""
        old = self.cursor_row
        self.cursor_row = max(0, min(row, len(self.order) - 1))
        if old != self.cursor_row:
            self._drawn.discard(self.key_at(old) or "")
            self.refresh_line(old + 1)
            self.refresh_line(self.cursor_row + 1)
        if scroll:
            self._scroll_to_cursor()
        key = self.selected_key()
        if key != self._highlighted:
            self._highlighted = key
            self.post_message(self.RowHighlighted(self, self.cursor_row, key))

    def _rows_on_screen(self) -> int:
        return self.scrollable_content_region.height - 1  # under the header

    def _scroll_to_cursor(self) -> None:
        rows = self._rows_on_screen()
        if rows <= 0:
            return
        top = round(self.scroll_y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, immediate=True)
        elif self.cursor_row >= top + rows:
            self.scroll_to(y=self.cursor_row - rows + 1, animate=False, immediate=True)

    def action_cursor(self, step: int) -> None:
        self.move_cursor(row=self.cursor_row + step)

    def action_page(self, step: int) -> None:
        rows = max(1, self._rows_on_screen())
        self.scroll_to(y=self.scroll_y + step * rows, animate=False, immediate=True)
        self.move_cursor(row=self.cursor_row + step * rows)

    def action_first(self) -> None:
        self.move_cursor(row=0)

    def action_last(self) -> None:
        self.move_cursor(row=len(self.order) - 1)

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y < 1:
            return
        row = round(self.scroll_y) + offset.y - 1
        if row < len(self.order):  # a click under the last row chooses none
            self.move_cursor(row=row)

    def on_resize(self) -> None:
        self._scroll_to_cursor()

    def watch_show_horizontal_scrollbar(self) -> None:
        """A column grew wide enough for a scrollbar: the height for rows shrank without
        a resize; the cursor's row stays in sight."""
        self.call_after_refresh(self._scroll_to_cursor)

    def on_focus(self) -> None:
        self.redraw()  # the cursor's focused look

    def on_blur(self) -> None:
        self.redraw()

    # -- drawing ---------------------------------------------------------------------

    def notify_style_update(self) -> None:
        self._looks = None
        self._drawn.clear()
        super().notify_style_update()

    def _styles(self) -> tuple[Style, Style, Style, Style]:
        """The base, header, cursor and cursor's foreground styles, as the CSS says now."""
        looks = self._looks
        if looks is None or looks[0] != self.has_focus:
            base = self.rich_style
            cursor = self.get_component_rich_style("table--cursor")
            looks = self._looks = (
                self.has_focus, base, base + self.get_component_rich_style("table--header"),
                base + cursor, Style.from_color(color=cursor.color))
        return looks[1], looks[2], looks[3], looks[4]

    def _line(self, cells: Sequence[Text], pre: Style, post: Style | None) -> Strip:
        console = self.app.console
        segments: list[Segment] = []
        for column, cell in zip(self.columns.values(), cells, strict=False):
            width = column.width - 2 * PAD
            text = cell
            if _CONTROL.search(cell.plain):
                text = one_line(cell)
            if text.cell_len > width:
                text = text.copy()
                text.truncate(width, overflow="ellipsis")
            room = width - text.cell_len
            left, right = (room + PAD, PAD) if cell.justify == "right" else (PAD, room + PAD)
            segments.append(Segment(" " * left))
            segments.extend(text.render(console, ""))
            segments.append(Segment(" " * right))
        return Strip(Segment.apply_style(segments, pre, post))

    def _row_line(self, index: int) -> Strip:
        base, _, cursor, cursor_fg = self._styles()
        key = self.order[index]
        if index == self.cursor_row:
            return self._line(self.row_cells(key, self.values[key]), cursor, cursor_fg)
        line = self._drawn.get(key)
        if line is None:
            line = self._drawn[key] = self._line(self.row_cells(key, self.values[key]),
                                                 base, None)
        return line

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base, header, cursor, _ = self._styles()
        x = round(self.scroll_x)
        if y == 0:
            labels = [c.label for c in self.columns.values()]
            line, style = self._line(labels, header, None), header
        else:
            index = round(self.scroll_y) + y - 1
            if not 0 <= index < len(self.order):
                return Strip.blank(width, base)
            line = self._row_line(index)
            style = cursor if index == self.cursor_row else base  # the cursor's whole line
        return line.crop_extend(x, x + width, style)
