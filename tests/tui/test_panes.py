"""The panes' habits under Textual's test harness, on a real store (no engine: rows are
written here and the console's poll shows them): columns chosen for a small terminal,
`z` zoom, `<` `>` `I` sorting, the inline `/` filter, Escape, Enter on an event, and panes
and details that keep refreshing under a dialog."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Static

from onetui.integrations.sge.grid import Grid, Job, QueueInstance
from onetui.ops import instantiate
from onetui.store import Store
from onetui.tui.panes import (
    EventsPane,
    FilterBar,
    HostsPane,
    QueuesPane,
    ServicesPane,
    VmsPane,
)
from onetui.tui.screens.dialogs import Confirm, Detail
from onetui.view.rows import vm_row
from tests.tui.test_console import app_for, until


def held(path: Path, count: int, name: str = "web-%i") -> list[int]:
    with Store(path) as store:
        return instantiate.create(store, "xen.local01", count=count, name=name, hold=True)


def ids_on_screen(pane: VmsPane) -> list[int]:
    return [int(str(pane.get_row_at(i)[0])) for i in range(pane.row_count)]


@contextlib.asynccontextmanager
async def vm_pane(seeded: Path, count: int, size: tuple[int, int]
                  ) -> AsyncIterator[tuple[list[int], VmsPane, Pilot]]:
    """`count` held VMs (vm1, vm2, …) on a console of `size`, once all are in its VM pane."""
    ids = held(seeded, count, "vm%i")
    app = app_for(seeded, run_engine=False)
    async with app.run_test(size=size) as pilot:
        vms = app.query_one(VmsPane)
        await until(pilot, lambda: vms.row_count == count)
        yield ids, vms, pilot


async def test_small_terminals_show_what_matters_and_count_the_rest(seeded: Path) -> None:
    held(seeded, 2)
    with Store(seeded) as store:
        store.services.add("web", store.templates.get("xen.local01").id, None, 1, 3, {})
    app = app_for(seeded, run_engine=False)
    async with app.run_test(size=(80, 24)) as pilot:
        hosts, vms = app.query_one(HostsPane), app.query_one(VmsPane)
        await until(pilot, lambda: hosts.row_count == 2 and vms.row_count == 2)
        assert hosts.shown[:3] == ("HID", "NAME", "STAT")  # STAT no longer cut off
        assert "DRIVER" not in hosts.shown
        assert f"+{len(hosts.priority) - len(hosts.shown)} cols: z" in str(hosts.border_subtitle)
        await pilot.resize_terminal(60, 20)
        services = app.query_one(ServicesPane)
        await until(pilot, lambda: services.size.width < 30)
        # the row is in the table and the pane is tall enough to show it under its header
        assert services.row_count == 1 and services.size.height >= 2
        assert services.shown[:2] == ("ID", "NAME")


async def test_z_zooms_the_focused_pane_and_z_or_escape_restores_it(seeded: Path) -> None:
    async with vm_pane(seeded, 2, (80, 24)) as (_, vms, pilot):
        app = pilot.app
        vms.focus()
        assert "TIME" not in vms.shown
        await pilot.press("z")
        await until(pilot, lambda: vms.size.width > 70)
        assert app.screen.maximized is vms
        assert vms.shown == ("ID", "NAME", "STAT", "CPU", "MEM", "HOSTNAME", "TIME")
        assert not app.query_one(HostsPane).region  # the other panes are not on screen
        await pilot.press("z")
        await until(pilot, lambda: vms.size.width < 40)
        assert app.screen.maximized is None and "TIME" not in vms.shown
        await pilot.press("z")
        await until(pilot, lambda: app.screen.maximized is vms)
        await pilot.press("escape")
        await until(pilot, lambda: app.screen.maximized is None)


async def test_sort_by_a_column_numbers_as_numbers_and_inverted(seeded: Path) -> None:
    ids = held(seeded, 11, "vm%i")  # web-10 before web-2 as text; 10 after 2 as numbers
    app = app_for(seeded, run_engine=False)
    async with app.run_test(size=(140, 42)) as pilot:
        vms = app.query_one(VmsPane)
        await until(pilot, lambda: vms.row_count == 11)
        vms.focus()
        assert ids_on_screen(vms) == ids
        await pilot.press("I")  # the id column, inverted: as numbers
        await pilot.pause()
        assert ids_on_screen(vms) == ids[::-1]
        assert str(vms.columns["ID"].label) == "ID ▼"
        await pilot.press("greater_than_sign")  # NAME, ascending: as text
        await pilot.pause()
        names = [str(vms.get_row_at(i)[1]) for i in range(vms.row_count)]
        assert names == sorted(f"vm{i}" for i in range(11)) and names[2] == "vm10"
        assert str(vms.columns["NAME"].label) == "NAME ▲"
        vms.move_cursor(row=names.index("vm7"))
        (late,) = held(seeded, 1, "vm05")  # a new row goes to its place, the cursor stays
        await until(pilot, lambda: vms.row_count == 12)
        names = [str(vms.get_row_at(i)[1]) for i in range(vms.row_count)]
        assert names.index("vm05") == names.index("vm0") + 1
        assert vms.selected_id() == ids[7] and late in vms.rows_by_id
        await pilot.press("less_than_sign", "less_than_sign")  # back past ID to the last
        await pilot.pause()
        assert vms.sort_by == ("TIME", False)


@pytest.mark.slow
async def test_the_filter_line_narrows_as_you_type_enter_keeps_escape_clears(
        seeded: Path) -> None:
    held(seeded, 3)
    held(seeded, 1, "db-0")
    app = app_for(seeded, run_engine=False)
    async with app.run_test(size=(100, 30)) as pilot:
        vms = app.query_one(VmsPane)
        await until(pilot, lambda: vms.row_count == 4)
        vms.focus()
        await pilot.press("slash")
        bar = app.query_one(FilterBar)
        assert app.screen is bar.screen and isinstance(app.focused, Input)  # inline
        await pilot.press(*"web-")
        await until(pilot, lambda: vms.row_count == 3)  # narrowed before Enter
        await pilot.press(*"[12]")
        await until(pilot, lambda: vms.row_count == 2)
        await pilot.press("enter")
        await until(pilot, lambda: app.focused is vms)
        assert not bar.display and vms.row_count == 2 and "/web-[12]" in vms.border_subtitle
        await pilot.press("slash")  # again: the kept filter is there to edit
        assert app.query_one("#filter-input", Input).value == "web-[12]"
        app.query_one("#filter-input", Input).value = "!web"
        await until(pilot, lambda: vms.row_count == 1)
        assert str(vms.get_row_at(0)[1]) == "db-0"
        app.query_one("#filter-input", Input).value = "(("
        await pilot.pause()
        assert vms.row_count == 1  # a bad expression changes nothing and says why
        assert "missing )" in str(app.query_one("#filter-problem").render())
        await pilot.press("escape")  # clears
        await until(pilot, lambda: vms.row_count == 4 and app.focused is vms)
        assert "/" not in vms.border_subtitle
        await pilot.press("slash", *"db", "enter")
        await until(pilot, lambda: vms.row_count == 1 and app.focused is vms)
        await pilot.press("escape")  # Escape on the pane clears its kept filter too
        await until(pilot, lambda: vms.row_count == 4)


async def test_escape_closes_the_help_panel(seeded: Path) -> None:
    app = app_for(seeded, run_engine=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("question_mark")
        await until(pilot, lambda: bool(app.screen.query("HelpPanel")))
        await pilot.press("escape")
        await until(pilot, lambda: not app.screen.query("HelpPanel"))


async def test_enter_on_an_event_opens_it_in_full(seeded: Path) -> None:
    message = "placement refused: " + "no host has room; " * 12 + "the end"
    with Store(seeded) as store:
        for i in range(12):  # ids past 10: newest first as numbers, not as text
            store.events.add("host", 1, f"step {i}")
        store.events.add("vm", 42, message, level="warning")
    app = app_for(seeded, run_engine=False)
    async with app.run_test(size=(80, 24)) as pilot:
        events = app.query_one(EventsPane)
        await until(pilot, lambda: any(r[2] == message for r in events.rows_by_id.values()))
        on_screen = [events.key_at(i) for i in range(events.row_count)]
        assert on_screen == [str(i) for i in sorted(events.rows_by_id, reverse=True)]
        events.focus()
        events.move_cursor(row=0)  # the newest: the long one
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, Detail))
        body = str(app.screen.query_one("#detail-body", Static).render())
        assert "the end" in body.replace("\n", " ") and "vm 42" in body
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, Detail))


async def test_panes_refresh_under_a_dialog(seeded: Path) -> None:
    (first,) = held(seeded, 1)
    app = app_for(seeded, run_engine=False)
    async with app.run_test(size=(120, 40)) as pilot:
        vms = app.query_one(VmsPane)
        await until(pilot, lambda: vms.row_count == 1)
        vms.focus()
        await pilot.press("d")  # asks first: a dialog over the panes
        await until(pilot, lambda: isinstance(app.screen, Confirm))
        (second,) = held(seeded, 1, "late")
        await until(pilot, lambda: second in vms.rows_by_id)
        assert isinstance(app.screen, Confirm)  # still open, the pane moved on beneath it
        await pilot.press("n")
        assert first in vms.rows_by_id


async def test_a_vm_detail_follows_the_store_while_open(seeded: Path) -> None:
    (vid,) = held(seeded, 1)
    app = app_for(seeded, run_engine=False)
    async with app.run_test(size=(120, 40)) as pilot:
        vms = app.query_one(VmsPane)
        await until(pilot, lambda: vms.row_count == 1)
        vms.focus()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, Detail))
        detail = app.screen
        assert "10.9.8.7" not in detail.body
        with Store(seeded) as store:
            store.vms.update(vid, ip="10.9.8.7")
        await until(pilot, lambda: "10.9.8.7" in str(
            detail.query_one("#detail-body", Static).render()))
        assert app.screen is detail


# -- long tables: rows put, moved and dropped in place -------------------------------------

LONG = 150  # more rows than a 100x30 screen shows


def vm_cells(path: Path, vm_id: int) -> tuple[str, ...]:
    with Store(path) as store:
        return vm_row(store.vms.get(vm_id))


async def test_changes_that_come_while_a_long_table_is_drawn_land_in_place(
        seeded: Path) -> None:
    ids = held(seeded, LONG, "vm%i")
    (late,) = held(seeded, 1, "late")
    app = app_for(seeded, run_engine=False)
    async with app.run_test(size=(100, 30)) as pilot:
        vms = app.query_one(VmsPane)
        await until(pilot, lambda: vms.row_count == LONG + 1)
        assert ids_on_screen(vms) == [*ids, late]
        rows = {i: r for i, r in vms.rows_by_id.items() if i != late}
        vms.apply(rows, full=True)  # a full reload: every row at once, none drawn yet
        assert ids_on_screen(vms) == ids
        # a row on screen and a row far below it change, one of each goes, a new one
        # arrives
        released = {i: (*rows[i][:2], "pend", *rows[i][3:]) for i in (ids[0], ids[-1])}
        vms.apply({**released, ids[1]: None, ids[-2]: None, late: vm_cells(seeded, late)})
        assert ids_on_screen(vms) == [ids[0], *ids[2:-2], ids[-1], late]
        assert str(vms.get_row(str(ids[0]))[2]) == str(vms.get_row(str(ids[-1]))[2]) == "pend"




async def test_the_selected_row_stays_selected_when_a_long_table_is_drawn_again(
        seeded: Path) -> None:
    async with vm_pane(seeded, LONG, (100, 30)) as (ids, vms, pilot):
        vms.move_cursor(row=ids.index(ids[140]))
        assert vms.selected_id() == ids[140]
        vms.apply(dict(vms.rows_by_id), full=True)  # every row put again
        assert vms.selected_id() == ids[140] and vms.row_count == LONG
        # sorted by name, the selected VM renamed to come first: it goes first, selected
        vms.sort_by = ("NAME", False)
        vms.rebuild(columns=True)
        renamed = vms.rows_by_id[ids[140]]
        vms.apply({ids[140]: (renamed[0], "a-first", *renamed[2:])})
        assert vms.key_at(0) == str(ids[140]) and vms.selected_id() == ids[140]
        await pilot.pause()
        assert round(vms.scroll_y) == 0  # the cursor's row is on screen


async def test_vms_gone_in_one_poll_leave_the_others_in_order(seeded: Path) -> None:
    ids = held(seeded, 12, "vm%i")
    app = app_for(seeded, run_engine=False)
    async with app.run_test(size=(100, 30)) as pilot:
        vms = app.query_one(VmsPane)
        await until(pilot, lambda: vms.row_count == 12)
        with Store(seeded) as store:
            for vm_id in ids[3:8]:
                store.vms.transition(vm_id, "done")
        await until(pilot, lambda: vms.row_count == 7)
        assert ids_on_screen(vms) == ids[:3] + ids[8:]
        vms.move_cursor(row=6)
        assert vms.selected_id() == ids[-1]


async def test_a_long_name_that_arrives_later_widens_its_column(seeded: Path) -> None:
    held(seeded, 2, "vm%i")
    app = app_for(seeded, run_engine=False)
    async with app.run_test(size=(140, 42)) as pilot:
        vms = app.query_one(VmsPane)
        await until(pilot, lambda: vms.row_count == 2)
        name = "a-rather-long-vm-name-for-the-column"
        held(seeded, 1, name)
        await until(pilot, lambda: vms.row_count == 3)
        await pilot.pause()
        assert vms.columns["NAME"].content_width >= len(name)
        assert name in "".join(str(s.text) for s in vms.render_lines(vms.region.reset_offset))


# -- what a row draws, and where a click lands ----------------------------------------------


def screen_lines(pane: EventsPane | VmsPane | QueuesPane) -> list[str]:
    return [pane.render_line(y).text for y in range(pane.scrollable_content_region.height)]


async def test_a_multi_line_event_shows_its_first_line_and_sends_no_control_to_the_terminal(
        seeded: Path) -> None:
    with Store(seeded) as store:
        store.events.add("host", 1, "libvirt: internal error\nqemu said: boom\tx\x1b[2J",
                         level="error")
        store.events.add("host", 1, "tab\there, escape \x1b[31mred")
    app = app_for(seeded, run_engine=False)
    async with app.run_test(size=(120, 30)) as pilot:
        events = app.query_one(EventsPane)
        await until(pilot, lambda: len(events.rows_by_id) >= 2)
        await pilot.pause()
        lines = screen_lines(events)
        assert any("libvirt: internal error" in line for line in lines)
        assert any("tab here, escape  [31mred" in line for line in lines)
        assert not any("qemu said" in line for line in lines)
        assert not any(c in line for line in lines for c in "\n\t\x1b")
        width = events.scrollable_content_region.width
        assert {len(line) for line in lines} == {width}  # every line as wide as the pane


async def test_a_job_in_two_queue_instances_shows_in_each_with_its_own_cells(
        seeded: Path) -> None:
    def queue(name: str, job: Job) -> QueueInstance:
        return QueueInstance(name, "BIP", 0, job.slots, 8, 0.5, "lx-amd64", "", [job])

    grid = Grid([queue("all.q@a", Job(42, 0.5, "mpi", "ada", "r", "2026-01-01T10:00:00", 1,
                                      "1")),
                 queue("all.q@b", Job(42, 0.5, "mpi", "ada", "r", "2026-01-01T10:05:00", 4,
                                      "2"))], [])
    app = app_for(seeded, run_engine=False)
    async with app.run_test(size=(120, 40)) as pilot:
        queues = app.query_one(QueuesPane)
        await pilot.pause()
        queues.show(grid, None, "", True)
        jobs = [i for i in range(queues.row_count) if "mpi" in str(queues.get_row_at(i)[0])]
        assert jobs == [1, 3]  # each under its queue instance
        slots = [str(queues.values[key][-1]) for key in queues.order if "42" in key]
        assert slots == ["1", "4"]
        queues.move_cursor(row=3)  # the second copy of job 42
        chosen = queues.selected_key()
        queues.show(grid, None, "", True)  # the next poll, the same grid
        assert queues.cursor_row == 3 and queues.selected_key() == chosen


async def test_a_click_under_the_last_row_chooses_no_row(seeded: Path) -> None:
    async with vm_pane(seeded, 3, (100, 40)) as (_, vms, pilot):
        top = vms.scrollable_content_region.y - vms.region.y
        await pilot.click(VmsPane, offset=(4, top + 1 + 1))  # the second row
        assert vms.cursor_row == 1
        await pilot.click(VmsPane, offset=(4, top + 1 + 6))  # blank, under the rows
        assert vms.cursor_row == 1 and vms.selected_id() is not None


async def test_a_list_scrolled_with_the_wheel_stays_where_it_was_when_rows_go(
        seeded: Path) -> None:
    async with vm_pane(seeded, LONG, (100, 30)) as (ids, vms, pilot):
        vms.scroll_to(y=60, animate=False, immediate=True)  # the cursor stays on row 0
        await pilot.pause()
        vms.apply({ids[-1]: None})  # a VM far below goes
        await pilot.pause()
        assert round(vms.scroll_y) == 60 and vms.cursor_row == 0


async def test_the_cursor_stays_in_sight_when_a_wide_name_brings_a_scrollbar(
        seeded: Path) -> None:
    """A VM renamed long enough widens NAME past the pane: a horizontal scrollbar takes
    the pane's last line (no resize tells of it); the row under the cursor, on that line
    before, is scrolled up into sight."""
    async with vm_pane(seeded, 30, (80, 24)) as (ids, vms, pilot):
        vms.focus()
        rows = vms.scrollable_content_region.height - 1
        vms.move_cursor(row=rows - 1)  # the bottom line
        assert round(vms.scroll_y) == 0 and not vms.show_horizontal_scrollbar
        renamed = vms.rows_by_id[ids[0]]
        vms.apply({ids[0]: (renamed[0], "x" * 120, *renamed[2:])})
        await until(pilot, lambda: vms.show_horizontal_scrollbar)
        await pilot.pause()
        shown = vms.scrollable_content_region.height - 1
        assert round(vms.scroll_y) <= vms.cursor_row < round(vms.scroll_y) + shown
