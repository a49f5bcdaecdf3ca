"""History in the console, on a real store (no engine: the history is recorded here, as an
engine pass records it, and the console's poll shows it): the Hosts pane's sparklines, the
Services pane's running-vs-desired, and a detail screen's plot over the window its keys
choose, following the history while it is open."""

from __future__ import annotations

import time
from pathlib import Path

from rich.text import Text
from textual.color import Color
from textual.widgets import Static

from onetui.store import Store
from onetui.tui.panes import HostsPane, QueuesPane, ServicesPane
from onetui.tui.plots import HistoryPanel, HistoryPlot
from onetui.tui.screens.dialogs import Detail
from onetui.view.trends import BLOCKS, HOST_SPARKS, SERVICE_SPARKS
from tests.tui.test_console import app_for, until


def record(path: Path, at: float, kind: str, key: str, values: dict[str, float]) -> None:
    """One point of an engine pass's history, written as the engine writes it (one
    transaction); points are recorded oldest first, as passes come."""
    with Store(path) as store, store.db.transaction() as cur:
        store.history.record(cur, at, [(kind, key, values)])


def cell(pane: HostsPane | ServicesPane, row: int, column: str) -> str:
    """What the pane shows in a cell (its drawn Text)."""
    return str(pane.get_cell(str(row), column))


async def test_a_host_whose_load_changes_shows_a_changing_sparkline(seeded: Path) -> None:
    now = time.time()
    for minutes in range(50, 0, -5):  # an idle host, a point every five minutes
        record(seeded, now - 60 * minutes, "host", "1", {"cpu": 5, "mem": 40, "rvm": 0})
    app = app_for(seeded, run_engine=False)
    async with app.run_test(size=(100, 30)) as pilot:
        hosts = app.query_one(HostsPane)
        await until(pilot, lambda: hosts.row_count == 2)
        hosts.focus()
        await pilot.press("z")  # the sparklines rank last: the zoomed pane has room
        await until(pilot, lambda: HOST_SPARKS[0] in hosts.shown and
                    cell(hosts, 1, HOST_SPARKS[0]).strip() != "")
        idle = cell(hosts, 1, HOST_SPARKS[0])
        assert set(idle.strip()) == {BLOCKS[0]}  # 5 %: the lowest block
        assert set(cell(hosts, 1, HOST_SPARKS[1]).strip()) == {BLOCKS[round(0.4 * 7)]}
        assert cell(hosts, 2, HOST_SPARKS[0]) == ""  # no history: nothing drawn
        for _ in range(3):  # the load climbs over the next passes
            record(seeded, time.time(), "host", "1", {"cpu": 100, "mem": 40, "rvm": 2})
        await until(pilot, lambda: cell(hosts, 1, HOST_SPARKS[0]) != idle)
        assert cell(hosts, 1, HOST_SPARKS[0])[-1] > BLOCKS[0]
        assert cell(hosts, 1, HOST_SPARKS[0])[:-2] == idle[:-2]  # the past stays as it was


async def test_a_service_short_of_its_size_shows_a_dip(seeded: Path) -> None:
    with Store(seeded) as store:
        store.services.add("web", store.templates.get("xen.local01").id, None, 1, 4, {})
    now = time.time()
    record(seeded, now - 1800, "service", "1", {"desired": 2, "running": 2, "rps": 0})
    record(seeded, now, "service", "1", {"desired": 4, "running": 1, "rps": 9})
    app = app_for(seeded, run_engine=False)
    async with app.run_test(size=(100, 30)) as pilot:
        services = app.query_one(ServicesPane)
        await until(pilot, lambda: services.row_count == 1)
        services.focus()
        await pilot.press("z")
        await until(pilot, lambda: cell(services, 1, SERVICE_SPARKS[0]).strip() != "")
        line = cell(services, 1, SERVICE_SPARKS[0])
        assert BLOCKS[-1] in line and line[-1] == BLOCKS[round(0.25 * 7)]


def plot(app) -> HistoryPlot:  # type: ignore[no-untyped-def]
    return app.screen.query_one(HistoryPlot)


async def open_plot(pilot, app, pane: HostsPane | ServicesPane,  # type: ignore[no-untyped-def]
                    rows: int) -> None:
    """Enter on the pane's selected row, once it has `rows`: the detail with its plot
    drawn."""
    await until(pilot, lambda: pane.row_count == rows)
    pane.focus()
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(app.screen, Detail) and
                bool(app.screen.query(HistoryPlot)) and plot(app).data is not None)


def cpu_line(app) -> list[float]:  # type: ignore[no-untyped-def]
    data = plot(app).data
    assert data is not None
    return [y for series, ys in data.lines.items() if series.name == "cpu"
            for y in ys if y is not None]


async def test_the_detail_plot_changes_window_with_the_keys(seeded: Path) -> None:
    now = time.time()
    record(seeded, now - 3 * 86400, "host", "1", {"cpu": 88, "mem": 50, "rvm": 1})
    record(seeded, now - 20 * 3600, "host", "1", {"cpu": 77, "mem": 50, "rvm": 1})
    record(seeded, now - 600, "host", "1", {"cpu": 11, "mem": 50, "rvm": 1})
    with Store(seeded) as store:
        store.events.add("host", 1, "host ursa03: err (libvirt: unreachable)", level="error")
    app = app_for(seeded, run_engine=False)
    async with app.run_test(size=(100, 30)) as pilot:
        hosts = app.query_one(HostsPane)
        await open_plot(pilot, app, hosts, 2)
        legend = app.screen.query_one("#history-legend", Static)
        assert cpu_line(app) == [11]
        assert "last hour" in str(legend.render())
        assert "err (libvirt: unreachable)" in str(legend.render())  # the event marked
        for key, span, seen in (("6", 6 * 3600, [11]), ("d", 86400, [77, 11]),
                                ("w", 7 * 86400, [88, 77, 11]), ("1", 3600, [11])):
            await pilot.press(key)
            await until(pilot, lambda span=span: (plot(app).data or object()).span == span)
            assert [round(y) for y in cpu_line(app)] == seen
        panel = app.screen.query_one(HistoryPanel)
        assert panel.window.key == "1"


async def test_an_open_plot_follows_the_history(seeded: Path) -> None:
    record(seeded, time.time() - 900, "host", "1", {"cpu": 20, "mem": 50, "rvm": 1})
    app = app_for(seeded, run_engine=False)
    async with app.run_test(size=(100, 30)) as pilot:
        hosts = app.query_one(HostsPane)
        await open_plot(pilot, app, hosts, 2)
        assert cpu_line(app) == [20]
        record(seeded, time.time(), "host", "1", {"cpu": 90, "mem": 50, "rvm": 1})
        await until(pilot, lambda: cpu_line(app)[-1:] == [90])
        assert cpu_line(app)[0] == 20
        # an event on the host comes with the next point: marked, the earlier ones kept
        with Store(seeded) as store:
            store.events.add("host", 1, "host ursa03: err (a new one)", level="error")
        record(seeded, time.time() + 1, "host", "1", {"cpu": 70, "mem": 50, "rvm": 1})
        legend = app.screen.query_one("#history-legend", Static)
        await until(pilot, lambda: "err (a new one)" in str(legend.render()))
        assert cpu_line(app)[0] == 20


async def test_enter_on_a_service_plots_desired_and_running(seeded: Path) -> None:
    with Store(seeded) as store:
        store.services.add("web", store.templates.get("xen.local01").id, None, 1, 4, {})
        store.services.scale(1, 3, why="load")
    record(seeded, time.time() - 300, "service", "1", {"desired": 3, "running": 1, "rps": 40})
    app = app_for(seeded, run_engine=False)
    async with app.run_test(size=(80, 24)) as pilot:
        services = app.query_one(ServicesPane)
        await open_plot(pilot, app, services, 1)
        data = plot(app).data
        assert data is not None
        drawn = {s.name: [y for y in ys if y is not None] for s, ys in data.lines.items()}
        assert drawn == {"desired": [3], "running": [1], "rps": [40]}
        assert "SERVICE 1 INFORMATION" in str(app.screen.query_one("#detail-body",
                                                                   Static).render())
        legend = str(app.screen.query_one("#history-legend", Static).render())
        assert "desired size 1 → 3" in legend  # the scale step, marked


async def test_the_sge_pane_title_shows_running_and_pending_jobs(seeded: Path) -> None:
    now = time.time()
    for minutes in (20, 10, 0):
        record(seeded, now - 60 * minutes, "grid", "grid", {
            "running": 4, "pending": 20 - minutes, "oldest_pending_s": 60})
    app = app_for(seeded, run_engine=False)
    async with app.run_test(size=(120, 40)) as pilot:
        queues = app.query_one(QueuesPane)
        await until(pilot, lambda: "pend" in str(queues.border_title))
        title = str(queues.border_title)
        assert "run" in title and BLOCKS[-1] in title  # 20 pending: the top of the scale


def drawn_colours(app) -> set[tuple[int, int, int]]:  # type: ignore[no-untyped-def]
    """The colours the plot's characters are drawn in."""
    text = plot(app).render()
    assert isinstance(text, Text)
    return {tuple(span.style.color.get_truecolor()) for span in text.spans  # type: ignore
            if not isinstance(span.style, str) and span.style.color is not None}


async def test_the_plot_takes_the_theme_colours(seeded: Path) -> None:
    record(seeded, time.time() - 600, "host", "1", {"cpu": 30, "mem": 60, "rvm": 1})
    record(seeded, time.time() - 60, "host", "1", {"cpu": 40, "mem": 60, "rvm": 1})
    app = app_for(seeded, run_engine=False)
    async with app.run_test(size=(100, 30)) as pilot:
        hosts = app.query_one(HostsPane)
        await open_plot(pilot, app, hosts, 2)
        for theme in ("nord", "gruvbox"):
            app.theme = theme
            primary = Color.parse(app.get_theme(theme).primary).rgb  # type: ignore[union-attr]
            await until(pilot, lambda primary=primary: primary in drawn_colours(app))
