"""`onetui system install|uninstall` for real: a system user and groups made with useradd
and groupadd (under a name of the test's own, removed afterwards), the files under --root,
the shipped unit checked by `systemd-analyze verify`, and the store out of everyone
else's reach."""

from __future__ import annotations

import grp
import os
import pwd
import secrets
import shutil
import stat
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from onetui.cli.system_cmd import render_unit
from onetui.data import SYSTEMD
from tests.beds.cli import onetui
from tests.beds.users import as_user

ONETUI = Path(sys.executable).parent / "onetui"  # the console script of this venv

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="makes users and groups")


def _gone(lookup, name: str) -> bool:  # type: ignore[no-untyped-def]
    try:
        lookup(name)
    except KeyError:
        return True
    return False


@pytest.fixture
def name() -> Iterator[str]:
    """A daemon user name for this test; it and its groups are removed whatever happens."""
    name = f"ottest{secrets.token_hex(3)}"
    yield name
    subprocess.run(["userdel", name], capture_output=True, check=False)
    for suffix in ("-admin", "-ops", "-labs", "-view", ""):
        subprocess.run(["groupdel", name + suffix], capture_output=True, check=False)


@pytest.fixture
def root() -> Iterator[Path]:
    """An image root others may enter (pytest's own tmp_path is root's alone, 0700), so a
    refusal seen by another user is the state directory's doing."""
    path = Path(f"/var/tmp/onetui-system-test-{secrets.token_hex(4)}")
    path.mkdir(mode=0o755)
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _verify(unit: Path) -> subprocess.CompletedProcess[str]:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze missing: apt-get install systemd")
    return subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True,
                          text=True, timeout=60, check=False)


def test_the_shipped_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    unit = tmp_path / "onetui.service"  # ExecStart at this venv's onetui: the only change
    unit.write_text(render_unit("onetui", str(ONETUI)))
    result = _verify(unit)
    assert result.returncode == 0, result.stderr
    text = unit.read_text()
    for line in ("Restart=on-failure", "RuntimeDirectory=onetui", "User=onetui",
                 "Group=onetui", f"ExecStart={ONETUI} --state /var/lib/onetui serve",
                 "ExecReload=/bin/kill -HUP $MAINPID", "WantedBy=multi-user.target"):
        assert line in text.splitlines()
    broken = tmp_path / "broken" / "onetui.service"  # the check can fail
    broken.parent.mkdir()
    broken.write_text((SYSTEMD / "onetui.service").read_text().replace(
        "/usr/bin/onetui", str(tmp_path / "no-such-onetui")))
    assert _verify(broken).returncode != 0


@needs_root
def test_install_is_idempotent_and_uninstall_keeps_the_data_unless_purged(
        name: str, root: Path) -> None:
    first = onetui("system", "install", "--root", str(root), "--user", name).stdout
    assert f"user {name}: made" in first and f"group {name}-labs: made" in first
    user = pwd.getpwnam(name)
    assert user.pw_uid < 1000 and user.pw_shell == "/usr/sbin/nologin"
    assert user.pw_dir == "/var/lib/onetui" and grp.getgrgid(user.pw_gid).gr_name == name
    for suffix in ("-admin", "-ops", "-labs", "-view"):
        assert grp.getgrnam(name + suffix).gr_gid < 1000

    state = root / "var/lib/onetui"
    info = state.stat()
    assert (stat.S_IMODE(info.st_mode), info.st_uid) == (0o700, user.pw_uid)
    config = root / "etc/onetui/config.toml"
    info = config.stat()
    assert (stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid) == (0o640, 0, user.pw_gid)
    assert tomllib.loads(config.read_text())["roles"] == {
        "admin": [f"{name}-admin"], "operator": [f"{name}-ops"],
        "labstaff": [f"{name}-labs"], "viewer": [f"{name}-view"]}
    unit = root / "etc/systemd/system/onetui.service"
    assert f"User={name}" in unit.read_text().splitlines()
    assert _verify(unit).returncode == 0

    config.write_text('[labs]\nadmin_user = "teacher"\n')  # the admin's own, without roles
    again = onetui("system", "install", "--root", str(root), "--user", name).stdout
    assert f"user {name}: exists" in again and "[roles] table added" in again
    kept = tomllib.loads(config.read_text())
    assert kept["labs"] == {"admin_user": "teacher"} and "roles" in kept
    assert pwd.getpwnam(name).pw_uid == user.pw_uid

    (state / "onetui.db").write_bytes(b"")  # stands for the daemon's store in the test
    out = onetui("system", "uninstall", "--root", str(root), "--user", name).stdout
    assert not unit.exists() and "kept" in out
    assert (state / "onetui.db").exists() and config.exists() and not _gone(pwd.getpwnam, name)

    refused = onetui("system", "uninstall", "--root", str(root), "--user", name, "--purge",
                     input="n\n", check=False)
    assert refused.returncode == 2 and state.exists()
    onetui("system", "uninstall", "--root", str(root), "--user", name, "--purge", "--yes")
    assert not state.exists() and not config.parent.exists()
    assert _gone(pwd.getpwnam, name)
    assert all(_gone(grp.getgrnam, name + s) for s in ("", "-admin", "-ops", "-labs", "-view"))


@needs_root
def test_only_the_daemons_user_opens_the_store_and_only_root_installs(
        name: str, root: Path, testbed_users: dict[str, str]) -> None:
    """alice (labstaff) and adam (admin!) alike: the store is the daemon's alone."""
    onetui("system", "install", "--root", str(root), "--user", name)
    state = root / "var/lib/onetui"
    env = {"ONETUI_STATE": str(state)}
    as_daemon = as_user(name, "vm", "list", env=env)
    assert as_daemon.returncode == 0, as_daemon.stderr
    assert (state / "onetui.db").stat().st_uid == pwd.getpwnam(name).pw_uid

    for user in ("alice", "adam"):
        as_other = as_user(user, "vm", "list", env=env)
        assert as_other.returncode == 2
        assert as_other.stderr == (f"onetui: {state}/onetui.db: cannot open the store: "
                                   "Permission denied\n")
    install = as_user("adam", "system", "install", "--root", str(root), "--user", name)
    assert install.returncode == 2
    assert install.stderr.startswith("onetui: system install/uninstall make users, groups "
                                     "and files in /etc: run it as root")


@needs_root
def test_a_bad_daemon_user_name_is_one_line_and_nothing_is_made(root: Path) -> None:
    bad = onetui("system", "install", "--root", str(root), "--user", "Bad Name", check=False)
    assert bad.returncode == 2 and bad.stderr.startswith("onetui: user name 'Bad Name': ")
    assert list(root.iterdir()) == []
