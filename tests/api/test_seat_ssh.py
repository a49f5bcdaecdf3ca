"""`lab ssh` as a client of the daemon: the answer carries the seat's pinned host keys, and
the caller checks the seat against a known_hosts file of their own (in system mode the
daemon's is not theirs to read), written privately and never through a link."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from onetui.client.paths import private_dir
from onetui.remote.hostkeys import pinned_keys
from onetui.view.handout import seat_login
from tests.api.conftest import Daemon

KEY = "AAAAC3NzaC1lZDI1NTE5AAAAIHhX0mYQ9nQ0b3C3n7Jk2x0m8r3m0o8f7J6w5q4e3r2t"


def test_the_seat_is_checked_against_the_callers_own_copy_of_its_keys(daemon: Daemon) -> None:
    store, client = daemon.store, daemon.client()
    net = store.networks.add("labnet", "127.0.4.10", "127.0.4.15")
    store.labs.create("os1", None, net, [
        {"body": "CPU=1\nMEMORY=64\n", "name": f"os1-{n}", "cpu": 1, "memory": 64,
         "username": f"student{n:02d}", "password": f"pw-{n}", "port": 2200 + n}
        for n in (1, 2)], "student%02i", None, {})
    pinned_keys(store.path.parent).set("127.0.4.11", 2202, [("ssh-ed25519", KEY)])
    pinned_keys(store.path.parent).set("127.0.4.10", 2201, [("ssh-ed25519", "AAAAother")])

    argv = seat_login(client.call("lab.ssh_argv", ref="os1", seat=2))
    mine = private_dir() / "seats_known_hosts"
    assert argv[-1] == "student02@127.0.4.11"
    assert f"UserKnownHostsFile={mine}" in argv and "StrictHostKeyChecking=yes" in argv
    assert mine.read_text() == f"[127.0.4.11]:2202 ssh-ed25519 {KEY}\n"  # this seat's only
    assert stat.S_IMODE(mine.stat().st_mode) == 0o600
    assert not any("known_hosts}" in a or str(store.path.parent) in a for a in argv)


def test_a_private_directory_that_is_a_link_is_refused(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    (tmp_path / "run").symlink_to(elsewhere)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    monkeypatch.delenv("ONETUI_SOCKET", raising=False)
    os.symlink(elsewhere, tmp_path / "elsewhere" / "onetui")  # run/onetui is a link
    with pytest.raises(PermissionError, match="not a private directory"):
        seat_login({"argv": ["ssh", "x"], "known_hosts": ""})
    assert os.listdir(elsewhere) == ["onetui"]
