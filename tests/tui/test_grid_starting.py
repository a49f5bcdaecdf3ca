"""The SGE pane while a grid is still being brought up (the demo's): it says so instead of
asking the master, says why when the grid did not start, and asks the master once it is up."""

from __future__ import annotations

import socket
from pathlib import Path

from onetui.tui.app import OnetuiApp
from onetui.tui.panes import QueuesPane
from tests.tui.test_console import until


def first_cell(pane: QueuesPane) -> str:
    return pane.lines[0][1][0] if pane.lines else ""


async def test_pane_says_starting_then_why_not_then_asks_the_master(
        tmp_path: Path, state_dir: Path) -> None:
    with socket.socket() as sock:  # a port nothing listens on: the master "is not up yet"
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cfg = {"sge": {"host": "127.0.0.1", "port": port, "user": "nobody",
                   "known_hosts": [str(tmp_path / "known_hosts")],
                   "ssh_config": str(tmp_path / "none")}}
    status = ["starting", "starting the grid…"]
    app = OnetuiApp(state_dir / "onetui.db", cfg=cfg, run_engine=False,
                    grid_status=lambda: (status[0], status[1]))
    async with app.run_test(size=(140, 42)) as pilot:
        queues = app.query_one(QueuesPane)
        await until(pilot, lambda: first_cell(queues) == "starting the grid…")
        assert queues.note == "starting"
        await pilot.pause(1.5)  # polls go by: the master is not asked while it starts
        assert first_cell(queues) == "starting the grid…"
        status[:] = ["failed", "the grid did not start: qmaster does not answer"]
        await until(pilot, lambda: first_cell(queues).startswith("the grid did not start"))
        assert queues.note == "no grid"
        status[:] = ["up", ""]  # now the master is asked, and says it cannot be reached
        await until(pilot, lambda: "cannot connect" in first_cell(queues), tries=150)
        assert "cannot connect" in queues.note  # the master's own state from now on
