"""The console's keys under Textual's test harness: the command palette (ctrl+p and `:`,
every action listed before anything is typed, k9s's `vm`/`host`/`lab`… view switching),
the one-key safety nets (`s`, `ctrl+d` and `q` ask first), where the focus goes back to,
what Enter on an unconfigured SGE pane says, and confirm dialogs readable at any size.
Real store, engine in its worker where it matters; nothing stands in for a part."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest
from textual.command import CommandList, CommandPalette
from textual.widgets import Label

from onetui import config
from onetui.ops import instantiate
from onetui.store import Store
from onetui.tui.app import QUIT_STOPS_ENGINE, OnetuiApp, held_signals
from onetui.tui.panes import EventsPane, HostsPane, QueuesPane, ServicesPane, VmsPane
from onetui.tui.screens.dashboard import shown_path
from onetui.tui.screens.dialogs import Confirm
from onetui.tui.screens.labs import LabsScreen
from tests.tui.test_console import app_for, until


def notes(app: OnetuiApp) -> str:
    return "\n".join(n.message for n in app._notifications)


def palette_options(app: OnetuiApp) -> list[str]:
    options = app.screen.query_one(CommandList)
    return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]


def running_vm(path: Path, name: str = "web-0") -> int:
    """A VM the store says runs (no engine needed to press keys on it)."""
    with Store(path) as store:
        (vid,) = instantiate.create(store, "xen.local01", name=name)
        store.vms.transition(vid, "runn", host_id=1)
        return vid


def intent_of(path: Path, vm_id: int) -> str:
    with Store(path) as store:
        return store.vms.get(vm_id).intent


def key_line(app: OnetuiApp) -> list[str]:
    """The descriptions the footer's key line shows, left to right."""
    return [key.description for key in app.screen.query("FooterKey")]  # type: ignore[attr-defined]


# -- the key line --------------------------------------------------------------------------

async def test_key_line_shows_the_vm_keys_at_start_and_follows_the_focused_pane(
        seeded: Path) -> None:
    app = app_for(seeded, run_engine=False)
    async with app.run_test(size=(160, 50)) as pilot:
        # the VM pane has the keys from the first frame: its actions are on the line
        await until(pilot, lambda: "Shutdown" in key_line(app))
        assert isinstance(app.focused, VmsPane)
        assert "Enable/disable" not in key_line(app)
        app.query_one(HostsPane).focus()
        await until(pilot, lambda: "Enable/disable" in key_line(app))
        assert "Shutdown" not in key_line(app)
        app.query_one(VmsPane).focus()
        await until(pilot, lambda: "Shutdown" in key_line(app)
                    and "Enable/disable" not in key_line(app))
        assert key_line(app).count("Quit") == 1  # one build of the line, not two stacked


# -- the palette ---------------------------------------------------------------------------

async def test_ctrl_p_and_colon_open_the_palette_listing_every_action(seeded: Path) -> None:
    app = app_for(seeded, run_engine=False)
    async with app.run_test(size=(140, 50)) as pilot:
        await pilot.pause()
        for key in ("ctrl+p", "colon"):
            await pilot.press(key)
            await until(pilot, lambda: isinstance(app.screen, CommandPalette))
            # listed before anything is typed
            await until(pilot, lambda: len(palette_options(app)) > 20)
            listed = "\n".join(palette_options(app))
            for action in ("Suspend the selected VM", "Stop the selected VM",
                           "Resume the selected VM", "Scale the selected service +1",
                           "Scale the selected service -1", "Hold or release the selected VM",
                           "Delete the selected VM", "Shut down the selected VM",
                           "vm: the VMs pane", "lab: the Labs screen"):
                assert action in listed, f"{action!r} missing from the palette ({key})"
            await pilot.press("escape")
            await until(pilot, lambda: not isinstance(app.screen, CommandPalette))


@pytest.mark.parametrize(("word", "pane"), [("vm", VmsPane), ("host", HostsPane),
                                            ("svc", ServicesPane), ("sge", QueuesPane)])
async def test_palette_word_switches_to_its_pane(seeded: Path, word: str, pane: type) -> None:
    app = app_for(seeded, run_engine=False)
    async with app.run_test(size=(140, 50)) as pilot:
        await pilot.pause()
        # start on another pane than the one asked for
        app.query_one(HostsPane if pane is not HostsPane else VmsPane).focus()
        await pilot.press("colon")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*word)
        # the exact word ranks first, above every action whose title holds its letters
        await until(pilot, lambda: bool(palette_options(app))
                    and palette_options(app)[0].startswith(f"{word}: "))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.focused, pane))


async def test_palette_lab_opens_the_labs_screen(seeded: Path) -> None:
    app = app_for(seeded, run_engine=False)
    async with app.run_test(size=(140, 50)) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*":lab")
        await until(pilot, lambda: bool(palette_options(app))
                    and palette_options(app)[0].startswith("lab: "))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, LabsScreen))


async def choose(pilot: Any, app: OnetuiApp, typed: str, first: str) -> None:
    """Open the palette on the dashboard's VM, type, and take the first hit (`first`)."""
    await until(pilot, lambda: app.query_one(VmsPane).row_count == 1)
    await pilot.press("ctrl+p")
    await until(pilot, lambda: isinstance(app.screen, CommandPalette))
    await pilot.press(*typed)
    await until(pilot, lambda: bool(palette_options(app))
                and palette_options(app)[0].startswith(first))
    await pilot.press("enter")


async def test_palette_suspend_acts_on_the_selected_vm(seeded: Path) -> None:
    vid = running_vm(seeded)
    app = app_for(seeded, run_engine=False)
    async with app.run_test(size=(140, 50)) as pilot:
        await choose(pilot, app, "Suspend the selected", "Suspend")
        await until(pilot, lambda: intent_of(seeded, vid) == "suspend")


# -- one-key safety nets -------------------------------------------------------------------

async def test_s_asks_before_a_shutdown(seeded: Path) -> None:
    vid = running_vm(seeded)
    app = app_for(seeded, run_engine=False)
    async with app.run_test(size=(140, 50)) as pilot:
        await until(pilot, lambda: app.query_one(VmsPane).row_count == 1)
        app.query_one(VmsPane).focus()
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, Confirm))
        assert f"Shut down VM {vid}" in app.screen.question
        await pilot.press("n")
        await pilot.pause(0.3)
        assert intent_of(seeded, vid) == ""  # no: nothing asked of the engine
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, Confirm))
        await pilot.press("y")
        await until(pilot, lambda: intent_of(seeded, vid) == "shutdown")


async def test_ctrl_d_deletes_after_asking(seeded: Path) -> None:
    vid = running_vm(seeded)
    app = app_for(seeded, run_engine=False)
    async with app.run_test(size=(140, 50)) as pilot:
        await until(pilot, lambda: app.query_one(VmsPane).row_count == 1)
        app.query_one(HostsPane).focus()  # from any pane: it is the selected VM's key
        await pilot.press("ctrl+d")
        await until(pilot, lambda: isinstance(app.screen, Confirm))
        assert f"Delete VM {vid}" in app.screen.question
        await pilot.press("escape")
        await pilot.pause(0.3)
        assert intent_of(seeded, vid) == ""
        await pilot.press("ctrl+d")
        await until(pilot, lambda: isinstance(app.screen, Confirm))
        await pilot.press("y")
        await until(pilot, lambda: intent_of(seeded, vid) == "cancel")


async def test_q_asks_when_this_console_runs_the_engine(seeded: Path) -> None:
    app = app_for(seeded)
    async with app.run_test(size=(140, 50)) as pilot:
        await until(pilot, lambda: "engine: this console" in str(
            app.query_one("#status").render()))
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, Confirm))
        assert app.screen.question == QUIT_STOPS_ENGINE
        await pilot.press("n")
        await pilot.pause(0.5)
        assert app.is_running and not isinstance(app.screen, Confirm)
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, Confirm))
        await pilot.press("y")
        await until(pilot, lambda: not app.is_running)


async def test_q_quits_at_once_when_the_console_only_watches(seeded: Path) -> None:
    app = app_for(seeded, run_engine=False)
    async with app.run_test(size=(140, 50)) as pilot:
        await pilot.pause()
        await pilot.press("q")
        await until(pilot, lambda: not app.is_running)


# -- focus, hints, dialogs -----------------------------------------------------------------

async def test_the_focus_comes_back_to_the_pane_after_labs(seeded: Path) -> None:
    running_vm(seeded, "web-0")
    running_vm(seeded, "web-1")
    app = app_for(seeded, run_engine=False)
    async with app.run_test(size=(140, 50)) as pilot:
        events = app.query_one(EventsPane)
        await until(pilot, lambda: events.row_count >= 2)
        events.focus()  # not the first pane: Textual's own auto-focus would pick Hosts
        await pilot.press("L")
        await until(pilot, lambda: isinstance(app.screen, LabsScreen))
        app.screen_stack[0].set_focus(None)  # dropped meanwhile (a focus-out, a click)
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, LabsScreen))
        await until(pilot, lambda: app.focused is events)
        await pilot.press("down")
        await until(pilot, lambda: events.cursor_row == 1)


async def test_enter_on_an_unconfigured_sge_pane_says_what_to_configure(seeded: Path) -> None:
    """The answer's words: the API's (its config file, wherever the answer comes from)."""
    app = app_for(seeded, run_engine=False)
    async with app.run_test(size=(140, 50)) as pilot:
        queues = app.query_one(QueuesPane)
        await until(pilot, lambda: queues.note == "not configured")
        queues.focus()
        await pilot.press("enter")
        await until(pilot, lambda: "no SGE master configured: add an [sge] table (host, user, "
                    f"key_file) to {shown_path(config.config_path())}" in notes(app))


QUESTION = ("Reset seat 12 of lab operating-systems-2026 to the master disk? The student's "
            "files on it are lost; the login stays.")


@pytest.mark.parametrize("size", [(160, 50), (80, 24)])
async def test_a_confirm_question_is_shown_whole(seeded: Path, size: tuple[int, int]) -> None:
    app = app_for(seeded, run_engine=False)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        app.confirm(QUESTION, lambda: None)
        await until(pilot, lambda: isinstance(app.screen, Confirm)
                    and bool(app.screen.query("#question")))
        await pilot.pause(0.2)
        label = app.screen.query_one("#question", Label)
        region = label.content_region
        assert app.screen.region.contains_region(region)
        lines = app.screen._compositor.render_strips()[region.y:region.bottom]
        shown = " ".join(" ".join(line.crop(region.x, region.right).text.split())
                         for line in lines)
        assert shown.strip() == QUESTION


# -- the signals held while a child has the terminal --------------------------------------

def test_held_signals_spare_onetui_but_not_the_child() -> None:
    before = signal.getsignal(signal.SIGINT)
    with held_signals():
        child = subprocess.Popen(["sleep", "30"])
        try:
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C reaches the whole process group
            os.kill(child.pid, signal.SIGINT)
            assert child.wait(timeout=10) == -signal.SIGINT  # the child dies of it
        finally:
            child.kill()
            child.wait()
        # a stopped child would leave the console waiting: Ctrl-Z is ignored, in it too
        assert signal.getsignal(signal.SIGTSTP) == signal.SIG_IGN
    # here still: SIGINT did nothing to this process; and its handler is back
    assert signal.getsignal(signal.SIGINT) is before


async def test_palette_poweroff_asks_then_asks_the_engine(seeded: Path) -> None:
    vid = running_vm(seeded)
    app = app_for(seeded, run_engine=False)
    async with app.run_test(size=(140, 50)) as pilot:
        await choose(pilot, app, "Power the selected", "Power the selected VM off")
        await until(pilot, lambda: isinstance(app.screen, Confirm))
        assert f"Power VM {vid} off" in app.screen.question
        await pilot.press("y")
        await until(pilot, lambda: intent_of(seeded, vid) == "poweroff")
