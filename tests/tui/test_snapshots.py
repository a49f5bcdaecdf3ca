"""What the admin sees, pinned as snapshots (pytest-textual-snapshot): at 120x40 the
dashboard, a VM's and a host's detail screens (the host's with a plot of fixed history)
and the instantiate form; at 80x24 the dashboard and the
Labs screen (the columns that matter first, the rest counted in the border). Seeded data
with fixed times (created in the future, so TIME shows 00 00:00:00) keeps them stable; the
store lives under the test's tmp_path, made the home folder, so the status line shows the
same `~/onetui-snapshot-state/onetui.db` in every run.
The status line names the user as `ada (admin)` (`console`).
Update on purpose with: pytest tests/tui/test_snapshots.py --snapshot-update"""

from __future__ import annotations

from pathlib import Path

import pytest

from onetui.data import TEMPLATES
from onetui.ops import instantiate, labs
from onetui.store import Store
from onetui.tui.app import OnetuiApp
from onetui.tui.panes import QueuesPane, StatusLine, VmsPane
from onetui.tui.plots import HistoryPlot
from onetui.tui.screens.labs import SeatsPane
from onetui.tui.table import Table
from onetui.view import trends

WHEN = 4_000_000_000.0  # far ahead: every age reads 0, every stamp is the same


@pytest.fixture
def snapshot_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> OnetuiApp:
    return console(seed(tmp_path, monkeypatch))


def console(path: Path) -> OnetuiApp:
    """The console on the seeded store, its status line naming the same user (`ada`) in
    every run, whoever runs the tests."""
    app = OnetuiApp(path, cfg={}, run_engine=False)
    app.user = "ada"
    return app


def seed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lab: bool = False) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path))  # the status line shows the store as ~/…
    # "live" stays "live": on a loaded machine a poll can come later than the seconds
    # after which the line would say "refreshed 4s ago"
    monkeypatch.setattr(StatusLine, "STALE_AFTER", 3600.0)
    state_dir = tmp_path / "onetui-snapshot-state"
    with Store.open(state_dir) as store:
        for name in ("ursa03", "ursa04"):
            store.hosts.add(name, "libvirt", {"uri": "test:///default"})
        store.hosts.set_monitor(1, "on", {"TCPU": 800, "FCPU": 300, "ACPU": 550,
                                          "TMEM": 16384, "FMEM": 15800, "RVM": 3})
        store.hosts.set_monitor(2, "on", {"TCPU": 400, "FCPU": 400, "ACPU": 400,
                                          "TMEM": 8192, "FMEM": 8192, "RVM": 0})
        store.templates.add("xen.local01", (TEMPLATES / "xen.local01").read_text())
        ids = instantiate.create(store, "xen.local01", count=4, name="local%02i")
        for vm_id, state in zip(ids, ("runn", "runn", "pend", "fail"), strict=True):
            store.vms.transition(vm_id, state, host_id=1 if state == "runn" else None,
                                 message="libvirt: no such file" if state == "fail" else "")
        if lab:  # three seats, not yet deployed (no engine): masked passwords, not ready
            store.networks.add("labnet", "127.0.4.10", "127.0.4.30")
            labs.create(store, labs.LabSpec("os1", "xen.local01", 3, "labnet"), {})
        store.db.conn.execute("UPDATE vms SET created_at = ?, state_at = ?, started_at = ?",
                              (WHEN, WHEN, WHEN))
        store.db.conn.execute("UPDATE vms SET info = '{\"cpu_usage\": 12, \"mem_usage\": 128}'"
                              " WHERE state = 'runn'")
        store.db.conn.execute("UPDATE events SET at = ?", (WHEN,))
        store.db.conn.execute("UPDATE hosts SET monitored_at = ?, created_at = ?",
                              (WHEN, WHEN))
    return state_dir / "onetui.db"


def _measured(app: OnetuiApp) -> bool:
    """The first poll is on screen in every table, the SGE pane's with the API's answer
    (no [sge])."""
    return app.query_one(VmsPane).row_count == 4 and all(
        table.virtual_size.height == table.row_count + 1 for table in app.query(Table)) \
        and app.query_one(QueuesPane).note == "not configured"  # the API's answer is in


async def _settle(pilot) -> None:  # type: ignore[no-untyped-def]
    for _ in range(200):
        await pilot.pause(0.05)
        if _measured(pilot.app):
            break
    await pilot.pause(0.3)


def test_dashboard(snap_compare, snapshot_app: OnetuiApp) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(snapshot_app, terminal_size=(120, 40), run_before=_settle)


def test_dashboard_80x24(snap_compare, snapshot_app: OnetuiApp) -> None:  # type: ignore[no-untyped-def]
    """Hosts with STAT, VMs with HOSTNAME, every pane with rows; hidden columns counted."""
    assert snap_compare(snapshot_app, terminal_size=(80, 24), run_before=_settle)


def test_labs_80x24(snap_compare, tmp_path: Path,  # type: ignore[no-untyped-def]
                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The seats with SEAT, USER, PASSWORD (masked), READY and STATE."""
    app = console(seed(tmp_path, monkeypatch, lab=True))

    async def open_labs(pilot) -> None:  # type: ignore[no-untyped-def]
        await pilot.press("L")
        for _ in range(200):
            await pilot.pause(0.05)
            seats = pilot.app.screen.query(SeatsPane)
            if seats and seats.first().row_count == 3 and all(
                    t.virtual_size.height == t.row_count + 1
                    for t in pilot.app.screen.query(Table)):
                break
        await pilot.pause(0.3)
    assert snap_compare(app, terminal_size=(80, 24), run_before=open_labs)


async def _plotted(pilot) -> None:  # type: ignore[no-untyped-def]
    """The detail's plot was read (a worker) and drawn."""
    for _ in range(100):
        await pilot.pause(0.05)
        plots = pilot.app.screen.query(HistoryPlot)
        if plots and plots.first().data is not None:
            break
    await pilot.pause(0.5)


@pytest.mark.slow
def test_vm_detail(snap_compare, snapshot_app: OnetuiApp) -> None:  # type: ignore[no-untyped-def]
    """A pending VM: no history yet, so no plot, only the line that says so."""
    async def open_detail(pilot) -> None:  # type: ignore[no-untyped-def]
        await _settle(pilot)
        pilot.app.query_one("VmsPane").focus()
        await pilot.press("down", "down", "enter")
        await _plotted(pilot)
    assert snap_compare(snapshot_app, terminal_size=(120, 40), run_before=open_detail)


def test_host_detail_plot(snap_compare, tmp_path: Path,  # type: ignore[no-untyped-def]
                          monkeypatch: pytest.MonkeyPatch) -> None:
    """ursa03's last hour: CPU and memory climbing, its VMs on the right-hand axis, and
    the host going `err` half an hour ago marked (fixed points; the window ends at WHEN)."""
    path = seed(tmp_path, monkeypatch)
    monkeypatch.setattr(trends, "now", lambda: WHEN)
    with Store(path) as store:
        with store.db.transaction() as cur:
            for minute in range(60):
                store.history.record(cur, WHEN - 3600 + 60 * minute, [("host", "1", {
                    "cpu": 20 + minute if minute < 30 else 80 - minute / 2,
                    "mem": 40 + minute / 3, "rvm": minute // 15})])
        store.events.add("host", 1, "host ursa03: err (libvirt: connection refused)",
                         level="error")
        store.db.conn.execute("UPDATE events SET at = ? WHERE level = 'error'",
                              (WHEN - 1800,))
    app = console(path)

    async def open_detail(pilot) -> None:  # type: ignore[no-untyped-def]
        await _settle(pilot)
        pilot.app.query_one("HostsPane").focus()
        await pilot.press("enter")
        await _plotted(pilot)
    assert snap_compare(app, terminal_size=(120, 40), run_before=open_detail)


@pytest.mark.slow
def test_instantiate_form(snap_compare, snapshot_app: OnetuiApp) -> None:  # type: ignore[no-untyped-def]
    async def open_form(pilot) -> None:  # type: ignore[no-untyped-def]
        await _settle(pilot)
        await pilot.press("c")
        for _ in range(60):  # the templates are read in a worker: the form comes after
            await pilot.pause(0.05)
            if pilot.app.screen.query("#count"):
                break
        await pilot.pause(0.3)
        form = pilot.app.screen
        form.query_one("#template").value = "xen.local01"
        form.query_one("#count").value = "0"
        await pilot.pause(0.3)
    assert snap_compare(snapshot_app, terminal_size=(120, 40), run_before=open_form)
