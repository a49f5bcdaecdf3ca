"""The console on a real daemon (`onetui serve` in its own process, on a socket in tmp):
it asks the daemon only (no engine of its own), shows what another client wrote, and when
the daemon is killed (SIGKILL) and started again it says "daemon gone, reconnecting" and
then carries on by itself, showing a change made after the restart."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest

from onetui.cli.context import Context
from onetui.client import Client, SocketTransport
from onetui.tui.app import OnetuiApp
from onetui.tui.panes import StatusLine, VmsPane
from tests.api.test_daemon import served, start_daemon  # noqa: F401  (served: the fixture)
from tests.tui.test_console import until

pytestmark = pytest.mark.slow




def status(app: OnetuiApp) -> str:
    return str(app.screen.query_one(StatusLine).render())


def names(app: OnetuiApp) -> set[str]:
    return {row[1] for row in app.screen.query_one(VmsPane).rows_by_id.values()}


async def test_the_console_follows_the_daemon_through_a_kill_9(
        served: tuple[Path, Path, list[subprocess.Popen[str]]]) -> None:  # noqa: F811
    state, sock, procs = served
    client = Context(str(state)).client  # as `onetui` finds it: the daemon on the socket
    assert isinstance(client.transport, SocketTransport)
    app = OnetuiApp(client=client, daemon=True, cfg={})
    assert not app.run_engine  # the daemon runs it
    other = Client(SocketTransport(sock))
    async with app.run_test(size=(160, 50)) as pilot:
        other.call("vm.create", template="xen.local01", name="before", hold=True)
        await until(pilot, lambda: "before" in names(app), tries=200)
        assert "engine: this console" not in status(app)
        procs[0].send_signal(signal.SIGKILL)
        procs[0].wait(timeout=30)
        await until(pilot, lambda: "daemon gone, reconnecting" in status(app), tries=200)
        procs.append(start_daemon(state, sock))
        # another client after the restart (a new command: its connection is new)
        after = Client(SocketTransport(sock))
        after.call("vm.create", template="xen.local01", name="after", hold=True)
        after.transport.close()
        await until(pilot, lambda: "after" in names(app), tries=300)
        await until(pilot, lambda: "daemon gone" not in status(app))
        assert "before" in names(app)  # nothing lost
        await pilot.press("q")  # no engine here: quits at once, no question
        await until(pilot, lambda: not app.is_running)
    other.transport.close()
