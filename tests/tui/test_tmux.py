"""The real console in a real terminal (tmux): open the demo, add an EC2 worker with `e`,
watch it reach `runn`, quit cleanly."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

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
        deadline = time.monotonic() + 30
        while not done.exists():
            assert time.monotonic() < deadline, "the console did not quit"
            time.sleep(0.2)
        assert done.read_text().strip() == "0"
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
    assert os.environ.get("ONETUI_STATE") is None
