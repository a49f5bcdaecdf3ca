"""The real daemon (`onetui serve --socket`) in its own process: the CLI's commands go
through it, and after `kill -9` and a restart its clients carry on by themselves."""

from __future__ import annotations

import json
import os
import pwd
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from onetui.client import Client, SocketTransport
from onetui.data import TEMPLATES
from tests.beds.cli import onetui

pytestmark = pytest.mark.slow


def start_daemon(state: Path, sock: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-m", "onetui", "--state", str(state), "serve",
                             "--socket", str(sock), "--interval", "0.5", "--lease-ttl", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not sock.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"serve did not start: {proc.communicate()}")
        time.sleep(0.05)
    return proc


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, Path, list[subprocess.Popen[str]]]]:
    state, sock = tmp_path / "state", Path(os.environ["ONETUI_SOCKET"])
    onetui("template", "import", str(TEMPLATES / "xen.local01"), state=state)
    procs = [start_daemon(state, sock)]
    try:
        yield state, sock, procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.communicate(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.communicate()


def test_cli_commands_go_through_the_daemon(served: tuple[Path, Path, list]) -> None:
    state, _, _ = served
    out = onetui("vm", "create", "xen.local01", "--count", "2", "--hold", state=state)
    assert out.stdout.split() == ["ID:", "1", "ID:", "2"]
    listed = json.loads(onetui("vm", "list", "--json", state=state).stdout)
    assert [(v["id"], v["state"]) for v in listed] == [(1, "hold"), (2, "hold")]
    assert onetui("vm", "release", "2", state=state).stdout == "VM 2: released\n"
    bad = onetui("vm", "suspend", "1", state=state, check=False)
    assert (bad.returncode, bad.stderr) == (2, "onetui: VM 1 is hold: cannot suspend "
                                               "(needs runn)\n")
    events = [json.loads(line)["message"] for line in
              onetui("events", "--json", "--kind", "vm", state=state).stdout.splitlines()]
    me = pwd.getpwuid(os.getuid()).pw_name
    assert events[-2:] == ["VM 2 one-2: hold → pend (released)", f"{me} (admin): vm release 2"]


def test_after_kill_9_and_a_restart_a_client_carries_on(served: tuple[Path, Path, list]
                                                        ) -> None:
    state, sock, procs = served
    waits: list[str] = []
    client = Client(SocketTransport(sock, reconnect=60.0, on_wait=waits.append))
    (vid,) = client.call("vm.create", template="xen.local01", hold=True)
    procs[0].send_signal(signal.SIGKILL)
    procs[0].wait(timeout=30)
    answers: list[object] = []
    asking = threading.Thread(target=lambda: answers.append(client.call("vm.list")))
    asking.start()
    time.sleep(0.5)  # the client is waiting for a daemon now
    procs.append(start_daemon(state, sock))
    asking.join(timeout=90)
    assert answers, "the client did not get an answer from the restarted daemon"
    assert [v["id"] for v in answers[0]] == [vid]  # nothing lost
    assert waits == [f"daemon gone ({sock}), reconnecting"]
    assert client.call("vm.action", ref=vid, action="release") == f"VM {vid}: released"


def test_a_second_daemon_leaves_the_first_ones_socket_alone(
        served: tuple[Path, Path, list[subprocess.Popen[str]]]) -> None:
    """`serve --socket` where a daemon answers: exit 2 and one line; the socket stays the
    first daemon's (a failed start once removed it, leaving that daemon unreachable)."""
    state, sock, _ = served
    second = subprocess.run([sys.executable, "-m", "onetui", "--state", str(state), "serve",
                             "--socket", str(sock)], capture_output=True, text=True, timeout=120)
    assert second.returncode == 2
    assert f"--socket {sock}: another onetui daemon answers there" in second.stderr
    assert sock.exists()
    assert Client(SocketTransport(sock, reconnect=0.0)).call("vm.list") == []


def test_a_standby_daemon_takes_the_socket_over_when_the_first_goes(
        served: tuple[Path, Path, list[subprocess.Popen[str]]]) -> None:
    """Two `onetui serve` on the default socket: the second stands by (for the engine's
    lease and the socket alike); the first killed, the second answers on the socket and its
    engine leads, so a client waiting for its daemon carries on."""
    state, sock, procs = served
    standby = subprocess.Popen([sys.executable, "-m", "onetui", "--state", str(state), "serve",
                                "--interval", "0.5", "--lease-ttl", "2"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    procs.append(standby)
    assert standby.stderr is not None
    said = ""
    while "standing by" not in said:
        line = standby.stderr.readline()
        assert line, f"the standby ended: {standby.communicate()}"
        said += line
    assert "another onetui daemon answers there" in said
    client = Client(SocketTransport(sock, reconnect=60.0))
    (vid,) = client.call("vm.create", template="xen.local01", hold=True)
    procs[0].kill()
    procs[0].wait()
    while "taken over" not in said:
        line = standby.stderr.readline()
        assert line, f"the standby ended: {standby.communicate()}"
        said += line
    assert [v["id"] for v in client.call("vm.list")] == [vid]  # the same client, reconnected
    assert client.call("vm.action", ref=vid, action="release") == f"VM {vid}: released"
    lease = client.call("engine.lease")
    while lease is None or lease["pid"] != standby.pid:  # its engine takes the lease over
        time.sleep(0.1)
        lease = client.call("engine.lease")
    assert lease["alive"]
