"""The console's SGE pane on the real grid, through the API: the console's own config has
no [sge] (nor a key); the grid is the one the API's config points at. An unknown host key
is asked about (with the fingerprint the daemon saw), and trusted only on an admin's word;
a viewer is not asked, sees why the grid does not show, and sees the grid once it does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import tomli_w

from onetui import config
from onetui.access import Caller
from onetui.api.local import LocalTransport
from onetui.client import Client
from onetui.store import Store
from onetui.tui.app import OnetuiApp
from onetui.tui.panes import QueuesPane
from onetui.tui.screens.dialogs import TrustKey
from tests.beds.sge import HOST_KEY
from tests.tui.test_console import until

BOB = Caller(5005, 5005, 105, "bob", ("bob", "onetui-view"))  # a viewer, by group


def daemons_config(sge_config: dict, known_hosts: Path) -> None:
    """The config the API reads (the daemon's), its master's key trusted in `known_hosts`
    (an empty file: not yet)."""
    cfg = {"sge": {**sge_config["sge"], "known_hosts": [str(known_hosts)]}}
    config.config_path().write_text(tomli_w.dumps(cfg))


@pytest.fixture
def viewer_console(state_dir: Path) -> Iterator[OnetuiApp]:
    """bob's console: the API answers him as the viewer his group makes him."""
    with Store.open(state_dir) as store:
        client = Client(LocalTransport(store, BOB, {"roles": {"viewer": ["onetui-view"]}}))
        yield OnetuiApp(store.path, client=client, cfg={}, run_engine=False)


async def test_unknown_key_dialog_then_live_queues(sge_config: dict, tmp_path: Path,
                                                   state_dir: Path) -> None:
    empty = tmp_path / "fresh_known_hosts"
    daemons_config(sge_config, empty)
    app = OnetuiApp(state_dir / "onetui.db", cfg={}, run_engine=False)
    async with app.run_test(size=(140, 42)) as pilot:
        # pushed is not yet composed: wait for its buttons
        await until(pilot, lambda: isinstance(app.screen, TrustKey)
                    and bool(app.screen.query("#trust")))
        dialog = app.screen
        assert dialog.host == "[127.0.0.1]:2222"
        assert dialog.fingerprint.startswith("SHA256:")
        assert not empty.exists()  # nothing trusted yet
        dialog.query_one("#trust").press()  # the admin compared it and says yes
        await until(pilot, lambda: empty.exists())
        assert HOST_KEY.read_text().split()[1] in empty.read_text()
        queues = app.query_one(QueuesPane)
        await until(pilot, lambda: queues.grid is not None
                    and queues.grid.instance("all.q@node2") is not None, tries=150)
        assert queues.border_subtitle == ""  # live, not stale


async def test_a_viewer_sees_the_daemons_grid_without_an_sge_config(
        sge_config: dict, known_hosts: Path, viewer_console: OnetuiApp) -> None:
    daemons_config(sge_config, known_hosts)
    app = viewer_console
    async with app.run_test(size=(140, 42)) as pilot:
        assert app.role == "viewer" and "sge" not in app.cfg
        queues = app.query_one(QueuesPane)
        await until(pilot, lambda: queues.grid is not None
                    and queues.grid.instance("all.q@node2") is not None, tries=150)
        assert queues.note == ""
        assert any(key == "q:all.q@node2" for key, _ in queues.lines)


async def test_a_viewer_is_not_asked_to_trust_and_sees_why(
        sge_config: dict, tmp_path: Path, viewer_console: OnetuiApp) -> None:
    empty = tmp_path / "fresh_known_hosts"
    daemons_config(sge_config, empty)
    app = viewer_console
    async with app.run_test(size=(140, 42)) as pilot:
        queues = app.query_one(QueuesPane)
        await until(pilot, lambda: "host key of [127.0.0.1]:2222 is not known" in queues.note,
                    tries=150)
        await pilot.pause(0.5)
        assert not isinstance(app.screen, TrustKey) and not empty.exists()


def test_the_console_loads_no_ssh() -> None:
    """The grid comes through the API: the console itself needs no SSH (paramiko)."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", "import sys, onetui.tui.app; print(sorted("
                          "m for m in sys.modules if m.startswith(('paramiko', "
                          "'onetui.remote.ssh'))))"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
