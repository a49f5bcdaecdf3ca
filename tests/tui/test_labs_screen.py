"""The Labs screen under Textual's test harness: a lab made from the form, its seats live
(test driver underneath), passwords masked until revealed, copy, reset, hand-outs, SSH
(which cannot hand over the terminal here, and says what to run), destroy."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from textual.widgets import Input, Label, Select

from onetui.ops import labs
from onetui.store import Store
from onetui.tui.app import OnetuiApp
from onetui.tui.screens.dialogs import Confirm, Prompt
from onetui.tui.screens.labs import LabForm, LabsPane, LabsScreen, SeatsPane, check_lab_form
from onetui.view.live import MASK
from tests.engine.test_engine import node
from tests.ops.test_labs import MASTER
from tests.tui.test_console import until


@pytest.fixture
def lab_store(state_dir: Path, tmp_path: Path) -> Path:
    with Store.open(state_dir) as store:
        store.hosts.add("ursa03", "libvirt", {"uri": node(tmp_path, "ursa03", 8, 8)})
        store.networks.add("labnet", "127.0.4.10", "127.0.4.30")
        store.templates.add("master", MASTER)
        return store.path


def seat_cell(app: OnetuiApp, seat: int, column: int) -> str:
    return app.screen.query_one(SeatsPane).rows_by_id[seat][column]


def on(app: OnetuiApp, screen: type, widget: str) -> bool:
    """The screen is on top and composed (a pushed screen mounts its widgets a moment
    later)."""
    return isinstance(app.screen, screen) and bool(app.screen.query(widget))


def notes(app: OnetuiApp) -> str:
    return "\n".join(n.message for n in app._notifications)


@pytest.mark.slow
async def test_a_lab_from_the_form_with_live_seats_and_masked_passwords(lab_store: Path,
                                                                        tmp_path: Path) -> None:
    app = OnetuiApp(lab_store, cfg={}, engine_interval=0.1)
    async with app.run_test(size=(150, 44)) as pilot:
        await pilot.press("L")
        await until(pilot, lambda: on(app, LabsScreen, "#seats"))
        await pilot.press("n")
        await until(pilot, lambda: on(app, LabForm, "#template"))
        form = app.screen
        form.query_one("#template", Select).value = "master"
        form.query_one("#name", Input).value = "os1"
        form.query_one("#seats", Input).value = "3"
        await pilot.pause()
        await pilot.press("ctrl+s")
        await until(pilot, lambda: on(app, LabsScreen, "#seats"))
        screen = app.screen
        await until(pilot, lambda: len(screen.query_one(SeatsPane).rows_by_id) == 3)
        assert screen.query_one(LabsPane).rows_by_id[1][1] == "os1"
        # seats follow their VMs live: deployed by the console's engine, then waiting for SSH
        await until(pilot, lambda: seat_cell(app, 1, 2) == "runn", tries=200)
        await until(pilot, lambda: seat_cell(app, 3, 7) == "waiting for ssh", tries=200)
        assert [seat_cell(app, n, 3) for n in (1, 2, 3)] == ["127.0.4.10", "127.0.4.11",
                                                              "127.0.4.12"]
        assert seat_cell(app, 2, 4) == "student02"

        with Store(lab_store) as store:
            passwords = {n: store.labs.password(1, n) for n in (1, 2, 3)}
        assert {seat_cell(app, n, 5) for n in (1, 2, 3)} == {MASK}
        seats = screen.query_one(SeatsPane)
        seats.focus()
        seats.move_cursor(row=1)
        await pilot.press("r")
        await until(pilot, lambda: seat_cell(app, 2, 5) == passwords[2])
        assert seat_cell(app, 1, 5) == MASK
        await pilot.press("R")
        await until(pilot, lambda: seat_cell(app, 3, 5) == passwords[3])
        await pilot.press("R")
        await until(pilot, lambda: seat_cell(app, 3, 5) == MASK)

        await pilot.press("y")
        await until(pilot, lambda: "copied the login of seat 2 (student02)" in notes(app))
        assert app.clipboard == f"ssh student02@127.0.4.11\npassword: {passwords[2]}\n"

        await pilot.press("s")
        await until(pilot, lambda: "cannot hand over the terminal here" in notes(app))
        assert "student02@127.0.4.11" in notes(app) and "StrictHostKeyChecking=yes" in notes(app)

        out = tmp_path / "slips.md"
        await pilot.press("o")
        await until(pilot, lambda: on(app, Prompt, "Input"))
        app.screen.query_one(Input).value = str(out)
        await pilot.press("enter")
        await until(pilot, lambda: out.exists() and "wrote 3 slip(s)" in notes(app))
        assert os.stat(out).st_mode & 0o777 == 0o600
        assert passwords[1] in out.read_text() and "## Lab os1, seat 03" in out.read_text()

        await pilot.press("p")
        await until(pilot, lambda: on(app, Confirm, "#yes"))
        await pilot.press("y")
        await until(pilot, lambda: "new password for student02" in notes(app))
        with Store(lab_store) as store:
            assert store.labs.password(1, 2) != passwords[2]
        assert not any(p in notes(app) for p in passwords.values())

        await pilot.press("D")
        await until(pilot, lambda: on(app, Confirm, "#yes"))
        await pilot.press("y")
        await until(pilot, lambda: not screen.query_one(LabsPane).rows_by_id, tries=200)
        assert not screen.query_one(SeatsPane).rows_by_id
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, LabsScreen))


async def test_the_form_stays_open_with_what_create_refused(lab_store: Path) -> None:
    """`lab create`'s refusals (too few addresses, a name taken) show under the form or
    the field, in red; everything typed stays; the form closes once the lab was made."""
    with Store(lab_store) as store:  # no engine: the host is monitored by hand
        store.hosts.set_monitor(1, "on", {"TCPU": 800, "FCPU": 800, "ACPU": 800,
                                          "TMEM": 8192, "FMEM": 8192, "RVM": 0})
        labs.create(store, labs.LabSpec("os0", "master", 1), {})
    app = OnetuiApp(lab_store, cfg={}, run_engine=False)
    async with app.run_test(size=(150, 44)) as pilot:
        await pilot.press("L")
        await until(pilot, lambda: on(app, LabsScreen, "#seats"))
        await pilot.press("n")
        await until(pilot, lambda: on(app, LabForm, "#template"))
        form = app.screen
        # empty fields read as examples, not as values
        for field in ("name", "expires"):
            field_input = form.query_one(f"#{field}", Input)
            assert field_input.value == "" and field_input.placeholder.startswith("e.g. ")
        form.query_one("#template", Select).value = "master"
        form.query_one("#name", Input).value = "big"
        form.query_one("#seats", Input).value = "25"
        await pilot.pause()
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "need 25 address(es)" in error(form, "form"))
        assert app.screen is form and form.query_one("#seats", Input).value == "25"

        form.query_one("#name", Input).value = "os0"
        form.query_one("#seats", Input).value = "3"
        await pilot.pause()
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "exists already" in error(form, "name"))
        assert app.screen is form
        with Store(lab_store) as store:
            assert [lab.name for lab in store.labs.list()] == ["os0"]

        form.query_one("#name", Input).value = "os1"
        await pilot.pause()
        await pilot.press("ctrl+s")
        await until(pilot, lambda: on(app, LabsScreen, "#seats"))
        with Store(lab_store) as store:
            assert sorted(lab.name for lab in store.labs.list()) == ["os0", "os1"]


def error(form: LabForm, field: str) -> str:
    return str(form.query_one(f"#{field}-error", Label).render())


@pytest.mark.slow
async def test_a_lab_action_that_fails_says_why_on_screen(lab_store: Path) -> None:
    """The lab is removed by another connection while the screen still shows it: the
    actions fail for real in their workers, and the app's one worker-error handler puts
    each failure on screen, in red (before, `y` failed without a word)."""
    with Store(lab_store) as store:  # no engine: the host is monitored by hand
        store.hosts.set_monitor(1, "on", {"TCPU": 800, "FCPU": 800, "ACPU": 800,
                                          "TMEM": 8192, "FMEM": 8192, "RVM": 0})
        labs.create(store, labs.LabSpec("os1", "master", 2), {})
    app = OnetuiApp(lab_store, cfg={}, run_engine=False)
    async with app.run_test(size=(150, 44)) as pilot:
        await pilot.press("L")
        await until(pilot, lambda: on(app, LabsScreen, "#seats"))
        screen = app.screen
        await until(pilot, lambda: len(screen.query_one(SeatsPane).rows_by_id) == 2)
        screen.query_one(SeatsPane).focus()

        await pilot.press("p")  # a new password for seat 1: asked first
        await until(pilot, lambda: on(app, Confirm, "#yes"))
        with Store(lab_store) as other:  # gone while the dialog is open (polls go on)
            other.labs.delete(1)
        await pilot.press("y")
        await until(pilot, lambda: "no lab 'os1'" in notes(app))

        # copy the login of the (gone) seat: called at once, before a poll drops the row
        with Store(lab_store) as other:
            os2 = labs.create(other, labs.LabSpec("os2", "master", 2), {}).id
        await until(pilot, lambda: [r[1] for r in screen.query_one(LabsPane).rows_by_id
                                    .values()] == ["os2"]
                    and len(screen.query_one(SeatsPane).rows_by_id) == 2)
        with Store(lab_store) as other:
            other.labs.delete(os2)
        screen.action_copy()
        await until(pilot, lambda: f"no lab {os2}" in notes(app))

        errors = [n.message for n in app._notifications if n.severity == "error"]
        assert any(m.startswith("no lab 'os1'") for m in errors)
        assert any(m.startswith(f"no lab {os2}") for m in errors)
        assert app.clipboard == ""  # nothing was copied


def test_the_form_says_what_is_wrong_next_to_each_field() -> None:
    good = {"name": "os1", "template": "master", "seats": "3", "user": "student%02i",
            "expires": ""}
    assert check_lab_form(good) == {}
    bad = check_lab_form({**good, "name": "a b", "template": "", "seats": "0",
                          "expires": "soon"})
    assert set(bad) == {"name", "template", "seats", "expires"}
    assert "expected a date" in bad["expires"]
    assert "need %i" in check_lab_form({**good, "user": "pupil"})["user"]
    assert "%0Ni" in check_lab_form({**good, "user": "s%99i"})["user"]  # said, not raised


@pytest.mark.slow
async def test_at_80x24_the_seats_keep_the_login_columns_and_escape_steps_back(
        lab_store: Path) -> None:
    with Store(lab_store) as store:  # no engine: the host is monitored by hand
        store.hosts.set_monitor(1, "on", {"TCPU": 800, "FCPU": 800, "ACPU": 800,
                                          "TMEM": 8192, "FMEM": 8192, "RVM": 0})
        labs.create(store, labs.LabSpec("os1", "master", 3), {})
    app = OnetuiApp(lab_store, cfg={}, run_engine=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("L")
        await until(pilot, lambda: on(app, LabsScreen, "#seats"))
        screen = app.screen
        seats = screen.query_one(SeatsPane)
        await until(pilot, lambda: seats.row_count == 3)
        assert {"SEAT", "USER", "PASSWORD", "READY", "STATE"} <= set(seats.shown)
        assert seats.size.width > 70  # the labs list went above: the seats have the width
        seats.focus()
        await pilot.press("slash", "0", "2")
        await until(pilot, lambda: seats.row_count == 1)
        await pilot.press("enter", "escape")  # kept, then cleared from the pane
        await until(pilot, lambda: seats.row_count == 3)
        assert app.screen is screen
        await pilot.press("z")
        await until(pilot, lambda: screen.maximized is seats)
        await pilot.press("escape")  # the zoom first
        await until(pilot, lambda: screen.maximized is None)
        await pilot.press("escape")  # nothing left to undo: back to the dashboard
        await until(pilot, lambda: not isinstance(app.screen, LabsScreen))
