"""What the console draws from the store's history: sparklines (a cell of block characters,
the k9s/htop habit) and the series, time ticks and event marks of a detail screen's plot.

Pure: points and events in, what to draw out. The console's workers read the store and
call these; the widgets only draw the result, so the figures are tested without a terminal
and a plot's cost on the event loop is bounded by its width, not by how many points the
history holds.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from onetui.model import Event

BLOCKS = "▁▂▃▄▅▆▇█"
SPARK_WIDTH = 12  # characters of a pane's sparkline: the last hour, 5 minutes each
SPARK_SPAN = 3600.0
# the panes' sparkline columns (after the columns of view.rows, at the end of each row)
HOST_SPARKS = ("CPU 1h", "MEM 1h")
SERVICE_SPARKS = ("RUN/DES 1h",)


class Sample(Protocol):
    """One recorded point of the history (`store.history.read` returns them)."""

    @property
    def at(self) -> float: ...

    @property
    def values(self) -> Mapping[str, float]: ...


def now() -> float:
    """The end of every window and sparkline; one place, so a test can hold it still."""
    return time.time()


@dataclass(frozen=True)
class Window:
    key: str  # the detail screen's key for it
    label: str
    span: float  # seconds
    tick: float  # seconds between the time axis' labels
    tick_format: str  # strftime of those labels


WINDOWS = {w.key: w for w in (
    Window("1", "last hour", 3600.0, 900.0, "%H:%M"),
    Window("6", "last 6 hours", 6 * 3600.0, 3600.0, "%H:%M"),
    Window("d", "last day", 86400.0, 4 * 3600.0, "%H:%M"),
    Window("w", "last week", 7 * 86400.0, 86400.0, "%a %d"),
)}
DEFAULT_WINDOW = "1"


@dataclass(frozen=True)
class Series:
    name: str  # the key in a point's values
    label: str
    right: bool = False  # on the right-hand axis (another unit)
    percent: bool = False  # 0 to 100, the left-hand axis drawn so (an idle host stays low)


# what a detail screen plots of each kind of history (see store.history's kinds)
SERIES: dict[str, tuple[Series, ...]] = {
    "host": (Series("cpu", "CPU %", percent=True), Series("mem", "MEM %", percent=True),
             Series("rvm", "VMs", right=True)),
    "vm": (Series("cpu", "CPU %"), Series("mem", "MEM MiB", right=True)),
    "service": (Series("desired", "desired"), Series("running", "running"),
                Series("rps", "req/s", True)),
    "grid": (Series("running", "running"), Series("pending", "pending"),
             Series("oldest_pending_s", "oldest pending s", True)),
}
# the events marked on a kind's plot: those about the same object
EVENT_KIND = {"host": "host", "vm": "vm", "service": "service"}


def follow_points(known: Sequence[Sample], fresh: Sequence[Sample], start: float,
                  since: float) -> list[Sample]:
    """The points held (`known`, oldest first) brought up to date by those just read from
    `since` on (`fresh`, `since` being the newest held point's time): what is older than
    `start` goes, a point read again replaces the one held (a look between passes merges
    into the newest point), and the newest held point stays when it was not read again
    (the store rolled it up into a coarser tier meanwhile)."""
    again = {p.at for p in fresh}
    return [p for p in known if start <= p.at and (p.at < since or p.at not in again)] + \
        list(fresh)


def buckets(points: Iterable[Sample], name: str, until: float, span: float,
            width: int) -> list[float | None]:
    """The mean of `name` in each of `width` equal slices of the `span` seconds up to
    `until` (None where no point fell). The slices are aligned to the clock, not to
    `until`: a slice's value changes when its points do, not every second."""
    if width <= 0:
        return []
    step = span / width
    end = (until // step + 1) * step
    start = end - span
    sums = [0.0] * width
    counts = [0] * width
    for point in points:
        value = point.values.get(name)
        if value is None or not start <= point.at < end:
            continue
        at = min(width - 1, int((point.at - start) // step))
        sums[at] += float(value)
        counts[at] += 1
    return [s / c if c else None for s, c in zip(sums, counts, strict=True)]


def spark(values: Sequence[float | None], top: float) -> str:
    """Block characters, `top` (or more) a full block; a slice without points is a space,
    and no points at all is an empty cell (a host with no history yet)."""
    if all(v is None for v in values):
        return ""
    last = len(BLOCKS) - 1
    return "".join(" " if v is None else
                   BLOCKS[0 if top <= 0 else round(min(max(v / top, 0.0), 1.0) * last)]
                   for v in values)


class Slices:
    """The running means of an object's series per clock-aligned slice (a sparkline's
    characters), kept up to date point by point: what a pane needs of an hour at pass
    resolution for a thousand hosts, without holding or walking the points again."""

    def __init__(self, step: float = SPARK_SPAN / SPARK_WIDTH) -> None:
        self.step = step
        self.sums: dict[int, dict[str, list[float]]] = {}  # slice → field → [sum, count]
        self.newest: Sample | None = None

    @classmethod
    def of(cls, points: Iterable[Sample], step: float = SPARK_SPAN / SPARK_WIDTH) -> Slices:
        slices = cls(step)
        slices.follow(list(points), -math.inf)
        return slices

    def _add(self, point: Sample, sign: int) -> None:
        slot = self.sums.setdefault(int(point.at // self.step), {})
        for name, value in point.values.items():
            total = slot.setdefault(name, [0.0, 0])
            total[0] += sign * float(value)
            total[1] += sign

    def follow(self, fresh: Sequence[Sample], start: float) -> None:
        """Add the points just read (oldest first, from the newest one added on): one read
        again replaces it (a look between passes merges into the newest point); slices
        older than `start` go."""
        for point in fresh:
            if self.newest is not None and point.at <= self.newest.at:
                if point.at < self.newest.at:
                    continue  # held already
                self._add(self.newest, -1)
            self._add(point, 1)
            self.newest = point
        first = start // self.step
        for gone in [i for i in self.sums if i < first]:
            del self.sums[gone]

    def means(self, name: str, until: float, width: int = SPARK_WIDTH) -> list[float | None]:
        """The mean of `name` in the `width` slices up to the one `until` falls in."""
        last = int(until // self.step)
        out: list[float | None] = []
        for at in range(last - width + 1, last + 1):
            total = self.sums.get(at, {}).get(name)
            out.append(total[0] / total[1] if total and total[1] else None)
        return out


def percent_spark(slices: Slices, name: str, until: float) -> str:
    """A pane's sparkline of a percentage (a host's CPU or memory): 100 % is a full block,
    so an idle host stays low whatever its neighbours do."""
    return spark(slices.means(name, until), 100.0)


def service_spark(slices: Slices, until: float) -> str:
    """Running against desired, slice by slice: a full block is a service at its size, a
    dip the time its new members took to run (or the members it lost)."""
    ratio: list[float | None] = [
        None if r is None else 1.0 if not d else min(r / d, 1.0)
        for r, d in zip(slices.means("running", until), slices.means("desired", until),
                        strict=True)]
    return spark(ratio, 1.0)


def grid_sparks(slices: Slices, until: float) -> tuple[str, str]:
    """The SGE pane's running and pending jobs over the last hour, on one scale (the most
    of either), so the two read against each other."""
    running = slices.means("running", until)
    pending = slices.means("pending", until)
    top = max((v for v in (*running, *pending) if v is not None), default=0.0)
    return spark(running, top or 1.0), spark(pending, top or 1.0)


@dataclass(frozen=True)
class Mark:
    """An event on a plot: where, what it said, and how bad."""

    at: float
    text: str
    level: str


@dataclass
class PlotData:
    """One detail plot: x positions (seconds before `until`, negative), each series' values
    at them (None: no point there), the time axis' ticks and the events to mark."""

    title: str
    until: float
    span: float
    xs: list[float] = field(default_factory=list)
    lines: dict[Series, list[float | None]] = field(default_factory=dict)
    ticks: list[tuple[float, str]] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not any(v is not None for ys in self.lines.values() for v in ys)


def ticks(window: Window, until: float) -> list[tuple[float, str]]:
    """The time axis' labels: every `window.tick` seconds of local time, as x positions
    relative to `until`."""
    offset = time.localtime(until).tm_gmtoff
    first = ((until - window.span + offset) // window.tick + 1) * window.tick - offset
    out = []
    at = first
    while at <= until:
        out.append((at - until, time.strftime(window.tick_format, time.localtime(at))))
        at += window.tick
    return out


def plot_data(title: str, kind: str, points: Sequence[Sample], events: Iterable[Event],
              window: Window, until: float, width: int) -> PlotData:
    """What a detail plot draws over `window` ending at `until`: each series of the kind
    averaged into `width` slices (a week of points costs no more to draw than an hour),
    and the window's events as marks."""
    width = max(width, 1)
    step = window.span / width
    end = (until // step + 1) * step
    data = PlotData(title, until, window.span)
    data.xs = [end - window.span + (i + 0.5) * step - until for i in range(width)]
    for series in SERIES[kind]:
        data.lines[series] = buckets(points, series.name, until, window.span, width)
    data.ticks = ticks(window, until)
    data.marks = sorted((Mark(e.at, e.message, e.level) for e in events
                         if until - window.span <= e.at <= until), key=lambda m: m.at)
    return data
