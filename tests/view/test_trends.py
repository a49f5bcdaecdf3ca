"""What the console draws of the history (view.trends): the panes' sparklines and a detail
plot's series, ticks and event marks, from points as the store's history returns them."""

from __future__ import annotations

from onetui.model import Event
from onetui.store.history import Point
from onetui.view.trends import (
    BLOCKS,
    SPARK_WIDTH,
    WINDOWS,
    Slices,
    follow_points,
    grid_sparks,
    percent_spark,
    plot_data,
    service_spark,
    spark,
)

STEP = 300.0  # a sparkline character: 5 minutes of the last hour
END = 1_800_000_000.0  # a slice boundary (a multiple of STEP)
UNTIL = END - 1  # the last second of the newest slice


def host(at: float, cpu: float, mem: float = 0.0) -> Point:
    return Point(at, {"cpu": cpu, "mem": mem, "rvm": 1})


def test_a_sparkline_is_scaled_to_its_top_with_gaps_as_spaces() -> None:
    assert spark([0.0, 50.0, 100.0, 200.0, None], 100.0) == "▁▅██ "
    assert spark([None, None], 100.0) == ""  # no history yet: an empty cell


def test_a_host_sparkline_shows_its_load_slice_by_slice_over_the_last_hour() -> None:
    # one point a minute, idle for the first half hour, full for the second
    points = [host(END - 3600 + 60 * i, 0 if i < 30 else 100) for i in range(60)]
    line = percent_spark(Slices.of(points), "cpu", UNTIL)
    assert line == BLOCKS[0] * 6 + BLOCKS[-1] * 6
    # the host idles again in the newest slice: only its character changes
    idle = [*points[:-5], *(host(p.at, 0) for p in points[-5:])]
    assert percent_spark(Slices.of(idle), "cpu", UNTIL) == line[:-1] + BLOCKS[0]
    # what is older than an hour is not drawn; a slice without points is a space
    old_and_new = Slices.of([host(END - 7200, 100), host(END - 100, 50)])
    assert percent_spark(old_and_new, "cpu", UNTIL) == \
        " " * (SPARK_WIDTH - 1) + BLOCKS[round(0.5 * 7)]


def test_the_slices_are_aligned_to_the_clock_not_to_now() -> None:
    points = [host(END - 3600 + 60 * i, i % 100) for i in range(60)]
    slices = Slices.of(points)
    assert percent_spark(slices, "cpu", END - STEP + 1) == percent_spark(slices, "cpu", UNTIL)


def test_a_service_sparkline_dips_while_running_is_short_of_desired() -> None:
    points = [Point(END - 3600 + 60 * i, {"desired": 2 if i < 40 else 4,
                                          "running": 2 if i < 45 else 4}) for i in range(60)]
    line = service_spark(Slices.of(points), UNTIL)
    assert line[:8] == "█" * 8  # at size
    assert line[8] == "▅"  # scaled up to 4, two running: half
    assert line[-1] == "█"  # caught up


def test_grid_sparklines_share_one_scale() -> None:
    points = [Point(END - 600 + 60 * i, {"running": 8, "pending": 2}) for i in range(10)]
    running, pending = grid_sparks(Slices.of(points), UNTIL)
    assert running[-2:] == "██" and pending[-2:] == BLOCKS[round(7 / 4)] * 2


def test_a_plot_averages_a_week_into_its_width_and_marks_the_window_events() -> None:
    week = WINDOWS["w"]
    points = [host(UNTIL - week.span + 600 * i, 10 if i % 2 else 30) for i in range(1008)]
    events = [Event(3, UNTIL - 120, "host", 1, "error", "host ursa03: err"),
              Event(2, UNTIL - 86400, "host", 1, "info", "host ursa03: on"),
              Event(1, UNTIL - 8 * 86400, "host", 1, "info", "too old")]
    data = plot_data("ursa03", "host", points, events, week, UNTIL, width=70)
    cpu = next(ys for series, ys in data.lines.items() if series.name == "cpu")
    assert len(cpu) == len(data.xs) == 70
    assert all(y is not None and 15 <= y <= 25 for y in cpu[1:-1])  # means, not points
    assert [m.text for m in data.marks] == ["host ursa03: on", "host ursa03: err"]
    assert all(-week.span <= x <= 0 for x, _ in data.ticks) and len(data.ticks) == 7
    hour = plot_data("ursa03", "host", points, events, WINDOWS["1"], UNTIL, width=70)
    assert [m.text for m in hour.marks] == ["host ursa03: err"]
    assert all(label.count(":") == 1 for _, label in hour.ticks)  # 14:15, not a day


def test_a_plot_of_an_object_without_history_says_it_is_empty() -> None:
    data = plot_data("web", "service", [], [], WINDOWS["6"], UNTIL, width=40)
    assert data.empty and set(s.name for s in data.lines) == {"desired", "running", "rps"}


def test_points_held_follow_the_store() -> None:
    held = [host(10, 1), host(20, 2)]
    # the newest point read again, changed (a look merged into it), and a new one
    assert follow_points(held, [host(20, 5), host(30, 3)], 0, 20) == \
        [host(10, 1), host(20, 5), host(30, 3)]
    # the newest not read again (rolled up into a coarser tier): it stays
    assert follow_points(held, [host(30, 3)], 0, 20) == [host(10, 1), host(20, 2), host(30, 3)]
    # what fell out of the window goes
    assert follow_points(held, [], 15, 20) == [host(20, 2)]


def test_slices_follow_the_store_point_by_point() -> None:
    slices = Slices.of([host(END - 700, 10), host(END - 100, 20)])
    assert slices.means("cpu", UNTIL)[-3:] == [10, None, 20]
    # the newest read again, changed; an older one read again is not counted twice
    slices.follow([host(END - 700, 10), host(END - 100, 40), host(END - 50, 60)], END - 3600)
    assert slices.means("cpu", UNTIL)[-3:] == [10, None, 50]
    slices.follow([], END - 300)  # the window moved on: the older slices go
    assert slices.means("cpu", UNTIL)[-3:] == [None, None, 50]
