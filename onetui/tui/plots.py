"""The history plot of a detail screen (textual-plotext: plotext's drawing, Textual's
themes): one object's figures over a window the admin chooses (`1` hour, `6` hours, `d`ay,
`w`eek), the window's events marked as vertical lines and listed under it.

The history is read through the API in a thread worker (`history.read_many` from a time
on): the whole window when the window changes, then only the points after the last one
shown when the dashboard's poll saw the history grow (the change sequence), so an open
plot follows the engine without reading a week again each second. What to draw is
computed in the worker too (`view.trends.plot_data`, the points averaged into about as
many slices as the plot is wide); the event loop only draws."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.color import Color
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static
from textual_plotext import PlotextPlot

from onetui.model import Event
from onetui.view import trends
from onetui.view.records import event_of, point_of
from onetui.view.trends import DEFAULT_WINDOW, EVENT_KIND, WINDOWS, PlotData, Sample, Window

if TYPE_CHECKING:
    from onetui.tui.app import OnetuiApp

EVENTS_READ = 500  # the object's newest events looked at for marks

# theme variables the series take, in order, and the marks by level
SERIES_COLOURS = ("primary", "accent", "secondary", "success")
MARK_COLOURS = {"error": "error", "warning": "warning"}
LEVELS = {"error": 2, "warning": 1}  # the line under a plot names the worst event


class HistoryPlot(PlotextPlot):
    """A plotext plot drawn from a `PlotData` in the theme's colours."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data: PlotData | None = None

    def on_mount(self) -> None:  # after PlotextPlot's: a new theme draws it in its colours
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.draw())

    def colour(self, variable: str) -> tuple[int, int, int]:
        return Color.parse(self.app.theme_variables.get(variable, "white")).rgb

    def show(self, data: PlotData) -> None:
        self.data = data
        self.draw()

    def draw(self) -> None:
        """The series (their names and colours are in the line under the plot, where they
        hide no points), the time ticks and a vertical line per event."""
        data = self.data
        plt = self.plt
        plt.clear_figure()
        if data is None:
            self.refresh()
            return
        plt.xlim(-data.span, 0)
        plt.xticks([x for x, _ in data.ticks], [label for _, label in data.ticks])
        for at, (series, ys) in enumerate(data.lines.items()):
            side = "right" if series.right else "left"
            if series.percent and not series.right:
                plt.ylim(0, 100)  # the left-hand axis
            for xs, run in runs(data.xs, ys):
                plt.plot(xs, run, color=self.colour(series_colour(at)), yside=side,
                         marker="braille")
        for mark in data.marks:
            plt.vline(mark.at - data.until, self.colour(MARK_COLOURS.get(mark.level,
                                                                         "warning")))
        self.refresh()


def series_colour(at: int) -> str:
    """The theme variable the `at`th series of a plot is drawn in."""
    return SERIES_COLOURS[at % len(SERIES_COLOURS)]


def runs(xs: Sequence[float], ys: Sequence[float | None],
         gap: int = 3) -> list[tuple[list[float], list[float]]]:
    """The stretches of a series to draw as lines: a few empty slices in a row are only
    slices narrower than the points are apart (a minute's points on a wide plot), more
    than `gap` of them a time without points (the engine was stopped): never drawn across."""
    out: list[tuple[list[float], list[float]]] = []
    current: tuple[list[float], list[float]] | None = None
    empty = 0
    for x, y in zip(xs, ys, strict=True):
        if y is None:
            empty += 1
            if empty > gap:
                current = None
            continue
        empty = 0
        if current is None:
            current = ([], [])
            out.append(current)
        current[0].append(x)
        current[1].append(y)
    return out


class PlotRead(Message, bubble=False):
    def __init__(self, generation: int, points: list[Sample], events: list[Event],
                 data: PlotData) -> None:
        super().__init__()
        self.generation = generation
        self.points = points
        self.events = events
        self.data = data


class HistoryPanel(Vertical):
    """A plot and, under it, its window, the keys that change it and the events marked."""

    DEFAULT_CSS = """
    HistoryPanel { height: 1fr; min-height: 8; }
    HistoryPanel > HistoryPlot { height: 1fr; }
    HistoryPanel > #history-legend { height: 1; color: $text-muted; }
    /* nothing recorded in the window (a VM still pending): the line under it says so,
       and the text gets the room */
    HistoryPanel.-empty { height: auto; min-height: 0; }
    HistoryPanel.-empty > HistoryPlot { display: none; }
    """

    def __init__(self, kind: str, key: str, title: str, **kwargs: Any) -> None:
        super().__init__(classes="-empty", **kwargs)
        self.kind, self.key, self.title = kind, key, title
        self.window: Window = WINDOWS[DEFAULT_WINDOW]
        self.points: list[Sample] = []
        self.events: list[Event] = []  # the object's newest events, oldest first
        self.generation = 0  # a read for an older window is not shown
        self.loaded = False

    @property
    def console(self) -> OnetuiApp:
        return cast("OnetuiApp", self.app)

    def compose(self) -> ComposeResult:
        yield HistoryPlot()
        yield Static("", id="history-legend", markup=False)

    def on_mount(self) -> None:
        self.choose(DEFAULT_WINDOW)

    def choose(self, key: str) -> None:
        """Show another window: read it whole."""
        self.window = WINDOWS[key]
        self.generation += 1
        self.loaded = False
        self._read(self.generation, self.window, [], [], self._width())

    def follow(self) -> None:
        """The history grew: read the points after the last one shown, and the events
        after the last one marked."""
        if self.loaded:
            self._read(self.generation, self.window, list(self.points), list(self.events),
                       self._width())

    def _width(self) -> int:
        """About as many slices as the plot has columns (less its axes); before the first
        layout, the terminal's width."""
        return max(10, (self.size.width or self.app.size.width) - 14)

    def _read(self, generation: int, window: Window, known: list[Sample],
              marked: list[Event], width: int) -> None:
        self.app.run_worker(lambda: self._load(generation, window, known, marked, width),
                            thread=True, group="plot", exit_on_error=False)

    def _load(self, generation: int, window: Window, known: list[Sample],
              marked: list[Event], width: int) -> None:
        """In a thread: the points of the window not yet known, the events to mark (those
        after the ones already marked: none, mostly), and what to draw of them."""
        client = self.console.client
        until = trends.now()
        start = until - window.span
        last = max(known[-1].at, start) if known else start
        read = client.call("history.read_many", kind=self.kind, keys=[self.key], since=last)
        points = trends.follow_points(known, [point_of(p) for p in read[self.key]],
                                      start, last)
        events = marked
        kind = EVENT_KIND.get(self.kind)
        if kind is not None:
            after = marked[-1].id if marked else 0
            new = [event_of(e) for e in client.call(
                "events.list", kinds=[kind], obj=int(self.key), limit=EVENTS_READ,
                after=after)["events"]]
            events = (marked + new)[-EVENTS_READ:]
        data = trends.plot_data(f"{self.title}, {window.label}", self.kind, points,
                                events, window, until, width)
        self.post_message(PlotRead(generation, points, events, data))

    def on_plot_read(self, message: PlotRead) -> None:
        if message.generation != self.generation:
            return
        self.points = message.points
        self.events = message.events
        self.loaded = True
        self.set_class(message.data.empty, "-empty")
        self.query_one(HistoryPlot).show(message.data)
        self.query_one("#history-legend", Static).update(
            legend(self.window, message.data, self.app.theme_variables))


def legend(window: Window, data: PlotData, colours: dict[str, str]) -> Text:
    """The line under a plot: each series in its colour (→: on the right-hand axis), the
    window and the keys that choose it, and the events marked (the text of the latest of
    the worst: a host going `err` is not hidden by the info lines that followed it)."""
    line = Text()
    for at, series in enumerate(data.lines):
        line.append("━ ", style=colours.get(series_colour(at), ""))
        line.append(f"{series.label}{' →' if series.right else ''}  ")
    keys = " ".join(WINDOWS)
    line.append(f"│ {window.label}{', no history' if data.empty else ''} (keys {keys}) │ ",
                style="dim")
    marks = data.marks
    if not marks:
        line.append("no events", style="dim")
        return line
    worst = max(LEVELS.get(m.level, 0) for m in marks)
    latest = [m for m in marks if LEVELS.get(m.level, 0) == worst][-1]
    line.append(f"{len(marks)} event{'s' if len(marks) > 1 else ''} marked, latest"
                f"{'' if worst == 0 else ' ' + latest.level}: ", style="dim")
    line.append(latest.text, style=colours.get(MARK_COLOURS.get(latest.level, "warning"), ""))
    return line
