"""A viewer's console for real: `bob` (group onetui-view, scripts/testbed/users.sh) opens
the console in a terminal (tmux) as himself (runuser), against a daemon run by root whose
socket group onetui may reach. It opens, shows the VMs, offers no key a viewer cannot use,
and no password is ever on screen, on the Labs screen either (revealing is not offered,
and pressing its keys does nothing)."""

from __future__ import annotations

import os
import secrets
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from onetui.data import TEMPLATES
from onetui.store import Store
from tests.beds.users import interpreter
from tests.tui.test_tmux import quit_status, tmux

pytestmark = [pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
              pytest.mark.slow]

PASSWORDS = [f"pw-{n}-{secrets.token_hex(4)}" for n in (1, 2)]


@pytest.fixture
def daemon_for_bob(testbed_users: dict[str, str]) -> Iterator[tuple[Path, Path, Path]]:
    """A store with a VM and a lab (two seats with known passwords), served by root on a
    socket of group onetui in a directory everyone may enter; the store stays root's."""
    where = Path(f"/var/tmp/onetui-viewer-{secrets.token_hex(4)}")
    where.mkdir(mode=0o755)
    os.chmod(where, 0o755)
    state, sock, cfg = where / "state", where / "run" / "onetui.sock", where / "config.toml"
    cfg.write_text("")
    os.chmod(cfg, 0o644)
    with Store.open(state, init=True) as store:
        store.templates.add("xen.local01", (TEMPLATES / "xen.local01").read_text())
        store.vms.create([{"body": "CPU=1\nMEMORY=64\n", "name": "seen-by-bob", "cpu": 1,
                           "memory": 64}])
        net = store.networks.add("labnet", "127.0.4.10", "127.0.4.15")
        store.labs.create("os1", None, net, [
            {"body": "CPU=1\nMEMORY=64\n", "name": f"os1-{n}", "cpu": 1, "memory": 64,
             "username": f"student{n:02d}", "password": PASSWORDS[n - 1], "port": 22}
            for n in (1, 2)], "student%02i", None, {})
    serve = subprocess.Popen(
        [sys.executable, "-m", "onetui", "--state", str(state), "serve", "--socket", str(sock),
         "--socket-group", "onetui", "--interval", "0.5"],
        env={**os.environ, "ONETUI_CONFIG": str(cfg)}, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not sock.exists():
            assert serve.poll() is None and time.monotonic() < deadline, serve.communicate()
            time.sleep(0.05)
        yield state, sock, cfg
    finally:
        serve.terminate()
        serve.communicate(timeout=60)
        shutil.rmtree(where, ignore_errors=True)


def test_a_viewer_console_is_read_only_and_never_shows_a_password(
        daemon_for_bob: tuple[Path, Path, Path], tmp_path: Path) -> None:
    state, sock, cfg = daemon_for_bob
    argv, env = interpreter()
    session = f"onetui-viewer-{uuid.uuid4().hex[:6]}"
    done = Path(f"/var/tmp/{session}.exit")
    settings = {**env, "ONETUI_STATE": str(state), "ONETUI_SOCKET": str(sock),
                "ONETUI_CONFIG": str(cfg), "TERM": "xterm-256color",
                "XDG_RUNTIME_DIR": "/nonexistent", "XDG_CONFIG_HOME": "/nonexistent",
                "XDG_DATA_HOME": "/nonexistent"}
    command = (f"runuser -u bob -- env -u COLUMNS -u LINES "
               f"{' '.join(f'{k}={shlex.quote(v)}' for k, v in settings.items())} "
               f"{shlex.join(argv)}; echo $? > {done}")  # Textual draws on stderr: the pane
    tmux("new-session", "-d", "-s", session, "-x", "150", "-y", "45", command)
    tmux("set-option", "-t", session, "window-size", "manual")
    tmux("resize-window", "-t", session, "-x", "150", "-y", "45")
    seen: list[str] = []

    def shows(text: str) -> str:
        """The screen once it shows `text` (the console ended instead: what it said)."""
        deadline = time.monotonic() + 60
        screen = ""
        while not done.exists() and time.monotonic() < deadline:
            screen = tmux("capture-pane", "-t", session, "-p")
            if text in screen:
                seen.append(screen)
                return screen
            time.sleep(0.3)
        ended = "the console ended" if done.exists() else "the screen"
        raise AssertionError(f"no {text!r} on screen; {ended}:\n{screen}")

    try:
        screen = shows("seen-by-bob")
        screen = shows("bob (viewer)")
        for key in ("Shutdown", "Delete", "Hold/release", "Create", "Add EC2"):
            assert key not in screen, f"a viewer is offered {key!r}:\n{screen}"
        tmux("send-keys", "-t", session, "L")
        screen = shows("student02")
        assert "Reveal" not in screen and "New lab" not in screen and "Destroy" not in screen
        for key in ("R", "r", "y"):  # reveal all, reveal one, copy: not a viewer's
            tmux("send-keys", "-t", session, key)
        time.sleep(2)  # nothing is to come: the screen is looked at after two polls
        seen.append(shows("••••-••••-••••"))
        tmux("send-keys", "-t", session, "Escape")
        shows("seen-by-bob")
        tmux("send-keys", "-t", session, "q")  # no engine here: quits at once
        assert quit_status(done) == "0"
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
        done.unlink(missing_ok=True)
    for screen in seen:
        assert not any(p in screen for p in PASSWORDS), screen
