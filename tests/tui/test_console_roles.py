"""Keys per role under Textual's test harness: the console offers only what the caller's
role may ask the daemon for (onetui.access.may). An admin sees shutdown and can use it; a
viewer sees no action key, the palette lists no action, and pressing the key does nothing;
an operator acts on VMs but not on hosts. The role is the app's (what `daemon.info` said);
the store and the handlers are real."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.command import CommandPalette

from onetui import access
from onetui.tui.app import OnetuiApp
from onetui.tui.panes import HostsPane, StatusLine
from onetui.tui.screens.dialogs import Confirm
from tests.tui.test_console import until
from tests.tui.test_console_keys import intent_of, key_line, palette_options, running_vm


def console_as(path: Path, role: str) -> OnetuiApp:
    app = OnetuiApp(path, cfg={}, run_engine=False)
    app.role = role
    return app


async def test_an_admin_sees_shutdown_and_shuts_down(seeded: Path) -> None:
    vid = running_vm(seeded)
    app = console_as(seeded, access.ADMIN)
    async with app.run_test(size=(160, 50)) as pilot:
        await until(pilot, lambda: vid in app.screen.query_one("VmsPane").rows_by_id)
        assert "Shutdown" in key_line(app) and "Create" in key_line(app)
        assert f"({access.ADMIN})" in str(app.screen.query_one(StatusLine).render())
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, Confirm))
        await pilot.press("y")
        await until(pilot, lambda: intent_of(seeded, vid) == "shutdown")


async def test_a_viewer_is_offered_no_action(seeded: Path) -> None:
    vid = running_vm(seeded)
    app = console_as(seeded, access.VIEWER)
    async with app.run_test(size=(160, 50)) as pilot:
        await until(pilot, lambda: vid in app.screen.query_one("VmsPane").rows_by_id)
        keys = key_line(app)
        for action in ("Shutdown", "Delete", "Hold/release", "Create", "Add EC2 workers"):
            assert action not in keys, f"a viewer is offered {action!r}: {keys}"
        assert "Details" in keys and "Labs" in keys  # looking is everyone's
        assert "(viewer)" in str(app.screen.query_one(StatusLine).render())
        await pilot.press("s")
        await pilot.press("d")
        await pilot.pause(0.3)
        assert not isinstance(app.screen, Confirm) and intent_of(seeded, vid) == ""
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette)
                    and len(palette_options(app)) > 5)
        listed = "\n".join(palette_options(app))
        assert "Shut down the selected VM" not in listed
        assert "Create VMs" not in listed and "Scale the selected service" not in listed
        assert "Show details of the selection" in listed and "vm: the VMs pane" in listed


@pytest.mark.parametrize(("role", "toggles"), [(access.OPERATOR, False), (access.ADMIN, True)])
async def test_hosts_are_enabled_and_disabled_by_admins_alone(seeded: Path, role: str,
                                                              toggles: bool) -> None:
    app = console_as(seeded, role)
    async with app.run_test(size=(160, 50)) as pilot:
        await until(pilot, lambda: bool(app.screen.query_one(HostsPane).rows_by_id))
        app.screen.query_one(HostsPane).focus()
        await pilot.pause()
        assert ("Enable/disable" in key_line(app)) is toggles
        assert ("Shutdown" in key_line(app)) is False  # the VM keys are the VM pane's
        app.screen.query_one("VmsPane").focus()
        await pilot.pause()
        assert "Shutdown" in key_line(app)  # an operator acts on VMs
