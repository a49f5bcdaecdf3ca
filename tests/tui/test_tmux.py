"""The real console in a real terminal (tmux): open the demo, add an EC2 worker with `e`,
watch it reach `runn`, quit cleanly (after a yes: it runs the engine); and `x` into a VM
whose SSH never answers, given up with Ctrl-C, after which the console (and its engine)
is still there."""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from onetui.data import TEMPLATES
from onetui.ops import instantiate
from onetui.store import Store

pytestmark = [pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
              pytest.mark.slow]  # the whole demo in a real terminal


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], check=True, capture_output=True, text=True).stdout


def wait_screen(session: str, check: Callable[[str], bool], timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = tmux("capture-pane", "-t", session, "-p")
        if check(screen):
            return screen
        time.sleep(0.3)
    raise AssertionError(f"timed out; the screen was:\n{screen}")


def quit_status(done: Path, timeout: float = 30) -> str:
    """The exit status the console's shell wrote to `done` once it quit."""
    deadline = time.monotonic() + timeout
    while not done.exists():
        assert time.monotonic() < deadline, "the console did not quit"
        time.sleep(0.2)
    return done.read_text().strip()


def vm_line(screen: str, name: str) -> str:
    return next((line for line in screen.splitlines() if f" {name} " in line), "")


def test_demo_add_a_worker_and_quit(tmp_path: Path) -> None:
    session = f"onetui-e2e-{uuid.uuid4().hex[:6]}"
    done = tmp_path / "exit-code"
    env = " ".join(f"{k}={v}" for k, v in {
        "XDG_CONFIG_HOME": tmp_path / "cfg", "XDG_DATA_HOME": tmp_path / "data",
        "TERM": "xterm-256color"}.items())
    command = f"env -u COLUMNS -u LINES {env} {sys.executable} -m onetui demo; echo $? > {done}"
    tmux("new-session", "-d", "-s", session, "-x", "150", "-y", "45", command)
    tmux("set-option", "-t", session, "window-size", "manual")
    tmux("resize-window", "-t", session, "-x", "150", "-y", "45")
    try:
        screen = wait_screen(session, lambda s: "ec2web02" in s and "runn" in vm_line(
            s, "ec2web02"))
        assert "engine: this console" in screen
        assert "loadbalancer" in screen and "ursa03" in screen
        tmux("send-keys", "-t", session, "e")
        wait_screen(session, lambda s: "Add EC2 workers" in s and "How many?" in s)
        tmux("send-keys", "-t", session, "Enter")
        screen = wait_screen(session, lambda s: "runn" in vm_line(s, "one-8"))
        assert " ec2 " in vm_line(screen, "one-8")
        tmux("send-keys", "-t", session, "q")  # the demo's engine runs here: asked first
        wait_screen(session, lambda s: "quitting stops it" in s)
        tmux("send-keys", "-t", session, "y")
        assert quit_status(done) == "0"
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
    assert os.environ.get("ONETUI_STATE") is None


def silent_sshd() -> tuple[socket.socket, str]:
    """A listener on port 22 of a loopback address of its own that takes connections and
    never says a word: `ssh` to it waits for the server's banner (as to a hung guest)."""
    for _ in range(20):
        address = f"127.{random.randint(100, 250)}.{random.randint(0, 250)}." \
                  f"{random.randint(2, 250)}"
        listener = socket.socket()
        try:
            listener.bind((address, 22))
        except PermissionError:
            listener.close()
            pytest.skip("port 22 needs root")
        except OSError:
            listener.close()
            continue
        listener.listen(4)
        return listener, address
    pytest.fail("no free loopback address for port 22")


def test_ctrl_c_in_ssh_gives_up_and_the_console_stays(tmp_path: Path) -> None:
    listener, address = silent_sshd()
    with Store.open(tmp_path / "state") as store:
        store.templates.add("xen.local01", (TEMPLATES / "xen.local01").read_text())
        (vid,) = instantiate.create(store, "xen.local01", name="web-0", hold=True)
        store.vms.update(vid, ip=address)
    session = f"onetui-ssh-{uuid.uuid4().hex[:6]}"
    done = tmp_path / "exit-code"
    env = " ".join(f"{k}={v}" for k, v in {
        "XDG_CONFIG_HOME": tmp_path / "cfg", "XDG_DATA_HOME": tmp_path / "data",
        "TERM": "xterm-256color", "PYTHONPATH": os.environ.get("PYTHONPATH", "")}.items())
    command = (f"env -u COLUMNS -u LINES {env} {sys.executable} -m onetui "
               f"--state {tmp_path / 'state'}; echo $? > {done}")
    tmux("new-session", "-d", "-s", session, "-x", "150", "-y", "45", command)
    tmux("set-option", "-t", session, "remain-on-exit", "on")
    try:
        wait_screen(session, lambda s: "engine: this console" in s and "web-0" in s)
        tmux("send-keys", "-t", session, "x")
        listener.settimeout(30)
        conn, _ = listener.accept()  # ssh is connected, and waits for a banner
        screen = wait_screen(session, lambda s: f"connecting to {address} (the address of "
                                                f"VM {vid} (web-0))" in s)
        assert "Hosts" not in screen and "Events" not in screen  # cleared for ssh
        tmux("send-keys", "-t", session, "C-c")
        wait_screen(session, lambda s: "[ssh ended by SIGINT; Enter returns to onetui]" in s)
        tmux("send-keys", "-t", session, "Enter")
        wait_screen(session, lambda s: "engine: this console" in s and "web-0" in s
                    and "live" in s)
        assert not done.exists()
        # Ctrl-C on the console itself only says how to quit
        tmux("send-keys", "-t", session, "C-c")
        wait_screen(session, lambda s: "to quit" in s)
        time.sleep(1)
        assert not done.exists()
        assert "engine: this console" in tmux("capture-pane", "-t", session, "-p")
        conn.close()
        tmux("send-keys", "-t", session, "q")  # it runs the engine: asked first
        wait_screen(session, lambda s: "quitting stops it" in s)
        tmux("send-keys", "-t", session, "y")
        assert quit_status(done) == "0"
        # what ssh printed was cleared, not left on the terminal under the console
        assert "connecting to" not in tmux("capture-pane", "-t", session, "-p")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
        listener.close()
