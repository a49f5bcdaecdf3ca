"""The SGE pane while a grid is still being brought up (the demo's): it says so instead of
asking the master, says why when the grid did not start, and asks the master once it is up."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import tomli_w

from onetui.tui.app import OnetuiApp
from onetui.tui.panes import QueuesPane
from tests.tui.test_console import until


def first_cell(pane: QueuesPane) -> str:
    return pane.lines[0][1][0] if pane.lines else ""


async def test_pane_says_starting_then_why_not_then_asks_the_master(
        tmp_path: Path, state_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:  # a port nothing listens on: the master "is not up yet"
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cfg = {"sge": {"host": "127.0.0.1", "port": port, "user": "nobody",
                   "known_hosts": [str(tmp_path / "known_hosts")],
                   "ssh_config": str(tmp_path / "none")}}
    # the config the API reads (the demo points ONETUI_CONFIG at its own, as here)
    (tmp_path / "config.toml").write_text(tomli_w.dumps(cfg))
    monkeypatch.setenv("ONETUI_CONFIG", str(tmp_path / "config.toml"))
    # the state decides what the pane is, not the words (which say what sge.sh does)
    status = ["starting", "installing gridengine… (log: grid/sge.log)"]
    asked = [0]  # polls that asked the grid's state (each poll asks once)

    def grid_status() -> tuple[str, str]:
        asked[0] += 1
        return status[0], status[1]

    app = OnetuiApp(state_dir / "onetui.db", cfg=cfg, run_engine=False,
                    grid_status=grid_status)
    async with app.run_test(size=(140, 42)) as pilot:
        queues = app.query_one(QueuesPane)
        await until(pilot, lambda: first_cell(queues).startswith("installing gridengine"))
        assert queues.note == "starting"
        # polls go by: the master is not asked while it starts. A poll is re-armed only
        # once the last one's reading was shown, so the third ask means two were shown.
        seen = asked[0]
        await until(pilot, lambda: asked[0] >= seen + 3, tries=150)
        assert first_cell(queues).startswith("installing gridengine")
        assert queues.note == "starting"
        status[:] = ["failed", "starting failed: qmaster does not answer"]
        await until(pilot, lambda: first_cell(queues).startswith("starting failed"))
        assert queues.note == "no grid"
        status[:] = ["failed", "the grid did not start: qmaster does not answer"]
        await until(pilot, lambda: first_cell(queues).startswith("the grid did not start"))
        assert queues.note == "no grid"
        status[:] = ["up", ""]  # now the master is asked, and says it cannot be reached
        await until(pilot, lambda: "cannot connect" in first_cell(queues), tries=150)
        assert "cannot connect" in queues.note  # the master's own state from now on
